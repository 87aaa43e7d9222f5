//! Mock inspections (模拟测评): the kinds of test point (测评点位) the national assessment visits,
//! the checklist of items scored at each kind, the inspectors' sample, and the readiness score.
//!
//! The kinds and items are data (`data/inspection.toml`, compiled in as the default); a street
//! office edits items in the console and those edits are merged over the file by code.
//!
//! ```
//! use civmap_domain::inspection::{Checklists, Stratum, draw_sample};
//! let lists = Checklists::builtin();
//! assert_eq!(lists.kind("school_surroundings").unwrap().zh, "学校周边");
//! assert!(lists.items_for("school_surroundings").any(|i| i.zh == "无小广告"));
//! // The same seed draws the same sample.
//! let points: Vec<(u32, &str)> = (0..20).map(|i| (i, if i % 2 == 0 { "bus_stop" } else { "main_road" })).collect();
//! let strata = [Stratum { kind: "bus_stop".into(), count: Some(3) }];
//! assert_eq!(draw_sample(&points, &strata, 7).unwrap(), draw_sample(&points, &strata, 7).unwrap());
//! ```

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::validation::{ValidationError, validate_text};

mod records;
pub use records::{
    Inspection, InspectionId, InspectionResult, InspectionStatus, Notice, NoticeId, Stratum,
    TestPoint, TestPointId, notice_number,
};

/// Longest name of a kind or an item, characters.
pub const MAX_ITEM_NAME_CHARS: usize = 60;
/// Most categories one item may produce.
pub const MAX_ITEM_CATEGORIES: usize = 8;
/// The largest weight of one item.
pub const MAX_ITEM_WEIGHT: f64 = 10.0;

/// A kind of test point (学校周边, 背街小巷...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointKind {
    /// Stable code, e.g. `school_surroundings`.
    pub code: String,
    pub zh: String,
    pub en: String,
}

/// One item of a checklist: a rule that holds at a clean point ("无小广告").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    /// Stable code, e.g. `no_ad_posters`.
    pub code: String,
    pub zh: String,
    pub en: String,
    /// The point kinds it is checked at.
    pub kinds: Vec<String>,
    /// The problem categories a fail produces; the first is the category of the problem a
    /// fail creates.
    pub categories: Vec<String>,
    /// Weight in the readiness score (1.0 = ordinary).
    pub weight: f64,
}

impl ChecklistItem {
    /// The category of the problem a fail of this item creates.
    #[must_use]
    pub fn category(&self) -> &str {
        self.categories.first().map_or("", String::as_str)
    }
}

/// The kinds and the items, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Checklists {
    kinds: Vec<PointKind>,
    items: Vec<ChecklistItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    kind: Vec<PointKind>,
    #[serde(default)]
    item: Vec<ChecklistItem>,
}

/// A code: 2-40 characters of a-z, 0-9 and `_`, starting with a letter (as category codes).
fn check_code(field: &'static str, code: &str) -> Result<(), ValidationError> {
    let ok = (2..=40).contains(&code.len())
        && code.as_bytes()[0].is_ascii_lowercase()
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::Invalid {
            field,
            message: format!(
                "{code:?} must be 2-40 characters of a-z, 0-9 and _, starting with a letter"
            ),
        })
    }
}

impl Checklists {
    /// The kinds and items shipped in `data/inspection.toml`.
    ///
    /// # Panics
    /// Never: the file is checked by this crate's tests.
    #[must_use]
    pub fn builtin() -> Self {
        Self::from_toml(include_str!("../../../../data/inspection.toml"))
            .expect("the built-in checklists are valid")
    }

