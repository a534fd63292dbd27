//! `strongroom audit list|enable|disable`: audit devices (`sys/audit`, needs sudo), and
//! `strongroom audit verify FILE`, which checks an audit file's hash chain.
//!
//! `audit enable TYPE [KEY=VALUE ...]` passes the options as `bao` does
//! (`audit enable file file_path=/var/log/strongroom/audit.log`); the server only allows
//! it when its `[audit_api]` configuration does.
//!
//! The chain key comes from the server (`--salt-from URL --device PATH` reads
//! `sys/audit-chain/<device>`, which needs a sudo token) or is given offline
//! (`--key-stdin`: the hex key from a hidden prompt or one line of stdin — never argv). With the server's current head, a truncated tail (or an older, rotated
//! file) is detected too. Exit codes: 0 intact, 1 a link is broken (or the head is not in
//! the file, or the check could not run), 2 usage error. The key is never printed.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use strongroom_client::api::{AuditDevice, EnableAuditRequest};
use strongroom_client::audit_chain::{self, Report};
use strongroom_client::Method;
use zeroize::Zeroizing;

use super::{Context, Outcome, UsageError};
use crate::output::{self, Format};

/// `strongroom audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List the enabled audit devices.
    List(super::secrets::ListArgs),
    /// Enable an audit device: `audit enable file file_path=/path/audit.log`.
    Enable(EnableArgs),
    /// Disable the audit device at PATH.
    Disable(DisableArgs),
    /// Verify the hash chain of an audit file. Exit 0 intact, 1 broken, 2 usage error.
    Verify(VerifyArgs),
}

/// `strongroom audit enable`.
#[derive(Debug, Args)]
pub struct EnableArgs {
    /// The device type: `file` (or `socket`).
    #[arg(value_name = "TYPE")]
    pub device_type: String,
    /// Options KEY=VALUE: `file_path` (a file, `stdout` or `discard`), `mode`, `format`,
    /// `prefix`, `log_raw`, `hmac_accessor`, ...
    #[arg(value_name = "KEY=VALUE", value_parser = super::args::parse_key_value)]
    pub options: Vec<(String, String)>,
    /// Where to enable it (default: the type's name).
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,
    /// Free text shown by `audit list`.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Mark the device replication-local.
    #[arg(long)]
    pub local: bool,
}

/// `strongroom audit disable`.
#[derive(Debug, Args)]
pub struct DisableArgs {
    /// The device's path.
    #[arg(value_name = "PATH")]
    pub path: String,
}

/// `strongroom audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The audit file (JSON lines written by a Strongroom audit device).
    pub file: PathBuf,
    /// Fetch the chain key and head from this server (`sys/audit-chain/<device>`; needs a
    /// sudo token in STRONGROOM_TOKEN / VAULT_TOKEN).
    #[arg(
        long,
        value_name = "URL",
        requires = "device",
        conflicts_with = "key_stdin"
    )]
    pub salt_from: Option<String>,
    /// The device's path on the server (e.g. `file`).
    #[arg(long, value_name = "PATH")]
    pub device: Option<String>,
    /// Offline: read the chain key (hex, as `sys/audit-chain` returns it) from a hidden
    /// prompt, or one line of stdin. Never from the command line, where `ps` shows it.
    #[arg(long)]
    pub key_stdin: bool,
    /// Offline: the head to look for (the server's last link), to detect truncation.
    #[arg(long, value_name = "LINK", requires = "key_stdin")]
    pub head: Option<String>,
}

/// Runs an `audit` subcommand.
pub async fn run(ctx: &Context, cmd: AuditCommand) -> anyhow::Result<Outcome> {
    match cmd {
        AuditCommand::Verify(args) => verify(ctx, args).await,
        AuditCommand::List(args) => list(ctx, &args).await,
        AuditCommand::Enable(args) => enable(ctx, args).await,
        AuditCommand::Disable(args) => {
            let path = super::secrets::clean_path(&args.path)?;
            ctx.client.disable_audit(&path).await?;
            output::print(&format!(
                "Success! Disabled audit device (if it was enabled) at: {path}/"
            ))?;
            Ok(Outcome::Success)
        }
    }
}

