//! Open311 GeoReport v2: JSON validated against the open311/schema-validation schemas, XML
//! compared with the Code for America fixtures, the specification's error format.
#![allow(clippy::too_many_lines, clippy::unwrap_used)]

use crate::common;

use std::path::PathBuf;

use axum::http::{Method, StatusCode};
use common::{OFFICE_TOKEN, setup, setup_with};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/open311")
}

fn schema(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join("georeport-v2-schema").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The array schemas refer to the item schemas by relative file name; inline them.
fn array_schema(item: &str) -> Value {
    json!({"type": "array", "items": schema(item)})
}

/// `instance` is valid against `schema` (python-jsonschema; skipped loudly without it).
fn validate(schema: &Value, instance: &Value) {
    let Some(errors) = common::python::schema_errors(schema, std::slice::from_ref(instance)) else {
        return;
    };
    assert!(errors[0].is_empty(), "{:#?}\n{instance:#}", errors[0]);
}

/// Element names, in document order, of the children of every element named `parent`.
fn child_names(xml: &str, parent: &str) -> Vec<Vec<String>> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(xml);
    r.config_mut().trim_text(true);
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                if stack.last().is_some_and(|p| p == parent)
                    && let Some(v) = out.last_mut()
                {
                    v.push(name.clone());
                }
                if name == parent {
                    out.push(Vec::new());
                }
                stack.push(name);
            }
            Event::Empty(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                if stack.last().is_some_and(|p| p == parent)
                    && let Some(v) = out.last_mut()
                {
                    v.push(name);
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn root_name(xml: &str) -> String {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(xml);
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) => {
                return String::from_utf8(e.name().as_ref().to_vec()).unwrap();
            }
            Event::Eof => panic!("no root element"),
            _ => {}
        }
    }
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        fixtures()
            .join("codeforamerica-open311-fixtures")
            .join(name),
    )
    .unwrap()
}

