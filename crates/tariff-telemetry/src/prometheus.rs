//! The metrics in the Prometheus text exposition format (0.0.4), read on
//! demand from the SDK with a manual reader: each scrape collects the current
//! cumulative values. Small enough to keep here rather than depend on a
//! Prometheus client library.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{Arc, Weak},
    time::Duration,
};

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::{
    error::OTelSdkResult,
    metrics::{
        InstrumentKind, ManualReader, Pipeline, Temporality,
        data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics},
        reader::MetricReader,
    },
};

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A manual reader the meter provider owns and the admin server reads from.
#[derive(Debug, Clone)]
pub(crate) struct ScrapeReader(Arc<ManualReader>);

impl ScrapeReader {
    pub(crate) fn new() -> ScrapeReader {
        ScrapeReader(Arc::new(ManualReader::builder().with_temporality(Temporality::Cumulative).build()))
    }

    /// Collects every instrument now and renders the text format.
    pub(crate) fn scrape(&self) -> Result<String, String> {
        let mut metrics = ResourceMetrics::default();
        self.0.collect(&mut metrics).map_err(|e| e.to_string())?;
        Ok(render(&metrics))
    }
}

impl MetricReader for ScrapeReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

/// One metric family: its type, help and sample lines.
#[derive(Default)]
struct Family {
    kind: &'static str,
    help: String,
    samples: Vec<String>,
}

/// Renders collected metrics; families in name order, so the output is stable.
pub(crate) fn render(metrics: &ResourceMetrics) -> String {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for scope in metrics.scope_metrics() {
        for metric in scope.metrics() {
            add_metric(&mut families, metric);
        }
    }
    let mut out = String::new();
    for (name, family) in &families {
        if !family.help.is_empty() {
            let _ = writeln!(out, "# HELP {name} {}", escape_help(&family.help));
        }
        let _ = writeln!(out, "# TYPE {name} {}", family.kind);
        for sample in &family.samples {
            out.push_str(sample);
            out.push('\n');
        }
    }
    out
}

fn add_metric(families: &mut BTreeMap<String, Family>, metric: &Metric) {
    let name = sanitize_name(metric.name());
    match metric.data() {
        AggregatedMetrics::F64(data) => add_data(families, &name, metric.description(), data),
        AggregatedMetrics::U64(data) => add_data(families, &name, metric.description(), data),
        AggregatedMetrics::I64(data) => add_data(families, &name, metric.description(), data),
    }
}

/// A number as Prometheus writes it.
trait Sample: Copy {
    fn text(self) -> String;
}

impl Sample for u64 {
    fn text(self) -> String {
        self.to_string()
    }
}

impl Sample for i64 {
    fn text(self) -> String {
        self.to_string()
    }
}

impl Sample for f64 {
    fn text(self) -> String {
        float(self)
    }
}

fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        v.to_string()
    }
}

fn add_data<T: Sample>(
    families: &mut BTreeMap<String, Family>,
    name: &str,
    help: &str,
    data: &MetricData<T>,
) {
    let kind = match data {
        MetricData::Sum(sum) if sum.is_monotonic() => "counter",
        MetricData::Histogram(_) => "histogram",
        _ => "gauge",
    };
    let family = families.entry(name.to_owned()).or_default();
    family.kind = kind;
    if family.help.is_empty() {
        family.help = help.to_owned();
    }
    match data {
        MetricData::Gauge(gauge) => {
            for point in gauge.data_points() {
                family.samples.push(sample(name, point.attributes(), None, &point.value().text()));
            }
        }
        MetricData::Sum(sum) => {
            for point in sum.data_points() {
                family.samples.push(sample(name, point.attributes(), None, &point.value().text()));
            }
        }
        MetricData::Histogram(histogram) => {
            for point in histogram.data_points() {
                let attributes: Vec<&KeyValue> = point.attributes().collect();
                let mut cumulative = 0u64;
                let bounds: Vec<f64> = point.bounds().collect();
                for (i, count) in point.bucket_counts().enumerate() {
                    cumulative += count;
                    let le = bounds.get(i).map_or_else(|| "+Inf".to_owned(), |b| float(*b));
                    family.samples.push(sample(
                        &format!("{name}_bucket"),
                        attributes.iter().copied(),
                        Some(&le),
                        &cumulative.to_string(),
                    ));
                }
                family.samples.push(sample(
                    &format!("{name}_sum"),
                    attributes.iter().copied(),
                    None,
                    &point.sum().text(),
                ));
                family.samples.push(sample(
                    &format!("{name}_count"),
                    attributes.iter().copied(),
                    None,
                    &point.count().to_string(),
                ));
            }
        }
        // Not used by this project's instruments: an exponential histogram
        // has no text-format equivalent, so it is left out of the scrape.
        MetricData::ExponentialHistogram(_) => {}
    }
}

