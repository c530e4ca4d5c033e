//! Commands on a job already submitted: `watch`, `get`, `cancel`.

use std::io::Write;

use clap::Args;
use tariff_proto::{json::to_json_pretty, v1::Job};

use super::{GatewayArg, WaitArg, before, block_on, client::Gateway, follow, wait_for};
use crate::{
    commands::ChartArg,
    output::{Format, print_result},
    progress::state_name,
    tornado::TornadoArg,
};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The job id `submit` printed.
    job_id: String,
    #[command(flatten)]
    gateway: GatewayArg,
    #[command(flatten)]
    wait: WaitArg,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(flatten)]
    chart: ChartArg,
    #[command(flatten)]
    tornado: TornadoArg,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The job id `submit` printed.
    job_id: String,
    #[command(flatten)]
    gateway: GatewayArg,
    /// table: a summary, then the result if there is one; json: the whole Job
    /// message in proto3 JSON; csv: the result only.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The job id `submit` printed.
    job_id: String,
    #[command(flatten)]
    gateway: GatewayArg,
}

pub fn watch(args: WatchArgs) -> anyhow::Result<()> {
    args.chart.check()?;
    let credentials = args.gateway.credentials()?;
    let deadline = args.wait.deadline();
    let result = block_on(async move {
        let connect = Gateway::connect(&args.gateway.address, credentials);
        let mut gateway = before(deadline, args.wait.seconds, connect).await?;
        let job = wait_for(&mut gateway, &args.job_id, args.wait, deadline).await?;
        follow::into_result(job)
    })?;
    args.chart.write(&result, &args.tornado)?;
    print_result(&result, args.format, &args.tornado, &mut std::io::stdout().lock())
}

pub fn get(args: GetArgs) -> anyhow::Result<()> {
    let credentials = args.gateway.credentials()?;
    let job = block_on(async move {
        Gateway::connect(&args.gateway.address, credentials).await?.get(&args.job_id).await
    })?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", to_json_pretty(&job))?,
        Format::Table => {
            summary(&job, &mut out)?;
            if let Some(result) = &job.result {
                writeln!(out)?;
                print_result(result, Format::Table, &TornadoArg::default(), &mut out)?;
            }
        }
        csv @ (Format::Csv | Format::CsvFlows) => match &job.result {
            Some(result) => print_result(result, csv, &TornadoArg::default(), &mut out)?,
            None => anyhow::bail!(
                "job {} has no result ({}); CSV formats print results only",
                job.job_id,
                state_name(job.state)
            ),
        },
    }
    Ok(())
}

pub fn cancel(args: CancelArgs) -> anyhow::Result<()> {
    let credentials = args.gateway.credentials()?;
    let job = block_on(async move {
        Gateway::connect(&args.gateway.address, credentials).await?.cancel(&args.job_id).await
    })?;
    // Cancelling a job that has already ended leaves it as it was; its state
    // says which happened.
    writeln!(std::io::stdout().lock(), "{}", state_name(job.state))?;
    Ok(())
}

/// The job's record for people, one field a line.
fn summary(job: &Job, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "job       {}", job.job_id)?;
    writeln!(out, "state     {}", state_name(job.state))?;
    if let Some(p) = &job.progress {
        let stage = if p.stage.is_empty() { String::new() } else { format!(" ({})", p.stage) };
        writeln!(out, "progress  {}/{}{stage}", p.done, p.total)?;
    }
    writeln!(out, "attempts  {}", job.attempts)?;
    writeln!(out, "created   {}", job.created_at)?;
    writeln!(out, "updated   {}", job.updated_at)?;
    if !job.idempotency_key.is_empty() {
        writeln!(out, "key       {}", job.idempotency_key)?;
    }
    if let Some(error) = &job.error {
        writeln!(out, "error     {}", follow::describe_error(error))?;
    }
    Ok(())
}
