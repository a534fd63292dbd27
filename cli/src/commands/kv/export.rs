//! `kv export PATH [--format json|yaml|env] [--output FILE]`: every secret under PATH.
//!
//! PATH may be a secret, a folder or a whole mount; the folder is walked recursively
//! ([`super::tree::walk`]). The JSON (and YAML) document maps each secret's path
//! relative to PATH to its fields — `""` is the secret at PATH itself — so
//! `kv import OTHER_PATH` recreates the same tree under another path or mount, KV v1 or
//! v2 alike. KV v2 exports hold each secret's latest version; keys whose latest version
//! is deleted or destroyed are skipped with a warning. `--format env` writes
//! `NAME='value'` lines ([`super::envfile`]). `--format table` (the default) means JSON.
//!
//! The output goes to stdout or to `--output FILE`, created (or truncated) with mode
//! 0600 before anything is written to it. Buffers holding the rendered secrets are wiped.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, Context as _};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::read::not_found;
use super::{envfile, progress, tree, Context, ExportArgs, KvTarget, Outcome};
use crate::output::Format;

/// `kv export`
pub async fn run(ctx: &Context, args: ExportArgs) -> anyhow::Result<Outcome> {
    let target = KvTarget::resolve(&ctx.client, args.mount.as_deref(), &args.path).await?;
    let spinner = progress::spinner("Listing secrets");
    let walked = tree::walk(&ctx.client, &target, &spinner).await;
    spinner.finish_and_clear();
    let candidates = walked?;
    let bar = progress::bar(candidates.len(), "Exporting");
    let mut secrets: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut skipped = Vec::new();
    for path in &candidates {
        let read = tree::read_fields(&ctx.client, &target, path).await;
        bar.inc(1);
        match read {
            Ok(Some(fields)) => {
                secrets.insert(tree::relative(&target.path, path), fields);
            }
            // The export root itself need not be a secret.
            Ok(None) if *path == target.path => {}
            Ok(None) => skipped.push(path.clone()),
            Err(e) => {
                bar.finish_and_clear();
                return Err(e.context(format!("reading {}{path}", target.mount)));
            }
        }
    }
    bar.finish_and_clear();
    for path in &skipped {
        eprintln!(
            "Warning: skipped {}{path}: it has no live version (deleted, destroyed or metadata only)",
            target.mount
        );
    }
    if secrets.is_empty() {
        return Err(not_found(&target.logical()).context("nothing to export"));
    }
    let text = render(&secrets, ctx.format)?;
    match &args.output {
        Some(file) => {
            write_private(file, &text)?;
            eprintln!(
                "Exported {} secret(s) from {} to {}",
                secrets.len(),
                target.logical(),
                file.display()
            );
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(Outcome::Success)
}

/// The export document in `format` (`table` and `json`: pretty JSON).
pub fn render(
    secrets: &BTreeMap<String, Map<String, Value>>,
    format: Format,
) -> anyhow::Result<Zeroizing<String>> {
    Ok(match format {
        Format::Table | Format::Json => {
            let mut text = Zeroizing::new(serde_json::to_string_pretty(secrets)?);
            text.push('\n');
            text
        }
        Format::Yaml => Zeroizing::new(serde_yaml_ng::to_string(secrets)?),
        Format::Env => envfile::export(secrets)?,
    })
}

/// Creates or truncates `path` with mode 0600 (also when it existed with another mode)
/// and writes `text` to it.
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("setting the mode of {} to 0600", path.display()))?;
    }
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| anyhow!("writing {}: {e}", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_and_yaml_documents() {
        let secrets: BTreeMap<String, Map<String, Value>> =
            serde_json::from_value(json!({"a/b": {"n": 1}, "": {"s": "x"}})).unwrap();
        let text = render(&secrets, Format::Table).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, json!({"": {"s": "x"}, "a/b": {"n": 1}}));
        let yaml = render(&secrets, Format::Yaml).unwrap();
        let back: Value = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(back, json!({"": {"s": "x"}, "a/b": {"n": 1}}));
    }

    #[cfg(unix)]
    #[test]
    fn output_file_is_private_even_if_it_existed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old contents that are longer").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
