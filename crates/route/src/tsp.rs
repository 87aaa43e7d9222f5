//! The stop-ordering solver: travelling-salesman tours and fixed-end paths on a dense
//! integer cost matrix.
//!
//! The matrix may be asymmetric (one-way streets make the road time from `a` to `b`
//! differ from `b` to `a`); every move is then evaluated exactly, including the cost
//! change of a reversed segment.
//!
//! Method: greedy-edge construction (nearest neighbour for asymmetric matrices), then
//! iterated local search. The local search applies 2-opt and Or-opt moves (segments of
//! 1–3 nodes, inserted forwards or reversed) found through nearest-neighbour candidate
//! lists and a queue of "dirty" nodes (don't-look bits). The tour is an array with a
//! position index; a move is a sequence of path reversals, and a symmetric matrix lets a
//! reversal run over the shorter side of the cycle. Each round perturbs the tour with a
//! segment-swap "double bridge" whose cut points are near each other in space, repairs it
//! with the local search, and keeps the result if it is no longer than before (otherwise
//! the reversals are undone from a journal).
//!
//! The run is deterministic for a given [`SolverConfig::seed`] as long as it stops on its
//! iteration limits; the wall-clock limit is a safety net for large instances.
//!
//! ```
//! use civmap_route::tsp::{CostMatrix, SolverConfig, solve_tour};
//! // Four corners of a unit square (costs x100): the optimal tour goes round the edge.
//! let pts = [(0, 0), (100, 100), (100, 0), (0, 100)];
//! let m = CostMatrix::from_fn(4, |i, j| {
//!     let (dx, dy) = (pts[i].0 - pts[j].0, pts[i].1 - pts[j].1);
//!     f64::from(dx * dx + dy * dy).sqrt().round() as i64
//! })?;
//! let tour = solve_tour(&m, &SolverConfig::default());
//! assert_eq!(tour.cost, 400);
//! # Ok::<(), civmap_route::tsp::SolverError>(())
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Largest absolute cost accepted in a [`CostMatrix`] entry.
pub const MAX_COST: i64 = 1 << 30;

/// Candidates tried at each depth of the Lin–Kernighan-style move (depth 0 tries the whole
/// candidate list); its length is the depth limit. Measured on the TSPLIB benchmark: deeper or
/// wider chains cost more per round than they gain in a fixed time.
const LK_BREADTH: [usize; 4] = [0, 3, 2, 1];

/// Instances up to this size are solved exactly by enumeration.
const EXACT_MAX_NODES: usize = 8;

/// Errors of the solver module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SolverError {
    /// A cost is larger in magnitude than [`MAX_COST`].
    #[error(
        "cost {value} from node {from} to node {to} is outside the supported range ±{MAX_COST}"
    )]
    CostOutOfRange {
        /// Row of the entry.
        from: usize,
        /// Column of the entry.
        to: usize,
        /// The offending value.
        value: i64,
    },
    /// A node index is not below the matrix size.
    #[error("node {node} does not exist in a matrix of {n} nodes")]
    NodeOutOfRange {
        /// The index given.
        node: usize,
        /// Matrix size.
        n: usize,
    },
    /// The path costs are so large that fixing the path's end points would overflow.
    #[error(
        "path costs too large: {n} nodes with costs up to {max_cost} exceed the solver's range"
    )]
    PathCostsTooLarge {
        /// Matrix size.
        n: usize,
        /// Largest cost.
        max_cost: i64,
    },
}

/// A dense `n x n` cost matrix; entry `(i, j)` is the cost of going from node `i` to node `j`
/// (the unit is the caller's: TSPLIB distance units, road deciseconds, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostMatrix {
    n: usize,
    d: Vec<i32>,
}

impl CostMatrix {
    /// Builds the matrix from a cost function; the diagonal is stored as zero whatever `f` says.
    pub fn from_fn(n: usize, mut f: impl FnMut(usize, usize) -> i64) -> Result<Self, SolverError> {
        let mut d = vec![0i32; n * n];
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let value = f(i, j);
                if value.abs() > MAX_COST {
                    return Err(SolverError::CostOutOfRange {
                        from: i,
                        to: j,
                        value,
                    });
                }
                d[i * n + j] = value as i32;
            }
        }
        Ok(Self { n, d })
    }

    /// Number of nodes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.n
    }

    /// `true` when the matrix has no nodes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Cost from `i` to `j`.
    ///
    /// # Panics
    /// When `i` or `j` is not below [`len`](Self::len).
    #[must_use]
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> i64 {
        i64::from(self.d[i * self.n + j])
    }

    /// `true` when `get(i, j) == get(j, i)` for every pair.
    #[must_use]
    pub fn is_symmetric(&self) -> bool {
        (0..self.n)
            .all(|i| (i + 1..self.n).all(|j| self.d[i * self.n + j] == self.d[j * self.n + i]))
    }

    /// Length of the closed tour `order` (the edge back from the last node to the first included).
    #[must_use]
    pub fn tour_cost(&self, order: &[usize]) -> i64 {
        if order.len() < 2 {
            return 0;
        }
        let closing = self.get(order[order.len() - 1], order[0]);
        self.path_cost(order) + closing
    }

    /// Length of the open path `order` (no closing edge).
    #[must_use]
    pub fn path_cost(&self, order: &[usize]) -> i64 {
        order.windows(2).map(|w| self.get(w[0], w[1])).sum()
    }
}

/// Limits and knobs of a solver run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolverConfig {
    /// Seed of the random perturbations; equal seeds give equal results (unless the time limit cuts a run short).
    pub seed: u64,
    /// Wall-clock limit of the improvement phase.
    pub time_limit: Duration,
    /// Stop after this many consecutive perturbation rounds without a shorter tour.
    /// `None` picks a size-dependent default (`max(10_000, 100 n)`).
    pub idle_rounds: Option<u64>,
    /// Hard cap on perturbation rounds.
    pub max_rounds: u64,
    /// Length of the candidate (nearest-neighbour) lists.
    pub neighbours: usize,
}

