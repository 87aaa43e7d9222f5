//! `/api/v1`: problems (create, read, edit, list with filters and cursor pagination, one
//! endpoint per lifecycle transition, history), zones, points of interest, categories and
//! assignments. Geometry is RFC 7946 GeoJSON (lon, lat).

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use civmap_domain::{
    Action, Category, Event, LonLat, NewProblem, Poi, PoiId, PoiKind, ProblemId, Severity, Status,
    UserId, Zone, ZoneId, ZoneKind,
};
use civmap_geodata::crs::Crs;
use civmap_index::{Filter, StatusSet};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{AppError, ErrorBody};
use crate::extract::{Actor, AppJson, AppQuery};
use crate::geojson;
use crate::params::{self, BBox, TimeRange};
use crate::record::{FeatureOut, PropertySet, View, to_ms};
use crate::spatial::Spatial;
use crate::state::{AppState, EDITORS, Edit, MANAGERS, TransitionDetails, roles_for};

/// The `/api/v1` routes with their OpenAPI declarations.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_problems, create_problem))
        .routes(routes!(get_problem, edit_problem))
        .routes(routes!(history))
        .routes(routes!(dispatch))
        .routes(routes!(escalate))
        .routes(routes!(rectify))
        .routes(routes!(reject))
        .routes(routes!(verify))
        .routes(routes!(recur))
        .routes(routes!(merge))
        .routes(routes!(list_zones, create_zone))
        .routes(routes!(get_zone, put_zone, delete_zone))
        .routes(routes!(zone_problems))
        .routes(routes!(list_pois, create_poi))
        .routes(routes!(get_poi, put_poi))
        .routes(routes!(list_categories))
        .routes(routes!(put_category))
        .routes(routes!(list_assignments))
        .routes(routes!(assignment_coverage))
        .routes(routes!(assign, unassign))
}

// ---- common pieces -----------------------------------------------------------------------

/// A path segment holding an id (UUID); a malformed one is a 400 naming `id`.
#[derive(Debug, Clone, Copy)]
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw): Path<Vec<String>> = Path::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::bad_param("id", e.body_text()))?;
        let first = raw
            .first()
            .ok_or_else(|| AppError::bad_param("id", "missing"))?;
        parse_uuid("id", first).map(IdPath)
    }
}

/// Two ids in the path (`/zones/{id}/assignees/{user}`).
#[derive(Debug, Clone, Copy)]
pub struct TwoIds(pub Uuid, pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for TwoIds {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw): Path<Vec<String>> = Path::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::bad_param("id", e.body_text()))?;
        match raw.as_slice() {
            [a, b] => Ok(TwoIds(parse_uuid("id", a)?, parse_uuid("user", b)?)),
            _ => Err(AppError::bad_param("id", "expected two ids")),
        }
    }
}

fn parse_uuid(field: &str, s: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(s).map_err(|_| AppError::bad_param(field, format!("{s:?} is not a UUID")))
}

/// The output CRS of a request (`crs` query parameter), for handlers without other parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CrsParam {
    /// CRS of coordinates sent and returned: `wgs84` (default), `gcj02` (`AMap`, Tencent) or
    /// `bd09` (Baidu). The server stores WGS-84.
    pub crs: Option<String>,
}

impl CrsParam {
    pub(crate) fn crs(&self) -> Result<Crs, AppError> {
        params::parse_crs(self.crs.as_deref())
    }
}

/// Logs a write that has no event of its own (zones, points of interest, categories,
/// assignments) with the acting account, for the audit trail.
fn audit(actor: &Actor, what: &str, id: &dyn std::fmt::Display) {
    tracing::info!(actor = ?actor.user, role = %actor.role, %id, "{what}");
}

pub(crate) fn view<'a>(
    table: &'a civmap_domain::CategoryTable,
    crs: Crs,
    actor: &Actor,
) -> View<'a> {
    View {
        table,
        crs,
        public: actor.is_public(),
        now_ms: to_ms(Utc::now()),
        props: PropertySet::ALL,
    }
}

/// The base URL for links: the configured public URL, else `http://<Host>`.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.config().public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

pub(crate) fn feature_response(
    status: StatusCode,
    state: &AppState,
    id: ProblemId,
    crs: Crs,
    actor: &Actor,
) -> Result<Response, AppError> {
    feature_response_with(status, state, id, crs, actor, None)
}

/// [`feature_response`] with one foreign member added to the Feature.
fn feature_response_with(
    status: StatusCode,
    state: &AppState,
    id: ProblemId,
    crs: Crs,
    actor: &Actor,
    member: Option<(&str, serde_json::Value)>,
) -> Result<Response, AppError> {
    let table = state.categories();
    let g = state.problems();
    let record = g
        .map
        .get(&id)
        .ok_or_else(|| AppError::NotFound(format!("no problem {id}")))?;
    let feature = FeatureOut {
        id,
        record,
        view: view(&table, crs, actor),
    };
    let internal = |e: serde_json::Error| AppError::Internal(e.to_string());
    let body = match member {
        None => serde_json::to_vec(&feature).map_err(internal)?,
        Some((name, value)) => {
            let mut v = serde_json::to_value(feature).map_err(internal)?;
            v[name] = value;
            serde_json::to_vec(&v).map_err(internal)?
        }
    };
    drop(g);
    let mut resp = geojson::response(status, body);
    if status == StatusCode::CREATED {
        resp.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_str(&format!("/api/v1/problems/{id}"))
                .map_err(|e| AppError::Internal(e.to_string()))?,
        );
    }
    Ok(resp)
}

// ---- problems ----------------------------------------------------------------------------

/// Filters of the problem list. Spatial filters may be combined (their intersection is
/// returned); all coordinates are lon, lat in the CRS given by `crs`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `minLon,minLat,maxLon,maxLat`, degrees. Anonymous callers may ask for at most
    /// `limits.anonymous_bbox_deg2` square degrees (422 naming `bbox` above).
    pub bbox: Option<String>,
    /// `lon,lat,metres`: problems within this great-circle distance (Haversine, mean Earth
    /// radius) of the point.
    pub radius: Option<String>,
    /// A GeoJSON Polygon/MultiPolygon (or Feature) or WKT POLYGON/MULTIPOLYGON; holes are
    /// respected, points on the boundary are inside. At most `limits.polygon_vertices` vertices.
    pub polygon: Option<String>,
    /// A zone id: problems inside that zone's polygon.
    pub zone: Option<String>,
    /// Category codes, comma-separated.
    pub category: Option<String>,
    /// Statuses, comma-separated (`reported,dispatched,...`); `open` stands for every open one.
    pub status: Option<String>,
    /// Lowest severity: `low`, `medium`, `high`, `critical`.
    pub severity_min: Option<String>,
    /// Reported at or after this instant (RFC 3339 or a date).
    pub from: Option<String>,
    /// Reported at or before this instant (RFC 3339 or a date).
    pub to: Option<String>,
    /// Page size, 1..=`limits.page_max` (default `limits.page_default`).
    pub limit: Option<usize>,
    /// The `next` value of the previous page.
    pub cursor: Option<String>,
    /// CRS of the coordinates in the filters and in the response: `wgs84` (default), `gcj02`,
    /// `bd09`.
    pub crs: Option<String>,
    /// Only these properties, comma-separated (e.g. `category,status,severity` for a map
    /// layer); default: all.
    pub properties: Option<String>,
}

