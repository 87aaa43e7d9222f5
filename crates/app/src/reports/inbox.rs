//! The inbox: what waits for the caller — tasks dispatched or escalated to it (overdue first),
//! rework, look-backs due, escalations, fixes to verify and closed problems whose reporter said
//! they are not solved (群众反馈未解决) in its scope — and a grid worker's own reports.

use chrono::{DateTime, Utc};
use civmap_domain::{Action, CaseNo, CategoryTable, ProblemId, Severity, Status};
use civmap_index::{Filter, StatusSet};

use crate::actor::{Actor, roles_for};
use crate::app::App;
use crate::memory::record::{Record, interned};
use crate::time::to_ms;

/// Items of each list in the inbox's first answer; the rest are paged with
/// [`App::inbox_page`] (the counts are complete).
pub const INBOX_PAGE: usize = 200;
/// Characters of a description shown in an inbox item.
pub const EXCERPT_CHARS: usize = 120;
/// At most this many of a reporter's own reports are listed, newest first.
pub const MY_REPORTS_MAX: usize = 500;

/// One problem in an inbox list.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxItem {
    pub id: ProblemId,
    /// Its case number (`CM261207-0003`): what a chief reads aloud and the office types.
    pub case_no: Option<CaseNo>,
    /// Where it is in words ("四平路1239号附近"); empty when no named feature is near.
    pub place: String,
    pub category: String,
    pub category_zh: String,
    pub status: Status,
    pub severity: Severity,
    /// The first [`EXCERPT_CHARS`] characters, with `…` when cut.
    pub description: String,
    pub deadline: Option<DateTime<Utc>>,
    /// Past its deadline now.
    pub overdue: bool,
    /// Times a fix was rejected (返工).
    pub rework_count: u32,
    pub lon: f64,
    pub lat: f64,
    pub version: i64,
    /// Look-backs only: when the problem was closed and when the look-back is due.
    pub closed_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
}

/// A page of an inbox list: the items from `offset` on and how many the list holds.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxList {
    pub count: usize,
    /// Position of the first item in the whole list.
    pub offset: usize,
    pub items: Vec<InboxItem>,
}

impl InboxList {
    /// Where the next page starts, when items follow this page.
    #[must_use]
    pub fn next_offset(&self) -> Option<usize> {
        let end = self.offset + self.items.len();
        (end < self.count).then_some(end)
    }
}

/// The lists of the inbox, each paged on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxKind {
    Tasks,
    Rework,
    Reinspections,
    Escalations,
    ToVerify,
    /// Closed problems whose reporter answered "not solved" (回访).
    FeedbackUnsolved,
}

impl InboxKind {
    pub const ALL: [InboxKind; 6] = [
        InboxKind::Tasks,
        InboxKind::Rework,
        InboxKind::Reinspections,
        InboxKind::Escalations,
        InboxKind::ToVerify,
        InboxKind::FeedbackUnsolved,
    ];

