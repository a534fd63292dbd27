//! `strongroom`: the operator CLI of Strongroom.
//!
//! This file holds the command line (clap) and hands the parsed command to
//! [`commands::run`]. Flags may be written `bao`-style with one dash (`-address=…`,
//! `-key-shares 3`): [`normalize_args`] rewrites known long flags to `--…` before parsing.
//!
//! Global flags: `--address` (else `STRONGROOM_ADDR`, `VAULT_ADDR`, else
//! `https://127.0.0.1:8200`), `--ca-cert FILE` (else `STRONGROOM_CACERT`, `VAULT_CACERT`),
//! `--format table|json|yaml|env`. The token comes from `STRONGROOM_TOKEN` / `VAULT_TOKEN`, else
//! from `~/.strongroom-token`; there is deliberately no flag for it, nor for key shares.

mod commands;
mod output;
mod secret_input;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::commands::audit::AuditCommand;
use crate::commands::generic::{PathArg, ReadArgs, WriteArgs};
use crate::commands::kv::KvCommand;
use crate::commands::operator::OperatorCommand;
use crate::commands::token::TokenCommand;
use crate::output::Format;

/// The operator CLI of Strongroom, a Vault/OpenBao-compatible secrets vault.
#[derive(Debug, Parser)]
#[command(name = "strongroom", version, propagate_version = true)]
#[command(
    after_help = "Environment: STRONGROOM_ADDR / VAULT_ADDR (server address), \
    STRONGROOM_CACERT / VAULT_CACERT (CA certificate), STRONGROOM_TOKEN / VAULT_TOKEN \
    (token; else ~/.strongroom-token)."
)]
pub struct Cli {
    /// Flags accepted by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted by every command (before or after the subcommand).
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Server address [env: STRONGROOM_ADDR, VAULT_ADDR] [default: https://127.0.0.1:8200]
    #[arg(long, global = true, value_name = "URL")]
    pub address: Option<String>,
    /// PEM file of the CA certificate that signed the server's certificate
    /// [env: STRONGROOM_CACERT, VAULT_CACERT]
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Output format: human-readable tables, the server's JSON, the same in YAML, or
    /// `NAME='value'` lines of the answer's data.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the seal status. Exit code 0 when unsealed, 2 when sealed, 1 on error.
    Status,
    /// Operate the server: init, unseal, seal, key-status, rotate, rekey.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Token commands.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Audit log commands: verify an audit file's hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Key/value secrets (KV v1 and v2): get, put, patch, list, delete, undelete, destroy,
    /// metadata, and recursive export/import.
    #[command(subcommand)]
    Kv(KvCommand),
    /// Read any API path and show the answer (leased secrets with their lease).
    Read(ReadArgs),
    /// Write data to any API path (`key=value`, `key=-` from stdin, or `-` for JSON on stdin).
    Write(WriteArgs),
    /// List the names under any API path.
    List(PathArg),
    /// Delete at any API path.
    Delete(PathArg),
}

/// Rewrites single-dash long flags (`-address=x`, `-key-shares`) to `--…` when the name
/// is a long flag of some command, so `bao`-style command lines work. Short flags (`-h`)
/// and everything after a `--` separator are left alone.
pub fn normalize_args<I: IntoIterator<Item = OsString>>(args: I) -> Vec<OsString> {
    let longs = long_flag_names();
    let mut after_separator = false;
    args.into_iter()
        .enumerate()
        .map(|(i, arg)| {
            if i == 0 || after_separator {
                return arg;
            }
            let Some(text) = arg.to_str() else {
                return arg;
            };
            if text == "--" {
                after_separator = true;
                return arg;
            }
            let Some(rest) = text.strip_prefix('-') else {
                return arg;
            };
            if rest.starts_with('-') {
                return arg;
            }
            let name = rest.split('=').next().unwrap_or(rest);
            if name.len() > 1 && longs.contains(name) {
                OsString::from(format!("-{text}"))
            } else {
                arg
            }
        })
        .collect()
}

fn long_flag_names() -> BTreeSet<String> {
    fn collect(cmd: &clap::Command, out: &mut BTreeSet<String>) {
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long() {
                out.insert(long.to_string());
            }
        }
        for sub in cmd.get_subcommands() {
            collect(sub, out);
        }
    }
    let mut out = BTreeSet::from(["help".to_string(), "version".to_string()]);
    collect(&Cli::command(), &mut out);
    out
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(normalize_args(std::env::args_os())) {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("Error: starting the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(commands::run(cli))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        Cli::try_parse_from(normalize_args(args))
    }

    fn usage_error(args: &[&str]) -> clap::Error {
        let err = parse(args).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        err
    }

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_with_defaults() {
        let cli = parse(&["strongroom", "status"]).unwrap();
        assert!(matches!(cli.command, Command::Status));
        assert_eq!(cli.global.address, None);
        assert_eq!(cli.global.ca_cert, None);
        assert_eq!(cli.global.format, Format::Table);
    }

    #[test]
    fn global_flags_before_and_after_the_command_and_single_dash() {
        let cli = parse(&[
            "strongroom",
            "-address=http://127.0.0.1:1",
            "status",
            "-format",
            "json",
            "--ca-cert",
            "/tmp/ca.pem",
        ])
        .unwrap();
        assert_eq!(cli.global.address.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(cli.global.format, Format::Json);
        assert_eq!(cli.global.ca_cert, Some(PathBuf::from("/tmp/ca.pem")));
        let cli = parse(&[
            "strongroom",
            "operator",
            "seal",
            "--address",
            "https://x:8200",
        ])
        .unwrap();
        assert_eq!(cli.global.address.as_deref(), Some("https://x:8200"));
        usage_error(&["strongroom", "--format", "xml", "status"]);
    }

    #[test]
    fn normalize_leaves_short_unknown_and_separated_args_alone() {
        let out = normalize_args(
            ["strongroom", "-h", "-nope", "-address", "--", "-format"].map(OsString::from),
        );
        let out: Vec<&str> = out.iter().map(|s| s.to_str().unwrap()).collect();
        assert_eq!(
            out,
            ["strongroom", "-h", "-nope", "--address", "--", "-format"]
        );
    }

    #[test]
    fn init_defaults_and_flags() {
        let cli = parse(&["strongroom", "operator", "init"]).unwrap();
        let Command::Operator(OperatorCommand::Init(args)) = cli.command else {
            panic!("not init")
        };
        assert_eq!((args.key_shares, args.key_threshold), (5, 3));
        let cli = parse(&[
            "strongroom",
            "operator",
            "init",
            "-key-shares=1",
            "--key-threshold",
            "1",
        ])
        .unwrap();
        let Command::Operator(OperatorCommand::Init(args)) = cli.command else {
            panic!("not init")
        };
        assert_eq!((args.key_shares, args.key_threshold), (1, 1));
        usage_error(&["strongroom", "operator", "init", "--key-shares", "0"]);
        usage_error(&["strongroom", "operator", "init", "--key-shares", "256"]);
        usage_error(&["strongroom", "operator", "init", "--key-shares", "x"]);
    }

    #[test]
    fn unseal_flags_and_refused_key() {
        let cli = parse(&["strongroom", "operator", "unseal", "--reset"]).unwrap();
        let Command::Operator(OperatorCommand::Unseal(args)) = cli.command else {
            panic!("not unseal")
        };
        assert!(args.reset);
        assert!(args.refused.is_empty());
        // A key on the command line parses (so clap never echoes it) and is refused later.
        for argv in [
            &["strongroom", "operator", "unseal", "c2VjcmV0c2hhcmU="][..],
            &[
                "strongroom",
                "operator",
                "unseal",
                "abcd",
                "--reset",
                "efgh",
            ],
            &["strongroom", "operator", "unseal", "--key=abcd"],
            &["strongroom", "operator", "unseal", "-key", "abcd"],
        ] {
            let cli = parse(argv).unwrap();
            let Command::Operator(OperatorCommand::Unseal(args)) = cli.command else {
                panic!("not unseal")
            };
            assert!(!args.refused.is_empty(), "{argv:?}");
        }
    }

    #[test]
    fn rekey_modes() {
        let rekey = |argv: &[&str]| {
            let cli = parse(argv).unwrap();
            match cli.command {
                Command::Operator(OperatorCommand::Rekey(args)) => args,
                other => panic!("not rekey: {other:?}"),
            }
        };
        let a = rekey(&[
            "strongroom",
            "operator",
            "rekey",
            "--init",
            "--key-shares",
            "3",
            "--key-threshold",
            "2",
            "--verify",
        ]);
        assert!(a.init && a.verify);
        assert_eq!((a.key_shares, a.key_threshold), (3, 2));
        let a = rekey(&["strongroom", "operator", "rekey"]);
        assert!(!a.init && !a.cancel && !a.status && !a.verify_key);
        assert_eq!(a.nonce, None);
        let a = rekey(&["strongroom", "operator", "rekey", "-nonce", "n-1"]);
        assert_eq!(a.nonce.as_deref(), Some("n-1"));
        assert!(rekey(&["strongroom", "operator", "rekey", "--cancel"]).cancel);
        assert!(rekey(&["strongroom", "operator", "rekey", "--status"]).status);
        let a = rekey(&[
            "strongroom",
            "operator",
            "rekey",
            "--verify-key",
            "--nonce",
            "v",
        ]);
        assert!(a.verify_key);
        assert_eq!(a.nonce.as_deref(), Some("v"));
        assert!(!rekey(&["strongroom", "operator", "rekey", "k3y"])
            .refused
            .is_empty());

        usage_error(&["strongroom", "operator", "rekey", "--init", "--cancel"]);
        usage_error(&[
            "strongroom",
            "operator",
            "rekey",
            "--cancel",
            "--verify-key",
        ]);
        usage_error(&["strongroom", "operator", "rekey", "--key-shares", "3"]);
        usage_error(&["strongroom", "operator", "rekey", "--verify"]);
        usage_error(&["strongroom", "operator", "rekey", "--init", "--nonce", "x"]);
    }

    #[test]
    fn kv_commands_and_flags() {
        use crate::commands::kv::MetadataCommand;
        let cli = parse(&[
            "strongroom",
            "kv",
            "get",
            "-mount=secret",
            "-version",
            "2",
            "-field=pw",
            "app/db",
        ])
        .unwrap();
        let Command::Kv(KvCommand::Get(a)) = cli.command else {
            panic!("not kv get")
        };
        assert_eq!(a.mount.as_deref(), Some("secret"));
        assert_eq!((a.version, a.field.as_deref()), (Some(2), Some("pw")));
        assert_eq!(a.path, "app/db");
        let cli = parse(&[
            "strongroom",
            "kv",
            "put",
            "-cas=0",
            "secret/x",
            "a=1",
            "b=-",
        ])
        .unwrap();
        let Command::Kv(KvCommand::Put(a)) = cli.command else {
            panic!("not kv put")
        };
        assert_eq!(a.cas, Some(0));
        assert_eq!(a.data, ["a=1", "b=-"]);
        let cli = parse(&["strongroom", "kv", "patch", "secret/x", "-"]).unwrap();
        let Command::Kv(KvCommand::Patch(a)) = cli.command else {
            panic!("not kv patch")
        };
        assert_eq!(a.data, ["-"]);
        let cli = parse(&["strongroom", "kv", "delete", "-versions=1,3", "secret/x"]).unwrap();
        let Command::Kv(KvCommand::Delete(a)) = cli.command else {
            panic!("not kv delete")
        };
        assert_eq!(a.versions, [1, 3]);
        let cli = parse(&[
            "strongroom",
            "kv",
            "metadata",
            "put",
            "-max-versions=5",
            "-cas-required",
            "-delete-version-after=30d",
            "-custom-metadata",
            "owner=me",
            "-custom-metadata=t=x",
            "secret/x",
        ])
        .unwrap();
        let Command::Kv(KvCommand::Metadata(MetadataCommand::Put(a))) = cli.command else {
            panic!("not kv metadata put")
        };
        assert_eq!((a.max_versions, a.cas_required), (Some(5), Some(true)));
        assert_eq!(a.delete_version_after.as_deref(), Some("30d"));
        assert_eq!(a.custom_metadata, ["owner=me", "t=x"]);
        let cli = parse(&[
            "strongroom",
            "kv",
            "metadata",
            "put",
            "-cas-required=false",
            "secret/x",
        ])
        .unwrap();
        let Command::Kv(KvCommand::Metadata(MetadataCommand::Put(a))) = cli.command else {
            panic!("not kv metadata put")
        };
        assert_eq!(a.cas_required, Some(false));
        let cli = parse(&[
            "strongroom",
            "kv",
            "metadata",
            "put",
            "-cas-required",
            "secret/x",
        ])
        .unwrap();
        let Command::Kv(KvCommand::Metadata(MetadataCommand::Put(a))) = cli.command else {
            panic!("not kv metadata put")
        };
        assert_eq!((a.cas_required, a.path.as_str()), (Some(true), "secret/x"));
        let cli = parse(&[
            "strongroom",
            "kv",
            "export",
            "secret/",
            "-format=env",
            "-output",
            "/tmp/x.env",
        ])
        .unwrap();
        assert_eq!(cli.global.format, Format::Env);
        let Command::Kv(KvCommand::Export(a)) = cli.command else {
            panic!("not kv export")
        };
        assert_eq!(a.output, Some(PathBuf::from("/tmp/x.env")));
        let cli = parse(&[
            "strongroom",
            "kv",
            "import",
            "-dry-run",
            "-force",
            "other/",
            "-",
        ])
        .unwrap();
        let Command::Kv(KvCommand::Import(a)) = cli.command else {
            panic!("not kv import")
        };
        assert!(a.dry_run && a.force);
        assert_eq!(a.file.as_deref(), Some("-"));
        for argv in [
            &["strongroom", "kv", "list", "secret/"][..],
            &["strongroom", "kv", "undelete", "-versions=2", "secret/x"],
            &[
                "strongroom",
                "kv",
                "destroy",
                "-versions",
                "1,2",
                "secret/x",
            ],
            &["strongroom", "kv", "metadata", "get", "secret/x"],
            &[
                "strongroom",
                "kv",
                "metadata",
                "delete",
                "-mount=secret",
                "x",
            ],
        ] {
            parse(argv).unwrap();
        }
        usage_error(&["strongroom", "kv", "undelete", "secret/x"]);
        usage_error(&["strongroom", "kv", "destroy", "-versions=x", "secret/x"]);
        usage_error(&["strongroom", "kv", "get"]);
        usage_error(&["strongroom", "kv", "get", "-version=-1", "secret/x"]);
        usage_error(&["strongroom", "kv", "put", "-cas=abc", "secret/x", "a=1"]);
        usage_error(&["strongroom", "kv", "frobnicate"]);
    }

    #[test]
    fn generic_commands() {
        let cli = parse(&[
            "strongroom",
            "read",
            "-field=password",
            "database/creds/app",
        ])
        .unwrap();
        let Command::Read(a) = cli.command else {
            panic!("not read")
        };
        assert_eq!(a.field.as_deref(), Some("password"));
        let cli = parse(&["strongroom", "write", "-f", "sys/rotate"]).unwrap();
        let Command::Write(a) = cli.command else {
            panic!("not write")
        };
        assert!(a.force && a.data.is_empty());
        let cli = parse(&["strongroom", "write", "secret/x", "a=1", "-"]).unwrap();
        let Command::Write(a) = cli.command else {
            panic!("not write")
        };
        assert!(!a.force);
        assert_eq!(a.data, ["a=1", "-"]);
        parse(&["strongroom", "list", "auth/userpass/users"]).unwrap();
        parse(&["strongroom", "delete", "secret/x"]).unwrap();
        usage_error(&["strongroom", "read"]);
        usage_error(&["strongroom", "delete", "a", "b"]);
    }

    #[test]
    fn other_commands_and_usage_errors() {
        for argv in [
            &["strongroom", "operator", "seal"][..],
            &["strongroom", "operator", "key-status"],
            &["strongroom", "operator", "rotate"],
            &["strongroom", "token", "lookup"],
        ] {
            parse(argv).unwrap();
        }
        usage_error(&["strongroom"]);
        usage_error(&["strongroom", "nope"]);
        usage_error(&["strongroom", "operator", "seal", "extra"]);
        usage_error(&["strongroom", "status", "--bogus"]);
    }
}
