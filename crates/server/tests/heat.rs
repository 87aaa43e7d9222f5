//! `/api/v1/heat`: zone scores and rankings against a brute-force recomputation on a seeded
//! problem set, the change against the previous period, the density surface (hexagons and
//! squares at several sizes, filters, CRS), public safety, and every bad parameter answered with
//! a 4xx in the one error shape. The golden test on the demo area's ranking is in
//! `crates/cli/tests/heat_golden.rs` (it needs the demo loader of the `civmap` binary).
#![allow(clippy::too_many_lines, clippy::unwrap_used, clippy::float_cmp)]

use crate::common;

use std::collections::HashMap;

use axum::http::StatusCode;
use chrono::{DateTime, Datelike, FixedOffset, TimeZone, Utc};
use civmap_domain::{CategoryTable, NewProblem, PoiKind, Severity, Status, Zone, ZoneId, ZoneKind};
use common::{OFFICE_TOKEN, PUBLIC_TOKEN, TestApp, enc, setup};
use geo::{
    BoundingRect, Coord, Distance, Euclidean, GeodesicArea, Intersects, LineString, MultiPolygon,
    Point, Polygon,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

const DAY_MS: i64 = 86_400_000;
const M_PER_DEG: f64 = 111_320.0;
const CATEGORIES: [&str; 6] = [
    "garbage",
    "illegal_parking",
    "ad_posters",
    "street_vending",
    "stairwell_clutter",
    "misparked_bikes",
];

/// A seeded problem, as the oracle sees it.
#[derive(Debug, Clone)]
struct Seeded {
    lon: f64,
    lat: f64,
    category: &'static str,
    severity: Severity,
    status: Status,
    reported_ms: i64,
}

fn at_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap()
}

fn iso(ms: i64) -> String {
    at_ms(ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn ms_of(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

/// A 24-gon of radius `r_m` around a point (a buffer as the zone builder makes them).
fn circle(lon: f64, lat: f64, r_m: f64) -> Polygon<f64> {
    let k = M_PER_DEG * lat.to_radians().cos();
    let ring: Vec<Coord<f64>> = (0..=24)
        .map(|i| {
            let t = f64::from(i % 24) / 24.0 * std::f64::consts::TAU;
            Coord {
                x: lon + r_m * t.cos() / k,
                y: lat + r_m * t.sin() / M_PER_DEG,
            }
        })
        .collect();
    Polygon::new(LineString(ring), vec![])
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> LineString<f64> {
    LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
}

fn zone(kind: ZoneKind, poi_kind: Option<PoiKind>, name: &str, g: MultiPolygon<f64>) -> Zone {
    Zone {
        id: ZoneId::new(),
        kind,
        name: name.to_owned(),
        poi_kind,
        poi: None,
        code: None,
        geometry: g,
        external_id: Some(format!("test:{name}")),
    }
}

/// Stores problems with chosen report times and statuses (through the import path, as
/// `civmap import` and the demo do).
async fn seed(t: &TestApp, problems: &[Seeded]) {
    let table = CategoryTable::builtin();
    let items: Vec<_> = problems
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut p = NewProblem {
                lon: s.lon,
                lat: s.lat,
                category: s.category.to_owned(),
                severity: s.severity,
                description: "热力测试".into(),
            }
            .validate(&table, None, at_ms(s.reported_ms))
            .unwrap();
            p.status = s.status;
            (p, format!("heat-test:{i}:{}", s.reported_ms))
        })
        .collect();
    t.store.import_problems(items, "heat-test").await.unwrap();
    assert!(t.state.sizes().problems >= problems.len());
}

/// Zones of every kind over a few km² of Yangpu: 6 schools, 4 parks, 2 markets (circles, two
/// of them overlapping), a point zone, a road zone and an area with a hole.
async fn seed_zones(t: &TestApp) -> Vec<Zone> {
    let mut zones = Vec::new();
    let centres = [
        (121.500, 31.283, PoiKind::School, 200.0),
        (121.507, 31.287, PoiKind::School, 200.0),
        (121.494, 31.279, PoiKind::School, 200.0),
        (121.512, 31.280, PoiKind::School, 200.0),
        (121.503, 31.292, PoiKind::School, 200.0),
        (121.5015, 31.2845, PoiKind::School, 200.0),
        (121.497, 31.288, PoiKind::Park, 100.0),
        (121.509, 31.275, PoiKind::Park, 100.0),
        (121.515, 31.290, PoiKind::Park, 100.0),
        (121.490, 31.284, PoiKind::Park, 100.0),
        (121.505, 31.281, PoiKind::Market, 150.0),
        (121.493, 31.291, PoiKind::Market, 150.0),
    ];
    for (i, &(lon, lat, kind, r)) in centres.iter().enumerate() {
        zones.push(zone(
            ZoneKind::Surroundings,
            Some(kind),
            &format!("{kind}-{i}"),
            MultiPolygon(vec![circle(lon, lat, r)]),
        ));
    }
    zones.push(zone(
        ZoneKind::Point,
        None,
        "gate",
        MultiPolygon(vec![circle(121.500, 31.283, 60.0)]),
    ));
    zones.push(zone(
        ZoneKind::Road,
        None,
        "road",
        MultiPolygon(vec![Polygon::new(
            rect(121.488, 31.2855, 121.518, 31.2859),
            vec![],
        )]),
    ));
    zones.push(zone(
        ZoneKind::Area,
        None,
        "area-with-hole",
        MultiPolygon(vec![Polygon::new(
            rect(121.495, 31.276, 121.512, 31.290),
            vec![rect(121.500, 31.280, 121.505, 31.284)],
        )]),
    ));
    for z in &zones {
        t.state.put_zone(z.clone()).await.unwrap();
    }
    zones
}

/// `n` problems, mostly near the zones, reported over the last 120 days, every status.
fn random_problems(n: usize, seed: u64, now_ms: i64) -> Vec<Seeded> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| Seeded {
            lon: 121.486 + rng.random::<f64>() * 0.034,
            lat: 31.272 + rng.random::<f64>() * 0.024,
            category: CATEGORIES[rng.random_range(0..CATEGORIES.len())],
            severity: Severity::ALL[rng.random_range(0..Severity::ALL.len())],
            status: Status::ALL[rng.random_range(0..Status::ALL.len())],
            reported_ms: now_ms - rng.random_range(0..120 * DAY_MS),
        })
        .collect()
}

