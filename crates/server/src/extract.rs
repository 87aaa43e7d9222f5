//! Extractors whose rejections are [`AppError`]s, so malformed JSON, a wrong content type, a
//! body over the limit or a bad query parameter all get the one error shape.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use civmap_domain::{Role, UserId};
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::state::AppState;

/// A JSON body (`application/json` or any `+json` type), parsed with serde.
///
/// Rejections: no or another content type -> 415; over the body limit -> 413; not JSON ->
/// 400; JSON with a wrong or missing field -> 422 naming the field path (e.g. `lon`).
#[derive(Debug, Clone)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(AppError::UnsupportedMediaType(
                "expected a body with Content-Type: application/json".into(),
            ));
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(AppJson)
    }
}

/// Parses a JSON document, classifying errors as 400 (syntax) or 422 (data, naming the field).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                // serde names a missing or unknown field in its message, not in the path.
                let field = if path == "." {
                    between_backticks(&inner.to_string()).unwrap_or_else(|| "body".to_owned())
                } else {
                    path
                };
                AppError::Invalid {
                    message: format!("{field}: {inner}"),
                    field,
                }
            }
            _ => AppError::BadRequest {
                message: format!("malformed JSON: {inner}"),
                field: None,
            },
        }
    })?;
    de.end().map_err(|e| AppError::BadRequest {
        message: format!("malformed JSON: {e}"),
        field: None,
    })?;
    Ok(value)
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

pub(crate) async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    Bytes::from_request(req, state).await.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(inner) => {
            let text = inner.body_text();
            if text.contains("length limit") || inner.status().as_u16() == 413 {
                AppError::PayloadTooLarge("request body is larger than the limit".into())
            } else {
                AppError::BadRequest {
                    message: format!("cannot read the request body: {text}"),
                    field: None,
                }
            }
        }
        other => AppError::BadRequest {
            message: other.body_text(),
            field: None,
        },
    })
}

/// Query-string parameters parsed with serde; a bad value is a 400 naming the parameter.
#[derive(Debug, Clone)]
pub struct AppQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_urlencoded(parts.uri.query().unwrap_or_default().as_bytes()).map(AppQuery)
    }
}

/// Parses `application/x-www-form-urlencoded` text (a query string or a form body).
pub fn parse_urlencoded<T: DeserializeOwned>(input: &[u8]) -> Result<T, AppError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(input));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        // serde names an unknown or missing parameter in its message, not in the path.
        let field = if path == "." {
            between_backticks(&msg).unwrap_or_default()
        } else {
            path
        };
        if field.is_empty() {
            AppError::BadRequest {
                message: format!("query: {msg}"),
                field: None,
            }
        } else {
            AppError::bad_param(field, msg)
        }
    })
}

fn between_backticks(s: &str) -> Option<String> {
    let start = s.find('`')? + 1;
    let len = s[start..].find('`')?;
    Some(s[start..start + len].to_owned())
}

/// An `application/x-www-form-urlencoded` body (Open311 POST). A JSON body is accepted too.
#[derive(Debug, Clone)]
pub struct AppForm<T>(pub T);

impl<T, S> FromRequest<S> for AppForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let form = is_form(req.headers());
        let json = is_json(req.headers());
        if !(form || json) {
            return Err(AppError::UnsupportedMediaType(
                "expected Content-Type: application/x-www-form-urlencoded".into(),
            ));
        }
        let bytes = read_body(req, state).await?;
        if json {
            parse_json(&bytes).map(AppForm)
        } else {
            parse_urlencoded(&bytes).map(AppForm)
        }
    }
}

/// Who is calling: an account signed in with a session cookie or an API token, the holder of a
/// static API token from the configuration, or an anonymous caller (acting with the configured
/// `anonymous_role`, `public` by default). See [`crate::auth`] for how a request is
/// authenticated and [`crate::auth::Caller`] for how it signed in; which problems the actor may
/// see and change is [`AppState::scope`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user recorded in the event log; `None` for anonymous callers and system tokens.
    pub user: Option<UserId>,
    pub role: Role,
    /// Whether credentials were presented and accepted.
    pub authenticated: bool,
    /// The peer address, when the server knows it (used by the rate limiter).
    pub ip: Option<IpAddr>,
}

impl Actor {
    /// `Ok` if this actor's role is one of `roles`; otherwise 401 for anonymous callers, 403
    /// for authenticated ones. `what` completes "... may not {what}".
    pub fn require(&self, roles: &[Role], what: &str) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        if self.authenticated {
            Err(AppError::Forbidden(format!(
                "role {} may not {what}",
                self.role
            )))
        } else {
            Err(AppError::Unauthorized(format!(
                "sign in (POST /api/v1/login, or Authorization: Bearer <token>) to {what}"
            )))
        }
    }

    /// Whether this caller sees the public map only: the public and reporters (who see their
    /// reports on the public map). Such callers never see personal data (reporter, assignee,
    /// actors, notes, photos) and see indoor problems generalised to a 50 m cell.
    #[must_use]
    pub fn is_public(&self) -> bool {
        matches!(self.role, Role::Public | Role::Reporter)
    }

    /// Whether this caller is staff (sees personal data within its scope).
    #[must_use]
    pub fn is_staff(&self) -> bool {
        !self.is_public()
    }

    /// Whether this caller's writes are rate limited (anonymous callers are).
    #[must_use]
    pub fn rate_limited(&self) -> bool {
        !self.authenticated
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        crate::auth::Caller::from_request_parts(parts, state)
            .await
            .map(|c| c.actor)
    }
}

/// Constant-time comparison of two secrets (length leaks, content does not).
#[must_use]
pub fn secret_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `true` for methods that change state (rate limiting, write metrics).
#[must_use]
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Q {
        limit: Option<u32>,
        name: Option<String>,
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let e = parse_urlencoded::<Q>(b"limit=abc").unwrap_err();
        assert_eq!(e.field(), Some("limit"), "{e}");
        assert_eq!(e.status().as_u16(), 400);
        let e = parse_urlencoded::<Q>(b"limt=3").unwrap_err();
        assert_eq!(e.field(), Some("limt"), "{e}");
        assert!(parse_urlencoded::<Q>(b"limit=3&name=%E5%9E%83").is_ok());
    }

    #[test]
    fn json_errors_are_classified() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct B {
            lon: f64,
        }
        assert_eq!(parse_json::<B>(b"{").unwrap_err().status().as_u16(), 400);
        assert_eq!(
            parse_json::<B>(br#"{"lon": 1} x"#)
                .unwrap_err()
                .status()
                .as_u16(),
            400
        );
        let e = parse_json::<B>(br#"{"lon":"east"}"#).unwrap_err();
        assert_eq!((e.status().as_u16(), e.field()), (422, Some("lon")));
        let e = parse_json::<B>(b"{}").unwrap_err();
        assert_eq!(e.status().as_u16(), 422);
    }

    #[test]
    fn secrets() {
        assert!(secret_eq("abcdef", "abcdef"));
        assert!(!secret_eq("abcdef", "abcdeg"));
        assert!(!secret_eq("abc", "abcd"));
    }
}
