//! Bad starts give one-line errors that name the problem; a database lost while serving answers
//! `Unavailable` and comes back without a restart.

// Scenario tests read best top to bottom, whatever their length.
#![allow(clippy::too_many_lines, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use civmap_domain::EventKind;
use civmap_store::{NewEvent, Store, StoreError, StoreOptions};
use civmap_testkit::Relay;
use common::{TestDb, problem, t};
use tokio::net::{TcpListener, TcpStream};

fn assert_one_line(e: &StoreError) {
    let m = e.to_string();
    assert!(
        !m.contains('\n') && !m.contains('\r'),
        "not one line: {m:?}"
    );
}

async fn open_err(url: &str) -> StoreError {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        photo_dir: dir.path().join("photos"),
        ..StoreOptions::default()
    };
    let e = Store::open(url, opts).await.unwrap_err();
    assert_one_line(&e);
    e
}

#[tokio::test]
async fn missing_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/civmap.db");
    let e = open_err(path.to_str().unwrap()).await;
    let m = e.to_string();
    assert!(matches!(e, StoreError::Io { .. }), "{m}");
    assert!(
        m.contains("no/such/dir") && m.contains("does not exist"),
        "{m}"
    );
}

#[tokio::test]
async fn a_file_where_the_directory_should_be_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let e = open_err(file.join("civmap.db").to_str().unwrap()).await;
    assert!(e.to_string().contains("is not a directory"), "{e}");
}

#[tokio::test]
async fn unwritable_location_is_a_permission_error() {
    // A read-only directory; as root (which ignores modes) sysfs, which refuses new files.
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let probe = ro.join("probe");
    let path = if std::fs::write(&probe, "x").is_ok() {
        std::path::PathBuf::from("/sys/civmap-test.db")
    } else {
        ro.join("civmap.db")
    };
    let e = open_err(path.to_str().unwrap()).await;
    let m = e.to_string();
    assert!(matches!(e, StoreError::Permission { .. }), "{m}");
    assert!(m.contains(path.to_str().unwrap()), "{m}");
}

#[tokio::test]
async fn garbage_file_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.jpg");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    let e = open_err(path.to_str().unwrap()).await;
    let m = e.to_string();
    assert!(matches!(e, StoreError::NotADatabase { .. }), "{m}");
    assert!(
        m.contains("photo.jpg") && m.contains("not a SQLite database"),
        "{m}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "the file is left alone"
    );
}

#[tokio::test]
async fn damaged_pages_are_reported_as_corrupt() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    for _ in 0..50 {
        store
            .insert_problem(
                &problem(121.4, 31.2, "garbage"),
                NewEvent::new(EventKind::Created, t(3, 9)),
            )
            .await
            .unwrap();
    }
    store.close().await;
    // Checkpoint the WAL into the file, then overwrite every page after the first.
    db.raw("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
    let path = db.path.clone().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 8192);
    for (i, b) in bytes.iter_mut().enumerate().skip(4096) {
        *b = (i % 251) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    let e = match Store::open(&db.url, db.opts()).await {
        Err(e) => e,
        Ok(s) => s.load_problems().await.unwrap_err(),
    };
    assert_one_line(&e);
    assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
}

on_both!(
    another_applications_database_is_refused,
    newer_schema_is_refused
);

async fn another_applications_database_is_refused(db: TestDb) {
    db.raw("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE orders (id INTEGER)")
        .await
        .unwrap();
    let e = Store::open(&db.url, db.opts()).await.unwrap_err();
    assert_one_line(&e);
    let m = e.to_string();
    assert!(matches!(e, StoreError::NotADatabase { .. }), "{m}");
    assert!(
        m.contains("not a civmap database") && m.contains("customers"),
        "{m}"
    );
}

