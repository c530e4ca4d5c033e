//! The end-to-end harness: a real nats-server per test (or shared with its own
//! names), gateways and workers started in process on free ports, a gRPC client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_debug_implementations)]

use std::{
    net::SocketAddr,
    ops::ControlFlow,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures::StreamExt;
use scenario_gateway::{ServerOptions, serve};
use tariff_jobs::{
    JobRunner, JobService, RunFailure, Worker, WorkerConfig,
    nats::{NatsAuth, NatsBackend, NatsConfig},
};
use tariff_proto::v1::{
    ChunkTask, Job, JobState, Progress, Scenario, ScenarioResult,
    scenario_service_client::ScenarioServiceClient,
};
use tariff_scenario::{ScenarioFormat, parse_scenario};
use tariff_test_support::NatsServer;
use tariff_worker::ScenarioRunner;
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;

pub use tariff_test_support;

pub mod services;

/// NATS names of their own for one test, so tests can share nothing and run in parallel.
pub fn isolated_config(nats: &NatsServer) -> NatsConfig {
    let tag = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    NatsConfig {
        url: nats.url(),
        ack_wait: Duration::from_secs(10),
        backoff: Vec::new(),
        op_timeout: Duration::from_secs(2),
        limits: test_limits(),
        ..NatsConfig::default()
    }
    .namespaced(&tag)
}

/// Store limits for tests: JetStream reserves each up front against the
/// server's storage (75% of the free disk), and the production defaults (7.5
/// GiB in all) may not fit on a test machine's disk.
pub fn test_limits() -> tariff_jobs::nats::StoreLimits {
    let mib = tariff_jobs::nats::MIB;
    tariff_jobs::nats::StoreLimits {
        jobs: Some(64 * mib),
        records: Some(256 * mib),
        results: Some(512 * mib),
        datasets: Some(512 * mib),
        dead_letters: Some(16 * mib),
    }
}

/// The setup most tests begin with: a nats-server of their own, names of
/// their own on it, and a gateway over it. Each test starts the workers it
/// wants on `config`.
pub struct Stack {
    /// Kept for as long as the stack: dropping it stops the server.
    pub nats: NatsServer,
    pub config: NatsConfig,
    pub gateway: Gateway,
}

impl Stack {
    /// A fresh server and a gateway on [`isolated_config`].
    pub async fn start() -> Stack {
        Stack::start_with(|config| config).await
    }

    /// [`Stack::start`] with the configuration changed first.
    pub async fn start_with(change: impl FnOnce(NatsConfig) -> NatsConfig) -> Stack {
        let nats = NatsServer::start().expect("nats-server starts");
        let config = change(isolated_config(&nats));
        let gateway = Gateway::start(config.clone()).await;
        Stack { nats, config, gateway }
    }
}

/// One job at a time, every progress step written: what the split tests run.
pub fn one_job_at_a_time() -> WorkerConfig {
    WorkerConfig { concurrency: 1, progress_interval: Duration::ZERO, ..WorkerConfig::default() }
}

/// The Section 232 autos scenario with `draws` uncertainty draws, in chunks of `chunk_draws`.
pub fn with_draws(draws: u32, chunk_draws: u32) -> Scenario {
    Scenario {
        uncertainty: Some(tariff_proto::v1::Uncertainty {
            draws,
            seed: 2026,
            chunk_draws,
            ..Default::default()
        }),
        ..scenario("section-232-autos-2025.json")
    }
}

/// The 2025-26 timeline on the built-in dataset, named so that workers split it.
pub fn timeline() -> Scenario {
    Scenario { dataset: "jpus-2023".into(), ..scenario("timeline-2025-2026.json") }
}

/// A worker that splits every job of more than one flow solve: one chunk per
/// sector, each step `step_delay` long.
pub async fn splitting_worker(config: NatsConfig, step_delay: Duration) -> WorkerHandle {
    let runner = CountingRunner {
        step_delay,
        inner: ScenarioRunner { split_flows: 1, ..ScenarioRunner::default() },
        ..CountingRunner::default()
    };
    WorkerHandle::start_counting(config, one_job_at_a_time(), runner).await
}

/// A scenario from `scenarios/`.
pub fn scenario(file: &str) -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios").join(file);
    parse_scenario(&std::fs::read_to_string(&path).unwrap(), ScenarioFormat::Json).unwrap()
}

