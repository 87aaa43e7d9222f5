//! `/api/v1/zones` and `/api/v1/pois`: the zones chiefs own (point, road, area, surroundings,
//! grid cell) and the schools, parks and wet markets of the three surroundings.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use civmap_app::App;
use civmap_app::actor::{Actor, MANAGERS};
use civmap_domain::{Poi, PoiId, PoiKind, Zone, ZoneId, ZoneKind};
use civmap_geodata::crs::Crs;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::common::{CrsParam, IdPath, audit};
use super::problems::{ListParams, page_limit};
use crate::auth::Caller;
use crate::cursor;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppJson, AppQuery};
use crate::geojson;
use crate::params;
use crate::params::input_position;

/// Zone list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ZoneListParams {
    /// Zone kinds, comma-separated: `point`, `road`, `area`, `surroundings`, `grid_cell`.
    pub kind: Option<String>,
    /// Zones containing this position, `lon,lat`.
    pub at: Option<String>,
    /// Page size (default `limits.page_default`).
    pub limit: Option<usize>,
    /// The `next` value of the previous page.
    pub cursor: Option<String>,
    pub crs: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/zones",
    tag = "zones",
    summary = "List zones",
    description = "Zones as a GeoJSON FeatureCollection of (Multi)Polygons, ordered by id, with chiefs assigned (staff only).",
    params(ZoneListParams),
    responses(
        (status = 200, description = "A page of zones", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "Malformed parameter", body = ErrorBody),
    )
)]
pub async fn list_zones(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    AppQuery(q): AppQuery<ZoneListParams>,
) -> Result<Response, ApiError> {
    let crs = params::parse_crs(q.crs.as_deref())?;
    let limit = page_limit(&state, q.limit, "limit")?;
    let kinds = match q.kind.as_deref() {
        Some(k) => Some(
            params::parse_list("kind", k, 8)?
                .into_iter()
                .map(|k| {
                    k.parse::<ZoneKind>()
                        .map_err(|e| ApiError::bad_param("kind", e))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let after = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| cursor::decode(cursor::ZONES, c).map(ZoneId))
        .transpose()?;
    let at = match q.at.as_deref() {
        Some(s) => {
            let v = s
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<Vec<_>, _>>()
                .ok()
                .filter(|v| v.len() == 2)
                .ok_or_else(|| ApiError::bad_param("at", "expected lon,lat"))?;
            let (lon, lat) =
                input_position(crs, v[0], v[1]).map_err(|e| ApiError::bad_param("at", e))?;
            Some(state.containing_zones(lon, lat))
        }
        None => None,
    };
    let assignments = state.assignments();
    let g = state.zones();
    let (zones, next) = cursor::page(&g.map, after, limit, |id, z| {
        kinds.as_ref().is_none_or(|k| k.contains(&z.kind))
            && at.as_ref().is_none_or(|ids| ids.contains(id))
    });
    let next = next.map(|z| cursor::encode(cursor::ZONES, z.0));
    let features: Vec<serde_json::Value> = zones
        .iter()
        .map(|z| {
            geojson::zone_feature(
                z,
                crs,
                if actor.is_public() {
                    None
                } else {
                    Some(&assignments)
                },
            )
        })
        .collect();
    drop(g);
    Ok(geojson::page_response(&features, next))
}

/// A zone as sent by clients: a GeoJSON `Feature` with a `Polygon` or `MultiPolygon` geometry,
/// or a `LineString` (a road stretch) or `Point` with `properties.buffer_m`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneIn {
    /// `Feature`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Ignored on input (the id comes from the path, or is new).
    #[schema(value_type = Option<Object>)]
    pub id: Option<serde_json::Value>,
    /// `Polygon` or `MultiPolygon`, or `LineString` or `Point` with `properties.buffer_m`;
    /// lon/lat in the CRS of `crs`.
    #[schema(value_type = Object)]
    pub geometry: serde_json::Value,
    pub properties: ZoneProps,
}

/// A zone's properties.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneProps {
    /// `point`, `road`, `area`, `surroundings` or `grid_cell`.
    pub kind: String,
    pub name: String,
    /// For surroundings zones: `school`, `park` or `market`.
    pub poi_kind: Option<String>,
    pub poi: Option<Uuid>,
    pub code: Option<String>,
    pub external_id: Option<String>,
    /// For a `LineString` (a road stretch) or a `Point` (a point zone): the half width or the
    /// radius in metres; the zone is the line or point buffered by it (at most 500 m).
    pub buffer_m: Option<f64>,
}

/// A drawn `LineString` or `Point` (to be buffered), converted from `crs` to WGS-84; `None`
/// for other geometry types. Errors are 422 naming `geometry`.
fn line_or_point_in(
    v: &serde_json::Value,
    crs: Crs,
    max_vertices: usize,
) -> Result<Option<geo::Geometry<f64>>, ApiError> {
    let bad = |m: &str| ApiError::invalid("geometry", m.to_owned());
    let position = |c: &serde_json::Value| -> Result<(f64, f64), ApiError> {
        let a = c
            .as_array()
            .filter(|a| a.len() >= 2)
            .and_then(|a| Some((a[0].as_f64()?, a[1].as_f64()?)))
            .ok_or_else(|| bad("a position is [lon, lat]"))?;
        input_position(crs, a.0, a.1).map_err(|e| ApiError::invalid("geometry", e))
    };
    let coords = v.get("coordinates");
    match v.get("type").and_then(serde_json::Value::as_str) {
        Some("Point") => {
            let (lon, lat) = position(coords.ok_or_else(|| bad("a Point needs coordinates"))?)?;
            Ok(Some(geo::Geometry::Point(geo::Point::new(lon, lat))))
        }
        Some("LineString") => {
            let list = coords
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| bad("a LineString needs coordinates"))?;
            if list.len() < 2 {
                return Err(bad("a LineString needs at least two positions"));
            }
            if list.len() > max_vertices {
                return Err(bad(&format!("more than {max_vertices} positions")));
            }
            let pts = list.iter().map(position).collect::<Result<Vec<_>, _>>()?;
            Ok(Some(geo::Geometry::LineString(geo::LineString::from(pts))))
        }
        _ => Ok(None),
    }
}

