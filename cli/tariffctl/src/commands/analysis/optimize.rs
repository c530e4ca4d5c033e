//! `tariffctl optimize`: lever values that maximise or minimise a weighted
//! sum of figures, with bounds on others.

use clap::Args;
use tariff_proto::v1::{FigureBound, Lever, Optimization, WeightedFigure, analysis::Kind, analysis_result};

use super::{
    SearchFormat, answer, ask, no_answer, print_search, summary_view,
    syntax::{SYNTAX_HELP, constraint, ranged_lever, show_figure, weighted_figure},
};
use crate::{
    commands::scenario_arg::ScenarioSource,
    output::analysis::search::{self, Asked},
};

pub const LONG_ABOUT: &str = "\
Optimise: the values of one or more levers, each within its range (and on its grid with /STEP), that
maximise or minimise the sum of weighted figures (--objective FIGURE*WEIGHT, repeatable), with each
--constraint holding. COBYLA on the scenario re-run at each point, then the best of the grid points
around it when levers have steps.

Prints each lever's value (marked when at a bound of its range), the objective, each constraint with
its value and whether it binds, the status, the method and the runs used; --path adds every run.
A search that does not converge (INFEASIBLE, MAX_EVALUATIONS) exits 1 after printing what it found,
with the reason on stderr. --format json prints the whole ScenarioResult (the answer under
`analysis.optimization`, the impact at the optimum), without flows.

Examples:
  tariffctl optimize scenarios/japan-20.json --lever 'measure:japan-20=0..60' --maximize \\
      --objective USA:WELFARE_CHANGE
  tariffctl optimize scenarios/japan-20.json --lever 'measure:japan-20=0..60/1' --maximize \\
      --objective USA:WELFARE_CHANGE --objective 'JPN:WELFARE_CHANGE*0.5' \\
      --constraint 'USA:IMPORTS_CHANGE_PCT>=-2' --path";

/// Which way the objective goes: exactly one.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct Direction {
    /// Make the objective as large as possible.
    #[arg(long)]
    maximize: bool,
    /// Make the objective as small as possible.
    #[arg(long)]
    minimize: bool,
}

#[derive(Debug, Args)]
#[command(after_long_help = SYNTAX_HELP)]
pub struct OptimizeArgs {
    #[command(flatten)]
    source: ScenarioSource,
    /// A lever and its range: LEVER=LOW..HIGH, or LEVER=LOW..HIGH/STEP for the values LOW + k*STEP
    /// only (see LEVER below), such as measure:japan-20=0..50/1 or fx:JPN=-10..10; repeat for more.
    #[arg(long = "lever", value_name = "LEVER=LOW..HIGH[/STEP]", required = true, value_parser = ranged_lever)]
    levers: Vec<Lever>,
    #[command(flatten)]
    direction: Direction,
    /// A term of the objective: FIGURE or FIGURE*WEIGHT (see FIGURE below), such as
    /// USA:WELFARE_CHANGE*2; repeat to add terms.
    #[arg(long = "objective", value_name = "FIGURE[*WEIGHT]", required = true, value_parser = weighted_figure)]
    objective: Vec<WeightedFigure>,
    /// A bound on a figure: FIGURE>=VALUE or FIGURE<=VALUE, such as 'JPN:IMPORTS_CHANGE_PCT>=-5';
    /// repeat for more.
    #[arg(long = "constraint", value_name = "CONSTRAINT", value_parser = constraint)]
    constraints: Vec<FigureBound>,
    /// Runs at most (default 500).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_evaluations: Option<u32>,
    /// How to print the answer.
    #[arg(long, value_enum, default_value_t)]
    format: SearchFormat,
    /// Also list every run: the lever values, the objective and the largest constraint violation.
    #[arg(long)]
    path: bool,
}

/// `maximise USA:WELFARE_CHANGE + 0.5 × JPN:WELFARE_CHANGE`.
fn describe_objective(args: &OptimizeArgs) -> String {
    let terms: Vec<String> = args
        .objective
        .iter()
        .map(|w| {
            let figure = w.figure.as_ref().map(show_figure).unwrap_or_default();
            if w.weight == 1.0 { figure } else { format!("{} × {figure}", w.weight) }
        })
        .collect();
    let way = if args.direction.maximize { "maximise" } else { "minimise" };
    format!("{way} {}", terms.join(" + "))
}

pub fn run(args: OptimizeArgs) -> anyhow::Result<()> {
    let optimization = Optimization {
        levers: args.levers.clone(),
        objective: args.objective.clone(),
        maximize: args.direction.maximize,
        constraints: args.constraints.clone(),
        max_evaluations: args.max_evaluations.unwrap_or(0),
    };
    let result = args.source.compute(summary_view(), |s| {
        ask(s, Kind::Optimize(optimization));
        Ok(())
    })?;
    let Some(analysis_result::Kind::Optimization(found)) = answer(&result) else {
        return Err(no_answer("optimisation answer"));
    };
    let asked = Asked {
        figure: Some(describe_objective(&args)),
        goal: None,
        bounds: args.levers.iter().map(|l| (l.low, l.high)).collect(),
    };
    print_search(&result, args.format, |runs, out| search::optimization(found, runs, &asked, args.path, out))
}
