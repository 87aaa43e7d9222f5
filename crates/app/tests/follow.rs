//! Two services on one SQLite file, as two replicas on one database: what one writes, the
//! other learns by following the logs — problems and their steps (with the live feed), zones,
//! assignments, accounts, sessions and their revocation — and the writer's own changes, which
//! its commit hook applied, are not applied or announced a second time.
// A scenario reads best top to bottom, whatever its length.
#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::too_many_lines
)]

use std::time::{Duration, Instant};

use chrono::Utc;
use civmap_app::accounts::passwords::hash_password;
use civmap_app::config::Config;
use civmap_app::problems::TransitionDetails;
use civmap_app::{Actor, App};
use civmap_domain::{
    Action, CategoryTable, NewProblem, Role, Severity, User, UserId, Zone, ZoneId, ZoneKind,
};
use civmap_store::{SessionKind, Store, StoreOptions};
use geo::{MultiPolygon, polygon};

const LON: f64 = 121.500;
const LAT: f64 = 31.280;

async fn open(url: &str) -> Store {
    Store::open(
        url,
        StoreOptions {
            synchronous_full: false,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap()
}

fn user(name: &str, role: Role, password_hash: String) -> User {
    User {
        id: UserId::new(),
        name: name.into(),
        display_name: format!("{name}·显示"),
        role,
        street: Some("S1".into()),
        password_hash,
        disabled: false,
        created_at: Utc::now(),
    }
}

fn actor(u: &User) -> Actor {
    Actor {
        user: Some(u.id),
        role: u.role,
        authenticated: true,
        ip: None,
        token: None,
    }
}

fn area() -> Zone {
    let h = 0.01;
    Zone {
        id: ZoneId::new(),
        kind: ZoneKind::Area,
        name: "片区".into(),
        poi_kind: None,
        poi: None,
        code: Some("S1".into()),
        geometry: MultiPolygon(vec![polygon![
            (x: LON - h, y: LAT - h),
            (x: LON + h, y: LAT - h),
            (x: LON + h, y: LAT + h),
            (x: LON - h, y: LAT + h),
            (x: LON - h, y: LAT - h),
        ]]),
        external_id: None,
    }
}

async fn load(store: Store) -> App {
    let mut config = Config::default();
    config.workflow.escalation_check_s = 0;
    App::load(store, CategoryTable::builtin(), config)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_replica_on_the_same_database_follows_what_another_writes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let (sa, sb) = (open(&url).await, open(&url).await);
    let office = user("jiedao", Role::StreetOffice, String::new());
    let worker = user("wanggeyuan", Role::Reporter, String::new());
    sa.create_user(&office).await.unwrap();
    sa.create_user(&worker).await.unwrap();
    let a = load(sa).await;
    let b = load(sb).await;
    let mut live_a = a.subscribe();
    let mut live_b = b.subscribe();

    // A report on A: B has it after following, with the same version, and announces it.
    let p = a
        .create(
            NewProblem {
                lon: LON,
                lat: LAT,
                category: "garbage".into(),
                severity: Severity::Medium,
                description: "垃圾堆放".into(),
            },
            &actor(&worker),
            civmap_app::problems::ReportDetails::via("test"),
        )
        .await
        .unwrap();
    assert!(
        b.problem(p.id).is_err(),
        "B cannot know it before following"
    );
    // Following applies it (here or, on a slow machine, already by B's own timer).
    b.follow().await.unwrap();
    let seen = b.problem(p.id).unwrap();
    assert_eq!(
        (seen.version, seen.status, seen.case_no),
        (p.version, p.status, p.case_no)
    );
    let on_b = live_b.try_recv().unwrap();
    assert_eq!((on_b.id, on_b.version), (p.id, p.version));

    // A step on A.
    let closed = a
        .transition(
            p.id,
            Action::Escalate,
            p.version,
            TransitionDetails {
                note: "转街道".into(),
                ..TransitionDetails::default()
            },
            &actor(&office),
        )
        .await
        .unwrap();
    b.follow().await.unwrap();
    let seen = b.problem(p.id).unwrap();
    assert_eq!((seen.version, seen.status), (closed.version, closed.status));
    let on_b = live_b.try_recv().unwrap();
    assert_eq!((on_b.id, on_b.status), (p.id, closed.status));
    assert!(live_b.try_recv().is_err(), "one announcement per step");

    // A's own steps reached its memory through the commit hook; following the log on A does
    // not apply or announce them again.
    let mut on_a = Vec::new();
    while let Ok(c) = live_a.try_recv() {
        on_a.push((c.id, c.version));
    }
    assert_eq!(on_a, vec![(p.id, p.version), (p.id, closed.version)]);
    let version_before = a.data_version();
    a.follow().await.unwrap();
    assert!(
        live_a.try_recv().is_err(),
        "A announced its own write twice"
    );
    assert_eq!(a.problem(p.id).unwrap().version, closed.version);
    assert!(a.data_version() >= version_before);

    // A zone, its chief (a new account) and the assignment, made on A.
    let chief = user(
        "pianzhang",
        Role::AreaChief,
        hash_password("chief-password-1").unwrap(),
    );
    a.store().create_user(&chief).await.unwrap();
    let zone = area();
    a.put_zone(zone.clone()).await.unwrap();
    a.assign(zone.id, chief.id).await.unwrap();
    b.follow().await.unwrap();
    assert_eq!(
        b.zones().map.get(&zone.id).map(|z| z.name.clone()),
        Some("片区".into())
    );
    assert!(b.assignments().contains(&(zone.id, chief.id)));
    assert_eq!(
        b.accounts().user(chief.id).map(|u| u.name),
        Some("pianzhang".into())
    );
    assert_eq!(b.zones_of(chief.id), vec![zone.id]);

    // The chief signs in on A; B knows the session from memory, and its end.
    let signed = a
        .sign_in("pianzhang", "chief-password-1".into(), None)
        .await
        .unwrap();
    b.follow().await.unwrap();
    let hash = civmap_app::accounts::secrets::token_hash(&signed.secret);
    assert!(
        b.accounts().session(&hash).is_some(),
        "B holds the session in memory"
    );
    let who = b
        .session(&signed.secret, SessionKind::Cookie, None)
        .await
        .unwrap()
        .expect("the session started on A is valid on B");
    assert_eq!(who.actor.user, Some(chief.id));
    a.sign_out(&signed.identity).await.unwrap();
    assert!(
        a.session(&signed.secret, SessionKind::Cookie, None)
            .await
            .unwrap()
            .is_none(),
        "signed out on A at once"
    );
    b.follow().await.unwrap();
    assert!(
        b.session(&signed.secret, SessionKind::Cookie, None)
            .await
            .unwrap()
            .is_none(),
        "signed out on B after following"
    );

    // The zone deleted on A is gone from B with its assignment.
    a.delete_zone(zone.id).await.unwrap();
    b.follow().await.unwrap();
    assert!(!b.zones().map.contains_key(&zone.id));
    assert!(b.zones_of(chief.id).is_empty());
}

#[tokio::test]
async fn a_replica_follows_by_itself_on_its_timer() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let (sa, sb) = (open(&url).await, open(&url).await);
    let worker = user("wanggeyuan", Role::Reporter, String::new());
    sa.create_user(&worker).await.unwrap();
    let a = load(sa).await;
    let b = load(sb).await;
    let p = a
        .create(
            NewProblem {
                lon: LON,
                lat: LAT,
                category: "garbage".into(),
                severity: Severity::High,
                description: "井盖缺失".into(),
            },
            &actor(&worker),
            civmap_app::problems::ReportDetails::via("test"),
        )
        .await
        .unwrap();
    // Nobody calls `follow` here: the timer does. A deadline, not a sleep.
    let deadline = Instant::now() + civmap_app::follow::FOLLOW_SAFETY_NET * 10;
    while b.problem(p.id).is_err() {
        assert!(
            Instant::now() < deadline,
            "B did not follow within {:?}",
            civmap_app::follow::FOLLOW_SAFETY_NET * 10
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = b.follow_status().await;
    assert!(status.applied_event >= 1);
    assert!(b.is_leader(), "on SQLite every process leads");
}
