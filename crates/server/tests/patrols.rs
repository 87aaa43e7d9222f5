//! Patrols (巡查) over HTTP: a walk along 四平路 and 国康路 (a GPX fixture synthesised from the
//! demo's OpenStreetMap roads, `fixtures/patrol/SOURCES.md`) gives the walked length per zone
//! that shapely (in a local metric projection) and a hand computation give; the zone it never
//! reaches is listed as unvisited, at exactly `workflow.unvisited_days`; tracks are staff-only
//! for a browser session (cookie + CSRF) as much as for tokens.

#![allow(clippy::too_many_lines, clippy::missing_panics_doc)]

use crate::common;

use std::path::{Path, PathBuf};

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use civmap_app::actor::Actor;
use civmap_app::patrols::NewCheckIn;
use civmap_domain::{Role, Zone, ZoneId, ZoneKind};
use common::{
    CHIEF_TOKEN, OFFICE_TOKEN, Resp, Session, TestApp, password_session, setup, setup_with,
};
use geo::{Distance, Haversine, Point};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/patrol")
        .join(name)
}

/// One `<trkpt>`: lon, lat, time, accuracy (metres, carried in `<hdop>`).
#[derive(Debug, Clone, Copy)]
struct Fix {
    lon: f64,
    lat: f64,
    at: DateTime<Utc>,
    accuracy_m: f64,
}

/// The track points of a GPX 1.1 file.
fn read_gpx(path: &Path) -> Vec<Fix> {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(path).unwrap();
    let mut r = quick_xml::Reader::from_str(&text);
    r.config_mut().trim_text(true);
    let mut out = Vec::new();
    let mut current: Option<Fix> = None;
    let mut field = String::new();
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) if e.name().as_ref() == b"trkpt" => {
                let mut fix = Fix {
                    lon: f64::NAN,
                    lat: f64::NAN,
                    at: DateTime::<Utc>::MIN_UTC,
                    accuracy_m: 0.0,
                };
                for a in e.attributes() {
                    let a = a.unwrap();
                    let v: f64 = std::str::from_utf8(&a.value).unwrap().parse().unwrap();
                    match a.key.as_ref() {
                        b"lon" => fix.lon = v,
                        b"lat" => fix.lat = v,
                        _ => {}
                    }
                }
                current = Some(fix);
            }
            Event::Start(e) => field = String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
            Event::Text(t) => {
                if let Some(fix) = current.as_mut() {
                    let s = String::from_utf8(t.to_vec()).unwrap();
                    match field.as_str() {
                        "time" => fix.at = DateTime::parse_from_rfc3339(&s).unwrap().into(),
                        "hdop" => fix.accuracy_m = s.parse().unwrap(),
                        _ => {}
                    }
                }
            }
            Event::End(e) if e.name().as_ref() == b"trkpt" => out.push(current.take().unwrap()),
            Event::End(_) => field.clear(),
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The fixture's zones: key, the zone as stored, and its GeoJSON geometry.
fn read_zones() -> Vec<(String, Zone, Value)> {
    let fc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("zones.geojson")).unwrap()).unwrap();
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let key = f["properties"]["key"].as_str().unwrap().to_owned();
            let ring: Vec<(f64, f64)> = f["geometry"]["coordinates"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
                .collect();
            let kind = match f["properties"]["kind"].as_str().unwrap() {
                "point" => ZoneKind::Point,
                _ => ZoneKind::Road,
            };
            let zone = Zone {
                id: ZoneId::new(),
                kind,
                name: f["properties"]["name"].as_str().unwrap().to_owned(),
                poi_kind: None,
                poi: None,
                code: Some(format!("T-{key}")),
                geometry: geo_types::MultiPolygon(vec![geo_types::Polygon::new(
                    ring.into(),
                    vec![],
                )]),
                external_id: None,
            };
            (key, zone, f["geometry"].clone())
        })
        .collect()
}

