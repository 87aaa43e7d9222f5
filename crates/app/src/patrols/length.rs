//! Lengths inside a zone: a line (a patrol's track, a road way) clipped to the zone's polygon
//! (`geo`'s `BooleanOps::clip`) and the inside parts measured on the sphere (haversine,
//! metres). Positions are WGS-84, lon/lat order.
//!
//! ```
//! use civmap_app::patrols::length::length_inside;
//! use geo::{LineString, MultiPolygon, Rect};
//! // A 0.01° wide zone; a line crossing it west to east at 31.28°N: about 951 m inside.
//! let zone = MultiPolygon(vec![Rect::new((121.50, 31.27), (121.51, 31.29)).to_polygon()]);
//! let line = LineString::from(vec![(121.49, 31.28), (121.52, 31.28)]);
//! let m = length_inside(&zone, &line);
//! assert!((m - 951.0).abs() < 2.0, "{m}");
//! ```

use geo::{
    BooleanOps, BoundingRect, Haversine, Intersects, Length, LineString, MultiLineString,
    MultiPolygon, Rect,
};

/// The length of the parts of `line` inside `zone`, metres (0 when they do not meet).
#[must_use]
pub fn length_inside(zone: &MultiPolygon<f64>, line: &LineString<f64>) -> f64 {
    if line.0.len() < 2 {
        return 0.0;
    }
    match (zone.bounding_rect(), line.bounding_rect()) {
        (Some(a), Some(b)) if a.intersects(&b) => {}
        _ => return 0.0,
    }
    let inside = zone.clip(&MultiLineString(vec![line.clone()]), false);
    Haversine.length(&inside)
}

/// The whole length of a track, metres (haversine between consecutive positions).
#[must_use]
pub fn track_length(points: &[civmap_domain::patrol::TrackPoint]) -> f64 {
    let line: LineString<f64> = points.iter().map(|p| (p.lon, p.lat)).collect();
    Haversine.length(&line)
}

/// A zone with its bounding box, for many lines against one zone.
#[derive(Debug, Clone)]
pub struct ClipZone<'a> {
    pub geometry: &'a MultiPolygon<f64>,
    pub bbox: Option<Rect<f64>>,
}

impl<'a> ClipZone<'a> {
    #[must_use]
    pub fn new(geometry: &'a MultiPolygon<f64>) -> Self {
        Self {
            geometry,
            bbox: geometry.bounding_rect(),
        }
    }

    /// Whether a box may meet the zone (its bounding box meets the zone's).
    #[must_use]
    pub fn may_meet(&self, b: &Rect<f64>) -> bool {
        self.bbox.is_some_and(|z| z.intersects(b))
    }

    /// The length of `line` inside the zone, metres, after the bounding-box test.
    #[must_use]
    pub fn length(&self, line: &LineString<f64>) -> f64 {
        match line.bounding_rect() {
            Some(b) if self.may_meet(&b) => length_inside(self.geometry, line),
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Distance, Point};

    #[test]
    fn a_line_inside_counts_whole_and_one_outside_not_at_all() {
        let zone = MultiPolygon(vec![
            Rect::new((121.50, 31.27), (121.51, 31.29)).to_polygon(),
        ]);
        let inside = LineString::from(vec![(121.501, 31.28), (121.509, 31.28)]);
        let whole = Haversine.distance(Point::new(121.501, 31.28), Point::new(121.509, 31.28));
        assert!((length_inside(&zone, &inside) - whole).abs() < 0.01);
        let outside = LineString::from(vec![(121.52, 31.28), (121.53, 31.28)]);
        assert!(length_inside(&zone, &outside).abs() < f64::EPSILON);
    }

    #[test]
    fn a_line_leaving_and_coming_back_counts_both_parts() {
        let zone = MultiPolygon(vec![
            Rect::new((121.50, 31.27), (121.51, 31.29)).to_polygon(),
        ]);
        // In at 121.505, out east to 121.52 along 31.28, back west along 31.281 to 121.505.
        let line = LineString::from(vec![
            (121.505, 31.28),
            (121.52, 31.28),
            (121.52, 31.281),
            (121.505, 31.281),
        ]);
        let out = Haversine.distance(Point::new(121.505, 31.28), Point::new(121.51, 31.28));
        let back = Haversine.distance(Point::new(121.505, 31.281), Point::new(121.51, 31.281));
        let got = length_inside(&zone, &line);
        assert!((got - out - back).abs() < 0.05, "{got} vs {}", out + back);
    }
}
