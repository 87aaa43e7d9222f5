//! Streaming OSM XML reader (quick-xml events; no DOM).

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::data::{Member, MemberKind, Node, OsmData, Relation, Tags, Way};
use super::error::OsmError;

/// The element being assembled between its start and end tags.
enum Current {
    None,
    Node(Node, Vec<(Box<str>, Box<str>)>),
    Way(Way, Vec<(Box<str>, Box<str>)>),
    Relation(Relation, Vec<(Box<str>, Box<str>)>),
}

impl Current {
    fn describe(&self) -> Option<String> {
        match self {
            Current::None => None,
            Current::Node(n, _) => Some(format!("<node id=\"{}\">", n.id)),
            Current::Way(w, _) => Some(format!("<way id=\"{}\">", w.id)),
            Current::Relation(r, _) => Some(format!("<relation id=\"{}\">", r.id)),
        }
    }
}

struct Parser {
    data: OsmData,
    current: Current,
    /// Element nesting depth (0 = outside the root).
    depth: usize,
    saw_root: bool,
    /// Set when the current top-level element is marked deleted (JOSM `action="delete"` or
    /// `visible="false"`); it is read (to validate it) but not kept.
    skip_current: bool,
}

/// Reads OSM XML (the `<osm version="0.6">` format written by the OSM API, JOSM, osmium,
/// osmosis) from a buffered reader, streaming.
///
/// Elements marked `action="delete"` (JOSM) or `visible="false"` are skipped. Errors name
/// the byte offset and the element; [`super::read_path`] adds the line number.
pub fn read_xml<R: BufRead>(input: R) -> Result<OsmData, OsmError> {
    let mut reader = Reader::from_reader(input);
    reader.config_mut().check_end_names = true;
    let mut parser = Parser {
        data: OsmData::default(),
        current: Current::None,
        depth: 0,
        saw_root: false,
        skip_current: false,
    };
    let mut buf = Vec::with_capacity(1024);
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                return Err(OsmError::Xml {
                    offset: reader.error_position(),
                    line: None,
                    element: parser.current.describe(),
                    message: e.to_string(),
                });
            }
        };
        let at = reader.buffer_position();
        let result = match event {
            Event::Start(e) => {
                parser.depth += 1;
                parser.start(&e, true)
            }
            Event::Empty(e) => parser.start(&e, false),
            Event::End(e) => {
                parser.depth = parser.depth.saturating_sub(1);
                parser.end(e.name().as_ref());
                Ok(())
            }
            Event::Eof => break,
            _ => Ok(()),
        };
        if let Err(message) = result {
            return Err(OsmError::Xml {
                offset: at,
                line: None,
                element: parser.current.describe(),
                message,
            });
        }
        buf.clear();
    }
    let end = reader.buffer_position();
    if parser.depth > 0 {
        return Err(OsmError::Xml {
            offset: end,
            line: None,
            element: parser.current.describe(),
            message: format!(
                "file ends inside {} open element(s): truncated file?",
                parser.depth
            ),
        });
    }
    if !parser.saw_root {
        return Err(OsmError::Xml {
            offset: end,
            line: None,
            element: None,
            message: "no <osm> root element: not an OSM XML file".into(),
        });
    }
    let mut data = parser.data;
    data.sort();
    Ok(data)
}

