//! `sys/mounts`, `sys/mounts/:path`, `sys/mounts/:path/tune`: secrets engine mounts.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::core::duration::opt_duration;
use crate::core::expiration::RevokeMode;
use crate::core::fields::{opt_bool, opt_string, FieldError};
use crate::core::request::{unknown_field_warning, LogicalRequest, LogicalResponse, Operation};
use crate::core::{Core, CoreError, Unsealed};
use crate::mount::{MountConfig, MountEntry, MountError, MountPath, MountType};

/// Fields `POST sys/mounts/:path` accepts.
const ENABLE_FIELDS: &[&str] = &[
    "type",
    "description",
    "config",
    "options",
    "local",
    "seal_wrap",
    "external_entropy_access",
    "plugin_version",
    "plugin_name",
];

/// Fields `POST sys/mounts/:path/tune` accepts.
const TUNE_FIELDS: &[&str] = &[
    "default_lease_ttl",
    "max_lease_ttl",
    "description",
    "options",
    "force_no_cache",
];

pub(super) fn list(
    unsealed: &Unsealed,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    list_table(unsealed, req, Table::Secrets)
}

/// The two views of the one mount table: secrets engines (`sys/mounts`, keyed by path)
/// and auth methods (`sys/auth`, keyed by the path without `auth/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Table {
    /// `sys/mounts`.
    Secrets,
    /// `sys/auth`.
    Auth,
}

/// `GET sys/mounts` or `GET sys/auth`: every mount of `table`, duplicated at the top level.
pub(super) fn list_table(
    unsealed: &Unsealed,
    req: &LogicalRequest,
    table: Table,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Read {
        return Err(CoreError::MethodNotAllowed);
    }
    let map: Map<String, Value> = unsealed
        .mounts
        .list()
        .iter()
        .filter(|e| e.mount_type.is_auth() == (table == Table::Auth))
        .map(|e| match table {
            Table::Secrets => (e.path.clone(), e.to_wire()),
            Table::Auth => (e.auth_path().to_string(), e.to_auth_wire()),
        })
        .collect();
    let mut resp = LogicalResponse::with_data(Value::Object(map));
    resp.duplicate_top_level = true;
    Ok(resp)
}

pub(super) async fn mount(
    core: &Core,
    unsealed: &Unsealed,
    raw_path: &str,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    let path = MountPath::parse(raw_path)?;
    if path.as_str().starts_with("auth/") {
        // Auth methods are managed through sys/auth.
        return Err(MountError::NoMount(path.as_str().to_string()).into());
    }
    match req.operation {
        Operation::Read => {
            let entry = unsealed
                .mounts
                .get(&path)
                .ok_or_else(|| MountError::NoMount(path.as_str().to_string()))?;
            let mut resp = LogicalResponse::with_data(entry.to_wire());
            resp.duplicate_top_level = true;
            Ok(resp)
        }
        Operation::Update => enable(unsealed, &path, req).await,
        Operation::Delete => {
            if unsealed.mounts.get(&path).is_none() {
                return Ok(LogicalResponse::empty());
            }
            // Its secrets go first, while the engine can still revoke them; a failure
            // keeps the mount (and its leases) in place.
            core.revoke_lease_prefix(unsealed, path.as_str(), RevokeMode::Sync)
                .await?;
            if let Some(gone) = unsealed.mounts.disable(&path).await? {
                unsealed.databases.forget_mount(&gone.uuid);
                tracing::info!(path = %gone.path, accessor = %gone.accessor, "secrets engine disabled");
            }
            Ok(LogicalResponse::empty())
        }
        Operation::List | Operation::Patch => Err(CoreError::MethodNotAllowed),
    }
}

fn sub_map<'a>(
    data: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, CoreError> {
    match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => {
            Err(FieldError(format!("invalid value for {name:?}: expected an object")).into())
        }
    }
}

/// `options` as a string map; only `version` means something (to kv).
pub(super) fn parse_options(
    data: &Map<String, Value>,
) -> Result<Option<BTreeMap<String, String>>, CoreError> {
    let Some(opts) = sub_map(data, "options")? else {
        return Ok(None);
    };
    let mut out = BTreeMap::new();
    for (k, v) in opts {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            _ => {
                return Err(FieldError(format!(
                    "invalid value for option {k:?}: expected a string"
                ))
                .into())
            }
        };
        out.insert(k.clone(), text);
    }
    Ok(Some(out))
}

