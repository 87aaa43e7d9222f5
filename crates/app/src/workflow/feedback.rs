//! The reporter's answer after verification (回访): when a problem someone reported has been
//! verified and closed, that reporter is asked "问题解决了吗？". The answer is recorded once, as
//! a `feedback` event (`data.solved`); a "no" (with the reporter's note) puts the problem in the
//! street office's inbox list "群众反馈未解决" until it is looked at again (a look-back) or
//! reopened. Only the problem's own reporter answers, and only once per verification.

use civmap_domain::{EventKind, Problem, ProblemId, Status};
use civmap_store::NewEvent;
use serde_json::json;

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;
use crate::memory::feedback::{Answer, SOLVED_KEY};
use crate::time::now_ms;

/// Longest note of an answer, characters: a short sentence on a phone, not a report.
pub const MAX_FEEDBACK_NOTE_CHARS: usize = 500;

/// What the reporter answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// Whether the problem is solved as the reporter sees it.
    pub solved: bool,
    /// What is still wrong (may be empty).
    pub note: String,
}

impl App {
    /// Records the reporter's answer about a verified, closed problem. `Unauthorized` without
    /// an account; `NotFound` for a problem the caller neither reported nor may see;
    /// `Forbidden` for one it may see but did not report; `Conflict` when the problem is not
    /// (or no longer) closed after a verification, or the answer was given already.
    pub async fn feedback(
        &self,
        id: ProblemId,
        answer: Feedback,
        actor: &Actor,
    ) -> Result<Problem, ServiceError> {
        let user = actor.user.ok_or_else(|| {
            ServiceError::Unauthorized("sign in to answer about your report".into())
        })?;
        let current = self.fetch_problem(id).await?;
        if current.reporter != Some(user) {
            // Someone else's report: as unknown as any problem the caller may not see.
            self.check_visible_any(&self.scope(actor), id).await?;
            return Err(ServiceError::Forbidden(
                "only the person who reported a problem answers whether it is solved".into(),
            ));
        }
        let asked = self.inner.feedback.lock().answer(id);
        let refuse = |why: &str| ServiceError::Conflict {
            message: format!("problem {id}: {why}"),
            current_version: Some(current.version),
        };
        match (current.status, asked) {
            (Status::Closed, Some(Answer::Due)) => {}
            (Status::Closed, Some(Answer::Solved | Answer::Unsolved | Answer::Handled)) => {
                return Err(refuse("the reporter has answered already"));
            }
            _ => return Err(refuse("only a verified, closed problem is asked about")),
        }
        let note = civmap_domain::error::validate_text(
            "note",
            &answer.note,
            MAX_FEEDBACK_NOTE_CHARS,
            false,
        )?;
        let now = now_ms();
        let mut next = current.clone();
        next.updated_at = now;
        next.version += 1;
        let ev = NewEvent {
            kind: EventKind::Feedback,
            actor: Some(user),
            at: now,
            note,
            photos: Vec::new(),
            data: json!({ SOLVED_KEY: answer.solved }),
        };
        // A second answer racing this one finds the version moved: a conflict, not two answers.
        self.store()
            .update_problem(&next, current.version, ev)
            .await?;
        Ok(next)
    }

    /// Where the reporter's answer about `id` stands (`None`: nobody is asked).
    #[must_use]
    pub fn feedback_answer(&self, id: ProblemId) -> Option<Answer> {
        self.inner.feedback.lock().answer(id)
    }

    /// Closed problems whose reporter said "not solved" and nobody has looked at since.
    #[must_use]
    pub fn feedback_unsolved(&self) -> Vec<ProblemId> {
        self.inner.feedback.lock().unsolved()
    }
}
