//! Accounts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::problem::UserId;
use crate::role::Role;
use crate::validation::{ValidationError, validate_text};

impl UserId {
    /// A new time-ordered id.
    #[must_use]
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

/// A user account. The password is kept only as an Argon2id PHC string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// Login name: 2-40 characters of letters (any script), digits, `_`, `-`, `.`.
    pub name: String,
    /// Name shown to others, e.g. `王路长`.
    pub display_name: String,
    pub role: Role,
    /// The street (街道) the user belongs to, as an administrative code such as `310109016`.
    pub street: Option<String>,
    /// PHC string of the Argon2id hash; never sent to clients.
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// Checks a login name.
pub fn validate_user_name(name: &str) -> Result<String, ValidationError> {
    let name = validate_text("name", name, 40, true)?;
    if name.chars().count() < 2
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(ValidationError::Invalid {
            field: "name",
            message: format!("{name:?}: use 2-40 letters, digits, '_', '-' or '.'"),
        });
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(validate_user_name("wang.luzhang").unwrap(), "wang.luzhang");
        assert!(validate_user_name("王路长").is_ok());
        assert!(validate_user_name("a").is_err());
        assert!(validate_user_name("a b").is_err());
        assert!(validate_user_name("x'; drop table users;--").is_err());
    }
}
