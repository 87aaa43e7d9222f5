//! Every table written and read back, conflicts, idempotent import, the append-only event log,
//! exports — on SQLite and on PostgreSQL.

// Scenario tests read best top to bottom, whatever their length.
#![allow(
    clippy::too_many_lines,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::float_cmp
)]

use crate::common;

use civmap_domain::{
    Action, CategoryTable, EventKind, Poi, PoiId, PoiKind, Role, Status, UserId, ZoneKind,
};
use civmap_store::{NewEvent, Session, SessionKind, StoreError, stored_problem};
use common::{TestDb, problem, sans_case, t, user, zone};

on_both!(
    problems_and_their_ledger_round_trip,
    stale_versions_and_missing_rows_are_refused,
    import_is_idempotent_by_source_and_external_id,
    event_log_is_append_only_in_the_database,
    zones_pois_and_assignments_round_trip,
    users_sessions_photos_categories_round_trip,
    exports_carry_every_problem,
    start_up_load_is_exact_over_several_pages,
);

/// Coordinates that a lossy float path would get wrong: signed zeros, the range ends, the
/// smallest numbers, neighbours one ULP apart, and random full-precision values.
fn hard_coordinates(rng: &mut rand_chacha::ChaCha8Rng, n: usize, max: f64) -> Vec<f64> {
    use rand::Rng as _;
    let mut v = vec![
        0.0,
        -0.0,
        max,
        -max,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        5e-324,
        -5e-324,
        1e-300,
        0.1,
        0.2,
        1.0 / 3.0,
        f64::from_bits(max.to_bits() - 1),
        f64::from_bits(121.4f64.to_bits() + 1),
        f64::from_bits(31.2f64.to_bits() - 1),
        121.483_612_345_678_9,
    ];
    v.retain(|x| x.abs() <= max);
    while v.len() < n {
        let x = if v.len() % 3 == 0 {
            // Any exponent: the bits of a random f64, kept when in range.
            f64::from_bits(rng.random::<u64>())
        } else {
            rng.random_range(-max..=max)
        };
        if x.is_finite() && x.abs() <= max {
            v.push(x);
        }
    }
    v
}

/// The start-up load (on SQLite through JSON pages packed by SQLite) gives back every problem
/// exactly: coordinates bit for bit, texts with quotes, escapes and non-ASCII, absent and present
/// optional fields, across page boundaries.
async fn start_up_load_is_exact_over_several_pages(db: TestDb) {
    use rand::{Rng as _, SeedableRng as _};
    use rand_chacha::ChaCha8Rng;
    // More than two pages of the packed scan (20,000 problems each).
    const N: usize = 41_003;
    let store = db.open().await;
    let chief = user("chief", Role::RoadChief);
    store.create_user(&chief).await.unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0x00c1_f10a);
    let lons = hard_coordinates(&mut rng, N, 180.0);
    let lats = hard_coordinates(&mut rng, N, 90.0);
    let texts = [
        "",
        "plain",
        "引号\"双\" 'single' \\ backslash / slash",
        "tab\there\nnew line\r\u{1}\u{1f}\u{7f}",
        "emoji 🚲🗑️ and 𠀀 (outside the BMP)",
        "</script><b>&amp;</b>",
        "曲阳路 800 弄 3 号 楼道堆物，影响消防通道",
    ];
    let items: Vec<_> = (0..N)
        .map(|i| {
            let mut p = problem(lons[i], lats[i], "garbage");
            p.category = ["garbage", "illegal_parking", "类别\"x\""][i % 3].into();
            p.description = texts[i % texts.len()].into();
            p.severity = civmap_domain::Severity::ALL[i % 4];
            p.status = Status::ALL[i % Status::ALL.len()];
            p.reported_at = chrono::DateTime::from_timestamp_millis(
                rng.random_range(-2_000_000_000_000..4_000_000_000_000),
            )
            .unwrap();
            p.updated_at = p.reported_at + chrono::Duration::milliseconds(i as i64);
            if i % 2 == 0 {
                p.deadline = Some(p.updated_at + chrono::Duration::hours(4));
                p.assignee = Some(chief.id);
                p.zone = Some(civmap_domain::ZoneId::new());
            }
            if i % 3 == 1 {
                p.reporter = Some(chief.id);
            }
            if i % 5 == 0 {
                p.recurrence_of = Some(civmap_domain::ProblemId::new());
                p.merged_into = Some(civmap_domain::ProblemId::new());
                p.rework_count = u32::MAX;
            }
            (p, format!("x{i}"))
        })
        .collect();
    let out = store.import_problems(items.clone(), "exact").await.unwrap();
    assert_eq!(out.inserted, N);
    store.close().await;

    let store = db.open().await;
    let got = store.load_problems().await.unwrap();
    let mut want: Vec<_> = items.iter().map(|(p, _)| stored_problem(p)).collect();
    want.sort_by_key(|p| p.id);
    assert_eq!(got.len(), want.len());
    // SQLite keeps a REAL without fraction as an integer on disk, so -0.0 is read back as 0.0
    // by every path (the same coordinate); PostgreSQL keeps the sign. Any other bit differs = bug.
    let bits = |x: f64| {
        if x == 0.0 && !db.is_pg() {
            0
        } else {
            x.to_bits()
        }
    };
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(&sans_case(g.clone()), w);
        assert_eq!(
            (bits(g.location.lon()), bits(g.location.lat())),
            (bits(w.location.lon()), bits(w.location.lat())),
            "{}: ({:e}, {:e}) came back as ({:e}, {:e})",
            w.id,
            w.location.lon(),
            w.location.lat(),
            g.location.lon(),
            g.location.lat()
        );
    }
    // Problems read one by one (the plain row path) agree with the scan, bit for bit.
    for k in (0..N).step_by(997).chain([0, 1, 2, 3, N - 1]) {
        let one = store.get_problem(want[k].id).await.unwrap().unwrap();
        assert_eq!(one, got[k]);
        assert_eq!(
            (one.location.lon().to_bits(), one.location.lat().to_bits()),
            (
                got[k].location.lon().to_bits(),
                got[k].location.lat().to_bits()
            ),
            "{}",
            one.id
        );
    }
    store.close().await;
}

