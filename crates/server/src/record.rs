//! The in-memory copy of a problem that `GET` answers from, and its GeoJSON rendering.
//!
//! A [`Record`] is a compact [`Problem`] of 96 bytes: the category as its table id, times as
//! Unix milliseconds, user and zone ids interned as `u32`, the rare links boxed, the description
//! as a boxed string.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use civmap_domain::{
    CategoryId, CategoryTable, LonLat, Problem, ProblemId, Severity, Status, UserId, ZoneId,
};
use civmap_geodata::crs::Crs;
use parking_lot::RwLock;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use uuid::Uuid;

/// A problem as held in memory. Conversions to and from [`Problem`] are lossless for times
/// with millisecond precision (the server truncates times to milliseconds when it creates them).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub lon: f64,
    pub lat: f64,
    pub version: i64,
    pub reported_ms: i64,
    pub updated_ms: i64,
    /// `i64::MIN` when there is no deadline.
    pub deadline_ms: i64,
    pub category: CategoryId,
    pub severity: Severity,
    pub status: Status,
    pub rework_count: u32,
    pub description: Box<str>,
    /// Interned ids (see [`intern`]); 0 is none.
    reporter: u32,
    assignee: u32,
    zone: u32,
    /// Recurrence and merge links, rare enough to live behind a pointer.
    links: Option<Box<Links>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Links {
    recurrence_of: Option<Uuid>,
    merged_into: Option<Uuid>,
}

const NO_DEADLINE: i64 = i64::MIN;

/// The ids of users and zones held by records, numbered from 1. Shared by the process (an id
/// means the same everywhere), append-only, and small: one entry per user or zone ever seen.
#[derive(Debug, Default)]
struct Interner {
    ids: Vec<Uuid>,
    numbers: HashMap<Uuid, u32>,
}

static INTERNED: LazyLock<RwLock<Interner>> = LazyLock::new(RwLock::default);

/// The number of an id (0 for none), adding it when new.
fn intern(id: Option<Uuid>) -> u32 {
    let Some(id) = id else {
        return 0;
    };
    if let Some(&n) = INTERNED.read().numbers.get(&id) {
        return n;
    }
    let mut w = INTERNED.write();
    if let Some(&n) = w.numbers.get(&id) {
        return n;
    }
    w.ids.push(id);
    let n = u32::try_from(w.ids.len()).unwrap_or(u32::MAX);
    w.numbers.insert(id, n);
    n
}

/// The number of an id already interned, without adding it (`None` when no record ever held
/// it, so no record can match it).
pub(crate) fn interned(id: Uuid) -> Option<u32> {
    INTERNED.read().numbers.get(&id).copied()
}

