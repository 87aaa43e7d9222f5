//! The shared state of the server and the write flow: validate (domain) -> store (one
//! transaction: row + event, group-committed) -> update the in-memory map and index.
//!
//! The database is the truth. The in-memory map and the spatial index are loaded from it at
//! start and changed only after the store acknowledged a write, so they never hold what the
//! database does not.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use civmap_domain::calendar::WorkCalendar;
use civmap_domain::{
    Action, Category, CategoryTable, Event, EventKind, NewProblem, Poi, PoiId, Problem, ProblemId,
    Role, Status, UserId, Zone, ZoneId,
};
use civmap_index::{Filter, ProblemIndex, ZoneIndex};
use civmap_store::{Change, NewEvent, Store};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;

use crate::auth::AuthState;
use crate::config::Config;
use crate::error::AppError;
use crate::extract::{Actor, secret_eq};
use crate::metrics::Metrics;
use crate::problem_map::ProblemMap;
use crate::ratelimit::RateLimiter;
use crate::record::{Record, now_ms};
use crate::scope::Scope;
use crate::spatial::{self, Spatial};

/// Everything a handler needs. Cheap to clone (an `Arc` inside).
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    store: Store,
    config: Config,
    categories: RwLock<Arc<CategoryTable>>,
    problems: RwLock<Problems>,
    zones: RwLock<Zones>,
    pois: RwLock<BTreeMap<PoiId, Poi>>,
    assignments: RwLock<Vec<(ZoneId, UserId)>>,
    metrics: Metrics,
    limiter: RateLimiter,
    /// Sign-in limits and what is known about accounts.
    auth: AuthState,
    ready: AtomicBool,
    /// Bumped after every committed change is in memory (and after a reload): cached scope
    /// ids of an older version are not used.
    data_version: AtomicU64,
    /// The problem ids of zone scopes (chiefs, street offices), by scope, per data version.
    scope_cache: Mutex<ScopeCache>,
    started: Instant,
    /// Road graphs for route planning, when the server was given a road network.
    roads: RwLock<Option<Arc<crate::routing::RoadNetwork>>>,
    /// Vector tiles: the count pyramid, the basemap, data versions and the tile cache.
    tiles: crate::tiles::TileState,
    /// Deadlines are counted in working hours of this calendar.
    calendar: WorkCalendar,
    /// Committed problem changes, for live pages (`GET /api/v1/me/stream`).
    live: tokio::sync::broadcast::Sender<LiveChange>,
    /// Closed problems not re-inspected since, with when they were verified (Unix ms): the
    /// look-backs to come. Loaded from the event log, kept by the commit hook.
    lookback: Mutex<HashMap<ProblemId, i64>>,
}

/// A committed change of a problem, as live pages are told of it.
#[derive(Debug, Clone, Serialize)]
pub struct LiveChange {
    pub id: ProblemId,
    /// The event that recorded it (`created`, `dispatched`, ...).
    pub kind: EventKind,
    pub status: Status,
    pub version: i64,
    pub assignee: Option<UserId>,
    pub at: DateTime<Utc>,
}

/// The problems held in memory: records by id (ordered, for cursor pagination) and the
/// spatial index over them.
#[derive(Debug)]
pub struct Problems {
    pub map: ProblemMap,
    pub index: ProblemIndex,
}

/// The zones held in memory and their containment index.
#[derive(Debug)]
pub struct Zones {
    pub map: BTreeMap<ZoneId, Zone>,
    pub index: ZoneIndex,
}

/// Problem ids of zone scopes by (user, zones), with the data version they were computed at.
/// Bounded: emptied when it holds more than [`ScopeCache::MAX_IDS`] ids or
/// [`ScopeCache::MAX_SCOPES`] scopes.
#[derive(Debug, Default)]
struct ScopeCache {
    map: HashMap<ScopeKey, (u64, Arc<Vec<ProblemId>>)>,
    ids: usize,
}

/// What a zone scope's ids depend on: the user (problems dispatched to it) and the zones.
type ScopeKey = (Option<UserId>, Vec<ZoneId>);

impl ScopeCache {
    const MAX_SCOPES: usize = 256;
    const MAX_IDS: usize = 4_000_000;

    fn insert(&mut self, key: ScopeKey, version: u64, ids: Arc<Vec<ProblemId>>) {
        if self.map.len() >= Self::MAX_SCOPES || self.ids + ids.len() > Self::MAX_IDS {
            self.map.clear();
            self.ids = 0;
        }
        self.ids += ids.len();
        if let Some((_, old)) = self.map.insert(key, (version, ids)) {
            self.ids = self.ids.saturating_sub(old.len());
        }
    }
}

/// A page of problem ids in id order, and the cursor of the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub ids: Vec<ProblemId>,
    /// The last id of this page when more follow.
    pub next_after: Option<ProblemId>,
    /// Total matches, when known without a full scan.
    pub matched: Option<usize>,
}

/// Sizes reported by `/metrics` and `/readyz`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sizes {
    pub problems: usize,
    pub zones: usize,
    pub pois: usize,
}

