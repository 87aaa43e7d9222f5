//! Test support: a strict, independent MVT v2.1 checker working on the raw protobuf bytes, and
//! helpers around the `mvt-reader` decoder.
//!
//! The checker is written from the specification text, not from the encoder: it is first
//! proven against the invalid and valid cases of the mvt-fixtures suite (tests/fixtures.rs),
//! then used as an oracle on everything the encoder produces.
#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

// ---------------------------------------------------------------------------------------------
// Raw protobuf reading.

#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl Field<'_> {
    fn wire(&self) -> u8 {
        match self {
            Field::Varint(_) => 0,
            Field::Fixed64(_) => 1,
            Field::Bytes(_) => 2,
            Field::Fixed32(_) => 5,
        }
    }
}

pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self.buf.get(self.pos..end).ok_or("truncated field")?;
        self.pos = end;
        Ok(s)
    }

    /// Next `(field number, value)`, or `None` at the end.
    pub fn field(&mut self) -> Result<Option<(u32, Field<'a>)>, String> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let num = u32::try_from(key >> 3).map_err(|_| "field number too large")?;
        if num == 0 {
            return Err("field number 0".into());
        }
        let f = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => Field::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().unwrap())),
            2 => {
                let n = usize::try_from(self.varint()?).map_err(|_| "length too large")?;
                Field::Bytes(self.take(n)?)
            }
            5 => Field::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().unwrap())),
            w => return Err(format!("unsupported wire type {w}")),
        };
        Ok(Some((num, f)))
    }

    pub fn all(buf: &'a [u8]) -> Result<Vec<(u32, Field<'a>)>, String> {
        let mut r = Reader::new(buf);
        let mut out = Vec::new();
        while let Some(f) = r.field()? {
            out.push(f);
        }
        Ok(out)
    }
}

