//! `/api/v1/test-points`, `/api/v1/inspections…` and `/api/v1/notices…`: mock inspections
//! (模拟测评) over HTTP — the test points and checklists, drawing and assigning a sample, the
//! inspector's results, readiness (JSON, CSV, a printable section of the weekly report) and
//! rectification notices (JSON, and the notice as a printable A4 page). The rules are the
//! service's (`civmap_app::inspections`); the public sees none of it.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use civmap_app::App;
use civmap_app::inspections::notices::{NewNotice, NoticeCheck, NoticeView};
use civmap_app::inspections::readiness::{DEFAULT_STALE_DAYS, Readiness};
use civmap_app::inspections::sampling::NewInspection;
use civmap_app::inspections::{InspectionView, NewTestPoint, Outcome};
use civmap_app::time::{cst_date, rfc3339, rfc3339_cst};
use civmap_domain::inspection::{
    ChecklistItem, Checklists, Inspection, InspectionId, InspectionResult, Score, Stratum,
    TestPoint, TestPointId,
};
use civmap_domain::{LonLat, ProblemId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::common::{IdPath, audit};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};

// ---- shapes ------------------------------------------------------------------------------

/// A test-point kind.
#[derive(Debug, Serialize, ToSchema)]
pub struct KindOut {
    pub code: String,
    pub zh: String,
    pub en: String,
}

/// A checklist item.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemOut {
    pub code: String,
    /// What holds at a clean point, e.g. `无小广告`.
    pub zh: String,
    pub en: String,
    /// Point kinds it is checked at.
    pub kinds: Vec<String>,
    /// Problem categories a fail produces; the first is the created problem's.
    pub categories: Vec<String>,
    /// Weight in the readiness score.
    pub weight: f64,
}

impl From<&ChecklistItem> for ItemOut {
    fn from(i: &ChecklistItem) -> Self {
        Self {
            code: i.code.clone(),
            zh: i.zh.clone(),
            en: i.en.clone(),
            kinds: i.kinds.clone(),
            categories: i.categories.clone(),
            weight: i.weight,
        }
    }
}

/// The kinds and checklists in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChecklistsOut {
    pub kinds: Vec<KindOut>,
    pub items: Vec<ItemOut>,
}

impl From<&Checklists> for ChecklistsOut {
    fn from(l: &Checklists) -> Self {
        Self {
            kinds: l
                .kinds()
                .iter()
                .map(|k| KindOut {
                    code: k.code.clone(),
                    zh: k.zh.clone(),
                    en: k.en.clone(),
                })
                .collect(),
            items: l.items().iter().map(ItemOut::from).collect(),
        }
    }
}

/// A test point (测评点位).
#[derive(Debug, Serialize, ToSchema)]
pub struct TestPointOut {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    /// `[lon, lat]`, WGS-84.
    pub location: [f64; 2],
    /// The zone it stands for (a school's surroundings zone), if any.
    pub zone: Option<Uuid>,
    /// Street code (`""` outside every coded zone).
    pub street: String,
    /// The responsible unit.
    pub owner: String,
    pub created_at: String,
}

impl From<&TestPoint> for TestPointOut {
    fn from(p: &TestPoint) -> Self {
        Self {
            id: p.id.0,
            kind: p.kind.clone(),
            name: p.name.clone(),
            location: p.location.to_array(),
            zone: p.zone.map(|z| z.0),
            street: p.street.clone(),
            owner: p.owner.clone(),
            created_at: rfc3339(p.created_at),
        }
    }
}

/// A test point to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTestPointIn {
    pub kind: String,
    pub name: String,
    /// `[lon, lat]`, WGS-84.
    pub location: [f64; 2],
    #[serde(default)]
    pub owner: String,
}

/// One stratum of a sample.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StratumIo {
    pub kind: String,
    /// Points drawn at random; absent or null: every point of the kind.
    #[serde(default)]
    pub count: Option<usize>,
}

