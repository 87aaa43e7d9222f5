//! What every `/api/v1` handler shares: ids in the path, the output CRS, the base URL of
//! links, a problem as a GeoJSON answer, the audit log of writes without events.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use civmap_app::App;
use civmap_app::actor::Actor;
use civmap_domain::ProblemId;
use civmap_geodata::crs::Crs;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::ApiError;
use crate::geojson;
use crate::params;
use crate::render::{FeatureOut, Names, view};

/// A path segment holding an id (UUID); a malformed one is a 400 naming `id`.
#[derive(Debug, Clone, Copy)]
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw): Path<Vec<String>> = Path::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_param("id", e.body_text()))?;
        let first = raw
            .first()
            .ok_or_else(|| ApiError::bad_param("id", "missing"))?;
        parse_uuid("id", first).map(IdPath)
    }
}

/// A path segment naming a problem as people do: its id or its case number (resolved by
/// [`App::problem_ref`]); an undecodable segment is a 400 naming `id`.
#[derive(Debug, Clone)]
pub struct RefPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RefPath {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw): Path<Vec<String>> = Path::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_param("id", e.body_text()))?;
        raw.into_iter()
            .next()
            .map(RefPath)
            .ok_or_else(|| ApiError::bad_param("id", "missing"))
    }
}

/// Two ids in the path (`/zones/{id}/assignees/{user}`).
#[derive(Debug, Clone, Copy)]
pub struct TwoIds(pub Uuid, pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for TwoIds {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw): Path<Vec<String>> = Path::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_param("id", e.body_text()))?;
        match raw.as_slice() {
            [a, b] => Ok(TwoIds(parse_uuid("id", a)?, parse_uuid("user", b)?)),
            _ => Err(ApiError::bad_param("id", "expected two ids")),
        }
    }
}

pub fn parse_uuid(field: &str, s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::bad_param(field, format!("{s:?} is not a UUID")))
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
    pub fn crs(&self) -> Result<Crs, ApiError> {
        params::parse_crs(self.crs.as_deref())
    }
}

/// Logs a write that has no event of its own (zones, points of interest, categories,
/// assignments) with the acting account, for the audit trail.
pub fn audit(actor: &Actor, what: &str, id: &dyn std::fmt::Display) {
    tracing::info!(actor = ?actor.user, role = %actor.role, %id, "{what}");
}

/// The base URL for links: the configured public URL, else `http://<Host>`.
pub fn base_url(state: &App, headers: &HeaderMap) -> String {
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

pub fn feature_response(
    status: StatusCode,
    state: &App,
    id: ProblemId,
    crs: Crs,
    actor: &Actor,
) -> Result<Response, ApiError> {
    feature_response_with(status, state, id, crs, actor, None)
}

/// [`feature_response`] with one foreign member added to the Feature.
pub fn feature_response_with(
    status: StatusCode,
    state: &App,
    id: ProblemId,
    crs: Crs,
    actor: &Actor,
    member: Option<(&str, serde_json::Value)>,
) -> Result<Response, ApiError> {
    let record = state
        .problems()
        .map
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no problem {id}")))?;
    record_response(status, state, id, &record, crs, actor, member)
}

/// A problem's Feature from its record (in memory, or read cold from the database).
pub fn record_response(
    status: StatusCode,
    state: &App,
    id: ProblemId,
    record: &civmap_app::memory::record::Record,
    crs: Crs,
    actor: &Actor,
    member: Option<(&str, serde_json::Value)>,
) -> Result<Response, ApiError> {
    let table = state.categories();
    let names = Names::new(state, actor);
    let feature = FeatureOut {
        id,
        record,
        view: view(&table, &names, crs, actor),
    };
    let internal = |e: serde_json::Error| ApiError::Internal(e.to_string());
    let body = match member {
        None => serde_json::to_vec(&feature).map_err(internal)?,
        Some((name, value)) => {
            let mut v = serde_json::to_value(feature).map_err(internal)?;
            v[name] = value;
            serde_json::to_vec(&v).map_err(internal)?
        }
    };
    let mut resp = geojson::response(status, body);
    if status == StatusCode::CREATED {
        resp.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_str(&format!("/api/v1/problems/{id}"))
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        );
    }
    Ok(resp)
}
