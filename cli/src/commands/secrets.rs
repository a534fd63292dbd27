//! `strongroom secrets enable|disable|list|tune`: secrets engine mounts (`sys/mounts`).
//!
//! Flags follow `bao secrets …`: `-path` (default: the type), `-description`,
//! `-default-lease-ttl`, `-max-lease-ttl` (durations the server parses: `3600`, `1h`,
//! `90m`, `2d`), `-version=2` for KV v2, `-options k=v` (repeatable); `list -detailed`.
//! Also home of what `auth enable` and `auth list` share: the enable request
//! ([`mount_options`]) and the mount table ([`mounts_table`]).

use std::collections::BTreeMap;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::Value;
use strongroom_client::api::{MountConfigInput, MountEntry, MountOptions, TuneMountRequest};

use super::args::parse_key_value;
use super::{Context, Outcome, UsageError};
use crate::output::{self, Format};

/// `strongroom secrets …`
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Enable a secrets engine (kv, database, transit, ...) at a path.
    #[command(disable_version_flag = true)]
    Enable(EnableArgs),
    /// Disable the secrets engine at PATH, revoking its leases and deleting its data.
    Disable(PathArg),
    /// List the enabled secrets engines.
    List(ListArgs),
    /// Change a secrets engine's TTLs, description or options.
    Tune(TuneArgs),
}

/// `secrets enable`.
#[derive(Debug, Args)]
pub struct EnableArgs {
    /// The engine type: kv, database, transit, ...
    #[arg(value_name = "TYPE")]
    pub engine_type: String,
    /// Where to mount it (default: the type's name).
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,
    /// Free text shown by `secrets list`.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Default lease TTL of its secrets (`3600`, `1h`, `30m`; default: the system's).
    #[arg(long, value_name = "DURATION")]
    pub default_lease_ttl: Option<String>,
    /// Maximum lease TTL of its secrets (default: the system's).
    #[arg(long, value_name = "DURATION")]
    pub max_lease_ttl: Option<String>,
    /// KV version (1 or 2); shorthand for `-options version=N`.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub version: Option<u8>,
    /// An engine option KEY=VALUE (repeatable).
    #[arg(long = "options", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub options: Vec<(String, String)>,
    /// Mark the mount replication-local.
    #[arg(long)]
    pub local: bool,
}

/// A mount path argument.
#[derive(Debug, Args)]
pub struct PathArg {
    /// The mount path (e.g. `secret/`).
    #[arg(value_name = "PATH")]
    pub path: String,
}

/// `secrets list` / `auth list` / `audit list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Show TTLs, options and more.
    #[arg(long)]
    pub detailed: bool,
}

/// `secrets tune`.
#[derive(Debug, Args)]
pub struct TuneArgs {
    /// The mount path.
    #[arg(value_name = "PATH")]
    pub path: String,
    /// New description.
    #[arg(long)]
    pub description: Option<String>,
    /// New default lease TTL (`3600`, `1h`; `system` or `0` for the system default).
    #[arg(long, value_name = "DURATION")]
    pub default_lease_ttl: Option<String>,
    /// New maximum lease TTL.
    #[arg(long, value_name = "DURATION")]
    pub max_lease_ttl: Option<String>,
    /// An option KEY=VALUE to set (repeatable; `version=2` upgrades KV v1 to v2).
    #[arg(long = "options", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub options: Vec<(String, String)>,
}

/// A mount path as the user means it: without surrounding slashes, refusing an empty one.
pub fn clean_path(path: &str) -> anyhow::Result<String> {
    let trimmed = path.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Err(UsageError(format!("invalid path {path:?}")).into());
    }
    Ok(trimmed.to_string())
}

/// Runs a `secrets` subcommand.
pub async fn run(ctx: &Context, cmd: SecretsCommand) -> anyhow::Result<Outcome> {
    match cmd {
        SecretsCommand::Enable(args) => enable(ctx, args).await,
        SecretsCommand::Disable(args) => {
            let path = clean_path(&args.path)?;
            ctx.client.disable_mount(&path).await?;
            output::print(&format!(
                "Success! Disabled the secrets engine (if it existed) at: {path}/"
            ))?;
            Ok(Outcome::Success)
        }
        SecretsCommand::List(args) => {
            let mounts = ctx.client.list_mounts().await?;
            let text = match ctx.format {
                Format::Table => mounts_table(&mounts, args.detailed, false),
                other => output::machine(other, &mounts)?,
            };
            output::print(&text)?;
            Ok(Outcome::Success)
        }
        SecretsCommand::Tune(args) => {
            let path = clean_path(&args.path)?;
            let tune = TuneMountRequest {
                description: args.description,
                default_lease_ttl: args.default_lease_ttl,
                max_lease_ttl: args.max_lease_ttl,
                options: args.options.into_iter().collect(),
            };
            if tune == TuneMountRequest::default() {
                return Err(UsageError(
                    "nothing to tune: give -description, -default-lease-ttl, -max-lease-ttl or -options"
                        .into(),
                )
                .into());
            }
            ctx.client.tune_mount(&path, &tune).await?;
            output::print(&format!("Success! Tuned the secrets engine at: {path}/"))?;
            Ok(Outcome::Success)
        }
    }
}

