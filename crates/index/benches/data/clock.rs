//! The benchmarks' clock: wall time (criterion's usual), or with `CIVMAP_BENCH_CLOCK=cpu` the
//! CPU time of the benchmark thread (`CLOCK_THREAD_CPUTIME_ID`), which leaves out the time the
//! thread waits while other processes of a shared machine run.

use std::time::{Duration, Instant};

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    cpu: bool,
    origin: Instant,
}

impl Clock {
    pub fn from_env() -> Self {
        let cpu = std::env::var("CIVMAP_BENCH_CLOCK").is_ok_and(|v| v == "cpu");
        Self {
            cpu,
            origin: Instant::now(),
        }
    }

    pub fn describe(&self) {
        eprintln!(
            "clock: {}",
            if self.cpu {
                "thread CPU time (CIVMAP_BENCH_CLOCK=cpu)"
            } else {
                "wall time"
            }
        );
    }

    /// Time since an arbitrary origin, on this clock.
    pub fn now(&self) -> Duration {
        if self.cpu {
            cpu_time::ThreadTime::now().as_duration()
        } else {
            self.origin.elapsed()
        }
    }
}

impl Measurement for Clock {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        self.now()
    }
    fn end(&self, i: Duration) -> Duration {
        self.now().saturating_sub(i)
    }
    fn add(&self, v1: &Duration, v2: &Duration) -> Duration {
        *v1 + *v2
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NanosFormatter
    }
}

struct NanosFormatter;

impl ValueFormatter for NanosFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns")
        } else if typical < 1e6 {
            (1e-3, "µs")
        } else if typical < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        for v in values {
            *v *= factor;
        }
        unit
    }

    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match *t {
            Throughput::Elements(n)
            | Throughput::Bytes(n)
            | Throughput::BytesDecimal(n)
            | Throughput::Bits(n) => n as f64,
        };
        for v in values {
            *v = n * 1e9 / *v;
        }
        "elem/s"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}
