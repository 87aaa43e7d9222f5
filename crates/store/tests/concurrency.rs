//! Group commit, concurrent writers, the commit hook against the database after a random
//! workload, backup while writing, restore — on SQLite and on PostgreSQL.

// Scenario tests read best top to bottom, whatever their length.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use crate::common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use civmap_domain::{Action, CategoryId, EventKind, Problem, ProblemId, Role, Status, UserId};
use civmap_index::{BBox, Filter, PointRecord, ProblemIndex, StatusSet};
use civmap_store::{Change, NewEvent, Store, StoreError, stored_problem};
use common::{TestDb, problem, t, user};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

on_both!(
    group_commit_batches_queued_writes_and_isolates_failures,
    concurrent_writers_lose_no_acknowledged_write,
    commit_hook_mirror_equals_database_after_random_workload,
    backup_while_writing_is_a_consistent_snapshot_and_restores,
);

type Task = tokio::task::JoinHandle<(&'static str, Result<(), StoreError>)>;

async fn wait_for_queue(store: &Store, n: u64) {
    for _ in 0..1000 {
        if store.stats().await.queue_depth == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "the queue never reached {n} writes: {:?}",
        store.stats().await
    );
}

async fn group_commit_batches_queued_writes_and_isolates_failures(db: TestDb) {
    let store = db.open().await;
    // Problems to update in the held batch (written before the hook is set).
    let mut olds = Vec::new();
    for _ in 0..5 {
        let q = problem(121.47, 31.27, "ad_posters");
        store
            .insert_problem(&q, NewEvent::new(EventKind::Created, t(3, 8)))
            .await
            .unwrap();
        olds.push(q);
    }
    // The hook holds the writer after the first commit, so the next writes pile up in the queue
    // and must then go into ONE transaction. (`block_in_place`: a hook must not block a runtime
    // worker, or the timers and sockets that worker drives stop.)
    let (open_gate, gate) = std::sync::mpsc::channel::<()>();
    let gate = Mutex::new(Some(gate));
    store.on_commit(move |_| {
        let g = gate.lock().unwrap().take();
        if let Some(g) = g {
            tokio::task::block_in_place(|| g.recv().unwrap());
        }
    });
    let p0 = problem(121.49, 31.28, "garbage");
    let first = {
        let (store, p0) = (store.clone(), p0.clone());
        tokio::spawn(async move {
            store
                .insert_problem(&p0, NewEvent::new(EventKind::Created, t(3, 9)))
                .await
        })
    };
    wait_for_queue(&store, 0).await;
    // Give the writer time to reach the hook: until then the first write is not answered.
    for i in 0.. {
        if store.stats().await.batches > 5 {
            break;
        }
        assert!(
            i < 2000,
            "the first write never committed: {:?}",
            store.stats().await
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let mut tasks: Vec<Task> = Vec::new();
    let mut fresh = Vec::new();
    for _ in 0..20 {
        let p = problem(121.5, 31.3, "clutter");
        fresh.push(p.id);
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let r = store
                .insert_problem(&p, NewEvent::new(EventKind::Created, t(3, 9)))
                .await;
            ("insert", r.map(drop))
        }));
    }
    for _ in 0..5 {
        let (store, mut p) = (store.clone(), p0.clone());
        tasks.push(tokio::spawn(async move {
            p.transition(Action::Dispatch, t(3, 10)).unwrap();
            let r = store
                .update_problem(&p, 1, NewEvent::new(EventKind::Dispatched, t(3, 10)))
                .await;
            ("update", r.map(drop))
        }));
    }
    // Updates of distinct problems: one stale, one by an actor who does not exist.
    for (k, q) in olds.iter().enumerate() {
        let (store, mut q) = (store.clone(), q.clone());
        tasks.push(tokio::spawn(async move {
            q.transition(Action::Dispatch, t(3, 10)).unwrap();
            let (expected, what) = match k {
                0 => (2, "stale"),
                _ => (1, "distinct"),
            };
            let mut ev = NewEvent::new(EventKind::Dispatched, t(3, 10));
            let what = if k == 1 {
                ev.actor = Some(UserId::new());
                "ghost actor"
            } else {
                what
            };
            (what, store.update_problem(&q, expected, ev).await.map(drop))
        }));
    }
    for _ in 0..2 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let r = store.create_user(&user("same.name", Role::Reporter)).await;
            ("user", r)
        }));
    }
    {
        let store = store.clone();
        let mut p = problem(121.5, 31.3, "clutter");
        p.reporter = Some(UserId::new());
        tasks.push(tokio::spawn(async move {
            let r = store
                .insert_problem(&p, NewEvent::new(EventKind::Created, t(3, 9)))
                .await;
            ("orphan", r.map(drop))
        }));
    }
    {
        let (store, p0) = (store.clone(), p0.clone());
        tasks.push(tokio::spawn(async move {
            let r = store
                .insert_problem(&p0, NewEvent::new(EventKind::Created, t(3, 9)))
                .await;
            ("duplicate", r.map(drop))
        }));
    }
    let queued = tasks.len() as u64;
    wait_for_queue(&store, queued).await;
    open_gate.send(()).unwrap();
    first.await.unwrap().unwrap();

    let mut results: HashMap<&str, Vec<Result<(), StoreError>>> = HashMap::new();
    for task in tasks {
        let (what, r) = task.await.unwrap();
        results.entry(what).or_default().push(r);
    }
    assert!(results["insert"].iter().all(Result::is_ok));
    let updates = &results["update"];
    assert_eq!(updates.iter().filter(|r| r.is_ok()).count(), 1);
    for r in updates.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(
                r,
                StoreError::Conflict {
                    current_version: Some(2),
                    ..
                }
            ),
            "{r}"
        );
    }
    assert_eq!(results["user"].iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results["distinct"].iter().all(Result::is_ok));
    assert_eq!(results["distinct"].len(), 3);
    assert!(matches!(
        results["stale"][0],
        Err(StoreError::Conflict {
            current_version: Some(1),
            ..
        })
    ));
    assert!(matches!(
        results["ghost actor"][0],
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        results["orphan"][0],
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        results["duplicate"][0],
        Err(StoreError::Conflict { .. })
    ));

    let stats = store.stats().await;
    assert_eq!(
        stats.batches,
        5 + 2,
        "the queued writes shared one transaction"
    );
    assert_eq!(stats.writes, 5 + 1 + 20 + 1 + 3 + 1);
    assert_eq!(stats.write_errors, queued - 25);
    let all = store.load_problems().await.unwrap();
    assert_eq!(all.len(), 26);
    for (k, q) in olds.iter().enumerate() {
        let now = store.get_problem(q.id).await.unwrap().unwrap();
        let want = if k < 2 { 1 } else { 2 };
        assert_eq!(now.version, want, "problem {k}");
        assert_eq!(store.events_for(q.id).await.unwrap().len(), want as usize);
    }
    // One ledger, numbered without gaps or repeats across the shared statements.
    let events = store.events_since(0, 1000).await.unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    let p0_now = store.get_problem(p0.id).await.unwrap().unwrap();
    assert_eq!(p0_now.version, 2);
    assert_eq!(store.events_for(p0.id).await.unwrap().len(), 2);
    for id in fresh {
        assert!(store.get_problem(id).await.unwrap().is_some());
    }
}

