//! Group commit: one task owns the writes. It takes one write from the queue, drains whatever
//! else is waiting (up to `max_batch`), runs them all in ONE transaction, commits, hands the
//! committed changes to the commit hook, and only then answers each caller. One fsync thus
//! covers many writes, and nothing is acknowledged before `COMMIT` returned.
//!
//! Each write keeps its own checks: a stale version or a taken name fails that write alone and
//! the others commit. Writes are arranged so that their expected failures happen before they
//! change anything (guarded `INSERT ... SELECT ... WHERE`, `UPDATE ... WHERE version = $n`, row
//! counts instead of SQL errors), which lets the common batch run without savepoints. When a
//! write fails after it changed something, or PostgreSQL aborted the transaction on an SQL error,
//! the batch is rolled back and run again with a savepoint around every write.
//!
//! A batch of small writes spends its time on round trips to the driver, so the common case is
//! folded: consecutive inserts (or updates) of distinct problems share one statement
//! ([`fused`]), and the events of the whole batch are numbered here and written by one
//! statement before `COMMIT` ([`Ledger`]). Sixteen concurrent reports then cost about six
//! statements instead of thirty-four.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use civmap_domain::{
    CaseNo, Category, Event, EventKind, Poi, PoiId, Problem, ProblemId, User, UserId, Zone, ZoneId,
};
use sqlx::Connection as _;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, Postgres};
use sqlx::sqlite::SqliteConnection;
use tokio::sync::{mpsc, oneshot};

use crate::codec::{self, CASE_COL, PROBLEM_COLS, ms, stored_problem};
use crate::copy::{self, Source};
use crate::error::{Location, StoreError, from_sqlx};
use crate::open::{FileId, connect_sqlite_writer, file_id};
use crate::public_text;
use crate::shared::Shared;
use crate::sql::{Arg, Conn, RawConn, col, multi_insert};
use crate::timings::BatchTimes;
use crate::types::{Change, ImportOutcome, NewEvent, PhotoMeta, PublicText, Session};

/// A write, as queued for the writer.
#[derive(Debug)]
pub(crate) enum Op {
    InsertProblem(Problem, NewEvent),
    UpdateProblem(Problem, i64, NewEvent),
    Import(Vec<(Problem, String)>, String),
    UpsertZone(Zone),
    DeleteZone(ZoneId),
    UpsertPoi(Poi),
    DeletePoi(PoiId),
    Assign(ZoneId, UserId),
    Unassign(ZoneId, UserId),
    CreateUser(User),
    UpdateUser(User),
    CreateSession(Session),
    RevokeSession(String),
    /// Revoke every session and API token of a user (disabled, password reset).
    RevokeUserSessions(UserId),
    PutPhoto(PhotoMeta),
    UpsertCategory(Category),
    /// What the public reads for a problem's description, with its `edited` event.
    SetPublicText(PublicText, NewEvent),
    /// Statements of one write that memory does not hold (mock inspections), in order, in the
    /// batch's transaction; answers the rows the last one changed.
    Statements(Vec<(String, Vec<Arg>)>),
    /// Fill this (empty) database with every row of another store, in one snapshot.
    CopyFrom(Source),
    /// Finish the queued writes, close the connection, stop.
    Close,
}

/// What a write answers.
#[derive(Debug)]
pub(crate) enum Out {
    Event(Event),
    Import(ImportOutcome),
    Unit,
    Flag(bool),
    Photo(PhotoMeta),
}

pub(crate) struct Job {
    pub(crate) op: Op,
    pub(crate) reply: oneshot::Sender<Result<Out, StoreError>>,
    /// When it was queued (for the writer's timings).
    pub(crate) queued: Instant,
}

/// The database side of the writer.
pub(crate) enum WriterDb {
    /// One dedicated connection, reopened when the file was replaced or after a failure.
    Sqlite {
        path: PathBuf,
        synchronous_full: bool,
        conn: Option<(FileId, SqliteConnection)>,
    },
    /// A connection from the pool, kept across batches (no acquire and test round trip per
    /// batch) and given up after a failure; the pool reconnects by itself.
    Pg {
        pool: PgPool,
        conn: Option<PoolConnection<Postgres>>,
    },
}

pub(crate) struct Writer {
    pub(crate) rx: mpsc::Receiver<Job>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) db: WriterDb,
    pub(crate) max_batch: usize,
}

type Done = (Out, Vec<Change>);
type Batch = Result<Vec<Result<Done, StoreError>>, Attempt>;

/// A failed write; `clean` when it changed nothing and the transaction can go on.
struct OpErr {
    err: StoreError,
    clean: bool,
}

enum Attempt {
    /// Run the batch again with a savepoint around each write.
    Retry,
    /// The whole batch failed (connection lost, disk full...).
    Fatal(StoreError),
}

/// Key for `pg_advisory_xact_lock`: serialises the writers of several civmap processes sharing
/// one PostgreSQL database, so that event `seq` order is commit order and a reader following
/// `events_since` never skips an event that commits late.
const PG_WRITE_LOCK: i64 = 0x6369_766d_6170; // "civmap"

impl Writer {
    pub(crate) async fn run(mut self) {
        let mut jobs: Vec<Job> = Vec::new();
        while let Some(first) = self.rx.recv().await {
            let mut closing = matches!(first.op, Op::Close);
            jobs.push(first);
            while !closing && jobs.len() < self.max_batch {
                match self.rx.try_recv() {
                    Ok(j) => {
                        closing = matches!(j.op, Op::Close);
                        jobs.push(j);
                    }
                    Err(_) => break,
                }
            }
            self.shared.stats.dequeued(jobs.len());
            let close = if closing { jobs.pop() } else { None };
            if !jobs.is_empty() {
                self.run_batch(std::mem::take(&mut jobs)).await;
            }
            if let Some(close) = close {
                self.close().await;
                // The caller may have gone; nothing to do then.
                let _ = close.reply.send(Ok(Out::Unit));
                self.rx.close();
                while let Some(j) = self.rx.recv().await {
                    let _ = j.reply.send(Err(StoreError::Unavailable(format!(
                        "{}: the store is closed",
                        self.shared.loc
                    ))));
                }
                return;
            }
        }
        self.close().await;
    }

    async fn close(&mut self) {
        match &mut self.db {
            WriterDb::Sqlite { conn, .. } => {
                if let Some((_, c)) = conn.take() {
                    let _ = c.close().await;
                }
            }
            WriterDb::Pg { conn, .. } => drop(conn.take()),
        }
    }

