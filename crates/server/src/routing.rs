//! Rectification routes (`POST /api/v1/routes`): the street office picks problems by id or by
//! filter, the teams, a time budget and a travel mode; civmap answers with one ordered route per
//! team along the real roads — as JSON with GeoJSON lines, as GPX for phones and navigation
//! apps, or as a printable sheet (stop table + SVG map) for teams without phones.
//!
//! The server only translates: problems become `civmap_route::Stop`s (must-visit when overdue,
//! severe or inside a three-surroundings zone; otherwise optional with a value of category weight
//! × severity weight), the solver plans, and the plan is rendered.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use civmap_domain::{Problem, ProblemId, Role, Severity, Status, ZoneId, ZoneKind};
use civmap_geodata::Crs;
use civmap_geodata::osm::OsmData;
use civmap_route::graph::{GraphBuilder, Mode, RoadGraph};
use civmap_route::plan::{self, Plan, PlanRequest, Priority, RouteEnd, Stop};
use civmap_tiles::svg::{Colour, LineStyle, StaticMap};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{AppError, ErrorBody};
use crate::extract::{Actor, AppJson, AppQuery};
use crate::state::AppState;

/// Most problems one plan may visit.
pub const MAX_STOPS: usize = 500;

/// The road graphs of the served area, one per travel mode, built once at start from
/// OpenStreetMap ways.
#[derive(Debug)]
pub struct RoadNetwork {
    walk: RoadGraph,
    cycle: RoadGraph,
    drive: RoadGraph,
}

impl RoadNetwork {
    /// Builds the walking, cycling and driving graphs from OSM data.
    #[must_use]
    pub fn from_osm(data: &OsmData) -> Arc<RoadNetwork> {
        let build = |mode: Mode| {
            let mut b = GraphBuilder::new(mode);
            for n in &data.nodes {
                b.add_node(n.id, n.lon, n.lat);
            }
            for w in &data.ways {
                b.add_way(w.id, &w.refs, w.tags.iter());
            }
            b.build()
        };
        Arc::new(RoadNetwork {
            walk: build(Mode::Walk),
            cycle: build(Mode::Cycle),
            drive: build(Mode::Drive),
        })
    }

    fn graph(&self, mode: Mode) -> &RoadGraph {
        match mode {
            Mode::Walk => &self.walk,
            Mode::Cycle => &self.cycle,
            Mode::Drive => &self.drive,
        }
    }
}

/// Which problems to visit: either `ids`, or a `filter`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRequest {
    /// Problems chosen one by one.
    #[serde(default)]
    pub ids: Vec<Uuid>,
    /// Problems chosen by a filter (used when `ids` is empty).
    #[serde(default)]
    pub filter: Option<RouteFilter>,
    /// Number of teams (1–20); routes are balanced across them.
    #[serde(default = "one")]
    pub teams: usize,
    /// Working time per team, minutes (travel + time on site).
    pub budget_min: f64,
    /// `walk` (default), `cycle` or `drive` (one-way streets respected).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "walk")]
    pub mode: Option<Mode>,
    /// Where the teams set out: the street office, `[lon, lat]` in the request's `crs`.
    pub start: [f64; 2],
    /// Where routes end: `"start"` (default, back to the office), `"last"` (at the last stop) or
    /// `[lon, lat]`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub end: Option<Value>,
    /// Seed of the solver: the same request and seed give the same routes.
    #[serde(default)]
    pub seed: u64,
}

fn one() -> usize {
    1
}

/// Problems to visit, by zone, category, status and lateness. Closed and merged problems are
/// never visited.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteFilter {
    pub zone: Option<Uuid>,
    #[serde(default)]
    pub category: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub status: Vec<Status>,
    /// Only overdue problems.
    #[serde(default)]
    pub overdue: bool,
}

/// `format=json` (default), `gpx`, `svg` (the map of the print sheet) or `html` (the whole
/// printable sheet); `crs` of `start` and of the coordinates in the answer.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RouteParams {
    pub format: Option<String>,
    pub crs: Option<String>,
}

struct Chosen {
    problems: Vec<Problem>,
    names: HashMap<String, String>,
}

