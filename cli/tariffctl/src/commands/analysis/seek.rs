//! `tariffctl seek`: the value of one lever at which a figure equals a goal.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use tariff_proto::v1::{
    FigureRef, GoalSeek, Lever, analysis::Kind, analysis_result, goal_seek::Goal, lever::Target,
};

use super::{
    SearchFormat, answer, ask, no_answer, print_search, summary_view,
    syntax::{SYNTAX_HELP, figure_ref, lever_target, positive, show_figure},
};
use crate::{
    commands::{scenario_arg::ScenarioSource, source::read_scenario},
    output::analysis::search::{self, Asked},
};

pub const LONG_ABOUT: &str = "\
Goal-seek: find the value of one lever, between --low and --high, at which a figure of the scenario
equals a goal: a number (--goal-value), the same figure of another economy moving with the lever
(--goal-economy), or the same figure in another scenario on the same dataset (--goal-scenario).
Brent's method on the scenario re-run at each trial value.

Prints the lever value found (in full precision, to write back into the scenario), the figure
reached, the goal, the tolerance, the status, the runs used and, when the goal is out of reach,
why. A search that does not converge (UNREACHABLE, MAX_EVALUATIONS) exits 1 after printing what it
found, with the reason on stderr. --format json prints the whole ScenarioResult (the answer under
`analysis.seek`, the impact at the lever value found), without flows.

Examples:
  tariffctl seek scenarios/japan-20.json --lever measure:japan-20 --low 0 --high 50 \\
      --target JPN:WELFARE_CHANGE --goal-value -3000
  tariffctl seek scenarios/japan-20.json --lever fx:JPN --low -20 --high 20 \\
      --target JPN:CARS:USA:EXPORTS_CHANGE_PCT@2025-06-01 --goal-value -10
  tariffctl seek my.json --lever measure:jp --low 0 --high 50 --target JPN:CARS:EXPORTS_CHANGE_PCT \\
      --goal-economy KOR";

/// What the figure must equal: exactly one of the three.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct GoalArg {
    /// A value, in the figure's unit.
    #[arg(long, value_name = "V", allow_negative_numbers = true)]
    goal_value: Option<f64>,
    /// The same figure for this economy (which moves with the lever too).
    #[arg(long, value_name = "CODE")]
    goal_economy: Option<String>,
    /// The same figure in this scenario file (same dataset and dates), computed once.
    #[arg(long, value_name = "FILE")]
    goal_scenario: Option<PathBuf>,
}

impl GoalArg {
    fn goal(&self) -> anyhow::Result<(Goal, String)> {
        match (&self.goal_value, &self.goal_economy, &self.goal_scenario) {
            (Some(v), _, _) => Ok((Goal::Value(*v), "the value asked".to_owned())),
            (_, Some(code), _) => Ok((Goal::Economy(code.clone()), format!("{code}'s figure"))),
            (_, _, Some(path)) => {
                let scenario = read_scenario(path).map_err(|e| anyhow!("--goal-scenario: {e:#}"))?;
                Ok((Goal::Scenario(Box::new(scenario)), format!("the figure in {}", path.display())))
            }
            // clap's group requires one; kept as an error, not a panic.
            (None, None, None) => Err(anyhow!("give --goal-value, --goal-economy or --goal-scenario")),
        }
    }
}

#[derive(Debug, Args)]
#[command(after_long_help = SYNTAX_HELP)]
pub struct SeekArgs {
    #[command(flatten)]
    source: ScenarioSource,
    /// What the search moves (see LEVER below), such as measure:japan-20 or fx:JPN.
    #[arg(long, value_name = "LEVER", value_parser = lever_target)]
    lever: Target,
    /// The lever's lowest value.
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    low: f64,
    /// The lever's highest value.
    #[arg(long, value_name = "Y", allow_negative_numbers = true)]
    high: f64,
    /// The figure to bring to the goal (see FIGURE below), such as JPN:WELFARE_CHANGE.
    #[arg(long, value_name = "FIGURE", value_parser = figure_ref)]
    target: FigureRef,
    #[command(flatten)]
    goal: GoalArg,
    /// How close the figure must come to the goal, in its unit (default 1e-6 times the larger of 1 and
    /// the goal's size).
    #[arg(long, value_name = "T", value_parser = positive)]
    tolerance: Option<f64>,
    /// Runs at most (default 100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_evaluations: Option<u32>,
    /// How to print the answer.
    #[arg(long, value_enum, default_value_t)]
    format: SearchFormat,
}

pub fn run(args: SeekArgs) -> anyhow::Result<()> {
    let (goal, goal_text) = args.goal.goal()?;
    let seek = GoalSeek {
        lever: Some(Lever { target: Some(args.lever.clone()), low: args.low, high: args.high, step: 0.0 }),
        target: Some(args.target.clone()),
        goal: Some(goal),
        tolerance: args.tolerance.unwrap_or(0.0),
        max_evaluations: args.max_evaluations.unwrap_or(0),
    };
    let result = args.source.compute(summary_view(), |s| {
        ask(s, Kind::Seek(Box::new(seek)));
        Ok(())
    })?;
    let Some(analysis_result::Kind::Seek(found)) = answer(&result) else {
        return Err(no_answer("goal-seek answer"));
    };
    let asked = Asked {
        figure: Some(show_figure(&args.target)),
        goal: Some(goal_text),
        bounds: vec![(args.low, args.high)],
    };
    print_search(&result, args.format, |runs, out| search::seek(found, runs, &asked, out))
}
