//! GeoJSON output (RFC 7946): positions `[lon, lat]` in degrees, WGS-84 unless the request asked
//! for GCJ-02 or BD-09; `FeatureCollection`s with stable ids and property names.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use civmap_domain::{Poi, ProblemId, UserId, Zone, ZoneId};
use civmap_geodata::crs::Crs;
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Polygon};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::render::{FeatureOut, View};

/// The GeoJSON media type.
pub const GEOJSON: &str = "application/geo+json";

/// A response with a serialized GeoJSON body.
#[must_use]
pub fn response(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON))],
        body,
    )
        .into_response()
}

/// A response with a GeoJSON value.
#[must_use]
pub fn value_response(status: StatusCode, v: &impl Serialize) -> Response {
    match serde_json::to_vec(v) {
        Ok(body) => response(status, body),
        Err(e) => ApiError::Internal(format!("serialize GeoJSON: {e}")).into_response(),
    }
}

/// A page of a collection (zones, points of interest): a `FeatureCollection` with
/// `numberReturned` and, when there is more, the cursor of the next page.
#[must_use]
pub fn page_response(features: &[Value], next: Option<String>) -> Response {
    let mut body = serde_json::json!({
        "type": "FeatureCollection",
        "numberReturned": features.len(),
        "features": features,
    });
    if let Some(n) = next {
        body["next"] = n.into();
    }
    value_response(StatusCode::OK, &body)
}

/// What a `FeatureCollection` of problems carries besides its features.
#[derive(Debug, Clone, Default)]
pub struct CollectionMeta {
    /// The opaque cursor of the next page.
    pub next: Option<String>,
    /// The URL of the next page (added to `links` as `rel=next`).
    pub next_link: Option<String>,
    /// How many features match in total, when known.
    pub number_matched: Option<usize>,
    /// Other links (OGC API: self, alternate, collection).
    pub links: Vec<Value>,
    /// Add an OGC `timeStamp`.
    pub timestamp: bool,
}

#[derive(Serialize)]
struct CollectionOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<FeatureOut<'a>>,
    #[serde(rename = "numberReturned")]
    number_returned: usize,
    #[serde(rename = "numberMatched", skip_serializing_if = "Option::is_none")]
    number_matched: Option<usize>,
    #[serde(rename = "timeStamp", skip_serializing_if = "Option::is_none")]
    time_stamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    links: Vec<Value>,
}

/// Serializes the problems `ids` (looked up in `map`; ids missing from it are skipped) as a
/// `FeatureCollection`.
pub fn problem_collection<S: std::hash::BuildHasher>(
    map: &civmap_app::memory::problem_map::ProblemMap,
    cold: &std::collections::HashMap<ProblemId, civmap_app::memory::record::Record, S>,
    ids: &[ProblemId],
    view: View<'_>,
    meta: &CollectionMeta,
) -> Result<Vec<u8>, ApiError> {
    let features: Vec<FeatureOut<'_>> = ids
        .iter()
        .filter_map(|id| {
            map.get(id)
                .or_else(|| cold.get(id))
                .map(|record| FeatureOut {
                    id: *id,
                    record,
                    view,
                })
        })
        .collect();
    let mut links = meta.links.clone();
    if let Some(href) = &meta.next_link {
        links.push(json!({"rel": "next", "type": GEOJSON, "title": "next page", "href": href}));
    }
    let out = CollectionOut {
        kind: "FeatureCollection",
        number_returned: features.len(),
        features,
        number_matched: meta.number_matched,
        time_stamp: meta
            .timestamp
            .then(|| civmap_app::time::rfc3339(civmap_app::time::now_ms())),
        next: meta.next.clone(),
        links,
    };
    // ~200 bytes per feature.
    let mut buf = Vec::with_capacity(256 + ids.len() * 400);
    serde_json::to_writer(&mut buf, &out).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(buf)
}

fn pos(c: Coord<f64>, crs: Crs) -> [f64; 2] {
    crs.from_wgs84([c.x, c.y])
}

fn ring(r: &LineString<f64>, crs: Crs) -> Vec<[f64; 2]> {
    r.0.iter().map(|c| pos(*c, crs)).collect()
}

fn polygon_coords(p: &Polygon<f64>, crs: Crs) -> Vec<Vec<[f64; 2]>> {
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .map(|r| ring(r, crs))
        .collect()
}

/// A multipolygon as GeoJSON: a `Polygon` when it has one part, else a `MultiPolygon`.
#[must_use]
pub fn multipolygon_json(mp: &MultiPolygon<f64>, crs: Crs) -> Value {
    if let [one] = mp.0.as_slice() {
        json!({"type": "Polygon", "coordinates": polygon_coords(one, crs)})
    } else {
        json!({
            "type": "MultiPolygon",
            "coordinates": mp.0.iter().map(|p| polygon_coords(p, crs)).collect::<Vec<_>>(),
        })
    }
}

