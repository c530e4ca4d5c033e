//! Sending a scenario to a gateway: `submit` (queue it, print the job id) and
//! `run --remote` (queue it and wait for the result).

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use clap::Args;
use tariff_proto::v1::{Scenario, ScenarioResult};
use tariff_scenario::dataset::BUILTIN_DATASETS;

use super::{
    GatewayArg, SecurityArgs, WaitArg, before, block_on, client::Gateway, credentials::Credentials,
    follow::into_result, wait_for,
};
use crate::commands::{
    run::{SolverArg, apply_solver},
    source::read_scenario,
};

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Scenario file: proto3 JSON of tariff.v1.Scenario (or TOML with a .toml extension).
    scenario: PathBuf,
    #[command(flatten)]
    gateway: GatewayArg,
    /// Submitting again with the same key gives the same job, never a second one.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
    /// The solver, instead of the one the scenario names.
    #[arg(long, value_enum)]
    solver: Option<SolverArg>,
    #[command(flatten)]
    view: crate::commands::view_arg::ViewArg,
}

/// What `run --remote` needs besides the scenario.
#[derive(Debug)]
pub struct RemoteRun {
    pub address: String,
    pub security: SecurityArgs,
    pub idempotency_key: Option<String>,
    pub wait: WaitArg,
    /// The result view to submit with (`None`: the gateway's default).
    pub view: Option<tariff_proto::v1::ResultOptions>,
}

/// The gateway only knows its built-in datasets. A scenario naming a folder
/// next to it would be refused there as an unknown dataset; saying why here is
/// clearer. Other unknown ids are left to the gateway, which may be newer.
fn check_dataset(scenario: &Scenario, path: &Path) -> anyhow::Result<()> {
    let named = scenario.dataset.as_str();
    if named.is_empty() || BUILTIN_DATASETS.contains(&named) {
        return Ok(());
    }
    let folder = path.parent().map_or_else(|| PathBuf::from(named), |base| base.join(named));
    if folder.is_dir() {
        anyhow::bail!(
            "{}: dataset `{named}` is a local folder, which a gateway cannot read; with --remote name a built-in dataset ({})",
            path.display(),
            BUILTIN_DATASETS.join(", ")
        );
    }
    Ok(())
}

fn prepare(path: &Path, solver: Option<SolverArg>) -> anyhow::Result<Scenario> {
    let mut scenario = read_scenario(path)?;
    apply_solver(&mut scenario, solver);
    check_dataset(&scenario, path)?;
    Ok(scenario)
}

pub fn submit(args: SubmitArgs) -> anyhow::Result<()> {
    let scenario = prepare(&args.scenario, args.solver)?;
    let key = args.idempotency_key.unwrap_or_default();
    let credentials = args.gateway.credentials()?;
    block_on(async move {
        let mut gateway = Gateway::connect(&args.gateway.address, credentials).await?;
        let submitted = gateway.submit(scenario, &key, args.view.options()).await?;
        if submitted.deduplicated {
            // stderr, so a script reading the id from stdout is not disturbed.
            let _ = writeln!(
                std::io::stderr(),
                "deduplicated: idempotency key `{key}` already names job {} ({})",
                submitted.job_id,
                crate::progress::state_name(submitted.state)
            );
        }
        writeln!(std::io::stdout().lock(), "{}", submitted.job_id)?;
        Ok(())
    })
}

/// `run --remote`: submit `scenario` (read from `path`), follow, return the
/// result for printing as the local `run` does.
pub fn run_remote(scenario: Scenario, path: &Path, run: RemoteRun) -> anyhow::Result<ScenarioResult> {
    check_dataset(&scenario, path)?;
    let key = run.idempotency_key.unwrap_or_default();
    let wait = run.wait;
    let credentials = Credentials::load(&run.security)?;
    let deadline = wait.deadline();
    block_on(async move {
        let mut gateway = before(deadline, wait.seconds, Gateway::connect(&run.address, credentials)).await?;
        let submitted = before(deadline, wait.seconds, gateway.submit(scenario, &key, run.view)).await?;
        // On stderr, so stdout stays the result: `tariffctl get` finds the job later.
        eprintln!("job {}", submitted.job_id);
        let job = wait_for(&mut gateway, &submitted.job_id, wait, deadline).await?;
        into_result(job)
    })
}
