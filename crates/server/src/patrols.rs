//! `/api/v1/patrols…`, `/api/v1/check-ins`, `/api/v1/patrol-coverage`: patrols (巡查) over
//! HTTP — a chief's phone starts a patrol, sends its track in chunks and ends it; zones marked
//! "checked, clean" (已检查，无问题); the office's figures per zone and week and the zones
//! nobody visited (JSON here, a section of the weekly report in `tasks`). The rules are the
//! service's (`civmap_app::patrols`); tracks are staff-only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use civmap_app::App;
use civmap_app::patrols::NewCheckIn;
use civmap_app::patrols::coverage::PatrolWeek;
use civmap_app::patrols::length::track_length;
use civmap_app::time::{cst_date, last_day, rfc3339};
use civmap_domain::patrol::{CheckIn, CheckInId, Patrol, PatrolId, TrackPoint};
use civmap_domain::{LonLat, Period, ZoneId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::common::IdPath;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppJson, AppQuery};
use crate::params::{self, Bound};
use crate::state::ServerState;

/// The patrol routes with their OpenAPI declarations.
pub fn router() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_patrols, start_patrol))
        .routes(routes!(get_patrol))
        .routes(routes!(append_track))
        .routes(routes!(end_patrol))
        .routes(routes!(check_in))
        .routes(routes!(coverage))
}

// ---- shapes ------------------------------------------------------------------------------

/// One recorded position.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackPointIn {
    pub lon: f64,
    pub lat: f64,
    /// When the phone took the fix (RFC 3339).
    pub at: String,
    /// The fix's accuracy, metres (≥ 0).
    pub accuracy_m: f64,
}

fn instant(field: &str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::invalid(field, format!("{s:?} is not an RFC 3339 time: {e}")))
}

fn track(points: Vec<TrackPointIn>) -> Result<Vec<TrackPoint>, ApiError> {
    points
        .into_iter()
        .map(|p| {
            Ok(TrackPoint {
                lon: p.lon,
                lat: p.lat,
                at: instant("points", &p.at)?,
                accuracy_m: p.accuracy_m,
            })
        })
        .collect()
}

/// Starting a patrol.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartIn {
    /// The phone's id for the patrol (a patrol started without signal); a new one if absent.
    #[serde(default)]
    pub id: Option<Uuid>,
    /// When it started (RFC 3339; default now).
    #[serde(default)]
    pub started_at: Option<String>,
    /// Positions recorded so far.
    #[serde(default)]
    pub points: Vec<TrackPointIn>,
}

/// Positions to append.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackIn {
    pub points: Vec<TrackPointIn>,
}

/// Ending a patrol: its last positions and when it ended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndIn {
    #[serde(default)]
    pub points: Vec<TrackPointIn>,
    /// RFC 3339; default now.
    #[serde(default)]
    pub ended_at: Option<String>,
}

/// A patrol (巡查) with its track.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatrolOut {
    pub id: Uuid,
    pub chief: Uuid,
    /// The chief's shown name.
    pub chief_name: String,
    pub street: String,
    pub started_at: String,
    /// `null` while under way.
    pub ended_at: Option<String>,
    /// Length of the whole track, metres.
    pub length_m: f64,
    /// The track's positions `[lon, lat]` (WGS-84), in time order.
    pub track: Vec<[f64; 2]>,
}

fn patrol_out(state: &App, p: &Patrol) -> PatrolOut {
    PatrolOut {
        id: p.id.0,
        chief: p.chief.0,
        chief_name: state.shown_name(p.chief),
        street: p.street.clone(),
        started_at: rfc3339(p.started_at),
        ended_at: p.ended_at.map(rfc3339),
        length_m: (track_length(&p.track) * 10.0).round() / 10.0,
        track: p.track.iter().map(|t| [t.lon, t.lat]).collect(),
    }
}

/// A zone marked "checked, clean".
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInIn {
    /// The phone's id for it; a new one if absent.
    #[serde(default)]
    pub id: Option<Uuid>,
    pub zone: Uuid,
    /// The patrol it was made on, if any.
    #[serde(default)]
    pub patrol: Option<Uuid>,
    /// When it was made on site (RFC 3339; default now).
    #[serde(default)]
    pub at: Option<String>,
    /// Where the phone was, `[lon, lat]`.
    #[serde(default)]
    pub location: Option<[f64; 2]>,
    #[serde(default)]
    pub photos: Vec<String>,
    #[serde(default)]
    pub note: String,
}

