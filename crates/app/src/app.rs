//! The service handle: the in-memory state loaded from the store, and the commit hook that
//! keeps it current.
//!
//! The flow of a write: validate (domain) → authorize (role and scope) → store (one
//! transaction: row + event, group-committed) → the store's commit hook applies the committed
//! change to memory → answer. The database is the truth: memory is loaded from it at start
//! and changed only after the store acknowledged a write, so it never holds what the database
//! does not.
//!
//! The behaviour on this state lives in the modules by concern (`query`, `problems`,
//! `workflow`, `reports`, `heat`, `catalog`, `planning`, `tiles`, `accounts`, `media`), each
//! an `impl App` block.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use chrono::{Duration, Utc};
use civmap_domain::calendar::WorkCalendar;
use civmap_domain::inspection::Checklists;
use civmap_domain::{Category, CategoryTable, Event, Poi, PoiId, Problem, UserId, ZoneId};
use civmap_geodata::place::Gazetteer;
use civmap_store::{Change, Store, StoreError};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;

use crate::accounts::state::AccountState;
use crate::config::Config;
use crate::error::ServiceError;
use crate::media::budget::DecodeBudget;
use crate::memory::feedback::FeedbackBook;
use crate::memory::follow_state::FollowState;
use crate::memory::live::{LIVE_BUFFER, LiveChange};
use crate::memory::lookback::LookbackList;
use crate::memory::problem_map::ProblemMap;
use crate::memory::record::Record;
use crate::memory::scope_cache::ScopeCache;
use crate::memory::{Problems, Sizes, Zones};
use crate::planning::network::RoadNetwork;
use crate::privacy::PublicTexts;
use crate::ratelimit::RateLimiter;
use crate::spatial;
use crate::tiles::state::TileState;

/// The service: cheap to clone (an `Arc` inside).
#[derive(Clone, Debug)]
pub struct App {
    pub(crate) inner: Arc<Inner>,
}

/// The state behind an [`App`]. Only the modules of this crate see its fields.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) config: Config,
    pub(crate) categories: RwLock<Arc<CategoryTable>>,
    pub(crate) problems: RwLock<Problems>,
    pub(crate) zones: RwLock<Zones>,
    pub(crate) pois: RwLock<BTreeMap<PoiId, Poi>>,
    pub(crate) assignments: RwLock<Vec<(ZoneId, UserId)>>,
    /// Anonymous writes, per address.
    pub(crate) limiter: RateLimiter,
    /// Requests refused by a rate limit (a counter for `/metrics`).
    pub(crate) rate_limited: AtomicU64,
    /// Sign-in limits and what is known about accounts.
    pub(crate) accounts: AccountState,
    ready: AtomicBool,
    /// Bumped after every committed change is in memory (and after a reload): cached scope
    /// ids of an older version are not used.
    pub(crate) data_version: AtomicU64,
    /// The problem ids of zone scopes (chiefs, street offices), by scope, per data version.
    pub(crate) scope_cache: Mutex<ScopeCache>,
    started: Instant,
    /// Road graphs for route planning, when the service was given a road network.
    roads: RwLock<Option<Arc<RoadNetwork>>>,
    /// Vector tiles: the count pyramid, the basemap, data versions and the tile cache.
    pub(crate) tiles: TileState,
    /// Deadlines are counted in working hours of this calendar.
    calendar: WorkCalendar,
    /// Committed problem changes, for live pages.
    live: tokio::sync::broadcast::Sender<LiveChange>,
    /// Closed problems not re-inspected since: the look-backs to come.
    pub(crate) lookback: Mutex<LookbackList>,
    /// Verified problems and their reporters' answers (回访).
    pub(crate) feedback: Mutex<FeedbackBook>,
    /// The memory photo decodes may take at once.
    pub(crate) decode_budget: DecodeBudget,
    /// The street's named features, for wording places (from the basemap).
    pub(crate) places: RwLock<Arc<Gazetteer>>,
    /// What the public reads for descriptions the street office hid or reworded.
    pub(crate) public_texts: RwLock<Arc<PublicTexts>>,
    /// Test-point kinds and checklists from the data file (items edited in the console are
    /// stored and merged over these when read).
    pub(crate) checklists: Checklists,
    /// How far this replica has applied the database's logs (`crate::follow`).
    pub(crate) follow: Mutex<FollowState>,
    /// Held while the logs are read and applied, or memory is reloaded: one at a time.
    pub(crate) follow_gate: tokio::sync::Mutex<()>,
    /// Whether this replica runs the background jobs now (`crate::leader`).
    pub(crate) leader: AtomicBool,
    /// The start of the hot window, Unix ms: closed or merged problems whose row changed before
    /// it are not in memory (`crate::cold`).
    pub(crate) hot_since_ms: AtomicI64,
}

