//! What a device is: its type and options, parsed from Vault's string map at the edge,
//! and the rules for devices enabled through the API.
//!
//! Options (all strings, as in Vault): `file_path` (or `path`; a path, `stdout` or
//! `discard`), `mode` (octal, default `0600`, never executable), `prefix`, `format`
//! (`json` only), `log_raw`, `hmac_accessor`, `elide_list_responses` (`false` only),
//! `skip_test`; sockets: `address`, `socket_type` (`tcp` | `unix`). Unknown options are
//! refused.
//!
//! API creation is off unless `[audit_api] allow = true`. Then `file` devices may only
//! write to a regular file under `file_directory` (the parent is canonicalised, `..`,
//! symlinks and non-regular files are refused, and the file is opened with
//! `O_NOFOLLOW`), and `socket` devices need `allow_socket = true`. This is the safe form
//! of what OpenBao switched off after its audit-path code execution CVE: no executable
//! modes, no arbitrary paths.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::AuditError;
use crate::config::AuditApiConfig;
use crate::core::fields::parse_bool;

/// Default mode of a created audit file.
pub const DEFAULT_MODE: u32 = 0o600;

/// The device type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceType {
    /// JSON lines to a file (or stdout, or nowhere).
    File,
    /// JSON lines to a TCP or Unix socket.
    Socket,
}

impl DeviceType {
    /// Vault's name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceType::File => "file",
            DeviceType::Socket => "socket",
        }
    }

    /// Parses `file` / `socket`.
    pub fn parse(s: &str) -> Result<DeviceType, AuditError> {
        match s {
            "file" => Ok(DeviceType::File),
            "socket" => Ok(DeviceType::Socket),
            "" => Err(AuditError::Invalid("missing audit device type".into())),
            other => Err(AuditError::Invalid(format!(
                "unknown audit device type {other:?} (supported: file, socket)"
            ))),
        }
    }
}

/// Where a file device writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileTarget {
    /// The process's standard output.
    Stdout,
    /// Nowhere (the entries are still built and chained).
    Discard,
    /// A file, opened append-only.
    Path {
        /// The file.
        path: PathBuf,
        /// Mode when created.
        mode: u32,
        /// Refuse to follow a symlink at the last component (API-created devices).
        no_follow: bool,
    },
}

/// A socket's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketType {
    /// `host:port`.
    Tcp,
    /// A Unix socket path.
    Unix,
}

/// Where a device writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `file`.
    File(FileTarget),
    /// `socket`.
    Socket {
        /// `host:port` or a socket path.
        address: String,
        /// TCP or Unix.
        socket_type: SocketType,
    },
}

/// A parsed device definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    /// Type.
    pub device_type: DeviceType,
    /// Where it writes.
    pub target: Target,
    /// Write values in clear (no hashing at all).
    pub log_raw: bool,
    /// Hash accessors (default true).
    pub hmac_accessor: bool,
    /// Text written before each JSON object.
    pub prefix: String,
    /// Skip the probe entry on enable.
    pub skip_test: bool,
    /// The options as given (listed by `GET sys/audit`).
    pub options: BTreeMap<String, String>,
}

const COMMON: &[&str] = &[
    "format",
    "prefix",
    "log_raw",
    "hmac_accessor",
    "elide_list_responses",
    "skip_test",
];
const FILE_OPTIONS: &[&str] = &["file_path", "path", "mode"];
const SOCKET_OPTIONS: &[&str] = &["address", "socket_type"];

fn flag(options: &BTreeMap<String, String>, name: &str, default: bool) -> Result<bool, AuditError> {
    match options.get(name).map(|s| s.trim()) {
        None | Some("") => Ok(default),
        Some(v) => parse_bool(v).ok_or_else(|| {
            AuditError::Invalid(format!("invalid value for option {name:?}: {v:?}"))
        }),
    }
}

/// Parses an octal mode; executable bits (and anything beyond 0777) are refused.
pub fn parse_mode(text: &str) -> Result<u32, AuditError> {
    let mode = u32::from_str_radix(text.trim(), 8)
        .map_err(|_| AuditError::Invalid(format!("invalid mode {text:?}: expected octal")))?;
    if mode > 0o777 || mode & 0o111 != 0 {
        return Err(AuditError::Invalid(format!(
            "invalid mode {text:?}: audit files may not be executable (use e.g. 0600)"
        )));
    }
    Ok(mode)
}

