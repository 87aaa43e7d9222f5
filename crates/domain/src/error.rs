//! Errors of the domain crate.

use crate::status::TransitionError;
// Kept at this path, where the other crates use them.
pub use crate::validation::{ValidationError, validate_text};

/// Any error of the domain crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The category data file could not be read as a category table.
    #[error("category table: {0}")]
    CategoryTable(String),
    /// The working-day calendar file could not be read.
    #[error("calendar: {0}")]
    Calendar(String),
    /// The inspection checklist file could not be read.
    #[error("inspection checklists: {0}")]
    Checklists(String),
}
