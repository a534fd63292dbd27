//! Command dispatch and what every command shares: building the client from the global
//! flags, the environment and the token file, exit codes, and error reporting.
//!
//! Exit codes: 0 success, 1 error (the server refused, or it could not be reached),
//! 2 usage error (clap's own code, also used when a key is passed as an argument) — and
//! `strongroom status` returns 2 when the server is sealed, like `bao status`.
//!
//! Errors are printed to stderr as `Error: <status>: <messages>` for server refusals and
//! `Error: <what failed>` otherwise. A key share submitted by the command is scrubbed
//! from any error text ([`redact`]), and the token is never printed.

pub mod args;
pub mod audit;
pub mod auth_methods;
pub mod completion;
pub mod data_args;
pub mod generic;
pub mod kv;
pub mod lease;
pub mod login;
pub mod operator;
pub mod policy;
pub mod run;
pub mod secrets;
pub mod status;
pub mod token;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use strongroom_client::{Client, ClientError, StatusCode};
use zeroize::Zeroizing;

use crate::output::Format;
use crate::{Cli, Command, GlobalArgs};

/// Name of the token file in the home directory, read when no token is in the environment.
pub const TOKEN_FILE: &str = ".strongroom-token";

/// Environment variables holding the token, in order of precedence.
pub const TOKEN_ENV: [&str; 2] = ["STRONGROOM_TOKEN", "VAULT_TOKEN"];

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0.
    Success,
    /// Exit code 2: `strongroom status` on a sealed server.
    Sealed,
    /// Exit code 1 without an error message of its own: `strongroom audit verify`
    /// found a broken chain (the report says where).
    Failure,
    /// This exit code: `strongroom run` passes on its child's.
    Exit(u8),
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::Sealed => ExitCode::from(2),
            Outcome::Failure => ExitCode::FAILURE,
            Outcome::Exit(code) => ExitCode::from(code),
        }
    }
}

/// A usage error found after parsing (exit code 2), e.g. a key given on the command line.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// What every command gets.
#[derive(Debug)]
pub struct Context {
    /// The configured client.
    pub client: Client,
    /// `--format`.
    pub format: Format,
}

