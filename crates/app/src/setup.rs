//! Setting up a street from the console: the writes of the street office (or admin) on zones,
//! points of interest and assignments, each within the manager's street, and the chiefs a
//! manager may assign.
//!
//! | who | may change |
//! |---|---|
//! | admin, a street office without a street code | every zone, every chief |
//! | a street office of street `S` | the zones coded `S` or `S-…` ([`in_street`]; a zone it makes without a code gets `S`), and the chiefs whose street is `S` |
//!
//! Outside its street a street office gets the same `NotFound` as for an id that does not
//! exist (as for problems, [`crate::scope`]). A point of interest added here gets its
//! three-surroundings zone at once ([`App::add_poi`]), with the radius of `[surroundings]`.

use civmap_domain::{Poi, Role, UserId, Zone, ZoneId, ZoneKind};
use civmap_geodata::extract::PoiFeature;
use civmap_geodata::zones::{SurroundingsRadii, buffer_m, surroundings_zone};
use civmap_index::ZoneIndex;
use geo::{Geometry, MultiPolygon};

use crate::actor::{Actor, MANAGERS};
use crate::app::App;
use crate::error::ServiceError;
use crate::scope::in_street;

/// The widest buffer of a drawn road stretch or point zone, metres: a road-chief's stretch is
/// the road with its pavements, a point zone a gate's surroundings; anything wider is an area,
/// drawn as a polygon.
pub const MAX_ZONE_BUFFER_M: f64 = 500.0;

/// A drawn line (a road stretch, `m` each side) or point (a circle of radius `m`) as a zone
/// geometry. `Invalid` naming `buffer_m` for a width outside (0, [`MAX_ZONE_BUFFER_M`]].
pub fn buffered(g: &Geometry<f64>, m: f64) -> Result<MultiPolygon<f64>, ServiceError> {
    if !(m.is_finite() && m > 0.0 && m <= MAX_ZONE_BUFFER_M) {
        return Err(ServiceError::invalid(
            "buffer_m",
            format!("{m} is not a width in metres above 0 and at most {MAX_ZONE_BUFFER_M}"),
        ));
    }
    let mp = buffer_m(g, m);
    if mp.0.is_empty() {
        return Err(ServiceError::invalid(
            "geometry",
            "the buffered geometry is empty",
        ));
    }
    Ok(mp)
}

/// The roles a zone is assigned to: the chiefs (片长, 路长, 点长).
pub const CHIEF_ROLES: &[Role] = &[Role::AreaChief, Role::RoadChief, Role::PointChief];

/// A chief as a manager picks one: by name, with the zones it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chief {
    pub id: UserId,
    /// Login name.
    pub name: String,
    /// The name shown to others (may be empty).
    pub display_name: String,
    pub role: Role,
    /// The street code of the account, if it has one.
    pub street: Option<String>,
    /// The zones assigned to the chief, sorted.
    pub zones: Vec<ZoneId>,
}

/// A point of interest as stored, with its three-surroundings zone.
#[derive(Debug, Clone)]
pub struct PoiWithZone {
    pub poi: Poi,
    pub zone: Zone,
}

impl App {
    /// The street a manager is limited to: `Some(code)` for a street office with a street
    /// code, `None` for admin and an uncoded street office. `Forbidden`/`Unauthorized` for
    /// other roles (`what` completes "... may not {what}").
    pub fn managed_street(
        &self,
        actor: &Actor,
        what: &str,
    ) -> Result<Option<String>, ServiceError> {
        actor.require(MANAGERS, what)?;
        Ok(match (actor.role, actor.user) {
            (Role::StreetOffice, Some(u)) => self.accounts().street_of(u),
            _ => None,
        })
    }

