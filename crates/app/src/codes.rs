//! Point codes (点位码): the cards a street office prints and posts at its point and road zones
//! (a school gate, a stretch of road). Scanned, a card opens the report page at that zone, its
//! position filled in, so a resident or a grid worker in a stairwell reports "here" without
//! finding the place on a map. A card carries no secret: the zone's id and a position inside it,
//! both public on the map already.

use civmap_domain::{ZoneId, ZoneKind};
use geo::InteriorPoint;

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;
use crate::scope::in_street;

/// The kinds of zone that get codes when none are asked for: the zones a chief stands in.
pub const DEFAULT_CODE_KINDS: [ZoneKind; 2] = [ZoneKind::Point, ZoneKind::Road];

/// Most cards one sheet prints: a street has tens to a few hundred point and road zones; a
/// district-wide request is refused rather than rendered as thousands of QR codes.
pub const MAX_CODES: usize = 2_000;

/// One card of the sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeCard {
    pub zone: ZoneId,
    pub kind: ZoneKind,
    pub name: String,
    /// The zone's code (the office's own, or the grid's), when it has one.
    pub code: Option<String>,
    /// A position inside the zone (lon, lat): where a report made from the card is placed.
    pub at: (f64, f64),
    /// Who answers for the zone: the shown names of its assigned chiefs, sorted.
    pub chiefs: Vec<String>,
}

impl App {
    /// The cards of the zones of `kinds` (both point and road zones when empty) that a manager
    /// may print: every zone for admin, those of its street for a street office with a street
    /// code. Point zones first, then roads, each by name.
    pub fn point_codes(
        &self,
        actor: &Actor,
        kinds: &[ZoneKind],
    ) -> Result<Vec<CodeCard>, ServiceError> {
        let street = self.managed_street(actor, "print point codes")?;
        let kinds: &[ZoneKind] = if kinds.is_empty() {
            &DEFAULT_CODE_KINDS
        } else {
            kinds
        };
        let assignments = self.assignments();
        let accounts = self.accounts();
        let zones = self.zones();
        let mut cards: Vec<CodeCard> = zones
            .map
            .values()
            .filter(|z| kinds.contains(&z.kind))
            .filter(|z| {
                street
                    .as_deref()
                    .is_none_or(|s| z.code.as_deref().is_some_and(|c| in_street(c, s)))
            })
            .filter_map(|z| {
                // The interior point lies inside the polygon, unlike a road buffer's centroid.
                let p = z.geometry.interior_point()?;
                let mut chiefs: Vec<String> = assignments
                    .iter()
                    .filter(|(zone, _)| *zone == z.id)
                    .filter_map(|(_, user)| accounts.name_of(*user))
                    .collect();
                chiefs.sort();
                chiefs.dedup();
                Some(CodeCard {
                    zone: z.id,
                    kind: z.kind,
                    name: z.name.clone(),
                    code: z.code.clone(),
                    at: (p.x(), p.y()),
                    chiefs,
                })
            })
            .collect();
        if cards.len() > MAX_CODES {
            return Err(ServiceError::malformed(
                "kind",
                format!(
                    "{} zones is more than {MAX_CODES} cards; ask for one kind at a time",
                    cards.len()
                ),
            ));
        }
        let rank = |k: ZoneKind| kinds.iter().position(|x| *x == k).unwrap_or(usize::MAX);
        cards.sort_by(|a, b| {
            rank(a.kind)
                .cmp(&rank(b.kind))
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(cards)
    }
}
