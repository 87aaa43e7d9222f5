//! Vector tiles (Mapbox Vector Tile 2.1), their TileJSON and a MapLibre style that draws the
//! whole map from this server alone.
//!
//! | URL | what |
//! |---|---|
//! | `/tiles/{layer}/{z}/{x}/{y}.mvt` | one tile of `problems`, `zones`, `heat` or `basemap` |
//! | `/tiles/{layer}.json` | TileJSON 3.0 of that layer |
//! | `/tiles/style.json` | a MapLibre style of everything, with no external URL |
//!
//! **What the tiles hold** (schema: [`civmap_tiles::schema`]):
//! * `problems`: from zoom [`schema::PROBLEM_POINTS_MIN_ZOOM`] one point per problem with its
//!   public fields only (`id`, `category`, `status`, `severity`); below it, clusters of the
//!   256-unit grid with `count`, `top_category`, `top_count`, read from a [`CountPyramid`] kept
//!   current with every write. Merged problems (duplicates) are left out. Problems of indoor
//!   categories (stairwell clutter, flying-wire charging: [`civmap_domain::Category::indoor`])
//!   are placed at the centre of their 50 m cell ([`generalise`]) in points *and* clusters, so
//!   no household can be located from a tile.
//! * `zones`: zone polygons with `kind` (`three_surroundings`, `road`, `point`, `area`,
//!   `grid`) and `name`.
//! * `heat`: square cells of the same grid (16 × 16 per tile, never finer than zoom-18 tiles,
//!   about 130 m in Shanghai) with `count` and `open`.
//! * `basemap`: the layers `water`, `green`, `buildings`, `roads` (`class`, `name`) and `pois`
//!   (`class`, `name`) from the imported OpenStreetMap data (the store's basemap table).
//!
//! Tiles are the same for every caller (public fields only), so they are cached and served alike.
//!
//! **HTTP**: an empty tile (nothing there, or a zoom below the layer's range) is always
//! `204 No Content`. The body is gzipped when `Accept-Encoding` allows it (`Vary:
//! Accept-Encoding`). The `ETag` is a hash of the tile's bytes (with `-gz` for the gzipped
//! form), so it changes exactly when the tile does and is the same across restarts and replicas;
//! `If-None-Match` answers `304`. `Cache-Control`: `problems`, `heat` and `zones` are `no-cache`
//! (browsers keep them and revalidate each time, a cheap `304` while the data is unchanged);
//! the basemap, which changes only with an import, `max-age=3600`. Bad layers, zooms and tile
//! numbers are 4xx JSON errors naming the field.
//!
//! **Cache**: encoded tiles are kept per (layer, z, x, y) with the data version of the layer
//! they were made from (a counter bumped by every committed write to problems, zones or the
//! basemap), up to [`CACHE_BYTES`]; a new version makes the old entry a miss. A request with
//! `Cache-Control: no-cache` is encoded afresh (and the result stored). `Server-Timing:
//! encode;dur=…` reports the encoding time of a tile made for the request.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use civmap_domain::{CategoryId, CategoryTable, Status, Zone, ZoneKind};
use civmap_index::{BBox, Filter, ProblemIndex, Region, StatusSet};
use civmap_store::BasemapFeature;
use civmap_tiles::schema::{self, LAYER_SPECS, RoadClass};
use civmap_tiles::{
    CountPyramid, DEFAULT_BUFFER, DEFAULT_CLUSTER_CELL, DEFAULT_EXTENT, EncodeOptions, KeyId,
    LayerBuilder, TileBuilder, TileId, Value, ValueId,
};
use geo::{BoundingRect, Geometry, InteriorPoint, LineString, Polygon, Rect};
use parking_lot::{Mutex, RwLock};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{AppError, ErrorBody};
use crate::record::Record;
use crate::state::AppState;

/// The tile layers served under `/tiles/{layer}/…`.
pub const TILE_LAYERS: [&str; 4] = ["problems", "zones", "heat", "basemap"];

/// Edge of the cell that positions of indoor problems are generalised to, metres.
pub const GENERALISE_CELL_M: f64 = crate::record::GENERALISED_CELL_M;

/// The bytes of encoded tiles the cache keeps (uncompressed and gzipped together).
pub const CACHE_BYTES: usize = 64 << 20;

/// Levels of the count pyramid: the cluster cells of zooms 8–13 (levels 12–17) and the heat
/// cells, never finer than level 18.
const PYRAMID_LEVELS: (u8, u8) = (schema::PROBLEMS_MIN_ZOOM + 4, schema::MAX_TILE_ZOOM);

/// The media type of a Mapbox Vector Tile.
pub const MVT_MEDIA_TYPE: &str = "application/vnd.mapbox-vector-tile";

/// Font families for labels. The style has no `glyphs` URL, so MapLibre (>= 5) draws every
/// label with the browser's own fonts, Chinese included, and nothing is downloaded.
pub const LABEL_FONTS: [&str; 6] = [
    "Noto Sans CJK SC",
    "WenQuanYi Micro Hei",
    "Source Han Sans SC",
    "PingFang SC",
    "Microsoft YaHei",
    "sans-serif",
];

/// One of [`TILE_LAYERS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileLayer {
    /// Problem points and clusters.
    Problems,
    /// Zone polygons.
    Zones,
    /// Heat cells.
    Heat,
    /// The OpenStreetMap basemap (several MVT layers).
    Basemap,
}

impl TileLayer {
    /// The layer named `name` in a URL.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "problems" => Self::Problems,
            "zones" => Self::Zones,
            "heat" => Self::Heat,
            "basemap" => Self::Basemap,
            _ => return None,
        })
    }

    /// Its name in URLs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Problems => "problems",
            Self::Zones => "zones",
            Self::Heat => "heat",
            Self::Basemap => "basemap",
        }
    }

    /// The MVT layers its tiles contain (drawing order).
    #[must_use]
    pub fn mvt_layers(self) -> &'static [&'static str] {
        match self {
            Self::Problems => &[schema::PROBLEMS],
            Self::Zones => &[schema::ZONES],
            Self::Heat => &[schema::HEAT],
            Self::Basemap => &[
                schema::WATER,
                schema::GREEN,
                schema::BUILDINGS,
                schema::ROADS,
                schema::POIS,
            ],
        }
    }

    /// Lowest zoom with data.
    #[must_use]
    pub fn min_zoom(self) -> u8 {
        self.mvt_layers()
            .iter()
            .filter_map(|l| schema::layer_spec(l))
            .map(|s| s.min_zoom)
            .min()
            .unwrap_or(0)
    }

    fn slot(self) -> usize {
        match self {
            Self::Problems | Self::Heat => 0,
            Self::Zones => 1,
            Self::Basemap => 2,
        }
    }

    fn cache_control(self) -> &'static str {
        match self {
            Self::Basemap => "public, max-age=3600",
            _ => "public, no-cache",
        }
    }
}

// ---- generalisation ------------------------------------------------------------------------

