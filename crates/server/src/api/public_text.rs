//! `POST /api/v1/problems/{id}/public-text`: the street office hides a description from the
//! public or gives it a public wording (the rule is `civmap_app::moderation`).

use axum::http::StatusCode;
use axum::response::Response;
use civmap_app::App;
use civmap_app::moderation::PublicDescription;
use civmap_domain::ProblemId;
use serde::Deserialize;
use utoipa::ToSchema;

use super::common::{CrsParam, IdPath, feature_response};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppJson, AppQuery};

/// What the public reads of a description: hidden, or a wording.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicTextBody {
    /// `true`: the public reads `（内容已隐藏）` instead of the description.
    pub hidden: bool,
    /// With `hidden: false`: what the public reads instead of the description (personal data
    /// in it is masked for the public like everywhere).
    #[serde(default)]
    pub public_description: Option<String>,
    /// Why (required): recorded in the history with the change.
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/problems/{id}/public-text",
    tag = "problems",
    summary = "Hide a description from the public, or reword it",
    description = "The street office decides what the public (REST, OGC API, Open311, the public history) reads of this problem's description: `hidden: true` shows `（内容已隐藏）`, `hidden: false` with `public_description` shows that wording. Staff keep reading the description as written, and see `public_description` and `description_hidden` beside it. Recorded as an `edited` event with data `{\"public_description\", \"hidden\"}` and the note; the problem's version does not change. Needs the role admin or street_office.",
    params(("id" = Uuid, Path, description = "Problem id"), CrsParam),
    request_body(content = PublicTextBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The problem as staff see it", body = crate::render::ProblemFeatureDoc, content_type = "application/geo+json"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Role not allowed", body = ErrorBody),
        (status = 404, description = "No such problem in the caller's scope", body = ErrorBody),
        (status = 422, description = "No note, no wording, a wording with `hidden: true`, or too long", body = ErrorBody),
    )
)]
pub async fn set_public_text(
    Caller { actor, .. }: Caller,
    axum::extract::State(state): axum::extract::State<App>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<CrsParam>,
    AppJson(body): AppJson<PublicTextBody>,
) -> Result<Response, ApiError> {
    let crs = q.crs()?;
    let public = match (body.hidden, body.public_description) {
        (true, None) => PublicDescription::Hidden,
        (true, Some(w)) if w.trim().is_empty() => PublicDescription::Hidden,
        (true, Some(_)) => {
            return Err(ApiError::invalid(
                "public_description",
                "a hidden description has no public wording",
            ));
        }
        (false, w) => PublicDescription::Wording(w.unwrap_or_default()),
    };
    state
        .set_public_description(ProblemId(id), public, &body.note, &actor)
        .await?;
    feature_response(StatusCode::OK, &state, ProblemId(id), crs, &actor)
}