    /// Reads a checklist file (see `data/inspection.toml`). Errors name the entry that is
    /// wrong: an unknown key, a bad code, an item at a kind the file does not define.
    pub fn from_toml(text: &str) -> Result<Self, DomainError> {
        let file: File =
            toml::from_str(text).map_err(|e| DomainError::Checklists(e.to_string()))?;
        let mut lists = Checklists::default();
        for k in file.kind {
            check_code("code", &k.code)?;
            validate_text("zh", &k.zh, MAX_ITEM_NAME_CHARS, true)?;
            validate_text("en", &k.en, MAX_ITEM_NAME_CHARS * 2, true)?;
            if lists.kind(&k.code).is_some() {
                return Err(DomainError::Checklists(format!(
                    "kind {:?} is defined twice",
                    k.code
                )));
            }
            lists.kinds.push(k);
        }
        for item in file.item {
            lists
                .upsert(item)
                .map_err(|e| DomainError::Checklists(format!("item: {e}")))?;
        }
        Ok(lists)
    }

    /// Adds an item, or replaces the item with its code. `Invalid` naming the field for a bad
    /// code or name, a kind not defined, no category or too many, a weight out of range.
    pub fn upsert(&mut self, item: ChecklistItem) -> Result<(), ValidationError> {
        let item = self.check(item)?;
        match self.items.iter_mut().find(|i| i.code == item.code) {
            Some(old) => *old = item,
            None => self.items.push(item),
        }
        Ok(())
    }

    /// An item with its names trimmed, or the rule it breaks.
    pub fn check(&self, mut item: ChecklistItem) -> Result<ChecklistItem, ValidationError> {
        check_code("code", &item.code)?;
        item.zh = validate_text("zh", &item.zh, MAX_ITEM_NAME_CHARS, true)?;
        item.en = validate_text("en", &item.en, MAX_ITEM_NAME_CHARS * 2, true)?;
        if item.kinds.is_empty() {
            return Err(ValidationError::Empty { field: "kinds" });
        }
        for k in &item.kinds {
            if self.kind(k).is_none() {
                return Err(ValidationError::UnknownValue {
                    field: "kinds",
                    value: k.clone(),
                    allowed: self.kind_codes().join(", "),
                });
            }
        }
        if item.categories.is_empty() {
            return Err(ValidationError::Empty {
                field: "categories",
            });
        }
        if item.categories.len() > MAX_ITEM_CATEGORIES {
            return Err(ValidationError::Invalid {
                field: "categories",
                message: format!("at most {MAX_ITEM_CATEGORIES} categories per item"),
            });
        }
        for c in &item.categories {
            check_code("categories", c)?;
        }
        if !(item.weight.is_finite() && item.weight > 0.0 && item.weight <= MAX_ITEM_WEIGHT) {
            return Err(ValidationError::OutOfRange {
                field: "weight",
                value: item.weight,
                min: f64::MIN_POSITIVE,
                max: MAX_ITEM_WEIGHT,
            });
        }
        Ok(item)
    }

    /// The kind with this code.
    #[must_use]
    pub fn kind(&self, code: &str) -> Option<&PointKind> {
        self.kinds.iter().find(|k| k.code == code)
    }

    /// Every kind, in file order.
    #[must_use]
    pub fn kinds(&self) -> &[PointKind] {
        &self.kinds
    }

    fn kind_codes(&self) -> Vec<&str> {
        self.kinds.iter().map(|k| k.code.as_str()).collect()
    }

    /// `UnknownValue` naming `field` unless `code` is a kind of these lists.
    pub fn require_kind(&self, field: &'static str, code: &str) -> Result<(), ValidationError> {
        if self.kind(code).is_some() {
            Ok(())
        } else {
            Err(ValidationError::UnknownValue {
                field,
                value: code.to_owned(),
                allowed: self.kind_codes().join(", "),
            })
        }
    }

    /// The item with this code.
    #[must_use]
    pub fn item(&self, code: &str) -> Option<&ChecklistItem> {
        self.items.iter().find(|i| i.code == code)
    }

    /// Every item, in file order (edited items where they were, new ones last).
    #[must_use]
    pub fn items(&self) -> &[ChecklistItem] {
        &self.items
    }

