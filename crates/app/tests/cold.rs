//! Hot and cold (issue 16): memory holds open problems and those closed within `[memory]
//! hot_days`; older ones are read from SQL. A random world of problems spread over four years is
//! loaded twice from one database — once with a window holding everything, once with a short
//! one — and every read that must answer for cold problems gives the same answer on both: by id,
//! by case number, history, the problem's page (staff and public), each zone's ledger, the
//! assessment of past periods (by street, zone and chief) and queries with a past report-time
//! range and a box. The short window's memory lacks exactly the cold problems. On SQLite (the
//! embedded default, R*Tree) always; on PostgreSQL when `CIVMAP_TEST_POSTGRES` is set.
//!
//! And the eviction pass: a problem verified now leaves memory when the window moves past it,
//! every read still answers, and a look-back that reopens it brings it back.
#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::too_many_lines,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

use chrono::{DateTime, Duration, Utc};
use civmap_app::config::Config;
use civmap_app::reports::assessment::GroupBy;
use civmap_app::reports::ledger::LedgerPeriod;
use civmap_app::spatial::{BBox, Spatial};
use civmap_app::workflow::lookback::Reinspection;
use civmap_app::{Actor, App};
use civmap_domain::assessment::Period;
use civmap_domain::{
    CategoryTable, EventKind, NewProblem, Problem, ProblemId, Role, Severity, Status, User, UserId,
    Zone, ZoneId, ZoneKind,
};
use civmap_index::Filter;
use civmap_store::{NewEvent, Store, StoreOptions};
use geo::{MultiPolygon, polygon};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::Connection as _;

const LON: f64 = 121.500;
const LAT: f64 = 31.280;
/// Half the side of the street, degrees.
const H: f64 = 0.01;
const CATEGORIES: [&str; 3] = ["garbage", "flying_wire_charging", "street_vending"];

