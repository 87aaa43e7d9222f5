//! [`ProblemIndex`]: problem points by id and by place.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::hash::BuildHasher;

use civmap_domain::{LonLat, ProblemId};
use geo::{MultiPolygon, Polygon};
use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};
use rstar::{AABB, ParentNode, RStarInsertionStrategy, RTree, RTreeNode, RTreeParams};
use rstar::{Envelope, SelectionFunction};

use crate::area::{AreaGrid, BoxClass, Shape};
use crate::error::IndexError;
use crate::filter::Filter;
use crate::geodesy::{BBox, HaversineFrom, circle_boxes, key, widen_key_envelope};
use crate::record::{Leaf, PointRecord, PointUpdate};
use crate::zones::ZoneIndex;

/// R-tree node sizes. Larger nodes than rstar's default (6) mean fewer parent nodes (memory)
/// and a shallower tree (4 levels for 1M points): against 16, 32 measured faster bulk loads,
/// inserts and full traversals at equal box and nearest-neighbour query times (see README).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TreeParams;

impl RTreeParams for TreeParams {
    const MIN_SIZE: usize = 12;
    const MAX_SIZE: usize = 32;
    const REINSERTION_COUNT: usize = 8;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

pub(crate) type Tree = RTree<Leaf, TreeParams>;
pub(crate) type Node = ParentNode<Leaf>;

/// What a slot holds: the problem's id and the tree key of its leaf (to find the leaf again).
#[derive(Debug, Clone, Copy)]
struct Slot {
    id: ProblemId,
    key: [f32; 2],
}

/// A problem found by a distance query, with its haversine distance in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    pub id: ProblemId,
    /// Great-circle metres from the query point ([`crate::haversine_m`]).
    pub distance_m: f64,
}

/// Where a query looks. Every region is closed: points on its boundary are in it.
#[derive(Debug, Clone, Copy)]
pub enum Region<'a> {
    /// The whole index.
    All,
    /// A lon/lat box (edges included).
    BBox(BBox),
    /// Points whose haversine distance from `center` is at most `radius_m` metres.
    Circle { center: LonLat, radius_m: f64 },
    /// A lon/lat polygon, holes allowed; points on any ring are in (geo's `Intersects`).
    Polygon(&'a Polygon<f64>),
    /// A lon/lat multipolygon (the union of its polygons), same boundary rule.
    MultiPolygon(&'a MultiPolygon<f64>),
    /// The geometry of a zone held by a [`ZoneIndex`].
    Zone(&'a ZoneIndex, civmap_domain::ZoneId),
}

/// A region made ready for one traversal.
pub(crate) enum Prepared<'a> {
    All,
    Nothing,
    Boxes(BBox, Option<BBox>),
    Circle {
        boxes: (BBox, Option<BBox>),
        from: HaversineFrom,
        radius_m: f64,
    },
    Area {
        shape: Shape<'a>,
        grid: std::borrow::Cow<'a, AreaGrid>,
    },
}

impl<'a> Region<'a> {
    pub(crate) fn prepare(&self) -> Result<Prepared<'a>, IndexError> {
        Ok(match *self {
            Region::All => Prepared::All,
            Region::BBox(b) => Prepared::Boxes(b, None),
            Region::Circle { center, radius_m } => {
                if !(radius_m.is_finite() && radius_m >= 0.0) {
                    return Err(IndexError::InvalidRadius(radius_m));
                }
                Prepared::Circle {
                    boxes: circle_boxes(center, radius_m),
                    from: HaversineFrom::new(center.lon(), center.lat()),
                    radius_m,
                }
            }
            Region::Polygon(p) => prepare_shape(Shape::Polygon(p))?,
            Region::MultiPolygon(m) => prepare_shape(Shape::Multi(m))?,
            Region::Zone(zones, id) => {
                let z = zones.entry(id)?;
                match &z.grid {
                    Some(grid) => Prepared::Area {
                        shape: Shape::Multi(&z.geometry),
                        grid: std::borrow::Cow::Borrowed(grid),
                    },
                    None => Prepared::Nothing,
                }
            }
        })
    }
}

