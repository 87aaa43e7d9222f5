//! GPX 1.1 export of a [`Plan`]: one `<wpt>` per stop (plus the start and end), one `<trk>` per
//! team with a non-empty route. Building the string is not I/O; the caller serves or saves it.
//!
//! ```
//! use civmap_route::plan::{plan_routes, PlanRequest, Priority, RouteEnd, Stop};
//! use civmap_route::graph::Mode;
//! let req = PlanRequest {
//!     stops: vec![Stop { id: "p-1".into(), lon: 121.47, lat: 31.23, service_s: 60.0, priority: Priority::Must }],
//!     start: [121.46, 31.23], end: RouteEnd::ReturnToStart, teams: 1, budget_s: 7200.0,
//!     mode: Mode::Walk, seed: 1, options: Default::default(),
//! };
//! let gpx = plan_routes(&req, None)?.to_gpx("Nanjing Road patrol");
//! assert!(gpx.contains("<trk>") && gpx.contains(r#"<wpt lat="31.2300000" lon="121.4700000">"#));
//! # Ok::<(), civmap_route::plan::PlanError>(())
//! ```

use std::fmt::Write as _;

use crate::plan::{Plan, PlannedStop};

/// Escapes the five XML special characters.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {} // not allowed in XML 1.0
            c => out.push(c),
        }
    }
    out
}

/// `h:mm` from seconds.
fn clock(s: f64) -> String {
    let m = (s / 60.0).round() as i64;
    format!("{}:{:02}", m / 60, m % 60)
}

impl Plan {
    /// The plan as a GPX 1.1 document (UTF-8). `name` becomes the metadata name. Waypoint
    /// descriptions carry team, order and arrival offset (`h:mm` after leaving the start);
    /// coordinates are WGS-84 with 7 decimals (about 1 cm).
    #[must_use]
    pub fn to_gpx(&self, name: &str) -> String {
        self.to_gpx_with(name, &|_, _, s| s.id.clone())
    }

    /// [`to_gpx`](Plan::to_gpx) with waypoint names from `label(team, k, stop)` (team and
    /// position `k` in its route both 0-based), e.g. `1-03 垃圾` for a team reading its phone; the
    /// stop id stays in the waypoint description.
    #[must_use]
    pub fn to_gpx_with(
        &self,
        name: &str,
        label: &dyn Fn(usize, usize, &PlannedStop) -> String,
    ) -> String {
        let mut g = String::new();
        let _ = writeln!(g, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let _ = writeln!(
            g,
            r#"<gpx version="1.1" creator="civmap" xmlns="http://www.topografix.com/GPX/1/1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">"#
        );
        let _ = writeln!(
            g,
            "  <metadata><name>{}</name></metadata>",
            xml_escape(name)
        );
        let wpt = |g: &mut String, lon: f64, lat: f64, name: &str, desc: &str, sym: &str| {
            let _ = writeln!(
                g,
                r#"  <wpt lat="{lat:.7}" lon="{lon:.7}"><name>{}</name><desc>{}</desc><sym>{sym}</sym></wpt>"#,
                xml_escape(name),
                xml_escape(desc)
            );
        };
        wpt(
            &mut g,
            self.start[0],
            self.start[1],
            "start",
            "start of every route",
            "Flag, Green",
        );
        if let Some(end) = self.end.filter(|e| {
            e.iter()
                .zip(self.start)
                .any(|(a, b)| a.to_bits() != b.to_bits())
        }) {
            wpt(
                &mut g,
                end[0],
                end[1],
                "end",
                "end of every route",
                "Flag, Red",
            );
        }
        for t in &self.teams {
            for (k, s) in t.stops.iter().enumerate() {
                let name = label(t.team, k, s);
                let desc = format!(
                    "team {} stop {} of {}, arrive +{}, leave +{}{}{}",
                    t.team + 1,
                    k + 1,
                    t.stops.len(),
                    clock(s.arrival_s),
                    clock(s.departure_s),
                    if s.must { ", must visit" } else { "" },
                    if name == s.id {
                        String::new()
                    } else {
                        format!(", id {}", s.id)
                    }
                );
                wpt(&mut g, s.lon, s.lat, &name, &desc, "Waypoint");
            }
        }
        for t in self.teams.iter().filter(|t| !t.stops.is_empty()) {
            let _ = writeln!(g, "  <trk>");
            let _ = writeln!(
                g,
                "    <name>team {}</name><desc>{} stops, {:.1} km, {}</desc>",
                t.team + 1,
                t.stops.len(),
                t.distance_m / 1000.0,
                clock(t.duration_s)
            );
            let _ = writeln!(g, "    <trkseg>");
            for p in &t.geometry {
                let _ = writeln!(g, r#"      <trkpt lat="{:.7}" lon="{:.7}"/>"#, p[1], p[0]);
            }
            let _ = writeln!(g, "    </trkseg>");
            let _ = writeln!(g, "  </trk>");
        }
        g.push_str("</gpx>\n");
        g
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            xml_escape(r#"<a & "b" 'c'>"#),
            "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;"
        );
        assert_eq!(xml_escape("x\u{1}y\nz"), "xy\nz");
        assert_eq!(xml_escape("南京西路"), "南京西路");
    }

    #[test]
    fn labels_name_the_waypoints_and_the_id_stays_in_the_description() {
        use crate::graph::Mode;
        use crate::plan::{PlanRequest, Priority, RouteEnd, Stop, plan_routes};
        let stop = |id: &str, lon| Stop {
            id: id.into(),
            lon,
            lat: 31.23,
            service_s: 60.0,
            priority: Priority::Must,
        };
        let req = PlanRequest {
            stops: vec![stop("p-1", 121.47), stop("p-2", 121.472)],
            start: [121.46, 31.23],
            end: RouteEnd::ReturnToStart,
            teams: 1,
            budget_s: 7200.0,
            mode: Mode::Walk,
            seed: 1,
            options: crate::plan::PlanOptions::default(),
        };
        let plan = plan_routes(&req, None).unwrap();
        let gpx = plan.to_gpx_with("x", &|team, k, s| {
            format!("{}-{} <{}>", team + 1, k + 1, s.id)
        });
        let first = &plan.teams[0].stops[0].id;
        assert!(
            gpx.contains(&format!("<name>1-1 &lt;{first}&gt;</name>")),
            "{gpx}"
        );
        assert!(gpx.contains(&format!(", id {first}</desc>")), "{gpx}");
        assert_eq!(gpx.matches("<wpt ").count(), 3);
        // Without labels the id is the name and not repeated.
        assert!(!plan.to_gpx("x").contains(", id "));
    }

    #[test]
    fn clock_formats_hours_and_minutes() {
        assert_eq!(clock(0.0), "0:00");
        assert_eq!(clock(3599.0), "1:00");
        assert_eq!(clock(5400.0), "1:30");
    }
}
