//! Reads of problems: one by id, pages of ids matching spatial conditions and a filter within
//! a caller's scope (cursor pagination in id order), the ids of a scope, and histories.

use std::collections::HashMap;
use std::sync::Arc;

use civmap_domain::{Event, Problem, ProblemId};
use civmap_index::Filter;

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;
use crate::memory::record::Record;
use crate::memory::{Problems, Zones};
use crate::scope::Scope;
use crate::spatial::{self, Spatial};

/// A page of problem ids in id order, and the cursor of the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub ids: Vec<ProblemId>,
    /// The last id of this page when more follow.
    pub next_after: Option<ProblemId>,
    /// Total matches, when known without a full scan.
    pub matched: Option<usize>,
    /// The records of the page's cold problems (read from the database: `crate::cold`); the
    /// others are in memory.
    pub cold: HashMap<ProblemId, Record>,
}

impl App {
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
        let version = self.data_version();
        let key = (z.user, z.zones.clone());
        if let Some(ids) = self.inner.scope_cache.lock().get(&key, version) {
            return Some(ids);
        }
        let ids = Arc::new(scope.ids(problems, zones, &Filter::default())?);
        let mut cache = self.inner.scope_cache.lock();
        cache.insert(key, version, ids.clone());
        Some(ids)
    }

    /// The problem with this id as `actor` may see it, hot or cold (`crate::cold`): `NotFound`
    /// when it does not exist or lies outside the actor's scope.
    pub async fn problem_for(&self, actor: &Actor, id: ProblemId) -> Result<Problem, ServiceError> {
        self.check_visible_any(&self.scope(actor), id).await?;
        self.fetch_problem(id).await
    }

    /// The problem with this id, from memory.
    pub fn problem(&self, id: ProblemId) -> Result<Problem, ServiceError> {
        let table = self.categories();
        let g = self.inner.problems.read();
        g.map
            .get(&id)
            .map(|r| r.to_problem(id, &table))
            .ok_or_else(|| ServiceError::NotFound(format!("no problem {id}")))
    }

    /// One page of problem ids matching `filter` and every spatial condition in `spatial`
    /// (intersected), in id order, strictly after `after`, at most `limit`. Every problem,
    /// whoever asks: use [`App::query_scoped`] for a caller's request.
    pub fn query(
        &self,
        spatial: &[Spatial],
        filter: &Filter,
        after: Option<ProblemId>,
        limit: usize,
    ) -> Result<Page, ServiceError> {
        self.query_scoped(&Scope::All, spatial, filter, after, limit)
    }

    /// [`App::query`] restricted to the problems inside `scope` (a chief's zones, a
    /// street), so list endpoints return nothing outside it and cursors still walk every
    /// visible problem once.
    pub fn query_scoped(
        &self,
        scope: &Scope,
        spatial: &[Spatial],
        filter: &Filter,
        after: Option<ProblemId>,
        limit: usize,
    ) -> Result<Page, ServiceError> {
        let zones = self.inner.zones.read();
        for s in spatial {
            if let Spatial::Zone(z) = s
                && !zones.map.contains_key(z)
            {
                return Err(ServiceError::invalid("zone", format!("no zone {z}")));
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

    /// [`App::query_scoped`] over hot and cold problems: when the filter names a report-time
    /// range reaching before the hot window ([`App::reaches_cold`]), the cold problems matching
    /// are read from the database (inside the box of the first spatial condition, through its
    /// spatial index), tested with the same index code as memory's, and merged into the page in
    /// id order; their records come with the page. Otherwise the memory's answer.
    pub async fn query_scoped_any(
        &self,
        scope: &Scope,
        spatial: &[Spatial],
        filter: &Filter,
        after: Option<ProblemId>,
        limit: usize,
    ) -> Result<Page, ServiceError> {
        let hot = self.query_scoped(scope, spatial, filter, after, limit)?;
        if !self.reaches_cold(filter) {
            return Ok(hot);
        }
        // Read after memory (`crate::cold`); every cold match, so the total is known.
        let cold = self.cold_candidates(spatial, filter, None).await?;
        let zones = self.inner.zones.read();
        let mut matched: Option<Vec<ProblemId>> = None;
        for s in spatial {
            let mut ids = spatial::query(&cold.index, &zones.index, s, filter)?;
            ids.sort_unstable();
            matched = Some(match matched {
                None => ids,
                Some(prev) => intersect_sorted(&prev, &ids),
            });
        }
        let mut ids = matched.unwrap_or_else(|| {
            let mut ids: Vec<ProblemId> = cold
                .records
                .iter()
                .filter(|(id, r)| spatial::record_matches(filter, **id, r))
                .map(|(id, _)| *id)
                .collect();
            ids.sort_unstable();
            ids
        });
        ids.retain(|id| {
            cold.records
                .get(id)
                .is_some_and(|r| scope.contains(&zones, r))
        });
        drop(zones);
        let cold_total = ids.len();
        let start = after.map_or(0, |a| ids.partition_point(|id| *id <= a));
        // The hot page holds the first `limit` hot ids after the cursor: merged with the cold
        // ones, the first `limit` of the union are the page (any hot id not returned lies
        // after the last one returned).
        let merged = union_sorted(&hot.ids, &ids[start..]);
        let more = merged.len() > limit || hot.next_after.is_some();
        let page_ids: Vec<ProblemId> = merged.into_iter().take(limit).collect();
        let mut records = cold.records;
        let cold_records: HashMap<ProblemId, Record> = page_ids
            .iter()
            .filter_map(|id| records.remove_entry(id))
            .collect();
        Ok(Page {
            next_after: if more { page_ids.last().copied() } else { None },
            ids: page_ids,
            matched: hot.matched.map(|m| m + cold_total),
            cold: cold_records,
        })
    }

    /// The event log of a problem as `actor` may see it (404 outside its scope), oldest first.
    pub async fn history_for(
        &self,
        actor: &Actor,
        id: ProblemId,
    ) -> Result<Vec<Event>, ServiceError> {
        self.check_visible_any(&self.scope(actor), id).await?;
        self.history(id).await
    }

    /// The event log of a problem, hot or cold, oldest first.
    pub async fn history(&self, id: ProblemId) -> Result<Vec<Event>, ServiceError> {
        let events = self.inner.store.events_for(id).await?;
        // 404 for ids never seen, rather than an empty history (every problem has its
        // `created` event).
        if events.is_empty() && self.fetch_record(id).await?.is_none() {
            return Err(ServiceError::NotFound(format!("no problem {id}")));
        }
        Ok(events)
    }
}

fn paginate(mut ids: Vec<ProblemId>, limit: usize, matched: Option<usize>) -> Page {
    let more = ids.len() > limit;
    ids.truncate(limit);
    Page {
        next_after: if more { ids.last().copied() } else { None },
        ids,
        matched,
        cold: HashMap::new(),
    }
}

/// The union of two sorted lists of ids, sorted, each id once.
fn union_sorted(a: &[ProblemId], b: &[ProblemId]) -> Vec<ProblemId> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
                *x
            }
            (Some(x), Some(y)) if x < y => {
                i += 1;
                *x
            }
            (Some(_) | None, Some(y)) => {
                j += 1;
                *y
            }
            (Some(x), None) => {
                i += 1;
                *x
            }
            (None, None) => break,
        };
        out.push(next);
    }
    out
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
