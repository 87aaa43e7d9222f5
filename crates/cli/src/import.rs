//! `civmap import ...`: glue between the `civmap-geodata` readers and the store. Every import is
//! idempotent — records carry a stable external id, and an id seen before updates (points of
//! interest, zones) or is skipped (problems) — and a malformed file stops before anything is
//! written.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use civmap_domain::{CategoryTable, Poi, PoiId, Zone, ZoneKind};
use civmap_geodata::extract::PoiFeature;
use civmap_geodata::import::{self, Mapping};
use civmap_geodata::street::{
    self, BoundaryPick, PointOptions, RoadOptions, StreetBoundary, StreetOptions, StreetZone,
};
use civmap_geodata::zones::{self, SurroundingsRadii};
use civmap_geodata::{Crs, extract, osm, poi::PoiTable};
use civmap_store::Store;

use crate::problem_import::{self, Format};
use geo::CoordsIter;

#[derive(Debug, clap::Subcommand)]
pub enum ImportCommand {
    /// OpenStreetMap (PBF, XML or gzipped XML): schools, parks and markets, and a street's zones:
    /// three-surroundings, point zones at their gates, road zones along the named roads, area
    /// zones of the named compounds and, over the street's boundary, the management grid.
    /// Re-importing the same file changes nothing; an updated file updates the zones in place.
    Osm {
        file: PathBuf,
        /// Tag-to-kind table (default: `data/poi_kinds.toml` when it exists, else built in).
        #[arg(long)]
        poi_kinds: Option<PathBuf>,
        /// Zones to build, comma-separated. Default: all of them when the street's boundary is
        /// known (`--boundary`, `--street-name`, or `--street` matching a boundary's code in
        /// FILE), all but `grid` otherwise.
        #[arg(long, value_enum, value_delimiter = ',')]
        zones: Vec<ZoneArg>,
        /// The street's (街道 / 镇) statistical code, e.g. `310110009`: every zone's `code`
        /// starts with `CODE-` (grid cells are `CODE-R001C001`...), so a street office made with
        /// `civmap user add ... --street CODE` sees them. Default: the boundary's own code.
        #[arg(long)]
        street: Option<String>,
        /// The street's name, e.g. `四平路街道`: picks its boundary among the administrative
        /// boundaries of FILE, or of `--boundary`.
        #[arg(long)]
        street_name: Option<String>,
        /// The street's boundary from another file: GeoJSON (`.geojson`, `.json`; its only
        /// feature, or the one `--street-name` or `--street` names) or OpenStreetMap.
        #[arg(long)]
        boundary: Option<PathBuf>,
        /// Coordinate system of a GeoJSON `--boundary` (`DataV` outlines are `gcj02`).
        #[arg(long, default_value_t = Crs::Wgs84)]
        boundary_crs: Crs,
        /// Side of a management-grid cell, metres.
        #[arg(long, default_value_t = zones::DEFAULT_GRID_CELL_M)]
        grid_m: f64,
        /// Half-width of a road zone, metres each side of the centre line.
        #[arg(long, default_value_t = zones::DEFAULT_ROAD_HALF_WIDTH_M)]
        road_buffer_m: f64,
        /// Longest stretch of road one road-chief owns, metres: longer roads are cut into
        /// stretches `road:NAME#1`, `#2`...
        #[arg(long, default_value_t = street::DEFAULT_STRETCH_M)]
        stretch_m: f64,
        /// Radius of a point zone at a gate, metres.
        #[arg(long, default_value_t = street::DEFAULT_GATE_RADIUS_M)]
        point_m: f64,
        /// Surroundings radius around schools, metres.
        #[arg(long, default_value_t = 200.0)]
        school_m: f64,
        /// Surroundings radius around parks, metres.
        #[arg(long, default_value_t = 100.0)]
        park_m: f64,
        /// Surroundings radius around wet markets, metres.
        #[arg(long, default_value_t = 150.0)]
        market_m: f64,
    },
    /// Problems from CSV or GeoJSON (by file extension) with a column mapping.
    Problems {
        file: PathBuf,
        /// The mapping (TOML), e.g. `data/import/nyc311/mapping.toml`.
        #[arg(long)]
        mapping: PathBuf,
        /// Coordinate system of the file, overriding the mapping's `crs`.
        #[arg(long)]
        crs: Option<String>,
    },
    /// Points of interest from CSV or GeoJSON with a column mapping.
    Pois {
        file: PathBuf,
        #[arg(long)]
        mapping: PathBuf,
        #[arg(long)]
        crs: Option<String>,
    },
    /// Zones from CSV (circles) or GeoJSON (polygons) with a column mapping.
    Zones {
        file: PathBuf,
        #[arg(long)]
        mapping: PathBuf,
        #[arg(long)]
        crs: Option<String>,
    },
}

