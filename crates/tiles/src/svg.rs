//! Static SVG maps for printed route sheets.
//!
//! Web Mercator (the projection of the on-screen map), fitted to a lon/lat bounding box (or
//! to the content) with a padding, at a given width in pixels. Layers are drawn bottom to top:
//! polygons (water, green, buildings, zones), context roads, polylines (one route per team),
//! street names along their roads, numbered stop markers, a scale bar and the
//! "© OpenStreetMap contributors" attribution. All text is
//! XML-escaped; colours are numeric, so nothing the caller passes can break out of an attribute.
//!
//! ```
//! use civmap_tiles::svg::{Colour, LineStyle, StaticMap};
//! use geo::{LineString, coord};
//! // lon, lat order.
//! let route = LineString::new(vec![coord! { x: 121.470, y: 31.230 }, coord! { x: 121.476, y: 31.233 }]);
//! let mut map = StaticMap::new(800);
//! map.title("Team 1 — Monday 9:00")
//!     .line(&route, LineStyle::route(Colour::TEAMS[0]))
//!     .marker(121.470, 31.230, "1", Colour::TEAMS[0])
//!     .marker(121.476, 31.233, "2", Colour::TEAMS[0]);
//! let svg = map.render().unwrap();
//! assert!(svg.starts_with("<svg"));
//! assert!(svg.contains("© OpenStreetMap contributors"));
//! ```

use std::fmt::{self, Write as _};
use std::str::FromStr;

use geo::{Coord, LineString, MultiPolygon, Polygon, Rect};

use crate::tile::{EARTH_CIRCUMFERENCE_M, lat_to_world_y, lon_to_world_x, world_to_lon_lat};

/// What is wrong with a static map request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SvgError {
    /// A bounding box with non-finite or inverted corners.
    #[error("invalid bounding box: {0}")]
    InvalidBbox(String),
    /// A coordinate that is NaN or infinite.
    #[error("non-finite coordinate ({lon}, {lat})")]
    NonFiniteCoordinate {
        /// Longitude.
        lon: f64,
        /// Latitude.
        lat: f64,
    },
    /// A map too small for its padding.
    #[error("map of {width}×{height} px with {padding} px padding leaves no room to draw")]
    InvalidSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels (0 = automatic).
        height: u32,
        /// Padding in pixels.
        padding: u32,
    },
    /// A colour that is not `#rgb` or `#rrggbb`.
    #[error("invalid colour {0:?}: expected #rgb or #rrggbb")]
    InvalidColour(String),
    /// A stroke width, opacity or radius that is negative or not finite.
    #[error("invalid {what}: {value}")]
    InvalidStyle {
        /// Which style value.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// No bounding box and nothing to draw.
    #[error("nothing to draw and no bounding box given")]
    Empty,
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Colour {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
}

impl Colour {
    /// A colour from its components.
    #[must_use]
    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b }
    }

    /// Black.
    pub const BLACK: Self = Self::rgb(0, 0, 0);
    /// White.
    pub const WHITE: Self = Self::rgb(255, 255, 255);
    /// Mid grey, for context roads.
    pub const GREY: Self = Self::rgb(0xb0, 0xb0, 0xb0);

    /// Ten team colours that stay distinct in print and for common colour-vision deficiencies
    /// (the Tableau 10 palette).
    pub const TEAMS: [Self; 10] = [
        Self::rgb(0x4e, 0x79, 0xa7),
        Self::rgb(0xf2, 0x8e, 0x2b),
        Self::rgb(0xe1, 0x57, 0x59),
        Self::rgb(0x76, 0xb7, 0xb2),
        Self::rgb(0x59, 0xa1, 0x4f),
        Self::rgb(0xed, 0xc9, 0x48),
        Self::rgb(0xb0, 0x7a, 0xa1),
        Self::rgb(0xff, 0x9d, 0xa7),
        Self::rgb(0x9c, 0x75, 0x5f),
        Self::rgb(0xba, 0xb0, 0xac),
    ];
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