/// A sample to draw.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInspectionIn {
    pub name: String,
    pub strata: Vec<StratumIo>,
    /// The seed of the draw (a decimal integer up to 2^53); absent: one is picked and shown.
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub assignee: Option<Uuid>,
}

/// An inspection.
#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionOut {
    pub id: Uuid,
    pub name: String,
    pub strata: Vec<StratumIo>,
    pub seed: u64,
    /// Test point ids in walking order.
    pub sample: Vec<Uuid>,
    pub assignee: Option<Uuid>,
    /// `open` or `done`.
    pub status: String,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl From<&Inspection> for InspectionOut {
    fn from(i: &Inspection) -> Self {
        Self {
            id: i.id.0,
            name: i.name.clone(),
            strata: i
                .strata
                .iter()
                .map(|s| StratumIo {
                    kind: s.kind.clone(),
                    count: s.count,
                })
                .collect(),
            seed: i.seed,
            sample: i.sample.iter().map(|p| p.0).collect(),
            assignee: i.assignee.map(|u| u.0),
            status: i.status.as_str().to_owned(),
            created_at: rfc3339(i.created_at),
            finished_at: i.finished_at.map(rfc3339),
        }
    }
}

/// One item's outcome at one point.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultOut {
    pub point: Uuid,
    pub item: String,
    pub pass: bool,
    pub weight: f64,
    pub photos: Vec<String>,
    /// The problem a fail created.
    pub problem: Option<Uuid>,
    pub at: String,
}

impl From<&InspectionResult> for ResultOut {
    fn from(r: &InspectionResult) -> Self {
        Self {
            point: r.point.0,
            item: r.item.clone(),
            pass: r.pass,
            weight: r.weight,
            photos: r.photos.clone(),
            problem: r.problem.map(|p| p.0),
            at: rfc3339(r.at),
        }
    }
}

/// An inspection with its points and results: what the inspector walks.
#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionDetail {
    pub inspection: InspectionOut,
    pub points: Vec<TestPointOut>,
    pub results: Vec<ResultOut>,
}

impl From<&InspectionView> for InspectionDetail {
    fn from(v: &InspectionView) -> Self {
        Self {
            inspection: InspectionOut::from(&v.inspection),
            points: v.points.iter().map(TestPointOut::from).collect(),
            results: v.results.iter().map(ResultOut::from).collect(),
        }
    }
}

/// The inspector to give an inspection to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignIn {
    pub assignee: Uuid,
}

/// One item's outcome as the inspector records it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeIn {
    pub point: Uuid,
    pub item: String,
    pub pass: bool,
    /// Photo ids (`POST /api/v1/photos`); a fail needs one.
    #[serde(default)]
    pub photos: Vec<String>,
    #[serde(default)]
    pub note: String,
}

/// A readiness score.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreOut {
    pub passed: u32,
    pub failed: u32,
    /// Weighted share passed, 0 to 1; null when nothing was scored.
    pub share: Option<f64>,
}

impl From<&Score> for ScoreOut {
    fn from(s: &Score) -> Self {
        Self {
            passed: s.passed,
            failed: s.failed,
            share: s.share(),
        }
    }
}

/// A test point's readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointReadinessOut {
    pub point: TestPointOut,
    pub score: Option<ScoreOut>,
    pub last_inspected: Option<String>,
}

/// A group's readiness (a kind, a street).
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupReadinessOut {
    pub key: String,
    pub score: ScoreOut,
}

/// An inspection's own score.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendOut {
    pub inspection: Uuid,
    pub name: String,
    pub created_at: String,
    pub score: ScoreOut,
}

/// An item by how often it failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailingOut {
    pub code: String,
    pub zh: String,
    pub en: String,
    pub fails: u32,
    pub scored: u32,
}

/// Readiness (迎检准备度).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessOut {
    pub overall: ScoreOut,
    pub points: Vec<PointReadinessOut>,
    pub kinds: Vec<GroupReadinessOut>,
    pub streets: Vec<GroupReadinessOut>,
    pub trend: Vec<TrendOut>,
    pub failing: Vec<FailingOut>,
    /// Points not inspected for `stale_days` (never inspected first).
    pub not_inspected: Vec<PointReadinessOut>,
    pub stale_days: u32,
}

