//! Merging a duplicate report into the problem it duplicates: the target must be visible and
//! not merged itself; afterwards the target records who else reported it and the duplicate's
//! photos, so its history keeps both reporters and all the evidence.

use civmap_domain::{EventKind, Problem, Status};
use civmap_store::{NewEvent, StoreError};
use serde_json::{Map, Value};

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;
use crate::problems::{MAX_PHOTOS_PER_STEP, TransitionDetails};
use crate::time::{now_ms, rfc3339};

/// Tries at recording a merge on its target: the target may change between reading and
/// writing it.
const MERGE_RECORD_TRIES: usize = 2;

impl App {
    /// The rule of a merge: `into` names a visible problem other than this one that is not
    /// itself merged.
    pub(crate) fn merge_target(
        &self,
        details: &TransitionDetails,
        actor: &Actor,
        next: &mut Problem,
        data: &mut Map<String, Value>,
    ) -> Result<(), ServiceError> {
        let into = details.into.ok_or_else(|| {
            ServiceError::invalid("into", "merge needs the id of the problem to merge into")
        })?;
        if into == next.id {
            return Err(ServiceError::invalid(
                "into",
                "a problem cannot be merged into itself",
            ));
        }
        let scope = self.scope(actor);
        let target = self
            .check_visible(&scope, into)
            .and_then(|()| self.problem(into))
            .map_err(|_| ServiceError::invalid("into", format!("no problem {into}")))?;
        if target.status == Status::Merged {
            return Err(ServiceError::invalid(
                "into",
                format!(
                    "{into} is itself merged; merge into {}",
                    target
                        .merged_into
                        .map_or_else(String::new, |m| m.to_string())
                ),
            ));
        }
        next.merged_into = Some(into);
        data.insert("into".into(), into.to_string().into());
        Ok(())
    }

    /// After a duplicate was merged into another problem: records on that problem who else
    /// reported it and the duplicate's photos (an `edited` event with `merged_duplicate`,
    /// `duplicate_reporter` and the photos). Best effort: the merge itself is already stored,
    /// and so are the duplicate's own events.
    pub(crate) async fn record_merge(&self, duplicate: &Problem, actor: &Actor) {
        let Some(into) = duplicate.merged_into else {
            return;
        };
        let photos: Vec<String> = match self.store().events_for(duplicate.id).await {
            Ok(events) => {
                let mut all: Vec<String> = events.into_iter().flat_map(|e| e.photos).collect();
                all.dedup();
                all.truncate(MAX_PHOTOS_PER_STEP);
                all
            }
            Err(e) => {
                tracing::warn!(id = %duplicate.id, error = %e, "cannot read the duplicate's events");
                Vec::new()
            }
        };
        for _ in 0..MERGE_RECORD_TRIES {
            let Ok(current) = self.problem(into) else {
                return;
            };
            let now = now_ms();
            let mut next = current.clone();
            next.updated_at = now;
            next.version += 1;
            let ev = NewEvent {
                kind: EventKind::Edited,
                actor: actor.user,
                at: now,
                note: "合并重复上报 merged a duplicate report".into(),
                photos: photos.clone(),
                data: serde_json::json!({
                    "merged_duplicate": duplicate.id,
                    "duplicate_reporter": duplicate.reporter,
                    "duplicate_reported_at": rfc3339(duplicate.reported_at),
                }),
            };
            match self
                .store()
                .update_problem(&next, current.version, ev)
                .await
            {
                Ok(_) => return,
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => {
                    tracing::warn!(%into, error = %e, "cannot record the merge on its target");
                    return;
                }
            }
        }
    }
}
