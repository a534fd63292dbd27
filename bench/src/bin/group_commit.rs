//! `group-commit`: durable write throughput of the SQLite backend, one writer at a
//! time versus many concurrent writers sharing commits.
//!
//! ```text
//! cargo run --release -p strongroom-bench --bin group-commit -- [options]
//!
//!   --seconds N       length of each phase (default 5)
//!   --concurrency N   writer tasks in the concurrent phase (default 32)
//!   --value-size N    bytes per value (default 256)
//!   --dir PATH        where to create the database (default: a fresh temp dir;
//!                     must be on a real disk, fsync on tmpfs is free)
//!   --rounds N        alternate the two phases N times and add them up (default 1;
//!                     shared disks drift, alternating keeps the comparison fair)
//!   --min-ratio X     exit 1 if concurrent/sequential is below X (for CI)
//! ```
//!
//! Every write is a `put` that is awaited, i.e. acknowledged only after the commit
//! that holds it was fsynced (`synchronous=FULL`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use strongroom_server::storage::{Backend, SqliteBackend, SqliteOptions};

struct Args {
    seconds: f64,
    concurrency: usize,
    value_size: usize,
    dir: Option<PathBuf>,
    rounds: u32,
    min_ratio: Option<f64>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        seconds: 5.0,
        concurrency: 32,
        value_size: 256,
        dir: None,
        rounds: 1,
        min_ratio: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--seconds" => args.seconds = value()?.parse().context("--seconds")?,
            "--concurrency" => args.concurrency = value()?.parse().context("--concurrency")?,
            "--value-size" => args.value_size = value()?.parse().context("--value-size")?,
            "--dir" => args.dir = Some(PathBuf::from(value()?)),
            "--rounds" => args.rounds = value()?.parse().context("--rounds")?,
            "--min-ratio" => args.min_ratio = Some(value()?.parse().context("--min-ratio")?),
            "-h" | "--help" => {
                println!(
                    "usage: group-commit [--seconds N] [--concurrency N] [--value-size N] \
                     [--dir PATH] [--rounds N] [--min-ratio X]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        bail!("--seconds must be in (0, 600]");
    }
    if args.rounds == 0 || args.rounds > 100 {
        bail!("--rounds must be in 1..=100");
    }
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    Ok(args)
}

/// Result of one phase (or the sum of several rounds of it).
#[derive(Default)]
struct Phase {
    writes: u64,
    elapsed: Duration,
    commits: u64,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.writes as f64 / self.elapsed.as_secs_f64()
    }

    fn commits_per_write(&self) -> f64 {
        if self.writes == 0 {
            0.0
        } else {
            self.commits as f64 / self.writes as f64
        }
    }

    fn add(&mut self, other: &Phase) {
        self.writes += other.writes;
        self.elapsed += other.elapsed;
        self.commits += other.commits;
    }
}

fn value(size: usize, seed: u64) -> Vec<u8> {
    (0..size as u64)
        .map(|i| (i.wrapping_mul(31) ^ seed) as u8)
        .collect()
}

/// (a) One write at a time: each put is awaited before the next starts.
async fn sequential(
    backend: &SqliteBackend,
    run_for: Duration,
    size: usize,
    round: u32,
) -> anyhow::Result<Phase> {
    let before = backend.stats();
    let start = Instant::now();
    let mut writes = 0u64;
    while start.elapsed() < run_for {
        let key = format!("bench/seq/{round:03}/{writes:010}");
        backend.put(&key, value(size, writes)).await?;
        writes += 1;
    }
    let elapsed = start.elapsed();
    Ok(Phase {
        writes,
        elapsed,
        commits: backend.stats().commits - before.commits,
    })
}

/// (b) `tasks` writers, each doing awaited puts in a loop until the deadline. Each
/// writer appends to its own key range, as the sequential writer does to its one.
async fn concurrent(
    backend: &Arc<SqliteBackend>,
    run_for: Duration,
    size: usize,
    tasks: usize,
    round: u32,
) -> anyhow::Result<Phase> {
    let before = backend.stats();
    let start = Instant::now();
    let deadline = start + run_for;
    let mut handles = Vec::with_capacity(tasks);
    for t in 0..tasks {
        let b = backend.clone();
        handles.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let key = format!("bench/conc/{round:03}/{t:03}/{n:010}");
                b.put(&key, value(size, n)).await?;
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let mut writes = 0u64;
    for h in handles {
        writes += h.await??;
    }
    let elapsed = start.elapsed();
    Ok(Phase {
        writes,
        elapsed,
        commits: backend.stats().commits - before.commits,
    })
}

fn print_row(name: &str, p: &Phase) {
    println!(
        "{:<16} {:>10} {:>9.2} {:>12.0} {:>10} {:>14.3}",
        name,
        p.writes,
        p.elapsed.as_secs_f64(),
        p.per_second(),
        p.commits,
        p.commits_per_write()
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let run_for = Duration::from_secs_f64(args.seconds);

    let temp = tempfile::Builder::new()
        .prefix("strongroom-bench-")
        .tempdir_in(args.dir.clone().unwrap_or_else(std::env::temp_dir))
        .context("creating the benchmark directory")?;
    let path = temp.path().join("bench.db");
    let backend = Arc::new(SqliteBackend::open(SqliteOptions::new(&path))?);

    println!(
        "sqlite group commit: {} s per phase, {} round(s), {}-byte values, {} concurrent writers",
        args.seconds, args.rounds, args.value_size, args.concurrency
    );
    println!(
        "db {} on a machine with {} cores",
        path.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // Warm up: create the table pages and the WAL before timing anything.
    for i in 0..20u64 {
        backend
            .put(&format!("bench/warm/{i}"), value(args.value_size, i))
            .await?;
    }

    let conc_name = format!("{} concurrent", args.concurrency);
    let mut seq = Phase::default();
    let mut conc = Phase::default();
    println!();
    println!(
        "{:<16} {:>10} {:>9} {:>12} {:>10} {:>14}",
        "mode", "writes", "seconds", "writes/s", "commits", "commits/write"
    );
    for round in 0..args.rounds {
        let s = sequential(&backend, run_for, args.value_size, round).await?;
        let c = concurrent(&backend, run_for, args.value_size, args.concurrency, round).await?;
        if args.rounds > 1 {
            print_row(&format!("r{round} sequential"), &s);
            print_row(&format!("r{round} concurrent"), &c);
        }
        seq.add(&s);
        conc.add(&c);
    }
    if args.rounds > 1 {
        println!("{}", "-".repeat(76));
    }
    print_row("sequential", &seq);
    print_row(&conc_name, &conc);

    let ratio = conc.per_second() / seq.per_second();
    let writes_per_commit = if conc.commits == 0 {
        0.0
    } else {
        conc.writes as f64 / conc.commits as f64
    };
    println!();
    println!(
        "ratio (concurrent / sequential writes/s): {ratio:.1}x; \
         writes per commit when concurrent: {writes_per_commit:.1}"
    );

    backend.close().await;
    drop(backend);

    if let Some(min) = args.min_ratio {
        if ratio < min {
            bail!("ratio {ratio:.2} is below --min-ratio {min}");
        }
    }
    Ok(())
}