impl Parser {
    fn start(&mut self, e: &BytesStart<'_>, has_children: bool) -> Result<(), String> {
        let name = e.name();
        let name = name.as_ref();
        if !self.saw_root {
            if name != b"osm" {
                return Err(format!(
                    "root element is <{}>, expected <osm>",
                    String::from_utf8_lossy(name)
                ));
            }
            self.saw_root = true;
            return Ok(());
        }
        match name {
            b"node" | b"way" | b"relation" => self.begin_element(name, e, has_children)?,
            b"tag" => {
                let attrs = Attrs::read(e)?;
                let k = attrs.required("k")?;
                let v = attrs.required("v")?;
                match &mut self.current {
                    Current::Node(_, t) | Current::Way(_, t) | Current::Relation(_, t) => {
                        t.push((k.into(), v.into()));
                    }
                    // Tags of changesets, notes etc.: not map data.
                    Current::None => {}
                }
            }
            b"nd" => {
                let Current::Way(way, _) = &mut self.current else {
                    return Err("<nd> outside a <way>".into());
                };
                let attrs = Attrs::read(e)?;
                way.refs.push(attrs.int("ref")?);
            }
            b"member" => {
                let Current::Relation(rel, _) = &mut self.current else {
                    return Err("<member> outside a <relation>".into());
                };
                let attrs = Attrs::read(e)?;
                let kind = match attrs.required("type")? {
                    "node" => MemberKind::Node,
                    "way" => MemberKind::Way,
                    "relation" => MemberKind::Relation,
                    other => {
                        return Err(format!(
                            "member type {other:?} (expected node, way or relation)"
                        ));
                    }
                };
                rel.members.push(Member {
                    kind,
                    ref_id: attrs.int("ref")?,
                    role: attrs.get("role").unwrap_or_default().to_owned(),
                });
            }
            // <bounds>, <bound>, <note>, <meta>, <changeset>, ...: not needed.
            _ => {}
        }
        Ok(())
    }

    /// Starts a `<node>`, `<way>` or `<relation>`.
    fn begin_element(
        &mut self,
        name: &[u8],
        e: &BytesStart<'_>,
        has_children: bool,
    ) -> Result<(), String> {
        if !matches!(self.current, Current::None) {
            return Err(format!(
                "<{}> nested inside another element",
                String::from_utf8_lossy(name)
            ));
        }
        let attrs = Attrs::read(e)?;
        let id = attrs.int("id")?;
        self.skip_current =
            attrs.get("action") == Some("delete") || attrs.get("visible") == Some("false");
        self.current = match name {
            b"node" => {
                let lat = attrs.coord("lat", 90.0)?;
                let lon = attrs.coord("lon", 180.0)?;
                Current::Node(
                    Node {
                        id,
                        lon,
                        lat,
                        tags: Tags::default(),
                    },
                    Vec::new(),
                )
            }
            b"way" => Current::Way(
                Way {
                    id,
                    refs: Vec::new(),
                    tags: Tags::default(),
                },
                Vec::new(),
            ),
            _ => Current::Relation(
                Relation {
                    id,
                    members: Vec::new(),
                    tags: Tags::default(),
                },
                Vec::new(),
            ),
        };
        if !has_children {
            self.finish();
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8]) {
        if matches!(name, b"node" | b"way" | b"relation") {
            self.finish();
        }
    }

    fn finish(&mut self) {
        let current = std::mem::replace(&mut self.current, Current::None);
        if std::mem::take(&mut self.skip_current) {
            return;
        }
        match current {
            Current::None => {}
            Current::Node(mut n, t) => {
                n.tags = Tags(t.into_boxed_slice());
                self.data.nodes.push(n);
            }
            Current::Way(mut w, t) => {
                w.tags = Tags(t.into_boxed_slice());
                w.refs.shrink_to_fit();
                self.data.ways.push(w);
            }
            Current::Relation(mut r, t) => {
                r.tags = Tags(t.into_boxed_slice());
                self.data.relations.push(r);
            }
        }
    }
}

/// The attributes of one element, unescaped.
struct Attrs(Vec<(Vec<u8>, String)>);

