//! The basemap: features drawn under the problems (water, green, buildings, roads, points of
//! interest), extracted from OpenStreetMap at import and kept in memory with an R-tree over
//! their bounding boxes.

use civmap_store::BasemapFeature;
use civmap_tiles::schema::{self, RoadClass};
use geo::{BoundingRect, InteriorPoint, LineString, Polygon};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

/// The `pois` class of an address point (kept for the gazetteer, not drawn).
pub const ADDRESS_CLASS: &str = "address";

/// The gazetteer of the basemap's named features: named roads, addresses, named points of
/// interest and named buildings (see [`civmap_geodata::place`]).
#[must_use]
pub fn gazetteer(features: &[BasemapFeature]) -> civmap_geodata::place::Gazetteer {
    use civmap_geodata::place::Named;
    civmap_geodata::place::Gazetteer::new(features.iter().filter_map(|f| {
        let name = f.name.clone()?;
        match (f.layer.as_str(), &f.geometry) {
            (l, _) if l == schema::ROADS => Some(Named::Road {
                name,
                geometry: f.geometry.clone(),
            }),
            (l, geo::Geometry::Point(at)) if l == schema::POIS && f.class == ADDRESS_CLASS => {
                Some(Named::Address {
                    label: name,
                    at: *at,
                })
            }
            (l, _) if l == schema::POIS || l == schema::BUILDINGS => Some(Named::Feature {
                name,
                geometry: f.geometry.clone(),
            }),
            _ => None,
        }
    }))
}

/// The basemap features with an R-tree over their bounding boxes.
#[derive(Debug, Default)]
pub struct Basemap {
    pub(crate) features: Vec<BasemapFeature>,
    /// Lowest zoom of each feature.
    pub(crate) min_zoom: Vec<u8>,
    pub(crate) tree: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
    bounds: Option<[f64; 4]>,
}

/// The lowest zoom a basemap feature is drawn at.
fn basemap_min_zoom(f: &BasemapFeature) -> u8 {
    match f.layer.as_str() {
        "roads" => RoadClass::from_osm_highway(&f.class)
            .or(match f.class.as_str() {
                "minor" => Some(RoadClass::Minor),
                _ => None,
            })
            .map_or(schema::MAX_TILE_ZOOM, RoadClass::min_zoom),
        l => schema::layer_spec(l).map_or(schema::MAX_TILE_ZOOM, |s| s.min_zoom),
    }
}

impl Basemap {
    /// Indexes `features`.
    #[must_use]
    pub fn new(features: Vec<BasemapFeature>) -> Self {
        let mut entries = Vec::with_capacity(features.len());
        let mut min_zoom = Vec::with_capacity(features.len());
        let mut bounds: Option<[f64; 4]> = None;
        for (i, f) in features.iter().enumerate() {
            min_zoom.push(basemap_min_zoom(f));
            let Some(r) = f.geometry.bounding_rect() else {
                continue;
            };
            let (a, b) = (r.min(), r.max());
            if ![a.x, a.y, b.x, b.y].iter().all(|v| v.is_finite()) {
                continue;
            }
            bounds = Some(bounds.map_or([a.x, a.y, b.x, b.y], |o| {
                [o[0].min(a.x), o[1].min(a.y), o[2].max(b.x), o[3].max(b.y)]
            }));
            entries.push(GeomWithData::new(
                Rectangle::from_corners([a.x, a.y], [b.x, b.y]),
                i as u32,
            ));
        }
        Self {
            features,
            min_zoom,
            tree: RTree::bulk_load(entries),
            bounds,
        }
    }

    /// Number of features.
    #[must_use]
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// True without features.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// `[min_lon, min_lat, max_lon, max_lat]` of every feature.
    #[must_use]
    pub fn bounds(&self) -> Option<[f64; 4]> {
        self.bounds
    }
}

/// Tags whose value classifies a named point of interest, in order of preference.
const POI_KEYS: [&str; 8] = [
    "amenity",
    "shop",
    "tourism",
    "leisure",
    "healthcare",
    "office",
    "historic",
    "railway",
];

/// `railway=*` values that are places people name (the rest are track and signals).
const RAILWAY_POIS: [&str; 3] = ["station", "halt", "subway_entrance"];

fn osm_name(tags: &civmap_geodata::osm::Tags) -> Option<String> {
    tags.get("name")
        .or_else(|| tags.get("name:zh"))
        .or_else(|| tags.get("name:en"))
        .map(str::to_owned)
}