/// A stored check-in.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckInOut {
    pub id: Uuid,
    pub zone: Uuid,
    pub patrol: Option<Uuid>,
    pub chief: Uuid,
    pub at: String,
    pub photos: Vec<String>,
    pub note: String,
}

impl From<&CheckIn> for CheckInOut {
    fn from(c: &CheckIn) -> Self {
        Self {
            id: c.id.0,
            zone: c.zone.0,
            patrol: c.patrol.map(|p| p.0),
            chief: c.chief.0,
            at: rfc3339(c.at),
            photos: c.photos.clone(),
            note: c.note.clone(),
        }
    }
}

/// A period: a week by one of its days, or `from`/`to`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodParams {
    /// Any day of the week wanted (China Standard Time, Monday–Sunday), or an RFC 3339 time;
    /// default: this week.
    pub week: Option<String>,
    /// Start (inclusive) instead of a week: RFC 3339 or a date (CST).
    pub from: Option<String>,
    /// End (exclusive) with `from`: RFC 3339, or a date included whole (CST).
    pub to: Option<String>,
}

fn period(state: &App, q: &PeriodParams) -> Result<Period, ApiError> {
    if let Some(from) = q.from.as_deref() {
        let from = params::parse_time("from", from, Bound::Start)?;
        let to = match q.to.as_deref() {
            Some(s) => params::parse_time("to", s, Bound::EndExclusive)?,
            None => from + Duration::days(7),
        };
        return Ok(civmap_app::reports::assessment::check_period(from, to)?);
    }
    let day = match q.week.as_deref() {
        Some(s) => params::parse_time("week", s, Bound::Start)?,
        None => Utc::now(),
    };
    Ok(state.week_of(day))
}

/// One zone's patrol figures for the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneCoverageOut {
    pub zone: Uuid,
    pub name: String,
    /// `point` or `road`.
    pub kind: String,
    pub code: Option<String>,
    /// Patrols whose track went inside the zone, or that checked it, in the period.
    pub patrols: usize,
    /// Metres walked inside the zone in the period.
    pub walked_m: f64,
    /// Metres of road inside the zone (the stored road ways, clipped to it).
    pub road_m: f64,
    /// Check-ins ("已检查，无问题") in the period.
    pub checks: usize,
    /// The latest visit (track inside, or a check-in) in the last 90 days.
    pub last_visit: Option<String>,
    /// Nobody visited in the last `unvisited_days`.
    pub unvisited: bool,
}

/// The patrol figures of the caller's street.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageOut {
    pub from: String,
    pub to: String,
    /// When "unvisited" was judged.
    pub now: String,
    /// `workflow.unvisited_days`.
    pub unvisited_days: u32,
    /// Patrols under way in the period, in the street.
    pub patrols: usize,
    /// Unvisited zones first, then by name.
    pub zones: Vec<ZoneCoverageOut>,
}

fn round1(m: f64) -> f64 {
    (m * 10.0).round() / 10.0
}

impl From<&PatrolWeek> for CoverageOut {
    fn from(w: &PatrolWeek) -> Self {
        Self {
            from: rfc3339(w.period.from),
            to: rfc3339(w.period.to),
            now: rfc3339(w.now),
            unvisited_days: w.unvisited_days,
            patrols: w.patrols,
            zones: w
                .zones
                .iter()
                .map(|z| ZoneCoverageOut {
                    zone: z.zone.0,
                    name: z.name.clone(),
                    kind: z.kind.as_str().to_owned(),
                    code: z.code.clone(),
                    patrols: z.patrols,
                    walked_m: round1(z.walked_m),
                    road_m: round1(z.road_m),
                    checks: z.checks,
                    last_visit: z.last_visit.map(rfc3339),
                    unvisited: z.unvisited,
                })
                .collect(),
        }
    }
}

