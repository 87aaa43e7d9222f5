//! Distances, bounding boxes and the conversions between exact `f64` positions and the `f32`
//! keys of the R-tree.
//!
//! All positions are WGS-84 longitude/latitude in decimal degrees, longitude first (RFC 7946).
//! Distances are great-circle metres on a sphere of radius [`EARTH_RADIUS_M`] (the haversine
//! formula, the same as `geo::Haversine` to within 1e-12 relative; at city scale the sines are
//! evaluated by short series instead of calls to libm, see [`haversine_m`]). At city scale the sphere differs from the WGS-84
//! ellipsoid by at most ~0.5 %; what matters for the index is that every query is *exact with
//! respect to this one formula*: the brute-force oracle in the tests calls the same function.

use civmap_domain::LonLat;
use rstar::AABB;

use crate::error::IndexError;

/// Mean Earth radius used for every distance, in metres (IUGG/GRS80 mean radius R₁, the radius
/// of `geo::Haversine`).
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Metres per degree of latitude on the sphere of radius [`EARTH_RADIUS_M`] (~111,195 m).
pub const METRES_PER_DEGREE: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

/// Great-circle distance between two WGS-84 positions in metres (haversine on the sphere of
/// radius [`EARTH_RADIUS_M`]). This is *the* distance of the index: radius and nearest-neighbour
/// queries are exact with respect to it (they call the same code).
///
/// When the two positions are less than ~0.02 rad (~120 km) apart in latitude and in longitude,
/// the sines and cosines of the small differences and the final arcsine are evaluated by their
/// Taylor series (truncated where the next term is below 1e-19 relative): about four times
/// faster than libm's calls, and within 1e-12 relative of `geo::Haversine` (a tenth of a
/// nanometre at 200 m). Farther apart it is `geo::Haversine`'s formula operation for operation.
///
/// ```
/// use civmap_domain::LonLat;
/// use civmap_index::haversine_m;
/// let tongji = LonLat::new(121.4971, 31.2854).unwrap();
/// let peoples_square = LonLat::new(121.4737, 31.2304).unwrap();
/// // 0.055° of latitude (6,115.7 m) and 0.0234° of longitude at 31.26° N (2,224.1 m).
/// let d = haversine_m(tongji, peoples_square);
/// assert!((d - 6_507.6).abs() < 0.1, "{d}");
/// ```
#[must_use]
pub fn haversine_m(from: LonLat, to: LonLat) -> f64 {
    HaversineFrom::new(from.lon(), from.lat()).distance(to.lon(), to.lat())
}

/// Below this difference of latitude and of longitude (radians, ~127 km) [`HaversineFrom`] uses
/// series instead of libm's sine, cosine and arcsine.
const SMALL_RAD: f64 = 0.02;
/// `a` of two points less than [`SMALL_RAD`] apart in both directions is at most
/// `sin²(0.01) + sin²(0.01)`; the arcsine series is used up to this `a`.
const SMALL_A: f64 = 2.0e-4;

/// `sin x` for `|x| <= 0.01` (the next term, `x⁹/9!`, is below 1e-19 of `x`).
#[inline]
fn sin_small(x: f64) -> f64 {
    let x2 = x * x;
    x * (1.0 - x2 / 6.0 * (1.0 - x2 / 20.0 * (1.0 - x2 / 42.0)))
}

/// `cos x` for `|x| <= 0.02` (the next term, `x¹⁰/10!`, is below 1e-23).
#[inline]
fn cos_small(x: f64) -> f64 {
    let x2 = x * x;
    1.0 - x2 / 2.0 * (1.0 - x2 / 12.0 * (1.0 - x2 / 30.0 * (1.0 - x2 / 56.0)))
}

/// `asin s` for `0 <= s <= 0.0142` (the next term, `63 s¹¹/2816`, is below 1e-20 of `s`).
#[inline]
fn asin_small(s: f64) -> f64 {
    let s2 = s * s;
    s * (1.0 + s2 * (1.0 / 6.0 + s2 * (3.0 / 40.0 + s2 * (5.0 / 112.0 + s2 * (35.0 / 1152.0)))))
}

/// The haversine formula from one fixed origin (see [`haversine_m`], which calls it) with the
/// intermediate `a` exposed: `a` is monotone in the distance, so searches can compare `a`
/// values and convert only the results.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HaversineFrom {
    lon: f64,
    lat: f64,
    /// `cos(lat)` of the origin, in radians; the same value geo computes on every call.
    cos_lat: f64,
    /// `sin(lat)` of the origin.
    sin_lat: f64,
}

impl HaversineFrom {
    pub(crate) fn new(lon: f64, lat: f64) -> Self {
        Self {
            lon,
            lat,
            cos_lat: lat.to_radians().cos(),
            sin_lat: lat.to_radians().sin(),
        }
    }

