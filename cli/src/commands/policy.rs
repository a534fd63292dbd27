//! `strongroom policy list|read|write|delete|fmt`: ACL policies (`sys/policies/acl`).
//!
//! `write NAME FILE` reads the policy from FILE, or from stdin with `-`. `fmt FILE`
//! rewrites a local HCL policy file in canonical formatting (parsed and printed with
//! `hcl-rs`): it refuses a file that is not valid HCL (with the parser's message and
//! position) or not policy-shaped (only `path "<pattern>" { … }` blocks), and — since
//! the formatter cannot keep them — a file with comments unless `-strip-comments` is
//! given. It never talks to the server.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use serde_json::json;

use super::{Context, Outcome, UsageError};
use crate::output::{self, Format};

/// Largest policy file accepted (the server's request limit is far above any real policy).
const MAX_POLICY_BYTES: u64 = 1024 * 1024;

/// `strongroom policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// List the ACL policy names.
    List,
    /// Show a policy's text.
    Read(NameArg),
    /// Create or replace a policy from FILE (`-` reads stdin).
    Write(WriteArgs),
    /// Delete a policy (tokens holding it keep the name, which then grants nothing).
    Delete(NameArg),
    /// Rewrite a local HCL policy file in canonical formatting (no server involved).
    Fmt(FmtArgs),
}

/// A policy name.
#[derive(Debug, Args)]
pub struct NameArg {
    /// The policy's name.
    pub name: String,
}

/// `policy write`.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The policy's name.
    pub name: String,
    /// The HCL (or JSON) policy file, or `-` for stdin.
    #[arg(value_name = "FILE|-")]
    pub file: String,
}

/// `policy fmt`.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// The HCL policy file to rewrite in place.
    pub file: PathBuf,
    /// Format even though the file has comments, which are dropped.
    #[arg(long)]
    pub strip_comments: bool,
}

/// Runs a `policy` subcommand.
pub async fn run(ctx: &Context, cmd: PolicyCommand) -> anyhow::Result<Outcome> {
    match cmd {
        PolicyCommand::List => {
            let names = ctx.client.list_policies().await?;
            output::print(&output::names_text(ctx.format, "policy list", &names)?)?;
        }
        PolicyCommand::Read(args) => {
            let Some(policy) = ctx.client.read_policy(&args.name).await? else {
                bail!("no policy named {:?}", args.name);
            };
            let text = match ctx.format {
                Format::Table => policy.policy.clone(),
                other => output::machine(other, &policy)?,
            };
            output::print(&text)?;
        }
        PolicyCommand::Write(args) => {
            let text = read_policy_source(&args.file)?;
            ctx.client.write_policy(&args.name, &text, None).await?;
            output::print(&format!("Success! Uploaded policy: {}", args.name))?;
        }
        PolicyCommand::Delete(args) => {
            ctx.client.delete_policy(&args.name).await?;
            output::print(&format!("Success! Deleted policy: {}", args.name))?;
        }
        PolicyCommand::Fmt(args) => {
            let changed = fmt_file(&args.file, args.strip_comments)?;
            let text = match ctx.format {
                Format::Table => format!(
                    "Success! Formatted policy: {}{}",
                    args.file.display(),
                    if changed { "" } else { " (already canonical)" }
                ),
                other => output::machine(
                    other,
                    &json!({"file": args.file.display().to_string(), "changed": changed}),
                )?,
            };
            output::print(&text)?;
        }
    }
    Ok(Outcome::Success)
}

fn read_policy_source(file: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    if file == "-" {
        std::io::stdin()
            .take(MAX_POLICY_BYTES + 1)
            .read_to_string(&mut text)
            .context("reading the policy from stdin")?;
    } else {
        std::fs::File::open(file)
            .with_context(|| format!("opening {file}"))?
            .take(MAX_POLICY_BYTES + 1)
            .read_to_string(&mut text)
            .with_context(|| format!("reading {file}"))?;
    }
    if text.len() as u64 > MAX_POLICY_BYTES {
        bail!("the policy is larger than {MAX_POLICY_BYTES} bytes");
    }
    if text.trim().is_empty() {
        return Err(UsageError("the policy is empty".into()).into());
    }
    Ok(text)
}

/// Formats `file` in place; returns whether its content changed.
fn fmt_file(file: &Path, strip_comments: bool) -> anyhow::Result<bool> {
    let meta = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?;
    if meta.len() > MAX_POLICY_BYTES {
        bail!("{} is larger than {MAX_POLICY_BYTES} bytes", file.display());
    }
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let formatted = format_policy(&text, strip_comments)
        .with_context(|| format!("formatting {}", file.display()))?;
    if formatted == text {
        return Ok(false);
    }
    // Write next to it and rename, so a failure never leaves a half-written policy.
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "policy".into());
    let tmp = dir.join(format!(".{name}.fmt-{}", std::process::id()));
    let written = std::fs::write(&tmp, formatted.as_bytes())
        .and_then(|()| std::fs::set_permissions(&tmp, meta.permissions()))
        .and_then(|()| std::fs::rename(&tmp, file));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", file.display()));
    }
    Ok(true)
}