impl FromStr for Colour {
    type Err = SvgError;

    /// Parses `#rgb` or `#rrggbb` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, SvgError> {
        let bad = || SvgError::InvalidColour(s.to_owned());
        let hex = s.strip_prefix('#').ok_or_else(bad)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let digit = |i: usize| u8::from_str_radix(&hex[i..=i], 16).map_err(|_| bad());
        match hex.len() {
            3 => Ok(Self::rgb(digit(0)? * 17, digit(1)? * 17, digit(2)? * 17)),
            6 => Ok(Self::rgb(
                digit(0)? * 16 + digit(1)?,
                digit(2)? * 16 + digit(3)?,
                digit(4)? * 16 + digit(5)?,
            )),
            _ => Err(bad()),
        }
    }
}

/// How a polyline is drawn. Widths in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineStyle {
    /// Stroke colour.
    pub colour: Colour,
    /// Stroke width in px.
    pub width: f64,
    /// Stroke opacity, 0..=1.
    pub opacity: f64,
    /// Dash pattern (dash, gap) in px, or a solid line.
    pub dash: Option<(f64, f64)>,
    /// Width of a white casing drawn under the line (0 for none), so routes stay readable
    /// over roads and zones in black-and-white print.
    pub casing: f64,
}

impl LineStyle {
    /// A team route: 4 px in `colour` over a 2 px white casing.
    #[must_use]
    pub fn route(colour: Colour) -> Self {
        Self {
            colour,
            width: 4.0,
            opacity: 0.9,
            dash: None,
            casing: 2.0,
        }
    }

    /// A context road: thin grey.
    #[must_use]
    pub fn road() -> Self {
        Self {
            colour: Colour::GREY,
            width: 1.0,
            opacity: 1.0,
            dash: None,
            casing: 0.0,
        }
    }
}

/// How a polygon is drawn. Widths in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FillStyle {
    /// Fill colour.
    pub fill: Colour,
    /// Fill opacity, 0..=1.
    pub fill_opacity: f64,
    /// Outline colour.
    pub stroke: Colour,
    /// Outline width in px (0 for none).
    pub stroke_width: f64,
}

impl FillStyle {
    /// A translucent zone in `colour` with a 1 px outline.
    #[must_use]
    pub fn zone(colour: Colour) -> Self {
        Self {
            fill: colour,
            fill_opacity: 0.15,
            stroke: colour,
            stroke_width: 1.0,
        }
    }
}

#[derive(Debug, Clone)]
struct Marker {
    lon: f64,
    lat: f64,
    label: String,
    colour: Colour,
}

/// A static map under construction; see the module docs.
#[derive(Debug, Clone)]
pub struct StaticMap {
    width: u32,
    height: Option<u32>,
    padding: u32,
    bbox: Option<Rect<f64>>,
    title: Option<String>,
    attribution: String,
    background: Colour,
    marker_radius: f64,
    scale_bar: bool,
    polygons: Vec<(MultiPolygon<f64>, FillStyle)>,
    roads: Vec<(LineString<f64>, LineStyle)>,
    lines: Vec<(LineString<f64>, LineStyle)>,
    names: Vec<(LineString<f64>, String)>,
    markers: Vec<Marker>,
}

/// Font size of street names, px.
const NAME_FONT_PX: f64 = 11.0;
/// The same street's name is written again only this far from where it already stands, px.
const NAME_REPEAT_PX: f64 = 250.0;

/// Smallest map span, in metres on the ground: a single stop still shows its street.
const MIN_SPAN_M: f64 = 300.0;

impl StaticMap {
    /// An empty map `width` pixels wide, with 24 px padding, the OpenStreetMap attribution
    /// and a scale bar.
    #[must_use]
    pub fn new(width: u32) -> Self {
        Self {
            width,
            height: None,
            padding: 24,
            bbox: None,
            title: None,
            attribution: "© OpenStreetMap contributors".to_owned(),
            background: Colour::WHITE,
            marker_radius: 9.0,
            scale_bar: true,
            polygons: Vec::new(),
            roads: Vec::new(),
            lines: Vec::new(),
            names: Vec::new(),
            markers: Vec::new(),
        }
    }