async fn problems_and_their_ledger_round_trip(db: TestDb) {
    let store = db.open().await;
    store.ping().await.unwrap();
    let chief = user("wang.luzhang", Role::RoadChief);
    store.create_user(&chief).await.unwrap();
    let z = zone("曲阳菜场 入口", 121.4835, 31.2781);
    store.upsert_zone(&z).await.unwrap();

    let mut p = problem(121.4836, 31.2782, "street_vending");
    let created = store
        .insert_problem(
            &p,
            NewEvent::new(EventKind::Created, t(3, 9)).note("巡查发现"),
        )
        .await
        .unwrap();
    assert_eq!(created.kind, EventKind::Created);
    assert_eq!(created.problem, p.id);
    assert_eq!(
        sans_case(store.get_problem(p.id).await.unwrap().unwrap()),
        stored_problem(&p)
    );

    // Dispatch with a deadline, rectify with evidence, verify: the ledger of one problem.
    let photo = store
        .put_photo(b"\xff\xd8\xff\xe0 after photo", "image/jpeg", 1280, 960)
        .await
        .unwrap();
    let steps = [
        (Action::Dispatch, "派单给王路长", vec![]),
        (Action::Rectify, "摊位已清理", vec![photo.id.clone()]),
        (Action::Verify, "现场核查通过", vec![]),
    ];
    for (i, (action, note, photos)) in steps.into_iter().enumerate() {
        let expected = p.version;
        let at = t(3, 10 + i as u32);
        p.transition(action, at).unwrap();
        if action == Action::Dispatch {
            p.assignee = Some(chief.id);
            p.zone = Some(z.id);
            p.deadline = Some(t(3, 14));
        }
        let mut ev = NewEvent::new(action.into(), at).by(chief.id).note(note);
        ev.photos = photos;
        ev.data = serde_json::json!({ "step": i });
        let e = store.update_problem(&p, expected, ev).await.unwrap();
        assert!(e.seq > created.seq);
    }
    let stored = store.get_problem(p.id).await.unwrap().unwrap();
    assert_eq!(sans_case(stored.clone()), stored_problem(&p));
    assert_eq!(stored.status, Status::Closed);
    assert_eq!(stored.version, 4);

    let ledger = store.events_for(p.id).await.unwrap();
    let kinds: Vec<EventKind> = ledger.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Created,
            EventKind::Dispatched,
            EventKind::Rectified,
            EventKind::Verified
        ]
    );
    assert!(ledger.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(ledger[0].actor, None);
    assert_eq!(ledger[2].actor, Some(chief.id));
    assert_eq!(ledger[2].note, "摊位已清理");
    assert_eq!(ledger[2].photos, vec![photo.id.clone()]);
    assert_eq!(ledger[3].data, serde_json::json!({ "step": 2 }));
    assert_eq!(ledger[1].at, t(3, 10));

    // The change feed pages through the same log.
    let first = store.events_since(0, 2).await.unwrap();
    assert_eq!(first, ledger[..2]);
    let rest = store.events_since(first[1].seq, 100).await.unwrap();
    assert_eq!(rest, ledger[2..]);

    // The lifecycle steps (no `created`, no `dispatched`) before an instant, for assessments.
    let steps = store.lifecycle_events(t(3, 12)).await.unwrap();
    assert_eq!(
        steps,
        vec![(p.id, EventKind::Rectified, t(3, 11))],
        "only steps strictly before 3rd 12:00"
    );
    let steps = store.lifecycle_events(t(4, 0)).await.unwrap();
    let kinds: Vec<EventKind> = steps.iter().map(|s| s.1).collect();
    assert_eq!(kinds, [EventKind::Rectified, EventKind::Verified]);
    // Histories of many problems at once (a zone's ledger), unknown ids ignored.
    let many = store
        .events_for_problems(&[p.id, civmap_domain::ProblemId::new()])
        .await
        .unwrap();
    assert_eq!(many, ledger);

    let all = store.load_problems().await.unwrap();
    assert_eq!(
        all.iter().cloned().map(sans_case).collect::<Vec<_>>(),
        vec![stored_problem(&p)]
    );
    let stats = store.stats().await;
    assert_eq!(stats.problems, 1);
    assert_eq!(stats.last_event_seq, ledger[3].seq);
    store.close().await;

    // Everything is still there after a restart.
    let store = db.open().await;
    assert_eq!(store.load_problems().await.unwrap(), all);
    assert_eq!(store.events_for(p.id).await.unwrap(), ledger);
    assert_eq!(store.stats().await.problems, 1);
}

