//! The in-process backend of the embedded default: records in a map, the queue
//! in a channel. One process, no persistence; the same traits as NATS.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use futures::StreamExt;
use tariff_proto::v1::{Job, JobEnvelope};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

use crate::{
    JobsError,
    backend::{
        ChunkStore, Created, DatasetStore, Delivery, JobConsumer, JobQueue, JobStream, RecordStore, Stored,
        StoredDataset, Updated, message_id,
    },
    record,
};

type Queued = (Vec<u8>, Vec<(String, String)>, u32);

/// An uploaded version: its bundle, its record, and its upload's sequence number.
type UploadedDataset = (Arc<Vec<u8>>, StoredDataset, u64);

#[derive(Debug)]
struct Inner {
    records: Mutex<HashMap<String, Stored>>,
    changes: broadcast::Sender<Job>,
    next_revision: Mutex<u64>,
    queue: mpsc::UnboundedSender<Queued>,
    /// Jobs given up: (job id, reason).
    dead_letters: Mutex<Vec<(String, String)>>,
    /// Message ids published, so a re-publish is stored once (as NATS's dedup window does).
    published: Mutex<std::collections::HashSet<String>>,
    /// Chunk results by (job id, chunk index).
    chunks: Mutex<HashMap<(String, u32), Vec<u8>>>,
    /// Uploaded datasets by (id, digest): the bundle, its record and an upload
    /// sequence number (timestamps can tie within a millisecond).
    datasets: Mutex<HashMap<(String, String), UploadedDataset>>,
    receiver: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
}

/// Records, queue and consumer in this process.
#[derive(Debug, Clone)]
pub struct MemoryBackend {
    inner: Arc<Inner>,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        let (changes, _) = broadcast::channel(4096);
        MemoryBackend {
            inner: Arc::new(Inner {
                records: Mutex::new(HashMap::new()),
                changes,
                next_revision: Mutex::new(0),
                queue,
                published: Mutex::new(std::collections::HashSet::new()),
                chunks: Mutex::new(HashMap::new()),
                datasets: Mutex::new(HashMap::new()),
                dead_letters: Mutex::new(Vec::new()),
                receiver: tokio::sync::Mutex::new(receiver),
            }),
        }
    }
}

impl MemoryBackend {
    /// A consumer; several share the one queue, each job going to one of them.
    pub fn consumer(&self) -> MemoryConsumer {
        MemoryConsumer { backend: self.clone() }
    }

    /// The jobs given up so far: (job id, reason).
    pub fn dead_letters(&self) -> Vec<(String, String)> {
        self.inner.dead_letters.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Record versions stored so far (creations and updates), for tests.
    pub fn writes(&self) -> u64 {
        *self.inner.next_revision.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn records(&self) -> MutexGuard<'_, HashMap<String, Stored>> {
        // A poisoned lock only means another thread panicked mid-update of a
        // plain map; the map itself is still consistent.
        self.inner.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) -> u64 {
        let mut r = self.inner.next_revision.lock().unwrap_or_else(|e| e.into_inner());
        *r += 1;
        *r
    }

    fn write(&self, records: &mut HashMap<String, Stored>, job: &Job) -> u64 {
        let revision = self.bump();
        records.insert(job.job_id.clone(), Stored { job: job.clone(), revision });
        // No receivers is fine: nobody is watching.
        let _ = self.inner.changes.send(job.clone());
        revision
    }

    fn enqueue(&self, item: Queued) -> Result<(), JobsError> {
        self.inner.queue.send(item).map_err(|_| JobsError::Unavailable("in-process queue closed".into()))
    }
}

impl RecordStore for MemoryBackend {
    async fn create(&self, job: &Job) -> Result<Created, JobsError> {
        let mut records = self.records();
        if let Some(existing) = records.get(&job.job_id) {
            return Ok(Created::Existing(Box::new(existing.clone())));
        }
        Ok(Created::New(self.write(&mut records, job)))
    }