impl DeviceSpec {
    /// Parses a type and its options.
    pub fn parse(
        device_type: &str,
        options: &BTreeMap<String, String>,
    ) -> Result<DeviceSpec, AuditError> {
        let device_type = DeviceType::parse(device_type)?;
        let specific = match device_type {
            DeviceType::File => FILE_OPTIONS,
            DeviceType::Socket => SOCKET_OPTIONS,
        };
        if let Some(unknown) = options
            .keys()
            .find(|k| !COMMON.contains(&k.as_str()) && !specific.contains(&k.as_str()))
        {
            return Err(AuditError::Invalid(format!(
                "unknown option {unknown:?} for a {} audit device",
                device_type.as_str()
            )));
        }
        match options.get("format").map(String::as_str) {
            None | Some("" | "json") => {}
            Some(other) => {
                return Err(AuditError::Invalid(format!(
                    "unsupported format {other:?} (only \"json\")"
                )))
            }
        }
        if flag(options, "elide_list_responses", false)? {
            return Err(AuditError::Invalid(
                "elide_list_responses is not supported".into(),
            ));
        }
        let prefix = options.get("prefix").cloned().unwrap_or_default();
        if prefix.contains(['{', '\n', '\r']) {
            return Err(AuditError::Invalid(
                "prefix may not contain '{' or line breaks".into(),
            ));
        }
        let target = match device_type {
            DeviceType::File => {
                let raw = options
                    .get("file_path")
                    .or_else(|| options.get("path"))
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| AuditError::Invalid("file_path is required".into()))?;
                let mode = match options.get("mode").map(|s| s.trim()) {
                    None | Some("") => DEFAULT_MODE,
                    Some(m) => parse_mode(m)?,
                };
                Target::File(match raw {
                    "stdout" => FileTarget::Stdout,
                    "discard" => FileTarget::Discard,
                    path => FileTarget::Path {
                        path: PathBuf::from(path),
                        mode,
                        no_follow: false,
                    },
                })
            }
            DeviceType::Socket => {
                let address = options
                    .get("address")
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| AuditError::Invalid("address is required".into()))?;
                let socket_type = match options.get("socket_type").map(|s| s.trim()) {
                    None | Some("" | "tcp") => SocketType::Tcp,
                    Some("unix") => SocketType::Unix,
                    Some(other) => {
                        return Err(AuditError::Invalid(format!(
                            "unsupported socket_type {other:?} (tcp or unix)"
                        )))
                    }
                };
                Target::Socket {
                    address,
                    socket_type,
                }
            }
        };
        let skip_test = flag(options, "skip_test", false)?;
        let mut listed = options.clone();
        listed.remove("skip_test");
        Ok(DeviceSpec {
            device_type,
            target,
            log_raw: flag(options, "log_raw", false)?,
            hmac_accessor: flag(options, "hmac_accessor", true)?,
            prefix,
            skip_test,
            options: listed,
        })
    }

    /// Applies the API-creation rules: returns the spec to use (a file path resolved
    /// under the allowed directory, opened without following symlinks).
    pub fn restrict_for_api(mut self, policy: &AuditApiConfig) -> Result<DeviceSpec, AuditError> {
        if !policy.allow {
            return Err(AuditError::ApiDisabled);
        }
        match &mut self.target {
            Target::File(FileTarget::Stdout | FileTarget::Discard) => {}
            Target::File(FileTarget::Path {
                path, no_follow, ..
            }) => {
                let dir = policy.file_directory.as_deref().ok_or_else(|| {
                    AuditError::Invalid(
                        "file audit devices enabled through the API need [audit_api] \
                         file_directory in the server configuration"
                            .into(),
                    )
                })?;
                *path = confine(path, dir)?;
                *no_follow = true;
            }
            Target::Socket { .. } if policy.allow_socket => {}
            Target::Socket { .. } => {
                return Err(AuditError::Invalid(
                    "socket audit devices cannot be enabled through the API \
                     (set [audit_api] allow_socket = true)"
                        .into(),
                ))
            }
        }
        Ok(self)
    }
}

