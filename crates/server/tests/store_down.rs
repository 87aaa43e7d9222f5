//! The server over a real store that goes away while serving, and the in-memory index against the
//! database after a random workload — on SQLite always, on PostgreSQL when
//! `CIVMAP_TEST_POSTGRES` names a server (`postgres://postgres@127.0.0.1:5432/test`; each test
//! creates a database of its own and drops it).
//!
//! A lost database answers 503 with the JSON error body and `Retry-After`, and the same process
//! serves again when it is back, without a restart: SQLite by its data directory moved away and
//! back (an unmounted disk), PostgreSQL through a TCP relay the test cuts and restores.

// Scenario tests read best top to bottom, whatever their length.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    clippy::missing_panics_doc
)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::Utc;
use civmap_app::App as AppState;
use civmap_app::config::{ApiToken, Config};
use civmap_domain::{CategoryTable, ProblemId, Role, User, UserId};
use civmap_store::{Store, StoreOptions};
use civmap_testkit::Relay;
use http_body_util::BodyExt as _;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};
use sqlx::Connection as _;
use tower::ServiceExt as _;

const TOKEN: &str = "store-down-office-token-0001";

// ---- a database of either backend, and a way to lose it --------------------------------------

/// Where the test database lives and how the test takes it away.
enum Place {
    /// The SQLite file is `dir/civmap.db`; losing it moves `dir` to `away`.
    Sqlite { dir: PathBuf, away: PathBuf },
    /// The store reaches PostgreSQL through `relay` only.
    Pg {
        relay: Relay,
        /// `(server URL given by the environment, database created for the test)`.
        created: (String, String),
    },
}

struct Db {
    url: String,
    place: Place,
    tmp: tempfile::TempDir,
}

impl Db {
    fn sqlite() -> Db {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        Db {
            url: format!("sqlite://{}", dir.join("civmap.db").display()),
            place: Place::Sqlite {
                away: tmp.path().join("data.unmounted"),
                dir,
            },
            tmp,
        }
    }

    /// A new PostgreSQL database behind a relay, or `None` (with a loud line) without a server.
    async fn postgres() -> Option<Db> {
        let Ok(base) = std::env::var("CIVMAP_TEST_POSTGRES") else {
            eprintln!("SKIPPED: PostgreSQL tests (set CIVMAP_TEST_POSTGRES)");
            return None;
        };
        let name = format!("civmap_down_{:016x}", rand::rng().random::<u64>());
        let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let rest = base.strip_prefix("postgres://").unwrap();
        let (user, rest) = rest.split_once('@').unwrap();
        let (hostport, _) = rest.split_once('/').unwrap();
        let relay = Relay::start(hostport.to_owned(), 0).await;
        Some(Db {
            url: format!("postgres://{user}@127.0.0.1:{}/{name}", relay.port),
            place: Place::Pg {
                relay,
                created: (base, name),
            },
            tmp: tempfile::tempdir().unwrap(),
        })
    }

    /// The database goes away under the running server.
    fn lose(&self) {
        match &self.place {
            Place::Sqlite { dir, away } => std::fs::rename(dir, away).unwrap(),
            Place::Pg { relay, .. } => relay.cut(),
        }
    }

