//! Follow latency: a problem written through replica A, until replica B announces it on its
//! live feed, on one PostgreSQL database (two services in one process, each with its own store,
//! doorbell and follower). Writers spread over both replicas at a target rate; prints p50, p99
//! and the maximum. Needs `CIVMAP_TEST_POSTGRES`; creates and drops a database of its own.
//!
//! `CIVMAP_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test cargo bench -p civmap-app --bench follow`
//! (`FOLLOW_RATE` writes per second, default 500; `FOLLOW_SECONDS`, default 10).
// One measurement read top to bottom, whatever its length.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::too_many_lines
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use civmap_app::config::Config;
use civmap_app::problems::ReportDetails;
use civmap_app::{Actor, App};
use civmap_domain::{CategoryTable, NewProblem, ProblemId, Role, Severity, User, UserId};
use civmap_store::{Store, StoreOptions};
use sqlx::Connection as _;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn replica(url: &str) -> App {
    let store = Store::open(url, StoreOptions::default()).await.unwrap();
    let mut config = Config::default();
    config.workflow.escalation_check_s = 0;
    App::load(store, CategoryTable::builtin(), config)
        .await
        .unwrap()
}

fn main() {
    let Ok(base) = std::env::var("CIVMAP_TEST_POSTGRES") else {
        println!("SKIPPED: follow latency (set CIVMAP_TEST_POSTGRES)");
        return;
    };
    let rate = env_u64("FOLLOW_RATE", 500);
    let seconds = env_u64("FOLLOW_SECONDS", 10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let name = format!("civmap_bench_follow_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let (head, _) = base.rsplit_once('/').unwrap();
        let url = format!("{head}/{name}");
        let a = replica(&url).await;
        let b = replica(&url).await;
        let worker = User {
            id: UserId::new(),
            name: "bench".into(),
            display_name: "bench".into(),
            role: Role::Reporter,
            street: None,
            password_hash: String::new(),
            disabled: false,
            created_at: Utc::now(),
        };
        a.store().create_user(&worker).await.unwrap();
        let actor = Actor {
            user: Some(worker.id),
            role: Role::Reporter,
            authenticated: true,
            ip: None,
            token: None,
        };
        // When each problem was acknowledged by its writer, and where it must show up.
        let written: Arc<Mutex<HashMap<ProblemId, (Instant, bool)>>> = Arc::default();
        let mut seen: Vec<Duration> = Vec::new();
        let mut feeds = [a.subscribe(), b.subscribe()];
        let total = rate * seconds;
        let every = Duration::from_secs_f64(1.0 / rate as f64);
        let writers = {
            let (a, b, written, actor) = (a.clone(), b.clone(), written.clone(), actor.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                let mut tasks = Vec::new();
                for i in 0..total {
                    tick.tick().await;
                    let on_a = i % 2 == 0;
                    let app = if on_a { a.clone() } else { b.clone() };
                    let (written, actor) = (written.clone(), actor.clone());
                    tasks.push(tokio::spawn(async move {
                        let p = app
                            .create(
                                NewProblem {
                                    lon: 121.5 + (i % 100) as f64 * 1e-4,
                                    lat: 31.28 + (i / 100 % 100) as f64 * 1e-4,
                                    category: "garbage".into(),
                                    severity: Severity::Medium,
                                    description: format!("bench {i}"),
                                },
                                &actor,
                                ReportDetails::via("bench"),
                            )
                            .await
                            .unwrap();
                        written.lock().unwrap().insert(p.id, (Instant::now(), on_a));
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            })
        };
        // The other replica's feed: A's writes on B's feed, B's on A's.
        let mut pending: HashMap<(ProblemId, usize), Instant> = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(seconds + 60);
        while seen.len() < usize::try_from(total).unwrap() && Instant::now() < deadline {
            for (k, feed) in feeds.iter_mut().enumerate() {
                while let Ok(c) = feed.try_recv() {
                    pending.entry((c.id, k)).or_insert_with(Instant::now);
                }
            }
            {
                let mut w = written.lock().unwrap();
                pending.retain(|(id, k), at| {
                    let Some((acked, on_a)) = w.get(id).copied() else {
                        return true;
                    };
                    // Only the feed of the replica that did not write it counts.
                    let other = usize::from(on_a);
                    if *k == other {
                        seen.push(at.saturating_duration_since(acked));
                        w.remove(id);
                    }
                    false
                });
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        writers.await.unwrap();
        seen.sort();
        let q = |f: f64| seen[((seen.len() as f64 - 1.0) * f) as usize];
        println!(
            "follow latency over {} writes at {rate}/s on two replicas: p50 {:?}, p99 {:?}, max {:?}",
            seen.len(),
            q(0.5),
            q(0.99),
            seen.last().unwrap()
        );
        drop((a, b));
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
    });
}
