//! AppRole (`auth/approle/`): machine logins with a role id and a secret id (wire
//! reference §5.3).
//!
//! Where it sits: `core → credential → approle`, on the mount's [`StorageView`]. Role and
//! secret-id management answer ordinary responses behind the ACL; `login` (served without
//! a token) answers a [`LoginGrant`] and the core turns it into an orphan token.
//!
//! Storage layout, relative to the mount's view:
//! - `role/<name>` → [`Role`] (JSON): settings, token fields, role id, and a random
//!   internal `uid` naming the folder of the role's secret ids (a role deleted and created
//!   again under the same name never sees the old ids).
//! - `hmac-key` → 32 random bytes made when the mount is first used (barrier-encrypted
//!   like every entry): the key of the hashes below.
//! - `role-id/<hex HMAC-SHA256(key, role id)>` → the role's name. Hashed because a custom
//!   role id is arbitrary text (not always a valid key segment) and is half of a credential.
//! - `secret-id/<uid>/<hex HMAC-SHA256(key, (uid, secret id))>` → [`SecretIdEntry`] (JSON).
//! - `accessor/<accessor>` → `{uid, hash}`: the way from an accessor to its secret id.
//!
//! Invariants:
//! - A secret id is never stored, logged or formatted: it lives in a [`SecretId`]
//!   (zeroized on drop, redacted `Debug`, no `Clone`); storage holds only its hash, and the
//!   only place it is written out is the response that creates it. Storage key *names* are
//!   not encrypted by the barrier, so the hashes in them are keyed (HMAC with the mount's
//!   `hmac-key`, which is itself encrypted): the storage file alone does not allow an
//!   offline search for a guessable custom role or secret id. A generated secret id is a
//!   UUID v4 made from 122 bits of the OS RNG (`getrandom`).
//! - Every login failure that could tell a caller something (unknown role id; wrong,
//!   expired or used-up secret id; a CIDR mismatch) is the same
//!   [`EngineError::LoginFailed`] `invalid role or secret ID`, which the core counts for
//!   lockout. Only the absence of a field (`missing role_id`, `missing secret_id`) is told.
//! - Serialisation: every operation on a role or its secret ids holds that role's async
//!   lock (a process-wide table keyed by mount accessor and role name, entries pruned when
//!   idle). So a `secret_id_num_uses` decrement is one atomic read-modify-write, and a
//!   destroyed secret id cannot be written back by a login in flight. Writes of role
//!   records also hold the mount's role-id lock, always *after* the role lock, so role ids
//!   stay unique. The locks are in memory: one node per storage, as the rest of the server.
//! - Expired secret ids are refused and deleted when seen (login, lookup, list); there is
//!   no background tidy.
//! - A role with `bind_secret_id=false` must have `secret_id_bound_cidrs` or
//!   `token_bound_cidrs` (Vault's rule): every stored role has at least one constraint.

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::OwnedMutexGuard;
use zeroize::Zeroizing;

use super::token_fields::{self, cidrs_allow, opt_cidrs, Cidr};
use super::{CredentialRequest, CredentialResponse, LoginGrant, TokenFields};
use crate::barrier::{BarrierError, BarrierOp, StorageView};
use crate::core::fields::{opt_bool, opt_string, opt_u64, FieldError};
use crate::core::request::Operation;
use crate::engines::{EngineError, EngineResponse, MountContext};

/// The one message of every failed login.
const LOGIN_FAILED: &str = "invalid role or secret ID";
/// Longest role name, role id or custom secret id (Vault's HMAC input limit).
const MAX_LEN: usize = 4096;
/// Lock-table key of the mount's role-id index (role names cannot contain NUL).
const ROLE_ID_LOCK: &str = "\0role-id";
/// `expiration_time` of a secret id that never expires (Go's zero time).
const NEVER: &str = "0001-01-01T00:00:00Z";

// --- Routes ---

/// A single-field sub-path of a role: `role/:name/<field>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Policies,
    SecretIdNumUses,
    SecretIdTtl,
    TokenTtl,
    TokenMaxTtl,
    TokenNumUses,
    BindSecretId,
    SecretIdBoundCidrs,
    TokenBoundCidrs,
    Period,
}

impl Field {
    fn parse(segment: &str) -> Option<Field> {
        Some(match segment {
            "policies" => Field::Policies,
            "secret-id-num-uses" => Field::SecretIdNumUses,
            "secret-id-ttl" => Field::SecretIdTtl,
            "token-ttl" => Field::TokenTtl,
            "token-max-ttl" => Field::TokenMaxTtl,
            "token-num-uses" => Field::TokenNumUses,
            "bind-secret-id" => Field::BindSecretId,
            "secret-id-bound-cidrs" => Field::SecretIdBoundCidrs,
            "token-bound-cidrs" => Field::TokenBoundCidrs,
            "period" => Field::Period,
            _ => return None,
        })
    }

    /// Request fields this sub-path accepts, first the canonical one. Token fields are
    /// handed to [`TokenFields::updated`] restricted to these names.
    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Policies => &["token_policies", "policies"],
            Field::SecretIdNumUses => &["secret_id_num_uses"],
            Field::SecretIdTtl => &["secret_id_ttl"],
            Field::TokenTtl => &["token_ttl"],
            Field::TokenMaxTtl => &["token_max_ttl"],
            Field::TokenNumUses => &["token_num_uses"],
            Field::BindSecretId => &["bind_secret_id"],
            Field::SecretIdBoundCidrs => &["secret_id_bound_cidrs", "bound_cidr_list"],
            Field::TokenBoundCidrs => &["token_bound_cidrs"],
            Field::Period => &["token_period", "period"],
        }
    }
}

/// What a request addresses; role names already normalised.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Login,
    Roles,
    Role(String),
    RoleId(String),
    SecretIds(String),
    CustomSecretId(String),
    SecretIdLookup(String),
    SecretIdDestroy(String),
    AccessorLookup(String),
    AccessorDestroy(String),
    Field(String, Field),
}

fn route(path: &str) -> Result<Route, EngineError> {
    if path == "login" {
        return Ok(Route::Login);
    }
    let rest = match path.strip_prefix("role") {
        Some("" | "/") => return Ok(Route::Roles),
        Some(rest) => rest.strip_prefix('/').ok_or(EngineError::UnsupportedPath)?,
        None => return Err(EngineError::UnsupportedPath),
    };
    let (name, sub) = rest.split_once('/').unwrap_or((rest, ""));
    // A LIST arrives with a trailing `/` (`role/web/secret-id/`).
    let sub = sub.strip_suffix('/').unwrap_or(sub);
    let make: fn(String) -> Route = match sub {
        "" => Route::Role,
        "role-id" => Route::RoleId,
        "secret-id" => Route::SecretIds,
        "custom-secret-id" => Route::CustomSecretId,
        "secret-id/lookup" => Route::SecretIdLookup,
        "secret-id/destroy" => Route::SecretIdDestroy,
        "secret-id-accessor/lookup" => Route::AccessorLookup,
        "secret-id-accessor/destroy" => Route::AccessorDestroy,
        other => {
            let field = Field::parse(other).ok_or(EngineError::UnsupportedPath)?;
            return Ok(Route::Field(role_name(name)?, field));
        }
    };
    Ok(make(role_name(name)?))
}

/// A role name: trimmed, lower-cased, `[a-z0-9_.-]`, starting and ending with a letter,
/// digit or `_` (Vault's name pattern), at most 4096 characters.
fn role_name(raw: &str) -> Result<String, EngineError> {
    let name = raw.trim().to_ascii_lowercase();
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let valid = name.len() <= MAX_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && edge(name.chars().next())
        && edge(name.chars().last());
    if valid {
        Ok(name)
    } else {
        Err(EngineError::Invalid(format!(
            "invalid role name: use letters, digits, '_', '-' and '.', beginning and ending \
             with a letter, digit or '_', at most {MAX_LEN} characters"
        )))
    }
}

// --- Entry points ---

/// Serves one request on an approle mount.
pub async fn handle(req: &CredentialRequest<'_>) -> Result<CredentialResponse, EngineError> {
    use Operation::{Delete, List, Read, Update};
    let response = match (route(req.path)?, req.operation) {
        (Route::Login, Update) => return login(req).await.map(CredentialResponse::Login),
        (Route::Roles, List) => list_roles(req.ctx).await?,
        (Route::Role(name), Read) => read_role(req.ctx, &name).await?,
        (Route::Role(name), Update) => write_role(req, &name).await?,
        (Route::Role(name), Delete) => delete_role(req.ctx, &name).await?,
        (Route::RoleId(name), Read) => read_role_id(req.ctx, &name).await?,
        (Route::RoleId(name), Update) => write_role_id(req, &name).await?,
        (Route::SecretIds(name), Update) => create_secret_id(req, &name, None).await?,
        (Route::SecretIds(name), List) => list_secret_ids(req.ctx, &name).await?,
        (Route::CustomSecretId(name), Update) => {
            let secret = SecretId::from_field(req.data)?
                .ok_or_else(|| EngineError::Invalid("missing secret_id".into()))?;
            create_secret_id(req, &name, Some(secret)).await?
        }
        (Route::SecretIdLookup(name), Update) => lookup_secret_id(req, &name).await?,
        (Route::SecretIdDestroy(name), Update | Delete) => destroy_secret_id(req, &name).await?,
        (Route::AccessorLookup(name), Update) => lookup_accessor(req, &name).await?,
        (Route::AccessorDestroy(name), Update | Delete) => destroy_accessor(req, &name).await?,
        (Route::Field(name, field), Read) => read_field(req.ctx, &name, field).await?,
        (Route::Field(name, field), Update) => write_field(req, &name, field).await?,
        (Route::Field(name, field), Delete) => reset_field(req.ctx, &name, field).await?,
        _ => return Err(EngineError::UnsupportedOperation),
    };
    Ok(response.into())
}

