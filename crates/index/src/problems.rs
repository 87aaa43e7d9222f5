//! [`ProblemIndex`]: problem points by id and by place.
//!
//! ## Parts
//!
//! The points live in up to three parts, each id alive in exactly one of them:
//!
//! - the **packed** part ([`Packed`]): flat arrays in Hilbert order under a static tree, built at
//!   once by `bulk_load` or a merge and shared (`Arc`) with a merge running beside the index;
//!   never changed: a removal marks the position dead in [`ProblemIndex::dead`];
//! - the **live** part ([`Dynamic`]): an R-tree of what was inserted, moved or changed since;
//! - while a merge runs, the **frozen** part: the live part as it was when the merge started
//!   (what the merge folds in), read-only and shared, with tombstones of its own.
//!
//! A change to a point of the packed or frozen part (a move, a new status) is a tombstone there
//! and an insert into the live part, so neither shared part is ever written.
//!
//! ## Merging
//!
//! Once the live part and the tombstones together reach [`MERGE_FRACTION`] of the packed part
//! (at least [`MERGE_MIN`]), the live points and the packed points that are alive are packed
//! anew. Rebuilding a million points takes about as long as a bulk load (tens of ms): so that no
//! caller waits for it, a merge of more than [`MERGE_INLINE_MAX`] points runs on a thread of
//! its own, from snapshots (the shared packed and frozen parts and a copy of the tombstones),
//! while the index goes on answering and changing. Changes meanwhile go to a new live part, and
//! the ids tombstoned in the packed or frozen part are noted; the first change after the
//! thread has finished swaps the new packed part in and marks those ids dead in it (one lookup
//! each, a few microseconds in all). Small merges run in place: they take under a millisecond.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::thread::JoinHandle;

use civmap_domain::{LonLat, ProblemId};
use geo::{MultiPolygon, Polygon};

use crate::dynamic::{Dynamic, nearest_leaves, visit_circle, visit_prepared};
use crate::error::IndexError;
use crate::filter::Filter;
use crate::geodesy::{BBox, HaversineFrom, circle_boxes};
use crate::nearest::Knn;
use crate::packed::{Count, Each, Ids, Packed, Sink, Tombstones};
use crate::record::{Leaf, PointRecord, PointUpdate};
use crate::region::{Prepared, Region};
use crate::zones::ZoneIndex;

/// A merge starts once the live part and the tombstones hold at least this many points...
pub(crate) const MERGE_MIN: usize = 64;
/// ... and at least 1/`MERGE_FRACTION` of the packed part: the live R-tree costs about twice
/// the bytes of a packed point and is slower to query, so it is kept to a small share; and each
/// point is rebuilt about `MERGE_FRACTION` times over a life of inserts, on the merge thread.
pub(crate) const MERGE_FRACTION: usize = 16;
/// Once a merge thread has finished, each change marks up to this many of the ids taken out
/// meanwhile dead in the new packed part (one lookup each, ~0.3 µs), until all are and it is
/// swapped in: marking them all at once took 30 ms after 60,000 changes during one merge.
pub(crate) const MARK_PER_CHANGE: usize = 64;
/// Merges of at most this many points run in place (about 0.3 ms); larger ones on a thread.
/// The crate's unit tests run every merge on a thread, to exercise that path on small data.
pub(crate) const MERGE_INLINE_MAX: usize = if cfg!(test) { 0 } else { 4_096 };

/// A problem found by a distance query, with its haversine distance in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    pub id: ProblemId,
    /// Great-circle metres from the query point ([`crate::geodesy::haversine_m`]).
    pub distance_m: f64,
}

