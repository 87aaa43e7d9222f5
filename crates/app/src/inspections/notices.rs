//! Rectification notices (整改通知单): for a failing test point or any problem, the office
//! issues a numbered notice to the responsible unit (property company, shop, school) with the
//! place, what is wrong, the photos and a deadline in working days on the calendar. The number
//! ("整改通知 2026-0001", never reused) goes into the history of every problem it covers as a
//! `notice` event, and a look-back lists the notices whose deadline has passed with whether
//! their problems were rectified.

use chrono::{DateTime, Datelike, Utc};
use civmap_domain::inspection::{InspectionResult, Notice, NoticeId, TestPoint, TestPointId};
use civmap_domain::{EventKind, Problem, ProblemId, Status};
use civmap_store::{NewEvent, StoreError};
use serde_json::json;

use crate::actor::{Actor, MANAGERS};
use crate::app::App;
use crate::error::ServiceError;
use crate::time::{cst, now_ms};

/// Working days a unit gets when the office names none.
pub const DEFAULT_NOTICE_WORKING_DAYS: u32 = 3;
/// The longest deadline a notice may give, working days.
pub const MAX_NOTICE_WORKING_DAYS: u32 = 60;
/// Longest "what is wrong" the office may write, characters.
pub const MAX_NOTICE_TEXT_CHARS: usize = 1000;
/// How often a notice event is retried when the problem changed meanwhile.
const NOTICE_EVENT_TRIES: usize = 3;

/// What the office asks for: a problem or a test point (exactly one).
#[derive(Debug, Clone, Default)]
pub struct NewNotice {
    pub problem: Option<ProblemId>,
    pub point: Option<TestPointId>,
    /// The responsible unit; a test point's owner when empty.
    pub unit: String,
    /// What is wrong; said from the problem or the point's fails when empty.
    pub wrong: String,
    /// Working days until the deadline ([`DEFAULT_NOTICE_WORKING_DAYS`] when `None`).
    pub working_days: Option<u32>,
}

/// A notice with what its printed page shows.
#[derive(Debug, Clone)]
pub struct NoticeView {
    pub notice: Notice,
    /// The problems it covers, as they are now.
    pub problems: Vec<Problem>,
    pub point: Option<TestPoint>,
}

/// A notice whose deadline has passed, and whether its problems were rectified.
#[derive(Debug, Clone)]
pub struct NoticeCheck {
    pub view: NoticeView,
    /// Every problem it covers is rectified or closed.
    pub rectified: bool,
}

/// Where a problem is, as a person reads it: the place named near it, else its coordinates.
fn place_of(p: &Problem) -> String {
    if !p.place.is_empty() {
        return p.place.clone();
    }
    format!("{:.5}, {:.5}", p.location.lon(), p.location.lat())
}

/// The fails of a point in the latest inspection that scored it, up to `at`.
fn latest_fails(
    results: &[InspectionResult],
    point: TestPointId,
    at: DateTime<Utc>,
) -> Vec<&InspectionResult> {
    let of_point: Vec<&InspectionResult> = results
        .iter()
        .filter(|r| r.point == point && r.at <= at)
        .collect();
    let Some(latest) = of_point.iter().map(|r| r.inspection).max() else {
        return Vec::new();
    };
    of_point
        .into_iter()
        .filter(|r| r.inspection == latest && !r.pass)
        .collect()
}