    async fn run_batch(&mut self, jobs: Vec<Job>) {
        let start = Instant::now();
        let mut times = BatchTimes {
            queue_waits: jobs.iter().map(|j| start - j.queued).collect(),
            ..BatchTimes::default()
        };
        let queued: Vec<Instant> = jobs.iter().map(|j| j.queued).collect();
        let (ops, replies): (Vec<Op>, Vec<_>) = jobs.into_iter().map(|j| (j.op, j.reply)).unzip();
        let mut commit = Duration::ZERO;
        let results = match self.try_batch(&ops, false, &mut commit).await {
            Ok(r) => r,
            Err(Attempt::Retry) => match self.try_batch(&ops, true, &mut commit).await {
                Ok(r) => r,
                Err(Attempt::Fatal(e)) => all_failed(&e, ops.len()),
                Err(Attempt::Retry) => all_failed(
                    &StoreError::Internal("a write failed half-way even with savepoints".into()),
                    ops.len(),
                ),
            },
            Err(Attempt::Fatal(e)) => {
                tracing::warn!(error = %e, writes = ops.len(), "group commit failed");
                all_failed(&e, ops.len())
            }
        };
        let mut changes = Vec::new();
        let mut outs = Vec::with_capacity(results.len());
        let (mut ok, mut failed, mut created) = (0, 0, 0);
        for (op, r) in ops.iter().zip(results) {
            match r {
                Ok((out, mut ch)) => {
                    ok += 1;
                    created += match (op, &out) {
                        (Op::InsertProblem(..), _) => 1,
                        (_, Out::Import(o)) => o.inserted,
                        _ => 0,
                    };
                    changes.append(&mut ch);
                    outs.push(Ok(out));
                }
                Err(e) => {
                    failed += 1;
                    outs.push(Err(e));
                }
            }
        }
        self.shared.stats.committed(ok, failed, created, &changes);
        times.commit = commit;
        times.statements = start.elapsed().saturating_sub(commit);
        let hook_start = Instant::now();
        if !changes.is_empty() {
            let hook = self.shared.hook();
            if let Some(hook) = hook {
                hook(&changes);
            }
        }
        times.hook = hook_start.elapsed();
        for (reply, out) in replies.into_iter().zip(outs) {
            // A caller that stopped waiting still had its write committed; nobody to tell.
            let _ = reply.send(out);
        }
        let answered = Instant::now();
        times.answered = queued.iter().map(|q| answered - *q).collect();
        self.shared.timings.record(&times);
    }

    /// Runs the batch in one transaction; `commit` gets the time `COMMIT` took.
    async fn try_batch(&mut self, ops: &[Op], savepoints: bool, commit: &mut Duration) -> Batch {
        let loc = &self.shared.loc;
        match &mut self.db {
            WriterDb::Sqlite {
                path,
                synchronous_full,
                conn,
            } => {
                // A file deleted under us would swallow writes into an unlinked inode: check
                // first, and reopen when the file was replaced (restored from a backup).
                let id = file_id(path).map_err(|e| {
                    *conn = None;
                    Attempt::Fatal(e)
                })?;
                if conn.as_ref().is_some_and(|(cid, _)| *cid != id) {
                    *conn = None;
                }
                if conn.is_none() {
                    let c = connect_sqlite_writer(path, *synchronous_full, loc)
                        .await
                        .map_err(Attempt::Fatal)?;
                    *conn = Some((id, c));
                }
                let Some((_, c)) = conn.as_mut() else {
                    return Err(Attempt::Fatal(StoreError::Internal(
                        "writer connection vanished".into(),
                    )));
                };
                let r = sqlite_tx(c, loc, ops, savepoints, commit).await;
                if let Err(Attempt::Fatal(_)) = &r {
                    // Start from a fresh connection next time.
                    *conn = None;
                }
                r
            }
            WriterDb::Pg { pool, conn } => {
                // The kept connection may have died while idle (server restarted, connection
                // killed by an administrator, a NAT timeout). Its failure shows at `BEGIN`,
                // before anything was done, so one retry on a fresh connection is safe and
                // spares the writers a 503 while the database is actually there.
                loop {
                    let fresh = conn.is_none();
                    if fresh {
                        *conn = Some(
                            pool.acquire()
                                .await
                                .map_err(|e| Attempt::Fatal(from_sqlx(loc, e)))?,
                        );
                    }
                    let Some(pc) = conn.as_mut() else {
                        return Err(Attempt::Fatal(StoreError::Internal(
                            "writer connection vanished".into(),
                        )));
                    };
                    let r = pg_tx(pc, loc, ops, savepoints, commit).await;
                    if r.is_err() {
                        // Do not hand a possibly broken connection back to the pool.
                        if let Some(pc) = conn.take() {
                            drop(pc.detach());
                        }
                    }
                    match r {
                        Ok(done) => return done,
                        Err(PgFail::Begin(e)) if fresh => return Err(Attempt::Fatal(e)),
                        // Once: the next turn runs on a fresh connection.
                        Err(PgFail::Begin(e)) => {
                            tracing::info!(error = %e, "idle writer connection lost; reconnecting");
                        }
                        Err(PgFail::Batch(a)) => return Err(a),
                    }
                }
            }
        }
    }
}

fn fatal(loc: &Location) -> impl Fn(sqlx::Error) -> Attempt + '_ {
    move |e| Attempt::Fatal(from_sqlx(loc, e))
}

async fn sqlite_tx(
    c: &mut SqliteConnection,
    loc: &Location,
    ops: &[Op],
    savepoints: bool,
    took: &mut Duration,
) -> Batch {
    let mut tx = c.begin_with("BEGIN IMMEDIATE").await.map_err(fatal(loc))?;
    let mut cx = Conn {
        raw: RawConn::Sqlite(&mut tx),
        loc,
    };
    let (results, commit) = run_ops(&mut cx, ops, savepoints).await?;
    let t0 = Instant::now();
    if commit {
        tx.commit().await.map_err(fatal(loc))?;
    } else {
        tx.rollback().await.map_err(fatal(loc))?;
    }
    *took = t0.elapsed();
    Ok(results)
}

/// How a PostgreSQL batch failed: at `BEGIN` (nothing done; the connection is suspect), or
/// later.
enum PgFail {
    Begin(StoreError),
    Batch(Attempt),
}

async fn pg_tx(
    c: &mut PgConnection,
    loc: &Location,
    ops: &[Op],
    savepoints: bool,
    took: &mut Duration,
) -> Result<Batch, PgFail> {
    // BEGIN and the lock in one round trip (a simple query may hold two statements).
    let mut tx = c
        .begin_with(format!(
            "BEGIN; SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})"
        ))
        .await
        .map_err(|e| PgFail::Begin(from_sqlx(loc, e)))?;
    let mut cx = Conn {
        raw: RawConn::Pg(&mut tx),
        loc,
    };
    let (results, commit) = match run_ops(&mut cx, ops, savepoints).await {
        Ok(r) => r,
        // A logical failure that asks for a retry leaves a healthy connection.
        Err(Attempt::Retry) => return Ok(Err(Attempt::Retry)),
        Err(a) => return Err(PgFail::Batch(a)),
    };
    let t0 = Instant::now();
    let end = if commit {
        tx.commit().await
    } else {
        tx.rollback().await
    };
    *took = t0.elapsed();
    end.map_err(|e| PgFail::Batch(Attempt::Fatal(from_sqlx(loc, e))))?;
    Ok(Ok(results))
}