fn zone_from_input(
    id: ZoneId,
    input: ZoneIn,
    crs: Crs,
    max_vertices: usize,
) -> Result<Zone, ApiError> {
    if input.kind != "Feature" {
        return Err(ApiError::invalid("type", "expected a GeoJSON Feature"));
    }
    let p = input.properties;
    let geometry = if let Some(g) = line_or_point_in(&input.geometry, crs, max_vertices)? {
        let m = p.buffer_m.ok_or_else(|| {
            ApiError::invalid(
                "buffer_m",
                "a LineString or Point zone needs buffer_m (metres)",
            )
        })?;
        civmap_app::setup::buffered(&g, m)?
    } else {
        let mp = params::geojson_multipolygon("geometry", &input.geometry)
            .map_err(|e| ApiError::invalid("geometry", e))?;
        params::check_multipolygon("geometry", &mp, max_vertices)
            .map_err(|e| ApiError::invalid("geometry", e))?;
        params::convert_multipolygon(mp, crs)
    };
    let name = civmap_domain::error::validate_text("name", &p.name, 200, true)?;
    Ok(Zone {
        id,
        kind: p.kind.parse()?,
        name,
        poi_kind: p
            .poi_kind
            .as_deref()
            .map(str::parse::<PoiKind>)
            .transpose()?,
        poi: p.poi.map(PoiId),
        code: p
            .code
            .map(|c| civmap_domain::error::validate_text("code", &c, 100, true))
            .transpose()?,
        geometry,
        external_id: p
            .external_id
            .map(|c| civmap_domain::error::validate_text("external_id", &c, 200, true))
            .transpose()?,
    })
}

/// Zone vertex budget: larger than a filter polygon (zones are drawn or imported by staff).
fn zone_vertices(state: &App) -> usize {
    state.config().limits.polygon_vertices.saturating_mul(20)
}

#[utoipa::path(
    post,
    path = "/api/v1/zones",
    tag = "zones",
    summary = "Create a zone",
    description = "A street office with a street code may store zones of its street only: a zone without `code` gets the street's code; another street's code is a 422.",
    params(CrsParam),
    request_body(content = ZoneIn, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Object, content_type = "application/geo+json"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn create_zone(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<ZoneIn>,
) -> Result<Response, ApiError> {
    actor.require(MANAGERS, "manage zones")?;
    let crs = q.crs()?;
    let zone = zone_from_input(ZoneId::new(), body, crs, zone_vertices(&state))?;
    let id = zone.id;
    state.put_zone_as(&actor, zone).await?;
    audit(&actor, "zone created", &id);
    zone_response(StatusCode::CREATED, &state, id, crs, &actor)
}

fn zone_response(
    status: StatusCode,
    state: &App,
    id: ZoneId,
    crs: Crs,
    actor: &Actor,
) -> Result<Response, ApiError> {
    let assignments = state.assignments();
    let g = state.zones();
    let z = g
        .map
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no zone {id}")))?;
    let f = geojson::zone_feature(
        z,
        crs,
        if actor.is_public() {
            None
        } else {
            Some(&assignments)
        },
    );
    drop(g);
    let mut resp = geojson::value_response(status, &f);
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&format!("/api/v1/zones/{id}"))
    {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

#[utoipa::path(
    get,
    path = "/api/v1/zones/{id}",
    tag = "zones",
    summary = "One zone",
    params(("id" = Uuid, Path, description = "Zone id"), CrsParam),
    responses(
        (status = 200, description = "The zone", body = Object, content_type = "application/geo+json"),
        (status = 404, description = "No such zone", body = ErrorBody),
    )
)]
pub async fn get_zone(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
) -> Result<Response, ApiError> {
    zone_response(StatusCode::OK, &state, ZoneId(id), q.crs()?, &actor)
}