/// The in-memory spatial index of problem points.
///
/// Positions are WGS-84 lon/lat degrees (exact `f64`), distances haversine metres, times Unix
/// milliseconds. Insert, update and remove are `O(log n)`; queries return ids (or compact
/// records) of the problems that lie in a region and pass a [`Filter`].
///
/// ```
/// use civmap_domain::{CategoryId, LonLat, ProblemId, Severity, Status};
/// use civmap_index::{BBox, Filter, PointRecord, ProblemIndex};
///
/// let mut index = ProblemIndex::new();
/// let id = ProblemId::new();
/// index.insert(PointRecord {
///     id,
///     position: LonLat::new(121.4971, 31.2854).unwrap(),
///     category: CategoryId(8),
///     status: Status::Reported,
///     severity: Severity::Medium,
///     reported_ms: 1_750_000_000_000,
/// }).unwrap();
/// let tongji = BBox::new(121.49, 31.28, 121.51, 31.29).unwrap();
/// assert_eq!(index.bbox(&tongji, &Filter::default()), vec![id]);
/// let near = index.nearest(LonLat::new(121.5, 31.2854).unwrap(), 1, &Filter::default());
/// assert_eq!(near[0].id, id);
/// assert!((near[0].distance_m - 275.0).abs() < 1.0);
/// ```
pub struct ProblemIndex {
    packed: Arc<Packed>,
    /// Tombstones of the packed part.
    dead: Tombstones,
    frozen: Option<Frozen>,
    live: Dynamic,
    merge: Option<Merge>,
    /// Merges swapped in since the index was made (shown by `Debug`).
    merges: u64,
    /// The thread freeing the parts the last merge replaced.
    freeing: Option<JoinHandle<()>>,
}

/// The live part as it was when the running merge started.
struct Frozen {
    part: Arc<Dynamic>,
    /// By slot.
    dead: Tombstones,
}

/// A merge running on its own thread.
struct Merge {
    /// The thread, until it has finished.
    job: Option<JoinHandle<Packed>>,
    /// Its result, with the first `marked` of `killed` marked dead in it so far.
    built: Option<(Packed, Tombstones)>,
    /// Ids tombstoned in the packed or frozen part since it started: the new packed part holds
    /// them, and they are marked dead in it before it is swapped in.
    killed: Vec<ProblemId>,
    marked: usize,
}

impl Merge {
    /// Takes the thread's result once it has finished (`wait`: waits for it), and marks up to
    /// `budget` more killed ids dead in it. True once all are marked.
    fn advance(&mut self, budget: usize, wait: bool) -> bool {
        if self.built.is_none() {
            if !(wait || self.job.as_ref().is_some_and(JoinHandle::is_finished)) {
                return false;
            }
            let job = self
                .job
                .take()
                .expect("a merge without a result has its thread");
            // A panic on the merge thread is a bug in the build: passed on as it is.
            let packed = job.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            let dead = Tombstones::new(packed.len());
            self.built = Some((packed, dead));
        }
        let (packed, dead) = self.built.as_mut().expect("just built");
        let end = self.marked.saturating_add(budget).min(self.killed.len());
        for id in &self.killed[self.marked..end] {
            let i = packed
                .position_of(*id)
                .expect("a point taken out during the merge was alive when it started");
            dead.kill(i);
        }
        self.marked = end;
        self.marked == self.killed.len()
    }
}

/// Where an alive id is.
#[derive(Debug, Clone, Copy)]
enum Loc {
    Packed(usize),
    Frozen(u32),
    Live(u32),
}

impl fmt::Debug for ProblemIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProblemIndex")
            .field("len", &self.len())
            .field("packed", &self.packed.len())
            .field("live", &self.live.len())
            // A merge runs, or the parts it replaced are still being freed.
            .field(
                "merging",
                &(self.merge.is_some() || self.freeing.as_ref().is_some_and(|h| !h.is_finished())),
            )
            .field("merges", &self.merges)
            .finish_non_exhaustive()
    }
}

impl Default for ProblemIndex {
    fn default() -> Self {
        Self::new()
    }
}

/// The packed part of the alive packed and frozen points (runs on the merge thread).
fn rebuild(packed: &Packed, dead: &Tombstones, frozen: &Dynamic) -> Packed {
    let mut recs = Vec::with_capacity(packed.len() - dead.count() + frozen.len());
    recs.extend(
        (0..packed.len())
            .filter(|&i| !dead.is_dead(i))
            .map(|i| packed.record(i)),
    );
    recs.extend(frozen.leaves().map(|l| l.record(frozen.id_of(l))));
    Packed::build(&recs).expect("an id is alive in one part only")
}