fn open(path: &Path) -> Result<BufReader<File>> {
    Ok(BufReader::new(File::open(path).with_context(|| {
        format!("cannot open {}", path.display())
    })?))
}

fn mapping(path: &Path, crs: Option<&str>) -> Result<Mapping> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the mapping {}", path.display()))?;
    let mut m = Mapping::from_toml(&text).with_context(|| format!("mapping {}", path.display()))?;
    if let Some(crs) = crs {
        m.crs = crs.parse::<Crs>()?;
    }
    Ok(m)
}

fn is_geojson(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("geojson" | "json")
    )
}

// One straight sequence of glue steps; splitting it would only scatter the order.
#[allow(clippy::too_many_lines)]
pub async fn run(cmd: ImportCommand, store: &Store, categories: &CategoryTable) -> Result<()> {
    match cmd {
        ImportCommand::Osm {
            file,
            poi_kinds,
            zones,
            street,
            street_name,
            boundary,
            boundary_crs,
            grid_m,
            road_buffer_m,
            stretch_m,
            point_m,
            school_m,
            park_m,
            market_m,
        } => {
            let table = match poi_kinds
                .or_else(|| Some(PathBuf::from("data/poi_kinds.toml")).filter(|p| p.exists()))
            {
                Some(p) => PoiTable::from_toml(
                    &std::fs::read_to_string(&p)
                        .with_context(|| format!("cannot read {}", p.display()))?,
                )?,
                None => PoiTable::builtin(),
            };
            let data = osm::read_path(&file)?;
            let ex = extract::extract(&data, &table);
            let wanted = BoundaryWanted {
                file: boundary,
                crs: boundary_crs,
                pick: BoundaryPick {
                    name: street_name,
                    code: street.clone(),
                },
                required: zones.contains(&ZoneArg::Grid),
                grid_by_default: zones.is_empty(),
            };
            let outline = street_boundary(&data, &file, &wanted)?;
            let street = street.or_else(|| outline.as_ref().and_then(|b| b.code.clone()));
            let kinds: Vec<ZoneKind> = if zones.is_empty() {
                let mut all = StreetOptions::default().kinds;
                if outline.is_some() && street.is_some() {
                    all.push(ZoneKind::GridCell);
                }
                all
            } else {
                zones.iter().map(|z| z.kind()).collect()
            };
            if kinds.contains(&ZoneKind::GridCell) && street.is_none() {
                bail!(
                    "the management grid's cells are coded with the street's code, and the boundary has none: give --street CODE"
                );
            }
            let opts = StreetOptions {
                kinds,
                street_code: street.clone(),
                surroundings: SurroundingsRadii {
                    school_m,
                    park_m,
                    market_m,
                },
                points: PointOptions { radius_m: point_m },
                roads: RoadOptions {
                    half_width_m: road_buffer_m,
                    stretch_m: Some(stretch_m),
                    ..RoadOptions::default()
                },
                grid_m,
            };
            let built =
                street::street_zones(&data, &ex, outline.as_ref().map(|b| &b.geometry), &opts)
                    .with_context(|| format!("building the zones of {}", file.display()))?;
            let poi_ids = store_pois(store, &ex.pois).await?;
            let tally =
                store_zones(store, built.zones, &poi_ids, street.as_deref(), &opts.kinds).await?;
            // The basemap is replaced as a whole: the tiles draw what this file holds.
            let basemap = civmap_app::tiles::basemap::basemap_from_osm(&data, &ex);
            store.replace_basemap(&basemap).await?;
            // So are the roads `civmap serve` plans routes on.
            let road_ways = civmap_app::planning::network::road_ways(&data);
            store.replace_road_ways(&road_ways).await?;
            eprintln!(
                "civmap: {}: {} points of interest, {} named road ways, {} basemap features stored; {} elements skipped",
                file.display(),
                ex.pois.len(),
                ex.roads.len(),
                basemap.len(),
                ex.skipped.len() + built.skipped.len()
            );
            eprintln!(
                "civmap: {} road ways stored for route planning (`civmap serve` plans on them)",
                road_ways.len()
            );
            if let Some(b) = &outline {
                eprintln!(
                    "civmap: the street's boundary: {} ({}), {:.2} km²",
                    b.name,
                    b.source,
                    zones::geodesic_area_m2(&b.geometry) / 1e6
                );
            }
            tally.print(&opts.kinds, street.as_deref());
        }
        ImportCommand::Problems {
            file,
            mapping: m,
            crs,
        } => {
            let m = Arc::new(mapping(&m, crs.as_deref())?);
            let format = if is_geojson(&file) {
                Format::GeoJson
            } else {
                Format::Csv
            };
            let path = file.clone();
            let summary = problem_import::import_problems(
                move || open(&path),
                format,
                m,
                Arc::new(categories.clone()),
                store,
                problem_import::BATCH_ROWS,
                |_| {},
            )
            .await
            .with_context(|| file.display().to_string())?;
            eprintln!("civmap: {}: {}", file.display(), summary.report);
            eprintln!(
                "civmap: stored {} new problems; {} were already stored (imported before, or repeated in the file) and left unchanged",
                summary.inserted, summary.skipped
            );
        }
        ImportCommand::Pois {
            file,
            mapping: m,
            crs,
        } => {
            let m = mapping(&m, crs.as_deref())?;
            let (pois, report) = if is_geojson(&file) {
                import::pois_from_geojson(open(&file)?, &m)?
            } else {
                import::pois_from_csv(open(&file)?, &m)?
            };
            store_pois(store, &pois).await?;
            eprintln!("civmap: {}: {report}", file.display());
        }
        ImportCommand::Zones {
            file,
            mapping: m,
            crs,
        } => {
            let m = mapping(&m, crs.as_deref())?;
            let (shapes, report) = if is_geojson(&file) {
                import::zones_from_geojson(open(&file)?, &m)?
            } else {
                import::zones_from_csv(open(&file)?, &m)?
            };
            if shapes.is_empty() && report.read > 0 {
                bail!("{}: no zone could be imported: {report}", file.display());
            }
            let known = known_zones(store).await?;
            for s in shapes {
                let mut zone = s.into_zone(None);
                if let Some(existing) = zone.external_id.as_ref().and_then(|e| known.get(e)) {
                    zone.id = existing.id;
                }
                store.upsert_zone(&zone).await?;
            }
            eprintln!("civmap: {}: {report}", file.display());
        }
    }
    Ok(())
}

