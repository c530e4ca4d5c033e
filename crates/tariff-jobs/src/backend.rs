//! What the gateway and the worker need of the shared state: a record store,
//! a queue to publish jobs on, and a consumer to pull them from. NATS JetStream
//! and the in-process backend both provide them, so the code above and below
//! the queue is the same in production and in the embedded default.

use std::{future::Future, pin::Pin, time::Duration};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use prost::Message;
use tariff_proto::v1::{Job, JobEnvelope, ScenarioResult};

use crate::JobsError;

/// A record and the revision it was read at, for compare-and-set updates.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub job: Job,
    pub revision: u64,
}

/// The revision of a record not stored yet, whose first write creates it:
/// stored revisions start at 1 (NATS stream sequences, the in-process counter).
/// A job submitted to be waited for without an idempotency key is published
/// at it ([`crate::JobService::run_request`]).
pub const UNSTORED: u64 = 0;

/// What `create` found.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// The record is new, at this revision.
    New(u64),
    /// A record with this id already exists (an idempotent resubmission).
    Existing(Box<Stored>),
}

/// What a compare-and-set update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updated {
    /// Written, at this revision.
    Done(u64),
    /// Someone else wrote the record since it was read.
    Conflict,
}

/// A record's current value, then every change to it.
pub type JobStream = Pin<Box<dyn Stream<Item = Result<Job, JobsError>> + Send>>;

/// A record for a caller that passes its result on as it was stored
/// (RunScenario): the record without its result, and the result's encoding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Encoded {
    pub job: Job,
    pub result: Option<Bytes>,
}

impl Encoded {
    /// A decoded record, its result encoded.
    pub fn of(mut job: Job) -> Encoded {
        let result = job.result.take().map(|result| Bytes::from(result.encode_to_vec()));
        Encoded { job, result }
    }

    /// The whole record, its result decoded.
    pub fn decoded(self) -> Result<Job, JobsError> {
        let Encoded { mut job, result } = self;
        if let Some(bytes) = result {
            job.result = Some(
                ScenarioResult::decode(bytes)
                    .map_err(|e| JobsError::Corrupt { what: "stored result", reason: e.to_string() })?,
            );
        }
        Ok(job)
    }
}

/// [`Encoded`] records: every version stored from the call on.
pub type EncodedStream = Pin<Box<dyn Stream<Item = Result<Encoded, JobsError>> + Send>>;

/// Job records, one per job id.
pub trait RecordStore: Clone + Send + Sync + 'static {
    /// Whether a new job may be accepted now: refused (`Full`) while the store
    /// is too full to keep both it and the jobs already accepted.
    fn admit(&self) -> impl Future<Output = Result<(), JobsError>> + Send {
        std::future::ready(Ok(()))
    }
    /// Stores a new record unless one with the same id exists.
    fn create(&self, job: &Job) -> impl Future<Output = Result<Created, JobsError>> + Send;
    /// The current record.
    fn get(&self, job_id: &str) -> impl Future<Output = Result<Option<Stored>, JobsError>> + Send;
    /// The current record, its result left out when it is stored apart
    /// (large): for readers that need the record's other fields only.
    fn get_without_result(
        &self,
        job_id: &str,
    ) -> impl Future<Output = Result<Option<Stored>, JobsError>> + Send {
        self.get(job_id)
    }
    /// Replaces the record if it is still at `revision`.
    fn update(&self, job: &Job, revision: u64) -> impl Future<Output = Result<Updated, JobsError>> + Send;
    /// Removes a record if it is still at `revision` (used to undo a submission
    /// whose publish failed; a record a worker has touched stays).
    fn delete(&self, job_id: &str, revision: u64) -> impl Future<Output = Result<(), JobsError>> + Send;
    /// The current record (if any), then every later version.
    fn watch(&self, job_id: &str) -> impl Future<Output = Result<JobStream, JobsError>> + Send;
    /// Every version stored from now on, without reading the current one, and
    /// with the result as stored: for a caller about to create the record
    /// (RunScenario), which knows it and saves a read per job, and which
    /// passes the result on without decoding it.
    fn watch_new(&self, job_id: &str) -> impl Future<Output = Result<EncodedStream, JobsError>> + Send {
        async move {
            let stream: EncodedStream = Box::pin(self.watch(job_id).await?.map(|job| job.map(Encoded::of)));
            Ok(stream)
        }
    }
}

/// Where accepted jobs are published.
pub trait JobQueue: Clone + Send + Sync + 'static {
    /// Publishes a job; resolves once the queue has stored it. Publishing the
    /// same job id twice within the dedup window stores it once.
    fn publish(
        &self,
        envelope: &JobEnvelope,
        headers: &[(String, String)],
    ) -> impl Future<Output = Result<(), JobsError>> + Send;
}

