//! Parsing of filter parameters: bounding boxes, radius circles, polygons (GeoJSON or WKT),
//! value lists and time ranges. Every error is an [`ApiError`] naming the parameter.
//!
//! All coordinates are `lon, lat` in degrees (RFC 7946 order) in the CRS named by the request's
//! `crs` parameter; they are converted to WGS-84 here, before any use.

use chrono::{DateTime, NaiveDate, Utc};
use civmap_geodata::crs::Crs;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;

use civmap_app::spatial::{BBox, Circle};
use civmap_app::time::day_start;

use crate::error::ApiError;

/// Converts an input position from `crs` to WGS-84, after checking that it is finite and in
/// range (in the input CRS), so errors name `lon`/`lat`.
pub fn input_position(crs: Crs, lon: f64, lat: f64) -> Result<(f64, f64), ApiError> {
    civmap_domain::LonLat::new(lon, lat)?;
    let [x, y] = crs.to_wgs84([lon, lat]);
    Ok((x, y))
}

/// Parses `minLon,minLat,maxLon,maxLat` (OGC also allows 6 numbers with heights; those are
/// refused here: the data is 2D). Corners are converted from `crs` to WGS-84.
pub fn parse_bbox(field: &str, s: &str, crs: Crs) -> Result<BBox, ApiError> {
    let v = parse_numbers(field, s, 4)?;
    for (i, (&x, name, lim)) in v
        .iter()
        .zip(["min lon", "min lat", "max lon", "max lat"])
        .zip([180.0, 90.0, 180.0, 90.0])
        .map(|((a, b), c)| (a, b, c))
        .enumerate()
    {
        if !(-lim..=lim).contains(&x) {
            return Err(ApiError::bad_param(
                field,
                format!("{name} (value {}) {x} is outside [-{lim}, {lim}]", i + 1),
            ));
        }
    }
    if v[0] > v[2] || v[1] > v[3] {
        return Err(ApiError::bad_param(
            field,
            "expected minLon,minLat,maxLon,maxLat with min <= max (boxes across the antimeridian are not supported)",
        ));
    }
    let [min_lon, min_lat] = crs.to_wgs84([v[0], v[1]]);
    let [max_lon, max_lat] = crs.to_wgs84([v[2], v[3]]);
    Ok(BBox {
        min_lon,
        min_lat,
        max_lon,
        max_lat,
    })
}

/// Parses `lon,lat,metres`; the centre is converted from `crs` to WGS-84.
pub fn parse_radius(field: &str, s: &str, crs: Crs, max_m: f64) -> Result<Circle, ApiError> {
    let v = parse_numbers(field, s, 3)?;
    check_lon_lat(field, v[0], v[1])?;
    if !(v[2] > 0.0 && v[2] <= max_m) {
        return Err(ApiError::bad_param(
            field,
            format!("radius {} m must be in (0, {max_m}]", v[2]),
        ));
    }
    let [lon, lat] = crs.to_wgs84([v[0], v[1]]);
    Ok(Circle {
        lon,
        lat,
        radius_m: v[2],
    })
}

fn parse_numbers(field: &str, s: &str, n: usize) -> Result<Vec<f64>, ApiError> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() != n {
        return Err(ApiError::bad_param(
            field,
            format!("expected {n} comma-separated numbers, got {}", parts.len()),
        ));
    }
    parts
        .iter()
        .map(|p| {
            p.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| ApiError::bad_param(field, format!("{p:?} is not a finite number")))
        })
        .collect()
}

fn check_lon_lat(field: &str, lon: f64, lat: f64) -> Result<(), ApiError> {
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(ApiError::bad_param(
            field,
            format!("position {lon},{lat} is outside lon [-180, 180], lat [-90, 90]"),
        ));
    }
    Ok(())
}

/// Parses a polygon filter: a GeoJSON `Polygon` / `MultiPolygon` geometry (or a `Feature`
/// holding one), or WKT `POLYGON(...)` / `MULTIPOLYGON(...)`. Rings must be closed and have at
/// least 4 positions; at most `max_vertices` positions in total. Converted from `crs` to WGS-84.
pub fn parse_polygon(
    field: &str,
    s: &str,
    crs: Crs,
    max_vertices: usize,
) -> Result<MultiPolygon<f64>, ApiError> {
    let s = s.trim();
    // Refuse huge inputs before parsing them: a position needs at least 4 characters ("0 0,").
    if s.len() > max_vertices.saturating_mul(64) + 256 {
        return Err(ApiError::bad_param(
            field,
            format!("polygon text is too long (at most {max_vertices} vertices)"),
        ));
    }
    let mp = if s.starts_with('{') {
        let v: Value = serde_json::from_str(s)
            .map_err(|e| ApiError::bad_param(field, format!("malformed GeoJSON: {e}")))?;
        geojson_multipolygon(field, &v)?
    } else {
        wkt_multipolygon(field, s)?
    };
    check_multipolygon(field, &mp, max_vertices)?;
    Ok(convert_multipolygon(mp, crs))
}