    pub(crate) fn lat(&self) -> f64 {
        self.lat
    }

    pub(crate) fn lon(&self) -> f64 {
        self.lon
    }

    pub(crate) fn cos_lat(&self) -> f64 {
        self.cos_lat
    }

    /// The haversine `a = sin²(Δφ/2) + cos φ₁ cos φ₂ sin²(Δλ/2)` to (lon, lat).
    #[inline]
    pub(crate) fn a(&self, lon: f64, lat: f64) -> f64 {
        let delta_theta = (lat - self.lat).to_radians();
        let delta_lambda = (lon - self.lon).to_radians();
        if delta_theta.abs() <= SMALL_RAD && delta_lambda.abs() <= SMALL_RAD {
            // cos φ₂ = cos(φ₁ + Δφ), expanded so that only Δφ needs a series.
            let cos2 =
                self.cos_lat * cos_small(delta_theta) - self.sin_lat * sin_small(delta_theta);
            let s1 = sin_small(delta_theta * 0.5);
            let s2 = sin_small(delta_lambda * 0.5);
            return s1 * s1 + self.cos_lat * cos2.max(0.0) * s2 * s2;
        }
        let theta2 = lat.to_radians();
        (delta_theta / 2.0).sin().powi(2)
            + self.cos_lat * theta2.cos() * (delta_lambda / 2.0).sin().powi(2)
    }

    /// Metres from an `a` computed by [`HaversineFrom::a`].
    #[inline]
    pub(crate) fn metres(a: f64) -> f64 {
        if a <= SMALL_A {
            return EARTH_RADIUS_M * (2.0 * asin_small(a.sqrt()));
        }
        EARTH_RADIUS_M * (2.0 * a.sqrt().asin())
    }

    /// Metres to (lon, lat); equal to [`haversine_m`] from the origin.
    #[inline]
    pub(crate) fn distance(&self, lon: f64, lat: f64) -> f64 {
        Self::metres(self.a(lon, lat))
    }
}

/// A longitude/latitude box in WGS-84 degrees, closed on every side: a point on an edge or a
/// corner is inside. Boxes do not wrap the antimeridian (`min_lon <= max_lon`); query the two
/// halves separately if you need to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    min_lon: f64,
    min_lat: f64,
    max_lon: f64,
    max_lat: f64,
}

