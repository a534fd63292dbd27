//! The userpass auth method: named users with a password and token settings
//! ("tokenfields"), and a login path that trades a user name and password for a token.
//!
//! Where it sits: `core → credential::handle → here`. Management paths (`users/...`) are
//! served behind the ACL; `login/:username` is served without a token and answers a
//! [`LoginGrant`]; the core turns it into an orphan token and does the lockout accounting
//! (a failed login is [`EngineError::LoginFailed`]).
//!
//! Storage (the mount's view): one JSON entry per user at `user/<lower-cased name>`:
//! `{"password_hash": "<hash>", "token": <TokenFields>}`. The hash is an argon2id PHC
//! string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) for passwords set here, or a
//! bcrypt hash (`$2b$...`) imported through `password_hash`.
//!
//! Invariants:
//! - User names are lower-cased and checked ([`Username`]) before they reach a storage key.
//! - A plaintext password only ever lives in a [`Password`] (zeroized on drop, redacted
//!   `Debug`, no `Clone`) and never reaches an error, a log line or storage.
//! - Hashing and verifying run on the blocking pool, at most a few at once, never on the
//!   async workers.
//! - An unknown user and a wrong password are indistinguishable: the same error after the
//!   same argon2 work (a dummy hash is verified for unknown users).
//! - A read-modify-write of one user holds that user's (striped) lock; hashing happens
//!   before the lock is taken.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, LazyLock, OnceLock};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::{Mutex, MutexGuard, Semaphore};
use zeroize::Zeroizing;

use super::token_fields::{self, cidrs_allow};
use super::{CredentialRequest, CredentialResponse, LoginGrant, TokenFields};
use crate::barrier::{BarrierError, StorageView};
use crate::core::fields::opt_string;
use crate::core::request::{unknown_field_warning, Operation};
use crate::engines::{EngineError, EngineResponse};

/// The one message of a failed login (unknown user, wrong password, refused address).
const LOGIN_FAILED: &str = "invalid username or password";

/// argon2id cost in production: memory (KiB), passes, lanes (OWASP's first choice).
const ARGON2_COST: (u32, u32, u32) = (19 * 1024, 2, 1);

/// argon2id cost in unit tests (debug builds are slow); one test uses [`ARGON2_COST`].
#[cfg(test)]
const TEST_ARGON2_COST: (u32, u32, u32) = (64, 1, 1);

/// The highest bcrypt cost accepted in `password_hash` (each step doubles the work of
/// every login of that user; the bcrypt library's own limit, 31, would take days).
const MAX_BCRYPT_COST: u32 = 16;

/// The longest password bcrypt reads, in bytes.
const BCRYPT_MAX_PASSWORD: usize = 72;

/// The longest user name accepted, in bytes.
const MAX_USERNAME_LEN: usize = 256;

/// Fields of `users/:username` besides the tokenfields.
const USER_FIELDS: &[&str] = &["password", "password_hash"];

/// Fields of `users/:username/policies`.
const POLICY_FIELDS: &[&str] = &["token_policies", "policies"];

/// Handles a request for a userpass mount.
pub async fn handle(req: &CredentialRequest<'_>) -> Result<CredentialResponse, EngineError> {
    let route = Route::parse(req.path).ok_or(EngineError::UnsupportedPath)?;
    let view = &req.ctx.view;
    match (route, req.operation) {
        (Route::Users, Operation::List) => list_users(view).await.map(Into::into),
        (Route::User(name), Operation::Read) => read_user(view, name).await.map(Into::into),
        (Route::User(name), Operation::Update) => {
            write_user(view, name, req.data).await.map(Into::into)
        }
        (Route::User(name), Operation::Delete) => delete_user(view, name).await.map(Into::into),
        (Route::Password(name), Operation::Update) => {
            set_password(view, name, req.data).await.map(Into::into)
        }
        (Route::Policies(name), Operation::Update) => {
            set_policies(view, name, req.data).await.map(Into::into)
        }
        (Route::Login(name), Operation::Update) => login(req, name).await,
        _ => Err(EngineError::UnsupportedOperation),
    }
}

/// Existence check for the ACL's create-vs-update decision: `Some(user exists)` for
/// `users/:username`, `None` for every other path.
pub async fn exists(req: &CredentialRequest<'_>) -> Result<Option<bool>, EngineError> {
    let Some(Route::User(raw)) = Route::parse(req.path) else {
        return Ok(None);
    };
    match Username::parse(raw) {
        Ok(name) => Ok(Some(load(&req.ctx.view, &name).await?.is_some())),
        Err(_) => Ok(Some(false)),
    }
}

