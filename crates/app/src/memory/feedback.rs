//! Where each reporter's answer (回访) stands: verified problems waiting for their reporter's
//! answer, and the answers given. Read from the event log at start and kept by the commit hook,
//! so neither the reporter's list nor the street office's inbox scans the log.

use std::collections::HashMap;

use civmap_domain::{EventKind, ProblemId};
use serde_json::Value;

/// The key of a `feedback` event's data saying whether the reporter found it solved.
pub const SOLVED_KEY: &str = "solved";

/// Where the reporter's answer about one verified problem stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Verified; the reporter has not answered yet.
    Due,
    /// The reporter said it is solved.
    Solved,
    /// The reporter said it is not solved: the street office is to look again.
    Unsolved,
    /// Said not solved, and the street office has looked again since (a look-back).
    Handled,
}

impl Answer {
    /// The answer's name in the API.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Due => "due",
            Answer::Solved => "solved",
            Answer::Unsolved => "unsolved",
            Answer::Handled => "handled",
        }
    }
}

/// The answers by problem.
#[derive(Debug, Default)]
pub struct FeedbackBook {
    answers: HashMap<ProblemId, Answer>,
}

impl FeedbackBook {
    /// Follows one event: a verification asks the reporter (again, after a recurrence); an
    /// answer records it; a recurrence or a merge ends the question (the problem is open again
    /// or lives on in another); a look-back after a "not solved" handles it.
    pub fn note(&mut self, id: ProblemId, kind: EventKind, data: &Value) {
        match kind {
            EventKind::Verified => {
                self.answers.insert(id, Answer::Due);
            }
            EventKind::Feedback => {
                let solved = data
                    .get(SOLVED_KEY)
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                self.answers.insert(
                    id,
                    if solved {
                        Answer::Solved
                    } else {
                        Answer::Unsolved
                    },
                );
            }
            EventKind::Recurred | EventKind::Merged => {
                self.answers.remove(&id);
            }
            EventKind::Reinspected => {
                if let Some(a @ Answer::Unsolved) = self.answers.get_mut(&id) {
                    *a = Answer::Handled;
                }
            }
            _ => {}
        }
    }

    /// Where the answer about `id` stands; `None` when nobody is asked (not verified).
    #[must_use]
    pub fn answer(&self, id: ProblemId) -> Option<Answer> {
        self.answers.get(&id).copied()
    }

    /// The problems whose reporter said "not solved" and that nobody has looked at since.
    #[must_use]
    pub fn unsolved(&self) -> Vec<ProblemId> {
        self.answers
            .iter()
            .filter(|(_, a)| **a == Answer::Unsolved)
            .map(|(id, _)| *id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_verification_asks_an_answer_records_and_a_look_back_handles() {
        let mut b = FeedbackBook::default();
        let (a, c) = (ProblemId::new(), ProblemId::new());
        assert_eq!(b.answer(a), None);
        b.note(a, EventKind::Verified, &Value::Null);
        b.note(c, EventKind::Verified, &Value::Null);
        assert_eq!(b.answer(a), Some(Answer::Due));
        b.note(a, EventKind::Feedback, &json!({"solved": false}));
        b.note(c, EventKind::Feedback, &json!({"solved": true}));
        assert_eq!(b.answer(a), Some(Answer::Unsolved));
        assert_eq!(b.answer(c), Some(Answer::Solved));
        assert_eq!(b.unsolved(), vec![a]);
        b.note(a, EventKind::Reinspected, &Value::Null);
        assert_eq!(b.answer(a), Some(Answer::Handled));
        assert!(b.unsolved().is_empty());
        b.note(c, EventKind::Recurred, &Value::Null);
        assert_eq!(b.answer(c), None);
    }
}