fn all_failed(e: &StoreError, n: usize) -> Vec<Result<Done, StoreError>> {
    (0..n).map(|_| Err(e.clone())).collect()
}

/// Runs the writes of one batch inside the open transaction. Returns the results and whether to
/// commit (a single write that failed half-way is rolled back instead).
type Ran = Result<(Vec<Result<Done, StoreError>>, bool), Attempt>;

async fn run_ops(cx: &mut Conn<'_>, ops: &[Op], savepoints: bool) -> Ran {
    let mut results = Vec::with_capacity(ops.len());
    let mut ledger = Ledger::default();
    let mut unfused_until = 0;
    let mut i = 0;
    while i < ops.len() {
        if !savepoints && i >= unfused_until {
            let run = fusable_run(&ops[i..]);
            if run >= 2 {
                match fused(cx, &mut ledger, &ops[i..i + run]).await? {
                    Some(done) => {
                        results.extend(done);
                        i += run;
                    }
                    // The shared statement failed (SQLite undid it): one by one.
                    None => unfused_until = i + run,
                }
                continue;
            }
        }
        let op = &ops[i];
        i += 1;
        if savepoints {
            cx.raw("SAVEPOINT civmap_write")
                .await
                .map_err(Attempt::Fatal)?;
        }
        let mark = ledger.mark();
        match apply(cx, &mut ledger, op).await {
            Ok(done) => {
                if savepoints {
                    cx.raw("RELEASE civmap_write")
                        .await
                        .map_err(Attempt::Fatal)?;
                }
                results.push(Ok(done));
            }
            Err(OpErr { err, clean }) => {
                if !err.is_logical() {
                    return Err(Attempt::Fatal(err));
                }
                if savepoints {
                    ledger.reset(mark);
                    cx.raw("ROLLBACK TO civmap_write")
                        .await
                        .map_err(Attempt::Fatal)?;
                    cx.raw("RELEASE civmap_write")
                        .await
                        .map_err(Attempt::Fatal)?;
                    results.push(Err(err));
                } else if clean {
                    results.push(Err(err));
                } else if ops.len() == 1 {
                    return Ok((vec![Err(err)], false));
                } else {
                    return Err(Attempt::Retry);
                }
            }
        }
    }
    ledger.flush(cx).await.map_err(Attempt::Fatal)?;
    Ok((results, true))
}

/// How many ops from the start of `ops` can share one statement: consecutive inserts (or
/// consecutive updates) of distinct problems without evidence photos. Distinct, so that the
/// shared statement means exactly what the writes one after another would.
fn fusable_run(ops: &[Op]) -> usize {
    let mut seen = HashSet::new();
    let first_is_insert = match ops.first() {
        Some(Op::InsertProblem(..)) => true,
        Some(Op::UpdateProblem(..)) => false,
        _ => return 0,
    };
    ops.iter()
        .take_while(|op| match op {
            Op::InsertProblem(p, ev) if first_is_insert => {
                ev.photos.is_empty() && p.version == 1 && seen.insert(p.id)
            }
            Op::UpdateProblem(p, _, ev) if !first_is_insert => {
                ev.photos.is_empty() && seen.insert(p.id)
            }
            _ => false,
        })
        .count()
}

/// Runs a [`fusable_run`] as ONE statement (plus the batch's one events statement): a batch of
/// 16 small writes costs 16 round trips to the database driver less. Writes the statement
/// skipped (stale version, existing id, unknown actor) fail alone, with the same errors as one
/// by one. `None` when the statement itself failed and SQLite undid it; on PostgreSQL, whose
/// transaction is then aborted, the batch is run again with savepoints.
async fn fused(
    cx: &mut Conn<'_>,
    ledger: &mut Ledger,
    ops: &[Op],
) -> Result<Option<Vec<Result<Done, StoreError>>>, Attempt> {
    let insert = matches!(ops[0], Op::InsertProblem(..));
    let n = PROBLEM_COLS.len();
    // A row is the problem's columns and then the case number and the actor (an insert) or the
    // expected version and the actor (an update).
    let width = n + 2;
    let (args, stored) = fused_rows(cx, ops, insert, width).await?;
    let mut values = String::new();
    for r in 0..ops.len() {
        if r > 0 {
            values.push_str(", ");
        }
        crate::sql::placeholders(&mut values, 1 + r * width, width);
    }
    let cols = PROBLEM_COLS.join(", ");
    let guard = "(v.actor IS NULL OR EXISTS (SELECT 1 FROM users WHERE users.id = v.actor))";
    let sql = if insert {
        let vcols: Vec<String> = PROBLEM_COLS
            .iter()
            .chain([&CASE_COL])
            .map(|c| format!("v.{c}"))
            .collect();
        format!(
            "WITH v ({cols}, {CASE_COL}, actor) AS (VALUES {values}) \
             INSERT INTO problems ({cols}, {CASE_COL}) SELECT {} FROM v WHERE {guard} \
             ON CONFLICT DO NOTHING RETURNING id",
            vcols.join(", ")
        )
    } else {
        let sets: Vec<String> = PROBLEM_COLS[1..]
            .iter()
            .map(|c| format!("{c} = v.{c}"))
            .collect();
        format!(
            "WITH v ({cols}, expected, actor) AS (VALUES {values}) \
             UPDATE problems SET {} FROM v \
             WHERE problems.id = v.id AND problems.version = v.expected AND {guard} \
             RETURNING problems.id",
            sets.join(", ")
        )
    };
    let done: HashSet<ProblemId> = match cx
        .all(&sql, args, &|r| Ok(ProblemId(r.uuid(0).map_err(col)?)))
        .await
    {
        Ok(ids) => ids.into_iter().collect(),
        Err(e) if e.is_logical() && !cx.is_pg() => return Ok(None),
        Err(e) if e.is_logical() => return Err(Attempt::Retry),
        Err(e) => return Err(Attempt::Fatal(e)),
    };
    let mut out = Vec::with_capacity(ops.len());
    for (op, s) in ops.iter().zip(stored) {
        let mut w = W {
            cx: &mut *cx,
            ledger: &mut *ledger,
            // Rows of the shared statement exist now: an error from here on is not clean.
            wrote: true,
        };
        let r = match op {
            Op::InsertProblem(p, ev) if done.contains(&p.id) => inserted(&mut w, s, ev).await,
            Op::InsertProblem(p, ev) => Err(why_insert_failed(&mut w, p, ev).await),
            Op::UpdateProblem(p, _, ev) if done.contains(&p.id) => updated(&mut w, s, ev).await,
            Op::UpdateProblem(p, expected, ev) => {
                Err(why_update_failed(&mut w, p, *expected, ev).await)
            }
            _ => Err(OpErr {
                err: StoreError::Internal("fused a write that is not a problem write".into()),
                clean: false,
            }),
        };
        match r {
            Ok(d) => out.push(Ok(d)),
            Err(OpErr { err, .. }) if err.is_logical() => out.push(Err(err)),
            Err(OpErr { err, .. }) => return Err(Attempt::Fatal(err)),
        }
    }
    Ok(Some(out))
}

