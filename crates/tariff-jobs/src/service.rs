//! The gateway's side: accept a job, read it, follow it, cancel it.

use std::time::Duration;

use futures::StreamExt;
use tariff_proto::v1::{Job, JobEnvelope, JobState, ResultOptions, Scenario};
use tracing::Instrument;

use crate::{
    JobsError,
    backend::{Created, Encoded, JobQueue, JobStream, RecordStore, UNSTORED},
    ending::{Ending, end_unless_ended},
    record::{self, is_terminal},
    telemetry::{self, JobMetrics},
};

/// What a caller submits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Submission {
    pub scenario: Scenario,
    /// Empty: a new job each time.
    pub idempotency_key: String,
    /// The view readers apply when they name none.
    pub view: Option<ResultOptions>,
    /// Whether the worker computes and keeps only `view`'s figures (RunScenario,
    /// which answers in the call: a SUMMARY record is a few KB instead of a
    /// hundred) instead of every figure (any view can be asked for later).
    pub keep_view_only: bool,
    /// What identifies the request for its key ([`record::request_digest`] of
    /// the request as the caller sent it, before the gateway pinned its
    /// dataset); empty: the digest of `scenario` and `view`.
    pub request_digest: String,
}

/// A submission's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub job: Job,
    /// An earlier submission with the same idempotency key was found.
    pub deduplicated: bool,
}

/// Job operations over any record store and queue. Holds no state of its own,
/// so any number of gateway replicas answer for any job.
#[derive(Debug, Clone)]
pub struct JobService<R, Q> {
    records: R,
    queue: Q,
    metrics: JobMetrics,
}

impl<R: RecordStore, Q: JobQueue> JobService<R, Q> {
    /// A job service; its metrics go to the global meter provider installed
    /// before this call (none: not recorded).
    /// The record store (which also holds uploaded datasets on both backends).
    pub fn records(&self) -> &R {
        &self.records
    }

    pub fn new(records: R, queue: Q) -> Self {
        let metrics = JobMetrics::global();
        metrics.announce_gateway();
        JobService { records, queue, metrics }
    }

    /// Records the job as QUEUED, then publishes it. If the publish fails the
    /// record is removed again, so nothing half-done stays behind. The same
    /// idempotency key always names the same job.
    ///
    /// `headers` go with the message; the trace context of the `publish` span
    /// (a child of the caller's current span) replaces any `traceparent` and
    /// `tracestate` among them, so the worker's spans continue this trace.
    pub async fn submit(
        &self,
        scenario: Scenario,
        idempotency_key: &str,
        headers: &[(String, String)],
    ) -> Result<Submitted, JobsError> {
        let submission =
            Submission { scenario, idempotency_key: idempotency_key.to_owned(), ..Submission::default() };
        self.submit_request(submission, headers).await
    }

    /// [`JobService::submit`] of a whole submission. A key already used with
    /// another request (by its digest) is refused with [`JobsError::KeyReused`].
    pub async fn submit_request(
        &self,
        submission: Submission,
        headers: &[(String, String)],
    ) -> Result<Submitted, JobsError> {
        let job_id = record::job_id_for(&submission.idempotency_key);
        self.submit_as(submission, job_id, headers, Recorded::Now).await
    }