impl AppState {
    /// Loads problems, zones, points of interest, assignments and stored categories from
    /// `store` into memory and builds the indexes. `categories` is the table from the built-in
    /// list and the categories file; categories stored through the API are merged over it, and
    /// a problem whose category is unknown gets a placeholder category (logged) so nothing in
    /// the database is hidden.
    pub async fn load(
        store: Store,
        categories: CategoryTable,
        config: Config,
    ) -> Result<AppState, AppError> {
        let t0 = Instant::now();
        let limits = &config.limits;
        let limiter = RateLimiter::new(
            limits.anonymous_writes_per_minute,
            limits.anonymous_write_burst,
        );
        let calendar = load_calendar(config.workflow.calendar_file.as_deref())?;
        let state = AppState {
            inner: Arc::new(Inner {
                store: store.clone(),
                categories: RwLock::new(Arc::new(categories)),
                problems: RwLock::new(Problems {
                    map: ProblemMap::default(),
                    index: ProblemIndex::new(),
                }),
                zones: RwLock::new(Zones {
                    map: BTreeMap::new(),
                    index: ZoneIndex::new(),
                }),
                pois: RwLock::new(BTreeMap::new()),
                assignments: RwLock::new(Vec::new()),
                metrics: Metrics::default(),
                limiter,
                auth: AuthState::new(&config.auth),
                ready: AtomicBool::new(false),
                data_version: AtomicU64::new(0),
                scope_cache: Mutex::new(ScopeCache::default()),
                started: Instant::now(),
                roads: RwLock::new(None),
                tiles: crate::tiles::TileState::default(),
                calendar,
                live: tokio::sync::broadcast::channel(1024).0,
                lookback: Mutex::new(HashMap::new()),
                config,
            }),
        };
        state.reload().await?;
        // From now on every committed change reaches memory before its writer is answered.
        let weak = Arc::downgrade(&state.inner);
        store.on_commit(move |changes| {
            if let Some(inner) = weak.upgrade() {
                let state = AppState { inner };
                state.apply(changes);
                state.inner.data_version.fetch_add(1, Ordering::AcqRel);
            }
        });
        let sizes = state.sizes();
        tracing::info!(
            problems = sizes.problems,
            zones = sizes.zones,
            pois = sizes.pois,
            elapsed_ms = t0.elapsed().as_millis() as u64,
            "loaded the store into memory"
        );
        state.set_ready(true);
        state.start_escalation();
        Ok(state)
    }

    /// The road network routes are planned on (`None`: straight lines with a detour factor).
    #[must_use]
    pub fn roads(&self) -> Option<Arc<crate::routing::RoadNetwork>> {
        self.inner.roads.read().clone()
    }

    /// Sets the road network routes are planned on.
    pub fn set_roads(&self, roads: Arc<crate::routing::RoadNetwork>) {
        *self.inner.roads.write() = Some(roads);
    }

