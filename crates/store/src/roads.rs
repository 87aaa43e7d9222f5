//! The road ways table (migration 4): the OpenStreetMap ways routes are planned on, written by
//! `civmap import osm` and read by `civmap serve` at start, which builds its road graphs from
//! them. Like the basemap it is reference data replaced as a whole, in one transaction
//! ([`Store::replace_road_ways`]), outside the group-commit writer (see `basemap.rs` for why).

use crate::error::StoreError;
use crate::replace::Table;
use crate::sql::{Arg, Get, col};
use crate::store::Store;

/// One stored road way: an OSM way with its tags and the positions of its nodes. A way whose
/// nodes are not all known is stored as several `RoadWay`s with the same `id`, one per run of
/// known nodes, so no segment joins two nodes that were not neighbours.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadWay {
    /// OSM way id.
    pub id: i64,
    /// The way's tags (`highway`, `oneway`, `access`, ...), in file order.
    pub tags: Vec<(String, String)>,
    /// `(node id, lon, lat)` in way order, WGS-84; at least two.
    pub nodes: Vec<(i64, f64, f64)>,
}

const COLS: [&str; 4] = ["seq", "way_id", "tags", "nodes"];

/// Rows per `INSERT` (4 parameters each; far under both backends' parameter limits, and a row
/// holds a whole way, so statements stay a few hundred kilobytes).
const ROWS_PER_INSERT: usize = 500;

fn args(seq: usize, w: &RoadWay, out: &mut Vec<Arg>) -> Result<(), StoreError> {
    if w.nodes.len() < 2 {
        return Err(StoreError::Invalid(format!(
            "road way {} has {} node(s); a road way needs at least two",
            w.id,
            w.nodes.len()
        )));
    }
    if let Some((id, lon, lat)) = w.nodes.iter().find(|(_, lon, lat)| {
        !(lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0)
    }) {
        return Err(StoreError::Invalid(format!(
            "road way {}: node {id} is not a WGS-84 position ({lon}, {lat})",
            w.id
        )));
    }
    let tags: serde_json::Map<String, serde_json::Value> = w
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let nodes: Vec<serde_json::Value> = w
        .nodes
        .iter()
        .map(|&(id, lon, lat)| serde_json::json!([id, lon, lat]))
        .collect();
    out.push(Arg::I64(Some(seq as i64)));
    out.push(Arg::I64(Some(w.id)));
    out.push(serde_json::Value::Object(tags).to_string().into());
    out.push(serde_json::Value::Array(nodes).to_string().into());
    Ok(())
}

fn from_row(r: &dyn Get) -> Result<RoadWay, StoreError> {
    let id = r.i64(0).map_err(col)?;
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::corrupt(format!("road way {id}: {what}: {e}"))
    };
    let tags: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r.str(1).map_err(col)?).map_err(|e| bad("tags", &e))?;
    let tags = tags
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            other => Err(bad("tags", &format!("{k} is {other}, not a string"))),
        })
        .collect::<Result<_, _>>()?;
    let nodes: Vec<(i64, f64, f64)> =
        serde_json::from_str(r.str(2).map_err(col)?).map_err(|e| bad("nodes", &e))?;
    Ok(RoadWay { id, tags, nodes })
}

impl Store {
    /// Replaces every stored road way with `ways` (in this order) in one transaction.
    /// [`StoreError::Invalid`] for a way of fewer than two nodes or a position off the globe;
    /// nothing is written then.
    pub async fn replace_road_ways(&self, ways: &[RoadWay]) -> Result<(), StoreError> {
        self.replace_table(
            &Table {
                name: "road_ways",
                cols: &COLS,
                rows_per_insert: ROWS_PER_INSERT,
                args,
            },
            ways,
        )
        .await
    }

    /// Number of road way rows stored.
    pub async fn road_way_count(&self) -> Result<u64, StoreError> {
        self.read_one("SELECT COUNT(*) FROM road_ways", vec![], &|r| {
            r.i64(0).map_err(col)
        })
        .await
        .map(|n| u64::try_from(n).unwrap_or(0))
    }

    /// Every stored road way, in the order it was written.
    pub async fn load_road_ways(&self) -> Result<Vec<RoadWay>, StoreError> {
        self.read_all(
            "SELECT way_id, tags, nodes FROM road_ways ORDER BY seq",
            vec![],
            &from_row,
        )
        .await
    }
}