fn packed(bytes: &[u8]) -> Result<Vec<u32>, String> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::new();
    while r.pos < bytes.len() {
        out.push(u32::try_from(r.varint()?).map_err(|_| "packed value above u32")?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The strict checker.

/// Extra conditions for tiles this crate wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expect {
    /// Every vertex must lie in `[-buffer, extent + buffer]`.
    pub buffer: Option<u32>,
    /// Written by this encoder: version 2 (not 1), an explicit extent, unique feature ids.
    pub ours: bool,
}

/// Checks a tile against the MVT 2.1 specification; returns every violation found.
pub fn check_tile(bytes: &[u8], expect: Expect) -> Vec<String> {
    let mut errors = Vec::new();
    if let Err(e) = check_tile_inner(bytes, expect, &mut errors) {
        errors.push(e);
    }
    errors
}

fn check_tile_inner(bytes: &[u8], expect: Expect, errors: &mut Vec<String>) -> Result<(), String> {
    let mut names = HashSet::new();
    for (num, f) in Reader::all(bytes)? {
        match (num, f) {
            (3, Field::Bytes(layer)) => {
                let name = check_layer(layer, expect, errors)?;
                if !names.insert(name.clone()) {
                    errors.push(format!("two layers named {name:?}"));
                }
            }
            (3, f) => errors.push(format!("Tile.layers with wire type {}", f.wire())),
            (n, _) => errors.push(format!("unknown Tile field {n}")),
        }
    }
    Ok(())
}

fn check_layer(bytes: &[u8], expect: Expect, errors: &mut Vec<String>) -> Result<String, String> {
    let (mut version, mut name, mut extent) = (None, None, None);
    let (mut keys, mut n_values, mut features) = (0usize, 0usize, Vec::new());
    for (num, f) in Reader::all(bytes)? {
        let dup = |seen: bool, errors: &mut Vec<String>| {
            if seen {
                errors.push(format!("Layer field {num} twice"));
            }
        };
        match (num, f) {
            (15, Field::Varint(v)) => {
                dup(version.is_some(), errors);
                version = Some(v);
            }
            (1, Field::Bytes(b)) => {
                dup(name.is_some(), errors);
                name = Some(
                    std::str::from_utf8(b)
                        .map_err(|_| "layer name is not UTF-8")?
                        .to_owned(),
                );
            }
            (2, Field::Bytes(b)) => features.push(b),
            (3, Field::Bytes(b)) => {
                if std::str::from_utf8(b).is_err() {
                    errors.push("key is not UTF-8".into());
                }
                keys += 1;
            }
            (4, Field::Bytes(b)) => {
                check_value(b, errors)?;
                n_values += 1;
            }
            (5, Field::Varint(v)) => {
                dup(extent.is_some(), errors);
                extent = Some(v);
            }
            (1..=5 | 15, f) => {
                errors.push(format!("Layer field {num} with wire type {}", f.wire()));
            }
            (n, _) => errors.push(format!("unknown Layer field {n}")),
        }
    }
    // Readers must accept version 1 layers (fixture 039); this encoder writes version 2.
    match version {
        Some(2) => {}
        Some(1) if !expect.ours => {}
        Some(v) => errors.push(format!("layer version {v}")),
        None => errors.push("layer without version".into()),
    }
    if expect.ours && extent.is_none() {
        errors.push("layer without an explicit extent".into());
    }
    let name = match name {
        Some(n) if !n.is_empty() => n,
        _ => {
            errors.push("layer without a name".into());
            String::new()
        }
    };
    let extent = extent.unwrap_or(4096);
    if extent == 0 {
        errors.push("layer extent 0".into());
    }
    let mut ids = HashSet::new();
    for f in features {
        let id = check_feature(f, keys, n_values, extent, expect, errors)?;
        if expect.ours
            && let Some(id) = id
            && !ids.insert(id)
        {
            errors.push(format!("duplicate feature id {id} in layer {name:?}"));
        }
    }
    Ok(name)
}

fn check_value(bytes: &[u8], errors: &mut Vec<String>) -> Result<(), String> {
    let fields = Reader::all(bytes)?;
    if fields.len() != 1 {
        errors.push(format!(
            "Value with {} fields, expected exactly 1",
            fields.len()
        ));
    }
    for (num, f) in fields {
        match (num, f) {
            (1, Field::Bytes(b)) => {
                if std::str::from_utf8(b).is_err() {
                    errors.push("string value is not UTF-8".into());
                }
            }
            (2, Field::Fixed32(_)) | (3, Field::Fixed64(_)) | (4..=7, Field::Varint(_)) => {}
            (1..=7, f) => errors.push(format!("Value field {num} with wire type {}", f.wire())),
            (n, _) => errors.push(format!("unknown Value field {n}")),
        }
    }
    Ok(())
}

fn check_feature(
    bytes: &[u8],
    keys: usize,
    values: usize,
    extent: u64,
    expect: Expect,
    errors: &mut Vec<String>,
) -> Result<Option<u64>, String> {
    let (mut id, mut tags, mut kind, mut geometry) = (None, None, None, None);
    for (num, f) in Reader::all(bytes)? {
        match (num, f) {
            (1, Field::Varint(v)) => id = Some(v),
            (2, Field::Bytes(b)) => {
                if tags.is_some() {
                    errors.push("Feature.tags twice".into());
                }
                tags = Some(packed(b)?);
            }
            (3, Field::Varint(v)) => kind = Some(v),
            (4, Field::Bytes(b)) => {
                if geometry.is_some() {
                    errors.push("Feature.geometry twice".into());
                }
                geometry = Some(packed(b)?);
            }
            (1..=4, f) => errors.push(format!("Feature field {num} with wire type {}", f.wire())),
            (n, _) => errors.push(format!("unknown Feature field {n}")),
        }
    }
    let tags = tags.unwrap_or_default();
    if tags.len() % 2 != 0 {
        errors.push(format!("odd number of tags ({})", tags.len()));
    }
    for pair in tags.chunks_exact(2) {
        if pair[0] as usize >= keys {
            errors.push(format!("tag key index {} >= {keys} keys", pair[0]));
        }
        if pair[1] as usize >= values {
            errors.push(format!("tag value index {} >= {values} values", pair[1]));
        }
    }
    let Some(geometry) = geometry else {
        errors.push("feature without geometry".into());
        return Ok(id);
    };
    match kind {
        None => errors.push("feature without type".into()),
        Some(0) => {} // UNKNOWN: allowed, geometry not interpreted
        Some(t @ 1..=3) => {
            let bound = expect
                .buffer
                .map(|b| (-i64::from(b), extent as i64 + i64::from(b)));
            if let Err(e) = check_geometry(&geometry, t, bound) {
                errors.push(e);
            }
        }
        Some(t) => errors.push(format!("geometry type {t}")),
    }
    Ok(id)
}

/// Decodes and checks the command stream of one feature (spec 4.3).
fn check_geometry(cmds: &[u32], kind: u64, bound: Option<(i64, i64)>) -> Result<(), String> {
    let mut i = 0;
    let (mut cx, mut cy) = (0i64, 0i64);
    let next_cmd = |i: &mut usize| -> Result<(u32, usize), String> {
        let c = *cmds.get(*i).ok_or("missing command")?;
        *i += 1;
        Ok((c & 7, (c >> 3) as usize))
    };
    let param = |i: &mut usize, cx: &mut i64, cy: &mut i64| -> Result<(i64, i64), String> {
        let (Some(&a), Some(&b)) = (cmds.get(*i), cmds.get(*i + 1)) else {
            return Err("command count larger than its parameters".into());
        };
        *i += 2;
        let unzig = |v: u32| i64::from((v >> 1) as i32 ^ -((v & 1) as i32));
        let (dx, dy) = (unzig(a), unzig(b));
        *cx += dx;
        *cy += dy;
        if let Some((lo, hi)) = bound
            && (*cx < lo || *cx > hi || *cy < lo || *cy > hi)
        {
            return Err(format!("vertex ({cx}, {cy}) outside [{lo}, {hi}]"));
        }
        Ok((dx, dy))
    };
    if cmds.is_empty() {
        return Err("empty geometry".into());
    }
    match kind {
        1 => {
            let (id, n) = next_cmd(&mut i)?;
            if id != 1 || n == 0 {
                return Err(format!("point geometry starts with command {id} count {n}"));
            }
            for _ in 0..n {
                param(&mut i, &mut cx, &mut cy)?;
            }
            if i != cmds.len() {
                return Err("point geometry has trailing data".into());
            }
        }
        2 => {
            while i < cmds.len() {
                let (id, n) = next_cmd(&mut i)?;
                if id != 1 || n != 1 {
                    return Err(format!("line part starts with command {id} count {n}"));
                }
                param(&mut i, &mut cx, &mut cy)?;
                let (id, n) = next_cmd(&mut i)?;
                if id != 2 || n == 0 {
                    return Err(format!("line MoveTo followed by command {id} count {n}"));
                }
                for _ in 0..n {
                    if param(&mut i, &mut cx, &mut cy)? == (0, 0) {
                        return Err("zero-length LineTo in a line".into());
                    }
                }
            }
        }
        3 => {
            let mut first = true;
            while i < cmds.len() {
                let (id, n) = next_cmd(&mut i)?;
                if id != 1 || n != 1 {
                    return Err(format!("ring starts with command {id} count {n}"));
                }
                param(&mut i, &mut cx, &mut cy)?;
                let mut ring = vec![(cx, cy)];
                let (id, n) = next_cmd(&mut i)?;
                if id != 2 || n < 2 {
                    return Err(format!("ring MoveTo followed by command {id} count {n}"));
                }
                for _ in 0..n {
                    if param(&mut i, &mut cx, &mut cy)? == (0, 0) {
                        return Err("zero-length LineTo in a ring".into());
                    }
                    ring.push((cx, cy));
                }
                if ring.last() == ring.first() {
                    return Err("ring repeats its first vertex before ClosePath".into());
                }
                let (id, n) = next_cmd(&mut i)?;
                if id != 7 || n != 1 {
                    return Err(format!(
                        "ring ends with command {id} count {n}, expected ClosePath(1)"
                    ));
                }
                let area = surveyor_area2(&ring);
                if area == 0 {
                    return Err("ring with zero area".into());
                }
                if first && area < 0 {
                    return Err("polygon geometry starts with an interior (negative) ring".into());
                }
                first = false;
            }
        }
        _ => unreachable!(),
    }
    Ok(())
}

/// Twice the area by the surveyor's formula in tile coordinates (spec 4.3.4.4).
pub fn surveyor_area2(ring: &[(i64, i64)]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|k| {
            let (a, b) = (ring[k], ring[(k + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

// ---------------------------------------------------------------------------------------------
// mvt-reader helpers.

/// One decoded layer: name, extent and features with `f64` geometry and sorted properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub name: String,
    pub extent: u32,
    pub features: Vec<DecodedFeature>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecodedFeature {
    pub id: Option<u64>,
    pub geometry: Geometry<f64>,
    pub properties: Vec<(String, mvt_reader::feature::Value)>,
}

/// Decodes a whole tile with the independent `mvt-reader` crate.
pub fn decode(bytes: &[u8]) -> Vec<Decoded> {
    let reader = mvt_reader::Reader::new(bytes.to_vec()).unwrap();
    reader
        .get_layer_metadata()
        .unwrap()
        .into_iter()
        .map(|meta| {
            let features = reader
                .get_features_as::<f64>(meta.layer_index)
                .unwrap()
                .into_iter()
                .map(|f| {
                    let mut properties: Vec<_> =
                        f.properties.unwrap_or_default().into_iter().collect();
                    properties.sort_by(|a, b| a.0.cmp(&b.0));
                    DecodedFeature {
                        id: f.id,
                        geometry: f.geometry,
                        properties,
                    }
                })
                .collect();
            Decoded {
                name: meta.name,
                extent: meta.extent,
                features,
            }
        })
        .collect()
}

/// Borrows a decoded property value as an encoder value.
pub fn to_value(v: &mvt_reader::feature::Value) -> civmap_tiles::Value<'_> {
    use civmap_tiles::Value;
    use mvt_reader::feature::Value as R;
    match v {
        R::String(s) => Value::String(s),
        R::Float(f) => Value::Float(*f),
        R::Double(d) => Value::Double(*d),
        R::Int(i) => Value::Int(*i),
        R::UInt(u) => Value::UInt(*u),
        R::SInt(i) => Value::SInt(*i),
        R::Bool(b) => Value::Bool(*b),
        R::Null => panic!("null value"),
    }
}

/// Rotates each ring to start at its smallest vertex, so rings compare regardless of start.
pub fn normalise(g: &Geometry<f64>) -> Geometry<f64> {
    fn ring(ls: &LineString<f64>) -> LineString<f64> {
        let mut v: Vec<Coord<f64>> = ls.0.clone();
        if v.len() > 1 && v.first() == v.last() {
            v.pop();
        }
        let k = (0..v.len())
            .min_by(|&a, &b| (v[a].x, v[a].y).partial_cmp(&(v[b].x, v[b].y)).unwrap())
            .unwrap_or(0);
        v.rotate_left(k);
        if let Some(&f) = v.first() {
            v.push(f);
        }
        LineString::new(v)
    }
    fn poly(p: &Polygon<f64>) -> Polygon<f64> {
        Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect())
    }
    match g {
        Geometry::Polygon(p) => Geometry::MultiPolygon(MultiPolygon::new(vec![poly(p)])),
        Geometry::MultiPolygon(mp) => Geometry::MultiPolygon(mp.iter().map(poly).collect()),
        Geometry::Point(p) => Geometry::MultiPoint(MultiPoint::new(vec![*p])),
        Geometry::LineString(ls) => {
            Geometry::MultiLineString(MultiLineString::new(vec![ls.clone()]))
        }
        other => other.clone(),
    }
}

/// All vertices of a decoded geometry.
pub fn vertices(g: &Geometry<f64>) -> Vec<Coord<f64>> {
    use geo::CoordsIter;
    g.coords_iter().collect()
}

pub fn point(x: f64, y: f64) -> Point<f64> {
    Point::new(x, y)
}
