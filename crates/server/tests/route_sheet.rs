//! The printed route sheet (`POST /api/v1/routes?format=html`) as the street office gets it:
//! signed in with a password (cookie session + CSRF header, no token), on the demo area's real
//! roads and basemap (`data/osm/tongji_siping_yangpu.osm`, © OpenStreetMap contributors, ODbL).
//! One page per team; each stop's case number, place, category and severity in Chinese, its
//! planned clock time from the chosen departure; street names on the map; and a QR code per
//! stop that a real decoder (`rqrr`) reads back as the link to the problem's page.
#![allow(clippy::too_many_lines, clippy::unwrap_used)]

use crate::common;

use std::path::PathBuf;

use axum::http::{Method, StatusCode};
use chrono::{NaiveTime, Timelike};
use civmap_app::planning::network::RoadNetwork;
use civmap_app::tiles::basemap::basemap_from_osm;
use civmap_domain::{Role, User, UserId};
use common::{OFFICE_TOKEN, Resp, TestApp, setup_with};
use serde_json::{Value, json};

const PASSWORD: &str = "路线单-civmap-2026";
/// The street office, in the middle of the demo area.
const START: [f64; 2] = [121.4972, 31.2852];
/// Problems along 四平路 and 赤峰路: (lon, lat, category, severity).
const PROBLEMS: [(f64, f64, &str, &str); 8] = [
    (121.4955, 31.2838, "garbage", "critical"),
    (121.4962, 31.2846, "illegal_parking", "high"),
    (121.4981, 31.2861, "clutter", "medium"),
    (121.4990, 31.2870, "misparked_bikes", "low"),
    (121.4945, 31.2866, "garbage", "medium"),
    (121.5001, 31.2842, "zombie_car", "high"),
    (121.4938, 31.2831, "clutter", "low"),
    (121.5010, 31.2858, "illegal_parking", "medium"),
];

