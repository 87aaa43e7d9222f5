//! Rectification-route planning: which problem points each team visits, in which order, and when.
//!
//! Input is a [`PlanRequest`] (stops with service times and priorities, a start — the street
//! office — and an end, a time budget per team, the number of teams, the travel mode and a
//! seed); output is a [`Plan`] with one [`TeamRoute`] per team and the optional stops left out.
//!
//! Method:
//! 1. Travel times and distances between all points: on the [`RoadGraph`] when one is given
//!    (each point snapped to the nearest usable road, plus a walk at [`ACCESS_SPEED_MPS`] between
//!    the point and the road), otherwise straight-line distance times a detour factor at the
//!    mode's [average speed](Mode::fallback_speed_mps), with `fallback_straight_line` set.
//! 2. Must-visit stops first. One team: the shortest path through them. Several teams: a tour
//!    through all of them split into consecutive pieces minimising the longest route, then
//!    stops moved and swapped between routes while that lowers the longest route. If the longest
//!    route still exceeds the budget, the request fails with [`PlanError::MustVisitOverBudget`]
//!    naming the stops on the routes that do not fit.
//! 3. Optional stops by value per added second, each at its cheapest feasible position in any
//!    route; orders re-optimised and insertion repeated; then a lower-value stop is swapped out
//!    for a higher-value one where the budget allows.
//! 4. Routes rebalanced (longest route first, without losing value), each order re-solved with
//!    the [TSP solver](crate::tsp), and arrival times computed.
//!
//! Every chosen stop is visited exactly once and every route respects the budget. Results are
//! deterministic for a given `seed` (the solver's time limit is a safety net far above the
//! usual run time).
//!
//! ```
//! use civmap_route::plan::{plan_routes, PlanRequest, Priority, RouteEnd, Stop};
//! use civmap_route::graph::Mode;
//! let stop = |id: &str, lon, lat| Stop { id: id.into(), lon, lat, service_s: 300.0, priority: Priority::Must };
//! let req = PlanRequest {
//!     stops: vec![stop("a", 121.470, 31.230), stop("b", 121.475, 31.232), stop("c", 121.472, 31.228)],
//!     start: [121.468, 31.229],
//!     end: RouteEnd::ReturnToStart,
//!     teams: 1,
//!     budget_s: 4.0 * 3600.0,
//!     mode: Mode::Walk,
//!     seed: 7,
//!     options: Default::default(),
//! };
//! let plan = plan_routes(&req, None)?; // no road graph: straight lines, flagged
//! assert!(plan.fallback_straight_line);
//! assert_eq!(plan.teams[0].stops.len(), 3);
//! # Ok::<(), civmap_route::plan::PlanError>(())
//! ```

use std::time::Duration;

use geo::{Distance, Haversine, Point};
use serde::{Deserialize, Serialize};

use crate::graph::{ACCESS_SPEED_MPS, Mode, RoadGraph, Snap};
use crate::tsp::{self, CostMatrix, PathEnd, SolverConfig, SolverError};

/// Most stops accepted in one request.
pub const MAX_STOPS: usize = 1000;

/// Most teams accepted in one request.
pub const MAX_TEAMS: usize = 100;

/// How important a stop is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Must be visited (e.g. overdue, in a "three surroundings" zone, severe); the request fails
    /// when the must-visit stops cannot all be served within the budget.
    Must,
    /// Visited if time allows, preferring a higher `value` per added second.
    Optional {
        /// Value of visiting the stop (positive, unitless; higher is more important).
        value: f64,
    },
}

/// A problem point to visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// Caller's id (e.g. the problem id); echoed in the plan and in errors.
    pub id: String,
    /// WGS-84 longitude in degrees.
    pub lon: f64,
    /// WGS-84 latitude in degrees.
    pub lat: f64,
    /// Time spent at the stop in seconds (by category: checking, photographing, fixing).
    pub service_s: f64,
    /// Must-visit or optional with a value.
    pub priority: Priority,
}

/// Where routes end.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteEnd {
    /// Back at the start (the street office).
    #[default]
    ReturnToStart,
    /// At a given WGS-84 `[lon, lat]`.
    At([f64; 2]),
    /// Wherever the last stop is.
    LastStop,
}

/// Tunables with defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanOptions {
    /// Straight-line fallback: road distance is taken as this factor times the great-circle distance.
    pub detour_factor: f64,
    /// A point farther than this many metres from any usable road is unreachable.
    pub max_snap_m: f64,
    /// Wall-clock safety limit for the whole optimisation, in milliseconds.
    pub time_limit_ms: u64,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            detour_factor: 1.3,
            max_snap_m: 500.0,
            time_limit_ms: 10_000,
        }
    }
}

