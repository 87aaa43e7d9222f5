//! Import of problems, zones and points of interest from CSV and GeoJSON.
//!
//! A [`Mapping`] (usually a small TOML file next to the data) says which column or property
//! holds what, how source values map to civmap category codes, and which coordinate system the
//! file uses (`crs = "wgs84" | "gcj02" | "bd09"`); everything is converted to and returned in
//! WGS-84 lon/lat.
//!
//! The contract the importer keeps:
//! - **All or nothing.** A malformed file (a CSV row with the wrong number of fields, invalid
//!   JSON, a feature that is not a feature) is an [`ImportError`] naming the line or feature
//!   index; nothing is returned, so the caller stores nothing.
//! - **Everything else is reported.** Rows that are well formed but unusable (no coordinates,
//!   a category the mapping does not know, out of range, ...) are skipped and counted by reason
//!   in an [`ImportReport`]: `imported + skipped == read`.
//! - **Idempotent.** Every record has a stable `external_id` (`<source>:<id column>`, or
//!   `<source>:h<hash>` of its content when there is no id column) for the store to dedupe on;
//!   re-importing the same file yields the same ids.
//!
//! ```
//! use civmap_domain::CategoryTable;
//! use civmap_geodata::import::{Mapping, problems_from_csv};
//! let mapping = Mapping::from_toml(r#"
//!     source = "demo"
//!     crs = "gcj02"
//!     id = "no"
//!     lon = "lng"
//!     lat = "lat"
//!     category = "type"
//!     [categories]
//!     "违停" = "illegal_parking"
//! "#).unwrap();
//! let csv = "no,lng,lat,type\n1,121.5005,31.2830,违停\n2,,,违停\n3,121.5,31.28,噪音\n";
//! let (records, report) = problems_from_csv(csv.as_bytes(), &mapping, &CategoryTable::builtin()).unwrap();
//! assert_eq!(records.len(), 1);
//! assert_eq!(records[0].external_id, "demo:1");
//! assert_eq!((report.read, report.imported, report.skipped_total()), (3, 1, 2));
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io::Read;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use civmap_domain::{CategoryTable, LonLat, NewProblem, PoiKind, Severity, ZoneKind};
use geo::{Geometry, Point};
use serde::{Deserialize, Deserializer};

use crate::crs::Crs;
use crate::extract::PoiFeature;
use crate::geojson_stream::StreamError;
use crate::zones::{self, ZoneShape};

/// Longest description kept, in characters (the domain's limit).
const MAX_DESCRIPTION_CHARS: usize = civmap_domain::problem::MAX_DESCRIPTION_CHARS;
/// Example row/feature numbers kept per skip reason.
const EXAMPLES: usize = 5;

/// Errors that stop an import: nothing of the file may be stored.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The mapping file is invalid (bad TOML, unknown field, unknown category code...).
    #[error("bad import mapping: {0}")]
    Mapping(String),
    /// The mapping names a column the CSV header does not have.
    #[error(
        "the mapping's {role} column {column:?} is not in the CSV header (columns: {available})"
    )]
    MissingColumn {
        /// What the column was for (`lon`, `category`, ...).
        role: &'static str,
        /// The column name in the mapping.
        column: String,
        /// The header's columns, comma-separated.
        available: String,
    },
    /// A malformed CSV file.
    #[error("malformed CSV at line {line}: {message}")]
    Csv {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// Invalid JSON.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Valid JSON that is not GeoJSON, or a feature that cannot be read.
    #[error("malformed GeoJSON{}: {message}", index.map(|i| format!(" in feature #{i}")).unwrap_or_default())]
    GeoJson {
        /// 0-based feature index, if the problem is in one feature.
        index: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// Reading the input failed.
    #[error("cannot read the import file: {0}")]
    Io(#[from] std::io::Error),
}

fn deserialize_crs<'de, D: Deserializer<'de>>(d: D) -> Result<Crs, D::Error> {
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

/// Which column (CSV) or property (GeoJSON) holds what. Unknown keys are rejected.
///
/// Only the fields a record type needs are required: problems need `category` and
/// `categories`; POIs `kind` (or `default_kind`); zones `name`. CSV needs `lon` and `lat`;
/// GeoJSON takes positions from the geometry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Short name of the data source, the prefix of every external id (e.g. `nyc311`).
    pub source: String,
    /// Coordinate system of the file (default WGS-84).
    #[serde(default, deserialize_with = "deserialize_crs")]
    pub crs: Crs,
    /// Column with a stable record key (e.g. `Unique Key`). Without it, ids are content hashes.
    #[serde(default)]
    pub id: Option<String>,
    /// Longitude column (CSV).
    #[serde(default)]
    pub lon: Option<String>,
    /// Latitude column (CSV).
    #[serde(default)]
    pub lat: Option<String>,
    /// Problems: the column whose values are looked up in `categories`.
    #[serde(default)]
    pub category: Option<String>,
    /// Problems: an optional second column; `"<category> / <subcategory>"` keys in
    /// `categories` take precedence over `"<category>"` keys.
    #[serde(default)]
    pub subcategory: Option<String>,
    /// Problems: source value -> civmap category code. Values not listed are skipped.
    #[serde(default)]
    pub categories: BTreeMap<String, String>,
    /// Problems: columns joined (non-empty ones, with " | ") into the description.
    #[serde(default)]
    pub description: Vec<String>,
    /// Problems: the column with the report time.
    #[serde(default)]
    pub time: Option<String>,
    /// Format of `time` (chrono `strftime` syntax, e.g. `%m/%d/%Y %I:%M:%S %p`). Without it,
    /// RFC 3339 and `%Y-%m-%d %H:%M:%S` are accepted.
    #[serde(default)]
    pub time_format: Option<String>,
    /// UTC offset of times without one, e.g. `+08:00` (the default, China Standard Time).
    #[serde(default)]
    pub utc_offset: Option<String>,
    /// POIs and zones: the name column.
    #[serde(default)]
    pub name: Option<String>,
    /// POIs: the kind column (values `school`, `park`, `market`, or keys of `kinds`);
    /// zones: the zone-kind column (`point`, `road`, `area`, `surroundings`, `grid_cell`).
    #[serde(default)]
    pub kind: Option<String>,
    /// POIs: source kind value -> `school` | `park` | `market`.
    #[serde(default)]
    pub kinds: BTreeMap<String, PoiKind>,
    /// POIs: the kind of every record when there is no `kind` column.
    #[serde(default)]
    pub default_kind: Option<PoiKind>,
    /// Zones: the code column (e.g. a grid code).
    #[serde(default)]
    pub code: Option<String>,
    /// Zones from points (CSV, or GeoJSON points): the radius column, metres.
    #[serde(default)]
    pub radius: Option<String>,
    /// Zones from points: radius when there is no radius column, metres (default 50).
    #[serde(default)]
    pub default_radius_m: Option<f64>,
}

impl Mapping {
    /// Parses a mapping from TOML.
    pub fn from_toml(text: &str) -> Result<Self, ImportError> {
        let m: Mapping = toml::from_str(text).map_err(|e| ImportError::Mapping(e.to_string()))?;
        if m.source.trim().is_empty() || m.source.contains(':') {
            return Err(ImportError::Mapping(format!(
                "source {:?} must be a non-empty name without ':'",
                m.source
            )));
        }
        m.offset()?;
        Ok(m)
    }

    /// Checks that every category code the mapping targets exists in `table`.
    pub fn check_categories(&self, table: &CategoryTable) -> Result<(), ImportError> {
        if self.category.is_none() {
            return Err(ImportError::Mapping(
                "importing problems needs a `category` column".into(),
            ));
        }
        for (value, code) in &self.categories {
            if table.by_code(code).is_none() {
                return Err(ImportError::Mapping(format!(
                    "{value:?} maps to unknown category code {code:?}"
                )));
            }
        }
        Ok(())
    }

    fn offset(&self) -> Result<FixedOffset, ImportError> {
        let text = self.utc_offset.as_deref().unwrap_or("+08:00");
        parse_offset(text).ok_or_else(|| {
            ImportError::Mapping(format!(
                "utc_offset {text:?} is not of the form +08:00 or -05:00"
            ))
        })
    }
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Why a well-formed record was not imported.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// Both coordinates are empty (or the GeoJSON feature has no geometry).
    MissingCoordinates,
    /// A coordinate is empty or not a number.
    BadCoordinates,
    /// The position is (0, 0), the usual placeholder for "unknown".
    NullIsland,
    /// Longitude or latitude outside the valid range (after CRS conversion).
    OutOfRange,
    /// The category value is empty.
    MissingCategory,
    /// The category value is not in the mapping (the value is kept for the report).
    UnknownCategory(String),
    /// The time could not be parsed with the mapping's format.
    BadTime,
    /// A POI kind that is not school, park or market (or mapped to one).
    UnknownKind(String),
    /// A zone kind that is not one of civmap's zone kinds.
    UnknownZoneKind(String),
    /// A geometry of the wrong type (e.g. a `LineString` where a point is needed).
    WrongGeometry(&'static str),
    /// A radius that is not a positive number of metres.
    BadRadius,
    /// The same external id occurred earlier in the file.
    DuplicateId,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::MissingCoordinates => f.write_str("missing coordinates"),
            SkipReason::BadCoordinates => f.write_str("coordinates are not numbers"),
            SkipReason::NullIsland => f.write_str("coordinates are (0, 0)"),
            SkipReason::OutOfRange => f.write_str("coordinates out of range"),
            SkipReason::MissingCategory => f.write_str("missing category"),
            SkipReason::UnknownCategory(v) => write!(f, "category {v:?} not in the mapping"),
            SkipReason::BadTime => f.write_str("time not in the expected format"),
            SkipReason::UnknownKind(v) => write!(f, "kind {v:?} is not school, park or market"),
            SkipReason::UnknownZoneKind(v) => write!(f, "zone kind {v:?} is unknown"),
            SkipReason::WrongGeometry(t) => write!(f, "geometry type {t} not usable here"),
            SkipReason::BadRadius => f.write_str("radius is not a positive number of metres"),
            SkipReason::DuplicateId => f.write_str("duplicate id in this file"),
        }
    }
}

/// Skipped records of one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipGroup {
    /// The reason.
    pub reason: SkipReason,
    /// How many records.
    pub count: usize,
    /// The first few: CSV row numbers (header = row 1, whatever the line endings) or GeoJSON
    /// feature indexes.
    pub examples: Vec<u64>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Records read (data rows or features).
    pub read: usize,
    /// Records returned.
    pub imported: usize,
    /// Records skipped, grouped by reason (sorted by reason).
    pub skipped: Vec<SkipGroup>,
}