/// The centre of the [`GENERALISE_CELL_M`] cell containing (`lon`, `lat`): the same position
/// the REST, OGC and Open311 outputs show the public ([`crate::record::generalise_position`]).
#[must_use]
pub fn generalise(lon: f64, lat: f64) -> (f64, f64) {
    let [x, y] = crate::record::generalise_position([lon, lat]);
    (x, y)
}

/// Whether problems of `category` are shown generalised.
fn is_indoor(table: &CategoryTable, category: CategoryId) -> bool {
    table.get(category).is_some_and(|c| c.indoor)
}

/// The position a tile shows for a problem.
fn shown_position(table: &CategoryTable, category: CategoryId, lon: f64, lat: f64) -> (f64, f64) {
    if is_indoor(table, category) {
        generalise(lon, lat)
    } else {
        (lon, lat)
    }
}

// ---- the basemap in memory -----------------------------------------------------------------

/// The basemap features with an R-tree over their bounding boxes.
#[derive(Debug, Default)]
pub struct Basemap {
    features: Vec<BasemapFeature>,
    /// Lowest zoom of each feature.
    min_zoom: Vec<u8>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
    bounds: Option<[f64; 4]>,
}

/// The lowest zoom a basemap feature is drawn at.
fn basemap_min_zoom(f: &BasemapFeature) -> u8 {
    match f.layer.as_str() {
        "roads" => RoadClass::from_osm_highway(&f.class)
            .or(match f.class.as_str() {
                "minor" => Some(RoadClass::Minor),
                _ => None,
            })
            .map_or(schema::MAX_TILE_ZOOM, RoadClass::min_zoom),
        l => schema::layer_spec(l).map_or(schema::MAX_TILE_ZOOM, |s| s.min_zoom),
    }
}

impl Basemap {
    /// Indexes `features`.
    #[must_use]
    pub fn new(features: Vec<BasemapFeature>) -> Self {
        let mut entries = Vec::with_capacity(features.len());
        let mut min_zoom = Vec::with_capacity(features.len());
        let mut bounds: Option<[f64; 4]> = None;
        for (i, f) in features.iter().enumerate() {
            min_zoom.push(basemap_min_zoom(f));
            let Some(r) = f.geometry.bounding_rect() else {
                continue;
            };
            let (a, b) = (r.min(), r.max());
            if ![a.x, a.y, b.x, b.y].iter().all(|v| v.is_finite()) {
                continue;
            }
            bounds = Some(bounds.map_or([a.x, a.y, b.x, b.y], |o| {
                [o[0].min(a.x), o[1].min(a.y), o[2].max(b.x), o[3].max(b.y)]
            }));
            entries.push(GeomWithData::new(
                Rectangle::from_corners([a.x, a.y], [b.x, b.y]),
                i as u32,
            ));
        }
        Self {
            features,
            min_zoom,
            tree: RTree::bulk_load(entries),
            bounds,
        }
    }

    /// Number of features.
    #[must_use]
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// True without features.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// `[min_lon, min_lat, max_lon, max_lat]` of every feature.
    #[must_use]
    pub fn bounds(&self) -> Option<[f64; 4]> {
        self.bounds
    }
}

// ---- the cache -----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CacheKey {
    layer: TileLayer,
    tile: TileId,
}

/// An encoded tile.
#[derive(Debug)]
struct Encoded {
    version: u64,
    raw: Bytes,
    gz: OnceLock<Bytes>,
    hash: u64,
}

impl Encoded {
    fn new(version: u64, raw: Vec<u8>) -> Self {
        let mut h = foldhash::fast::FixedState::with_seed(0x6369_766d_6170).build_hasher();
        h.write(&raw);
        h.write_usize(raw.len());
        Self {
            version,
            raw: raw.into(),
            gz: OnceLock::new(),
            hash: h.finish(),
        }
    }

    fn gz(&self) -> &Bytes {
        self.gz.get_or_init(|| gzip(&self.raw).into())
    }

    fn etag(&self, gz: bool) -> String {
        if gz {
            format!("\"{:016x}-gz\"", self.hash)
        } else {
            format!("\"{:016x}\"", self.hash)
        }
    }

    fn size(&self) -> usize {
        self.raw.len() + self.gz.get().map_or(0, Bytes::len) + 64
    }
}

/// Gzip level of tile bodies. Measured on a dense z14 problems tile (170 KB, zlib-rs): level 1
/// gives 82 KB in 0.5 ms, level 2 63 KB in 1.0 ms, level 6 57 KB in 3.4 ms. Tiles are made per
/// request when not cached, so speed wins.
const GZIP_LEVEL: u32 = 1;

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(raw.len() / 2 + 64),
        flate2::Compression::new(GZIP_LEVEL),
    );
    // Writing into a Vec cannot fail.
    let _ = e.write_all(raw);
    e.finish().unwrap_or_default()
}

#[derive(Debug, Default)]
struct CacheInner {
    map: HashMap<CacheKey, Arc<Encoded>>,
    order: VecDeque<CacheKey>,
    bytes: usize,
}

/// Encoded tiles by (layer, tile), first in first out within [`CACHE_BYTES`].
#[derive(Debug, Default)]
struct TileCache {
    inner: Mutex<CacheInner>,
}

impl TileCache {
    fn get(&self, key: CacheKey, version: u64) -> Option<Arc<Encoded>> {
        let g = self.inner.lock();
        g.map.get(&key).filter(|e| e.version == version).cloned()
    }

    fn put(&self, key: CacheKey, e: Arc<Encoded>) {
        let mut guard = self.inner.lock();
        let g = &mut *guard;
        let size = e.size();
        if let Some(old) = g.map.insert(key, e) {
            g.bytes = g.bytes.saturating_sub(old.size());
        } else {
            g.order.push_back(key);
        }
        g.bytes += size;
        while g.bytes > CACHE_BYTES {
            let Some(k) = g.order.pop_front() else { break };
            if let Some(old) = g.map.remove(&k) {
                g.bytes = g.bytes.saturating_sub(old.size());
            }
        }
    }

    /// Accounts for a gzipped copy added to a cached entry.
    fn grew(&self, by: usize) {
        self.inner.lock().bytes += by;
    }

    fn clear(&self) {
        *self.inner.lock() = CacheInner::default();
    }
}

// ---- the tile state ------------------------------------------------------------------------

/// Zone ids with their bounding boxes.
type ZoneBoxes = Arc<Vec<(civmap_domain::ZoneId, Rect<f64>)>>;

/// What the tile endpoints keep besides the problems and zones of [`AppState`]: the count
/// pyramid of problems, the basemap, the data versions and the tile cache.
#[derive(Debug)]
pub struct TileState {
    /// Data versions: problems (and heat), zones, basemap.
    versions: [AtomicU64; 3],
    pyramid: RwLock<CountPyramid<CategoryId>>,
    basemap: RwLock<Arc<Basemap>>,
    /// Zone bounding boxes, rebuilt when the zones version moved.
    zone_boxes: Mutex<Option<(u64, ZoneBoxes)>>,
    cache: TileCache,
}

impl Default for TileState {
    fn default() -> Self {
        let (lo, hi) = PYRAMID_LEVELS;
        Self {
            versions: Default::default(),
            pyramid: RwLock::new(
                CountPyramid::new(lo, hi)
                    .unwrap_or_else(|_| unreachable!("the pyramid levels are constants in range")),
            ),
            basemap: RwLock::default(),
            zone_boxes: Mutex::new(None),
            cache: TileCache::default(),
        }
    }
}