/// A contributions analysis of `players` US surcharges (one per sector, in
/// turn), exact up to `exact_up_to` players: 2^players coalitions.
pub fn contributions(players: usize, exact_up_to: u32) -> Scenario {
    use tariff_proto::v1::{Analysis, Authority, ContributionsSpec, Measure, analysis::Kind, measure::Mode};
    let sectors = ["CARS", "TRUCKS", "PARTS", "MACH", "ELEC", "INSTR", "PHARMA", "METALS", "AGRI", "OTHER"];
    let measures = (0..players)
        .map(|i| Measure {
            id: format!("m{i}"),
            authority: Authority::Other.into(),
            importer: "USA".into(),
            exporters: vec!["*".into()],
            sectors: vec![sectors[i % sectors.len()].into()],
            mode: Mode::Add.into(),
            rate_pct: 2.0 + i as f64,
            ..Default::default()
        })
        .collect();
    let spec = ContributionsSpec { exact_up_to, ..Default::default() };
    Scenario {
        measures,
        analysis: Some(Box::new(Analysis { kind: Some(Kind::Contributions(spec)) })),
        ..Default::default()
    }
}

/// A task that runs until told to stop: on `stop` (waiting for it to end) or
/// on drop (without waiting).
struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    fn new(stop: oneshot::Sender<()>, task: JoinHandle<()>) -> Running {
        Running { stop: Some(stop), task: Some(task) }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A gateway serving on a free port until dropped.
pub struct Gateway {
    pub address: SocketAddr,
    running: Running,
}

impl Gateway {
    /// Starts a gateway over NATS with `config`.
    pub async fn start(config: NatsConfig) -> Gateway {
        let backend =
            NatsBackend::connect(config, &NatsAuth::default()).await.expect("gateway connects to NATS");
        Gateway::serve(JobService::new(backend.clone(), backend)).await
    }

    /// Serves any job service.
    pub async fn serve<
        R: tariff_jobs::RecordStore + tariff_jobs::DatasetStore + tariff_jobs::ChunkStore,
        Q: tariff_jobs::JobQueue,
    >(
        jobs: JobService<R, Q>,
    ) -> Gateway {
        Gateway::serve_with(jobs, ServerOptions::default()).await
    }

    /// Serves any job service with the given options.
    pub async fn serve_with<
        R: tariff_jobs::RecordStore + tariff_jobs::DatasetStore + tariff_jobs::ChunkStore,
        Q: tariff_jobs::JobQueue,
    >(
        jobs: JobService<R, Q>,
        options: ServerOptions,
    ) -> Gateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve(listener, jobs, options, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Gateway { address, running: Running::new(stop, task) }
    }

    pub async fn client(&self) -> ScenarioServiceClient<Channel> {
        ScenarioServiceClient::connect(format!("http://{}", self.address)).await.unwrap()
    }

    /// Stops taking calls and waits for the server to finish.
    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// Counts the jobs and chunks a worker computed, and how many computations
/// are under way, around the real runner.
#[derive(Clone, Default)]
pub struct CountingRunner {
    pub runs: Arc<AtomicUsize>,
    pub chunks: Arc<AtomicUsize>,
    /// A pause before each progress step of a chunk: a stand-in for slow
    /// solves, so that a test can act while chunks are under way.
    pub step_delay: Duration,
    pub busy: Arc<AtomicUsize>,
    pub inner: ScenarioRunner,
}

/// Counts a computation as under way while it lives.
struct Busy<'a>(&'a AtomicUsize);

impl<'a> Busy<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Busy(count)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl JobRunner for CountingRunner {
    fn run(
        &self,
        scenario: &Scenario,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        let _busy = Busy::new(&self.busy);
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.inner.run(scenario, progress)
    }

    fn chunks(&self, scenario: &Scenario) -> Vec<ChunkTask> {
        self.inner.chunks(scenario)
    }

    fn run_head(
        &self,
        scenario: &Scenario,
        chunks: &[ChunkTask],
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        let _busy = Busy::new(&self.busy);
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.inner.run_head(scenario, chunks, progress)
    }

    fn run_chunk(
        &self,
        scenario: &Scenario,
        chunk: &ChunkTask,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<Vec<u8>, RunFailure> {
        let _busy = Busy::new(&self.busy);
        let delay = self.step_delay;
        let mut slowed = |p: Progress| {
            std::thread::sleep(delay);
            progress(p)
        };
        let data = self.inner.run_chunk(scenario, chunk, &mut slowed)?;
        self.chunks.fetch_add(1, Ordering::SeqCst);
        Ok(data)
    }

    fn merge(
        &self,
        scenario: &Scenario,
        head: ScenarioResult,
        chunks: &[ChunkTask],
        data: &mut dyn Iterator<Item = Vec<u8>>,
    ) -> Result<ScenarioResult, RunFailure> {
        self.inner.merge(scenario, head, chunks, data)
    }
}

/// A worker pulling from NATS until dropped or stopped.
pub struct WorkerHandle {
    pub runs: Arc<AtomicUsize>,
    /// The counting runner's, when the worker was started with one.
    pub counts: Option<CountingRunner>,
    running: Running,
}

impl WorkerHandle {
    pub async fn start(config: NatsConfig, worker: WorkerConfig) -> WorkerHandle {
        WorkerHandle::start_counting(config, worker, CountingRunner::default()).await
    }

    /// A worker with a counting runner made as the test wants it.
    pub async fn start_counting(
        config: NatsConfig,
        worker: WorkerConfig,
        runner: CountingRunner,
    ) -> WorkerHandle {
        let runs = runner.runs.clone();
        let mut handle = WorkerHandle::start_with(config, worker, runner.clone(), runs).await;
        handle.counts = Some(runner);
        handle
    }

    /// A worker with any runner, and the reaper of exhausted jobs beside it as
    /// the worker binary runs it; `runs` is what `runs()` reports.
    pub async fn start_with<J: JobRunner>(
        config: NatsConfig,
        worker: WorkerConfig,
        runner: J,
        runs: Arc<AtomicUsize>,
    ) -> WorkerHandle {
        WorkerHandle::start_authenticated(config, &NatsAuth::default(), worker, runner, runs).await
    }

    /// [`WorkerHandle::start_with`] with credentials and TLS for NATS.
    pub async fn start_authenticated<J: JobRunner>(
        config: NatsConfig,
        auth: &NatsAuth,
        worker: WorkerConfig,
        runner: J,
        runs: Arc<AtomicUsize>,
    ) -> WorkerHandle {
        let backend = NatsBackend::connect(config, auth).await.expect("worker connects to NATS");
        WorkerHandle::start_on(backend, worker, runner, runs).await
    }

    /// A worker as the binary runs one: the scenario runner, fetching uploaded
    /// datasets from NATS by digest.
    pub async fn start_with_uploads(config: NatsConfig, worker: WorkerConfig) -> WorkerHandle {
        WorkerHandle::start_splitting(config, worker, tariff_worker::DEFAULT_SPLIT_FLOWS).await
    }

    /// [`WorkerHandle::start_with_uploads`] splitting jobs of more than
    /// `split_flows` flow solves by sector.
    pub async fn start_splitting(config: NatsConfig, worker: WorkerConfig, split_flows: u64) -> WorkerHandle {
        let backend =
            NatsBackend::connect(config, &NatsAuth::default()).await.expect("worker connects to NATS");
        let runner = ScenarioRunner {
            datasets: Some(Arc::new(tariff_worker::StoreFetch {
                store: backend.clone(),
                runtime: tokio::runtime::Handle::current(),
            })),
            split_flows,
            ..ScenarioRunner::default()
        };
        WorkerHandle::start_on(backend, worker, runner, Arc::default()).await
    }

    async fn start_on<J: JobRunner>(
        backend: NatsBackend,
        worker: WorkerConfig,
        runner: J,
        runs: Arc<AtomicUsize>,
    ) -> WorkerHandle {
        let consumer = backend.consumer(worker.concurrency).await.expect("consumer");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let (reaper_stop, reaper_stopped) = oneshot::channel::<()>();
            let reaper = {
                let backend = backend.clone();
                tokio::spawn(async move {
                    backend
                        .reap_exhausted(async {
                            let _ = reaper_stopped.await;
                        })
                        .await
                })
            };
            Worker::new(backend, runner, worker)
                .run(consumer, async {
                    let _ = stopped.await;
                })
                .await;
            let _ = reaper_stop.send(());
            let _ = reaper.await;
        });
        WorkerHandle { runs, counts: None, running: Running::new(stop, task) }
    }

    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    /// Stops pulling and waits for the jobs in hand to settle.
    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// A worker configuration that records every progress step.