impl ImportReport {
    /// Total skipped.
    #[must_use]
    pub fn skipped_total(&self) -> usize {
        self.skipped.iter().map(|g| g.count).sum()
    }

    /// Count for one reason.
    #[must_use]
    pub fn count(&self, reason: &SkipReason) -> usize {
        self.skipped
            .iter()
            .find(|g| &g.reason == reason)
            .map_or(0, |g| g.count)
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "read {}, imported {}, skipped {}",
            self.read,
            self.imported,
            self.skipped_total()
        )?;
        for g in &self.skipped {
            let ex: Vec<String> = g.examples.iter().map(u64::to_string).collect();
            write!(f, "\n  {} × {} (e.g. {})", g.count, g.reason, ex.join(", "))?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Tally {
    read: usize,
    imported: usize,
    groups: BTreeMap<SkipReason, (usize, Vec<u64>)>,
    /// Every id of the file so far, for [`SkipReason::DuplicateId`]; `None` when streaming,
    /// where a set of every id would grow with the file: the store's unique key skips repeats.
    seen: Option<HashSet<String>>,
}

impl Tally {
    fn skip(&mut self, reason: SkipReason, at: u64) {
        let g = self.groups.entry(reason).or_default();
        g.0 += 1;
        if g.1.len() < EXAMPLES {
            g.1.push(at);
        }
    }

    /// Registers an id; `false` (and a skip) if it was seen before.
    fn first_time(&mut self, id: &str, at: u64) -> bool {
        let Some(seen) = &mut self.seen else {
            return true;
        };
        if seen.insert(id.to_owned()) {
            true
        } else {
            self.skip(SkipReason::DuplicateId, at);
            false
        }
    }

    fn deduping() -> Self {
        Tally {
            seen: Some(HashSet::new()),
            ..Tally::default()
        }
    }

    fn report(&self) -> ImportReport {
        ImportReport {
            read: self.read,
            imported: self.imported,
            skipped: self
                .groups
                .iter()
                .map(|(reason, (count, examples))| SkipGroup {
                    reason: reason.clone(),
                    count: *count,
                    examples: examples.clone(),
                })
                .collect(),
        }
    }
}

/// A problem read from a file, ready to be validated and stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ProblemRecord {
    /// Stable key for dedupe: `<source>:<id>` or `<source>:h<hash>`.
    pub external_id: String,
    /// Position, WGS-84.
    pub location: LonLat,
    /// civmap category code.
    pub category: String,
    /// The source's own category value (and subcategory), for the record.
    pub source_category: String,
    /// Description (control characters removed, at most 2,000 characters).
    pub description: String,
    /// Report time, if the mapping has a time column and the row a value.
    pub reported_at: Option<DateTime<Utc>>,
    /// CSV row (header = row 1) or GeoJSON feature index it came from.
    pub origin: u64,
}

impl ProblemRecord {
    /// The domain's new-problem request (severity medium).
    #[must_use]
    pub fn to_new_problem(&self) -> NewProblem {
        NewProblem {
            lon: self.location.lon(),
            lat: self.location.lat(),
            category: self.category.clone(),
            severity: Severity::Medium,
            description: self.description.clone(),
        }
    }
}

/// One record's fields, whatever the file format.
trait Fields {
    fn field(&self, key: &str) -> Option<&str>;
}

struct CsvRow<'a> {
    record: &'a csv::StringRecord,
    index: &'a BTreeMap<String, usize>,
}

