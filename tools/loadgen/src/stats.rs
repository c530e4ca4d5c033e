//! Latency histograms, rate pacing and the summary math (kept apart from the
//! measuring I/O so they can be unit tested), and how a summary is reported: a
//! printed line per step and a JSON document.

use std::{path::Path, time::Duration};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency recorded, in microseconds (larger values are clamped).
const MAX_MICROS: u64 = 120_000_000;

/// A latency histogram in microseconds, 3 significant figures.
pub fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).context("creating a latency histogram")
}

/// Records one latency.
pub fn record(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1);
    histogram.saturating_record(micros);
}

/// When the `i`th request of an open loop at `rate` per second is due, from the start.
pub fn scheduled_offset(i: u64, rate: f64) -> Duration {
    if rate <= 0.0 || !rate.is_finite() {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(i as f64 / rate)
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    pub fn of(histogram: &Histogram<u64>) -> Latency {
        let ms = |micros: u64| micros as f64 / 1000.0;
        if histogram.is_empty() {
            return Latency { p50_ms: 0.0, p95_ms: 0.0, p99_ms: 0.0, max_ms: 0.0, mean_ms: 0.0 };
        }
        Latency {
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p95_ms: ms(histogram.value_at_quantile(0.95)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            max_ms: ms(histogram.max()),
            mean_ms: histogram.mean() / 1000.0,
        }
    }
}

/// One measured step: a closed loop at a concurrency or an open loop at a rate.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub what: String,
    pub concurrency: Option<usize>,
    pub target_rate_per_s: Option<f64>,
    pub elapsed_s: f64,
    pub ok: u64,
    pub errors: u64,
    pub throughput_per_s: f64,
    pub latency: Latency,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl Step {
    pub fn new(
        what: impl Into<String>,
        histogram: &Histogram<u64>,
        errors: u64,
        elapsed: Duration,
        first_error: Option<String>,
    ) -> Step {
        let ok = histogram.len();
        let secs = elapsed.as_secs_f64();
        Step {
            what: what.into(),
            concurrency: None,
            target_rate_per_s: None,
            elapsed_s: secs,
            ok,
            errors,
            throughput_per_s: if secs > 0.0 { ok as f64 / secs } else { 0.0 },
            latency: Latency::of(histogram),
            first_error,
        }
    }

    pub fn print(&self) {
        let load = match (self.concurrency, self.target_rate_per_s) {
            (Some(c), _) => format!("concurrency {c}"),
            (_, Some(r)) => format!("rate {r:.1}/s"),
            _ => String::new(),
        };
        eprintln!(
            "{:<10} {:<18} ok {:>7} err {:>4}  {:>9.1}/s  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  max {:>8.2} ms",
            self.what,
            load,
            self.ok,
            self.errors,
            self.throughput_per_s,
            self.latency.p50_ms,
            self.latency.p95_ms,
            self.latency.p99_ms,
            self.latency.max_ms,
        );
        if let Some(e) = &self.first_error {
            eprintln!("           first error: {e}");
        }
    }
}

/// The step with the highest throughput among those without errors (a step that
/// failed part of its calls did not sustain its rate); any step if all had errors.
pub fn best(steps: &[Step]) -> Option<&Step> {
    let by_rate = |a: &&Step, b: &&Step| a.throughput_per_s.total_cmp(&b.throughput_per_s);
    steps.iter().filter(|s| s.errors == 0).max_by(by_rate).or_else(|| steps.iter().max_by(by_rate))
}

/// Writes a summary as pretty JSON to `path`, or to standard output without one.
pub fn write_json(path: Option<&Path>, value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    match path {
        Some(path) => {
            // After minutes of measuring, a missing folder must not lose the figures.
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
            eprintln!("summary written to {}", path.display());
        }
        None => println!("{text}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_spreads_requests_evenly() {
        assert_eq!(scheduled_offset(0, 100.0), Duration::ZERO);
        assert_eq!(scheduled_offset(100, 100.0), Duration::from_secs(1));
        assert_eq!(scheduled_offset(5, 10.0), Duration::from_millis(500));
        assert_eq!(scheduled_offset(7, 0.0), Duration::ZERO);
    }

    #[test]
    fn summary_math() {
        let mut h = new_histogram().unwrap();
        for ms in 1..=100u64 {
            record(&mut h, Duration::from_millis(ms));
        }
        let step = Step::new("t", &h, 2, Duration::from_secs(4), None);
        assert_eq!(step.ok, 100);
        assert_eq!(step.errors, 2);
        assert!((step.throughput_per_s - 25.0).abs() < 1e-9);
        assert!((step.latency.p50_ms - 50.0).abs() < 0.1, "{:?}", step.latency);
        assert!((step.latency.p99_ms - 99.0).abs() < 0.1, "{:?}", step.latency);
        assert!((step.latency.max_ms - 100.0).abs() < 0.1, "{:?}", step.latency);
        let empty = Step::new("e", &new_histogram().unwrap(), 0, Duration::ZERO, None);
        assert_eq!(empty.throughput_per_s, 0.0);
        let mut step = step;
        step.errors = 0;
        let mut failing = step.clone();
        failing.what = "f".into();
        failing.throughput_per_s = 1000.0;
        failing.errors = 1;
        assert_eq!(best(&[empty, failing.clone(), step]).unwrap().what, "t");
        assert_eq!(best(&[failing]).unwrap().what, "f");
    }
}