impl TileState {
    /// The data version of a layer: it moves with every committed change the layer shows.
    #[must_use]
    pub fn version(&self, layer: TileLayer) -> u64 {
        self.versions[layer.slot()].load(Ordering::Acquire)
    }

    fn bump(&self, layer: TileLayer) {
        self.versions[layer.slot()].fetch_add(1, Ordering::AcqRel);
    }

    /// Recounts the pyramid from every problem in `index` (start, restore, category changes).
    pub fn rebuild_problems(&self, index: &ProblemIndex, table: &CategoryTable) {
        let (lo, hi) = PYRAMID_LEVELS;
        let points = index
            .iter()
            .filter(|r| r.status != Status::Merged)
            .map(|r| {
                let (lon, lat) =
                    shown_position(table, r.category, r.position.lon(), r.position.lat());
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
            let (lon, lat) = shown_position(table, o.category, o.lon, o.lat);
            if !matches!(p.remove(lon, lat, o.category, o.status.is_open()), Ok(true)) {
                tracing::warn!("a changed problem was not counted in the tile pyramid");
            }
        }
        if new.status != Status::Merged {
            let (lon, lat) = shown_position(table, new.category, new.lon, new.lat);
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

    fn zone_boxes(&self, state: &AppState) -> ZoneBoxes {
        let v = self.version(TileLayer::Zones);
        let mut g = self.zone_boxes.lock();
        if let Some((have, boxes)) = g.as_ref()
            && *have == v
        {
            return boxes.clone();
        }
        let zones = state.zones();
        let boxes: Arc<Vec<_>> = Arc::new(
            zones
                .map
                .values()
                .filter_map(|z| z.geometry.bounding_rect().map(|r| (z.id, r)))
                .collect(),
        );
        drop(zones);
        *g = Some((v, boxes.clone()));
        boxes
    }
}

// ---- encoding ------------------------------------------------------------------------------

fn options() -> EncodeOptions {
    EncodeOptions::default()
}

fn tile_error(e: &civmap_tiles::Error) -> AppError {
    AppError::Internal(format!("tile encoding: {e}"))
}

/// The lon/lat box of `tile` with its buffer, widened by `pad` degrees, for index queries.
fn query_box(tile: TileId, pad: f64) -> Option<BBox> {
    let r = tile.buffered_bounds(DEFAULT_BUFFER, DEFAULT_EXTENT);
    BBox::new(
        (r.min().x - pad).max(-180.0),
        (r.min().y - pad).max(-90.0),
        (r.max().x + pad).min(180.0),
        (r.max().y + pad).min(90.0),
    )
    .ok()
}

/// Statuses shown in tiles: all but merged.
fn shown_statuses() -> Filter {
    Filter::default().with_statuses(StatusSet::of(
        Status::ALL.into_iter().filter(|s| *s != Status::Merged),
    ))
}

/// The `problems` layer of `tile` as single points (zoom >= [`schema::PROBLEM_POINTS_MIN_ZOOM`]):
/// every problem of `index` within the tile and its buffer, merged ones left out, indoor ones
/// generalised; properties `category`, `status`, `severity`, and from
/// [`schema::PROBLEM_IDS_MIN_ZOOM`] the problem's `id` (and a feature id).
pub fn problem_points(
    index: &ProblemIndex,
    table: &CategoryTable,
    tile: TileId,
) -> Result<LayerBuilder, civmap_tiles::Error> {
    let mut layer = LayerBuilder::new(schema::PROBLEMS, tile, options())?;
    // Generalised positions move by up to ~36 m: look that much further.
    let pad = GENERALISE_CELL_M / civmap_index::METRES_PER_DEGREE * 2.0;
    let Some(bbox) = query_box(tile, pad) else {
        return Ok(layer);
    };
    let keys: [KeyId; 3] = [
        layer.key_id("category"),
        layer.key_id("status"),
        layer.key_id("severity"),
    ];
    let id_key = (tile.z() >= schema::PROBLEM_IDS_MIN_ZOOM).then(|| layer.key_id("id"));
    let mut categories: Vec<Option<(ValueId, bool)>> = vec![None; table.len() + 1];
    let mut statuses: [Option<ValueId>; 7] = [None; 7];
    let mut severities: [Option<ValueId>; 5] = [None; 5];
    let mut failure = None;
    let mut id_text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let (lo, hi) = (
        -f64::from(DEFAULT_BUFFER),
        f64::from(DEFAULT_EXTENT + DEFAULT_BUFFER),
    );
    let filter = shown_statuses();
    let result = index.for_each(&Region::BBox(bbox), &filter, |r| {
        let c = usize::from(r.category.0);
        if c >= categories.len() {
            categories.resize(c + 1, None);
        }
        let (cat, indoor) = *categories[c].get_or_insert_with(|| {
            let code = table.get(r.category).map_or("?", |c| c.code.as_str());
            (
                layer.value_id(Value::from(code)),
                is_indoor(table, r.category),
            )
        });
        let status = *statuses[r.status as usize]
            .get_or_insert_with(|| layer.value_id(Value::from(r.status.as_str())));
        let severity = *severities[(r.severity as usize).min(4)]
            .get_or_insert_with(|| layer.value_id(Value::UInt(r.severity as u64)));
        let (mut lon, mut lat) = (r.position.lon(), r.position.lat());
        if indoor {
            (lon, lat) = generalise(lon, lat);
        }
        let mut tags = [
            (keys[0], cat),
            (keys[1], status),
            (keys[2], severity),
            (keys[0], cat),
        ];
        let added = if let Some(id_key) = id_key {
            // The id string is made only for points that are kept: an interned value no
            // feature uses would still take its bytes in the layer.
            let (x, y) = layer.projection().project(lon, lat);
            if !(x >= lo && x <= hi && y >= lo && y <= hi) {
                return;
            }
            let id = layer.unique_string_value_id(r.id.0.hyphenated().encode_lower(&mut id_text));
            tags[3] = (id_key, id);
            layer.add_point_tagged(Some(r.id.0.as_u64_pair().1), lon, lat, &tags)
        } else {
            layer.add_point_tagged(None, lon, lat, &tags[..3])
        };
        if let Err(e) = added {
            failure.get_or_insert(e);
        }
    });
    if let Err(e) = result {
        tracing::warn!(error = %e, "problem tile query");
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(layer),
    }
}

/// The `problems` layer of `tile` as clusters (zoom < [`schema::PROBLEM_POINTS_MIN_ZOOM`]): the
/// pyramid's cells of the 256-unit grid (what [`civmap_tiles::GridClusterer`] would make from
/// the points) at the mean position of their problems, with `count`, `top_category` (ties:
/// the category listed first) and `top_count`.
pub fn problem_clusters(
    pyramid: &CountPyramid<CategoryId>,
    table: &CategoryTable,
    tile: TileId,
) -> Result<LayerBuilder, civmap_tiles::Error> {
    let mut layer = LayerBuilder::new(schema::PROBLEMS, tile, options())?;
    let sub = (DEFAULT_EXTENT / DEFAULT_CLUSTER_CELL).trailing_zeros() as u8;
    let level = tile.z() + sub;
    if level < pyramid.min_level() || level > pyramid.max_level() {
        return Ok(layer);
    }
    let scale = f64::from(1u32 << tile.z());
    let e = f64::from(DEFAULT_EXTENT);
    let (tx, ty) = (f64::from(tile.x()), f64::from(tile.y()));
    let world_row = 1u64 << level;
    let keys = [
        layer.key_id("count"),
        layer.key_id("top_category"),
        layer.key_id("top_count"),
    ];
    // Category values interned once per tile.
    let mut names: Vec<Option<ValueId>> = vec![None; table.len() + 1];
    for (gx, gy, c) in pyramid.cells_in_tile(tile, level)? {
        let (mx, my) = c.mean_world();
        let mut tags = [(keys[0], layer.value_id(Value::UInt(c.count))); 3];
        // The largest count, ties to the smaller category id (as the clusterer sorts them).
        let top = c
            .categories
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)));
        let n = if let Some(&(k, n)) = top {
            let i = usize::from(k.0);
            if i >= names.len() {
                names.resize(i + 1, None);
            }
            let name = *names[i].get_or_insert_with(|| {
                layer.value_id(Value::from(table.get(k).map_or("?", |c| c.code.as_str())))
            });
            tags[1] = (keys[1], name);
            tags[2] = (keys[2], layer.value_id(Value::UInt(n)));
            3
        } else {
            1
        };
        layer.add_tile_point_tagged(
            Some(u64::from(gy) * world_row + u64::from(gx)),
            (mx * scale - tx) * e,
            (my * scale - ty) * e,
            &tags[..n],
        )?;
    }
    Ok(layer)
}

