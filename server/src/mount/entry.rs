//! One mount: its type, identity, TTL limits and options; and its wire shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{MountError, MountPath};

/// System default (and maximum) lease TTL: 768h, as Vault.
pub const SYSTEM_DEFAULT_TTL: u64 = 768 * 3600;

/// The engine behind a mount (closed: adding an engine adds a variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    /// Key/value, version 1 or 2 (see the entry's options).
    Kv,
    /// Per-token private storage (built in, one instance).
    Cubbyhole,
    /// The `sys/` endpoints (built in, listed only).
    System,
    /// The token auth method (`auth/token/`, built in; its endpoints live in `auth`).
    Token,
    /// Username and password auth method.
    Userpass,
    /// AppRole auth method.
    Approle,
    /// TLS client certificate auth method.
    Cert,
    /// Dynamic and static database credentials (PostgreSQL, MySQL/MariaDB).
    Database,
    /// Encryption as a service: named keys that never leave the vault.
    Transit,
}

impl MountType {
    /// Parses a user-requested type; `kv-v2` is Vault's alias for kv version 2.
    pub fn parse_user(raw: &str) -> Result<(MountType, Option<&'static str>), MountError> {
        match raw {
            "kv" => Ok((MountType::Kv, None)),
            "kv-v1" => Ok((MountType::Kv, Some("1"))),
            "kv-v2" => Ok((MountType::Kv, Some("2"))),
            "database" => Ok((MountType::Database, None)),
            "transit" => Ok((MountType::Transit, None)),
            "" => Err(MountError::MissingType),
            other => Err(MountError::UnknownType(other.to_string())),
        }
    }

    /// Parses the `type` of `POST sys/auth/:path`.
    pub fn parse_auth(raw: &str) -> Result<MountType, MountError> {
        match raw {
            "userpass" => Ok(MountType::Userpass),
            "approle" => Ok(MountType::Approle),
            "cert" => Ok(MountType::Cert),
            "" => Err(MountError::MissingType),
            other => Err(MountError::UnknownType(other.to_string())),
        }
    }

    /// Vault's name.
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Kv => "kv",
            MountType::Cubbyhole => "cubbyhole",
            MountType::System => "system",
            MountType::Token => "token",
            MountType::Userpass => "userpass",
            MountType::Approle => "approle",
            MountType::Cert => "cert",
            MountType::Database => "database",
            MountType::Transit => "transit",
        }
    }

    /// Whether this is an auth method (mounted under `auth/`, listed by `sys/auth`).
    pub fn is_auth(self) -> bool {
        matches!(
            self,
            MountType::Token | MountType::Userpass | MountType::Approle | MountType::Cert
        )
    }
}

/// TTL limits and flags (0 = inherit the system default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MountConfig {
    /// Default lease TTL, seconds (0 = system default).
    pub default_lease_ttl: u64,
    /// Maximum lease TTL, seconds (0 = system default).
    pub max_lease_ttl: u64,
    /// Vault's `force_no_cache` (stored and reported).
    #[serde(default)]
    pub force_no_cache: bool,
}

/// One mount, as persisted in the mount table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountEntry {
    /// Path with trailing `/`.
    pub path: String,
    /// Engine.
    #[serde(rename = "type")]
    pub mount_type: MountType,
    /// Free text.
    pub description: String,
    /// `<type>_<8 hex>`.
    pub accessor: String,
    /// UUID; the data prefix is `logical/<uuid>/`.
    pub uuid: String,
    /// TTL limits.
    pub config: MountConfig,
    /// Engine options (`{"version":"2"}` for kv v2), or none.
    pub options: Option<BTreeMap<String, String>>,
    /// Replication flag (reported only).
    #[serde(default)]
    pub local: bool,
    /// Seal-wrap flag (reported only: everything is encrypted by the barrier anyway).
    #[serde(default)]
    pub seal_wrap: bool,
}

impl MountEntry {
    /// A new user mount.
    pub fn new(
        path: &MountPath,
        mount_type: MountType,
        description: String,
        config: MountConfig,
        options: Option<BTreeMap<String, String>>,
    ) -> MountEntry {
        let uuid = uuid::Uuid::new_v4();
        MountEntry {
            path: path.as_str().to_string(),
            mount_type,
            description,
            accessor: format!(
                "{}{}_{}",
                if mount_type.is_auth() { "auth_" } else { "" },
                mount_type.as_str(),
                &uuid.simple().to_string()[..8]
            ),
            uuid: uuid.to_string(),
            config,
            options,
            local: false,
            seal_wrap: false,
        }
    }

