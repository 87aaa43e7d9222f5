//! The management grid (万米单元网格) of a street, as zones coded with the street's code.

use geo::MultiPolygon;

use crate::zones::{GridCell, GridOptions, ZoneError, ZoneShape, grid};

/// The management grid over `boundary`: `cell_m` squares meeting it, clipped to it, coded
/// `<street>-R001C001` (row from the north, column from the west; see [`crate::zones::grid`]).
pub fn grid_zones(
    boundary: &MultiPolygon<f64>,
    street: &str,
    cell_m: f64,
) -> Result<Vec<ZoneShape>, ZoneError> {
    let cells = grid(
        boundary,
        &GridOptions {
            cell_m,
            prefix: street.to_owned(),
            ..GridOptions::default()
        },
    )?;
    Ok(cells.iter().map(GridCell::to_zone_shape).collect())
}
