//! One error shape everywhere, with the right status: 400, 401, 403, 404, 405, 409, 413, 415,
//! 422, 429 and 503.
#![allow(clippy::unwrap_used)]

use crate::common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{CHIEF_TOKEN, OFFICE_TOKEN, PUBLIC_TOKEN, setup, setup_with};
use serde_json::json;

#[tokio::test]
async fn malformed_input_is_400_naming_the_parameter() {
    let t = setup().await;
    for (uri, field) in [
        ("/api/v1/problems?limit=abc", Some("limit")),
        ("/api/v1/problems?limit=0", Some("limit")),
        ("/api/v1/problems?limit=1001", Some("limit")),
        ("/api/v1/problems?bbox=1,2,3", Some("bbox")),
        ("/api/v1/problems?radius=121,31", Some("radius")),
        ("/api/v1/problems?polygon=POINT(1%202)", Some("polygon")),
        ("/api/v1/problems?status=opened", Some("status")),
        ("/api/v1/problems?category=graffiti", Some("category")),
        ("/api/v1/problems?severity_min=9", Some("severity_min")),
        ("/api/v1/problems?from=yesterday", Some("from")),
        ("/api/v1/problems?cursor=xyz", Some("cursor")),
        ("/api/v1/problems?crs=utm", Some("crs")),
        ("/api/v1/problems?colour=red", Some("colour")),
        ("/api/v1/problems?limit=1&limit=2", Some("limit")),
        ("/api/v1/problems/not-a-uuid", Some("id")),
    ] {
        let r = t.get(uri).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text());
        let (code, f) = r.error();
        assert_eq!(code, "bad_request");
        assert_eq!(f.as_deref(), field, "{uri}");
    }
    let r = t
        .call(
            Method::POST,
            "/api/v1/problems",
            &[("content-type", "application/json")],
            "{\"lon\": 121.5,",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error().0, "bad_request");
}

#[tokio::test]
async fn invalid_values_are_422_naming_the_field() {
    let t = setup().await;
    for (body, field) in [
        (
            json!({"lon": 121.5, "lat": 95.0, "category": "garbage"}),
            "lat",
        ),
        (
            json!({"lon": 181.0, "lat": 31.0, "category": "garbage"}),
            "lon",
        ),
        (
            json!({"lon": 121.5, "lat": 31.0, "category": "graffiti"}),
            "category",
        ),
        (
            json!({"lon": 121.5, "lat": 31.0, "category": "garbage", "description": "很".repeat(2001)}),
            "description",
        ),
        (
            json!({"lon": "east", "lat": 31.0, "category": "garbage"}),
            "lon",
        ),
        (json!({"lat": 31.0, "category": "garbage"}), "lon"),
        (
            json!({"lon": 121.5, "lat": 31.0, "category": "garbage", "severity": "extreme"}),
            "severity",
        ),
        (
            json!({"lon": 121.5, "lat": 31.0, "category": "garbage", "colour": "red"}),
            "colour",
        ),
    ] {
        let r = t
            .send_json(Method::POST, "/api/v1/problems", OFFICE_TOKEN, &body)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text()
        );
        let (code, f) = r.error();
        assert_eq!(code, "invalid");
        assert_eq!(f.as_deref(), Some(field), "{body}");
    }
    // The anonymous bbox limit names bbox.
    let r = t.get("/api/v1/problems?bbox=120,30,122,32").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error().1.as_deref(), Some("bbox"));
    let r = t
        .get_as("/api/v1/problems?bbox=120,30,122,32", OFFICE_TOKEN)
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "signed-in callers may ask for more"
    );
}

