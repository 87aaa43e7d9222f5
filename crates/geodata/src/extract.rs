//! From OSM data to civmap features: three-surroundings POIs, named roads and basemap layers.
//!
//! All geometry is WGS-84 lon/lat (x = lon, y = lat); polygons follow RFC 7946 orientation.
//! Every feature carries a stable `external_id` (`osm:node/1`, `osm:way/2`, `osm:relation/3`)
//! so that re-importing the same file updates rather than duplicates.
//!
//! ```
//! use civmap_geodata::{extract, osm, poi::PoiTable};
//! let xml = r#"<osm version="0.6">
//!   <node id="1" lat="31.2840" lon="121.4950"><tag k="amenity" v="kindergarten"/><tag k="name" v="幼儿园"/></node>
//!   <node id="2" lat="31.2850" lon="121.4960"/><node id="3" lat="31.2860" lon="121.4970"/>
//!   <way id="10"><nd ref="2"/><nd ref="3"/><tag k="highway" v="tertiary"/><tag k="name" v="赤峰路"/></way>
//! </osm>"#;
//! let data = osm::read_xml(xml.as_bytes()).unwrap();
//! let out = extract::extract(&data, &PoiTable::builtin());
//! assert_eq!(out.pois[0].external_id, "osm:node/1");
//! assert_eq!(out.roads[0].name, "赤峰路");
//! ```

use std::collections::HashMap;

use civmap_domain::{Poi, PoiId, PoiKind};
use geo::{BoundingRect, Contains, Geometry, LineString, MultiLineString, Point};

use crate::area::{self, AreaProblem};
use crate::osm::{OsmData, Relation, Tags, Way};
use crate::poi::PoiTable;

/// A school, park or market found in OSM.
#[derive(Debug, Clone, PartialEq)]
pub struct PoiFeature {
    /// What it is.
    pub kind: PoiKind,
    /// Its name (`name`, else `name:zh`, else `name:en`), if it has one.
    pub name: Option<String>,
    /// `Point` (from a node) or `Polygon` / `MultiPolygon` (from a closed way or a relation), lon/lat.
    pub geometry: Geometry<f64>,
    /// `osm:node/<id>`, `osm:way/<id>` or `osm:relation/<id>`.
    pub external_id: String,
}

impl PoiFeature {
    /// The name, or `未命名学校` / `未命名公园` / `未命名菜场` for unnamed ones.
    #[must_use]
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let kind = match self.kind {
                PoiKind::School => "学校",
                PoiKind::Park => "公园",
                PoiKind::Market => "菜场",
            };
            format!("未命名{kind}")
        })
    }

    /// The domain record (a fresh id; stores dedupe on `external_id`).
    #[must_use]
    pub fn to_poi(&self) -> Poi {
        Poi {
            id: PoiId::new(),
            kind: self.kind,
            name: self.display_name(),
            geometry: self.geometry.clone(),
            external_id: Some(self.external_id.clone()),
        }
    }
}

/// One named OSM way with a `highway` tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Road {
    /// OSM way id.
    pub way_id: i64,
    /// Road name.
    pub name: String,
    /// The `highway` value: `primary`, `tertiary`, `residential`, `footway`, ...
    pub class: String,
    /// OSM node ids along the way (same order as `geometry`).
    pub nodes: Vec<i64>,
    /// The line in lon/lat.
    pub geometry: LineString<f64>,
}

/// All ways of one road name, joined end to end where they share a node.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedRoad {
    /// Road name.
    pub name: String,
    /// OSM way ids.
    pub way_ids: Vec<i64>,
    /// One line string per connected stretch (dual carriageways give two).
    pub geometry: MultiLineString<f64>,
}

/// Basemap layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// `building=*` areas.
    Building,
    /// `natural=water`, `waterway=riverbank`, `landuse=reservoir|basin` areas; `waterway=river|stream|canal|ditch|drain` lines.
    Water,
    /// `landuse=grass|forest|meadow|village_green`, `leisure=park|garden`, `natural=wood` areas.
    Green,
    /// `boundary=administrative` relations and closed ways.
    Admin,
}

