//! Places in words: "四平路1239号附近", "同济大学附近", "四平路与赤峰路交叉口附近".
//!
//! A team on the street finds a problem by its place, not by its coordinates. The gazetteer
//! holds the street's named OpenStreetMap features — addressed points, named points and buildings,
//! named roads — and [`Gazetteer::describe`] says where a point is with the most precise of them
//! that is near enough:
//! 1. an address (`addr:street` + `addr:housenumber`) within [`ADDRESS_M`]: "四平路1239号附近";
//! 2. a named point or building within [`NAMED_M`] (inside a building or campus: "同济大学内");
//! 3. two differently named roads both within [`CROSSING_M`]: "四平路与赤峰路交叉口附近";
//! 4. the nearest named road within [`ROAD_M`]: "四平路附近";
//! 5. nothing: the empty string (the caller shows coordinates).
//!
//! Distances are metres in a local equirectangular plane around the point asked about: exact to
//! well under a metre over the few hundred metres looked at.

use geo::{Contains, Coord, Geometry, LineString, Point, Polygon};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

/// How far an address may be, in metres.
pub const ADDRESS_M: f64 = 30.0;
/// How far a named point or building may be, in metres.
pub const NAMED_M: f64 = 40.0;
/// How far both roads of a crossing may be, in metres.
pub const CROSSING_M: f64 = 30.0;
/// How far the nearest named road may be, in metres.
pub const ROAD_M: f64 = 120.0;

/// Metres per degree of latitude (mean), and of longitude at the equator.
const M_PER_DEG_LAT: f64 = 110_574.0;
const M_PER_DEG_LON: f64 = 111_320.0;

#[derive(Debug, Clone)]
enum Shape {
    Point([f64; 2]),
    Line(Vec<[f64; 2]>),
    Area(Polygon<f64>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Address,
    Named,
    Road,
}

#[derive(Debug, Clone)]
struct Entry {
    kind: Kind,
    name: String,
    shape: Shape,
}

/// The named features of a street, indexed by their bounding boxes.
#[derive(Debug, Default)]
pub struct Gazetteer {
    entries: Vec<Entry>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
}

/// What [`Gazetteer::new`] is built from.
#[derive(Debug, Clone, PartialEq)]
pub enum Named {
    /// A named road (`LineString` or `MultiLineString`).
    Road {
        name: String,
        geometry: Geometry<f64>,
    },
    /// An address point and its [`address_label`] ("四平路1239号").
    Address { label: String, at: Point<f64> },
    /// A named point of interest or building (`Point`, `Polygon` or `MultiPolygon`).
    Feature {
        name: String,
        geometry: Geometry<f64>,
    },
}

/// The Chinese part of a bilingual OpenStreetMap name ("密云路454弄 Lane 454 of Miyun Road" →
/// "密云路454弄"); other names unchanged.
#[must_use]
pub fn local_name(name: &str) -> &str {
    let name = name.trim();
    let has_cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    if !has_cjk(name) {
        return name;
    }
    match name.find(' ') {
        Some(i) if !has_cjk(&name[i..]) => name[..i].trim_end(),
        _ => name,
    }
}

/// An address as people write it: the street's local name and the house number ("四平路1239号");
/// `None` without either.
#[must_use]
pub fn address_label(street: &str, number: &str) -> Option<String> {
    let street = local_name(street);
    let number = number.trim().trim_end_matches('号');
    (!street.is_empty() && !number.is_empty()).then(|| format!("{street}{number}号"))
}

impl Gazetteer {
    /// Indexes `items`; unnamed, empty or unusable geometries are left out.
    #[must_use]
    pub fn new(items: impl IntoIterator<Item = Named>) -> Self {
        let mut entries = Vec::new();
        for item in items {
            let entry = match item {
                Named::Road { name, geometry } => {
                    let name = local_name(&name).to_owned();
                    let lines: Vec<LineString<f64>> = match geometry {
                        Geometry::LineString(l) => vec![l],
                        Geometry::MultiLineString(m) => m.0,
                        _ => continue,
                    };
                    for l in lines.into_iter().filter(|l| l.0.len() >= 2) {
                        entries.push(Entry {
                            kind: Kind::Road,
                            name: name.clone(),
                            shape: Shape::Line(l.0.iter().map(|c| [c.x, c.y]).collect()),
                        });
                    }
                    continue;
                }
                Named::Address { label, at } => Entry {
                    kind: Kind::Address,
                    name: label,
                    shape: Shape::Point([at.x(), at.y()]),
                },
                Named::Feature { name, geometry } => Entry {
                    kind: Kind::Named,
                    name: local_name(&name).to_owned(),
                    shape: match geometry {
                        Geometry::Point(p) => Shape::Point([p.x(), p.y()]),
                        Geometry::Polygon(p) => Shape::Area(p),
                        Geometry::MultiPolygon(m) => match m.0.into_iter().next() {
                            Some(p) => Shape::Area(p),
                            None => continue,
                        },
                        _ => continue,
                    },
                },
            };
            if !entry.name.is_empty() {
                entries.push(entry);
            }
        }
        let boxes = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| bbox(&e.shape).map(|b| GeomWithData::new(b, i as u32)))
            .collect();
        Self {
            entries,
            tree: RTree::bulk_load(boxes),
        }
    }