/// Any geometry as GeoJSON.
#[must_use]
pub fn geometry_json(g: &Geometry<f64>, crs: Crs) -> Value {
    match g {
        Geometry::Point(p) => json!({"type": "Point", "coordinates": pos(p.0, crs)}),
        Geometry::MultiPoint(mp) => json!({
            "type": "MultiPoint",
            "coordinates": mp.0.iter().map(|p| pos(p.0, crs)).collect::<Vec<_>>(),
        }),
        Geometry::Line(l) => json!({
            "type": "LineString",
            "coordinates": [pos(l.start, crs), pos(l.end, crs)],
        }),
        Geometry::LineString(l) => json!({"type": "LineString", "coordinates": ring(l, crs)}),
        Geometry::MultiLineString(ml) => json!({
            "type": "MultiLineString",
            "coordinates": ml.0.iter().map(|l| ring(l, crs)).collect::<Vec<_>>(),
        }),
        Geometry::Polygon(p) => json!({"type": "Polygon", "coordinates": polygon_coords(p, crs)}),
        Geometry::MultiPolygon(mp) => json!({
            "type": "MultiPolygon",
            "coordinates": mp.0.iter().map(|p| polygon_coords(p, crs)).collect::<Vec<_>>(),
        }),
        Geometry::Rect(r) => geometry_json(&Geometry::Polygon(r.to_polygon()), crs),
        Geometry::Triangle(t) => geometry_json(&Geometry::Polygon(t.to_polygon()), crs),
        Geometry::GeometryCollection(gc) => json!({
            "type": "GeometryCollection",
            "geometries": gc.0.iter().map(|g| geometry_json(g, crs)).collect::<Vec<_>>(),
        }),
    }
}

/// A zone as a Feature; `assignments` (staff only) adds the chiefs assigned to it.
#[must_use]
pub fn zone_feature(z: &Zone, crs: Crs, assignments: Option<&[(ZoneId, UserId)]>) -> Value {
    let mut props = json!({
        "id": z.id,
        "kind": z.kind.as_str(),
        "name": z.name,
        "poi_kind": z.poi_kind.map(civmap_domain::PoiKind::as_str),
        "poi": z.poi,
        "code": z.code,
        "external_id": z.external_id,
        "crs": crs.as_str(),
    });
    if let Some(a) = assignments {
        let chiefs: Vec<UserId> = a
            .iter()
            .filter(|(zone, _)| *zone == z.id)
            .map(|(_, u)| *u)
            .collect();
        props["assignees"] = json!(chiefs);
    }
    json!({
        "type": "Feature",
        "id": z.id,
        "geometry": multipolygon_json(&z.geometry, crs),
        "properties": props,
    })
}

/// A point of interest as a Feature.
#[must_use]
pub fn poi_feature(p: &Poi, crs: Crs) -> Value {
    json!({
        "type": "Feature",
        "id": p.id,
        "geometry": geometry_json(&p.geometry, crs),
        "properties": {
            "id": p.id,
            "kind": p.kind.as_str(),
            "name": p.name,
            "external_id": p.external_id,
            "crs": crs.as_str(),
        },
    })
}

/// Reads a point-of-interest geometry: a GeoJSON `Point`, `Polygon` or `MultiPolygon`, converted from
/// `crs` to WGS-84. Errors are 422 naming `geometry`.
pub fn poi_geometry_in(
    v: &Value,
    crs: Crs,
    max_vertices: usize,
) -> Result<Geometry<f64>, ApiError> {
    let ty = v.get("type").and_then(Value::as_str).unwrap_or_default();
    if ty == "Point" {
        let c = v
            .get("coordinates")
            .and_then(Value::as_array)
            .filter(|a| a.len() >= 2)
            .and_then(|a| Some((a[0].as_f64()?, a[1].as_f64()?)))
            .ok_or_else(|| ApiError::invalid("geometry", "a Point needs coordinates [lon, lat]"))?;
        let (lon, lat) = crate::params::input_position(crs, c.0, c.1)
            .map_err(|e| ApiError::invalid("geometry", e))?;
        return Ok(Geometry::Point(geo_types::Point::new(lon, lat)));
    }
    let mp = crate::params::geojson_multipolygon("geometry", v)
        .map_err(|e| ApiError::invalid("geometry", e))?;
    crate::params::check_multipolygon("geometry", &mp, max_vertices)
        .map_err(|e| ApiError::invalid("geometry", e))?;
    let mp = crate::params::convert_multipolygon(mp, crs);
    let mut polys = mp.0;
    Ok(match polys.pop() {
        Some(p) if polys.is_empty() => Geometry::Polygon(p),
        Some(p) => {
            polys.push(p);
            Geometry::MultiPolygon(MultiPolygon(polys))
        }
        None => Geometry::MultiPolygon(MultiPolygon(polys)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn polygons_keep_ring_order_and_convert() {
        let p = polygon![(x: 121.0, y: 31.0), (x: 121.1, y: 31.0), (x: 121.1, y: 31.1), (x: 121.0, y: 31.0)];
        let mp = MultiPolygon(vec![p.clone()]);
        let v = multipolygon_json(&mp, Crs::Wgs84);
        assert_eq!(v["type"], "Polygon");
        assert_eq!(v["coordinates"][0][1], json!([121.1, 31.0]));
        let v = multipolygon_json(&MultiPolygon(vec![p.clone(), p]), Crs::Gcj02);
        assert_eq!(v["type"], "MultiPolygon");
        let x = v["coordinates"][0][0][0][0].as_f64().unwrap();
        assert!(
            x > 121.0 && x < 121.01,
            "GCJ-02 moves east by a few hundred metres: {x}"
        );
    }
}