/// A route-planning request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRequest {
    /// Stops to choose from (ids unique).
    pub stops: Vec<Stop>,
    /// Start of every route, WGS-84 `[lon, lat]` (the street office).
    pub start: [f64; 2],
    /// End of every route.
    #[serde(default)]
    pub end: RouteEnd,
    /// Number of teams (routes), at least 1.
    #[serde(default = "one")]
    pub teams: usize,
    /// Time budget per team in seconds, from leaving the start to reaching the end, travel plus service.
    pub budget_s: f64,
    /// Travel mode.
    pub mode: Mode,
    /// Seed of the solver; equal requests with equal seeds give equal plans.
    #[serde(default)]
    pub seed: u64,
    /// Tunables.
    #[serde(default)]
    pub options: PlanOptions,
}

fn one() -> usize {
    1
}

/// A stop in a route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStop {
    /// The stop's id.
    pub id: String,
    /// WGS-84 longitude.
    pub lon: f64,
    /// WGS-84 latitude.
    pub lat: f64,
    /// Seconds after leaving the start when the team arrives.
    pub arrival_s: f64,
    /// Seconds after leaving the start when the team leaves (arrival plus service).
    pub departure_s: f64,
    /// Metres travelled from the previous stop (or the start).
    pub leg_distance_m: f64,
    /// `true` for a must-visit stop.
    pub must: bool,
}

/// One team's route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamRoute {
    /// 0-based team number.
    pub team: usize,
    /// Stops in visiting order.
    pub stops: Vec<PlannedStop>,
    /// Total travelled distance in metres.
    pub distance_m: f64,
    /// Seconds from leaving the start to reaching the end (0 for a team with no stops).
    pub duration_s: f64,
    /// Of which travelling.
    pub travel_s: f64,
    /// Of which at stops.
    pub service_s: f64,
    /// The route line, WGS-84 `[lon, lat]` vertices: along the roads, or straight lines in the fallback.
    pub geometry: Vec<[f64; 2]>,
}

/// Why an optional stop is not in any route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnassignedReason {
    /// No usable road near it.
    Unreachable,
    /// Going there and back alone already exceeds the budget.
    ExceedsBudgetAlone,
    /// It does not fit into what is left of any team's budget.
    BudgetExhausted,
}

/// An optional stop left out of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unassigned {
    /// The stop's id.
    pub id: String,
    /// Why.
    pub reason: UnassignedReason,
}

/// The answer to a [`PlanRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// One route per team (possibly empty), in team order.
    pub teams: Vec<TeamRoute>,
    /// Optional stops not visited, with the reason.
    pub unassigned: Vec<Unassigned>,
    /// `true` when no road graph was used: distances are straight lines times the detour factor.
    pub fallback_straight_line: bool,
    /// The travel mode.
    pub mode: Mode,
    /// The per-team budget in seconds.
    pub budget_s: f64,
    /// Sum of the values of the optional stops visited.
    pub optional_value: f64,
    /// Start of the routes.
    pub start: [f64; 2],
    /// End of the routes (`None` for [`RouteEnd::LastStop`]).
    pub end: Option<[f64; 2]>,
}

/// Errors of route planning. Variants that name stops are the ones a server answers with
/// 422 Unprocessable Content; [`PlanError::stop_ids`] lists them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A request-level field is wrong.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A stop's fields are wrong.
    #[error("stop {id:?}: {reason}")]
    InvalidStop {
        /// The stop.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// Two stops share an id.
    #[error("stop id {0:?} appears more than once")]
    DuplicateStopId(String),
    /// More stops than [`MAX_STOPS`].
    #[error("too many stops: {count} (at most {max})")]
    TooManyStops {
        /// Stops in the request.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The road graph was built for another mode than the request's.
    #[error("the road graph is for {graph}, the request asks for {request}")]
    ModeMismatch {
        /// Graph mode.
        graph: Mode,
        /// Request mode.
        request: Mode,
    },
    /// The start or end has no usable road nearby.
    #[error("the {which} is not near any road usable on the {mode} network (limit {max_snap_m} m)")]
    EndpointUnreachable {
        /// `"start"` or `"end"`.
        which: &'static str,
        /// Mode.
        mode: Mode,
        /// Snap limit in metres.
        max_snap_m: f64,
    },
    /// Must-visit stops that cannot be reached from the start (no usable road within the snap limit).
    #[error(
        "must-visit stops cannot be reached from the start on the {mode} network (no usable road within {max_snap_m} m): {}",
        stop_ids.join(", ")
    )]
    Unreachable {
        /// The stops.
        stop_ids: Vec<String>,
        /// Mode.
        mode: Mode,
        /// Snap limit in metres.
        max_snap_m: f64,
    },
    /// Must-visit stops that do not fit the budget.
    #[error(
        "must-visit stops do not fit the time budget of {budget_s:.0} s per team with {teams} team(s); the best plan found needs {needed_s:.0} s: {}",
        stop_ids.join(", ")
    )]
    MustVisitOverBudget {
        /// The stops: those that alone exceed the budget, or else those on the routes that do not fit.
        stop_ids: Vec<String>,
        /// Budget per team, s.
        budget_s: f64,
        /// Duration of the longest route found, s.
        needed_s: f64,
        /// Teams.
        teams: usize,
        /// About how many teams the must-visit stops need within the budget (their routes' total
        /// time over the budget, rounded up): `None` when a stop alone exceeds it, which more
        /// teams cannot help.
        teams_needed: Option<usize>,
    },
    /// The solver rejected the cost matrix (travel times out of range).
    #[error(transparent)]
    Solver(#[from] SolverError),
}

