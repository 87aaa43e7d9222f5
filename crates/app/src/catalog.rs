//! What the street office sets up: zones, points of interest, categories, the chiefs assigned
//! to zones, and the coverage check (parts of the street no chief covers, overlaps between
//! chiefs). Writes go to the store; memory follows through the commit hook.

use std::collections::HashMap;
use std::sync::Arc;

use civmap_domain::{Category, Poi, UserId, Zone, ZoneId, ZoneKind};
use civmap_geodata::zones::geodesic_area_m2;
use civmap_geodata::zones::{ChiefZone, Coverage};
use civmap_index::ZoneIndex;
use geo::{BooleanOps, BoundingRect, Intersects, MultiPolygon, Polygon, Rect};

use crate::app::{App, merge_category};
use crate::error::ServiceError;
use crate::memory::Zones;
use crate::scope::in_street;

/// At most this many grid cells are unioned into a default coverage boundary (a street has
/// hundreds).
pub const MAX_COVERAGE_CELLS: usize = 20_000;

/// Overlaps smaller than this are not listed by default, m² (slivers where two road buffers
/// meet at a crossing are not a problem).
pub const DEFAULT_MIN_OVERLAP_M2: f64 = 100.0;

/// A chief as reports name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Login name.
    pub name: String,
    /// The name shown to others (may be empty).
    pub display_name: String,
}

impl Person {
    /// `display (name)`, or the login name alone.
    #[must_use]
    pub fn shown(&self) -> String {
        if self.display_name.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.display_name, self.name)
        }
    }
}

/// A grid cell counts as uncovered when at least this much of it lies in no chief's zone, m²
/// (1% of a 100 m cell: the slivers between a road buffer and a cell edge are not a gap).
pub const UNCOVERED_CELL_MIN_M2: f64 = 100.0;

/// The coverage of a street by its chiefs, with the chiefs' ids as strings.
#[derive(Debug)]
pub struct CoverageReport {
    pub coverage: Coverage,
    /// The people behind the chief ids of the overlaps.
    pub people: HashMap<UserId, Person>,
    /// When the boundary is the management grid: how many cells it has, and how many of them
    /// have at least [`UNCOVERED_CELL_MIN_M2`] in no chief's zone.
    pub cells: Option<CellCount>,
}

/// Grid cells checked and uncovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellCount {
    pub total: usize,
    pub uncovered: usize,
}

impl App {
    /// Stores a zone (insert or replace by id). The geometry is checked by the zone index
    /// first (`Invalid` naming `geometry` for an empty or zero-area one).
    pub async fn put_zone(&self, zone: Zone) -> Result<(), ServiceError> {
        ZoneIndex::new()
            .insert(zone.id, zone.kind, zone.geometry.clone())
            .map_err(|e| ServiceError::invalid("geometry", e))?;
        self.store().upsert_zone(&zone).await?;
        Ok(())
    }

    /// Deletes a zone and its assignments.
    pub async fn delete_zone(&self, id: ZoneId) -> Result<(), ServiceError> {
        if !self.inner.zones.read().map.contains_key(&id) {
            return Err(ServiceError::NotFound(format!("no zone {id}")));
        }
        self.store().delete_zone(id).await?;
        Ok(())
    }

    /// Stores a point of interest (insert or replace by id).
    pub async fn put_poi(&self, poi: Poi) -> Result<(), ServiceError> {
        self.store().upsert_poi(&poi).await?;
        Ok(())
    }

    /// Stores a category (insert or replace by code) and swaps in the new table.
    pub async fn put_category(&self, c: Category) -> Result<(), ServiceError> {
        let mut table = (*self.categories()).clone();
        merge_category(&mut table, &c)?;
        self.store().upsert_category(&c).await?;
        let table = Arc::new(table);
        {
            // Counted like the commit hook's row changes (`crate::follow`).
            let mut f = self.inner.follow.lock();
            self.set_categories(table.clone());
            f.local += 1;
        }
        // Whether a category is indoor decides where tiles show its problems.
        self.inner
            .tiles
            .rebuild_problems(&self.inner.problems.read().index, &table);
        Ok(())
    }

    /// Assigns a chief to a zone (`NotFound` when the zone or the user does not exist).
    pub async fn assign(&self, zone: ZoneId, user: UserId) -> Result<(), ServiceError> {
        if !self.inner.zones.read().map.contains_key(&zone) {
            return Err(ServiceError::NotFound(format!("no zone {zone}")));
        }
        self.store().assign(zone, user).await?;
        Ok(())
    }

    /// Removes a chief from a zone (`NotFound` when there was no such assignment).
    pub async fn unassign(&self, zone: ZoneId, user: UserId) -> Result<(), ServiceError> {
        if !self.store().unassign(zone, user).await? {
            return Err(ServiceError::NotFound(format!(
                "user {user} is not assigned to zone {zone}"
            )));
        }
        Ok(())
    }

