//! `civmap import ...`: glue between the `civmap-geodata` readers and the store. Every import is
//! idempotent — records carry a stable external id, and an id seen before updates (points of
//! interest, zones) or is skipped (problems) — and a malformed file stops before anything is
//! written.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use civmap_domain::{CategoryTable, Poi, PoiId, ZoneId};
use civmap_geodata::import::{self, Mapping};
use civmap_geodata::zones::{self, SurroundingsRadii};
use civmap_geodata::{Crs, extract, osm, poi::PoiTable};
use civmap_store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum ImportCommand {
    /// OpenStreetMap (PBF, XML or gzipped XML): schools, parks and markets with their
    /// three-surroundings zones.
    Osm {
        file: PathBuf,
        /// Tag-to-kind table (default: `data/poi_kinds.toml` when it exists, else built in).
        #[arg(long)]
        poi_kinds: Option<PathBuf>,
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
            let radii = SurroundingsRadii {
                school_m,
                park_m,
                market_m,
            };
            let known_pois: HashMap<String, PoiId> = store
                .list_pois()
                .await?
                .into_iter()
                .filter_map(|p| p.external_id.map(|e| (e, p.id)))
                .collect();
            let known_zones = known_zone_ids(store).await?;
            for p in &ex.pois {
                let id = known_pois.get(&p.external_id).copied().unwrap_or_default();
                store
                    .upsert_poi(&Poi {
                        id,
                        kind: p.kind,
                        name: p.display_name(),
                        geometry: p.geometry.clone(),
                        external_id: Some(p.external_id.clone()),
                    })
                    .await?;
                let mut zone = zones::surroundings_zone(p, &radii)?.into_zone(Some(id));
                if let Some(existing) = zone.external_id.as_ref().and_then(|e| known_zones.get(e)) {
                    zone.id = *existing;
                }
                store.upsert_zone(&zone).await?;
            }
            // The basemap is replaced as a whole: the tiles draw what this file holds.
            let basemap = civmap_app::tiles::basemap::basemap_from_osm(&data, &ex);
            store.replace_basemap(&basemap).await?;
            eprintln!(
                "civmap: {}: {} basemap features stored (roads, buildings, green, water, named places)",
                file.display(),
                basemap.len()
            );
            eprintln!(
                "civmap: {}: {} points of interest with their surroundings zones ({} new), {} named road ways, {} basemap features; {} elements skipped",
                file.display(),
                ex.pois.len(),
                ex.pois
                    .iter()
                    .filter(|p| !known_pois.contains_key(&p.external_id))
                    .count(),
                ex.roads.len(),
                ex.basemap.len(),
                ex.skipped.len()
            );
        }
        ImportCommand::Problems {
            file,
            mapping: m,
            crs,
        } => {
            let m = mapping(&m, crs.as_deref())?;
            let (records, report) = if is_geojson(&file) {
                import::problems_from_geojson(open(&file)?, &m, categories)?
            } else {
                import::problems_from_csv(open(&file)?, &m, categories)?
            };
            let now = Utc::now();
            let mut items = Vec::with_capacity(records.len());
            for r in &records {
                let p = r
                    .to_new_problem()
                    .validate(categories, None, r.reported_at.unwrap_or(now))
                    .with_context(|| {
                        format!("record {} (line/feature {})", r.external_id, r.origin)
                    })?;
                items.push((p, r.external_id.clone()));
            }
            let outcome = store.import_problems(items, &m.source).await?;
            eprintln!("civmap: {}: {report}", file.display());
            eprintln!(
                "civmap: stored {} new problems; {} were imported before and left unchanged",
                outcome.inserted, outcome.skipped
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
            let known: HashMap<String, PoiId> = store
                .list_pois()
                .await?
                .into_iter()
                .filter_map(|p| p.external_id.map(|e| (e, p.id)))
                .collect();
            for p in &pois {
                store
                    .upsert_poi(&Poi {
                        id: known.get(&p.external_id).copied().unwrap_or_default(),
                        kind: p.kind,
                        name: p.display_name(),
                        geometry: p.geometry.clone(),
                        external_id: Some(p.external_id.clone()),
                    })
                    .await?;
            }
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
            let known = known_zone_ids(store).await?;
            for s in shapes {
                let mut zone = s.into_zone(None);
                if let Some(existing) = zone.external_id.as_ref().and_then(|e| known.get(e)) {
                    zone.id = *existing;
                }
                store.upsert_zone(&zone).await?;
            }
            eprintln!("civmap: {}: {report}", file.display());
        }
    }
    Ok(())
}

async fn known_zone_ids(store: &Store) -> Result<HashMap<String, ZoneId>> {
    Ok(store
        .list_zones()
        .await?
        .into_iter()
        .filter_map(|z| z.external_id.map(|e| (e, z.id)))
        .collect())
}
