//! `all`: start the stack and measure everything in one run: the ceiling sweep,
//! the pipeline sweep, RunScenario latency at half the best rate and, if asked, a
//! soak, with the worker's RSS sampled throughout.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::bail;
use serde::Serialize;

use crate::{
    AllArgs, ceiling,
    ceiling::Scratch,
    cpu::{self, CpuPerJob},
    gateway::{Mode, load_scenario},
    pipeline,
    rss::{RssSampler, RssSummary},
    soak::{SoakSummary, soak},
    stack::Stack,
    stats::{Step, best, write_json},
};

#[derive(Debug, Serialize)]
struct AllSummary {
    machine: Machine,
    scenario: String,
    /// nats-server's GOMEMLIMIT in this run, or `none`.
    nats_go_memory_limit: String,
    ceiling_sweep: Vec<Step>,
    ceiling_max_per_s: f64,
    pipeline_sweep: Vec<Step>,
    /// CPU per job of each process at each pipeline step.
    pipeline_cpu: Vec<CpuPerJob>,
    pipeline_max_per_s: f64,
    pipeline_over_ceiling: f64,
    /// One job's compute alone, in process, in milliseconds.
    compute_ms: f64,
    /// One job per (compute / cores + two ceiling cycles), in jobs per second.
    limit_per_s: f64,
    pipeline_over_limit: f64,
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

pub async fn command(args: AllArgs) -> anyhow::Result<()> {
    let scenario = load_scenario(&args.stack.scenario, args.stack.view)?;
    let stack = Stack::start(&args.stack).await?;
    let client = match stack.ready(&scenario).await {
        Ok(c) => c,
        Err(e) => bail!(
            "{e:#}\ngateway log:\n{}\nworker log:\n{}",
            stack.log_tail("gateway.log"),
            stack.log_tail("worker.log")
        ),
    };
    let sampler = RssSampler::start(stack.worker_pid(), Duration::from_secs_f64(args.stack.rss_interval));
    let step = Duration::from_secs_f64(args.step_secs);

    eprintln!("-- ceiling: publish+ack, pull, ack, kv put ({} B)", args.payload_bytes);
    let scratch = Arc::new(Scratch::create(&stack.nats_url()).await?);
    let ceiling_sweep =
        sweep(&args.sweep, |c| ceiling::measure(&scratch, c, step, args.payload_bytes)).await?;
    scratch.cleanup().await?;

    eprintln!("-- pipeline: RunScenario closed loop");
    let processes = stack.processes();
    let cpu = std::sync::Mutex::new(Vec::new());
    let (client, scenario, mode, settle_secs) = (&client, &scenario, args.mode, args.settle_secs);
    let (processes, cpu_steps) = (&processes, &cpu);
    let pipeline_sweep = sweep(&args.sweep, |c| async move {
        tokio::time::sleep(Duration::from_secs_f64(settle_secs)).await;
        let before = processes.read();
        let measured = pipeline::closed_loop(client, mode, scenario, c, step).await?;
        let mut per_job = CpuPerJob::between(processes, &before, &processes.read(), measured.ok);
        per_job.concurrency = Some(c);
        per_job.print();
        if let Ok(mut steps) = cpu_steps.lock() {
            steps.push(per_job);
        }
        Ok(measured)
    })
    .await?;
    let pipeline_cpu = cpu.into_inner().unwrap_or_default();
    let ceiling_max = best(&ceiling_sweep).map_or(0.0, |s| s.throughput_per_s);
    let pipeline_max = best(&pipeline_sweep).map_or(0.0, |s| s.throughput_per_s);
    let compute = cpu::compute_time(scenario, Duration::from_secs(2))?;
    let cores = machine().cpus;
    let limit = cpu::limit_per_s(compute, cores, ceiling_max);
    let over_limit = pipeline_max / limit;
    eprintln!(
        "compute {:.3} ms on {cores} cores, ceiling {ceiling_max:.0}/s: limit {limit:.0} jobs/s; \
         pipeline {pipeline_max:.1}/s = {over_limit:.3} of it",
        compute.as_secs_f64() * 1000.0
    );

    let half = (pipeline_max / 2.0).max(1.0);
    eprintln!("-- RunScenario open loop at half the maximum rate");
    tokio::time::sleep(Duration::from_secs_f64(args.settle_secs)).await;
    let half_rate_latency =
        pipeline::open_loop(client, Mode::Run, scenario, half, Duration::from_secs_f64(args.latency_secs))
            .await?;
    half_rate_latency.print();

    let soak_summary = if args.soak_jobs > 0 {
        eprintln!("-- soak: {} jobs", args.soak_jobs);
        Some(soak(client, scenario, args.soak_jobs, 8, Mode::Poll, stack.worker_pid()).await?)
    } else {
        None
    };
    let worker_rss = sampler.finish().await;
    let ratio = if ceiling_max > 0.0 { pipeline_max / ceiling_max } else { 0.0 };
    eprintln!(
        "ceiling {ceiling_max:.1}/s, pipeline {pipeline_max:.1}/s, ratio {ratio:.3}; worker RSS {worker_rss}"
    );
    let summary = AllSummary {
        machine: machine(),
        scenario: args.stack.scenario.display().to_string(),
        nats_go_memory_limit: args.stack.nats_go_memory_limit.clone(),
        ceiling_sweep,
        ceiling_max_per_s: ceiling_max,
        pipeline_sweep,
        pipeline_cpu,
        pipeline_max_per_s: pipeline_max,
        pipeline_over_ceiling: ratio,
        compute_ms: compute.as_secs_f64() * 1000.0,
        limit_per_s: limit,
        pipeline_over_limit: over_limit,
        half_rate_latency,
        soak: soak_summary.map(|s| s.with_rss(&worker_rss)),
        worker_rss,
    };
    write_json(args.json.as_deref(), &summary)
}

/// `measure` at each concurrency in turn, each step printed as it ends.
async fn sweep<F: Future<Output = anyhow::Result<Step>>>(
    concurrencies: &[usize],
    mut measure: impl FnMut(usize) -> F,
) -> anyhow::Result<Vec<Step>> {
    let mut steps = Vec::new();
    for &c in concurrencies {
        let step = measure(c).await?;
        step.print();
        steps.push(step);
    }
    Ok(steps)
}
