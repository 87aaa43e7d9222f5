//! Geometry pipeline in tile units: clip to the buffered tile, simplify, quantise to the integer
//! grid, repair polygons on that grid, fix the winding, and write MVT geometry commands, telling
//! the layer which [`GeomType`] they are.
//!
//! Order of operations (each step keeps every vertex inside `[-buffer, extent + buffer]`):
//! 1. lines are clipped segment by segment (Liang–Barsky), keeping every visible part;
//!    polygon rings are clipped with Sutherland–Hodgman against the buffered square;
//! 2. Ramer–Douglas–Peucker simplification (geo's `Simplify`) with the tolerance in tile units;
//! 3. rounding to integers, dropping repeated vertices, lines with fewer than two distinct
//!    vertices and rings with zero area;
//! 4. polygons only, on the integer grid with `i_overlay`: each ring is split into simple rings
//!    (even-odd rule: a bow-tie becomes two triangles), exterior material oriented positive and
//!    holes negative, then all rings of the feature are resolved together with the *positive*
//!    fill rule: exterior minus holes, multipolygon parts unioned, whatever the input winding.
//!    This removes the self-intersections and overlaps that clipping, simplification and
//!    rounding can create and returns OGC-valid shapes; the output is then checked for the MVT
//!    winding (exterior rings have positive area by the spec's surveyor's formula in y-down
//!    tile coordinates, i.e. they appear clockwise on screen; interior rings the opposite).

use geo::{Coord, Geometry, LineString, Simplify};
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::{ContourDirection, IntOverlayOptions, Overlay};
use i_overlay::core::solver::Solver;
use i_overlay::i_float::int::point::IntPoint;
use i_overlay::i_shape::int::shape::{IntContour, IntShape};

use crate::error::Error;
use crate::pbf::zigzag32;

// Defined here, not with the layer that stores it, because the encoder below decides it: the
// layer depends on the encoder, never the other way.
/// MVT geometry type of a feature (`Feature.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeomType {
    /// `POINT = 1`: one or more points.
    Point = 1,
    /// `LINESTRING = 2`: one or more lines.
    LineString = 2,
    /// `POLYGON = 3`: one or more polygons, each an exterior ring and its holes.
    Polygon = 3,
}

const MOVE_TO: u32 = 1;
const LINE_TO: u32 = 2;
const CLOSE_PATH: u32 = 7;
/// Largest command count: the count has 29 bits.
const MAX_COUNT: usize = (1 << 29) - 1;

/// A command integer: `count << 3 | id`.
#[inline]
fn command(id: u32, count: usize) -> Result<u32, Error> {
    if count > MAX_COUNT {
        return Err(Error::GeometryTooLarge(count));
    }
    Ok(((count as u32) << 3) | id)
}

/// The buffered tile square `[min, max]²` in tile units.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClipBox {
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl ClipBox {
    #[inline]
    pub(crate) fn contains(&self, c: Coord<f64>) -> bool {
        c.x >= self.min && c.x <= self.max && c.y >= self.min && c.y <= self.max
    }

    /// Bounding box of `pts` relative to the clip box: `(all inside, all outside one edge)`.
    fn classify(&self, pts: &[Coord<f64>]) -> (bool, bool) {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for p in pts {
            x0 = x0.min(p.x);
            y0 = y0.min(p.y);
            x1 = x1.max(p.x);
            y1 = y1.max(p.y);
        }
        let inside = x0 >= self.min && y0 >= self.min && x1 <= self.max && y1 <= self.max;
        let outside = x1 < self.min || y1 < self.min || x0 > self.max || y0 > self.max;
        (inside, outside)
    }
}

