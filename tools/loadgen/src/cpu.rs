//! CPU per job: each process's user + system time (`/proc/<pid>/stat`) over a
//! pipeline step, divided by the jobs the step completed; and the limit the
//! issue sets for the pipeline, one job per (compute time / cores + two raw
//! JetStream cycles).

use std::time::{Duration, Instant};

use anyhow::anyhow;
use serde::Serialize;
use tariff_proto::v1 as pb;

use crate::gateway::Load;

/// The processes of a stack, by name, with their pids.
#[derive(Debug, Clone)]
pub struct Processes(pub Vec<(&'static str, u32)>);

/// CPU time of each process at one moment.
#[derive(Debug, Clone)]
pub struct Reading(Vec<Duration>);

impl Processes {
    pub fn read(&self) -> Reading {
        Reading(
            self.0.iter().map(|(_, pid)| tariff_test_support::cpu_time(*pid).unwrap_or_default()).collect(),
        )
    }
}

/// Milliseconds of CPU per job of each process over one step.
#[derive(Debug, Clone, Serialize)]
pub struct CpuPerJob {
    pub concurrency: Option<usize>,
    pub jobs: u64,
    /// Process name and milliseconds of CPU per job.
    pub per_job_ms: Vec<(String, f64)>,
    pub total_ms: f64,
}

impl CpuPerJob {
    pub fn between(processes: &Processes, before: &Reading, after: &Reading, jobs: u64) -> CpuPerJob {
        let per_job_ms: Vec<(String, f64)> = processes
            .0
            .iter()
            .zip(before.0.iter().zip(&after.0))
            .map(|((name, _), (b, a))| {
                ((*name).to_owned(), a.saturating_sub(*b).as_secs_f64() * 1000.0 / jobs.max(1) as f64)
            })
            .collect();
        let total_ms = per_job_ms.iter().map(|(_, ms)| ms).sum();
        CpuPerJob { concurrency: None, jobs, per_job_ms, total_ms }
    }

    pub fn print(&self) {
        let parts: Vec<String> = self.per_job_ms.iter().map(|(n, ms)| format!("{n} {ms:.3}")).collect();
        eprintln!("           CPU ms/job: {} = {:.3}", parts.join(", "), self.total_ms);
    }
}

/// How long the library takes to compute the scenario alone, in process: the
/// mean over runs for about `budget`.
/// The flows kept are those of the view the calls ask for, as in a worker.
pub fn compute_time(load: &Load, budget: Duration) -> anyhow::Result<Duration> {
    use tariff_scenario::{EvaluateOptions, FlowSelection, PreparedScenario, dataset};
    let id = if load.scenario.dataset.is_empty() { dataset::DEFAULT_DATASET } else { &load.scenario.dataset };
    let dataset = dataset::builtin(id)
        .ok_or_else(|| anyhow!("no built-in dataset `{id}`"))?
        .map_err(|e| anyhow!("{e}"))?;
    let prepared = PreparedScenario::new(dataset, &load.scenario).map_err(|e| anyhow!("{e}"))?;
    let flows = load
        .view
        .as_ref()
        .map(|v| FlowSelection::resolve(dataset, v, pb::ResultView::Full))
        .transpose()
        .map_err(|e| anyhow!("{e}"))?;
    let options = EvaluateOptions { flows, ..Default::default() };
    let started = Instant::now();
    let mut runs = 0u32;
    while runs < 5 || started.elapsed() < budget {
        prepared
            .evaluate_with(&options, &mut |_| std::ops::ControlFlow::Continue(()))
            .map_err(|e| anyhow!("{e}"))?;
        runs += 1;
    }
    Ok(started.elapsed() / runs)
}

/// The limit of the pipeline: one job per (compute / cores + two
/// JetStream cycles at the ceiling's best rate), in jobs per second.
pub fn limit_per_s(compute: Duration, cores: usize, ceiling_per_s: f64) -> f64 {
    let per_job = compute.as_secs_f64() / cores.max(1) as f64 + 2.0 / ceiling_per_s.max(1.0);
    1.0 / per_job
}