async fn concurrent_writers_lose_no_acknowledged_write(db: TestDb) {
    let store = db.open().await;
    let mut tasks = Vec::new();
    for w in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..40 {
                let mut p = problem(
                    121.4 + f64::from(w) * 0.01,
                    31.2 + f64::from(i) * 1e-3,
                    "garbage",
                );
                p.description = format!("writer {w} #{i}");
                store
                    .insert_problem(&p, NewEvent::new(EventKind::Created, t(3, 9)))
                    .await
                    .unwrap();
                acked.push(stored_problem(&p));
                if i % 4 == 0 {
                    let before = p.version;
                    p.transition(Action::Dispatch, t(3, 10)).unwrap();
                    store
                        .update_problem(&p, before, NewEvent::new(EventKind::Dispatched, t(3, 10)))
                        .await
                        .unwrap();
                    *acked.last_mut().unwrap() = stored_problem(&p);
                }
            }
            acked
        }));
    }
    let mut want = Vec::new();
    for task in tasks {
        want.extend(task.await.unwrap());
    }
    let stats = store.stats().await;
    assert_eq!(stats.writes, 16 * 40 + 16 * 10);
    assert!(stats.batches <= stats.writes);
    store.close().await;

    let store = db.open().await;
    let mut got: Vec<_> = store
        .load_problems()
        .await
        .unwrap()
        .into_iter()
        .map(common::sans_case)
        .collect();
    want.sort_by_key(|p| p.id);
    got.sort_by_key(|p| p.id);
    assert_eq!(got, want);
}