/// Existence check for the ACL's create-vs-update decision: `Some(role exists)` for
/// `role/:name`, `None` for every other path.
pub async fn exists(req: &CredentialRequest<'_>) -> Result<Option<bool>, EngineError> {
    match route(req.path) {
        Ok(Route::Role(name)) => Ok(Some(load_role(&req.ctx.view, &name).await?.is_some())),
        _ => Ok(None),
    }
}

// --- Secret material ---

/// A secret id in clear: zeroized on drop, never printed, never cloned.
struct SecretId(Zeroizing<String>);

impl SecretId {
    /// A fresh UUID v4 from the OS RNG.
    fn generate() -> Result<SecretId, EngineError> {
        random_uuid().map(SecretId)
    }

    /// The request's `secret_id`, trimmed (login trims too); `None` when absent or empty.
    fn from_field(data: &Map<String, Value>) -> Result<Option<SecretId>, EngineError> {
        let Some(raw) = opt_string(data, "secret_id").map_err(field_err)? else {
            return Ok(None);
        };
        let raw = Zeroizing::new(raw);
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        if trimmed.len() > MAX_LEN {
            return Err(EngineError::Invalid(format!(
                "secret_id is longer than the maximum of {MAX_LEN} bytes"
            )));
        }
        Ok(Some(SecretId(Zeroizing::new(trimmed.to_string()))))
    }

    fn expose(&self) -> &str {
        &self.0
    }

    /// The storage name of this secret id under the role `uid` (see the module docs).
    fn hash(&self, key: &MountKey, uid: &str) -> String {
        key.hash(&[b"secret-id\0", uid.as_bytes(), b"\0", self.0.as_bytes()])
    }
}

impl fmt::Debug for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretId(<redacted>)")
    }
}

/// A UUID v4 built from 16 bytes of the OS RNG.
fn random_uuid() -> Result<Zeroizing<String>, EngineError> {
    let mut bytes = Zeroizing::new([0u8; 16]);
    getrandom::fill(bytes.as_mut_slice()).map_err(|_| BarrierError::Rng)?;
    let id = uuid::Builder::from_random_bytes(*bytes).into_uuid();
    Ok(Zeroizing::new(id.hyphenated().to_string()))
}

// --- Stored records ---

/// A role (`role/<name>`).
#[derive(Serialize, Deserialize)]
struct Role {
    /// Internal id: names the folder of the role's secret ids and salts their hashes.
    uid: String,
    role_id: String,
    bind_secret_id: bool,
    secret_id_bound_cidrs: Vec<Cidr>,
    /// Uses of each new secret id (0 = unlimited).
    secret_id_num_uses: u64,
    /// Lifetime of each new secret id, seconds (0 = no expiry).
    secret_id_ttl: u64,
    /// Stored and reported; a single-node server has no replication to keep them from.
    local_secret_ids: bool,
    token: TokenFields,
}

impl Role {
    fn new() -> Result<Role, EngineError> {
        Ok(Role {
            uid: random_uuid()?.to_string(),
            role_id: random_uuid()?.to_string(),
            bind_secret_id: true,
            secret_id_bound_cidrs: Vec::new(),
            secret_id_num_uses: 0,
            secret_id_ttl: 0,
            local_secret_ids: false,
            token: TokenFields::default(),
        })
    }

    fn has_constraint(&self) -> bool {
        self.bind_secret_id
            || !self.secret_id_bound_cidrs.is_empty()
            || !self.token.bound_cidrs.is_empty()
    }

    fn wire(&self) -> Value {
        let mut out = Map::new();
        out.insert("bind_secret_id".into(), json!(self.bind_secret_id));
        out.insert("local_secret_ids".into(), json!(self.local_secret_ids));
        out.insert(
            "secret_id_bound_cidrs".into(),
            optional_cidrs(&self.secret_id_bound_cidrs),
        );
        out.insert("secret_id_num_uses".into(), json!(self.secret_id_num_uses));
        out.insert("secret_id_ttl".into(), json!(self.secret_id_ttl));
        self.token.write_wire(&mut out);
        Value::Object(out)
    }
}

/// `role-id/<hash>`.
#[derive(Serialize, Deserialize)]
struct RoleIdEntry {
    name: String,
}

/// A secret id (`secret-id/<uid>/<hash>`); the secret itself is not in it.
#[derive(Serialize, Deserialize)]
struct SecretIdEntry {
    accessor: String,
    cidr_list: Vec<Cidr>,
    token_bound_cidrs: Vec<Cidr>,
    metadata: BTreeMap<String, String>,
    /// Logins left (0 = unlimited).
    num_uses: u64,
    /// Seconds (0 = no expiry).
    ttl: u64,
    /// Unix nanoseconds.
    created: i64,
    updated: i64,
    expires: Option<i64>,
}

impl SecretIdEntry {
    fn expired(&self, now: i64) -> bool {
        self.expires.is_some_and(|e| now >= e)
    }

    fn wire(&self) -> Value {
        json!({
            "cidr_list": cidr_strings(&self.cidr_list),
            "creation_time": rfc3339(self.created),
            "expiration_time": self.expires.map_or_else(|| NEVER.to_string(), rfc3339),
            "last_updated_time": rfc3339(self.updated),
            "metadata": self.metadata,
            "secret_id_accessor": self.accessor,
            "secret_id_num_uses": self.num_uses,
            "secret_id_ttl": self.ttl,
            "token_bound_cidrs": cidr_strings(&self.token_bound_cidrs),
        })
    }
}

/// `accessor/<accessor>`.
#[derive(Serialize, Deserialize)]
struct AccessorEntry {
    uid: String,
    hash: String,
}

fn role_key(name: &str) -> String {
    format!("role/{name}")
}

fn role_id_key(key: &MountKey, role_id: &str) -> String {
    format!("role-id/{}", key.hash(&[b"role-id\0", role_id.as_bytes()]))
}

/// The mount's HMAC key for storage-name hashes (see the module docs).
struct MountKey(Zeroizing<[u8; 32]>);

impl MountKey {
    /// Loads the key, making it on first use (under a process-wide lock, so two first
    /// requests cannot write different keys).
    async fn load(view: &StorageView) -> Result<MountKey, EngineError> {
        if let Some(key) = MountKey::read(view).await? {
            return Ok(key);
        }
        static CREATE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _guard = CREATE.lock().await;
        if let Some(key) = MountKey::read(view).await? {
            return Ok(key);
        }
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).map_err(|_| EngineError::Barrier(BarrierError::Rng))?;
        view.put(HMAC_KEY, key.as_ref()).await?;
        Ok(MountKey(key))
    }

    async fn read(view: &StorageView) -> Result<Option<MountKey>, EngineError> {
        let Some(raw) = view.get(HMAC_KEY).await? else {
            return Ok(None);
        };
        let bytes: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| EngineError::Corrupt("approle hmac-key".into()))?;
        Ok(Some(MountKey(Zeroizing::new(bytes))))
    }

    fn hash(&self, parts: &[&[u8]]) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_ref()) else {
            // A 32-byte key is always accepted.
            return String::new();
        };
        for part in parts {
            mac.update(part);
        }
        hex::encode(mac.finalize().into_bytes())
    }
}

const HMAC_KEY: &str = "hmac-key";

fn secret_folder(uid: &str) -> String {
    format!("secret-id/{uid}/")
}

fn accessor_key(accessor: &str) -> String {
    format!("accessor/{accessor}")
}

async fn get_json<T: DeserializeOwned>(
    view: &StorageView,
    key: &str,
) -> Result<Option<T>, EngineError> {
    match view.get(key).await? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| EngineError::Corrupt(format!("{key}: {e}"))),
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, EngineError> {
    serde_json::to_vec(value).map_err(|e| EngineError::Corrupt(e.to_string()))
}

async fn load_role(view: &StorageView, name: &str) -> Result<Option<Role>, EngineError> {
    get_json(view, &role_key(name)).await
}

/// The role for a write on one of its sub-paths.
async fn existing_role(view: &StorageView, name: &str) -> Result<Role, EngineError> {
    load_role(view, name)
        .await?
        .ok_or_else(|| EngineError::Invalid(format!("role {name:?} does not exist")))
}

/// Stores `role` (and its role-id index when the role id is new), after the checks every
/// stored role passes. `previous_role_id` is the stored role's id, `None` for a new role.
/// The caller holds the role lock and, when the role id changes, the role-id lock.
async fn save_role(
    ctx: &MountContext,
    name: &str,
    role: &Role,
    previous_role_id: Option<&str>,
) -> Result<(), EngineError> {
    if !role.has_constraint() {
        return Err(EngineError::Invalid(
            "at least one constraint should be enabled on the role".into(),
        ));
    }
    if ctx.max_lease_ttl > 0 && role.token.period > ctx.max_lease_ttl {
        return Err(EngineError::Invalid(format!(
            "token_period of {}s is greater than the mount's maximum lease TTL of {}s",
            role.token.period, ctx.max_lease_ttl
        )));
    }
    let mut ops = vec![BarrierOp::put(role_key(name), to_json(role)?)];
    if previous_role_id != Some(role.role_id.as_str()) {
        let key = MountKey::load(&ctx.view).await?;
        let index = role_id_key(&key, &role.role_id);
        if let Some(owner) = get_json::<RoleIdEntry>(&ctx.view, &index).await? {
            if owner.name != name {
                return Err(EngineError::Invalid("role_id already in use".into()));
            }
        }
        let entry = RoleIdEntry {
            name: name.to_string(),
        };
        ops.push(BarrierOp::put(index, to_json(&entry)?));
        if let Some(previous) = previous_role_id {
            ops.push(BarrierOp::delete(role_id_key(&key, previous)));
        }
    }
    ctx.view.write_batch(ops).await?;
    Ok(())
}

// --- Locks ---

