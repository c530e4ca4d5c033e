//! The scenario a command computes, and where: in process on a dataset, or on
//! a gateway. Shared by `run` and the analysis commands, which add their
//! analysis to the scenario before it is computed.

use std::path::PathBuf;

use clap::Args;
use tariff_proto::v1::{ResultOptions, Scenario, ScenarioResult};

use super::{
    remote::{RemoteRun, SecurityArgs, WaitArg},
    run::{Compute, SolverArg, apply_solver, check_remote_dataset, compute_scenario},
    source::read_scenario,
};

#[derive(Debug, Args)]
pub struct ScenarioSource {
    /// Scenario file: proto3 JSON of tariff.v1.Scenario (or TOML with a .toml extension).
    pub scenario: PathBuf,
    /// A dataset folder, instead of the one the scenario names.
    #[arg(long, value_name = "DIR", env = "TARIFF_DATASET")]
    dataset: Option<PathBuf>,
    /// The solver, instead of the one the scenario names.
    #[arg(long, value_enum)]
    solver: Option<SolverArg>,
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
}

impl ScenarioSource {
    /// Reads the scenario, lets `edit` change it, and computes it, keeping
    /// what `view` asks for.
    pub fn compute(
        &self,
        view: Option<ResultOptions>,
        edit: impl FnOnce(&mut Scenario) -> anyhow::Result<()>,
    ) -> anyhow::Result<ScenarioResult> {
        // Before reading anything: a flag that cannot work is the first thing to hear about.
        if self.remote.is_some() {
            check_remote_dataset(self.dataset.as_deref())?;
        }
        let mut scenario = read_scenario(&self.scenario)?;
        apply_solver(&mut scenario, self.solver);
        edit(&mut scenario)?;
        let how = match &self.remote {
            Some(address) => Compute::Remote(RemoteRun {
                address: address.clone(),
                security: self.security.clone(),
                idempotency_key: self.idempotency_key.clone(),
                wait: self.wait,
                view,
            }),
            None => Compute::Local { dataset: self.dataset.as_deref(), view },
        };
        compute_scenario(scenario, &self.scenario, how)
    }
}
