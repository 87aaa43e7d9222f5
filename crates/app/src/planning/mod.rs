//! Rectification routes (整改路线): the street office picks problems by id or by filter, the
//! teams, a time budget and a travel mode; the planner orders them into one route per team
//! along the real roads.
//!
//! Only problems in the caller's scope are planned (a street office with a coded street: its
//! street); outside it a problem id is "not found", as everywhere else. Problems become
//! `civmap_route::Stop`s — must-visit when overdue, severe (high or critical) or inside a
//! three-surroundings zone; otherwise optional with a value of category weight × severity
//! weight; time on site from the category table or the request's `service_min` — and the
//! solver plans. An infeasible plan (the must-visit stops do not fit the budget, a stop no
//! usable road reaches) is [`PlanningError::Infeasible`], with the chosen problems to name.

pub mod network;
pub mod print;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use civmap_domain::{Problem, ProblemId, Role, Severity, Status, ZoneId, ZoneKind};
use civmap_route::graph::Mode;
use civmap_route::plan::{self, Plan, PlanError, PlanRequest, Priority, RouteEnd, Stop};

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;
use crate::scope::Scope;

/// Most problems one plan may visit.
pub const MAX_STOPS: usize = 500;
/// Most teams in one plan.
pub const MAX_TEAMS: usize = 20;
/// Longest budget per team, minutes (a day).
pub const MAX_BUDGET_MIN: f64 = 24.0 * 60.0;
/// Longest time on site per stop a request may set, minutes (a working day).
pub const MAX_SERVICE_MIN: f64 = 8.0 * 60.0;
/// Minutes on site for a category that names none.
pub const DEFAULT_SERVICE_MIN: u32 = 10;
/// The roles that plan routes.
pub const PLANNERS: &[Role] = &[Role::Admin, Role::StreetOffice];

/// Problems to visit, by zone, category, status and lateness. Closed and merged problems are
/// never visited.
#[derive(Debug, Clone, Default)]
pub struct RouteFilter {
    pub zone: Option<ZoneId>,
    /// Category codes (empty: every category).
    pub category: Vec<String>,
    /// Statuses (empty: every open status).
    pub status: Vec<Status>,
    pub overdue: bool,
}

/// What to plan: the problems (by id or by filter), the teams, the budget, the roads, the
/// start and the end (WGS-84).
#[derive(Debug, Clone)]
pub struct RouteInput {
    pub ids: Vec<ProblemId>,
    pub filter: Option<RouteFilter>,
    pub teams: usize,
    pub budget_min: f64,
    pub mode: Mode,
    pub start: [f64; 2],
    pub end: RouteEnd,
    /// Minutes on site per category code, overriding the category table.
    pub service_min: BTreeMap<String, f64>,
    pub seed: u64,
}

/// Why a problem is a must-visit stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MustReason {
    Overdue,
    Surroundings,
    Severe,
}

impl MustReason {
    /// `overdue`, `three_surroundings` or `severe`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            MustReason::Overdue => "overdue",
            MustReason::Surroundings => "three_surroundings",
            MustReason::Severe => "severe",
        }
    }
}

/// The problems chosen for a plan, with what the answer shows about them.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub problems: Vec<Problem>,
    /// Category display name (Chinese) by problem id.
    pub names: HashMap<String, String>,
    /// Must-visit reasons by problem id (empty for optional stops).
    pub reasons: HashMap<String, Vec<MustReason>>,
    /// `ids` or `filter`: the request field the stops came from.
    pub source: &'static str,
}

/// A plan and the problems it visits.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    pub chosen: Chosen,
    /// The detour factor of straight-line fallbacks.
    pub detour: f64,
}

/// Why no plan came out.
#[derive(Debug, thiserror::Error)]
pub enum PlanningError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The solver found the request infeasible (or invalid for the road network).
    #[error("{error}")]
    Infeasible {
        error: PlanError,
        chosen: Box<Chosen>,
        teams: usize,
    },
}

