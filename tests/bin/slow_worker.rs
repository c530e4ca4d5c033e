//! A worker process for the fault tests: the library's worker and the real
//! runner, each job slowed by `TARIFF_TEST_JOB_DELAY_MS` so that a SIGKILL lands
//! mid-job. Configured by the same flags and variables as `tariff-worker`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{ops::ControlFlow, time::Duration};

use clap::Parser;
use tariff_jobs::{
    JobRunner, RunFailure, Worker, WorkerConfig,
    nats::{NatsArgs, NatsBackend},
};
use tariff_proto::v1::{Progress, Scenario, ScenarioResult};
use tariff_worker::ScenarioRunner;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    nats: NatsArgs,
    #[arg(long, env = "TARIFF_TEST_JOB_DELAY_MS", default_value_t = 0)]
    delay_ms: u64,
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
}

struct Slow(Duration);

impl JobRunner for Slow {
    fn run(
        &self,
        s: &Scenario,
        p: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        std::thread::sleep(self.0);
        ScenarioRunner::default().run(s, p)
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let config = args.nats.config();
    let backend = NatsBackend::connect_with_retry(config.clone(), &args.nats.auth()).await;
    let consumer = backend.consumer(args.concurrency).await.expect("consumer");
    let worker_config = WorkerConfig {
        concurrency: args.concurrency,
        in_progress_interval: (config.ack_wait / 3).max(Duration::from_millis(200)),
        max_deliver: u32::try_from(config.max_deliver).unwrap_or(u32::MAX),
        ..WorkerConfig::default()
    };
    Worker::new(backend, Slow(Duration::from_millis(args.delay_ms)), worker_config)
        .run(consumer, std::future::pending())
        .await;
}
