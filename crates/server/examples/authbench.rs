//! What accounts cost: Argon2id hashing and sign-in, the per-request session lookup, and zone
//! scoping of list queries, in process (no network), on one thread.
//!
//! ```text
//! cargo run --release -p civmap-server --example authbench -- [--problems 100000] [--requests 2000]
//! ```
//! Prints medians of wall time per operation and the process CPU time of each block.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use civmap_app::App as AppState;
use civmap_app::config::{ApiToken, Config};
use civmap_domain::{
    CategoryTable, NewProblem, Role, Severity, Status, User, UserId, Zone, ZoneId, ZoneKind,
};
use civmap_store::{Store, StoreOptions};
use http_body_util::BodyExt as _;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tower::ServiceExt as _;

const STATIC: &str = "bench-static-token-0123456789";
/// The street: 5 km × 5 km around Siping Road, cut into 100 m grid cells.
const AREA: [f64; 4] = [121.475, 31.265, 121.527, 31.310];
const CELLS: usize = 50;

fn arg(name: &str) -> Option<String> {
    let mut it = std::env::args();
    while let Some(a) = it.next() {
        if a == name {
            return it.next();
        }
    }
    None
}

/// User + system CPU time of this process.
fn cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit(')').next().unwrap_or_default();
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> geo_types::MultiPolygon<f64> {
    geo_types::MultiPolygon(vec![geo_types::Rect::new((x0, y0), (x1, y1)).to_polygon()])
}

async fn call(app: &axum::Router, req: Request<Body>) -> StatusCode {
    let r = app.clone().oneshot(req).await.unwrap();
    let s = r.status();
    let _ = r.into_body().collect().await.unwrap();
    s
}

fn get(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::builder().uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::empty()).unwrap()
}

