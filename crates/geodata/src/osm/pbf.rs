//! OSM PBF reader: blobs are decoded in parallel (rayon), in batches so that memory stays
//! bounded by one batch of compressed blocks plus the result.

use std::io::Read;

use osmpbf::{BlobDecode, BlobReader, Element, RelMemberType};
use rayon::prelude::*;

use super::data::{Member, MemberKind, Node, OsmData, Relation, Way};
use super::error::OsmError;

/// Blobs decoded per parallel batch (a blob holds up to 8,000 elements, ~64 KB to 1 MB compressed).
const BATCH: usize = 64;

/// Reads an OSM PBF stream (all features of the OSM PBF spec handled by `osmpbf`: dense and
/// plain nodes, ways, relations, zlib blobs).
///
/// Blob decoding runs on the rayon thread pool; element order is preserved, then sorted by id.
pub fn read_pbf<R: Read + Send>(input: R) -> Result<OsmData, OsmError> {
    let mut data = OsmData::default();
    let mut batch = Vec::with_capacity(BATCH);
    let mut first_index = 0;
    for (i, blob) in BlobReader::new(input).enumerate() {
        let blob = blob.map_err(|e| pbf_error(i, &e))?;
        batch.push(blob);
        if batch.len() == BATCH {
            decode_batch(&mut batch, first_index, &mut data)?;
            first_index = i + 1;
        }
    }
    decode_batch(&mut batch, first_index, &mut data)?;
    data.sort();
    Ok(data)
}

fn pbf_error(blob: usize, e: &osmpbf::Error) -> OsmError {
    OsmError::Pbf {
        blob,
        message: e.to_string(),
    }
}

fn decode_batch(
    batch: &mut Vec<osmpbf::Blob>,
    first_index: usize,
    data: &mut OsmData,
) -> Result<(), OsmError> {
    let parts: Vec<Result<OsmData, OsmError>> = batch
        .par_iter()
        .enumerate()
        .map(|(j, blob)| decode_blob(blob, first_index + j))
        .collect();
    batch.clear();
    for part in parts {
        data.append(part?);
    }
    Ok(())
}

fn decode_blob(blob: &osmpbf::Blob, index: usize) -> Result<OsmData, OsmError> {
    let block = match blob.decode().map_err(|e| pbf_error(index, &e))? {
        BlobDecode::OsmHeader(header) => {
            // Refuse what we would silently misread.
            for feature in header.required_features() {
                if !matches!(
                    feature.as_str(),
                    "OsmSchema-V0.6" | "DenseNodes" | "Sort.Type_then_ID" | "LocationsOnWays"
                ) {
                    return Err(OsmError::Pbf {
                        blob: index,
                        message: format!("unsupported required feature {feature:?}"),
                    });
                }
            }
            return Ok(OsmData::default());
        }
        BlobDecode::OsmData(block) => block,
        BlobDecode::Unknown(_) => return Ok(OsmData::default()),
    };
    let mut out = OsmData::default();
    let mut error = None;
    block.for_each_element(|element| match element {
        Element::Node(n) => out.nodes.push(Node {
            id: n.id(),
            lon: n.lon(),
            lat: n.lat(),
            tags: n.tags().collect(),
        }),
        Element::DenseNode(n) => out.nodes.push(Node {
            id: n.id(),
            lon: n.lon(),
            lat: n.lat(),
            tags: n.tags().collect(),
        }),
        Element::Way(w) => out.ways.push(Way {
            id: w.id(),
            refs: w.refs().collect(),
            tags: w.tags().collect(),
        }),
        Element::Relation(r) => {
            let mut members = Vec::with_capacity(r.members().len());
            for m in r.members() {
                let role = match m.role() {
                    Ok(role) => role.to_owned(),
                    Err(e) => {
                        error.get_or_insert_with(|| {
                            format!("relation {}: bad member role: {e}", r.id())
                        });
                        String::new()
                    }
                };
                members.push(Member {
                    kind: match m.member_type {
                        RelMemberType::Node => MemberKind::Node,
                        RelMemberType::Way => MemberKind::Way,
                        RelMemberType::Relation => MemberKind::Relation,
                    },
                    ref_id: m.member_id,
                    role,
                });
            }
            out.relations.push(Relation {
                id: r.id(),
                members,
                tags: r.tags().collect(),
            });
        }
    });
    match error {
        Some(message) => Err(OsmError::Pbf {
            blob: index,
            message,
        }),
        None => Ok(out),
    }
}
