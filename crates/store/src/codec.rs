//! Domain values to statement parameters and back.
//!
//! Times are stored as Unix milliseconds (UTC), so a value read back is the value written with
//! its sub-millisecond part dropped; [`ms_precision`] gives that stored form.

use chrono::{DateTime, Utc};
use civmap_domain::{
    CaseNo, Category, Event, EventKind, LonLat, Poi, PoiId, PoiKind, Problem, ProblemId, Role,
    Severity, Status, User, UserId, Zone, ZoneId, ZoneKind,
};
use geo_types::Geometry;

use crate::error::StoreError;
use crate::sql::{Arg, Get, col};
use crate::types::{PhotoMeta, Session, SessionKind};

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(v)
        .ok_or_else(|| StoreError::corrupt(format!("time {v} ms is out of range")))
}

/// `t` as the store keeps it: to the millisecond.
#[must_use]
pub fn ms_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// A problem as the store keeps it: its times to the millisecond.
#[must_use]
pub fn stored_problem(p: &Problem) -> Problem {
    let mut p = p.clone();
    p.reported_at = ms_precision(p.reported_at);
    p.updated_at = ms_precision(p.updated_at);
    p.deadline = p.deadline.map(ms_precision);
    p
}

pub(crate) fn parse<T: std::str::FromStr>(what: &str, v: &str) -> Result<T, StoreError> {
    v.parse()
        .map_err(|_| StoreError::corrupt(format!("{what} {v:?} is not a known value")))
}

// ---- problems ----------------------------------------------------------------------------

pub(crate) const PROBLEM_COLS: &[&str] = &[
    "id",
    "lon",
    "lat",
    "category",
    "severity",
    "status",
    "description",
    "reported_at",
    "reporter",
    "updated_at",
    "deadline",
    "assignee",
    "zone",
    "rework_count",
    "recurrence_of",
    "merged_into",
    "place",
    "version",
];

/// Written once, when a problem is first stored (numbered by the writer), never updated.
pub(crate) const CASE_COL: &str = "case_no";

/// `SELECT` list matching [`problem_from_row`].
pub(crate) const PROBLEM_SELECT: &str = "id, lon, lat, category, severity, status, description, \
    reported_at, reporter, updated_at, deadline, assignee, zone, rework_count, recurrence_of, \
    merged_into, version, case_no, place";

/// Columns of [`PROBLEM_SELECT`].
pub(crate) const PROBLEM_SELECT_LEN: usize = 19;

/// The parameters of [`PROBLEM_COLS`], in order.
pub(crate) fn problem_args(p: &Problem, out: &mut Vec<Arg>) {
    out.push(p.id.0.into());
    out.push(p.location.lon().into());
    out.push(p.location.lat().into());
    out.push(p.category.as_str().into());
    out.push(Arg::Static(p.severity.as_str()));
    out.push(Arg::Static(p.status.as_str()));
    out.push(p.description.as_str().into());
    out.push(ms(p.reported_at).into());
    out.push(p.reporter.map(|u| u.0).into());
    out.push(ms(p.updated_at).into());
    out.push(p.deadline.map(ms).into());
    out.push(p.assignee.map(|u| u.0).into());
    out.push(p.zone.map(|z| z.0).into());
    out.push(i64::from(p.rework_count).into());
    out.push(p.recurrence_of.map(|x| x.0).into());
    out.push(p.merged_into.map(|x| x.0).into());
    out.push(p.place.as_str().into());
    out.push(p.version.into());
}

/// The parameter of [`CASE_COL`].
pub(crate) fn case_arg(p: &Problem) -> Arg {
    p.case_no.map(|c| c.to_string()).into()
}

/// A stored case number, read back.
pub(crate) fn case_no(id: ProblemId, v: Option<&str>) -> Result<Option<CaseNo>, StoreError> {
    v.filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<CaseNo>()
                .map_err(|e| StoreError::corrupt(format!("problem {id}: {e}")))
        })
        .transpose()
}

