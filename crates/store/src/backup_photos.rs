//! The photos of a backup: their bytes go into the backup file itself, one row per photo in
//! the table [`PHOTO_TABLE`] beside the database's own tables, so one file restores everything.
//!
//! Streamed both ways: a backup reads one photo file at a time and inserts it; a restore pages
//! through the ids and reads one blob at a time, so memory stays at one photo (at most the
//! server's `limits.photo_bytes`) plus a page of ids, whatever the number of photos.

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Connection as _};

use crate::error::{Location, StoreError, from_sqlx};
use crate::photos;

/// The table of a backup file that holds the photos' bytes. Not part of the live schema: only
/// backups have it, and a civmap that opens a backup as its database ignores it.
pub(crate) const PHOTO_TABLE: &str = "backup_photos";

/// Photo ids read per page while walking a backup's photos (64 bytes each).
const ID_PAGE: i64 = 1000;

/// What a backup holds besides the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// Photos copied into the backup file.
    pub photos: u64,
    /// Their bytes, in total.
    pub photo_bytes: u64,
    /// Photos the database names whose files are missing from the photo directory (the backup
    /// has their metadata but not their bytes).
    pub missing: Vec<String>,
}

/// What a restore brought back besides the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Photos written into the photo directory.
    pub photos: u64,
    /// Their bytes, in total.
    pub photo_bytes: u64,
    /// Photos the restored database names that the backup did not hold (a backup written by
    /// an older civmap holds none: copy its photo directory by hand).
    pub missing: Vec<String>,
    /// The backup carries no photo table at all (written by a civmap before photos were
    /// included).
    pub without_photos: bool,
}

fn connect_options(file: &Path, read_only: bool) -> SqliteConnectOptions {
    let opts = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(false)
        .read_only(read_only)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(std::time::Duration::from_secs(5))
        .disable_statement_logging();
    if read_only {
        opts
    } else {
        // One file: no write-ahead log left beside the backup.
        opts.journal_mode(SqliteJournalMode::Delete)
    }
}

/// The next page of ids of `table` (a table or a sub-select with an `id` column) after
/// `after`, in order.
async fn id_page(
    c: &mut SqliteConnection,
    loc: &Location,
    table: &str,
    after: &str,
) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar(&format!(
        "SELECT id FROM {table} WHERE id > ?1 ORDER BY id LIMIT {ID_PAGE}"
    ))
    .bind(after)
    .fetch_all(&mut *c)
    .await
    .map_err(|e| from_sqlx(loc, e))
}

/// Adds the bytes of every photo that the backup file `file` names (its `photos` table) from
/// `photo_dir`, in one transaction, and leaves the file in rollback-journal mode (one file).
pub(crate) async fn add_to_backup(
    file: &Path,
    photo_dir: &Path,
) -> Result<BackupReport, StoreError> {
    let loc = Location::Sqlite(file.to_path_buf());
    let mut c = connect_options(file, false)
        .connect()
        .await
        .map_err(|e| from_sqlx(&loc, e))?;
    let result = async {
        let mut tx = c.begin().await.map_err(|e| from_sqlx(&loc, e))?;
        sqlx::query(&format!(
            "CREATE TABLE {PHOTO_TABLE} (id TEXT PRIMARY KEY NOT NULL, bytes BLOB NOT NULL)"
        ))
        .execute(&mut *tx)
        .await
        .map_err(|e| from_sqlx(&loc, e))?;
        let mut report = BackupReport::default();
        let mut after = String::new();
        loop {
            let ids = id_page(&mut tx, &loc, "photos", &after).await?;
            let Some(last) = ids.last() else { break };
            after.clone_from(last);
            for id in ids {
                let path = photos::path(photo_dir, &id)?;
                let bytes = match tokio::fs::read(&path).await {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        report.missing.push(id);
                        continue;
                    }
                    Err(e) => return Err(StoreError::io(&path, &e)),
                };
                sqlx::query(&format!(
                    "INSERT INTO {PHOTO_TABLE} (id, bytes) VALUES (?1, ?2)"
                ))
                .bind(&id)
                .bind(&bytes)
                .execute(&mut *tx)
                .await
                .map_err(|e| from_sqlx(&loc, e))?;
                report.photos += 1;
                report.photo_bytes += bytes.len() as u64;
            }
        }
        tx.commit().await.map_err(|e| from_sqlx(&loc, e))?;
        Ok(report)
    }
    .await;
    let _ = c.close().await;
    result
}