/// The `heat` layer of `tile`: the pyramid's cells (16 × 16 per tile, at most level
/// [`schema::MAX_TILE_ZOOM`]) as squares with `count` and `open`.
pub fn heat_cells(
    pyramid: &CountPyramid<CategoryId>,
    tile: TileId,
) -> Result<LayerBuilder, civmap_tiles::Error> {
    let mut layer = LayerBuilder::new(schema::HEAT, tile, options())?;
    let level = (tile.z() + 4).min(pyramid.max_level());
    if level < pyramid.min_level() || level < tile.z() {
        return Ok(layer);
    }
    let sub = level - tile.z();
    let size = f64::from(DEFAULT_EXTENT >> sub);
    let (x0, y0) = (tile.x() << sub, tile.y() << sub);
    let world_row = 1u64 << level;
    for (gx, gy, c) in pyramid.cells_in_tile(tile, level)? {
        let x = f64::from(gx - x0) * size;
        let y = f64::from(gy - y0) * size;
        layer.add_tile_rect(
            Some(u64::from(gy) * world_row + u64::from(gx)),
            [x, y],
            [x + size, y + size],
            &[
                ("count", Value::UInt(c.count)),
                ("open", Value::UInt(c.open)),
            ],
        )?;
    }
    Ok(layer)
}

/// The `kind` value of a zone in tiles.
#[must_use]
pub fn zone_kind_name(kind: ZoneKind) -> &'static str {
    match kind {
        ZoneKind::Surroundings => "three_surroundings",
        ZoneKind::Road => "road",
        ZoneKind::Point => "point",
        ZoneKind::Area => "area",
        ZoneKind::GridCell => "grid",
    }
}

/// The `zones` layer of `tile` from `zones` (with their bounding boxes).
pub fn zone_polygons<'z>(
    zones: impl IntoIterator<Item = &'z Zone>,
    tile: TileId,
) -> Result<LayerBuilder, civmap_tiles::Error> {
    let mut layer = LayerBuilder::new(schema::ZONES, tile, options())?;
    for z in zones {
        layer.add_feature(
            Some(z.id.0.as_u64_pair().1),
            &Geometry::MultiPolygon(z.geometry.clone()),
            &[
                ("kind", Value::from(zone_kind_name(z.kind))),
                ("name", Value::from(z.name.as_str())),
            ],
        )?;
    }
    Ok(layer)
}

fn intersects(r: &Rect<f64>, b: &Rect<f64>) -> bool {
    r.min().x <= b.max().x
        && r.max().x >= b.min().x
        && r.min().y <= b.max().y
        && r.max().y >= b.min().y
}

/// The basemap layers of `tile`, in drawing order (empty ones included).
pub fn basemap_layers(
    basemap: &Basemap,
    tile: TileId,
) -> Result<Vec<LayerBuilder>, civmap_tiles::Error> {
    let names = TileLayer::Basemap.mvt_layers();
    let mut layers = names
        .iter()
        .map(|n| LayerBuilder::new(*n, tile, options()))
        .collect::<Result<Vec<_>, _>>()?;
    let b = tile.buffered_bounds(DEFAULT_BUFFER, DEFAULT_EXTENT);
    let env = AABB::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]);
    let mut hits: Vec<u32> = basemap
        .tree
        .locate_in_envelope_intersecting(&env)
        .map(|g| g.data)
        .collect();
    // Import order: the same tile always lists its features alike.
    hits.sort_unstable();
    for i in hits {
        let i = i as usize;
        if basemap.min_zoom[i] > tile.z() {
            continue;
        }
        let f = &basemap.features[i];
        let Some(l) = names.iter().position(|n| *n == f.layer) else {
            continue;
        };
        let mut props: Vec<(&str, Value<'_>)> = Vec::with_capacity(2);
        if f.layer != schema::BUILDINGS {
            props.push(("class", Value::from(f.class.as_str())));
        }
        if let Some(n) = &f.name {
            props.push(("name", Value::from(n.as_str())));
        }
        layers[l].add_feature(Some(i as u64), &f.geometry, &props)?;
    }
    Ok(layers)
}

/// Encodes one tile of `layer` from the state (uncompressed; empty bytes for an empty tile).
pub fn encode(state: &AppState, layer: TileLayer, tile: TileId) -> Result<Vec<u8>, AppError> {
    let mut out = TileBuilder::new();
    if tile.z() < layer.min_zoom() {
        return Ok(out.finish());
    }
    match layer {
        TileLayer::Problems => {
            let table = state.categories();
            let l = if tile.z() >= schema::PROBLEM_POINTS_MIN_ZOOM {
                problem_points(&state.problems().index, &table, tile)
            } else {
                problem_clusters(&state.tiles().pyramid.read(), &table, tile)
            }
            .map_err(|e| tile_error(&e))?;
            out.add_layer(&l).map_err(|e| tile_error(&e))?;
        }
        TileLayer::Heat => {
            let l = heat_cells(&state.tiles().pyramid.read(), tile).map_err(|e| tile_error(&e))?;
            out.add_layer(&l).map_err(|e| tile_error(&e))?;
        }
        TileLayer::Zones => {
            let boxes = state.tiles().zone_boxes(state);
            let b = tile.buffered_bounds(DEFAULT_BUFFER, DEFAULT_EXTENT);
            let zones = state.zones();
            let hits = boxes
                .iter()
                .filter(|(_, r)| intersects(r, &b))
                .filter_map(|(id, _)| zones.map.get(id));
            let l = zone_polygons(hits, tile).map_err(|e| tile_error(&e))?;
            drop(zones);
            out.add_layer(&l).map_err(|e| tile_error(&e))?;
        }
        TileLayer::Basemap => {
            let basemap = state.tiles().basemap();
            for l in basemap_layers(&basemap, tile).map_err(|e| tile_error(&e))? {
                out.add_layer(&l).map_err(|e| tile_error(&e))?;
            }
        }
    }
    Ok(out.finish())
}