    /// The list's name in the API (`tasks`, `rework`, `reinspections`, `escalations`,
    /// `to_verify`, `feedback_unsolved`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            InboxKind::Tasks => "tasks",
            InboxKind::Rework => "rework",
            InboxKind::Reinspections => "reinspections",
            InboxKind::Escalations => "escalations",
            InboxKind::ToVerify => "to_verify",
            InboxKind::FeedbackUnsolved => "feedback_unsolved",
        }
    }

    /// The list named `s`.
    #[must_use]
    pub fn parse(s: &str) -> Option<InboxKind> {
        InboxKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Every list of the inbox, whole, in its order.
struct Lists {
    tasks: Vec<InboxItem>,
    rework: Vec<InboxItem>,
    reinspections: Vec<InboxItem>,
    escalations: Vec<InboxItem>,
    to_verify: Vec<InboxItem>,
    feedback_unsolved: Vec<InboxItem>,
}

impl Lists {
    fn take(&mut self, kind: InboxKind) -> Vec<InboxItem> {
        std::mem::take(match kind {
            InboxKind::Tasks => &mut self.tasks,
            InboxKind::Rework => &mut self.rework,
            InboxKind::Reinspections => &mut self.reinspections,
            InboxKind::Escalations => &mut self.escalations,
            InboxKind::ToVerify => &mut self.to_verify,
            InboxKind::FeedbackUnsolved => &mut self.feedback_unsolved,
        })
    }
}

/// What is waiting for the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbox {
    /// Problems dispatched (or escalated) to the caller and not yet rectified: overdue first,
    /// then by deadline.
    pub tasks: InboxList,
    /// Of those, the ones whose fix was rejected (返工).
    pub rework: InboxList,
    /// Closed problems in the caller's scope whose look-back (回头看) is due.
    pub reinspections: InboxList,
    /// Escalated problems in the caller's scope (area-chiefs and the street office).
    pub escalations: InboxList,
    /// Rectified problems waiting for verification (area-chiefs and the street office).
    pub to_verify: InboxList,
    /// Closed problems in the caller's scope whose reporter said they are not solved (回访),
    /// oldest change first (area-chiefs and the street office).
    pub feedback_unsolved: InboxList,
    /// When this inbox was computed.
    pub at: DateTime<Utc>,
}

fn item(id: ProblemId, r: &Record, table: &CategoryTable, now_ms: i64) -> InboxItem {
    let code = r.category_code(table);
    let mut description: String = r.description.chars().take(EXCERPT_CHARS).collect();
    if r.description.chars().count() > EXCERPT_CHARS {
        description.push('…');
    }
    InboxItem {
        id,
        case_no: r.case_no(),
        place: r.place.to_string(),
        category: code.to_owned(),
        category_zh: table
            .by_code(code)
            .map_or_else(|| code.to_owned(), |c| c.name_zh.clone()),
        status: r.status,
        severity: r.severity,
        description,
        deadline: r.deadline(),
        overdue: r.is_overdue(now_ms),
        rework_count: r.rework_count,
        lon: r.lon,
        lat: r.lat,
        version: r.version,
        closed_at: None,
        due_at: None,
    }
}

/// The page of `items` from `offset`, at most `limit` long.
fn page(items: Vec<InboxItem>, offset: usize, limit: usize) -> InboxList {
    let count = items.len();
    let items = items.into_iter().skip(offset).take(limit).collect();
    InboxList {
        count,
        offset,
        items,
    }
}

/// Overdue first, then the earliest deadline, then no deadline; ties by id.
fn by_urgency(a: &InboxItem, b: &InboxItem) -> std::cmp::Ordering {
    let key = |i: &InboxItem| (!i.overdue, i.deadline.is_none(), i.deadline, i.id);
    key(a).cmp(&key(b))
}

impl App {
    /// The inbox of `actor` at `now`, the first [`INBOX_PAGE`] items of each list. A static
    /// token acting for no account has no tasks of its own, but sees its scope's escalations,
    /// fixes to verify and look-backs.
    #[must_use]
    pub fn inbox(&self, actor: &Actor, now: DateTime<Utc>) -> Inbox {
        let mut l = self.inbox_lists(actor, now);
        let mut first = |k| page(l.take(k), 0, INBOX_PAGE);
        Inbox {
            tasks: first(InboxKind::Tasks),
            rework: first(InboxKind::Rework),
            reinspections: first(InboxKind::Reinspections),
            escalations: first(InboxKind::Escalations),
            to_verify: first(InboxKind::ToVerify),
            feedback_unsolved: first(InboxKind::FeedbackUnsolved),
            at: now,
        }
    }

    /// A page of one list of the inbox: at most `limit` items from `offset` on, in the list's
    /// order (the lists are computed afresh: a page may repeat or skip an item that moved).
    #[must_use]
    pub fn inbox_page(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
        kind: InboxKind,
        offset: usize,
        limit: usize,
    ) -> InboxList {
        page(self.inbox_lists(actor, now).take(kind), offset, limit)
    }

