#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::float_cmp))]

pub mod assessment;
pub mod calendar;
pub mod case;
pub mod category;
pub mod error;
pub mod event;
pub mod geo;
pub mod inspection;
pub mod patrol;
pub mod period;
pub mod problem;
pub mod role;
pub mod status;
pub mod user;
pub mod validation;
pub mod zone;

pub use case::CaseNo;
pub use category::{Category, CategoryCode, CategoryId, CategoryTable};
pub use error::DomainError;
pub use event::{Event, EventKind};
pub use geo::LonLat;
pub use period::Period;
pub use problem::{NewProblem, Problem, ProblemId, Severity, UserId};
pub use role::Role;
pub use status::{Action, Status, TransitionError};
pub use user::{User, validate_user_name};
pub use validation::ValidationError;
pub use zone::{Poi, PoiId, PoiKind, Zone, ZoneId, ZoneKind};
