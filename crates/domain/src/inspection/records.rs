//! What a mock inspection stores: test points, inspections (a drawn sample and its
//! inspector), the results of items at points, and rectification notices (整改通知单).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::geo::LonLat;
use crate::problem::{ProblemId, UserId};
use crate::zone::ZoneId;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id.
            #[must_use]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

/// One stratum of a sample: the points of `kind`, all of them (`count: None`) or `count`
/// drawn at random.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stratum {
    pub kind: String,
    pub count: Option<usize>,
}

id_type!(
    /// A test point's id (UUIDv7).
    TestPointId
);
id_type!(
    /// An inspection's id (UUIDv7).
    InspectionId
);
id_type!(
    /// A rectification notice's id (UUIDv7); people read its number.
    NoticeId
);

/// A test point (测评点位): a place the assessment visits, of a kind with its checklist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestPoint {
    pub id: TestPointId,
    /// A kind code of the checklists (`school_surroundings`...).
    pub kind: String,
    pub name: String,
    pub location: LonLat,
    /// The zone the point stands for (a school's surroundings zone), if any.
    pub zone: Option<ZoneId>,
    /// The street code of the zone containing the point (`""` outside every coded zone).
    pub street: String,
    /// The responsible unit (property company, school, market operator); may be empty.
    pub owner: String,
    pub created_at: DateTime<Utc>,
}

/// Where an inspection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InspectionStatus {
    /// Drawn; the inspector walks it.
    Open,
    /// Finished: its results are final.
    Done,
}

impl InspectionStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            InspectionStatus::Open => "open",
            InspectionStatus::Done => "done",
        }
    }

    /// The status named `s`, if any.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(InspectionStatus::Open),
            "done" => Some(InspectionStatus::Done),
            _ => None,
        }
    }
}

/// A mock inspection (模拟测评): a sample of test points drawn with a seed, walked by one
/// inspector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    pub id: InspectionId,
    pub name: String,
    /// How the sample was drawn.
    pub strata: Vec<Stratum>,
    /// The seed of the draw: the same seed over the same points draws the same sample.
    pub seed: u64,
    /// The drawn points, in walking order.
    pub sample: Vec<TestPointId>,
    pub assignee: Option<UserId>,
    pub status: InspectionStatus,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One item scored at one point of an inspection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectionResult {
    pub inspection: InspectionId,
    pub point: TestPointId,
    /// The checklist item's code.
    pub item: String,
    pub pass: bool,
    /// The item's weight when it was scored.
    pub weight: f64,
    /// Photo ids (a fail's evidence).
    pub photos: Vec<String>,
    /// The problem a fail created.
    pub problem: Option<ProblemId>,
    pub actor: Option<UserId>,
    pub at: DateTime<Utc>,
}

/// A rectification notice (整改通知单) to a responsible unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    pub id: NoticeId,
    /// The year the number runs in (China Standard Time).
    pub year: i32,
    /// The place in the year's numbering, from 1; never reused.
    pub seq: u32,
    pub problem: Option<ProblemId>,
    pub point: Option<TestPointId>,
    /// The responsible unit it is addressed to.
    pub unit: String,
    /// Where the problem is, as people name it.
    pub place: String,
    /// What is wrong.
    pub wrong: String,
    pub photos: Vec<String>,
    /// Rectify by then (working days after issue, on the calendar).
    pub deadline: DateTime<Utc>,
    pub issued_by: Option<UserId>,
    pub issued_at: DateTime<Utc>,
}

impl Notice {
    /// The number people read and quote: `整改通知 2026-0001`.
    #[must_use]
    pub fn number(&self) -> String {
        notice_number(self.year, self.seq)
    }
}

/// The number of the `seq`-th notice of `year`: `整改通知 2026-0001`.
#[must_use]
pub fn notice_number(year: i32, seq: u32) -> String {
    format!("整改通知 {year}-{seq:04}")
}
