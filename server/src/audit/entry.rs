//! Audit entries: what one request and its response look like in an audit line.
//!
//! Vault's format (wire reference §2.15): `{"time","type":"request"|"response","auth",
//! "request",["response"],["error"]}`. Hashing rules: every string leaf of request and
//! response `data` (recursively; numbers, bools and null clear; keys and structure
//! clear), the client token, accessors (unless `hmac_accessor=false`), the response's
//! `auth.client_token/accessor`, `wrap_info.token/accessor/wrapped_accessor`, and the error
//! text placed in `response.data.error`. `log_raw` turns hashing off. The entry is
//! rendered per device because each device hashes with its own salt.

use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::Value;

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

    /// Writes a secret string as a JSON string (hashed unless raw).
    pub fn secret_into(&self, buf: &mut String, s: &str) {
        match self.salt {
            Some(salt) => {
                buf.push('"');
                salt.hash_into(buf, s);
                buf.push('"');
            }
            None => escape_into(buf, s),
        }
    }

    /// A secret string as a JSON string literal.
    pub fn secret(&self, s: &str) -> String {
        let mut out = String::with_capacity(80);
        self.secret_into(&mut out, s);
        out
    }

    /// An accessor as a JSON string literal.
    pub fn accessor(&self, s: &str) -> String {
        if self.hmac_accessor {
            self.secret(s)
        } else {
            let mut out = String::with_capacity(s.len() + 2);
            escape_into(&mut out, s);
            out
        }
    }

    /// Writes `value` with every string leaf hashed (keys and structure clear).
    pub fn data_into(&self, buf: &mut String, value: &Value) {
        match value {
            Value::String(s) => self.secret_into(buf, s),
            Value::Array(items) => {
                buf.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        buf.push(',');
                    }
                    self.data_into(buf, v);
                }
                buf.push(']');
            }
            Value::Object(map) => {
                buf.push('{');
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        buf.push(',');
                    }
                    escape_into(buf, k);
                    buf.push(':');
                    self.data_into(buf, v);
                }
                buf.push('}');
            }
            Value::Null => buf.push_str("null"),
            Value::Bool(b) => buf.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                let _ = write!(buf, "{n}");
            }
        }
    }
}

/// Writes `s` as a JSON string literal.
fn escape_into(buf: &mut String, s: &str) {
    buf.push('"');
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // The common case: nothing to escape, one copy.
        buf.push_str(s);
        buf.push('"');
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        buf.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(buf, "\\u{b:04x}");
        } else {
            buf.push_str(esc);
        }
        start = i + 1;
    }
    buf.push_str(&s[start..]);
    buf.push('"');
}

/// A JSON object being written.
struct Obj<'b> {
    buf: &'b mut String,
    first: bool,
}

impl<'b> Obj<'b> {
    fn open(buf: &'b mut String) -> Obj<'b> {
        buf.push('{');
        Obj { buf, first: true }
    }

    /// Writes the member name; the value must follow.
    fn key(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.buf.push(',');
        }
        self.first = false;
        escape_into(self.buf, k);
        self.buf.push(':');
        self.buf
    }

    fn str(&mut self, k: &str, v: &str) {
        escape_into(self.key(k), v);
    }

    /// A value already rendered as JSON.
    fn raw(&mut self, k: &str, v: &str) {
        self.key(k).push_str(v);
    }

    fn num(&mut self, k: &str, v: u64) {
        let _ = write!(self.key(k), "{v}");
    }

    fn bool(&mut self, k: &str, v: bool) {
        self.key(k).push_str(if v { "true" } else { "false" });
    }

    fn strs(&mut self, k: &str, items: &[String]) {
        let buf = self.key(k);
        buf.push('[');
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                buf.push(',');
            }
            escape_into(buf, s);
        }
        buf.push(']');
    }

    fn string_map(&mut self, k: &str, map: &std::collections::BTreeMap<String, String>) {
        let mut m = Obj::open(self.key(k));
        for (k, v) in map {
            m.str(k, v);
        }
        m.close();
    }

    fn child(&mut self, k: &str) -> Obj<'_> {
        Obj::open(self.key(k))
    }

    fn close(self) {
        self.buf.push('}');
    }
}

