//! The answers to writes sent with an `Idempotency-Key` header (migration 8, table
//! `idempotency_keys`): a key is claimed before its write runs, completed with the answer after
//! it, or released when the write failed on the server's side. Memory holds none of it: the
//! service reads a key's row when the key comes again. Writes go through the group-commit writer
//! like every other write, so a claim is ordered with the writes around it and two concurrent
//! claims of one key cannot both succeed (the primary key decides).

use chrono::{DateTime, Utc};

use crate::codec::{from_ms, ms};
use crate::error::StoreError;
use crate::sql::{Arg, Get, col};
use crate::store::Store;
use crate::writer::{Op, Out};

const COLS: &str = "caller, key, request, fingerprint, status, body, created_at";

/// A key as a write claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// Whose key it is ("user:<uuid>", "token:…", "addr:<ip>"): keys of different callers never
    /// collide.
    pub caller: String,
    /// The client's key (at most 255 characters; the table refuses longer ones).
    pub key: String,
    /// "METHOD /path" of the write.
    pub request: String,
    /// A hash of the request's body.
    pub fingerprint: String,
    /// When the claim was made.
    pub at: DateTime<Utc>,
}

/// A key's row: its claim and, once the write finished, its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub request: String,
    pub fingerprint: String,
    /// The answer's status and body; `None` while the write is in progress.
    pub answer: Option<(u16, String)>,
    pub created_at: DateTime<Utc>,
}

fn record_from_row(r: &dyn Get) -> Result<IdempotencyRecord, StoreError> {
    let status = r.opt_i64(4).map_err(col)?;
    let body = r.opt_str(5).map_err(col)?;
    let answer = match (status, body) {
        (Some(s), Some(b)) => Some((
            u16::try_from(s)
                .map_err(|_| StoreError::corrupt(format!("idempotency status {s} out of range")))?,
            b.to_owned(),
        )),
        _ => None,
    };
    Ok(IdempotencyRecord {
        request: r.str(2).map_err(col)?.to_owned(),
        fingerprint: r.str(3).map_err(col)?.to_owned(),
        answer,
        created_at: from_ms(r.i64(6).map_err(col)?)?,
    })
}

impl Store {
    async fn idempotency_statements(
        &self,
        stmts: Vec<(String, Vec<Arg>)>,
    ) -> Result<bool, StoreError> {
        match self.submit(Op::Statements(stmts)).await? {
            Out::Flag(b) => Ok(b),
            other => Err(StoreError::Internal(format!(
                "writer answered {other:?} to an idempotency key write"
            ))),
        }
    }

    /// Claims a key for a write about to run: `true` when this call claimed it, `false` when
    /// the caller's key has a row already (read it with [`Store::idempotency_record`]). Rows
    /// created before `expired_before` are deleted first (lazily, by whoever claims next), so
    /// an expired key is claimed afresh.
    pub async fn claim_idempotency_key(
        &self,
        claim: &IdempotencyClaim,
        expired_before: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.idempotency_statements(vec![
            (
                "DELETE FROM idempotency_keys WHERE created_at < $1".to_owned(),
                vec![ms(expired_before).into()],
            ),
            (
                format!(
                    "INSERT INTO idempotency_keys ({COLS}) VALUES ($1, $2, $3, $4, NULL, NULL, $5) \
                     ON CONFLICT (caller, key) DO NOTHING"
                ),
                vec![
                    claim.caller.as_str().into(),
                    claim.key.as_str().into(),
                    claim.request.as_str().into(),
                    claim.fingerprint.as_str().into(),
                    ms(claim.at).into(),
                ],
            ),
        ])
        .await
    }

    /// A caller's key, if it has a row.
    pub async fn idempotency_record(
        &self,
        caller: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(self
            .read_all(
                &format!("SELECT {COLS} FROM idempotency_keys WHERE caller = $1 AND key = $2"),
                vec![caller.into(), key.into()],
                &record_from_row,
            )
            .await?
            .pop())
    }

    /// Stores the answer of a claimed key's write; `false` when the claim is gone (released,
    /// or expired and deleted meanwhile).
    pub async fn complete_idempotency_key(
        &self,
        caller: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<bool, StoreError> {
        self.idempotency_statements(vec![(
            "UPDATE idempotency_keys SET status = $3, body = $4 \
             WHERE caller = $1 AND key = $2 AND status IS NULL"
                .to_owned(),
            vec![
                caller.into(),
                key.into(),
                i64::from(status).into(),
                body.into(),
            ],
        )])
        .await
    }

    /// Gives up a claim whose write did not finish (a failure on the server's side): the client
    /// may send the key again. A completed key is kept.
    pub async fn release_idempotency_key(
        &self,
        caller: &str,
        key: &str,
    ) -> Result<bool, StoreError> {
        self.idempotency_statements(vec![(
            "DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 AND status IS NULL"
                .to_owned(),
            vec![caller.into(), key.into()],
        )])
        .await
    }
}