impl Layer {
    /// Lower-case layer name (`building`, `water`, `green`, `admin`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Building => "building",
            Layer::Water => "water",
            Layer::Green => "green",
            Layer::Admin => "admin",
        }
    }
}

/// A feature for the basemap (and, for admin boundaries, for area zones).
#[derive(Debug, Clone, PartialEq)]
pub struct BasemapFeature {
    /// Its layer.
    pub layer: Layer,
    /// The tag value that put it there (`yes`, `apartments`, `water`, `river`, `grass`, ...);
    /// for admin boundaries the `admin_level` (`4`, `6`, `8`, ...).
    pub class: String,
    /// Name, if any.
    pub name: Option<String>,
    /// `Polygon` / `MultiPolygon` for areas, `LineString` for waterways. An administrative boundary
    /// whose member ways are not all in the file (bbox extracts) is a `MultiLineString` of the
    /// ways that are: drawable, but not usable as an area zone.
    pub geometry: Geometry<f64>,
    /// `osm:way/<id>` or `osm:relation/<id>`.
    pub external_id: String,
}

/// An element that matched a rule but could not be turned into a feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// `osm:way/<id>` etc.
    pub element: String,
    /// What it would have been: `poi`, `road`, a basemap layer name, or `admin area` for a
    /// boundary kept only as lines.
    pub purpose: &'static str,
    /// Why it was skipped.
    pub reason: String,
}

/// Everything [`extract`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extract {
    /// Schools, parks, markets.
    pub pois: Vec<PoiFeature>,
    /// Named roads, one per OSM way.
    pub roads: Vec<Road>,
    /// Buildings, water, green, administrative boundaries.
    pub basemap: Vec<BasemapFeature>,
    /// What was skipped and why.
    pub skipped: Vec<Skipped>,
}

/// Extracts POIs (by `table`), named roads and basemap features from OSM data.
///
/// A POI mapped twice — as a node inside its own polygon, unnamed or with the same name — is
/// kept once, as the polygon (the node is listed in `skipped`).
#[must_use]
pub fn extract(data: &OsmData, table: &PoiTable) -> Extract {
    let mut out = Extract::default();
    for n in data.nodes.iter().filter(|n| !n.tags.is_empty()) {
        if let Some(kind) = table.classify(&n.tags) {
            out.pois.push(PoiFeature {
                kind,
                name: name_of(&n.tags),
                geometry: Point::new(n.lon, n.lat).into(),
                external_id: format!("osm:node/{}", n.id),
            });
        }
    }
    for w in data.ways.iter().filter(|w| !w.tags.is_empty()) {
        way_features(data, table, w, &mut out);
    }
    for r in data.relations.iter().filter(|r| !r.tags.is_empty()) {
        relation_features(data, table, r, &mut out);
    }
    dedupe_pois(&mut out);
    out
}

pub(crate) fn name_of(tags: &Tags) -> Option<String> {
    tags.get("name")
        .or_else(|| tags.get("name:zh"))
        .or_else(|| tags.get("name:en"))
        .map(str::to_owned)
}

/// The basemap layer and class of an area with these tags.
fn area_layer(tags: &Tags) -> Option<(Layer, String)> {
    if let Some(b) = tags.get("building")
        && b != "no"
    {
        return Some((Layer::Building, b.to_owned()));
    }
    let is = |k: &str, values: &[&str]| tags.get(k).filter(|v| values.contains(v));
    if let Some(v) = is("natural", &["water"])
        .or_else(|| is("waterway", &["riverbank"]))
        .or_else(|| is("landuse", &["reservoir", "basin"]))
    {
        return Some((Layer::Water, v.to_owned()));
    }
    if let Some(v) = is("landuse", &["grass", "forest", "meadow", "village_green"])
        .or_else(|| is("leisure", &["park", "garden"]))
        .or_else(|| is("natural", &["wood"]))
    {
        return Some((Layer::Green, v.to_owned()));
    }
    if tags.has("boundary", "administrative") {
        return Some((
            Layer::Admin,
            tags.get("admin_level").unwrap_or("").to_owned(),
        ));
    }
    None
}