impl Fields for CsvRow<'_> {
    fn field(&self, key: &str) -> Option<&str> {
        let v = self.record.get(*self.index.get(key)?)?.trim();
        (!v.is_empty()).then_some(v)
    }
}

struct Props<'a>(Option<&'a serde_json::Map<String, serde_json::Value>>);

impl Fields for Props<'_> {
    fn field(&self, key: &str) -> Option<&str> {
        match self.0?.get(key)? {
            serde_json::Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()),
            _ => None,
        }
    }
}

/// Properties may hold numbers where CSV has text; render them as text.
fn prop_text(
    props: Option<&serde_json::Map<String, serde_json::Value>>,
    key: &str,
) -> Option<String> {
    match props?.get(key)? {
        serde_json::Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// 64-bit FNV-1a: a stable content hash (unlike std's hasher, fixed across Rust versions).
fn fnv1a_bytes(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// FNV-1a of the parts, each followed by the unit separator 0x1f (so `["ab"]` and `["a", "b"]` differ).
fn fnv1a(parts: &[&str]) -> u64 {
    fnv1a_bytes(
        parts
            .iter()
            .flat_map(|p| p.bytes().chain(std::iter::once(0x1f))),
    )
}

fn clean_text(s: &str, max_chars: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .take(max_chars)
        .collect()
}

/// Converts a position in the mapping's CRS to a valid WGS-84 [`LonLat`].
fn to_wgs84(crs: Crs, lon: f64, lat: f64) -> Result<LonLat, SkipReason> {
    if !lon.is_finite() || !lat.is_finite() {
        return Err(SkipReason::BadCoordinates);
    }
    if lon == 0.0 && lat == 0.0 {
        return Err(SkipReason::NullIsland);
    }
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(SkipReason::OutOfRange);
    }
    let [x, y] = crs.to_wgs84([lon, lat]);
    LonLat::new(x, y).map_err(|_| SkipReason::OutOfRange)
}

/// The row number of a record as a spreadsheet shows it: the header is row 1, the first data
/// row 2. Counted in records, not in line breaks, so a file saved with CRLF (Excel's default)
/// or with a line break inside a quoted field numbers its rows as the same file with LF does
/// (the csv crate's `line()` counts a CRLF file's rows one short).
fn csv_row(p: &csv::Position) -> u64 {
    p.record() + 1
}

fn csv_position(rdr: &csv::Reader<impl Read>, e: &csv::Error) -> u64 {
    csv_row(e.position().unwrap_or_else(|| rdr.position()))
}

fn csv_error(e: &csv::Error, line: u64) -> ImportError {
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        _ => e.to_string(),
    };
    ImportError::Csv { line, message }
}

/// Reads the header and resolves the columns the mapping needs.
fn csv_header(
    rdr: &mut csv::Reader<impl Read>,
    mapping: &Mapping,
    needed: &[(&'static str, Option<&String>)],
) -> Result<BTreeMap<String, usize>, ImportError> {
    let header = rdr.headers().map_err(|e| csv_error(&e, 1))?.clone();
    let index: BTreeMap<String, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim_start_matches('\u{feff}').trim().to_owned(), i))
        .collect();
    let mut all = needed.to_vec();
    all.push(("id", mapping.id.as_ref()));
    for d in &mapping.description {
        all.push(("description", Some(d)));
    }
    for (role, col) in all {
        if let Some(col) = col
            && !index.contains_key(col.as_str())
        {
            return Err(ImportError::MissingColumn {
                role,
                column: col.clone(),
                available: header.iter().collect::<Vec<_>>().join(", "),
            });
        }
    }
    Ok(index)
}

fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input)
}

/// Iterates the data rows, each with its row number ([`csv_row`]); stops at the first malformed
/// row.
fn for_each_csv_row(
    rdr: &mut csv::Reader<impl Read>,
    mut f: impl FnMut(&csv::StringRecord, u64),
) -> Result<(), ImportError> {
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {
                let line = record.position().map_or(0, csv_row);
                f(&record, line);
            }
            Ok(false) => return Ok(()),
            Err(e) => {
                let line = csv_position(rdr, &e);
                return Err(csv_error(&e, line));
            }
        }
    }
}

fn csv_position_of(row: &CsvRow<'_>, lon: &str, lat: &str, crs: Crs) -> Result<LonLat, SkipReason> {
    match (row.field(lon), row.field(lat)) {
        (None, None) => Err(SkipReason::MissingCoordinates),
        (Some(x), Some(y)) => match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(x), Ok(y)) => to_wgs84(crs, x, y),
            _ => Err(SkipReason::BadCoordinates),
        },
        _ => Err(SkipReason::BadCoordinates),
    }
}

fn required<'a>(v: Option<&'a String>, what: &str) -> Result<&'a str, ImportError> {
    v.map(String::as_str)
        .ok_or_else(|| ImportError::Mapping(format!("CSV import needs a `{what}` column")))
}

// ---------------------------------------------------------------- problems

struct ProblemCtx<'a> {
    mapping: &'a Mapping,
    offset: FixedOffset,
}

impl ProblemCtx<'_> {
    /// Everything but the position: category, time, description, id.
    fn record(
        &self,
        f: &dyn Fields,
        location: LonLat,
        origin: u64,
        id_value: Option<String>,
    ) -> Result<ProblemRecord, SkipReason> {
        let m = self.mapping;
        let cat_col = m.category.as_deref().unwrap_or_default();
        let value = f.field(cat_col).ok_or(SkipReason::MissingCategory)?;
        let sub = m.subcategory.as_deref().and_then(|c| f.field(c));
        let (source_category, code) = match sub.map(|s| format!("{value} / {s}")) {
            Some(key) if m.categories.contains_key(&key) => {
                let code = m.categories[&key].clone();
                (key, code)
            }
            _ => {
                let code = m
                    .categories
                    .get(value)
                    .ok_or_else(|| SkipReason::UnknownCategory(value.to_owned()))?
                    .clone();
                (
                    sub.map_or_else(|| value.to_owned(), |s| format!("{value} / {s}")),
                    code,
                )
            }
        };
        let reported_at = match m.time.as_deref().and_then(|c| f.field(c)) {
            None => None,
            Some(t) => Some(self.parse_time(t).ok_or(SkipReason::BadTime)?),
        };
        let parts: Vec<&str> = m.description.iter().filter_map(|c| f.field(c)).collect();
        let description = clean_text(&parts.join(" | "), MAX_DESCRIPTION_CHARS);
        let external_id = if let Some(id) = id_value {
            format!("{}:{id}", m.source)
        } else {
            let (x, y) = (
                format!("{:.7}", location.lon()),
                format!("{:.7}", location.lat()),
            );
            let t = reported_at.map(|t| t.to_rfc3339()).unwrap_or_default();
            let h = fnv1a(&[&x, &y, &source_category, &t, &description]);
            format!("{}:h{h:016x}", m.source)
        };
        Ok(ProblemRecord {
            external_id,
            location,
            category: code,
            source_category,
            description,
            reported_at,
            origin,
        })
    }

    fn parse_time(&self, t: &str) -> Option<DateTime<Utc>> {
        if let Some(fmt) = &self.mapping.time_format {
            return self.local(NaiveDateTime::parse_from_str(t, fmt).ok()?);
        }
        if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
            return Some(dt.with_timezone(&Utc));
        }
        self.local(NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok()?)
    }

    fn local(&self, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
        naive
            .and_local_timezone(self.offset)
            .single()
            .map(|d| d.with_timezone(&Utc))
    }
}

