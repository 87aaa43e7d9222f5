//! Mock inspections on the service itself (no HTTP): the sample is reproducible from its seed
//! and has the requested counts per kind; fails become problems, dispatched like any report and
//! linked to the inspection; readiness against a hand-counted fixture; a second inspection
//! after the fixes scores higher; rectification notices are numbered and recorded in the
//! problem's history; the public sees nothing of it.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc, clippy::float_cmp)]

use chrono::{Duration, Utc};
use civmap_app::config::Config;
use civmap_app::inspections::notices::NewNotice;
use civmap_app::inspections::sampling::NewInspection;
use civmap_app::inspections::{NewTestPoint, Outcome};
use civmap_app::problems::TransitionDetails;
use civmap_app::{Actor, App, ServiceError};
use civmap_domain::inspection::{Inspection, Stratum, TestPoint};
use civmap_domain::{
    Action, CategoryTable, EventKind, LonLat, Poi, PoiId, PoiKind, Role, Status, User, UserId,
    Zone, ZoneId, ZoneKind,
};
use civmap_store::{Store, StoreOptions};
use geo::{Geometry, MultiPolygon, Point, polygon};

const LON: f64 = 121.500;
const LAT: f64 = 31.280;

struct World {
    app: App,
    _dir: tempfile::TempDir,
    office: Actor,
    inspector: Actor,
    area_chief: Actor,
    reporter: Actor,
}

fn square(cx: f64, cy: f64, half: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![
        (x: cx - half, y: cy - half),
        (x: cx + half, y: cy - half),
        (x: cx + half, y: cy + half),
        (x: cx - half, y: cy + half),
        (x: cx - half, y: cy - half),
    ]])
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

/// Street `S1` (an area with its chief), a school with its surroundings zone inside it, a
/// street office of `S1`, an inspector (a road chief: any staff may inspect) and a reporter.
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
    let area = Zone {
        id: ZoneId::new(),
        kind: ZoneKind::Area,
        name: "片区".into(),
        poi_kind: None,
        poi: None,
        code: Some("S1".into()),
        geometry: square(LON, LAT, 0.01),
        external_id: None,
    };
    let school = Poi {
        id: PoiId::new(),
        kind: PoiKind::School,
        name: "控江中学".into(),
        geometry: Geometry::Point(Point::new(LON + 0.002, LAT + 0.002)),
        external_id: None,
    };
    let surroundings = Zone {
        id: ZoneId::new(),
        kind: ZoneKind::Surroundings,
        name: "控江中学周边".into(),
        poi_kind: Some(PoiKind::School),
        poi: Some(school.id),
        code: Some("S1-S1".into()),
        geometry: square(LON + 0.002, LAT + 0.002, 0.001),
        external_id: None,
    };
    store.upsert_zone(&area).await.unwrap();
    store.upsert_poi(&school).await.unwrap();
    store.upsert_zone(&surroundings).await.unwrap();
    let area_chief = person(&store, "pianzhang", Role::AreaChief, Some("S1")).await;
    store
        .assign(area.id, area_chief.user.unwrap())
        .await
        .unwrap();
    let office = person(&store, "jiedao", Role::StreetOffice, Some("S1")).await;
    let inspector = person(&store, "luzhang", Role::RoadChief, Some("S1")).await;
    let reporter = person(&store, "wanggeyuan", Role::Reporter, Some("S1")).await;
    let mut config = Config::default();
    config.workflow.escalation_check_s = 0;
    config.workflow.rectify_needs_photo = false;
    let app = App::load(store, CategoryTable::builtin(), config)
        .await
        .unwrap();
    World {
        app,
        _dir: dir,
        office,
        inspector,
        area_chief,
        reporter,
    }
}

/// A 1×1 PNG of one shade (photos are content-addressed: shades give different photos).
fn png(shade: u8) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: [u8; 4], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(&kind);
        crc.update(data);
        out.extend_from_slice(&kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, *b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut z, &[0, shade, 120, 160]).unwrap();
    chunk(&mut out, *b"IDAT", &z.finish().unwrap());
    chunk(&mut out, *b"IEND", &[]);
    out
}

async fn photo(w: &World, shade: u8) -> String {
    w.app
        .store_photo(&w.inspector, png(shade))
        .await
        .unwrap()
        .id
}

/// `n` test points of `kind` added by hand, east of the centre.
async fn points(w: &World, kind: &str, n: usize, first: usize) -> Vec<TestPoint> {
    let mut out = Vec::new();
    for i in first..first + n {
        let p = w
            .app
            .add_test_point(
                &w.office,
                NewTestPoint {
                    kind: kind.into(),
                    name: format!("点位{i}"),
                    location: LonLat::new(LON + 0.0003 * i as f64, LAT).unwrap(),
                    owner: format!("物业{i}"),
                },
            )
            .await
            .unwrap();
        out.push(p);
    }
    out
}

