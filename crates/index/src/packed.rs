//! The packed part of [`crate::ProblemIndex`]: most of the points, in flat arrays ordered along
//! a Hilbert curve, under a static tree of `f32` boxes. Built at once (bulk load, merge) and
//! never changed afterwards; removals are tombstones kept beside it ([`Tombstones`]).

use std::hash::BuildHasher;
use std::ops::Range;

use civmap_domain::{ProblemId, Severity, Status};
use hashbrown::DefaultHashBuilder;

use crate::area::{AreaGrid, BoxClass, Shape};
use crate::error::IndexError;
use crate::filter::Filter;
use crate::geodesy::{BBox, HaversineFrom};
use crate::nearest::{Knn, Pending, a_lower_bound};
use crate::record::{Leaf, PointRecord};
use crate::region::Prepared;

/// Points per leaf block. One 32-bit tombstone word per block: a block without removals is
/// recognised by one comparison and, when the filter keeps everything, its ids are copied out
/// whole.
pub(crate) const BLOCK: usize = 32;

/// Children per inner node: 1M points make 31,250 blocks under 4 levels of inner nodes.
const FANOUT: usize = 16;

/// The attributes a filter reads besides the report time: 4 bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attr {
    category: u16,
    status: Status,
    severity: Severity,
}

/// Points in Hilbert order, as parallel arrays (44 bytes a point), a tree of node boxes over
/// them and a table from id to position (about 5 bytes a point). See README, "How it works".
pub(crate) struct Packed {
    ids: Vec<ProblemId>,
    /// Exact positions, `[lon, lat]`.
    xy: Vec<[f64; 2]>,
    reported_ms: Vec<i64>,
    attr: Vec<Attr>,
    /// `[min_lon, min_lat, max_lon, max_lat]` of every node, the blocks first, then each level
    /// of inner nodes, the root last. Rounded outwards to `f32`: a box holds every exact
    /// position under it.
    boxes: Vec<[f32; 4]>,
    /// Where each level starts in `boxes` (blocks at 0), and `boxes.len()` last.
    levels: Vec<usize>,
    /// Positions grouped by the top bits of their id's hash; `buckets[b]..buckets[b + 1]` is
    /// bucket `b` (2 to 8 positions on average).
    by_hash: Vec<u32>,
    buckets: Vec<u32>,
    /// `hash >> shift` is the bucket.
    shift: u32,
    hasher: DefaultHashBuilder,
}

/// Removed points of a part that is not changed in place: one bit per position, and the count.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tombstones {
    words: Vec<u32>,
    count: usize,
}

impl Tombstones {
    /// None dead among `n` positions.
    pub(crate) fn new(n: usize) -> Self {
        Self {
            words: vec![0; n.div_ceil(32)],
            count: 0,
        }
    }

    /// Marks a position dead.
    pub(crate) fn kill(&mut self, i: usize) {
        let w = &mut self.words[i / 32];
        debug_assert!(*w & (1 << (i % 32)) == 0, "position {i} killed twice");
        *w |= 1 << (i % 32);
        self.count += 1;
    }

    #[inline]
    pub(crate) fn is_dead(&self, i: usize) -> bool {
        (self.words[i / 32] >> (i % 32)) & 1 == 1
    }

    /// The 32 bits of positions `32 w .. 32 w + 32`.
    #[inline]
    fn word(&self, w: usize) -> u32 {
        self.words[w]
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

/// Where a traversal of the packed part looks.
pub(crate) enum Area<'a> {
    All,
    Box(BBox),
    Shape(Shape<'a>, &'a AreaGrid),
}

impl Area<'_> {
    fn class(&self, b: &BBox) -> BoxClass {
        match self {
            Area::All => BoxClass::Inside,
            Area::Box(q) => {
                if b.max_lon() < q.min_lon()
                    || b.min_lon() > q.max_lon()
                    || b.max_lat() < q.min_lat()
                    || b.min_lat() > q.max_lat()
                {
                    BoxClass::Outside
                } else if b.min_lon() >= q.min_lon()
                    && b.max_lon() <= q.max_lon()
                    && b.min_lat() >= q.min_lat()
                    && b.max_lat() <= q.max_lat()
                {
                    BoxClass::Inside
                } else {
                    BoxClass::Mixed
                }
            }
            Area::Shape(_, grid) => grid.classify_box(b),
        }
    }

