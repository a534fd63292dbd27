//! `strongroom token create|lookup|renew|revoke`: the token store.
//!
//! Which token a command is about: the caller's own by default (`lookup`, `renew`), or
//! `-accessor A`, or `-` to read a token from stdin or a hidden prompt. A token is never
//! taken from the command line, where it would be recorded in the shell history and
//! shown in the process list: a positional argument other than `-` is a usage error
//! that does not echo it.
//!
//! Only `token create` prints a token (its purpose). `lookup` drops the token's `id`
//! and `renew` the `client_token` from every output format. With `--format json|yaml`
//! a command prints the part of the server's envelope it is about — `{"data": …}` for
//! lookups, `{"auth": …}` for create and renew — so `jq .auth.client_token` works as
//! with `bao`; `--format env` prints that part's fields as `NAME='value'` lines.
//!
//! Durations (`-ttl`, `-period`, `-increment`, ...) are whole seconds (`90`) or
//! Go-style (`30s`, `5m`, `1h30m`, `2d`) — see [`parse_duration`].

use std::collections::BTreeMap;
use std::ffi::OsString;

use anyhow::anyhow;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};
use strongroom_client::api::{AuthInfo, TokenCreateRequest};
use zeroize::Zeroizing;

use super::args::{parse_duration, parse_key_value};
use super::{Context, Outcome, UsageError};
use crate::output::{self, Format, Table};
use crate::secret_input;

/// `strongroom token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token (a child of the caller's unless -orphan) and print it.
    Create(CreateArgs),
    /// Show a token's properties (the caller's by default); its value is never shown.
    Lookup(LookupArgs),
    /// Renew a token (the caller's by default) and show its new TTL.
    Renew(RenewArgs),
    /// Revoke a token and its children (with -mode orphan: the token only).
    Revoke(RevokeArgs),
}

/// `token create` flags.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A policy of the new token; repeat or separate with commas (default: the caller's).
    #[arg(long = "policy", value_name = "POLICY", value_delimiter = ',')]
    pub policies: Vec<String>,
    /// Initial TTL (e.g. 30m, 1h, 3600).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ttl: Option<u64>,
    /// Hard cap on the token's lifetime, renewals included.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub explicit_max_ttl: Option<u64>,
    /// Make a periodic token: each renewal restores this TTL (root/sudo only).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub period: Option<u64>,
    /// Create a token without a parent (auth/token/create-orphan): it outlives the caller's.
    #[arg(long, conflicts_with = "role")]
    pub orphan: bool,
    /// Create the token from this token role (auth/token/create/ROLE).
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
    /// Number of uses after which the token is revoked (0 = unlimited).
    #[arg(long, value_name = "N")]
    pub use_limit: Option<u64>,
    /// Display name (stored as token-NAME).
    #[arg(long, value_name = "NAME")]
    pub display_name: Option<String>,
    /// Whether the token can be renewed (default true): -renewable=false.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub renewable: Option<bool>,
    /// Metadata KEY=VALUE; repeat for more.
    #[arg(long = "metadata", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub metadata: Vec<(String, String)>,
    /// Leave the default policy out.
    #[arg(long)]
    pub no_default_policy: bool,
}

/// `token lookup` flags.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").args(["accessor", "self_", "token"])))]
pub struct LookupArgs {
    /// Look up the token with this accessor.
    #[arg(long, value_name = "ACCESSOR")]
    pub accessor: Option<String>,
    /// Look up the caller's own token (the default).
    #[arg(long = "self")]
    pub self_: bool,
    /// `-`: read the token to look up from stdin (or a hidden prompt).
    #[arg(value_name = "-", value_parser = clap::value_parser!(OsString))]
    pub token: Option<OsString>,
}

/// `token renew` flags.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").args(["accessor", "token"])))]
pub struct RenewArgs {
    /// Requested new TTL, counted from now (default: the server's).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub increment: Option<u64>,
    /// Renew the token with this accessor.
    #[arg(long, value_name = "ACCESSOR")]
    pub accessor: Option<String>,
    /// `-`: read the token to renew from stdin (or a hidden prompt).
    #[arg(value_name = "-", value_parser = clap::value_parser!(OsString))]
    pub token: Option<OsString>,
}

