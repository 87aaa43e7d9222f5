//! The HTTP side of setting up a street from the console: the chiefs list, zones drawn as a
//! line or a point with a width, a place added with its surroundings zone, and the coverage
//! check counting grid cells.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use crate::common;

use axum::http::{Method, StatusCode};
use civmap_domain::{Zone, ZoneId, ZoneKind};
use common::{CHIEF_TOKEN, OFFICE_TOKEN, setup};
use geo::{MultiPolygon, polygon};
use serde_json::json;

const LON: f64 = 121.500;
const LAT: f64 = 31.280;

#[tokio::test]
async fn managers_list_the_chiefs_by_name_and_others_may_not() {
    let t = setup().await;
    let r = t.get_as("/api/v1/chiefs", OFFICE_TOKEN).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert_eq!(list[0]["name"], "chief");
    assert_eq!(list[0]["role"], "road_chief");
    assert_eq!(list[0]["id"], t.chief.to_string());
    assert_eq!(
        t.get_as("/api/v1/chiefs", CHIEF_TOKEN).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.get("/api/v1/chiefs").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_road_stretch_is_drawn_as_a_line_with_a_width() {
    let t = setup().await;
    let line = json!({"type": "LineString", "coordinates": [[LON, LAT], [LON + 0.002, LAT]]});
    let body = json!({"type": "Feature", "geometry": line,
        "properties": {"kind": "road", "name": "四平路（测试段）", "buffer_m": 12.0}});
    let r = t
        .send_json(Method::POST, "/api/v1/zones", OFFICE_TOKEN, &body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let z = r.json();
    assert_eq!(z["properties"]["kind"], "road");
    assert!(matches!(
        z["geometry"]["type"].as_str(),
        Some("Polygon" | "MultiPolygon")
    ));
    // The zone contains the line's middle, 8 m off it, and not 20 m off it.
    let at = |dy_m: f64| {
        format!(
            "/api/v1/zones?at={},{}",
            LON + 0.001,
            LAT + dy_m / 111_320.0
        )
    };
    let hits = |v: serde_json::Value| v["features"].as_array().unwrap().len();
    assert_eq!(hits(t.get_as(&at(8.0), OFFICE_TOKEN).await.json()), 1);
    assert_eq!(hits(t.get_as(&at(20.0), OFFICE_TOKEN).await.json()), 0);

    // Without a width, or with one beyond the limit: 422 naming buffer_m.
    for props in [
        json!({"kind": "road", "name": "x"}),
        json!({"kind": "point", "name": "x", "buffer_m": 5000.0}),
    ] {
        let geometry = if props["kind"] == "road" {
            line.clone()
        } else {
            json!({"type": "Point", "coordinates": [LON, LAT]})
        };
        let body = json!({"type": "Feature", "geometry": geometry, "properties": props});
        let r = t
            .send_json(Method::POST, "/api/v1/zones", OFFICE_TOKEN, &body)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert_eq!(
            r.error(),
            ("invalid".to_owned(), Some("buffer_m".to_owned()))
        );
    }
    // Without a name: 422 naming name (the console says so in Chinese).
    let body = json!({"type": "Feature", "geometry": line, "properties": {"kind": "road", "name": "", "buffer_m": 10.0}});
    let r = t
        .send_json(Method::POST, "/api/v1/zones", OFFICE_TOKEN, &body)
        .await;
    assert_eq!(r.error(), ("invalid".to_owned(), Some("name".to_owned())));
}

#[tokio::test]
async fn a_market_added_by_hand_comes_with_its_surroundings_zone() {
    let t = setup().await;
    let body = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [LON, LAT]},
        "properties": {"kind": "market", "name": "控江菜场"}});
    let r = t
        .send_json(Method::POST, "/api/v1/pois", OFFICE_TOKEN, &body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let poi = r.json();
    let zone = poi["properties"]["surroundings_zone"]
        .as_str()
        .unwrap()
        .to_owned();
    let z = t
        .get_as(&format!("/api/v1/zones/{zone}"), OFFICE_TOKEN)
        .await
        .json();
    assert_eq!(z["properties"]["kind"], "surroundings");
    assert_eq!(z["properties"]["poi_kind"], "market");
    assert_eq!(z["properties"]["poi"], poi["id"]);
    assert_eq!(z["properties"]["name"], "控江菜场 周边 150 m");
    let listed = t.get("/api/v1/zones?kind=surroundings").await.json();
    assert_eq!(listed["features"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_coverage_check_counts_uncovered_grid_cells() {
    let t = setup().await;
    let cell = |x0: f64, code: &str| Zone {
        id: ZoneId::new(),
        kind: ZoneKind::GridCell,
        name: code.into(),
        poi_kind: None,
        poi: None,
        code: Some(code.into()),
        geometry: MultiPolygon(vec![polygon![
            (x: x0, y: LAT), (x: x0 + 0.001, y: LAT), (x: x0 + 0.001, y: LAT + 0.001),
            (x: x0, y: LAT + 0.001), (x: x0, y: LAT),
        ]]),
        external_id: None,
    };
    let a = cell(LON, "S1-R001C001");
    let b = cell(LON + 0.001, "S1-R001C002");
    for c in [&a, &b] {
        t.state.put_zone(c.clone()).await.unwrap();
    }
    let r = t.get_as("/api/v1/assignments/coverage", OFFICE_TOKEN).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(
        (v["grid_cells"].as_u64(), v["uncovered_cells"].as_u64()),
        (Some(2), Some(2)),
        "{v}"
    );
    // The chief takes the first cell: one left.
    let r = t
        .send_json(
            Method::PUT,
            &format!("/api/v1/zones/{}/assignees/{}", a.id, t.chief),
            OFFICE_TOKEN,
            &json!(null),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let v = t
        .get_as("/api/v1/assignments/coverage", OFFICE_TOKEN)
        .await
        .json();
    assert_eq!(
        (v["grid_cells"].as_u64(), v["uncovered_cells"].as_u64()),
        (Some(2), Some(1)),
        "{v}"
    );
    // A zone as the boundary: no cells counted.
    let v = t
        .get_as(
            &format!("/api/v1/assignments/coverage?boundary={}", b.id),
            OFFICE_TOKEN,
        )
        .await
        .json();
    assert!(v["uncovered_cells"].is_null(), "{v}");
}