/// Geodesic area with holes subtracted, whatever way each ring runs: every ring's area on its
/// own, exteriors added and holes taken away.
fn area_m2(mp: &MultiPolygon<f64>) -> f64 {
    let ring = |r: &LineString<f64>| Polygon::new(r.clone(), vec![]).geodesic_area_unsigned();
    mp.0.iter()
        .map(|p| ring(p.exterior()) - p.interiors().iter().map(ring).sum::<f64>())
        .sum()
}

/// The brute-force recomputation of one zone over `[from, before)`, ages at `scored_at`.
#[derive(Debug, Clone, Default)]
struct Oracle {
    count: u32,
    open: u32,
    weight: f64,
    score: f64,
    area_m2: f64,
    /// (code, count, weight), heaviest first.
    cats: Vec<(String, u32, f64)>,
}

fn oracle(z: &Zone, ps: &[Seeded], from: i64, before: i64, scored_at: i64) -> Oracle {
    let table = CategoryTable::builtin();
    let mut o = Oracle {
        area_m2: area_m2(&z.geometry),
        ..Oracle::default()
    };
    let mut cats: HashMap<&str, (u32, f64)> = HashMap::new();
    for p in ps {
        if !(from..before).contains(&p.reported_ms)
            || !z.geometry.intersects(&Point::new(p.lon, p.lat))
        {
            continue;
        }
        o.count += 1;
        if !p.status.is_open() {
            continue;
        }
        let days = (scored_at - p.reported_ms).max(0) as f64 / DAY_MS as f64;
        let age = (1.0 + days / 7.0).min(4.0);
        let w = table.by_code(p.category).unwrap().weight * p.severity.weight() * age;
        o.open += 1;
        o.weight += w;
        let c = cats.entry(p.category).or_default();
        c.0 += 1;
        c.1 += w;
    }
    o.score = o.weight / (o.area_m2 / 10_000.0);
    let mut cats: Vec<_> = cats
        .into_iter()
        .map(|(k, (n, w))| (k.to_owned(), n, w))
        .collect();
    cats.sort_by(|a, b| b.2.total_cmp(&a.2).then(b.1.cmp(&a.1)));
    o.cats = cats;
    o
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Checks one zone row (`count`, `open`, `weight`, `score`, `area_m2`, `top_categories`).
fn check_row(row: &Value, o: &Oracle, what: &str) {
    assert_eq!(row["count"].as_u64().unwrap(), u64::from(o.count), "{what}");
    assert_eq!(row["open"].as_u64().unwrap(), u64::from(o.open), "{what}");
    assert!(
        close(row["weight"].as_f64().unwrap(), o.weight),
        "{what}: weight {} vs {}",
        row["weight"],
        o.weight
    );
    assert!(
        close(row["score"].as_f64().unwrap(), o.score),
        "{what}: score {} vs {}",
        row["score"],
        o.score
    );
    assert!(
        (row["area_m2"].as_f64().unwrap() - o.area_m2).abs() < 1e-6 * o.area_m2,
        "{what}: area {} vs {}",
        row["area_m2"],
        o.area_m2
    );
    let top = row["top_categories"].as_array().unwrap();
    assert_eq!(top.len(), o.cats.len().min(3), "{what}");
    for (got, want) in top.iter().zip(&o.cats) {
        assert_eq!(got["category"], want.0.as_str(), "{what}");
        assert_eq!(got["count"].as_u64().unwrap(), u64::from(want.1), "{what}");
        assert!(close(got["weight"].as_f64().unwrap(), want.2), "{what}");
        assert!(!got["name"].as_str().unwrap().is_empty());
    }
}

/// Keys that must never appear in a public heat answer.
fn assert_public_safe(v: &Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                assert!(
                    ![
                        "reporter",
                        "assignee",
                        "assignees",
                        "description",
                        "user",
                        "actor"
                    ]
                    .contains(&k.as_str()),
                    "personal field {k} in a heat answer"
                );
                assert_public_safe(x);
            }
        }
        Value::Array(a) => a.iter().for_each(assert_public_safe),
        _ => {}
    }
}

async fn get_ok(t: &TestApp, uri: &str) -> Value {
    let r = t.get(uri).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
    let v = r.json();
    assert_public_safe(&v);
    v
}