/// A parsed list request.
#[derive(Debug, Clone)]
pub struct ListRequest {
    pub props: PropertySet,
    pub spatial: Vec<Spatial>,
    pub filter: Filter,
    pub after: Option<ProblemId>,
    pub limit: usize,
    pub crs: Crs,
}

impl ListParams {
    /// Parses and checks every parameter against the limits.
    pub fn parse(&self, state: &AppState, actor: &Actor) -> Result<ListRequest, AppError> {
        let limits = &state.config().limits;
        let crs = params::parse_crs(self.crs.as_deref())?;
        let mut spatial = Vec::new();
        if let Some(b) = &self.bbox {
            let bbox = params::parse_bbox("bbox", b, crs)?;
            check_anonymous_area(state, actor, "bbox", &bbox)?;
            spatial.push(Spatial::BBox(bbox));
        }
        if let Some(r) = &self.radius {
            spatial.push(Spatial::Circle(params::parse_radius(
                "radius",
                r,
                crs,
                limits.radius_max_m,
            )?));
        }
        if let Some(p) = &self.polygon {
            let mp = params::parse_polygon("polygon", p, crs, limits.polygon_vertices)?;
            if let Some(b) = crate::spatial::bounds(&mp) {
                check_anonymous_area(state, actor, "polygon", &b)?;
            }
            spatial.push(Spatial::Polygon(mp));
        }
        if let Some(z) = self.zone.as_deref().filter(|z| !z.is_empty()) {
            spatial.push(Spatial::Zone(ZoneId(parse_uuid("zone", z)?)));
        }
        let filter = build_filter(
            state,
            self.category.as_deref(),
            self.status.as_deref(),
            self.severity_min.as_deref(),
            TimeRange {
                from: self
                    .from
                    .as_deref()
                    .map(|s| params::parse_instant("from", s))
                    .transpose()?,
                to: self
                    .to
                    .as_deref()
                    .map(|s| params::parse_instant("to", s))
                    .transpose()?,
            },
        )?;
        let limit = page_limit(state, self.limit, "limit")?;
        let after = self
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(decode_cursor)
            .transpose()?;
        Ok(ListRequest {
            props: parse_properties(self.properties.as_deref())?,
            spatial,
            filter,
            after,
            limit,
            crs,
        })
    }
}

/// 422 when an anonymous caller asks for a larger area than allowed.
pub fn check_anonymous_area(
    state: &AppState,
    actor: &Actor,
    field: &str,
    b: &BBox,
) -> Result<(), AppError> {
    let max = state.config().limits.anonymous_bbox_deg2;
    if !actor.authenticated && b.area_deg2() > max {
        return Err(AppError::invalid(
            field,
            format!(
                "area {:.4} deg² is larger than the {max} deg² allowed without signing in",
                b.area_deg2()
            ),
        ));
    }
    Ok(())
}

/// Checks a page size against the limits.
pub fn page_limit(state: &AppState, limit: Option<usize>, field: &str) -> Result<usize, AppError> {
    let l = &state.config().limits;
    match limit {
        None => Ok(l.page_default),
        Some(n) if (1..=l.page_max).contains(&n) => Ok(n),
        Some(n) => Err(AppError::bad_param(
            field,
            format!("{n} is outside 1..={}", l.page_max),
        )),
    }
}

