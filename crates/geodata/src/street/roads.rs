//! Road-chiefs' zones (路长): one zone along each named road, cut into stretches when it is long.
//!
//! A road's zone is the buffer of every way of that name, `half_width_m` each side. A road whose
//! extent along its main direction (the long side of the lines' minimum rotated rectangle) is
//! more than `stretch_m` is cut across that direction into equal stretches, each with its own
//! road-chief. The cut is made in the buffer, not the lines, so the stretches of one road tile
//! its zone without overlapping (two chiefs never share a piece of pavement), and parallel
//! carriageways mapped as separate ways are cut at the same places.

use std::collections::BTreeMap;

use civmap_domain::ZoneKind;
use geo::orient::Direction;
use geo::{
    Area, BooleanOps, Coord, Geometry, LineString, MinimumRotatedRect, MultiLineString,
    MultiPolygon, Orient, Polygon, coord,
};

use crate::extract::Road;
use crate::zones::{
    DEFAULT_ROAD_HALF_WIDTH_M, LocalProjection, ZoneError, ZoneShape, buffer_m, check_distance,
};

/// Default longest stretch one road-chief owns, metres along the road: a walk of about a
/// quarter of an hour each way, which a chief can patrol on both sides in one round.
pub const DEFAULT_STRETCH_M: f64 = 1_000.0;

/// OSM `highway` classes whose named roads get road-chiefs by default: the public roads a street
/// office keeps. Left out: expressways and elevated roads (`motorway`, `trunk`: the city's, not a
/// street's), lanes inside compounds and campuses (`service`: an area-chief's), and paths.
pub const ROAD_CHIEF_CLASSES: &[&str] = &[
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "living_street",
];

/// Stretches (planar pieces of a cut road zone) smaller than this are dropped, square metres:
/// the slivers a cut leaves where a road barely reaches into the next stretch.
const MIN_STRETCH_M2: f64 = 1.0;

/// How road zones are built.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadOptions {
    /// Half-width of the zone, metres each side of the centre line (default
    /// [`DEFAULT_ROAD_HALF_WIDTH_M`]).
    pub half_width_m: f64,
    /// Longest stretch along the road's main direction, metres; `None` never cuts (default
    /// [`DEFAULT_STRETCH_M`]).
    pub stretch_m: Option<f64>,
    /// A road name gets a zone when at least one of its ways has one of these `highway` classes;
    /// the zone then covers all ways of that name (its slip roads and separately mapped
    /// pavements too). Default [`ROAD_CHIEF_CLASSES`].
    pub classes: Vec<String>,
}

impl Default for RoadOptions {
    fn default() -> Self {
        Self {
            half_width_m: DEFAULT_ROAD_HALF_WIDTH_M,
            stretch_m: Some(DEFAULT_STRETCH_M),
            classes: ROAD_CHIEF_CLASSES.iter().map(|&c| c.to_owned()).collect(),
        }
    }
}

