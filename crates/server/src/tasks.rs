//! The work of staff over HTTP: the inbox (`/api/v1/me/inbox`) and its live feed
//! (`/api/v1/me/stream`, server-sent events), a grid worker's own reports, the look-back
//! re-inspection (`/api/v1/problems/{id}/reinspect`), the assessment report
//! (`/api/v1/assessment`: JSON, CSV, a printable page), recurrence hot spots and a zone's
//! rectification ledger (`/api/v1/zones/{id}/ledger`). The figures and rows are the service's
//! (`civmap_app::reports`); here they are rendered.

use std::convert::Infallible;
use std::time::Duration as StdDuration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use civmap_app::App;
use civmap_app::actor::{MANAGERS, STAFF, roles_for};
use civmap_app::inspections::readiness::{DEFAULT_STALE_DAYS, Readiness};
use civmap_app::reports::assessment::{self as report, GroupBy};
use civmap_app::reports::inbox::{self as inbox_rows, InboxKind};
use civmap_app::reports::ledger::LedgerPeriod;
use civmap_app::time::{cst_date, last_day, rfc3339, rfc3339_cst};
use civmap_app::workflow::lookback::Reinspection;
use civmap_domain::assessment::Figures;
use civmap_domain::assessment::Period;
use civmap_domain::inspection::Checklists;
use civmap_domain::{Action, ProblemId, ZoneId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::common::{CrsParam, IdPath, feature_response};
use crate::api::inspections;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::params::{self, Bound};
use crate::state::ServerState;

/// The routes of this module with their OpenAPI declarations.
pub fn router() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(inbox))
        .routes(routes!(inbox_list))
        .routes(routes!(my_reports))
        .routes(routes!(stream))
        .routes(routes!(reinspect))
        .routes(routes!(assessment))
        .routes(routes!(ledger))
        .routes(routes!(recurrence_hotspots))
}

/// Days of recurrence hot spots counted when `from` is not given.
const DEFAULT_HOTSPOT_DAYS: i64 = 90;

/// One problem in an inbox list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxItem {
    pub id: Uuid,
    /// The case number (`CM261207-0003`), once stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_no: Option<String>,
    /// Where it is in words ("四平路1239号附近"); empty when no named feature is near.
    pub place: String,
    pub category: String,
    pub category_zh: String,
    pub status: String,
    pub severity: String,
    pub description: String,
    #[schema(value_type = Option<String>)]
    pub deadline: Option<String>,
    /// Past its deadline now.
    pub overdue: bool,
    /// Times a fix was rejected (返工).
    pub rework_count: u32,
    pub lon: f64,
    pub lat: f64,
    pub version: i64,
    /// Look-backs only: when the problem was closed and when the look-back is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
}

/// A page of an inbox list: its items, how many the list holds, and the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxList {
    pub count: usize,
    pub items: Vec<InboxItem>,
    /// The next page of this list (`/api/v1/me/inbox/{list}?offset=..&limit=..`), when more
    /// items follow.
    pub next: Option<String>,
}

/// What is waiting for the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Inbox {
    /// Problems dispatched (or escalated) to the caller and not yet rectified: overdue first,
    /// then by deadline.
    pub tasks: InboxList,
    /// Of those, the ones whose fix was rejected (返工).
    pub rework: InboxList,
    /// Closed problems in the caller's zones whose look-back (回头看) is due.
    pub reinspections: InboxList,
    /// Escalated problems in the caller's scope (area-chiefs and the street office).
    pub escalations: InboxList,
    /// Rectified problems waiting for verification by the caller (area-chiefs and the street
    /// office).
    pub to_verify: InboxList,
    /// Closed problems in the caller's scope whose reporter answered "not solved" (回访,
    /// 群众反馈未解决), the longest waiting first (area-chiefs and the street office).
    pub feedback_unsolved: InboxList,
    /// When this inbox was computed.
    pub at: String,
}

