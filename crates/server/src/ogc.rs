//! OGC API - Features - Part 1: Core (OGC 17-069r4) at `/ogc`: landing page, conformance,
//! collections `problems`, `zones` and `pois`, items with `bbox`, `limit`, `datetime` and `next`
//! links, single items; GeoJSON (CRS84 lon/lat) only.
//!
//! The `problems` collection answers from the same query code as `GET /api/v1/problems`, so a
//! GIS analyst in QGIS or GDAL (OAPIF driver) sees the same features as the map.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use civmap_domain::{PoiId, ProblemId, ZoneId};
use civmap_geodata::crs::Crs;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use civmap_app::App;
use civmap_app::actor::Actor;
use civmap_app::spatial::{BBox, Spatial};
use civmap_app::time::{rfc3339, to_ms};

use crate::api::common::base_url;
use crate::api::problems::{build_filter, check_anonymous_area, decode_cursor, encode_cursor};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::AppQuery;
use crate::geojson::{self, CollectionMeta, GEOJSON};
use crate::params;
use crate::render::{FeatureOut, Names, PropertySet, View};
use crate::state::ServerState;

/// OGC API Features conformance classes implemented.
pub const CONFORMANCE: [&str; 3] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
];

/// The media types of the two API documents: the served document is OpenAPI 3.1; its 3.0
/// rendering backs the `oas30` conformance class (see [`crate::oas30`]).
const OPENAPI_31: &str = "application/vnd.oai.openapi+json;version=3.1";
const OPENAPI_30: &str = "application/vnd.oai.openapi+json;version=3.0";

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const JSON: &str = "application/json";

/// The `/ogc` routes.
pub fn router() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(landing))
        .routes(routes!(conformance))
        .routes(routes!(collections))
        .routes(routes!(collection))
        .routes(routes!(items))
        .routes(routes!(item))
}

/// The only format parameter value supported.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormatParam {
    /// Output format: `json` (the only one).
    pub f: Option<String>,
}

/// Where a request for an `/ogc` path ending in `/` (`/ogc/`, `/ogc/collections/`: `OWSLib`
/// always adds the slash) is sent: the same path without the slash, query kept. `None` for
/// other paths.
#[must_use]
pub fn without_trailing_slash(uri: &axum::http::Uri) -> Option<String> {
    let path = uri.path();
    if !(path.starts_with("/ogc/") && path.ends_with('/')) {
        return None;
    }
    let trimmed = path.trim_end_matches('/');
    Some(match uri.query() {
        Some(q) => format!("{trimmed}?{q}"),
        None => trimmed.to_owned(),
    })
}

/// Writes the configured page sizes into the items `limit` parameter of the served document
/// (the declarations carry the defaults), so a client such as GDAL asks for the largest page
/// this server gives.
pub fn document_limits(doc: &mut Value, limits: &civmap_app::config::Limits) {
    let Some(params) = doc
        .pointer_mut("/paths/~1ogc~1collections~1{collectionId}~1items/get/parameters")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for p in params.iter_mut().filter(|p| p["name"] == "limit") {
        p["schema"]["maximum"] = json!(limits.page_max);
        p["schema"]["default"] = json!(limits.page_default);
    }
}

fn check_f(f: Option<&str>) -> Result<(), ApiError> {
    match f {
        None | Some("json" | "geojson") => Ok(()),
        Some(other) => Err(ApiError::bad_param(
            "f",
            format!("format {other:?} is not supported; use f=json"),
        )),
    }
}

