//! The start-up scan: every problem, or the hot set (migration 11), fast.
//!
//! sqlx's SQLite driver copies each column of each row into an allocation of its own
//! (`sqlite3_value_dup`) and hands rows one by one between threads: about 10 µs of CPU per
//! 17-column problem, 10 s for a million. So on SQLite the rows are packed by SQLite itself into
//! one JSON array per page of 20,000 problems (`json_group_array`), which crosses the driver as a
//! single value and is parsed here with serde. Two details keep it exact:
//! - SQLite's JSON prints REAL with 15 significant digits (lossy); coordinates are sent as
//!   `printf('%!.17g', lon)` text instead, which round-trips every `f64` (tested on 200,000
//!   values, extremes included) and is parsed back with Rust's correctly rounded parser;
//! - ids go as `hex(id)`; `hex(NULL)` is the empty string, read back as `None`.
//!
//! Pages are read in one read transaction, so the scan is one consistent snapshot.
//! PostgreSQL's binary rows decode cheaply and use the plain row path.

use std::borrow::Cow;

use civmap_domain::{LonLat, Problem, ProblemId, Severity, Status, UserId, ZoneId};
use serde::Deserialize;
use sqlx::Connection as _;
use sqlx::sqlite::SqliteConnection;
use uuid::Uuid;

use crate::codec::{PROBLEM_SELECT, from_ms, problem_from_row};
use crate::error::{Location, StoreError, from_sqlx};
use crate::sql::{Arg, Conn, RawConn, col};

/// Problems per JSON page: about 5 MB of text.
const PAGE: usize = 20_000;

const PACKED: &str = "json_group_array(json_array(hex(id), printf('%!.17g', lon), \
    printf('%!.17g', lat), category, severity, status, description, reported_at, hex(reporter), \
    updated_at, deadline, hex(assignee), hex(zone), rework_count, hex(recurrence_of), \
    hex(merged_into), version, ifnull(case_no, ''), place))";

/// One problem as packed by [`PACKED`].
#[derive(Deserialize)]
struct Packed<'a>(
    &'a str,
    &'a str,
    &'a str,
    Cow<'a, str>,
    Cow<'a, str>,
    Cow<'a, str>,
    Cow<'a, str>,
    i64,
    &'a str,
    i64,
    Option<i64>,
    &'a str,
    &'a str,
    i64,
    &'a str,
    &'a str,
    i64,
    &'a str,
    Cow<'a, str>,
);

fn uuid(what: &str, hex: &str) -> Result<Uuid, StoreError> {
    Uuid::try_parse(hex).map_err(|e| StoreError::corrupt(format!("{what} id {hex:?}: {e}")))
}

fn opt_uuid(what: &str, hex: &str) -> Result<Option<Uuid>, StoreError> {
    if hex.is_empty() {
        Ok(None)
    } else {
        uuid(what, hex).map(Some)
    }
}

fn coord(id: &Uuid, v: &str) -> Result<f64, StoreError> {
    v.parse()
        .map_err(|_| StoreError::corrupt(format!("problem {id}: coordinate {v:?}")))
}

fn unpack(p: Packed<'_>) -> Result<Problem, StoreError> {
    let id = uuid("problem", p.0)?;
    let bad = |what: String| StoreError::corrupt(format!("problem {id}: {what}"));
    let location =
        LonLat::new(coord(&id, p.1)?, coord(&id, p.2)?).map_err(|e| bad(e.to_string()))?;
    Ok(Problem {
        id: ProblemId(id),
        location,
        category: p.3.into_owned(),
        severity: p.4.parse::<Severity>().map_err(|e| bad(e.to_string()))?,
        status: p.5.parse::<Status>().map_err(|e| bad(e.to_string()))?,
        description: p.6.into_owned(),
        reported_at: from_ms(p.7)?,
        reporter: opt_uuid("reporter", p.8)?.map(UserId),
        updated_at: from_ms(p.9)?,
        deadline: p.10.map(from_ms).transpose()?,
        assignee: opt_uuid("assignee", p.11)?.map(UserId),
        zone: opt_uuid("zone", p.12)?.map(ZoneId),
        rework_count: u32::try_from(p.13).map_err(|_| bad("rework_count out of range".into()))?,
        recurrence_of: opt_uuid("recurrence_of", p.14)?.map(ProblemId),
        merged_into: opt_uuid("merged_into", p.15)?.map(ProblemId),
        version: p.16,
        case_no: crate::codec::case_no(ProblemId(id), Some(p.17))?,
        place: p.18.into_owned(),
    })
}

/// Parses one page; sorted by id (the aggregate follows the ordered subquery, but this is cheap
/// to make sure of).
fn parse_page(text: &str, loc: &str) -> Result<Vec<Problem>, StoreError> {
    let page: Vec<Packed<'_>> = serde_json::from_str(text)
        .map_err(|e| StoreError::corrupt(format!("{loc}: problem page: {e}")))?;
    let mut out = page
        .into_iter()
        .map(unpack)
        .collect::<Result<Vec<_>, _>>()?;
    if !out.windows(2).all(|w| w[0].id < w[1].id) {
        out.sort_by_key(|p| p.id);
    }
    Ok(out)
}