    /// It comes back where it was.
    async fn bring_back(&mut self) {
        match &mut self.place {
            Place::Sqlite { dir, away } => std::fs::rename(away, dir).unwrap(),
            Place::Pg { relay, .. } => {
                *relay = Relay::start(relay.target.clone(), relay.port).await;
            }
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Place::Pg {
            relay,
            created: (base, name),
        } = &self.place
        {
            relay.cut();
            let (base, name) = (base.clone(), name.clone());
            // Drop runs inside the test's runtime: use a thread with a runtime of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&base).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

// ---- the application over it -----------------------------------------------------------------

struct App {
    router: Router,
    state: AppState,
    store: Store,
    /// An API token of the office's account (a session row, checked from memory).
    account_token: String,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

impl App {
    async fn over(db: &Db) -> App {
        let store = Store::open(
            &db.url,
            StoreOptions {
                photo_dir: db.tmp.path().join("photos"),
                ..StoreOptions::default()
            },
        )
        .await
        .unwrap();
        let office = User {
            id: UserId::new(),
            name: "office".into(),
            display_name: "街道办".into(),
            role: Role::StreetOffice,
            street: None,
            password_hash: String::new(),
            disabled: false,
            created_at: Utc::now(),
        };
        store.create_user(&office).await.unwrap();
        let config = Config {
            api_tokens: vec![ApiToken {
                token: TOKEN.into(),
                role: Role::StreetOffice,
                user: Some(office.id),
                name: "office".into(),
            }],
            ..Config::default()
        };
        let state = AppState::load(store.clone(), CategoryTable::builtin(), config)
            .await
            .unwrap();
        let (account_token, _) =
            civmap_app::accounts::sessions::issue_api_token(&store, office.id, 30)
                .await
                .unwrap();
        App {
            router: civmap_server::app(state.clone()),
            state,
            store,
            account_token,
        }
    }

    /// A second replica on the same PostgreSQL database, reaching it directly (not through
    /// the relay the first one uses), acting with the same static token.
    async fn beside(db: &Db) -> App {
        let Place::Pg {
            created: (base, name),
            ..
        } = &db.place
        else {
            panic!("a second replica needs PostgreSQL");
        };
        let (head, _) = base.rsplit_once('/').unwrap();
        let store = Store::open(
            &format!("{head}/{name}"),
            StoreOptions {
                photo_dir: db.tmp.path().join("photos"),
                ..StoreOptions::default()
            },
        )
        .await
        .unwrap();
        let office = store.user_by_name("office").await.unwrap().unwrap();
        let config = Config {
            api_tokens: vec![ApiToken {
                token: TOKEN.into(),
                role: Role::StreetOffice,
                user: Some(office.id),
                name: "office".into(),
            }],
            ..Config::default()
        };
        let state = AppState::load(store.clone(), CategoryTable::builtin(), config)
            .await
            .unwrap();
        let (account_token, _) =
            civmap_app::accounts::sessions::issue_api_token(&store, office.id, 30)
                .await
                .unwrap();
        App {
            router: civmap_server::app(state.clone()),
            state,
            store,
            account_token,
        }
    }

    async fn call(&self, method: Method, uri: &str, body: Option<&Value>) -> Resp {
        self.call_as(TOKEN, method, uri, body).await
    }

    async fn call_as(&self, token: &str, method: Method, uri: &str, body: Option<&Value>) -> Resp {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{status}: not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        Resp {
            status,
            headers,
            json,
        }
    }

    async fn report(&self, i: u32) -> Resp {
        let body = json!({
            "lon": 121.49 + f64::from(i % 50) * 1e-4,
            "lat": 31.28 + f64::from(i % 37) * 1e-4,
            "category": "garbage",
            "description": format!("楼道堆物 #{i}"),
        });
        self.call(Method::POST, "/api/v1/problems", Some(&body))
            .await
    }

    async fn edit(&self, id: &str, version: i64, description: &str) -> Resp {
        let body = json!({"version": version, "description": description});
        self.call(
            Method::PATCH,
            &format!("/api/v1/problems/{id}"),
            Some(&body),
        )
        .await
    }

    /// Every problem the list endpoint (answered from memory) gives, as id -> version.
    async fn listed(&self) -> HashMap<String, i64> {
        let mut out = HashMap::new();
        let mut uri = "/api/v1/problems?limit=1000".to_owned();
        loop {
            let page = self.call(Method::GET, &uri, None).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.json);
            for f in page.json["features"].as_array().unwrap() {
                let id = f["id"].as_str().unwrap().to_owned();
                let v = f["properties"]["version"].as_i64().unwrap();
                assert!(out.insert(id, v).is_none(), "an id listed twice");
            }
            match page.json["next"].as_str() {
                Some(c) => uri = format!("/api/v1/problems?limit=1000&cursor={c}"),
                None => return out,
            }
        }
    }

    /// The in-memory map, the spatial index and the list endpoint all hold exactly what the
    /// database holds.
    async fn assert_memory_equals_database(&self) -> usize {
        let stored = self.store.load_problems().await.unwrap();
        let want: HashMap<String, i64> = stored
            .iter()
            .map(|p| (p.id.to_string(), p.version))
            .collect();
        assert_eq!(
            self.listed().await,
            want,
            "the list (from memory) and the database disagree"
        );
        let mem = self.state.problems();
        assert_eq!(mem.map.len(), stored.len());
        assert_eq!(mem.index.len(), stored.len());
        for p in &stored {
            let r = mem
                .index
                .get(p.id)
                .unwrap_or_else(|| panic!("{} is not in the index", p.id));
            assert_eq!(r.position, p.location, "{}", p.id);
            assert_eq!(r.status, p.status, "{}", p.id);
            assert_eq!(r.severity, p.severity, "{}", p.id);
            assert_eq!(r.reported_ms, p.reported_at.timestamp_millis(), "{}", p.id);
        }
        stored.len()
    }
}

/// Asserts the 503 of a lost database: the JSON error body and `Retry-After`.
fn assert_unavailable(r: &Resp, what: &str) {
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {}",
        r.json
    );
    let e = &r.json["error"];
    assert_eq!(e["code"], "unavailable", "{what}: {}", r.json);
    assert_eq!(e["status"], 503, "{what}: {}", r.json);
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {}",
        r.json
    );
    assert!(
        r.headers.get("retry-after").is_some(),
        "{what}: no Retry-After"
    );
}

// ---- a lost database -------------------------------------------------------------------------

/// Bounded, so that a hang fails the test instead of stalling it (the store gives up on a lost
/// PostgreSQL within about 3 s).
async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(25), f)
        .await
        .expect("a request hung while the database was gone")
}

