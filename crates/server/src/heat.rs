//! `/api/v1/heat`: per-zone heat scores, the three-surroundings rankings and the density surface
//! (hexagon or square cells) of the map's heat layer.
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

use std::cmp::Ordering;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};
use civmap_domain::{CategoryTable, LonLat, PoiKind, Status, Zone, ZoneId, ZoneKind};
use civmap_geodata::crs::Crs;
use civmap_index::{
    CategoryHeat, CellStat, Filter, HeatParams, HexGrid, METRES_PER_DEGREE, Region, SquareGrid,
    StatusSet, ZoneHeat,
};
use geo::BoundingRect;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::check_anonymous_area;
use crate::error::{AppError, ErrorBody};
use crate::extract::{Actor, AppQuery};
use crate::params::{self, BBox};
use crate::record::{from_ms, rfc3339, to_ms};
use crate::state::{AppState, Problems, Zones};

/// Default number of rows of a ranking.
pub const DEFAULT_RANKING_N: usize = 10;
/// Largest number of rows of a ranking (`n`).
pub const MAX_RANKING_N: usize = 100;
/// Most zones one request may score (422 above: narrow with `kind` or `bbox`).
pub const MAX_SCORED_ZONES: usize = 5_000;
/// Default number of zones `GET /api/v1/heat/zones` returns.
pub const DEFAULT_ZONE_LIMIT: usize = 1_000;
/// Smallest cell size for signed-in staff, metres.
pub const MIN_SIZE_M: f64 = 50.0;
/// Largest cell size, metres.
pub const MAX_SIZE_M: f64 = 2_000.0;
/// Smallest cell size for public callers, metres (indoor problems are generalised to ~100 m).
pub const PUBLIC_MIN_SIZE_M: f64 = 100.0;
/// Cell size when `size_m` is not given, metres.
pub const DEFAULT_SIZE_M: f64 = 200.0;
/// Most cells a box may hold at the requested size (422 above: a larger `size_m` or a smaller
/// `bbox`), which also bounds the number of cells returned.
pub const MAX_CELLS: f64 = 50_000.0;
/// The time zone of "this month" (China Standard Time, UTC+8, no daylight saving).
const CST_OFFSET_S: i32 = 8 * 3600;
const M2_PER_HA: f64 = 10_000.0;

/// The heat routes with their OpenAPI declarations.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(zone_scores))
        .routes(routes!(rankings))
        .routes(routes!(cells))
}

// ---- periods -----------------------------------------------------------------------------

/// A period of report times `[from_ms, before_ms)`, Unix ms (`to` of the API is inclusive:
/// `before_ms = to + 1 ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First millisecond of the period.
    pub from_ms: i64,
    /// First millisecond after the period.
    pub before_ms: i64,
}

impl Period {
    /// The period of equal length that ends where this one starts.
    #[must_use]
    pub fn previous(self) -> Option<Period> {
        let len = self.before_ms.checked_sub(self.from_ms)?;
        Some(Period {
            from_ms: self.from_ms.checked_sub(len)?,
            before_ms: self.from_ms,
        })
    }

    /// The instant ages are measured at: the end of the period, or `now_ms` if it has not
    /// ended.
    #[must_use]
    pub fn scored_at(self, now_ms: i64) -> i64 {
        now_ms.min(self.before_ms)
    }

    fn out(self, now_ms: i64) -> PeriodOut {
        PeriodOut {
            from: rfc3339(from_ms(self.from_ms)),
            to: rfc3339(from_ms(self.before_ms.saturating_sub(1))),
            scored_at: rfc3339(from_ms(self.scored_at(now_ms))),
        }
    }
}