#[tokio::test]
async fn zone_scores_match_a_brute_force_oracle() {
    let t = setup().await;
    let zones = seed_zones(&t).await;
    let now = Utc::now().timestamp_millis();
    let ps = random_problems(900, 11, now);
    seed(&t, &ps).await;
    // A past period: ages are measured at its end.
    let (from, to) = (now - 60 * DAY_MS, now - 20 * DAY_MS);
    let v = get_ok(
        &t,
        &format!(
            "/api/v1/heat/zones?from={}&to={}",
            enc(&iso(from)),
            enc(&iso(to))
        ),
    )
    .await;
    assert_eq!(v["period"]["from"], iso(from));
    assert_eq!(v["period"]["to"], iso(to));
    assert_eq!(v["period"]["scored_at"], iso(to + 1));
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), zones.len());
    assert_eq!(v["numberMatched"], zones.len());
    let mut nonzero = 0;
    for row in items {
        let z = zones
            .iter()
            .find(|z| z.id.to_string() == row["zone"].as_str().unwrap())
            .unwrap();
        assert_eq!(row["kind"], z.kind.as_str());
        assert_eq!(row["name"], z.name.as_str());
        let o = oracle(z, &ps, from, to + 1, to + 1);
        check_row(row, &o, &z.name);
        nonzero += usize::from(o.open > 0);
    }
    assert!(
        nonzero >= 10,
        "the seeded set reaches most zones ({nonzero})"
    );
    // Highest score first.
    let scores: Vec<f64> = items.iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // kind and bbox narrow the zones; limit cuts the list but not numberMatched.
    let v = get_ok(
        &t,
        &format!(
            "/api/v1/heat/zones?kind=point,road&from={}&to={}",
            enc(&iso(from)),
            enc(&iso(to))
        ),
    )
    .await;
    let kinds: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"point") && kinds.contains(&"road"));
    let bbox = [121.505, 31.285, 121.52, 31.295];
    let v = get_ok(
        &t,
        &format!(
            "/api/v1/heat/zones?bbox={}&limit=2&from={}&to={}",
            bbox.map(|x| x.to_string()).join(","),
            enc(&iso(from)),
            enc(&iso(to))
        ),
    )
    .await;
    let expected = zones
        .iter()
        .filter(|z| {
            let r = z.geometry.bounding_rect().unwrap();
            r.min().x <= bbox[2]
                && r.max().x >= bbox[0]
                && r.min().y <= bbox[3]
                && r.max().y >= bbox[1]
        })
        .count();
    assert!(expected > 2 && expected < zones.len(), "{expected}");
    assert_eq!(v["numberMatched"], expected);
    assert_eq!(v["numberReturned"], 2);
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn default_period_is_this_month_in_china_time() {
    let t = setup().await;
    let zones = seed_zones(&t).await;
    let now = Utc::now().timestamp_millis();
    let ps = random_problems(400, 12, now);
    seed(&t, &ps).await;
    let v = get_ok(&t, "/api/v1/heat/zones?kind=surroundings").await;
    let cst = FixedOffset::east_opt(8 * 3600).unwrap();
    let local = at_ms(now).with_timezone(&cst);
    let start = cst
        .with_ymd_and_hms(local.year(), local.month(), 1, 0, 0, 0)
        .single()
        .unwrap()
        .timestamp_millis();
    let from = ms_of(v["period"]["from"].as_str().unwrap());
    let to = ms_of(v["period"]["to"].as_str().unwrap());
    let scored_at = ms_of(v["period"]["scored_at"].as_str().unwrap());
    // Unless the month turned between the two clock readings.
    assert!(from == start || from > now, "{from} vs {start}");
    assert!(to >= now && to - now < 60_000, "to is now");
    assert_eq!(
        scored_at, to,
        "the period has not ended: ages are measured now"
    );
    for row in v["items"].as_array().unwrap() {
        let z = zones
            .iter()
            .find(|z| z.id.to_string() == row["zone"].as_str().unwrap())
            .unwrap();
        assert_eq!(z.kind, ZoneKind::Surroundings);
        check_row(row, &oracle(z, &ps, from, to + 1, scored_at), &z.name);
    }
}