/// The paths of the method, relative to the mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    /// `users` / `users/`.
    Users,
    /// `users/:username`.
    User(&'a str),
    /// `users/:username/password`.
    Password(&'a str),
    /// `users/:username/policies`.
    Policies(&'a str),
    /// `login/:username`.
    Login(&'a str),
}

impl<'a> Route<'a> {
    fn parse(path: &'a str) -> Option<Route<'a>> {
        if path == "users" || path == "users/" {
            return Some(Route::Users);
        }
        if let Some(rest) = path.strip_prefix("users/") {
            let (name, tail) = match rest.split_once('/') {
                Some((name, tail)) => (name, Some(tail)),
                None => (rest, None),
            };
            if name.is_empty() {
                return None;
            }
            return match tail {
                None => Some(Route::User(name)),
                Some("password") => Some(Route::Password(name)),
                Some("policies") => Some(Route::Policies(name)),
                Some(_) => None,
            };
        }
        match path.strip_prefix("login/") {
            Some(name) if !name.is_empty() && !name.contains('/') => Some(Route::Login(name)),
            _ => None,
        }
    }
}

/// A checked, lower-cased user name: ASCII letters, digits, `_`, `-`, `.`; not starting
/// with `-`; not starting or ending with `.`; at most [`MAX_USERNAME_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Username(String);

impl Username {
    fn parse(raw: &str) -> Result<Username, EngineError> {
        let name = raw.to_lowercase();
        let rule = if name.is_empty() {
            Some("missing username".to_string())
        } else if name.len() > MAX_USERNAME_LEN {
            Some(format!(
                "invalid username: at most {MAX_USERNAME_LEN} characters are allowed"
            ))
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            Some("invalid username: only letters, digits, '_', '-' and '.' are allowed".to_string())
        } else if name.starts_with('-') {
            Some("invalid username: it may not start with '-'".to_string())
        } else if name.starts_with('.') || name.ends_with('.') {
            Some("invalid username: it may not start or end with '.'".to_string())
        } else {
            None
        };
        match rule {
            Some(message) => Err(EngineError::Invalid(message)),
            None => Ok(Username(name)),
        }
    }

    fn as_str(&self) -> &str {
        &self.0
    }

    fn storage_key(&self) -> String {
        format!("user/{}", self.0)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A plaintext password from a request: zeroized on drop, never printed, not cloneable.
struct Password(Zeroizing<String>);

impl Password {
    /// The non-empty password in `data[name]`; `None` when absent, null or empty.
    fn from_field(data: &Map<String, Value>, name: &str) -> Result<Option<Password>, EngineError> {
        let value = opt_string(data, name).map_err(|e| EngineError::Invalid(e.0))?;
        let value = value.map(Zeroizing::new);
        Ok(value.filter(|v| !v.is_empty()).map(Password))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A stored password hash, by scheme.
#[derive(PartialEq, Eq)]
enum StoredHash {
    /// An argon2id PHC string (passwords set through this server).
    Argon2id(String),
    /// A bcrypt hash (imported through `password_hash`).
    Bcrypt(String),
}

impl StoredHash {
    /// Recognises and checks a stored hash.
    fn parse(raw: &str) -> Result<StoredHash, &'static str> {
        if raw.starts_with("$argon2id$") {
            PasswordHash::new(raw).map_err(|_| "malformed argon2id hash")?;
            Ok(StoredHash::Argon2id(raw.to_string()))
        } else if raw.starts_with("$2") {
            StoredHash::bcrypt(raw)
        } else {
            Err("unknown password hash scheme")
        }
    }

    /// A bcrypt hash (`$2a$`, `$2b$`, `$2x$`, `$2y$`) with an acceptable cost.
    fn bcrypt(raw: &str) -> Result<StoredHash, &'static str> {
        let parts: bcrypt::HashParts = raw
            .parse()
            .map_err(|_| "password_hash is not a valid bcrypt hash")?;
        if parts.get_cost() > MAX_BCRYPT_COST {
            return Err("password_hash has a bcrypt cost above 16, the maximum accepted");
        }
        Ok(StoredHash::Bcrypt(raw.to_string()))
    }

    fn as_str(&self) -> &str {
        match self {
            StoredHash::Argon2id(s) | StoredHash::Bcrypt(s) => s,
        }
    }

    /// Whether `password` matches (constant-time comparison inside the libraries).
    /// CPU-heavy: call through [`blocking`].
    fn verify(&self, password: &Password) -> Result<bool, EngineError> {
        match self {
            StoredHash::Argon2id(phc) => {
                let parsed = PasswordHash::new(phc)
                    .map_err(|_| EngineError::Corrupt("malformed argon2id hash".into()))?;
                match Argon2::default().verify_password(password.as_bytes(), &parsed) {
                    Ok(()) => Ok(true),
                    Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
                    Err(e) => Err(EngineError::Corrupt(format!(
                        "argon2id hash cannot be verified: {e}"
                    ))),
                }
            }
            // bcrypt reads at most 72 bytes: a longer password never matches, rather
            // than matching on its first 72 bytes.
            StoredHash::Bcrypt(_) if password.as_bytes().len() > BCRYPT_MAX_PASSWORD => Ok(false),
            StoredHash::Bcrypt(hash) => bcrypt::verify(password.as_bytes(), hash)
                .map_err(|_| EngineError::Corrupt("bcrypt hash cannot be verified".into())),
        }
    }
}

impl fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredHash::Argon2id(_) => f.write_str("Argon2id(<redacted>)"),
            StoredHash::Bcrypt(_) => f.write_str("Bcrypt(<redacted>)"),
        }
    }
}

impl Serialize for StoredHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StoredHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        StoredHash::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// One stored user.
#[derive(Debug, Serialize, Deserialize)]
struct UserEntry {
    /// The password hash.
    password_hash: StoredHash,
    /// The settings of the tokens the user's logins get.
    token: TokenFields,
}

/// A new credential from a write to `users/:username`.
enum NewCredential {
    /// A plaintext password, to be hashed with argon2id.
    Password(Password),
    /// A bcrypt hash, stored as given.
    Hash(StoredHash),
}

impl NewCredential {
    /// `password` or `password_hash` from the request; `None` when neither is given.
    fn from_data(data: &Map<String, Value>) -> Result<Option<NewCredential>, EngineError> {
        let password = Password::from_field(data, "password")?;
        let hash = opt_string(data, "password_hash")
            .map_err(|e| EngineError::Invalid(e.0))?
            .filter(|h| !h.is_empty());
        match (password, hash) {
            (Some(_), Some(_)) => Err(EngineError::Invalid(
                "only one of password or password_hash may be provided".into(),
            )),
            (Some(p), None) => Ok(Some(NewCredential::Password(p))),
            (None, Some(h)) => StoredHash::bcrypt(&h)
                .map(|h| Some(NewCredential::Hash(h)))
                .map_err(|m| EngineError::Invalid(m.into())),
            (None, None) => {
                if data.get("password").is_some_and(|v| !v.is_null()) {
                    return Err(EngineError::Invalid("missing password".into()));
                }
                Ok(None)
            }
        }
    }

    /// The hash to store.
    async fn into_hash(self) -> Result<StoredHash, EngineError> {
        match self {
            NewCredential::Password(p) => hash_password(p).await,
            NewCredential::Hash(h) => Ok(h),
        }
    }
}

fn must_provide() -> EngineError {
    EngineError::Invalid("must provide either password or password_hash".into())
}

fn internal(what: &'static str) -> EngineError {
    EngineError::Barrier(BarrierError::Crypto(what))
}

/// The argon2id hasher with the configured cost.
fn argon2(cost: (u32, u32, u32)) -> Result<Argon2<'static>, EngineError> {
    let (m, t, p) = cost;
    let params = Params::new(m, t, p, None).map_err(|_| internal("invalid argon2 parameters"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn configured_cost() -> (u32, u32, u32) {
    #[cfg(test)]
    return TEST_ARGON2_COST;
    #[cfg(not(test))]
    ARGON2_COST
}

/// Hashes with argon2id and a fresh random 16-byte salt. CPU-heavy: call through
/// [`blocking`].
fn hash_with(cost: (u32, u32, u32), password: &Password) -> Result<StoredHash, EngineError> {
    let hash = argon2(cost)?
        .hash_password(password.as_bytes())
        .map_err(|e| match e {
            argon2::password_hash::Error::RngFailure => EngineError::Barrier(BarrierError::Rng),
            _ => internal("argon2id hashing failed"),
        })?;
    Ok(StoredHash::Argon2id(hash.to_string()))
}

async fn hash_password(password: Password) -> Result<StoredHash, EngineError> {
    blocking(move || hash_with(configured_cost(), &password)).await
}

/// Verifies `password` against `hash` (or, with `None`, against the dummy hash, for an
/// unknown user: same work, always `false`).
async fn verify_password(
    hash: Option<StoredHash>,
    password: Password,
) -> Result<bool, EngineError> {
    blocking(move || match hash {
        Some(hash) => hash.verify(&password),
        None => {
            dummy_hash()?.verify(&password)?;
            Ok(false)
        }
    })
    .await
}

/// A hash of a random password nobody knows, with the configured cost: verified when a
/// login names an unknown user, so that it costs what a wrong password costs.
fn dummy_hash() -> Result<&'static StoredHash, EngineError> {
    static DUMMY: OnceLock<StoredHash> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).map_err(|_| EngineError::Barrier(BarrierError::Rng))?;
    let password = Password(Zeroizing::new(hex::encode(bytes.as_ref())));
    let hash = hash_with(configured_cost(), &password)?;
    Ok(DUMMY.get_or_init(|| hash))
}

/// At most this many hashes run at once (each holds ~19 MiB for its duration), so a
/// flood of logins queues instead of exhausting memory and the blocking pool.
static HASH_SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    Arc::new(Semaphore::new(cores.max(2)))
});

/// Runs `work` on the blocking pool once a hashing slot is free. The slot is held by
/// the blocking task itself, so a cancelled request cannot free it early.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<T, EngineError> {
    let permit = Arc::clone(&HASH_SLOTS)
        .acquire_owned()
        .await
        .map_err(|_| internal("password hashing is unavailable"))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|_| internal("password hashing task failed"))?
}