#[utoipa::path(
    put,
    path = "/api/v1/zones/{id}",
    tag = "zones",
    summary = "Create or replace a zone",
    params(("id" = Uuid, Path, description = "Zone id"), CrsParam),
    request_body(content = ZoneIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Stored", body = Object, content_type = "application/geo+json"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn put_zone(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<ZoneIn>,
) -> Result<Response, ApiError> {
    actor.require(MANAGERS, "manage zones")?;
    let crs = q.crs()?;
    let zone = zone_from_input(ZoneId(id), body, crs, zone_vertices(&state))?;
    state.put_zone_as(&actor, zone).await?;
    audit(&actor, "zone stored", &id);
    zone_response(StatusCode::OK, &state, ZoneId(id), crs, &actor)
}

#[utoipa::path(
    delete,
    path = "/api/v1/zones/{id}",
    tag = "zones",
    summary = "Delete a zone",
    params(("id" = Uuid, Path, description = "Zone id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 404, description = "No such zone (or not in the street office's street)", body = ErrorBody),
    )
)]
pub async fn delete_zone(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    actor.require(MANAGERS, "manage zones")?;
    state.delete_zone_as(&actor, ZoneId(id)).await?;
    audit(&actor, "zone deleted", &id);
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/zones/{id}/problems",
    tag = "zones",
    summary = "Problems inside a zone",
    description = "The same as `GET /api/v1/problems?zone={id}` (all other list filters apply).",
    params(("id" = Uuid, Path, description = "Zone id"), ListParams),
    responses(
        (status = 200, description = "A page of problems", body = crate::render::ProblemCollectionDoc, content_type = "application/geo+json"),
        (status = 404, description = "No such zone", body = ErrorBody),
    )
)]
pub async fn zone_problems(
    caller: Caller,
    headers: HeaderMap,
    axum::extract::State(state): axum::extract::State<App>,
    IdPath(id): IdPath,
    AppQuery(mut q): AppQuery<ListParams>,
) -> Result<Response, ApiError> {
    if !state.zones().map.contains_key(&ZoneId(id)) {
        return Err(ApiError::NotFound(format!("no zone {id}")));
    }
    q.zone = Some(id.to_string());
    super::problems::list_problems(caller, headers, axum::extract::State(state), AppQuery(q)).await
}

// ---- points of interest ------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/api/v1/pois",
    tag = "pois",
    summary = "List points of interest",
    description = "Schools, parks and wet markets (三个周边) as a GeoJSON FeatureCollection, ordered by id.",
    params(ZoneListParams),
    responses(
        (status = 200, description = "A page of points of interest", body = Object, content_type = "application/geo+json"),
    )
)]
pub async fn list_pois(
    axum::extract::State(state): axum::extract::State<App>,
    AppQuery(q): AppQuery<ZoneListParams>,
) -> Result<Response, ApiError> {
    let crs = params::parse_crs(q.crs.as_deref())?;
    let limit = page_limit(&state, q.limit, "limit")?;
    if q.at.is_some() {
        return Err(ApiError::bad_param(
            "at",
            "not supported for points of interest",
        ));
    }
    let kinds = match q.kind.as_deref() {
        Some(k) => Some(
            params::parse_list("kind", k, 8)?
                .into_iter()
                .map(|k| {
                    k.parse::<PoiKind>()
                        .map_err(|e| ApiError::bad_param("kind", e))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let after = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| cursor::decode(cursor::POIS, c).map(PoiId))
        .transpose()?;
    let g = state.pois();
    let (items, next) = cursor::page(&g, after, limit, |_, p| {
        kinds.as_ref().is_none_or(|k| k.contains(&p.kind))
    });
    let next = next.map(|p| cursor::encode(cursor::POIS, p.0));
    let features: Vec<serde_json::Value> =
        items.iter().map(|p| geojson::poi_feature(p, crs)).collect();
    drop(g);
    Ok(geojson::page_response(&features, next))
}

/// A point of interest as sent by clients: a GeoJSON Feature (Point or Polygon).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoiIn {
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Option<Object>)]
    pub id: Option<serde_json::Value>,
    #[schema(value_type = Object)]
    pub geometry: serde_json::Value,
    pub properties: PoiProps,
}