fn point_readiness(r: &civmap_app::inspections::readiness::PointReadiness) -> PointReadinessOut {
    PointReadinessOut {
        point: TestPointOut::from(&r.point),
        score: r.score.as_ref().map(ScoreOut::from),
        last_inspected: r.last_inspected.map(rfc3339),
    }
}

impl From<&Readiness> for ReadinessOut {
    fn from(r: &Readiness) -> Self {
        let group = |(k, s): &(String, Score)| GroupReadinessOut {
            key: k.clone(),
            score: ScoreOut::from(s),
        };
        Self {
            overall: ScoreOut::from(&r.overall),
            points: r.points.iter().map(point_readiness).collect(),
            kinds: r.kinds.iter().map(group).collect(),
            streets: r.streets.iter().map(group).collect(),
            trend: r
                .trend
                .iter()
                .map(|t| TrendOut {
                    inspection: t.inspection.0,
                    name: t.name.clone(),
                    created_at: rfc3339(t.created_at),
                    score: ScoreOut::from(&t.score),
                })
                .collect(),
            failing: r
                .failing
                .iter()
                .map(|f| FailingOut {
                    code: f.code.clone(),
                    zh: f.zh.clone(),
                    en: f.en.clone(),
                    fails: f.fails,
                    scored: f.scored,
                })
                .collect(),
            not_inspected: r.not_inspected.iter().map(point_readiness).collect(),
            stale_days: r.stale_days,
        }
    }
}

/// How readiness is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessFormat {
    #[default]
    Json,
    /// UTF-8 with a BOM (opens in Excel).
    Csv,
    /// A printable page.
    Html,
}

/// Readiness parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReadinessParams {
    /// List points not inspected for this many days (default 30).
    pub days: Option<u32>,
    /// `json` (default), `csv` (UTF-8 with BOM, opens in Excel) or `html` (a printable page).
    #[param(value_type = Option<String>)]
    pub format: Option<ReadinessFormat>,
}

/// A notice to issue: a problem or a test point.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNoticeIn {
    #[serde(default)]
    pub problem: Option<Uuid>,
    #[serde(default)]
    pub point: Option<Uuid>,
    /// The responsible unit (a test point's owner when empty).
    #[serde(default)]
    pub unit: String,
    /// What is wrong (said from the problem or the point's fails when empty).
    #[serde(default)]
    pub wrong: String,
    /// Working days until the deadline (default 3).
    #[serde(default)]
    pub working_days: Option<u32>,
}

/// A rectification notice (整改通知单).
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeOut {
    pub id: Uuid,
    /// `整改通知 2026-0001`.
    pub number: String,
    pub problem: Option<Uuid>,
    pub point: Option<Uuid>,
    pub unit: String,
    pub place: String,
    pub wrong: String,
    pub photos: Vec<String>,
    pub deadline: String,
    pub issued_at: String,
    /// The problems it covers.
    pub problems: Vec<Uuid>,
    /// The printable page.
    pub print_url: String,
}

impl From<&NoticeView> for NoticeOut {
    fn from(v: &NoticeView) -> Self {
        let n = &v.notice;
        Self {
            id: n.id.0,
            number: n.number(),
            problem: n.problem.map(|p| p.0),
            point: n.point.map(|p| p.0),
            unit: n.unit.clone(),
            place: n.place.clone(),
            wrong: n.wrong.clone(),
            photos: n.photos.clone(),
            deadline: rfc3339(n.deadline),
            issued_at: rfc3339(n.issued_at),
            problems: v.problems.iter().map(|p| p.id.0).collect(),
            print_url: format!("/api/v1/notices/{}/print", n.id),
        }
    }
}

/// A notice whose deadline passed.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeCheckOut {
    pub notice: NoticeOut,
    /// Every problem it covers is rectified or closed.
    pub rectified: bool,
}

