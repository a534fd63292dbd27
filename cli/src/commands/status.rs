//! `strongroom status`: the seal status, plus the HA/leader block once unsealed.
//!
//! Exit code 0 when unsealed, 2 when sealed (or not initialised), 1 on error — the same
//! contract as `bao status`, so scripts can branch on it. Needs no token.

use super::{Context, Outcome};
use crate::output::{self, Format};

/// Runs `strongroom status`.
pub async fn run(ctx: &Context) -> anyhow::Result<Outcome> {
    let seal = ctx.client.seal_status().await?;
    let leader = if seal.sealed {
        None
    } else {
        Some(ctx.client.leader().await?)
    };
    let text = match ctx.format {
        Format::Table => output::status_table(&seal, leader.as_ref()).render(),
        other => output::machine(other, &output::status_json(&seal, leader.as_ref())?)?,
    };
    output::print(&text)?;
    Ok(if seal.sealed {
        Outcome::Sealed
    } else {
        Outcome::Success
    })
}