// ---- the basemap from OpenStreetMap --------------------------------------------------------

/// Tags whose value classifies a named point of interest, in order of preference.
const POI_KEYS: [&str; 8] = [
    "amenity",
    "shop",
    "tourism",
    "leisure",
    "healthcare",
    "office",
    "historic",
    "railway",
];

/// `railway=*` values that are places people name (the rest are track and signals).
const RAILWAY_POIS: [&str; 3] = ["station", "halt", "subway_entrance"];

fn osm_name(tags: &civmap_geodata::osm::Tags) -> Option<String> {
    tags.get("name")
        .or_else(|| tags.get("name:zh"))
        .or_else(|| tags.get("name:en"))
        .map(str::to_owned)
}

fn poi_class(tags: &civmap_geodata::osm::Tags) -> Option<String> {
    POI_KEYS.iter().find_map(|k| {
        let v = tags.get(k)?;
        if *k == "railway" && !RAILWAY_POIS.contains(&v) {
            return None;
        }
        (v != "no" && v != "yes").then(|| v.to_owned())
    })
}

/// The basemap features of an OpenStreetMap extract: every drawable `highway=*` way (named or
/// not) as `roads` by [`RoadClass`], the extractor's buildings, water and green areas, and every
/// named node or area with an `amenity`, `shop`, `tourism`, `leisure`, `healthcare`, `office`,
/// `historic` or station tag as a `pois` point (areas at an interior point).
#[must_use]
pub fn basemap_from_osm(
    data: &civmap_geodata::osm::OsmData,
    ex: &civmap_geodata::extract::Extract,
) -> Vec<BasemapFeature> {
    use civmap_geodata::extract::Layer;
    let mut out = Vec::new();
    for f in &ex.basemap {
        let layer = match f.layer {
            Layer::Water => schema::WATER,
            Layer::Green => schema::GREEN,
            Layer::Building => schema::BUILDINGS,
            Layer::Admin => continue,
        };
        out.push(BasemapFeature {
            layer: layer.to_owned(),
            class: f.class.clone(),
            name: f.name.clone(),
            geometry: f.geometry.clone(),
            external_id: Some(f.external_id.clone()),
        });
    }
    for w in &data.ways {
        let Some(class) = w.tags.get("highway").and_then(RoadClass::from_osm_highway) else {
            continue;
        };
        if w.tags.has("area", "yes") {
            continue;
        }
        let Some(coords) = data.way_coords(w).filter(|c| c.len() >= 2) else {
            continue;
        };
        out.push(BasemapFeature {
            layer: schema::ROADS.to_owned(),
            class: class.as_str().to_owned(),
            name: osm_name(&w.tags),
            geometry: LineString::from(coords).into(),
            external_id: Some(format!("osm:way/{}", w.id)),
        });
    }
    for n in data.nodes.iter().filter(|n| !n.tags.is_empty()) {
        if let (Some(name), Some(class)) = (osm_name(&n.tags), poi_class(&n.tags)) {
            out.push(BasemapFeature {
                layer: schema::POIS.to_owned(),
                class,
                name: Some(name),
                geometry: geo::Point::new(n.lon, n.lat).into(),
                external_id: Some(format!("osm:node/{}", n.id)),
            });
        }
    }
    // Named areas (a school's grounds, a park): one label point inside.
    for w in data.ways.iter().filter(|w| w.is_closed()) {
        let (Some(name), Some(class)) = (osm_name(&w.tags), poi_class(&w.tags)) else {
            continue;
        };
        let Some(coords) = data.way_coords(w).filter(|c| c.len() >= 4) else {
            continue;
        };
        let Some(p) = Polygon::new(LineString::from(coords), vec![]).interior_point() else {
            continue;
        };
        out.push(BasemapFeature {
            layer: schema::POIS.to_owned(),
            class,
            name: Some(name),
            geometry: p.into(),
            external_id: Some(format!("osm:way/{}", w.id)),
        });
    }
    out
}

// ---- HTTP ----------------------------------------------------------------------------------

#[derive(OpenApi)]
#[openapi(
    paths(tile, tilejson, style),
    tags((name = "tiles", description = "Mapbox Vector Tiles of problems, zones, heat cells and the OpenStreetMap basemap; TileJSON; a MapLibre style needing nothing from the internet.")),
    components(schemas(ErrorBody))
)]
struct TilesDoc;

/// The tile routes. The paths end in `.mvt` / `.json`, which the router cannot match inside a
/// segment, so the handlers are routed on whole segments and the documented paths come from
/// the same handlers' declarations.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(TilesDoc::openapi())
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tile))
        .route("/tiles/style.json", get(style))
        .route("/tiles/{name}", get(tilejson))
}

/// Whether encoding this tile is worth moving to a blocking thread: point tiles of zooms 14
/// and 15 (thousands of points in a dense street), zone and basemap polygons. Clusters and
/// heat cells come from the pyramid in microseconds; zoom 16 and up hold few points.
fn is_heavy(layer: TileLayer, tile: TileId) -> bool {
    match layer {
        TileLayer::Problems => {
            (schema::PROBLEM_POINTS_MIN_ZOOM..schema::PROBLEM_IDS_MIN_ZOOM).contains(&tile.z())
        }
        TileLayer::Heat => false,
        TileLayer::Zones | TileLayer::Basemap => true,
    }
}

/// Whether the client takes gzip (`Accept-Encoding: gzip` or `*`, with q > 0).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q > 0.0
        })
}

/// Whether the request asks not to be served from a cache.
fn no_cache(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-cache"))
        || headers
            .get(header::PRAGMA)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("no-cache"))
}

/// Whether `If-None-Match` names this tile's content (in either encoding).
fn not_modified(headers: &HeaderMap, hash: u64) -> bool {
    let plain = format!("{hash:016x}");
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|t| t == "*" || t == plain || t.strip_suffix("-gz") == Some(plain.as_str()))
}

fn parse_coord<T: std::str::FromStr>(field: &str, s: &str) -> Result<T, AppError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 10 {
        return Err(AppError::bad_param(
            field,
            format!("{s:?} is not a tile number (0, 1, 2, ...)"),
        ));
    }
    s.parse()
        .map_err(|_| AppError::bad_param(field, format!("{s:?} is out of range")))
}

