//! `POST /api/v1/routes` on the real roads of the demo area (`data/osm/tongji_siping_yangpu.osm`,
//! © OpenStreetMap contributors, ODbL): seeded problems, every chosen stop visited exactly once
//! or listed as left out, budgets respected, must-visit rules checked against an independent
//! oracle, teams balanced, GPX and the print sheet parsed, infeasible requests answered 422 with
//! the stops named, roles, and every bad body answered 4xx in the one error shape.
#![allow(clippy::too_many_lines, clippy::unwrap_used, clippy::float_cmp)]

use crate::common;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use civmap_app::config::ApiToken;
use civmap_app::planning::network::RoadNetwork;
use civmap_domain::{
    CategoryTable, NewProblem, PoiKind, Role, Severity, Status, User, UserId, Zone, ZoneId,
    ZoneKind,
};
use common::{CHIEF_TOKEN, OFFICE_TOKEN, PUBLIC_TOKEN, Resp, TestApp, setup_with};
use geo::{Distance, Haversine, LineString, MultiPolygon, Point, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "admin-token-0123456789";

/// Inside the extract's bounds (31.2809–31.2895 N, 121.4915–121.5033 E), away from its edges.
const LON: (f64, f64) = (121.4930, 121.5015);
const LAT: (f64, f64) = (31.2820, 31.2885);
/// The street office: the middle of the area.
const START: [f64; 2] = [121.4972, 31.2852];

const CATEGORIES: [&str; 5] = [
    "garbage",
    "illegal_parking",
    "clutter",
    "misparked_bikes",
    "zombie_car",
];

/// The road network of the demo area, all three modes.
fn network() -> Arc<RoadNetwork> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/osm/tongji_siping_yangpu.osm");
    let osm = civmap_geodata::osm::read_path(&path).unwrap();
    RoadNetwork::from_osm(&osm)
}

/// A fresh app with an admin token; with the demo area's roads when `roads`.
async fn app(roads: bool) -> TestApp {
    let t = setup_with(|c| {
        c.api_tokens.push(ApiToken {
            token: ADMIN_TOKEN.into(),
            role: Role::Admin,
            user: None,
            name: "admin".into(),
        });
    })
    .await;
    if roads {
        t.state.set_roads(network());
    }
    t
}

/// A seeded problem, as the oracle sees it.
#[derive(Debug, Clone)]
struct Seeded {
    id: String,
    lon: f64,
    lat: f64,
    category: &'static str,
    severity: Severity,
    status: Status,
    overdue: bool,
}

/// What a seeded problem should look like: where, what, how bad, whether late.
#[derive(Debug, Clone, Copy)]
struct Spec {
    lon: f64,
    lat: f64,
    category: &'static str,
    severity: Severity,
    status: Status,
    overdue: bool,
}

/// Random problems in the area: `severe` and `overdue` are the shares of must-visit ones.
fn random_specs(n: usize, severe: f64, overdue: f64, seed: u64) -> Vec<Spec> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let late = rng.random_bool(overdue);
            Spec {
                lon: rng.random_range(LON.0..LON.1),
                lat: rng.random_range(LAT.0..LAT.1),
                category: CATEGORIES[rng.random_range(0..CATEGORIES.len())],
                severity: if rng.random_bool(severe) {
                    [Severity::High, Severity::Critical][rng.random_range(0..2)]
                } else {
                    [Severity::Low, Severity::Medium][rng.random_range(0..2)]
                },
                status: if late || rng.random_bool(0.5) {
                    Status::Dispatched
                } else {
                    Status::Reported
                },
                overdue: late,
            }
        })
        .collect()
}

/// Stores the problems through the import path (as `civmap import` does), with their statuses
/// and deadlines: overdue ones had theirs an hour ago, other dispatched ones have a day left.
async fn seed(t: &TestApp, specs: &[Spec]) -> Vec<Seeded> {
    let table = CategoryTable::builtin();
    let now = Utc::now();
    let items: Vec<_> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut p = NewProblem {
                lon: s.lon,
                lat: s.lat,
                category: s.category.to_owned(),
                severity: s.severity,
                description: format!("路线测试 <b>{i}</b> & co"),
            }
            .validate(&table, None, now - Duration::days(2))
            .unwrap();
            p.status = s.status;
            if s.status == Status::Dispatched {
                p.deadline = Some(if s.overdue {
                    now - Duration::hours(1)
                } else {
                    now + Duration::days(1)
                });
            }
            let key = format!("route-test:{i}:{}", p.id);
            (p, key)
        })
        .collect();
    let out: Vec<Seeded> = items
        .iter()
        .zip(specs)
        .map(|((p, _), s)| Seeded {
            id: p.id.to_string(),
            lon: s.lon,
            lat: s.lat,
            category: s.category,
            severity: s.severity,
            status: s.status,
            overdue: s.overdue,
        })
        .collect();
    let before = t.state.sizes().problems;
    let r = t.store.import_problems(items, "route-test").await.unwrap();
    assert_eq!(r.inserted, specs.len());
    assert_eq!(t.state.sizes().problems, before + specs.len());
    out
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
        vec![],
    )])
}