fn user(name: &str, role: Role) -> User {
    User {
        id: UserId::new(),
        name: name.into(),
        display_name: format!("{name}·显示"),
        role,
        street: Some("S1".into()),
        password_hash: String::new(),
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

fn public() -> Actor {
    Actor {
        user: None,
        role: Role::Public,
        authenticated: false,
        ip: None,
        token: None,
    }
}

/// A square zone of the street: `[x0, x1] × [y0, y1]` in units of the street's half side.
fn zone(name: &str, kind: ZoneKind, x0: f64, y0: f64, x1: f64, y1: f64) -> Zone {
    let (a, b, c, d) = (LON + x0 * H, LAT + y0 * H, LON + x1 * H, LAT + y1 * H);
    Zone {
        id: ZoneId::new(),
        kind,
        name: name.into(),
        poi_kind: None,
        poi: None,
        code: Some(format!("S1-{name}")),
        geometry: MultiPolygon(vec![polygon![
            (x: a, y: b), (x: c, y: b), (x: c, y: d), (x: a, y: d), (x: a, y: b),
        ]]),
        external_id: None,
    }
}

/// A database of its own: a SQLite file, or a new PostgreSQL database (dropped by `drop`).
struct Db {
    url: String,
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        Db {
            url: format!("sqlite://{}", dir.path().join("cold.db").display()),
            dir,
            pg: None,
        }
    }

    async fn postgres() -> Option<Db> {
        let Ok(base) = std::env::var("CIVMAP_TEST_POSTGRES") else {
            eprintln!("SKIPPED: PostgreSQL tests (set CIVMAP_TEST_POSTGRES)");
            return None;
        };
        let name = format!("civmap_test_{:016x}", rand::rng().random::<u64>());
        let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let (head, _) = base.rsplit_once('/').unwrap();
        Some(Db {
            url: format!("{head}/{name}"),
            dir: tempfile::tempdir().unwrap(),
            pg: Some((base, name)),
        })
    }

    async fn open(&self) -> Store {
        Store::open(
            &self.url,
            StoreOptions {
                synchronous_full: false,
                photo_dir: self.dir.path().join("photos"),
                ..StoreOptions::default()
            },
        )
        .await
        .unwrap()
    }

    async fn drop_pg(&mut self) {
        if let Some((base, name)) = self.pg.take() {
            let mut c = sqlx::PgConnection::connect(&base).await.unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
}

async fn load(store: Store, hot_days: u32) -> App {
    let mut config = Config::default();
    config.workflow.escalation_check_s = 0;
    config.workflow.rectify_needs_photo = false;
    config.memory.hot_days = hot_days;
    App::load(store, CategoryTable::builtin(), config)
        .await
        .unwrap()
}

/// The people and zones of the world.
struct Cast {
    office: User,
    admin: User,
    chief: User,
    fixer: User,
    zones: Vec<Zone>,
}

async fn cast(store: &Store) -> Cast {
    let c = Cast {
        office: user("jiedao", Role::StreetOffice),
        admin: user("admin", Role::Admin),
        chief: user("kuaizhang", Role::AreaChief),
        fixer: user("luzhang", Role::RoadChief),
        zones: vec![
            zone("west", ZoneKind::Area, -1.0, -1.0, 0.0, 1.0),
            zone("east", ZoneKind::Area, 0.0, -1.0, 1.0, 1.0),
            zone("gate", ZoneKind::Point, -0.3, -0.3, 0.3, 0.3),
        ],
    };
    for u in [&c.office, &c.admin, &c.chief, &c.fixer] {
        store.create_user(u).await.unwrap();
    }
    for z in &c.zones {
        store.upsert_zone(z).await.unwrap();
    }
    store.assign(c.zones[1].id, c.chief.id).await.unwrap();
    c
}

/// Writes a random world into `store`: `n` problems reported over the last four years, each
/// taken some way along its lifecycle with every step in the past.
async fn world(store: &Store, cast: &Cast, seed: u64, n: usize, now: DateTime<Utc>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let table = CategoryTable::builtin();
    let mut earlier: Vec<ProblemId> = Vec::new();
    for _ in 0..n {
        let reported = now - Duration::minutes(rng.random_range(60..4 * 365 * 24 * 60));
        let mut p: Problem = NewProblem {
            lon: LON + rng.random_range(-H..H),
            lat: LAT + rng.random_range(-H..H),
            category: CATEGORIES[rng.random_range(0..CATEGORIES.len())].into(),
            severity: Severity::Medium,
            description: "随机问题 13812345678".into(),
        }
        .validate(&table, Some(cast.office.id), reported)
        .unwrap();
        p.reported_at = civmap_store::ms_precision(reported);
        p.updated_at = p.reported_at;
        store
            .insert_problem(&p, NewEvent::new(EventKind::Created, p.reported_at))
            .await
            .unwrap();
        let mut version = 1;
        let mut at = p.reported_at;
        // Steps a few hours to weeks apart, never after `now`.
        let step = |rng: &mut ChaCha8Rng, at: &mut DateTime<Utc>| -> Option<DateTime<Utc>> {
            let next = *at + Duration::minutes(rng.random_range(10..30 * 24 * 60));
            (next < now).then(|| {
                *at = civmap_store::ms_precision(next);
                *at
            })
        };
        // How far it goes: 0 reported, 1 dispatched, 2 rectified, 3 closed, 4 closed after a
        // rework, 5 merged into an earlier one, 6 closed, came back and closed again.
        let goal = rng.random_range(0..7);
        let mut write = |p: &mut Problem, kind: EventKind, t: DateTime<Utc>, who: &User| {
            p.updated_at = t;
            let ev = NewEvent {
                actor: Some(who.id),
                ..NewEvent::new(kind, t)
            };
            let (p, v) = (p.clone(), version);
            version += 1;
            async move { store.update_problem(&p, v, ev).await.unwrap() }
        };
        if goal == 5 && !earlier.is_empty() {
            if let Some(t) = step(&mut rng, &mut at) {
                p.status = Status::Merged;
                p.merged_into = Some(earlier[rng.random_range(0..earlier.len())]);
                write(&mut p, EventKind::Merged, t, &cast.office).await;
            }
            continue;
        }
        let Some(t) = step(&mut rng, &mut at).filter(|_| goal >= 1) else {
            earlier.push(p.id);
            continue;
        };
        let z = usize::from(p.location.lon() >= LON);
        p.status = Status::Dispatched;
        p.assignee = Some(cast.chief.id);
        p.zone = Some(cast.zones[z].id);
        p.deadline = Some(civmap_store::ms_precision(
            t + Duration::hours(rng.random_range(4..200)),
        ));
        write(&mut p, EventKind::Dispatched, t, &cast.office).await;
        let rounds = if goal == 4 || goal == 6 { 2 } else { 1 };
        'rounds: for round in 0..rounds {
            let Some(t) = step(&mut rng, &mut at).filter(|_| goal >= 2) else {
                break;
            };
            p.status = Status::Rectified;
            write(&mut p, EventKind::Rectified, t, &cast.fixer).await;
            let Some(t) = step(&mut rng, &mut at).filter(|_| goal >= 3) else {
                break;
            };
            if goal == 4 && round == 0 {
                p.status = Status::Dispatched;
                p.rework_count += 1;
                write(&mut p, EventKind::Rejected, t, &cast.office).await;
                continue;
            }
            p.status = Status::Closed;
            write(&mut p, EventKind::Verified, t, &cast.office).await;
            if goal == 6 && round == 0 {
                let Some(t) = step(&mut rng, &mut at) else {
                    break 'rounds;
                };
                p.status = Status::Recurred;
                write(&mut p, EventKind::Recurred, t, &cast.office).await;
            }
        }
        earlier.push(p.id);
    }
}

/// Every page of a query walked with its cursor: the problems and the totals reported.
async fn walk(
    app: &App,
    a: &Actor,
    spatial: &[Spatial],
    filter: &Filter,
) -> (Vec<Problem>, Vec<Option<usize>>) {
    let table = app.categories();
    let scope = app.scope(a);
    let (mut out, mut totals, mut after) = (Vec::new(), Vec::new(), None);
    loop {
        let page = app
            .query_scoped_any(&scope, spatial, filter, after, 7)
            .await
            .unwrap();
        for id in &page.ids {
            let r = app
                .problems()
                .map
                .get(id)
                .cloned()
                .or_else(|| page.cold.get(id).cloned())
                .unwrap();
            out.push(r.to_problem(*id, &table));
        }
        totals.push(page.matched);
        match page.next_after {
            Some(n) => after = Some(n),
            None => return (out, totals),
        }
    }
}

/// Compares every cold-capable read of `all` (everything in memory) and `short`.
async fn same_answers(all: &App, short: &App, cast: &Cast, seed: u64, now: DateTime<Utc>) {
    let (office, admin, chief) = (actor(&cast.office), actor(&cast.admin), actor(&cast.chief));
    let since = short.hot_since();
    let mut cold = 0;
    let ids: Vec<ProblemId> = all.problems().map.keys().copied().collect();
    for id in &ids {
        let p = all.problem(*id).unwrap();
        let is_cold = !p.status.is_open() && p.updated_at < since;
        cold += usize::from(is_cold);
        assert_eq!(
            short.in_memory(*id),
            !is_cold,
            "{p:?} (window from {since})"
        );
        for a in [&office, &admin, &chief, &public()] {
            assert_eq!(
                format!("{:?}", all.problem_for(a, *id).await),
                format!("{:?}", short.problem_for(a, *id).await),
                "{id}"
            );
            assert_eq!(
                format!("{:?}", all.history_for(a, *id).await),
                format!("{:?}", short.history_for(a, *id).await)
            );
            assert_eq!(
                format!("{:?}", all.problem_page(a, *id).await),
                format!("{:?}", short.problem_page(a, *id).await)
            );
        }
        let case = p.case_no.unwrap().to_string();
        assert_eq!(short.resolve_ref(&case).await.unwrap(), *id);
        assert_eq!(short.problem_by_case(&case).await.unwrap(), Some(*id));
    }
    assert_eq!(short.sizes().problems + cold, all.sizes().problems);
    println!(
        "{} problems, {cold} cold with a window of {} days",
        all.sizes().problems,
        short.config().memory.hot_days
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut period_lines = 0;
    for z in &cast.zones {
        for a in [&office, &admin, &chief] {
            let whole = LedgerPeriod::default();
            let (x, y) = (
                all.ledger(a, z.id, whole).await,
                short.ledger(a, z.id, whole).await,
            );
            assert_eq!(format!("{x:?}"), format!("{y:?}"), "ledger of {}", z.name);
            let Ok(x) = x else { continue };
            // A period's ledger, with either end open: the whole ledger's lines in the period,
            // whether the problems are held in memory or read cold.
            for _ in 0..3 {
                let from = now - Duration::days(rng.random_range(0..1500));
                let to = from + Duration::days(rng.random_range(1..900));
                let ends = match rng.random_range(0..3) {
                    0 => (Some(from), Some(to)),
                    1 => (Some(from), None),
                    _ => (None, Some(to)),
                };
                let period = LedgerPeriod::new(ends.0, ends.1).unwrap();
                let want: Vec<_> = x
                    .lines
                    .iter()
                    .filter(|l| ends.0.is_none_or(|f| l.event.at >= f))
                    .filter(|l| ends.1.is_none_or(|t| l.event.at < t))
                    .cloned()
                    .collect();
                for app in [&all, &short] {
                    let got = app.ledger(a, z.id, period).await.unwrap();
                    assert_eq!(got.period, period);
                    assert_eq!(got.lines, want, "ledger of {} for {ends:?}", z.name);
                }
                period_lines += want.len();
            }
        }
    }
    assert!(period_lines > 0, "the periods' ledgers held some lines");
    for _ in 0..6 {
        let from = now - Duration::days(rng.random_range(0..1500));
        let to = from + Duration::days(rng.random_range(1..200));
        let period = Period { from, to };
        for by in [GroupBy::Street, GroupBy::Zone, GroupBy::Chief] {
            for a in [&office, &chief] {
                assert_eq!(
                    all.assessment(a, period, by).await.unwrap(),
                    short.assessment(a, period, by).await.unwrap(),
                    "assessment of {from}..{to} by {by:?}"
                );
            }
        }
        let filter = Filter::default()
            .with_reported_between(Some(from.timestamp_millis()), Some(to.timestamp_millis()));
        let b = BBox {
            min_lon: LON + rng.random_range(-H..0.0),
            min_lat: LAT + rng.random_range(-H..0.0),
            max_lon: LON + rng.random_range(0.0..H),
            max_lat: LAT + rng.random_range(0.0..H),
        };
        let open_from = Filter::default().with_reported_between(None, Some(to.timestamp_millis()));
        for (spatial, filter) in [
            (vec![Spatial::BBox(b)], filter.clone()),
            (vec![], filter.clone()),
            (vec![Spatial::Zone(cast.zones[1].id)], open_from.clone()),
            (
                vec![Spatial::BBox(b), Spatial::Zone(cast.zones[0].id)],
                open_from,
            ),
        ] {
            for a in [&office, &chief, &public()] {
                assert_eq!(
                    walk(all, a, &spatial, &filter).await,
                    walk(short, a, &spatial, &filter).await,
                    "query {spatial:?} {filter:?}"
                );
            }
        }
    }
}

async fn hot_and_cold_give_the_same_answers(mut db: Db, seed: u64, n: usize, hot_days: u32) {
    let setup = db.open().await;
    let cast = cast(&setup).await;
    let now = Utc::now();
    world(&setup, &cast, seed, n, now).await;
    setup.close().await;
    let all = load(db.open().await, 36_500).await;
    let short = load(db.open().await, hot_days).await;
    same_answers(&all, &short, &cast, seed, now).await;
    drop((all, short));
    db.drop_pg().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn hot_and_cold_agree_on_sqlite(seed in any::<u64>(), n in 10usize..40, hot_days in 20u32..900) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(hot_and_cold_give_the_same_answers(Db::sqlite(), seed, n, hot_days));
    }

    #[test]
    fn hot_and_cold_agree_on_postgres(seed in any::<u64>(), n in 10usize..40, hot_days in 20u32..900) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            if let Some(db) = Db::postgres().await {
                hot_and_cold_give_the_same_answers(db, seed, n, hot_days).await;
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eviction_pass_drops_what_aged_out_and_a_reopening_brings_it_back() {
    let db = Db::sqlite();
    let setup = db.open().await;
    let cast = cast(&setup).await;
    setup.close().await;
    let app = load(db.open().await, 400).await;
    let (office, chief) = (actor(&cast.office), actor(&cast.chief));
    let p = app
        .create(
            NewProblem {
                lon: LON + 0.5 * H,
                lat: LAT,
                category: "garbage".into(),
                severity: Severity::Medium,
                description: "垃圾堆放".into(),
            },
            &office,
            civmap_app::problems::ReportDetails::via("test"),
        )
        .await
        .unwrap();
    let mut v = app.problem(p.id).unwrap().version;
    let mut step = async |action, who: &Actor| {
        let q = app
            .transition(
                p.id,
                action,
                v,
                civmap_app::problems::TransitionDetails {
                    note: "清理完毕".into(),
                    ..Default::default()
                },
                who,
            )
            .await
            .unwrap();
        v = q.version;
        q
    };
    if app.problem(p.id).unwrap().status == Status::Reported {
        step(civmap_domain::Action::Dispatch, &office).await;
    }
    step(civmap_domain::Action::Rectify, &chief).await;
    let closed = step(civmap_domain::Action::Verify, &office).await;
    assert_eq!(closed.status, Status::Closed);
    let before_page = format!("{:?}", app.problem_page(&office, p.id).await.unwrap());
    let before_history = app.history_for(&office, p.id).await.unwrap();
    let before_ledger = app
        .ledger(&office, cast.zones[1].id, LedgerPeriod::default())
        .await
        .unwrap();
    let case = closed.case_no.unwrap().to_string();

    // Within the window: the pass keeps it.
    assert_eq!(app.evict_before(app.window_start(Utc::now())), 0);
    assert!(app.in_memory(p.id));
    // The window moves past its verification (as it will 400 days from now): evicted.
    let held = app.sizes().problems;
    assert_eq!(app.evict_before(Utc::now() + Duration::seconds(1)), 1);
    assert!(!app.in_memory(p.id));
    assert_eq!(app.sizes().problems, held - 1);
    // Every read still answers, from SQL.
    assert_eq!(app.problem_for(&office, p.id).await.unwrap(), closed);
    assert_eq!(app.problem_for(&chief, p.id).await.unwrap(), closed);
    assert_eq!(app.resolve_ref(&case).await.unwrap(), p.id);
    assert_eq!(
        app.history_for(&office, p.id).await.unwrap(),
        before_history
    );
    assert_eq!(
        format!("{:?}", app.problem_page(&office, p.id).await.unwrap()),
        before_page
    );
    assert_eq!(
        app.ledger(&office, cast.zones[1].id, LedgerPeriod::default())
            .await
            .unwrap(),
        before_ledger
    );
    assert!(before_ledger.lines.iter().any(|l| l.problem == p.id));
    // A look-back finds it back (回潮): the write brings it into memory again.
    let back = app
        .reinspect(
            p.id,
            v,
            Reinspection::CameBack,
            "又堆上了".into(),
            Vec::new(),
            &office,
        )
        .await
        .unwrap();
    assert!(back.status.is_open(), "{:?}", back.status);
    assert!(app.in_memory(p.id));
    assert_eq!(app.problem(p.id).unwrap(), back);
}
