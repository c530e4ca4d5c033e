//! `tariff-loadgen`: drives a scenario gateway at a fixed concurrency or rate and
//! reports throughput and latency; measures the raw JetStream cycle the pipeline
//! rests on (the ceiling); and, with `all` and `soak`, starts its own nats-server,
//! gateway and worker to measure everything in one run. See BENCHMARKS.md.
//!
//! This file holds the command line and the dispatch; each subcommand has its own
//! module (`pipeline`, `ceiling`, `all`, `soak`).

mod all;
mod ceiling;
mod cpu;
mod drive;
mod gateway;
mod pipeline;
mod rss;
mod soak;
mod stack;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::gateway::{Mode, View};

// mimalloc: glibc malloc (malloc_consolidate on the large records) showed ~15% in profiles under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// The result view each call asks for.
    #[arg(long, value_enum, default_value_t = View::Service)]
    view: View,
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
    /// The result view each call asks for.
    #[arg(long, value_enum, default_value_t = View::Service)]
    view: View,
    /// Seconds between RSS samples of the worker.
    #[arg(long, default_value_t = 1.0)]
    rss_interval: f64,
    /// The stack's job records bucket limit, in MiB (the services'
    /// --nats-records-max-mb): a run at 2,000 jobs/s of 27 KB records fills
    /// the services' default 1 GiB in under 20 s, as it should in service.
    #[arg(long, default_value_t = 8192)]
    records_max_mb: u64,
    /// nats-server's Go memory limit (GOMEMLIMIT, in Go's units: 900MiB, 2GiB),
    /// as the production NATS pods set it; `none` leaves it unset. Unlimited,
    /// its heap passes 1.3 GiB in an `all` run, more than a pod's 1 GiB.
    #[arg(long, default_value = stack::DEPLOYED_NATS_GOMEMLIMIT)]
    nats_go_memory_limit: String,
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

fn main() -> ExitCode {
    // One line, the causes joined, as the services exit: anyhow's report from
    // `main` printed a backtrace of the tool when RUST_BACKTRACE was set.
    tariff_telemetry::exit_code(run(Cli::parse()))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Cmd::Pipeline(args) => pipeline::command(args).await,
            Cmd::Ceiling(args) => ceiling::command(args).await,
            Cmd::All(args) => all::command(args).await,
            Cmd::Soak(args) => soak::command(args).await,
        }
    })
}
