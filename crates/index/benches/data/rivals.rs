//! The libraries a user would pick instead of civmap-index, each written as a user would write
//! it for civmap's questions (issue 19): ids out of a box; a 200 m radius in haversine metres as
//! a box around the circle, then the exact distance of each candidate, nearest first; the k
//! nearest by haversine where the library can rank by a caller's distance.
//!
//! The trees hold coordinates and a handle; the ids, positions and attributes stay in the
//! caller's `&[PointRecord]` (what the store hands over), read back by insertion index.

use civmap_domain::{LonLat, ProblemId};
use civmap_index::{BBox, EARTH_RADIUS_M, Neighbor, PointRecord, haversine_m};
use geo_index::kdtree::{KDTree, KDTreeBuilder, KDTreeIndex};
use geo_index::rtree::sort::HilbertSort;
use geo_index::rtree::{NeighborsOptions, RTree, RTreeBuilder, RTreeIndex};
use rstar_0_12::primitives::GeomWithData;
use rstar_0_12::{AABB, RTree as RStarTree};

/// `[min_lon, min_lat, max_lon, max_lat]` around a circle of `r` metres at city scale: latitude
/// ± r/R, longitude ± that over cos φ, widened by 1e-9 relative and 1e-9° for rounding.
pub fn circle_box(c: LonLat, r: f64) -> [f64; 4] {
    let dlat = (r / EARTH_RADIUS_M).to_degrees() * (1.0 + 1e-9) + 1e-9;
    let dlon = dlat / c.lat().to_radians().cos();
    [
        c.lon() - dlon,
        c.lat() - dlat,
        c.lon() + dlon,
        c.lat() + dlat,
    ]
}

/// Exact distances of the candidates, those within `r`, nearest first, ties by id (civmap's
/// answer, so the outputs can be compared).
fn within(
    c: LonLat,
    r: f64,
    candidates: impl Iterator<Item = (ProblemId, LonLat)>,
) -> Vec<Neighbor> {
    let mut v: Vec<Neighbor> = candidates
        .filter_map(|(id, p)| {
            let d = haversine_m(c, p);
            (d <= r).then_some(Neighbor { id, distance_m: d })
        })
        .collect();
    v.sort_unstable_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then(a.id.cmp(&b.id)));
    v
}

fn corners(b: &BBox) -> [f64; 4] {
    [b.min_lon(), b.min_lat(), b.max_lon(), b.max_lat()]
}

/// rstar 0.12 (geo 0.33's), its default parameters, each point with its id.
pub struct Rstar(RStarTree<GeomWithData<[f64; 2], ProblemId>>);

impl Rstar {
    pub fn build(recs: &[PointRecord]) -> Self {
        Self(RStarTree::bulk_load(
            recs.iter()
                .map(|r| GeomWithData::new([r.position.lon(), r.position.lat()], r.id))
                .collect(),
        ))
    }

    fn locate(
        &self,
        [x0, y0, x1, y1]: [f64; 4],
    ) -> impl Iterator<Item = &GeomWithData<[f64; 2], ProblemId>> {
        self.0
            .locate_in_envelope(&AABB::from_corners([x0, y0], [x1, y1]))
    }

    pub fn bbox(&self, b: &BBox) -> Vec<ProblemId> {
        self.locate(corners(b)).map(|p| p.data).collect()
    }

    pub fn radius(&self, c: LonLat, r: f64) -> Vec<Neighbor> {
        within(
            c,
            r,
            self.locate(circle_box(c, r)).map(|p| {
                let [x, y] = *p.geom();
                (p.data, LonLat::new(x, y).unwrap())
            }),
        )
    }

