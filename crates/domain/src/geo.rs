//! Locations.

use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// A WGS-84 position, longitude first (RFC 7946 order), in decimal degrees.
///
/// A `LonLat` is always valid: finite, longitude in [-180, 180], latitude in [-90, 90]. The system
/// stores WGS-84 only; GCJ-02 and BD-09 input is converted at the edge (see `civmap-geodata`).
///
/// ```
/// use civmap_domain::LonLat;
/// let p = LonLat::new(121.4971, 31.2854).unwrap(); // Tongji University, Shanghai
/// assert_eq!(p.lon(), 121.4971);
/// assert!(LonLat::new(f64::NAN, 31.0).is_err());
/// assert!(LonLat::new(121.0, 91.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LonLat {
    lon: f64,
    lat: f64,
}

impl LonLat {
    /// Validates and builds a position from longitude and latitude in degrees.
    pub fn new(lon: f64, lat: f64) -> Result<Self, ValidationError> {
        check_coord("lon", lon, 180.0)?;
        check_coord("lat", lat, 90.0)?;
        Ok(Self { lon, lat })
    }

    /// Longitude in degrees east.
    #[must_use]
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Latitude in degrees north.
    #[must_use]
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// `[lon, lat]`, the GeoJSON position.
    #[must_use]
    pub fn to_array(self) -> [f64; 2] {
        [self.lon, self.lat]
    }
}

fn check_coord(field: &'static str, v: f64, limit: f64) -> Result<(), ValidationError> {
    if !v.is_finite() {
        return Err(ValidationError::NotFinite { field });
    }
    if !(-limit..=limit).contains(&v) {
        return Err(ValidationError::OutOfRange {
            field,
            value: v,
            min: -limit,
            max: limit,
        });
    }
    Ok(())
}

impl<'de> Deserialize<'de> for LonLat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            lon: f64,
            lat: f64,
        }
        let raw = Raw::deserialize(d)?;
        LonLat::new(raw.lon, raw.lat).map_err(serde::de::Error::custom)
    }
}

impl From<LonLat> for geo_types::Point<f64> {
    fn from(p: LonLat) -> Self {
        geo_types::Point::new(p.lon, p.lat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive_and_named() {
        assert!(LonLat::new(180.0, 90.0).is_ok());
        assert!(LonLat::new(-180.0, -90.0).is_ok());
        assert_eq!(
            LonLat::new(180.5, 0.0).unwrap_err().field(),
            "lon",
            "the error names the field"
        );
        assert_eq!(LonLat::new(0.0, f64::INFINITY).unwrap_err().field(), "lat");
    }

    #[test]
    fn deserialize_validates() {
        let ok: LonLat = serde_json::from_str(r#"{"lon":121.5,"lat":31.3}"#).unwrap();
        assert_eq!(ok.to_array(), [121.5, 31.3]);
        assert!(serde_json::from_str::<LonLat>(r#"{"lon":221.5,"lat":31.3}"#).is_err());
    }
}
