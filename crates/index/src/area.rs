//! Point-in-(multi)polygon, exact and fast: a coarse grid over the shape's bounding box whose
//! cells are classified once as inside, outside or boundary.
//!
//! The boundary rule is geo's `Intersects`: a point inside a polygon, or exactly on any of its
//! rings (exterior or hole), is inside; a point strictly inside a hole is outside. Points in a
//! boundary cell are decided by `geo::Intersects` itself, so the grid never changes an answer —
//! it only skips the exact test where no ring passes near the point.
//!
//! Why the grid is exact: a cell is marked *boundary* when some piece of a ring (each ring edge is
//! cut into pieces no longer than one cell) has a bounding box that comes within a margin `eps`
//! of the cell. The margin is far larger than the rounding of the `floor((x - x0) / w)` that maps
//! a point to its cell, so a point is always within `eps` of the cell it is mapped to. An
//! unmarked cell, grown by `eps`, therefore holds no ring at all: it lies wholly inside or wholly
//! outside, and 4-connected unmarked cells share that answer. One exact test per connected
//! region classifies all of its cells.

use geo::{BoundingRect, Coord, Intersects, LineString, LinesIter, MultiPolygon, Polygon};

use crate::error::IndexError;
use crate::geodesy::{BBox, METRES_PER_DEGREE, floor_i32};

/// A borrowed polygon or multipolygon in WGS-84 lon/lat degrees.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape<'a> {
    Polygon(&'a Polygon<f64>),
    Multi(&'a MultiPolygon<f64>),
}

impl Shape<'_> {
    /// geo's `Intersects` with the point (lon, lat): inside or on a ring.
    #[inline]
    pub(crate) fn intersects(&self, lon: f64, lat: f64) -> bool {
        let c = Coord { x: lon, y: lat };
        match self {
            Shape::Polygon(p) => p.intersects(&c),
            Shape::Multi(m) => m.intersects(&c),
        }
    }

    fn polygons(&self) -> &[Polygon<f64>] {
        match self {
            Shape::Polygon(p) => std::slice::from_ref(*p),
            Shape::Multi(m) => &m.0,
        }
    }

    fn bbox(&self) -> Option<geo::Rect<f64>> {
        match self {
            Shape::Polygon(p) => p.bounding_rect(),
            Shape::Multi(m) => m.bounding_rect(),
        }
    }
}

const OUTSIDE: u8 = 0;
const INSIDE: u8 = 1;
const BOUNDARY: u8 = 2;

/// How a box relates to the shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BoxClass {
    /// No point of the box is in the shape.
    Outside,
    /// Every point of the box is in the shape.
    Inside,
    /// Undecided: test the points.
    Mixed,
}

/// The classified grid of one shape.
#[derive(Debug, Clone)]
pub(crate) struct AreaGrid {
    bbox: BBox,
    nx: usize,
    ny: usize,
    cw: f64,
    ch: f64,
    /// 1 / cw, 1 / ch.
    per_x: f64,
    per_y: f64,
    eps_x: f64,
    eps_y: f64,
    class: Vec<u8>,
}

/// Fewest and most cells of a grid (one byte each).
const MIN_CELLS: usize = 256;
const MAX_CELLS: usize = 4096;
/// Aimed-at cell size, metres.
const CELL_M: f64 = 25.0;

