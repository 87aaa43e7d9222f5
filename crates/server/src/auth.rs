//! Accounts and sign-in: Argon2id passwords, browser sessions (cookie + CSRF token), per-user
//! API tokens, login rate limits and lockout, and the `/api/v1/login`, `/logout`, `/me` and
//! `/tokens` endpoints.
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

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;
use std::time::{Duration as StdDuration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use civmap_domain::{User, UserId, ValidationError};
use civmap_store::{Session, SessionKind};
use parking_lot::{Mutex, RwLock};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::config::AuthConfig;
use crate::error::{AppError, ErrorBody, ErrorDetail};
use crate::extract::{Actor, AppJson, is_write, secret_eq};
use crate::ratelimit::RateLimiter;
use crate::record::{now_ms, rfc3339};
use crate::state::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "civmap_session";
/// Header that must carry the session's CSRF token on cookie-authenticated writes.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Prefix of account API tokens (so secret scanners and people can recognise them).
pub const API_TOKEN_PREFIX: &str = "cmt_";
/// Shortest password accepted, characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted, bytes (hashing cost must not depend on what a caller sends).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest secret looked up (cookie values and tokens are 68 characters at most).
const MAX_SECRET_BYTES: usize = 256;
/// Account names with failures kept before stale ones are dropped.
const MAX_TRACKED_NAMES: usize = 100_000;

// ---- passwords -------------------------------------------------------------------------------

/// Checks a new password: at least 8 characters, at most 1024 bytes, not one repeated
/// character.
pub fn check_password(password: &str) -> Result<(), ValidationError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(ValidationError::Invalid {
            field: "password",
            message: format!("use at least {MIN_PASSWORD_CHARS} characters"),
        });
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ValidationError::Invalid {
            field: "password",
            message: format!("use at most {MAX_PASSWORD_BYTES} bytes"),
        });
    }
    let mut it = password.chars();
    let first = it.next();
    if it.all(|c| Some(c) == first) {
        return Err(ValidationError::Invalid {
            field: "password",
            message: "a password of one repeated character is too easy to guess".into(),
        });
    }
    Ok(())
}

/// Hashes a password with Argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes, 1 lane,
/// the OWASP recommendation) and a random 16-byte salt; returns the PHC string. Checks the
/// password with [`check_password`] first. CPU-bound (tens of milliseconds): call it from a
/// blocking task in async code.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    check_password(password)?;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| AppError::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("argon2: {e}")))
}

/// Whether `password` matches the PHC string `phc` (any Argon2 variant and parameters the
/// string names). `false` for an empty or malformed `phc`. CPU-bound like [`hash_password`].
#[must_use]
pub fn verify_password(phc: &str, password: &str) -> bool {
    if phc.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash no password matches, verified for unknown names so that a miss costs the same time
/// as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut pw = [0u8; 24];
    rand::rng().fill_bytes(&mut pw);
    hash_password(&hex(&pw)).unwrap_or_default()
});

// ---- secrets -----------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A new random secret: 32 bytes from the thread's CSPRNG, as 64 hex digits (cookie values).
#[must_use]
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex(&b)
}

/// A new account API token: [`API_TOKEN_PREFIX`] and a [`new_secret`].
#[must_use]
pub fn new_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", new_secret())
}

/// What the store keeps of a secret: its SHA-256, 64 hex digits.
#[must_use]
pub fn token_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// The CSRF token of a session: derived from the cookie's secret (so it needs no storage and
/// cannot be computed from the database), 64 hex digits.
#[must_use]
pub fn csrf_token(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"civmap csrf v1\0");
    h.update(secret.as_bytes());
    hex(&h.finalize())
}

/// Creates and stores an API token for `user` valid for `days`; returns the secret (shown
/// once; only its hash is stored) and when it expires.
pub async fn issue_api_token(
    store: &civmap_store::Store,
    user: UserId,
    days: u32,
) -> Result<(String, DateTime<Utc>), AppError> {
    let secret = new_api_token();
    let now = now_ms();
    let expires_at = now + Duration::days(i64::from(days));
    store
        .create_session(&Session {
            token_hash: token_hash(&secret),
            user,
            kind: SessionKind::ApiToken,
            created_at: now,
            expires_at,
            revoked: false,
        })
        .await?;
    Ok((secret, expires_at))
}

// ---- login limits ----------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Per-address rate limit and per-name lockout of sign-in attempts.
#[derive(Debug)]
pub struct LoginGuard {
    per_ip: RateLimiter,
    names: Mutex<HashMap<String, Failures>>,
    max_failures: u32,
    lockout: StdDuration,
}

