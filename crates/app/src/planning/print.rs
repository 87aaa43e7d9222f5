//! The map of a printed route sheet: one team's route and its numbered stops over the basemap
//! (water, green, buildings, roads with their names), so a team without a phone can find its
//! way on paper. Drawn by `civmap_tiles::svg`; the basemap is the one the vector tiles use.

use civmap_route::plan::{Plan, TeamRoute};
use civmap_store::BasemapFeature;
use civmap_tiles::schema;
use civmap_tiles::svg::{Colour, FillStyle, LineStyle, StaticMap};
use geo::{Geometry, LineString, Rect, coord};
use rstar::AABB;

use crate::app::App;
use crate::error::ServiceError;

/// Space around the team's route and stops on its map, as a share of the route's span: the
/// first and last stop are not at the paper's edge.
const MARGIN_SHARE: f64 = 0.08;
/// The basemap is read this many spans around the route: the map is fitted to the paper's
/// proportions, so it shows more than the route's box in one direction.
const BASEMAP_REACH: f64 = 1.0;
/// Basemap read at least this far around the route, degrees (about 500 m): a single stop's map
/// grows to a few hundred metres.
const MIN_BASEMAP_REACH_DEG: f64 = 0.005;

/// The colour of team `team` (0-based) on the sheet and on screen.
#[must_use]
pub fn team_colour(team: usize) -> Colour {
    Colour::TEAMS[team % Colour::TEAMS.len()]
}

const WATER: FillStyle = FillStyle {
    fill: Colour::rgb(0xb5, 0xd0, 0xe0),
    fill_opacity: 1.0,
    stroke: Colour::rgb(0x9c, 0xbf, 0xd6),
    stroke_width: 0.5,
};
const GREEN: FillStyle = FillStyle {
    fill: Colour::rgb(0xd6, 0xea, 0xc8),
    fill_opacity: 1.0,
    stroke: Colour::rgb(0xc2, 0xdd, 0xb0),
    stroke_width: 0.5,
};
const BUILDING: FillStyle = FillStyle {
    fill: Colour::rgb(0xe4, 0xdf, 0xda),
    fill_opacity: 1.0,
    stroke: Colour::rgb(0xc9, 0xc0, 0xb6),
    stroke_width: 0.5,
};
/// Road outlines: grey, under white road fills.
const ROAD_EDGE: Colour = Colour::rgb(0xa8, 0xa8, 0xa8);

/// Width of a road on paper by its OSM `highway` class, px (the map is about 700 px wide).
fn road_width(class: &str) -> f64 {
    match class {
        "motorway" | "trunk" | "primary" | "motorway_link" | "trunk_link" | "primary_link" => 7.0,
        "secondary" | "secondary_link" => 6.0,
        "tertiary" | "tertiary_link" => 5.0,
        "residential" | "unclassified" | "living_street" => 3.5,
        "service" | "minor" => 2.5,
        _ => 1.5,
    }
}

fn lines_of(g: &Geometry<f64>) -> Vec<&LineString<f64>> {
    match g {
        Geometry::LineString(l) => vec![l],
        Geometry::MultiLineString(m) => m.0.iter().collect(),
        _ => Vec::new(),
    }
}

