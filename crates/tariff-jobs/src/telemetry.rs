//! What the job protocol tells operators: the job metrics, and the W3C trace
//! context carried from the gateway to the worker in the message headers.
//!
//! Only the OpenTelemetry API is used here: the process decides (in
//! `tariff-telemetry`) whether anything is recorded or exported. Without an
//! installed provider and propagator every call is a cheap no-op.

use std::time::{Duration, SystemTime};

use opentelemetry::{
    Context, KeyValue, global,
    metrics::{Counter, Histogram, Meter, UpDownCounter},
    propagation::{Extractor, Injector},
    trace::TraceContextExt,
};
use tariff_proto::v1::JobErrorCode;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The meter every job instrument belongs to.
pub const METER: &str = "tariff";

/// Histogram buckets in seconds, from a few milliseconds to ten minutes.
const SECONDS_BUCKETS: [f64; 16] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];

/// The job instruments. Names carry their unit and, for counters, `_total`,
/// so they read the same in Prometheus and in an OTLP backend.
#[derive(Clone)]
pub struct JobMetrics {
    /// Jobs accepted and queued (gateway); resubmissions are not counted here.
    pub submitted: Counter<u64>,
    /// Submissions answered with an existing job (same idempotency key).
    pub deduplicated: Counter<u64>,
    /// Jobs that ended SUCCEEDED (worker).
    pub succeeded: Counter<u64>,
    /// Jobs that ended FAILED, by error `code` (worker, reaper).
    pub failed: Counter<u64>,
    /// Jobs that ended CANCELLED (mostly the gateway's cancel).
    pub cancelled: Counter<u64>,
    /// Deliveries after the first (a crashed, stalled or dead worker's job).
    pub redelivered: Counter<u64>,
    /// From submission until a worker first starts the job.
    pub queue_wait: Histogram<f64>,
    /// A run's computation, by `outcome`.
    pub solve: Histogram<f64>,
    /// From submission until the outcome is recorded, by `outcome`.
    pub end_to_end: Histogram<f64>,
    /// Jobs running on this worker now.
    pub in_flight: UpDownCounter<i64>,
    /// Chunks of split jobs this worker computed (its own jobs' and others').
    pub chunks: Counter<u64>,
}

impl std::fmt::Debug for JobMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobMetrics").finish_non_exhaustive()
    }
}

impl JobMetrics {
    /// The instruments on the global meter provider as it is now (install it first).
    pub fn global() -> JobMetrics {
        JobMetrics::new(&global::meter(METER))
    }

    /// The instruments on `meter`.
    pub fn new(meter: &Meter) -> JobMetrics {
        let counter = |name: &'static str, description: &'static str| {
            meter.u64_counter(name).with_description(description).build()
        };
        let seconds = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_description(description)
                .with_unit("s")
                .with_boundaries(SECONDS_BUCKETS.to_vec())
                .build()
        };
        JobMetrics {
            submitted: counter("tariff_jobs_submitted_total", "Jobs accepted and queued by the gateway."),
            deduplicated: counter(
                "tariff_jobs_deduplicated_total",
                "Submissions answered with an existing job (same idempotency key).",
            ),
            succeeded: counter("tariff_jobs_succeeded_total", "Jobs that ended SUCCEEDED."),
            failed: counter("tariff_jobs_failed_total", "Jobs that ended FAILED, by error code."),
            cancelled: counter("tariff_jobs_cancelled_total", "Jobs that ended CANCELLED."),
            redelivered: counter(
                "tariff_jobs_redelivered_total",
                "Job deliveries after the first (crashed, stalled or dead workers).",
            ),
            queue_wait: seconds(
                "tariff_job_queue_wait_seconds",
                "Time from submission until a worker first started the job.",
            ),
            solve: seconds("tariff_job_solve_seconds", "Time a run spent computing, by outcome."),
            end_to_end: seconds(
                "tariff_job_end_to_end_seconds",
                "Time from submission until the outcome was recorded, by outcome.",
            ),
            in_flight: meter
                .i64_up_down_counter("tariff_jobs_in_flight")
                .with_description("Jobs running on this worker now.")
                .build(),
            chunks: counter(
                "tariff_chunks_computed_total",
                "Chunks of split jobs (uncertainty draws) this worker computed.",
            ),
        }
    }

    /// Publishes the gateway's counters at zero, so they exist before the first job.
    pub(crate) fn announce_gateway(&self) {
        self.submitted.add(0, &[]);
        self.deduplicated.add(0, &[]);
        self.cancelled.add(0, &[]);
    }

    /// Publishes the worker's counters and gauge at zero: the failures by
    /// every code, so that an alert on one code's increase sees its first.
    pub(crate) fn announce_worker(&self) {
        self.succeeded.add(0, &[]);
        for code in (1..).map_while(|i| JobErrorCode::try_from(i).ok()) {
            self.failed.add(0, &[KeyValue::new("code", code.name())]);
        }
        self.cancelled.add(0, &[]);
        self.redelivered.add(0, &[]);
        self.in_flight.add(0, &[]);
        self.chunks.add(0, &[]);
    }

    /// Counts a FAILED outcome and its end-to-end time.
    pub(crate) fn failed(&self, code: &str, created_at: &str) {
        self.failed.add(1, &[KeyValue::new("code", code.to_owned())]);
        self.record_end_to_end("failed", created_at);
    }

    /// Records the time since `created_at` (an RFC 3339 timestamp) as end to end.
    pub(crate) fn record_end_to_end(&self, outcome: &'static str, created_at: &str) {
        if let Some(elapsed) = since(created_at) {
            self.end_to_end.record(elapsed.as_secs_f64(), &[KeyValue::new("outcome", outcome)]);
        }
    }
}

