//! What the tiles keep besides the problems and zones of the service: the count pyramid of
//! problems (clusters and heat cells at low zooms), the basemap, the data versions of each
//! layer and the tile cache. Kept current by the commit hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use civmap_domain::{CategoryId, CategoryTable, Status};
use civmap_index::ProblemIndex;
use civmap_store::BasemapFeature;
use civmap_tiles::CountPyramid;
use civmap_tiles::schema;
use geo::{BoundingRect, Rect};
use parking_lot::{Mutex, RwLock};

use super::basemap::Basemap;
use super::cache::TileCache;
use super::layer::TileLayer;
use crate::memory::Zones;
use crate::memory::record::Record;
use crate::privacy::public_lon_lat;

/// The bytes of encoded tiles the cache keeps by default (`limits.tile_cache_bytes`; both forms
/// of a tile count, and browsers' tiles are kept gzipped only).
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// Levels of the count pyramid: the cluster cells of zooms 8–13 (levels 12–17) and the heat
/// cells, never finer than level 18.
pub(crate) const PYRAMID_LEVELS: (u8, u8) = (schema::PROBLEMS_MIN_ZOOM + 4, schema::MAX_TILE_ZOOM);

/// Zone ids with their bounding boxes.
pub(crate) type ZoneBoxes = Arc<Vec<(civmap_domain::ZoneId, Rect<f64>)>>;

/// The count pyramid of problems, the basemap, the data versions and the tile cache.
#[derive(Debug)]
pub struct TileState {
    /// Data versions: problems (and heat), zones, basemap.
    versions: [AtomicU64; 3],
    pub(crate) pyramid: RwLock<CountPyramid<CategoryId>>,
    basemap: RwLock<Arc<Basemap>>,
    /// Zone bounding boxes, rebuilt when the zones version moved.
    zone_boxes: Mutex<Option<(u64, ZoneBoxes)>>,
    pub(crate) cache: TileCache,
}

impl TileState {
    /// Empty state with a tile cache of `cache_bytes`.
    #[must_use]
    pub fn new(cache_bytes: usize) -> Self {
        let (lo, hi) = PYRAMID_LEVELS;
        Self {
            versions: Default::default(),
            pyramid: RwLock::new(
                CountPyramid::new(lo, hi)
                    .unwrap_or_else(|_| unreachable!("the pyramid levels are constants in range")),
            ),
            basemap: RwLock::default(),
            zone_boxes: Mutex::new(None),
            cache: TileCache::new(cache_bytes),
        }
    }

    /// The data version of a layer: it moves with every committed change the layer shows.
    #[must_use]
    pub fn version(&self, layer: TileLayer) -> u64 {
        self.versions[layer.slot()].load(Ordering::Acquire)
    }

    pub(crate) fn bump(&self, layer: TileLayer) {
        self.versions[layer.slot()].fetch_add(1, Ordering::AcqRel);
    }

    /// Recounts the pyramid from every problem in `index` (start, restore, category changes).
    pub fn rebuild_problems(&self, index: &ProblemIndex, table: &CategoryTable) {
        let (lo, hi) = PYRAMID_LEVELS;
        let points = index
            .iter()
            .filter(|r| r.status != Status::Merged)
            .map(|r| {
                let ([lon, lat], _) =
                    public_lon_lat(table, r.category, r.position.lon(), r.position.lat());
                (lon, lat, r.category, r.status.is_open())
            });
        match CountPyramid::from_points(lo, hi, points) {
            Ok(p) => *self.pyramid.write() = p,
            Err(e) => tracing::error!(error = %e, "cannot count the problems for tiles"),
        }
        self.bump(TileLayer::Problems);
    }

    /// Follows one committed problem change (`old` is `None` for a new problem). Called with
    /// the problems lock held, so tiles never see the index and the pyramid disagree for long.
    pub fn problem_changed(&self, old: Option<&Record>, new: &Record, table: &CategoryTable) {
        let mut p = self.pyramid.write();
        if let Some(o) = old.filter(|o| o.status != Status::Merged) {
            let ([lon, lat], _) = public_lon_lat(table, o.category, o.lon, o.lat);
            if !matches!(p.remove(lon, lat, o.category, o.status.is_open()), Ok(true)) {
                tracing::warn!("a changed problem was not counted in the tile pyramid");
            }
        }
        if new.status != Status::Merged {
            let ([lon, lat], _) = public_lon_lat(table, new.category, new.lon, new.lat);
            if let Err(e) = p.add(lon, lat, new.category, new.status.is_open()) {
                tracing::warn!(error = %e, "a problem cannot be counted in the tile pyramid");
            }
        }
        drop(p);
        self.bump(TileLayer::Problems);
    }

    /// Follows a committed change of the zones.
    pub fn zones_changed(&self) {
        self.bump(TileLayer::Zones);
    }

    /// Replaces the basemap.
    pub fn set_basemap(&self, features: Vec<BasemapFeature>) {
        *self.basemap.write() = Arc::new(Basemap::new(features));
        self.bump(TileLayer::Basemap);
    }

    /// The basemap in memory.
    #[must_use]
    pub fn basemap(&self) -> Arc<Basemap> {
        self.basemap.read().clone()
    }

    /// Problems counted for the low-zoom tiles.
    #[must_use]
    pub fn counted(&self) -> u64 {
        self.pyramid.read().len()
    }

    /// Empties the tile cache.
    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    /// The bounding boxes of `zones` (taken from the zones in memory), cached per zones version.
    pub(crate) fn zone_boxes(&self, zones: &Zones) -> ZoneBoxes {
        let v = self.version(TileLayer::Zones);
        let mut g = self.zone_boxes.lock();
        if let Some((have, boxes)) = g.as_ref()
            && *have == v
        {
            return boxes.clone();
        }
        let boxes: Arc<Vec<_>> = Arc::new(
            zones
                .map
                .values()
                .filter_map(|z| z.geometry.bounding_rect().map(|r| (z.id, r)))
                .collect(),
        );
        *g = Some((v, boxes.clone()));
        boxes
    }
}
