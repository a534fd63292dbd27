//! The TLS certificate auth method (`auth/cert/`, wire reference §5.4): roles that
//! trust a CA (or pin one certificate) and a login path that trades the client
//! certificate of the TLS connection for a token.
//!
//! Where it sits: `core → credential::handle → here`. The listener (`tls`) asks for
//! client certificates when `[listener] tls_client_ca_file` is set, verifies a presented
//! chain against that bundle in the handshake, and hands the chain (leaf first) to every
//! request of the connection as [`CredentialRequest::client_certs`]. `certs/:name` is
//! served behind the ACL; `login` is served without a token and answers a [`LoginGrant`].
//!
//! Login: the candidate roles (the one named by `name`, else every role, by name) are
//! tried in order; the first that admits the chain wins. A role admits a chain when
//! - its `certificate` bundle holds a CA certificate the chain verifies to (webpki: the
//!   role's CA certificates are the only trust anchors, the client's other certificates
//!   the intermediates, client-auth usage, the current time), or a non-CA certificate
//!   equal, byte for byte, to the client's leaf (pinning) and valid now;
//! - the leaf's subject common name matches one of `allowed_common_names` (globs with
//!   `*`; an empty list allows any name);
//! - the client's address is inside `token_bound_cidrs` (when set).
//!
//! Storage (the mount's view): one JSON entry per role at `cert/<lower-cased name>`:
//! `{"certificate": "<PEM as given>", "allowed_common_names": [...], "display_name": "...",
//! "token": <TokenFields>}`.
//!
//! Invariants:
//! - A stored `certificate` always parses: it is checked on every write.
//! - Vault's other constraints (`allowed_dns_sans`, `required_extensions`, OCSP, ...) are
//!   not enforced here, so a write that gives one a value is refused rather than stored
//!   and ignored (which would admit certificates the operator meant to keep out).
//! - Nothing from a certificate reaches a log line but its subject common name and
//!   serial number.
//! - A read-modify-write of one role holds that role's (striped) lock.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use rustls::pki_types::{CertificateDer, UnixTime};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio::sync::{Mutex, MutexGuard};
use x509_parser::extensions::ParsedExtension;

use super::token_fields::{self, cidrs_allow};
use super::{CredentialRequest, CredentialResponse, LoginGrant, TokenFields};
use crate::barrier::StorageView;
use crate::core::fields::{opt_string, opt_string_list};
use crate::core::request::{unknown_field_warning, Operation};
use crate::encoding::star_glob;
use crate::engines::{EngineError, EngineResponse};

/// The one message of a failed login (no role admits the certificate).
const LOGIN_FAILED: &str = "invalid certificate or no client certificate supplied";

/// The answer to a login over a connection without a client certificate.
const NO_CLIENT_CERT: &str = "no client certificate found";

/// The longest role name accepted, in bytes.
const MAX_NAME_LEN: usize = 256;

/// Fields of `certs/:name` besides the tokenfields.
const ROLE_FIELDS: &[&str] = &["certificate", "allowed_common_names", "display_name"];

/// Vault's role constraints this server does not enforce: refused when given a value.
const UNSUPPORTED_CONSTRAINTS: &[&str] = &[
    "allowed_names",
    "allowed_dns_sans",
    "allowed_email_sans",
    "allowed_uri_sans",
    "allowed_organizational_units",
    "required_extensions",
    "ocsp_enabled",
    "ocsp_ca_certificates",
    "ocsp_servers_override",
];

/// Constraint lists reported (empty) on read, as Vault shows them.
const EMPTY_ON_READ: &[&str] = &[
    "allowed_dns_sans",
    "allowed_email_sans",
    "allowed_metadata_extensions",
    "allowed_organizational_units",
    "allowed_uri_sans",
    "required_extensions",
];

/// Handles a request for a cert mount.
pub async fn handle(req: &CredentialRequest<'_>) -> Result<CredentialResponse, EngineError> {
    let view = &req.ctx.view;
    match (Route::parse(req.path)?, req.operation) {
        (Route::Login, Operation::Update) => login(req).await.map(CredentialResponse::Login),
        (Route::Roles, Operation::List) => list_roles(view).await.map(Into::into),
        (Route::Role(name), Operation::Read) => read_role(view, &name).await.map(Into::into),
        (Route::Role(name), Operation::Update) => {
            write_role(view, &name, req.data).await.map(Into::into)
        }
        (Route::Role(name), Operation::Delete) => delete_role(view, &name).await.map(Into::into),
        _ => Err(EngineError::UnsupportedOperation),
    }
}

