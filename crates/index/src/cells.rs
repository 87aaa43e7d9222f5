//! Density surfaces: counts and heat scores per square or hexagon cell.
//!
//! **Squares** are longitude/latitude cells sized in metres at the grid's anchor: `cell_m`
//! north–south everywhere, and `cell_m` east–west at the anchor's latitude (a degree of
//! longitude shrinks with cos φ, so 50 km north or south of the anchor a cell is ~0.5 % narrower
//! or wider). Their edges are meridians and parallels, so a cell's GeoJSON polygon is exact.
//! Cells are `[west, east)` × `[south, north)` up to the rounding of the cell arithmetic: a point
//! within ~1e-15° of a shared edge may land on either side, always the same one.
//!
//! **Hexagons** are pointy-top hexagons in a local equirectangular plane centred on the anchor
//! (x = Δλ · R cos φ₀, y = Δφ · R, metres), `width_m` across flats (the distance between the
//! centres of two side-by-side cells; area `√3/2 · width²`), addressed by axial coordinates
//! (q, r). A point belongs to the hexagon whose centre is nearest in that plane (cube rounding);
//! a point exactly on a shared edge goes to one of the two, always the same one.

use std::collections::HashMap;

use civmap_domain::LonLat;
use geo::{Coord, LineString, Point, Polygon};

use crate::error::IndexError;
use crate::filter::Filter;
use crate::geodesy::{BBox, METRES_PER_DEGREE, floor_i32};
use crate::heat::HeatParams;
use crate::problems::ProblemIndex;
use crate::region::Region;

/// A square cell: column (west → east) and row (south → north) from the anchor's cell (0, 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SquareCell {
    pub col: i32,
    pub row: i32,
}

/// A hexagon cell in axial coordinates; the anchor is the centre of (0, 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HexCell {
    pub q: i32,
    pub r: i32,
}

/// Count and heat score of one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellStat<C> {
    pub cell: C,
    /// Problems in the cell that pass the filter.
    pub count: u32,
    /// Σ heat weight of those problems (see [`HeatParams`]).
    pub score: f64,
}

fn check_grid(anchor: LonLat, cell_m: f64) -> Result<(), IndexError> {
    if !(cell_m.is_finite() && (1.0..=1_000_000.0).contains(&cell_m)) {
        return Err(IndexError::InvalidGrid(format!(
            "cell size must be 1 m to 1,000 km, got {cell_m} m"
        )));
    }
    if anchor.lat().abs() > 85.0 {
        return Err(IndexError::InvalidGrid(format!(
            "anchor latitude {} is beyond ±85°",
            anchor.lat()
        )));
    }
    Ok(())
}

/// Metres per degree of longitude at `lat` on the sphere of the index.
fn metres_per_degree_lon(lat: f64) -> f64 {
    METRES_PER_DEGREE * lat.to_radians().cos()
}

/// A square grid anchored at a point (the south-west corner of cell (0, 0)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SquareGrid {
    lon0: f64,
    lat0: f64,
    cell_m: f64,
    dlon: f64,
    dlat: f64,
    /// Cells per degree (1 / dlon, 1 / dlat).
    per_lon: f64,
    per_lat: f64,
}

impl SquareGrid {
    /// A grid of `cell_m`-metre squares (1 m to 1,000 km) anchored at `anchor` (|lat| ≤ 85°).
    /// Use one fixed anchor per city (e.g. its centre) so cell ids are stable between requests.
    ///
    /// ```
    /// use civmap_domain::LonLat;
    /// use civmap_index::{SquareCell, SquareGrid};
    /// let g = SquareGrid::new(LonLat::new(121.47, 31.23).unwrap(), 100.0).unwrap();
    /// assert_eq!(g.cell_of(LonLat::new(121.47, 31.23).unwrap()), SquareCell { col: 0, row: 0 });
    /// assert_eq!(g.cell_of(LonLat::new(121.4699, 31.2301).unwrap()), SquareCell { col: -1, row: 0 });
    /// ```
    pub fn new(anchor: LonLat, cell_m: f64) -> Result<Self, IndexError> {
        check_grid(anchor, cell_m)?;
        let dlon = cell_m / metres_per_degree_lon(anchor.lat());
        let dlat = cell_m / METRES_PER_DEGREE;
        Ok(Self {
            lon0: anchor.lon(),
            lat0: anchor.lat(),
            cell_m,
            dlon,
            dlat,
            per_lon: 1.0 / dlon,
            per_lat: 1.0 / dlat,
        })
    }

