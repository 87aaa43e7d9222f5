//! A server for load tests: fills a SQLite database with N synthetic problems over a
//! Shanghai-sized area (once), loads it, prints the memory used, and serves on 127.0.0.1.
//!
//! ```text
//! cargo run --release -p civmap-server --example loadserve -- \
//!     --db /tmp/civmap-load.db --problems 1000000 --ids /tmp/civmap-ids.txt [--port 0] [--sync normal]
//! ```
//! Prints `listening on http://127.0.0.1:PORT` when ready. Used by `bench/load.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;

use chrono::Utc;
use civmap_app::App as AppState;
use civmap_app::config::{ApiToken, Config};
use civmap_domain::{CategoryTable, NewProblem, Role, Severity, Status};
use civmap_store::{Store, StoreOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The bearer token the load scripts use for writes.
const TOKEN: &str = "load-test-token-0123456789";

/// Area of the synthetic problems: about 47 km × 50 km around central Shanghai.
const AREA: [f64; 4] = [121.22, 31.0, 121.72, 31.45];

fn arg(name: &str) -> Option<String> {
    let mut it = std::env::args();
    while let Some(a) = it.next() {
        if a == name {
            return it.next();
        }
    }
    None
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let db = arg("--db").unwrap_or_else(|| "/tmp/civmap-load.db".into());
    let n: usize = arg("--problems").map_or(100_000, |s| s.parse().unwrap());
    let ids_path = arg("--ids").unwrap_or_else(|| "/tmp/civmap-ids.txt".into());
    let port: u16 = arg("--port").map_or(0, |s| s.parse().unwrap());
    let sync_full = arg("--sync").is_none_or(|s| s != "normal");
    let store = Store::open(
        &format!("sqlite://{db}"),
        StoreOptions {
            synchronous_full: sync_full,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let table = CategoryTable::builtin();
    let have = store.stats().await.problems as usize;
    if have < n {
        let t0 = std::time::Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(2024);
        let codes: Vec<String> = table.iter().map(|(_, c)| c.code.clone()).collect();
        let mut made = have;
        while made < n {
            let chunk = (n - made).min(50_000);
            let mut items = Vec::with_capacity(chunk);
            for i in 0..chunk {
                let mut p = NewProblem {
                    lon: rng.random_range(AREA[0]..AREA[2]),
                    lat: rng.random_range(AREA[1]..AREA[3]),
                    category: codes[rng.random_range(0..codes.len())].clone(),
                    severity: Severity::ALL[rng.random_range(0..4)],
                    description: "楼道堆物，影响消防通道".into(),
                }
                .validate(&table, None, Utc::now())
                .unwrap();
                p.status = Status::ALL[rng.random_range(0..Status::ALL.len())];
                items.push((p, format!("load-{}", made + i)));
            }
            store.import_problems(items, "loadtest").await.unwrap();
            made += chunk;
        }
        eprintln!(
            "seeded {} problems in {:.1} s",
            n - have,
            t0.elapsed().as_secs_f64()
        );
    }
    let rss_before = status_kb("VmRSS:");
    let config = Config {
        api_tokens: vec![ApiToken {
            token: TOKEN.into(),
            role: Role::StreetOffice,
            user: None,
            name: "load".into(),
        }],
        ..Config::default()
    };
    let t0 = std::time::Instant::now();
    let state = AppState::load(store.clone(), table, config).await.unwrap();
    let load_s = t0.elapsed().as_secs_f64();
    // Give freed start-up buffers back before measuring.
    let rss = status_kb("VmRSS:");
    eprintln!(
        "loaded {} problems in {load_s:.2} s; RSS {} MB (before load {} MB, peak {} MB)",
        state.sizes().problems,
        rss / 1024,
        rss_before / 1024,
        status_kb("VmHWM:") / 1024
    );
    {
        let g = state.problems();
        let mut f = std::io::BufWriter::new(std::fs::File::create(&ids_path).unwrap());
        let step = (g.map.len() / 10_000).max(1);
        for id in g.map.keys().step_by(step) {
            writeln!(f, "{id}").unwrap();
        }
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    println!("listening on http://{}", listener.local_addr().unwrap());
    civmap_server::serve(listener, state, civmap_server::shutdown_signal())
        .await
        .unwrap();
    eprintln!("peak RSS {} MB", status_kb("VmHWM:") / 1024);
}
