//! `/api/v1/heat`: per-zone heat scores, the three-surroundings rankings and the density surface
//! (hexagon or square cells) of the map's heat layer. The scores are the service's
//! (`civmap_app::heat`); here the parameters are read and the answers written.
//!
//! Everything here is public-safe: counts, weights and scores of zones and cells, never a
//! problem, a reporter or an assignee. Public callers may not ask for cells smaller than
//! [`PUBLIC_MIN_SIZE_M`] (indoor problems are shown to them only generalised to about 100 m, so
//! a finer surface would give their position away) nor for a larger box than
//! `limits.anonymous_bbox_deg2`.
//!
//! **Heat weight** of one problem (see `civmap_index::HeatParams`): category weight × severity
//! weight × age factor, the age factor `min(1 + days open / 7, 4)` for an open problem and 1
//! otherwise. **Zone heat score**: Σ weight of the zone's *open* problems reported in the period,
//! divided by the zone's area in hectares. Ages are measured at the end of the period, or now if
//! the period has not ended, so a period and the previous one are scored alike.
//!
//! Parameter errors: a value that cannot be read (not a number, not a date, a malformed box, an
//! unknown parameter) is a 400; a readable value that is not allowed (an unknown kind or
//! category, `n` or `size_m` out of range, a box over the limits, a period that ends before it
//! starts) is a 422. Both name the parameter in `field`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use civmap_app::App;
use civmap_app::actor::Actor;
use civmap_app::heat::{CellRequest, Cells, RankOrder, Scored, Shape, ZoneSummary, category_names};
use civmap_app::spatial::BBox;
use civmap_app::time::{check_order, month_start, rfc3339};
use civmap_domain::assessment::Period;
use civmap_domain::{CategoryTable, PoiKind, Status, ZoneId, ZoneKind};
use civmap_geodata::crs::Crs;
use civmap_index::{Filter, StatusSet};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::problems::check_anonymous_area;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::AppQuery;
use crate::params;
use crate::render::round7;
use crate::state::ServerState;

/// Default number of rows of a ranking.
pub const DEFAULT_RANKING_N: usize = 10;
/// Largest number of rows of a ranking (`n`).
pub const MAX_RANKING_N: usize = 100;
/// Default number of zones `GET /api/v1/heat/zones` returns.
pub const DEFAULT_ZONE_LIMIT: usize = 1_000;
/// Cell size when `size_m` is not given, metres.
pub const DEFAULT_SIZE_M: f64 = 200.0;
/// The end of a period as the API gives it is inclusive; one millisecond later is the first
/// instant after it.
const ONE_MS: Duration = Duration::milliseconds(1);

/// The heat routes with their OpenAPI declarations.
pub fn router() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(zone_scores))
        .routes(routes!(rankings))
        .routes(routes!(cells))
}

// ---- periods -----------------------------------------------------------------------------

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The ends of a time range as given, each optional.
type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// `from`/`to` of a request: each end parsed (400 when unreadable); `to` before `from` is a 422.
fn parse_range(from: Option<&str>, to: Option<&str>) -> Result<Range, ApiError> {
    let start = nonempty(from)
        .map(|s| params::parse_instant("from", s))
        .transpose()?;
    let end = nonempty(to)
        .map(|s| params::parse_instant_end("to", s))
        .transpose()?;
    if let (Some(a), Some(b)) = (start, end) {
        check_order("to", a, b)?;
    }
    Ok((start, end))
}

/// The period of a zone score or ranking request: `from` defaults to the start of the month
/// (China Standard Time) holding `to`, `to` (inclusive) to now.
fn parse_period(
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Period, ApiError> {
    let (start, end) = parse_range(from, to)?;
    let end = end.unwrap_or(now);
    let start = start.unwrap_or_else(|| month_start(end));
    if end < start {
        return Err(ApiError::invalid(
            "from",
            "the period starts after now (give `to` for a future period)",
        ));
    }
    Ok(Period {
        from: start,
        to: end + ONE_MS,
    })
}

/// When a period was and when its ages were measured, RFC 3339 UTC.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeriodOut {
    /// First instant of the period (inclusive).
    pub from: String,
    /// Last instant of the period (inclusive, millisecond precision).
    pub to: String,
    /// The instant problem ages were measured at: the end of the period, or the time of the
    /// request if the period has not ended.
    pub scored_at: String,
}