const NOT_ROADS: &[&str] = &[
    "platform",
    "proposed",
    "construction",
    "abandoned",
    "razed",
    "elevator",
    "bus_stop",
    "services",
    "rest_area",
];

fn way_features(data: &OsmData, table: &PoiTable, w: &Way, out: &mut Extract) {
    let id = format!("osm:way/{}", w.id);
    let poi_kind = table.classify(&w.tags);
    let layer = area_layer(&w.tags);
    // An area needs a closed way; the polygon is built once for both uses.
    let polygon = (poi_kind.is_some() || layer.is_some()).then(|| area::way_polygon(data, w));
    if let Some(kind) = poi_kind {
        match &polygon {
            Some(Ok(p)) => out.pois.push(PoiFeature {
                kind,
                name: name_of(&w.tags),
                geometry: p.clone().into(),
                external_id: id.clone(),
            }),
            Some(Err(e)) => out.skipped.push(Skipped {
                element: id.clone(),
                purpose: "poi",
                reason: e.to_string(),
            }),
            None => {}
        }
    }
    if let Some((layer, class)) = layer {
        match (&polygon, layer) {
            (Some(Ok(p)), _) => out.basemap.push(BasemapFeature {
                layer,
                class,
                name: name_of(&w.tags),
                geometry: p.clone().into(),
                external_id: id.clone(),
            }),
            // Open boundary ways are members of boundary relations, drawn from there.
            (Some(Err(e)), _) if !(*e == AreaProblem::NotClosed && layer == Layer::Admin) => {
                out.skipped.push(Skipped {
                    element: id.clone(),
                    purpose: layer.as_str(),
                    reason: e.to_string(),
                });
            }
            _ => {}
        }
    }
    let river = w
        .tags
        .get("waterway")
        .filter(|v| ["river", "stream", "canal", "ditch", "drain"].contains(v));
    if let Some(class) = river {
        match data.way_coords(w) {
            Some(c) if c.len() >= 2 => out.basemap.push(BasemapFeature {
                layer: Layer::Water,
                class: class.to_owned(),
                name: name_of(&w.tags),
                geometry: LineString::from(c).into(),
                external_id: id.clone(),
            }),
            _ => out.skipped.push(Skipped {
                element: id.clone(),
                purpose: "water",
                reason: "waterway has missing nodes or fewer than 2".into(),
            }),
        }
    }
    if let (Some(class), Some(name)) = (w.tags.get("highway"), name_of(&w.tags))
        && !NOT_ROADS.contains(&class)
        && !w.tags.has("area", "yes")
    {
        match data.way_coords(w) {
            Some(c) if c.len() >= 2 => out.roads.push(Road {
                way_id: w.id,
                name,
                class: class.to_owned(),
                nodes: w.refs.clone(),
                geometry: LineString::from(c),
            }),
            _ => out.skipped.push(Skipped {
                element: id,
                purpose: "road",
                reason: "road has missing nodes or fewer than 2".into(),
            }),
        }
    }
}

