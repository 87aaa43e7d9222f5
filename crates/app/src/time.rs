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

/// `2026-12-07 14:30`: a date and time as a person reads it in a table or a spreadsheet (China
/// Standard Time, to the minute).
#[must_use]
pub fn cst_minute(t: DateTime<Utc>) -> String {
    t.with_timezone(&cst()).format("%Y-%m-%d %H:%M").to_string()
}

/// `09:12`: a clock time in China Standard Time (a printed route sheet's planned times).
#[must_use]
pub fn cst_clock(t: DateTime<Utc>) -> String {
    t.with_timezone(&cst()).format("%H:%M").to_string()
}

/// The next full half hour in China Standard Time after `now` (14:07 → 14:30, 14:30 → 15:00): a
/// team's default departure, time to print the sheet and set out.
#[must_use]
pub fn next_half_hour(now: DateTime<Utc>) -> DateTime<Utc> {
    const HALF_HOUR_MS: i64 = 30 * 60 * 1000;
    // CST is a whole number of hours from UTC, so UTC half hours are CST half hours.
    from_ms((to_ms(now).div_euclid(HALF_HOUR_MS) + 1) * HALF_HOUR_MS)
}

/// `clock` (China Standard Time) on the CST day of `now`.
#[must_use]
pub fn cst_today_at(now: DateTime<Utc>, clock: chrono::NaiveTime) -> DateTime<Utc> {
    cst_date(now)
        .and_time(clock)
        .and_local_timezone(cst())
        .single()
        .map_or(now, |t| t.with_timezone(&Utc))
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

    #[test]
    fn clock_times_and_the_next_half_hour_read_in_china_standard_time() {
        let t = DateTime::parse_from_rfc3339("2026-12-07T06:07:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(cst_minute(t), "2026-12-07 14:07");
        assert_eq!(cst_clock(next_half_hour(t)), "14:30");
        let on = DateTime::parse_from_rfc3339("2026-12-07T06:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(cst_clock(next_half_hour(on)), "15:00");
        let clock = chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap();
        assert_eq!(cst_minute(cst_today_at(t, clock)), "2026-12-07 08:30");
    }
}