    /// Login and display names of every account, by id (for reports that name people).
    pub async fn people(&self) -> Result<HashMap<UserId, Person>, ServiceError> {
        Ok(self
            .store()
            .list_users()
            .await?
            .into_iter()
            .map(|u| {
                (
                    u.id,
                    Person {
                        name: u.name,
                        display_name: u.display_name,
                    },
                )
            })
            .collect())
    }

    /// How the chiefs cover `boundary` (a zone), or by default the management grid of
    /// `street` (every grid cell when `None`): the uncovered parts and the overlaps between
    /// different chiefs of at least `min_overlap_m2`.
    pub async fn coverage(
        &self,
        boundary: Option<ZoneId>,
        street: Option<&str>,
        min_overlap_m2: f64,
    ) -> Result<CoverageReport, ServiceError> {
        let (boundary, cells, chiefs) = {
            let zones = self.zones();
            let (boundary, cells) = coverage_boundary(&zones, boundary, street)?;
            let chiefs: Vec<ChiefZone> = self
                .assignments()
                .into_iter()
                .filter_map(|(z, u)| {
                    Some(ChiefZone {
                        chief: u.0.to_string(),
                        geometry: zones.map.get(&z)?.geometry.clone(),
                    })
                })
                .collect();
            (boundary, cells, chiefs)
        };
        let people = self.people().await?;
        // Polygon unions and differences: tens of milliseconds for a street, off the async
        // workers.
        let (coverage, cells) = tokio::task::spawn_blocking(move || {
            let c = civmap_geodata::zones::coverage(&boundary, &chiefs, min_overlap_m2);
            let counted = cells.map(|cells| CellCount {
                total: cells.len(),
                uncovered: uncovered_cells(&cells, &c.uncovered),
            });
            (c, counted)
        })
        .await
        .map_err(|e| ServiceError::internal("coverage task", e))?;
        Ok(CoverageReport {
            coverage,
            people,
            cells,
        })
    }
}

/// How many of `cells` have at least [`UNCOVERED_CELL_MIN_M2`] inside `uncovered`.
fn uncovered_cells(cells: &[MultiPolygon<f64>], uncovered: &MultiPolygon<f64>) -> usize {
    let parts: Vec<(Polygon<f64>, Option<Rect<f64>>)> = uncovered
        .0
        .iter()
        .map(|p| (p.clone(), p.bounding_rect()))
        .collect();
    cells
        .iter()
        .filter(|cell| {
            let Some(cb) = cell.bounding_rect() else {
                return false;
            };
            let near: Vec<Polygon<f64>> = parts
                .iter()
                .filter(|(_, b)| b.is_some_and(|b| b.intersects(&cb)))
                .map(|(p, _)| p.clone())
                .collect();
            !near.is_empty()
                && geodesic_area_m2(&cell.intersection(&MultiPolygon(near)))
                    >= UNCOVERED_CELL_MIN_M2
        })
        .count()
}

/// The cells of a management grid.
type GridCells = Vec<MultiPolygon<f64>>;

/// The area a coverage check looks at: the zone `boundary`, or else the union of the grid
/// cells of the street (all grid cells without a street), with the cells.
fn coverage_boundary(
    zones: &Zones,
    boundary: Option<ZoneId>,
    street: Option<&str>,
) -> Result<(MultiPolygon<f64>, Option<GridCells>), ServiceError> {
    if let Some(id) = boundary {
        let b = zones
            .map
            .get(&id)
            .ok_or_else(|| ServiceError::NotFound(format!("no zone {id}")))?
            .geometry
            .clone();
        return Ok((b, None));
    }
    let cells: Vec<&MultiPolygon<f64>> = zones
        .map
        .values()
        .filter(|z| z.kind == ZoneKind::GridCell)
        .filter(|z| street.is_none_or(|s| z.code.as_deref().is_some_and(|c| in_street(c, s))))
        .map(|z| &z.geometry)
        .collect();
    if cells.is_empty() {
        return Err(ServiceError::malformed(
            "boundary",
            "there is no management grid to check; pass boundary=<zone id> (the street's area zone)",
        ));
    }
    if cells.len() > MAX_COVERAGE_CELLS {
        return Err(ServiceError::malformed(
            "boundary",
            format!(
                "{} grid cells is more than {MAX_COVERAGE_CELLS}; pass boundary=<zone id>",
                cells.len()
            ),
        ));
    }
    let owned: Vec<MultiPolygon<f64>> = cells.iter().map(|c| (*c).clone()).collect();
    Ok((geo::unary_union(cells), Some(owned)))
}
