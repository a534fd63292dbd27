//! `sys/health` (GET/HEAD) and `sys/leader` (GET): unauthenticated, status-driven.

use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value};
use strongroom_client::api::{HealthResponse, LeaderResponse};
use time::OffsetDateTime;

use super::error::ApiError;
use super::response::{empty, json};
use crate::core::{Core, CoreError, CoreState, VERSION};

fn code(query: &Map<String, Value>, name: &str, default: u16) -> Result<StatusCode, ApiError> {
    let Some(raw) = query.get(name).and_then(Value::as_str) else {
        return Ok(StatusCode::from_u16(default).unwrap_or(StatusCode::OK));
    };
    raw.trim()
        .parse::<u16>()
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| ApiError::BadQuery(format!("failed to parse {name} as integer")))
}

pub(super) fn health(
    core: &Core,
    query: &Map<String, Value>,
    head: bool,
) -> Result<Response, ApiError> {
    let state = core.state();
    let active = code(query, "activecode", 200)?;
    // Validated for the client's sake; a single node is never a standby, so `standbyok`
    // and `standbycode` cannot change the answer until HA exists.
    code(query, "standbycode", 429)?;
    let sealed = code(query, "sealedcode", 503)?;
    let uninit = code(query, "uninitcode", 501)?;
    let (status, body) = match &*state {
        CoreState::Uninitialized => (uninit, health_body(false, true, None)),
        CoreState::Sealed(_) => (sealed, health_body(true, true, None)),
        CoreState::Unsealed(u) => (active, health_body(true, false, Some(&u.cluster))),
    };
    if head {
        return Ok(empty(status));
    }
    Ok(json(status, &body))
}

fn health_body(
    initialized: bool,
    sealed: bool,
    cluster: Option<&crate::core::ClusterInfo>,
) -> HealthResponse {
    let mode = if sealed { "unknown" } else { "disabled" };
    HealthResponse {
        initialized,
        sealed,
        standby: sealed,
        performance_standby: false,
        replication_performance_mode: mode.to_string(),
        replication_dr_mode: mode.to_string(),
        server_time_utc: OffsetDateTime::now_utc().unix_timestamp(),
        version: VERSION.to_string(),
        cluster_name: cluster.map(|c| c.name.clone()),
        cluster_id: cluster.map(|c| c.id.clone()),
    }
}

pub(super) fn leader(core: &Core) -> Result<Response, ApiError> {
    core.unsealed().map_err(|_| CoreError::Sealed)?;
    Ok(json(StatusCode::OK, &LeaderResponse::not_ha()))
}