    #[inline]
    fn holds(&self, [lon, lat]: [f64; 2]) -> bool {
        match self {
            Area::All => true,
            Area::Box(q) => q.contains_xy(lon, lat),
            Area::Shape(shape, grid) => grid.contains(shape, lon, lat),
        }
    }
}

/// What a traversal hands its points to.
pub(crate) trait Sink {
    /// A point in the area that is alive and passes the filter.
    fn point(&mut self, p: &Packed, i: usize);

    /// Points `r` are all in the area and alive, and the filter keeps everything.
    fn run(&mut self, p: &Packed, r: Range<usize>) {
        for i in r {
            self.point(p, i);
        }
    }
}

/// The ids of the points, in packed order.
pub(crate) struct Ids<'o>(pub(crate) &'o mut Vec<ProblemId>);

impl Sink for Ids<'_> {
    fn point(&mut self, p: &Packed, i: usize) {
        self.0.push(p.ids[i]);
    }

    fn run(&mut self, p: &Packed, r: Range<usize>) {
        self.0.extend_from_slice(&p.ids[r]);
    }
}

/// How many points.
pub(crate) struct Count(pub(crate) usize);

impl Sink for Count {
    fn point(&mut self, _: &Packed, _: usize) {
        self.0 += 1;
    }

    fn run(&mut self, _: &Packed, r: Range<usize>) {
        self.0 += r.len();
    }
}

/// Each point's position, handed to a closure.
pub(crate) struct Each<F>(pub(crate) F);

impl<F: FnMut(&Packed, usize)> Sink for Each<F> {
    fn point(&mut self, p: &Packed, i: usize) {
        (self.0)(p, i);
    }
}

/// Passes on the points within `radius_m` of `from` (haversine, boundary included).
struct InCircle<'s, S> {
    from: &'s HaversineFrom,
    radius_m: f64,
    sink: &'s mut S,
}

impl<S: Sink> Sink for InCircle<'_, S> {
    fn point(&mut self, p: &Packed, i: usize) {
        let [lon, lat] = p.xy[i];
        if self.from.distance(lon, lat) <= self.radius_m {
            self.sink.point(p, i);
        }
    }
}

impl Packed {
    /// Packs the records: orders them along a Hilbert curve, copies them into the arrays in
    /// that order, builds the boxes and the id table. Fails on a duplicate id.
    pub(crate) fn build(recs: &[PointRecord]) -> Result<Self, IndexError> {
        Self::build_within(recs, BBox::around(recs.iter().map(|r| r.position)))
    }

    /// [`Self::build`], given the box around the records (`None` when there are none).
    pub(crate) fn build_within(
        recs: &[PointRecord],
        bounds: Option<BBox>,
    ) -> Result<Self, IndexError> {
        let n = recs.len();
        u32::try_from(n).map_err(|_| IndexError::TooManyProblems)?;
        let hasher = DefaultHashBuilder::default();
        // Two threads (README, "Speed"): the Hilbert keys in halves, the id hashes beside; then
        // the copy into packed order beside the id table.
        let mut order = vec![0u64; n];
        let hashes = std::thread::scope(|s| {
            let (first, second) = order.split_at_mut(n / 2);
            let other = s.spawn(|| {
                hilbert_keys(recs, n / 2, bounds.as_ref(), second);
                recs.iter()
                    .map(|r| hasher.hash_one(r.id))
                    .collect::<Vec<u64>>()
            });
            hilbert_keys(recs, 0, bounds.as_ref(), first);
            join(other)
        });
        sort_by_top_bits(&mut order, HILBERT_SORT_BITS);
        // The low half of each sorted key is the input index of the record at that position.
        let input = |p: usize| order[p] as u32 as usize;
        let (table, (ids, xy, reported_ms, attr), (boxes, levels)) = std::thread::scope(|s| {
            let table = s.spawn(|| build_id_table(n, |p| hashes[input(p)], |p| recs[input(p)].id));
            let columns = gather(&order, recs);
            let boxes = build_boxes(&columns.1);
            (join(table), columns, boxes)
        });
        let (by_hash, buckets, shift) = table?;
        Ok(Self {
            ids,
            xy,
            reported_ms,
            attr,
            boxes,
            levels,
            by_hash,
            buckets,
            shift,
            hasher,
        })
    }