/// Takes the async lock `key` (a role name or [`ROLE_ID_LOCK`]) of the mount.
async fn lock(ctx: &MountContext, key: &str) -> OwnedMutexGuard<()> {
    crate::engines::item_lock::lock_item(&ctx.accessor, key).await
}

// --- Roles ---

async fn list_roles(ctx: &MountContext) -> Result<EngineResponse, EngineError> {
    crate::engines::list_items(&ctx.view, "role/").await
}

async fn read_role(ctx: &MountContext, name: &str) -> Result<EngineResponse, EngineError> {
    let role = load_role(&ctx.view, name)
        .await?
        .ok_or(EngineError::NotFound)?;
    Ok(EngineResponse::data(role.wire()))
}

async fn write_role(
    req: &CredentialRequest<'_>,
    name: &str,
) -> Result<EngineResponse, EngineError> {
    let (ctx, data) = (req.ctx, req.data);
    let _role_lock = lock(ctx, name).await;
    let _index_lock = lock(ctx, ROLE_ID_LOCK).await;
    let stored = load_role(&ctx.view, name).await?;
    let creating = stored.is_none();
    let mut role = match stored {
        Some(role) => role,
        None => Role::new()?,
    };
    let previous_role_id = (!creating).then(|| role.role_id.clone());

    role.token = role.token.updated(data)?;
    if let Some(bind) = opt_bool(data, "bind_secret_id").map_err(field_err)? {
        role.bind_secret_id = bind;
    }
    if let Some(cidrs) = secret_id_bound_cidrs(data)? {
        role.secret_id_bound_cidrs = cidrs;
    }
    if let Some(uses) = opt_u64(data, "secret_id_num_uses").map_err(field_err)? {
        role.secret_id_num_uses = uses;
    }
    if let Some(ttl) = duration(data, "secret_id_ttl")? {
        role.secret_id_ttl = ttl;
    }
    if let Some(local) = opt_bool(data, "local_secret_ids").map_err(field_err)? {
        if creating {
            role.local_secret_ids = local;
        } else if local != role.local_secret_ids {
            return Err(EngineError::Invalid(
                "local_secret_ids can only be modified during role creation".into(),
            ));
        }
    }
    if let Some(role_id) = role_id_field(data)? {
        role.role_id = role_id;
    }

    save_role(ctx, name, &role, previous_role_id.as_deref()).await?;
    let mut response = EngineResponse::empty();
    if ctx.max_lease_ttl > 0 && role.token.max_ttl > ctx.max_lease_ttl {
        response.warnings.push(
            "token_max_ttl is greater than the mount's maximum TTL; issued tokens' max TTL \
             will be truncated"
                .into(),
        );
    }
    Ok(response)
}

/// Deletes the role, its secret ids and their accessors, and its role-id index (204 also
/// for an unknown role).
async fn delete_role(ctx: &MountContext, name: &str) -> Result<EngineResponse, EngineError> {
    let _role_lock = lock(ctx, name).await;
    let _index_lock = lock(ctx, ROLE_ID_LOCK).await;
    let Some(role) = load_role(&ctx.view, name).await? else {
        return Ok(EngineResponse::empty());
    };
    let folder = secret_folder(&role.uid);
    let hashes = ctx.view.list(&folder).await?;
    for chunk in hashes.chunks(256) {
        let mut ops = Vec::with_capacity(chunk.len() * 2);
        for hash in chunk.iter().filter(|h| !h.ends_with('/')) {
            let key = format!("{folder}{hash}");
            match get_json::<SecretIdEntry>(&ctx.view, &key).await {
                Ok(Some(entry)) => ops.push(BarrierOp::delete(accessor_key(&entry.accessor))),
                // An undecodable entry is deleted all the same.
                Ok(None) | Err(EngineError::Corrupt(_)) => {}
                Err(e) => return Err(e),
            }
            ops.push(BarrierOp::delete(key));
        }
        if !ops.is_empty() {
            ctx.view.write_batch(ops).await?;
        }
    }
    let key = MountKey::load(&ctx.view).await?;
    ctx.view
        .write_batch(vec![
            BarrierOp::delete(role_id_key(&key, &role.role_id)),
            BarrierOp::delete(role_key(name)),
        ])
        .await?;
    Ok(EngineResponse::empty())
}

async fn read_role_id(ctx: &MountContext, name: &str) -> Result<EngineResponse, EngineError> {
    let role = load_role(&ctx.view, name)
        .await?
        .ok_or(EngineError::NotFound)?;
    Ok(EngineResponse::data(json!({ "role_id": role.role_id })))
}

async fn write_role_id(
    req: &CredentialRequest<'_>,
    name: &str,
) -> Result<EngineResponse, EngineError> {
    let ctx = req.ctx;
    let role_id =
        role_id_field(req.data)?.ok_or_else(|| EngineError::Invalid("missing role_id".into()))?;
    let _role_lock = lock(ctx, name).await;
    let _index_lock = lock(ctx, ROLE_ID_LOCK).await;
    let mut role = existing_role(&ctx.view, name).await?;
    let previous = std::mem::replace(&mut role.role_id, role_id);
    save_role(ctx, name, &role, Some(&previous)).await?;
    Ok(EngineResponse::empty())
}

/// A `role_id` given by the client: trimmed (login trims), non-empty, at most 4096 bytes.
fn role_id_field(data: &Map<String, Value>) -> Result<Option<String>, EngineError> {
    let Some(raw) = opt_string(data, "role_id").map_err(field_err)? else {
        return Ok(None);
    };
    let role_id = raw.trim();
    if role_id.is_empty() || role_id.len() > MAX_LEN {
        return Err(EngineError::Invalid(format!(
            "invalid role_id: it must be 1 to {MAX_LEN} bytes"
        )));
    }
    Ok(Some(role_id.to_string()))
}

fn secret_id_bound_cidrs(data: &Map<String, Value>) -> Result<Option<Vec<Cidr>>, EngineError> {
    match opt_cidrs(data, "secret_id_bound_cidrs")? {
        Some(cidrs) => Ok(Some(cidrs)),
        None => opt_cidrs(data, "bound_cidr_list"),
    }
}

// --- Single-field sub-paths ---

async fn read_field(
    ctx: &MountContext,
    name: &str,
    field: Field,
) -> Result<EngineResponse, EngineError> {
    let role = load_role(&ctx.view, name)
        .await?
        .ok_or(EngineError::NotFound)?;
    let t = &role.token;
    let data = match field {
        Field::Policies => json!({ "token_policies": t.policies, "policies": t.policies }),
        Field::SecretIdNumUses => json!({ "secret_id_num_uses": role.secret_id_num_uses }),
        Field::SecretIdTtl => json!({ "secret_id_ttl": role.secret_id_ttl }),
        Field::TokenTtl => json!({ "token_ttl": t.ttl }),
        Field::TokenMaxTtl => json!({ "token_max_ttl": t.max_ttl }),
        Field::TokenNumUses => json!({ "token_num_uses": t.num_uses }),
        Field::BindSecretId => json!({ "bind_secret_id": role.bind_secret_id }),
        Field::SecretIdBoundCidrs => {
            json!({ "secret_id_bound_cidrs": optional_cidrs(&role.secret_id_bound_cidrs) })
        }
        Field::TokenBoundCidrs => json!({ "token_bound_cidrs": cidr_strings(&t.bound_cidrs) }),
        Field::Period => json!({ "token_period": t.period, "period": t.period }),
    };
    Ok(EngineResponse::data(data))
}