fn choose(state: &AppState, req: &RouteRequest) -> Result<Chosen, AppError> {
    let table = state.categories();
    let now = chrono::Utc::now();
    let mut problems = Vec::new();
    if req.ids.is_empty() {
        let f = req.filter.as_ref().ok_or_else(|| {
            AppError::invalid("ids", "choose the problems with `ids` or with a `filter`")
        })?;
        for c in &f.category {
            table.id(c)?;
        }
        let zone_ids: Option<Vec<ZoneId>> = f.zone.map(|z| vec![ZoneId(z)]);
        let g = state.problems();
        for (id, r) in &g.map {
            let p = r.to_problem(*id, &table);
            if !p.status.is_open()
                || (!f.category.is_empty() && !f.category.contains(&p.category))
                || (!f.status.is_empty() && !f.status.contains(&p.status))
                || (f.overdue && !p.is_overdue(now))
            {
                continue;
            }
            problems.push(p);
        }
        drop(g);
        if let Some(zones) = zone_ids {
            problems.retain(|p| {
                state
                    .containing_zones(p.location.lon(), p.location.lat())
                    .iter()
                    .any(|z| zones.contains(z))
            });
        }
    } else {
        for id in &req.ids {
            let p = state.problem(ProblemId(*id))?;
            if !p.status.is_open() {
                return Err(AppError::invalid(
                    "ids",
                    format!(
                        "problem {id} is {}: only open problems are visited",
                        p.status
                    ),
                ));
            }
            problems.push(p);
        }
    }
    if problems.is_empty() {
        return Err(AppError::invalid(
            "ids",
            "no open problem matches: nothing to visit",
        ));
    }
    if problems.len() > MAX_STOPS {
        return Err(AppError::invalid(
            "ids",
            format!(
                "{} problems chosen; a plan visits at most {MAX_STOPS}",
                problems.len()
            ),
        ));
    }
    let names = problems
        .iter()
        .map(|p| {
            let name = table
                .by_code(&p.category)
                .map_or_else(|| p.category.clone(), |c| c.name_zh.clone());
            (p.id.to_string(), name)
        })
        .collect();
    Ok(Chosen { problems, names })
}

/// Must-visit: overdue, serious, or in a three-surroundings zone (迎检 priorities).
fn to_stops(state: &AppState, problems: &[Problem]) -> Vec<Stop> {
    let table = state.categories();
    let now = chrono::Utc::now();
    let zones = state.zones();
    problems
        .iter()
        .map(|p| {
            let cat = table.by_code(&p.category);
            let in_surroundings = state
                .containing_zones(p.location.lon(), p.location.lat())
                .iter()
                .any(|z| {
                    zones
                        .map
                        .get(z)
                        .is_some_and(|z| z.kind == ZoneKind::Surroundings)
                });
            let must = p.is_overdue(now) || p.severity >= Severity::High || in_surroundings;
            Stop {
                id: p.id.to_string(),
                lon: p.location.lon(),
                lat: p.location.lat(),
                service_s: f64::from(cat.map_or(10, |c| c.service_minutes)) * 60.0,
                priority: if must {
                    Priority::Must
                } else {
                    Priority::Optional {
                        value: cat.map_or(1.0, |c| c.weight) * p.severity.weight(),
                    }
                },
            }
        })
        .collect()
}

fn parse_end(v: Option<&Value>, crs: Crs) -> Result<RouteEnd, AppError> {
    match v {
        None => Ok(RouteEnd::ReturnToStart),
        Some(Value::String(s)) if s == "start" => Ok(RouteEnd::ReturnToStart),
        Some(Value::String(s)) if s == "last" => Ok(RouteEnd::LastStop),
        Some(Value::Array(a)) if a.len() == 2 => {
            let lon = a[0]
                .as_f64()
                .ok_or_else(|| AppError::invalid("end", "not a number"))?;
            let lat = a[1]
                .as_f64()
                .ok_or_else(|| AppError::invalid("end", "not a number"))?;
            let (lon, lat) = crate::api::input_position(crs, lon, lat)?;
            Ok(RouteEnd::At([lon, lat]))
        }
        Some(_) => Err(AppError::invalid(
            "end",
            r#"end is "start", "last" or [lon, lat]"#,
        )),
    }
}

