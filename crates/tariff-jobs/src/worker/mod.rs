//! The worker's side: take a job, run it with progress (RUNNING) and
//! in-progress acks, write the outcome once, ack. Jobs the runner splits into
//! chunks are shared with other workers (`split`).

mod compute;
mod runner;
mod split;

pub use runner::{JobRunner, RunFailure, chunk_steps, holds_flows};

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use opentelemetry::{
    KeyValue,
    trace::{Span as _, SpanBuilder, SpanKind, TraceContextExt, Tracer as _},
};
use prost::Message;
use tariff_proto::v1::{
    ChunkTask, FlowChunks, Job, JobEnvelope, JobError, JobErrorCode, JobState, Progress, ScenarioResult,
};
use tokio::sync::Semaphore;
use tracing::{Instrument, Span, field::Empty};

use crate::{
    JobsError,
    backend::{ChunkStore, Created, Delivery, JobConsumer, JobQueue, RecordStore, Stored, Updated},
    record::{self, is_terminal},
    telemetry::{self, JobMetrics},
};

/// How a worker paces itself.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    /// Jobs run at once by this worker.
    pub concurrency: usize,
    /// The least time between two progress writes to the record (zero: every step).
    pub progress_interval: Duration,
    /// How often a running job tells the queue it is still being worked on.
    pub in_progress_interval: Duration,
    /// Redelivery delay when the record store is unavailable or a run crashed.
    pub retry_delay: Duration,
    /// Deliveries before a job whose runs crash is given up (the consumer's `max_deliver`).
    pub max_deliver: u32,
    /// The largest encoded result kept; a larger one fails the job (RESOURCE_EXHAUSTED).
    pub max_result_bytes: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 2,
            progress_interval: Duration::from_millis(250),
            in_progress_interval: Duration::from_secs(10),
            retry_delay: Duration::from_secs(1),
            max_deliver: 5,
            max_result_bytes: 512 * 1024 * 1024,
        }
    }
}

/// Runs jobs from a consumer until shut down.
#[derive(Debug)]
pub struct Worker<R, J> {
    records: R,
    runner: Arc<J>,
    config: WorkerConfig,
    metrics: JobMetrics,
}

impl<R: RecordStore + JobQueue + ChunkStore, J: JobRunner> Worker<R, J> {
    /// A worker; its metrics go to the global meter provider installed before
    /// this call (none: not recorded).
    pub fn new(records: R, runner: J, config: WorkerConfig) -> Self {
        let metrics = JobMetrics::global();
        metrics.announce_worker();
        Worker { records, runner: Arc::new(runner), config, metrics }
    }

    /// Pulls and runs jobs, at most `concurrency` at once, until `shutdown`
    /// resolves; then stops pulling and lets the jobs in hand finish.
    pub async fn run<C: JobConsumer>(self, mut consumer: C, shutdown: impl Future<Output = ()>) {
        let this = Arc::new(self);
        let slots = Arc::new(Semaphore::new(this.config.concurrency.max(1)));
        tokio::pin!(shutdown);
        loop {
            // Take a slot before pulling, so a busy worker leaves jobs to others.
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let next = tokio::select! {
                _ = &mut shutdown => break,
                next = consumer.next() => next,
            };
            match next {
                Some(Ok(delivery)) => {
                    let this = this.clone();
                    tokio::spawn(async move {
                        this.handle(Arc::new(delivery)).await;
                        drop(permit);
                    });
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "pulling jobs failed; retrying");
                    tokio::time::sleep(this.config.retry_delay).await;
                }
                None => break,
            }
        }
        consumer.release().await;
        // Drain: every slot back means every job in hand has been settled.
        let all = u32::try_from(this.config.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = slots.acquire_many(all).await;
        tracing::info!("worker stopped");
    }

    async fn handle<D: Delivery>(&self, delivery: Arc<D>) {
        let envelope = match JobEnvelope::decode(delivery.payload()) {
            Ok(e) if record::valid_job_id(&e.job_id) => e,
            outcome => {
                tracing::error!(error = ?outcome.err(), "undecodable job message; dropping it");
                let _ = delivery.term().await;
                return;
            }
        };
        // One span per delivery, continuing the trace of the gateway's publish.
        let span = tracing::info_span!(
            "job",
            otel.kind = "consumer",
            job_id = %envelope.job_id,
            attempt = delivery.attempt(),
            trace_id = Empty,
            queue_wait_ms = Empty,
            outcome = Empty,
            otel.status_code = Empty,
        );
        telemetry::continue_trace(&span, telemetry::extract(&delivery.headers()));
        if delivery.attempt() > 1 {
            self.metrics.redelivered.add(1, &[]);
        }
        self.settle(envelope, delivery).instrument(span).await;
    }

