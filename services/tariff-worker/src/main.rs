//! `tariff-worker`: one replica of the worker pool over NATS JetStream.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use clap::Parser;
use tariff_jobs::{
    REACHABILITY_INTERVAL, Worker, WorkerConfig, follow_reachability,
    nats::{NatsArgs, NatsBackend},
};
use tariff_telemetry::{Telemetry, TelemetryArgs, serve_admin, shutdown_signal};
use tariff_worker::{LimitArgs, ScenarioRunner};

// mimalloc: glibc malloc (malloc_consolidate on the large records) showed ~15% in profiles under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Pulls tariff scenario jobs from NATS JetStream and computes them.
#[derive(Debug, Parser)]
#[command(name = "tariff-worker", version, about)]
struct Args {
    #[command(flatten)]
    nats: NatsArgs,
    /// Jobs computed at once (default: the number of CPUs).
    #[arg(long, env = "TARIFF_WORKER_CONCURRENCY")]
    concurrency: Option<usize>,
    /// The most jobs taken beyond the free compute slots, each waiting for one
    /// (with in-progress acks). They keep the CPUs busy across the round trips
    /// between short jobs. The worker holds as many as it computes in about
    /// 5 ms, up to this: none behind jobs of more than 5 ms per slot, which go
    /// to whichever worker is free; 0 never holds any (default: 32 x --concurrency).
    #[arg(long, env = "TARIFF_WORKER_PREFETCH")]
    prefetch: Option<usize>,
    /// Milliseconds between progress updates of a running job's record.
    #[arg(long, env = "TARIFF_PROGRESS_INTERVAL_MS", default_value_t = 250)]
    progress_interval_ms: u64,
    #[command(flatten)]
    limits: LimitArgs,
    /// The largest encoded result kept; a larger one fails its job.
    #[arg(long, env = "TARIFF_MAX_RESULT_BYTES", default_value_t = WorkerConfig::default().max_result_bytes)]
    max_result_bytes: usize,
    /// Memory for uploaded datasets kept loaded between jobs (least recently used leave first), in MiB.
    #[arg(long, env = "TARIFF_DATASET_CACHE_MB", default_value_t = tariff_worker::DEFAULT_DATASET_CACHE_BYTES >> 20)]
    dataset_cache_mb: u64,
    /// A job without uncertainty draws of more flow solves (flows times dates)
    /// than this is split by sector into chunks of about this many, which any
    /// worker computes and which keep the job's flows; 0 never splits.
    #[arg(long, env = "TARIFF_SPLIT_FLOWS", default_value_t = tariff_worker::DEFAULT_SPLIT_FLOWS)]
    split_flows: u64,
    /// Seconds between two readings of the consumer's backlog (the
    /// `tariff_consumer_pending` metric).
    #[arg(long, env = "TARIFF_BACKLOG_INTERVAL_SECS", default_value_t = 5)]
    backlog_interval_secs: u64,
    #[command(flatten)]
    telemetry: TelemetryArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tariff_telemetry::exit_code(run(Args::parse()).await)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let telemetry = Telemetry::init("tariff-worker", args.telemetry.log_format);
    // Ready once NATS is connected, and while it stays so; the admin port
    // (liveness) answers before that.
    let nats: Arc<OnceLock<NatsBackend>> = Arc::default();
    let reachable = {
        let nats = nats.clone();
        follow_reachability(format!("NATS at {}", args.nats.url), REACHABILITY_INTERVAL, move || {
            nats.get().is_some_and(NatsBackend::is_connected)
        })
    };
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin = match args.telemetry.admin_listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address).await?;
            tracing::info!(address = %listener.local_addr()?, "admin server listening (/metrics, /healthz, /readyz)");
            Some(tokio::spawn(serve_admin(listener, telemetry.clone(), Some(reachable.clone()), async {
                let _ = admin_stopped.await;
            })))
        }
        None => None,
    };
    let concurrency =
        args.concurrency.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let prefetch = args.prefetch.unwrap_or(concurrency.saturating_mul(32));
    let config = args.nats.config();
    tracing::info!(
        url = %config.url,
        stream = %config.stream,
        consumer = %config.consumer,
        concurrency,
        prefetch,
        "starting worker"
    );
    let backend = NatsBackend::connect_with_retry(config.clone(), &args.nats.auth()).await;
    let _ = nats.set(backend.clone());
    let consumer = loop {
        match backend.consumer(concurrency.saturating_add(prefetch)).await {
            Ok(consumer) => break consumer,
            Err(e) => {
                tracing::warn!(error = %e, "consumer not ready");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    // Jobs every delivery of which died with its worker are settled by whichever worker hears of it.
    let reaper = {
        let backend = backend.clone();
        tokio::spawn(async move { backend.reap_exhausted(std::future::pending()).await })
    };
    let backlog = {
        let backend = backend.clone();
        let every = Duration::from_secs(args.backlog_interval_secs.max(1));
        tokio::spawn(async move { backend.observe_backlog(every, std::future::pending()).await })
    };
    let runner = ScenarioRunner {
        datasets: Some(std::sync::Arc::new(tariff_worker::StoreFetch {
            store: backend.clone(),
            runtime: tokio::runtime::Handle::current(),
        })),
        cache: std::sync::Arc::new(tariff_scenario::dataset::DatasetCache::new(args.dataset_cache_mb << 20)),
        split_flows: args.split_flows,
        ..ScenarioRunner::new(args.limits.limits())
    };
    let worker = Worker::new(
        backend,
        runner,
        WorkerConfig {
            concurrency,
            prefetch,
            progress_interval: Duration::from_millis(args.progress_interval_ms),
            in_progress_interval: (config.ack_wait / 3).max(Duration::from_secs(1)),
            max_deliver: u32::try_from(config.max_deliver).unwrap_or(u32::MAX),
            max_result_bytes: args.max_result_bytes,
            ..WorkerConfig::default()
        },
    );
    worker.run(consumer, shutdown_signal()).await;
    reaper.abort();
    backlog.abort();
    let _ = stop_admin.send(());
    if let Some(admin) = admin {
        let _ = admin.await;
    }
    tracing::info!("worker stopped");
    telemetry.shutdown().await;
    Ok(())
}
