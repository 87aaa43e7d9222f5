//! The street office decides what the public reads of a description: it may hide it, or give
//! it a public wording (a reporter wrote a neighbour's name, a quarrel, what is inside a home).
//! The description as written stays, for staff; each change is an `edited` event with data
//! `{"public_description", "hidden"}` and the office's note, in the problem's history.

use chrono::Utc;
use civmap_domain::{EventKind, ProblemId};
use civmap_store::{NewEvent, PublicText};
use serde_json::json;

use crate::actor::{Actor, OFFICE};
use crate::app::App;
use crate::error::ServiceError;
use crate::privacy::PublicTexts;
use crate::problems::MAX_NOTE_CHARS;

/// What the office asks the public to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicDescription {
    /// Nothing: the public reads that the description is hidden.
    Hidden,
    /// This wording instead of the description as written.
    Wording(String),
}

impl App {
    /// What the public reads for descriptions the office acted on (a snapshot).
    #[must_use]
    pub fn public_texts(&self) -> std::sync::Arc<PublicTexts> {
        self.inner.public_texts.read().clone()
    }

    /// Sets what the public reads for problem `id`'s description. Only the street office (and
    /// the administrator) within its scope; `note` says why and is required, like a rejection's.
    /// The problem's version does not change (its fields did not): the change is recorded as an
    /// `edited` event beside it.
    pub async fn set_public_description(
        &self,
        id: ProblemId,
        public: PublicDescription,
        note: &str,
        actor: &Actor,
    ) -> Result<PublicText, ServiceError> {
        actor.require(OFFICE, "change what the public reads of a description")?;
        self.check_visible_any(&self.scope(actor), id).await?;
        let note = civmap_domain::error::validate_text("note", note, MAX_NOTE_CHARS, true)?;
        let (text, hidden) = match public {
            PublicDescription::Hidden => (String::new(), true),
            PublicDescription::Wording(w) => (
                civmap_domain::error::validate_text(
                    "public_description",
                    &w,
                    civmap_domain::problem::MAX_DESCRIPTION_CHARS,
                    true,
                )?,
                false,
            ),
        };
        let now = Utc::now();
        let row = PublicText {
            problem: id,
            text: text.clone(),
            hidden,
            updated_at: now,
            updated_by: actor.user,
        };
        let ev = NewEvent {
            kind: EventKind::Edited,
            actor: actor.user,
            at: now,
            note,
            photos: Vec::new(),
            data: json!({ "public_description": text, "hidden": hidden }),
        };
        self.store().set_public_text(&row, ev).await?;
        // The commit hook has put it in memory; answer what was stored.
        Ok(self.public_texts().get(id).cloned().unwrap_or(row))
    }
}
