//! Road graph for walking, cycling and driving, built from OpenStreetMap ways given as plain data;
//! snapping of points to the nearest usable road; shortest paths by travel time (Dijkstra with a
//! binary heap); travel-time / distance matrices and path geometry.
//!
//! Coordinates are WGS-84 `[lon, lat]` (RFC 7946 order) in degrees; lengths in metres
//! (haversine on the GRS80 mean radius, via `geo`); times in seconds.
//!
//! Every way segment becomes up to two directed arcs (one per permitted direction). Points snap
//! onto the nearest segment of the graph's largest strongly connected component, so that every
//! snapped point can reach every other one; the segment is split virtually at the projection.
//!
//! ```
//! use civmap_route::graph::{GraphBuilder, Mode};
//! let mut b = GraphBuilder::new(Mode::Drive);
//! b.add_node(1, 121.470, 31.230);
//! b.add_node(2, 121.480, 31.230);
//! b.add_way(10, &[1, 2], [("highway", "residential")]);
//! let g = b.build();
//! let (from, to) = (g.snap(121.471, 31.2301).unwrap(), g.snap(121.479, 31.2299).unwrap());
//! let leg = g.shortest_path(&from, &to).unwrap();
//! assert!((leg.distance_m - 762.0).abs() < 5.0); // 0.008° of longitude at 31.23° N
//! ```

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use geo::{Distance, Haversine, Point};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Line};
use serde::{Deserialize, Serialize};

/// Travel mode; each mode gets its own graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// On foot: footways, paths, pedestrian streets, steps and ordinary streets, both directions;
    /// no motorways or trunk roads (unless tagged `foot=yes`).
    Walk,
    /// By bicycle or e-bike: streets and cycleways respecting one-way streets (unless
    /// `oneway:bicycle=no`); footways and pedestrian streets at pushing speed. `bike` is
    /// accepted as another name on input.
    #[serde(alias = "bike")]
    Cycle,
    /// By car: roads open to motor vehicles, respecting `oneway` and roundabouts.
    Drive,
}

impl Mode {
    /// Average speed in m/s used when there is no road graph (straight-line fallback):
    /// walk 4.8 km/h, cycle 15 km/h, drive 25 km/h (urban average with stops).
    #[must_use]
    pub fn fallback_speed_mps(self) -> f64 {
        match self {
            Self::Walk => 4.8 / 3.6,
            Self::Cycle => 15.0 / 3.6,
            Self::Drive => 25.0 / 3.6,
        }
    }

