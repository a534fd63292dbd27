//! `kv import PATH [--format json|yaml|env] [FILE|-] [--dry-run] [--force]`.
//!
//! JSON/YAML: the document of `kv export` (relative path → fields); each secret is
//! written at `PATH/<relative path>` (`""` = PATH itself). env: every variable becomes a
//! field of the one secret at PATH (see [`super::envfile`]). Without `--format` the
//! input is taken as JSON when it starts with `{`, else as env lines.
//!
//! The whole input is parsed and checked before anything is written: relative paths
//! must be clean (no empty, `.` or `..` segments, no leading or trailing `/`), and
//! secrets that already exist are refused — all of them listed, nothing written — unless
//! `--force`. On KV v2 every write carries `cas` = the version seen by that check (0
//! for a new secret), so a secret created or changed meanwhile is not overwritten, even
//! with `--force`, and keys that require check-and-set can be imported. `--dry-run` prints the plan
//! (paths, field names, which exist), never values, and writes nothing.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use anyhow::{anyhow, bail};
use serde_json::{Map, Value};

use super::{envfile, progress, tree, Context, ImportArgs, KvTarget, KvVersion, Outcome};
use crate::commands::data_args;
use crate::output::{self, Format};

/// What the input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// The export document as JSON.
    Json,
    /// The export document as YAML.
    Yaml,
    /// `NAME=value` lines.
    Env,
}

impl InputFormat {
    /// From `--format`; `table` (not given) detects JSON by a leading `{`.
    pub fn choose(format: Format, text: &str) -> InputFormat {
        match format {
            Format::Json => InputFormat::Json,
            Format::Yaml => InputFormat::Yaml,
            Format::Env => InputFormat::Env,
            Format::Table if text.trim_start().starts_with('{') => InputFormat::Json,
            Format::Table => InputFormat::Env,
        }
    }
}

/// Checks an export key: `""`, or `a/b` without empty, `.` or `..` segments.
pub fn check_relative(rel: &str) -> anyhow::Result<()> {
    if rel.is_empty() {
        return Ok(());
    }
    if rel
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        bail!(
            "the input holds the path {rel:?}, which is not a clean relative path (no \
             leading or trailing '/', no empty, '.' or '..' segments)"
        );
    }
    Ok(())
}

/// The secrets in `text` (relative path → fields), parsed and checked.
pub fn parse_input(
    text: &str,
    format: InputFormat,
) -> anyhow::Result<BTreeMap<String, Map<String, Value>>> {
    let document: Value = match format {
        InputFormat::Env => {
            let fields = envfile::parse(text)?;
            if fields.is_empty() {
                bail!("the input holds no NAME=value lines");
            }
            return Ok(BTreeMap::from([(String::new(), fields)]));
        }
        InputFormat::Json => serde_json::from_str(text).map_err(|e| {
            anyhow!(
                "the input is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            )
        })?,
        InputFormat::Yaml => serde_yaml_ng::from_str(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
                .unwrap_or_default();
            anyhow!("the input is not valid YAML{at}")
        })?,
    };
    let Value::Object(entries) = document else {
        bail!("the input must be an object mapping secret paths to their fields (as kv export writes)");
    };
    let mut secrets = BTreeMap::new();
    for (rel, fields) in entries {
        check_relative(&rel)?;
        let Value::Object(fields) = fields else {
            bail!("the entry {rel:?} is not an object of fields");
        };
        secrets.insert(rel, fields);
    }
    Ok(secrets)
}

/// `kv import`
pub async fn run(ctx: &Context, args: ImportArgs) -> anyhow::Result<Outcome> {
    let text = match args.file.as_deref() {
        None | Some("-") => {
            if std::io::stdin().is_terminal() {
                eprintln!("Reading the export from stdin (end it with Ctrl-D)...");
            }
            data_args::read_limited(std::io::stdin().lock(), "stdin")?
        }
        Some(file) => data_args::read_file(std::path::Path::new(file))?,
    };
    let format = InputFormat::choose(ctx.format, &text);
    let secrets = parse_input(&text, format)?;
    drop(text);
    if secrets.is_empty() {
        bail!("the input holds no secrets");
    }
    let target = KvTarget::resolve(&ctx.client, args.mount.as_deref(), &args.path).await?;
    let root = target.path.as_str();
    if secrets.contains_key("") && (root.is_empty() || root.ends_with('/')) {
        bail!(
            "the input holds fields for the import path itself, but {} is a folder or a \
             mount; give the path of the secret to write",
            target.logical()
        );
    }
    let plan: Vec<(String, &Map<String, Value>)> = secrets
        .iter()
        .map(|(rel, fields)| (tree::destination(root, rel), fields))
        .collect();
    if target.version == KvVersion::V1 {
        if let Some((path, _)) = plan.iter().find(|(_, f)| f.is_empty()) {
            bail!(
                "the secret for {}{path} has no fields; KV version 1 cannot store an empty secret",
                target.mount
            );
        }
    }

    let bar = progress::bar(plan.len(), "Checking");
    let mut existing = Vec::new();
    let mut seen = Vec::with_capacity(plan.len());
    for (path, _) in &plan {
        let found = tree::current_version(&ctx.client, &target, path).await;
        bar.inc(1);
        match found {
            Ok(version) => {
                if version.is_some() {
                    existing.push(path.clone());
                }
                seen.push(version);
            }
            Err(e) => {
                bar.finish_and_clear();
                return Err(e.context(format!("checking {}{path}", target.mount)));
            }
        }
    }
    bar.finish_and_clear();

    if args.dry_run {
        output::print(&dry_run_text(&target, &plan, &existing, args.force))?;
        return Ok(Outcome::Success);
    }
    if !existing.is_empty() && !args.force {
        bail!(
            "refusing to overwrite {} existing secret(s): {}; nothing was written (use --force \
             to overwrite)",
            existing.len(),
            listing(&target, &existing)
        );
    }

    let bar = progress::bar(plan.len(), "Importing");
    for (written, ((path, fields), seen)) in plan.iter().zip(seen).enumerate() {
        let result = tree::write_fields(&ctx.client, &target, path, fields, seen).await;
        bar.inc(1);
        if let Err(e) = result {
            bar.finish_and_clear();
            return Err(e.context(format!(
                "writing {}{path} ({written} of {} secrets written before it)",
                target.mount,
                plan.len()
            )));
        }
    }
    bar.finish_and_clear();
    output::print(&format!(
        "Success! Imported {} secret(s) into {}",
        plan.len(),
        target.logical()
    ))?;
    Ok(Outcome::Success)
}