impl LoginGuard {
    /// Limits from the `[auth]` configuration.
    #[must_use]
    pub fn new(c: &AuthConfig) -> Self {
        Self {
            per_ip: RateLimiter::new(c.login_per_minute, c.login_per_minute),
            names: Mutex::new(HashMap::new()),
            max_failures: c.lockout_failures.max(1),
            lockout: StdDuration::from_secs(c.lockout_s.max(1)),
        }
    }

    /// Takes an attempt from the address's bucket; `Err(seconds)` when it is empty.
    pub fn check_ip(&self, ip: Option<IpAddr>, now: Instant) -> Result<(), u64> {
        self.per_ip.check_at(ip, now)
    }

    /// `Some(seconds left)` while `name` is locked at `now`.
    #[must_use]
    pub fn locked(&self, name: &str, now: Instant) -> Option<u64> {
        let g = self.names.lock();
        let until = g.get(name)?.locked_until?;
        (until > now).then(|| until.duration_since(now).as_secs().max(1))
    }

    /// Records a failed attempt; `Some(seconds)` when it locks the name.
    pub fn failed(&self, name: &str, now: Instant) -> Option<u64> {
        let mut g = self.names.lock();
        if g.len() >= MAX_TRACKED_NAMES {
            let lockout = self.lockout;
            g.retain(|_, f| {
                f.locked_until.is_some_and(|u| u > now)
                    || now.saturating_duration_since(f.last) < lockout
            });
        }
        let f = g.entry(name.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        // A lock that ran out, or failures long ago, start the count again.
        if f.locked_until.is_some_and(|u| u <= now)
            || now.saturating_duration_since(f.last) >= self.lockout
        {
            f.count = 0;
            f.locked_until = None;
        }
        f.count += 1;
        f.last = now;
        if f.count >= self.max_failures {
            f.locked_until = Some(now + self.lockout);
            return Some(self.lockout.as_secs().max(1));
        }
        None
    }

    /// Forgets the failures of `name` (a successful sign-in).
    pub fn succeeded(&self, name: &str) {
        self.names.lock().remove(name);
    }
}

/// The authentication state a server keeps in memory.
#[derive(Debug)]
pub struct AuthState {
    /// Sign-in limits.
    pub guard: LoginGuard,
    /// Street codes of the users seen (at start and at every session lookup).
    streets: RwLock<HashMap<UserId, String>>,
}

impl AuthState {
    /// Empty state with the configured limits.
    #[must_use]
    pub fn new(c: &AuthConfig) -> Self {
        Self {
            guard: LoginGuard::new(c),
            streets: RwLock::new(HashMap::new()),
        }
    }

    /// Remembers the street of a user (or that it has none).
    pub fn note_user(&self, u: &User) {
        let mut g = self.streets.write();
        match u.street.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => {
                if g.get(&u.id).map(String::as_str) != Some(s) {
                    g.insert(u.id, s.to_owned());
                }
            }
            None => {
                g.remove(&u.id);
            }
        }
    }

    /// The street code of a user, if known.
    #[must_use]
    pub fn street_of(&self, user: UserId) -> Option<String> {
        self.streets.read().get(&user).cloned()
    }
}

// ---- who is calling --------------------------------------------------------------------

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// No credentials (or a stale cookie).
    Anonymous,
    /// A static token from the configuration, with its label.
    Config { name: String },
    /// A browser session.
    Cookie {
        token_hash: String,
        csrf: String,
        expires_at: DateTime<Utc>,
    },
    /// An account's API token.
    Token {
        token_hash: String,
        expires_at: DateTime<Utc>,
    },
}

impl Credential {
    /// `cookie`, `token`, `config` or `anonymous`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Credential::Anonymous => "anonymous",
            Credential::Config { .. } => "config",
            Credential::Cookie { .. } => "cookie",
            Credential::Token { .. } => "token",
        }
    }
}

/// The caller of a request: the [`Actor`] handlers authorize with, how it signed in, and its
/// account when it has one. Resolved once per request (cached in the request's extensions).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub credential: Credential,
    /// The account (sessions and account tokens; not loaded for static tokens).
    pub user: Option<User>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let c = resolve(parts, state).await?;
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