    /// The items checked at a point of this kind, in file order.
    pub fn items_for<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a ChecklistItem> {
        self.items
            .iter()
            .filter(move |i| i.kinds.iter().any(|k| k == kind))
    }
}

/// The inspectors' sample: for each stratum, all points of its kind or `count` of them drawn
/// with a `ChaCha8` generator seeded with `seed`, so the same seed over the same points draws the
/// same sample. Points are taken in id order before the draw (the order they are given in does
/// not matter); strata are drawn in the order given, and the sample lists points stratum by
/// stratum, each in id order. `Invalid` naming `strata` for a kind listed twice or a count
/// larger than the points of its kind.
pub fn draw_sample<P: Ord + Copy>(
    points: &[(P, &str)],
    strata: &[Stratum],
    seed: u64,
) -> Result<Vec<P>, ValidationError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (i, s) in strata.iter().enumerate() {
        if strata[..i].iter().any(|o| o.kind == s.kind) {
            return Err(ValidationError::Invalid {
                field: "strata",
                message: format!("kind {} is listed twice", s.kind),
            });
        }
        let mut of_kind: Vec<P> = points
            .iter()
            .filter(|(_, k)| *k == s.kind)
            .map(|(p, _)| *p)
            .collect();
        of_kind.sort_unstable();
        of_kind.dedup();
        let mut chosen = match s.count {
            None => of_kind,
            Some(n) if n > of_kind.len() => {
                return Err(ValidationError::Invalid {
                    field: "strata",
                    message: format!(
                        "{n} points of kind {} asked for; there are {}",
                        s.kind,
                        of_kind.len()
                    ),
                });
            }
            Some(n) => {
                let (picked, _) = of_kind.partial_shuffle(&mut rng, n);
                picked.to_vec()
            }
        };
        chosen.sort_unstable();
        out.extend(chosen);
    }
    Ok(out)
}

/// A readiness score: the weighted share of items passed.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Score {
    /// Items passed.
    pub passed: u32,
    /// Items failed.
    pub failed: u32,
    /// Sum of the weights of the items passed.
    pub passed_weight: f64,
    /// Sum of the weights of every item scored.
    pub total_weight: f64,
}

impl Score {
    /// Adds one item's outcome.
    pub fn add(&mut self, pass: bool, weight: f64) {
        if pass {
            self.passed += 1;
            self.passed_weight += weight;
        } else {
            self.failed += 1;
        }
        self.total_weight += weight;
    }

    /// Adds another score's items.
    pub fn merge(&mut self, other: &Score) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.passed_weight += other.passed_weight;
        self.total_weight += other.total_weight;
    }

    /// The weighted share passed, 0 to 1; `None` when nothing was scored.
    #[must_use]
    pub fn share(&self) -> Option<f64> {
        (self.total_weight > 0.0).then(|| self.passed_weight / self.total_weight)
    }
}

/// One recorded outcome: a point's item in an inspection, with the weight it had then.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark<I, P> {
    /// The inspection, ordered by when it was drawn (an earlier inspection sorts first).
    pub inspection: I,
    pub point: P,
    pub item: String,
    pub pass: bool,
    pub weight: f64,
}

/// Each point's score in the latest inspection that scored it (an inspection that left a
/// point out does not reset it).
#[must_use]
pub fn latest_point_scores<I: Ord + Copy, P: Ord + Copy>(
    marks: &[Mark<I, P>],
) -> BTreeMap<P, Score> {
    let mut latest: BTreeMap<P, I> = BTreeMap::new();
    for m in marks {
        let e = latest.entry(m.point).or_insert(m.inspection);
        if m.inspection > *e {
            *e = m.inspection;
        }
    }
    let mut out: BTreeMap<P, Score> = BTreeMap::new();
    for m in marks
        .iter()
        .filter(|m| latest.get(&m.point) == Some(&m.inspection))
    {
        out.entry(m.point).or_default().add(m.pass, m.weight);
    }
    out
}

