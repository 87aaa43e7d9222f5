//! What the service keeps in memory about accounts: the sign-in limits and the street code of
//! each user seen (a street office's scope depends on it).

use std::collections::HashMap;

use civmap_domain::{User, UserId};
use parking_lot::RwLock;

use super::guard::LoginGuard;
use crate::config::AuthConfig;

/// Sign-in limits and account facts kept in memory.
#[derive(Debug)]
pub struct AccountState {
    /// Sign-in limits.
    pub guard: LoginGuard,
    /// Street codes of the users seen (at start and at every session lookup).
    streets: RwLock<HashMap<UserId, String>>,
}

impl AccountState {
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
