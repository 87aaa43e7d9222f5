//! The street's boundary (街道 / 镇): picked by name or code from the administrative boundaries
//! of an OpenStreetMap file, or from the features of a GeoJSON file.
//!
//! In China's OpenStreetMap data a street office or town is a `boundary=administrative`
//! relation with `admin_level=8`; districts (`admin_level=6`) often carry their statistical code
//! in `division_code`. A bbox extract usually cuts the relations it touches: their member ways
//! are not all in the file, so they are no areas — such a boundary is reported as incomplete,
//! with the reason, rather than guessed at.

use std::fmt::{self, Write as _};

use geo::MultiPolygon;

use super::error::StreetError;
use crate::area::{relation_multipolygon, way_polygon};
use crate::extract::name_of;
use crate::import::Boundary;
use crate::osm::{OsmData, Tags};

/// Tags that name a boundary.
const NAME_TAGS: &[&str] = &["name", "name:zh", "official_name"];
/// Tags that carry a boundary's administrative code.
const CODE_TAGS: &[&str] = &["division_code", "ref"];
/// How many boundaries an error lists when none matches.
const LIST_AT_MOST: usize = 12;

/// Which boundary: by name when one is given, else by code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoundaryPick {
    /// The boundary's name, e.g. `四平路街道` (OSM `name`, `name:zh` or `official_name`; GeoJSON
    /// `name`).
    pub name: Option<String>,
    /// Its administrative code, e.g. `310110` (OSM `division_code` or `ref`; GeoJSON `adcode` or
    /// `code`).
    pub code: Option<String>,
}

impl BoundaryPick {
    fn matches<'a>(
        &self,
        mut names: impl Iterator<Item = &'a str>,
        mut codes: impl Iterator<Item = &'a str>,
    ) -> bool {
        match (&self.name, &self.code) {
            (Some(n), _) => names.any(|x| x == n),
            (None, Some(c)) => codes.any(|x| x == c),
            (None, None) => false,
        }
    }
}

impl fmt::Display for BoundaryPick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.name, &self.code) {
            (Some(n), _) => write!(f, "named {n:?}"),
            (None, Some(c)) => write!(f, "with code {c:?}"),
            (None, None) => f.write_str("(no name or code given)"),
        }
    }
}

/// A street's boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct StreetBoundary {
    /// Its name.
    pub name: String,
    /// Its administrative code, if the source has one.
    pub code: Option<String>,
    /// Where it comes from: `osm:relation/13466002`, or `feature 3` of a GeoJSON file.
    pub source: String,
    /// The outline, WGS-84 lon/lat, RFC 7946 orientation.
    pub geometry: MultiPolygon<f64>,
}

/// The administrative boundary `pick` names among the `boundary=administrative` relations and
/// closed ways of `data`.
///
/// Errors: [`StreetError::BoundaryNotFound`] listing the boundaries there are,
/// [`StreetError::BoundaryIncomplete`] when the match is not a closed area in this file (a bbox
/// extract), [`StreetError::BoundaryAmbiguous`] when several areas match.
///
/// ```
/// use civmap_geodata::osm;
/// use civmap_geodata::street::{BoundaryPick, StreetError, boundary_from_osm};
/// let data = osm::read_path("../../data/osm/tongji_siping_yangpu.osm".as_ref())?;
/// let pick = BoundaryPick { name: Some("四平路街道".into()), code: None };
/// // The extract holds 1 of the 6 ways around 四平路街道: no area to grid.
/// let err = boundary_from_osm(&data, &pick).unwrap_err();
/// assert!(matches!(err, StreetError::BoundaryIncomplete { .. }), "{err}");
/// # Ok::<(), civmap_geodata::Error>(())
/// ```
pub fn boundary_from_osm(
    data: &OsmData,
    pick: &BoundaryPick,
) -> Result<StreetBoundary, StreetError> {
    let admin = |tags: &Tags| tags.has("boundary", "administrative");
    let matches = |tags: &Tags| {
        pick.matches(
            NAME_TAGS.iter().filter_map(|k| tags.get(k)),
            CODE_TAGS.iter().filter_map(|k| tags.get(k)),
        )
    };
    let candidate =
        |source: String, tags: &Tags, area: Result<MultiPolygon<f64>, String>| Candidate {
            source,
            name: name_of(tags).unwrap_or_default(),
            code: CODE_TAGS
                .iter()
                .find_map(|k| tags.get(k))
                .map(str::to_owned),
            area,
        };
    let mut found = Vec::new();
    for w in data.ways.iter().filter(|w| admin(&w.tags) && w.is_closed()) {
        if matches(&w.tags) {
            let area = way_polygon(data, w)
                .map(|p| MultiPolygon::new(vec![p]))
                .map_err(|e| e.to_string());
            found.push(candidate(format!("osm:way/{}", w.id), &w.tags, area));
        }
    }
    for r in data.relations.iter().filter(|r| admin(&r.tags)) {
        if matches(&r.tags) {
            let area = relation_multipolygon(data, r).map_err(|e| e.to_string());
            found.push(candidate(format!("osm:relation/{}", r.id), &r.tags, area));
        }
    }
    if found.is_empty() {
        let mut there: Vec<String> = data
            .relations
            .iter()
            .filter(|r| admin(&r.tags))
            .map(|r| describe(&r.tags))
            .collect();
        there.sort();
        return Err(not_found(pick, "this OpenStreetMap file", there));
    }
    one(pick, found)
}

