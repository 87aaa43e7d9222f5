//! Hot and cold (issue 16): memory holds the hot set — open problems, and closed or merged ones
//! whose row changed at or after the hot window's start — and the rest is read from SQL when a
//! read concerns it.
//!
//! The window's start (`hot_since`) is one number per replica: set at load to now minus
//! `[memory] hot_days`, moved forward by the eviction pass (every `[memory] evict_every_s`, on
//! every replica: each evicts from its own memory), which drops the problems that aged out. A
//! cold problem that changes (a look-back reopens it, an edit) is hot again by that rule (its row
//! changed now) and comes back through the commit hook or the follower like any write.
//!
//! Reads: by id and by case number, memory first, then the database by key. Reads over many
//! problems (a zone's ledger, a past period's assessment, items with a past date range) take the
//! memory's answer, then read the database's cold problems (`civmap_store::ColdQuery`) *after*
//! it — so a problem evicted meanwhile is read from SQL, never lost — and keep those not in
//! memory (by id), then run the same code over both.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use civmap_domain::{Problem, ProblemId};
use civmap_index::{Filter, ProblemIndex};
use civmap_store::{ColdQuery, LonLatBox};

use crate::app::App;
use crate::error::ServiceError;
use crate::memory::record::Record;
use crate::scope::Scope;
use crate::spatial::{self, BBox, Spatial};
use crate::time::{from_ms, to_ms};

/// Cold problems read from SQL for one request, by id, with the spatial index over them, so
/// spatial conditions are answered by the same index code as for memory.
#[derive(Debug, Default)]
pub struct ColdSet {
    pub records: HashMap<ProblemId, Record>,
    pub index: ProblemIndex,
}

impl App {
    /// The start of the hot window: a closed or merged problem whose row changed before it is
    /// cold (in the database only).
    #[must_use]
    pub fn hot_since(&self) -> DateTime<Utc> {
        from_ms(self.inner.hot_since_ms.load(Ordering::Acquire))
    }

