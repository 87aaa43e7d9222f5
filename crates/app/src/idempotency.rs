//! Writes sent with an `Idempotency-Key` (IETF `draft-ietf-httpapi-idempotency-key-header`):
//! a phone that lost its signal sends its queued report or rectification again when the signal
//! is back, and must get the first answer, never a second problem.
//!
//! A key belongs to a caller (a user, a configured token, or an anonymous address): the same key
//! of two callers are two keys. Before the write runs its key is claimed in the store
//! ([`App::idempotency_begin`]); the store's primary key lets one of two concurrent claims win,
//! and the other waits for the winner's answer (up to [`WAIT_FOR_ANSWER`], then "in progress,
//! retry"). The answer (status and body) is kept with the key ([`App::idempotency_finish`]) and
//! replayed to every later send of the same key with the same request; the same key with another
//! request is refused. A write that failed on the server's side gives its key back
//! ([`App::idempotency_abandon`]) so that the client may try again. Keys expire after
//! [`RETENTION`], deleted lazily by the next claim. Nothing of HTTP here: the server reads the
//! header and chooses statuses.

use std::time::Duration;

use chrono::Utc;
use civmap_store::IdempotencyClaim;
use sha2::{Digest as _, Sha256};

use crate::app::App;
use crate::error::{Result, ServiceError};

/// The longest key accepted, in characters (the draft leaves the length to the server; a
/// UUID is 36).
pub const MAX_KEY_CHARS: usize = 255;

/// How long a key and its answer are kept: a phone that stays without signal for a weekend still
/// gets its answer on Monday morning, well within two days.
pub const RETENTION: chrono::Duration = chrono::Duration::hours(48);

/// How long a second send of a key waits for the first one's answer before it is told to retry:
/// a write takes milliseconds, so this is only reached when the first send is stuck.
pub const WAIT_FOR_ANSWER: Duration = Duration::from_secs(10);

/// How often a waiting send looks for the first send's answer.
const POLL: Duration = Duration::from_millis(25);

/// What a client that got "in progress" is told to wait, in seconds.
pub const RETRY_AFTER_S: u64 = 2;

/// The name of the header, for messages.
pub const HEADER: &str = "Idempotency-Key";

/// A key this request holds: its write runs, then finishes or abandons it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    caller: String,
    key: String,
}

/// What to do with a request that carries a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The key is new: run the write, then [`App::idempotency_finish`] (or abandon) the claim.
    Run(Claim),
    /// The key was used with this request before: answer this status and body again.
    Replay { status: u16, body: String },
}

/// Checks a key as the client sent it: 1 to [`MAX_KEY_CHARS`] visible ASCII characters.
///
/// # Errors
/// [`ServiceError::Invalid`] naming the header.
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(ServiceError::invalid(HEADER, "is empty"));
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(ServiceError::invalid(
            HEADER,
            format!("is longer than {MAX_KEY_CHARS} characters"),
        ));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ServiceError::invalid(
            HEADER,
            "must be visible ASCII characters (a UUID, for example)",
        ));
    }
    Ok(())
}

/// The request's fingerprint: SHA-256 of its body, in hex.
fn fingerprint(body: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(body)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl App {
    /// Claims `key` of `caller` for the write `request` ("METHOD /path") with `body`, or finds
    /// the answer of its first use.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] for a malformed key; [`ServiceError::IdempotencyKeyReused`]
    /// when the key was used with another request or body; [`ServiceError::IdempotencyInProgress`]
    /// when the first send of the key is still running after [`WAIT_FOR_ANSWER`]; store
    /// failures.
    pub async fn idempotency_begin(
        &self,
        caller: &str,
        key: &str,
        request: &str,
        body: &[u8],
    ) -> Result<Begin> {
        check_key(key)?;
        let claim = IdempotencyClaim {
            caller: caller.to_owned(),
            key: key.to_owned(),
            request: request.to_owned(),
            fingerprint: fingerprint(body),
            at: Utc::now(),
        };
        let store = self.store();
        let deadline = tokio::time::Instant::now() + WAIT_FOR_ANSWER;
        loop {
            if store
                .claim_idempotency_key(&claim, Utc::now() - RETENTION)
                .await?
            {
                return Ok(Begin::Run(Claim {
                    caller: claim.caller,
                    key: claim.key,
                }));
            }
            // Released or expired between the claim and this read: claim again.
            let Some(first) = store.idempotency_record(caller, key).await? else {
                continue;
            };
            if first.request != claim.request || first.fingerprint != claim.fingerprint {
                return Err(ServiceError::IdempotencyKeyReused(format!(
                    "{HEADER}: the key {key:?} was first used with {} and another body; \
                     a key stands for one request (make a new key for a new request)",
                    first.request
                )));
            }
            if let Some((status, body)) = first.answer {
                return Ok(Begin::Replay { status, body });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ServiceError::IdempotencyInProgress {
                    retry_after_s: RETRY_AFTER_S,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Keeps the answer of a claimed key's write for the sends that come again.
    ///
    /// # Errors
    /// Store failures.
    pub async fn idempotency_finish(&self, claim: &Claim, status: u16, body: &str) -> Result<()> {
        self.store()
            .complete_idempotency_key(&claim.caller, &claim.key, status, body)
            .await?;
        Ok(())
    }

    /// Gives a key back after its write failed on the server's side (or its answer must not be
    /// replayed): the client may send it again. Failures are logged: the claim then expires
    /// with [`RETENTION`], and until then its sends wait and are told to retry.
    pub async fn idempotency_abandon(&self, claim: &Claim) {
        if let Err(e) = self
            .store()
            .release_idempotency_key(&claim.caller, &claim.key)
            .await
        {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_by_length_and_characters() {
        assert!(check_key("4f1c2b9e-7d7a-4c55-9b1e-2a6f0c1d9e33").is_ok());
        assert!(check_key(&"k".repeat(MAX_KEY_CHARS)).is_ok());
        let long = check_key(&"k".repeat(MAX_KEY_CHARS + 1)).unwrap_err();
        assert!(long.to_string().contains("Idempotency-Key"), "{long}");
        assert!(check_key("").is_err());
        assert!(check_key("两个字").is_err());
        assert!(check_key("a b").is_err());
    }

    #[test]
    fn the_fingerprint_changes_with_the_body() {
        assert_eq!(fingerprint(b"{}"), fingerprint(b"{}"));
        assert_ne!(fingerprint(b"{\"a\":1}"), fingerprint(b"{\"a\":2}"));
        assert_eq!(fingerprint(b"").len(), 64);
    }
}
