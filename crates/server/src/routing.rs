//! Rectification routes over HTTP (`POST /api/v1/routes`): the request is read and checked,
//! the service plans (`civmap_app::planning`), and the plan is rendered — as JSON with GeoJSON
//! lines, as GPX for phones and navigation apps, or as a printable sheet (stop table + SVG
//! map) for teams without phones. An infeasible plan is a 422 in the common error shape with
//! `stops` listing the problem ids.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use axum::Json;
use axum::extract::{FromRequest, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use civmap_app::App;
use civmap_app::planning::print::team_colour;
use civmap_app::planning::{
    Chosen, MustReason, PLANNERS, Planned, PlanningError, RouteFilter as Filter, RouteInput,
};
use civmap_app::reports::table::{case_no, place_or_position};
use civmap_app::time::{cst_clock, cst_today_at, next_half_hour};
use civmap_domain::{Problem, ProblemId, Status, ZoneId};
use civmap_geodata::Crs;
use civmap_route::graph::Mode;
use civmap_route::plan::{Plan, PlanError, PlannedStop, RouteEnd, UnassignedReason};
use civmap_tiles::svg::{Colour, LineStyle, StaticMap};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::api::common::base_url;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppJson, parse_urlencoded};
use crate::params::input_position;
use crate::qr::qr_svg;

/// A route-planning request: which problems (`ids`, or a `filter`), how many teams, how long,
/// how they travel, where they set out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRequest {
    /// Problems chosen one by one (open problems only). Give either `ids` or `filter`.
    #[serde(default)]
    pub ids: Vec<Uuid>,
    /// Problems chosen by a filter (every open problem that matches). Give either `ids` or `filter`.
    #[serde(default)]
    pub filter: Option<RouteFilter>,
    /// Number of teams (1–20); the routes are balanced across them (the longest is minimised).
    #[serde(default = "one")]
    pub teams: usize,
    /// Working time per team, minutes (travel + time on site), more than 0 and at most 1440.
    pub budget_min: f64,
    /// `walk` (default), `cycle` or `drive` (one-way streets respected).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "walk")]
    pub mode: Option<Mode>,
    /// Where the teams set out: the street office, `[lon, lat]` in the request's `crs`.
    pub start: [f64; 2],
    /// Where routes end: `"start"` (default, back to the office), `"last"` (at the last stop) or
    /// `[lon, lat]` in the request's `crs`.
    #[serde(default)]
    #[schema(value_type = Option<RouteEndIn>)]
    pub end: Option<Value>,
    /// Minutes on site per category code (e.g. `{"garbage": 15}`), overriding the category
    /// table's `service_minutes`; 0 to 480.
    #[serde(default)]
    pub service_min: BTreeMap<String, f64>,
    /// Seed of the solver: the same request and seed give the same routes.
    #[serde(default)]
    pub seed: u64,
}

/// Where routes end, as the API documents `RouteRequest.end` (the field is read by
/// `parse_end`, whose errors name `end`; this type gives the document its schema).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(
    dead_code,
    reason = "the schema of `end`; requests are read by parse_end"
)]
pub enum RouteEndIn {
    /// `"start"` (back to the office) or `"last"` (at the last stop).
    Named(RouteEndName),
    /// `[lon, lat]` in the request's `crs`.
    At(EndPosition),
}

/// `[lon, lat]`: two numbers.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(min_items = 2, max_items = 2)]
#[allow(
    dead_code,
    reason = "the schema of `end`; requests are read by parse_end"
)]
pub struct EndPosition([f64; 2]);

/// The named ends of a route.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RouteEndName {
    /// Back to the start (the street office).
    Start,
    /// At the last stop.
    Last,
}

fn one() -> usize {
    1
}

/// Problems to visit, by zone, category, status and lateness. Closed and merged problems are
/// never visited.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteFilter {
    /// Only problems inside this zone.
    pub zone: Option<Uuid>,
    /// Only these category codes (empty: every category).
    #[serde(default)]
    pub category: Vec<String>,
    /// Only these statuses (empty: every open status).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub status: Vec<Status>,
    /// Only overdue problems.
    #[serde(default)]
    pub overdue: bool,
}

