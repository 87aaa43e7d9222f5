//! The pieces of the exact k-nearest search shared by the packed part and the R-tree: a cheap
//! lower bound of the haversine `a` over a box, the best-first queue entry, and the set of
//! candidates within rounding of the k-th best.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::geodesy::{BBox, HaversineFrom};

/// A lower bound of `sin(y)` for `y` in `[0, π/2]`: `y - y³/6` (Taylor with alternating terms).
#[inline]
fn sin_lower(y: f64) -> f64 {
    (y - y * y * y / 6.0).max(0.0)
}

/// Longitude gap in degrees (0 to 180) from `lon` to the interval `[min, max]`, around the globe:
/// the shorter of the way east to `min` and the way west to `max`.
#[inline]
fn lon_gap(lon: f64, min: f64, max: f64) -> f64 {
    let (east, west) = if lon < min {
        (min - lon, lon - max + 360.0)
    } else if lon > max {
        (min - lon + 360.0, lon - max)
    } else {
        return 0.0;
    };
    east.min(west).min(180.0)
}

/// A lower bound of the haversine `a` from `from` to any point of the box `b`, cheap (no
/// trigonometry). For a point p in b: |Δφ| ≥ the latitude gap, the wrapped |Δλ| ≥ the longitude
/// gap, `sin` grows on [0, π/2], and cos φp ≥ cos φq − |φp − φq| (cos is 1-Lipschitz). The
/// result is shrunk by 1e-9 relative so rounding can never lift it above a computed `a`.
#[inline]
pub(crate) fn a_lower_bound(from: &HaversineFrom, b: &BBox) -> f64 {
    let lat = from.lat();
    let dlat = if lat < b.min_lat() {
        b.min_lat() - lat
    } else if lat > b.max_lat() {
        lat - b.max_lat()
    } else {
        0.0
    };
    let dlon = lon_gap(from.lon(), b.min_lon(), b.max_lon());
    let s_lat = sin_lower(dlat.to_radians() / 2.0);
    let s_lon = sin_lower(dlon.to_radians() / 2.0);
    let far = (b.min_lat() - lat)
        .abs()
        .max((b.max_lat() - lat).abs())
        .to_radians();
    let cos_p = (from.cos_lat() - far).max(0.0);
    (s_lat * s_lat + from.cos_lat() * cos_p * s_lon * s_lon) * (1.0 - 1e-9)
}

/// A node waiting in a best-first queue, keyed by a lower bound of `a` over its box.
pub(crate) struct Pending<T> {
    pub(crate) key: f64,
    pub(crate) node: T,
}

impl<T> PartialEq for Pending<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T> Eq for Pending<T> {}
impl<T> PartialOrd for Pending<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Pending<T> {
    /// Reversed: `BinaryHeap` is a max-heap, we pop the smallest bound first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.total_cmp(&self.key)
    }
}

/// A max-heap entry of the k smallest `a` seen so far.
#[derive(PartialEq)]
struct Kth(f64);
impl Eq for Kth {}
impl PartialOrd for Kth {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Kth {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The candidates of one search: every offered point whose exact haversine `a` is within 1e-9
/// (relative) of the k-th smallest, so that sorting by (distance, id) and truncating to k gives
/// the exact answer, ties included.
///
/// Distances are 2R·asin(√a) up to rounding: keeping every point whose `a` is within 1e-9
/// relative of the k-th keeps every tie in distance. A search of several parts passes the
/// limit of one part on to the next (`with_limit`): a point beyond it cannot be in the answer.
pub(crate) struct Knn<T> {
    k: usize,
    kth: BinaryHeap<Kth>,
    found: Vec<(f64, T)>,
    /// Points with `a` above it cannot be in the answer; +∞ until k points are found.
    limit: f64,
}

impl<T> Knn<T> {
    pub(crate) fn with_limit(k: usize, limit: f64) -> Self {
        Self {
            k,
            kth: BinaryHeap::with_capacity(k + 1),
            found: Vec::with_capacity(2 * k),
            limit,
        }
    }

    #[inline]
    pub(crate) fn limit(&self) -> f64 {
        self.limit
    }

    /// Offers a point at (lon, lat). Its exact `a` (three sines and cosines) is computed only
    /// when its cheap lower bound is within the limit.
    #[inline]
    pub(crate) fn offer_point(&mut self, from: &HaversineFrom, lon: f64, lat: f64, item: T) {
        if self.limit < f64::INFINITY
            && a_lower_bound(from, &BBox::new_unchecked(lon, lat, lon, lat)) > self.limit
        {
            return;
        }
        let a = from.a(lon, lat);
        if a > self.limit {
            return;
        }
        self.found.push((a, item));
        self.kth.push(Kth(a));
        if self.kth.len() > self.k {
            self.kth.pop();
        }
        if self.kth.len() == self.k {
            let l = self
                .kth
                .peek()
                .map_or(f64::INFINITY, |m| m.0 * (1.0 + 1e-9));
            self.limit = self.limit.min(l);
        }
    }

    /// The candidates (`a`, item), unordered.
    pub(crate) fn finish(mut self) -> Vec<(f64, T)> {
        let limit = self.limit;
        self.found.retain(|&(a, _)| a <= limit);
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lon_gap_wraps() {
        assert_eq!(lon_gap(179.0, -179.0, -178.0), 2.0);
        assert_eq!(lon_gap(-179.0, 178.0, 179.0), 2.0);
        assert_eq!(lon_gap(10.0, 0.0, 20.0), 0.0);
        assert_eq!(lon_gap(0.0, 170.0, 171.0), 170.0);
    }

    #[test]
    fn a_lower_bound_is_below_a() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for _ in 0..100_000 {
            let q = HaversineFrom::new(
                rng.random_range(-180.0..180.0),
                rng.random_range(-89.0..89.0),
            );
            let span = if rng.random_bool(0.5) { 0.01 } else { 30.0 };
            let lon0 = (q.lon() + rng.random_range(-span..span)).clamp(-180.0, 180.0);
            let lat0 = (q.lat() + rng.random_range(-span..span)).clamp(-90.0, 90.0);
            let lon1 = (lon0 + rng.random_range(0.0..span)).min(180.0);
            let lat1 = (lat0 + rng.random_range(0.0..span)).min(90.0);
            let b = BBox::new(lon0, lat0, lon1, lat1).unwrap();
            let lb = a_lower_bound(&q, &b);
            for _ in 0..5 {
                let x = rng.random_range(lon0..=lon1);
                let y = rng.random_range(lat0..=lat1);
                assert!(lb <= q.a(x, y), "{q:?} {b:?} ({x}, {y})");
            }
        }
    }
}
