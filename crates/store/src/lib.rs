#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::float_cmp))]

// The root only declares and re-exports: `Store` lives in `store.rs`, so that no module has to
// import the crate root (which imports them all) and the files form no import cycle.

mod backup;
mod backup_photos;
mod basemap;
pub mod codec;
mod cold;
mod copy;
pub mod error;
mod export;
mod follow;
mod idempotency;
mod inspections;
mod leader;
mod limits;
mod load;
mod notify;
mod open;
mod patrols;
mod photos;
mod public_text;
mod reads;
mod replace;
mod roads;
mod shared;
mod sql;
mod store;
pub mod timings;
pub mod types;
mod writer;

pub use crate::backup_photos::{BackupReport, RestoreReport};
pub use crate::basemap::{BASEMAP_LAYERS, BasemapFeature};
pub use crate::codec::{ms_precision, stored_problem};
pub use crate::cold::{ColdQuery, LonLatBox};
pub use crate::error::{Location, StoreError};
pub use crate::follow::{ChangeKind, LogHeads, LoggedChange};
pub use crate::idempotency::{IdempotencyClaim, IdempotencyRecord};
pub use crate::leader::Leadership;
pub use crate::limits::ACQUIRE_TIMEOUT;
pub use crate::notify::{Doorbell, Ring};
pub use crate::roads::RoadWay;
pub use crate::shared::CommitHook;
pub use crate::store::Store;
pub use crate::timings::{Histogram, WriteTimings};
pub use crate::types::{
    Backend, Change, ImportOutcome, NewEvent, PhotoMeta, PublicText, Session, SessionKind,
    StoreOptions, StoreStats,
};
