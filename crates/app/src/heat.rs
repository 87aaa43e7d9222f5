//! Heat: per-zone heat scores, the three-surroundings rankings and the density surface (hexagon
//! or square cells) of the map's heat layer.
//!
//! Everything here is public-safe: counts, weights and scores of zones and cells, never a
//! problem, a reporter or an assignee. Public callers may not ask for cells smaller than
//! [`PUBLIC_MIN_SIZE_M`] (indoor problems are shown to them only generalised, so a finer
//! surface would give their position away).
//!
//! **Heat weight** of one problem (see `civmap_index::HeatParams`): category weight × severity
//! weight × age factor, the age factor `min(1 + days open / 7, 4)` for an open problem and 1
//! otherwise. **Zone heat score**: Σ weight of the zone's *open* problems reported in the period,
//! divided by the zone's area in hectares. Ages are measured at the end of the period, or now if
//! the period has not ended, so a period and the previous one are scored alike.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use civmap_domain::assessment::Period;
use civmap_domain::{CategoryTable, LonLat, PoiId, PoiKind, Zone, ZoneId, ZoneKind};
use civmap_index::{
    CellStat, Filter, HeatParams, HexGrid, METRES_PER_DEGREE, Region, SquareGrid, ZoneHeat,
};
use geo::BoundingRect;

use crate::app::App;
use crate::error::ServiceError;
use crate::memory::{Problems, Zones};
use crate::spatial::BBox;
use crate::time::to_ms;

/// Most zones one request may score (`Invalid` above: narrow with the kinds or a box).
pub const MAX_SCORED_ZONES: usize = 5_000;
/// Smallest cell size for signed-in staff, metres.
pub const MIN_SIZE_M: f64 = 50.0;
/// Largest cell size, metres.
pub const MAX_SIZE_M: f64 = 2_000.0;
/// Smallest cell size for public callers, metres (indoor problems are generalised to ~100 m).
pub const PUBLIC_MIN_SIZE_M: f64 = 100.0;
/// Most cells a box may hold at the requested size (`Invalid` above: a larger size or a
/// smaller box), which also bounds the number of cells returned.
pub const MAX_CELLS: f64 = 50_000.0;
const M2_PER_HA: f64 = 10_000.0;

/// A zone as heat rows name it (no geometry).
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneSummary {
    pub id: ZoneId,
    pub kind: ZoneKind,
    pub name: String,
    pub poi_kind: Option<PoiKind>,
    pub poi: Option<PoiId>,
    pub code: Option<String>,
    pub external_id: Option<String>,
}

impl From<&Zone> for ZoneSummary {
    fn from(z: &Zone) -> Self {
        Self {
            id: z.id,
            kind: z.kind,
            name: z.name.clone(),
            poi_kind: z.poi_kind,
            poi: z.poi,
            code: z.code.clone(),
            external_id: z.external_id.clone(),
        }
    }
}

/// One zone's scores over one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The open problems' count, weight and heaviest categories.
    pub heat: ZoneHeat,
    /// Problems reported in the period in the zone, any status.
    pub reported: u32,
    /// The zone's geodesic area, m² (holes subtracted whatever their orientation).
    pub area_m2: f64,
    /// The heat score: Σ weight per hectare.
    pub score: f64,
}

impl Scored {
    /// A weight as a score of this zone: per hectare.
    #[must_use]
    pub fn per_ha(&self, weight: f64) -> f64 {
        weight / (self.area_m2 / M2_PER_HA)
    }
}

/// A zone and its scores.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneRow {
    pub zone: ZoneSummary,
    pub scored: Scored,
}

/// Heat scores of zones, highest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneScores {
    pub period: Period,
    /// Zones that matched the kinds and the box.
    pub number_matched: usize,
    pub rows: Vec<ZoneRow>,
}

/// How a ranking orders zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankOrder {
    /// The heat score, the worst first.
    Score,
    /// The most problems reported in the period first.
    Count,
}

impl RankOrder {
    fn compare(self, a: (&Zone, &Scored), b: (&Zone, &Scored)) -> Ordering {
        match self {
            RankOrder::Score => by_score(a, b),
            RankOrder::Count => b.1.reported.cmp(&a.1.reported).then_with(|| by_score(a, b)),
        }
    }

    /// `score` or `count`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RankOrder::Score => "score",
            RankOrder::Count => "count",
        }
    }
}

/// One row of a ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct RankingRow {
    /// 1 for the worst zone.
    pub rank: usize,
    pub zone: ZoneSummary,
    pub now: Scored,
    pub previous: Scored,
    /// The zone's rank in the previous period (same order).
    pub previous_rank: usize,
}

