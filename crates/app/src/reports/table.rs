//! The street office's problem table (问题台账): every problem the caller may see as one row —
//! case number, category, place, the zone it was dispatched through, the responsible chief,
//! status, report time, deadline and how long it is overdue — filtered and sorted here, so the
//! table on screen and its CSV export are the same rows in the same order.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use civmap_domain::{Problem, ProblemId, Severity, Status, UserId, ZoneId};
use civmap_index::Filter;

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;

/// Most rows one table answer holds: a street's whole ledger (a busy street has a few thousand
/// problems a year), small enough to send and sort at once.
pub const MAX_TABLE_ROWS: usize = 10_000;

/// Longest text search, characters (a case number, a road name, a phrase).
pub const MAX_SEARCH_CHARS: usize = 100;

/// The column a table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableSort {
    CaseNo,
    Category,
    Place,
    Zone,
    Assignee,
    Status,
    /// Newest first by default.
    #[default]
    Reported,
    /// Soonest first; problems without a deadline last.
    Deadline,
    /// Most overdue first.
    Overdue,
}

impl TableSort {
    /// Every column by its API name.
    pub const ALL: [(&'static str, TableSort); 9] = [
        ("case_no", TableSort::CaseNo),
        ("category", TableSort::Category),
        ("place", TableSort::Place),
        ("zone", TableSort::Zone),
        ("assignee", TableSort::Assignee),
        ("status", TableSort::Status),
        ("reported", TableSort::Reported),
        ("deadline", TableSort::Deadline),
        ("overdue", TableSort::Overdue),
    ];

    /// The column named `s` (`case_no`, `category`, ... `overdue`).
    #[must_use]
    pub fn parse(s: &str) -> Option<TableSort> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, k)| *k)
    }
}

/// Which rows, in which order.
#[derive(Debug, Clone, Default)]
pub struct TableQuery {
    /// Categories and statuses (the list endpoint's attribute filter).
    pub filter: Filter,
    /// Only problems dispatched through this zone.
    pub zone: Option<ZoneId>,
    /// Only problems this chief is responsible for.
    pub assignee: Option<UserId>,
    /// Only open problems past their deadline.
    pub overdue_only: bool,
    /// Case number, place or description containing this text (case-insensitive).
    pub text: Option<String>,
    pub sort: TableSort,
    /// Reverse the column's natural order.
    pub reverse: bool,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    pub id: ProblemId,
    pub case_no: String,
    pub category: String,
    pub category_zh: String,
    /// Where it is, in words; coordinates when nothing named is near.
    pub place: String,
    pub lon: f64,
    pub lat: f64,
    pub severity: Severity,
    pub status: Status,
    pub zone: Option<ZoneId>,
    pub zone_name: Option<String>,
    pub assignee: Option<UserId>,
    /// The chief's display name (login name when it has none).
    pub assignee_name: Option<String>,
    pub reported_at: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    /// Milliseconds past the deadline of an open problem; `None` when not overdue.
    pub overdue_ms: Option<i64>,
}

/// A table answer: the rows (at most [`MAX_TABLE_ROWS`]) and how many matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub rows: Vec<TableRow>,
    pub matched: usize,
    /// The instant `overdue_ms` was measured at.
    pub at: DateTime<Utc>,
}

/// The case number people quote (案卷号).
#[must_use]
pub fn case_no(p: &Problem) -> String {
    p.case_no
        .map_or_else(|| p.id.to_string(), |c| c.to_string())
}

/// Where a problem is, in words (`四平路1239号附近`); its coordinates when nothing named is near.
#[must_use]
pub fn place_or_position(p: &Problem) -> String {
    if p.place.is_empty() {
        format!("{:.5}, {:.5}", p.location.lon(), p.location.lat())
    } else {
        p.place.clone()
    }
}