    /// Where the hot window starts if it were moved now: `now` minus `[memory] hot_days`.
    #[must_use]
    pub fn window_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(i64::from(self.config().memory.hot_days))
    }

    /// Whether memory holds the problem now.
    #[must_use]
    pub fn in_memory(&self, id: ProblemId) -> bool {
        self.inner.problems.read().map.contains_key(&id)
    }

    /// The eviction pass: moves the hot window's start to `since` (never backwards) and drops
    /// from memory the closed and merged problems whose row changed before it. Returns how many
    /// left memory.
    pub fn evict_before(&self, since: DateTime<Utc>) -> usize {
        let table = self.categories();
        let since_ms = to_ms(since);
        let mut g = self.inner.problems.write();
        // Moved first, under the write lock: a read that misses memory from now on asks SQL
        // with this start, which includes every problem dropped below.
        let since_ms = self
            .inner
            .hot_since_ms
            .fetch_max(since_ms, Ordering::AcqRel)
            .max(since_ms);
        let is_cold = |r: &Record| !r.status.is_open() && r.updated_ms < since_ms;
        if !g.map.values().any(is_cold) {
            return 0;
        }
        let evicted = g.map.retain(|_, r| !is_cold(r));
        let index = match spatial::build_index(g.map.iter()) {
            Ok(index) => index,
            Err(e) => {
                tracing::error!(error = %e.chain(), "rebuilding the problem index after eviction failed; reloading");
                self.reload_soon();
                return evicted;
            }
        };
        g.index = index;
        let crate::memory::Problems { map, by_case, .. } = &mut *g;
        by_case.retain(|_, id| map.contains_key(id));
        self.inner.tiles.rebuild_problems(&g.index, &table);
        drop(g);
        self.inner.data_version.fetch_add(1, Ordering::AcqRel);
        tracing::info!(
            evicted,
            hot_since = %crate::time::rfc3339(from_ms(since_ms)),
            "problems aged out of the hot window left memory"
        );
        evicted
    }

    /// Reloads memory on a task of its own (after an eviction could not rebuild the index).
    fn reload_soon(&self) {
        let me = self.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = me.reload().await {
                    tracing::error!(error = %e.chain(), "reload failed");
                }
            });
        }
    }

    /// Starts the eviction pass, every `[memory] evict_every_s`, on every replica.
    pub(crate) fn start_eviction(&self) {
        let every = self.config().memory.evict_every_s;
        if every == 0 || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let weak = self.downgrade();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(StdDuration::from_secs(every));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(app) = weak.upgrade() else {
                    return;
                };
                if app.is_ready() {
                    app.evict_before(app.window_start(Utc::now()));
                }
            }
        });
    }

    /// A problem's compact record: from memory, else (a cold problem) read from the database.
    /// `None` when it does not exist.
    pub async fn fetch_record(&self, id: ProblemId) -> Result<Option<Record>, ServiceError> {
        if let Some(r) = self.inner.problems.read().map.get(&id) {
            return Ok(Some(r.clone()));
        }
        let Some(p) = self.store().get_problem(id).await? else {
            return Ok(None);
        };
        Ok(Some(self.record_of(&p)?))
    }

    /// A problem, from memory, else (a cold problem) from the database.
    pub async fn fetch_problem(&self, id: ProblemId) -> Result<Problem, ServiceError> {
        if let Ok(p) = self.problem(id) {
            return Ok(p);
        }
        self.store()
            .get_problem(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no problem {id}")))
    }

    /// Whether the problem exists (hot or cold) and lies inside `scope`.
    pub async fn fetch_visible(&self, scope: &Scope, id: ProblemId) -> Result<bool, ServiceError> {
        let Some(r) = self.fetch_record(id).await? else {
            return Ok(false);
        };
        let zones = self.inner.zones.read();
        Ok(scope.contains(&zones, &r))
    }

    /// `Ok` when the problem exists (hot or cold) and is inside `scope`; otherwise the same
    /// `NotFound` as for an id that does not exist.
    pub async fn check_visible_any(
        &self,
        scope: &Scope,
        id: ProblemId,
    ) -> Result<(), ServiceError> {
        if self.fetch_visible(scope, id).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!("no problem {id}")))
        }
    }

    /// The compact record of a problem read from the database; a category this table lacks gets
    /// a placeholder first, as at load.
    pub(crate) fn record_of(&self, p: &Problem) -> Result<Record, ServiceError> {
        let table = self.table_for(std::slice::from_ref(p));
        Record::from_problem(p, &table)
            .ok_or_else(|| ServiceError::bug("a category vanished from the table"))
    }

    /// The cold problems `q` names that memory does not hold, with an index over them. Call
    /// after reading memory (see the module documentation).
    pub async fn cold_set(&self, q: &ColdQuery) -> Result<ColdSet, ServiceError> {
        let rows = self.store().cold_problems(q).await?;
        self.cold_set_of(&rows)
    }

    /// [`ColdSet`] of problems read from the database, leaving out those memory holds.
    pub(crate) fn cold_set_of(&self, rows: &[Problem]) -> Result<ColdSet, ServiceError> {
        let table = self.table_for(rows);
        let g = self.inner.problems.read();
        let records: HashMap<ProblemId, Record> = rows
            .iter()
            .filter(|p| !g.map.contains_key(&p.id))
            .filter_map(|p| Some((p.id, Record::from_problem(p, &table)?)))
            .collect();
        drop(g);
        let index = spatial::build_index(records.iter())?;
        Ok(ColdSet { records, index })
    }

    /// Whether a query with this filter reaches before the hot window: it names a report-time
    /// range (a query without one concerns the present, which memory holds) and the range
    /// starts before the window (a cold problem was reported before its last change, which
    /// is before the window's start).
    #[must_use]
    pub fn reaches_cold(&self, filter: &Filter) -> bool {
        let named = filter.reported_from_ms.is_some() || filter.reported_before_ms.is_some();
        named
            && filter
                .reported_from_ms
                .is_none_or(|from| from < to_ms(self.hot_since()))
    }

    /// The cold problems a query may match: reported in the filter's range, inside the box of
    /// its first spatial condition, after `after`.
    pub async fn cold_candidates(
        &self,
        spatial_conditions: &[Spatial],
        filter: &Filter,
        after: Option<ProblemId>,
    ) -> Result<ColdSet, ServiceError> {
        let within = spatial_conditions.first().map(|s| self.box_of(s));
        let q = ColdQuery {
            within,
            reported_from: filter.reported_from_ms.map(from_ms),
            reported_before: filter.reported_before_ms.map(from_ms),
            after,
            ..ColdQuery::new(self.hot_since())
        };
        self.cold_set(&q).await
    }

    /// A box holding every point a spatial condition can match.
    pub(crate) fn box_of(&self, s: &Spatial) -> LonLatBox {
        let b = match s {
            Spatial::BBox(b) => *b,
            Spatial::Circle(c) => {
                // A little more than the radius: the exact test is the index's.
                let dlat = c.radius_m * CIRCLE_MARGIN / civmap_index::METRES_PER_DEGREE;
                let dlon = dlat / c.lat.to_radians().cos().max(1e-6);
                BBox {
                    min_lon: c.lon - dlon,
                    min_lat: c.lat - dlat,
                    max_lon: c.lon + dlon,
                    max_lat: c.lat + dlat,
                }
            }
            Spatial::Polygon(mp) => spatial::bounds(mp).unwrap_or_else(empty_box),
            Spatial::Zone(z) => self
                .zones()
                .map
                .get(z)
                .and_then(|z| spatial::bounds(&z.geometry))
                .unwrap_or_else(empty_box),
        };
        LonLatBox {
            min_lon: b.min_lon,
            min_lat: b.min_lat,
            max_lon: b.max_lon,
            max_lat: b.max_lat,
        }
    }
}

/// How much wider than its radius the box around a circle is read (the haversine distance and
/// the degrees-per-metre approximation differ by far less).
const CIRCLE_MARGIN: f64 = 1.01;

/// A box no point is in.
fn empty_box() -> BBox {
    BBox {
        min_lon: 1.0,
        min_lat: 1.0,
        max_lon: -1.0,
        max_lat: -1.0,
    }
}
