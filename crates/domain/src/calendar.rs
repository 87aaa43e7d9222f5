//! The working-day calendar (工作日历): rectification deadlines are counted in working hours,
//! on working days, in the street office's local time. Weekends are days off, public holidays
//! are days off, and the weekend days worked instead of a holiday (调休上班) are working days.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use civmap_domain::calendar::WorkCalendar;
//! let cal = WorkCalendar::builtin();
//! // Reported on Friday 2026-11-20 at 17:00 in Shanghai (09:00 UTC) with a 4-hour deadline:
//! // one hour on Friday, three on Monday morning.
//! let due = cal.add_working_hours(Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap(), 4);
//! assert_eq!(due, Utc.with_ymd_and_hms(2026, 11, 23, 4, 0, 0).unwrap()); // Monday 12:00 local
//! ```

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Timelike, Utc, Weekday,
};
use serde::Deserialize;

use crate::error::DomainError;

/// When people work: the spans of a working day and which days are working days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    offset: FixedOffset,
    /// Working spans of a day, seconds after local midnight, sorted and disjoint.
    spans: Vec<(u32, u32)>,
    holidays: BTreeSet<NaiveDate>,
    /// Weekend days that are working days (调休).
    workdays: BTreeSet<NaiveDate>,
    /// The years the holiday list covers.
    years: BTreeSet<i32>,
    /// Of those, the years with provisional holidays (the State Council's notice not yet out).
    provisional: BTreeSet<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    #[serde(default = "default_offset")]
    utc_offset: String,
    hours: Vec<String>,
    #[serde(default)]
    holiday: Vec<HolidayFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayFile {
    name: String,
    days: [NaiveDate; 2],
    #[serde(default)]
    workdays: Vec<NaiveDate>,
    /// Computed before the official notice: to be replaced by it.
    #[serde(default)]
    provisional: bool,
}

fn default_offset() -> String {
    "+08:00".to_owned()
}

fn bad(message: impl Into<String>) -> DomainError {
    DomainError::Calendar(message.into())
}

/// `HH:MM` as seconds after midnight (`24:00` allowed as the end of the day).
fn parse_clock(s: &str) -> Option<u32> {
    if s == "24:00" {
        return Some(86_400);
    }
    let t = NaiveTime::parse_from_str(s, "%H:%M").ok()?;
    Some(t.num_seconds_from_midnight())
}

impl WorkCalendar {
    /// The calendar shipped in `data/calendar.toml` (China's 2026 holidays, 09:00–12:00 and
    /// 13:00–18:00 in UTC+8).
    ///
    /// # Panics
    /// Never: the file is checked by this crate's tests.
    #[must_use]
    pub fn builtin() -> Self {
        Self::from_toml(include_str!("../../../data/calendar.toml"))
            .expect("the built-in calendar is valid")
    }

    /// Reads a calendar file (see `data/calendar.toml` for the format). Errors name the entry
    /// that is wrong: an unknown key, a span that ends before it starts or overlaps another,
    /// a holiday whose last day is before its first, a day listed both off and worked.
    pub fn from_toml(text: &str) -> Result<Self, DomainError> {
        let file: CalendarFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let offset: FixedOffset = file.utc_offset.parse().map_err(|_| {
            bad(format!(
                "utc_offset {:?} is not an offset like \"+08:00\"",
                file.utc_offset
            ))
        })?;
        let mut spans = Vec::with_capacity(file.hours.len());
        for h in &file.hours {
            let parsed = h
                .split_once('-')
                .and_then(|(a, b)| Some((parse_clock(a.trim())?, parse_clock(b.trim())?)));
            let Some((a, b)) = parsed else {
                return Err(bad(format!(
                    "hours: {h:?} is not a span like \"09:00-12:00\""
                )));
            };
            if b <= a {
                return Err(bad(format!("hours: {h:?} ends before it starts")));
            }
            if spans.last().is_some_and(|&(_, end)| a < end) {
                return Err(bad(format!(
                    "hours: {h:?} starts before the span before it ends (list spans in order)"
                )));
            }
            spans.push((a, b));
        }
        if spans.is_empty() {
            return Err(bad("hours: a working day needs at least one span"));
        }
        let mut holidays = BTreeSet::new();
        let mut workdays = BTreeSet::new();
        let mut years = BTreeSet::new();
        let mut provisional = BTreeSet::new();
        for hol in &file.holiday {
            let [first, last] = hol.days;
            if last < first {
                return Err(bad(format!(
                    "holiday {:?}: the last day {last} is before the first {first}",
                    hol.name
                )));
            }
            if (last - first).num_days() > 31 {
                return Err(bad(format!(
                    "holiday {:?}: {first} to {last} is longer than a month",
                    hol.name
                )));
            }
            let mut d = first;
            while d <= last {
                holidays.insert(d);
                d += Duration::days(1);
            }
            years.insert(first.year());
            years.insert(last.year());
            if hol.provisional {
                provisional.insert(first.year());
                provisional.insert(last.year());
            }
            for &w in &hol.workdays {
                workdays.insert(w);
            }
        }
        if let Some(d) = holidays.intersection(&workdays).next() {
            return Err(bad(format!(
                "{d} is listed both as a holiday and as a workday"
            )));
        }
        Ok(Self {
            offset,
            spans,
            holidays,
            workdays,
            years,
            provisional,
        })
    }