/// Reads a GeoJSON `Polygon`, `MultiPolygon`, or a `Feature` with such a geometry.
pub fn geojson_multipolygon(field: &str, v: &Value) -> Result<MultiPolygon<f64>, ApiError> {
    let ty = v.get("type").and_then(Value::as_str).unwrap_or_default();
    match ty {
        "Feature" => geojson_multipolygon(
            field,
            v.get("geometry")
                .ok_or_else(|| ApiError::bad_param(field, "Feature without geometry"))?,
        ),
        "Polygon" => Ok(MultiPolygon(vec![json_polygon(
            field,
            v.get("coordinates").unwrap_or(&Value::Null),
        )?])),
        "MultiPolygon" => {
            let polys = v
                .get("coordinates")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    ApiError::bad_param(field, "MultiPolygon coordinates must be an array")
                })?;
            Ok(MultiPolygon(
                polys
                    .iter()
                    .map(|p| json_polygon(field, p))
                    .collect::<Result<_, _>>()?,
            ))
        }
        other => Err(ApiError::bad_param(
            field,
            format!("expected a GeoJSON Polygon or MultiPolygon, got type {other:?}"),
        )),
    }
}

fn json_polygon(field: &str, v: &Value) -> Result<Polygon<f64>, ApiError> {
    let rings = v.as_array().filter(|r| !r.is_empty()).ok_or_else(|| {
        ApiError::bad_param(
            field,
            "polygon coordinates must be a non-empty array of rings",
        )
    })?;
    let mut out = Vec::with_capacity(rings.len());
    for ring in rings {
        let pts = ring
            .as_array()
            .ok_or_else(|| ApiError::bad_param(field, "a ring must be an array of positions"))?;
        if pts.len() < 4 || pts.first() != pts.last() {
            return Err(ApiError::bad_param(
                field,
                "a ring needs at least 4 positions and must be closed (first = last)",
            ));
        }
        let mut coords = Vec::with_capacity(pts.len());
        for p in pts {
            let pos = p
                .as_array()
                .filter(|a| a.len() >= 2)
                .ok_or_else(|| ApiError::bad_param(field, "a position must be [lon, lat]"))?;
            let (Some(x), Some(y)) = (pos[0].as_f64(), pos[1].as_f64()) else {
                return Err(ApiError::bad_param(
                    field,
                    "a position must hold two numbers",
                ));
            };
            coords.push(Coord { x, y });
        }
        out.push(LineString(coords));
    }
    let exterior = out.remove(0);
    Ok(Polygon::new(exterior, out))
}

fn wkt_multipolygon(field: &str, s: &str) -> Result<MultiPolygon<f64>, ApiError> {
    use wkt::TryFromWkt;
    let g = geo_types::Geometry::<f64>::try_from_wkt_str(s).map_err(|e| {
        ApiError::bad_param(
            field,
            format!("expected GeoJSON or WKT POLYGON/MULTIPOLYGON: {e}"),
        )
    })?;
    match g {
        geo_types::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        geo_types::Geometry::MultiPolygon(mp) => Ok(mp),
        _ => Err(ApiError::bad_param(
            field,
            "expected a POLYGON or MULTIPOLYGON",
        )),
    }
}

/// Checks ring closure, ring size, coordinate ranges and the vertex budget.
pub fn check_multipolygon(
    field: &str,
    mp: &MultiPolygon<f64>,
    max_vertices: usize,
) -> Result<(), ApiError> {
    if mp.0.is_empty() {
        return Err(ApiError::bad_param(field, "empty multipolygon"));
    }
    let mut total = 0usize;
    for poly in &mp.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            let n = ring.0.len();
            total += n;
            if total > max_vertices {
                return Err(ApiError::bad_param(
                    field,
                    format!("too many vertices (at most {max_vertices})"),
                ));
            }
            if n < 4 {
                return Err(ApiError::bad_param(
                    field,
                    format!("a ring needs at least 4 positions, got {n}"),
                ));
            }
            if ring.0.first() != ring.0.last() {
                return Err(ApiError::bad_param(
                    field,
                    "rings must be closed (first position = last position)",
                ));
            }
            for c in &ring.0 {
                if !(c.x.is_finite() && c.y.is_finite()) {
                    return Err(ApiError::bad_param(field, "coordinates must be finite"));
                }
                check_lon_lat(field, c.x, c.y)?;
            }
        }
    }
    Ok(())
}

