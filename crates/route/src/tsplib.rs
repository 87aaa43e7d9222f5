//! TSPLIB95 instances: parsing `.tsp` and `.tour` text, the library's own distance functions,
//! tour length, and solving an instance with the crate's solver.
//!
//! Supported: `TYPE : TSP` with a `NODE_COORD_SECTION` and `EDGE_WEIGHT_TYPE` one of `EUC_2D`,
//! `CEIL_2D`, `ATT` and `GEO`, computed as Reinelt's TSPLIB95 documentation defines them
//! (`nint(x) = (int)(x + 0.5)`; GEO with `PI = 3.141592`, `RRR = 6378.388` and coordinates in
//! `DDD.MM` degrees-and-minutes). For GEO the degree part is `(int) x`, truncation toward zero, as
//! in the TSPLIB FAQ: this is what reproduces the published optima (gr96 measures 55209 with
//! truncation and 56120 with rounding to nearest).
//!
//! ```
//! use civmap_route::tsplib::Instance;
//! let text = "NAME : tiny\nTYPE : TSP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\n\
//!             NODE_COORD_SECTION\n1 0 0\n2 3 4\n3 0 4\nEOF\n";
//! let inst = Instance::parse(text)?;
//! assert_eq!(inst.distance(0, 1), 5);
//! assert_eq!(inst.tour_length(&[0, 1, 2]), 5 + 3 + 4);
//! # Ok::<(), civmap_route::tsplib::TsplibError>(())
//! ```

use std::fmt;
use std::time::Duration;

use crate::tsp::{self, CostMatrix, SolverConfig, SolverError};

/// Errors of the TSPLIB module.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TsplibError {
    /// A line could not be understood.
    #[error("line {line}: {reason}: {text:?}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A required header entry is missing.
    #[error("missing {0} in the TSPLIB header")]
    MissingHeader(&'static str),
    /// The problem type is not a symmetric TSP (or, for a tour file, not a TOUR).
    #[error("unsupported TYPE {0:?} (expected {1})")]
    UnsupportedType(String, &'static str),
    /// The edge-weight type is not one of `EUC_2D`, `CEIL_2D`, `ATT`, `GEO`.
    #[error("unsupported EDGE_WEIGHT_TYPE {0:?} (supported: EUC_2D, CEIL_2D, ATT, GEO)")]
    UnsupportedEdgeWeightType(String),
    /// A node id is outside `1..=DIMENSION`.
    #[error("node id {id} is outside 1..={dimension}")]
    NodeOutOfRange {
        /// The id.
        id: i64,
        /// The dimension.
        dimension: usize,
    },
    /// A node id appears twice (in coordinates or in a tour).
    #[error("node id {0} appears more than once")]
    DuplicateNode(usize),
    /// Fewer coordinates (or tour entries) than the dimension.
    #[error("expected {expected} nodes, found {found}")]
    NodeCount {
        /// DIMENSION.
        expected: usize,
        /// Nodes read.
        found: usize,
    },
    /// The solver rejected the instance (distances too large).
    #[error(transparent)]
    Solver(#[from] SolverError),
}

/// How distances are computed from coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeWeightType {
    /// Euclidean distance rounded to the nearest integer.
    Euc2d,
    /// Euclidean distance rounded up.
    Ceil2d,
    /// Pseudo-Euclidean distance of the att48/att532 instances.
    Att,
    /// Geographical distance in km on an idealised sphere; coordinates are latitude, longitude in DDD.MM.
    Geo,
}

impl EdgeWeightType {
    fn parse(s: &str) -> Result<Self, TsplibError> {
        match s {
            "EUC_2D" => Ok(Self::Euc2d),
            "CEIL_2D" => Ok(Self::Ceil2d),
            "ATT" => Ok(Self::Att),
            "GEO" => Ok(Self::Geo),
            other => Err(TsplibError::UnsupportedEdgeWeightType(other.to_owned())),
        }
    }
}

/// A parsed TSPLIB instance. Node `i` (0-based) is TSPLIB node `i + 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// `NAME` from the header (empty when absent).
    pub name: String,
    /// `EDGE_WEIGHT_TYPE`.
    pub weight_type: EdgeWeightType,
    /// Coordinates as written in the file (x, y); for GEO, x is latitude and y longitude in DDD.MM.
    pub coords: Vec<(f64, f64)>,
    /// GEO only: latitude and longitude in radians, as TSPLIB converts them.
    geo: Vec<(f64, f64)>,
}

/// Splits `KEY : VALUE` (the colon may have spaces around it or be glued to the key).
fn header(line: &str) -> Option<(&str, &str)> {
    let (k, v) = line.split_once(':')?;
    Some((k.trim(), v.trim()))
}

