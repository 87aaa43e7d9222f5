//! A problem as GeoJSON: the Feature (RFC 7946) written straight from the in-memory record,
//! with the properties a view allows, and the OpenAPI description of what it writes.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use civmap_app::App;
use civmap_app::actor::Actor;
use civmap_app::memory::record::{NO_DEADLINE, Record};
use civmap_app::privacy::{PublicTexts, generalise_position, public_position};
use civmap_app::time::{from_ms, rfc3339, to_ms};
use civmap_domain::{CategoryTable, ProblemId, UserId};
use civmap_geodata::crs::Crs;
use civmap_geodata::place::Gazetteer;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use uuid::Uuid;

/// The property names of a problem Feature, in output order.
pub const PROPERTY_NAMES: [&str; 27] = [
    "id",
    "case_no",
    "place",
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
    "assignee_name",
    "zone_name",
    "reporter",
    "public_description",
    "description_hidden",
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

/// What a view looks names up in: the gazetteer (the public's wording of an indoor problem's
/// place), the zones' names and, for staff, people's names. Taken before the problems are
/// locked: zones are never locked while the problems are (the lock order elsewhere is zones,
/// then problems).
#[derive(Debug, Default)]
pub struct Names {
    places: Arc<Gazetteer>,
    /// What the public reads for descriptions the street office hid or reworded.
    texts: Arc<PublicTexts>,
    zones: HashMap<Uuid, String>,
    app: Option<App>,
}

impl Names {
    /// The names `actor` may read: staff get zone and people names, the public neither.
    #[must_use]
    pub fn new(app: &App, actor: &Actor) -> Self {
        let public = actor.is_public();
        Self {
            places: app.gazetteer(),
            texts: app.public_texts(),
            zones: if public {
                HashMap::new()
            } else {
                app.zones()
                    .map
                    .values()
                    .map(|z| (z.id.0, z.name.clone()))
                    .collect()
            },
            app: (!public).then(|| app.clone()),
        }
    }

    fn person(&self, user: Option<Uuid>) -> Option<String> {
        let app = self.app.as_ref()?;
        app.accounts().name_of(UserId(user?))
    }
}

/// How a record is shown: the output CRS, the properties, and whether the caller is the public.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub table: &'a CategoryTable,
    pub names: &'a Names,
    pub crs: Crs,
    /// Public callers see no personal data, and problems of indoor categories (stairwells,
    /// windows) at a generalised position (the centre of their 50 m cell, see
    /// [`civmap_app::privacy::generalise_position`]), so no household can be identified.
    pub public: bool,
    pub now_ms: i64,
    /// The properties written ([`PropertySet::ALL`] by default).
    pub props: PropertySet,
}

/// Output coordinates are rounded to 1e-7° (about 1 cm), plenty for problem points and much
/// shorter than 17 significant digits.
#[must_use]
pub fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// How a caller sees problems: public callers without personal data, indoor problems
/// generalised; every property; now.
#[must_use]
pub fn view<'a>(table: &'a CategoryTable, names: &'a Names, crs: Crs, actor: &Actor) -> View<'a> {
    View {
        table,
        names,
        crs,
        public: actor.is_public(),
        now_ms: to_ms(Utc::now()),
        props: PropertySet::ALL,
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
        field!("case_no", &r.case_no());
        if self.generalised {
            let [lon, lat] = generalise_position([r.lon, r.lat]);
            field!("place", &v.names.places.describe_street(lon, lat));
        } else {
            field!("place", &*r.place);
        }
        field!("category", cat.map_or("?", |c| c.code.as_str()));
        field!("category_name", cat.map_or("?", |c| c.name_zh.as_str()));
        field!("category_name_en", cat.map_or("?", |c| c.name_en.as_str()));
        field!("severity", r.severity.as_str());
        field!("status", r.status.as_str());
        field!("open", &r.status.is_open());
        if v.public {
            field!(
                "description",
                &*v.names.texts.describe(self.id, &r.description)
            );
        } else {
            field!("description", &*r.description);
        }
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
            field!("assignee_name", &v.names.person(r.assignee()));
            field!("zone_name", &r.zone().and_then(|z| v.names.zones.get(&z)));
            field!("reporter", &r.reporter());
            if let Some(t) = v.names.texts.get(self.id) {
                field!("public_description", &*t.text);
                field!("description_hidden", &t.hidden);
            }
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
    /// The case number people read, type and print (`CM261207-0003`: the report's day in China
    /// Standard Time and its number that day); `GET /api/v1/problems/{id}` takes it as the id.
    #[schema(example = "CM261207-0003")]
    case_no: Option<String>,
    /// Where it is in words, from OpenStreetMap at report time (`四平路1239号附近`); empty when
    /// nothing named is near. The public reads an indoor problem's place by its road only.
    #[schema(example = "四平路1239号附近")]
    place: String,
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
    /// Staff only: the chief's shown name.
    assignee_name: Option<String>,
    /// Staff only: the name of the zone it was dispatched through.
    zone_name: Option<String>,
    /// Staff only: who reported it.
    reporter: Option<Uuid>,
    /// Staff only, present when the street office set it: what the public reads instead of
    /// `description` (empty when hidden). The public reads it as `description`.
    public_description: Option<String>,
    /// Staff only, present when the street office acted: the public reads `（内容已隐藏）`
    /// instead of the description.
    description_hidden: Option<bool>,
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
    use civmap_app::privacy::generalise_position;
    use civmap_app::time::now_ms;
    use civmap_domain::{NewProblem, Problem, Severity, UserId};
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
    fn feature_shape_and_privacy() {
        let t = CategoryTable::builtin();
        let p = sample(&t, "stairwell_clutter");
        let r = Record::from_problem(&p, &t).unwrap();
        let names = Names::default();
        let staff = View {
            table: &t,
            names: &names,
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
}
