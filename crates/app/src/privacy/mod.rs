//! Where the public sees a problem. Problems of indoor categories (stairwell clutter,
//! flying-wire charging: [`civmap_domain::Category::indoor`]) are shown to the public at the
//! centre of their 50 m cell, in every public output (REST, OGC, Open311, tiles, feeds), so no
//! household can be identified. This is the one place that rule lives; [`text`] is the one for
//! personal data in what people write, [`public_text`] for descriptions the street office hid or
//! reworded.

mod public_text;
mod text;

pub use public_text::{HIDDEN_DESCRIPTION, PublicTexts};
pub use text::mask_personal;

use civmap_domain::{CategoryId, CategoryTable};
use civmap_index::METRES_PER_DEGREE;

use crate::memory::record::Record;

/// Side of the cells that public positions of indoor problems are generalised to, metres.
pub const GENERALISED_CELL_M: f64 = 50.0;

/// The centre of the [`GENERALISED_CELL_M`] cell holding a WGS-84 `[lon, lat]`: what public
/// outputs show instead of the position of a problem of an indoor category.
///
/// Cells are 50 m north-south; their width east-west is 50 m at the latitude of the cell's
/// centre line. Every position in a cell gives the same centre (idempotent), at most
/// `50 / √2 ≈ 35.4` m away from the true position.
///
/// ```
/// use civmap_app::privacy::generalise_position;
/// let a = generalise_position([121.497_12, 31.285_45]);
/// let b = generalise_position([121.497_13, 31.285_46]); // about 1.5 m away
/// assert_eq!(a, b);
/// assert_eq!(generalise_position(a), a);
/// ```
#[must_use]
pub fn generalise_position(p: [f64; 2]) -> [f64; 2] {
    let [lon, lat] = p;
    if !(lon.is_finite() && lat.is_finite()) {
        return p;
    }
    let dlat = GENERALISED_CELL_M / METRES_PER_DEGREE;
    let row = (lat / dlat).floor();
    let clat = ((row + 0.5) * dlat).clamp(-90.0, 90.0);
    // Near the poles a cell would be wider than the world; no street office is there.
    let dlon =
        (GENERALISED_CELL_M / (METRES_PER_DEGREE * clat.to_radians().cos().max(1e-6))).min(360.0);
    let col = (lon / dlon).floor();
    let clon = ((col + 0.5) * dlon).clamp(-180.0, 180.0);
    [clon, clat]
}

/// Whether problems of `category` are shown generalised to the public (indoor categories).
#[must_use]
pub fn is_generalised(table: &CategoryTable, category: CategoryId) -> bool {
    table.get(category).is_some_and(|c| c.indoor)
}

/// The WGS-84 position of a problem of `category` at (`lon`, `lat`) as the public may see it:
/// exact, or the centre of its 50 m cell for indoor categories; and whether it was generalised.
#[must_use]
pub fn public_lon_lat(
    table: &CategoryTable,
    category: CategoryId,
    lon: f64,
    lat: f64,
) -> ([f64; 2], bool) {
    if is_generalised(table, category) {
        (generalise_position([lon, lat]), true)
    } else {
        ([lon, lat], false)
    }
}

/// [`public_lon_lat`] of an in-memory problem.
#[must_use]
pub fn public_position(table: &CategoryTable, r: &Record) -> ([f64; 2], bool) {
    public_lon_lat(table, r.category, r.lon, r.lat)
}

/// A place in words as the public may read it for an indoor problem: without a house number
/// or a building's part ("四平路1239号附近" → "四平路附近"), so the 50 m cell is not undone by
/// the text. A place that names no number is kept.
///
/// ```
/// use civmap_app::privacy::generalise_place;
/// assert_eq!(generalise_place("四平路1239号附近"), "四平路附近");
/// assert_eq!(generalise_place("同济大学附近"), "同济大学附近");
/// ```
#[must_use]
pub fn generalise_place(place: &str) -> String {
    static NUMBER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\s*[0-9０-９]+[-－—0-9０-９]*\s*(号楼|号|弄|栋|幢|单元|室)")
            .expect("a valid built-in pattern")
    });
    NUMBER.replace_all(place, "").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::now_ms;
    use civmap_domain::{NewProblem, Severity, UserId};
    use rand::{Rng as _, SeedableRng as _};

    /// Metres between two WGS-84 positions (equirectangular; fine at these distances).
    fn metres(a: [f64; 2], b: [f64; 2]) -> f64 {
        let mid = f64::midpoint(a[1], b[1]).to_radians();
        let dx = (a[0] - b[0]) * METRES_PER_DEGREE * mid.cos();
        let dy = (a[1] - b[1]) * METRES_PER_DEGREE;
        dx.hypot(dy)
    }

    fn record(table: &CategoryTable, cat: &str) -> Record {
        let p = NewProblem {
            lon: 121.497_123_4,
            lat: 31.285_456_7,
            category: cat.into(),
            severity: Severity::High,
            description: String::new(),
        }
        .validate(table, Some(UserId::new()), now_ms())
        .unwrap();
        Record::from_problem(&p, table).unwrap()
    }

    #[test]
    fn generalisation_is_a_50_m_cell() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut moved_far = 0;
        for _ in 0..20_000 {
            let p = [
                rng.random_range(121.40..121.60),
                rng.random_range(31.20..31.35),
            ];
            let g = generalise_position(p);
            let d = metres(p, g);
            assert!(d <= 35.5, "{p:?} -> {g:?} moved {d} m");
            if d > 10.0 {
                moved_far += 1;
            }
            assert_eq!(
                generalise_position(g),
                g,
                "the centre is its own cell's centre"
            );
        }
        assert!(
            moved_far > 10_000,
            "positions really are coarsened ({moved_far})"
        );
        // Cells are 50 m: centres of neighbouring cells are 50 m apart north-south.
        let a = generalise_position([121.5, 31.28]);
        let b = generalise_position([121.5, a[1] + 50.0 / METRES_PER_DEGREE]);
        assert!((metres(a, b) - 50.0).abs() < 0.5, "{}", metres(a, b));
        // Non-indoor categories are not touched, indoor ones are.
        let t = CategoryTable::builtin();
        let r = record(&t, "garbage");
        assert_eq!(public_position(&t, &r), ([r.lon, r.lat], false));
        let r = record(&t, "flying_wire_charging");
        let (p, g) = public_position(&t, &r);
        assert!(g && p != [r.lon, r.lat]);
    }
}