    /// [`JobService::submit_request`] under the id the key gives (`job_id`),
    /// its record created now or left to its worker (`recorded`).
    async fn submit_as(
        &self,
        submission: Submission,
        job_id: String,
        headers: &[(String, String)],
        recorded: Recorded,
    ) -> Result<Submitted, JobsError> {
        let Submission { scenario, idempotency_key, view, request_digest, keep_view_only } = submission;
        let mut job = record::queued(&job_id, &idempotency_key);
        job.request_digest = if request_digest.is_empty() {
            record::request_digest(Some(&scenario), view.as_ref())
        } else {
            request_digest
        };
        job.view = view;
        // The submitting call's trace is the job's: logs elsewhere (a cancel)
        // name it beside their own.
        job.trace_id = telemetry::trace_id_of(&tracing::Span::current()).unwrap_or_default();
        // What the job runs on, pinned (the gateway names uploaded versions `id@digest`).
        job.dataset.clone_from(&scenario.dataset);
        let mut envelope = JobEnvelope {
            job_id: job_id.clone(),
            scenario: Some(scenario),
            // Set by `publish`, where the queue wait starts.
            submitted_at: String::new(),
            chunk: None,
            computed_view: if keep_view_only { job.view.clone() } else { None },
            // Set once the record is created.
            record: None,
            record_revision: 0,
        };
        // A full store refuses new jobs, not the retry of one it holds.
        let created = match self.records.admit().await {
            Ok(()) => None,
            Err(full) => match self.records.get_without_result(&job_id).await? {
                Some(existing) => Some(Created::Existing(Box::new(existing))),
                None => return Err(full),
            },
        };
        let created = match created {
            Some(existing) => existing,
            None if recorded == Recorded::ByWorker => Created::New(UNSTORED),
            None => {
                self.records
                    .create(&job)
                    .instrument(tracing::debug_span!("create_record", job_id = %job_id))
                    .await?
            }
        };
        match created {
            Created::New(revision) => {
                envelope.record = Some(job.clone());
                envelope.record_revision = revision;
                if let Err(e) = self.publish(&mut envelope, headers).await {
                    // Only the untouched record: a publish whose ack was lost may
                    // still have reached a worker, and its record must stay.
                    let undo = if revision == UNSTORED {
                        Ok(())
                    } else {
                        self.records.delete(&job_id, revision).await
                    };
                    if let Err(undo) = undo {
                        tracing::warn!(job_id, error = %undo, "could not remove the record of an unpublished job");
                    }
                    return Err(e);
                }
                self.metrics.submitted.add(1, &[]);
                Ok(Submitted { job, deduplicated: false })
            }
            Created::Existing(existing) => {
                // Records from before digests were kept have none: taken as the same request.
                let first = &existing.job.request_digest;
                if !first.is_empty() && *first != job.request_digest {
                    return Err(JobsError::KeyReused { key: idempotency_key, job_id });
                }
                // A record still QUEUED may be one whose publish never landed:
                // publishing again is safe, the queue and the worker deduplicate.
                if JobState::try_from(existing.job.state) == Ok(JobState::Queued) {
                    envelope.record = Some(existing.job.clone());
                    envelope.record_revision = existing.revision;
                    self.publish(&mut envelope, headers).await?;
                }
                self.metrics.deduplicated.add(1, &[]);
                Ok(Submitted { job: existing.job, deduplicated: true })
            }
        }
    }

    /// Publishes in a `publish` span whose trace context goes in the headers.
    /// The queue wait counts from here: the worker's `queue_wait` span, a
    /// child of this one, must not start before it.
    async fn publish(
        &self,
        envelope: &mut JobEnvelope,
        headers: &[(String, String)],
    ) -> Result<(), JobsError> {
        let span = tracing::debug_span!(
            "publish",
            otel.kind = "producer",
            job_id = %envelope.job_id,
            messaging.system = "nats",
        );
        envelope.submitted_at = record::after_now_rfc3339();
        let headers = telemetry::inject(&span, headers);
        self.queue.publish(envelope, &headers).instrument(span).await
    }

    /// The job's record.
    pub async fn get(&self, job_id: &str) -> Result<Job, JobsError> {
        self.records.get(job_id).await?.map(|s| s.job).ok_or_else(|| JobsError::NotFound(job_id.to_owned()))
    }

    /// The job's record without its result when that is stored apart.
    pub async fn get_without_result(&self, job_id: &str) -> Result<Job, JobsError> {
        let stored = self.records.get_without_result(job_id).await?;
        stored.map(|s| s.job).ok_or_else(|| JobsError::NotFound(job_id.to_owned()))
    }

    /// The job's record now and at every change, ending after a final state.
    pub async fn watch(&self, job_id: &str) -> Result<JobStream, JobsError> {
        self.get(job_id).await?;
        self.follow(job_id).await
    }