    /// Cell size in metres.
    #[must_use]
    pub fn cell_m(&self) -> f64 {
        self.cell_m
    }

    #[inline]
    fn key(&self, lon: f64, lat: f64) -> (i32, i32) {
        (
            floor_i32((lon - self.lon0) * self.per_lon),
            floor_i32((lat - self.lat0) * self.per_lat),
        )
    }

    /// The cell holding a position.
    #[must_use]
    pub fn cell_of(&self, p: LonLat) -> SquareCell {
        let (col, row) = self.key(p.lon(), p.lat());
        SquareCell { col, row }
    }

    /// The cell's outline in lon/lat, counter-clockwise from its south-west corner (RFC 7946).
    #[must_use]
    pub fn cell_polygon(&self, c: SquareCell) -> Polygon<f64> {
        let w = self.lon0 + f64::from(c.col) * self.dlon;
        let s = self.lat0 + f64::from(c.row) * self.dlat;
        let (e, n) = (w + self.dlon, s + self.dlat);
        Polygon::new(
            LineString::from(vec![(w, s), (e, s), (e, n), (w, n), (w, s)]),
            vec![],
        )
    }

    /// The cell's centre (lon, lat).
    #[must_use]
    pub fn cell_center(&self, c: SquareCell) -> Point<f64> {
        Point::new(
            self.lon0 + (f64::from(c.col) + 0.5) * self.dlon,
            self.lat0 + (f64::from(c.row) + 0.5) * self.dlat,
        )
    }
}

/// A hexagon grid anchored at a point (the centre of cell (0, 0)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HexGrid {
    lon0: f64,
    lat0: f64,
    width_m: f64,
    /// Metres per degree of longitude / latitude in the local plane.
    kx: f64,
    ky: f64,
    /// Circumradius (centre to corner) in metres: `width / √3`.
    size: f64,
    /// Fractional axial coordinates are linear in (Δλ, Δφ): q = Δλ·qx − Δφ·qy, r = Δφ·ry.
    qx: f64,
    qy: f64,
    ry: f64,
}

const SQRT3: f64 = 1.732_050_807_568_877_2;

impl HexGrid {
    /// A grid of pointy-top hexagons `width_m` metres across flats (1 m to 1,000 km), the
    /// anchor (|lat| ≤ 85°) at the centre of cell (0, 0).
    ///
    /// ```
    /// use civmap_domain::LonLat;
    /// use civmap_index::{HexCell, HexGrid};
    /// let g = HexGrid::new(LonLat::new(121.47, 31.23).unwrap(), 200.0).unwrap();
    /// let c = g.cell_of(LonLat::new(121.47, 31.23).unwrap());
    /// assert_eq!(c, HexCell { q: 0, r: 0 });
    /// // The neighbour to the east is 200 m away, centre to centre.
    /// let east = g.cell_center(HexCell { q: 1, r: 0 });
    /// let d = civmap_index::haversine_m(LonLat::new(121.47, 31.23).unwrap(), LonLat::new(east.x(), east.y()).unwrap());
    /// assert!((d - 200.0).abs() < 0.01, "{d}");
    /// ```
    pub fn new(anchor: LonLat, width_m: f64) -> Result<Self, IndexError> {
        check_grid(anchor, width_m)?;
        let kx = metres_per_degree_lon(anchor.lat());
        let ky = METRES_PER_DEGREE;
        let size = width_m / SQRT3;
        Ok(Self {
            lon0: anchor.lon(),
            lat0: anchor.lat(),
            width_m,
            kx,
            ky,
            size,
            qx: kx * SQRT3 / 3.0 / size,
            qy: ky / 3.0 / size,
            ry: ky * 2.0 / 3.0 / size,
        })
    }

    /// Width across flats in metres.
    #[must_use]
    pub fn width_m(&self) -> f64 {
        self.width_m
    }

    /// Fractional axial coordinates of a position (pointy-top: q = (√3/3·x − y/3) / size,
    /// r = (2/3·y) / size in the local plane).
    #[inline]
    fn axial(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (dl, dp) = (lon - self.lon0, lat - self.lat0);
        (dl * self.qx - dp * self.qy, dp * self.ry)
    }