/// Liang–Barsky: the parameter range `[t0, t1]` of segment `a → b` inside the box.
fn clip_segment(a: Coord<f64>, b: Coord<f64>, bx: &ClipBox) -> Option<(f64, f64)> {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let mut t0 = 0.0_f64;
    let mut t1 = 1.0_f64;
    for (p, q) in [
        (-dx, a.x - bx.min),
        (dx, bx.max - a.x),
        (-dy, a.y - bx.min),
        (dy, bx.max - a.y),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                if r > t1 {
                    return None;
                }
                t0 = t0.max(r);
            } else {
                if r < t0 {
                    return None;
                }
                t1 = t1.min(r);
            }
        }
    }
    Some((t0, t1))
}

#[inline]
fn lerp(a: Coord<f64>, b: Coord<f64>, t: f64) -> Coord<f64> {
    Coord {
        x: (b.x - a.x) * t + a.x,
        y: (b.y - a.y) * t + a.y,
    }
}

/// Clips a line to the box, appending every visible part (two or more vertices) to `out`.
pub(crate) fn clip_line(pts: &[Coord<f64>], bx: &ClipBox, out: &mut Vec<Vec<Coord<f64>>>) {
    if pts.len() < 2 {
        return;
    }
    let (inside, outside) = bx.classify(pts);
    if outside {
        return;
    }
    if inside {
        out.push(pts.to_vec());
        return;
    }
    let mut cur: Vec<Coord<f64>> = Vec::new();
    let flush = |cur: &mut Vec<Coord<f64>>, out: &mut Vec<Vec<Coord<f64>>>| {
        if cur.len() >= 2 {
            out.push(std::mem::take(cur));
        } else {
            cur.clear();
        }
    };
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if let Some((t0, t1)) = clip_segment(a, b, bx) {
            if t0 > 0.0 || cur.is_empty() {
                flush(&mut cur, out);
                cur.push(if t0 > 0.0 { lerp(a, b, t0) } else { a });
            }
            cur.push(if t1 < 1.0 { lerp(a, b, t1) } else { b });
            if t1 < 1.0 {
                flush(&mut cur, out);
            }
        } else {
            flush(&mut cur, out);
        }
    }
    flush(&mut cur, out);
}

/// Sutherland–Hodgman clip of an open ring (no repeated closing vertex) against the box.
/// The result can have degenerate edges along the box border; the integer repair step
/// removes them.
pub(crate) fn clip_ring(ring: Vec<Coord<f64>>, bx: &ClipBox) -> Vec<Coord<f64>> {
    if ring.len() < 3 {
        return Vec::new();
    }
    let (inside, outside) = bx.classify(&ring);
    if outside {
        return Vec::new();
    }
    if inside {
        return ring;
    }
    let (lo, hi) = (bx.min, bx.max);
    let mut cur = ring;
    let mut next = Vec::with_capacity(cur.len() + 8);
    // (axis is x?, keep >= bound?, bound)
    for (on_x, keep_ge, bound) in [
        (true, true, lo),
        (true, false, hi),
        (false, true, lo),
        (false, false, hi),
    ] {
        next.clear();
        let n = cur.len();
        if n == 0 {
            break;
        }
        let inside = |c: Coord<f64>| {
            let v = if on_x { c.x } else { c.y };
            if keep_ge { v >= bound } else { v <= bound }
        };
        let cut = |a: Coord<f64>, b: Coord<f64>| {
            if on_x {
                let t = (bound - a.x) / (b.x - a.x);
                Coord {
                    x: bound,
                    y: (b.y - a.y) * t + a.y,
                }
            } else {
                let t = (bound - a.y) / (b.y - a.y);
                Coord {
                    x: (b.x - a.x) * t + a.x,
                    y: bound,
                }
            }
        };
        let mut prev = cur[n - 1];
        let mut prev_in = inside(prev);
        for &c in &cur {
            let c_in = inside(c);
            if c_in {
                if !prev_in {
                    next.push(cut(prev, c));
                }
                next.push(c);
            } else if prev_in {
                next.push(cut(prev, c));
            }
            prev = c;
            prev_in = c_in;
        }
        std::mem::swap(&mut cur, &mut next);
    }
    if cur.len() < 3 { Vec::new() } else { cur }
}