impl App {
    /// Issues a notice (managers). `Invalid` naming `problem` unless exactly one of problem
    /// and point is given, `unit` when no unit is named or known, `working_days` outside
    /// 1..=[`MAX_NOTICE_WORKING_DAYS`], `point` for a point with no fail to notify.
    // One sequence: check, gather what the notice says (from a problem or a point), number it,
    // record it in each problem's history; splitting it would scatter the order.
    #[allow(clippy::too_many_lines)]
    pub async fn issue_notice(
        &self,
        actor: &Actor,
        new: NewNotice,
    ) -> Result<NoticeView, ServiceError> {
        actor.require(MANAGERS, "issue rectification notices")?;
        let days = new.working_days.unwrap_or(DEFAULT_NOTICE_WORKING_DAYS);
        if !(1..=MAX_NOTICE_WORKING_DAYS).contains(&days) {
            return Err(ServiceError::invalid(
                "working_days",
                format!("between 1 and {MAX_NOTICE_WORKING_DAYS} working days"),
            ));
        }
        let unit = civmap_domain::error::validate_text(
            "unit",
            &new.unit,
            super::MAX_POINT_TEXT_CHARS,
            false,
        )?;
        let wrong =
            civmap_domain::error::validate_text("wrong", &new.wrong, MAX_NOTICE_TEXT_CHARS, false)?;
        let table = self.categories();
        let (problems, point, place, said, photos) = match (new.problem, new.point) {
            (Some(id), None) => {
                self.check_visible(&self.scope(actor), id)?;
                let p = self.problem(id)?;
                let photos = self
                    .store()
                    .events_for(id)
                    .await?
                    .into_iter()
                    .find(|e| e.kind == EventKind::Created)
                    .map(|e| e.photos)
                    .unwrap_or_default();
                let category = table
                    .by_code(&p.category)
                    .map_or_else(|| p.category.clone(), |c| c.name_zh.clone());
                let said = if p.description.is_empty() {
                    category
                } else {
                    format!("{category}：{}", p.description)
                };
                (vec![p.clone()], None, place_of(&p), said, photos)
            }
            (None, Some(pid)) => {
                let point = self
                    .test_points(actor)
                    .await?
                    .into_iter()
                    .find(|p| p.id == pid)
                    .ok_or_else(|| ServiceError::NotFound(format!("test point {pid} not found")))?;
                let results = self.store().inspection_results(None).await?;
                let fails = latest_fails(&results, pid, now_ms());
                if fails.is_empty() {
                    return Err(ServiceError::invalid(
                        "point",
                        "the point's latest inspection found nothing wrong",
                    ));
                }
                let lists = self.checklists().await?;
                // What fails, not the rule that should hold: an item is worded as the rule
                // ("无小广告"), so the notice says it was not met and what the inspector found.
                let said = fails
                    .iter()
                    .map(|r| {
                        let rule = lists
                            .item(&r.item)
                            .map_or_else(|| r.item.clone(), |i| i.zh.clone());
                        let found = r
                            .problem
                            .and_then(|id| self.problem(id).ok())
                            .map(|p| {
                                super::fail_note(&p.description, &point.name, &rule).to_owned()
                            })
                            .unwrap_or_default();
                        if found.is_empty() {
                            format!("未达到“{rule}”")
                        } else {
                            format!("未达到“{rule}”：{found}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("；");
                let photos = fails
                    .iter()
                    .flat_map(|r| r.photos.iter().cloned())
                    .collect();
                let problems = fails
                    .iter()
                    .filter_map(|r| r.problem)
                    .filter_map(|id| self.problem(id).ok())
                    .collect();
                let place = point.name.clone();
                (problems, Some(point), place, said, photos)
            }
            _ => {
                return Err(ServiceError::invalid(
                    "problem",
                    "name either a problem or a test point",
                ));
            }
        };
        let unit = if unit.is_empty() {
            point.as_ref().map(|p| p.owner.clone()).unwrap_or_default()
        } else {
            unit
        };
        if unit.is_empty() {
            return Err(ServiceError::invalid("unit", "name the responsible unit"));
        }
        let now = now_ms();
        let seconds = i64::from(days) * i64::from(self.calendar().day_seconds());
        let notice = Notice {
            id: NoticeId::new(),
            year: now.with_timezone(&cst()).year(),
            seq: 0,
            problem: new.problem,
            point: new.point,
            unit,
            place,
            wrong: if wrong.is_empty() { said } else { wrong },
            photos,
            deadline: self.calendar().add_working_seconds(now, seconds),
            issued_by: actor.user,
            issued_at: now,
        };
        let notice = self.store().insert_notice(&notice).await?;
        let mut recorded = Vec::with_capacity(problems.len());
        for p in &problems {
            recorded.push(self.record_notice_event(p.id, &notice, actor).await?);
        }
        Ok(NoticeView {
            notice,
            problems: recorded,
            point,
        })
    }

    /// Appends the `notice` event to a problem's history (its version goes up by one).
    async fn record_notice_event(
        &self,
        id: ProblemId,
        notice: &Notice,
        actor: &Actor,
    ) -> Result<Problem, ServiceError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let current = self.problem(id)?;
            let now = now_ms();
            let mut next = current.clone();
            next.updated_at = now;
            next.version += 1;
            let ev = NewEvent {
                kind: EventKind::Notice,
                actor: actor.user,
                at: now,
                note: notice.number(),
                photos: Vec::new(),
                data: json!({
                    "notice": notice.number(),
                    "notice_id": notice.id,
                    "unit": notice.unit,
                    "deadline": notice.deadline,
                }),
            };
            match self
                .store()
                .update_problem(&next, current.version, ev)
                .await
            {
                Ok(_) => return Ok(next),
                Err(StoreError::Conflict { .. }) if tries < NOTICE_EVENT_TRIES => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The view of a notice: its problems as they are now and its point.
    fn notice_view(
        &self,
        notice: Notice,
        results: &[InspectionResult],
        points: &[TestPoint],
    ) -> NoticeView {
        let mut ids: Vec<ProblemId> = notice.problem.into_iter().collect();
        if let Some(pid) = notice.point {
            ids.extend(
                latest_fails(results, pid, notice.issued_at)
                    .iter()
                    .filter_map(|r| r.problem),
            );
        }
        let problems = ids
            .into_iter()
            .filter_map(|id| self.problem(id).ok())
            .collect();
        let point = notice
            .point
            .and_then(|pid| points.iter().find(|p| p.id == pid).cloned());
        NoticeView {
            notice,
            problems,
            point,
        }
    }

    /// Every notice (managers), newest first.
    pub async fn notices(&self, actor: &Actor) -> Result<Vec<NoticeView>, ServiceError> {
        actor.require(MANAGERS, "read rectification notices")?;
        let results = self.store().inspection_results(None).await?;
        let points = self.store().list_test_points().await?;
        let mut out = Vec::new();
        for n in self.store().list_notices().await?.into_iter().rev() {
            out.push(self.notice_view(n, &results, &points));
        }
        Ok(out)
    }

    /// One notice (managers), by id or by its number ("整改通知 2026-0001" or "2026-0001").
    pub async fn notice(&self, actor: &Actor, key: &str) -> Result<NoticeView, ServiceError> {
        let wanted = key.trim().trim_start_matches("整改通知").trim();
        self.notices(actor)
            .await?
            .into_iter()
            .find(|v| {
                v.notice.id.to_string() == wanted
                    || format!("{}-{:04}", v.notice.year, v.notice.seq) == wanted
            })
            .ok_or_else(|| ServiceError::NotFound(format!("notice {key} not found")))
    }

    /// The notices whose deadline passed by `now`, oldest deadline first, with whether every
    /// problem they cover was rectified: the look-back by deadline.
    pub async fn notices_due(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<NoticeCheck>, ServiceError> {
        let mut due: Vec<NoticeCheck> = self
            .notices(actor)
            .await?
            .into_iter()
            .filter(|v| v.notice.deadline <= now)
            .map(|view| NoticeCheck {
                rectified: view.problems.iter().all(|p| {
                    matches!(
                        p.status,
                        Status::Rectified | Status::Closed | Status::Merged
                    )
                }),
                view,
            })
            .collect();
        due.sort_by_key(|c| (c.view.notice.deadline, c.view.notice.seq));
        Ok(due)
    }
}