    /// Lower-case name (`walk`, `cycle`, `drive`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Walk => "walk",
            Self::Cycle => "cycle",
            Self::Drive => "drive",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Walking speed in m/s over the last metres between a stop and the road it snaps to (all modes:
/// the team parks or dismounts and walks to the spot).
pub const ACCESS_SPEED_MPS: f64 = 4.8 / 3.6;

/// The tags that matter for routing, pulled out of a way's tag list.
#[derive(Debug, Default)]
struct WayTags {
    highway: Option<String>,
    oneway: Option<String>,
    oneway_bicycle: Option<String>,
    oneway_foot: Option<String>,
    junction: Option<String>,
    access: Option<String>,
    vehicle: Option<String>,
    motor_vehicle: Option<String>,
    motorcar: Option<String>,
    bicycle: Option<String>,
    foot: Option<String>,
    maxspeed: Option<String>,
    area: Option<String>,
    cycleway: Option<String>,
}

impl WayTags {
    fn from_pairs<I, K, V>(tags: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut t = Self::default();
        for (k, v) in tags {
            let slot = match k.as_ref() {
                "highway" => &mut t.highway,
                "oneway" => &mut t.oneway,
                "oneway:bicycle" => &mut t.oneway_bicycle,
                "oneway:foot" => &mut t.oneway_foot,
                "junction" => &mut t.junction,
                "access" => &mut t.access,
                "vehicle" => &mut t.vehicle,
                "motor_vehicle" => &mut t.motor_vehicle,
                "motorcar" => &mut t.motorcar,
                "bicycle" => &mut t.bicycle,
                "foot" => &mut t.foot,
                "maxspeed" => &mut t.maxspeed,
                "area" => &mut t.area,
                "cycleway" => &mut t.cycleway,
                _ => continue,
            };
            *slot = Some(v.as_ref().trim().to_owned());
        }
        t
    }
}

fn is_any(v: Option<&String>, set: &[&str]) -> bool {
    v.is_some_and(|v| set.contains(&v.as_str()))
}

const ALLOW: &[&str] = &[
    "yes",
    "permissive",
    "designated",
    "destination",
    "customers",
    "delivery",
    "official",
];
const DENY: &[&str] = &["no", "private", "agricultural", "forestry", "discouraged"];

/// Parses `maxspeed` (`50`, `50 km/h`, `30 mph`) to km/h.
fn parse_maxspeed(v: &str) -> Option<f64> {
    let num: String = v
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let x: f64 = num.parse().ok()?;
    if x <= 0.0 {
        return None;
    }
    Some(if v.contains("mph") { x * 1.609_344 } else { x })
}

/// Directions and speed of a usable way.
#[derive(Debug, Clone, Copy, PartialEq)]
struct WayProfile {
    forward: bool,
    backward: bool,
    speed_mps: f64,
}

/// Decides whether `mode` may use a way with these tags, in which directions and how fast.
#[allow(clippy::too_many_lines)] // one table per mode reads better in one place
fn profile(mode: Mode, t: &WayTags) -> Option<WayProfile> {
    let highway = t.highway.as_deref()?;
    if is_any(t.area.as_ref(), &["yes"]) {
        return None;
    }
    // Direction from `oneway` (and roundabouts / motorways, which imply it).
    let oneway = |tag: Option<&String>, implied: bool| -> Option<(bool, bool)> {
        match tag.map(String::as_str) {
            Some("yes" | "true" | "1") => Some((true, false)),
            Some("-1" | "reverse") => Some((false, true)),
            Some("reversible" | "alternating") => None,
            Some("no" | "false" | "0") => Some((true, true)),
            _ if implied => Some((true, false)),
            _ => Some((true, true)),
        }
    };
    let roundabout = is_any(t.junction.as_ref(), &["roundabout", "circular"]);
    let kmh = match mode {
        Mode::Drive => {
            let base = match highway {
                "motorway" => 80.0,
                "trunk" => 60.0,
                "motorway_link" => 45.0,
                "primary" | "trunk_link" => 40.0,
                "secondary" => 35.0,
                "tertiary" | "primary_link" => 30.0,
                "secondary_link" | "unclassified" => 25.0,
                "residential" | "road" | "tertiary_link" => 20.0,
                "service" => 15.0,
                "living_street" => 10.0,
                _ => return None,
            };
            let motor = t
                .motor_vehicle
                .as_ref()
                .or(t.motorcar.as_ref())
                .or(t.vehicle.as_ref());
            if is_any(motor, DENY) || (is_any(t.access.as_ref(), DENY) && !is_any(motor, ALLOW)) {
                return None;
            }
            // Urban traffic rarely reaches the limit: the class speed is a ceiling, a lower limit wins.
            t.maxspeed
                .as_deref()
                .and_then(parse_maxspeed)
                .map_or(base, |m: f64| m.min(base))
        }
        Mode::Walk => {
            let foot = t.foot.as_ref();
            let ordinary = matches!(
                highway,
                "footway"
                    | "path"
                    | "pedestrian"
                    | "steps"
                    | "living_street"
                    | "residential"
                    | "service"
                    | "unclassified"
                    | "road"
                    | "track"
                    | "cycleway"
                    | "bridleway"
                    | "corridor"
                    | "tertiary"
                    | "tertiary_link"
                    | "secondary"
                    | "secondary_link"
                    | "primary"
                    | "primary_link"
            );
            let fast_road = matches!(
                highway,
                "motorway" | "motorway_link" | "trunk" | "trunk_link"
            );
            if !(ordinary || fast_road && is_any(foot, &["yes", "designated", "permissive"])) {
                return None;
            }
            if is_any(foot, DENY) || (is_any(t.access.as_ref(), DENY) && !is_any(foot, ALLOW)) {
                return None;
            }
            if highway == "steps" { 2.4 } else { 4.8 }
        }
        Mode::Cycle => {
            let bike = t.bicycle.as_ref();
            let allowed = is_any(bike, &["yes", "designated", "permissive"]);
            let kmh = match highway {
                "cycleway" | "primary" | "primary_link" | "secondary" | "secondary_link"
                | "tertiary" | "tertiary_link" | "unclassified" | "residential" | "road"
                | "living_street" | "service" => 15.0,
                "path" | "track" | "bridleway" => 12.0,
                // Footways and pedestrian streets: pushing, unless bicycles are allowed.
                "footway" | "pedestrian" | "corridor" => {
                    if allowed {
                        12.0
                    } else {
                        5.0
                    }
                }
                "steps" => 2.0,
                "trunk" | "trunk_link" if allowed => 15.0,
                _ => return None,
            };
            if is_any(bike, DENY) || (is_any(t.access.as_ref(), DENY) && !is_any(bike, ALLOW)) {
                return None;
            }
            kmh
        }
    };
    let implied = roundabout || matches!(highway, "motorway" | "motorway_link");
    let (forward, backward) = match mode {
        Mode::Walk => oneway(t.oneway_foot.as_ref(), false)?,
        Mode::Drive => oneway(t.oneway.as_ref(), implied)?,
        Mode::Cycle => {
            let pushing = matches!(highway, "footway" | "pedestrian" | "steps" | "corridor");
            let contraflow = is_any(t.oneway_bicycle.as_ref(), &["no"])
                || t.cycleway
                    .as_deref()
                    .is_some_and(|c| c.starts_with("opposite"));
            if pushing || contraflow {
                (true, true)
            } else if t.oneway_bicycle.is_some() {
                oneway(t.oneway_bicycle.as_ref(), implied)?
            } else {
                oneway(t.oneway.as_ref(), implied)?
            }
        }
    };
    Some(WayProfile {
        forward,
        backward,
        speed_mps: kmh / 3.6,
    })
}

/// Collects OSM nodes and ways, then [`build`](GraphBuilder::build)s a [`RoadGraph`] for one mode.
/// Nodes and ways may be added in any order; the graph does not depend on it (ways are taken in
/// id order).
#[derive(Debug)]
pub struct GraphBuilder {
    mode: Mode,
    nodes: HashMap<i64, [f64; 2]>,
    ways: Vec<(i64, Vec<i64>, WayProfile)>,
    ways_seen: usize,
}

impl GraphBuilder {
    /// An empty builder for `mode`.
    #[must_use]
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            nodes: HashMap::new(),
            ways: Vec::new(),
            ways_seen: 0,
        }
    }