/// `format=json` (default), `gpx`, `svg` (the map of the print sheet) or `html` (the whole
/// printable sheet); `crs` of `start`, `end` and of the coordinates in the answer.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RouteParams {
    /// `json` (default), `gpx`, `svg` or `html`.
    pub format: Option<String>,
    /// `wgs84` (default), `gcj02` or `bd09`.
    pub crs: Option<String>,
    /// When the teams set out, `HH:MM` in China Standard Time (default: the next full half
    /// hour): the printed sheet gives each stop its planned clock time from it.
    pub depart: Option<String>,
}

/// What a must-visit reason reads on the sheet.
fn reason_label(r: MustReason) -> &'static str {
    match r {
        MustReason::Overdue => "超期",
        MustReason::Surroundings => "三个周边",
        MustReason::Severe => "严重",
    }
}

/// Why a problem is in no route, as the sheet says it.
fn unassigned_label(r: UnassignedReason) -> &'static str {
    match r {
        UnassignedReason::Unreachable => "附近没有可走的路",
        UnassignedReason::ExceedsBudgetAlone => "单独往返已超出时限",
        UnassignedReason::BudgetExhausted => "时限内排不下",
    }
}

/// A travel mode in words.
fn mode_label(m: Mode) -> &'static str {
    match m {
        Mode::Walk => "步行",
        Mode::Cycle => "骑行",
        Mode::Drive => "驾车",
    }
}

/// The departure: `depart` (`HH:MM`, China Standard Time, today) or the next full half hour.
fn departure(depart: Option<&str>, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    match depart.filter(|d| !d.is_empty()) {
        None => Ok(next_half_hour(now)),
        Some(d) => NaiveTime::parse_from_str(d, "%H:%M")
            .map(|clock| cst_today_at(now, clock))
            .map_err(|_| ApiError::bad_param("depart", "depart is a clock time HH:MM, e.g. 08:30")),
    }
}

impl RouteFilter {
    fn into_service(self) -> Filter {
        Filter {
            zone: self.zone.map(ZoneId),
            category: self.category,
            status: self.status,
            overdue: self.overdue,
        }
    }
}

fn parse_end(v: Option<&Value>, crs: Crs) -> Result<RouteEnd, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(RouteEnd::ReturnToStart),
        Some(Value::String(s)) if s == "start" => Ok(RouteEnd::ReturnToStart),
        Some(Value::String(s)) if s == "last" => Ok(RouteEnd::LastStop),
        Some(Value::Array(a)) if a.len() == 2 => {
            let (Some(lon), Some(lat)) = (a[0].as_f64(), a[1].as_f64()) else {
                return Err(ApiError::invalid("end", "end must be [lon, lat] numbers"));
            };
            let (lon, lat) = input_position(crs, lon, lat)
                .map_err(|e| ApiError::invalid("end", e.public_message()))?;
            Ok(RouteEnd::At([lon, lat]))
        }
        Some(_) => Err(ApiError::invalid(
            "end",
            r#"end is "start", "last" or [lon, lat]"#,
        )),
    }
}

