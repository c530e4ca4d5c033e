//! The worker's side: take a job, run it with progress (RUNNING) and
//! in-progress acks, write the outcome once, ack. The modules:
//!
//! - `pull`: the pull loop and the drain;
//! - `slots`: how many jobs a worker holds and computes at once;
//! - this file: one job's run against its record (start, progress, outcome);
//! - `compute`: the computation on a blocking thread, with progress,
//!   cancellation and in-progress acks around it;
//! - `settle`: what becomes of the delivery (ack, retry, give up), as a pure policy;
//! - `split`: jobs the runner splits into chunks, shared with other workers;
//! - `job_metrics`: outcomes counted and logged, the queue wait, jobs in flight;
//! - `runner`: what a worker runs ([`JobRunner`]).

mod compute;
mod job_metrics;
mod pull;
mod runner;
mod settle;
mod slots;
mod split;

pub use runner::{JobRunner, RunFailure, chunk_steps, holds_flows};

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use opentelemetry::KeyValue;
use prost::Message;
use tariff_proto::v1::{
    ChunkTask, FlowChunks, Job, JobEnvelope, JobError, JobErrorCode, JobState, Progress, ScenarioResult,
};
use tracing::{Instrument, Span};

use self::{
    job_metrics::InFlight,
    settle::Settle,
    slots::{Ahead, Slots},
};
use crate::{
    JobsError,
    backend::{ChunkStore, Created, Delivery, JobQueue, RecordStore, Stored, UNSTORED, Updated},
    ending::{Ending, end_unless_ended},
    record::{self, is_terminal},
    telemetry::JobMetrics,
};

/// How a worker paces itself.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    /// Jobs computed at once by this worker.
    pub concurrency: usize,
    /// The most jobs taken beyond the free compute slots, each waiting for one
    /// (with in-progress acks): they keep the CPU busy across the round trips
    /// between short jobs. As many are taken as the slots compute in about
    /// 5 ms, up to this; 0 leaves every job not yet started to other workers.
    pub prefetch: usize,
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
            prefetch: 0,
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
    slots: Slots,
}

impl<R: RecordStore + JobQueue + ChunkStore, J: JobRunner> Worker<R, J> {
    /// A worker; its metrics go to the global meter provider installed before
    /// this call (none: not recorded).
    pub fn new(records: R, runner: J, config: WorkerConfig) -> Self {
        let metrics = JobMetrics::global();
        metrics.announce_worker();
        let slots = Slots::new(config.concurrency, config.prefetch);
        Worker { records, runner: Arc::new(runner), config, metrics, slots }
    }

