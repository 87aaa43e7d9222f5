//! Two `civmap serve` processes on one PostgreSQL database, as a city runs them behind a load
//! balancer: what is written through replica A — a report, a step, a new account (from the
//! command line), a zone and its assignment — is answered by replica B (REST and B's live feed),
//! waited for by polling with a deadline. Then A is killed with SIGKILL in the middle of a
//! write storm: B keeps serving, every write A acknowledged is in B's answers, B takes the lead
//! (`/readyz`, `/metrics`) and escalates each overdue problem exactly once (counted in the
//! database).
//!
//! Needs `CIVMAP_TEST_POSTGRES` (`postgres://postgres@127.0.0.1:5432/test`); each run creates a
//! database of its own and drops it. Without it the test says SKIPPED loudly and passes, unless
//! `CIVMAP_REQUIRE_POSTGRES=1`.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc, clippy::pedantic)]

use crate::support;

use std::io::{BufRead as _, BufReader};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, TempDir, civmap};

const TOKEN: &str = "e2e-replicas-admin-token-0001";
/// How long anything followed from the other replica may take before the test fails: generous
/// for a loaded 2-core machine; the doorbell makes it milliseconds when idle.
const FOLLOW_DEADLINE: Duration = Duration::from_secs(20);
/// How long B may take to lead, and escalate, after A died.
const TAKEOVER_DEADLINE: Duration = Duration::from_secs(60);
const LON: f64 = 121.500;
const LAT: f64 = 31.280;

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Polls `check` until it answers `Some`, failing with `what` after `deadline`.
fn wait_for<T>(what: &str, deadline: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < end, "{what}: not within {deadline:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn get(c: &reqwest::blocking::Client, srv: &Server, path: &str) -> (u16, Value) {
    let r = c.get(srv.url(path)).bearer_auth(TOKEN).send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn post(c: &reqwest::blocking::Client, srv: &Server, path: &str, body: &Value) -> (u16, Value) {
    let r = c
        .post(srv.url(path))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn report(c: &reqwest::blocking::Client, srv: &Server, i: u32) -> Value {
    let (status, body) = post(
        c,
        srv,
        "/api/v1/problems",
        &json!({
            "lon": LON + f64::from(i % 40) * 1e-4,
            "lat": LAT + f64::from(i % 30) * 1e-4,
            "category": "garbage",
            "description": format!("楼道堆物 #{i}"),
        }),
    );
    assert_eq!(status, 201, "report: {body}");
    body
}

fn ready(c: &reqwest::blocking::Client, srv: &Server) -> Value {
    let (status, body) = get(c, srv, "/readyz");
    assert_eq!(status, 200, "readyz: {body}");
    body
}

/// The `problem` events of `GET /api/v1/me/stream` on `srv`, as they come.
fn live_feed(srv: &Server) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    let url = srv.url("/api/v1/me/stream");
    let c = reqwest::blocking::Client::builder().build().unwrap();
    let resp = c.get(url).bearer_auth(TOKEN).send().unwrap();
    assert_eq!(resp.status(), 200);
    std::thread::spawn(move || {
        let mut event = String::new();
        for line in BufReader::new(resp).lines().map_while(Result::ok) {
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_owned();
            } else if let Some(data) = line.strip_prefix("data:")
                && event == "problem"
                && tx.send(serde_json::from_str(data.trim()).unwrap()).is_err()
            {
                return;
            }
        }
    });
    rx
}