    pub(crate) fn empty() -> Self {
        Self::build(&[]).expect("nothing to collide")
    }

    /// Points held, dead ones included.
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The position of an id (dead or alive).
    pub(crate) fn position_of(&self, id: ProblemId) -> Option<usize> {
        let b = (self.hasher.hash_one(id) >> self.shift) as usize;
        let bucket = &self.by_hash[self.buckets[b] as usize..self.buckets[b + 1] as usize];
        bucket
            .iter()
            .map(|&p| p as usize)
            .find(|&p| self.ids[p] == id)
    }

    pub(crate) fn id(&self, i: usize) -> ProblemId {
        self.ids[i]
    }

    /// The exact `[lon, lat]` at position `i`.
    pub(crate) fn xy(&self, i: usize) -> [f64; 2] {
        self.xy[i]
    }

    /// The point at position `i`, its `slot` being `i`.
    #[inline]
    pub(crate) fn leaf(&self, i: usize) -> Leaf {
        let [lon, lat] = self.xy[i];
        let a = self.attr[i];
        Leaf {
            lon,
            lat,
            reported_ms: self.reported_ms[i],
            slot: i as u32,
            category: a.category,
            status: a.status,
            severity: a.severity,
        }
    }

    pub(crate) fn record(&self, i: usize) -> PointRecord {
        self.leaf(i).record(self.ids[i])
    }

    /// The box of the root (`None` when empty).
    pub(crate) fn bounds(&self) -> Option<BBox> {
        self.boxes.last().map(to_bbox)
    }

    #[inline]
    fn matches(&self, filter: &Filter, i: usize) -> bool {
        let a = self.attr[i];
        filter.matches_parts(a.category, a.status, a.severity, self.reported_ms[i])
    }

    fn root_level(&self) -> usize {
        self.levels.len() - 2
    }

    /// Node `k` of `level`: its box index and the range of its children one level down (or of
    /// its points, at level 0).
    fn points_of(level: usize, k: usize, n: usize) -> Range<usize> {
        let span = BLOCK * FANOUT.pow(level as u32);
        k * span..((k + 1) * span).min(n)
    }

    fn children(&self, level: usize, k: usize) -> Range<usize> {
        let below = self.levels[level] - self.levels[level - 1];
        k * FANOUT..((k + 1) * FANOUT).min(below)
    }

    fn node_box(&self, level: usize, k: usize) -> BBox {
        to_bbox(&self.boxes[self.levels[level] + k])
    }

    /// The nodes one level below the root, for splitting a traversal over threads: the level
    /// and how many nodes it has (`None` for a tree of one level).
    pub(crate) fn split_level(&self) -> Option<(usize, usize)> {
        let root = self.root_level();
        (root > 0).then(|| (root - 1, self.levels[root] - self.levels[root - 1]))
    }