    /// The built-in mounts every vault has.
    pub fn builtins() -> Vec<MountEntry> {
        let mut cubbyhole = MountEntry::new(
            &MountPath::builtin("cubbyhole/"),
            MountType::Cubbyhole,
            "per-token private secret storage".to_string(),
            MountConfig::default(),
            None,
        );
        cubbyhole.local = true;
        let system = MountEntry::new(
            &MountPath::builtin("sys/"),
            MountType::System,
            "system endpoints used for control, policy and debugging".to_string(),
            MountConfig::default(),
            None,
        );
        let token = MountEntry::new(
            &MountPath::builtin("auth/token/"),
            MountType::Token,
            "token based credentials".to_string(),
            MountConfig::default(),
            None,
        );
        vec![cubbyhole, system, token]
    }

    /// The barrier prefix of this mount's data (`auth/<uuid>/` for auth methods).
    pub fn data_prefix(&self) -> String {
        if self.mount_type.is_auth() {
            format!("auth/{}/", self.uuid)
        } else {
            format!("logical/{}/", self.uuid)
        }
    }

    /// For auth methods: the path without `auth/` (`userpass/`), as `sys/auth` shows it.
    pub fn auth_path(&self) -> &str {
        self.path.strip_prefix("auth/").unwrap_or(&self.path)
    }

    /// KV version (1 unless options say 2).
    pub fn kv_version(&self) -> u8 {
        match self
            .options
            .as_ref()
            .and_then(|o| o.get("version"))
            .map(String::as_str)
        {
            Some("2") => 2,
            _ => 1,
        }
    }

    /// Effective default TTL (system default when unset).
    pub fn effective_default_ttl(&self) -> u64 {
        match self.config.default_lease_ttl {
            0 => SYSTEM_DEFAULT_TTL.min(self.effective_max_ttl()),
            ttl => ttl,
        }
    }

    /// Effective maximum TTL (system default when unset).
    pub fn effective_max_ttl(&self) -> u64 {
        match self.config.max_lease_ttl {
            0 => SYSTEM_DEFAULT_TTL,
            ttl => ttl,
        }
    }

    /// Whether operators may disable or move it.
    pub fn is_builtin(&self) -> bool {
        matches!(
            self.mount_type,
            MountType::Cubbyhole | MountType::System | MountType::Token
        )
    }

    /// The wire shape of `sys/mounts` entries.
    pub fn to_wire(&self) -> Value {
        json!({
            "accessor": self.accessor,
            "config": {
                "default_lease_ttl": self.config.default_lease_ttl,
                "max_lease_ttl": self.config.max_lease_ttl,
                "force_no_cache": self.config.force_no_cache,
            },
            "deprecation_status": "supported",
            "description": self.description,
            "external_entropy_access": false,
            "local": self.local,
            "options": self.options,
            "plugin_version": "",
            "running_plugin_version": format!("v{}+builtin.strongroom", crate::core::VERSION),
            "running_sha256": "",
            "seal_wrap": self.seal_wrap,
            "type": self.mount_type.as_str(),
            "uuid": self.uuid,
        })
    }

    /// The wire shape of `sys/auth` entries: the mount shape plus
    /// `config.token_type`, and `options` `{}` for methods (`null` for token).
    pub fn to_auth_wire(&self) -> Value {
        let mut wire = self.to_wire();
        if let Some(config) = wire.get_mut("config").and_then(Value::as_object_mut) {
            config.insert("token_type".into(), json!("default-service"));
        }
        if self.mount_type != MountType::Token && self.options.is_none() {
            if let Some(obj) = wire.as_object_mut() {
                obj.insert("options".into(), json!({}));
            }
        }
        wire
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ttl_defaults_and_shape() {
        let p = MountPath::parse("kv").unwrap();
        let mut e = MountEntry::new(
            &p,
            MountType::Kv,
            String::new(),
            MountConfig::default(),
            None,
        );
        assert_eq!(e.effective_default_ttl(), SYSTEM_DEFAULT_TTL);
        assert_eq!(e.effective_max_ttl(), SYSTEM_DEFAULT_TTL);
        e.config.max_lease_ttl = 7200;
        assert_eq!(e.effective_default_ttl(), 7200);
        e.config.default_lease_ttl = 1800;
        assert_eq!(e.effective_default_ttl(), 1800);
        assert!(e.accessor.starts_with("kv_") && e.accessor.len() == 11);
        let w = e.to_wire();
        assert_eq!(w["type"], "kv");
        assert_eq!(w["options"], Value::Null);
        assert_eq!(e.kv_version(), 1);
        assert!(matches!(
            MountType::parse_user("nosuch"),
            Err(MountError::UnknownType(_))
        ));
        assert_eq!(
            MountType::parse_user("kv-v2").unwrap(),
            (MountType::Kv, Some("2"))
        );
    }
}