fn prepare_shape(shape: Shape<'_>) -> Result<Prepared<'_>, IndexError> {
    Ok(match AreaGrid::new(&shape)? {
        Some(grid) => Prepared::Area {
            shape,
            grid: std::borrow::Cow::Owned(grid),
        },
        None => Prepared::Nothing,
    })
}

impl Prepared<'_> {
    /// A box holding the whole region (`None`: the whole world).
    pub(crate) fn bounds(&self) -> Option<BBox> {
        match self {
            Prepared::Boxes(b, None)
            | Prepared::Circle {
                boxes: (b, None), ..
            } => Some(*b),
            Prepared::Area { grid, .. } => Some(*grid.bbox()),
            // Nothing, everything, or a circle split at the antimeridian: no one box.
            _ => None,
        }
    }
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
    tree: Tree,
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_id: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl fmt::Debug for ProblemIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProblemIndex")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Default for ProblemIndex {
    fn default() -> Self {
        Self::new()
    }
}

/// Selects the leaf of one slot: descends only into nodes whose box holds the leaf's key.
struct SlotSelector {
    key: [f32; 2],
    slot: u32,
}

impl SelectionFunction<Leaf> for SlotSelector {
    fn should_unpack_parent(&self, envelope: &AABB<[f32; 2]>) -> bool {
        envelope.contains_point(&self.key)
    }

    fn should_unpack_leaf(&self, leaf: &Leaf) -> bool {
        leaf.slot == self.slot
    }
}

