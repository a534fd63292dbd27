//! Rendering of command results: `table` (human, `bao`-style key/value tables and short
//! summaries), `json` (the server's JSON shape, pretty-printed), `yaml` (the same
//! document) or `env` (`NAME='value'` lines of the answer's data, see [`machine`]).
//!
//! Every function here is pure (it returns a `String`), so the layouts are unit-tested;
//! [`print()`] is the only place that writes to stdout. Nothing here prints a token or key
//! unless the function exists to show it ([`init_text`], [`rekey_keys_text`]).

use std::io::Write;

use clap::ValueEnum;
use serde::Serialize;
use serde_json::{Map, Value};
use strongroom_client::api::{
    InitResponse, KeyStatus, LeaderResponse, RekeyStatus, RekeyUpdateResponse, SealStatus,
};

/// Output format selected with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Human-readable tables and summaries.
    #[default]
    Table,
    /// The server's JSON, pretty-printed.
    Json,
    /// The same document as `json`, in YAML.
    Yaml,
    /// `NAME='value'` lines for a shell (`eval`, `.env` files): the fields of the answer's
    /// `data` (or of the object itself when it is not an envelope).
    Env,
}

/// Renders `value` in one of the machine formats (`json`, `yaml`, `env`). For
/// [`Format::Env`], an API envelope (an object with `request_id`) contributes the fields
/// of its `data`; any other object its own fields. Called with [`Format::Table`], it
/// falls back to JSON (callers render tables themselves).
pub fn machine<T: Serialize + ?Sized>(format: Format, value: &T) -> anyhow::Result<String> {
    match format {
        Format::Table | Format::Json => json(value),
        Format::Yaml => yaml(value),
        Format::Env => {
            let value = serde_json::to_value(value)?;
            let fields = match &value {
                Value::Object(map) if map.contains_key("request_id") => match map.get("data") {
                    Some(Value::Object(data)) => data,
                    _ => anyhow::bail!("the answer has no key/value data to show as env lines"),
                },
                Value::Object(map) => map,
                _ => anyhow::bail!("the answer is not a key/value object; use --format json"),
            };
            env_lines(fields)
        }
    }
}

/// YAML of any serialisable value.
pub fn yaml<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<String> {
    Ok(serde_yaml_ng::to_string(value)?)
}

/// Whether `name` can be an environment variable name in a POSIX shell
/// (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// A value quoted for a POSIX shell: `'…'`, with `'` written as `'\''`.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// One `NAME='value'` line per field, in key order. Strings are shown as they are; other
/// values as compact JSON. A field whose name cannot be a variable name is an error
/// (naming the field, never its value).
pub fn env_lines(fields: &Map<String, Value>) -> anyhow::Result<String> {
    let mut keys: Vec<&String> = fields.keys().collect();
    keys.sort();
    let mut out = String::new();
    for key in keys {
        if !is_env_name(key) {
            anyhow::bail!(
                "the field {key:?} is not a valid environment variable name; use --format json"
            );
        }
        let value = match &fields[key] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push_str(key);
        out.push('=');
        out.push_str(&shell_quote(&value));
        out.push('\n');
    }
    Ok(out)
}

/// Writes `text` to stdout (adding a final newline when missing) and flushes.
///
/// A reader that went away (`strongroom completion bash | head`) is not an error: the
/// output was simply not wanted any more.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(text.as_bytes())
        .and_then(|()| {
            if text.ends_with('\n') {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        })
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// A plain list of names (`policy list`, `lease list`): one a line as a table, the
/// array in `json`/`yaml`; `env` has no key/value data to show, so it is an error naming
/// `command`.
pub fn names_text(format: Format, command: &str, names: &[String]) -> anyhow::Result<String> {
    match format {
        Format::Table => Ok(names.iter().map(|n| format!("{n}\n")).collect()),
        Format::Env => anyhow::bail!("{command} has no key/value data; use --format json"),
        other => machine(other, names),
    }
}

/// Pretty JSON (two-space indent) of any serialisable value.
pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)?)
}