/// The stored zones that have an external id, by it.
async fn known_zones(store: &Store) -> Result<HashMap<String, Zone>> {
    Ok(store
        .list_zones()
        .await?
        .into_iter()
        .filter_map(|z| Some((z.external_id.clone()?, z)))
        .collect())
}

/// The zone kinds of `import osm --zones`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ZoneArg {
    /// Three-surroundings zones around schools, parks and markets.
    Surroundings,
    /// Point-chiefs' zones at their gates.
    Points,
    /// Road-chiefs' zones along the named roads.
    Roads,
    /// Area-chiefs' zones: named compounds and neighbourhoods.
    Areas,
    /// The management grid over the street's boundary.
    Grid,
}

impl ZoneArg {
    const ALL: [ZoneArg; 5] = [
        ZoneArg::Surroundings,
        ZoneArg::Points,
        ZoneArg::Roads,
        ZoneArg::Areas,
        ZoneArg::Grid,
    ];

    fn kind(self) -> ZoneKind {
        match self {
            ZoneArg::Surroundings => ZoneKind::Surroundings,
            ZoneArg::Points => ZoneKind::Point,
            ZoneArg::Roads => ZoneKind::Road,
            ZoneArg::Areas => ZoneKind::Area,
            ZoneArg::Grid => ZoneKind::GridCell,
        }
    }

