//! `strongroom run`: starts a command with secrets in its environment and looks after
//! them while it runs.
//!
//! ```text
//! strongroom run --env DB_USER=database/creds/app#username \
//!                --env DB_PASS=database/creds/app#password \
//!                --env API_KEY=secret/app#api_key [--env-file FILE] -- ./app args...
//! ```
//!
//! 1. Every distinct path is read once ([`fetch`]): both `database/creds/app`
//!    references share one credential and one lease. If any read fails, the leases
//!    already created are revoked, nothing is started, and the exit code is 1 with the
//!    server's message.
//! 2. The child starts with the variables added to the inherited environment
//!    ([`child`]). SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1 and SIGUSR2 received by
//!    `strongroom run` are forwarded to it ([`watch::Signals`]).
//! 3. While it runs, a [`LeaseKeeper`] renews the leases and `strongroom run`'s own
//!    token (when renewable), and unleased secrets (KV, static credentials) are re-read
//!    every `--poll-interval` ([`watch::poll_unleased`]). A changed value, or a lease
//!    that can no longer be renewed, triggers `--on-change`:
//!    - `restart` (default): new values are fetched first (a lease that ends gets new
//!      credentials); then the child is stopped (SIGTERM, `--grace-period`, SIGKILL),
//!      the replaced leases are revoked, and the child is started again with the new
//!      values. If new credentials cannot be fetched, the child keeps running and the
//!      fetch is retried at every poll.
//!    - `signal:SIG`: the signal is sent to the child and nothing else happens: a
//!      running process's environment cannot change, so no new credentials are fetched
//!      (an ending lease simply runs out) and the child is expected to reload its
//!      secrets some other way. The new KV values are remembered so the same change is
//!      signalled once.
//!    - `exit`: the child is stopped, the leases are revoked, and the exit code is 1.
//! 4. When the child exits on its own, every lease `strongroom run` created is revoked
//!    (envconsul #176), and the exit code is the child's (128 + the signal number when a
//!    signal killed it).
//!
//! Secrets are never written to disk, printed, logged or put on argv: the child's
//! environment is the only place they go. Status messages go to stderr, prefixed
//! `strongroom run:`. `--dry-run` validates the references and prints the variable
//! names with their paths and fields, without contacting the server or starting
//! anything.

pub mod child;
pub mod fetch;
pub mod spec;
pub mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use serde_json::json;
use strongroom_client::{Client, KeeperEvent, KeeperEvents, Kept, LeaseKeeper};
use zeroize::Zeroizing;

use self::child::{exit_code, Child};
use self::fetch::{fetch_path, Fetched};
use self::spec::{parse_duration, parse_env_file, EnvRef, OnChange, Spec};
use self::watch::{poll_unleased, Signals};
use super::{Context, Outcome, UsageError, TOKEN_ENV};
use crate::output::{self, Format};

/// `strongroom run [--env NAME=PATH#FIELD]... [--env-file FILE]... -- COMMAND [ARGS]...`
#[derive(Debug, Args)]
#[command(
    after_help = "Example: strongroom run --env DB_USER=database/creds/app#username \
    --env DB_PASS=database/creds/app#password --env API_KEY=secret/app#api_key -- ./app"
)]
pub struct RunArgs {
    /// A variable to set: NAME=PATH#FIELD (repeatable). References to the same PATH
    /// share one read (and one lease).
    #[arg(long = "env", value_name = "NAME=PATH#FIELD", value_parser = parse_env_ref)]
    pub env: Vec<EnvRef>,
    /// A file of NAME=PATH#FIELD lines (`#` comments and blank lines ignored; repeatable).
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// What to do when a secret changes or a lease can no longer be renewed: restart,
    /// signal:SIGNAME (e.g. signal:SIGHUP) or exit.
    #[arg(long, value_name = "POLICY", default_value = "restart", value_parser = parse_on_change)]
    pub on_change: OnChange,
    /// How long the child may take to exit after SIGTERM before SIGKILL (e.g. 5s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration_arg)]
    pub grace_period: Duration,
    /// How often unleased secrets (KV) are re-read to detect changes.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_poll_interval)]
    pub poll_interval: Duration,
    /// Print the variables (names, paths, fields — never values) and exit without
    /// contacting the server or starting anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Also pass this command's own token (`STRONGROOM_TOKEN` / `VAULT_TOKEN`) on to the
    /// child. By default the child gets only the secrets named with `--env`: the token
    /// that fetched them is removed from its environment.
    #[arg(long)]
    pub pass_token: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

fn parse_env_ref(text: &str) -> Result<EnvRef, String> {
    EnvRef::parse(text).map_err(|e| e.0)
}

fn parse_on_change(text: &str) -> Result<OnChange, String> {
    OnChange::parse(text).map_err(|e| e.0)
}

fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.0)
}