impl From<&NoticeCheck> for NoticeCheckOut {
    fn from(c: &NoticeCheck) -> Self {
        Self {
            notice: NoticeOut::from(&c.view),
            rectified: c.rectified,
        }
    }
}

// ---- checklists and test points ---------------------------------------------------------

#[utoipa::path(
    get,
    path = "/api/v1/inspections/checklists",
    tag = "inspections",
    summary = "Test-point kinds and their checklists",
    responses(
        (status = 200, description = "Kinds and items in force", body = ChecklistsOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
    )
)]
pub async fn get_checklists(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
) -> Result<axum::Json<ChecklistsOut>, ApiError> {
    let lists = state.checklists_as(&actor).await?;
    Ok(axum::Json(ChecklistsOut::from(&lists)))
}

#[utoipa::path(
    put,
    path = "/api/v1/inspections/checklists/{code}",
    tag = "inspections",
    summary = "Add or change a checklist item",
    params(("code" = String, Path, description = "Item code")),
    request_body(content = ItemOut, content_type = "application/json"),
    responses(
        (status = 200, description = "Stored", body = ItemOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn put_checklist_item(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppPath(code): AppPath<String>,
    AppJson(body): AppJson<ItemOut>,
) -> Result<axum::Json<ItemOut>, ApiError> {
    if body.code != code {
        return Err(ApiError::invalid(
            "code",
            "the code in the body differs from the path",
        ));
    }
    let item = ChecklistItem {
        code: body.code,
        zh: body.zh,
        en: body.en,
        kinds: body.kinds,
        categories: body.categories,
        weight: body.weight,
    };
    let stored = state.put_checklist_item(&actor, item).await?;
    audit(&actor, "checklist item stored", &stored.code);
    Ok(axum::Json(ItemOut::from(&stored)))
}

#[utoipa::path(
    get,
    path = "/api/v1/test-points",
    tag = "inspections",
    summary = "Test points (测评点位)",
    responses(
        (status = 200, description = "The test points of the caller's street", body = Vec<TestPointOut>),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
    )
)]
pub async fn list_test_points(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
) -> Result<axum::Json<Vec<TestPointOut>>, ApiError> {
    let points = state.test_points(&actor).await?;
    Ok(axum::Json(points.iter().map(TestPointOut::from).collect()))
}

#[utoipa::path(
    post,
    path = "/api/v1/test-points",
    tag = "inspections",
    summary = "Add a test point",
    request_body(content = NewTestPointIn, content_type = "application/json"),
    responses(
        (status = 201, description = "Added", body = TestPointOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn create_test_point(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppJson(body): AppJson<NewTestPointIn>,
) -> Result<Response, ApiError> {
    let location = LonLat::new(body.location[0], body.location[1])?;
    let p = state
        .add_test_point(
            &actor,
            NewTestPoint {
                kind: body.kind,
                name: body.name,
                location,
                owner: body.owner,
            },
        )
        .await?;
    audit(&actor, "test point added", &p.id.to_string());
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(TestPointOut::from(&p)),
    )
        .into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/test-points/from-surroundings",
    tag = "inspections",
    summary = "Make a test point of every three-surroundings zone that has none",
    responses(
        (status = 200, description = "The points made", body = Vec<TestPointOut>),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
    )
)]
pub async fn test_points_from_surroundings(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
) -> Result<axum::Json<Vec<TestPointOut>>, ApiError> {
    let made = state.test_points_from_surroundings(&actor).await?;
    audit(
        &actor,
        "test points made from surroundings zones",
        &made.len().to_string(),
    );
    Ok(axum::Json(made.iter().map(TestPointOut::from).collect()))
}

// ---- inspections -------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/api/v1/inspections",
    tag = "inspections",
    summary = "Mock inspections: every one for managers, one's own for other staff",
    responses(
        (status = 200, description = "Newest first", body = Vec<InspectionOut>),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
    )
)]
pub async fn list_inspections(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
) -> Result<axum::Json<Vec<InspectionOut>>, ApiError> {
    let list = state.inspections(&actor).await?;
    Ok(axum::Json(list.iter().map(InspectionOut::from).collect()))
}