impl PeriodOut {
    fn of(p: Period, now: DateTime<Utc>) -> Self {
        Self {
            from: rfc3339(p.from),
            to: rfc3339(p.to - ONE_MS),
            scored_at: rfc3339(p.scored_at(now)),
        }
    }
}

// ---- shared parameter parsing ------------------------------------------------------------

/// Category and status filters; unknown codes are 422s naming the parameter.
fn attribute_filter(
    state: &App,
    table: &CategoryTable,
    category: Option<&str>,
    status: Option<&str>,
) -> Result<Filter, ApiError> {
    let max = state.config().limits.filter_values;
    let mut f = Filter::default();
    if let Some(c) = nonempty(category) {
        let ids = params::parse_list("category", c, max)?
            .into_iter()
            .map(|code| {
                table.id(code).map_err(|_| {
                    ApiError::invalid("category", format!("unknown category {code:?}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !ids.is_empty() {
            f = f.with_categories(ids);
        }
    }
    let statuses = nonempty(status)
        .map(|s| params::parse_list("status", s, max))
        .transpose()?
        .unwrap_or_default();
    if !statuses.is_empty() {
        let mut set = StatusSet::none();
        for item in statuses {
            let add = if item == "open" {
                StatusSet::open()
            } else {
                StatusSet::of([item
                    .parse::<Status>()
                    .map_err(|e| ApiError::invalid("status", e))?])
            };
            set = StatusSet::of(set.iter().chain(add.iter()));
        }
        f = f.with_statuses(set);
    }
    Ok(f)
}

fn parse_bbox(
    state: &App,
    actor: &Actor,
    s: Option<&str>,
    crs: Crs,
) -> Result<Option<BBox>, ApiError> {
    let Some(s) = nonempty(s) else {
        return Ok(None);
    };
    let b = params::parse_bbox("bbox", s, crs)?;
    check_anonymous_area(state, actor, "bbox", &b)?;
    Ok(Some(b))
}

// ---- rows ----------------------------------------------------------------------------------

/// A category's part of a zone's heat.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryScore {
    /// Category code.
    pub category: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Open problems of this category in the zone and period.
    pub count: u32,
    /// Their summed heat weight.
    pub weight: f64,
    /// `weight` per hectare of the zone (this category's part of the zone's score).
    pub score: f64,
}

fn categories_out(table: &CategoryTable, s: &Scored) -> Vec<CategoryScore> {
    s.heat
        .top_categories
        .iter()
        .map(|c| {
            let (category, name, name_en) = category_names(table, c.category);
            CategoryScore {
                category,
                name,
                name_en,
                count: c.count,
                weight: c.score,
                score: s.per_ha(c.score),
            }
        })
        .collect()
}

// ---- GET /api/v1/heat/zones -----------------------------------------------------------------

/// Parameters of the zone scores.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ZoneScoreParams {
    /// Zone kinds, comma-separated: `point`, `road`, `area`, `surroundings`, `grid_cell`
    /// (default: every kind).
    pub kind: Option<String>,
    /// Problems reported at or after this instant (RFC 3339 or a date; default: the 1st of the
    /// month holding `to`, 00:00 China Standard Time).
    pub from: Option<String>,
    /// Problems reported at or before this instant (RFC 3339 or a date; default: now).
    pub to: Option<String>,
    /// Only zones whose bounding box meets this box, `minLon,minLat,maxLon,maxLat`.
    pub bbox: Option<String>,
    /// At most this many zones, highest score first (1..=5000, default 1000).
    pub limit: Option<String>,
    /// CRS of `bbox`: `wgs84` (default), `gcj02`, `bd09`.
    pub crs: Option<String>,
}

/// A zone's heat over the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZoneScore {
    /// Zone id.
    #[schema(value_type = String, format = Uuid)]
    pub zone: ZoneId,
    /// Zone kind.
    pub kind: String,
    /// Zone name.
    pub name: String,
    /// For three-surroundings zones: `school`, `park` or `market`.
    pub poi_kind: Option<String>,
    /// The point of interest a surroundings zone was built from.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub poi: Option<civmap_domain::PoiId>,
    /// Grid code or office code.
    pub code: Option<String>,
    /// Stable source key of the zone.
    pub external_id: Option<String>,
    /// Geodesic area, m².
    pub area_m2: f64,
    /// Problems reported in the period inside the zone, any status.
    pub count: u32,
    /// Of those, the open ones (the ones that weigh).
    pub open: u32,
    /// Σ heat weight of the open ones.
    pub weight: f64,
    /// The heat score: `weight` per hectare.
    pub score: f64,
    /// The heaviest categories (at most 3), by weight.
    pub top_categories: Vec<CategoryScore>,
}

fn zone_score(table: &CategoryTable, z: &ZoneSummary, s: &Scored) -> ZoneScore {
    ZoneScore {
        zone: z.id,
        kind: z.kind.as_str().to_owned(),
        name: z.name.clone(),
        poi_kind: z.poi_kind.map(|k| k.as_str().to_owned()),
        poi: z.poi,
        code: z.code.clone(),
        external_id: z.external_id.clone(),
        area_m2: s.area_m2,
        count: s.reported,
        open: s.heat.count,
        weight: s.heat.score,
        score: s.score,
        top_categories: categories_out(table, s),
    }
}

/// Heat scores of zones.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZoneScores {
    /// The period scored.
    pub period: PeriodOut,
    /// Zones that matched `kind` and `bbox`.
    #[serde(rename = "numberMatched")]
    pub number_matched: usize,
    /// Zones in `items`.
    #[serde(rename = "numberReturned")]
    pub number_returned: usize,
    /// Highest score first (ties: more open problems, then name, then id).
    pub items: Vec<ZoneScore>,
}

#[utoipa::path(
    get,
    path = "/api/v1/heat/zones",
    tag = "heat",
    summary = "Heat scores of zones",
    description = "For each zone (of the given kinds, meeting `bbox`): the problems reported in the period inside it, the open ones, their summed heat weight (category weight × severity weight × age factor `min(1 + days open / 7, 4)`, ages at the end of the period) and the heat score = that weight per hectare of the zone, with the three heaviest categories. Highest score first. Public: counts and scores only.",
    params(ZoneScoreParams),
    responses(
        (status = 200, description = "Zone scores", body = ZoneScores),
        (status = 400, description = "A parameter that cannot be read", body = ErrorBody),
        (status = 422, description = "A value that is not allowed (unknown kind, period ending before it starts, bbox over the limit, too many zones)", body = ErrorBody),
    )
)]
async fn zone_scores(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppQuery(q): AppQuery<ZoneScoreParams>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let crs = params::parse_crs(q.crs.as_deref())?;
    let period = parse_period(q.from.as_deref(), q.to.as_deref(), now)?;
    let bbox = parse_bbox(&state, &actor, q.bbox.as_deref(), crs)?;
    let kinds = match nonempty(q.kind.as_deref()) {
        Some(k) => Some(
            params::parse_list("kind", k, ZoneKind::ALL.len())?
                .into_iter()
                .map(|k| {
                    k.parse::<ZoneKind>()
                        .map_err(|e| ApiError::invalid("kind", e))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let limit = match nonempty(q.limit.as_deref()) {
        None => DEFAULT_ZONE_LIMIT,
        Some(s) => {
            let n: usize = s
                .parse()
                .map_err(|_| ApiError::bad_param("limit", format!("{s:?} is not a count")))?;
            let max = civmap_app::heat::MAX_SCORED_ZONES;
            if !(1..=max).contains(&n) {
                return Err(ApiError::invalid(
                    "limit",
                    format!("{n} is outside 1..={max}"),
                ));
            }
            n
        }
    };
    let scores = state.zone_scores(period, kinds.as_deref(), bbox.as_ref(), limit, now)?;
    let table = state.categories();
    let items: Vec<ZoneScore> = scores
        .rows
        .iter()
        .map(|r| zone_score(&table, &r.zone, &r.scored))
        .collect();
    Ok(axum::Json(ZoneScores {
        period: PeriodOut::of(period, now),
        number_matched: scores.number_matched,
        number_returned: items.len(),
        items,
    })
    .into_response())
}

// ---- GET /api/v1/heat/rankings --------------------------------------------------------------

/// Parameters of a three-surroundings ranking.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RankingParams {
    /// What the zones surround: `school`, `park` or `market` (required).
    pub poi_kind: Option<String>,
    /// How many rows, 1..=100 (default 10).
    pub n: Option<String>,
    /// Period start (RFC 3339 or a date; default: the 1st of the month holding `to`, 00:00 China
    /// Standard Time).
    pub from: Option<String>,
    /// Period end, inclusive (RFC 3339 or a date; default: now).
    pub to: Option<String>,
    /// `score` (default: the heat score, the worst first) or `count` (the most problems
    /// reported in the period first).
    pub order: Option<String>,
}

/// One row of a ranking.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RankingRow {
    /// 1 for the worst zone.
    pub rank: usize,
    /// Zone id.
    #[schema(value_type = String, format = Uuid)]
    pub zone: ZoneId,
    /// Zone name.
    pub name: String,
    /// The school, park or market the zone surrounds.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub poi: Option<civmap_domain::PoiId>,
    /// Stable source key of the zone.
    pub external_id: Option<String>,
    /// Geodesic area, m².
    pub area_m2: f64,
    /// Problems reported in the period inside the zone, any status.
    pub count: u32,
    /// Of those, the open ones (the ones that weigh).
    pub open: u32,
    /// Σ heat weight of the open ones.
    pub weight: f64,
    /// The heat score: `weight` per hectare.
    pub score: f64,
    /// `count` over the previous period.
    pub previous_count: u32,
    /// `open` over the previous period.
    pub previous_open: u32,
    /// `score` over the previous period (ages at its end).
    pub previous_score: f64,
    /// The zone's rank in the previous period (same order).
    pub previous_rank: usize,
    /// `score − previous_score`.
    pub change: f64,
    /// `change / previous_score`, null when the previous score was 0.
    pub change_ratio: Option<f64>,
    /// The heaviest categories in the period (at most 3): what drives the score.
    pub top_categories: Vec<CategoryScore>,
}

/// The worst three-surroundings zones of one kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ranking {
    /// `school`, `park` or `market`.
    pub poi_kind: String,
    /// `score` or `count`.
    pub order: String,
    /// The period ranked.
    pub period: PeriodOut,
    /// The period of equal length just before it, which `change` compares with.
    pub previous: PeriodOut,
    /// How many zones of this kind were ranked.
    pub zones: usize,
    /// The worst `n` zones, worst first.
    pub items: Vec<RankingRow>,
}

#[utoipa::path(
    get,
    path = "/api/v1/heat/rankings",
    tag = "heat",
    summary = "Worst three-surroundings zones",
    description = "The worst `n` school, park or market surroundings (三个周边) for a period (default: this month, China Standard Time), by heat score (Σ heat weight of the open problems reported in the period per hectare; see `GET /api/v1/heat/zones`), with the change against the previous period of equal length and the categories driving each. Public: counts and scores only.",
    params(RankingParams),
    responses(
        (status = 200, description = "The ranking", body = Ranking),
        (status = 400, description = "A parameter that cannot be read, or `poi_kind` missing", body = ErrorBody),
        (status = 422, description = "A value that is not allowed (unknown poi_kind or order, n out of range, a period ending before it starts)", body = ErrorBody),
    )
)]
async fn rankings(
    State(state): State<App>,
    AppQuery(q): AppQuery<RankingParams>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let kind: PoiKind = nonempty(q.poi_kind.as_deref())
        .ok_or_else(|| ApiError::bad_param("poi_kind", "required: school, park or market"))?
        .parse()
        .map_err(|e| ApiError::invalid("poi_kind", e))?;
    let n = match nonempty(q.n.as_deref()) {
        None => DEFAULT_RANKING_N,
        Some(s) => {
            let n: usize = s
                .parse()
                .map_err(|_| ApiError::bad_param("n", format!("{s:?} is not a count")))?;
            if !(1..=MAX_RANKING_N).contains(&n) {
                return Err(ApiError::invalid(
                    "n",
                    format!("{n} is outside 1..={MAX_RANKING_N}"),
                ));
            }
            n
        }
    };
    let order = match nonempty(q.order.as_deref()) {
        None | Some("score") => RankOrder::Score,
        Some("count") => RankOrder::Count,
        Some(other) => {
            return Err(ApiError::invalid(
                "order",
                format!("unknown order {other:?}; expected score or count"),
            ));
        }
    };
    let period = parse_period(q.from.as_deref(), q.to.as_deref(), now)?;
    let ranking = state.ranking(kind, period, order, n, now)?;
    let table = state.categories();
    let items = ranking
        .rows
        .iter()
        .map(|r| {
            let (s, p) = (&r.now, &r.previous);
            let change = s.score - p.score;
            RankingRow {
                rank: r.rank,
                zone: r.zone.id,
                name: r.zone.name.clone(),
                poi: r.zone.poi,
                external_id: r.zone.external_id.clone(),
                area_m2: s.area_m2,
                count: s.reported,
                open: s.heat.count,
                weight: s.heat.score,
                score: s.score,
                previous_count: p.reported,
                previous_open: p.heat.count,
                previous_score: p.score,
                previous_rank: r.previous_rank,
                change,
                change_ratio: (p.score > 0.0).then(|| change / p.score),
                top_categories: categories_out(&table, s),
            }
        })
        .collect();
    Ok(axum::Json(Ranking {
        poi_kind: kind.as_str().to_owned(),
        order: order.as_str().to_owned(),
        period: PeriodOut::of(ranking.period, now),
        previous: PeriodOut::of(ranking.previous, now),
        zones: ranking.zones,
        items,
    })
    .into_response())
}