    /// Hands every alive point of the region that passes the filter to the sink, in packed
    /// order; under the nodes `nodes` = (level, range) only, or the whole tree (`None`).
    pub(crate) fn scan(
        &self,
        region: &Prepared<'_>,
        nodes: Option<(usize, Range<usize>)>,
        dead: &Tombstones,
        filter: &Filter,
        sink: &mut impl Sink,
    ) {
        if self.ids.is_empty() {
            return;
        }
        let nodes = nodes.unwrap_or((self.root_level(), 0..1));
        let go = |area: &Area<'_>, sink: &mut _| {
            self.scan_nodes(&nodes, area, dead, filter, sink);
        };
        match region {
            Prepared::Nothing => {}
            Prepared::All => go(&Area::All, sink),
            Prepared::Boxes(b1, b2) => {
                for b in std::iter::once(b1).chain(b2) {
                    go(&Area::Box(*b), sink);
                }
            }
            Prepared::Circle {
                boxes: (b1, b2),
                from,
                radius_m,
            } => {
                let mut sink = InCircle {
                    from,
                    radius_m: *radius_m,
                    sink,
                };
                for b in std::iter::once(b1).chain(b2) {
                    self.scan_nodes(&nodes, &Area::Box(*b), dead, filter, &mut sink);
                }
            }
            Prepared::Area { shape, grid } => go(&Area::Shape(*shape, grid), sink),
        }
    }

    /// Hands every alive point of `area` under `nodes` that passes the filter to the sink.
    pub(crate) fn scan_nodes(
        &self,
        (level, nodes): &(usize, Range<usize>),
        area: &Area<'_>,
        dead: &Tombstones,
        filter: &Filter,
        sink: &mut impl Sink,
    ) {
        let (level, nodes) = (*level, nodes.clone());
        let everything = filter.matches_all();
        for k in nodes {
            self.walk(level, k, area, &mut |r, inside| {
                self.emit(r, inside && everything, inside, area, dead, filter, sink);
            });
        }
    }

    /// Calls `visit(points, inside)` for every node under (level, k) that may hold points of
    /// the area: `inside` when the node's box lies in it, so that every point does; otherwise
    /// a leaf block whose points must each be tested.
    fn walk(
        &self,
        level: usize,
        k: usize,
        area: &Area<'_>,
        visit: &mut impl FnMut(Range<usize>, bool),
    ) {
        match area.class(&self.node_box(level, k)) {
            BoxClass::Outside => {}
            BoxClass::Inside => visit(Self::points_of(level, k, self.len()), true),
            BoxClass::Mixed if level == 0 => visit(Self::points_of(0, k, self.len()), false),
            BoxClass::Mixed => {
                for c in self.children(level, k) {
                    self.walk(level - 1, c, area, visit);
                }
            }
        }
    }

    /// Hands the points of `r` to the sink: whole runs of blocks without tombstones when
    /// `whole` (in the area, filter keeps everything), else point by point.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        r: Range<usize>,
        whole: bool,
        inside: bool,
        area: &Area<'_>,
        dead: &Tombstones,
        filter: &Filter,
        sink: &mut impl Sink,
    ) {
        // `r` starts on a block boundary.
        let mut clean_from = r.start;
        let mut start = r.start;
        while start < r.end {
            let end = (start + BLOCK).min(r.end);
            let word = dead.word(start / BLOCK);
            if !(whole && word == 0) {
                if clean_from < start {
                    sink.run(self, clean_from..start);
                }
                for i in start..end {
                    if (word >> (i % BLOCK)) & 1 == 0
                        && (inside || area.holds(self.xy[i]))
                        && self.matches(filter, i)
                    {
                        sink.point(self, i);
                    }
                }
                clean_from = end;
            }
            start = end;
        }
        if clean_from < r.end {
            sink.run(self, clean_from..r.end);
        }
    }

    /// Offers every alive point that passes the filter and may be among the nearest to `knn`
    /// (best-first over the nodes, as the R-tree search; see [`crate::nearest`]).
    pub(crate) fn nearest(
        &self,
        from: &HaversineFrom,
        filter: &Filter,
        dead: &Tombstones,
        knn: &mut Knn<usize>,
    ) {
        if self.ids.is_empty() {
            return;
        }
        let everything = filter.matches_all();
        let mut queue = std::collections::BinaryHeap::with_capacity(64);
        queue.push(Pending {
            key: 0.0,
            node: (self.root_level(), 0),
        });
        while let Some(Pending {
            key,
            node: (level, k),
        }) = queue.pop()
        {
            if key > knn.limit() {
                break;
            }
            if level == 0 {
                let word = dead.word(k);
                for i in Self::points_of(0, k, self.len()) {
                    if (word >> (i % BLOCK)) & 1 == 1 || !(everything || self.matches(filter, i)) {
                        continue;
                    }
                    let [lon, lat] = self.xy[i];
                    knn.offer_point(from, lon, lat, i);
                }
                continue;
            }
            for c in self.children(level, k) {
                let key = a_lower_bound(from, &self.node_box(level - 1, c));
                if key <= knn.limit() {
                    queue.push(Pending {
                        key,
                        node: (level - 1, c),
                    });
                }
            }
        }
    }
}