/// Draws the basemap features in `[min_lon, min_lat, max_lon, max_lat]`: areas, then road
/// outlines, road fills and the names of named roads.
fn draw_basemap(map: &mut StaticMap, features: &[&BasemapFeature]) {
    for layer in [schema::WATER, schema::GREEN, schema::BUILDINGS] {
        let style = match layer {
            schema::WATER => WATER,
            schema::GREEN => GREEN,
            _ => BUILDING,
        };
        for f in features.iter().filter(|f| f.layer == layer) {
            match &f.geometry {
                Geometry::Polygon(p) => {
                    map.polygon(p, style);
                }
                Geometry::MultiPolygon(m) => {
                    map.multi_polygon(m, style);
                }
                // Rivers and canals drawn as lines.
                g => {
                    for l in lines_of(g) {
                        map.road(
                            l,
                            LineStyle {
                                colour: WATER.fill,
                                width: 3.0,
                                opacity: 1.0,
                                dash: None,
                                casing: 0.0,
                            },
                        );
                    }
                }
            }
        }
    }
    let roads: Vec<&&BasemapFeature> = features
        .iter()
        .filter(|f| f.layer == schema::ROADS)
        .collect();
    // Every outline before any fill, so crossings join cleanly.
    for fill in [false, true] {
        for f in &roads {
            let w = road_width(&f.class);
            let style = LineStyle {
                colour: if fill { Colour::WHITE } else { ROAD_EDGE },
                width: if fill { w } else { w + 1.5 },
                opacity: 1.0,
                dash: None,
                casing: 0.0,
            };
            for l in lines_of(&f.geometry) {
                map.road(l, style);
            }
        }
    }
    // Longest ways first: a street's name goes where it runs longest.
    let mut named: Vec<(&LineString<f64>, &str)> = roads
        .iter()
        .filter_map(|f| Some((f, f.name.as_deref().filter(|n| !n.is_empty())?)))
        .flat_map(|(f, n)| lines_of(&f.geometry).into_iter().map(move |l| (l, n)))
        .collect();
    named.sort_by(|a, b| {
        use geo::{Euclidean, Length};
        Euclidean.length(b.0).total_cmp(&Euclidean.length(a.0))
    });
    for (l, n) in named {
        map.street_name(l, n);
    }
}

/// The box around a team's route, its stops and the start (and a separate end).
fn route_box(plan: &Plan, team: &TeamRoute) -> Rect<f64> {
    let mut pts: Vec<[f64; 2]> = team.geometry.clone();
    pts.extend(team.stops.iter().map(|s| [s.lon, s.lat]));
    pts.push(plan.start);
    pts.extend(plan.end);
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for [x, y] in pts {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let (mx, my) = ((x1 - x0) * MARGIN_SHARE, (y1 - y0) * MARGIN_SHARE);
    Rect::new(
        coord! { x: x0 - mx, y: y0 - my },
        coord! { x: x1 + mx, y: y1 + my },
    )
}

impl App {
    /// The printed map of `team`'s route: `width` × `height` px, the basemap under the route,
    /// its stops numbered from 1 in visiting order, the start `S` (and a separate end `E`).
    pub fn team_print_map(
        &self,
        plan: &Plan,
        team: &TeamRoute,
        width: u32,
        height: u32,
    ) -> Result<String, ServiceError> {
        let bbox = route_box(plan, team);
        let reach_x = (bbox.width() * BASEMAP_REACH).max(MIN_BASEMAP_REACH_DEG);
        let reach_y = (bbox.height() * BASEMAP_REACH).max(MIN_BASEMAP_REACH_DEG);
        let env = AABB::from_corners(
            [bbox.min().x - reach_x, bbox.min().y - reach_y],
            [bbox.max().x + reach_x, bbox.max().y + reach_y],
        );
        let basemap = self.tiles().basemap();
        let mut hits: Vec<u32> = basemap
            .tree
            .locate_in_envelope_intersecting(&env)
            .map(|g| g.data)
            .collect();
        // Import order: the same plan always draws alike.
        hits.sort_unstable();
        let features: Vec<&BasemapFeature> = hits
            .into_iter()
            .filter_map(|i| basemap.features.get(i as usize))
            .collect();

        let mut map = StaticMap::new(width);
        map.height(height).padding(8).bbox(bbox);
        draw_basemap(&mut map, &features);
        let colour = team_colour(team.team);
        let line: LineString<f64> = team.geometry.iter().map(|p| (p[0], p[1])).collect();
        if line.0.len() >= 2 {
            map.line(&line, LineStyle::route(colour));
        }
        for (i, s) in team.stops.iter().enumerate() {
            map.marker(s.lon, s.lat, (i + 1).to_string(), colour);
        }
        map.marker(plan.start[0], plan.start[1], "S", Colour::BLACK);
        if let Some(end) = plan.end.filter(|e| {
            e.iter()
                .zip(plan.start)
                .any(|(a, b)| a.to_bits() != b.to_bits())
        }) {
            map.marker(end[0], end[1], "E", Colour::BLACK);
        }
        map.render()
            .map_err(|e| ServiceError::internal(format!("print map of team {}", team.team + 1), e))
    }
}
