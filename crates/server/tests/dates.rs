//! A date alone in `from`/`to` (and the like) means that whole day in China Standard Time, on
//! every endpoint; `to` includes its day.
#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::{DateTime, TimeZone, Utc};
use civmap_domain::{CategoryTable, EventKind, LonLat, Problem, ProblemId, Severity, Status};
use civmap_store::NewEvent;
use common::{OFFICE_TOKEN, TestApp, setup};
use serde_json::Value;

/// An instant given in China Standard Time.
fn cst(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 12, d, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn problem(at: DateTime<Utc>) -> Problem {
    Problem {
        case_no: None,
        place: String::new(),
        id: ProblemId::new(),
        location: LonLat::new(121.5, 31.28).unwrap(),
        category: "garbage".into(),
        severity: Severity::Medium,
        status: Status::Reported,
        description: "垃圾".into(),
        reported_at: at,
        reporter: None,
        updated_at: at,
        deadline: None,
        assignee: None,
        zone: None,
        rework_count: 0,
        recurrence_of: None,
        merged_into: None,
        version: 1,
    }
}

/// Problems reported at 00:10 and 23:30 on 6 December in China, and at 00:30 on the 7th
/// (still the 6th in UTC); the application reloaded over them.
async fn world() -> (TestApp, Vec<String>) {
    let t = setup().await;
    let mut on_the_6th = Vec::new();
    for (at, inside) in [
        (cst(6, 0, 10), true),
        (cst(6, 23, 30), true),
        (cst(7, 0, 30), false),
        (cst(5, 23, 50), false),
    ] {
        let p = problem(at);
        t.store
            .insert_problem(&p, NewEvent::new(EventKind::Created, at))
            .await
            .unwrap();
        if inside {
            on_the_6th.push(p.id.to_string());
        }
    }
    on_the_6th.sort();
    let state = civmap_app::App::load(
        t.store.clone(),
        CategoryTable::builtin(),
        t.state.config().clone(),
    )
    .await
    .unwrap();
    let t = TestApp {
        app: civmap_server::app(state.clone()),
        state,
        ..t
    };
    (t, on_the_6th)
}

fn ids(features: &Value) -> Vec<String> {
    let mut v: Vec<String> = features
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_date_is_the_whole_day_in_china_on_every_endpoint() {
    let (t, on_the_6th) = world().await;
    let r = t
        .get_as(
            "/api/v1/problems?from=2026-12-06&to=2026-12-06",
            OFFICE_TOKEN,
        )
        .await;
    assert_eq!(ids(&r.json()["features"]), on_the_6th, "/api/v1/problems");
    let r = t
        .send_json(
            axum::http::Method::POST,
            "/api/v1/problems/search",
            OFFICE_TOKEN,
            &serde_json::json!({"from": "2026-12-06", "to": "2026-12-06"}),
        )
        .await;
    assert_eq!(ids(&r.json()["features"]), on_the_6th, "search");
    for q in ["datetime=2026-12-06", "datetime=2026-12-06/2026-12-06"] {
        let r = t
            .get_as(
                &format!("/ogc/collections/problems/items?{q}"),
                OFFICE_TOKEN,
            )
            .await;
        assert_eq!(ids(&r.json()["features"]), on_the_6th, "ogc {q}");
    }
    let r = t
        .get_as(
            "/open311/v2/requests.json?start_date=2026-12-06&end_date=2026-12-06",
            OFFICE_TOKEN,
        )
        .await;
    let mut got: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["service_request_id"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    assert_eq!(got, on_the_6th, "open311");
    // The assessment's period is [from, to): a `to` date includes its day.
    let r = t
        .get_as(
            "/api/v1/assessment?from=2026-12-06&to=2026-12-06",
            OFFICE_TOKEN,
        )
        .await
        .json();
    assert_eq!(r["rows"][0]["current"]["reported"], 2, "{r}");
    assert_eq!(r["from"], "2026-12-05T16:00:00.000Z");
    assert_eq!(r["to"], "2026-12-06T16:00:00.000Z");
}
