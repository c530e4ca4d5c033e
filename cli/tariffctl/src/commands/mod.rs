//! The subcommands.

mod analysis;
mod backcast;
mod calibrate;
mod chart_arg;
mod compare;
mod dataset;
mod list;
mod remote;
mod run;
mod scenario_arg;
mod source;
mod view_arg;

use clap::Subcommand;

pub use chart_arg::ChartArg;

/// What tariffctl can do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute a scenario's impact locally, in process, with no services (or on a gateway with --remote).
    Run(run::RunArgs),
    /// What each measure and agreement change of a scenario contributes to each figure (Shapley values).
    #[command(long_about = analysis::contributions::LONG_ABOUT)]
    Contributions(analysis::contributions::ContributionsArgs),
    /// Goal-seek: the value of one lever at which a figure equals a goal.
    #[command(long_about = analysis::seek::LONG_ABOUT)]
    Seek(analysis::seek::SeekArgs),
    /// Optimise: lever values maximising or minimising weighted figures, under constraints.
    #[command(long_about = analysis::optimize::LONG_ABOUT)]
    Optimize(analysis::optimize::OptimizeArgs),
    /// Compute two scenarios and show them side by side: A, B and B-A.
    Compare(compare::CompareArgs),
    /// Queue a scenario on a gateway; prints the job id.
    Submit(remote::SubmitArgs),
    /// Follow a job on a gateway until it ends, then print its result.
    Watch(remote::WatchArgs),
    /// Show a job on a gateway: state, progress, error, result.
    Get(remote::GetArgs),
    /// Cancel a job on a gateway; prints its state afterwards.
    Cancel(remote::CancelArgs),
    /// Every flow of a succeeded job on a gateway, page by page, as CSV (the columns of --format csv-flows).
    Flows(remote::FlowsArgs),
    /// Show reference data: datasets, economies, sectors, agreements.
    List(list::ListArgs),
    /// Compute a scenario and set it beside what was observed in the period it stands for.
    Backcast(backcast::BackcastArgs),
    /// Fit chosen elasticities, within their published ranges, to chosen observed figures.
    Calibrate(calibrate::CalibrateArgs),
    /// Datasets: import, synthesise and check folders; upload, list and delete them on a gateway.
    Dataset(dataset::DatasetArgs),
}

impl Command {
    pub fn execute(self) -> anyhow::Result<()> {
        match self {
            Command::Run(args) => run::run(args),
            Command::Contributions(args) => analysis::contributions::run(args),
            Command::Seek(args) => analysis::seek::run(args),
            Command::Optimize(args) => analysis::optimize::run(args),
            Command::Compare(args) => compare::compare(args),
            Command::Submit(args) => remote::submit(args),
            Command::Watch(args) => remote::watch(args),
            Command::Get(args) => remote::get(args),
            Command::Cancel(args) => remote::cancel(args),
            Command::Flows(args) => remote::flows(args),
            Command::List(args) => list::list(args),
            Command::Backcast(args) => backcast::run(args),
            Command::Calibrate(args) => calibrate::run(args),
            Command::Dataset(args) => dataset::run(args),
        }
    }
}