    /// The flag's word for a kind of zone, for the summary.
    fn label(kind: ZoneKind) -> &'static str {
        match Self::ALL.into_iter().find(|a| a.kind() == kind) {
            Some(ZoneArg::Surroundings) => "surroundings",
            Some(ZoneArg::Points) => "points",
            Some(ZoneArg::Roads) => "roads",
            Some(ZoneArg::Areas) => "areas",
            Some(ZoneArg::Grid) | None => "grid",
        }
    }
}

/// Where `import osm` takes the street's boundary from.
struct BoundaryWanted {
    /// `--boundary`.
    file: Option<PathBuf>,
    /// `--boundary-crs`.
    crs: Crs,
    /// `--street-name`, `--street`.
    pick: BoundaryPick,
    /// `--zones grid` was asked for explicitly.
    required: bool,
    /// No `--zones`: the grid is built when a boundary is found.
    grid_by_default: bool,
}

/// The street's boundary: from `--boundary`, else from the OSM file itself when `--street-name`
/// names one or the grid is asked for; a `--street` code alone is tried, and without a match the
/// import goes on without a grid, saying why.
fn street_boundary(
    data: &osm::OsmData,
    file: &Path,
    w: &BoundaryWanted,
) -> Result<Option<StreetBoundary>> {
    let picked = w.pick.name.is_some() || w.pick.code.is_some();
    let found = match &w.file {
        Some(path) if is_geojson(path) => {
            let all = import::boundaries_from_geojson(open(path)?, w.crs)
                .with_context(|| format!("the boundary file {}", path.display()))?;
            street::boundary_from_list(all, &w.pick)
                .with_context(|| format!("the boundary file {}", path.display()))?
        }
        Some(path) => street::boundary_from_osm(&osm::read_path(path)?, &w.pick)
            .with_context(|| format!("the boundary file {}", path.display()))?,
        None if w.required && !picked => {
            bail!(
                "--zones grid needs the street's boundary: --street-name NAME, --street CODE or --boundary FILE"
            )
        }
        None if w.pick.name.is_some() || w.required => street::boundary_from_osm(data, &w.pick)
            .with_context(|| {
                format!(
                    "{}: the street's boundary (give it with --boundary FILE)",
                    file.display()
                )
            })?,
        None if picked => match street::boundary_from_osm(data, &w.pick) {
            Ok(b) => b,
            Err(e) => {
                if w.grid_by_default {
                    eprintln!("civmap: {}: no management grid: {e}", file.display());
                }
                return Ok(None);
            }
        },
        None => return Ok(None),
    };
    Ok(Some(found))
}

/// Stores the points of interest (updating those imported before) and returns their ids by
/// external id.
async fn store_pois(store: &Store, pois: &[PoiFeature]) -> Result<HashMap<String, PoiId>> {
    let mut ids: HashMap<String, PoiId> = store
        .list_pois()
        .await?
        .into_iter()
        .filter_map(|p| p.external_id.map(|e| (e, p.id)))
        .collect();
    for p in pois {
        let id = *ids.entry(p.external_id.clone()).or_default();
        store
            .upsert_poi(&Poi {
                id,
                kind: p.kind,
                name: p.display_name(),
                geometry: p.geometry.clone(),
                external_id: Some(p.external_id.clone()),
            })
            .await?;
    }
    Ok(ids)
}

/// Zones created, updated and left unchanged by one import, per kind; and the street's zones
/// of an earlier import that this one no longer builds.
#[derive(Debug, Default)]
struct Tally {
    counts: HashMap<ZoneKind, [usize; 3]>,
    stale: Vec<String>,
}