/// RDP-simplifies an open line with `tolerance` in tile units (no-op for `tolerance <= 0`).
pub(crate) fn simplify_line(pts: Vec<Coord<f64>>, tolerance: f64) -> Vec<Coord<f64>> {
    if tolerance <= 0.0 || pts.len() <= 2 {
        return pts;
    }
    LineString::new(pts).simplify(tolerance).0
}

/// RDP-simplifies an open ring (closing it for the algorithm and opening it again).
pub(crate) fn simplify_ring(mut ring: Vec<Coord<f64>>, tolerance: f64) -> Vec<Coord<f64>> {
    if tolerance <= 0.0 || ring.len() <= 3 {
        return ring;
    }
    ring.push(ring[0]);
    let mut out = LineString::new(ring).simplify(tolerance).0;
    out.pop();
    out
}

/// Rounds a tile coordinate to the nearest integer (halves up), for |v| < 2^20.
///
/// Callers pass coordinates already clipped to the buffered tile (|v| <= 2 · 65536). Written
/// with a truncating cast instead of `f64::round`, which the baseline x86-64 target compiles to
/// a libm call: the point fast path rounds two coordinates per feature.
#[inline]
pub(crate) fn round_unit(v: f64) -> i32 {
    const OFFSET: f64 = 1_048_576.0; // 2^20: makes the value positive, so truncation = floor
    ((v + 0.5 + OFFSET) as i64 - 1_048_576) as i32
}

/// Rounds to the integer grid and drops consecutive repeated vertices.
pub(crate) fn quantize(pts: &[Coord<f64>], out: &mut Vec<IntPoint>) {
    out.clear();
    for p in pts {
        let q = IntPoint::new(round_unit(p.x), round_unit(p.y));
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
}

/// Twice the signed area of a ring by the surveyor's formula in tile coordinates (the MVT
/// spec's formula): positive = exterior (clockwise on screen, y down).
#[must_use]
pub(crate) fn ring_area2(ring: &[IntPoint]) -> i64 {
    let Some(&last) = ring.last() else { return 0 };
    let mut prev = last;
    let mut sum = 0i64;
    for &p in ring {
        sum += i64::from(prev.x) * i64::from(p.y) - i64::from(p.x) * i64::from(prev.y);
        prev = p;
    }
    sum
}

/// Writes MVT geometry commands with the running cursor of one feature.
struct CommandWriter<'a> {
    out: &'a mut Vec<u32>,
    cursor: IntPoint,
}

impl CommandWriter<'_> {
    #[inline]
    fn param(&mut self, p: IntPoint) {
        self.out.push(zigzag32(p.x - self.cursor.x));
        self.out.push(zigzag32(p.y - self.cursor.y));
        self.cursor = p;
    }

    /// `MoveTo(1)` to `start`, then `LineTo(n)` through `rest` (which must be non-empty).
    fn path(&mut self, start: IntPoint, rest: &[IntPoint]) -> Result<(), Error> {
        self.out.push(command(MOVE_TO, 1)?);
        self.param(start);
        self.out.push(command(LINE_TO, rest.len())?);
        for &p in rest {
            self.param(p);
        }
        Ok(())
    }
}

/// Encodes points as one `MoveTo(n)`.
pub(crate) fn encode_points(pts: &[IntPoint], out: &mut Vec<u32>) -> Result<(), Error> {
    out.push(command(MOVE_TO, pts.len())?);
    let mut w = CommandWriter {
        out,
        cursor: IntPoint::new(0, 0),
    };
    for &p in pts {
        w.param(p);
    }
    Ok(())
}

/// Reusable state for turning `geo` geometries into MVT commands.
pub(crate) struct GeometryEncoder {
    clip: ClipBox,
    tolerance: f64,
    overlay: Overlay,
    // Scratch buffers reused across features.
    coords: Vec<Coord<f64>>,
    parts: Vec<Vec<Coord<f64>>>,
    ints: Vec<IntPoint>,
    points: Vec<IntPoint>,
    lines: Vec<Vec<IntPoint>>,
}