async fn resolve(parts: &Parts, state: &AppState) -> Result<Caller, AppError> {
    let ip = client_ip(parts);
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| AppError::Unauthorized("malformed Authorization header".into()))?;
        let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
        else {
            return Err(AppError::Unauthorized(
                "unsupported Authorization scheme; use Bearer".into(),
            ));
        };
        return bearer(state, token.trim(), ip)
            .await?
            .ok_or_else(|| AppError::Unauthorized("unknown, expired or revoked token".into()));
    }
    if let Some(secret) = cookie_value(&parts.headers, SESSION_COOKIE)
        && let Some(c) = session(state, secret, SessionKind::Cookie, ip).await?
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
                return Err(AppError::Forbidden(format!(
                    "missing or wrong {CSRF_HEADER} header: a signed-in browser must send the csrf_token of POST /api/v1/login or GET /api/v1/me with every change"
                )));
            }
        }
        return Ok(c);
    }
    Ok(Caller {
        actor: state.anonymous(ip),
        credential: Credential::Anonymous,
        user: None,
    })
}

/// The caller holding a bearer token or Open311 `api_key`: a static token of the
/// configuration, else a live API token of an enabled account; `None` for anything else.
pub async fn bearer(
    state: &AppState,
    token: &str,
    ip: Option<IpAddr>,
) -> Result<Option<Caller>, AppError> {
    if let Some(actor) = state.actor_for_token(token, ip) {
        let name = state
            .config()
            .api_tokens
            .iter()
            .find(|t| secret_eq(&t.token, token))
            .map(|t| t.name.clone())
            .unwrap_or_default();
        return Ok(Some(Caller {
            actor,
            credential: Credential::Config { name },
            user: None,
        }));
    }
    session(state, token, SessionKind::ApiToken, ip).await
}

