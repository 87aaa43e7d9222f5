//! End-to-end: the README's "Running it for real" steps, run exactly as written, on the shipped
//! real extract and without `--demo`. The commands are the README's own lines (the test fails
//! when the README and the test disagree), run in an empty directory that holds only the
//! repository's `data/` (so the default `sqlite://civmap.db` is a fresh database), then the
//! served street is used as people would: a passer-by reports from the report page, the
//! road-chief gets it, the street office signs in (cookie + CSRF), checks coverage and sees
//! only its street.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc, clippy::pedantic)]

use crate::support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use geo::{BoundingRect, Contains};
use serde_json::{Value, json};
use support::{Server, TempDir, civmap};

/// The README's step 3 to 5, line for line.
const IMPORT: &str = "civmap import osm data/osm/tongji_siping_yangpu.osm --zones roads,points,areas,grid --street 310110 --boundary data/boundaries/province_310000.json --boundary-crs gcj02";
const USERS: &[&str] = &[
    r#"printf '%s\n' "$PW" | civmap user add admin --role admin"#,
    r#"printf '%s\n' "$PW" | civmap user add office --role street_office --street 310110 --display-name 街道办"#,
    r#"printf '%s\n' "$PW" | civmap user add wang --role road_chief --zone 四平路 --display-name 王路长"#,
    r#"printf '%s\n' "$PW" | civmap user add zhao --role point_chief --zone "民办沪东外国语学校 校门" --display-name 赵点长"#,
];
const LIST: &str = "civmap user list";
const SERVE: &str = "civmap serve --addr 0.0.0.0:8080";
/// `$PW` of the README's lines.
const PW: &str = "a-long-enough-password-1";
/// The street's code in the commands above.
const STREET: &str = "310110";

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Splits a command line as `sh` would for these lines: words, and `"…"` quoted words.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for ch in line.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quotes in {line}");
    if any {
        out.push(cur);
    }
    out
}

/// Runs one README line in `cwd`: `civmap ARGS`, or `printf '%s\n' "$PW" | civmap ARGS` with
/// the password on standard input. Standard output and error together.
fn run_line(line: &str, cwd: &Path) -> String {
    use std::io::Write as _;
    use std::process::Stdio;
    let (stdin, cmd) = match line.split_once(" | ") {
        Some((feed, cmd)) => {
            assert_eq!(feed, r#"printf '%s\n' "$PW""#, "{line}");
            (Some(format!("{PW}\n")), cmd)
        }
        None => (None, line),
    };
    let w = words(cmd);
    assert_eq!(w[0], "civmap", "{line}");
    let mut child = civmap()
        .args(&w[1..])
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        pipe.write_all(s.as_bytes()).unwrap();
    }
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{line}\n{text}");
    text
}

fn zones_in(db: &str) -> Vec<civmap_domain::Zone> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = civmap_store::Store::open(db, civmap_store::StoreOptions::default())
            .await
            .unwrap();
        let zones = store.list_zones().await.unwrap();
        store.close().await;
        zones
    })
}

