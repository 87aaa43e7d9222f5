//! The store handle: opening a database, the reads, and the writes it queues for the writer
//! task (`writer.rs`). Backups (`backup.rs`), exports (`export.rs`) and the basemap
//! (`basemap.rs`) add their methods to [`Store`] in their own modules, on top of this one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use civmap_domain::{Category, Event, Poi, PoiId, Problem, ProblemId, User, UserId, Zone, ZoneId};
use sqlx::postgres::PgPoolOptions;
use tokio::sync::{mpsc, oneshot};

use crate::codec::{self, EVENT_SELECT, PROBLEM_SELECT};
use crate::error::{Location, StoreError};
use crate::limits::{ACQUIRE_TIMEOUT, QUEUE_CAPACITY};
use crate::load;
use crate::open::{self, Target, file_id};
use crate::photos;
use crate::public_text;
use crate::reads::{Pooled, Reads};
use crate::shared::Shared;
use crate::sql::{Arg, Decode, col};
use crate::types::{
    Backend, Change, ImportOutcome, NewEvent, PhotoMeta, PublicText, Session, StoreOptions,
    StoreStats,
};
use crate::writer::{Job, Op, Out, Writer, WriterDb};

/// The durable store. Cheap to clone (an `Arc` inside); every clone talks to the same writer.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.inner.shared.loc.to_string())
            .field("backend", &self.inner.shared.backend)
            .finish_non_exhaustive()
    }
}

struct Inner {
    shared: Arc<Shared>,
    reads: Arc<Reads>,
    queue: mpsc::Sender<Job>,
    photo_dir: PathBuf,
}

impl Store {
    /// Opens (and on first start creates) the store named by `url`, runs the migrations and starts
    /// the writer. `url` is `postgres://user:password@host:port/database`, `sqlite://PATH`,
    /// `sqlite:PATH` or a plain file path. Must be called inside a Tokio runtime.
    ///
    /// Fails with a one-line error naming the problem: a missing or unwritable directory
    /// ([`StoreError::Io`], [`StoreError::Permission`]), a file that is not a civmap database
    /// ([`StoreError::NotADatabase`]), a database written by a newer civmap
    /// ([`StoreError::NewerSchema`]), an unreachable server ([`StoreError::Unavailable`]), a
    /// refused login ([`StoreError::Auth`]).
    pub async fn open(url: &str, opts: StoreOptions) -> Result<Store, StoreError> {
        match open::parse_url(url)? {
            Target::Sqlite(path) => Self::open_sqlite(&path, &opts).await,
            Target::Postgres(url) => Self::open_pg(&url, &opts).await,
        }
    }

