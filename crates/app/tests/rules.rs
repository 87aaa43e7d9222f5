//! The rules of the workflow, tested on the service itself (no HTTP): who may take which step,
//! four-eyes verification, scope for each role, dispatch order, escalation, look-back
//! scheduling and the assessment figures. A fresh SQLite store per test.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use chrono::{Duration, Utc};
use civmap_app::config::{ApiToken, Config};
use civmap_app::problems::{ReportDetails, TransitionDetails};
use civmap_app::reports::assessment::GroupBy;
use civmap_app::workflow::lookback::Reinspection;
use civmap_app::{Actor, App, ServiceError};
use civmap_domain::assessment::Period;
use civmap_domain::{
    Action, CategoryTable, NewProblem, Problem, Role, Severity, Status, User, UserId, Zone, ZoneId,
    ZoneKind,
};
use civmap_store::{Store, StoreOptions};
use geo::{MultiPolygon, polygon};

/// The centre of every test zone: a street corner in Yangpu, Shanghai.
const LON: f64 = 121.500;
const LAT: f64 = 31.280;

struct World {
    app: App,
    _dir: tempfile::TempDir,
    point: ZoneId,
    road: ZoneId,
    area: ZoneId,
    point_chief: Actor,
    road_chief: Actor,
    area_chief: Actor,
    office: Actor,
}

/// A square of `half` degrees around the centre.
fn square(half: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![
        (x: LON - half, y: LAT - half),
        (x: LON + half, y: LAT - half),
        (x: LON + half, y: LAT + half),
        (x: LON - half, y: LAT + half),
        (x: LON - half, y: LAT - half),
    ]])
}

fn zone(kind: ZoneKind, name: &str, half: f64, code: Option<&str>) -> Zone {
    Zone {
        id: ZoneId::new(),
        kind,
        name: name.into(),
        poi_kind: None,
        poi: None,
        code: code.map(str::to_owned),
        geometry: square(half),
        external_id: None,
    }
}

async fn person(store: &Store, name: &str, role: Role, street: Option<&str>) -> Actor {
    let u = User {
        id: UserId::new(),
        name: name.into(),
        display_name: name.into(),
        role,
        street: street.map(str::to_owned),
        password_hash: String::new(),
        disabled: false,
        created_at: Utc::now(),
    };
    store.create_user(&u).await.unwrap();
    Actor {
        user: Some(u.id),
        role,
        authenticated: true,
        ip: None,
        token: None,
    }
}

