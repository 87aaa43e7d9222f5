//! The road graphs routes are planned on: one per travel mode, built once at start from the
//! OpenStreetMap ways of the served area — read from a file (`serve --roads`), or from the road
//! ways `civmap import osm` keeps in the store ([`road_ways`], [`RoadNetwork::from_store`]).

use std::sync::Arc;

use civmap_geodata::osm::OsmData;
use civmap_route::graph::{GraphBuilder, Mode, RoadGraph};
use civmap_store::{RoadWay, Store};

use crate::error::ServiceError;

/// The walking, cycling and driving graphs of the served area.
#[derive(Debug)]
pub struct RoadNetwork {
    walk: RoadGraph,
    cycle: RoadGraph,
    drive: RoadGraph,
}

impl RoadNetwork {
    /// Builds the walking, cycling and driving graphs from OSM data.
    #[must_use]
    pub fn from_osm(data: &OsmData) -> Arc<RoadNetwork> {
        Self::build(|b| {
            for n in &data.nodes {
                b.add_node(n.id, n.lon, n.lat);
            }
            for w in &data.ways {
                b.add_way(w.id, &w.refs, w.tags.iter());
            }
        })
    }

    /// Builds the graphs from stored road ways (what [`road_ways`] made of an OSM file).
    #[must_use]
    pub fn from_ways(ways: &[RoadWay]) -> Arc<RoadNetwork> {
        Self::build(|b| {
            let mut refs = Vec::new();
            for w in ways {
                refs.clear();
                for &(id, lon, lat) in &w.nodes {
                    b.add_node(id, lon, lat);
                    refs.push(id);
                }
                b.add_way(
                    w.id,
                    &refs,
                    w.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                );
            }
        })
    }

    /// The graphs of the road ways in `store`, or `None` when it holds none (nothing imported
    /// with `civmap import osm` yet).
    pub async fn from_store(store: &Store) -> Result<Option<Arc<RoadNetwork>>, ServiceError> {
        let ways = store.load_road_ways().await?;
        if ways.is_empty() {
            return Ok(None);
        }
        // Building three graphs of a city district takes a while: off the async threads.
        tokio::task::spawn_blocking(move || Self::from_ways(&ways))
            .await
            .map(Some)
            .map_err(|e| ServiceError::internal("building the road graphs", e))
    }

    fn build(add: impl Fn(&mut GraphBuilder)) -> Arc<RoadNetwork> {
        let graph = |mode: Mode| {
            let mut b = GraphBuilder::new(mode);
            add(&mut b);
            b.build()
        };
        Arc::new(RoadNetwork {
            walk: graph(Mode::Walk),
            cycle: graph(Mode::Cycle),
            drive: graph(Mode::Drive),
        })
    }

    /// The graph of one travel mode.
    #[must_use]
    pub fn graph(&self, mode: Mode) -> &RoadGraph {
        match mode {
            Mode::Walk => &self.walk,
            Mode::Cycle => &self.cycle,
            Mode::Drive => &self.drive,
        }
    }
}

/// The ways of `data` a road graph may use (those with a `highway` tag), with the positions of
/// their nodes, ready to store: a way with nodes missing from the file becomes one [`RoadWay`]
/// per run of at least two known nodes, which is what the graph builder makes of it too (it
/// drops the segments that touch a missing node).
#[must_use]
pub fn road_ways(data: &OsmData) -> Vec<RoadWay> {
    let mut out = Vec::new();
    for w in data.ways.iter().filter(|w| w.tags.get("highway").is_some()) {
        let tags: Vec<(String, String)> = w
            .tags
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let mut run: Vec<(i64, f64, f64)> = Vec::new();
        for &id in &w.refs {
            match data.node(id) {
                Some(n) => run.push((n.id, n.lon, n.lat)),
                None => flush(&mut out, w.id, &tags, &mut run),
            }
        }
        flush(&mut out, w.id, &tags, &mut run);
    }
    out
}

/// Ends a run of known nodes: kept as a way when it has a segment.
fn flush(
    out: &mut Vec<RoadWay>,
    id: i64,
    tags: &[(String, String)],
    run: &mut Vec<(i64, f64, f64)>,
) {
    if run.len() >= 2 {
        out.push(RoadWay {
            id,
            tags: tags.to_vec(),
            nodes: std::mem::take(run),
        });
    } else {
        run.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_area() -> OsmData {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/osm/tongji_siping_yangpu.osm");
        civmap_geodata::osm::read_path(&path).unwrap()
    }

    #[test]
    fn stored_road_ways_build_the_graphs_the_file_builds() {
        let data = demo_area();
        let ways = road_ways(&data);
        assert!(ways.len() > 100, "only {} road ways", ways.len());
        assert!(
            ways.iter()
                .all(|w| w.nodes.len() >= 2 && w.tags.iter().any(|(k, _)| k == "highway"))
        );
        let from_file = RoadNetwork::from_osm(&data);
        let from_store = RoadNetwork::from_ways(&ways);
        for mode in [Mode::Walk, Mode::Cycle, Mode::Drive] {
            let (a, b) = (
                from_file.graph(mode).stats(),
                from_store.graph(mode).stats(),
            );
            assert!(a.arcs > 0, "{mode:?}: no arcs");
            assert_eq!(
                (a.nodes, a.arcs, a.main_component_nodes, a.ways_used),
                (b.nodes, b.arcs, b.main_component_nodes, b.ways_used),
                "{mode:?}"
            );
        }
    }
}
