//! Job records in the key-value bucket; results too large for a record go to
//! the object store and are put back in place on every read.

use async_nats::jetstream::kv::{CreateErrorKind, Operation, UpdateErrorKind};
use bytes::Bytes;
use futures::StreamExt;
use prost::Message;
use tariff_proto::{
    passthrough,
    v1::{Job, ScenarioResult},
};
use tokio::io::AsyncReadExt;

use super::{NatsBackend, Store, timed};
use crate::{
    JobsError,
    backend::{Created, Encoded, EncodedStream, JobStream, RecordStore, Stored, Updated},
    record,
};

fn decode(bytes: &[u8]) -> Result<Job, JobsError> {
    Job::decode(bytes).map_err(|e| JobsError::Corrupt { what: "job record", reason: e.to_string() })
}

impl NatsBackend {
    /// The record as stored: the result moved to the object store when large.
    async fn encode_for_store(&self, job: &Job) -> Result<Bytes, JobsError> {
        // Sized before anything is encoded, and the record copied without its
        // result: a product-level result is hundreds of megabytes.
        // The size, once: `encode_to_vec` would walk the nested result again for it.
        let size = job.encoded_len();
        let Some(result) = job.result.as_ref().filter(|_| size > self.config.inline_result_limit) else {
            let mut encoded = Vec::with_capacity(size);
            job.encode_raw(&mut encoded);
            return Ok(Bytes::from(encoded));
        };
        let encoded = result.encode_to_vec();
        let name = format!("{}.result", job.job_id);
        timed(self.config.op_timeout * 4, async {
            self.objects
                .put(name.as_str(), &mut encoded.as_slice())
                .await
                .map_err(|e| self.write_error(Store::Results, e))
        })
        .await?;
        drop(encoded);
        Ok(Bytes::from(record::without_result(job, name).encode_to_vec()))
    }

    /// A result kept in the object store, as stored.
    async fn object_bytes(&self, name: &str) -> Result<Vec<u8>, JobsError> {
        timed(self.config.op_timeout * 4, async {
            let mut object = self.objects.get(name).await.map_err(JobsError::unavailable)?;
            let mut bytes = Vec::new();
            object.read_to_end(&mut bytes).await.map_err(JobsError::unavailable)?;
            Ok(bytes)
        })
        .await
    }

    /// A stored record split into the rest and its result's bytes, read
    /// from the object store when kept apart; neither is decoded.
    async fn encoded(&self, payload: &Bytes) -> Result<Encoded, JobsError> {
        let corrupt = |reason: String| JobsError::Corrupt { what: "job record", reason };
        let (rest, result) =
            passthrough::take_field(payload, JOB_RESULT_FIELD).map_err(|e| corrupt(e.to_string()))?;
        let mut job = decode(&rest)?;
        if job.result_object.is_empty() {
            return Ok(Encoded { job, result });
        }
        let bytes = self.object_bytes(&job.result_object).await?;
        job.result_object.clear();
        Ok(Encoded { job, result: Some(Bytes::from(bytes)) })
    }

    /// A stored record with its result back in place.
    async fn inline_result(&self, mut job: Job) -> Result<Job, JobsError> {
        if job.result_object.is_empty() {
            return Ok(job);
        }
        let bytes = self.object_bytes(&job.result_object).await?;
        job.result = Some(
            ScenarioResult::decode(bytes.as_slice())
                .map_err(|e| JobsError::Corrupt { what: "stored result", reason: e.to_string() })?,
        );
        job.result_object.clear();
        Ok(job)
    }
}

impl RecordStore for NatsBackend {
    async fn admit(&self) -> Result<(), JobsError> {
        NatsBackend::admit(self).await
    }

    async fn create(&self, job: &Job) -> Result<Created, JobsError> {
        self.ready()?;
        let value = self.encode_for_store(job).await?;
        let outcome =
            timed(self.config.op_timeout, async { Ok(self.kv.create(&job.job_id, value).await) }).await?;
        match outcome {
            Ok(revision) => Ok(Created::New(revision)),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => match self.get(&job.job_id).await? {
                Some(existing) => Ok(Created::Existing(Box::new(existing))),
                // Deleted between the two calls: report it as a conflict to retry.
                None => Err(JobsError::Store(format!("record {} vanished while being created", job.job_id))),
            },
            Err(e) => Err(self.write_error(Store::Records, e)),
        }
    }

    async fn get(&self, job_id: &str) -> Result<Option<Stored>, JobsError> {
        match self.get_without_result(job_id).await? {
            Some(Stored { job, revision }) => {
                Ok(Some(Stored { job: self.inline_result(job).await?, revision }))
            }
            None => Ok(None),
        }
    }

    async fn get_without_result(&self, job_id: &str) -> Result<Option<Stored>, JobsError> {
        self.ready()?;
        let entry = timed(self.config.op_timeout, async {
            self.kv.entry(job_id).await.map_err(JobsError::unavailable)
        })
        .await?;
        match entry {
            Some(entry) if entry.operation == Operation::Put => {
                Ok(Some(Stored { job: decode(&entry.value)?, revision: entry.revision }))
            }
            _ => Ok(None),
        }
    }

    async fn update(&self, job: &Job, revision: u64) -> Result<Updated, JobsError> {
        self.ready()?;
        let value = self.encode_for_store(job).await?;
        let outcome =
            timed(self.config.op_timeout, async { Ok(self.kv.update(&job.job_id, value, revision).await) })
                .await?;
        match outcome {
            Ok(revision) => Ok(Updated::Done(revision)),
            Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(Updated::Conflict),
            Err(e) => Err(self.write_error(Store::Records, e)),
        }
    }

