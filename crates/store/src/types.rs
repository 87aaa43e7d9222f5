//! Values the store takes and gives that the domain crate does not define.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use civmap_domain::{Event, EventKind, Poi, PoiId, Problem, ProblemId, User, UserId, Zone, ZoneId};
use serde::{Deserialize, Serialize};

/// Which database a [`crate::Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// An embedded SQLite file (the default).
    Sqlite,
    /// A PostgreSQL server, selected by a `postgres://` URL.
    Postgres,
}

impl Backend {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How to open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// SQLite only: `PRAGMA synchronous=FULL` (the default, `true`): every commit is flushed to
    /// the disk (fsync of the write-ahead log), so an acknowledged write survives a power loss.
    /// `false` selects `NORMAL`: acknowledged writes survive a crash of civmap (or `kill -9`) but
    /// the last ones may be lost when the machine loses power. PostgreSQL ignores it (set
    /// `synchronous_commit` on the server).
    pub synchronous_full: bool,
    /// The most writes one group commit puts into one transaction (default 256; at least 1).
    /// `1` gives one transaction, and one fsync, per write.
    pub max_batch: usize,
    /// Where photo bytes go. Empty (the default) means `photos/` beside the SQLite file, or
    /// `./photos` for PostgreSQL.
    pub photo_dir: PathBuf,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            synchronous_full: true,
            max_batch: 256,
            photo_dir: PathBuf::new(),
        }
    }
}

/// The event half of a write: what happened, who did it, when, and the evidence. The store gives
/// it its place in the log (`seq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub kind: EventKind,
    /// The acting user; `None` for the system (automatic dispatch, escalation, import).
    pub actor: Option<UserId>,
    /// When it happened (stored to the millisecond).
    pub at: DateTime<Utc>,
    /// Free text: the rectification description, the rejection reason...
    pub note: String,
    /// Photo ids (sha256 hex, see [`crate::Store::put_photo`]) attached as evidence; each must
    /// have been stored first.
    pub photos: Vec<String>,
    /// Structured details (the fields an edit changed, the problem merged into...).
    pub data: serde_json::Value,
}

impl NewEvent {
    /// An event of `kind` at `at` with no actor, note, photos or data.
    #[must_use]
    pub fn new(kind: EventKind, at: DateTime<Utc>) -> Self {
        Self {
            kind,
            actor: None,
            at,
            note: String::new(),
            photos: Vec::new(),
            data: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// The same event by `actor`.
    #[must_use]
    pub fn by(mut self, actor: UserId) -> Self {
        self.actor = Some(actor);
        self
    }

    /// The same event with a note.
    #[must_use]
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }
}

/// What the public reads for one problem's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicText {
    pub problem: ProblemId,
    /// The public wording; empty when [`PublicText::hidden`].
    pub text: String,
    /// The description is hidden from the public (they read that it is, not a wording).
    pub hidden: bool,
    /// When the office last changed it (stored to the millisecond).
    pub updated_at: DateTime<Utc>,
    /// The office account that changed it; `None` for a static API token.
    pub updated_by: Option<UserId>,
}

/// What a login is: a browser cookie or a long-lived API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    Cookie,
    ApiToken,
}

impl SessionKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Cookie => "cookie",
            SessionKind::ApiToken => "api_token",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "cookie" => Some(SessionKind::Cookie),
            "api_token" => Some(SessionKind::ApiToken),
            _ => None,
        }
    }
}

/// A login session or API token. Only a hash of the secret is stored (the caller hashes it, e.g.
/// sha256 hex of the cookie value), so a copy of the database does not let anyone log in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub token_hash: String,
    pub user: UserId,
    pub kind: SessionKind,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}

/// A stored photo's metadata. The bytes are at [`crate::Store::photo_path`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoMeta {
    /// sha256 of the bytes, 64 lower-case hex digits: the content address.
    pub id: String,
    pub mime: String,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// Size of the file.
    pub bytes: u64,
    pub created_at: DateTime<Utc>,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImportOutcome {
    /// Problems written (each with its `created` event).
    pub inserted: usize,
    /// Items skipped because their `(source, external_id)` was imported before, or repeats an
    /// earlier item of the same import.
    pub skipped: usize,
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StoreStats {
    /// Writes waiting for the writer.
    pub queue_depth: u64,
    /// Transactions committed by the writer.
    pub batches: u64,
    /// Writes committed (a write is one call: an insert, an update, a whole import...).
    pub writes: u64,
    /// Writes that failed (conflicts and other errors).
    pub write_errors: u64,
    /// Problems stored.
    pub problems: u64,
    /// The newest event's `seq` (0 when the log is empty).
    pub last_event_seq: i64,
}

/// A committed change, handed to the commit hook (see [`crate::Store::on_commit`]) in commit
/// order, after `COMMIT` returned and before the writers are answered. Times and versions are as
/// stored (times to the millisecond), so a copy kept from these changes equals the database.
#[derive(Debug, Clone, PartialEq)]
// Changes are built once per write and moved, never stored in bulk: boxing the large variant
// would only add an allocation to every problem write.
#[allow(clippy::large_enum_variant)]
pub enum Change {
    /// A problem was inserted or updated, with the event that records why.
    Problem {
        problem: Problem,
        event: Event,
    },
    /// An import inserted `problems`; `problems[i]` got the `created` event number
    /// `first_seq + i`, with no actor, this note and data `{"source", "external_id"}`. (One
    /// change for the whole import: a million events built only to be dropped cost more than
    /// the import's SQL.)
    Imported {
        problems: Vec<Problem>,
        first_seq: i64,
        note: String,
    },
    /// A zone was inserted or replaced.
    Zone(Zone),
    ZoneDeleted(ZoneId),
    /// A point of interest was inserted or replaced.
    Poi(Poi),
    PoiDeleted(PoiId),
    Assigned {
        zone: ZoneId,
        user: UserId,
    },
    Unassigned {
        zone: ZoneId,
        user: UserId,
    },
    /// What the public reads for a problem's description was set, with the `edited` event
    /// that records it (the problem's row did not change).
    PublicText {
        text: PublicText,
        event: Event,
    },
    /// An account was created or changed (name, role, password, disabled...).
    User(User),
    /// A browser session or API token was created.
    Session(Session),
    /// The session or token with this hash was revoked.
    SessionRevoked(String),
    /// Every live session and token of this user was revoked.
    UserSessionsRevoked(UserId),
    /// The whole database was filled from a backup: reload everything.
    Restored,
}
