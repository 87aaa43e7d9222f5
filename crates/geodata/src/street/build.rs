//! All the zones of a street at once: the kinds asked for, kept to the street's boundary and
//! coded with the street's code.

use civmap_domain::ZoneKind;
use geo::{Intersects, MultiPolygon};

use super::areas::area_zones;
use super::error::StreetError;
use super::gates::{PointOptions, point_zones};
use super::grid::grid_zones;
use super::roads::{RoadOptions, road_zones};
use super::zone::{StreetZone, street_code};
use crate::extract::{Extract, Skipped};
use crate::osm::OsmData;
use crate::zones::{DEFAULT_GRID_CELL_M, SurroundingsRadii, surroundings_zone};

/// What [`street_zones`] builds, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct StreetOptions {
    /// The kinds of zones to build (default: all but the grid, which needs a boundary).
    pub kinds: Vec<ZoneKind>,
    /// The street's statistical code (e.g. `310110009`): the prefix of every zone's `code`.
    /// Needed for the grid.
    pub street_code: Option<String>,
    /// Three-surroundings radii.
    pub surroundings: SurroundingsRadii,
    /// Point zones.
    pub points: PointOptions,
    /// Road zones.
    pub roads: RoadOptions,
    /// Side of a grid cell, metres (default [`DEFAULT_GRID_CELL_M`]).
    pub grid_m: f64,
}

impl Default for StreetOptions {
    fn default() -> Self {
        Self {
            kinds: vec![
                ZoneKind::Surroundings,
                ZoneKind::Point,
                ZoneKind::Road,
                ZoneKind::Area,
            ],
            street_code: None,
            surroundings: SurroundingsRadii::default(),
            points: PointOptions::default(),
            roads: RoadOptions::default(),
            grid_m: DEFAULT_GRID_CELL_M,
        }
    }
}

/// Everything [`street_zones`] built.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreetZones {
    /// Surroundings, point, road, area zones and grid cells, in that order.
    pub zones: Vec<StreetZone>,
    /// What could not become a zone, and why.
    pub skipped: Vec<Skipped>,
}

impl StreetZones {
    /// How many zones of `kind` there are.
    #[must_use]
    pub fn count(&self, kind: ZoneKind) -> usize {
        self.zones.iter().filter(|z| z.shape.kind == kind).count()
    }
}

/// Builds the zones `opts.kinds` of a street from its OSM `data` and what [`crate::extract`]
/// found in it. With `boundary` (the street's outline, see
/// [`boundary_from_osm`](super::boundary_from_osm)) only what lies in the street is kept: the
/// places of interest meeting it, the roads within a half-width of it, the areas clipped to
/// it; the grid is laid over it.
pub fn street_zones(
    data: &OsmData,
    extract: &Extract,
    boundary: Option<&MultiPolygon<f64>>,
    opts: &StreetOptions,
) -> Result<StreetZones, StreetError> {
    let wants = |k| opts.kinds.contains(&k);
    if wants(ZoneKind::GridCell) {
        if opts.street_code.is_none() {
            return Err(StreetError::GridWithoutCode);
        }
        if boundary.is_none() {
            return Err(StreetError::GridWithoutBoundary);
        }
    }
    let in_street = |g: &geo::Geometry<f64>| boundary.is_none_or(|b| b.intersects(g));
    let pois: Vec<_> = extract
        .pois
        .iter()
        .filter(|p| in_street(&p.geometry))
        .cloned()
        .collect();
    let mut out = StreetZones::default();
    if wants(ZoneKind::Surroundings) {
        for p in &pois {
            out.zones.push(StreetZone {
                shape: surroundings_zone(p, &opts.surroundings)?,
                poi: Some(p.external_id.clone()),
            });
        }
    }
    if wants(ZoneKind::Point) {
        let (zones, skipped) = point_zones(data, &pois, &extract.roads, &opts.points)?;
        out.zones.extend(zones);
        out.skipped.extend(skipped);
    }
    if wants(ZoneKind::Road) {
        let zones = road_zones(&extract.roads, &opts.roads, boundary)?;
        out.zones.extend(zones.into_iter().map(StreetZone::from));
    }
    if wants(ZoneKind::Area) {
        let (zones, skipped) = area_zones(data, boundary);
        out.zones.extend(zones.into_iter().map(StreetZone::from));
        out.skipped.extend(skipped);
    }
    if let (true, Some(street), Some(boundary)) =
        (wants(ZoneKind::GridCell), &opts.street_code, boundary)
    {
        let cells = grid_zones(boundary, street, opts.grid_m)?;
        out.zones.extend(cells.into_iter().map(StreetZone::from));
    }
    if let Some(street) = &opts.street_code {
        for z in &mut out.zones {
            z.shape.code = Some(street_code(street, &z.shape));
        }
    }
    Ok(out)
}