fn json_response(v: &Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

#[utoipa::path(
    get,
    path = "/ogc",
    tag = "ogc",
    summary = "OGC API Features landing page",
    params(FormatParam),
    responses((status = 200, description = "Links to the API definition, conformance and collections", body = Object))
)]
async fn landing(
    headers: HeaderMap,
    State(state): State<App>,
    AppQuery(q): AppQuery<FormatParam>,
) -> Result<Response, ApiError> {
    check_f(q.f.as_deref())?;
    let base = base_url(&state, &headers);
    Ok(json_response(&json!({
        "title": "civmap",
        "description": "Problem points of the civilized-city campaign (创文), zones and points of interest, as OGC API Features.",
        "links": [
            {"rel": "self", "type": JSON, "title": "this document", "href": format!("{base}/ogc")},
            {"rel": "service-desc", "type": OPENAPI_31, "title": "the API definition (OpenAPI 3.1)", "href": format!("{base}/api/v1/openapi.json")},
            {"rel": "service-desc", "type": OPENAPI_30, "title": "the API definition (OpenAPI 3.0)", "href": format!("{base}/api/v1/openapi-3.0.json")},
            {"rel": "service-doc", "type": "text/html", "title": "the API documentation", "href": format!("{base}/api/docs")},
            {"rel": "conformance", "type": JSON, "title": "conformance classes", "href": format!("{base}/ogc/conformance")},
            {"rel": "data", "type": JSON, "title": "collections", "href": format!("{base}/ogc/collections")},
        ],
    })))
}

#[utoipa::path(
    get,
    path = "/ogc/conformance",
    tag = "ogc",
    summary = "Conformance classes",
    params(FormatParam),
    responses((status = 200, description = "core, geojson, oas30", body = Object))
)]
async fn conformance(AppQuery(q): AppQuery<FormatParam>) -> Result<Response, ApiError> {
    check_f(q.f.as_deref())?;
    Ok(json_response(&json!({ "conformsTo": CONFORMANCE })))
}

/// The collections served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coll {
    Problems,
    Zones,
    Pois,
}

impl Coll {
    fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "problems" => Ok(Coll::Problems),
            "zones" => Ok(Coll::Zones),
            "pois" => Ok(Coll::Pois),
            other => Err(ApiError::NotFound(format!(
                "no collection {other:?}; collections: problems, zones, pois"
            ))),
        }
    }

    fn id(self) -> &'static str {
        match self {
            Coll::Problems => "problems",
            Coll::Zones => "zones",
            Coll::Pois => "pois",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Coll::Problems => "Problem points (问题点位)",
            Coll::Zones => "Zones (责任区)",
            Coll::Pois => "Schools, parks and wet markets (三个周边)",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Coll::Problems => {
                "Reported civic problems with their category, severity and lifecycle status; the same features as GET /api/v1/problems."
            }
            Coll::Zones => {
                "Point, road, area, surroundings and grid-cell zones that assign places to chiefs."
            }
            Coll::Pois => "Points of interest whose surroundings are managed strictly (三个周边).",
        }
    }
}

