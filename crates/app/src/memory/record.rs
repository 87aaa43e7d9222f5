//! The in-memory copy of a problem that reads answer from.
//!
//! A [`Record`] is a compact [`Problem`] of 120 bytes: the category as its table id, times as
//! Unix milliseconds, user and zone ids interned as `u32`, the rare links boxed, the description
//! as a boxed string.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use civmap_domain::{
    CaseNo, CategoryId, CategoryTable, LonLat, Problem, ProblemId, Severity, Status, UserId, ZoneId,
};
use parking_lot::RwLock;
use uuid::Uuid;

use crate::time::{from_ms, to_ms};

/// A problem as held in memory. Conversions to and from [`Problem`] are lossless for times
/// with millisecond precision (the server truncates times to milliseconds when it creates them).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub lon: f64,
    pub lat: f64,
    pub version: i64,
    pub reported_ms: i64,
    pub updated_ms: i64,
    /// `i64::MIN` when there is no deadline.
    pub deadline_ms: i64,
    pub category: CategoryId,
    pub severity: Severity,
    pub status: Status,
    pub rework_count: u32,
    pub description: Box<str>,
    /// Where it is in words (see [`Problem::place`]); usually empty or short.
    pub place: Box<str>,
    /// The case number's day (`yyMMdd`) and sequence; 0 and 0 before the store numbered it.
    case_day: u32,
    case_seq: u32,
    /// Interned ids (see [`intern`]); 0 is none.
    reporter: u32,
    assignee: u32,
    zone: u32,
    /// Recurrence and merge links, rare enough to live behind a pointer.
    links: Option<Box<Links>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Links {
    recurrence_of: Option<Uuid>,
    merged_into: Option<Uuid>,
}

/// `deadline_ms` of a problem without a deadline.
pub const NO_DEADLINE: i64 = i64::MIN;

/// The ids of users and zones held by records, numbered from 1. Shared by the process (an id
/// means the same everywhere), append-only, and small: one entry per user or zone ever seen.
#[derive(Debug, Default)]
struct Interner {
    ids: Vec<Uuid>,
    numbers: HashMap<Uuid, u32>,
}

static INTERNED: LazyLock<RwLock<Interner>> = LazyLock::new(RwLock::default);

/// The number of an id (0 for none), adding it when new.
fn intern(id: Option<Uuid>) -> u32 {
    let Some(id) = id else {
        return 0;
    };
    if let Some(&n) = INTERNED.read().numbers.get(&id) {
        return n;
    }
    let mut w = INTERNED.write();
    if let Some(&n) = w.numbers.get(&id) {
        return n;
    }
    w.ids.push(id);
    let n = u32::try_from(w.ids.len()).unwrap_or(u32::MAX);
    w.numbers.insert(id, n);
    n
}

/// The number of an id already interned, without adding it (`None` when no record ever held
/// it, so no record can match it).
pub fn interned(id: Uuid) -> Option<u32> {
    INTERNED.read().numbers.get(&id).copied()
}

/// The id with this number (`None` for 0).
fn resolve(n: u32) -> Option<Uuid> {
    if n == 0 {
        return None;
    }
    INTERNED.read().ids.get(n as usize - 1).copied()
}

impl Record {
    /// The compact form of `p`; `None` if its category is not in `table`.
    #[must_use]
    pub fn from_problem(p: &Problem, table: &CategoryTable) -> Option<Record> {
        Self::build(p, p.description.clone().into_boxed_str(), table)
    }

    /// [`Record::from_problem`] taking the problem, so its description moves instead of being
    /// copied (at start-up, a million copies would leave a million holes in the heap).
    #[must_use]
    pub fn from_owned(mut p: Problem, table: &CategoryTable) -> Option<Record> {
        let description = std::mem::take(&mut p.description).into_boxed_str();
        Self::build(&p, description, table)
    }

    fn build(p: &Problem, description: Box<str>, table: &CategoryTable) -> Option<Record> {
        let (case_day, case_seq) = p.case_no.map_or((0, 0), |c| (c.day, c.seq));
        Some(Record {
            lon: p.location.lon(),
            lat: p.location.lat(),
            version: p.version,
            reported_ms: to_ms(p.reported_at),
            updated_ms: to_ms(p.updated_at),
            deadline_ms: p.deadline.map_or(NO_DEADLINE, to_ms),
            category: table.id(&p.category).ok()?,
            severity: p.severity,
            status: p.status,
            rework_count: p.rework_count,
            description,
            place: p.place.as_str().into(),
            case_day,
            case_seq,
            reporter: intern(p.reporter.map(|u| u.0)),
            assignee: intern(p.assignee.map(|u| u.0)),
            zone: intern(p.zone.map(|z| z.0)),
            links: (p.recurrence_of.is_some() || p.merged_into.is_some()).then(|| {
                Box::new(Links {
                    recurrence_of: p.recurrence_of.map(|x| x.0),
                    merged_into: p.merged_into.map(|x| x.0),
                })
            }),
        })
    }