/// Builds the attribute filter (category, status, severity, time range).
pub fn build_filter(
    state: &AppState,
    category: Option<&str>,
    status: Option<&str>,
    severity_min: Option<&str>,
    range: TimeRange,
) -> Result<Filter, AppError> {
    let max = state.config().limits.filter_values;
    let mut f = Filter::default();
    if let Some(c) = category {
        let table = state.categories();
        let ids = params::parse_list("category", c, max)?
            .into_iter()
            .map(|code| {
                table.id(code).map_err(|_| {
                    AppError::bad_param("category", format!("unknown category {code:?}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !ids.is_empty() {
            f = f.with_categories(ids);
        }
    }
    if let Some(s) = status {
        let items = params::parse_list("status", s, max)?;
        if !items.is_empty() {
            let mut set = StatusSet::none();
            for item in items {
                let add = if item == "open" {
                    StatusSet::open()
                } else {
                    StatusSet::of([item
                        .parse::<Status>()
                        .map_err(|e| AppError::bad_param("status", e))?])
                };
                set = StatusSet::of(set.iter().chain(add.iter()));
            }
            f = f.with_statuses(set);
        }
    }
    if let Some(s) = severity_min.filter(|s| !s.is_empty()) {
        let sev = s
            .parse::<u8>()
            .ok()
            .and_then(Severity::from_code)
            .map_or_else(|| s.parse::<Severity>(), Ok)
            .map_err(|e| AppError::bad_param("severity_min", e))?;
        f = f.with_min_severity(sev);
    }
    if let (Some(a), Some(b)) = (range.from, range.to)
        && a > b
    {
        return Err(AppError::bad_param(
            "to",
            "the time range ends before it starts",
        ));
    }
    // The index's upper bound is exclusive; ours is inclusive.
    f = f.with_reported_between(
        range.from.map(to_ms),
        range.to.map(|t| to_ms(t).saturating_add(1)),
    );
    Ok(f)
}

/// Parses `properties=a,b`; 400 naming `properties` for an unknown name.
pub fn parse_properties(s: Option<&str>) -> Result<PropertySet, AppError> {
    match s {
        None => Ok(PropertySet::ALL),
        Some(list) => PropertySet::parse(list).map_err(|name| {
            AppError::bad_param(
                "properties",
                format!(
                    "unknown property {name:?}; known: {}",
                    crate::record::PROPERTY_NAMES.join(", ")
                ),
            )
        }),
    }
}

const CURSOR_PREFIX: &str = "p1.";

/// The opaque cursor after `id`.
#[must_use]
pub fn encode_cursor(id: ProblemId) -> String {
    format!("{CURSOR_PREFIX}{}", id.0.simple())
}

/// Reads a cursor made by [`encode_cursor`]; 400 naming `cursor` otherwise.
pub fn decode_cursor(s: &str) -> Result<ProblemId, AppError> {
    s.strip_prefix(CURSOR_PREFIX)
        .filter(|h| h.len() == 32)
        .and_then(|h| Uuid::parse_str(h).ok())
        .map(ProblemId)
        .ok_or_else(|| AppError::bad_param("cursor", "not a cursor returned by this server"))
}

#[utoipa::path(
    get,
    path = "/api/v1/problems",
    tag = "problems",
    summary = "List problems",
    description = "Problems matching every filter, ordered by id (UUIDv7, so by creation time), as a GeoJSON FeatureCollection. Follow `next` (or the `next` link) for the following page; a walk with cursors returns every matching problem exactly once.",
    params(ListParams),
    responses(
        (status = 200, description = "A page of problems", body = crate::record::ProblemCollectionDoc, content_type = "application/geo+json"),
        (status = 400, description = "A malformed parameter", body = ErrorBody),
        (status = 422, description = "A parameter over a limit (bbox area)", body = ErrorBody),
    )
)]
async fn list_problems(
    actor: Actor,
    headers: HeaderMap,
    axum::extract::State(state): axum::extract::State<AppState>,
    AppQuery(q): AppQuery<ListParams>,
) -> Result<Response, AppError> {
    let req = q.parse(&state, &actor)?;
    let scope = state.scope(&actor);
    let page = state.query_scoped(&scope, &req.spatial, &req.filter, req.after, req.limit)?;
    let next_link = page.next_after.map(|after| {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        let mut add = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                pairs.append_pair(k, v);
            }
        };
        add("bbox", &q.bbox);
        add("radius", &q.radius);
        add("polygon", &q.polygon);
        add("zone", &q.zone);
        add("category", &q.category);
        add("status", &q.status);
        add("severity_min", &q.severity_min);
        add("from", &q.from);
        add("to", &q.to);
        add("crs", &q.crs);
        add("properties", &q.properties);
        pairs.append_pair("limit", &req.limit.to_string());
        pairs.append_pair("cursor", &encode_cursor(after));
        format!(
            "{}/api/v1/problems?{}",
            base_url(&state, &headers),
            pairs.finish()
        )
    });
    let table = state.categories();
    let g = state.problems();
    let v = View {
        props: req.props,
        ..view(&table, req.crs, &actor)
    };
    let body = geojson::problem_collection(
        &g.map,
        &page.ids,
        v,
        &geojson::CollectionMeta {
            next: page.next_after.map(encode_cursor),
            next_link,
            number_matched: page.matched,
            ..Default::default()
        },
    )?;
    drop(g);
    Ok(geojson::response(StatusCode::OK, body))
}

/// A new report. Coordinates are in the CRS of the `crs` query parameter (WGS-84 by default)
/// and stored as WGS-84.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProblem {
    /// Longitude, degrees.
    #[schema(example = 121.4971)]
    pub lon: f64,
    /// Latitude, degrees.
    #[schema(example = 31.2854)]
    pub lat: f64,
    /// A category code from `GET /api/v1/categories`.
    #[schema(example = "illegal_parking")]
    pub category: String,
    /// `low`, `medium` (default), `high` or `critical`.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "medium")]
    pub severity: Option<Severity>,
    /// What is wrong, at most 2,000 characters.
    #[serde(default)]
    pub description: String,
    /// A note for the event log (staff only; never public).
    #[serde(default)]
    pub note: String,
    /// Ids of photos uploaded before with `POST /api/v1/photos` (at most 20). Staff see them in
    /// the history; public outputs never show them.
    #[serde(default)]
    pub photos: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/problems",
    tag = "problems",
    summary = "Report a problem",
    description = "Validates and stores the report (durably, with its `created` event) before answering 201 with the problem as a GeoJSON Feature. A report within `workflow.recurrence_m` of a problem of the same category closed in the last `workflow.recurrence_days` is linked to it as a recurrence (回潮, `recurrence_of`). The report is then dispatched to the chief of the most specific zone containing it, with the category's deadline in working hours (status `dispatched`), when such a chief exists. Open problems of the same category within `workflow.duplicate_m` are offered in the foreign member `possible_duplicates` (`id`, `distance_m`) for the street office to merge. Anonymous reports are rate limited per address (429).",
    params(CrsParam),
    request_body(content = CreateProblem, content_type = "application/json"),
    responses(
        (status = 201, description = "Stored", body = crate::record::ProblemFeatureDoc, content_type = "application/geo+json"),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "An invalid value, named in `field`", body = ErrorBody),
        (status = 429, description = "Too many anonymous reports from this address", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
async fn create_problem(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<CreateProblem>,
) -> Result<Response, AppError> {
    let crs = q.crs()?;
    let (lon, lat) = input_position(crs, body.lon, body.lat)?;
    let report = NewProblem {
        lon,
        lat,
        category: body.category,
        severity: body.severity.unwrap_or(Severity::Medium),
        description: body.description,
    };
    let note = civmap_domain::error::validate_text("note", &body.note, 2000, false)?;
    let p = state
        .create_problem_with_photos(report, &actor, note, body.photos)
        .await?;
    // Offered, not merged: the street office decides (POST .../merge).
    let duplicates = state.possible_duplicates(&p);
    let member = (!duplicates.is_empty()).then(|| {
        let list = duplicates
            .iter()
            .take(10)
            .map(|n| {
                serde_json::json!({
                    "id": n.id,
                    "distance_m": (n.distance_m * 10.0).round() / 10.0,
                })
            })
            .collect();
        ("possible_duplicates", list)
    });
    feature_response_with(StatusCode::CREATED, &state, p.id, crs, &actor, member)
}

/// Converts an input position from `crs` to WGS-84, after checking that it is finite and in
/// range (in the input CRS), so errors name `lon`/`lat`.
pub fn input_position(crs: Crs, lon: f64, lat: f64) -> Result<(f64, f64), AppError> {
    LonLat::new(lon, lat)?;
    let [x, y] = crs.to_wgs84([lon, lat]);
    Ok((x, y))
}

#[utoipa::path(
    get,
    path = "/api/v1/problems/{id}",
    tag = "problems",
    summary = "One problem",
    description = "404 also for a problem outside the caller's scope (a chief's zones, a street office's street), so guessing ids tells nothing.",
    params(("id" = Uuid, Path, description = "Problem id"), CrsParam),
    responses(
        (status = 200, description = "The problem", body = crate::record::ProblemFeatureDoc, content_type = "application/geo+json"),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 404, description = "No such problem", body = ErrorBody),
    )
)]
async fn get_problem(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
) -> Result<Response, AppError> {
    let crs = q.crs()?;
    state.check_visible(&state.scope(&actor), ProblemId(id))?;
    feature_response(StatusCode::OK, &state, ProblemId(id), crs, &actor)
}

