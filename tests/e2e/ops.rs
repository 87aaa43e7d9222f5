//! End-to-end tests of running civmap for a real street with the one binary: it serves its own
//! web front end from any directory, plans routes on the roads `import osm` stored (no `--demo`,
//! no `--roads`), every subcommand reads the database from `--config`, and `--help` names the
//! real subcommands.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc, clippy::pedantic)]

use crate::support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Server, TempDir, civmap};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Runs `civmap ARGS` in `cwd` with `stdin` as its standard input.
fn run_in(cwd: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = civmap()
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `civmap ARGS` in `cwd`; fails the test with its standard error unless it succeeds.
/// Returns standard output and standard error.
fn ok_in(cwd: &Path, args: &[&str], stdin: &str) -> (String, String) {
    let out = run_in(cwd, args, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "civmap {args:?} failed:\n{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

#[test]
fn the_binary_serves_its_own_web_front_end_from_an_empty_directory() {
    // The working directory holds nothing: no web/, no data/; the database lives elsewhere.
    let empty = TempDir::new("web-cwd");
    let data = TempDir::new("web-db");
    let db = data.db_url("web.db");
    let srv = Server::start_in(&["--db", &db], Some(empty.path()));
    let c = client();

    let page = c.get(srv.url("/")).send().unwrap();
    assert_eq!(page.status(), 200, "{}", srv.log());
    let ctype = page.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ctype.starts_with("text/html"), "{ctype}");
    let cache = page.headers()["cache-control"].to_str().unwrap().to_owned();
    assert_eq!(cache, "no-cache", "index.html must be revalidated");
    let html = page.text().unwrap();
    assert!(html.contains("创文问题地图"), "not the app's page: {html}");
    assert!(html.contains("<div id=\"app\">"), "{html}");

    // The script the page loads.
    let src = html
        .split("src=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .find(|s| s.ends_with(".js"))
        .unwrap_or_else(|| panic!("no script in {html}"));
    let path = format!("/{}", src.trim_start_matches("./").trim_start_matches('/'));
    assert!(path.starts_with("/assets/"), "{path}");
    let js = c.get(srv.url(&path)).send().unwrap();
    assert_eq!(js.status(), 200, "{path}");
    let ctype = js.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ctype.contains("javascript"), "{path}: {ctype}");
    let cache = js.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(
        cache.contains("max-age=31536000") && cache.contains("immutable"),
        "{cache}"
    );
    let etag = js.headers()["etag"].to_str().unwrap().to_owned();
    assert!(js.bytes().unwrap().len() > 10_000, "a real bundle");
    let again = c
        .get(srv.url(&path))
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);

    // A route of the app itself is the page; a missing asset is a 404, not the page.
    let route = c.get(srv.url("/console")).send().unwrap();
    assert_eq!(route.status(), 200);
    assert!(route.text().unwrap().contains("创文问题地图"));
    let gone = c.get(srv.url("/assets/nothing-here.js")).send().unwrap();
    assert_eq!(gone.status(), 404);
    // The APIs still answer their own 404s.
    let api = c.get(srv.url("/api/v1/nothing")).send().unwrap();
    assert_eq!(api.status(), 404);
    assert_eq!(api.json::<Value>().unwrap()["error"]["code"], "not_found");
}

#[test]
fn web_dir_files_win_over_the_embedded_ones() {
    let dir = TempDir::new("web-dir");
    let web = dir.path().join("dist");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(web.join("index.html"), "<!doctype html><p>开发中的页面</p>").unwrap();
    let db = dir.db_url("w.db");
    let srv = Server::start(&["--db", &db, "--web-dir", web.to_str().unwrap()]);
    let page = client().get(srv.url("/")).send().unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert!(page.text().unwrap().contains("开发中的页面"));
}

/// Signs in through `/api/v1/login` as the page does: returns the session cookie and the CSRF
/// token every change must repeat.
fn sign_in(c: &reqwest::blocking::Client, srv: &Server, name: &str, pw: &str) -> (String, String) {
    let r = c
        .post(srv.url("/api/v1/login"))
        .json(&json!({"name": name, "password": pw}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "login");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("civmap_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: Value = r.json().unwrap();
    let csrf = body["csrf_token"].as_str().expect("csrf_token").to_owned();
    (cookie, csrf)
}

#[test]
fn serve_plans_routes_on_the_roads_import_osm_stored() {
    let dir = TempDir::new("roads");
    let cfg = dir.path().join("civmap.toml");
    let db = dir.db_url("street.db");
    std::fs::write(&cfg, format!("db = {db:?}\n")).unwrap();
    let cfg = cfg.to_str().unwrap();
    let osm = repo("data/osm/tongji_siping_yangpu.osm");

    let (_, summary) = ok_in(
        dir.path(),
        &["import", "osm", osm.to_str().unwrap(), "--config", cfg],
        "",
    );
    let line = summary
        .lines()
        .find(|l| l.contains("road ways stored"))
        .unwrap_or_else(|| panic!("no road ways line:\n{summary}"));
    let n: usize = line
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap();
    assert!(n > 100, "{line}");
    // Re-importing replaces them: the same number, not twice as many.
    let (_, again) = ok_in(
        dir.path(),
        &["import", "osm", osm.to_str().unwrap(), "--config", cfg],
        "",
    );
    assert!(
        again.contains(&format!("civmap: {n} road ways stored")),
        "{again}"
    );

    let pw = "a long enough password 1";
    ok_in(
        dir.path(),
        &[
            "user",
            "add",
            "office",
            "--role",
            "street_office",
            "--config",
            cfg,
        ],
        &format!("{pw}\n"),
    );

    // No --demo, no --roads: the roads come from the database.
    let srv = Server::start_in(&["--config", cfg], Some(dir.path()));
    assert!(
        srv.log()
            .contains("road network loaded for route planning from the database"),
        "{}",
        srv.log()
    );
    let c = client();
    let (cookie, csrf) = sign_in(&c, &srv, "office", pw);
    let mut ids = Vec::new();
    for (i, (lon, lat)) in [
        (121.4950, 31.2830),
        (121.4990, 31.2870),
        (121.5010, 31.2840),
    ]
    .into_iter()
    .enumerate()
    {
        let r = c
            .post(srv.url("/api/v1/problems"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&json!({"lon": lon, "lat": lat, "category": "garbage", "description": format!("路线测试 {i}")}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "report {i}");
        let v: Value = r.json().unwrap();
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    let r = c
        .post(srv.url("/api/v1/routes"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"ids": ids, "budget_min": 240, "mode": "walk", "start": [121.4972, 31.2852]}))
        .send()
        .unwrap();
    let status = r.status();
    let plan: Value = r.json().unwrap();
    assert_eq!(status, 200, "{plan}");
    assert_eq!(
        plan["fallback_straight_line"], false,
        "the route must follow the roads, not straight lines × 1.3: {plan}"
    );
    assert_eq!(plan["summary"]["visited"], 3, "{plan}");
}

#[test]
fn every_subcommand_takes_the_database_from_the_config_file() {
    // The commands run in `cwd`; the configuration names a database elsewhere. Had any of
    // them ignored it, it would have made `cwd/civmap.db` (the default) instead.
    let cwd = TempDir::new("cfg-cwd");
    let data = TempDir::new("cfg-data");
    let cfg = data.path().join("civmap.toml");
    let db_file = data.path().join("from-config.db");
    let photos = data.path().join("photos-from-config");
    std::fs::write(
        &cfg,
        format!(
            "db = {:?}\nphoto_dir = {:?}\n",
            format!("sqlite://{}", db_file.display()),
            photos.display().to_string()
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let osm = repo("data/osm/tongji_siping_yangpu.osm");
    let csv = repo("data/import/nyc311/311_subset.micro.csv");
    let mapping = repo("data/import/nyc311/mapping.toml");

    ok_in(
        cwd.path(),
        &["import", "osm", osm.to_str().unwrap(), "--config", cfg],
        "",
    );
    ok_in(
        cwd.path(),
        &[
            "import",
            "problems",
            csv.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--config",
            cfg,
        ],
        "",
    );
    ok_in(
        cwd.path(),
        &[
            "user",
            "add",
            "wang",
            "--role",
            "road_chief",
            "--config",
            cfg,
        ],
        "a long enough password 2\n",
    );
    let (list, _) = ok_in(cwd.path(), &["user", "list", "--config", cfg], "");
    assert!(
        list.lines().any(|l| l.starts_with("wang\troad_chief")),
        "{list}"
    );
    let (csv_out, _) = ok_in(
        cwd.path(),
        &["export", "--format", "csv", "--config", cfg],
        "",
    );
    let rows = csv_out.lines().count() - 1;
    assert!(rows > 100, "export read {rows} problems");
    let backup = data.path().join("backup.db");
    ok_in(
        cwd.path(),
        &["backup", backup.to_str().unwrap(), "--config", cfg],
        "",
    );
    assert!(backup.is_file());

    assert!(db_file.is_file(), "the configured database was not made");
    assert!(
        photos.is_dir(),
        "the configured photo directory was not used"
    );
    assert!(
        !data.path().join("photos").exists(),
        "photos/ beside the database is the default, not what the file says"
    );
    assert!(
        std::fs::read_dir(cwd.path()).unwrap().next().is_none(),
        "something was written to the working directory instead of the configured database: {:?}",
        std::fs::read_dir(cwd.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>()
    );

    // The same file through CIVMAP_CONFIG, and CIVMAP_DB over it, as for `serve`.
    let out = civmap()
        .args(["user", "list"])
        .env("CIVMAP_CONFIG", cfg)
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("wang\troad_chief"));
    let other = data.db_url("other.db");
    let out = civmap()
        .args(["user", "list"])
        .env("CIVMAP_CONFIG", cfg)
        .env("CIVMAP_DB", &other)
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("wang"));
    // A flag beats both.
    let out = civmap()
        .args(["user", "list", "--db"])
        .arg(format!("sqlite://{}", db_file.display()))
        .env("CIVMAP_DB", &other)
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("wang\troad_chief"));
    // A mistake in the file is named, whatever the subcommand.
    let bad = data.path().join("bad.toml");
    std::fs::write(&bad, "database = \"x\"\n").unwrap();
    let out = run_in(
        cwd.path(),
        &["export", "--config", bad.to_str().unwrap()],
        "",
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("database"),
        "{stderr}"
    );
}

#[test]
fn help_lists_exactly_the_real_subcommands() {
    let out = civmap().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap_or_else(|| panic!("no Commands section:\n{help}"))
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        // A command's line is indented by two spaces; wrapped descriptions by more.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        commands,
        [
            "serve", "backup", "restore", "import", "user", "route", "export", "help"
        ],
        "{help}"
    );
    assert!(
        !help.contains("demo"),
        "there is no demo subcommand:\n{help}"
    );
    // Each of them answers --help, and those that open the database take --config.
    for c in ["serve", "backup", "restore", "import", "user", "export"] {
        let out = civmap().args([c, "--help"]).output().unwrap();
        assert!(out.status.success(), "{c} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("--config <CONFIG>"),
            "{c} --help has no --config:\n{text}"
        );
    }
}
