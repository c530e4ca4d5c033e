//! `scenario-gateway`: the gRPC front of the tariff scenario service.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, OnceLock},
    time::Duration,
};

use anyhow::bail;
use clap::Parser;
use scenario_gateway::{Embedded, GatewayLimits, ServerOptions, TOKENS_ENV, TlsSettings, load_tokens, serve};
use tariff_jobs::{
    JobService, REACHABILITY_INTERVAL, WorkerConfig, follow_reachability,
    nats::{NatsArgs, NatsBackend},
};
use tariff_telemetry::{Telemetry, TelemetryArgs, serve_admin, shutdown_signal};
use tariff_worker::LimitArgs;

// mimalloc: glibc malloc (malloc_consolidate on the large records) showed ~15% in profiles under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tariff scenarios in, impacts out, over gRPC.
#[derive(Debug, Parser)]
#[command(name = "scenario-gateway", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "TARIFF_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// Run gateway and workers in this process over an in-process queue: no NATS
    /// needed, nothing persisted (for laptops and quick looks).
    #[arg(long, env = "TARIFF_EMBEDDED")]
    embedded: bool,
    /// Workers of the embedded mode.
    #[arg(long, env = "TARIFF_EMBEDDED_WORKERS", default_value_t = 2)]
    embedded_workers: usize,
    #[command(flatten)]
    nats: NatsArgs,
    /// Longest wait of RunScenario, in seconds, whatever the caller's deadline.
    #[arg(long, env = "TARIFF_MAX_RUN_WAIT_SECS", default_value_t = 300)]
    max_run_wait_secs: u64,
    /// Largest request accepted, in bytes (an upload is many requests: see --max-upload-mb).
    #[arg(long, env = "TARIFF_MAX_REQUEST_BYTES", default_value_t = 4 * 1024 * 1024)]
    max_request_bytes: usize,
    /// Largest dataset upload accepted (files or archive), in MiB.
    #[arg(long, env = "TARIFF_MAX_UPLOAD_MB", default_value_t = 1024)]
    max_upload_mb: u64,
    /// Memory for uploaded datasets kept loaded between calls (validating scenarios on them), in MiB.
    #[arg(long, env = "TARIFF_DATASET_CACHE_MB", default_value_t = 1024)]
    dataset_cache_mb: u64,
    /// Seconds after which a client connection is closed (so new replicas get traffic).
    #[arg(long, env = "TARIFF_MAX_CONNECTION_AGE_SECS", default_value_t = 300)]
    max_connection_age_secs: u64,
    /// File of bearer tokens, one a line (`name:token` names a token in the
    /// logs; blank lines and `#` comments are skipped). With any token, every
    /// tariff.v1.ScenarioService call needs `authorization: Bearer <token>`.
    /// More tokens, comma-separated, may be set in the TARIFF_TOKENS environment
    /// variable (not a flag, to keep them out of process listings).
    #[arg(long, env = "TARIFF_TOKENS_FILE", value_name = "PATH")]
    tokens_file: Option<PathBuf>,
    /// Require a token for server reflection too (by default reflection stays
    /// open: it only exposes the schema).
    #[arg(long, env = "TARIFF_AUTH_REFLECTION")]
    auth_reflection: bool,
    /// TLS certificate chain (PEM); with --tls-key, the gateway speaks TLS only.
    #[arg(long, env = "TARIFF_TLS_CERT", value_name = "PATH", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "TARIFF_TLS_KEY", value_name = "PATH", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// CA certificate(s) (PEM) for mTLS: clients must present a certificate
    /// signed by one of them, or cannot connect.
    #[arg(long, env = "TARIFF_TLS_CLIENT_CA", value_name = "PATH", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    telemetry: TelemetryArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tariff_telemetry::exit_code(run(Args::parse()).await)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let telemetry = Telemetry::init("scenario-gateway", args.telemetry.log_format);
    // Configuration errors stop the start before anything listens: one line,
    // naming the file (or variable) at fault, never a token.
    let tokens_env = match std::env::var(TOKENS_ENV) {
        Ok(list) if !list.trim().is_empty() => Some(list),
        Ok(_) | Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => bail!("{TOKENS_ENV} is not valid UTF-8"),
    };
    let auth = load_tokens(args.tokens_file.as_deref(), tokens_env.as_deref())?.map(Arc::new);
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsSettings::load(cert, key, args.tls_client_ca.as_deref())?),
        _ => None,
    };
    let options = ServerOptions {
        limits: GatewayLimits {
            max_run_wait: Duration::from_secs(args.max_run_wait_secs),
            scenario: args.limits.limits(),
            upload: scenario_gateway::UploadLimits {
                max_bytes: args.max_upload_mb << 20,
                cache_bytes: args.dataset_cache_mb << 20,
            },
            ..GatewayLimits::default()
        },
        max_request_bytes: args.max_request_bytes,
        max_connection_age: Duration::from_secs(args.max_connection_age_secs),
        auth,
        auth_reflection: args.auth_reflection,
        tls,
        store_reachable: None,
    };
    // NATS, once connected (the connection comes after the admin port, whose
    // liveness answer must not wait for it); embedded: always reachable.
    let nats: Arc<OnceLock<NatsBackend>> = Arc::default();
    let reachable = (!args.embedded).then(|| {
        let nats = nats.clone();
        follow_reachability(format!("NATS at {}", args.nats.url), REACHABILITY_INTERVAL, move || {
            nats.get().is_some_and(NatsBackend::is_connected)
        })
    });
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let address = listener.local_addr()?;
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin = match args.telemetry.admin_listen {
        Some(admin_address) => {
            let admin_listener = tokio::net::TcpListener::bind(admin_address).await?;
            tracing::info!(address = %admin_listener.local_addr()?, "admin server listening (/metrics, /healthz, /readyz)");
            Some(tokio::spawn(serve_admin(admin_listener, telemetry.clone(), reachable.clone(), async {
                let _ = admin_stopped.await;
            })))
        }
        None => None,
    };
    if args.embedded {
        let embedded = Embedded::start(args.embedded_workers, WorkerConfig::default(), args.limits.limits());
        tracing::info!(%address, workers = args.embedded_workers, "gateway listening (embedded: in-process queue, nothing persisted)");
        serve(listener, embedded.jobs(), options, shutdown_signal()).await?;
        embedded.shutdown().await;
    } else {
        let config = args.nats.config();
        tracing::info!(url = %config.url, stream = %config.stream, bucket = %config.bucket, "connecting to NATS");
        let backend = NatsBackend::connect_with_retry(config, &args.nats.auth()).await;
        let _ = nats.set(backend.clone());
        // The probe reads the new connection at its next tick: health starts
        // SERVING, not with the reading from before the connection.
        if let Some(mut reachable) = reachable.clone() {
            let _ = tokio::time::timeout(2 * REACHABILITY_INTERVAL, reachable.wait_for(|up| *up)).await;
        }
        tracing::info!(%address, "gateway listening");
        let options = ServerOptions { store_reachable: reachable, ..options };
        serve(listener, JobService::new(backend.clone(), backend), options, shutdown_signal()).await?;
    }
    let _ = stop_admin.send(());
    if let Some(admin) = admin {
        let _ = admin.await;
    }
    tracing::info!("gateway stopped");
    telemetry.shutdown().await;
    Ok(())
}
