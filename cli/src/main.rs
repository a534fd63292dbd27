//! `strongroom`: the operator CLI of Strongroom.
//!
//! This file holds the command line (clap) and hands the parsed command to
//! [`commands::run()`]. Flags may be written `bao`-style with one dash (`-address=…`,
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
use crate::commands::auth_methods::AuthCommand;
use crate::commands::completion::CompletionArgs;
use crate::commands::generic::{PathArg, ReadArgs, WriteArgs};
use crate::commands::kv::KvCommand;
use crate::commands::lease::LeaseCommand;
use crate::commands::login::LoginArgs;
use crate::commands::operator::OperatorCommand;
use crate::commands::policy::PolicyCommand;
use crate::commands::run::RunArgs;
use crate::commands::secrets::SecretsCommand;
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
    /// PEM file of the client certificate to present (cert login, mutual TLS); needs
    /// --client-key [env: STRONGROOM_CLIENT_CERT, VAULT_CLIENT_CERT]
    #[arg(long, global = true, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// PEM file of the client certificate's private key; needs --client-cert
    /// [env: STRONGROOM_CLIENT_KEY, VAULT_CLIENT_KEY]
    #[arg(long, global = true, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
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
    /// Audit devices: list, enable, disable; verify an audit file's hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Log in (token, userpass, approle or cert) and store the token in ~/.strongroom-token.
    Login(LoginArgs),
    /// ACL policies: list, read, write, delete; fmt formats a local policy file.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Secrets engines: enable, disable, list, tune.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Auth methods: enable, disable, list.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Leases: lookup, list, renew, revoke (one, or by prefix).
    #[command(subcommand)]
    Lease(LeaseCommand),
    /// Print a shell completion script (bash, zsh, fish) to stdout.
    Completion(CompletionArgs),
    /// Run a command with secrets in its environment, renewing their leases while it
    /// runs and restarting it (or signalling it, or exiting) when they change.
    Run(RunArgs),
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
    fn login_flags_bao_style() {
        use crate::commands::login::LoginMethod;
        let login = |argv: &[&str]| match parse(argv).unwrap().command {
            Command::Login(args) => args,
            other => panic!("not login: {other:?}"),
        };
        let a = login(&["strongroom", "login"]);
        assert_eq!(a.method, LoginMethod::Token);
        assert!(!a.no_store && a.path.is_none() && a.fields.is_empty());
        let a = login(&[
            "strongroom",
            "login",
            "-method=userpass",
            "-path",
            "team-up",
            "-no-store",
            "username=alice",
        ]);
        assert_eq!(a.method, LoginMethod::Userpass);
        assert_eq!(a.path.as_deref(), Some("team-up"));
        assert!(a.no_store);
        assert_eq!(a.fields, [OsString::from("username=alice")]);
        let a = login(&["strongroom", "login", "-method", "approle", "role_id=r"]);
        assert_eq!(a.method, LoginMethod::Approle);
        let a = login(&["strongroom", "login", "-"]);
        assert_eq!(a.fields, [OsString::from("-")]);
        let cli = parse(&[
            "strongroom",
            "login",
            "-method=cert",
            "-client-cert",
            "/c.pem",
            "-client-key=/k.pem",
        ])
        .unwrap();
        assert_eq!(cli.global.client_cert, Some(PathBuf::from("/c.pem")));
        assert_eq!(cli.global.client_key, Some(PathBuf::from("/k.pem")));
        usage_error(&["strongroom", "login", "-method", "ldap"]);
        usage_error(&["strongroom", "login", "--client-cert", "/c.pem"]);
        usage_error(&["strongroom", "status", "--client-key", "/k.pem"]);
    }

    #[test]
    fn token_subcommands() {
        use crate::commands::token::{RevokeMode, TokenCommand};
        let token = |argv: &[&str]| match parse(argv).unwrap().command {
            Command::Token(cmd) => cmd,
            other => panic!("not token: {other:?}"),
        };
        let TokenCommand::Create(c) = token(&[
            "strongroom",
            "token",
            "create",
            "-policy",
            "a",
            "-policy=b,c",
            "-ttl",
            "1h",
            "-explicit-max-ttl",
            "2h",
            "-period=30m",
            "-use-limit",
            "3",
            "-display-name",
            "ci",
            "-renewable=false",
            "-metadata",
            "team=x",
            "-metadata=env=prod",
            "-orphan",
        ]) else {
            panic!("not create")
        };
        assert_eq!(c.policies, ["a", "b", "c"]);
        assert_eq!(
            (c.ttl, c.explicit_max_ttl, c.period),
            (Some(3600), Some(7200), Some(1800))
        );
        assert_eq!(c.use_limit, Some(3));
        assert_eq!(c.display_name.as_deref(), Some("ci"));
        assert_eq!(c.renewable, Some(false));
        assert!(c.orphan);
        assert_eq!(
            c.metadata,
            [
                ("team".to_string(), "x".to_string()),
                ("env".into(), "prod".into())
            ]
        );
        let TokenCommand::Create(c) = token(&[
            "strongroom",
            "token",
            "create",
            "-renewable",
            "-role",
            "web",
        ]) else {
            panic!("not create")
        };
        assert_eq!(c.renewable, Some(true));
        assert_eq!(c.role.as_deref(), Some("web"));
        usage_error(&["strongroom", "token", "create", "-ttl", "soon"]);
        usage_error(&["strongroom", "token", "create", "-orphan", "-role", "r"]);
        usage_error(&["strongroom", "token", "create", "-metadata", "novalue"]);

        let TokenCommand::Lookup(l) = token(&["strongroom", "token", "lookup", "-accessor", "acc"])
        else {
            panic!("not lookup")
        };
        assert_eq!(l.accessor.as_deref(), Some("acc"));
        let TokenCommand::Lookup(l) = token(&["strongroom", "token", "lookup", "-"]) else {
            panic!("not lookup")
        };
        assert_eq!(l.token, Some(OsString::from("-")));
        assert!(
            matches!(token(&["strongroom", "token", "lookup", "-self"]), TokenCommand::Lookup(l) if l.self_)
        );
        usage_error(&["strongroom", "token", "lookup", "-self", "-accessor", "a"]);

        let TokenCommand::Renew(r) = token(&["strongroom", "token", "renew", "-increment=15m"])
        else {
            panic!("not renew")
        };
        assert_eq!(r.increment, Some(900));
        assert!(r.accessor.is_none() && r.token.is_none());
        usage_error(&["strongroom", "token", "renew", "-accessor", "a", "-"]);

        let TokenCommand::Revoke(r) =
            token(&["strongroom", "token", "revoke", "-mode", "orphan", "-"])
        else {
            panic!("not revoke")
        };
        assert_eq!(r.mode, Some(RevokeMode::Orphan));
        assert!(
            matches!(token(&["strongroom", "token", "revoke", "-self"]), TokenCommand::Revoke(r) if r.self_)
        );
        usage_error(&["strongroom", "token", "revoke"]);
        usage_error(&["strongroom", "token", "revoke", "-mode", "path", "-"]);
    }

    #[test]
    fn sys_commands_parse_bao_style() {
        let cli = parse(&[
            "strongroom",
            "secrets",
            "enable",
            "-path=kv2",
            "-version=2",
            "-description",
            "app secrets",
            "-default-lease-ttl=1h",
            "-max-lease-ttl",
            "2h",
            "-options",
            "a=b",
            "kv",
        ])
        .unwrap();
        let Command::Secrets(SecretsCommand::Enable(a)) = cli.command else {
            panic!("not secrets enable")
        };
        assert_eq!(a.engine_type, "kv");
        assert_eq!(a.path.as_deref(), Some("kv2"));
        assert_eq!(a.version, Some(2));
        assert_eq!(a.description, "app secrets");
        assert_eq!(a.default_lease_ttl.as_deref(), Some("1h"));
        assert_eq!(a.max_lease_ttl.as_deref(), Some("2h"));
        assert_eq!(a.options, vec![("a".to_string(), "b".to_string())]);
        usage_error(&["strongroom", "secrets", "enable", "-version=3", "kv"]);
        usage_error(&["strongroom", "secrets", "enable", "-options", "nokv", "kv"]);
        usage_error(&["strongroom", "secrets", "enable"]);
        let cli = parse(&["strongroom", "secrets", "list", "-detailed"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Secrets(SecretsCommand::List(ref a)) if a.detailed
        ));
        parse(&["strongroom", "secrets", "tune", "-max-lease-ttl=1h", "kv2"]).unwrap();
        parse(&["strongroom", "secrets", "disable", "kv2/"]).unwrap();
        parse(&["strongroom", "auth", "enable", "-path=up2", "userpass"]).unwrap();
        parse(&["strongroom", "auth", "list", "-detailed"]).unwrap();
        parse(&["strongroom", "auth", "disable", "up2"]).unwrap();
        usage_error(&["strongroom", "auth", "enable"]);

        let cli = parse(&[
            "strongroom",
            "lease",
            "revoke",
            "-prefix",
            "-force",
            "database/creds",
        ])
        .unwrap();
        let Command::Lease(LeaseCommand::Revoke(a)) = cli.command else {
            panic!("not lease revoke")
        };
        assert!(a.prefix && a.force && !a.sync);
        usage_error(&["strongroom", "lease", "revoke", "-force", "x"]);
        let cli = parse(&["strongroom", "lease", "renew", "-increment=1h", "x/y"]).unwrap();
        let Command::Lease(LeaseCommand::Renew(a)) = cli.command else {
            panic!("not lease renew")
        };
        assert_eq!(a.increment, Some(3600));
        usage_error(&["strongroom", "lease", "renew", "-increment=soon", "x/y"]);
        parse(&["strongroom", "lease", "lookup", "x/y"]).unwrap();

        parse(&["strongroom", "policy", "write", "p1", "-"]).unwrap();
        parse(&["strongroom", "policy", "fmt", "-strip-comments", "p.hcl"]).unwrap();
        usage_error(&["strongroom", "policy", "write", "p1"]);
        let cli = parse(&[
            "strongroom",
            "audit",
            "enable",
            "-path=a1",
            "file",
            "file_path=/tmp/x.log",
        ])
        .unwrap();
        let Command::Audit(AuditCommand::Enable(a)) = cli.command else {
            panic!("not audit enable")
        };
        assert_eq!(a.path.as_deref(), Some("a1"));
        assert_eq!(a.options[0].0, "file_path");
        parse(&["strongroom", "operator", "status", "-format=json"]).unwrap();
        parse(&["strongroom", "completion", "zsh"]).unwrap();
        usage_error(&["strongroom", "completion", "tcsh"]);
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

    #[test]
    fn run_flags_command_and_usage_errors() {
        let cli = parse(&[
            "strongroom",
            "run",
            "-env",
            "DB_USER=database/creds/app#username",
            "--env=DB_PASS=database/creds/app#password",
            "--on-change",
            "signal:SIGHUP",
            "--grace-period",
            "2s",
            "--poll-interval=500ms",
            "--",
            "./app",
            "--env",
            "-x",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(args.env.len(), 2);
        assert_eq!(args.env[1].path, "database/creds/app");
        assert_eq!(
            args.on_change,
            commands::run::spec::OnChange::Signal(commands::run::spec::ChildSignal::Hup)
        );
        assert_eq!(args.grace_period, std::time::Duration::from_secs(2));
        assert_eq!(args.poll_interval, std::time::Duration::from_millis(500));
        assert!(!args.dry_run);
        // Everything after `--` belongs to the child, flags included.
        assert_eq!(args.command, ["./app", "--env", "-x"].map(OsString::from));
        let cli = parse(&["strongroom", "run", "--dry-run", "--", "env"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert!(args.dry_run);
        assert_eq!(args.on_change, commands::run::spec::OnChange::Restart);
        assert_eq!(args.grace_period, std::time::Duration::from_secs(5));
        assert_eq!(args.poll_interval, std::time::Duration::from_secs(60));

        usage_error(&["strongroom", "run", "--env", "A=secret/a#x"]);
        usage_error(&["strongroom", "run", "--env", "A=secret/a", "--", "env"]);
        usage_error(&["strongroom", "run", "--env", "1A=secret/a#x", "--", "env"]);
        usage_error(&["strongroom", "run", "--on-change", "reload", "--", "env"]);
        usage_error(&["strongroom", "run", "--grace-period", "5y", "--", "env"]);
        usage_error(&["strongroom", "run", "--poll-interval", "1ms", "--", "env"]);
    }
}