impl From<inbox_rows::InboxItem> for InboxItem {
    fn from(i: inbox_rows::InboxItem) -> Self {
        Self {
            id: i.id.0,
            case_no: i.case_no.map(|c| c.to_string()),
            place: i.place,
            category: i.category,
            category_zh: i.category_zh,
            status: i.status.as_str().to_owned(),
            severity: i.severity.as_str().to_owned(),
            description: i.description,
            deadline: i.deadline.map(rfc3339),
            overdue: i.overdue,
            rework_count: i.rework_count,
            lon: i.lon,
            lat: i.lat,
            version: i.version,
            closed_at: i.closed_at.map(rfc3339),
            due_at: i.due_at.map(rfc3339),
        }
    }
}

impl InboxList {
    /// The page `l` of the list `kind`; pages of `limit` items follow.
    fn of(kind: InboxKind, l: inbox_rows::InboxList, limit: usize) -> Self {
        let next = l.next_offset().map(|o| {
            format!(
                "/api/v1/me/inbox/{}?offset={o}&limit={limit}",
                kind.as_str()
            )
        });
        Self {
            count: l.count,
            items: l.items.into_iter().map(InboxItem::from).collect(),
            next,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/me/inbox",
    tag = "workflow",
    summary = "My inbox: tasks, rework, re-inspections due, escalations, fixes to verify, reporters' \"not solved\"",
    description = "What waits for the signed-in user. Each list holds its first 200 items, `count` (complete) and `next`, the URL of its next page (`GET /api/v1/me/inbox/{list}`). A static token acting for no account gets no tasks, only its scope's escalations, fixes to verify and look-backs. Changes arrive live on `GET /api/v1/me/stream`.",
    responses(
        (status = 200, description = "The inbox", body = Inbox),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
    )
)]
async fn inbox(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
) -> Result<axum::Json<Inbox>, ApiError> {
    actor.require(STAFF, "have an inbox")?;
    let i = state.inbox(&actor, Utc::now());
    let first = |k, l| InboxList::of(k, l, inbox_rows::INBOX_PAGE);
    Ok(axum::Json(Inbox {
        tasks: first(InboxKind::Tasks, i.tasks),
        rework: first(InboxKind::Rework, i.rework),
        reinspections: first(InboxKind::Reinspections, i.reinspections),
        escalations: first(InboxKind::Escalations, i.escalations),
        to_verify: first(InboxKind::ToVerify, i.to_verify),
        feedback_unsolved: first(InboxKind::FeedbackUnsolved, i.feedback_unsolved),
        at: rfc3339(i.at),
    }))
}

/// A page of one inbox list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxPageParams {
    /// Position of the first item (default 0).
    pub offset: Option<usize>,
    /// Items per page, 1..=`limits.page_max` (default 200).
    pub limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/api/v1/me/inbox/{list}",
    tag = "workflow",
    summary = "A page of one list of my inbox",
    description = "The items of `tasks`, `rework`, `reinspections`, `escalations`, `to_verify` or `feedback_unsolved` from `offset` on, in the order of `GET /api/v1/me/inbox`, with `next` when more follow (the inbox's first answer gives each list's first page and its `next`).",
    params(("list" = String, Path, description = "`tasks`, `rework`, `reinspections`, `escalations`, `to_verify` or `feedback_unsolved`"), InboxPageParams),
    responses(
        (status = 200, description = "The page", body = InboxList),
        (status = 400, description = "A bad offset or limit", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
        (status = 404, description = "No such list", body = ErrorBody),
    )
)]
async fn inbox_list(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppPath(list): AppPath<String>,
    AppQuery(q): AppQuery<InboxPageParams>,
) -> Result<axum::Json<InboxList>, ApiError> {
    actor.require(STAFF, "have an inbox")?;
    let kind = InboxKind::parse(&list).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no inbox list {list:?}; lists: tasks, rework, reinspections, escalations, to_verify, feedback_unsolved"
        ))
    })?;
    let limit = match q.limit {
        None => inbox_rows::INBOX_PAGE,
        Some(n) if (1..=state.config().limits.page_max).contains(&n) => n,
        Some(n) => {
            return Err(ApiError::bad_param(
                "limit",
                format!("{n} is outside 1..={}", state.config().limits.page_max),
            ));
        }
    };
    let page = state.inbox_page(&actor, Utc::now(), kind, q.offset.unwrap_or(0), limit);
    Ok(axum::Json(InboxList::of(kind, page, limit)))
}

