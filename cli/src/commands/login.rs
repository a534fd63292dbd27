//! `strongroom login [-method token|userpass|approle|cert] [-path MOUNT] [-no-store]
//! [KEY=VALUE ...]`: trade credentials for a token and keep it for later commands.
//!
//! | method | fields on the command line | read from the hidden prompt or stdin |
//! |---|---|---|
//! | `token` (default) | none (`-` is accepted) | the token |
//! | `userpass` | `username=NAME` | the password |
//! | `approle` | `role_id=ID` | the secret id |
//! | `cert` | optional `name=ROLE` | nothing: the client certificate (`--client-cert`/`--client-key` or `STRONGROOM_CLIENT_CERT`/`_KEY`) |
//!
//! Secrets are never accepted on the command line: `password=…`, `secret_id=…`,
//! `token=…` and a bare positional token are usage errors (exit 2) that name the field
//! and never echo its value.
//!
//! On success the token is written to `~/.strongroom-token` (see [`store_token`]:
//! created with mode 0600 under a temporary name, then renamed over the old file, so it
//! is never readable by others, even briefly, and never half-written), and a table of
//! the `auth` block *without* the token is printed. With `-no-store` nothing is written
//! and the table includes the token (the user needs it then), as do `--format
//! json|yaml|env` (`{"auth": …}`, like `bao login -format=json`).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use clap::{Args, ValueEnum};
use strongroom_client::api::AuthInfo;
use zeroize::Zeroizing;

use super::{home_dir, Context, Outcome, UsageError, TOKEN_ENV, TOKEN_FILE};
use crate::commands::token::auth_text;
use crate::output::{self, Format};
use crate::secret_input;

/// The auth methods `strongroom login` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoginMethod {
    /// An existing token, read from the prompt or stdin, checked with lookup-self.
    Token,
    /// `username=NAME`; the password is read from the prompt or stdin.
    Userpass,
    /// `role_id=ID`; the secret id is read from the prompt or stdin.
    Approle,
    /// The client certificate (--client-cert/--client-key); optional `name=ROLE`.
    Cert,
}

impl LoginMethod {
    fn name(self) -> &'static str {
        match self {
            LoginMethod::Token => "token",
            LoginMethod::Userpass => "userpass",
            LoginMethod::Approle => "approle",
            LoginMethod::Cert => "cert",
        }
    }

    /// Fields allowed on the command line.
    fn fields(self) -> &'static [&'static str] {
        match self {
            LoginMethod::Token => &[],
            LoginMethod::Userpass => &["username"],
            LoginMethod::Approle => &["role_id"],
            LoginMethod::Cert => &["name"],
        }
    }

    /// Fields that hold a secret: refused on the command line.
    fn secret_fields(self) -> &'static [&'static str] {
        match self {
            LoginMethod::Token => &["token"],
            LoginMethod::Userpass => &["password"],
            LoginMethod::Approle => &["secret_id"],
            LoginMethod::Cert => &[],
        }
    }
}

/// `strongroom login` flags.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The auth method.
    #[arg(long, value_enum, default_value_t = LoginMethod::Token)]
    pub method: LoginMethod,
    /// Where the method is mounted (default: its name, e.g. `userpass`).
    #[arg(long, value_name = "MOUNT")]
    pub path: Option<String>,
    /// Do not write the token to ~/.strongroom-token; print it instead.
    #[arg(long)]
    pub no_store: bool,
    /// The method's KEY=VALUE fields (username=NAME, role_id=ID, name=ROLE). Never a
    /// password, secret id or token: those are read from the prompt or stdin.
    #[arg(value_name = "KEY=VALUE", value_parser = clap::value_parser!(OsString))]
    pub fields: Vec<OsString>,
}

/// The command-line fields of one login, checked against its method.
#[derive(Debug, Default, PartialEq, Eq)]
struct Fields {
    username: Option<String>,
    role_id: Option<String>,
    name: Option<String>,
}

