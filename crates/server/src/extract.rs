//! Extractors whose rejections are [`ApiError`]s, so malformed JSON, a wrong content type, a
//! body over the limit or a bad query parameter all get the one error shape.

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

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
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "expected a body with Content-Type: application/json".into(),
            ));
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(AppJson)
    }
}

/// Parses a JSON document, classifying errors as 400 (syntax) or 422 (data, naming the field).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
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
                ApiError::Invalid {
                    message: format!("{field}: {inner}"),
                    field,
                }
            }
            _ => ApiError::BadRequest {
                message: format!("malformed JSON: {inner}"),
                field: None,
            },
        }
    })?;
    de.end().map_err(|e| ApiError::BadRequest {
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

pub(crate) async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(inner) => {
            let text = inner.body_text();
            if text.contains("length limit") || inner.status().as_u16() == 413 {
                ApiError::PayloadTooLarge("request body is larger than the limit".into())
            } else {
                ApiError::BadRequest {
                    message: format!("cannot read the request body: {text}"),
                    field: None,
                }
            }
        }
        other => ApiError::BadRequest {
            message: other.body_text(),
            field: None,
        },
    })
}

/// Path parameters parsed with serde; a segment that is not UTF-8 once decoded (`%FF%FE`) or
/// not of the expected type is a 400 in the common error shape naming the parameter (axum's
/// own rejection is plain text).
#[derive(Debug, Clone)]
pub struct AppPath<T>(pub T);

impl<T, S> FromRequestParts<S> for AppPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| AppPath(v))
            .map_err(|e| path_error(&e))
    }
}

/// A path rejection as a 400 naming the parameter (`path` when axum does not say which).
#[must_use]
pub fn path_error(e: &PathRejection) -> ApiError {
    let key = match e {
        PathRejection::FailedToDeserializePathParams(d) => match d.kind() {
            ErrorKind::InvalidUtf8InPathParam { key }
            | ErrorKind::ParseErrorAtKey { key, .. }
            | ErrorKind::DeserializeError { key, .. } => Some(key.clone()),
            _ => None,
        },
        _ => None,
    };
    ApiError::bad_param(key.unwrap_or_else(|| "path".to_owned()), e.body_text())
}

/// Query-string parameters parsed with serde; a bad value is a 400 naming the parameter.
#[derive(Debug, Clone)]
pub struct AppQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_urlencoded(parts.uri.query().unwrap_or_default().as_bytes()).map(AppQuery)
    }
}

/// Parses `application/x-www-form-urlencoded` text (a query string or a form body).
pub fn parse_urlencoded<T: DeserializeOwned>(input: &[u8]) -> Result<T, ApiError> {
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
            ApiError::BadRequest {
                message: format!("query: {msg}"),
                field: None,
            }
        } else {
            ApiError::bad_param(field, msg)
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
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let form = is_form(req.headers());
        let json = is_json(req.headers());
        if !(form || json) {
            return Err(ApiError::UnsupportedMediaType(
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
}