async fn stale_versions_and_missing_rows_are_refused(db: TestDb) {
    let store = db.open().await;
    let mut p = problem(121.49, 31.28, "garbage");
    store
        .insert_problem(&p, NewEvent::new(EventKind::Created, t(3, 9)))
        .await
        .unwrap();

    let again = store
        .insert_problem(&p, NewEvent::new(EventKind::Created, t(3, 9)))
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::Conflict { .. }), "{again}");

    p.transition(Action::Dispatch, t(3, 10)).unwrap();
    store
        .update_problem(&p, 1, NewEvent::new(EventKind::Dispatched, t(3, 10)))
        .await
        .unwrap();
    // A second writer who read version 1 loses, and learns the current version.
    let mut stale = p.clone();
    stale.description = "另一个人的编辑".into();
    let e = store
        .update_problem(&stale, 1, NewEvent::new(EventKind::Edited, t(3, 11)))
        .await
        .unwrap_err();
    match &e {
        StoreError::Conflict {
            current_version, ..
        } => assert_eq!(*current_version, Some(2)),
        other => panic!("expected a conflict, got {other}"),
    }
    assert!(e.to_string().contains(&p.id.to_string()));
    assert_eq!(
        store.events_for(p.id).await.unwrap().len(),
        2,
        "no event for a refused write"
    );

    let ghost = problem(121.0, 31.0, "garbage");
    let e = store
        .update_problem(&ghost, 1, NewEvent::new(EventKind::Edited, t(3, 11)))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");

    // An actor or a photo that does not exist is named, and nothing is written.
    let nobody = UserId::new();
    let q = problem(121.5, 31.2, "garbage");
    let e = store
        .insert_problem(&q, NewEvent::new(EventKind::Created, t(3, 9)).by(nobody))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::NotFound { .. }) && e.to_string().contains(&nobody.to_string()),
        "{e}"
    );
    let mut ev = NewEvent::new(EventKind::Created, t(3, 9));
    ev.photos = vec!["ab".repeat(32)];
    let e = store.insert_problem(&q, ev).await.unwrap_err();
    assert!(e.to_string().contains("photo"), "{e}");
    assert_eq!(store.get_problem(q.id).await.unwrap(), None);

    // A new problem starts at version 1: its ledger has one event.
    let mut v5 = problem(121.5, 31.2, "garbage");
    v5.version = 5;
    let e = store
        .insert_problem(&v5, NewEvent::new(EventKind::Created, t(3, 9)))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e}");

    // A reporter that is not a user is refused by a foreign key.
    let mut r = problem(121.5, 31.2, "garbage");
    r.reporter = Some(UserId::new());
    let e = store
        .insert_problem(&r, NewEvent::new(EventKind::Created, t(3, 9)))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
    assert_eq!(store.load_problems().await.unwrap().len(), 1);
}