fn points_json(fixes: &[Fix]) -> Value {
    Value::Array(
        fixes
            .iter()
            .map(|f| {
                json!({"lon": f.lon, "lat": f.lat, "at": f.at.to_rfc3339(), "accuracy_m": f.accuracy_m})
            })
            .collect(),
    )
}

/// The walk's length inside the band `lat0 ≤ lat ≤ lat1` computed by hand: each segment cut
/// where it crosses the band's edges (linear in degrees, as the polygon's edges are straight in
/// lon/lat), the parts inside measured with the haversine formula. The band is wide enough in
/// longitude that only its latitude edges are crossed.
fn by_hand_in_band(fixes: &[Fix], lat0: f64, lat1: f64) -> f64 {
    let mut total = 0.0;
    for w in fixes.windows(2) {
        let (a, b) = ((w[0].lon, w[0].lat), (w[1].lon, w[1].lat));
        // The segment's parameter range inside the band.
        let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
        let dy = b.1 - a.1;
        if dy.abs() < 1e-15 {
            if a.1 < lat0 || a.1 > lat1 {
                continue;
            }
        } else {
            let (ta, tb) = ((lat0 - a.1) / dy, (lat1 - a.1) / dy);
            t0 = t0.max(ta.min(tb));
            t1 = t1.min(ta.max(tb));
        }
        if t1 <= t0 {
            continue;
        }
        let at = |t: f64| Point::new(a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        total += Haversine.distance(at(t0), at(t1));
    }
    total
}

/// Patrol figures by zone key, from `/api/v1/patrol-coverage`.
fn by_key<'a>(coverage: &'a Value, zones: &[(String, Zone, Value)]) -> Vec<(String, &'a Value)> {
    zones
        .iter()
        .map(|(k, z, _)| {
            let row = coverage["zones"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["zone"] == json!(z.id.0))
                .unwrap_or_else(|| panic!("zone {k} is in the figures"));
            (k.clone(), row)
        })
        .collect()
}

