//! The dynamic part of [`crate::ProblemIndex`]: an R-tree (rstar) of the points inserted,
//! moved or changed since the packed part was built, with their ids in a slot table. Small by
//! design: it is folded into the packed part once it grows (see `problems.rs`, "Merging").

use std::collections::BinaryHeap;
use std::hash::BuildHasher;

use civmap_domain::ProblemId;
use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};
use rstar::{AABB, ParentNode, RStarInsertionStrategy, RTree, RTreeNode, RTreeParams};
use rstar::{Envelope, SelectionFunction};

use crate::area::{AreaGrid, BoxClass, Shape};
use crate::error::IndexError;
use crate::filter::Filter;
use crate::geodesy::{BBox, HaversineFrom, key, widen_key_envelope};
use crate::nearest::{Knn, Pending, a_lower_bound};
use crate::record::{Leaf, PointRecord, PointUpdate};
use crate::region::Prepared;

/// R-tree node sizes. The tree grows from empty by single inserts, where R* insertion costs
/// about M² box overlaps per insert whenever no leaf holds the new point (nearly always in a
/// sparse tree): measured 7–8 µs an insert with nodes of 12–32, 1.7–2.2 µs with 4–8 (rstar's
/// default 3–6: 1.6–2.2 µs, at slower box queries). The part stays small, so deeper trees cost
/// little.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TreeParams;

impl RTreeParams for TreeParams {
    const MIN_SIZE: usize = 4;
    const MAX_SIZE: usize = 8;
    const REINSERTION_COUNT: usize = 2;
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

/// Points by place (an R-tree of 32-byte leaves keyed by `f32` lon/lat) and by id (a slot
/// table and a hash table of slot numbers). See README, "How it works".
pub(crate) struct Dynamic {
    tree: Tree,
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_id: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl Default for Dynamic {
    fn default() -> Self {
        Self::with_capacity(0)
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

impl Dynamic {
    /// Room for `n` points in the slot and id tables: growing them by doubling rehashed every
    /// id at once (1–1.5 ms of one insert for some 60,000 ids).
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            tree: Tree::new_with_params(),
            slots: Vec::with_capacity(n),
            free: Vec::new(),
            by_id: HashTable::with_capacity(n),
            hasher: DefaultHashBuilder::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Slots ever used (the tombstones of a frozen part are numbered by slot).
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn slot_of(&self, id: ProblemId) -> Option<u32> {
        let h = self.hasher.hash_one(id);
        self.by_id
            .find(h, |&s| self.slots[s as usize].id == id)
            .copied()
    }

    fn selector(&self, slot: u32) -> SlotSelector {
        SlotSelector {
            key: self.slots[slot as usize].key,
            slot,
        }
    }

    pub(crate) fn leaf(&self, slot: u32) -> &Leaf {
        self.tree
            .locate_with_selection_function(self.selector(slot))
            .next()
            .expect("every slot in the id table has its leaf in the tree")
    }

    pub(crate) fn record(&self, slot: u32) -> PointRecord {
        self.leaf(slot).record(self.slots[slot as usize].id)
    }

    /// Adds a record whose id no part of the index holds.
    pub(crate) fn insert(&mut self, record: PointRecord) -> Result<(), IndexError> {
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
            None => u32::try_from(slots.len()).map_err(|_| IndexError::TooManyProblems)?,
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

    /// Removes the problem in `slot` and returns its record.
    pub(crate) fn remove(&mut self, slot: u32) -> PointRecord {
        let id = self.slots[slot as usize].id;
        let h = self.hasher.hash_one(id);
        self.by_id
            .find_entry(h, |&s| s == slot)
            .expect("every slot in the tree is in the id table")
            .remove();
        let leaf = self
            .tree
            .remove_with_selection_function(self.selector(slot))
            .expect("every slot in the id table has its leaf in the tree");
        self.free.push(slot);
        leaf.record(id)
    }

    /// Changes the problem in `slot` and returns its new record: a move re-inserts the leaf,
    /// other changes edit it in place.
    pub(crate) fn update(&mut self, slot: u32, change: &PointUpdate) -> PointRecord {
        let id = self.slots[slot as usize].id;
        let sel = self.selector(slot);
        if let Some(p) = change.position {
            let mut leaf = self
                .tree
                .remove_with_selection_function(sel)
                .expect("every slot in the id table has its leaf in the tree");
            leaf.apply(change);
            leaf.lon = p.lon();
            leaf.lat = p.lat();
            self.slots[slot as usize].key = key(leaf.lon, leaf.lat);
            self.tree.insert(leaf);
            leaf.record(id)
        } else {
            let leaf = self
                .tree
                .locate_with_selection_function_mut(sel)
                .next()
                .expect("every slot in the id table has its leaf in the tree");
            leaf.apply(change);
            leaf.record(id)
        }
    }

    /// Every leaf, in tree order.
    pub(crate) fn leaves(&self) -> impl Iterator<Item = &Leaf> {
        self.tree.iter()
    }

    /// The box around every leaf (`None` when empty).
    pub(crate) fn bounds(&self) -> Option<BBox> {
        (self.tree.size() > 0).then(|| widen_key_envelope(&self.tree.root().envelope()))
    }

    #[inline]
    pub(crate) fn id_of(&self, leaf: &Leaf) -> ProblemId {
        self.slots[leaf.slot as usize].id
    }

    pub(crate) fn root(&self) -> &Node {
        self.tree.root()
    }
}

/// Calls `f` with every leaf under `node` in the region that passes the filter, in tree order.
pub(crate) fn visit_prepared<'s, F: FnMut(&'s Leaf)>(
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
pub(crate) fn visit_circle<'s, F: FnMut(&'s Leaf, f64)>(
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

/// Best-first search: offers to `knn` every leaf that passes the filter and `alive` and may be
/// among the nearest. Nodes are expanded in order of a lower bound of `a` over their box; the
/// search stops when the nearest unexpanded node is farther than the k-th best.
pub(crate) fn nearest_leaves<'a>(
    root: &'a Node,
    from: &HaversineFrom,
    filter: &Filter,
    alive: impl Fn(&Leaf) -> bool,
    knn: &mut Knn<&'a Leaf>,
) {
    let mut queue = BinaryHeap::with_capacity(32);
    queue.push(Pending {
        key: 0.0,
        node: root,
    });
    while let Some(Pending { key, node }) = queue.pop() {
        if key > knn.limit() {
            break;
        }
        for child in node.children() {
            match child {
                RTreeNode::Leaf(l) => {
                    if filter.matches_leaf(l) && alive(l) {
                        knn.offer_point(from, l.lon, l.lat, l);
                    }
                }
                RTreeNode::Parent(p) => {
                    let key = a_lower_bound(from, &widen_key_envelope(&p.envelope()));
                    if key <= knn.limit() {
                        queue.push(Pending { key, node: p });
                    }
                }
            }
        }
    }
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
        assert_eq!(size_of::<crate::packed::Attr>(), 4);
    }
}