/// TSPLIB's `nint`: `(int)(x + 0.5)`.
fn nint(x: f64) -> i64 {
    (x + 0.5) as i64
}

/// TSPLIB GEO conversion of one `DDD.MM` coordinate to radians.
fn geo_radians(x: f64) -> f64 {
    // TSPLIB's own truncated pi; the published GEO distances depend on it.
    #[allow(clippy::approx_constant)]
    const PI: f64 = 3.141_592;
    let deg = x.trunc();
    let min = x - deg;
    PI * (deg + 5.0 * min / 3.0) / 180.0
}

/// Parses a `NODE_COORD_SECTION` line `id x y`; the error is the reason.
fn coord_line(line: &str) -> Result<(i64, f64, f64), &'static str> {
    let mut parts = line.split_whitespace();
    let id: i64 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("node id is not an integer")?;
    let x: f64 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("x is not a number")?;
    let y: f64 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("y is not a number")?;
    if parts.next().is_some() {
        return Err("expected `id x y` (only 2-D coordinates are supported)");
    }
    if !x.is_finite() || !y.is_finite() {
        return Err("coordinate is not finite");
    }
    Ok((id, x, y))
}

impl Instance {
    /// Parses `.tsp` text.
    pub fn parse(text: &str) -> Result<Self, TsplibError> {
        let mut name = String::new();
        let mut dimension: Option<usize> = None;
        let mut weight_type: Option<EdgeWeightType> = None;
        let mut coords: Vec<Option<(f64, f64)>> = Vec::new();
        let mut found = 0usize;
        let mut in_coords = false;
        let mut in_other_section = false;
        for (idx, raw) in text.lines().enumerate() {
            let line_no = idx + 1;
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            if line == "EOF" {
                break;
            }
            let bad = |reason| TsplibError::BadLine {
                line: line_no,
                text: raw.to_owned(),
                reason,
            };
            if line.starts_with("NODE_COORD_SECTION") {
                let dim = dimension.ok_or(TsplibError::MissingHeader("DIMENSION"))?;
                coords = vec![None; dim];
                in_coords = true;
                in_other_section = false;
                continue;
            }
            if line.ends_with("_SECTION") {
                if line.starts_with("EDGE_WEIGHT_SECTION") {
                    return Err(TsplibError::UnsupportedEdgeWeightType("EXPLICIT".into()));
                }
                // DISPLAY_DATA_SECTION and the like: not needed for distances.
                in_coords = false;
                in_other_section = true;
                continue;
            }
            if in_coords || in_other_section {
                let first = line.split_whitespace().next().unwrap_or("");
                if first.parse::<i64>().is_err() && header(line).is_some() {
                    in_coords = false;
                    in_other_section = false;
                } else if in_other_section {
                    continue;
                }
            }
            if in_coords {
                let (id, x, y) = coord_line(line).map_err(bad)?;
                let dim = coords.len();
                if id < 1 || id as usize > dim {
                    return Err(TsplibError::NodeOutOfRange { id, dimension: dim });
                }
                let slot = &mut coords[id as usize - 1];
                if slot.is_some() {
                    return Err(TsplibError::DuplicateNode(id as usize));
                }
                *slot = Some((x, y));
                found += 1;
                continue;
            }
            let (key, value) = header(line).ok_or_else(|| bad("expected `KEY : VALUE`"))?;
            match key {
                "NAME" => value.clone_into(&mut name),
                "TYPE" if value != "TSP" => {
                    return Err(TsplibError::UnsupportedType(value.to_owned(), "TSP"));
                }
                "DIMENSION" => {
                    dimension = Some(value.parse().map_err(|_| bad("DIMENSION is not a count"))?);
                }
                "EDGE_WEIGHT_TYPE" => weight_type = Some(EdgeWeightType::parse(value)?),
                _ => {} // COMMENT, DISPLAY_DATA_TYPE, NODE_COORD_TYPE, ...
            }
        }
        let dim = dimension.ok_or(TsplibError::MissingHeader("DIMENSION"))?;
        let weight_type = weight_type.ok_or(TsplibError::MissingHeader("EDGE_WEIGHT_TYPE"))?;
        if found != dim || coords.len() != dim {
            return Err(TsplibError::NodeCount {
                expected: dim,
                found,
            });
        }
        let coords: Vec<(f64, f64)> = coords.into_iter().flatten().collect();
        let geo = if weight_type == EdgeWeightType::Geo {
            coords
                .iter()
                .map(|&(x, y)| (geo_radians(x), geo_radians(y)))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            name,
            weight_type,
            coords,
            geo,
        })
    }

    /// Number of nodes.
    #[must_use]
    pub fn dimension(&self) -> usize {
        self.coords.len()
    }

    /// TSPLIB distance between 0-based nodes `i` and `j`.
    ///
    /// # Panics
    /// When `i` or `j` is not below [`dimension`](Self::dimension).
    #[must_use]
    pub fn distance(&self, i: usize, j: usize) -> i64 {
        let (xi, yi) = self.coords[i];
        let (xj, yj) = self.coords[j];
        let (dx, dy) = (xi - xj, yi - yj);
        match self.weight_type {
            EdgeWeightType::Euc2d => nint((dx * dx + dy * dy).sqrt()),
            EdgeWeightType::Ceil2d => (dx * dx + dy * dy).sqrt().ceil() as i64,
            EdgeWeightType::Att => {
                let r = ((dx * dx + dy * dy) / 10.0).sqrt();
                let t = nint(r);
                if (t as f64) < r { t + 1 } else { t }
            }
            EdgeWeightType::Geo => {
                const RRR: f64 = 6378.388;
                let (lat_i, lon_i) = self.geo[i];
                let (lat_j, lon_j) = self.geo[j];
                let q1 = (lon_i - lon_j).cos();
                let q2 = (lat_i - lat_j).cos();
                let q3 = (lat_i + lat_j).cos();
                let arg = (0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3)).clamp(-1.0, 1.0);
                (RRR * arg.acos() + 1.0) as i64
            }
        }
    }

    /// The full distance matrix.
    pub fn matrix(&self) -> Result<CostMatrix, TsplibError> {
        Ok(CostMatrix::from_fn(self.dimension(), |i, j| {
            self.distance(i, j)
        })?)
    }

    /// Length of the closed tour over 0-based node indices (edge back to the first node included).
    #[must_use]
    pub fn tour_length(&self, tour: &[usize]) -> i64 {
        let n = tour.len();
        (0..n)
            .map(|k| self.distance(tour[k], tour[(k + 1) % n]))
            .sum()
    }
}