/// The id with this number (`None` for 0).
fn resolve(n: u32) -> Option<Uuid> {
    if n == 0 {
        return None;
    }
    INTERNED.read().ids.get(n as usize - 1).copied()
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

impl Record {
    /// The compact form of `p`; `None` if its category is not in `table`.
    #[must_use]
    pub fn from_problem(p: &Problem, table: &CategoryTable) -> Option<Record> {
        Self::build(p, p.description.clone().into_boxed_str(), table)
    }

    /// [`Record::from_problem`] taking the problem, so its description moves instead of being
    /// copied (at start-up, a million copies would leave a million holes in the heap).
    #[must_use]
    pub fn from_owned(mut p: Problem, table: &CategoryTable) -> Option<Record> {
        let description = std::mem::take(&mut p.description).into_boxed_str();
        Self::build(&p, description, table)
    }

    fn build(p: &Problem, description: Box<str>, table: &CategoryTable) -> Option<Record> {
        Some(Record {
            lon: p.location.lon(),
            lat: p.location.lat(),
            version: p.version,
            reported_ms: to_ms(p.reported_at),
            updated_ms: to_ms(p.updated_at),
            deadline_ms: p.deadline.map_or(NO_DEADLINE, to_ms),
            category: table.id(&p.category).ok()?,
            severity: p.severity,
            status: p.status,
            rework_count: p.rework_count,
            description,
            reporter: intern(p.reporter.map(|u| u.0)),
            assignee: intern(p.assignee.map(|u| u.0)),
            zone: intern(p.zone.map(|z| z.0)),
            links: (p.recurrence_of.is_some() || p.merged_into.is_some()).then(|| {
                Box::new(Links {
                    recurrence_of: p.recurrence_of.map(|x| x.0),
                    merged_into: p.merged_into.map(|x| x.0),
                })
            }),
        })
    }

    /// The full problem again.
    #[must_use]
    pub fn to_problem(&self, id: ProblemId, table: &CategoryTable) -> Problem {
        Problem {
            id,
            location: self.location(),
            category: self.category_code(table).to_owned(),
            severity: self.severity,
            status: self.status,
            description: self.description.to_string(),
            reported_at: from_ms(self.reported_ms),
            reporter: self.reporter().map(UserId),
            updated_at: from_ms(self.updated_ms),
            deadline: self.deadline(),
            assignee: self.assignee().map(UserId),
            zone: self.zone().map(ZoneId),
            rework_count: self.rework_count,
            recurrence_of: self.recurrence_of().map(ProblemId),
            merged_into: self.merged_into().map(ProblemId),
            version: self.version,
        }
    }

    /// Who reported it.
    #[must_use]
    pub fn reporter(&self) -> Option<Uuid> {
        resolve(self.reporter)
    }

    /// The chief it is dispatched to.
    #[must_use]
    pub fn assignee(&self) -> Option<Uuid> {
        resolve(self.assignee)
    }

    /// The zone it was dispatched through.
    #[must_use]
    pub fn zone(&self) -> Option<Uuid> {
        resolve(self.zone)
    }

    /// The interned number of the reporter (0: none); compare with [`interned`].
    pub(crate) fn reporter_key(&self) -> u32 {
        self.reporter
    }

    /// The interned number of the assignee (0: none); compare with [`interned`].
    pub(crate) fn assignee_key(&self) -> u32 {
        self.assignee
    }

    /// The interned number of the zone dispatched through (0: none).
    pub(crate) fn zone_key(&self) -> u32 {
        self.zone
    }

    /// The closed problem this one is a recurrence of.
    #[must_use]
    pub fn recurrence_of(&self) -> Option<Uuid> {
        self.links.as_ref().and_then(|l| l.recurrence_of)
    }

    /// The problem this duplicate was merged into.
    #[must_use]
    pub fn merged_into(&self) -> Option<Uuid> {
        self.links.as_ref().and_then(|l| l.merged_into)
    }

    /// The WGS-84 position.
    #[must_use]
    pub fn location(&self) -> LonLat {
        // Records are only built from validated problems, whose positions are valid.
        LonLat::new(self.lon, self.lat)
            .or_else(|_| LonLat::new(0.0, 0.0))
            .unwrap_or_else(|_| unreachable!("0, 0 is a valid position"))
    }

    /// The deadline, if dispatched with one.
    #[must_use]
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        (self.deadline_ms != NO_DEADLINE).then(|| from_ms(self.deadline_ms))
    }

    /// The category code (`?` if the table lost it, which the server never does).
    #[must_use]
    pub fn category_code<'t>(&self, table: &'t CategoryTable) -> &'t str {
        table.get(self.category).map_or("?", |c| c.code.as_str())
    }

    /// Open and past its deadline at `now_ms`.
    #[must_use]
    pub fn is_overdue(&self, now_ms: i64) -> bool {
        self.status.is_open() && self.deadline_ms != NO_DEADLINE && self.deadline_ms < now_ms
    }
}

/// The property names of a problem Feature, in output order.
pub const PROPERTY_NAMES: [&str; 21] = [
    "id",
    "category",
    "category_name",
    "category_name_en",
    "severity",
    "status",
    "open",
    "description",
    "reported_at",
    "updated_at",
    "deadline",
    "overdue",
    "rework_count",
    "zone",
    "recurrence_of",
    "merged_into",
    "version",
    "assignee",
    "reporter",
    "crs",
    "location_generalised",
];

/// A set of problem properties (a bitmask over [`PROPERTY_NAMES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertySet(u32);

impl PropertySet {
    /// Every property.
    pub const ALL: PropertySet = PropertySet((1 << PROPERTY_NAMES.len()) - 1);