    /// Fixes the height in pixels; the map is fitted inside and centred. Without it the height
    /// follows the content's aspect ratio, at most √2 × width (A4 portrait).
    pub fn height(&mut self, height: u32) -> &mut Self {
        self.height = Some(height);
        self
    }

    /// Space in pixels between the map content and the image edge.
    pub fn padding(&mut self, padding: u32) -> &mut Self {
        self.padding = padding;
        self
    }

    /// The area to show, as a lon/lat rectangle in degrees. Without it the map fits its
    /// lines, markers and polygons.
    pub fn bbox(&mut self, bbox: Rect<f64>) -> &mut Self {
        self.bbox = Some(bbox);
        self
    }

    /// A title printed in the top-left corner.
    pub fn title(&mut self, title: impl Into<String>) -> &mut Self {
        self.title = Some(title.into());
        self
    }

    /// Replaces the attribution text (keep the OpenStreetMap credit when OSM data is drawn:
    /// the Open Database License requires it).
    pub fn attribution(&mut self, text: impl Into<String>) -> &mut Self {
        self.attribution = text.into();
        self
    }

    /// Turns the scale bar on or off.
    pub fn scale_bar(&mut self, on: bool) -> &mut Self {
        self.scale_bar = on;
        self
    }

    /// Stop marker radius in pixels (default 9).
    pub fn marker_radius(&mut self, radius: f64) -> &mut Self {
        self.marker_radius = radius;
        self
    }

    /// Adds a polygon (lon/lat degrees).
    pub fn polygon(&mut self, polygon: &Polygon<f64>, style: FillStyle) -> &mut Self {
        self.polygons
            .push((MultiPolygon::new(vec![polygon.clone()]), style));
        self
    }

    /// Adds a multipolygon (lon/lat degrees).
    pub fn multi_polygon(&mut self, polygons: &MultiPolygon<f64>, style: FillStyle) -> &mut Self {
        self.polygons.push((polygons.clone(), style));
        self
    }

    /// Adds a polyline (lon/lat degrees): a route or a context road.
    pub fn line(&mut self, line: &LineString<f64>, style: LineStyle) -> &mut Self {
        self.lines.push((line.clone(), style));
        self
    }

    /// Adds a context road (lon/lat degrees), drawn under every [`StaticMap::line`]. Roads do
    /// not widen the map: they are background for the area the content (or the bbox) sets.
    pub fn road(&mut self, line: &LineString<f64>, style: LineStyle) -> &mut Self {
        self.roads.push((line.clone(), style));
        self
    }

    /// Writes a street's name along its line (lon/lat degrees), where the line runs long enough
    /// inside the map for the text; a name already written nearby, or one that would overlap
    /// another name, is left out. Names do not widen the map.
    pub fn street_name(&mut self, line: &LineString<f64>, name: impl Into<String>) -> &mut Self {
        self.names.push((line.clone(), name.into()));
        self
    }

    /// Adds a stop marker at (`lon`, `lat`) in degrees with a short label (its number).
    pub fn marker(
        &mut self,
        lon: f64,
        lat: f64,
        label: impl Into<String>,
        colour: Colour,
    ) -> &mut Self {
        self.markers.push(Marker {
            lon,
            lat,
            label: label.into(),
            colour,
        });
        self
    }

