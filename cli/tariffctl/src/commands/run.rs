//! `tariffctl run`: one scenario, computed in process, or on a gateway with
//! `--remote`.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use tariff_proto::v1 as pb;
use tariff_scenario::{PreparedScenario, ScenarioError};

use super::{
    remote::{RemoteRun, WaitArg, run_remote},
    source::{read_scenario, resolve_dataset},
};
use crate::output::{Format, print_result};

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
    /// Compute on this gateway (http://HOST:PORT or HOST:PORT) instead of in process.
    #[arg(long, value_name = "ADDR", env = "TARIFF_REMOTE")]
    remote: Option<String>,
    /// With --remote: running again with the same key follows the same job.
    #[arg(long, value_name = "KEY", requires = "remote")]
    idempotency_key: Option<String>,
    #[command(flatten)]
    wait: WaitArg,
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

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    if let Some(address) = args.remote {
        if let Some(dir) = &args.dataset {
            anyhow::bail!(
                "--dataset {} (or TARIFF_DATASET) cannot be used with --remote: a gateway only has its built-in \
                 datasets; name one in the scenario's `dataset` field",
                dir.display()
            );
        }
        let remote = RemoteRun {
            address,
            idempotency_key: args.idempotency_key,
            wait: args.wait,
            format: args.format,
        };
        return run_remote(&args.scenario, args.solver, remote);
    }
    let mut scenario = read_scenario(&args.scenario)?;
    apply_solver(&mut scenario, args.solver);
    let dataset = resolve_dataset(args.dataset.as_deref(), &scenario.dataset, args.scenario.parent())?;
    let shown = args.scenario.display();
    let prepared = PreparedScenario::new(&dataset, &scenario).map_err(|e| anyhow!("{shown}: {e}"))?;
    let result = prepared
        .evaluate(&mut |_| std::ops::ControlFlow::Continue(()))
        .map_err(|e| anyhow!("{shown}: {}", ScenarioError::from(e)))?;
    print_result(&result, args.format, &mut std::io::stdout().lock())
}
