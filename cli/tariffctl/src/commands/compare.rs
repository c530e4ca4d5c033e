//! `tariffctl compare A B`: two scenarios computed the way `run` computes
//! them, shown side by side.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use tariff_proto::v1::{Impact, ScenarioResult};

use super::{
    remote::{RemoteRun, SecurityArgs, WaitArg},
    run::{Compute, SolverArg, check_remote_dataset, compute},
};
use crate::{
    chart,
    output::compare::{CompareFormat, Comparison, print},
};

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Scenario A: proto3 JSON of tariff.v1.Scenario (or TOML with a .toml extension).
    a: PathBuf,
    /// Scenario B, shown against A (B-A is B less A).
    b: PathBuf,
    /// A dataset folder for both, instead of the ones the scenarios name.
    #[arg(long, value_name = "DIR", env = "TARIFF_DATASET")]
    dataset: Option<PathBuf>,
    /// The solver for both, instead of the ones the scenarios name.
    #[arg(long, value_enum)]
    solver: Option<SolverArg>,
    /// How to print the comparison.
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    format: CompareFormat,
    /// Compute both on this gateway (HOST:PORT, http://HOST:PORT or https://HOST:PORT) instead of in process.
    #[arg(long, value_name = "ADDR", env = "TARIFF_REMOTE")]
    remote: Option<String>,
    #[command(flatten)]
    security: SecurityArgs,
    /// How many flows per sector: those whose value changed most in either scenario.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    flows: u16,
    /// Also draw welfare change per economy, A against B, into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    chart: Option<PathBuf>,
    #[command(flatten)]
    wait: WaitArg,
}

/// The impacts to compare: the dates both results have; if they have none in
/// common, the dates by position. The note says what was left out or how
/// dates were matched.
pub fn match_dates<'a>(a: &'a [Impact], b: &'a [Impact]) -> (Vec<(&'a Impact, &'a Impact)>, Option<String>) {
    let dates = |impacts: &[Impact]| impacts.iter().map(|i| i.date.clone()).collect::<Vec<_>>().join(", ");
    let common: Vec<(&Impact, &Impact)> =
        a.iter().filter_map(|ia| b.iter().find(|ib| ib.date == ia.date).map(|ib| (ia, ib))).collect();
    if common.len() == a.len() && common.len() == b.len() {
        return (common, None);
    }
    if common.is_empty() {
        let pairs: Vec<_> = a.iter().zip(b).collect();
        let note = format!(
            "the dates differ (A: {}; B: {}); compared by position, {} pair(s)",
            dates(a),
            dates(b),
            pairs.len()
        );
        return (pairs, Some(note));
    }
    let shown: Vec<&str> = common.iter().map(|(ia, _)| ia.date.as_str()).collect();
    let note = format!(
        "only the dates both have are compared: {} (A: {}; B: {})",
        shown.join(", "),
        dates(a),
        dates(b)
    );
    (common, Some(note))
}

fn name(result: &ScenarioResult, path: &Path) -> String {
    let name = if result.scenario_name.is_empty() { &result.scenario_id } else { &result.scenario_name };
    format!("{name} ({})", path.display())
}

pub fn compare(args: CompareArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.chart {
        chart::check_path(path)?;
    }
    if args.remote.is_some() {
        check_remote_dataset(args.dataset.as_deref())?;
    }
    let how = || match &args.remote {
        Some(address) => Compute::Remote(RemoteRun {
            address: address.clone(),
            security: args.security.clone(),
            idempotency_key: None,
            wait: args.wait,
            view: None,
        }),
        None => Compute::Local { dataset: args.dataset.as_deref(), view: None },
    };
    let a = compute(&args.a, args.solver, how()).context("A")?;
    let b = compute(&args.b, args.solver, how()).context("B")?;
    let (pairs, note) = match_dates(&a.impacts, &b.impacts);
    if pairs.is_empty() {
        anyhow::bail!("nothing to compare: A or B has no dates");
    }
    let comparison = Comparison {
        names: [name(&a, &args.a), name(&b, &args.b)],
        results: [&a, &b],
        pairs,
        note,
        flows: usize::from(args.flows),
    };
    if let Some(path) = &args.chart {
        let unit = format!("{} {}", a.currency, a.unit);
        let names = [comparison.names[0].as_str(), comparison.names[1].as_str()];
        let svg = chart::draw_welfare(&comparison.pairs, names, &unit)
            .with_context(|| format!("--chart {}", path.display()))?;
        chart::save(path, &svg)?;
    }
    if let (Some(note), CompareFormat::Csv) = (&comparison.note, args.format) {
        // Kept off stdout, so the CSV stays CSV.
        eprintln!("note: {note}");
    }
    print(&comparison, args.format, &mut std::io::stdout().lock())
}
