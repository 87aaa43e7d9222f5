//! `/tiles`: served tiles decoded with the independent `mvt-reader` decoder and compared with
//! what went in (projected here with the OpenStreetMap wiki's formulas, clustered here by
//! brute force); privacy of public tiles; `ETag`, 304 and gzip; `TileJSON` and the style; bad
//! input; the basemap kept in the store across a restart.
#![allow(clippy::too_many_lines, clippy::unwrap_used, clippy::float_cmp)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read as _;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use civmap_app::App as AppState;
use civmap_app::tiles::basemap::basemap_from_osm;
use civmap_domain::CategoryTable;
use civmap_store::BasemapFeature;
use common::{OFFICE_TOKEN, Resp, TestApp, setup};
use geo::{Coord, Geometry, LineString, Point, Polygon, coord};
use mvt_reader::feature::Value as R;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// The Tongji/Siping area.
const LON: f64 = 121.5012;
const LAT: f64 = 31.2834;
/// Marker in every description: it must never appear in a tile.
const SECRET: &str = "楼道里的私人描述-secret-7f3a";

/// A decoded feature: geometry in tile units, id, properties.
#[derive(Debug, Clone)]
struct Feat {
    geometry: Geometry<f32>,
    id: Option<u64>,
    props: HashMap<String, R>,
}

impl Feat {
    fn str(&self, k: &str) -> Option<&str> {
        match self.props.get(k) {
            Some(R::String(s)) => Some(s),
            _ => None,
        }
    }

    fn uint(&self, k: &str) -> Option<u64> {
        match self.props.get(k) {
            Some(R::UInt(v)) => Some(*v),
            Some(R::Int(v) | R::SInt(v)) => u64::try_from(*v).ok(),
            _ => None,
        }
    }

    fn point(&self) -> Coord<f64> {
        // mvt-reader may give a point feature as a one-point multipoint.
        match &self.geometry {
            Geometry::Point(p) => coord! { x: f64::from(p.x()), y: f64::from(p.y()) },
            Geometry::MultiPoint(m) if m.0.len() == 1 => {
                coord! { x: f64::from(m.0[0].x()), y: f64::from(m.0[0].y()) }
            }
            other => panic!("not a point: {other:?}"),
        }
    }
}

/// Every layer of a tile by name, decoded by `mvt-reader`.
fn decode(bytes: &[u8]) -> BTreeMap<String, Vec<Feat>> {
    let reader = mvt_reader::Reader::new(bytes.to_vec()).unwrap();
    let names = reader.get_layer_names().unwrap();
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let feats = reader
                .get_features(i)
                .unwrap()
                .into_iter()
                .map(|f| Feat {
                    geometry: f.geometry,
                    id: f.id,
                    props: f.properties.unwrap_or_default(),
                })
                .collect();
            (n.clone(), feats)
        })
        .collect()
}

/// The tile containing a point, from the wiki's formulas.
fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let lat_r = lat.to_radians();
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x.floor() as u32, y.floor() as u32)
}

/// The centre of tile (z, x, y) in lon/lat, from the wiki's formulas.
fn centre_of(z: u8, x: u32, y: u32) -> (f64, f64) {
    let n = f64::from(1u32 << z);
    let lon = (f64::from(x) + 0.5) / n * 360.0 - 180.0;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * (f64::from(y) + 0.5) / n))
        .sinh()
        .atan()
        .to_degrees();
    (lon, lat)
}

/// lon/lat → tile units of tile (z, x, y), from the wiki's formulas.
fn project(z: u8, tx: u32, ty: u32, lon: f64, lat: f64) -> Coord<f64> {
    let n = f64::from(1u32 << z);
    let lat_r = lat.to_radians();
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    coord! { x: (x - f64::from(tx)) * 4096.0, y: (y - f64::from(ty)) * 4096.0 }
}

async fn get_tile(t: &TestApp, uri: &str, headers: &[(&str, &str)]) -> Resp {
    t.call(Method::GET, uri, headers, Body::empty()).await
}

/// A problem as reported, and what a tile should show of it.
#[derive(Debug, Clone)]
struct Reported {
    id: String,
    lon: f64,
    lat: f64,
    category: String,
    status: String,
    severity: u64,
}

const CATEGORIES: [&str; 5] = [
    "garbage",
    "illegal_parking",
    "stairwell_clutter",
    "flying_wire_charging",
    "street_vending",
];
const SEVERITIES: [(&str, u64); 4] = [("low", 1), ("medium", 2), ("high", 3), ("critical", 4)];

/// Reports `n` problems within ~1 km of the Tongji area (seeded), two in five of an indoor
/// category, each with the secret in its description.
async fn report_many(t: &TestApp, n: usize, seed: u64) -> Vec<Reported> {
    report_around(t, n, seed, (LON, LAT), (0.012, 0.010)).await
}