    /// Parses a comma-separated list of property names (OGC API Features Part 6 style
    /// `properties=category,status`); an unknown name is the error's payload.
    pub fn parse(list: &str) -> Result<PropertySet, String> {
        let mut bits = 0u32;
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let i = PROPERTY_NAMES
                .iter()
                .position(|p| *p == name)
                .ok_or_else(|| name.to_owned())?;
            bits |= 1 << i;
        }
        Ok(PropertySet(bits))
    }

    fn has(self, name: &str) -> bool {
        PROPERTY_NAMES
            .iter()
            .position(|p| *p == name)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }
}

/// How a record is shown: the output CRS, the properties, and whether the caller is the public.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub table: &'a CategoryTable,
    pub crs: Crs,
    /// Public callers see no personal data, and problems of indoor categories (stairwells,
    /// windows) at a generalised position (the centre of their 50 m cell, see
    /// [`generalise_position`]), so no household can be identified.
    pub public: bool,
    pub now_ms: i64,
    /// The properties written ([`PropertySet::ALL`] by default).
    pub props: PropertySet,
}

/// Output coordinates are rounded to 1e-7° (about 1 cm), plenty for problem points and much
/// shorter than 17 significant digits.
fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// Side of the cells that public positions of indoor problems are generalised to, metres.
pub const GENERALISED_CELL_M: f64 = 50.0;

/// Metres per degree of latitude (and of longitude at the equator) on the mean Earth sphere.
const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// The centre of the [`GENERALISED_CELL_M`] cell holding a WGS-84 `[lon, lat]`: what public
/// outputs (REST, OGC, Open311, tiles) show instead of the position of a problem of an indoor
/// category (stairwell clutter, flying-wire charging), so no household can be identified.
///
/// Cells are 50 m north-south; their width east-west is 50 m at the latitude of the cell's
/// centre line. Every position in a cell gives the same centre (idempotent), at most
/// `50 / √2 ≈ 35.4` m away from the true position.
///
/// ```
/// use civmap_server::record::generalise_position;
/// let a = generalise_position([121.497_12, 31.285_45]);
/// let b = generalise_position([121.497_13, 31.285_46]); // about 1.5 m away
/// assert_eq!(a, b);
/// assert_eq!(generalise_position(a), a);
/// ```
#[must_use]
pub fn generalise_position(p: [f64; 2]) -> [f64; 2] {
    let [lon, lat] = p;
    if !(lon.is_finite() && lat.is_finite()) {
        return p;
    }
    let dlat = GENERALISED_CELL_M / M_PER_DEG;
    let row = (lat / dlat).floor();
    let clat = ((row + 0.5) * dlat).clamp(-90.0, 90.0);
    // Near the poles a cell would be wider than the world; no street office is there.
    let dlon = (GENERALISED_CELL_M / (M_PER_DEG * clat.to_radians().cos().max(1e-6))).min(360.0);
    let col = (lon / dlon).floor();
    let clon = ((col + 0.5) * dlon).clamp(-180.0, 180.0);
    [clon, clat]
}

/// Whether problems of `category` are shown generalised to the public (indoor categories).
#[must_use]
pub fn is_generalised(table: &CategoryTable, category: CategoryId) -> bool {
    table.get(category).is_some_and(|c| c.indoor)
}

/// The WGS-84 position of `r` as the public may see it: exact, or the centre of its 50 m
/// cell for indoor categories; and whether it was generalised. For tiles and other public
/// outputs that do not go through [`View`].
#[must_use]
pub fn public_position(table: &CategoryTable, r: &Record) -> ([f64; 2], bool) {
    if is_generalised(table, r.category) {
        (generalise_position([r.lon, r.lat]), true)
    } else {
        ([r.lon, r.lat], false)
    }
}

impl View<'_> {
    /// The position shown for `r`, in the output CRS, and whether it was generalised.
    #[must_use]
    pub fn position(&self, r: &Record) -> ([f64; 2], bool) {
        let (p, generalised) = if self.public {
            public_position(self.table, r)
        } else {
            ([r.lon, r.lat], false)
        };
        (self.crs.from_wgs84(p).map(round7), generalised)
    }
}

/// Formats an instant as RFC 3339 UTC with milliseconds, e.g. `2024-05-01T08:00:00.000Z`.
#[must_use]
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Unix milliseconds serialized as [`rfc3339`] writes them (`2026-11-21T08:30:00.123Z`) without
/// going through chrono or allocating: a list of 500 features has 1,500 timestamps.
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339Ms(pub i64);