pub(crate) fn problem_from_row(r: &dyn Get) -> Result<Problem, StoreError> {
    let id = ProblemId(r.uuid(0).map_err(col)?);
    let bad = |what: &str| StoreError::corrupt(format!("problem {id}: {what}"));
    let location = LonLat::new(r.f64(1).map_err(col)?, r.f64(2).map_err(col)?)
        .map_err(|e| bad(&e.to_string()))?;
    Ok(Problem {
        id,
        location,
        category: r.str(3).map_err(col)?.to_owned(),
        severity: parse::<Severity>("severity", r.str(4).map_err(col)?)?,
        status: parse::<Status>("status", r.str(5).map_err(col)?)?,
        description: r.str(6).map_err(col)?.to_owned(),
        reported_at: from_ms(r.i64(7).map_err(col)?)?,
        reporter: r.opt_uuid(8).map_err(col)?.map(UserId),
        updated_at: from_ms(r.i64(9).map_err(col)?)?,
        deadline: r.opt_i64(10).map_err(col)?.map(from_ms).transpose()?,
        assignee: r.opt_uuid(11).map_err(col)?.map(UserId),
        zone: r.opt_uuid(12).map_err(col)?.map(ZoneId),
        rework_count: u32::try_from(r.i64(13).map_err(col)?)
            .map_err(|_| bad("rework_count out of range"))?,
        recurrence_of: r.opt_uuid(14).map_err(col)?.map(ProblemId),
        merged_into: r.opt_uuid(15).map_err(col)?.map(ProblemId),
        version: r.i64(16).map_err(col)?,
        case_no: case_no(id, r.opt_str(17).map_err(col)?)?,
        place: r.str(18).map_err(col)?.to_owned(),
    })
}

// ---- events ------------------------------------------------------------------------------

pub(crate) const EVENT_SELECT: &str = "seq, problem, kind, actor, at, note, photos, data";

pub(crate) fn event_from_row(r: &dyn Get) -> Result<Event, StoreError> {
    let seq = r.i64(0).map_err(col)?;
    let bad = |what: &str| StoreError::corrupt(format!("event {seq}: {what}"));
    Ok(Event {
        seq,
        problem: ProblemId(r.uuid(1).map_err(col)?),
        kind: parse::<EventKind>("event kind", r.str(2).map_err(col)?)?,
        actor: r.opt_uuid(3).map_err(col)?.map(UserId),
        at: from_ms(r.i64(4).map_err(col)?)?,
        note: r.str(5).map_err(col)?.to_owned(),
        photos: serde_json::from_str(r.str(6).map_err(col)?)
            .map_err(|e| bad(&format!("photos: {e}")))?,
        data: serde_json::from_str(r.str(7).map_err(col)?)
            .map_err(|e| bad(&format!("data: {e}")))?,
    })
}

// ---- geometry ----------------------------------------------------------------------------

/// GeoJSON text (RFC 7946, lon/lat) and bounding box `[min_lon, min_lat, max_lon, max_lat]`.
pub(crate) fn geometry_text(g: &Geometry<f64>) -> (String, [f64; 4]) {
    let text = geojson::Geometry::new(geojson::GeometryValue::from(g)).to_string();
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    visit_coords(g, &mut |c| {
        b[0] = b[0].min(c.x);
        b[1] = b[1].min(c.y);
        b[2] = b[2].max(c.x);
        b[3] = b[3].max(c.y);
    });
    if b[0] > b[2] {
        b = [0.0; 4];
    }
    (text, b)
}

fn visit_coords(g: &Geometry<f64>, f: &mut dyn FnMut(geo_types::Coord<f64>)) {
    use geo_types::Geometry as G;
    match g {
        G::Point(p) => f(p.0),
        G::Line(l) => {
            f(l.start);
            f(l.end);
        }
        G::LineString(ls) => ls.0.iter().copied().for_each(f),
        G::Polygon(p) => p
            .exterior()
            .0
            .iter()
            .chain(p.interiors().iter().flat_map(|r| r.0.iter()))
            .copied()
            .for_each(f),
        G::MultiPoint(mp) => mp.0.iter().for_each(|p| f(p.0)),
        G::MultiLineString(m) => m.0.iter().flat_map(|l| l.0.iter()).copied().for_each(f),
        G::MultiPolygon(m) => {
            for p in &m.0 {
                visit_coords(&G::Polygon(p.clone()), f);
            }
        }
        G::GeometryCollection(c) => c.0.iter().for_each(|g| visit_coords(g, f)),
        G::Rect(r) => {
            f(r.min());
            f(r.max());
        }
        G::Triangle(t) => t.to_array().into_iter().for_each(f),
    }
}

pub(crate) fn geometry_from_text(what: &str, text: &str) -> Result<Geometry<f64>, StoreError> {
    let g: geojson::Geometry = text
        .parse()
        .map_err(|e| StoreError::corrupt(format!("{what}: geometry is not GeoJSON: {e}")))?;
    Geometry::<f64>::try_from(&g.value)
        .map_err(|e| StoreError::corrupt(format!("{what}: geometry: {e}")))
}

// ---- zones and points of interest --------------------------------------------------------

pub(crate) const ZONE_COLS: &[&str] = &[
    "id",
    "kind",
    "name",
    "poi_kind",
    "poi",
    "code",
    "geometry",
    "min_lon",
    "min_lat",
    "max_lon",
    "max_lat",
    "external_id",
];