impl Attrs {
    fn read(e: &BytesStart<'_>) -> Result<Self, String> {
        let mut out = Vec::with_capacity(4);
        for a in e.attributes() {
            let a = a.map_err(|err| format!("bad attribute: {err}"))?;
            let value = a
                .unescape_value()
                .map_err(|err| format!("bad attribute value: {err}"))?;
            out.push((a.key.as_ref().to_vec(), value.into_owned()));
        }
        Ok(Attrs(out))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key.as_bytes())
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, key: &str) -> Result<&str, String> {
        self.get(key)
            .ok_or_else(|| format!("missing attribute {key:?}"))
    }

    fn int(&self, key: &str) -> Result<i64, String> {
        let v = self.required(key)?;
        v.parse()
            .map_err(|_| format!("attribute {key}={v:?} is not an integer"))
    }

    fn coord(&self, key: &str, limit: f64) -> Result<f64, String> {
        let v = self.required(key)?;
        let x: f64 = v
            .parse()
            .map_err(|_| format!("attribute {key}={v:?} is not a number"))?;
        if !(-limit..=limit).contains(&x) {
            return Err(format!(
                "attribute {key}={v} is outside [-{limit}, {limit}]"
            ));
        }
        Ok(x)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn err_of(xml: &str) -> (u64, Option<String>, String) {
        match read_xml(xml.as_bytes()) {
            Err(OsmError::Xml {
                offset,
                element,
                message,
                ..
            }) => (offset, element, message),
            other => panic!("expected an XML error, got {other:?}"),
        }
    }

    #[test]
    fn reads_nodes_ways_relations_with_tags() {
        let xml = r#"<?xml version="1.0"?>
<osm version="0.6">
 <bounds minlat="0" minlon="0" maxlat="1" maxlon="1"/>
 <node id="2" lat="1.5" lon="-2.25"/>
 <node id="1" lat="0.5" lon="0.25"><tag k="name" v="A &amp; B"/></node>
 <way id="7"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/></way>
 <relation id="9"><member type="way" ref="7" role="outer"/><member type="node" ref="1" role=""/>
  <tag k="type" v="multipolygon"/></relation>
 <node id="3" lat="0" lon="0" action="delete"/>
 <node id="4" lat="0" lon="0" visible="false"><tag k="x" v="y"/></node>
</osm>"#;
        let d = read_xml(xml.as_bytes()).unwrap();
        assert_eq!(d.nodes.len(), 2, "deleted nodes are skipped");
        assert_eq!(d.nodes[0].id, 1, "sorted by id");
        assert_eq!(d.node(1).unwrap().tags.get("name"), Some("A & B"));
        assert_eq!(d.coords(2), Some([-2.25, 1.5]));
        assert_eq!(d.way(7).unwrap().refs, vec![1, 2]);
        let r = d.relation(9).unwrap();
        assert_eq!(r.members[0].kind, MemberKind::Way);
        assert_eq!(r.members[0].role, "outer");
        assert_eq!(r.members[1].kind, MemberKind::Node);
        assert_eq!(r.tags.get("type"), Some("multipolygon"));
    }

    #[test]
    fn mismatched_end_tag_names_the_element_and_offset() {
        let xml = "<osm>\n<way id=\"42\"><nd ref=\"1\"/></node>\n</osm>";
        let (offset, element, message) = err_of(xml);
        assert!(offset > 6 && offset <= xml.len() as u64, "offset {offset}");
        assert_eq!(element.as_deref(), Some("<way id=\"42\">"));
        assert!(message.contains("node"), "{message}");
    }

    #[test]
    fn bad_coordinate_is_an_error() {
        let (_, element, message) = err_of(r#"<osm><node id="5" lat="95" lon="1"/></osm>"#);
        assert!(message.contains("lat=95"), "{message}");
        assert_eq!(element, None);
        let (_, _, message) = err_of(r#"<osm><node id="x5" lat="1" lon="1"/></osm>"#);
        assert!(message.contains("id=\"x5\""), "{message}");
        let (_, _, message) = err_of(r#"<osm><node id="5" lat="1"/></osm>"#);
        assert!(message.contains("\"lon\""), "{message}");
    }

    #[test]
    fn truncated_file_is_an_error() {
        let (_, element, message) = err_of(r#"<osm><way id="3"><nd ref="1"/>"#);
        assert!(message.contains("truncated"), "{message}");
        assert_eq!(element.as_deref(), Some("<way id=\"3\">"));
    }

    #[test]
    fn non_osm_root_is_an_error() {
        let (_, _, message) = err_of(r"<html><body/></html>");
        assert!(message.contains("<html>"), "{message}");
        let (_, _, message) = err_of("");
        assert!(message.contains("no <osm>"), "{message}");
    }

    #[test]
    fn nd_outside_way_is_an_error() {
        let (_, element, message) =
            err_of(r#"<osm><relation id="8"><nd ref="1"/></relation></osm>"#);
        assert!(message.contains("<nd> outside"), "{message}");
        assert_eq!(element.as_deref(), Some("<relation id=\"8\">"));
    }
}
