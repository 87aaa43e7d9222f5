//! Backups and restores. One backup format for both backends: a civmap SQLite file.
//!
//! - SQLite → backup: `VACUUM INTO`, which copies one read snapshot while the writer goes on.
//! - PostgreSQL → backup: every table copied, from one `REPEATABLE READ` snapshot, into a new
//!   SQLite store.
//! - backup → any backend: the backup is copied to a temporary file (so it is never changed),
//!   opened as a store (which migrates an older backup), and every table copied into the empty
//!   target in one transaction.

use std::path::{Path, PathBuf};

use sqlx::Connection as _;

use crate::error::{StoreError, from_sqlx};
use crate::open::check_sqlite_path;
use crate::photos::sync_dir;
use crate::sql::{Arg, Conn, Get, RawConn, col, multi_insert};
use crate::writer::Op;
use crate::{Pooled, Store, StoreOptions};

#[derive(Debug, Clone, Copy)]
enum Ty {
    Uuid,
    I64,
    F64,
    Text,
    Bool,
}

struct Table {
    name: &'static str,
    cols: &'static [(&'static str, Ty)],
    /// Column to page by (the first column); `None`: small table, read at once.
    paged: bool,
}

use Ty::{Bool, F64, I64, Text, Uuid};

/// Every table, parents before children (foreign keys).
const TABLES: &[Table] = &[
    Table {
        name: "users",
        cols: &[
            ("id", Uuid),
            ("name", Text),
            ("display_name", Text),
            ("role", Text),
            ("street", Text),
            ("password_hash", Text),
            ("disabled", Bool),
            ("created_at", I64),
        ],
        paged: true,
    },
    Table {
        name: "categories",
        cols: &[
            ("code", Text),
            ("name_zh", Text),
            ("name_en", Text),
            ("weight", F64),
            ("deadline_hours", I64),
            ("service_minutes", I64),
            ("indoor", Bool),
        ],
        paged: true,
    },
    Table {
        name: "photos",
        cols: &[
            ("id", Text),
            ("mime", Text),
            ("width", I64),
            ("height", I64),
            ("bytes", I64),
            ("created_at", I64),
        ],
        paged: true,
    },
    Table {
        name: "sessions",
        cols: &[
            ("token_hash", Text),
            ("user_id", Uuid),
            ("kind", Text),
            ("created_at", I64),
            ("expires_at", I64),
            ("revoked", Bool),
        ],
        paged: true,
    },
    Table {
        name: "zones",
        cols: &[
            ("id", Uuid),
            ("kind", Text),
            ("name", Text),
            ("poi_kind", Text),
            ("poi", Uuid),
            ("code", Text),
            ("geometry", Text),
            ("min_lon", F64),
            ("min_lat", F64),
            ("max_lon", F64),
            ("max_lat", F64),
            ("external_id", Text),
        ],
        paged: true,
    },
    Table {
        name: "pois",
        cols: &[
            ("id", Uuid),
            ("kind", Text),
            ("name", Text),
            ("geometry", Text),
            ("min_lon", F64),
            ("min_lat", F64),
            ("max_lon", F64),
            ("max_lat", F64),
            ("external_id", Text),
        ],
        paged: true,
    },
    Table {
        name: "zone_assignments",
        cols: &[("zone_id", Uuid), ("user_id", Uuid)],
        paged: false,
    },
    Table {
        name: "problems",
        cols: &[
            ("id", Uuid),
            ("lon", F64),
            ("lat", F64),
            ("category", Text),
            ("severity", Text),
            ("status", Text),
            ("description", Text),
            ("reported_at", I64),
            ("reporter", Uuid),
            ("updated_at", I64),
            ("deadline", I64),
            ("assignee", Uuid),
            ("zone", Uuid),
            ("rework_count", I64),
            ("recurrence_of", Uuid),
            ("merged_into", Uuid),
            ("version", I64),
            ("source", Text),
            ("external_id", Text),
        ],
        paged: true,
    },
    Table {
        name: "events",
        cols: &[
            ("seq", I64),
            ("problem", Uuid),
            ("kind", Text),
            ("actor", Uuid),
            ("at", I64),
            ("note", Text),
            ("photos", Text),
            ("data", Text),
        ],
        paged: true,
    },
    Table {
        name: "basemap",
        cols: &[
            ("seq", I64),
            ("layer", Text),
            ("class", Text),
            ("name", Text),
            ("geometry", Text),
            ("min_lon", F64),
            ("min_lat", F64),
            ("max_lon", F64),
            ("max_lat", F64),
            ("external_id", Text),
        ],
        paged: true,
    },
];

