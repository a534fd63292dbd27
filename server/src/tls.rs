//! TLS: loading PEM files into a rustls server config, and the self-signed helper.
//!
//! TLS 1.2 and 1.3 only (rustls offers nothing older), ring provider, ALPN h2 and
//! http/1.1. Client certificates are not requested yet; the accept loop keeps the TLS
//! session so that certificate auth can read them later.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The certificate file holds no certificate.
    #[error("{0} contains no PEM certificate")]
    NoCertificate(String),
    /// The key file holds no private key.
    #[error("{0} contains no PEM private key")]
    NoKey(String),
    /// rustls refused the pair.
    #[error("invalid certificate/key pair: {0}")]
    Rustls(#[from] rustls::Error),
    /// Generating a certificate failed.
    #[error("generating a self-signed certificate failed: {0}")]
    Generate(String),
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Builds the rustls server configuration from PEM files.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(cert.display().to_string()));
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .ok()
        .flatten()
        .ok_or_else(|| TlsError::NoKey(key.display().to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A self-signed certificate and its key, PEM.
pub struct SelfSigned {
    /// Certificate, PEM.
    pub cert_pem: String,
    /// Private key, PEM (secret: never logged).
    pub key_pem: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SelfSigned(..)")
    }
}

/// Generates a self-signed certificate for `hosts` (DNS names or IP addresses).
pub fn self_signed(hosts: &[String]) -> Result<SelfSigned, TlsError> {
    let certified = rcgen::generate_simple_self_signed(hosts.to_vec())
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok(SelfSigned {
        cert_pem: certified.cert.pem(),
        key_pem: zeroize::Zeroizing::new(certified.signing_key.serialize_pem()),
    })
}

/// Writes `cert.pem` (0644) and `key.pem` (0600) into `dir`.
pub fn write_self_signed(dir: &Path, hosts: &[String]) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let pair = self_signed(hosts)?;
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Read {
        path: dir.display().to_string(),
        source,
    })?;
    let write = |name: &str, mode: u32, bytes: &[u8]| -> Result<(), TlsError> {
        let path = dir.join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&path)
            .and_then(|mut f| f.write_all(bytes).map(|_| f))
            .map_err(|source| TlsError::Read {
                path: path.display().to_string(),
                source,
            })?;
        f.flush().map_err(|source| TlsError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    write("cert.pem", 0o644, pair.cert_pem.as_bytes())?;
    write("key.pem", 0o600, pair.key_pem.as_bytes())?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_pair_loads() {
        let dir = tempfile::tempdir().unwrap();
        write_self_signed(dir.path(), &["localhost".into(), "127.0.0.1".into()]).unwrap();
        server_config(&dir.path().join("cert.pem"), &dir.path().join("key.pem")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(
            server_config(&dir.path().join("key.pem"), &dir.path().join("key.pem")),
            Err(TlsError::NoCertificate(_))
        ));
    }
}
