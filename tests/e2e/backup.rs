//! End-to-end: `civmap backup` writes ONE file with the database and every photo, and
//! `civmap restore` brings both back into an empty database and a fresh photo directory — a
//! server started on the restored database serves the same photos, byte for byte, and every
//! table has the same number of rows. On SQLite always; through PostgreSQL (restore into it,
//! serve it, back it up again) when `CIVMAP_TEST_POSTGRES` names a server.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc, clippy::pedantic)]

use crate::support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Server, TempDir, civmap};

const TOKEN: &str = "e2e-backup-office-token-0001";
/// Photos uploaded, and the size of each one's scan data (several hundred KiB in all, so the
/// backup really carries bytes).
const PHOTOS: u8 = 6;
const SCAN_BYTES: usize = 64 * 1024;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

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

/// A baseline JPEG (SOF0, SOS, scan data, EOI) whose scan data differs per `seed`: a phone
/// photo as far as the upload's checks go (they read the structure, not the pixels).
fn jpeg(seed: u8) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8];
    let seg = |b: &mut Vec<u8>, m: u8, data: &[u8]| {
        b.extend_from_slice(&[0xFF, m]);
        b.extend_from_slice(&u16::try_from(data.len() + 2).unwrap().to_be_bytes());
        b.extend_from_slice(data);
    };
    seg(&mut b, 0xC0, &[8, 0, 10, 0, 20, 1, 1, 0x11, 0]);
    seg(&mut b, 0xDA, &[1, 1, 0, 0, 63, 0]);
    // No 0xFF in the scan: it would start a marker.
    b.extend((0..SCAN_BYTES).map(|i| ((i * 31 + usize::from(seed) * 7) % 250) as u8));
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

fn run_ok(args: &[&str]) -> String {
    let out = civmap().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "civmap {args:?} failed:\n{stderr}");
    stderr
}

fn user_add(args: &[&str], password: &str) {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = civmap()
        .args(args)
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

/// Rows per table, counted in the database by the store itself.
fn counts(db: &str, photo_dir: &Path) -> Vec<(&'static str, u64)> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = civmap_store::Store::open(
            db,
            civmap_store::StoreOptions {
                photo_dir: photo_dir.to_path_buf(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let n = store.row_counts().await.unwrap();
        store.close().await;
        n
    })
}

fn count_of(counts: &[(&str, u64)], table: &str) -> u64 {
    counts.iter().find(|(t, _)| *t == table).unwrap().1
}

/// Reads every photo back from a running server and checks it byte for byte.
fn photos_read_back(srv: &Server, photos: &[(String, Vec<u8>)]) {
    let c = client();
    for (id, bytes) in photos {
        let r = c
            .get(srv.url(&format!("/api/v1/photos/{id}")))
            .bearer_auth(TOKEN)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "photo {id}: {}", srv.log());
        let got = r.bytes().unwrap();
        assert!(got.as_ref() == bytes.as_slice(), "photo {id} differs");
    }
}

