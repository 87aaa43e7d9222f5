//! `civmap backup FILE` and `civmap restore FILE`: one file holds the database and the bytes of
//! every photo (`civmap_store::Store::backup_to`), and a restore brings both back into an empty
//! database and the photo directory.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use civmap_store::{Store, StoreOptions};

/// Photo ids named in a message before the rest are only counted.
const IDS_SHOWN: usize = 5;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup file: a SQLite database holding every table and, in the table
    /// `backup_photos`, the bytes of every photo. Never overwritten. The photos are read from
    /// (restored into) the photo directory of the configuration — the one `serve` uses.
    pub file: PathBuf,
}

fn some_ids(ids: &[String]) -> String {
    let mut s = ids
        .iter()
        .take(IDS_SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > IDS_SHOWN {
        let _ = write!(s, " and {} more", ids.len() - IDS_SHOWN);
    }
    s
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `civmap backup FILE`: the database and its photos, from one snapshot, while serving.
pub async fn backup(args: BackupArgs, db: &str, opts: StoreOptions) -> Result<()> {
    let store = Store::open(db, opts)
        .await
        .context("cannot open the database")?;
    let result = store.backup_to(&args.file).await;
    let photo_dir = store.photo_dir().to_path_buf();
    store.close().await;
    let report = result.with_context(|| format!("backup to {}", args.file.display()))?;
    eprintln!(
        "civmap: backup written to {}: the database and {} photos ({:.1} MiB) from {}",
        args.file.display(),
        report.photos,
        mib(report.photo_bytes),
        photo_dir.display()
    );
    if !report.missing.is_empty() {
        bail!(
            "{} photos named by the database are missing from {} and are not in the backup: {}",
            report.missing.len(),
            photo_dir.display(),
            some_ids(&report.missing)
        );
    }
    Ok(())
}

/// `civmap restore FILE`: the photos into the photo directory, then every table into the
/// EMPTY database.
pub async fn restore(args: BackupArgs, db: &str, opts: StoreOptions, shown_db: &str) -> Result<()> {
    let report = Store::restore_from(db, &args.file, opts.clone())
        .await
        .with_context(|| format!("restore of {}", args.file.display()))?;
    let store = Store::open(db, opts)
        .await
        .context("cannot open the restored database")?;
    let counts = store.row_counts().await;
    let photo_dir = store.photo_dir().to_path_buf();
    store.close().await;
    let counts = counts?
        .iter()
        .map(|(table, n)| format!("{n} {table}"))
        .collect::<Vec<_>>()
        .join(", ");
    eprintln!(
        "civmap: restored {} into {}: {counts}; {} photos ({:.1} MiB) written to {}",
        args.file.display(),
        shown_db,
        report.photos,
        mib(report.photo_bytes),
        photo_dir.display()
    );
    if report.without_photos {
        eprintln!(
            "civmap: warning: {} holds no photos (written by an older civmap): copy the old photo directory into {}",
            args.file.display(),
            photo_dir.display()
        );
    } else if !report.missing.is_empty() {
        eprintln!(
            "civmap: warning: {} photos named by the database were not in the backup (missing when it was written): {}",
            report.missing.len(),
            some_ids(&report.missing)
        );
    }
    Ok(())
}