/// `name{k="v",...} value`, with `le` last for histogram buckets.
fn sample<'a>(
    name: &str,
    attributes: impl Iterator<Item = &'a KeyValue>,
    le: Option<&str>,
    value: &str,
) -> String {
    let mut labels: Vec<String> = attributes
        .map(|kv| format!("{}=\"{}\"", sanitize_label(kv.key.as_str()), escape_value(&value_text(&kv.value))))
        .collect();
    if let Some(le) = le {
        labels.push(format!("le=\"{le}\""));
    }
    if labels.is_empty() {
        format!("{name} {value}")
    } else {
        format!("{name}{{{}}} {value}", labels.join(","))
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.as_str().to_owned(),
        other => other.to_string(),
    }
}

/// Metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`; anything else becomes `_`.
fn sanitize_name(name: &str) -> String {
    sanitize(name, true)
}

/// Label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn sanitize_label(name: &str) -> String {
    sanitize(name, false)
}

fn sanitize(name: &str, colons: bool) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':') { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn escape_value(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use opentelemetry::metrics::MeterProvider;
    use opentelemetry_sdk::metrics::SdkMeterProvider;

    use super::*;

    #[test]
    fn counters_gauges_and_histograms_in_the_text_format() {
        let reader = ScrapeReader::new();
        let provider = SdkMeterProvider::builder().with_reader(reader.clone()).build();
        let meter = provider.meter("test");
        let counter = meter.u64_counter("jobs_total").with_description("Jobs.").build();
        counter.add(2, &[KeyValue::new("code", "A \"quoted\"\nvalue")]);
        counter.add(1, &[]);
        let gauge = meter.i64_up_down_counter("in_flight").build();
        gauge.add(3, &[]);
        gauge.add(-1, &[]);
        let histogram = meter.f64_histogram("wait.seconds").with_boundaries(vec![0.1, 1.0]).build();
        for v in [0.05, 0.5, 0.7, 5.0] {
            histogram.record(v, &[]);
        }
        let text = reader.scrape().unwrap();
        let expected = [
            "# HELP jobs_total Jobs.",
            "# TYPE jobs_total counter",
            "jobs_total{code=\"A \\\"quoted\\\"\\nvalue\"} 2",
            "jobs_total 1",
            "# TYPE in_flight gauge",
            "in_flight 2",
            "# TYPE wait_seconds histogram",
            "wait_seconds_bucket{le=\"0.1\"} 1",
            "wait_seconds_bucket{le=\"1\"} 3",
            "wait_seconds_bucket{le=\"+Inf\"} 4",
            "wait_seconds_sum 6.25",
            "wait_seconds_count 4",
        ];
        for line in expected {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
        }
    }

    #[test]
    fn odd_names_are_made_valid() {
        assert_eq!(sanitize_name("tariff.jobs-total"), "tariff_jobs_total");
        assert_eq!(sanitize_name("9lives"), "_9lives");
        assert_eq!(sanitize_label("service.name"), "service_name");
        assert_eq!(float(f64::INFINITY), "+Inf");
    }
}
