//! The street office's problem table over HTTP (`GET /api/v1/problems/table`): the rows of
//! `civmap_app::reports::table` as JSON for the table on screen, or as CSV (UTF-8 with a BOM, so
//! Excel reads the Chinese) with exactly the columns and rows the table shows, times in China
//! Standard Time.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use civmap_app::App;
use civmap_app::actor::STAFF;
use civmap_app::reports::table::{TableQuery, TableRow, TableSort};
use civmap_app::time::{cst_minute, rfc3339};
use civmap_domain::{UserId, ZoneId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::common::parse_uuid;
use crate::api::problems::build_filter;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::AppQuery;
use crate::params::{self, TimeRange};
use crate::state::ServerState;
use crate::tasks::{ReportFormat, csv_response};

/// The routes of this module with their OpenAPI declarations.
pub fn router() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new().routes(routes!(problem_table))
}

/// Which rows of the table, in which order, in which format.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TableParams {
    /// Statuses, comma-separated; `open` for every open one.
    pub status: Option<String>,
    /// Category codes, comma-separated.
    pub category: Option<String>,
    /// Only problems dispatched through this zone (id).
    pub zone: Option<String>,
    /// Only problems this chief is responsible for (user id).
    pub assignee: Option<String>,
    /// `true`: only open problems past their deadline.
    pub overdue: Option<bool>,
    /// Case number, place or description containing this text (case-insensitive).
    pub q: Option<String>,
    /// Reported at or after this instant (RFC 3339, or a date: from 00:00 that day in China
    /// Standard Time).
    pub from: Option<String>,
    /// The column: `case_no`, `category`, `place`, `zone`, `assignee`, `status`, `reported`
    /// (default, newest first), `deadline` (soonest first) or `overdue` (most overdue first).
    pub sort: Option<String>,
    /// `asc` (the column's natural order, default) or `desc` (reversed).
    pub order: Option<String>,
    /// `json` (default) or `csv` (UTF-8 with BOM, opens in Excel).
    #[param(value_type = Option<String>)]
    pub format: Option<ReportFormat>,
}

/// One row of the table.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableRowOut {
    pub id: Uuid,
    /// The case number (案卷号).
    pub case_no: String,
    pub category: String,
    pub category_zh: String,
    /// Where it is in words; coordinates when nothing named is near.
    pub place: String,
    pub lon: f64,
    pub lat: f64,
    pub severity: String,
    pub status: String,
    pub zone: Option<Uuid>,
    pub zone_name: Option<String>,
    pub assignee: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub reported_at: String,
    pub deadline: Option<String>,
    /// Seconds past the deadline of an open problem; absent when not overdue.
    pub overdue_s: Option<i64>,
}

/// The table: rows in order, how many matched (rows stop at 10,000), and when it was read.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemTable {
    pub rows: Vec<TableRowOut>,
    pub matched: usize,
    pub at: String,
}

