//! `sys/internal/ui/mounts[/:path]`: the CLI's preflight.
//!
//! The `bao`/`vault` CLI calls it before every `kv` command to learn the mount path and
//! kv version. It is not guarded by an ACL rule of its own: the caller must have some
//! access under the mount (root, or the default policy's cubbyhole), otherwise 403 with
//! Vault's preflight message.

use serde_json::{Map, Value};

use crate::core::request::{LogicalRequest, LogicalResponse, Operation};
use crate::core::{Caller, CoreError, Unsealed};
use crate::mount::MountType;
use crate::policy::Acl;

fn may_see(acl: &Acl, mount_path: &str) -> bool {
    acl.has_mount_access(mount_path)
}

pub fn handle(
    unsealed: &Unsealed,
    path: Option<&str>,
    req: &LogicalRequest,
    caller: &Caller<'_>,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Read {
        return Err(CoreError::MethodNotAllowed);
    }
    match path {
        None => {
            // The mounts this token can see, as `{"secret": {...}, "auth": {}}`.
            let visible: Vec<_> = unsealed
                .mounts
                .list()
                .into_iter()
                .filter(|e| e.mount_type != MountType::System && may_see(&caller.acl, &e.path))
                .collect();
            let secret: Map<String, Value> = visible
                .iter()
                .filter(|e| !e.mount_type.is_auth())
                .map(|e| (e.path.clone(), e.to_wire()))
                .collect();
            let auth: Map<String, Value> = visible
                .iter()
                .filter(|e| e.mount_type.is_auth())
                .map(|e| (e.auth_path().to_string(), e.to_auth_wire()))
                .collect();
            let mut data = Map::new();
            data.insert("secret".into(), Value::Object(secret));
            data.insert("auth".into(), Value::Object(auth));
            Ok(LogicalResponse::with_data(Value::Object(data)))
        }
        Some(p) => {
            let denied = || CoreError::PreflightDenied(format!("{}/", p.trim_end_matches('/')));
            let mount = unsealed.mounts.resolve(p).ok_or_else(denied)?;
            if mount.entry.mount_type == MountType::System
                || !may_see(&caller.acl, &mount.entry.path)
            {
                return Err(denied());
            }
            let mut data = mount.entry.to_wire();
            if let Some(obj) = data.as_object_mut() {
                obj.insert("path".into(), Value::String(mount.entry.path.clone()));
            }
            Ok(LogicalResponse::with_data(data))
        }
    }
}