    /// Cube rounding: round q, r and s = −q − r, then recompute the one that moved most.
    #[inline]
    fn key(&self, lon: f64, lat: f64) -> (i32, i32) {
        let (q, r) = self.axial(lon, lat);
        let s = -q - r;
        let (rq, rr, rs) = (floor_i32(q + 0.5), floor_i32(r + 0.5), floor_i32(s + 0.5));
        let dq = (f64::from(rq) - q).abs();
        let dr = (f64::from(rr) - r).abs();
        let ds = (f64::from(rs) - s).abs();
        // Branch-free: which coordinate to recompute is data-dependent and unpredictable, and
        // a mispredicted branch per point cost more than the rest of the cell computation.
        #[allow(clippy::needless_bitwise_bool)] // `&` on purpose: no branch
        let fix_q = (dq > dr) & (dq > ds);
        #[allow(clippy::needless_bitwise_bool)]
        let fix_r = !fix_q & (dr > ds);
        let q_out = rq + i32::from(fix_q) * (-rr - rs - rq);
        let r_out = rr + i32::from(fix_r) * (-rq - rs - rr);
        (q_out, r_out)
    }

    /// The cell holding a position.
    #[must_use]
    pub fn cell_of(&self, p: LonLat) -> HexCell {
        let (q, r) = self.key(p.lon(), p.lat());
        HexCell { q, r }
    }

    fn plane_center(&self, c: HexCell) -> (f64, f64) {
        let (q, r) = (f64::from(c.q), f64::from(c.r));
        (self.size * SQRT3 * (q + r / 2.0), self.size * 1.5 * r)
    }

    fn unproject(&self, x: f64, y: f64) -> Coord<f64> {
        Coord {
            x: self.lon0 + x / self.kx,
            y: self.lat0 + y / self.ky,
        }
    }

    /// The cell's centre (lon, lat).
    #[must_use]
    pub fn cell_center(&self, c: HexCell) -> Point<f64> {
        let (x, y) = self.plane_center(c);
        self.unproject(x, y).into()
    }

    /// The cell's outline in lon/lat, counter-clockwise from its lower-right corner (RFC 7946).
    #[must_use]
    pub fn cell_polygon(&self, c: HexCell) -> Polygon<f64> {
        let (cx, cy) = self.plane_center(c);
        let mut ring: Vec<Coord<f64>> = (0..6)
            .map(|i| {
                let angle = (60.0 * f64::from(i) - 30.0).to_radians();
                self.unproject(cx + self.size * angle.cos(), cy + self.size * angle.sin())
            })
            .collect();
        ring.push(ring[0]);
        Polygon::new(LineString::new(ring), vec![])
    }

    /// Conservative range of axial keys over a box: q and r are linear in (lon, lat), so their
    /// extremes over the box are at its corners; rounding moves a key by at most one.
    fn key_range(&self, b: &BBox) -> ((i32, i32), (i32, i32)) {
        let corners = [
            self.axial(b.min_lon(), b.min_lat()),
            self.axial(b.min_lon(), b.max_lat()),
            self.axial(b.max_lon(), b.min_lat()),
            self.axial(b.max_lon(), b.max_lat()),
        ];
        let qmin = corners.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
        let qmax = corners
            .iter()
            .map(|c| c.0)
            .fold(f64::NEG_INFINITY, f64::max);
        let rmin = corners.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
        let rmax = corners
            .iter()
            .map(|c| c.1)
            .fold(f64::NEG_INFINITY, f64::max);
        (
            (
                floor_i32(qmin).saturating_sub(1),
                floor_i32(rmin).saturating_sub(1),
            ),
            (
                floor_i32(qmax).saturating_add(2),
                floor_i32(rmax).saturating_add(2),
            ),
        )
    }
}

/// Dense accumulation over a key rectangle, with a hash map for keys outside it.
struct Accumulator {
    i0: i32,
    j0: i32,
    ni: usize,
    nj: usize,
    cells: Vec<(u32, f64)>,
    overflow: HashMap<(i32, i32), (u32, f64)>,
}

/// Fewest held problems for which a large aggregation is split over two threads.
const SPLIT_MIN_LEAVES: usize = 100_000;

/// Largest dense accumulator, in cells (16 bytes each).
const MAX_DENSE_CELLS: usize = 1 << 21;

impl Accumulator {
    fn new(range: Option<((i32, i32), (i32, i32))>) -> Self {
        let (i0, j0, ni, nj) = match range {
            Some(((i0, j0), (i1, j1))) => {
                let ni = (i64::from(i1) - i64::from(i0) + 1).max(0) as usize;
                let nj = (i64::from(j1) - i64::from(j0) + 1).max(0) as usize;
                if ni.saturating_mul(nj) <= MAX_DENSE_CELLS {
                    (i0, j0, ni, nj)
                } else {
                    (0, 0, 0, 0)
                }
            }
            None => (0, 0, 0, 0),
        };
        Self {
            i0,
            j0,
            ni,
            nj,
            cells: vec![(0, 0.0); ni * nj],
            overflow: HashMap::new(),
        }
    }

