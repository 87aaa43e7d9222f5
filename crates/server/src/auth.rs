//! Signing in over HTTP: the session cookie and the CSRF header, the [`Caller`] of a request,
//! and the `/api/v1/login`, `/logout`, `/me` and `/tokens` endpoints. Passwords, secrets,
//! sessions and sign-in limits are the service's (`civmap_app::accounts`).
//!
//! How a request is authenticated ([`Caller`]), first match wins:
//!
//! 1. `Authorization: Bearer <token>`: a static token from the configuration (`api_tokens`),
//!    else an account's API token (`POST /api/v1/tokens`, `civmap user token`). An unknown,
//!    expired or revoked token is a 401. Bearer requests need no CSRF token: a browser never
//!    adds the header by itself.
//! 2. The session cookie `civmap_session` set by `POST /api/v1/login` (`HttpOnly`,
//!    `SameSite=Lax`, `Secure` when `public_url` is `https://`). Writes (any method but GET,
//!    HEAD, OPTIONS) must repeat the session's CSRF token in the `X-CSRF-Token` header (the
//!    token is in the login and `/me` answers; another site can read neither): 403 otherwise.
//!    An expired or revoked cookie counts as no cookie.
//! 3. Nobody: the configured `anonymous_role` (`public` by default).
//!
//! Only SHA-256 hashes of cookie values and tokens are stored, so a copy of the database lets
//! nobody sign in; sessions and tokens of an account end when it is disabled or its password
//! is reset (`civmap user disable|reset-password`), and with `POST /api/v1/logout`.
//!
//! Sign-in attempts are limited per client address (`auth.login_per_minute`, answered with 429
//! `rate_limited`) and per account name: after `auth.lockout_failures` failures in a row the
//! name is locked for `auth.lockout_s` seconds (429 `login_locked`, even with the right
//! password), whether or not the account exists, so the answers tell nothing about which names
//! exist. Both counters live in the server process.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use civmap_app::App;
use civmap_app::accounts::secrets::secret_eq;
use civmap_app::accounts::sessions::{Credential, Identity};
use civmap_app::actor::Actor;
use civmap_app::time::rfc3339;
use civmap_domain::User;
use civmap_store::SessionKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AppJson, is_write};
use crate::state::ServerState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "civmap_session";
/// Header that must carry the session's CSRF token on cookie-authenticated writes.
pub const CSRF_HEADER: &str = "x-csrf-token";

// ---- who is calling --------------------------------------------------------------------

/// The caller of a request: the [`Actor`] the service authorizes, how it signed in, and its
/// account when it has one. Resolved once per request (cached in the request's extensions).
/// Handlers that need only the actor take `Caller { actor, .. }: Caller`.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub credential: Credential,
    /// The account (sessions and account tokens; not loaded for static tokens).
    pub user: Option<User>,
}

impl From<Identity> for Caller {
    fn from(i: Identity) -> Self {
        Self {
            actor: i.actor,
            credential: i.credential,
            user: i.user,
        }
    }
}

impl From<Caller> for Identity {
    fn from(c: Caller) -> Self {
        Self {
            actor: c.actor,
            credential: c.credential,
            user: c.user,
        }
    }
}

impl<S> FromRequestParts<S> for Caller
where
    App: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let c = resolve(parts, &App::from_ref(state)).await?;
        parts.extensions.insert(c.clone());
        Ok(c)
    }
}