#[utoipa::path(
    get,
    path = "/api/v1/me/reports",
    tag = "workflow",
    summary = "My reports, newest first, with where each one stands",
    description = "The problems the signed-in user reported (at most 500, newest first) as a GeoJSON FeatureCollection, so a grid worker sees whether a report was dispatched, fixed and verified. Reporters get the public view of each (no other person's data); staff get their usual view.",
    params(CrsParam),
    responses(
        (status = 200, description = "My reports", content_type = "application/geo+json"),
        (status = 401, description = "Sign in first", body = ErrorBody),
    )
)]
async fn my_reports(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppQuery(q): AppQuery<CrsParam>,
) -> Result<Response, ApiError> {
    let me = actor.user.ok_or_else(|| {
        ApiError::Unauthorized("sign in (POST /api/v1/login) to see your reports".into())
    })?;
    let crs = q.crs()?;
    let (ids, matched) = state.reports_of(me);
    let table = state.categories();
    let names = crate::render::Names::new(&state, &actor);
    let g = state.problems();
    let body = crate::geojson::problem_collection(
        &g.map,
        &std::collections::HashMap::new(),
        &ids,
        crate::render::view(&table, &names, crs, &actor),
        &crate::geojson::CollectionMeta {
            number_matched: Some(matched),
            ..Default::default()
        },
    )?;
    drop(g);
    Ok(crate::geojson::response(StatusCode::OK, body))
}

/// What a live page is told of a change it may see.
#[derive(Debug, Serialize)]
struct LiveOut<'a> {
    #[serde(flatten)]
    change: &'a civmap_app::memory::live::LiveChange,
    /// The change concerns a problem assigned to the listener.
    mine: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/me/stream",
    tag = "workflow",
    summary = "Live changes (server-sent events)",
    description = "A `text/event-stream`: one `problem` event per committed change of a problem the caller may see, with `id`, `kind` (the event logged), `status`, `version`, `assignee`, `at` and `mine` (assigned to the caller). A comment every 15 s keeps the connection open; a listener that falls behind gets a `lagged` event and should reload its inbox.",
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
    )
)]
async fn stream(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
) -> Result<Response, ApiError> {
    actor.require(STAFF, "follow live changes")?;
    let me = actor.user;
    let scope = state.scope(&actor);
    let rx = state.subscribe();
    let events = futures_util::stream::unfold(
        (rx, state, scope),
        move |(mut rx, state, scope)| async move {
            loop {
                match rx.recv().await {
                    Ok(change) => {
                        let mine = me.is_some() && change.assignee == me;
                        if !mine && !state.visible(&scope, change.id) {
                            continue;
                        }
                        let ev = SseEvent::default()
                            .event("problem")
                            .json_data(LiveOut {
                                change: &change,
                                mine,
                            })
                            .unwrap_or_else(|_| SseEvent::default().comment("unserialisable"));
                        return Some((Ok::<_, Infallible>(ev), (rx, state, scope)));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        let ev = SseEvent::default().event("lagged").data(n.to_string());
                        return Some((Ok(ev), (rx, state, scope)));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    let mut resp = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(StdDuration::from_secs(15)))
        .into_response();
    // Proxies (nginx) must not buffer the stream.
    resp.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

// The OpenAPI schema of `Reinspection`: the service's type knows nothing of OpenAPI.
/// What a look-back re-inspection found.
#[derive(Debug, ToSchema)]
#[schema(as = Reinspection)]
#[allow(dead_code)]
enum ReinspectionDoc {
    /// Still clean: recorded, the problem stays closed.
    #[schema(rename = "clean")]
    Clean,
    /// Came back (回潮): the problem is reopened and dispatched again.
    #[schema(rename = "came_back")]
    CameBack,
}

/// A look-back re-inspection (回头看) of a closed problem.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReinspectBody {
    /// The version the caller saw.
    pub version: i64,
    /// `clean` (still clean) or `came_back` (回潮: reopened and dispatched again).
    #[schema(value_type = ReinspectionDoc)]
    pub result: Reinspection,
    #[serde(default)]
    pub note: String,
    /// Optional photos (ids from `POST /api/v1/photos`).
    #[serde(default)]
    pub photos: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/problems/{id}/reinspect",
    tag = "workflow",
    summary = "Record a look-back re-inspection (回头看)",
    description = "For a closed problem: `clean` records a `reinspected` event and the problem stays closed; `came_back` reopens it as a recurrence (回潮, counted in the assessment) and dispatches it again to the chief who had it. 409 for a problem that is not closed or a stale version.",
    params(("id" = Uuid, Path, description = "Problem id"), CrsParam),
    request_body(content = ReinspectBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The problem after the re-inspection", body = crate::render::ProblemFeatureDoc, content_type = "application/geo+json"),
        (status = 404, description = "No such problem in the caller's scope", body = ErrorBody),
        (status = 409, description = "Not closed, or a stale version", body = ErrorBody),
        (status = 422, description = "A bad field, named in `field`", body = ErrorBody),
    )
)]
async fn reinspect(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<ReinspectBody>,
) -> Result<Response, ApiError> {
    actor.require(roles_for(Action::Recur), "re-inspect problems")?;
    let crs = q.crs()?;
    let p = state
        .reinspect(
            ProblemId(id),
            body.version,
            body.result,
            body.note,
            body.photos,
            &actor,
        )
        .await?;
    feature_response(StatusCode::OK, &state, p.id, crs, &actor)
}

/// The assessment's period, grouping and format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssessmentParams {
    /// Start of the period (inclusive): RFC 3339, or a date meaning 00:00 that day in China
    /// Standard Time. Default:
    /// Monday of last week (a weekly report).
    pub from: Option<String>,
    /// End of the period (exclusive) as RFC 3339; a date is that whole day included (China
    /// Standard Time: the period ends at 00:00 of the next day). Default: `from` + 7 days.
    pub to: Option<String>,
    /// `street` (default: one row for everything the caller sees), `zone` (the zone each
    /// problem was dispatched through) or `chief` (its current assignee).
    #[param(value_type = Option<String>)]
    pub by: Option<GroupBy>,
    /// `json` (default), `csv` (UTF-8 with BOM, opens in Excel) or `html` (a printable page).
    #[param(value_type = Option<String>)]
    pub format: Option<ReportFormat>,
}

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    #[default]
    Json,
    /// UTF-8 with a BOM (opens in Excel).
    Csv,
    /// A printable page.
    Html,
}

/// One row of the assessment: a group, its figures and those of the period before.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentRow {
    /// Zone or user id; `street` for the whole street; `none` for problems without one.
    pub key: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub current: Figures,
    #[schema(value_type = Object)]
    pub previous: Figures,
}