    /// The content's bounding box in Web Mercator world units.
    fn content_bounds(&self) -> Result<Option<[f64; 4]>, SvgError> {
        let mut b: Option<[f64; 4]> = None;
        let mut add = |c: Coord<f64>| -> Result<(), SvgError> {
            let (x, y) = world(c.x, c.y)?;
            let e = b.get_or_insert([x, y, x, y]);
            *e = [e[0].min(x), e[1].min(y), e[2].max(x), e[3].max(y)];
            Ok(())
        };
        for (ls, _) in &self.lines {
            ls.0.iter().try_for_each(|&c| add(c))?;
        }
        for m in &self.markers {
            add(Coord { x: m.lon, y: m.lat })?;
        }
        for (mp, _) in &self.polygons {
            for p in mp {
                p.exterior().0.iter().try_for_each(|&c| add(c))?;
            }
        }
        Ok(b)
    }

    /// Renders the map as a standalone SVG 1.1 document.
    pub fn render(&self) -> Result<String, SvgError> {
        self.check_styles()?;
        let content = self.content_bounds()?;
        let [mut x0, mut y0, mut x1, mut y1] = match self.bbox {
            Some(r) => {
                let (a, b) = (r.min(), r.max());
                if ![a.x, a.y, b.x, b.y].iter().all(|v| v.is_finite()) {
                    return Err(SvgError::InvalidBbox(format!("{r:?}")));
                }
                let (wx0, wy1) = world(a.x, a.y)?;
                let (wx1, wy0) = world(b.x, b.y)?;
                [wx0, wy0, wx1, wy1]
            }
            None => content.ok_or(SvgError::Empty)?,
        };
        // Grow a degenerate box (one stop) to a readable minimum span around its centre.
        let (_, centre_lat) = world_to_lon_lat(x0.midpoint(x1), y0.midpoint(y1));
        let min_span = MIN_SPAN_M / (EARTH_CIRCUMFERENCE_M * centre_lat.to_radians().cos());
        for (lo, hi) in [(&mut x0, &mut x1), (&mut y0, &mut y1)] {
            let grow = (min_span - (*hi - *lo)).max(0.0) / 2.0;
            *lo -= grow;
            *hi += grow;
        }
        let (dx, dy) = (x1 - x0, y1 - y0);

        let pad = f64::from(self.padding);
        let w = f64::from(self.width);
        let inner_w = w - 2.0 * pad;
        if inner_w < 16.0 {
            return Err(self.size_error());
        }
        let (h, scale) = if let Some(h) = self.height {
            let inner_h = f64::from(h) - 2.0 * pad;
            if inner_h < 16.0 {
                return Err(self.size_error());
            }
            (f64::from(h), (inner_w / dx).min(inner_h / dy))
        } else {
            let max_inner_h = (w * std::f64::consts::SQRT_2).round() - 2.0 * pad;
            let scale = (inner_w / dx).min(max_inner_h / dy);
            ((dy * scale + 2.0 * pad).round(), scale)
        };
        // Centre the content.
        let ox = (w - dx * scale) / 2.0;
        let oy = (h - dy * scale) / 2.0;
        let view = View {
            x0,
            y0,
            scale,
            ox,
            oy,
        };

        let mut s = String::with_capacity(4096);
        let (wi, hi) = (self.width, h as u32);
        put(
            &mut s,
            format_args!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{wi}\" height=\"{hi}\" viewBox=\"0 0 {wi} {hi}\" font-family=\"'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','PingFang SC','Microsoft YaHei',sans-serif\">\n"
            ),
        );
        if let Some(t) = &self.title {
            put(&mut s, format_args!("<title>{}</title>\n", Esc(t)));
        }
        put(
            &mut s,
            format_args!(
                "<rect width=\"{wi}\" height=\"{hi}\" fill=\"{}\"/>\n",
                self.background
            ),
        );
        self.render_polygons(&mut s, &view)?;
        render_polylines(&mut s, "roads", &self.roads, &view)?;
        render_polylines(&mut s, "lines", &self.lines, &view)?;
        self.render_names(&mut s, &view, f64::from(wi), h)?;
        self.render_markers(&mut s, &view)?;
        if let Some(t) = &self.title {
            put(
                &mut s,
                format_args!(
                    "<text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"bold\" fill=\"#000000\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>\n",
                    Esc(t)
                ),
            );
        }
        if self.scale_bar {
            let metres_per_px = EARTH_CIRCUMFERENCE_M * centre_lat.to_radians().cos() / scale;
            render_scale_bar(&mut s, metres_per_px, inner_w, h);
        }
        put(
            &mut s,
            format_args!(
                "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\" fill=\"#333333\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>\n",
                wi.saturating_sub(6),
                h - 6.0,
                Esc(&self.attribution)
            ),
        );
        s.push_str("</svg>\n");
        Ok(s)
    }

    fn size_error(&self) -> SvgError {
        SvgError::InvalidSize {
            width: self.width,
            height: self.height.unwrap_or(0),
            padding: self.padding,
        }
    }

    fn check_styles(&self) -> Result<(), SvgError> {
        let check = |what: &'static str, value: f64, max: f64| {
            if value.is_finite() && (0.0..=max).contains(&value) {
                Ok(())
            } else {
                Err(SvgError::InvalidStyle { what, value })
            }
        };
        check("marker radius", self.marker_radius, 1e4)?;
        for (_, st) in self.lines.iter().chain(&self.roads) {
            check("line width", st.width, 1e4)?;
            check("line opacity", st.opacity, 1.0)?;
            check("line casing", st.casing, 1e4)?;
            if let Some((a, b)) = st.dash {
                check("dash length", a, 1e4)?;
                check("dash gap", b, 1e4)?;
            }
        }
        for (_, st) in &self.polygons {
            check("fill opacity", st.fill_opacity, 1.0)?;
            check("outline width", st.stroke_width, 1e4)?;
        }
        Ok(())
    }

    fn render_polygons(&self, s: &mut String, v: &View) -> Result<(), SvgError> {
        if self.polygons.is_empty() {
            return Ok(());
        }
        s.push_str("<g id=\"polygons\">\n");
        for (mp, st) in &self.polygons {
            s.push_str("<path d=\"");
            for p in mp {
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    for (i, c) in ring.0.iter().enumerate() {
                        let (x, y) = v.px(c.x, c.y)?;
                        put(
                            s,
                            format_args!("{}{x:.1} {y:.1} ", if i == 0 { 'M' } else { 'L' }),
                        );
                    }
                    s.push_str("Z ");
                }
            }
            put(
                s,
                format_args!(
                    "\" fill=\"{}\" fill-opacity=\"{}\" fill-rule=\"evenodd\" stroke=\"{}\" stroke-width=\"{}\"/>\n",
                    st.fill, st.fill_opacity, st.stroke, st.stroke_width
                ),
            );
        }
        s.push_str("</g>\n");
        Ok(())
    }

    /// Street names along their roads (see [`StaticMap::street_name`]).
    fn render_names(&self, s: &mut String, v: &View, w: f64, h: f64) -> Result<(), SvgError> {
        if self.names.is_empty() {
            return Ok(());
        }
        // Where names stand: centre, half width, the name.
        let mut placed: Vec<((f64, f64), f64, &str)> = Vec::new();
        let mut out = String::new();
        for (line, name) in &self.names {
            let text_w = text_width(name, NAME_FONT_PX);
            let pts = line
                .0
                .iter()
                .map(|c| v.px(c.x, c.y))
                .collect::<Result<Vec<_>, _>>()?;
            let Some(mut run) = longest_inside(&pts, w, h) else {
                continue;
            };
            // A margin of a character at each end, so the name stays on its street.
            if polyline_length(&run) < text_w + 2.0 * NAME_FONT_PX {
                continue;
            }
            // Left to right, so the text is never upside down.
            if run.first().map(|p| p.0) > run.last().map(|p| p.0) {
                run.reverse();
            }
            let Some(mid) = point_at_half(&run) else {
                continue;
            };
            let clash = placed.iter().any(|&((x, y), half, other)| {
                let (dx, dy) = ((x - mid.0).abs(), (y - mid.1).abs());
                (other == name.as_str() && dx.hypot(dy) < NAME_REPEAT_PX)
                    || (dx < half + text_w / 2.0 && dy < NAME_FONT_PX * 1.5)
            });
            if clash {
                continue;
            }
            placed.push((mid, text_w / 2.0, name.as_str()));
            let id = placed.len();
            put(&mut out, format_args!("<path id=\"street-{id}\" d=\""));
            for (i, (x, y)) in run.iter().enumerate() {
                put(
                    &mut out,
                    format_args!("{}{x:.1} {y:.1} ", if i == 0 { 'M' } else { 'L' }),
                );
            }
            put(
                &mut out,
                format_args!(
                    "\" fill=\"none\"/><text class=\"street\" dy=\"0.35em\"><textPath href=\"#street-{id}\" startOffset=\"50%\">{}</textPath></text>\n",
                    Esc(name)
                ),
            );
        }
        if !placed.is_empty() {
            put(
                s,
                format_args!(
                    "<g id=\"street-names\" font-size=\"{NAME_FONT_PX}\" text-anchor=\"middle\" fill=\"#333333\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">\n{out}</g>\n"
                ),
            );
        }
        Ok(())
    }

    fn render_markers(&self, s: &mut String, v: &View) -> Result<(), SvgError> {
        if self.markers.is_empty() {
            return Ok(());
        }
        let r = self.marker_radius;
        s.push_str("<g id=\"stops\" text-anchor=\"middle\" font-weight=\"bold\">\n");
        for m in &self.markers {
            let (x, y) = v.px(m.lon, m.lat)?;
            // Longer labels get a smaller font to stay inside the circle.
            let chars = m.label.chars().count().max(1) as f64;
            let font = (r * if chars <= 2.0 { 1.2 } else { 2.4 / chars }).max(5.0);
            put(
                s,
                format_args!(
                    "<g class=\"stop\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r}\" fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"1.5\"/><text x=\"{x:.1}\" y=\"{y:.1}\" dy=\"0.35em\" font-size=\"{font:.1}\" fill=\"{}\">{}</text></g>\n",
                    m.colour,
                    label_colour(m.colour),
                    Esc(&m.label)
                ),
            );
        }
        s.push_str("</g>\n");
        Ok(())
    }
}