/// Striped per-user locks (process-wide; keyed by the mount's prefix and the name).
static USER_LOCKS: LazyLock<Vec<Mutex<()>>> =
    LazyLock::new(|| (0..32).map(|_| Mutex::new(())).collect());

/// Locks `name` of the mount behind `view` for a read-modify-write.
async fn lock_user(view: &StorageView, name: &Username) -> MutexGuard<'static, ()> {
    let mut hasher = DefaultHasher::new();
    view.prefix().hash(&mut hasher);
    name.as_str().hash(&mut hasher);
    let index = usize::try_from(hasher.finish() % 32).unwrap_or_default();
    USER_LOCKS[index].lock().await
}

async fn load(view: &StorageView, name: &Username) -> Result<Option<UserEntry>, EngineError> {
    let Some(bytes) = view.get(&name.storage_key()).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        // The classification only: serde's message may quote the stored hash.
        EngineError::Corrupt(format!("user entry {name:?}: {:?} error", e.classify()))
    })
}

async fn store(view: &StorageView, name: &Username, user: &UserEntry) -> Result<(), EngineError> {
    let bytes = serde_json::to_vec(user)
        .map_err(|_| EngineError::Corrupt("user entry cannot be encoded".into()))?;
    view.put(&name.storage_key(), &bytes).await?;
    Ok(())
}

fn not_found_user() -> EngineError {
    EngineError::Invalid("username does not exist".into())
}

/// `LIST users/`.
async fn list_users(view: &StorageView) -> Result<EngineResponse, EngineError> {
    crate::engines::list_items(view, "user/").await
}