/// Stores a rectangular zone and returns its id.
async fn add_zone(t: &TestApp, kind: ZoneKind, name: &str, g: MultiPolygon<f64>) -> ZoneId {
    let z = Zone {
        id: ZoneId::new(),
        kind,
        name: name.to_owned(),
        poi_kind: (kind == ZoneKind::Surroundings).then_some(PoiKind::School),
        poi: None,
        code: None,
        geometry: g,
        external_id: Some(format!("route-test:{name}")),
    };
    t.store.upsert_zone(&z).await.unwrap();
    z.id
}

fn inside(r: (f64, f64, f64, f64), lon: f64, lat: f64) -> bool {
    (r.0..=r.2).contains(&lon) && (r.1..=r.3).contains(&lat)
}

/// The oracle's must-visit reasons, in the answer's order.
fn reasons(s: &Seeded, surroundings: Option<(f64, f64, f64, f64)>) -> Vec<&'static str> {
    let mut r = Vec::new();
    if s.overdue {
        r.push("overdue");
    }
    if surroundings.is_some_and(|b| inside(b, s.lon, s.lat)) {
        r.push("three_surroundings");
    }
    if s.severity >= Severity::High {
        r.push("severe");
    }
    r
}

async fn plan(t: &TestApp, token: &str, query: &str, body: &Value) -> Resp {
    t.send_json(Method::POST, &format!("/api/v1/routes{query}"), token, body)
        .await
}

fn haversine(a: [f64; 2], b: [f64; 2]) -> f64 {
    Haversine.distance(Point::new(a[0], a[1]), Point::new(b[0], b[1]))
}

fn pt(v: &Value) -> [f64; 2] {
    [v[0].as_f64().unwrap(), v[1].as_f64().unwrap()]
}

fn service_s(category: &str, overrides: &HashMap<&str, f64>) -> f64 {
    overrides.get(category).copied().unwrap_or_else(|| {
        f64::from(
            CategoryTable::builtin()
                .by_code(category)
                .unwrap()
                .service_minutes,
        )
    }) * 60.0
}

/// Every invariant of a JSON plan against the chosen problems; returns the visited ids per team.
fn check_plan(
    v: &Value,
    chosen: &[&Seeded],
    teams: usize,
    budget_min: f64,
    surroundings: Option<(f64, f64, f64, f64)>,
    overrides: &HashMap<&str, f64>,
) -> Vec<Vec<String>> {
    let by_id: HashMap<&str, &Seeded> = chosen.iter().map(|s| (s.id.as_str(), *s)).collect();
    let start = pt(&v["start"]);
    let end = if v["end"].is_null() {
        None
    } else {
        Some(pt(&v["end"]))
    };
    assert_eq!(v["teams"].as_array().unwrap().len(), teams);
    assert_eq!(v["budget_s"].as_f64().unwrap(), budget_min * 60.0);
    let mut seen = BTreeSet::new();
    let mut per_team = Vec::new();
    let mut features_expected = 0;
    for (k, t) in v["teams"].as_array().unwrap().iter().enumerate() {
        assert_eq!(t["team"], k + 1, "teams are numbered from 1 in order");
        let duration = t["duration_s"].as_f64().unwrap();
        assert!(
            duration <= budget_min * 60.0 + 0.5,
            "team {} takes {duration} s > budget {budget_min} min",
            k + 1
        );
        let stops = t["stops"].as_array().unwrap();
        let mut ids = Vec::new();
        let mut clock = 0.0;
        let mut prev = start;
        let mut straight = 0.0;
        for (i, s) in stops.iter().enumerate() {
            assert_eq!(s["seq"], i + 1);
            let id = s["id"].as_str().unwrap();
            assert!(seen.insert(id.to_owned()), "{id} visited twice");
            let want = by_id
                .get(id)
                .unwrap_or_else(|| panic!("{id} was not chosen"));
            let here = pt(&s["coordinates"]);
            assert!((here[0] - want.lon).abs() < 1e-9 && (here[1] - want.lat).abs() < 1e-9);
            let why = reasons(want, surroundings);
            assert_eq!(s["must"], !why.is_empty(), "{id}: must flag");
            assert_eq!(s["reasons"], json!(why), "{id}: reasons");
            assert_eq!(s["category"], want.category);
            let arrival = s["arrival_s"].as_f64().unwrap();
            let departure = s["departure_s"].as_f64().unwrap();
            assert!(
                arrival + 0.5 >= clock,
                "{id}: arrives before leaving the previous stop"
            );
            assert!(
                (departure - arrival - service_s(want.category, overrides)).abs() <= 1.0,
                "{id}: time on site {} vs {}",
                departure - arrival,
                service_s(want.category, overrides)
            );
            // A road leg is never shorter than the straight line.
            assert!(s["leg_distance_m"].as_f64().unwrap() + 0.5 >= haversine(prev, here) * 0.999);
            straight += haversine(prev, here);
            clock = departure;
            prev = here;
            ids.push(id.to_owned());
        }
        if stops.is_empty() {
            assert_eq!(duration, 0.0);
        } else {
            features_expected += 1 + stops.len();
            if let Some(e) = end {
                straight += haversine(prev, e);
                assert!(duration + 0.5 >= clock);
            }
            assert!(t["distance_m"].as_f64().unwrap() + 1.0 >= straight * 0.999);
            let line = t["route"]["geometry"]["coordinates"].as_array().unwrap();
            assert!(line.len() >= 2);
            assert_eq!(pt(&line[0]), start, "the line leaves from the start");
            assert_eq!(
                pt(line.last().unwrap()),
                end.unwrap_or(prev),
                "the line ends at the end (or the last stop)"
            );
            // The line passes every stop, in order.
            let mut from = 0;
            for s in stops {
                let here = pt(&s["coordinates"]);
                let at = line[from..]
                    .iter()
                    .position(|p| pt(p) == here)
                    .unwrap_or_else(|| panic!("stop {} not on the line", s["id"]));
                from += at;
            }
        }
        per_team.push(ids);
    }
    for u in v["unassigned"].as_array().unwrap() {
        let id = u["id"].as_str().unwrap();
        assert!(seen.insert(id.to_owned()), "{id} routed and left out");
        let want = by_id[id];
        assert!(
            reasons(want, surroundings).is_empty(),
            "must-visit {id} left out"
        );
        assert!(
            ["budget_exhausted", "exceeds_budget_alone", "unreachable"]
                .contains(&u["reason"].as_str().unwrap()),
            "{u}"
        );
    }
    let want: BTreeSet<String> = chosen.iter().map(|s| s.id.clone()).collect();
    assert_eq!(seen, want, "every chosen problem is routed or left out");
    assert_eq!(
        v["geojson"]["features"].as_array().unwrap().len(),
        features_expected
    );
    assert_eq!(v["summary"]["chosen"], chosen.len());
    per_team
}

