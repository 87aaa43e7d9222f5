//! Drawing a mock inspection's sample the way the assessment's inspectors do: all test points
//! of chosen kinds, or a stratified random sample whose seed the office can give again to
//! draw the same points (the draw itself is `civmap_domain::inspection::draw_sample`).

use civmap_domain::UserId;
use civmap_domain::inspection::{Inspection, InspectionId, InspectionStatus, Stratum, draw_sample};

use crate::actor::{Actor, MANAGERS};
use crate::app::App;
use crate::error::ServiceError;
use crate::time::now_ms;

/// Longest inspection name, characters.
pub const MAX_INSPECTION_NAME_CHARS: usize = 60;

/// What the office asks for.
#[derive(Debug, Clone)]
pub struct NewInspection {
    /// Shown to people: "第3次模拟测评".
    pub name: String,
    /// Kinds and counts; a kind without a count takes all its points.
    pub strata: Vec<Stratum>,
    /// The seed of the draw; `None` picks one (stored, so the draw can be repeated).
    pub seed: Option<u64>,
    /// The inspector (any enabled staff account); may be given later.
    pub assignee: Option<UserId>,
}

impl App {
    /// Draws a sample from the test points the manager sees and stores it as an open
    /// inspection. `Invalid` naming `strata` for no stratum, an unknown kind, a kind twice or
    /// a count above the points of its kind; `assignee` for an account that is not staff.
    pub async fn draw_inspection(
        &self,
        actor: &Actor,
        new: NewInspection,
    ) -> Result<Inspection, ServiceError> {
        actor.require(MANAGERS, "draw inspection samples")?;
        let name = civmap_domain::error::validate_text(
            "name",
            &new.name,
            MAX_INSPECTION_NAME_CHARS,
            true,
        )?;
        if new.strata.is_empty() {
            return Err(ServiceError::invalid("strata", "name at least one kind"));
        }
        let lists = self.checklists().await?;
        for s in &new.strata {
            lists.require_kind("strata", &s.kind)?;
        }
        if let Some(a) = new.assignee {
            self.check_inspector(a).await?;
        }
        let points = self.test_points(actor).await?;
        let pairs: Vec<_> = points.iter().map(|p| (p.id, p.kind.as_str())).collect();
        let seed = new.seed.unwrap_or_else(rand::random);
        let sample = draw_sample(&pairs, &new.strata, seed)?;
        if sample.is_empty() {
            return Err(ServiceError::invalid(
                "strata",
                "no test point of these kinds: add test points first",
            ));
        }
        let inspection = Inspection {
            id: InspectionId::new(),
            name,
            strata: new.strata,
            seed,
            sample,
            assignee: new.assignee,
            status: InspectionStatus::Open,
            created_by: actor.user,
            created_at: now_ms(),
            finished_at: None,
        };
        self.store().upsert_inspection(&inspection).await?;
        Ok(inspection)
    }
}