impl ProblemIndex {
    /// An empty index.
    #[must_use]
    pub fn new() -> Self {
        Self {
            tree: Tree::new_with_params(),
            slots: Vec::new(),
            free: Vec::new(),
            by_id: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// Builds an index from many records at once (the start-up load from the store): an
    /// R-tree bulk load (OMT), much faster than inserting one by one and with fuller nodes.
    /// Fails on the first duplicate id.
    pub fn bulk_load(records: impl IntoIterator<Item = PointRecord>) -> Result<Self, IndexError> {
        let records = records.into_iter();
        let (lower, _) = records.size_hint();
        let mut leaves = Vec::with_capacity(lower);
        let mut ids = Vec::with_capacity(lower);
        for r in records {
            let slot = u32::try_from(leaves.len()).map_err(|_| too_many())?;
            leaves.push(Leaf::new(&r, slot));
            ids.push(r.id);
        }
        let mut tree = Tree::bulk_load_with_params(leaves);
        // Number the slots in tree order, so the ids of one query's leaves sit together in the
        // slot table (a box query then reads the slot table almost sequentially).
        let mut slots = Vec::with_capacity(ids.len());
        for leaf in &mut tree {
            let id = ids[leaf.slot as usize];
            leaf.slot = slots.len() as u32;
            slots.push(Slot {
                id,
                key: leaf.key(),
            });
        }
        drop(ids);
        let hasher = DefaultHashBuilder::default();
        let mut by_id = HashTable::with_capacity(slots.len());
        for (s, slot) in slots.iter().enumerate() {
            let h = hasher.hash_one(slot.id);
            match by_id.entry(
                h,
                |&o: &u32| slots[o as usize].id == slot.id,
                |&o: &u32| hasher.hash_one(slots[o as usize].id),
            ) {
                Entry::Occupied(_) => return Err(IndexError::DuplicateProblem(slot.id)),
                Entry::Vacant(v) => {
                    v.insert(s as u32);
                }
            }
        }
        Ok(Self {
            tree,
            slots,
            free: Vec::new(),
            by_id,
            hasher,
        })
    }

    /// Number of problems held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the index holds no problem.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    fn slot_of(&self, id: ProblemId) -> Option<u32> {
        let h = self.hasher.hash_one(id);
        self.by_id
            .find(h, |&s| self.slots[s as usize].id == id)
            .copied()
    }

    /// Whether a problem with this id is held.
    #[must_use]
    pub fn contains(&self, id: ProblemId) -> bool {
        self.slot_of(id).is_some()
    }

    fn leaf(&self, slot: u32) -> &Leaf {
        let sel = SlotSelector {
            key: self.slots[slot as usize].key,
            slot,
        };
        self.tree
            .locate_with_selection_function(sel)
            .next()
            .expect("every slot in the id table has its leaf in the tree")
    }

    /// The record of a problem.
    ///
    /// # Panics
    /// Never: every id in the id table has its leaf in the tree (an internal invariant).
    #[must_use]
    pub fn get(&self, id: ProblemId) -> Option<PointRecord> {
        let slot = self.slot_of(id)?;
        Some(self.leaf(slot).record(id))
    }

    /// Adds a problem. Fails if its id is already held.
    pub fn insert(&mut self, record: PointRecord) -> Result<(), IndexError> {
        let h = self.hasher.hash_one(record.id);
        let Self {
            slots,
            free,
            by_id,
            hasher,
            tree,
        } = self;
        let next_slot = match free.last() {
            Some(&s) => s,
            None => u32::try_from(slots.len()).map_err(|_| too_many())?,
        };
        match by_id.entry(
            h,
            |&o| slots[o as usize].id == record.id,
            |&o| hasher.hash_one(slots[o as usize].id),
        ) {
            Entry::Occupied(_) => return Err(IndexError::DuplicateProblem(record.id)),
            Entry::Vacant(v) => {
                v.insert(next_slot);
            }
        }
        let leaf = Leaf::new(&record, next_slot);
        let slot = Slot {
            id: record.id,
            key: leaf.key(),
        };
        if free.pop().is_some() {
            slots[next_slot as usize] = slot;
        } else {
            slots.push(slot);
        }
        tree.insert(leaf);
        Ok(())
    }

    /// Removes a problem and returns its record.
    ///
    /// # Panics
    /// Never: every id in the id table has its leaf in the tree (an internal invariant).
    pub fn remove(&mut self, id: ProblemId) -> Result<PointRecord, IndexError> {
        let h = self.hasher.hash_one(id);
        let slots = &self.slots;
        let slot = match self.by_id.find_entry(h, |&s| slots[s as usize].id == id) {
            Ok(e) => e.remove().0,
            Err(_) => return Err(IndexError::UnknownProblem(id)),
        };
        let leaf = self
            .tree
            .remove_with_selection_function(SlotSelector {
                key: self.slots[slot as usize].key,
                slot,
            })
            .expect("every slot in the id table has its leaf in the tree");
        self.free.push(slot);
        Ok(leaf.record(id))
    }

    /// Changes a problem (move, status, severity, category) and returns its new record.
    /// A move re-inserts the leaf; other changes edit it in place.
    ///
    /// # Panics
    /// Never: every id in the id table has its leaf in the tree (an internal invariant).
    pub fn update(
        &mut self,
        id: ProblemId,
        change: &PointUpdate,
    ) -> Result<PointRecord, IndexError> {
        let slot = self.slot_of(id).ok_or(IndexError::UnknownProblem(id))?;
        let sel = SlotSelector {
            key: self.slots[slot as usize].key,
            slot,
        };
        let apply = |leaf: &mut Leaf| {
            if let Some(s) = change.status {
                leaf.status = s;
            }
            if let Some(s) = change.severity {
                leaf.severity = s;
            }
            if let Some(c) = change.category {
                leaf.category = c.0;
            }
        };
        if let Some(p) = change.position {
            let mut leaf = self
                .tree
                .remove_with_selection_function(sel)
                .expect("every slot in the id table has its leaf in the tree");
            apply(&mut leaf);
            leaf.lon = p.lon();
            leaf.lat = p.lat();
            self.slots[slot as usize].key = key(leaf.lon, leaf.lat);
            self.tree.insert(leaf);
            Ok(leaf.record(id))
        } else {
            let leaf = self
                .tree
                .locate_with_selection_function_mut(sel)
                .next()
                .expect("every slot in the id table has its leaf in the tree");
            apply(leaf);
            Ok(leaf.record(id))
        }
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

    /// Every record, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = PointRecord> + '_ {
        self.tree
            .iter()
            .map(|l| l.record(self.slots[l.slot as usize].id))
    }

    /// The box around every held position (`None` when empty).
    #[must_use]
    pub fn bounds(&self) -> Option<BBox> {
        if self.is_empty() {
            return None;
        }
        let b = widen_key_envelope(&self.tree.root().envelope());
        b.intersection(&BBox::WORLD)
    }

    #[inline]
    pub(crate) fn id_of(&self, leaf: &Leaf) -> ProblemId {
        self.slots[leaf.slot as usize].id
    }

    // ----- queries -------------------------------------------------------------------------

    /// Calls `f` with every leaf in the region that passes the filter, in tree order.
    pub(crate) fn for_each_leaf<'s, F: FnMut(&'s Leaf)>(
        &'s self,
        region: &Prepared<'_>,
        filter: &Filter,
        f: F,
    ) {
        visit_prepared(self.tree.root(), region, filter, f);
    }

