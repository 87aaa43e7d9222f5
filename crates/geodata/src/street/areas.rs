//! Area-chiefs' zones (片长): residential compounds and named neighbourhoods.
//!
//! Chinese OpenStreetMap data maps a compound (小区, 新村, 弄) as a named `landuse=residential`
//! area, a closed way or a multipolygon relation; named neighbourhoods and quarters as
//! `place=neighbourhood|quarter` areas. Each becomes one area zone `area:osm:way/<id>` (or
//! `relation`) with the area's name. Unnamed areas are left out: nobody could tell which
//! compound a zone without a name is.

use civmap_domain::ZoneKind;
use geo::orient::Direction;
use geo::{BooleanOps, MultiPolygon, Orient};

use crate::area::{relation_multipolygon, way_polygon};
use crate::extract::{Skipped, name_of};
use crate::osm::{OsmData, Tags};
use crate::zones::{ZoneShape, geodesic_area_m2};

/// `place` values that are areas an area-chief can own.
const PLACES: &[&str] = &["neighbourhood", "quarter"];

/// Clipped to the street, pieces of an area smaller than this are dropped, square metres: the
/// slivers left where a compound's outline and the street boundary, mapped separately, disagree
/// by a few metres.
pub const MIN_AREA_PIECE_M2: f64 = 100.0;

/// The name of an area with these tags that is an area-chief's, or `None`.
fn compound_name(tags: &Tags) -> Option<String> {
    let compound = tags.has("landuse", "residential")
        || tags.get("place").is_some_and(|p| PLACES.contains(&p));
    if compound { name_of(tags) } else { None }
}

/// Area zones of the named compounds and neighbourhoods in `data` (ways first, then relations,
/// each by OSM id), with what could not be built and why. With `within` (the street's boundary)
/// each area is clipped to it, and an area left with less than [`MIN_AREA_PIECE_M2`] is dropped.
///
/// ```
/// use civmap_geodata::osm;
/// use civmap_geodata::street::area_zones;
/// let xml = r#"<osm version="0.6">
///   <node id="1" lat="31.2840" lon="121.4950"/><node id="2" lat="31.2840" lon="121.4960"/>
///   <node id="3" lat="31.2850" lon="121.4960"/><node id="4" lat="31.2850" lon="121.4950"/>
///   <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
///     <tag k="landuse" v="residential"/><tag k="name" v="同济新村"/></way>
///   <way id="11"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/><tag k="landuse" v="residential"/></way>
/// </osm>"#;
/// let (zones, skipped) = area_zones(&osm::read_xml(xml.as_bytes())?, None);
/// assert_eq!(zones.len(), 1, "the unnamed area is left out");
/// assert_eq!((zones[0].name.as_str(), zones[0].external_id.as_str()), ("同济新村", "area:osm:way/10"));
/// assert!(skipped.is_empty());
/// # Ok::<(), civmap_geodata::Error>(())
/// ```
#[must_use]
pub fn area_zones(
    data: &OsmData,
    within: Option<&MultiPolygon<f64>>,
) -> (Vec<ZoneShape>, Vec<Skipped>) {
    let mut found: Vec<(String, String, Result<MultiPolygon<f64>, String>)> = Vec::new();
    for w in &data.ways {
        if let Some(name) = compound_name(&w.tags) {
            let mp = way_polygon(data, w)
                .map(|p| MultiPolygon::new(vec![p]))
                .map_err(|e| e.to_string());
            found.push((format!("osm:way/{}", w.id), name, mp));
        }
    }
    for r in &data.relations {
        if r.tags.has("type", "multipolygon")
            && let Some(name) = compound_name(&r.tags)
        {
            let mp = relation_multipolygon(data, r).map_err(|e| e.to_string());
            found.push((format!("osm:relation/{}", r.id), name, mp));
        }
    }
    let mut zones = Vec::new();
    let mut skipped = Vec::new();
    for (element, name, mp) in found {
        let mp = match (mp, within) {
            (Err(reason), _) => {
                skipped.push(Skipped {
                    element,
                    purpose: "area zone",
                    reason,
                });
                continue;
            }
            (Ok(mp), None) => mp,
            (Ok(mp), Some(street)) => {
                let piece = mp.intersection(street);
                if geodesic_area_m2(&piece) < MIN_AREA_PIECE_M2 {
                    continue;
                }
                piece
            }
        };
        zones.push(ZoneShape {
            kind: ZoneKind::Area,
            name,
            poi_kind: None,
            code: None,
            geometry: mp.orient(Direction::Default),
            external_id: format!("area:{element}"),
        });
    }
    (zones, skipped)
}
