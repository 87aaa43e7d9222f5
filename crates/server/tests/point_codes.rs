//! Point codes (点位码): the street office prints, through its password session, a sheet with a
//! card per point and road zone; every card's QR code, read back by a real decoder, opens the
//! report page at a position inside its zone (even an L-shaped road's); a report made there is
//! dispatched to the zone's chief. Other roles may not print; an unknown kind is named.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::common;

use axum::http::{Method, StatusCode};
use civmap_domain::Role;
use common::{Resp, Session, TestApp, password_session, setup};
use serde_json::{Value, json};

const PASSWORD: &str = "codes-password-1";

async fn as_page(t: &TestApp, s: &Session, method: Method, uri: &str, body: &Value) -> Resp {
    t.call(
        method,
        uri,
        &[
            ("content-type", "application/json"),
            ("cookie", &s.cookie),
            ("x-csrf-token", &s.csrf),
            ("host", "civmap.example.cn"),
        ],
        body.to_string(),
    )
    .await
}

/// The cards of a sheet: (zone id, the QR code's text, the card's text).
fn cards(html: &str) -> Vec<(String, String, String)> {
    html.split("<div class=\"card\"")
        .skip(1)
        .map(|card| {
            let zone = card
                .split("data-zone=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let svg_start = card.find("<svg").unwrap();
            let svg_end = card.find("</svg>").unwrap() + "</svg>".len();
            let text = card[svg_end..].split("</div>").next().unwrap().to_owned();
            (
                zone.to_owned(),
                common::qr::decode(&card[svg_start..svg_end]),
                text,
            )
        })
        .collect()
}

fn square(kind: &str, name: &str, lon: f64, lat: f64, half: f64) -> Value {
    json!({"type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[lon - half, lat - half], [lon + half, lat - half],
            [lon + half, lat + half], [lon - half, lat + half], [lon - half, lat - half]]]},
        "properties": {"kind": kind, "name": name}})
}

#[tokio::test]
async fn each_card_opens_the_report_page_inside_its_zone() {
    let t = setup().await;
    let (_, office) =
        password_session(&t, "jiedao.qian", "钱科长", Role::StreetOffice, PASSWORD).await;
    let (chief, _) =
        password_session(&t, "dianzhang.sun", "孙点长", Role::PointChief, PASSWORD).await;
    let (_, reporter) =
        password_session(&t, "wangge.li", "李网格员", Role::Reporter, PASSWORD).await;

    // A school gate (point), a road stretch (an L-shaped buffer: its centroid lies outside it)
    // and an area, which gets no card by default.
    let gate = as_page(
        &t,
        &office,
        Method::POST,
        "/api/v1/zones",
        &square("point", "曲阳第四小学 校门", 121.4900, 31.2800, 0.0003),
    )
    .await;
    assert_eq!(gate.status, StatusCode::CREATED, "{}", gate.text());
    let gate = gate.json()["id"].as_str().unwrap().to_owned();
    let l_shape = json!({"type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[121.500, 31.280], [121.510, 31.280], [121.510, 31.2805],
            [121.5005, 31.2805], [121.5005, 31.290], [121.500, 31.290], [121.500, 31.280]]]},
        "properties": {"kind": "road", "name": "赤峰路—四平路"}});
    let road = as_page(&t, &office, Method::POST, "/api/v1/zones", &l_shape).await;
    assert_eq!(road.status, StatusCode::CREATED, "{}", road.text());
    let road = road.json()["id"].as_str().unwrap().to_owned();
    let area = as_page(
        &t,
        &office,
        Method::POST,
        "/api/v1/zones",
        &square("area", "东片", 121.52, 31.28, 0.005),
    )
    .await;
    assert_eq!(area.status, StatusCode::CREATED, "{}", area.text());
    let r = as_page(
        &t,
        &office,
        Method::PUT,
        &format!("/api/v1/zones/{gate}/assignees/{chief}"),
        &json!({}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());

    let r = as_page(
        &t,
        &office,
        Method::GET,
        "/api/v1/point-codes",
        &json!(null),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.content_type().starts_with("text/html"));
    let html = r.text();
    assert!(html.contains("点位码 · 共 2 个"), "{html}");
    let shown = cards(&html);
    assert_eq!(
        shown.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        vec![gate.as_str(), road.as_str()],
        "points first, then roads; no area"
    );
    assert!(
        shown[0].2.contains("曲阳第四小学 校门")
            && shown[0].2.contains("点位")
            && shown[0].2.contains("责任人：孙点长"),
        "{}",
        shown[0].2
    );
    assert!(shown[1].2.contains("路段"), "{}", shown[1].2);

    for (zone, url, _) in &shown {
        let rest = url
            .strip_prefix(&format!(
                "http://civmap.example.cn/#/report?zone={zone}&at="
            ))
            .unwrap_or_else(|| panic!("{url}"));
        let (lon, lat) = rest.split_once(',').unwrap();
        let (lon, lat): (f64, f64) = (lon.parse().unwrap(), lat.parse().unwrap());
        // The position is inside the zone, even the L-shaped road's (whose centroid is not).
        let z = as_page(
            &t,
            &office,
            Method::GET,
            &format!("/api/v1/zones/{zone}"),
            &json!(null),
        )
        .await
        .json();
        let outer = match z["geometry"]["type"].as_str() {
            Some("MultiPolygon") => &z["geometry"]["coordinates"][0][0],
            _ => &z["geometry"]["coordinates"][0],
        };
        let ring: Vec<(f64, f64)> = outer
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
            .collect();
        let polygon = geo::Polygon::new(geo::LineString::from(ring), vec![]);
        assert!(
            geo::Contains::contains(&polygon, &geo::Point::new(lon, lat)),
            "{url} lies outside {z}"
        );
        // A report made there goes to the chief of the gate.
        if *zone == gate {
            let made = as_page(
                &t,
                &reporter,
                Method::POST,
                "/api/v1/problems",
                &json!({"lon": lon, "lat": lat, "category": "garbage", "description": "扫码上报"}),
            )
            .await;
            assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
            let id = made.json()["properties"]["id"].as_str().unwrap().to_owned();
            let p = as_page(
                &t,
                &office,
                Method::GET,
                &format!("/api/v1/problems/{id}"),
                &json!(null),
            )
            .await
            .json();
            assert_eq!(p["properties"]["zone"].as_str(), Some(gate.as_str()), "{p}");
            assert_eq!(
                p["properties"]["assignee"].as_str(),
                Some(chief.0.to_string().as_str()),
                "{p}"
            );
        }
    }

    // Kinds on request; an unknown kind is named; a chief may not print the street's codes.
    let r = as_page(
        &t,
        &office,
        Method::GET,
        "/api/v1/point-codes?kind=area",
        &json!(null),
    )
    .await;
    assert_eq!(cards(&r.text()).len(), 1);
    let r = as_page(
        &t,
        &office,
        Method::GET,
        "/api/v1/point-codes?kind=plaza",
        &json!(null),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["field"], "kind");
    let r = as_page(
        &t,
        &reporter,
        Method::GET,
        "/api/v1/point-codes",
        &json!(null),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
