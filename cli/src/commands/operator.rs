//! `strongroom operator …`: init, unseal, seal, key-status, rotate and rekey.
//!
//! Key shares are read by [`crate::secret_input`] — a hidden prompt on a terminal, else
//! one line of stdin — and never from the command line: a positional argument to
//! `unseal` or `rekey` is refused with a usage error (exit 2) that does not echo it.
//! Before asking for a share, the commands check that the server is in a state to accept
//! it (initialised and sealed for unseal; a rekey or verification in progress for rekey).
//!
//! Keys and the root token are printed only by `init` and by the rekey share that
//! completes the threshold; the buffers holding them are wiped after printing, and a
//! submitted share is scrubbed from any error message.

use std::ffi::OsString;

use anyhow::{anyhow, bail};
use clap::{ArgGroup, Args, Subcommand};
use serde_json::Value;
use strongroom_client::api::{RekeyStatus, RekeyUpdateResponse, RekeyVerifyStatus};
use zeroize::{Zeroize, Zeroizing};

use super::{redact, Context, Outcome, UsageError};
use crate::output::{self, Format};
use crate::secret_input;

/// `strongroom operator …`
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Show the seal status (the same as `strongroom status`: exit 0 unsealed, 2 sealed).
    Status,
    /// Initialise a new server: generate the root key, split it into unseal key shares and
    /// create the initial root token. Prints the shares and the token once.
    Init(InitArgs),
    /// Supply one unseal key share (read from a hidden prompt, or one line of stdin).
    Unseal(UnsealArgs),
    /// Seal the server: forget the keys in memory until it is unsealed again (needs a root token).
    Seal,
    /// Show the active encryption key term (needs a token).
    KeyStatus,
    /// Add a new encryption key term; new data is encrypted with it (needs a root token).
    Rotate,
    /// Replace the unseal key shares (new number of shares and threshold), keeping all data.
    Rekey(RekeyArgs),
}

/// Allowed range of a share count or threshold.
fn share_count() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=255)
}

/// `operator init` flags.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Number of unseal key shares to generate.
    #[arg(long, default_value_t = 5, value_parser = share_count())]
    pub key_shares: u32,
    /// Number of shares needed to unseal (at most --key-shares).
    #[arg(long, default_value_t = 3, value_parser = share_count())]
    pub key_threshold: u32,
}

/// `operator unseal` flags.
#[derive(Debug, Args)]
pub struct UnsealArgs {
    /// Discard the key shares supplied so far in this unseal attempt.
    #[arg(long)]
    pub reset: bool,
    /// Never accepted: a key on the command line is refused (see `secret_input`).
    #[arg(hide = true, trailing_var_arg = true, allow_hyphen_values = true, value_parser = clap::value_parser!(OsString))]
    pub refused: Vec<OsString>,
}

/// `operator rekey` flags. Without a mode flag, submits one current unseal key share.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("mode").args(["init", "cancel", "status", "verify_key"])))]
pub struct RekeyArgs {
    /// Start a rekey to --key-shares shares with a threshold of --key-threshold.
    #[arg(long)]
    pub init: bool,
    /// With --init: number of new key shares.
    #[arg(long, default_value_t = 5, requires = "init", value_parser = share_count())]
    pub key_shares: u32,
    /// With --init: number of new shares needed to unseal.
    #[arg(long, default_value_t = 3, requires = "init", value_parser = share_count())]
    pub key_threshold: u32,
    /// With --init: the new shares take effect only once a threshold of them has been
    /// submitted back with --verify-key.
    #[arg(long, requires = "init")]
    pub verify: bool,
    /// Cancel the rekey in progress (the current keys stay valid).
    #[arg(long)]
    pub cancel: bool,
    /// Show the rekey in progress.
    #[arg(long)]
    pub status: bool,
    /// Submit one NEW key share to verify a rekey started with --verify.
    #[arg(long)]
    pub verify_key: bool,
    /// Nonce of the rekey operation (or, with --verify-key, of the verification); looked
    /// up on the server when omitted.
    #[arg(long, conflicts_with_all = ["init", "cancel", "status"])]
    pub nonce: Option<String>,
    /// Never accepted: a key on the command line is refused (see `secret_input`).
    #[arg(hide = true, trailing_var_arg = true, allow_hyphen_values = true, value_parser = clap::value_parser!(OsString))]
    pub refused: Vec<OsString>,
}

/// Runs an `operator` subcommand.
pub async fn run(ctx: &Context, cmd: OperatorCommand) -> anyhow::Result<Outcome> {
    match cmd {
        OperatorCommand::Status => super::status::run(ctx).await,
        OperatorCommand::Init(args) => init(ctx, &args).await,
        OperatorCommand::Unseal(args) => unseal(ctx, &args).await,
        OperatorCommand::Seal => seal(ctx).await,
        OperatorCommand::KeyStatus => key_status(ctx).await,
        OperatorCommand::Rotate => rotate(ctx).await,
        OperatorCommand::Rekey(args) => rekey(ctx, &args).await,
    }
}