fn stratum(kind: &str, count: Option<usize>) -> Stratum {
    Stratum {
        kind: kind.into(),
        count,
    }
}

async fn draw(w: &World, name: &str, strata: Vec<Stratum>, seed: u64) -> Inspection {
    w.app
        .draw_inspection(
            &w.office,
            NewInspection {
                name: name.into(),
                strata,
                seed: Some(seed),
                assignee: w.inspector.user,
            },
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sample_is_reproducible_from_its_seed_and_has_its_counts_per_kind() {
    let w = world().await;
    points(&w, "bus_stop", 8, 0).await;
    points(&w, "back_street", 5, 8).await;
    let made = w
        .app
        .test_points_from_surroundings(&w.office)
        .await
        .unwrap();
    assert_eq!(
        made.len(),
        1,
        "the school's surroundings zone became a point"
    );
    assert_eq!(made[0].kind, "school_surroundings");
    assert_eq!(made[0].name, "控江中学");
    assert_eq!(made[0].street, "S1");
    assert!(
        w.app
            .test_points_from_surroundings(&w.office)
            .await
            .unwrap()
            .is_empty(),
        "a zone becomes a point once"
    );

    let strata = vec![
        stratum("bus_stop", Some(3)),
        stratum("back_street", Some(2)),
        stratum("school_surroundings", None),
    ];
    let a = draw(&w, "第1次模拟测评", strata.clone(), 2026).await;
    let b = draw(&w, "同一种子", strata.clone(), 2026).await;
    assert_eq!(a.sample, b.sample, "the same seed draws the same sample");
    assert_eq!(a.seed, 2026);
    let all = w.app.test_points(&w.office).await.unwrap();
    let kind_of = |id| all.iter().find(|p| p.id == id).unwrap().kind.clone();
    let count = |i: &Inspection, k: &str| i.sample.iter().filter(|p| kind_of(**p) == k).count();
    assert_eq!(count(&a, "bus_stop"), 3);
    assert_eq!(count(&a, "back_street"), 2);
    assert_eq!(count(&a, "school_surroundings"), 1);
    assert_eq!(a.sample.len(), 6);
    let mut others = Vec::new();
    for seed in 0..6 {
        others.push(draw(&w, "别的种子", strata.clone(), seed).await.sample);
    }
    assert!(
        others.iter().any(|s| *s != a.sample),
        "other seeds draw other samples"
    );

    let too_many = w
        .app
        .draw_inspection(
            &w.office,
            NewInspection {
                name: "太多".into(),
                strata: vec![stratum("bus_stop", Some(9))],
                seed: Some(1),
                assignee: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(too_many, ServiceError::Invalid { ref field, .. } if field == "strata"));
}

/// Hand-counted: two bus stops, whose items are (weights from `data/inspection.toml`)
/// `bikes_parked_orderly` 1.0, `no_ad_posters` 0.5, `bins_clean` 1.0, `no_illegal_parking` 1.0,
/// `public_service_ads` 0.5 — 4.0 in all per point. First inspection: stop A fails
/// `no_ad_posters` and `bins_clean` (passes 2.5 of 4.0), stop B fails `no_illegal_parking`
/// (passes 3.0 of 4.0): readiness (2.5 + 3.0) / 8.0 = 68.75 %. After the fixes the second
/// inspection fails only stop A's `no_ad_posters`: (3.5 + 4.0) / 8.0 = 93.75 %.
// One walk from the first inspection to the second, told in order.
#[allow(clippy::too_many_lines)]
#[tokio::test]
async fn fails_become_dispatched_problems_and_readiness_matches_a_hand_count() {
    let w = world().await;
    let stops = points(&w, "bus_stop", 2, 0).await;
    let first = draw(&w, "第1次模拟测评", vec![stratum("bus_stop", None)], 7).await;
    let view = w.app.inspection(&w.inspector, first.id).await.unwrap();
    assert_eq!(view.points.len(), 2);
    let lists = w.app.checklists().await.unwrap();
    let items: Vec<String> = lists
        .items_for("bus_stop")
        .map(|i| i.code.clone())
        .collect();
    assert_eq!(
        items,
        [
            "bikes_parked_orderly",
            "no_ad_posters",
            "bins_clean",
            "no_illegal_parking",
            "public_service_ads"
        ]
    );
    let fails_first = [
        (stops[0].id, "no_ad_posters"),
        (stops[0].id, "bins_clean"),
        (stops[1].id, "no_illegal_parking"),
    ];
    let mut created = Vec::new();
    let mut shade = 0u8;
    for p in &stops {
        for item in &items {
            let fail = fails_first.contains(&(p.id, item.as_str()));
            let photos = if fail {
                shade += 1;
                vec![photo(&w, shade).await]
            } else {
                vec![]
            };
            let r = w
                .app
                .record_outcome(
                    &w.inspector,
                    first.id,
                    Outcome {
                        point: p.id,
                        item: item.clone(),
                        pass: !fail,
                        photos,
                        note: String::new(),
                    },
                )
                .await
                .unwrap();
            assert_eq!(r.problem.is_some(), fail);
            created.extend(r.problem);
        }
    }
    assert_eq!(created.len(), 3);
    // A fail without a photo is refused; a fail recorded again keeps its one problem.
    let no_photo = w
        .app
        .record_outcome(
            &w.inspector,
            first.id,
            Outcome {
                point: stops[0].id,
                item: "no_ad_posters".into(),
                pass: false,
                photos: vec![],
                note: String::new(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(no_photo, ServiceError::Invalid { ref field, .. } if field == "photos"));

    // Each fail is a problem at its point with the item's category, dispatched to the area
    // chief like any report, its created event naming the inspection.
    let p = w.app.problem(created[0]).unwrap();
    assert_eq!(p.category, "ad_posters");
    assert_eq!(p.status, Status::Dispatched);
    assert_eq!(p.assignee, w.area_chief.user);
    assert_eq!(p.location, stops[0].location);
    assert!(p.description.contains("无小广告"), "{}", p.description);
    let history = w.app.store().events_for(p.id).await.unwrap();
    assert_eq!(history[0].kind, EventKind::Created);
    assert_eq!(history[0].data["via"], "inspection");
    assert_eq!(history[0].data["inspection"]["id"], first.id.to_string());
    assert_eq!(history[0].data["inspection"]["item"], "no_ad_posters");
    assert_eq!(history[1].kind, EventKind::Dispatched);
    assert_eq!(w.app.problem(created[1]).unwrap().category, "garbage");
    assert_eq!(
        w.app.problem(created[2]).unwrap().category,
        "illegal_parking"
    );

    let r1 = w
        .app
        .inspection_readiness(&w.office, Utc::now(), 30)
        .await
        .unwrap();
    assert_eq!(r1.overall.share(), Some(5.5 / 8.0));
    assert_eq!((r1.overall.passed, r1.overall.failed), (7, 3));
    let a = r1
        .points
        .iter()
        .find(|r| r.point.id == stops[0].id)
        .unwrap();
    assert_eq!(a.score.unwrap().share(), Some(2.5 / 4.0));
    assert_eq!(r1.kinds, vec![("bus_stop".to_owned(), r1.overall)]);
    assert_eq!(r1.streets, vec![("S1".to_owned(), r1.overall)]);
    let failing: Vec<(&str, u32)> = r1
        .failing
        .iter()
        .map(|f| (f.zh.as_str(), f.fails))
        .collect();
    assert_eq!(failing.len(), 3);
    assert!(failing.iter().all(|(_, n)| *n == 1));
    assert!(r1.not_inspected.is_empty());
    w.app
        .finish_inspection(&w.inspector, first.id)
        .await
        .unwrap();

    // The chief fixes two of the three; the next inspection finds only the posters again.
    for id in &created[1..] {
        let p = w.app.problem(*id).unwrap();
        w.app
            .transition(
                *id,
                Action::Rectify,
                p.version,
                TransitionDetails {
                    note: "已清理".into(),
                    ..TransitionDetails::default()
                },
                &w.area_chief,
            )
            .await
            .unwrap();
    }
    let second = draw(&w, "第2次模拟测评", vec![stratum("bus_stop", None)], 8).await;
    for p in &stops {
        for item in &items {
            let fail = p.id == stops[0].id && item == "no_ad_posters";
            let photos = if fail {
                vec![photo(&w, 99).await]
            } else {
                vec![]
            };
            w.app
                .record_outcome(
                    &w.inspector,
                    second.id,
                    Outcome {
                        point: p.id,
                        item: item.clone(),
                        pass: !fail,
                        photos,
                        note: "又贴了".into(),
                    },
                )
                .await
                .unwrap();
        }
    }
    let r2 = w
        .app
        .inspection_readiness(&w.office, Utc::now(), 30)
        .await
        .unwrap();
    assert_eq!(r2.overall.share(), Some(7.5 / 8.0));
    assert!(
        r2.overall.share() > r1.overall.share(),
        "the second inspection scores higher"
    );
    let trend: Vec<Option<f64>> = r2.trend.iter().map(|t| t.score.share()).collect();
    assert_eq!(trend, vec![Some(5.5 / 8.0), Some(7.5 / 8.0)]);
    assert_eq!(r2.failing[0].zh, "无小广告");
    assert_eq!(r2.failing[0].fails, 2);
    // Looked at 40 days later, both points are stale.
    let later = w
        .app
        .inspection_readiness(&w.office, Utc::now() + Duration::days(40), 30)
        .await
        .unwrap();
    assert_eq!(later.not_inspected.len(), 2);
}

#[tokio::test]
async fn a_notice_is_numbered_recorded_in_the_history_and_looked_back_at_its_deadline() {
    let w = world().await;
    let stops = points(&w, "bus_stop", 1, 0).await;
    let i = draw(&w, "第1次模拟测评", vec![stratum("bus_stop", None)], 1).await;
    let shot = photo(&w, 3).await;
    let r = w
        .app
        .record_outcome(
            &w.inspector,
            i.id,
            Outcome {
                point: stops[0].id,
                item: "no_ad_posters".into(),
                pass: false,
                photos: vec![shot.clone()],
                note: "站牌上贴满小广告".into(),
            },
        )
        .await
        .unwrap();
    let problem = r.problem.unwrap();
    let by_point = w
        .app
        .issue_notice(
            &w.office,
            NewNotice {
                point: Some(stops[0].id),
                working_days: Some(2),
                ..NewNotice::default()
            },
        )
        .await
        .unwrap();
    let year = by_point.notice.year;
    assert_eq!(by_point.notice.number(), format!("整改通知 {year}-0001"));
    assert_eq!(by_point.notice.unit, "物业0", "the point's owner");
    // The rule that failed and what the inspector saw, not the rule alone.
    assert_eq!(by_point.notice.wrong, "未达到“无小广告”：站牌上贴满小广告");
    assert_eq!(by_point.notice.photos, vec![shot]);
    assert!(by_point.notice.deadline > by_point.notice.issued_at + Duration::hours(16));
    let by_problem = w
        .app
        .issue_notice(
            &w.office,
            NewNotice {
                problem: Some(problem),
                unit: "公交公司".into(),
                ..NewNotice::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_problem.notice.number(), format!("整改通知 {year}-0002"));
    let notes: Vec<String> = w
        .app
        .store()
        .events_for(problem)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::Notice)
        .map(|e| e.note)
        .collect();
    assert_eq!(
        notes,
        vec![
            format!("整改通知 {year}-0001"),
            format!("整改通知 {year}-0002")
        ]
    );
    // Nothing is due yet; after the deadline both are, not rectified.
    assert!(
        w.app
            .notices_due(&w.office, Utc::now())
            .await
            .unwrap()
            .is_empty()
    );
    let due = w
        .app
        .notices_due(&w.office, Utc::now() + Duration::days(30))
        .await
        .unwrap();
    assert_eq!(due.len(), 2);
    assert!(due.iter().all(|c| !c.rectified));
    let looked_up = w
        .app
        .notice(&w.office, &format!("{year}-0002"))
        .await
        .unwrap();
    assert_eq!(looked_up.notice.id, by_problem.notice.id);
}

#[tokio::test]
async fn the_public_and_reporters_see_nothing_of_inspections() {
    let w = world().await;
    points(&w, "bus_stop", 2, 0).await;
    let i = draw(&w, "第1次模拟测评", vec![stratum("bus_stop", None)], 1).await;
    let public = Actor {
        user: None,
        role: Role::Public,
        authenticated: false,
        ip: None,
        token: None,
    };
    for who in [&public, &w.reporter] {
        assert!(w.app.inspections(who).await.is_err());
        assert!(w.app.inspection(who, i.id).await.is_err());
        assert!(w.app.test_points(who).await.is_err());
        assert!(w.app.checklists_as(who).await.is_err());
        assert!(
            w.app
                .inspection_readiness(who, Utc::now(), 30)
                .await
                .is_err()
        );
        assert!(w.app.notices(who).await.is_err());
    }
    assert!(matches!(
        w.app.inspections(&public).await,
        Err(ServiceError::Unauthorized(_))
    ));
    assert!(matches!(
        w.app.inspections(&w.reporter).await,
        Err(ServiceError::Forbidden(_))
    ));
    // Staff who were not given the inspection do not see it either.
    assert!(w.app.inspections(&w.area_chief).await.unwrap().is_empty());
    assert!(matches!(
        w.app.inspection(&w.area_chief, i.id).await,
        Err(ServiceError::NotFound(_))
    ));
    assert_eq!(w.app.inspections(&w.inspector).await.unwrap().len(), 1);
}