async fn post_form(t: &common::TestApp, path: &str, form: &str) -> common::Resp {
    t.call(
        Method::POST,
        path,
        &[(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        form.to_owned(),
    )
    .await
}

#[tokio::test]
async fn discovery_and_services_validate() {
    let t = setup().await;
    let d = t.get("/open311/v2/discovery.json").await;
    assert_eq!(d.status, StatusCode::OK);
    let d = d.json();
    assert_eq!(
        d["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(
        d["endpoints"][0]["formats"],
        json!(["text/xml", "application/json"])
    );
    let x = t.get("/open311/v2/discovery.xml").await;
    assert!(x.content_type().starts_with("text/xml"));
    assert_eq!(
        child_names(&x.text(), "formats"),
        vec![vec!["format", "format"]]
    );

    let s = t.get("/open311/v2/services.json").await;
    assert!(s.content_type().starts_with("application/json"));
    let s = s.json();
    validate(&array_schema("service.json"), &s);
    assert_eq!(
        s.as_array().unwrap().len(),
        15,
        "one service per built-in category"
    );
    let garbage = s
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["service_code"] == "garbage")
        .unwrap();
    assert_eq!(garbage["service_name"], "垃圾");
    let en = t.get("/open311/v2/services.json?locale=en").await.json();
    assert!(
        en.as_array()
            .unwrap()
            .iter()
            .any(|x| x["service_name"] == "Garbage")
    );
    // XML: the same element names as San Francisco's services.xml (order within a service is free).
    let xml = t.get("/open311/v2/services.xml").await.text();
    assert_eq!(root_name(&xml), "services");
    let mut ours = child_names(&xml, "service")[0].clone();
    let mut theirs = child_names(&fixture("services.xml"), "service")[0].clone();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);

    let def = t.get("/open311/v2/services/garbage.json").await.json();
    validate(&schema("service-definition.json"), &def);
    let dx = t.get("/open311/v2/services/garbage.xml").await.text();
    assert_eq!(root_name(&dx), "service_definition");
    // The spec puts <attribute> inside <attributes>; the fields of an attribute match the fixture.
    assert_eq!(
        child_names(&dx, "attribute")[0],
        child_names(&fixture("service_definition.xml"), "attribute")[0]
    );
    assert_eq!(child_names(&dx, "value")[0], ["key", "name"]);
}

#[tokio::test]
async fn post_get_and_token_round_trip() {
    let t = setup().await;
    let r = post_form(
        &t,
        "/open311/v2/requests.json",
        "service_code=illegal_parking&lat=31.2854&long=121.4971&description=%E8%BF%9D%E5%81%9C&first_name=Li&email=li%40example.org&attribute%5Bseverity%5D=high",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let created = r.json();
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(created[0]["service_notice"].as_str().unwrap().contains('4'));
    assert!(
        created[0].get("token").is_none(),
        "realtime: an id, not a token"
    );
    // GET one, JSON: validates; WGS-84 position; the detailed stage in status_notes.
    let one = t
        .get(&format!("/open311/v2/requests/{id}.json"))
        .await
        .json();
    validate(&array_schema("request.json"), &one);
    let req = &one[0];
    assert_eq!(req["status"], "open");
    assert_eq!(req["service_code"], "illegal_parking");
    assert_eq!(req["description"], "违停");
    assert_eq!(
        (req["lat"].as_f64().unwrap(), req["long"].as_f64().unwrap()),
        (31.2854, 121.4971)
    );
    assert!(
        req["status_notes"]
            .as_str()
            .unwrap()
            .starts_with("reported")
    );
    assert_eq!(req["expected_datetime"], Value::Null);
    // The REST API sees the same problem, with the severity attribute; personal fields are not stored.
    let p = t.get(&format!("/api/v1/problems/{id}")).await.json();
    assert_eq!(p["properties"]["severity"], "high");
    assert!(!p.to_string().contains("example.org"));
    // Dispatch sets expected_datetime; closing makes it closed.
    let r = t
        .step(&id, "dispatch", OFFICE_TOKEN, &json!({"version": 1}))
        .await;
    let deadline = r.json()["properties"]["deadline"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = t
        .get(&format!("/open311/v2/requests/{id}.json"))
        .await
        .json();
    assert_eq!(one[0]["expected_datetime"], deadline.as_str());
    assert!(
        one[0]["status_notes"]
            .as_str()
            .unwrap()
            .starts_with("dispatched")
    );
    validate(&array_schema("request.json"), &one);
    // XML: the same request elements, in the same order, as the Code for America fixture.
    let x = t
        .get(&format!("/open311/v2/requests/{id}.xml"))
        .await
        .text();
    assert_eq!(root_name(&x), "service_requests");
    assert_eq!(
        child_names(&x, "request")[0],
        child_names(&fixture("get_service_request.xml"), "request")[0]
    );
    // A list: by status, by service_code, by id.
    let open = t.get("/open311/v2/requests.json?status=open").await.json();
    validate(&array_schema("request.json"), &open);
    assert_eq!(open.as_array().unwrap().len(), 1);
    assert_eq!(
        t.get("/open311/v2/requests.json?status=closed")
            .await
            .json(),
        json!([])
    );
    assert_eq!(
        t.get("/open311/v2/requests.json?service_code=garbage")
            .await
            .json(),
        json!([])
    );
    let by_id = t
        .get(&format!(
            "/open311/v2/requests.json?service_request_id={id}&status=closed"
        ))
        .await
        .json();
    assert_eq!(
        by_id.as_array().unwrap().len(),
        1,
        "service_request_id overrides the other arguments"
    );
    let empty = t.get("/open311/v2/requests.xml?status=closed").await.text();
    assert_eq!(
        root_name(&empty),
        root_name(&fixture("service_requests_empty.xml"))
    );
    // Tokens resolve to the id.
    let tok = t.get(&format!("/open311/v2/tokens/{id}.json")).await.json();
    assert_eq!(tok[0]["service_request_id"], id.as_str());
    let tx = t.get(&format!("/open311/v2/tokens/{id}.xml")).await.text();
    assert_eq!(
        child_names(&tx, "request")[0],
        child_names(&fixture("request_id_from_token.xml"), "request")[0]
    );
    // POST XML answers like the fixture.
    let r = post_form(
        &t,
        "/open311/v2/requests.xml",
        "service_code=garbage&lat=31.28&long=121.5",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        child_names(&r.text(), "request")[0],
        child_names(&fixture("post_service_request.xml"), "request")[0]
    );
}

#[tokio::test]
async fn errors_use_the_specification_format() {
    let t = setup().await;
    // JSON errors: an array of {code, description}.
    let r = t
        .get("/open311/v2/requests/00000000-0000-0000-0000-000000000000.json")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let e = r.json();
    assert_eq!(e[0]["code"], 404);
    assert!(e[0]["description"].as_str().unwrap().contains("not found"));
    // XML errors: the structure of the fixture.
    let r = t.get("/open311/v2/requests/nope.xml").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        child_names(&r.text(), "error"),
        child_names(&fixture("get_service_request_not_found.xml"), "error")
    );
    let r = t.get("/open311/v2/services/nope.xml").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(root_name(&r.text()), "errors");
    // 400 for a missing service_code or position, 404 for an unknown service_code.
    let r = post_form(&t, "/open311/v2/requests.json", "lat=31.28&long=121.5").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()[0]["code"], 400);
    let r = post_form(
        &t,
        "/open311/v2/requests.json",
        "service_code=garbage&address_string=1+Main+St",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post_form(
        &t,
        "/open311/v2/requests.json",
        "service_code=potholes&lat=31.28&long=121.5",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = post_form(
        &t,
        "/open311/v2/requests.json",
        "service_code=garbage&lat=95&long=121.5",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // 403 for an unknown api_key, like the fixture.
    let r = post_form(
        &t,
        "/open311/v2/requests.xml",
        "api_key=wrong&service_code=garbage&lat=31.28&long=121.5",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("Invalid api_key"));
    let r = post_form(
        &t,
        "/open311/v2/requests.json",
        &format!("api_key={OFFICE_TOKEN}&service_code=garbage&lat=31.28&long=121.5"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // Wrong content type, range too long, unknown route: still the Open311 format.
    let r = t
        .call(
            Method::POST,
            "/open311/v2/requests.json",
            &[("content-type", "text/plain")],
            "x",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.json()[0]["code"], 415);
    let r = t.get("/open311/v2/requests.json?start_date=2024-01-01T00:00:00Z&end_date=2024-12-31T00:00:00Z").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = t.get("/open311/v2/nothing.xml").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(root_name(&r.text()), "errors");
    let r = t
        .call(Method::DELETE, "/open311/v2/requests.json", &[], "")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()[0]["code"], 400);
}

#[tokio::test]
async fn anonymous_open311_posts_are_rate_limited() {
    let t = setup_with(|c| {
        c.limits.anonymous_write_burst = 2;
        c.limits.anonymous_writes_per_minute = 1;
    })
    .await;
    for _ in 0..2 {
        let r = post_form(
            &t,
            "/open311/v2/requests.json",
            "service_code=garbage&lat=31.28&long=121.5",
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let r = post_form(
        &t,
        "/open311/v2/requests.json",
        "service_code=garbage&lat=31.28&long=121.5",
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.json()[0]["code"], 429);
}
