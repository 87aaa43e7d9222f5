//! The page of one problem (`/p/{case_no}`) as a read model: what each viewer may read on it.
//! The public reads the category, the place (generalised for indoor categories), the status,
//! the dates, a history without names or notes, the masked description and the verified
//! after-photo; staff whose scope holds the problem read everything (names, notes, all photos,
//! deadline, assignee, zone). The server only renders this.

use chrono::{DateTime, Utc};
use civmap_domain::{Event, EventKind, Problem, ProblemId, Status, UserId};
use geo::LineString;
use rstar::AABB;

use crate::actor::{Actor, MANAGERS};
use crate::app::App;
use crate::error::ServiceError;
use crate::privacy::{generalise_place, mask_personal, public_lon_lat};

/// Half the side of the square a page's small map shows, metres: the street and its corners.
pub const PAGE_MAP_HALF_M: f64 = 180.0;

/// One problem's page for one viewer.
#[derive(Debug, Clone)]
pub struct ProblemPage {
    pub id: ProblemId,
    pub case_no: String,
    /// The category in Chinese (the code when the table no longer has it).
    pub category: String,
    /// Where it is in words; empty when nothing named is near (show [`ProblemPage::position`]).
    pub place: String,
    /// WGS-84 `[lon, lat]` as this viewer may see it (the 50 m cell for the public, indoor).
    pub position: [f64; 2],
    /// Whether `position` and `place` are generalised (public view of an indoor category).
    pub generalised: bool,
    pub status: Status,
    /// The severity in Chinese.
    pub severity: &'static str,
    /// The description; personal data masked for the public.
    pub description: String,
    pub reported_at: DateTime<Utc>,
    /// When the last verification closed it, for a closed problem.
    pub fixed_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub history: Vec<PageEvent>,
    /// The public after-photo's id (verified rectification of a non-indoor problem).
    pub public_photo: Option<String>,
    /// What staff in scope read besides; `None` for everyone else.
    pub staff: Option<StaffDetails>,
}

/// One line of a page's history.
#[derive(Debug, Clone)]
pub struct PageEvent {
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    /// What happened, as a sentence without names.
    pub text: &'static str,
    /// Who did it (staff only; `None` for system steps).
    pub actor: Option<String>,
    /// To whom a dispatch or escalation went (staff only).
    pub assignee: Option<String>,
    /// The step's note (staff only; empty for the public).
    pub note: String,
    /// Evidence photo ids (staff only).
    pub photos: Vec<String>,
}

/// What staff whose scope holds the problem read on its page.
#[derive(Debug, Clone)]
pub struct StaffDetails {
    pub deadline: Option<DateTime<Utc>>,
    pub assignee: Option<String>,
    pub zone: Option<String>,
    pub reporter: Option<String>,
    /// Where the console shows it (a path with the web front end's hash).
    pub console: String,
}

/// The status as a person reads it (the web front end's `statuses`).
#[must_use]
pub fn status_zh(s: Status) -> &'static str {
    match s {
        Status::Reported => "已上报",
        Status::Dispatched => "已派单",
        Status::Escalated => "已转办",
        Status::Rectified => "已整改",
        Status::Closed => "已结案",
        Status::Recurred => "回潮",
        Status::Merged => "已合并",
    }
}

/// What an event did, as a sentence without names (the web front end's `eventSentences`).
#[must_use]
pub fn event_zh(e: &Event) -> &'static str {
    let system = e.actor.is_none();
    match e.kind {
        EventKind::Created if system => "问题上报",
        EventKind::Created => "网格员上报问题",
        EventKind::Dispatched if system => "系统按责任区自动派单",
        EventKind::Dispatched => "派单给责任人",
        EventKind::Escalated if system => "超期未整改，系统自动转办",
        EventKind::Escalated => "转给片长处理",
        EventKind::Rectified => "整改完成，提交核查",
        EventKind::Rejected => "核查未通过，驳回返工",
        EventKind::Verified => "核查通过，结案",
        EventKind::Recurred => "问题回潮，重新打开",
        EventKind::Merged => "与重复上报合并",
        EventKind::Edited => "修改了问题信息",
        EventKind::Reinspected => "回头看",
        EventKind::Feedback => "上报人回访",
        EventKind::Notice => "开具整改通知",
    }
}

fn severity_zh(p: &Problem) -> &'static str {
    match p.severity {
        civmap_domain::Severity::Low => "轻微",
        civmap_domain::Severity::Medium => "一般",
        civmap_domain::Severity::High => "较重",
        civmap_domain::Severity::Critical => "严重",
    }
}

/// The problem's case number (`CM261207-0003`).
#[must_use]
pub fn case_no(p: &Problem) -> String {
    crate::reports::table::case_no(p)
}

/// The problem's place in words, possibly empty.
#[must_use]
pub fn place(p: &Problem) -> String {
    p.place.clone()
}

impl App {
    /// The id of the problem with case number `case` (or with `case` as its UUID), hot or
    /// cold.
    pub async fn problem_by_case(&self, case: &str) -> Result<Option<ProblemId>, ServiceError> {
        let Ok(id) = self.resolve_ref(case).await else {
            return Ok(None);
        };
        Ok(self.fetch_record(id).await?.map(|_| id))
    }