/// Existence check for the ACL's create-vs-update decision: `Some(role exists)` for
/// `certs/:name`, `None` for every other path.
pub async fn exists(req: &CredentialRequest<'_>) -> Result<Option<bool>, EngineError> {
    match Route::parse(req.path) {
        Ok(Route::Role(name)) => Ok(Some(load(&req.ctx.view, &name).await?.is_some())),
        _ => Ok(None),
    }
}

/// The paths of the method, relative to the mount; role names already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    /// `login`.
    Login,
    /// `certs` / `certs/`.
    Roles,
    /// `certs/:name`.
    Role(String),
}

impl Route {
    fn parse(path: &str) -> Result<Route, EngineError> {
        match path {
            "login" => return Ok(Route::Login),
            "certs" | "certs/" => return Ok(Route::Roles),
            _ => {}
        }
        match path.strip_prefix("certs/") {
            Some(name) if !name.contains('/') => role_name(name).map(Route::Role),
            _ => Err(EngineError::UnsupportedPath),
        }
    }
}

/// A role name: trimmed, lower-cased, `[a-z0-9_.-]`, beginning and ending with a letter,
/// digit or `_`, at most [`MAX_NAME_LEN`] bytes.
fn role_name(raw: &str) -> Result<String, EngineError> {
    let name = raw.trim().to_ascii_lowercase();
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let valid = name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && edge(name.chars().next())
        && edge(name.chars().last());
    if valid {
        Ok(name)
    } else {
        Err(EngineError::Invalid(format!(
            "invalid certificate role name: use letters, digits, '_', '-' and '.', beginning \
             and ending with a letter, digit or '_', at most {MAX_NAME_LEN} characters"
        )))
    }
}

/// One stored role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CertRole {
    /// The trusted certificates, PEM, as given.
    certificate: String,
    /// Globs the leaf's common name must match (empty: any).
    allowed_common_names: Vec<String>,
    /// The principal of the tokens (their display name is `<mount>-<display_name>`).
    display_name: String,
    /// The settings of the tokens the role's logins get.
    token: TokenFields,
}

/// A role's `certificate` bundle, parsed: CA certificates are trust anchors for chains;
/// other certificates are pinned (the client's leaf must be one of them).
#[derive(Debug)]
struct Trust {
    cas: Vec<CertificateDer<'static>>,
    pinned: Vec<CertificateDer<'static>>,
}

impl Trust {
    /// Parses and checks a PEM bundle; the message says what is wrong with it.
    fn parse(pem: &str) -> Result<Trust, String> {
        let mut trust = Trust {
            cas: Vec::new(),
            pinned: Vec::new(),
        };
        for item in rustls_pemfile::certs(&mut pem.as_bytes()) {
            let der = item.map_err(|e| format!("unreadable PEM: {e}"))?;
            let cert = match x509_parser::parse_x509_certificate(&der) {
                Ok(([], cert)) => cert,
                _ => return Err("a PEM block is not an X.509 certificate".into()),
            };
            if cert.is_ca() {
                webpki::anchor_from_trusted_cert(&der)
                    .map_err(|e| format!("a CA certificate cannot be a trust anchor: {e}"))?;
                trust.cas.push(der);
            } else {
                trust.pinned.push(der);
            }
        }
        if trust.cas.is_empty() && trust.pinned.is_empty() {
            return Err("no PEM certificate found".into());
        }
        Ok(trust)
    }

    /// Whether `chain` (leaf first) is trusted at `now`: it verifies to one of the CA
    /// certificates, or its leaf is a pinned certificate valid at `now`.
    fn admits(&self, chain: &[CertificateDer<'_>], now: UnixTime) -> Result<(), String> {
        let Some(leaf) = chain.first() else {
            return Err("no client certificate".into());
        };
        if self.pinned.iter().any(|p| p.as_ref() == leaf.as_ref()) {
            return if valid_at(leaf, now) {
                Ok(())
            } else {
                Err("the pinned certificate is outside its validity period".into())
            };
        }
        if self.cas.is_empty() {
            return Err("the leaf is not the role's pinned certificate".into());
        }
        let anchors = self
            .cas
            .iter()
            .map(webpki::anchor_from_trusted_cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("stored CA certificate unusable: {e}"))?;
        let end_entity = webpki::EndEntityCert::try_from(leaf).map_err(|e| format!("leaf: {e}"))?;
        let algorithms = rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .all;
        end_entity
            .verify_for_usage(
                algorithms,
                &anchors,
                &chain[1..],
                now,
                webpki::KeyUsage::client_auth(),
                None,
                None,
            )
            .map(|_| ())
            .map_err(|e| format!("chain: {e}"))
    }
}

/// Whether `der`'s validity period contains `now`.
fn valid_at(der: &CertificateDer<'_>, now: UnixTime) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return false;
    };
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let validity = cert.validity();
    validity.not_before.timestamp() <= now && now <= validity.not_after.timestamp()
}

