//! The generic commands `read`, `write`, `list` and `delete`: any API path of any
//! engine or auth method, with the server's envelope rendered like `bao` renders it.
//!
//! Tables show, before the data fields, `lease_id` / `lease_duration` /
//! `lease_renewable` for a leased secret (or `refresh_interval` for an unleased one with
//! a TTL, such as a KV v1 read), the `token*` rows of an `auth` block (a login written
//! through `write auth/…/login/…` shows the new token, as it exists to) and the
//! `wrapping_*` rows of a wrapped answer. `--format json|yaml` print the envelope,
//! `--format env` its data. `-field` prints one value raw. Data for `write` comes from
//! [`super::data_args`], so secret values can come from stdin or files instead of argv.

use anyhow::anyhow;
use clap::Args;
use serde_json::Value;
use strongroom_client::{ClientError, Method};

use super::data_args;
use super::kv::read::{keys_text, not_found};
use super::kv::render;
use super::{Context, Outcome, UsageError};
use crate::output::{self, Format, Table};

/// `read` flags.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Print only this field's value, raw (no newline when stdout is not a terminal).
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,
    /// The API path (`database/creds/app`, `secret/data/app`).
    pub path: String,
}

/// `write` flags and data.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Write even though no data is given (an empty request body).
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Print only this field of the answer, raw.
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,
    /// The API path.
    pub path: String,
    /// Fields: `key=value`, `key=@FILE`, `key=-` (hidden prompt or stdin), or a single
    /// `-` (a JSON object on stdin) or `@FILE.json`.
    #[arg(value_name = "DATA")]
    pub data: Vec<String>,
}

/// `list` / `delete`: a path.
#[derive(Debug, Args)]
pub struct PathArg {
    /// The API path.
    pub path: String,
}

fn clean(path: &str) -> String {
    path.trim_start_matches('/').to_string()
}

/// The rows of an envelope's table, in bao's order: lease or refresh interval, auth,
/// wrap info, then the data fields sorted by name.
pub fn envelope_rows(envelope: &Value) -> Vec<(String, Value)> {
    let mut rows: Vec<(String, Value)> = Vec::new();
    let mut push = |k: &str, v: Value| rows.push((k.to_string(), v));
    let lease_id = envelope["lease_id"].as_str().unwrap_or("");
    let lease_duration = envelope["lease_duration"].as_u64().unwrap_or(0);
    if !lease_id.is_empty() {
        push("lease_id", Value::from(lease_id));
        push(
            "lease_duration",
            Value::from(output::duration(lease_duration)),
        );
        push(
            "lease_renewable",
            Value::from(envelope["renewable"].as_bool().unwrap_or(false)),
        );
    } else if lease_duration > 0 {
        push(
            "refresh_interval",
            Value::from(output::duration(lease_duration)),
        );
    }
    if let Some(auth) = envelope.get("auth").filter(|a| a.is_object()) {
        push("token", auth["client_token"].clone());
        push("token_accessor", auth["accessor"].clone());
        push(
            "token_duration",
            Value::from(output::duration(
                auth["lease_duration"].as_u64().unwrap_or(0),
            )),
        );
        push("token_renewable", auth["renewable"].clone());
        push("token_policies", auth["token_policies"].clone());
        if !auth["identity_policies"].is_null() {
            push("identity_policies", auth["identity_policies"].clone());
        }
        push("policies", auth["policies"].clone());
        if let Some(meta) = auth["metadata"].as_object() {
            let mut keys: Vec<&String> = meta.keys().collect();
            keys.sort();
            for k in keys {
                push(&format!("token_meta_{k}"), meta[k].clone());
            }
        }
    }
    if let Some(wrap) = envelope.get("wrap_info").filter(|w| w.is_object()) {
        push("wrapping_token:", wrap["token"].clone());
        push("wrapping_accessor:", wrap["accessor"].clone());
        push(
            "wrapping_token_ttl:",
            Value::from(output::duration(wrap["ttl"].as_u64().unwrap_or(0))),
        );
        push(
            "wrapping_token_creation_time:",
            wrap["creation_time"].clone(),
        );
        push(
            "wrapping_token_creation_path:",
            wrap["creation_path"].clone(),
        );
        if let Some(acc) = wrap.get("wrapped_accessor") {
            push("wrapped_accessor:", acc.clone());
        }
    }
    if let Some(data) = envelope["data"].as_object() {
        let mut keys: Vec<&String> = data.keys().collect();
        keys.sort();
        for k in keys {
            push(k, data[k].clone());
        }
    }
    rows
}

/// The table of an envelope's rows.
pub fn envelope_table(rows: &[(String, Value)]) -> String {
    let mut table = Table::new();
    for (k, v) in rows {
        table.push(k.as_str(), output::cell(v));
    }
    table.render()
}

/// `field`'s value: a data field first, else one of the table's other rows.
pub fn field_value(envelope: &Value, field: &str) -> Option<Value> {
    if let Some(v) = envelope["data"].get(field) {
        return Some(v.clone());
    }
    envelope_rows(envelope)
        .into_iter()
        .find(|(k, _)| k.trim_end_matches(':') == field)
        .map(|(_, v)| v)
}

