//! Secrets: session cookie values, API tokens, their stored hashes and CSRF tokens. Only
//! SHA-256 hashes of secrets are stored, so a copy of the database lets nobody sign in.

use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// Prefix of account API tokens (so secret scanners and people can recognise them).
pub const API_TOKEN_PREFIX: &str = "cmt_";
/// Longest secret looked up (cookie values and tokens are 68 characters at most).
pub const MAX_SECRET_BYTES: usize = 256;

/// Lower-case hex of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
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

/// Constant-time comparison of two secrets (length leaks, content does not).
#[must_use]
pub fn secret_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn secrets() {
        assert!(secret_eq("abcdef", "abcdef"));
        assert!(!secret_eq("abcdef", "abcdeg"));
        assert!(!secret_eq("abc", "abcd"));
    }
}
