//! `auth/token/*` endpoints behind the ACL.

use strongroom_client::api::TokenLookup;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::core::request::{unknown_field_warning, LogicalRequest, LogicalResponse, Operation};
use crate::core::{Caller, CoreError};
use crate::policy::Authorized;
use crate::router::TokenEndpoint;

use super::TokenEntry;

/// Dispatches a token endpoint.
pub fn handle(
    endpoint: TokenEndpoint,
    req: &LogicalRequest,
    caller: &Caller<'_>,
    _authorized: Authorized,
) -> Result<LogicalResponse, CoreError> {
    match (endpoint, req.operation) {
        (TokenEndpoint::LookupSelf, Operation::Read | Operation::Update) => {
            let data = lookup_data(
                &caller.entry,
                caller.token.expose(),
                OffsetDateTime::now_utc(),
            );
            let mut resp = LogicalResponse::with_data(
                serde_json::to_value(data).map_err(|e| CoreError::Invalid(e.to_string()))?,
            );
            resp.warnings.extend(unknown_field_warning(&req.data, &[]));
            Ok(resp)
        }
        (TokenEndpoint::LookupSelf, _) => Err(CoreError::MethodNotAllowed),
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The lookup shape (wire reference §4.3).
pub fn lookup_data(entry: &TokenEntry, id: &str, now: OffsetDateTime) -> TokenLookup {
    let issued = entry.issued_at();
    TokenLookup {
        accessor: entry.accessor.clone(),
        creation_time: issued.unix_timestamp(),
        creation_ttl: entry.ttl,
        display_name: entry.display_name.clone(),
        entity_id: String::new(),
        expire_time: entry.expires_at().map(rfc3339),
        explicit_max_ttl: entry.explicit_max_ttl,
        id: id.to_string(),
        issue_time: rfc3339(issued),
        meta: entry.meta.clone(),
        num_uses: entry.num_uses,
        orphan: entry.orphan,
        path: entry.path.clone(),
        policies: entry.policies.clone(),
        renewable: entry.renewable,
        ttl: entry.remaining_ttl(now),
        token_type: "service".to_string(),
    }
}