impl Default for SolverConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            time_limit: Duration::from_secs(1),
            idle_rounds: None,
            max_rounds: u64::MAX,
            neighbours: 12,
        }
    }
}

impl SolverConfig {
    fn idle_limit(&self, n: usize) -> u64 {
        self.idle_rounds
            .unwrap_or_else(|| (100 * n as u64).max(10_000))
    }
}

/// A closed tour and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tour {
    /// Node indices in visiting order; each node exactly once. A tour over `n >= 1` nodes starts at node 0.
    pub order: Vec<usize>,
    /// Total cost including the closing edge.
    pub cost: i64,
    /// Perturbation rounds run.
    pub rounds: u64,
    /// `true` when the wall-clock limit ended the run (the result may then depend on machine speed).
    pub timed_out: bool,
}

/// Where a [`solve_path`] route ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathEnd {
    /// Back at the start node: a closed tour through it.
    Start,
    /// At the given node.
    Node(usize),
    /// At whichever node is visited last (an open path).
    Free,
}

/// An open path (or a closed tour, for [`PathEnd::Start`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Node indices from the start to the end. For [`PathEnd::Start`] the start is not repeated at the end.
    pub order: Vec<usize>,
    /// Cost of the path (for [`PathEnd::Start`] including the return to the start).
    pub cost: i64,
    /// Perturbation rounds run.
    pub rounds: u64,
    /// `true` when the wall-clock limit ended the run.
    pub timed_out: bool,
}

/// Nearest-neighbour tour from node `start`: always go to the nearest unvisited node.
/// The classic baseline (typically 20–25 % above optimal on Euclidean instances).
///
/// # Panics
/// When `start` is not a node of `m` (and `m` is not empty).
#[must_use]
pub fn nearest_neighbour_tour(m: &CostMatrix, start: usize) -> Tour {
    let order = nearest_neighbour_order(m, start);
    let cost = m.tour_cost(&order);
    Tour {
        order,
        cost,
        rounds: 0,
        timed_out: false,
    }
}

fn nearest_neighbour_order(m: &CostMatrix, start: usize) -> Vec<usize> {
    let n = m.len();
    if n == 0 {
        return Vec::new();
    }
    let mut visited = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut cur = start;
    visited[cur] = true;
    order.push(cur);
    for _ in 1..n {
        let mut best = usize::MAX;
        let mut best_cost = i64::MAX;
        for (j, seen) in visited.iter().enumerate() {
            if !seen && m.get(cur, j) < best_cost {
                best_cost = m.get(cur, j);
                best = j;
            }
        }
        visited[best] = true;
        order.push(best);
        cur = best;
    }
    order
}

/// Solves the travelling-salesman problem on `m`: the shortest closed tour visiting every node once.
#[must_use]
pub fn solve_tour(m: &CostMatrix, cfg: &SolverConfig) -> Tour {
    let n = m.len();
    if n <= EXACT_MAX_NODES {
        let (order, cost) = exact_tour(m);
        return Tour {
            order,
            cost,
            rounds: 0,
            timed_out: false,
        };
    }
    let mut ls = LocalSearch::new(m, cfg);
    let (rounds, timed_out) = ls.run(cfg);
    let mut order: Vec<usize> = ls.tour.iter().map(|&c| c as usize).collect();
    rotate_to(&mut order, 0);
    let cost = m.tour_cost(&order);
    debug_assert_eq!(cost, ls.len);
    Tour {
        order,
        cost,
        rounds,
        timed_out,
    }
}

/// Solves the shortest Hamiltonian path from `start` over all nodes of `m`, ending as `end` says.
///
/// Internally the path becomes a tour whose closing edge (end to start) is forced by a large
/// negative cost; with [`PathEnd::Free`] a zero-cost dummy node stands for "anywhere".
pub fn solve_path(
    m: &CostMatrix,
    start: usize,
    end: PathEnd,
    cfg: &SolverConfig,
) -> Result<Path, SolverError> {
    let n = m.len();
    for node in [
        Some(start),
        if let PathEnd::Node(e) = end {
            Some(e)
        } else {
            None
        },
    ]
    .into_iter()
    .flatten()
    {
        if node >= n {
            return Err(SolverError::NodeOutOfRange { node, n });
        }
    }
    match end {
        PathEnd::Start => {
            let t = solve_tour(m, cfg);
            let mut order = t.order;
            rotate_to(&mut order, start);
            // Keep the orientation the solver chose: the cost is identical after rotation.
            Ok(Path {
                cost: m.tour_cost(&order),
                order,
                rounds: t.rounds,
                timed_out: t.timed_out,
            })
        }
        PathEnd::Node(e) if e == start => solve_path(m, start, PathEnd::Start, cfg),
        PathEnd::Node(e) => {
            if n == 2 {
                return Ok(Path {
                    order: vec![start, e],
                    cost: m.get(start, e),
                    rounds: 0,
                    timed_out: false,
                });
            }
            let big = forced_cost(m)?;
            let sym = m.is_symmetric();
            let aug = CostMatrix::from_fn(n, |i, j| {
                if i == e && j == start {
                    -big
                } else if i == start && j == e {
                    if sym { -big } else { big }
                } else {
                    m.get(i, j)
                }
            })?;
            let t = solve_tour(&aug, cfg);
            let order = open_at(&t.order, e, start);
            Ok(Path {
                cost: m.path_cost(&order),
                order,
                rounds: t.rounds,
                timed_out: t.timed_out,
            })
        }
        PathEnd::Free => {
            if n == 1 {
                return Ok(Path {
                    order: vec![start],
                    cost: 0,
                    rounds: 0,
                    timed_out: false,
                });
            }
            let big = forced_cost(m)?;
            let z = n; // dummy end node
            let sym = m.is_symmetric();
            let aug = CostMatrix::from_fn(n + 1, |i, j| {
                if i == z && j == start || i == start && j == z {
                    if i == z || sym { -big } else { big }
                } else if i == z || j == z {
                    0
                } else {
                    m.get(i, j)
                }
            })?;
            let t = solve_tour(&aug, cfg);
            let mut order = open_at(&t.order, z, start);
            order.pop(); // the dummy
            Ok(Path {
                cost: m.path_cost(&order),
                order,
                rounds: t.rounds,
                timed_out: t.timed_out,
            })
        }
    }
}

