//! `tariffctl contributions`: how much each measure and agreement change of a
//! scenario adds to each figure (Shapley values).

use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use tariff_proto::v1::{Contributions, ContributionsSpec, Figure, analysis::Kind, analysis_result};
use tariff_scenario::figure_of;

use super::{answer, ask, no_answer, print_json, summary_view, syntax::figure_name};
use crate::{
    chart::{check_path, waterfall},
    commands::scenario_arg::ScenarioSource,
    output::analysis::contributions::{self as table, Slice},
};

pub const LONG_ABOUT: &str = "\
Split a scenario's impact among its players (each measure and each agreement change) with Shapley
values: a player's contribution is what adding it changes, averaged over the orders in which the
players could be added. The contributions plus the baseline (no player: the dataset's own schedule)
add up to the scenario's total, figure by figure. Up to --exact-up-to players every coalition is
run (2^K runs); above, --permutations orders are sampled with --seed and each value has a standard
error.

The table shows, per date and economy, a row per player and a column per figure, then the sum of the
contributions, the baseline and the total. --format csv writes one row per date, economy, row
(player key such as measures[0], `baseline` or `total`) and figure, in full precision; --format json
the whole ScenarioResult in proto3 JSON, the answer under `analysis.contributions`, without flows.

Examples:
  tariffctl contributions scenarios/us-japan-deal-2025-09.json --economy JPN --economy USA
  tariffctl contributions scenarios/timeline-2025-2026.json --permutations 500 --seed 7 --format csv
  tariffctl contributions scenarios/us-japan-deal-2025-09.json --chart jpn.svg --chart-economy JPN";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ContributionsFormat {
    /// Per date and economy: players by figures, for people.
    #[default]
    Table,
    /// One row per date, economy, row and figure.
    Csv,
    /// The ScenarioResult message in proto3 JSON (the answer under `analysis.contributions`), without flows.
    Json,
}

#[derive(Debug, Args)]
pub struct ContributionsArgs {
    #[command(flatten)]
    source: ScenarioSource,
    /// Sampled permutations when there are more players than --exact-up-to (default 200).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    permutations: Option<u32>,
    /// The sampling seed: the same seed gives the same contributions, wherever they are computed.
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Run every coalition up to this many players (default 10); above, sample permutations.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=16))]
    exact_up_to: Option<u32>,
    /// Show this economy; repeat for more (default: every economy).
    #[arg(long = "economy", value_name = "CODE")]
    economies: Vec<String>,
    /// Show this figure (a tariff.v1.Figure name such as WELFARE_CHANGE, any case); repeat for more
    /// (default: WELFARE_CHANGE, EXPORTS_CHANGE, IMPORTS_CHANGE).
    #[arg(long = "figure", value_name = "NAME", value_parser = figure_name)]
    figures: Vec<Figure>,
    /// Show this date (one of the scenario's, YYYY-MM-DD); repeat for more (default: every date).
    #[arg(long = "date", value_name = "YYYY-MM-DD")]
    dates: Vec<String>,
    /// How to print the contributions.
    #[arg(long, value_enum, default_value_t)]
    format: ContributionsFormat,
    /// Also draw a waterfall into this SVG file: the baseline, each player's contribution as a floating
    /// bar, then the total; for one economy and figure at the last date shown.
    #[arg(long, value_name = "FILE.svg")]
    chart: Option<PathBuf>,
    /// The chart's economy (default: the first --economy, else the one whose figure the players move most).
    #[arg(long, value_name = "CODE", requires = "chart")]
    chart_economy: Option<String>,
    /// The chart's figure (default WELFARE_CHANGE).
    #[arg(long, value_name = "NAME", requires = "chart", value_parser = figure_name)]
    chart_figure: Option<Figure>,
}

/// Every value of `flag` must be one the result has.
fn check_known(flag: &str, asked: &[String], known: Vec<&str>) -> anyhow::Result<()> {
    match asked.iter().find(|a| !known.contains(&a.as_str())) {
        Some(missing) => anyhow::bail!("{flag} {missing}: not one of the result's ({})", known.join(", ")),
        None => Ok(()),
    }
}

impl ContributionsArgs {
    fn slice(&self, c: &Contributions) -> anyhow::Result<Slice> {
        let first = c.dates.first();
        check_known("--economy", &self.economies, first.map_or(vec![], |d| economies(d)))?;
        check_known("--date", &self.dates, c.dates.iter().map(|d| d.date.as_str()).collect())?;
        let figures =
            if self.figures.is_empty() { table::DEFAULT_FIGURES.to_vec() } else { self.figures.clone() };
        Ok(Slice { economies: self.economies.clone(), figures, dates: self.dates.clone() })
    }

    /// The chart's date (position), economy and figure.
    fn chart_pick<'a>(
        &'a self,
        c: &'a Contributions,
        slice: &Slice,
    ) -> anyhow::Result<(usize, &'a str, Figure)> {
        let date = c
            .dates
            .iter()
            .rposition(|d| slice.dates.is_empty() || slice.dates.contains(&d.date))
            .ok_or_else(|| anyhow!("--chart: the contributions have no dates"))?;
        let figure = self.chart_figure.unwrap_or(Figure::WelfareChange);
        let on_date = &c.dates[date];
        let economy = match self.chart_economy.as_deref().or(self.economies.first().map(String::as_str)) {
            Some(code) => {
                check_known("--chart-economy", &[code.to_owned()], economies(on_date))?;
                code
            }
            None => {
                most_moved(on_date, figure).ok_or_else(|| anyhow!("--chart: the result has no economies"))?
            }
        };
        Ok((date, economy, figure))
    }
}

fn economies(d: &tariff_proto::v1::DateContributions) -> Vec<&str> {
    d.total.iter().map(|t| t.economy.as_str()).collect()
}

/// The economy whose figure the players move most (total less baseline).
fn most_moved(d: &tariff_proto::v1::DateContributions, figure: Figure) -> Option<&str> {
    let moved = |e: usize| {
        let at = |f: Option<&tariff_proto::v1::EconomyFigures>| {
            f.and_then(|f| figure_of(f, figure)).unwrap_or(0.0)
        };
        (at(d.total.get(e)) - at(d.baseline.get(e))).abs()
    };
    (0..d.total.len()).max_by(|a, b| moved(*a).total_cmp(&moved(*b))).map(|e| d.total[e].economy.as_str())
}

pub fn run(args: ContributionsArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.chart {
        check_path(path)?;
    }
    let spec = ContributionsSpec {
        exact_up_to: args.exact_up_to.unwrap_or(0),
        permutations: args.permutations.unwrap_or(0),
        seed: args.seed.unwrap_or(0),
    };
    let result = args.source.compute(summary_view(), |s| {
        ask(s, Kind::Contributions(spec));
        Ok(())
    })?;
    let Some(analysis_result::Kind::Contributions(c)) = answer(&result) else {
        return Err(no_answer("contributions"));
    };
    let slice = args.slice(c)?;
    if let Some(path) = &args.chart {
        waterfall::write(&result, c, args.chart_pick(c, &slice)?, path)?;
    }
    let evaluations = result.analysis.as_ref().map_or(0, |a| a.evaluations);
    let out = &mut std::io::stdout().lock();
    match args.format {
        ContributionsFormat::Table => table::table(&result, c, evaluations, &slice, out)?,
        ContributionsFormat::Csv => table::csv(c, &slice, out)?,
        ContributionsFormat::Json => print_json(&result)?,
    }
    Ok(())
}