/// Checks and parses `/tiles/{layer}/{z}/{x}/{y}.mvt`.
fn parse_tile(layer: &str, z: &str, x: &str, y: &str) -> Result<(TileLayer, TileId), AppError> {
    let layer = TileLayer::parse(layer).ok_or_else(|| {
        AppError::NotFound(format!(
            "no tile layer {layer:?}; the layers are {}",
            TILE_LAYERS.join(", ")
        ))
    })?;
    let y = y
        .strip_suffix(".mvt")
        .ok_or_else(|| AppError::bad_param("y", format!("{y:?}: tiles are named {{y}}.mvt")))?;
    let z: u8 = parse_coord("z", z)?;
    let x: u32 = parse_coord("x", x)?;
    let y: u32 = parse_coord("y", y)?;
    if z > schema::MAX_TILE_ZOOM {
        return Err(AppError::invalid(
            "z",
            format!(
                "{z} is above the highest tile zoom {} (clients over-zoom beyond it)",
                schema::MAX_TILE_ZOOM
            ),
        ));
    }
    let n = 1u64 << z;
    for (field, v) in [("x", x), ("y", y)] {
        if u64::from(v) >= n {
            return Err(AppError::invalid(
                field,
                format!("{v} is outside 0..{n} at zoom {z}"),
            ));
        }
    }
    let tile = TileId::new(z, x, y).map_err(|e| AppError::invalid("z", e))?;
    Ok((layer, tile))
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// One tile.
#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}.mvt", tag = "tiles",
    summary = "A Mapbox Vector Tile of one layer",
    description = "`problems` (points from zoom 14, public fields only, indoor categories generalised to a 50 m cell; clusters with counts below), `zones`, `heat` (cells with `count` and `open`) or `basemap` (layers water, green, buildings, roads, pois from OpenStreetMap). Gzipped when `Accept-Encoding` allows; `ETag` changes exactly when the tile does (`If-None-Match` gives 304). An empty tile is `204 No Content`.",
    params(
        ("layer" = String, Path, description = "`problems`, `zones`, `heat` or `basemap`"),
        ("z" = u8, Path, description = "Zoom, 0..=18"),
        ("x" = u32, Path, description = "Column, 0..2^z"),
        ("y" = u32, Path, description = "Row, 0..2^z (north to south), followed by `.mvt`"),
    ),
    responses(
        (status = 200, description = "The tile", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "An empty tile"),
        (status = 304, description = "Unchanged since the `ETag` given in `If-None-Match`"),
        (status = 400, description = "z, x or y is not a number, or the name lacks `.mvt`", body = ErrorBody),
        (status = 404, description = "No such layer", body = ErrorBody),
        (status = 422, description = "z above 18, or x or y outside the zoom's range", body = ErrorBody),
    ))]
async fn tile(
    State(state): State<AppState>,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (layer, tile) = parse_tile(&layer, &z, &x, &y)?;
    let tiles = state.tiles();
    let key = CacheKey { layer, tile };
    // The version is read before the data: a tile made while a write lands is stored under
    // the older version and so replaced on the next request.
    let version = tiles.version(layer);
    let cached = if no_cache(&headers) {
        None
    } else {
        tiles.cache.get(key, version)
    };
    let gz_wanted = accepts_gzip(&headers);
    let mut timing = None;
    let encoded = if let Some(e) = cached {
        e
    } else {
        let st = state.clone();
        let make = move || -> Result<(Encoded, Duration, Duration), AppError> {
            let t0 = Instant::now();
            let e = Encoded::new(version, encode(&st, layer, tile)?);
            let t1 = Instant::now();
            if gz_wanted && !e.raw.is_empty() {
                e.gz();
            }
            Ok((e, t1 - t0, t1.elapsed()))
        };
        // Big encodes (dense point tiles, polygons) are CPU work of a millisecond or more: off
        // the async workers' hands. Small ones cost less than the hand-over.
        let (e, enc, zip) = if is_heavy(layer, tile) {
            tokio::task::spawn_blocking(make)
                .await
                .map_err(|e| AppError::Internal(format!("tile task: {e}")))??
        } else {
            make()?
        };
        timing = Some((enc, zip));
        let e = Arc::new(e);
        tiles.cache.put(key, e.clone());
        e
    };
    let gz = accepts_gzip(&headers) && !encoded.raw.is_empty();
    let mut h = HeaderMap::new();
    h.insert(header::ETAG, header_value(&encoded.etag(gz)));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(layer.cache_control()),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some((enc, zip)) = timing {
        let mut s = String::new();
        let _ = write!(
            s,
            "encode;dur={:.3}, gzip;dur={:.3}",
            enc.as_secs_f64() * 1000.0,
            zip.as_secs_f64() * 1000.0
        );
        h.insert("server-timing", header_value(&s));
    }
    if not_modified(&headers, encoded.hash) {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    if encoded.raw.is_empty() {
        return Ok((StatusCode::NO_CONTENT, h).into_response());
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(MVT_MEDIA_TYPE),
    );
    let body = if gz {
        let had = encoded.gz.get().is_some();
        let b = encoded.gz().clone();
        if !had {
            tiles.cache.grew(b.len());
        }
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        b
    } else {
        encoded.raw.clone()
    };
    Ok((StatusCode::OK, h, Body::from(body)).into_response())
}

/// `[min_lon, min_lat, max_lon, max_lat]` of what a layer shows, when known.
fn layer_bounds(state: &AppState, layer: TileLayer) -> Option<[f64; 4]> {
    match layer {
        TileLayer::Problems | TileLayer::Heat => state
            .problems()
            .index
            .bounds()
            .map(|b| [b.min_lon(), b.min_lat(), b.max_lon(), b.max_lat()]),
        TileLayer::Zones => {
            let zones = state.zones();
            zones
                .map
                .values()
                .filter_map(|z| z.geometry.bounding_rect())
                .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
                .reduce(|a, b| {
                    [
                        a[0].min(b[0]),
                        a[1].min(b[1]),
                        a[2].max(b[2]),
                        a[3].max(b[3]),
                    ]
                })
        }
        TileLayer::Basemap => state.tiles().basemap().bounds(),
    }
}

const WORLD_BOUNDS: [f64; 4] = [-180.0, -85.051_128_8, 180.0, 85.051_128_8];

/// The bounds and centre of everything the server shows (the basemap first: it frames the
/// street office's area).
fn data_bounds(state: &AppState) -> [f64; 4] {
    [TileLayer::Basemap, TileLayer::Zones, TileLayer::Problems]
        .into_iter()
        .find_map(|l| layer_bounds(state, l))
        .unwrap_or(WORLD_BOUNDS)
}

fn tiles_url(base: &str, layer: TileLayer) -> String {
    format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", layer.as_str())
}

const ATTRIBUTION: &str =
    "© <a href=\"https://www.openstreetmap.org/copyright\">OpenStreetMap</a> contributors";

/// TileJSON 3.0.0 of one layer.
fn tilejson_of(state: &AppState, base: &str, layer: TileLayer) -> serde_json::Value {
    let bounds = layer_bounds(state, layer).unwrap_or(WORLD_BOUNDS);
    let centre = [
        f64::midpoint(bounds[0], bounds[2]),
        f64::midpoint(bounds[1], bounds[3]),
    ];
    let vector_layers: Vec<serde_json::Value> = layer
        .mvt_layers()
        .iter()
        .filter_map(|n| schema::layer_spec(n))
        .map(|s| {
            let fields: serde_json::Map<String, serde_json::Value> = s
                .fields
                .iter()
                .map(|(k, t)| ((*k).to_owned(), serde_json::Value::from(*t)))
                .collect();
            serde_json::json!({
                "id": s.id,
                "description": s.description,
                "minzoom": s.min_zoom,
                "maxzoom": s.max_zoom,
                "fields": fields,
            })
        })
        .collect();
    let attribution = if layer == TileLayer::Basemap {
        ATTRIBUTION
    } else {
        "civmap"
    };
    serde_json::json!({
        "tilejson": "3.0.0",
        "name": format!("civmap {}", layer.as_str()),
        "description": layer
            .mvt_layers()
            .iter()
            .filter_map(|n| schema::layer_spec(n))
            .map(|s| s.description)
            .collect::<Vec<_>>()
            .join("; "),
        "version": "1.0.0",
        "attribution": attribution,
        "scheme": "xyz",
        "tiles": [tiles_url(base, layer)],
        "minzoom": layer.min_zoom(),
        "maxzoom": schema::MAX_TILE_ZOOM,
        "bounds": bounds,
        "center": [centre[0], centre[1], 14],
        "vector_layers": vector_layers,
    })
}

fn json_response(v: &serde_json::Value, cache: &'static str) -> Response {
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    (StatusCode::OK, h, v.to_string()).into_response()
}

/// TileJSON of a layer.
#[utoipa::path(get, path = "/tiles/{layer}.json", tag = "tiles",
    summary = "TileJSON 3.0 of one tile layer",
    params(("layer" = String, Path, description = "`problems`, `zones`, `heat` or `basemap`")),
    responses(
        (status = 200, description = "TileJSON with absolute tile URLs, bounds and `vector_layers`", content_type = "application/json"),
        (status = 404, description = "No such layer", body = ErrorBody),
    ))]
