//! The spatial conditions of a problem query and the thin glue to `civmap-index`: the service
//! keeps no geometry logic of its own; every spatial question goes to [`ProblemIndex`] or
//! [`ZoneIndex`].

use civmap_domain::{LonLat, ProblemId};
use civmap_index::{Filter, PointRecord, PointUpdate, ProblemIndex, Region, ZoneIndex};
use geo_types::{Geometry, MultiPolygon};

use crate::error::ServiceError;
use crate::memory::record::Record;

/// A WGS-84 bounding box `[min_lon, min_lat, max_lon, max_lat]`, degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl BBox {
    /// Area in square degrees (the unit of the anonymous bbox limit).
    #[must_use]
    pub fn area_deg2(&self) -> f64 {
        (self.max_lon - self.min_lon) * (self.max_lat - self.min_lat)
    }

    /// The whole WGS-84 range.
    #[must_use]
    pub fn world() -> Self {
        Self {
            min_lon: -180.0,
            min_lat: -90.0,
            max_lon: 180.0,
            max_lat: 90.0,
        }
    }

    /// Whether the two boxes meet (edges included).
    #[must_use]
    pub fn intersects(&self, other: &BBox) -> bool {
        self.min_lon <= other.max_lon
            && self.max_lon >= other.min_lon
            && self.min_lat <= other.max_lat
            && self.max_lat >= other.min_lat
    }
}

/// A circle: centre (WGS-84 lon, lat in degrees) and radius in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    pub lon: f64,
    pub lat: f64,
    pub radius_m: f64,
}

/// A spatial condition of a problem query.
#[derive(Debug, Clone, PartialEq)]
pub enum Spatial {
    /// WGS-84 box, edges included.
    BBox(BBox),
    /// Haversine distance from a point, metres, boundary included.
    Circle(Circle),
    /// WGS-84 (multi)polygon; holes excluded, rings included.
    Polygon(MultiPolygon<f64>),
    /// Inside a stored zone.
    Zone(civmap_domain::ZoneId),
}

/// The index record of an in-memory problem.
#[must_use]
pub fn point_record(id: ProblemId, r: &Record) -> Option<PointRecord> {
    Some(PointRecord {
        id,
        position: LonLat::new(r.lon, r.lat).ok()?,
        category: r.category,
        status: r.status,
        severity: r.severity,
        reported_ms: r.reported_ms,
    })
}

/// Whether an in-memory problem passes an attribute filter (the same test the index applies).
#[must_use]
pub fn record_matches(filter: &Filter, id: ProblemId, r: &Record) -> bool {
    point_record(id, r).is_some_and(|p| filter.matches(&p))
}

/// Builds the problem index from the in-memory records.
pub fn build_index<'a>(
    records: impl Iterator<Item = (&'a ProblemId, &'a Record)>,
) -> Result<ProblemIndex, ServiceError> {
    ProblemIndex::bulk_load(records.filter_map(|(id, r)| point_record(*id, r)))
        .map_err(|e| ServiceError::internal("building the problem index", e))
}

/// The index change that turns `old` into `new`.
#[must_use]
pub fn update_of(old: &Record, new: &Record) -> PointUpdate {
    PointUpdate {
        position: ((old.lon, old.lat) != (new.lon, new.lat))
            .then(|| LonLat::new(new.lon, new.lat).ok())
            .flatten(),
        status: (old.status != new.status).then_some(new.status),
        severity: (old.severity != new.severity).then_some(new.severity),
        category: (old.category != new.category).then_some(new.category),
    }
}

/// Ids of the problems matching one spatial condition and the filter, in no order.
pub fn query(
    index: &ProblemIndex,
    zones: &ZoneIndex,
    s: &Spatial,
    filter: &Filter,
) -> Result<Vec<ProblemId>, ServiceError> {
    let bad = |field: &str, e: civmap_index::IndexError| ServiceError::malformed(field, e);
    match s {
        Spatial::BBox(b) => {
            let b = civmap_index::BBox::new(b.min_lon, b.min_lat, b.max_lon, b.max_lat)
                .map_err(|e| bad("bbox", e))?;
            Ok(index.bbox(&b, filter))
        }
        Spatial::Circle(c) => {
            let center =
                LonLat::new(c.lon, c.lat).map_err(|e| ServiceError::malformed("radius", e))?;
            index
                .query(
                    &Region::Circle {
                        center,
                        radius_m: c.radius_m,
                    },
                    filter,
                )
                .map_err(|e| bad("radius", e))
        }
        Spatial::Polygon(mp) => index
            .query(&Region::MultiPolygon(mp), filter)
            .map_err(|e| bad("polygon", e)),
        Spatial::Zone(z) => index
            .query(&Region::Zone(zones, *z), filter)
            .map_err(|e| ServiceError::invalid("zone", e)),
    }
}

/// The box around a multipolygon's exterior rings (`None` when empty).
#[must_use]
pub fn bounds(mp: &MultiPolygon<f64>) -> Option<BBox> {
    bounds_of(
        mp.0.iter()
            .flat_map(|p| p.exterior().0.iter().map(|c| (c.x, c.y))),
    )
}

/// The box around any geometry (`None` when empty).
#[must_use]
pub fn geometry_bounds(g: &Geometry<f64>) -> Option<BBox> {
    match g {
        Geometry::Point(p) => bounds_of(std::iter::once((p.x(), p.y()))),
        Geometry::MultiPoint(mp) => bounds_of(mp.0.iter().map(|p| (p.x(), p.y()))),
        Geometry::Line(l) => bounds_of([(l.start.x, l.start.y), (l.end.x, l.end.y)].into_iter()),
        Geometry::LineString(l) => bounds_of(l.0.iter().map(|c| (c.x, c.y))),
        Geometry::MultiLineString(ml) => {
            bounds_of(ml.0.iter().flat_map(|l| l.0.iter().map(|c| (c.x, c.y))))
        }
        Geometry::Polygon(p) => bounds_of(p.exterior().0.iter().map(|c| (c.x, c.y))),
        Geometry::MultiPolygon(mp) => bounds(mp),
        Geometry::Rect(r) => {
            bounds_of([(r.min().x, r.min().y), (r.max().x, r.max().y)].into_iter())
        }
        Geometry::Triangle(t) => bounds_of(t.to_array().iter().map(|c| (c.x, c.y))),
        Geometry::GeometryCollection(gc) => {
            gc.0.iter().filter_map(geometry_bounds).reduce(|a, b| BBox {
                min_lon: a.min_lon.min(b.min_lon),
                min_lat: a.min_lat.min(b.min_lat),
                max_lon: a.max_lon.max(b.max_lon),
                max_lat: a.max_lat.max(b.max_lat),
            })
        }
    }
}

fn bounds_of(mut it: impl Iterator<Item = (f64, f64)>) -> Option<BBox> {
    let (x, y) = it.next()?;
    let mut b = BBox {
        min_lon: x,
        min_lat: y,
        max_lon: x,
        max_lat: y,
    };
    for (x, y) in it {
        b.min_lon = b.min_lon.min(x);
        b.min_lat = b.min_lat.min(y);
        b.max_lon = b.max_lon.max(x);
        b.max_lat = b.max_lat.max(y);
    }
    Some(b)
}