fn listing(target: &KvTarget, paths: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut parts: Vec<String> = paths
        .iter()
        .take(SHOWN)
        .map(|p| format!("{}{p}", target.mount))
        .collect();
    if paths.len() > SHOWN {
        parts.push(format!("and {} more", paths.len() - SHOWN));
    }
    parts.join(", ")
}

/// The `--dry-run` plan: one line per secret with its field names (never values).
pub fn dry_run_text(
    target: &KvTarget,
    plan: &[(String, &Map<String, Value>)],
    existing: &[String],
    force: bool,
) -> String {
    let mut out = String::new();
    for (path, fields) in plan {
        let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
        names.sort_unstable();
        let note = match (existing.contains(path), force) {
            (false, _) => "",
            (true, true) => " [exists: would be overwritten]",
            (true, false) => " [exists: refused without --force]",
        };
        out.push_str(&format!(
            "would write {}{path} (fields: {}){note}\n",
            target.mount,
            names.join(", ")
        ));
    }
    out.push_str(&format!(
        "Dry run: {} secret(s) to {}, {} already exist; nothing was written.\n",
        plan.len(),
        target.logical(),
        existing.len()
    ));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn format_detection() {
        assert_eq!(
            InputFormat::choose(Format::Table, "  {}"),
            InputFormat::Json
        );
        assert_eq!(InputFormat::choose(Format::Table, "A=1"), InputFormat::Env);
        assert_eq!(InputFormat::choose(Format::Env, "{"), InputFormat::Env);
        assert_eq!(InputFormat::choose(Format::Yaml, "a: 1"), InputFormat::Yaml);
    }

    #[test]
    fn inputs_are_checked() {
        let s = parse_input(r#"{"a/b": {"x": 1}, "": {"y": "z"}}"#, InputFormat::Json).unwrap();
        assert_eq!(s.len(), 2);
        let s = parse_input("a/b:\n  x: 1\n", InputFormat::Yaml).unwrap();
        assert_eq!(Value::Object(s["a/b"].clone()), json!({"x": 1}));
        assert!(parse_input("# nothing\n", InputFormat::Env).is_err());
        let s = parse_input("K='v'\n", InputFormat::Env).unwrap();
        assert_eq!(Value::Object(s[""].clone()), json!({"K": "v"}));
        for bad in [
            r#"{"../x": {"a": "SECRET"}}"#,
            r#"{"/x": {"a": "SECRET"}}"#,
            r#"{"x/": {"a": "SECRET"}}"#,
            r#"{"a//b": {"a": "SECRET"}}"#,
            r#"{"x": "SECRET"}"#,
            r#"["SECRET"]"#,
            r#"{"x": {"a": "SECRET""#,
        ] {
            let e = parse_input(bad, InputFormat::Json).unwrap_err().to_string();
            assert!(!e.contains("SECRET"), "{bad}: {e}");
        }
    }

    #[test]
    fn dry_run_shows_names_not_values() {
        let target = KvTarget {
            mount: "secret/".into(),
            path: "app".into(),
            version: KvVersion::V2,
        };
        let Value::Object(f) = json!({"pw": "SECRET", "user": "u"}) else {
            panic!()
        };
        let plan = vec![("app/db".to_string(), &f), ("app/web".to_string(), &f)];
        let out = dry_run_text(&target, &plan, &["app/db".to_string()], false);
        assert!(
            out.contains(
                "would write secret/app/db (fields: pw, user) [exists: refused without --force]\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("would write secret/app/web (fields: pw, user)\n"),
            "{out}"
        );
        assert!(!out.contains("SECRET"));
    }
}
