//! Web Mercator tile math: the XYZ ("slippy map") tiling of EPSG:3857, `y` counted from the north.
//!
//! Coordinates in and out are WGS-84 degrees in RFC 7946 order (longitude, latitude). Latitudes
//! are clamped to ±[`MAX_LATITUDE`], where Web Mercator is cut to a square. Tile coordinates are
//! in *tile units*: `0..extent` across the tile, `x` to the east, `y` to the south (down), as the
//! MVT specification defines them.

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

use geo::{Coord, Rect};

use crate::error::Error;

/// The latitude where Web Mercator is cut to a square world, in degrees: `atan(sinh(π))`.
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;

/// The largest supported zoom level.
///
/// At z24 a tile unit (of 4096) is about 0.6 mm at the equator; the global tile-unit
/// coordinate `2^24 · 4096 = 2^36` is still exact in an `f64`.
pub const MAX_ZOOM: u8 = 24;

/// Mean equatorial circumference used by Web Mercator (EPSG:3857), in metres.
pub const EARTH_CIRCUMFERENCE_M: f64 = 2.0 * PI * 6_378_137.0;

/// One tile of the XYZ tiling: zoom `z`, column `x` (from the antimeridian eastwards) and row `y`
/// (from the north edge southwards). Always valid: `z <= MAX_ZOOM` and `x, y < 2^z`.
///
/// ```
/// use civmap_tiles::TileId;
/// // The tile of the Chicago Loop at z13, lon/lat order.
/// let tile = TileId::containing(-87.63, 41.88, 13).unwrap();
/// assert_eq!((tile.z(), tile.x(), tile.y()), (13, 2101, 3044));
/// assert_eq!(tile.to_string(), "13/2101/3044");
/// assert_eq!("13/2101/3044".parse::<TileId>().unwrap(), tile);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    z: u8,
    x: u32,
    y: u32,
}

impl TileId {
    /// The tile `z/x/y`, checked.
    pub fn new(z: u8, x: u32, y: u32) -> Result<Self, Error> {
        if z > MAX_ZOOM {
            return Err(Error::ZoomTooLarge { z, max: MAX_ZOOM });
        }
        let n = 1u64 << z;
        if u64::from(x) >= n || u64::from(y) >= n {
            return Err(Error::TileOutOfRange { z, x, y });
        }
        Ok(Self { z, x, y })
    }

    /// The tile at zoom `z` that contains the point (`lon`, `lat`) in degrees.
    ///
    /// Latitudes beyond ±[`MAX_LATITUDE`] are clamped; a point on a tile's west or north edge
    /// belongs to that tile; `lon = 180` belongs to the last column.
    pub fn containing(lon: f64, lat: f64, z: u8) -> Result<Self, Error> {
        if !lon.is_finite() || !lat.is_finite() {
            return Err(Error::NonFiniteCoordinate { x: lon, y: lat });
        }
        if z > MAX_ZOOM {
            return Err(Error::ZoomTooLarge { z, max: MAX_ZOOM });
        }
        let n = f64::from(1u32 << z);
        let max = (1u32 << z) - 1;
        let x = (lon_to_world_x(lon).clamp(0.0, 1.0) * n).floor() as u32;
        let y = (lat_to_world_y(lat) * n).floor() as u32;
        Self::new(z, x.min(max), y.min(max))
    }

    /// Zoom level.
    #[must_use]
    pub fn z(&self) -> u8 {
        self.z
    }

    /// Column, `0..2^z`, from the antimeridian eastwards.
    #[must_use]
    pub fn x(&self) -> u32 {
        self.x
    }

    /// Row, `0..2^z`, from the north edge southwards.
    #[must_use]
    pub fn y(&self) -> u32 {
        self.y
    }

    /// The tile's bounds as a lon/lat rectangle in degrees (`min` = south-west corner).
    #[must_use]
    pub fn bounds(&self) -> Rect<f64> {
        self.buffered_bounds(0, 1)
    }