/// `GET users/:username`: the tokenfields, never the password.
async fn read_user(view: &StorageView, raw: &str) -> Result<EngineResponse, EngineError> {
    let name = Username::parse(raw)?;
    let user = load(view, &name).await?.ok_or(EngineError::NotFound)?;
    let mut out = Map::new();
    user.token.write_wire(&mut out);
    Ok(EngineResponse::data(Value::Object(out)))
}

/// `POST users/:username`: create (a password or hash required) or update (the stored
/// hash kept unless a new one is given; tokenfields changed only where present).
async fn write_user(
    view: &StorageView,
    raw: &str,
    data: &Map<String, Value>,
) -> Result<EngineResponse, EngineError> {
    let name = Username::parse(raw)?;
    let credential = NewCredential::from_data(data)?;
    // Refuse a bad request before paying for a hash.
    let before = load(view, &name).await?;
    if before.is_none() && credential.is_none() {
        return Err(must_provide());
    }
    before
        .as_ref()
        .map(|u| u.token.clone())
        .unwrap_or_default()
        .updated(data)?;
    let new_hash = match credential {
        Some(c) => Some(c.into_hash().await?),
        None => None,
    };

    let _guard = lock_user(view, &name).await;
    let current = load(view, &name).await?;
    let (old_hash, base) = match current {
        Some(user) => (Some(user.password_hash), user.token),
        None => (None, TokenFields::default()),
    };
    let user = UserEntry {
        password_hash: new_hash.or(old_hash).ok_or_else(must_provide)?,
        token: base.updated(data)?,
    };
    store(view, &name, &user).await?;
    let known: Vec<&str> = token_fields::FIELDS
        .iter()
        .chain(USER_FIELDS)
        .copied()
        .collect();
    Ok(EngineResponse {
        warnings: unknown_field_warning(data, &known).into_iter().collect(),
        ..EngineResponse::empty()
    })
}

/// `DELETE users/:username`: 204 whether or not the user existed.
async fn delete_user(view: &StorageView, raw: &str) -> Result<EngineResponse, EngineError> {
    let name = Username::parse(raw)?;
    let _guard = lock_user(view, &name).await;
    view.delete(&name.storage_key()).await?;
    Ok(EngineResponse::empty())
}

/// `POST users/:username/password`.
async fn set_password(
    view: &StorageView,
    raw: &str,
    data: &Map<String, Value>,
) -> Result<EngineResponse, EngineError> {
    let name = Username::parse(raw)?;
    let password = Password::from_field(data, "password")?
        .ok_or_else(|| EngineError::Invalid("missing password".into()))?;
    if load(view, &name).await?.is_none() {
        return Err(not_found_user());
    }
    let hash = hash_password(password).await?;
    let _guard = lock_user(view, &name).await;
    let mut user = load(view, &name).await?.ok_or_else(not_found_user)?;
    user.password_hash = hash;
    store(view, &name, &user).await?;
    Ok(EngineResponse {
        warnings: unknown_field_warning(data, &["password"])
            .into_iter()
            .collect(),
        ..EngineResponse::empty()
    })
}