const CREATED: usize = 0;
const UPDATED: usize = 1;
const UNCHANGED: usize = 2;

/// How many stale external ids the summary names.
const STALE_NAMED: usize = 5;

impl Tally {
    fn print(&self, kinds: &[ZoneKind], street: Option<&str>) {
        let whose = street.map_or_else(String::new, |s| format!(" of street {s}"));
        eprintln!("civmap: zones{whose}: created, updated, unchanged");
        for kind in kinds {
            let [c, u, n] = self.counts.get(kind).copied().unwrap_or_default();
            eprintln!(
                "civmap:   {:<13} {c:>5} created {u:>5} updated {n:>5} unchanged",
                ZoneArg::label(*kind)
            );
        }
        if !self.stale.is_empty() {
            let named: Vec<&str> = self
                .stale
                .iter()
                .take(STALE_NAMED)
                .map(String::as_str)
                .collect();
            eprintln!(
                "civmap: {} zones{whose} of an earlier import are not in this file any more: {}{}; they are kept with their assignments and history (reassign or delete them)",
                self.stale.len(),
                named.join(", "),
                if self.stale.len() > STALE_NAMED {
                    ", ..."
                } else {
                    ""
                }
            );
        }
    }
}

/// Stores the built zones: a zone seen before (same external id) keeps its id and is written
/// only when it changed. Writes go side by side, so the store's group commit makes a grid of
/// thousands of cells a few transactions.
async fn store_zones(
    store: &Store,
    built: Vec<StreetZone>,
    pois: &HashMap<String, PoiId>,
    street: Option<&str>,
    kinds: &[ZoneKind],
) -> Result<Tally> {
    let known = known_zones(store).await?;
    let mut tally = Tally::default();
    let mut seen = HashSet::new();
    let mut writes = tokio::task::JoinSet::new();
    for z in built {
        let poi = z.poi.as_ref().and_then(|e| pois.get(e)).copied();
        let mut zone = z.shape.into_zone(poi);
        let ext = zone.external_id.clone().unwrap_or_default();
        let outcome = match known.get(&ext) {
            Some(old) => {
                zone.id = old.id;
                if same_zone(old, &zone) {
                    UNCHANGED
                } else {
                    UPDATED
                }
            }
            None => CREATED,
        };
        tally.counts.entry(zone.kind).or_default()[outcome] += 1;
        seen.insert(ext);
        if outcome != UNCHANGED {
            let store = store.clone();
            writes.spawn(async move { store.upsert_zone(&zone).await });
        }
    }
    while let Some(done) = writes.join_next().await {
        done.context("a zone write panicked")??;
    }
    if let Some(street) = street {
        let prefix = format!("{street}-");
        tally.stale = known
            .into_values()
            .filter(|z| kinds.contains(&z.kind))
            .filter(|z| z.code.as_deref().is_some_and(|c| c.starts_with(&prefix)))
            .filter_map(|z| z.external_id)
            .filter(|e| !seen.contains(e))
            .collect();
        tally.stale.sort();
    }
    Ok(tally)
}

/// Coordinates closer than this are the same, degrees (about 0.1 mm): the store keeps
/// geometry as GeoJSON text, whose parser may round the last bit differently.
const SAME_COORD_DEG: f64 = 1e-9;

/// `true` when a rebuilt zone is what the store already holds.
fn same_zone(a: &Zone, b: &Zone) -> bool {
    a.kind == b.kind
        && a.name == b.name
        && a.poi_kind == b.poi_kind
        && a.poi == b.poi
        && a.code == b.code
        && a.geometry.0.len() == b.geometry.0.len()
        && a.geometry.coords_count() == b.geometry.coords_count()
        && a.geometry
            .coords_iter()
            .zip(b.geometry.coords_iter())
            .all(|(p, q)| {
                (p.x - q.x).abs() <= SAME_COORD_DEG && (p.y - q.y).abs() <= SAME_COORD_DEG
            })
}