impl ProblemIndex {
    /// An empty index.
    #[must_use]
    pub fn new() -> Self {
        Self {
            packed: Arc::new(Packed::empty()),
            dead: Tombstones::new(0),
            frozen: None,
            live: Dynamic::default(),
            merge: None,
            merges: 0,
            freeing: None,
        }
    }

    /// Builds an index from many records at once (the start-up load from the store): packs
    /// them along a Hilbert curve, much faster than inserting one by one. Fails on a duplicate
    /// id.
    pub fn bulk_load(records: impl IntoIterator<Item = PointRecord>) -> Result<Self, IndexError> {
        // The box around the records is taken while they are copied in (a pass less).
        let records = records.into_iter();
        let mut recs = Vec::with_capacity(records.size_hint().0);
        let mut bounds: Option<BBox> = None;
        for r in records {
            let (x, y) = (r.position.lon(), r.position.lat());
            let at = BBox::new_unchecked(x, y, x, y);
            bounds = Some(bounds.map_or(at, |b| b.union(&at)));
            recs.push(r);
        }
        let packed = Packed::build_within(&recs, bounds)?;
        drop(recs);
        Ok(Self {
            dead: Tombstones::new(packed.len()),
            live: Dynamic::with_capacity(merge_threshold(packed.len())),
            packed: Arc::new(packed),
            ..Self::new()
        })
    }

    /// Number of problems held.
    #[must_use]
    pub fn len(&self) -> usize {
        let frozen = self
            .frozen
            .as_ref()
            .map_or(0, |f| f.part.len() - f.dead.count());
        self.packed.len() - self.dead.count() + frozen + self.live.len()
    }

