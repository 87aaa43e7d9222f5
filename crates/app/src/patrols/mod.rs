//! Patrols (巡查): a chief starts a patrol, its phone sends the recorded track in chunks, the
//! chief marks zones "checked, clean" (已检查，无问题) on the way, and ends the patrol. A
//! check-in may also come without a patrol (from a point code). Patrols live in SQL only
//! (`civmap-store::patrols`, migration 10) and are read per request: a street makes tens a day.
//! How far a track went inside each zone is `length`; the office's weekly figures and the
//! zones nobody visited are `coverage`.
//!
//! | who | may |
//! |---|---|
//! | area-, road-, point-chief | start, append to and end its own patrols; check in its zones; read its own patrols |
//! | street office | read the patrols of its street (all, without a street code); check in a zone of its street |
//! | admin | everything |
//! | reporters, the public | nothing: tracks are staff-only (403; 401 when not signed in) |

pub mod coverage;
pub mod length;

use chrono::{DateTime, Utc};
use civmap_domain::patrol::{
    CheckIn, CheckInId, MAX_CHECK_IN_NOTE_CHARS, Patrol, PatrolId, TrackPoint, check_not_future,
    validate_track,
};
use civmap_domain::{LonLat, Role, UserId, ZoneId};
use geo::{InteriorPoint, Intersects};

use crate::actor::{Actor, MANAGERS};
use crate::app::App;
use crate::error::ServiceError;
use crate::scope::in_street;
use crate::setup::CHIEF_ROLES;
use crate::time::now_ms;

/// How old a check-in or a patrol start sent later may be: a phone without signal keeps them
/// for days at most; a month covers a long absence and still refuses a wrong clock of years.
pub const MAX_LATE_DAYS: i64 = 30;

/// Who may record patrols: the chiefs (the street office reads them).
const PATROLLERS: &[Role] = CHIEF_ROLES;

/// A check-in as the phone sends it.
#[derive(Debug, Clone, Default)]
pub struct NewCheckIn {
    /// The phone's id for it (an item of its outbox), or a new one.
    pub id: Option<CheckInId>,
    pub zone: ZoneId,
    pub patrol: Option<PatrolId>,
    /// When it was made on site (default: now).
    pub at: Option<DateTime<Utc>>,
    pub location: Option<LonLat>,
    pub photos: Vec<String>,
    pub note: String,
}

/// `Invalid` naming `field` unless `at` is at most [`MAX_LATE_DAYS`] old and not in the future.
fn check_time(
    field: &'static str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    check_not_future(field, at, now)?;
    if at < now - chrono::Duration::days(MAX_LATE_DAYS) {
        return Err(ServiceError::invalid(
            field,
            format!("{at} is more than {MAX_LATE_DAYS} days ago"),
        ));
    }
    Ok(())
}

impl App {
    /// The street a caller reads patrols of: `Ok(None)` for every street (admin, a street
    /// office without a code); `Forbidden` for chiefs (they read their own) and the public.
    fn patrol_street(&self, actor: &Actor) -> Result<Option<String>, ServiceError> {
        self.managed_street(actor, "read patrols")
    }

    /// Whether `actor` may read patrol `p`: its chief, or a manager of its street.
    fn sees_patrol(&self, actor: &Actor, p: &Patrol) -> Result<bool, ServiceError> {
        if PATROLLERS.contains(&actor.role) {
            return Ok(actor.user == Some(p.chief));
        }
        Ok(self
            .patrol_street(actor)?
            .is_none_or(|s| in_street(&p.street, &s)))
    }