#[utoipa::path(
    post,
    path = "/api/v1/inspections",
    tag = "inspections",
    summary = "Draw a sample (all points of kinds, or stratified with a seed)",
    description = "Each stratum takes every point of its kind (no count) or `count` of them drawn with the seed; the same seed over the same points draws the same sample.",
    request_body(content = NewInspectionIn, content_type = "application/json"),
    responses(
        (status = 201, description = "Drawn", body = InspectionOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn create_inspection(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppJson(body): AppJson<NewInspectionIn>,
) -> Result<Response, ApiError> {
    let i = state
        .draw_inspection(
            &actor,
            NewInspection {
                name: body.name,
                strata: body
                    .strata
                    .into_iter()
                    .map(|s| Stratum {
                        kind: s.kind,
                        count: s.count,
                    })
                    .collect(),
                seed: body.seed,
                assignee: body.assignee.map(UserId),
            },
        )
        .await?;
    audit(&actor, "inspection drawn", &i.id.to_string());
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(InspectionOut::from(&i)),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/inspections/{id}",
    tag = "inspections",
    summary = "An inspection with its points and results",
    params(("id" = Uuid, Path, description = "Inspection id")),
    responses(
        (status = 200, description = "The inspection", body = InspectionDetail),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
        (status = 404, description = "No such inspection for the caller", body = ErrorBody),
    )
)]
pub async fn get_inspection(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    IdPath(id): IdPath,
) -> Result<axum::Json<InspectionDetail>, ApiError> {
    let v = state.inspection(&actor, InspectionId(id)).await?;
    Ok(axum::Json(InspectionDetail::from(&v)))
}

#[utoipa::path(
    post,
    path = "/api/v1/inspections/{id}/assign",
    tag = "inspections",
    summary = "Give an inspection to an inspector (any staff)",
    params(("id" = Uuid, Path, description = "Inspection id")),
    request_body(content = AssignIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Assigned", body = InspectionOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 404, description = "No such inspection", body = ErrorBody),
        (status = 422, description = "Not a staff account", body = ErrorBody),
    )
)]
pub async fn assign_inspection(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    IdPath(id): IdPath,
    AppJson(body): AppJson<AssignIn>,
) -> Result<axum::Json<InspectionOut>, ApiError> {
    let i = state
        .assign_inspection(&actor, InspectionId(id), UserId(body.assignee))
        .await?;
    audit(&actor, "inspection assigned", &i.id.to_string());
    Ok(axum::Json(InspectionOut::from(&i)))
}