async fn newer_schema_is_refused(db: TestDb) {
    db.open().await.close().await;
    // A migration this binary does not have, as a newer civmap would have left it.
    let blob = if db.is_pg() {
        "decode('00', 'hex')"
    } else {
        "x'00'"
    };
    db.raw(&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, {blob}, 1)"
    ))
    .await
    .unwrap();
    let e = Store::open(&db.url, db.opts()).await.unwrap_err();
    let ours = newest_migration();
    assert!(ours < 9999, "move the test's future migration past {ours}");
    assert_eq!(
        e,
        StoreError::NewerSchema {
            db_version: 9999,
            binary_version: ours
        }
    );
    assert_eq!(
        e.to_string(),
        format!("database schema version 9999 is newer than this civmap ({ours}); upgrade civmap")
    );
    // The refused database is left as it was: the future migration is still there.
    let store = Store::open(&db.url, db.opts()).await.unwrap_err();
    assert!(matches!(store, StoreError::NewerSchema { .. }));
}

/// The newest migration shipped in `migrations/sqlite` (`NNNN_name.sql`).
fn newest_migration() -> i64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.split_once('_')?.0.parse::<i64>().ok()
        })
        .max()
        .unwrap()
}

fn pg_base() -> Option<String> {
    let v = std::env::var("CIVMAP_TEST_POSTGRES").ok();
    if v.is_none() {
        eprintln!("SKIPPED: PostgreSQL tests (set CIVMAP_TEST_POSTGRES)");
    }
    v
}