/// A planning error as an HTTP answer: 422 in the common error shape, with `stops` listing the
/// problem ids when the error is about stops (infeasible budget, unreachable stops).
fn plan_error(e: &PlanError, chosen: &Chosen, teams: usize) -> Response {
    // The message names at most this many stops; `error.stops` lists them all.
    const NAMED: usize = 20;
    let problems = by_id(chosen);
    let names = |ids: &[String]| {
        let mut text = ids
            .iter()
            .take(NAMED)
            .map(|id| {
                // Case numbers are what people quote; the ids are in `error.stops`.
                let case = problems.get(id).map_or_else(|| id.clone(), |p| case_no(p));
                match chosen.names.get(id) {
                    Some(n) => format!("{case} ({n})"),
                    None => case,
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        if ids.len() > NAMED {
            let _ = write!(text, " and {} more (all in error.stops)", ids.len() - NAMED);
        }
        text
    };
    let err = match e {
        PlanError::MustVisitOverBudget {
            stop_ids,
            budget_s,
            needed_s,
            ..
        } => ApiError::invalid(
            "budget_min",
            format!(
                "the must-visit stops (overdue, three surroundings, severe) do not fit {:.0} min per team with {teams} team(s); the best plan found needs {:.0} min. Give more time or teams, or fewer problems. Stops: {}",
                budget_s / 60.0,
                needed_s / 60.0,
                names(stop_ids)
            ),
        ),
        PlanError::Unreachable {
            stop_ids,
            mode,
            max_snap_m,
        } => ApiError::invalid(
            chosen.source,
            format!(
                "these must-visit stops cannot be reached from the start: no road usable on the {mode} network within {max_snap_m:.0} m. Stops: {}",
                names(stop_ids)
            ),
        ),
        PlanError::EndpointUnreachable { which, .. } => ApiError::invalid(*which, e),
        PlanError::ModeMismatch { .. } => ApiError::invalid("mode", e),
        PlanError::InvalidStop { .. }
        | PlanError::DuplicateStopId(_)
        | PlanError::TooManyStops { .. } => ApiError::invalid(chosen.source, e),
        PlanError::InvalidRequest(_) | PlanError::Solver(_) => ApiError::invalid("body", e),
    };
    let mut body = serde_json::to_value(err.body()).unwrap_or_else(|_| json!({}));
    if !e.stop_ids().is_empty()
        && let Some(detail) = body.get_mut("error").and_then(Value::as_object_mut)
    {
        detail.insert("stops".into(), json!(e.stop_ids()));
    }
    // What would fit, so a person can choose: minutes per team with the teams given, or about
    // how many teams within the budget (absent when a stop alone exceeds it).
    if let PlanError::MustVisitOverBudget {
        needed_s,
        teams_needed,
        ..
    } = e
        && let Some(detail) = body.get_mut("error").and_then(Value::as_object_mut)
    {
        detail.insert(
            "suggest".into(),
            json!({"budget_min": (needed_s / 60.0).ceil(), "teams": teams_needed}),
        );
    }
    (err.status(), Json(body)).into_response()
}

/// Plans routes for the chosen problems.
#[utoipa::path(
    post,
    path = "/api/v1/routes",
    tag = "routes",
    summary = "Plan rectification routes (整改路线)",
    description = "Orders the chosen open problems (`ids`, or every open problem matching `filter`: zone, category, status, overdue) into one route per team (`teams`, balanced) within the time budget (`budget_min`, travel plus time on site, which comes from the category's `service_minutes` or the request's `service_min`), from `start` (the street office) back to it, to `end`, or ending at the last stop, along the roads of `mode` (walk, cycle, drive with one-way streets). Must-visit stops: overdue, high or critical severity, or inside a three-surroundings zone; the rest are optional and chosen by value (category weight × severity weight) while time remains. The same request and `seed` give the same routes. JSON answers per team the ordered stops with arrival times (seconds after leaving the start), the route line as a GeoJSON Feature, distance and duration, plus `geojson`, a FeatureCollection of every line and stop. `format=gpx` answers GPX 1.1, `format=svg` the map of the print sheet, `format=html` the printable sheet. Without a road graph the answer uses straight-line distance × 1.3 and says so (`fallback_straight_line`, `note`). Infeasible requests (must-visit stops over the budget, stops no road reaches) are 422 with `error.stops` naming the problems. Roles: admin, street_office.",
    params(RouteParams),
    request_body(content = RouteRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The routes (JSON, GPX, SVG or HTML by `format`)", body = Object),
        (status = 400, description = "Malformed JSON or query parameter", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 422, description = "Invalid or infeasible: the error names the field, and for infeasible plans lists the problem ids in `error.stops` (must-visit stops that do not fit the budget, stops no usable road reaches)", body = ErrorBody),
    )
)]
pub async fn plan_routes(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    // The role first: callers who may not plan learn nothing from validation errors.
    actor.require(PLANNERS, "plan routes")?;
    let q: RouteParams = parse_urlencoded(request.uri().query().unwrap_or_default().as_bytes())?;
    let depart = departure(q.depart.as_deref(), Utc::now())?;
    // The QR codes of the printed sheet link to each problem's page on this server.
    let base = base_url(&state, request.headers());
    let AppJson(req) = AppJson::<RouteRequest>::from_request(request, &state).await?;
    let crs: Crs = q
        .crs
        .as_deref()
        .unwrap_or("wgs84")
        .parse()
        .map_err(|e| ApiError::bad_param("crs", e))?;
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "gpx" | "svg" | "html") {
        return Err(ApiError::bad_param(
            "format",
            "format is json, gpx, svg or html",
        ));
    }
    let (lon, lat) = input_position(crs, req.start[0], req.start[1])
        .map_err(|_| ApiError::invalid("start", "start must be a valid [lon, lat]"))?;
    let end = parse_end(req.end.as_ref(), crs)?;
    let input = RouteInput {
        ids: req.ids.into_iter().map(ProblemId).collect(),
        filter: req.filter.map(RouteFilter::into_service),
        teams: req.teams,
        budget_min: req.budget_min,
        mode: req.mode.unwrap_or(Mode::Walk),
        start: [lon, lat],
        end,
        service_min: req.service_min,
        seed: req.seed,
    };
    let Planned {
        plan,
        chosen,
        detour,
    } = match state.plan_routes(&actor, input).await {
        Ok(p) => p,
        Err(PlanningError::Service(e)) => return Err(e.into()),
        Err(PlanningError::Infeasible {
            error,
            chosen,
            teams,
        }) => return Ok(plan_error(&error, &chosen, teams)),
    };
    let problems = by_id(&chosen);
    Ok(match format {
        "gpx" => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/gpx+xml; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"civmap-routes.gpx\"",
                ),
            ],
            plan.to_gpx_with("civmap 整改路线", &|team, k, s| {
                stop_label(&chosen, &problems, team, k, s)
            }),
        )
            .into_response(),
        "svg" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
            sheet_map(&plan)?,
        )
            .into_response(),
        "html" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            sheet_html(
                &state,
                &Sheet {
                    plan: &plan,
                    chosen: &chosen,
                    detour,
                    depart,
                    base: &base,
                },
            )?,
        )
            .into_response(),
        _ => Json(plan_json(&plan, &chosen, crs, detour)).into_response(),
    })
}