async fn enable(ctx: &Context, args: EnableArgs) -> anyhow::Result<Outcome> {
    let path = clean_path(args.path.as_deref().unwrap_or(&args.engine_type))?;
    let mut options: BTreeMap<String, String> = args.options.into_iter().collect();
    if let Some(version) = args.version {
        if options
            .get("version")
            .is_some_and(|v| v != &version.to_string())
        {
            return Err(UsageError("-version and -options version=… disagree".into()).into());
        }
        options.insert("version".into(), version.to_string());
    }
    let request = mount_options(
        args.description,
        args.default_lease_ttl,
        args.max_lease_ttl,
        options,
        args.local,
    );
    ctx.client
        .enable_mount(&path, &args.engine_type, &request)
        .await
        .with_context(|| format!("enabling {} at {path}/", args.engine_type))?;
    output::print(&format!(
        "Success! Enabled the {} secrets engine at: {path}/",
        args.engine_type
    ))?;
    Ok(Outcome::Success)
}

/// The request of `secrets enable` and `auth enable`, from the flags they share.
pub fn mount_options(
    description: String,
    default_lease_ttl: Option<String>,
    max_lease_ttl: Option<String>,
    options: BTreeMap<String, String>,
    local: bool,
) -> MountOptions {
    MountOptions {
        description,
        config: MountConfigInput {
            default_lease_ttl,
            max_lease_ttl,
        },
        options,
        local,
    }
}

/// A TTL cell: `system` for 0 (the system default), else Go-style (`1h`, `30m`, `1h30m`).
pub fn ttl_cell(seconds: u64) -> String {
    if seconds == 0 {
        return "system".to_string();
    }
    output::duration(seconds)
}

/// The mount list table of `secrets list` and `auth list` (`auth` prefixes nothing; the
/// keys are shown as the server lists them).
pub fn mounts_table(mounts: &BTreeMap<String, MountEntry>, detailed: bool, auth: bool) -> String {
    let mut headers = vec!["Path", "Type", "Accessor"];
    if detailed {
        headers.extend(["Default TTL", "Max TTL", "Local", "Seal Wrap", "Options"]);
        if auth {
            headers.push("Token Type");
        }
        headers.push("UUID");
    }
    headers.push("Description");
    let rows = mounts
        .iter()
        .map(|(path, m)| {
            let mut row = vec![path.clone(), m.mount_type.clone(), m.accessor.clone()];
            if detailed {
                let options = m
                    .options
                    .as_ref()
                    .map(|o| {
                        let map: serde_json::Map<String, Value> = o
                            .iter()
                            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                            .collect();
                        output::cell(&Value::Object(map))
                    })
                    .unwrap_or_else(|| "n/a".into());
                row.extend([
                    ttl_cell(m.config.default_lease_ttl),
                    ttl_cell(m.config.max_lease_ttl),
                    m.local.to_string(),
                    m.seal_wrap.to_string(),
                    options,
                ]);
                if auth {
                    row.push(m.config.token_type.clone().unwrap_or_else(|| "n/a".into()));
                }
                row.push(m.uuid.clone());
            }
            row.push(if m.description.is_empty() {
                "n/a".into()
            } else {
                m.description.clone()
            });
            row
        })
        .collect::<Vec<_>>();
    output::columns(&headers, &rows)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(clean_path("/kv2/").unwrap(), "kv2");
        assert!(clean_path("//").is_err());
    }

    #[test]
    fn ttl_cells() {
        assert_eq!(ttl_cell(0), "system");
        assert_eq!(ttl_cell(3600), "1h");
        assert_eq!(ttl_cell(5400), "1h30m");
        assert_eq!(ttl_cell(2_764_800), "768h");
        assert_eq!(ttl_cell(61), "1m1s");
    }

    #[test]
    fn mount_rows_show_ttls_and_options_when_detailed() {
        let mut mounts = BTreeMap::new();
        mounts.insert(
            "kv2/".to_string(),
            MountEntry {
                mount_type: "kv".into(),
                accessor: "kv_1".into(),
                options: Some(BTreeMap::from([("version".into(), "2".into())])),
                config: strongroom_client::api::MountConfig {
                    default_lease_ttl: 3600,
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        let short = mounts_table(&mounts, false, false);
        assert!(
            short.starts_with("Path    Type    Accessor    Description\n"),
            "{short}"
        );
        assert!(short.contains("kv2/    kv      kv_1        n/a"), "{short}");
        let long = mounts_table(&mounts, true, false);
        assert!(long.contains("1h"), "{long}");
        assert!(long.contains("system"), "{long}");
        assert!(long.contains("map[version:2]"), "{long}");
    }
}
