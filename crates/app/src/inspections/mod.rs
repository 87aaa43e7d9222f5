//! Mock inspections (模拟测评): the test-point inventory, the checklists, the drawn sample and
//! its inspector, and the results the inspector records. A fail becomes a problem through the
//! one create path ([`App::create`]), dispatched like any report and linked to the inspection
//! in its `created` event. The sample's draw is `sampling`, the scores `readiness`, the
//! rectification notices `notices`.
//!
//! | who | may |
//! |---|---|
//! | admin, street office | everything below, within its street (a street office with a street code sees the test points of its street only) |
//! | any staff | see the inspections assigned to it and record their results |
//! | reporters, the public | nothing: inspections are never public |

pub mod notices;
pub mod readiness;
pub mod sampling;

use civmap_domain::inspection::{
    ChecklistItem, Checklists, Inspection, InspectionId, InspectionResult, InspectionStatus,
    TestPoint, TestPointId,
};
use civmap_domain::{LonLat, NewProblem, PoiKind, Severity, UserId, ZoneKind};
use geo::Centroid;
use serde_json::{Map, json};

use crate::actor::{Actor, MANAGERS, STAFF};
use crate::app::App;
use crate::error::ServiceError;
use crate::problems::{ReportDetails, check_note};
use crate::scope::in_street;
use crate::time::now_ms;

/// Longest test-point name or responsible unit, characters.
pub const MAX_POINT_TEXT_CHARS: usize = 100;

/// A test point as the office adds it by hand.
#[derive(Debug, Clone)]
pub struct NewTestPoint {
    pub kind: String,
    pub name: String,
    pub location: LonLat,
    pub owner: String,
}

/// An inspection with what its inspector needs on the walk: the sample's points in walking
/// order, and the results recorded so far.
#[derive(Debug, Clone)]
pub struct InspectionView {
    pub inspection: Inspection,
    pub points: Vec<TestPoint>,
    pub results: Vec<InspectionResult>,
}

/// One item's outcome as the inspector records it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub point: TestPointId,
    pub item: String,
    pub pass: bool,
    /// A fail's photos (at least one for a fail).
    pub photos: Vec<String>,
    /// What the inspector saw (the created problem's description when it fails).
    pub note: String,
}

/// The test-point kind of a three-surroundings zone's place.
#[must_use]
pub fn kind_of_surroundings(kind: PoiKind) -> &'static str {
    match kind {
        PoiKind::School => "school_surroundings",
        PoiKind::Park => "park_surroundings",
        PoiKind::Market => "market_surroundings",
    }
}

impl App {
    /// `Forbidden`/`Unauthorized` unless the caller is staff: the public and reporters see
    /// nothing of inspections.
    fn require_staff(actor: &Actor, what: &str) -> Result<(), ServiceError> {
        actor.require(STAFF, what)
    }

    /// The checklists in force: the data file's, with the items edited in the console over
    /// them.
    pub async fn checklists(&self) -> Result<Checklists, ServiceError> {
        let mut lists = self.inner.checklists.clone();
        for item in self.store().list_checklist_items().await? {
            let code = item.code.clone();
            if let Err(e) = lists.upsert(item) {
                tracing::warn!(item = %code, error = %e, "stored checklist item no longer fits the kinds; left out");
            }
        }
        Ok(lists)
    }

    /// The checklists as staff read them (`Forbidden` for the public).
    pub async fn checklists_as(&self, actor: &Actor) -> Result<Checklists, ServiceError> {
        Self::require_staff(actor, "read inspection checklists")?;
        self.checklists().await
    }

    /// Adds or edits a checklist item (managers). The category a fail creates must be a
    /// known category.
    pub async fn put_checklist_item(
        &self,
        actor: &Actor,
        item: ChecklistItem,
    ) -> Result<ChecklistItem, ServiceError> {
        actor.require(MANAGERS, "edit inspection checklists")?;
        let lists = self.checklists().await?;
        let item = lists.check(item)?;
        let table = self.categories();
        for c in &item.categories {
            table.id(c)?;
        }
        self.store().upsert_checklist_item(&item).await?;
        Ok(item)
    }

    /// The street code of the coded zone containing `p` (`""` when none does): the part
    /// before the first `-` of the zone's code.
    fn street_at(&self, p: LonLat) -> String {
        let zones = self.zones();
        zones
            .index
            .zones_at(p)
            .into_iter()
            .filter_map(|hit| zones.map.get(&hit.id)?.code.clone())
            .map(|code| code.split('-').next().unwrap_or_default().to_owned())
            .min()
            .unwrap_or_default()
    }

    /// Whether a manager limited to `street` (from [`App::managed_street`]) sees `p`.
    fn sees_point(street: Option<&str>, p: &TestPoint) -> bool {
        street.is_none_or(|s| in_street(&p.street, s))
    }

    /// The test points a manager sees, by id.
    pub async fn test_points(&self, actor: &Actor) -> Result<Vec<TestPoint>, ServiceError> {
        let street = self.managed_street(actor, "list test points")?;
        Ok(self
            .store()
            .list_test_points()
            .await?
            .into_iter()
            .filter(|p| Self::sees_point(street.as_deref(), p))
            .collect())
    }