impl PlanError {
    /// The stop ids an error is about (empty for request-level errors).
    #[must_use]
    pub fn stop_ids(&self) -> &[String] {
        match self {
            Self::Unreachable { stop_ids, .. } | Self::MustVisitOverBudget { stop_ids, .. } => {
                stop_ids
            }
            Self::InvalidStop { id, .. } | Self::DuplicateStopId(id) => std::slice::from_ref(id),
            _ => &[],
        }
    }
}

/// Node 0 is the start, node 1 the end, stops are nodes `2..`.
const START: usize = 0;
const END: usize = 1;

/// Travel data between all nodes.
struct Costs {
    n: usize,
    /// Seconds.
    time: Vec<f64>,
    /// Metres.
    dist: Vec<f64>,
    /// Seconds at each node (0 for start and end).
    service: Vec<f64>,
    /// `true` for a [`RouteEnd::LastStop`] request: the end node is virtual and free.
    open_end: bool,
}

impl Costs {
    fn t(&self, i: usize, j: usize) -> f64 {
        self.time[i * self.n + j]
    }

    fn d(&self, i: usize, j: usize) -> f64 {
        self.dist[i * self.n + j]
    }

    /// Seconds from start to end through `route` (0 for an empty route).
    fn duration(&self, route: &[usize]) -> f64 {
        if route.is_empty() {
            return 0.0;
        }
        let mut prev = START;
        let mut total = 0.0;
        for &s in route {
            total += self.t(prev, s) + self.service[s];
            prev = s;
        }
        total + self.t(prev, END)
    }

    /// Cheapest insertion of `s` into `route`: (position, added seconds).
    fn best_insertion(&self, route: &[usize], s: usize) -> (usize, f64) {
        let mut best = (0, f64::INFINITY);
        for pos in 0..=route.len() {
            let prev = if pos == 0 { START } else { route[pos - 1] };
            let next = if pos == route.len() { END } else { route[pos] };
            let delta = if route.is_empty() {
                self.t(START, s) + self.service[s] + self.t(s, END)
            } else {
                self.t(prev, s) + self.service[s] + self.t(s, next) - self.t(prev, next)
            };
            if delta < best.1 {
                best = (pos, delta);
            }
        }
        best
    }
}