const CATS: [&str; 4] = [
    "garbage",
    "illegal_parking",
    "ad_posters",
    "stairwell_clutter",
];

fn random_problem(rng: &mut ChaCha8Rng, users: &[UserId]) -> Problem {
    let mut p = problem(
        rng.random_range(121.45..121.52),
        rng.random_range(31.26..31.30),
        CATS[rng.random_range(0..CATS.len())],
    );
    if rng.random_bool(0.5) {
        p.reporter = Some(users[rng.random_range(0..users.len())]);
    }
    p
}

/// The index record of a problem, as a server builds it (category ids from [`CATS`]).
fn point_record(p: &Problem) -> PointRecord {
    let category = CATS.iter().position(|c| *c == p.category).unwrap();
    PointRecord {
        id: p.id,
        position: p.location,
        category: CategoryId(u16::try_from(category).unwrap()),
        status: p.status,
        severity: p.severity,
        reported_ms: p.reported_at.timestamp_millis(),
    }
}

async fn commit_hook_mirror_equals_database_after_random_workload(db: TestDb) {
    let store = db.open().await;
    // What a server holds in memory, kept only from the commit hook: the problems by id and
    // the real spatial index over them.
    let mirror: Arc<Mutex<HashMap<ProblemId, Problem>>> = Arc::default();
    let index: Arc<Mutex<ProblemIndex>> = Arc::default();
    {
        let (mirror, index) = (mirror.clone(), index.clone());
        store.on_commit(move |changes| {
            let mut m = mirror.lock().unwrap();
            let mut ix = index.lock().unwrap();
            for c in changes {
                match c {
                    Change::Problem { problem, event } => {
                        assert_eq!(event.problem, problem.id);
                        m.insert(problem.id, problem.clone());
                        ix.upsert(point_record(problem));
                    }
                    Change::Imported { problems, .. } => {
                        for p in problems {
                            m.insert(p.id, p.clone());
                            ix.upsert(point_record(p));
                        }
                    }
                    _ => {}
                }
            }
        });
    }
    let mut users = Vec::new();
    for i in 0..3 {
        let u = user(&format!("chief{i}"), Role::RoadChief);
        store.create_user(&u).await.unwrap();
        users.push(u.id);
    }
    let users = Arc::new(users);

    let mut tasks = Vec::new();
    for task in 0..8u64 {
        let (store, mirror, users) = (store.clone(), mirror.clone(), users.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(0x00c1_0a40 + task);
            let (mut ok, mut conflicts) = (0, 0);
            for _ in 0..60 {
                let r: f64 = rng.random();
                let pick = {
                    let m = mirror.lock().unwrap();
                    if m.is_empty() {
                        None
                    } else {
                        let mut ids: Vec<_> = m.keys().copied().collect();
                        ids.sort();
                        let id = ids[rng.random_range(0..ids.len())];
                        Some(m[&id].clone())
                    }
                };
                let Some(mut p) = pick.filter(|_| r >= 0.3) else {
                    let p = random_problem(&mut rng, &users);
                    let actor = p.reporter;
                    let mut ev = NewEvent::new(EventKind::Created, p.reported_at);
                    ev.actor = actor;
                    store.insert_problem(&p, ev).await.unwrap();
                    ok += 1;
                    continue;
                };
                if r < 0.85 {
                    let before = p.version;
                    let allowed = p.status.allowed();
                    let at = p.updated_at + chrono::Duration::minutes(rng.random_range(1..600));
                    let (kind, note) = if allowed.is_empty() || rng.random_bool(0.2) {
                        p.description = format!("edited {}", rng.random::<u32>());
                        p.updated_at = at;
                        p.version += 1;
                        (EventKind::Edited, "edit")
                    } else {
                        let a = allowed[rng.random_range(0..allowed.len())];
                        p.transition(a, at).unwrap();
                        if a == Action::Dispatch {
                            p.assignee = Some(users[rng.random_range(0..users.len())]);
                            p.deadline = Some(at + chrono::Duration::hours(4));
                        }
                        if a == Action::Merge {
                            p.merged_into = Some(ProblemId::new());
                        }
                        (a.into(), a.as_str())
                    };
                    let actor = users[rng.random_range(0..users.len())];
                    match store
                        .update_problem(&p, before, NewEvent::new(kind, at).by(actor).note(note))
                        .await
                    {
                        Ok(_) => ok += 1,
                        // Another task changed it since we read the mirror: a real conflict.
                        Err(StoreError::Conflict {
                            current_version: Some(v),
                            ..
                        }) => {
                            assert!(v > before);
                            conflicts += 1;
                        }
                        Err(e) => panic!("{e}"),
                    }
                } else if r < 0.93 {
                    // A deliberately stale write must be refused and leave no trace.
                    if p.version > 1 {
                        let stale = p.version - 1;
                        p.description = "stale".into();
                        let e = store
                            .update_problem(&p, stale, NewEvent::new(EventKind::Edited, t(9, 9)))
                            .await
                            .unwrap_err();
                        assert!(matches!(e, StoreError::Conflict { .. }), "{e}");
                    }
                } else {
                    let items: Vec<_> = (0..15)
                        .map(|_| {
                            let key = format!("k{}", rng.random_range(0..40));
                            let mut p = random_problem(&mut rng, &users);
                            p.reporter = None;
                            p.status = Status::Closed;
                            (p, key)
                        })
                        .collect();
                    store
                        .import_problems(items, &format!("task{task}"))
                        .await
                        .unwrap();
                    ok += 1;
                }
            }
            (ok, conflicts)
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let check = |store: Store, mirror: HashMap<ProblemId, Problem>| async move {
        let db: HashMap<ProblemId, Problem> = store
            .load_problems()
            .await
            .unwrap()
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        assert_eq!(db.len(), mirror.len());
        assert!(
            db == mirror,
            "the commit hook's mirror disagrees with the database"
        );
        // Every change is one event: a problem's version is the length of its ledger.
        let events = store.events_since(0, u32::MAX).await.unwrap();
        let mut per: HashMap<ProblemId, i64> = HashMap::new();
        for e in &events {
            *per.entry(e.problem).or_default() += 1;
        }
        for p in db.values() {
            assert_eq!(per.get(&p.id).copied(), Some(p.version), "problem {}", p.id);
        }
        assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
        db.len()
    };
    let snapshot = mirror.lock().unwrap().clone();
    let n = check(store.clone(), snapshot.clone()).await;
    assert!(n > 100, "the workload wrote {n} problems");

    // The spatial index kept from the hook answers exactly what the database holds: the same
    // records, and a query over the whole area finds every stored problem and nothing else.
    let stored = store.load_problems().await.unwrap();
    {
        let ix = index.lock().unwrap();
        assert_eq!(ix.len(), stored.len());
        for p in &stored {
            assert_eq!(ix.get(p.id), Some(point_record(p)), "problem {}", p.id);
        }
        let area = BBox::new(121.0, 31.0, 122.0, 32.0).unwrap();
        let mut found = ix.bbox(&area, &Filter::default());
        found.sort();
        let ids: Vec<ProblemId> = stored.iter().map(|p| p.id).collect();
        assert_eq!(found, ids, "index query and database disagree");
        let open = Filter {
            statuses: StatusSet::of([Status::Reported]),
            ..Filter::default()
        };
        let mut open_found = ix.bbox(&area, &open);
        open_found.sort();
        let open_ids: Vec<ProblemId> = stored
            .iter()
            .filter(|p| p.status == Status::Reported)
            .map(|p| p.id)
            .collect();
        assert_eq!(
            open_found, open_ids,
            "filtered index query and database disagree"
        );
    }
    store.close().await;
    // And the same after a restart: nothing acknowledged was only in memory.
    check(db.open().await, snapshot).await;
}

async fn backup_while_writing_is_a_consistent_snapshot_and_restores(db: TestDb) {
    let store = db.open().await;
    let boss = user("jiedao.admin", Role::Admin);
    store.create_user(&boss).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // (writer, sequence number) of every acknowledged insert.
    let acked: Arc<Mutex<Vec<(ProblemId, u32, u32)>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..4u32 {
        let (store, stop, acked) = (store.clone(), stop.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let mut p = problem(121.48, 31.28, "illegal_parking");
                p.description = format!("{w}:{i}");
                store
                    .insert_problem(&p, NewEvent::new(EventKind::Created, t(4, 9)).by(boss.id))
                    .await
                    .unwrap();
                acked.lock().unwrap().push((p.id, w, i));
                i += 1;
            }
        }));
    }
    while acked.lock().unwrap().len() < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before: HashSet<ProblemId> = acked.lock().unwrap().iter().map(|a| a.0).collect();
    let backup = db.dir.path().join("backup.db");
    store.backup_to(&backup).await.unwrap();
    let after = acked.lock().unwrap().len();
    // Keep writing a little after the backup, then stop.
    while acked.lock().unwrap().len() < after + 50 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let e = store.backup_to(&backup).await.unwrap_err();
    assert!(e.to_string().contains("exists"), "{e}");

    let copy = Store::open(
        backup.to_str().unwrap(),
        civmap_store::StoreOptions {
            photo_dir: db.dir.path().join("p2"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let problems = copy.load_problems().await.unwrap();
    let ids: HashSet<ProblemId> = problems.iter().map(|p| p.id).collect();
    assert!(
        before.is_subset(&ids),
        "every write acknowledged before the backup is in it"
    );
    let total = acked.lock().unwrap().len();
    assert!(
        ids.len() < total,
        "the backup is a snapshot, not the final state"
    );
    // A snapshot: each writer's inserts present in the backup are a prefix of its sequence,
    // and every problem has its event.
    let mut per_writer: HashMap<u32, Vec<u32>> = HashMap::new();
    for p in &problems {
        let (w, i) = p.description.split_once(':').unwrap();
        per_writer
            .entry(w.parse().unwrap())
            .or_default()
            .push(i.parse().unwrap());
    }
    for (w, mut seqs) in per_writer {
        seqs.sort_unstable();
        assert!(
            seqs.iter().enumerate().all(|(k, &i)| k as u32 == i),
            "writer {w}: {seqs:?} is not a prefix"
        );
    }
    let events = copy.events_since(0, u32::MAX).await.unwrap();
    assert_eq!(events.len(), problems.len());
    assert_eq!(copy.list_users().await.unwrap().len(), 1);
    copy.close().await;

    // Restore into an empty database of each backend; the result equals the backup.
    let mut targets = vec![TestDb::sqlite()];
    if let Some(pg) = TestDb::postgres().await {
        targets.push(pg);
    }
    for target in targets {
        Store::restore_from(&target.url, &backup, target.opts())
            .await
            .unwrap();
        let restored = target.open().await;
        assert_eq!(restored.load_problems().await.unwrap(), problems);
        assert_eq!(restored.events_since(0, u32::MAX).await.unwrap(), events);
        assert_eq!(restored.list_users().await.unwrap().len(), 1);
        // New events continue after the restored ones.
        let p = problem(121.0, 31.0, "garbage");
        let ev = restored
            .insert_problem(&p, NewEvent::new(EventKind::Created, t(5, 9)))
            .await
            .unwrap();
        assert!(ev.seq > events.last().unwrap().seq);
        restored.close().await;
        // A database with rows is refused.
        let e = Store::restore_from(&target.url, &backup, target.opts())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(m) if m.contains("not empty")),
            "{e}"
        );
    }
    // The backup file itself was not changed by the restores.
    let copy = Store::open(
        backup.to_str().unwrap(),
        civmap_store::StoreOptions {
            photo_dir: db.dir.path().join("p2"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(copy.load_problems().await.unwrap().len(), problems.len());
}
