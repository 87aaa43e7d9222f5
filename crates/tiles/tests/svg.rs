//! Static SVG maps: parsed back with quick-xml, positions checked against the Web Mercator
//! formula, the scale bar against the haversine distance.
#![allow(clippy::unwrap_used, clippy::float_cmp)]

use civmap_tiles::svg::{Colour, FillStyle, LineStyle, StaticMap, SvgError};
use geo::{Distance, Haversine, LineString, Point, Polygon, Rect, coord};
use quick_xml::Reader;
use quick_xml::events::Event;

#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
}

impl Element {
    fn attr(&self, k: &str) -> &str {
        &self
            .attrs
            .iter()
            .find(|(a, _)| a == k)
            .unwrap_or_else(|| panic!("no {k} on {self:?}"))
            .1
    }
    fn num(&self, k: &str) -> f64 {
        self.attr(k).parse().unwrap()
    }
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Element {
    Element {
        name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.unescape_value().unwrap().into_owned(),
                )
            })
            .collect(),
        text: String::new(),
    }
}

/// Parses the whole document (failing on any XML error) into a flat list of elements with
/// their unescaped attributes and direct text.
fn parse(svg: &str) -> Vec<Element> {
    let mut r = Reader::from_str(svg);
    let mut out: Vec<Element> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) => {
                out.push(element(&e));
                stack.push(out.len() - 1);
            }
            Event::Empty(e) => out.push(element(&e)),
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                if let Some(&i) = stack.last() {
                    out[i].text.push_str(&t.decode().unwrap());
                }
            }
            Event::GeneralRef(g) => {
                let c = match &*g.decode().unwrap() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    other => panic!("entity {other}"),
                };
                if let Some(&i) = stack.last() {
                    out[i].text.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements");
    out
}

/// lon/lat → Web Mercator world units in [0, 1], y down (OSM wiki formula).
fn merc(lon: f64, lat: f64) -> (f64, f64) {
    let l = lat.to_radians();
    (
        (lon + 180.0) / 360.0,
        (1.0 - (l.tan() + 1.0 / l.cos()).ln() / std::f64::consts::PI) / 2.0,
    )
}

fn route_map() -> (StaticMap, Rect<f64>) {
    // A wide bbox over Yangpu, Shanghai (lon/lat): the width binds.
    let bbox = Rect::new(
        coord! { x: 121.490, y: 31.280 },
        coord! { x: 121.520, y: 31.295 },
    );
    let mut m = StaticMap::new(1000);
    m.padding(50)
        .bbox(bbox)
        .title("第3组 路线 <Team 3> & \"checks\"");
    let zone = Polygon::new(
        LineString::new(vec![
            coord! { x: 121.50, y: 31.285 },
            coord! { x: 121.51, y: 31.285 },
            coord! { x: 121.51, y: 31.29 },
            coord! { x: 121.50, y: 31.285 },
        ]),
        vec![],
    );
    m.polygon(&zone, FillStyle::zone(Colour::TEAMS[2]));
    m.line(
        &LineString::new(vec![
            coord! { x: 121.495, y: 31.283 },
            coord! { x: 121.515, y: 31.291 },
        ]),
        LineStyle::road(),
    );
    m.line(
        &LineString::new(vec![
            coord! { x: 121.490, y: 31.280 },
            coord! { x: 121.505, y: 31.287 },
            coord! { x: 121.520, y: 31.295 },
        ]),
        LineStyle::route(Colour::TEAMS[0]),
    );
    m.marker(121.490, 31.280, "1", Colour::TEAMS[0]) // south-west corner
        .marker(121.520, 31.295, "12", Colour::TEAMS[0]) // north-east corner
        .marker(121.505, 31.287, "A&B<\u{1}", Colour::TEAMS[5]);
    (m, bbox)
}

#[test]
fn route_sheet_is_well_formed_and_escapes_text() {
    let (m, _) = route_map();
    let svg = m.render().unwrap();
    let els = parse(&svg);
    let names: std::collections::BTreeSet<&str> = els.iter().map(|e| e.name.as_str()).collect();
    let allowed = [
        "svg", "title", "rect", "g", "path", "polyline", "circle", "text",
    ];
    assert!(names.iter().all(|n| allowed.contains(n)), "{names:?}");
    let title = els.iter().find(|e| e.name == "title").unwrap();
    assert_eq!(title.text, "第3组 路线 <Team 3> & \"checks\"");
    let texts: Vec<&str> = els
        .iter()
        .filter(|e| e.name == "text")
        .map(|e| e.text.as_str())
        .collect();
    assert!(texts.contains(&"第3组 路线 <Team 3> & \"checks\""));
    assert!(texts.contains(&"1") && texts.contains(&"12"));
    // The control character, which XML 1.0 cannot carry even escaped, is replaced.
    assert!(texts.contains(&"A&B<\u{FFFD}"));
    assert!(texts.contains(&"© OpenStreetMap contributors"));
    assert_eq!(els.iter().filter(|e| e.name == "circle").count(), 3);
    // Route drawn over a white casing, after the grey road.
    let lines: Vec<&Element> = els.iter().filter(|e| e.name == "polyline").collect();
    assert_eq!(
        lines.iter().map(|e| e.attr("stroke")).collect::<Vec<_>>(),
        vec!["#b0b0b0", "#ffffff", "#4e79a7"]
    );
}

