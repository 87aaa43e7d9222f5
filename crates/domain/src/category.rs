//! The category table: what kinds of problem exist, how much each weighs in heat scores, how long
//! its rectification may take, and how long a team needs on site.
//!
//! The built-in table covers every category of `DOMAIN.md`. A street office adds or overrides
//! categories with a TOML data file (`data/categories.toml`) read at start, without recompiling:
//!
//! ```
//! use civmap_domain::CategoryTable;
//! let mut table = CategoryTable::builtin();
//! table.merge_toml(r#"
//! [[category]]
//! code = "shared_bike_pile"
//! zh = "共享单车堆积"
//! en = "Shared bikes piled up"
//! weight = 1.5
//! deadline_hours = 4
//! "#).unwrap();
//! let c = table.by_code("shared_bike_pile").unwrap();
//! assert_eq!(c.name_zh, "共享单车堆积");
//! assert_eq!(table.by_code("garbage").unwrap().deadline_hours, 4);
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::validation::ValidationError;

/// A stable category code such as `illegal_parking`: lower-case ASCII letters, digits and `_`,
/// 2 to 40 characters. Codes are what the database, the API and data files use.
pub type CategoryCode = String;

/// A compact handle for a category: its position in the [`CategoryTable`] of this process.
/// Not stable across processes or table edits; store the code, not the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CategoryId(pub u16);

/// One category of problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Stable code, e.g. `zombie_car`.
    pub code: CategoryCode,
    /// Chinese name shown by default, e.g. `僵尸车`.
    #[serde(rename = "zh")]
    pub name_zh: String,
    /// English name.
    #[serde(rename = "en")]
    pub name_en: String,
    /// Weight of one open problem in heat scores (1.0 = ordinary).
    pub weight: f64,
    /// Default rectification deadline in working hours (8 working hours = 1 working day).
    pub deadline_hours: u32,
    /// Minutes a rectification team typically spends on site (route planning).
    #[serde(default = "default_service_minutes")]
    pub service_minutes: u32,
    /// Found inside residential buildings (stairwells, windows): public outputs generalise the
    /// location of such problems so a household cannot be identified.
    #[serde(default)]
    pub indoor: bool,
}

fn default_service_minutes() -> u32 {
    10
}

/// The categories known to this process, looked up by code or by [`CategoryId`].
#[derive(Debug, Clone)]
pub struct CategoryTable {
    categories: Vec<Category>,
    by_code: HashMap<String, CategoryId>,
}

/// (code, zh, en, weight, deadline in working hours, service minutes, indoor)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    f64,
    u32,
    u32,
    bool,
);

/// The built-in categories. Deadlines follow the public examples in `DOMAIN.md` (exposed garbage
/// 4 working hours; illegal construction: demolition within 20 working days) and the campaign's
/// "today's problems solved today" (当日事当日毕) for everything a team can clear in one visit.
const BUILTIN: &[Row] = &[
    (
        "stairwell_clutter",
        "楼道堆物",
        "Stairwell clutter",
        1.5,
        8,
        15,
        true,
    ),
    (
        "clutter",
        "乱堆乱放",
        "Clutter in public space",
        1.0,
        8,
        15,
        false,
    ),
    (
        "illegal_parking",
        "违停",
        "Illegal parking",
        1.0,
        4,
        5,
        false,
    ),
    (
        "misparked_bikes",
        "非机动车乱停放",
        "Misparked bikes",
        0.6,
        4,
        10,
        false,
    ),
    ("zombie_car", "僵尸车", "Zombie car", 1.2, 40, 20, false),
    (
        "abandoned_bikes",
        "废旧非机动车",
        "Abandoned bikes",
        0.8,
        16,
        15,
        false,
    ),
    (
        "ad_posters",
        "小广告",
        "Illegal ad posters",
        0.5,
        8,
        10,
        false,
    ),
    (
        "flying_wire_charging",
        "飞线充电",
        "Flying-wire e-bike charging",
        2.0,
        4,
        10,
        true,
    ),
    ("garbage", "垃圾", "Garbage", 1.0, 4, 10, false),
    (
        "greenbelt_litter",
        "绿化带垃圾",
        "Green-belt litter",
        0.7,
        8,
        10,
        false,
    ),
    (
        "illegal_construction",
        "私搭乱建",
        "Illegal construction",
        2.0,
        160,
        30,
        false,
    ),
    (
        "street_vending",
        "占道经营",
        "Street vending",
        1.2,
        4,
        10,
        false,
    ),
    (
        "dog_nuisance",
        "遛狗不牵绳",
        "Unleashed dogs, dog waste",
        0.5,
        8,
        5,
        false,
    ),
    (
        "blocked_fire_lane",
        "消防通道堵塞",
        "Blocked fire lane",
        2.5,
        4,
        10,
        false,
    ),
    (
        "illegal_billboard",
        "违法广告牌",
        "Illegal billboards, banners",
        1.0,
        40,
        20,
        false,
    ),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    #[serde(default)]
    category: Vec<Category>,
}

impl CategoryTable {
    /// The built-in table (every category in `DOMAIN.md`).
    ///
    /// # Panics
    /// Never: the built-in rows are checked by this crate's tests.
    #[must_use]
    pub fn builtin() -> Self {
        let mut t = Self {
            categories: Vec::new(),
            by_code: HashMap::new(),
        };
        for &(code, zh, en, weight, deadline_hours, service_minutes, indoor) in BUILTIN {
            t.upsert(Category {
                code: code.to_owned(),
                name_zh: zh.to_owned(),
                name_en: en.to_owned(),
                weight,
                deadline_hours,
                service_minutes,
                indoor,
            })
            .expect("built-in categories are valid");
        }
        t
    }