fn check_kv_version(options: &Option<BTreeMap<String, String>>) -> Result<(), CoreError> {
    match options
        .as_ref()
        .and_then(|o| o.get("version"))
        .map(String::as_str)
    {
        None | Some("" | "1" | "2") => Ok(()),
        Some(other) => {
            Err(MountError::Invalid(format!("invalid kv version {other:?}: must be 1 or 2")).into())
        }
    }
}

fn ttl_field(map: &Map<String, Value>, name: &str) -> Result<Option<u64>, CoreError> {
    opt_duration(map, name).map_err(|e| FieldError(e.to_string()).into())
}

fn check_ttls(config: &MountConfig) -> Result<(), CoreError> {
    if config.max_lease_ttl != 0 && config.default_lease_ttl > config.max_lease_ttl {
        return Err(MountError::Invalid(
            "default lease TTL cannot be greater than the maximum lease TTL".to_string(),
        )
        .into());
    }
    Ok(())
}

/// `config{default_lease_ttl, max_lease_ttl, force_no_cache}` of an enable request, with
/// a warning naming settings this server does not have. TTL order is checked.
pub(super) fn parse_config(
    data: &Map<String, Value>,
) -> Result<(MountConfig, Vec<String>), CoreError> {
    let mut config = MountConfig::default();
    let mut warnings = Vec::new();
    if let Some(cfg) = sub_map(data, "config")? {
        config.default_lease_ttl = ttl_field(cfg, "default_lease_ttl")?.unwrap_or(0);
        config.max_lease_ttl = ttl_field(cfg, "max_lease_ttl")?.unwrap_or(0);
        config.force_no_cache = opt_bool(cfg, "force_no_cache")?.unwrap_or(false);
        let known = [
            "default_lease_ttl",
            "max_lease_ttl",
            "force_no_cache",
            "options",
        ];
        let ignored: Vec<&str> = cfg
            .iter()
            .filter(|(k, v)| !known.contains(&k.as_str()) && !is_empty_value(v))
            .map(|(k, _)| k.as_str())
            .collect();
        if !ignored.is_empty() {
            warnings.push(format!(
                "mount config settings not supported by this server were ignored: [{}]",
                ignored.join(" ")
            ));
        }
    }
    check_ttls(&config)?;
    Ok((config, warnings))
}

async fn enable(
    unsealed: &Unsealed,
    path: &MountPath,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    path.check_not_reserved()?;
    let raw_type = opt_string(&req.data, "type")?.unwrap_or_default();
    let (mount_type, implied_version) = MountType::parse_user(&raw_type)?;
    let mut options = parse_options(&req.data)?;
    if let Some(version) = implied_version {
        options
            .get_or_insert_with(BTreeMap::new)
            .insert("version".into(), version.into());
    }
    check_kv_version(&options)?;
    enable_entry(unsealed, path, mount_type, options, req).await
}

/// The part of enabling a secrets engine or an auth method that is the same for both:
/// `config`, `description`, `local`, `seal_wrap`, the table write, and the warnings.
pub(super) async fn enable_entry(
    unsealed: &Unsealed,
    path: &MountPath,
    mount_type: MountType,
    options: Option<BTreeMap<String, String>>,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    let (config, warnings) = parse_config(&req.data)?;
    let description = opt_string(&req.data, "description")?.unwrap_or_default();
    let mut entry = MountEntry::new(path, mount_type, description, config, options);
    entry.local = opt_bool(&req.data, "local")?.unwrap_or(false);
    entry.seal_wrap = opt_bool(&req.data, "seal_wrap")?.unwrap_or(false);
    let entry = unsealed.mounts.enable(entry).await?;
    let what = if entry.mount_type.is_auth() {
        "auth method enabled"
    } else {
        "secrets engine enabled"
    };
    tracing::info!(path = %entry.path, r#type = entry.mount_type.as_str(), accessor = %entry.accessor, "{what}");
    let mut resp = LogicalResponse::empty();
    resp.warnings = warnings;
    resp.warnings
        .extend(unknown_field_warning(&req.data, ENABLE_FIELDS));
    Ok(resp)
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(n) => n.as_u64() == Some(0),
    }
}