    /// The bounds of the tile grown by `buffer` tile units of `extent` on every side, as a
    /// lon/lat rectangle in degrees, clamped to the Web Mercator world. Use it as the index
    /// query window for a layer encoded with the same buffer.
    #[must_use]
    pub fn buffered_bounds(&self, buffer: u32, extent: u32) -> Rect<f64> {
        let extent = f64::from(extent.max(1));
        let n = f64::from(1u32 << self.z) * extent;
        let b = f64::from(buffer);
        let x0 = ((f64::from(self.x) * extent - b) / n).clamp(0.0, 1.0);
        let x1 = ((f64::from(self.x + 1) * extent + b) / n).clamp(0.0, 1.0);
        let y0 = ((f64::from(self.y) * extent - b) / n).clamp(0.0, 1.0);
        let y1 = ((f64::from(self.y + 1) * extent + b) / n).clamp(0.0, 1.0);
        let (west, north) = world_to_lon_lat(x0, y0);
        let (east, south) = world_to_lon_lat(x1, y1);
        Rect::new(Coord { x: west, y: south }, Coord { x: east, y: north })
    }

    /// The tile one zoom level up that contains this one, or `None` at zoom 0.
    #[must_use]
    pub fn parent(&self) -> Option<Self> {
        (self.z > 0).then(|| Self {
            z: self.z - 1,
            x: self.x / 2,
            y: self.y / 2,
        })
    }

    /// The four tiles one zoom level down (NW, NE, SW, SE), or `None` at [`MAX_ZOOM`].
    #[must_use]
    pub fn children(&self) -> Option<[Self; 4]> {
        if self.z >= MAX_ZOOM {
            return None;
        }
        let (z, x, y) = (self.z + 1, self.x * 2, self.y * 2);
        Some([
            Self { z, x, y },
            Self { z, x: x + 1, y },
            Self { z, x, y: y + 1 },
            Self {
                z,
                x: x + 1,
                y: y + 1,
            },
        ])
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

impl FromStr for TileId {
    type Err = Error;

    /// Parses `z/x/y` (as in `/tiles/{layer}/{z}/{x}/{y}.mvt`).
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidTilePath(s.to_owned());
        let mut parts = s.split('/');
        let z = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let x = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let y = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if parts.next().is_some() {
            return Err(bad());
        }
        Self::new(z, x, y)
    }
}

/// Longitude in degrees to the Web Mercator world x in `[0, 1]` (0 = antimeridian west).
/// Not clamped: longitudes outside ±180 give values outside `[0, 1]`.
#[inline]
#[must_use]
pub fn lon_to_world_x(lon: f64) -> f64 {
    (lon + 180.0) / 360.0
}

/// Latitude in degrees to the Web Mercator world y in `[0, 1]` (0 = north edge), with the
/// latitude clamped to ±[`MAX_LATITUDE`].
#[inline]
#[must_use]
pub fn lat_to_world_y(lat: f64) -> f64 {
    let s = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians().sin();
    // ln(tan(π/4 + φ/2)) = ½ ln((1 + sin φ) / (1 − sin φ)): one sin and one ln.
    (0.5 - ((1.0 + s) / (1.0 - s)).ln() / (4.0 * PI)).clamp(0.0, 1.0)
}

/// Web Mercator world coordinates (`x`, `y` in `[0, 1]`, `y` down) to (longitude, latitude)
/// in degrees.
#[must_use]
pub fn world_to_lon_lat(x: f64, y: f64) -> (f64, f64) {
    let lon = x * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees();
    (lon, lat)
}

/// Projection from lon/lat degrees to the tile units of one tile, precomputed for speed.
///
/// ```
/// use civmap_tiles::{TileId, TileProjection};
/// let tile = TileId::new(1, 1, 0).unwrap(); // the north-east quarter of the world
/// let p = TileProjection::new(tile, 4096);
/// let (x, y) = p.project(0.0, 0.0); // lon, lat: the tile's south-west corner
/// assert!((x - 0.0).abs() < 1e-9 && (y - 4096.0).abs() < 1e-9);
/// let (lon, lat) = p.unproject(x, y);
/// assert!(lon.abs() < 1e-12 && lat.abs() < 1e-9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileProjection {
    tile: TileId,
    extent: u32,
    /// Tile units across the whole world: `2^z · extent`.
    world: f64,
    /// Global tile-unit coordinate of the tile's north-west corner.
    x0: f64,
    y0: f64,
    /// `x = lon · kx + bx`, `y = by − ky · ln((1 + sin φ) / (1 − sin φ))`: the projection with
    /// its constants folded, one division and two libm calls per point.
    kx: f64,
    bx: f64,
    ky: f64,
    by: f64,
    /// Fast path for y: a 5th-order Taylor polynomial of the projection around the tile's
    /// centre latitude `phi_c` (radians), used for `|φ − φc| <= fast_range`. Empty range when
    /// the polynomial is not accurate to [`FAST_Y_MAX_ERROR`] over the buffered tile (low zooms).
    phi_c: f64,
    fast_range: f64,
    /// `y(φc + d) = c[0] + c[1] d + … + c[5] d⁵`, in tile units.
    c: [f64; 6],
}

