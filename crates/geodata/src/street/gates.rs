//! Point-chiefs' zones (点长): circles at the gates of schools, parks and markets.
//!
//! A gate is an OSM node tagged `entrance=*` (not `no`) or `barrier=gate|lift_gate|swing_gate|
//! sliding_gate`, lying within [`GATE_SNAP_M`] of a point of interest's outline: that is where
//! parents wait, cars park and vendors set up. A gate near two places belongs to the nearer one.
//! Gates of one place closer than [`GATE_MERGE_M`] (a car gate beside a pedestrian gate) share
//! one zone. A place with no mapped gate gets one zone at the point of its outline nearest to a
//! named road — where its entrance most likely is — or at its own position when it is mapped as
//! a node.

use civmap_domain::{LonLat, PoiKind};
use geo::{
    BoundingRect, Centroid, Closest, ClosestPoint, Coord, Distance, Euclidean, Geometry,
    LineString, MultiLineString, Point, Rect, coord,
};

use super::zone::StreetZone;
use crate::extract::{PoiFeature, Road, Skipped};
use crate::osm::{OsmData, Tags};
use crate::zones::{LocalProjection, ZoneError, check_distance, point_zone};

/// Default radius of a gate's zone, metres: the gate, the pavement in front of it and the
/// drop-off lay-by, where the campaign's school-gate problems are reported.
pub const DEFAULT_GATE_RADIUS_M: f64 = 60.0;
/// A gate belongs to a place when it lies this close to the place's outline, metres: gates are
/// mapped on the fence line or on the pavement just outside it.
pub const GATE_SNAP_M: f64 = 15.0;
/// Gates of one place this close together share one zone, metres.
pub const GATE_MERGE_M: f64 = 30.0;
/// How far from a place the nearest named road is sought for a place with no gate, metres.
/// Beyond that the place's centroid is used.
const ROAD_SEARCH_M: f64 = 300.0;

/// `barrier` values that are gates people and vehicles pass.
const GATE_BARRIERS: &[&str] = &["gate", "lift_gate", "swing_gate", "sliding_gate"];

/// How point zones are built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointOptions {
    /// Radius of each zone, metres (default [`DEFAULT_GATE_RADIUS_M`]).
    pub radius_m: f64,
}

impl Default for PointOptions {
    fn default() -> Self {
        Self {
            radius_m: DEFAULT_GATE_RADIUS_M,
        }
    }
}

/// `true` for the tags of a gate or entrance.
fn is_gate(tags: &Tags) -> bool {
    tags.get("entrance").is_some_and(|v| v != "no")
        || tags
            .get("barrier")
            .is_some_and(|v| GATE_BARRIERS.contains(&v))
}

/// A place, projected around itself for distances in metres.
struct Place<'a> {
    poi: &'a PoiFeature,
    proj: LocalProjection,
    /// The outer rings (or the point), metres.
    outline: MultiLineString<f64>,
    /// Bounding box of `outline` grown by [`GATE_SNAP_M`], metres.
    reach: Rect<f64>,
}

impl<'a> Place<'a> {
    fn new(poi: &'a PoiFeature) -> Option<Self> {
        let proj = LocalProjection::centred_on(&poi.geometry)?;
        let rings: Vec<LineString<f64>> = match &poi.geometry {
            Geometry::Polygon(p) => vec![p.exterior().clone()],
            Geometry::MultiPolygon(mp) => mp.0.iter().map(|p| p.exterior().clone()).collect(),
            Geometry::Point(p) => vec![LineString::new(vec![p.0])],
            _ => return None,
        };
        let outline = proj.project(&MultiLineString::new(rings));
        let b = outline.bounding_rect()?;
        let grow = coord! { x: GATE_SNAP_M, y: GATE_SNAP_M };
        Some(Self {
            poi,
            proj,
            reach: Rect::new(b.min() - grow, b.max() + grow),
            outline,
        })
    }

