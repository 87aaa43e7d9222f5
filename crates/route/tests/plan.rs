//! Route planning: every chosen stop exactly once, budgets respected, times consistent with the
//! road graph, errors that name the stops, value-driven selection against brute force.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};

use civmap_route::graph::{ACCESS_SPEED_MPS, GraphBuilder, Mode, RoadGraph};
use civmap_route::plan::{
    Plan, PlanError, PlanOptions, PlanRequest, Priority, RouteEnd, Stop, UnassignedReason,
    plan_routes,
};
use geo::{Distance, Haversine, Point};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LON0: f64 = 121.46;
const LAT0: f64 = 31.22;
const STEP: f64 = 0.0015;
const SIZE: i64 = 16; // 16 x 16 junctions, about 2.1 x 2.3 km

/// A street grid with one-way streets and mixed road classes.
fn grid_graph(mode: Mode, seed: u64) -> RoadGraph {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut b = GraphBuilder::new(mode);
    let id = |i: i64, j: i64| 1 + i * SIZE + j;
    for i in 0..SIZE {
        for j in 0..SIZE {
            b.add_node(id(i, j), LON0 + i as f64 * STEP, LAT0 + j as f64 * STEP);
        }
    }
    let mut wid = 1;
    for i in 0..SIZE {
        for j in 0..SIZE {
            for (di, dj) in [(1, 0), (0, 1)] {
                if i + di >= SIZE || j + dj >= SIZE {
                    continue;
                }
                let highway = if (i % 5 == 0 && di == 0) || (j % 5 == 0 && dj == 0) {
                    "secondary"
                } else {
                    "residential"
                };
                let oneway = if rng.random_bool(0.25) { "yes" } else { "no" };
                b.add_way(
                    wid,
                    &[id(i, j), id(i + di, j + dj)],
                    [("highway", highway), ("oneway", oneway)],
                );
                wid += 1;
            }
        }
    }
    b.build()
}

fn random_stops(n: usize, must_share: f64, seed: u64) -> Vec<Stop> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let span = (SIZE - 1) as f64 * STEP;
    (0..n)
        .map(|k| Stop {
            id: format!("p{k:03}"),
            lon: LON0 + rng.random_range(0.0..span),
            lat: LAT0 + rng.random_range(0.0..span),
            service_s: [120.0, 300.0, 600.0][rng.random_range(0..3)],
            priority: if rng.random_bool(must_share) {
                Priority::Must
            } else {
                Priority::Optional {
                    value: f64::from(rng.random_range(1..10)),
                }
            },
        })
        .collect()
}

fn request(stops: Vec<Stop>, teams: usize, budget_s: f64, mode: Mode, seed: u64) -> PlanRequest {
    PlanRequest {
        stops,
        start: [LON0 + 7.2 * STEP, LAT0 + 7.4 * STEP],
        end: RouteEnd::ReturnToStart,
        teams,
        budget_s,
        mode,
        seed,
        options: PlanOptions::default(),
    }
}

fn haversine(a: [f64; 2], b: [f64; 2]) -> f64 {
    Haversine.distance(Point::new(a[0], a[1]), Point::new(b[0], b[1]))
}

/// Seconds and metres between two points over the graph, recomputed from snapping and
/// `shortest_path` plus the walks to and from the road (the planner's model, rebuilt here):
/// points closer to each other than to their roads are walked directly.
fn leg(g: &RoadGraph, a: [f64; 2], b: [f64; 2]) -> (f64, f64) {
    let (sa, sb) = (g.snap(a[0], a[1]).unwrap(), g.snap(b[0], b[1]).unwrap());
    let direct = haversine(a, b);
    let access = sa.offset_m + sb.offset_m;
    if direct <= access {
        return (direct / ACCESS_SPEED_MPS, direct);
    }
    let l = g.shortest_path(&sa, &sb).unwrap();
    (l.time_s + access / ACCESS_SPEED_MPS, l.distance_m + access)
}

