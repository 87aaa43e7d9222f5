//! Photos over HTTP: `POST /api/v1/photos` (the raw bytes, any `Content-Type`: the format is
//! read from the content; over `limits.photo_bytes` is a 413, not an image a 415), `GET
//! /api/v1/photos/{id}` for staff (`?size=thumb`: the 320 px JPEG), and the public after-photo
//! of a verified fix, `GET /api/v1/problems/{id}/photo`. What is stripped, and who sees which
//! photo, is the service's (`civmap_app::media`).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use civmap_app::App;
use civmap_app::actor::STAFF;
use civmap_app::media::photos::PhotoBytes;
use civmap_store::PhotoMeta;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::common::IdPath;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppPath, AppQuery};
use crate::state::ServerState;

/// The photo routes.
pub fn router() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(get_photo))
        .routes(routes!(problem_photo))
}

#[utoipa::path(
    get,
    path = "/api/v1/problems/{id}/photo",
    tag = "problems",
    summary = "A fixed problem's public after-photo",
    description = "For a closed problem of a category that is not indoor: the first photo of the rectification that the verification accepted (the review that makes it public). Anyone who may see the problem may fetch it; `size=thumb` gives the 320 px JPEG. 404 when there is none (open, indoor, or fixed without a photo). The history's `public_photo` says whether there is one.",
    params(("id" = uuid::Uuid, Path, description = "Problem id"), PhotoParams),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 404, description = "No such problem, or no public photo", body = ErrorBody),
    )
)]
async fn problem_photo(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    IdPath(id): IdPath,
    AppQuery(q): AppQuery<PhotoParams>,
) -> Result<Response, ApiError> {
    let thumb = parse_size(q.size.as_deref())?;
    let photo = state
        .public_photo(&actor, civmap_domain::ProblemId(id), thumb)
        .await?;
    // Not content-addressed by this URL: a problem fixed again gets another photo, so
    // browsers revalidate (the ETag names the photo).
    let etag = format!("\"{}{}\"", photo.id, if thumb { "-thumb" } else { "" });
    photo_response(photo, &etag, "private, no-cache")
}

fn parse_size(size: Option<&str>) -> Result<bool, ApiError> {
    match size {
        None | Some("full") => Ok(false),
        Some("thumb") => Ok(true),
        Some(other) => Err(ApiError::bad_param(
            "size",
            format!("{other:?} is not one of full, thumb"),
        )),
    }
}

/// Which rendition of a photo.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PhotoParams {
    /// `full` (default: the stored photo) or `thumb` (a JPEG at most 320 pixels a side).
    pub size: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/photos/{id}",
    tag = "problems",
    summary = "A photo (staff only)",
    description = "The stored photo (metadata already stripped) with its media type, or with `size=thumb` a JPEG thumbnail at most 320 pixels a side (the original when none could be made). Content-addressed: cached for a year. Photos are evidence for staff: the public and reporters get 403.",
    params(("id" = String, Path, description = "Photo id (SHA-256 hex)"), PhotoParams),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 400, description = "Not a photo id, or a bad size", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
        (status = 404, description = "No such photo", body = ErrorBody),
    )
)]
async fn get_photo(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppPath(id): AppPath<String>,
    AppQuery(q): AppQuery<PhotoParams>,
) -> Result<Response, ApiError> {
    actor.require(STAFF, "see photos (they are shown to staff only)")?;
    let thumb = parse_size(q.size.as_deref())?;
    let photo = state.photo(&id, thumb).await?;
    let etag = format!("\"{id}{}\"", if thumb { "-thumb" } else { "" });
    photo_response(photo, &etag, "private, max-age=31536000, immutable")
}

/// A photo with its media type and caching headers.
fn photo_response(
    photo: PhotoBytes,
    etag: &str,
    cache: &'static str,
) -> Result<Response, ApiError> {
    let mut resp = (StatusCode::OK, photo.bytes).into_response();
    let h = resp.headers_mut();
    let value = |s: &str| HeaderValue::from_str(s).map_err(|e| ApiError::Internal(e.to_string()));
    h.insert(header::CONTENT_TYPE, value(&photo.mime)?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::ETAG, value(etag)?);
    Ok(resp)
}

/// A stored photo.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoOut {
    /// SHA-256 of the stored (stripped) bytes: send it in `photos` of a report or a step.
    pub id: String,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub mime: String,
    pub width: u32,
    pub height: u32,
    /// Size of the stored file.
    pub bytes: u64,
}

impl From<PhotoMeta> for PhotoOut {
    fn from(m: PhotoMeta) -> Self {
        Self {
            id: m.id,
            mime: m.mime,
            width: m.width,
            height: m.height,
            bytes: m.bytes,
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/photos",
    tag = "problems",
    summary = "Upload a photo",
    description = "The raw bytes of one JPEG, PNG or WebP image as the body (any `Content-Type`: the format is read from the content). EXIF (with the GPS position), XMP, IPTC, comments and text chunks are removed before the photo is stored; the answer's `id` (SHA-256 of the stored bytes) goes into `photos` of `POST /api/v1/problems` or of a lifecycle step. At most `limits.photo_bytes` bytes (413). Anonymous uploads are rate limited (429). Photos are shown to staff only.",
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses(
        (status = 201, description = "Stored", body = PhotoOut),
        (status = 413, description = "Larger than `limits.photo_bytes`", body = ErrorBody),
        (status = 415, description = "Not a JPEG, PNG or WebP image", body = ErrorBody),
        (status = 422, description = "A damaged image, or one too large in pixels", body = ErrorBody),
        (status = 429, description = "Too many anonymous writes", body = ErrorBody),
    )
)]
async fn upload(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    req: Request,
) -> Result<Response, ApiError> {
    let cap = state.config().limits.photo_bytes;
    let bytes = axum::body::to_bytes(req.into_body(), cap)
        .await
        .map_err(|e| {
            let text = e.to_string();
            if text.contains("length limit") {
                ApiError::PayloadTooLarge(format!("a photo may have at most {cap} bytes"))
            } else {
                ApiError::BadRequest {
                    message: format!("cannot read the photo: {text}"),
                    field: None,
                }
            }
        })?;
    let meta = state.store_photo(&actor, bytes.to_vec()).await?;
    let mut resp = (StatusCode::CREATED, axum::Json(PhotoOut::from(meta))).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