    async fn delete(&self, job_id: &str, revision: u64) -> Result<(), JobsError> {
        self.ready()?;
        timed(self.config.op_timeout, async {
            self.kv.purge_expect_revision(job_id, Some(revision)).await.map_err(JobsError::unavailable)
        })
        .await
    }

    async fn watch(&self, job_id: &str) -> Result<JobStream, JobsError> {
        self.ready()?;
        // Subscribed before the first read, so no version stored in between is missed.
        let updates = timed(self.config.op_timeout, async {
            self.client.subscribe(self.config.update_subject(job_id)).await.map_err(JobsError::unavailable)
        })
        .await?;
        let current = self.get(job_id).await?;
        Ok(Watch::stream(self.clone(), job_id, current, updates))
    }

    async fn watch_new(&self, job_id: &str) -> Result<EncodedStream, JobsError> {
        self.ready()?;
        let updates = timed(self.config.op_timeout, async {
            self.client.subscribe(self.config.update_subject(job_id)).await.map_err(JobsError::unavailable)
        })
        .await?;
        let backend = self.clone();
        Ok(Box::pin(Watch::new(self.clone(), job_id, None, updates).versions().then(move |version| {
            let backend = backend.clone();
            async move {
                match version? {
                    Version::Stored(payload) => backend.encoded(&payload).await,
                    Version::Read(job) => Ok(Encoded::of(*job)),
                }
            }
        })))
    }
}

/// Follows one record through the bucket's republished versions. Each carries
/// its stream sequence (the record's revision), so versions already seen and
/// copies that arrive late are skipped; a read of the record after a quiet
/// `watch_recheck` covers a republished message lost to a reconnect.
struct Watch {
    backend: NatsBackend,
    job_id: String,
    revision: u64,
    first: Option<Job>,
    updates: async_nats::Subscriber,
}

/// One version of a record: as republished (encoded), or as read.
enum Version {
    Stored(Bytes),
    Read(Box<Job>),
}

/// `Job.result`'s field number.
const JOB_RESULT_FIELD: u32 = 4;

impl Watch {
    fn new(
        backend: NatsBackend,
        job_id: &str,
        current: Option<Stored>,
        updates: async_nats::Subscriber,
    ) -> Watch {
        Watch {
            backend,
            job_id: job_id.to_owned(),
            revision: current.as_ref().map_or(0, |stored| stored.revision),
            first: current.map(|stored| stored.job),
            updates,
        }
    }

    /// The versions after `current` (the record as read, or none yet), decoded.
    fn stream(
        backend: NatsBackend,
        job_id: &str,
        current: Option<Stored>,
        updates: async_nats::Subscriber,
    ) -> JobStream {
        let reader = backend.clone();
        Box::pin(Watch::new(backend, job_id, current, updates).versions().then(move |version| {
            let reader = reader.clone();
            async move {
                match version? {
                    Version::Stored(payload) => reader.inline_result(decode(&payload)?).await,
                    Version::Read(job) => Ok(*job),
                }
            }
        }))
    }

    /// Every version, as `next` finds them.
    fn versions(self) -> impl futures::Stream<Item = Result<Version, JobsError>> + Send {
        futures::stream::unfold(self, |mut watch| async move {
            let version = watch.next().await?;
            Some((version, watch))
        })
    }

    async fn next(&mut self) -> Option<Result<Version, JobsError>> {
        if let Some(job) = self.first.take() {
            return Some(Ok(Version::Read(Box::new(job))));
        }
        let recheck = self.backend.config.watch_recheck;
        loop {
            match tokio::time::timeout(recheck, self.updates.next()).await {
                Ok(Some(message)) => {
                    let Some(revision) =
                        header(&message, "Nats-Sequence").and_then(|s| s.parse::<u64>().ok())
                    else {
                        continue;
                    };
                    if revision <= self.revision {
                        continue;
                    }
                    self.revision = revision;
                    // Deletes and purges (a submission undone) are not versions.
                    if header(&message, "KV-Operation").is_some() {
                        continue;
                    }
                    return Some(Ok(Version::Stored(message.payload)));
                }
                // The client is gone for good.
                Ok(None) => return None,
                Err(_quiet) => match self.backend.get(&self.job_id).await {
                    Ok(Some(stored)) if stored.revision > self.revision => {
                        self.revision = stored.revision;
                        return Some(Ok(Version::Read(Box::new(stored.job))));
                    }
                    Ok(_) => {}
                    Err(e) => return Some(Err(e)),
                },
            }
        }
    }
}

fn header<'m>(message: &'m async_nats::Message, name: &str) -> Option<&'m str> {
    message.headers.as_ref()?.get(name).map(|value| value.as_str())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_result_field_is_the_records_result() {
        let result = ScenarioResult { scenario_id: "s".into(), ..ScenarioResult::default() };
        let job = Job { job_id: "j".into(), result: Some(result.clone()), ..Job::default() };
        let (rest, taken) =
            passthrough::take_field(&Bytes::from(job.encode_to_vec()), JOB_RESULT_FIELD).unwrap();
        assert_eq!(ScenarioResult::decode(taken.unwrap()).unwrap(), result);
        assert_eq!(decode(&rest).unwrap(), Job { result: None, ..job });
    }
}
