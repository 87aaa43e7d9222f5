//! The `Idempotency-Key` header (IETF `draft-ietf-httpapi-idempotency-key-header`) on every
//! write under `/api/v1`: a middleware reads the key, asks `civmap-app` (`idempotency`) whether
//! the key is new, runs the write once and keeps its answer, or replays the first answer with
//! `Idempotent-Replayed: true`. Writes without the header run as before.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts as _, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use civmap_app::App;
use civmap_app::accounts::sessions::Credential;
use civmap_app::idempotency::{Begin, Claim, HEADER};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::is_write;
use crate::state::ServerState;

/// The request header.
pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The answer header that says an answer is the replay of the key's first answer.
pub static REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The largest answer kept for a key: write answers are one problem or one small object; a
/// larger one runs, but its key is given back (a resend runs again).
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// What the OpenAPI document says of the header on every write.
pub const DESCRIPTION: &str = "Optional. A key the client makes for this request (a UUID; at most 255 visible ASCII characters; IETF draft-ietf-httpapi-idempotency-key-header). A repeated send with the same key and body gets the first answer again, with `Idempotent-Replayed: true`, and changes nothing; the same key with another body is a 422 `idempotency_key_reused`; a send while the first is still running waits for it, or gets 409 `idempotency_in_progress` with `Retry-After`. Keys belong to the caller (account, token or address) and are kept 48 hours.";

/// Whose key it is: the account, else the configured token, else the address.
fn caller_scope(c: &Caller) -> String {
    if let Some(u) = c.actor.user {
        return format!("user:{}", u.0);
    }
    if let Credential::Config { name } = &c.credential {
        return format!("config:{name}");
    }
    c.actor
        .ip
        .map_or_else(|| "anonymous".to_owned(), |ip| format!("addr:{ip}"))
}

/// Whether an answer is kept for the key's next sends: successes and the caller's own mistakes
/// (a 409 conflict or a 422 is the answer to this request, whenever it is sent again). Failures
/// that a resend may not meet (5xx, rate limits, a timeout) give the key back.
fn keep(status: StatusCode) -> bool {
    (status.is_success() || status.is_client_error())
        && status != StatusCode::TOO_MANY_REQUESTS
        && status != StatusCode::REQUEST_TIMEOUT
        && status != StatusCode::UNAUTHORIZED
}

/// The middleware: writes under `/api/v1` that carry the header run at most once per key.
pub async fn once(State(state): State<ServerState>, req: Request, next: Next) -> Response {
    if !is_write(req.method()) || !req.uri().path().starts_with("/api/v1/") {
        return next.run(req).await;
    }
    let Some(value) = req.headers().get(&IDEMPOTENCY_KEY) else {
        return next.run(req).await;
    };
    let Ok(key) = value.to_str() else {
        return ApiError::invalid(HEADER, "must be visible ASCII characters").into_response();
    };
    // The draft's value is a structured-field string ("…"); a bare token is accepted too.
    let key = key.trim();
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(key)
        .to_owned();
    let app = state.app.clone();
    let (mut parts, body) = req.into_parts();
    // Resolved here and cached in the request, so the handler does not resolve it again.
    let caller = match Caller::from_request_parts(&mut parts, &app).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    // The body is read here to be hashed, up to the largest any write takes (a photo's); the
    // route still applies its own limit to what it is handed.
    let limits = &app.config().limits;
    let limit = limits.body_bytes.max(limits.photo_bytes);
    let Ok(bytes) = to_bytes(body, limit).await else {
        return ApiError::PayloadTooLarge(format!("a body may have at most {limit} bytes"))
            .into_response();
    };
    let request = format!("{} {}", parts.method, parts.uri.path());
    let begin = app
        .idempotency_begin(&caller_scope(&caller), &key, &request, &bytes)
        .await;
    let claim = match begin {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(Begin::Replay { status, body }) => return replay(status, body),
        Ok(Begin::Run(claim)) => claim,
    };
    let req = Request::from_parts(parts, Body::from(bytes));
    // The write and the keeping of its answer run on a task of their own: a request timeout
    // or a client that hangs up drops this future, and the answer must still be kept (the write
    // may have committed), else the key's next send would run the write a second time.
    let task = tokio::spawn(run(app.clone(), claim.clone(), next, req));
    match task.await {
        Ok(resp) => resp,
        Err(e) => {
            // The write panicked: the key is given back, a resend runs it again.
            app.idempotency_abandon(&claim).await;
            ApiError::Internal(format!("the write of an idempotency key failed: {e}"))
                .into_response()
        }
    }
}

async fn run(app: App, claim: Claim, next: Next, req: Request) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !keep(status) {
        app.idempotency_abandon(&claim).await;
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = match to_bytes(body, MAX_ANSWER_BYTES).await {
        Ok(b) => String::from_utf8(b.to_vec()).map_err(std::string::FromUtf8Error::into_bytes),
        Err(e) => {
            app.idempotency_abandon(&claim).await;
            return ApiError::Internal(format!("the answer could not be read: {e}"))
                .into_response();
        }
    };
    match text {
        Ok(text) => {
            if let Err(e) = app.idempotency_finish(&claim, status.as_u16(), &text).await {
                // The write is done; its answer is not kept. Its key is left claimed (a resend
                // waits and is told to retry) rather than given back, which could run it twice.
                tracing::warn!(error = %e, "could not keep the answer of an idempotency key");
            }
            Response::from_parts(parts, Body::from(text))
        }
        // Not text (no write answers so): the answer goes out, the key is given back.
        Err(bytes) => {
            app.idempotency_abandon(&claim).await;
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}

/// The first answer of a key, again.
fn replay(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(REPLAYED.clone(), HeaderValue::from_static("true"));
    resp
}

/// Documents the header on every write operation under `/api/v1` of `doc`.
pub fn document(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Required, Type};
    let param = ParameterBuilder::new()
        .name(HEADER)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(DESCRIPTION))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(civmap_app::idempotency::MAX_KEY_CHARS))
                .min_length(Some(1)),
        ))
        .build();
    for (path, item) in &mut doc.paths.paths {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for op in [
            item.post.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            op.parameters
                .get_or_insert_with(Vec::new)
                .push(param.clone().into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_kept_are_the_requests_own() {
        assert!(keep(StatusCode::CREATED));
        assert!(keep(StatusCode::CONFLICT));
        assert!(keep(StatusCode::UNPROCESSABLE_ENTITY));
        assert!(!keep(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(!keep(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!keep(StatusCode::TOO_MANY_REQUESTS));
    }
}
