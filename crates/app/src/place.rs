//! Places in words and case numbers: how a person names a problem.
//!
//! A problem's place is worded once, when it is reported (or moved), from the street's
//! OpenStreetMap features held as a gazetteer (built from the basemap at load), and stored with
//! it. The public reads an indoor problem's place by its road only, worded from the generalised
//! position, as its position is shown. Case numbers are given by the store; memory keeps the
//! number → id map so a number typed from a printed sheet finds its problem.

use std::sync::Arc;

use civmap_domain::{CaseNo, LonLat, ProblemId};
use civmap_geodata::place::Gazetteer;

use crate::app::App;
use crate::error::ServiceError;
use crate::memory::record::Record;
use crate::privacy;

impl App {
    /// The gazetteer of the street's named features.
    #[must_use]
    pub fn gazetteer(&self) -> Arc<Gazetteer> {
        self.inner.places.read().clone()
    }

    /// Where `at` is, in words ("四平路1239号附近"); empty when nothing named is near.
    #[must_use]
    pub fn place_of(&self, at: LonLat) -> String {
        self.gazetteer().describe(at.lon(), at.lat())
    }

    /// The place the public reads: the stored one, or for a problem of an indoor category the
    /// road nearest its generalised position (a house number or building would point at a home).
    #[must_use]
    pub fn public_place(&self, r: &Record) -> String {
        let table = self.categories();
        if privacy::is_generalised(&table, r.category) {
            let [lon, lat] = privacy::generalise_position([r.lon, r.lat]);
            self.gazetteer().describe_street(lon, lat)
        } else {
            r.place.to_string()
        }
    }

    /// The problem with case number `case`.
    #[must_use]
    pub fn problem_id_by_case(&self, case: CaseNo) -> Option<ProblemId> {
        self.problems().by_case.get(&case).copied()
    }

    /// A problem named the way people and links name it: its UUID or its case number
    /// (`CM261207-0003`), among the problems in memory. Unknown numbers are "not found"; text
    /// that is neither is malformed. [`App::resolve_ref`] finds cold problems too.
    pub fn problem_ref(&self, text: &str) -> Result<ProblemId, ServiceError> {
        let case = match parse_ref(text)? {
            Ref::Id(id) => return Ok(id),
            Ref::Case(case) => case,
        };
        self.problem_id_by_case(case)
            .ok_or_else(|| ServiceError::NotFound(format!("problem {case}")))
    }

    /// [`App::problem_ref`] for hot and cold problems: a case number memory does not know is
    /// looked up in the database (its unique index of case numbers).
    pub async fn resolve_ref(&self, text: &str) -> Result<ProblemId, ServiceError> {
        let case = match parse_ref(text)? {
            Ref::Id(id) => return Ok(id),
            Ref::Case(case) => case,
        };
        if let Some(id) = self.problem_id_by_case(case) {
            return Ok(id);
        }
        self.store()
            .problem_id_by_case(case)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("problem {case}")))
    }
}

/// How a problem is named: by id or by case number.
enum Ref {
    Id(ProblemId),
    Case(CaseNo),
}

fn parse_ref(text: &str) -> Result<Ref, ServiceError> {
    if let Ok(id) = text.parse::<ProblemId>() {
        return Ok(Ref::Id(id));
    }
    text.parse().map(Ref::Case).map_err(|_| {
        ServiceError::malformed(
            "id",
            format!("{text:?} is neither a problem id nor a case number like CM261207-0003"),
        )
    })
}