impl App {
    /// Plans routes for the problems `input` chooses among those `actor` may see.
    pub async fn plan_routes(
        &self,
        actor: &Actor,
        input: RouteInput,
    ) -> Result<Planned, PlanningError> {
        if !(1..=MAX_TEAMS).contains(&input.teams) {
            return Err(
                ServiceError::invalid("teams", format!("teams must be 1 to {MAX_TEAMS}")).into(),
            );
        }
        if !(input.budget_min.is_finite()
            && input.budget_min > 0.0
            && input.budget_min <= MAX_BUDGET_MIN)
        {
            return Err(ServiceError::invalid(
                "budget_min",
                format!("budget_min must be more than 0 and at most {MAX_BUDGET_MIN} minutes"),
            )
            .into());
        }
        self.check_service(&input.service_min)?;
        let chosen = self.choose(&self.scope(actor), &input)?;
        let stops = self.to_stops(&chosen, &input.service_min);
        let mode = input.mode;
        let request = PlanRequest {
            stops,
            start: input.start,
            end: input.end,
            teams: input.teams,
            budget_s: input.budget_min * 60.0,
            mode,
            seed: input.seed,
            options: plan::PlanOptions::default(),
        };
        let detour = request.options.detour_factor;
        let roads = self.roads();
        // The solver is CPU-bound (up to its time limit): keep it off the async workers.
        let result = tokio::task::spawn_blocking(move || {
            plan::plan_routes(&request, roads.as_deref().map(|r| r.graph(mode)))
        })
        .await
        .map_err(|e| ServiceError::internal("route planner stopped", e))?;
        match result {
            Ok(plan) => Ok(Planned {
                plan,
                chosen,
                detour,
            }),
            Err(error) => Err(PlanningError::Infeasible {
                error,
                chosen: Box::new(chosen),
                teams: input.teams,
            }),
        }
    }