    /// Distance from `c` (lon/lat) to the outline, metres, when within [`GATE_SNAP_M`].
    fn snap(&self, c: Coord<f64>) -> Option<f64> {
        let p = self.proj.forward(c);
        let (lo, hi) = (self.reach.min(), self.reach.max());
        if p.x < lo.x || p.y < lo.y || p.x > hi.x || p.y > hi.y {
            return None;
        }
        let d = Euclidean.distance(&Point::from(p), &self.outline);
        (d <= GATE_SNAP_M).then_some(d)
    }

    fn word(&self) -> &'static str {
        match self.poi.kind {
            PoiKind::School => "校门",
            PoiKind::Park | PoiKind::Market => "出入口",
        }
    }
}

/// A gate node: id, position, name.
struct Gate {
    id: i64,
    at: Coord<f64>,
    name: Option<String>,
}

/// Point zones at the gates of `pois` (see the module docs), place by place in the order of
/// `pois`, each place's gates by OSM node id. `roads` are the named roads, for places without a
/// mapped gate. A zone's `poi` is the external id of its place.
///
/// Zones are `point:osm:node/<gate>` named `<place> <gate name>` (the place's name left out of
/// the gate's when it starts with it: `同济大学西南门` → `同济大学 西南门`) or `<place> 校门 N`
/// (`出入口 N` for parks and markets); a place without gates gets `point:<place's external id>`
/// named `<place> 校门` / `<place> 出入口`.
///
/// ```
/// use civmap_geodata::{extract, osm, poi::PoiTable};
/// use civmap_geodata::street::{PointOptions, point_zones};
/// // A school yard with a named gate on its fence.
/// let xml = r#"<osm version="0.6">
///   <node id="1" lat="31.2840" lon="121.4950"/><node id="2" lat="31.2840" lon="121.4960"/>
///   <node id="3" lat="31.2850" lon="121.4960"/><node id="4" lat="31.2850" lon="121.4950"/>
///   <node id="5" lat="31.2840" lon="121.4955"><tag k="barrier" v="gate"/><tag k="name" v="南门"/></node>
///   <way id="10"><nd ref="1"/><nd ref="5"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
///     <tag k="amenity" v="school"/><tag k="name" v="曲阳第四小学"/></way>
/// </osm>"#;
/// let data = osm::read_xml(xml.as_bytes())?;
/// let ex = extract::extract(&data, &PoiTable::builtin());
/// let (zones, _skipped) = point_zones(&data, &ex.pois, &ex.roads, &PointOptions::default())?;
/// assert_eq!(zones[0].shape.name, "曲阳第四小学 南门");
/// assert_eq!(zones[0].shape.external_id, "point:osm:node/5");
/// assert_eq!(zones[0].poi.as_deref(), Some("osm:way/10"));
/// # Ok::<(), civmap_geodata::Error>(())
/// ```
pub fn point_zones(
    data: &OsmData,
    pois: &[PoiFeature],
    roads: &[Road],
    opts: &PointOptions,
) -> Result<(Vec<StreetZone>, Vec<Skipped>), ZoneError> {
    check_distance("point zone radius", opts.radius_m)?;
    let places: Vec<Option<Place>> = pois.iter().map(Place::new).collect();
    // Each gate goes to the place whose outline is nearest.
    let mut gates: Vec<Vec<Gate>> = pois.iter().map(|_| Vec::new()).collect();
    for n in data.nodes.iter().filter(|n| is_gate(&n.tags)) {
        let at = coord! { x: n.lon, y: n.lat };
        let nearest = places
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i, p.as_ref()?.snap(at)?)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, _)) = nearest {
            gates[i].push(Gate {
                id: n.id,
                at,
                name: crate::extract::name_of(&n.tags),
            });
        }
    }
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for ((poi, place), gates) in pois.iter().zip(&places).zip(gates) {
        let Some(place) = place else {
            skipped.push(Skipped {
                element: poi.external_id.clone(),
                purpose: "point zone",
                reason: "a place with an empty or unusable geometry".into(),
            });
            continue;
        };
        let poi_name = place.poi.display_name();
        let kept = merge(place, gates);
        let mut zones = Vec::new();
        if kept.is_empty() {
            let at = entrance_guess(place, roads);
            zones.push((
                format!("{poi_name} {}", place.word()),
                at,
                format!("point:{}", place.poi.external_id),
            ));
        }
        let mut unnamed = 0;
        for g in kept {
            let label = if let Some(name) = &g.name {
                name.strip_prefix(poi_name.as_str())
                    .filter(|rest| !rest.is_empty())
                    .unwrap_or(name)
                    .to_owned()
            } else {
                unnamed += 1;
                format!("{} {unnamed}", place.word())
            };
            zones.push((
                format!("{poi_name} {label}"),
                g.at,
                format!("point:osm:node/{}", g.id),
            ));
        }
        for (name, at, external_id) in zones {
            match LonLat::new(at.x, at.y) {
                Ok(centre) => out.push(StreetZone {
                    shape: point_zone(&name, centre, opts.radius_m, &external_id)?,
                    poi: Some(place.poi.external_id.clone()),
                }),
                Err(e) => skipped.push(Skipped {
                    element: external_id,
                    purpose: "point zone",
                    reason: e.to_string(),
                }),
            }
        }
    }
    Ok((out, skipped))
}

