//! Following the database: a replica keeps the numbers of the last event and change-log entry
//! it applied, reads what committed after them in order, and for each entry re-reads the row it
//! names and applies it to memory exactly as the commit hook applies this replica's own writes;
//! then tiles and scopes are invalidated (the data version moves) and problem changes go out on
//! the live feed, so the SSE of replica B shows what was written on A.
//!
//! Nothing is skipped: every writer holds one lock while it numbers and commits (the store's
//! writer), so `seq` order is commit order and "everything after my number" is complete.
//! Nothing is applied twice: the commit hook claims the event numbers it applied
//! (`FollowState::claim`, in `memory::follow_state`) and the follower passes over them; an event the follower applied
//! first is skipped by the hook. Rows carry versions, so re-reading a row is idempotent.
//!
//! Woken by the PostgreSQL doorbell (`NOTIFY` after each commit), after every reconnect of it,
//! and by a timer as a safety net ([`FOLLOW_SAFETY_NET`]; the only wake-up on SQLite, where
//! another process — the command line — may write to the same file).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use civmap_domain::{Event, EventKind, PoiId, Problem, ProblemId, UserId, ZoneId};
use civmap_store::{Change, ChangeKind, LoggedChange, PublicText, Ring};
use serde::Serialize;

use crate::app::{App, merge_category};
use crate::error::ServiceError;

/// How often a replica reads the logs when nothing rang: the safety net for a lost doorbell,
/// and the only wake-up on SQLite.
pub const FOLLOW_SAFETY_NET: Duration = Duration::from_secs(2);

/// Entries read per round trip; a round reads pages until it reaches the end.
const FOLLOW_PAGE: u32 = 2000;

/// How often one round reads the rows of the change log again when this replica changed
/// such rows itself meanwhile.
const ROW_READ_TRIES: usize = 5;

/// Rows named by change-log entries, as read.
#[derive(Default)]
struct ReadRows {
    /// Zones, points of interest, accounts and sessions, as changes to apply.
    rows: Vec<Change>,
    /// Every assignment, when one changed.
    assignments: Option<Vec<(ZoneId, UserId)>>,
    /// Every stored category, when one changed.
    categories: Option<Vec<civmap_domain::Category>>,
}

/// The pause before the doorbell is connected again after it failed.
const DOORBELL_RETRY: Duration = Duration::from_secs(1);

/// A replica behind by longer than this is not ready (`/readyz` answers 503): a load balancer
/// sends its readers elsewhere until it caught up.
pub const READY_MAX_LAG: Duration = Duration::from_secs(10);

/// How far behind the database this replica is.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct FollowStatus {
    /// Events and change-log entries committed and not yet applied here.
    pub lag_events: i64,
    /// How long this replica has not been caught up (0 when it is).
    pub lag_seconds: f64,
    /// The last event number applied.
    pub applied_event: i64,
    /// The last change-log number applied.
    pub applied_change: i64,
    /// Whether the heads were read from the database just now (`false`: it did not answer;
    /// the lag is against the last heads seen).
    pub heads_fresh: bool,
}

impl FollowStatus {
    /// Caught up closely enough to serve.
    #[must_use]
    pub fn caught_up(&self) -> bool {
        self.lag_events == 0 || self.lag_seconds <= READY_MAX_LAG.as_secs_f64()
    }
}

impl App {
    /// Reads what committed after the last applied entries and applies it, until nothing is
    /// left; answers how many entries it applied. Also what tests call instead of waiting for
    /// the timer.
    pub async fn follow(&self) -> Result<usize, ServiceError> {
        let _one_at_a_time = self.inner.follow_gate.lock().await;
        let store = self.store();
        let mut applied = 0;
        loop {
            let (events_after, changes_after) = {
                let f = self.inner.follow.lock();
                (f.events, f.changes)
            };
            let changes = store.changes_since(changes_after, FOLLOW_PAGE).await?;
            let more_changes = changes.len() == FOLLOW_PAGE as usize;
            if changes.iter().any(|c| c.kind == ChangeKind::Restored) {
                // Another replica restored a backup: everything changed.
                tracing::warn!("the database was restored from a backup; reloading");
                self.set_ready(false);
                self.reload_unfollowed().await?;
                self.set_ready(true);
                applied += 1;
                continue;
            }
            let rows_applied = self.apply_logged_changes(&changes).await?;
            if rows_applied {
                applied += changes.len();
            }
            let events = store.events_since(events_after, FOLLOW_PAGE).await?;
            let more_events = events.len() == FOLLOW_PAGE as usize;
            applied += self.apply_logged_events(events).await?;
            if !rows_applied {
                // This replica kept changing rows while they were read: the next round.
                break;
            }
            if !more_changes && !more_events {
                let mut f = self.inner.follow.lock();
                f.caught_up_at = Some(Instant::now());
                f.heads.events = f.heads.events.max(f.events);
                break;
            }
        }
        if applied > 0 {
            self.inner.data_version.fetch_add(1, Ordering::AcqRel);
        }
        self.inner.accounts.prune_sessions(chrono::Utc::now());
        Ok(applied)
    }