/// Time since an RFC 3339 timestamp, if it parses; zero for one a little
/// ahead (another machine's clock, or the publish time rounded up).
pub(crate) fn since(timestamp: &str) -> Option<Duration> {
    let at = humantime::parse_rfc3339_weak(timestamp).ok()?;
    Some(SystemTime::now().duration_since(at).unwrap_or(Duration::ZERO))
}

/// Writes trace context into job message headers, replacing an earlier value
/// of the same header (names compared without case).
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut Vec<(String, String)>);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.retain(|(name, _)| !name.eq_ignore_ascii_case(key));
        self.0.push((key.to_owned(), value));
    }
}

/// Reads trace context from job message headers.
#[derive(Debug)]
pub struct HeaderExtractor<'a>(pub &'a [(String, String)]);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(name, _)| name.eq_ignore_ascii_case(key)).map(|(_, value)| value.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_str()).collect()
    }
}

/// `headers` with the trace context of `span` written in (`traceparent`,
/// `tracestate`). A span below `TARIFF_TRACE_LEVEL` is disabled and has no
/// context: the current span's goes instead, so the worker continues the
/// job's trace whatever the level (with a fresh trace, each side sampled on
/// its own). When no span has a context (no telemetry installed) the headers
/// stay as they were, so a caller's context still travels.
pub fn inject(span: &Span, headers: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = headers.to_vec();
    let mut cx = span.context();
    if !cx.span().span_context().is_valid() {
        cx = Span::current().context();
    }
    if cx.span().span_context().is_valid() {
        global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&cx, &mut HeaderInjector(&mut out))
        });
    }
    out
}

/// The trace context in job message headers (empty when there is none).
pub fn extract(headers: &[(String, String)]) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
}

/// Makes `span` a child of `parent` (when it carries a span) and records the
/// span's trace id in its `trace_id` field, so log lines show it. Call it
/// right after creating the span, before entering it.
pub fn continue_trace(span: &Span, parent: Context) {
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    record_trace_id(span);
}

/// Records the span's trace id in its `trace_id` field (when it has one).
pub fn record_trace_id(span: &Span) {
    if let Some(trace_id) = trace_id_of(span) {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

/// The span's trace id in hex, when it has one.
pub fn trace_id_of(span: &Span) -> Option<String> {
    let cx = span.context();
    let span_context = cx.span().span_context().clone();
    span_context.is_valid().then(|| span_context.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn injection_replaces_headers_of_any_case_and_extraction_ignores_case() {
        let mut headers =
            vec![("TraceParent".to_owned(), "old".to_owned()), ("x".to_owned(), "1".to_owned())];
        HeaderInjector(&mut headers).set("traceparent", "new".into());
        assert_eq!(headers, vec![("x".into(), "1".into()), ("traceparent".into(), "new".into())]);
        assert_eq!(HeaderExtractor(&headers).get("TRACEPARENT"), Some("new"));
        assert_eq!(HeaderExtractor(&headers).keys(), vec!["x", "traceparent"]);
    }

    #[test]
    fn without_telemetry_headers_pass_through() {
        let headers = vec![("traceparent".to_owned(), "00-abc-def-01".to_owned())];
        assert_eq!(inject(&Span::none(), &headers), headers);
    }

    #[test]
    fn elapsed_time_since_a_record_timestamp() {
        let then = humantime::format_rfc3339_millis(SystemTime::now() - Duration::from_secs(2)).to_string();
        let elapsed = since(&then).unwrap();
        assert!(elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(60), "{elapsed:?}");
        assert_eq!(since("not a time"), None);
        let ahead = humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(1)).to_string();
        assert_eq!(since(&ahead), Some(Duration::ZERO));
    }
}