async fn lost_database_answers_503_and_recovers(mut db: Db) {
    let app = App::over(&db).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = app.report(i).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
        ids.push(r.json["id"].as_str().unwrap().to_owned());
    }
    let r = app.call(Method::GET, "/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);

    db.lose();

    // Writes, and reads that need the database, answer 503 (bounded: never a hang).
    let r = within(app.report(100)).await;
    assert_unavailable(&r, "report");
    let r = within(app.edit(&ids[0], 1, "改了")).await;
    assert_unavailable(&r, "edit");
    let history = format!("/api/v1/problems/{}/history", ids[1]);
    let r = within(app.call(Method::GET, &history, None)).await;
    assert_unavailable(&r, "history");
    let r = within(app.call(Method::GET, "/readyz", None)).await;
    assert_unavailable(&r, "readyz");
    // What memory can answer is still answered, and nothing refused reached it.
    let r = app
        .call(Method::GET, &format!("/api/v1/problems/{}", ids[0]), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["properties"]["version"], 1);
    assert_eq!(app.state.sizes().problems, 5);
    // A signed-in account keeps reading: its token is checked from memory, not the database.
    let r = within(app.call_as(
        &app.account_token,
        Method::GET,
        &format!("/api/v1/problems/{}", ids[2]),
        None,
    ))
    .await;
    assert_eq!(r.status, StatusCode::OK, "account token read: {}", r.json);
    let r = within(app.call_as(&app.account_token, Method::GET, "/api/v1/me", None)).await;
    assert_eq!(r.status, StatusCode::OK, "who am I: {}", r.json);
    assert_eq!(r.json["name"], "office", "{}", r.json);
    // Its writes still answer 503.
    let body = json!({"lon": 121.49, "lat": 31.28, "category": "garbage"});
    let r = within(app.call_as(
        &app.account_token,
        Method::POST,
        "/api/v1/problems",
        Some(&body),
    ))
    .await;
    assert_unavailable(&r, "report with an account token");

    db.bring_back().await;

    // The same process serves again, without a restart.
    let mut ready = false;
    for _ in 0..80 {
        if app.call(Method::GET, "/readyz", None).await.status == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(ready, "/readyz never recovered");
    let r = app.report(101).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    // The refused edit left no trace: version 1 is still the current one.
    let r = app.edit(&ids[0], 1, "改了").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["properties"]["version"], 2);
    let r = app
        .call(
            Method::GET,
            &format!("/api/v1/problems/{}/history", ids[0]),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["events"].as_array().unwrap().len(), 2);

    assert_eq!(app.assert_memory_equals_database().await, 6);
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_sqlite_answers_503_and_recovers_without_restart() {
    lost_database_answers_503_and_recovers(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_postgres_answers_503_and_recovers_without_restart() {
    if let Some(db) = Db::postgres().await {
        lost_database_answers_503_and_recovers(db).await;
    }
}

// ---- memory against the database after a random workload ------------------------------------

async fn memory_equals_database_after_random_workload(db: Db) {
    let app = Arc::new(App::over(&db).await);
    let seed: u64 = rand::rng().random();
    eprintln!("random workload seed {seed}");
    let mut tasks = Vec::new();
    for task in 0..6u64 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ task);
            let mut mine: Vec<(String, i64)> = Vec::new();
            let (mut conflicts, mut writes) = (0, 0);
            for i in 0..40u32 {
                let roll: f64 = rng.random();
                if mine.is_empty() || roll < 0.4 {
                    let r = app.report(u32::try_from(task).unwrap() * 1000 + i).await;
                    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
                    mine.push((r.json["id"].as_str().unwrap().to_owned(), 1));
                    writes += 1;
                    continue;
                }
                let k = rng.random_range(0..mine.len());
                let (id, version) = mine[k].clone();
                // Sometimes a version one behind (another client was faster): refused.
                let stale = version > 1 && rng.random_bool(0.2);
                let sent = if stale { version - 1 } else { version };
                let r = app
                    .edit(&id, sent, &format!("第{i}次修改 {}", rng.random::<u16>()))
                    .await;
                if stale {
                    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.json);
                    assert_eq!(r.json["error"]["current_version"], version);
                    conflicts += 1;
                } else {
                    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
                    let v = r.json["properties"]["version"].as_i64().unwrap();
                    assert_eq!(v, version + 1);
                    mine[k].1 = v;
                    writes += 1;
                }
            }
            (mine, writes, conflicts)
        }));
    }
    let mut want: HashMap<String, i64> = HashMap::new();
    for t in tasks {
        let (mine, _, _) = t.await.unwrap();
        want.extend(mine);
    }
    assert_eq!(app.listed().await, want, "acknowledged versions");
    let n = app.assert_memory_equals_database().await;
    assert_eq!(n, want.len());
    // Every problem's ledger is as long as its version: one event per acknowledged change.
    for (id, version) in want.iter().take(20) {
        let events = app
            .store
            .events_for(ProblemId(id.parse::<uuid::Uuid>().unwrap()))
            .await
            .unwrap();
        assert_eq!(events.len() as i64, *version, "{id}");
    }
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_memory_equals_database_after_random_workload() {
    memory_equals_database_after_random_workload(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_memory_equals_database_after_random_workload() {
    if let Some(db) = Db::postgres().await {
        memory_equals_database_after_random_workload(db).await;
    }
}

// ---- a replica cut off from PostgreSQL catches up -------------------------------------------

/// Two replicas on one PostgreSQL database, B through a relay the test cuts. A random workload
/// on both; B is cut off while A goes on writing (new reports, and edits of B's problems); when
/// B reaches the database again it catches up by itself with nothing skipped: both replicas'
/// memory equals the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_cut_off_from_postgres_catches_up_on_reconnect() {
    let Some(mut db) = Db::postgres().await else {
        return;
    };
    let b = App::over(&db).await;
    let a = App::beside(&db).await;
    let seed: u64 = rand::rng().random();
    eprintln!("random workload seed {seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut versions: HashMap<String, i64> = HashMap::new();
    let step = |versions: &mut HashMap<String, i64>, r: &Resp| {
        let id = r.json["id"].as_str().unwrap().to_owned();
        versions.insert(id, r.json["properties"]["version"].as_i64().unwrap());
    };
    for i in 0..30u32 {
        let on = if rng.random_bool(0.5) { &a } else { &b };
        let r = on.report(i).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
        step(&mut versions, &r);
    }
    // While connected, each sees the other's writes.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while a.listed().await != versions || b.listed().await != versions {
        assert!(
            std::time::Instant::now() < deadline,
            "the replicas did not converge"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    db.lose();
    let mut ids: Vec<String> = versions.keys().cloned().collect();
    ids.sort();
    for i in 0..40u32 {
        if rng.random_bool(0.5) {
            let r = a.report(100 + i).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
            step(&mut versions, &r);
        } else {
            let id = &ids[rng.random_range(0..ids.len())];
            let r = a.edit(id, versions[id], &format!("断开时修改 {i}")).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.json);
            step(&mut versions, &r);
        }
    }
    // B, cut off, still answers what it had.
    assert_eq!(b.listed().await.len(), 30);
    db.bring_back().await;

    let deadline = std::time::Instant::now() + Duration::from_mins(1);
    while b.listed().await != versions {
        assert!(
            std::time::Instant::now() < deadline,
            "B did not catch up after the reconnect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(a.listed().await, versions);
    assert_eq!(b.assert_memory_equals_database().await, versions.len());
    assert_eq!(a.assert_memory_equals_database().await, versions.len());
    let status = b.state.follow_status().await;
    assert_eq!(status.lag_events, 0, "{status:?}");
    assert!(status.heads_fresh);
    a.store.close().await;
    b.store.close().await;
}
