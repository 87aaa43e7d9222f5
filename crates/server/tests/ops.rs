//! Operations: health, readiness, metrics, the OpenAPI document and API page, and `serve` on a
//! real socket with graceful shutdown.
#![allow(clippy::unwrap_used)]

use crate::common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{OFFICE_TOKEN, setup};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn health_readiness_and_metrics() {
    let t = setup().await;
    let h = t.get("/healthz").await;
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.json()["status"], "ok");
    t.report(121.5, 31.28, "garbage").await;
    t.get("/api/v1/problems/00000000-0000-0000-0000-000000000000")
        .await;
    let r = t.get("/readyz").await.json();
    assert_eq!(r["status"], "ready");
    assert_eq!(r["backend"], "sqlite");
    assert_eq!(r["problems"], 1);
    let m = t.get("/metrics").await;
    assert!(m.content_type().starts_with("text/plain; version=0.0.4"));
    let m = m.text();
    for needle in [
        "civmap_http_requests_total{route=\"/api/v1/problems\",method=\"POST\",status=\"201\"} 1",
        "civmap_http_requests_total{route=\"/api/v1/problems/{id}\",method=\"GET\",status=\"404\"} 1",
        "civmap_http_request_duration_seconds_count{route=\"/readyz\"} 1",
        "civmap_index_problems 1",
        "civmap_store_writes_total",
        "civmap_store_write_queue_depth 0",
        "civmap_ready 1",
        // Where the writer's time goes: the fsync (COMMIT), queue wait, batch sizes.
        "# TYPE civmap_store_commit_seconds histogram",
        "civmap_store_commit_seconds_bucket{le=\"+Inf\"}",
        "# TYPE civmap_store_queue_wait_seconds histogram",
        "# TYPE civmap_store_batch_statements_seconds histogram",
        "# TYPE civmap_store_commit_hook_seconds histogram",
        "# TYPE civmap_store_write_seconds histogram",
        "civmap_store_batch_writes_bucket{le=\"1\"}",
    ] {
        assert!(m.contains(needle), "metrics lack {needle}:\n{m}");
    }
    // Route templates, never raw ids, label the series.
    assert!(!m.contains("00000000-0000"));
    // Every write the report made was timed: as many writes as the writes counter says.
    let value = |name: &str| -> f64 {
        m.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name}:\n{m}"))
    };
    assert!(value("civmap_store_write_seconds_count") >= value("civmap_store_writes_total"));
    assert!(value("civmap_store_commit_seconds_count") >= 1.0);
    assert!(value("civmap_store_commit_seconds_sum") > 0.0);
}

/// A value for a path parameter, so every documented path can be called.
fn fill(path: &str) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    path.replace("{collectionId}", "problems")
        .replace("{featureId}", &id)
        .replace("{file}", "x.json")
        .replace("{code}", "garbage")
        .replace("{id}", &id)
        .replace("{user}", &id)
}

#[tokio::test]
async fn the_document_describes_exactly_the_routes() {
    let t = setup().await;
    let doc = t.get("/api/v1/openapi.json").await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 35, "{} paths", paths.len());
    let mut calls = 0;
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            if item[method]["responses"]["200"]["content"]
                .get("text/event-stream")
                .is_some()
            {
                // An event stream never ends: its status is all there is to check.
                let status = t.status_only(m, &fill(path), OFFICE_TOKEN).await;
                assert_eq!(status, StatusCode::OK, "{method} {path}");
                calls += 1;
                continue;
            }
            let auth = format!("Bearer {OFFICE_TOKEN}");
            let r = t
                .call(m, &fill(path), &[("authorization", &auth)], Body::empty())
                .await;
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !r.text().contains("no route"),
                "{method} {path} is documented but not routed"
            );
            calls += 1;
        }
    }
    assert!(calls >= 45, "{calls}");
    // Every lifecycle step is its own documented endpoint.
    for step in [
        "dispatch", "escalate", "rectify", "reject", "verify", "recur", "merge",
    ] {
        assert!(
            paths.contains_key(&format!("/api/v1/problems/{{id}}/{step}")),
            "{step}"
        );
    }
    // Schemas referenced by the problem endpoints exist.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in [
        "ProblemFeature",
        "ProblemProperties",
        "ErrorBody",
        "TransitionBody",
        "CreateProblem",
    ] {
        assert!(schemas.contains_key(s), "schema {s}");
    }
    let html = t.get("/api/docs").await;
    assert!(html.content_type().starts_with("text/html"));
    let html = html.text();
    assert!(html.contains("/api/v1/problems/{id}/dispatch"));
    assert!(html.contains("id=\"schema-ProblemFeature\""));
    assert!(
        !html.contains("<script") && !html.contains("src=\"http"),
        "nothing external"
    );
}