    /// Adds a test point by hand (managers). Its street is that of the coded zone containing
    /// it; a street office may add points in its own street only.
    pub async fn add_test_point(
        &self,
        actor: &Actor,
        new: NewTestPoint,
    ) -> Result<TestPoint, ServiceError> {
        let street = self.managed_street(actor, "add test points")?;
        let lists = self.checklists().await?;
        lists.require_kind("kind", &new.kind)?;
        let name =
            civmap_domain::error::validate_text("name", &new.name, MAX_POINT_TEXT_CHARS, true)?;
        let owner =
            civmap_domain::error::validate_text("owner", &new.owner, MAX_POINT_TEXT_CHARS, false)?;
        let point = TestPoint {
            id: TestPointId::new(),
            kind: new.kind,
            name,
            location: new.location,
            zone: None,
            street: self.street_at(new.location),
            owner,
            created_at: now_ms(),
        };
        if !Self::sees_point(street.as_deref(), &point) {
            return Err(ServiceError::invalid(
                "location",
                "the point lies outside your street's zones",
            ));
        }
        self.store().upsert_test_point(&point).await?;
        Ok(point)
    }

    /// Makes a test point of every three-surroundings zone (a school's surroundings → a
    /// 学校周边 point, a market's → 农贸市场周边, a park's → 公园周边) that has none yet, at
    /// the centre of its place, named after it. Answers the points made.
    pub async fn test_points_from_surroundings(
        &self,
        actor: &Actor,
    ) -> Result<Vec<TestPoint>, ServiceError> {
        let street = self.managed_street(actor, "add test points")?;
        let existing = self.store().list_test_points().await?;
        let candidates: Vec<TestPoint> = {
            let zones = self.zones();
            let pois = self.pois();
            zones
                .map
                .values()
                .filter(|z| z.kind == ZoneKind::Surroundings)
                .filter(|z| !existing.iter().any(|p| p.zone == Some(z.id)))
                .filter(|z| {
                    street
                        .as_deref()
                        .is_none_or(|s| z.code.as_deref().is_some_and(|c| in_street(c, s)))
                })
                .filter_map(|z| {
                    let kind = z.poi_kind?;
                    let poi = z.poi.and_then(|id| pois.get(&id));
                    let centre = poi
                        .and_then(|p| p.geometry.centroid())
                        .or_else(|| z.geometry.centroid())?;
                    let location = LonLat::new(centre.x(), centre.y()).ok()?;
                    Some(TestPoint {
                        id: TestPointId::new(),
                        kind: kind_of_surroundings(kind).to_owned(),
                        name: poi.map_or_else(|| z.name.clone(), |p| p.name.clone()),
                        location,
                        zone: Some(z.id),
                        street: z
                            .code
                            .as_deref()
                            .map(|c| c.split('-').next().unwrap_or_default().to_owned())
                            .unwrap_or_default(),
                        owner: poi.map(|p| p.name.clone()).unwrap_or_default(),
                        created_at: now_ms(),
                    })
                })
                .collect()
        };
        for p in &candidates {
            self.store().upsert_test_point(p).await?;
        }
        Ok(candidates)
    }

    /// `Invalid` naming `assignee` unless `user` is an enabled staff account.
    async fn check_inspector(&self, user: UserId) -> Result<(), ServiceError> {
        let u = self.store().user_by_id(user).await?;
        match u {
            Some(u) if !u.disabled && STAFF.contains(&u.role) => Ok(()),
            _ => Err(ServiceError::invalid(
                "assignee",
                format!("{user} is not an enabled staff account"),
            )),
        }
    }

    /// An inspection the caller may see: managers every one, other staff those assigned to
    /// them. `NotFound` otherwise (as for an id that does not exist).
    async fn visible_inspection(
        &self,
        actor: &Actor,
        id: InspectionId,
    ) -> Result<Inspection, ServiceError> {
        Self::require_staff(actor, "see inspections")?;
        let not_found = || ServiceError::NotFound(format!("inspection {id} not found"));
        let i = self
            .store()
            .get_inspection(id)
            .await?
            .ok_or_else(not_found)?;
        if MANAGERS.contains(&actor.role) || (actor.user.is_some() && i.assignee == actor.user) {
            Ok(i)
        } else {
            Err(not_found())
        }
    }

    /// The inspections the caller sees, newest first: every one for managers, its own for
    /// other staff.
    pub async fn inspections(&self, actor: &Actor) -> Result<Vec<Inspection>, ServiceError> {
        Self::require_staff(actor, "see inspections")?;
        let manager = MANAGERS.contains(&actor.role);
        let mut out: Vec<Inspection> = self
            .store()
            .list_inspections()
            .await?
            .into_iter()
            .filter(|i| manager || (actor.user.is_some() && i.assignee == actor.user))
            .collect();
        out.reverse();
        Ok(out)
    }

