//! Readiness (迎检准备度): each test point's weighted share of items passed in the latest
//! inspection that scored it, gathered per kind and per street; each inspection's own score
//! (the trend); the items failing most; the points not inspected for some days. Computed on
//! request from the stored results with the pure functions of
//! `civmap_domain::inspection`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use civmap_domain::inspection::{
    InspectionId, Mark, Score, TestPoint, TestPointId, failing_items, group_scores,
    inspection_scores, latest_point_scores,
};

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;

/// Points not inspected for this many days are listed, unless the caller asks otherwise.
pub const DEFAULT_STALE_DAYS: u32 = 30;
/// The longest "not inspected for" a caller may ask for, days.
pub const MAX_STALE_DAYS: u32 = 3650;

/// A test point's readiness.
#[derive(Debug, Clone)]
pub struct PointReadiness {
    pub point: TestPoint,
    /// Its items in the latest inspection that scored it; `None` when none has.
    pub score: Option<Score>,
    /// When it was last scored.
    pub last_inspected: Option<DateTime<Utc>>,
}

/// An inspection's own score.
#[derive(Debug, Clone)]
pub struct TrendPoint {
    pub inspection: InspectionId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub score: Score,
}

/// An item by how often it failed.
#[derive(Debug, Clone)]
pub struct FailingItem {
    pub code: String,
    pub zh: String,
    pub en: String,
    pub fails: u32,
    pub scored: u32,
}

/// Everything the office reads about readiness.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// Over every scored point of the caller's street.
    pub overall: Score,
    pub points: Vec<PointReadiness>,
    /// By kind code, in checklist order (kinds with no scored point left out).
    pub kinds: Vec<(String, Score)>,
    /// By street code.
    pub streets: Vec<(String, Score)>,
    /// Inspections in the order they were drawn.
    pub trend: Vec<TrendPoint>,
    pub failing: Vec<FailingItem>,
    /// Points not scored since `stale_before` (never scored first), by name.
    pub not_inspected: Vec<PointReadiness>,
    pub stale_days: u32,
}

impl App {
    /// Readiness over the test points the manager sees, at `now`; points not scored for
    /// `stale_days` are listed. `Invalid` naming `days` above [`MAX_STALE_DAYS`].
    pub async fn inspection_readiness(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
        stale_days: u32,
    ) -> Result<Readiness, ServiceError> {
        if stale_days > MAX_STALE_DAYS {
            return Err(ServiceError::invalid(
                "days",
                format!("at most {MAX_STALE_DAYS} days"),
            ));
        }
        let points = self.test_points(actor).await?;
        let by_id: BTreeMap<TestPointId, &TestPoint> = points.iter().map(|p| (p.id, p)).collect();
        let results = self.store().inspection_results(None).await?;
        let inspections = self.store().list_inspections().await?;
        let mut last: BTreeMap<TestPointId, DateTime<Utc>> = BTreeMap::new();
        let marks: Vec<Mark<InspectionId, TestPointId>> = results
            .into_iter()
            .filter(|r| by_id.contains_key(&r.point))
            .map(|r| {
                let e = last.entry(r.point).or_insert(r.at);
                *e = (*e).max(r.at);
                Mark {
                    inspection: r.inspection,
                    point: r.point,
                    item: r.item,
                    pass: r.pass,
                    weight: r.weight,
                }
            })
            .collect();
        let scores = latest_point_scores(&marks);
        let lists = self.checklists().await?;
        let kind_scores = group_scores(&scores, |p| by_id.get(&p).map(|t| t.kind.clone()));
        let kinds = lists
            .kinds()
            .iter()
            .filter_map(|k| kind_scores.get(&k.code).map(|s| (k.code.clone(), *s)))
            .collect();
        let streets = group_scores(&scores, |p| by_id.get(&p).map(|t| t.street.clone()))
            .into_iter()
            .collect();
        let mut overall = Score::default();
        for s in scores.values() {
            overall.merge(s);
        }
        let trend = inspection_scores(&marks)
            .into_iter()
            .filter_map(|(id, score)| {
                let i = inspections.iter().find(|i| i.id == id)?;
                Some(TrendPoint {
                    inspection: id,
                    name: i.name.clone(),
                    created_at: i.created_at,
                    score,
                })
            })
            .collect();
        let failing = failing_items(&marks)
            .into_iter()
            .map(|(code, fails, scored)| {
                let item = lists.item(&code);
                FailingItem {
                    zh: item.map_or_else(|| code.clone(), |i| i.zh.clone()),
                    en: item.map_or_else(|| code.clone(), |i| i.en.clone()),
                    code,
                    fails,
                    scored,
                }
            })
            .collect();
        let readiness_of = |p: &TestPoint| PointReadiness {
            point: p.clone(),
            score: scores.get(&p.id).copied(),
            last_inspected: last.get(&p.id).copied(),
        };
        let stale_before = now - Duration::days(i64::from(stale_days));
        let mut not_inspected: Vec<PointReadiness> = points
            .iter()
            .map(readiness_of)
            .filter(|r| r.last_inspected.is_none_or(|t| t < stale_before))
            .collect();
        not_inspected.sort_by(|a, b| {
            a.last_inspected
                .cmp(&b.last_inspected)
                .then_with(|| a.point.name.cmp(&b.point.name))
        });
        Ok(Readiness {
            overall,
            points: points.iter().map(readiness_of).collect(),
            kinds,
            streets,
            trend,
            failing,
            not_inspected,
            stale_days,
        })
    }
}
