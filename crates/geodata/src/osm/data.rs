//! The content of an OSM file in memory: nodes, ways, relations and their tags, sorted by id.
//!
//! The readers (`pbf`, `xml`) build it and the extractors read it; it does no I/O and uses neither.

use std::collections::HashMap;

/// Tags of an OSM element: key/value pairs in file order.
///
/// Stored as one boxed slice (16 bytes when empty, no allocation), because most nodes have no tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(pub(super) Box<[(Box<str>, Box<str>)]>);

impl Tags {
    /// The value of `key`, if present.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| &**k == key).map(|(_, v)| &**v)
    }

    /// `true` if the tag `key=value` is present.
    #[must_use]
    pub fn has(&self, key: &str, value: &str) -> bool {
        self.get(key) == Some(value)
    }

    /// `true` if there are no tags.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of tags.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// All `(key, value)` pairs in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }
}

impl<K: Into<Box<str>>, V: Into<Box<str>>> FromIterator<(K, V)> for Tags {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Tags(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// An OSM node: a point in WGS-84 degrees.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// OSM node id (negative for unsaved JOSM edits).
    pub id: i64,
    /// Longitude, degrees east (WGS-84).
    pub lon: f64,
    /// Latitude, degrees north (WGS-84).
    pub lat: f64,
    /// Tags (usually empty).
    pub tags: Tags,
}

/// An OSM way: an ordered list of node ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Way {
    /// OSM way id.
    pub id: i64,
    /// Node ids in order; a closed way repeats its first id at the end.
    pub refs: Vec<i64>,
    /// Tags.
    pub tags: Tags,
}

impl Way {
    /// `true` if the way has at least 4 refs and ends where it starts (a ring).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.refs.len() >= 4 && self.refs.first() == self.refs.last()
    }
}

/// What a relation member refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberKind {
    /// A node.
    Node,
    /// A way.
    Way,
    /// Another relation.
    Relation,
}

/// A relation member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Kind of the referenced element.
    pub kind: MemberKind,
    /// Id of the referenced element.
    pub ref_id: i64,
    /// Role, e.g. `outer`, `inner`, `street` (may be empty).
    pub role: String,
}

/// An OSM relation.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// OSM relation id.
    pub id: i64,
    /// Members in order.
    pub members: Vec<Member>,
    /// Tags.
    pub tags: Tags,
}

/// The content of an OSM file. Each vector is sorted by id (the readers guarantee it; if you
/// build or edit one by hand, call [`OsmData::sort`] before using the lookups).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsmData {
    /// All nodes, sorted by id.
    pub nodes: Vec<Node>,
    /// All ways, sorted by id.
    pub ways: Vec<Way>,
    /// All relations, sorted by id.
    pub relations: Vec<Relation>,
}

impl OsmData {
    /// Sorts nodes, ways and relations by id (stable; a no-op check when already sorted,
    /// which is the usual case for files written by osmium, osmosis or the OSM API).
    pub fn sort(&mut self) {
        if !self.nodes.is_sorted_by_key(|n| n.id) {
            self.nodes.sort_by_key(|n| n.id);
        }
        if !self.ways.is_sorted_by_key(|w| w.id) {
            self.ways.sort_by_key(|w| w.id);
        }
        if !self.relations.is_sorted_by_key(|r| r.id) {
            self.relations.sort_by_key(|r| r.id);
        }
    }

    /// The node with this id (binary search).
    #[must_use]
    pub fn node(&self, id: i64) -> Option<&Node> {
        self.nodes
            .binary_search_by_key(&id, |n| n.id)
            .ok()
            .map(|i| &self.nodes[i])
    }

    /// `[lon, lat]` of the node with this id (WGS-84 degrees).
    #[must_use]
    pub fn coords(&self, id: i64) -> Option<[f64; 2]> {
        self.node(id).map(|n| [n.lon, n.lat])
    }

    /// The way with this id (binary search).
    #[must_use]
    pub fn way(&self, id: i64) -> Option<&Way> {
        self.ways
            .binary_search_by_key(&id, |w| w.id)
            .ok()
            .map(|i| &self.ways[i])
    }

    /// The relation with this id (binary search).
    #[must_use]
    pub fn relation(&self, id: i64) -> Option<&Relation> {
        self.relations
            .binary_search_by_key(&id, |r| r.id)
            .ok()
            .map(|i| &self.relations[i])
    }

    /// `[lon, lat]` of every node of `way`, in order; `None` if any node is missing from the
    /// file (bbox extracts cut ways at the border).
    #[must_use]
    pub fn way_coords(&self, way: &Way) -> Option<Vec<[f64; 2]>> {
        way.refs.iter().map(|&r| self.coords(r)).collect()
    }

    /// A hash map from node id to `[lon, lat]`. Prefer [`OsmData::coords`] (no extra memory);
    /// this is for callers that need many random lookups on data they have re-ordered.
    #[must_use]
    pub fn node_coords(&self) -> HashMap<i64, [f64; 2]> {
        self.nodes.iter().map(|n| (n.id, [n.lon, n.lat])).collect()
    }

    /// Bounding box of all nodes as `[min_lon, min_lat, max_lon, max_lat]`, `None` if there are none.
    #[must_use]
    pub fn bbox(&self) -> Option<[f64; 4]> {
        let first = self.nodes.first()?;
        let init = [first.lon, first.lat, first.lon, first.lat];
        Some(self.nodes.iter().fold(init, |b, n| {
            [
                b[0].min(n.lon),
                b[1].min(n.lat),
                b[2].max(n.lon),
                b[3].max(n.lat),
            ]
        }))
    }

    /// Moves every element of `other` to the end of `self` (the PBF reader joins its blocks).
    pub(super) fn append(&mut self, mut other: OsmData) {
        self.nodes.append(&mut other.nodes);
        self.ways.append(&mut other.ways);
        self.relations.append(&mut other.relations);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn tags_lookup() {
        let t: Tags = [("a", "1"), ("b", "2")].into_iter().collect();
        assert_eq!(t.get("b"), Some("2"));
        assert_eq!(t.get("c"), None);
        assert!(t.has("a", "1"));
        assert_eq!(t.len(), 2);
        assert_eq!(std::mem::size_of::<Node>(), 40);
    }

    #[test]
    fn sort_makes_lookups_work() {
        let mut d = OsmData {
            nodes: vec![
                Node {
                    id: 5,
                    lon: 1.0,
                    lat: 2.0,
                    tags: Tags::default(),
                },
                Node {
                    id: -3,
                    lon: 3.0,
                    lat: 4.0,
                    tags: Tags::default(),
                },
            ],
            ..OsmData::default()
        };
        d.sort();
        assert_eq!(d.coords(-3), Some([3.0, 4.0]));
        assert_eq!(d.coords(5), Some([1.0, 2.0]));
        assert_eq!(d.coords(4), None);
        assert_eq!(d.bbox(), Some([1.0, 2.0, 3.0, 4.0]));
    }
}