/// The assessment report (综合评价).
#[derive(Debug, Serialize, ToSchema)]
pub struct Assessment {
    pub from: String,
    pub to: String,
    pub previous_from: String,
    pub previous_to: String,
    pub by: String,
    pub rows: Vec<AssessmentRow>,
}

#[utoipa::path(
    get,
    path = "/api/v1/assessment",
    tag = "workflow",
    summary = "Assessment (综合评价) per street, zone or chief, with the previous period",
    description = "Figures over `[from, to)` and the period of the same length before it, for the problems the caller may see: reported, closed, due, closed_on_time and on_time_rate (divided by the cases due in the period, as the urban-management standard counts), rectified, rejected and rework_rate, recurred and recurrence_rate, median_fix_hours, and the open and overdue backlog at the end of the period. `format=csv` and `format=html` give the weekly report as a spreadsheet and as a printable page.",
    params(AssessmentParams),
    responses(
        (status = 200, description = "The assessment", body = Assessment),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
    )
)]
async fn assessment(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppQuery(q): AppQuery<AssessmentParams>,
) -> Result<Response, ApiError> {
    actor.require(STAFF, "see assessments")?;
    let default = state.last_week(Utc::now());
    let from = match q.from.as_deref() {
        Some(s) => params::parse_time("from", s, Bound::Start)?,
        None => default.from,
    };
    let to = match q.to.as_deref() {
        Some(s) => params::parse_time("to", s, Bound::EndExclusive)?,
        None => from + Duration::days(7),
    };
    let period = report::check_period(from, to)?;
    let by = q.by.unwrap_or_default();
    let r = state.assessment(&actor, period, by).await?;
    let out = Assessment {
        from: rfc3339(period.from),
        to: rfc3339(period.to),
        previous_from: rfc3339(period.previous().from),
        previous_to: rfc3339(period.previous().to),
        by: by.as_str().to_owned(),
        rows: r
            .rows
            .into_iter()
            .map(|row| AssessmentRow {
                key: row.key,
                name: row.name,
                current: row.current,
                previous: row.previous,
            })
            .collect(),
    };
    let format = q.format.unwrap_or_default();
    // The weekly report carries the street office's readiness for the inspection (迎检) when
    // it has test points; the JSON assessment stays the figures alone.
    let readiness = if format != ReportFormat::Json && MANAGERS.contains(&actor.role) {
        let r = state
            .inspection_readiness(&actor, Utc::now(), DEFAULT_STALE_DAYS)
            .await?;
        (!r.points.is_empty()).then_some(r)
    } else {
        None
    };
    // And, for the street office, its patrols of the period (巡查) and the zones nobody visited.
    let patrols = if format != ReportFormat::Json && MANAGERS.contains(&actor.role) {
        Some(state.patrol_week(&actor, period, Utc::now()).await?)
    } else {
        None
    };
    let lists = match readiness {
        Some(_) => state.checklists().await?,
        None => Checklists::default(),
    };
    Ok(match format {
        ReportFormat::Csv => {
            let mut body = assessment_csv(&out, period)?;
            if let Some(r) = &readiness {
                body.extend_from_slice(b"\r\n");
                inspections::readiness_csv(r, &lists, &mut body)?;
            }
            if let Some(w) = &patrols {
                body.extend_from_slice(b"\r\n");
                crate::patrols::coverage_csv(w, &mut body)?;
            }
            csv_response(&body, "civmap-assessment.csv")
        }
        ReportFormat::Html => {
            assessment_html(&out, period, readiness.as_ref(), &lists, patrols.as_ref())
                .into_response()
        }
        ReportFormat::Json => axum::Json(out).into_response(),
    })
}

