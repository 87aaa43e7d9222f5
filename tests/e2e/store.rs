//! End-to-end durability and operations tests against the real `civmap` binary:
//! `kill -9` in a write storm, SIGTERM, start-up errors, online backup, restore and export.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc, clippy::pedantic)]

use crate::support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use support::{Server, TempDir, civmap};

const TOKEN: &str = "e2e-street-office-token-0001";

/// A config file giving the test client a street-office API token, so writes are neither
/// anonymous nor rate limited.
fn config(dir: &TempDir) -> String {
    let path = dir.path().join("civmap.toml");
    std::fs::write(
        &path,
        format!("[[api_tokens]]\ntoken = \"{TOKEN}\"\nrole = \"street_office\"\nname = \"e2e\"\n"),
    )
    .unwrap();
    path.display().to_string()
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn report(
    c: &reqwest::blocking::Client,
    srv: &str,
    i: u64,
) -> reqwest::Result<reqwest::blocking::Response> {
    // Spread over the Tongji/Siping area.
    let lon = 121.492 + (i % 97) as f64 * 0.0001;
    let lat = 31.281 + (i % 89) as f64 * 0.0001;
    c.post(format!("{srv}/api/v1/problems"))
        .bearer_auth(TOKEN)
        .json(&json!({"lon": lon, "lat": lat, "category": "garbage", "description": format!("e2e {i}")}))
        .send()
}

#[derive(Debug, Clone)]
struct Acked {
    version: i64,
    status: String,
}

fn feature_state(v: &Value) -> (String, Acked) {
    (
        v["id"].as_str().unwrap().to_owned(),
        Acked {
            version: v["properties"]["version"].as_i64().unwrap(),
            status: v["properties"]["status"].as_str().unwrap().to_owned(),
        },
    )
}

/// Every page of `/api/v1/problems` (answered from the in-memory index), as id -> version.
fn list_all(c: &reqwest::blocking::Client, srv: &Server) -> HashMap<String, i64> {
    let mut out = HashMap::new();
    let mut url = srv.url("/api/v1/problems?limit=1000");
    loop {
        let page: Value = c
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .json()
            .unwrap();
        for f in page["features"].as_array().unwrap() {
            let (id, a) = feature_state(f);
            assert!(out.insert(id, a.version).is_none(), "an id listed twice");
        }
        match page["next"].as_str() {
            Some(cursor) => url = srv.url(&format!("/api/v1/problems?limit=1000&cursor={cursor}")),
            None => return out,
        }
    }
}

#[test]
fn kill_9_in_a_write_storm_loses_no_acknowledged_write() {
    let dir = TempDir::new("kill9");
    let cfg = config(&dir);
    let db = dir.db_url("kill9.db");
    let srv = Server::start(&["--db", &db, "--config", &cfg]);
    let base = srv.base.clone();

    let seed: u64 = rand::rng().random();
    eprintln!("kill -9 test seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let acked: Arc<Mutex<HashMap<String, Acked>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8u64)
        .map(|w| {
            let (acked, stop, base) = (acked.clone(), stop.clone(), base.clone());
            std::thread::spawn(move || {
                let c = client();
                let mut i = w * 1_000_000;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let Ok(resp) = report(&c, &base, i) else {
                        break;
                    };
                    if resp.status() != 201 {
                        continue;
                    }
                    let Ok(v) = resp.json::<Value>() else { break };
                    let (id, a) = feature_state(&v);
                    let version = a.version;
                    acked.lock().unwrap().insert(id.clone(), a);
                    // Every other problem is also dispatched: an update of an acked row.
                    if i % 2 == 0 {
                        let Ok(resp) = c
                            .post(format!("{base}/api/v1/problems/{id}/dispatch"))
                            .bearer_auth(TOKEN)
                            .json(&json!({"version": version, "note": "e2e dispatch"}))
                            .send()
                        else {
                            break;
                        };
                        if resp.status() == 200
                            && let Ok(v) = resp.json::<Value>()
                        {
                            let (id, a) = feature_state(&v);
                            acked.lock().unwrap().insert(id, a);
                        }
                    }
                }
            })
        })
        .collect();

    // Kill at a random moment of the storm (the seed is printed to replay it).
    std::thread::sleep(Duration::from_millis(rng.random_range(500..2500)));
    srv.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 20,
        "the storm acknowledged only {} writes",
        acked.len()
    );

    let srv = Server::start(&["--db", &db, "--config", &cfg]);
    let c = client();
    for (id, want) in &acked {
        let resp = c
            .get(srv.url(&format!("/api/v1/problems/{id}")))
            .send()
            .unwrap();
        assert_eq!(resp.status(), 200, "acknowledged problem {id} is gone");
        let (_, got) = feature_state(&resp.json::<Value>().unwrap());
        // A write may have committed while its answer was lost in the kill: the stored
        // version may be newer than the last acknowledged one, never older.
        assert!(
            got.version >= want.version,
            "{id}: version {} < acknowledged {}",
            got.version,
            want.version
        );
        if got.version == want.version {
            assert_eq!(got.status, want.status, "{id}");
        }
    }

    // The index (what the list answers from) holds exactly what the database holds.
    let listed = list_all(&c, &srv);
    let status = srv.terminate();
    assert!(status.success(), "SIGTERM exit status {status:?}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stored: HashMap<String, i64> = rt.block_on(async {
        let store = civmap_store::Store::open(&db, civmap_store::StoreOptions::default())
            .await
            .unwrap();
        store
            .load_problems()
            .await
            .unwrap()
            .into_iter()
            .map(|p| (p.id.to_string(), p.version))
            .collect()
    });
    assert_eq!(listed, stored, "index and database disagree after restart");
    eprintln!(
        "kill -9: {} acknowledged problems, {} stored",
        acked.len(),
        stored.len()
    );
}

