//! `tariffctl run`: one scenario, computed in process, or on a gateway with
//! `--remote`.

use std::path::Path;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use tariff_proto::v1::{self as pb, ScenarioResult};
use tariff_scenario::{EvaluateOptions, FlowSelection, PreparedScenario, ScenarioError};

use super::{
    ChartArg,
    remote::{RemoteRun, run_remote},
    scenario_arg::ScenarioSource,
    source::{read_scenario, resolve_dataset},
    view_arg::ViewArg,
};
use crate::{
    output::{Format, print_result},
    progress::LocalProgress,
    tornado::TornadoArg,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SolverArg {
    /// Nonlinear Armington CES (the default).
    Exact,
    /// GSIM, linearised.
    Gsim,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    source: ScenarioSource,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(flatten)]
    chart: ChartArg,
    #[command(flatten)]
    tornado: TornadoArg,
    #[command(flatten)]
    view: ViewArg,
}

pub fn apply_solver(scenario: &mut pb::Scenario, solver: Option<SolverArg>) {
    if let Some(solver) = solver {
        scenario.solver = match solver {
            SolverArg::Exact => pb::Solver::Exact,
            SolverArg::Gsim => pb::Solver::Gsim,
        }
        .into();
    }
}

/// Where a scenario is computed: in process on a dataset, or on a gateway.
#[derive(Debug)]
pub enum Compute<'a> {
    Local { dataset: Option<&'a Path>, view: Option<pb::ResultOptions> },
    Remote(RemoteRun),
}

/// Computes the scenario in `path`; the one code path of `run` and `compare`.
pub fn compute(path: &Path, solver: Option<SolverArg>, how: Compute) -> anyhow::Result<ScenarioResult> {
    let mut scenario = read_scenario(path)?;
    apply_solver(&mut scenario, solver);
    compute_scenario(scenario, path, how)
}

/// Computes `scenario`, read from `path` (which names it in errors and
/// anchors a dataset folder it names).
pub fn compute_scenario(scenario: pb::Scenario, path: &Path, how: Compute) -> anyhow::Result<ScenarioResult> {
    let (dataset, view) = match how {
        Compute::Remote(remote) => return run_remote(scenario, path, remote),
        Compute::Local { dataset, view } => (dataset, view),
    };
    let dataset = resolve_dataset(dataset, &scenario.dataset, path.parent())?;
    let shown = path.display();
    let prepared = PreparedScenario::for_request(&dataset, &scenario, &Default::default())
        .map_err(|e| anyhow!("{shown}: {e}"))?;
    let flows = view
        .map(|v| FlowSelection::resolve(&dataset, &v, pb::ResultView::Full))
        .transpose()
        .map_err(|e| anyhow!("{shown}: {e}"))?;
    let mut bar = LocalProgress::new();
    prepared
        .evaluate_with(&EvaluateOptions { flows, ..Default::default() }, &mut |p| bar.update(p))
        .map_err(|e| anyhow!("{shown}: {}", ScenarioError::from(e)))
}

/// `--dataset` names a local folder, which a gateway cannot read.
pub fn check_remote_dataset(dataset: Option<&Path>) -> anyhow::Result<()> {
    if let Some(dir) = dataset {
        anyhow::bail!(
            "--dataset {} (or TARIFF_DATASET) cannot be used with --remote: a gateway only has its built-in \
             datasets; name one in the scenario's `dataset` field",
            dir.display()
        );
    }
    Ok(())
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    args.chart.check()?;
    let result = args.source.compute(args.view.options(), |s| args.chart.check_scenario(s))?;
    args.chart.write(&result, &args.tornado)?;
    print_result(&result, args.format, &args.tornado, &mut std::io::stdout().lock())
}
