//! Command-line flags and `TARIFF_NATS_*` variables for the NATS layout, shared
//! by both services.

use std::{path::PathBuf, time::Duration};

use super::{MIB, NatsAuth, NatsConfig, StoreLimits};

/// A limit in MiB as bytes; 0 is none.
fn megabytes(mib: u64) -> Option<u64> {
    (mib > 0).then(|| mib.saturating_mul(MIB))
}

/// How to reach NATS and which names to use there. The TLS flags have ids of
/// their own (`nats_tls_*`), so they cannot clash with a service's own
/// `--tls-*` flags beside them.
#[derive(Clone, clap::Args)]
pub struct NatsArgs {
    /// NATS server URL(s), comma-separated.
    #[arg(long = "nats-url", env = "TARIFF_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub url: String,
    /// Prefix for every stream, bucket and subject name (several deployments on one NATS).
    #[arg(long = "nats-namespace", env = "TARIFF_NATS_NAMESPACE")]
    pub namespace: Option<String>,
    /// Replicas of the job stream, record bucket and result store.
    #[arg(long = "nats-replicas", env = "TARIFF_NATS_REPLICAS", default_value_t = 1)]
    pub replicas: usize,
    /// Seconds a delivery stays with a worker without an ack or in-progress signal.
    #[arg(long = "ack-wait-secs", env = "TARIFF_ACK_WAIT_SECS", default_value_t = 30)]
    pub ack_wait_secs: u64,
    /// Deliveries before a job is given up.
    #[arg(long = "max-deliver", env = "TARIFF_MAX_DELIVER", default_value_t = 5)]
    pub max_deliver: i64,
    /// Hours job records are kept.
    #[arg(long = "record-ttl-hours", env = "TARIFF_RECORD_TTL_HOURS", default_value_t = 24)]
    pub record_ttl_hours: u64,
    /// Milliseconds one NATS operation may take before callers hear UNAVAILABLE.
    #[arg(long = "nats-timeout-ms", env = "TARIFF_NATS_TIMEOUT_MS", default_value_t = 3000)]
    pub timeout_ms: u64,
    /// Size limit of the job queue stream, in MiB (0: none).
    #[arg(long = "nats-jobs-max-mb", env = "TARIFF_NATS_JOBS_MAX_MB", default_value_t = 256)]
    pub jobs_max_mb: u64,
    /// Size limit of the job records bucket, in MiB (0: none). New jobs are
    /// refused (RESOURCE_EXHAUSTED) from 90% of it on.
    #[arg(long = "nats-records-max-mb", env = "TARIFF_NATS_RECORDS_MAX_MB", default_value_t = 1024)]
    pub records_max_mb: u64,
    /// Size limit of the results store (large results, sector chunks), in MiB
    /// (0: none). New jobs are refused from 90% of it on.
    #[arg(long = "nats-results-max-mb", env = "TARIFF_NATS_RESULTS_MAX_MB", default_value_t = 3072)]
    pub results_max_mb: u64,
    /// Size limit of the uploaded datasets store, in MiB (0: none).
    #[arg(long = "nats-datasets-max-mb", env = "TARIFF_NATS_DATASETS_MAX_MB", default_value_t = 3072)]
    pub datasets_max_mb: u64,
    /// Size limit of the dead-letter stream, in MiB (0: none; the oldest go first).
    #[arg(long = "nats-dlq-max-mb", env = "TARIFF_NATS_DLQ_MAX_MB", default_value_t = 256)]
    pub dlq_max_mb: u64,
    /// NATS user (with --nats-password).
    #[arg(long = "nats-user", env = "TARIFF_NATS_USER")]
    pub user: Option<String>,
    /// NATS password.
    #[arg(long = "nats-password", env = "TARIFF_NATS_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// NATS token.
    #[arg(long = "nats-token", env = "TARIFF_NATS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// NATS credentials file (JWT and NKey seed).
    #[arg(long = "nats-creds", env = "TARIFF_NATS_CREDS")]
    pub creds: Option<PathBuf>,
    /// Require TLS to NATS (implied by the other --nats-tls-* flags).
    #[arg(id = "nats_tls", long = "nats-tls", env = "TARIFF_NATS_TLS")]
    pub tls: bool,
    /// CA certificate(s) (PEM) that signed the NATS server's certificate.
    #[arg(id = "nats_tls_ca", long = "nats-tls-ca", value_name = "PATH", env = "TARIFF_NATS_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for NATS servers that verify clients.
    #[arg(
        id = "nats_tls_cert",
        long = "nats-tls-cert",
        value_name = "PATH",
        env = "TARIFF_NATS_TLS_CERT",
        requires = "nats_tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// Key (PEM) of --nats-tls-cert.
    #[arg(
        id = "nats_tls_key",
        long = "nats-tls-key",
        value_name = "PATH",
        env = "TARIFF_NATS_TLS_KEY",
        requires = "nats_tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
}

impl NatsArgs {
    /// The layout these flags describe.
    pub fn config(&self) -> NatsConfig {
        let ack_wait = Duration::from_secs(self.ack_wait_secs.max(1));
        let config = NatsConfig {
            url: self.url.clone(),
            replicas: self.replicas.max(1),
            ack_wait,
            // A dead worker's job waits one ack wait, then two, then four.
            backoff: vec![ack_wait, ack_wait * 2, ack_wait * 4],
            max_deliver: self.max_deliver.max(1),
            record_ttl: Duration::from_secs(self.record_ttl_hours.max(1) * 3600),
            op_timeout: Duration::from_millis(self.timeout_ms.max(100)),
            limits: StoreLimits {
                jobs: megabytes(self.jobs_max_mb),
                records: megabytes(self.records_max_mb),
                results: megabytes(self.results_max_mb),
                datasets: megabytes(self.datasets_max_mb),
                dead_letters: megabytes(self.dlq_max_mb),
            },
            ..NatsConfig::default()
        };
        match &self.namespace {
            Some(ns) if !ns.is_empty() => config.namespaced(ns),
            _ => config,
        }
    }

    /// The credentials these flags give.
    pub fn auth(&self) -> NatsAuth {
        NatsAuth {
            user_password: self.user.clone().zip(self.password.clone()),
            token: self.token.clone(),
            creds_file: self.creds.clone(),
            tls: self.tls,
            tls_ca: self.tls_ca.clone(),
            tls_client: self.tls_cert.clone().zip(self.tls_key.clone()),
        }
    }
}

// The password and token never reach Debug output (and so no log line).
impl std::fmt::Debug for NatsArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsArgs")
            .field("url", &self.url)
            .field("namespace", &self.namespace)
            .field("auth", &self.auth())
            .finish_non_exhaustive()
    }
}