    /// Whether the index holds no problem.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn locate(&self, id: ProblemId) -> Option<Loc> {
        if let Some(s) = self.live.slot_of(id) {
            return Some(Loc::Live(s));
        }
        if let Some(f) = &self.frozen
            && let Some(s) = f.part.slot_of(id)
            && !f.dead.is_dead(s as usize)
        {
            return Some(Loc::Frozen(s));
        }
        self.packed
            .position_of(id)
            .filter(|&i| !self.dead.is_dead(i))
            .map(Loc::Packed)
    }

    fn record_at(&self, loc: Loc) -> PointRecord {
        match loc {
            Loc::Packed(i) => self.packed.record(i),
            Loc::Frozen(s) => self.frozen().part.record(s),
            Loc::Live(s) => self.live.record(s),
        }
    }

    fn frozen(&self) -> &Frozen {
        self.frozen
            .as_ref()
            .expect("a frozen location exists only while a merge runs")
    }

    /// Takes the problem out of its part and returns its record.
    fn take(&mut self, loc: Loc) -> PointRecord {
        let r = match loc {
            Loc::Live(s) => return self.live.remove(s),
            Loc::Frozen(s) => {
                let r = self.frozen().part.record(s);
                if let Some(f) = &mut self.frozen {
                    f.dead.kill(s as usize);
                }
                r
            }
            Loc::Packed(i) => {
                self.dead.kill(i);
                self.packed.record(i)
            }
        };
        if let Some(m) = &mut self.merge {
            m.killed.push(r.id);
        }
        r
    }

    /// Whether a problem with this id is held.
    #[must_use]
    pub fn contains(&self, id: ProblemId) -> bool {
        self.locate(id).is_some()
    }

    /// The record of a problem.
    #[must_use]
    pub fn get(&self, id: ProblemId) -> Option<PointRecord> {
        self.locate(id).map(|loc| self.record_at(loc))
    }

    /// Adds a problem. Fails if its id is already held.
    pub fn insert(&mut self, record: PointRecord) -> Result<(), IndexError> {
        if self.locate(record.id).is_some() {
            return Err(IndexError::DuplicateProblem(record.id));
        }
        self.live.insert(record)?;
        self.after_change();
        Ok(())
    }

    /// Removes a problem and returns its record.
    pub fn remove(&mut self, id: ProblemId) -> Result<PointRecord, IndexError> {
        let loc = self.locate(id).ok_or(IndexError::UnknownProblem(id))?;
        let r = self.take(loc);
        self.after_change();
        Ok(r)
    }

    /// Changes a problem (move, status, severity, category) and returns its new record.
    /// In the live part a move re-inserts the leaf and other changes edit it in place; a
    /// problem of the packed or frozen part is taken out of it and inserted into the live part.
    ///
    /// # Panics
    /// Never: the id taken out is free for the insert.
    pub fn update(
        &mut self,
        id: ProblemId,
        change: &PointUpdate,
    ) -> Result<PointRecord, IndexError> {
        let loc = self.locate(id).ok_or(IndexError::UnknownProblem(id))?;
        let r = if let Loc::Live(s) = loc {
            self.live.update(s, change)
        } else {
            let r = change.applied_to(&self.take(loc));
            self.live
                .insert(r)
                .expect("the id was taken out just before, so it is free");
            r
        };
        self.after_change();
        Ok(r)
    }

    /// Inserts the record, or replaces the one with the same id; returns the old record.
    ///
    /// # Panics
    /// Never: the id is free once the old record is removed.
    pub fn upsert(&mut self, record: PointRecord) -> Option<PointRecord> {
        let old = self.remove(record.id).ok();
        self.insert(record)
            .expect("the id was removed just before, so it is free");
        old
    }

    // ----- merging ---------------------------------------------------------------------------

    /// After each change: swaps in a finished merge, and starts one when the live part and the
    /// tombstones have grown past their share.
    fn after_change(&mut self) {
        if let Some(m) = &mut self.merge {
            if !m.advance(MARK_PER_CHANGE, false) {
                return;
            }
            let (packed, dead) = self.merge.take().and_then(|m| m.built).expect("advanced");
            self.install(packed, dead);
        }
        let pending = self.live.len() + self.dead.count();
        if pending >= merge_threshold(self.packed.len()) {
            self.start_merge();
        }
    }

    fn start_merge(&mut self) {
        let room = merge_threshold(self.packed.len() - self.dead.count() + self.live.len());
        let frozen = Arc::new(std::mem::replace(
            &mut self.live,
            Dynamic::with_capacity(room),
        ));
        let size = self.packed.len() - self.dead.count() + frozen.len();
        if size > MERGE_INLINE_MAX {
            let (packed, dead, part) = (
                Arc::clone(&self.packed),
                self.dead.clone(),
                Arc::clone(&frozen),
            );
            let spawned = std::thread::Builder::new()
                .name("civmap-index-merge".into())
                .spawn(move || rebuild(&packed, &dead, &part));
            // Without a thread to be had (resource limits), merge in place below.
            if let Ok(job) = spawned {
                self.frozen = Some(Frozen {
                    dead: Tombstones::new(frozen.slot_count()),
                    part: frozen,
                });
                self.merge = Some(Merge {
                    job: Some(job),
                    built: None,
                    killed: Vec::new(),
                    marked: 0,
                });
                return;
            }
        }
        let packed = rebuild(&self.packed, &self.dead, &frozen);
        let dead = Tombstones::new(packed.len());
        self.install(packed, dead);
    }

    /// Makes `packed` the packed part, with tombstones `dead`, and drops the frozen part (its
    /// alive points are in `packed`).
    fn install(&mut self, packed: Packed, dead: Tombstones) {
        let old = (
            std::mem::replace(&mut self.packed, Arc::new(packed)),
            self.frozen.take(),
        );
        self.dead = dead;
        self.merges += 1;
        // Freeing a million points' arrays and the frozen R-tree took 3–4 ms: done on a thread
        // of its own when the parts are large, so that the change that swaps does not wait.
        if old.0.len() > MERGE_INLINE_MAX {
            // Without a thread to be had, they are freed here.
            self.freeing = std::thread::Builder::new()
                .name("civmap-index-free".into())
                .spawn(move || drop(old))
                .ok();
        }
    }

    /// Waits for a running merge and swaps it in (tests: a known state).
    #[cfg(test)]
    pub(crate) fn finish_merge(&mut self) {
        if let Some(mut m) = self.merge.take() {
            m.advance(usize::MAX, true);
            let (packed, dead) = m.built.expect("advanced");
            self.install(packed, dead);
        }
    }

    // ----- reading -------------------------------------------------------------------------

    /// Every record, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = PointRecord> + '_ {
        let packed = (0..self.packed.len())
            .filter(|&i| !self.dead.is_dead(i))
            .map(|i| self.packed.record(i));
        let dynamic = self.dynamic_parts().flat_map(|(part, dead)| {
            part.leaves()
                .filter(move |l| alive(dead, l))
                .map(move |l| l.record(part.id_of(l)))
        });
        packed.chain(dynamic)
    }

    /// A box holding every held position (`None` when empty); removed points may still widen
    /// it until the next merge.
    #[must_use]
    pub fn bounds(&self) -> Option<BBox> {
        if self.is_empty() {
            return None;
        }
        let parts = [self.packed.bounds(), self.live.bounds()]
            .into_iter()
            .chain(self.frozen.as_ref().map(|f| f.part.bounds()));
        parts
            .flatten()
            .reduce(|a, b| a.union(&b))
            .and_then(|b| b.intersection(&BBox::WORLD))
    }

    /// The R-tree parts with their tombstones (`None`: the live part, which has none).
    fn dynamic_parts(&self) -> impl Iterator<Item = (&Dynamic, Option<&Tombstones>)> {
        std::iter::once((&self.live, None))
            .chain(self.frozen.iter().map(|f| (&*f.part, Some(&f.dead))))
    }

    /// Calls `f` with every alive leaf of the R-tree parts in the region that passes the filter.
    fn for_each_dynamic<'s>(
        &'s self,
        region: &Prepared<'_>,
        filter: &Filter,
        mut f: impl FnMut(&'s Dynamic, &'s Leaf),
    ) {
        for (part, dead) in self.dynamic_parts() {
            visit_prepared(part.root(), region, filter, |l| {
                if alive(dead, l) {
                    f(part, l);
                }
            });
        }
    }

    /// Hands the region's packed points to `sink`, under `nodes` only if given.
    fn scan_packed(
        &self,
        region: &Prepared<'_>,
        nodes: Option<(usize, Range<usize>)>,
        filter: &Filter,
        sink: &mut impl Sink,
    ) {
        self.packed.scan(region, nodes, &self.dead, filter, sink);
    }

    /// Calls `f` with every point in the region that passes the filter, as a [`Leaf`].
    pub(crate) fn for_each_leaf(
        &self,
        region: &Prepared<'_>,
        filter: &Filter,
        mut f: impl FnMut(&Leaf),
    ) {
        self.scan_packed(
            region,
            None,
            filter,
            &mut Each(|p: &Packed, i| f(&p.leaf(i))),
        );
        self.for_each_dynamic(region, filter, |_, l| f(l));
    }

    /// As [`Self::for_each_leaf`], folding the leaves into accumulators made by `make`: with
    /// `split` and a packed tree of two levels or more, the nodes below its root are visited
    /// in two halves, one on a scoped thread, and two accumulators come back; otherwise one.
    /// For whole-city aggregations, where visiting a million points is the work (on this
    /// project's 2-core machine it halves a 20 ms aggregation; small regions do not split, a
    /// thread costs ~30 µs).
    pub(crate) fn fold_leaves<A: Send>(
        &self,
        region: &Prepared<'_>,
        filter: &Filter,
        split: bool,
        make: impl Fn() -> A + Sync,
        f: impl Fn(&mut A, &Leaf) + Sync,
    ) -> Vec<A> {
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        match self.packed.split_level() {
            Some((level, count)) if split && threads > 1 && count > 1 => {
                let run = |nodes: Range<usize>, with_dynamic: bool| {
                    let mut acc = make();
                    self.scan_packed(
                        region,
                        Some((level, nodes)),
                        filter,
                        &mut Each(|p: &Packed, i| f(&mut acc, &p.leaf(i))),
                    );
                    if with_dynamic {
                        self.for_each_dynamic(region, filter, |_, l| f(&mut acc, l));
                    }
                    acc
                };
                std::thread::scope(|s| {
                    let other = s.spawn(|| run(0..count / 2, false));
                    let mine = run(count / 2..count, true);
                    // A panic in the scoped thread is a bug in `f`: passed on as it is.
                    let theirs = other
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e));
                    vec![theirs, mine]
                })
            }
            _ => {
                let mut acc = make();
                self.for_each_leaf(region, filter, |l| f(&mut acc, l));
                vec![acc]
            }
        }
    }

    /// Calls `f` with the record of every problem in the region that passes the filter.
    pub fn for_each(
        &self,
        region: &Region<'_>,
        filter: &Filter,
        mut f: impl FnMut(PointRecord),
    ) -> Result<(), IndexError> {
        let prepared = region.prepare()?;
        self.scan_packed(
            &prepared,
            None,
            filter,
            &mut Each(|p: &Packed, i| f(p.record(i))),
        );
        self.for_each_dynamic(&prepared, filter, |part, l| f(l.record(part.id_of(l))));
        Ok(())
    }

    fn ids(&self, region: &Prepared<'_>, filter: &Filter) -> Vec<ProblemId> {
        let mut out = Vec::new();
        self.scan_packed(region, None, filter, &mut Ids(&mut out));
        self.for_each_dynamic(region, filter, |part, l| out.push(part.id_of(l)));
        out
    }

    /// Ids of the problems in the region that pass the filter, in no particular order.
    pub fn query(
        &self,
        region: &Region<'_>,
        filter: &Filter,
    ) -> Result<Vec<ProblemId>, IndexError> {
        Ok(self.ids(&region.prepare()?, filter))
    }

    /// Records of the problems in the region that pass the filter, in no particular order.
    pub fn query_records(
        &self,
        region: &Region<'_>,
        filter: &Filter,
    ) -> Result<Vec<PointRecord>, IndexError> {
        let mut out = Vec::new();
        self.for_each(region, filter, |r| out.push(r))?;
        Ok(out)
    }

    /// How many problems in the region pass the filter.
    pub fn count(&self, region: &Region<'_>, filter: &Filter) -> Result<usize, IndexError> {
        let prepared = region.prepare()?;
        let mut n = Count(0);
        self.scan_packed(&prepared, None, filter, &mut n);
        self.for_each_dynamic(&prepared, filter, |_, _| n.0 += 1);
        Ok(n.0)
    }

    /// Ids of the problems inside the box (edges included) that pass the filter.
    #[must_use]
    pub fn bbox(&self, b: &BBox, filter: &Filter) -> Vec<ProblemId> {
        self.ids(&Prepared::Boxes(*b, None), filter)
    }

    /// Problems within `radius_m` metres (haversine, boundary included) of `center` that pass
    /// the filter, nearest first, ties by id.
    pub fn within_radius(
        &self,
        center: LonLat,
        radius_m: f64,
        filter: &Filter,
    ) -> Result<Vec<Neighbor>, IndexError> {
        if !(radius_m.is_finite() && radius_m >= 0.0) {
            return Err(IndexError::InvalidRadius(radius_m));
        }
        let from = HaversineFrom::new(center.lon(), center.lat());
        let boxes = circle_boxes(center, radius_m);
        // Sorted as (distance bits, id) pairs: distances are >= 0, so their bits order as they
        // do, and ids break ties.
        let mut found: Vec<(u64, ProblemId)> = Vec::new();
        let (b1, b2) = boxes;
        for b in std::iter::once(b1).chain(b2) {
            self.scan_packed(
                &Prepared::Boxes(b, None),
                None,
                filter,
                &mut Each(|p: &Packed, i| {
                    let [lon, lat] = p.xy(i);
                    let d = from.distance(lon, lat);
                    if d <= radius_m {
                        found.push((d.to_bits(), p.id(i)));
                    }
                }),
            );
        }
        for (part, dead) in self.dynamic_parts() {
            visit_circle(part.root(), &boxes, &from, radius_m, filter, &mut |l, d| {
                if alive(dead, l) {
                    found.push((d.to_bits(), part.id_of(l)));
                }
            });
        }
        found.sort_unstable();
        Ok(found
            .into_iter()
            .map(|(d, id)| Neighbor {
                id,
                distance_m: f64::from_bits(d),
            })
            .collect())
    }

    /// The `k` problems nearest to `center` (haversine metres) that pass the filter, nearest
    /// first; among equally distant problems the smaller id comes first. Exact: a best-first
    /// search over each part with a proven lower bound of the distance to each node's box, the
    /// k-th best of one part bounding the search of the next.
    #[must_use]
    pub fn nearest(&self, center: LonLat, k: usize, filter: &Filter) -> Vec<Neighbor> {
        if k == 0 || self.is_empty() {
            return Vec::new();
        }
        let from = HaversineFrom::new(center.lon(), center.lat());
        let neighbor = |id, a| Neighbor {
            id,
            distance_m: HaversineFrom::metres(a),
        };
        let mut knn = Knn::with_limit(k, f64::INFINITY);
        self.packed.nearest(&from, filter, &self.dead, &mut knn);
        let mut limit = knn.limit();
        let mut out: Vec<Neighbor> = knn
            .finish()
            .into_iter()
            .map(|(a, i)| neighbor(self.packed.id(i), a))
            .collect();
        for (part, dead) in self.dynamic_parts() {
            let mut knn = Knn::with_limit(k, limit);
            nearest_leaves(part.root(), &from, filter, |l| alive(dead, l), &mut knn);
            limit = knn.limit();
            out.extend(
                knn.finish()
                    .into_iter()
                    .map(|(a, l)| neighbor(part.id_of(l), a)),
            );
        }
        sort_neighbors(&mut out);
        out.truncate(k);
        out
    }

    /// Ids of the problems inside the polygon (holes excluded, rings included) that pass the
    /// filter.
    pub fn in_polygon(
        &self,
        polygon: &Polygon<f64>,
        filter: &Filter,
    ) -> Result<Vec<ProblemId>, IndexError> {
        self.query(&Region::Polygon(polygon), filter)
    }

    /// Ids of the problems inside the multipolygon that pass the filter.
    pub fn in_multipolygon(
        &self,
        mp: &MultiPolygon<f64>,
        filter: &Filter,
    ) -> Result<Vec<ProblemId>, IndexError> {
        self.query(&Region::MultiPolygon(mp), filter)
    }

    /// Ids of the problems inside a zone that pass the filter ("my zone's problems").
    pub fn in_zone(
        &self,
        zones: &ZoneIndex,
        zone: civmap_domain::ZoneId,
        filter: &Filter,
    ) -> Result<Vec<ProblemId>, IndexError> {
        self.query(&Region::Zone(zones, zone), filter)
    }
}