/// The first instant of the calendar month (China Standard Time) holding `t`.
#[must_use]
pub fn month_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let Some(cst) = FixedOffset::east_opt(CST_OFFSET_S) else {
        return t;
    };
    let local = t.with_timezone(&cst);
    NaiveDate::from_ymd_opt(local.year(), local.month(), 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|d| cst.from_local_datetime(&d).single())
        .map_or(t, |d| d.with_timezone(&Utc))
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// `from`/`to` of a request: each end parsed (400 when unreadable); `to` before `from` is a 422.
fn parse_range(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Option<i64>, Option<i64>), AppError> {
    let start = nonempty(from)
        .map(|s| params::parse_instant("from", s).map(to_ms))
        .transpose()?;
    let end = nonempty(to)
        .map(|s| params::parse_instant("to", s).map(to_ms))
        .transpose()?;
    if let (Some(a), Some(b)) = (start, end)
        && b < a
    {
        return Err(AppError::invalid("to", "the period ends before it starts"));
    }
    Ok((start, end))
}

/// The period of a zone score or ranking request: `from` defaults to the start of the month
/// (China Standard Time) holding `to`, `to` to now.
fn parse_period(from: Option<&str>, to: Option<&str>, now_ms: i64) -> Result<Period, AppError> {
    let (start, end) = parse_range(from, to)?;
    let end = end.unwrap_or(now_ms);
    let start = start.unwrap_or_else(|| to_ms(month_start(from_ms(end))));
    if end < start {
        return Err(AppError::invalid(
            "from",
            "the period starts after now (give `to` for a future period)",
        ));
    }
    Ok(Period {
        from_ms: start,
        before_ms: end.saturating_add(1),
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

// ---- shared parameter parsing ------------------------------------------------------------

/// Category and status filters; unknown codes are 422s naming the parameter.
fn attribute_filter(
    state: &AppState,
    table: &CategoryTable,
    category: Option<&str>,
    status: Option<&str>,
) -> Result<Filter, AppError> {
    let max = state.config().limits.filter_values;
    let mut f = Filter::default();
    if let Some(c) = nonempty(category) {
        let ids = params::parse_list("category", c, max)?
            .into_iter()
            .map(|code| {
                table.id(code).map_err(|_| {
                    AppError::invalid("category", format!("unknown category {code:?}"))
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
                    .map_err(|e| AppError::invalid("status", e))?])
            };
            set = StatusSet::of(set.iter().chain(add.iter()));
        }
        f = f.with_statuses(set);
    }
    Ok(f)
}

fn parse_bbox(
    state: &AppState,
    actor: &Actor,
    s: Option<&str>,
    crs: Crs,
) -> Result<Option<BBox>, AppError> {
    let Some(s) = nonempty(s) else {
        return Ok(None);
    };
    let b = params::parse_bbox("bbox", s, crs)?;
    check_anonymous_area(state, actor, "bbox", &b)?;
    Ok(Some(b))
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("heat: {e}"))
}

// ---- zone scoring ------------------------------------------------------------------------

/// One zone's scores over one period.
#[derive(Debug, Clone)]
struct Scored {
    heat: ZoneHeat,
    /// Problems reported in the period in the zone, any status.
    reported: u32,
    /// The zone's geodesic area, m² (the zone index's, holes subtracted whatever their
    /// orientation).
    area_m2: f64,
    /// The heat score: Σ weight per hectare.
    score: f64,
}

/// Heat of `list` (zones and their areas) over `period` (ages at the period's end or now), plus
/// the count of every problem (any status) reported in the period.
fn score_zones(
    problems: &Problems,
    zones: &Zones,
    list: &[(&Zone, f64)],
    base: &Filter,
    period: Period,
    weights: &[f64],
    now_ms: i64,
) -> Result<Vec<Scored>, AppError> {
    let filter = base
        .clone()
        .with_reported_between(Some(period.from_ms), Some(period.before_ms));
    let params = HeatParams::new(weights.to_vec(), period.scored_at(now_ms));
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

fn categories_out(
    table: &CategoryTable,
    cats: &[CategoryHeat],
    area_m2: f64,
) -> Vec<CategoryScore> {
    cats.iter()
        .map(|c| {
            let (code, zh, en) = table.get(c.category).map_or_else(
                || (format!("#{}", c.category.0), String::new(), String::new()),
                |k| (k.code.clone(), k.name_zh.clone(), k.name_en.clone()),
            );
            CategoryScore {
                category: code,
                name: zh,
                name_en: en,
                count: c.count,
                weight: c.score,
                score: c.score / (area_m2 / M2_PER_HA),
            }
        })
        .collect()
}

/// The zones that can be scored (held by the zone index, with an area), with their areas.
fn indexed<'a>(zones: &'a Zones, list: impl Iterator<Item = &'a Zone>) -> Vec<(&'a Zone, f64)> {
    list.filter_map(|z| Some((z, zones.index.area_m2(z.id)?)))
        .filter(|(_, a)| a.is_finite() && *a > 0.0)
        .collect()
}

fn too_many_zones(field: &str, n: usize) -> AppError {
    AppError::invalid(
        field,
        format!(
            "{n} zones match; at most {MAX_SCORED_ZONES} can be scored at once (narrow the request with kind or bbox)"
        ),
    )
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

fn zone_score(table: &CategoryTable, z: &Zone, s: &Scored) -> ZoneScore {
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
        top_categories: categories_out(table, &s.heat.top_categories, s.area_m2),
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
    actor: Actor,
    State(state): State<AppState>,
    AppQuery(q): AppQuery<ZoneScoreParams>,
) -> Result<Response, AppError> {
    let now = to_ms(Utc::now());
    let crs = params::parse_crs(q.crs.as_deref())?;
    let period = parse_period(q.from.as_deref(), q.to.as_deref(), now)?;
    let bbox = parse_bbox(&state, &actor, q.bbox.as_deref(), crs)?;
    let kinds = match nonempty(q.kind.as_deref()) {
        Some(k) => Some(
            params::parse_list("kind", k, ZoneKind::ALL.len())?
                .into_iter()
                .map(|k| {
                    k.parse::<ZoneKind>()
                        .map_err(|e| AppError::invalid("kind", e))
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
                .map_err(|_| AppError::bad_param("limit", format!("{s:?} is not a count")))?;
            if !(1..=MAX_SCORED_ZONES).contains(&n) {
                return Err(AppError::invalid(
                    "limit",
                    format!("{n} is outside 1..={MAX_SCORED_ZONES}"),
                ));
            }
            n
        }
    };
    let table = state.categories();
    let weights = table.weights();
    let zones = state.zones();
    let list = indexed(
        &zones,
        zones.map.values().filter(|z| {
            kinds.as_ref().is_none_or(|k| k.contains(&z.kind))
                && bbox.as_ref().is_none_or(|b| meets(z, b))
        }),
    );
    if list.len() > MAX_SCORED_ZONES {
        let field = if bbox.is_some() { "bbox" } else { "kind" };
        return Err(too_many_zones(field, list.len()));
    }
    let problems = state.problems();
    let scored = score_zones(
        &problems,
        &zones,
        &list,
        &Filter::default(),
        period,
        &weights,
        now,
    )?;
    drop(problems);
    let mut rows: Vec<(&Zone, Scored)> = list.into_iter().map(|(z, _)| z).zip(scored).collect();
    rows.sort_by(|a, b| by_score((a.0, &a.1), (b.0, &b.1)));
    let number_matched = rows.len();
    rows.truncate(limit);
    let items: Vec<ZoneScore> = rows.iter().map(|(z, s)| zone_score(&table, z, s)).collect();
    drop(rows);
    drop(zones);
    Ok(axum::Json(ZoneScores {
        period: period.out(now),
        number_matched,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Score,
    Count,
}

impl Order {
    fn compare(self, a: (&Zone, &Scored), b: (&Zone, &Scored)) -> Ordering {
        match self {
            Order::Score => by_score(a, b),
            Order::Count => b.1.reported.cmp(&a.1.reported).then_with(|| by_score(a, b)),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Order::Score => "score",
            Order::Count => "count",
        }
    }
}

/// Ranks (1-based) of `rows` in `order`, by position in `rows`.
fn ranks(zones: &[&Zone], scored: &[Scored], order: Order) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..zones.len()).collect();
    idx.sort_by(|&i, &j| order.compare((zones[i], &scored[i]), (zones[j], &scored[j])));
    let mut rank = vec![0; zones.len()];
    for (r, i) in idx.into_iter().enumerate() {
        rank[i] = r + 1;
    }
    rank
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
    State(state): State<AppState>,
    AppQuery(q): AppQuery<RankingParams>,
) -> Result<Response, AppError> {
    let now = to_ms(Utc::now());
    let kind: PoiKind = nonempty(q.poi_kind.as_deref())
        .ok_or_else(|| AppError::bad_param("poi_kind", "required: school, park or market"))?
        .parse()
        .map_err(|e| AppError::invalid("poi_kind", e))?;
    let n = match nonempty(q.n.as_deref()) {
        None => DEFAULT_RANKING_N,
        Some(s) => {
            let n: usize = s
                .parse()
                .map_err(|_| AppError::bad_param("n", format!("{s:?} is not a count")))?;
            if !(1..=MAX_RANKING_N).contains(&n) {
                return Err(AppError::invalid(
                    "n",
                    format!("{n} is outside 1..={MAX_RANKING_N}"),
                ));
            }
            n
        }
    };
    let order = match nonempty(q.order.as_deref()) {
        None | Some("score") => Order::Score,
        Some("count") => Order::Count,
        Some(other) => {
            return Err(AppError::invalid(
                "order",
                format!("unknown order {other:?}; expected score or count"),
            ));
        }
    };
    let period = parse_period(q.from.as_deref(), q.to.as_deref(), now)?;
    let previous = period
        .previous()
        .ok_or_else(|| AppError::invalid("from", "the period is too long"))?;
    let table = state.categories();
    let weights = table.weights();
    let zones = state.zones();
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
    let problems = state.problems();
    let base = Filter::default();
    let now_scores = score_zones(&problems, &zones, &list, &base, period, &weights, now)?;
    let prev_scores = score_zones(&problems, &zones, &list, &base, previous, &weights, now)?;
    drop(problems);
    let list: Vec<&Zone> = list.into_iter().map(|(z, _)| z).collect();
    let rank_now = ranks(&list, &now_scores, order);
    let rank_prev = ranks(&list, &prev_scores, order);
    let mut rows: Vec<RankingRow> = list
        .iter()
        .enumerate()
        .map(|(i, z)| {
            let (s, p) = (&now_scores[i], &prev_scores[i]);
            let change = s.score - p.score;
            RankingRow {
                rank: rank_now[i],
                zone: z.id,
                name: z.name.clone(),
                poi: z.poi,
                external_id: z.external_id.clone(),
                area_m2: s.area_m2,
                count: s.reported,
                open: s.heat.count,
                weight: s.heat.score,
                score: s.score,
                previous_count: p.reported,
                previous_open: p.heat.count,
                previous_score: p.score,
                previous_rank: rank_prev[i],
                change,
                change_ratio: (p.score > 0.0).then(|| change / p.score),
                top_categories: categories_out(&table, &s.heat.top_categories, s.area_m2),
            }
        })
        .collect();
    drop(zones);
    let total = rows.len();
    rows.sort_by_key(|r| r.rank);
    rows.truncate(n);
    Ok(axum::Json(Ranking {
        poi_kind: kind.as_str().to_owned(),
        order: order.as_str().to_owned(),
        period: period.out(now),
        previous: previous.out(now),
        zones: total,
        items: rows,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Hex,
    Square,
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

fn ring(poly: &geo::Polygon<f64>, crs: Crs) -> Vec<[f64; 2]> {
    poly.exterior()
        .coords()
        .map(|c| crs.from_wgs84([c.x, c.y]).map(round7))
        .collect()
}

/// Parses `size_m`: 400 when not a number, 422 out of range.
fn parse_size(s: Option<&str>, public: bool) -> Result<f64, AppError> {
    let Some(s) = nonempty(s) else {
        return Ok(DEFAULT_SIZE_M);
    };
    let v: f64 = s
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| AppError::bad_param("size_m", format!("{s:?} is not a number")))?;
    let min = if public {
        PUBLIC_MIN_SIZE_M
    } else {
        MIN_SIZE_M
    };
    if !(min..=MAX_SIZE_M).contains(&v) {
        return Err(AppError::invalid(
            "size_m",
            format!(
                "{v} m is outside {min}..={MAX_SIZE_M} m{}",
                if public {
                    " (cells under 100 m are for signed-in staff)"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(v)
}

/// A cell's nominal area, m², after checking that the box holds at most [`MAX_CELLS`] cells of
/// this size (counted in the grid's plane, metres at the anchor's latitude; 422 otherwise).
fn check_cell_count(
    bbox: &BBox,
    anchor_lat: f64,
    shape: Shape,
    size_m: f64,
) -> Result<f64, AppError> {
    let kx = METRES_PER_DEGREE * anchor_lat.to_radians().cos();
    let w = (bbox.max_lon - bbox.min_lon) * kx;
    let h = (bbox.max_lat - bbox.min_lat) * METRES_PER_DEGREE;
    let cell_area = match shape {
        Shape::Hex => 3f64.sqrt() / 2.0 * size_m * size_m,
        Shape::Square => size_m * size_m,
    };
    let estimate = (w + 2.0 * size_m) * (h + 2.0 * size_m) / cell_area;
    if estimate > MAX_CELLS {
        return Err(AppError::invalid(
            "bbox",
            format!(
                "the box holds about {estimate:.0} cells of {size_m} m; at most {MAX_CELLS:.0} (use a larger size_m or a smaller bbox)"
            ),
        ));
    }
    Ok(cell_area)
}

/// The GeoJSON features of aggregated cells.
fn cell_features<C: Copy>(
    stats: &[CellStat<C>],
    id: impl Fn(C) -> String,
    outline: impl Fn(C) -> geo::Polygon<f64>,
    crs: Crs,
    per_ha: f64,
) -> Vec<CellFeature> {
    stats
        .iter()
        .map(|c| CellFeature {
            kind: "Feature",
            id: id(c.cell),
            geometry: PolygonGeometry {
                kind: "Polygon",
                coordinates: [ring(&outline(c.cell), crs)],
            },
            properties: CellProperties {
                count: c.count,
                weight: c.score,
                score: c.score * per_ha,
            },
        })
        .collect()
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
    actor: Actor,
    State(state): State<AppState>,
    AppQuery(q): AppQuery<CellParams>,
) -> Result<Response, AppError> {
    let now = to_ms(Utc::now());
    let crs = params::parse_crs(q.crs.as_deref())?;
    let shape = match nonempty(q.shape.as_deref()) {
        None | Some("hex") => Shape::Hex,
        Some("square") => Shape::Square,
        Some(other) => {
            return Err(AppError::invalid(
                "shape",
                format!("unknown shape {other:?}; expected hex or square"),
            ));
        }
    };
    let size_m = parse_size(q.size_m.as_deref(), actor.is_public())?;
    let bbox = parse_bbox(&state, &actor, q.bbox.as_deref(), crs)?
        .ok_or_else(|| AppError::invalid("bbox", "required: minLon,minLat,maxLon,maxLat"))?;
    let table = state.categories();
    let mut filter = attribute_filter(&state, &table, q.category.as_deref(), q.status.as_deref())?;
    let (start, end) = parse_range(q.from.as_deref(), q.to.as_deref())?;
    let before_ms = end.map(|t| t.saturating_add(1));
    filter = filter.with_reported_between(start, before_ms);
    let scored_at = before_ms.map_or(now, |b| b.min(now));
    let heat = HeatParams::new(table.weights(), scored_at);

    let problems = state.problems();
    // The anchor: the whole degree of latitude nearest the centre of the data (or of the box).
    let centre_lat = problems.index.bounds().map_or_else(
        || f64::midpoint(bbox.min_lat, bbox.max_lat),
        |b| f64::midpoint(b.min_lat(), b.max_lat()),
    );
    let anchor_lat = centre_lat.round().clamp(-85.0, 85.0);
    let anchor = LonLat::new(0.0, anchor_lat).map_err(internal)?;
    let cell_area = check_cell_count(&bbox, anchor_lat, shape, size_m)?;
    let region = Region::BBox(
        civmap_index::BBox::new(bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat)
            .map_err(|e| AppError::invalid("bbox", e))?,
    );
    let per_ha = M2_PER_HA / cell_area;
    let (features, shape_name) = match shape {
        Shape::Hex => {
            let grid = HexGrid::new(anchor, size_m).map_err(internal)?;
            let stats = problems
                .index
                .aggregate_hexes(&grid, &region, &filter, &heat)
                .map_err(internal)?;
            drop(problems);
            let f = cell_features(
                &stats,
                |c| format!("hex:{size_m}:{}:{}", c.q, c.r),
                |c| grid.cell_polygon(c),
                crs,
                per_ha,
            );
            (f, "hex")
        }
        Shape::Square => {
            let grid = SquareGrid::new(anchor, size_m).map_err(internal)?;
            let stats = problems
                .index
                .aggregate_squares(&grid, &region, &filter, &heat)
                .map_err(internal)?;
            drop(problems);
            let f = cell_features(
                &stats,
                |c| format!("square:{size_m}:{}:{}", c.col, c.row),
                |c| grid.cell_polygon(c),
                crs,
                per_ha,
            );
            (f, "square")
        }
    };
    let max_score = features
        .iter()
        .map(|f| f.properties.score)
        .fold(0.0, f64::max);
    let body = CellCollection {
        kind: "FeatureCollection",
        shape: shape_name,
        size_m,
        anchor: [0.0, anchor_lat],
        max_score,
        scored_at: rfc3339(from_ms(scored_at)),
        number_returned: features.len(),
        features,
    };
    Ok(crate::geojson::value_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_start_is_in_china_standard_time() {
        let t = DateTime::parse_from_rfc3339("2026-11-30T17:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        // 2026-12-01 01:00 in Shanghai: December already.
        assert_eq!(
            rfc3339(month_start(t)),
            "2026-11-30T16:00:00.000Z",
            "1 December 00:00 +08:00"
        );
        let t = DateTime::parse_from_rfc3339("2026-11-15T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc3339(month_start(t)), "2026-10-31T16:00:00.000Z");
    }

    #[test]
    fn previous_period_has_equal_length_and_ends_where_this_starts() {
        let p = Period {
            from_ms: 1_000,
            before_ms: 4_000,
        };
        assert_eq!(
            p.previous(),
            Some(Period {
                from_ms: -2_000,
                before_ms: 1_000
            })
        );
        assert_eq!(p.scored_at(10_000), 4_000);
        assert_eq!(p.scored_at(2_000), 2_000);
        let huge = Period {
            from_ms: i64::MIN + 5,
            before_ms: i64::MAX,
        };
        assert_eq!(huge.previous(), None, "overflow is refused, not wrapped");
    }

    #[test]
    fn period_defaults_and_errors() {
        let now = to_ms(
            DateTime::parse_from_rfc3339("2026-11-21T14:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        );
        let p = parse_period(None, None, now).unwrap();
        assert_eq!(rfc3339(from_ms(p.from_ms)), "2026-10-31T16:00:00.000Z");
        assert_eq!(p.before_ms, now + 1);
        let e = parse_period(Some("2026-11-02"), Some("2026-11-01"), now).unwrap_err();
        assert_eq!((e.status().as_u16(), e.field()), (422, Some("to")));
        let e = parse_period(Some("2027-01-01"), None, now).unwrap_err();
        assert_eq!((e.status().as_u16(), e.field()), (422, Some("from")));
        let e = parse_period(Some("yesterday"), None, now).unwrap_err();
        assert_eq!((e.status().as_u16(), e.field()), (400, Some("from")));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size(None, true).unwrap(), DEFAULT_SIZE_M);
        assert_eq!(parse_size(Some("50"), false).unwrap(), 50.0);
        let e = parse_size(Some("50"), true).unwrap_err();
        assert_eq!((e.status().as_u16(), e.field()), (422, Some("size_m")));
        let e = parse_size(Some("NaN"), false).unwrap_err();
        assert_eq!((e.status().as_u16(), e.field()), (400, Some("size_m")));
        assert!(parse_size(Some("2001"), false).is_err());
    }
}
