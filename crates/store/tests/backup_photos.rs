//! Backups carry the photos: a backup file holds every photo's bytes, a restore writes them
//! into the target's photo directory before the rows, a damaged photo in a backup stops the
//! restore before any row is written, and a backup of an older civmap (no photos inside)
//! restores its tables and says so — on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)]

use crate::common;

use civmap_store::{Store, StoreError};
use common::TestDb;
use sqlx::Connection as _;

on_both!(
    photos_come_back_byte_for_byte,
    a_damaged_photo_stops_the_restore_before_any_row,
    an_old_backup_without_photos_says_so,
);

/// Distinct photo bytes, several hundred KiB in all (large enough to span many pages).
fn photo(i: u8) -> Vec<u8> {
    (0..150_000u32)
        .map(|k| (k.wrapping_mul(31).wrapping_add(u32::from(i) * 7) % 251) as u8)
        .collect()
}

/// A store with three photos; their ids and bytes.
async fn with_photos(db: &TestDb) -> (Store, Vec<(String, Vec<u8>)>) {
    let store = db.open().await;
    let mut out = Vec::new();
    for i in 0..3 {
        let bytes = photo(i);
        let meta = store.put_photo(&bytes, "image/jpeg", 20, 10).await.unwrap();
        out.push((meta.id, bytes));
    }
    (store, out)
}

/// Runs SQL on a backup file.
async fn on_backup(file: &std::path::Path, sql: &str) {
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(file);
    let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
    c.close().await.unwrap();
}

async fn photos_come_back_byte_for_byte(db: TestDb) {
    let (store, photos) = with_photos(&db).await;
    let file = db.dir.path().join("one.civmap-backup");
    let report = store.backup_to(&file).await.unwrap();
    assert_eq!(report.photos, 3);
    assert_eq!(
        report.photo_bytes,
        photos.iter().map(|p| p.1.len() as u64).sum::<u64>()
    );
    assert!(report.missing.is_empty());
    let counts = store.row_counts().await.unwrap();
    store.close().await;
    // One file: nothing beside it.
    let names: Vec<String> = std::fs::read_dir(db.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("one."))
        .collect();
    assert_eq!(names, ["one.civmap-backup"]);

    let target = db.sibling().await;
    let report = Store::restore_from(&target.url, &file, target.opts())
        .await
        .unwrap();
    assert_eq!(report.photos, 3);
    assert!(report.missing.is_empty() && !report.without_photos);
    let restored = target.open().await;
    assert_eq!(restored.row_counts().await.unwrap(), counts);
    for (id, bytes) in &photos {
        let on_disk = std::fs::read(restored.photo_path(id).unwrap()).unwrap();
        assert!(on_disk == *bytes, "photo {id} differs");
        assert!(restored.photo_meta(id).await.unwrap().is_some());
    }
    restored.close().await;
}

async fn a_damaged_photo_stops_the_restore_before_any_row(db: TestDb) {
    let (store, photos) = with_photos(&db).await;
    let file = db.dir.path().join("damaged.civmap-backup");
    store.backup_to(&file).await.unwrap();
    store.close().await;
    let (bad, _) = &photos[1];
    on_backup(
        &file,
        &format!("UPDATE backup_photos SET bytes = x'00ff00' WHERE id = '{bad}'"),
    )
    .await;
    let target = db.sibling().await;
    let e = Store::restore_from(&target.url, &file, target.opts())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Corrupt(m) if m.contains(bad.as_str())),
        "{e}"
    );
    let t = target.open().await;
    assert!(
        t.row_counts().await.unwrap().iter().all(|(_, n)| *n == 0),
        "no row may be restored"
    );
    t.close().await;
}

async fn an_old_backup_without_photos_says_so(db: TestDb) {
    let (store, _) = with_photos(&db).await;
    let file = db.dir.path().join("old.civmap-backup");
    store.backup_to(&file).await.unwrap();
    store.close().await;
    // What a civmap before photos were included wrote.
    on_backup(&file, "DROP TABLE backup_photos").await;
    let target = db.sibling().await;
    let report = Store::restore_from(&target.url, &file, target.opts())
        .await
        .unwrap();
    assert!(report.without_photos);
    assert_eq!(report.photos, 0);
    let t = target.open().await;
    let photos = t
        .row_counts()
        .await
        .unwrap()
        .into_iter()
        .find(|(table, _)| *table == "photos")
        .unwrap();
    assert_eq!(photos.1, 3, "the metadata is restored");
    t.close().await;
}