    /// The full problem again.
    #[must_use]
    pub fn to_problem(&self, id: ProblemId, table: &CategoryTable) -> Problem {
        Problem {
            id,
            case_no: self.case_no(),
            place: self.place.to_string(),
            location: self.location(),
            category: self.category_code(table).to_owned(),
            severity: self.severity,
            status: self.status,
            description: self.description.to_string(),
            reported_at: from_ms(self.reported_ms),
            reporter: self.reporter().map(UserId),
            updated_at: from_ms(self.updated_ms),
            deadline: self.deadline(),
            assignee: self.assignee().map(UserId),
            zone: self.zone().map(ZoneId),
            rework_count: self.rework_count,
            recurrence_of: self.recurrence_of().map(ProblemId),
            merged_into: self.merged_into().map(ProblemId),
            version: self.version,
        }
    }

    /// Its case number, once stored.
    #[must_use]
    pub fn case_no(&self) -> Option<CaseNo> {
        (self.case_seq != 0).then_some(CaseNo {
            day: self.case_day,
            seq: self.case_seq,
        })
    }

    /// Who reported it.
    #[must_use]
    pub fn reporter(&self) -> Option<Uuid> {
        resolve(self.reporter)
    }

    /// The chief it is dispatched to.
    #[must_use]
    pub fn assignee(&self) -> Option<Uuid> {
        resolve(self.assignee)
    }

    /// The zone it was dispatched through.
    #[must_use]
    pub fn zone(&self) -> Option<Uuid> {
        resolve(self.zone)
    }

    /// The interned number of the reporter (0: none); compare with [`interned`].
    #[must_use]
    pub fn reporter_key(&self) -> u32 {
        self.reporter
    }

    /// The interned number of the assignee (0: none); compare with [`interned`].
    #[must_use]
    pub fn assignee_key(&self) -> u32 {
        self.assignee
    }

    /// The interned number of the zone dispatched through (0: none).
    #[must_use]
    pub fn zone_key(&self) -> u32 {
        self.zone
    }

    /// The closed problem this one is a recurrence of.
    #[must_use]
    pub fn recurrence_of(&self) -> Option<Uuid> {
        self.links.as_ref().and_then(|l| l.recurrence_of)
    }

    /// The problem this duplicate was merged into.
    #[must_use]
    pub fn merged_into(&self) -> Option<Uuid> {
        self.links.as_ref().and_then(|l| l.merged_into)
    }

    /// The WGS-84 position.
    #[must_use]
    pub fn location(&self) -> LonLat {
        // Records are only built from validated problems, whose positions are valid.
        LonLat::new(self.lon, self.lat)
            .or_else(|_| LonLat::new(0.0, 0.0))
            .unwrap_or_else(|_| unreachable!("0, 0 is a valid position"))
    }

    /// The deadline, if dispatched with one.
    #[must_use]
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        (self.deadline_ms != NO_DEADLINE).then(|| from_ms(self.deadline_ms))
    }

    /// The category code (`?` if the table lost it, which the server never does).
    #[must_use]
    pub fn category_code<'t>(&self, table: &'t CategoryTable) -> &'t str {
        table.get(self.category).map_or("?", |c| c.code.as_str())
    }

    /// Open and past its deadline at `now_ms`.
    #[must_use]
    pub fn is_overdue(&self, now_ms: i64) -> bool {
        self.status.is_open() && self.deadline_ms != NO_DEADLINE && self.deadline_ms < now_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::now_ms;
    use civmap_domain::NewProblem;

    fn sample(table: &CategoryTable, cat: &str) -> Problem {
        NewProblem {
            lon: 121.497_123_4,
            lat: 31.285_456_7,
            category: cat.into(),
            severity: Severity::High,
            description: "楼道堆物".into(),
        }
        .validate(table, Some(UserId::new()), now_ms())
        .unwrap()
    }

    #[test]
    fn round_trip_through_record() {
        let t = CategoryTable::builtin();
        let mut p = sample(&t, "garbage");
        p.deadline = Some(now_ms());
        p.zone = Some(ZoneId::new());
        let r = Record::from_problem(&p, &t).unwrap();
        assert_eq!(r.to_problem(p.id, &t), p);
        p.merged_into = Some(ProblemId::new());
        let r = Record::from_problem(&p, &t).unwrap();
        assert_eq!(r.to_problem(p.id, &t), p);
        assert_eq!(
            std::mem::size_of::<Record>(),
            120,
            "the memory budget counts on it"
        );
    }
}