impl BBox {
    /// A box from its south-west and north-east corners, in degrees.
    ///
    /// ```
    /// use civmap_index::BBox;
    /// let b = BBox::new(121.45, 31.20, 121.50, 31.25).unwrap();
    /// assert_eq!(b.min_lon(), 121.45);
    /// assert!(BBox::new(121.5, 31.2, 121.4, 31.3).is_err(), "min_lon > max_lon");
    /// ```
    pub fn new(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> Result<Self, IndexError> {
        let vals = [min_lon, min_lat, max_lon, max_lat];
        if vals.iter().any(|v| !v.is_finite()) {
            return Err(IndexError::InvalidBBox(format!(
                "non-finite coordinate in {vals:?}"
            )));
        }
        if min_lon > max_lon || min_lat > max_lat {
            return Err(IndexError::InvalidBBox(format!(
                "corners out of order: min ({min_lon}, {min_lat}) max ({max_lon}, {max_lat})"
            )));
        }
        if min_lon < -180.0 || max_lon > 180.0 || min_lat < -90.0 || max_lat > 90.0 {
            return Err(IndexError::InvalidBBox(format!(
                "outside lon [-180, 180] / lat [-90, 90]: {vals:?}"
            )));
        }
        Ok(Self {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    }

    /// A box from bounds the caller knows to be valid.
    #[inline]
    pub(crate) fn new_unchecked(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> Self {
        Self {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        }
    }

    /// The smallest box holding every position (`None` for none).
    #[must_use]
    pub fn around(points: impl IntoIterator<Item = LonLat>) -> Option<Self> {
        let mut it = points.into_iter();
        let first = it.next()?;
        let mut b = Self {
            min_lon: first.lon(),
            min_lat: first.lat(),
            max_lon: first.lon(),
            max_lat: first.lat(),
        };
        for p in it {
            b.min_lon = b.min_lon.min(p.lon());
            b.min_lat = b.min_lat.min(p.lat());
            b.max_lon = b.max_lon.max(p.lon());
            b.max_lat = b.max_lat.max(p.lat());
        }
        Some(b)
    }

    /// Western edge, degrees.
    #[must_use]
    pub fn min_lon(&self) -> f64 {
        self.min_lon
    }
    /// Southern edge, degrees.
    #[must_use]
    pub fn min_lat(&self) -> f64 {
        self.min_lat
    }
    /// Eastern edge, degrees.
    #[must_use]
    pub fn max_lon(&self) -> f64 {
        self.max_lon
    }
    /// Northern edge, degrees.
    #[must_use]
    pub fn max_lat(&self) -> f64 {
        self.max_lat
    }

    /// Whether the position lies inside or on the edge of the box.
    #[must_use]
    pub fn contains(&self, p: LonLat) -> bool {
        self.contains_xy(p.lon(), p.lat())
    }

    #[inline]
    pub(crate) fn contains_xy(&self, lon: f64, lat: f64) -> bool {
        lon >= self.min_lon && lon <= self.max_lon && lat >= self.min_lat && lat <= self.max_lat
    }

    /// The tree-space (`f32`) envelope of the box. Rounding `f64 -> f32` is monotone, so every
    /// point inside the `f64` box has its `f32` key inside this envelope: pruning with it never
    /// loses a point, and the exact `f64` test on the leaves decides.
    pub(crate) fn key_envelope(&self) -> AABB<[f32; 2]> {
        AABB::from_corners(
            [self.min_lon as f32, self.min_lat as f32],
            [self.max_lon as f32, self.max_lat as f32],
        )
    }

    /// The smallest box holding both.
    pub(crate) fn union(&self, o: &BBox) -> BBox {
        BBox {
            min_lon: self.min_lon.min(o.min_lon),
            min_lat: self.min_lat.min(o.min_lat),
            max_lon: self.max_lon.max(o.max_lon),
            max_lat: self.max_lat.max(o.max_lat),
        }
    }

    /// Intersection with another box (`None` if disjoint).
    pub(crate) fn intersection(&self, o: &BBox) -> Option<BBox> {
        let b = BBox {
            min_lon: self.min_lon.max(o.min_lon),
            min_lat: self.min_lat.max(o.min_lat),
            max_lon: self.max_lon.min(o.max_lon),
            max_lat: self.max_lat.min(o.max_lat),
        };
        (b.min_lon <= b.max_lon && b.min_lat <= b.max_lat).then_some(b)
    }

    pub(crate) const WORLD: BBox = BBox {
        min_lon: -180.0,
        min_lat: -90.0,
        max_lon: 180.0,
        max_lat: 90.0,
    };
}

/// The `f64` box that surely holds every exact position whose `f32` key lies in `env`: each
/// bound is widened by one `f32` step, which is more than the half step of rounding to nearest.
pub(crate) fn widen_key_envelope(env: &AABB<[f32; 2]>) -> BBox {
    let lo = env.lower();
    let hi = env.upper();
    BBox {
        min_lon: f64::from(lo[0].next_down()),
        min_lat: f64::from(lo[1].next_down()),
        max_lon: f64::from(hi[0].next_up()),
        max_lat: f64::from(hi[1].next_up()),
    }
}

/// `floor(x)` as an integer, saturating at the `i32` range (NaN gives 0). Written out because
/// `f64::floor` is a library call on the x86-64 baseline (no SSE4.1) and this runs per point.
#[inline]
pub(crate) fn floor_i32(x: f64) -> i32 {
    let t = x as i32; // truncates toward zero, saturating
    t.saturating_sub(i32::from(f64::from(t) > x))
}

/// The key of an exact position in the R-tree: longitude and latitude rounded to `f32`.
#[inline]
pub(crate) fn key(lon: f64, lat: f64) -> [f32; 2] {
    [lon as f32, lat as f32]
}

/// Boxes (one, or two when the circle crosses the antimeridian) that hold every position whose
/// haversine distance from `center` is at most `radius_m`.
///
/// Latitude extent: `±r/R`. Longitude extent: `asin(sin(r/R) / cos φ)`, the widest longitude of
/// a spherical cap; all longitudes when the cap holds a pole. A margin of 1e-7° (~1 cm) absorbs
/// floating-point rounding, so the exact test on the candidates decides the boundary.
pub(crate) fn circle_boxes(center: LonLat, radius_m: f64) -> (BBox, Option<BBox>) {
    const MARGIN_DEG: f64 = 1e-7;
    let delta = radius_m / EARTH_RADIUS_M; // radians
    let delta_deg = delta.to_degrees();
    let lat = center.lat();
    let min_lat = (lat - delta_deg - MARGIN_DEG).max(-90.0);
    let max_lat = (lat + delta_deg + MARGIN_DEG).min(90.0);
    let cos_lat = lat.to_radians().cos();
    let full_lon = delta >= std::f64::consts::FRAC_PI_2
        || lat + delta_deg >= 90.0
        || lat - delta_deg <= -90.0
        || delta.sin() >= cos_lat;
    let lat_box = |min_lon: f64, max_lon: f64| BBox {
        min_lon,
        min_lat,
        max_lon,
        max_lat,
    };
    if full_lon {
        return (lat_box(-180.0, 180.0), None);
    }
    let dlon = (delta.sin() / cos_lat).asin().to_degrees() * (1.0 + 1e-9) + MARGIN_DEG;
    let lo = center.lon() - dlon;
    let hi = center.lon() + dlon;
    if hi - lo >= 360.0 {
        (lat_box(-180.0, 180.0), None)
    } else if lo < -180.0 {
        (lat_box(lo + 360.0, 180.0), Some(lat_box(-180.0, hi)))
    } else if hi > 180.0 {
        (lat_box(lo, 180.0), Some(lat_box(-180.0, hi - 360.0)))
    } else {
        (lat_box(lo, hi), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Distance, Haversine, Point};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rstar::Envelope;

    #[test]
    fn haversine_agrees_with_geo_within_1e_12() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..100_000 {
            let a = LonLat::new(
                rng.random_range(-180.0..=180.0),
                rng.random_range(-90.0..=90.0),
            )
            .unwrap();
            // Mostly near pairs (city scale), some far.
            let (dl, dp) = if rng.random_bool(0.8) {
                (rng.random_range(-0.05..0.05), rng.random_range(-0.05..0.05))
            } else {
                (
                    rng.random_range(-200.0..200.0),
                    rng.random_range(-100.0..100.0),
                )
            };
            let b = LonLat::new(
                (a.lon() + dl).clamp(-180.0, 180.0),
                (a.lat() + dp).clamp(-90.0, 90.0),
            )
            .unwrap();
            let h = HaversineFrom::new(a.lon(), a.lat());
            let geo = Haversine.distance(Point::from(a), Point::from(b));
            let ours = h.distance(b.lon(), b.lat());
            assert_eq!(ours.to_bits(), haversine_m(a, b).to_bits());
            assert!(
                (ours - geo).abs() <= 1e-12 * geo.max(1.0),
                "{a:?} {b:?}: {ours} vs geo {geo}"
            );
        }
    }

    #[test]
    fn floor_i32_matches_floor() {
        for x in [
            0.0f64, -0.0, 0.5, -0.5, 1.0, -1.0, 2.999_999, -2.000_001, 1e12, -1e12, 123.0,
        ] {
            let want = x.floor().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
            assert_eq!(floor_i32(x), want, "{x}");
        }
        assert_eq!(floor_i32(f64::NAN), 0);
        assert_eq!(floor_i32(-1e-300), -1);
    }

    #[test]
    fn known_distances() {
        // One degree of latitude along a meridian is R * pi / 180.
        let a = LonLat::new(121.0, 31.0).unwrap();
        let b = LonLat::new(121.0, 32.0).unwrap();
        assert!((haversine_m(a, b) - METRES_PER_DEGREE).abs() < 1e-6);
        // One degree of longitude at 60° N is close to half of that (great circle is shorter
        // than the parallel by a hair).
        let c = LonLat::new(10.0, 60.0).unwrap();
        let d = LonLat::new(11.0, 60.0).unwrap();
        let got = haversine_m(c, d);
        assert!(got < METRES_PER_DEGREE / 2.0 && got > METRES_PER_DEGREE / 2.0 * 0.9999);
    }

    #[test]
    fn circle_boxes_hold_the_circle() {
        // Points at exactly the radius in many directions, at latitudes from Sanya to Mohe and
        // near the antimeridian and the pole, must lie inside the boxes.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for &(lon, lat) in &[
            (109.5, 18.25),
            (121.47, 31.23),
            (122.53, 52.97),
            (179.999, 40.0),
            (-179.999, -40.0),
            (0.0, 89.99),
        ] {
            let c = LonLat::new(lon, lat).unwrap();
            for &r in &[0.0, 1.0, 200.0, 5_000.0, 2_000_000.0] {
                let (b1, b2) = circle_boxes(c, r);
                for _ in 0..2_000 {
                    let p = LonLat::new(
                        (lon + rng.random_range(-1.0..1.0) * (r / 50_000.0 + 1e-6))
                            .clamp(-180.0, 180.0),
                        (lat + rng.random_range(-1.0..1.0) * (r / 80_000.0 + 1e-6))
                            .clamp(-90.0, 90.0),
                    )
                    .unwrap();
                    if haversine_m(c, p) <= r {
                        assert!(
                            b1.contains(p) || b2.is_some_and(|b| b.contains(p)),
                            "{c:?} r={r} misses {p:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn key_envelope_holds_rounded_points() {
        let b = BBox::new(121.400_000_1, 31.2, 121.400_000_3, 31.200_000_2).unwrap();
        let env = b.key_envelope();
        let k = key(121.400_000_2, 31.200_000_1);
        assert!(env.contains_point(&k));
        let w = widen_key_envelope(&AABB::from_point(k));
        assert!(w.contains_xy(121.400_000_2, 31.200_000_1));
    }
}