    /// Features held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where (`lon`, `lat`) is, in words; empty when nothing named is near.
    #[must_use]
    pub fn describe(&self, lon: f64, lat: f64) -> String {
        let near = self.near(lon, lat, ROAD_M);
        if let Some((name, _)) = closest(&near, Kind::Address, ADDRESS_M) {
            return format!("{name}附近");
        }
        if let Some((name, d)) = closest(&near, Kind::Named, NAMED_M) {
            return if d == 0.0 {
                format!("{name}内")
            } else {
                format!("{name}附近")
            };
        }
        Self::road_words(&near)
    }

    /// Where (`lon`, `lat`) is by its roads only: what the public reads of a problem whose exact
    /// place is private (a stairwell), since a house number or building would point at a home.
    #[must_use]
    pub fn describe_street(&self, lon: f64, lat: f64) -> String {
        Self::road_words(&self.near(lon, lat, ROAD_M))
    }

    fn road_words(near: &[(Kind, &str, f64)]) -> String {
        let Some((road, d)) = closest(near, Kind::Road, ROAD_M) else {
            return String::new();
        };
        if d <= CROSSING_M
            && let Some((other, _)) = near
                .iter()
                // A ramp or underpass named after this road's crossing ("四平路-中山北二路下立交"
                // beside 四平路) is the same road to a reader, not a crossing with it.
                .filter(|(k, n, d)| {
                    *k == Kind::Road && !n.contains(road) && !road.contains(n) && *d <= CROSSING_M
                })
                .map(|(_, n, d)| (*n, *d))
                .min_by(|a, b| a.1.total_cmp(&b.1))
        {
            return format!("{road}与{other}交叉口附近");
        }
        format!("{road}附近")
    }

    /// Every feature within `radius_m` of the point: kind, name, distance in metres.
    fn near(&self, lon: f64, lat: f64, radius_m: f64) -> Vec<(Kind, &str, f64)> {
        if !lon.is_finite() || !lat.is_finite() {
            return Vec::new();
        }
        let plane = Plane::at(lon, lat);
        let (dx, dy) = plane.degrees(radius_m);
        let query = rstar::AABB::from_corners([lon - dx, lat - dy], [lon + dx, lat + dy]);
        self.tree
            .locate_in_envelope_intersecting(&query)
            .filter_map(|g| {
                let e = &self.entries[g.data as usize];
                let d = plane.distance(&e.shape, lon, lat);
                (d <= radius_m).then_some((e.kind, e.name.as_str(), d))
            })
            .collect()
    }
}

/// The nearest of `kind` within `max_m`: its name and distance.
fn closest<'a>(near: &[(Kind, &'a str, f64)], kind: Kind, max_m: f64) -> Option<(&'a str, f64)> {
    near.iter()
        .filter(|(k, _, d)| *k == kind && *d <= max_m)
        .map(|(_, n, d)| (*n, *d))
        .min_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(b.0)))
}

fn bbox(shape: &Shape) -> Option<Rectangle<[f64; 2]>> {
    let pts: Vec<[f64; 2]> = match shape {
        Shape::Point(p) => vec![*p],
        Shape::Line(l) => l.clone(),
        Shape::Area(p) => p.exterior().0.iter().map(|c| [c.x, c.y]).collect(),
    };
    let mut it = pts.iter().filter(|p| p[0].is_finite() && p[1].is_finite());
    let first = *it.next()?;
    let (lo, hi) = it.fold((first, first), |(lo, hi), p| {
        (
            [lo[0].min(p[0]), lo[1].min(p[1])],
            [hi[0].max(p[0]), hi[1].max(p[1])],
        )
    });
    Some(Rectangle::from_corners(lo, hi))
}

/// A local plane in metres around a point.
struct Plane {
    lon0: f64,
    lat0: f64,
    kx: f64,
}

impl Plane {
    fn at(lon: f64, lat: f64) -> Self {
        Self {
            lon0: lon,
            lat0: lat,
            kx: M_PER_DEG_LON * lat.to_radians().cos(),
        }
    }

    /// `m` metres as degrees of longitude and latitude here.
    fn degrees(&self, m: f64) -> (f64, f64) {
        (m / self.kx.max(1.0), m / M_PER_DEG_LAT)
    }

    fn xy(&self, p: [f64; 2]) -> [f64; 2] {
        [
            (p[0] - self.lon0) * self.kx,
            (p[1] - self.lat0) * M_PER_DEG_LAT,
        ]
    }

