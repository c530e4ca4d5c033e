//! `scenario-gateway`: the gRPC front of the tariff scenario service.

use std::{net::SocketAddr, time::Duration};

use clap::Parser;
use scenario_gateway::{Embedded, GatewayLimits, ServerOptions, serve};
use tariff_jobs::{
    JobService, WorkerConfig,
    nats::{NatsArgs, NatsBackend},
};
use tariff_telemetry::{LogFormat, init_logging, shutdown_signal};

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
    /// Largest request accepted, in bytes.
    #[arg(long, env = "TARIFF_MAX_REQUEST_BYTES", default_value_t = 4 * 1024 * 1024)]
    max_request_bytes: usize,
    /// Seconds after which a client connection is closed (so new replicas get traffic).
    #[arg(long, env = "TARIFF_MAX_CONNECTION_AGE_SECS", default_value_t = 300)]
    max_connection_age_secs: u64,
    /// Log format: text or json.
    #[arg(long, env = "TARIFF_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_logging(args.log_format);
    let options = ServerOptions {
        limits: GatewayLimits {
            max_run_wait: Duration::from_secs(args.max_run_wait_secs),
            ..GatewayLimits::default()
        },
        max_request_bytes: args.max_request_bytes,
        max_connection_age: Duration::from_secs(args.max_connection_age_secs),
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let address = listener.local_addr()?;
    if args.embedded {
        let embedded = Embedded::start(args.embedded_workers, WorkerConfig::default());
        tracing::info!(%address, workers = args.embedded_workers, "gateway listening (embedded: in-process queue, nothing persisted)");
        serve(listener, embedded.jobs(), options, shutdown_signal()).await?;
        embedded.shutdown().await;
    } else {
        let config = args.nats.config();
        tracing::info!(url = %config.url, stream = %config.stream, bucket = %config.bucket, "connecting to NATS");
        let backend = NatsBackend::connect_with_retry(config, &args.nats.auth()).await;
        tracing::info!(%address, "gateway listening");
        serve(listener, JobService::new(backend.clone(), backend), options, shutdown_signal()).await?;
    }
    tracing::info!("gateway stopped");
    Ok(())
}