/// Parses a TSPLIB `.tour` file (`TOUR_SECTION` ended by `-1`) into 0-based node indices,
/// checking that it visits `1..=DIMENSION` exactly once each.
pub fn parse_tour(text: &str) -> Result<Vec<usize>, TsplibError> {
    let mut dimension: Option<usize> = None;
    let mut tour = Vec::new();
    let mut in_section = false;
    'lines: for (idx, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |reason| TsplibError::BadLine {
            line: idx + 1,
            text: raw.to_owned(),
            reason,
        };
        if !in_section {
            if line == "TOUR_SECTION" {
                in_section = true;
                continue;
            }
            if line == "EOF" {
                break;
            }
            let (key, value) = header(line).ok_or_else(|| bad("expected `KEY : VALUE`"))?;
            match key {
                "TYPE" if value != "TOUR" => {
                    return Err(TsplibError::UnsupportedType(value.to_owned(), "TOUR"));
                }
                "DIMENSION" => {
                    dimension = Some(value.parse().map_err(|_| bad("DIMENSION is not a count"))?);
                }
                _ => {}
            }
            continue;
        }
        for tok in line.split_whitespace() {
            let id: i64 = tok
                .parse()
                .map_err(|_| bad("tour entry is not an integer"))?;
            if id == -1 {
                break 'lines;
            }
            if id < 1 {
                return Err(TsplibError::NodeOutOfRange {
                    id,
                    dimension: dimension.unwrap_or(0),
                });
            }
            tour.push(id as usize - 1);
        }
    }
    let dim = dimension.unwrap_or(tour.len());
    if tour.len() != dim {
        return Err(TsplibError::NodeCount {
            expected: dim,
            found: tour.len(),
        });
    }
    let mut seen = vec![false; dim];
    for &c in &tour {
        if c >= dim {
            return Err(TsplibError::NodeOutOfRange {
                id: c as i64 + 1,
                dimension: dim,
            });
        }
        if std::mem::replace(&mut seen[c], true) {
            return Err(TsplibError::DuplicateNode(c + 1));
        }
    }
    Ok(tour)
}

/// Parses `bestSolutions.txt` lines `name : length` into `(name, length)` pairs; other lines are skipped.
#[must_use]
pub fn parse_best_solutions(text: &str) -> Vec<(String, i64)> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = header(l)?;
            Some((k.to_owned(), v.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

/// A solved instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    /// 0-based node indices in tour order, starting at node 0 (TSPLIB node 1).
    pub tour: Vec<usize>,
    /// Tour length in the instance's own distance function.
    pub length: i64,
    /// Perturbation rounds the solver ran.
    pub rounds: u64,
    /// `true` when the time limit ended the run.
    pub timed_out: bool,
}

impl fmt::Display for Solution {
    /// One 1-based TSPLIB node id per line, then `length N` on the last line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &c in &self.tour {
            writeln!(f, "{}", c + 1)?;
        }
        writeln!(f, "length {}", self.length)
    }
}

