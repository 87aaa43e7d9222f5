//! Patrols and check-ins (migration 10): a patrol stored with its first positions, its track
//! appended in chunks and ended (the first end kept), read whole and by period; check-ins by
//! period; a chief that does not exist refused; all carried by a backup and its restore — on
//! SQLite and on PostgreSQL.

// Scenario tests read best top to bottom, whatever their length.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use crate::common;

use chrono::Duration;
use civmap_domain::patrol::{CheckIn, CheckInId, Patrol, PatrolId, TrackPoint};
use civmap_domain::{Role, UserId, ZoneId};
use civmap_store::Store;
use common::{TestDb, t, user};

on_both!(patrols_round_trip_with_their_tracks_and_check_ins);

fn fix(i: i64) -> TrackPoint {
    TrackPoint {
        lon: 121.5 + 0.0001 * i as f64,
        lat: 31.28,
        at: t(4, 9) + Duration::seconds(30 * i),
        accuracy_m: 5.0 + i as f64,
    }
}

async fn patrols_round_trip_with_their_tracks_and_check_ins(db: TestDb) {
    let store = db.open().await;
    let chief = user("luzhang", Role::RoadChief);
    store.create_user(&chief).await.unwrap();
    let p = Patrol {
        id: PatrolId::new(),
        chief: chief.id,
        street: "310110009".into(),
        started_at: t(4, 9),
        ended_at: None,
        track: (0..3).map(fix).collect(),
    };
    store.insert_patrol(&p).await.unwrap();
    store
        .append_patrol(p.id, &(3..5).map(fix).collect::<Vec<_>>(), None)
        .await
        .unwrap();
    store
        .append_patrol(p.id, &(5..7).map(fix).collect::<Vec<_>>(), Some(t(4, 10)))
        .await
        .unwrap();
    // A second end does not move the first.
    store
        .append_patrol(p.id, &[], Some(t(4, 11)))
        .await
        .unwrap();
    let got = store.get_patrol(p.id).await.unwrap().unwrap();
    assert_eq!(
        got.track,
        (0..7).map(fix).collect::<Vec<_>>(),
        "chunks in order"
    );
    assert_eq!(got.ended_at, Some(t(4, 10)));
    assert_eq!(got.street, "310110009");
    assert!(store.get_patrol(PatrolId::new()).await.unwrap().is_none());

    // By period: under way at some time in it.
    let other = Patrol {
        id: PatrolId::new(),
        started_at: t(6, 9),
        track: vec![],
        ..got.clone()
    };
    store.insert_patrol(&other).await.unwrap();
    let ids = |v: Vec<Patrol>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.patrols_between(t(4, 0), t(5, 0)).await.unwrap()),
        [p.id]
    );
    assert_eq!(
        ids(store.patrols_between(t(4, 10), t(7, 0)).await.unwrap()),
        [p.id, other.id]
    );
    assert_eq!(
        ids(store.patrols_between(t(4, 11), t(6, 0)).await.unwrap()),
        Vec::<PatrolId>::new()
    );
    let both = store.patrols_between(t(1, 0), t(9, 0)).await.unwrap();
    assert_eq!(both[0].track.len(), 7, "tracks come with the list");
    assert!(both[1].track.is_empty());

    // A patrol of nobody is refused (the chief must be an account).
    let orphan = Patrol {
        id: PatrolId::new(),
        chief: UserId::new(),
        ..other.clone()
    };
    assert!(store.insert_patrol(&orphan).await.is_err());

    let c = CheckIn {
        id: CheckInId::new(),
        zone: ZoneId::new(),
        patrol: Some(p.id),
        chief: chief.id,
        at: t(4, 9) + Duration::minutes(20),
        location: Some((121.5003, 31.28)),
        photos: vec!["photo-1".into()],
        note: "无问题".into(),
    };
    let alone = CheckIn {
        id: CheckInId::new(),
        patrol: None,
        location: None,
        photos: vec![],
        note: String::new(),
        at: t(5, 8),
        ..c.clone()
    };
    store.insert_check_in(&c).await.unwrap();
    store.insert_check_in(&alone).await.unwrap();
    assert_eq!(
        store.check_ins_between(t(4, 0), t(5, 0)).await.unwrap(),
        vec![c.clone()]
    );
    assert_eq!(
        store.check_ins_between(t(1, 0), t(9, 0)).await.unwrap(),
        vec![c.clone(), alone.clone()]
    );

    // A backup and its restore keep them.
    let file = db.dir.path().join("patrols.civmap-backup");
    store.backup_to(&file).await.unwrap();
    store.close().await;
    let target = db.sibling().await;
    Store::restore_from(&target.url, &file, target.opts())
        .await
        .unwrap();
    let restored = target.open().await;
    assert_eq!(restored.get_patrol(p.id).await.unwrap().unwrap(), got);
    assert_eq!(
        restored.check_ins_between(t(1, 0), t(9, 0)).await.unwrap(),
        vec![c, alone]
    );
    restored.close().await;
}