/// Plans the routes for `req`, on `graph` when given (it must be built for `req.mode`), otherwise
/// with the straight-line fallback.
#[allow(clippy::too_many_lines)] // the planning steps in order, each a few lines
pub fn plan_routes(req: &PlanRequest, graph: Option<&RoadGraph>) -> Result<Plan, PlanError> {
    validate(req)?;
    if let Some(g) = graph
        && g.mode() != req.mode
    {
        return Err(PlanError::ModeMismatch {
            graph: g.mode(),
            request: req.mode,
        });
    }
    let end_point = match req.end {
        RouteEnd::ReturnToStart => Some(req.start),
        RouteEnd::At(p) => Some(p),
        RouteEnd::LastStop => None,
    };
    let mut points = vec![req.start, end_point.unwrap_or(req.start)];
    points.extend(req.stops.iter().map(|s| [s.lon, s.lat]));
    let mut service = vec![0.0, 0.0];
    service.extend(req.stops.iter().map(|s| s.service_s));

    let (mut costs, snaps, unreachable) = match graph {
        Some(g) => road_costs(req, g, &points, service)?,
        None => (
            straight_costs(req, &points, service),
            Vec::new(),
            Vec::new(),
        ),
    };
    if req.end == RouteEnd::LastStop {
        costs.open_end = true;
        for i in 0..costs.n {
            costs.time[i * costs.n + END] = 0.0;
            costs.dist[i * costs.n + END] = 0.0;
        }
    }

    let stop_node = |k: usize| k + 2;
    let mut unassigned: Vec<Unassigned> = Vec::new();
    let mut unreachable_must = Vec::new();
    let mut alone_must = Vec::new();
    let mut must = Vec::new();
    let mut optional = Vec::new();
    for (k, s) in req.stops.iter().enumerate() {
        let v = stop_node(k);
        let is_must = s.priority == Priority::Must;
        let alone = costs.t(START, v) + s.service_s + costs.t(v, END);
        if unreachable.contains(&v) || !alone.is_finite() {
            if is_must {
                unreachable_must.push(s.id.clone());
            } else {
                unassigned.push(Unassigned {
                    id: s.id.clone(),
                    reason: UnassignedReason::Unreachable,
                });
            }
        } else if alone > req.budget_s {
            if is_must {
                alone_must.push((s.id.clone(), alone));
            } else {
                unassigned.push(Unassigned {
                    id: s.id.clone(),
                    reason: UnassignedReason::ExceedsBudgetAlone,
                });
            }
        } else if is_must {
            must.push(v);
        } else {
            optional.push(v);
        }
    }
    if !unreachable_must.is_empty() {
        return Err(PlanError::Unreachable {
            stop_ids: unreachable_must,
            mode: req.mode,
            max_snap_m: req.options.max_snap_m,
        });
    }
    if !alone_must.is_empty() {
        let needed_s = alone_must.iter().map(|a| a.1).fold(0.0, f64::max);
        return Err(PlanError::MustVisitOverBudget {
            stop_ids: alone_must.into_iter().map(|a| a.0).collect(),
            budget_s: req.budget_s,
            needed_s,
            teams: req.teams,
            teams_needed: None,
        });
    }

    let mut planner = Planner::new(req, &costs);
    let mut routes = planner.assign_must(&must)?;
    let longest = routes.iter().map(|r| costs.duration(r)).fold(0.0, f64::max);
    if longest > req.budget_s {
        let mut stop_ids: Vec<String> = routes
            .iter()
            .filter(|r| costs.duration(r) > req.budget_s)
            .flatten()
            .map(|&v| req.stops[v - 2].id.clone())
            .collect();
        stop_ids.sort();
        return Err(PlanError::MustVisitOverBudget {
            stop_ids,
            budget_s: req.budget_s,
            needed_s: longest,
            teams: req.teams,
            // A lower bound in practice (more routes add travel), hence "about" where it is shown.
            teams_needed: Some(
                ((routes.iter().map(|r| costs.duration(r)).sum::<f64>() / req.budget_s).ceil()
                    as usize)
                    .max(req.teams + 1),
            ),
        });
    }
    let value = |v: usize| match req.stops[v - 2].priority {
        Priority::Optional { value } => value,
        Priority::Must => 0.0,
    };
    let mut left = planner.add_optional(&mut routes, optional, &value)?;
    // Rebalance and re-solve the orders; the time this frees may admit more optional stops. The
    // last step is always an insertion pass that found nothing more to add (or ran out of rounds),
    // so every stop left out fits into no route at its cheapest position.
    for _ in 0..3 {
        planner.balance(&mut routes);
        for r in &mut routes {
            planner.improve_order(r, true)?;
        }
        if !planner.greedy_insert(&mut routes, &mut left, &value) {
            break;
        }
    }
    for v in left {
        unassigned.push(Unassigned {
            id: req.stops[v - 2].id.clone(),
            reason: UnassignedReason::BudgetExhausted,
        });
    }
    unassigned.sort_by(|a, b| a.id.cmp(&b.id));

    let teams: Vec<TeamRoute> = routes
        .iter()
        .enumerate()
        .map(|(team, r)| build_team_route(req, graph, &costs, &snaps, &points, team, r))
        .collect();
    let optional_value = routes.iter().flatten().map(|&v| value(v)).sum();
    Ok(Plan {
        teams,
        unassigned,
        fallback_straight_line: graph.is_none(),
        mode: req.mode,
        budget_s: req.budget_s,
        optional_value,
        start: req.start,
        end: end_point,
    })
}

fn valid_lon_lat(lon: f64, lat: f64) -> bool {
    lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat)
}

fn validate(req: &PlanRequest) -> Result<(), PlanError> {
    let bad = |m: &str| Err(PlanError::InvalidRequest(m.to_owned()));
    if req.teams == 0 || req.teams > MAX_TEAMS {
        return bad(&format!(
            "teams must be between 1 and {MAX_TEAMS}, got {}",
            req.teams
        ));
    }
    if !(req.budget_s.is_finite() && req.budget_s > 0.0) {
        return bad(&format!(
            "budget_s must be a positive number of seconds, got {}",
            req.budget_s
        ));
    }
    if !valid_lon_lat(req.start[0], req.start[1]) {
        return bad(&format!("start {:?} is not a WGS-84 [lon, lat]", req.start));
    }
    if let RouteEnd::At(p) = req.end
        && !valid_lon_lat(p[0], p[1])
    {
        return bad(&format!("end {p:?} is not a WGS-84 [lon, lat]"));
    }
    let o = &req.options;
    if !(o.detour_factor.is_finite() && o.detour_factor >= 1.0) {
        return bad(&format!(
            "options.detour_factor must be at least 1, got {}",
            o.detour_factor
        ));
    }
    if !(o.max_snap_m.is_finite() && o.max_snap_m >= 0.0) {
        return bad(&format!(
            "options.max_snap_m must be a non-negative number of metres, got {}",
            o.max_snap_m
        ));
    }
    if req.stops.len() > MAX_STOPS {
        return Err(PlanError::TooManyStops {
            count: req.stops.len(),
            max: MAX_STOPS,
        });
    }
    let mut ids: Vec<&str> = Vec::with_capacity(req.stops.len());
    for s in &req.stops {
        let invalid = |reason: String| {
            Err(PlanError::InvalidStop {
                id: s.id.clone(),
                reason,
            })
        };
        if s.id.is_empty() {
            return invalid("empty id".into());
        }
        if !valid_lon_lat(s.lon, s.lat) {
            return invalid(format!("[{}, {}] is not a WGS-84 [lon, lat]", s.lon, s.lat));
        }
        if !(s.service_s.is_finite() && s.service_s >= 0.0) {
            return invalid(format!(
                "service_s must be a non-negative number of seconds, got {}",
                s.service_s
            ));
        }
        if let Priority::Optional { value } = s.priority
            && !(value.is_finite() && value > 0.0)
        {
            return invalid(format!("optional value must be positive, got {value}"));
        }
        ids.push(&s.id);
    }
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(PlanError::DuplicateStopId(w[0].to_owned()));
    }
    Ok(())
}