/// An edit of a problem's fields. Send the current `version`; a stale one is a 409.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditProblem {
    pub version: i64,
    pub description: Option<String>,
    pub category: Option<String>,
    #[schema(value_type = Option<String>)]
    pub severity: Option<Severity>,
    /// New longitude (with `lat`), in the CRS of the `crs` query parameter.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(
    patch,
    path = "/api/v1/problems/{id}",
    tag = "problems",
    summary = "Edit a problem",
    description = "Changes description, category, severity or location; records an `edited` event listing each change. Needs the role admin, street_office or area_chief.",
    params(("id" = Uuid, Path, description = "Problem id"), CrsParam),
    request_body(content = EditProblem, content_type = "application/json"),
    responses(
        (status = 200, description = "The edited problem", body = crate::record::ProblemFeatureDoc, content_type = "application/geo+json"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 404, description = "No such problem", body = ErrorBody),
        (status = 409, description = "Stale version, or a merged problem", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
async fn edit_problem(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<EditProblem>,
) -> Result<Response, AppError> {
    actor.require(EDITORS, "edit problems")?;
    let crs = q.crs()?;
    let location = match (body.lon, body.lat) {
        (Some(lon), Some(lat)) => {
            let (x, y) = input_position(crs, lon, lat)?;
            Some(LonLat::new(x, y)?)
        }
        (None, None) => None,
        (Some(_), None) => return Err(AppError::invalid("lat", "lon and lat go together")),
        (None, Some(_)) => return Err(AppError::invalid("lon", "lon and lat go together")),
    };
    let p = state
        .edit(
            ProblemId(id),
            Edit {
                version: body.version,
                description: body.description,
                category: body.category,
                severity: body.severity,
                location,
                note: body.note,
            },
            &actor,
        )
        .await?;
    feature_response(StatusCode::OK, &state, p.id, crs, &actor)
}

/// One entry of a problem's history (the event log).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    /// Position in the global log.
    pub seq: i64,
    /// `created`, `dispatched`, `escalated`, `rectified`, `rejected`, `verified`, `recurred`,
    /// `merged`, `edited`, `reinspected`.
    pub kind: String,
    /// Who did it (staff only; `null` for the public and for system events).
    pub actor: Option<Uuid>,
    /// RFC 3339, UTC.
    pub at: String,
    /// Staff only (internal notes; empty for the public).
    pub note: String,
    /// Photo ids (SHA-256) attached as evidence (staff only; empty for the public).
    pub photos: Vec<String>,
    /// Structured details (from/to status, assignee, deadline, changed fields...). The public
    /// sees only `from`, `to`, `zone`, `deadline`, `into`, `via` and `changed` (positions in it
    /// generalised to their 50 m cell).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// `[lon, lat]` as the centre of its 50 m cell; anything else becomes `null`.
fn generalised_json(v: &serde_json::Value) -> serde_json::Value {
    match v.as_array().map(Vec::as_slice) {
        Some([x, y]) => match (x.as_f64(), y.as_f64()) {
            (Some(lon), Some(lat)) => {
                serde_json::json!(crate::record::generalise_position([lon, lat]))
            }
            _ => serde_json::Value::Null,
        },
        _ => serde_json::Value::Null,
    }
}

/// Keys of an event's `data` the public may see.
const PUBLIC_EVENT_DATA: [&str; 6] = ["from", "to", "zone", "deadline", "into", "via"];

impl EventOut {
    /// An event as shown; for the public without actor, note, photos or personal details.
    #[must_use]
    pub fn new(e: Event, public: bool) -> Self {
        if !public {
            return Self {
                seq: e.seq,
                kind: e.kind.as_str().to_owned(),
                actor: e.actor.map(|u| u.0),
                at: crate::record::rfc3339(e.at),
                note: e.note,
                photos: e.photos,
                data: e.data,
            };
        }
        let mut data = serde_json::Map::new();
        if let serde_json::Value::Object(obj) = e.data {
            for (k, v) in obj {
                if PUBLIC_EVENT_DATA.contains(&k.as_str()) {
                    data.insert(k, v);
                } else if k == "changed"
                    && let serde_json::Value::Object(mut fields) = v
                {
                    // Category, severity and description are public anyway; an old or new
                    // position is shown as its 50 m cell (it may be an indoor problem's).
                    if let Some(serde_json::Value::Object(loc)) = fields.get_mut("location") {
                        for end in loc.values_mut() {
                            *end = generalised_json(end);
                        }
                    }
                    data.insert(k, serde_json::Value::Object(fields));
                }
            }
        }
        Self {
            seq: e.seq,
            kind: e.kind.as_str().to_owned(),
            actor: None,
            at: crate::record::rfc3339(e.at),
            note: String::new(),
            photos: Vec::new(),
            data: serde_json::Value::Object(data),
        }
    }
}

/// A problem's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub problem: Uuid,
    pub events: Vec<EventOut>,
    /// Where the public after-photo is (`/api/v1/problems/{id}/photo`), when the problem has
    /// one: see that endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_photo: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/problems/{id}/history",
    tag = "problems",
    summary = "A problem's history",
    description = "Every event of the problem from the append-only event log (the rectification ledger, 整改台账), oldest first. The public and reporters see no actors, notes, photos or personal details; 404 outside the caller's scope.",
    params(("id" = Uuid, Path, description = "Problem id")),
    responses(
        (status = 200, description = "The events", body = History),
        (status = 404, description = "No such problem", body = ErrorBody),
    )
)]
async fn history(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    IdPath(id): IdPath,
) -> Result<axum::Json<History>, AppError> {
    let events = state.history_for(&actor, ProblemId(id)).await?;
    let public_photo = crate::photo::public_photo_of(&state, ProblemId(id), &events)
        .map(|_| format!("/api/v1/problems/{id}/photo"));
    Ok(axum::Json(History {
        problem: id,
        public_photo,
        events: events
            .into_iter()
            .map(|e| EventOut::new(e, actor.is_public()))
            .collect(),
    }))
}