    /// Adds an OSM node at WGS-84 `lon`, `lat` (degrees). Non-finite or out-of-range coordinates are ignored.
    pub fn add_node(&mut self, id: i64, lon: f64, lat: f64) {
        if lon.is_finite()
            && lat.is_finite()
            && (-180.0..=180.0).contains(&lon)
            && (-90.0..=90.0).contains(&lat)
        {
            self.nodes.insert(id, [lon, lat]);
        }
    }

    /// Adds an OSM way (its node refs and tags, e.g. `[("highway", "residential"), ("oneway", "yes")]`).
    /// Returns whether the way is usable in this builder's mode.
    pub fn add_way<I, K, V>(&mut self, id: i64, refs: &[i64], tags: I) -> bool
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.ways_seen += 1;
        match profile(self.mode, &WayTags::from_pairs(tags)) {
            Some(p) if refs.len() >= 2 => {
                self.ways.push((id, refs.to_vec(), p));
                true
            }
            _ => false,
        }
    }

    /// Builds the graph: compact node numbering, directed arcs, strongly connected components and
    /// the snapping index. Way segments whose nodes are missing are dropped.
    #[must_use]
    #[allow(clippy::too_many_lines)] // a linear sequence of build steps
    pub fn build(mut self) -> RoadGraph {
        self.ways.sort_by_key(|w| w.0);
        let mut index: HashMap<i64, u32> = HashMap::new();
        let mut coords: Vec<[f64; 2]> = Vec::new();
        let mut osm_ids: Vec<i64> = Vec::new();
        let mut segments: Vec<Segment> = Vec::new();
        let mut arcs: Vec<(u32, u32, f64, f64)> = Vec::new(); // tail, head, time, length
        let mut node_of =
            |id: i64, coords: &mut Vec<[f64; 2]>, osm_ids: &mut Vec<i64>| -> Option<u32> {
                if let Some(&i) = index.get(&id) {
                    return Some(i);
                }
                let c = *self.nodes.get(&id)?;
                let i = coords.len() as u32;
                coords.push(c);
                osm_ids.push(id);
                index.insert(id, i);
                Some(i)
            };
        let mut dropped = 0usize;
        for (_, refs, p) in &self.ways {
            for w in refs.windows(2) {
                let (Some(a), Some(b)) = (
                    node_of(w[0], &mut coords, &mut osm_ids),
                    node_of(w[1], &mut coords, &mut osm_ids),
                ) else {
                    dropped += 1;
                    continue;
                };
                if a == b {
                    continue;
                }
                let len = haversine(coords[a as usize], coords[b as usize]);
                let time = len / p.speed_mps;
                let seg = Segment {
                    a,
                    b,
                    len_m: len,
                    time_fwd: p.forward.then_some(time),
                    time_bwd: p.backward.then_some(time),
                };
                if p.forward {
                    arcs.push((a, b, time, len));
                }
                if p.backward {
                    arcs.push((b, a, time, len));
                }
                segments.push(seg);
            }
        }
        let n = coords.len();
        // CSR by tail (stable: arcs keep insertion order within a tail).
        let mut first_out = vec![0u32; n + 1];
        for &(t, ..) in &arcs {
            first_out[t as usize + 1] += 1;
        }
        for i in 0..n {
            first_out[i + 1] += first_out[i];
        }
        let mut fill = first_out.clone();
        let mut head = vec![0u32; arcs.len()];
        let mut arc_time = vec![0f64; arcs.len()];
        let mut arc_len = vec![0f64; arcs.len()];
        let mut arc_tail = vec![0u32; arcs.len()];
        for &(t, h, time, len) in &arcs {
            let slot = fill[t as usize] as usize;
            fill[t as usize] += 1;
            head[slot] = h;
            arc_time[slot] = time;
            arc_len[slot] = len;
            arc_tail[slot] = t;
        }
        let component = strongly_connected_components(n, &first_out, &head);
        let mut sizes: HashMap<u32, usize> = HashMap::new();
        for &c in &component {
            *sizes.entry(c).or_default() += 1;
        }
        // Largest component; ties to the smallest id for determinism.
        let main = sizes
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map_or(u32::MAX, |(&c, _)| c);
        let in_main: Vec<bool> = component.iter().map(|&c| c == main).collect();
        let lat0 = if n == 0 {
            0.0
        } else {
            coords.iter().map(|c| c[1]).sum::<f64>() / n as f64
        };
        let proj = LocalProjection::new(lat0);
        let items: Vec<_> = segments
            .iter()
            .enumerate()
            .filter(|(_, s)| in_main[s.a as usize] && in_main[s.b as usize])
            .map(|(i, s)| {
                GeomWithData::new(
                    Line::new(proj.xy(coords[s.a as usize]), proj.xy(coords[s.b as usize])),
                    i as u32,
                )
            })
            .collect();
        let snappable_segments = items.len();
        RoadGraph {
            mode: self.mode,
            coords,
            osm_ids,
            index,
            first_out,
            head,
            arc_tail,
            arc_time,
            arc_len,
            segments,
            in_main,
            proj,
            rtree: RTree::bulk_load(items),
            stats: GraphStats {
                ways_seen: self.ways_seen,
                ways_used: self.ways.len(),
                segments_dropped_missing_node: dropped,
                nodes: n,
                arcs: arcs.len(),
                main_component_nodes: sizes.get(&main).copied().unwrap_or(0),
                snappable_segments,
            },
        }
    }
}