    /// rstar ranks by planar distance in degrees (its only metric for points): the k nearest
    /// in lon/lat, then their haversine metres. At 31° N a degree east is 0.86 of one north,
    /// so this is not always the haversine answer.
    pub fn knn_planar(&self, c: LonLat, k: usize) -> Vec<Neighbor> {
        self.0
            .nearest_neighbor_iter(&[c.lon(), c.lat()])
            .take(k)
            .map(|p| {
                let [x, y] = *p.geom();
                Neighbor {
                    id: p.data,
                    distance_m: haversine_m(c, LonLat::new(x, y).unwrap()),
                }
            })
            .collect()
    }
}

/// geo-index's packed Hilbert R-tree (`f64`, node size 16, the default), one box per point.
pub struct GeoIndex(RTree<f64>);

impl GeoIndex {
    pub fn build(recs: &[PointRecord]) -> Self {
        let mut b = RTreeBuilder::<f64>::new(u32::try_from(recs.len()).unwrap());
        for r in recs {
            let (x, y) = (r.position.lon(), r.position.lat());
            b.add(x, y, x, y);
        }
        Self(b.finish::<HilbertSort>())
    }

    pub fn bbox(&self, recs: &[PointRecord], b: &BBox) -> Vec<ProblemId> {
        ids(recs, self.bbox_indices(b))
    }

    /// Insertion indices only, no ids: the figure geo-index gives for itself.
    pub fn bbox_indices(&self, b: &BBox) -> Vec<u32> {
        let [x0, y0, x1, y1] = corners(b);
        self.0.search(x0, y0, x1, y1)
    }

    pub fn radius(&self, recs: &[PointRecord], c: LonLat, r: f64) -> Vec<Neighbor> {
        let [x0, y0, x1, y1] = circle_box(c, r);
        within(c, r, items(recs, self.0.search(x0, y0, x1, y1)))
    }

    /// Best-first by haversine metres: a node's bound is the distance to the box point nearest
    /// in lon/lat (clamped), as a user would write it; a lower bound at city scale.
    pub fn knn(&self, recs: &[PointRecord], c: LonLat, k: usize) -> Vec<Neighbor> {
        let (x, y) = (c.lon(), c.lat());
        self.0
            .neighbors_with_callbacks(
                NeighborsOptions::k(k),
                |[x0, y0, x1, y1]| {
                    haversine_m(c, LonLat::new(x.clamp(x0, x1), y.clamp(y0, y1)).unwrap())
                },
                |i, _| Some(haversine_m(c, recs[i as usize].position)),
            )
            .into_iter()
            .map(|(i, d)| Neighbor {
                id: recs[i as usize].id,
                distance_m: d,
            })
            .collect()
    }
}

/// geo-index's packed KD-tree (`f64`, node size 64, the default). It has no nearest-neighbour
/// search.
pub struct GeoKdTree(KDTree<f64>);

impl GeoKdTree {
    pub fn build(recs: &[PointRecord]) -> Self {
        let mut b = KDTreeBuilder::<f64>::new(u32::try_from(recs.len()).unwrap());
        for r in recs {
            b.add(r.position.lon(), r.position.lat());
        }
        Self(b.finish())
    }

    pub fn bbox(&self, recs: &[PointRecord], b: &BBox) -> Vec<ProblemId> {
        let [x0, y0, x1, y1] = corners(b);
        ids(recs, self.0.range(x0, y0, x1, y1))
    }

    pub fn radius(&self, recs: &[PointRecord], c: LonLat, r: f64) -> Vec<Neighbor> {
        let [x0, y0, x1, y1] = circle_box(c, r);
        within(c, r, items(recs, self.0.range(x0, y0, x1, y1)))
    }
}

fn ids(recs: &[PointRecord], found: Vec<u32>) -> Vec<ProblemId> {
    found.into_iter().map(|i| recs[i as usize].id).collect()
}

fn items(recs: &[PointRecord], found: Vec<u32>) -> impl Iterator<Item = (ProblemId, LonLat)> + '_ {
    found.into_iter().map(|i| {
        let r = &recs[i as usize];
        (r.id, r.position)
    })
}