pub(super) async fn tune(
    unsealed: &Unsealed,
    raw_path: &str,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    let path = MountPath::parse(raw_path)?;
    if path.as_str().starts_with("auth/") {
        return Err(MountError::NoMount(path.as_str().to_string()).into());
    }
    tune_at(unsealed, &path, req).await
}

/// Tune of the mount at `path` (secrets engines and, through `sys/auth`, auth methods).
pub(super) async fn tune_at(
    unsealed: &Unsealed,
    path: &MountPath,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    let path = path.clone();
    match req.operation {
        Operation::Read => {
            let entry = unsealed
                .mounts
                .get(&path)
                .ok_or_else(|| MountError::NoMount(path.as_str().to_string()))?;
            let mut data = json!({
                "description": entry.description,
                "default_lease_ttl": entry.effective_default_ttl(),
                "max_lease_ttl": entry.effective_max_ttl(),
                "force_no_cache": entry.config.force_no_cache,
            });
            if let (Some(opts), Some(obj)) = (&entry.options, data.as_object_mut()) {
                obj.insert("options".into(), json!(opts));
            }
            if let (true, Some(obj)) = (entry.mount_type.is_auth(), data.as_object_mut()) {
                obj.insert("token_type".into(), json!("default-service"));
            }
            // `sys/mounts/*` and `sys/auth/*` are legacy duplicated routes (reference §1.3).
            let mut resp = LogicalResponse::with_data(data);
            resp.duplicate_top_level = true;
            Ok(resp)
        }
        Operation::Update => {
            let default_ttl = ttl_field(&req.data, "default_lease_ttl")?;
            let max_ttl = ttl_field(&req.data, "max_lease_ttl")?;
            let description = opt_string(&req.data, "description")?;
            let force_no_cache = opt_bool(&req.data, "force_no_cache")?;
            let options = parse_options(&req.data)?;
            check_kv_version(&options)?;
            let (old, new) = unsealed
                .mounts
                .tune(&path, |old| {
                    let mut next = old.clone();
                    if let Some(ttl) = default_ttl {
                        next.config.default_lease_ttl = ttl;
                    }
                    if let Some(ttl) = max_ttl {
                        next.config.max_lease_ttl = ttl;
                    }
                    if let Some(d) = &description {
                        next.description.clone_from(d);
                    }
                    if let Some(f) = force_no_cache {
                        next.config.force_no_cache = f;
                    }
                    if let Some(opts) = &options {
                        if old.mount_type != MountType::Kv && !opts.is_empty() {
                            return Err(MountError::Invalid(format!(
                                "{} mounts take no options",
                                old.mount_type.as_str()
                            )));
                        }
                        let merged = next.options.get_or_insert_with(BTreeMap::new);
                        for (k, v) in opts {
                            merged.insert(k.clone(), v.clone());
                        }
                        if old.kv_version() == 2 && next.kv_version() != 2 {
                            return Err(MountError::Invalid(
                                "cannot downgrade a kv mount from version 2 to version 1".into(),
                            ));
                        }
                    }
                    if next.config.max_lease_ttl != 0
                        && next.config.default_lease_ttl > next.config.max_lease_ttl
                    {
                        return Err(MountError::Invalid(
                            "default lease TTL cannot be greater than the maximum lease TTL".into(),
                        ));
                    }
                    Ok(next)
                })
                .await?;
            let asked_for_v2 = options
                .as_ref()
                .and_then(|o| o.get("version"))
                .is_some_and(|v| v == "2");
            if new.kv_version() == 2 && (old.kv_version() == 1 || asked_for_v2) {
                // Convert the stored v1 data to the v2 layout. Idempotent, so asking for
                // version 2 again finishes an upgrade that was interrupted.
                let view = unsealed_view(unsealed, &new)?;
                crate::engines::kv::v2::upgrade_from_v1(&view).await?;
                tracing::info!(path = %new.path, "kv mount upgraded from version 1 to 2");
            }
            let mut resp = LogicalResponse::empty();
            resp.warnings
                .extend(unknown_field_warning(&req.data, TUNE_FIELDS));
            Ok(resp)
        }
        Operation::Delete | Operation::List | Operation::Patch => Err(CoreError::MethodNotAllowed),
    }
}

fn unsealed_view(
    unsealed: &Unsealed,
    entry: &MountEntry,
) -> Result<crate::barrier::StorageView, CoreError> {
    Ok(unsealed.mounts.barrier().view(&entry.data_prefix())?)
}