/// A waypoint name a team reads on a phone: team-stop number, category and case number, e.g.
/// `1-03 垃圾 CM261207-0003`.
fn stop_label(
    chosen: &Chosen,
    problems: &HashMap<String, &Problem>,
    team: usize,
    k: usize,
    s: &PlannedStop,
) -> String {
    let name = chosen.names.get(&s.id).map_or("", String::as_str);
    let case = problems.get(&s.id).map(|p| case_no(p)).unwrap_or_default();
    format!("{}-{:02} {name} {case}", team + 1, k + 1)
        .trim_end()
        .to_owned()
}

/// The chosen problems by id (as the plan names its stops).
fn by_id(chosen: &Chosen) -> HashMap<String, &Problem> {
    chosen
        .problems
        .iter()
        .map(|p| (p.id.to_string(), p))
        .collect()
}

fn out(crs: Crs, p: [f64; 2]) -> [f64; 2] {
    crs.from_wgs84(p)
}

/// The plan as JSON: per team (numbered from 1) the ordered stops and the route line as a
/// GeoJSON Feature; `geojson` holds every line and stop for a map.
#[allow(clippy::too_many_lines)] // one JSON document, field by field
fn plan_json(plan: &Plan, chosen: &Chosen, crs: Crs, detour: f64) -> Value {
    let by_id = by_id(chosen);
    let mut features: Vec<Value> = Vec::new();
    let teams: Vec<Value> = plan
        .teams
        .iter()
        .map(|t| {
            let team = t.team + 1;
            let colour = team_colour(t.team).to_string();
            let stops: Vec<Value> = t
                .stops
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let p = by_id.get(&s.id);
                    let reasons: Vec<&str> = chosen
                        .reasons
                        .get(&s.id)
                        .map(|r| r.iter().map(|r| r.code()).collect())
                        .unwrap_or_default();
                    let coordinates = out(crs, [s.lon, s.lat]);
                    features.push(json!({
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": coordinates},
                        "properties": {
                            "kind": "stop", "team": team, "seq": i + 1, "id": s.id,
                            "category_name": chosen.names.get(&s.id),
                            "arrival_s": s.arrival_s.round(), "must": s.must, "colour": colour,
                        },
                    }));
                    json!({
                        "seq": i + 1,
                        "id": s.id,
                        "case_no": p.map(|p| case_no(p)),
                        "place": p.map(|p| place_or_position(p)),
                        "category": p.map(|p| p.category.as_str()),
                        "category_name": chosen.names.get(&s.id),
                        "severity": p.map(|p| p.severity.as_str()),
                        "status": p.map(|p| p.status.as_str()),
                        "description": p.map(|p| p.description.as_str()),
                        "coordinates": coordinates,
                        "arrival_s": s.arrival_s.round(),
                        "departure_s": s.departure_s.round(),
                        "service_s": (s.departure_s - s.arrival_s).round(),
                        "leg_distance_m": s.leg_distance_m.round(),
                        "must": s.must,
                        "reasons": reasons,
                    })
                })
                .collect();
            let route = json!({
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": t.geometry.iter().map(|p| out(crs, *p)).collect::<Vec<_>>(),
                },
                "properties": {
                    "kind": "route", "team": team, "colour": colour, "stops": t.stops.len(),
                    "distance_m": t.distance_m.round(), "duration_s": t.duration_s.round(),
                },
            });
            if t.geometry.len() >= 2 {
                features.push(route.clone());
            }
            json!({
                "team": team,
                "colour": colour,
                "distance_m": t.distance_m.round(),
                "duration_s": t.duration_s.round(),
                "travel_s": t.travel_s.round(),
                "service_s": t.service_s.round(),
                "stops": stops,
                "route": route,
            })
        })
        .collect();
    // Lines under stops.
    features.sort_by_key(|f| f["properties"]["kind"] != "route");
    let visited: usize = plan.teams.iter().map(|t| t.stops.len()).sum();
    let must = plan
        .teams
        .iter()
        .flat_map(|t| &t.stops)
        .filter(|s| s.must)
        .count();
    json!({
        "mode": plan.mode.as_str(),
        "budget_s": plan.budget_s,
        "crs": crs.as_str(),
        "fallback_straight_line": plan.fallback_straight_line,
        "detour_factor": plan.fallback_straight_line.then_some(detour),
        "note": plan.fallback_straight_line.then(|| format!(
            "no road graph for this area: distances are straight lines × {detour} (detour factor), times at an average {} speed", plan.mode
        )),
        "start": out(crs, plan.start),
        "end": plan.end.map(|e| out(crs, e)),
        "summary": {
            "chosen": chosen.problems.len(),
            "visited": visited,
            "must": must,
            "optional_value": plan.optional_value,
            "unassigned": plan.unassigned.len(),
        },
        "teams": teams,
        "unassigned": plan.unassigned.iter().map(|u| json!({
            "id": u.id,
            "category_name": chosen.names.get(&u.id),
            "reason": serde_json::to_value(u.reason).unwrap_or(Value::Null),
        })).collect::<Vec<_>>(),
        "geojson": {"type": "FeatureCollection", "features": features},
    })
}

