//! `/api/v1/categories` and `/api/v1/assignments`: the category table, which chief owns which
//! zone, and the coverage check.

use axum::http::StatusCode;
use axum::response::Response;
use civmap_app::App;
use civmap_app::actor::MANAGERS;
use civmap_app::catalog::{CoverageReport, DEFAULT_MIN_OVERLAP_M2, Person};
use civmap_app::setup::Chief;
use civmap_domain::{Category, UserId, ZoneId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::common::{TwoIds, audit, parse_uuid};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::geojson;
use crate::params;

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
pub async fn list_categories(
    axum::extract::State(state): axum::extract::State<App>,
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
pub async fn put_category(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    AppPath(code): AppPath<String>,
    AppJson(body): AppJson<CategoryOut>,
) -> Result<axum::Json<CategoryOut>, ApiError> {
    actor.require(MANAGERS, "manage categories")?;
    if body.code != code {
        return Err(ApiError::invalid(
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
pub async fn list_assignments(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
) -> Result<axum::Json<Vec<AssignmentOut>>, ApiError> {
    if actor.is_public() {
        return Err(if actor.authenticated {
            ApiError::Forbidden("assignments are visible to staff only".into())
        } else {
            ApiError::Unauthorized("sign in to see assignments".into())
        });
    }
    let mut a = state.assignments();
    a.sort();
    let people = state.people().await?;
    Ok(axum::Json(
        a.into_iter()
            .map(|(z, u)| {
                let p = people.get(&u).cloned().unwrap_or_default();
                AssignmentOut {
                    zone: z.0,
                    user: u.0,
                    name: p.name,
                    display_name: p.display_name,
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

#[utoipa::path(
    get,
    path = "/api/v1/assignments/coverage",
    tag = "zones",
    summary = "Check chief coverage: parts of the street no chief covers, overlaps between chiefs",
    description = "A GeoJSON FeatureCollection: one `uncovered` feature (the parts of the boundary inside no assigned zone, MultiPolygon) and one `overlap` feature per pair of different chiefs whose zones overlap inside the boundary, largest first, with both chiefs' names and ids. Foreign members give the areas in m²: `boundary_m2`, `uncovered_m2`, `covered_share`, the number of overlaps (`overlaps`), and when the boundary is the management grid `grid_cells` and `uncovered_cells` (cells with at least 100 m² in no chief's zone; null for a zone boundary). Street office and admin only.",
    params(CoverageParams),
    responses(
        (status = 200, description = "Coverage", content_type = "application/geo+json"),
        (status = 400, description = "Bad parameter, or no boundary to check", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 404, description = "No such boundary zone", body = ErrorBody),
    )
)]
pub async fn assignment_coverage(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    AppQuery(q): AppQuery<CoverageParams>,
) -> Result<Response, ApiError> {
    actor.require(MANAGERS, "check chief coverage")?;
    let crs = params::parse_crs(q.crs.as_deref())?;
    let min_overlap = q.min_overlap_m2.unwrap_or(DEFAULT_MIN_OVERLAP_M2);
    if !(min_overlap.is_finite() && min_overlap >= 0.0) {
        return Err(ApiError::bad_param(
            "min_overlap_m2",
            format!("{min_overlap} is not a finite area >= 0"),
        ));
    }
    let boundary = q
        .boundary
        .as_deref()
        .map(|b| parse_uuid("boundary", b).map(ZoneId))
        .transpose()?;
    let street = actor.user.and_then(|u| state.accounts().street_of(u));
    let CoverageReport {
        coverage: cov,
        people,
        cells,
    } = state
        .coverage(boundary, street.as_deref(), min_overlap)
        .await?;
    let who = |id: &str| {
        let uid = Uuid::parse_str(id).ok().map(UserId);
        let p = uid
            .and_then(|u| people.get(&u).cloned())
            .unwrap_or_else(|| Person {
                name: id.to_owned(),
                display_name: String::new(),
            });
        serde_json::json!({"id": id, "name": p.name, "display_name": p.display_name})
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
            "grid_cells": cells.map(|c| c.total),
            "uncovered_cells": cells.map(|c| c.uncovered),
            "features": features,
        }),
    ))
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
        (status = 404, description = "No such zone or user (for a street office with a street code: a zone or chief outside its street)", body = ErrorBody),
    )
)]
pub async fn assign(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    TwoIds(zone, user): TwoIds,
) -> Result<StatusCode, ApiError> {
    actor.require(MANAGERS, "assign chiefs")?;
    state.assign_as(&actor, ZoneId(zone), UserId(user)).await?;
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
pub async fn unassign(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    TwoIds(zone, user): TwoIds,
) -> Result<StatusCode, ApiError> {
    actor.require(MANAGERS, "assign chiefs")?;
    state
        .unassign_as(&actor, ZoneId(zone), UserId(user))
        .await?;
    audit(&actor, "chief unassigned", &format!("{zone} {user}"));
    Ok(StatusCode::NO_CONTENT)
}

/// A chief account a manager may assign to a zone.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChiefOut {
    pub id: Uuid,
    /// Login name.
    pub name: String,
    /// The name shown to others (may be empty).
    pub display_name: String,
    /// `area_chief` (片长), `road_chief` (路长) or `point_chief` (点长).
    pub role: String,
    /// The account's street code, if any.
    pub street: Option<String>,
    /// The zones assigned to the chief.
    pub zones: Vec<Uuid>,
}

impl From<Chief> for ChiefOut {
    fn from(c: Chief) -> Self {
        Self {
            id: c.id.0,
            name: c.name,
            display_name: c.display_name,
            role: c.role.as_str().to_owned(),
            street: c.street,
            zones: c.zones.into_iter().map(|z| z.0).collect(),
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/chiefs",
    tag = "zones",
    summary = "The chiefs a manager may assign",
    description = "Enabled area-, road- and point-chief accounts (片长, 路长, 点长), sorted by shown name, with the zones each holds: every chief for admin and a street office without a street code, the chiefs of its street (`street` equal to the office's code or below it) for a street office with one. Street office and admin only.",
    responses(
        (status = 200, description = "The chiefs", body = Vec<ChiefOut>),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
    )
)]
pub async fn list_chiefs(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
) -> Result<axum::Json<Vec<ChiefOut>>, ApiError> {
    let chiefs = state.chiefs(&actor).await?;
    Ok(axum::Json(chiefs.into_iter().map(ChiefOut::from).collect()))
}
