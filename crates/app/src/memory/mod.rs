//! What the service holds in memory, loaded from the store at start and changed only by the
//! commit hook after the store acknowledged a write, so it never holds what the database does
//! not: the problems (compact records and the spatial index over them), the zones and their
//! containment index, the look-back list, the reporters' answers (回访), the scope cache and the live-change type.
//!
//! These are plain data; the behaviour on them lives on [`crate::App`].

pub mod feedback;
pub mod follow_state;
pub mod live;
pub mod lookback;
pub mod problem_map;
pub mod record;
pub mod scope_cache;

use std::collections::{BTreeMap, HashMap};

use civmap_domain::{CaseNo, ProblemId, Zone, ZoneId};
use civmap_index::{ProblemIndex, ZoneIndex};

use self::problem_map::ProblemMap;

/// The problems held in memory: records by id (ordered, for cursor pagination) and the
/// spatial index over them.
#[derive(Debug)]
pub struct Problems {
    pub map: ProblemMap,
    pub index: ProblemIndex,
    /// Case number → id (numbers never change once given).
    pub by_case: HashMap<CaseNo, ProblemId>,
}

impl Problems {
    /// No problems.
    #[must_use]
    pub fn empty() -> Self {
        Self {
            map: ProblemMap::default(),
            index: ProblemIndex::new(),
            by_case: HashMap::new(),
        }
    }
}

/// The zones held in memory and their containment index.
#[derive(Debug)]
pub struct Zones {
    pub map: BTreeMap<ZoneId, Zone>,
    pub index: ZoneIndex,
}

impl Zones {
    /// No zones.
    #[must_use]
    pub fn empty() -> Self {
        Self {
            map: BTreeMap::new(),
            index: ZoneIndex::new(),
        }
    }
}

/// Sizes reported by `/metrics` and `/readyz`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Sizes {
    pub problems: usize,
    pub zones: usize,
    pub pois: usize,
}
