//! Outside clients against `/ogc` on a real socket: `OWSLib` (Python) reads the landing page with
//! the trailing slash it always adds, finds the API definition, the conformance classes, the
//! collections and the items. Skips loudly without python3/pip.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::{python, setup};
use serde_json::Value;

#[tokio::test]
async fn trailing_slash_paths_reach_the_landing_page_and_collections() {
    let t = setup().await;
    for (path, to) in [
        ("/ogc/", "/ogc"),
        ("/ogc/collections/", "/ogc/collections"),
        ("/ogc/?f=json", "/ogc?f=json"),
    ] {
        let r = t.get(path).await;
        assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT, "{path}");
        assert_eq!(r.headers["location"], to, "{path}");
        assert_eq!(t.get(to).await.status, StatusCode::OK, "{to}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owslib_reads_the_api_definition_collections_and_items() {
    if !python::module("owslib", "OWSLib") {
        return;
    }
    let t = setup().await;
    for i in 0..3 {
        t.report(121.49 + f64::from(i) * 0.001, 31.27, "garbage")
            .await;
    }
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
    let url = format!("http://{addr}/ogc");
    let out = tokio::task::spawn_blocking(move || python::run("owslib_features.py", &[&url]))
        .await
        .unwrap();
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        v["api_openapi"].as_str().unwrap().starts_with("3.0."),
        "{v}"
    );
    assert!(v["api_paths"].as_u64().unwrap() > 20, "{v}");
    let classes: BTreeSet<&str> = v["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(classes.contains("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"));
    assert_eq!(
        v["collections"],
        serde_json::json!(["problems", "zones", "pois"])
    );
    assert_eq!(v["items_type"], "FeatureCollection");
    assert_eq!(v["items_returned"], 3);
    assert_eq!(v["first_category"], "garbage");
}