/// Reports `n` problems within `spread` degrees of `centre` (seeded).
async fn report_around(
    t: &TestApp,
    n: usize,
    seed: u64,
    centre: (f64, f64),
    spread: (f64, f64),
) -> Vec<Reported> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for _ in 0..n {
        let lon = centre.0 + rng.random_range(-spread.0..spread.0);
        let lat = centre.1 + rng.random_range(-spread.1..spread.1);
        let category = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
        let (sev, sev_n) = SEVERITIES[rng.random_range(0..SEVERITIES.len())];
        let r = t
            .send_json(
                Method::POST,
                "/api/v1/problems",
                OFFICE_TOKEN,
                &json!({"lon": lon, "lat": lat, "category": category, "severity": sev,
                        "description": format!("{SECRET} {lon}")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        out.push(Reported {
            id: r.json()["id"].as_str().unwrap().to_owned(),
            lon,
            lat,
            category: category.to_owned(),
            status: "reported".to_owned(),
            severity: sev_n,
        });
    }
    out
}

fn indoor(category: &str) -> bool {
    CategoryTable::builtin()
        .by_code(category)
        .is_some_and(|c| c.indoor)
}

/// Where a public tile shows a problem.
fn shown(p: &Reported) -> (f64, f64) {
    if indoor(&p.category) {
        let [x, y] = civmap_app::privacy::generalise_position([p.lon, p.lat]);
        (x, y)
    } else {
        (p.lon, p.lat)
    }
}

async fn merge(t: &TestApp, id: &str, into: &str) {
    let r = t
        .step(
            id,
            "merge",
            OFFICE_TOKEN,
            &json!({"version": 1, "into": into}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

/// What a tile should show of `reported` in tile (z, x, y): each problem inside the tile and
/// its 64-unit buffer, at its shown position in tile units.
fn expected_in(z: u8, x: u32, y: u32, reported: &[Reported]) -> Vec<(&Reported, Coord<f64>)> {
    reported
        .iter()
        .filter_map(|p| {
            let (lon, lat) = shown(p);
            let c = project(z, x, y, lon, lat);
            let inside = (-64.0..=4160.0).contains(&c.x) && (-64.0..=4160.0).contains(&c.y);
            inside.then_some((p, c))
        })
        .collect()
}

#[tokio::test]
async fn problem_points_decode_to_the_problems_that_went_in() {
    let t = setup().await;
    // Around the centre of one z16 tile, a little wider than it.
    let (x16, y16) = tile_of(LON, LAT, 16);
    let centre = centre_of(16, x16, y16);
    let mut reported = report_around(&t, 80, 1, centre, (0.004, 0.0035)).await;
    // One duplicate merged away: tiles leave it out.
    let merged = reported.pop().unwrap();
    merge(&t, &merged.id, &reported[0].id).await;

    // z16: every problem with its id, fields and position.
    let r = get_tile(&t, &format!("/tiles/problems/16/{x16}/{y16}.mvt"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.content_type(), "application/vnd.mapbox-vector-tile");
    let layers = decode(&r.body);
    assert_eq!(layers.keys().collect::<Vec<_>>(), ["problems"]);
    let feats = &layers["problems"];
    let expected: BTreeMap<&str, (&Reported, Coord<f64>)> = expected_in(16, x16, y16, &reported)
        .into_iter()
        .map(|(p, c)| (p.id.as_str(), (p, c)))
        .collect();
    assert!(expected.len() > 20, "the test area should fill the tile");
    let got: BTreeMap<&str, &Feat> = feats.iter().map(|f| (f.str("id").unwrap(), f)).collect();
    assert_eq!(got.len(), feats.len(), "one feature per problem");
    assert_eq!(
        got.keys().collect::<BTreeSet<_>>(),
        expected.keys().collect::<BTreeSet<_>>()
    );
    assert!(!got.contains_key(merged.id.as_str()));
    for (id, (p, c)) in &expected {
        let f = got[id];
        assert_eq!(f.str("category"), Some(p.category.as_str()), "{id}");
        assert_eq!(f.str("status"), Some(p.status.as_str()), "{id}");
        assert_eq!(f.uint("severity"), Some(p.severity), "{id}");
        assert!(f.id.is_some(), "{id}");
        let q = f.point();
        assert!(
            (q.x - c.x).abs() <= 0.5 && (q.y - c.y).abs() <= 0.5,
            "{id}: {q:?} vs {c:?}"
        );
        // Public fields only.
        let keys: BTreeSet<&str> = f.props.keys().map(String::as_str).collect();
        assert!(
            keys.is_subset(&BTreeSet::from(["id", "category", "status", "severity"])),
            "{keys:?}"
        );
    }
    // Indoor problems are not where they were reported (to the unit), but in their 50 m cell.
    let moved = expected
        .values()
        .filter(|(p, _)| indoor(&p.category))
        .filter(|(p, c)| {
            let exact = project(16, x16, y16, p.lon, p.lat);
            (exact.x - c.x).abs() > 0.5 || (exact.y - c.y).abs() > 0.5
        })
        .count();
    assert!(moved > 0, "indoor problems are generalised");
    // No description and no personal data anywhere in the bytes.
    let text = String::from_utf8_lossy(&r.body);
    assert!(!text.contains("secret-7f3a"));
    assert!(!text.contains(&t.office.to_string()), "no reporter id");

    // z14: the same problems, without ids: matched by fields and position.
    let (x14, y14) = tile_of(centre.0, centre.1, 14);
    let r = get_tile(&t, &format!("/tiles/problems/14/{x14}/{y14}.mvt"), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let mut left: Vec<Feat> = decode(&r.body)["problems"].clone();
    let expected = expected_in(14, x14, y14, &reported);
    assert_eq!(left.len(), expected.len());
    for (p, c) in &expected {
        let i = left
            .iter()
            .position(|f| {
                let q = f.point();
                f.str("category") == Some(p.category.as_str())
                    && f.str("status") == Some(p.status.as_str())
                    && f.uint("severity") == Some(p.severity)
                    && (q.x - c.x).abs() <= 0.5
                    && (q.y - c.y).abs() <= 0.5
            })
            .unwrap_or_else(|| panic!("{} is not in the z14 tile", p.id));
        let f = left.swap_remove(i);
        assert!(f.id.is_none() && !f.props.contains_key("id"));
        assert_eq!(f.props.len(), 3);
    }
    assert!(!String::from_utf8_lossy(&r.body).contains("secret-7f3a"));
}

#[tokio::test]
async fn low_zoom_clusters_and_heat_count_every_problem() {
    let t = setup().await;
    let mut reported = report_many(&t, 60, 2).await;
    let merged = reported.pop().unwrap();
    merge(&t, &merged.id, &reported[1].id).await;
    // One rectified, so not every problem is open... (rectified is still open; close one
    // through dispatch -> rectify -> verify is longer than needed: use the merged one's absence
    // and check `open` against statuses instead).

    // Clusters at z12, checked against a brute-force count of the 256-unit cells, over the
    // 3 x 3 tiles around the area (the problems may straddle a tile edge).
    let z = 12;
    let (cx, cy) = tile_of(LON, LAT, z);
    let mut total = 0;
    for tx in cx - 1..=cx + 1 {
        for ty in cy - 1..=cy + 1 {
            let mut oracle: BTreeMap<u64, (u64, BTreeMap<String, u64>)> = BTreeMap::new();
            for p in &reported {
                let (lon, lat) = shown(p);
                let c = project(z, tx, ty, lon, lat);
                if !(0.0..4096.0).contains(&c.x) || !(0.0..4096.0).contains(&c.y) {
                    continue;
                }
                let gx = u64::from(tx) * 16 + (c.x / 256.0).floor() as u64;
                let gy = u64::from(ty) * 16 + (c.y / 256.0).floor() as u64;
                let e = oracle.entry(gy * (16u64 << z) + gx).or_default();
                e.0 += 1;
                *e.1.entry(p.category.clone()).or_default() += 1;
            }
            let r = get_tile(&t, &format!("/tiles/problems/{z}/{tx}/{ty}.mvt"), &[]).await;
            if oracle.is_empty() {
                assert_eq!(r.status, StatusCode::NO_CONTENT);
                continue;
            }
            assert_eq!(r.status, StatusCode::OK);
            let clusters = &decode(&r.body)["problems"];
            assert_eq!(clusters.len(), oracle.len());
            for f in clusters {
                let (n, cats) = &oracle[&f.id.unwrap()];
                assert_eq!(f.uint("count"), Some(*n));
                let top = cats.values().max().unwrap();
                assert_eq!(f.uint("top_count"), Some(*top));
                assert_eq!(cats.get(f.str("top_category").unwrap()), Some(top));
                assert!(f.str("id").is_none() && f.str("status").is_none());
                total += n;
            }
        }
    }
    assert_eq!(
        total,
        reported.len() as u64,
        "every problem but the merged one"
    );

    // Heat at z14: the cells count the same problems.
    let z = 14;
    let mut counted = 0;
    let mut cells = 0;
    let (cx, cy) = tile_of(LON, LAT, z);
    for dx in -1i64..=1 {
        for dy in -1i64..=1 {
            let (x, y) = ((i64::from(cx) + dx) as u32, (i64::from(cy) + dy) as u32);
            let r = get_tile(&t, &format!("/tiles/heat/{z}/{x}/{y}.mvt"), &[]).await;
            if r.status == StatusCode::NO_CONTENT {
                continue;
            }
            assert_eq!(r.status, StatusCode::OK);
            for f in &decode(&r.body)["heat"] {
                assert!(matches!(
                    f.geometry,
                    Geometry::Polygon(_) | Geometry::MultiPolygon(_)
                ));
                let n = f.uint("count").unwrap();
                assert_eq!(f.uint("open"), Some(n), "all reported problems are open");
                counted += n;
                cells += 1;
            }
        }
    }
    let near = reported
        .iter()
        .filter(|p| {
            let (lon, lat) = shown(p);
            let (x, y) = tile_of(lon, lat, z);
            x.abs_diff(cx) <= 1 && y.abs_diff(cy) <= 1
        })
        .count() as u64;
    assert_eq!(counted, near);
    assert!(cells > 1);
}

#[tokio::test]
async fn etag_changes_after_a_write_and_matches_give_304() {
    let t = setup().await;
    report_many(&t, 10, 3).await;
    let z = 14;
    let (tx, ty) = tile_of(LON, LAT, z);
    let uri = format!("/tiles/problems/{z}/{tx}/{ty}.mvt");
    let a = get_tile(&t, &uri, &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    let etag = a.headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    assert_eq!(a.headers["cache-control"], "public, no-cache");
    assert_eq!(a.headers["vary"], "Accept-Encoding");
    // The same content again: the same tag, from the cache (no encoding time reported).
    let b = get_tile(&t, &uri, &[]).await;
    assert_eq!(b.headers["etag"].to_str().unwrap(), etag);
    assert_eq!(a.body, b.body);
    assert!(
        b.headers.get("server-timing").is_none(),
        "served from the cache"
    );
    // Asked not to use a cache: encoded again, same bytes.
    let c = get_tile(&t, &uri, &[("cache-control", "no-cache")]).await;
    assert!(c.headers.get("server-timing").is_some());
    assert_eq!(c.body, a.body);
    // Revalidation.
    let r = get_tile(&t, &uri, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.body.is_empty());
    let r = get_tile(&t, &uri, &[("if-none-match", "\"0000000000000000\"")]).await;
    assert_eq!(r.status, StatusCode::OK);

    // A write inside the tile changes the tile and its tag.
    t.report(LON, LAT, "garbage").await;
    let r = get_tile(&t, &uri, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status, StatusCode::OK);
    let etag2 = r.headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(etag2, etag);
    assert_eq!(
        decode(&r.body)["problems"].len(),
        decode(&a.body)["problems"].len() + 1
    );
    // The low-zoom clusters follow the write as well.
    let (x10, y10) = tile_of(LON, LAT, 10);
    let uri10 = format!("/tiles/problems/10/{x10}/{y10}.mvt");
    let before: u64 = decode(&get_tile(&t, &uri10, &[]).await.body)["problems"]
        .iter()
        .map(|f| f.uint("count").unwrap())
        .sum();
    t.report(LON + 0.001, LAT, "garbage").await;
    let after: u64 = decode(&get_tile(&t, &uri10, &[]).await.body)["problems"]
        .iter()
        .map(|f| f.uint("count").unwrap())
        .sum();
    assert_eq!(after, before + 1);
    // A status change moves the heat cell's open count.
    let heat_uri = format!("/tiles/heat/{z}/{tx}/{ty}.mvt");
    let open = |r: &Resp| -> u64 {
        decode(&r.body)["heat"]
            .iter()
            .map(|f| f.uint("open").unwrap())
            .sum()
    };
    let h1 = get_tile(&t, &heat_uri, &[]).await;
    let f = t.report(LON + 0.0005, LAT + 0.0005, "garbage").await;
    let id = f["id"].as_str().unwrap();
    let h2 = get_tile(&t, &heat_uri, &[]).await;
    assert_eq!(open(&h2), open(&h1) + 1);
    let other = t.report(LON + 0.0006, LAT + 0.0005, "garbage").await;
    merge(&t, id, other["id"].as_str().unwrap()).await;
    let h3 = get_tile(&t, &heat_uri, &[]).await;
    assert_eq!(open(&h3), open(&h2), "merged away one, reported one");
}

#[tokio::test]
async fn gzip_when_accepted() {
    let t = setup().await;
    report_many(&t, 30, 4).await;
    let (tx, ty) = tile_of(LON, LAT, 14);
    let uri = format!("/tiles/problems/14/{tx}/{ty}.mvt");
    let plain = get_tile(&t, &uri, &[]).await;
    assert!(plain.headers.get("content-encoding").is_none());
    let gz = get_tile(&t, &uri, &[("accept-encoding", "br, gzip;q=0.9")]).await;
    assert_eq!(gz.status, StatusCode::OK);
    assert_eq!(gz.headers["content-encoding"], "gzip");
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz.body.as_slice())
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, plain.body);
    let (e1, e2) = (&plain.headers["etag"], &gz.headers["etag"]);
    assert_ne!(e1, e2, "each representation has its own tag");
    // Either tag revalidates.
    for e in [e1, e2] {
        let r = get_tile(
            &t,
            &uri,
            &[
                ("if-none-match", e.to_str().unwrap()),
                ("accept-encoding", "gzip"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    }
    // Refused gzip gives the plain bytes.
    let r = get_tile(&t, &uri, &[("accept-encoding", "gzip;q=0")]).await;
    assert!(r.headers.get("content-encoding").is_none());
    assert_eq!(r.body, plain.body);
}

/// The tile cache keeps the form the first client took (gzip for browsers) and answers hits
/// with the kept bytes: no `Server-Timing` (nothing was encoded or compressed), the same bytes
/// every time, `Content-Encoding: gzip` exactly for clients that take it.
#[tokio::test]
async fn cache_hits_serve_identical_bytes_to_gzip_and_identity_clients() {
    let t = setup().await;
    report_many(&t, 30, 4).await;
    let unzip = |b: &[u8]| {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(b)
            .read_to_end(&mut out)
            .unwrap();
        out
    };
    let (tx, ty) = tile_of(LON, LAT, 14);
    let (tx15, ty15) = tile_of(LON, LAT, 15);
    // First asked by a gzip client, then by an identity client; and the other way round.
    for (uri, first_gzip) in [
        (format!("/tiles/problems/14/{tx}/{ty}.mvt"), true),
        (format!("/tiles/problems/15/{tx15}/{ty15}.mvt"), false),
    ] {
        let gzip: &[(&str, &str)] = &[("accept-encoding", "gzip")];
        let identity: &[(&str, &str)] = &[("accept-encoding", "identity")];
        let (a, b) = if first_gzip {
            (gzip, identity)
        } else {
            (identity, gzip)
        };
        let made = get_tile(&t, &uri, a).await;
        assert_eq!(made.status, StatusCode::OK);
        assert!(made.headers.get("server-timing").is_some(), "made now");
        for _ in 0..3 {
            let hit = get_tile(&t, &uri, a).await;
            assert!(hit.headers.get("server-timing").is_none(), "{uri}: a hit");
            assert_eq!(hit.body, made.body, "{uri}: the same bytes");
            assert_eq!(hit.headers["etag"], made.headers["etag"]);
            assert_eq!(
                hit.headers.get("content-encoding").is_some(),
                first_gzip,
                "{uri}"
            );
        }
        // The other form of the cached entry: made once from the kept one, then kept too.
        let other = get_tile(&t, &uri, b).await;
        assert!(
            other.headers.get("server-timing").is_none(),
            "not re-encoded"
        );
        let again = get_tile(&t, &uri, b).await;
        assert_eq!(again.body, other.body);
        let (zipped, plain) = if first_gzip {
            (&made, &other)
        } else {
            (&other, &made)
        };
        assert_eq!(zipped.headers["content-encoding"], "gzip");
        assert!(plain.headers.get("content-encoding").is_none());
        assert_eq!(
            plain.headers["content-type"],
            zipped.headers["content-type"]
        );
        assert_eq!(unzip(&zipped.body), plain.body);
        assert!(!decode(&plain.body)["problems"].is_empty());
    }
}

#[tokio::test]
async fn empty_tiles_are_204_and_bad_input_is_4xx_json() {
    let t = setup().await;
    report_many(&t, 5, 5).await;
    // Nothing there (the Atlantic), and a zoom below the layer's range.
    for uri in [
        "/tiles/problems/14/7000/6000.mvt",
        "/tiles/problems/3/6/3.mvt",
        "/tiles/zones/15/27500/13400.mvt",
        "/tiles/basemap/15/100/100.mvt",
        "/tiles/heat/16/0/0.mvt",
    ] {
        let r = get_tile(&t, uri, &[("accept-encoding", "gzip")]).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{uri}");
        assert!(r.body.is_empty());
        assert!(r.headers.get("etag").is_some());
        assert!(r.headers.get("content-encoding").is_none());
    }
    let cases: [(&str, StatusCode, Option<&str>); 12] = [
        ("/tiles/nope/1/0/0.mvt", StatusCode::NOT_FOUND, None),
        (
            "/tiles/problems/a/0/0.mvt",
            StatusCode::BAD_REQUEST,
            Some("z"),
        ),
        (
            "/tiles/problems/1/-1/0.mvt",
            StatusCode::BAD_REQUEST,
            Some("x"),
        ),
        (
            "/tiles/problems/1/0/0.png",
            StatusCode::BAD_REQUEST,
            Some("y"),
        ),
        ("/tiles/problems/1/0/0", StatusCode::BAD_REQUEST, Some("y")),
        (
            "/tiles/problems/1/0/1e3.mvt",
            StatusCode::BAD_REQUEST,
            Some("y"),
        ),
        (
            "/tiles/problems/1/2/0.mvt",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("x"),
        ),
        (
            "/tiles/problems/2/0/4.mvt",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("y"),
        ),
        (
            "/tiles/problems/19/0/0.mvt",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("z"),
        ),
        (
            "/tiles/problems/99999/0/0.mvt",
            StatusCode::BAD_REQUEST,
            Some("z"),
        ),
        ("/tiles/nope.json", StatusCode::NOT_FOUND, None),
        ("/tiles/problems/1/0", StatusCode::NOT_FOUND, None),
    ];
    for (uri, status, field) in cases {
        let r = get_tile(&t, uri, &[]).await;
        assert_eq!(r.status, status, "{uri}: {}", r.text());
        assert!(r.content_type().starts_with("application/json"), "{uri}");
        assert_eq!(r.error().1.as_deref(), field, "{uri}");
    }
    let r = t
        .call(
            Method::POST,
            "/tiles/problems/1/0/0.mvt",
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    r.error();
}

fn square(lon: f64, lat: f64, d: f64) -> Polygon<f64> {
    Polygon::new(
        LineString::from(vec![
            (lon - d, lat - d),
            (lon + d, lat - d),
            (lon + d, lat + d),
            (lon - d, lat + d),
            (lon - d, lat - d),
        ]),
        vec![],
    )
}

#[tokio::test]
async fn zones_tiles_carry_kind_and_name() {
    let t = setup().await;
    let gj = |p: &Polygon<f64>| {
        let ring: Vec<[f64; 2]> = p.exterior().points().map(|q| [q.x(), q.y()]).collect();
        json!({"type": "Polygon", "coordinates": [ring]})
    };
    for (name, kind, d) in [
        ("赤峰路 路段", "road", 0.002),
        ("同济附小 校门", "point", 0.0006),
    ] {
        let r = t
            .send_json(
                Method::POST,
                "/api/v1/zones",
                OFFICE_TOKEN,
                &json!({"type": "Feature", "geometry": gj(&square(LON, LAT, d)),
                        "properties": {"name": name, "kind": kind}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let (tx, ty) = tile_of(LON, LAT, 15);
    let r = get_tile(&t, &format!("/tiles/zones/15/{tx}/{ty}.mvt"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let zones = &decode(&r.body)["zones"];
    let got: BTreeSet<(&str, &str)> = zones
        .iter()
        .map(|f| (f.str("kind").unwrap(), f.str("name").unwrap()))
        .collect();
    assert_eq!(
        got,
        BTreeSet::from([("road", "赤峰路 路段"), ("point", "同济附小 校门")])
    );
    for f in zones {
        assert!(matches!(
            f.geometry,
            Geometry::Polygon(_) | Geometry::MultiPolygon(_)
        ));
    }
    // Below the layer's zoom range: empty.
    let (x, y) = tile_of(LON, LAT, 11);
    let r = get_tile(&t, &format!("/tiles/zones/11/{x}/{y}.mvt"), &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

fn feature(layer: &str, class: &str, name: Option<&str>, g: Geometry<f64>) -> BasemapFeature {
    BasemapFeature {
        layer: layer.into(),
        class: class.into(),
        name: name.map(Into::into),
        geometry: g,
        external_id: Some(format!("test:{layer}/{class}")),
    }
}

#[tokio::test]
async fn basemap_is_kept_in_the_store_and_served_after_a_restart() {
    let t = setup().await;
    // Around the centre of the z16 tile the test reads.
    let (tx, ty) = tile_of(LON, LAT, 16);
    let (lon, lat) = centre_of(16, tx, ty);
    let road = LineString::from(vec![(lon - 0.003, lat), (lon + 0.003, lat + 0.0002)]);
    let features = vec![
        feature(
            "water",
            "river",
            Some("虬江"),
            square(lon - 0.001, lat + 0.001, 0.0004).into(),
        ),
        feature(
            "green",
            "park",
            Some("和平公园"),
            square(lon + 0.001, lat - 0.001, 0.0005).into(),
        ),
        feature(
            "buildings",
            "yes",
            None,
            square(lon, lat - 0.0005, 0.0001).into(),
        ),
        feature("roads", "primary", Some("四平路"), road.clone().into()),
        feature(
            "roads",
            "path",
            None,
            LineString::from(vec![(lon, lat), (lon, lat + 0.001)]).into(),
        ),
        feature(
            "pois",
            "school",
            Some("同济大学"),
            Point::new(lon + 0.0005, lat + 0.0003).into(),
        ),
    ];
    t.store.replace_basemap(&features).await.unwrap();
    assert_eq!(t.store.load_basemap().await.unwrap(), features);
    // A server started on this database has it.
    let state = AppState::load(
        t.store.clone(),
        CategoryTable::builtin(),
        t.state.config().clone(),
    )
    .await
    .unwrap();
    let app = civmap_server::app(state);
    let req = axum::http::Request::get(format!("/tiles/basemap/16/{tx}/{ty}.mvt"))
        .body(Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(app, req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let layers = decode(&body);
    assert_eq!(
        layers.keys().map(String::as_str).collect::<Vec<_>>(),
        ["buildings", "green", "pois", "roads", "water"]
    );
    let names =
        |l: &str| -> BTreeSet<Option<&str>> { layers[l].iter().map(|f| f.str("name")).collect() };
    assert_eq!(names("roads"), BTreeSet::from([Some("四平路"), None]));
    assert_eq!(names("pois"), BTreeSet::from([Some("同济大学")]));
    assert_eq!(layers["pois"][0].str("class"), Some("school"));
    assert_eq!(names("water"), BTreeSet::from([Some("虬江")]));
    assert!(!layers["buildings"][0].props.contains_key("class"));
    // The road's ends, projected here, are where the decoded line runs (within the buffer).
    // The road, projected here and clipped to the buffer, is where the decoded line runs.
    let line = match &layers["roads"]
        .iter()
        .find(|f| f.str("name") == Some("四平路"))
        .unwrap()
        .geometry
    {
        Geometry::LineString(l) => l.clone(),
        Geometry::MultiLineString(m) if m.0.len() == 1 => m.0[0].clone(),
        other => panic!("a road is a line: {other:?}"),
    };
    for c in &line.0 {
        let (x, y) = (f64::from(c.x), f64::from(c.y));
        assert!((-64.0..=4160.0).contains(&x) && (-64.0..=4160.0).contains(&y));
        // On the projected segment (a straight line stays straight within a tile to < 1 unit).
        let a = project(16, tx, ty, road.0[0].x, road.0[0].y);
        let b = project(16, tx, ty, road.0[1].x, road.0[1].y);
        let cross = ((b.x - a.x) * (y - a.y) - (b.y - a.y) * (x - a.x)).abs();
        let len = ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt();
        assert!(cross / len <= 1.0, "{x} {y} is off the road");
    }
    // Minor classes wait for their zoom: at z12 the path and the building are gone.
    let (x12, y12) = tile_of(lon, lat, 12);
    let r = t.get(&format!("/tiles/basemap/12/{x12}/{y12}.mvt")).await;
    // The first state has not reloaded: it still has no basemap.
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    t.state.reload().await.unwrap();
    let r = t.get(&format!("/tiles/basemap/12/{x12}/{y12}.mvt")).await;
    assert_eq!(r.status, StatusCode::OK);
    let l12 = decode(&r.body);
    assert!(!l12.contains_key("buildings"));
    assert_eq!(
        l12["roads"]
            .iter()
            .map(|f| f.str("class").unwrap())
            .collect::<Vec<_>>(),
        ["primary"]
    );
    assert_eq!(r.headers["cache-control"], "public, max-age=3600");
    // A bad layer is refused and nothing is replaced.
    let bad = vec![feature(
        "roads_and_more",
        "x",
        None,
        Point::new(lon, lat).into(),
    )];
    assert!(t.store.replace_basemap(&bad).await.is_err());
    assert_eq!(t.store.load_basemap().await.unwrap().len(), features.len());
}

#[tokio::test]
async fn demo_osm_basemap_has_chinese_road_and_place_names() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/osm/tongji_siping_yangpu.osm"
    );
    let data = civmap_geodata::osm::read_path(std::path::Path::new(path)).unwrap();
    let ex = civmap_geodata::extract::extract(&data, &civmap_geodata::poi::PoiTable::builtin());
    let features = basemap_from_osm(&data, &ex);
    let t = setup().await;
    t.store.replace_basemap(&features).await.unwrap();
    t.state.reload().await.unwrap();
    // Every named road way of the extract is a `roads` feature with its name and class.
    let named_roads: BTreeSet<&str> = ex.roads.iter().map(|r| r.name.as_str()).collect();
    let in_basemap: BTreeSet<&str> = features
        .iter()
        .filter(|f| f.layer == "roads")
        .filter_map(|f| f.name.as_deref())
        .collect();
    assert!(named_roads.is_subset(&in_basemap));
    assert!(
        features
            .iter()
            .any(|f| f.layer == "roads" && f.name.is_none()),
        "unnamed roads too"
    );
    // A z16 tile over the area: road names in Chinese, named places.
    let mut road_names = BTreeSet::new();
    let mut poi_names = BTreeSet::new();
    let (cx, cy) = tile_of(LON, LAT, 15);
    for dx in 0..2 {
        for dy in 0..2 {
            let r = t
                .get(&format!("/tiles/basemap/15/{}/{}.mvt", cx + dx, cy + dy))
                .await;
            if r.status != StatusCode::OK {
                continue;
            }
            let layers = decode(&r.body);
            for f in layers.get("roads").into_iter().flatten() {
                if let Some(n) = f.str("name") {
                    road_names.insert(n.to_owned());
                }
                assert!(f.str("class").is_some());
            }
            for f in layers.get("pois").into_iter().flatten() {
                poi_names.insert(f.str("name").unwrap().to_owned());
            }
        }
    }
    let cjk = |s: &String| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    assert!(
        road_names.iter().filter(|n| cjk(n)).count() >= 3,
        "{road_names:?}"
    );
    assert!(road_names.contains("四平路"), "{road_names:?}");
    assert!(poi_names.iter().any(cjk), "{poi_names:?}");
}

/// Every string holding a URL in a JSON value, attributions left out.
fn urls<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) if s.contains("://") => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| urls(x, out)),
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| k.as_str() != "attribution")
            .for_each(|(_, x)| urls(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn tilejson_style_and_openapi() {
    let t = setup().await;
    report_many(&t, 5, 6).await;
    let host = [("host", "tiles.example:8080")];
    for layer in ["problems", "zones", "heat", "basemap"] {
        let r = get_tile(&t, &format!("/tiles/{layer}.json"), &host).await;
        assert_eq!(r.status, StatusCode::OK);
        let j = r.json();
        assert_eq!(j["tilejson"], "3.0.0");
        assert_eq!(
            j["tiles"][0],
            format!("http://tiles.example:8080/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt")
        );
        assert_eq!(j["maxzoom"], 18);
        assert_eq!(j["bounds"].as_array().unwrap().len(), 4);
        let ids: Vec<&str> = j["vector_layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap())
            .collect();
        let want: &[&str] = match layer {
            "basemap" => &["water", "green", "buildings", "roads", "pois"],
            other => &[other],
        };
        assert_eq!(ids, want);
    }
    let problems = get_tile(&t, "/tiles/problems.json", &host).await.json();
    let b = problems["bounds"].as_array().unwrap();
    let b: Vec<f64> = b.iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(b[0] <= b[2] && b[1] <= b[3] && b[0] > 121.0 && b[2] < 122.0);

    let r = get_tile(&t, "/tiles/style.json", &host).await;
    assert_eq!(r.status, StatusCode::OK);
    let style = r.json();
    assert_eq!(style["version"], 8);
    assert!(style.get("glyphs").is_none() && style.get("sprite").is_none());
    // No URL outside this server.
    let mut found = Vec::new();
    urls(&style, &mut found);
    assert!(!found.is_empty());
    assert!(
        found
            .iter()
            .all(|u| u.starts_with("http://tiles.example:8080/tiles/")),
        "{found:?}"
    );
    // Every layer draws from a declared source and a schema layer; labels use text-field.
    let sources = style["sources"].as_object().unwrap();
    let layers = style["layers"].as_array().unwrap();
    let schema: BTreeSet<&str> = civmap_tiles::schema::LAYER_SPECS
        .iter()
        .map(|s| s.id)
        .collect();
    let mut labelled = BTreeSet::new();
    for l in layers {
        if l["type"] == "background" {
            continue;
        }
        assert!(sources.contains_key(l["source"].as_str().unwrap()), "{l}");
        assert!(schema.contains(l["source-layer"].as_str().unwrap()), "{l}");
        if l["layout"].get("text-field").is_some() {
            labelled.insert(l["source-layer"].as_str().unwrap());
        }
    }
    assert!(labelled.contains("roads") && labelled.contains("pois"));

    // The routes are in the OpenAPI document: the web front end looks them up there.
    let doc = t.get("/api/v1/openapi.json").await.json();
    for p in [
        "/tiles/style.json",
        "/tiles/{layer}.json",
        "/tiles/{layer}/{z}/{x}/{y}.mvt",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} not documented");
    }
}
