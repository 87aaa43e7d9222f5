//! Heat: the weight of one problem, and per-zone heat scores.
//!
//! weight = category weight × severity weight × age factor, where
//! - category weight comes from the category table (`CategoryTable::weights()`, passed in);
//! - severity weight is `Severity::weight()` (low 0.5, medium 1, high 1.5, critical 2.5);
//! - age factor = `min(1 + days_open / 7, 4)` for an open problem (one more unit per week open,
//!   at most 4 after three weeks), and 1 for a closed or merged one. `days_open` is
//!   `(now − reported) / 86,400,000 ms`, 0 if reported in the future.
//!
//! Zone heat = Σ weight over the zone's *open* problems, divided by the zone's geodesic area in
//! hectares.
//!
//! Scoring a past period: pass its end as `now` (the server does, see its `heat` module), so a
//! period and the one before it are weighed alike; the statuses are the current ones.

use civmap_domain::{CategoryId, Severity, Status, ZoneId};

use crate::error::IndexError;
use crate::filter::{Filter, StatusSet};
use crate::problems::ProblemIndex;
use crate::record::{Leaf, PointRecord};
use crate::region::Region;
use crate::zones::ZoneIndex;

/// Days per unit of age factor.
pub const AGE_STEP_DAYS: f64 = 7.0;
/// Largest age factor.
pub const MAX_AGE_FACTOR: f64 = 4.0;
/// How many categories [`ZoneHeat::top_categories`] lists.
pub const TOP_CATEGORIES: usize = 3;
const MS_PER_DAY: f64 = 86_400_000.0;

/// The inputs of heat weights: the category table's weights and the time "now".
#[derive(Debug, Clone, PartialEq)]
pub struct HeatParams {
    /// Weight per category, indexed by `CategoryId.0` (`CategoryTable::weights()`); a category
    /// beyond the end weighs 1.0 (ordinary).
    pub category_weights: Vec<f64>,
    /// The moment ages are measured at, Unix ms.
    pub now_ms: i64,
}

impl HeatParams {
    /// Weights and "now".
    #[must_use]
    pub fn new(category_weights: Vec<f64>, now_ms: i64) -> Self {
        Self {
            category_weights,
            now_ms,
        }
    }

    /// The age factor of a problem (see the module documentation).
    ///
    /// ```
    /// use civmap_domain::Status;
    /// use civmap_index::HeatParams;
    /// let day = 86_400_000;
    /// let h = HeatParams::new(vec![], 30 * day);
    /// assert_eq!(h.age_factor(Status::Dispatched, 30 * day), 1.0);
    /// assert_eq!(h.age_factor(Status::Dispatched, 23 * day), 2.0);
    /// assert_eq!(h.age_factor(Status::Recurred, 0), 4.0, "capped");
    /// assert_eq!(h.age_factor(Status::Closed, 0), 1.0, "closed problems do not age");
    /// ```
    #[must_use]
    #[inline]
    pub fn age_factor(&self, status: Status, reported_ms: i64) -> f64 {
        if status.is_open() {
            age_factor_ms(self.now_ms.saturating_sub(reported_ms))
        } else {
            1.0
        }
    }

    /// The heat weight of one problem.
    #[must_use]
    pub fn weight(&self, r: &PointRecord) -> f64 {
        self.weigher()
            .weight(r.category.0, r.severity, r.status, r.reported_ms)
    }

    pub(crate) fn weigher(&self) -> Weigher<'_> {
        let mut sev = [1.0; 5];
        for s in Severity::ALL {
            sev[usize::from(s.code())] = s.weight();
        }
        Weigher {
            categories: &self.category_weights,
            severities: sev,
            now_ms: self.now_ms,
        }
    }
}

/// `min(1 + days / 7, 4)` for an age in ms (negative ages count as 0).
#[inline]
fn age_factor_ms(age_ms: i64) -> f64 {
    (1.0 + age_ms.max(0) as f64 / (MS_PER_DAY * AGE_STEP_DAYS)).min(MAX_AGE_FACTOR)
}