fn collection_json(state: &App, base: &str, c: Coll) -> Value {
    let (bbox, interval) = extent(state, c);
    let id = c.id();
    let mut v = json!({
        "id": id,
        "title": c.title(),
        "description": c.description(),
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {
            "spatial": {"bbox": [bbox.map_or_else(|| vec![-180.0, -90.0, 180.0, 90.0], |b| vec![b.min_lon, b.min_lat, b.max_lon, b.max_lat])], "crs": CRS84},
        },
        "links": [
            {"rel": "self", "type": JSON, "title": c.title(), "href": format!("{base}/ogc/collections/{id}")},
            {"rel": "items", "type": GEOJSON, "title": "items as GeoJSON", "href": format!("{base}/ogc/collections/{id}/items")},
        ],
    });
    if let Some((a, b)) = interval {
        v["extent"]["temporal"] = json!({
            "interval": [[a, b]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        });
    }
    v
}

/// The spatial extent (and for problems the report-time interval) of a collection.
fn extent(state: &App, c: Coll) -> (Option<BBox>, Option<(String, String)>) {
    match c {
        Coll::Problems => {
            let g = state.problems();
            let mut b: Option<BBox> = None;
            let (mut t0, mut t1) = (i64::MAX, i64::MIN);
            for r in g.map.values() {
                b = Some(grow(b, r.lon, r.lat));
                t0 = t0.min(r.reported_ms);
                t1 = t1.max(r.reported_ms);
            }
            let interval = (t0 <= t1).then(|| {
                (
                    rfc3339(civmap_app::time::from_ms(t0)),
                    rfc3339(civmap_app::time::from_ms(t1)),
                )
            });
            (b, interval)
        }
        Coll::Zones => {
            let g = state.zones();
            let b = g
                .map
                .values()
                .filter_map(|z| civmap_app::spatial::bounds(&z.geometry))
                .reduce(union);
            (b, None)
        }
        Coll::Pois => {
            let g = state.pois();
            let b = g
                .values()
                .filter_map(|p| civmap_app::spatial::geometry_bounds(&p.geometry))
                .reduce(union);
            (b, None)
        }
    }
}

fn grow(b: Option<BBox>, lon: f64, lat: f64) -> BBox {
    match b {
        None => BBox {
            min_lon: lon,
            min_lat: lat,
            max_lon: lon,
            max_lat: lat,
        },
        Some(b) => BBox {
            min_lon: b.min_lon.min(lon),
            min_lat: b.min_lat.min(lat),
            max_lon: b.max_lon.max(lon),
            max_lat: b.max_lat.max(lat),
        },
    }
}

fn union(a: BBox, b: BBox) -> BBox {
    BBox {
        min_lon: a.min_lon.min(b.min_lon),
        min_lat: a.min_lat.min(b.min_lat),
        max_lon: a.max_lon.max(b.max_lon),
        max_lat: a.max_lat.max(b.max_lat),
    }
}

#[utoipa::path(
    get,
    path = "/ogc/collections",
    tag = "ogc",
    summary = "The feature collections",
    params(FormatParam),
    responses((status = 200, description = "problems, zones, pois with their extents", body = Object))
)]
async fn collections(
    headers: HeaderMap,
    State(state): State<App>,
    AppQuery(q): AppQuery<FormatParam>,
) -> Result<Response, ApiError> {
    check_f(q.f.as_deref())?;
    let base = base_url(&state, &headers);
    let list: Vec<Value> = [Coll::Problems, Coll::Zones, Coll::Pois]
        .into_iter()
        .map(|c| collection_json(&state, &base, c))
        .collect();
    Ok(json_response(&json!({
        "links": [{"rel": "self", "type": JSON, "title": "collections", "href": format!("{base}/ogc/collections")}],
        "collections": list,
    })))
}

#[utoipa::path(
    get,
    path = "/ogc/collections/{collectionId}",
    tag = "ogc",
    summary = "One collection",
    params(("collectionId" = String, Path, description = "`problems`, `zones` or `pois`"), FormatParam),
    responses(
        (status = 200, description = "The collection with its extent", body = Object),
        (status = 404, description = "No such collection", body = ErrorBody),
    )
)]
async fn collection(
    headers: HeaderMap,
    State(state): State<App>,
    axum::extract::Path(cid): axum::extract::Path<String>,
    AppQuery(q): AppQuery<FormatParam>,
) -> Result<Response, ApiError> {
    check_f(q.f.as_deref())?;
    let c = Coll::parse(&cid)?;
    let base = base_url(&state, &headers);
    Ok(json_response(&collection_json(&state, &base, c)))
}

/// Items query parameters (OGC API Features Core, plus attribute filters on problems).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ItemsParams {
    /// `minLon,minLat,maxLon,maxLat` in CRS84 (WGS-84 lon/lat).
    pub bbox: Option<String>,
    /// Page size, at least 1; values above the maximum (`limits.page_max`, 1000 unless
    /// configured) are reduced to it, as OGC API Features asks.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<usize>,
    /// An instant or an interval (`start/end`, either end `..` or empty) on the report time.
    /// Zones and points of interest have no time: the parameter does not filter them.
    pub datetime: Option<String>,
    /// Features to skip.
    pub offset: Option<usize>,
    /// Continue after this cursor (used by `next` links).
    pub cursor: Option<String>,
    /// Problems only: category codes, comma-separated.
    pub category: Option<String>,
    /// Problems only: statuses, comma-separated (`open` for every open one).
    pub status: Option<String>,
    /// Problems only: only these properties, comma-separated (OGC API Features Part 6 style).
    pub properties: Option<String>,
    /// Output format: `json`.
    pub f: Option<String>,
}