fn haversine(a: [f64; 2], b: [f64; 2]) -> f64 {
    Haversine.distance(Point::new(a[0], a[1]), Point::new(b[0], b[1]))
}

/// Equirectangular projection to metres around a reference latitude; used only to find the
/// nearest segment and the projection parameter (distances reported are haversine).
#[derive(Debug, Clone, Copy)]
struct LocalProjection {
    kx: f64,
    ky: f64,
}

impl LocalProjection {
    fn new(lat0: f64) -> Self {
        let m_per_deg = Haversine.radius() * std::f64::consts::PI / 180.0;
        Self {
            kx: m_per_deg * lat0.to_radians().cos(),
            ky: m_per_deg,
        }
    }

    fn xy(self, c: [f64; 2]) -> [f64; 2] {
        [c[0] * self.kx, c[1] * self.ky]
    }
}

/// One way segment between two graph nodes, with the travel time in each permitted direction.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    a: u32,
    b: u32,
    len_m: f64,
    time_fwd: Option<f64>,
    time_bwd: Option<f64>,
}

/// Counts describing a built graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct GraphStats {
    /// Ways offered to the builder.
    pub ways_seen: usize,
    /// Ways usable in the graph's mode.
    pub ways_used: usize,
    /// Way segments dropped because a node was missing.
    pub segments_dropped_missing_node: usize,
    /// Graph nodes.
    pub nodes: usize,
    /// Directed arcs.
    pub arcs: usize,
    /// Nodes in the largest strongly connected component.
    pub main_component_nodes: usize,
    /// Segments points can snap to (both ends in the largest component).
    pub snappable_segments: usize,
}

/// A point placed on the road network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// Segment index inside the graph.
    segment: u32,
    /// Position along the segment from its first node (0) to its second (1).
    t: f64,
    /// The projected point on the road, `[lon, lat]`.
    pub point: [f64; 2],
    /// Distance in metres from the original point to [`point`](Self::point).
    pub offset_m: f64,
}

impl Snap {
    /// Graph nodes of the segment the point lies on, `(a, b)`.
    #[must_use]
    pub fn segment_nodes(&self, g: &RoadGraph) -> (u32, u32) {
        let seg = g.segments[self.segment as usize];
        (seg.a, seg.b)
    }

    /// Position along the segment from its first node (0) to its second (1).
    #[must_use]
    pub fn fraction(&self) -> f64 {
        self.t
    }
}

/// A road path between two snapped points.
#[derive(Debug, Clone, PartialEq)]
pub struct Leg {
    /// Travel time in seconds (road part only).
    pub time_s: f64,
    /// Length in metres (road part only).
    pub distance_m: f64,
    /// `[lon, lat]` vertices from the first snapped point to the second.
    pub geometry: Vec<[f64; 2]>,
}

/// Travel times and distances between snapped points, row-major `n x n`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadMatrix {
    /// Number of points.
    pub n: usize,
    /// Seconds from `i` to `j` at `i * n + j`; `f64::INFINITY` when unreachable.
    pub time_s: Vec<f64>,
    /// Metres along the fastest path from `i` to `j`.
    pub distance_m: Vec<f64>,
}