/// A two-column `Key | Value` table, rendered like `bao`'s:
///
/// ```text
/// Key          Value
/// ---          -----
/// Seal Type    shamir
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    rows: Vec<(String, String)>,
}

impl Table {
    /// An empty table.
    pub fn new() -> Table {
        Table::default()
    }

    /// Appends a row.
    pub fn row(mut self, key: impl Into<String>, value: impl ToString) -> Table {
        self.push(key, value);
        self
    }

    /// Appends a row in place.
    pub fn push(&mut self, key: impl Into<String>, value: impl ToString) {
        self.rows.push((key.into(), value.to_string()));
    }

    /// The rendered table; columns are separated by four spaces past the longest key.
    pub fn render(&self) -> String {
        let width = self
            .rows
            .iter()
            .map(|(k, _)| k.chars().count())
            .chain(std::iter::once("Key".len()))
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        let mut line = |k: &str, v: &str| {
            let pad = width - k.chars().count() + 4;
            out.push_str(k);
            if !v.is_empty() {
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(v);
            }
            out.push('\n');
        };
        line("Key", "Value");
        line("---", "-----");
        for (k, v) in &self.rows {
            line(k, v);
        }
        out
    }
}

/// Seconds as a compact Go-style duration: `768h`, `1h30m`, `45s`, `0s`.
pub fn duration(seconds: u64) -> String {
    if seconds == 0 {
        return "0s".to_string();
    }
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// A `bao`-style multi-column listing: a header, a dashed rule, rows; columns separated
/// by four spaces past the widest cell (the last column is not padded).
pub fn columns(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths[i] - cell.chars().count() + 4;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    out.push_str(&line(
        headers
            .iter()
            .map(|h| "-".repeat(h.chars().count()))
            .collect(),
    ));
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

/// A JSON value as a table cell, `bao`-style: `null` is `n/a`, lists are `[a b]`, maps
/// are `map[k:v]`, strings are shown without quotes.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "n/a".to_string(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(cell).collect();
            format!("[{}]", inner.join(" "))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", map.get(k).map(cell).unwrap_or_default()))
                .collect();
            format!("map[{}]", inner.join(" "))
        }
    }
}

/// A table of every field of a JSON object, keys sorted; fields named in `hidden` are left out.
pub fn object_table(object: &Map<String, Value>, hidden: &[&str]) -> Table {
    let mut keys: Vec<&String> = object
        .keys()
        .filter(|k| !hidden.contains(&k.as_str()))
        .collect();
    keys.sort();
    let mut table = Table::new();
    for key in keys {
        if let Some(value) = object.get(key) {
            table.push(key.as_str(), cell(value));
        }
    }
    table
}

/// `strongroom status` as a table: the seal status, then the HA block when known.
pub fn status_table(seal: &SealStatus, leader: Option<&LeaderResponse>) -> Table {
    let mut t = Table::new()
        .row("Seal Type", &seal.seal_type)
        .row("Initialized", seal.initialized)
        .row("Sealed", seal.sealed)
        .row("Total Shares", seal.n)
        .row("Threshold", seal.t);
    if seal.sealed {
        t.push("Unseal Progress", format!("{}/{}", seal.progress, seal.t));
        t.push("Unseal Nonce", or_na(&seal.nonce));
    }
    t.push("Version", &seal.version);
    t.push("Build Date", or_na(&seal.build_date));
    t.push("Storage Type", &seal.storage_type);
    if let Some(name) = &seal.cluster_name {
        t.push("Cluster Name", name);
    }
    if let Some(id) = &seal.cluster_id {
        t.push("Cluster ID", id);
    }
    if let Some(leader) = leader {
        t.push("HA Enabled", leader.ha_enabled);
        if leader.ha_enabled {
            let mode = if leader.is_self == Some(true) {
                "active"
            } else {
                "standby"
            };
            t.push("HA Mode", mode);
            if let Some(addr) = &leader.leader_address {
                t.push("Active Node Address", or_na(addr));
            }
            if leader.is_self == Some(true) {
                if let Some(since) = &leader.active_time {
                    t.push("Active Since", since);
                }
            }
        }
    }
    t
}

