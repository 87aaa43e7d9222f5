//! Zone-scoped authorization: which problems a caller may see and change.
//!
//! | role | scope |
//! |---|---|
//! | admin | everything |
//! | street office | its street: the problems inside the zones of the street ([`in_street`]: `code` equal to the user's street code or `{street}-…`, as the management grid is coded); every problem when the user has no street or no zone carries its code |
//! | area-chief | the problems inside its assigned (area) zones, which includes every zone inside them |
//! | road-chief, point-chief | the problems inside its assigned zones |
//! | reporter, public | the public map: every problem, without personal data, indoor ones generalised |
//!
//! A chief's problem is one whose position is inside one of its zones, or that was dispatched
//! through one of its zones, or that was dispatched to it (so a problem handed to a chief by
//! name stays workable by that chief).
//!
//! Outside its scope a caller gets **404 Not Found**, with the same message as for an id that
//! does not exist, on every API (REST, OGC API Features, Open311): guessing ids tells nothing
//! about which exist. 403 is kept for what a role may never do whatever the id (a road-chief
//! verifying, a reporter dispatching); that check comes first and does not look at the id.

use std::collections::HashSet;

use civmap_domain::{LonLat, ProblemId, Role, UserId, ZoneId};
use civmap_index::Filter;

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;
use crate::memory::record::{Record, interned};
use crate::memory::{Problems, Zones};
use crate::spatial::{self, Spatial};

/// Whether a zone coded `code` belongs to the street coded `street`: the code is the street's
/// own, or the street's followed by `-` (the management grid's cells are
/// `{street}-R001C001`). Street `S1` does not own `S10-…`. The one rule for street scope and
/// for the coverage check.
#[must_use]
pub fn in_street(code: &str, street: &str) -> bool {
    !street.is_empty()
        && code
            .strip_prefix(street)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
}

/// Above this many zones, a position is tested with one lookup in the zone index instead of
/// one polygon test per zone.
const FEW_ZONES: usize = 16;

/// What a caller may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every problem, with personal data (admin, a street office without a coded street, the
    /// system).
    All,
    /// The public map: every problem, without personal data (public, reporters). Reporters may
    /// also create reports.
    Public,
    /// The problems of some zones (chiefs, a street office with a coded street).
    Zones(ZoneScope),
}

/// The problems of a set of zones, and those dispatched to one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneScope {
    /// The user whose dispatched problems are in scope too.
    pub user: Option<UserId>,
    /// The zones, sorted.
    pub zones: Vec<ZoneId>,
    user_key: Option<u32>,
    zone_keys: HashSet<u32>,
}

impl ZoneScope {
    /// The problems inside `zones`, dispatched through them, or dispatched to `user`.
    #[must_use]
    pub fn new(user: Option<UserId>, mut zones: Vec<ZoneId>) -> Self {
        zones.sort_unstable();
        zones.dedup();
        Self {
            user_key: user.and_then(|u| interned(u.0)),
            zone_keys: zones.iter().filter_map(|z| interned(z.0)).collect(),
            user,
            zones,
        }
    }

    /// Whether the record was dispatched to the user or through one of the zones (no geometry).
    fn claims(&self, r: &Record) -> bool {
        self.user_key.is_some_and(|k| r.assignee_key() == k)
            || (r.zone_key() != 0 && self.zone_keys.contains(&r.zone_key()))
    }

    /// Whether the position is inside one of the zones.
    fn holds(&self, zones: &Zones, lon: f64, lat: f64) -> bool {
        let Ok(p) = LonLat::new(lon, lat) else {
            return false;
        };
        if self.zones.len() <= FEW_ZONES {
            self.zones
                .iter()
                .any(|z| zones.index.contains_point(*z, p).unwrap_or(false))
        } else {
            zones
                .index
                .zones_at(p)
                .iter()
                .any(|h| self.zones.binary_search(&h.id).is_ok())
        }
    }
}

impl Scope {
    /// The scope of a role acting as `user`. `assigned` are the user's zones; `street_zones`
    /// the zones carrying the user's street code (street offices only).
    #[must_use]
    pub fn of(
        role: Role,
        user: Option<UserId>,
        assigned: Vec<ZoneId>,
        street_zones: Vec<ZoneId>,
    ) -> Scope {
        match role {
            Role::Admin => Scope::All,
            Role::StreetOffice if street_zones.is_empty() => Scope::All,
            Role::StreetOffice => Scope::Zones(ZoneScope::new(None, street_zones)),
            Role::AreaChief | Role::RoadChief | Role::PointChief => {
                Scope::Zones(ZoneScope::new(user, assigned))
            }
            Role::Reporter | Role::Public => Scope::Public,
        }
    }

    /// Whether this scope sees personal data (reporter, assignee) at all.
    #[must_use]
    pub fn is_public(&self) -> bool {
        matches!(self, Scope::Public)
    }

    /// Whether every problem is visible (no per-problem test needed).
    #[must_use]
    pub fn sees_everything(&self) -> bool {
        matches!(self, Scope::All | Scope::Public)
    }