/// The peer address of a request, when the server knows it.
#[must_use]
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// How a request is authenticated, first match wins: a bearer token; the session cookie (with
/// the CSRF header on writes); nobody.
async fn resolve(parts: &Parts, app: &App) -> Result<Caller, ApiError> {
    let ip = client_ip(parts);
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
        let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
        else {
            return Err(ApiError::Unauthorized(
                "unsupported Authorization scheme; use Bearer".into(),
            ));
        };
        return app
            .bearer(token.trim(), ip)
            .await?
            .map(Caller::from)
            .ok_or_else(|| ApiError::Unauthorized("unknown, expired or revoked token".into()));
    }
    if let Some(secret) = cookie_value(&parts.headers, SESSION_COOKIE)
        && let Some(c) = app.session(secret, SessionKind::Cookie, ip).await?
    {
        if is_write(&parts.method) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let ok =
                matches!(&c.credential, Credential::Cookie { csrf, .. } if secret_eq(csrf, sent));
            if !ok {
                return Err(ApiError::Forbidden(format!(
                    "missing or wrong {CSRF_HEADER} header: a signed-in browser must send the csrf_token of POST /api/v1/login or GET /api/v1/me with every change"
                )));
            }
        }
        return Ok(c.into());
    }
    Ok(app.anonymous_identity(ip).into())
}

/// The value of cookie `name` in the request's `Cookie` headers.
#[must_use]
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

// ---- endpoints ---------------------------------------------------------------------------

/// The sign-in routes.
pub fn router() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(create_token))
}

/// A sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// The account's login name.
    pub name: String,
    pub password: String,
}

/// The signed-in caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The account (`null` for a static token that acts for no account).
    pub id: Option<Uuid>,
    /// Login name (for a static token: its label).
    pub name: String,
    pub display_name: String,
    /// `admin`, `street_office`, `area_chief`, `road_chief`, `point_chief`, `reporter` or `public`.
    pub role: String,
    /// The street (街道) code of the account.
    pub street: Option<String>,
    /// The zones assigned to the account.
    pub zones: Vec<Uuid>,
    /// How the caller signed in: `cookie` (browser session), `token` (an account's API token)
    /// or `config` (a static token of the configuration).
    pub via: String,
    /// Browser sessions only: send it as `X-CSRF-Token` with every change.
    pub csrf_token: Option<String>,
    /// When the session or token ends (RFC 3339).
    pub expires_at: Option<String>,
}

fn me_of(state: &App, c: &Caller) -> Me {
    let zones = c
        .actor
        .user
        .map(|u| state.zones_of(u).into_iter().map(|z| z.0).collect())
        .unwrap_or_default();
    let (csrf, expires) = match &c.credential {
        Credential::Cookie {
            csrf, expires_at, ..
        } => (Some(csrf.clone()), Some(rfc3339(*expires_at))),
        Credential::Token { expires_at, .. } => (None, Some(rfc3339(*expires_at))),
        Credential::Config { .. } | Credential::Anonymous => (None, None),
    };
    let (name, display_name, street) = match (&c.user, &c.credential) {
        (Some(u), _) => (u.name.clone(), u.display_name.clone(), u.street.clone()),
        (None, Credential::Config { name }) => (name.clone(), name.clone(), None),
        (None, _) => (String::new(), String::new(), None),
    };
    Me {
        id: c.actor.user.map(|u| u.0),
        name,
        display_name,
        role: c.actor.role.as_str().to_owned(),
        street,
        zones,
        via: c.credential.as_str().to_owned(),
        csrf_token: csrf,
        expires_at: expires,
    }
}

/// `Set-Cookie` for a new session, or (with `None`) one that clears it.
fn session_cookie(state: &App, secret: Option<&str>, max_age_s: i64) -> Option<HeaderValue> {
    let secure = state
        .config()
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    let v = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        secret.unwrap_or_default(),
        if secret.is_some() { max_age_s } else { 0 },
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&v).ok()
}