fn show(ctx: &Context, envelope: &Value, field: Option<&str>, path: &str) -> anyhow::Result<()> {
    render::print_warnings(envelope);
    if let Some(field) = field {
        let value = field_value(envelope, field)
            .ok_or_else(|| anyhow!("field {field:?} not present in the answer from {path}"))?;
        return render::print_raw(&value);
    }
    let text = match ctx.format {
        Format::Table => envelope_table(&envelope_rows(envelope)),
        other => output::machine(other, envelope)?,
    };
    output::print(&text)
}

/// `read PATH`
pub async fn read(ctx: &Context, args: ReadArgs) -> anyhow::Result<Outcome> {
    let path = clean(&args.path);
    let envelope = match ctx.client.call_json(Method::GET, &path, None).await {
        Err(ClientError::Api {
            status: 404,
            errors,
        }) if errors.iter().all(|e| e.trim().is_empty()) => None,
        other => other?,
    }
    .ok_or_else(|| not_found(&path))?;
    show(ctx, &envelope, args.field.as_deref(), &path)?;
    Ok(Outcome::Success)
}

/// `write PATH [DATA…]`
pub async fn write(ctx: &Context, args: WriteArgs) -> anyhow::Result<Outcome> {
    let data = data_args::parse(&args.data)?;
    if data.is_empty() && !args.force {
        return Err(UsageError(
            "no data given: pass key=value arguments, key=- (value from stdin), key=@FILE, a \
             single - (a JSON object on stdin), or -f to write without data"
                .to_string(),
        )
        .into());
    }
    let path = clean(&args.path);
    let body = Value::Object(data);
    let answer = ctx
        .client
        .call_json(Method::POST, &path, Some(&body))
        .await?;
    match answer {
        Some(envelope) if args.field.is_some() || !envelope_rows(&envelope).is_empty() => {
            show(ctx, &envelope, args.field.as_deref(), &path)?;
        }
        Some(envelope) => {
            render::print_warnings(&envelope);
            output::print(&format!("Success! Data written to: {path}"))?;
        }
        None => output::print(&format!("Success! Data written to: {path}"))?,
    }
    Ok(Outcome::Success)
}

/// `list PATH`
pub async fn list(ctx: &Context, args: PathArg) -> anyhow::Result<Outcome> {
    let path = clean(&args.path);
    let keys = ctx.client.list(&path).await?;
    if keys.is_empty() {
        return Err(not_found(&format!("{}/", path.trim_end_matches('/'))));
    }
    let text = match ctx.format {
        Format::Table => keys_text(&keys),
        other => output::machine(other, &keys)?,
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

/// `delete PATH`
pub async fn delete(ctx: &Context, args: PathArg) -> anyhow::Result<Outcome> {
    let path = clean(&args.path);
    let answer = ctx.client.call_json(Method::DELETE, &path, None).await?;
    if let Some(envelope) = &answer {
        render::print_warnings(envelope);
    }
    output::print(&format!("Success! Data deleted (if it existed) at: {path}"))?;
    Ok(Outcome::Success)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leased_secret_rows_come_first() {
        let env = json!({
            "request_id": "r", "lease_id": "database/creds/app/abc", "renewable": true,
            "lease_duration": 3600, "data": {"username": "u", "password": "p"},
            "wrap_info": null, "warnings": null, "auth": null
        });
        let table = envelope_table(&envelope_rows(&env));
        assert_eq!(
            table,
            "Key                Value\n\
             ---                -----\n\
             lease_id           database/creds/app/abc\n\
             lease_duration     1h\n\
             lease_renewable    true\n\
             password           p\n\
             username           u\n"
        );
        assert_eq!(field_value(&env, "username"), Some(json!("u")));
        assert_eq!(field_value(&env, "lease_renewable"), Some(json!(true)));
        assert_eq!(field_value(&env, "nope"), None);
    }

    #[test]
    fn unleased_ttl_and_auth_rows() {
        let env = json!({"lease_id": "", "lease_duration": 2764800, "data": {"a": 1}});
        let rows = envelope_rows(&env);
        assert_eq!(rows[0], ("refresh_interval".to_string(), json!("768h")));
        let env = json!({
            "lease_id": "", "lease_duration": 0, "data": null,
            "auth": {"client_token": "hvs.x", "accessor": "acc", "lease_duration": 60,
                     "renewable": true, "token_policies": ["default"], "policies": ["default"],
                     "metadata": {"username": "bob"}}
        });
        let table = envelope_table(&envelope_rows(&env));
        assert!(table.contains("token                  hvs.x\n"), "{table}");
        assert!(table.contains("token_duration         1m\n"), "{table}");
        assert!(table.contains("token_meta_username    bob\n"), "{table}");
        assert!(!table.contains("identity_policies"), "{table}");
        assert!(envelope_rows(&json!({"lease_id": "", "data": null})).is_empty());
    }
}
