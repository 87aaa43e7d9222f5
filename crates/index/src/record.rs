//! What the index stores per problem: the public [`PointRecord`] and the compact tree leaf.

use civmap_domain::{CategoryId, LonLat, ProblemId, Severity, Status};
use rstar::{AABB, RTreeObject};

use crate::geodesy::key;

/// The compact record of one indexed problem: what queries filter on and can return.
///
/// `position` is WGS-84 lon/lat in degrees, stored exactly as given (`f64`).
/// `reported_ms` is the report time in Unix milliseconds (UTC).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointRecord {
    pub id: ProblemId,
    pub position: LonLat,
    pub category: CategoryId,
    pub status: Status,
    pub severity: Severity,
    pub reported_ms: i64,
}

/// A change to an indexed problem; `None` leaves that field as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PointUpdate {
    /// Moves the problem (a corrected location).
    pub position: Option<LonLat>,
    pub status: Option<Status>,
    pub severity: Option<Severity>,
    pub category: Option<CategoryId>,
}

impl PointUpdate {
    /// The record with this change applied.
    pub(crate) fn applied_to(&self, r: &PointRecord) -> PointRecord {
        let mut leaf = Leaf::new(r, 0);
        leaf.apply(self);
        if let Some(p) = self.position {
            (leaf.lon, leaf.lat) = (p.lon(), p.lat());
        }
        leaf.record(r.id)
    }
}

/// The R-tree leaf: 32 bytes, everything a filtered query reads except the id, which lives in
/// the slot table (see README, "Memory"). Its tree key is `(lon as f32, lat as f32)`, computed
/// on demand, so the exact `f64` position is kept and the tree's boxes are 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Leaf {
    pub(crate) lon: f64,
    pub(crate) lat: f64,
    pub(crate) reported_ms: i64,
    /// Index into the slot table (id and key of this leaf).
    pub(crate) slot: u32,
    pub(crate) category: u16,
    pub(crate) status: Status,
    pub(crate) severity: Severity,
}

impl Leaf {
    pub(crate) fn new(r: &PointRecord, slot: u32) -> Self {
        Self {
            lon: r.position.lon(),
            lat: r.position.lat(),
            reported_ms: r.reported_ms,
            slot,
            category: r.category.0,
            status: r.status,
            severity: r.severity,
        }
    }

    #[inline]
    pub(crate) fn key(&self) -> [f32; 2] {
        key(self.lon, self.lat)
    }

    /// Applies the attribute changes (not the move).
    pub(crate) fn apply(&mut self, change: &PointUpdate) {
        if let Some(s) = change.status {
            self.status = s;
        }
        if let Some(s) = change.severity {
            self.severity = s;
        }
        if let Some(c) = change.category {
            self.category = c.0;
        }
    }

    pub(crate) fn record(&self, id: ProblemId) -> PointRecord {
        PointRecord {
            id,
            position: LonLat::new(self.lon, self.lat)
                .expect("leaf positions come from validated LonLat values"),
            category: CategoryId(self.category),
            status: self.status,
            severity: self.severity,
            reported_ms: self.reported_ms,
        }
    }
}

impl RTreeObject for Leaf {
    type Envelope = AABB<[f32; 2]>;

    #[inline]
    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.key())
    }
}