    /// The patrols overlapping `[from, to)` that `actor` may read, by start.
    pub async fn patrols(
        &self,
        actor: &Actor,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Patrol>, ServiceError> {
        if !PATROLLERS.contains(&actor.role) {
            self.patrol_street(actor)?;
        }
        let mut out = Vec::new();
        for p in self.store().patrols_between(from, to).await? {
            if self.sees_patrol(actor, &p)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// One patrol with its track; `NotFound` when it does not exist or the caller may not read
    /// it (the same answer, so ids tell nothing). The public gets `Forbidden` first.
    pub async fn patrol(&self, actor: &Actor, id: PatrolId) -> Result<Patrol, ServiceError> {
        if !PATROLLERS.contains(&actor.role) {
            self.patrol_street(actor)?;
        }
        match self.store().get_patrol(id).await? {
            Some(p) if self.sees_patrol(actor, &p)? => Ok(p),
            _ => Err(ServiceError::NotFound(format!("no patrol {id}"))),
        }
    }

    /// A chief's own patrol, for a write; `NotFound` for another's.
    async fn own_patrol(&self, actor: &Actor, id: PatrolId) -> Result<Patrol, ServiceError> {
        actor.require(PATROLLERS, "record patrols")?;
        match self.store().get_patrol(id).await? {
            Some(p) if actor.user == Some(p.chief) => Ok(p),
            _ => Err(ServiceError::NotFound(format!("no patrol {id}"))),
        }
    }

    /// Starts a patrol of the calling chief, under the phone's id when it made one (a patrol
    /// started without signal), at `started_at` (default now), with the positions recorded so
    /// far. `Conflict` when the id is taken.
    pub async fn start_patrol(
        &self,
        actor: &Actor,
        id: Option<PatrolId>,
        started_at: Option<DateTime<Utc>>,
        track: Vec<TrackPoint>,
    ) -> Result<Patrol, ServiceError> {
        actor.require(PATROLLERS, "record patrols")?;
        let chief = actor
            .user
            .ok_or_else(|| ServiceError::Forbidden("a patrol is an account's".to_owned()))?;
        let now = now_ms();
        let started_at = started_at.unwrap_or(now);
        check_time("started_at", started_at, now)?;
        validate_track(&track, 0, now)?;
        let id = id.unwrap_or_default();
        if self.store().get_patrol(id).await?.is_some() {
            return Err(ServiceError::Conflict {
                message: format!("patrol {id} exists"),
                current_version: None,
            });
        }
        let p = Patrol {
            id,
            chief,
            street: self.accounts().street_of(chief).unwrap_or_default(),
            started_at,
            ended_at: None,
            track,
        };
        self.store().insert_patrol(&p).await?;
        Ok(p)
    }

    /// Appends positions to the caller's patrol under way.
    pub async fn append_patrol(
        &self,
        actor: &Actor,
        id: PatrolId,
        points: Vec<TrackPoint>,
    ) -> Result<Patrol, ServiceError> {
        self.write_patrol(actor, id, points, None).await
    }

    /// Ends the caller's patrol (结束巡查) at `at` (default now), with its last positions.
    pub async fn end_patrol(
        &self,
        actor: &Actor,
        id: PatrolId,
        points: Vec<TrackPoint>,
        at: Option<DateTime<Utc>>,
    ) -> Result<Patrol, ServiceError> {
        self.write_patrol(actor, id, points, Some(at.unwrap_or_else(now_ms)))
            .await
    }

    /// Appends positions and, with `end`, ends the patrol then. An ended patrol takes nothing
    /// more (`Conflict`): its last positions come with the end itself.
    async fn write_patrol(
        &self,
        actor: &Actor,
        id: PatrolId,
        points: Vec<TrackPoint>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Patrol, ServiceError> {
        let p = self.own_patrol(actor, id).await?;
        let now = now_ms();
        if p.ended_at.is_some() {
            return Err(ServiceError::Conflict {
                message: format!("patrol {id} has ended"),
                current_version: None,
            });
        }
        validate_track(&points, p.track.len(), now)?;
        if let (Some(last), Some(first)) = (p.track.last(), points.first())
            && first.at < last.at
        {
            return Err(ServiceError::invalid(
                "points",
                "positions go back before the ones stored",
            ));
        }
        if let Some(at) = end {
            check_time("ended_at", at, now)?;
            if at < p.started_at {
                return Err(ServiceError::invalid(
                    "ended_at",
                    "before the patrol started",
                ));
            }
        }
        self.store().append_patrol(id, &points, end).await?;
        self.store()
            .get_patrol(id)
            .await?
            .ok_or_else(|| ServiceError::bug(format!("patrol {id} vanished after a write")))
    }

    /// Whether `zone` is one `actor` checks: a chief's assigned zone or a zone inside one (an
    /// area-chief's points and roads); any zone of a manager's street.
    fn checks_zone(&self, actor: &Actor, zone: ZoneId) -> Result<bool, ServiceError> {
        let zones = self.zones();
        let Some(z) = zones.map.get(&zone) else {
            return Ok(false);
        };
        if MANAGERS.contains(&actor.role) {
            let street = self.managed_street(actor, "check in")?;
            return Ok(street.is_none_or(|s| z.code.as_deref().is_some_and(|c| in_street(c, &s))));
        }
        let Some(user) = actor.user else {
            return Ok(false);
        };
        let mine = self.zones_of(user);
        if mine.contains(&zone) {
            return Ok(true);
        }
        let Some(inside) = z.geometry.interior_point() else {
            return Ok(false);
        };
        Ok(mine.iter().any(|m| {
            zones
                .map
                .get(m)
                .is_some_and(|mz| mz.geometry.intersects(&inside))
        }))
    }

    /// Marks a zone "checked, clean" (已检查，无问题): a chief for one of its zones (during one
    /// of its patrols or without one), a manager for a zone of its street. `NotFound` for a
    /// zone the caller does not check.
    pub async fn check_in(&self, actor: &Actor, new: NewCheckIn) -> Result<CheckIn, ServiceError> {
        let mut roles = PATROLLERS.to_vec();
        roles.extend_from_slice(MANAGERS);
        actor.require(&roles, "check zones in")?;
        let chief = actor
            .user
            .ok_or_else(|| ServiceError::Forbidden("a check-in is an account's".to_owned()))?;
        if !self.checks_zone(actor, new.zone)? {
            return Err(ServiceError::NotFound(format!(
                "no zone {} of yours",
                new.zone
            )));
        }
        if let Some(p) = new.patrol {
            self.own_patrol(actor, p).await?;
        }
        let now = now_ms();
        let at = new.at.unwrap_or(now);
        check_time("at", at, now)?;
        let note =
            civmap_domain::error::validate_text("note", &new.note, MAX_CHECK_IN_NOTE_CHARS, false)?;
        self.check_photos(&new.photos).await?;
        let c = CheckIn {
            id: new.id.unwrap_or_default(),
            zone: new.zone,
            patrol: new.patrol,
            chief,
            at,
            location: new.location.map(|l| (l.lon(), l.lat())),
            photos: new.photos,
            note,
        };
        self.store().insert_check_in(&c).await?;
        Ok(c)
    }

    /// The check-ins of `[from, to)` that `actor` may read: a chief's own, a manager's street's.
    pub async fn check_ins(
        &self,
        actor: &Actor,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CheckIn>, ServiceError> {
        let all = self.store().check_ins_between(from, to).await?;
        if PATROLLERS.contains(&actor.role) {
            return Ok(all
                .into_iter()
                .filter(|c| actor.user == Some(c.chief))
                .collect());
        }
        let street = self.patrol_street(actor)?;
        let zones = self.zones();
        Ok(all
            .into_iter()
            .filter(|c| {
                street.as_deref().is_none_or(|s| {
                    zones
                        .map
                        .get(&c.zone)
                        .and_then(|z| z.code.as_deref())
                        .is_some_and(|code| in_street(code, s))
                })
            })
            .collect())
    }

    /// The user's shown name (for tables), or its id.
    #[must_use]
    pub fn shown_name(&self, user: UserId) -> String {
        self.accounts()
            .name_of(user)
            .unwrap_or_else(|| user.to_string())
    }
}
