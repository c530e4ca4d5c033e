//! Byte limits on every stream, bucket and object store, and admission against
//! them: a new job is refused (RESOURCE_EXHAUSTED, naming the store, its limit
//! and the flag) while the records bucket or the results store is nearly full,
//! so the jobs already accepted keep room to reach their outcome.
//!
//! JetStream refuses a write that would take a store over its `max_bytes`
//! (the limit set here, with the discard-new policy), and it checks the new
//! message before it drops the one it replaces: near the limit even a record
//! update of the same size is refused. Hence the headroom: new jobs stop at
//! [`ADMIT_FRACTION`] of the limit, and the rest is for records growing from
//! QUEUED to their outcome (a result stays in the record only up to
//! `inline_result_limit`; a larger one goes to the results store).

use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_nats::jetstream::stream;

use super::{NatsBackend, NatsConfig, timed};
use crate::JobsError;

/// New jobs are admitted while a store holds less than this share of its limit.
pub const ADMIT_FRACTION: f64 = 0.9;

/// How old a reading of a store's size may be before admission reads it again.
const READING_AGE: Duration = Duration::from_millis(250);

/// The stores of the NATS layout, each with its limit and its flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// The work-queue stream of jobs and chunks.
    Jobs,
    /// The key-value bucket of job records.
    Records,
    /// The object store of large results and sector chunks.
    Results,
    /// The object store of uploaded datasets.
    Datasets,
    /// The dead-letter stream.
    DeadLetters,
}

impl Store {
    /// What an operator reads in the refusal.
    pub fn describe(self) -> &'static str {
        match self {
            Store::Jobs => "job queue",
            Store::Records => "job records bucket",
            Store::Results => "results store",
            Store::Datasets => "datasets store",
            Store::DeadLetters => "dead-letter stream",
        }
    }

    /// The flag (and `TARIFF_*` variable) that sets the limit.
    pub fn flag(self) -> &'static str {
        match self {
            Store::Jobs => "--nats-jobs-max-mb (TARIFF_NATS_JOBS_MAX_MB)",
            Store::Records => "--nats-records-max-mb (TARIFF_NATS_RECORDS_MAX_MB)",
            Store::Results => "--nats-results-max-mb (TARIFF_NATS_RESULTS_MAX_MB)",
            Store::Datasets => "--nats-datasets-max-mb (TARIFF_NATS_DATASETS_MAX_MB)",
            Store::DeadLetters => "--nats-dlq-max-mb (TARIFF_NATS_DLQ_MAX_MB)",
        }
    }

    /// The JetStream stream behind the store.
    pub fn stream_name(self, config: &NatsConfig) -> String {
        match self {
            Store::Jobs => config.stream.clone(),
            Store::Records => format!("KV_{}", config.bucket),
            Store::Results => format!("OBJ_{}", config.results_bucket),
            Store::Datasets => format!("OBJ_{}", config.datasets_bucket),
            Store::DeadLetters => config.dlq_stream.clone(),
        }
    }

    /// The store's limit in bytes; `None`: unlimited.
    pub fn limit(self, config: &NatsConfig) -> Option<u64> {
        let limits = &config.limits;
        match self {
            Store::Jobs => limits.jobs,
            Store::Records => limits.records,
            Store::Results => limits.results,
            Store::Datasets => limits.datasets,
            Store::DeadLetters => limits.dead_letters,
        }
    }

    /// The limit as JetStream's `max_bytes` (-1: none).
    pub fn max_bytes(self, config: &NatsConfig) -> i64 {
        self.limit(config).map_or(-1, |bytes| i64::try_from(bytes).unwrap_or(i64::MAX))
    }

    /// A store at its limit, as callers hear it.
    pub fn full(self, config: &NatsConfig, held: Option<u64>) -> JobsError {
        let limit = self.limit(config).map_or_else(|| "no limit".to_owned(), mib);
        let held = held.map(|bytes| format!("{} of ", mib(bytes))).unwrap_or_default();
        JobsError::Full(format!(
            "the {} is full ({held}its limit of {limit}, set by {}); no new jobs until older ones \
             expire (after {} h) or the limit is raised",
            self.describe(),
            self.flag(),
            config.record_ttl.as_secs() / 3600,
        ))
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The byte limits; `None`: unlimited. The defaults fit the 10 GiB volume of
/// the Kubernetes deployment with room to spare (deploy/README.md, "Storage").
#[derive(Debug, Clone, PartialEq)]
pub struct StoreLimits {
    pub jobs: Option<u64>,
    pub records: Option<u64>,
    pub results: Option<u64>,
    pub datasets: Option<u64>,
    pub dead_letters: Option<u64>,
}

pub const MIB: u64 = 1024 * 1024;

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            jobs: Some(256 * MIB),
            records: Some(1024 * MIB),
            results: Some(3 * 1024 * MIB),
            datasets: Some(3 * 1024 * MIB),
            dead_letters: Some(256 * MIB),
        }
    }
}

/// Whether an error from NATS says a store is at its limit (JetStream's
/// "maximum bytes exceeded", 10077, or "insufficient resources", 10023, when
/// the server or account runs out).
pub(crate) fn says_full(error: &dyn std::fmt::Display) -> bool {
    let text = error.to_string();
    text.contains("maximum bytes exceeded") || text.contains("insufficient resources")
}

