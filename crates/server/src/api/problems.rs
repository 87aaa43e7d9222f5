//! `/api/v1/problems`: report, read, edit, list with filters and cursor pagination, history,
//! and one endpoint per lifecycle step.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use civmap_app::App;
use civmap_app::actor::{Actor, EDITORS, roles_for};
use civmap_app::capture::Capture;
use civmap_app::privacy::mask_personal;
use civmap_app::problems::{Edit, ReportDetails, TransitionDetails};
use civmap_app::spatial::{BBox, Spatial};
use civmap_app::time::{check_order, to_ms};
use civmap_domain::{
    Action, Event, LonLat, NewProblem, ProblemId, Severity, Status, UserId, ZoneId,
};
use civmap_geodata::crs::Crs;
use civmap_index::{Filter, StatusSet};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::common::{
    CrsParam, IdPath, RefPath, base_url, feature_response, feature_response_with, parse_uuid,
    record_response,
};
use crate::auth::Caller;
use crate::cursor;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppJson, AppQuery};
use crate::geojson;
use crate::params::{self, TimeRange, input_position};
use crate::render::{Names, PropertySet, View, view};

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
    /// Reported at or after this instant (RFC 3339, or a date: from 00:00 that day in China
    /// Standard Time).
    pub from: Option<String>,
    /// Reported at or before this instant (RFC 3339, or a date: to the end of that day in China
    /// Standard Time, inclusive).
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
    pub fn parse(&self, state: &App, actor: &Actor) -> Result<ListRequest, ApiError> {
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
            if let Some(b) = civmap_app::spatial::bounds(&mp) {
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
                    .map(|s| params::parse_instant_end("to", s))
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
    state: &App,
    actor: &Actor,
    field: &str,
    b: &BBox,
) -> Result<(), ApiError> {
    let max = state.config().limits.anonymous_bbox_deg2;
    if !actor.authenticated && b.area_deg2() > max {
        return Err(ApiError::invalid(
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
pub fn page_limit(state: &App, limit: Option<usize>, field: &str) -> Result<usize, ApiError> {
    let l = &state.config().limits;
    match limit {
        None => Ok(l.page_default),
        Some(n) if (1..=l.page_max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_param(
            field,
            format!("{n} is outside 1..={}", l.page_max),
        )),
    }
}

/// Builds the attribute filter (category, status, severity, time range).
pub fn build_filter(
    state: &App,
    category: Option<&str>,
    status: Option<&str>,
    severity_min: Option<&str>,
    range: TimeRange,
) -> Result<Filter, ApiError> {
    let max = state.config().limits.filter_values;
    let mut f = Filter::default();
    if let Some(c) = category {
        let table = state.categories();
        let ids = params::parse_list("category", c, max)?
            .into_iter()
            .map(|code| {
                table.id(code).map_err(|_| {
                    ApiError::bad_param("category", format!("unknown category {code:?}"))
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
                        .map_err(|e| ApiError::bad_param("status", e))?])
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
            .map_err(|e| ApiError::bad_param("severity_min", e))?;
        f = f.with_min_severity(sev);
    }
    if let (Some(a), Some(b)) = (range.from, range.to) {
        check_order("to", a, b)?;
    }
    // The index's upper bound is exclusive; ours is inclusive.
    f = f.with_reported_between(
        range.from.map(to_ms),
        range.to.map(|t| to_ms(t).saturating_add(1)),
    );
    Ok(f)
}

/// Parses `properties=a,b`; 400 naming `properties` for an unknown name.
pub fn parse_properties(s: Option<&str>) -> Result<PropertySet, ApiError> {
    match s {
        None => Ok(PropertySet::ALL),
        Some(list) => PropertySet::parse(list).map_err(|name| {
            ApiError::bad_param(
                "properties",
                format!(
                    "unknown property {name:?}; known: {}",
                    crate::render::PROPERTY_NAMES.join(", ")
                ),
            )
        }),
    }
}

/// The opaque cursor after `id`.
#[must_use]
pub fn encode_cursor(id: ProblemId) -> String {
    cursor::encode(cursor::PROBLEMS, id.0)
}

/// Reads a cursor made by [`encode_cursor`]; 400 naming `cursor` otherwise.
pub fn decode_cursor(s: &str) -> Result<ProblemId, ApiError> {
    cursor::decode(cursor::PROBLEMS, s).map(ProblemId)
}

#[utoipa::path(
    get,
    path = "/api/v1/problems",
    tag = "problems",
    summary = "List problems",
    description = "Problems matching every filter, ordered by id (UUIDv7, so by creation time), as a GeoJSON FeatureCollection. Follow `next` (or the `next` link) for the following page; a walk with cursors returns every matching problem exactly once.",
    params(ListParams),
    responses(
        (status = 200, description = "A page of problems", body = crate::render::ProblemCollectionDoc, content_type = "application/geo+json"),
        (status = 400, description = "A malformed parameter", body = ErrorBody),
        (status = 422, description = "A parameter over a limit (bbox area)", body = ErrorBody),
    )
)]
pub async fn list_problems(
    Caller { actor, .. }: Caller,
    headers: HeaderMap,
    axum::extract::State(state): axum::extract::State<App>,
    AppQuery(q): AppQuery<ListParams>,
) -> Result<Response, ApiError> {
    let base = base_url(&state, &headers);
    list_answer(&state, &actor, &q, Some(&base)).await
}

/// The body of `POST /api/v1/problems/search`: the filters of `GET /api/v1/problems`, with the
/// polygon as GeoJSON (an object) or as text, so polygons too long for a URL can be sent.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// `minLon,minLat,maxLon,maxLat`, degrees.
    pub bbox: Option<String>,
    /// `lon,lat,metres`.
    pub radius: Option<String>,
    /// A GeoJSON Polygon/MultiPolygon (or Feature) object, or the text of one, or WKT. At most
    /// `limits.polygon_vertices` vertices.
    #[schema(value_type = Option<Object>)]
    pub polygon: Option<Value>,
    /// A zone id.
    pub zone: Option<String>,
    /// Category codes, comma-separated.
    pub category: Option<String>,
    /// Statuses, comma-separated; `open` for every open one.
    pub status: Option<String>,
    /// Lowest severity.
    pub severity_min: Option<String>,
    /// Reported at or after (RFC 3339 or a date).
    pub from: Option<String>,
    /// Reported at or before (RFC 3339 or a date).
    pub to: Option<String>,
    /// Page size, 1..=`limits.page_max`.
    pub limit: Option<usize>,
    /// The `next` value of the previous page (send the same body with it).
    pub cursor: Option<String>,
    /// CRS of the coordinates in the filters and in the response.
    pub crs: Option<String>,
    /// Only these properties, comma-separated.
    pub properties: Option<String>,
}

impl SearchBody {
    fn into_params(self) -> ListParams {
        ListParams {
            bbox: self.bbox,
            radius: self.radius,
            polygon: self.polygon.map(|p| match p {
                Value::String(s) => s,
                other => other.to_string(),
            }),
            zone: self.zone,
            category: self.category,
            status: self.status,
            severity_min: self.severity_min,
            from: self.from,
            to: self.to,
            limit: self.limit,
            cursor: self.cursor,
            crs: self.crs,
            properties: self.properties,
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/problems/search",
    tag = "problems",
    summary = "List problems, filters in the body",
    description = "The same answer as `GET /api/v1/problems` with the filters sent as a JSON body, for polygons of thousands of vertices that do not fit in a URL. The next page: the same body with `cursor` set to the answer's `next` (there is no `next` link).",
    request_body(content = SearchBody, content_type = "application/json"),
    responses(
        (status = 200, description = "A page of problems", body = crate::render::ProblemCollectionDoc, content_type = "application/geo+json"),
        (status = 400, description = "A malformed filter", body = ErrorBody),
        (status = 422, description = "A filter over a limit (bbox area, polygon vertices)", body = ErrorBody),
    )
)]
pub async fn search_problems(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    AppJson(body): AppJson<SearchBody>,
) -> Result<Response, ApiError> {
    list_answer(&state, &actor, &body.into_params(), None).await
}

/// A page of problems for the filters `q`; with `base`, the answer's `next` link repeats the
/// filters in a `GET /api/v1/problems` URL.
async fn list_answer(
    state: &App,
    actor: &Actor,
    q: &ListParams,
    base: Option<&str>,
) -> Result<Response, ApiError> {
    let req = q.parse(state, actor)?;
    let scope = state.scope(actor);
    // `from`/`to` reaching before the hot window read the cold problems too.
    let page = state
        .query_scoped_any(&scope, &req.spatial, &req.filter, req.after, req.limit)
        .await?;
    let next_link = page.next_after.zip(base).map(|(after, base)| {
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
        format!("{base}/api/v1/problems?{}", pairs.finish())
    });
    let table = state.categories();
    let names = Names::new(state, actor);
    let g = state.problems();
    let v = View {
        props: req.props,
        ..view(&table, &names, req.crs, actor)
    };
    let body = geojson::problem_collection(
        &g.map,
        &page.cold,
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
    /// When the phone captured the report (the photo taken, the form filled), RFC 3339; kept
    /// beside the server's received time. At most 10 minutes ahead of the server and 30 days
    /// old (422 naming `captured_at`).
    #[serde(default)]
    #[schema(example = "2026-12-07T08:15:00+08:00")]
    pub captured_at: Option<String>,
    /// The GPS accuracy of the position, metres, 0 to 10,000 (422 naming `accuracy_m`).
    #[serde(default)]
    #[schema(example = 12.5)]
    pub accuracy_m: Option<f64>,
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
        (status = 201, description = "Stored", body = crate::render::ProblemFeatureDoc, content_type = "application/geo+json"),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "An invalid value, named in `field`", body = ErrorBody),
        (status = 429, description = "Too many anonymous reports from this address", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
pub async fn create_problem(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<CreateProblem>,
) -> Result<Response, ApiError> {
    let crs = q.crs()?;
    let (lon, lat) = input_position(crs, body.lon, body.lat)?;
    let report = NewProblem {
        lon,
        lat,
        category: body.category,
        severity: body.severity.unwrap_or(Severity::Medium),
        description: body.description,
    };
    let captured_at = body
        .captured_at
        .as_deref()
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|e| {
                    ApiError::invalid("captured_at", format!("{s:?} is not an RFC 3339 time: {e}"))
                })
        })
        .transpose()?;
    let details = ReportDetails {
        note: body.note,
        photos: body.photos,
        capture: Capture {
            captured_at,
            accuracy_m: body.accuracy_m,
        },
        ..ReportDetails::via("api")
    };
    let p = state.create(report, &actor, details).await?;
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

#[utoipa::path(
    get,
    path = "/api/v1/problems/{id}",
    tag = "problems",
    summary = "One problem",
    description = "By its id or its case number (`CM261207-0003`, as printed and read out). 404 also for a problem outside the caller's scope (a chief's zones, a street office's street), so guessing ids tells nothing.",
    params(("id" = String, Path, description = "Problem id (UUID) or case number"), CrsParam),
    responses(
        (status = 200, description = "The problem", body = crate::render::ProblemFeatureDoc, content_type = "application/geo+json"),
        (status = 400, description = "Neither an id nor a case number", body = ErrorBody),
        (status = 404, description = "No such problem", body = ErrorBody),
    )
)]
pub async fn get_problem(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    RefPath(id): RefPath,
    AppQuery(q): AppQuery<CrsParam>,
) -> Result<Response, ApiError> {
    let crs = q.crs()?;
    // Hot or cold (a problem closed before the hot window is read from the database).
    let id = state.resolve_ref(&id).await?;
    state.check_visible_any(&state.scope(&actor), id).await?;
    let record = state
        .fetch_record(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no problem {id}")))?;
    record_response(StatusCode::OK, &state, id, &record, crs, &actor, None)
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
        (status = 200, description = "The edited problem", body = crate::render::ProblemFeatureDoc, content_type = "application/geo+json"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 404, description = "No such problem", body = ErrorBody),
        (status = 409, description = "Stale version, or a merged problem", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn edit_problem(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<EditProblem>,
) -> Result<Response, ApiError> {
    actor.require(EDITORS, "edit problems")?;
    let crs = q.crs()?;
    let location = match (body.lon, body.lat) {
        (Some(lon), Some(lat)) => {
            let (x, y) = input_position(crs, lon, lat)?;
            Some(LonLat::new(x, y)?)
        }
        (None, None) => None,
        (Some(_), None) => return Err(ApiError::invalid("lat", "lon and lat go together")),
        (None, Some(_)) => return Err(ApiError::invalid("lon", "lon and lat go together")),
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
    /// The display name of `actor` (staff only), so a history reads who did what.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    /// The display name of the account `data.assignee` names (staff only: dispatches and
    /// escalations say to whom).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_name: Option<String>,
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
                serde_json::json!(civmap_app::privacy::generalise_position([lon, lat]))
            }
            _ => serde_json::Value::Null,
        },
        _ => serde_json::Value::Null,
    }
}

/// Keys of an event's `data` the public may see (`public_description` masked, see below).
const PUBLIC_EVENT_DATA: [&str; 7] = ["from", "to", "zone", "deadline", "into", "via", "hidden"];

impl EventOut {
    /// An event as shown; for the public without actor, note, photos or personal details.
    /// `reworded`: the street office set what the public reads of this problem's description,
    /// so the public history shows none of the description as written (its edits are left out).
    #[must_use]
    pub fn new(e: Event, public: bool, reworded: bool) -> Self {
        if !public {
            return Self {
                seq: e.seq,
                kind: e.kind.as_str().to_owned(),
                actor: e.actor.map(|u| u.0),
                actor_name: None,
                assignee_name: None,
                at: civmap_app::time::rfc3339(e.at),
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
                } else if k == "public_description"
                    && let serde_json::Value::String(text) = &v
                {
                    // The office wrote it for the public; masked all the same.
                    data.insert(k, mask_personal(text).into_owned().into());
                } else if k == "changed"
                    && let serde_json::Value::Object(mut fields) = v
                {
                    // Category, severity and description are public anyway (the description
                    // with personal data masked, as everywhere public); an old or new position
                    // is shown as its 50 m cell (it may be an indoor problem's).
                    if let Some(serde_json::Value::Object(loc)) = fields.get_mut("location") {
                        for end in loc.values_mut() {
                            *end = generalised_json(end);
                        }
                    }
                    if reworded {
                        fields.remove("description");
                    }
                    if let Some(serde_json::Value::Object(desc)) = fields.get_mut("description") {
                        for end in desc.values_mut() {
                            if let serde_json::Value::String(text) = end {
                                *text = mask_personal(text).into_owned();
                            }
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
            actor_name: None,
            assignee_name: None,
            at: civmap_app::time::rfc3339(e.at),
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
pub async fn history(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    IdPath(id): IdPath,
) -> Result<axum::Json<History>, ApiError> {
    let events = state.history_for(&actor, ProblemId(id)).await?;
    let public_photo = state
        .public_photo_of(ProblemId(id), &events)
        .await
        .map(|_| format!("/api/v1/problems/{id}/photo"));
    let public = actor.is_public();
    let reworded = state.public_texts().get(ProblemId(id)).is_some();
    let mut events: Vec<EventOut> = events
        .into_iter()
        .map(|e| EventOut::new(e, public, reworded))
        .collect();
    if !public {
        let people = state.people().await?;
        let name = |id: Uuid| {
            people.get(&UserId(id)).map(|p| {
                if p.display_name.is_empty() {
                    p.name.clone()
                } else {
                    p.display_name.clone()
                }
            })
        };
        for e in &mut events {
            e.actor_name = e.actor.and_then(name);
            e.assignee_name = e
                .data
                .get("assignee")
                .and_then(serde_json::Value::as_str)
                .and_then(|s| s.parse::<Uuid>().ok())
                .and_then(name);
        }
    }
    Ok(axum::Json(History {
        problem: id,
        public_photo,
        events,
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

pub async fn do_transition(
    action: Action,
    actor: Actor,
    state: App,
    id: Uuid,
    crs: &CrsParam,
    body: TransitionBody,
) -> Result<Response, ApiError> {
    actor.require(roles_for(action), &format!("{action} problems"))?;
    let crs = crs.crs()?;
    let dispatch_only = [
        ("assignee", body.assignee.is_some()),
        ("zone", body.zone.is_some()),
        ("deadline", body.deadline.is_some()),
    ];
    for (field, set) in dispatch_only {
        if set && action != Action::Dispatch {
            return Err(ApiError::invalid(
                field,
                format!("{field} is only used by dispatch"),
            ));
        }
    }
    if body.into.is_some() && action != Action::Merge {
        return Err(ApiError::invalid("into", "into is only used by merge"));
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
                (status = 200, description = "The problem after the step", body = crate::render::ProblemFeatureDoc, content_type = "application/geo+json"),
                (status = 401, description = "Sign in first", body = ErrorBody),
                (status = 403, description = "Role not allowed", body = ErrorBody),
                (status = 404, description = "No such problem", body = ErrorBody),
                (status = 409, description = "Stale version (`current_version` says the current one), or a step the status does not allow (the message lists the allowed ones)", body = ErrorBody),
                (status = 422, description = "Invalid value", body = ErrorBody),
            )
        )]
        pub async fn $fn(
            Caller { actor, .. }: Caller,
            axum::extract::State(state): axum::extract::State<App>,
            IdPath(id): IdPath,
            AppQuery(q): AppQuery<CrsParam>,
            AppJson(body): AppJson<TransitionBody>,
        ) -> Result<Response, ApiError> {
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