/// `strongroom status` as JSON: the seal-status object, with the `sys/leader` fields
/// merged in at the top level when the server is unsealed (as `bao status` does).
pub fn status_json(seal: &SealStatus, leader: Option<&LeaderResponse>) -> anyhow::Result<Value> {
    let mut value = serde_json::to_value(seal)?;
    if let (Some(leader), Value::Object(map)) = (leader, &mut value) {
        if let Value::Object(extra) = serde_json::to_value(leader)? {
            for (k, v) in extra {
                map.entry(k).or_insert(v);
            }
        }
    }
    Ok(value)
}

/// The short summary after `operator unseal`: `Sealed: false`, or the progress.
pub fn unseal_summary(seal: &SealStatus) -> String {
    if seal.sealed {
        format!(
            "Sealed: true\nUnseal Progress: {}/{}\nUnseal Nonce: {}\n",
            seal.progress,
            seal.t,
            or_na(&seal.nonce)
        )
    } else {
        "Sealed: false\n".to_string()
    }
}

/// `operator key-status` (and the tail of `operator rotate`).
pub fn key_status_table(key: &KeyStatus) -> Table {
    Table::new()
        .row("Key Term", key.term)
        .row("Install Time", &key.install_time)
        .row("Encryption Count", key.encryptions)
}

/// `operator rekey --init` / `--status`.
pub fn rekey_status_table(status: &RekeyStatus) -> Table {
    let mut t = Table::new()
        .row("Nonce", or_na(&status.nonce))
        .row("Started", status.started);
    if status.started {
        t.push(
            "Rekey Progress",
            format!("{}/{}", status.progress, status.required),
        );
        t.push("New Shares", status.n);
        t.push("New Threshold", status.t);
        t.push("Verification Required", status.verification_required);
    }
    t
}

/// The short summary after a rekey share that did not complete the threshold.
pub fn rekey_progress_summary(status: &RekeyStatus) -> String {
    format!(
        "Rekey Progress: {}/{}\nNonce: {}\n",
        status.progress,
        status.required,
        or_na(&status.nonce)
    )
}

/// Lists key shares, hex then base64 for each.
fn push_shares(out: &mut String, label: &str, hex: &[String], base64: &[String]) {
    let labels: Vec<(String, String)> = (1..=hex.len().max(base64.len()))
        .map(|i| {
            (
                format!("{label} {i} (hex):"),
                format!("{label} {i} (base64):"),
            )
        })
        .collect();
    let width = labels
        .iter()
        .map(|(_, b)| b.chars().count())
        .max()
        .unwrap_or(0);
    for (i, (hex_label, b64_label)) in labels.iter().enumerate() {
        if let Some(k) = hex.get(i) {
            out.push_str(&format!("{hex_label:<width$} {k}\n"));
        }
        if let Some(k) = base64.get(i) {
            out.push_str(&format!("{b64_label:<width$} {k}\n"));
        }
    }
}

/// The output of `operator init`: the unseal key shares (hex and base64), the initial
/// root token and a warning to store them safely.
pub fn init_text(resp: &InitResponse, threshold: u32) -> String {
    let mut out = String::new();
    push_shares(&mut out, "Unseal Key", &resp.keys, &resp.keys_base64);
    out.push_str(&format!("\nInitial Root Token: {}\n\n", resp.root_token));
    let shares = resp.keys.len();
    out.push_str(&format!(
        "Strongroom initialized with {shares} key shares and a key threshold of {threshold}.\n\n"
    ));
    out.push_str(
        "WARNING: these unseal keys and the root token are shown now and never again: the\n\
         server does not keep them. Store each key share separately and safely (different\n\
         people, password managers or offline media). If fewer than the threshold of shares\n\
         survive, the vault and everything in it are lost for good.\n\n",
    );
    out.push_str(&format!(
        "The server is sealed. Unseal it by supplying {threshold} key shares, one per run of\n\
         `strongroom operator unseal` (it reads the share from a hidden prompt or stdin).\n\
         Revoke the root token once other ways to administer the vault are set up.\n"
    ));
    out
}