    /// As [`Self::for_each_leaf`], folding the leaves into accumulators made by `make`: with
    /// `split` and a tree of two levels or more, the root's children are visited in two halves,
    /// one on a scoped thread, and two accumulators come back; otherwise one. For whole-city
    /// aggregations, where visiting a million leaves is the work (on this project's 2-core
    /// machine it halves a 20 ms aggregation; small regions do not split, a thread costs ~30 µs).
    pub(crate) fn fold_leaves<'s, A: Send>(
        &'s self,
        region: &Prepared<'_>,
        filter: &Filter,
        split: bool,
        make: impl Fn() -> A + Sync,
        f: impl Fn(&mut A, &'s Leaf) + Sync,
    ) -> Vec<A> {
        let root = self.tree.root();
        let children = root.children();
        let parents: Option<Vec<&'s Node>> = children
            .iter()
            .map(|c| match c {
                RTreeNode::Parent(p) => Some(p),
                RTreeNode::Leaf(_) => None,
            })
            .collect();
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        match parents {
            Some(parents) if split && threads > 1 && parents.len() > 1 => {
                let (a, b) = parents.split_at(parents.len() / 2);
                let run = |nodes: &[&'s Node]| {
                    let mut acc = make();
                    for n in nodes {
                        visit_prepared(n, region, filter, |l| f(&mut acc, l));
                    }
                    acc
                };
                std::thread::scope(|s| {
                    let other = s.spawn(|| run(a));
                    let mine = run(b);
                    // A panic in the scoped thread is a bug in `f`: passed on as it is.
                    let theirs = other
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e));
                    vec![theirs, mine]
                })
            }
            _ => {
                let mut acc = make();
                visit_prepared(root, region, filter, |l| f(&mut acc, l));
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
        self.for_each_leaf(&prepared, filter, |l| f(l.record(self.id_of(l))));
        Ok(())
    }

    /// Ids of the problems in the region that pass the filter, in no particular order.
    pub fn query(
        &self,
        region: &Region<'_>,
        filter: &Filter,
    ) -> Result<Vec<ProblemId>, IndexError> {
        let prepared = region.prepare()?;
        let mut out = Vec::new();
        self.for_each_leaf(&prepared, filter, |l| out.push(self.id_of(l)));
        Ok(out)
    }

    /// Records of the problems in the region that pass the filter, in no particular order.
    pub fn query_records(
        &self,
        region: &Region<'_>,
        filter: &Filter,
    ) -> Result<Vec<PointRecord>, IndexError> {
        let prepared = region.prepare()?;
        let mut out = Vec::new();
        self.for_each_leaf(&prepared, filter, |l| out.push(l.record(self.id_of(l))));
        Ok(out)
    }

    /// How many problems in the region pass the filter.
    pub fn count(&self, region: &Region<'_>, filter: &Filter) -> Result<usize, IndexError> {
        let prepared = region.prepare()?;
        let mut n = 0;
        self.for_each_leaf(&prepared, filter, |_| n += 1);
        Ok(n)
    }

