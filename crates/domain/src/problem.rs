//! A problem point: something visible that must be fixed, at a place.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::case::CaseNo;
use crate::category::CategoryTable;
use crate::geo::LonLat;
use crate::status::{Action, Status, TransitionError};
use crate::validation::{ValidationError, validate_text};
use crate::zone::ZoneId;

/// Longest description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// A problem's id: a UUIDv7, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProblemId(pub Uuid);

impl ProblemId {
    /// A new time-ordered id.
    #[must_use]
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for ProblemId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ProblemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ProblemId {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s)
            .map(ProblemId)
            .map_err(|_| ValidationError::Invalid {
                field: "id",
                message: format!("{s:?} is not a UUID"),
            })
    }
}

/// A user's id (UUIDv7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub Uuid);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How serious a problem is. Weights multiply heat scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Severity {
    Low = 1,
    Medium = 2,
    High = 3,
    /// A safety risk (fire lane blocked, flying-wire charging): must be visited first.
    Critical = 4,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// Multiplier in heat scores.
    #[must_use]
    pub fn weight(self) -> f64 {
        match self {
            Severity::Low => 0.5,
            Severity::Medium => 1.0,
            Severity::High => 1.5,
            Severity::Critical => 2.5,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The word a person reads on a print or in a spreadsheet (the web front end's dictionary
    /// says the same).
    #[must_use]
    pub fn name_zh(self) -> &'static str {
        match self {
            Severity::Low => "轻微",
            Severity::Medium => "一般",
            Severity::High => "较重",
            Severity::Critical => "严重",
        }
    }

    /// Compact code `1..=4`, ordered by seriousness.
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }

    #[must_use]
    pub fn from_code(code: u8) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.code() == code)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownValue {
                field: "severity",
                value: s.to_owned(),
                allowed: Severity::ALL.map(Severity::as_str).join(", "),
            })
    }
}

/// A problem point as stored. Times are UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub id: ProblemId,
    /// The case number people read (`CM261207-0003`); `None` until the store numbers it when it
    /// first writes the problem.
    #[serde(default)]
    pub case_no: Option<CaseNo>,
    /// Where it is in words, from the street's OpenStreetMap data at report time ("四平路1239号附近");
    /// empty when nothing named is near.
    #[serde(default)]
    pub place: String,
    /// WGS-84 position.
    pub location: LonLat,
    /// Category code (see [`CategoryTable`]).
    pub category: String,
    pub severity: Severity,
    pub status: Status,
    pub description: String,
    pub reported_at: DateTime<Utc>,
    /// Who reported it; `None` for imported records.
    pub reporter: Option<UserId>,
    /// Last change of any kind.
    pub updated_at: DateTime<Utc>,
    /// When rectification is due, set on dispatch.
    pub deadline: Option<DateTime<Utc>>,
    /// The chief it is dispatched to.
    pub assignee: Option<UserId>,
    /// The zone through which it was dispatched.
    pub zone: Option<ZoneId>,
    /// How often a rectification was rejected (返工).
    pub rework_count: u32,
    /// The closed problem this one is a recurrence of (回潮).
    pub recurrence_of: Option<ProblemId>,
    /// The problem this duplicate was merged into.
    pub merged_into: Option<ProblemId>,
    /// Incremented by every change; a write naming a stale version is a conflict.
    pub version: i64,
}

/// A report as it arrives, before validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewProblem {
    /// Longitude in WGS-84 degrees.
    pub lon: f64,
    /// Latitude in WGS-84 degrees.
    pub lat: f64,
    pub category: String,
    #[serde(default = "default_severity")]
    pub severity: Severity,
    #[serde(default)]
    pub description: String,
}

fn default_severity() -> Severity {
    Severity::Medium
}

impl NewProblem {
    /// Validates the report against the category table and builds the problem, status
    /// `reported`, at time `now`.
    pub fn validate(
        self,
        categories: &CategoryTable,
        reporter: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Problem, ValidationError> {
        let location = LonLat::new(self.lon, self.lat)?;
        categories.id(&self.category)?;
        let description = validate_text(
            "description",
            &self.description,
            MAX_DESCRIPTION_CHARS,
            false,
        )?;
        Ok(Problem {
            id: ProblemId::new(),
            case_no: None,
            place: String::new(),
            location,
            category: self.category,
            severity: self.severity,
            status: Status::Reported,
            description,
            reported_at: now,
            reporter,
            updated_at: now,
            deadline: None,
            assignee: None,
            zone: None,
            rework_count: 0,
            recurrence_of: None,
            merged_into: None,
            version: 1,
        })
    }
}

impl Problem {
    /// Applies a lifecycle action at `now`: checks the transition, counts rework on `reject`,
    /// bumps the version. Assignment, deadlines and links are set by the caller (the workflow
    /// decides them), so this stays the single place where the status changes.
    pub fn transition(
        &mut self,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.status = self.status.apply(action)?;
        if action == Action::Reject {
            self.rework_count += 1;
        }
        self.updated_at = now;
        self.version += 1;
        Ok(())
    }

    /// Whether it is open and past its deadline at `now`.
    #[must_use]
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status.is_open() && self.deadline.is_some_and(|d| d < now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(lon: f64, lat: f64, cat: &str, desc: &str) -> NewProblem {
        NewProblem {
            lon,
            lat,
            category: cat.into(),
            severity: Severity::Medium,
            description: desc.into(),
        }
    }

    #[test]
    fn validation_names_the_field() {
        let t = CategoryTable::builtin();
        let now = Utc::now();
        let p = report(121.5, 31.28, "garbage", " 垃圾堆 ")
            .validate(&t, None, now)
            .unwrap();
        assert_eq!(p.description, "垃圾堆");
        assert_eq!(p.status, Status::Reported);
        let cases = [
            (report(f64::NAN, 31.0, "garbage", ""), "lon"),
            (report(121.0, -95.0, "garbage", ""), "lat"),
            (report(121.0, 31.0, "graffiti", ""), "category"),
            (
                report(121.0, 31.0, "garbage", &"很".repeat(2001)),
                "description",
            ),
        ];
        for (r, field) in cases {
            assert_eq!(r.validate(&t, None, now).unwrap_err().field(), field);
        }
    }

    #[test]
    fn transition_counts_rework_and_versions() {
        let t = CategoryTable::builtin();
        let now = Utc::now();
        let mut p = report(121.5, 31.28, "garbage", "")
            .validate(&t, None, now)
            .unwrap();
        for a in [
            Action::Dispatch,
            Action::Rectify,
            Action::Reject,
            Action::Rectify,
        ] {
            p.transition(a, now).unwrap();
        }
        assert_eq!(p.rework_count, 1);
        assert_eq!(p.version, 5);
        assert!(p.transition(Action::Recur, now).is_err());
        assert_eq!(p.version, 5, "a refused transition changes nothing");
    }

    #[test]
    fn ids_are_time_ordered() {
        let a = ProblemId::new();
        let b = ProblemId::new();
        assert!(a < b);
        assert_eq!(a.to_string().parse::<ProblemId>().unwrap(), a);
    }
}
