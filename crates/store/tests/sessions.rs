//! Sessions and API tokens of accounts: listing them, and revoking all of one account's at once
//! (account disabled, password reset) — on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)]

use crate::common;

use civmap_domain::Role;
use civmap_store::{Session, SessionKind};
use common::{TestDb, t, user};

on_both!(revoking_an_accounts_sessions_leaves_others_alone);

async fn revoking_an_accounts_sessions_leaves_others_alone(db: TestDb) {
    let store = db.open().await;
    let a = user("wang.luzhang", Role::RoadChief);
    let b = user("li.dianzhang", Role::PointChief);
    store.create_user(&a).await.unwrap();
    store.create_user(&b).await.unwrap();
    let session = |hash: &str, who, kind, day| Session {
        token_hash: hash.into(),
        user: who,
        kind,
        created_at: t(day, 8),
        expires_at: t(day + 10, 8),
        revoked: false,
    };
    let a1 = session("a1", a.id, SessionKind::Cookie, 1);
    let a2 = session("a2", a.id, SessionKind::ApiToken, 2);
    let b1 = session("b1", b.id, SessionKind::Cookie, 3);
    for s in [&a1, &a2, &b1] {
        store.create_session(s).await.unwrap();
    }
    // Newest first.
    assert_eq!(
        store.sessions_of(a.id).await.unwrap(),
        vec![a2.clone(), a1.clone()]
    );
    assert!(store.revoke_sessions_of(a.id).await.unwrap());
    for s in store.sessions_of(a.id).await.unwrap() {
        assert!(s.revoked, "{s:?}");
    }
    assert!(
        !store
            .session_by_token_hash("b1")
            .await
            .unwrap()
            .unwrap()
            .revoked,
        "another account's session lives on"
    );
    assert!(
        !store.revoke_sessions_of(a.id).await.unwrap(),
        "nothing left to revoke"
    );
    assert!(
        store
            .sessions_of(common::user("x", Role::Admin).id)
            .await
            .unwrap()
            .is_empty()
    );
}
