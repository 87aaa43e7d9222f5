//! Chinese coordinate systems: WGS-84 <-> GCJ-02 <-> BD-09.
//!
//! All coordinates are `[lon, lat]` in degrees (RFC 7946 order).
//!
//! - **WGS-84** (EPSG:4326): GPS, OpenStreetMap; what civmap stores.
//! - **GCJ-02** ("Mars coordinates"): AMap/Gaode, Tencent, phones sold in China. An
//!   obfuscation of WGS-84 by a few hundred metres, defined by the published forward
//!   algorithm (Krasovsky ellipsoid a = 6378245 m, e² = 0.006693421622965943); points outside
//!   China (a lon/lat box) pass through unchanged.
//! - **BD-09**: Baidu, a second offset on top of GCJ-02.
//!
//! Both offsets have no closed-form inverse. The widely copied one-step inverse
//! (`2·p − f(p)`) is off by up to a few metres; here every inverse is solved by fixed-point
//! iteration to 1e-12° (≈ 0.1 µm), so `wgs84 → gcj02 → wgs84` round-trips exactly for all
//! practical purposes.
//!
//! ```
//! use civmap_geodata::crs::{Crs, gcj02_to_wgs84, wgs84_to_gcj02};
//! let crs: Crs = "GCJ02".parse().unwrap();
//! let wgs = [121.5272106, 31.1774276];
//! let gcj = wgs84_to_gcj02(wgs);
//! assert!((gcj[0] - 121.531541859215).abs() < 1e-9); // eviltransform's Shanghai test point
//! assert_eq!(crs.to_wgs84(gcj).map(|v| (v * 1e9).round()), wgs.map(|v| (v * 1e9).round()));
//! ```

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

use geo::MapCoordsInPlace;

/// Semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02, metres.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid as used by GCJ-02.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// BD-09's angular constant.
const X_PI: f64 = PI * 3000.0 / 180.0;
/// Convergence threshold of the iterative inverses, degrees.
const TOLERANCE: f64 = 1e-12;
const MAX_ITERATIONS: usize = 50;

/// Error for an unknown coordinate reference system name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown crs {0:?}: expected wgs84, gcj02 or bd09")]
pub struct CrsError(pub String);

/// A coordinate reference system accepted on input (and for GCJ-02, on output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Crs {
    /// WGS-84 (GPS, OpenStreetMap). The default and what is stored.
    #[default]
    Wgs84,
    /// GCJ-02 (AMap/Gaode, Tencent).
    Gcj02,
    /// BD-09 (Baidu).
    Bd09,
}

impl Crs {
    /// The canonical lower-case name: `wgs84`, `gcj02` or `bd09`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }

    /// Converts `[lon, lat]` in this CRS to WGS-84.
    #[must_use]
    pub fn to_wgs84(self, p: [f64; 2]) -> [f64; 2] {
        match self {
            Crs::Wgs84 => p,
            Crs::Gcj02 => gcj02_to_wgs84(p),
            Crs::Bd09 => bd09_to_wgs84(p),
        }
    }

    /// Converts WGS-84 `[lon, lat]` to this CRS.
    #[must_use]
    pub fn from_wgs84(self, p: [f64; 2]) -> [f64; 2] {
        match self {
            Crs::Wgs84 => p,
            Crs::Gcj02 => wgs84_to_gcj02(p),
            Crs::Bd09 => wgs84_to_bd09(p),
        }
    }

    /// Converts `[lon, lat]` from this CRS to `to`.
    #[must_use]
    pub fn convert(self, to: Crs, p: [f64; 2]) -> [f64; 2] {
        match (self, to) {
            (a, b) if a == b => p,
            (Crs::Gcj02, Crs::Bd09) => gcj02_to_bd09(p),
            (Crs::Bd09, Crs::Gcj02) => bd09_to_gcj02(p),
            (from, to) => to.from_wgs84(from.to_wgs84(p)),
        }
    }

    /// Converts every coordinate of a geometry (x = lon, y = lat) from this CRS to `to`, in place.
    pub fn convert_geometry(self, to: Crs, geometry: &mut geo::Geometry<f64>) {
        if self == to {
            return;
        }
        geometry.map_coords_in_place(|c| {
            let [x, y] = self.convert(to, [c.x, c.y]);
            geo::coord! { x: x, y: y }
        });
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Crs {
    type Err = CrsError;

    /// Parses `wgs84`, `gcj02`, `bd09`, case-insensitive, with or without a hyphen
    /// (`WGS-84`, `GCJ-02`, `BD-09`); `epsg:4326` is accepted as WGS-84.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        match norm.as_str() {
            "wgs84" | "epsg:4326" => Ok(Crs::Wgs84),
            "gcj02" => Ok(Crs::Gcj02),
            "bd09" => Ok(Crs::Bd09),
            _ => Err(CrsError(s.to_owned())),
        }
    }
}