#[test]
fn markers_land_where_web_mercator_puts_them() {
    let (m, bbox) = route_map();
    let els = parse(&m.render().unwrap());
    let svg = &els[0];
    let (w, h) = (svg.num("width"), svg.num("height"));
    assert_eq!(w, 1000.0);
    let (x0, y1) = merc(bbox.min().x, bbox.min().y);
    let (x1, y0) = merc(bbox.max().x, bbox.max().y);
    let scale = 900.0 / (x1 - x0);
    assert!(
        (h - ((y1 - y0) * scale + 100.0).round()).abs() < 0.5,
        "height {h}"
    );
    let oy = (h - (y1 - y0) * scale) / 2.0;
    let circles: Vec<&Element> = els.iter().filter(|e| e.name == "circle").collect();
    for (c, (lon, lat)) in
        circles
            .iter()
            .zip([(121.490, 31.280), (121.520, 31.295), (121.505, 31.287)])
    {
        let (mx, my) = merc(lon, lat);
        let (ex, ey) = ((mx - x0) * scale + 50.0, (my - y0) * scale + oy);
        assert!(
            (c.num("cx") - ex).abs() <= 0.051 && (c.num("cy") - ey).abs() <= 0.051,
            "{c:?} vs ({ex}, {ey})"
        );
    }
    // South-west and north-east corners sit on the padding.
    assert!(
        (circles[0].num("cx") - 50.0).abs() < 0.06 && (circles[1].num("cx") - 950.0).abs() < 0.06
    );
}

#[test]
fn scale_bar_matches_the_haversine_distance() {
    let (m, bbox) = route_map();
    let els = parse(&m.render().unwrap());
    let bar = els
        .iter()
        .find(|e| e.name == "g" && e.attrs.iter().any(|(k, v)| k == "id" && v == "scale-bar"))
        .unwrap();
    let metres: f64 = bar.num("data-metres");
    let label = els
        .iter()
        .filter(|e| e.name == "text")
        .find(|e| e.text.ends_with(" m") || e.text.ends_with(" km"))
        .unwrap();
    assert_eq!(
        label.text,
        if metres >= 1000.0 {
            format!("{} km", metres / 1000.0)
        } else {
            format!("{metres} m")
        }
    );
    // The bar path: "M{x0} {y} V{y} H{x1} V{y}".
    let idx = els.iter().position(|e| std::ptr::eq(e, bar)).unwrap();
    let d = els[idx + 2].attr("d");
    let nums: Vec<f64> = d
        .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let px = nums[3] - nums[0];
    assert!(px > 50.0 && px <= 0.25 * 900.0 + 0.5, "{px}");
    // Longitude is linear in x: px pixels at the centre latitude, measured on the sphere.
    let lat = bbox.min().y.midpoint(bbox.max().y);
    let dlon = px / 900.0 * (bbox.max().x - bbox.min().x);
    let ground = Haversine.distance(Point::new(121.5, lat), Point::new(121.5 + dlon, lat));
    assert!(
        (ground - metres).abs() / metres < 0.005,
        "bar {metres} m drawn as {ground} m"
    );
    assert!([1.0, 2.0, 5.0].contains(&(metres / 10f64.powf(metres.log10().floor()))));
}

#[test]
fn single_stop_gets_a_readable_span_and_errors_are_named() {
    let mut m = StaticMap::new(400);
    m.marker(121.47, 31.23, "1", Colour::TEAMS[1]);
    let els = parse(&m.render().unwrap());
    let c = els.iter().find(|e| e.name == "circle").unwrap();
    let svg = &els[0];
    assert!(
        (c.num("cx") - 200.0).abs() < 0.1 && (c.num("cy") - svg.num("height") / 2.0).abs() < 0.6
    );

    assert_eq!(StaticMap::new(400).render().unwrap_err(), SvgError::Empty);
    let mut bad = StaticMap::new(400);
    bad.marker(f64::NAN, 31.0, "1", Colour::BLACK);
    assert!(matches!(
        bad.render(),
        Err(SvgError::NonFiniteCoordinate { .. })
    ));
    let mut narrow = StaticMap::new(40);
    narrow.marker(121.47, 31.23, "1", Colour::BLACK);
    assert!(matches!(narrow.render(), Err(SvgError::InvalidSize { .. })));
    let mut style = StaticMap::new(400);
    style.line(
        &LineString::new(vec![
            coord! { x: 121.47, y: 31.23 },
            coord! { x: 121.48, y: 31.24 },
        ]),
        LineStyle {
            width: -1.0,
            ..LineStyle::road()
        },
    );
    assert!(matches!(
        style.render(),
        Err(SvgError::InvalidStyle {
            what: "line width",
            ..
        })
    ));
    let mut bbox = StaticMap::new(400);
    bbox.bbox(Rect::new(
        coord! { x: f64::NAN, y: 0.0 },
        coord! { x: 1.0, y: 1.0 },
    ));
    assert!(matches!(
        bbox.render(),
        Err(SvgError::InvalidBbox(_) | SvgError::NonFiniteCoordinate { .. })
    ));
}
