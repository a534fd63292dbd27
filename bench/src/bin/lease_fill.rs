//! `lease-fill`: a fresh SQLite vault holding N leases, for the unseal-to-serving
//! benchmark of `bench/leases` (part a).
//!
//! ```text
//! cargo run --release -p strongroom-bench --bin lease-fill -- --db PATH --secrets PATH [options]
//!
//!   --db PATH          the SQLite file to create (must not exist)
//!   --secrets PATH     where the unseal key and root token go (`unseal_key=<hex>` and
//!                      `root_token=<token>` lines, mode 0600; they are never printed)
//!   --leases N         leases to create (default 1000000)
//!   --concurrency N    creating tasks (default 256: SQLite group commit batches them)
//!   --owners N         distinct owner token hashes (default 8)
//!   --append           add N more leases to a vault this tool made before (unsealed
//!                      with the key from --secrets; the count then grows, e.g. from
//!                      the count OpenBao reached to 1,000,000, without refilling)
//!   --max-batch N      SQLite group-commit size in operations while filling (default
//!                      4096; the server uses 512; the file is the same either way)
//! ```
//!
//! Filling a vault with a million leases through HTTP takes far too long, so this does
//! what the server does when a database credential is issued, minus the database: it
//! initialises a vault 1-of-1 (`Core::init`), unseals it, mounts kv v2 at `secret/`
//! with one key `secret/data/bench/k0` (for the authenticated read the benchmark times),
//! mounts a `database/` engine, and registers N leases with the lease store
//! (`LeaseStore::create`, the same call the core makes for a credential): path
//! `database/creds/r<i % 4>`, owned by one of `--owners` token hashes, `internal` like a
//! real credential's (`{"db_name":"pg","role":…,"username":…}`), TTLs spread evenly over
//! 1–24 h, so none is due while the benchmark runs. Then it seals and closes the file
//! cleanly, records the count in `<db>.count` (for `--append`) and prints one line of
//! JSON: how many leases, how long, the file size, and one lease id (for a lookup after
//! unseal). The real `strongroom-server` is then started on
//! the file.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use strongroom_server::auth::ClientToken;
use strongroom_server::barrier::Barrier;
use strongroom_server::core::request::{LogicalRequest, Operation};
use strongroom_server::core::{Core, UnsealInput};
use strongroom_server::lease::NewLease;
use strongroom_server::mount::{MountConfig, MountEntry, MountPath, MountType};
use strongroom_server::storage::{SharedBackend, SqliteBackend, SqliteOptions};