/// The columns of the packed arrays, in packed order (`order`'s low halves): one pass, each
/// record read once (the reads are random; reading each record four times cost twice as long).
fn gather(
    order: &[u64],
    recs: &[PointRecord],
) -> (Vec<ProblemId>, Vec<[f64; 2]>, Vec<i64>, Vec<Attr>) {
    let n = order.len();
    let mut ids = Vec::with_capacity(n);
    let mut xy = Vec::with_capacity(n);
    let mut reported_ms = Vec::with_capacity(n);
    let mut attr = Vec::with_capacity(n);
    for &k in order {
        let r = &recs[k as u32 as usize];
        ids.push(r.id);
        xy.push([r.position.lon(), r.position.lat()]);
        reported_ms.push(r.reported_ms);
        attr.push(Attr {
            category: r.category.0,
            status: r.status,
            severity: r.severity,
        });
    }
    (ids, xy, reported_ms, attr)
}

/// The result of a scoped thread; a panic there is a bug in the build, passed on as it is.
fn join<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
    h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
}

fn to_bbox(b: &[f32; 4]) -> BBox {
    BBox::new_unchecked(
        f64::from(b[0]),
        f64::from(b[1]),
        f64::from(b[2]),
        f64::from(b[3]),
    )
}

/// The largest `f32` at most `x`.
fn f32_down(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) > x { f.next_down() } else { f }
}

/// The smallest `f32` at least `x`.
fn f32_up(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) < x { f.next_up() } else { f }
}