    /// Applies change-log entries: each named row re-read once, as it is now, and applied
    /// only if this replica changed no such row itself meanwhile (else read again, at most
    /// [`ROW_READ_TRIES`] times; then the next round does). Answers whether they were applied.
    async fn apply_logged_changes(&self, changes: &[LoggedChange]) -> Result<bool, ServiceError> {
        let Some(last) = changes.last().map(|c| c.seq) else {
            return Ok(true);
        };
        for _ in 0..ROW_READ_TRIES {
            let local_before = self.inner.follow.lock().local;
            let read = self.read_rows(changes).await?;
            let table = match &read.categories {
                Some(stored) => {
                    let mut table = (*self.categories()).clone();
                    for c in stored {
                        merge_category(&mut table, c)?;
                    }
                    Some(Arc::new(table))
                }
                None => None,
            };
            let mut f = self.inner.follow.lock();
            if f.local != local_before {
                continue;
            }
            for row in &read.rows {
                self.apply_row(row);
            }
            if let Some(a) = read.assignments {
                *self.inner.assignments.write() = a;
            }
            if let Some(table) = &table {
                self.set_categories(table.clone());
            }
            f.changes = f.changes.max(last);
            f.heads.changes = f.heads.changes.max(last);
            drop(f);
            if let Some(table) = table {
                // Whether a category is indoor decides where tiles show its problems.
                self.inner
                    .tiles
                    .rebuild_problems(&self.inner.problems.read().index, &table);
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// The rows change-log entries name, as they are now (the newest mention of a row is
    /// enough).
    async fn read_rows(&self, changes: &[LoggedChange]) -> Result<ReadRows, ServiceError> {
        let store = self.store();
        let mut seen = HashSet::new();
        let mut out = ReadRows::default();
        let (mut assignments, mut categories) = (false, false);
        for c in changes.iter().rev() {
            if !seen.insert((c.kind, c.key.as_str())) {
                continue;
            }
            match c.kind {
                ChangeKind::Zone => {
                    let id = ZoneId(key_uuid(c)?);
                    out.rows.push(match store.get_zone(id).await? {
                        Some(z) => Change::Zone(z),
                        None => Change::ZoneDeleted(id),
                    });
                    // A deleted zone took its assignments with it.
                    assignments = true;
                }
                ChangeKind::Poi => {
                    let id = PoiId(key_uuid(c)?);
                    out.rows.push(match store.get_poi(id).await? {
                        Some(p) => Change::Poi(p),
                        None => Change::PoiDeleted(id),
                    });
                }
                ChangeKind::Assignment => assignments = true,
                ChangeKind::User => {
                    if let Some(u) = store.user_by_id(UserId(key_uuid(c)?)).await? {
                        out.rows.push(Change::User(u));
                    }
                }
                ChangeKind::Session => {
                    if let Some(s) = store.session_by_token_hash(&c.key).await? {
                        out.rows.push(Change::Session(s));
                    }
                }
                ChangeKind::UserSessions => {
                    for s in store.sessions_of(UserId(key_uuid(c)?)).await? {
                        out.rows.push(Change::Session(s));
                    }
                }
                ChangeKind::Category => categories = true,
                // Handled by the caller before.
                ChangeKind::Restored => {}
            }
        }
        // Zones before the assignments that name them: the order they were read in.
        out.rows.reverse();
        if assignments {
            out.assignments = Some(store.assignments().await?);
        }
        if categories {
            out.categories = Some(store.list_categories().await?);
        }
        Ok(out)
    }

    /// Applies events in order: the problems they name re-read once, the events this replica's
    /// commit hook applied passed over. Answers how many were applied here.
    async fn apply_logged_events(&self, events: Vec<Event>) -> Result<usize, ServiceError> {
        if events.is_empty() {
            return Ok(0);
        }
        let store = self.store();
        let theirs: Vec<ProblemId> = {
            let f = self.inner.follow.lock();
            let mut seen = HashSet::new();
            events
                .iter()
                .filter(|e| e.seq > f.events && !f.is_own(e.seq))
                .map(|e| e.problem)
                .filter(|id| seen.insert(*id))
                .collect()
        };
        let rows: HashMap<ProblemId, Problem> = store
            .problems_by_ids(&theirs)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let mut texts: HashMap<ProblemId, PublicText> = HashMap::new();
        for e in events.iter().filter(|e| e.kind == EventKind::Edited) {
            if rows.contains_key(&e.problem)
                && !texts.contains_key(&e.problem)
                && let Some(t) = store.public_text_of(e.problem).await?
            {
                texts.insert(e.problem, t);
            }
        }
        let mut applied = 0;
        let mut f = self.inner.follow.lock();
        for e in &events {
            if e.seq > f.events && !f.is_own(e.seq) {
                if let Some(p) = rows.get(&e.problem) {
                    self.apply_problem(p, e);
                    applied += 1;
                }
                if let Some(t) = texts.get(&e.problem) {
                    self.set_public_text(t);
                }
            }
            f.passed(e.seq);
        }
        f.heads.events = f.heads.events.max(f.events);
        Ok(applied)
    }

    /// How far behind the database this replica is: the database's heads against what was
    /// applied (against the last heads seen when the database does not answer).
    pub async fn follow_status(&self) -> FollowStatus {
        let heads = self.store().log_heads().await.ok();
        let mut f = self.inner.follow.lock();
        if let Some(h) = heads {
            f.heads.events = f.heads.events.max(h.events);
            f.heads.changes = f.heads.changes.max(h.changes);
        }
        let lag_events = (f.heads.events - f.events).max(0) + (f.heads.changes - f.changes).max(0);
        let lag_seconds = match f.caught_up_at {
            _ if lag_events == 0 => 0.0,
            Some(t) => t.elapsed().as_secs_f64(),
            None => self.uptime_s(),
        };
        FollowStatus {
            lag_events,
            lag_seconds,
            applied_event: f.events,
            applied_change: f.changes,
            heads_fresh: heads.is_some(),
        }
    }

    /// Starts following the logs: on the doorbell (PostgreSQL), after each of its reconnects,
    /// and every [`FOLLOW_SAFETY_NET`]. The task holds the service weakly and ends with it.
    pub(crate) fn start_following(&self) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let weak = self.downgrade();
        // The doorbell waits on a task of its own and rings `wake` (which keeps one ring when
        // nobody waits), so the follower's loop never cancels a wait half-way through a message.
        let wake = Arc::new(tokio::sync::Notify::new());
        if let Some(mut bell) = self.store().doorbell() {
            let (wake, weak) = (wake.clone(), weak.clone());
            tokio::spawn(async move {
                loop {
                    let rung = bell.wait().await;
                    if weak.upgrade().is_none() {
                        return;
                    }
                    match rung {
                        Ok(Ring::Rang) => {}
                        Ok(Ring::Connected) => tracing::debug!("listening for commits"),
                        Err(e) => {
                            tracing::debug!(error = %e, "the doorbell failed; the timer follows meanwhile");
                            tokio::time::sleep(DOORBELL_RETRY).await;
                            continue;
                        }
                    }
                    wake.notify_one();
                }
            });
        }
        tokio::spawn(async move {
            // The first pass one period after start, not at once: the service was just loaded
            // from the database, and an immediate pass raced the first writes of a test.
            let mut tick = tokio::time::interval_at(
                tokio::time::Instant::now() + FOLLOW_SAFETY_NET,
                FOLLOW_SAFETY_NET,
            );
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tokio::select! {
                    () = wake.notified() => {}
                    _ = tick.tick() => {}
                }
                let Some(app) = weak.upgrade() else {
                    return;
                };
                match app.follow().await {
                    Ok(_) if failing => {
                        tracing::info!("following the database again");
                        failing = false;
                    }
                    Err(e) if !failing => {
                        tracing::warn!(error = %e.chain(), "cannot follow the database; serving what memory holds");
                        failing = true;
                    }
                    // Followed, or still failing (said once).
                    Ok(_) | Err(_) => {}
                }
            }
        });
    }
}

/// The id a change-log entry names.
fn key_uuid(c: &LoggedChange) -> Result<uuid::Uuid, ServiceError> {
    c.key.parse().map_err(|e| {
        ServiceError::bug(format!(
            "change-log entry {} names {:?}, not an id: {e}",
            c.seq, c.key
        ))
    })
}
