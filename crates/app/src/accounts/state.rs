//! What the service keeps in memory about accounts: the sign-in limits, the street code of
//! each user seen (a street office's scope depends on it) and the name people know them by
//! (lists show who a problem is with without asking the database), and every account and live
//! session, loaded at start and followed from the log (`crate::follow`), so that a signed-in
//! caller is checked without the database: reads go on while it is away.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use civmap_domain::{User, UserId};
use civmap_store::Session;
use parking_lot::{Mutex, RwLock};

use super::guard::LoginGuard;
use crate::config::AuthConfig;

/// Sign-in limits and account facts kept in memory.
#[derive(Debug)]
pub struct AccountState {
    /// Sign-in limits.
    pub guard: LoginGuard,
    /// Street codes of the users seen (at start and at every session lookup).
    streets: RwLock<HashMap<UserId, String>>,
    /// Shown names of the users seen: the display name, else the login name.
    names: RwLock<HashMap<UserId, String>>,
    /// Every account, as last committed.
    users: RwLock<HashMap<UserId, User>>,
    /// Sessions and API tokens by token hash: the live ones at start, then every one created
    /// or revoked since (revoked ones stay, marked, so a stale cookie costs no database read).
    sessions: RwLock<HashMap<String, Session>>,
    /// When ended sessions were last dropped from `sessions`.
    pruned: Mutex<Instant>,
}

/// How often ended (expired or revoked) sessions are dropped from memory: they would otherwise
/// pile up with every sign-in for as long as the process runs.
const SESSION_PRUNE_EVERY: Duration = Duration::from_mins(10);

impl AccountState {
    /// Empty state with the configured limits.
    #[must_use]
    pub fn new(c: &AuthConfig) -> Self {
        Self {
            guard: LoginGuard::new(c),
            streets: RwLock::new(HashMap::new()),
            names: RwLock::new(HashMap::new()),
            users: RwLock::new(HashMap::new()),
            sessions: RwLock::new(HashMap::new()),
            pruned: Mutex::new(Instant::now()),
        }
    }

    /// Drops expired and revoked sessions from memory, at most every [`SESSION_PRUNE_EVERY`]
    /// (a dropped one that comes back is looked up in the database, and refused there).
    pub fn prune_sessions(&self, now: DateTime<Utc>) {
        {
            let mut last = self.pruned.lock();
            if last.elapsed() < SESSION_PRUNE_EVERY {
                return;
            }
            *last = Instant::now();
        }
        self.sessions
            .write()
            .retain(|_, s| !s.revoked && s.expires_at > now);
    }

    /// The account with this id, as last committed (`None`: not known to memory).
    #[must_use]
    pub fn user(&self, id: UserId) -> Option<User> {
        self.users.read().get(&id).cloned()
    }

    /// The session or token with this hash (`None`: not known to memory).
    #[must_use]
    pub fn session(&self, token_hash: &str) -> Option<Session> {
        self.sessions.read().get(token_hash).cloned()
    }

    /// Remembers a session as committed.
    pub fn note_session(&self, s: &Session) {
        self.sessions
            .write()
            .insert(s.token_hash.clone(), s.clone());
    }

    /// Replaces every session known (at start, after a restore).
    pub fn set_sessions(&self, all: Vec<Session>) {
        *self.sessions.write() = all.into_iter().map(|s| (s.token_hash.clone(), s)).collect();
    }

    /// Marks one session revoked.
    pub fn revoke_session(&self, token_hash: &str) {
        if let Some(s) = self.sessions.write().get_mut(token_hash) {
            s.revoked = true;
        }
    }

    /// Marks every session of a user revoked.
    pub fn revoke_sessions_of(&self, user: UserId) {
        for s in self.sessions.write().values_mut() {
            if s.user == user {
                s.revoked = true;
            }
        }
    }

    /// Remembers a user as committed: the account, its street (or that it has none) and its
    /// shown name.
    pub fn note_user(&self, u: &User) {
        if self.users.read().get(&u.id) != Some(u) {
            self.users.write().insert(u.id, u.clone());
        }
        let shown = if u.display_name.is_empty() {
            &u.name
        } else {
            &u.display_name
        };
        if self.names.read().get(&u.id) != Some(shown) {
            self.names.write().insert(u.id, shown.clone());
        }
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

    /// The name a user is shown by (display name, else login name), if the user was seen.
    #[must_use]
    pub fn name_of(&self, user: UserId) -> Option<String> {
        self.names.read().get(&user).cloned()
    }

    /// The street code of a user, if known.
    #[must_use]
    pub fn street_of(&self, user: UserId) -> Option<String> {
        self.streets.read().get(&user).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civmap_store::SessionKind;

    fn session(hash: &str, expires_in_h: i64, revoked: bool) -> Session {
        let now = Utc::now();
        Session {
            token_hash: hash.into(),
            user: UserId::new(),
            kind: SessionKind::Cookie,
            created_at: now,
            expires_at: now + chrono::Duration::hours(expires_in_h),
            revoked,
        }
    }

    #[test]
    fn ended_sessions_leave_memory_now_and_then() {
        let st = AccountState::new(&AuthConfig::default());
        st.note_session(&session("live", 8, false));
        st.note_session(&session("expired", -1, false));
        st.note_session(&session("revoked", 8, true));
        // Pruned a moment ago (at start): not again yet.
        st.prune_sessions(Utc::now());
        assert!(st.session("expired").is_some());
        let Some(long_ago) = Instant::now().checked_sub(SESSION_PRUNE_EVERY) else {
            return;
        };
        *st.pruned.lock() = long_ago;
        st.prune_sessions(Utc::now());
        assert!(st.session("live").is_some());
        assert!(st.session("expired").is_none());
        assert!(st.session("revoked").is_none());
    }
}