#[utoipa::path(
    get,
    path = "/ogc/collections/{collectionId}/items",
    tag = "ogc",
    summary = "Features of a collection",
    params(("collectionId" = String, Path, description = "`problems`, `zones` or `pois`"), ItemsParams),
    responses(
        (status = 200, description = "A page of features with `next` link, numberReturned, numberMatched (when known) and timeStamp", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "A malformed or unknown parameter", body = ErrorBody),
        (status = 404, description = "No such collection", body = ErrorBody),
    )
)]
async fn items(
    Caller { actor, .. }: Caller,
    headers: HeaderMap,
    uri: axum::http::Uri,
    State(state): State<App>,
    axum::extract::Path(cid): axum::extract::Path<String>,
    AppQuery(q): AppQuery<ItemsParams>,
) -> Result<Response, ApiError> {
    check_f(q.f.as_deref())?;
    let c = Coll::parse(&cid)?;
    let limits = &state.config().limits;
    let limit = match q.limit {
        Some(0) => return Err(ApiError::bad_param("limit", "0 is below the minimum, 1")),
        Some(n) => n.min(limits.page_max),
        None => limits.page_default,
    };
    let offset = q.offset.unwrap_or(0);
    if offset > 1_000_000 {
        return Err(ApiError::bad_param(
            "offset",
            "at most 1000000; follow next links instead",
        ));
    }
    let bbox = q
        .bbox
        .as_deref()
        .map(|b| params::parse_bbox("bbox", b, Crs::Wgs84))
        .transpose()?;
    if let Some(b) = &bbox {
        check_anonymous_area(&state, &actor, "bbox", b)?;
    }
    let base = base_url(&state, &headers);
    let self_href = format!(
        "{base}/ogc/collections/{}/items{}",
        c.id(),
        uri.query().map_or_else(String::new, |s| format!("?{s}"))
    );
    let collection_link = json!({"rel": "collection", "type": JSON, "title": c.title(), "href": format!("{base}/ogc/collections/{}", c.id())});
    let page = ItemsPage {
        state: &state,
        actor: &actor,
        q: &q,
        base: &base,
        bbox,
        limit,
        offset,
        links: vec![
            json!({"rel": "self", "type": GEOJSON, "title": "this page", "href": self_href}),
            collection_link,
        ],
    };
    match c {
        Coll::Problems => page.problems().await,
        Coll::Zones | Coll::Pois => page.others(c),
    }
}

/// What one items request asks for, parsed.
struct ItemsPage<'a> {
    state: &'a App,
    actor: &'a Actor,
    q: &'a ItemsParams,
    base: &'a str,
    bbox: Option<BBox>,
    limit: usize,
    offset: usize,
    /// `self` and `collection`.
    links: Vec<Value>,
}