    fn choose(&self, scope: &Scope, req: &RouteInput) -> Result<Chosen, ServiceError> {
        let table = self.categories();
        let now = Utc::now();
        let (source, problems) = if req.ids.is_empty() {
            let f = req.filter.as_ref().ok_or_else(|| {
                ServiceError::invalid("ids", "choose the problems with `ids` or with a `filter`")
            })?;
            ("filter", self.by_filter(scope, f, now)?)
        } else {
            if req.filter.is_some() {
                return Err(ServiceError::invalid(
                    "filter",
                    "give either `ids` or `filter`, not both",
                ));
            }
            ("ids", self.by_ids(scope, &req.ids)?)
        };
        if problems.is_empty() {
            return Err(ServiceError::invalid(
                source,
                "no open problem matches: nothing to visit",
            ));
        }
        if problems.len() > MAX_STOPS {
            return Err(ServiceError::invalid(
                source,
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
        let reasons = self.must_reasons(&problems, now);
        Ok(Chosen {
            problems,
            names,
            reasons,
            source,
        })
    }

    /// Every open problem in the caller's scope matching the filter, in id order.
    fn by_filter(
        &self,
        scope: &Scope,
        f: &RouteFilter,
        now: DateTime<Utc>,
    ) -> Result<Vec<Problem>, ServiceError> {
        let table = self.categories();
        for c in &f.category {
            table.id(c).map_err(|_| {
                ServiceError::invalid("filter.category", format!("unknown category {c:?}"))
            })?;
        }
        // The zones guard before the problems guard, as every reader takes them.
        let zones = self.zones();
        if let Some(z) = f.zone
            && !zones.map.contains_key(&z)
        {
            return Err(ServiceError::invalid(
                "filter.zone",
                format!("no zone {}", z.0),
            ));
        }
        let g = self.problems();
        let mut problems = Vec::new();
        for (id, r) in &g.map {
            let p = r.to_problem(*id, &table);
            if !p.status.is_open()
                || (!f.category.is_empty() && !f.category.contains(&p.category))
                || (!f.status.is_empty() && !f.status.contains(&p.status))
                || (f.overdue && !p.is_overdue(now))
                || f.zone
                    .is_some_and(|z| !zones.index.zones_at(p.location).iter().any(|h| h.id == z))
                || !scope.contains(&zones, r)
            {
                continue;
            }
            problems.push(p);
        }
        Ok(problems)
    }

    /// The problems with these ids, each open, in the caller's scope (outside it a problem is
    /// "not found", as on every other API) and listed once.
    fn by_ids(&self, scope: &Scope, ids: &[ProblemId]) -> Result<Vec<Problem>, ServiceError> {
        let mut seen = HashSet::new();
        let mut problems = Vec::with_capacity(ids.len());
        for id in ids {
            if !seen.insert(*id) {
                return Err(ServiceError::invalid(
                    "ids",
                    format!("problem {id} is listed twice"),
                ));
            }
            let p = self
                .check_visible(scope, *id)
                .and_then(|()| self.problem(*id))
                .map_err(|_| ServiceError::invalid("ids", format!("no problem {id}")))?;
            if !p.status.is_open() {
                return Err(ServiceError::invalid(
                    "ids",
                    format!(
                        "problem {id} is {}: only open problems are visited",
                        p.status
                    ),
                ));
            }
            problems.push(p);
        }
        Ok(problems)
    }

    /// Why each problem must be visited (overdue, in a three-surroundings zone, severe); empty
    /// for optional ones.
    fn must_reasons(
        &self,
        problems: &[Problem],
        now: DateTime<Utc>,
    ) -> HashMap<String, Vec<MustReason>> {
        let zones = self.zones();
        problems
            .iter()
            .map(|p| {
                let mut why = Vec::new();
                if p.is_overdue(now) {
                    why.push(MustReason::Overdue);
                }
                if zones
                    .index
                    .zones_at(p.location)
                    .iter()
                    .any(|h| h.kind == ZoneKind::Surroundings)
                {
                    why.push(MustReason::Surroundings);
                }
                if p.severity >= Severity::High {
                    why.push(MustReason::Severe);
                }
                (p.id.to_string(), why)
            })
            .collect()
    }

    /// Checks `service_min` (known category codes, 0 to [`MAX_SERVICE_MIN`] minutes).
    fn check_service(&self, service: &BTreeMap<String, f64>) -> Result<(), ServiceError> {
        let table = self.categories();
        for (code, &m) in service {
            if table.by_code(code).is_none() {
                return Err(ServiceError::invalid(
                    "service_min",
                    format!("unknown category {code:?}"),
                ));
            }
            if !(m.is_finite() && (0.0..=MAX_SERVICE_MIN).contains(&m)) {
                return Err(ServiceError::invalid(
                    "service_min",
                    format!("{code}: minutes on site must be 0 to {MAX_SERVICE_MIN}, got {m}"),
                ));
            }
        }
        Ok(())
    }

    /// Must-visit stops (overdue, three surroundings, severe) and optional stops by value.
    fn to_stops(&self, chosen: &Chosen, service: &BTreeMap<String, f64>) -> Vec<Stop> {
        let table = self.categories();
        chosen
            .problems
            .iter()
            .map(|p| {
                let cat = table.by_code(&p.category);
                let id = p.id.to_string();
                let must = chosen.reasons.get(&id).is_some_and(|r| !r.is_empty());
                let minutes = service.get(&p.category).copied().unwrap_or_else(|| {
                    f64::from(cat.map_or(DEFAULT_SERVICE_MIN, |c| c.service_minutes))
                });
                Stop {
                    id,
                    lon: p.location.lon(),
                    lat: p.location.lat(),
                    service_s: minutes * 60.0,
                    priority: if must {
                        Priority::Must
                    } else {
                        Priority::Optional {
                            value: cat.map_or(1.0, |c| c.weight).max(0.01) * p.severity.weight(),
                        }
                    },
                }
            })
            .collect()
    }
}
