//! Which OSM objects are three-surroundings points of interest (schools, parks, wet markets).
//!
//! The tag-to-kind table is data: the shipped default is compiled in ([`PoiTable::builtin`]) and
//! is the same as `data/poi_kinds.toml`, which a street office can copy and edit (for instance
//! to add `amenity=childcare`, or the local name of a market) and load with
//! [`PoiTable::from_toml`]. Rules are tried in order; the first match decides the kind.
//!
//! ```
//! use civmap_geodata::poi::PoiTable;
//! use civmap_geodata::osm::Tags;
//! use civmap_domain::PoiKind;
//! let table = PoiTable::builtin();
//! let tags: Tags = [("name", "控江路菜市场"), ("shop", "yes")].into_iter().collect();
//! assert_eq!(table.classify(&tags), Some(PoiKind::Market));
//! let bus_stop: Tags = [("name", "控江菜场"), ("highway", "bus_stop")].into_iter().collect();
//! assert_eq!(table.classify(&bus_stop), None);
//! ```

use std::fmt;
use std::str::FromStr;

use civmap_domain::PoiKind;
use serde::{Deserialize, Deserializer};

use crate::osm::Tags;

/// Error in a POI table file.
#[derive(Debug, thiserror::Error)]
pub enum PoiTableError {
    /// Not valid TOML, or a field is wrong (the message names it and its line).
    #[error("bad POI kind table: {0}")]
    Toml(#[from] toml::de::Error),
    /// A rule that matches nothing useful.
    #[error("bad POI kind table: rule #{index} ({kind}) has neither `tag` nor `name_contains`")]
    EmptyRule {
        /// 1-based rule number in the file.
        index: usize,
        /// Its kind.
        kind: PoiKind,
    },
}

/// A tag condition: `key=value`, or `key=*` for any value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagMatch {
    /// The key.
    pub key: String,
    /// The value, `None` for any value (`key=*`).
    pub value: Option<String>,
}

impl TagMatch {
    /// `true` if `tags` has this tag.
    #[must_use]
    pub fn matches(&self, tags: &Tags) -> bool {
        match (tags.get(&self.key), &self.value) {
            (Some(_), None) => true,
            (Some(v), Some(want)) => v == want,
            (None, _) => false,
        }
    }
}

impl FromStr for TagMatch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| format!("tag condition {s:?} is not `key=value` or `key=*`"))?;
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() {
            return Err(format!("tag condition {s:?} has an empty key or value"));
        }
        Ok(TagMatch {
            key: k.to_owned(),
            value: (v != "*").then(|| v.to_owned()),
        })
    }
}

impl fmt::Display for TagMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value.as_deref().unwrap_or("*"))
    }
}

impl<'de> Deserialize<'de> for TagMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// One rule: all of its conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoiRule {
    /// The kind given to matching objects.
    pub kind: PoiKind,
    /// A required tag.
    #[serde(default)]
    pub tag: Option<TagMatch>,
    /// If not empty, the `name` (or `name:zh`) must contain one of these substrings.
    #[serde(default)]
    pub name_contains: Vec<String>,
    /// The rule does not apply to objects with any of these tags.
    #[serde(default)]
    pub unless: Vec<TagMatch>,
}

impl PoiRule {
    /// `true` if the object with these tags matches.
    #[must_use]
    pub fn matches(&self, tags: &Tags) -> bool {
        if let Some(t) = &self.tag
            && !t.matches(tags)
        {
            return false;
        }
        if !self.name_contains.is_empty() {
            let names = [tags.get("name"), tags.get("name:zh")];
            let hit = names
                .into_iter()
                .flatten()
                .any(|n| self.name_contains.iter().any(|s| n.contains(s.as_str())));
            if !hit {
                return false;
            }
        }
        !self.unless.iter().any(|u| u.matches(tags))
    }
}

/// The ordered tag-to-kind rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoiTable {
    /// Rules in order; the first match wins.
    #[serde(rename = "rule")]
    pub rules: Vec<PoiRule>,
}

