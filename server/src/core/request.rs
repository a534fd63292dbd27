//! The logical request and response: what the HTTP edge hands the core and gets back.
//!
//! Built once by `api` from an HTTP request (method → [`Operation`], `/v1/` stripped,
//! query or body → `data`, token header → [`ClientToken`]) and never mutated afterwards:
//! each layer builds its own input for the next one (DESIGN.md §8 rule 7).

use serde_json::{Map, Value};
use strongroom_client::api::AuthInfo;

use crate::auth::ClientToken;
pub use crate::engines::ResponseStatus;

/// The logical operation, parsed from the HTTP method (and `?list=true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// GET.
    Read,
    /// LIST, or GET with `?list=true`.
    List,
    /// PUT / POST.
    Update,
    /// DELETE.
    Delete,
    /// PATCH with a merge-patch body.
    Patch,
}

impl Operation {
    /// Vault's name of the operation, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::List => "list",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Patch => "patch",
        }
    }
}

/// A request on its way through the core.
pub struct LogicalRequest {
    /// Random UUID, echoed as `request_id`.
    pub id: String,
    /// What to do.
    pub operation: Operation,
    /// Path relative to `/v1/`, clean (no empty, `.` or `..` segments); a list request
    /// ends in `/`.
    pub path: String,
    /// Body (or query) fields.
    pub data: Map<String, Value>,
    /// The presented token, if any.
    pub token: Option<ClientToken>,
    /// The client's address (the TCP peer), when known.
    pub remote_addr: Option<std::net::IpAddr>,
    /// The TLS client certificate chain (leaf first), when the client presented one.
    pub client_certs: Option<CertChain>,
    /// `X-Vault-Wrap-TTL`, seconds, when the client asked for the response to be wrapped
    /// (a TTL of 0 means no wrapping and is `None`).
    pub wrap_ttl: Option<u64>,
}

/// A client's TLS certificate chain as presented in the handshake, leaf first.
pub type CertChain = std::sync::Arc<Vec<rustls::pki_types::CertificateDer<'static>>>;

/// Field names only: request data holds secrets and passwords, which must never reach a
/// log line through `{:?}`.
pub fn redacted_keys(data: &Map<String, Value>) -> Vec<&str> {
    data.keys().map(String::as_str).collect()
}

impl std::fmt::Debug for LogicalRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogicalRequest")
            .field("id", &self.id)
            .field("operation", &self.operation)
            .field("path", &self.path)
            .field("data_keys", &redacted_keys(&self.data))
            .field("token", &self.token)
            .field("remote_addr", &self.remote_addr)
            .field("client_certs", &self.client_certs.as_ref().map(|c| c.len()))
            .field("wrap_ttl", &self.wrap_ttl)
            .finish()
    }
}

/// A successful logical response, before it is put in the envelope.
#[derive(Debug, Default)]
pub struct LogicalResponse {
    /// The `data` member.
    pub data: Option<Value>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// The `auth` member.
    pub auth: Option<AuthInfo>,
    /// Copy the members of `data` to the top level (Vault's legacy sys routes).
    pub duplicate_top_level: bool,
    /// `lease_id` of a secret put on a lease ("" otherwise).
    pub lease_id: String,
    /// Whether that lease is renewable.
    pub renewable: bool,
    /// `lease_duration`: the lease's TTL, or without a lease what kv v1 reads report.
    pub lease_duration: u64,
    /// `mount_type` (Vault): the engine type of the mount that answered, or "".
    pub mount_type: String,
    /// 200, or 404 with the envelope.
    pub status: ResponseStatus,
    /// Set when the response was wrapped: then everything else is empty and the envelope
    /// shows only this (and an empty `request_id`).
    pub wrap_info: Option<strongroom_client::api::WrapInfo>,
}

impl LogicalResponse {
    /// A response with data.
    pub fn with_data(data: Value) -> LogicalResponse {
        LogicalResponse {
            data: Some(data),
            ..Default::default()
        }
    }

    /// An empty success (204 unless there are warnings).
    pub fn empty() -> LogicalResponse {
        LogicalResponse::default()
    }

    /// Whether nothing is to be rendered (→ 204).
    pub fn is_empty(&self) -> bool {
        self.status == ResponseStatus::Ok
            && self.lease_id.is_empty()
            && self.data.is_none()
            && self.auth.is_none()
            && self.wrap_info.is_none()
            && self.warnings.is_empty()
    }
}

/// Warns about fields an endpoint does not know (Vault's wording), instead of failing.
pub fn unknown_field_warning(data: &Map<String, Value>, known: &[&str]) -> Option<String> {
    let mut unknown: Vec<&str> = data
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    unknown.sort_unstable();
    Some(format!(
        "Endpoint ignored these unrecognized parameters: [{}]",
        unknown.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_listed_sorted() {
        let mut data = Map::new();
        data.insert("b".into(), Value::Null);
        data.insert("a".into(), Value::Null);
        data.insert("known".into(), Value::Null);
        assert_eq!(
            unknown_field_warning(&data, &["known"]).as_deref(),
            Some("Endpoint ignored these unrecognized parameters: [a b]")
        );
        assert_eq!(unknown_field_warning(&Map::new(), &[]), None);
    }

    #[test]
    fn debug_never_shows_values() {
        let mut data = Map::new();
        data.insert("password".into(), Value::String("hunter2-secret".into()));
        let req = LogicalRequest {
            id: "r".into(),
            operation: Operation::Update,
            path: "auth/userpass/login/alice".into(),
            data,
            token: ClientToken::parse("hvs.tokentokentoken"),
            remote_addr: None,
            client_certs: None,
            wrap_ttl: None,
        };
        let shown = format!("{req:?}");
        assert!(shown.contains("password"));
        assert!(!shown.contains("hunter2-secret"));
        assert!(!shown.contains("tokentokentoken"));
    }
}