/// The output of the rekey share that completes the threshold: the new key shares.
/// `threshold` is the new threshold when known.
pub fn rekey_keys_text(resp: &RekeyUpdateResponse, threshold: Option<u32>) -> String {
    let mut out = String::new();
    push_shares(&mut out, "Key", &resp.keys, &resp.keys_base64);
    out.push_str(&format!("\nOperation nonce: {}\n\n", resp.nonce));
    let shares = resp.keys.len();
    match threshold {
        Some(t) => out.push_str(&format!(
            "Strongroom rekeyed with {shares} key shares and a key threshold of {t}.\n\n"
        )),
        None => out.push_str(&format!("Strongroom rekeyed with {shares} key shares.\n\n")),
    }
    out.push_str(
        "WARNING: these new unseal keys are shown now and never again: the server does not\n\
         keep them. Store each key share separately and safely. If fewer than the threshold\n\
         of shares survive, the vault and everything in it are lost for good.\n",
    );
    if resp.verification_required {
        let nonce = resp.verification_nonce.as_deref().unwrap_or("n/a");
        let needed = threshold.map_or_else(|| "a threshold".to_string(), |t| t.to_string());
        out.push_str(&format!(
            "\nThe new keys are NOT in effect yet: the old keys still unseal the vault until\n\
             {needed} of the new key shares have been verified, one per run of\n\
             \n    strongroom operator rekey --verify-key --nonce {nonce}\n"
        ));
    } else {
        out.push_str(
            "\nThe new keys are in effect now; the old keys no longer unseal the vault.\n",
        );
    }
    out
}