/// The gates of one place that get a zone: named gates first, then the others by node id, each
/// kept unless an already kept gate is within [`GATE_MERGE_M`]. Returned by node id.
fn merge(place: &Place, mut gates: Vec<Gate>) -> Vec<Gate> {
    gates.sort_by_key(|g| (g.name.is_none(), g.id));
    let mut kept: Vec<Gate> = Vec::new();
    for g in gates {
        let p = Point::from(place.proj.forward(g.at));
        let near = kept
            .iter()
            .any(|k| Euclidean.distance(p, Point::from(place.proj.forward(k.at))) < GATE_MERGE_M);
        if !near {
            kept.push(g);
        }
    }
    kept.sort_by_key(|g| g.id);
    kept
}

/// Where a place without a mapped gate most likely has its entrance (lon/lat): the point of its
/// outline nearest to a named road within [`ROAD_SEARCH_M`], else its centroid. A place mapped as
/// a node is at the node.
fn entrance_guess(place: &Place, roads: &[Road]) -> Coord<f64> {
    let centroid = place
        .poi
        .geometry
        .centroid()
        .map_or_else(|| place.proj.inverse(coord! { x: 0.0, y: 0.0 }), |c| c.0);
    if matches!(place.poi.geometry, Geometry::Point(_)) {
        return centroid;
    }
    let Some(b) = place.outline.bounding_rect() else {
        return centroid;
    };
    let grow = coord! { x: ROAD_SEARCH_M, y: ROAD_SEARCH_M };
    let (lo, hi) = (b.min() - grow, b.max() + grow);
    let mut best: Option<(f64, Coord<f64>)> = None;
    let mut consider = |d: f64, at: Coord<f64>| {
        if d <= ROAD_SEARCH_M && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, at));
        }
    };
    for r in roads {
        let line = place.proj.project(&r.geometry);
        let Some(rb) = line.bounding_rect() else {
            continue;
        };
        if rb.max().x < lo.x || rb.max().y < lo.y || rb.min().x > hi.x || rb.min().y > hi.y {
            continue;
        }
        // The shortest distance between two polylines that do not cross is reached at a vertex
        // of one of them; where they cross this finds a point next to the crossing.
        for c in &line.0 {
            let p = Point::from(*c);
            if let Closest::SinglePoint(q) | Closest::Intersection(q) =
                place.outline.closest_point(&p)
            {
                consider(Euclidean.distance(p, q), q.0);
            }
        }
        for c in place.outline.0.iter().flat_map(|l| l.0.iter()) {
            consider(Euclidean.distance(&Point::from(*c), &line), *c);
        }
    }
    best.map_or(centroid, |(_, at)| place.proj.inverse(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{extract, osm::read_xml, poi::PoiTable};

    /// A park 100 m square with two gates 10 m apart on its south side, one unnamed gate on the
    /// north side, an entrance well inside (a building's door) and a school node nearby with
    /// no gate, 40 m north of a named road.
    const XML: &str = r#"<osm version="0.6">
      <node id="1" lat="31.2840" lon="121.4950"/><node id="2" lat="31.2840" lon="121.49605"/>
      <node id="3" lat="31.2849" lon="121.49605"/><node id="4" lat="31.2849" lon="121.4950"/>
      <node id="20" lat="31.2840" lon="121.4953"><tag k="barrier" v="gate"/></node>
      <node id="21" lat="31.2840" lon="121.4954"><tag k="barrier" v="gate"/><tag k="name" v="南门"/></node>
      <node id="22" lat="31.2849" lon="121.4955"><tag k="entrance" v="yes"/></node>
      <node id="23" lat="31.2845" lon="121.4955"><tag k="entrance" v="main"/></node>
      <node id="24" lat="31.2849" lon="121.4952"><tag k="entrance" v="no"/></node>
      <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
        <tag k="leisure" v="park"/><tag k="name" v="水杉林"/></way>
      <node id="30" lat="31.2880" lon="121.4950"><tag k="amenity" v="kindergarten"/><tag k="name" v="幼儿园"/></node>
      <node id="40" lat="31.2800" lon="121.4900"/><node id="41" lat="31.2800" lon="121.5000"/>
      <way id="11"><nd ref="40"/><nd ref="41"/><tag k="highway" v="tertiary"/><tag k="name" v="赤峰路"/></way>
      <node id="50" lat="31.2900" lon="121.5100"/><node id="51" lat="31.2900" lon="121.5110"/>
      <node id="52" lat="31.2910" lon="121.5110"/><node id="53" lat="31.2910" lon="121.5100"/>
      <way id="12"><nd ref="50"/><nd ref="51"/><nd ref="52"/><nd ref="53"/><nd ref="50"/>
        <tag k="amenity" v="school"/><tag k="name" v="远处学校"/></way>
      <node id="60" lat="31.2895" lon="121.5090"/><node id="61" lat="31.2895" lon="121.5130"/>
      <way id="13"><nd ref="60"/><nd ref="61"/><tag k="highway" v="tertiary"/><tag k="name" v="玉田路"/></way>
    </osm>"#;

    fn zones() -> Vec<StreetZone> {
        let data = read_xml(XML.as_bytes()).unwrap();
        let ex = extract::extract(&data, &PoiTable::builtin());
        let (zones, skipped) =
            point_zones(&data, &ex.pois, &ex.roads, &PointOptions::default()).unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        zones
    }

    #[test]
    fn gates_on_the_outline_are_merged_named_and_numbered() {
        let z = zones();
        let park: Vec<(&str, &str)> = z
            .iter()
            .filter(|z| z.poi.as_deref() == Some("osm:way/10"))
            .map(|z| (z.shape.external_id.as_str(), z.shape.name.as_str()))
            .collect();
        // Gate 20 is 9.5 m from the named gate 21 and joins it; the door 23 is 50 m inside;
        // 24 is not an entrance.
        assert_eq!(
            park,
            [
                ("point:osm:node/21", "水杉林 南门"),
                ("point:osm:node/22", "水杉林 出入口 1")
            ]
        );
    }

    #[test]
    fn places_without_gates_face_the_nearest_named_road() {
        let z = zones();
        let kindergarten = z.iter().find(|z| z.poi.as_deref() == Some("osm:node/30"));
        assert_eq!(kindergarten.unwrap().shape.name, "幼儿园 校门");
        let school = z
            .iter()
            .find(|z| z.poi.as_deref() == Some("osm:way/12"))
            .unwrap();
        assert_eq!(school.shape.external_id, "point:osm:way/12");
        // 玉田路 runs 55 m south of the school's south side: the zone sits on that side.
        let centre = geo::Centroid::centroid(&school.shape.geometry).unwrap();
        assert!((centre.y() - 31.2900).abs() < 1e-6, "{centre:?}");
        assert!(centre.x() > 121.5099 && centre.x() < 121.5111, "{centre:?}");
    }
}