#[utoipa::path(
    post,
    path = "/api/v1/inspections/{id}/results",
    tag = "inspections",
    summary = "Record an item's outcome at a point; a fail becomes a problem",
    description = "A fail needs a photo and creates a problem at the point with the item's category, dispatched like any report; its history's `created` event names the inspection, the point and the item.",
    params(("id" = Uuid, Path, description = "Inspection id")),
    request_body(content = OutcomeIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded", body = ResultOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
        (status = 404, description = "No such inspection for the caller", body = ErrorBody),
        (status = 409, description = "The inspection is finished", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn record_result(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    IdPath(id): IdPath,
    AppJson(body): AppJson<OutcomeIn>,
) -> Result<axum::Json<ResultOut>, ApiError> {
    let r = state
        .record_outcome(
            &actor,
            InspectionId(id),
            Outcome {
                point: TestPointId(body.point),
                item: body.item,
                pass: body.pass,
                photos: body.photos,
                note: body.note,
            },
        )
        .await?;
    Ok(axum::Json(ResultOut::from(&r)))
}

#[utoipa::path(
    post,
    path = "/api/v1/inspections/{id}/finish",
    tag = "inspections",
    summary = "Finish an inspection: its results become final",
    params(("id" = Uuid, Path, description = "Inspection id")),
    responses(
        (status = 200, description = "Finished", body = InspectionOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
        (status = 404, description = "No such inspection for the caller", body = ErrorBody),
    )
)]
pub async fn finish_inspection(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    IdPath(id): IdPath,
) -> Result<axum::Json<InspectionOut>, ApiError> {
    let i = state.finish_inspection(&actor, InspectionId(id)).await?;
    Ok(axum::Json(InspectionOut::from(&i)))
}

// ---- readiness ---------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/api/v1/inspections/readiness",
    tag = "inspections",
    summary = "Readiness per point, kind and street; trend; failing items; points not inspected",
    params(ReadinessParams),
    responses(
        (status = 200, description = "Readiness", body = ReadinessOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn readiness(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppQuery(q): AppQuery<ReadinessParams>,
) -> Result<Response, ApiError> {
    let r = state
        .inspection_readiness(&actor, Utc::now(), q.days.unwrap_or(DEFAULT_STALE_DAYS))
        .await?;
    let lists = state.checklists().await?;
    Ok(match q.format.unwrap_or_default() {
        ReadinessFormat::Json => axum::Json(ReadinessOut::from(&r)).into_response(),
        ReadinessFormat::Csv => {
            let mut out = b"\xEF\xBB\xBF".to_vec();
            readiness_csv(&r, &lists, &mut out)?;
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"civmap-readiness.csv\"",
                    ),
                ],
                out,
            )
                .into_response()
        }
        ReadinessFormat::Html => {
            let page = maud::html! {
                (maud::DOCTYPE)
                html lang="zh-CN" {
                    head {
                        meta charset="utf-8";
                        title { "迎检准备度 Readiness" }
                        style { (maud::PreEscaped(REPORT_STYLE)) }
                    }
                    body { (readiness_section(&r, &lists)) }
                }
            };
            axum::response::Html(page.into_string()).into_response()
        }
    })
}

/// The print style the weekly report and this page share.
pub const REPORT_STYLE: &str = "@page{size:A4 landscape;margin:12mm}body{font:12px system-ui,sans-serif;margin:16px}\
     table{border-collapse:collapse;width:100%;margin-bottom:10px}th,td{border:1px solid #999;padding:3px 5px;text-align:right}\
     th{background:#eee}td:first-child,th:first-child{text-align:left}";

fn percent(s: &Score) -> String {
    s.share()
        .map_or_else(|| "—".to_owned(), |x| format!("{:.1}%", x * 100.0))
}

fn kind_zh(lists: &Checklists, code: &str) -> String {
    lists
        .kind(code)
        .map_or_else(|| code.to_owned(), |k| k.zh.clone())
}

/// The readiness section of the weekly report (and of its own page).
#[must_use]
pub fn readiness_section(r: &Readiness, lists: &Checklists) -> maud::Markup {
    maud::html! {
        h2 { "迎检准备度 Readiness" }
        p { "总体 overall " strong { (percent(&r.overall)) } "（通过 " (r.overall.passed) " 项，未通过 " (r.overall.failed) " 项）" }
        table {
            thead { tr { th { "点位类型 kind" } th { "准备度 readiness" } th { "通过 passed" } th { "未通过 failed" } } }
            tbody {
                @for (k, s) in &r.kinds {
                    tr { td { (kind_zh(lists, k)) } td { (percent(s)) } td { (s.passed) } td { (s.failed) } }
                }
            }
        }
        table {
            thead { tr { th { "街道 street" } th { "准备度 readiness" } th { "通过 passed" } th { "未通过 failed" } } }
            tbody {
                @for (k, s) in &r.streets {
                    tr { td { (if k.is_empty() { "—" } else { k.as_str() }) } td { (percent(s)) } td { (s.passed) } td { (s.failed) } }
                }
            }
        }
        table {
            thead { tr { th { "模拟测评 inspection" } th { "日期 date" } th { "得分 score" } } }
            tbody {
                @for t in &r.trend {
                    tr { td { (t.name) } td { (cst_date(t.created_at)) } td { (percent(&t.score)) } }
                }
            }
        }
        table {
            thead { tr { th { "问题最多的测评项 failing items" } th { "未通过 fails" } th { "测评次数 scored" } } }
            tbody {
                @for f in &r.failing {
                    tr { td { (f.zh) } td { (f.fails) } td { (f.scored) } }
                }
            }
        }
        p { (r.stale_days) " 天未测评的点位 not inspected for " (r.stale_days) " days：" (r.not_inspected.len()) }
        @if !r.not_inspected.is_empty() {
            table {
                thead { tr { th { "点位 point" } th { "类型 kind" } th { "上次测评 last inspected" } } }
                tbody {
                    @for p in &r.not_inspected {
                        tr {
                            td { (p.point.name) }
                            td { (kind_zh(lists, &p.point.kind)) }
                            td { (p.last_inspected.map_or_else(|| "从未 never".to_owned(), |t| cst_date(t).to_string())) }
                        }
                    }
                }
            }
        }
    }
}