    /// The page of problem `id` as `actor` reads it: the staff view when the actor is staff
    /// and its scope holds the problem, the public view otherwise. `NotFound` for a problem
    /// that does not exist (or was merged away: its page is its target's).
    pub async fn problem_page(
        &self,
        actor: &Actor,
        id: ProblemId,
    ) -> Result<ProblemPage, ServiceError> {
        let p = self.fetch_problem(id).await?;
        let staff = actor.is_staff() && self.fetch_visible(&self.scope(actor), id).await?;
        let events = self.history(id).await?;
        let table = self.categories();
        let category = table.by_code(&p.category);
        let category_name = category.map_or_else(|| p.category.clone(), |c| c.name_zh.clone());
        let public_photo = self.public_photo_for(&p, &events);
        let fixed_at = (p.status == Status::Closed)
            .then(|| {
                events
                    .iter()
                    .rev()
                    .find(|e| e.kind == EventKind::Verified)
                    .map(|e| e.at)
            })
            .flatten();
        let place = place(&p);
        let (position, generalised, place, description) = if staff {
            (
                [p.location.lon(), p.location.lat()],
                false,
                place,
                p.description.clone(),
            )
        } else {
            let (pos, generalised) = match table.id(&p.category) {
                Ok(c) => public_lon_lat(&table, c, p.location.lon(), p.location.lat()),
                Err(_) => ([p.location.lon(), p.location.lat()], false),
            };
            let place = if generalised {
                generalise_place(&place)
            } else {
                place
            };
            (
                pos,
                generalised,
                place,
                mask_personal(&p.description).into_owned(),
            )
        };
        let people = if staff {
            Some(self.people().await?)
        } else {
            None
        };
        let name = |u: Option<UserId>| -> Option<String> {
            let people = people.as_ref()?;
            // The name shown to others, as the history API gives it.
            people.get(&u?).map(|p| {
                if p.display_name.is_empty() {
                    p.name.clone()
                } else {
                    p.display_name.clone()
                }
            })
        };
        let history = events.iter().map(|e| page_event(e, staff, &name)).collect();
        let staff = staff.then(|| StaffDetails {
            deadline: p.deadline,
            assignee: name(p.assignee),
            zone: p
                .zone
                .and_then(|z| self.zones().map.get(&z).map(|z| z.name.clone())),
            reporter: name(p.reporter),
            console: console_link(actor, position),
        });
        Ok(ProblemPage {
            id,
            case_no: case_no(&p),
            category: category_name,
            place,
            position,
            generalised,
            status: p.status,
            severity: severity_zh(&p),
            description,
            reported_at: p.reported_at,
            fixed_at,
            history,
            public_photo,
            staff,
        })
    }

    /// The roads of the basemap within [`PAGE_MAP_HALF_M`] of `at`: what a page's small map
    /// draws under its marker.
    #[must_use]
    pub fn roads_near(&self, at: [f64; 2]) -> Vec<LineString<f64>> {
        let [dlon, dlat] = half_span_deg(at[1]);
        let basemap = self.tiles().basemap();
        let envelope =
            AABB::from_corners([at[0] - dlon, at[1] - dlat], [at[0] + dlon, at[1] + dlat]);
        basemap
            .tree
            .locate_in_envelope_intersecting(&envelope)
            .filter_map(|g| basemap.features.get(g.data as usize))
            .filter(|f| f.layer == "roads")
            .flat_map(|f| match &f.geometry {
                geo::Geometry::LineString(l) => vec![l.clone()],
                geo::Geometry::MultiLineString(m) => m.0.clone(),
                _ => Vec::new(),
            })
            .collect()
    }
}

/// One history line; names, notes and photos only for `staff`.
fn page_event(
    e: &Event,
    staff: bool,
    name: &impl Fn(Option<UserId>) -> Option<String>,
) -> PageEvent {
    let assignee = e
        .data
        .get("assignee")
        .and_then(serde_json::Value::as_str)
        .and_then(|s| s.parse().ok())
        .map(UserId);
    PageEvent {
        at: e.at,
        kind: e.kind,
        text: event_zh(e),
        actor: name(e.actor),
        assignee: name(assignee),
        note: if staff { e.note.clone() } else { String::new() },
        photos: if staff { e.photos.clone() } else { Vec::new() },
    }
}

/// [`PAGE_MAP_HALF_M`] in degrees of longitude and latitude at `lat`.
#[must_use]
pub fn half_span_deg(lat: f64) -> [f64; 2] {
    let dlat = PAGE_MAP_HALF_M / civmap_index::METRES_PER_DEGREE;
    let dlon = dlat / lat.to_radians().cos().max(1e-6);
    [dlon, dlat]
}

/// The console of `actor`'s role, opened at `at` (the street office's table and map, or a
/// chief's task list).
fn console_link(actor: &Actor, at: [f64; 2]) -> String {
    let view = if MANAGERS.contains(&actor.role) {
        "office"
    } else {
        "chief"
    };
    format!("/#/{view}?map=18/{:.5}/{:.5}", at[1], at[0])
}