async fn import_is_idempotent_by_source_and_external_id(db: TestDb) {
    let store = db.open().await;
    let items: Vec<_> = (0..1234)
        .map(|i| {
            let mut p = problem(121.4 + f64::from(i) * 1e-4, 31.2, "ad_posters");
            p.status = if i % 3 == 0 {
                Status::Closed
            } else {
                Status::Reported
            };
            (p, format!("12345-{i}"))
        })
        .collect();
    let out = store
        .import_problems(items.clone(), "csv:2024-complaints")
        .await
        .unwrap();
    assert_eq!((out.inserted, out.skipped), (1234, 0));

    // The same file again (fresh ids, as a re-run would make) changes nothing.
    let mut again = items.clone();
    for (p, _) in &mut again {
        p.id = civmap_domain::ProblemId::new();
    }
    let out = store
        .import_problems(again.clone(), "csv:2024-complaints")
        .await
        .unwrap();
    assert_eq!((out.inserted, out.skipped), (0, 1234));
    // Duplicates inside one import count once; the same keys from another source are new.
    let mut dup = again[..10].to_vec();
    dup.push(again[0].clone());
    let out = store.import_problems(dup, "csv:other").await.unwrap();
    assert_eq!((out.inserted, out.skipped), (10, 1));

    let all: Vec<_> = store
        .load_problems()
        .await
        .unwrap()
        .into_iter()
        .map(sans_case)
        .collect();
    assert_eq!(all.len(), 1244);
    let mut want: Vec<_> = items.iter().map(|(p, _)| stored_problem(p)).collect();
    want.extend(again[..10].iter().map(|(p, _)| stored_problem(p)));
    want.sort_by_key(|p| p.id);
    assert_eq!(all, want);

    let ledger = store.events_for(items[7].0.id).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].kind, EventKind::Created);
    assert_eq!(ledger[0].actor, None);
    assert_eq!(ledger[0].note, "imported from csv:2024-complaints");
    assert_eq!(
        ledger[0].data,
        serde_json::json!({"source": "csv:2024-complaints", "external_id": "12345-7"})
    );
    assert_eq!(store.stats().await.problems, 1244);
    assert_eq!(
        store.events_since(0, 10_000).await.unwrap().len(),
        1244,
        "one created event per imported problem"
    );
}

async fn event_log_is_append_only_in_the_database(db: TestDb) {
    let store = db.open().await;
    let p = problem(121.49, 31.28, "garbage");
    store
        .insert_problem(&p, NewEvent::new(EventKind::Created, t(3, 9)))
        .await
        .unwrap();
    // Even SQL that goes around the store cannot rewrite or erase the ledger.
    for sql in ["UPDATE events SET note = 'rewritten'", "DELETE FROM events"] {
        let e = db.raw(sql).await.unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    if db.is_pg() {
        let e = db.raw("TRUNCATE events CASCADE").await.unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
    }
    let ledger = store.events_for(p.id).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].note, "");
}

/// Besides the triggers: no statement in the store's code rewrites or erases the ledger (the only
/// statements naming `events` insert into it or read it).
#[test]
fn no_store_code_rewrites_the_event_log() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = 0;
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap().to_lowercase();
        // One space between words, whatever the source's line breaks.
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for bad in [
            "update events",
            "delete from events",
            "truncate events",
            "truncate table events",
            "replace into events",
            "drop table events",
            "alter table events",
        ] {
            assert!(
                !text.contains(bad),
                "{} contains {bad:?}: the event log is append-only",
                path.display()
            );
        }
    }
    assert!(files >= 5, "read the store's sources");
}

