//! Shared test scaffolding: a fresh database per test on each backend, and sample values.
//!
//! SQLite runs always. PostgreSQL runs when `CIVMAP_TEST_POSTGRES` names a server database
//! (`postgres://postgres@127.0.0.1:5432/test`): each test creates its own database
//! `civmap_test_<random>` and drops it afterwards, so tests run in parallel without colliding.
//! Without the variable the PostgreSQL half of each test prints a SKIPPED line and passes.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use chrono::{DateTime, TimeZone as _, Utc};
use civmap_domain::{
    LonLat, Problem, ProblemId, Role, Severity, Status, User, UserId, Zone, ZoneId, ZoneKind,
};
use civmap_store::{Store, StoreOptions};
use rand::Rng as _;
use sqlx::Connection as _;

/// Runs each named `async fn(TestDb)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($($f:ident),* $(,)?) => { $(
        mod $f {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$f($crate::common::TestDb::sqlite()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::common::TestDb::postgres().await {
                    super::$f(db).await;
                }
            }
        }
    )* };
}

/// A database of its own for one test.
pub struct TestDb {
    pub url: String,
    /// The SQLite file, for SQLite tests.
    pub path: Option<PathBuf>,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("civmap.db");
        TestDb {
            url: path.to_str().unwrap().to_owned(),
            path: Some(path),
            dir,
            pg: None,
        }
    }

    /// A new, empty PostgreSQL database, or `None` (with a loud line) when no server is given.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(base) = std::env::var("CIVMAP_TEST_POSTGRES") else {
            eprintln!("SKIPPED: PostgreSQL tests (set CIVMAP_TEST_POSTGRES)");
            return None;
        };
        let name = format!("civmap_test_{:016x}", rand::rng().random::<u64>());
        let mut admin = sqlx::PgConnection::connect(&base)
            .await
            .expect("CIVMAP_TEST_POSTGRES must name a reachable PostgreSQL database");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let (head, _) = base
            .rsplit_once('/')
            .expect("CIVMAP_TEST_POSTGRES must end in /DATABASE");
        Some(TestDb {
            url: format!("{head}/{name}"),
            path: None,
            dir: tempfile::tempdir().unwrap(),
            pg: Some((base, name)),
        })
    }

    /// Another empty database on the same backend.
    pub async fn sibling(&self) -> TestDb {
        if self.pg.is_some() {
            TestDb::postgres().await.unwrap()
        } else {
            TestDb::sqlite()
        }
    }

    pub fn is_pg(&self) -> bool {
        self.pg.is_some()
    }

    pub fn opts(&self) -> StoreOptions {
        StoreOptions {
            photo_dir: self.dir.path().join("photos"),
            ..StoreOptions::default()
        }
    }

    pub async fn open(&self) -> Store {
        Store::open(&self.url, self.opts()).await.unwrap()
    }

    /// Runs raw SQL on the database behind the store's back.
    pub async fn raw(&self, sql: &str) -> Result<(), sqlx::Error> {
        if self.is_pg() {
            let mut c = sqlx::PgConnection::connect(&self.url).await?;
            sqlx::raw_sql(sql).execute(&mut c).await.map(drop)
        } else {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(self.path.as_ref().unwrap())
                .create_if_missing(true);
            let mut c = sqlx::SqliteConnection::connect_with(&opts).await?;
            sqlx::raw_sql(sql).execute(&mut c).await.map(drop)
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, name)) = self.pg.take() {
            // Drop runs inside the test's runtime: use a thread with a runtime of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&base).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn t(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, day, hour, 0, 0).unwrap()
}

pub fn problem(lon: f64, lat: f64, category: &str) -> Problem {
    Problem {
        case_no: None,
        place: String::new(),
        id: ProblemId::new(),
        location: LonLat::new(lon, lat).unwrap(),
        category: category.into(),
        severity: Severity::Medium,
        status: Status::Reported,
        description: "曲阳路 菜场门口 纸箱堆放".into(),
        // Sub-millisecond parts are dropped by the store; tests compare stored forms.
        reported_at: t(3, 9) + chrono::Duration::nanoseconds(123_456),
        reporter: None,
        updated_at: t(3, 9),
        deadline: None,
        assignee: None,
        zone: None,
        rework_count: 0,
        recurrence_of: None,
        merged_into: None,
        version: 1,
    }
}

/// `p` without the case number the store gave it, to compare with the problem as written.
pub fn sans_case(mut p: Problem) -> Problem {
    p.case_no = None;
    p
}

pub fn user(name: &str, role: Role) -> User {
    User {
        id: UserId::new(),
        name: name.into(),
        display_name: format!("{name} 同志"),
        role,
        street: Some("310109016".into()),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
        disabled: false,
        created_at: t(1, 8),
    }
}

pub fn zone(name: &str, lon: f64, lat: f64) -> Zone {
    let d = 0.001;
    let ring = geo_types::LineString::from(vec![
        (lon - d, lat - d),
        (lon + d, lat - d),
        (lon + d, lat + d),
        (lon - d, lat + d),
        (lon - d, lat - d),
    ]);
    Zone {
        id: ZoneId::new(),
        kind: ZoneKind::Point,
        name: name.into(),
        poi_kind: None,
        poi: None,
        code: None,
        geometry: geo_types::MultiPolygon(vec![geo_types::Polygon::new(ring, vec![])]),
        external_id: None,
    }
}
