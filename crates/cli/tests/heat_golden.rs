//! GOLDEN test of the demo area's three-surroundings ranking.
//!
//! Builds the demo exactly as `civmap serve --demo` does (the same `demo` module of this crate:
//! the real OSM extract of the Tongji/Siping area, its school and park surroundings zones, the
//! seeded synthetic problems with their lifecycle steps, in a fresh SQLite database), but with
//! the demo's "now" fixed at [`NOW`] so every run makes the same problems; serves it on a local
//! port and asks `GET /api/v1/heat/rankings` for each kind of surroundings over a fixed period
//! that ended long ago (so ages are measured at its end, not at the time of the run). The
//! answers, without the random zone and place ids, must equal `tests/golden/heat_rankings.json`
//! (numbers within a relative 1e-9: sums may add up in another order).
//!
//! Regenerate the golden file after an intended change (to the demo data, the zones or the heat
//! formula), then review its diff:
//!
//! ```sh
//! CIVMAP_UPDATE_GOLDEN=1 cargo test -p civmap --test heat_golden
//! ```
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

#[path = "../src/demo.rs"]
#[allow(dead_code)]
mod demo;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use civmap_app::App;
use civmap_app::config::Config;
use civmap_domain::CategoryTable;
use civmap_store::{Store, StoreOptions};
use serde_json::{Map, Value, json};

/// The demo's "now": its problems are reported over the 45 days before.
const NOW: &str = "2024-06-20T10:00:00+08:00";
/// The period ranked: June 2024 up to [`NOW`] (China Standard Time). The previous period is the
/// 19 days 10 hours before it.
const FROM: &str = "2024-06-01T00:00:00+08:00";
const TO: &str = "2024-06-20T10:00:00+08:00";

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/heat_rankings.json")
}

/// The parts of a ranking that do not depend on random ids.
fn stable(r: &Value) -> Value {
    let rows: Vec<Value> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let mut o = Map::new();
            for k in [
                "rank",
                "name",
                "external_id",
                "area_m2",
                "count",
                "open",
                "weight",
                "score",
                "previous_count",
                "previous_open",
                "previous_score",
                "previous_rank",
                "change",
                "change_ratio",
            ] {
                o.insert(k.to_owned(), row[k].clone());
            }
            let cats: Vec<Value> = row["top_categories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| json!({"category": c["category"], "count": c["count"], "weight": c["weight"]}))
                .collect();
            o.insert("top_categories".into(), Value::Array(cats));
            Value::Object(o)
        })
        .collect();
    json!({
        "period": r["period"],
        "previous": r["previous"],
        "zones": r["zones"],
        "items": rows,
    })
}

/// Equal, numbers within a relative 1e-9; the path of the first difference otherwise.
fn diff(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            ((x - y).abs() > 1e-9 * x.abs().max(y.abs()).max(1e-9))
                .then(|| format!("{path}: {x} != {y}"))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: {} items != {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (x, y))| diff(x, y, &format!("{path}[{i}]")))
        }
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() || x.keys().any(|k| !y.contains_key(k)) {
                return Some(format!("{path}: keys differ"));
            }
            x.iter()
                .find_map(|(k, v)| diff(v, &y[k], &format!("{path}.{k}")))
        }
        _ => (a != b).then(|| format!("{path}: {a} != {b}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_ranking_matches_the_golden_file() {
    let dir = std::env::temp_dir().join(format!(
        "civmap-heat-golden-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("demo.db");
    let store = Store::open(
        &format!("sqlite://{}", db.display()),
        StoreOptions {
            synchronous_full: false,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let categories = CategoryTable::builtin();
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339(NOW).unwrap().into();
    demo::load_if_empty_at(&store, &categories, now)
        .await
        .unwrap();
    // Heat is a read of the present, from memory only; the demo's problems are of 2024, so
    // memory must hold every one of them whenever the test runs (a hot window of a century).
    let mut config = Config::default();
    config.memory.hot_days = civmap_app::config::MAX_HOT_DAYS;
    let state = App::load(store, categories, config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(civmap_server::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let mut got = Map::new();
    for kind in ["school", "park", "market"] {
        let url = format!(
            "{base}/api/v1/heat/rankings?poi_kind={kind}&n=100&from={}&to={}",
            FROM.replace('+', "%2B"),
            TO.replace('+', "%2B")
        );
        let resp = reqwest::get(&url).await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{url}");
        let r: Value = resp.json().await.unwrap();
        got.insert(kind.to_owned(), stable(&r));
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let got = Value::Object(got);

    // What the demo must show at all: schools and parks ranked, somebody on top.
    let schools = got["school"]["items"].as_array().unwrap();
    assert!(!schools.is_empty(), "the demo has school surroundings");
    assert!(schools[0]["score"].as_f64().unwrap() > 0.0, "{got}");
    assert!(!got["park"]["items"].as_array().unwrap().is_empty());

    let path = golden_path();
    if std::env::var_os("CIVMAP_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with CIVMAP_UPDATE_GOLDEN=1 cargo test -p civmap --test heat_golden",
            path.display()
        )
    });
    let want: Value = serde_json::from_str(&text).unwrap();
    if let Some(d) = diff(&want, &got, "$") {
        panic!(
            "the demo's ranking differs from {} at {d}\n(if the change is intended, regenerate with CIVMAP_UPDATE_GOLDEN=1 cargo test -p civmap --test heat_golden)\ngot: {}",
            path.display(),
            serde_json::to_string_pretty(&got).unwrap()
        );
    }
}