fn refuse_argv(command: &str, what: &str, args: &[OsString]) -> anyhow::Result<()> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(UsageError(secret_input::argv_secret_error(command, what, args)).into())
    }
}

fn check_shape(shares: u32, threshold: u32) -> anyhow::Result<()> {
    if threshold > shares {
        return Err(UsageError(format!(
            "--key-threshold ({threshold}) cannot be greater than --key-shares ({shares})"
        ))
        .into());
    }
    Ok(())
}

/// Reads a key share off the async runtime (the prompt and stdin block).
async fn read_share(prompt: &'static str) -> anyhow::Result<Zeroizing<String>> {
    tokio::task::spawn_blocking(move || secret_input::read_secret(prompt))
        .await
        .map_err(|e| anyhow!("reading the key: {e}"))?
}

/// Wipes every string in a JSON value (used for answers that carry key shares).
fn wipe_value(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe_value),
        Value::Object(map) => map.values_mut().for_each(wipe_value),
        _ => {}
    }
}

async fn init(ctx: &Context, args: &InitArgs) -> anyhow::Result<Outcome> {
    check_shape(args.key_shares, args.key_threshold)?;
    let mut resp = ctx.client.init(args.key_shares, args.key_threshold).await?;
    let text = Zeroizing::new(match ctx.format {
        Format::Table => output::init_text(&resp, args.key_threshold),
        other => output::machine(other, &resp)?,
    });
    resp.keys.zeroize();
    resp.keys_base64.zeroize();
    resp.root_token.zeroize();
    output::print(&text)?;
    if ctx.format != Format::Table {
        eprintln!(
            "WARNING: the unseal keys and root token above are shown only once and are not \
             kept by the server; store them safely."
        );
    }
    Ok(Outcome::Success)
}