/// The client address, without authenticating (sign-in must work with a stale cookie).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts)))
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/login",
    tag = "accounts",
    summary = "Sign in",
    description = "Checks the name and password (Argon2id) and starts a browser session: the answer sets the `civmap_session` cookie (HttpOnly, SameSite=Lax, Secure behind https) and carries the `csrf_token` to send as `X-CSRF-Token` with every change. The same 401 answers an unknown name, a disabled account and a wrong password. Attempts are limited per address (429 `rate_limited`) and per name: after `auth.lockout_failures` failures in a row the name is locked for `auth.lockout_s` seconds (429 `login_locked`, `Retry-After`). Scripts use `POST /api/v1/tokens` for a bearer token instead of the cookie.",
    request_body(content = LoginBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = Me),
        (status = 401, description = "Wrong name or password", body = ErrorBody),
        (status = 422, description = "A missing field", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address (`rate_limited`) or for this name (`login_locked`)", body = ErrorBody),
    )
)]
async fn login(
    State(state): State<App>,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<LoginBody>,
) -> Result<Response, ApiError> {
    let signed = state.sign_in(&body.name, body.password, ip).await?;
    let hours = state.config().auth.session_hours;
    let caller = Caller::from(signed.identity);
    let mut resp = axum::Json(me_of(&state, &caller)).into_response();
    if let Some(v) = session_cookie(&state, Some(&signed.secret), i64::from(hours) * 3600) {
        resp.headers_mut().insert(SET_COOKIE, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[utoipa::path(
    post,
    path = "/api/v1/logout",
    tag = "accounts",
    summary = "Sign out",
    description = "Revokes the session (cookie, with its `X-CSRF-Token`) or the account API token (bearer) the request came with, and clears the cookie. Static tokens of the configuration are withdrawn by removing them from it (409).",
    responses(
        (status = 204, description = "Signed out"),
        (status = 403, description = "Cookie without its CSRF token", body = ErrorBody),
        (status = 409, description = "A static token of the configuration", body = ErrorBody),
    )
)]
async fn logout(State(state): State<App>, caller: Caller) -> Result<Response, ApiError> {
    state.sign_out(&caller.into()).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Some(v) = session_cookie(&state, None, 0) {
        resp.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(resp)
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "accounts",
    summary = "Who am I",
    description = "The signed-in caller: account, role, assigned zones and, for browser sessions, the CSRF token to send as `X-CSRF-Token`.",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
async fn me(State(state): State<App>, caller: Caller) -> Result<Response, ApiError> {
    if caller.credential == Credential::Anonymous {
        return Err(ApiError::Unauthorized(
            "not signed in (POST /api/v1/login, or Authorization: Bearer <token>)".into(),
        ));
    }
    let mut resp = axum::Json(me_of(&state, &caller)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// A request for an API token.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// Days the token is valid, 1 to `auth.token_days` (the default).
    pub days: Option<u32>,
}

/// A new API token. The secret is shown this once; only its hash is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    /// Send as `Authorization: Bearer <token>`, or as Open311 `api_key`.
    pub token: String,
    /// RFC 3339.
    pub expires_at: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "accounts",
    summary = "Create an API token",
    description = "A bearer token for scripts, phones and Open311 `api_key`, acting as the signed-in account with its role and zones until it expires, the account is disabled or its password reset, or it is used with `POST /api/v1/logout`.",
    request_body(content = TokenBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The token (shown once)", body = TokenOut),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "The credential acts for no account, or lacks its CSRF token", body = ErrorBody),
        (status = 422, description = "`days` out of range", body = ErrorBody),
    )
)]
async fn create_token(
    State(state): State<App>,
    caller: Caller,
    AppJson(body): AppJson<TokenBody>,
) -> Result<Response, ApiError> {
    let (token, expires_at) = state.create_api_token(&caller.into(), body.days).await?;
    let mut resp = (
        StatusCode::CREATED,
        axum::Json(TokenOut {
            token,
            expires_at: rfc3339(expires_at),
        }),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::COOKIE;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; civmap_session=abc ; b=2"),
        );
        assert_eq!(cookie_value(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie_value(&h, "b"), Some("2"));
        assert_eq!(cookie_value(&h, "civmap"), None);
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("x=1"));
        h.append(COOKIE, HeaderValue::from_static("civmap_session=def"));
        assert_eq!(cookie_value(&h, SESSION_COOKIE), Some("def"));
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("civmap_session="));
        assert_eq!(cookie_value(&h, SESSION_COOKIE), None);
    }
}
