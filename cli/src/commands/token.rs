//! `strongroom token …`: for now `lookup` (of the caller's own token, `lookup-self`).
//!
//! The token's own value (`id`) is never printed — neither in the table nor in the JSON
//! envelope, where the field is removed: the caller already has it, and a lookup is not
//! a reason to put it on a screen or in a log.

use clap::Subcommand;
use serde_json::Value;
use strongroom_client::Method;

use super::{Context, Outcome};
use crate::output::{self, Format};

/// `strongroom token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Show the properties of the token in use (auth/token/lookup-self); its value is never shown.
    Lookup,
}

/// The field holding the token itself in lookup data.
const SECRET_FIELD: &str = "id";

/// Runs a `token` subcommand.
pub async fn run(ctx: &Context, cmd: TokenCommand) -> anyhow::Result<Outcome> {
    match cmd {
        TokenCommand::Lookup => lookup(ctx).await,
    }
}

async fn lookup(ctx: &Context) -> anyhow::Result<Outcome> {
    let envelope = ctx
        .client
        .call_json(Method::GET, "auth/token/lookup-self", None)
        .await?
        .unwrap_or(Value::Null);
    let envelope = strip_token(envelope);
    let text = lookup_text(&envelope, ctx.format)?;
    output::print(&text)?;
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
            _ => anyhow::bail!("the server's lookup-self answer has no data"),
        },
        other => output::machine(other, envelope),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

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
    }

    #[test]
    fn table_without_data_is_an_error() {
        assert!(lookup_text(&json!({"data": null}), Format::Table).is_err());
    }
}