/// The parameters of a fused run's rows, and the problems as they will be stored (new ones
/// numbered first, in the write's transaction).
async fn fused_rows(
    cx: &mut Conn<'_>,
    ops: &[Op],
    insert: bool,
    width: usize,
) -> Result<(Vec<Arg>, Vec<Problem>), Attempt> {
    let mut args = Vec::with_capacity(ops.len() * width);
    let mut stored = Vec::with_capacity(ops.len());
    if insert {
        let mut fresh: Vec<Problem> = ops
            .iter()
            .filter_map(|op| match op {
                Op::InsertProblem(p, _) => Some(stored_problem(p)),
                _ => None,
            })
            .collect();
        number_cases(cx, &mut fresh).await.map_err(Attempt::Fatal)?;
        let mut fresh = fresh.into_iter();
        for op in ops {
            let (Op::InsertProblem(_, ev), Some(s)) = (op, fresh.next()) else {
                return Err(Attempt::Fatal(StoreError::Internal("not fusable".into())));
            };
            codec::problem_args(&s, &mut args);
            args.push(codec::case_arg(&s));
            args.push(ev.actor.map(|a| a.0).into());
            stored.push(s);
        }
    } else {
        for op in ops {
            let Op::UpdateProblem(p, expected, ev) = op else {
                return Err(Attempt::Fatal(StoreError::Internal("not fusable".into())));
            };
            let mut s = stored_problem(p);
            s.version = expected + 1;
            codec::problem_args(&s, &mut args);
            args.push((*expected).into());
            args.push(ev.actor.map(|a| a.0).into());
            stored.push(s);
        }
    }
    Ok((args, stored))
}

const EVENT_COLS: [&str; 8] = [
    "seq", "problem", "kind", "actor", "at", "note", "photos", "data",
];

/// The events of one batch. The writer numbers them itself (it holds the write lock: SQLite's,
/// or PostgreSQL's advisory lock, so nobody else numbers events meanwhile) and writes them all
/// in one multi-row `INSERT` before `COMMIT`: one statement per batch instead of one per write,
/// which is what a batch of small writes spends its time on.
#[derive(Default)]
struct Ledger {
    /// The next free number, once read from the table.
    next: Option<i64>,
    /// Rows of [`EVENT_COLS`] not yet written.
    pending: Vec<Vec<Arg>>,
    /// Rows of the change log (`changes`: kind and key) not yet written, numbered at the flush
    /// under the same write lock as the events.
    changes: Vec<(&'static str, String)>,
    /// Something replicas follow was written (events or changes): ring their doorbell.
    ring: bool,
}

/// The PostgreSQL channel the writer notifies after a transaction that wrote events or changes:
/// a doorbell without payload (what changed is read from the log, in order), delivered by the
/// server only when the transaction commits.
pub(crate) const DOORBELL_CHANNEL: &str = "civmap_events";

/// The columns of the change log.
const CHANGE_COLS: [&str; 4] = ["seq", "kind", "key", "at"];

impl Ledger {
    /// Reserves `n` consecutive numbers; returns the first.
    async fn reserve(&mut self, cx: &mut Conn<'_>, n: i64) -> Result<i64, StoreError> {
        let first = match self.next {
            Some(next) => next,
            None => {
                cx.one(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM events",
                    vec![],
                    &|r| r.i64(0).map_err(col),
                )
                .await?
            }
        };
        self.next = Some(first + n);
        Ok(first)
    }

    fn mark(&self) -> (Option<i64>, usize, usize) {
        (self.next, self.pending.len(), self.changes.len())
    }

    /// Forgets what a write that was rolled back to its savepoint added.
    fn reset(&mut self, (next, len, changes): (Option<i64>, usize, usize)) {
        self.next = next;
        self.pending.truncate(len);
        self.changes.truncate(changes);
    }

    /// Notes a committed-to-be change of a row replicas hold (see `0009_change_log.sql`).
    fn change(&mut self, kind: &'static str, key: impl Into<String>) {
        self.changes.push((kind, key.into()));
        self.ring = true;
    }

    async fn flush(&mut self, cx: &mut Conn<'_>) -> Result<(), StoreError> {
        for chunk in self.pending.chunks(IMPORT_CHUNK) {
            let sql = multi_insert("events", &EVENT_COLS, chunk.len());
            cx.exec(&sql, chunk.iter().flatten().cloned().collect())
                .await?;
        }
        if !self.pending.is_empty() {
            self.ring = true;
        }
        self.pending.clear();
        if !self.changes.is_empty() {
            let first = cx
                .one(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM changes",
                    vec![],
                    &|r| r.i64(0).map_err(col),
                )
                .await?;
            let at = ms(chrono::Utc::now());
            let rows: Vec<Arg> = self
                .changes
                .drain(..)
                .zip(first..)
                .flat_map(|((kind, key), seq)| {
                    [seq.into(), Arg::Static(kind), key.into(), at.into()]
                })
                .collect();
            for chunk in rows.chunks(IMPORT_CHUNK * CHANGE_COLS.len()) {
                let sql = multi_insert("changes", &CHANGE_COLS, chunk.len() / CHANGE_COLS.len());
                cx.exec(&sql, chunk.to_vec()).await?;
            }
        }
        if std::mem::take(&mut self.ring) && cx.is_pg() {
            // In the transaction: PostgreSQL delivers it when (and only if) it commits.
            cx.exec(&format!("NOTIFY {DOORBELL_CHANNEL}"), vec![])
                .await?;
        }
        Ok(())
    }
}

/// Tracks whether the current write changed anything yet, to classify its errors.
struct W<'a, 'c> {
    cx: &'a mut Conn<'c>,
    ledger: &'a mut Ledger,
    wrote: bool,
}

impl W<'_, '_> {
    /// An error raised by an SQL statement: PostgreSQL aborts the transaction on it, SQLite
    /// undoes just that statement.
    fn sql(&self, err: StoreError) -> OpErr {
        OpErr {
            err,
            clean: !self.wrote && !self.cx.is_pg(),
        }
    }

    /// An error found by the write's own checks (row counts, lookups).
    fn logic(&self, err: StoreError) -> OpErr {
        OpErr {
            err,
            clean: !self.wrote,
        }
    }