/// Writes every photo of the backup file `file` into `photo_dir` (content-addressed, atomic,
/// each checked against its sha256), and lists the photos its `photos` table names that it
/// does not hold.
pub(crate) async fn restore_from_backup(
    file: &Path,
    shown: &Path,
    photo_dir: &Path,
) -> Result<RestoreReport, StoreError> {
    let loc = Location::Sqlite(shown.to_path_buf());
    let mut c = connect_options(file, true)
        .connect()
        .await
        .map_err(|e| from_sqlx(&loc, e))?;
    let result = async {
        let mut report = RestoreReport::default();
        let has_table: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")
                .bind(PHOTO_TABLE)
                .fetch_optional(&mut c)
                .await
                .map_err(|e| from_sqlx(&loc, e))?;
        if has_table.is_none() {
            report.without_photos = true;
        } else {
            let mut after = String::new();
            loop {
                let ids = id_page(&mut c, &loc, PHOTO_TABLE, &after).await?;
                let Some(last) = ids.last() else { break };
                after.clone_from(last);
                for id in ids {
                    let target = photos::path(photo_dir, &id)?;
                    let bytes: Vec<u8> = sqlx::query_scalar(&format!(
                        "SELECT bytes FROM {PHOTO_TABLE} WHERE id = ?1"
                    ))
                    .bind(&id)
                    .fetch_one(&mut c)
                    .await
                    .map_err(|e| from_sqlx(&loc, e))?;
                    if photos::sha256_hex(&bytes) != id {
                        return Err(StoreError::Corrupt(format!(
                            "{}: photo {id} does not hold the bytes its name (sha256) says",
                            shown.display()
                        )));
                    }
                    let n = bytes.len() as u64;
                    let shown_target = target.clone();
                    tokio::task::spawn_blocking(move || photos::write_atomic(&target, &bytes))
                        .await
                        .map_err(|e| StoreError::Internal(format!("photo writer task: {e}")))?
                        .map_err(|e| StoreError::io(&shown_target, &e))?;
                    report.photos += 1;
                    report.photo_bytes += n;
                }
            }
            let lacking =
                format!("(SELECT id FROM photos WHERE id NOT IN (SELECT id FROM {PHOTO_TABLE}))");
            let mut after = String::new();
            loop {
                let ids = id_page(&mut c, &loc, &lacking, &after).await?;
                let Some(last) = ids.last() else { break };
                after.clone_from(last);
                report.missing.extend(ids);
            }
        }
        Ok(report)
    }
    .await;
    let _ = c.close().await;
    result
}

/// Whether the backup file holds photos (its `backup_photos` table). `false` for a backup of
/// an older civmap, and for a file that cannot be opened read-only (the caller's own checks
/// then name the problem).
pub(crate) async fn holds_photos(file: &Path) -> bool {
    let Ok(mut c) = connect_options(file, true).connect().await else {
        return false;
    };
    let found: Result<Option<i64>, _> =
        sqlx::query_scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")
            .bind(PHOTO_TABLE)
            .fetch_optional(&mut c)
            .await;
    let _ = c.close().await;
    matches!(found, Ok(Some(_)))
}

/// Copies the database of the backup `src` into the new file `dst` without the photos' bytes
/// (which a restore reads from `src` itself): the working copy a restore opens and migrates
/// is then the size of the database, not of the photos. Schema objects are recreated from
/// `src`'s own SQL, tables first, then their rows, then indexes and triggers.
pub(crate) async fn copy_without_photos(
    src: &Path,
    dst: &Path,
    shown: &Path,
) -> Result<(), StoreError> {
    let loc = Location::Sqlite(shown.to_path_buf());
    let src_name = src.to_str().ok_or_else(|| {
        StoreError::Invalid(format!("{}: backup path is not UTF-8", src.display()))
    })?;
    let mut c = SqliteConnectOptions::new()
        .filename(dst)
        .create_if_missing(true)
        .foreign_keys(false)
        .journal_mode(SqliteJournalMode::Delete)
        .synchronous(SqliteSynchronous::Off)
        .disable_statement_logging()
        .connect()
        .await
        .map_err(|e| from_sqlx(&loc, e))?;
    let result = async {
        sqlx::query("ATTACH DATABASE ?1 AS src")
            .bind(src_name)
            .execute(&mut c)
            .await
            .map_err(|e| from_sqlx(&loc, e))?;
        let objects: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT type, name, tbl_name, sql FROM src.sqlite_master \
             WHERE name NOT LIKE 'sqlite_%' AND tbl_name <> ?1 \
             AND name NOT IN (SELECT name FROM pragma_table_list \
                              WHERE schema = 'src' AND type = 'shadow') \
             ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid",
        )
        .bind(PHOTO_TABLE)
        .fetch_all(&mut c)
        .await
        .map_err(|e| from_sqlx(&loc, e))?;
        let mut tx = c.begin().await.map_err(|e| from_sqlx(&loc, e))?;
        for (kind, name, _, sql) in &objects {
            let Some(sql) = sql else { continue };
            sqlx::query(sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| from_sqlx(&loc, e))?;
            if kind == "table" {
                let quoted = name.replace('"', "\"\"");
                sqlx::query(&format!(
                    "INSERT INTO main.\"{quoted}\" SELECT * FROM src.\"{quoted}\""
                ))
                .execute(&mut *tx)
                .await
                .map_err(|e| from_sqlx(&loc, e))?;
            }
        }
        tx.commit().await.map_err(|e| from_sqlx(&loc, e))?;
        sqlx::query("DETACH DATABASE src")
            .execute(&mut c)
            .await
            .map_err(|e| from_sqlx(&loc, e))?;
        Ok(())
    }
    .await;
    let _ = c.close().await;
    result
}
