//! The served OpenAPI document validates with a real validator (openapi-spec-validator, run
//! through python3; skipped loudly without it), and the route request's `end` is typed as it is
//! documented (python-jsonschema).
#![allow(clippy::unwrap_used)]

use crate::common;

use common::python;
use serde_json::{Value, json};

fn validate(doc: &Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(doc).unwrap()).unwrap();
    let out = python::run("validate_openapi.py", &[file.to_str().unwrap()]);
    assert!(out.starts_with("valid"), "{out}");
}

#[test]
fn the_served_document_validates() {
    if !python::module("openapi_spec_validator", "openapi-spec-validator") {
        return;
    }
    let doc: Value = serde_json::from_str(&civmap_server::openapi().to_json().unwrap()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    validate(&doc);
}

/// `RouteRequest.end` accepts exactly what the description says: `"start"`, `"last"`,
/// `[lon, lat]` (or nothing).
#[test]
fn route_end_is_typed_as_documented() {
    let doc: Value = serde_json::from_str(&civmap_server::openapi().to_json().unwrap()).unwrap();
    // The schema with its references resolved against the document's components.
    let mut schema = doc["components"]["schemas"]["RouteRequest"]["properties"]["end"].clone();
    schema["components"] = doc["components"].clone();
    let ok = [
        json!("start"),
        json!("last"),
        json!([121.5, 31.2]),
        Value::Null,
    ];
    let bad = [json!("middle"), json!({"lon": 1}), json!([1.0]), json!(3)];
    let all: Vec<Value> = ok.iter().chain(&bad).cloned().collect();
    let Some(errors) = python::schema_errors(&schema, &all) else {
        return;
    };
    for (value, errs) in all.iter().zip(&errors) {
        let accepted = errs.is_empty();
        let should = ok.contains(value);
        assert_eq!(
            accepted, should,
            "{value}: accepted {accepted}, errors {errs:?}: {schema:#}"
        );
    }
}

#[test]
fn route_query_parameters_are_in_the_query() {
    let doc: Value = serde_json::from_str(&civmap_server::openapi().to_json().unwrap()).unwrap();
    let params = doc["paths"]["/api/v1/routes"]["post"]["parameters"]
        .as_array()
        .unwrap();
    let names: Vec<(&str, &str)> = params
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("format", "query"),
            ("crs", "query"),
            ("depart", "query"),
            // Every write under /api/v1 documents the header (crate::idempotency).
            ("Idempotency-Key", "header")
        ]
    );
}

/// The OpenAPI 3.0 rendering the OGC landing page links (`oas30`) validates as 3.0.
#[test]
fn the_openapi_30_rendering_validates() {
    if !python::module("openapi_spec_validator", "openapi-spec-validator") {
        return;
    }
    let doc: Value = serde_json::from_str(&civmap_server::openapi().to_json().unwrap()).unwrap();
    let v30 = civmap_server::oas30::downgrade(&doc);
    assert_eq!(v30["openapi"], "3.0.3");
    validate(&v30);
}