/// Nested zones around the centre — a school gate (point) on a road inside an area of the
/// street `S1` — each with its chief, and a street office of `S1`.
async fn world(tune: impl FnOnce(&mut Config)) -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::open(
        &url,
        StoreOptions {
            synchronous_full: false,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let point = zone(ZoneKind::Point, "校门", 0.0003, Some("S1-P1"));
    let road = zone(ZoneKind::Road, "四平路", 0.001, Some("S1-R1"));
    let area = zone(ZoneKind::Area, "片区", 0.003, Some("S1"));
    for z in [&point, &road, &area] {
        store.upsert_zone(z).await.unwrap();
    }
    let point_chief = person(&store, "dianzhang", Role::PointChief, None).await;
    let road_chief = person(&store, "luzhang", Role::RoadChief, None).await;
    let area_chief = person(&store, "pianzhang", Role::AreaChief, None).await;
    let office = person(&store, "jiedao", Role::StreetOffice, Some("S1")).await;
    for (z, a) in [
        (&point, &point_chief),
        (&road, &road_chief),
        (&area, &area_chief),
    ] {
        store.assign(z.id, a.user.unwrap()).await.unwrap();
    }
    let mut config = Config::default();
    config.workflow.rectify_needs_photo = false;
    config.workflow.escalation_check_s = 0;
    tune(&mut config);
    let app = App::load(store, CategoryTable::builtin(), config)
        .await
        .unwrap();
    World {
        app,
        _dir: dir,
        point: point.id,
        road: road.id,
        area: area.id,
        point_chief,
        road_chief,
        area_chief,
        office,
    }
}

fn anonymous() -> Actor {
    Actor {
        user: None,
        role: Role::Public,
        authenticated: false,
        ip: None,
        token: None,
    }
}

/// A report `dx` degrees east of the centre.
async fn report(w: &World, dx: f64) -> Problem {
    w.app
        .create(
            NewProblem {
                lon: LON + dx,
                lat: LAT,
                category: "garbage".into(),
                severity: Severity::Medium,
                description: "垃圾堆放".into(),
            },
            &anonymous(),
            ReportDetails::via("test"),
        )
        .await
        .unwrap()
}

fn note(text: &str) -> TransitionDetails {
    TransitionDetails {
        note: text.into(),
        ..TransitionDetails::default()
    }
}

#[tokio::test]
async fn a_report_goes_to_the_chief_of_the_most_specific_zone() {
    let w = world(|_| {}).await;
    // At the gate: the point-chief.
    let p = report(&w, 0.0).await;
    assert_eq!(p.status, Status::Dispatched);
    assert_eq!((p.zone, p.assignee), (Some(w.point), w.point_chief.user));
    assert!(p.deadline.is_some_and(|d| d > Utc::now()));
    // On the road, away from the gate: the road-chief.
    let p = report(&w, 0.0007).await;
    assert_eq!((p.zone, p.assignee), (Some(w.road), w.road_chief.user));
    // In the area only: the area-chief.
    let p = report(&w, 0.002).await;
    assert_eq!((p.zone, p.assignee), (Some(w.area), w.area_chief.user));
    // Outside every zone: waits for the street office.
    let p = report(&w, 0.01).await;
    assert_eq!((p.status, p.assignee), (Status::Reported, None));
}

#[tokio::test]
async fn the_dispatch_order_is_configurable() {
    let w = world(|c| {
        c.workflow.dispatch_order = vec![ZoneKind::Road, ZoneKind::Point, ZoneKind::Area];
    })
    .await;
    let p = report(&w, 0.0).await;
    assert_eq!((p.zone, p.assignee), (Some(w.road), w.road_chief.user));
}

#[tokio::test]
async fn each_role_sees_its_scope_and_nothing_else_exists_for_it() {
    let w = world(|_| {}).await;
    let at_gate = report(&w, 0.0).await;
    let on_road = report(&w, 0.0007).await;
    let outside = report(&w, 0.01).await;
    let sees = |a: &Actor, p: &Problem| w.app.visible(&w.app.scope(a), p.id);
    // The point-chief: its gate only.
    assert!(sees(&w.point_chief, &at_gate));
    assert!(!sees(&w.point_chief, &on_road));
    // The road-chief: its road (the gate lies on it).
    assert!(sees(&w.road_chief, &on_road) && sees(&w.road_chief, &at_gate));
    assert!(!sees(&w.road_chief, &outside));
    // The street office of S1: the zones coded S1 and S1-…, not the problem outside them.
    assert!(sees(&w.office, &on_road));
    assert!(!sees(&w.office, &outside));
    // Outside its scope a problem does not exist: the same answer as for a made-up id.
    let e = w
        .app
        .problem_for(&w.point_chief, on_road.id)
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::NotFound(_)), "{e:?}");
    // The public sees everything (without personal data, which is the renderer's part).
    assert!(sees(&anonymous(), &outside));
}