    /// The chief accounts a manager may assign, sorted by shown name: every enabled chief for
    /// admin, those of its street for a street office with a street code.
    pub async fn chiefs(&self, actor: &Actor) -> Result<Vec<Chief>, ServiceError> {
        let street = self.managed_street(actor, "list chiefs")?;
        let assignments = self.assignments();
        let mut out: Vec<Chief> = self
            .store()
            .list_users()
            .await?
            .into_iter()
            .filter(|u| !u.disabled && CHIEF_ROLES.contains(&u.role))
            .filter(|u| {
                street
                    .as_deref()
                    .is_none_or(|s| u.street.as_deref().is_some_and(|c| in_street(c, s)))
            })
            .map(|u| {
                let mut zones: Vec<ZoneId> = assignments
                    .iter()
                    .filter(|(_, who)| *who == u.id)
                    .map(|(z, _)| *z)
                    .collect();
                zones.sort_unstable();
                zones.dedup();
                Chief {
                    id: u.id,
                    name: u.name,
                    display_name: u.display_name,
                    role: u.role,
                    street: u.street,
                    zones,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            let shown = |c: &Chief| {
                if c.display_name.is_empty() {
                    c.name.clone()
                } else {
                    c.display_name.clone()
                }
            };
            shown(a).cmp(&shown(b)).then_with(|| a.name.cmp(&b.name))
        });
        Ok(out)
    }

    /// `Ok` when zone `id` exists and is inside `street` (any zone without a street); else
    /// the `NotFound` of a zone that does not exist.
    fn check_zone_in(&self, id: ZoneId, street: Option<&str>) -> Result<(), ServiceError> {
        let zones = self.zones();
        let ok = zones.map.get(&id).is_some_and(|z| {
            street.is_none_or(|s| z.code.as_deref().is_some_and(|c| in_street(c, s)))
        });
        if ok {
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!("no zone {id}")))
        }
    }

    /// Stores a zone (a new one, or a replacement of one the manager may change). A street
    /// office of street `S` gives a zone without a code the code `S`, and may not code it
    /// outside `S`.
    pub async fn put_zone_as(&self, actor: &Actor, mut zone: Zone) -> Result<(), ServiceError> {
        let street = self.managed_street(actor, "manage zones")?;
        if let Some(s) = street.as_deref() {
            if self.zones().map.contains_key(&zone.id) {
                self.check_zone_in(zone.id, Some(s))?;
            }
            match zone.code.as_deref() {
                None => zone.code = Some(s.to_owned()),
                Some(c) if in_street(c, s) => {}
                Some(_) => {
                    return Err(ServiceError::invalid(
                        "code",
                        format!("a zone of street {s} is coded {s} or {s}-…"),
                    ));
                }
            }
        }
        self.put_zone(zone).await
    }

    /// Deletes a zone the manager may change.
    pub async fn delete_zone_as(&self, actor: &Actor, id: ZoneId) -> Result<(), ServiceError> {
        let street = self.managed_street(actor, "manage zones")?;
        self.check_zone_in(id, street.as_deref())?;
        self.delete_zone(id).await
    }

    /// Assigns a chief to a zone the manager may change. A street office of a street assigns
    /// only the chiefs of [`App::chiefs`] (`NotFound` for others, as for an unknown account).
    pub async fn assign_as(
        &self,
        actor: &Actor,
        zone: ZoneId,
        user: UserId,
    ) -> Result<(), ServiceError> {
        let street = self.managed_street(actor, "assign chiefs")?;
        self.check_zone_in(zone, street.as_deref())?;
        if street.is_some() && !self.chiefs(actor).await?.iter().any(|c| c.id == user) {
            return Err(ServiceError::NotFound(format!(
                "no chief {user} in the street"
            )));
        }
        self.assign(zone, user).await
    }

    /// Removes a chief from a zone the manager may change.
    pub async fn unassign_as(
        &self,
        actor: &Actor,
        zone: ZoneId,
        user: UserId,
    ) -> Result<(), ServiceError> {
        let street = self.managed_street(actor, "assign chiefs")?;
        self.check_zone_in(zone, street.as_deref())?;
        self.unassign(zone, user).await
    }

    /// Stores a school, park or wet market (new, or replacing one by id) and at once its
    /// three-surroundings zone: its point or outline buffered by the configured radius
    /// (`[surroundings]`). A replaced POI keeps its zone's id, so the zone's assignments stay.
    /// The zone is coded with the street of a street office that has one.
    pub async fn add_poi(&self, actor: &Actor, poi: Poi) -> Result<PoiWithZone, ServiceError> {
        let street = self.managed_street(actor, "manage points of interest")?;
        let existing = self
            .zones()
            .map
            .values()
            .find(|z| z.kind == ZoneKind::Surroundings && z.poi == Some(poi.id))
            .map(|z| (z.id, z.code.clone()));
        if let (Some((id, _)), Some(s)) = (&existing, street.as_deref()) {
            self.check_zone_in(*id, Some(s))?;
        }
        let mut zone = self.surroundings_of(&poi)?;
        if let Some((id, code)) = existing {
            zone.id = id;
            zone.code = code;
        }
        if zone.code.is_none() {
            zone.code = street;
        }
        // Both are checked before either is stored: a POI whose zone cannot be made is refused.
        ZoneIndex::new()
            .insert(zone.id, zone.kind, zone.geometry.clone())
            .map_err(|e| ServiceError::invalid("geometry", e))?;
        self.put_poi(poi.clone()).await?;
        self.put_zone(zone.clone()).await?;
        Ok(PoiWithZone { poi, zone })
    }

    /// The three-surroundings zone of a point of interest with the configured radius.
    pub fn surroundings_of(&self, poi: &Poi) -> Result<Zone, ServiceError> {
        let r = self.config().surroundings;
        let radii = SurroundingsRadii {
            school_m: r.school_m,
            park_m: r.park_m,
            market_m: r.market_m,
        };
        let feature = PoiFeature {
            kind: poi.kind,
            name: Some(poi.name.clone()),
            geometry: poi.geometry.clone(),
            external_id: poi
                .external_id
                .clone()
                .unwrap_or_else(|| format!("poi:{}", poi.id)),
        };
        let shape = surroundings_zone(&feature, &radii)
            .map_err(|e| ServiceError::invalid("geometry", e))?;
        Ok(shape.into_zone(Some(poi.id)))
    }
}