    /// Whether the holiday list says anything about `year` (a calendar without the current
    /// year counts its holidays as working days: the server warns).
    #[must_use]
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// Whether the holidays of `year` are provisional (computed before the official notice).
    #[must_use]
    pub fn is_provisional(&self, year: i32) -> bool {
        self.provisional.contains(&year)
    }

    /// The local time zone of the calendar.
    #[must_use]
    pub fn offset(&self) -> FixedOffset {
        self.offset
    }

    /// Working seconds in one working day.
    #[must_use]
    pub fn day_seconds(&self) -> u32 {
        self.spans.iter().map(|(a, b)| b - a).sum()
    }

    /// Whether people work on this (local) date.
    #[must_use]
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.workdays.contains(&date) {
            return true;
        }
        if self.holidays.contains(&date) {
            return false;
        }
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The instant `hours` working hours after `start`. Time before the first span, between
    /// spans, after the last and on days off does not count; a start on a day off counts from
    /// the next working day's first span.
    #[must_use]
    pub fn add_working_hours(&self, start: DateTime<Utc>, hours: u32) -> DateTime<Utc> {
        self.add_working_seconds(start, i64::from(hours) * 3600)
    }

    /// [`WorkCalendar::add_working_hours`] in seconds.
    #[must_use]
    pub fn add_working_seconds(&self, start: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
        let local = start.with_timezone(&self.offset).naive_local();
        let mut left = seconds.max(0);
        let mut date = local.date();
        let mut now_s = i64::from(local.time().num_seconds_from_midnight());
        // Sub-second part of the start, kept so that adding 0 hours inside a span is identity.
        let nanos = i64::from(local.nanosecond().min(999_999_999));
        loop {
            if self.is_working_day(date) {
                for &(a, b) in &self.spans {
                    let (a, b) = (i64::from(a), i64::from(b));
                    if now_s >= b {
                        continue;
                    }
                    let from = now_s.max(a);
                    let keep_nanos = from == now_s;
                    let avail = b - from;
                    if left <= avail {
                        let at = date.and_hms_opt(0, 0, 0).unwrap_or_default()
                            + Duration::seconds(from + left)
                            + Duration::nanoseconds(if keep_nanos { nanos } else { 0 });
                        return self.to_utc(at);
                    }
                    left -= avail;
                }
            }
            date += Duration::days(1);
            now_s = 0;
        }
    }

