//! What a replica reads to follow the database: the heads of the two logs (`events`, a
//! problem's ledger, and `changes`, every other row replicas hold — migration 9), the change
//! log after a number, and the rows a log entry names, re-read whole.
//!
//! Why re-read rows instead of carrying them in the log: the row is the truth and applying it
//! is idempotent (a problem carries its version), so a replica that applied a write itself, or
//! reads an entry twice after a reconnect, ends in the same state; the log stays small.

use chrono::{DateTime, Utc};
use civmap_domain::{Problem, ProblemId};

use crate::codec::{self, PROBLEM_SELECT};
use crate::error::StoreError;
use crate::public_text;
use crate::sql::{Arg, col};
use crate::store::Store;
use crate::types::{PublicText, Session};

/// Rows per `IN (...)` list when problems are re-read by id.
const IDS_PER_READ: usize = 500;

/// What a change-log entry names (the `kind` column of `changes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A zone was stored or deleted; the key is its id.
    Zone,
    /// A point of interest was stored or deleted; the key is its id.
    Poi,
    /// A zone's assignments changed; the key is the zone's id.
    Assignment,
    /// An account was created or changed; the key is its id.
    User,
    /// A session or token was created or revoked; the key is its token hash.
    Session,
    /// Every session of a user was revoked; the key is the user's id.
    UserSessions,
    /// A category was stored; the key is its code.
    Category,
    /// The database was filled from a backup: everything changed.
    Restored,
}

impl ChangeKind {
    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "zone" => Self::Zone,
            "poi" => Self::Poi,
            "assignment" => Self::Assignment,
            "user" => Self::User,
            "session" => Self::Session,
            "user_sessions" => Self::UserSessions,
            "category" => Self::Category,
            "restored" => Self::Restored,
            other => {
                return Err(StoreError::corrupt(format!(
                    "unknown change kind {other:?}"
                )));
            }
        })
    }
}

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    pub seq: i64,
    pub kind: ChangeKind,
    /// The row it names (see [`ChangeKind`]).
    pub key: String,
    pub at: DateTime<Utc>,
}

/// The newest numbers of both logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogHeads {
    /// The newest event `seq` (0: none).
    pub events: i64,
    /// The newest change-log `seq` (0: none).
    pub changes: i64,
}

impl Store {
    /// The newest event and change-log numbers committed.
    pub async fn log_heads(&self) -> Result<LogHeads, StoreError> {
        self.read_one(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM events), \
             (SELECT COALESCE(MAX(seq), 0) FROM changes)",
            vec![],
            &|r| {
                Ok(LogHeads {
                    events: r.i64(0).map_err(col)?,
                    changes: r.i64(1).map_err(col)?,
                })
            },
        )
        .await
    }

    /// Change-log entries with `seq > after`, oldest first, at most `limit`.
    pub async fn changes_since(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<LoggedChange>, StoreError> {
        self.read_all(
            "SELECT seq, kind, key, at FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            vec![after.into(), i64::from(limit).into()],
            &|r| {
                Ok(LoggedChange {
                    seq: r.i64(0).map_err(col)?,
                    kind: ChangeKind::parse(r.str(1).map_err(col)?)?,
                    key: r.str(2).map_err(col)?.to_owned(),
                    at: codec::from_ms(r.i64(3).map_err(col)?)?,
                })
            },
        )
        .await
    }

    /// The problems with these ids that exist (in no particular order).
    pub async fn problems_by_ids(&self, ids: &[ProblemId]) -> Result<Vec<Problem>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_READ) {
            let mut sql = format!("SELECT {PROBLEM_SELECT} FROM problems WHERE id IN ");
            crate::sql::placeholders(&mut sql, 1, chunk.len());
            let args = chunk.iter().map(|id| Arg::from(id.0)).collect();
            out.extend(self.read_all(&sql, args, &codec::problem_from_row).await?);
        }
        Ok(out)
    }

    /// The public wording of one problem's description, if the office set one.
    pub async fn public_text_of(&self, id: ProblemId) -> Result<Option<PublicText>, StoreError> {
        let sql = format!(
            "SELECT {} FROM public_texts WHERE problem = $1",
            public_text::COLS.join(", ")
        );
        Ok(self
            .read_all(&sql, vec![id.0.into()], &public_text::from_row)
            .await?
            .pop())
    }

    /// The sessions and tokens neither revoked nor expired at `now`: what a replica checks
    /// callers against without asking the database.
    pub async fn live_sessions(&self, now: DateTime<Utc>) -> Result<Vec<Session>, StoreError> {
        self.read_all(
            &format!(
                "SELECT {} FROM sessions WHERE revoked = $1 AND expires_at > $2",
                codec::SESSION_COLS.join(", ")
            ),
            vec![false.into(), codec::ms(now).into()],
            &codec::session_from_row,
        )
        .await
    }
}
