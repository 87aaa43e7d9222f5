//! Layer and tile builders: the `vector_tile.proto` v2.1 messages, written by hand.
//!
//! ```text
//! Tile  { repeated Layer layers = 3; }
//! Layer { required uint32 version = 15; required string name = 1; repeated Feature features = 2;
//!         repeated string keys = 3; repeated Value values = 4; optional uint32 extent = 5; }
//! Feature { optional uint64 id = 1; repeated uint32 tags = 2 [packed]; optional GeomType type = 3;
//!           repeated uint32 geometry = 4 [packed]; }
//! ```

use geo::{Coord, Geometry};

use crate::cluster::Cluster;
use crate::error::Error;
use crate::geom::{ClipBox, GeomType, GeometryEncoder, round_unit};
use crate::pbf::{
    FIXED32, FIXED64, LEN, VARINT, packed_len, varint_len, write_bytes_field, write_key,
    write_packed_u32, write_varint, zigzag32, zigzag64,
};
use crate::tile::{TileId, TileProjection};
use crate::value::Value;

/// The default MVT extent: tile coordinates run from 0 to 4096 on each axis.
pub const DEFAULT_EXTENT: u32 = 4096;

/// The default clip buffer in tile units (64 of 4096 = 4 px of a 256-px tile, 8 px of a 512-px tile).
pub const DEFAULT_BUFFER: u32 = 64;

/// Index of a key in one layer's key table, from [`LayerBuilder::key_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(u32);

/// Index of a value in one layer's value table, from [`LayerBuilder::value_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ValueId(u32);

/// Encoder options for one layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncodeOptions {
    /// Tile units across the tile (`Layer.extent`). Default 4096.
    pub extent: u32,
    /// Geometry is kept up to this many tile units outside the tile on every side, so that
    /// line joins, polygon outlines and point symbols are not cut at tile edges.
    /// Default 64 (4 px of a 256-px tile). At most `extent`.
    pub buffer: u32,
    /// Ramer–Douglas–Peucker tolerance in tile units. Because it is measured on the tile grid,
    /// the ground tolerance halves with every zoom level (simplification *per zoom*): with the
    /// default 1.0 of 4096 it is about 2.1 m at z14 and 33 m at z10 in Shanghai (lat 31°).
    /// Use 0.0 to keep every vertex that survives rounding.
    pub simplify_tolerance: f64,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            extent: DEFAULT_EXTENT,
            buffer: DEFAULT_BUFFER,
            simplify_tolerance: 1.0,
        }
    }
}

impl EncodeOptions {
    fn validate(&self) -> Result<(), Error> {
        if self.extent == 0 || self.extent > 1 << 16 {
            return Err(Error::InvalidOption {
                option: "extent",
                reason: format!("{} is not in 1..=65536", self.extent),
            });
        }
        if self.buffer > self.extent {
            return Err(Error::InvalidOption {
                option: "buffer",
                reason: format!("{} is larger than the extent {}", self.buffer, self.extent),
            });
        }
        if !self.simplify_tolerance.is_finite() || self.simplify_tolerance < 0.0 {
            return Err(Error::InvalidOption {
                option: "simplify_tolerance",
                reason: format!("{} is not a finite number >= 0", self.simplify_tolerance),
            });
        }
        Ok(())
    }
}

/// Per-kind maps from a value to its index in `Layer.values`.
#[derive(Debug, Default)]
struct ValueTable {
    strings: foldhash::HashMap<Box<str>, u32>,
    floats: foldhash::HashMap<u32, u32>,
    doubles: foldhash::HashMap<u64, u32>,
    ints: foldhash::HashMap<i64, u32>,
    uints: foldhash::HashMap<u64, u32>,
    sints: foldhash::HashMap<i64, u32>,
    bools: [Option<u32>; 2],
    /// The encoded `values` fields of the layer.
    encoded: Vec<u8>,
    count: u32,
    scratch: Vec<u8>,
}