#[tokio::test]
async fn steps_the_status_does_not_allow_and_stale_versions_are_conflicts() {
    let w = world(|_| {}).await;
    // Outside every zone: only an admin sees it (a static token with the admin role).
    let admin = Actor {
        user: None,
        role: Role::Admin,
        authenticated: true,
        ip: None,
        token: None,
    };
    let p = report(&w, 0.01).await;
    assert_eq!(p.status, Status::Reported);
    // Verifying what was never rectified.
    let e = w
        .app
        .transition(p.id, Action::Verify, p.version, note(""), &admin)
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Conflict { .. }), "{e:?}");
    // A version the caller did not see.
    let e = w
        .app
        .transition(p.id, Action::Dispatch, p.version - 1, note(""), &admin)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ServiceError::Conflict { current_version: Some(v), .. } if v == p.version),
        "{e:?}"
    );
    // A rectification without a note.
    let p = report(&w, 0.0).await;
    let e = w
        .app
        .transition(p.id, Action::Rectify, p.version, note(""), &w.point_chief)
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("note"));
}

#[tokio::test]
async fn the_one_who_fixed_it_may_not_verify_it() {
    let w = world(|_| {}).await;
    // In the area only: dispatched to the area-chief, who may also verify.
    let p = report(&w, 0.002).await;
    let p = w
        .app
        .transition(
            p.id,
            Action::Rectify,
            p.version,
            note("已清理"),
            &w.area_chief,
        )
        .await
        .unwrap();
    let e = w
        .app
        .transition(p.id, Action::Verify, p.version, note(""), &w.area_chief)
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Forbidden(_)), "{e:?}");
    let p = w
        .app
        .transition(p.id, Action::Verify, p.version, note(""), &w.office)
        .await
        .unwrap();
    assert_eq!(p.status, Status::Closed);
}

/// Four eyes between identities of any kind: a static `[[api_tokens]]` token acting for no
/// account may not verify its own fix; another token, or a person, may.
#[tokio::test]
async fn a_static_token_may_not_verify_its_own_fix() {
    let w = world(|c| {
        for name in ["hotline-bot", "inspector-bot"] {
            c.api_tokens.push(ApiToken {
                token: format!("{name}-secret-0123456789"),
                role: Role::StreetOffice,
                user: None,
                name: name.into(),
            });
        }
    })
    .await;
    let bot = |name: &str| {
        w.app
            .static_token(&format!("{name}-secret-0123456789"), None)
            .unwrap()
            .actor
    };
    let (fixer, other) = (bot("hotline-bot"), bot("inspector-bot"));
    assert_eq!(fixer.user, None);
    let p = report(&w, 0.002).await;
    let p = w
        .app
        .transition(p.id, Action::Rectify, p.version, note("已清理"), &fixer)
        .await
        .unwrap();
    let e = w
        .app
        .transition(p.id, Action::Verify, p.version, note(""), &fixer)
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Forbidden(_)), "{e:?}");
    let p = w
        .app
        .transition(p.id, Action::Verify, p.version, note(""), &other)
        .await
        .unwrap();
    assert_eq!(p.status, Status::Closed);
}

#[tokio::test]
async fn overdue_problems_go_to_the_area_chief() {
    let w = world(|_| {}).await;
    let p = report(&w, 0.0007).await;
    assert_eq!(p.assignee, w.road_chief.user);
    // Nothing is overdue yet.
    assert_eq!(w.app.escalate_overdue(Utc::now()).await, 0);
    let later = p.deadline.unwrap() + Duration::hours(1);
    assert_eq!(w.app.escalate_overdue(later).await, 1);
    let p = w.app.problem(p.id).unwrap();
    assert_eq!(
        (p.status, p.assignee),
        (Status::Escalated, w.area_chief.user)
    );
    assert_eq!(w.app.escalate_overdue(later).await, 0, "escalated once");
}