// ---- handlers ----------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/api/v1/patrols",
    tag = "patrols",
    summary = "Patrols (巡查) with their tracks: a chief's own, a street office's street's",
    params(PeriodParams),
    responses(
        (status = 200, description = "The patrols under way in the period, by start", body = Vec<PatrolOut>),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
    )
)]
pub async fn list_patrols(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppQuery(q): AppQuery<PeriodParams>,
) -> Result<axum::Json<Vec<PatrolOut>>, ApiError> {
    let p = period(&state, &q)?;
    let list = state.patrols(&actor, p.from, p.to).await?;
    Ok(axum::Json(
        list.iter().map(|x| patrol_out(&state, x)).collect(),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/patrols",
    tag = "patrols",
    summary = "Start a patrol (chiefs)",
    request_body(content = StartIn, content_type = "application/json"),
    responses(
        (status = 201, description = "Started", body = PatrolOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a chief", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn start_patrol(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppJson(body): AppJson<StartIn>,
) -> Result<Response, ApiError> {
    let started_at = body
        .started_at
        .as_deref()
        .map(|s| instant("started_at", s))
        .transpose()?;
    let p = state
        .start_patrol(
            &actor,
            body.id.map(PatrolId),
            started_at,
            track(body.points)?,
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(patrol_out(&state, &p))).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/patrols/{id}",
    tag = "patrols",
    summary = "One patrol with its track",
    params(("id" = Uuid, Path, description = "Patrol id")),
    responses(
        (status = 200, description = "The patrol", body = PatrolOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
        (status = 404, description = "No such patrol the caller may read", body = ErrorBody),
    )
)]
pub async fn get_patrol(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    IdPath(id): IdPath,
) -> Result<axum::Json<PatrolOut>, ApiError> {
    let p = state.patrol(&actor, PatrolId(id)).await?;
    Ok(axum::Json(patrol_out(&state, &p)))
}

#[utoipa::path(
    post,
    path = "/api/v1/patrols/{id}/track",
    tag = "patrols",
    summary = "Append recorded positions to one's patrol",
    params(("id" = Uuid, Path, description = "Patrol id")),
    request_body(content = TrackIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Stored", body = PatrolOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a chief", body = ErrorBody),
        (status = 404, description = "No such patrol of the caller's", body = ErrorBody),
        (status = 409, description = "The patrol has ended", body = ErrorBody),
        (status = 422, description = "Invalid position", body = ErrorBody),
    )
)]
pub async fn append_track(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    IdPath(id): IdPath,
    AppJson(body): AppJson<TrackIn>,
) -> Result<axum::Json<PatrolOut>, ApiError> {
    let p = state
        .append_patrol(&actor, PatrolId(id), track(body.points)?)
        .await?;
    Ok(axum::Json(patrol_out(&state, &p)))
}

#[utoipa::path(
    post,
    path = "/api/v1/patrols/{id}/end",
    tag = "patrols",
    summary = "End one's patrol (结束巡查) with its last positions",
    params(("id" = Uuid, Path, description = "Patrol id")),
    request_body(content = EndIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Ended", body = PatrolOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a chief", body = ErrorBody),
        (status = 404, description = "No such patrol of the caller's", body = ErrorBody),
        (status = 409, description = "The patrol has ended", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn end_patrol(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    IdPath(id): IdPath,
    AppJson(body): AppJson<EndIn>,
) -> Result<axum::Json<PatrolOut>, ApiError> {
    let ended = body
        .ended_at
        .as_deref()
        .map(|s| instant("ended_at", s))
        .transpose()?;
    let p = state
        .end_patrol(&actor, PatrolId(id), track(body.points)?, ended)
        .await?;
    Ok(axum::Json(patrol_out(&state, &p)))
}

#[utoipa::path(
    post,
    path = "/api/v1/check-ins",
    tag = "patrols",
    summary = "Mark a zone \"checked, clean\" (已检查，无问题)",
    description = "A chief for one of its zones (or a zone inside its area), during one of its patrols or without one (from a point code); a street office for a zone of its street. 404 for a zone the caller does not check.",
    request_body(content = CheckInIn, content_type = "application/json"),
    responses(
        (status = 201, description = "Stored", body = CheckInOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a chief or street office", body = ErrorBody),
        (status = 404, description = "No such zone of the caller's", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn check_in(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppJson(body): AppJson<CheckInIn>,
) -> Result<Response, ApiError> {
    let location = body
        .location
        .map(|[lon, lat]| LonLat::new(lon, lat))
        .transpose()?;
    let at = body.at.as_deref().map(|s| instant("at", s)).transpose()?;
    let c = state
        .check_in(
            &actor,
            NewCheckIn {
                id: body.id.map(CheckInId),
                zone: ZoneId(body.zone),
                patrol: body.patrol.map(PatrolId),
                at,
                location,
                photos: body.photos,
                note: body.note,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(CheckInOut::from(&c))).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/patrol-coverage",
    tag = "patrols",
    summary = "Patrol figures per zone and week; the zones nobody visited",
    description = "For each point and road zone of the caller's street: patrols made, metres walked inside the zone (the tracks clipped to its polygon) beside its road length (the stored road ways clipped to it), check-ins, the last visit; and whether nobody visited it (no track inside, no check-in) in the last `workflow.unvisited_days`. Street office and admin.",
    params(PeriodParams),
    responses(
        (status = 200, description = "The figures", body = CoverageOut),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
    )
)]
pub async fn coverage(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppQuery(q): AppQuery<PeriodParams>,
) -> Result<axum::Json<CoverageOut>, ApiError> {
    let p = period(&state, &q)?;
    let w = state.patrol_week(&actor, p, Utc::now()).await?;
    Ok(axum::Json(CoverageOut::from(&w)))
}

// ---- the weekly report's section ---------------------------------------------------------

/// Kind of zone in Chinese, as the printed report shows it.
fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "point" => "点位",
        "road" => "路段",
        _ => "区域",
    }
}

/// The patrol rows of the weekly report's CSV (after a blank line).
pub fn coverage_csv(w: &PatrolWeek, out: &mut Vec<u8>) -> Result<(), ApiError> {
    let internal = |e: csv::Error| ApiError::Internal(e.to_string());
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record([
        "patrol_zone",
        "zone_id",
        "kind",
        "code",
        "patrols",
        "walked_m",
        "road_m",
        "checks",
        "last_visit",
        "unvisited_days",
        "unvisited",
    ])
    .map_err(internal)?;
    for z in &w.zones {
        csv.write_record([
            z.name.clone(),
            z.zone.to_string(),
            z.kind.as_str().to_owned(),
            z.code.clone().unwrap_or_default(),
            z.patrols.to_string(),
            format!("{:.0}", z.walked_m),
            format!("{:.0}", z.road_m),
            z.checks.to_string(),
            z.last_visit
                .map(civmap_app::time::rfc3339_cst)
                .unwrap_or_default(),
            w.unvisited_days.to_string(),
            if z.unvisited { "yes" } else { "no" }.to_owned(),
        ])
        .map_err(internal)?;
    }
    csv.flush().map_err(|e| ApiError::Internal(e.to_string()))
}

/// The patrol section of the printed weekly report.
#[must_use]
pub fn coverage_section(w: &PatrolWeek) -> maud::Markup {
    let unvisited: Vec<_> = w.zones.iter().filter(|z| z.unvisited).collect();
    maud::html! {
        section.patrols {
            h2 { "巡查 Patrols " (cst_date(w.period.from)) " – " (last_day(w.period.to)) }
            p {
                "本周巡查 " (w.patrols) " 次；" (w.unvisited_days) " 天无人巡查的点位/路段 "
                (unvisited.len()) " 个"
                @if !unvisited.is_empty() {
                    "：" (unvisited.iter().map(|z| z.name.as_str()).collect::<Vec<_>>().join("、"))
                }
            }
            table {
                thead { tr {
                    th { "点位/路段 zone" } th { "类型 kind" } th { "巡查次数 patrols" }
                    th { "巡查里程 walked (m)" } th { "道路长度 road (m)" } th { "已检查 checks" }
                    th { "最近巡查 last visit" }
                } }
                tbody {
                    @for z in &w.zones {
                        tr.unvisited[z.unvisited] {
                            td { (z.name) @if z.unvisited { " （" (w.unvisited_days) " 天未巡查）" } }
                            td { (kind_zh(z.kind.as_str())) }
                            td { (z.patrols) }
                            td { (format!("{:.0}", z.walked_m)) }
                            td { (format!("{:.0}", z.road_m)) }
                            td { (z.checks) }
                            td { (z.last_visit.map_or_else(|| "—".to_owned(), civmap_app::time::cst_minute)) }
                        }
                    }
                }
            }
        }
    }
}
