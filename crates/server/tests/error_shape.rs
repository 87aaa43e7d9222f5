//! Every error on `/api/v1` in the JSON error shape, also those the router and hyper produce:
//! undecodable path segments and URIs too long to read; long polygons in a POST body.
#![allow(clippy::unwrap_used)]

use crate::common;

use axum::http::{Method, StatusCode};
use common::{OFFICE_TOKEN, enc, setup};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn undecodable_path_segments_are_json_400s() {
    let t = setup().await;
    let r = t.get_as("/api/v1/photos/%FF%FE", OFFICE_TOKEN).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(
        r.content_type().starts_with("application/json"),
        "{:?}",
        r.headers
    );
    assert_eq!(r.error().0, "bad_request");
    let r = t
        .send_json(
            Method::PUT,
            "/api/v1/categories/%FF%FE",
            OFFICE_TOKEN,
            &json!({"code": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(
        r.content_type().starts_with("application/json"),
        "{:?}",
        r.headers
    );
    assert_eq!(r.error().0, "bad_request");
}

/// A closed ring of `n` vertices around (121.5, 31.28), `r` degrees wide.
fn ring(n: usize, r: f64) -> Vec<[f64; 2]> {
    let mut v: Vec<[f64; 2]> = (0..n - 1)
        .map(|i| {
            #[allow(clippy::cast_precision_loss)]
            let a = std::f64::consts::TAU * i as f64 / (n - 1) as f64;
            [121.5 + r * a.cos(), 31.28 + r * a.sin()]
        })
        .collect();
    v.push(v[0]);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_uri_is_a_json_414() {
    let t = setup().await;
    let polygon = json!({"type": "Polygon", "coordinates": [ring(3000, 0.01)]}).to_string();
    let path = format!("/api/v1/problems?polygon={}", enc(&polygon));
    assert!(path.len() > 65_535, "{}", path.len());
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
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 414"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["error"]["status"], 414, "{v}");
    assert_eq!(v["error"]["code"], "uri_too_long", "{v}");
    // A normal request on a new connection is answered as before.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_polygon_of_thousands_of_vertices_is_sent_in_a_search_body() {
    let t = setup().await;
    let inside = t.report(121.5, 31.28, "garbage").await;
    t.report(121.6, 31.28, "garbage").await;
    let polygon = json!({"type": "Polygon", "coordinates": [ring(3000, 0.01)]});
    let r = t
        .send_json(
            Method::POST,
            "/api/v1/problems/search",
            OFFICE_TOKEN,
            &json!({"polygon": polygon, "limit": 10}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    let ids: Vec<&Value> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["id"])
        .collect();
    assert_eq!(ids, [&inside["id"]]);
    // The polygon as text (WKT or GeoJSON) works too; errors name the field.
    let r = t
        .send_json(
            Method::POST,
            "/api/v1/problems/search",
            OFFICE_TOKEN,
            &json!({"polygon": "POINT(1 2)"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.error().1.as_deref(), Some("polygon"));
}
