//! Instants as every layer keeps them: UTC, truncated to milliseconds. People read and type
//! dates in China Standard Time (UTC+8, no daylight saving); [`CST`] is that offset.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, SecondsFormat, TimeZone, Utc};

use crate::error::ServiceError;

/// China Standard Time, seconds east of UTC.
pub const CST_OFFSET_S: i32 = 8 * 3600;

/// China Standard Time.
#[must_use]
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(CST_OFFSET_S).unwrap_or_else(|| unreachable!("UTC+8 is a valid offset"))
}

/// Milliseconds since the Unix epoch.
#[must_use]
pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The instant of `ms` milliseconds since the Unix epoch.
#[must_use]
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Now, truncated to whole milliseconds (the precision every layer keeps).
#[must_use]
pub fn now_ms() -> DateTime<Utc> {
    from_ms(Utc::now().timestamp_millis())
}

/// `t` truncated to whole milliseconds.
#[must_use]
pub fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    from_ms(to_ms(t))
}

/// Formats an instant as RFC 3339 UTC with milliseconds, e.g. `2024-05-01T08:00:00.000Z`.
#[must_use]
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// RFC 3339 in China Standard Time (`2026-11-30T00:00:00.000+08:00`): for files people open,
/// where the instant reads as the local time it is.
#[must_use]
pub fn rfc3339_cst(t: DateTime<Utc>) -> String {
    t.with_timezone(&cst())
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The calendar day in China Standard Time of the instant `t`.
#[must_use]
pub fn cst_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&cst()).date_naive()
}

/// The last calendar day (China Standard Time) of a period that ends, exclusive, at `end`: a
/// week from Monday 00:00 to the next Monday 00:00 ends on Sunday.
#[must_use]
pub fn last_day(end: DateTime<Utc>) -> NaiveDate {
    cst_date(end - chrono::Duration::milliseconds(1))
}

/// The first instant of the calendar day `date` in China Standard Time.
#[must_use]
pub fn day_start(date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    cst()
        .from_local_datetime(&midnight)
        .single()
        .map_or_else(|| midnight.and_utc(), |d| d.with_timezone(&Utc))
}

/// The first instant of the calendar month (China Standard Time) holding `t`.
#[must_use]
pub fn month_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let local = t.with_timezone(&cst());
    NaiveDate::from_ymd_opt(local.year(), local.month(), 1).map_or(t, day_start)
}

/// `Invalid` naming `field` (the period's end) when a period ends before it starts: one answer
/// wherever a period or a time range is given.
pub fn check_order(
    field: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if to < from {
        return Err(ServiceError::invalid(
            field,
            "the period ends before it starts",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_start_is_in_china_standard_time() {
        // 2026-03-31T17:00Z is already April 1st, 01:00 in Shanghai.
        let t = DateTime::parse_from_rfc3339("2026-03-31T17:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc3339(month_start(t)), "2026-03-31T16:00:00.000Z");
        let t = DateTime::parse_from_rfc3339("2026-03-31T15:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc3339(month_start(t)), "2026-02-28T16:00:00.000Z");
    }

    #[test]
    fn a_day_starts_at_local_midnight() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert_eq!(rfc3339(day_start(d)), "2026-12-05T16:00:00.000Z");
        assert_eq!(to_ms(from_ms(1_700_000_000_123)), 1_700_000_000_123);
    }
}
