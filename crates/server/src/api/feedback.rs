//! The reporter's answer after verification (回访) over HTTP: `POST
//! /api/v1/problems/{id}/feedback` records it, `GET /api/v1/me/feedback` says which of the
//! caller's reports wait for an answer and what was answered. The rules are
//! `civmap_app::workflow::feedback`'s.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use civmap_app::App;
use civmap_app::workflow::feedback::Feedback;
use civmap_domain::ProblemId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::common::{CrsParam, IdPath, feature_response};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppJson, AppQuery};

/// The reporter's answer: solved or not, and (for a "no") what is still wrong.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    /// Whether the problem is solved as the reporter sees it.
    pub solved: bool,
    /// What is still wrong, at most 500 characters.
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/problems/{id}/feedback",
    tag = "workflow",
    summary = "Answer whether my verified report is solved (回访)",
    description = "Only the problem's reporter, only when it was verified and closed, and only once per verification. Recorded as a `feedback` event (`data.solved`); `solved: false` puts the problem in the inbox list `feedback_unsolved` of the street office until a look-back or a recurrence.",
    params(("id" = Uuid, Path, description = "Problem id"), CrsParam),
    request_body(content = FeedbackBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The problem after the answer", body = crate::render::ProblemFeatureDoc, content_type = "application/geo+json"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not the reporter of this problem", body = ErrorBody),
        (status = 404, description = "No such problem", body = ErrorBody),
        (status = 409, description = "Not verified and closed, or answered already", body = ErrorBody),
        (status = 422, description = "A bad field, named in `field`", body = ErrorBody),
    )
)]
pub async fn feedback(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<FeedbackBody>,
) -> Result<Response, ApiError> {
    let crs = q.crs()?;
    let answer = Feedback {
        solved: body.solved,
        note: body.note,
    };
    let p = state.feedback(ProblemId(id), answer, &actor).await?;
    feature_response(StatusCode::OK, &state, p.id, crs, &actor)
}

/// Where the answer about one of my reports stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyFeedback {
    pub id: Uuid,
    /// `due` (verified, asking me), `solved`, `unsolved` or `handled` (said not solved, and
    /// the street office has looked again since).
    pub answer: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/me/feedback",
    tag = "workflow",
    summary = "My reports that were verified: which wait for my answer (回访), and what I answered",
    description = "Of the signed-in user's reports (the ones `GET /api/v1/me/reports` lists), those verified since they were last reopened, with where the answer stands.",
    responses(
        (status = 200, description = "The answers", body = Vec<MyFeedback>),
        (status = 401, description = "Sign in first", body = ErrorBody),
    )
)]
pub async fn my_feedback(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
) -> Result<axum::Json<Vec<MyFeedback>>, ApiError> {
    let me = actor.user.ok_or_else(|| {
        ApiError::Unauthorized("sign in (POST /api/v1/login) to see your reports".into())
    })?;
    let (ids, _) = state.reports_of(me);
    let out = ids
        .into_iter()
        .filter_map(|id| {
            state.feedback_answer(id).map(|a| MyFeedback {
                id: id.0,
                answer: a.as_str().to_owned(),
            })
        })
        .collect();
    Ok(axum::Json(out))
}
