//! Where a query looks ([`Region`]) and the same region made ready for one traversal
//! ([`Prepared`]), shared by the packed and the live parts of the index.

use civmap_domain::LonLat;
use geo::{MultiPolygon, Polygon};

use crate::area::{AreaGrid, Shape};
use crate::error::IndexError;
use crate::geodesy::{BBox, HaversineFrom, circle_boxes};
use crate::zones::ZoneIndex;

/// Where a query looks. Every region is closed: points on its boundary are in it.
#[derive(Debug, Clone, Copy)]
pub enum Region<'a> {
    /// The whole index.
    All,
    /// A lon/lat box (edges included).
    BBox(BBox),
    /// Points whose haversine distance from `center` is at most `radius_m` metres.
    Circle { center: LonLat, radius_m: f64 },
    /// A lon/lat polygon, holes allowed; points on any ring are in (geo's `Intersects`).
    Polygon(&'a Polygon<f64>),
    /// A lon/lat multipolygon (the union of its polygons), same boundary rule.
    MultiPolygon(&'a MultiPolygon<f64>),
    /// The geometry of a zone held by a [`ZoneIndex`].
    Zone(&'a ZoneIndex, civmap_domain::ZoneId),
}

/// A region made ready for one traversal.
pub(crate) enum Prepared<'a> {
    All,
    Nothing,
    Boxes(BBox, Option<BBox>),
    Circle {
        boxes: (BBox, Option<BBox>),
        from: HaversineFrom,
        radius_m: f64,
    },
    Area {
        shape: Shape<'a>,
        grid: std::borrow::Cow<'a, AreaGrid>,
    },
}

impl<'a> Region<'a> {
    pub(crate) fn prepare(&self) -> Result<Prepared<'a>, IndexError> {
        Ok(match *self {
            Region::All => Prepared::All,
            Region::BBox(b) => Prepared::Boxes(b, None),
            Region::Circle { center, radius_m } => {
                if !(radius_m.is_finite() && radius_m >= 0.0) {
                    return Err(IndexError::InvalidRadius(radius_m));
                }
                Prepared::Circle {
                    boxes: circle_boxes(center, radius_m),
                    from: HaversineFrom::new(center.lon(), center.lat()),
                    radius_m,
                }
            }
            Region::Polygon(p) => prepare_shape(Shape::Polygon(p))?,
            Region::MultiPolygon(m) => prepare_shape(Shape::Multi(m))?,
            Region::Zone(zones, id) => {
                let z = zones.entry(id)?;
                match &z.grid {
                    Some(grid) => Prepared::Area {
                        shape: Shape::Multi(&z.geometry),
                        grid: std::borrow::Cow::Borrowed(grid),
                    },
                    None => Prepared::Nothing,
                }
            }
        })
    }
}

fn prepare_shape(shape: Shape<'_>) -> Result<Prepared<'_>, IndexError> {
    Ok(match AreaGrid::new(&shape)? {
        Some(grid) => Prepared::Area {
            shape,
            grid: std::borrow::Cow::Owned(grid),
        },
        None => Prepared::Nothing,
    })
}

impl Prepared<'_> {
    /// A box holding the whole region (`None`: the whole world).
    pub(crate) fn bounds(&self) -> Option<BBox> {
        match self {
            Prepared::Boxes(b, None)
            | Prepared::Circle {
                boxes: (b, None), ..
            } => Some(*b),
            Prepared::Area { grid, .. } => Some(*grid.bbox()),
            // Nothing, everything, or a circle split at the antimeridian: no one box.
            _ => None,
        }
    }
}
