//! The problem ids of zone scopes (chiefs, street offices), kept per data version: a street
//! office's scope may hold most problems, and its pages are asked for one after the other.

use std::collections::HashMap;
use std::sync::Arc;

use civmap_domain::{ProblemId, UserId, ZoneId};

/// What a zone scope's ids depend on: the user (problems dispatched to it) and the zones.
pub type ScopeKey = (Option<UserId>, Vec<ZoneId>);

/// Problem ids of zone scopes by (user, zones), with the data version they were computed at.
/// Bounded: emptied when it would hold more than [`ScopeCache::MAX_IDS`] ids or
/// [`ScopeCache::MAX_SCOPES`] scopes.
#[derive(Debug, Default)]
pub struct ScopeCache {
    map: HashMap<ScopeKey, (u64, Arc<Vec<ProblemId>>)>,
    ids: usize,
}

impl ScopeCache {
    /// Most scopes kept.
    pub const MAX_SCOPES: usize = 256;
    /// Most ids kept over all scopes (16 bytes each: 64 MB).
    pub const MAX_IDS: usize = 4_000_000;

    /// The ids of `key` computed at `version`, if still current.
    #[must_use]
    pub fn get(&self, key: &ScopeKey, version: u64) -> Option<Arc<Vec<ProblemId>>> {
        self.map
            .get(key)
            .filter(|(v, _)| *v == version)
            .map(|(_, ids)| ids.clone())
    }

    /// Keeps the ids of `key` computed at `version`.
    pub fn insert(&mut self, key: ScopeKey, version: u64, ids: Arc<Vec<ProblemId>>) {
        if self.map.len() >= Self::MAX_SCOPES || self.ids + ids.len() > Self::MAX_IDS {
            self.map.clear();
            self.ids = 0;
        }
        self.ids += ids.len();
        if let Some((_, old)) = self.map.insert(key, (version, ids)) {
            self.ids = self.ids.saturating_sub(old.len());
        }
    }
}