impl Rfc3339Ms {
    /// The text, for years 0 to 9999 (what RFC 3339 can write); `None` outside them.
    #[must_use]
    pub fn bytes(self) -> Option<[u8; 24]> {
        let days = self.0.div_euclid(86_400_000);
        let in_day = self.0.rem_euclid(86_400_000);
        // Days to a civil date (H. Hinnant's algorithm, proleptic Gregorian).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        if !(0..=9_999).contains(&y) {
            return None;
        }
        let mut b = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut v: i64| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, m);
        put(8, 2, d);
        put(11, 2, in_day / 3_600_000);
        put(14, 2, in_day / 60_000 % 60);
        put(17, 2, in_day / 1_000 % 60);
        put(20, 3, in_day % 1_000);
        Some(b)
    }
}

impl Serialize for Rfc3339Ms {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.bytes() {
            // The buffer is ASCII digits and separators.
            Some(b) => s.serialize_str(std::str::from_utf8(&b).unwrap_or_default()),
            None => s.serialize_str(&rfc3339(from_ms(self.0))),
        }
    }
}

/// A problem as a GeoJSON Feature (RFC 7946): `id` is the problem id, the geometry a Point
/// `[lon, lat]`, properties with stable names (see the OpenAPI schema `ProblemProperties`).
#[derive(Debug, Clone, Copy)]
pub struct FeatureOut<'a> {
    pub id: ProblemId,
    pub record: &'a Record,
    pub view: View<'a>,
}

impl Serialize for FeatureOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (pos, generalised) = self.view.position(self.record);
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("type", "Feature")?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry(
            "geometry",
            &PointGeometry {
                kind: "Point",
                coordinates: pos,
            },
        )?;
        m.serialize_entry(
            "properties",
            &Properties {
                id: self.id,
                r: self.record,
                view: &self.view,
                generalised,
            },
        )?;
        m.end()
    }
}

#[derive(Serialize)]
struct PointGeometry {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [f64; 2],
}

struct Properties<'a> {
    id: ProblemId,
    r: &'a Record,
    view: &'a View<'a>,
    generalised: bool,
}

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.r;
        let v = self.view;
        let p = v.props;
        let cat = v.table.get(r.category);
        let mut m = s.serialize_map(None)?;
        macro_rules! field {
            ($name:literal, $value:expr) => {
                if p.has($name) {
                    m.serialize_entry($name, $value)?;
                }
            };
        }
        field!("id", &self.id);
        field!("category", cat.map_or("?", |c| c.code.as_str()));
        field!("category_name", cat.map_or("?", |c| c.name_zh.as_str()));
        field!("category_name_en", cat.map_or("?", |c| c.name_en.as_str()));
        field!("severity", r.severity.as_str());
        field!("status", r.status.as_str());
        field!("open", &r.status.is_open());
        field!("description", &*r.description);
        field!("reported_at", &Rfc3339Ms(r.reported_ms));
        field!("updated_at", &Rfc3339Ms(r.updated_ms));
        field!(
            "deadline",
            &(r.deadline_ms != NO_DEADLINE).then_some(Rfc3339Ms(r.deadline_ms))
        );
        field!("overdue", &r.is_overdue(v.now_ms));
        field!("rework_count", &r.rework_count);
        field!("zone", &r.zone());
        field!("recurrence_of", &r.recurrence_of());
        field!("merged_into", &r.merged_into());
        field!("version", &r.version);
        if !v.public {
            field!("assignee", &r.assignee());
            field!("reporter", &r.reporter());
        }
        field!("crs", v.crs.as_str());
        if self.generalised {
            field!("location_generalised", &true);
        }
        m.end()
    }
}

/// The OpenAPI description of a problem Feature (the serializer above is hand-written for
/// speed; this schema documents what it writes).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ProblemFeature)]
#[allow(dead_code)]
pub struct ProblemFeatureDoc {
    /// Always `Feature`.
    #[schema(example = "Feature")]
    r#type: String,
    /// The problem id (UUIDv7).
    id: Uuid,
    geometry: PointDoc,
    properties: ProblemPropertiesDoc,
}

