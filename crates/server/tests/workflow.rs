//! The whole life of a problem over HTTP with real accounts (signed in with a password, acting
//! with their own API tokens): report -> automatic dispatch with a working-hours deadline ->
//! rectify with an after photo -> reject -> rectify -> verify -> look-back "came back" ->
//! dispatched again -> fixed -> look-back "clean" -> a new report nearby flagged as recurrence,
//! a duplicate offered, an overdue problem escalated to the area-chief, the inbox, the live
//! feed, the assessment report and the zone ledger.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use civmap_domain::calendar::WorkCalendar;
use civmap_domain::{CategoryTable, Role, UserId};
use common::{OFFICE_TOKEN, Resp, TestApp, setup_with};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const PASSWORD: &str = "整改到位-civmap-2026";

/// Creates an account with a password, signs in as it and returns an API token of its own.
async fn account(t: &TestApp, name: &str, display: &str, role: Role) -> (UserId, String) {
    let (user, session) = common::password_session(t, name, display, role, PASSWORD).await;
    let r = t
        .call(
            Method::POST,
            "/api/v1/tokens",
            &[
                ("content-type", "application/json"),
                ("cookie", &session.cookie),
                ("x-csrf-token", &session.csrf),
            ],
            "{}",
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    (user, r.json()["token"].as_str().unwrap().to_owned())
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64, kind: &str, name: &str) -> Value {
    json!({"type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]},
        "properties": {"kind": kind, "name": name}})
}

async fn post(t: &TestApp, uri: &str, token: &str, body: &Value) -> Resp {
    t.send_json(Method::POST, uri, token, body).await
}

async fn problem(t: &TestApp, id: &str, token: &str) -> Value {
    let r = t.get_as(&format!("/api/v1/problems/{id}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

fn version(f: &Value) -> i64 {
    f["properties"]["version"].as_i64().unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn the_whole_life_of_a_problem() {
    let t = setup_with(|c| c.auth.login_per_minute = 1000).await;
    let (luzhang, lu) = account(&t, "luzhang.wang", "王路长", Role::RoadChief).await;
    let (kuaizhang, kuai) = account(&t, "kuaizhang.li", "李块长", Role::AreaChief).await;
    let (_, office) = account(&t, "jiedao.zhao", "赵科长", Role::StreetOffice).await;
    let (wangge_id, wangge) = account(&t, "wangge.chen", "陈网格员", Role::Reporter).await;

    // A road-chief's road zone inside an area-chief's area.
    let mut zone_ids = Vec::new();
    for z in [
        rect(
            121.5000,
            31.2800,
            121.5040,
            31.2804,
            "road",
            "四平路（测试段）",
        ),
        rect(121.4980, 31.2780, 121.5060, 31.2830, "area", "同济片区"),
    ] {
        let r = post(&t, "/api/v1/zones", OFFICE_TOKEN, &z).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        zone_ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let (road, area) = (zone_ids[0].clone(), zone_ids[1].clone());
    for (zone, user) in [(&road, luzhang), (&area, kuaizhang)] {
        let r = t
            .send_json(
                Method::PUT,
                &format!("/api/v1/zones/{zone}/assignees/{user}"),
                OFFICE_TOKEN,
                &json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    }

    // The road-chief follows live changes from now on.
    let req = axum::http::Request::get("/api/v1/me/stream")
        .header("authorization", format!("Bearer {lu}"))
        .body(Body::empty())
        .unwrap();
    let resp = t.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut live = resp.into_body();

    // 1. A grid worker reports garbage with a photo: dispatched at once to the road-chief,
    //    deadline 4 working hours on the working-day calendar.
    let before = t.upload_photo(&wangge, 1).await;
    let r = post(
        &t,
        "/api/v1/problems",
        &wangge,
        &json!({"lon": 121.5020, "lat": 31.2802, "category": "garbage",
                "description": "路口垃圾堆放", "photos": [before]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let f = problem(&t, &id, &office).await;
    let p = &f["properties"];
    assert_eq!(p["status"], "dispatched");
    assert_eq!(p["assignee"], luzhang.0.to_string().as_str());
    assert_eq!(p["zone"], road.as_str(), "the road zone wins over the area");
    let hours = CategoryTable::builtin()
        .by_code("garbage")
        .unwrap()
        .deadline_hours;
    let expected = WorkCalendar::builtin().add_working_hours(time(&p["reported_at"]), hours);
    assert_eq!(
        time(&p["deadline"]).timestamp_millis(),
        expected.timestamp_millis()
    );
    let h = t
        .get_as(&format!("/api/v1/problems/{id}/history"), &office)
        .await
        .json();
    let dispatched = &h["events"][1];
    assert_eq!(dispatched["kind"], "dispatched");
    assert_eq!(dispatched["actor"], Value::Null, "dispatched by the system");

    // It is the road-chief's task.
    let inbox = t.get_as("/api/v1/me/inbox", &lu).await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.text());
    assert_eq!(ids(&inbox.json()["tasks"]), vec![id.clone()]);

    // 2. Rectification needs a note and an after photo.
    let v = version(&f);
    let uri = format!("/api/v1/problems/{id}/rectify");
    let r = post(&t, &uri, &lu, &json!({"version": v, "note": "已清理"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error().1.as_deref(), Some("photos"));
    let after = t.upload_photo(&lu, 2).await;
    let r = post(&t, &uri, &lu, &json!({"version": v, "photos": [after]})).await;
    assert_eq!(r.error().1.as_deref(), Some("note"));
    let r = post(
        &t,
        &uri,
        &lu,
        &json!({"version": v, "note": "已清理", "photos": [after]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // The live feed told the road-chief.
    let seen = read_until(&mut live, &format!("\"id\":\"{id}\""), "rectified").await;
    assert!(seen.contains("\"mine\":true"), "{seen}");

    // 3. The street office rejects it (返工); it is back in the chief's rework list.
    let v = version(&problem(&t, &id, &office).await);
    let r = post(
        &t,
        &format!("/api/v1/problems/{id}/reject"),
        &office,
        &json!({"version": v, "note": "还有垃圾袋"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["properties"]["rework_count"], 1);
    let inbox = t.get_as("/api/v1/me/inbox", &lu).await.json();
    assert_eq!(ids(&inbox["rework"]), vec![id.clone()]);
    // Not verified: no public photo.
    let h = t
        .get(&format!("/api/v1/problems/{id}/history"))
        .await
        .json();
    assert!(h.get("public_photo").is_none(), "{h}");
    let r = t.get(&format!("/api/v1/problems/{id}/photo")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // 4. Fixed again, verified by the office (not the fixer).
    let v = version(&problem(&t, &id, &office).await);
    let after2 = t.upload_photo(&lu, 3).await;
    let r = post(
        &t,
        &uri,
        &lu,
        &json!({"version": v, "note": "彻底清理", "photos": [after2]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let inbox = t.get_as("/api/v1/me/inbox", &office).await.json();
    assert!(ids(&inbox["to_verify"]).contains(&id));
    let r = post(
        &t,
        &format!("/api/v1/problems/{id}/verify"),
        &lu,
        &json!({"version": v + 1}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a road-chief does not verify"
    );
    let r = post(
        &t,
        &format!("/api/v1/problems/{id}/verify"),
        &office,
        &json!({"version": v + 1}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["properties"]["status"], "closed");
    // Verified: the accepted fix's after photo is public; the reporter's photo never is.
    let h = t
        .get(&format!("/api/v1/problems/{id}/history"))
        .await
        .json();
    assert_eq!(
        h["public_photo"],
        format!("/api/v1/problems/{id}/photo").as_str()
    );
    let r = t.get(&format!("/api/v1/problems/{id}/photo")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.body,
        std::fs::read(t.store.photo_path(&after2).unwrap()).unwrap()
    );
    assert_ne!(after2, before);

    // 5. The look-back is due 7 days after closing, not before.
    let lu_actor = civmap_app::Actor {
        user: Some(luzhang),
        role: Role::RoadChief,
        authenticated: true,
        ip: None,
        token: None,
    };
    let scope = t.state.scope(&lu_actor);
    let now = Utc::now();
    assert!(t.state.reinspections_due(&scope, now).is_empty());
    let due = t.state.reinspections_due(&scope, now + Duration::days(8));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id.to_string(), id);
    assert_eq!(due[0].due_at - due[0].closed_at, Duration::days(7));
    // A restarted server knows the same look-backs (read back from the event log).
    let copy = civmap_store::Store::open(
        &format!("sqlite://{}", t.dir.path().join("civmap.db").display()),
        civmap_store::StoreOptions::default(),
    )
    .await
    .unwrap();
    let restarted = civmap_app::App::load(
        copy,
        CategoryTable::builtin(),
        civmap_app::config::Config::default(),
    )
    .await
    .unwrap();
    let all = civmap_app::Actor {
        user: None,
        role: Role::Admin,
        authenticated: true,
        ip: None,
        token: None,
    };
    let reloaded = restarted.reinspections_due(&restarted.scope(&all), now + Duration::days(8));
    assert_eq!(reloaded, due);

    // It came back (回潮): reopened and dispatched again to the same chief.
    let v = version(&problem(&t, &id, &office).await);
    let reinspect = format!("/api/v1/problems/{id}/reinspect");
    let r = post(
        &t,
        &reinspect,
        &lu,
        &json!({"version": v, "result": "dirty"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = post(
        &t,
        &reinspect,
        &lu,
        &json!({"version": v, "result": "came_back", "note": "又有人倒垃圾"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let p = &r.json()["properties"];
    assert_eq!(p["status"], "dispatched");
    assert_eq!(p["assignee"], luzhang.0.to_string().as_str());
    let r = post(
        &t,
        &reinspect,
        &lu,
        &json!({"version": version(&r.json()), "result": "clean"}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "only closed problems are re-inspected"
    );

    // Fixed and verified once more; this time the look-back finds it clean.
    let v = version(&problem(&t, &id, &office).await);
    let after3 = t.upload_photo(&lu, 4).await;
    let r = post(
        &t,
        &uri,
        &lu,
        &json!({"version": v, "note": "再次清理", "photos": [after3]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = post(
        &t,
        &format!("/api/v1/problems/{id}/verify"),
        &office,
        &json!({"version": v + 1}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = post(
        &t,
        &reinspect,
        &lu,
        &json!({"version": v + 2, "result": "clean"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["properties"]["status"], "closed");
    let due = t.state.reinspections_due(&scope, now + Duration::days(30));
    assert!(due.is_empty(), "re-inspected: no look-back due any more");
    let h = t
        .get_as(&format!("/api/v1/problems/{id}/history"), &office)
        .await
        .json();
    let kinds: Vec<&str> = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "dispatched",
            "rectified",
            "rejected",
            "rectified",
            "verified",
            "recurred",
            "dispatched",
            "rectified",
            "verified",
            "reinspected"
        ]
    );

    // 6. A new report 24 m away of the same category: a recurrence of the closed problem.
    let r = post(
        &t,
        "/api/v1/problems",
        &wangge,
        &json!({"lon": 121.50225, "lat": 31.2802, "category": "garbage", "description": "又堆了"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let again = r.json()["id"].as_str().unwrap().to_owned();
    let p = problem(&t, &again, &office).await;
    assert_eq!(p["properties"]["recurrence_of"], id.as_str());
    assert_eq!(p["properties"]["status"], "dispatched");
    assert!(
        r.json().get("possible_duplicates").is_none(),
        "the closed one is no duplicate"
    );
    // A second report 19 m from that open one (43 m from the closed one) is offered as its duplicate.
    let dup_photo = t.upload_photo(&wangge, 5).await;
    let r = post(
        &t,
        "/api/v1/problems",
        &wangge,
        &json!({"lon": 121.50245, "lat": 31.2802, "category": "garbage", "photos": [dup_photo]}),
    )
    .await;
    let dup = r.json()["id"].as_str().unwrap().to_owned();
    let offered = &r.json()["possible_duplicates"];
    assert_eq!(offered[0]["id"], again.as_str(), "{offered}");
    assert!(offered[0]["distance_m"].as_f64().unwrap() < 25.0);
    // The street office merges it: the problem kept records the second report and its photo.
    let v = version(&problem(&t, &dup, &office).await);
    let r = post(
        &t,
        &format!("/api/v1/problems/{dup}/merge"),
        &office,
        &json!({"version": v, "into": again}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let h = t
        .get_as(&format!("/api/v1/problems/{again}/history"), &office)
        .await
        .json();
    let last = h["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "edited");
    assert_eq!(last["data"]["merged_duplicate"], dup.as_str());
    assert_eq!(
        last["data"]["duplicate_reporter"],
        wangge_id.0.to_string().as_str()
    );
    assert_eq!(last["photos"], json!([dup_photo]));
    // Outside the road zone, inside the area: the area-chief gets it.
    let r = post(
        &t,
        "/api/v1/problems",
        &wangge,
        &json!({"lon": 121.5050, "lat": 31.2820, "category": "garbage"}),
    )
    .await;
    let far = r.json()["id"].as_str().unwrap().to_owned();
    let p = problem(&t, &far, &office).await;
    assert_eq!(
        p["properties"]["assignee"],
        kuaizhang.0.to_string().as_str()
    );

    // Recurrence hot spots: the road zone and the area around it, two recurrences each (the
    // first problem came back once; `again` is linked to it).
    let r = t.get_as("/api/v1/recurrences/hotspots", &office).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let spots = r.json()["zones"].as_array().unwrap().clone();
    let counts: Vec<(String, u64)> = spots
        .iter()
        .map(|z| {
            (
                z["zone"].as_str().unwrap().to_owned(),
                z["recurrences"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts.len(), 2, "{spots:?}");
    assert!(
        counts.contains(&(road.clone(), 2)) && counts.contains(&(area.clone(), 2)),
        "{counts:?}"
    );
    let r = t
        .get_as("/api/v1/recurrences/hotspots?kind=road", &office)
        .await;
    assert_eq!(r.json()["zones"].as_array().unwrap().len(), 1);
    let r = t
        .get_as("/api/v1/recurrences/hotspots?kind=lake", &office)
        .await;
    assert_eq!(r.error().1.as_deref(), Some("kind"));

    // 7. A month later the open problems are overdue: escalated to the area-chief.
    let n = t
        .state
        .escalate_overdue(Utc::now() + Duration::days(30))
        .await;
    assert_eq!(
        n, 2,
        "again and far were dispatched and are overdue (dup is merged)"
    );
    let p = problem(&t, &again, &office).await;
    assert_eq!(p["properties"]["status"], "escalated");
    assert_eq!(
        p["properties"]["assignee"],
        kuaizhang.0.to_string().as_str()
    );
    let h = t
        .get_as(&format!("/api/v1/problems/{again}/history"), &office)
        .await
        .json();
    let last = h["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "escalated");
    assert_eq!(last["actor"], Value::Null);
    assert!(last["note"].as_str().unwrap().contains("超期"), "{last}");
    let inbox = t.get_as("/api/v1/me/inbox", &kuai).await.json();
    let tasks = ids(&inbox["tasks"]);
    for p in [&again, &far] {
        assert!(tasks.contains(p), "{inbox}");
    }
    assert!(!tasks.contains(&dup));
    assert!(t.get_as("/api/v1/me/inbox", &lu).await.json()["tasks"]["count"] == 0);

    // 8. The assessment of the day, as the street office, counted by hand from the steps above.
    let from = (Utc::now() - Duration::days(1)).to_rfc3339();
    let to = (Utc::now() + Duration::days(1)).to_rfc3339();
    let q = format!(
        "/api/v1/assessment?from={}&to={}",
        common::enc(&from),
        common::enc(&to)
    );
    let r = t.get_as(&q, &office).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let row = &r.json()["rows"][0];
    assert_eq!(row["key"], "street");
    let c = &row["current"];
    assert_eq!(c["reported"], 3, "{c}: the merged duplicate does not count");
    assert_eq!(c["closed"], 2, "verified twice");
    assert_eq!(c["rectified"], 3);
    assert_eq!(c["rejected"], 1);
    assert!((c["rework_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(c["recurred"], 2, "came back once, one new report linked");
    assert_eq!(c["open"], 2);
    assert_eq!(row["previous"]["reported"], 0);
    // By chief, as a spreadsheet and as a printable page.
    let r = t.get_as(&format!("{q}&by=chief&format=csv"), &office).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/csv"));
    let text = r.text();
    assert!(text.starts_with('\u{feff}'), "a BOM for Excel");
    assert!(text.contains("王路长 (luzhang.wang)"), "{text}");
    let r = t.get_as(&format!("{q}&format=html"), &office).await;
    assert!(r.text().contains("综合评价周报"));
    let r = t.get_as(&format!("{q}&by=district"), &office).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error().1.as_deref(), Some("by"));
    let r = t.get_as("/api/v1/assessment", common::PUBLIC_TOKEN).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // 9. The road zone's ledger: every step of every problem in it, with who did it.
    let r = t
        .get_as(&format!("/api/v1/zones/{road}/ledger"), &office)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let text = r.text();
    let lines: Vec<&str> = text.lines().collect();
    // The first problem's 11 events, again's 4 (created, dispatched, the merge, escalated) and
    // the duplicate's 3 (created, dispatched, merged).
    assert_eq!(lines.len(), 1 + 11 + 4 + 3, "{text}");
    assert!(text.contains(",rejected,") && text.contains("还有垃圾袋"));
    assert!(text.contains("luzhang.wang") && text.contains(",system,"));
    // Times read as China Standard Time, as in the spreadsheet a clerk opens.
    let at_column = lines[0].split(',').position(|c| c == "at").unwrap();
    let times: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(at_column).unwrap())
        .collect();
    assert!(times.iter().all(|t| t.ends_with("+08:00")), "{times:?}");

    // A period: the events from the ninth one's instant on, then up to today (a date is that
    // whole day in China), then none from tomorrow.
    let ledger_path = format!("/api/v1/zones/{road}/ledger");
    let mut sorted = times.clone();
    sorted.sort_unstable();
    let from = sorted[8];
    let r = t
        .get_as(
            &format!("{ledger_path}?from={}", from.replace('+', "%2B")),
            &office,
        )
        .await;
    let (status, part) = (r.status, r.text());
    assert_eq!(status, StatusCode::OK, "{part}");
    let want = times.iter().filter(|t| **t >= from).count();
    assert_eq!(part.lines().count(), 1 + want, "{part}");
    assert!(want < times.len());
    let today = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
    let r = t
        .get_as(
            &format!("{ledger_path}?to={}", today.format("%Y-%m-%d")),
            &office,
        )
        .await;
    let (status, all) = (r.status, r.text());
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all, text);
    let tomorrow = today + chrono::Duration::days(1);
    let r = t
        .get_as(
            &format!("{ledger_path}?from={}", tomorrow.format("%Y-%m-%d")),
            &office,
        )
        .await;
    let (status, none) = (r.status, r.text());
    assert_eq!(status, StatusCode::OK, "{none}");
    assert_eq!(none.lines().count(), 1, "{none}");
    // A malformed (400) or reversed (422) period is refused, naming the field.
    let r = t
        .get_as(&format!("{ledger_path}?from=2026-13-01"), &office)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error().1.as_deref(), Some("from"));
    let r = t
        .get_as(
            &format!("{ledger_path}?from=2026-12-05&to=2026-12-01"),
            &office,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error().1.as_deref(), Some("to"));
}

/// Reads server-sent events until one contains both `a` and `b`; returns it.
async fn read_until(body: &mut Body, a: &str, b: &str) -> String {
    let mut buf = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_mins(1);
    loop {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .expect("the live event did not arrive")
            .unwrap()
            .unwrap();
        if let Ok(data) = frame.into_data() {
            buf.push_str(std::str::from_utf8(&data).unwrap());
        }
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if event.contains(a) && event.contains(b) {
                return event;
            }
        }
    }
}

#[tokio::test]
async fn workflow_settings_are_checked() {
    let mut c = civmap_app::config::Config::default();
    c.workflow.recurrence_m = f64::NAN;
    assert!(c.check().unwrap_err().to_string().contains("recurrence_m"));
    let mut c = civmap_app::config::Config::default();
    c.workflow.reinspect_after_days = 0;
    assert!(
        c.check()
            .unwrap_err()
            .to_string()
            .contains("reinspect_after_days")
    );
    let file = "[workflow]\ndispatch_order = [\"area\", \"road\"]\nrectify_needs_photo = false\n";
    let c = civmap_app::config::Config::from_layers(Some(file), std::iter::empty()).unwrap();
    assert!(!c.workflow.rectify_needs_photo);
    assert!(
        c.workflow.dispatch_rank(civmap_domain::ZoneKind::Area)
            < c.workflow.dispatch_rank(civmap_domain::ZoneKind::Road)
    );
    assert!(
        civmap_app::config::Config::from_layers(
            Some("[workflow]\nescalate = 1\n"),
            std::iter::empty()
        )
        .is_err()
    );
}

/// Dispatch order comes from the configuration: with `area` first, the area-chief gets a report
/// that also lies in a road zone.
#[tokio::test]
async fn dispatch_order_is_configurable() {
    let t = setup_with(|c| {
        c.workflow.dispatch_order =
            vec![civmap_domain::ZoneKind::Area, civmap_domain::ZoneKind::Road];
    })
    .await;
    let mut zone_ids = Vec::new();
    for z in [
        rect(121.5000, 31.2800, 121.5040, 31.2804, "road", "路"),
        rect(121.4980, 31.2780, 121.5060, 31.2830, "area", "片"),
    ] {
        let r = post(&t, "/api/v1/zones", OFFICE_TOKEN, &z).await;
        zone_ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    for (zone, user) in [(&zone_ids[0], t.chief), (&zone_ids[1], t.other_office)] {
        let r = t
            .send_json(
                Method::PUT,
                &format!("/api/v1/zones/{zone}/assignees/{user}"),
                OFFICE_TOKEN,
                &json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    let f = t.report(121.5020, 31.2802, "garbage").await;
    assert_eq!(
        f["properties"]["assignee"],
        t.other_office.0.to_string().as_str()
    );
    assert_eq!(f["properties"]["zone"], zone_ids[1].as_str());
}

/// A real 1200 x 800 PNG: staff get it back as stored and as a JPEG thumbnail of 320 x 213;
/// the public get nothing.
#[tokio::test]
async fn photos_are_served_to_staff_with_thumbnails() {
    let t = common::setup().await;
    let img = image::RgbImage::from_fn(1200, 800, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let auth = format!("Bearer {}", common::CHIEF_TOKEN);
    let r = t
        .call(
            Method::POST,
            "/api/v1/photos",
            &[("authorization", &auth)],
            png.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let full = t
        .get_as(&format!("/api/v1/photos/{id}"), OFFICE_TOKEN)
        .await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.content_type(), "image/png");
    assert_eq!(
        full.body,
        std::fs::read(t.store.photo_path(&id).unwrap()).unwrap()
    );
    let thumb = t
        .get_as(&format!("/api/v1/photos/{id}?size=thumb"), OFFICE_TOKEN)
        .await;
    assert_eq!(thumb.status, StatusCode::OK);
    assert_eq!(thumb.content_type(), "image/jpeg");
    let small = image::load_from_memory(&thumb.body).unwrap();
    assert_eq!((small.width(), small.height()), (320, 213));
    assert!(thumb.body.len() < full.body.len());
    // Not for the public; bad ids and sizes are named.
    let r = t.get(&format!("/api/v1/photos/{id}")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = t
        .get_as(&format!("/api/v1/photos/{id}"), common::PUBLIC_TOKEN)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t.get_as("/api/v1/photos/..%2F..%2Fetc", OFFICE_TOKEN).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error().1.as_deref(), Some("id"));
    let r = t
        .get_as(&format!("/api/v1/photos/{}", "0".repeat(64)), OFFICE_TOKEN)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t
        .get_as(&format!("/api/v1/photos/{id}?size=huge"), OFFICE_TOKEN)
        .await;
    assert_eq!(r.error().1.as_deref(), Some("size"));
    // A structurally valid JPEG that does not decode gets no thumbnail: the original is served.
    let fake = t.upload_photo(common::CHIEF_TOKEN, 9).await;
    let r = t
        .get_as(&format!("/api/v1/photos/{fake}?size=thumb"), OFFICE_TOKEN)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        std::fs::read(t.store.photo_path(&fake).unwrap()).unwrap()
    );
}

/// A grid worker sees its own reports, newest first, with their status; nobody else's.
#[tokio::test]
async fn a_reporter_sees_its_own_reports() {
    let t = setup_with(|c| c.auth.login_per_minute = 1000).await;
    let (_, me) = account(&t, "wangge.li", "李网格员", Role::Reporter).await;
    let (_, other) = account(&t, "wangge.sun", "孙网格员", Role::Reporter).await;
    let mut mine = Vec::new();
    for (i, cat) in ["garbage", "illegal_parking"].iter().enumerate() {
        let r = post(
            &t,
            "/api/v1/problems",
            &me,
            &json!({"lon": 121.50 + 0.001 * i as f64, "lat": 31.28, "category": cat, "description": "我报的"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        mine.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let r = post(
        &t,
        "/api/v1/problems",
        &other,
        &json!({"lon": 121.51, "lat": 31.28, "category": "garbage", "description": "别人报的"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = t.get_as("/api/v1/me/reports", &me).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let got: Vec<String> = r.json()["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    mine.reverse();
    assert_eq!(got, mine, "newest first, only mine");
    assert_eq!(r.json()["numberMatched"], 2);
    assert_eq!(r.json()["features"][0]["properties"]["status"], "reported");
    assert!(
        r.json()["features"][0]["properties"]
            .get("reporter")
            .is_none(),
        "the public view"
    );
    let r = t.get("/api/v1/me/reports").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// The weekly report's printed page and spreadsheet give the period in China Standard Time,
/// the last day inclusive, as the panel shows it: the week of Monday 30 November to Sunday
/// 6 December, not the UTC dates 29 November – 6 December of its instants.
#[tokio::test]
async fn the_weekly_report_prints_its_days_in_china_standard_time() {
    let t = common::setup().await;
    let q = "/api/v1/assessment?from=2026-11-30&to=2026-12-06";
    let r = t
        .get_as(&format!("{q}&format=html"), common::OFFICE_TOKEN)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(
        html.contains("本期 period 2026-11-30 – 2026-12-06"),
        "{html}"
    );
    assert!(
        html.contains("上期 previous 2026-11-23 – 2026-11-29"),
        "{html}"
    );
    let r = t
        .get_as(&format!("{q}&format=csv"), common::OFFICE_TOKEN)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let csv = r.text();
    for want in [
        "2026-11-30T00:00:00.000+08:00",
        "2026-12-07T00:00:00.000+08:00",
        "2026-11-23T00:00:00.000+08:00",
    ] {
        assert!(csv.contains(want), "{want} in {csv}");
    }
    assert!(
        !csv.contains("Z,"),
        "no UTC instants in the spreadsheet: {csv}"
    );
}
