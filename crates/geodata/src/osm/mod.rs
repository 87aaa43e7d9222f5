//! OpenStreetMap readers: PBF, XML and gzipped XML into one in-memory [`OsmData`].
//!
//! Coordinates are WGS-84 degrees, stored as `lon`, `lat` (RFC 7946 order) exactly as in the file.
//! [`read_path`] detects the format from the first bytes of the file (not its name):
//! gzip magic `1f 8b`, a PBF `OSMHeader` blob, or XML (`<`, optionally after a BOM / whitespace).
//!
//! Every reader returns nodes, ways and relations sorted by id, so [`OsmData::node`],
//! [`OsmData::way`] and [`OsmData::relation`] are binary searches and no hash map is needed
//! (a whole country's node table is the largest thing in memory; a [`Node`] is 40 bytes plus
//! its tags, and most nodes have none).
//!
//! ```
//! use civmap_geodata::osm;
//! let xml = r#"<osm version="0.6">
//!   <node id="1" lat="31.2840" lon="121.4950"><tag k="amenity" v="school"/></node>
//!   <node id="2" lat="31.2850" lon="121.4960"/>
//!   <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
//! </osm>"#;
//! let data = osm::read_xml(xml.as_bytes()).unwrap();
//! assert_eq!(data.node(1).unwrap().tags.get("amenity"), Some("school"));
//! assert_eq!(data.way_coords(&data.ways[0]).unwrap(), vec![[121.4950, 31.2840], [121.4960, 31.2850]]);
//! ```

mod pbf;
mod xml;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

pub use pbf::read_pbf;
pub use xml::read_xml;

/// Errors of the OSM readers. Each names the file position or element that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum OsmError {
    /// The file could not be opened or read.
    #[error("cannot read OSM file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An I/O error while reading a stream (no path known).
    #[error("cannot read OSM data: {0}")]
    Stream(#[from] std::io::Error),
    /// The content is neither PBF, XML nor gzipped XML.
    #[error(
        "{path}: not an OpenStreetMap file (expected PBF, XML or gzipped XML; first bytes {head})"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// The first bytes, in hex.
        head: String,
    },
    /// Malformed XML, or XML that is not valid OSM (missing id, bad coordinate, ...).
    #[error("malformed OSM XML at byte {offset}{}{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default(), element.as_ref().map(|e| format!(" in {e}")).unwrap_or_default())]
    Xml {
        /// Byte offset in the (decompressed) XML where the problem was found.
        offset: u64,
        /// 1-based line of `offset`, when the reader could compute it (files read by [`read_path`]).
        line: Option<u64>,
        /// The element being read, e.g. `<way id="42">`.
        element: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// Malformed PBF.
    #[error("malformed OSM PBF in blob #{blob}: {message}")]
    Pbf {
        /// 0-based index of the file block (blob) that failed.
        blob: usize,
        /// What is wrong.
        message: String,
    },
}

/// Tags of an OSM element: key/value pairs in file order.
///
/// Stored as one boxed slice (16 bytes when empty, no allocation), because most nodes have no tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Box<[(Box<str>, Box<str>)]>);

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

    fn append(&mut self, mut other: OsmData) {
        self.nodes.append(&mut other.nodes);
        self.ways.append(&mut other.ways);
        self.relations.append(&mut other.relations);
    }
}

/// The formats [`read_path`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OSM PBF (`.osm.pbf`).
    Pbf,
    /// OSM XML (`.osm`).
    Xml,
    /// Gzipped OSM XML (`.osm.gz`).
    XmlGz,
}

/// Detects the format from the first bytes of a file; `None` if it is none of the three.
#[must_use]
pub fn detect_format(head: &[u8]) -> Option<Format> {
    if head.starts_with(&[0x1f, 0x8b]) {
        return Some(Format::XmlGz);
    }
    // A PBF file starts with a 4-byte big-endian BlobHeader length, then the BlobHeader
    // protobuf whose field 1 (tag 0x0a) is the string "OSMHeader" (length 9).
    if head.len() >= 15 && head[4] == 0x0a && head[5] == 9 && &head[6..15] == b"OSMHeader" {
        return Some(Format::Pbf);
    }
    let rest = head.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(head);
    let first = rest.iter().find(|b| !b.is_ascii_whitespace());
    (first == Some(&b'<')).then_some(Format::Xml)
}

/// Reads an OSM file in PBF, XML or gzipped XML, detected by content.
///
/// XML errors carry the byte offset and line number of the problem.
pub fn read_path(path: &Path) -> Result<OsmData, OsmError> {
    let io_err = |source| OsmError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = BufReader::with_capacity(1 << 16, File::open(path).map_err(io_err)?);
    let head = file.fill_buf().map_err(io_err)?;
    let format = detect_format(head).ok_or_else(|| OsmError::UnknownFormat {
        path: path.to_owned(),
        head: head
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" "),
    })?;
    let result = match format {
        Format::Pbf => read_pbf(file),
        Format::Xml => read_xml(file),
        Format::XmlGz => read_xml(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(file),
        )),
    };
    match result {
        Err(OsmError::Xml {
            offset,
            line: None,
            element,
            message,
        }) => {
            // Streaming readers do not count lines; find the line by reading the file again,
            // which only happens on the error path.
            let line = line_of_offset(path, format, offset).ok();
            Err(OsmError::Xml {
                offset,
                line,
                element,
                message,
            })
        }
        Err(OsmError::Stream(source)) => Err(io_err(source)),
        other => other,
    }
}

// Error path only: a plain byte loop is fast enough and needs no extra crate.
#[allow(clippy::naive_bytecount)]
fn line_of_offset(path: &Path, format: Format, offset: u64) -> std::io::Result<u64> {
    let file = BufReader::new(File::open(path)?);
    let reader: Box<dyn Read> = match format {
        Format::XmlGz => Box::new(flate2::bufread::MultiGzDecoder::new(file)),
        _ => Box::new(file),
    };
    let mut line = 1;
    let mut buf = [0u8; 1 << 14];
    let mut limited = reader.take(offset);
    loop {
        let n = limited.read(&mut buf)?;
        if n == 0 {
            return Ok(line);
        }
        line += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_by_magic() {
        assert_eq!(detect_format(&[0x1f, 0x8b, 8, 0]), Some(Format::XmlGz));
        assert_eq!(detect_format(b"\xef\xbb\xbf <?xml"), Some(Format::Xml));
        assert_eq!(detect_format(b"\n<osm>"), Some(Format::Xml));
        let mut pbf = vec![0, 0, 0, 13, 0x0a, 9];
        pbf.extend_from_slice(b"OSMHeader");
        assert_eq!(detect_format(&pbf), Some(Format::Pbf));
        assert_eq!(detect_format(b"{\"type\":"), None);
        assert_eq!(detect_format(b""), None);
    }

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