    /// `watch` of a job known to exist.
    async fn follow(&self, job_id: &str) -> Result<JobStream, JobsError> {
        Ok(until_done(self.records.watch(job_id).await?))
    }

    /// Marks a job CANCELLED unless it has already ended; a queued job then never
    /// runs and a running one stops at its next progress step.
    pub async fn cancel(&self, job_id: &str) -> Result<Job, JobsError> {
        let cancel = |job: &mut Job| record::set_state(job, JobState::Cancelled);
        match end_unless_ended(&self.records, job_id, cancel).await? {
            Ending::Ended(job) => {
                self.metrics.cancelled.add(1, &[]);
                Ok(job)
            }
            Ending::AlreadyEnded(job) => Ok(job),
            Ending::Missing => Err(JobsError::NotFound(job_id.to_owned())),
        }
    }

    /// Submits and waits until the job ends or `deadline` passes; the record as
    /// it stands then (not final when the deadline passed first).
    pub async fn run(
        &self,
        scenario: Scenario,
        idempotency_key: &str,
        headers: &[(String, String)],
        deadline: Duration,
    ) -> Result<Job, JobsError> {
        let submission =
            Submission { scenario, idempotency_key: idempotency_key.to_owned(), ..Submission::default() };
        self.run_request(submission, headers, deadline).await?.decoded()
    }

    /// [`JobService::run`] of a whole submission, the result as stored
    /// (encoded), to be passed on without decoding it.
    ///
    /// Without an idempotency key nobody can name the job before this call
    /// answers, so its record is left to its worker, whose first write (a
    /// progress report, or the outcome of a short job) creates it: the QUEUED
    /// record would be a store write, an ack and a republished copy per job
    /// that nobody reads. The job's message carries that record. If
    /// the deadline passes first, the record is created then, so that the job
    /// the answer names can be followed with `GetJob` and `WatchJob`.
    pub async fn run_request(
        &self,
        submission: Submission,
        headers: &[(String, String)],
        deadline: Duration,
    ) -> Result<Encoded, JobsError> {
        let recorded = if submission.idempotency_key.is_empty() { Recorded::ByWorker } else { Recorded::Now };
        // Following from before the record exists: nothing it stores can be
        // missed, and the record just created need not be read back.
        let job_id = record::job_id_for(&submission.idempotency_key);
        let mut updates = self.records.watch_new(&job_id).await?;
        let submitted = self.submit_as(submission, job_id, headers, recorded).await?;
        // Whether `last` is stored: a deduplicated submission's record is.
        let mut stored = recorded == Recorded::Now || submitted.deduplicated;
        let mut last = Encoded::of(submitted.job);
        if is_terminal(&last.job) {
            return Ok(last);
        }
        let wait = async {
            while let Some(update) = updates.next().await {
                last = update?;
                stored = true;
                if is_terminal(&last.job) {
                    break;
                }
            }
            Ok::<(), JobsError>(())
        };
        match tokio::time::timeout(deadline, wait).await {
            Ok(outcome) => outcome?,
            Err(_elapsed) => {}
        }
        if stored {
            return Ok(last);
        }
        // The worker may have written it meanwhile: then that version is the answer.
        match self.records.create(&last.job).await? {
            Created::New(_) => Ok(last),
            Created::Existing(existing) => Ok(Encoded::of(existing.job)),
        }
    }
}

/// When a submitted job's record is first stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorded {
    /// Before the job is published.
    Now,
    /// By its worker's first write: the job is published at [`UNSTORED`].
    ByWorker,
}

/// `updates` up to the final record: the store's watch itself never ends.
fn until_done(updates: JobStream) -> JobStream {
    Box::pin(futures::stream::unfold(Some(updates), |state| async move {
        let mut updates = state?;
        let item = updates.next().await?;
        let finished = matches!(&item, Ok(job) if is_terminal(job));
        Some((item, (!finished).then_some(updates)))
    }))
}
