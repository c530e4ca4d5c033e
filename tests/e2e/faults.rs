//! Faults on the worker side against a real nats-server: crashes, stalls, long jobs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    ops::ControlFlow,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tariff_e2e::{Gateway, Stack, WorkerHandle, state, wait_until_done};
use tariff_jobs::{
    JobRunner, RunFailure, WorkerConfig,
    nats::{NatsAuth, NatsBackend, NatsConfig},
};
use tariff_proto::v1::{JobState, Progress, Scenario, ScenarioResult};
use tariff_worker::ScenarioRunner;

/// Crashes on every run.
#[derive(Clone, Default)]
struct Crashing {
    runs: Arc<AtomicUsize>,
}

impl JobRunner for Crashing {
    fn run(
        &self,
        _: &Scenario,
        _: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        panic!("simulated crash in the model");
    }
}

/// Holds every job until released, reporting no progress: a stalled worker.
#[derive(Clone, Default)]
struct Stalling {
    runs: Arc<AtomicUsize>,
    release: Arc<AtomicBool>,
}

impl JobRunner for Stalling {
    fn run(
        &self,
        _: &Scenario,
        _: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        while !self.release.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(RunFailure::Cancelled)
    }
}

/// The real runner, slowly: each job takes `delay` more.
#[derive(Clone, Default)]
struct Slow {
    runs: Arc<AtomicUsize>,
    delay: Duration,
}

impl JobRunner for Slow {
    fn run(
        &self,
        s: &Scenario,
        p: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        ScenarioRunner::default().run(s, p)
    }
}

fn short_config(config: NatsConfig, max_deliver: i64) -> NatsConfig {
    NatsConfig { ack_wait: Duration::from_secs(1), max_deliver, backoff: Vec::new(), ..config }
}

async fn dead_letter_of(config: &NatsConfig, job_id: &str) -> Option<String> {
    let backend = NatsBackend::connect(config.clone(), &NatsAuth::default()).await.unwrap();
    let dlq = backend.jetstream().get_stream(&config.dlq_stream).await.unwrap();
    let message =
        dlq.get_last_raw_message_by_subject(&format!("{}.{job_id}", config.dlq_subject_prefix)).await.ok()?;
    message.headers.get("Tariff-Failure").map(|v| v.to_string())
}

async fn submit_one(gateway: &Gateway) -> String {
    tariff_e2e::submit(&mut gateway.client().await, "universal-10.json", "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_crashes_on_every_delivery_ends_failed_and_dead_lettered() {
    let Stack { nats: _nats, config, gateway } = Stack::start_with(|c| short_config(c, 3)).await;
    let runner = Crashing::default();
    let runs = runner.runs.clone();
    let worker_config =
        WorkerConfig { max_deliver: 3, retry_delay: Duration::from_millis(100), ..WorkerConfig::default() };
    let _worker = WorkerHandle::start_with(config.clone(), worker_config, runner, runs.clone()).await;

    let job_id = submit_one(&gateway).await;
    let job = wait_until_done(&mut gateway.client().await, &job_id).await;
    assert_eq!(state(&job), JobState::Failed);
    let error = job.error.unwrap();
    assert_eq!(error.code, "GAVE_UP");
    assert!(error.message.contains("simulated crash"), "{}", error.message);
    assert_eq!(runs.load(Ordering::SeqCst), 3, "tried max_deliver times");
    let reason = dead_letter_of(&config, &job_id).await.expect("the job is in the dead-letter stream");
    assert!(reason.contains("3 deliveries"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_deliveries_run_out_with_no_outcome_is_failed_by_the_reaper() {
    let Stack { nats: _nats, config, gateway } = Stack::start_with(|c| short_config(c, 2)).await;
    let runner = Stalling::default();
    let (runs, release) = (runner.runs.clone(), runner.release.clone());
    // No in-progress acks within the ack wait: each delivery times out, as if its worker died.
    let worker_config = WorkerConfig {
        concurrency: 4,
        in_progress_interval: Duration::from_secs(3600),
        ..WorkerConfig::default()
    };
    let worker = WorkerHandle::start_with(config.clone(), worker_config, runner, runs.clone()).await;

    let job_id = submit_one(&gateway).await;
    let job = wait_until_done(&mut gateway.client().await, &job_id).await;
    release.store(true, Ordering::SeqCst);
    assert_eq!(state(&job), JobState::Failed);
    assert!(job.error.unwrap().message.contains("2 deliveries"));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert!(dead_letter_of(&config, &job_id).await.is_some());
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_longer_than_ack_wait_is_not_redelivered_while_its_worker_lives() {
    let Stack { nats: _nats, config, gateway } = Stack::start_with(|c| short_config(c, 5)).await;
    let runner = Slow { delay: Duration::from_millis(3500), ..Slow::default() };
    let runs = runner.runs.clone();
    let worker_config =
        WorkerConfig { in_progress_interval: Duration::from_millis(300), ..WorkerConfig::default() };
    let _worker = WorkerHandle::start_with(config, worker_config, runner, runs.clone()).await;

    let started = Instant::now();
    let job_id = submit_one(&gateway).await;
    let job = wait_until_done(&mut gateway.client().await, &job_id).await;
    assert!(started.elapsed() > Duration::from_secs(3), "the job did outlast the 1 s ack wait");
    assert_eq!(state(&job), JobState::Succeeded);
    assert_eq!(job.attempts, 1);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