impl App {
    /// The table as `actor` may see it at `now`.
    pub async fn problem_table(
        &self,
        actor: &Actor,
        q: &TableQuery,
        now: DateTime<Utc>,
    ) -> Result<Table, ServiceError> {
        if let Some(t) = &q.text
            && t.chars().count() > MAX_SEARCH_CHARS
        {
            return Err(ServiceError::invalid(
                "q",
                format!("a search is at most {MAX_SEARCH_CHARS} characters"),
            ));
        }
        let scope = self.scope(actor);
        // Every visible id: one page as large as the whole table.
        let ids = self
            .query_scoped(&scope, &[], &q.filter, None, usize::MAX)?
            .ids;
        let people = self.people().await?;
        let table = self.categories();
        let needle = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let needle = needle.map(str::to_lowercase);
        let chosen: Vec<Problem> = ids
            .into_iter()
            .filter_map(|id| self.problem(id).ok())
            .filter(|p| q.zone.is_none_or(|z| p.zone == Some(z)))
            .filter(|p| q.assignee.is_none_or(|u| p.assignee == Some(u)))
            .filter(|p| !q.overdue_only || p.is_overdue(now))
            .filter(|p| needle.as_deref().is_none_or(|n| matches_text(p, n)))
            .collect();
        // The zone guard only after the problems were read (one lock at a time).
        let mut rows: Vec<TableRow> = {
            let zones = self.zones();
            chosen
                .into_iter()
                .map(|p| TableRow {
                    id: p.id,
                    case_no: case_no(&p),
                    category_zh: table
                        .by_code(&p.category)
                        .map_or_else(|| p.category.clone(), |c| c.name_zh.clone()),
                    place: place_or_position(&p),
                    lon: p.location.lon(),
                    lat: p.location.lat(),
                    severity: p.severity,
                    status: p.status,
                    zone: p.zone,
                    zone_name: p
                        .zone
                        .and_then(|z| zones.map.get(&z).map(|z| z.name.clone())),
                    assignee: p.assignee,
                    assignee_name: p.assignee.and_then(|u| {
                        people.get(&u).map(|w| {
                            if w.display_name.is_empty() {
                                w.name.clone()
                            } else {
                                w.display_name.clone()
                            }
                        })
                    }),
                    reported_at: p.reported_at,
                    deadline: p.deadline,
                    overdue_ms: p
                        .is_overdue(now)
                        .then(|| p.deadline.map(|d| (now - d).num_milliseconds()))
                        .flatten(),
                    category: p.category,
                })
                .collect()
        };
        rows.sort_by(|a, b| {
            let o = compare(q.sort, a, b);
            // Equal keys keep a stable order: newest first.
            let o = o.then_with(|| b.reported_at.cmp(&a.reported_at));
            if q.reverse { o.reverse() } else { o }
        });
        let matched = rows.len();
        rows.truncate(MAX_TABLE_ROWS);
        Ok(Table {
            rows,
            matched,
            at: now,
        })
    }
}

/// Whether the case number, the place or the description contains `needle` (lower case).
fn matches_text(p: &Problem, needle: &str) -> bool {
    [case_no(p), place_or_position(p), p.description.clone()]
        .iter()
        .any(|h| h.to_lowercase().contains(needle))
}

/// `a` before `b` in the column's natural order.
fn compare(sort: TableSort, a: &TableRow, b: &TableRow) -> Ordering {
    // Rows without a value (no zone, no chief, no deadline) go last.
    fn some_first<T: Ord>(a: Option<T>, b: Option<T>) -> Ordering {
        match (a, b) {
            (Some(a), Some(b)) => a.cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
    match sort {
        TableSort::CaseNo => a.case_no.cmp(&b.case_no),
        TableSort::Category => a.category_zh.cmp(&b.category_zh),
        TableSort::Place => a.place.cmp(&b.place),
        TableSort::Zone => some_first(a.zone_name.as_ref(), b.zone_name.as_ref()),
        TableSort::Assignee => some_first(a.assignee_name.as_ref(), b.assignee_name.as_ref()),
        TableSort::Status => a.status.code().cmp(&b.status.code()),
        TableSort::Reported => b.reported_at.cmp(&a.reported_at),
        TableSort::Deadline => some_first(a.deadline, b.deadline),
        // Most overdue first, then (not overdue) the soonest deadline.
        TableSort::Overdue => some_first(
            a.overdue_ms.map(std::cmp::Reverse),
            b.overdue_ms.map(std::cmp::Reverse),
        )
        .then_with(|| some_first(a.deadline, b.deadline)),
    }
}