/// A GeoJSON Point, `[lon, lat]` in degrees, WGS-84 unless `crs` said otherwise.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Point)]
#[allow(dead_code)]
pub struct PointDoc {
    #[schema(example = "Point")]
    r#type: String,
    #[schema(example = json!([121.4971, 31.2854]))]
    coordinates: [f64; 2],
}

/// The properties of a problem Feature.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ProblemProperties)]
#[allow(dead_code)]
pub struct ProblemPropertiesDoc {
    id: Uuid,
    /// Category code, e.g. `illegal_parking`.
    category: String,
    /// Chinese category name, e.g. `违停`.
    category_name: String,
    category_name_en: String,
    /// `low`, `medium`, `high` or `critical`.
    severity: String,
    /// `reported`, `dispatched`, `escalated`, `rectified`, `closed`, `recurred` or `merged`.
    status: String,
    /// Whether the problem still needs work (not closed or merged).
    open: bool,
    description: String,
    /// RFC 3339, UTC, milliseconds.
    reported_at: String,
    updated_at: String,
    deadline: Option<String>,
    /// Open and past its deadline.
    overdue: bool,
    /// How often a rectification was rejected (返工).
    rework_count: u32,
    zone: Option<Uuid>,
    recurrence_of: Option<Uuid>,
    merged_into: Option<Uuid>,
    /// Send it back with the next change; a stale version is answered with 409.
    version: i64,
    /// Staff only: the chief it is dispatched to.
    assignee: Option<Uuid>,
    /// Staff only: who reported it.
    reporter: Option<Uuid>,
    /// The CRS of the coordinates: `wgs84` (default), `gcj02` or `bd09`.
    crs: String,
    /// Present and true when the position was generalised for the public (indoor categories).
    location_generalised: Option<bool>,
}

/// A `FeatureCollection` of problems with the `next` cursor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ProblemCollection)]
#[allow(dead_code)]
pub struct ProblemCollectionDoc {
    #[schema(example = "FeatureCollection")]
    r#type: String,
    features: Vec<ProblemFeatureDoc>,
    /// Features in this page.
    #[serde(rename = "numberReturned")]
    number_returned: usize,
    /// Opaque cursor for the next page; absent on the last page.
    next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use civmap_domain::NewProblem;
    use rand::{Rng as _, SeedableRng as _};

