//! The database secrets engine (`type=database`): connections, dynamic roles, static roles.
//!
//! SKELETON: the functions below are the contract between the core and the engine; the
//! engine work fills in the bodies and adds one file per resource.

#![allow(dead_code, unused_variables, clippy::unused_async)]

pub mod driver;

use serde_json::Value;
use time::OffsetDateTime;

use super::{EngineError, EngineRequest, EngineResponse, MountContext};

/// Live connection pools of every database mount, keyed by (mount uuid, connection name).
/// Lives as long as the vault is unsealed. Its lock guards only the map, never network I/O.
#[derive(Debug, Default)]
pub struct Connections {}

impl Connections {
    /// Closes and forgets every pool of a mount (unmount).
    pub fn forget_mount(&self, mount_uuid: &str) {}
}

/// TTLs of the role a lease was issued under, for renewal arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleTtls {
    /// Role `default_ttl`, seconds (0 = mount default).
    pub default_ttl: u64,
    /// Role `max_ttl`, seconds (0 = mount max).
    pub max_ttl: u64,
}

/// What a pass of the static-rotation job did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// Roles whose password was changed.
    pub rotated: usize,
    /// Roles whose rotation failed (retried later with backoff).
    pub failed: usize,
    /// When the next rotation of this mount is due, if any.
    pub next_due: Option<OffsetDateTime>,
}

/// Serves a request to a database mount.
pub async fn handle(
    req: &EngineRequest<'_>,
    conns: &Connections,
) -> Result<EngineResponse, EngineError> {
    unimplemented!()
}

/// Existence check for writes (create vs update): `config/:name`, `roles/:name`,
/// `static-roles/:name`; `None` for paths without one.
pub async fn exists(req: &EngineRequest<'_>) -> Result<Option<bool>, EngineError> {
    unimplemented!()
}

/// Revokes a dynamic credential issued by this mount (`internal` is what `creds` put in
/// its `NewSecret`).
pub async fn revoke(
    ctx: &MountContext,
    conns: &Connections,
    internal: &Value,
) -> Result<(), EngineError> {
    unimplemented!()
}

/// The TTLs of the role a credential was issued under (renewal fails if the role is gone).
pub async fn role_ttls(ctx: &MountContext, internal: &Value) -> Result<RoleTtls, EngineError> {
    unimplemented!()
}

/// Extends a dynamic credential in the database to `expiration` (renew statements).
pub async fn renew(
    ctx: &MountContext,
    conns: &Connections,
    internal: &Value,
    expiration: OffsetDateTime,
) -> Result<(), EngineError> {
    unimplemented!()
}

/// Rotates every static role of the mount whose rotation is due at `now`.
pub async fn rotate_due_static_roles(
    ctx: &MountContext,
    conns: &Connections,
    now: OffsetDateTime,
) -> Result<RotationReport, EngineError> {
    unimplemented!()
}
