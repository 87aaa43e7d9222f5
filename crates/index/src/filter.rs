//! Filters applied by every query: category set, status set, minimum severity, time range.

use civmap_domain::{CategoryId, Severity, Status};

use crate::record::{Leaf, PointRecord};

/// A set of categories as a bitset over `CategoryId.0`.
///
/// ```
/// use civmap_domain::CategoryId;
/// use civmap_index::CategorySet;
/// let s: CategorySet = [CategoryId(2), CategoryId(300)].into_iter().collect();
/// assert!(s.contains(CategoryId(300)));
/// assert!(!s.contains(CategoryId(3)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategorySet {
    words: Vec<u64>,
}

impl CategorySet {
    /// The empty set (a filter with it matches nothing).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a category.
    pub fn insert(&mut self, c: CategoryId) {
        let i = usize::from(c.0 >> 6);
        if self.words.len() <= i {
            self.words.resize(i + 1, 0);
        }
        self.words[i] |= 1 << (c.0 & 63);
    }

    /// Whether the category is in the set.
    #[must_use]
    #[inline]
    pub fn contains(&self, c: CategoryId) -> bool {
        self.contains_raw(c.0)
    }

    #[inline]
    pub(crate) fn contains_raw(&self, c: u16) -> bool {
        self.words
            .get(usize::from(c >> 6))
            .is_some_and(|w| (w >> (c & 63)) & 1 == 1)
    }

    /// The categories in the set, in id order.
    pub fn iter(&self) -> impl Iterator<Item = CategoryId> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            (0..64u16)
                .filter(move |b| (w >> b) & 1 == 1)
                .map(move |b| CategoryId(i as u16 * 64 + b))
        })
    }
}

impl FromIterator<CategoryId> for CategorySet {
    fn from_iter<I: IntoIterator<Item = CategoryId>>(iter: I) -> Self {
        let mut s = Self::new();
        for c in iter {
            s.insert(c);
        }
        s
    }
}

/// A set of statuses as a bitmask over `Status::code()`.
///
/// ```
/// use civmap_domain::Status;
/// use civmap_index::StatusSet;
/// let open = StatusSet::open();
/// assert!(open.contains(Status::Recurred));
/// assert!(!open.contains(Status::Closed));
/// assert_eq!(StatusSet::of([Status::Closed]).iter().collect::<Vec<_>>(), [Status::Closed]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusSet(u8);

impl StatusSet {
    /// Every status.
    #[must_use]
    pub fn all() -> Self {
        Self::of(Status::ALL)
    }

    /// No status (a filter with it matches nothing).
    #[must_use]
    pub fn none() -> Self {
        Self(0)
    }

    /// The open statuses (`Status::is_open`): reported, dispatched, escalated, rectified, recurred.
    #[must_use]
    pub fn open() -> Self {
        Self::of(Status::ALL.into_iter().filter(|s| s.is_open()))
    }

    /// The given statuses.
    #[must_use]
    pub fn of(statuses: impl IntoIterator<Item = Status>) -> Self {
        Self(statuses.into_iter().fold(0, |m, s| m | (1u8 << s.code())))
    }

    /// Whether the status is in the set.
    #[must_use]
    #[inline]
    pub fn contains(self, s: Status) -> bool {
        (self.0 >> s.code()) & 1 == 1
    }

    /// Statuses in both sets.
    #[must_use]
    pub fn intersect(self, other: StatusSet) -> Self {
        Self(self.0 & other.0)
    }

    /// The statuses in the set, in lifecycle order.
    pub fn iter(self) -> impl Iterator<Item = Status> {
        Status::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl Default for StatusSet {
    fn default() -> Self {
        Self::all()
    }
}

/// What a query keeps: a problem matches when its category is in `categories` (any category
/// when `None`), its status is in `statuses`, its severity is at least `min_severity`, and its
/// report time (Unix milliseconds, UTC) lies in `[reported_from_ms, reported_before_ms)` (an
/// open end when `None`).
///
/// `Filter::default()` matches everything.
///
/// ```
/// use civmap_domain::{CategoryId, Severity, Status};
/// use civmap_index::{Filter, StatusSet};
/// let f = Filter::default()
///     .with_categories([CategoryId(0), CategoryId(8)])
///     .with_statuses(StatusSet::open())
///     .with_min_severity(Severity::High)
///     .with_reported_between(Some(1_700_000_000_000), None);
/// assert!(f.categories.as_ref().unwrap().contains(CategoryId(8)));
/// assert!(!f.statuses.contains(Status::Closed));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Categories kept; `None` keeps all.
    pub categories: Option<CategorySet>,
    /// Statuses kept.
    pub statuses: StatusSet,
    /// Lowest severity kept.
    pub min_severity: Severity,
    /// Inclusive lower bound of the report time, Unix ms.
    pub reported_from_ms: Option<i64>,
    /// Exclusive upper bound of the report time, Unix ms.
    pub reported_before_ms: Option<i64>,
}

impl Default for Filter {
    fn default() -> Self {
        Self {
            categories: None,
            statuses: StatusSet::all(),
            min_severity: Severity::Low,
            reported_from_ms: None,
            reported_before_ms: None,
        }
    }
}

impl Filter {
    /// Keeps only these categories.
    #[must_use]
    pub fn with_categories(mut self, cats: impl IntoIterator<Item = CategoryId>) -> Self {
        self.categories = Some(cats.into_iter().collect());
        self
    }

