//! [`ZoneIndex`]: chiefs' zones, three-surroundings buffers, grid cells — which zones hold a point.

use std::collections::HashMap;

use civmap_domain::{LonLat, Zone, ZoneId, ZoneKind};
use geo::orient::{Direction, Orient};
use geo::{Area, GeodesicArea, MultiPolygon};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

use crate::area::{AreaGrid, Shape};
use crate::error::IndexError;

type ZoneBox = GeomWithData<Rectangle<[f64; 2]>, ZoneId>;

/// One indexed zone.
#[derive(Debug, Clone)]
pub(crate) struct ZoneEntry {
    pub(crate) kind: ZoneKind,
    pub(crate) geometry: MultiPolygon<f64>,
    /// The classified grid of the geometry (`None` only for an empty geometry, refused at insert).
    pub(crate) grid: Option<AreaGrid>,
    /// Geodesic area on the WGS-84 ellipsoid, m².
    pub(crate) area_m2: f64,
}

/// A zone that holds a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneHit {
    pub id: ZoneId,
    pub kind: ZoneKind,
}

/// Zone polygons (WGS-84 lon/lat multipolygons) with an R-tree of their bounding boxes.
///
/// A point is in a zone when it is inside one of its polygons or on any ring (geo's
/// `Intersects`); a point strictly inside a hole is not.
///
/// ```
/// use civmap_domain::{LonLat, ZoneId, ZoneKind};
/// use civmap_index::ZoneIndex;
/// use geo::{MultiPolygon, polygon};
///
/// let mut zones = ZoneIndex::new();
/// let gate = ZoneId::new();
/// let square = polygon![(x: 121.49, y: 31.28), (x: 121.50, y: 31.28), (x: 121.50, y: 31.29), (x: 121.49, y: 31.29)];
/// zones.insert(gate, ZoneKind::Point, MultiPolygon::new(vec![square])).unwrap();
/// let hits = zones.zones_at(LonLat::new(121.495, 31.285).unwrap());
/// assert_eq!(hits.len(), 1);
/// assert_eq!(hits[0].id, gate);
/// assert!(zones.zones_at(LonLat::new(121.6, 31.285).unwrap()).is_empty());
/// ```
#[derive(Debug, Default)]
pub struct ZoneIndex {
    tree: RTree<ZoneBox>,
    zones: HashMap<ZoneId, ZoneEntry>,
}

fn prepare(
    id: ZoneId,
    kind: ZoneKind,
    geometry: MultiPolygon<f64>,
) -> Result<(ZoneBox, ZoneEntry), IndexError> {
    let invalid = |reason: &str| IndexError::InvalidZoneGeometry {
        zone: id,
        reason: reason.to_owned(),
    };
    let grid = AreaGrid::new(&Shape::Multi(&geometry))
        .map_err(|_| {
            invalid("a coordinate is not finite or outside lon [-180, 180] / lat [-90, 90]")
        })?
        .ok_or_else(|| invalid("the geometry is empty"))?;
    // Containment is decided in the lon/lat plane (geo's `Intersects`), so a zone must have
    // area there; a collinear ring has none, even if its geodesic edges enclose a sliver.
    let plane_area = geometry.unsigned_area();
    if plane_area.is_nan() || plane_area <= 0.0 {
        return Err(invalid("the geometry has no area"));
    }
    // In RFC 7946 orientation first (exteriors counter-clockwise, holes clockwise): geo's
    // geodesic area of a polygon whose hole has the exterior's orientation adds the hole the
    // wrong way round (about minus the Earth's area). Containment does not care.
    let area_m2 = geometry.orient(Direction::Default).geodesic_area_unsigned();
    let b = grid.bbox();
    let rect = Rectangle::from_corners([b.min_lon(), b.min_lat()], [b.max_lon(), b.max_lat()]);
    Ok((
        GeomWithData::new(rect, id),
        ZoneEntry {
            kind,
            geometry,
            grid: Some(grid),
            area_m2,
        },
    ))
}

impl ZoneIndex {
    /// An empty zone index.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the index from many zones at once (R-tree bulk load). Fails on the first
    /// duplicate id or invalid geometry.
    pub fn bulk_load(
        zones: impl IntoIterator<Item = (ZoneId, ZoneKind, MultiPolygon<f64>)>,
    ) -> Result<Self, IndexError> {
        let mut boxes = Vec::new();
        let mut map = HashMap::new();
        for (id, kind, geometry) in zones {
            if map.contains_key(&id) {
                return Err(IndexError::DuplicateZone(id));
            }
            let (b, e) = prepare(id, kind, geometry)?;
            boxes.push(b);
            map.insert(id, e);
        }
        Ok(Self {
            tree: RTree::bulk_load(boxes),
            zones: map,
        })
    }