pub(crate) fn zone_args(z: &Zone) -> Vec<Arg> {
    let (text, b) = geometry_text(&Geometry::MultiPolygon(z.geometry.clone()));
    vec![
        z.id.0.into(),
        z.kind.as_str().into(),
        z.name.as_str().into(),
        z.poi_kind.map(|k| k.as_str().to_owned()).into(),
        z.poi.map(|p| p.0).into(),
        z.code.clone().into(),
        text.into(),
        b[0].into(),
        b[1].into(),
        b[2].into(),
        b[3].into(),
        z.external_id.clone().into(),
    ]
}

pub(crate) fn zone_from_row(r: &dyn Get) -> Result<Zone, StoreError> {
    let id = ZoneId(r.uuid(0).map_err(col)?);
    let what = format!("zone {id}");
    let geometry = match geometry_from_text(&what, r.str(6).map_err(col)?)? {
        Geometry::MultiPolygon(m) => m,
        Geometry::Polygon(p) => geo_types::MultiPolygon(vec![p]),
        _ => {
            return Err(StoreError::corrupt(format!(
                "{what}: geometry is not a polygon"
            )));
        }
    };
    Ok(Zone {
        id,
        kind: parse::<ZoneKind>("zone kind", r.str(1).map_err(col)?)?,
        name: r.str(2).map_err(col)?.to_owned(),
        poi_kind: r
            .opt_str(3)
            .map_err(col)?
            .map(|s| parse::<PoiKind>("poi kind", s))
            .transpose()?,
        poi: r.opt_uuid(4).map_err(col)?.map(PoiId),
        code: r.opt_str(5).map_err(col)?.map(str::to_owned),
        geometry,
        external_id: r.opt_str(11).map_err(col)?.map(str::to_owned),
    })
}

pub(crate) const POI_COLS: &[&str] = &[
    "id",
    "kind",
    "name",
    "geometry",
    "min_lon",
    "min_lat",
    "max_lon",
    "max_lat",
    "external_id",
];

pub(crate) fn poi_args(p: &Poi) -> Vec<Arg> {
    let (text, b) = geometry_text(&p.geometry);
    vec![
        p.id.0.into(),
        p.kind.as_str().into(),
        p.name.as_str().into(),
        text.into(),
        b[0].into(),
        b[1].into(),
        b[2].into(),
        b[3].into(),
        p.external_id.clone().into(),
    ]
}

pub(crate) fn poi_from_row(r: &dyn Get) -> Result<Poi, StoreError> {
    let id = PoiId(r.uuid(0).map_err(col)?);
    Ok(Poi {
        id,
        kind: parse::<PoiKind>("poi kind", r.str(1).map_err(col)?)?,
        name: r.str(2).map_err(col)?.to_owned(),
        geometry: geometry_from_text(&format!("poi {id}"), r.str(3).map_err(col)?)?,
        external_id: r.opt_str(8).map_err(col)?.map(str::to_owned),
    })
}

// ---- users, sessions, photos, categories -------------------------------------------------

pub(crate) const USER_COLS: &[&str] = &[
    "id",
    "name",
    "display_name",
    "role",
    "street",
    "password_hash",
    "disabled",
    "created_at",
];

pub(crate) fn user_args(u: &User) -> Vec<Arg> {
    vec![
        u.id.0.into(),
        u.name.as_str().into(),
        u.display_name.as_str().into(),
        u.role.as_str().into(),
        u.street.clone().into(),
        u.password_hash.as_str().into(),
        u.disabled.into(),
        ms(u.created_at).into(),
    ]
}

pub(crate) fn user_from_row(r: &dyn Get) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(r.uuid(0).map_err(col)?),
        name: r.str(1).map_err(col)?.to_owned(),
        display_name: r.str(2).map_err(col)?.to_owned(),
        role: parse::<Role>("role", r.str(3).map_err(col)?)?,
        street: r.opt_str(4).map_err(col)?.map(str::to_owned),
        password_hash: r.str(5).map_err(col)?.to_owned(),
        disabled: r.bool(6).map_err(col)?,
        created_at: from_ms(r.i64(7).map_err(col)?)?,
    })
}

pub(crate) const SESSION_COLS: &[&str] = &[
    "token_hash",
    "user_id",
    "kind",
    "created_at",
    "expires_at",
    "revoked",
];

pub(crate) fn session_args(s: &Session) -> Vec<Arg> {
    vec![
        s.token_hash.as_str().into(),
        s.user.0.into(),
        s.kind.as_str().into(),
        ms(s.created_at).into(),
        ms(s.expires_at).into(),
        s.revoked.into(),
    ]
}

