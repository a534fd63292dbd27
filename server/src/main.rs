//! `strongroom-server`: the binary. Parses arguments, sets up logging and process
//! hardening, starts the server, and shuts it down on SIGTERM/SIGINT. SIGHUP reopens
//! the audit devices' files (log rotation).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use strongroom_server::config::{Config, LogFormat, TlsMode};
use strongroom_server::{process, server, tls};
use tracing_subscriber::EnvFilter;

/// mimalloc: measurably faster than glibc malloc on the request path (bench/run).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "strongroom-server",
    version,
    about = "Strongroom secrets vault server"
)]
struct Args {
    /// Configuration file (TOML).
    #[arg(long, short = 'c', conflicts_with = "dev")]
    config: Option<PathBuf>,
    /// Development mode: loopback only, plain HTTP, in-memory storage, initialised and
    /// unsealed at start. Everything is lost at exit. Never use it for real secrets.
    #[arg(long)]
    dev: bool,
    /// Address for --dev (must be a loopback address).
    #[arg(long, default_value = "127.0.0.1:8200", requires = "dev")]
    dev_listen_address: SocketAddr,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a self-signed certificate (cert.pem) and key (key.pem, mode 0600) into DIR.
    TlsSelfsigned {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Host names / IP addresses for the certificate (repeatable).
        #[arg(long = "host", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
        hosts: Vec<String>,
    },
}

/// Logs go to stderr (stdout carries the dev banner and command output).
fn init_logging(format: LogFormat, level: &str) {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let ansi = std::io::stderr().is_terminal();
    match format {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init(),
        LogFormat::Pretty => tracing_subscriber::fmt()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init(),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Command::TlsSelfsigned { out, hosts }) = &args.command {
        tls::write_self_signed(out, hosts).context("writing the self-signed certificate")?;
        println!(
            "wrote {}/cert.pem and {}/key.pem (self-signed for {}); clients must trust cert.pem",
            out.display(),
            out.display(),
            hosts.join(", ")
        );
        return Ok(());
    }
    let config = if args.dev {
        if !args.dev_listen_address.ip().is_loopback() {
            anyhow::bail!("--dev listens on loopback addresses only");
        }
        Config::dev(args.dev_listen_address)
    } else {
        let path = args
            .config
            .as_deref()
            .context("--config FILE is required (or --dev for a throw-away development server)")?;
        Config::load(path)?
    };
    init_logging(config.log_format, &config.log_level);
    let hardening = process::harden(!config.disable_mlock);
    for warning in &hardening.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run(config, args.dev))
}

async fn run(config: Config, dev: bool) -> anyhow::Result<()> {
    if config.listener.tls == TlsMode::Disabled && !dev {
        tracing::warn!(
            "TLS IS DISABLED (tls_disable = true): tokens and secrets cross the network in plain text"
        );
    }
    let running = server::start(&config).await?;
    if dev {
        let out = server::dev_bootstrap(running.core()).await?;
        let unseal_key = out
            .shares
            .first()
            .map(|s| s.to_base64())
            .unwrap_or_default();
        println!(
            "\n==> WARNING: DEV MODE IS ENABLED. Storage is in memory, TLS is off, and the vault \
             is already unsealed.\n    Do not run dev mode in production: everything is lost \
             at exit.\n\n    export VAULT_ADDR='{}'\n\n    Unseal Key: {}\n    Root Token: {}\n",
            running.url(),
            unseal_key,
            out.root_token.expose()
        );
    }
    wait_for_signal(running.core()).await?;
    tracing::info!("shutting down: draining in-flight requests");
    running.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// Waits for SIGTERM or SIGINT; on the way, each SIGHUP reopens the audit files.
async fn wait_for_signal(core: &strongroom_server::core::Core) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            _ = hup.recv() => {
                let failed = core.reopen_audit_devices().await;
                tracing::info!(failed, "SIGHUP: audit devices reopened");
            }
        }
    }
}