/// `token revoke` flags. One of -self, -accessor or `-` is required.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").args(["accessor", "self_", "token"]).required(true)))]
pub struct RevokeArgs {
    /// Revoke the caller's own token.
    #[arg(long = "self")]
    pub self_: bool,
    /// Revoke the token with this accessor.
    #[arg(long, value_name = "ACCESSOR")]
    pub accessor: Option<String>,
    /// `orphan`: revoke only the token (read with `-`); its children live on (sudo).
    #[arg(long, value_enum)]
    pub mode: Option<RevokeMode>,
    /// `-`: read the token to revoke from stdin (or a hidden prompt).
    #[arg(value_name = "-", value_parser = clap::value_parser!(OsString))]
    pub token: Option<OsString>,
}

/// How much `token revoke` revokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RevokeMode {
    /// The token only (auth/token/revoke-orphan); its children become orphans.
    Orphan,
}

/// The field holding the token itself in lookup data.
const SECRET_FIELD: &str = "id";

/// Runs a `token` subcommand.
pub async fn run(ctx: &Context, cmd: TokenCommand) -> anyhow::Result<Outcome> {
    match cmd {
        TokenCommand::Create(args) => create(ctx, args).await,
        TokenCommand::Lookup(args) => lookup(ctx, &args).await,
        TokenCommand::Renew(args) => renew(ctx, &args).await,
        TokenCommand::Revoke(args) => revoke(ctx, &args).await,
    }
}

/// `seconds` the way `bao` shows a token duration: `1h30m`, `45s`, `768h`; `∞` for 0
/// (a token that never expires).
pub fn format_duration(seconds: u64) -> String {
    if seconds == 0 {
        return "∞".to_string();
    }
    output::duration(seconds)
}

/// The token named by a positional argument: only `-` (read it from stdin or a
/// prompt) is accepted; anything else is refused without being echoed.
fn read_token_arg(command: &str, arg: &OsString) -> anyhow::Result<Zeroizing<String>> {
    if arg != "-" {
        return Err(UsageError(secret_input::argv_secret_error(
            command,
            "token",
            std::slice::from_ref(arg),
        ))
        .into());
    }
    secret_input::read_named_secret("Token (will be hidden): ", "token")
}

/// Reads a token off the async runtime (the prompt and stdin block).
async fn token_from_arg(
    command: &'static str,
    arg: &OsString,
) -> anyhow::Result<Zeroizing<String>> {
    let arg = arg.clone();
    tokio::task::spawn_blocking(move || read_token_arg(command, &arg))
        .await
        .map_err(|e| anyhow!("reading the token: {e}"))?
}

async fn create(ctx: &Context, args: CreateArgs) -> anyhow::Result<Outcome> {
    let request = TokenCreateRequest {
        policies: args
            .policies
            .into_iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        meta: args.metadata.into_iter().collect::<BTreeMap<_, _>>(),
        ttl: args.ttl,
        explicit_max_ttl: args.explicit_max_ttl,
        period: args.period,
        renewable: args.renewable,
        num_uses: args.use_limit,
        no_parent: None,
        no_default_policy: args.no_default_policy.then_some(true),
        display_name: args.display_name,
        orphan: args.orphan,
        role: args.role,
    };
    let auth = ctx.client.create_token(&request).await?;
    let text = Zeroizing::new(auth_text(ctx.format, &auth, true)?);
    output::print(&text)?;
    Ok(Outcome::Success)
}

async fn lookup(ctx: &Context, args: &LookupArgs) -> anyhow::Result<Outcome> {
    let data = if let Some(accessor) = &args.accessor {
        ctx.client.lookup_accessor(accessor).await?
    } else if let Some(arg) = &args.token {
        let token = token_from_arg("strongroom token lookup", arg).await?;
        ctx.client.lookup_token(&token).await?
    } else {
        ctx.client.lookup_self().await?
    };
    let envelope = strip_token(json!({ "data": data }));
    let text = lookup_text(&envelope, ctx.format)?;
    output::print(&text)?;
    Ok(Outcome::Success)
}