async fn write_field(
    req: &CredentialRequest<'_>,
    name: &str,
    field: Field,
) -> Result<EngineResponse, EngineError> {
    let ctx = req.ctx;
    // Only this sub-path's own fields count; anything else in the body is ignored.
    let given: Map<String, Value> = field
        .names()
        .iter()
        .filter_map(|n| req.data.get_key_value(*n))
        .filter(|(_, v)| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if given.is_empty() {
        return Err(EngineError::Invalid(format!(
            "missing {}",
            field.names()[0]
        )));
    }
    let _role_lock = lock(ctx, name).await;
    let mut role = existing_role(&ctx.view, name).await?;
    let missing = || EngineError::Invalid(format!("missing {}", field.names()[0]));
    match field {
        Field::Policies
        | Field::TokenTtl
        | Field::TokenMaxTtl
        | Field::TokenNumUses
        | Field::TokenBoundCidrs
        | Field::Period => role.token = role.token.updated(&given)?,
        Field::SecretIdNumUses => {
            role.secret_id_num_uses = opt_u64(&given, "secret_id_num_uses")
                .map_err(field_err)?
                .ok_or_else(missing)?;
        }
        Field::SecretIdTtl => {
            role.secret_id_ttl = duration(&given, "secret_id_ttl")?.ok_or_else(missing)?;
        }
        Field::BindSecretId => {
            role.bind_secret_id = opt_bool(&given, "bind_secret_id")
                .map_err(field_err)?
                .ok_or_else(missing)?;
        }
        Field::SecretIdBoundCidrs => {
            role.secret_id_bound_cidrs = secret_id_bound_cidrs(&given)?.ok_or_else(missing)?;
        }
    }
    save_role(ctx, name, &role, Some(&role.role_id)).await?;
    Ok(EngineResponse::empty())
}

/// DELETE on a field sub-path: back to its default (204 also for an unknown role).
async fn reset_field(
    ctx: &MountContext,
    name: &str,
    field: Field,
) -> Result<EngineResponse, EngineError> {
    let _role_lock = lock(ctx, name).await;
    let Some(mut role) = load_role(&ctx.view, name).await? else {
        return Ok(EngineResponse::empty());
    };
    match field {
        Field::Policies => role.token.policies.clear(),
        Field::SecretIdNumUses => role.secret_id_num_uses = 0,
        Field::SecretIdTtl => role.secret_id_ttl = 0,
        Field::TokenTtl => role.token.ttl = 0,
        Field::TokenMaxTtl => role.token.max_ttl = 0,
        Field::TokenNumUses => role.token.num_uses = 0,
        Field::BindSecretId => role.bind_secret_id = true,
        Field::SecretIdBoundCidrs => role.secret_id_bound_cidrs.clear(),
        Field::TokenBoundCidrs => role.token.bound_cidrs.clear(),
        Field::Period => role.token.period = 0,
    }
    save_role(ctx, name, &role, Some(&role.role_id)).await?;
    Ok(EngineResponse::empty())
}

// --- Secret ids ---

/// `secret-id` (a fresh id) and `custom-secret-id` (`custom`).
async fn create_secret_id(
    req: &CredentialRequest<'_>,
    name: &str,
    custom: Option<SecretId>,
) -> Result<EngineResponse, EngineError> {
    let (ctx, data) = (req.ctx, req.data);
    let secret = match custom {
        Some(secret) => secret,
        None => SecretId::generate()?,
    };
    let _role_lock = lock(ctx, name).await;
    let role = existing_role(&ctx.view, name).await?;
    if !role.bind_secret_id {
        return Err(EngineError::Invalid(
            "bind_secret_id is not set on the role".into(),
        ));
    }
    let cidr_list = opt_cidrs(data, "cidr_list")?.unwrap_or_default();
    if !cidrs_within(&cidr_list, &role.secret_id_bound_cidrs) {
        return Err(EngineError::Invalid(
            "cidr_list must be within the role's secret_id_bound_cidrs".into(),
        ));
    }
    let token_bound_cidrs = opt_cidrs(data, "token_bound_cidrs")?.unwrap_or_default();
    if !cidrs_within(&token_bound_cidrs, &role.token.bound_cidrs) {
        return Err(EngineError::Invalid(
            "token_bound_cidrs must be within the role's token_bound_cidrs".into(),
        ));
    }
    let num_uses = match opt_u64(data, "num_uses").map_err(field_err)? {
        None => role.secret_id_num_uses,
        Some(n) if role.secret_id_num_uses > 0 && (n == 0 || n > role.secret_id_num_uses) => {
            return Err(EngineError::Invalid(
                "num_uses cannot be higher than the role's secret_id_num_uses".into(),
            ))
        }
        Some(n) => n,
    };
    let ttl = match duration(data, "ttl")? {
        None => role.secret_id_ttl,
        Some(t) if role.secret_id_ttl > 0 && (t == 0 || t > role.secret_id_ttl) => {
            return Err(EngineError::Invalid(
                "ttl cannot be longer than the role's secret_id_ttl".into(),
            ))
        }
        Some(t) => t,
    };
    // As Vault: a secret id lives no longer than the mount's maximum lease TTL.
    let ttl = if ctx.max_lease_ttl > 0 {
        ttl.min(ctx.max_lease_ttl)
    } else {
        ttl
    };
    let metadata = parse_metadata(data)?;

    let hash = secret.hash(&MountKey::load(&ctx.view).await?, &role.uid);
    let key = format!("{}{hash}", secret_folder(&role.uid));
    if ctx.view.get(&key).await?.is_some() {
        return Err(EngineError::Invalid(
            "secret_id is already registered".into(),
        ));
    }
    let accessor = random_uuid()?.to_string();
    let now = now_nanos();
    let entry = SecretIdEntry {
        accessor: accessor.clone(),
        cidr_list,
        token_bound_cidrs,
        metadata,
        num_uses,
        ttl,
        created: now,
        updated: now,
        expires: (ttl > 0).then(|| now.saturating_add(seconds_to_nanos(ttl))),
    };
    let index = AccessorEntry {
        uid: role.uid.clone(),
        hash,
    };
    ctx.view
        .write_batch(vec![
            BarrierOp::put(key, to_json(&entry)?),
            BarrierOp::put(accessor_key(&accessor), to_json(&index)?),
        ])
        .await?;
    Ok(EngineResponse::data(json!({
        "secret_id": secret.expose(),
        "secret_id_accessor": accessor,
        "secret_id_num_uses": num_uses,
        "secret_id_ttl": ttl,
    })))
}

/// Secret-id metadata: an object of strings, or a string holding a JSON object of strings
/// (what the CLI and hvac send), or `k=v,k2=v2`.
fn parse_metadata(data: &Map<String, Value>) -> Result<BTreeMap<String, String>, EngineError> {
    let bad = |why: &str| EngineError::Invalid(format!("failed to parse metadata: {why}"));
    let strings = |map: &Map<String, Value>| {
        map.iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(bad("values must be strings")),
            })
            .collect()
    };
    match data.get("metadata") {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => strings(map),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(BTreeMap::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => strings(&map),
            Ok(_) => Err(bad("expected a JSON object of strings")),
            Err(_) => s
                .split(',')
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) if !k.trim().is_empty() => {
                        Ok((k.trim().to_string(), v.trim().to_string()))
                    }
                    _ => Err(bad("expected a JSON object or key=value pairs")),
                })
                .collect(),
        },
        Some(_) => Err(bad("expected a JSON object of strings")),
    }
}

/// The secret-id entry `hash` of the role `uid`, if present and not expired; an expired
/// one is deleted with its accessor. The caller holds the role lock.
async fn live_entry(
    view: &StorageView,
    uid: &str,
    hash: &str,
) -> Result<Option<SecretIdEntry>, EngineError> {
    let key = format!("{}{hash}", secret_folder(uid));
    let Some(entry) = get_json::<SecretIdEntry>(view, &key).await? else {
        return Ok(None);
    };
    if entry.expired(now_nanos()) {
        remove_entry(view, uid, hash, &entry.accessor).await?;
        return Ok(None);
    }
    Ok(Some(entry))
}

async fn remove_entry(
    view: &StorageView,
    uid: &str,
    hash: &str,
    accessor: &str,
) -> Result<(), EngineError> {
    view.write_batch(vec![
        BarrierOp::delete(format!("{}{hash}", secret_folder(uid))),
        BarrierOp::delete(accessor_key(accessor)),
    ])
    .await?;
    Ok(())
}

async fn list_secret_ids(ctx: &MountContext, name: &str) -> Result<EngineResponse, EngineError> {
    let _role_lock = lock(ctx, name).await;
    let role = existing_role(&ctx.view, name).await?;
    let mut keys = Vec::new();
    for hash in ctx.view.list(&secret_folder(&role.uid)).await? {
        if hash.ends_with('/') {
            continue;
        }
        if let Some(entry) = live_entry(&ctx.view, &role.uid, &hash).await? {
            keys.push(entry.accessor);
        }
    }
    keys.sort();
    crate::engines::keys_response(keys)
}

fn required_secret_id(data: &Map<String, Value>) -> Result<SecretId, EngineError> {
    SecretId::from_field(data)?.ok_or_else(|| EngineError::Invalid("missing secret_id".into()))
}

/// `secret-id/lookup`: the entry's properties (204 when there is no such secret id).
async fn lookup_secret_id(
    req: &CredentialRequest<'_>,
    name: &str,
) -> Result<EngineResponse, EngineError> {
    let secret = required_secret_id(req.data)?;
    let _role_lock = lock(req.ctx, name).await;
    let role = existing_role(&req.ctx.view, name).await?;
    let key = MountKey::load(&req.ctx.view).await?;
    let entry = live_entry(&req.ctx.view, &role.uid, &secret.hash(&key, &role.uid)).await?;
    Ok(entry.map_or_else(EngineResponse::empty, |e| EngineResponse::data(e.wire())))
}

/// `secret-id/destroy`: 204 whether or not the secret id existed.
async fn destroy_secret_id(
    req: &CredentialRequest<'_>,
    name: &str,
) -> Result<EngineResponse, EngineError> {
    let secret = required_secret_id(req.data)?;
    let _role_lock = lock(req.ctx, name).await;
    let role = existing_role(&req.ctx.view, name).await?;
    let hash = secret.hash(&MountKey::load(&req.ctx.view).await?, &role.uid);
    let key = format!("{}{hash}", secret_folder(&role.uid));
    if let Some(entry) = get_json::<SecretIdEntry>(&req.ctx.view, &key).await? {
        remove_entry(&req.ctx.view, &role.uid, &hash, &entry.accessor).await?;
    }
    Ok(EngineResponse::empty())
}

/// The hash of the role's secret id behind the request's `secret_id_accessor`, with the
/// live entry; `None` when the accessor is unknown, another role's, or its id is gone.
async fn entry_by_accessor(
    req: &CredentialRequest<'_>,
    role: &Role,
) -> Result<Option<(String, SecretIdEntry)>, EngineError> {
    let accessor = opt_string(req.data, "secret_id_accessor")
        .map_err(field_err)?
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .ok_or_else(|| EngineError::Invalid("missing secret_id_accessor".into()))?;
    // Accessors are UUIDs; anything else names nothing (and never reaches a storage key).
    if uuid::Uuid::try_parse(&accessor).is_err() || accessor.len() != 36 {
        return Ok(None);
    }
    let view = &req.ctx.view;
    let key = accessor_key(&accessor);
    let Some(index) = get_json::<AccessorEntry>(view, &key).await? else {
        return Ok(None);
    };
    if index.uid != role.uid {
        return Ok(None);
    }
    match live_entry(view, &role.uid, &index.hash).await? {
        Some(entry) => Ok(Some((index.hash, entry))),
        None => {
            // A dangling accessor (its secret id expired or vanished).
            view.delete(&key).await?;
            Ok(None)
        }
    }
}

async fn lookup_accessor(
    req: &CredentialRequest<'_>,
    name: &str,
) -> Result<EngineResponse, EngineError> {
    let _role_lock = lock(req.ctx, name).await;
    let role = existing_role(&req.ctx.view, name).await?;
    let (_, entry) = entry_by_accessor(req, &role)
        .await?
        .ok_or(EngineError::NotFound)?;
    Ok(EngineResponse::data(entry.wire()))
}

