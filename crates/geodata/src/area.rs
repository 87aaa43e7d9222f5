//! Areas from OSM: closed ways to polygons, multipolygon / boundary relations to multipolygons.
//!
//! Relation rings are assembled from member ways joined end to end (ways may be split anywhere
//! and point either way). Outer/inner is decided by nesting, not by the member roles, which are
//! often wrong in real data: a ring inside an even number of other rings is an outer ring, inside
//! an odd number a hole of its smallest enclosing ring. Output rings follow RFC 7946 (exterior
//! counter-clockwise, holes clockwise); coordinates are WGS-84 lon/lat.

use geo::{
    Area, Contains, InteriorPoint, LineString, MultiPolygon, Orient, Polygon, orient::Direction,
};

use crate::osm::{MemberKind, OsmData, Relation, Way};

/// Why an area could not be built. Shown in import reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaProblem {
    /// A node of the way is not in the file (typical at the edge of a bbox extract).
    #[error("node {node} of way {way} is not in the file")]
    MissingNode {
        /// The way.
        way: i64,
        /// The missing node.
        node: i64,
    },
    /// A member way of the relation is not in the file.
    #[error("member way {0} is not in the file")]
    MissingWay(i64),
    /// The member ways do not join into closed rings.
    #[error("member ways do not form closed rings (open end at node {0})")]
    OpenRing(i64),
    /// The way is not closed or has fewer than 4 nodes.
    #[error("way is not a closed ring of at least 4 nodes")]
    NotClosed,
    /// The relation has no usable outer ring.
    #[error("no outer ring")]
    Empty,
}

/// The polygon of a closed way (exterior counter-clockwise).
pub fn way_polygon(data: &OsmData, way: &Way) -> Result<Polygon<f64>, AreaProblem> {
    if !way.is_closed() {
        return Err(AreaProblem::NotClosed);
    }
    let ring = ring_coords(data, way.id, &way.refs)?;
    Ok(Polygon::new(ring, vec![]).orient(Direction::Default))
}

/// The multipolygon of a `type=multipolygon` or `type=boundary` relation, from its member ways
/// whose role is `outer`, `inner` or empty (other roles such as `label`, `subarea` are ignored).
pub fn relation_multipolygon(
    data: &OsmData,
    relation: &Relation,
) -> Result<MultiPolygon<f64>, AreaProblem> {
    let mut segments = Vec::new();
    for m in area_members(relation) {
        let way = data.way(m).ok_or(AreaProblem::MissingWay(m))?;
        if way.refs.len() >= 2 {
            segments.push((way.id, way.refs.clone()));
        }
    }
    let rings = join_rings(segments)?;
    let mut coords = Vec::with_capacity(rings.len());
    for (way_id, ids) in rings {
        coords.push(ring_coords(data, way_id, &ids)?);
    }
    nest_rings(coords)
}

/// Ids of the member ways of `relation` that make up its area (roles `outer`, `inner`, empty).
pub fn area_members(relation: &Relation) -> impl Iterator<Item = i64> + '_ {
    relation
        .members
        .iter()
        .filter(|m| m.kind == MemberKind::Way && matches!(m.role.as_str(), "outer" | "inner" | ""))
        .map(|m| m.ref_id)
}

fn ring_coords(data: &OsmData, way: i64, ids: &[i64]) -> Result<LineString<f64>, AreaProblem> {
    let mut coords = Vec::with_capacity(ids.len());
    for &node in ids {
        let [x, y] = data
            .coords(node)
            .ok_or(AreaProblem::MissingNode { way, node })?;
        coords.push(geo::coord! { x: x, y: y });
    }
    if coords.len() < 4 {
        return Err(AreaProblem::NotClosed);
    }
    Ok(LineString::new(coords))
}

/// Joins node-id sequences end to end into closed rings. Each ring is tagged with the id of
/// (one of) its ways, for error messages.
fn join_rings(mut open: Vec<(i64, Vec<i64>)>) -> Result<Vec<(i64, Vec<i64>)>, AreaProblem> {
    let mut rings = Vec::new();
    // Closed ways are rings already.
    open.retain(|(id, refs)| {
        if refs.len() >= 4 && refs.first() == refs.last() {
            rings.push((*id, refs.clone()));
            false
        } else {
            true
        }
    });
    while let Some((id, mut ring)) = open.pop() {
        loop {
            let (first, last) = (ring[0], ring[ring.len() - 1]);
            if first == last {
                break;
            }
            // Find a segment touching the open end; reverse it when it points the other way.
            let Some(i) = open
                .iter()
                .position(|(_, s)| s[0] == last || s[s.len() - 1] == last)
            else {
                return Err(AreaProblem::OpenRing(last));
            };
            let (_, mut seg) = open.swap_remove(i);
            if seg[0] != last {
                seg.reverse();
            }
            ring.extend_from_slice(&seg[1..]);
        }
        if ring.len() >= 4 {
            rings.push((id, ring));
        }
    }
    Ok(rings)
}