/// Dispatched at the gate, rectified by the point-chief and verified by the street office.
async fn closed(w: &World) -> Problem {
    let p = report(w, 0.0).await;
    let p = w
        .app
        .transition(
            p.id,
            Action::Rectify,
            p.version,
            note("已清理"),
            &w.point_chief,
        )
        .await
        .unwrap();
    w.app
        .transition(p.id, Action::Verify, p.version, note(""), &w.office)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_look_back_is_due_days_after_closing_and_came_back_reopens() {
    let w = world(|c| c.workflow.reinspect_after_days = 7).await;
    let p = closed(&w).await;
    let scope = w.app.scope(&w.office);
    let now = Utc::now();
    assert!(w.app.reinspections_due(&scope, now).is_empty());
    assert!(
        w.app
            .reinspections_due(&scope, now + Duration::days(6))
            .is_empty()
    );
    let due = w.app.reinspections_due(&scope, now + Duration::days(7));
    assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), vec![p.id]);
    assert_eq!(due[0].due_at - due[0].closed_at, Duration::days(7));
    // Outside the point-chief's zone nobody else is told.
    let other = report(&w, 0.01).await;
    assert!(!w.app.visible(&w.app.scope(&w.point_chief), other.id));
    // Came back: reopened, dispatched again to the chief who had it, no longer due.
    let back = w
        .app
        .reinspect(
            p.id,
            p.version,
            Reinspection::CameBack,
            String::new(),
            Vec::new(),
            &w.office,
        )
        .await
        .unwrap();
    assert_eq!(
        (back.status, back.assignee),
        (Status::Dispatched, w.point_chief.user)
    );
    assert!(
        w.app
            .reinspections_due(&scope, now + Duration::days(30))
            .is_empty()
    );
    // Clean: recorded, stays closed, no longer due.
    let q = closed(&w).await;
    let q = w
        .app
        .reinspect(
            q.id,
            q.version,
            Reinspection::Clean,
            String::new(),
            Vec::new(),
            &w.office,
        )
        .await
        .unwrap();
    assert_eq!(q.status, Status::Closed);
    assert!(
        w.app
            .reinspections_due(&scope, now + Duration::days(30))
            .is_empty()
    );
}