    async fn exec(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64, OpErr> {
        let n = self.cx.exec(sql, args).await.map_err(|e| self.sql(e))?;
        Ok(n)
    }

    /// An exec that changes rows: marks the write dirty when it did.
    async fn write(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64, OpErr> {
        let n = self.exec(sql, args).await?;
        if n > 0 {
            self.wrote = true;
        }
        Ok(n)
    }

    async fn exists(&mut self, sql: &str, args: Vec<Arg>) -> Result<bool, OpErr> {
        let r = self.cx.opt(sql, args, &|_| Ok(())).await;
        r.map(|o| o.is_some()).map_err(|e| self.sql(e))
    }
}

async fn apply(cx: &mut Conn<'_>, ledger: &mut Ledger, op: &Op) -> Result<Done, OpErr> {
    let mut w = W {
        cx,
        ledger,
        wrote: false,
    };
    match op {
        Op::InsertProblem(p, ev) => insert_problem(&mut w, p, ev).await,
        Op::UpdateProblem(p, expected, ev) => update_problem(&mut w, p, *expected, ev).await,
        Op::Import(items, source) => import(&mut w, items, source).await,
        Op::UpsertZone(z) => {
            upsert(
                &mut w,
                "zones",
                codec::ZONE_COLS,
                codec::zone_args(z),
                "zone",
                z.external_id.as_deref(),
            )
            .await?;
            w.ledger.change("zone", z.id.0.to_string());
            Ok((Out::Unit, vec![Change::Zone(z.clone())]))
        }
        Op::DeleteZone(id) => {
            delete(&mut w, "zones", id.0, &format!("zone {id}")).await?;
            w.ledger.change("zone", id.0.to_string());
            Ok((Out::Unit, vec![Change::ZoneDeleted(*id)]))
        }
        Op::UpsertPoi(p) => {
            upsert(
                &mut w,
                "pois",
                codec::POI_COLS,
                codec::poi_args(p),
                "point of interest",
                p.external_id.as_deref(),
            )
            .await?;
            w.ledger.change("poi", p.id.0.to_string());
            Ok((Out::Unit, vec![Change::Poi(p.clone())]))
        }
        Op::DeletePoi(id) => {
            delete(&mut w, "pois", id.0, &format!("point of interest {id}")).await?;
            w.ledger.change("poi", id.0.to_string());
            Ok((Out::Unit, vec![Change::PoiDeleted(*id)]))
        }
        Op::Assign(zone, user) => assign(&mut w, *zone, *user).await,
        Op::Unassign(zone, user) => {
            let n = w
                .write(
                    "DELETE FROM zone_assignments WHERE zone_id = $1 AND user_id = $2",
                    vec![zone.0.into(), user.0.into()],
                )
                .await?;
            let changes = if n > 0 {
                w.ledger.change("assignment", zone.0.to_string());
                vec![Change::Unassigned {
                    zone: *zone,
                    user: *user,
                }]
            } else {
                vec![]
            };
            Ok((Out::Flag(n > 0), changes))
        }
        Op::CreateUser(u) => create_user(&mut w, u).await,
        Op::UpdateUser(u) => update_user(&mut w, u).await,
        Op::CreateSession(s) => create_session(&mut w, s).await,
        Op::RevokeSession(hash) => revoke_session(&mut w, hash).await,
        Op::RevokeUserSessions(user) => revoke_sessions_of(&mut w, *user).await,
        Op::PutPhoto(meta) => put_photo(&mut w, meta).await,
        Op::UpsertCategory(c) => {
            let sql = codec::upsert_sql("categories", codec::CATEGORY_COLS);
            w.write(&sql, codec::category_args(c)).await?;
            w.ledger.change("category", c.code.as_str());
            Ok((Out::Unit, vec![]))
        }
        Op::SetPublicText(t, ev) => set_public_text(&mut w, t, ev).await,
        Op::Statements(stmts) => statements(&mut w, stmts).await,
        Op::CopyFrom(src) => {
            copy::copy_all(src, w.cx)
                .await
                .map_err(|err| OpErr { err, clean: false })?;
            // The table was filled behind the ledger's back.
            w.ledger.next = None;
            w.ledger.change("restored", "");
            Ok((Out::Unit, vec![Change::Restored]))
        }
        Op::Close => Err(w.logic(StoreError::Internal("close inside a batch".into()))),
    }
}

/// Revokes one session or token; answers whether it existed.
async fn revoke_session(w: &mut W<'_, '_>, hash: &str) -> Result<Done, OpErr> {
    let n = w
        .write(
            "UPDATE sessions SET revoked = $2 WHERE token_hash = $1",
            vec![hash.into(), true.into()],
        )
        .await?;
    if n == 0 {
        return Ok((Out::Flag(false), vec![]));
    }
    w.ledger.change("session", hash);
    Ok((
        Out::Flag(true),
        vec![Change::SessionRevoked(hash.to_owned())],
    ))
}

/// Revokes every live session and token of a user; answers whether there was one.
async fn revoke_sessions_of(w: &mut W<'_, '_>, user: UserId) -> Result<Done, OpErr> {
    let n = w
        .write(
            "UPDATE sessions SET revoked = $2 WHERE user_id = $1 AND revoked = $3",
            vec![user.0.into(), true.into(), false.into()],
        )
        .await?;
    if n == 0 {
        return Ok((Out::Flag(false), vec![]));
    }
    w.ledger.change("user_sessions", user.0.to_string());
    Ok((Out::Flag(true), vec![Change::UserSessionsRevoked(user)]))
}

/// Runs a write's statements in order; answers whether the last one changed rows.
async fn statements(w: &mut W<'_, '_>, stmts: &[(String, Vec<Arg>)]) -> Result<Done, OpErr> {
    let mut n = 0;
    for (sql, args) in stmts {
        n = w.write(sql, args.clone()).await?;
    }
    Ok((Out::Flag(n > 0), vec![]))
}

/// Deletes the row `id` of `table`; [`StoreError::NotFound`] naming `what` when absent.
async fn delete(w: &mut W<'_, '_>, table: &str, id: uuid::Uuid, what: &str) -> Result<(), OpErr> {
    let n = w
        .write(
            &format!("DELETE FROM {table} WHERE id = $1"),
            vec![id.into()],
        )
        .await?;
    if n == 0 {
        return Err(w.logic(StoreError::not_found(what)));
    }
    Ok(())
}

/// Stores photo metadata once (content-addressed); answers the stored row.
async fn put_photo(w: &mut W<'_, '_>, meta: &PhotoMeta) -> Result<Done, OpErr> {
    let mut sql = multi_insert("photos", codec::PHOTO_COLS, 1);
    sql.push_str(" ON CONFLICT DO NOTHING");
    w.write(&sql, codec::photo_args(meta)).await?;
    let sql = format!(
        "SELECT {} FROM photos WHERE id = $1",
        codec::PHOTO_COLS.join(", ")
    );
    let stored =
        w.cx.one(&sql, vec![meta.id.as_str().into()], &codec::photo_from_row)
            .await
            .map_err(|e| w.sql(e))?;
    Ok((Out::Photo(stored), vec![]))
}

/// Fails when an evidence photo was not stored first.
async fn check_photos(w: &mut W<'_, '_>, photos: &[String]) -> Result<(), OpErr> {
    if photos.is_empty() {
        return Ok(());
    }
    let mut sql = String::from("SELECT id FROM photos WHERE id IN ");
    crate::sql::placeholders(&mut sql, 1, photos.len());
    let args = photos.iter().map(|p| Arg::from(p.as_str())).collect();
    let found: HashSet<String> =
        w.cx.all(&sql, args, &|r| Ok(r.str(0).map_err(col)?.to_owned()))
            .await
            .map_err(|e| w.sql(e))?
            .into_iter()
            .collect();
    match photos.iter().find(|p| !found.contains(*p)) {
        Some(missing) => Err(w.logic(StoreError::not_found(format!(
            "photo {missing} (store a photo before citing it as evidence)"
        )))),
        None => Ok(()),
    }
}

async fn insert_event(
    w: &mut W<'_, '_>,
    problem: ProblemId,
    ev: &NewEvent,
) -> Result<Event, OpErr> {
    let seq = w.ledger.reserve(w.cx, 1).await.map_err(|e| w.sql(e))?;
    w.ledger.pending.push(vec![
        seq.into(),
        problem.0.into(),
        Arg::Static(ev.kind.as_str()),
        ev.actor.map(|a| a.0).into(),
        ms(ev.at).into(),
        ev.note.as_str().into(),
        serde_json::to_string(&ev.photos)
            .unwrap_or_else(|_| "[]".into())
            .into(),
        ev.data.to_string().into(),
    ]);
    w.wrote = true;
    Ok(Event {
        seq,
        problem,
        kind: ev.kind,
        actor: ev.actor,
        at: codec::ms_precision(ev.at),
        note: ev.note.clone(),
        photos: ev.photos.clone(),
        data: ev.data.clone(),
    })
}

/// `$from, $from+1, ..., $to`.
fn params(from: usize, to: usize) -> String {
    (from..=to)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($n IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = $n))`: the event's actor must exist.
fn actor_guard(n: usize) -> String {
    format!("(${n} IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = ${n}))")
}

/// A new problem has one event, so its version is 1 (the ledger length is the version).
fn check_new(p: &Problem) -> Result<(), StoreError> {
    if p.version == 1 {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "new problem {} has version {}; a new problem starts at version 1",
            p.id, p.version
        )))
    }
}

async fn insert_problem(w: &mut W<'_, '_>, p: &Problem, ev: &NewEvent) -> Result<Done, OpErr> {
    check_new(p).map_err(|e| w.logic(e))?;
    check_photos(w, &ev.photos).await?;
    let n = PROBLEM_COLS.len() + 1;
    let sql = format!(
        "INSERT INTO problems ({}, {CASE_COL}) SELECT {} WHERE {} ON CONFLICT DO NOTHING",
        PROBLEM_COLS.join(", "),
        params(1, n),
        actor_guard(n + 1)
    );
    let mut stored = [stored_problem(p)];
    number_cases(w.cx, &mut stored)
        .await
        .map_err(|e| w.sql(e))?;
    let [stored] = stored;
    let mut args = Vec::with_capacity(n + 1);
    codec::problem_args(&stored, &mut args);
    args.push(codec::case_arg(&stored));
    args.push(ev.actor.map(|a| a.0).into());
    if w.write(&sql, args).await? == 0 {
        return Err(why_insert_failed(w, p, ev).await);
    }
    inserted(w, stored, ev).await
}

/// The event and the answer of a problem insert that went through.
async fn inserted(w: &mut W<'_, '_>, stored: Problem, ev: &NewEvent) -> Result<Done, OpErr> {
    let event = insert_event(w, stored.id, ev).await?;
    Ok((
        Out::Event(event.clone()),
        vec![Change::Problem {
            problem: stored,
            event,
        }],
    ))
}

/// Gives each problem without a case number the next numbers of its report day (China
/// Standard Time), from `case_counters` in the write's own transaction: two processes on one
/// database never give the same number, and a number taken by a write that fails later is
/// skipped, never given again.
async fn number_cases(cx: &mut Conn<'_>, problems: &mut [Problem]) -> Result<(), StoreError> {
    let mut per_day: BTreeMap<u32, u32> = BTreeMap::new();
    for p in problems.iter().filter(|p| p.case_no.is_none()) {
        *per_day.entry(CaseNo::day_of(p.reported_at)).or_default() += 1;
    }
    let mut next: HashMap<u32, u32> = HashMap::with_capacity(per_day.len());
    for (day, n) in per_day {
        let last = cx
            .one(
                "INSERT INTO case_counters (day, last) VALUES ($1, $2) \
                 ON CONFLICT (day) DO UPDATE SET last = case_counters.last + excluded.last \
                 RETURNING last",
                vec![i64::from(day).into(), i64::from(n).into()],
                &|r| r.i64(0).map_err(col),
            )
            .await?;
        let last = u32::try_from(last)
            .map_err(|_| StoreError::corrupt(format!("case counter of day {day} is {last}")))?;
        next.insert(day, last + 1 - n);
    }
    for p in problems.iter_mut().filter(|p| p.case_no.is_none()) {
        let day = CaseNo::day_of(p.reported_at);
        let seq = next.get_mut(&day).expect("every day was counted above");
        p.case_no = Some(CaseNo { day, seq: *seq });
        *seq += 1;
    }
    Ok(())
}

/// Why a guarded insert changed nothing: the id exists, or the actor does not.
async fn why_insert_failed(w: &mut W<'_, '_>, p: &Problem, ev: &NewEvent) -> OpErr {
    match w
        .exists("SELECT 1 FROM problems WHERE id = $1", vec![p.id.0.into()])
        .await
    {
        Ok(true) => w.logic(StoreError::conflict(format!(
            "problem {} exists already",
            p.id
        ))),
        Ok(false) => w.logic(unknown_actor(ev)),
        Err(e) => e,
    }
}

fn unknown_actor(ev: &NewEvent) -> StoreError {
    StoreError::not_found(format!(
        "user {} (the event's actor)",
        ev.actor.map(|a| a.to_string()).unwrap_or_default()
    ))
}

async fn update_problem(
    w: &mut W<'_, '_>,
    p: &Problem,
    expected: i64,
    ev: &NewEvent,
) -> Result<Done, OpErr> {
    check_photos(w, &ev.photos).await?;
    let n = PROBLEM_COLS.len();
    let sets: Vec<String> = PROBLEM_COLS
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    let sql = format!(
        "UPDATE problems SET {} WHERE id = $1 AND version = ${} AND {}",
        sets.join(", "),
        n + 1,
        actor_guard(n + 2)
    );
    let mut stored = stored_problem(p);
    stored.version = expected + 1;
    let mut args = Vec::with_capacity(n + 2);
    codec::problem_args(&stored, &mut args);
    args.push(expected.into());
    args.push(ev.actor.map(|a| a.0).into());
    if w.write(&sql, args).await? == 0 {
        return Err(why_update_failed(w, p, expected, ev).await);
    }
    updated(w, stored, ev).await
}

/// The event and the answer of a problem update that went through.
async fn updated(w: &mut W<'_, '_>, stored: Problem, ev: &NewEvent) -> Result<Done, OpErr> {
    let event = insert_event(w, stored.id, ev).await?;
    Ok((
        Out::Event(event.clone()),
        vec![Change::Problem {
            problem: stored,
            event,
        }],
    ))
}

/// Why a guarded update changed nothing: no such problem, another version, or no such actor.
async fn why_update_failed(w: &mut W<'_, '_>, p: &Problem, expected: i64, ev: &NewEvent) -> OpErr {
    let current = match w
        .cx
        .opt(
            "SELECT version FROM problems WHERE id = $1",
            vec![p.id.0.into()],
            &|r| r.i64(0).map_err(col),
        )
        .await
    {
        Ok(c) => c,
        Err(e) => return w.sql(e),
    };
    w.logic(match current {
        None => StoreError::not_found(format!("problem {}", p.id)),
        Some(v) if v != expected => StoreError::Conflict {
            what: format!(
                "problem {} is at version {v}, not {expected}: someone changed it meanwhile",
                p.id
            ),
            current_version: Some(v),
        },
        Some(_) => unknown_actor(ev),
    })
}

/// Sets a problem's public wording and appends its event; the problem's row is not touched.
async fn set_public_text(w: &mut W<'_, '_>, t: &PublicText, ev: &NewEvent) -> Result<Done, OpErr> {
    let mut t = public_text::stored(t);
    // The row records who changed it: the event's actor, whom the statement checks.
    t.updated_by = ev.actor;
    if w.write(&public_text::upsert_sql(), public_text::args(&t))
        .await?
        == 0
    {
        let exists = w
            .exists(
                "SELECT 1 FROM problems WHERE id = $1",
                vec![t.problem.0.into()],
            )
            .await?;
        return Err(w.logic(if exists {
            unknown_actor(ev)
        } else {
            StoreError::not_found(format!("problem {}", t.problem))
        }));
    }
    let event = insert_event(w, t.problem, ev).await?;
    Ok((
        Out::Event(event.clone()),
        vec![Change::PublicText { text: t, event }],
    ))
}

/// Rows per multi-row `INSERT`: well under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const IMPORT_CHUNK: usize = 500;

async fn import(
    w: &mut W<'_, '_>,
    items: &[(Problem, String)],
    source: &str,
) -> Result<Done, OpErr> {
    if items.is_empty() {
        return Ok((Out::Import(ImportOutcome::default()), vec![]));
    }
    for (p, _) in items {
        check_new(p).map_err(|e| w.logic(e))?;
    }
    // Only this call's ids are looked up, through the `(source, external_id)` unique index:
    // a streaming import calls this once per batch, and loading every id of the source each
    // time would cost memory and time in proportion to everything imported before.
    let mut existing: HashSet<String> = HashSet::new();
    for chunk in items.chunks(IMPORT_CHUNK) {
        let mut sql =
            String::from("SELECT external_id FROM problems WHERE source = $1 AND external_id IN (");
        let mut args = Vec::with_capacity(chunk.len() + 1);
        args.push(source.into());
        for (i, (_, ext)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            placeholder(&mut sql, i + 2, true);
            args.push(ext.as_str().into());
        }
        sql.push(')');
        let found =
            w.cx.all(&sql, args, &|r| Ok(r.str(0).map_err(col)?.to_owned()))
                .await
                .map_err(|e| w.sql(e))?;
        existing.extend(found);
    }
    let mut seen: HashSet<&str> = HashSet::with_capacity(items.len());
    let mut fresh: Vec<&(Problem, String)> = Vec::with_capacity(items.len());
    for item in items {
        if !existing.contains(&item.1) && seen.insert(item.1.as_str()) {
            fresh.push(item);
        }
    }
    let skipped = items.len() - fresh.len();

    // Binding is most of an import's cost besides SQLite's own work (each value is one call into
    // SQLite, which locks the connection and copies it): what is the same for every row (the
    // source, version 1) is bound once per statement, not once per row.
    let mut numbered: Vec<Problem> = fresh.iter().map(|(p, _)| stored_problem(p)).collect();
    number_cases(w.cx, &mut numbered)
        .await
        .map_err(|e| w.sql(e))?;
    let pg = w.cx.is_pg();
    let full_sql = import_problems_sql(IMPORT_CHUNK, pg);
    for (chunk, numbered) in fresh
        .chunks(IMPORT_CHUNK)
        .zip(numbered.chunks(IMPORT_CHUNK))
    {
        let sql = if chunk.len() == IMPORT_CHUNK {
            full_sql.clone()
        } else {
            import_problems_sql(chunk.len(), pg)
        };
        let mut args = Vec::with_capacity(chunk.len() * (PROBLEM_COLS.len() + 1) + 1);
        for (p, (_, ext)) in numbered.iter().zip(chunk) {
            codec::problem_args(p, &mut args);
            // Every imported problem is new: version 1 (checked above), written by the SQL.
            args.pop();
            args.push(codec::case_arg(p));
            args.push(ext.as_str().into());
        }
        args.push(source.into());
        w.write(&sql, args).await?;
    }

    let (first_seq, note) = import_events(w, &fresh, source).await?;
    w.ledger.ring |= !fresh.is_empty();
    let inserted = fresh.len();
    let changes = if inserted == 0 {
        vec![]
    } else {
        vec![Change::Imported {
            problems: numbered,
            first_seq,
            note,
        }]
    };
    Ok((Out::Import(ImportOutcome { inserted, skipped }), changes))
}

/// The `created` events of an import; answers the first event number and the note.
async fn import_events(
    w: &mut W<'_, '_>,
    fresh: &[&(Problem, String)],
    source: &str,
) -> Result<(i64, String), OpErr> {
    // Numbered by the batch's ledger, written here at once (not queued: a million rows).
    let first = w
        .ledger
        .reserve(w.cx, fresh.len() as i64)
        .await
        .map_err(|e| w.sql(e))?;
    let note = format!("imported from {source}");
    let pg = w.cx.is_pg();
    let full_sql = import_events_sql(IMPORT_CHUNK, pg);
    let mut seq = first - 1;
    for chunk in fresh.chunks(IMPORT_CHUNK) {
        let sql = if chunk.len() == IMPORT_CHUNK {
            full_sql.clone()
        } else {
            import_events_sql(chunk.len(), pg)
        };
        let mut args = Vec::with_capacity(chunk.len() * 4 + 1);
        for (p, ext) in chunk {
            seq += 1;
            args.push(seq.into());
            args.push(p.id.0.into());
            args.push(ms(p.reported_at).into());
            args.push(import_data(source, ext).into());
        }
        args.push(note.as_str().into());
        w.write(&sql, args).await?;
    }
    if w.cx.is_pg() && seq >= first {
        // Explicit numbers do not move the identity sequence; move it past them.
        w.cx.one(
            "SELECT setval(pg_get_serial_sequence('events', 'seq'), $1)",
            vec![seq.into()],
            &|_| Ok(()),
        )
        .await
        .map_err(|e| w.sql(e))?;
    }

    Ok((first, note))
}

/// One placeholder: `$n` on PostgreSQL; on SQLite an anonymous `?`, which SQLite binds by
/// position (a named one costs a lookup in a list of every name of the statement).
fn placeholder(out: &mut String, n: usize, pg: bool) {
    use std::fmt::Write as _;
    if pg {
        // Writing to a String cannot fail.
        let _ = write!(out, "${n}");
    } else {
        out.push('?');
    }
}

/// `VALUES` with `rows` rows of `width` placeholders, and the placeholder that follows them.
fn import_values(rows: usize, width: usize, pg: bool) -> (String, String) {
    let mut sql = String::with_capacity(rows * width * 7 + 8);
    sql.push_str("VALUES ");
    let mut n = 0;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            placeholder(&mut sql, n, pg);
        }
        sql.push(')');
    }
    let mut next = String::new();
    placeholder(&mut next, n + 1, pg);
    (sql, next)
}

/// An import's problems: `rows` rows of every column but `version` (1) and `source` (bound once,
/// after the rows).
fn import_problems_sql(rows: usize, pg: bool) -> String {
    debug_assert_eq!(PROBLEM_COLS.last(), Some(&"version"));
    let cols = PROBLEM_COLS[..PROBLEM_COLS.len() - 1].join(", ");
    let (values, source) = import_values(rows, PROBLEM_COLS.len() + 1, pg);
    format!(
        "WITH v ({cols}, {CASE_COL}, external_id) AS ({values}) \
         INSERT INTO problems ({cols}, {CASE_COL}, version, source, external_id) \
         SELECT {cols}, {CASE_COL}, 1, {source}, external_id FROM v"
    )
}

/// An import's `created` events: `rows` rows of `(seq, problem, at, data)`; the note (bound
/// once, after the rows) and the rest are the same for every one.
fn import_events_sql(rows: usize, pg: bool) -> String {
    let (values, note) = import_values(rows, 4, pg);
    format!(
        "WITH v (seq, problem, at, data) AS ({values}) \
         INSERT INTO events ({}) \
         SELECT seq, problem, '{}', NULL, at, {note}, '[]', data FROM v",
        EVENT_COLS.join(", "),
        EventKind::Created.as_str()
    )
}

fn import_data(source: &str, ext: &str) -> String {
    #[derive(serde::Serialize)]
    struct Data<'a> {
        source: &'a str,
        external_id: &'a str,
    }
    serde_json::to_string(&Data {
        source,
        external_id: ext,
    })
    .unwrap_or_else(|_| "{}".into())
}

/// Insert or replace a row keyed by `id`, refusing an `external_id` that another row holds.
async fn upsert(
    w: &mut W<'_, '_>,
    table: &str,
    cols: &[&str],
    args: Vec<Arg>,
    what: &str,
    external_id: Option<&str>,
) -> Result<(), OpErr> {
    if let Some(ext) = external_id {
        let Arg::Uuid(Some(id)) = args[0] else {
            return Err(w.logic(StoreError::Internal("upsert without an id".into())));
        };
        let other =
            w.cx.opt(
                &format!("SELECT id FROM {table} WHERE external_id = $1 AND id <> $2"),
                vec![ext.into(), id.into()],
                &|r| r.uuid(0).map_err(col),
            )
            .await
            .map_err(|e| w.sql(e))?;
        if let Some(other) = other {
            return Err(w.logic(StoreError::conflict(format!(
                "{what} external id {ext:?} belongs to {what} {other}"
            ))));
        }
    }
    let sql = codec::upsert_sql(table, cols);
    w.write(&sql, args).await?;
    Ok(())
}

async fn assign(w: &mut W<'_, '_>, zone: ZoneId, user: UserId) -> Result<Done, OpErr> {
    let n = w
        .write(
            "INSERT INTO zone_assignments (zone_id, user_id) SELECT $1, $2 \
             WHERE EXISTS (SELECT 1 FROM zones WHERE id = $1) \
             AND EXISTS (SELECT 1 FROM users WHERE id = $2) ON CONFLICT DO NOTHING",
            vec![zone.0.into(), user.0.into()],
        )
        .await?;
    if n > 0 {
        w.ledger.change("assignment", zone.0.to_string());
        return Ok((Out::Unit, vec![Change::Assigned { zone, user }]));
    }
    if !w
        .exists("SELECT 1 FROM zones WHERE id = $1", vec![zone.0.into()])
        .await?
    {
        return Err(w.logic(StoreError::not_found(format!("zone {zone}"))));
    }
    if !w
        .exists("SELECT 1 FROM users WHERE id = $1", vec![user.0.into()])
        .await?
    {
        return Err(w.logic(StoreError::not_found(format!("user {user}"))));
    }
    // Assigned already: nothing changes.
    Ok((Out::Unit, vec![]))
}

async fn create_user(w: &mut W<'_, '_>, u: &User) -> Result<Done, OpErr> {
    let mut sql = multi_insert("users", codec::USER_COLS, 1);
    sql.push_str(" ON CONFLICT DO NOTHING");
    if w.write(&sql, codec::user_args(u)).await? == 0 {
        let id_taken = w
            .exists("SELECT 1 FROM users WHERE id = $1", vec![u.id.0.into()])
            .await?;
        let err = if id_taken {
            StoreError::conflict(format!("user {} exists already", u.id))
        } else {
            StoreError::conflict(format!("user name {:?} is taken", u.name))
        };
        return Err(w.logic(err));
    }
    w.ledger.change("user", u.id.0.to_string());
    Ok((Out::Unit, vec![Change::User(u.clone())]))
}

async fn update_user(w: &mut W<'_, '_>, u: &User) -> Result<Done, OpErr> {
    if w.exists(
        "SELECT 1 FROM users WHERE name = $1 AND id <> $2",
        vec![u.name.as_str().into(), u.id.0.into()],
    )
    .await?
    {
        return Err(w.logic(StoreError::conflict(format!(
            "user name {:?} is taken",
            u.name
        ))));
    }
    let sets: Vec<String> = codec::USER_COLS
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    let sql = format!("UPDATE users SET {} WHERE id = $1", sets.join(", "));
    if w.write(&sql, codec::user_args(u)).await? == 0 {
        return Err(w.logic(StoreError::not_found(format!("user {}", u.id))));
    }
    w.ledger.change("user", u.id.0.to_string());
    Ok((Out::Unit, vec![Change::User(u.clone())]))
}

async fn create_session(w: &mut W<'_, '_>, s: &Session) -> Result<Done, OpErr> {
    let cols = codec::SESSION_COLS;
    let sql = format!(
        "INSERT INTO sessions ({}) SELECT {} \
         WHERE EXISTS (SELECT 1 FROM users WHERE id = $2) ON CONFLICT DO NOTHING",
        cols.join(", "),
        params(1, cols.len())
    );
    if w.write(&sql, codec::session_args(s)).await? == 0 {
        let user_exists = w
            .exists("SELECT 1 FROM users WHERE id = $1", vec![s.user.0.into()])
            .await?;
        let err = if user_exists {
            StoreError::conflict("a session with this token hash exists already")
        } else {
            StoreError::not_found(format!("user {}", s.user))
        };
        return Err(w.logic(err));
    }
    w.ledger.change("session", s.token_hash.as_str());
    Ok((Out::Unit, vec![Change::Session(s.clone())]))
}