    fn inbox_lists(&self, actor: &Actor, now: DateTime<Utc>) -> Lists {
        let now_ms = to_ms(now);
        let scope = self.scope(actor);
        let verifies = roles_for(Action::Verify).contains(&actor.role);
        let due = self.reinspections_due(&scope, now);
        let table = self.categories();
        let mine = actor.user.and_then(|u| interned(u.0));
        let (mut tasks, mut escalations, mut to_verify) = (Vec::new(), Vec::new(), Vec::new());
        {
            let open = Filter::default().with_statuses(StatusSet::of([
                Status::Dispatched,
                Status::Escalated,
                Status::Rectified,
            ]));
            let zones = self.zones();
            let g = self.problems();
            for (id, r) in g.map.iter() {
                if !open.statuses.contains(r.status) {
                    continue;
                }
                let assigned = mine.is_some_and(|k| r.assignee_key() == k);
                match r.status {
                    Status::Dispatched | Status::Escalated if assigned => {
                        tasks.push(item(*id, r, &table, now_ms));
                    }
                    Status::Escalated if verifies && scope.contains(&zones, r) => {
                        escalations.push(item(*id, r, &table, now_ms));
                    }
                    Status::Rectified if verifies && scope.contains(&zones, r) => {
                        to_verify.push(item(*id, r, &table, now_ms));
                    }
                    _ => {}
                }
            }
        }
        tasks.sort_by(by_urgency);
        escalations.sort_by(by_urgency);
        to_verify.sort_by_key(|a| (a.deadline, a.id));
        let rework: Vec<InboxItem> = tasks
            .iter()
            .filter(|t| t.rework_count > 0 && t.status == Status::Dispatched)
            .cloned()
            .collect();
        let feedback_unsolved = if verifies {
            self.unsolved_in(&scope, &table, now_ms)
        } else {
            Vec::new()
        };
        let reinspections = {
            let g = self.problems();
            due.into_iter()
                .filter_map(|d| {
                    let r = g.map.get(&d.id)?;
                    let mut i = item(d.id, r, &table, now_ms);
                    i.closed_at = Some(d.closed_at);
                    i.due_at = Some(d.due_at);
                    Some(i)
                })
                .collect()
        };
        Lists {
            tasks,
            rework,
            reinspections,
            escalations,
            to_verify,
            feedback_unsolved,
        }
    }

    /// Closed problems in `scope` whose reporter said "not solved", the longest waiting first.
    fn unsolved_in(
        &self,
        scope: &crate::scope::Scope,
        table: &CategoryTable,
        now_ms: i64,
    ) -> Vec<InboxItem> {
        let ids = self.feedback_unsolved();
        let zones = self.zones();
        let g = self.problems();
        let mut rows: Vec<(i64, InboxItem)> = ids
            .into_iter()
            .filter_map(|id| {
                let r = g.map.get(&id)?;
                (r.status == Status::Closed && scope.contains(&zones, r))
                    .then(|| (r.updated_ms, item(id, r, table, now_ms)))
            })
            .collect();
        rows.sort_by_key(|(at, i)| (*at, i.id));
        rows.into_iter().map(|(_, i)| i).collect()
    }

    /// The problems `user` reported, newest first (at most [`MY_REPORTS_MAX`]), and how many
    /// there are.
    #[must_use]
    pub fn reports_of(&self, user: civmap_domain::UserId) -> (Vec<ProblemId>, usize) {
        // Compared by interned number: no id lookup per record.
        let Some(key) = interned(user.0) else {
            return (Vec::new(), 0);
        };
        let g = self.problems();
        let mut mine: Vec<(i64, ProblemId)> = g
            .map
            .iter()
            .filter(|(_, r)| r.reporter_key() == key)
            .map(|(id, r)| (r.reported_ms, *id))
            .collect();
        mine.sort_unstable_by(|a, b| b.cmp(a));
        let matched = mine.len();
        let ids = mine
            .into_iter()
            .take(MY_REPORTS_MAX)
            .map(|(_, id)| id)
            .collect();
        (ids, matched)
    }
}