    /// Replaces everything in memory with the store's content.
    pub async fn reload(&self) -> Result<(), AppError> {
        let store = &self.inner.store;
        let mut table = (*self.categories()).clone();
        for c in store.list_categories().await? {
            merge_category(&mut table, &c)?;
        }
        let problems = store.load_problems().await?;
        for p in &problems {
            if table.by_code(&p.category).is_none() {
                tracing::warn!(category = %p.category, "stored problem has a category unknown to this table; adding a placeholder");
                merge_category(&mut table, &placeholder_category(&p.category))?;
            }
        }
        let mut pairs = Vec::with_capacity(problems.len());
        for p in problems {
            let id = p.id;
            // Every category was added to the table just above.
            let record = Record::from_owned(p, &table)
                .ok_or_else(|| AppError::Internal("a category vanished from the table".into()))?;
            pairs.push((id, record));
        }
        let map = ProblemMap::from_pairs(pairs);
        let index = spatial::build_index(map.iter())?;
        let mut zmap = BTreeMap::new();
        let mut zindex = ZoneIndex::new();
        for z in store.list_zones().await? {
            if let Err(e) = zindex.insert(z.id, z.kind, z.geometry.clone()) {
                tracing::warn!(zone = %z.id, error = %e, "stored zone cannot be indexed; it is listed but contains nothing");
            }
            zmap.insert(z.id, z);
        }
        let pois: BTreeMap<PoiId, Poi> = store
            .list_pois()
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let assignments = store.assignments().await?;
        for u in store.list_users().await? {
            self.inner.auth.note_user(&u);
        }
        let basemap = store.load_basemap().await?;
        let mut lookback = HashMap::new();
        let far = Utc::now() + chrono::Duration::days(36_500);
        for (id, kind, at) in store.lifecycle_events(far).await? {
            note_lookback(&mut lookback, id, kind, at);
        }
        *self.inner.lookback.lock() = lookback;
        self.inner.tiles.rebuild_problems(&index, &table);
        self.inner.tiles.set_basemap(basemap);
        *self.inner.categories.write() = Arc::new(table);
        *self.inner.problems.write() = Problems { map, index };
        *self.inner.zones.write() = Zones {
            map: zmap,
            index: zindex,
        };
        *self.inner.pois.write() = pois;
        *self.inner.assignments.write() = assignments;
        self.inner.data_version.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Applies committed changes to memory (called by the store's writer, in commit order).
    fn apply(&self, changes: &[Change]) {
        for c in changes {
            match c {
                Change::Problem { problem, event } => {
                    self.remember(std::slice::from_ref(problem));
                    note_lookback(
                        &mut self.inner.lookback.lock(),
                        problem.id,
                        event.kind,
                        event.at,
                    );
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
                Change::Imported { problems, .. } => self.remember(problems),
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
                Change::Restored => {
                    // The hook must not call the store: reload on a task of its own.
                    self.set_ready(false);
                    let me = self.clone();
                    if let Ok(rt) = tokio::runtime::Handle::try_current() {
                        rt.spawn(async move {
                            match me.reload().await {
                                Ok(()) => me.set_ready(true),
                                Err(e) => {
                                    tracing::error!(error = %e, "reload after restore failed");
                                }
                            }
                        });
                    }
                }
            }
        }
    }

    #[must_use]
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Vector tile state: the count pyramid, the basemap, data versions, the tile cache.
    #[must_use]
    pub fn tiles(&self) -> &crate::tiles::TileState {
        &self.inner.tiles
    }

    /// Sign-in limits and account facts kept in memory.
    #[must_use]
    pub fn auth(&self) -> &AuthState {
        &self.inner.auth
    }

    /// The category table (a snapshot; category edits swap in a new table).
    #[must_use]
    pub fn categories(&self) -> Arc<CategoryTable> {
        self.inner.categories.read().clone()
    }

    /// Read access to the problems in memory.
    pub fn problems(&self) -> parking_lot::RwLockReadGuard<'_, Problems> {
        self.inner.problems.read()
    }

    /// Read access to the zones in memory.
    pub fn zones(&self) -> parking_lot::RwLockReadGuard<'_, Zones> {
        self.inner.zones.read()
    }

    /// A handle that does not keep the state alive (for background tasks).
    pub(crate) fn downgrade(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    /// The state behind a handle from [`AppState::downgrade`], while it lives.
    pub(crate) fn upgrade(weak: &std::sync::Weak<Inner>) -> Option<AppState> {
        weak.upgrade().map(|inner| AppState { inner })
    }

    /// Closed problems verified no later than `latest_ms` and not re-inspected since:
    /// (problem, verified at, Unix ms).
    #[must_use]
    pub fn awaiting_lookback(&self, latest_ms: i64) -> Vec<(ProblemId, i64)> {
        self.inner
            .lookback
            .lock()
            .iter()
            .filter(|(_, ms)| **ms <= latest_ms)
            .map(|(id, ms)| (*id, *ms))
            .collect()
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

    /// Read access to the points of interest in memory.
    pub fn pois(&self) -> parking_lot::RwLockReadGuard<'_, BTreeMap<PoiId, Poi>> {
        self.inner.pois.read()
    }

    /// Zone assignments `(zone, user)`.
    #[must_use]
    pub fn assignments(&self) -> Vec<(ZoneId, UserId)> {
        self.inner.assignments.read().clone()
    }

    /// Whether the in-memory state is loaded and the server accepts traffic.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Relaxed)
    }

    /// Marks the server as not ready (shutting down): `/readyz` answers 503.
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Relaxed);
    }

    /// Seconds since the state was loaded.
    #[must_use]
    pub fn uptime_s(&self) -> f64 {
        self.inner.started.elapsed().as_secs_f64()
    }

    #[must_use]
    pub fn sizes(&self) -> Sizes {
        Sizes {
            problems: self.inner.problems.read().map.len(),
            zones: self.inner.zones.read().map.len(),
            pois: self.inner.pois.read().len(),
        }
    }

    /// The actor for callers without credentials.
    #[must_use]
    pub fn anonymous(&self, ip: Option<IpAddr>) -> Actor {
        Actor {
            user: None,
            role: self.inner.config.anonymous_role,
            authenticated: false,
            ip,
        }
    }

    /// The zones assigned to `user`, sorted.
    #[must_use]
    pub fn zones_of(&self, user: UserId) -> Vec<ZoneId> {
        let mut z: Vec<ZoneId> = self
            .inner
            .assignments
            .read()
            .iter()
            .filter(|(_, u)| *u == user)
            .map(|(z, _)| *z)
            .collect();
        z.sort_unstable();
        z.dedup();
        z
    }

    /// What `actor` may see and change (see [`crate::scope`]).
    #[must_use]
    pub fn scope(&self, actor: &Actor) -> Scope {
        let assigned = actor.user.map(|u| self.zones_of(u)).unwrap_or_default();
        let street_zones = match (actor.role, actor.user) {
            (Role::StreetOffice, Some(u)) => self
                .inner
                .auth
                .street_of(u)
                .map(|street| self.street_zones(&street))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        Scope::of(actor.role, actor.user, assigned, street_zones)
    }

    /// The zones carrying a street code: `code` equal to it or starting with `{street}-` (the
    /// management grid's cells are coded `{street}-R001C001`).
    #[must_use]
    pub fn street_zones(&self, street: &str) -> Vec<ZoneId> {
        let prefix = format!("{street}-");
        self.inner
            .zones
            .read()
            .map
            .values()
            .filter(|z| {
                z.code
                    .as_deref()
                    .is_some_and(|c| c == street || c.starts_with(&prefix))
            })
            .map(|z| z.id)
            .collect()
    }

    /// Whether the problem `id` exists and is inside `scope`.
    #[must_use]
    pub fn visible(&self, scope: &Scope, id: ProblemId) -> bool {
        let zones = self.inner.zones.read();
        let g = self.inner.problems.read();
        g.map.get(&id).is_some_and(|r| scope.contains(&zones, r))
    }

    /// The ids of the problems in `scope` passing `filter`, sorted; `None` when the scope holds
    /// every problem (see [`Scope::ids`]).
    #[must_use]
    pub fn scoped_ids(&self, scope: &Scope, filter: &Filter) -> Option<Vec<ProblemId>> {
        if scope.sees_everything() {
            return None;
        }
        let zones = self.inner.zones.read();
        let g = self.inner.problems.read();
        let all = self.cached_scope_ids(scope, &g, &zones)?;
        if *filter == Filter::default() {
            return Some(all.to_vec());
        }
        Some(
            all.iter()
                .filter(|id| {
                    g.map
                        .get(id)
                        .is_some_and(|r| spatial::record_matches(filter, **id, r))
                })
                .copied()
                .collect(),
        )
    }

    /// Every problem id of a zone scope, sorted (`None` for scopes that hold every problem):
    /// computed once per data version and scope, since a street office's scope may hold most
    /// problems and its pages are asked for one after the other. Call with both guards held.
    fn cached_scope_ids(
        &self,
        scope: &Scope,
        problems: &Problems,
        zones: &Zones,
    ) -> Option<Arc<Vec<ProblemId>>> {
        let Scope::Zones(z) = scope else {
            return None;
        };
        let version = self.inner.data_version.load(Ordering::Acquire);
        let key = (z.user, z.zones.clone());
        if let Some((v, ids)) = self.inner.scope_cache.lock().map.get(&key)
            && *v == version
        {
            return Some(ids.clone());
        }
        let ids = Arc::new(scope.ids(problems, zones, &Filter::default())?);
        let mut cache = self.inner.scope_cache.lock();
        cache.insert(key, version, ids.clone());
        Some(ids)
    }

    /// `Ok` when the problem exists and is inside `scope`; otherwise the same 404 as for an id
    /// that does not exist, so guessing ids tells nothing.
    pub fn check_visible(&self, scope: &Scope, id: ProblemId) -> Result<(), AppError> {
        if self.visible(scope, id) {
            Ok(())
        } else {
            Err(AppError::NotFound(format!("no problem {id}")))
        }
    }

    /// The problem with this id as `actor` may see it: 404 when it does not exist or lies
    /// outside the actor's scope.
    pub fn problem_for(&self, actor: &Actor, id: ProblemId) -> Result<Problem, AppError> {
        self.check_visible(&self.scope(actor), id)?;
        self.problem(id)
    }

    /// The actor holding this API token, if it is configured.
    #[must_use]
    pub fn actor_for_token(&self, token: &str, ip: Option<IpAddr>) -> Option<Actor> {
        // Compare against every token so the time taken does not depend on which one matched.
        let mut found = None;
        for t in &self.inner.config.api_tokens {
            if secret_eq(&t.token, token) && found.is_none() {
                found = Some(Actor {
                    user: t.user,
                    role: t.role,
                    authenticated: true,
                    ip,
                });
            }
        }
        found
    }

    /// Takes a rate-limit token for an anonymous write; 429 when the caller's bucket is empty.
    pub fn check_rate(&self, actor: &Actor) -> Result<(), AppError> {
        if !actor.rate_limited() {
            return Ok(());
        }
        self.inner.limiter.check(actor.ip).map_err(|retry_after_s| {
            self.inner.metrics.rate_limited();
            AppError::RateLimited { retry_after_s }
        })
    }

    // ---- reads -------------------------------------------------------------------------

    /// The problem with this id, from memory.
    pub fn problem(&self, id: ProblemId) -> Result<Problem, AppError> {
        let table = self.categories();
        let g = self.inner.problems.read();
        g.map
            .get(&id)
            .map(|r| r.to_problem(id, &table))
            .ok_or_else(|| AppError::NotFound(format!("no problem {id}")))
    }

    /// One page of problem ids matching `filter` and every spatial condition in `spatial`
    /// (intersected), in id order, strictly after `after`, at most `limit`. Every problem,
    /// whoever asks: use [`AppState::query_scoped`] for a caller's request.
    pub fn query(
        &self,
        spatial: &[Spatial],
        filter: &Filter,
        after: Option<ProblemId>,
        limit: usize,
    ) -> Result<Page, AppError> {
        self.query_scoped(&Scope::All, spatial, filter, after, limit)
    }

    /// [`AppState::query`] restricted to the problems inside `scope` (a chief's zones, a
    /// street), so list endpoints return nothing outside it and cursors still walk every
    /// visible problem once.
    pub fn query_scoped(
        &self,
        scope: &Scope,
        spatial: &[Spatial],
        filter: &Filter,
        after: Option<ProblemId>,
        limit: usize,
    ) -> Result<Page, AppError> {
        let zones = self.inner.zones.read();
        for s in spatial {
            if let Spatial::Zone(z) = s
                && !zones.map.contains_key(z)
            {
                return Err(AppError::invalid("zone", format!("no zone {z}")));
            }
        }
        let g = self.inner.problems.read();
        let scoped = self.cached_scope_ids(scope, &g, &zones);
        if spatial.is_empty()
            && let Some(all) = &scoped
        {
            drop(zones);
            // Walk the scope's ids from the cursor; the filter is checked per record.
            let unfiltered = *filter == Filter::default();
            let start = after.map_or(0, |a| all.partition_point(|id| *id <= a));
            let mut ids = Vec::with_capacity(limit.min(1024) + 1);
            for id in &all[start..] {
                let keep = unfiltered
                    || g.map
                        .get(id)
                        .is_some_and(|r| spatial::record_matches(filter, *id, r));
                if keep {
                    ids.push(*id);
                    if ids.len() > limit {
                        break;
                    }
                }
            }
            return Ok(paginate(ids, limit, unfiltered.then_some(all.len())));
        }
        if spatial.is_empty() {
            drop(zones);
            // Walk the ordered map from the cursor; the filter is checked per record.
            let mut ids = Vec::with_capacity(limit.min(1024) + 1);
            let start = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
            for (id, r) in g.map.range((start, std::ops::Bound::Unbounded)) {
                if spatial::record_matches(filter, *id, r) {
                    ids.push(*id);
                    if ids.len() > limit {
                        break;
                    }
                }
            }
            return Ok(paginate(ids, limit, None));
        }
        let mut matched: Option<Vec<ProblemId>> = None;
        for s in spatial {
            let mut ids = spatial::query(&g.index, &zones.index, s, filter)?;
            ids.sort_unstable();
            matched = Some(match matched {
                None => ids,
                Some(prev) => intersect_sorted(&prev, &ids),
            });
        }
        drop(zones);
        let mut all = matched.unwrap_or_default();
        if let Some(scoped) = &scoped {
            all = intersect_sorted(&all, scoped);
        }
        let total = all.len();
        let start = after.map_or(0, |a| all.partition_point(|id| *id <= a));
        let ids: Vec<ProblemId> = all[start..].iter().take(limit + 1).copied().collect();
        Ok(paginate(ids, limit, Some(total)))
    }

    /// The event log of a problem as `actor` may see it (404 outside its scope), oldest first.
    pub async fn history_for(&self, actor: &Actor, id: ProblemId) -> Result<Vec<Event>, AppError> {
        self.check_visible(&self.scope(actor), id)?;
        self.history(id).await
    }

    /// The event log of a problem, oldest first.
    pub async fn history(&self, id: ProblemId) -> Result<Vec<Event>, AppError> {
        // 404 for ids never seen, rather than an empty history.
        if !self.inner.problems.read().map.contains_key(&id) {
            return Err(AppError::NotFound(format!("no problem {id}")));
        }
        Ok(self.inner.store.events_for(id).await?)
    }

    // ---- writes ------------------------------------------------------------------------

    /// Validates a report, stores it with its `created` event and adds it to memory.
    pub async fn create_problem(
        &self,
        report: NewProblem,
        actor: &Actor,
        note: String,
    ) -> Result<Problem, AppError> {
        self.create_problem_with_photos(report, actor, note, Vec::new())
            .await
    }

    /// [`AppState::create_problem`] with photos (uploaded before with `POST /api/v1/photos`)
    /// attached to the `created` event. The reporter's photos are evidence for staff; public
    /// outputs never show them.
    pub async fn create_problem_with_photos(
        &self,
        report: NewProblem,
        actor: &Actor,
        note: String,
        photos: Vec<String>,
    ) -> Result<Problem, AppError> {
        let table = self.categories();
        let now = now_ms();
        let mut p = report.validate(&table, actor.user, now)?;
        self.check_photos(&photos).await?;
        self.check_rate(actor)?;
        let mut data = serde_json::json!({"via": "api"});
        self.link_recurrence(&mut p, now, &mut data);
        let ev = NewEvent {
            kind: EventKind::Created,
            actor: actor.user,
            at: now,
            note,
            photos,
            data,
        };
        self.inner.store.insert_problem(&p, ev).await?;
        Ok(self.dispatch_new(p).await)
    }

    /// Validates and stores a report created through Open311 (`via` names the channel).
    pub async fn create_problem_via(
        &self,
        report: NewProblem,
        actor: &Actor,
        data: serde_json::Value,
    ) -> Result<Problem, AppError> {
        let table = self.categories();
        let now = now_ms();
        let mut p = report.validate(&table, actor.user, now)?;
        self.check_rate(actor)?;
        let mut data = data;
        self.link_recurrence(&mut p, now, &mut data);
        let ev = NewEvent {
            kind: EventKind::Created,
            actor: actor.user,
            at: now,
            note: String::new(),
            photos: Vec::new(),
            data,
        };
        self.inner.store.insert_problem(&p, ev).await?;
        Ok(self.dispatch_new(p).await)
    }

    /// Applies a lifecycle action. `expected_version` must be the current version (else 409
    /// naming the current one); an action the status does not allow is a 409 listing the
    /// allowed ones.
    pub async fn transition(
        &self,
        id: ProblemId,
        action: Action,
        expected_version: i64,
        details: TransitionDetails,
        actor: &Actor,
    ) -> Result<Problem, AppError> {
        let table = self.categories();
        let scope = self.scope(actor);
        self.check_visible(&scope, id)?;
        let current = self.problem(id)?;
        check_version(&current, expected_version)?;
        let now = now_ms();
        let mut next = current.clone();
        next.transition(action, now)?;
        let mut data = serde_json::Map::new();
        data.insert("from".into(), current.status.as_str().into());
        data.insert("to".into(), next.status.as_str().into());
        match action {
            Action::Dispatch => {
                self.dispatch_details(&details, &table, &mut next, now, &mut data)?;
            }
            Action::Merge => {
                let into = details.into.ok_or_else(|| {
                    AppError::invalid("into", "merge needs the id of the problem to merge into")
                })?;
                if into == id {
                    return Err(AppError::invalid(
                        "into",
                        "a problem cannot be merged into itself",
                    ));
                }
                let target = self
                    .check_visible(&scope, into)
                    .and_then(|()| self.problem(into))
                    .map_err(|_| AppError::invalid("into", format!("no problem {into}")))?;
                if target.status == Status::Merged {
                    return Err(AppError::invalid(
                        "into",
                        format!(
                            "{into} is itself merged; merge into {}",
                            target
                                .merged_into
                                .map_or_else(String::new, |m| m.to_string())
                        ),
                    ));
                }
                next.merged_into = Some(into);
                data.insert("into".into(), into.to_string().into());
            }
            Action::Reject => {
                if details.note.trim().is_empty() {
                    return Err(AppError::invalid(
                        "note",
                        "a rejection needs a reason in note",
                    ));
                }
            }
            Action::Verify => {
                if let Some(user) = actor.user {
                    let events = self.inner.store.events_for(id).await?;
                    let fixer = events
                        .iter()
                        .rev()
                        .find(|e| e.kind == EventKind::Rectified)
                        .and_then(|e| e.actor);
                    if fixer == Some(user) {
                        return Err(AppError::Forbidden(
                            "verification must be done by someone other than the one who rectified"
                                .into(),
                        ));
                    }
                }
            }
            Action::Rectify => self.check_rectification(&details)?,
            Action::Escalate => self.escalation_target(&mut next, &mut data),
            Action::Recur => {}
        }
        let note = civmap_domain::error::validate_text("note", &details.note, 2000, false)?;
        self.check_photos(&details.photos).await?;
        let ev = NewEvent {
            kind: EventKind::from(action),
            actor: actor.user,
            at: now,
            note,
            photos: details.photos,
            data: serde_json::Value::Object(data),
        };
        self.inner
            .store
            .update_problem(&next, expected_version, ev)
            .await?;
        if action == Action::Merge {
            self.record_merge(&next, actor).await;
        }
        Ok(next)
    }

    /// Chooses zone, chief and deadline of a dispatch: as given, else the chief assigned to the
    /// most specific zone containing the problem and the category's deadline.
    fn dispatch_details(
        &self,
        details: &TransitionDetails,
        table: &CategoryTable,
        next: &mut Problem,
        now: DateTime<Utc>,
        data: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), AppError> {
        let (zone, assignee) = match (details.zone, details.assignee) {
            (zone, Some(user)) => (zone.or_else(|| self.best_zone(next)), Some(user)),
            (Some(zone), None) => (Some(zone), self.assignee_of(zone)),
            (None, None) => self.auto_dispatch(next),
        };
        if let Some(z) = zone
            && !self.inner.zones.read().map.contains_key(&z)
        {
            return Err(AppError::invalid("zone", format!("no zone {z}")));
        }
        let deadline = match details.deadline {
            Some(d) if d <= now => {
                return Err(AppError::invalid("deadline", "the deadline is in the past"));
            }
            Some(d) => crate::record::from_ms(crate::record::to_ms(d)),
            None => default_deadline(&self.inner.calendar, table, next, now),
        };
        next.zone = zone;
        next.assignee = assignee;
        next.deadline = Some(deadline);
        data.insert(
            "zone".into(),
            serde_json::to_value(zone).unwrap_or_default(),
        );
        data.insert(
            "assignee".into(),
            serde_json::to_value(assignee).unwrap_or_default(),
        );
        data.insert("deadline".into(), crate::record::rfc3339(deadline).into());
        Ok(())
    }

    /// Edits description, category, severity or location (an `edited` event listing the
    /// changes). Merged problems are final and cannot be edited (409).
    pub async fn edit(
        &self,
        id: ProblemId,
        edit: Edit,
        actor: &Actor,
    ) -> Result<Problem, AppError> {
        let table = self.categories();
        self.check_visible(&self.scope(actor), id)?;
        let current = self.problem(id)?;
        check_version(&current, edit.version)?;
        if current.status == Status::Merged {
            return Err(AppError::Conflict {
                message: format!("problem {id} is merged into another and cannot be edited"),
                current_version: Some(current.version),
            });
        }
        let mut next = current.clone();
        let mut changed = serde_json::Map::new();
        let mut change = |field: &str, from: serde_json::Value, to: serde_json::Value| {
            if from != to {
                changed.insert(field.into(), serde_json::json!({"from": from, "to": to}));
            }
        };
        if let Some(d) = edit.description {
            let d = civmap_domain::error::validate_text(
                "description",
                &d,
                civmap_domain::problem::MAX_DESCRIPTION_CHARS,
                false,
            )?;
            change(
                "description",
                current.description.clone().into(),
                d.clone().into(),
            );
            next.description = d;
        }
        if let Some(c) = edit.category {
            table.id(&c)?;
            change(
                "category",
                current.category.clone().into(),
                c.clone().into(),
            );
            next.category = c;
        }
        if let Some(s) = edit.severity {
            change(
                "severity",
                current.severity.as_str().into(),
                s.as_str().into(),
            );
            next.severity = s;
        }
        if let Some(loc) = edit.location {
            change(
                "location",
                serde_json::json!(current.location.to_array()),
                serde_json::json!(loc.to_array()),
            );
            next.location = loc;
        }
        if changed.is_empty() {
            return Err(AppError::invalid("body", "nothing to change"));
        }
        let now = now_ms();
        next.updated_at = now;
        next.version += 1;
        let note = civmap_domain::error::validate_text("note", &edit.note, 2000, false)?;
        let ev = NewEvent {
            kind: EventKind::Edited,
            actor: actor.user,
            at: now,
            note,
            photos: Vec::new(),
            data: serde_json::json!({ "changed": changed }),
        };
        self.inner
            .store
            .update_problem(&next, edit.version, ev)
            .await?;
        Ok(next)
    }

    /// Puts committed problems into memory, unless memory already has a newer version.
    fn remember(&self, problems: &[Problem]) {
        let mut table = self.categories();
        if let Some(p) = problems
            .iter()
            .find(|p| table.by_code(&p.category).is_none())
        {
            // Written by another part of the program (an import) with a code this table lacks.
            tracing::warn!(category = %p.category, "committed problem with an unknown category; adding placeholders");
            let mut t = (*table).clone();
            for p in problems {
                if t.by_code(&p.category).is_none()
                    && merge_category(&mut t, &placeholder_category(&p.category)).is_err()
                {
                    tracing::error!(category = %p.category, "cannot add a placeholder category");
                }
            }
            table = Arc::new(t);
            *self.inner.categories.write() = table.clone();
        }
        let mut g = self.inner.problems.write();
        let Problems { map, index } = &mut *g;
        for p in problems {
            let Some(record) = Record::from_problem(p, &table) else {
                continue;
            };
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

    pub(crate) async fn check_photos(&self, photos: &[String]) -> Result<(), AppError> {
        if photos.len() > 20 {
            return Err(AppError::invalid("photos", "at most 20 photos per step"));
        }
        for (i, h) in photos.iter().enumerate() {
            let ok = h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
            if !ok {
                return Err(AppError::invalid(
                    format!("photos[{i}]"),
                    "expected the SHA-256 hex id of an uploaded photo",
                ));
            }
            if self.inner.store.photo_meta(h).await?.is_none() {
                return Err(AppError::invalid(
                    format!("photos[{i}]"),
                    format!("no photo {h}"),
                ));
            }
        }
        Ok(())
    }

    /// The most specific zone containing the problem that has a chief assigned, and that chief;
    /// else the most specific containing zone and nobody.
    pub(crate) fn auto_dispatch(&self, p: &Problem) -> (Option<ZoneId>, Option<UserId>) {
        let candidates = self.containing_zones(p.location.lon(), p.location.lat());
        for z in &candidates {
            if let Some(u) = self.assignee_of(*z) {
                return (Some(*z), Some(u));
            }
        }
        (candidates.first().copied(), None)
    }

    fn best_zone(&self, p: &Problem) -> Option<ZoneId> {
        self.containing_zones(p.location.lon(), p.location.lat())
            .first()
            .copied()
    }

    /// Zones containing a WGS-84 position, most specific first (point, road, surroundings,
    /// area, grid cell), ties by id.
    #[must_use]
    pub fn containing_zones(&self, lon: f64, lat: f64) -> Vec<ZoneId> {
        let Ok(p) = civmap_domain::LonLat::new(lon, lat) else {
            return Vec::new();
        };
        let g = self.inner.zones.read();
        let mut hits = g.index.zones_at(p);
        let w = &self.inner.config.workflow;
        hits.sort_by_key(|h| (w.dispatch_rank(h.kind), h.id));
        hits.into_iter().map(|h| h.id).collect()
    }

    pub(crate) fn assignee_of(&self, zone: ZoneId) -> Option<UserId> {
        self.inner
            .assignments
            .read()
            .iter()
            .filter(|(z, _)| *z == zone)
            .map(|(_, u)| *u)
            .min()
    }

    // ---- zones, points of interest, categories, assignments ------------------------------

    /// Stores a zone (insert or replace by id); memory follows through the commit hook. The
    /// geometry is checked by the zone index first (422 for an empty or zero-area one).
    pub async fn put_zone(&self, zone: Zone) -> Result<(), AppError> {
        ZoneIndex::new()
            .insert(zone.id, zone.kind, zone.geometry.clone())
            .map_err(|e| AppError::invalid("geometry", e))?;
        self.inner.store.upsert_zone(&zone).await?;
        Ok(())
    }

    /// Deletes a zone and its assignments.
    pub async fn delete_zone(&self, id: ZoneId) -> Result<(), AppError> {
        if !self.inner.zones.read().map.contains_key(&id) {
            return Err(AppError::NotFound(format!("no zone {id}")));
        }
        self.inner.store.delete_zone(id).await?;
        Ok(())
    }

    /// Stores a point of interest (insert or replace by id).
    pub async fn put_poi(&self, poi: Poi) -> Result<(), AppError> {
        self.inner.store.upsert_poi(&poi).await?;
        Ok(())
    }

    /// Stores a category (insert or replace by code) and swaps in the new table.
    pub async fn put_category(&self, c: Category) -> Result<(), AppError> {
        let mut table = (*self.categories()).clone();
        merge_category(&mut table, &c)?;
        self.inner.store.upsert_category(&c).await?;
        let table = Arc::new(table);
        *self.inner.categories.write() = table.clone();
        // Whether a category is indoor decides where tiles show its problems.
        self.inner
            .tiles
            .rebuild_problems(&self.inner.problems.read().index, &table);
        Ok(())
    }

    /// Assigns a chief to a zone (404 when the zone or the user does not exist).
    pub async fn assign(&self, zone: ZoneId, user: UserId) -> Result<(), AppError> {
        if !self.inner.zones.read().map.contains_key(&zone) {
            return Err(AppError::NotFound(format!("no zone {zone}")));
        }
        self.inner.store.assign(zone, user).await?;
        Ok(())
    }

    /// Removes a chief from a zone (404 when there was no such assignment).
    pub async fn unassign(&self, zone: ZoneId, user: UserId) -> Result<(), AppError> {
        if !self.inner.store.unassign(zone, user).await? {
            return Err(AppError::NotFound(format!(
                "user {user} is not assigned to zone {zone}"
            )));
        }
        Ok(())
    }
}

/// What a transition may carry besides the version.
#[derive(Debug, Clone, Default)]
pub struct TransitionDetails {
    pub note: String,
    pub photos: Vec<String>,
    pub assignee: Option<UserId>,
    pub zone: Option<ZoneId>,
    pub deadline: Option<DateTime<Utc>>,
    pub into: Option<ProblemId>,
}

/// A validated edit (location already converted to WGS-84).
#[derive(Debug, Clone, Default)]
pub struct Edit {
    pub version: i64,
    pub description: Option<String>,
    pub category: Option<String>,
    pub severity: Option<civmap_domain::Severity>,
    pub location: Option<civmap_domain::LonLat>,
    pub note: String,
}

pub(crate) fn check_version(current: &Problem, expected: i64) -> Result<(), AppError> {
    if current.version != expected {
        return Err(AppError::Conflict {
            message: format!(
                "problem {} is at version {}, not {expected}; reload it and retry",
                current.id, current.version
            ),
            current_version: Some(current.version),
        });
    }
    Ok(())
}

/// The default rectification deadline: the category's working hours on the working-day
/// calendar, from `now`, to the millisecond.
fn default_deadline(
    calendar: &WorkCalendar,
    table: &CategoryTable,
    p: &Problem,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let hours = table.by_code(&p.category).map_or(8, |c| c.deadline_hours);
    crate::record::from_ms(crate::record::to_ms(calendar.add_working_hours(now, hours)))
}

/// Keeps the look-back list: a verification starts the wait, a re-inspection, a recurrence or a
/// merge ends it.
fn note_lookback(
    list: &mut HashMap<ProblemId, i64>,
    id: ProblemId,
    kind: EventKind,
    at: DateTime<Utc>,
) {
    match kind {
        EventKind::Verified => {
            list.insert(id, crate::record::to_ms(at));
        }
        EventKind::Reinspected | EventKind::Recurred | EventKind::Merged => {
            list.remove(&id);
        }
        _ => {}
    }
}

/// The calendar file named in the configuration, else the built-in calendar; warns when it
/// does not list this year's holidays.
fn load_calendar(path: Option<&std::path::Path>) -> Result<WorkCalendar, AppError> {
    let calendar = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                AppError::Internal(format!("cannot read calendar file {}: {e}", path.display()))
            })?;
            WorkCalendar::from_toml(&text)
                .map_err(|e| AppError::Internal(format!("{}: {e}", path.display())))?
        }
        None => WorkCalendar::builtin(),
    };
    let year = chrono::Datelike::year(&Utc::now().with_timezone(&calendar.offset()));
    if !calendar.covers(year) {
        tracing::warn!(
            year,
            "the working-day calendar lists no public holidays for this year: deadlines count them as working days; add them to the calendar file"
        );
    }
    Ok(calendar)
}

