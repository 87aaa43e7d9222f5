//! The crate's error type.

use civmap_domain::{ProblemId, ZoneId};

/// Everything the index can refuse. Each variant names what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndexError {
    /// `insert` or `bulk_load` got an id the index already holds.
    #[error("problem {0} is already in the index")]
    DuplicateProblem(ProblemId),
    /// `update`, `remove` or a lookup named an id the index does not hold.
    #[error("problem {0} is not in the index")]
    UnknownProblem(ProblemId),
    /// `ZoneIndex::insert` got an id it already holds.
    #[error("zone {0} is already in the zone index")]
    DuplicateZone(ZoneId),
    /// A zone id that the zone index does not hold.
    #[error("zone {0} is not in the zone index")]
    UnknownZone(ZoneId),
    /// A zone geometry that cannot be indexed.
    #[error("zone {zone}: {reason}")]
    InvalidZoneGeometry { zone: ZoneId, reason: String },
    /// A bounding box that is not finite, not ordered or outside lon [-180, 180] / lat [-90, 90].
    #[error("invalid bounding box: {0}")]
    InvalidBBox(String),
    /// A radius that is negative, NaN or infinite (metres).
    #[error("radius must be a finite number of metres >= 0, got {0}")]
    InvalidRadius(f64),
    /// A square or hexagon grid that cannot be built (cell size, anchor latitude).
    #[error("invalid grid: {0}")]
    InvalidGrid(String),
    /// More problems than the index can number (2³² − 1).
    #[error("the index holds at most 4,294,967,295 problems")]
    TooManyProblems,
    /// A polygon given to a query with a non-finite coordinate.
    #[error("polygon has a non-finite coordinate")]
    InvalidPolygon,
}