    /// Adds a zone with its WGS-84 lon/lat geometry. Refuses a duplicate id, an empty or
    /// zero-area geometry and non-finite or out-of-range coordinates.
    pub fn insert(
        &mut self,
        id: ZoneId,
        kind: ZoneKind,
        geometry: MultiPolygon<f64>,
    ) -> Result<(), IndexError> {
        if self.zones.contains_key(&id) {
            return Err(IndexError::DuplicateZone(id));
        }
        let (b, e) = prepare(id, kind, geometry)?;
        self.tree.insert(b);
        self.zones.insert(id, e);
        Ok(())
    }

    /// Adds a domain [`Zone`] (its id, kind and geometry).
    pub fn insert_zone(&mut self, zone: &Zone) -> Result<(), IndexError> {
        self.insert(zone.id, zone.kind, zone.geometry.clone())
    }

    /// Removes a zone.
    ///
    /// # Panics
    /// Never: every indexed zone has its grid and its box in the tree (an internal invariant).
    pub fn remove(&mut self, id: ZoneId) -> Result<(), IndexError> {
        let e = self.zones.remove(&id).ok_or(IndexError::UnknownZone(id))?;
        let b = e.grid.as_ref().expect("indexed zones have a grid").bbox();
        let rect = Rectangle::from_corners([b.min_lon(), b.min_lat()], [b.max_lon(), b.max_lat()]);
        self.tree
            .remove(&GeomWithData::new(rect, id))
            .expect("every indexed zone has its box in the tree");
        Ok(())
    }

    /// Replaces a zone's kind and geometry (inserts it if absent).
    pub fn upsert(
        &mut self,
        id: ZoneId,
        kind: ZoneKind,
        geometry: MultiPolygon<f64>,
    ) -> Result<(), IndexError> {
        let (b, e) = prepare(id, kind, geometry)?;
        if self.zones.contains_key(&id) {
            self.remove(id)?;
        }
        self.tree.insert(b);
        self.zones.insert(id, e);
        Ok(())
    }

    /// The zones that hold the point (inside or on a ring), most specific first: by
    /// `ZoneKind::dispatch_rank` (point, road, surroundings, area, grid cell), then by id.
    #[must_use]
    pub fn zones_at(&self, p: LonLat) -> Vec<ZoneHit> {
        let (lon, lat) = (p.lon(), p.lat());
        let mut out: Vec<ZoneHit> = self
            .tree
            .locate_all_at_point([lon, lat])
            .filter_map(|b| {
                let e = &self.zones[&b.data];
                let grid = e.grid.as_ref()?;
                grid.contains(&Shape::Multi(&e.geometry), lon, lat)
                    .then_some(ZoneHit {
                        id: b.data,
                        kind: e.kind,
                    })
            })
            .collect();
        out.sort_unstable_by_key(|h| (h.kind.dispatch_rank(), h.id));
        out
    }

    /// Whether the zone holds the point.
    pub fn contains_point(&self, zone: ZoneId, p: LonLat) -> Result<bool, IndexError> {
        let e = self.entry(zone)?;
        Ok(e.grid
            .as_ref()
            .is_some_and(|g| g.contains(&Shape::Multi(&e.geometry), p.lon(), p.lat())))
    }

    /// A zone's geodesic area on the WGS-84 ellipsoid, in m².
    #[must_use]
    pub fn area_m2(&self, zone: ZoneId) -> Option<f64> {
        self.zones.get(&zone).map(|e| e.area_m2)
    }

    /// A zone's kind.
    #[must_use]
    pub fn kind(&self, zone: ZoneId) -> Option<ZoneKind> {
        self.zones.get(&zone).map(|e| e.kind)
    }

    /// A zone's geometry (WGS-84 lon/lat).
    #[must_use]
    pub fn geometry(&self, zone: ZoneId) -> Option<&MultiPolygon<f64>> {
        self.zones.get(&zone).map(|e| &e.geometry)
    }