async fn destroy_accessor(
    req: &CredentialRequest<'_>,
    name: &str,
) -> Result<EngineResponse, EngineError> {
    let _role_lock = lock(req.ctx, name).await;
    let role = existing_role(&req.ctx.view, name).await?;
    let (hash, entry) = entry_by_accessor(req, &role)
        .await?
        .ok_or(EngineError::NotFound)?;
    remove_entry(&req.ctx.view, &role.uid, &hash, &entry.accessor).await?;
    Ok(EngineResponse::empty())
}

// --- Login ---

fn login_failed() -> EngineError {
    EngineError::LoginFailed(LOGIN_FAILED)
}

/// `login`: checks the role id, the secret id (when the role binds one) and the CIDR
/// bindings, consumes one use of the secret id, and grants the role's token.
async fn login(req: &CredentialRequest<'_>) -> Result<LoginGrant, EngineError> {
    let (ctx, data) = (req.ctx, req.data);
    let role_id = opt_string(data, "role_id")
        .map_err(field_err)?
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| EngineError::Invalid("missing role_id".into()))?;
    let secret = SecretId::from_field(data)?;

    let key = MountKey::load(&ctx.view).await?;
    let index = get_json::<RoleIdEntry>(&ctx.view, &role_id_key(&key, &role_id))
        .await?
        .ok_or_else(login_failed)?;
    let name = index.name;
    let _role_lock = lock(ctx, &name).await;
    // Re-read under the lock: the role or its id may have changed since the index read.
    let role = load_role(&ctx.view, &name)
        .await?
        .filter(|r| r.role_id == role_id)
        .ok_or_else(login_failed)?;

    let mut metadata = BTreeMap::new();
    let mut token = role.token.clone();
    if role.bind_secret_id {
        let secret = secret.ok_or_else(|| EngineError::Invalid("missing secret_id".into()))?;
        let hash = secret.hash(&key, &role.uid);
        let mut entry = live_entry(&ctx.view, &role.uid, &hash)
            .await?
            .ok_or_else(login_failed)?;
        let allowed = cidrs_within(&entry.cidr_list, &role.secret_id_bound_cidrs)
            && cidrs_allow(&entry.cidr_list, req.remote_addr)
            && cidrs_allow(&role.secret_id_bound_cidrs, req.remote_addr);
        if !allowed {
            return Err(login_failed());
        }
        // Every check passed: consume one use.
        match entry.num_uses {
            0 => {}
            1 => remove_entry(&ctx.view, &role.uid, &hash, &entry.accessor).await?,
            _ => {
                entry.num_uses -= 1;
                entry.updated = now_nanos();
                let key = format!("{}{hash}", secret_folder(&role.uid));
                ctx.view.put(&key, &to_json(&entry)?).await?;
            }
        }
        if !entry.token_bound_cidrs.is_empty() {
            token.bound_cidrs = std::mem::take(&mut entry.token_bound_cidrs);
        }
        metadata = std::mem::take(&mut entry.metadata);
    } else if !cidrs_allow(&role.secret_id_bound_cidrs, req.remote_addr) {
        return Err(login_failed());
    }
    metadata.insert("role_name".to_string(), name.clone());
    Ok(LoginGrant {
        principal: name,
        login_path: "login".into(),
        metadata,
        token,
    })
}

// --- Small helpers ---

fn field_err(e: FieldError) -> EngineError {
    EngineError::Invalid(e.0)
}

fn duration(data: &Map<String, Value>, name: &str) -> Result<Option<u64>, EngineError> {
    token_fields::duration(data, &[name])
}

/// Whether every block of `inner` lies inside a block of `outer` (an empty `outer`
/// constrains nothing).
fn cidrs_within(inner: &[Cidr], outer: &[Cidr]) -> bool {
    outer.is_empty()
        || inner.iter().all(|i| {
            outer.iter().any(|o| {
                o.addr.is_ipv4() == i.addr.is_ipv4() && o.prefix <= i.prefix && o.contains(i.addr)
            })
        })
}

fn cidr_strings(cidrs: &[Cidr]) -> Vec<String> {
    cidrs.iter().map(Cidr::to_string).collect()
}

/// `null` for none (as Vault reports an unset `secret_id_bound_cidrs`), else the list.
fn optional_cidrs(cidrs: &[Cidr]) -> Value {
    if cidrs.is_empty() {
        Value::Null
    } else {
        json!(cidr_strings(cidrs))
    }
}

fn now_nanos() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

fn seconds_to_nanos(secs: u64) -> i64 {
    i64::try_from(secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000_000)
}