/// `POST users/:username/policies`: only `token_policies` (or `policies`) change.
async fn set_policies(
    view: &StorageView,
    raw: &str,
    data: &Map<String, Value>,
) -> Result<EngineResponse, EngineError> {
    let name = Username::parse(raw)?;
    let only_policies: Map<String, Value> = data
        .iter()
        .filter(|(k, _)| POLICY_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let _guard = lock_user(view, &name).await;
    let mut user = load(view, &name).await?.ok_or_else(not_found_user)?;
    user.token = user.token.updated(&only_policies)?;
    store(view, &name, &user).await?;
    Ok(EngineResponse {
        warnings: unknown_field_warning(data, POLICY_FIELDS)
            .into_iter()
            .collect(),
        ..EngineResponse::empty()
    })
}

/// `POST login/:username`.
async fn login(req: &CredentialRequest<'_>, raw: &str) -> Result<CredentialResponse, EngineError> {
    let password = Password::from_field(req.data, "password")?
        .ok_or_else(|| EngineError::Invalid("missing password".into()))?;
    // A name that breaks the rules cannot exist: treat it as unknown, not as a 400,
    // so that logins never say more than "invalid username or password".
    let found = match Username::parse(raw) {
        Ok(name) => load(&req.ctx.view, &name).await?.map(|user| (name, user)),
        Err(_) => None,
    };
    let Some((name, user)) = found else {
        verify_password(None, password).await?;
        return Err(EngineError::LoginFailed(LOGIN_FAILED));
    };
    let UserEntry {
        password_hash,
        token,
    } = user;
    if !verify_password(Some(password_hash), password).await? {
        return Err(EngineError::LoginFailed(LOGIN_FAILED));
    }
    if !cidrs_allow(&token.bound_cidrs, req.remote_addr) {
        tracing::info!(
            mount = %req.ctx.mount_path,
            user = %name,
            remote_addr = ?req.remote_addr,
            "userpass login refused: client address outside the user's token_bound_cidrs"
        );
        return Err(EngineError::LoginFailed(LOGIN_FAILED));
    }
    Ok(CredentialResponse::Login(LoginGrant {
        principal: name.to_string(),
        login_path: format!("login/{name}"),
        metadata: BTreeMap::from([("username".to_string(), name.to_string())]),
        token,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::net::IpAddr;

    use serde_json::json;

    use super::*;
    use crate::engines::MountContext;

    const SECRET: &str = "s3cret-Pa55word-do-not-leak";

    async fn ctx() -> MountContext {
        MountContext::for_test(
            "auth/userpass-test/",
            "auth/userpass/",
            "auth_userpass_00000000",
        )
        .await
    }

    async fn call_from(
        c: &MountContext,
        op: Operation,
        path: &str,
        data: Value,
        remote_addr: Option<IpAddr>,
    ) -> Result<CredentialResponse, EngineError> {
        let data = data.as_object().cloned().unwrap_or_default();
        handle(&CredentialRequest {
            operation: op,
            path,
            data: &data,
            ctx: c,
            remote_addr,
            client_certs: None,
        })
        .await
    }

    async fn call(
        c: &MountContext,
        op: Operation,
        path: &str,
        data: Value,
    ) -> Result<CredentialResponse, EngineError> {
        call_from(c, op, path, data, Some("127.0.0.1".parse().unwrap())).await
    }

    fn engine(r: Result<CredentialResponse, EngineError>) -> EngineResponse {
        match r.unwrap() {
            CredentialResponse::Engine(e) => e,
            CredentialResponse::Login(g) => panic!("unexpected login grant for {}", g.principal),
        }
    }

    fn grant(r: Result<CredentialResponse, EngineError>) -> LoginGrant {
        match r.unwrap() {
            CredentialResponse::Login(g) => g,
            CredentialResponse::Engine(e) => panic!("unexpected response {e:?}"),
        }
    }

    fn invalid(r: Result<CredentialResponse, EngineError>) -> String {
        match r {
            Err(EngineError::Invalid(m)) => m,
            Err(e) => panic!("expected a 400, got {e}"),
            Ok(_) => panic!("expected a 400, got a success"),
        }
    }

    async fn login(
        c: &MountContext,
        name: &str,
        password: &str,
    ) -> Result<CredentialResponse, EngineError> {
        call(
            c,
            Operation::Update,
            &format!("login/{name}"),
            json!({ "password": password }),
        )
        .await
    }

    async fn exists_at(c: &MountContext, path: &str) -> Option<bool> {
        let data = Map::new();
        exists(&CredentialRequest {
            operation: Operation::Update,
            path,
            data: &data,
            ctx: c,
            remote_addr: None,
            client_certs: None,
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn create_read_update_delete() {
        let c = ctx().await;
        assert_eq!(exists_at(&c, "users/alice").await, Some(false));
        let r = engine(
            call(
                &c,
                Operation::Update,
                "users/alice",
                json!({"password": SECRET, "token_policies": "app", "token_ttl": "1h", "token_max_ttl": 7200}),
            )
            .await,
        );
        assert_eq!(r, EngineResponse::empty());
        assert_eq!(exists_at(&c, "users/alice").await, Some(true));
        assert_eq!(exists_at(&c, "users/alice/password").await, None);
        assert_eq!(exists_at(&c, "login/alice").await, None);

        let read = engine(call(&c, Operation::Read, "users/alice", json!({})).await);
        assert_eq!(
            read.data.unwrap(),
            json!({
                "token_bound_cidrs": [], "token_explicit_max_ttl": 0, "token_max_ttl": 7200,
                "token_no_default_policy": false, "token_num_uses": 0, "token_period": 0,
                "token_policies": ["app"], "token_strictly_bind_ip": false, "token_ttl": 3600,
                "token_type": "default"
            })
        );

        // An update without a password keeps the hash and the untouched fields.
        engine(
            call(
                &c,
                Operation::Update,
                "users/alice",
                json!({"token_num_uses": 3}),
            )
            .await,
        );
        grant(login(&c, "alice", SECRET).await);
        let read = engine(call(&c, Operation::Read, "users/alice", json!({})).await);
        let data = read.data.unwrap();
        assert_eq!(
            (data["token_num_uses"].clone(), data["token_ttl"].clone()),
            (json!(3), json!(3600))
        );
        assert_eq!(data["token_policies"], json!(["app"]));

        // Unknown fields are reported, not refused.
        let r = engine(call(&c, Operation::Update, "users/alice", json!({"bogus": 1})).await);
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].contains("bogus"));

        // Delete: 204, also for an unknown user; a read is then a 404.
        engine(call(&c, Operation::Delete, "users/alice", json!({})).await);
        engine(call(&c, Operation::Delete, "users/nobody", json!({})).await);
        assert!(matches!(
            call(&c, Operation::Read, "users/alice", json!({})).await,
            Err(EngineError::NotFound)
        ));
        assert!(matches!(
            login(&c, "alice", SECRET).await,
            Err(EngineError::LoginFailed(_))
        ));
    }

    #[tokio::test]
    async fn create_requires_a_password() {
        let c = ctx().await;
        let m = invalid(call(&c, Operation::Update, "users/bob", json!({"token_ttl": 60})).await);
        assert_eq!(m, "must provide either password or password_hash");
        let m = invalid(call(&c, Operation::Update, "users/bob", json!({"password": ""})).await);
        assert_eq!(m, "missing password");
        assert_eq!(exists_at(&c, "users/bob").await, Some(false));
        let m = invalid(
            call(
                &c,
                Operation::Update,
                "users/bob",
                json!({"password": SECRET, "password_hash": "$2b$04$abc"}),
            )
            .await,
        );
        assert!(m.contains("only one of"), "{m}");
        // Invalid tokenfields refuse the write (before any hashing).
        let m = invalid(
            call(
                &c,
                Operation::Update,
                "users/bob",
                json!({"password": SECRET, "token_ttl": 10, "token_max_ttl": 5}),
            )
            .await,
        );
        assert!(m.contains("token_ttl"), "{m}");
        assert_eq!(exists_at(&c, "users/bob").await, Some(false));
    }

    #[tokio::test]
    async fn password_change() {
        let c = ctx().await;
        engine(
            call(
                &c,
                Operation::Update,
                "users/carol",
                json!({"password": "old-pw"}),
            )
            .await,
        );
        engine(
            call(
                &c,
                Operation::Update,
                "users/carol/password",
                json!({"password": SECRET}),
            )
            .await,
        );
        assert!(matches!(
            login(&c, "carol", "old-pw").await,
            Err(EngineError::LoginFailed(_))
        ));
        grant(login(&c, "carol", SECRET).await);
        // Through users/:username too.
        engine(
            call(
                &c,
                Operation::Update,
                "users/carol",
                json!({"password": "third"}),
            )
            .await,
        );
        grant(login(&c, "carol", "third").await);

        let m = invalid(call(&c, Operation::Update, "users/carol/password", json!({})).await);
        assert_eq!(m, "missing password");
        let m = invalid(
            call(
                &c,
                Operation::Update,
                "users/ghost/password",
                json!({"password": SECRET}),
            )
            .await,
        );
        assert_eq!(m, "username does not exist");
        assert!(matches!(
            call(&c, Operation::Read, "users/carol/password", json!({})).await,
            Err(EngineError::UnsupportedOperation)
        ));
    }

    #[tokio::test]
    async fn policies_endpoint_changes_only_policies() {
        let c = ctx().await;
        engine(
            call(
                &c,
                Operation::Update,
                "users/dave",
                json!({"password": SECRET, "token_policies": ["a"], "token_ttl": 60}),
            )
            .await,
        );
        engine(
            call(
                &c,
                Operation::Update,
                "users/dave/policies",
                json!({"token_policies": "x, Y", "token_ttl": 999}),
            )
            .await,
        );
        let data = engine(call(&c, Operation::Read, "users/dave", json!({})).await)
            .data
            .unwrap();
        assert_eq!(data["token_policies"], json!(["x", "y"]));
        assert_eq!(data["token_ttl"], 60);
        engine(
            call(
                &c,
                Operation::Update,
                "users/dave/policies",
                json!({"policies": ["z"]}),
            )
            .await,
        );
        let data = engine(call(&c, Operation::Read, "users/dave", json!({})).await)
            .data
            .unwrap();
        assert_eq!(data["token_policies"], json!(["z"]));
        let m = invalid(
            call(
                &c,
                Operation::Update,
                "users/ghost/policies",
                json!({"policies": ["z"]}),
            )
            .await,
        );
        assert_eq!(m, "username does not exist");
    }

    #[tokio::test]
    async fn list_users() {
        let c = ctx().await;
        assert!(matches!(
            call(&c, Operation::List, "users/", json!({})).await,
            Err(EngineError::NotFound)
        ));
        for name in ["bob", "Alice"] {
            engine(
                call(
                    &c,
                    Operation::Update,
                    &format!("users/{name}"),
                    json!({"password": "pw"}),
                )
                .await,
            );
        }
        for path in ["users/", "users"] {
            let r = engine(call(&c, Operation::List, path, json!({})).await);
            assert_eq!(r.data.unwrap(), json!({"keys": ["alice", "bob"]}));
        }
        assert!(matches!(
            call(&c, Operation::Read, "users/", json!({})).await,
            Err(EngineError::UnsupportedOperation)
        ));
        assert!(matches!(
            call(&c, Operation::List, "users/bob", json!({})).await,
            Err(EngineError::UnsupportedOperation)
        ));
    }

    #[tokio::test]
    async fn unsupported_paths_and_verbs() {
        let c = ctx().await;
        for path in [
            "",
            "user/x",
            "users//password",
            "users/a/b",
            "users/a/password/x",
            "login",
            "login/",
            "login/a/b",
            "config",
        ] {
            assert!(
                matches!(
                    call(&c, Operation::Update, path, json!({})).await,
                    Err(EngineError::UnsupportedPath)
                ),
                "{path:?}"
            );
        }
        for (op, path) in [
            (Operation::Read, "login/alice"),
            (Operation::Delete, "users/a/policies"),
            (Operation::Patch, "users/a"),
            (Operation::Update, "users/"),
        ] {
            assert!(
                matches!(
                    call(&c, op, path, json!({})).await,
                    Err(EngineError::UnsupportedOperation)
                ),
                "{op:?} {path:?}"
            );
        }
    }

    #[tokio::test]
    async fn usernames_are_lowercased_and_checked() {
        let c = ctx().await;
        engine(
            call(
                &c,
                Operation::Update,
                "users/BobUP",
                json!({"password": SECRET}),
            )
            .await,
        );
        assert!(c.view.get("user/bobup").await.unwrap().is_some());
        engine(call(&c, Operation::Read, "users/BOBUP", json!({})).await);
        let g = grant(login(&c, "BOBUP", SECRET).await);
        assert_eq!(g.principal, "bobup");
        for good in ["a", "a.b", "a-b", "_x", "x_", "a-", "v1.2-rc_3"] {
            Username::parse(good).unwrap();
        }
        for (bad, rule) in [
            ("a b", "only letters"),
            ("a:b", "only letters"),
            ("é", "only letters"),
            ("a\u{0}", "only letters"),
            ("-a", "start with '-'"),
            (".a", "start or end with '.'"),
            ("a.", "start or end with '.'"),
            ("..", "start or end with '.'"),
        ] {
            let m = invalid(
                call(
                    &c,
                    Operation::Update,
                    &format!("users/{bad}"),
                    json!({"password": SECRET}),
                )
                .await,
            );
            assert!(m.contains(rule), "{bad:?}: {m}");
        }
        assert!(Username::parse("a/b").is_err());
        let long = "a".repeat(MAX_USERNAME_LEN + 1);
        let m = invalid(
            call(
                &c,
                Operation::Update,
                &format!("users/{long}"),
                json!({"password": SECRET}),
            )
            .await,
        );
        assert!(m.contains("at most"), "{m}");
        // A login with a name that breaks the rules is just a failed login.
        assert!(matches!(
            login(&c, "-x", SECRET).await,
            Err(EngineError::LoginFailed(_))
        ));
        assert_eq!(exists_at(&c, "users/-x").await, Some(false));
    }

    #[tokio::test]
    async fn login_grant() {
        let c = ctx().await;
        engine(
            call(
                &c,
                Operation::Update,
                "users/erin",
                json!({
                    "password": SECRET, "token_policies": "dev,ops", "token_ttl": "30m",
                    "token_max_ttl": "2h", "token_num_uses": 5, "token_no_default_policy": true
                }),
            )
            .await,
        );
        let g = grant(login(&c, "Erin", SECRET).await);
        assert_eq!(g.principal, "erin");
        assert_eq!(g.login_path, "login/erin");
        assert_eq!(
            g.metadata,
            BTreeMap::from([("username".to_string(), "erin".to_string())])
        );
        assert_eq!(g.token.policies, vec!["dev", "ops"]);
        assert_eq!(
            (g.token.ttl, g.token.max_ttl, g.token.num_uses),
            (1800, 7200, 5)
        );
        assert!(g.token.no_default_policy);
    }

    #[tokio::test]
    async fn failed_logins_look_alike() {
        let c = ctx().await;
        engine(
            call(
                &c,
                Operation::Update,
                "users/frank",
                json!({"password": SECRET}),
            )
            .await,
        );
        let wrong = login(&c, "frank", "nope").await;
        let unknown = login(&c, "nobody", SECRET).await;
        for r in [wrong, unknown] {
            match r {
                Err(e @ EngineError::LoginFailed(_)) => {
                    assert_eq!(e.to_string(), "invalid username or password");
                    assert_eq!(e.public_messages(), vec!["invalid username or password"]);
                }
                other => panic!("expected LoginFailed, got {:?}", other.err()),
            }
        }
        for body in [
            json!({}),
            json!({"password": ""}),
            json!({"password": null}),
        ] {
            let m = invalid(call(&c, Operation::Update, "login/frank", body).await);
            assert_eq!(m, "missing password");
        }
    }

    #[tokio::test]
    async fn bound_cidrs_refuse_other_addresses() {
        let c = ctx().await;
        engine(
            call(
                &c,
                Operation::Update,
                "users/gina",
                json!({"password": SECRET, "token_bound_cidrs": ["10.0.0.0/8", "::1"]}),
            )
            .await,
        );
        let inside = Some("10.1.2.3".parse().unwrap());
        let g = grant(
            call_from(
                &c,
                Operation::Update,
                "login/gina",
                json!({"password": SECRET}),
                inside,
            )
            .await,
        );
        assert_eq!(g.token.bound_cidrs.len(), 2);
        grant(
            call_from(
                &c,
                Operation::Update,
                "login/gina",
                json!({"password": SECRET}),
                Some("::1".parse().unwrap()),
            )
            .await,
        );
        for addr in [Some("192.168.1.1".parse().unwrap()), None] {
            let r = call_from(
                &c,
                Operation::Update,
                "login/gina",
                json!({"password": SECRET}),
                addr,
            )
            .await;
            assert!(
                matches!(r, Err(EngineError::LoginFailed(LOGIN_FAILED))),
                "{addr:?}"
            );
        }
        let data = engine(call(&c, Operation::Read, "users/gina", json!({})).await)
            .data
            .unwrap();
        assert_eq!(data["token_bound_cidrs"], json!(["10.0.0.0/8", "::1/128"]));
    }

    #[tokio::test]
    async fn bcrypt_password_hash() {
        let c = ctx().await;
        let hash = bcrypt::hash(SECRET, 4).unwrap();
        engine(
            call(
                &c,
                Operation::Update,
                "users/hank",
                json!({"password_hash": hash}),
            )
            .await,
        );
        grant(login(&c, "hank", SECRET).await);
        // bcrypt reads 72 bytes only: a longer password must not match on its prefix.
        let long = "p".repeat(72);
        let long_hash = bcrypt::hash(&long, 4).unwrap();
        engine(
            call(
                &c,
                Operation::Update,
                "users/hal",
                json!({"password_hash": long_hash}),
            )
            .await,
        );
        assert!(matches!(
            login(&c, "hal", &format!("{long}extra")).await,
            Err(EngineError::LoginFailed(_))
        ));
        grant(login(&c, "hal", &long).await);
        assert!(matches!(
            login(&c, "hank", "wrong").await,
            Err(EngineError::LoginFailed(_))
        ));
        // A later password change moves the user to argon2id.
        engine(
            call(
                &c,
                Operation::Update,
                "users/hank/password",
                json!({"password": "new"}),
            )
            .await,
        );
        let stored = c.view.get("user/hank").await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&stored).contains("$argon2id$"));
        grant(login(&c, "hank", "new").await);

        for bad in [
            "not-a-hash",
            "$2b$04$short",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            let m = invalid(
                call(
                    &c,
                    Operation::Update,
                    "users/ivy",
                    json!({"password_hash": bad}),
                )
                .await,
            );
            assert!(m.contains("bcrypt"), "{bad}: {m}");
        }
        let costly = hash.replacen("$04$", "$17$", 1);
        let m = invalid(
            call(
                &c,
                Operation::Update,
                "users/ivy",
                json!({"password_hash": costly}),
            )
            .await,
        );
        assert!(m.contains("cost"), "{m}");
    }

    #[tokio::test]
    async fn storage_layout() {
        let c = ctx().await;
        engine(
            call(
                &c,
                Operation::Update,
                "users/jo",
                json!({"password": SECRET, "token_policies": "p"}),
            )
            .await,
        );
        assert_eq!(c.view.list("").await.unwrap(), ["user/"]);
        let stored = c.view.get("user/jo").await.unwrap().unwrap();
        let v: Value = serde_json::from_slice(&stored).unwrap();
        let hash = v["password_hash"].as_str().unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        assert_eq!(v["token"]["policies"], json!(["p"]));
        assert!(!String::from_utf8_lossy(&stored).contains(SECRET));
        // A corrupt entry is a 500, without quoting the entry.
        c.view
            .put(
                "user/jo",
                br#"{"password_hash": "$argon2id$garbage", "token": {}}"#,
            )
            .await
            .unwrap();
        match call(&c, Operation::Read, "users/jo", json!({})).await {
            Err(e @ EngineError::Corrupt(_)) => assert!(!e.to_string().contains("garbage"), "{e}"),
            other => panic!("expected Corrupt, got {:?}", other.err()),
        }
    }

    #[tokio::test]
    async fn passwords_never_printed() {
        let c = ctx().await;
        let p = Password(Zeroizing::new(SECRET.to_string()));
        assert!(!format!("{p:?}").contains(SECRET));
        let h = hash_with(TEST_ARGON2_COST, &p).unwrap();
        assert!(!format!("{h:?}").contains('$'));

        let mut outputs = Vec::new();
        let mut record = |r: Result<CredentialResponse, EngineError>| match r {
            Ok(CredentialResponse::Engine(e)) => outputs.push(format!("{e:?}")),
            Ok(CredentialResponse::Login(g)) => outputs.push(format!("{g:?}")),
            Err(e) => outputs.push(format!("{e} / {e:?} / {:?}", e.public_messages())),
        };
        record(
            call(
                &c,
                Operation::Update,
                "users/kim",
                json!({"password": SECRET, "bogus": SECRET}),
            )
            .await,
        );
        record(
            call(
                &c,
                Operation::Update,
                "users/kim",
                json!({"password": SECRET, "password_hash": SECRET}),
            )
            .await,
        );
        record(
            call(
                &c,
                Operation::Update,
                "users/lee",
                json!({"password_hash": SECRET}),
            )
            .await,
        );
        record(
            call(
                &c,
                Operation::Update,
                "users/kim",
                json!({"password": SECRET, "token_ttl": "soon"}),
            )
            .await,
        );
        record(
            call(
                &c,
                Operation::Update,
                "users/kim/password",
                json!({"password": SECRET}),
            )
            .await,
        );
        record(
            call(
                &c,
                Operation::Update,
                "users/nobody/password",
                json!({"password": SECRET}),
            )
            .await,
        );
        record(call(&c, Operation::Read, "users/kim", json!({})).await);
        record(login(&c, "kim", SECRET).await);
        record(login(&c, "kim", &format!("{SECRET}x")).await);
        record(login(&c, "nobody", SECRET).await);
        record(
            call(
                &c,
                Operation::Update,
                "login/kim",
                json!({"password": [SECRET]}),
            )
            .await,
        );
        assert_eq!(outputs.len(), 11);
        for out in &outputs {
            assert!(!out.contains(SECRET), "{out}");
        }
    }

    #[test]
    fn production_cost_hashes_and_verifies() {
        let p = Password(Zeroizing::new(SECRET.to_string()));
        let h = hash_with(ARGON2_COST, &p).unwrap();
        let phc = h.as_str().to_string();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        // 16-byte salt, 32-byte output.
        assert_eq!(parsed.salt.unwrap().len(), 16);
        assert_eq!(parsed.hash.unwrap().len(), 32);
        assert!(h.verify(&p).unwrap());
        assert!(!h.verify(&Password(Zeroizing::new("other".into()))).unwrap());
        // Two hashes of one password differ (fresh salt).
        assert_ne!(
            hash_with(TEST_ARGON2_COST, &p).unwrap().as_str(),
            hash_with(TEST_ARGON2_COST, &p).unwrap().as_str()
        );
    }

    #[test]
    fn routes() {
        assert_eq!(Route::parse("users"), Some(Route::Users));
        assert_eq!(Route::parse("users/a"), Some(Route::User("a")));
        assert_eq!(Route::parse("users/a/password"), Some(Route::Password("a")));
        assert_eq!(Route::parse("users/a/policies"), Some(Route::Policies("a")));
        assert_eq!(Route::parse("login/a"), Some(Route::Login("a")));
        assert_eq!(Route::parse("users/a/"), None);
        assert_eq!(Route::parse("login/a/"), None);
    }
}