/// `true` if GCJ-02 leaves this `[lon, lat]` unchanged: outside the box lon 73.66..135.05,
/// lat 3.86..53.55 (the bounds used by the widely deployed `coordtransform` implementations).
#[must_use]
pub fn out_of_china(p: [f64; 2]) -> bool {
    let [lon, lat] = p;
    !(lon > 73.66 && lon < 135.05 && lat > 3.86 && lat < 53.55)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// The GCJ-02 forward offset without the out-of-China test.
fn gcj02_offset([lon, lat]: [f64; 2]) -> [f64; 2] {
    let dlat = transform_lat(lon - 105.0, lat - 35.0);
    let dlon = transform_lon(lon - 105.0, lat - 35.0);
    let radlat = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * radlat.sin().powi(2);
    let sqrtmagic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrtmagic) * PI);
    let dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrtmagic * radlat.cos() * PI);
    [lon + dlon, lat + dlat]
}

/// Inverts `forward` at `target` by fixed-point iteration `x ← x − (f(x) − target)`.
/// Converges because both offsets are near-translations (their Jacobian is I + O(1e-3)).
fn invert(forward: impl Fn([f64; 2]) -> [f64; 2], target: [f64; 2], start: [f64; 2]) -> [f64; 2] {
    let mut x = start;
    for _ in 0..MAX_ITERATIONS {
        let f = forward(x);
        let d = [f[0] - target[0], f[1] - target[1]];
        x = [x[0] - d[0], x[1] - d[1]];
        if d[0].abs() < TOLERANCE && d[1].abs() < TOLERANCE {
            break;
        }
    }
    x
}

/// WGS-84 `[lon, lat]` to GCJ-02 (the published forward algorithm; identity outside China).
#[must_use]
pub fn wgs84_to_gcj02(p: [f64; 2]) -> [f64; 2] {
    if out_of_china(p) { p } else { gcj02_offset(p) }
}

/// GCJ-02 `[lon, lat]` to WGS-84, solved iteratively to 1e-12° (identity outside China).
#[must_use]
pub fn gcj02_to_wgs84(p: [f64; 2]) -> [f64; 2] {
    if out_of_china(p) {
        p
    } else {
        invert(gcj02_offset, p, p)
    }
}

/// GCJ-02 `[lon, lat]` to BD-09 (Baidu's published forward formula, `x_pi = π·3000/180`).
#[must_use]
pub fn gcj02_to_bd09([lon, lat]: [f64; 2]) -> [f64; 2] {
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000_003 * (lon * X_PI).cos();
    [z * theta.cos() + 0.0065, z * theta.sin() + 0.006]
}

/// BD-09 `[lon, lat]` to GCJ-02, solved iteratively to 1e-12° (the usual one-step formula is
/// the starting point; it is off by up to ~0.5 m).
#[must_use]
pub fn bd09_to_gcj02(p: [f64; 2]) -> [f64; 2] {
    invert(gcj02_to_bd09, p, bd09_to_gcj02_one_step(p))
}

fn bd09_to_gcj02_one_step([lon, lat]: [f64; 2]) -> [f64; 2] {
    let x = lon - 0.0065;
    let y = lat - 0.006;
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000_003 * (x * X_PI).cos();
    [z * theta.cos(), z * theta.sin()]
}

/// WGS-84 `[lon, lat]` to BD-09 (via GCJ-02).
#[must_use]
pub fn wgs84_to_bd09(p: [f64; 2]) -> [f64; 2] {
    gcj02_to_bd09(wgs84_to_gcj02(p))
}