/// Road zones of the named roads in `roads`, sorted by name, stretches in order from the west
/// end (from the north end for a road running more north–south than east–west).
///
/// A road that needs one stretch is `road:<name>`, named `<name>`; a road cut into `n` stretches
/// gives `road:<name>#1` … `road:<name>#n`, named `<name>（1/n）` …. With `within` (the street's
/// boundary), only the parts of the roads within `half_width_m` of it are kept, so a road
/// running along the boundary stays whole and the zone of a road leaving the street ends there.
///
/// ```
/// use civmap_geodata::{extract, osm, poi::PoiTable};
/// use civmap_geodata::street::{RoadOptions, road_zones};
/// // 赤峰路, 1.9 km east–west: two stretches of ~950 m at the default 1 km.
/// let xml = r#"<osm version="0.6">
///   <node id="1" lat="31.2840" lon="121.4900"/><node id="2" lat="31.2840" lon="121.5100"/>
///   <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="tertiary"/><tag k="name" v="赤峰路"/></way>
/// </osm>"#;
/// let ex = extract::extract(&osm::read_xml(xml.as_bytes())?, &PoiTable::builtin());
/// let zones = road_zones(&ex.roads, &RoadOptions::default(), None)?;
/// let ids: Vec<&str> = zones.iter().map(|z| z.external_id.as_str()).collect();
/// assert_eq!(ids, ["road:赤峰路#1", "road:赤峰路#2"]);
/// assert_eq!(zones[0].name, "赤峰路（1/2）");
/// # Ok::<(), civmap_geodata::Error>(())
/// ```
pub fn road_zones(
    roads: &[Road],
    opts: &RoadOptions,
    within: Option<&MultiPolygon<f64>>,
) -> Result<Vec<ZoneShape>, ZoneError> {
    check_distance("road half-width", opts.half_width_m)?;
    if let Some(s) = opts.stretch_m {
        check_distance("road stretch length", s)?;
    }
    // File order within a name, so an uncut zone is exactly `zones::road_zone`'s.
    let mut by_name: BTreeMap<&str, (bool, Vec<LineString<f64>>)> = BTreeMap::new();
    for r in roads {
        let entry = by_name.entry(&r.name).or_default();
        entry.0 |= opts.classes.contains(&r.class);
        entry.1.push(r.geometry.clone());
    }
    let keep = within.map(|b| buffer_m(&b.clone().into(), opts.half_width_m));
    let mut out = Vec::new();
    for (name, (chief_road, lines)) in by_name {
        if !chief_road {
            continue;
        }
        let mut lines = MultiLineString::new(lines);
        if let Some(keep) = &keep {
            lines = keep.clip(&lines, false);
        }
        if lines.0.is_empty() {
            continue;
        }
        let zone = buffer_m(&lines.clone().into(), opts.half_width_m);
        let stretches = match opts.stretch_m {
            Some(s) => cut(&lines, zone, s, opts.half_width_m),
            None => vec![zone],
        };
        let n = stretches.len();
        for (k, geometry) in stretches.into_iter().enumerate() {
            let (name, external_id) = if n == 1 {
                (name.to_owned(), format!("road:{name}"))
            } else {
                (
                    format!("{name}（{}/{n}）", k + 1),
                    format!("road:{name}#{}", k + 1),
                )
            };
            out.push(ZoneShape {
                kind: ZoneKind::Road,
                name,
                poi_kind: None,
                code: None,
                geometry,
                external_id,
            });
        }
    }
    Ok(out)
}

/// Cuts `zone`, the buffer of `lines`, into stretches no longer than `stretch_m` along the lines'
/// main direction (see the module docs). One stretch when no cut is needed.
fn cut(
    lines: &MultiLineString<f64>,
    zone: MultiPolygon<f64>,
    stretch_m: f64,
    half_width_m: f64,
) -> Vec<MultiPolygon<f64>> {
    let geometry: Geometry<f64> = lines.clone().into();
    let Some(proj) = LocalProjection::centred_on(&geometry) else {
        return vec![zone];
    };
    let Some(rect) = proj.project(lines).minimum_rotated_rect() else {
        return vec![zone];
    };
    let corners = &rect.exterior().0;
    if corners.len() < 4 {
        return vec![zone];
    }
    let side_a = corners[1] - corners[0];
    let side_b = corners[2] - corners[1];
    let long = if norm(side_a) >= norm(side_b) {
        side_a
    } else {
        side_b
    };
    let length = norm(long);
    let n = (length / stretch_m).ceil();
    if n.is_nan() || n <= 1.0 {
        return vec![zone];
    }
    let mut u = long / length;
    // Number the stretches from the west end, or from the north for a north–south road.
    if (u.x.abs() >= u.y.abs() && u.x < 0.0) || (u.x.abs() < u.y.abs() && u.y > 0.0) {
        u = -u;
    }
    let v = coord! { x: -u.y, y: u.x };
    let along = |c: &Coord<f64>| c.x * u.x + c.y * u.y;
    let across = |c: &Coord<f64>| c.x * v.x + c.y * v.y;
    let t0 = corners.iter().map(along).fold(f64::INFINITY, f64::min);
    let (s0, s1) = corners
        .iter()
        .map(across)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
            (lo.min(s), hi.max(s))
        });
    // The first and last slabs and all their sides reach past the buffer's round ends.
    let margin = half_width_m + 1.0;
    let step = length / n;
    let zone_p = proj.project(&zone);
    let count = n as usize;
    (0..count)
        .filter_map(|k| {
            let a = if k == 0 {
                t0 - margin
            } else {
                t0 + k as f64 * step
            };
            let b = if k + 1 == count {
                t0 + length + margin
            } else {
                t0 + (k + 1) as f64 * step
            };
            let at = |t: f64, s: f64| u * t + v * s;
            let slab = Polygon::new(
                LineString::new(vec![
                    at(a, s0 - margin),
                    at(b, s0 - margin),
                    at(b, s1 + margin),
                    at(a, s1 + margin),
                    at(a, s0 - margin),
                ]),
                vec![],
            );
            let piece = zone_p.intersection(&slab);
            (piece.unsigned_area() >= MIN_STRETCH_M2)
                .then(|| proj.unproject(&piece).orient(Direction::Default))
        })
        .collect()
}

