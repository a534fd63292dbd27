//! `kv get`, `kv list` and `kv metadata get`.
//!
//! `kv get` prints, like `bao kv get`, a metadata section and a data section on KV v2
//! (the data table alone on v1, with the `refresh_interval` the server reports);
//! `-field` prints one value raw. A deleted or destroyed KV v2 version shows its
//! metadata and ends with exit code 1. `--format json|yaml` print the server's envelope,
//! `--format env` the secret's fields as `NAME='value'` lines.

use anyhow::anyhow;
use serde_json::{Map, Value};
use strongroom_client::api::{KvMetadata, KvVersionMetadata};

use super::render::{self, section};
use super::{Context, GetArgs, KvTarget, KvVersion, Outcome, PathArgs};
use crate::output::{self, Format, Table};

/// The "nothing there" error of reads and lists.
pub fn not_found(path: &str) -> anyhow::Error {
    anyhow!("no value found at {path}")
}

/// The value of `field` in `data`, or an error naming the field (never a value).
pub fn field_of<'a>(
    data: &'a Map<String, Value>,
    field: &str,
    path: &str,
) -> anyhow::Result<&'a Value> {
    data.get(field)
        .ok_or_else(|| anyhow!("field {field:?} not present in the secret at {path}"))
}

/// `kv get`
pub async fn get(ctx: &Context, args: GetArgs) -> anyhow::Result<Outcome> {
    let target = KvTarget::resolve(&ctx.client, args.mount.as_deref(), &args.path).await?;
    target.require_secret()?;
    match target.version {
        KvVersion::V1 => get_v1(ctx, &target, args).await,
        KvVersion::V2 => get_v2(ctx, &target, args).await,
    }
}