#[tokio::test]
async fn the_assessment_counts_what_happened_in_the_period() {
    let w = world(|_| {}).await;
    // Counted by hand: three reports; one fixed after a rejection and verified; one fixed and
    // verified; one still open.
    let a = report(&w, 0.0).await;
    let a = w
        .app
        .transition(
            a.id,
            Action::Rectify,
            a.version,
            note("清理"),
            &w.point_chief,
        )
        .await
        .unwrap();
    let a = w
        .app
        .transition(
            a.id,
            Action::Reject,
            a.version,
            note("还有垃圾袋"),
            &w.office,
        )
        .await
        .unwrap();
    let a = w
        .app
        .transition(
            a.id,
            Action::Rectify,
            a.version,
            note("清理干净"),
            &w.point_chief,
        )
        .await
        .unwrap();
    w.app
        .transition(a.id, Action::Verify, a.version, note(""), &w.office)
        .await
        .unwrap();
    closed(&w).await;
    report(&w, 0.0007).await;
    let now = Utc::now();
    let period = Period {
        from: now - Duration::days(1),
        to: now + Duration::days(1),
    };
    let r = w
        .app
        .assessment(&w.office, period, GroupBy::Street)
        .await
        .unwrap();
    assert_eq!(r.rows.len(), 1);
    let f = &r.rows[0].current;
    assert_eq!(
        (f.reported, f.closed, f.rectified, f.rejected, f.open),
        (3, 2, 3, 1, 1)
    );
    assert!((f.rework_rate.unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(r.rows[0].previous.reported, 0);
    // By chief: the point-chief's row holds the two fixed at the gate.
    let r = w
        .app
        .assessment(&w.office, period, GroupBy::Chief)
        .await
        .unwrap();
    let point = r
        .rows
        .iter()
        .find(|row| row.key == w.point_chief.user.unwrap().to_string())
        .unwrap();
    assert_eq!((point.current.reported, point.current.closed), (2, 2));
    assert_eq!(point.name, "dianzhang (dianzhang)");
}

/// A problem verified, then reopened by a look-back (`came_back`, 回潮), has a new deadline; in
/// the period of that deadline it is due but not closed on time (its old verification does not
/// count) and its reopening counts under recurrence. Verified again in time, it is on time.
#[tokio::test]
async fn a_problem_that_came_back_is_not_closed_on_time_for_its_new_deadline() {
    let w = world(|_| {}).await;
    let p = closed(&w).await;
    let back = w
        .app
        .reinspect(
            p.id,
            p.version,
            Reinspection::CameBack,
            String::new(),
            Vec::new(),
            &w.office,
        )
        .await
        .unwrap();
    let deadline = back.deadline.unwrap();
    assert!(deadline > Utc::now(), "a new deadline");
    let period = Period {
        from: Utc::now() - Duration::days(1),
        to: deadline + Duration::days(1),
    };
    let figures = |w: &World| {
        let app = w.app.clone();
        let office = w.office.clone();
        async move {
            let r = app
                .assessment(&office, period, GroupBy::Street)
                .await
                .unwrap();
            r.rows[0].current.clone()
        }
    };
    let f = figures(&w).await;
    assert_eq!((f.due, f.closed_on_time, f.recurred), (1, 0, 1), "{f:?}");
    assert_eq!(f.on_time_rate, Some(0.0));
    // Fixed and verified again before the new deadline: on time.
    let back = w
        .app
        .transition(
            back.id,
            Action::Rectify,
            back.version,
            note("再次清理"),
            &w.point_chief,
        )
        .await
        .unwrap();
    w.app
        .transition(back.id, Action::Verify, back.version, note(""), &w.office)
        .await
        .unwrap();
    let f = figures(&w).await;
    assert_eq!((f.due, f.closed_on_time, f.recurred), (1, 1, 1), "{f:?}");
}

/// The inbox pages its lists instead of cutting them: 205 tasks are counted, the first answer
/// holds 200, and the pages after it hold the rest, each once, in the same order.
#[tokio::test]
async fn inbox_lists_are_paged_not_cut() {
    use civmap_app::reports::inbox::{INBOX_PAGE, InboxKind};
    // The reports are anonymous: let them all through the rate limiter.
    let w = world(|c| c.limits.anonymous_write_burst = 1000).await;
    for _ in 0..INBOX_PAGE + 5 {
        report(&w, 0.0).await;
    }
    let now = Utc::now();
    let first = w.app.inbox(&w.point_chief, now).tasks;
    assert_eq!(
        (first.count, first.items.len()),
        (INBOX_PAGE + 5, INBOX_PAGE)
    );
    assert_eq!(first.next_offset(), Some(INBOX_PAGE));
    let mut seen: Vec<civmap_domain::ProblemId> = first.items.iter().map(|i| i.id).collect();
    let mut offset = first.next_offset();
    while let Some(o) = offset {
        let page = w
            .app
            .inbox_page(&w.point_chief, now, InboxKind::Tasks, o, 2);
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|i| i.id));
        offset = page.next_offset();
    }
    let whole = w
        .app
        .inbox_page(&w.point_chief, now, InboxKind::Tasks, 0, 1000);
    assert_eq!(whole.next_offset(), None);
    assert_eq!(
        seen,
        whole.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        "every task once, in order"
    );
}