/// A lifecycle step. `version` is the version the caller saw; fields a step does not use are
/// refused (422).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    pub version: i64,
    /// What was done or why (required for `reject`).
    #[serde(default)]
    pub note: String,
    /// Evidence: ids of photos uploaded before (SHA-256 hex).
    #[serde(default)]
    pub photos: Vec<String>,
    /// `dispatch` only: the chief; default: the chief assigned to the most specific zone
    /// containing the problem.
    pub assignee: Option<Uuid>,
    /// `dispatch` only: the zone dispatched through.
    pub zone: Option<Uuid>,
    /// `dispatch` only: the deadline (RFC 3339); default: the category's deadline.
    pub deadline: Option<DateTime<Utc>>,
    /// `merge` only: the problem this one duplicates.
    pub into: Option<Uuid>,
}

async fn do_transition(
    action: Action,
    actor: Actor,
    state: AppState,
    id: Uuid,
    crs: &CrsParam,
    body: TransitionBody,
) -> Result<Response, AppError> {
    actor.require(roles_for(action), &format!("{action} problems"))?;
    let crs = crs.crs()?;
    let dispatch_only = [
        ("assignee", body.assignee.is_some()),
        ("zone", body.zone.is_some()),
        ("deadline", body.deadline.is_some()),
    ];
    for (field, set) in dispatch_only {
        if set && action != Action::Dispatch {
            return Err(AppError::invalid(
                field,
                format!("{field} is only used by dispatch"),
            ));
        }
    }
    if body.into.is_some() && action != Action::Merge {
        return Err(AppError::invalid("into", "into is only used by merge"));
    }
    let p = state
        .transition(
            ProblemId(id),
            action,
            body.version,
            TransitionDetails {
                note: body.note,
                photos: body.photos,
                assignee: body.assignee.map(UserId),
                zone: body.zone.map(ZoneId),
                deadline: body.deadline,
                into: body.into.map(ProblemId),
            },
            &actor,
        )
        .await?;
    feature_response(StatusCode::OK, &state, p.id, crs, &actor)
}

macro_rules! transition_endpoint {
    ($fn:ident, $action:expr, $path:literal, $summary:literal, $desc:literal) => {
        #[utoipa::path(
            post,
            path = $path,
            tag = "lifecycle",
            summary = $summary,
            description = $desc,
            params(("id" = Uuid, Path, description = "Problem id"), CrsParam),
            request_body(content = TransitionBody, content_type = "application/json"),
            responses(
                (status = 200, description = "The problem after the step", body = crate::record::ProblemFeatureDoc, content_type = "application/geo+json"),
                (status = 401, description = "Sign in first", body = ErrorBody),
                (status = 403, description = "Role not allowed", body = ErrorBody),
                (status = 404, description = "No such problem", body = ErrorBody),
                (status = 409, description = "Stale version (`current_version` says the current one), or a step the status does not allow (the message lists the allowed ones)", body = ErrorBody),
                (status = 422, description = "Invalid value", body = ErrorBody),
            )
        )]
        async fn $fn(
            actor: Actor,
            axum::extract::State(state): axum::extract::State<AppState>,
            IdPath(id): IdPath,
            AppQuery(q): AppQuery<CrsParam>,
            AppJson(body): AppJson<TransitionBody>,
        ) -> Result<Response, AppError> {
            do_transition($action, actor, state, id, &q, body).await
        }
    };
}

transition_endpoint!(
    dispatch,
    Action::Dispatch,
    "/api/v1/problems/{id}/dispatch",
    "Dispatch (派单)",
    "reported, escalated or recurred -> dispatched. Sets the chief, the zone and the deadline (defaults: the chief of the most specific zone containing the problem; the category's deadline). Roles: admin, street_office, area_chief."
);
transition_endpoint!(
    escalate,
    Action::Escalate,
    "/api/v1/problems/{id}/escalate",
    "Escalate (转给块长)",
    "reported, dispatched or recurred -> escalated: the chief cannot solve it. Roles: admin, street_office and chiefs."
);
transition_endpoint!(
    rectify,
    Action::Rectify,
    "/api/v1/problems/{id}/rectify",
    "Rectify (整改)",
    "dispatched or escalated -> rectified, with evidence in `note` and `photos`. Roles: admin, street_office and chiefs."
);
transition_endpoint!(
    reject,
    Action::Reject,
    "/api/v1/problems/{id}/reject",
    "Reject a rectification (返工)",
    "rectified -> dispatched; counts as rework; `note` gives the reason. Roles: admin, street_office, area_chief."
);
transition_endpoint!(
    verify,
    Action::Verify,
    "/api/v1/problems/{id}/verify",
    "Verify and close (核查结案)",
    "rectified -> closed, by someone other than the one who rectified (403 otherwise). Roles: admin, street_office, area_chief."
);
transition_endpoint!(
    recur,
    Action::Recur,
    "/api/v1/problems/{id}/recur",
    "Recurrence (回潮)",
    "closed -> recurred: a look-back found the problem back. Roles: admin, street_office and chiefs."
);
transition_endpoint!(
    merge,
    Action::Merge,
    "/api/v1/problems/{id}/merge",
    "Merge a duplicate",
    "An open problem -> merged into `into` (final). Roles: admin, street_office, area_chief."
);