    /// Working seconds from `a` to `b` (0 when `b` is not after `a`): how late an overdue
    /// problem is, in the unit its deadline was given.
    #[must_use]
    pub fn working_seconds_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        if b <= a {
            return 0;
        }
        let la = a.with_timezone(&self.offset).naive_local();
        let lb = b.with_timezone(&self.offset).naive_local();
        let mut total = 0;
        let mut date = la.date();
        while date <= lb.date() {
            if self.is_working_day(date) {
                let lo = if date == la.date() {
                    i64::from(la.time().num_seconds_from_midnight())
                } else {
                    0
                };
                let hi = if date == lb.date() {
                    i64::from(lb.time().num_seconds_from_midnight())
                } else {
                    86_400
                };
                for &(s, e) in &self.spans {
                    let (s, e) = (i64::from(s).max(lo), i64::from(e).min(hi));
                    total += (e - s).max(0);
                }
            }
            date += Duration::days(1);
        }
        total
    }

    /// Monday 00:00 local time of the week holding `t`: where a weekly report starts.
    #[must_use]
    pub fn week_start(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let local = t.with_timezone(&self.offset).date_naive();
        let monday = local - Duration::days(i64::from(local.weekday().num_days_from_monday()));
        self.to_utc(monday.and_hms_opt(0, 0, 0).unwrap_or_default())
    }

    fn to_utc(&self, local: chrono::NaiveDateTime) -> DateTime<Utc> {
        (local - Duration::seconds(i64::from(self.offset.local_minus_utc()))).and_utc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A Shanghai wall-clock time as UTC.
    fn sh(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap() - Duration::hours(8)
    }

    #[test]
    fn the_builtin_file_is_valid_and_covers_2026() {
        let c = WorkCalendar::builtin();
        assert!(c.covers(2026));
        assert!(!c.covers(2031));
        assert_eq!(c.day_seconds(), 8 * 3600);
        // 2026: 9 holiday spans' days off and 6 make-up working days.
        assert_eq!(c.workdays.len(), 6);
        assert!(
            c.workdays
                .iter()
                .all(|d| matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        );
    }

    /// The day of `year` whose lunisolar month and day are `(month, day)` (not a leap month).
    fn lunar(year: i32, month: u8, day: u8) -> NaiveDate {
        let mut d = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
        loop {
            let l = chinese_lunisolar_calendar::LunisolarDate::from_date(d).unwrap();
            if (l.to_lunar_month().to_u8_raw(), l.to_lunar_day().to_u8()) == (month, day) {
                return d;
            }
            d = d.succ_opt().unwrap();
        }
    }

    /// 清明: the solar term near 5 April, by the 21st-century rule `⌊Y × 0.2422 + 4.81⌋ −
    /// ⌊(Y − 1) / 4⌋` with `Y` the year's last two digits.
    fn qingming(year: i32) -> NaiveDate {
        let y = f64::from(year % 100);
        let day = (y * 0.2422 + 4.81).floor() as u32 - ((year % 100 - 1) / 4) as u32;
        NaiveDate::from_ymd_opt(year, 4, day).unwrap()
    }

    #[test]
    fn the_festivals_fall_in_their_holidays_and_2027_is_provisional() {
        let c = WorkCalendar::builtin();
        for year in [2026, 2027] {
            // 除夕 (the day before 初一) and 初一 of the Spring Festival, 端午, 中秋, 清明.
            let spring = lunar(year, 1, 1);
            for d in [
                spring - Duration::days(1),
                spring,
                lunar(year, 5, 5),
                lunar(year, 8, 15),
                qingming(year),
            ] {
                assert!(c.holidays.contains(&d), "{d} is not a holiday in {year}");
            }
        }
        assert_eq!(
            lunar(2027, 1, 1),
            NaiveDate::from_ymd_opt(2027, 2, 6).unwrap()
        );
        assert_eq!(qingming(2026), NaiveDate::from_ymd_opt(2026, 4, 5).unwrap());
        assert!(c.covers(2027) && c.is_provisional(2027));
        assert!(!c.is_provisional(2026));
        // 2027-02-08 (初三, a Monday) is off; 2027-02-09 is a working day again.
        let monday = NaiveDate::from_ymd_opt(2027, 2, 8).unwrap();
        assert!(c.holidays.contains(&monday));
        assert!(!c.holidays.contains(&(monday + Duration::days(1))));
    }

    #[test]
    fn inside_a_day() {
        let c = WorkCalendar::builtin();
        // Tuesday 2026-11-17 09:30 + 2 h = 11:30.
        assert_eq!(
            c.add_working_hours(sh(2026, 11, 17, 9, 30), 2),
            sh(2026, 11, 17, 11, 30)
        );
        // Across lunch: 11:00 + 2 h = 12:00 then 13:00-14:00.
        assert_eq!(
            c.add_working_hours(sh(2026, 11, 17, 11, 0), 2),
            sh(2026, 11, 17, 14, 0)
        );
        // Reported during lunch: counting starts at 13:00.
        assert_eq!(
            c.add_working_hours(sh(2026, 11, 17, 12, 20), 1),
            sh(2026, 11, 17, 14, 0)
        );
        // Reported at night: the next morning.
        assert_eq!(
            c.add_working_hours(sh(2026, 11, 17, 22, 0), 1),
            sh(2026, 11, 18, 10, 0)
        );
        assert_eq!(
            c.add_working_hours(sh(2026, 11, 18, 6, 0), 8),
            sh(2026, 11, 18, 18, 0)
        );
        // Zero hours inside a span: the start itself.
        assert_eq!(
            c.add_working_hours(sh(2026, 11, 17, 10, 0), 0),
            sh(2026, 11, 17, 10, 0)
        );
    }

    #[test]
    fn weekends_do_not_count() {
        let c = WorkCalendar::builtin();
        // Friday 2026-11-20 17:00 + 2 h: 17:00-18:00 Friday, 09:00-10:00 Monday 23rd.
        assert_eq!(
            c.add_working_hours(sh(2026, 11, 20, 17, 0), 2),
            sh(2026, 11, 23, 10, 0)
        );
        // Reported on Saturday: Monday counts from 09:00.
        assert_eq!(
            c.add_working_hours(sh(2026, 11, 21, 10, 0), 1),
            sh(2026, 11, 23, 10, 0)
        );
        // Three working days from Wednesday noon: Monday noon.
        assert_eq!(
            c.add_working_hours(sh(2026, 11, 18, 12, 0), 24),
            sh(2026, 11, 23, 12, 0)
        );
    }

    #[test]
    fn holidays_do_not_count_and_makeup_days_do() {
        let c = WorkCalendar::builtin();
        // Wednesday 2026-09-30 16:00 + 8 h: 2 h on the 30th, National Day 1-7 October off,
        // 6 h on Thursday the 8th (09:00-12:00, 13:00-16:00).
        assert_eq!(
            c.add_working_hours(sh(2026, 9, 30, 16, 0), 8),
            sh(2026, 10, 8, 16, 0)
        );
        // Friday 2026-10-09 17:00 + 4 h: Saturday the 10th is a make-up working day.
        assert_eq!(
            c.add_working_hours(sh(2026, 10, 9, 17, 0), 4),
            sh(2026, 10, 10, 12, 0)
        );
        // Sunday 2026-09-20 is worked, the Saturday before is not.
        assert!(c.is_working_day(NaiveDate::from_ymd_opt(2026, 9, 20).unwrap()));
        assert!(!c.is_working_day(NaiveDate::from_ymd_opt(2026, 9, 19).unwrap()));
        // Spring Festival: Friday 13 February 17:00 + 2 h -> Saturday 14th (worked) 10:00.
        assert_eq!(
            c.add_working_hours(sh(2026, 2, 13, 17, 0), 2),
            sh(2026, 2, 14, 10, 0)
        );
        // Saturday 14th 17:00 + 2 h: 15th-23rd off -> Tuesday 24th 10:00.
        assert_eq!(
            c.add_working_hours(sh(2026, 2, 14, 17, 0), 2),
            sh(2026, 2, 24, 10, 0)
        );
    }

    #[test]
    fn working_time_between_two_instants() {
        let c = WorkCalendar::builtin();
        assert_eq!(
            c.working_seconds_between(sh(2026, 11, 20, 17, 0), sh(2026, 11, 23, 10, 0)),
            2 * 3600
        );
        assert_eq!(
            c.working_seconds_between(sh(2026, 11, 23, 10, 0), sh(2026, 11, 20, 17, 0)),
            0
        );
        for (start, h) in [(sh(2026, 9, 30, 16, 0), 8), (sh(2026, 2, 13, 17, 0), 30)] {
            let end = c.add_working_hours(start, h);
            assert_eq!(c.working_seconds_between(start, end), i64::from(h) * 3600);
        }
    }

    #[test]
    fn weeks_start_on_monday_local_time() {
        let c = WorkCalendar::builtin();
        // Sunday 2026-11-22 23:30 in Shanghai (15:30 UTC) belongs to the week of Monday 16th.
        assert_eq!(
            c.week_start(sh(2026, 11, 22, 23, 30)),
            sh(2026, 11, 16, 0, 0)
        );
        // Monday 00:10 local is Sunday 16:10 UTC, and already the new week.
        assert_eq!(
            c.week_start(sh(2026, 11, 23, 0, 10)),
            sh(2026, 11, 23, 0, 0)
        );
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let err = |text: &str| WorkCalendar::from_toml(text).unwrap_err().to_string();
        assert!(err("hours = [\"18:00-09:00\"]").contains("ends before it starts"));
        assert!(err("hours = [\"9-12\"]").contains("not a span"));
        assert!(err("hours = [\"09:00-12:00\", \"11:00-13:00\"]").contains("before the span"));
        assert!(err("hours = []").contains("at least one span"));
        assert!(err("hours = [\"09:00-12:00\"]\nutc_offset = \"CST\"").contains("utc_offset"));
        assert!(err("hours = [\"09:00-12:00\"]\nweekend = 1").contains("weekend"));
        let both = "hours = [\"09:00-12:00\"]\n[[holiday]]\nname = \"x\"\n\
                    days = [\"2026-10-01\", \"2026-10-07\"]\nworkdays = [\"2026-10-03\"]";
        assert!(err(both).contains("2026-10-03 is listed both"));
        let backwards = "hours = [\"09:00-12:00\"]\n[[holiday]]\nname = \"x\"\n\
                         days = [\"2026-10-07\", \"2026-10-01\"]";
        assert!(err(backwards).contains("before the first"));
    }

    #[test]
    fn other_hours_and_offsets() {
        let c = WorkCalendar::from_toml(
            "utc_offset = \"+00:00\"\nhours = [\"08:30-12:00\", \"13:30-17:00\"]",
        )
        .unwrap();
        assert_eq!(c.day_seconds(), 7 * 3600);
        let start = Utc.with_ymd_and_hms(2026, 11, 17, 11, 0, 0).unwrap();
        assert_eq!(
            c.add_working_hours(start, 7),
            Utc.with_ymd_and_hms(2026, 11, 18, 11, 0, 0).unwrap()
        );
    }
}
