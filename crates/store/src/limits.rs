//! How long the store waits, and how much it queues.
//!
//! Its own module because the errors quote these limits and every layer above them applies
//! them: it uses nothing else in the crate.

use std::time::Duration;

/// How long a reader or the writer waits for a database connection before answering
/// [`StoreError::Unavailable`](crate::error::StoreError::Unavailable).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Writes that may wait for the writer before callers are made to wait for room.
pub(crate) const QUEUE_CAPACITY: usize = 8192;