/// The invariants every plan must satisfy, checked against the request and (if any) the graph.
fn check_plan(req: &PlanRequest, plan: &Plan, graph: Option<&RoadGraph>) {
    let by_id: HashMap<&str, &Stop> = req.stops.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut seen = HashSet::new();
    assert_eq!(plan.teams.len(), req.teams);
    for t in &plan.teams {
        assert!(
            t.duration_s <= req.budget_s + 1e-6,
            "team {} takes {} s > budget {}",
            t.team,
            t.duration_s,
            req.budget_s
        );
        let mut clock = 0.0;
        let mut prev = req.start;
        let mut service = 0.0;
        let mut distance = 0.0;
        for s in &t.stops {
            assert!(seen.insert(s.id.clone()), "stop {} visited twice", s.id);
            let stop = by_id[s.id.as_str()];
            assert_eq!((s.lon, s.lat), (stop.lon, stop.lat));
            assert_eq!(s.must, stop.priority == Priority::Must);
            let here = [s.lon, s.lat];
            if let Some(g) = graph {
                let (dt, dd) = leg(g, prev, here);
                assert!(
                    (s.arrival_s - (clock + dt)).abs() < 1e-6,
                    "{}: arrival {} vs {}",
                    s.id,
                    s.arrival_s,
                    clock + dt
                );
                assert!((s.leg_distance_m - dd).abs() < 1e-6);
            } else {
                let dd = req.options.detour_factor * haversine(prev, here);
                assert!((s.leg_distance_m - dd).abs() < 1e-6);
                assert!((s.arrival_s - (clock + dd / req.mode.fallback_speed_mps())).abs() < 1e-6);
            }
            assert!((s.departure_s - s.arrival_s - stop.service_s).abs() < 1e-9);
            clock = s.departure_s;
            service += stop.service_s;
            distance += s.leg_distance_m;
            prev = here;
        }
        if t.stops.is_empty() {
            assert!(t.duration_s.abs() < f64::EPSILON);
            assert!(t.geometry.is_empty());
            continue;
        }
        let back = match (req.end, graph) {
            (RouteEnd::LastStop, _) => (0.0, 0.0),
            (_, Some(g)) => leg(g, prev, plan.end.unwrap()),
            (_, None) => {
                let d = req.options.detour_factor * haversine(prev, plan.end.unwrap());
                (d / req.mode.fallback_speed_mps(), d)
            }
        };
        assert!(
            (t.duration_s - (clock + back.0)).abs() < 1e-6,
            "team {} duration",
            t.team
        );
        assert!((t.distance_m - (distance + back.1)).abs() < 1e-6);
        if graph.is_some() {
            // The line drawn is as long as the distance reported (0.1 %: vertex rounding).
            let line: f64 = t.geometry.windows(2).map(|w| haversine(w[0], w[1])).sum();
            assert!(
                (line - t.distance_m).abs() <= 1e-3 * t.distance_m + 1.0,
                "team {}: line {line} m, distance {} m",
                t.team,
                t.distance_m
            );
        }
        assert!((t.service_s - service).abs() < 1e-9);
        assert!((t.travel_s + t.service_s - t.duration_s).abs() < 1e-6);
        assert_eq!(t.geometry.first(), Some(&req.start));
        let last = if req.end == RouteEnd::LastStop {
            prev
        } else {
            plan.end.unwrap()
        };
        assert_eq!(t.geometry.last(), Some(&last));
    }
    for u in &plan.unassigned {
        assert!(
            seen.insert(u.id.clone()),
            "{} both routed and unassigned (or twice)",
            u.id
        );
        assert_ne!(
            by_id[u.id.as_str()].priority,
            Priority::Must,
            "must stop {} left out",
            u.id
        );
    }
    assert_eq!(
        seen.len(),
        req.stops.len(),
        "every stop is routed or listed as unassigned"
    );
}