fn haversine(a: [f64; 2], b: [f64; 2]) -> f64 {
    Haversine.distance(Point::new(a[0], a[1]), Point::new(b[0], b[1]))
}

fn straight_costs(req: &PlanRequest, points: &[[f64; 2]], service: Vec<f64>) -> Costs {
    let n = points.len();
    let speed = req.mode.fallback_speed_mps();
    let mut time = vec![0.0; n * n];
    let mut dist = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            if i != j {
                let d = req.options.detour_factor * haversine(points[i], points[j]);
                dist[i * n + j] = d;
                time[i * n + j] = d / speed;
            }
        }
    }
    Costs {
        n,
        time,
        dist,
        service,
        open_end: false,
    }
}

/// Travel costs, the snaps of the points (for geometry) and the stop nodes that could not be snapped.
type RoadCosts = (Costs, Vec<Option<Snap>>, Vec<usize>);

/// Road costs; returns the snaps (for geometry) and the stop nodes that could not be snapped.
fn road_costs(
    req: &PlanRequest,
    g: &RoadGraph,
    points: &[[f64; 2]],
    service: Vec<f64>,
) -> Result<RoadCosts, PlanError> {
    let max = req.options.max_snap_m;
    let snaps: Vec<Option<Snap>> = points
        .iter()
        .map(|p| g.snap(p[0], p[1]).filter(|s| s.offset_m <= max))
        .collect();
    for (node, which) in [(START, "start"), (END, "end")] {
        if snaps[node].is_none() && !(node == END && req.end == RouteEnd::LastStop) {
            return Err(PlanError::EndpointUnreachable {
                which,
                mode: req.mode,
                max_snap_m: max,
            });
        }
    }
    let unreachable: Vec<usize> = (2..points.len()).filter(|&v| snaps[v].is_none()).collect();
    // Matrix over the snapped points only.
    let placed: Vec<usize> = (0..points.len()).filter(|&v| snaps[v].is_some()).collect();
    let placed_snaps: Vec<Snap> = placed.iter().filter_map(|&v| snaps[v]).collect();
    let m = g.matrix(&placed_snaps);
    let n = points.len();
    let mut time = vec![f64::INFINITY; n * n];
    let mut dist = vec![f64::INFINITY; n * n];
    for (a, &i) in placed.iter().enumerate() {
        for (b, &j) in placed.iter().enumerate() {
            let k = i * n + j;
            if i == j {
                time[k] = 0.0;
                dist[k] = 0.0;
            } else {
                let (si, sj) = (placed_snaps[a], placed_snaps[b]);
                let access_m = si.offset_m + sj.offset_m;
                let direct_m = haversine(points[i], points[j]);
                if direct_m <= access_m {
                    // Closer to each other than to their roads (e.g. two problems in one courtyard): walk across.
                    time[k] = direct_m / ACCESS_SPEED_MPS;
                    dist[k] = direct_m;
                } else {
                    time[k] = m.time_s[a * m.n + b] + access_m / ACCESS_SPEED_MPS;
                    dist[k] = m.distance_m[a * m.n + b] + access_m;
                }
            }
        }
    }
    Ok((
        Costs {
            n,
            time,
            dist,
            service,
            open_end: false,
        },
        snaps,
        unreachable,
    ))
}

/// The optimisation state shared by the planning steps.
struct Planner<'a> {
    req: &'a PlanRequest,
    costs: &'a Costs,
    seed: u64,
    deadline: std::time::Instant,
    /// Route orders that came out of a thorough solve (re-solving them would be wasted work).
    solved: std::collections::HashSet<Vec<usize>>,
}

/// A balancing move: (objective after it, route r, index in the longest route, index in r for a swap).
type BalanceMove = ((f64, f64), usize, usize, Option<usize>);

/// Solver cost unit: deciseconds.
const COST_SCALE: f64 = 10.0;

impl<'a> Planner<'a> {
    fn new(req: &'a PlanRequest, costs: &'a Costs) -> Self {
        Self {
            req,
            costs,
            seed: req.seed,
            deadline: std::time::Instant::now() + Duration::from_millis(req.options.time_limit_ms),
            solved: std::collections::HashSet::new(),
        }
    }