    #[inline]
    fn add(&mut self, (i, j): (i32, i32), w: f64) {
        // Offsets as unsigned: a key left of or below the range wraps to a huge value.
        let di = i.wrapping_sub(self.i0) as u32 as usize;
        let dj = j.wrapping_sub(self.j0) as u32 as usize;
        if di < self.ni && dj < self.nj {
            let c = &mut self.cells[dj * self.ni + di];
            c.0 += 1;
            c.1 += w;
        } else {
            self.add_overflow((i, j), w);
        }
    }

    /// Out of line, so the per-point path stays small enough to inline into the traversal.
    #[cold]
    #[inline(never)]
    fn add_overflow(&mut self, key: (i32, i32), w: f64) {
        let e = self.overflow.entry(key).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += w;
    }

    /// The sum of two accumulators made for the same range.
    fn merge(mut self, other: Self) -> Self {
        debug_assert_eq!(
            (self.i0, self.j0, self.ni, self.nj),
            (other.i0, other.j0, other.ni, other.nj)
        );
        for (a, b) in self.cells.iter_mut().zip(other.cells) {
            a.0 += b.0;
            a.1 += b.1;
        }
        for (k, (n, w)) in other.overflow {
            let e = self.overflow.entry(k).or_insert((0, 0.0));
            e.0 += n;
            e.1 += w;
        }
        self
    }

    /// Non-empty cells sorted by (j, i).
    fn finish<C>(self, make: impl Fn(i32, i32) -> C) -> Vec<CellStat<C>> {
        let mut out: Vec<((i32, i32), u32, f64)> = Vec::new();
        for (k, &(n, score)) in self.cells.iter().enumerate() {
            if n > 0 {
                let (i, j) = (
                    (k % self.ni) as i32 + self.i0,
                    (k / self.ni) as i32 + self.j0,
                );
                out.push(((j, i), n, score));
            }
        }
        if !self.overflow.is_empty() {
            out.extend(
                self.overflow
                    .into_iter()
                    .map(|((i, j), (n, s))| ((j, i), n, s)),
            );
            out.sort_unstable_by_key(|c| c.0);
        }
        out.into_iter()
            .map(|((j, i), count, score)| CellStat {
                cell: make(i, j),
                count,
                score,
            })
            .collect()
    }
}

impl ProblemIndex {
    /// The box a traversal of `region` can reach: the region's box within the index's bounds.
    fn reach(&self, region: &crate::region::Prepared<'_>) -> Option<BBox> {
        let held = self.bounds()?;
        match region.bounds() {
            Some(b) => b.intersection(&held),
            None => Some(held),
        }
    }

    /// Whether an aggregation over `region` visits enough leaves to be split over two threads:
    /// at least [`SPLIT_MIN_LEAVES`] held and the region's box covers a quarter of the held
    /// bounds or more (a city-wide surface, not a viewport).
    fn worth_splitting(&self, region: &crate::region::Prepared<'_>) -> bool {
        if self.len() < SPLIT_MIN_LEAVES {
            return false;
        }
        let (Some(held), Some(reach)) = (self.bounds(), self.reach(region)) else {
            return false;
        };
        let area = |b: &BBox| (b.max_lon() - b.min_lon()) * (b.max_lat() - b.min_lat());
        area(&reach) * 4.0 >= area(&held)
    }

    /// Count and heat score per square cell of the problems in the region that pass the filter.
    /// Only non-empty cells are returned, sorted by (row, col).
    pub fn aggregate_squares(
        &self,
        grid: &SquareGrid,
        region: &Region<'_>,
        filter: &Filter,
        heat: &HeatParams,
    ) -> Result<Vec<CellStat<SquareCell>>, IndexError> {
        let prepared = region.prepare()?;
        let range = self.reach(&prepared).map(|b| {
            let (i0, j0) = grid.key(b.min_lon(), b.min_lat());
            let (i1, j1) = grid.key(b.max_lon(), b.max_lat());
            ((i0, j0), (i1, j1))
        });
        let split = self.worth_splitting(&prepared);
        let weigher = heat.weigher();
        let acc = self
            .fold_leaves(
                &prepared,
                filter,
                split,
                || Accumulator::new(range),
                |acc, l| acc.add(grid.key(l.lon, l.lat), weigher.leaf(l)),
            )
            .into_iter()
            .reduce(Accumulator::merge);
        Ok(acc.map_or_else(Vec::new, |a| a.finish(|col, row| SquareCell { col, row })))
    }

