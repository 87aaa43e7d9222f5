//! Reads of cold problems (migration 11): closed or merged problems whose row last changed
//! before the start of the hot window. Memory does not hold them; these reads answer for them
//! from SQL through indexes — `problems_by_status_updated` for "cold", `problems_by_deadline` for
//! an assessment's due dates, and for positions SQLite's R*Tree (`problems_rtree`) or
//! PostgreSQL's (lon, lat) B-tree.
//!
//! "Cold" here is the store's side of one rule: a problem is hot when it is open, or when its
//! row changed at or after the hot window's start `hot_since`. The service keeps memory to that
//! rule, and may hold a few cold ones more until its next eviction pass; callers merge by id.

use chrono::{DateTime, Utc};
use civmap_domain::{CaseNo, Problem, ProblemId};

use crate::codec::{self, PROBLEM_SELECT};
use crate::error::StoreError;
use crate::load::status_list;
use crate::sql::{Arg, col};
use crate::store::Store;
use crate::types::Backend;

/// A box in WGS-84 degrees: west, south, east, north.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLatBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

/// Which cold problems to read.
#[derive(Debug, Clone, PartialEq)]
pub struct ColdQuery {
    /// The start of the hot window: problems updated before it (and closed or merged) are cold.
    pub hot_since: DateTime<Utc>,
    /// Only problems at a position inside this box (edges included).
    pub within: Option<LonLatBox>,
    /// Only problems reported at or after this instant.
    pub reported_from: Option<DateTime<Utc>>,
    /// Only problems reported before this instant.
    pub reported_before: Option<DateTime<Utc>>,
    /// Only problems whose row changed at or after this instant: every lifecycle step changes
    /// the row, so a problem with an event at or after it is among them (a ledger's period).
    pub changed_from: Option<DateTime<Utc>>,
    /// Only ids after this one (a cursor).
    pub after: Option<ProblemId>,
    /// At most this many, in id order.
    pub limit: Option<u32>,
}

impl ColdQuery {
    /// Every cold problem (narrow it with the fields).
    #[must_use]
    pub fn new(hot_since: DateTime<Utc>) -> Self {
        Self {
            hot_since,
            within: None,
            reported_from: None,
            reported_before: None,
            changed_from: None,
            after: None,
            limit: None,
        }
    }
}

impl Store {
    /// The cold problems `q` names, in id order.
    pub async fn cold_problems(&self, q: &ColdQuery) -> Result<Vec<Problem>, StoreError> {
        let mut sql = format!(
            "SELECT {PROBLEM_SELECT} FROM problems WHERE status IN ({}) AND updated_at < $1",
            status_list(false)
        );
        let mut args: Vec<Arg> = vec![q.hot_since.timestamp_millis().into()];
        let mut next = |sql: &mut String, clause: &str, arg: Arg| {
            args.push(arg);
            sql.push_str(&clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(t) = q.reported_from {
            next(
                &mut sql,
                " AND reported_at >= ?",
                t.timestamp_millis().into(),
            );
        }
        if let Some(t) = q.reported_before {
            next(
                &mut sql,
                " AND reported_at < ?",
                t.timestamp_millis().into(),
            );
        }
        if let Some(t) = q.changed_from {
            next(
                &mut sql,
                " AND updated_at >= ?",
                t.timestamp_millis().into(),
            );
        }
        if let Some(a) = q.after {
            next(&mut sql, " AND id > ?", a.0.into());
        }
        if let Some(b) = q.within {
            match self.backend() {
                Backend::Sqlite => {
                    sql.push_str(
                        " AND id IN (SELECT r.problem FROM problems_rtree t \
                         JOIN problem_rowids r ON r.rid = t.rid WHERE",
                    );
                    next(&mut sql, " t.max_lon >= ?", b.min_lon.into());
                    next(&mut sql, " AND t.min_lon <= ?", b.max_lon.into());
                    next(&mut sql, " AND t.max_lat >= ?", b.min_lat.into());
                    next(&mut sql, " AND t.min_lat <= ?)", b.max_lat.into());
                    // The R*Tree's 32-bit bounds are rounded outwards: the exact test.
                }
                Backend::Postgres => {}
            }
            next(&mut sql, " AND lon >= ?", b.min_lon.into());
            next(&mut sql, " AND lon <= ?", b.max_lon.into());
            next(&mut sql, " AND lat >= ?", b.min_lat.into());
            next(&mut sql, " AND lat <= ?", b.max_lat.into());
        }
        sql.push_str(" ORDER BY id");
        if let Some(n) = q.limit {
            next(&mut sql, " LIMIT ?", i64::from(n).into());
        }
        self.read_all(&sql, args, &codec::problem_from_row).await
    }

    /// The cold problems an assessment of `[from, to)` (both its periods: `from` is the start
    /// of the period before) may count: reported before `to`, and changed at or after `from`
    /// (every lifecycle step changes the row) or due within `[from, to)`. In id order.
    pub async fn cold_for_assessment(
        &self,
        hot_since: DateTime<Utc>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Problem>, StoreError> {
        let cold = status_list(false);
        let sql = format!(
            "SELECT {PROBLEM_SELECT} FROM problems WHERE status IN ({cold}) \
               AND updated_at >= $1 AND updated_at < $2 AND reported_at < $3 \
             UNION \
             SELECT {PROBLEM_SELECT} FROM problems WHERE deadline >= $4 AND deadline < $5 \
               AND status IN ({cold}) AND updated_at < $6 AND reported_at < $7 \
             ORDER BY 1"
        );
        let (hot, from, to) = (
            hot_since.timestamp_millis(),
            from.timestamp_millis(),
            to.timestamp_millis(),
        );
        let args = vec![
            from.into(),
            hot.into(),
            to.into(),
            from.into(),
            to.into(),
            hot.into(),
            to.into(),
        ];
        self.read_all(&sql, args, &codec::problem_from_row).await
    }

    /// The id of the problem with case number `case`, hot or cold (unique index
    /// `problems_by_case_no`).
    pub async fn problem_id_by_case(&self, case: CaseNo) -> Result<Option<ProblemId>, StoreError> {
        self.read_opt(
            "SELECT id FROM problems WHERE case_no = $1",
            vec![case.to_string().into()],
            &|r| Ok(ProblemId(r.uuid(0).map_err(col)?)),
        )
        .await
    }
}
