//! Backups and restores. One backup format for both backends: a civmap SQLite file.
//!
//! - SQLite → backup: `VACUUM INTO`, which copies one read snapshot while the writer goes on.
//! - PostgreSQL → backup: every table copied, from one `REPEATABLE READ` snapshot, into a new
//!   SQLite store.
//! - backup → any backend: the backup's database (not its photos) is copied to a temporary
//!   file (so the backup is never changed), opened as a store (which migrates an older
//!   backup), the photos are written from the backup into the photo directory, and every table
//!   is copied into the empty target in one transaction.
//!
//! The table copy itself (`copy.rs`) runs in the target store's writer, asked for with
//! `Op::CopyFrom`. The photos' bytes go into the same file (`backup_photos.rs`): one file holds
//! everything, and it appears under its name only once complete (written as `FILE.partial`,
//! then renamed).

use std::path::{Path, PathBuf};

use sqlx::Connection as _;

use crate::backup_photos::{self, BackupReport, RestoreReport};
use crate::copy::{Source, ensure_empty};
use crate::error::{Location, StoreError, from_sqlx};
use crate::open::check_sqlite_path;
use crate::photos::sync_dir;
use crate::sql::{Conn, RawConn};
use crate::store::Store;
use crate::types::StoreOptions;
use crate::writer::Op;

fn refuse_existing(path: &Path) -> Result<(), StoreError> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(StoreError::Invalid(format!(
            "{} exists; a backup never overwrites a file",
            path.display()
        )));
    }
    Ok(())
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

/// What the writer of another store copies from to take in all of `store`.
fn copy_source(store: &Store) -> Source {
    Source {
        reads: store.reads().clone(),
        loc: store.location().clone(),
    }
}

impl Store {
    /// Writes a consistent copy of the whole database to `path` (a new SQLite file) while the
    /// store keeps serving. SQLite: `VACUUM INTO` from one read snapshot. PostgreSQL: the same
    /// tables copied into a SQLite file from one `REPEATABLE READ` snapshot, so there is one
    /// backup format and [`Store::restore_from`] takes it into either backend. The bytes of
    /// every photo the copy names are added to the same file (table `backup_photos`), read
    /// from the photo directory one at a time. The file is written as `PATH.partial` and
    /// renamed to `path` when complete, so a backup cut short never looks like one.
    pub async fn backup_to(&self, path: &Path) -> Result<BackupReport, StoreError> {
        refuse_existing(path)?;
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        // A partial file is only ever ours, left by a backup that was killed.
        remove_db_files(&partial);
        let result = async {
            self.copy_database_to(&partial).await?;
            let report = backup_photos::add_to_backup(&partial, self.photo_dir()).await?;
            let f = std::fs::File::open(&partial).map_err(|e| StoreError::io(&partial, &e))?;
            f.sync_all().map_err(|e| StoreError::io(&partial, &e))?;
            refuse_existing(path)?;
            std::fs::rename(&partial, path).map_err(|e| StoreError::io(path, &e))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                sync_dir(dir).map_err(|e| StoreError::io(dir, &e))?;
            }
            Ok(report)
        }
        .await;
        if result.is_err() {
            remove_db_files(&partial);
        }
        result
    }

    /// The database half of a backup: a new SQLite file at `path`.
    async fn copy_database_to(&self, path: &Path) -> Result<(), StoreError> {
        match self.location() {
            Location::Sqlite(db) => {
                use sqlx::ConnectOptions as _;
                let loc = self.location();
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
                    return Err(match e {
                        StoreError::Unavailable(m) | StoreError::Internal(m) => StoreError::Io {
                            path: path.display().to_string(),
                            message: format!("cannot write the backup: {m}"),
                        },
                        other => other,
                    });
                }
                Ok(())
            }
            Location::Postgres { .. } => {
                let opts = StoreOptions {
                    synchronous_full: true,
                    max_batch: 1,
                    photo_dir: self.photo_dir().to_path_buf(),
                };
                let dst = Store::open_sqlite(path, &opts).await?;
                let r = dst.submit(Op::CopyFrom(copy_source(self))).await;
                dst.close().await;
                r.map(drop)
            }
        }
    }

    /// Fills the EMPTY database at `url` from a backup file written by [`Store::backup_to`] (any
    /// civmap SQLite file will do), in one transaction, after writing the backup's photos into
    /// the photo directory of `opts` (so no restored row names missing bytes). Refuses a
    /// database that has any row, before writing anything. The backup file itself is not
    /// changed.
    pub async fn restore_from(
        url: &str,
        backup: &Path,
        opts: StoreOptions,
    ) -> Result<RestoreReport, StoreError> {
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
        let with_photos = backup_photos::holds_photos(backup).await;
        if with_photos {
            // The photos stay in the backup (read from there one at a time): the working
            // copy holds only the database.
            if let Err(e) = backup_photos::copy_without_photos(backup, &tmp, backup).await {
                remove_db_files(&tmp);
                return Err(e);
            }
        } else {
            copy(backup, &tmp)?;
        }
        let mut wal = backup.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        if !with_photos && wal.exists() {
            let mut twal = tmp.as_os_str().to_owned();
            twal.push("-wal");
            if let Err(e) = copy(&wal, Path::new(&twal)) {
                remove_db_files(&tmp);
                return Err(e);
            }
        }
        // Photos are read from the backup itself; from the full copy when the backup could
        // not be opened read-only (a write-ahead log beside it, say).
        let photos_from = if with_photos {
            Some(backup.to_path_buf())
        } else if backup_photos::holds_photos(&tmp).await {
            Some(tmp.clone())
        } else {
            None
        };
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
            let r = async {
                {
                    let loc = dst.location();
                    let mut pooled = dst.reads().acquire(loc).await?;
                    ensure_empty(&mut pooled.conn(loc)).await?;
                }
                let report = if let Some(file) = &photos_from {
                    backup_photos::restore_from_backup(file, backup, dst.photo_dir()).await?
                } else {
                    RestoreReport {
                        without_photos: true,
                        ..RestoreReport::default()
                    }
                };
                dst.submit(Op::CopyFrom(copy_source(&src))).await?;
                Ok(report)
            }
            .await;
            dst.close().await;
            src.close().await;
            r
        }
        .await;
        remove_db_files(&tmp);
        result
    }
}