#[test]
fn sigterm_finishes_and_keeps_every_write() {
    let dir = TempDir::new("term");
    let cfg = config(&dir);
    let db = dir.db_url("term.db");
    let srv = Server::start(&["--db", &db, "--config", &cfg]);
    let c = client();
    let ids: Vec<String> = (0..25)
        .map(|i| {
            let v: Value = report(&c, &srv.base, i).unwrap().json().unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let status = srv.terminate();
    assert!(status.success(), "exit status {status:?}");
    let srv = Server::start(&["--db", &db, "--config", &cfg]);
    for id in ids {
        assert_eq!(
            c.get(srv.url(&format!("/api/v1/problems/{id}")))
                .send()
                .unwrap()
                .status(),
            200
        );
    }
}

/// Runs `civmap serve` expecting it to fail at start; returns the last line of standard error.
fn start_error(db: &str) -> String {
    let out = civmap()
        .args(["serve", "--addr", "127.0.0.1:0", "--db", db])
        .output()
        .unwrap();
    assert!(!out.status.success(), "civmap serve --db {db} started");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default().to_owned();
    assert!(last.starts_with("civmap: "), "last line {last:?}");
    last
}

#[test]
fn start_up_errors_are_one_line_and_name_the_problem() {
    let dir = TempDir::new("errors");
    // A directory nobody can write, not even root.
    let line = start_error("sqlite:///proc/civmap-test/civmap.db");
    assert!(line.contains("/proc/civmap-test"), "{line}");

    let garbage = dir.path().join("garbage.db");
    std::fs::write(
        &garbage,
        b"this is not a database, it is a shopping list\n".repeat(100),
    )
    .unwrap();
    let line = start_error(&format!("sqlite://{}", garbage.display()));
    assert!(line.contains("garbage.db"), "{line}");

    // Nothing listens on port 9 of the loopback.
    let line = start_error("postgres://postgres@127.0.0.1:9/test");
    assert!(line.contains("127.0.0.1"), "{line}");

    // A file with SQLite's header and damaged pages after it.
    let corrupt = dir.path().join("corrupt.db");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend((0..8192u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8));
    std::fs::write(&corrupt, &bytes).unwrap();
    let line = start_error(&format!("sqlite://{}", corrupt.display()));
    assert!(line.contains("corrupt.db"), "{line}");

    // A PostgreSQL server refusing the password (the local one trusts every login).
    let port = refusing_postgres();
    let line = start_error(&format!(
        "postgres://civmap:wrong-secret@127.0.0.1:{port}/civmap"
    ));
    assert!(
        line.contains("authentication failed") && line.contains(&format!("127.0.0.1:{port}")),
        "{line}"
    );
    assert!(
        !line.contains("wrong-secret"),
        "the password is shown: {line}"
    );

    if let Ok(url) = std::env::var("CIVMAP_TEST_POSTGRES") {
        let (base, _) = url.rsplit_once('/').unwrap();
        let line = start_error(&format!("{base}/civmap_no_such_database_e2e"));
        assert!(line.contains("civmap_no_such_database_e2e"), "{line}");
    } else {
        eprintln!("SKIPPED: the unknown-PostgreSQL-database case (set CIVMAP_TEST_POSTGRES)");
    }
}

/// A PostgreSQL server as far as its login goes: it declines TLS, asks for a password and refuses
/// it with `28P01`, as PostgreSQL does. Returns its port.
fn refusing_postgres() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { return };
            std::thread::spawn(move || -> std::io::Result<()> {
                // SSLRequest / GSSENCRequest (declined), then the StartupMessage.
                loop {
                    let mut len = [0u8; 4];
                    s.read_exact(&mut len)?;
                    let mut body = vec![0u8; u32::from_be_bytes(len) as usize - 4];
                    s.read_exact(&mut body)?;
                    let code = u32::from_be_bytes(body[..4].try_into().unwrap());
                    if code == 80_877_103 || code == 80_877_104 {
                        s.write_all(b"N")?;
                    } else {
                        break;
                    }
                }
                // AuthenticationCleartextPassword, then the client's PasswordMessage.
                s.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3])?;
                let mut head = [0u8; 5];
                s.read_exact(&mut head)?;
                let mut password =
                    vec![0u8; u32::from_be_bytes(head[1..].try_into().unwrap()) as usize - 4];
                s.read_exact(&mut password)?;
                let mut fields = Vec::new();
                for (t, v) in [
                    (b'S', "FATAL"),
                    (b'V', "FATAL"),
                    (b'C', "28P01"),
                    (b'M', "password authentication failed for user \"civmap\""),
                ] {
                    fields.push(t);
                    fields.extend_from_slice(v.as_bytes());
                    fields.push(0);
                }
                fields.push(0);
                let mut msg = vec![b'E'];
                msg.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
                msg.extend_from_slice(&fields);
                s.write_all(&msg)
            });
        }
    });
    port
}