#[tokio::test]
async fn credentials_401_and_roles_403() {
    let t = setup().await;
    let f = t.report(121.5, 31.28, "garbage").await;
    let id = f["id"].as_str().unwrap();
    let r = t.step(id, "dispatch", "", &json!({"version": 1})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error().0, "unauthorized");
    let r = t
        .step(
            id,
            "dispatch",
            "not-a-known-token-at-all",
            &json!({"version": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = t
        .call(
            Method::GET,
            "/api/v1/problems",
            &[("authorization", "Basic dXNlcjpwYXNz")],
            Body::empty(),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "only Bearer is understood"
    );
    let r = t
        .step(id, "dispatch", PUBLIC_TOKEN, &json!({"version": 1}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error().0, "forbidden");
    let r = t
        .step(id, "dispatch", CHIEF_TOKEN, &json!({"version": 1}))
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "road chiefs do not dispatch"
    );
    let r = t.get("/api/v1/assignments").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = t.get_as("/api/v1/assignments", PUBLIC_TOKEN).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn missing_things_are_404_and_wrong_methods_405() {
    let t = setup().await;
    let id = uuid::Uuid::now_v7();
    for uri in [
        format!("/api/v1/problems/{id}"),
        format!("/api/v1/problems/{id}/history"),
        format!("/api/v1/zones/{id}"),
        format!("/api/v1/pois/{id}"),
        "/api/v1/nothing".to_owned(),
        "/ogc/collections/roads".to_owned(),
    ] {
        let r = t.get(&uri).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(r.error().0, "not_found");
    }
    let r = t
        .step(
            &id.to_string(),
            "dispatch",
            OFFICE_TOKEN,
            &json!({"version": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t
        .call(Method::DELETE, "/api/v1/problems", &[], Body::empty())
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.error().0, "method_not_allowed");
}

#[tokio::test]
async fn too_large_is_413_and_wrong_type_415() {
    let t = setup_with(|c| c.limits.body_bytes = 4096).await;
    let big = json!({"lon": 121.5, "lat": 31.28, "category": "garbage", "description": "x".repeat(10_000)});
    let r = t
        .send_json(Method::POST, "/api/v1/problems", OFFICE_TOKEN, &big)
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert_eq!(r.error().0, "payload_too_large");
    let r = t
        .call(
            Method::POST,
            "/api/v1/problems",
            &[("content-type", "text/plain")],
            "lon=1",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.error().0, "unsupported_media_type");
    let r = t.call(Method::POST, "/api/v1/problems", &[], "{}").await;
    assert_eq!(
        r.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "no content type"
    );
}

#[tokio::test]
async fn anonymous_writes_are_rate_limited_429() {
    let t = setup_with(|c| {
        c.limits.anonymous_write_burst = 3;
        c.limits.anonymous_writes_per_minute = 1;
    })
    .await;
    let body = json!({"lon": 121.5, "lat": 31.28, "category": "garbage"});
    for _ in 0..3 {
        let r = t
            .send_json(Method::POST, "/api/v1/problems", "", &body)
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let r = t
        .send_json(Method::POST, "/api/v1/problems", "", &body)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.error().0, "rate_limited");
    assert!(r.headers.contains_key("retry-after"));
    // A refused report is not stored; signed-in callers are not limited.
    let r = t
        .send_json(Method::POST, "/api/v1/problems", OFFICE_TOKEN, &body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(t.state.sizes().problems, 4);
    let m = t.get("/metrics").await.text();
    assert!(m.contains("civmap_rate_limited_total 1"), "{m}");
}

#[tokio::test]
async fn a_lost_database_is_503_for_writes_and_readiness() {
    let t = setup().await;
    let f = t.report(121.5, 31.28, "garbage").await;
    assert_eq!(t.get("/readyz").await.status, StatusCode::OK);
    t.store.close().await;
    let r = t.get("/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.error().0, "unavailable");
    let r = t
        .send_json(
            Method::POST,
            "/api/v1/problems",
            OFFICE_TOKEN,
            &json!({"lon": 121.5, "lat": 31.28, "category": "garbage"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(r.headers.contains_key("retry-after"));
    // Reads from memory keep working.
    let r = t
        .get(&format!("/api/v1/problems/{}", f["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        t.get("/healthz").await.status,
        StatusCode::OK,
        "alive, not ready"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let t = setup().await;
    let r = t.get("/healthz").await;
    assert!(r.headers.get("x-request-id").is_some());
    let r = t
        .call(
            Method::GET,
            "/healthz",
            &[("x-request-id", "abc-123")],
            Body::empty(),
        )
        .await;
    assert_eq!(
        r.headers["x-request-id"], "abc-123",
        "a caller's id is kept"
    );
}
