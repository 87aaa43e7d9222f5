//! Grid clustering of points for low-zoom tiles.
//!
//! Points are counted in square cells of the tile grid (in tile units). The grid is aligned to
//! the global tile-unit grid, so:
//! * every cell lies inside exactly one tile: a point is counted by one tile only (points in a
//!   tile's buffer are not counted), and neighbouring tiles never show the same cluster twice;
//! * with a power-of-two cell, a cell at zoom `z` is exactly four cells at `z + 1`: zooming in
//!   splits clusters and never regroups points across a former cell boundary.
//!
//! A cluster is placed at the mean position of its points (in Web Mercator, which is the same
//! as the mean in lon/lat to well under a tile unit at cell size), not at the cell centre,
//! so a lone point is drawn where it is.
//!
//! ## Cell size
//! [`DEFAULT_CLUSTER_CELL`] is 256 of 4096 tile units: a 16 × 16 grid per tile, 32 screen
//! pixels on a 512-pixel MapLibre tile (16 px on a 256-pixel tile). That is about the diameter
//! of a count bubble, comparable to supercluster's default radius of 40 px at 512 px, so
//! bubbles rarely overlap, and it caps a tile at 256 features whatever the point density.
//! In Shanghai (lat 31°) one cell is about 1.1 km at z12 and 270 m at z14.

use crate::error::Error;
use crate::tile::{TileId, TileProjection};

/// Default cluster cell edge in tile units of a 4096 extent (see the module docs).
pub const DEFAULT_CLUSTER_CELL: u32 = 256;

/// One cluster: the points of one grid cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster<K> {
    /// Stable id of the cell at this zoom: `row · cells_per_world_row + column` in the global
    /// cell grid. Use it as the feature id (MapLibre feature state survives re-encoding).
    pub id: u64,
    /// Number of points.
    pub count: u64,
    /// Mean position in tile units of the tile (`x` east, `y` down).
    pub x: f64,
    /// See `x`.
    pub y: f64,
    /// Mean position in WGS-84 degrees (longitude).
    pub lon: f64,
    /// Mean position in WGS-84 degrees (latitude).
    pub lat: f64,
    /// Points per category, largest count first (ties: smaller key first). The first entry
    /// is the top category.
    pub categories: Vec<(K, u64)>,
}

impl<K> Cluster<K> {
    /// The most frequent category and its count.
    #[must_use]
    pub fn top_category(&self) -> Option<(&K, u64)> {
        self.categories.first().map(|(k, n)| (k, *n))
    }
}

#[derive(Debug, Clone)]
struct Cell<K> {
    count: u64,
    sx: f64,
    sy: f64,
    categories: Vec<(K, u64)>,
}

/// Counts points of one tile into grid cells.
///
/// ```
/// use civmap_tiles::{GridClusterer, TileId, DEFAULT_CLUSTER_CELL};
/// let tile = TileId::containing(121.4737, 31.2304, 10).unwrap();
/// let mut g = GridClusterer::new(tile, 4096, DEFAULT_CLUSTER_CELL).unwrap();
/// // lon, lat, category
/// g.add(121.4737, 31.2304, "garbage").unwrap();
/// g.add(121.4738, 31.2305, "garbage").unwrap();
/// g.add(121.4739, 31.2303, "illegal_parking").unwrap();
/// let clusters = g.finish();
/// assert_eq!(clusters.len(), 1);
/// assert_eq!(clusters[0].count, 3);
/// assert_eq!(clusters[0].top_category(), Some((&"garbage", 2)));
/// ```
#[derive(Debug, Clone)]
pub struct GridClusterer<K> {
    projection: TileProjection,
    extent: f64,
    cell: f64,
    per_row: u32,
    cells: Vec<Option<Cell<K>>>,
}

impl<K: Ord + Clone> GridClusterer<K> {
    /// A clusterer for `tile` with `extent` tile units across and square cells of `cell`
    /// tile units; `cell` must divide `extent`.
    pub fn new(tile: TileId, extent: u32, cell: u32) -> Result<Self, Error> {
        if extent == 0 || extent > 1 << 16 {
            return Err(Error::InvalidOption {
                option: "extent",
                reason: format!("{extent} is not in 1..=65536"),
            });
        }
        if cell == 0 || !extent.is_multiple_of(cell) {
            return Err(Error::InvalidOption {
                option: "cluster cell",
                reason: format!("{cell} does not divide the extent {extent}"),
            });
        }
        let per_row = extent / cell;
        Ok(Self {
            projection: TileProjection::new(tile, extent),
            extent: f64::from(extent),
            cell: f64::from(cell),
            per_row,
            cells: vec![None; (per_row as usize) * (per_row as usize)],
        })
    }

    /// Counts the point (`lon`, `lat`) in degrees with its `category`. Returns `Ok(false)`
    /// when the point is not in this tile (the west and north edges belong to the tile, the
    /// east and south edges to the next one).
    pub fn add(&mut self, lon: f64, lat: f64, category: K) -> Result<bool, Error> {
        if !lon.is_finite() || !lat.is_finite() {
            return Err(Error::NonFiniteCoordinate { x: lon, y: lat });
        }
        let (x, y) = self.projection.project(lon, lat);
        Ok(self.add_tile_point(x, y, category))
    }