/// Values rendered once per device and request, shared by its two entries: the token and
/// its accessor appear in both (four HMACs saved per request).
#[derive(Debug, Default)]
pub(super) struct Memo {
    token: Option<String>,
    accessor: Option<String>,
    issue_time: String,
}

impl Memo {
    fn new(h: &Hasher<'_>, req: &LogicalRequest, trail: &AuditTrail) -> Memo {
        Memo {
            token: req.token.as_ref().map(|t| h.secret(t.expose())),
            accessor: trail.token.as_ref().map(|e| h.accessor(&e.accessor)),
            issue_time: trail
                .token
                .as_ref()
                .map(|e| unix_nanos_rfc3339(e.issued_at_unix_nanos))
                .unwrap_or_default(),
        }
    }
}

/// What the core learnt about a request on its way, for its two audit entries.
#[derive(Debug, Default)]
pub struct AuditTrail {
    /// The devices that were enabled when the request entry was logged: the response
    /// entry goes to the same ones. `None` until the request entry is logged.
    pub(super) devices: Option<Arc<Vec<Arc<Device>>>>,
    /// Per device (same order): the values both entries share.
    pub(super) memos: Vec<Memo>,
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

fn auth_block(e: &mut Obj<'_>, trail: &AuditTrail, memo: &Memo) {
    let mut auth = e.child("auth");
    if let Some(entry) = &trail.token {
        if let Some(t) = &memo.token {
            auth.raw("client_token", t);
        }
        if let Some(a) = &memo.accessor {
            auth.raw("accessor", a);
        }
        auth.str("display_name", &entry.display_name);
        auth.strs("policies", &entry.policies);
        auth.strs("token_policies", &entry.policies);
        if let Some(meta) = &entry.meta {
            auth.string_map("metadata", meta);
        }
        auth.str("token_type", "service");
        auth.str("token_issue_time", &memo.issue_time);
        auth.num("token_ttl", entry.ttl);
    }
    auth.close();
}

fn mount_fields(out: &mut Obj<'_>, trail: &AuditTrail) {
    if let Some(m) = &trail.mount {
        out.str("mount_point", &m.path);
        out.str("mount_type", m.mount_type.as_str());
        out.str("mount_accessor", &m.accessor);
    }
}

fn request_block(
    e: &mut Obj<'_>,
    h: &Hasher<'_>,
    req: &LogicalRequest,
    trail: &AuditTrail,
    memo: &Memo,
) {
    let mut r = e.child("request");
    r.str("id", &req.id);
    r.str("operation", req.operation.as_str());
    mount_fields(&mut r, trail);
    r.raw("namespace", "{\"id\":\"root\"}");
    r.str("path", &req.path);
    if !req.data.is_empty() {
        let buf = r.key("data");
        let mut data = Obj::open(buf);
        for (k, v) in &req.data {
            h.data_into(data.key(k), v);
        }
        data.close();
    }
    if let Some(addr) = req.remote_addr {
        r.str("remote_address", &addr.to_string());
    }
    if let Some(t) = &memo.token {
        r.raw("client_token", t);
    }
    if let Some(a) = &memo.accessor {
        r.raw("client_token_accessor", a);
    }
    if let Some(ttl) = req.wrap_ttl {
        r.num("wrap_ttl", ttl);
    }
    r.close();
}

fn response_block(e: &mut Obj<'_>, h: &Hasher<'_>, resp: &LogicalResponse, trail: &AuditTrail) {
    let mut r = e.child("response");
    mount_fields(&mut r, trail);
    if let Some(data) = &resp.data {
        h.data_into(r.key("data"), data);
    }
    if let Some(auth) = &resp.auth {
        let mut a = r.child("auth");
        h.secret_into(a.key("client_token"), &auth.client_token);
        a.raw("accessor", &h.accessor(&auth.accessor));
        a.strs("policies", &auth.policies);
        a.strs("token_policies", &auth.token_policies);
        if let Some(meta) = &auth.metadata {
            a.string_map("metadata", meta);
        }
        a.num("lease_duration", auth.lease_duration);
        a.bool("renewable", auth.renewable);
        a.str("token_type", &auth.token_type);
        a.bool("orphan", auth.orphan);
        a.num("num_uses", auth.num_uses);
        a.close();
    }
    if let Some(w) = &resp.wrap_info {
        let mut m = r.child("wrap_info");
        h.secret_into(m.key("token"), &w.token);
        m.raw("accessor", &h.accessor(&w.accessor));
        m.num("ttl", w.ttl);
        m.str("creation_time", &w.creation_time);
        m.str("creation_path", &w.creation_path);
        if let Some(wrapped) = &w.wrapped_accessor {
            m.raw("wrapped_accessor", &h.accessor(wrapped));
        }
        m.close();
    }
    if !resp.lease_id.is_empty() {
        let mut secret = r.child("secret");
        secret.str("lease_id", &resp.lease_id);
        secret.close();
        r.num("lease_duration", resp.lease_duration);
        r.bool("renewable", resp.renewable);
    }
    if !resp.warnings.is_empty() {
        r.strs("warnings", &resp.warnings);
    }
    r.close();
}

/// The compact JSON of a `request` entry (`outcome = None`) or a `response` entry.
pub(super) fn render(
    h: &Hasher<'_>,
    memo: &Memo,
    time: &str,
    req: &LogicalRequest,
    trail: &AuditTrail,
    outcome: Option<&Result<LogicalResponse, CoreError>>,
) -> String {
    let mut buf = String::with_capacity(2048);
    let mut e = Obj::open(&mut buf);
    e.str("time", time);
    e.str(
        "type",
        if outcome.is_some() {
            "response"
        } else {
            "request"
        },
    );
    auth_block(&mut e, trail, memo);
    request_block(&mut e, h, req, trail, memo);
    match outcome {
        None => {}
        Some(Ok(resp)) => response_block(&mut e, h, resp, trail),
        Some(Err(err)) => {
            let message = err.public_messages().join("; ");
            let mut r = e.child("response");
            mount_fields(&mut r, trail);
            let mut data = r.child("data");
            h.secret_into(data.key("error"), &message);
            data.close();
            r.close();
            e.str("error", &message);
        }
    }
    e.close();
    buf
}

/// Renders one request's entry for a device: the memo is computed with the request entry
/// and reused for the response entry.
pub(super) fn render_for(
    device: &Device,
    memo: &mut Option<Memo>,
    time: &str,
    req: &LogicalRequest,
    trail: &AuditTrail,
    outcome: Option<&Result<LogicalResponse, CoreError>>,
) -> String {
    let h = device.hasher();
    let memo = memo.get_or_insert_with(|| Memo::new(&h, req, trail));
    render(&h, memo, time, req, trail, outcome)
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
    use serde_json::{json, Map};

    #[test]
    fn string_leaves_hashed_numbers_clear() {
        let salt = Salt::from_text("salt");
        let h = Hasher::new(Some(&salt), true);
        let v = json!({"a": "x", "n": 5, "b": true, "z": null, "f": 1.5, "q": "a\"b\n\u{1}",
                       "nested": {"list": ["y", 1, {"deep": "z"}]}});
        let data = |h: &Hasher<'_>| {
            let mut buf = String::new();
            h.data_into(&mut buf, &v);
            serde_json::from_str::<Value>(&buf).unwrap()
        };
        let out = data(&h);
        assert_eq!(out["a"], salt.hash("x").as_str());
        assert_eq!(out["n"], 5);
        assert_eq!(out["b"], true);
        assert_eq!(out["z"], Value::Null);
        assert_eq!(out["nested"]["list"][0], salt.hash("y").as_str());
        assert_eq!(out["nested"]["list"][1], 1);
        assert_eq!(out["nested"]["list"][2]["deep"], salt.hash("z").as_str());
        assert_eq!(out["f"], 1.5);
        let raw = Hasher::new(None, true);
        assert_eq!(data(&raw), v, "log_raw: the same JSON, escaping included");
        let clear_accessor = Hasher::new(Some(&salt), false);
        assert_eq!(clear_accessor.accessor("acc"), "\"acc\"");
        assert_eq!(h.accessor("acc"), format!("\"{}\"", salt.hash("acc")));
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
        let memo = Memo::new(&h, &req, &trail);
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
        let line = render(&h, &memo, &now(), &req, &trail, Some(&Ok(resp)));
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
            &memo,
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