#[tokio::test]
async fn a_walk_along_siping_road_gives_the_walked_length_per_zone() {
    let t = setup().await;
    // The demo's road ways, as `civmap import osm` stores them.
    let osm = civmap_geodata::osm::read_path(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/osm/tongji_siping_yangpu.osm"),
    )
    .unwrap();
    let ways = civmap_app::planning::network::road_ways(&osm);
    t.store.replace_road_ways(&ways).await.unwrap();
    let zones = read_zones();
    for (_, z, _) in &zones {
        t.state.put_zone(z.clone()).await.unwrap();
        t.state.assign(z.id, t.chief).await.unwrap();
    }

    // The walk, moved to end an hour ago (a patrol sent later may be a month old at most).
    let mut fixes = read_gpx(&fixture("siping_walk.gpx"));
    assert_eq!(fixes.len(), 248, "the fixture's fixes");
    let shift = (Utc::now() - Duration::hours(1)) - fixes.last().unwrap().at;
    for f in &mut fixes {
        f.at += shift;
    }
    let id = uuid::Uuid::now_v7();
    let r = t
        .send_json(
            Method::POST,
            "/api/v1/patrols",
            CHIEF_TOKEN,
            &json!({"id": id, "started_at": fixes[0].at.to_rfc3339(), "points": points_json(&fixes[..100])}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = t
        .send_json(
            Method::POST,
            &format!("/api/v1/patrols/{id}/track"),
            CHIEF_TOKEN,
            &json!({"points": points_json(&fixes[100..200])}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Positions that go back in time are refused, and nothing of them is stored.
    let r = t
        .send_json(
            Method::POST,
            &format!("/api/v1/patrols/{id}/track"),
            CHIEF_TOKEN,
            &json!({"points": points_json(&fixes[10..11])}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let ended_at = fixes.last().unwrap().at + Duration::seconds(5);
    let r = t
        .send_json(
            Method::POST,
            &format!("/api/v1/patrols/{id}/end"),
            CHIEF_TOKEN,
            &json!({"points": points_json(&fixes[200..]), "ended_at": ended_at.to_rfc3339()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let patrol = r.json();
    assert_eq!(patrol["track"].as_array().unwrap().len(), fixes.len());
    assert!(patrol["ended_at"].is_string());
    // An ended patrol takes nothing more.
    let r = t
        .send_json(
            Method::POST,
            &format!("/api/v1/patrols/{id}/track"),
            CHIEF_TOKEN,
            &json!({"points": points_json(&fixes[247..])}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());

    let from = (fixes[0].at - Duration::minutes(1)).to_rfc3339();
    let r = t
        .get_as(
            &format!("/api/v1/patrol-coverage?from={}", common::enc(&from)),
            OFFICE_TOKEN,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let coverage = r.json();
    assert_eq!(coverage["patrols"], 1);
    assert_eq!(coverage["unvisited_days"], 7);
    let rows = by_key(&coverage, &zones);
    let row = |k: &str| rows.iter().find(|(key, _)| key == k).unwrap().1;
    let walked = |k: &str| row(k)["walked_m"].as_f64().unwrap();
    let road = |k: &str| row(k)["road_m"].as_f64().unwrap();
    for (k, r) in &rows {
        println!(
            "zone {k}: walked {} m, road {} m, patrols {}, unvisited {}",
            r["walked_m"], r["road_m"], r["patrols"], r["unvisited"]
        );
    }

    // By hand, for the band (31.282°–31.286° N): within 0.5 m (both cut the segments at the
    // same straight edges in degrees and measure on the same sphere; the difference is the
    // overlay's rounding).
    let hand = by_hand_in_band(&fixes, 31.282, 31.286);
    println!("band by hand: {hand:.1} m");
    assert!(
        hand > 300.0,
        "the walk crosses the band along 四平路 ({hand} m)"
    );
    assert!(
        (walked("band") - hand).abs() < 0.5,
        "band: server {} m, by hand {hand:.2} m",
        walked("band")
    );
    assert!(walked("guokang") > 300.0 && walked("siping_north") > 200.0);
    assert!(walked("quiet").abs() < f64::EPSILON);
    for k in ["band", "guokang", "siping_north"] {
        assert_eq!(row(k)["patrols"], 1, "{k}");
        assert_eq!(row(k)["unvisited"], false, "{k}");
        assert!(row(k)["last_visit"].is_string(), "{k}");
    }
    // The zone the walk never reaches is listed, and comes first.
    assert_eq!(row("quiet")["unvisited"], true);
    assert_eq!(row("quiet")["patrols"], 0);
    assert_eq!(coverage["zones"][0]["zone"], json!(zones[3].1.id.0));
    assert!(road("guokang") > 400.0, "国康路 is about 495 m long");

    // With shapely, in a local metric projection: within 1 % or 2 m (the projection's scale
    // error against the haversine's sphere is under 0.1 % here; the rest is rounding).
    if common::python::module("shapely", "shapely") {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input.json");
        let zone_json: serde_json::Map<String, Value> = zones
            .iter()
            .map(|(k, _, g)| (k.clone(), g.clone()))
            .collect();
        let track: Vec<[f64; 2]> = fixes.iter().map(|f| [f.lon, f.lat]).collect();
        // A road zone's road: the ways named as the longest road name its name starts with
        // ("四平路 彰武路–国康路" → 四平路), not the footways and lanes beside it.
        let name_of = |w: &civmap_store::RoadWay| {
            w.tags
                .iter()
                .find(|(k, _)| k == "name")
                .map(|(_, v)| v.clone())
        };
        let mut lines = serde_json::Map::new();
        lines.insert("track".into(), json!([track]));
        for (k, z, _) in &zones {
            let road = ways
                .iter()
                .filter_map(name_of)
                .filter(|n| z.kind == ZoneKind::Road && z.name.starts_with(n.as_str()))
                .max_by_key(String::len);
            let parts: Vec<Vec<[f64; 2]>> = ways
                .iter()
                .filter(|w| road.is_none() || name_of(w) == road)
                .map(|w| w.nodes.iter().map(|&(_, lon, lat)| [lon, lat]).collect())
                .collect();
            lines.insert(format!("roads:{k}"), json!(parts));
        }
        std::fs::write(
            &input,
            json!({"zones": zone_json, "lines": lines}).to_string(),
        )
        .unwrap();
        let out: Value = serde_json::from_str(&common::python::run(
            "patrol_lengths.py",
            &[input.to_str().unwrap()],
        ))
        .unwrap();
        for (k, _, _) in &zones {
            let (w, s) = (walked(k), out[k]["track"].as_f64().unwrap());
            println!("zone {k}: walked {w} m, shapely {s:.1} m");
            assert!(
                (w - s).abs() <= (0.01 * s).max(2.0),
                "{k}: walked {w} vs shapely {s}"
            );
            let (r, s) = (road(k), out[k][format!("roads:{k}")].as_f64().unwrap());
            println!("zone {k}: road {r} m, shapely {s:.1} m");
            assert!(
                (r - s).abs() <= (0.01 * s).max(2.0),
                "{k}: road {r} vs shapely {s}"
            );
        }
    }

    // The weekly report carries the figures: printed and as CSV.
    let week = common::enc(&from);
    let r = t
        .get_as(
            &format!("/api/v1/assessment?from={week}&format=html"),
            OFFICE_TOKEN,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("巡查 Patrols"), "{html}");
    assert!(html.contains("赤峰路 路口点位 （7 天未巡查）"), "{html}");
    let r = t
        .get_as(
            &format!("/api/v1/assessment?from={week}&format=csv"),
            OFFICE_TOKEN,
        )
        .await;
    let csv = r.text();
    assert!(
        csv.contains("patrol_zone,zone_id,kind,code,patrols,walked_m"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("国康路,") && l.ends_with(",7,no")),
        "{csv}"
    );
}

fn office(t: &TestApp) -> Actor {
    Actor {
        user: Some(t.office),
        role: Role::StreetOffice,
        authenticated: true,
        ip: None,
        token: Some("office".into()),
    }
}

fn chief(t: &TestApp) -> Actor {
    Actor {
        user: Some(t.chief),
        role: Role::RoadChief,
        authenticated: true,
        ip: None,
        token: Some("chief".into()),
    }
}

#[tokio::test]
async fn a_zone_is_unvisited_after_exactly_the_configured_days() {
    let t = setup_with(|c| c.workflow.unvisited_days = 3).await;
    let zone = read_zones().remove(3).1;
    t.state.put_zone(zone.clone()).await.unwrap();
    t.state.assign(zone.id, t.chief).await.unwrap();
    let days = t.state.config().workflow.unvisited_days;
    assert_eq!(days, 3);
    // Nobody ever came: listed.
    let now = Utc::now();
    let listed = t
        .state
        .unvisited_zones(&office(&t), now, days)
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|z| z.zone).collect::<Vec<_>>(), [zone.id]);
    // Checked clean two days ago, without a patrol (from a point code).
    let at = civmap_app::time::truncate_ms(now - Duration::days(2));
    t.state
        .check_in(
            &chief(&t),
            NewCheckIn {
                zone: zone.id,
                at: Some(at),
                ..NewCheckIn::default()
            },
        )
        .await
        .unwrap();
    let n = Duration::days(i64::from(days));
    for (when, unvisited) in [
        (now, false),
        // Exactly N days after the visit: still visited (the boundary is included).
        (at + n, false),
        // One millisecond later: unvisited.
        (at + n + Duration::milliseconds(1), true),
    ] {
        let listed = t
            .state
            .unvisited_zones(&office(&t), when, days)
            .await
            .unwrap();
        assert_eq!(
            listed.iter().any(|z| z.zone == zone.id),
            unvisited,
            "at visit + {} ms",
            (when - at).num_milliseconds()
        );
    }
    // Over HTTP with the configured days, and the check counted in this week's figures.
    let r = t.get_as("/api/v1/patrol-coverage", OFFICE_TOKEN).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let c = r.json();
    assert_eq!(c["unvisited_days"], 3);
    let row = &c["zones"][0];
    assert_eq!(row["unvisited"], false);
    assert_eq!(row["last_visit"], json!(civmap_app::time::rfc3339(at)));
    // A chief may not check a zone that is not its own: the same 404 as an unknown zone.
    let other = read_zones().remove(0).1;
    t.state.put_zone(other.clone()).await.unwrap();
    let r = t
        .send_json(
            Method::POST,
            "/api/v1/check-ins",
            CHIEF_TOKEN,
            &json!({"zone": other.id.0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
}

async fn as_session(
    t: &TestApp,
    s: &Session,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> Resp {
    let mut headers = vec![("cookie", s.cookie.as_str())];
    if method != Method::GET {
        headers.push(("x-csrf-token", s.csrf.as_str()));
        headers.push(("content-type", "application/json"));
    }
    t.call(
        method,
        uri,
        &headers,
        body.map(|b| b.to_string()).unwrap_or_default(),
    )
    .await
}

#[tokio::test]
async fn patrol_tracks_are_staff_only_for_browser_sessions() {
    let t = setup().await;
    let pw = "correct horse battery";
    let (_, luzhang) = password_session(&t, "luzhang", "路长 李", Role::RoadChief, pw).await;
    let (_, other) = password_session(&t, "luzhang2", "路长 王", Role::RoadChief, pw).await;
    let (_, grid) = password_session(&t, "wanggeyuan", "网格员 张", Role::Reporter, pw).await;
    let (_, citizen) = password_session(&t, "citizen", "居民", Role::Public, pw).await;
    let (_, office) = password_session(&t, "jiedao", "街道 赵", Role::StreetOffice, pw).await;

    let now = Utc::now();
    let fix = json!([{"lon": 121.5012, "lat": 31.2830, "at": now.to_rfc3339(), "accuracy_m": 6.0}]);
    let r = as_session(
        &t,
        &luzhang,
        Method::POST,
        "/api/v1/patrols",
        Some(json!({"points": fix})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    // Without the CSRF header the page's cookie alone writes nothing.
    let r = t
        .call(
            Method::POST,
            "/api/v1/patrols",
            &[
                ("cookie", luzhang.cookie.as_str()),
                ("content-type", "application/json"),
            ],
            "{}".to_owned(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());

    let one = format!("/api/v1/patrols/{id}");
    // The chief reads its own; the street office reads it; another chief gets what an unknown
    // id gets; grid workers and the public are refused; nobody signed in must sign in.
    let r = as_session(&t, &luzhang, Method::GET, &one, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["track"].as_array().unwrap().len(), 1);
    let r = as_session(&t, &office, Method::GET, &one, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["chief_name"], "路长 李");
    let r = as_session(&t, &office, Method::GET, "/api/v1/patrols", None).await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let r = as_session(&t, &other, Method::GET, &one, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let r = as_session(&t, &other, Method::GET, "/api/v1/patrols", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json().as_array().unwrap().len(),
        0,
        "another chief lists none"
    );
    for s in [&grid, &citizen] {
        for uri in [one.as_str(), "/api/v1/patrols", "/api/v1/patrol-coverage"] {
            let r = as_session(&t, s, Method::GET, uri, None).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}: {}", r.text());
            assert!(!r.text().contains("121.5012"), "no position leaks");
        }
        let r = as_session(&t, s, Method::POST, "/api/v1/patrols", Some(json!({}))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        let r = as_session(&t, s, Method::POST, &format!("{one}/end"), Some(json!({}))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    }
    for uri in [one.as_str(), "/api/v1/patrols", "/api/v1/patrol-coverage"] {
        let r = t.get(uri).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}: {}", r.text());
    }
    // Another chief cannot end it either.
    let r = as_session(
        &t,
        &other,
        Method::POST,
        &format!("{one}/end"),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let r = as_session(
        &t,
        &luzhang,
        Method::POST,
        &format!("{one}/end"),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}