/// The worst three-surroundings zones of one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    pub poi_kind: PoiKind,
    pub order: RankOrder,
    pub period: Period,
    pub previous: Period,
    /// How many zones of this kind were ranked.
    pub zones: usize,
    /// The worst `n`, worst first.
    pub rows: Vec<RankingRow>,
}

/// The shape of the density surface's cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Pointy-top hexagons `size_m` across flats.
    Hex,
    /// Squares of `size_m` sides.
    Square,
}

impl Shape {
    /// `hex` or `square`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Hex => "hex",
            Shape::Square => "square",
        }
    }
}

/// What the density surface aggregates.
#[derive(Debug, Clone)]
pub struct CellRequest {
    pub shape: Shape,
    pub size_m: f64,
    /// WGS-84.
    pub bbox: BBox,
    /// Category, status and report-time filters.
    pub filter: Filter,
    /// When ages are measured (the end of the period, or now).
    pub scored_at: DateTime<Utc>,
    /// Whether the caller is the public (larger smallest cell).
    pub public: bool,
}

/// One non-empty cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// `hex:<size>:<q>:<r>` or `square:<size>:<col>:<row>`: stable between requests.
    pub id: String,
    /// WGS-84 outline.
    pub outline: geo::Polygon<f64>,
    pub count: u32,
    pub weight: f64,
    /// `weight` per hectare of the cell.
    pub score: f64,
}

/// The density surface.
#[derive(Debug, Clone, PartialEq)]
pub struct Cells {
    pub shape: Shape,
    pub size_m: f64,
    /// The grid's anchor `[lon, lat]` (WGS-84).
    pub anchor: [f64; 2],
    /// Largest cell `score` (0 without cells).
    pub max_score: f64,
    pub scored_at: DateTime<Utc>,
    /// Non-empty cells, south to north, then west to east.
    pub cells: Vec<Cell>,
}

/// Highest score first; ties by open count, reported count, name, external id, id.
fn by_score(a: (&Zone, &Scored), b: (&Zone, &Scored)) -> Ordering {
    b.1.score
        .total_cmp(&a.1.score)
        .then(b.1.heat.count.cmp(&a.1.heat.count))
        .then(b.1.reported.cmp(&a.1.reported))
        .then_with(|| tie(a.0, b.0))
}

fn tie(a: &Zone, b: &Zone) -> Ordering {
    a.name
        .cmp(&b.name)
        .then_with(|| a.external_id.cmp(&b.external_id))
        .then(a.id.cmp(&b.id))
}

fn meets(z: &Zone, b: &BBox) -> bool {
    z.geometry.bounding_rect().is_some_and(|r| {
        r.min().x <= b.max_lon
            && r.max().x >= b.min_lon
            && r.min().y <= b.max_lat
            && r.max().y >= b.min_lat
    })
}

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> ServiceError {
    ServiceError::internal("heat", e)
}

/// The zones that can be scored (held by the zone index, with an area), with their areas.
fn indexed<'a>(zones: &'a Zones, list: impl Iterator<Item = &'a Zone>) -> Vec<(&'a Zone, f64)> {
    list.filter_map(|z| Some((z, zones.index.area_m2(z.id)?)))
        .filter(|(_, a)| a.is_finite() && *a > 0.0)
        .collect()
}

fn too_many_zones(field: &str, n: usize) -> ServiceError {
    ServiceError::invalid(
        field,
        format!(
            "{n} zones match; at most {MAX_SCORED_ZONES} can be scored at once (narrow the request with kind or bbox)"
        ),
    )
}

/// Heat of `list` (zones and their areas) over `period` (ages at the period's end or now), plus
/// the count of every problem (any status) reported in the period.
fn score_zones(
    problems: &Problems,
    zones: &Zones,
    list: &[(&Zone, f64)],
    period: Period,
    weights: &[f64],
    now: DateTime<Utc>,
) -> Result<Vec<Scored>, ServiceError> {
    let filter =
        Filter::default().with_reported_between(Some(to_ms(period.from)), Some(to_ms(period.to)));
    let params = HeatParams::new(weights.to_vec(), to_ms(period.scored_at(now)));
    let heats = problems
        .index
        .zone_heat(
            &zones.index,
            list.iter().map(|(z, _)| z.id),
            &filter,
            &params,
        )
        .map_err(internal)?;
    heats
        .into_iter()
        .zip(list)
        .map(|(heat, &(_, area_m2))| {
            let reported = problems
                .index
                .count(&Region::Zone(&zones.index, heat.zone), &filter)
                .map_err(internal)?;
            Ok(Scored {
                score: heat.score / (area_m2 / M2_PER_HA),
                heat,
                reported: u32::try_from(reported).unwrap_or(u32::MAX),
                area_m2,
            })
        })
        .collect()
}

