//! A small Prometheus registry: request counts by route, method and status, a latency
//! histogram by route, and counters and gauges filled at scrape time (index size, store write
//! queue, writes committed, requests refused by a rate limit).
//!
//! Hand-rolled because it is about a hundred lines and the text format is simple; the
//! exposition follows <https://prometheus.io/docs/instrumenting/exposition_formats/>.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use parking_lot::Mutex;

/// Upper bounds of the latency histogram buckets, seconds.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is +Inf.
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct RouteStats {
    /// (method, status, count); a handful per route, searched linearly without allocating.
    counts: Vec<(String, u16, u64)>,
    latency: Histogram,
}

#[derive(Debug, Default)]
struct Inner {
    /// route template -> its counters
    routes: BTreeMap<String, RouteStats>,
}

/// The process-wide registry (one per [`crate::state::ServerState`]).
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Records one finished request. `route` is the matched route template
    /// (`/api/v1/problems/{id}`), never the raw path, so label cardinality stays bounded.
    pub fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(LATENCY_BUCKETS.len());
        let mut g = self.inner.lock();
        // Look up before allocating keys: the common case is an existing entry.
        if !g.routes.contains_key(route) {
            g.routes.insert(route.to_owned(), RouteStats::default());
        }
        let Some(r) = g.routes.get_mut(route) else {
            return;
        };
        match r
            .counts
            .iter_mut()
            .find(|(m, s, _)| m == method && *s == status)
        {
            Some(c) => c.2 += 1,
            None => r.counts.push((method.to_owned(), status, 1)),
        }
        let h = &mut r.latency;
        h.buckets[slot] += 1;
        h.sum += secs;
        h.count += 1;
    }

    /// Total requests seen so far (all routes and statuses).
    #[must_use]
    pub fn total_requests(&self) -> u64 {
        self.inner
            .lock()
            .routes
            .values()
            .flat_map(|r| r.counts.iter().map(|c| c.2))
            .sum()
    }

    /// Renders the registry plus the given gauges and counters `(name, help, value)`, read at
    /// scrape time, in the Prometheus text format 0.0.4 (`_total` names are counters).
    #[must_use]
    pub fn render(&self, gauges: &[(&str, &str, f64)], counters: &[(&str, &str, f64)]) -> String {
        let g = self.inner.lock();
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP civmap_http_requests_total HTTP requests by route template, method and status.\n");
        out.push_str("# TYPE civmap_http_requests_total counter\n");
        for (route, r) in &g.routes {
            let mut counts: Vec<_> = r.counts.iter().collect();
            counts.sort();
            for (method, status, n) in counts {
                let _ = writeln!(
                    out,
                    "civmap_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                    escape(route),
                    escape(method)
                );
            }
        }
        out.push_str("# HELP civmap_http_request_duration_seconds Time from request received to response headers, by route template.\n");
        out.push_str("# TYPE civmap_http_request_duration_seconds histogram\n");
        for (route, r) in &g.routes {
            let h = &r.latency;
            let route = escape(route);
            let mut cumulative = 0;
            for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
                cumulative += h.buckets[i];
                let _ = writeln!(
                    out,
                    "civmap_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
                );
            }
            cumulative += h.buckets[LATENCY_BUCKETS.len()];
            let _ = writeln!(
                out,
                "civmap_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {cumulative}"
            );
            let _ = writeln!(
                out,
                "civmap_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "civmap_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        drop(g);
        for (kind, list) in [("counter", counters), ("gauge", gauges)] {
            for (name, help, value) in list {
                let _ = writeln!(out, "# HELP {name} {help}");
                let _ = writeln!(out, "# TYPE {name} {kind}");
                let _ = writeln!(out, "{name} {value}");
            }
        }
        out
    }
}

/// Appends one histogram without labels (`name_bucket`, `name_sum`, `name_count`): bounds,
/// non-cumulative counts per bucket with +Inf last, as `civmap_store::Histogram` keeps them.
pub fn render_histogram(out: &mut String, name: &str, help: &str, h: &civmap_store::Histogram) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    let mut cumulative = 0;
    for (le, n) in h.bounds.iter().zip(&h.counts) {
        cumulative += n;
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    cumulative += h.counts.get(h.bounds.len()).copied().unwrap_or(0);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(out, "{name}_sum {}", h.sum);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

/// Escapes a label value (backslash, double quote, newline).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_add_up() {
        let m = Metrics::default();
        m.observe("/a/{id}", "GET", 200, Duration::from_micros(100));
        m.observe("/a/{id}", "GET", 200, Duration::from_millis(3));
        m.observe("/a/{id}", "GET", 404, Duration::from_secs(20));
        let text = m.render(
            &[("civmap_index_problems", "Problems in the index.", 42.0)],
            &[("civmap_rate_limited_total", "Refused with 429.", 1.0)],
        );
        assert!(text.contains(
            "civmap_http_requests_total{route=\"/a/{id}\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "civmap_http_request_duration_seconds_bucket{route=\"/a/{id}\",le=\"0.00025\"} 1"
        ));
        assert!(text.contains(
            "civmap_http_request_duration_seconds_bucket{route=\"/a/{id}\",le=\"0.005\"} 2"
        ));
        assert!(text.contains(
            "civmap_http_request_duration_seconds_bucket{route=\"/a/{id}\",le=\"10\"} 2"
        ));
        assert!(text.contains(
            "civmap_http_request_duration_seconds_bucket{route=\"/a/{id}\",le=\"+Inf\"} 3"
        ));
        assert!(text.contains("civmap_http_request_duration_seconds_count{route=\"/a/{id}\"} 3"));
        assert!(text.contains("civmap_rate_limited_total 1"));
        assert!(text.contains("# TYPE civmap_rate_limited_total counter"));
        assert!(text.contains("# TYPE civmap_index_problems gauge"));
        assert!(text.contains("civmap_index_problems 42"));
        assert_eq!(m.total_requests(), 3);
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
