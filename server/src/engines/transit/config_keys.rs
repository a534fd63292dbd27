//! `config/keys`: mount-wide settings of the key store; today `disable_upsert`, which
//! stops `encrypt/:name` from creating a missing key (it then answers 400
//! `encryption key not found`, as a decrypt does).
//!
//! Stored at `config/keys` in the mount's view; read only when an encrypt meets a missing
//! key, so it costs nothing on the hot path.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::error::TransitError;
use crate::barrier::StorageView;
use crate::core::fields::opt_bool;
use crate::engines::EngineResponse;

const STORAGE_KEY: &str = "config/keys";

/// The stored settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysConfig {
    /// `encrypt/:name` on a missing key fails instead of creating it.
    #[serde(default)]
    pub disable_upsert: bool,
}

impl KeysConfig {
    fn response(self) -> EngineResponse {
        EngineResponse::data(json!({ "disable_upsert": self.disable_upsert }))
    }
}

/// The settings in force (defaults when never written).
pub async fn load(view: &StorageView) -> Result<KeysConfig, TransitError> {
    match view.get(STORAGE_KEY).await? {
        Some(raw) => serde_json::from_slice(&raw)
            .map_err(|_| TransitError::invalid("stored config/keys is corrupt")),
        None => Ok(KeysConfig::default()),
    }
}

/// `GET config/keys`.
pub async fn read(view: &StorageView) -> Result<EngineResponse, TransitError> {
    Ok(load(view).await?.response())
}

/// `POST config/keys`.
pub async fn write(
    view: &StorageView,
    data: &Map<String, Value>,
) -> Result<EngineResponse, TransitError> {
    let mut config = load(view).await?;
    if let Some(disable) = opt_bool(data, "disable_upsert")? {
        config.disable_upsert = disable;
    }
    let raw = serde_json::to_vec(&config)
        .map_err(|_| TransitError::invalid("config/keys cannot be encoded"))?;
    view.put(STORAGE_KEY, &raw).await?;
    Ok(config.response())
}