    /// One inspection with its points in walking order and its results so far.
    pub async fn inspection(
        &self,
        actor: &Actor,
        id: InspectionId,
    ) -> Result<InspectionView, ServiceError> {
        let inspection = self.visible_inspection(actor, id).await?;
        let all = self.store().list_test_points().await?;
        let points = inspection
            .sample
            .iter()
            .filter_map(|pid| all.iter().find(|p| p.id == *pid).cloned())
            .collect();
        let results = self.store().inspection_results(Some(id)).await?;
        Ok(InspectionView {
            inspection,
            points,
            results,
        })
    }

    /// Gives an inspection to another inspector (managers).
    pub async fn assign_inspection(
        &self,
        actor: &Actor,
        id: InspectionId,
        assignee: UserId,
    ) -> Result<Inspection, ServiceError> {
        actor.require(MANAGERS, "assign inspections")?;
        let mut i = self.visible_inspection(actor, id).await?;
        self.check_inspector(assignee).await?;
        i.assignee = Some(assignee);
        self.store().upsert_inspection(&i).await?;
        Ok(i)
    }

    /// Closes an inspection: its results are final (its inspector or a manager).
    pub async fn finish_inspection(
        &self,
        actor: &Actor,
        id: InspectionId,
    ) -> Result<Inspection, ServiceError> {
        let mut i = self.visible_inspection(actor, id).await?;
        if i.status == InspectionStatus::Done {
            return Ok(i);
        }
        i.status = InspectionStatus::Done;
        i.finished_at = Some(now_ms());
        self.store().upsert_inspection(&i).await?;
        Ok(i)
    }

    /// Records one item's outcome at a point of an open inspection (its inspector or a
    /// manager). A fail needs a photo and becomes a problem at the point with the item's
    /// category, through [`App::create`] (so it is dispatched like any report), its `created`
    /// event naming the inspection, the point and the item. Recording the same item again
    /// replaces the outcome; a fail already recorded keeps its problem.
    pub async fn record_outcome(
        &self,
        actor: &Actor,
        id: InspectionId,
        outcome: Outcome,
    ) -> Result<InspectionResult, ServiceError> {
        let view = self.inspection(actor, id).await?;
        if view.inspection.status != InspectionStatus::Open {
            return Err(ServiceError::Conflict {
                message: format!("inspection {id} is finished; its results are final"),
                current_version: None,
            });
        }
        let point = view
            .points
            .iter()
            .find(|p| p.id == outcome.point)
            .ok_or_else(|| {
                ServiceError::invalid("point", format!("{} is not in this sample", outcome.point))
            })?;
        let lists = self.checklists().await?;
        let item = lists
            .items_for(&point.kind)
            .find(|i| i.code == outcome.item)
            .ok_or_else(|| {
                ServiceError::invalid(
                    "item",
                    format!(
                        "{} is not checked at a point of kind {}",
                        outcome.item, point.kind
                    ),
                )
            })?
            .clone();
        let note = check_note(&outcome.note)?;
        self.check_photos(&outcome.photos).await?;
        if !outcome.pass && outcome.photos.is_empty() {
            return Err(ServiceError::invalid("photos", "a fail needs a photo"));
        }
        let earlier = view
            .results
            .iter()
            .find(|r| r.point == point.id && r.item == item.code);
        let mut problem = earlier.and_then(|r| r.problem);
        if !outcome.pass && problem.is_none() {
            let description = fail_description(&point.name, &item.zh, &note);
            let mut data = Map::new();
            data.insert("via".into(), "inspection".into());
            data.insert(
                "inspection".into(),
                json!({"id": id, "name": view.inspection.name, "point": point.id,
                       "point_name": point.name, "item": item.code, "item_zh": item.zh}),
            );
            let report = NewProblem {
                lon: point.location.lon(),
                lat: point.location.lat(),
                category: item.category().to_owned(),
                severity: Severity::Medium,
                description,
            };
            let details = ReportDetails {
                note: String::new(),
                photos: outcome.photos.clone(),
                data,
                capture: crate::capture::Capture::default(),
            };
            let created = self.create(report, actor, details).await?;
            problem = Some(created.id);
        }
        let result = InspectionResult {
            inspection: id,
            point: point.id,
            item: item.code.clone(),
            pass: outcome.pass,
            weight: item.weight,
            photos: outcome.photos,
            problem,
            actor: actor.user,
            at: now_ms(),
        };
        self.store().put_inspection_result(&result).await?;
        Ok(result)
    }
}

/// The description of the problem a fail creates: the point, the item and what the inspector saw.
fn fail_description(point: &str, item: &str, note: &str) -> String {
    if note.is_empty() {
        format!("模拟测评未通过：{point} · {item}")
    } else {
        format!("模拟测评未通过：{point} · {item}：{note}")
    }
}

/// What the inspector saw, read back from a description [`fail_description`] wrote (empty when
/// the inspector wrote nothing); a description edited since is returned whole.
pub(crate) fn fail_note<'a>(description: &'a str, point: &str, item: &str) -> &'a str {
    let plain = fail_description(point, item, "");
    match description.strip_prefix(plain.as_str()) {
        Some(rest) => rest.trim_start_matches('：').trim(),
        None => description.trim(),
    }
}