/// Boxes of the blocks and of every level of inner nodes above them, and where each level
/// starts (see [`Packed::boxes`]).
fn build_boxes(xy: &[[f64; 2]]) -> (Vec<[f32; 4]>, Vec<usize>) {
    let blocks = xy.len().div_ceil(BLOCK);
    let mut boxes = Vec::with_capacity(blocks + blocks / (FANOUT - 1) + 2);
    for chunk in xy.chunks(BLOCK) {
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for &[x, y] in chunk {
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
        boxes.push([f32_down(b[0]), f32_down(b[1]), f32_up(b[2]), f32_up(b[3])]);
    }
    let mut levels = vec![0];
    let mut start = 0;
    while boxes.len() - start > 1 {
        let end = boxes.len();
        levels.push(end);
        for first in (start..end).step_by(FANOUT) {
            let last = (first + FANOUT).min(end);
            let mut b = boxes[first];
            for c in &boxes[first + 1..last] {
                b = [
                    b[0].min(c[0]),
                    b[1].min(c[1]),
                    b[2].max(c[2]),
                    b[3].max(c[3]),
                ];
            }
            boxes.push(b);
        }
        start = end;
    }
    levels.push(boxes.len());
    (boxes, levels)
}

/// The id table of the ids `id(0..n)`, whose hashes are `hash(0..n)`: their indices grouped by
/// bucket (`hash >> shift`), the start of each bucket, and the shift. Fails on a duplicate id.
fn build_id_table(
    n: usize,
    hash: impl Fn(usize) -> u64,
    id: impl Fn(usize) -> ProblemId,
) -> Result<(Vec<u32>, Vec<u32>, u32), IndexError> {
    // 2^bits buckets of 4 to 8 ids on average (at least 2 buckets).
    let bits = (usize::BITS - n.leading_zeros()).saturating_sub(3).max(1);
    let shift = 64 - bits;
    // (top half of the hash, position), sorted by bucket: duplicates are then found by
    // comparing the hashes of neighbours in a bucket before any id.
    let mut keyed: Vec<u64> = (0..n)
        .map(|i| (hash(i) & !u64::from(u32::MAX)) | i as u64)
        .collect();
    sort_by_top_bits(&mut keyed, bits);
    let mut buckets = vec![0u32; (1 << bits) + 1];
    for k in &keyed {
        buckets[(k >> shift) as usize + 1] += 1;
    }
    for b in 1..buckets.len() {
        buckets[b] += buckets[b - 1];
    }
    for w in buckets.windows(2) {
        let bucket = &keyed[w[0] as usize..w[1] as usize];
        for (i, a) in bucket.iter().enumerate() {
            for b in &bucket[i + 1..] {
                let (pa, pb) = (*a as u32 as usize, *b as u32 as usize);
                if a >> 32 == b >> 32 && id(pa) == id(pb) {
                    return Err(IndexError::DuplicateProblem(id(pa)));
                }
            }
        }
    }
    let by_hash = keyed.into_iter().map(|k| k as u32).collect();
    Ok((by_hash, buckets, shift))
}

/// Sort keys of `recs[from..from + out.len()]` into `out`: the Hilbert index of the position on
/// a 2^16 × 2^16 grid over the records' box in the high half, the input index in the low half.
/// Sorted by their top [`HILBERT_SORT_BITS`] (a 2^12 × 2^12 grid), they give the packed order,
/// ties in input order.
fn hilbert_keys(recs: &[PointRecord], from: usize, bounds: Option<&BBox>, out: &mut [u64]) {
    let Some(b) = bounds else { return };
    let scale = |lo: f64, hi: f64| {
        if hi > lo {
            f64::from(u16::MAX) / (hi - lo)
        } else {
            0.0
        }
    };
    let (sx, sy) = (
        scale(b.min_lon(), b.max_lon()),
        scale(b.min_lat(), b.max_lat()),
    );
    for (i, (k, r)) in out.iter_mut().zip(&recs[from..]).enumerate() {
        // Saturating casts: rounding can only take a coordinate to 0 or 65,535.
        let x = ((r.position.lon() - b.min_lon()) * sx) as u32;
        let y = ((r.position.lat() - b.min_lat()) * sy) as u32;
        *k = (u64::from(hilbert(x, y)) << 32) | (from + i) as u64;
    }
}

/// Bits of the Hilbert index that order the packed points: cells of 12 m over a 50 km city,
/// far smaller than a block (32 points of a dense city cover ~100 m); two radix passes.
const HILBERT_SORT_BITS: u32 = 24;

/// Sorts by the top `bits` bits, stably: an LSD radix sort in passes of at most 12 bits (a
/// million keys in a few milliseconds a pass, against ~60 ms for a comparison sort here).
fn sort_by_top_bits(v: &mut Vec<u64>, bits: u32) {
    const PASS: u32 = 12;
    let mut tmp = vec![0u64; v.len()];
    let mut shift = 64 - bits;
    while shift < 64 {
        let width = (64 - shift).min(PASS);
        let mask = (1u64 << width) - 1;
        shift += width;
        let low = shift - width;
        let mut count = vec![0usize; 1 << width];
        for &x in v.iter() {
            count[((x >> low) & mask) as usize] += 1;
        }
        if count.contains(&v.len()) {
            continue; // one digit for all: this pass would not move anything
        }
        let mut sum = 0;
        for c in &mut count {
            (*c, sum) = (sum, sum + *c);
        }
        for &x in v.iter() {
            let d = ((x >> low) & mask) as usize;
            tmp[count[d]] = x;
            count[d] += 1;
        }
        std::mem::swap(v, &mut tmp);
    }
}

/// The index of cell (x, y) (each below 2^16) along the Hilbert curve over the 2^16 × 2^16
/// grid that starts at (0, 0): consecutive indices are neighbouring cells. The branch-free
/// bit-parallel form (rawrunprotected's public-domain `hilbert`, as in flatbush and geo-index), about 5 ns.
fn hilbert(x: u32, y: u32) -> u32 {
    let mut a = x ^ y;
    let mut b = 0xFFFF ^ a;
    let mut c = 0xFFFF ^ (x | y);
    let mut d = x & (y ^ 0xFFFF);

    let mut aa = a | (b >> 1);
    let mut bb = (a >> 1) ^ a;
    let mut cc = ((c >> 1) ^ (b & (d >> 1))) ^ c;
    let mut dd = ((a & (c >> 1)) ^ (d >> 1)) ^ d;

    (a, b, c, d) = (aa, bb, cc, dd);
    aa = (a & (a >> 2)) ^ (b & (b >> 2));
    bb = (a & (b >> 2)) ^ (b & ((a ^ b) >> 2));
    cc ^= (a & (c >> 2)) ^ (b & (d >> 2));
    dd ^= (b & (c >> 2)) ^ ((a ^ b) & (d >> 2));

    (a, b, c, d) = (aa, bb, cc, dd);
    aa = (a & (a >> 4)) ^ (b & (b >> 4));
    bb = (a & (b >> 4)) ^ (b & ((a ^ b) >> 4));
    cc ^= (a & (c >> 4)) ^ (b & (d >> 4));
    dd ^= (b & (c >> 4)) ^ ((a ^ b) & (d >> 4));

    (a, b, c, d) = (aa, bb, cc, dd);
    cc ^= (a & (c >> 8)) ^ (b & (d >> 8));
    dd ^= (b & (c >> 8)) ^ ((a ^ b) & (d >> 8));

    a = cc ^ (cc >> 1);
    b = dd ^ (dd >> 1);

    let spread = |mut v: u32| {
        v = (v | (v << 8)) & 0x00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333;
        (v | (v << 1)) & 0x5555_5555
    };
    let i0 = x ^ y;
    let i1 = b | (0xFFFF ^ (i0 | a));
    (spread(i1) << 1) | spread(i0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use civmap_domain::{CategoryId, LonLat};

    #[test]
    fn hilbert_walks_neighbouring_cells() {
        // The first 4^6 indices of the curve fill the 64 × 64 corner, each step to a neighbour.
        let mut cells: Vec<(u32, u32, u32)> = (0..64)
            .flat_map(|x| (0..64).map(move |y| (hilbert(x, y), x, y)))
            .collect();
        cells.sort_unstable();
        for (i, w) in cells.windows(2).enumerate() {
            assert_eq!(w[0].0, i as u32);
            let step = w[0].1.abs_diff(w[1].1) + w[0].2.abs_diff(w[1].2);
            assert_eq!(step, 1, "{:?} -> {:?}", w[0], w[1]);
        }
        assert_eq!(
            hilbert(0xFFFF, 0),
            u32::MAX,
            "the curve ends in the other bottom corner"
        );
    }

    #[test]
    fn radix_sort_orders_by_top_bits_stably() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let v: Vec<u64> = (0..50_000u64)
            .map(|i| {
                (u64::from(rng.random_range(0..5_000u32) << rng.random_range(0..20)) << 32) | i
            })
            .collect();
        for bits in [1, 17, 24, 32] {
            let mut want = v.clone();
            want.sort_by_key(|x| x >> (64 - bits));
            let mut got = v.clone();
            sort_by_top_bits(&mut got, bits);
            assert_eq!(got, want, "{bits} bits");
        }
    }

    #[test]
    fn boxes_hold_their_points_exactly() {
        let n = 5_000;
        let recs: Vec<PointRecord> = (0..n)
            .map(|i| PointRecord {
                id: ProblemId(uuid::Uuid::from_u128(i as u128 + 1)),
                position: LonLat::new(
                    121.4 + (i as f64 * 0.618_034).fract() * 0.1,
                    31.2 + (i as f64 * 0.414_214).fract() * 0.1,
                )
                .unwrap(),
                category: CategoryId(1),
                status: Status::Reported,
                severity: Severity::Low,
                reported_ms: 0,
            })
            .collect();
        let p = Packed::build(&recs).unwrap();
        assert_eq!(p.len(), n);
        for level in 0..=p.root_level() {
            for k in 0..p.levels[level + 1] - p.levels[level] {
                let b = p.node_box(level, k);
                for i in Packed::points_of(level, k, n) {
                    assert!(
                        b.contains_xy(p.xy[i][0], p.xy[i][1]),
                        "level {level} node {k} point {i}"
                    );
                }
            }
        }
        assert_eq!(
            p.levels[p.root_level() + 1] - p.levels[p.root_level()],
            1,
            "one root"
        );
        for i in 0..n {
            assert_eq!(p.position_of(p.ids[i]), Some(i));
        }
        assert_eq!(p.position_of(ProblemId(uuid::Uuid::from_u128(0))), None);
    }
}