/// Runs the parsed command line; prints errors; returns the process exit code.
pub async fn run(mut cli: Cli) -> ExitCode {
    // `audit verify --salt-from URL` talks to that server.
    if let Command::Audit(audit::AuditCommand::Verify(args)) = &cli.command {
        if let Some(url) = &args.salt_from {
            cli.global.address = Some(url.clone());
        }
    }
    let mut has_token = false;
    let result = async {
        let token = resolve_token(
            |name| std::env::var(name).ok(),
            home_dir().as_deref(),
            &mut |warning| eprintln!("Warning: {warning}"),
        );
        has_token = token.is_some();
        let client = build_client(&cli.global, token)?;
        let ctx = Context {
            client,
            format: cli.global.format,
        };
        dispatch(&ctx, cli.command).await
    }
    .await;
    match result {
        Ok(outcome) => outcome.into(),
        Err(err) => {
            eprintln!("{}", render_error(&err));
            if !has_token && matches!(client_status(&err), Some(401 | 403)) {
                eprintln!(
                    "Hint: no token was found. Set STRONGROOM_TOKEN (or VAULT_TOKEN), or write \
                     it to ~/{TOKEN_FILE} (mode 0600)."
                );
            }
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn dispatch(ctx: &Context, command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Status => status::run(ctx).await,
        Command::Operator(cmd) => operator::run(ctx, cmd).await,
        Command::Token(cmd) => token::run(ctx, cmd).await,
        Command::Audit(cmd) => audit::run(ctx, cmd).await,
        Command::Login(args) => login::run(ctx, &args).await,
        Command::Policy(cmd) => policy::run(ctx, cmd).await,
        Command::Secrets(cmd) => secrets::run(ctx, cmd).await,
        Command::Auth(cmd) => auth_methods::run(ctx, cmd).await,
        Command::Lease(cmd) => lease::run(ctx, cmd).await,
        Command::Completion(args) => completion::run(&args),
        Command::Run(args) => run::run(ctx, args).await,
        Command::Kv(cmd) => kv::run(ctx, cmd).await,
        Command::Read(args) => generic::read(ctx, args).await,
        Command::Write(args) => generic::write(ctx, args).await,
        Command::List(args) => generic::list(ctx, args).await,
        Command::Delete(args) => generic::delete(ctx, args).await,
    }
}

/// Builds the client: `--address`, `--ca-cert` and the token take precedence over the
/// `STRONGROOM_*` / `VAULT_*` environment read by the client builder.
pub fn build_client(
    global: &GlobalArgs,
    token: Option<Zeroizing<String>>,
) -> anyhow::Result<Client> {
    let mut builder = Client::builder();
    if let Some(address) = &global.address {
        builder = builder.address(address.as_str());
    }
    if let Some(path) = &global.ca_cert {
        let pem = std::fs::read(path)
            .with_context(|| format!("reading the CA certificate {}", path.display()))?;
        builder = builder.ca_pem(pem);
    }
    if let Some(token) = token {
        builder = builder.token(token.as_str());
    }
    if let (Some(cert), Some(key)) = (&global.client_cert, &global.client_key) {
        let cert_pem = std::fs::read(cert)
            .with_context(|| format!("reading the client certificate {}", cert.display()))?;
        let key_pem = Zeroizing::new(
            std::fs::read(key)
                .with_context(|| format!("reading the client key {}", key.display()))?,
        );
        builder = builder.client_identity_pem(&cert_pem, &key_pem);
    }
    Ok(builder.from_env()?.build()?)
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The token: the first non-empty of [`TOKEN_ENV`], else the trimmed contents of
/// `~/.strongroom-token` when that file exists. An unreadable token file is reported via
/// `warn` (the command may not need a token); a file with loose permissions is used, with
/// a warning.
pub fn resolve_token(
    env: impl Fn(&str) -> Option<String>,
    home: Option<&Path>,
    warn: &mut dyn FnMut(String),
) -> Option<Zeroizing<String>> {
    for name in TOKEN_ENV {
        if let Some(value) = env(name).map(Zeroizing::new) {
            let trimmed = value.trim();
            if !trimmed.is_empty() {
                return Some(Zeroizing::new(trimmed.to_string()));
            }
        }
    }
    let home = home?;
    let path = home.join(TOKEN_FILE);
    let contents = match std::fs::read_to_string(&path) {
        Ok(contents) => Zeroizing::new(contents),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            warn(format!(
                "ignoring the token file {}: {}",
                path.display(),
                e.kind()
            ));
            return None;
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(&path) {
            if meta.permissions().mode() & 0o077 != 0 {
                warn(format!(
                    "the token file {} is readable by other users; run `chmod 600 {}`",
                    path.display(),
                    path.display()
                ));
            }
        }
    }
    let trimmed = contents.trim();
    if trimmed.is_empty() {
        return None;
    }
    Some(Zeroizing::new(trimmed.to_string()))
}

/// The HTTP status of the server refusal behind `err`, if that is what it is.
pub fn client_status(err: &anyhow::Error) -> Option<u16> {
    err.chain()
        .find_map(|e| e.downcast_ref::<ClientError>())
        .and_then(ClientError::status)
}

/// The text printed to stderr for a failed command.
pub fn render_error(err: &anyhow::Error) -> String {
    let client_error = err.chain().find_map(|e| e.downcast_ref::<ClientError>());
    match client_error {
        Some(ClientError::Api { status, errors }) => {
            let messages: Vec<&str> = errors
                .iter()
                .map(|m| m.trim())
                .filter(|m| !m.is_empty())
                .collect();
            let text = if messages.is_empty() {
                StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("no error message")
                    .to_string()
            } else {
                messages.join("; ")
            };
            format!("Error: {status}: {text}")
        }
        _ => {
            // The chain, without repeating a message its wrapper already includes
            // (`ClientError::Transport` shows the reqwest error and has it as source).
            let mut parts: Vec<String> = Vec::new();
            for e in err.chain() {
                let mut sources: Vec<String> = vec![e.to_string()];
                if e.downcast_ref::<ClientError>().is_some() {
                    let mut source = e.source();
                    while let Some(s) = source {
                        sources.push(s.to_string());
                        source = s.source();
                    }
                }
                for text in sources {
                    if !parts.iter().any(|p| p.contains(&text)) {
                        parts.push(text);
                    }
                }
                if e.downcast_ref::<ClientError>().is_some() {
                    break;
                }
            }
            format!("Error: {}", parts.join(": "))
        }
    }
}

/// Replaces every occurrence of `secret` in the error's text with `<redacted>`, so that a
/// submitted key share can never be echoed back by an error message.
pub fn redact(err: ClientError, secret: &str) -> ClientError {
    let secret = secret.trim();
    if secret.len() < 8 {
        // Too short to be a key share, and replacing it would mangle the message.
        return err;
    }
    let scrub = |s: String| {
        if s.contains(secret) {
            s.replace(secret, "<redacted>")
        } else {
            s
        }
    };
    match err {
        ClientError::Api { status, errors } => ClientError::Api {
            status,
            errors: errors.into_iter().map(scrub).collect(),
        },
        ClientError::Decode(msg) => ClientError::Decode(scrub(msg)),
        ClientError::Config(msg) => ClientError::Config(scrub(msg)),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn api(status: u16, errors: &[&str]) -> anyhow::Error {
        ClientError::Api {
            status,
            errors: errors.iter().map(|s| s.to_string()).collect(),
        }
        .into()
    }

    #[test]
    fn api_errors_render_status_and_messages() {
        assert_eq!(
            render_error(&api(503, &["Vault is sealed"])),
            "Error: 503: Vault is sealed"
        );
        assert_eq!(render_error(&api(400, &["a", "b"])), "Error: 400: a; b");
        assert_eq!(render_error(&api(404, &[])), "Error: 404: Not Found");
        assert_eq!(client_status(&api(403, &[])), Some(403));
    }

    #[test]
    fn other_errors_render_their_chain() {
        let err = anyhow::anyhow!("inner").context("outer");
        assert_eq!(render_error(&err), "Error: outer: inner");
        let err: anyhow::Error = ClientError::Config("invalid address".into()).into();
        assert_eq!(
            render_error(&err),
            "Error: client configuration: invalid address"
        );
        assert_eq!(client_status(&err), None);
    }

    #[test]
    fn redact_scrubs_the_secret() {
        let key = "0123456789abcdef0123";
        let err = ClientError::Api {
            status: 400,
            errors: vec![format!("bad share {key}!")],
        };
        let rendered = render_error(&redact(err, key).into());
        assert_eq!(rendered, "Error: 400: bad share <redacted>!");
        let err = ClientError::Decode(format!("x {key}"));
        assert!(!redact(err, key).to_string().contains(key));
    }

    #[test]
    fn token_from_env_takes_precedence() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(TOKEN_FILE), "file-token\n").unwrap();
        let env = |name: &str| match name {
            "STRONGROOM_TOKEN" => Some(" ".to_string()),
            "VAULT_TOKEN" => Some("vault-token".to_string()),
            _ => None,
        };
        let token = resolve_token(env, Some(dir.path()), &mut |_| {});
        assert_eq!(token.as_deref().map(String::as_str), Some("vault-token"));
        let env = |name: &str| (name == "STRONGROOM_TOKEN").then(|| "sr-token".to_string());
        let token = resolve_token(env, Some(dir.path()), &mut |_| {});
        assert_eq!(token.as_deref().map(String::as_str), Some("sr-token"));
    }

    #[test]
    fn token_file_is_read_when_env_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKEN_FILE);
        std::fs::write(&path, "  file-token\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let mut warnings = Vec::new();
        let token = resolve_token(|_| None, Some(dir.path()), &mut |w| warnings.push(w));
        assert_eq!(token.as_deref().map(String::as_str), Some("file-token"));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[cfg(unix)]
    #[test]
    fn loose_token_file_permissions_warn() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKEN_FILE);
        std::fs::write(&path, "file-token").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut warnings = Vec::new();
        let token = resolve_token(|_| None, Some(dir.path()), &mut |w| warnings.push(w));
        assert!(token.is_some());
        assert_eq!(warnings.len(), 1);
        assert!(!warnings[0].contains("file-token"));
    }

    #[test]
    fn no_token_anywhere() {
        let dir = tempfile::tempdir().unwrap();
        assert!(resolve_token(|_| None, Some(dir.path()), &mut |_| {}).is_none());
        assert!(resolve_token(|_| None, None, &mut |_| {}).is_none());
    }
}
