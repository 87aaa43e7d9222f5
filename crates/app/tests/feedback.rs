//! The reporter's answer after verification (回访), on the service itself: only the reporter
//! answers, only once, only after a verification; a "no" lands in the street office's list of
//! unsolved answers and a look-back takes it off. A fresh SQLite store per test.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use chrono::Utc;
use civmap_app::config::Config;
use civmap_app::memory::feedback::Answer;
use civmap_app::problems::{ReportDetails, TransitionDetails};
use civmap_app::workflow::feedback::Feedback;
use civmap_app::workflow::lookback::Reinspection;
use civmap_app::{Actor, App, ServiceError};
use civmap_domain::{
    Action, CategoryTable, EventKind, NewProblem, Problem, Role, Severity, Status, User, UserId,
    Zone, ZoneId, ZoneKind,
};
use civmap_store::{Store, StoreOptions};
use geo::{MultiPolygon, polygon};

const LON: f64 = 121.500;
const LAT: f64 = 31.280;

struct World {
    app: App,
    _dir: tempfile::TempDir,
    worker: Actor,
    other_worker: Actor,
    road_chief: Actor,
    office: Actor,
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

/// A road of the street `S1` with its chief, a street office of `S1` and two grid workers.
async fn world() -> World {
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
    let h = 0.001;
    let road = Zone {
        id: ZoneId::new(),
        kind: ZoneKind::Road,
        name: "四平路".into(),
        poi_kind: None,
        poi: None,
        code: Some("S1-R1".into()),
        geometry: MultiPolygon(vec![polygon![
            (x: LON - h, y: LAT - h),
            (x: LON + h, y: LAT - h),
            (x: LON + h, y: LAT + h),
            (x: LON - h, y: LAT + h),
            (x: LON - h, y: LAT - h),
        ]]),
        external_id: None,
    };
    store.upsert_zone(&road).await.unwrap();
    let road_chief = person(&store, "luzhang", Role::RoadChief, None).await;
    store
        .assign(road.id, road_chief.user.unwrap())
        .await
        .unwrap();
    let office = person(&store, "jiedao", Role::StreetOffice, Some("S1")).await;
    let worker = person(&store, "wangge", Role::Reporter, None).await;
    let other_worker = person(&store, "wangge2", Role::Reporter, None).await;
    let mut config = Config::default();
    config.workflow.rectify_needs_photo = false;
    config.workflow.escalation_check_s = 0;
    let app = App::load(store, CategoryTable::builtin(), config)
        .await
        .unwrap();
    World {
        app,
        _dir: dir,
        worker,
        other_worker,
        road_chief,
        office,
    }
}

fn note(text: &str) -> TransitionDetails {
    TransitionDetails {
        note: text.into(),
        ..TransitionDetails::default()
    }
}

/// A report by the grid worker, dispatched to the road-chief.
async fn reported(w: &World) -> Problem {
    let p = w
        .app
        .create(
            NewProblem {
                lon: LON,
                lat: LAT,
                category: "garbage".into(),
                severity: Severity::Medium,
                description: "垃圾堆放".into(),
            },
            &w.worker,
            ReportDetails::via("test"),
        )
        .await
        .unwrap();
    assert_eq!(p.status, Status::Dispatched);
    p
}

/// Rectified by the road-chief and verified by the street office.
async fn verified(w: &World, p: &Problem) -> Problem {
    let p = w
        .app
        .transition(
            p.id,
            Action::Rectify,
            p.version,
            note("已清理"),
            &w.road_chief,
        )
        .await
        .unwrap();
    w.app
        .transition(p.id, Action::Verify, p.version, note(""), &w.office)
        .await
        .unwrap()
}

fn no(text: &str) -> Feedback {
    Feedback {
        solved: false,
        note: text.into(),
    }
}

fn conflict(r: Result<Problem, ServiceError>) -> String {
    match r {
        Err(ServiceError::Conflict { message, .. }) => message,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn only_a_verified_report_is_asked_about() {
    let w = world().await;
    let p = reported(&w).await;
    assert_eq!(w.app.feedback_answer(p.id), None);
    let m = conflict(w.app.feedback(p.id, no("还在"), &w.worker).await);
    assert!(m.contains("verified"), "{m}");
    let p = verified(&w, &p).await;
    assert_eq!(w.app.feedback_answer(p.id), Some(Answer::Due));
}

#[tokio::test]
async fn only_the_reporter_answers() {
    let w = world().await;
    let p = verified(&w, &reported(&w).await).await;
    // Another grid worker and the street office see it, but did not report it.
    for someone_else in [&w.other_worker, &w.office] {
        assert!(matches!(
            w.app.feedback(p.id, no("x"), someone_else).await,
            Err(ServiceError::Forbidden(_))
        ));
    }
    let nobody = Actor {
        user: None,
        role: Role::Public,
        authenticated: false,
        ip: None,
        token: None,
    };
    assert!(matches!(
        w.app.feedback(p.id, no("x"), &nobody).await,
        Err(ServiceError::Unauthorized(_))
    ));
    assert_eq!(w.app.feedback_answer(p.id), Some(Answer::Due));
}

#[tokio::test]
async fn the_answer_is_given_once_and_a_no_reaches_the_street_office() {
    let w = world().await;
    let p = verified(&w, &reported(&w).await).await;
    let after = w
        .app
        .feedback(p.id, no("垃圾又堆起来了"), &w.worker)
        .await
        .unwrap();
    assert_eq!(after.status, Status::Closed, "an answer changes no status");
    assert_eq!(after.version, p.version + 1);
    assert_eq!(w.app.feedback_answer(p.id), Some(Answer::Unsolved));
    let m = conflict(
        w.app
            .feedback(
                p.id,
                Feedback {
                    solved: true,
                    note: String::new(),
                },
                &w.worker,
            )
            .await,
    );
    assert!(m.contains("answered already"), "{m}");

    // The event: kind feedback, the reporter as actor, solved false, the note.
    let h = w.app.store().events_for(p.id).await.unwrap();
    let ev = h.last().unwrap();
    assert_eq!(ev.kind, EventKind::Feedback);
    assert_eq!(ev.actor, w.worker.user);
    assert_eq!(ev.data["solved"], false);
    assert_eq!(ev.note, "垃圾又堆起来了");

    // The street office's list "群众反馈未解决"; a chief has no such list.
    let inbox = w.app.inbox(&w.office, Utc::now());
    let ids: Vec<_> = inbox.feedback_unsolved.items.iter().map(|i| i.id).collect();
    assert_eq!(ids, vec![p.id]);
    assert_eq!(inbox.feedback_unsolved.count, 1);
    assert_eq!(
        w.app
            .inbox(&w.road_chief, Utc::now())
            .feedback_unsolved
            .count,
        0
    );

    // The answer survives a restart (memory is rebuilt from the log).
    w.app.reload().await.unwrap();
    assert_eq!(w.app.feedback_answer(p.id), Some(Answer::Unsolved));

    // The street office looks again (a look-back): off the list.
    w.app
        .reinspect(
            p.id,
            after.version,
            Reinspection::Clean,
            "复查已清理".into(),
            Vec::new(),
            &w.office,
        )
        .await
        .unwrap();
    assert_eq!(
        w.app.inbox(&w.office, Utc::now()).feedback_unsolved.count,
        0
    );
}

#[tokio::test]
async fn a_yes_is_recorded_and_lists_nothing() {
    let w = world().await;
    let p = verified(&w, &reported(&w).await).await;
    w.app
        .feedback(
            p.id,
            Feedback {
                solved: true,
                note: String::new(),
            },
            &w.worker,
        )
        .await
        .unwrap();
    assert_eq!(w.app.feedback_answer(p.id), Some(Answer::Solved));
    assert_eq!(
        w.app.inbox(&w.office, Utc::now()).feedback_unsolved.count,
        0
    );
}