// ---- zones -------------------------------------------------------------------------------

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
async fn list_zones(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    AppQuery(q): AppQuery<ZoneListParams>,
) -> Result<Response, AppError> {
    let crs = params::parse_crs(q.crs.as_deref())?;
    let limit = page_limit(&state, q.limit, "limit")?;
    let kinds = match q.kind.as_deref() {
        Some(k) => Some(
            params::parse_list("kind", k, 8)?
                .into_iter()
                .map(|k| {
                    k.parse::<ZoneKind>()
                        .map_err(|e| AppError::bad_param("kind", e))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(ZoneId(
            c.strip_prefix("z1.")
                .and_then(|h| Uuid::parse_str(h).ok())
                .ok_or_else(|| {
                    AppError::bad_param("cursor", "not a cursor returned by this server")
                })?,
        )),
        None => None,
    };
    let at = match q.at.as_deref() {
        Some(s) => {
            let v = s
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<Vec<_>, _>>()
                .ok()
                .filter(|v| v.len() == 2)
                .ok_or_else(|| AppError::bad_param("at", "expected lon,lat"))?;
            let (lon, lat) =
                input_position(crs, v[0], v[1]).map_err(|e| AppError::bad_param("at", e))?;
            Some(state.containing_zones(lon, lat))
        }
        None => None,
    };
    let assignments = state.assignments();
    let g = state.zones();
    let mut zones: Vec<&Zone> = Vec::with_capacity(limit + 1);
    let start = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
    for (id, z) in g.map.range((start, std::ops::Bound::Unbounded)) {
        if kinds.as_ref().is_some_and(|k| !k.contains(&z.kind)) {
            continue;
        }
        if at.as_ref().is_some_and(|ids| !ids.contains(id)) {
            continue;
        }
        zones.push(z);
        if zones.len() > limit {
            break;
        }
    }
    let next = (zones.len() > limit).then(|| {
        zones.truncate(limit);
        format!(
            "z1.{}",
            zones
                .last()
                .map_or_else(String::new, |z| z.id.0.simple().to_string())
        )
    });
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
    let mut body = serde_json::json!({
        "type": "FeatureCollection",
        "features": features,
        "numberReturned": features.len(),
    });
    if let Some(n) = next {
        body["next"] = n.into();
    }
    Ok(geojson::value_response(StatusCode::OK, &body))
}

/// A zone as sent by clients: a GeoJSON `Feature` with a `Polygon` or `MultiPolygon` geometry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneIn {
    /// `Feature`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Ignored on input (the id comes from the path, or is new).
    #[schema(value_type = Option<Object>)]
    pub id: Option<serde_json::Value>,
    /// `Polygon` or `MultiPolygon`, lon/lat in the CRS of `crs`.
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
}

fn zone_from_input(
    id: ZoneId,
    input: ZoneIn,
    crs: Crs,
    max_vertices: usize,
) -> Result<Zone, AppError> {
    if input.kind != "Feature" {
        return Err(AppError::invalid("type", "expected a GeoJSON Feature"));
    }
    let mp = params::geojson_multipolygon("geometry", &input.geometry)
        .map_err(|e| AppError::invalid("geometry", e))?;
    params::check_multipolygon("geometry", &mp, max_vertices)
        .map_err(|e| AppError::invalid("geometry", e))?;
    let geometry = params::convert_multipolygon(mp, crs);
    let p = input.properties;
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
fn zone_vertices(state: &AppState) -> usize {
    state.config().limits.polygon_vertices.saturating_mul(20)
}

#[utoipa::path(
    post,
    path = "/api/v1/zones",
    tag = "zones",
    summary = "Create a zone",
    params(CrsParam),
    request_body(content = ZoneIn, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Object, content_type = "application/geo+json"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
async fn create_zone(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<ZoneIn>,
) -> Result<Response, AppError> {
    actor.require(MANAGERS, "manage zones")?;
    let crs = q.crs()?;
    let zone = zone_from_input(ZoneId::new(), body, crs, zone_vertices(&state))?;
    let id = zone.id;
    state.put_zone(zone).await?;
    audit(&actor, "zone created", &id);
    zone_response(StatusCode::CREATED, &state, id, crs, &actor)
}

fn zone_response(
    status: StatusCode,
    state: &AppState,
    id: ZoneId,
    crs: Crs,
    actor: &Actor,
) -> Result<Response, AppError> {
    let assignments = state.assignments();
    let g = state.zones();
    let z = g
        .map
        .get(&id)
        .ok_or_else(|| AppError::NotFound(format!("no zone {id}")))?;
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
async fn get_zone(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
) -> Result<Response, AppError> {
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
async fn put_zone(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<ZoneIn>,
) -> Result<Response, AppError> {
    actor.require(MANAGERS, "manage zones")?;
    let crs = q.crs()?;
    let zone = zone_from_input(ZoneId(id), body, crs, zone_vertices(&state))?;
    state.put_zone(zone).await?;
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
        (status = 404, description = "No such zone", body = ErrorBody),
    )
)]
async fn delete_zone(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    IdPath(id): IdPath,
) -> Result<StatusCode, AppError> {
    actor.require(MANAGERS, "manage zones")?;
    state.delete_zone(ZoneId(id)).await?;
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
        (status = 200, description = "A page of problems", body = crate::record::ProblemCollectionDoc, content_type = "application/geo+json"),
        (status = 404, description = "No such zone", body = ErrorBody),
    )
)]
async fn zone_problems(
    actor: Actor,
    headers: HeaderMap,
    axum::extract::State(state): axum::extract::State<AppState>,
    IdPath(id): IdPath,
    AppQuery(mut q): AppQuery<ListParams>,
) -> Result<Response, AppError> {
    if !state.zones().map.contains_key(&ZoneId(id)) {
        return Err(AppError::NotFound(format!("no zone {id}")));
    }
    q.zone = Some(id.to_string());
    list_problems(actor, headers, axum::extract::State(state), AppQuery(q)).await
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
async fn list_pois(
    axum::extract::State(state): axum::extract::State<AppState>,
    AppQuery(q): AppQuery<ZoneListParams>,
) -> Result<Response, AppError> {
    let crs = params::parse_crs(q.crs.as_deref())?;
    let limit = page_limit(&state, q.limit, "limit")?;
    if q.at.is_some() {
        return Err(AppError::bad_param(
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
                        .map_err(|e| AppError::bad_param("kind", e))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(PoiId(
            c.strip_prefix("i1.")
                .and_then(|h| Uuid::parse_str(h).ok())
                .ok_or_else(|| {
                    AppError::bad_param("cursor", "not a cursor returned by this server")
                })?,
        )),
        None => None,
    };
    let g = state.pois();
    let start = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
    let mut items: Vec<&Poi> = g
        .range((start, std::ops::Bound::Unbounded))
        .map(|(_, p)| p)
        .filter(|p| kinds.as_ref().is_none_or(|k| k.contains(&p.kind)))
        .take(limit + 1)
        .collect();
    let next = (items.len() > limit).then(|| {
        items.truncate(limit);
        format!(
            "i1.{}",
            items
                .last()
                .map_or_else(String::new, |p| p.id.0.simple().to_string())
        )
    });
    let features: Vec<serde_json::Value> =
        items.iter().map(|p| geojson::poi_feature(p, crs)).collect();
    drop(g);
    let mut body = serde_json::json!({
        "type": "FeatureCollection",
        "features": features,
        "numberReturned": features.len(),
    });
    if let Some(n) = next {
        body["next"] = n.into();
    }
    Ok(geojson::value_response(StatusCode::OK, &body))
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

fn poi_from_input(id: PoiId, input: PoiIn, crs: Crs, max_vertices: usize) -> Result<Poi, AppError> {
    if input.kind != "Feature" {
        return Err(AppError::invalid("type", "expected a GeoJSON Feature"));
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

fn poi_response(
    status: StatusCode,
    state: &AppState,
    id: PoiId,
    crs: Crs,
) -> Result<Response, AppError> {
    let g = state.pois();
    let p = g
        .get(&id)
        .ok_or_else(|| AppError::NotFound(format!("no point of interest {id}")))?;
    let f = geojson::poi_feature(p, crs);
    drop(g);
    Ok(geojson::value_response(status, &f))
}

#[utoipa::path(
    post,
    path = "/api/v1/pois",
    tag = "pois",
    summary = "Create a point of interest",
    params(CrsParam),
    request_body(content = PoiIn, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Object, content_type = "application/geo+json"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
async fn create_poi(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<PoiIn>,
) -> Result<Response, AppError> {
    actor.require(MANAGERS, "manage points of interest")?;
    let crs = q.crs()?;
    let poi = poi_from_input(PoiId::new(), body, crs, zone_vertices(&state))?;
    let id = poi.id;
    state.put_poi(poi).await?;
    audit(&actor, "point of interest created", &id);
    poi_response(StatusCode::CREATED, &state, id, crs)
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
async fn get_poi(
    axum::extract::State(state): axum::extract::State<AppState>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
) -> Result<Response, AppError> {
    poi_response(StatusCode::OK, &state, PoiId(id), q.crs()?)
}

#[utoipa::path(
    put,
    path = "/api/v1/pois/{id}",
    tag = "pois",
    summary = "Create or replace a point of interest",
    params(("id" = Uuid, Path, description = "Point of interest id"), CrsParam),
    request_body(content = PoiIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Stored", body = Object, content_type = "application/geo+json"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
async fn put_poi(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<PoiIn>,
) -> Result<Response, AppError> {
    actor.require(MANAGERS, "manage points of interest")?;
    let crs = q.crs()?;
    let poi = poi_from_input(PoiId(id), body, crs, zone_vertices(&state))?;
    state.put_poi(poi).await?;
    audit(&actor, "point of interest stored", &id);
    poi_response(StatusCode::OK, &state, PoiId(id), crs)
}

// ---- categories --------------------------------------------------------------------------

/// A category as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryOut {
    /// Stable code, e.g. `zombie_car`.
    pub code: String,
    /// Chinese name, e.g. `僵尸车`.
    pub zh: String,
    pub en: String,
    /// Weight of one open problem in heat scores (1 = ordinary).
    pub weight: f64,
    /// Default rectification deadline, working hours (8 = one working day).
    pub deadline_hours: u32,
    /// Typical time on site, minutes.
    pub service_minutes: u32,
    /// Found inside residential buildings: shown generalised to the public.
    pub indoor: bool,
}

impl From<&Category> for CategoryOut {
    fn from(c: &Category) -> Self {
        Self {
            code: c.code.clone(),
            zh: c.name_zh.clone(),
            en: c.name_en.clone(),
            weight: c.weight,
            deadline_hours: c.deadline_hours,
            service_minutes: c.service_minutes,
            indoor: c.indoor,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/categories",
    tag = "categories",
    summary = "The category table",
    responses((status = 200, description = "Every category", body = Vec<CategoryOut>))
)]
async fn list_categories(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<Vec<CategoryOut>> {
    let t = state.categories();
    axum::Json(t.iter().map(|(_, c)| CategoryOut::from(c)).collect())
}

#[utoipa::path(
    put,
    path = "/api/v1/categories/{code}",
    tag = "categories",
    summary = "Create or change a category",
    params(("code" = String, Path, description = "Category code")),
    request_body(content = CategoryOut, content_type = "application/json"),
    responses(
        (status = 200, description = "Stored", body = CategoryOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
async fn put_category(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(code): Path<String>,
    AppJson(body): AppJson<CategoryOut>,
) -> Result<axum::Json<CategoryOut>, AppError> {
    actor.require(MANAGERS, "manage categories")?;
    if body.code != code {
        return Err(AppError::invalid(
            "code",
            "the code in the body differs from the path",
        ));
    }
    let c = Category {
        code: body.code,
        name_zh: body.zh,
        name_en: body.en,
        weight: body.weight,
        deadline_hours: body.deadline_hours,
        service_minutes: body.service_minutes,
        indoor: body.indoor,
    };
    state.put_category(c.clone()).await?;
    audit(&actor, "category stored", &c.code);
    Ok(axum::Json(CategoryOut::from(&c)))
}

// ---- assignments -------------------------------------------------------------------------

/// A chief assigned to a zone.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentOut {
    pub zone: Uuid,
    pub user: Uuid,
    /// The chief's login name and the name shown to others (empty for an unknown account).
    pub name: String,
    pub display_name: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/assignments",
    tag = "zones",
    summary = "Zone assignments",
    description = "Which chief owns which zone, with the chief's login and display names. Staff only (401/403 for the public).",
    responses(
        (status = 200, description = "Every assignment", body = Vec<AssignmentOut>),
        (status = 401, description = "Sign in first", body = ErrorBody),
    )
)]
async fn list_assignments(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<axum::Json<Vec<AssignmentOut>>, AppError> {
    if actor.is_public() {
        return Err(if actor.authenticated {
            AppError::Forbidden("assignments are visible to staff only".into())
        } else {
            AppError::Unauthorized("sign in to see assignments".into())
        });
    }
    let mut a = state.assignments();
    a.sort();
    let names = state.user_names().await?;
    Ok(axum::Json(
        a.into_iter()
            .map(|(z, u)| {
                let (name, display_name) = names.get(&u).cloned().unwrap_or_default();
                AssignmentOut {
                    zone: z.0,
                    user: u.0,
                    name,
                    display_name,
                }
            })
            .collect(),
    ))
}

/// Query of the coverage check.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageParams {
    /// The zone whose area is checked (the street's boundary, an area zone). Default: the
    /// street's management grid (every grid cell, or the caller's street's cells).
    pub boundary: Option<String>,
    /// Overlaps smaller than this are not listed, m² (default 100: slivers where two road
    /// buffers meet at a crossing are not a problem).
    pub min_overlap_m2: Option<f64>,
    /// `wgs84` (default) or `gcj02` for the output.
    pub crs: Option<String>,
}

/// At most this many grid cells are unioned into a default boundary (a street has hundreds).
const MAX_COVERAGE_CELLS: usize = 20_000;

#[utoipa::path(
    get,
    path = "/api/v1/assignments/coverage",
    tag = "zones",
    summary = "Check chief coverage: parts of the street no chief covers, overlaps between chiefs",
    description = "A GeoJSON FeatureCollection: one `uncovered` feature (the parts of the boundary inside no assigned zone, MultiPolygon) and one `overlap` feature per pair of different chiefs whose zones overlap inside the boundary, largest first, with both chiefs' names and ids. Foreign members give the areas in m²: `boundary_m2`, `uncovered_m2`, `covered_share`. Street office and admin only.",
    params(CoverageParams),
    responses(
        (status = 200, description = "Coverage", content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter, or no boundary to check", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 404, description = "No such boundary zone", body = ErrorBody),
    )
)]
async fn assignment_coverage(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    AppQuery(q): AppQuery<CoverageParams>,
) -> Result<Response, AppError> {
    actor.require(MANAGERS, "check chief coverage")?;
    let crs = params::parse_crs(q.crs.as_deref())?;
    let min_overlap = q.min_overlap_m2.unwrap_or(100.0);
    if !(min_overlap.is_finite() && min_overlap >= 0.0) {
        return Err(AppError::bad_param(
            "min_overlap_m2",
            format!("{min_overlap} is not a finite area >= 0"),
        ));
    }
    let street = actor.user.and_then(|u| state.auth().street_of(u));
    let (boundary, chief_zones) = {
        let zones = state.zones();
        let boundary = coverage_boundary(&zones, q.boundary.as_deref(), street.as_deref())?;
        let assigned: Vec<(Zone, UserId)> = state
            .assignments()
            .into_iter()
            .filter_map(|(z, u)| Some((zones.map.get(&z)?.clone(), u)))
            .collect();
        (boundary, assigned)
    };
    let names = state.user_names().await?;
    let chiefs: Vec<civmap_geodata::zones::ChiefZone> = chief_zones
        .into_iter()
        .map(|(z, u)| civmap_geodata::zones::ChiefZone {
            chief: u.0.to_string(),
            geometry: z.geometry,
        })
        .collect();
    // Polygon unions and differences: tens of milliseconds for a street, off the async workers.
    let cov = tokio::task::spawn_blocking(move || {
        civmap_geodata::zones::coverage(&boundary, &chiefs, min_overlap)
    })
    .await
    .map_err(|e| AppError::Internal(format!("coverage task: {e}")))?;
    let who = |id: &str| {
        let uid = Uuid::parse_str(id).ok().map(UserId);
        let (name, display) = uid
            .and_then(|u| names.get(&u).cloned())
            .unwrap_or_else(|| (id.to_owned(), String::new()));
        serde_json::json!({"id": id, "name": name, "display_name": display})
    };
    let mut features = vec![serde_json::json!({
        "type": "Feature",
        "id": "uncovered",
        "geometry": geojson::multipolygon_json(&cov.uncovered, crs),
        "properties": {"kind": "uncovered", "area_m2": cov.uncovered_m2},
    })];
    for (i, o) in cov.overlaps.iter().enumerate() {
        features.push(serde_json::json!({
            "type": "Feature",
            "id": format!("overlap-{}", i + 1),
            "geometry": geojson::multipolygon_json(&o.geometry, crs),
            "properties": {
                "kind": "overlap",
                "area_m2": o.area_m2,
                "chief_a": who(&o.chief_a),
                "chief_b": who(&o.chief_b),
            },
        }));
    }
    let covered_share = if cov.street_m2 > 0.0 {
        1.0 - cov.uncovered_m2 / cov.street_m2
    } else {
        0.0
    };
    Ok(geojson::value_response(
        StatusCode::OK,
        &serde_json::json!({
            "type": "FeatureCollection",
            "boundary_m2": cov.street_m2,
            "uncovered_m2": cov.uncovered_m2,
            "covered_share": covered_share,
            "overlaps": cov.overlaps.len(),
            "features": features,
        }),
    ))
}

/// The area a coverage check looks at: the zone `boundary` names, or else the union of the
/// grid cells of the caller's street (all grid cells for a caller without a street).
fn coverage_boundary(
    zones: &crate::state::Zones,
    boundary: Option<&str>,
    street: Option<&str>,
) -> Result<geo::MultiPolygon<f64>, AppError> {
    if let Some(b) = boundary {
        let id = ZoneId(parse_uuid("boundary", b)?);
        return Ok(zones
            .map
            .get(&id)
            .ok_or_else(|| AppError::NotFound(format!("no zone {b}")))?
            .geometry
            .clone());
    }
    let cells: Vec<&geo::MultiPolygon<f64>> = zones
        .map
        .values()
        .filter(|z| z.kind == ZoneKind::GridCell)
        .filter(|z| street.is_none_or(|s| z.code.as_deref().is_some_and(|c| c.starts_with(s))))
        .map(|z| &z.geometry)
        .collect();
    if cells.is_empty() {
        return Err(AppError::bad_param(
            "boundary",
            "there is no management grid to check; pass boundary=<zone id> (the street's area zone)",
        ));
    }
    if cells.len() > MAX_COVERAGE_CELLS {
        return Err(AppError::bad_param(
            "boundary",
            format!(
                "{} grid cells is more than {MAX_COVERAGE_CELLS}; pass boundary=<zone id>",
                cells.len()
            ),
        ));
    }
    Ok(geo::unary_union(cells))
}

#[utoipa::path(
    put,
    path = "/api/v1/zones/{id}/assignees/{user}",
    tag = "zones",
    summary = "Assign a chief to a zone",
    params(("id" = Uuid, Path, description = "Zone id"), ("user" = Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Assigned"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 404, description = "No such zone or user", body = ErrorBody),
    )
)]
async fn assign(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    TwoIds(zone, user): TwoIds,
) -> Result<StatusCode, AppError> {
    actor.require(MANAGERS, "assign chiefs")?;
    state.assign(ZoneId(zone), UserId(user)).await?;
    audit(&actor, "chief assigned", &format!("{zone} {user}"));
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/api/v1/zones/{id}/assignees/{user}",
    tag = "zones",
    summary = "Remove a chief from a zone",
    params(("id" = Uuid, Path, description = "Zone id"), ("user" = Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
    )
)]
async fn unassign(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    TwoIds(zone, user): TwoIds,
) -> Result<StatusCode, AppError> {
    actor.require(MANAGERS, "assign chiefs")?;
    state.unassign(ZoneId(zone), UserId(user)).await?;
    audit(&actor, "chief unassigned", &format!("{zone} {user}"));
    Ok(StatusCode::NO_CONTENT)
}
