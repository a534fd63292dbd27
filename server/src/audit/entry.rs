//! Audit entries: what one request and its response look like in an audit line.
//!
//! Vault's format (wire reference §2.15): `{"time","type":"request"|"response","auth",
//! "request",["response"],["error"]}`. Hashing rules: every string leaf of request and
//! response `data` (recursively; numbers, bools and null clear; keys and structure
//! clear), the client token, accessors (unless `hmac_accessor=false`), the response's
//! `auth.client_token/accessor`, `wrap_info.token/accessor/wrapped_accessor`, and the error
//! text placed in `response.data.error`. `log_raw` turns hashing off. The entry is
//! rendered per device because each device hashes with its own salt.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::device::Device;
use super::salt::Salt;
use crate::auth::TokenEntry;
use crate::core::request::{LogicalRequest, LogicalResponse};
use crate::core::CoreError;
use crate::mount::MountEntry;

/// How a device renders sensitive values.
#[derive(Debug, Clone, Copy)]
pub struct Hasher<'a> {
    /// `None`: `log_raw`.
    salt: Option<&'a Salt>,
    hmac_accessor: bool,
}

impl<'a> Hasher<'a> {
    /// A hasher with `salt` (`None` = raw) that hashes accessors or not.
    pub fn new(salt: Option<&'a Salt>, hmac_accessor: bool) -> Hasher<'a> {
        Hasher {
            salt,
            hmac_accessor,
        }
    }

    /// A secret string.
    pub fn secret(&self, s: &str) -> Value {
        Value::String(match self.salt {
            Some(salt) => salt.hash(s),
            None => s.to_string(),
        })
    }

    /// An accessor.
    pub fn accessor(&self, s: &str) -> Value {
        if self.hmac_accessor {
            self.secret(s)
        } else {
            Value::String(s.to_string())
        }
    }

    /// `value` with every string leaf hashed.
    pub fn data(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => self.secret(s),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.data(v)).collect()),
            Value::Object(map) => Value::Object(self.map(map)),
            Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
        }
    }

    /// A map with every string leaf hashed.
    pub fn map(&self, map: &Map<String, Value>) -> Map<String, Value> {
        map.iter().map(|(k, v)| (k.clone(), self.data(v))).collect()
    }
}

/// What the core learnt about a request on its way, for its two audit entries.
#[derive(Debug, Default)]
pub struct AuditTrail {
    /// The devices that were enabled when the request entry was logged: the response
    /// entry goes to the same ones. `None` until the request entry is logged.
    pub(super) devices: Option<Arc<Vec<Arc<Device>>>>,
    /// The request entry could not be recorded: the request was refused.
    pub(super) refused: bool,
    /// The caller's token entry, once resolved.
    pub(super) token: Option<Arc<TokenEntry>>,
    /// The mount the path falls in.
    pub(super) mount: Option<Arc<MountEntry>>,
}

impl AuditTrail {
    /// Records the caller's resolved token.
    pub fn set_token(&mut self, entry: Arc<TokenEntry>) {
        self.token = Some(entry);
    }

    /// Whether the request entry was written (or there were no devices).
    pub fn request_logged(&self) -> bool {
        self.devices.is_some()
    }

    /// Whether the request was refused because no device could record it.
    pub fn refused(&self) -> bool {
        self.refused
    }
}

/// RFC 3339 with nanoseconds, UTC.
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn unix_nanos_rfc3339(nanos: i128) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.replace_nanosecond(0).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn auth_block(h: &Hasher<'_>, req: &LogicalRequest, trail: &AuditTrail) -> Value {
    let mut auth = Map::new();
    let Some(entry) = &trail.token else {
        return Value::Object(auth);
    };
    if let Some(token) = &req.token {
        auth.insert("client_token".into(), h.secret(token.expose()));
    }
    auth.insert("accessor".into(), h.accessor(&entry.accessor));
    auth.insert(
        "display_name".into(),
        Value::from(entry.display_name.as_str()),
    );
    let policies = Value::from(entry.policies.clone());
    auth.insert("policies".into(), policies.clone());
    auth.insert("token_policies".into(), policies);
    if let Some(meta) = &entry.meta {
        auth.insert(
            "metadata".into(),
            serde_json::to_value(meta).unwrap_or(Value::Null),
        );
    }
    auth.insert("token_type".into(), Value::from("service"));
    auth.insert(
        "token_issue_time".into(),
        Value::from(unix_nanos_rfc3339(entry.issued_at_unix_nanos)),
    );
    auth.insert("token_ttl".into(), Value::from(entry.ttl));
    Value::Object(auth)
}

