//! Store benchmarks, printed as a table (a plain `main`: each figure is one run over a million
//! rows, which criterion's repeated sampling would make take an hour).
//!
//! ```text
//! cargo bench -p civmap-store                                    # SQLite only
//! CIVMAP_BENCH_PG=postgres://postgres@127.0.0.1:5432/test cargo bench -p civmap-store
//! ```
//! PostgreSQL runs side by side when `CIVMAP_BENCH_PG` (or `CIVMAP_TEST_POSTGRES`) names a
//! server database; the benchmark creates a database of its own there and drops it.
//! `CIVMAP_BENCH_N` sets the number of problems (default 1,000,000), `CIVMAP_BENCH_DIR` where the
//! SQLite files go (default the system temporary directory), `CIVMAP_BENCH_SECONDS` how long each
//! concurrent-writer run lasts (default 3), `CIVMAP_BENCH_LOADS` how many times the start-up load
//! is measured (default 3; the best and the median are shown, the machine being shared; 0 skips
//! it); `CIVMAP_BENCH_SKIP_WRITERS=1` measures import and load only; `CIVMAP_BENCH_KEEP=1` keeps
//! the SQLite file.
//!
//! Columns: `import/s` problems per second of one `import_problems` of N problems (one
//! transaction, with their N `created` events); `open s` opening the filled store (migrations
//! check included); `load s` [`Store::load_problems`] of all N, best and median of the runs, and
//! the CPU seconds of the best; `group/s` durable single-problem inserts per second from 16
//! concurrent writers with group commit (SQLite `synchronous=FULL`); `tx-per-write/s` the same
//! writers with one transaction (one fsync) per write (`max_batch = 1`); `NORMAL/s` group commit
//! with `synchronous=NORMAL`; `raw 1 fsync/row/s` plain SQLite without civmap, one
//! autocommitted `INSERT` of one row at a time (`synchronous=FULL`, WAL), the floor group commit
//! is measured against.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone as _, Utc};
use civmap_domain::{CategoryTable, EventKind, LonLat, Problem, ProblemId, Severity, Status};
use civmap_store::{NewEvent, Store, StoreOptions};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use sqlx::Connection as _;

const WRITERS: usize = 16;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// `n` problems scattered over central Shanghai (WGS-84), reported over one year.
fn problems(n: usize, seed: u64) -> Vec<(Problem, String)> {
    let cats: Vec<String> = CategoryTable::builtin()
        .iter()
        .map(|(_, c)| c.code.clone())
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    (0..n)
        .map(|i| {
            let at = t0 + chrono::Duration::milliseconds(rng.random_range(0..31_536_000_000));
            let p = Problem {
                case_no: None,
                place: String::new(),
                id: ProblemId::new(),
                location: LonLat::new(
                    rng.random_range(121.40..121.55),
                    rng.random_range(31.18..31.32),
                )
                .unwrap(),
                category: cats[rng.random_range(0..cats.len())].clone(),
                severity: Severity::ALL[rng.random_range(0..4)],
                status: Status::ALL[rng.random_range(0..5)],
                description: "楼道堆物，影响消防通道".into(),
                reported_at: at,
                reporter: None,
                updated_at: at,
                deadline: None,
                assignee: None,
                zone: None,
                rework_count: 0,
                recurrence_of: None,
                merged_into: None,
                version: 1,
            };
            (p, format!("bench-{seed}-{i}"))
        })
        .collect()
}

/// CPU seconds (user + system, all threads) this process has used, from `/proc/self/stat`, so
/// that figures taken on a busy machine can be read next to their wall-clock times.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // utime and stime are fields 14 and 15 of the full line, 12 and 13 after ")".
    (ticks(11) + ticks(12)) / 100.0
}

/// Wall and CPU seconds of one step.
struct Timer(Instant, f64);

impl Timer {
    fn start() -> Self {
        Timer(Instant::now(), cpu_seconds())
    }
    fn stop(&self) -> (f64, f64) {
        (self.0.elapsed().as_secs_f64(), cpu_seconds() - self.1)
    }
}

struct Row {
    backend: &'static str,
    /// (wall s, CPU s) of each step.
    import: (f64, f64),
    open: (f64, f64),
    /// The best load (wall s, CPU s) and the median wall s.
    load: (f64, f64),
    load_median: f64,
    /// Durable writes per second: group commit, one transaction per write, group commit with
    /// `synchronous=NORMAL` (SQLite only).
    group: f64,
    single: f64,
    normal: Option<f64>,
    raw: Option<f64>,
}