/// Problems read from CSV one row at a time (header row required; `lon` and `lat` columns
/// required): an iterator of the usable records, in file order, that holds one row at a time
/// whatever the file's size. Rows that are well formed but unusable are counted in
/// [`CsvProblems::report`]; a malformed row is an [`ImportError`] naming its row, after which
/// the iterator ends.
///
/// Repeated ids within the file are not detected here (that would need every id in memory):
/// the store skips them by its `(source, external_id)` key. [`problems_from_csv`] reads the whole
/// file and reports them as [`SkipReason::DuplicateId`].
pub struct CsvProblems<'m, R: Read> {
    ctx: ProblemCtx<'m>,
    rdr: csv::Reader<R>,
    index: BTreeMap<String, usize>,
    record: csv::StringRecord,
    lon: &'m str,
    lat: &'m str,
    tally: Tally,
    done: bool,
}

impl<'m, R: Read> CsvProblems<'m, R> {
    /// Reads the header and checks the mapping against it and the category table.
    pub fn new(
        input: R,
        mapping: &'m Mapping,
        categories: &CategoryTable,
    ) -> Result<Self, ImportError> {
        mapping.check_categories(categories)?;
        let ctx = ProblemCtx {
            mapping,
            offset: mapping.offset()?,
        };
        let lon = required(mapping.lon.as_ref(), "lon")?;
        let lat = required(mapping.lat.as_ref(), "lat")?;
        let mut rdr = csv_reader(input);
        let index = csv_header(
            &mut rdr,
            mapping,
            &[
                ("lon", mapping.lon.as_ref()),
                ("lat", mapping.lat.as_ref()),
                ("category", mapping.category.as_ref()),
                ("subcategory", mapping.subcategory.as_ref()),
                ("time", mapping.time.as_ref()),
            ],
        )?;
        Ok(CsvProblems {
            ctx,
            rdr,
            index,
            record: csv::StringRecord::new(),
            lon,
            lat,
            tally: Tally::default(),
            done: false,
        })
    }

    /// What has been read so far (all of it once the iterator has ended).
    #[must_use]
    pub fn report(&self) -> ImportReport {
        self.tally.report()
    }

    /// Data rows read so far, usable or not.
    #[must_use]
    pub fn rows_read(&self) -> usize {
        self.tally.read
    }

    fn deduping(mut self) -> Self {
        self.tally = Tally::deduping();
        self
    }
}

impl<R: Read> fmt::Debug for CsvProblems<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvProblems")
            .field("source", &self.ctx.mapping.source)
            .field("read", &self.tally.read)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Iterator for CsvProblems<'_, R> {
    type Item = Result<ProblemRecord, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.rdr.read_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    let line = csv_position(&self.rdr, &e);
                    return Some(Err(csv_error(&e, line)));
                }
            }
            let line = self.record.position().map_or(0, csv_row);
            self.tally.read += 1;
            let row = CsvRow {
                record: &self.record,
                index: &self.index,
            };
            let mapping = self.ctx.mapping;
            let id = mapping
                .id
                .as_deref()
                .and_then(|c| row.field(c))
                .map(str::to_owned);
            let result = csv_position_of(&row, self.lon, self.lat, mapping.crs)
                .and_then(|p| self.ctx.record(&row, p, line, id));
            match result {
                Ok(r) if self.tally.first_time(&r.external_id, line) => {
                    self.tally.imported += 1;
                    return Some(Ok(r));
                }
                Ok(_) => {}
                Err(reason) => self.tally.skip(reason, line),
            }
        }
        None
    }
}

/// Reads problems from CSV (header row required; `lon` and `lat` columns required), the whole
/// file at once, repeated ids skipped as [`SkipReason::DuplicateId`]. For files of any size,
/// [`CsvProblems`] streams.
pub fn problems_from_csv<R: Read>(
    input: R,
    mapping: &Mapping,
    categories: &CategoryTable,
) -> Result<(Vec<ProblemRecord>, ImportReport), ImportError> {
    let mut rows = CsvProblems::new(input, mapping, categories)?.deduping();
    let out = rows.by_ref().collect::<Result<Vec<_>, _>>()?;
    Ok((out, rows.report()))
}

/// A GeoJSON feature, already checked to be one.
struct GeoFeature {
    index: usize,
    geometry: Option<Geometry<f64>>,
    properties: Option<serde_json::Map<String, serde_json::Value>>,
    id: Option<String>,
}

/// A parsed feature as the importers read it: its geometry converted, `index` its 0-based place.
fn geo_feature(index: usize, f: geojson::Feature) -> Result<GeoFeature, ImportError> {
    let geometry = f
        .geometry
        .as_ref()
        .map(Geometry::<f64>::try_from)
        .transpose()
        .map_err(|e| ImportError::GeoJson {
            index: Some(index),
            message: e.to_string(),
        })?;
    let id = f.id.as_ref().map(|id| match id {
        geojson::feature::Id::String(s) => s.clone(),
        geojson::feature::Id::Number(n) => n.to_string(),
    });
    Ok(GeoFeature {
        index,
        geometry,
        properties: f.properties,
        id,
    })
}

/// A reader's JSON error as an [`ImportError`].
fn json_error(e: serde_json::Error) -> ImportError {
    if e.is_io() {
        ImportError::Io(e.into())
    } else {
        ImportError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}

/// Parses a GeoJSON `FeatureCollection` (or a single `Feature`) fully before anything is returned.
fn read_features<R: Read>(input: R) -> Result<Vec<GeoFeature>, ImportError> {
    let mut out = Vec::new();
    each_feature(input, |f| {
        out.push(f);
        Ok::<_, ImportError>(())
    })
    .map_err(|e| match e {
        Stop::File(e) | Stop::Caller(e) => e,
    })?;
    Ok(out)
}

/// Why [`each_geojson_problem`] stopped: the file, or the caller's own error.
#[derive(Debug)]
pub enum Stop<E> {
    /// The file is not JSON, not GeoJSON, a feature cannot be read, or the mapping is wrong.
    File(ImportError),
    /// The caller's function failed at a record.
    Caller(E),
}

/// Calls `f` with each feature of a GeoJSON file, streaming (see [`crate::geojson_stream`]).
fn each_feature<R: Read, E>(
    input: R,
    mut f: impl FnMut(GeoFeature) -> Result<(), E>,
) -> Result<usize, Stop<E>> {
    crate::geojson_stream::for_each_feature(input, |index, feature| {
        let g = geo_feature(index, feature).map_err(Stop::File)?;
        f(g).map_err(Stop::Caller)
    })
    .map_err(|e| match e {
        StreamError::Json(e) => Stop::File(json_error(e)),
        StreamError::Shape { index, message } => {
            Stop::File(ImportError::GeoJson { index, message })
        }
        StreamError::Caller(stop) => stop,
    })
}

/// The id of a feature: the mapping's id property, else the feature's `id` member.
fn feature_id(f: &GeoFeature, mapping: &Mapping) -> Option<String> {
    mapping
        .id
        .as_deref()
        .and_then(|k| prop_text(f.properties.as_ref(), k))
        .or_else(|| f.id.clone())
}

fn feature_point(f: &GeoFeature, crs: Crs) -> Result<LonLat, SkipReason> {
    match &f.geometry {
        None => Err(SkipReason::MissingCoordinates),
        Some(Geometry::Point(p)) => to_wgs84(crs, p.x(), p.y()),
        Some(g) => Err(SkipReason::WrongGeometry(geometry_name(g))),
    }
}

fn geometry_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) | Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
    }
}