/// The forced-edge cost: larger than any path through the matrix, so that a tour keeping the
/// forced edge is always shorter than one without it.
fn forced_cost(m: &CostMatrix) -> Result<i64, SolverError> {
    let n = m.len();
    let max_cost = m.d.iter().map(|&c| i64::from(c).abs()).max().unwrap_or(0);
    // A tour without the forced edge costs at least -(n + 1) * max; one with it at most -big + (n + 1) * max.
    let big = (2 * n as i64 + 3) * max_cost + 1;
    if big > MAX_COST {
        return Err(SolverError::PathCostsTooLarge { n, max_cost });
    }
    Ok(big)
}

/// Turns a tour containing the forced edge `end -> start` (in either orientation for a symmetric
/// matrix) into the path `start .. end`.
fn open_at(order: &[usize], end: usize, start: usize) -> Vec<usize> {
    let n = order.len();
    let ps = order.iter().position(|&c| c == start).unwrap_or(0);
    let forward = order[(ps + n - 1) % n] == end;
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let idx = if forward {
            (ps + k) % n
        } else {
            (ps + n - k) % n
        };
        out.push(order[idx]);
    }
    debug_assert_eq!(out.last(), Some(&end), "forced edge lost");
    out
}

fn rotate_to(order: &mut [usize], first: usize) {
    if let Some(p) = order.iter().position(|&c| c == first) {
        order.rotate_left(p);
    }
}

/// Exhaustive search for tiny instances (node 0 fixed first).
fn exact_tour(m: &CostMatrix) -> (Vec<usize>, i64) {
    let n = m.len();
    if n <= 1 {
        return ((0..n).collect(), 0);
    }
    let mut rest: Vec<usize> = (1..n).collect();
    let mut best = (vec![], i64::MAX);
    permute(&mut rest, 0, &mut |p| {
        let mut cost = m.get(0, p[0]) + m.get(p[p.len() - 1], 0);
        cost += p.windows(2).map(|w| m.get(w[0], w[1])).sum::<i64>();
        if cost < best.1 {
            let mut order = vec![0];
            order.extend_from_slice(p);
            best = (order, cost);
        }
    });
    best
}

fn permute(v: &mut [usize], k: usize, f: &mut impl FnMut(&[usize])) {
    if k == v.len() {
        f(v);
        return;
    }
    for i in k..v.len() {
        v.swap(k, i);
        permute(v, k + 1, f);
        v.swap(k, i);
    }
}

/// Array tour with position index, candidate lists and the move machinery.
struct LocalSearch<'a> {
    m: &'a CostMatrix,
    n: usize,
    asym: bool,
    tour: Vec<u32>,
    pos: Vec<u32>,
    k: usize,
    neigh: Vec<u32>,
    queue: VecDeque<u32>,
    queued: Vec<bool>,
    /// Asymmetric only: prefix sums of forward / backward edge costs along the array.
    fwd: Vec<i64>,
    bwd: Vec<i64>,
    prefix_dirty: bool,
    /// Every reversal applied since the last `journal.clear()`, so a round can be undone.
    journal: Vec<(u32, u32)>,
    len: i64,
    rng: ChaCha8Rng,
}

impl<'a> LocalSearch<'a> {
    fn new(m: &'a CostMatrix, cfg: &SolverConfig) -> Self {
        let n = m.len();
        let asym = !m.is_symmetric();
        let k = cfg.neighbours.clamp(5, n - 1);
        let neigh = if asym {
            neighbour_lists(m, k, asym)
        } else {
            alpha_lists(m, k)
        };
        let order = if asym {
            nearest_neighbour_order(m, 0)
        } else {
            greedy_edge_order(m, &neigh, k)
        };
        let tour: Vec<u32> = order.iter().map(|&c| c as u32).collect();
        let mut pos = vec![0u32; n];
        for (i, &c) in tour.iter().enumerate() {
            pos[c as usize] = i as u32;
        }
        let len = m.tour_cost(&order);
        Self {
            m,
            n,
            asym,
            tour,
            pos,
            k,
            neigh,
            queue: VecDeque::with_capacity(n),
            queued: vec![false; n],
            fwd: vec![0; n + 1],
            bwd: vec![0; n + 1],
            prefix_dirty: true,
            journal: Vec::new(),
            len,
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
        }
    }

    #[inline]
    fn d(&self, i: u32, j: u32) -> i64 {
        i64::from(self.m.d[i as usize * self.n + j as usize])
    }

    #[inline]
    fn succ(&self, c: u32) -> u32 {
        let p = self.pos[c as usize] as usize + 1;
        if p == self.n {
            self.tour[0]
        } else {
            self.tour[p]
        }
    }

    #[inline]
    fn pred(&self, c: u32) -> u32 {
        let p = self.pos[c as usize] as usize;
        if p == 0 {
            self.tour[self.n - 1]
        } else {
            self.tour[p - 1]
        }
    }

