//! The in-memory problems: records in a chunked vector, a hash map from id to position for `GET` and
//! for the ids a spatial query returns, and an ordered map from id to position for cursor
//! pagination (ids are UUIDv7, so id order is creation order).
//!
//! A `BTreeMap<ProblemId, Record>` alone costs a B-tree descent with a cache miss per level
//! for every lookup; a page of 500 features from a box query then spends most of its time in
//! lookups. Here a lookup is one hash probe and one vector access.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use civmap_domain::ProblemId;

use crate::memory::record::Record;

/// Records in fixed-size chunks: growing never copies (and never briefly doubles) the whole
/// set, as one `Vec` would when a million records reach its capacity.
#[derive(Debug, Default)]
struct Slab {
    chunks: Vec<Vec<Record>>,
    len: usize,
}

/// Records per chunk (about 1.9 MB of 120-byte records).
const CHUNK: usize = 1 << 14;

impl Slab {
    fn push(&mut self, r: Record) -> u32 {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let s = u32::try_from(self.len).expect("fewer than 2^32 problems");
        if let Some(c) = self.chunks.last_mut() {
            c.push(r);
        }
        self.len += 1;
        s
    }

    fn get(&self, s: u32) -> &Record {
        let s = s as usize;
        &self.chunks[s / CHUNK][s % CHUNK]
    }

    fn get_mut(&mut self, s: u32) -> &mut Record {
        let s = s as usize;
        &mut self.chunks[s / CHUNK][s % CHUNK]
    }

    fn iter(&self) -> impl Iterator<Item = &Record> + '_ {
        self.chunks.iter().flatten()
    }
}

/// Problems by id. Positions are stable between rebuilds: problems leave only through
/// [`ProblemMap::retain`] (the eviction of cold problems), which builds the map again.
#[derive(Debug, Default)]
pub struct ProblemMap {
    records: Slab,
    slots: HashMap<ProblemId, u32>,
    order: BTreeMap<ProblemId, u32>,
}

impl ProblemMap {
    /// Builds the map from `(id, record)` pairs; a repeated id keeps its last record.
    ///
    /// # Panics
    /// With 2³² problems or more (the spatial index refuses them first).
    #[must_use]
    pub fn from_pairs(pairs: Vec<(ProblemId, Record)>) -> Self {
        let mut records = Slab::default();
        let mut slots = HashMap::with_capacity(pairs.len());
        let mut order = Vec::with_capacity(pairs.len());
        for (id, r) in pairs {
            if let Some(&s) = slots.get(&id) {
                *records.get_mut(s) = r;
                continue;
            }
            let s = records.push(r);
            slots.insert(id, s);
            order.push((id, s));
        }
        // Built from a sorted vector the B-tree's nodes are full; inserted one by one in
        // ascending order they would be half empty.
        order.sort_unstable_by_key(|(id, _)| *id);
        Self {
            records,
            slots,
            order: order.into_iter().collect(),
        }
    }

    /// Keeps the problems `keep` accepts and returns how many were dropped. Builds the map
    /// again (the eviction pass runs rarely; a rebuild keeps lookups one probe).
    pub fn retain(&mut self, mut keep: impl FnMut(&ProblemId, &Record) -> bool) -> usize {
        let before = self.len();
        let old = std::mem::take(self);
        let pairs: Vec<(ProblemId, Record)> = old
            .order
            .iter()
            .filter_map(|(id, &s)| {
                let r = old.records.get(s);
                keep(id, r).then(|| (*id, r.clone()))
            })
            .collect();
        *self = Self::from_pairs(pairs);
        before - self.len()
    }

    /// The record of a problem.
    #[must_use]
    pub fn get(&self, id: &ProblemId) -> Option<&Record> {
        self.slots.get(id).map(|&s| self.records.get(s))
    }

    /// The record of a problem, to change it in place.
    pub fn get_mut(&mut self, id: &ProblemId) -> Option<&mut Record> {
        self.slots.get(id).map(|&s| self.records.get_mut(s))
    }

    #[must_use]
    pub fn contains_key(&self, id: &ProblemId) -> bool {
        self.slots.contains_key(id)
    }

    /// Adds a problem (or replaces the record of a known id).
    ///
    /// # Panics
    /// With 2³² problems or more (the spatial index refuses them first).
    pub fn insert(&mut self, id: ProblemId, r: Record) {
        if let Some(&s) = self.slots.get(&id) {
            *self.records.get_mut(s) = r;
            return;
        }
        let s = self.records.push(r);
        self.slots.insert(id, s);
        self.order.insert(id, s);
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.records.len
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records.len == 0
    }