#[tokio::test]
async fn rankings_match_the_oracle_with_the_previous_period() {
    let t = setup().await;
    let zones = seed_zones(&t).await;
    let now = Utc::now().timestamp_millis();
    let ps = random_problems(1200, 13, now);
    seed(&t, &ps).await;
    let (from, to) = (now - 30 * DAY_MS, now - 5 * DAY_MS);
    let len = to + 1 - from;
    for kind in PoiKind::ALL {
        let mine: Vec<&Zone> = zones.iter().filter(|z| z.poi_kind == Some(kind)).collect();
        let v = get_ok(
            &t,
            &format!(
                "/api/v1/heat/rankings?poi_kind={kind}&n=3&from={}&to={}",
                enc(&iso(from)),
                enc(&iso(to))
            ),
        )
        .await;
        assert_eq!(v["poi_kind"], kind.as_str());
        assert_eq!(v["order"], "score");
        assert_eq!(v["zones"], mine.len());
        assert_eq!(v["previous"]["from"], iso(from - len));
        assert_eq!(v["previous"]["to"], iso(from - 1));
        assert_eq!(v["previous"]["scored_at"], iso(from));
        // The oracle's ranking of this period and of the previous one.
        let now_o: Vec<Oracle> = mine
            .iter()
            .map(|z| oracle(z, &ps, from, to + 1, to + 1))
            .collect();
        let prev_o: Vec<Oracle> = mine
            .iter()
            .map(|z| oracle(z, &ps, from - len, from, from))
            .collect();
        let order = |os: &[Oracle]| {
            let mut idx: Vec<usize> = (0..mine.len()).collect();
            idx.sort_by(|&i, &j| {
                os[j]
                    .score
                    .total_cmp(&os[i].score)
                    .then(os[j].open.cmp(&os[i].open))
                    .then(os[j].count.cmp(&os[i].count))
                    .then(mine[i].name.cmp(&mine[j].name))
            });
            idx
        };
        let (rank_now, rank_prev) = (order(&now_o), order(&prev_o));
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), mine.len().min(3));
        for (pos, row) in items.iter().enumerate() {
            let i = rank_now[pos];
            assert_eq!(row["rank"], pos + 1);
            assert_eq!(
                row["zone"],
                mine[i].id.to_string(),
                "{kind} rank {}",
                pos + 1
            );
            check_row(row, &now_o[i], &mine[i].name);
            let p = &prev_o[i];
            assert_eq!(row["previous_count"].as_u64().unwrap(), u64::from(p.count));
            assert_eq!(row["previous_open"].as_u64().unwrap(), u64::from(p.open));
            assert!(close(row["previous_score"].as_f64().unwrap(), p.score));
            assert!(close(
                row["change"].as_f64().unwrap(),
                now_o[i].score - p.score
            ));
            if p.score > 0.0 {
                assert!(close(
                    row["change_ratio"].as_f64().unwrap(),
                    (now_o[i].score - p.score) / p.score
                ));
            } else {
                assert!(row["change_ratio"].is_null());
            }
            let prev_rank = rank_prev.iter().position(|&k| k == i).unwrap() + 1;
            assert_eq!(row["previous_rank"], prev_rank);
        }
    }
    // `order=count`: most problems reported first.
    let v = get_ok(
        &t,
        &format!(
            "/api/v1/heat/rankings?poi_kind=school&n=100&order=count&from={}&to={}",
            enc(&iso(from)),
            enc(&iso(to))
        ),
    )
    .await;
    let counts: Vec<u64> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts.len(), 6);
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
}

#[tokio::test]
async fn the_change_follows_the_problems_of_each_period() {
    let t = setup().await;
    let school = zone(
        ZoneKind::Surroundings,
        Some(PoiKind::School),
        "一所学校 周边 200 m",
        MultiPolygon(vec![circle(121.50, 31.28, 200.0)]),
    );
    let quiet = zone(
        ZoneKind::Surroundings,
        Some(PoiKind::School),
        "另一所学校 周边 200 m",
        MultiPolygon(vec![circle(121.52, 31.28, 200.0)]),
    );
    for z in [&school, &quiet] {
        t.state.put_zone(z.clone()).await.unwrap();
    }
    let to = ms_of("2026-03-31T23:59:59.999+08:00");
    let from = ms_of("2026-03-01T00:00:00+08:00");
    let len = to + 1 - from;
    let p = |lon: f64, status, reported_ms| Seeded {
        lon,
        lat: 31.28,
        category: "garbage",
        severity: Severity::Medium,
        status,
        reported_ms,
    };
    let mut ps = vec![
        // Previous period: 2 open problems, 10 and 3 days before its end.
        p(121.50, Status::Reported, from - 10 * DAY_MS),
        p(121.50, Status::Dispatched, from - 3 * DAY_MS),
        // This period: 4 open, 1 closed (counts, does not weigh).
        p(121.50, Status::Reported, from + DAY_MS),
        p(121.50, Status::Escalated, from + 20 * DAY_MS),
        p(121.50, Status::Recurred, to - DAY_MS),
        p(121.50, Status::Rectified, to - 2 * DAY_MS),
        p(121.50, Status::Closed, to - 2 * DAY_MS),
        // Outside both periods.
        p(121.50, Status::Reported, from - len - DAY_MS),
        p(121.50, Status::Reported, to + DAY_MS),
    ];
    // The quiet school had three problems last period (it was the worse one) and none now.
    for d in [5, 6, 7] {
        ps.push(p(121.52, Status::Reported, from - d * DAY_MS));
    }
    seed(&t, &ps).await;
    let v = get_ok(
        &t,
        &format!(
            "/api/v1/heat/rankings?poi_kind=school&from={}&to={}",
            enc("2026-03-01T00:00:00+08:00"),
            enc("2026-03-31T23:59:59.999+08:00")
        ),
    )
    .await;
    let rows = v["items"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let (a, b) = (&rows[0], &rows[1]);
    assert_eq!(a["name"], school.name.as_str());
    assert_eq!(
        (a["count"].as_u64(), a["open"].as_u64()),
        (Some(5), Some(4))
    );
    assert_eq!(
        (a["previous_count"].as_u64(), a["previous_open"].as_u64()),
        (Some(2), Some(2))
    );
    // The category's weight × medium (1) × the age factor at the end of each period.
    let cw = CategoryTable::builtin().by_code("garbage").unwrap().weight;
    let w = |days: f64| cw * (1.0 + days / 7.0).min(4.0);
    let ha = area_m2(&school.geometry) / 10_000.0;
    let now_w = w(30.0) + w(11.0) + w(1.0) + w(2.0);
    let prev_w = w(10.0) + w(3.0);
    assert!((a["weight"].as_f64().unwrap() - now_w).abs() < 1e-6, "{a}");
    assert!((a["previous_score"].as_f64().unwrap() - prev_w / ha).abs() < 1e-6);
    assert!((a["change"].as_f64().unwrap() - (now_w - prev_w) / ha).abs() < 1e-6);
    assert!(a["change"].as_f64().unwrap() > 0.0);
    assert_eq!(a["top_categories"][0]["category"], "garbage");
    assert_eq!(a["top_categories"][0]["count"], 4);
    assert_eq!(b["name"], quiet.name.as_str());
    assert_eq!(b["score"], 0.0);
    assert_eq!(
        b["previous_rank"], 1,
        "the quiet school was the worst last period"
    );
    assert!(b["change"].as_f64().unwrap() < 0.0);
    assert!(
        (b["change_ratio"].as_f64().unwrap() + 1.0).abs() < 1e-12,
        "−100 %"
    );
    assert_eq!(a["previous_rank"], 2);
    assert_eq!(v["zones"], 2);
    // n cuts the list.
    let v = get_ok(
        &t,
        &format!(
            "/api/v1/heat/rankings?poi_kind=school&n=1&from={}&to={}",
            enc("2026-03-01T00:00:00+08:00"),
            enc("2026-03-31T23:59:59.999+08:00")
        ),
    )
    .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["zones"], 2);
    // No market surroundings: an empty ranking, not an error.
    let v = get_ok(&t, "/api/v1/heat/rankings?poi_kind=market").await;
    assert_eq!(v["zones"], 0);
    assert_eq!(v["items"], Value::Array(vec![]));
}