fn ids_of(s: &[&Seeded]) -> Vec<String> {
    s.iter().map(|s| s.id.clone()).collect()
}

#[tokio::test]
async fn routes_on_real_roads_visit_each_chosen_stop_once_within_the_budget() {
    let t = app(true).await;
    let seeded = seed(&t, &random_specs(40, 0.15, 0.1, 1)).await;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut left_out = 0;
    for (case, (mode, teams, budget_min, end)) in [
        ("walk", 1, 240.0, json!("start")),
        ("cycle", 2, 90.0, json!("start")),
        ("drive", 3, 60.0, json!("last")),
        ("walk", 2, 150.0, json!([121.5005, 31.2830])),
    ]
    .into_iter()
    .enumerate()
    {
        // A random subset of 25 problems, chosen by id.
        let mut pool: Vec<&Seeded> = seeded.iter().collect();
        let mut chosen = Vec::new();
        for _ in 0..25 {
            chosen.push(pool.swap_remove(rng.random_range(0..pool.len())));
        }
        let body = json!({
            "ids": ids_of(&chosen), "teams": teams, "budget_min": budget_min,
            "mode": mode, "start": START, "end": end, "seed": case,
        });
        let r = plan(&t, OFFICE_TOKEN, "", &body).await;
        assert_eq!(r.status, StatusCode::OK, "case {case}: {}", r.text());
        assert!(r.content_type().starts_with("application/json"));
        let v = r.json();
        assert_eq!(v["mode"], mode);
        assert_eq!(v["fallback_straight_line"], false);
        assert!(v["note"].is_null());
        let routes = check_plan(&v, &chosen, teams, budget_min, None, &HashMap::new());
        let visited: usize = routes.iter().map(Vec::len).sum();
        assert!(visited > 0, "case {case}: nothing visited");
        assert_eq!(v["summary"]["visited"], visited);
        assert!(
            v["summary"]["must"].as_u64().unwrap() > 0,
            "case {case}: no must-visit stop"
        );
        left_out += v["unassigned"].as_array().unwrap().len();
        // Optional stops are left out only because the budget ran out.
        if !v["unassigned"].as_array().unwrap().is_empty() {
            assert!(
                v["teams"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["duration_s"].as_f64().unwrap() > 0.5 * budget_min * 60.0),
                "case {case}: stops left out although every team has time"
            );
        }
    }
    assert!(
        left_out > 0,
        "the budgets never bound: optional selection untested"
    );
}

#[tokio::test]
async fn same_request_and_seed_give_the_same_routes() {
    let t = app(true).await;
    let seeded = seed(&t, &random_specs(30, 0.2, 0.0, 2)).await;
    let body = json!({
        "ids": ids_of(&seeded.iter().collect::<Vec<_>>()), "teams": 2, "budget_min": 90,
        "mode": "walk", "start": START, "seed": 99,
    });
    let a = plan(&t, OFFICE_TOKEN, "", &body).await;
    let b = plan(&t, OFFICE_TOKEN, "", &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["teams"], b.json()["teams"]);
    assert_eq!(a.json()["unassigned"], b.json()["unassigned"]);
}