#[tokio::test]
async fn a_chief_fixes_on_the_spot_what_it_finds_reported_in_its_own_zone() {
    // Reports wait for the street office (no automatic dispatch), as imported ones do.
    let w = world(|c| c.workflow.auto_dispatch = false).await;
    let at_gate = report(&w, 0.0).await;
    assert_eq!((at_gate.status, at_gate.assignee), (Status::Reported, None));
    // The point-chief finds it at its gate and fixes it: rectified, and its own now.
    let fixed = w
        .app
        .transition(
            at_gate.id,
            Action::Rectify,
            at_gate.version,
            note("当场清理完毕"),
            &w.point_chief,
        )
        .await
        .unwrap();
    assert_eq!(fixed.status, Status::Rectified);
    assert_eq!(fixed.assignee, w.point_chief.user);
    let history = w.app.history_for(&w.office, at_gate.id).await.unwrap();
    let ev = history.last().unwrap();
    assert_eq!(ev.data["self_fix"], true, "{:?}", ev.data);
    // ... and someone else verifies it (four eyes hold for a fix on the spot too).
    let e = w
        .app
        .transition(
            fixed.id,
            Action::Verify,
            fixed.version,
            note(""),
            &w.point_chief,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Forbidden(_)), "{e:?}");
    w.app
        .transition(
            fixed.id,
            Action::Verify,
            fixed.version,
            note(""),
            &w.area_chief,
        )
        .await
        .unwrap();
    // A problem outside its zone does not exist for the point-chief: no fixing it either.
    let on_road = report(&w, 0.0007).await;
    let e = w
        .app
        .transition(
            on_road.id,
            Action::Rectify,
            on_road.version,
            note("不在我的责任区"),
            &w.point_chief,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::NotFound(_)), "{e:?}");
}

#[tokio::test]
async fn only_the_street_office_decides_what_the_public_reads_of_a_description() {
    use civmap_app::moderation::PublicDescription;
    use civmap_app::privacy::HIDDEN_DESCRIPTION;
    let w = world(|_| {}).await;
    let p = report(&w, 0.0).await;
    let before = w.app.problem(p.id).unwrap().version;
    // Chiefs, even the area-chief who may edit fields, and anonymous callers may not.
    let e = w
        .app
        .set_public_description(p.id, PublicDescription::Hidden, "隐私", &w.area_chief)
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Forbidden(_)), "{e}");
    let e = w
        .app
        .set_public_description(p.id, PublicDescription::Hidden, "隐私", &anonymous())
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Unauthorized(_)), "{e}");
    // A reason is required; a wording may not be empty.
    let e = w
        .app
        .set_public_description(p.id, PublicDescription::Hidden, " ", &w.office)
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Invalid { .. }), "{e}");
    let e = w
        .app
        .set_public_description(
            p.id,
            PublicDescription::Wording(String::new()),
            "改写",
            &w.office,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Invalid { .. }), "{e}");
    // Nothing was stored by the refusals.
    assert!(w.app.public_texts().get(p.id).is_none());

    let t = w
        .app
        .set_public_description(p.id, PublicDescription::Hidden, "涉及隐私", &w.office)
        .await
        .unwrap();
    assert!(t.hidden && t.updated_by == w.office.user);
    assert_eq!(
        w.app.public_texts().describe(p.id, &p.description),
        HIDDEN_DESCRIPTION
    );
    // The description as written and the version are the problem's own and did not change.
    let now = w.app.problem(p.id).unwrap();
    assert_eq!(now.description, "垃圾堆放");
    assert_eq!(now.version, before);
    w.app
        .set_public_description(
            p.id,
            PublicDescription::Wording("路边垃圾，联系13812345678".into()),
            "改为公开表述",
            &w.office,
        )
        .await
        .unwrap();
    assert_eq!(
        w.app.public_texts().describe(p.id, &p.description),
        "路边垃圾，联系138******78"
    );
    let history = w.app.history_for(&w.office, p.id).await.unwrap();
    let edits: Vec<_> = history
        .iter()
        .filter(|e| e.kind == civmap_domain::EventKind::Edited)
        .collect();
    assert_eq!(edits.len(), 2);
    assert_eq!(edits[0].data["hidden"], true);
    assert_eq!(edits[0].note, "涉及隐私");
    assert_eq!(
        edits[1].data["public_description"],
        "路边垃圾，联系13812345678"
    );
    assert_eq!(edits[1].actor, w.office.user);
    // Memory is rebuilt from the store the same.
    w.app.reload().await.unwrap();
    assert_eq!(
        w.app.public_texts().describe(p.id, &p.description),
        "路边垃圾，联系138******78"
    );
}