/// Parses a `.tsp` text and solves it with the crate's solver; the result's length is measured
/// with TSPLIB's distance function. Deterministic for a `seed` unless `time_limit` ends the run.
pub fn solve_tsplib(text: &str, seed: u64, time_limit: Duration) -> Result<Solution, TsplibError> {
    let inst = Instance::parse(text)?;
    solve_instance(
        &inst,
        &SolverConfig {
            seed,
            time_limit,
            ..SolverConfig::default()
        },
    )
}

/// Solves a parsed instance with explicit solver settings.
pub fn solve_instance(inst: &Instance, cfg: &SolverConfig) -> Result<Solution, TsplibError> {
    let m = inst.matrix()?;
    let t = tsp::solve_tour(&m, cfg);
    let length = inst.tour_length(&t.order);
    Ok(Solution {
        tour: t.order,
        length,
        rounds: t.rounds,
        timed_out: t.timed_out,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn distance_functions_follow_the_tsplib_definitions() {
        let mk = |t: &str, a: (f64, f64), b: (f64, f64)| {
            let text = format!(
                "TYPE: TSP\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: {t}\nNODE_COORD_SECTION\n1 {} {}\n2 {} {}\nEOF\n",
                a.0, a.1, b.0, b.1
            );
            Instance::parse(&text).unwrap().distance(0, 1)
        };
        // sqrt(2) = 1.414..: EUC_2D rounds to 1, CEIL_2D up to 2.
        assert_eq!(mk("EUC_2D", (0.0, 0.0), (1.0, 1.0)), 1);
        assert_eq!(mk("CEIL_2D", (0.0, 0.0), (1.0, 1.0)), 2);
        // 2.5 rounds up (nint = (int)(x + 0.5)).
        assert_eq!(mk("EUC_2D", (0.0, 0.0), (2.5, 0.0)), 3);
        // ATT: sqrt(100/10) = 3.162 -> nint 3 < 3.162 -> 4.
        assert_eq!(mk("ATT", (0.0, 0.0), (10.0, 0.0)), 4);
        // ATT: sqrt((30^2 + 10^2)/10) = 10 exactly -> 10.
        assert_eq!(mk("ATT", (0.0, 0.0), (30.0, 10.0)), 10);
        // GEO: one degree of latitude on RRR: 6378.388 * pi/180 * (3.141592/pi) = 111.32 -> (int)(111.32 + 1) = 112.
        assert_eq!(mk("GEO", (0.0, 0.0), (1.0, 0.0)), 112);
        // GEO minutes: 0.30 is 30' = half a degree -> 55.66 + 1 -> 56.
        assert_eq!(mk("GEO", (0.0, 0.0), (0.30, 0.0)), 56);
    }

    #[test]
    fn bad_input_is_named() {
        let e = Instance::parse("DIMENSION: 2\nEDGE_WEIGHT_TYPE: MAN_2D\n").unwrap_err();
        assert_eq!(e, TsplibError::UnsupportedEdgeWeightType("MAN_2D".into()));
        let e = Instance::parse(
            "DIMENSION: 2\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n3 1 1\n",
        )
        .unwrap_err();
        assert_eq!(
            e,
            TsplibError::NodeOutOfRange {
                id: 3,
                dimension: 2
            }
        );
        let e = Instance::parse(
            "DIMENSION: 2\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n1 1 1\n",
        )
        .unwrap_err();
        assert_eq!(e, TsplibError::DuplicateNode(1));
        let e = Instance::parse(
            "DIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 1\nEOF\n",
        )
        .unwrap_err();
        assert_eq!(
            e,
            TsplibError::NodeCount {
                expected: 3,
                found: 2
            }
        );
        let e = Instance::parse(
            "DIMENSION: 1\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 zero 0\n",
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                TsplibError::BadLine {
                    line: 4,
                    reason: "x is not a number",
                    ..
                }
            ),
            "{e}"
        );
        let e = Instance::parse("TYPE: ATSP\nDIMENSION: 1\n").unwrap_err();
        assert_eq!(e, TsplibError::UnsupportedType("ATSP".into(), "TSP"));
        let e = parse_tour("DIMENSION: 3\nTOUR_SECTION\n1\n2\n2\n-1\n").unwrap_err();
        assert_eq!(e, TsplibError::DuplicateNode(2));
    }

    #[test]
    fn solution_display_ends_with_length_line() {
        let s = Solution {
            tour: vec![0, 2, 1],
            length: 12,
            rounds: 0,
            timed_out: false,
        };
        assert_eq!(s.to_string(), "1\n3\n2\nlength 12\n");
    }
}