/// Sends one HTTP/1.1 request over a fresh connection and returns (status, body).
async fn http(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAuthorization: Bearer {OFFICE_TOKEN}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |x| x.1).to_owned();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_a_real_socket_and_shut_down_without_losing_acknowledged_writes() {
    let t = setup().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(civmap_server::serve(
        listener,
        t.state.clone(),
        async move {
            let _ = stop_rx.await;
        },
    ));
    let (status, body) = http(addr, "GET", "/healthz", "").await;
    assert_eq!((status, body.contains("ok")), (200, true));
    // A write storm from 16 clients; stop while it runs.
    let mut clients = Vec::new();
    for c in 0..16 {
        clients.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..20 {
                let body = format!(r#"{{"lon":121.5,"lat":31.28,"category":"garbage","description":"client {c} #{i}"}}"#);
                let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
                    break;
                };
                let req = format!(
                    "POST /api/v1/problems HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer {OFFICE_TOKEN}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                if s.write_all(req.as_bytes()).await.is_err() {
                    break;
                }
                let mut out = Vec::new();
                if s.read_to_end(&mut out).await.is_err() {
                    break;
                }
                let text = String::from_utf8_lossy(&out).into_owned();
                if text.starts_with("HTTP/1.1 201") {
                    let json = text.split_once("\r\n\r\n").unwrap().1;
                    let v: Value = serde_json::from_str(json).unwrap();
                    acked.push(v["id"].as_str().unwrap().to_owned());
                }
            }
            acked
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    stop_tx.send(()).unwrap();
    let mut acked = Vec::new();
    for c in clients {
        acked.extend(c.await.unwrap());
    }
    server.await.unwrap().unwrap();
    assert!(!acked.is_empty());
    // Reopen the database: every acknowledged report is there.
    let db = t.dir.path().join("civmap.db");
    let store = civmap_store::Store::open(
        &format!("sqlite://{}", db.display()),
        civmap_store::StoreOptions::default(),
    )
    .await
    .unwrap();
    let stored: std::collections::BTreeSet<String> = store
        .load_problems()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id.to_string())
        .collect();
    for id in &acked {
        assert!(stored.contains(id), "acknowledged {id} was lost");
    }
    // After shutdown nothing listens any more.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// Every kind of answer carries the security headers: the API (ok and error), the HTML pages,
/// the metrics, and a 404 of the fallback.
#[tokio::test]
async fn security_headers_on_every_kind_of_answer() {
    let t = setup().await;
    for uri in [
        "/api/v1/problems",
        "/api/v1/problems/not-a-uuid",
        "/api/docs",
        "/metrics",
        "/ogc",
        "/no/such/page",
    ] {
        let r = t.get(uri).await;
        let h = |name: &str| {
            r.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{uri} ({}): no {name}", r.status))
                .to_owned()
        };
        let csp = h("content-security-policy");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "worker-src 'self' blob:",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{uri}: {csp}");
        }
        // No source that would let an injected script run.
        assert!(!csp.contains("unsafe-eval"), "{uri}: {csp}");
        assert!(
            !csp.split(';')
                .any(|d| d.trim().starts_with("script-src") && d.contains("unsafe-inline")),
            "{uri}: {csp}"
        );
        assert_eq!(h("x-frame-options"), "DENY", "{uri}");
        assert_eq!(h("x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(
            h("referrer-policy"),
            "strict-origin-when-cross-origin",
            "{uri}"
        );
        assert!(
            h("permissions-policy").contains("geolocation=(self)"),
            "{uri}"
        );
    }
}