    /// Count and heat score per hexagon cell of the problems in the region that pass the
    /// filter. Only non-empty cells are returned, sorted by (r, q).
    pub fn aggregate_hexes(
        &self,
        grid: &HexGrid,
        region: &Region<'_>,
        filter: &Filter,
        heat: &HeatParams,
    ) -> Result<Vec<CellStat<HexCell>>, IndexError> {
        let prepared = region.prepare()?;
        let range = self.reach(&prepared).map(|b| grid.key_range(&b));
        let split = self.worth_splitting(&prepared);
        let weigher = heat.weigher();
        let acc = self
            .fold_leaves(
                &prepared,
                filter,
                split,
                || Accumulator::new(range),
                |acc, l| acc.add(grid.key(l.lon, l.lat), weigher.leaf(l)),
            )
            .into_iter()
            .reduce(Accumulator::merge);
        Ok(acc.map_or_else(Vec::new, |a| a.finish(|q, r| HexCell { q, r })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, Distance, Euclidean, GeodesicArea, Intersects};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Above [`SPLIT_MIN_LEAVES`] a whole-index aggregation runs on two threads: the merged
    /// cells must be what one pass over the records gives, cell for cell.
    #[test]
    fn split_aggregation_equals_a_single_pass() {
        use crate::record::PointRecord;
        use civmap_domain::{CategoryId, ProblemId, Severity, Status};
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = SPLIT_MIN_LEAVES + 20_000;
        let recs: Vec<PointRecord> = (0..n)
            .map(|i| PointRecord {
                id: ProblemId(uuid::Uuid::from_u128(i as u128 + 1)),
                position: LonLat::new(
                    rng.random_range(121.40..121.55),
                    rng.random_range(31.20..31.32),
                )
                .unwrap(),
                category: CategoryId(rng.random_range(1..8)),
                status: if rng.random_bool(0.8) {
                    Status::Reported
                } else {
                    Status::Closed
                },
                severity: Severity::Medium,
                reported_ms: 1_750_000_000_000 - rng.random_range(0..30 * 86_400_000),
            })
            .collect();
        let index = ProblemIndex::bulk_load(recs.iter().copied()).unwrap();
        let heat = HeatParams::new(
            civmap_domain::CategoryTable::builtin().weights(),
            1_750_000_000_000,
        );
        let anchor = LonLat::new(121.47, 31.25).unwrap();
        let all = Region::All;
        assert!(index.worth_splitting(&all.prepare().unwrap()));
        let viewport = BBox::new(121.45, 31.22, 121.46, 31.23).unwrap();
        assert!(!index.worth_splitting(&Region::BBox(viewport).prepare().unwrap()));
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);

        let sq = SquareGrid::new(anchor, 100.0).unwrap();
        let mut want: HashMap<(i32, i32), (u32, f64)> = HashMap::new();
        for r in &recs {
            let c = sq.cell_of(r.position);
            let e = want.entry((c.row, c.col)).or_default();
            e.0 += 1;
            e.1 += heat.weight(r);
        }
        let got = index
            .aggregate_squares(&sq, &all, &Filter::default(), &heat)
            .unwrap();
        assert_eq!(got.len(), want.len());
        assert!(
            got.windows(2)
                .all(|w| (w[0].cell.row, w[0].cell.col) < (w[1].cell.row, w[1].cell.col))
        );
        for s in &got {
            let (n, w) = want[&(s.cell.row, s.cell.col)];
            assert_eq!(s.count, n, "{:?}", s.cell);
            assert!(close(s.score, w), "{:?}: {} vs {w}", s.cell, s.score);
        }

        let hx = HexGrid::new(anchor, 200.0).unwrap();
        let open = Filter::default().with_statuses(crate::filter::StatusSet::open());
        let mut want: HashMap<(i32, i32), (u32, f64)> = HashMap::new();
        for r in recs.iter().filter(|r| open.matches(r)) {
            let c = hx.cell_of(r.position);
            let e = want.entry((c.r, c.q)).or_default();
            e.0 += 1;
            e.1 += heat.weight(r);
        }
        let got = index.aggregate_hexes(&hx, &all, &open, &heat).unwrap();
        assert_eq!(got.len(), want.len());
        assert_eq!(
            got.iter().map(|s| s.count as usize).sum::<usize>(),
            recs.iter().filter(|r| open.matches(r)).count()
        );
        for s in &got {
            let (n, w) = want[&(s.cell.r, s.cell.q)];
            assert_eq!(s.count, n, "{:?}", s.cell);
            assert!(close(s.score, w), "{:?}: {} vs {w}", s.cell, s.score);
        }
    }

    #[test]
    fn square_cells_contain_their_points() {
        let g = SquareGrid::new(LonLat::new(121.47, 31.23).unwrap(), 100.0).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..20_000 {
            let p =
                LonLat::new(rng.random_range(121.2..121.7), rng.random_range(31.0..31.5)).unwrap();
            let c = g.cell_of(p);
            assert!(g.cell_polygon(c).intersects(&Point::from(p)), "{p:?} {c:?}");
        }
        // Edges: a point on the anchor's meridian and parallel is in cell (0, 0), the one to its
        // south-west corner's north-east.
        assert_eq!(
            g.cell_of(LonLat::new(121.47, 31.23).unwrap()),
            SquareCell { col: 0, row: 0 }
        );
        // 100 m squares: the side is 100 m on the ground at the anchor.
        let poly = g.cell_polygon(SquareCell { col: 0, row: 0 });
        let c: Vec<_> = poly.exterior().coords().copied().collect();
        let ew = crate::geodesy::haversine_m(
            LonLat::new(c[0].x, c[0].y).unwrap(),
            LonLat::new(c[1].x, c[1].y).unwrap(),
        );
        let ns = crate::geodesy::haversine_m(
            LonLat::new(c[1].x, c[1].y).unwrap(),
            LonLat::new(c[2].x, c[2].y).unwrap(),
        );
        assert!(
            (ew - 100.0).abs() < 0.01 && (ns - 100.0).abs() < 1e-6,
            "{ew} {ns}"
        );
    }

    #[test]
    fn hexagon_is_the_nearest_centre() {
        // A hexagon cell is the Voronoi cell of its centre: no neighbour's centre is nearer (in
        // the local plane) — an independent check of the cube rounding.
        for &(lon, lat) in &[(121.47, 31.23), (109.5, 18.25), (122.53, 52.97)] {
            let g = HexGrid::new(LonLat::new(lon, lat).unwrap(), 200.0).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(2);
            for _ in 0..20_000 {
                let p = LonLat::new(
                    lon + rng.random_range(-0.1..0.1),
                    lat + rng.random_range(-0.1..0.1),
                )
                .unwrap();
                let c = g.cell_of(p);
                let x = (p.lon() - g.lon0) * g.kx;
                let y = (p.lat() - g.lat0) * g.ky;
                let d2 = |c: HexCell| {
                    let (cx, cy) = g.plane_center(c);
                    (cx - x).powi(2) + (cy - y).powi(2)
                };
                let own = d2(c);
                for (dq, dr) in [(1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)] {
                    let n = HexCell {
                        q: c.q + dq,
                        r: c.r + dr,
                    };
                    assert!(own <= d2(n) + 1e-6, "{p:?} in {c:?} but {n:?} is nearer");
                }
                // And the point lies in the cell's polygon (up to rounding on the edge).
                let poly = g.cell_polygon(c);
                if !poly.contains(&Point::from(p)) {
                    assert!(Euclidean.distance(&Point::from(p), poly.exterior()) < 1e-9);
                }
            }
        }
    }

    #[test]
    fn hexagon_size_and_area() {
        let g = HexGrid::new(LonLat::new(121.47, 31.23).unwrap(), 200.0).unwrap();
        let poly = g.cell_polygon(HexCell { q: 3, r: -2 });
        assert_eq!(poly.exterior().0.len(), 7);
        let a = poly.geodesic_area_signed();
        // √3/2 · 200² = 34,641 m² (sphere vs ellipsoid and the plane: within 0.5 %).
        assert!(a > 0.0, "counter-clockwise");
        assert!((a - 34_641.0).abs() / 34_641.0 < 0.005, "{a}");
    }

    #[test]
    fn bad_grids_are_refused() {
        let a = LonLat::new(121.0, 31.0).unwrap();
        assert!(SquareGrid::new(a, 0.0).is_err());
        assert!(SquareGrid::new(a, f64::NAN).is_err());
        assert!(HexGrid::new(a, -5.0).is_err());
        assert!(HexGrid::new(LonLat::new(0.0, 89.0).unwrap(), 100.0).is_err());
    }
}
