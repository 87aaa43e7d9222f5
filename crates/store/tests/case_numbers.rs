//! Case numbers: every stored problem gets one, numbered per day of China Standard Time, unique
//! under concurrent writes and across insert paths, never changed by later writes — on SQLite
//! and on PostgreSQL. Places are stored and updated with the problem.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::{BTreeMap, HashSet};

use chrono::{TimeZone as _, Utc};
use civmap_domain::{CaseNo, EventKind, Problem};
use civmap_store::NewEvent;
use common::{TestDb, problem};

on_both!(
    concurrent_reports_get_distinct_numbers_in_day_order,
    imports_continue_the_day_and_updates_keep_the_number,
    the_day_is_the_day_in_china,
);

fn reported(p: &mut Problem, day: u32, hour: u32) {
    p.reported_at = Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap();
    p.updated_at = p.reported_at;
}

async fn concurrent_reports_get_distinct_numbers_in_day_order(db: TestDb) {
    let store = db.open().await;
    // 60 reports over two days, sent at once: the writer fuses them into multi-row statements.
    let mut tasks = Vec::new();
    for i in 0..60u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut p = problem(121.5 + f64::from(i) * 1e-4, 31.28, "garbage");
            reported(&mut p, 3 + i % 2, 2);
            p.place = format!("四平路{i}号附近");
            store
                .insert_problem(&p, NewEvent::new(EventKind::Created, p.reported_at))
                .await
                .unwrap();
            p.id
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    let all = store.load_problems().await.unwrap();
    assert_eq!(all.len(), 60);
    let mut per_day: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for p in &all {
        let c = p.case_no.expect("every stored problem has a case number");
        per_day.entry(c.day).or_default().push(c.seq);
        assert!(
            p.place.starts_with("四平路"),
            "the place is stored: {:?}",
            p.place
        );
    }
    assert_eq!(
        per_day.keys().copied().collect::<Vec<_>>(),
        [261_203, 261_204]
    );
    for seqs in per_day.values_mut() {
        seqs.sort_unstable();
        assert_eq!(
            *seqs,
            (1..=30).collect::<Vec<_>>(),
            "numbered 1..30 without a gap or twice"
        );
    }
    // The single-problem read and the start-up scan agree.
    let one = store.get_problem(ids[7]).await.unwrap().unwrap();
    assert_eq!(
        Some(one.case_no),
        all.iter().find(|p| p.id == ids[7]).map(|p| p.case_no)
    );
}

async fn imports_continue_the_day_and_updates_keep_the_number(db: TestDb) {
    let store = db.open().await;
    let mut first = problem(121.5, 31.28, "garbage");
    reported(&mut first, 7, 3);
    store
        .insert_problem(&first, NewEvent::new(EventKind::Created, first.reported_at))
        .await
        .unwrap();
    let items: Vec<(Problem, String)> = (0..5)
        .map(|i| {
            let mut p = problem(121.5, 31.28, "garbage");
            reported(&mut p, 7, 4);
            (p, format!("row-{i}"))
        })
        .collect();
    store.import_problems(items, "test").await.unwrap();
    let all = store.load_problems().await.unwrap();
    let numbers: HashSet<String> = all.iter().map(|p| p.case_no.unwrap().to_string()).collect();
    let want: HashSet<String> = (1..=6).map(|n| format!("CM261207-{n:04}")).collect();
    assert_eq!(numbers, want);

    // An update sent from a copy that never had the number (and with a new place) keeps the
    // number and stores the place.
    let stored = store.get_problem(first.id).await.unwrap().unwrap();
    let mut moved = first.clone();
    moved.case_no = None;
    moved.place = "赤峰路附近".into();
    store
        .update_problem(
            &moved,
            1,
            NewEvent::new(EventKind::Edited, moved.reported_at),
        )
        .await
        .unwrap();
    let after = store.get_problem(first.id).await.unwrap().unwrap();
    assert_eq!(after.case_no, stored.case_no);
    assert_eq!(after.place, "赤峰路附近");
    assert_eq!(after.version, 2);

    // A reopened store numbers on after the highest number given, never again from 1.
    drop(store);
    let store = db.open().await;
    let mut next = problem(121.5, 31.28, "garbage");
    reported(&mut next, 7, 5);
    store
        .insert_problem(&next, NewEvent::new(EventKind::Created, next.reported_at))
        .await
        .unwrap();
    let got = store.get_problem(next.id).await.unwrap().unwrap().case_no;
    assert_eq!(
        got,
        Some(CaseNo {
            day: 261_207,
            seq: 7
        })
    );
}

async fn the_day_is_the_day_in_china(db: TestDb) {
    let store = db.open().await;
    // 2026-12-06 16:30 UTC is 00:30 on the 7th in China.
    let mut p = problem(121.5, 31.28, "garbage");
    p.reported_at = Utc.with_ymd_and_hms(2026, 12, 6, 16, 30, 0).unwrap();
    p.updated_at = p.reported_at;
    store
        .insert_problem(&p, NewEvent::new(EventKind::Created, p.reported_at))
        .await
        .unwrap();
    let c = store
        .get_problem(p.id)
        .await
        .unwrap()
        .unwrap()
        .case_no
        .unwrap();
    assert_eq!(c.to_string(), "CM261207-0001");
}
