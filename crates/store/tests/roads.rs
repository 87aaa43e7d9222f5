//! The road ways table (migration 4): replaced as a whole, read back exactly (tags and
//! coordinates to the last bit), refused when malformed without touching what is stored, kept
//! through backup and restore — on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)]

use crate::common;

use civmap_store::{RoadWay, Store, StoreError};
use common::TestDb;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` seeded ways of 2 to 30 nodes with Chinese names.
fn ways(n: usize, seed: u64) -> Vec<RoadWay> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let len = rng.random_range(2..30);
            RoadWay {
                id: 1_000_000 + i as i64,
                tags: vec![
                    (
                        "highway".into(),
                        ["residential", "primary", "footway"][i % 3].into(),
                    ),
                    ("name".into(), format!("四平路{i}弄")),
                    (
                        "oneway".into(),
                        if i % 2 == 0 { "yes" } else { "no" }.into(),
                    ),
                ],
                nodes: (0..len)
                    .map(|k| {
                        (
                            i as i64 * 100 + k,
                            121.49 + rng.random_range(0.0..0.02),
                            31.27 + rng.random_range(0.0..0.02),
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

on_both!(road_ways_are_replaced_whole_read_back_exactly_and_kept);

async fn road_ways_are_replaced_whole_read_back_exactly_and_kept(db: TestDb) {
    let store = db.open().await;
    assert!(store.load_road_ways().await.unwrap().is_empty());
    let first = ways(1_234, 1);
    store.replace_road_ways(&first).await.unwrap();
    assert_eq!(store.load_road_ways().await.unwrap(), first);
    assert_eq!(store.road_way_count().await.unwrap(), 1_234);

    // Replaced, not added to.
    let second = ways(10, 2);
    store.replace_road_ways(&second).await.unwrap();
    assert_eq!(store.load_road_ways().await.unwrap(), second);

    // A way of one node, or a position off the globe, anywhere: refused, nothing changed.
    let mut bad = ways(700, 3);
    bad[650].nodes.truncate(1);
    let e = store.replace_road_ways(&bad).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e}");
    let mut bad = ways(700, 4);
    bad[600].nodes[1].2 = 91.0;
    let e = store.replace_road_ways(&bad).await.unwrap_err();
    assert!(e.to_string().contains("WGS-84"), "{e}");
    assert_eq!(store.load_road_ways().await.unwrap(), second);

    // In the backup, and restored into an empty database of the same backend.
    let backup = db.dir.path().join("backup.db");
    store.backup_to(&backup).await.unwrap();
    let target = db.sibling().await;
    Store::restore_from(&target.url, &backup, target.opts())
        .await
        .unwrap();
    let restored = target.open().await;
    assert_eq!(restored.load_road_ways().await.unwrap(), second);
    restored.close().await;
    store.close().await;
}