/// A handle that does not keep the service alive (for background tasks).
#[derive(Clone, Debug)]
pub struct WeakApp(Weak<Inner>);

impl WeakApp {
    /// The service, while it lives.
    #[must_use]
    pub fn upgrade(&self) -> Option<App> {
        self.0.upgrade().map(|inner| App { inner })
    }
}

/// A year that far in the future bounds "every event" when the look-back list is read.
const EVERY_EVENT_DAYS: i64 = 36_500;

impl App {
    /// Loads problems, zones, points of interest, assignments and stored categories from
    /// `store` into memory, builds the indexes, hooks memory to every commit and starts the
    /// background jobs. `categories` is the table from the built-in list and the categories
    /// file; categories stored through the API are merged over it, and a problem whose category
    /// is unknown gets a placeholder category (logged) so nothing in the database is hidden.
    pub async fn load(
        store: Store,
        categories: CategoryTable,
        config: Config,
    ) -> Result<App, ServiceError> {
        let t0 = Instant::now();
        let limits = &config.limits;
        let limiter = RateLimiter::new(
            limits.anonymous_writes_per_minute,
            limits.anonymous_write_burst,
        );
        let calendar = load_calendar(config.workflow.calendar_file.as_deref())?;
        let checklists = load_checklists(config.inspection_file.as_deref())?;
        let app = App {
            inner: Arc::new(Inner {
                store: store.clone(),
                categories: RwLock::new(Arc::new(categories)),
                problems: RwLock::new(Problems::empty()),
                zones: RwLock::new(Zones::empty()),
                pois: RwLock::new(BTreeMap::new()),
                assignments: RwLock::new(Vec::new()),
                limiter,
                rate_limited: AtomicU64::new(0),
                accounts: AccountState::new(&config.auth),
                ready: AtomicBool::new(false),
                data_version: AtomicU64::new(0),
                scope_cache: Mutex::new(ScopeCache::default()),
                started: Instant::now(),
                roads: RwLock::new(None),
                tiles: TileState::new(config.limits.tile_cache_bytes),
                calendar,
                live: tokio::sync::broadcast::channel(LIVE_BUFFER).0,
                lookback: Mutex::new(LookbackList::default()),
                feedback: Mutex::new(FeedbackBook::default()),
                decode_budget: DecodeBudget::new(config.limits.decode_memory_mib),
                places: RwLock::new(Arc::new(Gazetteer::default())),
                public_texts: RwLock::new(Arc::new(PublicTexts::default())),
                checklists,
                follow: Mutex::new(FollowState::default()),
                follow_gate: tokio::sync::Mutex::new(()),
                leader: AtomicBool::new(false),
                hot_since_ms: AtomicI64::new(i64::MIN),
                config,
            }),
        };
        app.reload().await?;
        // From now on every committed change reaches memory before its writer is answered.
        let weak = app.downgrade();
        store.on_commit(move |changes| {
            if let Some(app) = weak.upgrade() {
                app.apply(changes);
                app.inner.data_version.fetch_add(1, Ordering::AcqRel);
            }
        });
        let sizes = app.sizes();
        tracing::info!(
            problems = sizes.problems,
            zones = sizes.zones,
            pois = sizes.pois,
            elapsed_ms = t0.elapsed().as_millis() as u64,
            "loaded the store into memory"
        );
        app.set_ready(true);
        app.start_following();
        app.start_leadership();
        app.start_escalation();
        app.start_eviction();
        Ok(app)
    }

    /// Replaces everything in memory with the store's content: the hot set of problems (open,
    /// or closed within `[memory] hot_days`; `crate::cold`), and every zone, account and the rest.
    pub async fn reload(&self) -> Result<(), ServiceError> {
        let _one_at_a_time = self.inner.follow_gate.lock().await;
        self.reload_unfollowed().await
    }