// ---- GET /api/v1/heat/cells -----------------------------------------------------------------

/// Parameters of the density surface.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CellParams {
    /// `hex` (default; pointy-top hexagons `size_m` across flats) or `square` (`size_m` sides).
    pub shape: Option<String>,
    /// Cell size in metres, 50..=2000 (100..=2000 for public callers; default 200).
    pub size_m: Option<String>,
    /// The box to aggregate, `minLon,minLat,maxLon,maxLat` (required). At most 50,000 cells of
    /// the requested size may fit in it; public callers are also held to
    /// `limits.anonymous_bbox_deg2`.
    pub bbox: Option<String>,
    /// Category codes, comma-separated (default: all).
    pub category: Option<String>,
    /// Statuses, comma-separated; `open` stands for every open one (default: all).
    pub status: Option<String>,
    /// Problems reported at or after this instant (RFC 3339 or a date).
    pub from: Option<String>,
    /// Problems reported at or before this instant (RFC 3339 or a date).
    pub to: Option<String>,
    /// CRS of `bbox` and of the returned polygons: `wgs84` (default), `gcj02`, `bd09`.
    pub crs: Option<String>,
}

/// Count and heat of one cell.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CellProperties {
    /// Problems in the cell that pass the filters.
    pub count: u32,
    /// Their summed heat weight (category × severity × age factor; closed problems age 1).
    pub weight: f64,
    /// `weight` per hectare of the cell (comparable across sizes and with zone scores).
    pub score: f64,
}