/// Readiness as CSV rows (`section, key, name, passed, failed, readiness, last_inspected`),
/// appended to `out`: one table, so the weekly report's CSV can carry it as a section.
pub fn readiness_csv(r: &Readiness, lists: &Checklists, out: &mut Vec<u8>) -> Result<(), ApiError> {
    let internal = |e: csv::Error| ApiError::Internal(e.to_string());
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "section",
        "key",
        "name",
        "passed",
        "failed",
        "readiness",
        "last_inspected",
    ])
    .map_err(internal)?;
    let share = |s: &Score| {
        s.share()
            .map_or_else(String::new, |x| format!("{:.1}%", x * 100.0))
    };
    let mut row = |section: &str, key: &str, name: &str, s: Option<&Score>, last: String| {
        w.write_record([
            section.to_owned(),
            key.to_owned(),
            name.to_owned(),
            s.map_or_else(String::new, |s| s.passed.to_string()),
            s.map_or_else(String::new, |s| s.failed.to_string()),
            s.map_or_else(String::new, share),
            last,
        ])
    };
    row("overall", "", "总体", Some(&r.overall), String::new()).map_err(internal)?;
    for (k, s) in &r.kinds {
        row("kind", k, &kind_zh(lists, k), Some(s), String::new()).map_err(internal)?;
    }
    for (k, s) in &r.streets {
        row("street", k, k, Some(s), String::new()).map_err(internal)?;
    }
    for t in &r.trend {
        row(
            "inspection",
            &t.inspection.to_string(),
            &t.name,
            Some(&t.score),
            rfc3339_cst(t.created_at),
        )
        .map_err(internal)?;
    }
    for p in &r.points {
        let last = p.last_inspected.map(rfc3339_cst).unwrap_or_default();
        row(
            "point",
            &p.point.id.to_string(),
            &p.point.name,
            p.score.as_ref(),
            last,
        )
        .map_err(internal)?;
    }
    for f in &r.failing {
        w.write_record([
            "failing_item".to_owned(),
            f.code.clone(),
            f.zh.clone(),
            (f.scored - f.fails).to_string(),
            f.fails.to_string(),
            String::new(),
            String::new(),
        ])
        .map_err(internal)?;
    }
    w.flush().map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(())
}

// ---- notices -----------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/api/v1/notices",
    tag = "inspections",
    summary = "Rectification notices (整改通知单), newest first",
    responses(
        (status = 200, description = "The notices", body = Vec<NoticeOut>),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
    )
)]
pub async fn list_notices(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
) -> Result<axum::Json<Vec<NoticeOut>>, ApiError> {
    let list = state.notices(&actor).await?;
    Ok(axum::Json(list.iter().map(NoticeOut::from).collect()))
}