    /// Ids of the problems inside the box (edges included) that pass the filter.
    #[must_use]
    pub fn bbox(&self, b: &BBox, filter: &Filter) -> Vec<ProblemId> {
        let mut out = Vec::new();
        self.for_each_leaf(&Prepared::Boxes(*b, None), filter, |l| {
            out.push(self.id_of(l));
        });
        out
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
        // Sorted as (distance bits, slot) pairs: distances are >= 0, so their bits order as
        // they do, and the 16-byte pairs sort faster than `Neighbor`s; ids break ties.
        let mut found: Vec<(u64, u32)> = Vec::new();
        visit_circle(
            self.tree.root(),
            &boxes,
            &from,
            radius_m,
            filter,
            &mut |l, distance_m| found.push((distance_m.to_bits(), l.slot)),
        );
        found.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                self.slots[a.1 as usize]
                    .id
                    .cmp(&self.slots[b.1 as usize].id)
            })
        });
        Ok(found
            .into_iter()
            .map(|(d, slot)| Neighbor {
                id: self.slots[slot as usize].id,
                distance_m: f64::from_bits(d),
            })
            .collect())
    }

    /// The `k` problems nearest to `center` (haversine metres) that pass the filter, nearest
    /// first; among equally distant problems the smaller id comes first. Exact: a best-first
    /// search over the tree with a proven lower bound of the distance to each node's box.
    #[must_use]
    pub fn nearest(&self, center: LonLat, k: usize, filter: &Filter) -> Vec<Neighbor> {
        if k == 0 || self.is_empty() {
            return Vec::new();
        }
        let from = HaversineFrom::new(center.lon(), center.lat());
        let found = nearest_leaves(self.tree.root(), &from, k, filter);
        let mut out: Vec<Neighbor> = found
            .into_iter()
            .map(|(a, l)| Neighbor {
                id: self.id_of(l),
                distance_m: HaversineFrom::metres(a),
            })
            .collect();
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

fn too_many() -> IndexError {
    IndexError::TooManyProblems
}

fn sort_neighbors(v: &mut [Neighbor]) {
    v.sort_unstable_by(|a, b| {
        a.distance_m
            .total_cmp(&b.distance_m)
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// Calls `f` with every leaf under `node` in the region that passes the filter, in tree order.
fn visit_prepared<'s, F: FnMut(&'s Leaf)>(
    node: &'s Node,
    region: &Prepared<'_>,
    filter: &Filter,
    mut f: F,
) {
    match region {
        Prepared::Nothing => {}
        Prepared::All => visit_all(node, filter, &mut f),
        Prepared::Boxes(b1, b2) => {
            for b in std::iter::once(b1).chain(b2) {
                visit_box(node, b, &b.key_envelope(), filter, &mut f);
            }
        }
        Prepared::Circle {
            boxes,
            from,
            radius_m,
        } => visit_circle(node, boxes, from, *radius_m, filter, &mut |l, _| f(l)),
        Prepared::Area { shape, grid } => visit_area(node, shape, grid, filter, &mut f),
    }
}

fn visit_all<'s, F: FnMut(&'s Leaf)>(node: &'s Node, filter: &Filter, f: &mut F) {
    for child in node.children() {
        match child {
            RTreeNode::Leaf(l) => {
                if filter.matches_leaf(l) {
                    f(l);
                }
            }
            RTreeNode::Parent(p) => visit_all(p, filter, f),
        }
    }
}

fn visit_box<'s, F: FnMut(&'s Leaf)>(
    node: &'s Node,
    b: &BBox,
    env: &AABB<[f32; 2]>,
    filter: &Filter,
    f: &mut F,
) {
    for child in node.children() {
        match child {
            RTreeNode::Leaf(l) => {
                if b.contains_xy(l.lon, l.lat) && filter.matches_leaf(l) {
                    f(l);
                }
            }
            RTreeNode::Parent(p) => {
                let pe = p.envelope();
                if env.contains_envelope(&pe) && box_within(&widen_key_envelope(&pe), b) {
                    visit_all(p, filter, f);
                } else if env.intersects(&pe) {
                    visit_box(p, b, env, filter, f);
                }
            }
        }
    }
}

/// Calls `f` with every leaf within `radius_m` of `from` that passes the filter, and its
/// distance: candidates from the circle's boxes, each tested with the exact haversine.
fn visit_circle<'s, F: FnMut(&'s Leaf, f64)>(
    root: &'s Node,
    (b1, b2): &(BBox, Option<BBox>),
    from: &HaversineFrom,
    radius_m: f64,
    filter: &Filter,
    f: &mut F,
) {
    for b in std::iter::once(b1).chain(b2) {
        visit_box(root, b, &b.key_envelope(), filter, &mut |l: &'s Leaf| {
            let d = from.distance(l.lon, l.lat);
            if d <= radius_m {
                f(l, d);
            }
        });
    }
}