/// The caller of a live session or account token with this secret.
async fn session(
    state: &AppState,
    secret: &str,
    kind: SessionKind,
    ip: Option<IpAddr>,
) -> Result<Option<Caller>, AppError> {
    if secret.is_empty() || secret.len() > MAX_SECRET_BYTES {
        return Ok(None);
    }
    let hash = token_hash(secret);
    let store = state.store();
    let Some(s) = store.session_by_token_hash(&hash).await? else {
        return Ok(None);
    };
    if s.kind != kind || s.revoked || s.expires_at <= Utc::now() {
        return Ok(None);
    }
    let Some(user) = store.user_by_id(s.user).await? else {
        return Ok(None);
    };
    if user.disabled {
        return Ok(None);
    }
    state.auth().note_user(&user);
    let credential = match kind {
        SessionKind::Cookie => Credential::Cookie {
            token_hash: hash,
            csrf: csrf_token(secret),
            expires_at: s.expires_at,
        },
        SessionKind::ApiToken => Credential::Token {
            token_hash: hash,
            expires_at: s.expires_at,
        },
    };
    Ok(Some(Caller {
        actor: Actor {
            user: Some(user.id),
            role: user.role,
            authenticated: true,
            ip,
        },
        credential,
        user: Some(user),
    }))
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
pub fn router() -> OpenApiRouter<AppState> {
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

fn me_of(state: &AppState, c: &Caller) -> Me {
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
fn session_cookie(state: &AppState, secret: Option<&str>, max_age_s: i64) -> Option<HeaderValue> {
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

/// 429 for a locked account name, in the common error shape, with `Retry-After`.
fn locked_response(retry_after_s: u64) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            status: StatusCode::TOO_MANY_REQUESTS.as_u16(),
            code: "login_locked",
            message: format!(
                "too many failed sign-ins for this name; it is locked for {retry_after_s} s"
            ),
            field: Some("name".into()),
            current_version: None,
        },
    };
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
    resp
}

/// The client address, without authenticating (sign-in must work with a stale cookie).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = AppError;
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
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<LoginBody>,
) -> Result<Response, AppError> {
    let now = Instant::now();
    let guard = &state.auth().guard;
    guard.check_ip(ip, now).map_err(|retry_after_s| {
        state.metrics().rate_limited();
        AppError::RateLimited { retry_after_s }
    })?;
    let name: String = body.name.trim().chars().take(80).collect();
    if let Some(s) = guard.locked(&name, now) {
        tracing::warn!(%name, ?ip, "sign-in refused: the name is locked");
        return Ok(locked_response(s));
    }
    let user = state.store().user_by_name(&name).await?;
    let (phc, usable) = match &user {
        Some(u) if !u.disabled && !u.password_hash.is_empty() => (u.password_hash.clone(), true),
        _ => (DUMMY_HASH.clone(), false),
    };
    let password = body.password;
    let matches = tokio::task::spawn_blocking(move || verify_password(&phc, &password))
        .await
        .map_err(|e| AppError::Internal(format!("password check: {e}")))?;
    let Some(user) = user.filter(|_| usable && matches) else {
        tracing::warn!(%name, ?ip, "sign-in failed");
        if let Some(s) = guard.failed(&name, now) {
            tracing::warn!(%name, seconds = s, "too many failed sign-ins: the name is locked");
        }
        return Err(AppError::Unauthorized("wrong name or password".into()));
    };
    guard.succeeded(&name);
    let secret = new_secret();
    let created = now_ms();
    let hours = state.config().auth.session_hours;
    let expires_at = created + Duration::hours(i64::from(hours));
    let hash = token_hash(&secret);
    state
        .store()
        .create_session(&Session {
            token_hash: hash.clone(),
            user: user.id,
            kind: SessionKind::Cookie,
            created_at: created,
            expires_at,
            revoked: false,
        })
        .await?;
    state.auth().note_user(&user);
    tracing::info!(user = %user.id, name = %user.name, role = %user.role, ?ip, "signed in");
    let caller = Caller {
        actor: Actor {
            user: Some(user.id),
            role: user.role,
            authenticated: true,
            ip,
        },
        credential: Credential::Cookie {
            token_hash: hash,
            csrf: csrf_token(&secret),
            expires_at,
        },
        user: Some(user),
    };
    let mut resp = axum::Json(me_of(&state, &caller)).into_response();
    if let Some(v) = session_cookie(&state, Some(&secret), i64::from(hours) * 3600) {
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
async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    match &caller.credential {
        Credential::Cookie { token_hash, .. } | Credential::Token { token_hash, .. } => {
            state.store().revoke_session(token_hash).await?;
            tracing::info!(user = ?caller.actor.user, via = caller.credential.as_str(), "signed out");
        }
        Credential::Config { .. } => {
            return Err(AppError::Conflict {
                message: "a static token of the configuration is withdrawn by removing it from the configuration".into(),
                current_version: None,
            });
        }
        Credential::Anonymous => {}
    }
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
async fn me(State(state): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    if caller.credential == Credential::Anonymous {
        return Err(AppError::Unauthorized(
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
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<TokenBody>,
) -> Result<Response, AppError> {
    if caller.credential == Credential::Anonymous {
        return Err(AppError::Unauthorized(
            "sign in (POST /api/v1/login) to create an API token".into(),
        ));
    }
    let user = caller.actor.user.ok_or_else(|| {
        AppError::Forbidden(
            "this static token acts for no account; tokens belong to accounts".into(),
        )
    })?;
    let max = state.config().auth.token_days;
    let days = body.days.unwrap_or(max);
    if days == 0 || days > max {
        return Err(AppError::invalid("days", format!("use 1..={max}")));
    }
    let account = state
        .store()
        .user_by_id(user)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| AppError::Forbidden("the account is disabled or gone".into()))?;
    let (token, expires_at) = issue_api_token(state.store(), account.id, days).await?;
    tracing::info!(user = %account.id, days, "API token created");
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

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct horsf"));
        assert!(!verify_password("", "correct horse"));
        assert!(!verify_password("not a phc string", "x"));
        let again = hash_password("correct horse").unwrap();
        assert_ne!(h, again, "salted");
        assert!(hash_password("short").is_err());
        assert!(hash_password("aaaaaaaaaaaa").is_err());
        assert!(hash_password(&"ab".repeat(600)).is_err());
        assert!(check_password("楼道堆物不可以").is_err(), "7 characters");
        assert!(check_password("楼道堆物真不可以").is_ok(), "8 characters");
    }

    #[test]
    fn secrets_and_their_hashes() {
        let a = new_secret();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_secret());
        assert!(new_api_token().starts_with(API_TOKEN_PREFIX));
        assert_eq!(
            token_hash("test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        assert_ne!(
            csrf_token(&a),
            token_hash(&a),
            "not derivable from the stored hash"
        );
        assert_eq!(csrf_token(&a), csrf_token(&a));
    }

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

    #[test]
    fn lockout_after_repeated_failures_then_release() {
        let g = LoginGuard::new(&AuthConfig {
            lockout_failures: 3,
            lockout_s: 60,
            ..AuthConfig::default()
        });
        let t0 = Instant::now();
        assert_eq!(g.failed("wang", t0), None);
        assert_eq!(g.failed("wang", t0), None);
        assert_eq!(g.locked("wang", t0), None);
        assert_eq!(g.failed("wang", t0), Some(60), "the third failure locks");
        assert_eq!(g.locked("wang", t0 + StdDuration::from_secs(10)), Some(50));
        assert_eq!(g.locked("li", t0), None, "other names are not locked");
        let later = t0 + StdDuration::from_secs(61);
        assert_eq!(g.locked("wang", later), None, "the lock runs out");
        assert_eq!(g.failed("wang", later), None, "and the count starts again");
        g.succeeded("wang");
        assert_eq!(g.failed("wang", later), None);
        assert_eq!(g.failed("wang", later), None);
        assert!(g.failed("wang", later).is_some());
    }
}