    /// Metres from the plane's origin (the point asked about) to `shape`; 0 inside an area.
    fn distance(&self, shape: &Shape, lon: f64, lat: f64) -> f64 {
        match shape {
            Shape::Point(p) => {
                let [x, y] = self.xy(*p);
                x.hypot(y)
            }
            Shape::Line(l) => self.to_line(l.iter().copied()),
            Shape::Area(poly) => {
                if poly.contains(&Coord { x: lon, y: lat }) {
                    0.0
                } else {
                    self.to_line(poly.exterior().0.iter().map(|c| [c.x, c.y]))
                }
            }
        }
    }

    fn to_line(&self, pts: impl Iterator<Item = [f64; 2]>) -> f64 {
        let pts: Vec<[f64; 2]> = pts.map(|p| self.xy(p)).collect();
        pts.windows(2)
            .map(|w| segment_distance(w[0], w[1]))
            .fold(f64::INFINITY, f64::min)
    }
}

/// Distance from the origin to the segment `a`–`b`.
fn segment_distance(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (-(a[0] * dx + a[1] * dy) / len2).clamp(0.0, 1.0)
    };
    (a[0] + t * dx).hypot(a[1] + t * dy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{line_string, polygon};

    /// Degrees of latitude for `m` metres.
    fn north(m: f64) -> f64 {
        m / M_PER_DEG_LAT
    }

    fn street() -> Gazetteer {
        // 四平路 runs north–south along lon 121.500; 赤峰路 east–west along lat 31.280.
        Gazetteer::new([
            Named::Road {
                name: "四平路".into(),
                geometry: line_string![(x: 121.500, y: 31.270), (x: 121.500, y: 31.290)].into(),
            },
            Named::Road {
                name: "四平路-中山北二路下立交".into(),
                geometry: line_string![(x: 121.5002, y: 31.271), (x: 121.5002, y: 31.273)].into(),
            },
            Named::Road {
                name: "赤峰路 Chifeng Road".into(),
                geometry: line_string![(x: 121.490, y: 31.280), (x: 121.510, y: 31.280)].into(),
            },
            Named::Address {
                label: address_label("四平路", "1239").unwrap(),
                at: Point::new(121.5002, 31.2850),
            },
            Named::Feature {
                name: "同济大学".into(),
                geometry: polygon![(x: 121.502, y: 31.284), (x: 121.506, y: 31.284), (x: 121.506, y: 31.288), (x: 121.502, y: 31.288)].into(),
            },
        ])
    }

    #[test]
    fn says_the_most_precise_place_near_enough() {
        let g = street();
        assert_eq!(
            g.describe(121.5002, 31.2850 + north(10.0)),
            "四平路1239号附近"
        );
        assert_eq!(g.describe(121.504, 31.286), "同济大学内");
        // 20 m west of the campus edge, 148 m from 四平路: the campus, from outside.
        assert_eq!(
            g.describe(121.502 - 20.0 / 95_200.0, 31.2865),
            "同济大学附近"
        );
        assert_eq!(g.describe(121.5001, 31.2801), "四平路与赤峰路交叉口附近");
        assert_eq!(g.describe(121.5003, 31.275), "四平路附近");
        // Beside an underpass named after 四平路's crossing: 四平路, not "四平路与四平路-…".
        assert_eq!(g.describe(121.50008, 31.2722), "四平路附近");
        assert_eq!(g.describe(121.4995, 31.2795 - north(60.0)), "四平路附近");
        assert_eq!(g.describe(121.45, 31.20), "");
        assert_eq!(g.describe(f64::NAN, 31.2), "");
    }

    #[test]
    fn the_public_reads_only_the_road() {
        let g = street();
        assert_eq!(g.describe_street(121.5002, 31.2852), "四平路附近");
        assert_eq!(g.describe_street(121.504, 31.286), "");
    }

    #[test]
    fn address_labels() {
        assert_eq!(
            address_label("四平路 Siping Road", "1239号").as_deref(),
            Some("四平路1239号")
        );
        assert_eq!(address_label("", "12"), None);
        assert_eq!(address_label("四平路", " "), None);
    }

    #[test]
    fn bilingual_names_keep_the_chinese_part() {
        assert_eq!(
            local_name("密云路454弄 Lane 454 of Miyun Road"),
            "密云路454弄"
        );
        assert_eq!(local_name("Siping Road"), "Siping Road");
        assert_eq!(local_name("同济大学 四平路校区"), "同济大学 四平路校区");
    }

    #[test]
    fn distances_are_metres() {
        let plane = Plane::at(121.5, 31.28);
        let d = plane.distance(&Shape::Point([121.5, 31.28 + north(100.0)]), 121.5, 31.28);
        assert!((d - 100.0).abs() < 1e-6, "{d}");
        let seg = segment_distance([-5.0, 3.0], [5.0, 3.0]);
        assert!((seg - 3.0).abs() < 1e-12);
        let end = segment_distance([4.0, 3.0], [9.0, 3.0]);
        assert!((end - 5.0).abs() < 1e-12);
    }
}