    /// As [`Self::add`] with the point already in tile units of this tile.
    pub fn add_tile_point(&mut self, x: f64, y: f64, category: K) -> bool {
        if !(x >= 0.0 && x < self.extent && y >= 0.0 && y < self.extent) {
            return false;
        }
        let cx = ((x / self.cell) as u32).min(self.per_row - 1);
        let cy = ((y / self.cell) as u32).min(self.per_row - 1);
        let cell = self.cells[(cy * self.per_row + cx) as usize].get_or_insert_with(|| Cell {
            count: 0,
            sx: 0.0,
            sy: 0.0,
            categories: Vec::new(),
        });
        cell.count += 1;
        cell.sx += x;
        cell.sy += y;
        // A handful of categories per cell: a linear scan beats hashing.
        if let Some(entry) = cell.categories.iter_mut().find(|(k, _)| *k == category) {
            entry.1 += 1;
        } else {
            cell.categories.push((category, 1));
        }
        true
    }

    /// The non-empty cells as clusters, in row-major cell order (north to south, west to east).
    #[must_use]
    pub fn finish(self) -> Vec<Cluster<K>> {
        let tile = self.projection.tile();
        let world_row = u64::from(self.per_row) << tile.z();
        let per_row = self.per_row;
        let projection = self.projection;
        self.cells
            .into_iter()
            .enumerate()
            .filter_map(|(i, c)| c.map(|c| (i as u32, c)))
            .map(|(i, mut c)| {
                let (cx, cy) = (i % per_row, i / per_row);
                let gx = u64::from(tile.x()) * u64::from(per_row) + u64::from(cx);
                let gy = u64::from(tile.y()) * u64::from(per_row) + u64::from(cy);
                let (x, y) = (c.sx / c.count as f64, c.sy / c.count as f64);
                let (lon, lat) = projection.unproject(x, y);
                c.categories
                    .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                Cluster {
                    id: gy * world_row + gx,
                    count: c.count,
                    x,
                    y,
                    lon,
                    lat,
                    categories: c.categories,
                }
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::BTreeMap;

    #[test]
    fn rejects_cells_that_do_not_divide_the_extent() {
        let t = TileId::new(3, 1, 1).unwrap();
        assert!(GridClusterer::<u8>::new(t, 4096, 0).is_err());
        assert!(GridClusterer::<u8>::new(t, 4096, 300).is_err());
        assert!(GridClusterer::<u8>::new(t, 4096, 4096).is_ok());
    }

    /// Brute force: the global cell of every point, counted in a map.
    #[test]
    fn matches_brute_force_and_children_sum_to_parent() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let parent = TileId::containing(121.47, 31.23, 11).unwrap();
        let b = parent.buffered_bounds(200, 4096); // include points outside the tile
        let pts: Vec<(f64, f64, u8)> = (0..20_000)
            .map(|_| {
                (
                    rng.random_range(b.min().x..b.max().x),
                    rng.random_range(b.min().y..b.max().y),
                    rng.random_range(0..5u8),
                )
            })
            .collect();
        let mut g = GridClusterer::new(parent, 4096, 256).unwrap();
        let mut inside = 0u64;
        for &(lon, lat, k) in &pts {
            inside += u64::from(g.add(lon, lat, k).unwrap());
        }
        let clusters = g.finish();
        assert_eq!(clusters.iter().map(|c| c.count).sum::<u64>(), inside);

        // Oracle: global cell (column, row) of each point at zoom 11 with cell 256.
        let world = f64::from(1u32 << 11) * 4096.0;
        let mut oracle: BTreeMap<(u64, u64), (u64, BTreeMap<u8, u64>)> = BTreeMap::new();
        for &(lon, lat, k) in &pts {
            let gx = crate::tile::lon_to_world_x(lon) * world;
            let gy = crate::tile::lat_to_world_y(lat) * world;
            let (tx, ty) = ((gx / 4096.0).floor() as u32, (gy / 4096.0).floor() as u32);
            if (tx, ty) != (parent.x(), parent.y()) {
                continue;
            }
            let e = oracle
                .entry(((gy / 256.0).floor() as u64, (gx / 256.0).floor() as u64))
                .or_default();
            e.0 += 1;
            *e.1.entry(k).or_default() += 1;
        }
        assert_eq!(oracle.len(), clusters.len());
        let row = 16u64 << 11;
        for (c, ((gy, gx), (n, cats))) in clusters.iter().zip(&oracle) {
            assert_eq!(c.id, gy * row + gx);
            assert_eq!(c.count, *n);
            let top = cats
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .unwrap();
            assert_eq!(c.top_category(), Some((top.0, *top.1)));
            // The mean lies in its cell.
            assert!(c.x >= 0.0 && c.x < 4096.0 && c.y >= 0.0 && c.y < 4096.0);
        }

        // The four children count the same points, and each parent cell is four child cells.
        let mut child_total = 0;
        for child in parent.children().unwrap() {
            let mut g = GridClusterer::new(child, 4096, 256).unwrap();
            for &(lon, lat, k) in &pts {
                g.add(lon, lat, k).unwrap();
            }
            child_total += g.finish().iter().map(|c| c.count).sum::<u64>();
        }
        assert_eq!(child_total, inside);
    }
}