    #[inline]
    fn neighbours(&self, c: u32) -> &[u32] {
        let s = c as usize * self.k;
        &self.neigh[s..s + self.k]
    }

    fn push(&mut self, c: u32) {
        if !self.queued[c as usize] {
            self.queued[c as usize] = true;
            self.queue.push_back(c);
        }
    }

    /// Reverses the array positions `start, start+1, ..` (cyclic) over `len` entries and journals it.
    fn reverse_positions(&mut self, start: usize, len: usize) {
        self.reverse_positions_unjournaled(start, len);
        self.journal.push((start as u32, len as u32));
    }

    fn reverse_positions_unjournaled(&mut self, start: usize, len: usize) {
        let n = self.n;
        let mut a = start;
        let mut b = (start + len - 1) % n;
        for _ in 0..len / 2 {
            self.tour.swap(a, b);
            self.pos[self.tour[a] as usize] = a as u32;
            self.pos[self.tour[b] as usize] = b as u32;
            a = if a + 1 == n { 0 } else { a + 1 };
            b = if b == 0 { n - 1 } else { b - 1 };
        }
        self.prefix_dirty = true;
    }

    /// Reverses the tour path from node `from` forward to node `to`. With a symmetric matrix the
    /// complementary path is reversed instead when it is shorter (same cycle, opposite orientation).
    fn reverse_path(&mut self, from: u32, to: u32) {
        let n = self.n;
        let i = self.pos[from as usize] as usize;
        let j = self.pos[to as usize] as usize;
        let len = (j + n - i) % n + 1;
        if !self.asym && 2 * len > n {
            let rest = n - len;
            if rest > 1 {
                self.reverse_positions((j + 1) % n, rest);
            }
        } else if len > 1 {
            self.reverse_positions(i, len);
        }
    }

    /// 2-exchange: removes edges {a,b} and {c,d}, adds {a,c} and {b,d}. Needs `b = succ(a)` and
    /// `d = succ(c)`, or `b = pred(a)` and `d = pred(c)`.
    fn move2(&mut self, a: u32, b: u32, c: u32, d: u32) {
        if self.succ(a) == b {
            debug_assert_eq!(self.succ(c), d);
            self.reverse_path(b, c);
        } else {
            debug_assert_eq!(self.pred(a), b);
            debug_assert_eq!(self.pred(c), d);
            self.reverse_path(c, b);
        }
    }

    fn refresh_prefix(&mut self) {
        if !self.prefix_dirty {
            return;
        }
        let n = self.n;
        for i in 0..n {
            let (x, y) = (self.tour[i], self.tour[(i + 1) % n]);
            self.fwd[i + 1] = self.fwd[i] + self.d(x, y);
            self.bwd[i + 1] = self.bwd[i] + self.d(y, x);
        }
        self.prefix_dirty = false;
    }

    /// Forward and backward cost of the tour path from node `x` forward to node `y` (asymmetric mode).
    fn path_costs(&mut self, x: u32, y: u32) -> (i64, i64) {
        self.refresh_prefix();
        let i = self.pos[x as usize] as usize;
        let j = self.pos[y as usize] as usize;
        if i <= j {
            (self.fwd[j] - self.fwd[i], self.bwd[j] - self.bwd[i])
        } else {
            let n = self.n;
            (
                self.fwd[n] - self.fwd[i] + self.fwd[j],
                self.bwd[n] - self.bwd[i] + self.bwd[j],
            )
        }
    }

    /// Exact cost change of [`move2`](Self::move2)`(a, b, c, d)`.
    fn delta2(&mut self, a: u32, b: u32, c: u32, d: u32) -> i64 {
        if !self.asym {
            return self.d(a, c) + self.d(b, d) - self.d(a, b) - self.d(c, d);
        }
        if self.succ(a) == b {
            // a -> [b .. c] -> d becomes a -> [c .. b] -> d
            let (f, r) = self.path_costs(b, c);
            self.d(a, c) + self.d(b, d) - self.d(a, b) - self.d(c, d) + r - f
        } else {
            // d -> [c .. b] -> a becomes d -> [b .. c] -> a
            let (f, r) = self.path_costs(c, b);
            self.d(d, b) + self.d(c, a) - self.d(b, a) - self.d(d, c) + r - f
        }
    }

    fn try_2opt(&mut self, t1: u32) -> bool {
        for forward in [true, false] {
            let t2 = if forward {
                self.succ(t1)
            } else {
                self.pred(t1)
            };
            let d12 = self.d(t1, t2);
            for idx in 0..self.k {
                let t3 = self.neigh[t2 as usize * self.k + idx];
                let g1 = d12 - self.d(t2, t3);
                if !self.asym && g1 <= 0 {
                    break;
                }
                if t3 == t1 {
                    continue;
                }
                let t4 = if forward {
                    self.pred(t3)
                } else {
                    self.succ(t3)
                };
                if t4 == t2 {
                    continue;
                }
                let delta = self.delta2(t1, t2, t4, t3);
                if delta < 0 {
                    self.move2(t1, t2, t4, t3);
                    self.len += delta;
                    for c in [t1, t2, t3, t4] {
                        self.push(c);
                    }
                    return true;
                }
            }
        }
        false
    }

    /// Lin–Kernighan-style move (symmetric matrices): a chain of up to [`LK_BREADTH`]`.len()`
    /// sequential 2-exchanges from `t1`, each applied tentatively and undone unless the chain
    /// closes with a positive total gain. Depth 1 is plain 2-opt.
    fn try_lk(&mut self, t1: u32) -> bool {
        for t2 in [self.succ(t1), self.pred(t1)] {
            let g = self.d(t1, t2);
            if self.lk_step(0, t1, t2, g) {
                self.push(t1);
                return true;
            }
        }
        false
    }