struct Args {
    db: PathBuf,
    secrets: PathBuf,
    leases: u64,
    concurrency: u64,
    owners: u64,
    max_batch: usize,
    append: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut db = None;
    let mut secrets = None;
    let mut args = Args {
        db: PathBuf::new(),
        secrets: PathBuf::new(),
        leases: 1_000_000,
        concurrency: 256,
        owners: 8,
        max_batch: 4096,
        append: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--db" => db = Some(PathBuf::from(value()?)),
            "--secrets" => secrets = Some(PathBuf::from(value()?)),
            "--leases" => args.leases = value()?.parse().context("--leases")?,
            "--concurrency" => args.concurrency = value()?.parse().context("--concurrency")?,
            "--owners" => args.owners = value()?.parse().context("--owners")?,
            "--max-batch" => args.max_batch = value()?.parse().context("--max-batch")?,
            "--append" => args.append = true,
            "-h" | "--help" => {
                println!(
                    "usage: lease-fill --db PATH --secrets PATH [--leases N] \
                     [--concurrency N] [--owners N] [--max-batch N] [--append]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    args.db = db.context("--db is required")?;
    args.secrets = secrets.context("--secrets is required")?;
    if args.db.exists() != args.append {
        bail!(
            "{}: without --append the file must not exist, with it it must",
            args.db.display()
        );
    }
    if args.concurrency == 0 || args.owners == 0 {
        bail!("--concurrency and --owners must be at least 1");
    }
    Ok(args)
}

/// A request as the HTTP edge would hand it to the core. Its `data` starts empty; an
/// empty request's `data` is also how this file gets an empty JSON map (serde_json is
/// not a dependency of this crate: adding one would change the workspace lock file).
fn request(operation: Operation, path: &str, token: &str) -> LogicalRequest {
    LogicalRequest {
        id: "lease-fill".to_string(),
        operation,
        path: path.to_string(),
        data: Default::default(),
        token: ClientToken::parse(token),
        remote_addr: None,
        client_certs: None,
        wrap_ttl: None,
    }
}

/// `<db>.count`: how many leases the file holds (for `--append`).
fn count_file(db: &std::path::Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".count");
    PathBuf::from(p)
}

/// Initialises 1-of-1, unseals, writes the secrets file, mounts kv v2 at `secret/` with
/// one key and a `database/` engine; returns the database mount.
async fn create_vault(core: &Core, secrets: &std::path::Path) -> anyhow::Result<Arc<MountEntry>> {
    let init = core.init(1, 1).await?;
    let unseal_key = init
        .shares
        .first()
        .context("init returned no key share")?
        .to_hex();
    let root = init.root_token.expose().to_string();
    core.unseal(UnsealInput::Key(unseal_key.clone())).await?;
    {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(secrets)
            .with_context(|| format!("creating {}", secrets.display()))?;
        writeln!(file, "unseal_key={unseal_key}\nroot_token={root}")?;
    }

    // kv v2 at secret/ with one key, through the request pipeline (as HTTP would).
    let mut mount = request(Operation::Update, "sys/mounts/secret", &root);
    let mut options = request(Operation::Read, "", "").data;
    options.insert("version".into(), "2".into());
    mount.data.insert("type".into(), "kv".into());
    mount.data.insert("options".into(), options.into());
    core.handle(&mount).await.context("mounting secret/")?;
    let mut write = request(Operation::Update, "secret/data/bench/k0", &root);
    let mut data = request(Operation::Read, "", "").data;
    data.insert("value".into(), "v".repeat(200).into());
    write.data.insert("data".into(), data.into());
    core.handle(&write)
        .await
        .context("writing secret/data/bench/k0")?;

    // The database mount the leases belong to (no connection is needed: nothing is due).
    Ok(core
        .unsealed()?
        .mounts
        .enable(MountEntry::new(
            &MountPath::parse("database")?,
            MountType::Database,
            "lease-fill".to_string(),
            MountConfig::default(),
            None,
        ))
        .await?)
}

/// One of `owners` fixed 64-hex owner hashes (like a token's id hash).
fn owner_hash(i: u64) -> String {
    let mut x = i.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut out = String::with_capacity(64);
    for _ in 0..4 {
        x ^= x >> 31;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        out.push_str(&format!("{x:016x}"));
    }
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let start = Instant::now();
    let mut options = SqliteOptions::new(&args.db);
    options.max_batch = args.max_batch;
    let sqlite = Arc::new(SqliteBackend::open(options)?);
    let backend: SharedBackend = sqlite.clone();
    let core = Core::open(Barrier::new(backend)).await?;

    let (database, first) = if args.append {
        let secrets = std::fs::read_to_string(&args.secrets)
            .with_context(|| format!("reading {}", args.secrets.display()))?;
        let key = secrets
            .lines()
            .find_map(|l| l.strip_prefix("unseal_key="))
            .context("no unseal_key= line in the secrets file")?;
        core.unseal(UnsealInput::Key(key.to_string())).await?;
        let database = core
            .unsealed()?
            .mounts
            .list()
            .into_iter()
            .find(|m| m.path == "database/")
            .context("no database/ mount: not a vault made by lease-fill")?;
        // Continue the numbering: lease i gets the same owner/TTL scheme as before.
        let first = std::fs::read_to_string(count_file(&args.db))
            .ok()
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(0);
        (database, first)
    } else {
        (create_vault(&core, &args.secrets).await?, 0)
    };
    let unsealed = core.unsealed()?;
    let mount_uuid = database.uuid.clone();
    let owners: Arc<Vec<String>> = Arc::new((0..args.owners).map(owner_hash).collect());

    let made = Arc::new(AtomicU64::new(0));
    let fill_start = Instant::now();
    let progress = {
        let made = made.clone();
        let total = args.leases;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                let n = made.load(Ordering::Relaxed);
                eprintln!(
                    "lease-fill: {n}/{total} leases, {:.0}/s",
                    n as f64 / fill_start.elapsed().as_secs_f64()
                );
            }
        })
    };
    let mut tasks = Vec::new();
    for t in 0..args.concurrency {
        let unsealed = unsealed.clone();
        let owners = owners.clone();
        let made = made.clone();
        let mount_uuid = mount_uuid.clone();
        let (n, step) = (first + args.leases, args.concurrency);
        tasks.push(tokio::spawn(async move {
            let mut first_id = None;
            let mut i = first + t;
            while i < n {
                let role = format!("r{}", i % 4);
                let mut internal = request(Operation::Read, "", "").data;
                internal.insert("db_name".into(), "pg".into());
                internal.insert("role".into(), role.clone().into());
                internal.insert(
                    "username".into(),
                    format!("v-token-{role}-{i:020}-1796000000").into(),
                );
                // 1 h .. 24 h, spread evenly (a multiplicative hash of i).
                let ttl = 3600 + (i.wrapping_mul(2_654_435_761) % (23 * 3600));
                let lease = unsealed
                    .leases
                    .create(NewLease {
                        path: format!("database/creds/{role}"),
                        mount_uuid: mount_uuid.clone(),
                        target: format!("{mount_uuid}/pg"),
                        internal: internal.into(),
                        ttl,
                        max_ttl: 86_400,
                        renewable: true,
                        token: Some(owners[(i % owners.len() as u64) as usize].clone()),
                    })
                    .await?;
                first_id.get_or_insert(lease.id);
                made.fetch_add(1, Ordering::Relaxed);
                i += step;
            }
            anyhow::Ok(first_id)
        }));
    }
    let mut sample = None;
    for task in tasks {
        let first_id = task.await??;
        if sample.is_none() {
            sample = first_id;
        }
    }
    progress.abort();
    let fill_secs = fill_start.elapsed().as_secs_f64();
    drop(unsealed);
    core.seal().await?;
    std::fs::write(count_file(&args.db), format!("{}\n", first + args.leases))?;
    drop(core);
    let commits = sqlite.stats().commits;
    sqlite.close().await;
    drop(sqlite);
    let size: u64 = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|ext| {
            let mut p = args.db.clone().into_os_string();
            p.push(ext);
            std::fs::metadata(p).ok().map(|m| m.len())
        })
        .sum();
    println!(
        "{{\"leases\":{},\"added\":{},\"fill_seconds\":{:.3},\"leases_per_second\":{:.0},\"commits\":{},\
         \"total_seconds\":{:.3},\"db_bytes\":{},\"sample_lease\":\"{}\"}}",
        first + args.leases,
        args.leases,
        fill_secs,
        args.leases as f64 / fill_secs.max(1e-9),
        commits,
        start.elapsed().as_secs_f64(),
        size,
        sample.unwrap_or_default()
    );
    Ok(())
}
