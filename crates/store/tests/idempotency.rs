//! The answers of writes sent with an `Idempotency-Key` (migration 8): a key is claimed once,
//! even by many claims at once; its answer is kept and read back; a released claim can be
//! claimed again; keys of two callers are two keys; expired rows are deleted by the next claim
//! — on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use chrono::Duration;
use civmap_store::IdempotencyClaim;
use common::{TestDb, t};

on_both!(keys_are_claimed_once_answered_released_and_expired);

fn claim(caller: &str, key: &str, at_hour: u32) -> IdempotencyClaim {
    IdempotencyClaim {
        caller: caller.to_owned(),
        key: key.to_owned(),
        request: "POST /api/v1/problems".to_owned(),
        fingerprint: "ab".repeat(32),
        at: t(5, at_hour),
    }
}

async fn keys_are_claimed_once_answered_released_and_expired(db: TestDb) {
    let store = db.open().await;
    let long_ago = t(1, 0);

    // Eight claims of one key at once: one wins.
    let c = claim("user:a", "k1", 9);
    let wins = futures_join(&store, &c, long_ago).await;
    assert_eq!(wins, 1, "exactly one of the concurrent claims wins");
    let r = store
        .idempotency_record("user:a", "k1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.answer, None, "in progress until answered");
    assert_eq!(r.request, "POST /api/v1/problems");
    assert_eq!(r.created_at, t(5, 9));

    // The answer is kept, once: a second completion finds no claim in progress.
    assert!(
        store
            .complete_idempotency_key("user:a", "k1", 201, "{\"id\":\"x\"}")
            .await
            .unwrap()
    );
    assert!(
        !store
            .complete_idempotency_key("user:a", "k1", 500, "{}")
            .await
            .unwrap()
    );
    let r = store
        .idempotency_record("user:a", "k1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.answer, Some((201, "{\"id\":\"x\"}".to_owned())));
    // An answered key is not released.
    assert!(!store.release_idempotency_key("user:a", "k1").await.unwrap());

    // Another caller's key of the same name is its own.
    assert!(
        store
            .claim_idempotency_key(&claim("user:b", "k1", 9), long_ago)
            .await
            .unwrap()
    );

    // A released claim (its write failed) can be claimed again.
    assert!(
        store
            .claim_idempotency_key(&claim("user:a", "k2", 9), long_ago)
            .await
            .unwrap()
    );
    assert!(store.release_idempotency_key("user:a", "k2").await.unwrap());
    assert!(
        store
            .idempotency_record("user:a", "k2")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .claim_idempotency_key(&claim("user:a", "k2", 10), long_ago)
            .await
            .unwrap()
    );

    // Rows older than the retention are deleted by the next claim, and the key is new again.
    let later = claim("user:a", "k1", 9);
    let cutoff = t(5, 9) + Duration::minutes(30);
    assert!(store.claim_idempotency_key(&later, cutoff).await.unwrap());
    let r = store
        .idempotency_record("user:a", "k1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.answer, None, "claimed afresh");
    assert!(
        store
            .idempotency_record("user:b", "k1")
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        store
            .idempotency_record("user:a", "k2")
            .await
            .unwrap()
            .is_some(),
        "younger kept"
    );
}

/// Eight claims of `c` at once; answers how many won.
async fn futures_join(
    store: &civmap_store::Store,
    c: &IdempotencyClaim,
    expired_before: chrono::DateTime<chrono::Utc>,
) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (s, c) = (store.clone(), c.clone());
        tasks.spawn(async move { s.claim_idempotency_key(&c, expired_before).await.unwrap() });
    }
    let mut wins = 0;
    while let Some(won) = tasks.join_next().await {
        wins += usize::from(won.unwrap());
    }
    wins
}
