//! What a worker reports of its jobs beyond the spans of the run: outcomes
//! counted and logged, the queue wait, and the jobs in flight.

use opentelemetry::{
    KeyValue,
    trace::{Span as _, SpanBuilder, SpanKind, TraceContextExt, Tracer as _},
};
use tariff_proto::v1::{Job, JobEnvelope, JobState};
use tracing::Span;

use super::Worker;
use crate::{
    backend::Delivery,
    telemetry::{self, JobMetrics},
};

impl<R, J> Worker<R, J> {
    /// Queue wait: from submission until this first start. Recorded as a
    /// metric, on the job span, and as a `queue_wait` span beside the job span
    /// (a child of the gateway's publish) covering the wait itself.
    pub(super) fn record_queue_wait<D: Delivery>(
        &self,
        envelope: &JobEnvelope,
        delivery: &D,
        job_span: &Span,
    ) {
        let Some(waited) = telemetry::since(&envelope.submitted_at) else { return };
        self.metrics.queue_wait.record(waited.as_secs_f64(), &[]);
        job_span.record("queue_wait_ms", i64::try_from(waited.as_millis()).unwrap_or(i64::MAX));
        let parent = telemetry::extract(&delivery.headers());
        if !parent.span().span_context().is_valid() {
            return;
        }
        let now = std::time::SystemTime::now();
        let tracer = opentelemetry::global::tracer(telemetry::METER);
        let mut span = tracer.build_with_context(
            SpanBuilder::from_name("queue_wait")
                .with_kind(SpanKind::Internal)
                .with_start_time(now - waited)
                .with_attributes([KeyValue::new("job_id", envelope.job_id.clone())]),
            &parent,
        );
        span.end_with_timestamp(now);
    }

    /// Counts an outcome this worker wrote, and logs it.
    pub(super) fn count_outcome(&self, job: &Job, state: JobState) {
        let job_id = job.job_id.as_str();
        match state {
            JobState::Succeeded => {
                self.metrics.succeeded.add(1, &[]);
                self.metrics.record_end_to_end("succeeded", &job.created_at);
                tracing::info!(job_id, state = state.as_str_name(), "job ended");
            }
            JobState::Failed => {
                let error = job.error.clone().unwrap_or_default();
                self.metrics.failed(&error.code, &job.created_at);
                tracing::warn!(job_id, state = state.as_str_name(), code = %error.code, message = %error.message, "job failed");
            }
            _ => {
                self.metrics.cancelled.add(1, &[]);
                self.metrics.record_end_to_end("cancelled", &job.created_at);
                tracing::info!(job_id, state = state.as_str_name(), "job ended");
            }
        }
    }
}

/// Counts a job running on this worker for as long as it lives.
pub(super) struct InFlight<'a>(&'a JobMetrics);

impl<'a> InFlight<'a> {
    pub(super) fn new(metrics: &'a JobMetrics) -> Self {
        metrics.in_flight.add(1, &[]);
        InFlight(metrics)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.add(-1, &[]);
    }
}