const FIGURE_COLUMNS: [&str; 13] = [
    "reported",
    "closed",
    "due",
    "closed_on_time",
    "on_time_rate",
    "rectified",
    "rejected",
    "rework_rate",
    "recurred",
    "recurrence_rate",
    "median_fix_hours",
    "open",
    "overdue",
];

fn figure_cells(f: &Figures) -> [String; 13] {
    let rate = |r: Option<f64>| r.map_or_else(String::new, |x| format!("{:.1}%", x * 100.0));
    [
        f.reported.to_string(),
        f.closed.to_string(),
        f.due.to_string(),
        f.closed_on_time.to_string(),
        rate(f.on_time_rate),
        f.rectified.to_string(),
        f.rejected.to_string(),
        rate(f.rework_rate),
        f.recurred.to_string(),
        rate(f.recurrence_rate),
        f.median_fix_hours
            .map_or_else(String::new, |h| format!("{h:.1}")),
        f.open.to_string(),
        f.overdue.to_string(),
    ]
}

/// The weekly report as CSV; the period's ends in China Standard Time (`+08:00`), as the
/// panel and the printed page show them.
fn assessment_csv(r: &Assessment, period: Period) -> Result<Vec<u8>, ApiError> {
    let current = (rfc3339_cst(period.from), rfc3339_cst(period.to));
    let previous = period.previous();
    let previous = (rfc3339_cst(previous.from), rfc3339_cst(previous.to));
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let mut header = vec!["group".to_owned(), "key".to_owned(), "period".to_owned()];
        header.push("from".to_owned());
        header.push("to".to_owned());
        header.extend(FIGURE_COLUMNS.iter().map(|c| (*c).to_owned()));
        w.write_record(&header).map_err(internal)?;
        for row in &r.rows {
            for (label, (from, to), f) in [
                ("current", &current, &row.current),
                ("previous", &previous, &row.previous),
            ] {
                let mut rec = vec![
                    row.name.clone(),
                    row.key.clone(),
                    label.to_owned(),
                    from.clone(),
                    to.clone(),
                ];
                rec.extend(figure_cells(f));
                w.write_record(&rec).map_err(internal)?;
            }
        }
        w.flush().map_err(internal)?;
    }
    Ok(out)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

pub(crate) fn csv_response(body: &[u8], filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body.to_vec(),
    )
        .into_response()
}

