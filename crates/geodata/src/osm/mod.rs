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

mod data;
mod error;
mod pbf;
mod xml;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

pub use data::{Member, MemberKind, Node, OsmData, Relation, Tags, Way};
pub use error::OsmError;
pub use pbf::read_pbf;
pub use xml::read_xml;

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
}