/// Rows read per page and written per statement.
const PAGE: usize = 1000;

fn read_arg(g: &dyn Get, i: usize, ty: Ty) -> Result<Arg, StoreError> {
    Ok(match ty {
        Uuid => Arg::Uuid(g.opt_uuid(i).map_err(col)?),
        I64 => Arg::I64(g.opt_i64(i).map_err(col)?),
        F64 => Arg::F64(g.opt_f64(i).map_err(col)?),
        Text => Arg::Text(g.opt_str(i).map_err(col)?.map(str::to_owned)),
        Bool => Arg::Bool(g.bool(i).map_err(col)?),
    })
}

/// Copies every row of `src` into `dst` (inside the caller's transaction). `dst` must be empty.
pub(crate) async fn copy_all(src: &Store, dst: &mut Conn<'_>) -> Result<(), StoreError> {
    for t in TABLES {
        let nonempty = dst
            .opt(
                &format!("SELECT 1 FROM {} LIMIT 1", t.name),
                vec![],
                &|_| Ok(()),
            )
            .await?
            .is_some();
        if nonempty {
            return Err(StoreError::Invalid(format!(
                "{}: the target database is not empty (table {} has rows); restore needs an empty database",
                dst.loc, t.name
            )));
        }
    }
    let loc = src.location();
    let mut pooled = src.acquire().await?;
    match &mut pooled {
        Pooled::Sqlite(c) => {
            // One read transaction: every SELECT below sees the same snapshot.
            let mut tx = c.begin().await.map_err(|e| from_sqlx(loc, e))?;
            let mut s = Conn {
                raw: RawConn::Sqlite(&mut tx),
                loc,
            };
            copy_tables(&mut s, dst).await?;
            tx.rollback().await.map_err(|e| from_sqlx(loc, e))?;
        }
        Pooled::Pg(c) => {
            let mut tx = c
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
                .map_err(|e| from_sqlx(loc, e))?;
            let mut s = Conn {
                raw: RawConn::Pg(&mut tx),
                loc,
            };
            copy_tables(&mut s, dst).await?;
            tx.rollback().await.map_err(|e| from_sqlx(loc, e))?;
        }
    }
    if dst.is_pg() {
        // Restored events keep their numbers; new ones continue after them.
        dst.one(
            "SELECT setval(pg_get_serial_sequence('events', 'seq'), COALESCE(MAX(seq), 1), \
             MAX(seq) IS NOT NULL)::text FROM events",
            vec![],
            &|_| Ok(()),
        )
        .await?;
    }
    Ok(())
}

async fn copy_tables(src: &mut Conn<'_>, dst: &mut Conn<'_>) -> Result<(), StoreError> {
    for t in TABLES {
        let names: Vec<&str> = t.cols.iter().map(|c| c.0).collect();
        let list = names.join(", ");
        let key = names[0];
        let mut last: Option<Arg> = None;
        loop {
            let (sql, args) = match (&last, t.paged) {
                (_, false) => (format!("SELECT {list} FROM {}", t.name), vec![]),
                (None, true) => (
                    format!("SELECT {list} FROM {} ORDER BY {key} LIMIT {PAGE}", t.name),
                    vec![],
                ),
                (Some(k), true) => (
                    format!(
                        "SELECT {list} FROM {} WHERE {key} > $1 ORDER BY {key} LIMIT {PAGE}",
                        t.name
                    ),
                    vec![k.clone()],
                ),
            };
            let rows: Vec<Vec<Arg>> = src
                .all(&sql, args, &|g| {
                    t.cols
                        .iter()
                        .enumerate()
                        .map(|(i, (_, ty))| read_arg(g, i, *ty))
                        .collect()
                })
                .await?;
            let n = rows.len();
            for chunk in rows.chunks(PAGE) {
                let sql = multi_insert(t.name, &names, chunk.len());
                let args: Vec<Arg> = chunk.iter().flatten().cloned().collect();
                dst.exec(&sql, args).await?;
            }
            if !t.paged || n < PAGE {
                break;
            }
            last = rows.last().map(|r| r[0].clone());
        }
    }
    Ok(())
}

fn refuse_existing(path: &Path) -> Result<(), StoreError> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(StoreError::Invalid(format!(
            "{} exists; a backup never overwrites a file",
            path.display()
        )));
    }
    Ok(())
}