fn relation_features(data: &OsmData, table: &PoiTable, r: &Relation, out: &mut Extract) {
    let kind = r.tags.get("type");
    let admin = r.tags.has("boundary", "administrative");
    if kind != Some("multipolygon") && !(kind == Some("boundary") && admin) {
        return;
    }
    let id = format!("osm:relation/{}", r.id);
    let poi_kind = table.classify(&r.tags);
    let layer = area_layer(&r.tags);
    if poi_kind.is_none() && layer.is_none() {
        return;
    }
    let mp = area::relation_multipolygon(data, r);
    if let Some(kind) = poi_kind {
        match &mp {
            Ok(mp) => out.pois.push(PoiFeature {
                kind,
                name: name_of(&r.tags),
                geometry: mp.clone().into(),
                external_id: id.clone(),
            }),
            Err(e) => out.skipped.push(Skipped {
                element: id.clone(),
                purpose: "poi",
                reason: e.to_string(),
            }),
        }
    }
    let Some((layer, class)) = layer else { return };
    let geometry = match mp {
        Ok(mp) => Some(mp.into()),
        // Keep what can be drawn of an incomplete boundary, and say why it is not an area.
        Err(e) if layer == Layer::Admin => {
            out.skipped.push(Skipped {
                element: id.clone(),
                purpose: "admin area",
                reason: format!("{e}; kept as boundary lines"),
            });
            let lines: Vec<LineString<f64>> = area::area_members(r)
                .filter_map(|m| data.way(m))
                .filter_map(|w| data.way_coords(w))
                .filter(|c| c.len() >= 2)
                .map(LineString::from)
                .collect();
            (!lines.is_empty()).then(|| MultiLineString::new(lines).into())
        }
        Err(e) => {
            out.skipped.push(Skipped {
                element: id.clone(),
                purpose: layer.as_str(),
                reason: e.to_string(),
            });
            None
        }
    };
    // Without a geometry nothing is drawable; the reason is already in `skipped`.
    if let Some(geometry) = geometry {
        out.basemap.push(BasemapFeature {
            layer,
            class,
            name: name_of(&r.tags),
            geometry,
            external_id: id,
        });
    }
}

/// Drops node POIs that lie inside a polygon POI of the same kind and the same (or no) name.
fn dedupe_pois(out: &mut Extract) {
    const CELL: f64 = 0.01; // degrees; polygons are indexed by the cells their bbox covers
    let key = |x: f64, y: f64| ((x / CELL).floor() as i64, (y / CELL).floor() as i64);
    let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (i, p) in out.pois.iter().enumerate() {
        if matches!(p.geometry, Geometry::Point(_)) {
            continue;
        }
        if let Some(b) = p.geometry.bounding_rect() {
            let (x0, y0) = key(b.min().x, b.min().y);
            let (x1, y1) = key(b.max().x, b.max().y);
            for gx in x0..=x1 {
                for gy in y0..=y1 {
                    grid.entry((gx, gy)).or_default().push(i);
                }
            }
        }
    }
    let mut drop = vec![false; out.pois.len()];
    for (i, p) in out.pois.iter().enumerate() {
        let Geometry::Point(pt) = p.geometry else {
            continue;
        };
        let Some(cands) = grid.get(&key(pt.x(), pt.y())) else {
            continue;
        };
        let dup = cands.iter().map(|&j| &out.pois[j]).find(|q| {
            q.kind == p.kind && (p.name.is_none() || p.name == q.name) && q.geometry.contains(&pt)
        });
        if let Some(q) = dup {
            drop[i] = true;
            out.skipped.push(Skipped {
                element: p.external_id.clone(),
                purpose: "poi",
                reason: format!("same {} as {}, which is kept", p.kind, q.external_id),
            });
        }
    }
    let mut i = 0;
    out.pois.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
}