/// The results of a job's chunks (encoded by the runner, opaque here), kept
/// until the job's own worker merges them. Writing a chunk twice is harmless:
/// a chunk's result depends on the job and the chunk alone.
pub trait ChunkStore: Clone + Send + Sync + 'static {
    fn put_chunk(
        &self,
        job_id: &str,
        index: u32,
        data: &[u8],
    ) -> impl Future<Output = Result<(), JobsError>> + Send;
    fn get_chunk(
        &self,
        job_id: &str,
        index: u32,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, JobsError>> + Send;
    /// Whether a chunk's result is stored, without reading it.
    fn has_chunk(&self, job_id: &str, index: u32) -> impl Future<Output = Result<bool, JobsError>> + Send;
    /// Removes chunks `0..count` of a job (those absent are skipped).
    fn delete_chunks(&self, job_id: &str, count: u32) -> impl Future<Output = Result<(), JobsError>> + Send;
}

/// One stored version of an uploaded dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDataset {
    pub id: String,
    /// `sha256:` and the hex digest of the dataset's canonical bundle.
    pub digest: String,
    /// Bytes of the bundle.
    pub size: u64,
    /// RFC 3339 time of the upload (the latest upload of an id is its `latest`).
    pub uploaded_at: String,
}

/// Uploaded datasets, stored by id and content digest (the bundles are opaque
/// here), and what the jobs in flight use.
pub trait DatasetStore: Clone + Send + Sync + 'static {
    /// Stores a bundle (again: an upload of the same content makes it the latest).
    fn put_dataset(
        &self,
        id: &str,
        digest: &str,
        bundle: &[u8],
    ) -> impl Future<Output = Result<StoredDataset, JobsError>> + Send;
    /// The bundle of a version, `None` when there is no such version.
    fn get_dataset(
        &self,
        id: &str,
        digest: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, JobsError>> + Send;
    /// Every stored version, by id, then oldest upload first.
    fn list_datasets(&self) -> impl Future<Output = Result<Vec<StoredDataset>, JobsError>> + Send;
    /// Removes a version; whether there was one.
    fn delete_dataset(&self, id: &str, digest: &str) -> impl Future<Output = Result<bool, JobsError>> + Send;
    /// The records of the jobs not yet ended (queued or running).
    fn unfinished_jobs(&self) -> impl Future<Output = Result<Vec<Job>, JobsError>> + Send;
}

/// The message id of an envelope: the job id, or the job id and chunk index
/// for a chunk (the queue stores each once within its dedup window).
pub fn message_id(envelope: &JobEnvelope) -> String {
    match &envelope.chunk {
        Some(chunk) => format!("{}.chunk.{}", envelope.job_id, chunk.index),
        None => envelope.job_id.clone(),
    }
}

/// Pulls jobs for a worker.
pub trait JobConsumer: Send + 'static {
    type Delivery: Delivery;
    /// The next job, waiting for one. `None` when the consumer is closed.
    /// `room` (at least 1) is how many jobs the worker could take now: a
    /// consumer that takes several per pull takes no more than that.
    fn next(&mut self, room: usize)
    -> impl Future<Output = Option<Result<Self::Delivery, JobsError>>> + Send;
    /// Hands back jobs taken but not started, so other workers get them now
    /// (called when the worker stops).
    fn release(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
    /// Every job taken has been settled (the worker stops): acks still
    /// buffered are sent, so that none is redelivered for want of its ack.
    fn settled(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// One delivery of a job to a worker; it stays the worker's until acked,
/// naked, or (on the NATS backend) its ack wait runs out.
pub trait Delivery: Send + Sync + 'static {
    /// The encoded `JobEnvelope`.
    fn payload(&self) -> &[u8];
    /// Message headers (trace context travels here).
    fn headers(&self) -> Vec<(String, String)>;
    /// 1 for the first delivery, 2 for the first redelivery, ...
    fn attempt(&self) -> u32;
    /// Done: never deliver again.
    fn ack(&self) -> impl Future<Output = Result<(), JobsError>> + Send;
    /// Not done: deliver again after `delay`.
    fn nak(&self, delay: Duration) -> impl Future<Output = Result<(), JobsError>> + Send;
    /// Still working: do not redeliver yet.
    fn in_progress(&self) -> impl Future<Output = Result<(), JobsError>> + Send;
    /// Never deliver again, without success (undecodable messages).
    fn term(&self) -> impl Future<Output = Result<(), JobsError>> + Send;
    /// Copies the job to the dead-letter store with the reason it was given up.
    fn dead_letter(&self, job_id: &str, reason: &str) -> impl Future<Output = Result<(), JobsError>> + Send;
}
