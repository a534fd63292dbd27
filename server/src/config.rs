//! Server configuration: a TOML file, parsed into closed types at start.
//!
//! ```toml
//! [listener]
//! address = "127.0.0.1:8200"
//! tls_cert_file = "/etc/strongroom/tls/cert.pem"
//! tls_key_file = "/etc/strongroom/tls/key.pem"
//! # tls_disable = true       # explicit opt-out; logs a loud warning
//! # x_forwarded_for_authorized_addrs = ["10.0.0.0/8"]
//! #   proxies whose X-Forwarded-For names the client (rate limits, CIDR bindings)
//! # tls_client_ca_file = "/etc/strongroom/tls/client-ca.pem"
//! #   PEM bundle of the CAs client certificates must chain to. Client certificates are
//! #   then requested but optional: clients without one connect and use tokens as
//! #   before; a presented certificate is verified against this bundle in the TLS
//! #   handshake. Needed by the `cert` auth method (without it, cert logins get 400).
//! # max_request_size = 33554432
//!
//! [storage]
//! backend = "sqlite"
//! path = "/var/lib/strongroom/strongroom.db"
//!
//! # [limits]                      # all optional
//! # login_requests_per_second = 10  # per client IP on login paths; 0 = off
//! # login_burst = 30
//! # requests_per_second = 0         # global quota on every request; 0 = off
//! # request_burst = 1000
//!
//! # [user_lockout]
//! # threshold = 5
//! # duration_secs = 900
//! # counter_reset_secs = 900
//! # disable = false
//!
//! # Audit devices declared here are enabled at every unseal and cannot be disabled
//! # through the API. Options are strings, as in Vault (see `audit::spec`).
//! # [[audit]]
//! # path = "file"                     # enabled at file/
//! # type = "file"                     # file | socket
//! # description = "main audit log"
//! # local = false
//! # options = { file_path = "/var/log/strongroom/audit.log", mode = "0600" }
//! #   file_path: a path, "stdout" or "discard"; mode: octal, never executable;
//! #   prefix, log_raw, hmac_accessor; socket: address, socket_type = "tcp" | "unix"
//!
//! # [audit_api]                   # enabling devices through sys/audit: off by default
//! # allow = true
//! # file_directory = "/var/log/strongroom"   # API file devices: regular files under it only
//! # allow_socket = false                     # API socket devices
//! ```
//! Unknown keys are errors (a typo must not silently drop a security setting).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::audit::{AuditPath, DeviceSpec};
use crate::credential::lockout::LockoutPolicy;
use crate::credential::token_fields::Cidr;
use crate::limits::RateLimit;

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The TOML is invalid.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// TLS is neither configured nor explicitly disabled.
    #[error(
        "the listener has no TLS certificate: set [listener] tls_cert_file and tls_key_file \
         (PEM files; `strongroom-server tls-selfsigned --out DIR` makes a self-signed pair), \
         or set tls_disable = true to serve plain HTTP on purpose"
    )]
    NoTls,
    /// Only one of the certificate and key is set.
    #[error("[listener] tls_cert_file and tls_key_file must be set together")]
    HalfTls,
    /// Any other invalid value.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The file's shape.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listener: RawListener,
    storage: RawStorage,
    #[serde(default)]
    disable_mlock: bool,
    #[serde(default)]
    log_format: LogFormat,
    #[serde(default)]
    log_level: Option<String>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    user_lockout: RawLockout,
    #[serde(default)]
    audit: Vec<RawAuditDevice>,
    #[serde(default)]
    audit_api: RawAuditApi,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuditDevice {
    path: String,
    #[serde(rename = "type")]
    device_type: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    options: BTreeMap<String, String>,
    #[serde(default)]
    local: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAuditApi {
    #[serde(default)]
    allow: bool,
    file_directory: Option<PathBuf>,
    #[serde(default)]
    allow_socket: bool,
}

/// Audit devices: declared ones and the rules for API-enabled ones.
#[derive(Debug, Clone, Default)]
pub struct AuditConfig {
    /// `[[audit]]`: enabled at every unseal; cannot be disabled through the API.
    pub devices: Vec<DeclaredAuditDevice>,
    /// `[audit_api]`.
    pub api: AuditApiConfig,
}

/// One `[[audit]]` table, validated.
#[derive(Debug, Clone)]
pub struct DeclaredAuditDevice {
    /// Where it is enabled.
    pub path: AuditPath,
    /// Type and options.
    pub spec: DeviceSpec,
    /// Free text.
    pub description: String,
    /// Vault's `local` flag.
    pub local: bool,
}

/// `[audit_api]`: whether and how devices may be enabled through `sys/audit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditApiConfig {
    /// API creation allowed at all (default: no, as OpenBao).
    pub allow: bool,
    /// API file devices may only write regular files under this directory.
    pub file_directory: Option<PathBuf>,
    /// API socket devices allowed.
    pub allow_socket: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    login_requests_per_second: Option<f64>,
    login_burst: Option<u32>,
    requests_per_second: Option<f64>,
    request_burst: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLockout {
    threshold: Option<u32>,
    duration_secs: Option<u64>,
    counter_reset_secs: Option<u64>,
    #[serde(default)]
    disable: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListener {
    address: String,
    tls_cert_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
    tls_client_ca_file: Option<PathBuf>,
    #[serde(default)]
    tls_disable: bool,
    max_request_size: Option<usize>,
    max_json_depth: Option<usize>,
    request_timeout_secs: Option<u64>,
    #[serde(default)]
    x_forwarded_for_authorized_addrs: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    backend: String,
    path: Option<PathBuf>,
}

/// How the listener serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS with this certificate chain and key (PEM files).
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
        /// CA bundle client certificates must chain to (client certificates requested,
        /// optional); `None`: client certificates are not requested.
        client_ca: Option<PathBuf>,
    },
    /// Plain HTTP, explicitly requested.
    Disabled,
}