async fn zones_pois_and_assignments_round_trip(db: TestDb) {
    let store = db.open().await;
    let chief = user("li.dianzhang", Role::PointChief);
    store.create_user(&chief).await.unwrap();

    let school = Poi {
        id: PoiId::new(),
        kind: PoiKind::School,
        name: "曲阳第四小学".into(),
        geometry: geo_types::Geometry::Point(geo_types::Point::new(121.4838, 31.2795)),
        external_id: Some("osm:node/123456".into()),
    };
    store.upsert_poi(&school).await.unwrap();
    let mut z = zone("曲阳第四小学 周边 200 m", 121.4838, 31.2795);
    z.kind = ZoneKind::Surroundings;
    z.poi_kind = Some(PoiKind::School);
    z.poi = Some(school.id);
    z.code = Some("310109016-S1".into());
    z.external_id = Some("surroundings:osm:node/123456".into());
    store.upsert_zone(&z).await.unwrap();
    assert_eq!(store.get_zone(z.id).await.unwrap().unwrap(), z);
    assert_eq!(store.list_pois().await.unwrap(), vec![school.clone()]);
    assert_eq!(store.get_poi(school.id).await.unwrap().unwrap(), school);

    // Upsert replaces by id.
    z.name = "曲阳四小 周边".into();
    store.upsert_zone(&z).await.unwrap();
    assert_eq!(store.list_zones().await.unwrap(), vec![z.clone()]);

    // Another zone may not take the same external id.
    let mut other = zone("other", 121.0, 31.0);
    other.external_id = z.external_id.clone();
    let e = store.upsert_zone(&other).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict { .. }), "{e}");

    store.assign(z.id, chief.id).await.unwrap();
    store.assign(z.id, chief.id).await.unwrap(); // idempotent
    assert_eq!(store.assignments().await.unwrap(), vec![(z.id, chief.id)]);
    assert_eq!(store.zones_of(chief.id).await.unwrap(), vec![z.id]);
    let e = store.assign(other.id, chief.id).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
    let e = store.assign(z.id, UserId::new()).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");

    assert!(store.unassign(z.id, chief.id).await.unwrap());
    assert!(!store.unassign(z.id, chief.id).await.unwrap());
    store.assign(z.id, chief.id).await.unwrap();
    // Deleting a zone ends its assignments.
    store.delete_zone(z.id).await.unwrap();
    assert!(store.assignments().await.unwrap().is_empty());
    assert!(store.get_zone(z.id).await.unwrap().is_none());
    assert!(matches!(
        store.delete_zone(z.id).await,
        Err(StoreError::NotFound { .. })
    ));
    store.delete_poi(school.id).await.unwrap();
    assert!(store.list_pois().await.unwrap().is_empty());
}