/// The map of the printed route sheet: every team's line and its numbered stops, the start
/// (`S`) and a separate end (`E`).
fn sheet_map(plan: &Plan) -> Result<String, ApiError> {
    let mut map = StaticMap::new(900);
    map.title("civmap 整改路线 / rectification routes");
    for t in &plan.teams {
        let colour = team_colour(t.team);
        let line: geo::LineString<f64> = t.geometry.iter().map(|p| (p[0], p[1])).collect();
        if line.0.len() >= 2 {
            map.line(&line, LineStyle::route(colour));
        }
        for (i, s) in t.stops.iter().enumerate() {
            map.marker(s.lon, s.lat, (i + 1).to_string(), colour);
        }
    }
    // The start is always drawn, so a plan that visits nothing still has a map.
    map.marker(plan.start[0], plan.start[1], "S", Colour::BLACK);
    if let Some(end) = plan.end.filter(|e| {
        e.iter()
            .zip(plan.start)
            .any(|(a, b)| a.to_bits() != b.to_bits())
    }) {
        map.marker(end[0], end[1], "E", Colour::BLACK);
    }
    map.render()
        .map_err(|e| ApiError::Internal(format!("print map: {e}")))
}

/// What a printed sheet is made of.
struct Sheet<'a> {
    plan: &'a Plan,
    chosen: &'a Chosen,
    detour: f64,
    /// When the teams set out.
    depart: DateTime<Utc>,
    /// Where the problems' pages are (`http://host`).
    base: &'a str,
}