async fn renew(ctx: &Context, args: &RenewArgs) -> anyhow::Result<Outcome> {
    let auth = if let Some(accessor) = &args.accessor {
        ctx.client.renew_accessor(accessor, args.increment).await?
    } else if let Some(arg) = &args.token {
        let token = token_from_arg("strongroom token renew", arg).await?;
        ctx.client.renew_token(&token, args.increment).await?
    } else {
        ctx.client.renew_self(args.increment).await?
    };
    output::print(&auth_text(ctx.format, &auth, false)?)?;
    Ok(Outcome::Success)
}

async fn revoke(ctx: &Context, args: &RevokeArgs) -> anyhow::Result<Outcome> {
    let orphan = args.mode == Some(RevokeMode::Orphan);
    if orphan && args.token.is_none() {
        return Err(UsageError(
            "-mode orphan revokes a token given with `-` (read from stdin); it cannot be \
             combined with -self or -accessor"
                .to_string(),
        )
        .into());
    }
    let what = if let Some(accessor) = &args.accessor {
        ctx.client.revoke_accessor(accessor).await?;
        "the token with that accessor and its children (if it existed)"
    } else if let Some(arg) = &args.token {
        let token = token_from_arg("strongroom token revoke", arg).await?;
        if orphan {
            ctx.client.revoke_orphan(&token).await?;
            "the token (if it existed); its children are now orphans"
        } else {
            ctx.client.revoke_token(&token).await?;
            "the token and its children (if it existed)"
        }
    } else {
        ctx.client.revoke_self().await?;
        "your own token and its children; it can no longer be used"
    };
    if ctx.format == Format::Table {
        output::print(&format!("Success! Revoked {what}."))?;
    }
    Ok(Outcome::Success)
}

/// Removes `data.id` (the token) from a lookup envelope.
fn strip_token(mut envelope: Value) -> Value {
    if let Some(Value::Object(data)) = envelope.get_mut("data") {
        data.remove(SECRET_FIELD);
    }
    envelope
}

fn lookup_text(envelope: &Value, format: Format) -> anyhow::Result<String> {
    match format {
        Format::Table => match envelope.get("data") {
            Some(Value::Object(data)) => Ok(output::object_table(data, &[SECRET_FIELD]).render()),
            _ => anyhow::bail!("the server's lookup answer has no data"),
        },
        Format::Env => match envelope.get("data") {
            Some(Value::Object(data)) => output::env_lines(data),
            _ => anyhow::bail!("the server's lookup answer has no data"),
        },
        other => output::machine(other, envelope),
    }
}

/// An `auth` block as printed by `token create` (with the token) and `token renew`,
/// `login` (without it when `with_token` is false).
pub fn auth_text(format: Format, auth: &AuthInfo, with_token: bool) -> anyhow::Result<String> {
    let mut block = serde_json::to_value(auth)?;
    if !with_token {
        if let Value::Object(map) = &mut block {
            map.remove("client_token");
        }
    }
    let text = match format {
        Format::Table => auth_table(auth, with_token).render(),
        Format::Env => match &block {
            Value::Object(map) => output::env_lines(map)?,
            _ => anyhow::bail!("the auth block is not an object"),
        },
        other => output::machine(other, &json!({ "auth": block }))?,
    };
    if let Value::Object(map) = &mut block {
        if let Some(Value::String(token)) = map.get_mut("client_token") {
            zeroize::Zeroize::zeroize(token);
        }
    }
    Ok(text)
}