fn or_na(s: &str) -> &str {
    if s.is_empty() {
        "n/a"
    } else {
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn machine_formats() {
        let envelope = serde_json::json!({
            "request_id": "r", "lease_id": "", "data": {"b": "it's", "a": 1, "c": [1, "x"]}
        });
        assert_eq!(
            machine(Format::Env, &envelope).unwrap(),
            "a='1'\nb='it'\\''s'\nc='[1,\"x\"]'\n"
        );
        let yaml = machine(Format::Yaml, &envelope).unwrap();
        assert!(yaml.contains("request_id: r\n"), "{yaml}");
        assert!(machine(Format::Json, &envelope)
            .unwrap()
            .contains("\"request_id\": \"r\""));
        // A plain object contributes its own fields; names that are not variables fail
        // without quoting the value.
        let plain = serde_json::json!({"sealed": false});
        assert_eq!(machine(Format::Env, &plain).unwrap(), "sealed='false'\n");
        let bad = serde_json::json!({"not-a-name": "s3cr3t"});
        let err = machine(Format::Env, &bad).unwrap_err().to_string();
        assert!(
            err.contains("not-a-name") && !err.contains("s3cr3t"),
            "{err}"
        );
        assert!(machine(Format::Env, &serde_json::json!([1])).is_err());
        assert!(is_env_name("_A1") && !is_env_name("1A") && !is_env_name(""));
    }
    use serde_json::json;

    fn seal(sealed: bool) -> SealStatus {
        SealStatus {
            seal_type: "shamir".into(),
            initialized: true,
            sealed,
            t: 3,
            n: 5,
            progress: if sealed { 1 } else { 0 },
            nonce: if sealed {
                "abc-123".into()
            } else {
                String::new()
            },
            version: "0.1.0".into(),
            build_date: String::new(),
            migration: false,
            recovery_seal: false,
            storage_type: "sqlite".into(),
            cluster_name: (!sealed).then(|| "strongroom-cluster".into()),
            cluster_id: (!sealed).then(|| "c1d".into()),
        }
    }

    fn leader() -> LeaderResponse {
        LeaderResponse::not_ha()
    }

    #[test]
    fn table_aligns_values_four_spaces_past_longest_key() {
        let t = Table::new().row("A", 1).row("Longer Key", "x");
        assert_eq!(
            t.render(),
            "Key           Value\n---           -----\nA             1\nLonger Key    x\n"
        );
    }

    #[test]
    fn status_table_unsealed() {
        let out = status_table(&seal(false), Some(&leader())).render();
        assert_eq!(
            out,
            "Key             Value\n\
             ---             -----\n\
             Seal Type       shamir\n\
             Initialized     true\n\
             Sealed          false\n\
             Total Shares    5\n\
             Threshold       3\n\
             Version         0.1.0\n\
             Build Date      n/a\n\
             Storage Type    sqlite\n\
             Cluster Name    strongroom-cluster\n\
             Cluster ID      c1d\n\
             HA Enabled      false\n"
        );
    }

    #[test]
    fn status_table_sealed_shows_progress_and_no_ha() {
        let out = status_table(&seal(true), None).render();
        assert!(out.contains("Sealed             true\n"), "{out}");
        assert!(out.contains("Unseal Progress    1/3\n"), "{out}");
        assert!(out.contains("Unseal Nonce       abc-123\n"), "{out}");
        assert!(!out.contains("HA Enabled"), "{out}");
    }

    #[test]
    fn status_table_ha_active() {
        let l = LeaderResponse {
            ha_enabled: true,
            is_self: Some(true),
            active_time: Some("2025-01-01T00:00:00Z".into()),
            leader_address: Some("https://a:8200".into()),
            ..leader()
        };
        let out = status_table(&seal(false), Some(&l)).render();
        assert!(out.contains("HA Mode                active\n"), "{out}");
        assert!(out.contains("Active Since           2025-01-01T00:00:00Z\n"));
    }

    #[test]
    fn status_json_merges_leader_fields() {
        let v = status_json(&seal(false), Some(&leader())).unwrap();
        assert_eq!(v["type"], "shamir");
        assert_eq!(v["sealed"], false);
        assert_eq!(v["ha_enabled"], false);
        assert_eq!(v["cluster_name"], "strongroom-cluster");
        let sealed = status_json(&seal(true), None).unwrap();
        assert!(sealed.get("ha_enabled").is_none());
        assert_eq!(sealed["progress"], 1);
    }

    #[test]
    fn unseal_summaries() {
        assert_eq!(unseal_summary(&seal(false)), "Sealed: false\n");
        assert_eq!(
            unseal_summary(&seal(true)),
            "Sealed: true\nUnseal Progress: 1/3\nUnseal Nonce: abc-123\n"
        );
    }

    #[test]
    fn name_lists() {
        let names = vec!["a".to_string(), "b/".to_string()];
        assert_eq!(
            names_text(Format::Table, "x list", &names).unwrap(),
            "a\nb/\n"
        );
        let json: Vec<String> =
            serde_json::from_str(&names_text(Format::Json, "x list", &names).unwrap()).unwrap();
        assert_eq!(json, names);
        let err = names_text(Format::Env, "x list", &names).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x list has no key/value data; use --format json"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(2_764_800), "768h");
        assert_eq!(duration(5400), "1h30m");
        assert_eq!(duration(61), "1m1s");
    }

    #[test]
    fn column_layout() {
        let text = columns(
            &["Path", "Type", "Description"],
            &[
                vec!["secret/".into(), "kv".into(), "n/a".into()],
                vec!["transit/".into(), "transit".into(), "keys".into()],
            ],
        );
        assert_eq!(
            text,
            "Path        Type       Description\n\
             ----        ----       -----------\n\
             secret/     kv         n/a\n\
             transit/    transit    keys\n"
        );
    }

    #[test]
    fn cells_are_bao_style() {
        assert_eq!(cell(&json!(null)), "n/a");
        assert_eq!(cell(&json!("s")), "s");
        assert_eq!(cell(&json!(["root", "dev"])), "[root dev]");
        assert_eq!(cell(&json!({"b": 2, "a": "x"})), "map[a:x b:2]");
        assert_eq!(cell(&json!(7)), "7");
    }

    #[test]
    fn object_table_sorts_and_hides() {
        let v = json!({"policies": ["root"], "id": "hvs.secret", "accessor": "acc"});
        let Value::Object(map) = v else {
            panic!("not an object")
        };
        let out = object_table(&map, &["id"]).render();
        assert_eq!(
            out,
            "Key         Value\n---         -----\naccessor    acc\npolicies    [root]\n"
        );
        assert!(!out.contains("hvs.secret"));
    }

    #[test]
    fn key_status_layout() {
        let k = KeyStatus {
            term: 2,
            install_time: "2025-01-01T00:00:00Z".into(),
            encryptions: 7,
        };
        assert_eq!(
            key_status_table(&k).render(),
            "Key                 Value\n\
             ---                 -----\n\
             Key Term            2\n\
             Install Time        2025-01-01T00:00:00Z\n\
             Encryption Count    7\n"
        );
    }

    fn rekey_status(started: bool) -> RekeyStatus {
        RekeyStatus {
            nonce: if started { "n-1".into() } else { String::new() },
            started,
            t: 2,
            n: 3,
            progress: 0,
            required: 1,
            pgp_fingerprints: None,
            backup: false,
            verification_required: true,
        }
    }

    #[test]
    fn rekey_status_layouts() {
        let out = rekey_status_table(&rekey_status(true)).render();
        assert!(out.contains("Nonce                    n-1\n"), "{out}");
        assert!(out.contains("Rekey Progress           0/1\n"), "{out}");
        assert!(out.contains("New Shares               3\n"), "{out}");
        assert!(out.contains("New Threshold            2\n"), "{out}");
        assert!(out.contains("Verification Required    true\n"), "{out}");
        let idle = rekey_status_table(&rekey_status(false)).render();
        assert_eq!(
            idle,
            "Key        Value\n---        -----\nNonce      n/a\nStarted    false\n"
        );
        assert_eq!(
            rekey_progress_summary(&rekey_status(true)),
            "Rekey Progress: 0/1\nNonce: n-1\n"
        );
    }

    #[test]
    fn init_text_shows_keys_token_and_warning() {
        let resp = InitResponse {
            keys: vec!["aa01".into(), "bb02".into()],
            keys_base64: vec!["qgE=".into(), "uwI=".into()],
            root_token: "hvs.root".into(),
        };
        let out = init_text(&resp, 2);
        assert!(out.starts_with(
            "Unseal Key 1 (hex):    aa01\n\
             Unseal Key 1 (base64): qgE=\n\
             Unseal Key 2 (hex):    bb02\n\
             Unseal Key 2 (base64): uwI=\n\n\
             Initial Root Token: hvs.root\n"
        ));
        assert!(out.contains("2 key shares and a key threshold of 2"));
        assert!(out.contains("WARNING"));
    }

    #[test]
    fn rekey_keys_text_with_and_without_verification() {
        let mut resp = RekeyUpdateResponse {
            nonce: "n-1".into(),
            complete: true,
            keys: vec!["aa".into(), "bb".into(), "cc".into()],
            keys_base64: vec!["qg==".into(), "uw==".into(), "zA==".into()],
            pgp_fingerprints: None,
            backup: false,
            verification_required: false,
            verification_nonce: None,
        };
        let out = rekey_keys_text(&resp, Some(2));
        assert!(out.contains("Key 3 (base64): zA==\n"), "{out}");
        assert!(out.contains("3 key shares and a key threshold of 2"));
        assert!(out.contains("in effect now"));
        resp.verification_required = true;
        resp.verification_nonce = Some("v-9".into());
        let out = rekey_keys_text(&resp, Some(2));
        assert!(out.contains("NOT in effect yet"), "{out}");
        assert!(out.contains("strongroom operator rekey --verify-key --nonce v-9"));
    }
}