/// Signs in through `/api/v1/login`; returns the session cookie.
fn sign_in(c: &reqwest::blocking::Client, srv: &Server, name: &str, pw: &str) -> String {
    let r = c
        .post(srv.url("/api/v1/login"))
        .json(&json!({"name": name, "password": pw}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "login");
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("civmap_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn user_add(db: &str, name: &str, role: &str, password: &str) {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = civmap()
        .args(["user", "add", name, "--role", role, "--db", db])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn metric(text: &str, name: &str) -> f64 {
    assert!(
        text.contains(&format!("# TYPE {name} gauge")),
        "{name} is not a gauge:\n{text}"
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn two_replicas_follow_each_other_and_one_takes_over_when_the_other_dies() {
    let Ok(base) = std::env::var("CIVMAP_TEST_POSTGRES") else {
        assert!(
            std::env::var("CIVMAP_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "CIVMAP_REQUIRE_POSTGRES=1 but CIVMAP_TEST_POSTGRES is not set"
        );
        eprintln!(
            "SKIPPED: two replicas on one PostgreSQL database (set CIVMAP_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test)"
        );
        return;
    };
    let pg = PgDb::new(&base);
    let dir = TempDir::new("replicas");
    let cfg = dir.path().join("civmap.toml");
    std::fs::write(
        &cfg,
        format!(
            "db = \"{}\"\nphoto_dir = \"{}\"\n\n[[api_tokens]]\ntoken = \"{TOKEN}\"\nrole = \"admin\"\nname = \"e2e\"\n\n[workflow]\nescalation_check_s = 1\n",
            pg.url,
            dir.path().join("photos").display()
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let a = Server::start_in(&["--config", cfg], Some(dir.path()));
    let c = client();
    wait_for("A leads (the only replica)", FOLLOW_DEADLINE, || {
        (ready(&c, &a)["leader"] == true).then_some(())
    });
    let b = Server::start_in(&["--config", cfg], Some(dir.path()));
    let rb = ready(&c, &b);
    assert_eq!(rb["leader"], false, "A holds the lead: {rb}");
    assert_eq!(rb["follow"]["caught_up"], true, "{rb}");
    let feed_b = live_feed(&b);

    // A report on A: B answers it, and B's live feed carries it.
    let p = report(&c, &a, 0);
    let id = p["id"].as_str().unwrap().to_owned();
    let on_b = wait_for("the report on B", FOLLOW_DEADLINE, || {
        let (s, body) = get(&c, &b, &format!("/api/v1/problems/{id}"));
        (s == 200).then_some(body)
    });
    assert_eq!(on_b["properties"]["version"], p["properties"]["version"]);
    assert_eq!(on_b["properties"]["case_no"], p["properties"]["case_no"]);
    let live = feed_b
        .recv_timeout(FOLLOW_DEADLINE)
        .expect("B's live feed shows A's report");
    assert_eq!(live["id"], id.as_str(), "{live}");

    // A step on A.
    let (s, stepped) = post(
        &c,
        &a,
        &format!("/api/v1/problems/{id}/escalate"),
        &json!({"version": p["properties"]["version"], "note": "转街道"}),
    );
    assert_eq!(s, 200, "{stepped}");
    wait_for("the step on B", FOLLOW_DEADLINE, || {
        let (_, body) = get(&c, &b, &format!("/api/v1/problems/{id}"));
        (body["properties"]["status"] == "escalated").then_some(())
    });
    let live = feed_b.recv_timeout(FOLLOW_DEADLINE).unwrap();
    assert_eq!(
        (&live["id"], &live["status"]),
        (&json!(id), &json!("escalated"))
    );

    // A new account (from the command line, a third process), a zone and its assignment on A.
    user_add(&pg.url, "pianzhang", "area_chief", "chief-password-1");
    let (s, zone) = post(
        &c,
        &a,
        "/api/v1/zones",
        &json!({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[
                [LON - 0.01, LAT - 0.01], [LON + 0.01, LAT - 0.01],
                [LON + 0.01, LAT + 0.01], [LON - 0.01, LAT + 0.01], [LON - 0.01, LAT - 0.01]
            ]]},
            "properties": {"kind": "area", "name": "同济片区"}
        }),
    );
    assert_eq!(s, 201, "{zone}");
    let zone_id = zone["id"].as_str().unwrap().to_owned();
    let cookie = sign_in(&c, &a, "pianzhang", "chief-password-1");
    let me_on = |srv: &Server| {
        let r = c
            .get(srv.url("/api/v1/me"))
            .header("cookie", &cookie)
            .send()
            .unwrap();
        (
            r.status().as_u16(),
            r.json::<Value>().unwrap_or(Value::Null),
        )
    };
    let (s, me) = me_on(&a);
    assert_eq!(s, 200, "{me}");
    let chief_id = me["id"].as_str().unwrap().to_owned();
    let r = c
        .put(a.url(&format!("/api/v1/zones/{zone_id}/assignees/{chief_id}")))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    // B: the session started on A, the account and its assigned zone.
    let me_b = wait_for("the chief's zone on B", FOLLOW_DEADLINE, || {
        let (s, me) = me_on(&b);
        (s == 200 && me["zones"] == json!([zone_id])).then_some(me)
    });
    assert_eq!(me_b["name"], "pianzhang");
    let (s, z) = get(&c, &b, &format!("/api/v1/zones/{zone_id}"));
    assert_eq!((s, &z["properties"]["name"]), (200, &json!("同济片区")));

    // Problems due in a few seconds, dispatched on A to the chief: overdue only after A died.
    let due = chrono::Utc::now() + chrono::Duration::seconds(12);
    let mut overdue = Vec::new();
    for i in 1..=4 {
        // Outside the zone: not dispatched automatically, so the deadline is this test's.
        let (s, p) = post(
            &c,
            &a,
            "/api/v1/problems",
            &json!({
                "lon": LON + 0.05 + f64::from(i) * 1e-4,
                "lat": LAT,
                "category": "garbage",
                "description": format!("限期整改 #{i}"),
            }),
        );
        assert_eq!(s, 201, "{p}");
        assert_eq!(p["properties"]["status"], "reported");
        let pid = p["id"].as_str().unwrap().to_owned();
        let (s, body) = post(
            &c,
            &a,
            &format!("/api/v1/problems/{pid}/dispatch"),
            &json!({
                "version": p["properties"]["version"],
                "assignee": chief_id,
                "deadline": due.to_rfc3339(),
            }),
        );
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["properties"]["status"], "dispatched");
        overdue.push(pid);
    }

    // A write storm on A; A is killed in the middle of it.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3u32)
        .map(|w| {
            let (acked, stop, url) = (acked.clone(), stop.clone(), a.url("/api/v1/problems"));
            std::thread::spawn(move || {
                let c = client();
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let body = json!({
                        "lon": LON + f64::from(i % 40) * 1e-4,
                        "lat": LAT - f64::from(w) * 1e-3,
                        "category": "garbage",
                        "description": format!("风暴 {w}-{i}"),
                    });
                    let Ok(r) = c.post(&url).bearer_auth(TOKEN).json(&body).send() else {
                        return;
                    };
                    if r.status().as_u16() == 201
                        && let Ok(v) = r.json::<Value>()
                    {
                        acked
                            .lock()
                            .unwrap()
                            .push(v["id"].as_str().unwrap().to_owned());
                    }
                }
            })
        })
        .collect();
    wait_for("writes acknowledged by A", FOLLOW_DEADLINE, || {
        (acked.lock().unwrap().len() >= 30).then_some(())
    });
    a.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    // B keeps serving, with every acknowledged write.
    assert!(acked.len() >= 30);
    for id in &acked {
        wait_for("a write A acknowledged, on B", FOLLOW_DEADLINE, || {
            let (s, _) = get(&c, &b, &format!("/api/v1/problems/{id}"));
            (s == 200).then_some(())
        });
    }

    // B takes the lead, says so, and escalates each overdue problem.
    wait_for("B leads", TAKEOVER_DEADLINE, || {
        (ready(&c, &b)["leader"] == true).then_some(())
    });
    let metrics = c.get(b.url("/metrics")).send().unwrap().text().unwrap();
    assert_eq!(metric(&metrics, "civmap_leader"), 1.0);
    assert!(metric(&metrics, "civmap_follow_lag_events") >= 0.0);
    assert!(metric(&metrics, "civmap_follow_lag_seconds") >= 0.0);
    for pid in &overdue {
        wait_for("B escalates the overdue problem", TAKEOVER_DEADLINE, || {
            let (_, body) = get(&c, &b, &format!("/api/v1/problems/{pid}"));
            (body["properties"]["status"] == "escalated").then_some(())
        });
    }
    // Escalated once each: A never did (it died before the deadline, or lost the race by
    // version), B did not twice.
    assert!(
        b.log().contains("escalated overdue problems"),
        "B's escalation job did it:\n{}",
        b.log()
    );
    let counts = pg.escalations(&overdue);
    assert_eq!(
        counts,
        vec![1; overdue.len()],
        "escalated events per overdue problem, in the database"
    );
    let rb = ready(&c, &b);
    assert_eq!(rb["follow"]["caught_up"], true, "{rb}");
    assert_eq!(rb["follow"]["lag_events"], 0, "{rb}");
}

/// How many steps of the random workload each phase makes.
const STEPS_PER_PHASE: u32 = 24;
/// How long B stays cut off: several of its 2 s safety-net passes fail meanwhile, and its
/// doorbell connection is gone.
const OUTAGE: Duration = Duration::from_secs(6);

/// One step of the random workload: a report, or an escalation of a problem still reported,
/// through `srv`. A step refused for a stale version (the replica had not yet followed the
/// other's step) is fine: the database is what the replicas are compared with.
fn random_step(
    c: &reqwest::blocking::Client,
    srv: &Server,
    rng: &mut rand::rngs::StdRng,
    known: &mut Vec<String>,
    i: u32,
) {
    use rand::Rng as _;
    if known.is_empty() || rng.random_bool(0.6) {
        let p = report(c, srv, i);
        known.push(p["id"].as_str().unwrap().to_owned());
        return;
    }
    let id = known[rng.random_range(0..known.len())].clone();
    let (s, p) = get(c, srv, &format!("/api/v1/problems/{id}"));
    if s != 200 || p["properties"]["status"] != "reported" {
        return;
    }
    let (s, body) = post(
        c,
        srv,
        &format!("/api/v1/problems/{id}/escalate"),
        &json!({"version": p["properties"]["version"], "note": format!("第 {i} 步")}),
    );
    assert!(s == 200 || s == 409, "escalate: {s} {body}");
}

/// Every problem in the database, as `(id, version, status)`.
fn problems_in(url: &str) -> Vec<(String, i64, String)> {
    use sqlx::Connection as _;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let rows: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT id::text, version, status FROM problems ORDER BY id")
                .fetch_all(&mut c)
                .await
                .unwrap();
        c.close().await.unwrap();
        rows
    })
}

#[test]
fn a_replica_cut_off_from_the_database_catches_up_with_nothing_skipped() {
    use rand::SeedableRng as _;
    let Ok(base) = std::env::var("CIVMAP_TEST_POSTGRES") else {
        assert!(
            std::env::var("CIVMAP_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "CIVMAP_REQUIRE_POSTGRES=1 but CIVMAP_TEST_POSTGRES is not set"
        );
        eprintln!(
            "SKIPPED: a replica cut off from PostgreSQL (set CIVMAP_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test)"
        );
        return;
    };
    let pg = PgDb::new(&base);
    // B reaches the database through a relay the test cuts; A reaches it directly.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let target = civmap_testkit::Relay::target_of(&pg.url).unwrap();
    let relay = rt.block_on(civmap_testkit::Relay::start(target, 0));
    let dir = TempDir::new("replicas-cut");
    let config = |name: &str, db: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "db = \"{db}\"\nphoto_dir = \"{}\"\n\n[[api_tokens]]\ntoken = \"{TOKEN}\"\nrole = \"admin\"\nname = \"e2e\"\n",
                dir.path().join("photos").display()
            ),
        )
        .unwrap();
        path.to_str().unwrap().to_owned()
    };
    let cfg_a = config("a.toml", &pg.url);
    let cfg_b = config("b.toml", &relay.url_through(&pg.url).unwrap());
    let a = Server::start_in(&["--config", &cfg_a], Some(dir.path()));
    let c = client();
    wait_for("A leads", FOLLOW_DEADLINE, || {
        (ready(&c, &a)["leader"] == true).then_some(())
    });
    let b = Server::start_in(&["--config", &cfg_b], Some(dir.path()));
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_261_207);
    let mut known = Vec::new();
    let mut i = 0;

    // Both connected: steps through either replica.
    for _ in 0..STEPS_PER_PHASE {
        i += 1;
        let srv = if rand::Rng::random_bool(&mut rng, 0.5) {
            &a
        } else {
            &b
        };
        random_step(&c, srv, &mut rng, &mut known, i);
    }
    let before = known[0].clone();
    wait_for("B follows before the cut", FOLLOW_DEADLINE, || {
        (get(
            &c,
            &b,
            &format!("/api/v1/problems/{}", known[known.len() - 1]),
        )
        .0 == 200)
            .then_some(())
    });

    // B loses the database: it still answers reads from memory, refuses writes with 503 and
    // Retry-After, while A goes on writing.
    relay.cut();
    let cut_at = Instant::now();
    for _ in 0..STEPS_PER_PHASE {
        i += 1;
        random_step(&c, &a, &mut rng, &mut known, i);
    }
    let (s, _) = get(&c, &b, &format!("/api/v1/problems/{before}"));
    assert_eq!(s, 200, "B reads from memory while cut off");
    let r = c
        .post(b.url("/api/v1/problems"))
        .bearer_auth(TOKEN)
        .json(&json!({"lon": LON, "lat": LAT, "category": "garbage", "description": "断线时上报"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 503, "a write on B while it is cut off");
    assert!(r.headers().contains_key("retry-after"));
    let late = &known[known.len() - 1];
    // Not in B's memory, so possibly a cold problem: B asks the database, which is gone, and
    // says so (503), rather than answering that it does not exist.
    assert_eq!(
        get(&c, &b, &format!("/api/v1/problems/{late}")).0,
        503,
        "B cannot know what A wrote while B was cut off"
    );
    if let Some(rest) = OUTAGE.checked_sub(cut_at.elapsed()) {
        std::thread::sleep(rest);
    }

    // The database is back on the same address: B catches up by itself, and both replicas
    // write again.
    let _restored = rt.block_on(civmap_testkit::Relay::start(
        relay.target.clone(),
        relay.port,
    ));
    wait_for("B writes again after the cut", FOLLOW_DEADLINE, || {
        let r = c
            .post(b.url("/api/v1/problems"))
            .bearer_auth(TOKEN)
            .json(&json!({"lon": LON, "lat": LAT, "category": "garbage", "description": "恢复后上报"}))
            .send()
            .unwrap();
        (r.status().as_u16() == 201).then(|| {
            let v: Value = r.json().unwrap();
            known.push(v["id"].as_str().unwrap().to_owned());
        })
    });
    for _ in 0..STEPS_PER_PHASE {
        i += 1;
        let srv = if rand::Rng::random_bool(&mut rng, 0.5) {
            &a
        } else {
            &b
        };
        random_step(&c, srv, &mut rng, &mut known, i);
    }

    // Both caught up; each answers every problem of the database with its version and status,
    // and lists as many problems as the database holds.
    let truth = problems_in(&pg.url);
    assert_eq!(
        truth.len(),
        known.len(),
        "every acknowledged report is stored"
    );
    for srv in [&a, &b] {
        wait_for("the replica is caught up", FOLLOW_DEADLINE, || {
            let r = ready(&c, srv);
            (r["follow"]["caught_up"] == true && r["follow"]["lag_events"] == 0).then_some(())
        });
        for (id, version, status) in &truth {
            let (s, p) = get(&c, srv, &format!("/api/v1/problems/{id}"));
            assert_eq!(s, 200, "{id}: {p}");
            assert_eq!(
                (&p["properties"]["version"], &p["properties"]["status"]),
                (&json!(version), &json!(status)),
                "{id} on {}",
                srv.url("")
            );
        }
    }
    let escalated = truth.iter().filter(|t| t.2 == "escalated").count();
    assert!(escalated > 0, "the workload escalated something");
    drop(relay);
}

/// A PostgreSQL database of its own, dropped afterwards.
struct PgDb {
    url: String,
    base: String,
    name: String,
}

impl PgDb {
    fn new(base: &str) -> PgDb {
        use rand::Rng as _;
        let name = format!("civmap_e2e_replicas_{:016x}", rand::rng().random::<u64>());
        pg_exec(base, &format!("CREATE DATABASE {name}"));
        let (head, _) = base
            .rsplit_once('/')
            .expect("CIVMAP_TEST_POSTGRES must end in /DATABASE");
        PgDb {
            url: format!("{head}/{name}"),
            base: base.to_owned(),
            name,
        }
    }

    /// How many `escalated` events each of these problems has.
    fn escalations(&self, ids: &[String]) -> Vec<i64> {
        use sqlx::Connection as _;
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
            let mut out = Vec::new();
            for id in ids {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM events WHERE kind = 'escalated' AND problem = $1::uuid",
                )
                .bind(id)
                .fetch_one(&mut c)
                .await
                .unwrap();
                out.push(n);
            }
            c.close().await.unwrap();
            out
        })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        pg_exec(
            &self.base,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn pg_exec(url: &str, sql: &str) {
    use sqlx::Connection as _;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = sqlx::PgConnection::connect(url)
            .await
            .expect("CIVMAP_TEST_POSTGRES must name a reachable PostgreSQL database");
        sqlx::query(sql).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    });
}
