//! Encoding the tiles of each layer from memory, and serving them through the cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use civmap_domain::{CategoryId, CategoryTable, Status, Zone, ZoneKind};
use civmap_index::{BBox, Filter, ProblemIndex, Region, StatusSet};
use civmap_tiles::schema;
use civmap_tiles::{
    CountPyramid, DEFAULT_BUFFER, DEFAULT_CLUSTER_CELL, DEFAULT_EXTENT, EncodeOptions, KeyId,
    LayerBuilder, TileBuilder, TileId, Value, ValueId,
};
use geo::{Geometry, Rect};
use rstar::AABB;

use super::basemap::Basemap;
use super::cache::{CacheKey, Encoded};
use super::layer::TileLayer;
use crate::app::App;
use crate::error::ServiceError;
use crate::privacy::{GENERALISED_CELL_M, generalise_position, is_generalised};

fn options() -> EncodeOptions {
    EncodeOptions::default()
}

fn tile_error(e: civmap_tiles::Error) -> ServiceError {
    ServiceError::internal("tile encoding", e)
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
    let pad = GENERALISED_CELL_M / civmap_index::METRES_PER_DEGREE * 2.0;
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
                is_generalised(table, r.category),
            )
        });
        let status = *statuses[r.status as usize]
            .get_or_insert_with(|| layer.value_id(Value::from(r.status.as_str())));
        let severity = *severities[(r.severity as usize).min(4)]
            .get_or_insert_with(|| layer.value_id(Value::UInt(r.severity as u64)));
        let (mut lon, mut lat) = (r.position.lon(), r.position.lat());
        if indoor {
            [lon, lat] = generalise_position([lon, lat]);
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

/// A tile as served: the encoded bytes and, when it was made for this request, how long
/// encoding and gzipping took.
#[derive(Debug, Clone)]
pub struct Served {
    pub encoded: Arc<Encoded>,
    /// (encode, gzip) times of a tile made now; `None` for a cache hit.
    pub made: Option<(Duration, Duration)>,
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

impl App {
    /// One tile of `layer`: from the cache when its data version is current and `fresh` is
    /// not asked, else encoded now (and cached). `gzip`: the caller will want the gzipped
    /// form, so it is made while encoding.
    pub async fn tile(
        &self,
        layer: TileLayer,
        tile: TileId,
        fresh: bool,
        gzip: bool,
    ) -> Result<Served, ServiceError> {
        let tiles = &self.inner.tiles;
        let key = CacheKey { layer, tile };
        // The version is read before the data: a tile made while a write lands is stored under
        // the older version and so replaced on the next request.
        let version = tiles.version(layer);
        if !fresh && let Some(encoded) = tiles.cache.get(key, version) {
            return Ok(Served {
                encoded,
                made: None,
            });
        }
        let app = self.clone();
        let make = move || -> Result<(Encoded, Duration, Duration), ServiceError> {
            let t0 = Instant::now();
            let raw = app.encode(layer, tile)?;
            let t1 = Instant::now();
            let e = Encoded::new(version, raw, gzip);
            Ok((e, t1 - t0, t1.elapsed()))
        };
        // Big encodes (dense point tiles, polygons) are CPU work of a millisecond or more: off
        // the async workers' hands. Small ones cost less than the hand-over.
        let (e, enc, zip) = if is_heavy(layer, tile) {
            tokio::task::spawn_blocking(make)
                .await
                .map_err(|e| ServiceError::internal("tile task", e))??
        } else {
            make()?
        };
        let encoded = Arc::new(e);
        tiles.cache.put(key, encoded.clone());
        Ok(Served {
            encoded,
            made: Some((enc, zip)),
        })
    }

    /// The body of a served tile, gzipped or not: the cached bytes when the entry has that
    /// form, else made now (once per entry) and counted in the cache.
    pub fn tile_body(&self, encoded: &Encoded, gzip: bool) -> Bytes {
        let (b, made) = encoded.form(gzip);
        if made {
            self.inner.tiles.cache.grew(b.len());
        }
        b.clone()
    }

    /// Encodes one tile of `layer` from memory (uncompressed; empty bytes for an empty tile).
    pub fn encode(&self, layer: TileLayer, tile: TileId) -> Result<Vec<u8>, ServiceError> {
        let mut out = TileBuilder::new();
        if tile.z() < layer.min_zoom() {
            return Ok(out.finish());
        }
        let tiles = &self.inner.tiles;
        match layer {
            TileLayer::Problems => {
                let table = self.categories();
                let l = if tile.z() >= schema::PROBLEM_POINTS_MIN_ZOOM {
                    problem_points(&self.problems().index, &table, tile)
                } else {
                    problem_clusters(&tiles.pyramid.read(), &table, tile)
                }
                .map_err(tile_error)?;
                out.add_layer(&l).map_err(tile_error)?;
            }
            TileLayer::Heat => {
                let l = heat_cells(&tiles.pyramid.read(), tile).map_err(tile_error)?;
                out.add_layer(&l).map_err(tile_error)?;
            }
            TileLayer::Zones => {
                let b = tile.buffered_bounds(DEFAULT_BUFFER, DEFAULT_EXTENT);
                let zones = self.zones();
                let boxes = tiles.zone_boxes(&zones);
                let hits = boxes
                    .iter()
                    .filter(|(_, r)| intersects(r, &b))
                    .filter_map(|(id, _)| zones.map.get(id));
                let l = zone_polygons(hits, tile).map_err(tile_error)?;
                drop(zones);
                out.add_layer(&l).map_err(tile_error)?;
            }
            TileLayer::Basemap => {
                let basemap = tiles.basemap();
                for l in basemap_layers(&basemap, tile).map_err(tile_error)? {
                    out.add_layer(&l).map_err(tile_error)?;
                }
            }
        }
        Ok(out.finish())
    }
}
