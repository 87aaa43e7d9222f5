//! Case numbers and places over HTTP, signed in as the page signs in (cookie session + CSRF
//! header): a report answers with its case number and its place in words; the problem is found
//! by its case number on the REST API and on Open311; staff read the zone's and the chief's
//! names; the public reads an indoor problem's place by its road only.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::common;

use axum::http::{Method, StatusCode};
use chrono::Utc;
use civmap_domain::{Role, UserId};
use civmap_store::BasemapFeature;
use common::{OFFICE_TOKEN, Resp, Session, TestApp, password_session, setup_with};
use geo::{LineString, Point};
use serde_json::{Value, json};

const PASSWORD: &str = "整改到位-civmap-2026";

async fn sign_in(t: &TestApp, name: &str, display: &str, role: Role) -> (UserId, Session) {
    password_session(t, name, display, role, PASSWORD).await
}

async fn as_page(t: &TestApp, s: &Session, method: Method, uri: &str, body: &Value) -> Resp {
    t.call(
        method,
        uri,
        &[
            ("content-type", "application/json"),
            ("cookie", &s.cookie),
            ("x-csrf-token", &s.csrf),
        ],
        body.to_string(),
    )
    .await
}

fn road(name: &str, coords: &[(f64, f64)]) -> BasemapFeature {
    BasemapFeature {
        layer: "roads".into(),
        class: "secondary".into(),
        name: Some(name.into()),
        geometry: LineString::from(coords.to_vec()).into(),
        external_id: None,
    }
}

#[tokio::test]
async fn reports_are_numbered_worded_and_found_by_number() {
    let t = setup_with(|c| c.auth.login_per_minute = 1000).await;
    // The street's OpenStreetMap features: 四平路 north–south, 赤峰路 east–west, one address.
    t.store
        .replace_basemap(&[
            road("四平路", &[(121.500, 31.270), (121.500, 31.290)]),
            road("赤峰路", &[(121.490, 31.280), (121.510, 31.280)]),
            BasemapFeature {
                layer: "pois".into(),
                class: "address".into(),
                name: Some("四平路1239号".into()),
                geometry: Point::new(121.5002, 31.2850).into(),
                external_id: None,
            },
        ])
        .await
        .unwrap();
    t.state.reload().await.unwrap();
    let (_, reporter) = sign_in(&t, "wangge.chen", "陈网格员", Role::Reporter).await;
    let (chief, _) = sign_in(&t, "luzhang.wang", "王路长", Role::RoadChief).await;
    let (_, office) = sign_in(&t, "jiedao.zhao", "赵科长", Role::StreetOffice).await;

    // A road zone along 四平路 with its road-chief.
    let zone = json!({"type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[121.4995, 31.270], [121.5005, 31.270],
            [121.5005, 31.290], [121.4995, 31.290], [121.4995, 31.270]]]},
        "properties": {"kind": "road", "name": "四平路段"}});
    let r = as_page(&t, &office, Method::POST, "/api/v1/zones", &zone).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let zone_id = r.json()["id"].as_str().unwrap().to_owned();
    let r = as_page(
        &t,
        &office,
        Method::PUT,
        &format!("/api/v1/zones/{zone_id}/assignees/{chief}"),
        &json!({}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());

    // Three reports: at the address, at the crossing, in a stairwell by the address (a
    // grid worker reads its indoor report as the public does: by the road).
    let mut numbers = Vec::new();
    for (lon, lat, category, place) in [
        (121.5002, 31.2851, "garbage", "四平路1239号附近"),
        (
            121.5001,
            31.2801,
            "illegal_parking",
            "四平路与赤峰路交叉口附近",
        ),
        (121.5002, 31.2852, "stairwell_clutter", "四平路附近"),
    ] {
        let r = as_page(
            &t,
            &reporter,
            Method::POST,
            "/api/v1/problems",
            &json!({"lon": lon, "lat": lat, "category": category, "description": "测试"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let f = r.json();
        let case = f["properties"]["case_no"].as_str().unwrap().to_owned();
        assert_eq!(f["properties"]["place"], place, "{f}");
        numbers.push((f["id"].as_str().unwrap().to_owned(), case));
    }
    let today = civmap_domain::CaseNo::day_of(Utc::now());
    let want: Vec<String> = (1..=3).map(|n| format!("CM{today:06}-{n:04}")).collect();
    let mut got: Vec<String> = numbers.iter().map(|(_, c)| c.clone()).collect();
    got.sort();
    assert_eq!(got, want, "numbered in the day, in order");

    // Found by its number, as typed from paper (lower case, blanks).
    let (id, case) = &numbers[0];
    let r = t
        .get_as(
            &format!("/api/v1/problems/%20{}%20", case.to_lowercase()),
            OFFICE_TOKEN,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let f = r.json();
    assert_eq!(f["id"], id.as_str());
    // Staff read who has it and through which zone.
    assert_eq!(f["properties"]["assignee_name"], "王路长", "{f}");
    assert_eq!(f["properties"]["zone_name"], "四平路段");

    // Staff read the stairwell's exact place.
    let r = t
        .get_as(&format!("/api/v1/problems/{}", numbers[2].1), OFFICE_TOKEN)
        .await;
    assert_eq!(r.json()["properties"]["place"], "四平路1239号附近");

    // A number nobody has is a 404; text that is no number is a 400 naming `id`.
    let r = t
        .get_as("/api/v1/problems/CM991231-9999", OFFICE_TOKEN)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let r = t
        .get_as("/api/v1/problems/CM261307-0001", OFFICE_TOKEN)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.error().1.as_deref(), Some("id"));

    // The public: no names; the stairwell's place by its road only.
    let r = t.get(&format!("/api/v1/problems/{}", numbers[2].1)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let p = &r.json()["properties"];
    assert_eq!(p["place"], "四平路附近", "{p}");
    assert!(p.get("assignee_name").is_none() && p.get("zone_name").is_none());
    let r = t.get(&format!("/api/v1/problems/{}", numbers[0].1)).await;
    assert_eq!(r.json()["properties"]["place"], "四平路1239号附近");

    // Open311 takes the case number as the request id and gives the place as the address.
    let r = t
        .get(&format!("/open311/v2/requests/{}.json", numbers[1].1))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let req = &r.json()[0];
    assert_eq!(req["service_request_id"], numbers[1].0.as_str());
    assert_eq!(req["address"], "四平路与赤峰路交叉口附近");
    let r = t
        .get(&format!(
            "/open311/v2/requests.json?service_request_id={},{}",
            numbers[0].1, "CM991231-9999"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json().as_array().unwrap().len(), 1);
}