/// The listener.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// Address to bind.
    pub address: SocketAddr,
    /// TLS or not.
    pub tls: TlsMode,
    /// Largest body accepted.
    pub max_request_size: usize,
    /// Deepest JSON nesting accepted.
    pub max_json_depth: usize,
    /// Time limit for one request.
    pub request_timeout: Duration,
    /// Proxies whose `X-Forwarded-For` is believed (Vault's
    /// `x_forwarded_for_authorized_addrs`): for requests from them, the client address
    /// (rate limits, CIDR bindings) is the last address in the header.
    pub forwarded_for_trusted: Vec<Cidr>,
}

/// The storage backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// SQLite file.
    Sqlite {
        /// Database file.
        path: PathBuf,
    },
    /// In memory (tests and `--dev`): lost at exit.
    Inmem,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listener.
    pub listener: ListenerConfig,
    /// Storage.
    pub storage: StorageConfig,
    /// Skip `mlockall`.
    pub disable_mlock: bool,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter (tracing `EnvFilter` syntax), default `info`.
    pub log_level: String,
    /// Rate limits.
    pub limits: Limits,
    /// User lockout after failed logins.
    pub lockout: LockoutPolicy,
    /// Audit devices.
    pub audit: AuditConfig,
}

/// Rate limits (`[limits]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Per client IP on login paths (`None` = off).
    pub login: Option<RateLimit>,
    /// Global quota on every request (`None` = off).
    pub global: Option<RateLimit>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            login: Some(DEFAULT_LOGIN_RATE),
            global: None,
        }
    }
}

/// Default login rate per client IP: 10/s, bursts of 30.
pub const DEFAULT_LOGIN_RATE: RateLimit = RateLimit {
    per_second: 10.0,
    burst: 30,
};

fn rate(
    per_second: Option<f64>,
    burst: Option<u32>,
    default: Option<RateLimit>,
    what: &str,
) -> Result<Option<RateLimit>, ConfigError> {
    match per_second {
        None => Ok(default.map(|d| RateLimit {
            burst: burst.unwrap_or(d.burst).max(1),
            ..d
        })),
        Some(r) if !(r.is_finite() && r >= 0.0) => Err(ConfigError::Invalid(format!(
            "[limits] {what} must be a non-negative number"
        ))),
        Some(r) if r > 0.0 => Ok(Some(RateLimit {
            per_second: r,
            burst: burst.unwrap_or_else(|| (r.ceil() as u32).max(1)).max(1),
        })),
        // 0 switches the limit off.
        Some(_) => Ok(None),
    }
}