async fn tilejson(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    match name.strip_suffix(".json").and_then(TileLayer::parse) {
        Some(layer) => {
            let base = crate::api::base_url(&state, &headers);
            json_response(&tilejson_of(&state, &base, layer), "public, no-cache")
        }
        None => AppError::NotFound(format!(
            "no tile layer {name:?}; TileJSON is at /tiles/{{{}}}.json and the style at /tiles/style.json",
            TILE_LAYERS.join(",")
        ))
        .into_response(),
    }
}

/// The MapLibre style.
#[utoipa::path(get, path = "/tiles/style.json", tag = "tiles",
    summary = "A MapLibre GL style of the whole map, with no external URL",
    description = "Sources are this server's tiles; labels (Chinese road and place names) are drawn by the browser from its own fonts: the style has no `glyphs` or `sprite` URL (MapLibre GL JS >= 5 renders text locally then).",
    responses((status = 200, description = "Style specification v8", content_type = "application/json")))]
async fn style(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = crate::api::base_url(&state, &headers);
    json_response(&style_json(&state, &base), "public, no-cache")
}

/// The MapLibre style (v8) drawing every layer from this server's tiles.
#[must_use]
pub fn style_json(state: &AppState, base: &str) -> serde_json::Value {
    use serde_json::json;
    let b = data_bounds(state);
    let centre = [f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3])];
    let source = |layer: TileLayer| {
        let attribution = if layer == TileLayer::Basemap {
            ATTRIBUTION
        } else {
            "civmap"
        };
        json!({
            "type": "vector",
            "tiles": [tiles_url(base, layer)],
            "minzoom": layer.min_zoom(),
            "maxzoom": schema::MAX_TILE_ZOOM,
            "attribution": attribution,
        })
    };
    let layers = style_layers();
    json!({
        "version": 8,
        "name": "civmap",
        "metadata": {"civmap:labels": "drawn from the browser's fonts; no glyphs URL"},
        "center": centre,
        "zoom": 14,
        "sources": {
            "civmap-basemap": source(TileLayer::Basemap),
            "civmap-zones": source(TileLayer::Zones),
            "civmap-heat": source(TileLayer::Heat),
            "civmap-problems": source(TileLayer::Problems),
        },
        "layers": layers,
    })
}