/// Converts every vertex from `crs` to WGS-84.
#[must_use]
pub fn convert_multipolygon(mut mp: MultiPolygon<f64>, crs: Crs) -> MultiPolygon<f64> {
    if crs == Crs::Wgs84 {
        return mp;
    }
    for poly in &mut mp.0 {
        poly.exterior_mut(|r| convert_ring(r, crs));
        poly.interiors_mut(|rs| rs.iter_mut().for_each(|r| convert_ring(r, crs)));
    }
    mp
}

fn convert_ring(r: &mut LineString<f64>, crs: Crs) {
    for c in &mut r.0 {
        let [x, y] = crs.to_wgs84([c.x, c.y]);
        *c = Coord { x, y };
    }
}

/// Parses a CRS name (`wgs84`, `gcj02`, `bd09`); missing means WGS-84.
pub fn parse_crs(s: Option<&str>) -> Result<Crs, ApiError> {
    match s {
        None | Some("") => Ok(Crs::Wgs84),
        Some(s) => s.parse().map_err(|e| ApiError::bad_param("crs", e)),
    }
}

/// Splits a comma-separated list, dropping empty items, at most `max` items.
pub fn parse_list<'a>(field: &str, s: &'a str, max: usize) -> Result<Vec<&'a str>, ApiError> {
    let items: Vec<&str> = s
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect();
    if items.len() > max {
        return Err(ApiError::bad_param(
            field,
            format!("too many values (at most {max})"),
        ));
    }
    Ok(items)
}

/// Which end of a time range a value gives. A date alone (`2026-12-06`) means that whole day
/// in China Standard Time, on every endpoint: as a start, the day's first instant (00:00
/// UTC+8); as an inclusive end, its last millisecond; as the exclusive end of a half-open
/// period `[from, to)`, the next day's first instant. So `to=2026-12-06` keeps the evening of
/// the 6th in China whichever way the endpoint counts its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Start,
    EndInclusive,
    EndExclusive,
}

/// Parses an end of a time range: RFC 3339 (`2024-05-01T08:00:00Z`, `...+08:00`) or a date
/// (China Standard Time, read as `bound` says).
pub fn parse_time(field: &str, s: &str, bound: Bound) -> Result<DateTime<Utc>, ApiError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let next = day_start(d.succ_opt().unwrap_or(d));
        return Ok(match bound {
            Bound::Start => day_start(d),
            Bound::EndExclusive => next,
            Bound::EndInclusive => next - chrono::Duration::milliseconds(1),
        });
    }
    Err(ApiError::bad_param(
        field,
        format!("{s:?} is not an RFC 3339 date-time (e.g. 2024-05-01T08:00:00Z) or a date"),
    ))
}

/// Parses a start instant: RFC 3339, or a date meaning 00:00 of that day in China Standard
/// Time (see [`Bound`]).
pub fn parse_instant(field: &str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    parse_time(field, s, Bound::Start)
}

/// Parses an inclusive end: RFC 3339, or a date meaning the end of that day in China Standard
/// Time (see [`Bound`]).
pub fn parse_instant_end(field: &str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    parse_time(field, s, Bound::EndInclusive)
}

