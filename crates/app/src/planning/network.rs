//! The road graphs routes are planned on: one per travel mode, built once at start from the
//! OpenStreetMap ways of the served area.

use std::sync::Arc;

use civmap_geodata::osm::OsmData;
use civmap_route::graph::{GraphBuilder, Mode, RoadGraph};

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
        let build = |mode: Mode| {
            let mut b = GraphBuilder::new(mode);
            for n in &data.nodes {
                b.add_node(n.id, n.lon, n.lat);
            }
            for w in &data.ways {
                b.add_way(w.id, &w.refs, w.tags.iter());
            }
            b.build()
        };
        Arc::new(RoadNetwork {
            walk: build(Mode::Walk),
            cycle: build(Mode::Cycle),
            drive: build(Mode::Drive),
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
