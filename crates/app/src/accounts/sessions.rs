//! Who is calling, and signing in and out: static tokens of the configuration, browser
//! sessions (a cookie's secret, with the CSRF token derived from it), account API tokens.
//! The HTTP edge reads the secrets from headers and checks the CSRF header; everything else
//! is here.

use std::net::IpAddr;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use civmap_domain::{User, UserId};
use civmap_store::{Session, SessionKind, Store};

use super::passwords::{DUMMY_HASH, verify_password};
use super::secrets::{
    MAX_SECRET_BYTES, csrf_token, new_api_token, new_secret, secret_eq, token_hash,
};
use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;
use crate::time::now_ms;

/// Longest account name looked up, characters (longer input is cut: no account is named so).
pub const MAX_NAME_CHARS: usize = 80;

/// How a caller authenticated.
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

    /// When the session or token ends (`None` for static tokens and anonymous callers).
    #[must_use]
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Credential::Cookie { expires_at, .. } | Credential::Token { expires_at, .. } => {
                Some(*expires_at)
            }
            Credential::Config { .. } | Credential::Anonymous => None,
        }
    }
}

/// A caller: the [`Actor`] the rules authorize, how it signed in, and its account when it has
/// one.
#[derive(Debug, Clone)]
pub struct Identity {
    pub actor: Actor,
    pub credential: Credential,
    /// The account (sessions and account tokens; not loaded for static tokens).
    pub user: Option<User>,
}

/// A new browser session: the caller and the cookie's secret (sent once, never stored).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub identity: Identity,
    pub secret: String,
}

impl App {
    /// The actor for callers without credentials.
    #[must_use]
    pub fn anonymous(&self, ip: Option<IpAddr>) -> Actor {
        Actor {
            user: None,
            role: self.config().anonymous_role,
            authenticated: false,
            ip,
            token: None,
        }
    }

    /// A caller without credentials.
    #[must_use]
    pub fn anonymous_identity(&self, ip: Option<IpAddr>) -> Identity {
        Identity {
            actor: self.anonymous(ip),
            credential: Credential::Anonymous,
            user: None,
        }
    }

    /// The caller holding this static API token of the configuration, if it is one.
    #[must_use]
    pub fn static_token(&self, token: &str, ip: Option<IpAddr>) -> Option<Identity> {
        // Compare against every token so the time taken does not depend on which one matched.
        let mut found = None;
        for (i, t) in self.config().api_tokens.iter().enumerate() {
            if secret_eq(&t.token, token) && found.is_none() {
                // Its identity: the label, or its place in the configuration without one.
                let name = if t.name.is_empty() {
                    format!("#{}", i + 1)
                } else {
                    t.name.clone()
                };
                found = Some(Identity {
                    actor: Actor {
                        user: t.user,
                        role: t.role,
                        authenticated: true,
                        ip,
                        token: Some(name),
                    },
                    credential: Credential::Config {
                        name: t.name.clone(),
                    },
                    user: None,
                });
            }
        }
        found
    }

    /// The caller holding a bearer token or Open311 `api_key`: a static token of the
    /// configuration, else a live API token of an enabled account; `None` for anything else.
    pub async fn bearer(
        &self,
        token: &str,
        ip: Option<IpAddr>,
    ) -> Result<Option<Identity>, ServiceError> {
        if let Some(identity) = self.static_token(token, ip) {
            return Ok(Some(identity));
        }
        self.session(token, SessionKind::ApiToken, ip).await
    }

    /// The caller of a live session (`kind` cookie) or account token with this secret; `None`
    /// for an unknown, expired or revoked one, or a disabled account.
    pub async fn session(
        &self,
        secret: &str,
        kind: SessionKind,
        ip: Option<IpAddr>,
    ) -> Result<Option<Identity>, ServiceError> {
        if secret.is_empty() || secret.len() > MAX_SECRET_BYTES {
            return Ok(None);
        }
        let hash = token_hash(secret);
        let store = self.store();
        let accounts = self.accounts();
        // Memory first (followed from the log): a signed-in caller is checked without the
        // database, so reads go on while it is away. The database is asked only for a session
        // memory does not know yet (just started on another replica, not yet followed).
        let s = if let Some(s) = accounts.session(&hash) {
            s
        } else {
            let Some(s) = store.session_by_token_hash(&hash).await? else {
                return Ok(None);
            };
            accounts.note_session(&s);
            s
        };
        if s.kind != kind || s.revoked || s.expires_at <= Utc::now() {
            return Ok(None);
        }
        let user = if let Some(u) = accounts.user(s.user) {
            u
        } else {
            let Some(u) = store.user_by_id(s.user).await? else {
                return Ok(None);
            };
            accounts.note_user(&u);
            u
        };
        if user.disabled {
            return Ok(None);
        }
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
        Ok(Some(Identity {
            actor: Actor {
                user: Some(user.id),
                role: user.role,
                authenticated: true,
                ip,
                token: None,
            },
            credential,
            user: Some(user),
        }))
    }