    pub(crate) async fn open_sqlite(path: &Path, opts: &StoreOptions) -> Result<Store, StoreError> {
        let loc = Location::Sqlite(path.to_path_buf());
        open::check_sqlite_path(path, true)?;
        let writer_conn = open::connect_sqlite_writer(path, opts.synchronous_full, &loc).await?;
        let id = file_id(path)?;
        let reads = Reads::sqlite(path, id, open::sqlite_options(path, opts.synchronous_full));
        let photo_dir = if opts.photo_dir.as_os_str().is_empty() {
            match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.join("photos"),
                _ => PathBuf::from("photos"),
            }
        } else {
            opts.photo_dir.clone()
        };
        let db = WriterDb::Sqlite {
            path: path.to_path_buf(),
            synchronous_full: opts.synchronous_full,
            conn: Some((id, writer_conn)),
        };
        Self::start(loc, Backend::Sqlite, reads, db, photo_dir, opts).await
    }

    async fn open_pg(url: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
        let (pg_opts, loc) = open::pg_options(url)?;
        open::prepare_pg(&pg_opts, &loc).await?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(pg_opts);
        let photo_dir = if opts.photo_dir.as_os_str().is_empty() {
            PathBuf::from("photos")
        } else {
            opts.photo_dir.clone()
        };
        let db = WriterDb::Pg {
            pool: pool.clone(),
            conn: None,
        };
        Self::start(loc, Backend::Postgres, Reads::Pg(pool), db, photo_dir, opts).await
    }

    async fn start(
        loc: Location,
        backend: Backend,
        reads: Reads,
        db: WriterDb,
        photo_dir: PathBuf,
        opts: &StoreOptions,
    ) -> Result<Store, StoreError> {
        std::fs::create_dir_all(&photo_dir).map_err(|e| StoreError::io(&photo_dir, &e))?;
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        let shared = Arc::new(Shared::new(loc, backend));
        let store = Store {
            inner: Arc::new(Inner {
                shared: shared.clone(),
                reads: Arc::new(reads),
                queue,
                photo_dir,
            }),
        };
        let (problems, last_seq) = store
            .read_one(
                "SELECT (SELECT COUNT(*) FROM problems), (SELECT COALESCE(MAX(seq), 0) FROM events)",
                vec![],
                &|r| Ok((r.i64(0).map_err(col)?, r.i64(1).map_err(col)?)),
            )
            .await?;
        shared
            .stats
            .resume(u64::try_from(problems).unwrap_or(0), last_seq);
        let writer = Writer {
            rx,
            shared,
            db,
            max_batch: opts.max_batch.max(1),
        };
        tokio::spawn(writer.run());
        Ok(store)
    }

    /// Which database this store runs on.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.inner.shared.backend
    }

    /// Where the database is (file path or `postgres://user@host:port/db`, no password).
    #[must_use]
    pub fn location(&self) -> &Location {
        &self.inner.shared.loc
    }

    /// The directory holding photo bytes.
    #[must_use]
    pub fn photo_dir(&self) -> &Path {
        &self.inner.photo_dir
    }

    /// Registers the function the writer calls with every committed change, in commit order,
    /// after `COMMIT` returned and before the writers are answered; replaces an earlier one.
    ///
    /// Keep an in-memory index current with it: changes arrive in the order they were
    /// committed (two writes to the same problem can never be applied out of order), and when a
    /// caller's write returns, the index has it already. The hook runs on the writer task: it
    /// must be quick and must not call the store.
    pub fn on_commit(&self, hook: impl Fn(&[Change]) + Send + Sync + 'static) {
        self.inner.shared.set_hook(Arc::new(hook));
    }

    /// Readiness: `Ok` when the database answers. [`StoreError::Unavailable`] when it is gone
    /// (server down, file deleted); the store reconnects by itself when it is back.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read_one("SELECT CAST(1 AS BIGINT)", vec![], &|r| {
            r.i64(0).map_err(col)
        })
        .await
        .map(drop)
    }

    /// Finishes the queued writes, stops the writer and closes the connections. Later calls on
    /// any clone fail with [`StoreError::Unavailable`].
    pub async fn close(&self) {
        let _ = self.submit(Op::Close).await;
        self.inner.reads.close().await;
    }

    // ---- plumbing ------------------------------------------------------------------------

    pub(crate) async fn submit(&self, op: Op) -> Result<Out, StoreError> {
        let (reply, rx) = oneshot::channel();
        let closed =
            || StoreError::Unavailable(format!("{}: the store is closed", self.inner.shared.loc));
        self.inner.shared.stats.enqueued();
        if self
            .inner
            .queue
            .send(Job {
                op,
                reply,
                queued: std::time::Instant::now(),
            })
            .await
            .is_err()
        {
            self.inner.shared.stats.dequeued(1);
            return Err(closed());
        }
        rx.await.map_err(|_| closed())?
    }

    /// The read side, for the modules that read past [`Store::acquire`] (the basemap takes a
    /// connection of its own; a backup or restore copies from it).
    pub(crate) fn reads(&self) -> &Arc<Reads> {
        &self.inner.reads
    }

    pub(crate) async fn acquire(&self) -> Result<Pooled, StoreError> {
        self.inner.reads.acquire(&self.inner.shared.loc).await
    }

    pub(crate) async fn read_all<T: Send>(
        &self,
        sql: &str,
        args: Vec<Arg>,
        decode: Decode<'_, T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut c = self.acquire().await?;
        c.conn(&self.inner.shared.loc).all(sql, args, decode).await
    }

    pub(crate) async fn read_opt<T>(
        &self,
        sql: &str,
        args: Vec<Arg>,
        decode: Decode<'_, T>,
    ) -> Result<Option<T>, StoreError> {
        let mut c = self.acquire().await?;
        c.conn(&self.inner.shared.loc).opt(sql, args, decode).await
    }

    pub(crate) async fn read_one<T>(
        &self,
        sql: &str,
        args: Vec<Arg>,
        decode: Decode<'_, T>,
    ) -> Result<T, StoreError> {
        let mut c = self.acquire().await?;
        c.conn(&self.inner.shared.loc).one(sql, args, decode).await
    }

    fn expect_event(out: Out) -> Result<Event, StoreError> {
        match out {
            Out::Event(e) => Ok(e),
            other => Err(StoreError::Internal(format!(
                "writer answered {other:?} to a problem write"
            ))),
        }
    }

    fn expect_unit(out: Out) -> Result<(), StoreError> {
        match out {
            Out::Unit => Ok(()),
            other => Err(StoreError::Internal(format!(
                "writer answered {other:?} to a plain write"
            ))),
        }
    }

    fn expect_flag(out: Out) -> Result<bool, StoreError> {
        match out {
            Out::Flag(b) => Ok(b),
            other => Err(StoreError::Internal(format!(
                "writer answered {other:?} to a delete"
            ))),
        }
    }

    // ---- problems and the event log ------------------------------------------------------

    /// Stores a new problem and its first event (usually `created`) in one transaction.
    /// [`StoreError::Conflict`] when the id exists; [`StoreError::NotFound`] when the event's
    /// actor or an evidence photo does not exist.
    pub async fn insert_problem(&self, p: &Problem, ev: NewEvent) -> Result<Event, StoreError> {
        Self::expect_event(self.submit(Op::InsertProblem(p.clone(), ev)).await?)
    }

    /// Replaces a problem's row with `p` and appends `ev`, in one transaction, if the stored
    /// version is `expected_version`; the stored version becomes `expected_version + 1`
    /// (whatever `p.version` says). [`StoreError::Conflict`] with `current_version` when the row
    /// changed meanwhile; [`StoreError::NotFound`] when it does not exist.
    pub async fn update_problem(
        &self,
        p: &Problem,
        expected_version: i64,
        ev: NewEvent,
    ) -> Result<Event, StoreError> {
        Self::expect_event(
            self.submit(Op::UpdateProblem(p.clone(), expected_version, ev))
                .await?,
        )
    }

    /// Imports problems in one transaction, each with a `created` event (no actor, note
    /// "imported from SOURCE", data `{"source", "external_id"}`). Idempotent: an item whose
    /// `(source, external_id)` was imported before is skipped, so importing the same file again
    /// changes nothing.
    pub async fn import_problems(
        &self,
        items: Vec<(Problem, String)>,
        source: &str,
    ) -> Result<ImportOutcome, StoreError> {
        match self.submit(Op::Import(items, source.to_owned())).await? {
            Out::Import(o) => Ok(o),
            other => Err(StoreError::Internal(format!(
                "writer answered {other:?} to an import"
            ))),
        }
    }

    /// Sets what the public reads for a problem's description ([`PublicText`]) and appends
    /// `ev` (the `edited` event recording it), in one transaction; `updated_by` is stored as the
    /// event's actor. [`StoreError::NotFound`] when the problem or the actor does not exist. The
    /// problem's row and version are not touched: the description as written stays.
    pub async fn set_public_text(
        &self,
        text: &PublicText,
        ev: NewEvent,
    ) -> Result<Event, StoreError> {
        Self::expect_event(self.submit(Op::SetPublicText(text.clone(), ev)).await?)
    }

    /// Every public wording stored (few: only problems the office acted on have one).
    pub async fn load_public_texts(&self) -> Result<Vec<PublicText>, StoreError> {
        self.read_all(
            &format!(
                "SELECT {} FROM public_texts ORDER BY problem",
                public_text::COLS.join(", ")
            ),
            vec![],
            &public_text::from_row,
        )
        .await
    }

    /// One problem.
    pub async fn get_problem(&self, id: ProblemId) -> Result<Option<Problem>, StoreError> {
        self.read_opt(
            &format!("SELECT {PROBLEM_SELECT} FROM problems WHERE id = $1"),
            vec![id.0.into()],
            &codec::problem_from_row,
        )
        .await
    }

    /// Every problem, in id (= creation time) order.
    pub async fn load_problems(&self) -> Result<Vec<Problem>, StoreError> {
        self.load_which(load::Which::All).await
    }

    /// The hot set, in id order: every open problem, and the closed or merged ones whose row
    /// changed at or after `since` — what memory holds (migration 11's index makes it a range
    /// read, not a scan of every problem ever stored).
    pub async fn load_hot_problems(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Problem>, StoreError> {
        self.load_which(load::Which::HotSince(since.timestamp_millis()))
            .await
    }

    async fn load_which(&self, which: load::Which) -> Result<Vec<Problem>, StoreError> {
        let capacity = usize::try_from(self.inner.shared.stats.problems()).unwrap_or(0);
        let loc = &self.inner.shared.loc;
        let mut c = self.acquire().await?;
        match &mut c {
            Pooled::Sqlite(sc) => load::sqlite(sc, loc, capacity, which).await,
            Pooled::Pg(_) => load::rows(&mut c.conn(loc), capacity, which).await,
        }
    }

    /// A problem's history (its rectification ledger), oldest first.
    pub async fn events_for(&self, id: ProblemId) -> Result<Vec<Event>, StoreError> {
        self.read_all(
            &format!("SELECT {EVENT_SELECT} FROM events WHERE problem = $1 ORDER BY seq"),
            vec![id.0.into()],
            &codec::event_from_row,
        )
        .await
    }

    /// Events with `seq > after_seq`, oldest first, at most `limit`: the change feed.
    pub async fn events_since(&self, after_seq: i64, limit: u32) -> Result<Vec<Event>, StoreError> {
        self.read_all(
            &format!("SELECT {EVENT_SELECT} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"),
            vec![after_seq.into(), i64::from(limit).into()],
            &codec::event_from_row,
        )
        .await
    }

    /// Every lifecycle step before `before` (rectified, rejected, verified, recurred, merged,
    /// reinspected) as (problem, kind, time), oldest first: what assessments and look-back
    /// lists are computed from, without notes, photos or data.
    pub async fn lifecycle_events(
        &self,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<
        Vec<(
            ProblemId,
            civmap_domain::EventKind,
            chrono::DateTime<chrono::Utc>,
        )>,
        StoreError,
    > {
        self.lifecycle_events_between(chrono::DateTime::<chrono::Utc>::MIN_UTC, before)
            .await
    }

    /// [`Store::lifecycle_events`] at or after `from` and before `before` (index
    /// `events_by_kind_at`): the start-up read of the look-back list takes the hot window's
    /// steps only.
    pub async fn lifecycle_events_between(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<
        Vec<(
            ProblemId,
            civmap_domain::EventKind,
            chrono::DateTime<chrono::Utc>,
        )>,
        StoreError,
    > {
        self.read_all(
            "SELECT problem, kind, at FROM events \
             WHERE kind IN ('rectified', 'rejected', 'verified', 'recurred', 'merged', 'reinspected') \
             AND at >= $1 AND at < $2 ORDER BY seq",
            vec![
                from.timestamp_millis().into(),
                before.timestamp_millis().into(),
            ],
            &|r| {
                let kind = r.str(1).map_err(col)?;
                Ok((
                    ProblemId(r.uuid(0).map_err(col)?),
                    kind.parse().map_err(|_| {
                        StoreError::corrupt(format!("unknown event kind {kind:?}"))
                    })?,
                    codec::from_ms(r.i64(2).map_err(col)?)?,
                ))
            },
        )
        .await
    }

    /// The steps that decide where a reporter's answer (回访) stands — verified, recurred,
    /// merged, reinspected and feedback — as (problem, kind, data), oldest first. `data` is
    /// kept only for `feedback` (its `solved`); the others carry `Value::Null`, so the start-up
    /// read stays as lean as [`Store::lifecycle_events`].
    /// Only steps at or after `from` are read (the hot window's, at start-up).
    pub async fn feedback_trail(
        &self,
        from: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(ProblemId, civmap_domain::EventKind, serde_json::Value)>, StoreError> {
        self.read_all(
            "SELECT problem, kind, data FROM events \
             WHERE kind IN ('verified', 'recurred', 'merged', 'reinspected', 'feedback') \
             AND at >= $1 ORDER BY seq",
            vec![from.timestamp_millis().into()],
            &|r| {
                let kind: civmap_domain::EventKind =
                    codec::parse("event kind", r.str(1).map_err(col)?)?;
                let data = if kind == civmap_domain::EventKind::Feedback {
                    serde_json::from_str(r.str(2).map_err(col)?)
                        .map_err(|e| StoreError::corrupt(format!("feedback data: {e}")))?
                } else {
                    serde_json::Value::Null
                };
                Ok((ProblemId(r.uuid(0).map_err(col)?), kind, data))
            },
        )
        .await
    }

    /// The histories of many problems (a zone's ledger), in log order.
    pub async fn events_for_problems(&self, ids: &[ProblemId]) -> Result<Vec<Event>, StoreError> {
        self.events_for_problems_in(ids, None, None).await
    }

    /// The events of many problems at or after `from` and before `to` (either open), in log
    /// order: a ledger of a period.
    pub async fn events_for_problems_in(
        &self,
        ids: &[ProblemId],
        from: Option<chrono::DateTime<chrono::Utc>>,
        to: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<Event>, StoreError> {
        /// Ids per query: far below either backend's limit on bound parameters.
        const CHUNK: usize = 500;
        let mut out = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let mut args: Vec<Arg> = chunk.iter().map(|id| Arg::from(id.0)).collect();
            let mut sql = format!(
                "SELECT {EVENT_SELECT} FROM events WHERE problem IN ({})",
                marks.join(", ")
            );
            for (bound, op) in [(from, ">="), (to, "<")] {
                if let Some(t) = bound {
                    args.push(t.timestamp_millis().into());
                    for part in [" AND at ", op, " $", &args.len().to_string()] {
                        sql.push_str(part);
                    }
                }
            }
            sql.push_str(" ORDER BY seq");
            out.extend(self.read_all(&sql, args, &codec::event_from_row).await?);
        }
        out.sort_by_key(|e| e.seq);
        Ok(out)
    }

    // ---- zones, points of interest, assignments ------------------------------------------

    /// Inserts or replaces a zone by id. [`StoreError::Conflict`] when its `external_id` belongs
    /// to another zone.
    pub async fn upsert_zone(&self, z: &Zone) -> Result<(), StoreError> {
        Self::expect_unit(self.submit(Op::UpsertZone(z.clone())).await?)
    }

    /// Every zone.
    pub async fn list_zones(&self) -> Result<Vec<Zone>, StoreError> {
        self.read_all(
            &format!(
                "SELECT {} FROM zones ORDER BY id",
                codec::ZONE_COLS.join(", ")
            ),
            vec![],
            &codec::zone_from_row,
        )
        .await
    }

    /// One zone.
    pub async fn get_zone(&self, id: ZoneId) -> Result<Option<Zone>, StoreError> {
        self.read_opt(
            &format!(
                "SELECT {} FROM zones WHERE id = $1",
                codec::ZONE_COLS.join(", ")
            ),
            vec![id.0.into()],
            &codec::zone_from_row,
        )
        .await
    }

    /// Deletes a zone and its assignments. [`StoreError::NotFound`] when it does not exist.
    /// Problems dispatched through it keep the zone id.
    pub async fn delete_zone(&self, id: ZoneId) -> Result<(), StoreError> {
        Self::expect_unit(self.submit(Op::DeleteZone(id)).await?)
    }

    /// Inserts or replaces a point of interest by id.
    pub async fn upsert_poi(&self, p: &Poi) -> Result<(), StoreError> {
        Self::expect_unit(self.submit(Op::UpsertPoi(p.clone())).await?)
    }

    /// Every point of interest.
    pub async fn list_pois(&self) -> Result<Vec<Poi>, StoreError> {
        self.read_all(
            &format!(
                "SELECT {} FROM pois ORDER BY id",
                codec::POI_COLS.join(", ")
            ),
            vec![],
            &codec::poi_from_row,
        )
        .await
    }

    /// One point of interest.
    pub async fn get_poi(&self, id: PoiId) -> Result<Option<Poi>, StoreError> {
        self.read_opt(
            &format!(
                "SELECT {} FROM pois WHERE id = $1",
                codec::POI_COLS.join(", ")
            ),
            vec![id.0.into()],
            &codec::poi_from_row,
        )
        .await
    }

    /// Deletes a point of interest. [`StoreError::NotFound`] when it does not exist.
    pub async fn delete_poi(&self, id: PoiId) -> Result<(), StoreError> {
        Self::expect_unit(self.submit(Op::DeletePoi(id)).await?)
    }

    /// Makes `user` responsible for `zone` (idempotent). [`StoreError::NotFound`] when either
    /// does not exist.
    pub async fn assign(&self, zone: ZoneId, user: UserId) -> Result<(), StoreError> {
        Self::expect_unit(self.submit(Op::Assign(zone, user)).await?)
    }

    /// Ends an assignment; `true` when it existed.
    pub async fn unassign(&self, zone: ZoneId, user: UserId) -> Result<bool, StoreError> {
        Self::expect_flag(self.submit(Op::Unassign(zone, user)).await?)
    }

    /// Every assignment as `(zone, user)`.
    pub async fn assignments(&self) -> Result<Vec<(ZoneId, UserId)>, StoreError> {
        self.read_all(
            "SELECT zone_id, user_id FROM zone_assignments ORDER BY zone_id, user_id",
            vec![],
            &|r| {
                Ok((
                    ZoneId(r.uuid(0).map_err(col)?),
                    UserId(r.uuid(1).map_err(col)?),
                ))
            },
        )
        .await
    }

    /// The zones assigned to one user.
    pub async fn zones_of(&self, user: UserId) -> Result<Vec<ZoneId>, StoreError> {
        self.read_all(
            "SELECT zone_id FROM zone_assignments WHERE user_id = $1 ORDER BY zone_id",
            vec![user.0.into()],
            &|r| Ok(ZoneId(r.uuid(0).map_err(col)?)),
        )
        .await
    }

    // ---- users and sessions --------------------------------------------------------------

    /// Stores a new account. [`StoreError::Conflict`] when the name is taken.
    pub async fn create_user(&self, u: &User) -> Result<(), StoreError> {
        Self::expect_unit(self.submit(Op::CreateUser(u.clone())).await?)
    }

    /// Replaces an account by id (name, role, password hash, disabled...).
    /// [`StoreError::NotFound`] when absent, [`StoreError::Conflict`] when the new name is taken.
    pub async fn update_user(&self, u: &User) -> Result<(), StoreError> {
        Self::expect_unit(self.submit(Op::UpdateUser(u.clone())).await?)
    }

    /// The account with this login name.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        self.read_opt(
            &format!(
                "SELECT {} FROM users WHERE name = $1",
                codec::USER_COLS.join(", ")
            ),
            vec![name.into()],
            &codec::user_from_row,
        )
        .await
    }

    /// The account with this id.
    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read_opt(
            &format!(
                "SELECT {} FROM users WHERE id = $1",
                codec::USER_COLS.join(", ")
            ),
            vec![id.0.into()],
            &codec::user_from_row,
        )
        .await
    }

    /// Every account, by name.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.read_all(
            &format!(
                "SELECT {} FROM users ORDER BY name",
                codec::USER_COLS.join(", ")
            ),
            vec![],
            &codec::user_from_row,
        )
        .await
    }

    /// Stores a session or API token (by the hash of its secret).
    pub async fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        Self::expect_unit(self.submit(Op::CreateSession(s.clone())).await?)
    }

    /// The session with this token hash, revoked and expired ones included (the caller checks
    /// `revoked` and `expires_at`).
    pub async fn session_by_token_hash(&self, hash: &str) -> Result<Option<Session>, StoreError> {
        self.read_opt(
            &format!(
                "SELECT {} FROM sessions WHERE token_hash = $1",
                codec::SESSION_COLS.join(", ")
            ),
            vec![hash.into()],
            &codec::session_from_row,
        )
        .await
    }

    /// Revokes a session (logout, token withdrawn); `true` when it existed.
    pub async fn revoke_session(&self, hash: &str) -> Result<bool, StoreError> {
        Self::expect_flag(self.submit(Op::RevokeSession(hash.to_owned())).await?)
    }

    /// Revokes every live session and API token of `user` (account disabled, password reset);
    /// `true` when there was one.
    pub async fn revoke_sessions_of(&self, user: UserId) -> Result<bool, StoreError> {
        Self::expect_flag(self.submit(Op::RevokeUserSessions(user)).await?)
    }

    /// Every session and API token of `user`, revoked and expired ones included, newest first.
    pub async fn sessions_of(&self, user: UserId) -> Result<Vec<Session>, StoreError> {
        self.read_all(
            &format!(
                "SELECT {} FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, token_hash",
                codec::SESSION_COLS.join(", ")
            ),
            vec![user.0.into()],
            &codec::session_from_row,
        )
        .await
    }

    // ---- photos --------------------------------------------------------------------------

    /// Stores a photo: the bytes go to `photo_dir/ab/<sha256>` atomically (temporary file,
    /// fsync, rename, fsync of the directory) BEFORE the metadata row is committed, so a row
    /// never names missing bytes. Idempotent: the same bytes give the same id and the first
    /// metadata.
    pub async fn put_photo(
        &self,
        bytes: &[u8],
        mime: &str,
        width: u32,
        height: u32,
    ) -> Result<PhotoMeta, StoreError> {
        let meta = photos::write(&self.inner.photo_dir, bytes, mime, width, height).await?;
        match self.submit(Op::PutPhoto(meta)).await? {
            Out::Photo(m) => Ok(m),
            other => Err(StoreError::Internal(format!(
                "writer answered {other:?} to a photo"
            ))),
        }
    }

    /// A photo's metadata.
    pub async fn photo_meta(&self, id: &str) -> Result<Option<PhotoMeta>, StoreError> {
        self.read_opt(
            &format!(
                "SELECT {} FROM photos WHERE id = $1",
                codec::PHOTO_COLS.join(", ")
            ),
            vec![id.into()],
            &codec::photo_from_row,
        )
        .await
    }

    /// Where a photo's bytes are. [`StoreError::Invalid`] for anything but 64 lower-case hex
    /// digits, so a crafted id cannot reach outside the photo directory.
    pub fn photo_path(&self, id: &str) -> Result<PathBuf, StoreError> {
        photos::path(&self.inner.photo_dir, id)
    }

    // ---- categories ----------------------------------------------------------------------

    /// Inserts or replaces a category by code.
    pub async fn upsert_category(&self, c: &Category) -> Result<(), StoreError> {
        Self::expect_unit(self.submit(Op::UpsertCategory(c.clone())).await?)
    }

    /// Every stored category, by code.
    pub async fn list_categories(&self) -> Result<Vec<Category>, StoreError> {
        self.read_all(
            &format!(
                "SELECT {} FROM categories ORDER BY code",
                codec::CATEGORY_COLS.join(", ")
            ),
            vec![],
            &codec::category_from_row,
        )
        .await
    }

    // ---- operations ----------------------------------------------------------------------

    /// The number of rows of each table (`problems`, `events`, `zones`, `users`, `photos`...),
    /// counted in the database: what a backup, a restore or an operator compares.
    pub async fn row_counts(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let loc = self.location();
        let mut pooled = self.reads().acquire(loc).await?;
        crate::copy::row_counts(&mut pooled.conn(loc)).await
    }

    /// Where the writer spent its time (queue wait, statements, `COMMIT`, the commit hook) and
    /// batch sizes, as histograms for `/metrics`, since this process started.
    #[must_use]
    pub fn write_timings(&self) -> crate::timings::WriteTimings {
        self.inner.shared.timings.snapshot()
    }

    /// Counters for `/metrics`, as seen by this process (no database round trip). `async` so
    /// that a future version may ask the database without changing callers.
    #[allow(clippy::unused_async)]
    pub async fn stats(&self) -> StoreStats {
        self.inner.shared.stats.snapshot()
    }
}