    #[test]
    fn fast_timestamps_are_what_chrono_writes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let edges = [
            0,
            -1,
            1,
            951_782_400_000,     // 2000-02-29
            4_107_542_399_999,   // 2100-02-28T23:59:59.999
            -62_167_219_200_000, // 0000-01-01
            253_402_300_799_999, // 9999-12-31T23:59:59.999
        ];
        for ms in edges
            .into_iter()
            .chain((0..200_000).map(|_| rng.random_range(-62_167_219_200_000..253_402_300_800_000)))
        {
            let b = Rfc3339Ms(ms).bytes().unwrap();
            assert_eq!(
                std::str::from_utf8(&b).unwrap(),
                rfc3339(from_ms(ms)),
                "{ms}"
            );
        }
        assert!(Rfc3339Ms(253_402_300_800_000).bytes().is_none());
        assert!(Rfc3339Ms(-62_167_219_200_001).bytes().is_none());
        assert_eq!(
            serde_json::to_string(&Rfc3339Ms(1_750_000_000_123)).unwrap(),
            format!("\"{}\"", rfc3339(from_ms(1_750_000_000_123)))
        );
    }

    fn sample(table: &CategoryTable, cat: &str) -> Problem {
        NewProblem {
            lon: 121.497_123_4,
            lat: 31.285_456_7,
            category: cat.into(),
            severity: Severity::High,
            description: "楼道堆物".into(),
        }
        .validate(table, Some(UserId::new()), now_ms())
        .unwrap()
    }

    #[test]
    fn round_trip_through_record() {
        let t = CategoryTable::builtin();
        let mut p = sample(&t, "garbage");
        p.deadline = Some(now_ms());
        p.zone = Some(ZoneId::new());
        let r = Record::from_problem(&p, &t).unwrap();
        assert_eq!(r.to_problem(p.id, &t), p);
        p.merged_into = Some(ProblemId::new());
        let r = Record::from_problem(&p, &t).unwrap();
        assert_eq!(r.to_problem(p.id, &t), p);
        assert_eq!(
            std::mem::size_of::<Record>(),
            96,
            "the memory budget counts on it"
        );
    }

    #[test]
    fn feature_shape_and_privacy() {
        let t = CategoryTable::builtin();
        let p = sample(&t, "stairwell_clutter");
        let r = Record::from_problem(&p, &t).unwrap();
        let staff = View {
            table: &t,
            crs: Crs::Wgs84,
            public: false,
            now_ms: 0,
            props: PropertySet::ALL,
        };
        let v = serde_json::to_value(FeatureOut {
            id: p.id,
            record: &r,
            view: staff,
        })
        .unwrap();
        assert_eq!(v["type"], "Feature");
        assert_eq!(v["id"], p.id.to_string());
        assert_eq!(
            v["geometry"]["coordinates"][0], 121.497_123_4,
            "7 decimals are kept"
        );
        assert_eq!(v["properties"]["category_name"], "楼道堆物");
        assert!(v["properties"]["reporter"].is_string());
        let public = View {
            public: true,
            ..staff
        };
        let v = serde_json::to_value(FeatureOut {
            id: p.id,
            record: &r,
            view: public,
        })
        .unwrap();
        assert!(
            v["properties"].get("reporter").is_none(),
            "no personal data"
        );
        let shown = [
            v["geometry"]["coordinates"][0].as_f64().unwrap(),
            v["geometry"]["coordinates"][1].as_f64().unwrap(),
        ];
        assert_ne!(shown, [121.497_123_4, 31.285_456_7], "indoor: generalised");
        let cell = generalise_position([121.497_123_4, 31.285_456_7]);
        assert!((shown[0] - cell[0]).abs() < 1e-7 && (shown[1] - cell[1]).abs() < 1e-7);
        assert_eq!(v["properties"]["location_generalised"], true);
        let lean = View {
            props: PropertySet::parse("category,status").unwrap(),
            ..staff
        };
        let v = serde_json::to_value(FeatureOut {
            id: p.id,
            record: &r,
            view: lean,
        })
        .unwrap();
        assert_eq!(
            v["properties"],
            serde_json::json!({"category": "stairwell_clutter", "status": "reported"})
        );
        assert_eq!(PropertySet::parse("category,nope"), Err("nope".to_owned()));
    }

    /// Metres between two WGS-84 positions (equirectangular; fine at these distances).
    fn metres(a: [f64; 2], b: [f64; 2]) -> f64 {
        let mid = f64::midpoint(a[1], b[1]).to_radians();
        let dx = (a[0] - b[0]) * M_PER_DEG * mid.cos();
        let dy = (a[1] - b[1]) * M_PER_DEG;
        dx.hypot(dy)
    }

    #[test]
    fn generalisation_is_a_50_m_cell() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut moved_far = 0;
        for _ in 0..20_000 {
            let p = [
                rng.random_range(121.40..121.60),
                rng.random_range(31.20..31.35),
            ];
            let g = generalise_position(p);
            let d = metres(p, g);
            assert!(d <= 35.5, "{p:?} -> {g:?} moved {d} m");
            if d > 10.0 {
                moved_far += 1;
            }
            assert_eq!(
                generalise_position(g),
                g,
                "the centre is its own cell's centre"
            );
        }
        assert!(
            moved_far > 10_000,
            "positions really are coarsened ({moved_far})"
        );
        // Cells are 50 m: centres of neighbouring cells are 50 m apart north-south.
        let a = generalise_position([121.5, 31.28]);
        let b = generalise_position([121.5, a[1] + 50.0 / M_PER_DEG]);
        assert!((metres(a, b) - 50.0).abs() < 0.5, "{}", metres(a, b));
        // Non-indoor categories are not touched, indoor ones are.
        let t = CategoryTable::builtin();
        let r = Record::from_problem(&sample(&t, "garbage"), &t).unwrap();
        assert_eq!(public_position(&t, &r), ([r.lon, r.lat], false));
        let r = Record::from_problem(&sample(&t, "flying_wire_charging"), &t).unwrap();
        let (p, g) = public_position(&t, &r);
        assert!(g && p != [r.lon, r.lat]);
    }
}