/// Reads problems from GeoJSON Point features; fields come from `properties`. The whole file's
/// records are returned; [`each_geojson_problem`] streams them instead.
pub fn problems_from_geojson<R: Read>(
    input: R,
    mapping: &Mapping,
    categories: &CategoryTable,
) -> Result<(Vec<ProblemRecord>, ImportReport), ImportError> {
    let mut out = Vec::new();
    let report = geojson_problems(input, mapping, categories, Tally::deduping(), |r, _| {
        out.push(r);
        Ok::<_, ImportError>(())
    })
    .map_err(|e| match e {
        Stop::File(e) | Stop::Caller(e) => e,
    })?;
    Ok((out, report))
}

/// Reads problems from GeoJSON Point features one at a time, in memory bounded by a feature
/// whatever the file's size, calling `f` with each usable record and the features read so far.
/// Like the streaming CSV reader it keeps no set of ids: repeats are left to the store's
/// `(source, external_id)` key.
pub fn each_geojson_problem<R: Read, E>(
    input: R,
    mapping: &Mapping,
    categories: &CategoryTable,
    f: impl FnMut(ProblemRecord, usize) -> Result<(), E>,
) -> Result<ImportReport, Stop<E>> {
    geojson_problems(input, mapping, categories, Tally::default(), f)
}

fn geojson_problems<R: Read, E>(
    input: R,
    mapping: &Mapping,
    categories: &CategoryTable,
    mut tally: Tally,
    mut f: impl FnMut(ProblemRecord, usize) -> Result<(), E>,
) -> Result<ImportReport, Stop<E>> {
    mapping.check_categories(categories).map_err(Stop::File)?;
    let ctx = ProblemCtx {
        mapping,
        offset: mapping.offset().map_err(Stop::File)?,
    };
    each_feature(input, |feat| {
        tally.read += 1;
        let at = feat.index as u64;
        let id = feature_id(&feat, mapping);
        let result = feature_point(&feat, mapping.crs)
            .and_then(|p| ctx.record(&Props(feat.properties.as_ref()), p, at, id));
        match result {
            Ok(r) if tally.first_time(&r.external_id, at) => {
                tally.imported += 1;
                f(r, tally.read)
            }
            Ok(_) => Ok(()),
            Err(reason) => {
                tally.skip(reason, at);
                Ok(())
            }
        }
    })?;
    Ok(tally.report())
}

// ---------------------------------------------------------------- POIs

fn poi_kind(mapping: &Mapping, value: Option<&str>) -> Result<PoiKind, SkipReason> {
    match (value, mapping.default_kind) {
        (None, Some(k)) => Ok(k),
        (None, None) => Err(SkipReason::UnknownKind(String::new())),
        (Some(v), _) => mapping
            .kinds
            .get(v)
            .copied()
            .or_else(|| v.parse().ok())
            .ok_or_else(|| SkipReason::UnknownKind(v.to_owned())),
    }
}

fn content_id(source: &str, parts: &[&str]) -> String {
    format!("{source}:h{:016x}", fnv1a(parts))
}

/// Reads POIs from CSV (points: `lon`, `lat`, `name`, and `kind` or `default_kind`).
pub fn pois_from_csv<R: Read>(
    input: R,
    mapping: &Mapping,
) -> Result<(Vec<PoiFeature>, ImportReport), ImportError> {
    let lon = required(mapping.lon.as_ref(), "lon")?;
    let lat = required(mapping.lat.as_ref(), "lat")?;
    let mut rdr = csv_reader(input);
    let index = csv_header(
        &mut rdr,
        mapping,
        &[
            ("lon", mapping.lon.as_ref()),
            ("lat", mapping.lat.as_ref()),
            ("name", mapping.name.as_ref()),
            ("kind", mapping.kind.as_ref()),
        ],
    )?;
    let mut tally = Tally::deduping();
    let mut out = Vec::new();
    for_each_csv_row(&mut rdr, |record, line| {
        tally.read += 1;
        let row = CsvRow {
            record,
            index: &index,
        };
        let result = csv_position_of(&row, lon, lat, mapping.crs).and_then(|p| {
            let kind = poi_kind(mapping, mapping.kind.as_deref().and_then(|k| row.field(k)))?;
            let name = mapping
                .name
                .as_deref()
                .and_then(|c| row.field(c))
                .map(str::to_owned);
            let external_id = match mapping.id.as_deref().and_then(|c| row.field(c)) {
                Some(id) => format!("{}:{id}", mapping.source),
                None => content_id(
                    &mapping.source,
                    &[
                        kind.as_str(),
                        name.as_deref().unwrap_or_default(),
                        &format!("{:.7},{:.7}", p.lon(), p.lat()),
                    ],
                ),
            };
            Ok(PoiFeature {
                kind,
                name,
                geometry: Point::from(p).into(),
                external_id,
            })
        });
        match result {
            Ok(p) if tally.first_time(&p.external_id, line) => {
                tally.imported += 1;
                out.push(p);
            }
            Ok(_) => {}
            Err(reason) => tally.skip(reason, line),
        }
    })?;
    Ok((out, tally.report()))
}

/// Converts every coordinate to WGS-84 and checks the ranges.
fn geometry_to_wgs84(g: &Geometry<f64>, crs: Crs) -> Result<Geometry<f64>, SkipReason> {
    use geo::{CoordsIter, MapCoords};
    for c in g.coords_iter() {
        if !c.x.is_finite() || !c.y.is_finite() {
            return Err(SkipReason::BadCoordinates);
        }
        if !(-180.0..=180.0).contains(&c.x) || !(-90.0..=90.0).contains(&c.y) {
            return Err(SkipReason::OutOfRange);
        }
    }
    Ok(g.map_coords(|c| {
        let [x, y] = crs.to_wgs84([c.x, c.y]);
        geo::coord! { x: x, y: y }
    }))
}