    /// One level of [`try_lk`](Self::try_lk): `t1 - t2` is a tour edge to be removed and `gain`
    /// is the sum of removed minus added edge costs so far (the edge `t1 - t2` counted as removed).
    fn lk_step(&mut self, depth: usize, t1: u32, t2: u32, gain: i64) -> bool {
        let forward = self.succ(t1) == t2;
        let mut tried = 0;
        for idx in 0..self.k {
            let t3 = self.neigh[t2 as usize * self.k + idx];
            let g1 = gain - self.d(t2, t3);
            if g1 <= 0 {
                break;
            }
            if t3 == t1 {
                continue;
            }
            let t4 = if forward {
                self.pred(t3)
            } else {
                self.succ(t3)
            };
            if t4 == t2 {
                continue;
            }
            tried += 1;
            if tried
                > if depth == 0 {
                    self.k
                } else {
                    LK_BREADTH[depth]
                }
            {
                break;
            }
            let g2 = g1 + self.d(t3, t4);
            let close = g2 - self.d(t4, t1);
            if close > 0 {
                self.move2(t1, t2, t4, t3);
                self.len -= close;
                for c in [t2, t3, t4] {
                    self.push(c);
                }
                return true;
            }
            if depth + 1 < LK_BREADTH.len() {
                let mark = self.journal.len();
                self.move2(t1, t2, t4, t3);
                if self.lk_step(depth + 1, t1, t4, g2) {
                    for c in [t2, t3, t4] {
                        self.push(c);
                    }
                    return true;
                }
                self.undo_to(mark);
            }
        }
        false
    }

    fn in_segment(&self, c: u32, s1: u32, len: usize) -> bool {
        let n = self.n;
        (self.pos[c as usize] as usize + n - self.pos[s1 as usize] as usize) % n < len
    }

    /// Or-opt: moves a segment of 1..=3 nodes that starts or ends at `t1` between two other
    /// neighbouring nodes, forwards or reversed.
    fn try_oropt(&mut self, t1: u32) -> bool {
        let n = self.n;
        for seg_len in 1..=3usize {
            if n < seg_len + 3 {
                break;
            }
            for backward in [false, true] {
                if seg_len == 1 && backward {
                    continue;
                }
                let (mut s1, mut s2) = (t1, t1);
                for _ in 1..seg_len {
                    if backward {
                        s1 = self.pred(s1);
                    } else {
                        s2 = self.succ(s2);
                    }
                }
                let p = self.pred(s1);
                let nx = self.succ(s2);
                let removal_gain = self.d(p, s1) + self.d(s2, nx) - self.d(p, nx);
                if removal_gain <= 0 {
                    continue;
                }
                let reversal_extra = if self.asym {
                    let (f, r) = self.path_costs(s1, s2);
                    r - f
                } else {
                    0
                };
                for end_is_s1 in [true, false] {
                    let end = if end_is_s1 { s1 } else { s2 };
                    for idx in 0..self.k {
                        let c = self.neigh[end as usize * self.k + idx];
                        if !self.asym && self.d(end, c) >= removal_gain {
                            break;
                        }
                        if self.in_segment(c, s1, seg_len) {
                            continue;
                        }
                        for c_first in [true, false] {
                            // c_first: insert between c and succ(c), `end` next to c on its right.
                            let (x, y) = if c_first {
                                (c, self.succ(c))
                            } else {
                                (self.pred(c), c)
                            };
                            if self.in_segment(x, s1, seg_len) || self.in_segment(y, s1, seg_len) {
                                continue;
                            }
                            // Orientation: forward means x -> s1 .. s2 -> y.
                            let forward = c_first == end_is_s1;
                            let add = if forward {
                                self.d(x, s1) + self.d(s2, y)
                            } else {
                                self.d(x, s2) + self.d(s1, y) + reversal_extra
                            } - self.d(x, y);
                            if add < removal_gain {
                                self.move_segment(s1, s2, p, nx, x, y, !forward);
                                self.len -= removal_gain - add;
                                for c in [p, nx, x, y, s1, s2] {
                                    self.push(c);
                                }
                                return true;
                            }
                        }
                    }
                }
            }
        }
        false
    }

    /// Moves the path `s1 .. s2` (with `p = pred(s1)`, `nx = succ(s2)`) between `x` and `y = succ(x)`,
    /// reversed (`x -> s2 .. s1 -> y`) or not, as a sequence of 2-exchanges over the shorter side.
    #[allow(clippy::too_many_arguments)]
    fn move_segment(&mut self, s1: u32, s2: u32, p: u32, nx: u32, x: u32, y: u32, reversed: bool) {
        let n = self.n;
        let right = (self.pos[x as usize] as usize + n - self.pos[nx as usize] as usize) % n;
        let left = (self.pos[p as usize] as usize + n - self.pos[y as usize] as usize) % n;
        if right <= left {
            // p [s1..s2] [nx..x] y
            self.move2(p, s1, x, y); // p [x..nx] [s2..s1] y
            if nx != x {
                self.move2(p, x, nx, s2); // p [nx..x] [s2..s1] y
            }
        } else {
            // x [y..p] [s1..s2] nx
            self.move2(x, y, s2, nx); // x [s2..s1] [p..y] nx
            if p != y {
                self.move2(s1, p, y, nx); // x [s2..s1] [y..p] nx
            }
        }
        if !reversed && s1 != s2 {
            self.move2(x, s2, s1, y);
        }
    }