#[utoipa::path(
    post,
    path = "/api/v1/notices",
    tag = "inspections",
    summary = "Issue a numbered rectification notice for a problem or a failing test point",
    description = "The number (`整改通知 2026-0001`, per year, never reused) is recorded in the history of every problem the notice covers as a `notice` event; the deadline is counted in working days on the calendar.",
    request_body(content = NewNoticeIn, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued", body = NoticeOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 404, description = "No such problem or point", body = ErrorBody),
        (status = 422, description = "Invalid value", body = ErrorBody),
    )
)]
pub async fn create_notice(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppJson(body): AppJson<NewNoticeIn>,
) -> Result<Response, ApiError> {
    let v = state
        .issue_notice(
            &actor,
            NewNotice {
                problem: body.problem.map(ProblemId),
                point: body.point.map(TestPointId),
                unit: body.unit,
                wrong: body.wrong,
                working_days: body.working_days,
            },
        )
        .await?;
    audit(&actor, "notice issued", &v.notice.number());
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(NoticeOut::from(&v)),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/notices/due",
    tag = "inspections",
    summary = "Notices whose deadline passed: the look-back by deadline",
    responses(
        (status = 200, description = "Oldest deadline first", body = Vec<NoticeCheckOut>),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
    )
)]
pub async fn notices_due(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
) -> Result<axum::Json<Vec<NoticeCheckOut>>, ApiError> {
    let due = state.notices_due(&actor, Utc::now()).await?;
    Ok(axum::Json(due.iter().map(NoticeCheckOut::from).collect()))
}

#[utoipa::path(
    get,
    path = "/api/v1/notices/{key}/print",
    tag = "inspections",
    summary = "A notice as a printable A4 page",
    params(("key" = String, Path, description = "Notice id, or its number `2026-0001`")),
    responses(
        (status = 200, description = "The page", content_type = "text/html"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 404, description = "No such notice", body = ErrorBody),
    )
)]
pub async fn print_notice(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppPath(key): AppPath<String>,
) -> Result<Response, ApiError> {
    let v = state.notice(&actor, &key).await?;
    Ok(notice_page(&v).into_response())
}

/// The notice as the unit receives it: A4 portrait, the number, the place, what is wrong, the
/// photos, the deadline, and lines for the signatures.
fn notice_page(v: &NoticeView) -> axum::response::Html<String> {
    const STYLE: &str = "@page{size:A4 portrait;margin:18mm}body{font:14px/1.7 system-ui,sans-serif;max-width:180mm;margin:12px auto;color:#000}\
        h1{text-align:center;font-size:22px;letter-spacing:4px;margin:0 0 4px}.no{text-align:right;margin:0 0 12px}\
        dl{display:grid;grid-template-columns:7em 1fr;gap:4px 8px}dt{font-weight:bold}dd{margin:0}\
        .photos img{max-width:85mm;max-height:70mm;margin:4px;border:1px solid #999}\
        .sign{display:grid;grid-template-columns:1fr 1fr;gap:24px;margin-top:36px}.line{border-bottom:1px solid #000;height:28px}\
";
    let n = &v.notice;
    let issued = cst_date(n.issued_at);
    let deadline = n.deadline.with_timezone(&civmap_app::time::cst());
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { (n.number()) }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                h1 { "整改通知单" }
                p.no { "编号：" strong { (n.number()) } }
                p { (n.unit) "：" }
                p { "经检查，你单位责任区域存在以下问题，请于 " strong { (deadline.format("%Y年%m月%d日 %H:%M")) } " 前整改完毕，并将整改情况报街道办事处。" }
                dl {
                    dt { "地点" } dd { (n.place) }
                    dt { "存在问题" } dd { (n.wrong) }
                    dt { "整改期限" } dd { (deadline.format("%Y-%m-%d %H:%M")) "（工作日计）" }
                    dt { "发出日期" } dd { (issued) }
                    @if !v.problems.is_empty() {
                        dt { "关联问题" } dd { (v.problems.len()) " 件" }
                    }
                }
                @if !n.photos.is_empty() {
                    div.photos {
                        @for id in &n.photos {
                            img src=(format!("/api/v1/photos/{id}")) alt="现场照片";
                        }
                    }
                }
                div.sign {
                    div { "街道办事处（盖章）" div.line {} "日期" div.line {} }
                    div { "责任单位签收" div.line {} "日期" div.line {} }
                }
            }
        }
    };
    axum::response::Html(page.into_string())
}
