//! A zone built for a street: the zone, the place of interest it belongs to, and its code.

use crate::zones::ZoneShape;

/// A zone built for a street, with the place of interest it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct StreetZone {
    /// The zone.
    pub shape: ZoneShape,
    /// The external id of the school, park or market a surroundings or point zone belongs to.
    pub poi: Option<String>,
}

impl From<ZoneShape> for StreetZone {
    fn from(shape: ZoneShape) -> Self {
        Self { shape, poi: None }
    }
}

/// The `code` of a street's zone: a grid cell's own code (it already starts with the street's),
/// else `<street>-<external id>`, e.g. `310110009-road:四平路`.
#[must_use]
pub fn street_code(street: &str, zone: &ZoneShape) -> String {
    match &zone.code {
        Some(code) if code.starts_with(&format!("{street}-")) => code.clone(),
        _ => format!("{street}-{}", zone.external_id),
    }
}