    /// [`App::reload`], for a caller that holds `follow_gate`.
    pub(crate) async fn reload_unfollowed(&self) -> Result<(), ServiceError> {
        let store = &self.inner.store;
        // Read before the rows: what committed after is applied again by the follower, which
        // is harmless (rows carry versions); what committed before is in the rows read.
        let heads = store.log_heads().await?;
        let mut table = (*self.categories()).clone();
        for c in store.list_categories().await? {
            merge_category(&mut table, &c)?;
        }
        let since = self.window_start(Utc::now());
        let problems = store.load_hot_problems(since).await?;
        for p in &problems {
            if table.by_code(&p.category).is_none() {
                tracing::warn!(category = %p.category, "stored problem has a category unknown to this table; adding a placeholder");
                merge_category(&mut table, &placeholder_category(&p.category))?;
            }
        }
        let mut pairs = Vec::with_capacity(problems.len());
        let mut by_case = HashMap::with_capacity(problems.len());
        for p in problems {
            let id = p.id;
            if let Some(c) = p.case_no {
                by_case.insert(c, id);
            }
            // Every category was added to the table just above.
            let record = Record::from_owned(p, &table)
                .ok_or_else(|| ServiceError::bug("a category vanished from the table"))?;
            pairs.push((id, record));
        }
        let map = ProblemMap::from_pairs(pairs);
        let index = spatial::build_index(map.iter())?;
        let mut zones = Zones::empty();
        for z in store.list_zones().await? {
            if let Err(e) = zones.index.insert(z.id, z.kind, z.geometry.clone()) {
                tracing::warn!(zone = %z.id, error = %e, "stored zone cannot be indexed; it is listed but contains nothing");
            }
            zones.map.insert(z.id, z);
        }
        let pois: BTreeMap<PoiId, Poi> = store
            .list_pois()
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let assignments = store.assignments().await?;
        for u in store.list_users().await? {
            self.inner.accounts.note_user(&u);
        }
        self.inner
            .accounts
            .set_sessions(store.live_sessions(Utc::now()).await?);
        let basemap = store.load_basemap().await?;
        let public_texts = PublicTexts::from_rows(store.load_public_texts().await?);
        let mut lookback = LookbackList::default();
        let far = Utc::now() + Duration::days(EVERY_EVENT_DAYS);
        // The hot window's steps only: a problem closed before it is cold, and so is its
        // look-back and its reporter's answer.
        for (id, kind, at) in store.lifecycle_events_between(since, far).await? {
            lookback.note(id, kind, at);
        }
        *self.inner.lookback.lock() = lookback;
        let mut feedback = FeedbackBook::default();
        for (id, kind, data) in store.feedback_trail(since).await? {
            feedback.note(id, kind, &data);
        }
        *self.inner.feedback.lock() = feedback;
        self.inner.tiles.rebuild_problems(&index, &table);
        *self.inner.places.write() = Arc::new(crate::tiles::basemap::gazetteer(&basemap));
        self.inner.tiles.set_basemap(basemap);
        *self.inner.categories.write() = Arc::new(table);
        {
            let mut g = self.inner.problems.write();
            // The start memory was just read for, set under the lock with the problems.
            self.inner
                .hot_since_ms
                .store(crate::time::to_ms(since), Ordering::Release);
            *g = Problems {
                map,
                index,
                by_case,
            };
        }
        *self.inner.zones.write() = zones;
        *self.inner.pois.write() = pois;
        *self.inner.assignments.write() = assignments;
        *self.inner.public_texts.write() = Arc::new(public_texts);
        self.inner.follow.lock().restart(heads);
        self.inner.data_version.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Applies committed changes to memory (called by the store's writer, in commit order, and
    /// by the follower for what other replicas wrote). A logged event the follower applied
    /// already is skipped (`FollowState::claim`), so nothing is noted or sent twice.
    pub(crate) fn apply(&self, changes: &[Change]) {
        for c in changes {
            match c {
                Change::Problem { problem, event } => {
                    if self.inner.follow.lock().claim(event.seq, event.seq) {
                        self.apply_problem(problem, event);
                    }
                }
                Change::Imported {
                    problems,
                    first_seq,
                    ..
                } => {
                    let last = first_seq + problems.len() as i64 - 1;
                    if self.inner.follow.lock().claim(*first_seq, last) {
                        self.remember(problems);
                    }
                }
                Change::PublicText { text, event } => {
                    if self.inner.follow.lock().claim(event.seq, event.seq) {
                        self.set_public_text(text);
                    }
                }
                Change::Restored => {
                    // The hook must not call the store: reload on a task of its own.
                    self.set_ready(false);
                    let me = self.clone();
                    if let Ok(rt) = tokio::runtime::Handle::try_current() {
                        rt.spawn(async move {
                            match me.reload().await {
                                Ok(()) => me.set_ready(true),
                                Err(e) => {
                                    tracing::error!(error = %e.chain(), "reload after restore failed");
                                }
                            }
                        });
                    }
                }
                row => {
                    // Counted under the follower's lock: a follower that re-read this row
                    // before it committed must not put the older row back (`crate::follow`).
                    let mut f = self.inner.follow.lock();
                    self.apply_row(row);
                    f.local += 1;
                }
            }
        }
    }

    /// A committed change of a row that is not a problem (zones, points of interest,
    /// assignments, accounts, sessions) in memory. Idempotent.
    pub(crate) fn apply_row(&self, c: &Change) {
        match c {
            Change::User(u) => self.inner.accounts.note_user(u),
            Change::Session(s) => self.inner.accounts.note_session(s),
            Change::SessionRevoked(hash) => self.inner.accounts.revoke_session(hash),
            Change::UserSessionsRevoked(user) => {
                self.inner.accounts.revoke_sessions_of(*user);
            }
            Change::Zone(z) => {
                let mut g = self.inner.zones.write();
                if let Err(e) = g.index.upsert(z.id, z.kind, z.geometry.clone()) {
                    tracing::warn!(zone = %z.id, error = %e, "zone cannot be indexed");
                    let _ = g.index.remove(z.id);
                }
                g.map.insert(z.id, z.clone());
                drop(g);
                self.inner.tiles.zones_changed();
            }
            Change::ZoneDeleted(id) => {
                let mut g = self.inner.zones.write();
                g.map.remove(id);
                let _ = g.index.remove(*id);
                drop(g);
                self.inner.tiles.zones_changed();
                self.inner.assignments.write().retain(|(z, _)| z != id);
            }
            Change::Poi(p) => {
                self.inner.pois.write().insert(p.id, p.clone());
            }
            Change::PoiDeleted(id) => {
                self.inner.pois.write().remove(id);
            }
            Change::Assigned { zone, user } => {
                let mut g = self.inner.assignments.write();
                if !g.contains(&(*zone, *user)) {
                    g.push((*zone, *user));
                }
            }
            Change::Unassigned { zone, user } => {
                self.inner
                    .assignments
                    .write()
                    .retain(|a| *a != (*zone, *user));
            }
            // Problem changes and restores are `apply`'s.
            Change::Problem { .. }
            | Change::Imported { .. }
            | Change::PublicText { .. }
            | Change::Restored => {}
        }
    }

    /// A committed problem change in memory: the problem, the look-back and feedback books,
    /// and the live feed.
    pub(crate) fn apply_problem(&self, problem: &Problem, event: &Event) {
        self.remember(std::slice::from_ref(problem));
        self.inner
            .lookback
            .lock()
            .note(problem.id, event.kind, event.at);
        self.inner
            .feedback
            .lock()
            .note(problem.id, event.kind, &event.data);
        // Nobody listening is not an error.
        let _ = self.inner.live.send(LiveChange {
            id: problem.id,
            kind: event.kind,
            status: problem.status,
            version: problem.version,
            assignee: problem.assignee,
            at: event.at,
        });
    }

    /// What the public reads for a problem's description, as committed.
    pub(crate) fn set_public_text(&self, text: &civmap_store::PublicText) {
        let mut g = self.inner.public_texts.write();
        *g = Arc::new(g.with(text.clone()));
    }

    /// Puts committed problems into memory, unless memory already has a newer version.
    pub(crate) fn remember(&self, problems: &[Problem]) {
        let table = self.table_for(problems);
        let mut g = self.inner.problems.write();
        let Problems {
            map,
            index,
            by_case,
        } = &mut *g;
        for p in problems {
            let Some(record) = Record::from_problem(p, &table) else {
                continue;
            };
            if let Some(c) = p.case_no {
                by_case.insert(c, p.id);
            }
            match map.get_mut(&p.id) {
                Some(old) if old.version >= record.version => {}
                Some(old) => {
                    let change = spatial::update_of(old, &record);
                    if let Err(e) = index.update(p.id, &change) {
                        tracing::error!(id = %p.id, error = %e, "index update failed");
                    }
                    self.inner.tiles.problem_changed(Some(old), &record, &table);
                    *old = record;
                }
                None => {
                    if let Some(pr) = spatial::point_record(p.id, &record)
                        && let Err(e) = index.insert(pr)
                    {
                        tracing::error!(id = %p.id, error = %e, "index insert failed");
                    }
                    self.inner.tiles.problem_changed(None, &record, &table);
                    map.insert(p.id, record);
                }
            }
        }
    }

    /// The category table, with a placeholder added for each category of `problems` it lacks
    /// (problems written by another part of the program, an import, or read cold from the
    /// database with a code this table lacks), so nothing stored is hidden.
    pub(crate) fn table_for(&self, problems: &[Problem]) -> Arc<CategoryTable> {
        let table = self.categories();
        let Some(p) = problems
            .iter()
            .find(|p| table.by_code(&p.category).is_none())
        else {
            return table;
        };
        tracing::warn!(category = %p.category, "stored problem with an unknown category; adding placeholders");
        let mut t = (*table).clone();
        for p in problems {
            if t.by_code(&p.category).is_none()
                && merge_category(&mut t, &placeholder_category(&p.category)).is_err()
            {
                tracing::error!(category = %p.category, "cannot add a placeholder category");
            }
        }
        let table = Arc::new(t);
        *self.inner.categories.write() = table.clone();
        table
    }

    // ---- the handle ------------------------------------------------------------------

    #[must_use]
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Sign-in limits and account facts kept in memory.
    #[must_use]
    pub fn accounts(&self) -> &AccountState {
        &self.inner.accounts
    }

    /// The category table (a snapshot; category edits swap in a new table).
    #[must_use]
    pub fn categories(&self) -> Arc<CategoryTable> {
        self.inner.categories.read().clone()
    }

    /// Read access to the problems in memory. Take [`App::zones`] first when both are held.
    pub fn problems(&self) -> parking_lot::RwLockReadGuard<'_, Problems> {
        self.inner.problems.read()
    }

    /// Read access to the zones in memory.
    pub fn zones(&self) -> parking_lot::RwLockReadGuard<'_, Zones> {
        self.inner.zones.read()
    }