/// Which seeded problems a cell query keeps.
type Keep = Box<dyn Fn(&Seeded) -> bool>;

/// The cells whose outline holds a point or passes within 1e-6° of it (more than one only for
/// a point on a shared edge, where rounding may send it either way).
fn cells_of(polys: &[Polygon<f64>], lon: f64, lat: f64) -> Vec<usize> {
    let p = Point::new(lon, lat);
    polys
        .iter()
        .enumerate()
        .filter(|(_, poly)| poly.intersects(&p) || Euclidean.distance(&p, poly.exterior()) < 1e-6)
        .map(|(i, _)| i)
        .collect()
}

fn outline(f: &Value) -> Polygon<f64> {
    let ring: Vec<Coord<f64>> = f["geometry"]["coordinates"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Coord {
            x: c[0].as_f64().unwrap(),
            y: c[1].as_f64().unwrap(),
        })
        .collect();
    Polygon::new(LineString(ring), vec![])
}

#[tokio::test]
async fn cells_aggregate_every_matching_problem_once() {
    let t = setup().await;
    let now = Utc::now().timestamp_millis();
    let ps = random_problems(700, 14, now);
    seed(&t, &ps).await;
    let table = CategoryTable::builtin();
    let bbox = [121.49, 31.275, 121.515, 31.293];
    let from = now - 45 * DAY_MS;
    let cases: Vec<(&str, f64, String, Keep)> = vec![
        ("hex", 200.0, String::new(), Box::new(|_: &Seeded| true)),
        ("square", 100.0, String::new(), Box::new(|_: &Seeded| true)),
        (
            "hex",
            50.0,
            "&status=open".into(),
            Box::new(|p: &Seeded| p.status.is_open()),
        ),
        (
            "square",
            500.0,
            "&category=garbage,street_vending".into(),
            Box::new(|p: &Seeded| ["garbage", "street_vending"].contains(&p.category)),
        ),
        (
            "hex",
            1000.0,
            format!("&from={}&status=closed,merged", enc(&iso(from))),
            Box::new(move |p: &Seeded| p.reported_ms >= from && !p.status.is_open()),
        ),
    ];
    for (shape, size, query, keep) in cases {
        let uri = format!(
            "/api/v1/heat/cells?shape={shape}&size_m={size}&bbox={}{query}",
            bbox.map(|x| x.to_string()).join(",")
        );
        let r = t.get_as(&uri, OFFICE_TOKEN).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
        assert_eq!(r.content_type(), "application/geo+json");
        let v = r.json();
        assert_public_safe(&v);
        assert_eq!(v["type"], "FeatureCollection");
        assert_eq!(v["shape"], shape);
        assert_eq!(v["size_m"], size);
        let features = v["features"].as_array().unwrap();
        assert_eq!(v["numberReturned"], features.len());
        let inside: Vec<&Seeded> = ps
            .iter()
            .filter(|p| {
                p.lon >= bbox[0]
                    && p.lon <= bbox[2]
                    && p.lat >= bbox[1]
                    && p.lat <= bbox[3]
                    && keep(p)
            })
            .collect();
        assert!(inside.len() > 20, "{uri}: {}", inside.len());
        let polys: Vec<Polygon<f64>> = features.iter().map(outline).collect();
        let scored_at = ms_of(v["scored_at"].as_str().unwrap());
        assert!(scored_at >= now);
        // Points that fall in exactly one cell are counted there; points on a shared edge
        // (none expected, but rounding allows it) may be in any of their cells.
        let mut counts = vec![0u32; features.len()];
        let mut weights = vec![0f64; features.len()];
        let mut edge = vec![0u32; features.len()];
        for p in &inside {
            let age = if p.status.is_open() {
                (1.0 + (scored_at - p.reported_ms) as f64 / DAY_MS as f64 / 7.0).min(4.0)
            } else {
                1.0
            };
            let w = table.by_code(p.category).unwrap().weight * p.severity.weight() * age;
            match cells_of(&polys, p.lon, p.lat).as_slice() {
                [] => panic!("{uri}: no cell holds {p:?}"),
                [i] => {
                    counts[*i] += 1;
                    weights[*i] += w;
                }
                many => many.iter().for_each(|&i| edge[i] += 1),
            }
        }
        let total: u64 = features
            .iter()
            .map(|f| f["properties"]["count"].as_u64().unwrap())
            .sum();
        assert_eq!(
            total,
            inside.len() as u64,
            "{uri}: every problem counted once"
        );
        let cell_area = if shape == "hex" {
            3f64.sqrt() / 2.0 * size * size
        } else {
            size * size
        };
        let mut max = 0f64;
        for (i, f) in features.iter().enumerate() {
            assert_eq!(f["type"], "Feature");
            assert_eq!(f["geometry"]["type"], "Polygon");
            let ring = f["geometry"]["coordinates"][0].as_array().unwrap();
            assert_eq!(ring.len(), if shape == "hex" { 7 } else { 5 });
            assert_eq!(ring.first(), ring.last(), "closed ring");
            assert!(f["id"].as_str().unwrap().starts_with(&format!("{shape}:")));
            let props = &f["properties"];
            let n = props["count"].as_u64().unwrap() as u32;
            assert!(n > 0, "only non-empty cells");
            let w = props["weight"].as_f64().unwrap();
            if edge[i] == 0 {
                assert_eq!(n, counts[i], "{uri}");
                assert!(close(w, weights[i]), "{uri}: {w} vs {}", weights[i]);
            } else {
                assert!((counts[i]..=counts[i] + edge[i]).contains(&n), "{uri}");
            }
            let score = props["score"].as_f64().unwrap();
            assert!(
                close(score, w / (cell_area / 10_000.0)),
                "score per hectare"
            );
            max = max.max(score);
        }
        assert!(close(v["max_score"].as_f64().unwrap(), max));
    }
}