pub(crate) async fn backup_to(store: &Store, path: &Path) -> Result<(), StoreError> {
    refuse_existing(path)?;
    match store.location() {
        crate::Location::Sqlite(db) => {
            use sqlx::ConnectOptions as _;
            let loc = store.location();
            // A connection of its own: the pooled readers are query-only.
            let mut c = crate::open::sqlite_options(db, true)
                .connect()
                .await
                .map_err(|e| from_sqlx(loc, e))?;
            let target = path.to_str().ok_or_else(|| {
                StoreError::Invalid(format!("{}: backup path is not UTF-8", path.display()))
            })?;
            let r = Conn {
                raw: RawConn::Sqlite(&mut c),
                loc,
            }
            .exec("VACUUM INTO $1", vec![target.into()])
            .await;
            let _ = c.close().await;
            if let Err(e) = r {
                let _ = std::fs::remove_file(path);
                return Err(match e {
                    StoreError::Unavailable(m) | StoreError::Internal(m) => StoreError::Io {
                        path: path.display().to_string(),
                        message: format!("cannot write the backup: {m}"),
                    },
                    other => other,
                });
            }
            let f = std::fs::File::open(path).map_err(|e| StoreError::io(path, &e))?;
            f.sync_all().map_err(|e| StoreError::io(path, &e))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                sync_dir(dir).map_err(|e| StoreError::io(dir, &e))?;
            }
            Ok(())
        }
        crate::Location::Postgres { .. } => {
            let opts = StoreOptions {
                synchronous_full: true,
                max_batch: 1,
                photo_dir: store.photo_dir().to_path_buf(),
            };
            let dst = Store::open_sqlite(path, &opts).await?;
            let r = dst.submit(Op::CopyFrom(store.clone())).await;
            dst.close().await;
            if let Err(e) = r {
                remove_db_files(path);
                return Err(e);
            }
            Ok(())
        }
    }
}

fn remove_db_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Rewrites the temporary copy's path in an error into the backup's own path.
fn relocate(e: StoreError, tmp: &Path, real: &Path) -> StoreError {
    let (t, r) = (tmp.display().to_string(), real.display().to_string());
    let fix = |s: String| s.replace(&t, &r);
    match e {
        StoreError::NotADatabase { path, reason } => StoreError::NotADatabase {
            path: fix(path),
            reason,
        },
        StoreError::Corrupt(m) => StoreError::Corrupt(fix(m)),
        StoreError::Unavailable(m) => StoreError::Unavailable(fix(m)),
        StoreError::Internal(m) => StoreError::Internal(fix(m)),
        other => other,
    }
}

pub(crate) async fn restore_from(
    url: &str,
    backup: &Path,
    opts: StoreOptions,
) -> Result<(), StoreError> {
    check_sqlite_path(backup, false)?;
    if std::fs::metadata(backup).map_or(0, |m| m.len()) == 0 {
        return Err(StoreError::NotADatabase {
            path: backup.display().to_string(),
            reason: "the file is empty".into(),
        });
    }
    let tmp_dir = std::env::temp_dir();
    let tmp = tmp_dir.join(format!(
        "civmap-restore-{}-{}.db",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    let copy = |from: &Path, to: &Path| {
        std::fs::copy(from, to)
            .map(drop)
            .map_err(|e| StoreError::io(from, &e))
    };
    copy(backup, &tmp)?;
    let mut wal = backup.as_os_str().to_owned();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    if wal.exists() {
        let mut twal = tmp.as_os_str().to_owned();
        twal.push("-wal");
        if let Err(e) = copy(&wal, Path::new(&twal)) {
            remove_db_files(&tmp);
            return Err(e);
        }
    }
    let result = async {
        let src_opts = StoreOptions {
            synchronous_full: false,
            max_batch: 1,
            photo_dir: tmp_dir.clone(),
        };
        let src = Store::open_sqlite(&tmp, &src_opts)
            .await
            .map_err(|e| relocate(e, &tmp, backup))?;
        let dst = match Store::open(url, opts).await {
            Ok(d) => d,
            Err(e) => {
                src.close().await;
                return Err(e);
            }
        };
        let r = dst.submit(Op::CopyFrom(src.clone())).await;
        dst.close().await;
        src.close().await;
        r.map(drop)
    }
    .await;
    remove_db_files(&tmp);
    result
}