#[tokio::test]
async fn two_teams_share_the_work_evenly() {
    let t = app(true).await;
    // Everything must be visited (severe), so both plans carry the same work.
    let seeded = seed(&t, &random_specs(20, 1.0, 0.0, 3)).await;
    let ids = ids_of(&seeded.iter().collect::<Vec<_>>());
    let run = |teams: usize| json!({"ids": ids, "teams": teams, "budget_min": 1000, "mode": "walk", "start": START, "seed": 1});
    let one = plan(&t, OFFICE_TOKEN, "", &run(1)).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text());
    let one = one.json();
    let chosen: Vec<&Seeded> = seeded.iter().collect();
    check_plan(&one, &chosen, 1, 1000.0, None, &HashMap::new());
    let two = plan(&t, OFFICE_TOKEN, "", &run(2)).await.json();
    let routes = check_plan(&two, &chosen, 2, 1000.0, None, &HashMap::new());
    assert!(routes.iter().all(|r| !r.is_empty()), "both teams work");
    let d: Vec<f64> = two["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["duration_s"].as_f64().unwrap())
        .collect();
    let single = one["teams"][0]["duration_s"].as_f64().unwrap();
    let (longest, shortest) = (d[0].max(d[1]), d[0].min(d[1]));
    assert!(
        longest < 0.6 * single,
        "two teams {d:?} vs one team {single}"
    );
    assert!(longest - shortest <= 0.1 * longest, "unbalanced: {d:?}");
}

/// Which seeded problems a filter should choose.
type Keep = Box<dyn Fn(&Seeded) -> bool>;

#[tokio::test]
async fn filters_choose_by_zone_category_status_and_lateness() {
    let t = app(true).await;
    let seeded = seed(&t, &random_specs(40, 0.1, 0.2, 4)).await;
    // An area over the western half; a school's surroundings in the north-east corner.
    let west = (LON.0 - 0.001, LAT.0 - 0.001, 121.4972, LAT.1 + 0.001);
    let school = (121.4985, 31.2860, LON.1 + 0.001, LAT.1 + 0.001);
    let area = add_zone(
        &t,
        ZoneKind::Area,
        "west",
        rect(west.0, west.1, west.2, west.3),
    )
    .await;
    add_zone(
        &t,
        ZoneKind::Surroundings,
        "school",
        rect(school.0, school.1, school.2, school.3),
    )
    .await;
    // One closed problem: never chosen.
    let closed = seed(
        &t,
        &[Spec {
            lon: 121.4950,
            lat: 31.2840,
            category: "garbage",
            severity: Severity::Low,
            status: Status::Closed,
            overdue: false,
        }],
    )
    .await;
    let cases: Vec<(Value, Keep)> = vec![
        (json!({}), Box::new(|_| true)),
        (
            json!({"zone": area.0}),
            Box::new(move |s| inside(west, s.lon, s.lat)),
        ),
        (
            json!({"category": ["garbage", "clutter"]}),
            Box::new(|s| ["garbage", "clutter"].contains(&s.category)),
        ),
        (
            json!({"status": ["reported"]}),
            Box::new(|s| s.status == Status::Reported),
        ),
        (json!({"overdue": true}), Box::new(|s| s.overdue)),
        (
            json!({"zone": area.0, "status": ["dispatched"], "category": CATEGORIES[..3]}),
            Box::new(move |s| {
                inside(west, s.lon, s.lat)
                    && s.status == Status::Dispatched
                    && CATEGORIES[..3].contains(&s.category)
            }),
        ),
    ];
    for (filter, keep) in cases {
        let chosen: Vec<&Seeded> = seeded.iter().filter(|s| keep(s)).collect();
        assert!(!chosen.is_empty(), "{filter}: the seed chose nothing");
        let body = json!({"filter": filter, "teams": 4, "budget_min": 600, "mode": "cycle", "start": START, "seed": 3});
        let r = plan(&t, OFFICE_TOKEN, "", &body).await;
        assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.text());
        let v = r.json();
        check_plan(&v, &chosen, 4, 600.0, Some(school), &HashMap::new());
        assert!(
            !v.to_string().contains(&closed[0].id),
            "closed problem chosen"
        );
    }
    // Low-severity problems in the surroundings that are not late are must-visit all the same.
    assert!(
        seeded
            .iter()
            .any(|s| reasons(s, Some(school)) == ["three_surroundings"]),
        "the seed put no plain problem in the school's surroundings"
    );
    // Nothing matches: 422 naming the filter.
    let r = plan(
        &t,
        OFFICE_TOKEN,
        "",
        &json!({"filter": {"category": ["zombie_car"], "status": ["escalated"]}, "budget_min": 60, "start": START}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error(), ("invalid".into(), Some("filter".into())));
}

