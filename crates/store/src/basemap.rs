//! The basemap table (migration 2): OpenStreetMap features drawn beneath the problems, written
//! by `civmap import osm` and the demo and read by the server at start for its vector tiles.
//!
//! The basemap is reference data, replaced as a whole: [`Store::replace_basemap`] deletes the old
//! rows and writes the new ones in one transaction, so readers see the old basemap or the new
//! one, never a mix. It is rare and large, so it does not go through the group-commit writer
//! (whose batches stay small and quick): on SQLite it takes its own connection, which waits for
//! the writer's lock like any other writer (`busy_timeout`); on PostgreSQL a pooled one. There
//! is no event and no commit hook: a running server picks a new basemap up at its next start
//! (as it does zones imported by another process).

use crate::codec::{geometry_from_text, geometry_text};
use crate::error::StoreError;
use crate::replace::Table;
use crate::sql::{Arg, Get, col};
use crate::store::Store;
use geo_types::Geometry;

/// The layers a basemap feature may belong to (the tile schema's basemap layers).
pub const BASEMAP_LAYERS: [&str; 5] = ["roads", "buildings", "green", "water", "pois"];

/// One stored basemap feature.
#[derive(Debug, Clone, PartialEq)]
pub struct BasemapFeature {
    /// One of [`BASEMAP_LAYERS`].
    pub layer: String,
    /// What it is within its layer (`primary`, `park`, `river`, `school`, ...).
    pub class: String,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// WGS-84 lon/lat geometry.
    pub geometry: Geometry<f64>,
    /// Where it came from (`osm:way/1`), if known.
    pub external_id: Option<String>,
}

const COLS: [&str; 10] = [
    "seq",
    "layer",
    "class",
    "name",
    "geometry",
    "min_lon",
    "min_lat",
    "max_lon",
    "max_lat",
    "external_id",
];

/// Rows per `INSERT` (10 parameters each; under SQLite's 32,766 and PostgreSQL's 65,535).
const ROWS_PER_INSERT: usize = 500;

fn args(seq: usize, f: &BasemapFeature, out: &mut Vec<Arg>) -> Result<(), StoreError> {
    if !BASEMAP_LAYERS.contains(&f.layer.as_str()) {
        return Err(StoreError::Invalid(format!(
            "basemap layer {:?} is not one of {}",
            f.layer,
            BASEMAP_LAYERS.join(", ")
        )));
    }
    let (text, [x0, y0, x1, y1]) = geometry_text(&f.geometry);
    out.push(Arg::I64(Some(seq as i64)));
    out.push(f.layer.clone().into());
    out.push(f.class.clone().into());
    out.push(f.name.clone().into());
    out.push(text.into());
    out.extend([x0, y0, x1, y1].map(Arg::from));
    out.push(f.external_id.clone().into());
    Ok(())
}

fn from_row(r: &dyn Get) -> Result<BasemapFeature, StoreError> {
    let text = r.str(3).map_err(col)?;
    Ok(BasemapFeature {
        layer: r.str(0).map_err(col)?.to_owned(),
        class: r.str(1).map_err(col)?.to_owned(),
        name: r.opt_str(2).map_err(col)?.map(str::to_owned),
        geometry: geometry_from_text("basemap geometry", text)?,
        external_id: r.opt_str(4).map_err(col)?.map(str::to_owned),
    })
}

impl Store {
    /// Replaces the whole basemap with `features` (in this order) in one transaction.
    /// [`StoreError::Invalid`] for a layer not in [`BASEMAP_LAYERS`]; nothing is written then.
    pub async fn replace_basemap(&self, features: &[BasemapFeature]) -> Result<(), StoreError> {
        self.replace_table(
            &Table {
                name: "basemap",
                cols: &COLS,
                rows_per_insert: ROWS_PER_INSERT,
                args,
            },
            features,
        )
        .await
    }

    /// Number of basemap features stored.
    pub async fn basemap_count(&self) -> Result<u64, StoreError> {
        self.read_one("SELECT COUNT(*) FROM basemap", vec![], &|r| {
            r.i64(0).map_err(col)
        })
        .await
        .map(|n| u64::try_from(n).unwrap_or(0))
    }

    /// The whole basemap, in the order it was written.
    pub async fn load_basemap(&self) -> Result<Vec<BasemapFeature>, StoreError> {
        self.read_all(
            "SELECT layer, class, name, geometry, external_id FROM basemap ORDER BY seq",
            vec![],
            &from_row,
        )
        .await
    }
}