/// Ranks (1-based) of `rows` in `order`, by position in `rows`.
fn ranks(zones: &[&Zone], scored: &[Scored], order: RankOrder) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..zones.len()).collect();
    idx.sort_by(|&i, &j| order.compare((zones[i], &scored[i]), (zones[j], &scored[j])));
    let mut rank = vec![0; zones.len()];
    for (r, i) in idx.into_iter().enumerate() {
        rank[i] = r + 1;
    }
    rank
}

impl App {
    /// Heat scores of the zones of `kinds` (all when `None`) meeting `bbox`, highest first, at
    /// most `limit`.
    pub fn zone_scores(
        &self,
        period: Period,
        kinds: Option<&[ZoneKind]>,
        bbox: Option<&BBox>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ZoneScores, ServiceError> {
        let table = self.categories();
        let weights = table.weights();
        let zones = self.zones();
        let list = indexed(
            &zones,
            zones.map.values().filter(|z| {
                kinds.is_none_or(|k| k.contains(&z.kind)) && bbox.is_none_or(|b| meets(z, b))
            }),
        );
        if list.len() > MAX_SCORED_ZONES {
            let field = if bbox.is_some() { "bbox" } else { "kind" };
            return Err(too_many_zones(field, list.len()));
        }
        let scored = {
            let problems = self.problems();
            score_zones(&problems, &zones, &list, period, &weights, now)?
        };
        let mut rows: Vec<(&Zone, Scored)> = list.into_iter().map(|(z, _)| z).zip(scored).collect();
        rows.sort_by(|a, b| by_score((a.0, &a.1), (b.0, &b.1)));
        let number_matched = rows.len();
        rows.truncate(limit);
        Ok(ZoneScores {
            period,
            number_matched,
            rows: rows
                .into_iter()
                .map(|(z, scored)| ZoneRow {
                    zone: ZoneSummary::from(z),
                    scored,
                })
                .collect(),
        })
    }

    /// The worst `n` surroundings of `kind` over `period`, with the previous period of equal
    /// length.
    pub fn ranking(
        &self,
        kind: PoiKind,
        period: Period,
        order: RankOrder,
        n: usize,
        now: DateTime<Utc>,
    ) -> Result<Ranking, ServiceError> {
        let previous = period.previous();
        let table = self.categories();
        let weights = table.weights();
        let zones = self.zones();
        let list = indexed(
            &zones,
            zones
                .map
                .values()
                .filter(|z| z.kind == ZoneKind::Surroundings && z.poi_kind == Some(kind)),
        );
        if list.len() > MAX_SCORED_ZONES {
            return Err(too_many_zones("poi_kind", list.len()));
        }
        let (now_scores, prev_scores) = {
            let problems = self.problems();
            (
                score_zones(&problems, &zones, &list, period, &weights, now)?,
                score_zones(&problems, &zones, &list, previous, &weights, now)?,
            )
        };
        let list: Vec<&Zone> = list.into_iter().map(|(z, _)| z).collect();
        let rank_now = ranks(&list, &now_scores, order);
        let rank_prev = ranks(&list, &prev_scores, order);
        let mut rows: Vec<RankingRow> = list
            .iter()
            .zip(now_scores)
            .zip(prev_scores)
            .enumerate()
            .map(|(i, ((z, now), previous))| RankingRow {
                rank: rank_now[i],
                zone: ZoneSummary::from(*z),
                now,
                previous,
                previous_rank: rank_prev[i],
            })
            .collect();
        let total = rows.len();
        rows.sort_by_key(|r| r.rank);
        rows.truncate(n);
        Ok(Ranking {
            poi_kind: kind,
            order,
            period,
            previous,
            zones: total,
            rows,
        })
    }

    /// The density surface of `req`: the non-empty cells with their count, weight and score.
    /// The grid is anchored by [`grid_anchor_lat`]: by the request's box, never by the data.
    pub fn cells(&self, req: &CellRequest) -> Result<Cells, ServiceError> {
        let min = if req.public {
            PUBLIC_MIN_SIZE_M
        } else {
            MIN_SIZE_M
        };
        if !(min..=MAX_SIZE_M).contains(&req.size_m) {
            return Err(ServiceError::invalid(
                "size_m",
                format!(
                    "{} m is outside {min}..={MAX_SIZE_M} m{}",
                    req.size_m,
                    if req.public {
                        " (cells under 100 m are for signed-in staff)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let table = self.categories();
        let heat = HeatParams::new(table.weights(), to_ms(req.scored_at));
        let size_m = req.size_m;
        let bbox = &req.bbox;
        let problems = self.problems();
        let anchor_lat = grid_anchor_lat(bbox);
        let anchor = LonLat::new(0.0, anchor_lat)
            .map_err(|e| ServiceError::bug(format!("heat anchor: {e}")))?;
        let cell_area = check_cell_count(bbox, anchor_lat, req.shape, size_m)?;
        let region = Region::BBox(
            civmap_index::BBox::new(bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat)
                .map_err(|e| ServiceError::invalid("bbox", e))?,
        );
        let per_ha = M2_PER_HA / cell_area;
        let cells = match req.shape {
            Shape::Hex => {
                let grid = HexGrid::new(anchor, size_m).map_err(internal)?;
                let stats = problems
                    .index
                    .aggregate_hexes(&grid, &region, &req.filter, &heat)
                    .map_err(internal)?;
                drop(problems);
                cells_of(
                    &stats,
                    |c| format!("hex:{size_m}:{}:{}", c.q, c.r),
                    |c| grid.cell_polygon(c),
                    per_ha,
                )
            }
            Shape::Square => {
                let grid = SquareGrid::new(anchor, size_m).map_err(internal)?;
                let stats = problems
                    .index
                    .aggregate_squares(&grid, &region, &req.filter, &heat)
                    .map_err(internal)?;
                drop(problems);
                cells_of(
                    &stats,
                    |c| format!("square:{size_m}:{}:{}", c.col, c.row),
                    |c| grid.cell_polygon(c),
                    per_ha,
                )
            }
        };
        let max_score = cells.iter().map(|c| c.score).fold(0.0, f64::max);
        Ok(Cells {
            shape: req.shape,
            size_m,
            anchor: [0.0, anchor_lat],
            max_score,
            scored_at: req.scored_at,
            cells,
        })
    }
}

/// The latitude the grid is anchored at: the whole degree nearest the centre of the request's
/// box. A fixed rule of the request alone, so cells keep their place and ids whatever data is
/// added elsewhere (anchoring by the data's extent let one far-away report move every cell),
/// and boxes panned within a degree band share their cells. A cell is `size_m` east–west at
/// the anchor, so one within half a degree of it (a street's or a city's box) is within 1 % of
/// `size_m` wide on the ground below 45° of latitude (0.5 % in Shanghai), and its area is the
/// one the score divides by.
#[must_use]
pub fn grid_anchor_lat(bbox: &BBox) -> f64 {
    f64::midpoint(bbox.min_lat, bbox.max_lat)
        .round()
        .clamp(-85.0, 85.0)
}

/// A cell's nominal area, m², after checking that the box holds at most [`MAX_CELLS`] cells of
/// this size (counted in the grid's plane, metres at the anchor's latitude; `Invalid`
/// otherwise).
fn check_cell_count(
    bbox: &BBox,
    anchor_lat: f64,
    shape: Shape,
    size_m: f64,
) -> Result<f64, ServiceError> {
    let kx = METRES_PER_DEGREE * anchor_lat.to_radians().cos();
    let w = (bbox.max_lon - bbox.min_lon) * kx;
    let h = (bbox.max_lat - bbox.min_lat) * METRES_PER_DEGREE;
    let cell_area = match shape {
        Shape::Hex => 3f64.sqrt() / 2.0 * size_m * size_m,
        Shape::Square => size_m * size_m,
    };
    let estimate = (w + 2.0 * size_m) * (h + 2.0 * size_m) / cell_area;
    if estimate > MAX_CELLS {
        return Err(ServiceError::invalid(
            "bbox",
            format!(
                "the box holds about {estimate:.0} cells of {size_m} m; at most {MAX_CELLS:.0} (use a larger size_m or a smaller bbox)"
            ),
        ));
    }
    Ok(cell_area)
}

fn cells_of<C: Copy>(
    stats: &[CellStat<C>],
    id: impl Fn(C) -> String,
    outline: impl Fn(C) -> geo::Polygon<f64>,
    per_ha: f64,
) -> Vec<Cell> {
    stats
        .iter()
        .map(|c| Cell {
            id: id(c.cell),
            outline: outline(c.cell),
            count: c.count,
            weight: c.score,
            score: c.score * per_ha,
        })
        .collect()
}

/// The categories of a zone's heat with names from `table`: (code, zh, en, count, weight).
#[must_use]
pub fn category_names(
    table: &CategoryTable,
    category: civmap_domain::CategoryId,
) -> (String, String, String) {
    table.get(category).map_or_else(
        || (format!("#{}", category.0), String::new(), String::new()),
        |k| (k.code.clone(), k.name_zh.clone(), k.name_en.clone()),
    )
}
