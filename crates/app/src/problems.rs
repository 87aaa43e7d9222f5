//! Writes of problems: the one way a report is created, edits of its fields, and the lifecycle
//! steps. Each step checks the caller's scope and the version it saw, lets the domain's state
//! machine decide whether the status allows it, then applies the rules of that step
//! ([`App::step_rules`]: who dispatches where, evidence of a fix, four-eyes verification, the
//! target of a merge, where an escalation goes) and stores the new version with its event.

use chrono::{DateTime, Utc};
use civmap_domain::{
    Action, EventKind, LonLat, NewProblem, Problem, ProblemId, Severity, Status, UserId, ZoneId,
};
use civmap_store::NewEvent;
use serde_json::{Map, Value, json};

use crate::actor::Actor;
use crate::app::App;
use crate::capture::Capture;
use crate::error::ServiceError;
use crate::memory::record::Record;
use crate::time::now_ms;
use crate::workflow::evidence::{SELF_FIX_KEY, TOKEN_KEY, check_rectification, check_rejection};

/// Longest note of a step or a report, characters.
pub const MAX_NOTE_CHARS: usize = 2000;
/// Most photos one step (or report) may carry.
pub const MAX_PHOTOS_PER_STEP: usize = 20;

/// How a report came in and what it carries besides the problem itself.
#[derive(Debug, Clone)]
pub struct ReportDetails {
    /// A note for the event log (staff only; never public).
    pub note: String,
    /// Photos uploaded before (ids), evidence for staff.
    pub photos: Vec<String>,
    /// The `created` event's data: at least `via` (`api`, `open311`...), and what the channel
    /// adds (Open311's service request fields).
    pub data: Map<String, Value>,
    /// When the phone captured it and how precise its position is (checked, then kept in the
    /// `created` event's data).
    pub capture: Capture,
}

impl ReportDetails {
    /// A report through `via` with nothing else.
    #[must_use]
    pub fn via(via: &str) -> Self {
        let mut data = Map::new();
        data.insert("via".into(), via.into());
        Self {
            note: String::new(),
            photos: Vec::new(),
            data,
            capture: Capture::default(),
        }
    }
}

/// What a lifecycle step may carry besides the version.
#[derive(Debug, Clone, Default)]
pub struct TransitionDetails {
    pub note: String,
    pub photos: Vec<String>,
    /// `dispatch`: the chief.
    pub assignee: Option<UserId>,
    /// `dispatch`: the zone dispatched through.
    pub zone: Option<ZoneId>,
    /// `dispatch`: the deadline.
    pub deadline: Option<DateTime<Utc>>,
    /// `merge`: the problem this one duplicates.
    pub into: Option<ProblemId>,
}

/// A validated edit (location already converted to WGS-84).
#[derive(Debug, Clone, Default)]
pub struct Edit {
    pub version: i64,
    pub description: Option<String>,
    pub category: Option<String>,
    pub severity: Option<Severity>,
    pub location: Option<LonLat>,
    pub note: String,
}

/// `Conflict` naming the current version unless the caller saw it.
pub fn check_version(current: &Problem, expected: i64) -> Result<(), ServiceError> {
    if current.version == expected {
        Ok(())
    } else {
        Err(ServiceError::stale(
            format!("problem {}", current.id),
            current.version,
            expected,
        ))
    }
}

/// A note, checked: at most [`MAX_NOTE_CHARS`], no control characters.
pub fn check_note(note: &str) -> Result<String, ServiceError> {
    Ok(civmap_domain::error::validate_text(
        "note",
        note,
        MAX_NOTE_CHARS,
        false,
    )?)
}

impl App {
    /// Creates a problem: validates the report, checks its photos and the caller's rate limit,
    /// links it to a recently closed problem nearby (回潮), stores it with its `created` event,
    /// then dispatches it to the chief of the zone containing it (a separate step: a failed
    /// dispatch never loses the report).
    pub async fn create(
        &self,
        report: NewProblem,
        actor: &Actor,
        details: ReportDetails,
    ) -> Result<Problem, ServiceError> {
        let note = check_note(&details.note)?;
        let table = self.categories();
        let now = now_ms();
        let mut p = report.validate(&table, actor.user, now)?;
        p.place = self.place_of(p.location);
        self.check_photos(&details.photos).await?;
        self.check_rate(actor)?;
        let mut data = details.data;
        details.capture.record(now, &mut data)?;
        self.link_recurrence(&mut p, now, &mut data);
        let ev = NewEvent {
            kind: EventKind::Created,
            actor: actor.user,
            at: now,
            note,
            photos: details.photos,
            data: Value::Object(data),
        };
        self.store().insert_problem(&p, ev).await?;
        // The store numbered it; the commit hook has put the number into memory.
        p.case_no = self.problems().map.get(&p.id).and_then(Record::case_no);
        Ok(self.dispatch_new(p).await)
    }

