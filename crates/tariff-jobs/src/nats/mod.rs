//! The production backend: NATS JetStream (a work-queue stream, a durable pull
//! consumer, a key-value bucket of records, an object store for large results).

mod args;
mod backlog;
mod chunks;
mod config;
mod consumer;
mod datasets;
mod limits;
mod reaper;
mod records;
mod settings;

use std::{future::Future, sync::Arc, time::Duration};

use async_nats::{
    Client, ConnectOptions,
    connection::State,
    jetstream::{self, consumer::pull, kv, object_store, stream},
};
use tariff_proto::v1::JobEnvelope;

pub use args::NatsArgs;
pub use backlog::Backlog;
pub use config::NatsConfig;
pub use consumer::{NatsConsumer, NatsDelivery};
pub use limits::{ADMIT_FRACTION, MIB, Store, StoreLimits};

use crate::{
    JobsError,
    backend::{JobQueue, message_id},
};

/// A connection to NATS with the job layout in place. Cheap to clone: the
/// bucket and stores are shared, since each holds its stream's whole info
/// (configuration, subjects, metadata), and copying three of those was a
/// tenth of the gateway's CPU under load (every call clones the backend).
#[derive(Clone)]
pub struct NatsBackend {
    client: Client,
    js: jetstream::Context,
    kv: Arc<kv::Store>,
    objects: Arc<object_store::ObjectStore>,
    datasets: Arc<object_store::ObjectStore>,
    config: Arc<NatsConfig>,
    /// What admission last read of the stores' sizes.
    fill: Arc<limits::Fill>,
}

impl std::fmt::Debug for NatsBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsBackend").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Credentials and TLS for the NATS connection.
#[derive(Clone, Default)]
pub struct NatsAuth {
    pub user_password: Option<(String, String)>,
    pub token: Option<String>,
    pub creds_file: Option<std::path::PathBuf>,
    /// Require TLS (implied by any of the TLS files).
    pub tls: bool,
    /// CA certificate(s) (PEM) to trust for the server, besides the system roots.
    pub tls_ca: Option<std::path::PathBuf>,
    /// Client certificate and key (PEM), for servers that verify clients.
    pub tls_client: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

// Secrets stay out of Debug output, and so out of logs.
impl std::fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsAuth")
            .field("user", &self.user_password.as_ref().map(|(user, _)| user))
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("creds_file", &self.creds_file)
            .field("tls", &self.tls)
            .field("tls_ca", &self.tls_ca)
            .field("tls_client", &self.tls_client)
            .finish()
    }
}