/// A cookie session of a street-office account signed in with its password: (cookie, csrf).
async fn sign_in(t: &TestApp) -> (String, String) {
    let user = User {
        id: UserId::new(),
        name: "jiedao.sun".into(),
        display_name: "孙科长".into(),
        role: Role::StreetOffice,
        street: None,
        password_hash: civmap_app::accounts::passwords::hash_password(PASSWORD).unwrap(),
        disabled: false,
        created_at: chrono::Utc::now(),
    };
    t.store.create_user(&user).await.unwrap();
    let r = t
        .call(
            Method::POST,
            "/api/v1/login",
            &[("content-type", "application/json")],
            json!({"name": user.name, "password": PASSWORD}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let csrf = r.json()["csrf_token"].as_str().unwrap().to_owned();
    let cookie = r.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

/// The demo area with its roads and basemap, and the problems reported.
async fn demo() -> (TestApp, Vec<Value>) {
    let t = setup_with(|_| {}).await;
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/osm/tongji_siping_yangpu.osm");
    let osm = civmap_geodata::osm::read_path(&path).unwrap();
    t.state.set_roads(RoadNetwork::from_osm(&osm));
    let ex = civmap_geodata::extract::extract(&osm, &civmap_geodata::poi::PoiTable::builtin());
    t.store
        .replace_basemap(&basemap_from_osm(&osm, &ex))
        .await
        .unwrap();
    t.state.reload().await.unwrap();
    let mut features = Vec::new();
    for (lon, lat, category, severity) in PROBLEMS {
        let r = t
            .send_json(
                Method::POST,
                "/api/v1/problems",
                OFFICE_TOKEN,
                &json!({"lon": lon, "lat": lat, "category": category, "severity": severity,
                        "description": "路线单测试"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        features.push(r.json());
    }
    (t, features)
}

/// `POST /api/v1/routes{query}` with the cookie session (and the CSRF header when given).
async fn routes(
    t: &TestApp,
    session: &(String, String),
    csrf: bool,
    query: &str,
    body: &Value,
) -> Resp {
    let mut h = vec![
        ("content-type", "application/json"),
        ("cookie", session.0.as_str()),
    ];
    if csrf {
        h.push(("x-csrf-token", session.1.as_str()));
    }
    t.call(
        Method::POST,
        &format!("/api/v1/routes{query}"),
        &h,
        body.to_string(),
    )
    .await
}

/// The text of every `<td class="{class}">` cell, in order (cells hold no nested `td`).
fn cells(html: &str, class: &str) -> Vec<String> {
    let open = format!("<td class=\"{class}\"");
    html.match_indices(&open)
        .map(|(i, _)| {
            let rest = &html[i..];
            let start = rest.find('>').unwrap() + 1;
            let end = rest.find("</td>").unwrap();
            rest[start..end].to_owned()
        })
        .collect()
}

fn clock(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

#[tokio::test]
async fn the_sheet_downloads_with_a_password_session_one_page_per_team() {
    let (t, features) = demo().await;
    let session = sign_in(&t).await;
    let ids: Vec<&str> = features
        .iter()
        .map(|f| f["properties"]["id"].as_str().unwrap())
        .collect();
    let body = json!({"ids": ids, "teams": 2, "budget_min": 240, "mode": "walk",
                      "start": START, "seed": 3});

    // A cookie without the CSRF header is refused: the page must send it.
    let r = routes(&t, &session, false, "?format=html&depart=08:30", &body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());

    let plan = routes(&t, &session, true, "", &body).await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.text());
    let plan = plan.json();
    let r = routes(&t, &session, true, "?format=html&depart=08:30", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.content_type().starts_with("text/html"));
    let html = r.text();

    // One A4 page per team.
    assert!(html.contains("@page{size:A4"));
    assert_eq!(
        html.matches("<section class=\"page team\"").count(),
        plan["teams"].as_array().unwrap().len()
    );
    assert!(html.contains("整改路线单 · 第 1 组") && html.contains("整改路线单 · 第 2 组"));

    // Every visited stop by its case number and place, in visiting order, with Chinese words.
    let stops: Vec<&Value> = plan["teams"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["stops"].as_array().unwrap())
        .collect();
    assert!(
        stops.len() >= 6,
        "most problems fit 2 × 240 min: {}",
        stops.len()
    );
    let case_cells = cells(&html, "case");
    let place_cells = cells(&html, "place");
    for (k, s) in stops.iter().enumerate() {
        let case = s["case_no"].as_str().unwrap();
        assert_eq!(case_cells[k], case, "stop {k}");
        assert!(
            place_cells[k].starts_with(s["place"].as_str().unwrap()),
            "{}",
            place_cells[k]
        );
        assert!(!case.is_empty());
    }
    let severities = cells(&html, "severity");
    assert_eq!(severities.len(), stops.len());
    for (k, s) in stops.iter().enumerate() {
        let want = match s["severity"].as_str().unwrap() {
            "low" => "轻微",
            "medium" => "一般",
            "high" => "较重",
            "critical" => "严重",
            other => panic!("{other}"),
        };
        assert_eq!(severities[k], want);
    }
    assert!(!html.contains(">high<") && !html.contains(">critical<"));
    assert!(
        cells(&html, "category")
            .iter()
            .any(|c| c.starts_with("垃圾") || c.contains("违停"))
    );

    // Planned clock times: from the departure, in visiting order, as the plan's arrival times.
    let depart = clock("08:30");
    let times = cells(&html, "time");
    assert_eq!(times.len(), stops.len());
    for (k, s) in stops.iter().enumerate() {
        let at = clock(&times[k]);
        assert!(at >= depart, "{at} before the departure");
        let arrival = s["arrival_s"].as_f64().unwrap();
        let want = depart + chrono::Duration::seconds(arrival.round() as i64);
        assert_eq!(at, want.with_second(0).unwrap(), "stop {k}");
    }
    assert!(html.contains("出发 <strong>08:30</strong>"));

    // Tick boxes, and a QR code per stop to the problem's page.
    assert_eq!(cells(&html, "tick").len(), stops.len());
    let qrs = cells(&html, "qr");
    assert_eq!(qrs.len(), stops.len());
    assert!(
        qrs.iter()
            .all(|q| q.contains("<svg") && q.contains("<path"))
    );

    // The map of each team: the basemap with street names, numbered stops.
    assert!(
        html.contains("id=\"street-names\""),
        "no street names on the map"
    );
    assert!(html.contains("四平路"), "四平路 is not named on the map");
    assert!(html.contains("<g id=\"roads\""));
    assert!(html.contains("© OpenStreetMap contributors"));

    // The GPX with the same session.
    let r = routes(&t, &session, true, "?format=gpx", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let gpx = r.text();
    assert!(gpx.contains(stops[0]["case_no"].as_str().unwrap()));
}

#[tokio::test]
async fn a_bad_departure_time_is_a_400_naming_depart() {
    let (t, features) = demo().await;
    let session = sign_in(&t).await;
    let body = json!({"ids": [features[0]["properties"]["id"]], "budget_min": 60, "start": START});
    let r = routes(&t, &session, true, "?format=html&depart=25:99", &body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.error().1.as_deref(), Some("depart"));
    // Without one, the next full half hour.
    let r = routes(&t, &session, true, "?format=html", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    let i = html.find("出发 <strong>").unwrap() + "出发 <strong>".len();
    let m = clock(&html[i..i + 5]).minute();
    assert!(m == 0 || m == 30, "{}", &html[i..i + 5]);
}

#[tokio::test]
async fn each_qr_code_decodes_to_the_problems_page() {
    let (t, features) = demo().await;
    let session = sign_in(&t).await;
    let ids: Vec<&str> = features
        .iter()
        .take(3)
        .map(|f| f["properties"]["id"].as_str().unwrap())
        .collect();
    let body = json!({"ids": ids, "teams": 1, "budget_min": 240, "start": START, "seed": 1});
    let mut h = vec![
        ("content-type", "application/json"),
        ("cookie", session.0.as_str()),
        ("x-csrf-token", session.1.as_str()),
    ];
    h.push(("host", "civmap.example.cn:8080"));
    let plan = t
        .call(Method::POST, "/api/v1/routes", &h, body.to_string())
        .await
        .json();
    let html = t
        .call(
            Method::POST,
            "/api/v1/routes?format=html",
            &h,
            body.to_string(),
        )
        .await
        .text();
    let stops = plan["teams"][0]["stops"].as_array().unwrap();
    let qrs = cells(&html, "qr");
    assert_eq!(qrs.len(), stops.len());
    for (s, qr) in stops.iter().zip(&qrs) {
        assert_eq!(
            common::qr::decode(qr),
            format!(
                "http://civmap.example.cn:8080/p/{}",
                s["case_no"].as_str().unwrap()
            )
        );
    }
}