#[tokio::test]
async fn unreachable_postgres_is_named() {
    // Nothing listens on port 1: refused at once.
    let e = open_err("postgres://civmap@127.0.0.1:1/civmap").await;
    let m = e.to_string();
    assert!(matches!(e, StoreError::Unavailable(_)), "{m}");
    assert!(m.contains("127.0.0.1:1") && m.contains("refused"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_postgres_database_and_role_are_named() {
    let Some(base) = pg_base() else { return };
    let (head, _) = base.rsplit_once('/').unwrap();
    let e = open_err(&format!("{head}/civmap_no_such_database")).await;
    let m = e.to_string();
    assert!(matches!(e, StoreError::NotADatabase { .. }), "{m}");
    assert!(
        m.contains("civmap_no_such_database") && m.contains("does not exist"),
        "{m}"
    );

    let url = url_with_user(&base, "civmap_no_such_role");
    let e = open_err(&url).await;
    let m = e.to_string();
    assert!(matches!(e, StoreError::Auth(_)), "{m}");
    assert!(m.contains("civmap_no_such_role"), "{m}");
}

fn url_with_user(base: &str, user: &str) -> String {
    let rest = base.strip_prefix("postgres://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, h)| h);
    format!("postgres://{user}@{host}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_postgres_answers_unavailable_and_recovers_without_restart() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let rest = db.url.strip_prefix("postgres://").unwrap();
    let (user, rest) = rest.split_once('@').unwrap();
    let (hostport, dbname) = rest.split_once('/').unwrap();
    let relay = Relay::start(hostport.to_owned(), 0).await;
    let url = format!("postgres://{user}@127.0.0.1:{}/{dbname}", relay.port);
    let store = Store::open(&url, db.opts()).await.unwrap();
    let before = problem(121.4, 31.2, "garbage");
    store
        .insert_problem(&before, NewEvent::new(EventKind::Created, t(3, 9)))
        .await
        .unwrap();

    relay.cut();
    // Bounded so a hang fails the test instead of stalling it; the store answers in ~3 s.
    let e = tokio::time::timeout(Duration::from_secs(20), store.ping())
        .await
        .expect("ping must not hang while the database is gone")
        .unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
    assert_one_line(&e);
    let during = problem(121.4, 31.2, "garbage");
    let e = tokio::time::timeout(
        Duration::from_secs(20),
        store.insert_problem(&during, NewEvent::new(EventKind::Created, t(3, 9))),
    )
    .await
    .expect("a write must not hang while the database is gone")
    .unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
    assert!(
        e.to_string().contains(&format!("127.0.0.1:{}", relay.port)),
        "{e}"
    );

    // The database comes back on the same address; the same store works again.
    let relay = Relay::start(relay.target.clone(), relay.port).await;
    let mut ok = false;
    for _ in 0..40 {
        match store.ping().await {
            Ok(()) => {
                ok = true;
                break;
            }
            Err(e) => eprintln!("still down: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(ok, "the store did not reconnect");
    let after = problem(121.4, 31.2, "garbage");
    store
        .insert_problem(&after, NewEvent::new(EventKind::Created, t(3, 9)))
        .await
        .unwrap();
    let ids: Vec<_> = store
        .load_problems()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert!(ids.contains(&before.id) && ids.contains(&after.id));
    assert!(!ids.contains(&during.id), "a refused write left no trace");
    store.close().await;
    relay.cut();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_sqlite_file_answers_unavailable_and_recovers_without_restart() {
    let top = tempfile::tempdir().unwrap();
    let dir = top.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("civmap.db");
    let opts = StoreOptions {
        photo_dir: top.path().join("photos"),
        ..StoreOptions::default()
    };
    let store = Store::open(path.to_str().unwrap(), opts).await.unwrap();
    let kept = problem(121.4, 31.2, "garbage");
    store
        .insert_problem(&kept, NewEvent::new(EventKind::Created, t(3, 9)))
        .await
        .unwrap();
    let backup = top.path().join("backup.db");
    store.backup_to(&backup).await.unwrap();

    // The data directory disappears (deleted, or its disk unmounted).
    std::fs::remove_dir_all(&dir).unwrap();
    let e = store.ping().await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
    assert!(e.to_string().contains("civmap.db"), "{e}");
    let lost = problem(121.4, 31.2, "garbage");
    let e = store
        .insert_problem(&lost, NewEvent::new(EventKind::Created, t(3, 9)))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Unavailable(_)),
        "a write into a deleted file must not be acknowledged: {e}"
    );

    // The operator puts the backup back; the running store picks it up.
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(&backup, &path).unwrap();
    store.ping().await.unwrap();
    assert!(store.get_problem(kept.id).await.unwrap().is_some());
    let after = problem(121.4, 31.2, "garbage");
    store
        .insert_problem(&after, NewEvent::new(EventKind::Created, t(3, 9)))
        .await
        .unwrap();
    assert!(store.get_problem(after.id).await.unwrap().is_some());
    assert!(store.get_problem(lost.id).await.unwrap().is_none());
}

/// Reads one length-prefixed message of the PostgreSQL start-up phase (no type byte).
async fn read_startup(s: &mut TcpStream) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt as _;
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.ok()?;
    let n = usize::try_from(u32::from_be_bytes(len))
        .ok()?
        .checked_sub(4)?;
    let mut body = vec![0; n];
    s.read_exact(&mut body).await.ok()?;
    Some(body)
}

/// A PostgreSQL server as far as its login goes: it asks for the password and refuses it the
/// way PostgreSQL does (`28P01`), so the wrong-password path is tested on a server whose real
/// login is `trust`.
async fn refusing_server() -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                // SSLRequest / GSSENCRequest are declined with 'N'; then the StartupMessage.
                loop {
                    let Some(body) = read_startup(&mut s).await else {
                        return;
                    };
                    match body
                        .get(..4)
                        .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
                    {
                        Some(80_877_103 | 80_877_104) => s.write_all(b"N").await.unwrap(),
                        _ => break,
                    }
                }
                // AuthenticationCleartextPassword.
                s.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).await.unwrap();
                // PasswordMessage: 'p', length, password.
                let mut head = [0u8; 5];
                if s.read_exact(&mut head).await.is_err() {
                    return;
                }
                let n = u32::from_be_bytes(head[1..5].try_into().unwrap()) as usize - 4;
                let mut password = vec![0; n];
                if s.read_exact(&mut password).await.is_err() {
                    return;
                }
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
                msg.extend_from_slice(&(u32::try_from(fields.len()).unwrap() + 4).to_be_bytes());
                msg.extend_from_slice(&fields);
                let _ = s.write_all(&msg).await;
                let _ = s.shutdown().await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_postgres_password_is_an_auth_error() {
    let port = refusing_server().await;
    let e = open_err(&format!(
        "postgres://civmap:not-the-password@127.0.0.1:{port}/civmap"
    ))
    .await;
    let m = e.to_string();
    assert!(matches!(e, StoreError::Auth(_)), "{m}");
    assert!(
        m.contains("password authentication failed")
            && m.contains(&format!("civmap@127.0.0.1:{port}/civmap")),
        "{m}"
    );
    assert!(
        !m.contains("not-the-password"),
        "the password is never shown: {m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_postgres_is_unavailable_after_a_bounded_wait() {
    // Accepts connections and never says a word (a hung server, a half-open firewall).
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let e = tokio::time::timeout(
        Duration::from_secs(30),
        open_err(&format!("postgres://civmap@127.0.0.1:{port}/civmap")),
    )
    .await
    .expect("opening a silent server must give up by itself");
    let m = e.to_string();
    assert!(matches!(e, StoreError::Unavailable(_)), "{m}");
    assert!(
        m.contains(&format!("127.0.0.1:{port}")) && m.contains("no answer"),
        "{m}"
    );
    held.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_postgres_connections_are_replaced_without_an_error() {
    use sqlx::Connection as _;
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = db.open().await;
    let first = problem(121.4, 31.2, "garbage");
    store
        .insert_problem(&first, NewEvent::new(EventKind::Created, t(3, 9)))
        .await
        .unwrap();
    assert!(store.get_problem(first.id).await.unwrap().is_some());

    // An administrator (or a restart of a pooler) ends every connection of the store while the
    // server stays up: the writer's kept connection and the idle readers.
    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let killed: i64 = sqlx::query_scalar(
        // Materialized first: PostgreSQL may evaluate the conditions of one WHERE in any order,
        // and this connection must not end itself.
        "WITH victims AS MATERIALIZED (SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()) \
         SELECT COUNT(*) FROM victims WHERE pg_terminate_backend(pid, 5000)",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(killed >= 1, "no connection of the store was ended");
    admin.close().await.unwrap();

    // The database is there: no write and no read may fail for it.
    let second = problem(121.4, 31.2, "garbage");
    store
        .insert_problem(&second, NewEvent::new(EventKind::Created, t(3, 10)))
        .await
        .unwrap();
    store.ping().await.unwrap();
    assert!(store.get_problem(second.id).await.unwrap().is_some());
    assert_eq!(store.load_problems().await.unwrap().len(), 2);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_directory_moved_away_and_back_answers_unavailable_then_serves() {
    let top = tempfile::tempdir().unwrap();
    let dir = top.path().join("data");
    let away = top.path().join("data.unmounted");
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("civmap.db");
    let opts = StoreOptions {
        photo_dir: top.path().join("photos"),
        ..StoreOptions::default()
    };
    let store = Store::open(path.to_str().unwrap(), opts).await.unwrap();
    let mut kept = Vec::new();
    for _ in 0..10 {
        let p = problem(121.4, 31.2, "garbage");
        store
            .insert_problem(&p, NewEvent::new(EventKind::Created, t(3, 9)))
            .await
            .unwrap();
        kept.push(p.id);
    }

    // The disk holding the data directory goes away (unmounted, a network share lost).
    std::fs::rename(&dir, &away).unwrap();
    let e = store.ping().await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
    assert_one_line(&e);
    let refused = problem(121.4, 31.2, "garbage");
    let e = store
        .insert_problem(&refused, NewEvent::new(EventKind::Created, t(3, 9)))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
    assert!(store.get_problem(kept[0]).await.is_err());

    // It comes back with everything on it; the running store serves again.
    std::fs::rename(&away, &dir).unwrap();
    store.ping().await.unwrap();
    let after = problem(121.4, 31.2, "garbage");
    store
        .insert_problem(&after, NewEvent::new(EventKind::Created, t(3, 10)))
        .await
        .unwrap();
    let ids: Vec<_> = store
        .load_problems()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    for id in &kept {
        assert!(ids.contains(id), "{id} lost");
    }
    assert!(ids.contains(&after.id));
    assert!(!ids.contains(&refused.id), "a refused write left a trace");
    assert_eq!(ids.len(), kept.len() + 1);
    store.close().await;
}