/// A GeoJSON Polygon.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolygonGeometry {
    /// `Polygon`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// One closed ring, counter-clockwise, `[lon, lat]`.
    #[schema(value_type = Vec<Vec<Vec<f64>>>)]
    pub coordinates: [Vec<[f64; 2]>; 1],
}

/// One cell as a GeoJSON Feature.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CellFeature {
    /// `Feature`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `hex:<size>:<q>:<r>` or `square:<size>:<col>:<row>`: stable between requests.
    pub id: String,
    /// The cell's outline.
    pub geometry: PolygonGeometry,
    /// Count and heat.
    pub properties: CellProperties,
}

/// The density surface: the non-empty cells as a GeoJSON FeatureCollection.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CellCollection {
    /// `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `hex` or `square`.
    pub shape: &'static str,
    /// Cell size, metres (exact at the anchor's latitude).
    pub size_m: f64,
    /// The grid's anchor `[lon, lat]` (WGS-84): longitude 0 and the whole degree of latitude
    /// nearest the centre of the data, so cell ids do not change as the map moves.
    #[schema(value_type = Vec<f64>)]
    pub anchor: [f64; 2],
    /// Largest cell `score` (0 without cells).
    pub max_score: f64,
    /// The instant problem ages were measured at: the end of `to`, or the time of the request.
    pub scored_at: String,
    /// Features in `features`.
    #[serde(rename = "numberReturned")]
    pub number_returned: usize,
    /// Non-empty cells, south to north, then west to east.
    pub features: Vec<CellFeature>,
}