#[test]
fn plans_on_a_road_graph_satisfy_every_invariant() {
    let g = grid_graph(Mode::Drive, 1);
    for (seed, teams, budget) in [
        (1, 1, 3.0 * 3600.0),
        (2, 2, 2.0 * 3600.0),
        (3, 3, 1.5 * 3600.0),
        (4, 4, 3600.0),
    ] {
        let req = request(
            random_stops(40, 0.2, seed),
            teams,
            budget,
            Mode::Drive,
            seed,
        );
        let plan = plan_routes(&req, Some(&g)).unwrap();
        assert!(!plan.fallback_straight_line);
        check_plan(&req, &plan, Some(&g));
        // With less time than work, something optional must be left out, and what is left out
        // could not have been added to any route.
        assert!(
            !plan.unassigned.is_empty(),
            "seed {seed}: budget should be binding"
        );
        assert!(
            plan.unassigned
                .iter()
                .all(|u| u.reason == UnassignedReason::BudgetExhausted)
        );
    }
}

#[test]
fn leftover_optional_stops_do_not_fit_anywhere() {
    let g = grid_graph(Mode::Walk, 2);
    let req = request(random_stops(30, 0.0, 8), 2, 5400.0, Mode::Walk, 8);
    let plan = plan_routes(&req, Some(&g)).unwrap();
    check_plan(&req, &plan, Some(&g));
    // Try inserting each leftover stop at every position of every route: none may fit.
    for u in &plan.unassigned {
        let stop = req.stops.iter().find(|s| s.id == u.id).unwrap();
        let here = [stop.lon, stop.lat];
        for t in &plan.teams {
            let pts: Vec<[f64; 2]> = std::iter::once(req.start)
                .chain(t.stops.iter().map(|s| [s.lon, s.lat]))
                .chain(std::iter::once(req.start))
                .collect();
            for w in pts.windows(2) {
                let added = leg(&g, w[0], here).0 + stop.service_s + leg(&g, here, w[1]).0
                    - leg(&g, w[0], w[1]).0;
                assert!(
                    t.duration_s + added > req.budget_s - 1e-6,
                    "{} fits into team {}",
                    u.id,
                    t.team
                );
            }
        }
    }
}

#[test]
fn straight_line_fallback_is_flagged_and_consistent() {
    let req = request(random_stops(25, 0.3, 5), 2, 2.0 * 3600.0, Mode::Cycle, 5);
    let plan = plan_routes(&req, None).unwrap();
    assert!(plan.fallback_straight_line);
    check_plan(&req, &plan, None);
}

#[test]
fn same_seed_same_plan() {
    let g = grid_graph(Mode::Drive, 3);
    let req = request(random_stops(35, 0.3, 9), 3, 2.0 * 3600.0, Mode::Drive, 42);
    assert_eq!(
        plan_routes(&req, Some(&g)).unwrap(),
        plan_routes(&req, Some(&g)).unwrap()
    );
}