/// The size of a team's map on the sheet, px: the width of an A4 page inside its margins, under
/// a third of its height (the rest is the stop table).
const SHEET_MAP_PX: (u32, u32) = (760, 380);

/// `h:mm` from seconds.
fn hm(s: f64) -> String {
    let m = (s / 60.0).round() as i64;
    format!("{}:{:02}", m / 60, m % 60)
}

/// Characters of a description the sheet prints (the problem's page has all of it).
const DESCRIPTION_CHARS: usize = 40;

/// The start of a description, with "…" when cut.
fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(DESCRIPTION_CHARS).collect();
    if text.chars().count() > DESCRIPTION_CHARS {
        out.push('…');
    }
    out
}

/// The printable sheet: one A4 page per team (a team carries its own page), each with its map
/// over the basemap and its stops in visiting order — number (as on the map), case number,
/// place, category, severity, planned clock time, a tick box and a QR code to the problem's
/// page.
#[allow(clippy::too_many_lines)] // one page, element by element
fn sheet_html(state: &App, sheet: &Sheet<'_>) -> Result<String, ApiError> {
    const STYLE: &str = "@page{size:A4 portrait;margin:10mm}\
        *{box-sizing:border-box}\
        body{font-family:'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif;margin:0;color:#111;font-size:10.5pt}\
        .page{break-after:page;page-break-after:always;padding:0}\
        .page:last-of-type{break-after:auto;page-break-after:auto}\
        h1{font-size:15pt;margin:0 0 2mm}\
        .meta{margin:0 0 2mm;color:#333}\
        .swatch{display:inline-block;width:.9em;height:.9em;vertical-align:-.1em;margin-right:.4em;border-radius:2px}\
        .map svg{width:100%;height:auto;display:block;border:1px solid #999}\
        table{border-collapse:collapse;width:100%;margin-top:3mm}\
        th,td{border:1px solid #888;padding:1mm 1.5mm;text-align:left;vertical-align:middle}\
        th{background:#eee;font-weight:bold;white-space:nowrap}\
        tr{break-inside:avoid;page-break-inside:avoid}\
        .no{width:9mm;text-align:center;font-weight:bold}\
        .case{white-space:nowrap;font-family:monospace;font-size:9.5pt}\
        .time{white-space:nowrap;font-weight:bold}.severity{white-space:nowrap}\
        .tick{width:11mm;text-align:center;font-size:16pt}\
        .qr{width:17mm;padding:.5mm}.qr svg{width:16mm;height:16mm;display:block}\
        .must{font-size:8.5pt;color:#b91c1c;display:block}.desc{display:block;font-size:8.5pt;color:#555}\
        .note{color:#92400e}\
        .sign{margin-top:4mm;display:flex;gap:12mm}.sign span{flex:1;border-bottom:1px solid #333;padding-bottom:5mm}\
        @media screen{body{background:#ddd}.page{background:#fff;width:210mm;min-height:297mm;margin:5mm auto;padding:10mm;box-shadow:0 1px 4px rgba(0,0,0,.3)}}";
    let Sheet {
        plan,
        chosen,
        detour,
        depart,
        base,
    } = *sheet;
    let problems = by_id(chosen);
    let name = |id: &str| chosen.names.get(id).map_or("", String::as_str);
    let reasons = |id: &str| {
        chosen
            .reasons
            .get(id)
            .map(|r| {
                r.iter()
                    .map(|r| reason_label(*r))
                    .collect::<Vec<_>>()
                    .join("、")
            })
            .unwrap_or_default()
    };
    let clock = |s: f64| cst_clock(depart + Duration::seconds(s.round() as i64));
    let mut pages = Vec::with_capacity(plan.teams.len());
    for t in &plan.teams {
        let map = state.team_print_map(plan, t, SHEET_MAP_PX.0, SHEET_MAP_PX.1)?;
        let mut rows = Vec::with_capacity(t.stops.len());
        for (i, s) in t.stops.iter().enumerate() {
            let p = problems.get(&s.id);
            let case = p.map(|p| case_no(p)).unwrap_or_default();
            let link = format!("{base}/p/{case}");
            rows.push((i + 1, s, p, case, qr_svg(&link)?, link));
        }
        pages.push((t, map, rows));
    }
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="zh" {
            head {
                meta charset="utf-8";
                title { "整改路线单" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                @for (t, map, rows) in &pages {
                    section.page.team data-team=(t.team + 1) {
                        h1 {
                            span.swatch style={ "background:" (team_colour(t.team)) } {}
                            "整改路线单 · 第 " (t.team + 1) " 组"
                        }
                        p.meta {
                            "出发 " strong { (cst_clock(depart)) } " · " (mode_label(plan.mode)) " · "
                            (t.stops.len()) " 个点 · " (format!("{:.1}", t.distance_m / 1000.0)) " 公里 · 预计 "
                            (hm(t.duration_s)) "（时:分），约 " (clock(t.duration_s)) " 回到终点 · 每组时限 "
                            (format!("{:.0}", plan.budget_s / 60.0)) " 分钟"
                        }
                        @if plan.fallback_straight_line {
                            p.meta.note {
                                "本区域无路网：距离按直线 × " (detour) " 估算，时间仅供参考。"
                            }
                        }
                        // The SVG map is made by civmap-tiles, which escapes its own text.
                        div.map { (maud::PreEscaped(map)) }
                        table.stops {
                            thead {
                                tr {
                                    th.no { "序号" } th { "案件编号" } th { "位置" } th { "类别" }
                                    th { "程度" } th { "计划到达" } th { "完成" } th { "扫码查看" }
                                }
                            }
                            tbody {
                                @for (n, s, p, case, qr, link) in rows {
                                    tr class=(if s.must { "stop must-visit" } else { "stop" }) data-case=(case) {
                                        td.no { (n) }
                                        td.case { (case) }
                                        td.place {
                                            (p.map(|p| place_or_position(p)).unwrap_or_default())
                                            @if let Some(d) = p.map(|p| excerpt(&p.description)).filter(|d| !d.is_empty()) {
                                                span.desc { (d) }
                                            }
                                        }
                                        td.category {
                                            (name(&s.id))
                                            @if s.must {
                                                span.must { "必到：" (reasons(&s.id)) }
                                            }
                                        }
                                        td.severity { (p.map_or("", |p| p.severity.name_zh())) }
                                        td.time { (clock(s.arrival_s)) }
                                        td.tick { "☐" }
                                        // The QR code is made by the qrcode crate: numbers only.
                                        td.qr data-url=(link) { (maud::PreEscaped(qr)) }
                                    }
                                }
                            }
                        }
                        @if t.stops.is_empty() {
                            p.meta { "本组没有安排问题点。" }
                        }
                        div.sign { span { "组长签字：" } span { "完成时间：" } }
                    }
                }
                @if !plan.unassigned.is_empty() {
                    section.page.unassigned {
                        h1 { "未安排的问题 (" (plan.unassigned.len()) ")" }
                        table {
                            thead { tr { th { "案件编号" } th { "位置" } th { "类别" } th { "原因" } } }
                            tbody {
                                @for u in &plan.unassigned {
                                    @let p = problems.get(&u.id);
                                    tr {
                                        td.case { (p.map(|p| case_no(p)).unwrap_or_default()) }
                                        td { (p.map(|p| place_or_position(p)).unwrap_or_default()) }
                                        td { (name(&u.id)) }
                                        td { (unassigned_label(u.reason)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page.into_string())
}