/// Default body limit, as Vault's.
pub const DEFAULT_MAX_REQUEST_SIZE: usize = 32 * 1024 * 1024;
/// Default JSON nesting limit.
pub const DEFAULT_MAX_JSON_DEPTH: usize = 64;

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        let address: SocketAddr = raw.listener.address.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "[listener] address {:?} is not an IP:port",
                raw.listener.address
            ))
        })?;
        let tls = match (
            raw.listener.tls_cert_file,
            raw.listener.tls_key_file,
            raw.listener.tls_disable,
        ) {
            (Some(cert), Some(key), false) => TlsMode::Files {
                cert,
                key,
                client_ca: raw.listener.tls_client_ca_file,
            },
            (None, None, true) if raw.listener.tls_client_ca_file.is_some() => {
                return Err(ConfigError::Invalid(
                    "[listener] tls_client_ca_file needs TLS; it cannot be used with \
                     tls_disable = true"
                        .into(),
                ))
            }
            (None, None, true) => TlsMode::Disabled,
            (Some(_), Some(_), true) => {
                return Err(ConfigError::Invalid(
                    "[listener] sets both a certificate and tls_disable = true; choose one".into(),
                ))
            }
            (Some(_), None, _) | (None, Some(_), _) => return Err(ConfigError::HalfTls),
            (None, None, false) => return Err(ConfigError::NoTls),
        };
        let storage = match raw.storage.backend.as_str() {
            "sqlite" => StorageConfig::Sqlite {
                path: raw.storage.path.ok_or_else(|| {
                    ConfigError::Invalid("[storage] backend = \"sqlite\" needs a path".into())
                })?,
            },
            "inmem" => StorageConfig::Inmem,
            other => {
                return Err(ConfigError::Invalid(format!(
                    "[storage] backend {other:?} is not supported (use \"sqlite\")"
                )))
            }
        };
        let max_request_size = raw
            .listener
            .max_request_size
            .unwrap_or(DEFAULT_MAX_REQUEST_SIZE);
        if max_request_size == 0 {
            return Err(ConfigError::Invalid(
                "[listener] max_request_size must be positive".into(),
            ));
        }
        let limits = Limits {
            login: rate(
                raw.limits.login_requests_per_second,
                raw.limits.login_burst,
                Some(DEFAULT_LOGIN_RATE),
                "login_requests_per_second",
            )?,
            global: rate(
                raw.limits.requests_per_second,
                raw.limits.request_burst,
                None,
                "requests_per_second",
            )?,
        };
        let defaults = LockoutPolicy::default();
        let lockout = LockoutPolicy {
            threshold: raw
                .user_lockout
                .threshold
                .unwrap_or(defaults.threshold)
                .max(1),
            duration: raw
                .user_lockout
                .duration_secs
                .map_or(defaults.duration, Duration::from_secs),
            counter_reset: raw
                .user_lockout
                .counter_reset_secs
                .map_or(defaults.counter_reset, Duration::from_secs),
            disabled: raw.user_lockout.disable,
        };
        let audit = audit_config(raw.audit, raw.audit_api)?;
        Ok(Config {
            limits,
            lockout,
            audit,
            listener: ListenerConfig {
                address,
                tls,
                max_request_size,
                max_json_depth: raw
                    .listener
                    .max_json_depth
                    .unwrap_or(DEFAULT_MAX_JSON_DEPTH)
                    .max(1),
                request_timeout: Duration::from_secs(
                    raw.listener.request_timeout_secs.unwrap_or(90).max(1),
                ),
                forwarded_for_trusted: raw
                    .listener
                    .x_forwarded_for_authorized_addrs
                    .iter()
                    .map(|c| {
                        Cidr::parse(c).map_err(|_| {
                            ConfigError::Invalid(format!(
                                "[listener] x_forwarded_for_authorized_addrs: invalid CIDR {c:?}"
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            storage,
            disable_mlock: raw.disable_mlock,
            log_format: raw.log_format,
            log_level: raw.log_level.unwrap_or_else(|| "info".to_string()),
        })
    }

    /// The configuration of `--dev`: loopback, plain HTTP, in-memory storage.
    pub fn dev(address: SocketAddr) -> Config {
        Config {
            listener: ListenerConfig {
                address,
                tls: TlsMode::Disabled,
                max_request_size: DEFAULT_MAX_REQUEST_SIZE,
                max_json_depth: DEFAULT_MAX_JSON_DEPTH,
                request_timeout: Duration::from_secs(90),
                forwarded_for_trusted: Vec::new(),
            },
            storage: StorageConfig::Inmem,
            disable_mlock: true,
            log_format: LogFormat::Pretty,
            log_level: "info".to_string(),
            limits: Limits::default(),
            lockout: LockoutPolicy::default(),
            audit: AuditConfig::default(),
        }
    }
}

fn audit_config(
    devices: Vec<RawAuditDevice>,
    api: RawAuditApi,
) -> Result<AuditConfig, ConfigError> {
    let mut out = Vec::with_capacity(devices.len());
    for raw in devices {
        let invalid = |e: crate::audit::AuditError| {
            ConfigError::Invalid(format!("[[audit]] path {:?}: {e}", raw.path))
        };
        let path = AuditPath::parse(&raw.path).map_err(invalid)?;
        if out.iter().any(|d: &DeclaredAuditDevice| d.path == path) {
            return Err(ConfigError::Invalid(format!(
                "[[audit]] path {:?} is declared twice",
                path.as_str()
            )));
        }
        let spec = DeviceSpec::parse(&raw.device_type, &raw.options).map_err(invalid)?;
        out.push(DeclaredAuditDevice {
            path,
            spec,
            description: raw.description,
            local: raw.local,
        });
    }
    if let Some(dir) = &api.file_directory {
        if !dir.is_absolute() {
            return Err(ConfigError::Invalid(
                "[audit_api] file_directory must be an absolute path".into(),
            ));
        }
    }
    Ok(AuditConfig {
        devices: out,
        api: AuditApiConfig {
            allow: api.allow,
            file_directory: api.file_directory,
            allow_socket: api.allow_socket,
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const BASE: &str = "[storage]\nbackend = \"sqlite\"\npath = \"/tmp/x.db\"\n";

    #[test]
    fn tls_is_required_unless_disabled() {
        let text = format!("{BASE}[listener]\naddress = \"127.0.0.1:8200\"\n");
        assert!(matches!(Config::parse(&text), Err(ConfigError::NoTls)));
        let text = format!("{BASE}[listener]\naddress = \"127.0.0.1:8200\"\ntls_disable = true\n");
        assert_eq!(
            Config::parse(&text).unwrap().listener.tls,
            TlsMode::Disabled
        );
        let text =
            format!("{BASE}[listener]\naddress = \"127.0.0.1:8200\"\ntls_cert_file = \"c\"\n");
        assert!(matches!(Config::parse(&text), Err(ConfigError::HalfTls)));
        let text = format!(
            "{BASE}[listener]\naddress = \"127.0.0.1:8200\"\ntls_cert_file = \"c\"\ntls_key_file = \"k\"\n"
        );
        let c = Config::parse(&text).unwrap();
        assert!(matches!(
            c.listener.tls,
            TlsMode::Files {
                client_ca: None,
                ..
            }
        ));
        assert_eq!(c.listener.max_request_size, DEFAULT_MAX_REQUEST_SIZE);
    }

    #[test]
    fn client_ca_needs_tls() {
        let text = format!(
            "{BASE}[listener]\naddress = \"127.0.0.1:8200\"\ntls_cert_file = \"c\"\n\
             tls_key_file = \"k\"\ntls_client_ca_file = \"ca.pem\"\n"
        );
        match Config::parse(&text).unwrap().listener.tls {
            TlsMode::Files { client_ca, .. } => assert_eq!(client_ca, Some("ca.pem".into())),
            TlsMode::Disabled => panic!("expected TLS"),
        }
        let text = format!(
            "{BASE}[listener]\naddress = \"127.0.0.1:8200\"\ntls_disable = true\n\
             tls_client_ca_file = \"ca.pem\"\n"
        );
        assert!(matches!(Config::parse(&text), Err(ConfigError::Invalid(_))));
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        let text = format!("{BASE}[listener]\naddress = \"127.0.0.1:8200\"\ntls_disabled = true\n");
        assert!(matches!(
            Config::parse(&text),
            Err(ConfigError::Parse { .. })
        ));
        let text = "[storage]\nbackend = \"etcd\"\n[listener]\naddress = \"127.0.0.1:1\"\ntls_disable = true\n";
        assert!(matches!(Config::parse(text), Err(ConfigError::Invalid(_))));
        let text = format!("{BASE}[listener]\naddress = \"localhost\"\ntls_disable = true\n");
        assert!(matches!(Config::parse(&text), Err(ConfigError::Invalid(_))));
    }

    #[test]
    fn audit_tables() {
        let listener = "[listener]\naddress = \"127.0.0.1:8200\"\ntls_disable = true\n";
        let c = Config::parse(&format!("{BASE}{listener}")).unwrap();
        assert!(c.audit.devices.is_empty() && !c.audit.api.allow);
        let c = Config::parse(&format!(
            "{BASE}{listener}[[audit]]\npath = \"file\"\ntype = \"file\"\n\
             options = {{ file_path = \"/var/log/a.log\", mode = \"0640\" }}\n\
             [audit_api]\nallow = true\nfile_directory = \"/var/log\"\n"
        ))
        .unwrap();
        assert_eq!(c.audit.devices[0].path.as_str(), "file/");
        assert!(c.audit.api.allow);
        for bad in [
            "[[audit]]\npath = \"f\"\ntype = \"file\"\noptions = { file_path = \"/x\", mode = \"0755\" }\n",
            "[[audit]]\npath = \"f\"\ntype = \"syslog\"\n",
            "[[audit]]\npath = \"f\"\ntype = \"file\"\noptions = { file_path = \"/x\" }\nbogus = 1\n",
            "[audit_api]\nallow = true\nfile_directory = \"rel\"\n",
            "[audit_api]\nallowed = true\n",
        ] {
            assert!(Config::parse(&format!("{BASE}{listener}{bad}")).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_and_lockout() {
        let listener = "[listener]\naddress = \"127.0.0.1:8200\"\ntls_disable = true\n";
        let c = Config::parse(&format!("{BASE}{listener}")).unwrap();
        assert_eq!(c.limits.login, Some(DEFAULT_LOGIN_RATE));
        assert_eq!(c.limits.global, None);
        assert_eq!(c.lockout, LockoutPolicy::default());
        let c = Config::parse(&format!(
            "{BASE}{listener}[limits]\nlogin_requests_per_second = 0\nrequests_per_second = 500\n\
             [user_lockout]\nthreshold = 3\nduration_secs = 60\ndisable = true\n"
        ))
        .unwrap();
        assert_eq!(c.limits.login, None);
        assert_eq!(
            c.limits.global,
            Some(RateLimit {
                per_second: 500.0,
                burst: 500
            })
        );
        assert_eq!(c.lockout.threshold, 3);
        assert_eq!(c.lockout.duration, Duration::from_secs(60));
        assert!(c.lockout.disabled);
        assert!(Config::parse(&format!(
            "{BASE}{listener}[limits]\nrequests_per_second = -1\n"
        ))
        .is_err());
        assert!(Config::parse(&format!("{BASE}{listener}[limits]\nbogus = 1\n")).is_err());
        let trusted = "[listener]\naddress = \"127.0.0.1:8200\"\ntls_disable = true\n\
                       x_forwarded_for_authorized_addrs = [\"10.0.0.0/8\", \"::1\"]\n";
        let c = Config::parse(&format!("{BASE}{trusted}")).unwrap();
        assert_eq!(c.listener.forwarded_for_trusted.len(), 2);
        let bad = "[listener]\naddress = \"127.0.0.1:8200\"\ntls_disable = true\n\
                   x_forwarded_for_authorized_addrs = [\"10.0.0.0/99\"]\n";
        assert!(matches!(
            Config::parse(&format!("{BASE}{bad}")),
            Err(ConfigError::Invalid(_))
        ));
    }
}