    /// Checks a name and password and starts a browser session of `auth.session_hours`.
    ///
    /// `RateLimited` when the address tried too often, `Locked` while the name is locked
    /// (even with the right password), and the same `Unauthorized` for an unknown name, a
    /// disabled account and a wrong password.
    pub async fn sign_in(
        &self,
        name: &str,
        password: String,
        ip: Option<IpAddr>,
    ) -> Result<SignedIn, ServiceError> {
        let now = Instant::now();
        let guard = &self.accounts().guard;
        guard.check_ip(ip, now).map_err(|retry_after_s| {
            self.note_rate_limited();
            ServiceError::RateLimited { retry_after_s }
        })?;
        let name: String = name.trim().chars().take(MAX_NAME_CHARS).collect();
        if let Some(retry_after_s) = guard.locked(&name, now) {
            tracing::warn!(%name, ?ip, "sign-in refused: the name is locked");
            return Err(ServiceError::Locked { retry_after_s });
        }
        let user = self.store().user_by_name(&name).await?;
        let (phc, usable) = match &user {
            Some(u) if !u.disabled && !u.password_hash.is_empty() => {
                (u.password_hash.clone(), true)
            }
            _ => (DUMMY_HASH.clone(), false),
        };
        let matches = tokio::task::spawn_blocking(move || verify_password(&phc, &password))
            .await
            .map_err(|e| ServiceError::internal("password check", e))?;
        let Some(user) = user.filter(|_| usable && matches) else {
            tracing::warn!(%name, ?ip, "sign-in failed");
            if let Some(s) = guard.failed(&name, now) {
                tracing::warn!(%name, seconds = s, "too many failed sign-ins: the name is locked");
            }
            return Err(ServiceError::Unauthorized("wrong name or password".into()));
        };
        guard.succeeded(&name);
        let secret = new_secret();
        let created = now_ms();
        let hours = self.config().auth.session_hours;
        let expires_at = created + Duration::hours(i64::from(hours));
        let hash = token_hash(&secret);
        self.store()
            .create_session(&Session {
                token_hash: hash.clone(),
                user: user.id,
                kind: SessionKind::Cookie,
                created_at: created,
                expires_at,
                revoked: false,
            })
            .await?;
        self.accounts().note_user(&user);
        tracing::info!(user = %user.id, name = %user.name, role = %user.role, ?ip, "signed in");
        Ok(SignedIn {
            identity: Identity {
                actor: Actor {
                    user: Some(user.id),
                    role: user.role,
                    authenticated: true,
                    ip,
                    token: None,
                },
                credential: Credential::Cookie {
                    token_hash: hash,
                    csrf: csrf_token(&secret),
                    expires_at,
                },
                user: Some(user),
            },
            secret,
        })
    }

    /// Ends the session or account token the caller came with. A static token of the
    /// configuration is withdrawn by removing it from the configuration (`Conflict`).
    pub async fn sign_out(&self, identity: &Identity) -> Result<(), ServiceError> {
        match &identity.credential {
            Credential::Cookie { token_hash, .. } | Credential::Token { token_hash, .. } => {
                self.store().revoke_session(token_hash).await?;
                tracing::info!(user = ?identity.actor.user, via = identity.credential.as_str(), "signed out");
            }
            Credential::Config { .. } => {
                return Err(ServiceError::Conflict {
                    message: "a static token of the configuration is withdrawn by removing it from the configuration".into(),
                    current_version: None,
                });
            }
            Credential::Anonymous => {}
        }
        Ok(())
    }

    /// A new API token for the caller's account, valid `days` (1 to `auth.token_days`, the
    /// default); returns the secret (shown once) and when it expires.
    pub async fn create_api_token(
        &self,
        identity: &Identity,
        days: Option<u32>,
    ) -> Result<(String, DateTime<Utc>), ServiceError> {
        if identity.credential == Credential::Anonymous {
            return Err(ServiceError::Unauthorized(
                "sign in (POST /api/v1/login) to create an API token".into(),
            ));
        }
        let user = identity.actor.user.ok_or_else(|| {
            ServiceError::Forbidden(
                "this static token acts for no account; tokens belong to accounts".into(),
            )
        })?;
        let max = self.config().auth.token_days;
        let days = days.unwrap_or(max);
        if days == 0 || days > max {
            return Err(ServiceError::invalid("days", format!("use 1..={max}")));
        }
        let account = self
            .store()
            .user_by_id(user)
            .await?
            .filter(|u| !u.disabled)
            .ok_or_else(|| ServiceError::Forbidden("the account is disabled or gone".into()))?;
        let issued = issue_api_token(self.store(), account.id, days).await?;
        tracing::info!(user = %account.id, days, "API token created");
        Ok(issued)
    }
}

/// Creates and stores an API token for `user` valid for `days`; returns the secret (shown
/// once; only its hash is stored) and when it expires.
pub async fn issue_api_token(
    store: &Store,
    user: UserId,
    days: u32,
) -> Result<(String, DateTime<Utc>), ServiceError> {
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