fn ring(poly: &geo::Polygon<f64>, crs: Crs) -> Vec<[f64; 2]> {
    poly.exterior()
        .coords()
        .map(|c| crs.from_wgs84([c.x, c.y]).map(round7))
        .collect()
}

/// Parses `size_m`: 400 when not a number (the service checks its range).
fn parse_size(s: Option<&str>) -> Result<f64, ApiError> {
    let Some(s) = nonempty(s) else {
        return Ok(DEFAULT_SIZE_M);
    };
    s.parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| ApiError::bad_param("size_m", format!("{s:?} is not a number")))
}

fn collection(c: &Cells, crs: Crs) -> CellCollection {
    let features: Vec<CellFeature> = c
        .cells
        .iter()
        .map(|cell| CellFeature {
            kind: "Feature",
            id: cell.id.clone(),
            geometry: PolygonGeometry {
                kind: "Polygon",
                coordinates: [ring(&cell.outline, crs)],
            },
            properties: CellProperties {
                count: cell.count,
                weight: cell.weight,
                score: cell.score,
            },
        })
        .collect();
    CellCollection {
        kind: "FeatureCollection",
        shape: c.shape.as_str(),
        size_m: c.size_m,
        anchor: c.anchor,
        max_score: c.max_score,
        scored_at: rfc3339(c.scored_at),
        number_returned: features.len(),
        features,
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/heat/cells",
    tag = "heat",
    summary = "Density surface (hexagon or square cells)",
    description = "Problems in `bbox` that pass the filters, aggregated into hexagon or square cells of `size_m` metres: a GeoJSON FeatureCollection of the non-empty cells with their count, summed heat weight and weight per hectare — the map's heat layer. Public: counts and scores only; cells of at least 100 m for public callers.",
    params(CellParams),
    responses(
        (status = 200, description = "The non-empty cells", body = CellCollection, content_type = "application/geo+json"),
        (status = 400, description = "A parameter that cannot be read (malformed bbox, size, date)", body = ErrorBody),
        (status = 422, description = "A value that is not allowed (unknown shape, category or status; size out of range; bbox missing or over the limits; a period ending before it starts)", body = ErrorBody),
    )
)]
async fn cells(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    AppQuery(q): AppQuery<CellParams>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let crs = params::parse_crs(q.crs.as_deref())?;
    let shape = match nonempty(q.shape.as_deref()) {
        None | Some("hex") => Shape::Hex,
        Some("square") => Shape::Square,
        Some(other) => {
            return Err(ApiError::invalid(
                "shape",
                format!("unknown shape {other:?}; expected hex or square"),
            ));
        }
    };
    let size_m = parse_size(q.size_m.as_deref())?;
    let bbox = parse_bbox(&state, &actor, q.bbox.as_deref(), crs)?
        .ok_or_else(|| ApiError::invalid("bbox", "required: minLon,minLat,maxLon,maxLat"))?;
    let table = state.categories();
    let mut filter = attribute_filter(&state, &table, q.category.as_deref(), q.status.as_deref())?;
    let (start, end) = parse_range(q.from.as_deref(), q.to.as_deref())?;
    let before = end.map(|t| t + ONE_MS);
    filter = filter.with_reported_between(
        start.map(civmap_app::time::to_ms),
        before.map(civmap_app::time::to_ms),
    );
    let req = CellRequest {
        shape,
        size_m,
        bbox,
        filter,
        scored_at: before.map_or(now, |b| b.min(now)),
        public: actor.is_public(),
    };
    let cells = state.cells(&req)?;
    Ok(crate::geojson::value_response(
        StatusCode::OK,
        &collection(&cells, crs),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_defaults_and_errors() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T14:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let p = parse_period(None, None, now).unwrap();
        assert_eq!(rfc3339(p.from), "2026-10-31T16:00:00.000Z");
        assert_eq!(p.to, now + ONE_MS);
        let e = parse_period(Some("2026-11-02"), Some("2026-11-01"), now).unwrap_err();
        assert_eq!((e.status().as_u16(), e.field()), (422, Some("to")));
        let e = parse_period(Some("2027-01-01"), None, now).unwrap_err();
        assert_eq!((e.status().as_u16(), e.field()), (422, Some("from")));
        let e = parse_period(Some("yesterday"), None, now).unwrap_err();
        assert_eq!((e.status().as_u16(), e.field()), (400, Some("from")));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size(None).unwrap(), DEFAULT_SIZE_M);
        assert_eq!(parse_size(Some("50")).unwrap(), 50.0);
        let e = parse_size(Some("NaN")).unwrap_err();
        assert_eq!((e.status().as_u16(), e.field()), (400, Some("size_m")));
    }
}