/// The `bao`-style table of an auth block: `token` (when `with_token`),
/// `token_accessor`, `token_duration`, `token_renewable`, policies, `token_meta_*`.
pub fn auth_table(auth: &AuthInfo, with_token: bool) -> Table {
    let list = |items: &[String]| output::cell(&json!(items));
    let mut t = Table::new();
    if with_token {
        t.push("token", &auth.client_token);
    }
    t.push("token_accessor", &auth.accessor);
    t.push("token_duration", format_duration(auth.lease_duration));
    t.push("token_renewable", auth.renewable);
    t.push("token_policies", list(&auth.token_policies));
    t.push("policies", list(&auth.policies));
    if auth.num_uses > 0 {
        t.push("token_num_uses", auth.num_uses);
    }
    if let Some(meta) = &auth.metadata {
        for (k, v) in meta {
            t.push(format!("token_meta_{k}"), v);
        }
    }
    t
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn envelope() -> Value {
        json!({
            "request_id": "r1", "lease_id": "", "renewable": false, "lease_duration": 0,
            "data": {
                "accessor": "acc1", "id": "hvs.SECRETSECRET", "policies": ["root"],
                "ttl": 0, "expire_time": null, "display_name": "root", "meta": null
            },
            "wrap_info": null, "warnings": null, "auth": null
        })
    }

    fn auth() -> AuthInfo {
        AuthInfo {
            client_token: "s.TOPSECRETTOKEN".into(),
            accessor: "acc9".into(),
            policies: vec!["default".into(), "web".into()],
            token_policies: vec!["default".into(), "web".into()],
            metadata: Some(BTreeMap::from([("username".into(), "alice".into())])),
            lease_duration: 5400,
            renewable: true,
            entity_id: String::new(),
            token_type: "service".into(),
            orphan: true,
            mfa_requirement: None,
            num_uses: 0,
        }
    }

    #[test]
    fn table_and_json_never_show_the_token() {
        let env = strip_token(envelope());
        let table = lookup_text(&env, Format::Table).unwrap();
        assert!(!table.contains("SECRET"), "{table}");
        assert!(table.contains("accessor        acc1\n"), "{table}");
        assert!(table.contains("expire_time     n/a\n"), "{table}");
        assert!(table.contains("policies        [root]\n"), "{table}");
        let json = lookup_text(&env, Format::Json).unwrap();
        assert!(!json.contains("SECRET"), "{json}");
        let parsed: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["request_id"], "r1");
        assert_eq!(parsed["data"]["accessor"], "acc1");
        assert!(parsed["data"].get("id").is_none());
        let env_lines = lookup_text(&env, Format::Env).unwrap();
        assert!(env_lines.contains("accessor='acc1'\n"), "{env_lines}");
        assert!(!env_lines.contains("SECRET"), "{env_lines}");
    }

    #[test]
    fn table_without_data_is_an_error() {
        assert!(lookup_text(&json!({"data": null}), Format::Table).is_err());
    }

    #[test]
    fn auth_outputs_with_and_without_the_token() {
        let a = auth();
        let with = auth_text(Format::Table, &a, true).unwrap();
        assert!(
            with.contains("token                  s.TOPSECRETTOKEN\n"),
            "{with}"
        );
        assert!(with.contains("token_duration         1h30m\n"), "{with}");
        assert!(
            with.contains("token_policies         [default web]\n"),
            "{with}"
        );
        assert!(with.contains("token_meta_username    alice\n"), "{with}");
        for format in [Format::Table, Format::Json, Format::Yaml, Format::Env] {
            let text = auth_text(format, &a, false).unwrap();
            assert!(!text.contains("TOPSECRET"), "{format:?}: {text}");
            assert!(text.contains("acc9"), "{format:?}: {text}");
        }
        let json: Value =
            serde_json::from_str(&auth_text(Format::Json, &a, true).unwrap()).unwrap();
        assert_eq!(json["auth"]["client_token"], "s.TOPSECRETTOKEN");
        assert_eq!(json["auth"]["lease_duration"], 5400);
        let env = auth_text(Format::Env, &a, true).unwrap();
        assert!(env.contains("client_token='s.TOPSECRETTOKEN'\n"), "{env}");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(0), "∞");
        assert_eq!(format_duration(45), "45s");
        assert_eq!(format_duration(5400), "1h30m");
        assert_eq!(format_duration(2_764_800), "768h");
        assert_eq!(format_duration(3661), "1h1m1s");
    }

    #[test]
    fn a_token_on_argv_is_refused_without_echo() {
        let err = read_token_arg("strongroom token lookup", &"s.ARGVTOKEN".into()).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some());
        assert!(!err.to_string().contains("ARGVTOKEN"), "{err}");
    }
}
