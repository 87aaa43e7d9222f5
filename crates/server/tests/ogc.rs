//! OGC API - Features - Part 1: Core at `/ogc`: structure, links, paging, and the same features
//! as `/api/v1`.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::{OFFICE_TOKEN, enc, setup, setup_with};
use serde_json::{Value, json};

fn link<'a>(v: &'a Value, rel: &str) -> Option<&'a Value> {
    v["links"].as_array()?.iter().find(|l| l["rel"] == rel)
}

/// The path and query of a link (tests talk to the app in-process).
fn local(href: &str) -> String {
    let rest = href.strip_prefix("http://").unwrap();
    rest[rest.find('/').unwrap()..].to_owned()
}

/// Each `service-desc` link's media type names the OpenAPI version of the document it points
/// to, and the `oas30` conformance class is declared only with a 3.0 document linked.
#[tokio::test]
async fn service_desc_versions_agree_with_documents_and_conformance() {
    let t = setup().await;
    let v = t.get("/ogc").await.json();
    let mut versions = Vec::new();
    for l in v["links"].as_array().unwrap() {
        if l["rel"] != "service-desc" {
            continue;
        }
        let ty = l["type"].as_str().unwrap();
        let declared = ty
            .strip_prefix("application/vnd.oai.openapi+json;version=")
            .unwrap_or_else(|| panic!("not an OpenAPI JSON media type: {ty}"));
        let doc = t.get(&local(l["href"].as_str().unwrap())).await.json();
        let actual = doc["openapi"].as_str().unwrap();
        assert!(
            actual.starts_with(&format!("{declared}.")),
            "link says {declared}, {} is {actual}",
            l["href"]
        );
        versions.push(declared.to_owned());
    }
    assert!(versions.iter().any(|x| x == "3.1"), "{versions:?}");
    let c = t.get("/ogc/conformance").await.json();
    let oas30 = c["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x.as_str().unwrap().ends_with("/conf/oas30"));
    assert_eq!(oas30, versions.iter().any(|x| x == "3.0"), "{c}");
}

#[tokio::test]
async fn landing_conformance_and_collections() {
    let t = setup().await;
    let r = t
        .call(
            Method::GET,
            "/ogc",
            &[("host", "maps.example.org:8080")],
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    for rel in ["self", "service-desc", "service-doc", "conformance", "data"] {
        assert!(link(&v, rel).is_some(), "landing page lacks {rel}");
    }
    assert_eq!(
        link(&v, "service-desc").unwrap()["href"],
        "http://maps.example.org:8080/api/v1/openapi.json"
    );
    assert_eq!(
        link(&v, "service-desc").unwrap()["type"],
        "application/vnd.oai.openapi+json;version=3.1"
    );
    // Every link of the landing page resolves.
    for l in v["links"].as_array().unwrap() {
        let r = t.get(&local(l["href"].as_str().unwrap())).await;
        assert_eq!(r.status, StatusCode::OK, "{}", l["href"]);
    }
    let c = t.get("/ogc/conformance").await.json();
    let classes: BTreeSet<&str> = c["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    for cls in ["core", "geojson", "oas30"] {
        assert!(classes.contains(
            format!("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{cls}").as_str()
        ));
    }
    t.report(121.49, 31.27, "garbage").await;
    t.report(121.51, 31.29, "garbage").await;
    let cs = t.get("/ogc/collections").await.json();
    let ids: Vec<&str> = cs["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["problems", "zones", "pois"]);
    let p = t.get("/ogc/collections/problems").await.json();
    assert_eq!(p["itemType"], "feature");
    assert_eq!(
        p["extent"]["spatial"]["bbox"][0],
        json!([121.49, 31.27, 121.51, 31.29])
    );
    assert_eq!(
        p["extent"]["spatial"]["crs"],
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    );
    assert!(p["extent"]["temporal"]["interval"][0][0].is_string());
    assert_eq!(link(&p, "items").unwrap()["type"], "application/geo+json");
    assert_eq!(t.get("/ogc?f=html").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn items_page_with_next_links_and_match_the_rest_api() {
    let t = setup().await;
    let mut made = Vec::new();
    for i in 0..23 {
        let f = t
            .report(
                121.48 + f64::from(i) * 0.001,
                31.27 + f64::from(i) * 0.0005,
                "garbage",
            )
            .await;
        made.push(f["id"].as_str().unwrap().to_owned());
    }
    t.report(121.60, 31.40, "illegal_parking").await; // outside the box below
    let bbox = "121.479,31.269,121.505,31.285";
    // Walk /ogc items by `next` links.
    let mut seen = Vec::new();
    let mut uri = format!("/ogc/collections/problems/items?bbox={bbox}&limit=5");
    let mut pages = 0;
    loop {
        let r = t.get(&uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
        assert_eq!(r.content_type(), "application/geo+json");
        let fc = r.json();
        assert_eq!(fc["type"], "FeatureCollection");
        assert!(fc["timeStamp"].is_string());
        assert_eq!(fc["numberMatched"], 23);
        assert_eq!(
            fc["numberReturned"].as_u64().unwrap() as usize,
            fc["features"].as_array().unwrap().len()
        );
        assert!(link(&fc, "self").is_some() && link(&fc, "collection").is_some());
        seen.extend(
            fc["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        match link(&fc, "next") {
            Some(n) => uri = local(n["href"].as_str().unwrap()),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(seen, made, "every feature once, in id order");
    // The same features, byte for byte, as the REST API for the same box.
    let ogc = t
        .get(&format!(
            "/ogc/collections/problems/items?bbox={bbox}&limit=100"
        ))
        .await
        .json();
    let rest = t
        .get(&format!("/api/v1/problems?bbox={bbox}&limit=100"))
        .await
        .json();
    assert_eq!(ogc["features"], rest["features"]);
    // offset skips; limit above the maximum is reduced, not refused.
    let off = t
        .get(&format!(
            "/ogc/collections/problems/items?bbox={bbox}&offset=20&limit=10"
        ))
        .await
        .json();
    assert_eq!(off["features"].as_array().unwrap().len(), 3);
    assert_eq!(off["features"][0]["id"], made[20].as_str());
    let big = t.get("/ogc/collections/problems/items?limit=100000").await;
    assert_eq!(big.status, StatusCode::OK);
    // A single item with its links; unknown ids and parameters.
    let one = t
        .get(&format!("/ogc/collections/problems/items/{}", made[3]))
        .await
        .json();
    assert_eq!(one["id"], made[3].as_str());
    assert!(link(&one, "collection").is_some());
    assert_eq!(
        t.get(&format!("/ogc/collections/zones/items/{}", made[3]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get("/ogc/collections/problems/items/xyz").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get("/ogc/collections/problems/items?foo=1").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn datetime_filters_on_report_time() {
    let t = setup().await;
    let a = t.report(121.5, 31.28, "garbage").await;
    let at = a["properties"]["reported_at"].as_str().unwrap().to_owned();
    let n = |v: Value| v["features"].as_array().unwrap().len();
    let get = |q: String| {
        let t = &t;
        async move {
            let r = t
                .get(&format!(
                    "/ogc/collections/problems/items?datetime={}",
                    enc(&q)
                ))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text());
            r.json()
        }
    };
    assert_eq!(n(get(at.clone()).await), 1, "an instant matches exactly");
    assert_eq!(n(get(format!("../{at}")).await), 1);
    assert_eq!(n(get(format!("{at}/..")).await), 1);
    assert_eq!(
        n(get("2000-01-01T00:00:00Z/2001-01-01T00:00:00Z".into()).await),
        0
    );
    assert_eq!(n(get("2999-01-01T00:00:00Z/".into()).await), 0);
    let r = t.get("/ogc/collections/problems/items?datetime=soon").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn zones_and_pois_collections() {
    let t = setup().await;
    let zone = json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[121.49, 31.27], [121.51, 31.27], [121.51, 31.29], [121.49, 31.29], [121.49, 31.27]]]},
        "properties": {"kind": "surroundings", "name": "曲阳第四小学 周边 200 m", "poi_kind": "school"}});
    let r = t
        .send_json(Method::POST, "/api/v1/zones", OFFICE_TOKEN, &zone)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let poi = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.5, 31.28]},
        "properties": {"kind": "school", "name": "曲阳第四小学"}});
    let r = t
        .send_json(Method::POST, "/api/v1/pois", OFFICE_TOKEN, &poi)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let z = t
        .get("/ogc/collections/zones/items?bbox=121.5,31.28,121.6,31.3")
        .await
        .json();
    // The zone posted, and the one the school got when it was added (200 m around it).
    assert_eq!(z["numberReturned"], 2);
    for f in z["features"].as_array().unwrap() {
        assert_eq!(f["geometry"]["type"], "Polygon");
        assert_eq!(f["properties"]["kind"], "surroundings");
    }
    let none = t
        .get("/ogc/collections/zones/items?bbox=121.6,31.3,121.7,31.4")
        .await
        .json();
    assert_eq!(none["numberReturned"], 0);
    let p = t.get("/ogc/collections/pois/items").await.json();
    assert_eq!(
        p["features"][0]["geometry"],
        json!({"type": "Point", "coordinates": [121.5, 31.28]})
    );
    let c = t.get("/ogc/collections/zones").await.json();
    assert_eq!(
        c["extent"]["spatial"]["bbox"][0],
        json!([121.49, 31.27, 121.51, 31.29])
    );
}

/// `limit` as OGC API Features asks: minimum 1 (`limit=0` is a 400), with the server's
/// maximum and default in the served schema, so a client asks for large pages.
#[tokio::test]
async fn items_limit_has_a_minimum_maximum_and_default() {
    let t = setup_with(|c| {
        c.limits.page_max = 300;
        c.limits.page_default = 30;
    })
    .await;
    t.report(121.49, 31.27, "garbage").await;
    t.report(121.50, 31.27, "garbage").await;
    let r = t.get("/ogc/collections/problems/items?limit=0").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.error().1.as_deref(), Some("limit"));
    let r = t
        .get("/ogc/collections/problems/items?limit=1")
        .await
        .json();
    assert_eq!(r["numberReturned"], 1);
    let doc = t.get("/api/v1/openapi.json").await.json();
    let params = doc["paths"]["/ogc/collections/{collectionId}/items"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["minimum"], 1, "{limit}");
    assert_eq!(limit["schema"]["maximum"], 300, "{limit}");
    assert_eq!(limit["schema"]["default"], 30, "{limit}");
    // The checked-in document carries the defaults of the configuration.
    let d = civmap_app::config::Limits::default();
    let static_doc: Value =
        serde_json::from_str(&civmap_server::openapi().to_json().unwrap()).unwrap();
    let s = static_doc["paths"]["/ogc/collections/{collectionId}/items"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()["schema"]
        .clone();
    assert_eq!(
        (
            s["minimum"].as_u64(),
            s["maximum"].as_u64(),
            s["default"].as_u64()
        ),
        (
            Some(1),
            Some(d.page_max as u64),
            Some(d.page_default as u64)
        ),
        "{s}"
    );
}
