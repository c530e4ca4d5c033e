//! Names and limits of the NATS layout (design.md); every one configurable.

use std::time::Duration;

/// Where and how jobs live in NATS JetStream.
#[derive(Debug, Clone, PartialEq)]
pub struct NatsConfig {
    /// Server URL(s), comma-separated.
    pub url: String,
    /// Work-queue stream of jobs.
    pub stream: String,
    /// Subjects of the job stream are `<subject_prefix>.>`; jobs go to
    /// `<subject_prefix>.run`, chunks of jobs to `<subject_prefix>.chunk`.
    pub subject_prefix: String,
    /// The shared durable pull consumer.
    pub consumer: String,
    /// Key-value bucket of job records.
    pub bucket: String,
    /// The bucket republishes every stored record to `<updates_subject_prefix>.<job id>`,
    /// which is what watchers subscribe to (no consumer per watcher).
    pub updates_subject_prefix: String,
    /// How long a watcher waits for a republished update before it reads the
    /// record again (republished messages are at-most-once).
    pub watch_recheck: Duration,
    /// Object store for results too large for a record.
    pub results_bucket: String,
    /// Object store of uploaded datasets, one object per version (`<id>/<digest>`),
    /// kept until deleted.
    pub datasets_bucket: String,
    /// Dead-letter stream, subjects `<dlq_subject_prefix>.>`.
    pub dlq_stream: String,
    pub dlq_subject_prefix: String,
    /// Stream, bucket and object store replicas (1 locally, 3 in a cluster).
    pub replicas: usize,
    /// Window in which a re-published job id is stored once.
    pub duplicate_window: Duration,
    /// How long a delivery stays with a worker without an ack or in-progress signal.
    pub ack_wait: Duration,
    /// Deliveries before a job is given up.
    pub max_deliver: i64,
    /// The ack wait of each successive delivery (JetStream's backoff: how long a
    /// dead worker holds a job before it is redelivered); each at least `ack_wait`.
    pub backoff: Vec<Duration>,
    /// Unacked deliveries the consumer hands out at once, over all workers.
    pub max_ack_pending: i64,
    /// How long job records (and large results) are kept.
    pub record_ttl: Duration,
    /// The longest one NATS operation may take before the caller hears `Unavailable`.
    pub op_timeout: Duration,
    /// Encoded records above this size keep their result in the object store.
    pub inline_result_limit: usize,
    /// Byte limits of the stores.
    pub limits: super::StoreLimits,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: "nats://127.0.0.1:4222".into(),
            stream: "TARIFF_JOBS".into(),
            subject_prefix: "tariff.jobs".into(),
            consumer: "tariff-worker".into(),
            bucket: "TARIFF_JOBS_STATE".into(),
            updates_subject_prefix: "tariff.updates".into(),
            watch_recheck: Duration::from_secs(2),
            results_bucket: "TARIFF_RESULTS".into(),
            datasets_bucket: "TARIFF_DATASETS".into(),
            dlq_stream: "TARIFF_DLQ".into(),
            dlq_subject_prefix: "tariff.dlq".into(),
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            backoff: vec![Duration::from_secs(30), Duration::from_secs(60), Duration::from_secs(120)],
            max_ack_pending: 1024,
            record_ttl: Duration::from_secs(24 * 3600),
            op_timeout: Duration::from_secs(3),
            inline_result_limit: 256 * 1024,
            limits: super::StoreLimits::default(),
        }
    }
}

impl NatsConfig {
    /// The same layout with every name prefixed, so tests sharing a server do
    /// not see each other's jobs.
    pub fn namespaced(mut self, prefix: &str) -> NatsConfig {
        let upper = prefix.to_ascii_uppercase().replace(['-', '.'], "_");
        let lower = prefix.to_ascii_lowercase().replace('.', "-");
        self.stream = format!("{upper}_{}", self.stream);
        self.bucket = format!("{upper}_{}", self.bucket);
        self.results_bucket = format!("{upper}_{}", self.results_bucket);
        self.datasets_bucket = format!("{upper}_{}", self.datasets_bucket);
        self.dlq_stream = format!("{upper}_{}", self.dlq_stream);
        self.consumer = format!("{lower}-{}", self.consumer);
        self.subject_prefix = format!("{lower}.{}", self.subject_prefix);
        self.updates_subject_prefix = format!("{lower}.{}", self.updates_subject_prefix);
        self.dlq_subject_prefix = format!("{lower}.{}", self.dlq_subject_prefix);
        self
    }

    /// The subject a job's stored records are republished on.
    pub fn update_subject(&self, job_id: &str) -> String {
        format!("{}.{job_id}", self.updates_subject_prefix)
    }

    /// The subject jobs are published on.
    pub fn job_subject(&self) -> String {
        format!("{}.run", self.subject_prefix)
    }

    /// The subject chunks of a job are published on (by the job's worker, which
    /// may not publish jobs).
    pub fn chunk_subject(&self) -> String {
        format!("{}.chunk", self.subject_prefix)
    }
}