impl ItemsPage<'_> {
    /// The problems collection: the same query as `GET /api/v1/problems`.
    async fn problems(self) -> Result<Response, ApiError> {
        let ItemsPage {
            state,
            actor,
            q,
            base,
            bbox,
            limit,
            offset,
            links,
        } = self;
        let range = q
            .datetime
            .as_deref()
            .map(|d| params::parse_datetime_interval("datetime", d))
            .transpose()?
            .unwrap_or_default();
        let filter = build_filter(
            state,
            q.category.as_deref(),
            q.status.as_deref(),
            None,
            range,
        )?;
        let after = q
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(decode_cursor)
            .transpose()?;
        let spatial: Vec<Spatial> = bbox.into_iter().map(Spatial::BBox).collect();
        let scope = state.scope(actor);
        // A `datetime` reaching before the hot window reads the cold problems too.
        let page = state
            .query_scoped_any(&scope, &spatial, &filter, after, offset + limit)
            .await?;
        let ids: Vec<ProblemId> = page.ids.iter().skip(offset).copied().collect();
        // The window was offset + limit long, so its last id is where the next page starts.
        let next_link = page.next_after.map(|last| {
            let mut s = form_urlencoded::Serializer::new(String::new());
            if let Some(b) = &q.bbox {
                s.append_pair("bbox", b);
            }
            if let Some(d) = &q.datetime {
                s.append_pair("datetime", d);
            }
            if let Some(x) = &q.category {
                s.append_pair("category", x);
            }
            if let Some(x) = &q.status {
                s.append_pair("status", x);
            }
            if let Some(x) = &q.properties {
                s.append_pair("properties", x);
            }
            s.append_pair("limit", &limit.to_string());
            s.append_pair("cursor", &encode_cursor(last));
            format!("{base}/ogc/collections/problems/items?{}", s.finish())
        });
        let table = state.categories();
        let names = Names::new(state, actor);
        let g = state.problems();
        let view = View {
            table: &table,
            names: &names,
            crs: Crs::Wgs84,
            public: actor.is_public(),
            now_ms: to_ms(chrono::Utc::now()),
            props: crate::api::problems::parse_properties(q.properties.as_deref())?,
        };
        let body = geojson::problem_collection(
            &g.map,
            &page.cold,
            &ids,
            view,
            &CollectionMeta {
                next: None,
                next_link,
                number_matched: page.matched,
                links,
                timestamp: true,
            },
        )?;
        drop(g);
        Ok(geojson::response(StatusCode::OK, body))
    }

    /// Zones or points of interest: no time, no attribute filters.
    fn others(self, c: Coll) -> Result<Response, ApiError> {
        let ItemsPage {
            state,
            actor,
            q,
            base,
            bbox,
            limit,
            offset,
            mut links,
        } = self;
        if q.category.is_some() || q.status.is_some() || q.properties.is_some() {
            return Err(ApiError::bad_param(
                if q.category.is_some() {
                    "category"
                } else if q.status.is_some() {
                    "status"
                } else {
                    "properties"
                },
                "only the problems collection has this property",
            ));
        }
        let after = q
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|s| {
                s.strip_prefix("o1.")
                    .and_then(|h| Uuid::parse_str(h).ok())
                    .ok_or_else(|| {
                        ApiError::bad_param("cursor", "not a cursor returned by this server")
                    })
            })
            .transpose()?;
        let (features, matched) = if c == Coll::Zones {
            zone_page(state, actor, bbox, after.map(ZoneId), offset, limit)
        } else {
            poi_page(state, bbox, after.map(PoiId), offset, limit)
        };
        let more = matched > offset + limit;
        if more && let Some(last) = features.last().and_then(|f| f["id"].as_str()) {
            let mut s = form_urlencoded::Serializer::new(String::new());
            if let Some(b) = &q.bbox {
                s.append_pair("bbox", b);
            }
            s.append_pair("limit", &limit.to_string());
            s.append_pair("cursor", &format!("o1.{}", last.replace('-', "")));
            links.push(json!({"rel": "next", "type": GEOJSON, "title": "next page", "href": format!("{base}/ogc/collections/{}/items?{}", c.id(), s.finish())}));
        }
        let body = json!({
            "type": "FeatureCollection",
            "numberReturned": features.len(),
            "numberMatched": if after.is_none() { Some(matched) } else { None },
            "timeStamp": rfc3339(civmap_app::time::now_ms()),
            "features": features,
            "links": links,
        });
        Ok(geojson::value_response(StatusCode::OK, &body))
    }
}

fn after_bound<K>(after: Option<K>) -> (std::ops::Bound<K>, std::ops::Bound<K>) {
    (
        after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
        std::ops::Bound::Unbounded,
    )
}

/// One page of zones whose envelope intersects `bbox`, and how many match in all.
fn zone_page(
    state: &App,
    actor: &Actor,
    bbox: Option<BBox>,
    after: Option<ZoneId>,
    offset: usize,
    limit: usize,
) -> (Vec<Value>, usize) {
    let assignments = state.assignments();
    let staff = (!actor.is_public()).then_some(assignments.as_slice());
    let g = state.zones();
    let candidates: Vec<&civmap_domain::Zone> = g
        .map
        .range(after_bound(after))
        .map(|(_, z)| z)
        .filter(|z| {
            bbox.is_none_or(|b| {
                civmap_app::spatial::bounds(&z.geometry).is_some_and(|zb| intersects(&b, &zb))
            })
        })
        .collect();
    let page = candidates
        .iter()
        .skip(offset)
        .take(limit)
        .map(|z| geojson::zone_feature(z, Crs::Wgs84, staff))
        .collect();
    (page, candidates.len())
}

