//! Zones: the polygons that assign places to people and that heat is measured over.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validation::ValidationError;

/// A zone's id (UUIDv7, time-ordered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ZoneId(pub Uuid);

impl ZoneId {
    /// A new time-ordered id.
    #[must_use]
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for ZoneId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ZoneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The kind of place a three-surroundings zone surrounds (三个周边).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoiKind {
    /// Schools and kindergartens (学校周边).
    School,
    /// Parks and gardens (公园周边).
    Park,
    /// Wet markets (菜场周边).
    Market,
}

impl PoiKind {
    pub const ALL: [PoiKind; 3] = [PoiKind::School, PoiKind::Park, PoiKind::Market];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PoiKind::School => "school",
            PoiKind::Park => "park",
            PoiKind::Market => "market",
        }
    }

    /// Default buffer radius in metres: 200 m around schools (the strict-management zone used by
    /// Shenzhen and Datong), 100 m around parks, 150 m around markets.
    #[must_use]
    pub fn default_radius_m(self) -> f64 {
        match self {
            PoiKind::School => 200.0,
            PoiKind::Park => 100.0,
            PoiKind::Market => 150.0,
        }
    }
}

impl FromStr for PoiKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PoiKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownValue {
                field: "kind",
                value: s.to_owned(),
                allowed: PoiKind::ALL.map(PoiKind::as_str).join(", "),
            })
    }
}

impl fmt::Display for PoiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a zone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// A small circle around a fixed point (a school gate, a market entrance): a point-chief's.
    Point,
    /// A buffer along a road line or some of its segments: a road-chief's.
    Road,
    /// A polygon or multipolygon (a neighbourhood, a 片区): an area-chief's.
    Area,
    /// A buffer around a school, park or market (三个周边).
    Surroundings,
    /// A cell of the ~100 m management grid (万米单元网格).
    GridCell,
}

impl ZoneKind {
    pub const ALL: [ZoneKind; 5] = [
        ZoneKind::Point,
        ZoneKind::Road,
        ZoneKind::Area,
        ZoneKind::Surroundings,
        ZoneKind::GridCell,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneKind::Point => "point",
            ZoneKind::Road => "road",
            ZoneKind::Area => "area",
            ZoneKind::Surroundings => "surroundings",
            ZoneKind::GridCell => "grid_cell",
        }
    }

    /// Dispatch precedence when a point lies in several chiefs' zones: the most specific zone
    /// wins (point before road before area). Lower is more specific.
    #[must_use]
    pub fn dispatch_rank(self) -> u8 {
        match self {
            ZoneKind::Point => 0,
            ZoneKind::Road => 1,
            ZoneKind::Surroundings => 2,
            ZoneKind::Area => 3,
            ZoneKind::GridCell => 4,
        }
    }
}

impl FromStr for ZoneKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ZoneKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownValue {
                field: "kind",
                value: s.to_owned(),
                allowed: ZoneKind::ALL.map(ZoneKind::as_str).join(", "),
            })
    }
}

impl fmt::Display for ZoneKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ranks() {
        for k in ZoneKind::ALL {
            assert_eq!(k.as_str().parse::<ZoneKind>().unwrap(), k);
        }
        assert!(ZoneKind::Point.dispatch_rank() < ZoneKind::Road.dispatch_rank());
        assert!(ZoneKind::Road.dispatch_rank() < ZoneKind::Area.dispatch_rank());
        assert_eq!(
            "market".parse::<PoiKind>().unwrap().default_radius_m(),
            150.0
        );
        assert!("mall".parse::<PoiKind>().is_err());
    }
}

/// A zone as stored: a named (multi)polygon in WGS-84 lon/lat.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub id: ZoneId,
    pub kind: ZoneKind,
    /// Display name, e.g. `曲阳第四小学 周边 200 m` or `四平路 (赤峰路–大连路)`.
    pub name: String,
    /// For three-surroundings zones: what they surround.
    pub poi_kind: Option<PoiKind>,
    /// The point of interest a surroundings zone was built from.
    pub poi: Option<PoiId>,
    /// Hierarchical code for grid cells (see `civmap-geodata`), or an office's own code.
    pub code: Option<String>,
    /// Polygon(s) in WGS-84 lon/lat, exterior rings counter-clockwise (RFC 7946).
    pub geometry: geo_types::MultiPolygon<f64>,
    /// Stable key of the source it was imported or built from, so re-imports update it in place.
    pub external_id: Option<String>,
}

/// A point of interest's id (UUIDv7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PoiId(pub Uuid);

impl PoiId {
    /// A new time-ordered id.
    #[must_use]
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for PoiId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for PoiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A school, park or market (three surroundings), as imported from OpenStreetMap or a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Poi {
    pub id: PoiId,
    pub kind: PoiKind,
    pub name: String,
    /// Point or polygon in WGS-84 lon/lat.
    pub geometry: geo_types::Geometry<f64>,
    /// Stable source key, e.g. `osm:way/123456`.
    pub external_id: Option<String>,
}
