//! Coordinates in China: `crs=gcj02|bd09` on input is stored as WGS-84, and `crs=gcj02` on
//! output gives back what was sent, within 1 m.
#![allow(clippy::unwrap_used, clippy::float_cmp)]

use crate::common;

use axum::http::{Method, StatusCode};
use civmap_geodata::crs::{Crs, wgs84_to_gcj02};
use common::{OFFICE_TOKEN, setup};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// Metres between two lon/lat positions (haversine, mean Earth radius).
fn metres(a: [f64; 2], b: [f64; 2]) -> f64 {
    let r = 6_371_008.8_f64;
    let (p1, p2) = (a[1].to_radians(), b[1].to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((b[0] - a[0]).to_radians() / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

fn coords(f: &Value) -> [f64; 2] {
    let c = &f["geometry"]["coordinates"];
    [c[0].as_f64().unwrap(), c[1].as_f64().unwrap()]
}

#[tokio::test]
async fn gcj02_and_bd09_input_is_stored_as_wgs84_and_round_trips() {
    let t = setup().await;
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    for crs in [Crs::Gcj02, Crs::Bd09] {
        for _ in 0..20 {
            // Anywhere in the Shanghai, Jinan and Liaoyuan areas of the seeds.
            let wgs = [rng.random_range(116.9..125.2), rng.random_range(30.9..43.0)];
            let sent = crs.from_wgs84(wgs);
            let r = t
                .send_json(
                    Method::POST,
                    &format!("/api/v1/problems?crs={}", crs.as_str()),
                    OFFICE_TOKEN,
                    &json!({"lon": sent[0], "lat": sent[1], "category": "garbage"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
            let f = r.json();
            assert!(
                metres(coords(&f), sent) < 1.0,
                "the response is in the CRS asked for"
            );
            assert_eq!(f["properties"]["crs"], crs.as_str());
            let id: civmap_domain::ProblemId = f["id"].as_str().unwrap().parse().unwrap();
            let stored = t.store.get_problem(id).await.unwrap().unwrap();
            assert!(
                metres(stored.location.to_array(), wgs) < 0.01,
                "stored as WGS-84: {:?} vs {wgs:?}",
                stored.location
            );
            // Plain GET: WGS-84; GET with crs: what was sent.
            let plain = t.get(&format!("/api/v1/problems/{id}")).await.json();
            assert!(metres(coords(&plain), wgs) < 0.01);
            let back = t
                .get(&format!("/api/v1/problems/{id}?crs={}", crs.as_str()))
                .await
                .json();
            assert!(metres(coords(&back), sent) < 1.0);
        }
    }
}

/// googollee/eviltransform `go/transform_test.go` pairs (WGS-84 -> GCJ-02; lat, lon there,
/// lon, lat here): Shanghai, Shenzhen, Beijing.
const EVILTRANSFORM: [([f64; 2], [f64; 2]); 3] = [
    (
        [121.527_210_6, 31.177_427_6],
        [121.531_541_859_215, 31.175_303_983_645_97],
    ),
    (
        [113.912_316, 22.543_847],
        [113.917_176_480_836_3, 22.540_796_131_694_766],
    ),
    (
        [116.377_817, 39.911_954],
        [116.384_047_224_556_57, 39.913_345_455_360_69],
    ),
];

#[tokio::test]
async fn published_reference_points_are_converted_on_input_and_output() {
    let t = setup().await;
    for (wgs, gcj) in EVILTRANSFORM {
        let r = t
            .send_json(
                Method::POST,
                "/api/v1/problems?crs=gcj02",
                OFFICE_TOKEN,
                &json!({"lon": gcj[0], "lat": gcj[1], "category": "garbage"}),
            )
            .await;
        let id = r.json()["id"].as_str().unwrap().to_owned();
        let plain = t.get(&format!("/api/v1/problems/{id}")).await.json();
        assert!(
            metres(coords(&plain), wgs) < 0.05,
            "{:?} vs {wgs:?}",
            coords(&plain)
        );
        let f = t.report(wgs[0], wgs[1], "garbage").await;
        let out = t
            .get(&format!(
                "/api/v1/problems/{}?crs=gcj02",
                f["id"].as_str().unwrap()
            ))
            .await
            .json();
        assert!(
            metres(coords(&out), gcj) < 0.05,
            "{:?} vs {gcj:?}",
            coords(&out)
        );
    }
}

#[tokio::test]
async fn filters_and_other_apis_take_crs_too() {
    let t = setup().await;
    let wgs = [121.4971, 31.2854];
    let f = t.report(wgs[0], wgs[1], "garbage").await;
    let id = f["id"].as_str().unwrap();
    let gcj = wgs84_to_gcj02(wgs);
    // A tight GCJ-02 box around the GCJ-02 position finds it; the same numbers as WGS-84 do not.
    let b = format!(
        "{},{},{},{}",
        gcj[0] - 0.0001,
        gcj[1] - 0.0001,
        gcj[0] + 0.0001,
        gcj[1] + 0.0001
    );
    let hit = t
        .get(&format!("/api/v1/problems?bbox={b}&crs=gcj02"))
        .await
        .json();
    assert_eq!(hit["features"][0]["id"], id);
    assert!(metres(coords(&hit["features"][0]), gcj) < 1.0);
    let miss = t.get(&format!("/api/v1/problems?bbox={b}")).await.json();
    assert_eq!(miss["numberReturned"], 0);
    let r = t
        .get(&format!(
            "/api/v1/problems?radius={},{},20&crs=gcj02",
            gcj[0], gcj[1]
        ))
        .await
        .json();
    assert_eq!(r["numberReturned"], 1);
    // Open311: lat/long in GCJ-02 on POST, WGS-84 by default on GET, as the specification says.
    let form = format!(
        "service_code=garbage&lat={}&long={}&crs=gcj02",
        gcj[1], gcj[0]
    );
    let r = t
        .call(
            Method::POST,
            "/open311/v2/requests.json",
            &[("content-type", "application/x-www-form-urlencoded")],
            form,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let oid = r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = t
        .get(&format!("/open311/v2/requests/{oid}.json"))
        .await
        .json();
    let got = [
        one[0]["long"].as_f64().unwrap(),
        one[0]["lat"].as_f64().unwrap(),
    ];
    assert!(metres(got, wgs) < 0.01, "{got:?}");
    // Zones drawn on a GCJ-02 map are stored in WGS-84.
    let ring: Vec<[f64; 2]> = [
        [121.49, 31.28],
        [121.50, 31.28],
        [121.50, 31.29],
        [121.49, 31.29],
        [121.49, 31.28],
    ]
    .into_iter()
    .map(wgs84_to_gcj02)
    .collect();
    let zone = json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": {"kind": "area", "name": "片区"}});
    let r = t
        .send_json(Method::POST, "/api/v1/zones?crs=gcj02", OFFICE_TOKEN, &zone)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let zid = r.json()["id"].as_str().unwrap().to_owned();
    let z = t.get(&format!("/api/v1/zones/{zid}")).await.json();
    let first = &z["geometry"]["coordinates"][0][0];
    assert!(
        metres(
            [first[0].as_f64().unwrap(), first[1].as_f64().unwrap()],
            [121.49, 31.28]
        ) < 0.01
    );
}