fn row_out(r: TableRow) -> TableRowOut {
    TableRowOut {
        id: r.id.0,
        case_no: r.case_no,
        category: r.category,
        category_zh: r.category_zh,
        place: r.place,
        lon: r.lon,
        lat: r.lat,
        severity: r.severity.as_str().to_owned(),
        status: r.status.as_str().to_owned(),
        zone: r.zone.map(|z| z.0),
        zone_name: r.zone_name,
        assignee: r.assignee.map(|u| u.0),
        assignee_name: r.assignee_name,
        reported_at: rfc3339(r.reported_at),
        deadline: r.deadline.map(rfc3339),
        overdue_s: r.overdue_ms.map(|ms| ms / 1000),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/problems/table",
    tag = "workflow",
    summary = "The street office's problem table (问题台账), as JSON or CSV",
    description = "Every problem the caller may see as a row: case number, category, place, the zone it was dispatched through, the responsible chief, status, report time, deadline and how long it is overdue; filtered by status, category, report time (`from`), zone, chief, overdue and a text search over case number, place and description, sorted by any column. `format=csv` gives the same rows and columns as a spreadsheet (UTF-8 with BOM, Chinese headers, times in China Standard Time `2026-12-07 14:30`). At most 10,000 rows (`matched` counts them all). Roles: staff.",
    params(TableParams),
    responses(
        (status = 200, description = "The table (JSON, or CSV with `format=csv`)", body = ProblemTable),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
    )
)]
async fn problem_table(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppQuery(q): AppQuery<TableParams>,
) -> Result<Response, ApiError> {
    actor.require(STAFF, "read the problem table")?;
    let sort = match q.sort.as_deref().filter(|s| !s.is_empty()) {
        None => TableSort::default(),
        Some(s) => TableSort::parse(s).ok_or_else(|| {
            ApiError::bad_param(
                "sort",
                "sort is case_no, category, place, zone, assignee, status, reported, deadline or overdue",
            )
        })?,
    };
    let reverse = match q.order.as_deref() {
        None | Some("" | "asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::bad_param("order", "order is asc or desc")),
    };
    let query = TableQuery {
        filter: build_filter(
            &state,
            q.category.as_deref(),
            q.status.as_deref(),
            None,
            TimeRange {
                from: q
                    .from
                    .as_deref()
                    .filter(|f| !f.is_empty())
                    .map(|f| params::parse_instant("from", f))
                    .transpose()?,
                to: None,
            },
        )?,
        zone: q
            .zone
            .as_deref()
            .filter(|z| !z.is_empty())
            .map(|z| parse_uuid("zone", z).map(ZoneId))
            .transpose()?,
        assignee: q
            .assignee
            .as_deref()
            .filter(|u| !u.is_empty())
            .map(|u| parse_uuid("assignee", u).map(UserId))
            .transpose()?,
        overdue_only: q.overdue.unwrap_or(false),
        text: q.q,
        sort,
        reverse,
    };
    let table = state.problem_table(&actor, &query, Utc::now()).await?;
    Ok(match q.format.unwrap_or_default() {
        ReportFormat::Csv => csv_response(&table_csv(&table.rows)?, "civmap-problems.csv"),
        ReportFormat::Html => {
            return Err(ApiError::bad_param("format", "format is json or csv"));
        }
        ReportFormat::Json => axum::Json(ProblemTable {
            matched: table.matched,
            at: rfc3339(table.at),
            rows: table.rows.into_iter().map(row_out).collect(),
        })
        .into_response(),
    })
}

/// The columns of the CSV: those of the table on screen, in its order.
const CSV_COLUMNS: [&str; 9] = [
    "案件编号",
    "类别",
    "位置",
    "片区",
    "责任人",
    "状态",
    "上报时间",
    "截止时间",
    "超期",
];

/// How long past its deadline, in the unit a person thinks in (as the inbox and the table say
/// it): days from two days on, hours from one hour, minutes below.
fn overdue_text(ms: i64) -> String {
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    let span = if ms >= 2 * DAY {
        format!("{} 天", ms / DAY)
    } else if ms >= HOUR {
        format!("{} 小时", ms / HOUR)
    } else {
        format!("{} 分钟", (ms / 60_000).max(1))
    };
    format!("已超期 {span}")
}

fn table_csv(rows: &[TableRow]) -> Result<Vec<u8>, ApiError> {
    let internal = |e: csv::Error| ApiError::Internal(format!("problem table CSV: {e}"));
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(CSV_COLUMNS).map_err(internal)?;
        for r in rows {
            w.write_record([
                r.case_no.as_str(),
                &r.category_zh,
                &r.place,
                r.zone_name.as_deref().unwrap_or(""),
                r.assignee_name.as_deref().unwrap_or(""),
                r.status.name_zh(),
                &cst_minute(r.reported_at),
                &r.deadline.map(cst_minute).unwrap_or_default(),
                &r.overdue_ms.map(overdue_text).unwrap_or_default(),
            ])
            .map_err(internal)?;
        }
        w.flush()
            .map_err(|e| ApiError::Internal(format!("problem table CSV: {e}")))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::overdue_text;

    #[test]
    fn overdue_in_days_hours_or_minutes() {
        assert_eq!(overdue_text(3 * 86_400_000 + 5), "已超期 3 天");
        assert_eq!(overdue_text(30 * 3_600_000), "已超期 30 小时");
        assert_eq!(overdue_text(10), "已超期 1 分钟");
    }
}