/// Point scores gathered by a group (kind, street): the sum of the points' items.
#[must_use]
pub fn group_scores<P: Ord + Copy, G: Ord>(
    points: &BTreeMap<P, Score>,
    group_of: impl Fn(P) -> Option<G>,
) -> BTreeMap<G, Score> {
    let mut out: BTreeMap<G, Score> = BTreeMap::new();
    for (p, s) in points {
        if let Some(g) = group_of(*p) {
            out.entry(g).or_default().merge(s);
        }
    }
    out
}

/// Each inspection's own score over every item it scored, in inspection order: the trend.
#[must_use]
pub fn inspection_scores<I: Ord + Copy, P>(marks: &[Mark<I, P>]) -> BTreeMap<I, Score> {
    let mut out: BTreeMap<I, Score> = BTreeMap::new();
    for m in marks {
        out.entry(m.inspection).or_default().add(m.pass, m.weight);
    }
    out
}

/// Items by how often they failed, most first (ties by code): (item, fails, times scored).
#[must_use]
pub fn failing_items<I, P>(marks: &[Mark<I, P>]) -> Vec<(String, u32, u32)> {
    let mut counts: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for m in marks {
        let e = counts.entry(m.item.as_str()).or_default();
        e.1 += 1;
        if !m.pass {
            e.0 += 1;
        }
    }
    let mut out: Vec<(String, u32, u32)> = counts
        .into_iter()
        .filter(|(_, (fails, _))| *fails > 0)
        .map(|(code, (fails, n))| (code.to_owned(), fails, n))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_parses_and_every_kind_has_items() {
        let lists = Checklists::builtin();
        assert_eq!(lists.kinds().len(), 7);
        for k in lists.kinds() {
            assert!(
                lists.items_for(&k.code).count() >= 3,
                "{} has few items",
                k.code
            );
        }
        for zh in [
            "学校周边",
            "农贸市场周边",
            "公园周边",
            "背街小巷",
            "住宅小区",
            "主次干道",
            "公交站点",
        ] {
            assert!(lists.kinds().iter().any(|k| k.zh == zh), "missing {zh}");
        }
        let ads = lists.item("no_ad_posters").unwrap();
        assert_eq!(ads.zh, "无小广告");
        assert_eq!(ads.category(), "ad_posters");
    }

    #[test]
    fn every_item_category_is_a_known_category() {
        let mut table = crate::CategoryTable::builtin();
        table
            .merge_toml(include_str!("../../../../data/categories.toml"))
            .unwrap();
        for i in Checklists::builtin().items() {
            for c in &i.categories {
                assert!(
                    table.by_code(c).is_some(),
                    "{}: unknown category {c}",
                    i.code
                );
            }
        }
    }

    #[test]
    fn bad_items_are_named() {
        let mut lists = Checklists::builtin();
        let mut item = lists.item("no_ad_posters").unwrap().clone();
        item.kinds = vec!["moon".into()];
        assert!(matches!(
            lists.upsert(item.clone()),
            Err(ValidationError::UnknownValue { field: "kinds", .. })
        ));
        item.kinds = vec!["bus_stop".into()];
        item.weight = 0.0;
        assert!(matches!(
            lists.upsert(item.clone()),
            Err(ValidationError::OutOfRange {
                field: "weight",
                ..
            })
        ));
        item.weight = 2.0;
        item.zh = "  无小广告（公交站）  ".into();
        lists.upsert(item).unwrap();
        assert_eq!(
            lists.item("no_ad_posters").unwrap().zh,
            "无小广告（公交站）"
        );
        assert!(Checklists::from_toml("[[kind]]\ncode='x y'\nzh='a'\nen='b'\n").is_err());
        assert!(Checklists::from_toml("[[kind]]\ncode='ab'\nzh='a'\nen='b'\ncolour=1\n").is_err());
    }

    fn points() -> Vec<(u32, &'static str)> {
        // 10 bus stops (ids 0..10), 6 schools (10..16), given out of order.
        let mut v: Vec<(u32, &str)> = (0..10).map(|i| (i, "bus_stop")).collect();
        v.extend((10..16).map(|i| (i, "school_surroundings")));
        v.reverse();
        v
    }

    #[test]
    fn a_sample_is_reproducible_from_its_seed_and_has_its_counts() {
        let strata = [
            Stratum {
                kind: "bus_stop".into(),
                count: Some(4),
            },
            Stratum {
                kind: "school_surroundings".into(),
                count: None,
            },
        ];
        let a = draw_sample(&points(), &strata, 42).unwrap();
        let mut shuffled = points();
        shuffled.sort_unstable();
        assert_eq!(
            a,
            draw_sample(&shuffled, &strata, 42).unwrap(),
            "input order does not matter"
        );
        assert_eq!(a.iter().filter(|p| **p < 10).count(), 4);
        assert_eq!(a.iter().filter(|p| **p >= 10).count(), 6);
        let others: Vec<Vec<u32>> = (0..8)
            .map(|s| draw_sample(&points(), &strata, s).unwrap())
            .collect();
        assert!(
            others.iter().any(|o| *o != a),
            "other seeds draw other samples"
        );
        let too_many = [Stratum {
            kind: "bus_stop".into(),
            count: Some(11),
        }];
        assert!(draw_sample(&points(), &too_many, 1).is_err());
        let twice = [strata[0].clone(), strata[0].clone()];
        assert!(draw_sample(&points(), &twice, 1).is_err());
    }

    /// Hand-counted: point 1 (kind A) scored twice — inspection 1: pass w1, fail w2 (1/3);
    /// inspection 2: pass w1, pass w2 (3/3, the latest). Point 2 (kind A), inspection 1 only:
    /// fail w1, pass w0.5 (0.5/1.5). Point 3 (kind B), inspection 2: fail w2, fail w1 (0/3).
    /// Kind A = (3 + 0.5) / (3 + 1.5) = 7/9; kind B = 0; all = 3.5 / 7.5.
    /// Inspection 1 = (1 + 0.5) / (3 + 1.5) = 1/3; inspection 2 = 3 / 6 = 1/2.
    #[test]
    fn readiness_against_a_hand_counted_fixture() {
        let m = |inspection: u8, point: u8, item: &str, pass: bool, weight: f64| Mark {
            inspection,
            point,
            item: item.into(),
            pass,
            weight,
        };
        let marks = vec![
            m(1, 1, "a", true, 1.0),
            m(1, 1, "b", false, 2.0),
            m(1, 2, "a", false, 1.0),
            m(1, 2, "c", true, 0.5),
            m(2, 1, "a", true, 1.0),
            m(2, 1, "b", true, 2.0),
            m(2, 3, "b", false, 2.0),
            m(2, 3, "a", false, 1.0),
        ];
        let points = latest_point_scores(&marks);
        assert_eq!(points[&1].share(), Some(1.0));
        assert_eq!(points[&2].share(), Some(0.5 / 1.5));
        assert_eq!(points[&3].share(), Some(0.0));
        let kinds = group_scores(&points, |p| Some(if p == 3 { 'B' } else { 'A' }));
        assert!((kinds[&'A'].share().unwrap() - 7.0 / 9.0).abs() < 1e-12);
        assert_eq!(kinds[&'B'].share(), Some(0.0));
        let all = group_scores(&points, |_| Some(()));
        assert_eq!(all[&()].share(), Some(3.5 / 7.5));
        assert_eq!((all[&()].passed, all[&()].failed), (3, 3));
        let trend = inspection_scores(&marks);
        assert!((trend[&1].share().unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(trend[&2].share(), Some(0.5));
        // a: failed twice of 4; b: twice of 3; c: never (left out).
        assert_eq!(
            failing_items(&marks),
            vec![("a".to_owned(), 2, 4), ("b".to_owned(), 2, 3)]
        );
        assert_eq!(Score::default().share(), None);
    }
}