fn norm(c: Coord<f64>) -> f64 {
    c.x.hypot(c.y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zones::{geodesic_area_m2, road_zone};

    fn road(way_id: i64, name: &str, class: &str, coords: &[(f64, f64)]) -> Road {
        Road {
            way_id,
            name: name.into(),
            class: class.into(),
            nodes: (0..coords.len() as i64).collect(),
            geometry: LineString::from(coords.to_vec()),
        }
    }

    #[test]
    fn an_uncut_road_is_the_plain_road_zone() {
        let roads = [
            road(
                1,
                "赤峰路",
                "tertiary",
                &[(121.490, 31.284), (121.495, 31.284)],
            ),
            road(
                2,
                "赤峰路",
                "footway",
                &[(121.490, 31.2841), (121.495, 31.2841)],
            ),
            road(
                3,
                "校园路",
                "service",
                &[(121.490, 31.285), (121.491, 31.285)],
            ),
        ];
        let zones = road_zones(&roads, &RoadOptions::default(), None).unwrap();
        assert_eq!(zones.len(), 1, "the service road is not a road-chief's");
        assert_eq!(
            zones[0],
            road_zone(&roads, "赤峰路", DEFAULT_ROAD_HALF_WIDTH_M).unwrap()
        );
    }

    #[test]
    fn dual_carriageways_are_cut_at_the_same_places_and_tile_the_zone() {
        // Two parallel carriageways 20 m apart, 2.5 km north–south, drawn in opposite directions.
        let (lat0, lat1) = (31.27, 31.2925);
        let roads = [
            road(1, "四平路", "primary", &[(121.5, lat0), (121.5, lat1)]),
            road(
                2,
                "四平路",
                "primary",
                &[(121.5002, lat1), (121.5002, lat0)],
            ),
        ];
        let opts = RoadOptions::default();
        let zones = road_zones(&roads, &opts, None).unwrap();
        let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
        assert_eq!(names, ["四平路（1/3）", "四平路（2/3）", "四平路（3/3）"]);
        // Numbered from the north: the first stretch holds the northern end.
        let north = geo::Point::new(121.5001, lat1);
        assert!(geo::Intersects::intersects(&zones[0].geometry, &north));
        let whole = road_zone(&roads, "四平路", opts.half_width_m).unwrap();
        let sum: f64 = zones.iter().map(ZoneShape::area_m2).sum();
        assert!((sum / whole.area_m2() - 1.0).abs() < 1e-6, "{sum}");
        for (i, a) in zones.iter().enumerate() {
            for b in &zones[i + 1..] {
                assert!(geodesic_area_m2(&a.geometry.intersection(&b.geometry)) < 0.01);
            }
        }
    }

    #[test]
    fn bad_lengths_are_refused() {
        let opts = RoadOptions {
            stretch_m: Some(0.0),
            ..RoadOptions::default()
        };
        assert!(matches!(
            road_zones(&[], &opts, None),
            Err(ZoneError::BadDistance { .. })
        ));
    }
}
