//! `Idempotency-Key` on the writes, sent as the field app sends them: a signed-in browser (cookie
//! session and CSRF header) repeats a report after a lost answer, sends it twice at once, reuses a
//! key for another body, repeats a rectification; keys of two people do not collide. The store
//! holds one problem per key.
#![allow(clippy::unwrap_used)]

use crate::common;

use axum::http::{Method, StatusCode};
use civmap_domain::Role;
use common::{Resp, Session, TestApp, password_session, setup_with, tiny_jpeg};
use serde_json::{Value, json};

const PASSWORD: &str = "离线-civmap-2026";

async fn sign_in(t: &TestApp, name: &str, role: Role) -> Session {
    password_session(t, name, name, role, PASSWORD).await.1
}

async fn post(t: &TestApp, s: &Session, uri: &str, key: &str, body: &Value) -> Resp {
    t.call(
        Method::POST,
        uri,
        &[
            ("content-type", "application/json"),
            ("cookie", &s.cookie),
            ("x-csrf-token", &s.csrf),
            ("idempotency-key", key),
        ],
        body.to_string(),
    )
    .await
}

fn report(description: &str) -> Value {
    json!({"lon": 121.5, "lat": 31.28, "category": "garbage", "description": description})
}

async fn problems_in_store(t: &TestApp, description: &str) -> usize {
    t.store
        .load_problems()
        .await
        .unwrap()
        .iter()
        .filter(|p| p.description == description)
        .count()
}

#[tokio::test]
async fn a_report_sent_again_with_its_key_is_answered_the_first_answer_and_stored_once() {
    let t = setup_with(|_| {}).await;
    let worker = sign_in(&t, "wangge", Role::Reporter).await;
    let key = "5b0f3c1e-8a2d-4f6b-9c7e-1d2a3b4c5d6e";
    let first = post(&t, &worker, "/api/v1/problems", key, &report("楼道堆物")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    assert!(!first.headers.contains_key("idempotent-replayed"));
    let again = post(&t, &worker, "/api/v1/problems", key, &report("楼道堆物")).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text());
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(
        again.json()["properties"]["case_no"],
        first.json()["properties"]["case_no"]
    );
    assert_eq!(problems_in_store(&t, "楼道堆物").await, 1);

    // The same key with another body: refused, naming the header; nothing stored.
    let other = post(&t, &worker, "/api/v1/problems", key, &report("另一个问题")).await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.text()
    );
    let (code, field) = other.error();
    assert_eq!(code, "idempotency_key_reused");
    assert_eq!(field.as_deref(), Some("Idempotency-Key"));
    assert!(
        other.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains(key)
    );
    assert_eq!(problems_in_store(&t, "另一个问题").await, 0);

    // A key over 255 characters is refused before anything is done.
    let long = "k".repeat(256);
    let r = post(&t, &worker, "/api/v1/problems", &long, &report("太长的键")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.error().1.as_deref(), Some("Idempotency-Key"));
    assert_eq!(problems_in_store(&t, "太长的键").await, 0);
}

#[tokio::test]
async fn the_same_key_sent_twice_at_once_makes_one_problem() {
    let t = setup_with(|_| {}).await;
    let worker = sign_in(&t, "wangge", Role::Reporter).await;
    for round in 0..5 {
        let key = format!("concurrent-{round}");
        let desc = format!("并发上报 {round}");
        let body = report(&desc);
        let (a, b) = tokio::join!(
            post(&t, &worker, "/api/v1/problems", &key, &body),
            post(&t, &worker, "/api/v1/problems", &key, &body),
        );
        for r in [&a, &b] {
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        }
        assert_eq!(
            a.json()["id"],
            b.json()["id"],
            "both sends name one problem"
        );
        let replayed = [&a, &b]
            .iter()
            .filter(|r| r.headers.contains_key("idempotent-replayed"))
            .count();
        assert_eq!(replayed, 1, "one send ran, the other got its answer");
        assert_eq!(problems_in_store(&t, &desc).await, 1);
    }
}