async fn unseal(ctx: &Context, args: &UnsealArgs) -> anyhow::Result<Outcome> {
    refuse_argv("strongroom operator unseal", "unseal key", &args.refused)?;
    let status = if args.reset {
        ctx.client.unseal_reset().await?
    } else {
        let current = ctx.client.seal_status().await?;
        if !current.initialized {
            bail!("the server is not initialized; run `strongroom operator init` first");
        }
        if !current.sealed {
            let text = match ctx.format {
                Format::Table => "Strongroom is already unsealed.\nSealed: false\n".to_string(),
                other => output::machine(other, &current)?,
            };
            output::print(&text)?;
            return Ok(Outcome::Success);
        }
        let key = read_share("Unseal Key (will be hidden): ").await?;
        ctx.client.unseal(&key).await.map_err(|e| redact(e, &key))?
    };
    let text = match ctx.format {
        Format::Table => output::unseal_summary(&status),
        other => output::machine(other, &status)?,
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

async fn seal(ctx: &Context) -> anyhow::Result<Outcome> {
    ctx.client.seal().await?;
    if ctx.format == Format::Table {
        output::print("Success! Strongroom is sealed.")?;
    }
    Ok(Outcome::Success)
}

async fn key_status(ctx: &Context) -> anyhow::Result<Outcome> {
    let key = ctx.client.key_status().await?;
    let text = match ctx.format {
        Format::Table => output::key_status_table(&key).render(),
        other => output::machine(other, &key)?,
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

async fn rotate(ctx: &Context) -> anyhow::Result<Outcome> {
    ctx.client.rotate().await?;
    let key = ctx.client.key_status().await?;
    let text = match ctx.format {
        Format::Table => format!(
            "Success! Rotated the encryption key.\n\n{}",
            output::key_status_table(&key).render()
        ),
        other => output::machine(other, &key)?,
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

async fn rekey(ctx: &Context, args: &RekeyArgs) -> anyhow::Result<Outcome> {
    refuse_argv("strongroom operator rekey", "key share", &args.refused)?;
    if args.init {
        rekey_init(ctx, args).await
    } else if args.cancel {
        ctx.client.rekey_cancel().await?;
        if ctx.format == Format::Table {
            output::print("Success! Canceled rekeying (if it was started).")?;
        }
        Ok(Outcome::Success)
    } else if args.status {
        rekey_show_status(ctx).await
    } else if args.verify_key {
        rekey_verify(ctx, args.nonce.as_deref()).await
    } else {
        rekey_submit(ctx, args.nonce.as_deref()).await
    }
}

fn print_status(format: Format, status: &RekeyStatus) -> anyhow::Result<()> {
    let text = match format {
        Format::Table => output::rekey_status_table(status).render(),
        other => output::machine(other, status)?,
    };
    output::print(&text)
}

/// `--status`: the rekey in progress and, in a table, its pending verification if any.
async fn rekey_show_status(ctx: &Context) -> anyhow::Result<Outcome> {
    let status = ctx.client.rekey_status().await?;
    if ctx.format != Format::Table || !status.verification_required {
        print_status(ctx.format, &status)?;
        return Ok(Outcome::Success);
    }
    let verify = ctx.client.rekey_verify_status().await?;
    let mut table = output::rekey_status_table(&status);
    if verify.started {
        table.push("Verification Nonce", &verify.nonce);
        table.push(
            "Verification Progress",
            format!("{}/{}", verify.progress, verify.t),
        );
    }
    output::print(&table.render())?;
    Ok(Outcome::Success)
}

async fn rekey_init(ctx: &Context, args: &RekeyArgs) -> anyhow::Result<Outcome> {
    check_shape(args.key_shares, args.key_threshold)?;
    let status = ctx
        .client
        .rekey_init(args.key_shares, args.key_threshold, args.verify)
        .await?;
    print_status(ctx.format, &status)?;
    if ctx.format == Format::Table {
        output::print(&format!(
            "\nSupply {} current unseal key share(s), one per run of `strongroom operator rekey`.",
            status.required
        ))?;
    }
    Ok(Outcome::Success)
}

const NO_REKEY: &str = "no rekey is in progress; start one with \
     `strongroom operator rekey --init --key-shares N --key-threshold T`";

async fn rekey_submit(ctx: &Context, nonce: Option<&str>) -> anyhow::Result<Outcome> {
    let status = ctx.client.rekey_status().await?;
    if !status.started {
        bail!(NO_REKEY);
    }
    if status.verification_required && ctx.client.rekey_verify_status().await?.started {
        bail!(
            "this rekey has produced its new keys and awaits their verification: submit NEW \
             key shares with `strongroom operator rekey --verify-key`"
        );
    }
    let nonce = nonce.unwrap_or(&status.nonce).to_string();
    let key = read_share("Unseal Key (will be hidden): ").await?;
    let mut answer = ctx
        .client
        .rekey_update(&key, &nonce)
        .await
        .map_err(|e| redact(e, &key))?;
    drop(key);
    let complete = answer.get("complete") == Some(&Value::Bool(true));
    let printed = if complete {
        print_new_keys(ctx.format, &answer, status.t)
    } else {
        print_rekey_progress(ctx.format, &answer)
    };
    wipe_value(&mut answer);
    printed?;
    Ok(Outcome::Success)
}

fn print_new_keys(format: Format, answer: &Value, threshold: u32) -> anyhow::Result<()> {
    let text = Zeroizing::new(match format {
        Format::Table => {
            // Never let a parse error quote the answer: it holds the new shares.
            let mut resp: RekeyUpdateResponse = serde_json::from_value(answer.clone())
                .map_err(|_| anyhow!("the server's rekey completion answer is malformed"))?;
            let text = output::rekey_keys_text(&resp, (threshold > 0).then_some(threshold));
            resp.keys.zeroize();
            resp.keys_base64.zeroize();
            text
        }
        other => output::machine(other, answer)?,
    });
    output::print(&text)?;
    if format != Format::Table {
        eprintln!(
            "WARNING: the new unseal keys above are shown only once and are not kept by the \
             server; store them safely."
        );
    }
    Ok(())
}

fn print_rekey_progress(format: Format, answer: &Value) -> anyhow::Result<()> {
    let text = match format {
        Format::Table => {
            let status: RekeyStatus = serde_json::from_value(answer.clone())
                .map_err(|e| anyhow!("unexpected rekey answer from the server: {e}"))?;
            output::rekey_progress_summary(&status)
        }
        other => output::machine(other, answer)?,
    };
    output::print(&text)
}

async fn rekey_verify(ctx: &Context, nonce: Option<&str>) -> anyhow::Result<Outcome> {
    let pending = ctx.client.rekey_verify_status().await?;
    if !pending.started {
        bail!(
            "no rekey verification is pending (it is needed only after a rekey started with \
             `--init --verify` has produced its new keys)"
        );
    }
    let nonce = nonce.unwrap_or(&pending.nonce).to_string();
    let key = read_share("New Unseal Key (will be hidden): ").await?;
    let answer = ctx
        .client
        .rekey_verify(&key, &nonce)
        .await
        .map_err(|e| redact(e, &key))?;
    drop(key);
    let complete = answer.get("complete") == Some(&Value::Bool(true));
    let text = match ctx.format {
        Format::Table if complete => "Success! The new unseal keys are verified and in effect; \
                                      the old keys no longer unseal the vault.\n"
            .to_string(),
        Format::Table => {
            let status: RekeyVerifyStatus = serde_json::from_value(answer)
                .map_err(|e| anyhow!("unexpected rekey verification answer: {e}"))?;
            verify_progress_text(&status)
        }
        other => output::machine(other, &answer)?,
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

fn verify_progress_text(status: &RekeyVerifyStatus) -> String {
    format!(
        "Verification Progress: {}/{}\nVerification Nonce: {}\n",
        status.progress, status.t, status.nonce
    )
}