    fn next_seed(&mut self) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.seed
    }

    /// Solver settings for `n` nodes: a quick polish, or a thorough solve (20 idle rounds per
    /// node, 500 to 3000) — routes rarely exceed a hundred stops, where the TSPLIB benchmark shows
    /// this many rounds of the Lin–Kernighan-style search reach the optimum or come within 1 %.
    fn solver_config(&mut self, n: usize, thorough: bool) -> SolverConfig {
        let left = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        SolverConfig {
            seed: self.next_seed(),
            time_limit: left.max(Duration::from_millis(20)),
            idle_rounds: Some(if thorough {
                (20 * n as u64).clamp(500, 3000)
            } else {
                300
            }),
            ..SolverConfig::default()
        }
    }

    /// Solver matrix over `nodes` (cost = travel to the node plus its service, deciseconds).
    fn matrix(&self, nodes: &[usize]) -> Result<CostMatrix, PlanError> {
        let c = self.costs;
        Ok(CostMatrix::from_fn(nodes.len(), |i, j| {
            let (a, b) = (nodes[i], nodes[j]);
            // Legs are at most a few hours; the clamp only guards the solver's range.
            ((c.t(a, b) + c.service[b]) * COST_SCALE).round().min(1e8) as i64
        })?)
    }

    /// Re-solves the order of `route` (kept if the solver finds nothing shorter).
    fn improve_order(&mut self, route: &mut Vec<usize>, thorough: bool) -> Result<(), PlanError> {
        if route.len() < 2 {
            return Ok(());
        }
        if thorough && self.solved.contains(route) {
            return Ok(()); // already solved thoroughly in this order
        }
        let cfg = self.solver_config(route.len() + 2, thorough);
        let before = self.costs.duration(route);
        let candidate = if self.costs.open_end {
            let mut nodes = vec![START];
            nodes.extend_from_slice(route);
            let p = tsp::solve_path(&self.matrix(&nodes)?, 0, PathEnd::Free, &cfg)?;
            p.order[1..].iter().map(|&i| nodes[i]).collect::<Vec<_>>()
        } else {
            let mut nodes = vec![START, END];
            nodes.extend_from_slice(route);
            let p = tsp::solve_path(&self.matrix(&nodes)?, 0, PathEnd::Node(1), &cfg)?;
            p.order[1..p.order.len() - 1]
                .iter()
                .map(|&i| nodes[i])
                .collect::<Vec<_>>()
        };
        if self.costs.duration(&candidate) < before {
            *route = candidate;
        }
        if thorough {
            self.solved.insert(route.clone());
        }
        Ok(())
    }

    /// Distributes the must-visit stops over the teams, minimising the longest route.
    fn assign_must(&mut self, must: &[usize]) -> Result<Vec<Vec<usize>>, PlanError> {
        let k = self.req.teams;
        let mut routes = vec![Vec::new(); k];
        if must.is_empty() {
            return Ok(routes);
        }
        if k == 1 {
            routes[0] = must.to_vec();
            self.improve_order(&mut routes[0], true)?;
            return Ok(routes);
        }
        // Giant tour through the start and all must-visit stops, then an optimal min-max split.
        let mut nodes = vec![START];
        nodes.extend_from_slice(must);
        let cfg = self.solver_config(nodes.len(), true);
        let tour = tsp::solve_path(&self.matrix(&nodes)?, 0, PathEnd::Start, &cfg)?;
        let seq: Vec<usize> = tour.order[1..].iter().map(|&i| nodes[i]).collect();
        let mut best = self.split(&seq, k);
        // The reverse direction can split better when times are asymmetric.
        let rev: Vec<usize> = seq.iter().rev().copied().collect();
        let alt = self.split(&rev, k);
        if self.objective(&alt) < self.objective(&best) {
            best = alt;
        }
        routes = best;
        self.balance(&mut routes);
        for r in &mut routes {
            self.improve_order(r, false)?;
        }
        Ok(routes)
    }

    /// Splits `seq` into at most `k` consecutive routes minimising the longest (dynamic programme).
    fn split(&self, seq: &[usize], k: usize) -> Vec<Vec<usize>> {
        let m = seq.len();
        // cost[i][j] for the route seq[i..j]: computed incrementally per i.
        let mut seg = vec![0.0; m * (m + 1)];
        for i in 0..m {
            let mut inner = 0.0;
            for j in i + 1..=m {
                if j > i + 1 {
                    inner += self.costs.t(seq[j - 2], seq[j - 1]);
                }
                inner += self.costs.service[seq[j - 1]];
                seg[i * (m + 1) + j] =
                    self.costs.t(START, seq[i]) + inner + self.costs.t(seq[j - 1], END);
            }
        }
        // f[t][j]: best max for the first j stops with t routes.
        let mut f = vec![vec![f64::INFINITY; m + 1]; k + 1];
        let mut cut = vec![vec![0usize; m + 1]; k + 1];
        f[0][0] = 0.0;
        for t in 1..=k {
            f[t][0] = 0.0;
            for j in 1..=m {
                for i in 0..j {
                    let v = f[t - 1][i].max(seg[i * (m + 1) + j]);
                    if v < f[t][j] {
                        f[t][j] = v;
                        cut[t][j] = i;
                    }
                }
            }
        }
        let mut routes = vec![Vec::new(); k];
        let mut j = m;
        for t in (1..=k).rev() {
            let i = cut[t][j];
            routes[t - 1] = seq[i..j].to_vec();
            j = i;
        }
        routes
    }

    /// (longest route, total duration): the balancing objective, compared lexicographically.
    fn objective(&self, routes: &[Vec<usize>]) -> (f64, f64) {
        let d: Vec<f64> = routes.iter().map(|r| self.costs.duration(r)).collect();
        (d.iter().copied().fold(0.0, f64::max), d.iter().sum())
    }

    /// Moves and swaps stops between routes while that lowers (longest route, total duration),
    /// compared lexicographically. The longest route never grows, so routes within the budget stay
    /// within it.
    fn balance(&mut self, routes: &mut [Vec<usize>]) {
        let k = routes.len();
        if k < 2 {
            return;
        }
        let c = self.costs;
        let eps = 1e-6;
        let max_rounds = 10 * routes.iter().map(Vec::len).sum::<usize>().max(1);
        for _round in 0..max_rounds {
            if std::time::Instant::now() >= self.deadline {
                break;
            }
            let dur: Vec<f64> = routes.iter().map(|r| c.duration(r)).collect();
            let cur = (
                dur.iter().copied().fold(0.0, f64::max),
                dur.iter().sum::<f64>(),
            );
            let Some(l) = (0..k).max_by(|&a, &b| dur[a].total_cmp(&dur[b]).then(b.cmp(&a))) else {
                break;
            };
            // Objective after routes l and r change to durations dl and dr.
            let objective = |r: usize, dl: f64, dr: f64| {
                let mut longest = dl.max(dr);
                for (i, &d) in dur.iter().enumerate() {
                    if i != l && i != r {
                        longest = longest.max(d);
                    }
                }
                (longest, cur.1 - dur[l] - dur[r] + dl + dr)
            };
            let better =
                |a: (f64, f64), b: (f64, f64)| a.0 < b.0 - eps || (a.0 <= b.0 && a.1 < b.1 - eps);
            let mut best: Option<BalanceMove> = None;
            for (pi, &s) in routes[l].iter().enumerate() {
                let mut without = routes[l].clone();
                without.remove(pi);
                let d_without = c.duration(&without);
                for r in (0..k).filter(|&r| r != l) {
                    let (_, ins) = c.best_insertion(&routes[r], s);
                    let obj = objective(r, d_without, dur[r] + ins);
                    if better(obj, cur) && best.is_none_or(|b| better(obj, b.0)) {
                        best = Some((obj, r, pi, None));
                    }
                    for (qi, &q) in routes[r].iter().enumerate() {
                        let mut r_without = routes[r].clone();
                        r_without.remove(qi);
                        let (_, ins_s) = c.best_insertion(&r_without, s);
                        let (_, ins_q) = c.best_insertion(&without, q);
                        let obj = objective(r, d_without + ins_q, c.duration(&r_without) + ins_s);
                        if better(obj, cur) && best.is_none_or(|b| better(obj, b.0)) {
                            best = Some((obj, r, pi, Some(qi)));
                        }
                    }
                }
            }
            let Some((_, r, pi, swap)) = best else { break };
            let s = routes[l].remove(pi);
            if let Some(qi) = swap {
                let q = routes[r].remove(qi);
                let (pq, _) = c.best_insertion(&routes[l], q);
                routes[l].insert(pq, q);
            }
            let (ps, _) = c.best_insertion(&routes[r], s);
            routes[r].insert(ps, s);
        }
    }

    /// Inserts optional stops by value per added second; returns those left out.
    fn add_optional(
        &mut self,
        routes: &mut [Vec<usize>],
        mut pending: Vec<usize>,
        value: &dyn Fn(usize) -> f64,
    ) -> Result<Vec<usize>, PlanError> {
        let budget = self.req.budget_s;
        for _pass in 0..4 {
            let inserted_before = pending.len();
            self.greedy_insert(routes, &mut pending, value);
            self.swap_in(routes, &mut pending, value);
            for r in routes.iter_mut() {
                self.improve_order(r, false)?;
            }
            debug_assert!(
                routes
                    .iter()
                    .all(|r| self.costs.duration(r) <= budget + 1e-6)
            );
            if pending.len() == inserted_before || pending.is_empty() {
                break;
            }
        }
        Ok(pending)
    }

    /// Inserts pending stops, best value per added second first, until none fits; returns whether
    /// any was inserted.
    fn greedy_insert(
        &self,
        routes: &mut [Vec<usize>],
        pending: &mut Vec<usize>,
        value: &dyn Fn(usize) -> f64,
    ) -> bool {
        let before = pending.len();
        let budget = self.req.budget_s;
        let mut durations: Vec<f64> = routes.iter().map(|r| self.costs.duration(r)).collect();
        loop {
            // (ratio, resulting duration, pending index, route, position)
            let mut best: Option<(f64, f64, usize, usize, usize)> = None;
            for (pi, &s) in pending.iter().enumerate() {
                for (r, route) in routes.iter().enumerate() {
                    let (pos, delta) = self.costs.best_insertion(route, s);
                    let after = durations[r] + delta;
                    if after > budget {
                        continue;
                    }
                    let ratio = value(s) / delta.max(1.0);
                    let better = best
                        .is_none_or(|b| ratio.total_cmp(&b.0).then(b.1.total_cmp(&after)).is_gt());
                    if better {
                        best = Some((ratio, after, pi, r, pos));
                    }
                }
            }
            let Some((_, after, pi, r, pos)) = best else {
                break;
            };
            let s = pending.remove(pi);
            routes[r].insert(pos, s);
            durations[r] = after;
        }
        pending.len() < before
    }

    /// Replaces a visited optional stop by a pending one of higher value where the budget allows.
    fn swap_in(
        &self,
        routes: &mut [Vec<usize>],
        pending: &mut [usize],
        value: &dyn Fn(usize) -> f64,
    ) {
        let budget = self.req.budget_s;
        let is_optional = |v: usize| self.req.stops[v - 2].priority != Priority::Must;
        pending.sort_by(|&a, &b| value(b).total_cmp(&value(a)).then(a.cmp(&b)));
        let mut i = 0;
        while i < pending.len() {
            let o = pending[i];
            let mut best: Option<(f64, usize, usize, Vec<usize>)> = None; // (value gain, route, removed idx, new route)
            for (r, route) in routes.iter().enumerate() {
                for (qi, &q) in route.iter().enumerate() {
                    if !is_optional(q) || value(q) >= value(o) {
                        continue;
                    }
                    let mut cand = route.clone();
                    cand.remove(qi);
                    let (pos, _) = self.costs.best_insertion(&cand, o);
                    cand.insert(pos, o);
                    if self.costs.duration(&cand) <= budget {
                        let gain = value(o) - value(q);
                        if best.as_ref().is_none_or(|b| gain > b.0) {
                            best = Some((gain, r, qi, cand));
                        }
                    }
                }
            }
            if let Some((_, r, qi, cand)) = best {
                let q = routes[r][qi];
                routes[r] = cand;
                pending[i] = q;
                pending.sort_by(|&a, &b| value(b).total_cmp(&value(a)).then(a.cmp(&b)));
                i = 0;
            } else {
                i += 1;
            }
        }
    }
}

