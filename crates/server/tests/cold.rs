//! A cold problem over HTTP (issue 16): a problem closed before the hot window has left memory
//! and still answers — its page `/p/{case}`, `GET /api/v1/problems/{id}` and by case number, its
//! history and its zone's ledger — for a street office signed in through the sign-in form's
//! endpoint (session cookie; CSRF on the write); a look-back that reopens it brings it back.
// A scenario reads best top to bottom, whatever its length.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use civmap_domain::{
    CategoryTable, EventKind, NewProblem, Role, Severity, Status, Zone, ZoneId, ZoneKind,
};
use civmap_store::NewEvent;
use common::{Resp, Session, TestApp, password_session, setup_with};
use geo::{MultiPolygon, polygon};
use serde_json::json;

const LON: f64 = 121.500;
const LAT: f64 = 31.280;

async fn get(t: &TestApp, s: &Session, uri: &str) -> Resp {
    t.call(Method::GET, uri, &[("cookie", &*s.cookie)], Body::empty())
        .await
}

#[tokio::test]
async fn a_cold_problem_answers_over_http() {
    let t = setup_with(|c| c.workflow.escalation_check_s = 0).await;
    let (office, s) =
        password_session(&t, "wangzr", "王主任", Role::StreetOffice, "correct horse").await;
    let h = 0.002;
    let zone = Zone {
        id: ZoneId::new(),
        kind: ZoneKind::Area,
        name: "东片".into(),
        poi_kind: None,
        poi: None,
        code: None,
        geometry: MultiPolygon(vec![polygon![
            (x: LON - h, y: LAT - h), (x: LON + h, y: LAT - h), (x: LON + h, y: LAT + h),
            (x: LON - h, y: LAT + h), (x: LON - h, y: LAT - h),
        ]]),
        external_id: None,
    };
    t.store.upsert_zone(&zone).await.unwrap();
    // Reported and closed two years ago (written as an import of old cases would be).
    let reported = civmap_store::ms_precision(Utc::now() - Duration::days(730));
    let mut p = NewProblem {
        lon: LON,
        lat: LAT,
        category: "garbage".into(),
        severity: Severity::Medium,
        description: "垃圾堆放".into(),
    }
    .validate(&CategoryTable::builtin(), Some(office), reported)
    .unwrap();
    t.store
        .insert_problem(&p, NewEvent::new(EventKind::Created, reported))
        .await
        .unwrap();
    for (v, (kind, status, days)) in [
        (EventKind::Dispatched, Status::Dispatched, 729),
        (EventKind::Rectified, Status::Rectified, 728),
        (EventKind::Verified, Status::Closed, 727),
    ]
    .into_iter()
    .enumerate()
    {
        let at = civmap_store::ms_precision(Utc::now() - Duration::days(days));
        p.status = status;
        p.updated_at = at;
        p.zone = Some(zone.id);
        t.store
            .update_problem(&p, v as i64 + 1, NewEvent::new(kind, at))
            .await
            .unwrap();
    }
    let id = p.id;
    // The eviction pass of the 400-day window: it leaves memory.
    assert!(t.state.in_memory(id));
    assert_eq!(t.state.evict_before(t.state.window_start(Utc::now())), 1);
    assert!(!t.state.in_memory(id));
    let case = t
        .store
        .get_problem(id)
        .await
        .unwrap()
        .unwrap()
        .case_no
        .unwrap()
        .to_string();

    let r = get(&t, &s, &format!("/p/{case}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let page = r.text();
    assert!(
        page.contains(&case) && page.contains("已结案") && page.contains("核查通过，结案"),
        "{page}"
    );

    for path in [id.to_string(), case.clone()] {
        let r = get(&t, &s, &format!("/api/v1/problems/{path}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let f = r.json();
        assert_eq!(f["id"], id.to_string());
        assert_eq!(f["properties"]["status"], "closed");
        assert_eq!(f["properties"]["case_no"], case.as_str());
    }
    let r = get(&t, &s, &format!("/api/v1/problems/{id}/history")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let kinds: Vec<String> = r.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["created", "dispatched", "rectified", "verified"]);
    let r = get(&t, &s, &format!("/api/v1/zones/{}/ledger", zone.id)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let csv = r.text();
    assert_eq!(csv.matches(&id.to_string()).count(), 4, "{csv}");
    // The public reads the page too; an unknown case number is still the Chinese 404 page.
    assert_eq!(t.get(&format!("/p/{case}")).await.status, StatusCode::OK);
    assert_eq!(
        t.get("/p/CM200101-9999").await.status,
        StatusCode::NOT_FOUND
    );

    // A look-back finds it back (回潮): a write with the session's CSRF token; memory has it again.
    let r = t
        .call(
            Method::POST,
            &format!("/api/v1/problems/{id}/reinspect"),
            &[
                ("content-type", "application/json"),
                ("cookie", &*s.cookie),
                ("x-csrf-token", &*s.csrf),
            ],
            json!({"version": 4, "result": "came_back", "note": "又堆上了"}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(t.state.in_memory(id));
    assert_ne!(t.state.problem(id).unwrap().status, Status::Closed);
}