fn mount_fields(out: &mut Map<String, Value>, trail: &AuditTrail) {
    if let Some(m) = &trail.mount {
        out.insert("mount_point".into(), Value::from(m.path.as_str()));
        out.insert("mount_type".into(), Value::from(m.mount_type.as_str()));
        out.insert("mount_accessor".into(), Value::from(m.accessor.as_str()));
    }
}

fn request_block(h: &Hasher<'_>, req: &LogicalRequest, trail: &AuditTrail) -> Value {
    let mut r = Map::new();
    r.insert("id".into(), Value::from(req.id.as_str()));
    r.insert("operation".into(), Value::from(req.operation.as_str()));
    mount_fields(&mut r, trail);
    r.insert("namespace".into(), serde_json::json!({"id": "root"}));
    r.insert("path".into(), Value::from(req.path.as_str()));
    if !req.data.is_empty() {
        r.insert("data".into(), Value::Object(h.map(&req.data)));
    }
    if let Some(addr) = req.remote_addr {
        r.insert("remote_address".into(), Value::from(addr.to_string()));
    }
    if let Some(token) = &req.token {
        r.insert("client_token".into(), h.secret(token.expose()));
    }
    if let Some(entry) = &trail.token {
        r.insert("client_token_accessor".into(), h.accessor(&entry.accessor));
    }
    if let Some(ttl) = req.wrap_ttl {
        r.insert("wrap_ttl".into(), Value::from(ttl));
    }
    Value::Object(r)
}

fn response_block(h: &Hasher<'_>, resp: &LogicalResponse, trail: &AuditTrail) -> Value {
    let mut r = Map::new();
    mount_fields(&mut r, trail);
    if let Some(data) = &resp.data {
        r.insert("data".into(), h.data(data));
    }
    if let Some(auth) = &resp.auth {
        let mut a = Map::new();
        a.insert("client_token".into(), h.secret(&auth.client_token));
        a.insert("accessor".into(), h.accessor(&auth.accessor));
        a.insert("policies".into(), Value::from(auth.policies.clone()));
        a.insert(
            "token_policies".into(),
            Value::from(auth.token_policies.clone()),
        );
        if let Some(meta) = &auth.metadata {
            a.insert(
                "metadata".into(),
                serde_json::to_value(meta).unwrap_or(Value::Null),
            );
        }
        a.insert("lease_duration".into(), Value::from(auth.lease_duration));
        a.insert("renewable".into(), Value::from(auth.renewable));
        a.insert("token_type".into(), Value::from(auth.token_type.as_str()));
        a.insert("orphan".into(), Value::from(auth.orphan));
        a.insert("num_uses".into(), Value::from(auth.num_uses));
        r.insert("auth".into(), Value::Object(a));
    }
    if let Some(w) = &resp.wrap_info {
        let mut m = Map::new();
        m.insert("token".into(), h.secret(&w.token));
        m.insert("accessor".into(), h.accessor(&w.accessor));
        m.insert("ttl".into(), Value::from(w.ttl));
        m.insert(
            "creation_time".into(),
            Value::from(w.creation_time.as_str()),
        );
        m.insert(
            "creation_path".into(),
            Value::from(w.creation_path.as_str()),
        );
        if let Some(wrapped) = &w.wrapped_accessor {
            m.insert("wrapped_accessor".into(), h.accessor(wrapped));
        }
        r.insert("wrap_info".into(), Value::Object(m));
    }
    if !resp.lease_id.is_empty() {
        r.insert(
            "secret".into(),
            serde_json::json!({"lease_id": resp.lease_id}),
        );
        r.insert("lease_duration".into(), Value::from(resp.lease_duration));
        r.insert("renewable".into(), Value::from(resp.renewable));
    }
    if !resp.warnings.is_empty() {
        r.insert("warnings".into(), Value::from(resp.warnings.clone()));
    }
    Value::Object(r)
}

