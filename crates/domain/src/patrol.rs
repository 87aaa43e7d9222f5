//! Patrols (巡查): a chief walks its zones with the phone recording the track, marks points
//! "checked, clean" (已检查，无问题) on the way, and ends the patrol. A check-in may also be made
//! without a patrol (from a point code). Positions are WGS-84, lon/lat order; lengths metres;
//! times UTC.
//!
//! ```
//! use chrono::{Duration, Utc};
//! use civmap_domain::patrol::{TrackPoint, validate_track};
//! let now = Utc::now();
//! let p = |lon: f64, s: i64| TrackPoint { lon, lat: 31.28, at: now - Duration::seconds(60 - s), accuracy_m: 8.0 };
//! assert!(validate_track(&[p(121.50, 0), p(121.501, 30)], 0, now).is_ok());
//! // A fix 10 minutes in the future is refused.
//! let late = TrackPoint { at: now + Duration::minutes(10), ..p(121.50, 0) };
//! assert!(validate_track(&[late], 0, now).is_err());
//! ```

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::problem::UserId;
use crate::validation::ValidationError;
use crate::zone::ZoneId;

/// Most positions one patrol keeps. The phone keeps a fix only when it moved 10 m or 30 s
/// passed, so a four-hour walk is about 2,000 fixes; ten times that refuses a runaway phone
/// without ever cutting a real patrol.
pub const MAX_TRACK_POINTS: usize = 20_000;
/// How far ahead of the server's clock a phone's time may be: phone clocks drift by seconds to
/// a minute or two; more is a wrong clock, not a patrol.
pub const MAX_FUTURE_SKEW: Duration = Duration::minutes(5);
/// The worst accuracy a stored fix may claim, metres: beyond this it tells nothing of which
/// road was walked (the phone already drops fixes worse than 50 m).
pub const MAX_TRACK_ACCURACY_M: f64 = 1_000.0;
/// Longest check-in note, characters.
pub const MAX_CHECK_IN_NOTE_CHARS: usize = 500;

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

id_type!(
    /// A patrol's id (UUIDv7; a phone that starts a patrol offline makes it).
    PatrolId
);
id_type!(
    /// A check-in's id (UUIDv7).
    CheckInId
);

/// One recorded position of a patrol's track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrackPoint {
    pub lon: f64,
    pub lat: f64,
    /// When the phone took the fix.
    pub at: DateTime<Utc>,
    /// The fix's accuracy as the phone reports it (radius, metres).
    pub accuracy_m: f64,
}

/// A patrol: who walked, when, and the track.
#[derive(Debug, Clone, PartialEq)]
pub struct Patrol {
    pub id: PatrolId,
    pub chief: UserId,
    /// The chief's street code when it started (`""` for none): the street office of that
    /// street sees it.
    pub street: String,
    pub started_at: DateTime<Utc>,
    /// `None` while it is under way.
    pub ended_at: Option<DateTime<Utc>>,
    /// The positions in time order.
    pub track: Vec<TrackPoint>,
}

/// A zone marked "checked, clean" (已检查，无问题), during a patrol or from a point code.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckIn {
    pub id: CheckInId,
    pub zone: ZoneId,
    pub patrol: Option<PatrolId>,
    pub chief: UserId,
    pub at: DateTime<Utc>,
    /// Where the phone was, if it knew.
    pub location: Option<(f64, f64)>,
    pub photos: Vec<String>,
    pub note: String,
}

/// `Invalid` naming `field` unless `at` is no later than `now` plus [`MAX_FUTURE_SKEW`].
pub fn check_not_future(
    field: &'static str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ValidationError> {
    if at > now + MAX_FUTURE_SKEW {
        return Err(ValidationError::Invalid {
            field,
            message: format!(
                "{at} is more than {} minutes after the server's clock ({now})",
                MAX_FUTURE_SKEW.num_minutes()
            ),
        });
    }
    Ok(())
}

/// Checks positions to be appended to a track that holds `already` positions: at most
/// [`MAX_TRACK_POINTS`] in all, positions on the globe, accuracy in `0..=MAX_TRACK_ACCURACY_M`,
/// times not in the future beyond [`MAX_FUTURE_SKEW`] and never going backwards.
pub fn validate_track(
    points: &[TrackPoint],
    already: usize,
    now: DateTime<Utc>,
) -> Result<(), ValidationError> {
    if already + points.len() > MAX_TRACK_POINTS {
        return Err(ValidationError::Invalid {
            field: "points",
            message: format!(
                "a patrol keeps at most {MAX_TRACK_POINTS} positions ({already} stored, {} sent)",
                points.len()
            ),
        });
    }
    let mut last: Option<DateTime<Utc>> = None;
    for p in points {
        crate::geo::LonLat::new(p.lon, p.lat)?;
        if !(p.accuracy_m.is_finite() && (0.0..=MAX_TRACK_ACCURACY_M).contains(&p.accuracy_m)) {
            return Err(ValidationError::OutOfRange {
                field: "accuracy_m",
                value: p.accuracy_m,
                min: 0.0,
                max: MAX_TRACK_ACCURACY_M,
            });
        }
        check_not_future("points", p.at, now)?;
        if last.is_some_and(|l| p.at < l) {
            return Err(ValidationError::Invalid {
                field: "points",
                message: format!("positions go back in time at {}", p.at),
            });
        }
        last = Some(p.at);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(lon: f64, lat: f64, at: DateTime<Utc>, accuracy_m: f64) -> TrackPoint {
        TrackPoint {
            lon,
            lat,
            at,
            accuracy_m,
        }
    }

    #[test]
    fn track_limits_are_enforced() {
        let now = Utc::now();
        let ok = fix(121.5, 31.28, now, 5.0);
        assert!(validate_track(&[ok], 0, now).is_ok());
        assert!(
            validate_track(&[ok], MAX_TRACK_POINTS, now).is_err(),
            "count"
        );
        assert!(validate_track(&[fix(181.0, 31.0, now, 5.0)], 0, now).is_err());
        assert!(validate_track(&[fix(121.5, 91.0, now, 5.0)], 0, now).is_err());
        assert!(validate_track(&[fix(121.5, 31.0, now, -1.0)], 0, now).is_err());
        assert!(validate_track(&[fix(121.5, 31.0, now, f64::NAN)], 0, now).is_err());
        let skew = now + MAX_FUTURE_SKEW;
        assert!(validate_track(&[fix(121.5, 31.0, skew, 0.0)], 0, now).is_ok());
        let beyond = skew + Duration::seconds(1);
        assert!(validate_track(&[fix(121.5, 31.0, beyond, 0.0)], 0, now).is_err());
        let back = [ok, fix(121.5, 31.28, now - Duration::seconds(1), 5.0)];
        assert!(validate_track(&back, 0, now).is_err(), "time order");
    }
}