/// Reads POIs from GeoJSON (`Point`, `Polygon` or `MultiPolygon` features).
pub fn pois_from_geojson<R: Read>(
    input: R,
    mapping: &Mapping,
) -> Result<(Vec<PoiFeature>, ImportReport), ImportError> {
    let features = read_features(input)?;
    let mut tally = Tally::deduping();
    let mut out = Vec::new();
    for f in &features {
        tally.read += 1;
        let at = f.index as u64;
        let props = f.properties.as_ref();
        let result = (|| {
            let g = f.geometry.as_ref().ok_or(SkipReason::MissingCoordinates)?;
            if !matches!(
                g,
                Geometry::Point(_) | Geometry::Polygon(_) | Geometry::MultiPolygon(_)
            ) {
                return Err(SkipReason::WrongGeometry(geometry_name(g)));
            }
            let geometry = geometry_to_wgs84(g, mapping.crs)?;
            let kind_text = mapping.kind.as_deref().and_then(|k| prop_text(props, k));
            let kind = poi_kind(mapping, kind_text.as_deref())?;
            let name = mapping.name.as_deref().and_then(|k| prop_text(props, k));
            let external_id = match feature_id(f, mapping) {
                Some(id) => format!("{}:{id}", mapping.source),
                None => content_id(
                    &mapping.source,
                    &[
                        kind.as_str(),
                        name.as_deref().unwrap_or_default(),
                        &format!("{geometry:?}"),
                    ],
                ),
            };
            Ok(PoiFeature {
                kind,
                name,
                geometry,
                external_id,
            })
        })();
        match result {
            Ok(p) if tally.first_time(&p.external_id, at) => {
                tally.imported += 1;
                out.push(p);
            }
            Ok(_) => {}
            Err(reason) => tally.skip(reason, at),
        }
    }
    Ok((out, tally.report()))
}

// ---------------------------------------------------------------- zones

fn zone_kind(value: Option<&str>, default: ZoneKind) -> Result<ZoneKind, SkipReason> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| SkipReason::UnknownZoneKind(v.to_owned())),
    }
}

fn radius(mapping: &Mapping, value: Option<String>) -> Result<f64, SkipReason> {
    let r = match value {
        Some(v) => v.parse::<f64>().map_err(|_| SkipReason::BadRadius)?,
        None => mapping
            .default_radius_m
            .unwrap_or(zones::DEFAULT_POINT_RADIUS_M),
    };
    if r.is_finite() && r > 0.0 {
        Ok(r)
    } else {
        Err(SkipReason::BadRadius)
    }
}

/// Reads zones from GeoJSON: `Polygon` / `MultiPolygon` features become area zones (or the kind in
/// the `kind` property), Point features circles of `radius` metres (point zones).
pub fn zones_from_geojson<R: Read>(
    input: R,
    mapping: &Mapping,
) -> Result<(Vec<ZoneShape>, ImportReport), ImportError> {
    let features = read_features(input)?;
    let mut tally = Tally::deduping();
    let mut out = Vec::new();
    for f in &features {
        tally.read += 1;
        let at = f.index as u64;
        let props = f.properties.as_ref();
        let result = (|| {
            let g = f.geometry.as_ref().ok_or(SkipReason::MissingCoordinates)?;
            let geometry = geometry_to_wgs84(g, mapping.crs)?;
            let kind_text = mapping.kind.as_deref().and_then(|k| prop_text(props, k));
            let name = mapping
                .name
                .as_deref()
                .and_then(|k| prop_text(props, k))
                .unwrap_or_else(|| format!("{} #{}", mapping.source, f.index));
            let code = mapping.code.as_deref().and_then(|k| prop_text(props, k));
            let id = feature_id(f, mapping);
            let external_id = match &id {
                Some(id) => format!("{}:{id}", mapping.source),
                None => content_id(&mapping.source, &[&name, &format!("{geometry:?}")]),
            };
            let mut shape = match &geometry {
                Geometry::Point(p) => {
                    let kind = zone_kind(kind_text.as_deref(), ZoneKind::Point)?;
                    let r = radius(
                        mapping,
                        mapping.radius.as_deref().and_then(|k| prop_text(props, k)),
                    )?;
                    let mut z = zones::point_zone(
                        &name,
                        LonLat::new(p.x(), p.y()).map_err(|_| SkipReason::OutOfRange)?,
                        r,
                        &external_id,
                    )
                    .map_err(|_| SkipReason::BadRadius)?;
                    z.kind = kind;
                    z
                }
                Geometry::Polygon(_) | Geometry::MultiPolygon(_) => {
                    let kind = zone_kind(kind_text.as_deref(), ZoneKind::Area)?;
                    let mut z = zones::area_zone(&name, &geometry, &external_id)
                        .map_err(|_| SkipReason::WrongGeometry(geometry_name(&geometry)))?;
                    z.kind = kind;
                    z
                }
                other => return Err(SkipReason::WrongGeometry(geometry_name(other))),
            };
            shape.code = code;
            Ok(shape)
        })();
        match result {
            Ok(z) if tally.first_time(&z.external_id, at) => {
                tally.imported += 1;
                out.push(z);
            }
            Ok(_) => {}
            Err(reason) => tally.skip(reason, at),
        }
    }
    Ok((out, tally.report()))
}

/// Reads point zones from CSV: `lon`, `lat`, `name`, optional `radius` (metres), `kind`, `code`.
pub fn zones_from_csv<R: Read>(
    input: R,
    mapping: &Mapping,
) -> Result<(Vec<ZoneShape>, ImportReport), ImportError> {
    let lon = required(mapping.lon.as_ref(), "lon")?;
    let lat = required(mapping.lat.as_ref(), "lat")?;
    let mut rdr = csv_reader(input);
    let index = csv_header(
        &mut rdr,
        mapping,
        &[
            ("lon", mapping.lon.as_ref()),
            ("lat", mapping.lat.as_ref()),
            ("name", mapping.name.as_ref()),
            ("kind", mapping.kind.as_ref()),
            ("code", mapping.code.as_ref()),
            ("radius", mapping.radius.as_ref()),
        ],
    )?;
    let mut tally = Tally::deduping();
    let mut out = Vec::new();
    for_each_csv_row(&mut rdr, |record, line| {
        tally.read += 1;
        let row = CsvRow {
            record,
            index: &index,
        };
        let field = |k: &Option<String>| k.as_deref().and_then(|c| row.field(c)).map(str::to_owned);
        let result = csv_position_of(&row, lon, lat, mapping.crs).and_then(|p| {
            let kind = zone_kind(field(&mapping.kind).as_deref(), ZoneKind::Point)?;
            let r = radius(mapping, field(&mapping.radius))?;
            let name =
                field(&mapping.name).unwrap_or_else(|| format!("{} line {line}", mapping.source));
            let external_id = match field(&mapping.id) {
                Some(id) => format!("{}:{id}", mapping.source),
                None => content_id(
                    &mapping.source,
                    &[&name, &format!("{:.7},{:.7},{r}", p.lon(), p.lat())],
                ),
            };
            let mut z =
                zones::point_zone(&name, p, r, &external_id).map_err(|_| SkipReason::BadRadius)?;
            z.kind = kind;
            z.code = field(&mapping.code);
            Ok(z)
        });
        match result {
            Ok(z) if tally.first_time(&z.external_id, line) => {
                tally.imported += 1;
                out.push(z);
            }
            Ok(_) => {}
            Err(reason) => tally.skip(reason, line),
        }
    })?;
    Ok((out, tally.report()))
}