    /// Read access to the points of interest in memory.
    pub fn pois(&self) -> parking_lot::RwLockReadGuard<'_, BTreeMap<PoiId, Poi>> {
        self.inner.pois.read()
    }

    /// Zone assignments `(zone, user)`.
    #[must_use]
    pub fn assignments(&self) -> Vec<(ZoneId, UserId)> {
        self.inner.assignments.read().clone()
    }

    /// The working-day calendar deadlines are counted on.
    #[must_use]
    pub fn calendar(&self) -> &WorkCalendar {
        &self.inner.calendar
    }

    /// A receiver of every committed problem change from now on.
    #[must_use]
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<LiveChange> {
        self.inner.live.subscribe()
    }

    /// The tile state: data versions, the basemap, the pyramid's size.
    #[must_use]
    pub fn tiles(&self) -> &TileState {
        &self.inner.tiles
    }

    /// The road network routes are planned on (`None`: straight lines with a detour factor).
    #[must_use]
    pub fn roads(&self) -> Option<Arc<RoadNetwork>> {
        self.inner.roads.read().clone()
    }

    /// Sets the road network routes are planned on.
    pub fn set_roads(&self, roads: Arc<RoadNetwork>) {
        *self.inner.roads.write() = Some(roads);
    }

    /// A handle that does not keep the service alive.
    #[must_use]
    pub fn downgrade(&self) -> WeakApp {
        WeakApp(Arc::downgrade(&self.inner))
    }

    /// Whether memory is loaded and the service accepts traffic.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Relaxed)
    }

    /// Marks the service ready or not (loading, restoring, shutting down).
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Relaxed);
    }

    /// Readiness: loaded, not shutting down, and the database answers. Otherwise
    /// [`ServiceError::Unavailable`] naming the cause (the database's own words, without its
    /// host or user: `database "civmap" is not currently accepting connections`).
    pub async fn readiness(&self) -> Result<(), ServiceError> {
        if !self.is_ready() {
            return Err(ServiceError::unavailable(
                "not ready (starting or shutting down)",
                None,
            ));
        }
        self.store().ping().await.map_err(|e| {
            let loc = self.store().location().to_string();
            let cause = match &e {
                StoreError::Unavailable(m) => m.clone(),
                StoreError::NotADatabase { reason, .. } => reason.clone(),
                other => other.to_string(),
            };
            let cause = cause
                .replace(&format!("{loc}: "), "")
                .replace(&loc, "the database");
            ServiceError::unavailable(
                format!("the database is unavailable: {cause}"),
                Some(Box::new(e)),
            )
        })
    }

    /// Seconds since the service was loaded.
    #[must_use]
    pub fn uptime_s(&self) -> f64 {
        self.inner.started.elapsed().as_secs_f64()
    }

    /// How much is held in memory.
    #[must_use]
    pub fn sizes(&self) -> Sizes {
        Sizes {
            problems: self.inner.problems.read().map.len(),
            zones: self.inner.zones.read().map.len(),
            pois: self.inner.pois.read().len(),
        }
    }

    /// Counts a request refused by a rate limit.
    pub fn note_rate_limited(&self) {
        self.inner.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests refused by a rate limit since start.
    #[must_use]
    pub fn rate_limited_total(&self) -> u64 {
        self.inner.rate_limited.load(Ordering::Relaxed)
    }

    /// The version of the data in memory: it moves with every committed change.
    #[must_use]
    pub fn data_version(&self) -> u64 {
        self.inner.data_version.load(Ordering::Acquire)
    }

    /// Swaps in a new category table (a category was stored).
    pub(crate) fn set_categories(&self, table: Arc<CategoryTable>) {
        *self.inner.categories.write() = table;
    }
}