/// What a login reports about the client's leaf certificate (token metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
struct LeafInfo {
    /// The subject's first common name, or "".
    common_name: String,
    /// The serial number, decimal (as Vault).
    serial_number: String,
    /// Subject key identifier, colon-separated lower-case hex, or "".
    subject_key_id: String,
    /// Authority key identifier, colon-separated lower-case hex, or "".
    authority_key_id: String,
}

impl LeafInfo {
    fn parse(der: &CertificateDer<'_>) -> Option<LeafInfo> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let common_name = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default()
            .to_string();
        let mut info = LeafInfo {
            common_name,
            serial_number: cert.serial.to_string(),
            subject_key_id: String::new(),
            authority_key_id: String::new(),
        };
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => {
                    info.subject_key_id = colon_hex(id.0);
                }
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    if let Some(id) = &aki.key_identifier {
                        info.authority_key_id = colon_hex(id.0);
                    }
                }
                _ => {}
            }
        }
        Some(info)
    }
}

/// `9f:81:0a`.
fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl CertRole {
    /// Why this role does not admit the client (`Ok` when it does).
    fn admits(
        &self,
        chain: &[CertificateDer<'_>],
        leaf: &LeafInfo,
        now: UnixTime,
        remote_addr: Option<std::net::IpAddr>,
    ) -> Result<(), String> {
        Trust::parse(&self.certificate)
            .map_err(|e| format!("stored certificate unusable: {e}"))?
            .admits(chain, now)?;
        if !self.allowed_common_names.is_empty()
            && !self
                .allowed_common_names
                .iter()
                .any(|p| star_glob(p, &leaf.common_name))
        {
            return Err("common name not allowed".into());
        }
        if !cidrs_allow(&self.token.bound_cidrs, remote_addr) {
            return Err("client address outside token_bound_cidrs".into());
        }
        Ok(())
    }
}

/// Striped per-role locks (process-wide; keyed by the mount's prefix and the name).
static ROLE_LOCKS: LazyLock<Vec<Mutex<()>>> =
    LazyLock::new(|| (0..32).map(|_| Mutex::new(())).collect());

/// Locks role `name` of the mount behind `view` for a read-modify-write.
async fn lock_role(view: &StorageView, name: &str) -> MutexGuard<'static, ()> {
    let mut hasher = DefaultHasher::new();
    view.prefix().hash(&mut hasher);
    name.hash(&mut hasher);
    let index = usize::try_from(hasher.finish() % 32).unwrap_or_default();
    ROLE_LOCKS[index].lock().await
}

fn storage_key(name: &str) -> String {
    format!("cert/{name}")
}

async fn load(view: &StorageView, name: &str) -> Result<Option<CertRole>, EngineError> {
    let Some(bytes) = view.get(&storage_key(name)).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| EngineError::Corrupt(format!("cert role {name:?}: {e}")))
}

async fn store(view: &StorageView, name: &str, role: &CertRole) -> Result<(), EngineError> {
    let bytes = serde_json::to_vec(role)
        .map_err(|_| EngineError::Corrupt("cert role cannot be encoded".into()))?;
    view.put(&storage_key(name), &bytes).await?;
    Ok(())
}

fn field_err(e: crate::core::fields::FieldError) -> EngineError {
    EngineError::Invalid(e.0)
}

/// `LIST certs/`.
async fn list_roles(view: &StorageView) -> Result<EngineResponse, EngineError> {
    crate::engines::list_items(view, "cert/").await
}

/// `GET certs/:name`.
async fn read_role(view: &StorageView, name: &str) -> Result<EngineResponse, EngineError> {
    let role = load(view, name).await?.ok_or(EngineError::NotFound)?;
    let mut out = Map::new();
    out.insert("certificate".into(), json!(role.certificate));
    out.insert(
        "allowed_common_names".into(),
        json!(role.allowed_common_names),
    );
    out.insert("display_name".into(), json!(role.display_name));
    for name in EMPTY_ON_READ {
        out.insert((*name).into(), json!([]));
    }
    role.token.write_wire(&mut out);
    Ok(EngineResponse::data(Value::Object(out)))
}

