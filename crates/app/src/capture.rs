//! When and how precisely a report was captured on the phone: `captured_at` (the photo taken,
//! the form filled — maybe hours before a queued report reaches the server) and the GPS
//! accuracy of its position. Kept in the report's `created` event beside the server's own
//! received time (the event's `at`, the problem's `reported_at`), so that the office can tell a
//! report made in a basement this morning from one made just now.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use crate::error::ServiceError;
use crate::time::rfc3339;

/// How far in the future `captured_at` may be: phone clocks run a little ahead.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(10);
/// How old `captured_at` may be: a phone that stays offline longer than this sends a report the
/// office can no longer act on as "current" (and a wrong clock is more likely than such a wait).
pub const MAX_CAPTURE_AGE: Duration = Duration::days(30);
/// The largest GPS accuracy accepted, metres: a position known to 10 km is no position.
pub const MAX_ACCURACY_M: f64 = 10_000.0;

/// The event data keys.
pub const CAPTURED_AT_KEY: &str = "captured_at";
pub const ACCURACY_KEY: &str = "accuracy_m";

/// What the phone says of the capture; both optional.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Capture {
    pub captured_at: Option<DateTime<Utc>>,
    pub accuracy_m: Option<f64>,
}

impl Capture {
    /// Checks the capture against `now` (the server's received time) and writes it into the
    /// event data.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] naming `captured_at` (in the future beyond
    /// [`MAX_CLOCK_SKEW`], older than [`MAX_CAPTURE_AGE`]) or `accuracy_m` (not within 0 to
    /// [`MAX_ACCURACY_M`]).
    pub fn record(
        &self,
        now: DateTime<Utc>,
        data: &mut Map<String, Value>,
    ) -> Result<(), ServiceError> {
        if let Some(at) = self.captured_at {
            if at > now + MAX_CLOCK_SKEW {
                return Err(ServiceError::invalid(
                    CAPTURED_AT_KEY,
                    format!(
                        "{} is in the future (more than {} minutes ahead of the server)",
                        rfc3339(at),
                        MAX_CLOCK_SKEW.num_minutes()
                    ),
                ));
            }
            if at < now - MAX_CAPTURE_AGE {
                return Err(ServiceError::invalid(
                    CAPTURED_AT_KEY,
                    format!(
                        "{} is more than {} days ago",
                        rfc3339(at),
                        MAX_CAPTURE_AGE.num_days()
                    ),
                ));
            }
            data.insert(CAPTURED_AT_KEY.into(), rfc3339(at).into());
        }
        if let Some(a) = self.accuracy_m {
            if !(0.0..=MAX_ACCURACY_M).contains(&a) {
                return Err(ServiceError::invalid(
                    ACCURACY_KEY,
                    format!("{a} is not within 0 to {MAX_ACCURACY_M} m"),
                ));
            }
            data.insert(ACCURACY_KEY.into(), ((a * 10.0).round() / 10.0).into());
        }
        Ok(())
    }

    /// The capture read back from a `created` event's data.
    #[must_use]
    pub fn of_event(data: &Value) -> Self {
        Self {
            captured_at: data
                .get(CAPTURED_AT_KEY)
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc)),
            accuracy_m: data.get(ACCURACY_KEY).and_then(Value::as_f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_are_checked_against_the_server_clock() {
        let now = Utc::now();
        let mut data = Map::new();
        let ok = Capture {
            captured_at: Some(now - Duration::hours(3)),
            accuracy_m: Some(12.34),
        };
        ok.record(now, &mut data).unwrap();
        assert_eq!(data[ACCURACY_KEY], 12.3);
        assert_eq!(
            Capture::of_event(&Value::Object(data.clone())).accuracy_m,
            Some(12.3)
        );
        let future = Capture {
            captured_at: Some(now + Duration::hours(1)),
            ..Capture::default()
        };
        let e = future.record(now, &mut data).unwrap_err();
        assert!(e.to_string().starts_with("captured_at"), "{e}");
        let old = Capture {
            captured_at: Some(now - Duration::days(31)),
            ..Capture::default()
        };
        assert!(old.record(now, &mut data).is_err());
        let far = Capture {
            accuracy_m: Some(10_001.0),
            ..Capture::default()
        };
        let e = far.record(now, &mut data).unwrap_err();
        assert!(e.to_string().starts_with("accuracy_m"), "{e}");
        assert!(
            Capture {
                accuracy_m: Some(f64::NAN),
                ..Capture::default()
            }
            .record(now, &mut data)
            .is_err()
        );
    }
}