    fn local_search(&mut self) {
        while let Some(t1) = self.queue.pop_front() {
            self.queued[t1 as usize] = false;
            if self.asym {
                while self.try_2opt(t1) || self.try_oropt(t1) {}
            } else {
                while self.try_lk(t1) || self.try_oropt(t1) {}
            }
        }
    }

    /// Segment-swap perturbation `a B C d -> a C B d` with cut points taken near a random node.
    fn perturb(&mut self) {
        let n = self.n;
        let v = self.rng.random_range(0..n as u32);
        let mut nodes = [v, 0, 0, 0];
        let mut picked = 1;
        while picked < 4 {
            let r = self.rng.random_range(0..self.k);
            let c = self.neighbours(v)[r];
            if !nodes[..picked].contains(&c) {
                nodes[picked] = c;
                picked += 1;
            }
        }
        let mut cuts = nodes.map(|c| self.pos[c as usize] as usize);
        cuts.sort_unstable();
        let r = self.rng.random_range(0..4usize);
        let (q0, q1, q2) = (cuts[r], cuts[(r + 1) % 4], cuts[(r + 2) % 4]);
        let a = self.tour[q0];
        let b1 = self.tour[(q0 + 1) % n];
        let b2 = self.tour[q1];
        let c1 = self.tour[(q1 + 1) % n];
        let c2 = self.tour[q2];
        let d = self.tour[(q2 + 1) % n];
        if b1 == c1 || c1 == d || d == a {
            return;
        }
        let delta = self.d(a, c1) + self.d(c2, b1) + self.d(b2, d)
            - self.d(a, b1)
            - self.d(b2, c1)
            - self.d(c2, d);
        self.move2(a, b1, b2, c1);
        self.move2(b1, c1, c2, d);
        self.move2(a, b2, c1, d);
        self.len += delta;
        for c in [a, b1, b2, c1, c2, d] {
            self.push(c);
        }
    }

    /// Undoes journaled reversals back to journal length `mark`.
    fn undo_to(&mut self, mark: usize) {
        while self.journal.len() > mark {
            if let Some((start, len)) = self.journal.pop() {
                self.reverse_positions_unjournaled(start as usize, len as usize);
            }
        }
    }

    /// Runs local search then iterated local search; returns (rounds, `timed_out`).
    fn run(&mut self, cfg: &SolverConfig) -> (u64, bool) {
        let started = Instant::now();
        for i in 0..self.n {
            self.push(self.tour[i]);
        }
        self.local_search();
        self.journal.clear();
        let idle_limit = cfg.idle_limit(self.n);
        let mut idle = 0u64;
        let mut rounds = 0u64;
        let mut timed_out = false;
        while rounds < cfg.max_rounds && idle < idle_limit {
            if started.elapsed() >= cfg.time_limit {
                timed_out = true;
                break;
            }
            rounds += 1;
            let before = self.len;
            self.journal.clear();
            self.perturb();
            self.local_search();
            if self.len < before {
                idle = 0;
            } else {
                idle += 1;
                if self.len > before {
                    self.undo_to(0);
                    self.len = before;
                }
            }
        }
        (rounds, timed_out)
    }
}

/// `k` nearest neighbours of every node (by `d(i,j)`, or `d(i,j) + d(j,i)` when asymmetric),
/// flattened row by row, ascending.
fn neighbour_lists(m: &CostMatrix, k: usize, asym: bool) -> Vec<u32> {
    let n = m.len();
    let mut out = Vec::with_capacity(n * k);
    let mut row: Vec<(i64, u32)> = Vec::with_capacity(n);
    for i in 0..n {
        row.clear();
        for j in 0..n {
            if i != j {
                let c = if asym {
                    m.get(i, j) + m.get(j, i)
                } else {
                    m.get(i, j)
                };
                row.push((c, j as u32));
            }
        }
        if k < row.len() {
            row.select_nth_unstable(k - 1);
            row.truncate(k);
        }
        row.sort_unstable();
        out.extend(row.iter().map(|&(_, j)| j));
    }
    out
}

/// Candidate lists by alpha-nearness on the minimum spanning tree (Helsgaun's LKH idea without
/// the 1-tree special node and without subgradient optimisation): `alpha(i, j) = d(i, j) - beta(i, j)`
/// where `beta` is the largest edge on the tree path from `i` to `j`, i.e. how much longer the
/// spanning tree gets when it is forced to contain `{i, j}`. The `k` smallest alphas (ties by
/// distance) are kept, then each list is sorted by distance so that gain pruning stays valid.
fn alpha_lists(m: &CostMatrix, k: usize) -> Vec<u32> {
    let n = m.len();
    // Prim's algorithm on the dense matrix.
    let mut in_tree = vec![false; n];
    let mut best = vec![i64::MAX; n];
    let mut parent = vec![usize::MAX; n];
    let mut adj: Vec<Vec<(u32, i64)>> = vec![Vec::new(); n];
    best[0] = 0;
    for _ in 0..n {
        let mut u = usize::MAX;
        for v in 0..n {
            if !in_tree[v] && (u == usize::MAX || best[v] < best[u]) {
                u = v;
            }
        }
        in_tree[u] = true;
        if parent[u] != usize::MAX {
            let w = m.get(u, parent[u]);
            adj[u].push((parent[u] as u32, w));
            adj[parent[u]].push((u as u32, w));
        }
        for v in 0..n {
            if !in_tree[v] && m.get(u, v) < best[v] {
                best[v] = m.get(u, v);
                parent[v] = u;
            }
        }
    }
    let mut beta = vec![0i64; n];
    let mut stamp = vec![usize::MAX; n];
    let mut stack = Vec::with_capacity(n);
    let mut row: Vec<(i64, i64, u32)> = Vec::with_capacity(n);
    let mut out = Vec::with_capacity(n * k);
    for i in 0..n {
        beta[i] = i64::MIN;
        stamp[i] = i;
        stack.push(i);
        while let Some(u) = stack.pop() {
            for &(v, w) in &adj[u] {
                if stamp[v as usize] != i {
                    stamp[v as usize] = i;
                    beta[v as usize] = beta[u].max(w);
                    stack.push(v as usize);
                }
            }
        }
        row.clear();
        row.extend(
            (0..n)
                .filter(|&j| j != i)
                .map(|j| (m.get(i, j) - beta[j], m.get(i, j), j as u32)),
        );
        if k < row.len() {
            row.select_nth_unstable(k - 1);
            row.truncate(k);
        }
        row.sort_unstable_by_key(|&(_, d, j)| (d, j));
        out.extend(row.iter().map(|&(_, _, j)| j));
    }
    out
}