/// The weekly report as a page to print (A4 landscape): one table, this period over the
/// previous one in each cell.
fn assessment_html(
    r: &Assessment,
    period: Period,
    readiness: Option<&Readiness>,
    lists: &Checklists,
    patrols: Option<&civmap_app::patrols::coverage::PatrolWeek>,
) -> axum::response::Html<String> {
    const HEADS: [&str; 13] = [
        "上报 reported",
        "结案 closed",
        "应结 due",
        "按期结案 on time",
        "按期结案率 on-time rate",
        "整改 rectified",
        "退回 rejected",
        "返工率 rework rate",
        "回潮 recurred",
        "回潮率 recurrence rate",
        "整改中位时长 median hours",
        "未结 open",
        "超期 overdue",
    ];
    const STYLE: &str = "@page{size:A4 landscape;margin:12mm}body{font:12px system-ui,sans-serif;margin:16px}\
         table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:3px 5px;text-align:right}\
         th{background:#eee}td:first-child,th:first-child{text-align:left}.prev{color:#666;font-size:10px;display:block}";
    // Days in China Standard Time, the last one inclusive: a week from Monday 00:00 to the
    // next Monday 00:00 prints as Monday – Sunday, as the panel shows it.
    let (from, to) = (cst_date(period.from), last_day(period.to));
    let previous = period.previous();
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { "综合评价 " (from) " – " (to) }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                h1 { "综合评价周报 Assessment report" }
                p {
                    "本期 period " (from) " – " (to) "（上期 previous " (cst_date(previous.from)) " – "
                    (last_day(previous.to)) "），按 by " (r.by) "。每格：本期，下方小字为上期。"
                }
                table {
                    thead { tr { th { "单位 group" } @for head in HEADS { th { (head) } } } }
                    tbody {
                        @for row in &r.rows {
                            tr {
                                td { (row.name) }
                                @for (c, p) in figure_cells(&row.current).iter().zip(figure_cells(&row.previous).iter()) {
                                    td { (c) span.prev { (p) } }
                                }
                            }
                        }
                    }
                }
                p { "civmap · 按期结案率 = 按期结案数 / 本期应结案数" }
                @if let Some(r) = readiness {
                    (inspections::readiness_section(r, lists))
                }
                @if let Some(w) = patrols {
                    (crate::patrols::coverage_section(w))
                }
            }
        }
    };
    axum::response::Html(page.into_string())
}

/// The period of the recurrence hot spots.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HotspotParams {
    /// Start (inclusive): RFC 3339, or a date meaning 00:00 that day in China Standard Time.
    /// Default: 90 days ago.
    pub from: Option<String>,
    /// End (exclusive) as RFC 3339; a date is that whole day included (China Standard Time).
    /// Default: now.
    pub to: Option<String>,
    /// Zone kinds counted, comma-separated (default `point,road,area,surroundings`).
    pub kind: Option<String>,
}

/// A zone where problems came back.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hotspot {
    pub zone: Uuid,
    pub name: String,
    pub kind: String,
    /// Recurrences in the period: closed problems reopened, and new reports linked to a closed
    /// problem, inside the zone.
    pub recurrences: usize,
    /// The problems that recurred (reopened ones and the new linked reports), at most 50.
    pub problems: Vec<Uuid>,
}

/// Recurrence hot spots (回潮点位), worst first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hotspots {
    pub from: String,
    pub to: String,
    pub zones: Vec<Hotspot>,
}