/// The canonical formatting of an HCL policy.
pub fn format_policy(text: &str, strip_comments: bool) -> anyhow::Result<String> {
    let body = hcl::parse(text).map_err(|e| match &e {
        hcl::Error::Parse(parse) => {
            let at = parse.location();
            anyhow::anyhow!(
                "invalid HCL at {}:{}: {}",
                at.line(),
                at.column(),
                parse.message()
            )
        }
        other => anyhow::anyhow!("invalid HCL: {other}"),
    })?;
    for structure in body.iter() {
        match structure {
            hcl::Structure::Block(block) => {
                if block.identifier.as_str() != "path" {
                    bail!(
                        "not a policy: unknown block {:?} (only `path \"<pattern>\" {{ … }}`)",
                        block.identifier.as_str()
                    );
                }
                if block.labels.len() != 1 {
                    bail!("not a policy: a path block takes exactly one label, the path");
                }
            }
            hcl::Structure::Attribute(attr) => {
                if !matches!(attr.key.as_str(), "name" | "path") {
                    bail!("not a policy: unknown key {:?}", attr.key.as_str());
                }
            }
        }
    }
    if !strip_comments && has_comments(text) {
        bail!(
            "the file has comments, which formatting would drop; remove them or pass \
             -strip-comments"
        );
    }
    // Capability lists on one line (`["read", "list"]`), as policies are usually written.
    let mut formatter = hcl::format::Formatter::builder()
        .compact_arrays(true)
        .build_vec();
    let mut out =
        hcl::format::Format::format_string(&body, &mut formatter).context("printing the policy")?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// Whether HCL `text` has a comment (`#`, `//`, `/* */`) outside strings and heredocs.
fn has_comments(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'#' => return true,
            b'/' if matches!(bytes.get(i + 1), Some(b'/' | b'*')) => return true,
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                // Heredoc: skip to the line holding only its marker.
                let rest = &text[i + 2..];
                let rest = rest.strip_prefix('-').unwrap_or(rest);
                let marker: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if marker.is_empty() {
                    i += 2;
                    continue;
                }
                let Some(first_nl) = text[i..].find('\n') else {
                    return false;
                };
                let mut pos = i + first_nl + 1;
                loop {
                    let end = text[pos..].find('\n').map_or(text.len(), |n| pos + n);
                    if text[pos..end].trim() == marker || end >= text.len() {
                        i = end;
                        break;
                    }
                    pos = end + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_messy_policy_canonically() {
        let messy = "path   \"secret/*\"{capabilities=[\"read\",\n\"list\"]}\npath \"sys/health\" {\n      capabilities = [\"read\"]\n}";
        let out = format_policy(messy, false).unwrap();
        assert_eq!(
            out,
            "path \"secret/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n\npath \"sys/health\" {\n  capabilities = [\"read\"]\n}\n"
        );
        // Idempotent.
        assert_eq!(format_policy(&out, false).unwrap(), out);
    }

    #[test]
    fn refuses_invalid_hcl_and_non_policies() {
        let err = format_policy("path \"x\" {", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid HCL at 1:"), "{err}");
        let err = format_policy("resource \"x\" {}", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown block"), "{err}");
        assert!(format_policy("path \"a\" \"b\" {}", false).is_err());
        assert!(format_policy("color = 1", false).is_err());
    }

    #[test]
    fn comments_are_detected_outside_strings() {
        assert!(has_comments("# note\npath \"a\" {}"));
        assert!(has_comments("path \"a\" {} // x"));
        assert!(has_comments("/* x */ path \"a\" {}"));
        assert!(!has_comments(
            "path \"a/#/b//c\" { capabilities = [\"read\"] }"
        ));
        assert!(!has_comments("path \"a\\\"#\" {}"));
        assert!(!has_comments(
            "x = <<EOT\n# not a comment\nEOT\npath \"a\" {}"
        ));
        assert!(has_comments("x = <<EOT\nbody\nEOT\n# after\n"));
        let err = format_policy("# c\npath \"a\" {\n}\n", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("-strip-comments"), "{err}");
        assert_eq!(
            format_policy("# c\npath \"a\" {\n}\n", true).unwrap(),
            "path \"a\" {}\n"
        );
    }
}
