//! `/api/v1/problems`: create, read, list with filters against a brute-force oracle, cursor
//! pagination, every lifecycle step (409 included), history and edits.
#![allow(clippy::too_many_lines, clippy::unwrap_used, clippy::float_cmp)]

use crate::common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::{CHIEF_TOKEN, OFFICE_TOKEN, OTHER_OFFICE_TOKEN, enc, setup};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

const CATEGORIES: [&str; 4] = ["garbage", "illegal_parking", "ad_posters", "street_vending"];

/// Every longitude in a GeoJSON coordinates array, however deeply nested.
fn lons(v: &Value, out: &mut Vec<f64>) {
    match v.as_array() {
        Some(a) if a.first().is_some_and(Value::is_number) => out.push(a[0].as_f64().unwrap()),
        Some(a) => a.iter().for_each(|x| lons(x, out)),
        None => {}
    }
}

#[tokio::test]
async fn create_then_read_round_trips() {
    let t = setup().await;
    let f = t.report(121.4971, 31.2854, "garbage").await;
    assert_eq!(f["type"], "Feature");
    assert_eq!(f["geometry"]["type"], "Point");
    assert_eq!(f["geometry"]["coordinates"], json!([121.4971, 31.2854]));
    let p = &f["properties"];
    assert_eq!(p["status"], "reported");
    assert_eq!(p["version"], 1);
    assert_eq!(p["category_name"], "垃圾");
    assert_eq!(p["reporter"], t.office.to_string());
    let id = f["id"].as_str().unwrap();
    let r = t.get(&format!("/api/v1/problems/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "application/geo+json");
    let g = r.json();
    assert_eq!(g["geometry"], f["geometry"]);
    assert_eq!(g["properties"]["reported_at"], p["reported_at"]);
    assert!(
        g["properties"].get("reporter").is_none(),
        "anonymous readers see no personal data"
    );
    // The store holds exactly what memory holds.
    let stored = t
        .store
        .get_problem(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.location.to_array(), [121.4971, 31.2854]);
    assert_eq!(
        t.state.problem(stored.id).unwrap(),
        stored,
        "memory equals the database"
    );
}

#[tokio::test]
async fn anonymous_reports_are_allowed_and_stored() {
    let t = setup().await;
    let r = t
        .send_json(
            Method::POST,
            "/api/v1/problems",
            "",
            &json!({"lon": 121.5, "lat": 31.28, "category": "misparked_bikes", "severity": "high"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let f = r.json();
    assert_eq!(f["properties"]["severity"], "high");
    let loc = r.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(
        loc,
        format!("/api/v1/problems/{}", f["id"].as_str().unwrap())
    );
    let h = t.get(&format!("{loc}/history")).await.json();
    assert_eq!(h["events"][0]["kind"], "created");
    assert_eq!(h["events"][0]["actor"], Value::Null);
}

/// A seeded set of problems over a few km² of Yangpu, with random categories and statuses.
async fn populate(t: &common::TestApp, n: usize, seed: u64) -> Vec<Value> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for _ in 0..n {
        let lon = 121.48 + rng.random::<f64>() * 0.04;
        let lat = 31.27 + rng.random::<f64>() * 0.03;
        let cat = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
        let mut f = t.report(lon, lat, cat).await;
        if rng.random_bool(0.4) {
            let id = f["id"].as_str().unwrap().to_owned();
            let r = t
                .step(&id, "dispatch", OFFICE_TOKEN, &json!({"version": 1}))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            f = r.json();
        }
        out.push(f);
    }
    out
}

fn ids(fc: &Value) -> Vec<String> {
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Walks every page with the `next` cursor; returns all ids in order.
async fn walk(t: &common::TestApp, query: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let uri = match &cursor {
            Some(c) => format!("/api/v1/problems?{query}&cursor={}", enc(c)),
            None => format!("/api/v1/problems?{query}"),
        };
        let r = t.get_as(&uri, OFFICE_TOKEN).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
        let fc = r.json();
        assert_eq!(fc["type"], "FeatureCollection");
        assert_eq!(
            fc["numberReturned"].as_u64().unwrap() as usize,
            fc["features"].as_array().unwrap().len()
        );
        all.extend(ids(&fc));
        match fc["next"].as_str() {
            Some(c) => {
                let link = fc["links"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|l| l["rel"] == "next")
                    .unwrap();
                assert!(link["href"].as_str().unwrap().contains("cursor="));
                cursor = Some(c.to_owned());
            }
            None => return all,
        }
    }
    panic!("pagination does not end");
}

#[tokio::test]
async fn filters_match_a_brute_force_oracle_and_cursor_walks_are_exact() {
    let t = setup().await;
    let features = populate(&t, 120, 7).await;
    let lonlat = |f: &Value| {
        let c = &f["geometry"]["coordinates"];
        (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    // No filter: every problem exactly once, in id order, over pages of 7.
    let all = walk(&t, "limit=7").await;
    assert_eq!(all.len(), 120);
    assert_eq!(all, sorted(all.clone()), "ordered by id");
    assert_eq!(
        all.iter().collect::<BTreeSet<_>>().len(),
        120,
        "no duplicates"
    );

    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for round in 0..12 {
        let (a, b) = (
            121.48 + rng.random::<f64>() * 0.04,
            121.48 + rng.random::<f64>() * 0.04,
        );
        let (c, d) = (
            31.27 + rng.random::<f64>() * 0.03,
            31.27 + rng.random::<f64>() * 0.03,
        );
        let (w, e, s, n) = (a.min(b), a.max(b), c.min(d), c.max(d));
        let cat = CATEGORIES[round % CATEGORIES.len()];
        let status = if round % 2 == 0 { "reported" } else { "open" };
        let q = format!("bbox={w},{s},{e},{n}&category={cat},garbage&status={status}&limit=5");
        let got = walk(&t, &q).await;
        let want: Vec<String> = sorted(
            features
                .iter()
                .filter(|f| {
                    let (x, y) = lonlat(f);
                    let p = &f["properties"];
                    let st = p["status"].as_str().unwrap();
                    (w..=e).contains(&x)
                        && (s..=n).contains(&y)
                        && (p["category"] == cat || p["category"] == "garbage")
                        && (status == "open" || st == status)
                })
                .map(|f| f["id"].as_str().unwrap().to_owned())
                .collect(),
        );
        assert_eq!(got, want, "round {round}: {q}");
    }
    // Radius: haversine on the mean Earth radius, as the index documents.
    let (cx, cy) = (121.50_f64, 31.285_f64);
    let got = walk(&t, &format!("radius={cx},{cy},900&limit=50")).await;
    let hav = |(x, y): (f64, f64)| {
        let r = 6_371_008.8_f64;
        let (p1, p2) = (cy.to_radians(), y.to_radians());
        let dp = p2 - p1;
        let dl = (x - cx).to_radians();
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * r * h.sqrt().asin()
    };
    let want = sorted(
        features
            .iter()
            .filter(|f| hav(lonlat(f)) <= 900.0)
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect(),
    );
    assert!(!want.is_empty());
    assert_eq!(got, want, "radius");
    // A polygon with a hole, as WKT and as GeoJSON: the same answer, and it matches the oracle
    // (a box minus an inner box).
    let outer = (121.485, 31.275, 121.515, 31.295);
    let hole = (121.495, 31.28, 121.505, 31.29);
    let wkt = format!(
        "POLYGON(({a} {b},{c} {b},{c} {d},{a} {d},{a} {b}),({e} {f},{e} {h},{g} {h},{g} {f},{e} {f}))",
        a = outer.0,
        b = outer.1,
        c = outer.2,
        d = outer.3,
        e = hole.0,
        f = hole.1,
        g = hole.2,
        h = hole.3
    );
    let gj = json!({"type": "Polygon", "coordinates": [
        [[outer.0, outer.1], [outer.2, outer.1], [outer.2, outer.3], [outer.0, outer.3], [outer.0, outer.1]],
        [[hole.0, hole.1], [hole.0, hole.3], [hole.2, hole.3], [hole.2, hole.1], [hole.0, hole.1]],
    ]});
    let by_wkt = walk(&t, &format!("polygon={}&limit=1000", enc(&wkt))).await;
    let by_gj = walk(&t, &format!("polygon={}&limit=1000", enc(&gj.to_string()))).await;
    let inside = |(x, y): (f64, f64), r: (f64, f64, f64, f64)| {
        (r.0..=r.2).contains(&x) && (r.1..=r.3).contains(&y)
    };
    let want = sorted(
        features
            .iter()
            .filter(|f| {
                let p = lonlat(f);
                inside(p, outer) && !(p.0 > hole.0 && p.0 < hole.2 && p.1 > hole.1 && p.1 < hole.3)
            })
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect(),
    );
    assert_eq!(by_wkt, want, "polygon with a hole");
    assert_eq!(by_gj, want);
    // Property selection keeps the features and drops the other properties.
    let lean = t
        .get_as(
            "/api/v1/problems?limit=3&properties=category,status",
            OFFICE_TOKEN,
        )
        .await
        .json();
    assert_eq!(
        lean["features"][0]["properties"].as_object().unwrap().len(),
        2
    );
    assert_eq!(ids(&lean), all[..3]);
    // Severity and time filters.
    let none = walk(&t, "severity_min=high").await;
    assert!(none.is_empty(), "every test report is medium");
    let all_medium = walk(&t, "severity_min=medium&limit=1000").await;
    assert_eq!(all_medium.len(), 120);
    let future = walk(&t, "from=2999-01-01").await;
    assert!(future.is_empty());
    let first = features[0]["properties"]["reported_at"].as_str().unwrap();
    let upto_first = walk(&t, &format!("to={}", enc(first))).await;
    assert!(
        upto_first.contains(&features[0]["id"].as_str().unwrap().to_owned()),
        "`to` is inclusive"
    );
}

#[tokio::test]
async fn zone_filter_and_zone_problems() {
    let t = setup().await;
    let inside = t.report(121.50, 31.28, "garbage").await;
    let _outside = t.report(121.52, 31.30, "garbage").await;
    let zone = json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[121.49, 31.27], [121.51, 31.27], [121.51, 31.29], [121.49, 31.29], [121.49, 31.27]]]},
        "properties": {"kind": "area", "name": "测试片区"}});
    let r = t
        .send_json(Method::POST, "/api/v1/zones", OFFICE_TOKEN, &zone)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let zid = r.json()["id"].as_str().unwrap().to_owned();
    let got = ids(&t.get(&format!("/api/v1/problems?zone={zid}")).await.json());
    assert_eq!(got, vec![inside["id"].as_str().unwrap().to_owned()]);
    let got2 = ids(&t.get(&format!("/api/v1/zones/{zid}/problems")).await.json());
    assert_eq!(got, got2);
    let r = t
        .get(&format!("/api/v1/problems?zone={}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error().1.as_deref(), Some("zone"));
    // Dispatch without an assignee picks the zone containing the problem, and its chief.
    let r = t
        .send_json(
            Method::PUT,
            &format!("/api/v1/zones/{zid}/assignees/{}", t.chief),
            OFFICE_TOKEN,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let id = inside["id"].as_str().unwrap();
    let d = t
        .step(id, "dispatch", OFFICE_TOKEN, &json!({"version": 1}))
        .await
        .json();
    assert_eq!(d["properties"]["zone"], zid);
    assert_eq!(d["properties"]["assignee"], t.chief.to_string());
    assert!(d["properties"]["deadline"].is_string());
}

#[tokio::test]
async fn the_whole_lifecycle_with_conflicts() {
    let t = setup().await;
    let f = t.report(121.5, 31.28, "garbage").await;
    let id = f["id"].as_str().unwrap().to_owned();
    // Verify is not allowed from reported: 409 naming the allowed steps (a chief may fix a
    // reported problem on the spot, issue 15: rectify is one of them).
    let r = t
        .step(&id, "verify", OFFICE_TOKEN, &json!({"version": 1}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        msg.contains("allowed: dispatch, escalate, rectify, merge"),
        "{msg}"
    );
    // Dispatch with an explicit assignee and deadline.
    let deadline = (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339();
    let r = t
        .step(
            &id,
            "dispatch",
            OFFICE_TOKEN,
            &json!({"version": 1, "assignee": t.chief, "deadline": deadline, "note": "请今天处理"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["properties"]["version"], 2);
    // A stale version is a 409 that names the current version.
    let r = t
        .step(&id, "rectify", CHIEF_TOKEN, &json!({"version": 1}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["error"]["current_version"], 2);
    // Fields a step does not use are refused.
    let r = t
        .step(
            &id,
            "rectify",
            CHIEF_TOKEN,
            &json!({"version": 2, "into": id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error().1.as_deref(), Some("into"));
    // The chief rectifies with an after photo; the chief may not verify (role), a rejection
    // needs a reason.
    let photo = t.upload_photo(CHIEF_TOKEN, 7).await;
    let r = t
        .step(
            &id,
            "rectify",
            CHIEF_TOKEN,
            &json!({"version": 2, "note": "已清理", "photos": [photo]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = t
        .step(&id, "verify", CHIEF_TOKEN, &json!({"version": 3}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .step(&id, "reject", OFFICE_TOKEN, &json!({"version": 3}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = t
        .step(
            &id,
            "reject",
            OFFICE_TOKEN,
            &json!({"version": 3, "note": "没有清理干净"}),
        )
        .await;
    assert_eq!(r.json()["properties"]["rework_count"], 1);
    assert_eq!(r.json()["properties"]["status"], "dispatched");
    // Rectified by the office this time: the same user may not verify it, another may.
    let r = t
        .step(
            &id,
            "rectify",
            OFFICE_TOKEN,
            &json!({"version": 4, "note": "街道派人清理", "photos": [photo]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t
        .step(&id, "verify", OFFICE_TOKEN, &json!({"version": 5}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the fixer may not verify");
    let r = t
        .step(&id, "verify", OTHER_OFFICE_TOKEN, &json!({"version": 5}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["properties"]["status"], "closed");
    assert_eq!(r.json()["properties"]["open"], false);
    // Recurrence, escalation, then a duplicate merged into another problem.
    let r = t
        .step(&id, "recur", CHIEF_TOKEN, &json!({"version": 6}))
        .await;
    assert_eq!(r.json()["properties"]["status"], "recurred");
    let r = t
        .step(&id, "escalate", CHIEF_TOKEN, &json!({"version": 7}))
        .await;
    assert_eq!(r.json()["properties"]["status"], "escalated");
    let other = t.report(121.5001, 31.2801, "garbage").await;
    let oid = other["id"].as_str().unwrap();
    let r = t
        .step(
            &id,
            "merge",
            OFFICE_TOKEN,
            &json!({"version": 8, "into": id}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not into itself"
    );
    let r = t
        .step(
            &id,
            "merge",
            OFFICE_TOKEN,
            &json!({"version": 8, "into": oid}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["properties"]["merged_into"], oid);
    let r = t
        .step(&id, "dispatch", OFFICE_TOKEN, &json!({"version": 9}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("final"), "{}", r.text());
    // History: every step, in order, from the event log.
    let h = t
        .get_as(&format!("/api/v1/problems/{id}/history"), OFFICE_TOKEN)
        .await
        .json();
    let kinds: Vec<&str> = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "dispatched",
            "rectified",
            "rejected",
            "rectified",
            "verified",
            "recurred",
            "escalated",
            "merged"
        ]
    );
    assert_eq!(h["events"][1]["data"]["assignee"], t.chief.to_string());
    assert_eq!(h["events"][3]["note"], "没有清理干净");
    assert_eq!(h["events"][2]["actor"], t.chief.to_string());
    let public = t
        .get(&format!("/api/v1/problems/{id}/history"))
        .await
        .json();
    assert_eq!(
        public["events"][2]["actor"],
        Value::Null,
        "no personal data for the public"
    );
    assert!(public["events"][1]["data"].get("assignee").is_none());
}

#[tokio::test]
async fn concurrent_steps_on_one_version_let_exactly_one_win() {
    let t = setup().await;
    let f = t.report(121.5, 31.28, "garbage").await;
    let id = f["id"].as_str().unwrap().to_owned();
    let mut handles = Vec::new();
    for _ in 0..8 {
        let app = t.app.clone();
        let id = id.clone();
        handles.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let req = axum::http::Request::post(format!("/api/v1/problems/{id}/escalate"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {OFFICE_TOKEN}"))
                .body(axum::body::Body::from(r#"{"version":1}"#))
                .unwrap();
            app.oneshot(req).await.unwrap().status()
        }));
    }
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 1);
    let h = t
        .get(&format!("/api/v1/problems/{id}/history"))
        .await
        .json();
    assert_eq!(
        h["events"].as_array().unwrap().len(),
        2,
        "one created, one escalated"
    );
}

#[tokio::test]
async fn edits_are_recorded_and_versioned() {
    let t = setup().await;
    let f = t.report(121.5, 31.28, "garbage").await;
    let id = f["id"].as_str().unwrap().to_owned();
    let uri = format!("/api/v1/problems/{id}");
    let r = t
        .send_json(Method::PATCH, &uri, OFFICE_TOKEN, &json!({"version": 1, "category": "clutter", "severity": "high", "lon": 121.501, "lat": 31.281}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["properties"]["category"], "clutter");
    assert_eq!(v["properties"]["version"], 2);
    assert_eq!(v["geometry"]["coordinates"], json!([121.501, 31.281]));
    // The index moved it: the old box no longer finds it, the new one does.
    let old = ids(&t
        .get("/api/v1/problems?bbox=121.4999,31.2799,121.5001,31.2801")
        .await
        .json());
    assert!(old.is_empty());
    let new = ids(&t
        .get("/api/v1/problems?bbox=121.5009,31.2809,121.5011,31.2811&category=clutter")
        .await
        .json());
    assert_eq!(new, vec![id.clone()]);
    let h = t.get(&format!("{uri}/history")).await.json();
    assert_eq!(h["events"][1]["kind"], "edited");
    assert_eq!(
        h["events"][1]["data"]["changed"]["category"]["from"],
        "garbage"
    );
    // Stale, empty and unauthorised edits.
    let r = t
        .send_json(
            Method::PATCH,
            &uri,
            OFFICE_TOKEN,
            &json!({"version": 1, "severity": "low"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = t
        .send_json(Method::PATCH, &uri, OFFICE_TOKEN, &json!({"version": 2}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = t
        .send_json(
            Method::PATCH,
            &uri,
            "",
            &json!({"version": 2, "severity": "low"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = t
        .send_json(
            Method::PATCH,
            &uri,
            CHIEF_TOKEN,
            &json!({"version": 2, "severity": "low"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn state_reloaded_from_the_store_equals_the_served_state() {
    use tower::ServiceExt;
    let t = setup().await;
    populate(&t, 40, 3).await;
    let before = walk(&t, "limit=1000").await;
    let reloaded = civmap_app::App::load(
        t.store.clone(),
        civmap_domain::CategoryTable::builtin(),
        t.state.config().clone(),
    )
    .await
    .unwrap();
    let app2 = civmap_server::app(reloaded);
    let req = axum::http::Request::get("/api/v1/problems?limit=1000")
        .header("authorization", format!("Bearer {OFFICE_TOKEN}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = app2.oneshot(req).await.unwrap();
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let fc: Value = serde_json::from_slice(&body).unwrap();
    let mine = t
        .get_as("/api/v1/problems?limit=1000", OFFICE_TOKEN)
        .await
        .json();
    assert_eq!(ids(&fc), before);
    // Every feature identical, except `overdue`, which depends on the clock.
    for (a, b) in fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .zip(mine["features"].as_array().unwrap())
    {
        let mut a = a.clone();
        let mut b = b.clone();
        a["properties"]["overdue"] = Value::Null;
        b["properties"]["overdue"] = Value::Null;
        assert_eq!(a, b);
    }
}

#[tokio::test]
async fn an_import_while_serving_reaches_the_index_through_the_commit_hook() {
    let t = setup().await;
    let table = civmap_domain::CategoryTable::builtin();
    let items: Vec<_> = (0..50)
        .map(|i| {
            let p = civmap_domain::NewProblem {
                lon: 121.5 + f64::from(i) * 1e-4,
                lat: 31.28,
                category: "zombie_car".into(),
                severity: civmap_domain::Severity::High,
                description: format!("imported {i}"),
            }
            .validate(&table, None, chrono::Utc::now())
            .unwrap();
            (p, format!("row-{i}"))
        })
        .collect();
    let out = t
        .store
        .import_problems(items.clone(), "test.csv")
        .await
        .unwrap();
    assert_eq!(out.inserted, 50);
    let got = walk(
        &t,
        "category=zombie_car&bbox=121.49,31.27,121.51,31.29&limit=20",
    )
    .await;
    let mut want: Vec<String> = items.iter().map(|(p, _)| p.id.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
    // Importing again changes nothing, in the store or in memory.
    let again = t.store.import_problems(items, "test.csv").await.unwrap();
    assert_eq!(again.inserted, 0);
    assert_eq!(t.state.sizes().problems, 50);
}

/// JSON is gzipped for clients that ask, and only for them; the body is the same document.
#[tokio::test]
async fn json_is_gzipped_when_asked() {
    use axum::body::Body;
    use std::io::Read as _;
    let t = setup().await;
    for i in 0..40 {
        t.report(121.50 + f64::from(i) * 1e-4, 31.28, "garbage")
            .await;
    }
    let uri = "/api/v1/problems?limit=100";
    let plain = t.get(uri).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.headers.get("content-encoding").is_none());
    let gz = t
        .call(
            Method::GET,
            uri,
            &[("accept-encoding", "gzip")],
            Body::empty(),
        )
        .await;
    assert_eq!(gz.status, StatusCode::OK);
    assert_eq!(gz.headers["content-encoding"], "gzip");
    assert!(
        gz.body.len() * 3 < plain.body.len(),
        "{} vs {}",
        gz.body.len(),
        plain.body.len()
    );
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz.body.as_slice())
        .read_to_end(&mut out)
        .unwrap();
    let a: Value = serde_json::from_slice(&out).unwrap();
    let b = plain.json();
    assert_eq!(a["features"], b["features"]);
    assert_eq!(a["features"].as_array().unwrap().len(), 40);
}

/// The coverage check finds the strip no chief covers and the strip two chiefs share.
#[tokio::test]
async fn coverage_lists_uncovered_parts_and_overlaps() {
    let t = setup().await;
    let rect = |x0: f64, x1: f64, kind: &str, name: &str| {
        json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[x0, 31.27], [x1, 31.27], [x1, 31.29], [x0, 31.29], [x0, 31.27]]]},
            "properties": {"kind": kind, "name": name}})
    };
    let mut ids = Vec::new();
    for z in [
        rect(121.49, 121.51, "area", "街道"),
        rect(121.49, 121.50, "area", "西片"),
        rect(121.499, 121.505, "area", "中片"),
    ] {
        let r = t
            .send_json(Method::POST, "/api/v1/zones", OFFICE_TOKEN, &z)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    // No grid cells yet: the default boundary is refused with the field named.
    let r = t.get_as("/api/v1/assignments/coverage", OFFICE_TOKEN).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.error().1.as_deref(), Some("boundary"));
    for (zone, user) in [(&ids[1], t.chief), (&ids[2], t.other_office)] {
        let r = t
            .send_json(
                Method::PUT,
                &format!("/api/v1/zones/{zone}/assignees/{user}"),
                OFFICE_TOKEN,
                &json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    }
    let uri = format!("/api/v1/assignments/coverage?boundary={}", ids[0]);
    let r = t.get_as(&uri, OFFICE_TOKEN).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    let total = v["boundary_m2"].as_f64().unwrap();
    // 0.02° × 0.02° at 31.28° N: ~1,902 m × 2,224 m.
    assert!((total / (1_902.0 * 2_224.0) - 1.0).abs() < 0.01, "{total}");
    let uncovered = v["uncovered_m2"].as_f64().unwrap();
    assert!(
        (uncovered / total - 0.25).abs() < 0.005,
        "{uncovered} of {total}"
    );
    assert!((v["covered_share"].as_f64().unwrap() - 0.75).abs() < 0.005);
    let f = v["features"].as_array().unwrap();
    assert_eq!(f.len(), 2, "{v}");
    assert_eq!(f[0]["properties"]["kind"], "uncovered");
    // The uncovered strip lies east of 121.505.
    let mut xs = Vec::new();
    lons(&f[0]["geometry"]["coordinates"], &mut xs);
    assert!(!xs.is_empty());
    assert!(xs.iter().all(|x| *x >= 121.505 - 1e-9), "{xs:?}");
    assert_eq!(f[1]["properties"]["kind"], "overlap");
    let overlap = f[1]["properties"]["area_m2"].as_f64().unwrap();
    assert!(
        (overlap / total - 0.05).abs() < 0.002,
        "{overlap} of {total}"
    );
    let names: BTreeSet<&str> = ["chief_a", "chief_b"]
        .iter()
        .map(|k| f[1]["properties"][k]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["chief", "office2"]));
    // A larger threshold hides the overlap.
    let r = t
        .get_as(&format!("{uri}&min_overlap_m2=1000000"), OFFICE_TOKEN)
        .await;
    assert_eq!(r.json()["features"].as_array().unwrap().len(), 1);
    // Who may ask, and bad input.
    assert_eq!(t.get(&uri).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        t.get_as(&uri, CHIEF_TOKEN).await.status,
        StatusCode::FORBIDDEN
    );
    for (q, status, field) in [
        ("boundary=nope", StatusCode::BAD_REQUEST, Some("boundary")),
        (
            &*format!("boundary={}", uuid::Uuid::now_v7()),
            StatusCode::NOT_FOUND,
            None,
        ),
        (
            &*format!("boundary={}&min_overlap_m2=-1", ids[0]),
            StatusCode::BAD_REQUEST,
            Some("min_overlap_m2"),
        ),
    ] {
        let r = t
            .get_as(&format!("/api/v1/assignments/coverage?{q}"), OFFICE_TOKEN)
            .await;
        assert_eq!(r.status, status, "{q}: {}", r.text());
        if field.is_some() {
            assert_eq!(r.error().1.as_deref(), field, "{q}");
        }
    }
}