/// A time range; `None` ends are open. `from` is inclusive, `to` is inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Parses an OGC `datetime`: an instant, or an interval `start/end` where either end may be
/// `..` or empty (open).
pub fn parse_datetime_interval(field: &str, s: &str) -> Result<TimeRange, ApiError> {
    let open = |x: &str| x.is_empty() || x == "..";
    let range = if let Some((a, b)) = s.split_once('/') {
        if open(a) && open(b) {
            return Err(ApiError::bad_param(
                field,
                "both ends of the interval are open",
            ));
        }
        TimeRange {
            from: if open(a) {
                None
            } else {
                Some(parse_instant(field, a)?)
            },
            to: if open(b) {
                None
            } else {
                Some(parse_instant_end(field, b)?)
            },
        }
    } else {
        // An instant; a date alone is that whole day.
        TimeRange {
            from: Some(parse_instant(field, s)?),
            to: Some(parse_instant_end(field, s)?),
        }
    };
    if let (Some(a), Some(b)) = (range.from, range.to)
        && a > b
    {
        return Err(ApiError::bad_param(
            field,
            "the interval ends before it starts",
        ));
    }
    Ok(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox() {
        let b = parse_bbox("bbox", "121.4,31.2,121.6,31.3", Crs::Wgs84).unwrap();
        assert!((b.area_deg2() - 0.02).abs() < 1e-9);
        for bad in [
            "1,2,3",
            "a,b,c,d",
            "121.6,31.2,121.4,31.3",
            "0,0,0,91",
            "NaN,0,1,1",
            "inf,0,1,1",
            "1,2,3,4,5,6",
        ] {
            let e = parse_bbox("bbox", bad, Crs::Wgs84).unwrap_err();
            assert_eq!(
                (e.status().as_u16(), e.field()),
                (400, Some("bbox")),
                "{bad}"
            );
        }
    }

    #[test]
    fn gcj02_bbox_is_moved_to_wgs84() {
        let b = parse_bbox("bbox", "121.50,31.28,121.51,31.29", Crs::Gcj02).unwrap();
        // In Shanghai GCJ-02 lies about 430 m east and 200 m south of WGS-84.
        let east_m = (121.50 - b.min_lon) * 111_320.0 * 31.28_f64.to_radians().cos();
        let north_m = (31.28 - b.min_lat) * 111_320.0;
        assert!((300.0..600.0).contains(&east_m), "{b:?}");
        assert!((-300.0..-100.0).contains(&north_m), "{b:?}");
        assert_eq!(
            civmap_geodata::crs::wgs84_to_gcj02([b.max_lon, b.max_lat]).map(|v| (v * 1e9).round()),
            [121.51, 31.29].map(|v: f64| (v * 1e9).round()),
            "each corner is converted exactly"
        );
    }

    #[test]
    fn radius() {
        let c = parse_radius("radius", "121.5,31.28,200", Crs::Wgs84, 50_000.0).unwrap();
        assert!((c.radius_m - 200.0).abs() < 1e-12);
        assert!(parse_radius("radius", "121.5,31.28,0", Crs::Wgs84, 50_000.0).is_err());
        assert!(parse_radius("radius", "121.5,31.28,60000", Crs::Wgs84, 50_000.0).is_err());
        assert!(parse_radius("radius", "121.5,95,10", Crs::Wgs84, 50_000.0).is_err());
    }

    #[test]
    fn polygons_geojson_and_wkt_agree() {
        let gj = r#"{"type":"Polygon","coordinates":[[[121.4,31.2],[121.6,31.2],[121.6,31.3],[121.4,31.3],[121.4,31.2]],[[121.45,31.22],[121.46,31.22],[121.46,31.23],[121.45,31.22]]]}"#;
        let wkt = "POLYGON((121.4 31.2,121.6 31.2,121.6 31.3,121.4 31.3,121.4 31.2),(121.45 31.22,121.46 31.22,121.46 31.23,121.45 31.22))";
        let a = parse_polygon("polygon", gj, Crs::Wgs84, 1000).unwrap();
        let b = parse_polygon("polygon", wkt, Crs::Wgs84, 1000).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.0[0].interiors().len(), 1);
        let feature = format!(r#"{{"type":"Feature","properties":{{}},"geometry":{gj}}}"#);
        assert_eq!(
            parse_polygon("polygon", &feature, Crs::Wgs84, 1000).unwrap(),
            a
        );
        assert!(
            parse_polygon("polygon", gj, Crs::Wgs84, 8).is_err(),
            "vertex budget"
        );
        for bad in [
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0.5]]]}"#,
            "POLYGON((0 0,1 0,0 0))",
            "POINT(1 2)",
            r#"{"type":"Point","coordinates":[1,2]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,200],[0,0]]]}"#,
            "{not json",
            "",
        ] {
            let e = parse_polygon("polygon", bad, Crs::Wgs84, 1000).unwrap_err();
            assert_eq!(e.field(), Some("polygon"), "{bad}");
        }
    }

    #[test]
    fn times() {
        let t = parse_instant("from", "2024-05-01T08:00:00+08:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-01T00:00:00+00:00");
        // A date is that whole day in China Standard Time (UTC+8).
        assert_eq!(
            parse_instant("from", "2024-05-01").unwrap().to_rfc3339(),
            "2024-04-30T16:00:00+00:00"
        );
        assert_eq!(
            parse_instant_end("to", "2024-05-01").unwrap().to_rfc3339(),
            "2024-05-01T15:59:59.999+00:00"
        );
        assert_eq!(
            parse_time("to", "2024-05-01", Bound::EndExclusive)
                .unwrap()
                .to_rfc3339(),
            "2024-05-01T16:00:00+00:00"
        );
        assert!(parse_instant("from", "yesterday").is_err());
        let r = parse_datetime_interval("datetime", "../2024-05-01T00:00:00Z").unwrap();
        assert!(r.from.is_none() && r.to.is_some());
        let r = parse_datetime_interval("datetime", "2024-05-01T00:00:00Z/").unwrap();
        assert!(r.from.is_some() && r.to.is_none());
        assert!(parse_datetime_interval("datetime", "../..").is_err());
        assert!(parse_datetime_interval("datetime", "2024-05-02/2024-05-01").is_err());
    }
}