/// Changes (live points and tombstones) that start a merge, for a packed part of `n` points.
fn merge_threshold(n: usize) -> usize {
    MERGE_MIN.max(n / MERGE_FRACTION)
}

/// Whether a leaf of an R-tree part is alive (the live part has no tombstones).
#[inline]
fn alive(dead: Option<&Tombstones>, l: &Leaf) -> bool {
    dead.is_none_or(|d| !d.is_dead(l.slot as usize))
}

fn sort_neighbors(v: &mut [Neighbor]) {
    v.sort_unstable_by(|a, b| {
        a.distance_m
            .total_cmp(&b.distance_m)
            .then_with(|| a.id.cmp(&b.id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use civmap_domain::{CategoryId, Severity, Status};
    use rand::{Rng, SeedableRng};

    fn rec(rng: &mut impl Rng, n: u128) -> PointRecord {
        PointRecord {
            id: ProblemId(uuid::Uuid::from_u128(n)),
            position: LonLat::new(
                121.47 + f64::from(rng.random_range(-200i32..200)) * 1e-5,
                31.23 + f64::from(rng.random_range(-200i32..200)) * 1e-5,
            )
            .unwrap(),
            category: CategoryId(rng.random_range(0..4)),
            status: Status::from_code(rng.random_range(0..7)).unwrap(),
            severity: Severity::Medium,
            reported_ms: 0,
        }
    }

    /// Every answer against a scan of `want`.
    fn check(ix: &ProblemIndex, want: &[PointRecord], rng: &mut impl Rng) {
        assert_eq!(ix.len(), want.len());
        for r in want {
            assert_eq!(ix.get(r.id), Some(*r));
        }
        let mut all: Vec<_> = ix.iter().collect();
        all.sort_by_key(|r| r.id);
        let mut w = want.to_vec();
        w.sort_by_key(|r| r.id);
        assert_eq!(all, w);
        let f = Filter::default().with_categories([CategoryId(1), CategoryId(2)]);
        let c = LonLat::new(121.47 + rng.random_range(-0.002..0.002), 31.23).unwrap();
        let b = BBox::new(c.lon() - 0.001, 31.229, c.lon() + 0.0012, 31.2315).unwrap();
        for filter in [&Filter::default(), &f] {
            let mut got = ix.bbox(&b, filter);
            got.sort();
            let mut exp: Vec<_> = want
                .iter()
                .filter(|r| b.contains(r.position) && filter.matches(r))
                .map(|r| r.id)
                .collect();
            exp.sort();
            assert_eq!(got, exp);
            let mut near: Vec<Neighbor> = want
                .iter()
                .filter(|r| filter.matches(r))
                .map(|r| Neighbor {
                    id: r.id,
                    distance_m: crate::geodesy::haversine_m(c, r.position),
                })
                .collect();
            sort_neighbors(&mut near);
            let within: Vec<_> = near
                .iter()
                .copied()
                .filter(|n| n.distance_m <= 120.0)
                .collect();
            assert_eq!(ix.within_radius(c, 120.0, filter).unwrap(), within);
            near.truncate(9);
            assert_eq!(ix.nearest(c, 9, filter), near);
        }
    }

    #[test]
    fn merges_on_a_thread_keep_every_answer() {
        // MERGE_INLINE_MAX is 0 here: every merge runs on a thread, and changes, queries and the
        // swap interleave however the threads are scheduled; some swaps are forced.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut want: Vec<PointRecord> = (1..=300).map(|n| rec(&mut rng, n)).collect();
        let mut ix = ProblemIndex::bulk_load(want.iter().copied()).unwrap();
        let mut next = 1_000;
        let mut merges = 0;
        for step in 0..3_000 {
            match rng.random_range(0..10) {
                0..4 => {
                    let r = rec(&mut rng, next);
                    next += 1;
                    ix.insert(r).unwrap();
                    want.push(r);
                }
                4..6 if !want.is_empty() => {
                    let r = want.swap_remove(rng.random_range(0..want.len()));
                    assert_eq!(ix.remove(r.id), Ok(r));
                }
                6..8 if !want.is_empty() => {
                    let k = rng.random_range(0..want.len());
                    let to = rec(&mut rng, 0).position;
                    want[k].position = to;
                    let change = PointUpdate {
                        position: Some(to),
                        ..PointUpdate::default()
                    };
                    assert_eq!(ix.update(want[k].id, &change), Ok(want[k]));
                }
                _ if !want.is_empty() => {
                    let k = rng.random_range(0..want.len());
                    want[k].status = Status::Closed;
                    let change = PointUpdate {
                        status: Some(Status::Closed),
                        ..PointUpdate::default()
                    };
                    assert_eq!(ix.update(want[k].id, &change), Ok(want[k]));
                }
                _ => {}
            }
            merges += usize::from(ix.merge.is_some());
            if step % 97 == 0 {
                ix.finish_merge();
            }
            if step % 7 == 0 {
                check(&ix, &want, &mut rng);
            }
        }
        assert!(merges > 100, "steps with a merge running: {merges}");
        ix.finish_merge();
        check(&ix, &want, &mut rng);
    }
}

#[cfg(test)]
mod shared {
    /// The server keeps the index in shared state behind a lock.
    #[test]
    fn the_index_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<super::ProblemIndex>();
    }
}
