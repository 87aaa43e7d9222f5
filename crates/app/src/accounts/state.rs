//! What the service keeps in memory about accounts: the sign-in limits, the street code of
//! each user seen (a street office's scope depends on it) and the name people know them by
//! (lists show who a problem is with without asking the database).

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
    /// Shown names of the users seen: the display name, else the login name.
    names: RwLock<HashMap<UserId, String>>,
}

impl AccountState {
    /// Empty state with the configured limits.
    #[must_use]
    pub fn new(c: &AuthConfig) -> Self {
        Self {
            guard: LoginGuard::new(c),
            streets: RwLock::new(HashMap::new()),
            names: RwLock::new(HashMap::new()),
        }
    }

    /// Remembers the street of a user (or that it has none) and its shown name.
    pub fn note_user(&self, u: &User) {
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