/// Polylines (roads or routes) in one group.
fn render_polylines(
    s: &mut String,
    group: &str,
    lines: &[(LineString<f64>, LineStyle)],
    v: &View,
) -> Result<(), SvgError> {
    if lines.is_empty() {
        return Ok(());
    }
    put(
        s,
        format_args!(
            "<g id=\"{group}\" fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n"
        ),
    );
    for (ls, st) in lines {
        let mut pts = String::with_capacity(ls.0.len() * 14);
        for c in &ls.0 {
            let (x, y) = v.px(c.x, c.y)?;
            put(&mut pts, format_args!("{x:.1},{y:.1} "));
        }
        let pts = pts.trim_end();
        if st.casing > 0.0 {
            put(
                s,
                format_args!(
                    "<polyline points=\"{pts}\" stroke=\"#ffffff\" stroke-width=\"{}\"/>\n",
                    st.width + 2.0 * st.casing
                ),
            );
        }
        put(
            s,
            format_args!(
                "<polyline points=\"{pts}\" stroke=\"{}\" stroke-width=\"{}\" stroke-opacity=\"{}\"",
                st.colour, st.width, st.opacity
            ),
        );
        if let Some((a, b)) = st.dash {
            put(s, format_args!(" stroke-dasharray=\"{a} {b}\""));
        }
        s.push_str("/>\n");
    }
    s.push_str("</g>\n");
    Ok(())
}