impl ValueTable {
    fn index(&mut self, v: Value<'_>) -> u32 {
        let next = self.count;
        let (idx, fresh) = match v {
            Value::String(s) => {
                if let Some(&i) = self.strings.get(s) {
                    (i, false)
                } else {
                    self.strings.insert(s.into(), next);
                    (next, true)
                }
            }
            Value::Float(f) => entry(&mut self.floats, f.to_bits(), next),
            Value::Double(d) => entry(&mut self.doubles, d.to_bits(), next),
            Value::Int(i) => entry(&mut self.ints, i, next),
            Value::UInt(u) => entry(&mut self.uints, u, next),
            Value::SInt(i) => entry(&mut self.sints, i, next),
            Value::Bool(b) => {
                if let Some(i) = self.bools[usize::from(b)] {
                    (i, false)
                } else {
                    self.bools[usize::from(b)] = Some(next);
                    (next, true)
                }
            }
        };
        if fresh {
            self.count += 1;
            let s = &mut self.scratch;
            s.clear();
            match v {
                Value::String(x) => write_bytes_field(s, 1, x.as_bytes()),
                Value::Float(x) => {
                    write_key(s, 2, FIXED32);
                    s.extend_from_slice(&x.to_le_bytes());
                }
                Value::Double(x) => {
                    write_key(s, 3, FIXED64);
                    s.extend_from_slice(&x.to_le_bytes());
                }
                Value::Int(x) => {
                    write_key(s, 4, VARINT);
                    write_varint(s, x as u64);
                }
                Value::UInt(x) => {
                    write_key(s, 5, VARINT);
                    write_varint(s, x);
                }
                Value::SInt(x) => {
                    write_key(s, 6, VARINT);
                    write_varint(s, zigzag64(x));
                }
                Value::Bool(x) => {
                    write_key(s, 7, VARINT);
                    write_varint(s, u64::from(x));
                }
            }
            write_bytes_field(&mut self.encoded, 4, s);
        }
        idx
    }
}

impl ValueTable {
    /// Appends a string value without looking it up or remembering it (see
    /// [`LayerBuilder::unique_string_value_id`]).
    fn push_unique_string(&mut self, v: &str) -> u32 {
        let idx = self.count;
        self.count += 1;
        let s = &mut self.scratch;
        s.clear();
        write_bytes_field(s, 1, v.as_bytes());
        write_bytes_field(&mut self.encoded, 4, s);
        idx
    }
}

#[inline]
fn entry<K: std::hash::Hash + Eq>(
    map: &mut foldhash::HashMap<K, u32>,
    k: K,
    next: u32,
) -> (u32, bool) {
    match map.entry(k) {
        std::collections::hash_map::Entry::Occupied(e) => (*e.get(), false),
        std::collections::hash_map::Entry::Vacant(e) => {
            e.insert(next);
            (next, true)
        }
    }
}

/// Builds one MVT layer of one tile: features are projected from WGS-84 lon/lat degrees (or
/// given in tile units), clipped to the tile plus buffer, simplified, made valid and encoded
/// at once; keys and values are de-duplicated per layer in first-use order.
///
/// ```
/// use civmap_tiles::{EncodeOptions, LayerBuilder, TileId, Value};
/// let tile = TileId::containing(121.4737, 31.2304, 14).unwrap();
/// let mut layer = LayerBuilder::new("problems", tile, EncodeOptions::default()).unwrap();
/// // lon, lat order; properties are borrowed.
/// let added = layer
///     .add_point(Some(7), 121.4737, 31.2304, &[("category", Value::from("garbage")), ("severity", Value::from(2u8))])
///     .unwrap();
/// assert!(added);
/// // A point far outside the tile is dropped, not an error.
/// assert!(!layer.add_point(Some(8), 0.0, 0.0, &[]).unwrap());
/// let bytes: Vec<u8> = layer.into_tile();
/// assert!(!bytes.is_empty());
/// ```
#[derive(Debug)]
pub struct LayerBuilder {
    name: String,
    projection: TileProjection,
    options: EncodeOptions,
    /// The buffered square in integer tile units, for the point fast path.
    clip_min: f64,
    clip_max: f64,
    geometry: GeometryEncoder,
    /// Encoded `features` fields.
    features: Vec<u8>,
    feature_count: usize,
    /// Encoded `keys` fields, their strings by index and a lookup map.
    keys_encoded: Vec<u8>,
    key_strings: Vec<Box<str>>,
    key_map: foldhash::HashMap<Box<str>, u32>,
    /// Key index used at each property position by the previous feature: features of one
    /// layer nearly always list the same keys in the same order, so a string compare
    /// replaces a hash lookup.
    key_memo: Vec<u32>,
    values: ValueTable,
    tags: Vec<u32>,
    commands: Vec<u32>,
}