#[tokio::test]
async fn cell_ids_are_stable_and_crs_converts_the_outlines() {
    let t = setup().await;
    let now = Utc::now().timestamp_millis();
    seed(&t, &random_problems(200, 15, now)).await;
    let get = |bbox: &'static str, crs: &'static str| {
        let t = &t;
        async move {
            get_ok(
                t,
                &format!("/api/v1/heat/cells?bbox={bbox}&size_m=200{crs}"),
            )
            .await
        }
    };
    let a = get("121.49,31.275,121.515,31.293", "").await;
    let b = get("121.495,31.28,121.52,31.30", "").await;
    assert_eq!(a["anchor"], serde_json::json!([0.0, 31.0]));
    let by_id = |v: &Value| -> HashMap<String, Value> {
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["id"].as_str().unwrap().to_owned(), f["geometry"].clone()))
            .collect()
    };
    let (ia, ib) = (by_id(&a), by_id(&b));
    let shared: Vec<_> = ia.keys().filter(|k| ib.contains_key(*k)).collect();
    assert!(!shared.is_empty());
    for k in shared {
        assert_eq!(ia[k], ib[k], "cell {k} is the same cell in both boxes");
    }
    // GCJ-02 output: every vertex is the WGS-84 vertex moved by the GCJ-02 offset. The box is
    // given in GCJ-02 too, so pick one that covers the same cells.
    let g = get("121.494,31.273,121.519,31.291", "&crs=gcj02").await;
    let ig = by_id(&g);
    let mut compared = 0;
    for (k, geom) in &ig {
        let Some(w) = ia.get(k) else { continue };
        for (p, q) in geom["coordinates"][0]
            .as_array()
            .unwrap()
            .iter()
            .zip(w["coordinates"][0].as_array().unwrap())
        {
            let gcj = civmap_geodata::crs::wgs84_to_gcj02([
                q[0].as_f64().unwrap(),
                q[1].as_f64().unwrap(),
            ]);
            assert!((p[0].as_f64().unwrap() - gcj[0]).abs() < 2e-7);
            assert!((p[1].as_f64().unwrap() - gcj[1]).abs() < 2e-7);
        }
        compared += 1;
    }
    assert!(compared > 0);
}