    /// Whether the problem `r` is inside the scope. Take the zones guard before the problems
    /// guard, as every reader does.
    #[must_use]
    pub fn contains(&self, zones: &Zones, r: &Record) -> bool {
        match self {
            Scope::All | Scope::Public => true,
            Scope::Zones(z) => z.claims(r) || z.holds(zones, r.lon, r.lat),
        }
    }

    /// The ids of the problems in scope that pass `filter`, sorted; `None` when the scope
    /// holds every problem. Costs one zone query per zone and one pass over the records
    /// (integer comparisons only) for the problems dispatched to the user or through a zone.
    #[must_use]
    pub fn ids(
        &self,
        problems: &Problems,
        zones: &Zones,
        filter: &Filter,
    ) -> Option<Vec<ProblemId>> {
        let Scope::Zones(z) = self else {
            return None;
        };
        let mut ids = Vec::new();
        for zone in &z.zones {
            if zones.map.contains_key(zone)
                && let Ok(found) =
                    spatial::query(&problems.index, &zones.index, &Spatial::Zone(*zone), filter)
            {
                ids.extend(found);
            }
        }
        if z.user_key.is_some() || !z.zone_keys.is_empty() {
            for (id, r) in problems.map.iter() {
                if z.claims(r) && spatial::record_matches(filter, *id, r) {
                    ids.push(*id);
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Some(ids)
    }
}

impl App {
    /// The zones assigned to `user`, sorted.
    #[must_use]
    pub fn zones_of(&self, user: UserId) -> Vec<ZoneId> {
        let mut z: Vec<ZoneId> = self
            .inner
            .assignments
            .read()
            .iter()
            .filter(|(_, u)| *u == user)
            .map(|(z, _)| *z)
            .collect();
        z.sort_unstable();
        z.dedup();
        z
    }

    /// What `actor` may see and change.
    #[must_use]
    pub fn scope(&self, actor: &Actor) -> Scope {
        let assigned = actor.user.map(|u| self.zones_of(u)).unwrap_or_default();
        let street_zones = match (actor.role, actor.user) {
            (Role::StreetOffice, Some(u)) => self
                .inner
                .accounts
                .street_of(u)
                .map(|street| self.street_zones(&street))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        Scope::of(actor.role, actor.user, assigned, street_zones)
    }

    /// The zones of a street ([`in_street`]).
    #[must_use]
    pub fn street_zones(&self, street: &str) -> Vec<ZoneId> {
        self.inner
            .zones
            .read()
            .map
            .values()
            .filter(|z| z.code.as_deref().is_some_and(|c| in_street(c, street)))
            .map(|z| z.id)
            .collect()
    }

    /// Whether the problem `id` exists and is inside `scope`.
    #[must_use]
    pub fn visible(&self, scope: &Scope, id: ProblemId) -> bool {
        let zones = self.inner.zones.read();
        let g = self.inner.problems.read();
        g.map.get(&id).is_some_and(|r| scope.contains(&zones, r))
    }

    /// `Ok` when the problem exists and is inside `scope`; otherwise the same `NotFound` as
    /// for an id that does not exist, so guessing ids tells nothing.
    pub fn check_visible(&self, scope: &Scope, id: ProblemId) -> Result<(), ServiceError> {
        if self.visible(scope, id) {
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!("no problem {id}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_street_owns_its_code_and_its_cells_only() {
        assert!(in_street("310110009", "310110009"));
        assert!(in_street("310110009-R001C001", "310110009"));
        assert!(!in_street("3101100090-R001C001", "310110009"));
        assert!(!in_street("S10-R001C001", "S1"));
        assert!(in_street("S1-R001C001", "S1"));
        assert!(!in_street("S1", ""));
        assert!(!in_street("310110", "310110009"));
    }

    #[test]
    fn each_role_has_its_scope() {
        let user = Some(UserId::new());
        let zone = ZoneId::new();
        assert_eq!(Scope::of(Role::Admin, user, vec![zone], vec![]), Scope::All);
        assert_eq!(
            Scope::of(Role::StreetOffice, user, vec![], vec![]),
            Scope::All,
            "a street office without a coded street sees everything"
        );
        let Scope::Zones(z) = Scope::of(Role::StreetOffice, user, vec![], vec![zone]) else {
            panic!("a street office with a street has a zone scope");
        };
        assert_eq!((z.user, z.zones), (None, vec![zone]));
        for chief in [Role::AreaChief, Role::RoadChief, Role::PointChief] {
            let Scope::Zones(z) = Scope::of(chief, user, vec![zone, zone], vec![]) else {
                panic!("{chief} has a zone scope");
            };
            assert_eq!((z.user, z.zones), (user, vec![zone]), "{chief}");
        }
        for public in [Role::Reporter, Role::Public] {
            let s = Scope::of(public, user, vec![zone], vec![zone]);
            assert!(s.is_public() && s.sees_everything(), "{public}");
        }
    }
}
