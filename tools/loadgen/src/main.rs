//! `tariff-loadgen`: drives a scenario gateway at a fixed concurrency or rate and
//! reports throughput and latency; measures the raw JetStream cycle the pipeline
//! rests on (the ceiling); and, with `all` and `soak`, starts its own nats-server,
//! gateway and worker to measure everything in one run. See BENCHMARKS.md.

mod stats;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail};
use async_nats::jetstream::{self, consumer::pull, kv, stream};
use clap::{Args, Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use serde::Serialize;
use tariff_proto::v1::{self as pb, scenario_service_client::ScenarioServiceClient};
use tonic::transport::{Channel, Endpoint};

use crate::stats::{RssSummary, Step, best, new_histogram, parse_vm_rss, record, scheduled_offset};

/// Longest any one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Parser)]
#[command(name = "tariff-loadgen", about = "Load generator for the tariff scenario pipeline")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Drive RunScenario or SubmitScenario against a running gateway.
    Pipeline(PipelineArgs),
    /// The raw JetStream cycle (publish with ack, pull, ack, kv put) on a NATS server.
    Ceiling(CeilingArgs),
    /// Start nats-server, a gateway and one worker; measure ceiling, pipeline and latency.
    All(AllArgs),
    /// Start the stack and push N small jobs through it, sampling the worker's RSS.
    Soak(SoakArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// RunScenario: submit and wait in one call.
    Run,
    /// SubmitScenario, then WatchJob until the job ends.
    Submit,
    /// SubmitScenario, then GetJob every 2 ms until the job ends (no watch consumer).
    Poll,
}

#[derive(Debug, Args)]
struct PipelineArgs {
    /// Gateway address, HOST:PORT or http://HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:50051")]
    gateway: String,
    #[arg(long, value_enum, default_value_t = Mode::Run)]
    mode: Mode,
    /// Closed loop: this many calls in flight at all times.
    #[arg(long, conflicts_with = "rate")]
    concurrency: Option<usize>,
    /// Open loop: start this many calls per second, whatever the answers take.
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds to run.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    #[arg(long, default_value = "scenarios/universal-10.json")]
    scenario: PathBuf,
    /// Write a JSON summary here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct CeilingArgs {
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// Concurrent publish/pull/ack/put loops.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Bytes in each message and key-value entry.
    #[arg(long, default_value_t = 512)]
    payload_bytes: usize,
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct StackArgs {
    /// Folder holding scenario-gateway and tariff-worker (`cargo build --release --bins`).
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Worker --concurrency (default: the worker's own, CPUs).
    #[arg(long)]
    worker_concurrency: Option<usize>,
    #[arg(long, default_value = "scenarios/universal-10.json")]
    scenario: PathBuf,
    /// Seconds between RSS samples of the worker.
    #[arg(long, default_value_t = 1.0)]
    rss_interval: f64,
}

#[derive(Debug, Args)]
struct AllArgs {
    #[command(flatten)]
    stack: StackArgs,
    /// Concurrencies of the closed-loop sweeps (ceiling and pipeline).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16")]
    sweep: Vec<usize>,
    /// Seconds per sweep step.
    #[arg(long, default_value_t = 5.0)]
    step_secs: f64,
    /// Seconds of the open-loop RunScenario latency run at half the maximum rate.
    #[arg(long, default_value_t = 15.0)]
    latency_secs: f64,
    #[arg(long, default_value_t = 512)]
    payload_bytes: usize,
    /// Seconds to wait before each pipeline step, so the queue and the server's
    /// write-behind of the step before are settled.
    #[arg(long, default_value_t = 1.0)]
    settle_secs: f64,
    /// Pipeline mode of the sweep and the soak.
    #[arg(long, value_enum, default_value_t = Mode::Run)]
    mode: Mode,
    /// Also push this many jobs through at the end (memory soak); 0 for none.
    #[arg(long, default_value_t = 0)]
    soak_jobs: u64,
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct SoakArgs {
    #[command(flatten)]
    stack: StackArgs,
    #[arg(long, default_value_t = 100_000)]
    jobs: u64,
    /// Calls in flight.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// poll (SubmitScenario + GetJob) by default: RunScenario's watch consumers
    /// linger 30 s each, which caps a long RunScenario soak (see BENCHMARKS.md).
    #[arg(long, value_enum, default_value_t = Mode::Poll)]
    mode: Mode,
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Cmd::Pipeline(args) => pipeline_cmd(args).await,
            Cmd::Ceiling(args) => ceiling_cmd(args).await,
            Cmd::All(args) => all_cmd(args).await,
            Cmd::Soak(args) => soak_cmd(args).await,
        }
    })
}

fn write_json(path: Option<&Path>, value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    match path {
        Some(path) => {
            std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
            eprintln!("summary written to {}", path.display());
        }
        None => println!("{text}"),
    }
    Ok(())
}

fn load_scenario(path: &Path) -> anyhow::Result<pb::Scenario> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let format = if path.extension().is_some_and(|e| e == "toml") {
        tariff_scenario::ScenarioFormat::Toml
    } else {
        tariff_scenario::ScenarioFormat::Json
    };
    tariff_scenario::parse_scenario(&text, format).map_err(|e| anyhow!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------- pipeline

async fn connect_gateway(addr: &str) -> anyhow::Result<ScenarioServiceClient<Channel>> {
    let uri = if addr.contains("://") { addr.to_owned() } else { format!("http://{addr}") };
    let channel = Endpoint::from_shared(uri)?.connect_timeout(Duration::from_secs(5)).connect().await?;
    Ok(ScenarioServiceClient::new(channel).max_decoding_message_size(64 << 20))
}

/// One scenario through the gateway, to its end.
async fn one_call(
    client: &mut ScenarioServiceClient<Channel>,
    mode: Mode,
    scenario: &pb::Scenario,
) -> anyhow::Result<()> {
    let call = async {
        match mode {
            Mode::Run => {
                let request = pb::RunScenarioRequest {
                    scenario: Some(scenario.clone()),
                    idempotency_key: String::new(),
                };
                let response = client.run_scenario(request).await?.into_inner();
                if response.result.is_none() {
                    bail!("job {} answered without a result", response.job_id);
                }
            }
            Mode::Poll => {
                let request = pb::SubmitScenarioRequest {
                    scenario: Some(scenario.clone()),
                    idempotency_key: String::new(),
                };
                let job_id = client.submit_scenario(request).await?.into_inner().job_id;
                loop {
                    let job =
                        client.get_job(pb::GetJobRequest { job_id: job_id.clone() }).await?.into_inner();
                    match pb::JobState::try_from(job.state) {
                        Ok(pb::JobState::Succeeded) => break,
                        Ok(pb::JobState::Failed | pb::JobState::Cancelled) => {
                            bail!("job {job_id} ended {:?}: {:?}", job.state, job.error)
                        }
                        _ => tokio::time::sleep(Duration::from_millis(2)).await,
                    }
                }
            }
            Mode::Submit => {
                let request = pb::SubmitScenarioRequest {
                    scenario: Some(scenario.clone()),
                    idempotency_key: String::new(),
                };
                let job_id = client.submit_scenario(request).await?.into_inner().job_id;
                let mut updates =
                    client.watch_job(pb::WatchJobRequest { job_id: job_id.clone() }).await?.into_inner();
                loop {
                    let Some(job) = updates.message().await? else {
                        bail!("job {job_id}: watch ended before the job did");
                    };
                    match pb::JobState::try_from(job.state) {
                        Ok(pb::JobState::Succeeded) => break,
                        Ok(pb::JobState::Failed | pb::JobState::Cancelled) => {
                            bail!("job {job_id} ended {:?}: {:?}", job.state, job.error)
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    };
    tokio::time::timeout(REQUEST_TIMEOUT, call)
        .await
        .map_err(|_| anyhow!("no answer within {REQUEST_TIMEOUT:?}"))?
}

#[derive(Default)]
struct Tally {
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Tally {
    fn error(&self, e: &anyhow::Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(format!("{e:#}"));
        }
    }

    fn first(&self) -> Option<String> {
        self.first_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Closed loop: `concurrency` callers, each starting its next call when the last ends.
async fn closed_loop(
    client: &ScenarioServiceClient<Channel>,
    mode: Mode,
    scenario: &pb::Scenario,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Step> {
    let tally = Arc::new(Tally::default());
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let mut client = client.clone();
        let scenario = scenario.clone();
        let tally = Arc::clone(&tally);
        tasks.push(tokio::spawn(async move {
            let mut histogram = new_histogram()?;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                match one_call(&mut client, mode, &scenario).await {
                    Ok(()) => record(&mut histogram, t0.elapsed()),
                    Err(e) => tally.error(&e),
                }
            }
            anyhow::Ok(histogram)
        }));
    }
    let mut histogram = new_histogram()?;
    for task in tasks {
        histogram.add(task.await??).map_err(|e| anyhow!("merging histograms: {e:?}"))?;
    }
    let mut step = Step::new(
        format!("{mode:?}").to_lowercase(),
        &histogram,
        tally.errors.load(Ordering::Relaxed),
        start.elapsed(),
        tally.first(),
    );
    step.concurrency = Some(concurrency);
    Ok(step)
}

/// Open loop: calls start on a fixed schedule; latency is measured from when each
/// call was due, so a stalled server is not hidden (no coordinated omission).
async fn open_loop(
    client: &ScenarioServiceClient<Channel>,
    mode: Mode,
    scenario: &pb::Scenario,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<Step> {
    let tally = Arc::new(Tally::default());
    let histogram = Arc::new(Mutex::new(new_histogram()?));
    let start = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut i = 0u64;
    loop {
        let due = start + scheduled_offset(i, rate);
        if due.duration_since(start) >= duration {
            break;
        }
        tokio::time::sleep_until(due).await;
        let mut client = client.clone();
        let scenario = scenario.clone();
        let tally = Arc::clone(&tally);
        let histogram = Arc::clone(&histogram);
        tasks.spawn(async move {
            match one_call(&mut client, mode, &scenario).await {
                Ok(()) => record(&mut histogram.lock().unwrap_or_else(|e| e.into_inner()), due.elapsed()),
                Err(e) => tally.error(&e),
            }
        });
        // Reap finished calls as we go, so the set does not grow without bound.
        while tasks.try_join_next().is_some() {}
        i += 1;
    }
    while tasks.join_next().await.is_some() {}
    let histogram = histogram.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut step = Step::new(
        format!("{mode:?}").to_lowercase(),
        &histogram,
        tally.errors.load(Ordering::Relaxed),
        start.elapsed(),
        tally.first(),
    );
    step.target_rate_per_s = Some(rate);
    Ok(step)
}

async fn pipeline_cmd(args: PipelineArgs) -> anyhow::Result<()> {
    let scenario = load_scenario(&args.scenario)?;
    let client = connect_gateway(&args.gateway).await?;
    let duration = Duration::from_secs_f64(args.duration);
    let step = match (args.rate, args.concurrency) {
        (Some(rate), _) => open_loop(&client, args.mode, &scenario, rate, duration).await?,
        (None, concurrency) => {
            closed_loop(&client, args.mode, &scenario, concurrency.unwrap_or(4), duration).await?
        }
    };
    step.print();
    write_json(args.json.as_deref(), &step)
}

// ---------------------------------------------------------------- ceiling

/// Scratch stream, consumer and bucket under a unique prefix; deleted by `cleanup`.
struct Scratch {
    js: jetstream::Context,
    stream: String,
    bucket: String,
    subject: String,
    consumer: jetstream::consumer::Consumer<pull::Config>,
    kv: kv::Store,
}

impl Scratch {
    async fn create(nats_url: &str) -> anyhow::Result<Scratch> {
        let client =
            async_nats::connect(nats_url).await.with_context(|| format!("connecting to {nats_url}"))?;
        let js = jetstream::new(client);
        let prefix = format!("LOADGEN_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let stream_name = format!("{prefix}_JOBS");
        let bucket = format!("{prefix}_STATE");
        let subject = format!("{}.jobs", prefix.to_lowercase());
        // The same settings as the pipeline's job stream and record bucket.
        let created = js
            .create_stream(stream::Config {
                name: stream_name.clone(),
                subjects: vec![format!("{subject}.>")],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await?;
        let consumer = created
            .create_consumer(pull::Config {
                durable_name: Some("loadgen".into()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                ..Default::default()
            })
            .await?;
        let kv = js
            .create_key_value(kv::Config {
                bucket: bucket.clone(),
                history: 1,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await?;
        Ok(Scratch { js, stream: stream_name, bucket, subject, consumer, kv })
    }

    async fn cleanup(&self) -> anyhow::Result<()> {
        self.js.delete_stream(&self.stream).await?;
        self.js.delete_key_value(&self.bucket).await?;
        Ok(())
    }
}

/// One cycle: publish with a message id and wait for the ack, pull one, ack it, put a record.
async fn ceiling_cycle(
    scratch: &Scratch,
    payload: &bytes::Bytes,
    n: u64,
    worker: usize,
) -> anyhow::Result<()> {
    static RUN: AtomicU64 = AtomicU64::new(0);
    let id = format!("w{worker}-{n}-{}", RUN.fetch_add(1, Ordering::Relaxed));
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
    scratch
        .js
        .publish_with_headers(format!("{}.{id}", scratch.subject), headers, payload.clone())
        .await?
        .await?;
    let mut batch =
        scratch.consumer.batch().max_messages(1).expires(Duration::from_secs(2)).messages().await?;
    let message =
        batch.next().await.ok_or_else(|| anyhow!("pull returned nothing"))?.map_err(|e| anyhow!(e))?;
    message.ack_with(jetstream::AckKind::Ack).await.map_err(|e| anyhow!(e))?;
    scratch.kv.put(&id, payload.clone()).await?;
    Ok(())
}

async fn ceiling_run(
    scratch: &Arc<Scratch>,
    concurrency: usize,
    duration: Duration,
    payload_bytes: usize,
) -> anyhow::Result<Step> {
    let payload = bytes::Bytes::from(vec![b'x'; payload_bytes]);
    let tally = Arc::new(Tally::default());
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for worker in 0..concurrency.max(1) {
        let scratch = Arc::clone(scratch);
        let payload = payload.clone();
        let tally = Arc::clone(&tally);
        tasks.push(tokio::spawn(async move {
            let mut histogram = new_histogram()?;
            let mut n = 0u64;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let cycle =
                    tokio::time::timeout(REQUEST_TIMEOUT, ceiling_cycle(&scratch, &payload, n, worker)).await;
                match cycle.map_err(|_| anyhow!("cycle timed out")).and_then(|r| r) {
                    Ok(()) => record(&mut histogram, t0.elapsed()),
                    Err(e) => tally.error(&e),
                }
                n += 1;
            }
            anyhow::Ok(histogram)
        }));
    }
    let mut histogram = new_histogram()?;
    for task in tasks {
        histogram.add(task.await??).map_err(|e| anyhow!("merging histograms: {e:?}"))?;
    }
    let mut step = Step::new(
        "ceiling",
        &histogram,
        tally.errors.load(Ordering::Relaxed),
        start.elapsed(),
        tally.first(),
    );
    step.concurrency = Some(concurrency);
    Ok(step)
}

async fn ceiling_cmd(args: CeilingArgs) -> anyhow::Result<()> {
    let scratch = Arc::new(Scratch::create(&args.nats_url).await?);
    let result =
        ceiling_run(&scratch, args.concurrency, Duration::from_secs_f64(args.duration), args.payload_bytes)
            .await;
    scratch.cleanup().await?;
    let step = result?;
    step.print();
    write_json(args.json.as_deref(), &step)
}

// ---------------------------------------------------------------- the stack

/// A nats-server, one gateway and one worker, all child processes of this one.
struct Stack {
    nats: tariff_test_support::NatsServer,
    gateway: Child,
    worker: Child,
    gateway_addr: String,
    _logs: tempfile::TempDir,
}

impl Stack {
    async fn start(args: &StackArgs) -> anyhow::Result<Stack> {
        let gateway_bin = args.bin_dir.join("scenario-gateway");
        let worker_bin = args.bin_dir.join("tariff-worker");
        for bin in [&gateway_bin, &worker_bin] {
            if !bin.exists() {
                bail!("{} not found: build it first with `cargo build --release --bins`", bin.display());
            }
        }
        let nats =
            tariff_test_support::NatsServer::start().map_err(|e| anyhow!("starting nats-server: {e}"))?;
        let logs = tempfile::tempdir()?;
        let port = tariff_test_support::free_port().map_err(|e| anyhow!("{e}"))?;
        let gateway_addr = format!("127.0.0.1:{port}");
        let log = |name: &str| -> anyhow::Result<Stdio> {
            Ok(std::fs::File::create(logs.path().join(name))?.into())
        };
        let gateway = Command::new(&gateway_bin)
            .args(["--listen", &gateway_addr, "--nats-url", &nats.url()])
            .env("TARIFF_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log("gateway.log")?)
            .spawn()
            .with_context(|| format!("starting {}", gateway_bin.display()))?;
        let mut worker_cmd = Command::new(&worker_bin);
        worker_cmd.args(["--nats-url", &nats.url()]).env("TARIFF_LOG", "warn");
        if let Some(c) = args.worker_concurrency {
            worker_cmd.args(["--concurrency", &c.to_string()]);
        }
        let worker = worker_cmd
            .stdout(Stdio::null())
            .stderr(log("worker.log")?)
            .spawn()
            .with_context(|| format!("starting {}", worker_bin.display()))?;
        let stack = Stack { nats, gateway, worker, gateway_addr, _logs: logs };
        eprintln!(
            "stack: nats {} (pid {:?}), gateway {} (pid {}), worker (pid {})",
            stack.nats.url(),
            stack.nats.pid(),
            stack.gateway_addr,
            stack.gateway.id(),
            stack.worker.id()
        );
        Ok(stack)
    }

    /// Waits until a RunScenario succeeds end to end.
    async fn ready(&self, scenario: &pb::Scenario) -> anyhow::Result<ScenarioServiceClient<Channel>> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let attempt = async {
                let mut client = connect_gateway(&self.gateway_addr).await?;
                one_call(&mut client, Mode::Run, scenario).await?;
                anyhow::Ok(client)
            };
            match attempt.await {
                Ok(client) => return Ok(client),
                Err(e) if Instant::now() > deadline => return Err(e.context("the stack did not come up")),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    fn log_tail(&self, name: &str) -> String {
        std::fs::read_to_string(self._logs.path().join(name))
            .map(|t| {
                t.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
            })
            .unwrap_or_default()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for child in [&mut self.gateway, &mut self.worker] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Samples a process's resident memory until stopped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<(f64, u64)>>,
}

impl RssSampler {
    fn start(pid: u32, interval: Duration) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let start = Instant::now();
            let mut samples = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                if let Some(kib) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .ok()
                    .as_deref()
                    .and_then(parse_vm_rss)
                {
                    samples.push((start.elapsed().as_secs_f64(), kib));
                }
                tokio::time::sleep(interval).await;
            }
            samples
        });
        RssSampler { stop, task }
    }

    async fn finish(self) -> RssSummary {
        self.stop.store(true, Ordering::Relaxed);
        RssSummary::of(self.task.await.unwrap_or_default())
    }
}

#[derive(Debug, Serialize)]
struct AllSummary {
    machine: Machine,
    scenario: String,
    ceiling_sweep: Vec<Step>,
    ceiling_max_per_s: f64,
    pipeline_sweep: Vec<Step>,
    pipeline_max_per_s: f64,
    pipeline_over_ceiling: f64,
    half_rate_latency: Step,
    soak: Option<SoakSummary>,
    worker_rss: RssSummary,
}

#[derive(Debug, Serialize)]
struct Machine {
    cpus: usize,
    cpu_model: String,
}

fn machine() -> Machine {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name").map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    Machine { cpus: std::thread::available_parallelism().map_or(0, |n| n.get()), cpu_model }
}

#[derive(Debug, Serialize)]
struct SoakSummary {
    jobs: u64,
    concurrency: usize,
    elapsed_s: f64,
    ok: u64,
    errors: u64,
    throughput_per_s: f64,
    rss_first_kib: u64,
    rss_last_kib: u64,
    rss_max_kib: u64,
    first_error: Option<String>,
}

/// Pushes `jobs` RunScenario calls through at `concurrency`, reporting progress.
async fn soak(
    client: &ScenarioServiceClient<Channel>,
    scenario: &pb::Scenario,
    jobs: u64,
    concurrency: usize,
    mode: Mode,
    worker_pid: u32,
) -> anyhow::Result<SoakSummary> {
    eprintln!("soak: {jobs} jobs, {mode:?} mode, concurrency {concurrency}");
    let next = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Tally::default());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (mut client, scenario) = (client.clone(), scenario.clone());
        let (next, ok, tally) = (Arc::clone(&next), Arc::clone(&ok), Arc::clone(&tally));
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < jobs {
                match one_call(&mut client, mode, &scenario).await {
                    Ok(()) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => tally.error(&e),
                }
            }
        }));
    }
    let reporter = {
        let ok = Arc::clone(&ok);
        async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let kib = std::fs::read_to_string(format!("/proc/{worker_pid}/status"))
                    .ok()
                    .as_deref()
                    .and_then(parse_vm_rss)
                    .unwrap_or(0);
                eprintln!("soak: {} jobs done, worker RSS {kib} KiB", ok.load(Ordering::Relaxed));
            }
        }
    };
    tokio::select! {
        _ = futures::future::join_all(tasks) => {}
        () = reporter => {}
    }
    let elapsed = start.elapsed();
    let ok = ok.load(Ordering::Relaxed);
    Ok(SoakSummary {
        jobs,
        concurrency,
        elapsed_s: elapsed.as_secs_f64(),
        ok,
        errors: tally.errors.load(Ordering::Relaxed),
        throughput_per_s: ok as f64 / elapsed.as_secs_f64(),
        rss_first_kib: 0,
        rss_last_kib: 0,
        rss_max_kib: 0,
        first_error: tally.first(),
    })
}

async fn all_cmd(args: AllArgs) -> anyhow::Result<()> {
    let scenario = load_scenario(&args.stack.scenario)?;
    let stack = Stack::start(&args.stack).await?;
    let client = match stack.ready(&scenario).await {
        Ok(c) => c,
        Err(e) => bail!(
            "{e:#}\ngateway log:\n{}\nworker log:\n{}",
            stack.log_tail("gateway.log"),
            stack.log_tail("worker.log")
        ),
    };
    let sampler = RssSampler::start(stack.worker.id(), Duration::from_secs_f64(args.stack.rss_interval));
    let step = Duration::from_secs_f64(args.step_secs);

    eprintln!("-- ceiling: publish+ack, pull, ack, kv put ({} B)", args.payload_bytes);
    let scratch = Arc::new(Scratch::create(&stack.nats.url()).await?);
    let mut ceiling_sweep = Vec::new();
    for &c in &args.sweep {
        let s = ceiling_run(&scratch, c, step, args.payload_bytes).await?;
        s.print();
        ceiling_sweep.push(s);
    }
    scratch.cleanup().await?;

    eprintln!("-- pipeline: RunScenario closed loop");
    let mut pipeline_sweep = Vec::new();
    for &c in &args.sweep {
        tokio::time::sleep(Duration::from_secs_f64(args.settle_secs)).await;
        let s = closed_loop(&client, args.mode, &scenario, c, step).await?;
        s.print();
        pipeline_sweep.push(s);
    }
    let ceiling_max = best(&ceiling_sweep).map_or(0.0, |s| s.throughput_per_s);
    let pipeline_max = best(&pipeline_sweep).map_or(0.0, |s| s.throughput_per_s);

    let half = (pipeline_max / 2.0).max(1.0);
    eprintln!("-- RunScenario open loop at half the maximum rate");
    tokio::time::sleep(Duration::from_secs_f64(args.settle_secs)).await;
    let half_rate_latency =
        open_loop(&client, Mode::Run, &scenario, half, Duration::from_secs_f64(args.latency_secs)).await?;
    half_rate_latency.print();

    let soak_summary = if args.soak_jobs > 0 {
        eprintln!("-- soak: {} jobs", args.soak_jobs);
        Some(soak(&client, &scenario, args.soak_jobs, 8, Mode::Poll, stack.worker.id()).await?)
    } else {
        None
    };
    let worker_rss = sampler.finish().await;
    let ratio = if ceiling_max > 0.0 { pipeline_max / ceiling_max } else { 0.0 };
    eprintln!(
        "ceiling {ceiling_max:.1}/s, pipeline {pipeline_max:.1}/s, ratio {ratio:.3}; worker RSS first {} KiB, last {} KiB, max {} KiB",
        worker_rss.first_kib, worker_rss.last_kib, worker_rss.max_kib
    );
    let summary = AllSummary {
        machine: machine(),
        scenario: args.stack.scenario.display().to_string(),
        ceiling_sweep,
        ceiling_max_per_s: ceiling_max,
        pipeline_sweep,
        pipeline_max_per_s: pipeline_max,
        pipeline_over_ceiling: ratio,
        half_rate_latency,
        soak: soak_summary.map(|s| fill_rss(s, &worker_rss)),
        worker_rss,
    };
    write_json(args.json.as_deref(), &summary)
}

fn fill_rss(mut s: SoakSummary, rss: &RssSummary) -> SoakSummary {
    s.rss_first_kib = rss.first_kib;
    s.rss_last_kib = rss.last_kib;
    s.rss_max_kib = rss.max_kib;
    s
}

async fn soak_cmd(args: SoakArgs) -> anyhow::Result<()> {
    let scenario = load_scenario(&args.stack.scenario)?;
    let stack = Stack::start(&args.stack).await?;
    let client = stack.ready(&scenario).await?;
    let sampler = RssSampler::start(stack.worker.id(), Duration::from_secs_f64(args.stack.rss_interval));
    let summary = soak(&client, &scenario, args.jobs, args.concurrency, args.mode, stack.worker.id()).await?;
    let rss = sampler.finish().await;
    let summary = fill_rss(summary, &rss);
    eprintln!(
        "soak: {} ok, {} errors in {:.1} s ({:.1}/s); worker RSS first {} KiB, last {} KiB, max {} KiB",
        summary.ok,
        summary.errors,
        summary.elapsed_s,
        summary.throughput_per_s,
        rss.first_kib,
        rss.last_kib,
        rss.max_kib
    );
    #[derive(Serialize)]
    struct Out {
        soak: SoakSummary,
        worker_rss: RssSummary,
    }
    write_json(args.json.as_deref(), &Out { soak: summary, worker_rss: rss })
}