/// The boundary `pick` names among `boundaries` read from a GeoJSON file (see
/// [`crate::import::boundaries_from_geojson`]); the only one when there is one and `pick` names
/// none.
pub fn boundary_from_list(
    boundaries: Vec<Boundary>,
    pick: &BoundaryPick,
) -> Result<StreetBoundary, StreetError> {
    let unpicked = pick.name.is_none() && pick.code.is_none();
    let there: Vec<String> = boundaries.iter().map(|b| b.name.clone()).collect();
    let candidates: Vec<_> = boundaries
        .into_iter()
        .enumerate()
        .filter(|(_, b)| {
            (unpicked && there.len() == 1)
                || pick.matches(
                    std::iter::once(b.name.as_str()),
                    b.code.as_deref().into_iter(),
                )
        })
        .map(|(i, b)| Candidate {
            source: format!("feature {i}"),
            name: b.name,
            code: b.code,
            area: Ok(b.geometry),
        })
        .collect();
    if candidates.is_empty() {
        return Err(not_found(pick, "the GeoJSON file", there));
    }
    one(pick, candidates)
}

/// `name (admin_level N[, code C])`.
fn describe(tags: &Tags) -> String {
    let mut s = format!(
        "{} (admin_level {}",
        name_of(tags).unwrap_or_else(|| "unnamed".into()),
        tags.get("admin_level").unwrap_or("?")
    );
    if let Some(code) = CODE_TAGS.iter().find_map(|k| tags.get(k)) {
        let _ = write!(s, ", code {code}");
    }
    s.push(')');
    s
}

fn not_found(pick: &BoundaryPick, place: &'static str, mut there: Vec<String>) -> StreetError {
    let more = there.len().saturating_sub(LIST_AT_MOST);
    there.truncate(LIST_AT_MOST);
    let mut available = if there.is_empty() {
        "none".to_owned()
    } else {
        there.join(", ")
    };
    if more > 0 {
        let _ = write!(available, " and {more} more");
    }
    StreetError::BoundaryNotFound {
        wanted: pick.to_string(),
        place,
        available,
    }
}

/// A boundary that matches: where it is from, its name and code, its area or why it has none.
struct Candidate {
    source: String,
    name: String,
    code: Option<String>,
    area: Result<MultiPolygon<f64>, String>,
}

/// The single complete boundary among the matches.
fn one(pick: &BoundaryPick, candidates: Vec<Candidate>) -> Result<StreetBoundary, StreetError> {
    let mut complete = Vec::new();
    let mut first_problem = None;
    for c in candidates {
        match c.area {
            Ok(geometry) => complete.push(StreetBoundary {
                name: c.name,
                code: c.code,
                source: c.source,
                geometry,
            }),
            Err(reason) => {
                first_problem.get_or_insert((c.source, c.name, reason));
            }
        }
    }
    match complete.len() {
        1 => Ok(complete.remove(0)),
        0 => {
            let (element, name, reason) = first_problem.unwrap_or_default();
            Err(StreetError::BoundaryIncomplete {
                name,
                element,
                reason,
            })
        }
        _ => Err(StreetError::BoundaryAmbiguous {
            wanted: pick.to_string(),
            matches: complete
                .iter()
                .map(|b| format!("{} ({})", b.name, b.source))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}