/// Plain SQLite, no civmap: one writer inserting one row per autocommitted statement (one
/// transaction and one fsync of the WAL per row) with `synchronous=FULL`, for `secs`.
async fn raw_sqlite(path: &std::path::Path, secs: f64) -> f64 {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE problems (id BLOB PRIMARY KEY, lon REAL NOT NULL, lat REAL NOT NULL, \
         category TEXT NOT NULL, description TEXT NOT NULL, reported_at INTEGER NOT NULL)",
    )
    .execute(&mut c)
    .await
    .unwrap();
    let p = problems(1, 7).into_iter().next().unwrap().0;
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed().as_secs_f64() < secs {
        sqlx::query("INSERT INTO problems VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(ProblemId::new().0)
            .bind(p.location.lon())
            .bind(p.location.lat())
            .bind(&p.category)
            .bind(&p.description)
            .bind(p.reported_at.timestamp_millis())
            .execute(&mut c)
            .await
            .unwrap();
        n += 1;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    c.close().await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    rate
}

/// Writers each inserting problems one by one for `secs`; durable writes per second.
async fn writers(store: &Store, secs: f64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (store, stop, done) = (store.clone(), stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut items = problems(1, w as u64 + 1000).into_iter().next().unwrap().0;
            while !stop.load(Ordering::Relaxed) {
                items.id = ProblemId::new();
                store
                    .insert_problem(&items, NewEvent::new(EventKind::Created, Utc::now()))
                    .await
                    .unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64()
}

async fn run(backend: &'static str, url: &str, n: usize, secs: f64) -> Row {
    let opts = |max_batch, synchronous_full| StoreOptions {
        synchronous_full,
        max_batch,
        photo_dir: std::env::temp_dir().join("civmap-bench-photos"),
    };
    let items = problems(n, 1);
    let store = Store::open(url, opts(256, true)).await.unwrap();
    let t = Timer::start();
    let out = store.import_problems(items, "bench").await.unwrap();
    let import = t.stop();
    assert_eq!(out.inserted, n);
    store.close().await;

    let t = Timer::start();
    let store = Store::open(url, opts(256, true)).await.unwrap();
    let open = t.stop();
    let mut loads = Vec::new();
    for _ in 0..env_usize("CIVMAP_BENCH_LOADS", 3) {
        let t = Timer::start();
        let all = store.load_problems().await.unwrap();
        loads.push(t.stop());
        assert_eq!(all.len(), n);
        drop(all);
    }
    loads.sort_by(|a, b| a.0.total_cmp(&b.0));
    // `CIVMAP_BENCH_LOADS=0` skips the load (to profile the import alone).
    let load = loads.first().copied().unwrap_or((f64::NAN, f64::NAN));
    let load_median = loads.get(loads.len() / 2).map_or(f64::NAN, |l| l.0);

    if std::env::var("CIVMAP_BENCH_SKIP_WRITERS").is_ok() {
        store.close().await;
        return Row {
            backend,
            import,
            open,
            load,
            load_median,
            group: f64::NAN,
            single: f64::NAN,
            normal: None,
            raw: None,
        };
    }
    let group = writers(&store, secs).await;
    store.close().await;
    let store = Store::open(url, opts(1, true)).await.unwrap();
    let single = writers(&store, secs).await;
    store.close().await;
    let (normal, raw) = if backend == "sqlite" {
        let store = Store::open(url, opts(256, false)).await.unwrap();
        let r = writers(&store, secs).await;
        store.close().await;
        let raw_path = format!("{url}.raw");
        (
            Some(r),
            Some(raw_sqlite(std::path::Path::new(&raw_path), secs).await),
        )
    } else {
        (None, None)
    };
    Row {
        backend,
        import,
        open,
        load,
        load_median,
        group,
        single,
        normal,
        raw,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run tiny then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = env_usize("CIVMAP_BENCH_N", if quick { 2_000 } else { 1_000_000 });
    let secs = if quick {
        0.3
    } else {
        env_usize("CIVMAP_BENCH_SECONDS", 3) as f64
    };
    let dir = std::env::var_os("CIVMAP_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut rows = Vec::new();
        let path = dir.join(format!("civmap-bench-{}.db", std::process::id()));
        rows.push(run("sqlite", path.to_str().unwrap(), n, secs).await);
        if std::env::var_os("CIVMAP_BENCH_KEEP").is_none() {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        let pg =
            std::env::var("CIVMAP_BENCH_PG").or_else(|_| std::env::var("CIVMAP_TEST_POSTGRES"));
        if let Ok(base) = pg {
            let db = format!("civmap_bench_{}", std::process::id());
            let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {db}"))
                .execute(&mut admin)
                .await
                .unwrap();
            let url = match base.rsplit_once('/') {
                Some((head, _)) => format!("{head}/{db}"),
                None => panic!("the PostgreSQL URL must end in /DATABASE"),
            };
            rows.push(run("postgres", &url, n, secs).await);
            sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .unwrap();
        } else {
            eprintln!(
                "SKIPPED: PostgreSQL benchmarks (set CIVMAP_BENCH_PG or CIVMAP_TEST_POSTGRES)"
            );
        }
        println!(
            "\ncivmap-store: {n} problems; {WRITERS} concurrent writers for {secs} s per run; \
             {} cores; load average {}",
            std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get),
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
        );
        println!(
            "{:<9} {:>10} {:>9} {:>7} {:>13} {:>9} {:>9} {:>15} {:>9} {:>18}",
            "backend",
            "import/s",
            "imp CPU s",
            "open s",
            "load s (med)",
            "load CPU",
            "group/s",
            "tx-per-write/s",
            "NORMAL/s",
            "raw 1 fsync/row/s"
        );
        let opt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
        for r in rows {
            let load = format!("{:.3} ({:.3})", r.load.0, r.load_median);
            println!(
                "{:<9} {:>10.0} {:>9.2} {:>7.3} {:>13} {:>9.2} {:>9.0} {:>15.0} {:>9} {:>18}",
                r.backend,
                n as f64 / r.import.0,
                r.import.1,
                r.open.0,
                load,
                r.load.1,
                r.group,
                r.single,
                opt(r.normal),
                opt(r.raw)
            );
        }
    });
}