/// Plans routes for the chosen problems.
#[utoipa::path(
    post,
    path = "/api/v1/routes",
    tag = "routes",
    summary = "Plan rectification routes (整改路线)",
    description = "Orders the chosen open problems into one route per team within the time budget, along the roads of the chosen mode. Must-visit stops: overdue, high or critical severity, or inside a three-surroundings zone; the rest are optional and chosen by value (category weight × severity weight) while time remains. `format=gpx` answers GPX 1.1, `format=svg` the map of the print sheet, `format=html` the printable sheet. Without a road graph the answer uses straight-line distance × 1.3 and says so (`fallback_straight_line`). Roles: admin, street_office.",
    params(RouteParams),
    request_body(content = RouteRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The routes", body = Object),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 422, description = "Infeasible or invalid: the message names the stops (a must-visit set that does not fit the budget, a stop no road reaches)", body = ErrorBody),
    )
)]
pub async fn plan_routes(
    actor: Actor,
    axum::extract::State(state): axum::extract::State<AppState>,
    AppQuery(q): AppQuery<RouteParams>,
    AppJson(req): AppJson<RouteRequest>,
) -> Result<Response, AppError> {
    actor.require(&[Role::Admin, Role::StreetOffice], "plan routes")?;
    let crs: Crs = q
        .crs
        .as_deref()
        .unwrap_or("wgs84")
        .parse()
        .map_err(|e| AppError::bad_param("crs", e))?;
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "gpx" | "svg" | "html") {
        return Err(AppError::bad_param(
            "format",
            "format is json, gpx, svg or html",
        ));
    }
    if !(1..=20).contains(&req.teams) {
        return Err(AppError::invalid("teams", "teams must be 1 to 20"));
    }
    if !(req.budget_min.is_finite() && req.budget_min > 0.0 && req.budget_min <= 24.0 * 60.0) {
        return Err(AppError::invalid(
            "budget_min",
            "budget_min must be more than 0 and at most 1440 minutes",
        ));
    }
    let (lon, lat) = crate::api::input_position(crs, req.start[0], req.start[1])
        .map_err(|_| AppError::invalid("start", "start must be a valid [lon, lat]"))?;
    let end = parse_end(req.end.as_ref(), crs)?;
    let mode = req.mode.unwrap_or(Mode::Walk);
    let chosen = choose(&state, &req)?;
    let stops = to_stops(&state, &chosen.problems);
    let request = PlanRequest {
        stops,
        start: [lon, lat],
        end,
        teams: req.teams,
        budget_s: req.budget_min * 60.0,
        mode,
        seed: req.seed,
        options: plan::PlanOptions::default(),
    };
    let roads = state.roads();
    // The solver is CPU-bound (up to its time limit): keep it off the async workers.
    let result = tokio::task::spawn_blocking(move || {
        plan::plan_routes(&request, roads.as_deref().map(|r| r.graph(mode)))
    })
    .await
    .map_err(|e| AppError::Internal(format!("route planner stopped: {e}")))?;
    let plan = result.map_err(|e| {
        let ids = e.stop_ids();
        if ids.is_empty() {
            AppError::invalid("stops", e.to_string())
        } else {
            AppError::invalid("stops", format!("{e} (stops: {})", ids.join(", ")))
        }
    })?;
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
            plan.to_gpx("civmap 整改路线"),
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
            sheet_html(&plan, &chosen)?,
        )
            .into_response(),
        _ => Json(plan_json(&plan, &chosen, crs)).into_response(),
    })
}

fn out(crs: Crs, p: [f64; 2]) -> [f64; 2] {
    crs.from_wgs84(p)
}