/// About how wide `text` is at `font` px: CJK characters are square, Latin ones about half.
fn text_width(text: &str, font: f64) -> f64 {
    text.chars()
        .map(|c| if c.is_ascii() { 0.6 } else { 1.0 })
        .sum::<f64>()
        * font
}

/// The longest run of consecutive points inside the `w` × `h` image.
fn longest_inside(pts: &[(f64, f64)], w: f64, h: f64) -> Option<Vec<(f64, f64)>> {
    let inside = |p: &(f64, f64)| (0.0..=w).contains(&p.0) && (0.0..=h).contains(&p.1);
    pts.split(|p| !inside(p))
        .filter(|run| run.len() >= 2)
        .max_by(|a, b| polyline_length(a).total_cmp(&polyline_length(b)))
        .map(<[_]>::to_vec)
}

fn polyline_length(pts: &[(f64, f64)]) -> f64 {
    pts.windows(2)
        .map(|w| (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1))
        .sum()
}

/// The point halfway along a polyline.
fn point_at_half(pts: &[(f64, f64)]) -> Option<(f64, f64)> {
    let mut left = polyline_length(pts) / 2.0;
    for w in pts.windows(2) {
        let d = (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1);
        if d >= left && d > 0.0 {
            let k = left / d;
            return Some((
                w[0].0 + (w[1].0 - w[0].0) * k,
                w[0].1 + (w[1].1 - w[0].1) * k,
            ));
        }
        left -= d;
    }
    pts.last().copied()
}