/// Largest error of the fast projection path, in tile units, checked when the projection is
/// built (the exact formula is used where it would be larger).
pub const FAST_Y_MAX_ERROR: f64 = 1e-6;

/// `atanh(sin φ)` (the inverse Gudermannian, Mercator's `ln tan(π/4 + φ/2)`) and its first five
/// derivatives at `phi` (radians).
fn gd_inv_derivatives(phi: f64) -> [f64; 6] {
    let (s, c) = phi.sin_cos();
    let (sec, t) = (1.0 / c, s / c);
    let t2 = t * t;
    [
        ((1.0 + s) / (1.0 - s)).ln() / 2.0,
        sec,
        sec * t,
        sec * (2.0 * t2 + 1.0),
        sec * t * (6.0 * t2 + 5.0),
        sec * (24.0 * t2 * t2 + 28.0 * t2 + 5.0),
    ]
}

impl TileProjection {
    /// The projection into `tile` with `extent` tile units across.
    #[must_use]
    pub fn new(tile: TileId, extent: u32) -> Self {
        let e = f64::from(extent);
        let world = f64::from(1u32 << tile.z) * e;
        let (x0, y0) = (f64::from(tile.x) * e, f64::from(tile.y) * e);
        let ky = world / (4.0 * PI);
        let by = world * 0.5 - y0;
        let mut p = Self {
            tile,
            extent,
            world,
            x0,
            y0,
            kx: world / 360.0,
            bx: world * 0.5 - x0,
            ky,
            by,
            phi_c: 0.0,
            fast_range: -1.0,
            c: [0.0; 6],
        };
        // The fast path covers the tile plus a quarter of a tile on each side (any buffer up
        // to the extent/4), if the polynomial is accurate enough there.
        let (_, north) = world_to_lon_lat(0.0, (y0 - e / 4.0).max(0.0) / world);
        let (_, south) = world_to_lon_lat(0.0, (y0 + 1.25 * e).min(world) / world);
        let (_, centre) = world_to_lon_lat(0.0, (y0 + e / 2.0) / world);
        let phi_c = centre.to_radians();
        let range = (north.to_radians() - phi_c).max(phi_c - south.to_radians());
        let f = gd_inv_derivatives(phi_c);
        let mut c = [0.0; 6];
        let mut factorial = 1.0;
        for (k, (ck, fk)) in c.iter_mut().zip(f).enumerate() {
            if k > 0 {
                factorial *= k as f64;
            }
            // y = by − ky · ln((1 + sin φ)/(1 − sin φ)) = by − 2 ky · atanh(sin φ)
            *ck = -2.0 * ky * fk / factorial;
        }
        c[0] += by;
        p.phi_c = phi_c;
        p.c = c;
        p.fast_range = range;
        let accurate = (0..=16).all(|i| {
            let lat = (phi_c + range * (f64::from(i) / 8.0 - 1.0)).to_degrees();
            (p.project(0.0, lat).1 - p.project_exact_y(lat)).abs() <= FAST_Y_MAX_ERROR
        });
        if !accurate {
            p.fast_range = -1.0;
        }
        p
    }

    /// The tile this projection maps into.
    #[must_use]
    pub fn tile(&self) -> TileId {
        self.tile
    }