fn parse_poll_interval(text: &str) -> Result<Duration, String> {
    match parse_duration(text) {
        Ok(d) if d >= Duration::from_millis(100) => Ok(d),
        Ok(_) => Err("the poll interval must be at least 100ms".into()),
        Err(e) => Err(e.0),
    }
}

/// Every reference from `--env` and the env files; a bad file is a usage error.
fn build_spec(args: &RunArgs) -> anyhow::Result<Spec> {
    let mut refs = args.env.clone();
    for path in &args.env_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("reading the env file {}: {e}", path.display())))?;
        refs.extend(
            parse_env_file(&path.display().to_string(), &text).map_err(|e| UsageError(e.0))?,
        );
    }
    Spec::new(refs).map_err(|e| UsageError(e.0).into())
}

fn program_name(command: &[OsString]) -> String {
    command
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn dry_run(spec: &Spec, command: &[OsString], format: Format) -> anyhow::Result<Outcome> {
    let text = match format {
        Format::Table | Format::Env => {
            let width = |f: &dyn Fn(&EnvRef) -> usize, title: &str| {
                spec.refs()
                    .iter()
                    .map(f)
                    .chain([title.len()])
                    .max()
                    .unwrap_or(0)
            };
            let name_w = width(&|r| r.name.len(), "Variable");
            let path_w = width(&|r| r.path.len(), "Path");
            let mut out = format!("{:name_w$}    {:path_w$}    Field\n", "Variable", "Path");
            out.push_str(&format!(
                "{:name_w$}    {:path_w$}    -----\n",
                "--------", "----"
            ));
            for r in spec.refs() {
                out.push_str(&format!(
                    "{:name_w$}    {:path_w$}    {}\n",
                    r.name, r.path, r.field
                ));
            }
            let args: Vec<String> = command
                .iter()
                .map(|a| output::shell_quote(&a.to_string_lossy()))
                .collect();
            out.push_str(&format!("\nCommand: {}\n", args.join(" ")));
            out
        }
        other => {
            let variables: Vec<_> = spec
                .refs()
                .iter()
                .map(|r| json!({"name": r.name, "path": r.path, "field": r.field}))
                .collect();
            let command: Vec<String> = command
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            output::machine(other, &json!({"variables": variables, "command": command}))?
        }
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

/// Runs `strongroom run`.
pub async fn run(ctx: &Context, args: RunArgs) -> anyhow::Result<Outcome> {
    let spec = build_spec(&args)?;
    if args.dry_run {
        return dry_run(&spec, &args.command, ctx.format);
    }
    let (keeper, events) = LeaseKeeper::new(ctx.client.clone());
    let mut runner = Runner {
        client: &ctx.client,
        keeper,
        spec,
        command: args.command,
        on_change: args.on_change,
        grace: args.grace_period,
        pass_token: args.pass_token,
        secrets: BTreeMap::new(),
        lease_paths: BTreeMap::new(),
    };
    let result = runner.supervise(events, args.poll_interval).await;
    if result.is_err() {
        runner.revoke_all().await;
    }
    result
}

/// The state of one `strongroom run`.
struct Runner<'a> {
    client: &'a Client,
    keeper: LeaseKeeper,
    spec: Spec,
    command: Vec<OsString>,
    on_change: OnChange,
    grace: Duration,
    /// `--pass-token`: leave `STRONGROOM_TOKEN` / `VAULT_TOKEN` in the child's environment.
    pass_token: bool,
    /// Path → its current values.
    secrets: BTreeMap<String, Fetched>,
    /// Lease id → path, for every lease created and not yet revoked.
    lease_paths: BTreeMap<String, String>,
}

impl Runner<'_> {
    /// The variables for the child, in the order given.
    fn env(&self) -> Vec<(String, Zeroizing<String>)> {
        self.spec
            .refs()
            .iter()
            .filter_map(|r| {
                let value = self.secrets.get(&r.path)?.fields.get(&r.field)?;
                Some((r.name.clone(), value.clone()))
            })
            .collect()
    }

    /// Makes `fetched` the current values of `path`, keeping its lease alive. Returns
    /// the lease it replaces, if any.
    fn adopt(&mut self, path: &str, fetched: Fetched) -> Option<String> {
        if let Some(lease) = &fetched.lease {
            self.lease_paths.insert(lease.id.clone(), path.to_string());
            if let Err(e) = self
                .keeper
                .keep_lease_id(&lease.id, lease.ttl, lease.renewable)
            {
                eprintln!("strongroom run: the lease of {path} will not be renewed: {e}");
            }
        }
        let old = self.secrets.insert(path.to_string(), fetched)?;
        old.lease.map(|l| l.id)
    }

    /// Revokes one lease this run created.
    async fn revoke(&mut self, lease_id: &str) {
        self.lease_paths.remove(lease_id);
        if let Err(e) = self.keeper.revoke_lease(lease_id).await {
            eprintln!("strongroom run: could not revoke lease {lease_id}: {e}");
        }
    }

    /// Revokes every lease this run created.
    async fn revoke_all(&mut self) {
        let ids: Vec<String> = self.lease_paths.keys().cloned().collect();
        for id in ids {
            self.revoke(&id).await;
        }
    }

    /// Reads every path once; on failure the leases read so far are revoked by the
    /// caller.
    async fn fetch_all(&mut self) -> anyhow::Result<()> {
        let paths: Vec<(String, BTreeSet<String>)> = self
            .spec
            .paths()
            .into_iter()
            .map(|(p, f)| (p.to_string(), f.into_iter().map(str::to_string).collect()))
            .collect();
        for (path, fields) in paths {
            let fields: BTreeSet<&str> = fields.iter().map(String::as_str).collect();
            let fetched = fetch_path(self.client, &path, &fields)
                .await
                .map_err(anyhow::Error::new)?;
            self.adopt(&path, fetched);
        }
        Ok(())
    }

    fn spawn(&self) -> anyhow::Result<Child> {
        let program = program_name(&self.command);
        let remove: &[&str] = if self.pass_token { &[] } else { &TOKEN_ENV };
        let child = Child::spawn(&self.command, &self.env(), remove)
            .with_context(|| format!("starting {program}"))?;
        eprintln!(
            "strongroom run: started {program} (pid {}) with {} variable(s)",
            child.pid(),
            self.spec.refs().len()
        );
        Ok(child)
    }

    /// Fetches, starts the child and looks after it until it exits (or `--on-change
    /// exit` ends the run).
    async fn supervise(
        &mut self,
        mut events: KeeperEvents,
        poll_interval: Duration,
    ) -> anyhow::Result<Outcome> {
        self.fetch_all().await?;
        match self.keeper.keep_client_token().await {
            Ok(_) => {}
            Err(e) => eprintln!(
                "strongroom run: cannot look up its own token, so it will not be renewed: {e}"
            ),
        }
        let mut signals = Signals::install().context("installing signal handlers")?;
        let mut child = self.spawn()?;
        let mut poll =
            tokio::time::interval_at(tokio::time::Instant::now() + poll_interval, poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Changed unleased secrets waiting to be applied, and leased paths needing new
        // credentials (restart mode; retried at every poll until a fetch succeeds).
        let mut changed: Vec<(String, Fetched)> = Vec::new();
        let mut renew_paths: BTreeSet<String> = BTreeSet::new();
        loop {
            let mut act = false;
            tokio::select! {
                status = child.wait() => {
                    let code = exit_code(status);
                    eprintln!("strongroom run: the child exited with status {code}; revoking its leases");
                    self.revoke_all().await;
                    return Ok(Outcome::Exit(code));
                }
                sig = signals.recv() => {
                    if let Err(e) = child.signal(sig.nix()) {
                        eprintln!("strongroom run: forwarding {sig} failed: {e}");
                    }
                }
                event = events.recv() => {
                    if let Some(path) = self.lease_ending(event) {
                        renew_paths.insert(path);
                        act = true;
                    }
                }
                _ = poll.tick() => {
                    let paths = self.spec.paths();
                    let found = poll_unleased(self.client, &paths, &self.secrets).await;
                    for (path, _) in &found {
                        eprintln!("strongroom run: the secret at {path} changed");
                    }
                    changed.extend(found);
                    act = !changed.is_empty() || !renew_paths.is_empty();
                }
            }
            if !act {
                continue;
            }
            match self.on_change {
                OnChange::Restart => {
                    let mut fresh = std::mem::take(&mut changed);
                    for path in renew_paths.clone() {
                        let fields: BTreeSet<&str> = self
                            .spec
                            .paths()
                            .get(path.as_str())
                            .cloned()
                            .unwrap_or_default();
                        match fetch_path(self.client, &path, &fields).await {
                            Ok(f) => {
                                renew_paths.remove(&path);
                                fresh.push((path, f));
                            }
                            Err(e) => {
                                let detail = std::error::Error::source(&e)
                                    .map(|s| format!(": {s}"))
                                    .unwrap_or_default();
                                eprintln!(
                                    "strongroom run: fetching new credentials failed ({e}{detail}); \
                                     retrying at the next poll"
                                );
                            }
                        }
                    }
                    if fresh.is_empty() {
                        continue;
                    }
                    if let Some(status) = child.try_status() {
                        // It exited on its own meanwhile: that ends the run.
                        for (path, f) in fresh {
                            self.adopt(&path, f);
                        }
                        let code = exit_code(status);
                        eprintln!("strongroom run: the child exited with status {code}; revoking its leases");
                        self.revoke_all().await;
                        return Ok(Outcome::Exit(code));
                    }
                    eprintln!(
                        "strongroom run: restarting the child (pid {}) with new values",
                        child.pid()
                    );
                    child.stop(self.grace).await;
                    for (path, f) in fresh {
                        if let Some(old) = self.adopt(&path, f) {
                            self.revoke(&old).await;
                        }
                    }
                    child = self.spawn()?;
                }
                OnChange::Signal(sig) => {
                    for (path, f) in std::mem::take(&mut changed) {
                        self.secrets.insert(path, f);
                    }
                    renew_paths.clear();
                    eprintln!(
                        "strongroom run: sending {sig} to the child (pid {})",
                        child.pid()
                    );
                    if let Err(e) = child.signal(sig.nix()) {
                        eprintln!("strongroom run: sending {sig} failed: {e}");
                    }
                }
                OnChange::Exit => {
                    eprintln!(
                        "strongroom run: a secret changed or a lease ends; stopping the child \
                         (pid {}) and exiting (--on-change exit)",
                        child.pid()
                    );
                    child.stop(self.grace).await;
                    self.revoke_all().await;
                    return Ok(Outcome::Failure);
                }
            }
        }
    }

    /// Reports a keeper event; returns the path whose lease can no longer be renewed.
    fn lease_ending(&self, event: Option<KeeperEvent>) -> Option<String> {
        match event? {
            KeeperEvent::Renewed { .. } => None,
            KeeperEvent::RenewalImpossible {
                kept: Kept::Lease(id),
                reason,
                remaining,
            } => {
                let path = self.lease_paths.get(&id)?;
                eprintln!(
                    "strongroom run: the lease of {path} can no longer be renewed ({reason}); \
                     it ends in {}s",
                    remaining.as_secs()
                );
                Some(path.clone())
            }
            KeeperEvent::RenewalImpossible {
                kept: Kept::Token(_),
                reason,
                remaining,
            } => {
                eprintln!(
                    "strongroom run: its token can no longer be renewed ({reason}); it ends in {}s",
                    remaining.as_secs()
                );
                None
            }
            KeeperEvent::Expired {
                kept: Kept::Lease(id),
            } => {
                if let Some(path) = self.lease_paths.get(&id) {
                    eprintln!("strongroom run: the lease of {path} expired");
                }
                None
            }
            KeeperEvent::Expired {
                kept: Kept::Token(_),
            } => {
                eprintln!(
                    "strongroom run: its token expired; leases can no longer be renewed or revoked"
                );
                None
            }
        }
    }
}
