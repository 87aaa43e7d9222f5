//! A zone's rectification ledger (整改台账): every event of every problem inside the zone that
//! the caller may see, oldest first, with the problem's place and the actor's name; the whole
//! history, or the events of a period (a clerk files a year's or three years' ledger). Cold
//! problems (closed before the hot window) are read from the database (`crate::cold`), only
//! those whose row changed within the period: a ledger of three years does not read ten.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use civmap_domain::{Event, ProblemId, Status, ZoneId};
use civmap_index::Filter;
use civmap_store::ColdQuery;

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;
use crate::memory::record::Record;
use crate::spatial::Spatial;
use crate::time::{check_order, from_ms, to_ms};

/// One line of a ledger: an event and the problem it happened to.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerLine {
    pub problem: ProblemId,
    pub category: String,
    pub category_zh: String,
    pub lon: f64,
    pub lat: f64,
    pub reported_at: DateTime<Utc>,
    pub status_now: Status,
    pub event: Event,
    /// The actor's login name; `None` for system steps.
    pub actor_name: Option<String>,
}

/// A zone's ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    pub zone: ZoneId,
    pub zone_name: String,
    pub period: LedgerPeriod,
    pub lines: Vec<LedgerLine>,
}

/// Which events a ledger holds: those at or after `from` and before `to`; an open end reaches
/// the first or the latest event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerPeriod {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl LedgerPeriod {
    /// `Invalid` naming `to` when both ends are given and `to` is not after `from`.
    pub fn new(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Self, ServiceError> {
        if let (Some(f), Some(t)) = (from, to) {
            check_order("to", f, t)?;
            if f == t {
                return Err(ServiceError::invalid("to", "the period is empty"));
            }
        }
        Ok(Self { from, to })
    }

    /// Whether a problem reported at `reported_ms` whose row last changed at `updated_ms` can
    /// have an event in the period (every step changes the row; none precedes the report).
    fn may_hold(self, reported_ms: i64, updated_ms: i64) -> bool {
        self.to.is_none_or(|t| reported_ms < to_ms(t))
            && self.from.is_none_or(|f| updated_ms >= to_ms(f))
    }
}

impl App {
    /// The ledger of `zone` for `period` as `actor` may see it (`NotFound` for an unknown zone).
    pub async fn ledger(
        &self,
        actor: &Actor,
        zone: ZoneId,
        period: LedgerPeriod,
    ) -> Result<Ledger, ServiceError> {
        let zone_name = self
            .zones()
            .map
            .get(&zone)
            .map(|z| z.name.clone())
            .ok_or_else(|| ServiceError::NotFound(format!("no zone {zone}")))?;
        let scope = self.scope(actor);
        // The records are copied: an eviction pass may drop one from memory meanwhile.
        let mut records: HashMap<ProblemId, Record> = {
            let zones = self.zones();
            let g = self.problems();
            let inside = g
                .index
                .in_zone(&zones.index, zone, &Filter::default())
                .map_err(|e| ServiceError::malformed("id", e))?;
            inside
                .into_iter()
                .filter_map(|p| {
                    let r = g.map.get(&p)?;
                    (period.may_hold(r.reported_ms, r.updated_ms) && scope.contains(&zones, r))
                        .then(|| (p, r.clone()))
                })
                .collect()
        };
        // The cold problems inside the zone that changed in the period (read after memory:
        // `crate::cold`), through the same index query over them.
        let cold = self
            .cold_set(&ColdQuery {
                within: Some(self.box_of(&Spatial::Zone(zone))),
                reported_before: period.to,
                changed_from: period.from,
                ..ColdQuery::new(self.hot_since())
            })
            .await?;
        {
            let zones = self.zones();
            let inside = cold
                .index
                .in_zone(&zones.index, zone, &Filter::default())
                .map_err(|e| ServiceError::malformed("id", e))?;
            for p in inside {
                if let Some(r) = cold.records.get(&p).filter(|r| scope.contains(&zones, r)) {
                    records.insert(p, r.clone());
                }
            }
        }
        let mut ids: Vec<ProblemId> = records.keys().copied().collect();
        ids.sort_unstable();
        let events = self
            .store()
            .events_for_problems_in(&ids, period.from, period.to)
            .await?;
        let people = self.people().await?;
        let table = self.categories();
        let lines = events
            .into_iter()
            .filter_map(|e| {
                let r = records.get(&e.problem)?;
                let code = r.category_code(&table);
                Some(LedgerLine {
                    problem: e.problem,
                    category: code.to_owned(),
                    category_zh: table
                        .by_code(code)
                        .map_or_else(String::new, |c| c.name_zh.clone()),
                    lon: r.lon,
                    lat: r.lat,
                    reported_at: from_ms(r.reported_ms),
                    status_now: r.status,
                    actor_name: e.actor.map(|u| {
                        people
                            .get(&u)
                            .map_or_else(|| u.to_string(), |p| p.name.clone())
                    }),
                    event: e,
                })
            })
            .collect();
        Ok(Ledger {
            zone,
            zone_name,
            period,
            lines,
        })
    }
}