fn box_within(inner: &BBox, outer: &BBox) -> bool {
    inner.min_lon() >= outer.min_lon()
        && inner.max_lon() <= outer.max_lon()
        && inner.min_lat() >= outer.min_lat()
        && inner.max_lat() <= outer.max_lat()
}

fn visit_area<'s, F: FnMut(&'s Leaf)>(
    node: &'s Node,
    shape: &Shape<'_>,
    grid: &AreaGrid,
    filter: &Filter,
    f: &mut F,
) {
    for child in node.children() {
        match child {
            RTreeNode::Leaf(l) => {
                if filter.matches_leaf(l) && grid.contains(shape, l.lon, l.lat) {
                    f(l);
                }
            }
            RTreeNode::Parent(p) => match grid.classify_box(&widen_key_envelope(&p.envelope())) {
                BoxClass::Outside => {}
                BoxClass::Inside => visit_all(p, filter, f),
                BoxClass::Mixed => visit_area(p, shape, grid, filter, f),
            },
        }
    }
}

// ----- nearest neighbours ------------------------------------------------------------------

/// A lower bound of `sin(y)` for `y` in `[0, π/2]`: `y - y³/6` (Taylor with alternating terms).
#[inline]
fn sin_lower(y: f64) -> f64 {
    (y - y * y * y / 6.0).max(0.0)
}

/// Longitude gap in degrees (0 to 180) from `lon` to the interval `[min, max]`, around the globe:
/// the shorter of the way east to `min` and the way west to `max`.
#[inline]
fn lon_gap(lon: f64, min: f64, max: f64) -> f64 {
    let (east, west) = if lon < min {
        (min - lon, lon - max + 360.0)
    } else if lon > max {
        (min - lon + 360.0, lon - max)
    } else {
        return 0.0;
    };
    east.min(west).min(180.0)
}

/// A lower bound of the haversine `a` from `from` to any point of the box `b`, cheap (no
/// trigonometry). For a point p in b: |Δφ| ≥ the latitude gap, the wrapped |Δλ| ≥ the longitude
/// gap, `sin` grows on [0, π/2], and cos φp ≥ cos φq − |φp − φq| (cos is 1-Lipschitz). The
/// result is shrunk by 1e-9 relative so rounding can never lift it above a computed `a`.
#[inline]
fn a_lower_bound(from: &HaversineFrom, b: &BBox) -> f64 {
    let lat = from.lat();
    let dlat = if lat < b.min_lat() {
        b.min_lat() - lat
    } else if lat > b.max_lat() {
        lat - b.max_lat()
    } else {
        0.0
    };
    let dlon = lon_gap(from.lon(), b.min_lon(), b.max_lon());
    let s_lat = sin_lower(dlat.to_radians() / 2.0);
    let s_lon = sin_lower(dlon.to_radians() / 2.0);
    let far = (b.min_lat() - lat)
        .abs()
        .max((b.max_lat() - lat).abs())
        .to_radians();
    let cos_p = (from.cos_lat() - far).max(0.0);
    (s_lat * s_lat + from.cos_lat() * cos_p * s_lon * s_lon) * (1.0 - 1e-9)
}

/// A node waiting in the best-first queue, keyed by a lower bound of `a` over its box.
struct Pending<'a> {
    key: f64,
    node: &'a Node,
}

impl PartialEq for Pending<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Pending<'_> {}
impl PartialOrd for Pending<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending<'_> {
    /// Reversed: `BinaryHeap` is a max-heap, we pop the smallest bound first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.total_cmp(&self.key)
    }
}