impl NatsBackend {
    /// Connects and creates (idempotently) the stream, consumer, bucket and
    /// object store. Fails with `Unavailable` when NATS cannot be reached within
    /// the operation timeout; the caller decides whether to retry.
    pub async fn connect(config: NatsConfig, auth: &NatsAuth) -> Result<NatsBackend, JobsError> {
        let mut options = ConnectOptions::new()
            .name("tariff")
            .retry_on_initial_connect()
            .max_reconnects(None::<usize>)
            .connection_timeout(config.op_timeout)
            .request_timeout(Some(config.op_timeout));
        if let Some((user, password)) = &auth.user_password {
            options = options.user_and_password(user.clone(), password.clone());
        }
        if let Some(token) = &auth.token {
            options = options.token(token.clone());
        }
        if let Some(path) = &auth.creds_file {
            options = options
                .credentials_file(path)
                .await
                .map_err(|e| JobsError::Store(format!("NATS credentials file {}: {e}", path.display())))?;
        }
        if auth.tls || auth.tls_ca.is_some() || auth.tls_client.is_some() {
            options = options.require_tls(true);
        }
        if let Some(ca) = &auth.tls_ca {
            options = options.add_root_certificates(ca.clone());
        }
        if let Some((cert, key)) = &auth.tls_client {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        // async-nats reads a single string as one URL: split the documented comma list.
        let urls: Vec<&str> = config.url.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
        let client = options.connect(urls).await.map_err(JobsError::unavailable)?;
        let js = jetstream::ContextBuilder::new().timeout(config.op_timeout).build(client.clone());
        let deadline = config.op_timeout * 3;
        let (kv, objects, datasets) =
            timed(deadline, setup(&js, &config)).await.map_err(|e| limits::unreserved(&config, e))?;
        let config = Arc::new(config);
        Ok(NatsBackend {
            client,
            js,
            kv: Arc::new(kv),
            objects: Arc::new(objects),
            datasets: Arc::new(datasets),
            config,
            fill: Arc::default(),
        })
    }

    /// Connects, retrying with backoff until it succeeds (services at start-up:
    /// NATS may come up after them).
    pub async fn connect_with_retry(config: NatsConfig, auth: &NatsAuth) -> NatsBackend {
        let mut delay = Duration::from_millis(200);
        loop {
            match NatsBackend::connect(config.clone(), auth).await {
                Ok(backend) => return backend,
                // NATS answered, and refused the layout as configured (or the
                // credentials are unusable): an operator has to act, so louder
                // than a server not up yet; still retried, since a cluster
                // being formed refuses replicas until its servers have joined.
                Err(e @ JobsError::Store(_)) => {
                    tracing::error!(error = %e, url = %config.url, retry_in_ms = delay.as_millis() as u64, "not starting: NATS refused the configuration");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::warn!(error = %e, url = %config.url, retry_in_ms = delay.as_millis() as u64, "NATS not ready");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Whether the client holds a connection now.
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    /// The configuration in force.
    pub fn config(&self) -> &NatsConfig {
        &self.config
    }

    /// The durable pull consumer, for a worker. `batch` bounds how many
    /// messages one pull asks for (the worker's room for them bounds it too).
    pub async fn consumer(&self, batch: usize) -> Result<NatsConsumer, JobsError> {
        self.ready()?;
        let stream = timed(self.config.op_timeout, async {
            self.js.get_stream(&self.config.stream).await.map_err(JobsError::unavailable)
        })
        .await?;
        let consumer: jetstream::consumer::Consumer<pull::Config> = timed(self.config.op_timeout, async {
            stream.get_consumer(&self.config.consumer).await.map_err(JobsError::unavailable)
        })
        .await?;
        Ok(NatsConsumer::new(self.clone(), consumer, batch, self.config.clone()))
    }

    /// The JetStream context, for tools and tests that inspect the streams.
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// Copies a job that failed every delivery to the dead-letter stream.
    pub async fn dead_letter(
        &self,
        job_id: &str,
        payload: bytes::Bytes,
        reason: &str,
    ) -> Result<(), JobsError> {
        self.ready()?;
        let mut headers = async_nats::HeaderMap::new();
        // One dead letter per job, however many workers give it up.
        headers.insert(async_nats::header::NATS_MESSAGE_ID, format!("dead-{job_id}").as_str());
        headers.insert("Tariff-Job-Id", job_id);
        headers.insert("Tariff-Failure", reason);
        let subject = format!("{}.{job_id}", self.config.dlq_subject_prefix);
        let ack = timed(self.config.op_timeout, async {
            self.js.publish_with_headers(subject, headers, payload).await.map_err(JobsError::unavailable)
        })
        .await?;
        timed(self.config.op_timeout, async { ack.await.map_err(JobsError::unavailable) }).await?;
        Ok(())
    }

    fn ready(&self) -> Result<(), JobsError> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(JobsError::Unavailable(format!("not connected to NATS at {}", self.config.url)))
        }
    }
}

/// Runs a NATS operation with a deadline, so a caller never hangs on an outage.
pub(crate) async fn timed<T>(
    limit: Duration,
    op: impl Future<Output = Result<T, JobsError>>,
) -> Result<T, JobsError> {
    tokio::time::timeout(limit, op)
        .await
        .map_err(|_| JobsError::Unavailable(format!("NATS did not answer within {limit:?}")))?
}

async fn setup(
    js: &jetstream::Context,
    config: &NatsConfig,
) -> Result<(kv::Store, object_store::ObjectStore, object_store::ObjectStore), JobsError> {
    js.get_or_create_stream(stream::Config {
        name: config.stream.clone(),
        subjects: vec![format!("{}.>", config.subject_prefix)],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        num_replicas: config.replicas,
        duplicate_window: config.duplicate_window,
        max_bytes: Store::Jobs.max_bytes(config),
        discard: limits::discard_policy(Store::Jobs),
        ..Default::default()
    })
    .await
    .map_err(JobsError::unavailable)?;
    js.get_or_create_stream(stream::Config {
        name: config.dlq_stream.clone(),
        subjects: vec![format!("{}.>", config.dlq_subject_prefix)],
        retention: stream::RetentionPolicy::Limits,
        storage: stream::StorageType::File,
        num_replicas: config.replicas,
        max_age: config.record_ttl * 7,
        max_bytes: Store::DeadLetters.max_bytes(config),
        discard: limits::discard_policy(Store::DeadLetters),
        ..Default::default()
    })
    .await
    .map_err(JobsError::unavailable)?;
    let jobs = js.get_stream(&config.stream).await.map_err(JobsError::unavailable)?;
    jobs.get_or_create_consumer(&config.consumer, settings::consumer_config(config))
        .await
        .map_err(JobsError::unavailable)?;
    let kv = match js.get_key_value(&config.bucket).await {
        Ok(kv) => kv,
        Err(_) => js
            .create_key_value(kv::Config {
                bucket: config.bucket.clone(),
                history: 1,
                max_age: config.record_ttl,
                max_bytes: Store::Records.max_bytes(config),
                storage: stream::StorageType::File,
                num_replicas: config.replicas,
                republish: Some(settings::republish(config)),
                ..Default::default()
            })
            .await
            .map_err(JobsError::unavailable)?,
    };
    let objects = match js.get_object_store(&config.results_bucket).await {
        Ok(store) => store,
        Err(_) => js
            .create_object_store(object_store::Config {
                bucket: config.results_bucket.clone(),
                max_age: config.record_ttl,
                max_bytes: Store::Results.max_bytes(config),
                storage: stream::StorageType::File,
                num_replicas: config.replicas,
                ..Default::default()
            })
            .await
            .map_err(JobsError::unavailable)?,
    };
    let datasets = match js.get_object_store(&config.datasets_bucket).await {
        Ok(store) => store,
        Err(_) => js
            .create_object_store(object_store::Config {
                bucket: config.datasets_bucket.clone(),
                description: Some("uploaded datasets, by id and content digest".into()),
                max_bytes: Store::Datasets.max_bytes(config),
                storage: stream::StorageType::File,
                num_replicas: config.replicas,
                ..Default::default()
            })
            .await
            .map_err(JobsError::unavailable)?,
    };
    // Stores made by an earlier version, or under other flags (one server
    // grown to three, another limit), take the configured settings; object
    // stores were made with discard-old, which would drop the oldest results.
    for store in [Store::Jobs, Store::Records, Store::Results, Store::Datasets, Store::DeadLetters] {
        settings::ensure_settings(js, config, store).await?;
    }
    // After its stream: a consumer cannot have more replicas than the stream.
    settings::ensure_consumer(js, config).await?;
    Ok((kv, objects, datasets))
}

impl JobQueue for NatsBackend {
    async fn publish(&self, envelope: &JobEnvelope, headers: &[(String, String)]) -> Result<(), JobsError> {
        self.ready()?;
        let mut map = async_nats::HeaderMap::new();
        // The job id as message id: a re-publish within the window is stored once.
        map.insert(async_nats::header::NATS_MESSAGE_ID, message_id(envelope).as_str());
        let subject =
            if envelope.chunk.is_some() { self.config.chunk_subject() } else { self.config.job_subject() };
        for (name, value) in headers {
            map.insert(name.as_str(), value.as_str());
        }
        let payload = bytes::Bytes::from(prost::Message::encode_to_vec(envelope));
        let limit = self.config.op_timeout;
        let ack = timed(limit, async {
            self.js.publish_with_headers(subject, map, payload).await.map_err(JobsError::unavailable)
        })
        .await?;
        timed(limit, async { ack.await.map_err(|e| self.write_error(Store::Jobs, e)) }).await?;
        Ok(())
    }
}
