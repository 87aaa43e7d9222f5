//! A mock inspection over HTTP, as people do it with browser sessions (cookie + CSRF header):
//! the street office adds test points and draws a sample for an inspector; the inspector fails
//! an item with a photo and the fail becomes a dispatched problem; the chief fixes it; the next
//! inspection scores higher; readiness is in JSON, CSV and the printed weekly report; a numbered
//! notice prints as a page. The public and reporters get nothing.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use crate::common;

use axum::http::{Method, StatusCode};
use civmap_domain::{Role, UserId, Zone, ZoneId, ZoneKind};
use common::{Resp, Session, TestApp, password_session, setup, tiny_jpeg};
use geo::{MultiPolygon, polygon};
use serde_json::{Value, json};

const PASSWORD: &str = "迎检-civmap-2026";
const LON: f64 = 121.500;
const LAT: f64 = 31.280;

async fn sign_in(t: &TestApp, name: &str, role: Role) -> (UserId, Session) {
    password_session(t, name, name, role, PASSWORD).await
}

async fn get(t: &TestApp, s: &Session, uri: &str) -> Resp {
    t.call(Method::GET, uri, &[("cookie", &s.cookie)], "").await
}

async fn post(t: &TestApp, s: &Session, uri: &str, body: &Value) -> Resp {
    t.call(
        Method::POST,
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

async fn photo(t: &TestApp, s: &Session, seed: u8) -> String {
    let r = t
        .call(
            Method::POST,
            "/api/v1/photos",
            &[
                ("content-type", "image/jpeg"),
                ("cookie", &s.cookie),
                ("x-csrf-token", &s.csrf),
            ],
            tiny_jpeg(seed),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

/// Scores every item of every point of `inspection`, failing those in `fails` (point index,
/// item code) with a photo; answers the problems created.
async fn walk(
    t: &TestApp,
    s: &Session,
    inspection: &str,
    points: &[String],
    fails: &[(usize, &str)],
    seed: u8,
) -> Vec<String> {
    let lists = get(t, s, "/api/v1/inspections/checklists").await.json();
    let mut created = Vec::new();
    for (i, p) in points.iter().enumerate() {
        for item in lists["items"].as_array().unwrap() {
            if !item["kinds"]
                .as_array()
                .unwrap()
                .contains(&json!("bus_stop"))
            {
                continue;
            }
            let code = item["code"].as_str().unwrap();
            let fail = fails.contains(&(i, code));
            let photos = if fail {
                vec![photo(t, s, seed + u8::try_from(i).unwrap()).await]
            } else {
                vec![]
            };
            let r = post(
                t,
                s,
                &format!("/api/v1/inspections/{inspection}/results"),
                &json!({"point": p, "item": code, "pass": !fail, "photos": photos}),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            if let Some(id) = r.json()["problem"].as_str() {
                created.push(id.to_owned());
            }
        }
    }
    created
}

// One mock inspection as people walk it, in order: splitting it would repeat the set-up.
#[allow(clippy::too_many_lines)]
#[tokio::test]
async fn a_mock_inspection_from_sample_to_fixes_to_a_higher_score() {
    let t = setup().await;
    let (_, office) = sign_in(&t, "jiedao", Role::StreetOffice).await;
    let (inspector_id, inspector) = sign_in(&t, "ceping", Role::PointChief).await;
    let (chief_id, chief) = sign_in(&t, "pianzhang", Role::AreaChief).await;
    let (_, reporter) = sign_in(&t, "wanggeyuan", Role::Reporter).await;
    // The street's area, held by the area chief: fails are dispatched to it.
    let area = Zone {
        id: ZoneId::new(),
        kind: ZoneKind::Area,
        name: "片区".into(),
        poi_kind: None,
        poi: None,
        code: Some("S1".into()),
        geometry: MultiPolygon(vec![polygon![
            (x: LON - 0.01, y: LAT - 0.01),
            (x: LON + 0.01, y: LAT - 0.01),
            (x: LON + 0.01, y: LAT + 0.01),
            (x: LON - 0.01, y: LAT + 0.01),
            (x: LON - 0.01, y: LAT - 0.01),
        ]]),
        external_id: None,
    };
    t.store.upsert_zone(&area).await.unwrap();
    t.store.assign(area.id, chief_id).await.unwrap();

    // The office adds two bus stops and draws every bus stop for the inspector.
    let mut points = Vec::new();
    for i in 0..2 {
        let r = post(
            &t,
            &office,
            "/api/v1/test-points",
            &json!({"kind": "bus_stop", "name": format!("公交站{i}"),
                    "location": [LON + 0.001 * f64::from(i), LAT], "owner": "巴士公司"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        points.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let r = post(
        &t,
        &office,
        "/api/v1/inspections",
        &json!({"name": "第1次模拟测评", "strata": [{"kind": "bus_stop"}], "seed": 42,
                "assignee": inspector_id}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let first = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["seed"], 42);

    // The inspector sees it and walks it; one fail becomes a dispatched problem.
    let mine = get(&t, &inspector, "/api/v1/inspections").await.json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let detail = get(&t, &inspector, &format!("/api/v1/inspections/{first}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text());
    let walk_points: Vec<String> = detail.json()["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    let stop0 = walk_points.iter().position(|p| *p == points[0]).unwrap();
    // Without the CSRF header a session's change is refused.
    let r = t
        .call(
            Method::POST,
            &format!("/api/v1/inspections/{first}/results"),
            &[
                ("content-type", "application/json"),
                ("cookie", &inspector.cookie),
            ],
            json!({"point": points[0], "item": "no_ad_posters", "pass": true}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post(
        &t,
        &inspector,
        &format!("/api/v1/inspections/{first}/results"),
        &json!({"point": points[0], "item": "no_ad_posters", "pass": false}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a fail needs a photo"
    );
    assert_eq!(r.error(), ("invalid".into(), Some("photos".into())));
    let created = walk(
        &t,
        &inspector,
        &first,
        &walk_points,
        &[(stop0, "no_ad_posters")],
        1,
    )
    .await;
    assert_eq!(created.len(), 1);
    let p = get(&t, &office, &format!("/api/v1/problems/{}", created[0]))
        .await
        .json();
    assert_eq!(p["properties"]["category"], "ad_posters");
    assert_eq!(p["properties"]["status"], "dispatched");
    assert_eq!(p["properties"]["assignee"], chief_id.to_string());
    let history = get(
        &t,
        &office,
        &format!("/api/v1/problems/{}/history", created[0]),
    )
    .await
    .json();
    assert!(
        history.to_string().contains(&first),
        "the created event names the inspection: {history}"
    );

    let r = get(&t, &office, "/api/v1/inspections/readiness").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let before = r.json()["overall"]["share"].as_f64().unwrap();
    // 2 points × 4.0 of weight, 0.5 failed.
    assert!((before - 7.5 / 8.0).abs() < 1e-9, "{before}");

    // The problem is fixed; the second inspection passes everything and scores higher.
    let p = get(&t, &office, &format!("/api/v1/problems/{}", created[0]))
        .await
        .json();
    let r = post(
        &t,
        &chief,
        &format!("/api/v1/problems/{}/rectify", created[0]),
        &json!({"version": p["properties"]["version"], "note": "已清除", "photos": [photo(&t, &chief, 77).await]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = post(
        &t,
        &office,
        "/api/v1/inspections",
        &json!({"name": "第2次模拟测评", "strata": [{"kind": "bus_stop", "count": 2}], "seed": 7,
                "assignee": inspector_id}),
    )
    .await;
    let second = r.json()["id"].as_str().unwrap().to_owned();
    assert!(
        walk(&t, &inspector, &second, &walk_points, &[], 9)
            .await
            .is_empty()
    );
    let r = get(&t, &office, "/api/v1/inspections/readiness")
        .await
        .json();
    assert_eq!(r["overall"]["share"], 1.0);
    let trend: Vec<f64> = r["trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["score"]["share"].as_f64().unwrap())
        .collect();
    assert_eq!(trend.len(), 2);
    assert!(trend[1] > trend[0], "{trend:?}");

    // Readiness as CSV and in the printed weekly report.
    let csv = get(&t, &office, "/api/v1/inspections/readiness?format=csv").await;
    assert!(csv.content_type().starts_with("text/csv"));
    assert!(
        csv.text().contains("kind,bus_stop,公交站点,10,0,100.0%"),
        "{}",
        csv.text()
    );
    let weekly = get(&t, &office, "/api/v1/assessment?format=html")
        .await
        .text();
    assert!(
        weekly.contains("迎检准备度") && weekly.contains("公交站点"),
        "{weekly}"
    );
    let weekly_csv = get(&t, &office, "/api/v1/assessment?format=csv")
        .await
        .text();
    assert!(weekly_csv.contains("overall,,总体"), "{weekly_csv}");

    // The public and reporters see nothing of it.
    for uri in [
        "/api/v1/inspections",
        "/api/v1/test-points",
        "/api/v1/inspections/readiness",
        "/api/v1/notices",
        &format!("/api/v1/inspections/{first}"),
    ] {
        assert_eq!(t.get(uri).await.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(
            get(&t, &reporter, uri).await.status,
            StatusCode::FORBIDDEN,
            "{uri}"
        );
    }
    // A numbered notice for the point that failed prints as a page (its latest inspection failed
    // nothing, so it is issued for the problem).
    let r = post(
        &t,
        &office,
        "/api/v1/notices",
        &json!({"problem": created[0], "unit": "巴士公司"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let notice = r.json();
    let number = notice["number"].as_str().unwrap().to_owned();
    assert!(
        number.starts_with("整改通知 20") && number.ends_with("-0001"),
        "{number}"
    );
    assert_eq!(notice["unit"], "巴士公司");
    let page = get(&t, &office, notice["print_url"].as_str().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"));
    let html = page.text();
    for text in [
        "整改通知单",
        number.as_str(),
        "巴士公司",
        "无小广告",
        "责任单位签收",
        "/api/v1/photos/",
    ] {
        assert!(html.contains(text), "the notice shows {text}");
    }
    let history = get(
        &t,
        &office,
        &format!("/api/v1/problems/{}/history", created[0]),
    )
    .await
    .json();
    assert!(
        history.to_string().contains(&number),
        "the history names the notice: {history}"
    );
}