/// Checks the KEY=VALUE arguments. Errors name a key at most, never a value.
fn parse_fields(method: LoginMethod, args: &[OsString]) -> Result<Fields, UsageError> {
    let mut fields = Fields::default();
    let accepted = || {
        let names = method.fields();
        if names.is_empty() {
            format!("-method {} takes no KEY=VALUE fields", method.name())
        } else {
            format!("-method {} accepts: {}", method.name(), names.join(", "))
        }
    };
    for arg in args {
        if method == LoginMethod::Token && arg == "-" {
            continue;
        }
        let Some((key, value)) = arg.to_str().and_then(|a| a.split_once('=')) else {
            return Err(UsageError(format!(
                "expected KEY=VALUE fields; an argument without `=` is not shown, in case it \
                 is a secret. `strongroom login` never takes a token, password or secret id \
                 on the command line (it would be recorded in your shell history and visible \
                 in the process list): type it at the hidden prompt, or pipe it on stdin, e.g.\n\n    \
                 strongroom login -method userpass username=NAME < password.txt\n\n{}",
                accepted()
            )));
        };
        let key = key.trim();
        if method.secret_fields().contains(&key) {
            return Err(UsageError(format!(
                "`{key}` is never accepted on the command line (it would be recorded in your \
                 shell history and visible in the process list): leave it out, and type it \
                 at the hidden prompt or pipe it on stdin, e.g.\n\n    \
                 strongroom login -method {} ... < {key}.txt",
                method.name()
            )));
        }
        let slot = match (method, key) {
            (LoginMethod::Userpass, "username") => &mut fields.username,
            (LoginMethod::Approle, "role_id") => &mut fields.role_id,
            (LoginMethod::Cert, "name") => &mut fields.name,
            _ => return Err(UsageError(format!("unknown field `{key}`: {}", accepted()))),
        };
        if value.trim().is_empty() {
            return Err(UsageError(format!("the field `{key}` is empty")));
        }
        if slot.replace(value.trim().to_string()).is_some() {
            return Err(UsageError(format!("the field `{key}` is given twice")));
        }
    }
    let required = match method {
        LoginMethod::Userpass if fields.username.is_none() => Some("username=NAME"),
        LoginMethod::Approle if fields.role_id.is_none() => Some("role_id=ID"),
        _ => None,
    };
    if let Some(field) = required {
        return Err(UsageError(format!(
            "-method {} needs {field}",
            method.name()
        )));
    }
    Ok(fields)
}

/// Reads a secret off the async runtime (the prompt and stdin block).
async fn read(prompt: &'static str, what: &'static str) -> anyhow::Result<Zeroizing<String>> {
    tokio::task::spawn_blocking(move || secret_input::read_named_secret(prompt, what))
        .await
        .map_err(|e| anyhow!("reading the {what}: {e}"))?
}

/// Runs `strongroom login`.
pub async fn run(ctx: &Context, args: &LoginArgs) -> anyhow::Result<Outcome> {
    let fields = parse_fields(args.method, &args.fields)?;
    let mount = args.path.as_deref();
    let client = &ctx.client;
    let auth = match args.method {
        LoginMethod::Token => {
            let token = read("Token (will be hidden): ", "token").await?;
            client.login_token(&token).await?
        }
        LoginMethod::Userpass => {
            let username = fields.username.as_deref().unwrap_or_default();
            let password = read("Password (will be hidden): ", "password").await?;
            client.login_userpass(mount, username, &password).await?
        }
        LoginMethod::Approle => {
            let role_id = fields.role_id.as_deref().unwrap_or_default();
            let secret_id = read("Secret ID (will be hidden): ", "secret id").await?;
            client
                .login_approle(mount, role_id, Some(secret_id.as_str()))
                .await?
        }
        LoginMethod::Cert => {
            if !client.has_client_identity() {
                return Err(UsageError(
                    "-method cert needs a client certificate: pass --client-cert FILE and \
                     --client-key FILE, or set STRONGROOM_CLIENT_CERT and \
                     STRONGROOM_CLIENT_KEY"
                        .to_string(),
                )
                .into());
            }
            client.login_cert(mount, fields.name.as_deref()).await?
        }
    };
    finish(ctx.format, &auth, args.no_store, home_dir().as_deref())
}

/// Stores the token (unless `no_store`) and prints the result.
fn finish(
    format: Format,
    auth: &AuthInfo,
    no_store: bool,
    home: Option<&Path>,
) -> anyhow::Result<Outcome> {
    let stored = if no_store {
        None
    } else {
        let home = home.ok_or_else(|| {
            anyhow!("HOME is not set, so the token cannot be stored; use -no-store")
        })?;
        Some(store_token(home, &auth.client_token)?)
    };
    let machine = format != Format::Table;
    let text = Zeroizing::new(auth_text(format, auth, machine || stored.is_none())?);
    if format == Format::Table {
        let head = match &stored {
            Some(path) => format!(
                "Success! You are now authenticated. The token was stored in {} (mode 0600) \
                 and is used by later commands.\n",
                path.display()
            ),
            None => "Success! You are now authenticated. The token below was NOT stored \
                     (-no-store): keep it safe, and pass it to later commands in \
                     STRONGROOM_TOKEN.\n"
                .to_string(),
        };
        output::print(&head)?;
    }
    output::print(&text)?;
    if stored.is_some() {
        if let Some(name) = TOKEN_ENV
            .iter()
            .find(|n| std::env::var(n).is_ok_and(|v| !v.trim().is_empty()))
        {
            eprintln!(
                "Warning: {name} is set in this environment and takes precedence over the \
                 stored token; unset it to use the new token."
            );
        }
    }
    Ok(Outcome::Success)
}