/// A point of interest's properties.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoiProps {
    /// `school`, `park` or `market`.
    pub kind: String,
    pub name: String,
    pub external_id: Option<String>,
}

fn poi_from_input(id: PoiId, input: PoiIn, crs: Crs, max_vertices: usize) -> Result<Poi, ApiError> {
    if input.kind != "Feature" {
        return Err(ApiError::invalid("type", "expected a GeoJSON Feature"));
    }
    let geometry = geojson::poi_geometry_in(&input.geometry, crs, max_vertices)?;
    let p = input.properties;
    Ok(Poi {
        id,
        kind: p.kind.parse()?,
        name: civmap_domain::error::validate_text("name", &p.name, 200, true)?,
        geometry,
        external_id: p
            .external_id
            .map(|c| civmap_domain::error::validate_text("external_id", &c, 200, true))
            .transpose()?,
    })
}

/// A point of interest as GeoJSON; after a write, with the id of the three-surroundings zone
/// made for it (`surroundings_zone`).
fn poi_response(
    status: StatusCode,
    state: &App,
    id: PoiId,
    crs: Crs,
    zone: Option<ZoneId>,
) -> Result<Response, ApiError> {
    let g = state.pois();
    let p = g
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no point of interest {id}")))?;
    let mut f = geojson::poi_feature(p, crs);
    drop(g);
    if let (Some(z), Some(props)) = (
        zone,
        f.get_mut("properties").and_then(|v| v.as_object_mut()),
    ) {
        props.insert("surroundings_zone".into(), z.to_string().into());
    }
    Ok(geojson::value_response(status, &f))
}

#[utoipa::path(
    post,
    path = "/api/v1/pois",
    tag = "pois",
    summary = "Create a point of interest",
    description = "A school, park or wet market (a Point or a Polygon) and at once its three-surroundings zone: the place buffered by the configured radius (`[surroundings]`: school 200 m, park 100 m, market 150 m by default). The answer names the zone in `properties.surroundings_zone`. A street office with a street code gets the zone coded with its street.",
    params(CrsParam),
    request_body(content = PoiIn, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Object, content_type = "application/geo+json"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn create_poi(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<PoiIn>,
) -> Result<Response, ApiError> {
    actor.require(MANAGERS, "manage points of interest")?;
    let crs = q.crs()?;
    let poi = poi_from_input(PoiId::new(), body, crs, zone_vertices(&state))?;
    let id = poi.id;
    let made = state.add_poi(&actor, poi).await?;
    audit(&actor, "point of interest created", &id);
    poi_response(StatusCode::CREATED, &state, id, crs, Some(made.zone.id))
}

#[utoipa::path(
    get,
    path = "/api/v1/pois/{id}",
    tag = "pois",
    summary = "One point of interest",
    params(("id" = Uuid, Path, description = "Point of interest id"), CrsParam),
    responses(
        (status = 200, description = "The point of interest", body = Object, content_type = "application/geo+json"),
        (status = 404, description = "Not found", body = ErrorBody),
    )
)]
pub async fn get_poi(
    axum::extract::State(state): axum::extract::State<App>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
) -> Result<Response, ApiError> {
    poi_response(StatusCode::OK, &state, PoiId(id), q.crs()?, None)
}

#[utoipa::path(
    put,
    path = "/api/v1/pois/{id}",
    tag = "pois",
    summary = "Create or replace a point of interest",
    description = "Stores the place and remakes its three-surroundings zone (same zone id, so its chiefs stay); `properties.surroundings_zone` names it.",
    params(("id" = Uuid, Path, description = "Point of interest id"), CrsParam),
    request_body(content = PoiIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Stored", body = Object, content_type = "application/geo+json"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn put_poi(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<PoiIn>,
) -> Result<Response, ApiError> {
    actor.require(MANAGERS, "manage points of interest")?;
    let crs = q.crs()?;
    let poi = poi_from_input(PoiId(id), body, crs, zone_vertices(&state))?;
    let made = state.add_poi(&actor, poi).await?;
    audit(&actor, "point of interest stored", &id);
    poi_response(StatusCode::OK, &state, PoiId(id), crs, Some(made.zone.id))
}