    async fn settle<D: Delivery>(&self, envelope: JobEnvelope, delivery: Arc<D>) {
        let job_id = envelope.job_id.clone();
        let settled = match self.process(&envelope, delivery.as_ref()).await {
            Ok(Settle::Done) => Ok(()),
            Ok(Settle::Crashed(reason)) if delivery.attempt() < self.config.max_deliver => {
                tracing::warn!(job_id, attempt = delivery.attempt(), "run crashed, will retry: {reason}");
                let _ = delivery.nak(self.config.retry_delay * delivery.attempt()).await;
                return;
            }
            // Its job's worker computes a chunk nobody could.
            Ok(Settle::Crashed(reason)) if split::is_chunk(&envelope) => {
                tracing::warn!(
                    job_id,
                    "chunk crashed on its last delivery, left to the job's worker: {reason}"
                );
                let _ = delivery.term().await;
                return;
            }
            Ok(Settle::Crashed(reason)) => {
                let reason = format!("crashed on every one of {} deliveries: {reason}", delivery.attempt());
                tracing::error!(job_id, "job failed: {reason}");
                match give_up(&self.records, &job_id, &reason).await {
                    Ok(()) => delivery.dead_letter(&job_id, &reason).await,
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        match settled {
            Ok(()) => {
                if let Err(e) = delivery.ack().await {
                    // The outcome is recorded; a redelivery finds it and acks.
                    tracing::warn!(job_id, error = %e, "ack failed");
                }
            }
            Err(e) => {
                tracing::warn!(job_id, error = %e, "job store unavailable; the job will be redelivered");
                // Doubling per delivery: the max_deliver deliveries outlast a
                // leader election in a NATS cluster (several seconds) instead of
                // being spent inside it.
                let doublings = delivery.attempt().saturating_sub(1).min(5);
                let _ = delivery.nak(self.config.retry_delay * (1u32 << doublings)).await;
            }
        }
    }

    /// Runs the job unless its record says it has ended; errors only when the
    /// record store is unreachable (the job is then redelivered).
    async fn process<D: Delivery>(&self, envelope: &JobEnvelope, delivery: &D) -> Result<Settle, JobsError> {
        if let Some(chunk) = &envelope.chunk {
            return self.process_chunk(envelope, chunk, delivery).await;
        }
        let job_id = envelope.job_id.as_str();
        let job_span = Span::current();
        let started = self.start(job_id).instrument(tracing::debug_span!("read_record")).await?;
        let Some((mut current, first_start)) = started else {
            tracing::info!(job_id, "job already ended; acking the delivery");
            return Ok(Settle::Done);
        };
        // A crashed first run leaves the record QUEUED: the delivery count tells.
        if first_start && delivery.attempt() == 1 {
            self.record_queue_wait(envelope, delivery, &job_span);
        }
        tracing::info!(job_id, attempt = delivery.attempt(), "job running");
        let _in_flight = InFlight::new(&self.metrics);
        let scenario = envelope.scenario.clone().unwrap_or_default();
        let computing = Instant::now();
        let chunks = self.chunks_of(&scenario).await;
        let computed = if chunks.is_empty() {
            let runner = self.runner.clone();
            let job = scenario.clone();
            let view = envelope.computed_view.clone();
            self.compute(
                compute::Sink::Record(&mut current),
                delivery,
                |p| p,
                Box::new(move |p| runner.run_in_view(&job, view.as_ref(), p)),
            )
            .await?
        } else {
            self.compute_split(envelope, &scenario, &chunks, &mut current, delivery).await?
        };
        let outcome = match computed.outcome {
            // Retried like an unreachable record store: the job is not at fault.
            Ok(Err(RunFailure::Unavailable(reason))) => return Err(JobsError::Unavailable(reason)),
            Ok(outcome) => outcome,
            // A crash may be this machine's fault: let another delivery try.
            Err(crash) => {
                job_span.record("otel.status_code", "ERROR");
                return Ok(Settle::Crashed(crash));
            }
        };
        let label = match &outcome {
            Ok(_) => "succeeded",
            Err(RunFailure::Cancelled) => "cancelled",
            Err(RunFailure::Failed(_) | RunFailure::Unavailable(_)) => "failed",
        };
        self.metrics.solve.record(computing.elapsed().as_secs_f64(), &[KeyValue::new("outcome", label)]);
        let outcome = outcome.and_then(|result| self.within_size(result));
        // A job split by sector keeps its flows in its chunks.
        let flow_chunks = match &outcome {
            Ok(result) if holds_flows(&chunks) => Some(flow_chunks(&chunks, result)),
            _ => None,
        };
        let written = self
            .finish(current, outcome, computed.latest, delivery.attempt(), flow_chunks)
            .instrument(tracing::debug_span!("store_result"))
            .await?;
        if let Some(state) = written {
            job_span.record("outcome", tracing::field::debug(state));
            if state == JobState::Failed {
                job_span.record("otel.status_code", "ERROR");
            }
        }
        if !chunks.is_empty() {
            // Another delivery may have stored the result these chunks' flows belong to.
            let ended_without = matches!(written, Some(JobState::Failed | JobState::Cancelled));
            self.clean_up_chunks(job_id, &chunks, ended_without).await;
        }
        Ok(Settle::Done)
    }

    /// Queue wait: from submission until this first start. Recorded as a
    /// metric, on the job span, and as a `queue_wait` span beside the job span
    /// (a child of the gateway's publish) covering the wait itself.
    fn record_queue_wait<D: Delivery>(&self, envelope: &JobEnvelope, delivery: &D, job_span: &Span) {
        let Some(waited) = telemetry::since(&envelope.submitted_at) else { return };
        self.metrics.queue_wait.record(waited.as_secs_f64(), &[]);
        job_span.record("queue_wait_ms", u64::try_from(waited.as_millis()).unwrap_or(u64::MAX));
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

    fn within_size(&self, result: ScenarioResult) -> Result<ScenarioResult, RunFailure> {
        let size = result.encoded_len();
        if size <= self.config.max_result_bytes {
            return Ok(result);
        }
        Err(RunFailure::Failed(JobError::new(
            JobErrorCode::ResourceExhausted,
            format!(
                "the result is {size} bytes; at most {} are kept (fewer dates or a smaller dataset; \
                 the workers' --max-result-bytes)",
                self.config.max_result_bytes
            ),
            "",
        )))
    }

    /// The record to run the job against; `None` when the job has already
    /// ended. The flag is true when the job was still QUEUED (its first start).
    ///
    /// Nothing is written yet: RUNNING goes into the record with the first
    /// progress report that is due, so a job shorter than `progress_interval`
    /// costs one record write, not two. The outcome is written against the
    /// revision read here, so a cancellation meanwhile still wins.
    ///
    /// A RUNNING record is taken over: its worker died, or the message came
    /// again. Skipping it on a first delivery would strand the job when a
    /// restarted server has forgotten the delivery count; a second run of a job
    /// that was still running only costs compute, since the outcome is written once.
    async fn start(&self, job_id: &str) -> Result<Option<(Stored, bool)>, JobsError> {
        let stored = match self.records.get(job_id).await? {
            Some(stored) => stored,
            // The record expired before the job ran: start a new one.
            None => match self.records.create(&record::queued(job_id, "")).await? {
                Created::New(revision) => Stored { job: record::queued(job_id, ""), revision },
                Created::Existing(stored) => *stored,
            },
        };
        if is_terminal(&stored.job) {
            return Ok(None);
        }
        let first_start = JobState::try_from(stored.job.state) == Ok(JobState::Queued);
        Ok(Some((stored, first_start)))
    }

    /// Writes progress; `true` when the job has been cancelled meanwhile.
    async fn record_progress(
        &self,
        current: &mut Stored,
        progress: Progress,
        attempt: u32,
    ) -> Result<bool, JobsError> {
        // A record that ended (cancelled) stays ended: writing progress over it
        // would turn a cancelled job back into a running one.
        if is_terminal(&current.job) {
            return Ok(true);
        }
        let mut job = current.job.clone();
        if JobState::try_from(job.state) != Ok(JobState::Running) {
            record::set_state(&mut job, JobState::Running);
        }
        job.attempts = attempt;
        job.progress = Some(progress);
        job.updated_at = record::now_rfc3339();
        match self.records.update(&job, current.revision).await? {
            Updated::Done(revision) => {
                *current = Stored { job, revision };
                Ok(false)
            }
            Updated::Conflict => match self.records.get(&job.job_id).await? {
                Some(latest) => {
                    let cancelled = is_terminal(&latest.job);
                    *current = latest;
                    Ok(cancelled)
                }
                None => Ok(true),
            },
        }
    }

    /// Writes the outcome once: a record that ended meanwhile (cancelled, or
    /// finished by another delivery) is left as it is. The state written, if any.
    async fn finish(
        &self,
        mut current: Stored,
        outcome: Result<ScenarioResult, RunFailure>,
        latest: Option<Progress>,
        attempt: u32,
        flow_chunks: Option<FlowChunks>,
    ) -> Result<Option<JobState>, JobsError> {
        let job_id = current.job.job_id.clone();
        // The result moves into the record and back out on a conflict: it can
        // be large, and a copy per attempt showed in profiles.
        let (mut result, failure) = match outcome {
            Ok(result) => (Some(result), None),
            Err(failure) => (None, Some(failure)),
        };
        loop {
            if is_terminal(&current.job) {
                return Ok(None);
            }
            let mut job = current.job.clone();
            job.attempts = attempt;
            match &failure {
                None => {
                    record::set_state(&mut job, JobState::Succeeded);
                    let total = latest.as_ref().or(job.progress.as_ref()).map_or(0, |p| p.total);
                    job.progress = Some(record::progress(total, total, "done"));
                    job.result = result.take();
                    job.flow_chunks.clone_from(&flow_chunks);
                }
                Some(RunFailure::Cancelled) => {
                    record::set_state(&mut job, JobState::Cancelled);
                    job.progress = latest.clone().or(job.progress);
                }
                Some(RunFailure::Failed(error)) => record::fail(&mut job, error.clone()),
                Some(RunFailure::Unavailable(reason)) => {
                    record::fail(&mut job, JobError::new(JobErrorCode::Unavailable, reason.clone(), ""))
                }
            }
            match self.records.update(&job, current.revision).await? {
                Updated::Done(_) => {
                    let state = JobState::try_from(job.state).unwrap_or(JobState::Unspecified);
                    self.count_outcome(&job, state);
                    return Ok(Some(state));
                }
                Updated::Conflict => {
                    result = job.result.take();
                    current = match self.records.get(&job_id).await? {
                        Some(latest) => latest,
                        None => return Ok(None),
                    };
                }
            }
        }
    }
}

impl<R, J> Worker<R, J> {
    /// Counts an outcome this worker wrote, and logs it.
    fn count_outcome(&self, job: &Job, state: JobState) {
        let job_id = job.job_id.as_str();
        match state {
            JobState::Succeeded => {
                self.metrics.succeeded.add(1, &[]);
                self.metrics.record_end_to_end("succeeded", &job.created_at);
                tracing::info!(job_id, state = ?state, "job ended");
            }
            JobState::Failed => {
                let error = job.error.clone().unwrap_or_default();
                self.metrics.failed(&error.code, &job.created_at);
                tracing::warn!(job_id, state = ?state, code = %error.code, message = %error.message, "job failed");
            }
            _ => {
                self.metrics.cancelled.add(1, &[]);
                self.metrics.record_end_to_end("cancelled", &job.created_at);
                tracing::info!(job_id, state = ?state, "job ended");
            }
        }
    }
}

/// Counts a job running on this worker for as long as it lives.
struct InFlight<'a>(&'a JobMetrics);

impl<'a> InFlight<'a> {
    fn new(metrics: &'a JobMetrics) -> Self {
        metrics.in_flight.add(1, &[]);
        InFlight(metrics)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.add(-1, &[]);
    }
}

/// How a delivery ended.
enum Settle {
    /// The outcome is recorded (or was already): ack.
    Done,
    /// The run crashed before an outcome: retry, or give up on the last delivery.
    Crashed(String),
}

/// Marks a job FAILED with `reason` unless it has already ended.
pub async fn give_up<R: RecordStore>(records: &R, job_id: &str, reason: &str) -> Result<(), JobsError> {
    loop {
        let Some(stored) = records.get(job_id).await? else { return Ok(()) };
        if is_terminal(&stored.job) {
            return Ok(());
        }
        let mut job = stored.job;
        record::fail(&mut job, JobError::new(JobErrorCode::GaveUp, reason, ""));
        if let Updated::Done(_) = records.update(&job, stored.revision).await? {
            JobMetrics::global().failed("GAVE_UP", &job.created_at);
            return Ok(());
        }
    }
}

/// The record of a job as a watcher sees it at the end, for tests and tools.
pub fn final_state(job: &Job) -> Option<JobState> {
    is_terminal(job).then(|| JobState::try_from(job.state).ok()).flatten()
}

/// Where a result split by sector keeps its flows, and how many each date and sector has.
fn flow_chunks(chunks: &[ChunkTask], result: &ScenarioResult) -> FlowChunks {
    FlowChunks {
        chunks: chunks.to_vec(),
        dates: result.impacts.iter().map(|i| i.date.clone()).collect(),
        counts: result.impacts.iter().flat_map(|i| &i.sectors).map(|s| s.flow_count).collect(),
    }
}