/// Which problems a start-up read takes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which {
    /// Every problem.
    All,
    /// The hot set: open problems, and closed or merged ones updated at or after this instant
    /// (Unix ms).
    HotSince(i64),
}

/// The problems `which` names from SQLite, in id order, through JSON pages. Page k is parsed on
/// a blocking thread while SQLite packs page k+1, all in one read transaction (one snapshot).
pub(crate) async fn sqlite(
    c: &mut SqliteConnection,
    loc: &Location,
    capacity: usize,
    which: Which,
) -> Result<Vec<Problem>, StoreError> {
    let mut tx = c.begin().await.map_err(|e| from_sqlx(loc, e))?;
    let mut cx = Conn {
        raw: RawConn::Sqlite(&mut tx),
        loc,
    };
    let out = match which {
        Which::All => all_pages(&mut cx, loc, capacity, None).await?,
        // A scan in id order that skips the cold rows, not a walk of the (status, updated_at)
        // index: that walk fetches each row from the table by its key, ~20 µs a row, and took
        // 10 s for 1M hot problems (26 s for 1.1M hot among 10M) where the scan takes 1.8 s.
        Which::HotSince(since) => all_pages(&mut cx, loc, capacity, Some(since)).await?,
    };
    tx.rollback().await.map_err(|e| from_sqlx(loc, e))?;
    Ok(out)
}

/// Every problem, paged by id.
async fn all_pages(
    cx: &mut Conn<'_>,
    loc: &Location,
    capacity: usize,
    hot_since: Option<i64>,
) -> Result<Vec<Problem>, StoreError> {
    // Closed and merged problems count only when updated at or after `hot_since`.
    let hot = hot_since.map(|since| {
        let closed: Vec<String> = Status::ALL
            .iter()
            .filter(|s| !s.is_open())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        format!(
            "(status NOT IN ({}) OR updated_at >= {since})",
            closed.join(", ")
        )
    });
    let mut out: Vec<Problem> = Vec::with_capacity(capacity);
    let mut parsing: Option<tokio::task::JoinHandle<Result<Vec<Problem>, StoreError>>> = None;
    let mut after: Option<Uuid> = None;
    loop {
        let (mut conds, args) = match after {
            None => (vec![], vec![]),
            Some(id) => (vec!["id > $1".to_owned()], vec![Arg::from(id)]),
        };
        conds.extend(hot.clone());
        let filter = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        let sql = format!(
            "SELECT {PACKED}, COUNT(*), MAX(id) FROM \
             (SELECT * FROM problems {filter} ORDER BY id LIMIT {PAGE})"
        );
        let (text, n, last) = cx
            .one(&sql, args, &|r| {
                Ok((
                    r.str(0).map_err(col)?.to_owned(),
                    r.i64(1).map_err(col)?,
                    r.opt_uuid(2).map_err(col)?,
                ))
            })
            .await?;
        if let Some(task) = parsing.take() {
            out.extend(join(task).await?);
        }
        let shown = loc.to_string();
        parsing = Some(tokio::task::spawn_blocking(move || {
            parse_page(&text, &shown)
        }));
        after = last;
        if usize::try_from(n).unwrap_or(0) < PAGE {
            break;
        }
    }
    if let Some(task) = parsing.take() {
        out.extend(join(task).await?);
    }
    Ok(out)
}

async fn join(
    task: tokio::task::JoinHandle<Result<Vec<Problem>, StoreError>>,
) -> Result<Vec<Problem>, StoreError> {
    task.await
        .map_err(|e| StoreError::Internal(format!("problem page parser: {e}")))?
}

/// The problems `which` names, one row at a time (PostgreSQL). The hot set is read through
/// the index `problems_by_status_updated` (migration 11).
pub(crate) async fn rows(
    cx: &mut Conn<'_>,
    capacity: usize,
    which: Which,
) -> Result<Vec<Problem>, StoreError> {
    let mut out = Vec::with_capacity(capacity);
    let (filter, args) = match which {
        Which::All => (String::new(), vec![]),
        Which::HotSince(since) => (
            format!(
                "WHERE status IN ({}) OR (status IN ({}) AND updated_at >= $1)",
                status_list(true),
                status_list(false)
            ),
            vec![Arg::from(since)],
        ),
    };
    cx.each(
        &format!("SELECT {PROBLEM_SELECT} FROM problems {filter} ORDER BY id"),
        args,
        &mut |r| {
            out.push(problem_from_row(r)?);
            Ok(())
        },
    )
    .await?;
    Ok(out)
}

/// The open statuses (`open`) or the others, as an SQL list of quoted names.
pub(crate) fn status_list(open: bool) -> String {
    Status::ALL
        .into_iter()
        .filter(|s| s.is_open() == open)
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}