async fn users_sessions_photos_categories_round_trip(db: TestDb) {
    let store = db.open().await;
    let mut a = user("zhang.pianzhang", Role::AreaChief);
    let b = user("街道办_小陈", Role::StreetOffice);
    store.create_user(&a).await.unwrap();
    store.create_user(&b).await.unwrap();
    let e = store
        .create_user(&user("zhang.pianzhang", Role::Reporter))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Conflict { .. }) && e.to_string().contains("taken"),
        "{e}"
    );

    assert_eq!(
        store
            .user_by_name("zhang.pianzhang")
            .await
            .unwrap()
            .unwrap(),
        a
    );
    assert_eq!(store.user_by_id(b.id).await.unwrap().unwrap(), b);
    assert_eq!(store.user_by_name("nobody").await.unwrap(), None);
    a.disabled = true;
    a.role = Role::StreetOffice;
    store.update_user(&a).await.unwrap();
    assert_eq!(store.user_by_id(a.id).await.unwrap().unwrap(), a);
    let mut clash = a.clone();
    clash.name = b.name.clone();
    assert!(matches!(
        store.update_user(&clash).await,
        Err(StoreError::Conflict { .. })
    ));
    let users = store.list_users().await.unwrap();
    assert_eq!(users.len(), 2);

    let s = Session {
        token_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        user: a.id,
        kind: SessionKind::ApiToken,
        created_at: t(2, 8),
        expires_at: t(30, 8),
        revoked: false,
    };
    store.create_session(&s).await.unwrap();
    assert_eq!(
        store
            .session_by_token_hash(&s.token_hash)
            .await
            .unwrap()
            .unwrap(),
        s
    );
    assert!(store.revoke_session(&s.token_hash).await.unwrap());
    assert!(
        store
            .session_by_token_hash(&s.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(!store.revoke_session("nope").await.unwrap());
    let mut orphan = s.clone();
    orphan.token_hash = "other".into();
    orphan.user = UserId::new();
    assert!(matches!(
        store.create_session(&orphan).await,
        Err(StoreError::NotFound { .. })
    ));

    // Photos are content-addressed: the same bytes twice are one photo.
    let bytes = b"\x89PNG\r\n\x1a\n not really a png".to_vec();
    let m1 = store
        .put_photo(&bytes, "image/png", 640, 480)
        .await
        .unwrap();
    let m2 = store
        .put_photo(&bytes, "image/png", 640, 480)
        .await
        .unwrap();
    assert_eq!(m1, m2);
    assert_eq!(m1.bytes, bytes.len() as u64);
    assert_eq!(
        std::fs::read(store.photo_path(&m1.id).unwrap()).unwrap(),
        bytes
    );
    assert_eq!(store.photo_meta(&m1.id).await.unwrap().unwrap(), m1);
    assert!(store.photo_path("../../etc/passwd").is_err());

    let table = CategoryTable::builtin();
    for (_, c) in table.iter() {
        store.upsert_category(c).await.unwrap();
    }
    let mut garbage = table.by_code("garbage").unwrap().clone();
    garbage.weight = 3.5;
    store.upsert_category(&garbage).await.unwrap();
    let cats = store.list_categories().await.unwrap();
    assert_eq!(cats.len(), table.len());
    assert_eq!(cats.iter().find(|c| c.code == "garbage").unwrap(), &garbage);
    let stairwell = cats.iter().find(|c| c.code == "stairwell_clutter").unwrap();
    assert_eq!(stairwell, table.by_code("stairwell_clutter").unwrap());
}

async fn exports_carry_every_problem(db: TestDb) {
    let store = db.open().await;
    let mut a = problem(121.4836, 31.2782, "street_vending");
    a.description = "含逗号, 引号\"和\n换行".into();
    let b = problem(121.5001, 31.2904, "zombie_car");
    for p in [&a, &b] {
        store
            .insert_problem(p, NewEvent::new(EventKind::Created, t(3, 9)))
            .await
            .unwrap();
    }
    a.transition(Action::Dispatch, t(3, 10)).unwrap();
    store
        .update_problem(
            &a,
            1,
            NewEvent::new(EventKind::Dispatched, t(3, 10)).note("派单"),
        )
        .await
        .unwrap();

    // An imported problem keeps where it came from in both exports.
    let c = problem(121.4901, 31.2801, "garbage");
    store
        .import_problems(vec![(c.clone(), "HL-42".to_owned())], "hotline")
        .await
        .unwrap();

    let mut out = Vec::new();
    assert_eq!(store.export_geojson(&mut out).await.unwrap(), 3);
    let fc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let fc_props = |id: String| {
        fc["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap()["properties"]
            .clone()
    };
    let pc = fc_props(c.id.to_string());
    assert_eq!(
        (&pc["source"], &pc["external_id"]),
        (&serde_json::json!("hotline"), &serde_json::json!("HL-42"))
    );
    assert_eq!(
        fc_props(a.id.to_string())["source"],
        serde_json::Value::Null
    );
    assert_eq!(fc["type"], "FeatureCollection");
    let feats = fc["features"].as_array().unwrap();
    let fa = feats.iter().find(|f| f["id"] == a.id.to_string()).unwrap();
    assert_eq!(
        fa["geometry"]["coordinates"],
        serde_json::json!([121.4836, 31.2782]),
        "RFC 7946 order: lon, lat"
    );
    assert_eq!(fa["properties"]["status"], "dispatched");
    assert_eq!(fa["properties"]["description"], a.description);

    let mut out = Vec::new();
    assert_eq!(store.export_csv(&mut out).await.unwrap(), 3);
    assert!(out.starts_with("\u{feff}".as_bytes()), "BOM for Excel");
    let mut r = csv::Reader::from_reader(&out[3..]);
    let header = r.headers().unwrap().clone();
    assert_eq!(&header[1], "case_no");
    assert_eq!(&header[19], "source");
    assert_eq!(&header[20], "external_id");
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    let rc = rows.iter().find(|r| r[0] == *c.id.to_string()).unwrap();
    assert_eq!((&rc[19], &rc[20]), ("hotline", "HL-42"));
    let ra = rows.iter().find(|r| r[0] == *a.id.to_string()).unwrap();
    assert!(
        ra[1].starts_with("CM250303-"),
        "the case number: {:?}",
        &ra[1]
    );
    assert_eq!(&ra[8], a.description, "quotes, commas and newlines survive");
    assert_eq!(&ra[3], "121.4836");
    assert_eq!(&ra[7], "dispatched");

    let mut out = Vec::new();
    assert!(store.export_events_csv(&mut out).await.unwrap() >= 3);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("派单"));
}