/// Writes `token` to `<home>/.strongroom-token` atomically: a new file created with
/// mode 0600 (`O_EXCL`, so never through a planted link), written and synced, then
/// renamed over the old one. Returns the file's path. On failure the temporary file is
/// removed and the old token file is left as it was.
pub fn store_token(home: &Path, token: &str) -> anyhow::Result<PathBuf> {
    let path = home.join(TOKEN_FILE);
    let tmp = home.join(format!(
        "{TOKEN_FILE}.{}.{}.tmp",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    ));
    let write = || -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(token.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        // Make the rename durable; not every platform can open a directory.
        if let Ok(dir) = std::fs::File::open(home) {
            let _ = dir.sync_all();
        }
        Ok(())
    };
    write()
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
        .with_context(|| format!("storing the token in {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(items: &[&str]) -> Vec<OsString> {
        items.iter().map(OsString::from).collect()
    }

    #[test]
    fn fields_per_method() {
        let f = parse_fields(LoginMethod::Userpass, &args(&["username=alice"])).unwrap();
        assert_eq!(f.username.as_deref(), Some("alice"));
        let f = parse_fields(LoginMethod::Approle, &args(&["role_id=r-1"])).unwrap();
        assert_eq!(f.role_id.as_deref(), Some("r-1"));
        let f = parse_fields(LoginMethod::Cert, &args(&[])).unwrap();
        assert_eq!(f, Fields::default());
        let f = parse_fields(LoginMethod::Cert, &args(&["name=web"])).unwrap();
        assert_eq!(f.name.as_deref(), Some("web"));
        parse_fields(LoginMethod::Token, &args(&["-"])).unwrap();
        parse_fields(LoginMethod::Token, &args(&[])).unwrap();
    }

    #[test]
    fn secrets_on_argv_are_refused_by_name_without_echo() {
        for (method, argv) in [
            (
                LoginMethod::Userpass,
                &["username=alice", "password=HUNTER2xyz"][..],
            ),
            (LoginMethod::Approle, &["role_id=r", "secret_id=HUNTER2xyz"]),
            (LoginMethod::Token, &["token=HUNTER2xyz"]),
        ] {
            let err = parse_fields(method, &args(argv)).unwrap_err().to_string();
            assert!(!err.contains("HUNTER2"), "{err}");
            let field = argv.last().unwrap().split('=').next().unwrap();
            assert!(err.contains(&format!("`{field}`")), "{err}");
        }
        // A bare positional (a token pasted on the command line) is not echoed either.
        for method in [LoginMethod::Token, LoginMethod::Userpass] {
            let err = parse_fields(method, &args(&["s.HUNTER2xyz"]))
                .unwrap_err()
                .to_string();
            assert!(!err.contains("HUNTER2"), "{err}");
            assert!(err.contains("without `=`"), "{err}");
        }
    }

    #[test]
    fn unknown_missing_and_repeated_fields() {
        let err = parse_fields(LoginMethod::Userpass, &args(&["user=alice"])).unwrap_err();
        assert!(err.0.contains("unknown field `user`"), "{err}");
        assert!(err.0.contains("accepts: username"), "{err}");
        let err = parse_fields(LoginMethod::Userpass, &args(&[])).unwrap_err();
        assert!(err.0.contains("needs username=NAME"), "{err}");
        let err = parse_fields(LoginMethod::Approle, &args(&["role_id="])).unwrap_err();
        assert!(err.0.contains("is empty"), "{err}");
        let err = parse_fields(LoginMethod::Cert, &args(&["name=a", "name=b"])).unwrap_err();
        assert!(err.0.contains("given twice"), "{err}");
        let err = parse_fields(LoginMethod::Token, &args(&["username=x"])).unwrap_err();
        assert!(err.0.contains("takes no KEY=VALUE"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn token_file_is_0600_and_replaced_atomically() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKEN_FILE);
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let stored = store_token(dir.path(), "s.newtoken").unwrap();
        assert_eq!(stored, path);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "s.newtoken");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![OsString::from(TOKEN_FILE)]);
    }

    #[test]
    fn failed_store_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir");
        let err = store_token(&missing, "s.tok").unwrap_err();
        assert!(format!("{err:#}").contains("storing the token"), "{err:#}");
        assert!(!format!("{err:#}").contains("s.tok"));
    }
}