/// [`HeatParams`] made ready for a hot loop: severity weights in a table by code.
pub(crate) struct Weigher<'a> {
    categories: &'a [f64],
    severities: [f64; 5],
    now_ms: i64,
}

impl Weigher<'_> {
    #[inline]
    pub(crate) fn weight(&self, category: u16, severity: Severity, status: Status, t: i64) -> f64 {
        let c = self
            .categories
            .get(usize::from(category))
            .copied()
            .unwrap_or(1.0);
        let age = if status.is_open() {
            age_factor_ms(self.now_ms.saturating_sub(t))
        } else {
            1.0
        };
        c * self.severities[usize::from(severity.code())] * age
    }

    #[inline]
    pub(crate) fn leaf(&self, l: &Leaf) -> f64 {
        self.weight(l.category, l.severity, l.status, l.reported_ms)
    }
}

/// Heat of one category inside a zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CategoryHeat {
    /// The category.
    pub category: CategoryId,
    /// Open problems of this category in the zone that pass the filter.
    pub count: u32,
    /// Σ heat weight of those problems (not divided by the area).
    pub score: f64,
}

/// Heat of one zone.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneHeat {
    /// The zone.
    pub zone: ZoneId,
    /// Open problems in the zone that pass the filter.
    pub count: u32,
    /// Σ heat weight of those problems.
    pub score: f64,
    /// Geodesic area of the zone, m².
    pub area_m2: f64,
    /// `score` per hectare (10,000 m²).
    pub score_per_ha: f64,
    /// The heaviest categories (at most [`TOP_CATEGORIES`]), by score, then count, then id.
    pub top_categories: Vec<CategoryHeat>,
}

impl ProblemIndex {
    /// Heat of each zone in `zone_ids` (in that order), over the open problems that pass the
    /// filter (the filter's statuses are narrowed to the open ones).
    pub fn zone_heat(
        &self,
        zones: &ZoneIndex,
        zone_ids: impl IntoIterator<Item = ZoneId>,
        filter: &Filter,
        params: &HeatParams,
    ) -> Result<Vec<ZoneHeat>, IndexError> {
        let mut filter = filter.clone();
        filter.statuses = filter.statuses.intersect(StatusSet::open());
        let weigher = params.weigher();
        let mut per_cat: Vec<(u32, f64)> = Vec::new();
        let mut touched: Vec<u16> = Vec::new();
        let mut out = Vec::new();
        for zone in zone_ids {
            let area_m2 = zones.entry(zone)?.area_m2;
            let prepared = Region::Zone(zones, zone).prepare()?;
            let (mut count, mut score) = (0u32, 0.0f64);
            self.for_each_leaf(&prepared, &filter, |l| {
                let w = weigher.leaf(l);
                count += 1;
                score += w;
                let c = usize::from(l.category);
                if per_cat.len() <= c {
                    per_cat.resize(c + 1, (0, 0.0));
                }
                if per_cat[c].0 == 0 {
                    touched.push(l.category);
                }
                per_cat[c].0 += 1;
                per_cat[c].1 += w;
            });
            let mut cats: Vec<CategoryHeat> = touched
                .drain(..)
                .map(|c| {
                    let (count, score) = std::mem::take(&mut per_cat[usize::from(c)]);
                    CategoryHeat {
                        category: CategoryId(c),
                        count,
                        score,
                    }
                })
                .collect();
            cats.sort_unstable_by(|a, b| {
                b.score
                    .total_cmp(&a.score)
                    .then(b.count.cmp(&a.count))
                    .then(a.category.cmp(&b.category))
            });
            cats.truncate(TOP_CATEGORIES);
            out.push(ZoneHeat {
                zone,
                count,
                score,
                area_m2,
                score_per_ha: score / (area_m2 / 10_000.0),
                top_categories: cats,
            });
        }
        Ok(out)
    }
}
