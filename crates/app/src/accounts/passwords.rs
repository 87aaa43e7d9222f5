//! Passwords: the rules for a new one, Argon2id hashes (PHC strings) and their check.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use civmap_domain::ValidationError;
use rand::RngCore as _;

use super::secrets::hex;
use crate::error::ServiceError;

/// Shortest password accepted, characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted, bytes (hashing cost must not depend on what a caller sends).
pub const MAX_PASSWORD_BYTES: usize = 1024;

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
pub fn hash_password(password: &str) -> Result<String, ServiceError> {
    check_password(password)?;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| ServiceError::bug(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::bug(format!("argon2: {e}")))
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
pub(super) static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut pw = [0u8; 24];
    rand::rng().fill_bytes(&mut pw);
    hash_password(&hex(&pw)).unwrap_or_default()
});

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
}