    async fn get(&self, job_id: &str) -> Result<Option<Stored>, JobsError> {
        Ok(self.records().get(job_id).cloned())
    }

    /// A job split by sector is read for where its flows are: its SUMMARY
    /// (hundreds of megabytes at product level) is not copied for that.
    async fn get_without_result(&self, job_id: &str) -> Result<Option<Stored>, JobsError> {
        Ok(self.records().get(job_id).map(|stored| match stored.job.flow_chunks {
            Some(_) => {
                Stored { job: record::without_result(&stored.job, String::new()), revision: stored.revision }
            }
            None => stored.clone(),
        }))
    }

    async fn update(&self, job: &Job, revision: u64) -> Result<Updated, JobsError> {
        let mut records = self.records();
        match records.get(&job.job_id) {
            Some(current) if current.revision == revision => Ok(Updated::Done(self.write(&mut records, job))),
            _ => Ok(Updated::Conflict),
        }
    }

    async fn delete(&self, job_id: &str, revision: u64) -> Result<(), JobsError> {
        let mut records = self.records();
        if records.get(job_id).is_some_and(|s| s.revision == revision) {
            records.remove(job_id);
        }
        Ok(())
    }

    async fn watch(&self, job_id: &str) -> Result<JobStream, JobsError> {
        // Subscribe before reading, so no change falls between the two.
        let changes = BroadcastStream::new(self.inner.changes.subscribe());
        let current = self.records().get(job_id).map(|s| s.job.clone());
        let this = self.clone();
        let id = job_id.to_owned();
        let later = changes.filter_map(move |change| {
            let (this, id) = (this.clone(), id.clone());
            async move {
                match change {
                    Ok(job) if job.job_id == id => Some(Ok(job)),
                    Ok(_) => None,
                    // Fell behind: the latest record stands in for what was missed.
                    Err(BroadcastStreamRecvError::Lagged(_)) => {
                        this.records().get(&id).map(|s| Ok(s.job.clone()))
                    }
                }
            }
        });
        Ok(Box::pin(futures::stream::iter(current.map(Ok)).chain(later)))
    }
}

impl JobQueue for MemoryBackend {
    async fn publish(&self, envelope: &JobEnvelope, headers: &[(String, String)]) -> Result<(), JobsError> {
        let first =
            self.inner.published.lock().unwrap_or_else(|e| e.into_inner()).insert(message_id(envelope));
        if !first {
            return Ok(());
        }
        self.enqueue((prost::Message::encode_to_vec(envelope), headers.to_vec(), 1))
    }
}

impl MemoryBackend {
    fn chunks(&self) -> MutexGuard<'_, HashMap<(String, u32), Vec<u8>>> {
        self.inner.chunks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ChunkStore for MemoryBackend {
    async fn put_chunk(&self, job_id: &str, index: u32, data: &[u8]) -> Result<(), JobsError> {
        self.chunks().insert((job_id.to_owned(), index), data.to_vec());
        Ok(())
    }

    async fn get_chunk(&self, job_id: &str, index: u32) -> Result<Option<Vec<u8>>, JobsError> {
        Ok(self.chunks().get(&(job_id.to_owned(), index)).cloned())
    }

    async fn has_chunk(&self, job_id: &str, index: u32) -> Result<bool, JobsError> {
        Ok(self.chunks().contains_key(&(job_id.to_owned(), index)))
    }

    async fn delete_chunks(&self, job_id: &str, count: u32) -> Result<(), JobsError> {
        let mut chunks = self.chunks();
        for index in 0..count {
            chunks.remove(&(job_id.to_owned(), index));
        }
        Ok(())
    }
}

/// Pulls from a [`MemoryBackend`]'s queue.
#[derive(Debug)]
pub struct MemoryConsumer {
    backend: MemoryBackend,
}

impl JobConsumer for MemoryConsumer {
    type Delivery = MemoryDelivery;

