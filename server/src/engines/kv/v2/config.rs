//! `config`: mount-wide kv v2 settings.

use serde_json::json;

use super::{field_err, store};
use crate::core::duration::opt_duration;
use crate::core::fields::{opt_bool, opt_u64};
use crate::core::request::Operation;
use crate::engines::{EngineError, EngineRequest, EngineResponse};

pub(super) async fn handle(req: &EngineRequest<'_>) -> Result<EngineResponse, EngineError> {
    let view = &req.ctx.view;
    match req.operation {
        Operation::Read => {
            let c = store::load_config(view).await?;
            Ok(EngineResponse::data(json!({
                "cas_required": c.cas_required,
                "delete_version_after": store::go_duration(c.delete_version_after),
                "max_versions": c.max_versions,
            })))
        }
        Operation::Update => {
            let mut c = store::load_config(view).await?;
            if let Some(m) = opt_u64(req.data, "max_versions").map_err(field_err)? {
                c.max_versions = m;
            }
            if let Some(b) = opt_bool(req.data, "cas_required").map_err(field_err)? {
                c.cas_required = b;
            }
            if let Some(d) = opt_duration(req.data, "delete_version_after")
                .map_err(|e| EngineError::Invalid(e.to_string()))?
            {
                c.delete_version_after = d;
            }
            store::save_config(view, &c).await?;
            Ok(EngineResponse::empty())
        }
        Operation::Delete | Operation::List | Operation::Patch => {
            Err(EngineError::UnsupportedOperation)
        }
    }
}
