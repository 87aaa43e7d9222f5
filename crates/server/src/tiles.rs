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
//! Tiles are the same for every caller (public fields only), so they are cached and served
//! alike. Encoding and the cache are the service's (`civmap_app::tiles`); here are the URLs,
//! the HTTP caching and the style.
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

use std::fmt::Write as _;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use civmap_app::App;
use civmap_app::tiles::layer::{TILE_LAYERS, TileLayer};
use civmap_tiles::TileId;
use civmap_tiles::schema::{self, LAYER_SPECS};
use geo::BoundingRect;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ApiError, ErrorBody};
use crate::state::ServerState;

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
pub fn router() -> OpenApiRouter<ServerState> {
    OpenApiRouter::with_openapi(TilesDoc::openapi())
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tile))
        .route("/tiles/style.json", get(style))
        .route("/tiles/{name}", get(tilejson))
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

fn parse_coord<T: std::str::FromStr>(field: &str, s: &str) -> Result<T, ApiError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 10 {
        return Err(ApiError::bad_param(
            field,
            format!("{s:?} is not a tile number (0, 1, 2, ...)"),
        ));
    }
    s.parse()
        .map_err(|_| ApiError::bad_param(field, format!("{s:?} is out of range")))
}

/// Checks and parses `/tiles/{layer}/{z}/{x}/{y}.mvt`.
fn parse_tile(layer: &str, z: &str, x: &str, y: &str) -> Result<(TileLayer, TileId), ApiError> {
    let layer = TileLayer::parse(layer).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no tile layer {layer:?}; the layers are {}",
            TILE_LAYERS.join(", ")
        ))
    })?;
    let y = y
        .strip_suffix(".mvt")
        .ok_or_else(|| ApiError::bad_param("y", format!("{y:?}: tiles are named {{y}}.mvt")))?;
    let z: u8 = parse_coord("z", z)?;
    let x: u32 = parse_coord("x", x)?;
    let y: u32 = parse_coord("y", y)?;
    if z > schema::MAX_TILE_ZOOM {
        return Err(ApiError::invalid(
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
            return Err(ApiError::invalid(
                field,
                format!("{v} is outside 0..{n} at zoom {z}"),
            ));
        }
    }
    let tile = TileId::new(z, x, y).map_err(|e| ApiError::invalid("z", e))?;
    Ok((layer, tile))
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `ETag` of a tile: a hash of its bytes, `-gz` for the gzipped form.
fn etag(hash: u64, gz: bool) -> String {
    if gz {
        format!("\"{hash:016x}-gz\"")
    } else {
        format!("\"{hash:016x}\"")
    }
}

/// Browsers keep `problems`, `heat` and `zones` tiles and revalidate each time (a cheap `304`
/// while the data is unchanged); the basemap, which changes only with an import, for an hour.
fn cache_control(layer: TileLayer) -> &'static str {
    match layer {
        TileLayer::Basemap => "public, max-age=3600",
        _ => "public, no-cache",
    }
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
    State(state): State<App>,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (layer, tile) = parse_tile(&layer, &z, &x, &y)?;
    let gz_wanted = accepts_gzip(&headers);
    let served = state
        .tile(layer, tile, no_cache(&headers), gz_wanted)
        .await?;
    let encoded = &served.encoded;
    let gz = gz_wanted && !encoded.is_empty();
    let mut h = HeaderMap::new();
    h.insert(header::ETAG, header_value(&etag(encoded.hash, gz)));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control(layer)),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some((enc, zip)) = served.made {
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
    if encoded.is_empty() {
        return Ok((StatusCode::NO_CONTENT, h).into_response());
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(MVT_MEDIA_TYPE),
    );
    if gz {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    let body = state.tile_body(encoded, gz);
    Ok((StatusCode::OK, h, Body::from(body)).into_response())
}

/// `[min_lon, min_lat, max_lon, max_lat]` of what a layer shows, when known.
fn layer_bounds(state: &App, layer: TileLayer) -> Option<[f64; 4]> {
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
fn data_bounds(state: &App) -> [f64; 4] {
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
fn tilejson_of(state: &App, base: &str, layer: TileLayer) -> serde_json::Value {
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
    State(state): State<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    match name.strip_suffix(".json").and_then(TileLayer::parse) {
        Some(layer) => {
            let base = crate::api::common::base_url(&state, &headers);
            json_response(&tilejson_of(&state, &base, layer), "public, no-cache")
        }
        None => ApiError::NotFound(format!(
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
async fn style(State(state): State<App>, headers: HeaderMap) -> Response {
    let base = crate::api::common::base_url(&state, &headers);
    json_response(&style_json(&state, &base), "public, no-cache")
}

/// The MapLibre style (v8) drawing every layer from this server's tiles.
#[must_use]
pub fn style_json(state: &App, base: &str) -> serde_json::Value {
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
         "filter": ["!=", ["get", "class"], "address"],
         "paint": {"circle-radius": 3, "circle-color": "#8a6d3b", "circle-stroke-color": "#fff", "circle-stroke-width": 1}},
        {"id": "poi-labels", "type": "symbol", "source": "civmap-basemap", "source-layer": "pois",
         "filter": ["all", ["has", "name"], ["!=", ["get", "class"], "address"]],
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
    fn tile_paths_parse_or_name_the_bad_part() {
        assert!(parse_tile("problems", "14", "13722", "6692.mvt").is_ok());
        let field = |r: Result<(TileLayer, TileId), ApiError>| match r {
            Err(ApiError::BadRequest { field, .. }) => field,
            Err(ApiError::Invalid { field, .. }) => Some(field),
            Err(ApiError::NotFound(_)) => Some("layer".into()),
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