    /// Edits description, category, severity or location (an `edited` event listing the
    /// changes). Merged problems are final and cannot be edited.
    pub async fn edit(
        &self,
        id: ProblemId,
        edit: Edit,
        actor: &Actor,
    ) -> Result<Problem, ServiceError> {
        let table = self.categories();
        // A cold problem may be edited: the write brings it back into memory.
        self.check_visible_any(&self.scope(actor), id).await?;
        let current = self.fetch_problem(id).await?;
        check_version(&current, edit.version)?;
        if current.status == Status::Merged {
            return Err(ServiceError::Conflict {
                message: format!("problem {id} is merged into another and cannot be edited"),
                current_version: Some(current.version),
            });
        }
        let mut next = current.clone();
        let mut changed = Map::new();
        let mut change = |field: &str, from: Value, to: Value| {
            if from != to {
                changed.insert(field.into(), json!({"from": from, "to": to}));
            }
        };
        if let Some(d) = edit.description {
            let d = civmap_domain::error::validate_text(
                "description",
                &d,
                civmap_domain::problem::MAX_DESCRIPTION_CHARS,
                false,
            )?;
            change(
                "description",
                current.description.clone().into(),
                d.clone().into(),
            );
            next.description = d;
        }
        if let Some(c) = edit.category {
            table.id(&c)?;
            change(
                "category",
                current.category.clone().into(),
                c.clone().into(),
            );
            next.category = c;
        }
        if let Some(s) = edit.severity {
            change(
                "severity",
                current.severity.as_str().into(),
                s.as_str().into(),
            );
            next.severity = s;
        }
        if let Some(loc) = edit.location {
            change(
                "location",
                json!(current.location.to_array()),
                json!(loc.to_array()),
            );
            next.location = loc;
            next.place = self.place_of(loc);
        }
        if changed.is_empty() {
            return Err(ServiceError::invalid("body", "nothing to change"));
        }
        let now = now_ms();
        next.updated_at = now;
        next.version += 1;
        let ev = NewEvent {
            kind: EventKind::Edited,
            actor: actor.user,
            at: now,
            note: check_note(&edit.note)?,
            photos: Vec::new(),
            data: json!({ "changed": changed }),
        };
        self.store().update_problem(&next, edit.version, ev).await?;
        Ok(next)
    }

    /// Takes a lifecycle step. `expected_version` must be the current version (else
    /// `Conflict` naming the current one); a step the status does not allow is a `Conflict`
    /// listing the allowed ones. The role check ([`crate::actor::roles_for`]) is the caller's:
    /// automatic steps act as [`Actor::system`].
    pub async fn transition(
        &self,
        id: ProblemId,
        action: Action,
        expected_version: i64,
        details: TransitionDetails,
        actor: &Actor,
    ) -> Result<Problem, ServiceError> {
        let scope = self.scope(actor);
        self.check_visible_any(&scope, id).await?;
        let current = self.fetch_problem(id).await?;
        check_version(&current, expected_version)?;
        let now = now_ms();
        let mut next = current.clone();
        next.transition(action, now)?;
        let mut data = Map::new();
        data.insert("from".into(), current.status.as_str().into());
        data.insert("to".into(), next.status.as_str().into());
        if let (None, Some(token)) = (actor.user, &actor.token) {
            // A static token acting for no account: its name is its identity in the log.
            data.insert(TOKEN_KEY.into(), token.clone().into());
        }
        self.step_rules(
            action,
            current.status,
            &details,
            actor,
            &mut next,
            now,
            &mut data,
        )
        .await?;
        let note = check_note(&details.note)?;
        self.check_photos(&details.photos).await?;
        let ev = NewEvent {
            kind: EventKind::from(action),
            actor: actor.user,
            at: now,
            note,
            photos: details.photos,
            data: Value::Object(data),
        };
        self.store()
            .update_problem(&next, expected_version, ev)
            .await?;
        if action == Action::Merge {
            self.record_merge(&next, actor).await;
        }
        Ok(next)
    }

    /// The rules of one step, applied to the next version of the problem and recorded in the
    /// event's `data`.
    #[allow(clippy::too_many_arguments)]
    async fn step_rules(
        &self,
        action: Action,
        from: Status,
        details: &TransitionDetails,
        actor: &Actor,
        next: &mut Problem,
        now: DateTime<Utc>,
        data: &mut Map<String, Value>,
    ) -> Result<(), ServiceError> {
        match action {
            Action::Dispatch => self.dispatch_details(details, next, now, data),
            Action::Merge => self.merge_target(details, actor, next, data),
            Action::Reject => check_rejection(&details.note),
            Action::Verify => self.check_four_eyes(next.id, actor).await,
            Action::Rectify => {
                check_rectification(&self.config().workflow, &details.note, &details.photos)?;
                if matches!(from, Status::Reported | Status::Recurred) {
                    // Fixed on the spot by whoever found it in their zone (scope was checked):
                    // it is theirs now, as if dispatched to them, and the log says so.
                    if let Some(user) = actor.user {
                        next.assignee = Some(user);
                        data.insert("assignee".into(), user.0.to_string().into());
                    }
                    data.insert(SELF_FIX_KEY.into(), true.into());
                }
                Ok(())
            }
            Action::Escalate => {
                self.escalation_target(next, data);
                Ok(())
            }
            Action::Recur => Ok(()),
        }
    }

    /// `Invalid` naming `photos[i]` unless every photo id is one of an uploaded photo.
    pub async fn check_photos(&self, photos: &[String]) -> Result<(), ServiceError> {
        if photos.len() > MAX_PHOTOS_PER_STEP {
            return Err(ServiceError::invalid(
                "photos",
                format!("at most {MAX_PHOTOS_PER_STEP} photos per step"),
            ));
        }
        for (i, h) in photos.iter().enumerate() {
            let ok = h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
            if !ok {
                return Err(ServiceError::invalid(
                    format!("photos[{i}]"),
                    "expected the SHA-256 hex id of an uploaded photo",
                ));
            }
            if self.store().photo_meta(h).await?.is_none() {
                return Err(ServiceError::invalid(
                    format!("photos[{i}]"),
                    format!("no photo {h}"),
                ));
            }
        }
        Ok(())
    }

    /// Takes a rate-limit token for an anonymous write; `RateLimited` when the caller's
    /// bucket is empty.
    pub fn check_rate(&self, actor: &Actor) -> Result<(), ServiceError> {
        if !actor.rate_limited() {
            return Ok(());
        }
        self.inner.limiter.check(actor.ip).map_err(|retry_after_s| {
            self.note_rate_limited();
            ServiceError::RateLimited { retry_after_s }
        })
    }
}
