//! A PostgreSQL database that refuses connections (SQLSTATE 55000 "object not in prerequisite
//! state": `ALTER DATABASE … ALLOW_CONNECTIONS false`, or a database being dropped) or that is
//! gone (dropped) under a running server: every answer that needs the database is a 503 with
//! `Retry-After` in the common error shape, never a 500, and `/readyz` names the cause.
//!
//! Needs `CIVMAP_TEST_POSTGRES` (`postgres://postgres@127.0.0.1:5432/test`); without it the
//! test says SKIPPED and passes. It creates a database of its own and drops it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::Utc;
use civmap_app::App;
use civmap_app::config::{ApiToken, Config};
use civmap_domain::{CategoryTable, Role, User, UserId};
use civmap_store::{Store, StoreOptions};
use http_body_util::BodyExt as _;
use rand::Rng as _;
use serde_json::{Value, json};
use sqlx::Connection as _;
use tower::ServiceExt as _;

const TOKEN: &str = "db-refuses-office-token-0001";

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

async fn call(router: &Router, method: Method, uri: &str, body: Option<&Value>) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"));
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let resp = router
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

/// A 503 in the common error shape with `Retry-After`, whose message contains `cause`.
fn assert_unavailable(r: &Resp, what: &str, cause: &str) {
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {}",
        r.json
    );
    assert_eq!(r.json["error"]["code"], "unavailable", "{what}: {}", r.json);
    assert_eq!(r.json["error"]["status"], 503, "{what}");
    assert!(
        r.headers.get("retry-after").is_some(),
        "{what}: no Retry-After"
    );
    let message = r.json["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(cause),
        "{what}: {message:?} lacks {cause:?}"
    );
    assert!(
        !message.contains("127.0.0.1") && !message.contains("postgres@"),
        "{what}: the message names the host or user: {message}"
    );
}

async fn admin(base: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(base).await.unwrap()
}

async fn exec(base: &str, sql: &str) {
    let mut c = admin(base).await;
    sqlx::query(sql).execute(&mut c).await.unwrap();
}

/// Ends every session of database `name` (the server's pooled connections among them).
async fn terminate_backends(base: &str, name: &str) {
    exec(
        base,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_refuses_connections_or_is_gone_is_503_not_500() {
    let Ok(base) = std::env::var("CIVMAP_TEST_POSTGRES") else {
        eprintln!("SKIPPED: PostgreSQL tests (set CIVMAP_TEST_POSTGRES)");
        return;
    };
    let name = format!("civmap_refuses_{:016x}", rand::rng().random::<u64>());
    exec(&base, &format!("CREATE DATABASE {name}")).await;
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{name}");
    let tmp = tempfile::tempdir().unwrap();

    let store = Store::open(
        &url,
        StoreOptions {
            photo_dir: tmp.path().join("photos"),
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
    let state = App::load(store.clone(), CategoryTable::builtin(), config)
        .await
        .unwrap();
    let router = civmap_server::app(state);
    let report =
        json!({"lon": 121.495, "lat": 31.283, "category": "garbage", "description": "楼道堆物"});

    let r = call(&router, Method::GET, "/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let r = call(&router, Method::POST, "/api/v1/problems", Some(&report)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);

    // The database stops accepting connections, and the server's are ended: every new one is
    // refused with SQLSTATE 55000.
    exec(
        &base,
        &format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"),
    )
    .await;
    terminate_backends(&base, &name).await;
    let r = call(&router, Method::GET, "/readyz", None).await;
    assert_unavailable(
        &r,
        "readyz, connections refused",
        "not currently accepting connections",
    );
    let r = call(&router, Method::POST, "/api/v1/problems", Some(&report)).await;
    assert_unavailable(&r, "a report, connections refused", "unavailable");

    // Allowed again: the same process serves again, without a restart.
    exec(
        &base,
        &format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"),
    )
    .await;
    let r = call(&router, Method::GET, "/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);

    // Dropped under the server: gone, and still a 503 naming it.
    exec(&base, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
    let r = call(&router, Method::GET, "/readyz", None).await;
    assert_unavailable(&r, "readyz, database dropped", "does not exist");
    let r = call(&router, Method::POST, "/api/v1/problems", Some(&report)).await;
    assert_unavailable(&r, "a report, database dropped", "unavailable");
    store.close().await;
}