pub(crate) fn session_from_row(r: &dyn Get) -> Result<Session, StoreError> {
    let kind = r.str(2).map_err(col)?;
    Ok(Session {
        token_hash: r.str(0).map_err(col)?.to_owned(),
        user: UserId(r.uuid(1).map_err(col)?),
        kind: SessionKind::parse(kind)
            .ok_or_else(|| StoreError::corrupt(format!("session kind {kind:?}")))?,
        created_at: from_ms(r.i64(3).map_err(col)?)?,
        expires_at: from_ms(r.i64(4).map_err(col)?)?,
        revoked: r.bool(5).map_err(col)?,
    })
}

pub(crate) const PHOTO_COLS: &[&str] = &["id", "mime", "width", "height", "bytes", "created_at"];

pub(crate) fn photo_args(p: &PhotoMeta) -> Vec<Arg> {
    vec![
        p.id.as_str().into(),
        p.mime.as_str().into(),
        i64::from(p.width).into(),
        i64::from(p.height).into(),
        i64::try_from(p.bytes).unwrap_or(i64::MAX).into(),
        ms(p.created_at).into(),
    ]
}

pub(crate) fn photo_from_row(r: &dyn Get) -> Result<PhotoMeta, StoreError> {
    let id = r.str(0).map_err(col)?.to_owned();
    let bad = || StoreError::corrupt(format!("photo {id}: size out of range"));
    Ok(PhotoMeta {
        mime: r.str(1).map_err(col)?.to_owned(),
        width: u32::try_from(r.i64(2).map_err(col)?).map_err(|_| bad())?,
        height: u32::try_from(r.i64(3).map_err(col)?).map_err(|_| bad())?,
        bytes: u64::try_from(r.i64(4).map_err(col)?).map_err(|_| bad())?,
        created_at: from_ms(r.i64(5).map_err(col)?)?,
        id,
    })
}

pub(crate) const CATEGORY_COLS: &[&str] = &[
    "code",
    "name_zh",
    "name_en",
    "weight",
    "deadline_hours",
    "service_minutes",
    "indoor",
];

pub(crate) fn category_args(c: &Category) -> Vec<Arg> {
    vec![
        c.code.as_str().into(),
        c.name_zh.as_str().into(),
        c.name_en.as_str().into(),
        c.weight.into(),
        i64::from(c.deadline_hours).into(),
        i64::from(c.service_minutes).into(),
        c.indoor.into(),
    ]
}

pub(crate) fn category_from_row(r: &dyn Get) -> Result<Category, StoreError> {
    let code = r.str(0).map_err(col)?.to_owned();
    let bad = || StoreError::corrupt(format!("category {code}: hours out of range"));
    Ok(Category {
        name_zh: r.str(1).map_err(col)?.to_owned(),
        name_en: r.str(2).map_err(col)?.to_owned(),
        weight: r.f64(3).map_err(col)?,
        deadline_hours: u32::try_from(r.i64(4).map_err(col)?).map_err(|_| bad())?,
        service_minutes: u32::try_from(r.i64(5).map_err(col)?).map_err(|_| bad())?,
        indoor: r.bool(6).map_err(col)?,
        code,
    })
}

/// `SELECT` list and `ON CONFLICT ... DO UPDATE SET` list for an upsert of `cols` keyed by the
/// first column.
pub(crate) fn upsert_sql(table: &str, cols: &[&str]) -> String {
    let mut sql = crate::sql::multi_insert(table, cols, 1);
    sql.push_str(" ON CONFLICT (");
    sql.push_str(cols[0]);
    sql.push_str(") DO UPDATE SET ");
    let sets: Vec<String> = cols[1..]
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    sql.push_str(&sets.join(", "));
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_round_trips_exactly_with_its_bbox() {
        let poly = geo_types::Polygon::new(
            geo_types::LineString::from(vec![
                (121.497_1, 31.285_4),
                (121.498_3, 31.285_4),
                (121.498_3, 31.286_9),
                (121.497_1, 31.285_4),
            ]),
            vec![],
        );
        let g = Geometry::MultiPolygon(geo_types::MultiPolygon(vec![poly]));
        let (text, b) = geometry_text(&g);
        assert!(text.contains("MultiPolygon"), "{text}");
        assert_eq!(b, [121.497_1, 31.285_4, 121.498_3, 31.286_9]);
        assert_eq!(geometry_from_text("z", &text).unwrap(), g);
        assert!(geometry_from_text("z", "{\"type\":\"Nope\"}").is_err());
    }

    #[test]
    fn times_keep_milliseconds() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(ms(t), 1_700_000_000_123);
        assert_eq!(from_ms(ms(t)).unwrap(), ms_precision(t));
        assert_eq!(ms_precision(t).timestamp_subsec_nanos(), 123_000_000);
    }

    #[test]
    fn upsert_updates_every_column_but_the_key() {
        assert_eq!(
            upsert_sql("t", &["id", "a", "b"]),
            "INSERT INTO t (id, a, b) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET a = excluded.a, b = excluded.b"
        );
    }
}