#[tokio::test]
async fn bad_parameters_are_4xx_naming_the_field() {
    let t = setup().await;
    let bbox = "bbox=121.49,31.27,121.52,31.30";
    for (uri, status, field) in [
        // Malformed: 400.
        ("/api/v1/heat/zones?from=yesterday", 400, Some("from")),
        ("/api/v1/heat/zones?to=2026-13-01", 400, Some("to")),
        ("/api/v1/heat/zones?bbox=1,2,3", 400, Some("bbox")),
        ("/api/v1/heat/zones?bbox=121,31,120,32", 400, Some("bbox")),
        ("/api/v1/heat/zones?limit=many", 400, Some("limit")),
        ("/api/v1/heat/zones?crs=utm", 400, Some("crs")),
        ("/api/v1/heat/zones?colour=red", 400, Some("colour")),
        ("/api/v1/heat/rankings", 400, Some("poi_kind")),
        (
            "/api/v1/heat/rankings?poi_kind=school&n=ten",
            400,
            Some("n"),
        ),
        ("/api/v1/heat/rankings?poi_kind=school&n=-1", 400, Some("n")),
        (
            "/api/v1/heat/rankings?poi_kind=school&n=1&n=2",
            400,
            Some("n"),
        ),
        (
            "/api/v1/heat/rankings?poi_kind=school&period=month",
            400,
            Some("period"),
        ),
        ("/api/v1/heat/cells?bbox=a,b,c,d", 400, Some("bbox")),
        ("/api/v1/heat/cells?bbox=121,31,122,95", 400, Some("bbox")),
        (
            "/api/v1/heat/cells?size_m=big&bbox=121.49,31.27,121.52,31.30",
            400,
            Some("size_m"),
        ),
        (
            "/api/v1/heat/cells?size_m=NaN&bbox=121.49,31.27,121.52,31.30",
            400,
            Some("size_m"),
        ),
        (
            "/api/v1/heat/cells?from=2026-02-30&bbox=121.49,31.27,121.52,31.30",
            400,
            Some("from"),
        ),
        (
            "/api/v1/heat/cells?status=open,,&category=garbage&bbox=1,2,3,4,5",
            400,
            Some("bbox"),
        ),
        // Readable but not allowed: 422.
        ("/api/v1/heat/zones?kind=school", 422, Some("kind")),
        ("/api/v1/heat/zones?limit=0", 422, Some("limit")),
        ("/api/v1/heat/zones?limit=5001", 422, Some("limit")),
        (
            "/api/v1/heat/zones?from=2026-03-02&to=2026-03-01",
            422,
            Some("to"),
        ),
        ("/api/v1/heat/zones?from=2999-01-01", 422, Some("from")),
        ("/api/v1/heat/zones?bbox=100,20,120,40", 422, Some("bbox")),
        ("/api/v1/heat/rankings?poi_kind=mall", 422, Some("poi_kind")),
        ("/api/v1/heat/rankings?poi_kind=school&n=0", 422, Some("n")),
        (
            "/api/v1/heat/rankings?poi_kind=school&n=101",
            422,
            Some("n"),
        ),
        (
            "/api/v1/heat/rankings?poi_kind=school&order=name",
            422,
            Some("order"),
        ),
        (
            "/api/v1/heat/rankings?poi_kind=park&from=2026-05-01&to=2026-04-01",
            422,
            Some("to"),
        ),
        ("/api/v1/heat/cells", 422, Some("bbox")),
        (
            "/api/v1/heat/cells?shape=triangle&bbox=121.49,31.27,121.52,31.30",
            422,
            Some("shape"),
        ),
        (
            "/api/v1/heat/cells?size_m=49&bbox=121.49,31.27,121.52,31.30",
            422,
            Some("size_m"),
        ),
        (
            "/api/v1/heat/cells?size_m=2001&bbox=121.49,31.27,121.52,31.30",
            422,
            Some("size_m"),
        ),
        (
            "/api/v1/heat/cells?size_m=50&bbox=121.49,31.27,121.52,31.30",
            422,
            Some("size_m"),
        ),
        (
            "/api/v1/heat/cells?category=graffiti&bbox=121.49,31.27,121.52,31.30",
            422,
            Some("category"),
        ),
        (
            "/api/v1/heat/cells?status=opened&bbox=121.49,31.27,121.52,31.30",
            422,
            Some("status"),
        ),
        (
            "/api/v1/heat/cells?from=2026-03-02&to=2026-03-01&bbox=121.49,31.27,121.52,31.30",
            422,
            Some("to"),
        ),
        ("/api/v1/heat/cells?bbox=120,30,121,31", 422, Some("bbox")),
    ] {
        let r = t.get(uri).await;
        assert_eq!(r.status.as_u16(), status, "{uri}: {}", r.text());
        assert_eq!(r.content_type(), "application/json", "{uri}");
        let (code, f) = r.error();
        assert_eq!(
            code,
            if status == 400 {
                "bad_request"
            } else {
                "invalid"
            },
            "{uri}"
        );
        assert_eq!(f.as_deref(), field, "{uri}");
    }
    // Staff may ask for 50 m cells and larger boxes; the cell cap still holds.
    let r = t
        .get_as(
            &format!("/api/v1/heat/cells?size_m=50&{bbox}"),
            OFFICE_TOKEN,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = t
        .get_as(
            "/api/v1/heat/cells?size_m=2000&bbox=120,30,121,31",
            OFFICE_TOKEN,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = t
        .get_as(
            "/api/v1/heat/cells?size_m=50&bbox=120,30,121,31",
            OFFICE_TOKEN,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error().1.as_deref(), Some("bbox"));
    // A public token is held to the public limits like an anonymous caller's role.
    let r = t
        .get_as(
            &format!("/api/v1/heat/cells?size_m=50&{bbox}"),
            PUBLIC_TOKEN,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error().1.as_deref(), Some("size_m"));
}

#[tokio::test]
async fn the_heat_routes_are_declared_in_openapi() {
    let t = setup().await;
    let doc = t.get("/api/v1/openapi.json").await.json();
    for (path, params) in [
        ("/api/v1/heat/zones", &["kind", "from", "to", "bbox"][..]),
        (
            "/api/v1/heat/rankings",
            &["poi_kind", "n", "from", "to"][..],
        ),
        (
            "/api/v1/heat/cells",
            &[
                "shape", "size_m", "bbox", "category", "status", "from", "to",
            ][..],
        ),
    ] {
        let op = &doc["paths"][path]["get"];
        assert!(op.is_object(), "{path} is declared");
        assert_eq!(op["tags"][0], "heat");
        let names: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for p in params {
            assert!(names.contains(p), "{path} declares {p}: {names:?}");
        }
        assert!(op["responses"]["422"].is_object());
    }
}

/// Keys and values thrown at the three endpoints.
const KEYS: &[&str] = &[
    "kind", "from", "to", "bbox", "limit", "crs", "poi_kind", "n", "order", "shape", "size_m",
    "category", "status", "x", "",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(
            prop_oneof![
                any::<f64>().prop_map(|v| v.to_string()),
                (-200.0..200.0f64).prop_map(|v| format!("{v:.4}")),
                Just("NaN".to_owned()),
                Just("1e309".to_owned()),
                any::<i64>().prop_map(|v| v.to_string()),
                (0u32..3000).prop_map(|v| v.to_string()),
            ],
            0..6
        )
        .prop_map(|v| v.join(",")),
        prop::sample::select(vec![
            "school",
            "park",
            "market",
            "hex",
            "square",
            "score",
            "count",
            "open",
            "garbage",
            "closed,merged",
            "surroundings",
            "grid_cell",
            "2026-11-01",
            "2026-11-01T00:00:00+08:00",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "gcj02",
            "bd09",
            "121.49,31.27,121.52,31.30",
            "-180,-90,180,90",
            "%",
            "%E5%9E%83",
            "",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,12}",
    ]
}

#[tokio::test]
async fn random_queries_never_fail_with_a_5xx() {
    let t = setup().await;
    let zones = seed_zones(&t).await;
    assert!(!zones.is_empty());
    seed(&t, &random_problems(150, 16, Utc::now().timestamp_millis())).await;
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 300,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = (
        0usize..3,
        prop::collection::vec((prop::sample::select(KEYS), value()), 0..6),
    );
    let mut cases = Vec::new();
    for _ in 0..300 {
        cases.push(strategy.new_tree(&mut runner).unwrap().current());
    }
    for (ep, pairs) in cases {
        let path = [
            "/api/v1/heat/zones",
            "/api/v1/heat/rankings",
            "/api/v1/heat/cells",
        ][ep];
        let q: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        let uri = format!("{path}?{}", q.join("&"));
        for token in ["", OFFICE_TOKEN] {
            let r = if token.is_empty() {
                t.get(&uri).await
            } else {
                t.get_as(&uri, token).await
            };
            assert!(r.status.as_u16() < 500, "{uri}: {} {}", r.status, r.text());
            if r.status.is_client_error() {
                let (code, _) = r.error();
                assert!(
                    ["bad_request", "invalid"].contains(&code.as_str()),
                    "{uri}: {code}"
                );
            } else {
                assert_public_safe(&r.json());
            }
        }
    }
}

/// Great-circle distance in metres (mean Earth radius), independent of the server's geodesy.
fn ground_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (p1, p2) = (a[1].to_radians(), b[1].to_radians());
    let (dp, dl) = (p2 - p1, (b[0] - a[0]).to_radians());
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

/// The grid is anchored by the request, not by the data: a report far away (latitude 3°) moves
/// no cell of the street, and a 500 m square is 500 m wide on the ground.
#[tokio::test]
async fn cells_are_size_m_on_the_ground_and_do_not_move_with_far_data() {
    let t = setup().await;
    let now = Utc::now().timestamp_millis();
    seed(&t, &random_problems(200, 15, now)).await;
    // Reports up to now: the far one, made later, is in the index but not counted.
    let to = enc(&civmap_app::time::rfc3339(Utc::now()));
    let uri = format!(
        "/api/v1/heat/cells?shape=square&size_m=500&bbox=121.47,31.26,121.53,31.31&to={to}"
    );
    let before = get_ok(&t, &uri).await;
    assert!(!before["features"].as_array().unwrap().is_empty());
    t.report(101.7, 3.0, "garbage").await;
    let after = get_ok(&t, &uri).await;
    for f in after["features"].as_array().unwrap() {
        let ring = f["geometry"]["coordinates"][0].as_array().unwrap();
        let pt = |i: usize| [ring[i][0].as_f64().unwrap(), ring[i][1].as_f64().unwrap()];
        let (sw, se, ne) = (pt(0), pt(1), pt(2));
        let mid = f64::midpoint(sw[1], ne[1]);
        let width = ground_m([sw[0], mid], [se[0], mid]);
        let height = ground_m(se, ne);
        assert!((width - 500.0).abs() < 5.0, "width {width} m: {f}");
        assert!((height - 500.0).abs() < 5.0, "height {height} m: {f}");
    }
    assert_eq!(before["anchor"], after["anchor"]);
    // Same ids, same outlines (scores may move in the last digits: ages are measured now).
    let cells = |v: &Value| -> Vec<(Value, Value)> {
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["id"].clone(), f["geometry"].clone()))
            .collect()
    };
    assert_eq!(cells(&before), cells(&after), "no cell moved");
}