    async fn next(&mut self, _room: usize) -> Option<Result<MemoryDelivery, JobsError>> {
        let (payload, headers, attempt) = self.backend.inner.receiver.lock().await.recv().await?;
        Some(Ok(MemoryDelivery { payload, headers, attempt, backend: self.backend.clone() }))
    }
}

/// A job taken from the in-process queue.
#[derive(Debug)]
pub struct MemoryDelivery {
    payload: Vec<u8>,
    headers: Vec<(String, String)>,
    attempt: u32,
    backend: MemoryBackend,
}

impl Delivery for MemoryDelivery {
    fn payload(&self) -> &[u8] {
        &self.payload
    }

    fn headers(&self) -> Vec<(String, String)> {
        self.headers.clone()
    }

    fn attempt(&self) -> u32 {
        self.attempt
    }

    async fn ack(&self) -> Result<(), JobsError> {
        Ok(())
    }

    async fn nak(&self, delay: Duration) -> Result<(), JobsError> {
        let backend = self.backend.clone();
        let item = (self.payload.clone(), self.headers.clone(), self.attempt + 1);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = backend.enqueue(item);
        });
        Ok(())
    }

    async fn in_progress(&self) -> Result<(), JobsError> {
        Ok(())
    }

    async fn term(&self) -> Result<(), JobsError> {
        Ok(())
    }

    async fn dead_letter(&self, job_id: &str, reason: &str) -> Result<(), JobsError> {
        let mut letters = self.backend.inner.dead_letters.lock().unwrap_or_else(|e| e.into_inner());
        if !letters.iter().any(|(id, _)| id == job_id) {
            letters.push((job_id.to_owned(), reason.to_owned()));
        }
        Ok(())
    }
}

impl DatasetStore for MemoryBackend {
    async fn put_dataset(&self, id: &str, digest: &str, bundle: &[u8]) -> Result<StoredDataset, JobsError> {
        let stored = StoredDataset {
            id: id.to_owned(),
            digest: digest.to_owned(),
            size: bundle.len() as u64,
            uploaded_at: crate::record::now_rfc3339(),
        };
        let sequence = self.bump();
        let mut datasets = self.inner.datasets.lock().unwrap_or_else(|e| e.into_inner());
        datasets.insert(
            (id.to_owned(), digest.to_owned()),
            (Arc::new(bundle.to_vec()), stored.clone(), sequence),
        );
        Ok(stored)
    }

    async fn get_dataset(&self, id: &str, digest: &str) -> Result<Option<Vec<u8>>, JobsError> {
        let datasets = self.inner.datasets.lock().unwrap_or_else(|e| e.into_inner());
        Ok(datasets.get(&(id.to_owned(), digest.to_owned())).map(|(bytes, _, _)| bytes.to_vec()))
    }

    async fn list_datasets(&self) -> Result<Vec<StoredDataset>, JobsError> {
        let datasets = self.inner.datasets.lock().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<(StoredDataset, u64)> =
            datasets.values().map(|(_, s, seq)| (s.clone(), *seq)).collect();
        all.sort_by(|a, b| (&a.0.id, a.1).cmp(&(&b.0.id, b.1)));
        Ok(all.into_iter().map(|(s, _)| s).collect())
    }

    async fn delete_dataset(&self, id: &str, digest: &str) -> Result<bool, JobsError> {
        let mut datasets = self.inner.datasets.lock().unwrap_or_else(|e| e.into_inner());
        Ok(datasets.remove(&(id.to_owned(), digest.to_owned())).is_some())
    }

    async fn unfinished_jobs(&self) -> Result<Vec<Job>, JobsError> {
        Ok(self
            .records()
            .values()
            .filter(|s| !crate::record::is_terminal(&s.job))
            .map(|s| s.job.clone())
            .collect())
    }
}