/// One page of points of interest whose envelope intersects `bbox`, and how many match in all.
fn poi_page(
    state: &App,
    bbox: Option<BBox>,
    after: Option<PoiId>,
    offset: usize,
    limit: usize,
) -> (Vec<Value>, usize) {
    let g = state.pois();
    let candidates: Vec<&civmap_domain::Poi> = g
        .range(after_bound(after))
        .map(|(_, p)| p)
        .filter(|p| {
            bbox.is_none_or(|b| {
                civmap_app::spatial::geometry_bounds(&p.geometry)
                    .is_some_and(|pb| intersects(&b, &pb))
            })
        })
        .collect();
    let page = candidates
        .iter()
        .skip(offset)
        .take(limit)
        .map(|p| geojson::poi_feature(p, Crs::Wgs84))
        .collect();
    (page, candidates.len())
}

fn intersects(a: &BBox, b: &BBox) -> bool {
    a.min_lon <= b.max_lon
        && b.min_lon <= a.max_lon
        && a.min_lat <= b.max_lat
        && b.min_lat <= a.max_lat
}

#[utoipa::path(
    get,
    path = "/ogc/collections/{collectionId}/items/{featureId}",
    tag = "ogc",
    summary = "One feature",
    params(
        ("collectionId" = String, Path, description = "`problems`, `zones` or `pois`"),
        ("featureId" = Uuid, Path, description = "Feature id"),
        FormatParam,
    ),
    responses(
        (status = 200, description = "The feature", body = Object, content_type = "application/geo+json"),
        (status = 404, description = "No such feature", body = ErrorBody),
    )
)]
async fn item(
    Caller { actor, .. }: Caller,
    headers: HeaderMap,
    State(state): State<App>,
    axum::extract::Path((cid, fid)): axum::extract::Path<(String, String)>,
    AppQuery(q): AppQuery<FormatParam>,
) -> Result<Response, ApiError> {
    check_f(q.f.as_deref())?;
    let c = Coll::parse(&cid)?;
    let id =
        Uuid::parse_str(&fid).map_err(|_| ApiError::NotFound(format!("no feature {fid:?}")))?;
    let base = base_url(&state, &headers);
    let links = json!([
        {"rel": "self", "type": GEOJSON, "title": "this feature", "href": format!("{base}/ogc/collections/{}/items/{id}", c.id())},
        {"rel": "collection", "type": JSON, "title": c.title(), "href": format!("{base}/ogc/collections/{}", c.id())},
    ]);
    let not_found = || ApiError::NotFound(format!("no feature {id} in {}", c.id()));
    let mut v = match c {
        Coll::Problems => {
            // Outside the caller's scope is the same 404 as an id that does not exist.
            // Hot or cold (closed before the hot window: read from the database).
            state
                .check_visible_any(&state.scope(&actor), ProblemId(id))
                .await
                .map_err(|_| not_found())?;
            let table = state.categories();
            let names = Names::new(&state, &actor);
            let record = state
                .fetch_record(ProblemId(id))
                .await?
                .ok_or_else(not_found)?;
            serde_json::to_value(FeatureOut {
                id: ProblemId(id),
                record: &record,
                view: View {
                    table: &table,
                    names: &names,
                    crs: Crs::Wgs84,
                    public: actor.is_public(),
                    now_ms: to_ms(chrono::Utc::now()),
                    props: PropertySet::ALL,
                },
            })
            .map_err(|e| ApiError::Internal(e.to_string()))?
        }
        Coll::Zones => {
            let assignments = state.assignments();
            let g = state.zones();
            let z = g.map.get(&ZoneId(id)).ok_or_else(not_found)?;
            geojson::zone_feature(
                z,
                Crs::Wgs84,
                if actor.is_public() {
                    None
                } else {
                    Some(&assignments)
                },
            )
        }
        Coll::Pois => {
            let g = state.pois();
            geojson::poi_feature(g.get(&PoiId(id)).ok_or_else(not_found)?, Crs::Wgs84)
        }
    };
    v["links"] = links;
    Ok(geojson::value_response(StatusCode::OK, &v))
}
