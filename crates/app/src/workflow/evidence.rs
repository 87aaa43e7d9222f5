//! What a step must carry: a rectification needs a note saying what was done and (by
//! default) an after photo; a rejection needs its reason; a verification must come from
//! someone other than the one who rectified (four eyes).

use civmap_domain::{Event, EventKind, ProblemId};

use crate::actor::Actor;
use crate::app::App;
use crate::config::WorkflowConfig;
use crate::error::ServiceError;

/// A rectification needs a note and, when `workflow.rectify_needs_photo`, an after photo.
pub fn check_rectification(
    workflow: &WorkflowConfig,
    note: &str,
    photos: &[String],
) -> Result<(), ServiceError> {
    if note.trim().is_empty() {
        return Err(ServiceError::invalid(
            "note",
            "a rectification needs a note saying what was done",
        ));
    }
    if workflow.rectify_needs_photo && photos.is_empty() {
        return Err(ServiceError::invalid(
            "photos",
            "a rectification needs an after photo: upload it with POST /api/v1/photos and send its id in photos",
        ));
    }
    Ok(())
}

/// A rejection (返工) needs its reason in the note.
pub fn check_rejection(note: &str) -> Result<(), ServiceError> {
    if note.trim().is_empty() {
        return Err(ServiceError::invalid(
            "note",
            "a rejection needs a reason in note",
        ));
    }
    Ok(())
}

/// The key of an event's `data` naming the static token that took the step when it acts for
/// no account (the event's `actor` is then empty).
pub const TOKEN_KEY: &str = "token";

/// The key of a rectification's `data` that is `true` when the problem was fixed on the spot
/// from reported or recurred (当场整改), without a dispatch.
pub const SELF_FIX_KEY: &str = "self_fix";

/// Who took the step of `e`, in the terms of [`Actor::identity`]: the account, else the static
/// token named in the event's data; `None` for the system.
#[must_use]
pub fn event_identity(e: &Event) -> Option<String> {
    match e.actor {
        Some(u) => Some(format!("user:{u}")),
        None => e
            .data
            .get(TOKEN_KEY)
            .and_then(serde_json::Value::as_str)
            .map(|t| format!("token:{t}")),
    }
}

impl App {
    /// `Forbidden` when `actor` is the one who rectified the problem last: the same account,
    /// or the same static token (one acting for no account has its name as identity).
    pub(crate) async fn check_four_eyes(
        &self,
        id: ProblemId,
        actor: &Actor,
    ) -> Result<(), ServiceError> {
        let Some(me) = actor.identity() else {
            return Ok(());
        };
        let events = self.store().events_for(id).await?;
        let fixer = events
            .iter()
            .rev()
            .find(|e| e.kind == EventKind::Rectified)
            .and_then(event_identity);
        if fixer.as_deref() == Some(me.as_str()) {
            return Err(ServiceError::Forbidden(
                "verification must be done by someone other than the one who rectified".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fix_needs_a_note_and_a_photo_and_a_rejection_a_reason() {
        let w = WorkflowConfig::default();
        let e = check_rectification(&w, "", &[]).unwrap_err();
        assert_eq!(e.field(), Some("note"));
        let e = check_rectification(&w, "已清理", &[]).unwrap_err();
        assert_eq!(e.field(), Some("photos"));
        assert!(check_rectification(&w, "已清理", &["a".repeat(64)]).is_ok());
        let lenient = WorkflowConfig {
            rectify_needs_photo: false,
            ..WorkflowConfig::default()
        };
        assert!(check_rectification(&lenient, "已清理", &[]).is_ok());
        assert_eq!(check_rejection("").unwrap_err().field(), Some("note"));
        assert!(check_rejection("  ").is_err(), "blank is no reason");
        assert!(check_rejection("还有垃圾袋").is_ok());
    }
}