/// A directed road graph for one travel [`Mode`].
#[derive(Debug)]
pub struct RoadGraph {
    mode: Mode,
    coords: Vec<[f64; 2]>,
    osm_ids: Vec<i64>,
    index: HashMap<i64, u32>,
    first_out: Vec<u32>,
    head: Vec<u32>,
    arc_tail: Vec<u32>,
    arc_time: Vec<f64>,
    arc_len: Vec<f64>,
    segments: Vec<Segment>,
    in_main: Vec<bool>,
    proj: LocalProjection,
    rtree: RTree<GeomWithData<Line<[f64; 2]>, u32>>,
    stats: GraphStats,
}

/// A directed arc, as exposed for inspection and tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arc {
    /// Tail node index.
    pub from: u32,
    /// Head node index.
    pub to: u32,
    /// Travel time in seconds.
    pub time_s: f64,
    /// Length in metres.
    pub length_m: f64,
}

impl RoadGraph {
    /// The graph's travel mode.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Build statistics.
    #[must_use]
    pub fn stats(&self) -> GraphStats {
        self.stats
    }

    /// Number of nodes.
    #[must_use]
    pub fn node_count(&self) -> usize {
        self.coords.len()
    }

    /// `[lon, lat]` of node `i`.
    #[must_use]
    pub fn node_coord(&self, i: u32) -> [f64; 2] {
        self.coords[i as usize]
    }

    /// OSM id of node `i`.
    #[must_use]
    pub fn osm_id(&self, i: u32) -> i64 {
        self.osm_ids[i as usize]
    }

    /// Graph node index of an OSM node id, if the node is on a usable way.
    #[must_use]
    pub fn node_index(&self, osm_id: i64) -> Option<u32> {
        self.index.get(&osm_id).copied()
    }

    /// `true` when node `i` is in the largest strongly connected component.
    #[must_use]
    pub fn in_main_component(&self, i: u32) -> bool {
        self.in_main[i as usize]
    }