/// BD-09 `[lon, lat]` to WGS-84 (via GCJ-02).
#[must_use]
pub fn bd09_to_wgs84(p: [f64; 2]) -> [f64; 2] {
    gcj02_to_wgs84(bd09_to_gcj02(p))
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // passthrough must be bit-exact
mod tests {
    use super::*;
    use geo::{Distance, Haversine, Point};
    use rand::{Rng, SeedableRng};

    fn metres(a: [f64; 2], b: [f64; 2]) -> f64 {
        Haversine.distance(Point::from(a), Point::from(b))
    }

    /// Test pairs from googollee/eviltransform `go/transform_test.go` (WGS-84 -> GCJ-02,
    /// stated there as lat, lon; swapped to lon, lat here). That test compares to 5 decimals.
    const EVILTRANSFORM: [([f64; 2], [f64; 2]); 3] = [
        (
            [121.527_210_6, 31.177_427_6],
            [121.531_541_859_215, 31.175_303_983_645_97],
        ), // Shanghai
        (
            [113.912_316, 22.543_847],
            [113.917_176_480_836_3, 22.540_796_131_694_766],
        ), // Shenzhen
        (
            [116.377_817, 39.911_954],
            [116.384_047_224_556_57, 39.913_345_455_360_69],
        ), // Beijing
    ];

    #[test]
    fn forward_matches_eviltransform_reference_points() {
        for (wgs, gcj) in EVILTRANSFORM {
            let got = wgs84_to_gcj02(wgs);
            assert!((got[0] - gcj[0]).abs() < 1e-9, "{got:?} vs {gcj:?}");
            assert!((got[1] - gcj[1]).abs() < 1e-9, "{got:?} vs {gcj:?}");
            // The exact inverse recovers the WGS-84 point (eviltransform asks < 0.5 m of its
            // own iterative inverse; ours gets to the micrometre).
            assert!(metres(gcj02_to_wgs84(gcj), wgs) < 1e-3);
        }
    }

    /// Reference values from wandergis/coordtransform `test/app.js` (input 116.404, 39.915).
    #[test]
    fn matches_coordtransform_reference_values() {
        let p = [116.404, 39.915];
        let close = |a: [f64; 2], b: [f64; 2], tol: f64| {
            assert!(
                (a[0] - b[0]).abs() < tol && (a[1] - b[1]).abs() < tol,
                "{a:?} vs {b:?}"
            );
        };
        close(
            wgs84_to_gcj02(p),
            [116.410_244_499_169_38, 39.916_404_281_501_64],
            1e-10,
        );
        close(
            gcj02_to_bd09(p),
            [116.410_369_493_710_29, 39.921_336_993_510_21],
            1e-10,
        );
        // coordtransform's inverses are the one-step approximations; ours are exact, so they
        // agree only to within those approximations' error (a few metres at most).
        let one_step_gcj_to_wgs = [116.397_755_500_830_61, 39.913_595_718_498_36];
        assert!(metres(gcj02_to_wgs84(p), one_step_gcj_to_wgs) < 5.0);
        let one_step_bd_to_gcj = [116.397_627_291_193_15, 39.908_656_739_576_31];
        assert!(metres(bd09_to_gcj02(p), one_step_bd_to_gcj) < 1.0);
        assert!(metres(bd09_to_gcj02_one_step(p), one_step_bd_to_gcj) < 1e-6);
    }

    #[test]
    fn round_trips_over_china_within_a_micrometre() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20_240_601);
        let mut worst = [0.0f64; 2];
        for _ in 0..20_000 {
            let p = [rng.random_range(74.0..135.0), rng.random_range(4.0..53.5)];
            let gcj = wgs84_to_gcj02(p);
            // The offset is real: hundreds of metres, never zero inside China.
            let off = metres(p, gcj);
            assert!(off > 1.0 && off < 1_500.0, "offset {off} m at {p:?}");
            let back = gcj02_to_wgs84(gcj);
            worst[0] = worst[0].max(metres(p, back));
            let back = bd09_to_wgs84(wgs84_to_bd09(p));
            worst[1] = worst[1].max(metres(p, back));
        }
        assert!(worst[0] < 1e-3, "wgs->gcj->wgs worst {} m", worst[0]);
        assert!(worst[1] < 1e-3, "wgs->bd->wgs worst {} m", worst[1]);
    }

    #[test]
    fn outside_china_passes_through() {
        let andorra = [1.52, 42.51];
        assert_eq!(wgs84_to_gcj02(andorra), andorra);
        assert_eq!(gcj02_to_wgs84(andorra), andorra);
        assert_eq!(Crs::Gcj02.to_wgs84(andorra), andorra);
    }

    #[test]
    fn parses_names_case_insensitively() {
        assert_eq!("wgs84".parse::<Crs>(), Ok(Crs::Wgs84));
        assert_eq!("WGS-84".parse::<Crs>(), Ok(Crs::Wgs84));
        assert_eq!("Gcj02".parse::<Crs>(), Ok(Crs::Gcj02));
        assert_eq!(" BD-09 ".parse::<Crs>(), Ok(Crs::Bd09));
        let err = "mars".parse::<Crs>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown crs \"mars\": expected wgs84, gcj02 or bd09"
        );
        for c in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
            assert_eq!(c.as_str().parse::<Crs>(), Ok(c));
        }
    }

    #[test]
    fn convert_is_consistent_between_all_pairs() {
        let p = [121.4955, 31.2850];
        let all = [Crs::Wgs84, Crs::Gcj02, Crs::Bd09];
        for from in all {
            for to in all {
                let q = from.convert(to, p);
                let back = to.convert(from, q);
                assert!(metres(p, back) < 1e-3, "{from}->{to}->{from}");
                // Going through WGS-84 gives the same point as the direct route.
                let via = to.from_wgs84(from.to_wgs84(p));
                assert!(metres(q, via) < 1e-3, "{from}->{to}");
            }
        }
    }
}