async fn list(ctx: &Context, args: &super::secrets::ListArgs) -> anyhow::Result<Outcome> {
    let devices = ctx.client.list_audit().await?;
    let text = match ctx.format {
        Format::Table if devices.is_empty() => "No audit devices are enabled.".to_string(),
        Format::Table => audit_table(&devices, args.detailed),
        other => output::machine(other, &devices)?,
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

/// The `audit list` table.
pub fn audit_table(
    devices: &std::collections::BTreeMap<String, AuditDevice>,
    detailed: bool,
) -> String {
    let mut headers = vec!["Path", "Type", "Description"];
    if detailed {
        headers.extend(["Replication", "Options"]);
    }
    let rows: Vec<Vec<String>> = devices
        .iter()
        .map(|(path, d)| {
            let mut row = vec![
                path.clone(),
                d.device_type.clone(),
                if d.description.is_empty() {
                    "n/a".into()
                } else {
                    d.description.clone()
                },
            ];
            if detailed {
                row.push(if d.local { "local" } else { "replicated" }.into());
                let options: Vec<String> =
                    d.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
                row.push(options.join(" "));
            }
            row
        })
        .collect();
    output::columns(&headers, &rows)
}

async fn enable(ctx: &Context, args: EnableArgs) -> anyhow::Result<Outcome> {
    let path = super::secrets::clean_path(args.path.as_deref().unwrap_or(&args.device_type))?;
    let request = EnableAuditRequest {
        device_type: args.device_type.clone(),
        description: args.description,
        options: args.options.into_iter().collect(),
        local: args.local,
    };
    ctx.client
        .enable_audit(&path, &request)
        .await
        .with_context(|| format!("enabling the {} audit device at {path}/", args.device_type))?;
    output::print(&format!(
        "Success! Enabled the {} audit device at: {path}/",
        args.device_type
    ))?;
    Ok(Outcome::Success)
}

async fn verify(ctx: &Context, args: VerifyArgs) -> anyhow::Result<Outcome> {
    let (key, head, source) = match (args.key_stdin, &args.device) {
        (true, _) => {
            let typed = crate::secret_input::read_secret("Audit chain key (hex): ")?;
            let key = Zeroizing::new(hex_decode(typed.trim()).ok_or_else(|| {
                UsageError("the chain key must be the hex of a 32-byte key".into())
            })?);
            (
                key,
                args.head.clone(),
                "the key read from stdin".to_string(),
            )
        }
        (false, Some(device)) if args.salt_from.is_some() => {
            let path = format!("sys/audit-chain/{}", device.trim_matches('/'));
            let body = ctx
                .client
                .call_json(Method::GET, &path, None)
                .await?
                .unwrap_or(Value::Null);
            let data = &body["data"];
            let key = data["key"]
                .as_str()
                .and_then(hex_decode)
                .context("the server's sys/audit-chain answer has no valid key")?;
            let head = data["head"].as_str().map(str::to_string);
            (
                Zeroizing::new(key),
                head,
                format!("server {} device {device}", ctx.client.address()),
            )
        }
        _ => {
            return Err(
                UsageError("give --salt-from URL --device PATH, or --key-stdin".into()).into(),
            )
        }
    };
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let report = audit_chain::verify_lines(&key, text.lines(), head.as_deref());
    let rendered = match ctx.format {
        Format::Table => render(&args.file, &source, &report),
        other => output::machine(other, &report_json(&report))?,
    };
    output::print(&rendered)?;
    Ok(if report.is_intact() {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn report_json(r: &Report) -> Value {
    json!({
        "intact": r.is_intact(),
        "lines": r.lines,
        "first_break": r.first_break().map(|b| json!({"line": b.line, "problem": b.kind.describe()})),
        "breaks": r.breaks.iter().map(|b| json!({"line": b.line, "problem": b.kind.describe()})).collect::<Vec<_>>(),
        "starts_mid_chain": r.starts_mid_chain,
        "head_found": r.head_found,
        "head_is_last": r.head_is_last,
    })
}

/// The human-readable report.
pub fn render(file: &std::path::Path, source: &str, r: &Report) -> String {
    let mut out = format!(
        "Audit file:  {} ({} lines)\nChain key:   {source}\n",
        file.display(),
        r.lines
    );
    if r.starts_mid_chain {
        out.push_str(
            "Note:        the first line continues an earlier chain (a rotated file); \
             verify the previous file for what came before\n",
        );
    }
    match r.first_break() {
        None => out.push_str("Links:       all intact\n"),
        Some(b) => {
            out.push_str(&format!(
                "Links:       BROKEN at line {}: {}\n",
                b.line,
                b.kind.describe()
            ));
            if r.breaks.len() > 1 {
                let rest: Vec<String> = r.breaks[1..]
                    .iter()
                    .take(20)
                    .map(|b| b.line.to_string())
                    .collect();
                out.push_str(&format!(
                    "             further breaks at lines {}{}\n",
                    rest.join(", "),
                    if r.breaks.len() > 21 { ", ..." } else { "" }
                ));
            }
        }
    }
    match (r.head_found, r.head_is_last) {
        (None, _) => out.push_str(
            "Server head: not checked (a truncated tail cannot be detected without it)\n",
        ),
        (Some(true), Some(true)) => out.push_str("Server head: found at the last line\n"),
        (Some(true), _) => {
            out.push_str("Server head: found (the server has written more lines after it since)\n")
        }
        (Some(false), _) => out.push_str(
            "Server head: NOT FOUND: the file's tail was truncated, or this is not the \
             newest file (rotated)\n",
        ),
    }
    out.push_str(if r.is_intact() {
        "Result:      INTACT\n"
    } else {
        "Result:      BROKEN\n"
    });
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn audit_list_table() {
        let devices = std::collections::BTreeMap::from([(
            "file/".to_string(),
            AuditDevice {
                device_type: "file".into(),
                options: [("file_path".to_string(), "/tmp/a.log".to_string())].into(),
                path: "file/".into(),
                ..Default::default()
            },
        )]);
        assert_eq!(
            audit_table(&devices, false),
            "Path     Type    Description\n----     ----    -----------\nfile/    file    n/a\n"
        );
        let detailed = audit_table(&devices, true);
        assert!(detailed.contains("file_path=/tmp/a.log"), "{detailed}");
        assert!(detailed.contains("replicated"), "{detailed}");
    }

    #[test]
    fn hex_key_parsing() {
        assert_eq!(hex_decode(&"ab".repeat(32)).unwrap(), vec![0xab; 32]);
        assert!(hex_decode("abc").is_none());
        assert!(hex_decode(&"zz".repeat(32)).is_none());
    }

    #[test]
    fn report_names_the_broken_line() {
        let key = [1u8; 32];
        let (l1, _) = audit_chain::chain_line(&key, "", "{\"n\":1}").unwrap();
        let l2 = l1.replace("1", "2");
        let text = format!("{l1}{l2}");
        let r = audit_chain::verify_lines(&key, text.lines(), None);
        let shown = render(std::path::Path::new("a.log"), "k", &r);
        assert!(shown.contains("BROKEN at line 2"), "{shown}");
        assert!(shown.contains("Result:      BROKEN"));
    }
}
