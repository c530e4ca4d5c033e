//! `tariffctl run`: one scenario, computed in process, or on a gateway with
//! `--remote`.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use tariff_proto::v1::{self as pb, ScenarioResult};
use tariff_scenario::{EvaluateOptions, FlowSelection, PreparedScenario, ScenarioError};

use super::{
    ChartArg,
    remote::{RemoteRun, SecurityArgs, WaitArg, run_remote},
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
    /// Scenario file: proto3 JSON of tariff.v1.Scenario (or TOML with a .toml extension).
    scenario: PathBuf,
    /// A dataset folder, instead of the one the scenario names.
    #[arg(long, value_name = "DIR", env = "TARIFF_DATASET")]
    dataset: Option<PathBuf>,
    /// The solver, instead of the one the scenario names.
    #[arg(long, value_enum)]
    solver: Option<SolverArg>,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Compute on this gateway (HOST:PORT, http://HOST:PORT or https://HOST:PORT) instead of in process.
    #[arg(long, value_name = "ADDR", env = "TARIFF_REMOTE")]
    remote: Option<String>,
    /// With --remote: running again with the same key follows the same job.
    #[arg(long, value_name = "KEY", requires = "remote")]
    idempotency_key: Option<String>,
    #[command(flatten)]
    security: SecurityArgs,
    #[command(flatten)]
    wait: WaitArg,
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
    let dataset = match how {
        Compute::Remote(remote) => return run_remote(path, solver, remote),
        Compute::Local { dataset, view } => (dataset, view),
    };
    let (dataset, view) = dataset;
    let mut scenario = read_scenario(path)?;
    apply_solver(&mut scenario, solver);
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
    let how = match args.remote {
        Some(address) => {
            check_remote_dataset(args.dataset.as_deref())?;
            Compute::Remote(RemoteRun {
                address,
                security: args.security,
                idempotency_key: args.idempotency_key,
                wait: args.wait,
                view: args.view.options(),
            })
        }
        None => Compute::Local { dataset: args.dataset.as_deref(), view: args.view.options() },
    };
    let result = compute(&args.scenario, args.solver, how)?;
    args.chart.write(&result, &args.tornado)?;
    print_result(&result, args.format, &args.tornado, &mut std::io::stdout().lock())
}
