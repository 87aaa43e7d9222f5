//! The basemap table (migration 2): replaced as a whole, read back exactly, kept across a
//! restart and through backup and restore, never half-written — on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)]

use crate::common;

use civmap_domain::EventKind;
use civmap_store::{BasemapFeature, NewEvent, Store, StoreError};
use common::{TestDb, problem, t};
use geo_types::{Geometry, LineString, MultiPolygon, Point, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` features of every layer and geometry kind, with Chinese names, seeded.
fn features(n: usize, seed: u64) -> Vec<BasemapFeature> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let (x, y) = (
                121.49 + rng.random_range(0.0..0.02),
                31.27 + rng.random_range(0.0..0.02),
            );
            let d = rng.random_range(0.0001..0.001);
            let square = |x: f64, y: f64, d: f64| {
                LineString::from(vec![(x, y), (x + d, y), (x + d, y + d), (x, y + d), (x, y)])
            };
            let (layer, class, geometry): (&str, &str, Geometry<f64>) = match i % 5 {
                0 => (
                    "roads",
                    "primary",
                    LineString::from(vec![(x, y), (x + d, y + d / 3.0)]).into(),
                ),
                1 => (
                    "buildings",
                    "apartments",
                    Polygon::new(
                        square(x, y, d),
                        vec![square(x + d / 4.0, y + d / 4.0, d / 4.0)],
                    )
                    .into(),
                ),
                2 => (
                    "green",
                    "park",
                    MultiPolygon::new(vec![
                        Polygon::new(square(x, y, d), vec![]),
                        Polygon::new(square(x + 2.0 * d, y, d), vec![]),
                    ])
                    .into(),
                ),
                3 => (
                    "water",
                    "river",
                    LineString::from(vec![(x, y), (x, y + d)]).into(),
                ),
                _ => ("pois", "school", Point::new(x, y).into()),
            };
            BasemapFeature {
                layer: layer.into(),
                class: class.into(),
                name: (i % 3 != 0).then(|| format!("四平路{i}号")),
                geometry,
                external_id: (i % 7 != 0).then(|| format!("osm:way/{i}")),
            }
        })
        .collect()
}

on_both!(replaced_whole_read_back_exactly_and_kept);

async fn replaced_whole_read_back_exactly_and_kept(db: TestDb) {
    let store = db.open().await;
    assert!(store.load_basemap().await.unwrap().is_empty());
    // More rows than one INSERT holds, written while the group-commit writer is busy too.
    let first = features(1_234, 1);
    let writes = async {
        for k in 0..50 {
            let p = problem(121.5, 31.28, "garbage");
            store
                .insert_problem(
                    &p,
                    NewEvent::new(EventKind::Created, t(3, 9)).note(format!("{k}")),
                )
                .await
                .unwrap();
        }
    };
    let (replaced, ()) = tokio::join!(store.replace_basemap(&first), writes);
    replaced.unwrap();
    assert_eq!(store.load_basemap().await.unwrap(), first);
    assert_eq!(store.basemap_count().await.unwrap(), 1_234);
    assert_eq!(store.load_problems().await.unwrap().len(), 50);

    // Replaced, not added to.
    let second = features(10, 2);
    store.replace_basemap(&second).await.unwrap();
    assert_eq!(store.load_basemap().await.unwrap(), second);

    // A bad feature anywhere: refused, and the stored basemap is untouched.
    let mut bad = features(700, 3);
    bad[650].layer = "admin".into();
    let e = store.replace_basemap(&bad).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e}");
    assert!(e.to_string().contains("admin"), "{e}");
    assert_eq!(store.load_basemap().await.unwrap(), second);

    // Kept across a restart.
    store.close().await;
    let store = db.open().await;
    assert_eq!(store.load_basemap().await.unwrap(), second);

    // In the backup, and restored into an empty database of the same backend.
    let backup = db.dir.path().join("backup.db");
    store.backup_to(&backup).await.unwrap();
    let target = db.sibling().await;
    Store::restore_from(&target.url, &backup, target.opts())
        .await
        .unwrap();
    let restored = target.open().await;
    assert_eq!(restored.load_basemap().await.unwrap(), second);
    restored.close().await;
    store.close().await;
}