/// Joins the ways of each road name into stretches (ways sharing an end node are chained,
/// reversed where needed). Names are sorted; each stretch is a `LineString` in lon/lat.
#[must_use]
pub fn merge_roads(roads: &[Road]) -> Vec<NamedRoad> {
    let mut by_name: HashMap<&str, Vec<&Road>> = HashMap::new();
    for r in roads {
        by_name.entry(&r.name).or_default().push(r);
    }
    let mut names: Vec<&str> = by_name.keys().copied().collect();
    names.sort_unstable();
    names
        .into_iter()
        .map(|name| {
            let ways = &by_name[name];
            // (node ids, coords) chains
            let mut open: Vec<(Vec<i64>, Vec<geo::Coord<f64>>)> = ways
                .iter()
                .map(|r| (r.nodes.clone(), r.geometry.0.clone()))
                .collect();
            let mut lines = Vec::new();
            while let Some((mut ids, mut coords)) = open.pop() {
                loop {
                    let (first, last) = (ids[0], ids[ids.len() - 1]);
                    let pos = open.iter().position(|(s, _)| {
                        let (a, b) = (s[0], s[s.len() - 1]);
                        a == last || b == last || a == first || b == first
                    });
                    let Some(i) = pos else { break };
                    let (mut s_ids, mut s_coords) = open.swap_remove(i);
                    if s_ids[0] == last {
                        ids.extend_from_slice(&s_ids[1..]);
                        coords.extend_from_slice(&s_coords[1..]);
                    } else if s_ids[s_ids.len() - 1] == last {
                        s_ids.reverse();
                        s_coords.reverse();
                        ids.extend_from_slice(&s_ids[1..]);
                        coords.extend_from_slice(&s_coords[1..]);
                    } else {
                        // Touches our start: prepend.
                        if s_ids[0] == first {
                            s_ids.reverse();
                            s_coords.reverse();
                        }
                        s_ids.extend_from_slice(&ids[1..]);
                        s_coords.extend_from_slice(&coords[1..]);
                        ids = s_ids;
                        coords = s_coords;
                    }
                    if ids[0] == ids[ids.len() - 1] {
                        break; // a closed loop (ring road)
                    }
                }
                lines.push(LineString::new(coords));
            }
            let mut way_ids: Vec<i64> = ways.iter().map(|r| r.way_id).collect();
            way_ids.sort_unstable();
            NamedRoad {
                name: name.to_owned(),
                way_ids,
                geometry: MultiLineString::new(lines),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osm::read_xml;
    use geo::{Euclidean, Length};

    const XML: &str = r#"<osm version="0.6">
 <node id="1" lat="0" lon="0"/><node id="2" lat="0" lon="0.001"/><node id="3" lat="0.001" lon="0.001"/>
 <node id="4" lat="0.001" lon="0"/><node id="5" lat="0.0005" lon="0.0005"><tag k="amenity" v="school"/></node>
 <node id="6" lat="0.0005" lon="0.0005"><tag k="amenity" v="school"/><tag k="name" v="Other"/></node>
 <node id="7" lat="0.002" lon="0"/><node id="8" lat="0.003" lon="0"/>
 <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
  <tag k="amenity" v="school"/><tag k="name" v="S"/><tag k="building" v="school"/></way>
 <way id="11"><nd ref="4"/><nd ref="7"/><tag k="highway" v="residential"/><tag k="name" v="R"/></way>
 <way id="12"><nd ref="8"/><nd ref="7"/><tag k="highway" v="residential"/><tag k="name" v="R"/></way>
 <way id="13"><nd ref="1"/><nd ref="2"/><tag k="highway" v="service"/></way>
 <way id="14"><nd ref="1"/><nd ref="99"/><tag k="leisure" v="park"/></way>
</osm>"#;

    #[test]
    fn pois_roads_and_basemap() {
        let d = read_xml(XML.as_bytes()).unwrap();
        let e = extract(&d, &PoiTable::builtin());
        let ids: Vec<&str> = e.pois.iter().map(|p| p.external_id.as_str()).collect();
        // node 5 (unnamed school inside school way 10) is a duplicate; node 6 has its own name.
        assert_eq!(ids, ["osm:node/6", "osm:way/10"]);
        assert!(e.skipped.iter().any(|s| s.element == "osm:node/5"));
        // The open park way 14 is skipped with a reason, for both uses.
        let s14: Vec<_> = e
            .skipped
            .iter()
            .filter(|s| s.element == "osm:way/14")
            .collect();
        assert_eq!(s14.len(), 2, "{s14:?}");
        assert!(s14[0].reason.contains("not a closed ring"), "{s14:?}");
        // Unnamed way 13 is not a named road.
        assert_eq!(e.roads.len(), 2);
        assert_eq!(e.basemap.len(), 1);
        assert_eq!(e.basemap[0].layer, Layer::Building);
        let merged = merge_roads(&e.roads);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].geometry.0.len(), 1, "ways 11 and 12 share node 7");
        let line = &merged[0].geometry.0[0];
        assert_eq!(line.0.len(), 3);
        let sum: f64 = e.roads.iter().map(|r| Euclidean.length(&r.geometry)).sum();
        assert!((Euclidean.length(line) - sum).abs() < 1e-12);
    }
}
