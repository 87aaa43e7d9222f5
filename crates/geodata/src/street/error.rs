//! What can go wrong building a street's zones.

use crate::zones::ZoneError;

/// Errors of building a street's zones.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StreetError {
    /// Building one zone failed (a bad distance, an empty geometry, too many cells).
    #[error(transparent)]
    Zone(#[from] ZoneError),
    /// The grid's cell codes start with the street's code, and none was given.
    #[error("the management grid needs the street's code (e.g. 310110009) for its cell codes")]
    GridWithoutCode,
    /// The grid was asked for without a boundary to lay it over.
    #[error("the management grid needs the street's boundary")]
    GridWithoutBoundary,
    /// No boundary matches.
    #[error("no administrative boundary {wanted} in {place}; it has: {available}")]
    BoundaryNotFound {
        /// What was asked for.
        wanted: String,
        /// Where it was sought.
        place: &'static str,
        /// The boundaries there are (name, level, code).
        available: String,
    },
    /// The boundary is there but is not a closed area (a bbox extract cuts its member ways).
    #[error(
        "the boundary {name} ({element}) is not a closed area in this file: {reason}; take it from a larger extract or a GeoJSON file"
    )]
    BoundaryIncomplete {
        /// Its name.
        name: String,
        /// `osm:relation/<id>`.
        element: String,
        /// Why it is not an area.
        reason: String,
    },
    /// Several boundaries match.
    #[error("several administrative boundaries {wanted}: {matches}; give its code or exact name")]
    BoundaryAmbiguous {
        /// What was asked for.
        wanted: String,
        /// The matches.
        matches: String,
    },
}