/// White when it reaches the WCAG AA contrast of 4.5 on `bg` (white labels read best on the
/// mid-tone team colours), otherwise whichever of black and white contrasts more.
fn label_colour(bg: Colour) -> Colour {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * lin(bg.r) + 0.7152 * lin(bg.g) + 0.0722 * lin(bg.b);
    let (on_white, on_black) = (1.05 / (l + 0.05), (l + 0.05) / 0.05);
    if on_white >= 4.5 || on_white >= on_black {
        Colour::WHITE
    } else {
        Colour::BLACK
    }
}

/// The scale bar: a "nice" length (1, 2 or 5 × 10ⁿ metres) of at most a quarter of the map
/// width, at the map's centre latitude, in the bottom-left corner.
fn render_scale_bar(s: &mut String, metres_per_px: f64, inner_w: f64, h: f64) {
    let max_m = inner_w * 0.25 * metres_per_px;
    let (metres, px) = nice_length(max_m, metres_per_px);
    let label = if metres >= 1000.0 {
        format!("{} km", metres / 1000.0)
    } else {
        format!("{metres} m")
    };
    let (x0, y) = (10.0, h - 10.0);
    let x1 = x0 + px;
    put(
        s,
        format_args!(
            "<g id=\"scale-bar\" data-metres=\"{metres}\"><path d=\"M{x0:.1} {:.1} V{y:.1} H{x1:.1} V{:.1}\" fill=\"none\" stroke=\"#ffffff\" stroke-width=\"4\"/><path d=\"M{x0:.1} {:.1} V{y:.1} H{x1:.1} V{:.1}\" fill=\"none\" stroke=\"#000000\" stroke-width=\"1.5\"/><text x=\"{x0:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#000000\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{label}</text></g>\n",
            y - 5.0,
            y - 5.0,
            y - 5.0,
            y - 5.0,
            y - 8.0
        ),
    );
}

/// Largest 1/2/5 × 10ⁿ metres not above `max_m`, and its length in pixels.
fn nice_length(max_m: f64, metres_per_px: f64) -> (f64, f64) {
    let exp = max_m.log10().floor();
    let base = 10f64.powf(exp);
    let m = [5.0, 2.0, 1.0]
        .into_iter()
        .map(|k| k * base)
        .find(|&m| m <= max_m)
        .unwrap_or(base);
    // Round away float noise (e.g. 500.00000000000006).
    let m = if m >= 1.0 { m.round() } else { m };
    (m, m / metres_per_px)
}

/// Lon/lat degrees → Web Mercator world units in [0, 1] (y down).
fn world(lon: f64, lat: f64) -> Result<(f64, f64), SvgError> {
    if !lon.is_finite() || !lat.is_finite() {
        return Err(SvgError::NonFiniteCoordinate { lon, lat });
    }
    Ok((lon_to_world_x(lon), lat_to_world_y(lat)))
}