#[utoipa::path(
    get,
    path = "/api/v1/recurrences/hotspots",
    tag = "workflow",
    summary = "Recurrence hot spots (回潮) per zone",
    description = "Zones ranked by how often problems came back in the period: closed problems reopened (回潮 at a look-back) and new reports linked to a recently closed problem nearby, counted in every zone of the given kinds that contains them, within the caller's scope. Staff only.",
    params(HotspotParams),
    responses(
        (status = 200, description = "The hot spots, worst first", body = Hotspots),
        (status = 400, description = "Bad parameter", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
    )
)]
async fn recurrence_hotspots(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppQuery(q): AppQuery<HotspotParams>,
) -> Result<axum::Json<Hotspots>, ApiError> {
    actor.require(STAFF, "see recurrence hot spots")?;
    let now = Utc::now();
    let to = match q.to.as_deref() {
        Some(s) => params::parse_time("to", s, Bound::EndExclusive)?,
        None => now,
    };
    let from = match q.from.as_deref() {
        Some(s) => params::parse_time("from", s, Bound::Start)?,
        None => to - Duration::days(DEFAULT_HOTSPOT_DAYS),
    };
    let period = report::check_period(from, to)?;
    let kinds: Vec<civmap_domain::ZoneKind> = q
        .kind
        .as_deref()
        .unwrap_or("point,road,area,surroundings")
        .split(',')
        .map(|k| {
            k.trim()
                .parse()
                .map_err(|e: civmap_domain::ValidationError| {
                    ApiError::bad_param("kind", e.to_string())
                })
        })
        .collect::<Result<_, _>>()?;
    let zones = state
        .hotspots(&actor, period, &kinds)
        .await?
        .into_iter()
        .map(|h| Hotspot {
            zone: h.zone.0,
            name: h.name,
            kind: h.kind.as_str().to_owned(),
            recurrences: h.recurrences,
            problems: h.problems.into_iter().map(|p| p.0).collect(),
        })
        .collect();
    Ok(axum::Json(Hotspots {
        from: rfc3339(from),
        to: rfc3339(to),
        zones,
    }))
}

/// Which events a zone's ledger holds.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LedgerParams {
    /// Events at or after (inclusive): RFC 3339, or a date meaning 00:00 that day in China
    /// Standard Time. Default: from the first event.
    pub from: Option<String>,
    /// Events before (exclusive) as RFC 3339; a date is that whole day included (China
    /// Standard Time). Default: up to the latest event.
    pub to: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/zones/{id}/ledger",
    tag = "workflow",
    summary = "A zone's rectification ledger (整改台账) as CSV",
    description = "Every event of every problem inside the zone that the caller may see, oldest first — all of them, or those of the period `from`–`to`: problem, category, position, report time, current status (code and Chinese), then the event's number, kind (code and a Chinese sentence), time, actor, note and photo ids. Times in China Standard Time (+08:00). UTF-8 with a BOM (opens in Excel).",
    params(("id" = Uuid, Path, description = "Zone id"), LedgerParams),
    responses(
        (status = 200, description = "The ledger", content_type = "text/csv"),
        (status = 400, description = "Malformed `from` or `to`", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
        (status = 404, description = "No such zone", body = ErrorBody),
        (status = 422, description = "`to` is not after `from`", body = ErrorBody),
    )
)]
async fn ledger(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<LedgerParams>,
) -> Result<Response, ApiError> {
    actor.require(STAFF, "export ledgers")?;
    let from = q
        .from
        .as_deref()
        .map(|s| params::parse_time("from", s, Bound::Start))
        .transpose()?;
    let to =
        q.to.as_deref()
            .map(|s| params::parse_time("to", s, Bound::EndExclusive))
            .transpose()?;
    let period = LedgerPeriod::new(from, to)?;
    let ledger = state.ledger(&actor, ZoneId(id), period).await?;
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record([
            "zone",
            "problem",
            "category",
            "category_zh",
            "lon",
            "lat",
            "reported_at",
            "status_now",
            "status_now_zh",
            "seq",
            "event",
            "event_zh",
            "at",
            "actor",
            "note",
            "photos",
        ])
        .map_err(internal)?;
        for l in &ledger.lines {
            let e = &l.event;
            w.write_record([
                ledger.zone_name.as_str(),
                &l.problem.to_string(),
                &l.category,
                &l.category_zh,
                &format!("{:.6}", l.lon),
                &format!("{:.6}", l.lat),
                &rfc3339_cst(l.reported_at),
                l.status_now.as_str(),
                l.status_now.name_zh(),
                &e.seq.to_string(),
                e.kind.as_str(),
                civmap_app::page::event_zh(e),
                &rfc3339_cst(e.at),
                l.actor_name.as_deref().unwrap_or("system"),
                &e.note,
                &e.photos.join(" "),
            ])
            .map_err(internal)?;
        }
        w.flush().map_err(internal)?;
    }
    Ok(csv_response(&out, &format!("civmap-ledger-{id}.csv")))
}
