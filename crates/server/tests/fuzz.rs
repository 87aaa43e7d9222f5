//! Random query strings and bodies thrown at the parsers of the problem list and create
//! endpoints, a lifecycle step, OGC items and Open311: never a 5xx, never a panic, and every
//! refusal in the error shape of its API. Seeded (deterministic) so a failure reproduces.
#![allow(
    clippy::unwrap_used,
    clippy::type_complexity,
    clippy::case_sensitive_file_extension_comparisons
)]

use crate::common;

use axum::http::{Method, StatusCode};
use common::{OFFICE_TOKEN, setup};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;

/// Keys the endpoints know, plus some they do not.
const KEYS: &[&str] = &[
    "bbox",
    "radius",
    "polygon",
    "zone",
    "category",
    "status",
    "severity_min",
    "from",
    "to",
    "limit",
    "cursor",
    "crs",
    "datetime",
    "offset",
    "f",
    "service_code",
    "start_date",
    "end_date",
    "service_request_id",
    "lat",
    "long",
    "description",
    "api_key",
    "attribute[severity]",
    "locale",
    "x",
    "",
    "limit[]",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        // numbers and number lists, including extremes
        prop::collection::vec(
            prop_oneof![
                any::<f64>().prop_map(|v| v.to_string()),
                (-200.0..200.0f64).prop_map(|v| format!("{v:.4}")),
                Just("NaN".to_owned()),
                Just("-inf".to_owned()),
                Just("1e309".to_owned()),
                any::<i64>().prop_map(|v| v.to_string()),
            ],
            0..7
        )
        .prop_map(|v| v.join(",")),
        // geometry fragments
        Just("POLYGON((121 31,121.1 31,121.1 31.1,121 31))".to_owned()),
        Just("MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((".to_owned()),
        Just(r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}"#.to_owned()),
        Just(r#"{"type":"Feature","geometry":null}"#.to_owned()),
        Just(r#"{"type":"MultiPolygon","coordinates":[[[]]]}"#.to_owned()),
        // names, dates, intervals
        prop::sample::select(vec![
            "garbage",
            "open",
            "closed",
            "reported,merged",
            "high",
            "critical",
            "gcj02",
            "bd09",
            "wgs84",
            "json",
            "html",
            "..",
            "../..",
            "2024-05-01",
            "2024-05-01T08:00:00Z/..",
            "2024-13-45T99:00:00Z",
            "p1.",
            "p1.0123456789abcdef0123456789abcdef",
            "z1.zz",
            "en",
        ])
        .prop_map(str::to_owned),
        // anything
        any::<String>(),
        "[ -~]{0,40}",
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(KEYS), value()), 0..6).prop_map(|pairs| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, &v);
        }
        s.finish()
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        prop::sample::select(vec!["garbage", "high", "Feature", "Polygon", "dispatch"])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "lon",
                        "lat",
                        "category",
                        "severity",
                        "description",
                        "note",
                        "version",
                        "photos",
                        "into",
                        "assignee",
                        "zone",
                        "deadline",
                        "type",
                        "geometry",
                        "properties",
                        "coordinates",
                        "kind",
                        "name",
                        "other",
                    ]),
                    inner
                ),
                0..7
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
        query().prop_map(String::into_bytes),
    ]
}

fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

fn check(status: StatusCode, body: &[u8], what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !status.is_server_error(),
        "{what} -> {status}: {}",
        String::from_utf8_lossy(body)
    );
    Ok(())
}

#[test]
fn random_queries_and_bodies_never_fail_the_server() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = rt.block_on(setup());
    let existing = rt.block_on(t.report(121.5, 31.28, "garbage"));
    let id = existing["id"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {OFFICE_TOKEN}");
    let calls = std::cell::Cell::new(0usize);

    runner(400)
        .run(&(query(), any::<bool>()), |(q, signed_in)| {
            let headers: Vec<(&str, &str)> = if signed_in {
                vec![("authorization", auth.as_str())]
            } else {
                vec![]
            };
            for path in [
                "/api/v1/problems",
                "/ogc/collections/problems/items",
                "/ogc/collections/zones/items",
                "/api/v1/zones",
                "/open311/v2/requests.json",
                "/open311/v2/requests.xml",
                "/open311/v2/services.json",
            ] {
                let uri = format!("{path}?{q}");
                let r = rt.block_on(t.call(Method::GET, &uri, &headers, ""));
                calls.set(calls.get() + 1);
                check(r.status, &r.body, &uri)?;
                if !r.status.is_success() && path.starts_with("/api") {
                    // The one error shape.
                    let v: Value = serde_json::from_slice(&r.body).unwrap();
                    prop_assert_eq!(
                        v["error"]["status"].as_u64(),
                        Some(u64::from(r.status.as_u16()))
                    );
                }
                if !r.status.is_success() && path.starts_with("/open311") && path.ends_with(".json")
                {
                    let v: Value = serde_json::from_slice(&r.body).unwrap();
                    prop_assert!(v[0]["code"].is_number(), "{}", v);
                }
            }
            Ok(())
        })
        .unwrap();

    runner(400)
        .run(&(body(), query()), |(b, q)| {
            let json = [
                ("content-type", "application/json"),
                ("authorization", auth.as_str()),
            ];
            let form = [("content-type", "application/x-www-form-urlencoded")];
            let cases: [(Method, String, &[(&str, &str)]); 5] = [
                (Method::POST, format!("/api/v1/problems?{q}"), &json),
                (Method::PATCH, format!("/api/v1/problems/{id}?{q}"), &json),
                (
                    Method::POST,
                    format!("/api/v1/problems/{id}/dispatch"),
                    &json,
                ),
                (Method::POST, "/api/v1/zones".to_owned(), &json),
                (Method::POST, "/open311/v2/requests.json".to_owned(), &form),
            ];
            for (m, uri, headers) in cases {
                let r = rt.block_on(t.call(m.clone(), &uri, headers, b.clone()));
                calls.set(calls.get() + 1);
                check(
                    r.status,
                    &r.body,
                    &format!("{m} {uri} {}", String::from_utf8_lossy(&b)),
                )?;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(
        calls.get(),
        400 * 7 + 400 * 5,
        "every generated case was sent"
    );
    // The server still answers normally afterwards.
    let r = rt.block_on(t.get(&format!("/api/v1/problems/{id}")));
    assert_eq!(r.status, StatusCode::OK);
}