#[tokio::test]
async fn service_time_comes_from_the_category_or_the_request() {
    let t = app(true).await;
    let seeded = seed(&t, &random_specs(12, 1.0, 0.0, 5)).await;
    let chosen: Vec<&Seeded> = seeded.iter().collect();
    let overrides: HashMap<&str, f64> = [("garbage", 3.0), ("clutter", 0.0)].into();
    let body = json!({
        "ids": ids_of(&chosen), "budget_min": 600, "mode": "walk", "start": START,
        "service_min": {"garbage": 3, "clutter": 0},
    });
    let r = plan(&t, OFFICE_TOKEN, "", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    check_plan(&r.json(), &chosen, 1, 600.0, None, &overrides);
}

#[tokio::test]
async fn gpx_parses_with_a_waypoint_per_stop_and_the_route_as_track_points() {
    let t = app(true).await;
    let seeded = seed(&t, &random_specs(18, 0.3, 0.0, 6)).await;
    let body = json!({
        "ids": ids_of(&seeded.iter().collect::<Vec<_>>()), "teams": 3, "budget_min": 60,
        "mode": "cycle", "start": START, "seed": 5,
    });
    let v = plan(&t, OFFICE_TOKEN, "", &body).await.json();
    let r = plan(&t, OFFICE_TOKEN, "?format=gpx", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.content_type().starts_with("application/gpx+xml"));
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".gpx")
    );
    let gpx = r.text();
    let mut reader = quick_xml::Reader::from_str(&gpx);
    let (mut wpt, mut trk, mut trkpt, mut names) = (0, 0, 0, Vec::new());
    let mut in_wpt_name = false;
    let mut depth_wpt = false;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"wpt" => {
                        wpt += 1;
                        depth_wpt = true;
                    }
                    b"trk" => trk += 1,
                    b"trkpt" => {
                        trkpt += 1;
                        let attr = |k: &[u8]| -> f64 {
                            let a = e.try_get_attribute(k).unwrap().unwrap();
                            std::str::from_utf8(&a.value).unwrap().parse().unwrap()
                        };
                        let (lat, lon) = (attr(b"lat"), attr(b"lon"));
                        assert!((31.27..31.30).contains(&lat) && (121.48..121.51).contains(&lon));
                    }
                    b"name" if depth_wpt => in_wpt_name = true,
                    _ => {}
                }
            }
            quick_xml::events::Event::End(e) if e.name().as_ref() == b"wpt" => depth_wpt = false,
            quick_xml::events::Event::Text(x) if in_wpt_name => {
                names.push(x.decode().unwrap().into_owned());
                in_wpt_name = false;
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    let teams = v["teams"].as_array().unwrap();
    let visited: usize = teams
        .iter()
        .map(|t| t["stops"].as_array().unwrap().len())
        .sum();
    let working = teams
        .iter()
        .filter(|t| !t["stops"].as_array().unwrap().is_empty())
        .count();
    let points: usize = teams
        .iter()
        .filter(|t| !t["stops"].as_array().unwrap().is_empty())
        .map(|t| {
            t["route"]["geometry"]["coordinates"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert!(visited > 0);
    assert_eq!(wpt, visited + 1, "a waypoint per stop plus the start");
    assert_eq!(trk, working);
    assert_eq!(trkpt, points);
    // Waypoints are named team-stop, category and case number for a team reading a phone.
    let first = &teams
        .iter()
        .find(|t| !t["stops"].as_array().unwrap().is_empty())
        .unwrap();
    let label = format!(
        "{}-01 {} {}",
        first["team"],
        first["stops"][0]["category_name"].as_str().unwrap(),
        first["stops"][0]["case_no"].as_str().unwrap()
    );
    assert!(names.contains(&label), "{label} not in {names:?}");
}

#[tokio::test]
async fn print_sheet_has_the_map_and_a_stop_table_per_team() {
    let t = app(true).await;
    let seeded = seed(&t, &random_specs(15, 0.3, 0.0, 7)).await;
    let body = json!({
        "ids": ids_of(&seeded.iter().collect::<Vec<_>>()), "teams": 2, "budget_min": 120,
        "mode": "walk", "start": START, "seed": 2,
    });
    let v = plan(&t, OFFICE_TOKEN, "", &body).await.json();
    let r = plan(&t, OFFICE_TOKEN, "?format=html", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.content_type().starts_with("text/html"));
    let html = r.text();
    assert!(html.contains("<svg"), "the map is inline SVG");
    assert_eq!(html.matches("<table class=\"stops\">").count(), 2);
    assert_eq!(html.matches("<section class=\"page team\"").count(), 2);
    // Stops by case number, as people quote them.
    let visited: Vec<&str> = v["teams"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["stops"].as_array().unwrap())
        .map(|s| s["case_no"].as_str().unwrap())
        .collect();
    assert_eq!(html.matches("<tr class=\"stop").count(), visited.len());
    for case in &visited {
        assert!(
            html.contains(&format!("<td class=\"case\">{case}</td>")),
            "{case} not on the sheet"
        );
    }
    // Descriptions typed by anyone are escaped.
    assert!(html.contains("&lt;b&gt;"));
    assert!(!html.contains("<b>"));
    assert!(html.contains("© OpenStreetMap contributors"));
    // The map alone.
    let r = plan(&t, OFFICE_TOKEN, "?format=svg", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.content_type().starts_with("image/svg+xml"));
    let svg = r.text();
    assert!(svg.trim_start().starts_with("<svg") || svg.trim_start().starts_with("<?xml"));
    let mut reader = quick_xml::Reader::from_str(&svg);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("the SVG is not XML: {e}"),
        }
    }
}

#[tokio::test]
async fn infeasible_requests_are_422_naming_the_stops() {
    let t = app(true).await;
    // Severe problems, two of them garbage.
    let mut specs = random_specs(8, 1.0, 0.0, 8);
    for (i, s) in specs.iter_mut().enumerate() {
        s.category = if i < 2 { "garbage" } else { "illegal_parking" };
    }
    let seeded = seed(&t, &specs).await;
    let ids = ids_of(&seeded.iter().collect::<Vec<_>>());
    // Five hours on site per garbage stop: each of those alone exceeds a two-hour budget; every
    // other stop fits alone.
    let r = plan(
        &t,
        OFFICE_TOKEN,
        "",
        &json!({"ids": ids, "budget_min": 120, "mode": "cycle", "start": START, "service_min": {"garbage": 300}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.error(), ("invalid".into(), Some("budget_min".into())));
    let e = r.json()["error"].clone();
    let named: BTreeSet<String> = e["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    let garbage: BTreeSet<String> = seeded[..2].iter().map(|s| s.id.clone()).collect();
    assert_eq!(named, garbage);
    // The message names the stops by their case numbers, as the sheet prints them.
    for id in &garbage {
        let case = t.state.problem_ref(id).ok().and_then(|p| {
            t.state
                .problems()
                .map
                .get(&p)
                .and_then(civmap_app::memory::record::Record::case_no)
        });
        let case = case
            .expect("a stored problem has a case number")
            .to_string();
        assert!(e["message"].as_str().unwrap().contains(&case), "{e}");
    }
    // What would fit: five hours and more per team; no number of teams helps a stop that alone
    // exceeds the budget.
    assert!(e["suggest"]["budget_min"].as_f64().unwrap() >= 300.0, "{e}");
    assert!(e["suggest"]["teams"].is_null(), "{e}");
    // Each fits alone, not all together: with one team, every must-visit stop is on the route
    // that does not fit.
    let r = plan(
        &t,
        OFFICE_TOKEN,
        "",
        &json!({"ids": ids[2..], "budget_min": 25, "mode": "cycle", "start": START}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.error().1.as_deref(), Some("budget_min"));
    let named: BTreeSet<String> = r.json()["error"]["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(named, ids[2..].iter().cloned().collect());
    let suggest = &r.json()["error"]["suggest"];
    assert!(suggest["budget_min"].as_f64().unwrap() > 25.0, "{suggest}");
    assert!(suggest["teams"].as_u64().unwrap() >= 2, "{suggest}");
    // Many stops: the message names twenty, `stops` lists them all.
    let many = seed(&t, &random_specs(25, 1.0, 0.0, 14)).await;
    let r = plan(
        &t,
        OFFICE_TOKEN,
        "",
        &json!({"ids": ids_of(&many.iter().collect::<Vec<_>>()), "budget_min": 1, "start": START}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let e = r.json()["error"].clone();
    assert_eq!(e["stops"].as_array().unwrap().len(), 25);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .ends_with("and 5 more (all in error.stops)")
    );
    // A must-visit problem three kilometres east of the mapped roads cannot be reached.
    let far = seed(
        &t,
        &[Spec {
            lon: 121.535,
            lat: 31.285,
            category: "garbage",
            severity: Severity::Critical,
            status: Status::Reported,
            overdue: false,
        }],
    )
    .await;
    let mut with_far = ids[2..].to_vec();
    with_far.push(far[0].id.clone());
    let r = plan(
        &t,
        OFFICE_TOKEN,
        "",
        &json!({"ids": with_far, "budget_min": 600, "mode": "walk", "start": START}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.error(), ("invalid".into(), Some("ids".into())));
    assert_eq!(r.json()["error"]["stops"], json!([far[0].id]));
    let far_case = t
        .state
        .problem_ref(&far[0].id)
        .ok()
        .and_then(|p| {
            t.state
                .problems()
                .map
                .get(&p)
                .and_then(civmap_app::memory::record::Record::case_no)
        })
        .expect("a stored problem has a case number")
        .to_string();
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&far_case)
    );
    // The same place as an optional stop is left out, with the reason.
    let optional = seed(
        &t,
        &[Spec {
            lon: 121.535,
            lat: 31.286,
            category: "garbage",
            severity: Severity::Low,
            status: Status::Reported,
            overdue: false,
        }],
    )
    .await;
    let mut with_optional = ids[2..].to_vec();
    with_optional.push(optional[0].id.clone());
    let r = plan(
        &t,
        OFFICE_TOKEN,
        "",
        &json!({"ids": with_optional, "budget_min": 600, "mode": "walk", "start": START}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["unassigned"],
        json!([{"id": optional[0].id, "category_name": "垃圾", "reason": "unreachable"}])
    );
    // A start far from every road.
    let r = plan(
        &t,
        OFFICE_TOKEN,
        "",
        &json!({"ids": ids[2..], "budget_min": 600, "start": [121.56, 31.30]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.error().1.as_deref(), Some("start"));
}

#[tokio::test]
async fn only_the_street_office_and_admins_plan_routes() {
    let t = app(true).await;
    let seeded = seed(&t, &random_specs(5, 0.0, 0.0, 9)).await;
    let body = json!({"ids": ids_of(&seeded.iter().collect::<Vec<_>>()), "budget_min": 60, "start": START});
    for token in [OFFICE_TOKEN, ADMIN_TOKEN] {
        let r = plan(&t, token, "", &body).await;
        assert_eq!(r.status, StatusCode::OK, "{token}: {}", r.text());
    }
    for token in [CHIEF_TOKEN, PUBLIC_TOKEN] {
        let r = plan(&t, token, "", &body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{token}");
        assert_eq!(r.error().0, "forbidden");
    }
    let r = plan(&t, "", "", &body).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error().0, "unauthorized");
    // The role is checked before anything else: a bad body from a chief is still a 403.
    let r = plan(&t, CHIEF_TOKEN, "", &json!({"teams": 0})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_bodies_and_parameters_are_4xx_json_naming_the_field() {
    let t = app(true).await;
    let seeded = seed(&t, &random_specs(4, 0.0, 0.0, 10)).await;
    let closed = seed(
        &t,
        &[Spec {
            lon: 121.4950,
            lat: 31.2840,
            category: "garbage",
            severity: Severity::Low,
            status: Status::Closed,
            overdue: false,
        }],
    )
    .await;
    let id = seeded[0].id.clone();
    let ok = json!({"ids": [id], "budget_min": 60, "start": START});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let cases: Vec<(Value, u16, Option<&str>)> = vec![
        (json!({"budget_min": 60, "start": START}), 422, Some("ids")),
        (
            json!({"ids": [id], "start": START}),
            422,
            Some("budget_min"),
        ),
        (json!({"ids": [id], "budget_min": 60}), 422, Some("start")),
        (with("teams", json!(0)), 422, Some("teams")),
        (with("teams", json!(21)), 422, Some("teams")),
        (with("teams", json!(-1)), 422, Some("teams")),
        (with("teams", json!("two")), 422, Some("teams")),
        (with("budget_min", json!(0)), 422, Some("budget_min")),
        (with("budget_min", json!(-30)), 422, Some("budget_min")),
        (with("budget_min", json!(5000)), 422, Some("budget_min")),
        (with("budget_min", json!("1h")), 422, Some("budget_min")),
        (with("mode", json!("boat")), 422, Some("mode")),
        (with("start", json!([200, 31.28])), 422, Some("start")),
        (with("start", json!([121.5])), 422, Some("start")),
        (with("start", json!("office")), 422, Some("start")),
        (with("end", json!("somewhere")), 422, Some("end")),
        (with("end", json!([121.5, 95])), 422, Some("end")),
        (with("end", json!(["a", "b"])), 422, Some("end")),
        (with("seed", json!(-3)), 422, Some("seed")),
        (with("colour", json!("red")), 422, Some("colour")),
        (with("ids", json!(["not-a-uuid"])), 422, Some("ids[0]")),
        (with("ids", json!([id, id])), 422, Some("ids")),
        (
            with("ids", json!(["0190f0c0-0000-7000-8000-000000000000"])),
            422,
            Some("ids"),
        ),
        (with("ids", json!([closed[0].id])), 422, Some("ids")),
        (
            with("filter", json!({"overdue": true})),
            422,
            Some("filter"),
        ),
        (
            json!({"filter": {"zone": "0190f0c0-0000-7000-8000-000000000000"}, "budget_min": 60, "start": START}),
            422,
            Some("filter.zone"),
        ),
        (
            json!({"filter": {"category": ["unicorns"]}, "budget_min": 60, "start": START}),
            422,
            Some("filter.category"),
        ),
        (
            json!({"filter": {"status": ["sleeping"]}, "budget_min": 60, "start": START}),
            422,
            Some("filter.status[0]"),
        ),
        (
            json!({"filter": {"colour": "red"}, "budget_min": 60, "start": START}),
            422,
            Some("filter.colour"),
        ),
        (
            with("service_min", json!({"unicorns": 5})),
            422,
            Some("service_min"),
        ),
        (
            with("service_min", json!({"garbage": -5})),
            422,
            Some("service_min"),
        ),
        (
            with("service_min", json!({"garbage": 9999})),
            422,
            Some("service_min"),
        ),
        (json!("plan please"), 422, Some("body")),
        (json!([1, 2]), 422, Some("[0]")),
    ];
    for (body, status, field) in cases {
        let r = plan(&t, OFFICE_TOKEN, "", &body).await;
        assert_eq!(r.status.as_u16(), status, "{body}: {}", r.text());
        let (_, f) = r.error();
        assert_eq!(f.as_deref(), field, "{body}: {}", r.text());
    }
    // Malformed JSON, wrong content type, bad query parameters.
    let auth = format!("Bearer {OFFICE_TOKEN}");
    let r = t
        .call(
            Method::POST,
            "/api/v1/routes",
            &[
                ("content-type", "application/json"),
                ("authorization", &auth),
            ],
            "{\"ids\": [",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.error();
    let r = t
        .call(
            Method::POST,
            "/api/v1/routes",
            &[("content-type", "text/plain"), ("authorization", &auth)],
            ok.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    r.error();
    for (q, field) in [
        ("?format=pdf", "format"),
        ("?crs=mars", "crs"),
        ("?colour=red", "colour"),
    ] {
        let r = plan(&t, OFFICE_TOKEN, q, &ok).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text());
        assert_eq!(r.error().1.as_deref(), Some(field), "{q}");
    }
    // GET is not a way to plan.
    let r = t.get_as("/api/v1/routes", OFFICE_TOKEN).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    r.error();
}

#[tokio::test]
async fn without_a_road_graph_the_answer_says_it_used_straight_lines() {
    let t = app(false).await;
    let seeded = seed(&t, &random_specs(15, 0.2, 0.0, 11)).await;
    let chosen: Vec<&Seeded> = seeded.iter().collect();
    let body = json!({"ids": ids_of(&chosen), "teams": 2, "budget_min": 90, "mode": "walk", "start": START});
    let r = plan(&t, OFFICE_TOKEN, "", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["fallback_straight_line"], true);
    assert_eq!(v["detour_factor"], 1.3);
    assert!(v["note"].as_str().unwrap().contains("straight"));
    check_plan(&v, &chosen, 2, 90.0, None, &HashMap::new());
    // Each leg is the straight line times the detour factor.
    for team in v["teams"].as_array().unwrap() {
        let mut prev = START;
        for s in team["stops"].as_array().unwrap() {
            let here = pt(&s["coordinates"]);
            let want = 1.3 * haversine(prev, here);
            assert!((s["leg_distance_m"].as_f64().unwrap() - want).abs() <= 0.5 + 1e-6);
            prev = here;
        }
    }
    // The print sheet says so too.
    let html = plan(&t, OFFICE_TOKEN, "?format=html", &body).await.text();
    assert!(html.contains("本区域无路网"));
}

#[tokio::test]
async fn coordinates_follow_the_requested_crs() {
    let t = app(true).await;
    let seeded = seed(&t, &random_specs(6, 0.0, 0.0, 12)).await;
    let ids = ids_of(&seeded.iter().collect::<Vec<_>>());
    let wgs = plan(
        &t,
        OFFICE_TOKEN,
        "",
        &json!({"ids": ids, "budget_min": 300, "start": START, "seed": 4}),
    )
    .await
    .json();
    // The same office given in GCJ-02 (as a Chinese phone map shows it).
    let gcj_start = civmap_geodata::Crs::Gcj02.from_wgs84(START);
    let gcj = plan(
        &t,
        OFFICE_TOKEN,
        "?crs=gcj02",
        &json!({"ids": ids, "budget_min": 300, "start": gcj_start, "seed": 4}),
    )
    .await;
    assert_eq!(gcj.status, StatusCode::OK, "{}", gcj.text());
    let gcj = gcj.json();
    assert_eq!(gcj["crs"], "gcj02");
    let (a, b) = (pt(&wgs["start"]), pt(&gcj["start"]));
    // GCJ-02 is offset by a few hundred metres in Shanghai; the round trip is within a metre.
    assert!(haversine(a, b) > 100.0, "answer not in GCJ-02");
    assert!(haversine(gcj_start, b) < 1.0);
    // Every stop comes back in GCJ-02.
    let coords = |v: &Value| -> HashMap<String, [f64; 2]> {
        v["teams"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["stops"].as_array().unwrap())
            .map(|s| (s["id"].as_str().unwrap().to_owned(), pt(&s["coordinates"])))
            .collect()
    };
    let (w, g) = (coords(&wgs), coords(&gcj));
    assert_eq!(w.len(), seeded.len());
    assert_eq!(g.len(), seeded.len());
    for (id, p) in &w {
        let back = civmap_geodata::Crs::Gcj02.from_wgs84(*p);
        assert!(haversine(back, g[id]) < 0.01, "{id}");
    }
}

#[tokio::test]
async fn a_street_office_plans_only_the_problems_of_its_street() {
    let t = app(true).await;
    let seeded = seed(&t, &random_specs(20, 0.0, 0.0, 13)).await;
    // The street's management grid covers the western half; the office account carries its code.
    let street = "310110009";
    let west = (LON.0 - 0.001, LAT.0 - 0.001, 121.4972, LAT.1 + 0.001);
    let cell = Zone {
        id: ZoneId::new(),
        kind: ZoneKind::GridCell,
        name: "G1".into(),
        poi_kind: None,
        poi: None,
        code: Some(format!("{street}-R001C001")),
        geometry: rect(west.0, west.1, west.2, west.3),
        external_id: None,
    };
    t.state.put_zone(cell).await.unwrap();
    let user = User {
        id: UserId::new(),
        name: "office.s1".into(),
        display_name: "街道办 s1".into(),
        role: Role::StreetOffice,
        street: Some(street.into()),
        password_hash: String::new(),
        disabled: false,
        created_at: Utc::now(),
    };
    t.store.create_user(&user).await.unwrap();
    let (token, _) = civmap_app::accounts::sessions::issue_api_token(&t.store, user.id, 1)
        .await
        .unwrap();
    let mine: Vec<&Seeded> = seeded
        .iter()
        .filter(|s| inside(west, s.lon, s.lat))
        .collect();
    assert!(!mine.is_empty() && mine.len() < seeded.len());
    // By filter: only the street's problems.
    let body =
        json!({"filter": {}, "teams": 2, "budget_min": 600, "mode": "cycle", "start": START});
    let r = plan(&t, &token, "", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    check_plan(&r.json(), &mine, 2, 600.0, None, &HashMap::new());
    // By id: a problem of another street is "not found", as on every other API.
    let other = seeded.iter().find(|s| !inside(west, s.lon, s.lat)).unwrap();
    let r = plan(
        &t,
        &token,
        "",
        &json!({"ids": [mine[0].id, other.id], "budget_min": 600, "start": START}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.error().1.as_deref(), Some("ids"));
    assert_eq!(
        r.json()["error"]["message"],
        format!("ids: no problem {}", other.id)
    );
    // A street office without a street plans for every problem.
    let r = plan(&t, OFFICE_TOKEN, "", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let all: Vec<&Seeded> = seeded.iter().collect();
    check_plan(&r.json(), &all, 2, 600.0, None, &HashMap::new());
}