/// Refuses a value for a constraint this server does not enforce.
fn refuse_unsupported(data: &Map<String, Value>) -> Result<(), EngineError> {
    for name in UNSUPPORTED_CONSTRAINTS {
        let given = match data.get(*name) {
            None | Some(Value::Null | Value::Bool(false)) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Array(items)) => !items.is_empty(),
            Some(_) => true,
        };
        if given {
            return Err(EngineError::Invalid(format!(
                "{name:?} is not supported by this server: a certificate role is constrained \
                 by its certificate and allowed_common_names only"
            )));
        }
    }
    Ok(())
}

/// `POST certs/:name`: create (`certificate` required) or update (fields changed only
/// where present).
async fn write_role(
    view: &StorageView,
    name: &str,
    data: &Map<String, Value>,
) -> Result<EngineResponse, EngineError> {
    refuse_unsupported(data)?;
    let certificate = opt_string(data, "certificate")
        .map_err(field_err)?
        .filter(|c| !c.trim().is_empty());
    if let Some(pem) = &certificate {
        Trust::parse(pem)
            .map_err(|m| EngineError::Invalid(format!("failed to parse certificate: {m}")))?;
    }
    let common_names = opt_string_list(data, "allowed_common_names").map_err(field_err)?;
    let display_name = opt_string(data, "display_name")
        .map_err(field_err)?
        .map(|d| d.trim().to_string());

    let _guard = lock_role(view, name).await;
    let current = load(view, name).await?;
    let exists = current.is_some();
    let base = current.unwrap_or_else(|| CertRole {
        certificate: String::new(),
        allowed_common_names: Vec::new(),
        display_name: String::new(),
        token: TokenFields::default(),
    });
    let mut role = CertRole {
        token: base.token.updated(data)?,
        ..base
    };
    match certificate {
        Some(pem) => role.certificate = pem,
        None if !exists => return Err(EngineError::Invalid("missing certificate".into())),
        None => {}
    }
    if let Some(names) = common_names {
        role.allowed_common_names = names;
    }
    if let Some(display) = display_name {
        role.display_name = display;
    }
    if role.display_name.is_empty() {
        role.display_name = name.to_string();
    }
    store(view, name, &role).await?;
    let known: Vec<&str> = token_fields::FIELDS
        .iter()
        .chain(ROLE_FIELDS)
        .chain(UNSUPPORTED_CONSTRAINTS)
        .copied()
        .collect();
    Ok(EngineResponse {
        warnings: unknown_field_warning(data, &known).into_iter().collect(),
        ..EngineResponse::empty()
    })
}

/// `DELETE certs/:name`: 204 whether or not the role existed.
async fn delete_role(view: &StorageView, name: &str) -> Result<EngineResponse, EngineError> {
    let _guard = lock_role(view, name).await;
    view.delete(&storage_key(name)).await?;
    Ok(EngineResponse::empty())
}