fn paginate(mut ids: Vec<ProblemId>, limit: usize, matched: Option<usize>) -> Page {
    let more = ids.len() > limit;
    ids.truncate(limit);
    Page {
        next_after: if more { ids.last().copied() } else { None },
        ids,
        matched,
    }
}

fn intersect_sorted(a: &[ProblemId], b: &[ProblemId]) -> Vec<ProblemId> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Adds or replaces one category in a table (through the table's TOML reader, its only
/// public way in).
fn merge_category(table: &mut CategoryTable, c: &Category) -> Result<(), AppError> {
    #[derive(Serialize)]
    struct File<'a> {
        category: [&'a Category; 1],
    }
    let text = toml::to_string(&File { category: [c] })
        .map_err(|e| AppError::Internal(format!("category to TOML: {e}")))?;
    table.merge_toml(&text).map_err(|e| match e {
        civmap_domain::DomainError::Validation(v) => AppError::from(v),
        other => AppError::invalid("category", other),
    })
}

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

/// Roles that may manage zones, points of interest, categories and assignments.
pub const MANAGERS: &[Role] = &[Role::Admin, Role::StreetOffice];

/// Staff: every role that works on problems (everyone but reporters and the public).
pub const STAFF: &[Role] = &[
    Role::Admin,
    Role::StreetOffice,
    Role::AreaChief,
    Role::RoadChief,
    Role::PointChief,
];

/// Roles allowed to perform `action`. Which problems they may perform it on is their scope
/// ([`AppState::scope`]): a chief's zones, a street office's street.
#[must_use]
pub fn roles_for(action: Action) -> &'static [Role] {
    use Role::{Admin, AreaChief, StreetOffice};
    match action {
        Action::Dispatch | Action::Merge | Action::Verify | Action::Reject => {
            &[Admin, StreetOffice, AreaChief]
        }
        Action::Escalate | Action::Rectify | Action::Recur => STAFF,
    }
}

/// Roles that may edit a problem's fields.
pub const EDITORS: &[Role] = &[Role::Admin, Role::StreetOffice, Role::AreaChief];