    /// Tile units across the tile.
    #[must_use]
    pub fn extent(&self) -> u32 {
        self.extent
    }

    /// (`lon`, `lat`) in degrees to (`x`, `y`) in tile units (unrounded; may lie outside
    /// `0..extent` for points outside the tile). Latitude is clamped to ±[`MAX_LATITUDE`].
    #[inline]
    #[must_use]
    pub fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        let phi = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians();
        let d = phi - self.phi_c;
        let y = if d.abs() <= self.fast_range {
            let c = &self.c;
            c[0] + d * (c[1] + d * (c[2] + d * (c[3] + d * (c[4] + d * c[5]))))
        } else {
            self.project_exact_y(lat)
        };
        (lon * self.kx + self.bx, y)
    }

    /// The y of [`Self::project`] by the closed formula (one `sin`, one `ln`).
    #[inline]
    fn project_exact_y(&self, lat: f64) -> f64 {
        let s = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians().sin();
        self.by - self.ky * ((1.0 + s) / (1.0 - s)).ln()
    }

    /// (`x`, `y`) in tile units to (longitude, latitude) in degrees.
    #[must_use]
    pub fn unproject(&self, x: f64, y: f64) -> (f64, f64) {
        world_to_lon_lat((x + self.x0) / self.world, (y + self.y0) / self.world)
    }

    /// Ground distance of one tile unit at latitude `lat` (degrees), in metres
    /// (Web Mercator scale factor `cos φ`).
    #[must_use]
    pub fn metres_per_unit(&self, lat: f64) -> f64 {
        EARTH_CIRCUMFERENCE_M * lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians().cos()
            / self.world
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_tiles() {
        assert!(matches!(
            TileId::new(25, 0, 0),
            Err(Error::ZoomTooLarge { .. })
        ));
        assert!(matches!(
            TileId::new(2, 4, 0),
            Err(Error::TileOutOfRange { .. })
        ));
        assert!(TileId::new(24, (1 << 24) - 1, (1 << 24) - 1).is_ok());
        for bad in ["", "1/2", "1/0/0/0", "a/0/0", "-1/0/0", "3/8/0"] {
            assert!(bad.parse::<TileId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn bounds_of_known_tiles() {
        let world = TileId::new(0, 0, 0).unwrap().bounds();
        assert!((world.min().x + 180.0).abs() < 1e-12);
        assert!((world.max().x - 180.0).abs() < 1e-12);
        assert!((world.max().y - MAX_LATITUDE).abs() < 1e-9);
        assert!((world.min().y + MAX_LATITUDE).abs() < 1e-9);
        // z1 x1 y0 is the north-east quarter.
        let ne = TileId::new(1, 1, 0).unwrap().bounds();
        assert!(ne.min().x.abs() < 1e-12 && ne.min().y.abs() < 1e-9);
        // Tile 13/2101/3044 of the mvt-fixtures "chicago" set spans lon -87.670898..-87.626953.
        let chicago = TileId::new(13, 2101, 3044).unwrap().bounds();
        assert!((chicago.min().x - (2101.0 / 8192.0 * 360.0 - 180.0)).abs() < 1e-12);
        assert!((chicago.min().x + 87.670_898_437_5).abs() < 1e-9);
        assert!(chicago.min().y < 41.88 && chicago.max().y > 41.88);
    }

    #[test]
    fn containing_and_edges() {
        // Shanghai People's Square (lon, lat) at z14.
        let t = TileId::containing(121.4737, 31.2304, 14).unwrap();
        let b = t.bounds();
        assert!(b.min().x <= 121.4737 && 121.4737 < b.max().x);
        assert!(b.min().y < 31.2304 && 31.2304 <= b.max().y);
        assert_eq!(TileId::containing(180.0, 0.0, 3).unwrap().x(), 7);
        assert_eq!(TileId::containing(-180.0, 90.0, 3).unwrap().y(), 0);
        assert_eq!(TileId::containing(0.0, -90.0, 3).unwrap().y(), 7);
        assert!(TileId::containing(f64::NAN, 0.0, 3).is_err());
    }

    #[test]
    fn project_unproject_round_trip() {
        let t = TileId::containing(121.4737, 31.2304, 16).unwrap();
        let p = TileProjection::new(t, 4096);
        for &(lon, lat) in &[(121.4737, 31.2304), (121.47, 31.23), (121.48, 31.24)] {
            let (x, y) = p.project(lon, lat);
            let (lon2, lat2) = p.unproject(x, y);
            assert!((lon - lon2).abs() < 1e-11 && (lat - lat2).abs() < 1e-11);
        }
        // Corners map to 0 and extent.
        let b = t.bounds();
        let (x, y) = p.project(b.min().x, b.max().y);
        assert!(x.abs() < 1e-6 && y.abs() < 1e-6);
        let (x, y) = p.project(b.max().x, b.min().y);
        assert!((x - 4096.0).abs() < 1e-6 && (y - 4096.0).abs() < 1e-6);
        // Clamped latitude.
        let w = TileProjection::new(TileId::new(0, 0, 0).unwrap(), 4096);
        assert!(w.project(0.0, 89.9).1.abs() < 1e-9);
        assert!((w.project(0.0, -89.9).1 - 4096.0).abs() < 1e-9);
    }

    /// The fast polynomial path agrees with the closed formula everywhere it is used.
    #[test]
    fn fast_projection_matches_the_formula() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut fast_tiles = 0;
        for z in [0u8, 2, 4, 6, 8, 10, 11, 12, 14, 16, 18, 20, 22, 24] {
            for _ in 0..40 {
                let lat0 = rng.random_range(-85.0..85.0);
                let lon0 = rng.random_range(-180.0..180.0);
                let t = TileId::containing(lon0, lat0, z).unwrap();
                let p = TileProjection::new(t, 4096);
                fast_tiles += usize::from(p.fast_range > 0.0);
                let b = t.buffered_bounds(2048, 4096);
                for _ in 0..200 {
                    let lat = rng.random_range(b.min().y..=b.max().y);
                    let (_, y) = p.project(0.0, lat);
                    let exact = lat_to_world_y(lat) * p.world - p.y0;
                    // The two closed forms differ by float rounding, relative to the world size.
                    assert!(
                        (y - exact).abs() <= FAST_Y_MAX_ERROR + p.world * 1e-15,
                        "z{z} lat {lat}: {y} vs {exact}"
                    );
                }
            }
        }
        // The fast path is on for the zooms where it matters (z10 and up, most latitudes).
        assert!(fast_tiles > 40 * 7, "{fast_tiles}");
        for z in [10, 14, 18] {
            let p = TileProjection::new(TileId::containing(121.47, 31.23, z).unwrap(), 4096);
            assert!(p.fast_range > 0.0, "z{z}");
        }
    }

    #[test]
    fn parent_children() {
        let t = TileId::new(14, 13_722, 6_705).unwrap();
        for c in t.children().unwrap() {
            assert_eq!(c.parent().unwrap(), t);
            let (cb, tb) = (c.bounds(), t.bounds());
            assert!(cb.min().x >= tb.min().x - 1e-12 && cb.max().x <= tb.max().x + 1e-12);
        }
        assert!(TileId::new(0, 0, 0).unwrap().parent().is_none());
    }

    #[test]
    fn buffered_bounds_grow_and_clamp() {
        let t = TileId::new(14, 13_722, 6_705).unwrap();
        let (b, bb) = (t.bounds(), t.buffered_bounds(64, 4096));
        let w = b.max().x - b.min().x;
        assert!((b.min().x - bb.min().x - w * 64.0 / 4096.0).abs() < 1e-12);
        let world = TileId::new(0, 0, 0).unwrap().buffered_bounds(64, 4096);
        assert!((world.min().x + 180.0).abs() < 1e-12);
    }

    #[test]
    fn metres_per_unit_at_equator() {
        let p = TileProjection::new(TileId::new(0, 0, 0).unwrap(), 4096);
        assert!((p.metres_per_unit(0.0) - 40_075_016.686 / 4096.0).abs() < 1e-2);
    }
}