impl AreaGrid {
    /// Builds the grid; `Ok(None)` for an empty shape (it contains no point).
    pub(crate) fn new(shape: &Shape<'_>) -> Result<Option<Self>, IndexError> {
        let Some(rect) = shape.bbox() else {
            return Ok(None);
        };
        let finite = shape.polygons().iter().all(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .flat_map(LineString::coords)
                .all(|c| c.x.is_finite() && c.y.is_finite())
        });
        if !finite {
            return Err(IndexError::InvalidPolygon);
        }
        let (min, max) = (rect.min(), rect.max());
        let bbox = BBox::new(min.x, min.y, max.x, max.y).map_err(|_| IndexError::InvalidPolygon)?;
        let (w, h) = (max.x - min.x, max.y - min.y);
        let edges: usize = shape
            .polygons()
            .iter()
            .map(|p| p.lines_iter().count())
            .sum();
        if !(w > 0.0 && h > 0.0) {
            // No area: every point in the box is a boundary point, let geo decide.
            return Ok(Some(Self {
                bbox,
                nx: 1,
                ny: 1,
                cw: 1.0,
                ch: 1.0,
                per_x: 1.0,
                per_y: 1.0,
                eps_x: 0.0,
                eps_y: 0.0,
                class: vec![BOUNDARY],
            }));
        }
        // Roughly square cells on the ground: a degree of longitude is cos(lat) of one of latitude.
        let ground_w = w * f64::midpoint(min.y, max.y).to_radians().cos().max(0.01);
        // Cells of about 25 m, and at least 16 per ring edge: heat and zone queries test many
        // points per zone, and a point in an inside or outside cell costs a lookup instead of a
        // pass over the rings. 256 to 4,096 cells (bytes) per shape.
        let ground_m2 = ground_w * h * METRES_PER_DEGREE * METRES_PER_DEGREE;
        let target = (ground_m2 / (CELL_M * CELL_M))
            .max(16.0 * edges as f64)
            .clamp(MIN_CELLS as f64, MAX_CELLS as f64);
        let nx = (target * ground_w / h).sqrt().round().clamp(1.0, target) as usize;
        let ny = (target / nx as f64).round().clamp(1.0, target) as usize;
        let (cw, ch) = (w / nx as f64, h / ny as f64);
        let mut g = Self {
            bbox,
            nx,
            ny,
            cw,
            ch,
            per_x: 1.0 / cw,
            per_y: 1.0 / ch,
            eps_x: cw * 1e-6 + 1e-11,
            eps_y: ch * 1e-6 + 1e-11,
            class: vec![OUTSIDE; nx * ny],
        };
        g.mark_rings(shape);
        g.classify_regions(shape);
        Ok(Some(g))
    }

    #[inline]
    fn col(&self, x: f64) -> usize {
        let i = floor_i32((x - self.bbox.min_lon()) * self.per_x);
        (i.max(0) as usize).min(self.nx - 1)
    }

    #[inline]
    fn row(&self, y: f64) -> usize {
        let i = floor_i32((y - self.bbox.min_lat()) * self.per_y);
        (i.max(0) as usize).min(self.ny - 1)
    }

    fn mark_rings(&mut self, shape: &Shape<'_>) {
        let (mx, my) = (2.0 * self.eps_x, 2.0 * self.eps_y);
        for poly in shape.polygons() {
            for line in poly.lines_iter() {
                let (a, b) = (line.start, line.end);
                let (dx, dy) = (b.x - a.x, b.y - a.y);
                let pieces = (dx.abs() / self.cw)
                    .max(dy.abs() / self.ch)
                    .ceil()
                    .clamp(1.0, (self.nx + self.ny) as f64) as usize;
                let mut p0 = a;
                for i in 1..=pieces {
                    let p1 = if i == pieces {
                        b
                    } else {
                        let t = i as f64 / pieces as f64;
                        Coord {
                            x: a.x + dx * t,
                            y: a.y + dy * t,
                        }
                    };
                    let (c0, c1) = (self.col(p0.x.min(p1.x) - mx), self.col(p0.x.max(p1.x) + mx));
                    let (r0, r1) = (self.row(p0.y.min(p1.y) - my), self.row(p0.y.max(p1.y) + my));
                    for r in r0..=r1 {
                        self.class[r * self.nx + c0..=r * self.nx + c1].fill(BOUNDARY);
                    }
                    p0 = p1;
                }
            }
        }
    }

    /// Labels each 4-connected region of unmarked cells by one exact test at a cell centre.
    fn classify_regions(&mut self, shape: &Shape<'_>) {
        const UNSEEN: u8 = OUTSIDE;
        const PENDING: u8 = 3;
        // Unmarked cells still hold OUTSIDE (= UNSEEN); mark them PENDING first so that a
        // region classified OUTSIDE is not visited again.
        for c in &mut self.class {
            if *c == UNSEEN {
                *c = PENDING;
            }
        }
        let mut stack = Vec::new();
        for start in 0..self.class.len() {
            if self.class[start] != PENDING {
                continue;
            }
            let (cx, cy) = (start % self.nx, start / self.nx);
            let lon = self.bbox.min_lon() + (cx as f64 + 0.5) * self.cw;
            let lat = self.bbox.min_lat() + (cy as f64 + 0.5) * self.ch;
            let label = if shape.intersects(lon, lat) {
                INSIDE
            } else {
                OUTSIDE
            };
            self.class[start] = label;
            stack.push(start);
            while let Some(i) = stack.pop() {
                let (x, y) = (i % self.nx, i / self.nx);
                let mut visit = |j: usize, class: &mut Vec<u8>| {
                    if class[j] == PENDING {
                        class[j] = label;
                        stack.push(j);
                    }
                };
                if x > 0 {
                    visit(i - 1, &mut self.class);
                }
                if x + 1 < self.nx {
                    visit(i + 1, &mut self.class);
                }
                if y > 0 {
                    visit(i - self.nx, &mut self.class);
                }
                if y + 1 < self.ny {
                    visit(i + self.nx, &mut self.class);
                }
            }
        }
    }

    /// The shape's bounding box.
    pub(crate) fn bbox(&self) -> &BBox {
        &self.bbox
    }

    /// Whether (lon, lat) is in the shape (inside or on a ring), exactly as geo's `Intersects`.
    #[inline]
    pub(crate) fn contains(&self, shape: &Shape<'_>, lon: f64, lat: f64) -> bool {
        if !self.bbox.contains_xy(lon, lat) {
            return false;
        }
        match self.class[self.row(lat) * self.nx + self.col(lon)] {
            INSIDE => true,
            OUTSIDE => false,
            _ => shape.intersects(lon, lat),
        }
    }

    /// How every point of the closed box `b` relates to the shape.
    pub(crate) fn classify_box(&self, b: &BBox) -> BoxClass {
        if b.intersection(&self.bbox).is_none() {
            return BoxClass::Outside;
        }
        let within_bbox = b.min_lon() >= self.bbox.min_lon()
            && b.max_lon() <= self.bbox.max_lon()
            && b.min_lat() >= self.bbox.min_lat()
            && b.max_lat() <= self.bbox.max_lat();
        let (c0, c1) = (
            self.col(b.min_lon() - self.eps_x),
            self.col(b.max_lon() + self.eps_x),
        );
        let (r0, r1) = (
            self.row(b.min_lat() - self.eps_y),
            self.row(b.max_lat() + self.eps_y),
        );
        let first = self.class[r0 * self.nx + c0];
        if first == BOUNDARY || (first == INSIDE && !within_bbox) {
            return BoxClass::Mixed;
        }
        for r in r0..=r1 {
            if self.class[r * self.nx + c0..=r * self.nx + c1]
                .iter()
                .any(|&c| c != first)
            {
                return BoxClass::Mixed;
            }
        }
        if first == INSIDE {
            BoxClass::Inside
        } else {
            BoxClass::Outside
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn square_with_hole() -> Polygon<f64> {
        polygon!(
            exterior: [(x: 121.40, y: 31.20), (x: 121.50, y: 31.20), (x: 121.50, y: 31.30), (x: 121.40, y: 31.30)],
            interiors: [[(x: 121.44, y: 31.24), (x: 121.46, y: 31.24), (x: 121.46, y: 31.26), (x: 121.44, y: 31.26)]],
        )
    }

    #[test]
    fn grid_agrees_with_geo_everywhere() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // A star-shaped ring with many edges and a hole, plus the square with a hole.
        let star: Vec<(f64, f64)> = (0..97)
            .map(|i| {
                let t = f64::from(i) / 97.0 * std::f64::consts::TAU;
                let r = if i % 2 == 0 { 0.01 } else { 0.004 };
                (121.47 + r * t.cos(), 31.23 + r * t.sin())
            })
            .collect();
        let hole: Vec<(f64, f64)> = (0..12)
            .map(|i| {
                let t = -f64::from(i) / 12.0 * std::f64::consts::TAU;
                (121.47 + 0.001 * t.cos(), 31.23 + 0.001 * t.sin())
            })
            .collect();
        let star = Polygon::new(LineString::from(star), vec![LineString::from(hole)]);
        for poly in [square_with_hole(), star] {
            let shape = Shape::Polygon(&poly);
            let g = AreaGrid::new(&shape).unwrap().unwrap();
            let b = *g.bbox();
            for _ in 0..50_000 {
                let lon = rng.random_range(b.min_lon() - 0.01..b.max_lon() + 0.01);
                let lat = rng.random_range(b.min_lat() - 0.01..b.max_lat() + 0.01);
                assert_eq!(g.contains(&shape, lon, lat), shape.intersects(lon, lat));
            }
            // Every vertex is on the boundary, hence in.
            for c in poly
                .exterior()
                .coords()
                .chain(poly.interiors().iter().flat_map(LineString::coords))
            {
                assert!(g.contains(&shape, c.x, c.y), "{c:?}");
            }
        }
    }

    #[test]
    fn box_classes_are_sound() {
        let poly = square_with_hole();
        let shape = Shape::Polygon(&poly);
        let g = AreaGrid::new(&shape).unwrap().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut seen = [0usize; 3];
        for _ in 0..5_000 {
            let lon = rng.random_range(121.38..121.52);
            let lat = rng.random_range(31.18..31.32);
            let s = rng.random_range(0.0..0.02);
            let b = BBox::new(lon, lat, lon + s, lat + s).unwrap();
            let class = g.classify_box(&b);
            seen[class as usize] += 1;
            for _ in 0..50 {
                let x = rng.random_range(b.min_lon()..=b.max_lon());
                let y = rng.random_range(b.min_lat()..=b.max_lat());
                match class {
                    BoxClass::Inside => assert!(shape.intersects(x, y)),
                    BoxClass::Outside => assert!(!shape.intersects(x, y)),
                    BoxClass::Mixed => {}
                }
            }
        }
        assert!(seen.iter().all(|&n| n > 100), "{seen:?}");
    }

    #[test]
    fn degenerate_and_empty_shapes() {
        let flat = polygon![(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 3.0, y: 1.0)];
        let shape = Shape::Polygon(&flat);
        let g = AreaGrid::new(&shape).unwrap().unwrap();
        assert_eq!(g.contains(&shape, 1.5, 1.0), shape.intersects(1.5, 1.0));
        assert!(!g.contains(&shape, 1.5, 1.1));
        let empty = MultiPolygon::<f64>::new(vec![]);
        assert!(AreaGrid::new(&Shape::Multi(&empty)).unwrap().is_none());
        let bad = polygon![(x: 1.0, y: 1.0), (x: f64::NAN, y: 1.0), (x: 3.0, y: 2.0)];
        assert_eq!(
            AreaGrid::new(&Shape::Polygon(&bad)).unwrap_err(),
            IndexError::InvalidPolygon
        );
    }
}