impl LayerBuilder {
    /// A new, empty layer called `name` for `tile`.
    pub fn new(
        name: impl Into<String>,
        tile: TileId,
        options: EncodeOptions,
    ) -> Result<Self, Error> {
        let name = name.into();
        if name.is_empty() {
            return Err(Error::EmptyLayerName);
        }
        options.validate()?;
        let b = f64::from(options.buffer);
        let clip = ClipBox {
            min: -b,
            max: f64::from(options.extent) + b,
        };
        Ok(Self {
            name,
            projection: TileProjection::new(tile, options.extent),
            options,
            clip_min: clip.min,
            clip_max: clip.max,
            geometry: GeometryEncoder::new(clip, options.simplify_tolerance),
            features: Vec::new(),
            feature_count: 0,
            keys_encoded: Vec::new(),
            key_strings: Vec::new(),
            key_map: foldhash::HashMap::default(),
            key_memo: Vec::new(),
            values: ValueTable::default(),
            tags: Vec::new(),
            commands: Vec::new(),
        })
    }

    /// The layer name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tile this layer is built for.
    #[must_use]
    pub fn tile(&self) -> TileId {
        self.projection.tile()
    }

    /// The options the layer was created with.
    #[must_use]
    pub fn options(&self) -> &EncodeOptions {
        &self.options
    }

    /// The lon/lat → tile-unit projection of this layer.
    #[must_use]
    pub fn projection(&self) -> &TileProjection {
        &self.projection
    }