fn rfc3339(nanos: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;
    use tokio::runtime::Runtime;

    use super::*;
    use Operation::{Delete, List, Read, Update};

    /// A mount over an in-memory barrier, driven synchronously (each test owns a runtime).
    struct H {
        rt: Runtime,
        c: MountContext,
    }

    fn harness(max_lease_ttl: u64) -> H {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap();
        let c = MountContext {
            // Unique per test: the lock table is process-wide.
            accessor: format!("auth_approle_{}", random_uuid().unwrap().as_str()),
            max_lease_ttl,
            ..rt.block_on(MountContext::for_test(
                "auth/approletest/",
                "auth/approle/",
                "",
            ))
        };
        H { rt, c }
    }

    fn h() -> H {
        harness(2_764_800)
    }

    fn req<'a>(
        c: &'a MountContext,
        operation: Operation,
        path: &'a str,
        data: &'a Map<String, Value>,
        remote_addr: Option<std::net::IpAddr>,
    ) -> CredentialRequest<'a> {
        CredentialRequest {
            operation,
            path,
            data,
            ctx: c,
            remote_addr,
            client_certs: None,
        }
    }

    impl H {
        fn run(&self, op: Operation, path: &str, body: Value, addr: Option<&str>) -> Answer {
            let data = body.as_object().cloned().unwrap_or_default();
            let addr = addr.map(|a| a.parse().unwrap());
            self.rt
                .block_on(handle(&req(&self.c, op, path, &data, addr)))
        }

        fn call(&self, op: Operation, path: &str, body: Value) -> Result<Value, EngineError> {
            match self.run(op, path, body, None)? {
                CredentialResponse::Engine(r) => Ok(r.data.unwrap_or(Value::Null)),
                CredentialResponse::Login(_) => panic!("unexpected login grant"),
            }
        }

        /// Must succeed: its `data` (`Null` for a 204).
        fn ok(&self, op: Operation, path: &str, body: Value) -> Value {
            self.call(op, path, body).unwrap()
        }

        fn read(&self, path: &str) -> Value {
            self.ok(Read, path, json!({}))
        }

        fn list(&self, path: &str) -> Value {
            self.ok(List, path, json!({}))
        }

        fn write(&self, path: &str, body: Value) -> Value {
            self.ok(Update, path, body)
        }

        fn delete(&self, path: &str) -> Value {
            self.ok(Delete, path, json!({}))
        }

        fn err(&self, op: Operation, path: &str, body: Value) -> EngineError {
            self.call(op, path, body).unwrap_err()
        }

        /// The call must fail with a 400 whose message contains `needle`.
        fn invalid(&self, op: Operation, path: &str, body: Value, needle: &str) {
            let e = self.err(op, path, body);
            let found = matches!(&e, EngineError::Invalid(m) if m.contains(needle));
            assert!(found, "{path}: {e:?} lacks {needle:?}");
        }

        fn not_found(&self, op: Operation, path: &str, body: Value) {
            let e = self.err(op, path, body);
            assert!(matches!(e, EngineError::NotFound), "{path}: {e:?}");
        }

        fn login_at(&self, rid: &str, secret: Option<&str>, addr: Option<&str>) -> Grant {
            let mut body = json!({ "role_id": rid });
            if let Some(s) = secret {
                body["secret_id"] = json!(s);
            }
            match self.run(Update, "login", body, addr)? {
                CredentialResponse::Login(g) => Ok(g),
                CredentialResponse::Engine(_) => panic!("login answered no grant"),
            }
        }

        fn login(&self, rid: &str, secret: &str) -> Grant {
            self.login_at(rid, Some(secret), None)
        }

        /// The login must fail with the one login error.
        fn fails(&self, rid: &str, secret: Option<&str>, addr: Option<&str>) {
            let e = self.login_at(rid, secret, addr).unwrap_err();
            assert!(matches!(e, EngineError::LoginFailed(LOGIN_FAILED)), "{e:?}");
            assert_eq!(e.to_string(), "invalid role or secret ID");
        }

        fn role_id(&self, name: &str) -> String {
            let d = self.read(&format!("role/{name}/role-id"));
            d["role_id"].as_str().unwrap().to_string()
        }

        /// A new secret id of `name`: (secret id, accessor).
        fn secret(&self, name: &str, body: Value) -> (String, String) {
            let d = self.write(&format!("role/{name}/secret-id"), body);
            let s = d["secret_id"].as_str().unwrap().to_string();
            (s, d["secret_id_accessor"].as_str().unwrap().to_string())
        }

        /// The `secret_id_ttl` a new secret id of `name` gets.
        fn secret_ttl(&self, name: &str) -> Value {
            self.write(&format!("role/{name}/secret-id"), json!({}))["secret_id_ttl"].clone()
        }

        fn lookup(&self, name: &str, secret_id: &str) -> Value {
            let body = json!({ "secret_id": secret_id });
            self.write(&format!("role/{name}/secret-id/lookup"), body)
        }

        fn has(&self, key: &str) -> bool {
            self.rt.block_on(self.c.view.get(key)).unwrap().is_some()
        }

        /// Every key under the view, recursively.
        fn keys(&self) -> Vec<String> {
            let (mut out, mut stack) = (Vec::new(), vec![String::new()]);
            while let Some(dir) = stack.pop() {
                for name in self.rt.block_on(self.c.view.list(&dir)).unwrap() {
                    let full = format!("{dir}{name}");
                    if name.ends_with('/') {
                        stack.push(full);
                    } else {
                        out.push(full);
                    }
                }
            }
            out
        }

        /// Moves every secret id of `name` past its expiry.
        fn expire_all(&self, name: &str) {
            let view = &self.c.view;
            self.rt.block_on(async {
                let role = load_role(view, name).await.unwrap().unwrap();
                let folder = secret_folder(&role.uid);
                for hash in view.list(&folder).await.unwrap() {
                    let key = format!("{folder}{hash}");
                    let mut e: SecretIdEntry = get_json(view, &key).await.unwrap().unwrap();
                    e.expires = Some(now_nanos() - 1);
                    view.put(&key, &to_json(&e).unwrap()).await.unwrap();
                }
            });
        }
    }

    type Answer = Result<CredentialResponse, EngineError>;
    type Grant = Result<LoginGrant, EngineError>;

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| Cidr::parse(c).unwrap()).collect()
    }

    fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn uuid_version(text: &Value) -> usize {
        uuid::Uuid::parse_str(text.as_str().unwrap())
            .unwrap()
            .get_version_num()
    }

    /// `(data[a], data[b])`, for compact assertions.
    fn pair(data: &Value, a: &str, b: &str) -> (Value, Value) {
        (data[a].clone(), data[b].clone())
    }

    #[test]
    fn role_crud_and_read_shape() {
        let h = h();
        let b = json!({"token_policies": "app", "token_ttl": "20m", "token_max_ttl": 3600,
                       "secret_id_num_uses": 2, "secret_id_ttl": "10m"});
        assert_eq!(h.write("role/Web", b), Value::Null);
        let expected = json!({"bind_secret_id": true, "local_secret_ids": false,
            "secret_id_bound_cidrs": null, "secret_id_num_uses": 2, "secret_id_ttl": 600,
            "token_bound_cidrs": [], "token_explicit_max_ttl": 0, "token_max_ttl": 3600,
            "token_no_default_policy": false, "token_num_uses": 0, "token_period": 0,
            "token_policies": ["app"], "token_strictly_bind_ip": false, "token_ttl": 1200,
            "token_type": "default"});
        assert_eq!(h.read("role/web"), expected);
        // An update changes only what it names.
        let b = json!({"token_ttl": 60, "secret_id_bound_cidrs": "10.0.0.0/8"});
        h.write("role/web", b);
        let read = h.read("role/WEB");
        let want = (json!(60), json!(2));
        assert_eq!(pair(&read, "token_ttl", "secret_id_num_uses"), want);
        assert_eq!(read["secret_id_bound_cidrs"], json!(["10.0.0.0/8"]));
        let b = json!({"local_secret_ids": true});
        let msg = "only be modified during role creation";
        h.invalid(Update, "role/web", b, msg);

        h.write("role/db", json!({"local_secret_ids": true}));
        assert_eq!(h.read("role/db")["local_secret_ids"], true);
        let both = json!({"keys": ["db", "web"]});
        assert_eq!(h.list("role/"), both);
        assert_eq!(h.list("role"), both);

        let data = Map::new();
        let cases = [
            ("role/web", Some(true)),
            ("role/nope", Some(false)),
            ("login", None),
        ];
        for (path, want) in cases {
            let r = req(&h.c, Update, path, &data, None);
            assert_eq!(h.rt.block_on(exists(&r)).unwrap(), want, "{path}");
        }

        assert_eq!(h.delete("role/web"), Value::Null);
        h.not_found(Read, "role/web", json!({}));
        assert_eq!(h.delete("role/web"), Value::Null);
        h.delete("role/db");
        h.not_found(List, "role/", json!({}));
    }

    #[test]
    fn names_paths_and_verbs() {
        let h = h();
        h.write("role/ Mixed.Case_1 ", json!({}));
        assert_eq!(h.list("role/"), json!({"keys": ["mixed.case_1"]}));
        let long = "a".repeat(MAX_LEN + 1);
        for bad in ["bad name", "-x", "x.", ".", "..", "a*b", "ünï", &long] {
            let path = format!("role/{bad}");
            h.invalid(Update, &path, json!({}), "invalid role name");
        }
        h.write(&format!("role/{}", "b".repeat(MAX_LEN)), json!({}));

        let unknown = "nope roles/x role/x/bogus role/x/secret-id/bogus login/x";
        for path in unknown.split(' ') {
            let e = h.err(Update, path, json!({}));
            assert!(matches!(e, EngineError::UnsupportedPath), "{path}");
        }
        let wrong_verb = "read:login update:role/ read:role/ list:role/x/ patch:role/x \
                          delete:role/x/role-id read:role/x/secret-id \
                          read:role/x/secret-id/lookup list:role/x/custom-secret-id \
                          read:role/x/secret-id-accessor/destroy list:role/x/policies";
        for case in wrong_verb.split_whitespace() {
            let (op, path) = case.split_once(':').unwrap();
            let op = [Read, List, Update, Delete, Operation::Patch]
                .into_iter()
                .find(|o| o.as_str() == op)
                .unwrap();
            let e = h.run(op, path, json!({}), None).unwrap_err();
            assert!(
                matches!(e, EngineError::UnsupportedOperation),
                "{case}: {e:?}"
            );
        }
    }

    #[test]
    fn role_id_read_and_custom() {
        let h = h();
        h.not_found(Read, "role/web/role-id", json!({}));
        h.write("role/web", json!({}));
        let generated = h.role_id("web");
        assert_eq!(generated.len(), 36);
        assert_eq!(uuid_version(&json!(generated)), 4);
        let (s, _) = h.secret("web", json!({}));
        h.login(&generated, &s).unwrap();

        let custom = "custom/../web";
        h.write("role/web/role-id", json!({"role_id": " custom/../web "}));
        assert_eq!(h.role_id("web"), custom);
        h.fails(&generated, Some(&s), None);
        assert_eq!(h.login(custom, &s).unwrap().principal, "web");
        // Role updates keep the role id.
        h.write("role/web", json!({"token_ttl": 5}));
        assert_eq!(h.role_id("web"), custom);

        h.write("role/db", json!({}));
        let taken = json!({ "role_id": custom });
        let in_use = "role_id already in use";
        h.invalid(Update, "role/db/role-id", taken.clone(), in_use);
        h.invalid(Update, "role/x", taken.clone(), in_use);
        h.not_found(Read, "role/x", json!({}));
        h.invalid(Update, "role/db/role-id", json!({}), "missing role_id");
        let blank = json!({"role_id": " "});
        h.invalid(Update, "role/db/role-id", blank, "invalid role_id");
        let b = json!({"role_id": "z"});
        h.invalid(Update, "role/nope/role-id", b, "does not exist");

        // Deleting the role frees its role id.
        h.delete("role/web");
        h.write("role/db/role-id", taken);
        assert_eq!(h.role_id("db"), custom);
        assert_eq!(
            h.keys()
                .iter()
                .filter(|k| k.starts_with("role-id/"))
                .count(),
            1
        );
    }

    #[test]
    fn secret_id_generation_shape() {
        let h = harness(3600);
        h.invalid(Update, "role/nope/secret-id", json!({}), "does not exist");
        h.write(
            "role/web",
            json!({"secret_id_num_uses": 2, "secret_id_ttl": 600}),
        );
        let d = h.write("role/web/secret-id", json!({}));
        let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
        let want = [
            "secret_id",
            "secret_id_accessor",
            "secret_id_num_uses",
            "secret_id_ttl",
        ];
        assert_eq!(keys, want);
        assert_eq!(d["secret_id"].as_str().unwrap().len(), 36);
        assert_eq!(uuid_version(&d["secret_id"]), 4);
        assert_eq!(uuid_version(&d["secret_id_accessor"]), 4);
        let limits = |d: &Value| pair(d, "secret_id_num_uses", "secret_id_ttl");
        assert_eq!(limits(&d), (json!(2), json!(600)));
        assert_ne!(d["secret_id"], json!(h.secret("web", json!({})).0));

        // Per-id limits stay within the role's.
        let refused = json!([
            [{"num_uses": 3}, "num_uses cannot be higher"],
            [{"num_uses": 0}, "num_uses cannot be higher"],
            [{"ttl": "20m"}, "ttl cannot be longer"],
            [{"ttl": 0}, "ttl cannot be longer"],
            [{"metadata": "[1]"}, "failed to parse metadata"],
            [{"cidr_list": "nope"}, "invalid CIDR block"]
        ]);
        for case in refused.as_array().unwrap() {
            let msg = case[1].as_str().unwrap();
            h.invalid(Update, "role/web/secret-id", case[0].clone(), msg);
        }
        let d = h.write("role/web/secret-id", json!({"num_uses": 1, "ttl": "1m"}));
        assert_eq!(limits(&d), (json!(1), json!(60)));

        // Never longer than the mount's max lease TTL; 0 stays "never expires".
        h.write("role/long", json!({"secret_id_ttl": "10h"}));
        assert_eq!(h.secret_ttl("long"), 3600);
        h.write("role/forever", json!({}));
        assert_eq!(h.secret_ttl("forever"), 0);

        // Custom secret ids.
        let path = "role/forever/custom-secret-id";
        let d = h.write(path, json!({"secret_id": " my-own-secret "}));
        assert_eq!(d["secret_id"], "my-own-secret");
        let again = json!({"secret_id": "my-own-secret"});
        h.invalid(Update, path, again, "already registered");
        h.invalid(Update, path, json!({}), "missing secret_id");
        let rid = h.role_id("forever");
        assert_eq!(h.login(&rid, "my-own-secret").unwrap().principal, "forever");

        // No secret ids for a role that does not bind them.
        let b = json!({"bind_secret_id": false, "secret_id_bound_cidrs": "10.0.0.0/8"});
        h.write("role/open", b);
        let msg = "bind_secret_id is not set";
        h.invalid(Update, "role/open/secret-id", json!({}), msg);
    }

    #[test]
    fn lookup_reports_remaining_uses() {
        let h = h();
        h.write("role/web", json!({"secret_id_ttl": 600}));
        let b = json!({"metadata": "{\"env\":\"prod\"}", "cidr_list": "10.0.0.0/8", "num_uses": 2});
        let (s, acc) = h.secret("web", b);
        let d = h.lookup("web", &s);
        assert_eq!(d["cidr_list"], json!(["10.0.0.0/8"]));
        assert_eq!(d["metadata"], json!({"env": "prod"}));
        assert_eq!(d["secret_id_accessor"], acc.as_str());
        let limits = pair(&d, "secret_id_num_uses", "secret_id_ttl");
        assert_eq!(limits, (json!(2), json!(600)));
        assert_eq!(d["token_bound_cidrs"], json!([]));
        let time = |k: &str| OffsetDateTime::parse(d[k].as_str().unwrap(), &Rfc3339).unwrap();
        let lifetime = time("expiration_time") - time("creation_time");
        assert_eq!(lifetime, time::Duration::seconds(600));
        assert_eq!(time("last_updated_time"), time("creation_time"));

        let rid = h.role_id("web");
        h.login_at(&rid, Some(&s), Some("10.1.2.3")).unwrap();
        let d = h.lookup("web", &s);
        assert_eq!(d["secret_id_num_uses"], 1);
        let path = "role/web/secret-id-accessor/lookup";
        assert_eq!(h.write(path, json!({"secret_id_accessor": acc})), d);

        // Unknown things.
        let fresh = random_uuid().unwrap().to_string();
        assert_eq!(h.lookup("web", &fresh), Value::Null);
        for unknown in [fresh.as_str(), "../../role/web", "x"] {
            h.not_found(Update, path, json!({"secret_id_accessor": unknown}));
        }
        let missing = "missing secret_id";
        h.invalid(Update, "role/web/secret-id/lookup", json!({}), missing);
        h.invalid(Update, path, json!({}), "missing secret_id_accessor");
        let b = json!({"secret_id": s});
        h.invalid(Update, "role/nope/secret-id/lookup", b, "does not exist");
        // Another role's accessor names nothing here, nor does its secret id.
        h.write("role/db", json!({}));
        let b = json!({"secret_id_accessor": acc});
        h.not_found(Update, "role/db/secret-id-accessor/lookup", b);
        assert_eq!(h.lookup("db", &s), Value::Null);
    }

    #[test]
    fn list_accessors() {
        let h = h();
        h.invalid(List, "role/nope/secret-id/", json!({}), "does not exist");
        h.write("role/web", json!({}));
        h.not_found(List, "role/web/secret-id/", json!({}));
        let mut accessors: Vec<String> = (0..3).map(|_| h.secret("web", json!({})).1).collect();
        accessors.sort();
        let want = json!({ "keys": accessors });
        assert_eq!(h.list("role/web/secret-id/"), want);
        assert_eq!(h.list("role/web/secret-id"), want);
    }

    #[test]
    fn destroy_by_id_and_by_accessor() {
        let h = h();
        h.write("role/web", json!({}));
        let rid = h.role_id("web");
        let (s1, a1) = h.secret("web", json!({}));
        let (s2, _) = h.secret("web", json!({}));
        let (s3, a3) = h.secret("web", json!({}));

        let path = "role/web/secret-id/destroy";
        assert_eq!(h.write(path, json!({"secret_id": s1})), Value::Null);
        h.fails(&rid, Some(&s1), None);
        assert_eq!(h.lookup("web", &s1), Value::Null);
        assert!(!h.has(&accessor_key(&a1)));
        h.write(path, json!({"secret_id": s1})); // unknown: still 204
        h.ok(Delete, path, json!({"secret_id": s2}));
        h.fails(&rid, Some(&s2), None);
        h.invalid(Update, path, json!({}), "missing secret_id");

        let path = "role/web/secret-id-accessor/destroy";
        h.write(path, json!({"secret_id_accessor": a3}));
        h.fails(&rid, Some(&s3), None);
        h.not_found(Delete, path, json!({"secret_id_accessor": a3}));
        h.not_found(List, "role/web/secret-id/", json!({}));
        assert!(h.keys().iter().all(|k| !k.starts_with("accessor/")));
    }

    #[test]
    fn login_grant() {
        let h = h();
        let b = json!({"token_policies": "app,Web", "token_ttl": 1200, "token_max_ttl": "1h",
                       "token_num_uses": 5, "token_no_default_policy": true});
        h.write("role/Web", b);
        let rid = h.role_id("web");
        let b = json!({"metadata": {"env": "prod", "role_name": "spoof"},
                       "token_bound_cidrs": "127.0.0.1"});
        let (s, _) = h.secret("web", b);
        let (padded_rid, padded_s) = (format!("  {rid} "), format!(" {s}\n"));
        let g = h
            .login_at(&padded_rid, Some(&padded_s), Some("127.0.0.1"))
            .unwrap();
        assert_eq!(
            (g.principal.as_str(), g.login_path.as_str()),
            ("web", "login")
        );
        assert_eq!(g.metadata, meta(&[("env", "prod"), ("role_name", "web")]));
        assert_eq!(g.token.policies, ["app", "web"]);
        let t = &g.token;
        assert_eq!((t.ttl, t.max_ttl, t.num_uses), (1200, 3600, 5));
        assert!(g.token.no_default_policy);
        assert_eq!(g.token.bound_cidrs, cidrs(&["127.0.0.1/32"]));

        // Without per-id token CIDRs the role's (none here) apply; metadata is just the role.
        let (s, _) = h.secret("web", json!({}));
        let g = h.login(&rid, &s).unwrap();
        assert!(g.token.bound_cidrs.is_empty());
        assert_eq!(g.metadata, meta(&[("role_name", "web")]));
    }

    #[test]
    fn num_uses_are_used_up() {
        let h = h();
        h.write("role/web", json!({"secret_id_num_uses": 2}));
        let rid = h.role_id("web");
        let (s, acc) = h.secret("web", json!({}));
        h.login(&rid, &s).unwrap();
        h.login(&rid, &s).unwrap();
        h.fails(&rid, Some(&s), None);
        h.not_found(List, "role/web/secret-id/", json!({}));
        assert!(!h.has(&accessor_key(&acc)));
    }

    #[test]
    fn concurrent_logins_never_exceed_num_uses() {
        let h = h();
        h.write("role/web", json!({"secret_id_num_uses": 3}));
        let rid = h.role_id("web");
        let (s, _) = h.secret("web", json!({}));
        let body = json!({"role_id": rid, "secret_id": s});
        let data = body.as_object().cloned().unwrap();
        let wins = h.rt.block_on(async {
            let tasks: Vec<_> = (0..12)
                .map(|_| {
                    let (c, data) = (h.c.clone(), data.clone());
                    tokio::spawn(async move {
                        let r = req(&c, Update, "login", &data, None);
                        handle(&r).await.is_ok()
                    })
                })
                .collect();
            let mut wins = 0;
            for t in tasks {
                wins += usize::from(t.await.unwrap());
            }
            wins
        });
        assert_eq!(wins, 3);
    }

    #[test]
    fn expired_secret_ids_are_refused_and_deleted() {
        let h = h();
        h.write("role/web", json!({"secret_id_ttl": 600}));
        let rid = h.role_id("web");
        let (s1, a1) = h.secret("web", json!({}));
        let (s2, a2) = h.secret("web", json!({}));
        h.expire_all("web");
        h.fails(&rid, Some(&s1), None);
        assert!(!h.has(&accessor_key(&a1)));
        assert_eq!(h.lookup("web", &s2), Value::Null);
        assert!(!h.has(&accessor_key(&a2)));
        // A listing sweeps them too.
        h.secret("web", json!({}));
        h.expire_all("web");
        h.not_found(List, "role/web/secret-id/", json!({}));
        let gone = |k: &String| !k.starts_with("secret-id/") && !k.starts_with("accessor/");
        assert!(h.keys().iter().all(gone));
    }

    #[test]
    fn failures_look_alike_and_missing_fields_are_told() {
        let h = h();
        h.write("role/web", json!({}));
        let rid = h.role_id("web");
        let (s, _) = h.secret("web", json!({}));
        h.fails("no-such-role-id", Some(&s), None);
        h.fails(&rid, Some(&random_uuid().unwrap()), None);
        // Another role's secret id is wrong too.
        h.write("role/db", json!({}));
        let (other, _) = h.secret("db", json!({}));
        h.fails(&rid, Some(&other), None);

        let told = |r: Answer, m: &str| {
            let e = r.unwrap_err();
            assert!(matches!(e, EngineError::Invalid(ref x) if x == m), "{e:?}");
        };
        told(h.run(Update, "login", json!({}), None), "missing role_id");
        let b = json!({"role_id": "  ", "secret_id": s});
        told(h.run(Update, "login", b, None), "missing role_id");
        let no_secret = |s: Option<&str>| h.login_at(&rid, s, None).map(CredentialResponse::Login);
        told(no_secret(None), "missing secret_id");
        told(no_secret(Some(" ")), "missing secret_id");
        // An unknown role id is never told apart, even without a secret id.
        h.fails("no-such-role-id", None, None);
    }

    #[test]
    fn cidr_bindings() {
        let h = h();
        let b =
            json!({"secret_id_bound_cidrs": ["10.0.0.0/8"], "token_bound_cidrs": "10.0.0.0/16"});
        h.write("role/web", b);
        let rid = h.role_id("web");
        let path = "role/web/secret-id";
        for list in ["192.168.0.0/16", "0.0.0.0/0", "10.0.0.0/7"] {
            let b = json!({ "cidr_list": list });
            h.invalid(Update, path, b, "cidr_list must be within");
        }
        let b = json!({"token_bound_cidrs": "10.1.0.0/16"});
        h.invalid(Update, path, b, "token_bound_cidrs must be within");

        let (s, _) = h.secret("web", json!({"num_uses": 5}));
        for addr in [Some("11.0.0.1"), None, Some("::1")] {
            h.fails(&rid, Some(&s), addr);
        }
        let g = h.login_at(&rid, Some(&s), Some("10.9.9.9")).unwrap();
        assert_eq!(g.token.bound_cidrs, cidrs(&["10.0.0.0/16"]));
        assert!(h.login_at(&rid, Some(&s), Some("::ffff:10.0.0.1")).is_ok());

        let b =
            json!({"cidr_list": "10.1.0.0/16", "num_uses": 4, "token_bound_cidrs": "10.0.1.0/24"});
        let (narrow, _) = h.secret("web", b);
        h.fails(&rid, Some(&narrow), Some("10.2.0.1"));
        // A refused login does not consume a use.
        assert_eq!(h.lookup("web", &narrow)["secret_id_num_uses"], 4);
        let g = h.login_at(&rid, Some(&narrow), Some("10.1.0.1")).unwrap();
        assert_eq!(g.token.bound_cidrs, cidrs(&["10.0.1.0/24"]));

        // Narrowing the role afterwards also binds secret ids issued before.
        let b = json!({"secret_id_bound_cidrs": "10.3.0.0/16"});
        h.write("role/web/secret-id-bound-cidrs", b);
        h.fails(&rid, Some(&narrow), Some("10.1.0.1"));
    }

    #[test]
    fn roles_without_secret_ids() {
        let h = h();
        let constraint = "at least one constraint";
        let b = json!({"bind_secret_id": false});
        h.invalid(Update, "role/open", b.clone(), constraint);
        h.not_found(Read, "role/open", json!({}));

        let local = json!({"bind_secret_id": false, "secret_id_bound_cidrs": "127.0.0.0/8"});
        h.write("role/local", local);
        let rid = h.role_id("local");
        let g = h.login_at(&rid, None, Some("127.0.0.1")).unwrap();
        assert_eq!(g.metadata, meta(&[("role_name", "local")]));
        h.fails(&rid, Some("anything"), Some("10.0.0.1"));
        // The last constraint cannot be taken away.
        let path = "role/local/secret-id-bound-cidrs";
        h.invalid(Delete, path, json!({}), constraint);
        let cidrs_read = &h.read("role/local")["secret_id_bound_cidrs"];
        assert_eq!(cidrs_read, &json!(["127.0.0.0/8"]));
        h.delete("role/local/bind-secret-id");
        h.delete(path);
        assert_eq!(h.read("role/local")["bind_secret_id"], true);
        h.invalid(Update, "role/local/bind-secret-id", b, constraint);

        let tok = json!({"bind_secret_id": false, "token_bound_cidrs": "10.0.0.0/8"});
        h.write("role/tok", tok);
        let rid = h.role_id("tok");
        let g = h.login_at(&rid, None, Some("192.0.2.1")).unwrap();
        assert_eq!(g.token.bound_cidrs, cidrs(&["10.0.0.0/8"]));
        h.invalid(Delete, "role/tok/token-bound-cidrs", json!({}), constraint);
    }

    #[test]
    fn field_sub_paths() {
        let h = h();
        h.write("role/web", json!({}));
        let path = |f: &str| format!("role/web/{f}");
        // [sub-path, body to write, what a read then answers, what it answers after DELETE]
        let cases = json!([
            ["policies", {"token_policies": "b,A"},
             {"token_policies": ["a", "b"], "policies": ["a", "b"]},
             {"token_policies": [], "policies": []}],
            ["policies", {"policies": ["c"]},
             {"token_policies": ["c"], "policies": ["c"]},
             {"token_policies": [], "policies": []}],
            ["secret-id-num-uses", {"secret_id_num_uses": 5},
             {"secret_id_num_uses": 5}, {"secret_id_num_uses": 0}],
            ["secret-id-ttl", {"secret_id_ttl": "1h"}, {"secret_id_ttl": 3600}, {"secret_id_ttl": 0}],
            ["token-max-ttl", {"token_max_ttl": 120}, {"token_max_ttl": 120}, {"token_max_ttl": 0}],
            ["token-ttl", {"token_ttl": "1m", "token_max_ttl": 1}, {"token_ttl": 60}, {"token_ttl": 0}],
            ["token-num-uses", {"token_num_uses": 3}, {"token_num_uses": 3}, {"token_num_uses": 0}],
            ["secret-id-bound-cidrs", {"bound_cidr_list": "10.0.0.0/8"},
             {"secret_id_bound_cidrs": ["10.0.0.0/8"]}, {"secret_id_bound_cidrs": null}],
            ["token-bound-cidrs", {"token_bound_cidrs": ["10.0.0.1"]},
             {"token_bound_cidrs": ["10.0.0.1/32"]}, {"token_bound_cidrs": []}],
            ["period", {"period": "1m"},
             {"token_period": 60, "period": 60}, {"token_period": 0, "period": 0}],
            ["bind-secret-id", {"bind_secret_id": false},
             {"bind_secret_id": false}, {"bind_secret_id": true}]
        ]);
        for case in cases.as_array().unwrap() {
            let f = path(case[0].as_str().unwrap());
            h.write(&f, case[1].clone());
            assert_eq!(h.read(&f), case[2], "{f}");
            h.invalid(Update, &f, json!({"other": 1}), "missing");
        }
        // Only the sub-path's own field was taken from a body (token-ttl's max is ignored).
        assert_eq!(h.read(&path("token-max-ttl"))["token_max_ttl"], 120);
        let b = json!({"token_ttl": 200});
        h.invalid(Update, &path("token-ttl"), b, "cannot be greater");
        let b = json!({"token_period": 9_999_999_999u64});
        h.invalid(
            Update,
            &path("period"),
            b,
            "greater than the mount's maximum",
        );

        h.write(&path("bind-secret-id"), json!({"bind_secret_id": true}));
        for case in cases.as_array().unwrap() {
            let f = path(case[0].as_str().unwrap());
            h.delete(&f);
            assert_eq!(h.read(&f), case[3], "{f}");
        }
        h.not_found(Read, "role/nope/token-ttl", json!({}));
        let b = json!({"token_ttl": 1});
        h.invalid(Update, "role/nope/token-ttl", b, "does not exist");
        assert_eq!(h.delete("role/nope/token-ttl"), Value::Null);
    }

    #[test]
    fn deleting_a_role_removes_its_secret_ids() {
        let h = h();
        h.write("role/web", json!({}));
        let rid = h.role_id("web");
        let secrets: Vec<String> = (0..3).map(|_| h.secret("web", json!({})).0).collect();
        h.delete("role/web");
        assert_eq!(
            h.keys(),
            vec![HMAC_KEY.to_string()],
            "only the mount's key is left"
        );
        // Same name again: a new role, none of the old ids.
        h.write("role/web", json!({}));
        let new_rid = h.role_id("web");
        for s in &secrets {
            assert_eq!(h.lookup("web", s), Value::Null);
            h.fails(&rid, Some(s), None);
            h.fails(&new_rid, Some(s), None);
        }
    }

    #[test]
    fn metadata_forms() {
        let parse = |v: &Value| parse_metadata(json!({ "metadata": v }).as_object().unwrap());
        let want = meta(&[("a", "b"), ("c", "d")]);
        let good = json!(["{\"a\":\"b\",\"c\":\"d\"}", {"a": "b", "c": "d"}, "a=b, c = d"]);
        for form in good.as_array().unwrap() {
            assert_eq!(parse(form).unwrap(), want, "{form}");
        }
        assert!(parse(&json!("")).unwrap().is_empty());
        assert!(parse(&Value::Null).unwrap().is_empty());
        let bad = json!(["[1]", {"a": 1}, "{\"a\":1}", "novalue", 7]);
        for form in bad.as_array().unwrap() {
            assert!(parse(form).is_err(), "{form}");
        }
    }

    #[test]
    fn secret_ids_never_leak() {
        let h = h();
        h.write("role/web", json!({}));
        let rid = h.role_id("web");
        let (s, _) = h.secret("web", json!({"num_uses": 1}));
        let custom = "correct-horse-battery-staple";
        let b = json!({"secret_id": custom, "cidr_list": "127.0.0.1"});
        h.write("role/web/custom-secret-id", b);

        let mut errors = vec![
            h.login("unknown", &s).unwrap_err(),
            h.login_at(&rid, Some(custom), Some("10.0.0.1"))
                .unwrap_err(),
        ];
        let calls = json!([
            ["role/web/custom-secret-id", {"secret_id": custom}],
            ["role/web/custom-secret-id", {"secret_id": s.repeat(200)}],
            ["role/nope/secret-id/lookup", {"secret_id": s}],
            ["role/nope/secret-id/destroy", {"secret_id": s}],
            ["role/web/secret-id-accessor/lookup", {"secret_id_accessor": s}],
            ["role/web/secret-id", {"metadata": s}]
        ]);
        for call in calls.as_array().unwrap() {
            errors.push(h.err(Update, call[0].as_str().unwrap(), call[1].clone()));
        }
        h.login(&rid, &s).unwrap();
        errors.push(h.login(&rid, &s).unwrap_err()); // used up
        for e in &errors {
            for text in [
                format!("{e:?}"),
                e.to_string(),
                e.public_messages().join(" "),
            ] {
                assert!(!text.contains(&s) && !text.contains(custom), "{text}");
            }
        }
        let wrapped = SecretId(Zeroizing::new(s.clone()));
        assert_eq!(format!("{wrapped:?}"), "SecretId(<redacted>)");

        // Neither storage keys nor the (decrypted) stored values hold a secret id.
        for key in h.keys() {
            let value = h.rt.block_on(h.c.view.get(&key)).unwrap().unwrap();
            let value = String::from_utf8_lossy(&value);
            for secret in [s.as_str(), custom] {
                assert!(!key.contains(secret) && !value.contains(secret), "{key}");
            }
        }
    }
}
