//! The crate's error type.

/// Everything that can go wrong when building tiles.
///
/// Dropping a feature because it lies outside the tile (plus buffer) is not an error: the
/// `add_*` methods return `Ok(false)` for that.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Zoom level above [`crate::MAX_ZOOM`].
    #[error("zoom {z} is above the maximum zoom {max}")]
    ZoomTooLarge {
        /// The requested zoom.
        z: u8,
        /// The largest supported zoom.
        max: u8,
    },
    /// Tile column or row outside `0..2^z`.
    #[error("tile {z}/{x}/{y} does not exist: x and y must be below 2^{z}")]
    TileOutOfRange {
        /// Zoom.
        z: u8,
        /// Column.
        x: u32,
        /// Row.
        y: u32,
    },
    /// A tile path that is not `z/x/y` with integers.
    #[error("invalid tile path {0:?}: expected z/x/y")]
    InvalidTilePath(String),
    /// Invalid encoder options (extent, buffer, tolerance, cluster cell).
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A coordinate that is NaN or infinite.
    #[error("non-finite coordinate ({x}, {y})")]
    NonFiniteCoordinate {
        /// First coordinate (longitude or tile x).
        x: f64,
        /// Second coordinate (latitude or tile y).
        y: f64,
    },
    /// A geometry type MVT cannot carry in one feature.
    #[error("unsupported geometry type {0}: encode its members as separate features")]
    UnsupportedGeometry(&'static str),
    /// A layer name that is empty.
    #[error("layer name must not be empty")]
    EmptyLayerName,
    /// Two layers with the same name in one tile (the spec forbids it).
    #[error("duplicate layer name {0:?} in one tile")]
    DuplicateLayer(String),
    /// The same property key twice in one feature.
    #[error("duplicate property key {0:?} in one feature")]
    DuplicateProperty(String),
    /// A pre-interned tag whose key or value index is not in this layer's tables.
    #[error("tag (key {key}, value {value}) does not index this layer's keys and values")]
    UnknownTag {
        /// Key index.
        key: u32,
        /// Value index.
        value: u32,
    },
    /// More vertices in one command than the 29-bit command count can hold.
    #[error("geometry too large: {0} vertices in one command")]
    GeometryTooLarge(usize),
}