// ---------------------------------------------------------------- boundaries

/// An administrative boundary read from GeoJSON (e.g. a `DataV` `GeoAtlas` district outline).
#[derive(Debug, Clone, PartialEq)]
pub struct Boundary {
    /// Name (`name` property).
    pub name: String,
    /// Administrative code (`adcode` property, or the `code_property` asked for), if any.
    pub code: Option<String>,
    /// Outline in WGS-84 lon/lat, RFC 7946 orientation.
    pub geometry: geo::MultiPolygon<f64>,
}

/// Reads `Polygon` / `MultiPolygon` features as boundaries, converting from `crs` to WGS-84.
/// Names come from the `name` property, codes from `adcode` (`DataV`) or `code`.
pub fn boundaries_from_geojson<R: Read>(input: R, crs: Crs) -> Result<Vec<Boundary>, ImportError> {
    use geo::{Orient, orient::Direction};
    let features = read_features(input)?;
    let mut out = Vec::new();
    for f in &features {
        let props = f.properties.as_ref();
        let bad = |message: String| ImportError::GeoJson {
            index: Some(f.index),
            message,
        };
        let g = f
            .geometry
            .as_ref()
            .ok_or_else(|| bad("a boundary feature without geometry".into()))?;
        let g = geometry_to_wgs84(g, crs).map_err(|r| bad(r.to_string()))?;
        let mp = match g {
            Geometry::Polygon(p) => geo::MultiPolygon::new(vec![p]),
            Geometry::MultiPolygon(mp) => mp,
            other => {
                return Err(bad(format!(
                    "a boundary must be a polygon, not a {}",
                    geometry_name(&other)
                )));
            }
        };
        out.push(Boundary {
            name: prop_text(props, "name").unwrap_or_default(),
            code: prop_text(props, "adcode").or_else(|| prop_text(props, "code")),
            geometry: mp.orient(Direction::Default),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> Mapping {
        Mapping::from_toml(
            r#"
source = "t"
id = "id"
lon = "x"
lat = "y"
category = "type"
subcategory = "sub"
description = ["sub", "note"]
time = "when"
time_format = "%Y/%m/%d %H:%M"
[categories]
"parking" = "illegal_parking"
"parking / hydrant" = "blocked_fire_lane"
"trash" = "garbage"
"#,
        )
        .unwrap()
    }

    fn table() -> CategoryTable {
        CategoryTable::builtin()
    }

    #[test]
    fn csv_rows_are_mapped_or_skipped_with_reasons() {
        let csv = "id,x,y,type,sub,note,when\n\
            1,121.5,31.28,parking,hydrant,at gate,2024/05/06 08:30\n\
            2,121.5,31.28,parking,,,2024/05/06 09:00\n\
            3,,,trash,,,\n\
            4,abc,31.2,trash,,,\n\
            5,0,0,trash,,,\n\
            6,121.5,95,trash,,,\n\
            7,121.5,31.28,,,,\n\
            8,121.5,31.28,noise,,,\n\
            9,121.5,31.28,trash,,,yesterday\n\
            1,121.5,31.28,trash,,,\n";
        let (recs, rep) = problems_from_csv(csv.as_bytes(), &mapping(), &table()).unwrap();
        assert_eq!(rep.read, 10);
        assert_eq!(rep.imported, 2);
        assert_eq!(rep.skipped_total(), 8);
        assert_eq!(
            recs[0].category, "blocked_fire_lane",
            "subcategory key wins"
        );
        assert_eq!(recs[0].source_category, "parking / hydrant");
        assert_eq!(recs[0].description, "hydrant | at gate");
        assert_eq!(
            recs[0].reported_at.unwrap().to_rfc3339(),
            "2024-05-06T00:30:00+00:00",
            "default offset +08:00"
        );
        assert_eq!(recs[0].origin, 2);
        assert_eq!(recs[1].category, "illegal_parking");
        assert_eq!(rep.count(&SkipReason::MissingCoordinates), 1);
        assert_eq!(rep.count(&SkipReason::BadCoordinates), 1);
        assert_eq!(rep.count(&SkipReason::NullIsland), 1);
        assert_eq!(rep.count(&SkipReason::OutOfRange), 1);
        assert_eq!(rep.count(&SkipReason::MissingCategory), 1);
        assert_eq!(rep.count(&SkipReason::UnknownCategory("noise".into())), 1);
        assert_eq!(rep.count(&SkipReason::BadTime), 1);
        assert_eq!(rep.count(&SkipReason::DuplicateId), 1);
        let dup = rep
            .skipped
            .iter()
            .find(|g| g.reason == SkipReason::DuplicateId)
            .unwrap();
        assert_eq!(
            dup.examples,
            vec![11],
            "line numbers count the header as line 1"
        );
    }

    /// Excel saves CSV with CRLF: the rows are numbered as in the LF file, for records, skips
    /// and errors, also with a line break inside a quoted field.
    #[test]
    fn crlf_files_number_rows_like_lf_files() {
        let lf = "id,x,y,type,sub,note,when\n\
            1,121.5,31.28,parking,hydrant,\"two\nlines\",\n\
            2,,,trash,,,\n\
            3,121.5,31.28,trash,,,\n\
            3,121.5,31.28,trash,,,\n";
        let crlf = lf.replace('\n', "\r\n");
        let numbers = |text: &str| {
            let (recs, rep) = problems_from_csv(text.as_bytes(), &mapping(), &table()).unwrap();
            let origins: Vec<u64> = recs.iter().map(|r| r.origin).collect();
            let skips: Vec<Vec<u64>> = rep.skipped.iter().map(|g| g.examples.clone()).collect();
            (origins, skips)
        };
        let (origins, skips) = numbers(lf);
        assert_eq!(origins, [2, 4]);
        assert_eq!(numbers(&crlf), (origins, skips));
        let bad = "id,x,y,type,sub,note,when\n1,121.5,31.28,parking,,,\n2,121.5,31.28\n";
        for text in [bad.to_owned(), bad.replace('\n', "\r\n")] {
            let err = problems_from_csv(text.as_bytes(), &mapping(), &table()).unwrap_err();
            assert!(matches!(err, ImportError::Csv { line: 3, .. }), "{err}");
        }
    }

    #[test]
    fn malformed_csv_names_the_line_and_returns_nothing() {
        let csv = "id,x,y,type,sub,note,when\n1,121.5,31.28,parking,,,\n2,121.5,31.28\n";
        let err = problems_from_csv(csv.as_bytes(), &mapping(), &table()).unwrap_err();
        assert!(matches!(err, ImportError::Csv { line: 3, .. }), "{err}");
        assert!(
            err.to_string().contains("3 fields where the header has 7"),
            "{err}"
        );
        let err = problems_from_csv("id,x,lat\n".as_bytes(), &mapping(), &table()).unwrap_err();
        assert!(
            matches!(err, ImportError::MissingColumn { role: "lat", .. }),
            "{err}"
        );
    }

    #[test]
    fn mapping_errors_are_named() {
        let err = Mapping::from_toml("source = \"a\"\ncolour = \"red\"\n").unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = Mapping::from_toml("source = \"a\"\ncrs = \"mars\"\n").unwrap_err();
        assert!(err.to_string().contains("mars"), "{err}");
        let err = Mapping::from_toml("source = \"a\"\nutc_offset = \"8\"\n").unwrap_err();
        assert!(err.to_string().contains("utc_offset"), "{err}");
        let m = Mapping::from_toml(
            "source = \"a\"\ncategory = \"c\"\n[categories]\nx = \"no_such_code\"\n",
        )
        .unwrap();
        let err = m.check_categories(&table()).unwrap_err();
        assert!(err.to_string().contains("no_such_code"), "{err}");
    }

    #[test]
    fn content_hash_ids_are_stable_and_distinct() {
        let mut m = mapping();
        m.id = None;
        let csv = "id,x,y,type,sub,note,when\n\
            a,121.5,31.28,trash,,x,\n\
            b,121.5,31.28,trash,,y,\n";
        let (r1, _) = problems_from_csv(csv.as_bytes(), &m, &table()).unwrap();
        let (r2, _) = problems_from_csv(csv.as_bytes(), &m, &table()).unwrap();
        assert_eq!(r1, r2, "re-import yields the same ids");
        assert_ne!(r1[0].external_id, r1[1].external_id);
        assert!(r1[0].external_id.starts_with("t:h"));
        // Published FNV-1a 64 test vectors (Fowler/Noll/Vo, draft-eastlake-fnv).
        assert_eq!(fnv1a_bytes(*b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_bytes(*b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_bytes(*b"foobar"), 0x8594_4171_f739_67e8);
        assert_ne!(fnv1a(&["ab"]), fnv1a(&["a", "b"]));
    }

    #[test]
    fn geojson_problems_pois_and_zones() {
        let gj = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","id":7,"geometry":{"type":"Point","coordinates":[121.5,31.28]},
           "properties":{"type":"trash","note":"bag"}},
          {"type":"Feature","geometry":{"type":"LineString","coordinates":[[121.5,31.28],[121.6,31.29]]},
           "properties":{"type":"trash"}},
          {"type":"Feature","geometry":null,"properties":{"type":"trash"}}
        ]}"#;
        let mut m = mapping();
        m.id = None;
        m.time = None;
        let (recs, rep) = problems_from_geojson(gj.as_bytes(), &m, &table()).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].external_id, "t:7", "the feature id is the key");
        assert_eq!(rep.count(&SkipReason::WrongGeometry("LineString")), 1);
        assert_eq!(rep.count(&SkipReason::MissingCoordinates), 1);

        let pois = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","geometry":{"type":"Point","coordinates":[121.5,31.28]},"properties":{"n":"A","k":"小学"}},
          {"type":"Feature","geometry":{"type":"Point","coordinates":[121.5,31.28]},"properties":{"n":"B","k":"mall"}}]}"#;
        let pm = Mapping::from_toml(
            "source = \"p\"\ncrs = \"gcj02\"\nname = \"n\"\nkind = \"k\"\n[kinds]\n\"小学\" = \"school\"\n",
        )
        .unwrap();
        let (ps, rep) = pois_from_geojson(pois.as_bytes(), &pm).unwrap();
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].kind, PoiKind::School);
        let Geometry::Point(p) = ps[0].geometry else {
            panic!()
        };
        assert!((p.x() - 121.5).abs() > 1e-3, "GCJ-02 input was converted");
        assert_eq!(rep.count(&SkipReason::UnknownKind("mall".into())), 1);

        let zs = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[121.5,31.28],[121.5,31.29],[121.51,31.29],[121.51,31.28],[121.5,31.28]]]},"properties":{"name":"片区一"}},
          {"type":"Feature","geometry":{"type":"Point","coordinates":[121.5,31.28]},"properties":{"name":"校门","r":80}}]}"#;
        let zm = Mapping::from_toml("source = \"z\"\nname = \"name\"\nradius = \"r\"\n").unwrap();
        let (zones, rep) = zones_from_geojson(zs.as_bytes(), &zm).unwrap();
        assert_eq!(rep.imported, 2);
        assert_eq!(zones[0].kind, ZoneKind::Area);
        assert_eq!(zones[1].kind, ZoneKind::Point);
        let circle = std::f64::consts::PI * 80.0 * 80.0;
        assert!((zones[1].area_m2() / circle - 1.0).abs() < 0.005);
    }

    #[test]
    fn malformed_geojson_names_line_or_feature() {
        let m = mapping();
        let err = problems_from_geojson(
            "{\"type\":\"FeatureCollection\",\n\"features\":[}".as_bytes(),
            &m,
            &table(),
        )
        .unwrap_err();
        assert!(matches!(err, ImportError::Json { line: 2, .. }), "{err}");
        let bad_feature = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}},
          {"type":"Feature","geometry":{"type":"Polygon","coordinates":[1,2]},"properties":{}}]}"#;
        // Read feature by feature, a feature that is not GeoJSON is named by its index.
        let err = problems_from_geojson(bad_feature.as_bytes(), &m, &table()).unwrap_err();
        assert!(
            matches!(err, ImportError::GeoJson { index: Some(1), .. }),
            "{err}"
        );
        let err = problems_from_geojson(
            r#"{"type":"Point","coordinates":[1,2]}"#.as_bytes(),
            &m,
            &table(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("bare Geometry"), "{err}");
    }

    #[test]
    fn csv_pois_and_point_zones() {
        let m = Mapping::from_toml(
            "source = \"s\"\nlon = \"lon\"\nlat = \"lat\"\nname = \"name\"\ndefault_kind = \"market\"\nradius = \"r\"\n",
        )
        .unwrap();
        let csv = "lon,lat,name,r\n121.5,31.28,长白菜场,\n121.5,31.28,x,-3\n";
        let (ps, rep) = pois_from_csv(csv.as_bytes(), &m).unwrap();
        assert_eq!((ps.len(), rep.read), (2, 2));
        assert_eq!(ps[0].kind, PoiKind::Market);
        let (zs, rep) = zones_from_csv(csv.as_bytes(), &m).unwrap();
        assert_eq!(zs.len(), 1);
        assert_eq!(rep.count(&SkipReason::BadRadius), 1);
        let circle = std::f64::consts::PI * 50.0 * 50.0;
        assert!(
            (zs[0].area_m2() / circle - 1.0).abs() < 0.005,
            "default radius 50 m"
        );
    }
}