async fn get_v1(ctx: &Context, target: &KvTarget, args: GetArgs) -> anyhow::Result<Outcome> {
    if args.version.is_some() {
        target.require_v2("-version")?;
    }
    let path = target.api_path("");
    let secret = ctx
        .client
        .kv1_read(&target.mount, &target.path)
        .await?
        .ok_or_else(|| not_found(&path))?;
    let data = secret.data.clone().unwrap_or_default();
    if let Some(field) = &args.field {
        render::print_raw(field_of(&data, field, &path)?)?;
        return Ok(Outcome::Success);
    }
    let text = match ctx.format {
        Format::Table => {
            let mut table = Table::new();
            if secret.lease_duration > 0 {
                table.push("refresh_interval", output::duration(secret.lease_duration));
            }
            append_fields(&mut table, &data);
            table.render()
        }
        other => output::machine(other, &secret)?,
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

async fn get_v2(ctx: &Context, target: &KvTarget, args: GetArgs) -> anyhow::Result<Outcome> {
    let path = target.api_path("data");
    let envelope = ctx
        .client
        .kv2_read(&target.mount, &target.path, args.version)
        .await?
        .ok_or_else(|| not_found(&path))?;
    let secret = envelope
        .data
        .as_ref()
        .ok_or_else(|| anyhow!("the server's answer for {path} has no data"))?;
    let gone = match &secret.data {
        Some(_) => None,
        None => Some(gone_message(&path, &secret.metadata)),
    };
    if let Some(field) = &args.field {
        let data = match (&secret.data, &gone) {
            (Some(data), _) => data,
            (None, message) => return Err(anyhow!("{}", message.clone().unwrap_or_default())),
        };
        render::print_raw(field_of(data, field, &path)?)?;
        return Ok(Outcome::Success);
    }
    let text = match ctx.format {
        Format::Table => v2_table(&path, &secret.metadata, secret.data.as_ref())?,
        Format::Env => match &secret.data {
            Some(data) => output::machine(Format::Env, data)?,
            None => String::new(),
        },
        other => output::machine(other, &envelope)?,
    };
    if !text.is_empty() {
        output::print(&text)?;
    }
    match gone {
        Some(message) => {
            eprintln!("Error: {message}");
            Ok(Outcome::Failure)
        }
        None => Ok(Outcome::Success),
    }
}

fn gone_message(path: &str, meta: &KvVersionMetadata) -> String {
    if meta.destroyed {
        format!("version {} of {path} is destroyed", meta.version)
    } else {
        format!(
            "version {} of {path} is deleted (at {}); `kv undelete -versions={}` restores it",
            meta.version, meta.deletion_time, meta.version
        )
    }
}

/// The KV v2 `get`/`put` table: the secret's API path, its version metadata and (for
/// reads) its data.
pub fn v2_table(
    path: &str,
    meta: &KvVersionMetadata,
    data: Option<&Map<String, Value>>,
) -> anyhow::Result<String> {
    let mut out = section("Secret Path");
    out.push_str(path);
    out.push_str("\n\n");
    out.push_str(&section("Metadata"));
    let meta_value = serde_json::to_value(meta)?;
    if let Value::Object(map) = &meta_value {
        out.push_str(&output::object_table(map, &[]).render());
    }
    if let Some(data) = data {
        out.push('\n');
        out.push_str(&section("Data"));
        let mut table = Table::new();
        append_fields(&mut table, data);
        out.push_str(&table.render());
    }
    Ok(out)
}

/// Appends one row per field, sorted by name.
pub fn append_fields(table: &mut Table, data: &Map<String, Value>) {
    let mut keys: Vec<&String> = data.keys().collect();
    keys.sort();
    for key in keys {
        table.push(key.as_str(), output::cell(&data[key]));
    }
}

/// `kv list`
pub async fn list(ctx: &Context, args: PathArgs) -> anyhow::Result<Outcome> {
    let target = KvTarget::resolve(&ctx.client, args.mount.as_deref(), &args.path).await?;
    let keys = match target.version {
        KvVersion::V1 => ctx.client.kv1_list(&target.mount, &target.path).await?,
        KvVersion::V2 => ctx.client.kv2_list(&target.mount, &target.path).await?,
    };
    if keys.is_empty() {
        return Err(not_found(&target.api_path("metadata")));
    }
    let text = match ctx.format {
        Format::Table => keys_text(&keys),
        other => output::machine(other, &keys)?,
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

/// A `Keys` column, as `bao list` prints it.
pub fn keys_text(keys: &[String]) -> String {
    let mut out = String::from("Keys\n----\n");
    for key in keys {
        out.push_str(key);
        out.push('\n');
    }
    out
}

/// `kv metadata get`
pub async fn metadata_get(ctx: &Context, args: PathArgs) -> anyhow::Result<Outcome> {
    let target = KvTarget::resolve(&ctx.client, args.mount.as_deref(), &args.path).await?;
    target.require_v2("kv metadata get")?;
    target.require_secret()?;
    let path = target.api_path("metadata");
    let meta = ctx
        .client
        .kv2_read_metadata(&target.mount, &target.path)
        .await?
        .ok_or_else(|| not_found(&path))?;
    let text = match ctx.format {
        Format::Table => metadata_text(&path, &meta)?,
        other => output::machine(other, &meta)?,
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

/// `kv metadata get` as tables: the settings, then one table per version (oldest first).
pub fn metadata_text(path: &str, meta: &KvMetadata) -> anyhow::Result<String> {
    let mut out = section("Metadata Path");
    out.push_str(path);
    out.push_str("\n\n");
    out.push_str(&section("Metadata"));
    if let Value::Object(map) = serde_json::to_value(meta)? {
        out.push_str(&output::object_table(&map, &["versions"]).render());
    }
    let mut versions: Vec<(u64, &str)> = meta
        .versions
        .keys()
        .map(|k| (k.parse().unwrap_or(0), k.as_str()))
        .collect();
    versions.sort();
    for (number, key) in versions {
        let Some(state) = meta.versions.get(key) else {
            continue;
        };
        out.push('\n');
        out.push_str(&section(&format!("Version {number}")));
        if let Value::Object(map) = serde_json::to_value(state)? {
            out.push_str(&output::object_table(&map, &[]).render());
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use strongroom_client::api::KvVersionState;

    fn meta(version: u64) -> KvVersionMetadata {
        KvVersionMetadata {
            created_time: "2026-01-01T00:00:00Z".into(),
            deletion_time: String::new(),
            destroyed: false,
            version,
            custom_metadata: None,
        }
    }

    #[test]
    fn v2_table_has_path_metadata_and_data() {
        let Value::Object(data) = json!({"pw": "x", "n": 5}) else {
            panic!()
        };
        let out = v2_table("secret/data/app", &meta(3), Some(&data)).unwrap();
        assert!(
            out.starts_with("== Secret Path ==\nsecret/data/app\n\n== Metadata ==\n"),
            "{out}"
        );
        assert!(out.contains("version            3\n"), "{out}");
        assert!(out.contains("custom_metadata    n/a\n"), "{out}");
        assert!(
            out.ends_with("== Data ==\nKey    Value\n---    -----\nn      5\npw     x\n"),
            "{out}"
        );
        assert!(!v2_table("p", &meta(1), None).unwrap().contains("Data"));
    }

    #[test]
    fn metadata_versions_sorted_numerically() {
        let mut m = KvMetadata::default();
        for n in [1u64, 2, 10] {
            m.versions.insert(n.to_string(), KvVersionState::default());
        }
        let out = metadata_text("secret/metadata/app", &m).unwrap();
        let v2 = out.find("Version 2 ").unwrap();
        let v10 = out.find("Version 10 ").unwrap();
        assert!(v2 < v10, "{out}");
        assert!(!out.contains("\nversions "), "{out}");
    }

    #[test]
    fn gone_messages_and_keys() {
        let mut m = meta(2);
        m.deletion_time = "t".into();
        assert!(gone_message("p", &m).contains("deleted"));
        m.destroyed = true;
        assert!(gone_message("p", &m).contains("destroyed"));
        assert_eq!(keys_text(&["a".into(), "b/".into()]), "Keys\n----\na\nb/\n");
    }
}