    /// Number of features added so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.feature_count
    }

    /// True when no feature has been added (such a layer is left out of the tile).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.feature_count == 0
    }

    /// Adds a point feature at (`lon`, `lat`) in WGS-84 degrees: the fast path for large
    /// point layers. Returns `Ok(false)` when the point lies outside the tile plus buffer.
    #[inline]
    pub fn add_point(
        &mut self,
        id: Option<u64>,
        lon: f64,
        lat: f64,
        props: &[(&str, Value<'_>)],
    ) -> Result<bool, Error> {
        if !lon.is_finite() || !lat.is_finite() {
            return Err(Error::NonFiniteCoordinate { x: lon, y: lat });
        }
        let (x, y) = self.projection.project(lon, lat);
        self.add_tile_point(id, x, y, props)
    }

    /// Adds a point feature at (`x`, `y`) in tile units of this layer (`0..extent`, y down).
    /// Returns `Ok(false)` when the point lies outside the tile plus buffer.
    #[inline]
    pub fn add_tile_point(
        &mut self,
        id: Option<u64>,
        x: f64,
        y: f64,
        props: &[(&str, Value<'_>)],
    ) -> Result<bool, Error> {
        if !x.is_finite() || !y.is_finite() {
            return Err(Error::NonFiniteCoordinate { x, y });
        }
        if x < self.clip_min || x > self.clip_max || y < self.clip_min || y > self.clip_max {
            return Ok(false);
        }
        self.tag(props)?;
        self.push_point_feature(id, round_unit(x), round_unit(y));
        Ok(true)
    }

    /// Adds an axis-aligned rectangle from (`x0`, `y0`) to (`x1`, `y1`) in tile units (a heat
    /// cell, a grid square) as a polygon feature: clipped to the tile plus buffer and rounded
    /// like any polygon, but written directly (a rectangle needs no simplification or repair),
    /// exterior ring positive. Returns `Ok(false)` when nothing of it is left.
    pub fn add_tile_rect(
        &mut self,
        id: Option<u64>,
        [x0, y0]: [f64; 2],
        [x1, y1]: [f64; 2],
        props: &[(&str, Value<'_>)],
    ) -> Result<bool, Error> {
        for (x, y) in [(x0, y0), (x1, y1)] {
            if !x.is_finite() || !y.is_finite() {
                return Err(Error::NonFiniteCoordinate { x, y });
            }
        }
        let clip = |v: f64| round_unit(v.clamp(self.clip_min, self.clip_max));
        let (ax, bx) = (clip(x0.min(x1)), clip(x0.max(x1)));
        let (ay, by) = (clip(y0.min(y1)), clip(y0.max(y1)));
        if ax >= bx || ay >= by {
            return Ok(false);
        }
        self.tag(props)?;
        let (w, h) = (bx - ax, by - ay);
        self.commands.clear();
        // MoveTo(1), LineTo(3) east, south, west, ClosePath: (ax,ay) → (bx,ay) → (bx,by) →
        // (ax,by) is clockwise on the y-down grid, a positive surveyor's area: an exterior ring.
        self.commands.extend_from_slice(&[
            (1 << 3) | 1,
            zigzag32(ax),
            zigzag32(ay),
            (3 << 3) | 2,
            zigzag32(w),
            0,
            0,
            zigzag32(h),
            zigzag32(-w),
            0,
            (1 << 3) | 7,
        ]);
        self.push_feature(id, GeomType::Polygon);
        Ok(true)
    }

    /// The key table index of `key`, adding it if new. With [`Self::value_id`] and
    /// [`Self::add_point_tagged`] a caller interns its few distinct keys and values once per
    /// tile and adds thousands of points without hashing a property again.
    pub fn key_id(&mut self, key: &str) -> KeyId {
        if let Some(&k) = self.key_map.get(key) {
            return KeyId(k);
        }
        let k = self.key_strings.len() as u32;
        self.key_strings.push(key.into());
        self.key_map.insert(key.into(), k);
        write_bytes_field(&mut self.keys_encoded, 3, key.as_bytes());
        KeyId(k)
    }

    /// The value table index of `value`, adding it if new (see [`Self::key_id`]). A value
    /// interned but never used by a feature still takes its few bytes in the layer.
    pub fn value_id(&mut self, value: Value<'_>) -> ValueId {
        ValueId(self.values.index(value))
    }

    /// Appends a string value that is distinct by construction (a feature's own id, say)
    /// without looking it up or remembering it: no hashing and no copy of the string kept.
    /// If the same string is later given to [`Self::value_id`] it is added a second time,
    /// which is valid MVT, only a few bytes longer.
    pub fn unique_string_value_id(&mut self, value: &str) -> ValueId {
        ValueId(self.values.push_unique_string(value))
    }

    /// As [`Self::add_point`], with properties given as interned `(key, value)` pairs of this
    /// layer. Indices from another layer are refused if out of this layer's range (and would
    /// otherwise name this layer's entries at those indices).
    #[inline]
    pub fn add_point_tagged(
        &mut self,
        id: Option<u64>,
        lon: f64,
        lat: f64,
        tags: &[(KeyId, ValueId)],
    ) -> Result<bool, Error> {
        if !lon.is_finite() || !lat.is_finite() {
            return Err(Error::NonFiniteCoordinate { x: lon, y: lat });
        }
        let (x, y) = self.projection.project(lon, lat);
        self.add_tile_point_tagged(id, x, y, tags)
    }

    /// As [`Self::add_point_tagged`] with the point in tile units of this layer (a cluster's
    /// mean position, say).
    #[inline]
    pub fn add_tile_point_tagged(
        &mut self,
        id: Option<u64>,
        x: f64,
        y: f64,
        tags: &[(KeyId, ValueId)],
    ) -> Result<bool, Error> {
        if !x.is_finite() || !y.is_finite() {
            return Err(Error::NonFiniteCoordinate { x, y });
        }
        if x < self.clip_min || x > self.clip_max || y < self.clip_min || y > self.clip_max {
            return Ok(false);
        }
        self.tags.clear();
        let (nk, nv) = (self.key_strings.len() as u32, self.values.count);
        // Keys seen so far, as bits for the first 64 keys (a point has a handful).
        let mut seen = 0u64;
        for &(KeyId(k), ValueId(v)) in tags {
            if k >= nk || v >= nv {
                return Err(Error::UnknownTag { key: k, value: v });
            }
            let dup = if k < 64 {
                let bit = 1u64 << k;
                let d = seen & bit != 0;
                seen |= bit;
                d
            } else {
                self.tags.iter().step_by(2).any(|&t| t == k)
            };
            if dup {
                return Err(Error::DuplicateProperty(
                    self.key_strings[k as usize].to_string(),
                ));
            }
            self.tags.push(k);
            self.tags.push(v);
        }
        self.push_point_feature(id, round_unit(x), round_unit(y));
        Ok(true)
    }

    /// Adds a feature with `geometry` in WGS-84 lon/lat degrees. Returns `Ok(false)` when
    /// nothing of it is left after clipping to the tile plus buffer and simplification.
    /// `GeometryCollection` is rejected: MVT features have one geometry type.
    pub fn add_feature(
        &mut self,
        id: Option<u64>,
        geometry: &Geometry<f64>,
        props: &[(&str, Value<'_>)],
    ) -> Result<bool, Error> {
        let projection = self.projection;
        let project = move |c: Coord<f64>| {
            if c.x.is_finite() && c.y.is_finite() {
                let (x, y) = projection.project(c.x, c.y);
                Ok(Coord { x, y })
            } else {
                Err(Error::NonFiniteCoordinate { x: c.x, y: c.y })
            }
        };
        self.add_with(id, geometry, project, props)
    }

    /// Adds a feature whose `geometry` is already in tile units of this layer (`0..extent`,
    /// y down), e.g. decoded from another tile. Same pipeline as [`Self::add_feature`].
    pub fn add_tile_feature(
        &mut self,
        id: Option<u64>,
        geometry: &Geometry<f64>,
        props: &[(&str, Value<'_>)],
    ) -> Result<bool, Error> {
        let project = |c: Coord<f64>| {
            if c.x.is_finite() && c.y.is_finite() {
                Ok(c)
            } else {
                Err(Error::NonFiniteCoordinate { x: c.x, y: c.y })
            }
        };
        self.add_with(id, geometry, project, props)
    }

    /// Adds a cluster from [`crate::GridClusterer`] as a point feature with the cluster's id and
    /// the properties `count` (uint), `top_category` (from `category`), `top_count` (uint),
    /// followed by `extra`.
    pub fn add_cluster<K>(
        &mut self,
        cluster: &Cluster<K>,
        category: impl Fn(&K) -> Value<'_>,
        extra: &[(&str, Value<'_>)],
    ) -> Result<bool, Error> {
        let mut props: Vec<(&str, Value<'_>)> = Vec::with_capacity(3 + extra.len());
        props.push(("count", Value::UInt(cluster.count)));
        if let Some((k, n)) = cluster.categories.first() {
            props.push(("top_category", category(k)));
            props.push(("top_count", Value::UInt(*n)));
        }
        props.extend_from_slice(extra);
        self.add_tile_point(Some(cluster.id), cluster.x, cluster.y, &props)
    }

    fn add_with<F>(
        &mut self,
        id: Option<u64>,
        geometry: &Geometry<f64>,
        project: F,
        props: &[(&str, Value<'_>)],
    ) -> Result<bool, Error>
    where
        F: Fn(Coord<f64>) -> Result<Coord<f64>, Error> + Copy,
    {
        let mut commands = std::mem::take(&mut self.commands);
        let kind = self.geometry.encode(geometry, project, &mut commands);
        self.commands = commands;
        let Some(kind) = kind? else {
            return Ok(false);
        };
        self.tag(props)?;
        self.push_feature(id, kind);
        Ok(true)
    }

    /// Interns the properties into `self.tags`.
    #[inline]
    fn tag(&mut self, props: &[(&str, Value<'_>)]) -> Result<(), Error> {
        self.tags.clear();
        for (pos, &(key, value)) in props.iter().enumerate() {
            let k = self.key_index(pos, key);
            if self.tags.iter().step_by(2).any(|&t| t == k) {
                return Err(Error::DuplicateProperty(key.to_owned()));
            }
            let v = self.values.index(value);
            self.tags.push(k);
            self.tags.push(v);
        }
        Ok(())
    }

    #[inline]
    fn key_index(&mut self, pos: usize, key: &str) -> u32 {
        if let Some(&k) = self.key_memo.get(pos)
            && *self.key_strings[k as usize] == *key
        {
            return k;
        }
        let KeyId(k) = self.key_id(key);
        if pos < self.key_memo.len() {
            self.key_memo[pos] = k;
        } else {
            self.key_memo.push(k);
        }
        k
    }

    /// Appends a one-point feature with the tags in `self.tags`: the body is written into a
    /// stack buffer first, so its length is known without a second pass and the layer buffer
    /// grows once per feature.
    #[inline]
    fn push_point_feature(&mut self, id: Option<u64>, x: i32, y: i32) {
        // id ≤ 11 bytes, 32 tags ≤ 163, type 2, geometry ≤ 13: 189 < 256.
        if self.tags.len() > 32 {
            self.commands.clear();
            self.commands
                .extend_from_slice(&[9, zigzag32(x), zigzag32(y)]);
            self.push_feature(id, GeomType::Point);
            return;
        }
        let mut buf = [0u8; 256];
        let mut n = 0;
        let put = |buf: &mut [u8; 256], n: &mut usize, mut v: u64| {
            while v >= 0x80 {
                buf[*n] = (v as u8) | 0x80;
                *n += 1;
                v >>= 7;
            }
            buf[*n] = v as u8;
            *n += 1;
        };
        if let Some(id) = id {
            put(&mut buf, &mut n, 0x08);
            put(&mut buf, &mut n, id);
        }
        if !self.tags.is_empty() {
            put(&mut buf, &mut n, 0x12);
            put(&mut buf, &mut n, packed_len(&self.tags) as u64);
            for &t in &self.tags {
                put(&mut buf, &mut n, u64::from(t));
            }
        }
        put(&mut buf, &mut n, 0x18);
        put(&mut buf, &mut n, GeomType::Point as u64);
        let (gx, gy) = (zigzag32(x), zigzag32(y));
        put(&mut buf, &mut n, 0x22);
        put(
            &mut buf,
            &mut n,
            (1 + varint_len(u64::from(gx)) + varint_len(u64::from(gy))) as u64,
        );
        // MoveTo(1) = 9, then the zigzag offsets from the feature's origin (0, 0).
        put(&mut buf, &mut n, 9);
        put(&mut buf, &mut n, u64::from(gx));
        put(&mut buf, &mut n, u64::from(gy));
        let f = &mut self.features;
        f.reserve(n + 3);
        write_key(f, 2, LEN);
        write_varint(f, n as u64);
        f.extend_from_slice(&buf[..n]);
        self.feature_count += 1;
    }

    /// Appends the `features` field for the feature in `self.tags` / `self.commands`.
    #[inline]
    fn push_feature(&mut self, id: Option<u64>, kind: GeomType) {
        let tags_len = packed_len(&self.tags);
        let geom_len = packed_len(&self.commands);
        let mut len = 2 + 1 + varint_len(geom_len as u64) + geom_len;
        if let Some(id) = id {
            len += 1 + varint_len(id);
        }
        if !self.tags.is_empty() {
            len += 1 + varint_len(tags_len as u64) + tags_len;
        }
        let f = &mut self.features;
        f.reserve(len + 4);
        write_key(f, 2, LEN);
        write_varint(f, len as u64);
        if let Some(id) = id {
            write_key(f, 1, VARINT);
            write_varint(f, id);
        }
        if !self.tags.is_empty() {
            write_packed_u32(f, 2, &self.tags, tags_len);
        }
        write_key(f, 3, VARINT);
        f.push(kind as u8);
        write_packed_u32(f, 4, &self.commands, geom_len);
        self.feature_count += 1;
    }

    /// Byte length of the `Layer` message.
    fn message_len(&self) -> usize {
        2 + 1
            + varint_len(self.name.len() as u64)
            + self.name.len()
            + self.features.len()
            + self.keys_encoded.len()
            + self.values.encoded.len()
            + 1
            + varint_len(u64::from(self.options.extent))
    }

    /// Appends this layer as a `Tile.layers` field to `out` (nothing if the layer is empty).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if self.is_empty() {
            return;
        }
        let len = self.message_len();
        out.reserve(len + 6);
        write_key(out, 3, LEN);
        write_varint(out, len as u64);
        // Field order as in Mapbox's encoders: version first, then name, features, keys,
        // values, extent. The extent is always written (spec 4.1: a layer MUST contain it).
        write_key(out, 15, VARINT);
        write_varint(out, 2);
        write_bytes_field(out, 1, self.name.as_bytes());
        out.extend_from_slice(&self.features);
        out.extend_from_slice(&self.keys_encoded);
        out.extend_from_slice(&self.values.encoded);
        write_key(out, 5, VARINT);
        write_varint(out, u64::from(self.options.extent));
    }

    /// This layer alone as an encoded tile (uncompressed; empty bytes if the layer is empty,
    /// which is a valid tile without layers).
    #[must_use]
    pub fn into_tile(self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

/// Assembles several layers into one tile (uncompressed: the server gzips).
///
/// ```
/// use civmap_tiles::{EncodeOptions, LayerBuilder, TileBuilder, TileId};
/// let tile = TileId::new(0, 0, 0).unwrap();
/// let mut a = LayerBuilder::new("a", tile, EncodeOptions::default()).unwrap();
/// a.add_point(None, 0.0, 0.0, &[]).unwrap();
/// let mut t = TileBuilder::new();
/// t.add_layer(&a).unwrap();
/// assert!(t.add_layer(&a).is_err()); // the same name twice
/// let bytes = t.finish();
/// assert_eq!(bytes[0], 0x1a); // Tile.layers, length-delimited
/// ```
#[derive(Debug, Default)]
pub struct TileBuilder {
    bytes: Vec<u8>,
    names: Vec<String>,
}

impl TileBuilder {
    /// An empty tile.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `layer`. Empty layers are skipped (the spec says encoders should not write
    /// them); a second layer with the same name is an error.
    pub fn add_layer(&mut self, layer: &LayerBuilder) -> Result<(), Error> {
        if self.names.iter().any(|n| n == layer.name()) {
            return Err(Error::DuplicateLayer(layer.name().to_owned()));
        }
        if !layer.is_empty() {
            self.names.push(layer.name().to_owned());
            layer.write_to(&mut self.bytes);
        }
        Ok(())
    }

    /// The encoded tile.
    #[must_use]
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn layer(opts: EncodeOptions) -> LayerBuilder {
        LayerBuilder::new("t", TileId::new(0, 0, 0).unwrap(), opts).unwrap()
    }

    #[test]
    fn options_are_checked() {
        let t = TileId::new(0, 0, 0).unwrap();
        for bad in [
            EncodeOptions {
                extent: 0,
                ..Default::default()
            },
            EncodeOptions {
                buffer: 5000,
                ..Default::default()
            },
            EncodeOptions {
                simplify_tolerance: f64::NAN,
                ..Default::default()
            },
            EncodeOptions {
                simplify_tolerance: -1.0,
                ..Default::default()
            },
        ] {
            assert!(matches!(
                LayerBuilder::new("x", t, bad),
                Err(Error::InvalidOption { .. })
            ));
        }
        assert_eq!(
            LayerBuilder::new("", t, EncodeOptions::default()).unwrap_err(),
            Error::EmptyLayerName
        );
    }

    #[test]
    fn keys_and_values_are_deduplicated_in_first_use_order() {
        let mut l = layer(EncodeOptions::default());
        for (i, cat) in ["a", "b", "a", "c", "b"].iter().enumerate() {
            l.add_tile_point(
                Some(i as u64),
                1.0,
                1.0,
                &[("cat", Value::from(*cat)), ("n", Value::from(1u8))],
            )
            .unwrap();
        }
        // Keys: cat, n. Values: "a", 1, "b", "c".
        assert_eq!(l.key_strings, vec!["cat".into(), "n".into()]);
        assert_eq!(l.values.count, 4);
        // A key in a new position still resolves to the same index.
        l.add_tile_point(
            None,
            1.0,
            1.0,
            &[("n", Value::from(1u8)), ("cat", Value::from("c"))],
        )
        .unwrap();
        assert_eq!(l.key_strings.len(), 2);
        assert_eq!(l.values.count, 4);
        assert_eq!(l.tags, vec![1, 1, 0, 3]);
    }

    #[test]
    fn interned_tags_match_the_plain_path() {
        let opts = EncodeOptions::default();
        let mut b = layer(opts);
        let (kc, ks) = (b.key_id("cat"), b.key_id("sev"));
        let vals: Vec<ValueId> = ["x", "y"]
            .iter()
            .map(|v| b.value_id(Value::from(*v)))
            .collect();
        let one = b.value_id(Value::from(1u8));
        for (i, cat) in [0usize, 1, 0].into_iter().enumerate() {
            let lon = -170.0 + 30.0 * i as f64;
            b.add_point_tagged(Some(i as u64), lon, 10.0, &[(kc, vals[cat]), (ks, one)])
                .unwrap();
        }
        // The plain path with the tables filled in the same order gives the same bytes.
        let mut c = layer(opts);
        c.key_id("cat");
        c.key_id("sev");
        c.value_id(Value::from("x"));
        c.value_id(Value::from("y"));
        c.value_id(Value::from(1u8));
        for (i, cat) in [0usize, 1, 0].into_iter().enumerate() {
            let lon = -170.0 + 30.0 * i as f64;
            c.add_point(
                Some(i as u64),
                lon,
                10.0,
                &[
                    ("cat", Value::from(["x", "y"][cat])),
                    ("sev", Value::from(1u8)),
                ],
            )
            .unwrap();
        }
        assert_eq!(b.len(), 3);
        assert_eq!(b.into_tile(), c.into_tile());
        let mut d = layer(opts);
        assert_eq!(
            d.add_point_tagged(None, 0.0, 0.0, &[(kc, vals[0])])
                .unwrap_err(),
            Error::UnknownTag { key: 0, value: 0 }
        );
    }

    #[test]
    fn value_kinds_are_distinct() {
        let mut v = ValueTable::default();
        let idx: Vec<u32> = [
            Value::UInt(1),
            Value::SInt(1),
            Value::Int(1),
            Value::Double(1.0),
            Value::Float(1.0),
            Value::Bool(true),
            Value::String("1"),
            Value::UInt(1),
            Value::Double(1.0),
            Value::Bool(true),
        ]
        .into_iter()
        .map(|x| v.index(x))
        .collect();
        assert_eq!(idx, vec![0, 1, 2, 3, 4, 5, 6, 0, 3, 5]);
    }

    #[test]
    fn duplicate_property_is_an_error() {
        let mut l = layer(EncodeOptions::default());
        let err = l.add_tile_point(
            None,
            1.0,
            1.0,
            &[("a", Value::from(1u8)), ("a", Value::from(2u8))],
        );
        assert_eq!(err.unwrap_err(), Error::DuplicateProperty("a".into()));
    }

    #[test]
    fn duplicate_tagged_keys_are_errors_below_and_above_64_keys() {
        let mut l = layer(EncodeOptions::default());
        let keys: Vec<KeyId> = (0..70).map(|i| l.key_id(&format!("k{i}"))).collect();
        let v = l.value_id(Value::from(1u8));
        for k in [keys[3], keys[66]] {
            assert_eq!(
                l.add_tile_point_tagged(None, 1.0, 1.0, &[(keys[1], v), (k, v), (k, v)])
                    .unwrap_err(),
                Error::DuplicateProperty(l.key_strings[k.0 as usize].to_string())
            );
        }
        // Distinct keys on both sides of 64 are fine, and the point is added once.
        assert!(
            l.add_tile_point_tagged(None, 1.0, 1.0, &[(keys[3], v), (keys[66], v), (keys[1], v)])
                .unwrap()
        );
        assert_eq!(l.len(), 1);
        assert!(l.add_tile_point_tagged(None, f64::NAN, 1.0, &[]).is_err());
        assert!(!l.add_tile_point_tagged(None, -65.0, 1.0, &[]).unwrap());
    }

    #[test]
    fn points_outside_the_buffer_are_dropped_and_nan_rejected() {
        let mut l = layer(EncodeOptions {
            buffer: 10,
            ..Default::default()
        });
        assert!(l.add_tile_point(None, -10.0, 4106.0, &[]).unwrap());
        assert!(!l.add_tile_point(None, -10.5, 0.0, &[]).unwrap());
        assert!(!l.add_tile_point(None, 0.0, 4106.01, &[]).unwrap());
        assert!(l.add_tile_point(None, f64::NAN, 0.0, &[]).is_err());
        assert!(l.add_point(None, 0.0, f64::INFINITY, &[]).is_err());
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn geometry_collections_are_rejected() {
        let mut l = layer(EncodeOptions::default());
        let gc = Geometry::GeometryCollection(geo::GeometryCollection::default());
        assert_eq!(
            l.add_feature(None, &gc, &[]).unwrap_err(),
            Error::UnsupportedGeometry("GeometryCollection")
        );
    }

    #[test]
    fn empty_layer_gives_an_empty_tile() {
        assert!(layer(EncodeOptions::default()).into_tile().is_empty());
        let mut t = TileBuilder::new();
        t.add_layer(&layer(EncodeOptions::default())).unwrap();
        assert!(t.finish().is_empty());
    }
}