/// A max-heap entry of the k smallest `a` seen so far.
#[derive(PartialEq)]
struct Kth(f64);
impl Eq for Kth {}
impl PartialOrd for Kth {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Kth {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Best-first search: returns every matching leaf whose exact haversine `a` is within 1e-9
/// (relative) of the k-th smallest, so that sorting by (distance, id) and truncating to k gives
/// the exact answer, ties included.
///
/// Nodes are expanded in order of a lower bound of `a` over their box; a leaf's exact `a`
/// (three sines and cosines) is computed only when its cheap lower bound is below the current
/// k-th best. The search stops when the nearest unexpanded node is farther than that.
fn nearest_leaves<'a>(
    root: &'a Node,
    from: &HaversineFrom,
    k: usize,
    filter: &Filter,
) -> Vec<(f64, &'a Leaf)> {
    let mut queue = BinaryHeap::with_capacity(32);
    queue.push(Pending {
        key: 0.0,
        node: root,
    });
    let mut kth: BinaryHeap<Kth> = BinaryHeap::with_capacity(k + 1);
    let mut found: Vec<(f64, &Leaf)> = Vec::with_capacity(2 * k);
    // Leaves with `a` above `limit` cannot be in the answer; +∞ until k leaves are found.
    let mut limit = f64::INFINITY;
    while let Some(Pending { key, node }) = queue.pop() {
        if key > limit {
            break;
        }
        for child in node.children() {
            match child {
                RTreeNode::Leaf(l) => {
                    if !filter.matches_leaf(l) {
                        continue;
                    }
                    if limit < f64::INFINITY
                        && a_lower_bound(from, &BBox::new_unchecked(l.lon, l.lat, l.lon, l.lat))
                            > limit
                    {
                        continue;
                    }
                    let a = from.a(l.lon, l.lat);
                    if a > limit {
                        continue;
                    }
                    found.push((a, l));
                    kth.push(Kth(a));
                    if kth.len() > k {
                        kth.pop();
                    }
                    if kth.len() == k {
                        // Distances are 2R·asin(√a) up to rounding: keep every leaf whose `a` is
                        // within 1e-9 relative of the k-th, so all ties in distance are seen.
                        limit = kth.peek().map_or(f64::INFINITY, |m| m.0 * (1.0 + 1e-9));
                    }
                }
                RTreeNode::Parent(p) => {
                    let key = a_lower_bound(from, &widen_key_envelope(&p.envelope()));
                    if key <= limit {
                        queue.push(Pending { key, node: p });
                    }
                }
            }
        }
    }
    found.retain(|&(a, _)| a <= limit);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    #[test]
    fn leaf_and_node_sizes() {
        // The memory design depends on these (README, "Memory").
        assert_eq!(size_of::<Leaf>(), 32);
        assert_eq!(size_of::<Slot>(), 24);
        assert_eq!(size_of::<RTreeNode<Leaf>>(), 40);
    }

    #[test]
    fn lon_gap_wraps() {
        assert_eq!(lon_gap(179.0, -179.0, -178.0), 2.0);
        assert_eq!(lon_gap(-179.0, 178.0, 179.0), 2.0);
        assert_eq!(lon_gap(10.0, 0.0, 20.0), 0.0);
        assert_eq!(lon_gap(0.0, 170.0, 171.0), 170.0);
    }

    #[test]
    fn a_lower_bound_is_below_a() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for _ in 0..100_000 {
            let q = HaversineFrom::new(
                rng.random_range(-180.0..180.0),
                rng.random_range(-89.0..89.0),
            );
            let span = if rng.random_bool(0.5) { 0.01 } else { 30.0 };
            let lon0 = (q.lon() + rng.random_range(-span..span)).clamp(-180.0, 180.0);
            let lat0 = (q.lat() + rng.random_range(-span..span)).clamp(-90.0, 90.0);
            let lon1 = (lon0 + rng.random_range(0.0..span)).min(180.0);
            let lat1 = (lat0 + rng.random_range(0.0..span)).min(90.0);
            let b = BBox::new(lon0, lat0, lon1, lat1).unwrap();
            let lb = a_lower_bound(&q, &b);
            for _ in 0..5 {
                let x = rng.random_range(lon0..=lon1);
                let y = rng.random_range(lat0..=lat1);
                assert!(lb <= q.a(x, y), "{q:?} {b:?} ({x}, {y})");
            }
        }
    }
}