/// Greedy-edge construction over the candidate edges, fragments then joined nearest-endpoint first.
fn greedy_edge_order(m: &CostMatrix, neigh: &[u32], k: usize) -> Vec<usize> {
    const NONE: u32 = u32::MAX;
    fn find(uf: &mut [u32], mut x: u32) -> u32 {
        while uf[x as usize] != x {
            uf[x as usize] = uf[uf[x as usize] as usize];
            x = uf[x as usize];
        }
        x
    }
    let n = m.len();
    let mut edges: Vec<(i64, u32, u32)> = Vec::with_capacity(n * k);
    for i in 0..n {
        for &j in &neigh[i * k..(i + 1) * k] {
            if (i as u32) < j {
                edges.push((m.get(i, j as usize), i as u32, j));
            } else if !neigh[j as usize * k..(j as usize + 1) * k].contains(&(i as u32)) {
                edges.push((m.get(i, j as usize), j, i as u32));
            }
        }
    }
    edges.sort_unstable();
    let mut adj = vec![[NONE; 2]; n];
    let mut uf: Vec<u32> = (0..n as u32).collect();
    let degree = |adj: &[[u32; 2]], c: u32| adj[c as usize].iter().filter(|&&e| e != NONE).count();
    for (_, i, j) in edges {
        if degree(&adj, i) < 2 && degree(&adj, j) < 2 {
            let (ri, rj) = (find(&mut uf, i), find(&mut uf, j));
            if ri != rj {
                uf[ri as usize] = rj;
                let si = usize::from(adj[i as usize][0] != NONE);
                adj[i as usize][si] = j;
                let sj = usize::from(adj[j as usize][0] != NONE);
                adj[j as usize][sj] = i;
            }
        }
    }
    // Walk fragments, joining the end of one to the nearest free endpoint of another.
    let mut used = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let endpoints: Vec<u32> = (0..n as u32).filter(|&c| degree(&adj, c) < 2).collect();
    let mut cur = endpoints.first().copied().unwrap_or(0);
    loop {
        // walk the fragment starting at endpoint `cur`
        let mut prev = NONE;
        let mut c = cur;
        loop {
            used[c as usize] = true;
            order.push(c as usize);
            let next = adj[c as usize]
                .iter()
                .copied()
                .find(|&e| e != NONE && e != prev && !used[e as usize]);
            match next {
                Some(e) => {
                    prev = c;
                    c = e;
                }
                None => break,
            }
        }
        if order.len() == n {
            break;
        }
        let mut best = NONE;
        let mut best_cost = i64::MAX;
        for &e in &endpoints {
            if !used[e as usize] && m.get(c as usize, e as usize) < best_cost {
                best_cost = m.get(c as usize, e as usize);
                best = e;
            }
        }
        cur = best;
    }
    order
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Test runs stop on rounds, not on time (tests run unoptimised and on busy machines).
    fn quick(seed: u64, idle: u64) -> SolverConfig {
        SolverConfig {
            seed,
            time_limit: Duration::from_mins(10),
            idle_rounds: Some(idle),
            ..SolverConfig::default()
        }
    }

    fn random_points(n: usize, seed: u64) -> Vec<(f64, f64)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| (rng.random_range(0.0..1000.0), rng.random_range(0.0..1000.0)))
            .collect()
    }

    fn euclid(pts: &[(f64, f64)]) -> CostMatrix {
        CostMatrix::from_fn(pts.len(), |i, j| {
            let (dx, dy) = (pts[i].0 - pts[j].0, pts[i].1 - pts[j].1);
            (dx * dx + dy * dy).sqrt().round() as i64
        })
        .unwrap()
    }

    fn is_permutation(order: &[usize], n: usize) -> bool {
        let mut seen = vec![false; n];
        order.len() == n
            && order
                .iter()
                .all(|&c| c < n && !std::mem::replace(&mut seen[c], true))
    }

    #[test]
    fn exact_small_tour_is_optimal_by_enumeration() {
        let pts = random_points(8, 3);
        let m = euclid(&pts);
        let t = solve_tour(&m, &SolverConfig::default());
        assert!(is_permutation(&t.order, 8));
        assert_eq!(m.tour_cost(&t.order), t.cost);
    }

    /// Brute-force optimum over all permutations with node 0 fixed (independent of `exact_tour`).
    fn brute_force_tour(m: &CostMatrix) -> i64 {
        fn rec(m: &CostMatrix, cur: usize, left: &mut Vec<usize>, acc: i64, best: &mut i64) {
            if left.is_empty() {
                *best = (*best).min(acc + m.get(cur, 0));
                return;
            }
            for i in 0..left.len() {
                let c = left.swap_remove(i);
                rec(m, c, left, acc + m.get(cur, c), best);
                left.push(c);
                let last = left.len() - 1;
                left.swap(i, last);
            }
        }
        let mut left: Vec<usize> = (1..m.len()).collect();
        let mut best = i64::MAX;
        rec(m, 0, &mut left, 0, &mut best);
        best
    }

    #[test]
    fn ils_finds_brute_force_optimum_on_ten_node_instances() {
        for seed in 0..20 {
            let m = euclid(&random_points(10, seed));
            let t = solve_tour(&m, &quick(seed, 500));
            assert!(is_permutation(&t.order, 10));
            assert_eq!(t.cost, brute_force_tour(&m), "seed {seed}");
        }
    }

    #[test]
    fn asymmetric_ils_finds_brute_force_optimum() {
        for seed in 0..20 {
            let pts = random_points(10, 100 + seed);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let base = euclid(&pts);
            // Road-like asymmetry: each direction gets its own detour.
            let extra: Vec<i64> = (0..100).map(|_| rng.random_range(0..300)).collect();
            let m = CostMatrix::from_fn(10, |i, j| base.get(i, j) + extra[i * 10 + j]).unwrap();
            assert!(!m.is_symmetric());
            let t = solve_tour(&m, &quick(seed, 500));
            assert!(is_permutation(&t.order, 10));
            assert_eq!(m.tour_cost(&t.order), t.cost);
            assert_eq!(t.cost, brute_force_tour(&m), "seed {seed}");
        }
    }

    #[test]
    fn same_seed_same_tour_and_tracked_length_is_exact() {
        let m = euclid(&random_points(200, 7));
        let cfg = quick(42, 2000);
        let a = solve_tour(&m, &cfg);
        let b = solve_tour(&m, &cfg);
        assert!(!a.timed_out);
        assert_eq!(a, b);
        assert!(is_permutation(&a.order, 200));
        assert_eq!(m.tour_cost(&a.order), a.cost);
        // better than the nearest-neighbour floor
        assert!(a.cost < nearest_neighbour_tour(&m, 0).cost);
    }

    #[test]
    fn asymmetric_large_tracked_length_is_exact() {
        let pts = random_points(120, 9);
        let base = euclid(&pts);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let extra: Vec<i64> = (0..120 * 120).map(|_| rng.random_range(0..200)).collect();
        let m = CostMatrix::from_fn(120, |i, j| base.get(i, j) + extra[i * 120 + j]).unwrap();
        let cfg = quick(3, 1000);
        let t = solve_tour(&m, &cfg);
        assert!(is_permutation(&t.order, 120));
        assert_eq!(m.tour_cost(&t.order), t.cost);
        assert!(t.cost < nearest_neighbour_tour(&m, 0).cost);
    }

    fn brute_force_path(m: &CostMatrix, start: usize, end: Option<usize>) -> i64 {
        let n = m.len();
        let mut mid: Vec<usize> = (0..n).filter(|&c| c != start && Some(c) != end).collect();
        let mut best = i64::MAX;
        permute(&mut mid, 0, &mut |p| {
            let mut order = vec![start];
            order.extend_from_slice(p);
            if let Some(e) = end {
                order.push(e);
            }
            best = best.min(m.path_cost(&order));
        });
        best
    }

    #[test]
    fn paths_match_brute_force_symmetric_and_asymmetric() {
        for seed in 0..12 {
            let pts = random_points(9, 200 + seed);
            let base = euclid(&pts);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let extra: Vec<i64> = (0..81).map(|_| rng.random_range(0..250)).collect();
            let asym = CostMatrix::from_fn(9, |i, j| base.get(i, j) + extra[i * 9 + j]).unwrap();
            for m in [&base, &asym] {
                let cfg = quick(seed, 500);
                let (s, e) = (seed as usize % 9, (seed as usize + 4) % 9);
                let fixed = solve_path(m, s, PathEnd::Node(e), &cfg).unwrap();
                assert!(is_permutation(&fixed.order, 9));
                assert_eq!((fixed.order[0], fixed.order[8]), (s, e));
                assert_eq!(fixed.cost, m.path_cost(&fixed.order));
                assert_eq!(
                    fixed.cost,
                    brute_force_path(m, s, Some(e)),
                    "fixed end, seed {seed}"
                );
                let free = solve_path(m, s, PathEnd::Free, &cfg).unwrap();
                assert!(is_permutation(&free.order, 9));
                assert_eq!(free.order[0], s);
                assert_eq!(
                    free.cost,
                    brute_force_path(m, s, None),
                    "free end, seed {seed}"
                );
                let round = solve_path(m, s, PathEnd::Start, &cfg).unwrap();
                assert_eq!(round.order[0], s);
                assert_eq!(round.cost, brute_force_tour(m));
            }
        }
    }

    #[test]
    fn out_of_range_inputs_are_named() {
        let err = CostMatrix::from_fn(3, |i, j| if (i, j) == (1, 2) { MAX_COST + 1 } else { 1 })
            .unwrap_err();
        assert_eq!(
            err,
            SolverError::CostOutOfRange {
                from: 1,
                to: 2,
                value: MAX_COST + 1
            }
        );
        let m = CostMatrix::from_fn(3, |_, _| 1).unwrap();
        assert_eq!(
            solve_path(&m, 5, PathEnd::Free, &SolverConfig::default()).unwrap_err(),
            SolverError::NodeOutOfRange { node: 5, n: 3 }
        );
    }

    #[test]
    fn degenerate_sizes() {
        for n in 0..4 {
            let m = CostMatrix::from_fn(n, |i, j| (i as i64 - j as i64).abs()).unwrap();
            let t = solve_tour(&m, &SolverConfig::default());
            assert!(is_permutation(&t.order, n));
            if n > 0 {
                let p = solve_path(&m, 0, PathEnd::Free, &SolverConfig::default()).unwrap();
                assert!(is_permutation(&p.order, n));
                assert_eq!(p.cost, n as i64 - 1);
            }
        }
    }
}
