//! `strongroom auth enable|disable|list`: auth methods (`sys/auth`). Logging in is
//! `strongroom login`; this manages the methods themselves (needs a sudo token).

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::args::parse_key_value;
use super::secrets::{clean_path, mount_options, mounts_table, ListArgs, PathArg};
use super::{Context, Outcome};
use crate::output::{self, Format};

/// `strongroom auth …`
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Enable an auth method (userpass, approle, cert) at `auth/<path>`.
    Enable(AuthEnableArgs),
    /// Disable the auth method at PATH, revoking every token it issued.
    Disable(PathArg),
    /// List the enabled auth methods.
    List(ListArgs),
}

/// `auth enable`.
#[derive(Debug, Args)]
pub struct AuthEnableArgs {
    /// The method type: userpass, approle, cert.
    #[arg(value_name = "TYPE")]
    pub method_type: String,
    /// Where to mount it, under `auth/` (default: the type's name).
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,
    /// Free text shown by `auth list`.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Default TTL of the tokens it issues (`3600`, `1h`; default: the system's).
    #[arg(long, value_name = "DURATION")]
    pub default_lease_ttl: Option<String>,
    /// Maximum TTL of the tokens it issues.
    #[arg(long, value_name = "DURATION")]
    pub max_lease_ttl: Option<String>,
    /// A method option KEY=VALUE (repeatable).
    #[arg(long = "options", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub options: Vec<(String, String)>,
    /// Mark the mount replication-local.
    #[arg(long)]
    pub local: bool,
}

/// The path under `auth/`: `auth/userpass/` and `userpass` both mean `userpass`.
fn auth_path(path: &str) -> anyhow::Result<String> {
    let path = clean_path(path)?;
    match path.strip_prefix("auth/") {
        Some(rest) => clean_path(rest),
        None => Ok(path),
    }
}

/// Runs an `auth` subcommand.
pub async fn run(ctx: &Context, cmd: AuthCommand) -> anyhow::Result<Outcome> {
    match cmd {
        AuthCommand::Enable(args) => {
            let path = auth_path(args.path.as_deref().unwrap_or(&args.method_type))?;
            let request = mount_options(
                args.description,
                args.default_lease_ttl,
                args.max_lease_ttl,
                args.options.into_iter().collect(),
                args.local,
            );
            ctx.client
                .enable_auth(&path, &args.method_type, &request)
                .await
                .with_context(|| format!("enabling {} at auth/{path}/", args.method_type))?;
            output::print(&format!(
                "Success! Enabled {} auth method at: {path}/",
                args.method_type
            ))?;
        }
        AuthCommand::Disable(args) => {
            let path = auth_path(&args.path)?;
            ctx.client.disable_auth(&path).await?;
            output::print(&format!(
                "Success! Disabled the auth method (if it existed) at: {path}/"
            ))?;
        }
        AuthCommand::List(args) => {
            let methods = ctx.client.list_auth().await?;
            let text = match ctx.format {
                Format::Table => mounts_table(&methods, args.detailed, true),
                other => output::machine(other, &methods)?,
            };
            output::print(&text)?;
        }
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn auth_prefix_is_optional() {
        assert_eq!(auth_path("userpass").unwrap(), "userpass");
        assert_eq!(auth_path("auth/userpass/").unwrap(), "userpass");
        assert_eq!(auth_path("/up2/").unwrap(), "up2");
        assert!(auth_path("/").is_err());
    }
}