/// World units → pixels.
struct View {
    x0: f64,
    y0: f64,
    scale: f64,
    ox: f64,
    oy: f64,
}

impl View {
    fn px(&self, lon: f64, lat: f64) -> Result<(f64, f64), SvgError> {
        let (x, y) = world(lon, lat)?;
        Ok((
            (x - self.x0) * self.scale + self.ox,
            (y - self.y0) * self.scale + self.oy,
        ))
    }
}

/// Appends formatted text to a `String`.
fn put(s: &mut String, args: fmt::Arguments<'_>) {
    s.write_fmt(args)
        .expect("fmt::Write for String never fails");
}

/// XML text/attribute escaping; characters XML 1.0 forbids even escaped become U+FFFD.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&apos;")?,
                '\t' | '\n' | '\r' => f.write_char(c)?,
                c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                    f.write_char('\u{FFFD}')?;
                }
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_and_print() {
        assert_eq!(
            "#1F77b4".parse::<Colour>().unwrap(),
            Colour::rgb(0x1f, 0x77, 0xb4)
        );
        assert_eq!("#fff".parse::<Colour>().unwrap(), Colour::WHITE);
        assert_eq!(Colour::rgb(1, 2, 255).to_string(), "#0102ff");
        for bad in [
            "",
            "fff",
            "#ff",
            "#ggg",
            "#1234567",
            "red",
            "#fff\" onload=\"x",
        ] {
            assert!(bad.parse::<Colour>().is_err(), "{bad}");
        }
    }

    #[test]
    fn escaping() {
        assert_eq!(Esc("a<b>&\"c'").to_string(), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(Esc("x\u{0}y\u{1b}").to_string(), "x\u{FFFD}y\u{FFFD}");
        assert_eq!(Esc("整改 1").to_string(), "整改 1");
    }

    #[test]
    fn nice_lengths() {
        assert_eq!(nice_length(730.0, 1.0).0, 500.0);
        assert_eq!(nice_length(199.0, 1.0).0, 100.0);
        assert_eq!(nice_length(2500.0, 1.0).0, 2000.0);
        assert_eq!(nice_length(1.0, 1.0).0, 1.0);
    }

    #[test]
    fn street_names_follow_long_enough_roads_once() {
        use geo::coord;
        let long = LineString::new(vec![
            coord! { x: 121.490, y: 31.280 },
            coord! { x: 121.500, y: 31.280 },
        ]);
        // Drawn right to left: the name still reads left to right.
        let mut back = long.clone();
        back.0.reverse();
        let short = LineString::new(vec![
            coord! { x: 121.4950, y: 31.2830 },
            coord! { x: 121.4951, y: 31.2830 },
        ]);
        let mut map = StaticMap::new(600);
        map.bbox(Rect::new(
            coord! { x: 121.490, y: 31.279 },
            coord! { x: 121.500, y: 31.285 },
        ))
        .road(&long, LineStyle::road())
        .street_name(&long, "四平路")
        .street_name(&back, "四平路")
        .street_name(&short, "赤峰路");
        let svg = map.render().unwrap();
        assert_eq!(svg.matches(">四平路</textPath>").count(), 1, "{svg}");
        assert!(!svg.contains("赤峰路"), "too short a road for its name");
        let path = svg.split("<path id=\"street-1\" d=\"M").nth(1).unwrap();
        let x: Vec<f64> = path
            .split(['M', 'L', ' ', '"'])
            .filter_map(|v| v.parse().ok())
            .collect();
        assert!(x[0] < x[2], "left to right: {path}");
        assert!(svg.find("id=\"roads\"") < svg.find("id=\"street-names\""));
    }

    #[test]
    fn label_colour_contrast() {
        assert_eq!(label_colour(Colour::rgb(0x4e, 0x79, 0xa7)), Colour::WHITE);
        assert_eq!(label_colour(Colour::rgb(0xed, 0xc9, 0x48)), Colour::BLACK);
    }
}