/// The style's layers: basemap, zones, heat, labels, problems (bottom first).
fn style_layers() -> serde_json::Value {
    use serde_json::json;
    let fonts = LABEL_FONTS;
    let road_color = json!([
        "match",
        ["get", "class"],
        ["motorway", "trunk"],
        "#f9b29c",
        "primary",
        "#fcd6a4",
        ["secondary", "tertiary"],
        "#f7fabf",
        "path",
        "#e0d6cc",
        "#ffffff"
    ]);
    let road_width = json!([
        "interpolate",
        ["exponential", 1.6],
        ["zoom"],
        10,
        [
            "match",
            ["get", "class"],
            ["motorway", "trunk", "primary"],
            1.5,
            0.5
        ],
        18,
        [
            "match",
            ["get", "class"],
            "path",
            3,
            ["motorway", "trunk", "primary"],
            22,
            ["secondary", "tertiary"],
            18,
            12
        ]
    ]);
    let layers = json!([
        {"id": "background", "type": "background", "paint": {"background-color": "#f2efe9"}},
        {"id": "water", "type": "fill", "source": "civmap-basemap", "source-layer": "water",
         "filter": ["==", ["geometry-type"], "Polygon"], "paint": {"fill-color": "#aad3df"}},
        {"id": "waterway", "type": "line", "source": "civmap-basemap", "source-layer": "water",
         "filter": ["==", ["geometry-type"], "LineString"],
         "paint": {"line-color": "#aad3df", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1, 18, 6]}},
        {"id": "green", "type": "fill", "source": "civmap-basemap", "source-layer": "green",
         "paint": {"fill-color": "#cdebb0", "fill-opacity": 0.9}},
        {"id": "buildings", "type": "fill", "source": "civmap-basemap", "source-layer": "buildings",
         "paint": {"fill-color": "#d9d0c9", "fill-outline-color": "#c4b6ab"}},
        {"id": "roads-casing", "type": "line", "source": "civmap-basemap", "source-layer": "roads",
         "filter": ["!=", ["get", "class"], "path"],
         "layout": {"line-cap": "round", "line-join": "round"},
         "paint": {"line-color": "#bbb", "line-gap-width": road_width, "line-width": 1}},
        {"id": "roads", "type": "line", "source": "civmap-basemap", "source-layer": "roads",
         "layout": {"line-cap": "round", "line-join": "round"},
         "paint": {"line-color": road_color, "line-width": road_width}},
        {"id": "tiles-zones-fill", "type": "fill", "source": "civmap-zones", "source-layer": "zones",
         "filter": ["!=", ["get", "kind"], "grid"],
         "paint": {"fill-color": ["match", ["get", "kind"], "three_surroundings", "#7b3fa0", "road", "#1f78b4", "point", "#e31a1c", "#33a02c"], "fill-opacity": 0.08}},
        {"id": "tiles-zones-line", "type": "line", "source": "civmap-zones", "source-layer": "zones",
         "paint": {"line-color": ["match", ["get", "kind"], "three_surroundings", "#7b3fa0", "road", "#1f78b4", "point", "#e31a1c", "grid", "#999999", "#33a02c"],
                   "line-width": ["match", ["get", "kind"], "grid", 0.5, 1.5],
                   "line-opacity": ["match", ["get", "kind"], "grid", 0.4, 0.8]}},
        {"id": "tiles-heat", "type": "fill", "source": "civmap-heat", "source-layer": "heat",
         "paint": {"fill-color": ["interpolate", ["linear"], ["get", "open"], 0, "#ffffb2", 5, "#fecc5c", 20, "#fd8d3c", 60, "#f03b20", 200, "#bd0026"],
                   "fill-opacity": ["interpolate", ["linear"], ["zoom"], 10, 0.5, 16, 0.25]}},
        {"id": "road-labels", "type": "symbol", "source": "civmap-basemap", "source-layer": "roads",
         "minzoom": 13, "filter": ["has", "name"],
         "layout": {"symbol-placement": "line", "text-field": ["get", "name"], "text-font": fonts,
                    "text-size": ["interpolate", ["linear"], ["zoom"], 13, 11, 18, 15], "text-max-angle": 30},
         "paint": {"text-color": "#555", "text-halo-color": "#fff", "text-halo-width": 1.5}},
        {"id": "pois", "type": "circle", "source": "civmap-basemap", "source-layer": "pois",
         "paint": {"circle-radius": 3, "circle-color": "#8a6d3b", "circle-stroke-color": "#fff", "circle-stroke-width": 1}},
        {"id": "poi-labels", "type": "symbol", "source": "civmap-basemap", "source-layer": "pois",
         "filter": ["has", "name"],
         "layout": {"text-field": ["get", "name"], "text-font": fonts, "text-size": 12,
                    "text-offset": [0, 0.9], "text-anchor": "top", "text-optional": true},
         "paint": {"text-color": "#6b4f2a", "text-halo-color": "#fff", "text-halo-width": 1.5}},
        {"id": "tiles-problem-clusters", "type": "circle", "source": "civmap-problems", "source-layer": "problems",
         "filter": ["has", "count"],
         "paint": {"circle-color": "#d7301f", "circle-opacity": 0.75, "circle-stroke-color": "#fff", "circle-stroke-width": 1,
                   "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "count"]], 1, 6, 30, 22]}},
        {"id": "tiles-problem-cluster-counts", "type": "symbol", "source": "civmap-problems", "source-layer": "problems",
         "filter": ["has", "count"],
         "layout": {"text-field": ["to-string", ["get", "count"]], "text-font": fonts, "text-size": 11, "text-allow-overlap": true},
         "paint": {"text-color": "#fff"}},
        {"id": "tiles-problem-points", "type": "circle", "source": "civmap-problems", "source-layer": "problems",
         "filter": ["!", ["has", "count"]],
         "paint": {"circle-radius": ["interpolate", ["linear"], ["zoom"], 14, 3, 18, 7],
                   "circle-color": ["match", ["get", "status"], ["closed"], "#ffffff", ["rectified"], "#74c476", "#d7301f"],
                   "circle-stroke-color": "#7f0000", "circle-stroke-width": 1}},
    ]);
    layers
}

/// The layer specs of the schema, for tests and clients that check the TileJSON.
#[must_use]
pub fn layer_specs() -> &'static [schema::LayerSpec] {
    &LAYER_SPECS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalised_positions_are_cell_centres_within_the_cell() {
        for &(lon, lat) in &[(121.5012, 31.2834), (-73.98, 40.75), (0.0001, -0.0001)] {
            let (glon, glat) = generalise(lon, lat);
            // Within half a cell diagonal (35.4 m) of the true position.
            let d = civmap_index::haversine_m(
                civmap_domain::LonLat::new(lon, lat).unwrap(),
                civmap_domain::LonLat::new(glon, glat).unwrap(),
            );
            assert!(d <= GENERALISE_CELL_M * 0.71, "{d}");
            // Idempotent: the centre of a cell is in its own cell.
            assert_eq!(generalise(glon, glat), (glon, glat));
        }
        // Two points a few metres apart in one cell give the same position.
        let a = generalise(121.501_01, 31.283_41);
        let b = generalise(121.501_02, 31.283_42);
        assert_eq!(a, b);
    }

    #[test]
    fn tile_paths_parse_or_name_the_bad_part() {
        assert!(parse_tile("problems", "14", "13722", "6692.mvt").is_ok());
        let field = |r: Result<(TileLayer, TileId), AppError>| match r {
            Err(AppError::BadRequest { field, .. }) => field,
            Err(AppError::Invalid { field, .. }) => Some(field),
            Err(AppError::NotFound(_)) => Some("layer".into()),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(parse_tile("nope", "1", "0", "0.mvt")).as_deref(),
            Some("layer")
        );
        assert_eq!(
            field(parse_tile("zones", "a", "0", "0.mvt")).as_deref(),
            Some("z")
        );
        assert_eq!(
            field(parse_tile("zones", "1", "-1", "0.mvt")).as_deref(),
            Some("x")
        );
        assert_eq!(
            field(parse_tile("zones", "1", "0", "0.png")).as_deref(),
            Some("y")
        );
        assert_eq!(
            field(parse_tile("zones", "1", "2", "0.mvt")).as_deref(),
            Some("x")
        );
        assert_eq!(
            field(parse_tile("zones", "19", "0", "0.mvt")).as_deref(),
            Some("z")
        );
        assert_eq!(
            field(parse_tile("zones", "300", "0", "0.mvt")).as_deref(),
            Some("z")
        );
        assert_eq!(
            field(parse_tile("zones", "3", "0", "99999999999.mvt")).as_deref(),
            Some("y")
        );
    }

    #[test]
    fn accept_encoding_and_etags() {
        let h = |k: header::HeaderName, v: &str| {
            let mut m = HeaderMap::new();
            m.insert(k, HeaderValue::from_str(v).unwrap());
            m
        };
        assert!(accepts_gzip(&h(
            header::ACCEPT_ENCODING,
            "gzip, deflate, br"
        )));
        assert!(accepts_gzip(&h(
            header::ACCEPT_ENCODING,
            "br;q=1.0, gzip;q=0.8"
        )));
        assert!(!accepts_gzip(&h(header::ACCEPT_ENCODING, "gzip;q=0")));
        assert!(!accepts_gzip(&h(header::ACCEPT_ENCODING, "br")));
        assert!(!accepts_gzip(&HeaderMap::new()));
        assert!(not_modified(
            &h(header::IF_NONE_MATCH, "\"00000000000000ff\""),
            255
        ));
        assert!(not_modified(
            &h(header::IF_NONE_MATCH, "W/\"x\", \"00000000000000ff-gz\""),
            255
        ));
        assert!(!not_modified(
            &h(header::IF_NONE_MATCH, "\"00000000000000fe\""),
            255
        ));
        assert!(no_cache(&h(header::CACHE_CONTROL, "max-age=0, no-cache")));
        assert!(!no_cache(&h(header::CACHE_CONTROL, "max-age=0")));
    }
}
