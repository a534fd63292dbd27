//! TLS: loading PEM files into a rustls server config, and the self-signed helper.
//!
//! TLS 1.2 and 1.3 only (rustls offers nothing older), ring provider, ALPN h2 and
//! http/1.1. With a client CA bundle, client certificates are requested but optional: a
//! client without one completes the handshake (tokens work as always), a presented chain
//! must verify against the bundle (rustls/webpki, client-auth usage) or the handshake
//! fails. The accept loop hands the verified chain to each request for the `cert` auth
//! method, which matches it against its roles' own CAs.

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
    /// The client CA bundle could not be used.
    #[error("client CA bundle {path}: {message}")]
    ClientCa {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
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

/// Builds the rustls server configuration from PEM files; `client_ca` (a PEM bundle)
/// switches on optional client certificates verified against it.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
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
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match client_ca {
        Some(path) => builder.with_client_cert_verifier(client_verifier(path, provider)?),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A verifier that asks for a client certificate, accepts a client without one, and
/// verifies a presented chain against the CAs in the PEM bundle at `path`.
fn client_verifier(
    path: &Path,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let fail = |message: String| TlsError::ClientCa {
        path: path.display().to_string(),
        message,
    };
    let pem = read(path)?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| fail(format!("unreadable PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| fail(format!("unusable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(TlsError::NoCertificate(path.display().to_string()));
    }
    rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .allow_unauthenticated()
        .build()
        .map_err(|e| fail(e.to_string()))
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
        server_config(
            &dir.path().join("cert.pem"),
            &dir.path().join("key.pem"),
            None,
        )
        .unwrap();
        // The certificate doubles as a client CA bundle; a key file holds no CA.
        server_config(
            &dir.path().join("cert.pem"),
            &dir.path().join("key.pem"),
            Some(&dir.path().join("cert.pem")),
        )
        .unwrap();
        assert!(matches!(
            server_config(
                &dir.path().join("cert.pem"),
                &dir.path().join("key.pem"),
                Some(&dir.path().join("key.pem")),
            ),
            Err(TlsError::NoCertificate(_))
        ));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(
            server_config(
                &dir.path().join("key.pem"),
                &dir.path().join("key.pem"),
                None
            ),
            Err(TlsError::NoCertificate(_))
        ));
    }
}