#[tokio::test]
async fn a_rectification_and_a_photo_sent_again_are_replayed_not_redone() {
    let t = setup_with(|c| c.workflow.rectify_needs_photo = false).await;
    let office = sign_in(&t, "jiedao", Role::StreetOffice).await;
    let created = post(
        &t,
        &office,
        "/api/v1/problems",
        "report-1",
        &report("占道经营"),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let version = created.json()["properties"]["version"].as_i64().unwrap();

    // The photo, uploaded twice with one key: one answer.
    let photo = |key: &'static str| {
        let (cookie, csrf) = (office.cookie.clone(), office.csrf.clone());
        let t = &t;
        async move {
            t.call(
                Method::POST,
                "/api/v1/photos",
                &[
                    ("content-type", "image/jpeg"),
                    ("cookie", &cookie),
                    ("x-csrf-token", &csrf),
                    ("idempotency-key", key),
                ],
                tiny_jpeg(7),
            )
            .await
        }
    };
    let p1 = photo("photo-1").await;
    assert_eq!(p1.status, StatusCode::CREATED, "{}", p1.text());
    let p2 = photo("photo-1").await;
    assert_eq!(p2.status, StatusCode::CREATED);
    assert_eq!(p2.headers["idempotent-replayed"], "true");
    assert_eq!(p1.json()["id"], p2.json()["id"]);

    let uri = format!("/api/v1/problems/{id}/rectify");
    let body = json!({"version": version, "note": "已清理", "photos": [p1.json()["id"]]});
    let first = post(&t, &office, &uri, "fix-1", &body).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(first.json()["properties"]["status"], "rectified");
    // Without the key, the same body is a stale version now (409): the key is what replays.
    let again = post(&t, &office, &uri, "fix-1", &body).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(
        again.json()["properties"]["version"],
        first.json()["properties"]["version"]
    );
    let history = t
        .call(
            Method::GET,
            &format!("/api/v1/problems/{id}/history"),
            &[("cookie", &office.cookie)],
            axum::body::Body::empty(),
        )
        .await;
    let rectified = history.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "rectified")
        .count();
    assert_eq!(rectified, 1, "{}", history.text());
    let unkeyed = t
        .call(
            Method::POST,
            &uri,
            &[
                ("content-type", "application/json"),
                ("cookie", &office.cookie),
                ("x-csrf-token", &office.csrf),
            ],
            body.to_string(),
        )
        .await;
    assert_eq!(unkeyed.status, StatusCode::CONFLICT, "{}", unkeyed.text());
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let t = setup_with(|_| {}).await;
    let a = sign_in(&t, "wangge-a", Role::Reporter).await;
    let b = sign_in(&t, "wangge-b", Role::Reporter).await;
    let ra = post(&t, &a, "/api/v1/problems", "same-key", &report("甲的上报")).await;
    let rb = post(&t, &b, "/api/v1/problems", "same-key", &report("乙的上报")).await;
    assert_eq!(ra.status, StatusCode::CREATED, "{}", ra.text());
    assert_eq!(rb.status, StatusCode::CREATED, "{}", rb.text());
    assert!(!rb.headers.contains_key("idempotent-replayed"));
    assert_ne!(ra.json()["id"], rb.json()["id"]);
    assert_eq!(problems_in_store(&t, "甲的上报").await, 1);
    assert_eq!(problems_in_store(&t, "乙的上报").await, 1);
}

#[tokio::test]
async fn a_refused_write_keeps_its_answer_and_a_report_keeps_its_capture() {
    let t = setup_with(|_| {}).await;
    let worker = sign_in(&t, "wangge", Role::Reporter).await;
    let future = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let body = json!({"lon": 121.5, "lat": 31.28, "category": "garbage", "captured_at": future});
    let r = post(&t, &worker, "/api/v1/problems", "capture-1", &body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.error().1.as_deref(), Some("captured_at"));
    let again = post(&t, &worker, "/api/v1/problems", "capture-1", &body).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.headers["idempotent-replayed"], "true");

    let far = json!({"lon": 121.5, "lat": 31.28, "category": "garbage", "accuracy_m": 20000});
    let r = post(&t, &worker, "/api/v1/problems", "capture-2", &far).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.error().1.as_deref(), Some("accuracy_m"));

    let taken = (chrono::Utc::now() - chrono::Duration::hours(3)).to_rfc3339();
    let ok = json!({"lon": 121.5, "lat": 31.28, "category": "garbage",
                    "description": "地下室漏水", "captured_at": taken, "accuracy_m": 35.26});
    let r = post(&t, &worker, "/api/v1/problems", "capture-3", &ok).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let received = chrono::DateTime::parse_from_rfc3339(
        r.json()["properties"]["reported_at"].as_str().unwrap(),
    )
    .unwrap();
    // The office reads both times in the history: the report's event carries the capture.
    let office = sign_in(&t, "jiedao", Role::StreetOffice).await;
    let history = t
        .call(
            Method::GET,
            &format!("/api/v1/problems/{id}/history"),
            &[("cookie", &office.cookie)],
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text());
    let h = history.json();
    let created = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "created")
        .unwrap()
        .clone();
    let data = &created["data"];
    let captured =
        chrono::DateTime::parse_from_rfc3339(data["captured_at"].as_str().unwrap()).unwrap();
    let sent = chrono::DateTime::parse_from_rfc3339(&taken).unwrap();
    assert!((captured - sent).num_seconds().abs() <= 1, "{data}");
    assert_eq!(data["accuracy_m"], 35.3);
    assert!(received - captured >= chrono::Duration::hours(3) - chrono::Duration::seconds(5));
}