    /// Problems with ids in `range`, in id order (both directions).
    #[must_use = "iterators are lazy"]
    pub fn range(
        &self,
        range: (Bound<ProblemId>, Bound<ProblemId>),
    ) -> impl DoubleEndedIterator<Item = (&ProblemId, &Record)> + '_ {
        self.order
            .range(range)
            .map(|(id, &s)| (id, self.records.get(s)))
    }

    /// Every problem in id order (both directions).
    #[must_use = "iterators are lazy"]
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&ProblemId, &Record)> + '_ {
        self.range((Bound::Unbounded, Bound::Unbounded))
    }

    /// Every record, in no particular order (fastest).
    #[must_use = "iterators are lazy"]
    pub fn values(&self) -> impl Iterator<Item = &Record> + '_ {
        self.records.iter()
    }

    /// Ids in id order.
    #[must_use = "iterators are lazy"]
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &ProblemId> + '_ {
        self.order.keys()
    }
}

impl<'a> IntoIterator for &'a ProblemMap {
    type Item = (&'a ProblemId, &'a Record);
    type IntoIter = Box<dyn DoubleEndedIterator<Item = (&'a ProblemId, &'a Record)> + 'a>;

    /// Every problem in id order.
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civmap_domain::{CategoryTable, NewProblem, Severity};

    fn record(table: &CategoryTable, lon: f64) -> (ProblemId, Record) {
        let p = NewProblem {
            lon,
            lat: 31.0,
            category: "garbage".into(),
            severity: Severity::Low,
            description: String::new(),
        }
        .validate(table, None, crate::time::now_ms())
        .unwrap();
        (p.id, Record::from_problem(&p, table).unwrap())
    }

    #[test]
    fn lookups_and_order_agree_with_a_btreemap() {
        let t = CategoryTable::builtin();
        let mut pairs: Vec<_> = (0..200).map(|i| record(&t, f64::from(i) / 10.0)).collect();
        // Shuffle deterministically: build from an unsorted input.
        pairs.reverse();
        let (first, rest) = pairs.split_at(150);
        let mut m = ProblemMap::from_pairs(first.to_vec());
        let mut oracle: BTreeMap<ProblemId, Record> = first.iter().cloned().collect();
        for (id, r) in rest {
            m.insert(*id, r.clone());
            oracle.insert(*id, r.clone());
        }
        assert_eq!(m.len(), oracle.len());
        assert!(m.iter().map(|(k, v)| (*k, v.clone())).eq(oracle.clone()));
        assert!(
            m.iter()
                .rev()
                .map(|(k, _)| *k)
                .eq(oracle.keys().rev().copied())
        );
        let mid = *oracle.keys().nth(77).unwrap();
        let after: Vec<_> = m
            .range((Bound::Excluded(mid), Bound::Unbounded))
            .map(|(k, _)| *k)
            .collect();
        let want: Vec<_> = oracle
            .range((Bound::Excluded(mid), Bound::Unbounded))
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(after, want);
        for (id, r) in &oracle {
            assert_eq!(m.get(id), Some(r));
        }
        let (id, mut r) = oracle.iter().next().map(|(k, v)| (*k, v.clone())).unwrap();
        r.version = 99;
        m.insert(id, r);
        assert_eq!(m.get(&id).unwrap().version, 99);
        assert_eq!(m.len(), 200, "replacing keeps the count");
        assert!(!m.contains_key(&ProblemId::new()));
    }

    #[test]
    fn chunk_boundaries() {
        let t = CategoryTable::builtin();
        let (_, template) = record(&t, 1.0);
        let n = CHUNK * 2 + 7;
        let pairs: Vec<_> = (0..n)
            .map(|i| {
                let mut r = template.clone();
                r.version = i as i64;
                (ProblemId::new(), r)
            })
            .collect();
        let (a, b) = pairs.split_at(CHUNK - 1);
        let mut m = ProblemMap::from_pairs(a.to_vec());
        for (id, r) in b {
            m.insert(*id, r.clone());
        }
        assert_eq!(m.len(), n);
        for (id, r) in &pairs {
            assert_eq!(m.get(id).unwrap().version, r.version);
        }
        assert!(m.values().map(|r| r.version).eq(0..n as i64));
    }
}