/// `path` as a regular file directly or indirectly under `dir` (both canonicalised).
fn confine(path: &Path, dir: &Path) -> Result<PathBuf, AuditError> {
    let refuse = |why: &str| {
        AuditError::Invalid(format!(
            "file_path {:?} is not allowed: {why}; API-enabled audit files must be regular \
             files under {:?}",
            path.display().to_string(),
            dir.display().to_string()
        ))
    };
    if !path.is_absolute() {
        return Err(refuse("not an absolute path"));
    }
    if path
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err(refuse("'.' and '..' are not allowed"));
    }
    let name = path.file_name().ok_or_else(|| refuse("no file name"))?;
    let parent = path.parent().ok_or_else(|| refuse("no parent directory"))?;
    let allowed =
        std::fs::canonicalize(dir).map_err(|_| refuse("the allowed directory is missing"))?;
    let parent =
        std::fs::canonicalize(parent).map_err(|_| refuse("its directory does not exist"))?;
    if !parent.starts_with(&allowed) {
        return Err(refuse("outside the allowed directory"));
    }
    let full = parent.join(name);
    match std::fs::symlink_metadata(&full) {
        Ok(meta) if meta.file_type().is_file() => Ok(full),
        Ok(_) => Err(refuse("it exists and is not a regular file")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(full),
        Err(_) => Err(refuse("it cannot be inspected")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parse_options() {
        let s = DeviceSpec::parse("file", &opts(&[("file_path", "stdout")])).unwrap();
        assert_eq!(s.target, Target::File(FileTarget::Stdout));
        assert!(s.hmac_accessor && !s.log_raw);
        let s = DeviceSpec::parse(
            "file",
            &opts(&[
                ("file_path", "/x/a.log"),
                ("mode", "0640"),
                ("log_raw", "true"),
                ("skip_test", "1"),
            ]),
        )
        .unwrap();
        assert!(s.log_raw && s.skip_test);
        assert!(!s.options.contains_key("skip_test"));
        assert!(matches!(
            s.target,
            Target::File(FileTarget::Path { mode: 0o640, .. })
        ));
        for bad in [
            opts(&[]),
            opts(&[("file_path", "/x"), ("mode", "0755")]),
            opts(&[("file_path", "/x"), ("mode", "4600")]),
            opts(&[("file_path", "/x"), ("bogus", "1")]),
            opts(&[("file_path", "/x"), ("format", "jsonx")]),
            opts(&[("file_path", "/x"), ("prefix", "{")]),
        ] {
            assert!(DeviceSpec::parse("file", &bad).is_err(), "{bad:?}");
        }
        assert!(DeviceSpec::parse("syslog", &opts(&[])).is_err());
        let s = DeviceSpec::parse(
            "socket",
            &opts(&[("address", "127.0.0.1:9"), ("socket_type", "tcp")]),
        )
        .unwrap();
        assert!(matches!(
            s.target,
            Target::Socket {
                socket_type: SocketType::Tcp,
                ..
            }
        ));
        assert!(
            DeviceSpec::parse("socket", &opts(&[("address", "x"), ("socket_type", "udp")]))
                .is_err()
        );
    }

    #[test]
    fn api_restrictions() {
        let dir = tempfile::tempdir().unwrap();
        let allowed = dir.path().join("audit");
        std::fs::create_dir(&allowed).unwrap();
        let policy = AuditApiConfig {
            allow: true,
            file_directory: Some(allowed.clone()),
            allow_socket: false,
        };
        let spec = |p: &Path| {
            DeviceSpec::parse("file", &opts(&[("file_path", p.to_str().unwrap())])).unwrap()
        };
        let ok = spec(&allowed.join("a.log"))
            .restrict_for_api(&policy)
            .unwrap();
        assert!(matches!(
            ok.target,
            Target::File(FileTarget::Path {
                no_follow: true,
                ..
            })
        ));
        assert!(spec(&dir.path().join("b.log"))
            .restrict_for_api(&policy)
            .is_err());
        assert!(spec(&allowed.join("../b.log"))
            .restrict_for_api(&policy)
            .is_err());
        assert!(spec(Path::new("rel.log"))
            .restrict_for_api(&policy)
            .is_err());
        std::os::unix::fs::symlink(dir.path(), allowed.join("link")).unwrap();
        assert!(spec(&allowed.join("link/c.log"))
            .restrict_for_api(&policy)
            .is_err());
        std::os::unix::fs::symlink("/etc/passwd", allowed.join("pw")).unwrap();
        assert!(spec(&allowed.join("pw")).restrict_for_api(&policy).is_err());
        std::fs::create_dir(allowed.join("sub")).unwrap();
        assert!(spec(&allowed.join("sub"))
            .restrict_for_api(&policy)
            .is_err());
        assert!(spec(&allowed.join("sub/d.log"))
            .restrict_for_api(&policy)
            .is_ok());
        let sock = DeviceSpec::parse("socket", &opts(&[("address", "127.0.0.1:9")])).unwrap();
        assert!(sock.clone().restrict_for_api(&policy).is_err());
        let off = AuditApiConfig::default();
        assert!(matches!(
            sock.restrict_for_api(&off),
            Err(AuditError::ApiDisabled)
        ));
    }
}