    /// All directed arcs.
    pub fn arcs(&self) -> impl Iterator<Item = Arc> + '_ {
        (0..self.head.len()).map(|k| Arc {
            from: self.arc_tail[k],
            to: self.head[k],
            time_s: self.arc_time[k],
            length_m: self.arc_len[k],
        })
    }

    /// Snaps WGS-84 `lon`, `lat` to the nearest road segment of the largest strongly connected
    /// component (`None` when the graph has none).
    #[must_use]
    pub fn snap(&self, lon: f64, lat: f64) -> Option<Snap> {
        let q = self.proj.xy([lon, lat]);
        let item = self.rtree.nearest_neighbor(&q)?;
        let seg = self.segments[item.data as usize];
        let (pa, pb) = (item.geom().from, item.geom().to);
        let (dx, dy) = (pb[0] - pa[0], pb[1] - pa[1]);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            (((q[0] - pa[0]) * dx + (q[1] - pa[1]) * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (ca, cb) = (self.coords[seg.a as usize], self.coords[seg.b as usize]);
        let point = [ca[0] + t * (cb[0] - ca[0]), ca[1] + t * (cb[1] - ca[1])];
        Some(Snap {
            segment: item.data,
            t,
            point,
            offset_m: haversine([lon, lat], point),
        })
    }

    /// Dijkstra seeds for leaving a snapped point: (node, time, distance).
    fn seeds(&self, s: &Snap) -> Vec<(u32, f64, f64)> {
        let seg = self.segments[s.segment as usize];
        let mut out = Vec::with_capacity(2);
        if let Some(tf) = seg.time_fwd {
            out.push((seg.b, (1.0 - s.t) * tf, (1.0 - s.t) * seg.len_m));
        }
        if let Some(tb) = seg.time_bwd {
            out.push((seg.a, s.t * tb, s.t * seg.len_m));
        }
        out
    }

    /// Ways of arriving at a snapped point: (node, extra time, extra distance).
    fn arrivals(&self, s: &Snap) -> Vec<(u32, f64, f64)> {
        let seg = self.segments[s.segment as usize];
        let mut out = Vec::with_capacity(2);
        if let Some(tf) = seg.time_fwd {
            out.push((seg.a, s.t * tf, s.t * seg.len_m));
        }
        if let Some(tb) = seg.time_bwd {
            out.push((seg.b, (1.0 - s.t) * tb, (1.0 - s.t) * seg.len_m));
        }
        out
    }

    /// Travel along the shared segment without touching a node, if both points are on it and
    /// the direction is permitted: (time, distance).
    fn direct(&self, from: &Snap, to: &Snap) -> Option<(f64, f64)> {
        if from.segment != to.segment {
            return None;
        }
        let seg = self.segments[from.segment as usize];
        let dt = to.t - from.t;
        match (seg.time_fwd, seg.time_bwd) {
            (Some(tf), _) if dt >= 0.0 => Some((dt * tf, dt * seg.len_m)),
            (_, Some(tb)) if dt <= 0.0 => Some((-dt * tb, -dt * seg.len_m)),
            _ => None,
        }
    }

    /// Fastest road path between two snapped points (`None` if unreachable).
    #[must_use]
    pub fn shortest_path(&self, from: &Snap, to: &Snap) -> Option<Leg> {
        let mut dj = Dijkstra::new(self);
        let arrivals = self.arrivals(to);
        let targets: Vec<u32> = arrivals.iter().map(|a| a.0).collect();
        dj.run(&self.seeds(from), &targets);
        let mut best: Option<(f64, f64, Option<u32>)> =
            self.direct(from, to).map(|(t, d)| (t, d, None));
        for &(node, et, ed) in &arrivals {
            if let Some((t, d)) = dj.reached(node)
                && best.is_none_or(|b| t + et < b.0)
            {
                best = Some((t + et, d + ed, Some(node)));
            }
        }
        let (time_s, distance_m, via) = best?;
        let mut geometry = vec![from.point];
        if let Some(node) = via {
            geometry.extend(
                dj.path_nodes(node)
                    .into_iter()
                    .map(|v| self.coords[v as usize]),
            );
        }
        geometry.push(to.point);
        Some(Leg {
            time_s,
            distance_m,
            geometry,
        })
    }

    /// Fastest-path travel times (s) and the lengths (m) of those paths between all pairs of
    /// snapped points; one Dijkstra per row, rows spread over the available cores.
    #[must_use]
    pub fn matrix(&self, snaps: &[Snap]) -> RoadMatrix {
        let n = snaps.len();
        let arrivals: Vec<Vec<(u32, f64, f64)>> = snaps.iter().map(|s| self.arrivals(s)).collect();
        let mut targets: Vec<u32> = arrivals.iter().flatten().map(|a| a.0).collect();
        targets.sort_unstable();
        targets.dedup();
        let row = |dj: &mut Dijkstra<'_>, i: usize, time: &mut [f64], dist: &mut [f64]| {
            dj.run(&self.seeds(&snaps[i]), &targets);
            for j in 0..n {
                if i == j {
                    time[j] = 0.0;
                    dist[j] = 0.0;
                    continue;
                }
                let mut best = self
                    .direct(&snaps[i], &snaps[j])
                    .unwrap_or((f64::INFINITY, f64::INFINITY));
                for &(node, et, ed) in &arrivals[j] {
                    if let Some((t, d)) = dj.reached(node)
                        && t + et < best.0
                    {
                        best = (t + et, d + ed);
                    }
                }
                time[j] = best.0;
                dist[j] = best.1;
            }
        };
        let mut time_s = vec![0.0; n * n];
        let mut distance_m = vec![0.0; n * n];
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(n.max(1));
        if threads <= 1 || n < 8 {
            let mut dj = Dijkstra::new(self);
            for i in 0..n {
                row(
                    &mut dj,
                    i,
                    &mut time_s[i * n..(i + 1) * n],
                    &mut distance_m[i * n..(i + 1) * n],
                );
            }
        } else {
            let rows_per = n.div_ceil(threads);
            std::thread::scope(|scope| {
                for (chunk, (tc, dc)) in time_s
                    .chunks_mut(rows_per * n)
                    .zip(distance_m.chunks_mut(rows_per * n))
                    .enumerate()
                {
                    let row = &row;
                    scope.spawn(move || {
                        let mut dj = Dijkstra::new(self);
                        for (k, (tr, dr)) in tc.chunks_mut(n).zip(dc.chunks_mut(n)).enumerate() {
                            row(&mut dj, chunk * rows_per + k, tr, dr);
                        }
                    });
                }
            });
        }
        RoadMatrix {
            n,
            time_s,
            distance_m,
        }
    }

    /// Fastest path between two graph nodes: (time s, length m, node sequence). For tests and tools.
    #[must_use]
    pub fn node_path(&self, from: u32, to: u32) -> Option<(f64, f64, Vec<u32>)> {
        let mut dj = Dijkstra::new(self);
        dj.run(&[(from, 0.0, 0.0)], &[to]);
        let (t, d) = dj.reached(to)?;
        Some((t, d, dj.path_nodes(to)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct HeapItem {
    time: f64,
    node: u32,
}

impl Eq for HeapItem {}

impl Ord for HeapItem {
    fn cmp(&self, other: &Self) -> Ordering {
        // Min-heap on time; node id breaks ties for determinism.
        other
            .time
            .total_cmp(&self.time)
            .then_with(|| other.node.cmp(&self.node))
    }
}

impl PartialOrd for HeapItem {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

const NO_ARC: u32 = u32::MAX;

/// Reusable one-to-many Dijkstra state (labels are reset lazily with a run stamp).
#[derive(Debug)]
struct Dijkstra<'g> {
    g: &'g RoadGraph,
    time: Vec<f64>,
    dist: Vec<f64>,
    pred: Vec<u32>,
    stamp: Vec<u32>,
    settled: Vec<u32>,
    run_id: u32,
    heap: BinaryHeap<HeapItem>,
    is_target: Vec<u32>,
}

impl<'g> Dijkstra<'g> {
    fn new(g: &'g RoadGraph) -> Self {
        let n = g.node_count();
        Self {
            g,
            time: vec![f64::INFINITY; n],
            dist: vec![0.0; n],
            pred: vec![NO_ARC; n],
            stamp: vec![0; n],
            settled: vec![0; n],
            run_id: 0,
            heap: BinaryHeap::new(),
            is_target: vec![0; n],
        }
    }

    fn label(&self, v: u32) -> f64 {
        if self.stamp[v as usize] == self.run_id {
            self.time[v as usize]
        } else {
            f64::INFINITY
        }
    }

    /// Runs from the seeds until every target is settled (or the queue is empty).
    fn run(&mut self, seeds: &[(u32, f64, f64)], targets: &[u32]) {
        self.run_id += 1;
        let run = self.run_id;
        self.heap.clear();
        let mut remaining = 0usize;
        for &t in targets {
            if self.is_target[t as usize] != run {
                self.is_target[t as usize] = run;
                remaining += 1;
            }
        }
        for &(v, t, d) in seeds {
            if t < self.label(v) {
                self.stamp[v as usize] = run;
                self.time[v as usize] = t;
                self.dist[v as usize] = d;
                self.pred[v as usize] = NO_ARC;
                self.heap.push(HeapItem { time: t, node: v });
            }
        }
        while let Some(HeapItem { time, node }) = self.heap.pop() {
            let u = node as usize;
            if self.settled[u] == run || time > self.time[u] {
                continue;
            }
            self.settled[u] = run;
            if self.is_target[u] == run {
                remaining -= 1;
                if remaining == 0 {
                    break;
                }
            }
            let g = self.g;
            for k in g.first_out[u] as usize..g.first_out[u + 1] as usize {
                let v = g.head[k];
                let nt = time + g.arc_time[k];
                if nt < self.label(v) {
                    let vi = v as usize;
                    self.stamp[vi] = run;
                    self.time[vi] = nt;
                    self.dist[vi] = self.dist[u] + g.arc_len[k];
                    self.pred[vi] = k as u32;
                    self.heap.push(HeapItem { time: nt, node: v });
                }
            }
        }
    }

    /// (time, distance) of a node settled in the last run.
    fn reached(&self, v: u32) -> Option<(f64, f64)> {
        (self.settled[v as usize] == self.run_id)
            .then(|| (self.time[v as usize], self.dist[v as usize]))
    }

    /// Nodes from the seed to `v` along predecessor arcs.
    fn path_nodes(&self, v: u32) -> Vec<u32> {
        let mut out = vec![v];
        let mut cur = v;
        while self.pred[cur as usize] != NO_ARC {
            cur = self.g.arc_tail[self.pred[cur as usize] as usize];
            out.push(cur);
        }
        out.reverse();
        out
    }
}

/// Tarjan's strongly connected components, iterative; returns a component id per node.
fn strongly_connected_components(n: usize, first_out: &[u32], head: &[u32]) -> Vec<u32> {
    const UNSEEN: u32 = u32::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut comp = vec![UNSEEN; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut call: Vec<(u32, u32)> = Vec::new(); // (node, next arc)
    let mut next_index = 0u32;
    let mut next_comp = 0u32;
    for root in 0..n as u32 {
        if index[root as usize] != UNSEEN {
            continue;
        }
        call.push((root, first_out[root as usize]));
        index[root as usize] = next_index;
        low[root as usize] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root as usize] = true;
        while let Some(&mut (v, ref mut arc)) = call.last_mut() {
            let vi = v as usize;
            if *arc < first_out[vi + 1] {
                let w = head[*arc as usize];
                *arc += 1;
                let wi = w as usize;
                if index[wi] == UNSEEN {
                    index[wi] = next_index;
                    low[wi] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[wi] = true;
                    call.push((w, first_out[wi]));
                } else if on_stack[wi] {
                    low[vi] = low[vi].min(index[wi]);
                }
            } else {
                call.pop();
                if let Some(&(parent, _)) = call.last() {
                    low[parent as usize] = low[parent as usize].min(low[vi]);
                }
                if low[vi] == index[vi] {
                    while let Some(w) = stack.pop() {
                        on_stack[w as usize] = false;
                        comp[w as usize] = next_comp;
                        if w == v {
                            break;
                        }
                    }
                    next_comp += 1;
                }
            }
        }
    }
    comp
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> WayTags {
        WayTags::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn drive_profile_respects_oneway_roundabout_and_access() {
        let p =
            |t: &[(&str, &str)]| profile(Mode::Drive, &tags(t)).map(|p| (p.forward, p.backward));
        assert_eq!(p(&[("highway", "residential")]), Some((true, true)));
        assert_eq!(
            p(&[("highway", "residential"), ("oneway", "yes")]),
            Some((true, false))
        );
        assert_eq!(
            p(&[("highway", "residential"), ("oneway", "-1")]),
            Some((false, true))
        );
        assert_eq!(
            p(&[("highway", "primary"), ("junction", "roundabout")]),
            Some((true, false))
        );
        assert_eq!(p(&[("highway", "motorway")]), Some((true, false)));
        assert_eq!(
            p(&[("highway", "motorway"), ("oneway", "no")]),
            Some((true, true))
        );
        assert_eq!(p(&[("highway", "footway")]), None);
        assert_eq!(p(&[("highway", "service"), ("access", "private")]), None);
        assert_eq!(
            p(&[
                ("highway", "service"),
                ("access", "no"),
                ("motor_vehicle", "yes")
            ]),
            Some((true, true))
        );
        assert_eq!(
            p(&[("highway", "residential"), ("oneway", "reversible")]),
            None
        );
        assert_eq!(p(&[("building", "yes")]), None);
    }

    #[test]
    fn walk_and_cycle_profiles() {
        let w = |t: &[(&str, &str)]| profile(Mode::Walk, &tags(t)).map(|p| (p.forward, p.backward));
        assert_eq!(w(&[("highway", "footway")]), Some((true, true)));
        assert_eq!(
            w(&[("highway", "residential"), ("oneway", "yes")]),
            Some((true, true))
        );
        assert_eq!(w(&[("highway", "trunk")]), None);
        assert_eq!(
            w(&[("highway", "trunk"), ("foot", "yes")]),
            Some((true, true))
        );
        assert_eq!(w(&[("highway", "motorway")]), None);
        assert_eq!(w(&[("highway", "path"), ("foot", "no")]), None);
        let c =
            |t: &[(&str, &str)]| profile(Mode::Cycle, &tags(t)).map(|p| (p.forward, p.backward));
        assert_eq!(
            c(&[("highway", "residential"), ("oneway", "yes")]),
            Some((true, false))
        );
        assert_eq!(
            c(&[
                ("highway", "residential"),
                ("oneway", "yes"),
                ("oneway:bicycle", "no")
            ]),
            Some((true, true))
        );
        assert_eq!(
            c(&[
                ("highway", "residential"),
                ("oneway", "yes"),
                ("cycleway", "opposite_lane")
            ]),
            Some((true, true))
        );
        assert_eq!(c(&[("highway", "motorway")]), None);
        let push = profile(Mode::Cycle, &tags(&[("highway", "footway")])).unwrap();
        assert!((push.speed_mps - 5.0 / 3.6).abs() < 1e-9);
    }

    #[test]
    fn maxspeed_lowers_but_does_not_raise_the_class_speed() {
        let s = |t: &[(&str, &str)]| profile(Mode::Drive, &tags(t)).unwrap().speed_mps * 3.6;
        assert!((s(&[("highway", "primary")]) - 40.0).abs() < 1e-9);
        assert!((s(&[("highway", "primary"), ("maxspeed", "30")]) - 30.0).abs() < 1e-9);
        assert!((s(&[("highway", "primary"), ("maxspeed", "80 km/h")]) - 40.0).abs() < 1e-9);
        assert!((s(&[("highway", "primary"), ("maxspeed", "20 mph")]) - 32.186_88).abs() < 1e-6);
    }

    #[test]
    fn scc_finds_cycles_and_dead_ends() {
        // 0 <-> 1 -> 2 (one-way dead end), 3 -> 4 -> 5 -> 3
        let edges = [(0, 1), (1, 0), (1, 2), (3, 4), (4, 5), (5, 3)];
        let n = 6;
        let mut first_out = vec![0u32; n + 1];
        for &(t, _) in &edges {
            first_out[t + 1] += 1;
        }
        for i in 0..n {
            first_out[i + 1] += first_out[i];
        }
        let mut fill = first_out.clone();
        let mut head = vec![0u32; edges.len()];
        for &(t, h) in &edges {
            head[fill[t] as usize] = h as u32;
            fill[t] += 1;
        }
        let c = strongly_connected_components(n, &first_out, &head);
        assert_eq!(c[0], c[1]);
        assert_ne!(c[1], c[2]);
        assert_eq!(c[3], c[4]);
        assert_eq!(c[4], c[5]);
        assert_ne!(c[0], c[3]);
    }
}