pub fn every_step() -> WorkerConfig {
    WorkerConfig { concurrency: 2, progress_interval: Duration::ZERO, ..WorkerConfig::default() }
}

/// Follows a job with `WatchJob` until it ends; every record seen, in order.
pub async fn watch_to_end(client: &mut ScenarioServiceClient<Channel>, job_id: &str) -> Vec<Job> {
    let mut stream = client
        .watch_job(tariff_proto::v1::WatchJobRequest { job_id: job_id.to_owned(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    let collect = async {
        while let Some(item) = stream.next().await {
            seen.push(item.unwrap());
        }
    };
    tokio::time::timeout(Duration::from_secs(60), collect).await.expect("the job ends within a minute");
    seen
}

/// Polls `GetJob` until the job ends.
pub async fn wait_until_done(client: &mut ScenarioServiceClient<Channel>, job_id: &str) -> Job {
    for _ in 0..600 {
        let job = client
            .get_job(tariff_proto::v1::GetJobRequest { job_id: job_id.to_owned(), ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        if matches!(
            JobState::try_from(job.state),
            Ok(JobState::Succeeded | JobState::Failed | JobState::Cancelled)
        ) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last = client
        .get_job(tariff_proto::v1::GetJobRequest { job_id: job_id.to_owned(), ..Default::default() })
        .await;
    panic!("job {job_id} did not end within a minute: {last:?}");
}

/// Submits a scenario from `scenarios/` and returns the job id.
pub async fn submit(
    client: &mut ScenarioServiceClient<Channel>,
    file: &str,
    idempotency_key: &str,
) -> String {
    client
        .submit_scenario(tariff_proto::v1::SubmitScenarioRequest {
            scenario: Some(scenario(file)),
            idempotency_key: idempotency_key.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .job_id
}

/// The state of a record.
pub fn state(job: &Job) -> JobState {
    JobState::try_from(job.state).unwrap()
}

/// Cancels a job while `workers` compute it and waits (at most 10 s) until
/// none computes anything: how long that took. The cancel must answer CANCELLED.
pub async fn cancel_until_idle(
    client: &mut ScenarioServiceClient<Channel>,
    job_id: &str,
    workers: &[WorkerHandle],
) -> Duration {
    let busy = |w: &WorkerHandle| w.counts.as_ref().map_or(0, |c| c.busy.load(Ordering::SeqCst));
    let cancelled_at = std::time::Instant::now();
    let cpu_at = process_cpu();
    let request = tariff_proto::v1::CancelJobRequest { job_id: job_id.to_owned() };
    let cancelled = client.cancel_job(request).await.unwrap().into_inner();
    assert_eq!(state(&cancelled), JobState::Cancelled);
    while workers.iter().any(|w| busy(w) > 0) {
        assert!(cancelled_at.elapsed() < Duration::from_secs(10), "the workers kept computing the job");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stopped = cancelled_at.elapsed();
    // CPU, not wall time: on a loaded machine a worker may wait long for a core,
    // and what the cancel must bound is the computing done after it.
    let cpu = process_cpu().saturating_sub(cpu_at);
    eprintln!("every worker stopped {stopped:?} after the cancel, having used {cpu:?} of CPU");
    assert!(cpu < Duration::from_secs(1), "the workers computed {cpu:?} of CPU after the cancel");
    stopped
}

/// CPU time of this whole process so far (every thread: the in-process
/// workers, and the gateway and client beside them).
pub fn process_cpu() -> Duration {
    tariff_test_support::cpu_time(std::process::id()).expect("/proc/self/stat is readable")
}
