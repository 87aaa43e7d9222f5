//! The public wording of a description (migration 7): stored with its `edited` event, replaced
//! by a second change, refused for a missing problem or actor, loaded at start, carried by
//! exports and by a backup and its restore — on SQLite and on PostgreSQL.

// Scenario tests read best top to bottom, whatever their length.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use crate::common;

use civmap_domain::{EventKind, ProblemId, Role, UserId};
use civmap_store::{Change, NewEvent, PublicText, Store, StoreError, stored_problem};
use common::{TestDb, problem, t, user};

on_both!(public_texts_round_trip_with_their_events);

fn edited(actor: UserId, public: &str, hidden: bool) -> NewEvent {
    NewEvent {
        data: serde_json::json!({"public_description": public, "hidden": hidden}),
        ..NewEvent::new(EventKind::Edited, t(4, 10))
            .by(actor)
            .note("含邻居姓名")
    }
}

async fn public_texts_round_trip_with_their_events(db: TestDb) {
    let store = db.open().await;
    let office = user("office", Role::StreetOffice);
    store.create_user(&office).await.unwrap();
    let p = problem(121.5, 31.28, "garbage");
    store
        .insert_problem(&p, NewEvent::new(EventKind::Created, t(3, 9)))
        .await
        .unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook = seen.clone();
    store.on_commit(move |changes| {
        for c in changes {
            if let Change::PublicText { text, event } = c {
                hook.lock().unwrap().push((text.clone(), event.seq));
            }
        }
    });

    let hide = PublicText {
        problem: p.id,
        text: String::new(),
        hidden: true,
        updated_at: t(4, 10),
        updated_by: Some(office.id),
    };
    let ev = store
        .set_public_text(&hide, edited(office.id, "", true))
        .await
        .unwrap();
    assert_eq!(ev.kind, EventKind::Edited);
    assert_eq!(ev.data["hidden"], true);
    let wording = PublicText {
        text: "路口有纸箱堆放".into(),
        hidden: false,
        ..hide.clone()
    };
    store
        .set_public_text(&wording, edited(office.id, "路口有纸箱堆放", false))
        .await
        .unwrap();
    // One row per problem, the last change wins; the problem's row is untouched.
    assert_eq!(
        store.load_public_texts().await.unwrap(),
        vec![wording.clone()]
    );
    assert_eq!(
        common::sans_case(store.get_problem(p.id).await.unwrap().unwrap()),
        stored_problem(&p)
    );
    let events = store.events_for(p.id).await.unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].data["public_description"], "路口有纸箱堆放");
    assert_eq!(events[2].note, "含邻居姓名");
    let hooked = seen.lock().unwrap().clone();
    assert_eq!(hooked.len(), 2);
    assert_eq!(hooked[1].0, wording);
    assert_eq!(hooked[1].1, events[2].seq);

    // A missing problem or actor: nothing written.
    let missing = PublicText {
        problem: ProblemId::new(),
        ..wording.clone()
    };
    let e = store
        .set_public_text(&missing, edited(office.id, "x", false))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
    let stranger = UserId::new();
    let e = store
        .set_public_text(&wording, edited(stranger, "x", false))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
    assert_eq!(
        store.load_public_texts().await.unwrap(),
        vec![wording.clone()]
    );

    // Exports carry the public wording beside the description as written.
    let mut csv = Vec::new();
    store.export_csv(&mut csv).await.unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with("public_description,description_hidden"),
        "{header}"
    );
    assert!(csv.contains("路口有纸箱堆放,false"), "{csv}");
    let mut gj = Vec::new();
    store.export_geojson(&mut gj).await.unwrap();
    let gj: serde_json::Value = serde_json::from_slice(&gj).unwrap();
    let props = &gj["features"][0]["properties"];
    assert_eq!(props["public_description"], "路口有纸箱堆放");
    assert_eq!(props["description_hidden"], false);
    assert_eq!(props["description"], p.description);

    // A backup and its restore keep the row.
    let file = db.dir.path().join("texts.civmap-backup");
    store.backup_to(&file).await.unwrap();
    store.close().await;
    let target = db.sibling().await;
    Store::restore_from(&target.url, &file, target.opts())
        .await
        .unwrap();
    let restored = target.open().await;
    assert_eq!(restored.load_public_texts().await.unwrap(), vec![wording]);
    restored.close().await;
}