    /// Every zone id, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = ZoneId> + '_ {
        self.zones.keys().copied()
    }

    /// Number of zones.
    #[must_use]
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether there is no zone.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    pub(crate) fn entry(&self, zone: ZoneId) -> Result<&ZoneEntry, IndexError> {
        self.zones.get(&zone).ok_or(IndexError::UnknownZone(zone))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn refuses_bad_zones() {
        let mut z = ZoneIndex::new();
        let id = ZoneId::new();
        let empty = MultiPolygon::<f64>::new(vec![]);
        let e = z.insert(id, ZoneKind::Area, empty).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let flat = MultiPolygon::new(vec![
            polygon![(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 3.0, y: 1.0)],
        ]);
        let e = z.insert(id, ZoneKind::Area, flat).unwrap_err();
        assert!(e.to_string().contains("no area"), "{e}");
        let projected = MultiPolygon::new(vec![
            polygon![(x: 350_000.0, y: 3_460_000.0), (x: 351_000.0, y: 3_460_000.0), (x: 351_000.0, y: 3_461_000.0)],
        ]);
        let e = z.insert(id, ZoneKind::Area, projected).unwrap_err();
        assert!(e.to_string().contains("outside lon"), "{e}");
        let ok = MultiPolygon::new(vec![
            polygon![(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0)],
        ]);
        z.insert(id, ZoneKind::Area, ok.clone()).unwrap();
        assert_eq!(
            z.insert(id, ZoneKind::Area, ok).unwrap_err(),
            IndexError::DuplicateZone(id)
        );
        let other = ZoneId::new();
        assert_eq!(z.remove(other).unwrap_err(), IndexError::UnknownZone(other));
        z.remove(id).unwrap();
        assert!(z.is_empty());
        assert!(z.zones_at(LonLat::new(1.9, 1.1).unwrap()).is_empty());
    }

    #[test]
    fn area_is_geodesic() {
        // A 0.01° × 0.01° square at 31° N: about 1,113 m × 954 m.
        let mut z = ZoneIndex::new();
        let id = ZoneId::new();
        let sq = polygon![(x: 121.0, y: 31.0), (x: 121.01, y: 31.0), (x: 121.01, y: 31.01), (x: 121.0, y: 31.01)];
        z.insert(id, ZoneKind::GridCell, MultiPolygon::new(vec![sq]))
            .unwrap();
        let a = z.area_m2(id).unwrap();
        assert!((a - 1_113.2 * 954.2).abs() / a < 0.005, "{a}");
    }

    #[test]
    fn holes_are_subtracted_whatever_their_orientation() {
        // A 0.01° square with a 0.005° hole, the hole drawn both ways round.
        let outer = vec![
            (121.0, 31.0),
            (121.01, 31.0),
            (121.01, 31.01),
            (121.0, 31.01),
            (121.0, 31.0),
        ];
        let hole_ccw = vec![
            (121.0025, 31.0025),
            (121.0075, 31.0025),
            (121.0075, 31.0075),
            (121.0025, 31.0075),
            (121.0025, 31.0025),
        ];
        let hole_cw: Vec<_> = hole_ccw.iter().rev().copied().collect();
        let full = {
            let mut z = ZoneIndex::new();
            let id = ZoneId::new();
            let p = geo::Polygon::new(outer.clone().into(), vec![]);
            z.insert(id, ZoneKind::Area, MultiPolygon::new(vec![p]))
                .unwrap();
            z.area_m2(id).unwrap()
        };
        for hole in [hole_ccw, hole_cw] {
            let mut z = ZoneIndex::new();
            let id = ZoneId::new();
            let p = geo::Polygon::new(outer.clone().into(), vec![hole.into()]);
            z.insert(id, ZoneKind::Area, MultiPolygon::new(vec![p]))
                .unwrap();
            let a = z.area_m2(id).unwrap();
            assert!((a / full - 0.75).abs() < 0.001, "{a} of {full}");
            assert!(
                z.zones_at(LonLat::new(121.005, 31.005).unwrap()).is_empty(),
                "the hole is out"
            );
            assert_eq!(z.zones_at(LonLat::new(121.001, 31.001).unwrap()).len(), 1);
        }
    }

    #[test]
    fn most_specific_zone_first() {
        let mut z = ZoneIndex::new();
        let area = ZoneId::new();
        let point = ZoneId::new();
        let big = polygon![(x: 121.0, y: 31.0), (x: 121.1, y: 31.0), (x: 121.1, y: 31.1), (x: 121.0, y: 31.1)];
        let small = polygon![(x: 121.04, y: 31.04), (x: 121.06, y: 31.04), (x: 121.06, y: 31.06), (x: 121.04, y: 31.06)];
        z.insert(area, ZoneKind::Area, MultiPolygon::new(vec![big]))
            .unwrap();
        z.insert(point, ZoneKind::Point, MultiPolygon::new(vec![small]))
            .unwrap();
        let hits = z.zones_at(LonLat::new(121.05, 31.05).unwrap());
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [point, area]);
        // On the small square's edge: still in both.
        assert_eq!(z.zones_at(LonLat::new(121.06, 31.05).unwrap()).len(), 2);
    }
}
