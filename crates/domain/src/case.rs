//! Case numbers (案件编号): the short number a person reads out, types and prints.
//!
//! `CM` + the report's day in China Standard Time (`yyMMdd`) + `-` + that day's sequence,
//! at least four digits: `CM261207-0003`. The store numbers a problem when it is first written
//! (a per-day counter in the same transaction), so numbers are unique across processes and a
//! number is never given twice, even when the write that took it failed.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::validation::ValidationError;

/// The prefix of every case number.
pub const PREFIX: &str = "CM";

/// China Standard Time, the day a case number names.
const CST_OFFSET_S: i64 = 8 * 3600;

/// A case number: the CST day of the report and its sequence within that day (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseNo {
    /// `yyMMdd` as a number (`261207`).
    pub day: u32,
    pub seq: u32,
}

impl CaseNo {
    /// The `yyMMdd` day number of an instant, in China Standard Time.
    #[must_use]
    pub fn day_of(at: DateTime<Utc>) -> u32 {
        // China has kept UTC+8 all year since 1991: the day there is the UTC day 8 h later.
        let d = (at + TimeDelta::seconds(CST_OFFSET_S)).date_naive();
        (d.year().rem_euclid(100) as u32) * 10_000 + d.month() * 100 + d.day()
    }
}

impl fmt::Display for CaseNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{:06}-{:04}", self.day, self.seq)
    }
}

impl FromStr for CaseNo {
    type Err = ValidationError;
    /// Reads `CM261207-0003`, case-insensitively and with surrounding blanks ignored, since
    /// people type it from paper.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ValidationError::Invalid {
            field: "case_no",
            message: format!("{s:?} is not a case number like CM261207-0003"),
        };
        let t = s.trim();
        let rest = t
            .get(..PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(PREFIX))
            .map(|_| &t[PREFIX.len()..])
            .ok_or_else(bad)?;
        let (day, seq) = rest.split_once('-').ok_or_else(bad)?;
        let digits = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
        if day.len() != 6 || !digits(day) || seq.len() < 4 || seq.len() > 9 || !digits(seq) {
            return Err(bad());
        }
        let day: u32 = day.parse().map_err(|_| bad())?;
        let seq: u32 = seq.parse().map_err(|_| bad())?;
        let (mm, dd) = (day / 100 % 100, day % 100);
        if seq == 0 || !(1..=12).contains(&mm) || !(1..=31).contains(&dd) {
            return Err(bad());
        }
        Ok(CaseNo { day, seq })
    }
}

impl Serialize for CaseNo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CaseNo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parses_and_refuses() {
        let c = CaseNo {
            day: 261_207,
            seq: 3,
        };
        assert_eq!(c.to_string(), "CM261207-0003");
        assert_eq!(" cm261207-0003 ".parse::<CaseNo>().unwrap(), c);
        let big = CaseNo {
            day: 261_207,
            seq: 12_345,
        };
        assert_eq!(big.to_string().parse::<CaseNo>().unwrap(), big);
        for bad in [
            "",
            "CM",
            "CM261207",
            "CM261207-",
            "CM261307-0001",
            "CM261207-0000",
            "XX261207-0001",
            "CM26120-0001",
            "CM261207-01",
        ] {
            assert!(bad.parse::<CaseNo>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_day_is_the_day_in_china() {
        // 2026-12-06 16:30 UTC is 2026-12-07 00:30 in China.
        let at = DateTime::parse_from_rfc3339("2026-12-06T16:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(CaseNo::day_of(at), 261_207);
        let before = DateTime::parse_from_rfc3339("2026-12-06T15:59:59Z")
            .unwrap()
            .to_utc();
        assert_eq!(CaseNo::day_of(before), 261_206);
    }
}