    /// Adds the categories of a TOML data file (`[[category]]` tables); a code that exists
    /// already replaces that category's names, weight and deadlines but keeps its id.
    pub fn merge_toml(&mut self, text: &str) -> Result<(), DomainError> {
        let file: TomlFile =
            toml::from_str(text).map_err(|e| DomainError::CategoryTable(e.to_string()))?;
        for c in file.category {
            self.upsert(c)?;
        }
        Ok(())
    }

    fn upsert(&mut self, c: Category) -> Result<CategoryId, ValidationError> {
        validate_code(&c.code)?;
        crate::validation::validate_text("zh", &c.name_zh, 40, true)?;
        crate::validation::validate_text("en", &c.name_en, 80, true)?;
        if !(c.weight.is_finite() && (0.0..=100.0).contains(&c.weight)) {
            return Err(ValidationError::OutOfRange {
                field: "weight",
                value: c.weight,
                min: 0.0,
                max: 100.0,
            });
        }
        if let Some(&id) = self.by_code.get(&c.code) {
            self.categories[usize::from(id.0)] = c;
            return Ok(id);
        }
        let id = CategoryId(u16::try_from(self.categories.len()).map_err(|_| {
            ValidationError::Invalid {
                field: "category",
                message: "too many categories (at most 65,535)".into(),
            }
        })?);
        self.by_code.insert(c.code.clone(), id);
        self.categories.push(c);
        Ok(id)
    }

    /// The category with this code.
    #[must_use]
    pub fn by_code(&self, code: &str) -> Option<&Category> {
        self.by_code
            .get(code)
            .map(|id| &self.categories[usize::from(id.0)])
    }

    /// The id of the category with this code, or an error naming the unknown code.
    pub fn id(&self, code: &str) -> Result<CategoryId, ValidationError> {
        self.by_code
            .get(code)
            .copied()
            .ok_or_else(|| ValidationError::UnknownCategory {
                code: code.to_owned(),
            })
    }

    /// The category behind an id handed out by this table.
    #[must_use]
    pub fn get(&self, id: CategoryId) -> Option<&Category> {
        self.categories.get(usize::from(id.0))
    }

    /// All categories in id order.
    pub fn iter(&self) -> impl Iterator<Item = (CategoryId, &Category)> {
        self.categories
            .iter()
            .enumerate()
            .map(|(i, c)| (CategoryId(i as u16), c))
    }

    /// Number of categories.
    #[must_use]
    pub fn len(&self) -> usize {
        self.categories.len()
    }

    /// Whether the table is empty (never for a table built from [`CategoryTable::builtin`]).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// Heat weights indexed by `CategoryId.0`, for aggregation.
    #[must_use]
    pub fn weights(&self) -> Vec<f64> {
        self.categories.iter().map(|c| c.weight).collect()
    }
}

fn validate_code(code: &str) -> Result<(), ValidationError> {
    let ok = (2..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && code.as_bytes()[0].is_ascii_lowercase();
    if ok {
        Ok(())
    } else {
        Err(ValidationError::Invalid {
            field: "code",
            message: format!(
                "category code {code:?} must be 2-40 characters of a-z, 0-9 and _, starting with a letter"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_covers_domain_md() {
        let t = CategoryTable::builtin();
        // Every category of DOMAIN.md's table, by its Chinese name.
        for zh in [
            "楼道堆物",
            "乱堆乱放",
            "违停",
            "非机动车乱停放",
            "僵尸车",
            "废旧非机动车",
            "小广告",
            "飞线充电",
            "垃圾",
            "绿化带垃圾",
            "私搭乱建",
            "占道经营",
            "遛狗不牵绳",
            "消防通道堵塞",
            "违法广告牌",
        ] {
            assert!(t.iter().any(|(_, c)| c.name_zh == zh), "missing {zh}");
        }
        assert_eq!(t.len(), 15);
        assert!(t.by_code("stairwell_clutter").unwrap().indoor);
        assert!(t.by_code("flying_wire_charging").unwrap().indoor);
        assert!(!t.by_code("garbage").unwrap().indoor);
    }

    #[test]
    fn override_keeps_id_and_unknown_is_named() {
        let mut t = CategoryTable::builtin();
        let id = t.id("garbage").unwrap();
        t.merge_toml(
            "[[category]]\ncode='garbage'\nzh='垃圾'\nen='Garbage'\nweight=3.0\ndeadline_hours=2\n",
        )
        .unwrap();
        assert_eq!(t.id("garbage").unwrap(), id);
        assert_eq!(t.get(id).unwrap().weight, 3.0);
        assert_eq!(
            t.id("nope"),
            Err(ValidationError::UnknownCategory {
                code: "nope".into()
            })
        );
    }

    #[test]
    fn bad_files_are_rejected() {
        let mut t = CategoryTable::builtin();
        assert!(
            t.merge_toml(
                "[[category]]\ncode='Bad Code'\nzh='x'\nen='x'\nweight=1.0\ndeadline_hours=1\n"
            )
            .is_err()
        );
        assert!(
            t.merge_toml(
                "[[category]]\ncode='ok'\nzh='x'\nen='x'\nweight=-1.0\ndeadline_hours=1\n"
            )
            .is_err()
        );
        assert!(t.merge_toml("[[category]]\ncode='ok'\nzh='x'\nen='x'\nweight=1.0\ndeadline_hours=1\ncolour='red'\n").is_err(), "unknown keys are rejected");
        assert!(t.merge_toml("not toml [").is_err());
    }

    #[test]
    fn shipped_data_file_parses() {
        let text = include_str!("../../../data/categories.toml");
        let mut t = CategoryTable::builtin();
        t.merge_toml(text).unwrap();
        assert!(t.len() >= 15);
    }
}