/// Builds polygons from rings by nesting depth (see the module docs).
fn nest_rings(rings: Vec<LineString<f64>>) -> Result<MultiPolygon<f64>, AreaProblem> {
    let mut polys: Vec<(f64, Polygon<f64>)> = rings
        .into_iter()
        .map(|r| {
            let p = Polygon::new(r, vec![]);
            (p.unsigned_area(), p)
        })
        .filter(|(a, _)| *a > 0.0)
        .collect();
    // Largest first: a ring's possible parents come before it.
    polys.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut depth = vec![0usize; polys.len()];
    let mut parent: Vec<Option<usize>> = vec![None; polys.len()];
    for i in 0..polys.len() {
        let Some(probe) = polys[i].1.interior_point() else {
            continue;
        };
        for (j, (_, outer)) in polys.iter().enumerate().take(i) {
            if outer.contains(&probe) {
                depth[i] += 1;
                // Later (smaller) containing rings are closer parents.
                parent[i] = Some(j);
            }
        }
    }
    let mut out: Vec<Option<Polygon<f64>>> = polys
        .iter()
        .enumerate()
        .map(|(i, (_, p))| depth[i].is_multiple_of(2).then(|| p.clone()))
        .collect();
    for i in 0..polys.len() {
        if depth[i] % 2 == 1
            && let Some(j) = parent[i]
            && let Some(outer) = out[j].as_mut()
        {
            outer.interiors_push(polys[i].1.exterior().clone());
        }
    }
    let mp: MultiPolygon<f64> = out.into_iter().flatten().collect();
    if mp.0.is_empty() {
        return Err(AreaProblem::Empty);
    }
    Ok(mp.orient(Direction::Default))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osm::{Member, Node, Tags};
    use geo::Area;

    fn node(id: i64, lon: f64, lat: f64) -> Node {
        Node {
            id,
            lon,
            lat,
            tags: Tags::default(),
        }
    }

    fn way(id: i64, refs: &[i64]) -> Way {
        Way {
            id,
            refs: refs.to_vec(),
            tags: Tags::default(),
        }
    }

    fn member(way: i64, role: &str) -> Member {
        Member {
            kind: MemberKind::Way,
            ref_id: way,
            role: role.into(),
        }
    }

    /// An outer square 0..10 split into two open ways (one reversed), a hole 4..6 with a wrong
    /// role, and an island 4.5..5.5 inside the hole.
    fn sample() -> (OsmData, Relation) {
        let mut d = OsmData {
            nodes: vec![
                node(1, 0.0, 0.0),
                node(2, 10.0, 0.0),
                node(3, 10.0, 10.0),
                node(4, 0.0, 10.0),
                node(11, 4.0, 4.0),
                node(12, 6.0, 4.0),
                node(13, 6.0, 6.0),
                node(14, 4.0, 6.0),
                node(21, 4.5, 4.5),
                node(22, 5.5, 4.5),
                node(23, 5.5, 5.5),
                node(24, 4.5, 5.5),
            ],
            ways: vec![
                way(100, &[1, 2, 3]),
                way(101, &[1, 4, 3]),
                way(102, &[11, 12, 13, 14, 11]),
                way(103, &[21, 22, 23, 24, 21]),
            ],
            relations: vec![],
        };
        d.sort();
        let r = Relation {
            id: 9,
            members: vec![
                member(100, "outer"),
                member(101, "outer"),
                member(102, "outer"), // wrong role: nesting makes it a hole
                member(103, "inner"), // wrong role: nesting makes it an island
                Member {
                    kind: MemberKind::Node,
                    ref_id: 1,
                    role: "label".into(),
                },
            ],
            tags: Tags::default(),
        };
        (d, r)
    }

    #[test]
    fn assembles_split_reversed_rings_and_nests_by_containment() {
        let (d, r) = sample();
        let mp = relation_multipolygon(&d, &r).unwrap();
        assert_eq!(mp.0.len(), 2, "outer-with-hole and the island");
        let area = mp.unsigned_area();
        assert!((area - (100.0 - 4.0 + 1.0)).abs() < 1e-9, "{area}");
        // RFC 7946 orientation: exteriors counter-clockwise (positive signed area).
        for p in &mp.0 {
            assert!(Polygon::new(p.exterior().clone(), vec![]).signed_area() > 0.0);
            for h in p.interiors() {
                assert!(Polygon::new(h.clone(), vec![]).signed_area() < 0.0);
            }
        }
    }

    #[test]
    fn reports_missing_and_open() {
        let (mut d, r) = sample();
        d.ways.retain(|w| w.id != 101);
        assert_eq!(
            relation_multipolygon(&d, &r),
            Err(AreaProblem::MissingWay(101))
        );
        d.ways.push(way(101, &[1, 4]));
        d.sort();
        assert!(matches!(
            relation_multipolygon(&d, &r),
            Err(AreaProblem::OpenRing(_))
        ));
        let w = way(7, &[1, 2, 3, 1]);
        assert!(way_polygon(&d, &w).is_ok());
        assert_eq!(
            way_polygon(&d, &way(8, &[1, 2, 99, 1])),
            Err(AreaProblem::MissingNode { way: 8, node: 99 })
        );
        assert_eq!(
            way_polygon(&d, &way(8, &[1, 2, 3])),
            Err(AreaProblem::NotClosed)
        );
    }
}