/// The compact JSON of a `request` entry (`outcome = None`) or a `response` entry.
pub fn render(
    h: &Hasher<'_>,
    time: &str,
    req: &LogicalRequest,
    trail: &AuditTrail,
    outcome: Option<&Result<LogicalResponse, CoreError>>,
) -> String {
    let mut e = Map::new();
    e.insert("time".into(), Value::from(time));
    e.insert(
        "type".into(),
        Value::from(if outcome.is_some() {
            "response"
        } else {
            "request"
        }),
    );
    e.insert("auth".into(), auth_block(h, req, trail));
    e.insert("request".into(), request_block(h, req, trail));
    match outcome {
        None => {}
        Some(Ok(resp)) => {
            e.insert("response".into(), response_block(h, resp, trail));
        }
        Some(Err(err)) => {
            let message = err.public_messages().join("; ");
            let mut r = Map::new();
            mount_fields(&mut r, trail);
            let mut data = Map::new();
            data.insert("error".into(), h.secret(&message));
            r.insert("data".into(), Value::Object(data));
            e.insert("response".into(), Value::Object(r));
            e.insert("error".into(), Value::from(message));
        }
    }
    serde_json::to_string(&Value::Object(e)).unwrap_or_else(|_| "{}".to_string())
}

/// The probe entry written when a device is enabled (Vault: path `sys/audit/test`).
pub fn probe(time: &str) -> String {
    serde_json::json!({
        "time": time,
        "type": "request",
        "auth": {},
        "request": {
            "id": uuid::Uuid::new_v4().to_string(),
            "operation": "update",
            "namespace": {"id": "root"},
            "path": "sys/audit/test",
        },
    })
    .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_leaves_hashed_numbers_clear() {
        let salt = Salt::from_text("salt");
        let h = Hasher::new(Some(&salt), true);
        let v = json!({"a": "x", "n": 5, "b": true, "z": null,
                       "nested": {"list": ["y", 1, {"deep": "z"}]}});
        let out = h.data(&v);
        assert_eq!(out["a"], salt.hash("x").as_str());
        assert_eq!(out["n"], 5);
        assert_eq!(out["b"], true);
        assert_eq!(out["z"], Value::Null);
        assert_eq!(out["nested"]["list"][0], salt.hash("y").as_str());
        assert_eq!(out["nested"]["list"][1], 1);
        assert_eq!(out["nested"]["list"][2]["deep"], salt.hash("z").as_str());
        let raw = Hasher::new(None, true);
        assert_eq!(raw.data(&v), v);
        let clear_accessor = Hasher::new(Some(&salt), false);
        assert_eq!(clear_accessor.accessor("acc"), "acc");
        assert_eq!(h.accessor("acc"), salt.hash("acc").as_str());
    }

    #[test]
    fn entries_never_show_secrets() {
        let salt = Salt::from_text("salt");
        let h = Hasher::new(Some(&salt), true);
        let mut data = Map::new();
        data.insert("password".into(), json!("hunter2-pw"));
        let req = LogicalRequest {
            id: "rid".into(),
            operation: crate::core::request::Operation::Update,
            path: "auth/userpass/login/alice".into(),
            data,
            token: crate::auth::ClientToken::parse("hvs.caller-token"),
            remote_addr: Some("127.0.0.1".parse().unwrap()),
            client_certs: None,
            wrap_ttl: None,
        };
        let trail = AuditTrail::default();
        let resp = LogicalResponse {
            data: Some(json!({"value": "s3cret", "ttl": 30})),
            wrap_info: Some(strongroom_client::api::WrapInfo {
                token: "hvs.wrapping".into(),
                accessor: "wacc".into(),
                ttl: 60,
                creation_time: "t".into(),
                creation_path: "p".into(),
                wrapped_accessor: Some("inner-acc".into()),
            }),
            ..Default::default()
        };
        let line = render(&h, &now(), &req, &trail, Some(&Ok(resp)));
        for secret in [
            "hunter2-pw",
            "caller-token",
            "s3cret",
            "hvs.wrapping",
            "wacc",
            "inner-acc",
        ] {
            assert!(!line.contains(secret), "{secret} in {line}");
        }
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["type"], "response");
        assert_eq!(v["request"]["id"], "rid");
        assert_eq!(v["response"]["data"]["ttl"], 30);
        let err = render(
            &h,
            &now(),
            &req,
            &trail,
            Some(&Err(CoreError::PermissionDenied)),
        );
        let v: Value = serde_json::from_str(&err).unwrap();
        assert_eq!(v["error"], "permission denied");
        assert_eq!(
            v["response"]["data"]["error"],
            salt.hash("permission denied").as_str()
        );
    }
}