/// Runs `f` `n` times; prints the median wall time and the CPU time per call.
async fn measure<F, Fut>(label: &str, n: usize, mut f: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let c0 = cpu();
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        f(i).await;
        times.push(t.elapsed());
    }
    let cpu_per = cpu().saturating_sub(c0) / u32::try_from(n).unwrap();
    println!(
        "{label:<58} median {:>9.1} µs   cpu/op {:>9.1} µs   (n={n})",
        median(times).as_secs_f64() * 1e6,
        cpu_per.as_secs_f64() * 1e6
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = arg("--problems").map_or(100_000, |s| s.parse().unwrap());
    let reqs: usize = arg("--requests").map_or(2000, |s| s.parse().unwrap());
    let dir = std::env::temp_dir().join(format!("civmap-authbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(
        &format!("sqlite://{}", dir.join("b.db").display()),
        StoreOptions {
            synchronous_full: false,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let table = CategoryTable::builtin();
    let road = Zone {
        id: ZoneId::new(),
        kind: ZoneKind::Road,
        name: "四平路".into(),
        poi_kind: None,
        poi: None,
        code: None,
        geometry: rect(121.495, 31.2875, 121.5055, 31.2880),
        external_id: None,
    };
    store.upsert_zone(&road).await.unwrap();
    let mut tokens = Vec::new();
    let mut chief = None;
    for (name, role, street) in [
        ("admin", Role::Admin, None),
        ("luzhang", Role::RoadChief, None),
        ("jiedao", Role::StreetOffice, Some("310110009")),
    ] {
        let u = User {
            id: UserId::new(),
            name: name.into(),
            display_name: name.into(),
            role,
            street: street.map(str::to_owned),
            password_hash: civmap_app::accounts::passwords::hash_password("bench password")
                .unwrap(),
            disabled: false,
            created_at: Utc::now(),
        };
        store.create_user(&u).await.unwrap();
        if role == Role::RoadChief {
            store.assign(road.id, u.id).await.unwrap();
            chief = Some(u.id);
        }
        tokens.push(
            civmap_app::accounts::sessions::issue_api_token(&store, u.id, 1)
                .await
                .unwrap()
                .0,
        );
    }
    // Problems; one in a hundred dispatched to the road-chief through its zone, so its scope
    // holds problems by position and by dispatch.
    let codes: Vec<String> = table.iter().map(|(_, c)| c.code.clone()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        let mut p = NewProblem {
            lon: rng.random_range(AREA[0]..AREA[2]),
            lat: rng.random_range(AREA[1]..AREA[3]),
            category: codes[rng.random_range(0..codes.len())].clone(),
            severity: Severity::Medium,
            description: "bench".into(),
        }
        .validate(&table, None, Utc::now())
        .unwrap();
        if i % 100 == 0 {
            p.status = Status::Dispatched;
            p.assignee = chief;
            p.zone = Some(road.id);
        }
        items.push((p, format!("b{i}")));
    }
    store.import_problems(items, "bench").await.unwrap();
    // The street's grid, coded with the street.
    let (dx, dy) = (
        (AREA[2] - AREA[0]) / CELLS as f64,
        (AREA[3] - AREA[1]) / CELLS as f64,
    );
    for r in 0..CELLS {
        for c in 0..CELLS {
            let x = AREA[0] + c as f64 * dx;
            let y = AREA[1] + r as f64 * dy;
            store
                .upsert_zone(&Zone {
                    id: ZoneId::new(),
                    kind: ZoneKind::GridCell,
                    name: format!("R{r}C{c}"),
                    poi_kind: None,
                    poi: None,
                    code: Some(format!("310110009-R{:03}C{:03}", r + 1, c + 1)),
                    geometry: rect(x, y, x + dx, y + dy),
                    external_id: None,
                })
                .await
                .unwrap();
        }
    }
    let config = Config {
        api_tokens: vec![ApiToken {
            token: STATIC.into(),
            role: Role::Admin,
            user: None,
            name: "bench".into(),
        }],
        auth: civmap_app::config::AuthConfig {
            login_per_minute: 100_000,
            ..Default::default()
        },
        ..Config::default()
    };
    let state = AppState::load(store.clone(), table, config).await.unwrap();
    let app = civmap_server::app(state.clone());
    let ids: Vec<String> = state
        .problems()
        .map
        .keys()
        .step_by((n / 1000).max(1))
        .map(ToString::to_string)
        .collect();
    println!(
        "{n} problems, {} zones; machine shared and noisy: compare rows, not runs",
        CELLS * CELLS + 1
    );

    // Passwords.
    measure("argon2id hash (19 MiB, t=2, p=1)", 10, |_| async {
        std::hint::black_box(
            civmap_app::accounts::passwords::hash_password("correct horse battery").unwrap(),
        );
    })
    .await;
    let phc = civmap_app::accounts::passwords::hash_password("correct horse battery").unwrap();
    measure("argon2id verify", 10, |_| {
        let phc = phc.clone();
        async move {
            assert!(civmap_app::accounts::passwords::verify_password(
                &phc,
                "correct horse battery"
            ));
        }
    })
    .await;
    let login = || {
        Request::builder()
            .method("POST")
            .uri("/api/v1/login")
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"name":"admin","password":"bench password"}"#,
            ))
            .unwrap()
    };
    measure("POST /api/v1/login (verify + session row)", 10, |_| {
        let app = app.clone();
        async move {
            assert_eq!(call(&app, login()).await, StatusCode::OK);
        }
    })
    .await;
    let r = app.clone().oneshot(login()).await.unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    // The same read with each kind of credential: the difference is the authentication.
    let bearer = |t: &str| format!("Bearer {t}");
    let cases: [(&str, Vec<(&str, String)>); 4] = [
        ("GET /problems/{id}  anonymous", vec![]),
        (
            "GET /problems/{id}  static config token",
            vec![("authorization", bearer(STATIC))],
        ),
        (
            "GET /problems/{id}  account token (2 SQLite reads)",
            vec![("authorization", bearer(&tokens[0]))],
        ),
        (
            "GET /problems/{id}  session cookie (2 SQLite reads)",
            vec![("cookie", cookie.clone())],
        ),
    ];
    for (label, h) in &cases {
        measure(label, reqs, |i| {
            let app = app.clone();
            let uri = format!("/api/v1/problems/{}", ids[i % ids.len()]);
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let req = get(&uri, &h);
            async move {
                assert_eq!(call(&app, req).await, StatusCode::OK);
            }
        })
        .await;
    }

    // Scoped lists: a page of 100, and a small box, by scope.
    for (label, tk) in [
        ("admin (everything)", &tokens[0]),
        ("road-chief (1 zone + dispatched to it)", &tokens[1]),
        ("street office (2,500 grid cells)", &tokens[2]),
    ] {
        for uri in [
            "/api/v1/problems?limit=100",
            "/api/v1/problems?limit=100&bbox=121.49,31.28,121.51,31.29",
        ] {
            let what = if uri.contains("bbox") {
                "bbox page"
            } else {
                "first page"
            };
            measure(
                &format!("list {what:<10} {label}"),
                (reqs / 10).max(20),
                |_| {
                    let app = app.clone();
                    let req = get(uri, &[("authorization", &bearer(tk))]);
                    async move {
                        assert_eq!(call(&app, req).await, StatusCode::OK);
                    }
                },
            )
            .await;
        }
    }
    // Cold: every write makes the next scoped list compute its scope's ids again.
    let post = |i: usize| {
        Request::builder()
            .method("POST")
            .uri("/api/v1/problems")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {STATIC}"))
            .body(Body::from(format!(
                r#"{{"lon": {}, "lat": 31.28, "category": "garbage"}}"#,
                121.48 + (i % 100) as f64 * 0.0004
            )))
            .unwrap()
    };
    let cold = (reqs / 20).max(10);
    measure("POST /api/v1/problems (the write alone)", cold, |i| {
        let app = app.clone();
        async move {
            assert_eq!(call(&app, post(i)).await, StatusCode::CREATED);
        }
    })
    .await;
    for (label, tk) in [
        ("admin (everything)", &tokens[0]),
        ("road-chief", &tokens[1]),
        ("street office (2,500 cells)", &tokens[2]),
    ] {
        measure(
            &format!("POST, then list first page cold: {label}"),
            cold,
            |i| {
                let app = app.clone();
                let req = get(
                    "/api/v1/problems?limit=100",
                    &[("authorization", &bearer(tk))],
                );
                async move {
                    assert_eq!(call(&app, post(i)).await, StatusCode::CREATED);
                    assert_eq!(call(&app, req).await, StatusCode::OK);
                }
            },
        )
        .await;
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