impl std::fmt::Debug for GeometryEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeometryEncoder")
            .field("clip", &self.clip)
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

fn overlay_options() -> IntOverlayOptions {
    IntOverlayOptions {
        preserve_input_collinear: false,
        // i_overlay's counter-clockwise is y-up maths: positive surveyor's area, which is
        // what MVT calls an exterior ring (clockwise on a y-down screen).
        output_direction: ContourDirection::CounterClockwise,
        preserve_output_collinear: false,
        min_output_area: 0,
        // OGC-valid output: no self-touching rings, holes split where they touch.
        ogc: true,
    }
}

impl GeometryEncoder {
    pub(crate) fn new(clip: ClipBox, tolerance: f64) -> Self {
        Self {
            clip,
            tolerance,
            overlay: Overlay::new_custom(64, overlay_options(), Solver::default()),
            coords: Vec::new(),
            parts: Vec::new(),
            ints: Vec::new(),
            points: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Encodes `geom` into MVT commands in `out` (cleared first). `project` maps input
    /// coordinates to tile units and rejects non-finite input. Returns the geometry type, or
    /// `None` when nothing is left after clipping and simplification.
    pub(crate) fn encode<F>(
        &mut self,
        geom: &Geometry<f64>,
        project: F,
        out: &mut Vec<u32>,
    ) -> Result<Option<GeomType>, Error>
    where
        F: Fn(Coord<f64>) -> Result<Coord<f64>, Error> + Copy,
    {
        out.clear();
        match geom {
            Geometry::Point(p) => self.points(std::iter::once(p.0), project, out),
            Geometry::MultiPoint(mp) => self.points(mp.iter().map(|p| p.0), project, out),
            Geometry::Line(l) => {
                self.lines(std::iter::once([l.start, l.end].as_slice()), project, out)
            }
            Geometry::LineString(ls) => self.lines(std::iter::once(ls.0.as_slice()), project, out),
            Geometry::MultiLineString(mls) => {
                self.lines(mls.iter().map(|ls| ls.0.as_slice()), project, out)
            }
            Geometry::Polygon(p) => self.polygons(std::slice::from_ref(p), project, out),
            Geometry::MultiPolygon(mp) => self.polygons(&mp.0, project, out),
            Geometry::Rect(r) => self.polygons(&[r.to_polygon()], project, out),
            Geometry::Triangle(t) => self.polygons(&[t.to_polygon()], project, out),
            Geometry::GeometryCollection(_) => {
                Err(Error::UnsupportedGeometry("GeometryCollection"))
            }
        }
    }

    fn points<I, F>(
        &mut self,
        pts: I,
        project: F,
        out: &mut Vec<u32>,
    ) -> Result<Option<GeomType>, Error>
    where
        I: Iterator<Item = Coord<f64>>,
        F: Fn(Coord<f64>) -> Result<Coord<f64>, Error>,
    {
        self.points.clear();
        for c in pts {
            let t = project(c)?;
            if self.clip.contains(t) {
                self.points
                    .push(IntPoint::new(round_unit(t.x), round_unit(t.y)));
            }
        }
        if self.points.is_empty() {
            return Ok(None);
        }
        encode_points(&self.points, out)?;
        Ok(Some(GeomType::Point))
    }

    fn lines<'g, I, F>(
        &mut self,
        lines: I,
        project: F,
        out: &mut Vec<u32>,
    ) -> Result<Option<GeomType>, Error>
    where
        I: Iterator<Item = &'g [Coord<f64>]>,
        F: Fn(Coord<f64>) -> Result<Coord<f64>, Error>,
    {
        self.lines.clear();
        for line in lines {
            self.coords.clear();
            for &c in line {
                self.coords.push(project(c)?);
            }
            self.parts.clear();
            clip_line(&self.coords, &self.clip, &mut self.parts);
            for part in self.parts.drain(..) {
                let part = simplify_line(part, self.tolerance);
                quantize(&part, &mut self.ints);
                if self.ints.len() >= 2 {
                    self.lines.push(self.ints.clone());
                }
            }
        }
        if self.lines.is_empty() {
            return Ok(None);
        }
        let mut w = CommandWriter {
            out,
            cursor: IntPoint::new(0, 0),
        };
        for line in &self.lines {
            w.path(line[0], &line[1..])?;
        }
        Ok(Some(GeomType::LineString))
    }

    /// Projects, clips, simplifies and quantises one ring; `None` if fewer than three distinct
    /// vertices are left. The ring may still self-intersect or have zero area.
    fn ring<F>(&self, ring: &LineString<f64>, project: F) -> Result<Option<IntContour>, Error>
    where
        F: Fn(Coord<f64>) -> Result<Coord<f64>, Error>,
    {
        let mut pts = Vec::with_capacity(ring.0.len());
        for &c in &ring.0 {
            pts.push(project(c)?);
        }
        if pts.len() > 1 && pts.first() == pts.last() {
            pts.pop();
        }
        let pts = simplify_ring(clip_ring(pts, &self.clip), self.tolerance);
        let mut q = Vec::with_capacity(pts.len());
        quantize(&pts, &mut q);
        while q.len() > 1 && q.first() == q.last() {
            q.pop();
        }
        Ok((q.len() >= 3).then_some(q))
    }

    /// Splits one ring into simple rings covering its even-odd interior: outer rings with
    /// positive area, rings of enclosed gaps negative. A bow-tie becomes two triangles, a
    /// flat ring nothing. Fast path: a ring that is already simple is only (re)oriented.
    fn simple_rings(&mut self, ring: IntContour, out: &mut Vec<IntContour>, negate: bool) {
        let parts = match self.overlay.simplify_contour(&ring, FillRule::EvenOdd) {
            None => vec![ring],
            Some(shapes) => shapes.into_iter().flatten().collect(),
        };
        for mut p in parts {
            if negate {
                p.reverse();
            }
            out.push(p);
        }
    }

    fn polygons<F>(
        &mut self,
        polygons: &[geo::Polygon<f64>],
        project: F,
        out: &mut Vec<u32>,
    ) -> Result<Option<GeomType>, Error>
    where
        F: Fn(Coord<f64>) -> Result<Coord<f64>, Error> + Copy,
    {
        // Every ring is first made simple on its own (even-odd), then oriented so that the
        // winding number counts "inside an exterior" as +1 and "inside a hole" as -1. The
        // positive fill rule then gives exterior minus holes for each polygon and the union
        // of the polygons of a multipolygon, whatever the input winding or overlaps.
        let mut contours: Vec<IntContour> = Vec::new();
        for poly in polygons {
            let Some(ext) = self.ring(poly.exterior(), project)? else {
                continue;
            };
            let before = contours.len();
            self.simple_rings(ext, &mut contours, false);
            if contours.len() == before {
                continue;
            }
            for hole in poly.interiors() {
                if let Some(h) = self.ring(hole, project)? {
                    self.simple_rings(h, &mut contours, true);
                }
            }
        }
        if contours.is_empty() {
            return Ok(None);
        }
        let mut shapes: Vec<IntShape> = if contours.len() == 1 {
            vec![contours]
        } else {
            self.overlay
                .simplify_shape(&contours, FillRule::Positive)
                .unwrap_or_default()
        };
        // Enforce the MVT winding whatever the repair step returned, and drop leftovers.
        shapes.retain_mut(|shape| {
            shape.retain(|ring| ring.len() >= 3 && ring_area2(ring) != 0);
            for (i, ring) in shape.iter_mut().enumerate() {
                if (ring_area2(ring) > 0) != (i == 0) {
                    ring.reverse();
                }
            }
            !shape.is_empty()
        });
        if shapes.is_empty() {
            return Ok(None);
        }
        let mut w = CommandWriter {
            out,
            cursor: IntPoint::new(0, 0),
        };
        for shape in &shapes {
            for ring in shape {
                w.path(ring[0], &ring[1..])?;
                w.out.push(command(CLOSE_PATH, 1)?);
            }
        }
        Ok(Some(GeomType::Polygon))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const BOX: ClipBox = ClipBox {
        min: -64.0,
        max: 4160.0,
    };

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn line_clipping_keeps_every_visible_part() {
        // In, out, back in: two parts.
        let line = [c(0.0, 0.0), c(5000.0, 0.0), c(5000.0, 100.0), c(0.0, 100.0)];
        let mut parts = Vec::new();
        clip_line(&line, &BOX, &mut parts);
        assert_eq!(
            parts,
            vec![
                vec![c(0.0, 0.0), c(4160.0, 0.0)],
                vec![c(4160.0, 100.0), c(0.0, 100.0)]
            ]
        );
        // Crossing the whole box diagonally.
        parts.clear();
        clip_line(&[c(-1000.0, -1000.0), c(5000.0, 5000.0)], &BOX, &mut parts);
        assert_eq!(parts, vec![vec![c(-64.0, -64.0), c(4160.0, 4160.0)]]);
        // Entirely outside, passing the corner.
        parts.clear();
        clip_line(&[c(-1000.0, 0.0), c(0.0, -1000.0)], &BOX, &mut parts);
        assert!(parts.is_empty());
    }

    #[test]
    fn ring_clipping_against_the_square() {
        let ring = vec![
            c(-100.0, -100.0),
            c(200.0, -100.0),
            c(200.0, 200.0),
            c(-100.0, 200.0),
        ];
        let out = clip_ring(ring, &BOX);
        let mut q = Vec::new();
        quantize(&out, &mut q);
        assert_eq!(ring_area2(&q), 2 * 264 * 264);
        assert!(clip_ring(vec![c(-200.0, 0.0), c(-100.0, 0.0), c(-100.0, 10.0)], &BOX).is_empty());
    }

    #[test]
    fn round_unit_matches_round_away_from_halves() {
        for i in -200_000..200_000 {
            let v = f64::from(i) * 0.6543 + 0.1;
            if (v.fract().abs() - 0.5).abs() > 1e-9 {
                assert_eq!(round_unit(v), v.round() as i32, "{v}");
            }
        }
        assert_eq!(round_unit(2.5), 3);
        assert_eq!(round_unit(-2.5), -2);
    }

    #[test]
    fn winding_convention_matches_the_spec_example() {
        // Spec 4.3.5.5 example polygon: (3,6) (8,12) (20,34) is an exterior ring.
        let ring = [
            IntPoint::new(3, 6),
            IntPoint::new(8, 12),
            IntPoint::new(20, 34),
        ];
        assert!(ring_area2(&ring) > 0);
    }

    #[test]
    fn positive_fill_rule_keeps_holes_and_drops_inverted_parts() {
        let mut enc = GeometryEncoder::new(BOX, 0.0);
        // Exterior positive (spec), hole negative.
        let ext = vec![
            IntPoint::new(0, 0),
            IntPoint::new(100, 0),
            IntPoint::new(100, 100),
            IntPoint::new(0, 100),
        ];
        let mut ext = ext;
        if ring_area2(&ext) < 0 {
            ext.reverse();
        }
        let mut hole = vec![
            IntPoint::new(10, 10),
            IntPoint::new(20, 10),
            IntPoint::new(20, 20),
            IntPoint::new(10, 20),
        ];
        if ring_area2(&hole) > 0 {
            hole.reverse();
        }
        let out = enc
            .overlay
            .simplify_shapes(&[vec![ext.clone(), hole]], FillRule::Positive);
        let total: i64 = out.iter().flatten().map(|r| ring_area2(r)).sum();
        assert_eq!(total, 2 * (100 * 100 - 10 * 10));
        assert!(ring_area2(&out[0][0]) > 0);
        // The fast path keeps a valid positive ring untouched.
        assert!(
            enc.overlay
                .simplify_contour(&ext, FillRule::Positive)
                .is_none()
        );
    }
}
