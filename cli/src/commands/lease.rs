//! `strongroom lease lookup|list|renew|revoke`: leases of engine secrets (`sys/leases`).
//!
//! `revoke ID` revokes one lease; `revoke -prefix PREFIX` every lease (and token) whose
//! path starts with PREFIX, with `-force` even where the engine cannot drop the secret
//! (the entries go, the secret may outlive them). Without `-sync` the server may only
//! queue the revocation, as with `bao`. While a prefix revocation runs, a spinner shows
//! on stderr when it is a terminal.

use std::time::Duration;

use anyhow::bail;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use strongroom_client::api::LeaseInfo;

use super::args::parse_duration;
use super::{Context, Outcome, UsageError};
use crate::output::{self, Format, Table};

/// `strongroom lease …`
#[derive(Debug, Subcommand)]
pub enum LeaseCommand {
    /// Show a lease: its path, issue and expiry times, TTL, renewability.
    Lookup(IdArg),
    /// List the lease ids (or sub-folders) under a prefix (needs sudo).
    List(ListArgs),
    /// Extend a lease.
    Renew(RenewArgs),
    /// Revoke a lease, or every lease under a prefix.
    Revoke(RevokeArgs),
}

/// A lease id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The lease id, e.g. `database/creds/app/AbC123`.
    #[arg(value_name = "LEASE_ID")]
    pub id: String,
}

/// `lease list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The prefix to list (e.g. `database/creds/app/`); empty lists the top level.
    #[arg(value_name = "PREFIX", default_value = "")]
    pub prefix: String,
}

/// `lease renew`.
#[derive(Debug, Args)]
pub struct RenewArgs {
    /// The lease id.
    #[arg(value_name = "LEASE_ID")]
    pub id: String,
    /// Ask for this much time from now (`3600`, `1h`, `90m`); default: the engine's TTL.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub increment: Option<u64>,
}

/// `lease revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The lease id, or with -prefix the prefix.
    #[arg(value_name = "LEASE_ID|PREFIX")]
    pub id: String,
    /// Treat the argument as a prefix: revoke every lease (and token) under it (needs sudo).
    #[arg(long)]
    pub prefix: bool,
    /// With -prefix: delete the lease entries even where the engine fails to revoke the
    /// secret. A last resort: the secrets may stay valid.
    #[arg(long, requires = "prefix")]
    pub force: bool,
    /// Wait until the revocation is done instead of letting the server queue it.
    #[arg(long)]
    pub sync: bool,
}

/// Runs a `lease` subcommand.
pub async fn run(ctx: &Context, cmd: LeaseCommand) -> anyhow::Result<Outcome> {
    match cmd {
        LeaseCommand::Lookup(args) => {
            let lease = ctx.client.lookup_lease(args.id.trim()).await?;
            let text = match ctx.format {
                Format::Table => lease_table(&lease).render(),
                other => output::machine(other, &lease)?,
            };
            output::print(&text)?;
        }
        LeaseCommand::List(args) => {
            let keys = ctx.client.list_leases(&args.prefix).await?;
            if keys.is_empty() {
                bail!("no leases under {:?}", args.prefix);
            }
            output::print(&output::names_text(ctx.format, "lease list", &keys)?)?;
        }
        LeaseCommand::Renew(args) => {
            let env = ctx
                .client
                .renew_lease(args.id.trim(), args.increment)
                .await?;
            for warning in env.warnings.iter().flatten() {
                eprintln!("Warning: {warning}");
            }
            let text = match ctx.format {
                Format::Table => Table::new()
                    .row("lease_id", &env.lease_id)
                    .row("lease_duration", output::duration(env.lease_duration))
                    .row("lease_renewable", env.renewable)
                    .render(),
                Format::Env => output::env_lines(
                    json!({
                        "lease_id": env.lease_id,
                        "lease_duration": env.lease_duration,
                        "lease_renewable": env.renewable,
                    })
                    .as_object()
                    .ok_or_else(|| anyhow::anyhow!("internal: not an object"))?,
                )?,
                other => output::machine(other, &env)?,
            };
            output::print(&text)?;
        }
        LeaseCommand::Revoke(args) => revoke(ctx, args).await?,
    }
    Ok(Outcome::Success)
}

async fn revoke(ctx: &Context, args: RevokeArgs) -> anyhow::Result<()> {
    let target = args.id.trim();
    if target.is_empty() {
        return Err(UsageError("missing lease id or prefix".into()).into());
    }
    if !args.prefix {
        ctx.client.revoke_lease_with(target, args.sync).await?;
        output::print(&if args.sync {
            format!("Success! Revoked lease: {target}")
        } else {
            "All revocation operations queued successfully!".to_string()
        })?;
        return Ok(());
    }
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.set_message(format!(
        "{} leases under {target}",
        if args.force {
            "Force-revoking"
        } else {
            "Revoking"
        }
    ));
    spinner.enable_steady_tick(Duration::from_millis(120));
    let result = if args.force {
        ctx.client.revoke_force(target).await
    } else {
        // -force is always synchronous; a plain prefix revocation honours -sync.
        ctx.client.revoke_prefix(target, args.sync).await
    };
    spinner.finish_and_clear();
    result?;
    output::print(&if args.force {
        format!("Success! Force revoked any leases with prefix: {target}")
    } else if args.sync {
        format!("Success! Revoked any leases with prefix: {target}")
    } else {
        "All revocation operations queued successfully!".to_string()
    })?;
    Ok(())
}

fn lease_table(lease: &LeaseInfo) -> Table {
    let value = serde_json::to_value(lease).unwrap_or(Value::Null);
    match value {
        Value::Object(map) => output::object_table(&map, &[]),
        _ => Table::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lookup_table_shows_every_field() {
        let lease = LeaseInfo {
            id: "database/creds/app/abc".into(),
            issue_time: "2026-01-01T00:00:00Z".into(),
            expire_time: Some("2026-01-01T01:00:00Z".into()),
            path: "database/creds/app".into(),
            renewable: true,
            ttl: 3599,
            ..Default::default()
        };
        let text = lease_table(&lease).render();
        assert!(
            text.contains("id              database/creds/app/abc\n"),
            "{text}"
        );
        assert!(text.contains("last_renewal    n/a\n"), "{text}");
        assert!(text.contains("ttl             3599\n"), "{text}");
    }
}