fn poi_class(tags: &civmap_geodata::osm::Tags) -> Option<String> {
    POI_KEYS.iter().find_map(|k| {
        let v = tags.get(k)?;
        if *k == "railway" && !RAILWAY_POIS.contains(&v) {
            return None;
        }
        (v != "no" && v != "yes").then(|| v.to_owned())
    })
}

/// The basemap features of an OpenStreetMap extract: every drawable `highway=*` way (named or
/// not) as `roads` by [`RoadClass`], the extractor's buildings, water and green areas, and every
/// named node or area with an `amenity`, `shop`, `tourism`, `leisure`, `healthcare`, `office`,
/// `historic` or station tag as a `pois` point (areas at an interior point).
#[must_use]
pub fn basemap_from_osm(
    data: &civmap_geodata::osm::OsmData,
    ex: &civmap_geodata::extract::Extract,
) -> Vec<BasemapFeature> {
    use civmap_geodata::extract::Layer;
    let mut out = Vec::new();
    for f in &ex.basemap {
        let layer = match f.layer {
            Layer::Water => schema::WATER,
            Layer::Green => schema::GREEN,
            Layer::Building => schema::BUILDINGS,
            Layer::Admin => continue,
        };
        out.push(BasemapFeature {
            layer: layer.to_owned(),
            class: f.class.clone(),
            name: f.name.clone(),
            geometry: f.geometry.clone(),
            external_id: Some(f.external_id.clone()),
        });
    }
    for w in &data.ways {
        let Some(class) = w.tags.get("highway").and_then(RoadClass::from_osm_highway) else {
            continue;
        };
        if w.tags.has("area", "yes") {
            continue;
        }
        let Some(coords) = data.way_coords(w).filter(|c| c.len() >= 2) else {
            continue;
        };
        out.push(BasemapFeature {
            layer: schema::ROADS.to_owned(),
            class: class.as_str().to_owned(),
            name: osm_name(&w.tags),
            geometry: LineString::from(coords).into(),
            external_id: Some(format!("osm:way/{}", w.id)),
        });
    }
    for n in data.nodes.iter().filter(|n| !n.tags.is_empty()) {
        if let (Some(name), Some(class)) = (osm_name(&n.tags), poi_class(&n.tags)) {
            out.push(BasemapFeature {
                layer: schema::POIS.to_owned(),
                class,
                name: Some(name),
                geometry: geo::Point::new(n.lon, n.lat).into(),
                external_id: Some(format!("osm:node/{}", n.id)),
            });
        }
    }
    // Addresses (nodes and buildings with a street and a house number), which the gazetteer
    // words places with ("四平路1239号附近"); the style does not draw them.
    for (tags, at) in
        data.nodes
            .iter()
            .filter(|n| n.tags.get("addr:housenumber").is_some())
            .map(|n| (&n.tags, Some(geo::Point::new(n.lon, n.lat))))
            .chain(
                data.ways
                    .iter()
                    .filter(|w| w.is_closed() && w.tags.get("addr:housenumber").is_some())
                    .map(|w| {
                        let at = data.way_coords(w).filter(|c| c.len() >= 4).and_then(|c| {
                            Polygon::new(LineString::from(c), vec![]).interior_point()
                        });
                        (&w.tags, at)
                    }),
            )
    {
        let (Some(street), Some(number), Some(at)) =
            (tags.get("addr:street"), tags.get("addr:housenumber"), at)
        else {
            continue;
        };
        if let Some(label) = civmap_geodata::place::address_label(street, number) {
            out.push(BasemapFeature {
                layer: schema::POIS.to_owned(),
                class: ADDRESS_CLASS.to_owned(),
                name: Some(label),
                geometry: at.into(),
                external_id: None,
            });
        }
    }
    // Named areas (a school's grounds, a park): one label point inside.
    for w in data.ways.iter().filter(|w| w.is_closed()) {
        let (Some(name), Some(class)) = (osm_name(&w.tags), poi_class(&w.tags)) else {
            continue;
        };
        let Some(coords) = data.way_coords(w).filter(|c| c.len() >= 4) else {
            continue;
        };
        let Some(p) = Polygon::new(LineString::from(coords), vec![]).interior_point() else {
            continue;
        };
        out.push(BasemapFeature {
            layer: schema::POIS.to_owned(),
            class,
            name: Some(name),
            geometry: p.into(),
            external_id: Some(format!("osm:way/{}", w.id)),
        });
    }
    out
}