/// `POST login` (optional `name`: try that role only).
async fn login(req: &CredentialRequest<'_>) -> Result<LoginGrant, EngineError> {
    let Some(chain) = req.client_certs.as_deref().filter(|c| !c.is_empty()) else {
        return Err(EngineError::Invalid(NO_CLIENT_CERT.into()));
    };
    let view = &req.ctx.view;
    let wanted = opt_string(req.data, "name")
        .map_err(field_err)?
        .filter(|n| !n.trim().is_empty());
    let Some(leaf) = LeafInfo::parse(&chain[0]) else {
        tracing::info!(
            mount = %req.ctx.mount_path,
            "cert login refused: the client certificate cannot be parsed"
        );
        return Err(EngineError::LoginFailed(LOGIN_FAILED));
    };
    let candidates = match wanted {
        // A name that breaks the rules names no role: a failed login, not a 400.
        Some(raw) => role_name(&raw).map(|n| vec![n]).unwrap_or_default(),
        None => {
            let mut names: Vec<String> = view
                .list("cert/")
                .await?
                .into_iter()
                .filter(|k| !k.ends_with('/'))
                .collect();
            names.sort();
            names
        }
    };
    let now = UnixTime::now();
    for name in candidates {
        let Some(role) = load(view, &name).await? else {
            continue;
        };
        match role.admits(chain, &leaf, now, req.remote_addr) {
            Ok(()) => {
                let metadata = BTreeMap::from([
                    ("cert_name".to_string(), name.clone()),
                    ("common_name".to_string(), leaf.common_name.clone()),
                    ("serial_number".to_string(), leaf.serial_number.clone()),
                    ("subject_key_id".to_string(), leaf.subject_key_id.clone()),
                    (
                        "authority_key_id".to_string(),
                        leaf.authority_key_id.clone(),
                    ),
                ]);
                return Ok(LoginGrant {
                    principal: role.display_name,
                    login_path: "login".to_string(),
                    metadata,
                    token: role.token,
                });
            }
            Err(reason) => tracing::debug!(
                mount = %req.ctx.mount_path,
                role = %name,
                common_name = %leaf.common_name,
                serial_number = %leaf.serial_number,
                %reason,
                "cert role does not admit the client certificate"
            ),
        }
    }
    tracing::info!(
        mount = %req.ctx.mount_path,
        common_name = %leaf.common_name,
        serial_number = %leaf.serial_number,
        remote_addr = ?req.remote_addr,
        "cert login refused: no role admits the client certificate"
    );
    Err(EngineError::LoginFailed(LOGIN_FAILED))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::slice::from_ref;
    use std::sync::Arc;

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose, SerialNumber,
    };
    use serde_json::json;

    use super::*;
    use crate::engines::MountContext;

    type Ca = CertifiedIssuer<'static, KeyPair>;

    /// A CA certificate (`parent`: signed by it, else self-signed).
    fn ca(cn: &str, parent: Option<&Ca>) -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, cn);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        match parent {
            Some(parent) => CertifiedIssuer::signed_by(p, key, parent).unwrap(),
            None => CertifiedIssuer::self_signed(p, key).unwrap(),
        }
    }

    /// A client certificate for `cn` issued by `issuer`, after `tweak`.
    fn leaf_with(
        cn: &str,
        issuer: &Ca,
        tweak: impl FnOnce(&mut CertificateParams),
    ) -> CertificateDer<'static> {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::ExplicitNoCa;
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.use_authority_key_identifier_extension = true;
        tweak(&mut p);
        let key = KeyPair::generate().unwrap();
        p.signed_by(&key, issuer).unwrap().der().clone()
    }

    fn leaf(cn: &str, issuer: &Ca) -> CertificateDer<'static> {
        leaf_with(cn, issuer, |_| {})
    }

    fn pem(der: &CertificateDer<'_>) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    async fn ctx() -> MountContext {
        MountContext::for_test("auth/cert-test/", "auth/cert/", "auth_cert_00000000").await
    }

    async fn call_with(
        c: &MountContext,
        op: Operation,
        path: &str,
        body: Value,
        certs: Option<Vec<CertificateDer<'static>>>,
        remote_addr: Option<std::net::IpAddr>,
    ) -> Result<CredentialResponse, EngineError> {
        let data = body.as_object().cloned().unwrap_or_default();
        handle(&CredentialRequest {
            operation: op,
            path,
            data: &data,
            ctx: c,
            remote_addr,
            client_certs: certs.map(Arc::new),
        })
        .await
    }

    async fn call(
        c: &MountContext,
        op: Operation,
        path: &str,
        body: Value,
    ) -> Result<CredentialResponse, EngineError> {
        call_with(c, op, path, body, None, None).await
    }

    async fn login(
        c: &MountContext,
        body: Value,
        chain: &[CertificateDer<'static>],
    ) -> Result<LoginGrant, EngineError> {
        let addr = Some("127.0.0.1".parse().unwrap());
        match call_with(
            c,
            Operation::Update,
            "login",
            body,
            Some(chain.to_vec()),
            addr,
        )
        .await?
        {
            CredentialResponse::Login(g) => Ok(g),
            CredentialResponse::Engine(e) => panic!("unexpected response {e:?}"),
        }
    }

    fn engine(r: Result<CredentialResponse, EngineError>) -> EngineResponse {
        match r.unwrap() {
            CredentialResponse::Engine(e) => e,
            CredentialResponse::Login(g) => panic!("unexpected login grant for {}", g.principal),
        }
    }

    fn invalid(r: Result<CredentialResponse, EngineError>) -> String {
        match r {
            Err(EngineError::Invalid(m)) => m,
            other => panic!("expected Invalid, got {:?}", other.map(|_| ()).err()),
        }
    }

    fn refused(r: Result<LoginGrant, EngineError>) {
        match r {
            Err(e @ EngineError::LoginFailed(_)) => assert_eq!(e.to_string(), LOGIN_FAILED),
            other => panic!("expected LoginFailed, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn role_crud_and_shapes() {
        let c = ctx().await;
        let root = ca("Root CA", None);
        let m = invalid(call(&c, Operation::Update, "certs/web", json!({})).await);
        assert_eq!(m, "missing certificate");
        for bad in [
            "not a pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            let m = invalid(
                call(
                    &c,
                    Operation::Update,
                    "certs/web",
                    json!({ "certificate": bad }),
                )
                .await,
            );
            assert!(m.starts_with("failed to parse certificate"), "{m}");
        }
        assert!(matches!(
            call(&c, Operation::List, "certs/", json!({})).await,
            Err(EngineError::NotFound)
        ));
        let r = engine(
            call(
                &c,
                Operation::Update,
                "certs/Web",
                json!({
                    "certificate": root.pem(), "allowed_common_names": "web-*, api",
                    "token_policies": ["web"], "token_ttl": "1h", "allowed_dns_sans": [],
                    "ocsp_enabled": false, "bogus": 1
                }),
            )
            .await,
        );
        assert_eq!(
            r.warnings,
            vec!["Endpoint ignored these unrecognized parameters: [bogus]"]
        );
        let data = engine(call(&c, Operation::Read, "certs/web", json!({})).await)
            .data
            .unwrap();
        assert_eq!(
            data,
            json!({
                "certificate": root.pem(),
                "allowed_common_names": ["web-*", "api"],
                "display_name": "web",
                "allowed_dns_sans": [], "allowed_email_sans": [],
                "allowed_metadata_extensions": [], "allowed_organizational_units": [],
                "allowed_uri_sans": [], "required_extensions": [],
                "token_bound_cidrs": [], "token_explicit_max_ttl": 0, "token_max_ttl": 0,
                "token_no_default_policy": false, "token_num_uses": 0, "token_period": 0,
                "token_policies": ["web"], "token_strictly_bind_ip": false, "token_ttl": 3600,
                "token_type": "default"
            })
        );
        // An update changes only what it names.
        engine(
            call(
                &c,
                Operation::Update,
                "certs/web",
                json!({"display_name": "frontend", "token_num_uses": 2}),
            )
            .await,
        );
        let data = engine(call(&c, Operation::Read, "certs/web", json!({})).await)
            .data
            .unwrap();
        assert_eq!(data["display_name"], "frontend");
        assert_eq!(data["certificate"], root.pem());
        assert_eq!(data["allowed_common_names"], json!(["web-*", "api"]));
        assert_eq!(
            (data["token_ttl"].clone(), data["token_num_uses"].clone()),
            (json!(3600), json!(2))
        );

        for (field, value) in [
            ("allowed_dns_sans", json!(["x.example"])),
            ("required_extensions", json!("1.2.3.4:*")),
            ("ocsp_enabled", json!(true)),
        ] {
            let m = invalid(
                call(
                    &c,
                    Operation::Update,
                    "certs/other",
                    json!({ "certificate": root.pem(), field: value }),
                )
                .await,
            );
            assert!(m.contains(field) && m.contains("not supported"), "{m}");
        }
        assert!(matches!(
            call(&c, Operation::Read, "certs/other", json!({})).await,
            Err(EngineError::NotFound)
        ));

        engine(
            call(
                &c,
                Operation::Update,
                "certs/api",
                json!({"certificate": root.pem()}),
            )
            .await,
        );
        for path in ["certs/", "certs"] {
            let r = engine(call(&c, Operation::List, path, json!({})).await);
            assert_eq!(r.data.unwrap(), json!({"keys": ["api", "web"]}));
        }
        let exists_at = |path: &'static str| {
            let c = &c;
            async move {
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
        };
        assert_eq!(exists_at("certs/api").await, Some(true));
        assert_eq!(exists_at("certs/nope").await, Some(false));
        assert_eq!(exists_at("login").await, None);
        let r = engine(call(&c, Operation::Delete, "certs/api", json!({})).await);
        assert_eq!(r, EngineResponse::empty());
        engine(call(&c, Operation::Delete, "certs/api", json!({})).await);
        assert_eq!(exists_at("certs/api").await, Some(false));
        assert_eq!(c.view.list("").await.unwrap(), ["cert/"]);
    }

    #[tokio::test]
    async fn unsupported_paths_names_and_verbs() {
        let c = ctx().await;
        for path in ["", "cert/x", "certs/a/b", "login/x", "crls/x", "config"] {
            assert!(
                matches!(
                    call(&c, Operation::Update, path, json!({})).await,
                    Err(EngineError::UnsupportedPath)
                ),
                "{path:?}"
            );
        }
        for bad in ["-a", "a-", "a b", "a:b", ".x"] {
            let m = invalid(call(&c, Operation::Read, &format!("certs/{bad}"), json!({})).await);
            assert!(m.contains("invalid certificate role name"), "{bad}: {m}");
        }
        for (op, path) in [
            (Operation::Read, "login"),
            (Operation::Update, "certs/"),
            (Operation::Patch, "certs/a"),
            (Operation::List, "certs/a"),
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

    #[test]
    fn chain_verification() {
        let now = UnixTime::now();
        let root = ca("Root CA", None);
        let inter = ca("Intermediate CA", Some(&root));
        let other = ca("Other CA", None);
        let by_root = leaf("web-1", &root);
        let by_inter = leaf("web-2", &inter);
        let trust = |pem: &str| Trust::parse(pem).unwrap();

        // Directly under the role's CA; through an intermediate the client presents.
        trust(&root.pem()).admits(from_ref(&by_root), now).unwrap();
        trust(&root.pem())
            .admits(&[by_inter.clone(), inter.der().clone()], now)
            .unwrap();
        // A role trusting the intermediate only.
        trust(&inter.pem())
            .admits(from_ref(&by_inter), now)
            .unwrap();
        // A bundle: any of its CAs.
        let bundle = format!("{}{}", other.pem(), root.pem());
        trust(&bundle).admits(from_ref(&by_root), now).unwrap();

        // Refused: another CA, a missing intermediate, an intermediate not trusting up.
        assert!(trust(&other.pem()).admits(from_ref(&by_root), now).is_err());
        assert!(trust(&root.pem()).admits(from_ref(&by_inter), now).is_err());
        assert!(trust(&inter.pem()).admits(from_ref(&by_root), now).is_err());
        // Expired, not yet valid, or a server-only certificate.
        let expired = leaf_with("old", &root, |p| {
            p.not_before = rcgen::date_time_ymd(2000, 1, 1);
            p.not_after = rcgen::date_time_ymd(2001, 1, 1);
        });
        let e = trust(&root.pem()).admits(&[expired], now).unwrap_err();
        assert!(e.contains("Expired"), "{e}");
        let future = leaf_with("future", &root, |p| {
            p.not_before = rcgen::date_time_ymd(3000, 1, 1);
            p.not_after = rcgen::date_time_ymd(3001, 1, 1);
        });
        assert!(trust(&root.pem()).admits(&[future], now).is_err());
        let server_only = leaf_with("server", &root, |p| {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        });
        assert!(trust(&root.pem()).admits(&[server_only], now).is_err());
        // A CA certificate is no client certificate.
        assert!(trust(&root.pem())
            .admits(&[inter.der().clone()], now)
            .is_err());

        // A pinned (non-CA) certificate admits exactly itself.
        let pinned = trust(&pem(&by_root));
        assert!(pinned.cas.is_empty());
        pinned.admits(from_ref(&by_root), now).unwrap();
        assert!(pinned.admits(&[leaf("web-1", &root)], now).is_err());
        let old = leaf_with("old", &root, |p| {
            p.not_before = rcgen::date_time_ymd(2000, 1, 1);
            p.not_after = rcgen::date_time_ymd(2001, 1, 1);
        });
        assert!(trust(&pem(&old)).admits(&[old], now).is_err());
    }

    #[tokio::test]
    async fn login_grant_and_metadata() {
        let c = ctx().await;
        let root = ca("Root CA", None);
        let client = leaf_with("web-client", &root, |p| {
            p.serial_number = Some(SerialNumber::from(0x0102_0304_0506_u64));
        });
        engine(
            call(
                &c,
                Operation::Update,
                "certs/web",
                json!({
                    "certificate": root.pem(), "display_name": "frontend",
                    "token_policies": "web,ops", "token_ttl": 600, "allowed_common_names": ["web-*"]
                }),
            )
            .await,
        );
        let g = login(&c, json!({}), from_ref(&client)).await.unwrap();
        assert_eq!(g.principal, "frontend");
        assert_eq!(g.login_path, "login");
        assert_eq!(g.token.policies, vec!["ops", "web"]);
        assert_eq!(g.token.ttl, 600);
        let ca_info = LeafInfo::parse(root.der()).unwrap();
        let info = LeafInfo::parse(&client).unwrap();
        assert!(!info.subject_key_id.is_empty());
        assert!(!ca_info.subject_key_id.is_empty());
        let hex_pairs = |s: &str| {
            s.split(':').all(|p| {
                p.len() == 2
                    && p.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
        };
        assert!(hex_pairs(&info.subject_key_id), "{}", info.subject_key_id);
        assert_eq!(
            g.metadata,
            BTreeMap::from([
                ("cert_name".to_string(), "web".to_string()),
                ("common_name".to_string(), "web-client".to_string()),
                (
                    "serial_number".to_string(),
                    0x0102_0304_0506_u64.to_string()
                ),
                ("subject_key_id".to_string(), info.subject_key_id.clone()),
                (
                    "authority_key_id".to_string(),
                    ca_info.subject_key_id.clone()
                ),
            ])
        );
        // Naming the role works too; the chain's extra certificates are intermediates.
        let g = login(&c, json!({"name": "WEB"}), &[client, root.der().clone()])
            .await
            .unwrap();
        assert_eq!(g.metadata["cert_name"], "web");
    }

    #[tokio::test]
    async fn login_refusals_and_role_order() {
        let c = ctx().await;
        let root = ca("Root CA", None);
        let other = ca("Other CA", None);
        let client = leaf("db-client", &root);
        // No certificate at all: a 400 that says so.
        for certs in [None, Some(Vec::new())] {
            let m =
                invalid(call_with(&c, Operation::Update, "login", json!({}), certs, None).await);
            assert_eq!(m, NO_CLIENT_CERT);
        }
        // No roles; a role of another CA; a role whose names do not match.
        refused(login(&c, json!({}), from_ref(&client)).await);
        engine(
            call(
                &c,
                Operation::Update,
                "certs/a-other",
                json!({"certificate": other.pem()}),
            )
            .await,
        );
        refused(login(&c, json!({}), from_ref(&client)).await);
        engine(
            call(
                &c,
                Operation::Update,
                "certs/b-web",
                json!({"certificate": root.pem(), "allowed_common_names": ["web-*", "api"]}),
            )
            .await,
        );
        refused(login(&c, json!({}), from_ref(&client)).await);
        // Bound to an address the client is not at.
        engine(
            call(
                &c,
                Operation::Update,
                "certs/c-bound",
                json!({"certificate": root.pem(), "token_bound_cidrs": ["10.0.0.0/8"]}),
            )
            .await,
        );
        refused(login(&c, json!({}), from_ref(&client)).await);
        // Two matching roles: the first by name wins; `name` picks one.
        engine(
            call(
                &c,
                Operation::Update,
                "certs/e-db",
                json!({"certificate": root.pem(), "token_policies": "e"}),
            )
            .await,
        );
        engine(
            call(
                &c,
                Operation::Update,
                "certs/d-db",
                json!({
                    "certificate": root.pem(), "allowed_common_names": "db-*",
                    "token_policies": "d"
                }),
            )
            .await,
        );
        let g = login(&c, json!({}), from_ref(&client)).await.unwrap();
        assert_eq!(
            (g.metadata["cert_name"].as_str(), g.token.policies),
            ("d-db", vec!["d".to_string()])
        );
        let g = login(&c, json!({"name": "e-db"}), from_ref(&client))
            .await
            .unwrap();
        assert_eq!(g.metadata["cert_name"], "e-db");
        // A named role that does not admit the client, does not exist, or cannot exist.
        for name in ["b-web", "nope", "-bad-"] {
            refused(login(&c, json!({ "name": name }), from_ref(&client)).await);
        }
        let inside = call_with(
            &c,
            Operation::Update,
            "login",
            json!({"name": "c-bound"}),
            Some(vec![client]),
            Some("10.1.2.3".parse().unwrap()),
        )
        .await;
        assert!(matches!(inside, Ok(CredentialResponse::Login(_))));
    }

    #[test]
    fn globs() {
        for (pattern, text) in [
            ("web", "web"),
            ("*", ""),
            ("*", "anything"),
            ("web-*", "web-1"),
            ("web-*", "web-"),
            ("*.example.com", "a.b.example.com"),
            ("a*b*c", "abc"),
            ("a*b*c", "a-b-b-c"),
            ("*-*", "x-y"),
        ] {
            assert!(star_glob(pattern, text), "{pattern} {text}");
        }
        for (pattern, text) in [
            ("web", "web2"),
            ("web", "Web"),
            ("web-*", "web"),
            ("*.example.com", "example.com"),
            ("a*b*c", "acb"),
            ("ab*ba", "aba"),
            ("", "x"),
        ] {
            assert!(!star_glob(pattern, text), "{pattern} {text}");
        }
    }

    #[test]
    fn colon_hex_and_routes() {
        assert_eq!(colon_hex(&[0x9f, 0x81, 0x0a]), "9f:81:0a");
        assert_eq!(colon_hex(&[]), "");
        assert_eq!(Route::parse("login").unwrap(), Route::Login);
        assert_eq!(Route::parse("certs").unwrap(), Route::Roles);
        assert_eq!(Route::parse("certs/").unwrap(), Route::Roles);
        assert_eq!(
            Route::parse("certs/ Web ").unwrap(),
            Route::Role("web".into())
        );
        assert!(Route::parse("certs/").is_ok());
        assert!(Route::parse("certs//").is_err());
    }
}