/// Adds or replaces one category in a table (through the table's TOML reader, its only
/// public way in).
pub(crate) fn merge_category(table: &mut CategoryTable, c: &Category) -> Result<(), ServiceError> {
    #[derive(Serialize)]
    struct File<'a> {
        category: [&'a Category; 1],
    }
    let text = toml::to_string(&File { category: [c] })
        .map_err(|e| ServiceError::internal("category to TOML", e))?;
    table.merge_toml(&text).map_err(|e| match e {
        civmap_domain::DomainError::Validation(v) => ServiceError::from(v),
        other => ServiceError::invalid("category", other),
    })
}

/// The category a stored problem gets when its code is unknown, so nothing stored is hidden.
fn placeholder_category(code: &str) -> Category {
    Category {
        code: code.to_owned(),
        name_zh: code.to_owned(),
        name_en: code.to_owned(),
        weight: 1.0,
        deadline_hours: 8,
        service_minutes: 10,
        indoor: false,
    }
}

/// The checklist file named in the configuration, else the built-in one (`data/inspection.toml`).
fn load_checklists(path: Option<&Path>) -> Result<Checklists, ServiceError> {
    let Some(path) = path else {
        return Ok(Checklists::builtin());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        ServiceError::internal(format!("cannot read checklist file {}", path.display()), e)
    })?;
    Checklists::from_toml(&text)
        .map_err(|e| ServiceError::internal(format!("checklist file {}", path.display()), e))
}

/// The calendar file named in the configuration, else the built-in calendar; warns, naming the
/// year and the file, when this year's holidays are missing or provisional.
fn load_calendar(path: Option<&Path>) -> Result<WorkCalendar, ServiceError> {
    let calendar = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ServiceError::internal(format!("cannot read calendar file {}", path.display()), e)
            })?;
            WorkCalendar::from_toml(&text)
                .map_err(|e| ServiceError::internal(path.display().to_string(), e))?
        }
        None => WorkCalendar::builtin(),
    };
    let year = chrono::Datelike::year(&Utc::now().with_timezone(&calendar.offset()));
    let file = path.map_or_else(
        || "the built-in calendar (data/calendar.toml)".to_owned(),
        |p| p.display().to_string(),
    );
    if !calendar.covers(year) {
        tracing::warn!(
            year,
            file,
            "the working-day calendar lists no public holidays for {year}: deadlines count them as working days; add them to {file}"
        );
    } else if calendar.is_provisional(year) {
        tracing::warn!(
            year,
            file,
            "the public holidays of {year} in {file} are provisional (statutory days on computed dates, no make-up working days): enter the State Council's notice when it is published"
        );
    }
    Ok(calendar)
}