#[test]
fn must_visit_stops_beyond_the_budget_are_named() {
    let g = grid_graph(Mode::Drive, 4);
    let mut stops = random_stops(20, 1.0, 3);
    for s in &mut stops {
        s.service_s = 60.0;
    }
    // A long service: alone it exceeds a 25-minute budget; every other stop is within 12 minutes'
    // drive of the start (the grid is 2.3 km wide) and fits alone.
    stops[7].service_s = 1500.0;
    let req = request(stops.clone(), 1, 1500.0, Mode::Drive, 1);
    let err = plan_routes(&req, Some(&g)).unwrap_err();
    assert!(
        matches!(err, PlanError::MustVisitOverBudget { .. }),
        "{err}"
    );
    assert_eq!(err.stop_ids(), ["p007".to_owned()]);
    assert!(err.to_string().contains("p007"));
    // Each fits alone, but not all together: the error names must-visit stops of the failing routes.
    stops[7].service_s = 60.0;
    let req = request(stops, 2, 1500.0, Mode::Drive, 1);
    match plan_routes(&req, Some(&g)).unwrap_err() {
        PlanError::MustVisitOverBudget {
            stop_ids,
            needed_s,
            budget_s,
            teams,
            teams_needed,
        } => {
            assert!(!stop_ids.is_empty());
            // More teams than were given, and not more than one per must-visit stop.
            assert!(teams_needed.is_some_and(|n| n > teams && n <= stop_ids.len().max(teams + 1)));
            assert!(stop_ids.iter().all(|id| id.starts_with('p')));
            assert!(needed_s > budget_s);
            assert_eq!(teams, 2);
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn unreachable_stops_are_named_or_left_out() {
    let g = grid_graph(Mode::Drive, 5);
    let mut stops = random_stops(10, 0.5, 4);
    // Three kilometres east of the grid: no road within the 500 m snap limit.
    stops.push(Stop {
        id: "far-must".into(),
        lon: LON0 + 0.06,
        lat: LAT0,
        service_s: 60.0,
        priority: Priority::Must,
    });
    let req = request(stops.clone(), 1, 4.0 * 3600.0, Mode::Drive, 1);
    let err = plan_routes(&req, Some(&g)).unwrap_err();
    assert_eq!(err.stop_ids(), ["far-must".to_owned()]);
    assert!(matches!(err, PlanError::Unreachable { .. }));
    // The same stop as optional is left out with the reason.
    stops.last_mut().unwrap().priority = Priority::Optional { value: 5.0 };
    let req = request(stops, 1, 4.0 * 3600.0, Mode::Drive, 1);
    let plan = plan_routes(&req, Some(&g)).unwrap();
    check_plan(&req, &plan, Some(&g));
    let u = plan.unassigned.iter().find(|u| u.id == "far-must").unwrap();
    assert_eq!(u.reason, UnassignedReason::Unreachable);
    // A start off the network is an error of its own.
    let mut req = req;
    req.start = [LON0 - 0.05, LAT0];
    assert!(matches!(
        plan_routes(&req, Some(&g)).unwrap_err(),
        PlanError::EndpointUnreachable { which: "start", .. }
    ));
}

#[test]
fn optional_stops_at_one_place_are_chosen_by_value() {
    // Ten optional stops at the same spot 1 km from the start: the added time of each is just its
    // service, so value per second orders them by value.
    let spot = [LON0 + 0.01, LAT0];
    let stops: Vec<Stop> = (1..=10)
        .map(|v| Stop {
            id: format!("v{v:02}"),
            lon: spot[0],
            lat: spot[1],
            service_s: 600.0,
            priority: Priority::Optional {
                value: f64::from(v),
            },
        })
        .collect();
    let mut req = request(stops, 1, 0.0, Mode::Walk, 1);
    req.start = [LON0, LAT0];
    let trip = 2.0 * 1.3 * haversine(req.start, spot) / Mode::Walk.fallback_speed_mps();
    req.budget_s = trip + 3.5 * 600.0;
    let plan = plan_routes(&req, None).unwrap();
    check_plan(&req, &plan, None);
    let mut chosen: Vec<&str> = plan.teams[0].stops.iter().map(|s| s.id.as_str()).collect();
    chosen.sort_unstable();
    assert_eq!(chosen, ["v08", "v09", "v10"]);
    assert!((plan.optional_value - 27.0).abs() < 1e-9);
}

/// Depth-first enumeration of all orders of all subsets; `best` gets the largest value of a
/// route that returns to the start within the budget.
#[allow(clippy::too_many_arguments)]
fn rec(
    stops: &[Stop],
    req: &PlanRequest,
    t: &dyn Fn([f64; 2], [f64; 2]) -> f64,
    order: &mut Vec<usize>,
    used: u32,
    clock: f64,
    value: f64,
    best: &mut f64,
) {
    let here = order
        .last()
        .map_or(req.start, |&k| [stops[k].lon, stops[k].lat]);
    if clock + t(here, req.start) <= req.budget_s {
        *best = best.max(value);
    } else {
        return;
    }
    for k in 0..stops.len() {
        if used & (1 << k) == 0 {
            let p = [stops[k].lon, stops[k].lat];
            let Priority::Optional { value: v } = stops[k].priority else {
                unreachable!()
            };
            order.push(k);
            rec(
                stops,
                req,
                t,
                order,
                used | (1 << k),
                clock + t(here, p) + stops[k].service_s,
                value + v,
                best,
            );
            order.pop();
        }
    }
}

/// Tiny instances: the planner's collected value against the best over all subsets and orders.
#[test]
fn optional_value_is_close_to_brute_force() {
    let mut total_ours = 0.0;
    let mut total_best = 0.0;
    for seed in 0..12u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let stops: Vec<Stop> = (0..7)
            .map(|k| Stop {
                id: format!("s{k}"),
                lon: LON0 + rng.random_range(0.0..0.02),
                lat: LAT0 + rng.random_range(0.0..0.02),
                service_s: rng.random_range(60.0..900.0),
                priority: Priority::Optional {
                    value: f64::from(rng.random_range(1..20)),
                },
            })
            .collect();
        let mut req = request(
            stops.clone(),
            1,
            rng.random_range(1800.0..4000.0),
            Mode::Cycle,
            seed,
        );
        req.start = [LON0 + 0.01, LAT0 + 0.01];
        let plan = plan_routes(&req, None).unwrap();
        check_plan(&req, &plan, None);
        // Brute force over all orders of all subsets.
        let speed = Mode::Cycle.fallback_speed_mps();
        let t = |a: [f64; 2], b: [f64; 2]| 1.3 * haversine(a, b) / speed;
        let mut best = 0.0f64;
        let n = stops.len();
        let mut order: Vec<usize> = Vec::new();
        rec(&stops, &req, &t, &mut order, 0, 0.0, 0.0, &mut best);
        assert!(n == 7);
        assert!(
            plan.optional_value <= best + 1e-9,
            "better than brute force?"
        );
        assert!(
            plan.optional_value >= 0.75 * best,
            "seed {seed}: {} vs best {best}",
            plan.optional_value
        );
        total_ours += plan.optional_value;
        total_best += best;
    }
    assert!(
        total_ours >= 0.95 * total_best,
        "total {total_ours} vs {total_best}"
    );
}

#[test]
fn several_teams_share_the_work_evenly() {
    let g = grid_graph(Mode::Drive, 6);
    let stops = random_stops(48, 1.0, 12);
    let single = plan_routes(
        &request(stops.clone(), 1, 12.0 * 3600.0, Mode::Drive, 1),
        Some(&g),
    )
    .unwrap();
    let req = request(stops, 4, 12.0 * 3600.0, Mode::Drive, 1);
    let plan = plan_routes(&req, Some(&g)).unwrap();
    check_plan(&req, &plan, Some(&g));
    let d: Vec<f64> = plan.teams.iter().map(|t| t.duration_s).collect();
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    let longest = d.iter().copied().fold(0.0, f64::max);
    assert!(d.iter().all(|&x| x > 0.0), "every team works: {d:?}");
    assert!(longest <= 1.15 * mean, "unbalanced: {d:?}");
    assert!(
        longest < 0.4 * single.teams[0].duration_s,
        "4 teams {longest} vs 1 team {}",
        single.teams[0].duration_s
    );
}

#[test]
fn route_ends_at_the_given_end_or_the_last_stop() {
    let g = grid_graph(Mode::Walk, 7);
    let stops = random_stops(12, 1.0, 2);
    let mut req = request(stops, 1, 8.0 * 3600.0, Mode::Walk, 3);
    let end = [LON0 + 14.0 * STEP, LAT0 + 1.0 * STEP];
    req.end = RouteEnd::At(end);
    let plan = plan_routes(&req, Some(&g)).unwrap();
    check_plan(&req, &plan, Some(&g));
    assert_eq!(plan.teams[0].geometry.last(), Some(&end));
    req.end = RouteEnd::LastStop;
    let open = plan_routes(&req, Some(&g)).unwrap();
    check_plan(&req, &open, Some(&g));
    let last = open.teams[0].stops.last().unwrap();
    assert!((open.teams[0].duration_s - last.departure_s).abs() < 1e-9);
    assert!(open.teams[0].duration_s < plan.teams[0].duration_s);
}

#[test]
fn invalid_requests_name_what_is_wrong() {
    let mut req = request(random_stops(5, 0.5, 1), 1, 3600.0, Mode::Walk, 1);
    req.stops[3].id = req.stops[1].id.clone();
    assert_eq!(
        plan_routes(&req, None).unwrap_err(),
        PlanError::DuplicateStopId("p001".into())
    );
    let mut req = request(random_stops(5, 0.5, 1), 1, 3600.0, Mode::Walk, 1);
    req.stops[2].lat = 95.0;
    let err = plan_routes(&req, None).unwrap_err();
    assert_eq!(err.stop_ids(), ["p002".to_owned()]);
    let req = request(random_stops(5, 0.5, 1), 0, 3600.0, Mode::Walk, 1);
    assert!(matches!(
        plan_routes(&req, None).unwrap_err(),
        PlanError::InvalidRequest(_)
    ));
    let req = request(random_stops(5, 0.5, 1), 1, f64::NAN, Mode::Walk, 1);
    assert!(matches!(
        plan_routes(&req, None).unwrap_err(),
        PlanError::InvalidRequest(_)
    ));
    let g = grid_graph(Mode::Walk, 1);
    let req = request(random_stops(5, 0.5, 1), 1, 3600.0, Mode::Drive, 1);
    assert_eq!(
        plan_routes(&req, Some(&g)).unwrap_err(),
        PlanError::ModeMismatch {
            graph: Mode::Walk,
            request: Mode::Drive
        }
    );
}

#[test]
fn request_and_plan_round_trip_through_json() {
    let json = r#"{
        "stops": [
            {"id": "a", "lon": 121.47, "lat": 31.23, "service_s": 300, "priority": "must"},
            {"id": "b", "lon": 121.48, "lat": 31.23, "service_s": 120, "priority": {"optional": {"value": 3}}}
        ],
        "start": [121.465, 31.228],
        "end": {"at": [121.47, 31.235]},
        "budget_s": 7200,
        "mode": "walk"
    }"#;
    let req: PlanRequest = serde_json::from_str(json).unwrap();
    assert_eq!(req.teams, 1);
    assert_eq!(req.options, PlanOptions::default());
    let plan = plan_routes(&req, None).unwrap();
    let back: Plan = serde_json::from_str(&serde_json::to_string(&plan).unwrap()).unwrap();
    assert_eq!(back, plan);
}

#[test]
fn gpx_is_well_formed_with_a_track_per_working_team() {
    let g = grid_graph(Mode::Cycle, 8);
    let req = request(random_stops(15, 0.5, 6), 3, 2.0 * 3600.0, Mode::Cycle, 2);
    let plan = plan_routes(&req, Some(&g)).unwrap();
    let gpx = plan.to_gpx("巡查 <test> & co");
    let mut reader = quick_xml::Reader::from_str(&gpx);
    let (mut trk, mut wpt, mut trkpt) = (0, 0, 0);
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"trk" => trk += 1,
                    b"wpt" => wpt += 1,
                    b"trkpt" => trkpt += 1,
                    _ => {}
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    let working = plan.teams.iter().filter(|t| !t.stops.is_empty()).count();
    let visited: usize = plan.teams.iter().map(|t| t.stops.len()).sum();
    assert_eq!(trk, working);
    assert_eq!(wpt, visited + 1); // stops plus the start (the end is the start)
    assert_eq!(
        trkpt,
        plan.teams.iter().map(|t| t.geometry.len()).sum::<usize>()
    );
    assert!(gpx.contains("巡查 &lt;test&gt; &amp; co"));
}