/// The plan as JSON: per team the ordered stops and the route line as a GeoJSON Feature.
fn plan_json(plan: &Plan, chosen: &Chosen, crs: Crs) -> Value {
    let teams: Vec<Value> = plan
        .teams
        .iter()
        .map(|t| {
            let stops: Vec<Value> = t
                .stops
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    json!({
                        "seq": i + 1,
                        "id": s.id,
                        "category_name": chosen.names.get(&s.id),
                        "coordinates": out(crs, [s.lon, s.lat]),
                        "arrival_s": s.arrival_s.round(),
                        "departure_s": s.departure_s.round(),
                        "leg_distance_m": s.leg_distance_m.round(),
                        "must": s.must,
                    })
                })
                .collect();
            json!({
                "team": t.team,
                "distance_m": t.distance_m.round(),
                "duration_s": t.duration_s.round(),
                "travel_s": t.travel_s.round(),
                "service_s": t.service_s.round(),
                "stops": stops,
                "route": {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": t.geometry.iter().map(|p| out(crs, *p)).collect::<Vec<_>>(),
                    },
                    "properties": {"team": t.team, "distance_m": t.distance_m.round(), "duration_s": t.duration_s.round()},
                },
            })
        })
        .collect();
    json!({
        "mode": plan.mode.as_str(),
        "budget_s": plan.budget_s,
        "crs": crs.as_str(),
        "fallback_straight_line": plan.fallback_straight_line,
        "note": plan.fallback_straight_line.then_some(
            "no road graph for this area: distances are straight lines × 1.3 (detour factor)"
        ),
        "start": out(crs, plan.start),
        "teams": teams,
        "unassigned": plan.unassigned.iter().map(|u| json!({"id": u.id, "reason": format!("{:?}", u.reason)})).collect::<Vec<_>>(),
    })
}

/// The map of the printed route sheet: every team's line and its numbered stops.
fn sheet_map(plan: &Plan) -> Result<String, AppError> {
    let mut map = StaticMap::new(900);
    map.title("civmap 整改路线 / rectification routes");
    for t in &plan.teams {
        let colour = Colour::TEAMS[(t.team.saturating_sub(1)) % Colour::TEAMS.len()];
        let line: geo::LineString<f64> = t.geometry.iter().map(|p| (p[0], p[1])).collect();
        if line.0.len() >= 2 {
            map.line(&line, LineStyle::route(colour));
        }
        for (i, s) in t.stops.iter().enumerate() {
            map.marker(s.lon, s.lat, (i + 1).to_string(), colour);
        }
    }
    map.render()
        .map_err(|e| AppError::Internal(format!("print map: {e}")))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A printable page: the map, then one stop table per team (for teams without phones).
fn sheet_html(plan: &Plan, chosen: &Chosen) -> Result<String, AppError> {
    let mut h = String::from(
        "<!doctype html><html lang=\"zh\"><meta charset=\"utf-8\"><title>整改路线单</title>\
         <style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:1em 0}\
         td,th{border:1px solid #999;padding:4px 8px}@media print{.page{page-break-after:always}}</style><body>",
    );
    h.push_str(&sheet_map(plan)?);
    let by_id: HashMap<String, &Problem> = chosen
        .problems
        .iter()
        .map(|p| (p.id.to_string(), p))
        .collect();
    for t in &plan.teams {
        let _ = write!(
            h,
            "<div class=\"page\"><h2>第 {} 组 / Team {}</h2><p>{:.1} km, {:.0} min</p><table><tr><th>#</th><th>到达 arrival</th><th>类别 category</th><th>描述 description</th><th>位置 lon, lat</th><th>完成 ✓</th></tr>",
            t.team,
            t.team,
            t.distance_m / 1000.0,
            t.duration_s / 60.0
        );
        for (i, s) in t.stops.iter().enumerate() {
            let p = by_id.get(&s.id);
            let _ = write!(
                h,
                "<tr><td>{}</td><td>+{:.0} min</td><td>{}</td><td>{}</td><td>{:.5}, {:.5}</td><td></td></tr>",
                i + 1,
                s.arrival_s / 60.0,
                esc(chosen.names.get(&s.id).map_or("", String::as_str)),
                esc(p.map_or("", |p| p.description.as_str())),
                s.lon,
                s.lat
            );
        }
        h.push_str("</table></div>");
    }
    h.push_str("<p>© OpenStreetMap contributors</p></body></html>");
    Ok(h)
}