impl PoiTable {
    /// The default table: `amenity=school` and `amenity=kindergarten` are schools;
    /// `leisure=park` and `leisure=garden` parks; `amenity=marketplace` and anything whose name
    /// contains 菜场, 菜市场 or 农贸市场 (except roads, stops and routes named after one) markets.
    ///
    ///
    /// `data/poi_kinds.toml` holds the same table (a test checks they are equal).
    #[must_use]
    pub fn builtin() -> Self {
        let tag = |key: &str, value: Option<&str>| TagMatch {
            key: key.to_owned(),
            value: value.map(str::to_owned),
        };
        let rule = |kind, key, value| PoiRule {
            kind,
            tag: Some(tag(key, Some(value))),
            name_contains: Vec::new(),
            unless: Vec::new(),
        };
        PoiTable {
            rules: vec![
                rule(PoiKind::School, "amenity", "school"),
                rule(PoiKind::School, "amenity", "kindergarten"),
                rule(PoiKind::Park, "leisure", "park"),
                rule(PoiKind::Park, "leisure", "garden"),
                rule(PoiKind::Market, "amenity", "marketplace"),
                PoiRule {
                    kind: PoiKind::Market,
                    tag: None,
                    name_contains: ["菜场", "菜市场", "农贸市场"].map(String::from).to_vec(),
                    // A road, bus stop or bus route named after a market is not one.
                    unless: vec![
                        tag("highway", None),
                        tag("public_transport", None),
                        tag("railway", None),
                        tag("type", Some("route")),
                    ],
                },
            ],
        }
    }

    /// Parses a table from TOML (`[[rule]]` entries with `kind`, `tag`, `name_contains`, `unless`).
    pub fn from_toml(text: &str) -> Result<Self, PoiTableError> {
        let table: PoiTable = toml::from_str(text)?;
        for (i, r) in table.rules.iter().enumerate() {
            if r.tag.is_none() && r.name_contains.is_empty() {
                return Err(PoiTableError::EmptyRule {
                    index: i + 1,
                    kind: r.kind,
                });
            }
        }
        Ok(table)
    }

    /// The kind of the object with these tags, if any rule matches.
    #[must_use]
    pub fn classify(&self, tags: &Tags) -> Option<PoiKind> {
        if tags.is_empty() {
            return None;
        }
        self.rules.iter().find(|r| r.matches(tags)).map(|r| r.kind)
    }
}

impl Default for PoiTable {
    fn default() -> Self {
        Self::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().copied().collect()
    }

    /// The compiled-in default equals the issue's table written out with the parser, and the
    /// shipped file (read from disk, as a street office would) parses to the same table.
    #[test]
    fn builtin_equals_the_shipped_file_and_the_issue() {
        let t = |s: &str| Some(s.parse::<TagMatch>().unwrap());
        let rule = |kind, tag: Option<TagMatch>| PoiRule {
            kind,
            tag,
            name_contains: vec![],
            unless: vec![],
        };
        let expected = PoiTable {
            rules: vec![
                rule(PoiKind::School, t("amenity=school")),
                rule(PoiKind::School, t("amenity=kindergarten")),
                rule(PoiKind::Park, t("leisure=park")),
                rule(PoiKind::Park, t("leisure=garden")),
                rule(PoiKind::Market, t("amenity=marketplace")),
                PoiRule {
                    kind: PoiKind::Market,
                    tag: None,
                    name_contains: vec!["菜场".into(), "菜市场".into(), "农贸市场".into()],
                    unless: ["highway=*", "public_transport=*", "railway=*", "type=route"]
                        .iter()
                        .map(|s| s.parse().unwrap())
                        .collect(),
                },
            ],
        };
        assert_eq!(PoiTable::builtin(), expected);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/poi_kinds.toml");
        let from_disk = PoiTable::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(from_disk, expected);
    }

    #[test]
    fn classifies() {
        let t = PoiTable::builtin();
        assert_eq!(
            t.classify(&tags(&[("amenity", "school")])),
            Some(PoiKind::School)
        );
        assert_eq!(
            t.classify(&tags(&[("amenity", "kindergarten")])),
            Some(PoiKind::School)
        );
        assert_eq!(
            t.classify(&tags(&[("leisure", "garden")])),
            Some(PoiKind::Park)
        );
        assert_eq!(
            t.classify(&tags(&[("name:zh", "长白农贸市场")])),
            Some(PoiKind::Market)
        );
        // 菜鸟驿站 (parcel lockers) contains 菜 but not 菜场.
        assert_eq!(t.classify(&tags(&[("name", "同济大学菜鸟驿站")])), None);
        assert_eq!(
            t.classify(&tags(&[("name", "菜场路"), ("highway", "residential")])),
            None
        );
        assert_eq!(t.classify(&tags(&[("amenity", "university")])), None);
        assert_eq!(t.classify(&Tags::default()), None);
    }

    #[test]
    fn bad_tables_name_the_problem() {
        let err = PoiTable::from_toml("[[rule]]\nkind = \"mall\"\ntag = \"shop=mall\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("mall"), "{err}");
        let err = PoiTable::from_toml("[[rule]]\nkind = \"park\"\ntag = \"leisure\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("key=value"), "{err}");
        let err = PoiTable::from_toml("[[rule]]\nkind = \"park\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("rule #1"), "{err}");
        let err = PoiTable::from_toml("[[rule]]\nkind = \"park\"\ntags = \"a=b\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("tags"), "{err}");
    }
}