    /// Runs the job unless its record says it has ended; errors only when the
    /// record store is unreachable (the job is then redelivered).
    async fn process<D: Delivery>(
        &self,
        envelope: &JobEnvelope,
        delivery: &D,
        ahead: &mut Ahead,
    ) -> Result<Settle, JobsError> {
        if let Some(chunk) = &envelope.chunk {
            return self.process_chunk(envelope, chunk, delivery, ahead).await;
        }
        let job_id = envelope.job_id.as_str();
        let job_span = Span::current();
        let scenario = envelope.scenario.clone().unwrap_or_default();
        let quick = self.runner.quick(&scenario);
        let started = self
            .start(envelope, delivery.attempt(), quick)
            .instrument(tracing::debug_span!("read_record"))
            .await?;
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
        let computing = Instant::now();
        // A quick job does not split: asking would only repeat the runner's check.
        let chunks = if quick { Vec::new() } else { self.chunks_of(&scenario).await };
        let computed = if chunks.is_empty() {
            let runner = self.runner.clone();
            let job = scenario.clone();
            let view = envelope.computed_view.clone();
            let work: compute::Work<ScenarioResult> =
                Box::new(move |p| runner.run_in_view(&job, view.as_ref(), p));
            if quick {
                self.compute_here(delivery, work).await
            } else {
                self.compute(compute::Sink::Record(&mut current), delivery, |p| p, work).await?
            }
        } else {
            self.compute_split(envelope, &scenario, &chunks, &mut current, delivery).await?
        };
        ahead.computed();
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
            job_span.record("outcome", state.as_str_name());
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
    /// The first delivery of a `quick` job takes the record from the
    /// envelope, as the gateway created it, instead of reading it: for a job
    /// under a millisecond the read costs more than the compute (12% of the
    /// pipeline's throughput). Such a job cancelled while queued is computed
    /// for nothing, and its outcome's write conflicts and leaves the
    /// cancellation in place; any other job is read first and never runs.
    ///
    /// A job without a stored record (left to the worker by the gateway, at
    /// [`UNSTORED`], or expired while queued) runs against the envelope's
    /// record, or a new one, and its first write creates it.
    ///
    /// A RUNNING record is taken over: its worker died, or the message came
    /// again. Skipping it on a first delivery would strand the job when a
    /// restarted server has forgotten the delivery count; a second run of a job
    /// that was still running only costs compute, since the outcome is written once.
    async fn start(
        &self,
        envelope: &JobEnvelope,
        attempt: u32,
        quick: bool,
    ) -> Result<Option<(Stored, bool)>, JobsError> {
        let job_id = envelope.job_id.as_str();
        if let Some(job) = envelope.record.as_ref().filter(|job| {
            quick
                && attempt == 1
                && job.job_id == job_id
                && JobState::try_from(job.state) == Ok(JobState::Queued)
        }) {
            return Ok(Some((Stored { job: job.clone(), revision: envelope.record_revision }, true)));
        }
        let stored = match self.records.get(job_id).await? {
            Some(stored) => stored,
            None => Stored { job: unstored_record(envelope), revision: UNSTORED },
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
        match self.write(&job, current.revision).await? {
            Updated::Done(revision) => {
                *current = Stored { job, revision };
                Ok(false)
            }
            Updated::Conflict => {
                let latest = match self.records.get(&job.job_id).await? {
                    Some(latest) => latest,
                    // Expired while queued: the run goes on in a new record.
                    None => match self.records.create(&job).await? {
                        Created::New(revision) => Stored { job, revision },
                        Created::Existing(stored) => *stored,
                    },
                };
                let cancelled = is_terminal(&latest.job);
                *current = latest;
                Ok(cancelled)
            }
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
                    job.progress = Some(record::progress(total, total, tariff_proto::stage::DONE));
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
            match self.write(&job, current.revision).await? {
                Updated::Done(_) => {
                    let state = JobState::try_from(job.state).unwrap_or(JobState::Unspecified);
                    self.count_outcome(&job, state);
                    return Ok(Some(state));
                }
                Updated::Conflict => match self.records.get(&job_id).await? {
                    Some(latest) => {
                        result = job.result.take();
                        current = latest;
                    }
                    // Expired while queued (or removed): the outcome goes into a new record.
                    None => match self.records.create(&job).await? {
                        Created::New(_) => {
                            let state = JobState::try_from(job.state).unwrap_or(JobState::Unspecified);
                            self.count_outcome(&job, state);
                            return Ok(Some(state));
                        }
                        Created::Existing(stored) => {
                            result = job.result.take();
                            current = *stored;
                        }
                    },
                },
            }
        }
    }
}

impl<R: RecordStore, J> Worker<R, J> {
    /// Writes `job` over the version at `revision`, or as the record's first
    /// version at [`UNSTORED`]: a record found there then is a conflict.
    async fn write(&self, job: &Job, revision: u64) -> Result<Updated, JobsError> {
        if revision != UNSTORED {
            return self.records.update(job, revision).await;
        }
        Ok(match self.records.create(job).await? {
            Created::New(revision) => Updated::Done(revision),
            Created::Existing(_) => Updated::Conflict,
        })
    }
}

/// The record a job runs against when none is stored: the one its envelope
/// carries (as the gateway made it), or a new one.
fn unstored_record(envelope: &JobEnvelope) -> Job {
    match &envelope.record {
        Some(job) if job.job_id == envelope.job_id => job.clone(),
        _ => record::queued(&envelope.job_id, ""),
    }
}

/// Marks the job of `envelope` FAILED with `reason` unless it has already
/// ended; a job with no record stored yet gets one, so its caller learns why.
pub async fn give_up<R: RecordStore>(
    records: &R,
    envelope: &JobEnvelope,
    reason: &str,
) -> Result<(), JobsError> {
    let fail = |job: &mut Job| record::fail(job, JobError::new(JobErrorCode::GaveUp, reason, ""));
    let failed = loop {
        match end_unless_ended(records, &envelope.job_id, fail).await? {
            Ending::Ended(job) => break Some(job),
            Ending::AlreadyEnded(_) => break None,
            Ending::Missing => {
                let mut job = unstored_record(envelope);
                fail(&mut job);
                // Created meanwhile: end that one.
                if let Created::New(_) = records.create(&job).await? {
                    break Some(job);
                }
            }
        }
    };
    if let Some(job) = failed {
        JobMetrics::global().failed(JobErrorCode::GaveUp.name(), &job.created_at);
    }
    Ok(())
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