    /// Keeps only these statuses.
    #[must_use]
    pub fn with_statuses(mut self, statuses: StatusSet) -> Self {
        self.statuses = statuses;
        self
    }

    /// Keeps only problems at least this severe.
    #[must_use]
    pub fn with_min_severity(mut self, s: Severity) -> Self {
        self.min_severity = s;
        self
    }

    /// Keeps only problems reported in `[from, before)`, Unix ms; `None` leaves that end open.
    #[must_use]
    pub fn with_reported_between(mut self, from_ms: Option<i64>, before_ms: Option<i64>) -> Self {
        self.reported_from_ms = from_ms;
        self.reported_before_ms = before_ms;
        self
    }

    /// Whether a record matches.
    #[must_use]
    pub fn matches(&self, r: &PointRecord) -> bool {
        self.matches_parts(r.category.0, r.status, r.severity, r.reported_ms)
    }

    #[inline]
    pub(crate) fn matches_leaf(&self, l: &Leaf) -> bool {
        self.matches_parts(l.category, l.status, l.severity, l.reported_ms)
    }

    /// Whether the filter keeps every record (then a query need not read the attributes).
    pub(crate) fn matches_all(&self) -> bool {
        *self == Self::default()
    }

    #[inline]
    pub(crate) fn matches_parts(
        &self,
        category: u16,
        status: Status,
        severity: Severity,
        t: i64,
    ) -> bool {
        self.statuses.contains(status)
            && severity >= self.min_severity
            && self.reported_from_ms.is_none_or(|from| t >= from)
            && self.reported_before_ms.is_none_or(|before| t < before)
            && self
                .categories
                .as_ref()
                .is_none_or(|c| c.contains_raw(category))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civmap_domain::{LonLat, ProblemId};
    use uuid::Uuid;

    fn rec(cat: u16, status: Status, sev: Severity, t: i64) -> PointRecord {
        PointRecord {
            id: ProblemId(Uuid::from_u128(1)),
            position: LonLat::new(121.0, 31.0).unwrap(),
            category: CategoryId(cat),
            status,
            severity: sev,
            reported_ms: t,
        }
    }

    #[test]
    fn each_clause_can_reject() {
        let f = Filter::default()
            .with_categories([CategoryId(3), CategoryId(64), CategoryId(700)])
            .with_statuses(StatusSet::open())
            .with_min_severity(Severity::Medium)
            .with_reported_between(Some(100), Some(200));
        assert!(f.matches(&rec(3, Status::Reported, Severity::Medium, 100)));
        assert!(f.matches(&rec(700, Status::Recurred, Severity::Critical, 199)));
        assert!(f.matches(&rec(64, Status::Rectified, Severity::High, 150)));
        assert!(
            !f.matches(&rec(4, Status::Reported, Severity::Medium, 100)),
            "category"
        );
        assert!(
            !f.matches(&rec(65, Status::Reported, Severity::Medium, 100)),
            "category"
        );
        assert!(
            !f.matches(&rec(3, Status::Closed, Severity::Medium, 100)),
            "status"
        );
        assert!(
            !f.matches(&rec(3, Status::Merged, Severity::Medium, 100)),
            "status"
        );
        assert!(
            !f.matches(&rec(3, Status::Reported, Severity::Low, 100)),
            "severity"
        );
        assert!(
            !f.matches(&rec(3, Status::Reported, Severity::Medium, 99)),
            "from is inclusive"
        );
        assert!(
            !f.matches(&rec(3, Status::Reported, Severity::Medium, 200)),
            "before is exclusive"
        );
        assert!(Filter::default().matches(&rec(60_000, Status::Merged, Severity::Low, i64::MIN)));
        assert!(
            !Filter::default().with_categories([]).matches(&rec(
                0,
                Status::Reported,
                Severity::Low,
                0
            )),
            "an empty category set matches nothing"
        );
    }

    #[test]
    fn sets_round_trip() {
        let s: CategorySet = [
            CategoryId(0),
            CategoryId(63),
            CategoryId(64),
            CategoryId(65_535),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            s.iter().map(|c| c.0).collect::<Vec<_>>(),
            [0, 63, 64, 65_535]
        );
        assert_eq!(StatusSet::open().iter().count(), 5);
        assert_eq!(StatusSet::all().iter().count(), 7);
        assert_eq!(StatusSet::none().iter().count(), 0);
        assert_eq!(
            StatusSet::all().intersect(StatusSet::of([Status::Closed])),
            StatusSet::of([Status::Closed])
        );
    }
}