/// Photos (id, the bytes the server stores) and rows per table.
type Used = (Vec<(String, Vec<u8>)>, Vec<(&'static str, u64)>);

/// The data a street has after some use: its zones from the shipped extract, a chief, and
/// reports with photos — made through the CLI and the HTTP API, as a person would.
fn some_use(dir: &TempDir, db: &str, cfg: &str) -> Used {
    let osm = repo("data/osm/tongji_siping_yangpu.osm");
    run_ok(&["import", "osm", osm.to_str().unwrap(), "--db", db]);
    user_add(
        &["user", "add", "li", "--role", "street_office", "--db", db],
        "a-long-enough-password-1",
    );
    let srv = Server::start(&["--db", db, "--config", cfg]);
    let c = client();
    let mut photos = Vec::new();
    for seed in 0..PHOTOS {
        let r = c
            .post(srv.url("/api/v1/photos"))
            .bearer_auth(TOKEN)
            .header("content-type", "image/jpeg")
            .body(jpeg(seed))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().unwrap());
        let id = r.json::<Value>().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // What the server stores (metadata stripped) is what must come back.
        let stored = c
            .get(srv.url(&format!("/api/v1/photos/{id}")))
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            .to_vec();
        assert!(stored.len() > SCAN_BYTES);
        let lon = 121.495 + f64::from(seed) * 0.0004;
        let r = c
            .post(srv.url("/api/v1/problems"))
            .bearer_auth(TOKEN)
            .json(&json!({"lon": lon, "lat": 31.283, "category": "garbage",
                "description": format!("备份测试 {seed}"), "photos": [id]}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().unwrap());
        photos.push((id, stored));
    }
    // The backup is taken while the server runs.
    let backup = dir.path().join("nightly.civmap-backup");
    let said = run_ok(&["backup", backup.to_str().unwrap(), "--db", db]);
    assert!(
        said.contains(&format!("{PHOTOS} photos")),
        "the backup names its photos: {said}"
    );
    assert_eq!(srv.terminate().code(), Some(0));
    let before = counts(db, &dir.path().join("photos"));
    for (table, at_least) in [
        ("problems", u64::from(PHOTOS)),
        ("events", u64::from(PHOTOS)),
        ("zones", 10),
        ("users", 1),
        ("photos", u64::from(PHOTOS)),
    ] {
        assert!(count_of(&before, table) >= at_least, "{table}: {before:?}");
    }
    (photos, before)
}

#[test]
fn backup_then_restore_brings_back_the_database_and_every_photo() {
    let dir = TempDir::new("backup-photos");
    let cfg = config(&dir);
    let db = dir.db_url("live.db");
    let (photos, before) = some_use(&dir, &db, &cfg);
    let backup = dir.path().join("nightly.civmap-backup");
    // One file: no photo directory and no write-ahead log beside it.
    let beside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("nightly"))
        .collect();
    assert_eq!(beside, ["nightly.civmap-backup"]);
    // A backup never overwrites a file.
    let out = civmap()
        .args(["backup", backup.to_str().unwrap(), "--db", &db])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));

    // The live data is lost: a new machine, a fresh database and photo directory.
    let fresh = TempDir::new("backup-restored");
    let restored = fresh.db_url("civmap.db");
    let photo_dir = fresh.path().join("photo-store");
    let said = run_ok(&[
        "restore",
        backup.to_str().unwrap(),
        "--db",
        &restored,
        "--photo-dir",
        photo_dir.to_str().unwrap(),
    ]);
    assert!(
        said.contains(&format!("{PHOTOS} photos")),
        "the restore names its photos: {said}"
    );
    assert_eq!(counts(&restored, &photo_dir), before);
    let srv = Server::start(&[
        "--db",
        &restored,
        "--config",
        &cfg,
        "--photo-dir",
        photo_dir.to_str().unwrap(),
    ]);
    photos_read_back(&srv, &photos);
    let list: Value = client()
        .get(srv.url("/api/v1/problems?limit=1000"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        list["features"].as_array().unwrap().len() as u64,
        count_of(&before, "problems")
    );
    drop(srv);

    // Restoring again over the restored data is refused, and writes no photo anywhere.
    let elsewhere = fresh.path().join("other-photos");
    let out = civmap()
        .args([
            "restore",
            backup.to_str().unwrap(),
            "--db",
            &restored,
            "--photo-dir",
            elsewhere.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_dir(&elsewhere)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(written, 0, "a refused restore wrote photos");
}

#[test]
fn a_missing_photo_fails_the_backup_loudly() {
    let dir = TempDir::new("backup-missing");
    let cfg = config(&dir);
    let db = dir.db_url("live.db");
    let (photos, _) = some_use(&dir, &db, &cfg);
    let (gone, _) = &photos[0];
    std::fs::remove_file(dir.path().join("photos").join(&gone[..2]).join(gone)).unwrap();
    let second = dir.path().join("second.civmap-backup");
    let out = civmap()
        .args(["backup", second.to_str().unwrap(), "--db", &db])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(gone.as_str()), "names the photo: {stderr}");
    assert!(
        stderr.contains(&format!("{} photos", PHOTOS - 1)),
        "{stderr}"
    );
    // What could be saved was saved.
    assert!(second.exists());
}

/// PostgreSQL: the SQLite backup restored into PostgreSQL and served from there, then backed
/// up from PostgreSQL (the other path of `backup`) and restored into SQLite again.
#[test]
fn backup_and_restore_through_postgresql() {
    let Ok(base) = std::env::var("CIVMAP_TEST_POSTGRES") else {
        eprintln!("SKIPPED: PostgreSQL backup test (set CIVMAP_TEST_POSTGRES)");
        return;
    };
    let dir = TempDir::new("backup-pg");
    let cfg = config(&dir);
    let db = dir.db_url("live.db");
    let (photos, before) = some_use(&dir, &db, &cfg);
    let backup = dir.path().join("nightly.civmap-backup");

    let pg = PgDb::new(&base);
    let pg_photos = dir.path().join("pg-photos");
    run_ok(&[
        "restore",
        backup.to_str().unwrap(),
        "--db",
        &pg.url,
        "--photo-dir",
        pg_photos.to_str().unwrap(),
    ]);
    assert_eq!(counts(&pg.url, &pg_photos), before);
    let srv = Server::start(&[
        "--db",
        &pg.url,
        "--config",
        &cfg,
        "--photo-dir",
        pg_photos.to_str().unwrap(),
    ]);
    photos_read_back(&srv, &photos);
    let from_pg = dir.path().join("from-pg.civmap-backup");
    let said = run_ok(&[
        "backup",
        from_pg.to_str().unwrap(),
        "--db",
        &pg.url,
        "--photo-dir",
        pg_photos.to_str().unwrap(),
    ]);
    assert!(said.contains(&format!("{PHOTOS} photos")), "{said}");
    drop(srv);

    let again = dir.db_url("again.db");
    let again_photos = dir.path().join("again-photos");
    run_ok(&[
        "restore",
        from_pg.to_str().unwrap(),
        "--db",
        &again,
        "--photo-dir",
        again_photos.to_str().unwrap(),
    ]);
    assert_eq!(counts(&again, &again_photos), before);
    for (id, bytes) in &photos {
        let on_disk = std::fs::read(again_photos.join(&id[..2]).join(id)).unwrap();
        assert!(on_disk == *bytes, "photo {id} differs");
    }
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
        let name = format!("civmap_e2e_{:016x}", rand::rng().random::<u64>());
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