fn push_point(geometry: &mut Vec<[f64; 2]>, p: [f64; 2]) {
    if geometry.last() != Some(&p) {
        geometry.push(p);
    }
}

fn build_team_route(
    req: &PlanRequest,
    graph: Option<&RoadGraph>,
    costs: &Costs,
    snaps: &[Option<Snap>],
    points: &[[f64; 2]],
    team: usize,
    route: &[usize],
) -> TeamRoute {
    let mut stops = Vec::with_capacity(route.len());
    let mut geometry = Vec::new();
    let mut clock = 0.0;
    let mut distance_m = 0.0;
    let mut service_s = 0.0;
    if route.is_empty() {
        return TeamRoute {
            team,
            stops,
            distance_m,
            duration_s: 0.0,
            travel_s: 0.0,
            service_s,
            geometry,
        };
    }
    let mut legs: Vec<(usize, usize)> = Vec::with_capacity(route.len() + 1);
    let mut prev = START;
    for &v in route {
        legs.push((prev, v));
        prev = v;
    }
    if !costs.open_end {
        legs.push((prev, END));
    }
    for &(a, b) in &legs {
        clock += costs.t(a, b);
        distance_m += costs.d(a, b);
        push_point(&mut geometry, points[a]);
        // A leg the model walks straight across (two points closer to each other than to their
        // roads) is drawn straight too, so the line is as long as the distance says.
        let walked_across = (costs.d(a, b) - haversine(points[a], points[b])).abs() < 1e-9;
        if !walked_across
            && let (Some(g), Some(sa), Some(sb)) = (
                graph,
                snaps.get(a).copied().flatten(),
                snaps.get(b).copied().flatten(),
            )
            && let Some(leg) = g.shortest_path(&sa, &sb)
        {
            for p in leg.geometry {
                push_point(&mut geometry, p);
            }
        }
        push_point(&mut geometry, points[b]);
        if b != END {
            let s = &req.stops[b - 2];
            stops.push(PlannedStop {
                id: s.id.clone(),
                lon: s.lon,
                lat: s.lat,
                arrival_s: clock,
                departure_s: clock + s.service_s,
                leg_distance_m: costs.d(a, b),
                must: s.priority == Priority::Must,
            });
            clock += s.service_s;
            service_s += s.service_s;
        }
    }
    let duration_s = costs.duration(route);
    debug_assert!((duration_s - clock).abs() < 1e-6 * duration_s.max(1.0));
    TeamRoute {
        team,
        stops,
        distance_m,
        duration_s,
        travel_s: duration_s - service_s,
        service_s,
        geometry,
    }
}