#[test]
fn lost_database_answers_503_then_recovers_without_restart() {
    let dir = TempDir::new("lost");
    let cfg = config(&dir);
    let data = dir.path().join("data");
    let away = dir.path().join("data.unmounted");
    std::fs::create_dir(&data).unwrap();
    let db = format!("sqlite://{}", data.join("civmap.db").display());
    let srv = Server::start(&["--db", &db, "--config", &cfg]);
    let c = client();
    let mut ids = Vec::new();
    for i in 0..5 {
        let resp = report(&c, &srv.base, i).unwrap();
        assert_eq!(resp.status(), 201);
        ids.push(
            resp.json::<Value>().unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    // The disk holding the database goes away under the running server.
    std::fs::rename(&data, &away).unwrap();
    let resp = report(&c, &srv.base, 100).unwrap();
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().get("retry-after").is_some());
    let body: Value = resp.json().unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert_eq!(c.get(srv.url("/readyz")).send().unwrap().status(), 503);
    // Still alive, still answering what memory holds.
    assert_eq!(c.get(srv.url("/healthz")).send().unwrap().status(), 200);

    // It comes back; the same process serves again.
    std::fs::rename(&away, &data).unwrap();
    assert_eq!(c.get(srv.url("/readyz")).send().unwrap().status(), 200);
    let resp = report(&c, &srv.base, 101).unwrap();
    assert_eq!(resp.status(), 201);
    ids.push(
        resp.json::<Value>().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let listed = list_all(&c, &srv);
    assert_eq!(listed.len(), ids.len(), "the refused report left no trace");
    for id in &ids {
        assert!(listed.contains_key(id), "{id} missing");
    }
    let status = srv.terminate();
    assert!(status.success(), "SIGTERM exit status {status:?}");
}

#[test]
fn online_backup_restore_and_export() {
    let dir = TempDir::new("backup");
    let cfg = config(&dir);
    let db = dir.db_url("live.db");
    let srv = Server::start(&["--db", &db, "--config", &cfg]);
    let c = client();
    let ids: Vec<String> = (0..40)
        .map(|i| {
            let v: Value = report(&c, &srv.base, i).unwrap().json().unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect();

    // While the server is running.
    let backup = dir.path().join("backup.sqlite");
    let out = civmap()
        .args(["backup", backup.to_str().unwrap(), "--db", &db])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The server still serves.
    assert_eq!(c.get(srv.url("/healthz")).send().unwrap().status(), 200);
    drop(srv);

    let restored = dir.db_url("restored.db");
    let out = civmap()
        .args(["restore", backup.to_str().unwrap(), "--db", &restored])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Restoring into a database that is not empty is refused.
    let out = civmap()
        .args(["restore", backup.to_str().unwrap(), "--db", &restored])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "restore over existing data must be refused"
    );

    let out = civmap()
        .args(["export", "--format", "csv", "--db", &restored])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        csv.lines().count(),
        ids.len() + 1,
        "header + one row per problem"
    );
    for id in &ids {
        assert!(
            csv.contains(id.as_str()),
            "{id} missing from the CSV export"
        );
    }

    let out = civmap()
        .args(["export", "--format", "geojson", "--db", &restored])
        .output()
        .unwrap();
    let fc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(fc["type"], "FeatureCollection");
    assert_eq!(fc["features"].as_array().unwrap().len(), ids.len());
    let first = &fc["features"][0]["geometry"]["coordinates"];
    assert!(
        first[0].as_f64().unwrap() > 121.0 && first[1].as_f64().unwrap() < 32.0,
        "lon, lat order"
    );
}