impl NatsBackend {
    /// A failed write to `store`: full, or unavailable.
    pub(crate) fn write_error(&self, store: Store, error: impl std::fmt::Display) -> JobsError {
        if says_full(&error) { store.full(&self.config, None) } else { JobsError::unavailable(error) }
    }

    /// Refuses a new job while the records bucket or the results store is past
    /// [`ADMIT_FRACTION`] of its limit. Each job admitted since the last reading
    /// counts as a record with its largest inline result, so a burst between
    /// two readings cannot overshoot.
    pub(crate) async fn admit(&self) -> Result<(), JobsError> {
        for (store, reading) in [(Store::Records, &self.fill.records), (Store::Results, &self.fill.results)] {
            let Some(limit) = store.limit(&self.config) else { continue };
            let held = reading.held(|| self.stream_bytes(store)).await?;
            let reserved = if store == Store::Records {
                reading.admitted.load(Ordering::Relaxed) * self.config.inline_result_limit as u64
            } else {
                0
            };
            if (held + reserved) as f64 >= limit as f64 * ADMIT_FRACTION {
                return Err(store.full(&self.config, Some(held)));
            }
        }
        self.fill.records.admitted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The bytes a store holds now.
    pub async fn stream_bytes(&self, store: Store) -> Result<u64, JobsError> {
        let name = store.stream_name(&self.config);
        timed(self.config.op_timeout, async {
            let mut stream = self.js.get_stream(&name).await.map_err(JobsError::unavailable)?;
            let info = stream.info().await.map_err(JobsError::unavailable)?;
            Ok(info.state.bytes)
        })
        .await
    }
}

/// The last readings of the two stores admission watches.
#[derive(Debug, Default)]
pub(crate) struct Fill {
    records: Reading,
    results: Reading,
}

/// One store's size as last read, and the jobs admitted since.
#[derive(Debug, Default)]
struct Reading {
    last: Mutex<Option<(Instant, u64)>>,
    admitted: AtomicU64,
}

impl Reading {
    /// The size, read again when the reading is older than [`READING_AGE`].
    async fn held<F: std::future::Future<Output = Result<u64, JobsError>>>(
        &self,
        read: impl FnOnce() -> F,
    ) -> Result<u64, JobsError> {
        let fresh = self.last.lock().ok().and_then(|last| *last).filter(|(at, _)| at.elapsed() < READING_AGE);
        if let Some((_, bytes)) = fresh {
            return Ok(bytes);
        }
        let bytes = read().await?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some((Instant::now(), bytes));
        }
        self.admitted.store(0, Ordering::Relaxed);
        Ok(bytes)
    }
}

/// JetStream reserves each store's `max_bytes` up front against the server's
/// `max_file_store` (by default 75% of the free disk) and refuses a store that
/// does not fit (10047): say so, with the sum and the flags, rather than a
/// bare "insufficient storage resources" on every retry.
pub(crate) fn unreserved(config: &NatsConfig, error: JobsError) -> JobsError {
    if !error.to_string().contains("insufficient storage resources") {
        return error;
    }
    let stores = [Store::Jobs, Store::Records, Store::Results, Store::Datasets, Store::DeadLetters];
    let sum: u64 = stores.iter().filter_map(|s| s.limit(config)).sum();
    JobsError::Full(format!(
        "NATS cannot reserve the stores' byte limits ({} in all, replicas {}): its JetStream file \
         storage (max_file_store) is smaller; lower --nats-jobs-max-mb, --nats-records-max-mb, \
         --nats-results-max-mb, --nats-datasets-max-mb, --nats-dlq-max-mb (TARIFF_NATS_*_MAX_MB) \
         or give the server more ({error})",
        mib(sum),
        config.replicas,
    ))
}

/// The dead letters are a log (the oldest go first); every other store
/// refuses what does not fit, since each of their messages is a job's state.
pub(crate) fn discard_policy(store: Store) -> stream::DiscardPolicy {
    if store == Store::DeadLetters { stream::DiscardPolicy::Old } else { stream::DiscardPolicy::New }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jetstream_full_errors_are_recognised() {
        assert!(says_full(&"ack error: publish failed: maximum bytes exceeded (code 503, error code 10077)"));
        assert!(says_full(&"insufficient resources (code 503, error code 10023)"));
        assert!(!says_full(&"timed out: didn't receive ack in time"));
    }

    #[test]
    fn a_full_store_names_its_limit_and_flag() {
        let config = NatsConfig::default();
        let message = Store::Records.full(&config, Some(1000 * MIB)).to_string();
        assert!(message.contains("job records bucket"), "{message}");
        assert!(message.contains("1000.0 MiB of its limit of 1024.0 MiB"), "{message}");
        assert!(message.contains("--nats-records-max-mb"), "{message}");
    }

    #[test]
    fn unlimited_is_minus_one() {
        let config = NatsConfig {
            limits: StoreLimits { results: None, ..StoreLimits::default() },
            ..NatsConfig::default()
        };
        assert_eq!(Store::Results.max_bytes(&config), -1);
        assert_eq!(Store::Records.max_bytes(&config), 1024 * 1024 * 1024);
    }
}