/// A point of `inside` that none of `avoid` contains, from a 60 × 60 sample of its bounding box.
fn point_in(
    inside: &geo::MultiPolygon<f64>,
    avoid: &[&geo::MultiPolygon<f64>],
) -> Option<(f64, f64)> {
    let r = inside.bounding_rect()?;
    let n = 60;
    for i in 1..n {
        for j in 1..n {
            let x = r.min().x + r.width() * f64::from(i) / f64::from(n);
            let y = r.min().y + r.height() * f64::from(j) / f64::from(n);
            let p = geo::Point::new(x, y);
            if inside.contains(&p) && !avoid.iter().any(|z| z.contains(&p)) {
                return Some((x, y));
            }
        }
    }
    None
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// A signed-in browser: the session cookie and the CSRF token the sign-in answered.
struct Session {
    cookie: String,
    csrf: String,
}

fn sign_in(c: &reqwest::blocking::Client, srv: &Server, name: &str) -> Session {
    let r = c
        .post(srv.url("/api/v1/login"))
        .json(&json!({"name": name, "password": PW}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "sign-in of {name}");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("civmap_session="))
        .expect("a session cookie");
    let body: Value = r.json().unwrap();
    Session {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

impl Session {
    fn get(&self, c: &reqwest::blocking::Client, srv: &Server, path: &str) -> (u16, Value) {
        let r = c
            .get(srv.url(path))
            .header("cookie", &self.cookie)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }
}

/// Every problem the session's list shows, by id.
fn listed(c: &reqwest::blocking::Client, srv: &Server, s: &Session) -> Vec<String> {
    let (status, page) = s.get(c, srv, "/api/v1/problems?limit=1000");
    assert_eq!(status, 200, "{page}");
    page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Reports as the report page does for a passer-by: no credentials, 7 decimals.
fn report(c: &reqwest::blocking::Client, srv: &Server, at: (f64, f64), what: &str) -> String {
    let r = c
        .post(srv.url("/api/v1/problems"))
        .json(&json!({
            "lon": (at.0 * 1e7).round() / 1e7,
            "lat": (at.1 * 1e7).round() / 1e7,
            "category": "garbage",
            "severity": "medium",
            "description": what,
        }))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_readme_real_street_steps_without_the_demo() {
    for file in ["README.md", "README.zh.md"] {
        let readme = std::fs::read_to_string(repo(file)).unwrap();
        for line in [IMPORT, LIST, SERVE].iter().chain(USERS) {
            assert!(
                readme.lines().any(|l| l.trim() == *line),
                "{file} no longer has the line the test runs:\n{line}"
            );
        }
    }
    let dir = TempDir::new("street-readme");
    std::os::unix::fs::symlink(repo("data"), dir.path().join("data")).unwrap();
    let db = dir.db_url("civmap.db");

    // Step 3: the zones and the grid.
    let summary = run_line(IMPORT, dir.path());
    let zones = zones_in(&db);
    let count = |k: civmap_domain::ZoneKind| zones.iter().filter(|z| z.kind == k).count();
    use civmap_domain::ZoneKind as K;
    for kind in [K::Road, K::Point, K::Area, K::GridCell] {
        assert!(count(kind) > 0, "no {kind} zones:\n{summary}");
    }
    assert_eq!(count(K::Surroundings), 0, "--zones left surroundings out");
    assert!(
        zones.iter().all(|z| z
            .code
            .as_deref()
            .is_some_and(|c| c.starts_with(&format!("{STREET}-")))),
        "every zone carries the street's code"
    );

    // Step 4: the accounts, by the README's own lines.
    let mut ids = std::collections::HashMap::new();
    for line in USERS {
        let out = run_line(line, dir.path());
        let name = words(line.split_once(" | ").unwrap().1)[3].clone();
        let id = out.lines().next().unwrap().trim().to_owned();
        assert_eq!(id.len(), 36, "user add prints the id first: {out}");
        ids.insert(name, id);
    }
    let list = run_line(LIST, dir.path());
    assert!(list.contains("wang\troad_chief\tactive\t1"), "{list}");
    assert!(list.contains("zhao\tpoint_chief\tactive\t1"), "{list}");
    assert!(
        list.contains(&format!("office\tstreet_office\tactive\t0\t{STREET}")),
        "{list}"
    );

    let road = zones
        .iter()
        .find(|z| z.kind == K::Road && z.name == "四平路")
        .expect("a road zone named 四平路");
    let gate = zones
        .iter()
        .find(|z| z.name == "民办沪东外国语学校 校门")
        .expect("the school gate's zone");
    assert_eq!(gate.kind, K::Point);

    // Step 5: serve, as written but on a free local port.
    let mut args = words(SERVE);
    assert_eq!(&args[..2], ["civmap", "serve"]);
    let at = args.iter().position(|a| a == "--addr").unwrap();
    args.drain(at..at + 2);
    let arg_refs: Vec<&str> = args[2..].iter().map(String::as_str).collect();
    let srv = Server::start_in(&arg_refs, Some(dir.path()));
    let c = client();

    // A passer-by reports inside 四平路's zone, away from every gate: it goes to wang at once.
    let points: Vec<&geo::MultiPolygon<f64>> = zones
        .iter()
        .filter(|z| z.kind == K::Point)
        .map(|z| &z.geometry)
        .collect();
    let on_road = point_in(&road.geometry, &points).expect("a point on 四平路 away from gates");
    let inside = report(&c, &srv, on_road, "四平路边垃圾堆放");
    // And one outside the street (Hongkou, west of the district line): no zone of the street.
    let all: Vec<&geo::MultiPolygon<f64>> = zones.iter().map(|z| &z.geometry).collect();
    let extract = geo::Polygon::new(
        geo::LineString::from(vec![
            (121.49149, 31.28090),
            (121.50325, 31.28090),
            (121.50325, 31.28945),
            (121.49149, 31.28945),
            (121.49149, 31.28090),
        ]),
        vec![],
    );
    let outside_at = point_in(&geo::MultiPolygon(vec![extract]), &all)
        .expect("a point of the extract outside the street");
    let outside = report(&c, &srv, outside_at, "街道外的垃圾");

    let wang = sign_in(&c, &srv, "wang");
    let (status, inbox) = wang.get(&c, &srv, "/api/v1/me/inbox");
    assert_eq!(status, 200);
    assert!(
        inbox.to_string().contains(&inside),
        "the report on 四平路 is in wang's inbox: {inbox}"
    );
    assert!(!inbox.to_string().contains(&outside));

    // The street office signs in as the browser does.
    let office = sign_in(&c, &srv, "office");
    let (status, p) = office.get(&c, &srv, &format!("/api/v1/problems/{inside}"));
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["properties"]["status"], "dispatched", "{p}");
    assert_eq!(p["properties"]["assignee"], ids["wang"].as_str(), "{p}");

    // Coverage: two chiefs' zones cover a sliver of the district.
    let (status, cov) = office.get(&c, &srv, "/api/v1/assignments/coverage");
    assert_eq!(status, 200, "{cov}");
    let boundary = cov["boundary_m2"].as_f64().unwrap();
    let uncovered = cov["uncovered_m2"].as_f64().unwrap();
    assert!(
        boundary > 1e6 && uncovered > 0.9 * boundary && uncovered < boundary,
        "boundary {boundary} m², uncovered {uncovered} m²"
    );
    let first = &cov["features"][0];
    assert_eq!(first["id"], "uncovered", "{first}");

    // Only its street: the report outside is neither listed nor readable; the admin sees it.
    let mine = listed(&c, &srv, &office);
    assert!(mine.contains(&inside), "{mine:?}");
    assert!(
        !mine.contains(&outside),
        "a problem outside the street is listed"
    );
    let (status, _) = office.get(&c, &srv, &format!("/api/v1/problems/{outside}"));
    assert_eq!(status, 404);
    let admin = sign_in(&c, &srv, "admin");
    assert!(listed(&c, &srv, &admin).contains(&outside));

    // A change needs the CSRF token of the session, as the console sends it.
    let body = json!({"lon": on_road.0, "lat": on_road.1, "category": "garbage",
        "description": "街道办巡查上报"});
    let r = c
        .post(srv.url("/api/v1/problems"))
        .header("cookie", &office.cookie)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "a cookie without the CSRF token may not write"
    );
    let r = c
        .post(srv.url("/api/v1/problems"))
        .header("cookie", &office.cookie)
        .header("x-csrf-token", &office.csrf)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    drop(srv);
}
