//! The analysis commands, `contributions`, `seek` and `optimize`: each adds
//! its analysis to the scenario read (so it travels unchanged to a gateway
//! with --remote), computes it as `run` does, and prints the answer.

pub mod contributions;
pub mod optimize;
pub mod seek;
mod syntax;

use std::io::Write;

use clap::ValueEnum;
use tariff_proto::{
    json::to_json_pretty,
    v1::{Analysis, ResultOptions, ResultView, Scenario, ScenarioResult, analysis::Kind, analysis_result},
};

use crate::output::analysis::unsuccessful;

/// How `seek` and `optimize` print their answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum SearchFormat {
    /// Lines for people.
    #[default]
    Table,
    /// The ScenarioResult message in proto3 JSON (the answer under `analysis`), without flows.
    Json,
}

/// Makes `kind` the scenario's analysis, replacing any the file has.
fn ask(scenario: &mut Scenario, kind: Kind) {
    if scenario.uncertainty.take().is_some() {
        // The library refuses both together; the file's uncertainty is not what was asked for here.
        eprintln!("note: the scenario's `uncertainty` is left out: an analysis runs at the point estimate");
    }
    scenario.analysis = Some(Box::new(Analysis { kind: Some(kind) }));
}

/// Analyses print figures, never flows: the summary view keeps results small,
/// here and on the wire.
fn summary_view() -> Option<ResultOptions> {
    Some(ResultOptions { view: ResultView::Summary.into(), flows: None })
}

/// The analysis's answer in `result`, when there is one.
fn answer(result: &ScenarioResult) -> Option<&analysis_result::Kind> {
    result.analysis.as_ref().and_then(|a| a.kind.as_ref())
}

/// The answer missing from a result: a gateway that predates analyses drops the request.
fn no_answer(what: &str) -> anyhow::Error {
    anyhow::anyhow!("the result has no {what} (a gateway too old for analyses?)")
}

/// Prints a search's answer as `format` asks (`table` gets the runs used),
/// then fails unless the search converged.
fn print_search(
    result: &ScenarioResult,
    format: SearchFormat,
    table: impl FnOnce(u32, &mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    match format {
        SearchFormat::Table => {
            let evaluations = result.analysis.as_ref().map_or(0, |a| a.evaluations);
            table(evaluations, &mut std::io::stdout().lock())?;
        }
        SearchFormat::Json => print_json(result)?,
    }
    fail_unless_converged(result)
}

/// The proto3 JSON of the whole result.
fn print_json(result: &ScenarioResult) -> anyhow::Result<()> {
    writeln!(std::io::stdout().lock(), "{}", to_json_pretty(result))?;
    Ok(())
}

/// A search that did not converge fails the command, after its answer was
/// printed: scripts see the exit status, people the reason on stderr.
fn fail_unless_converged(result: &ScenarioResult) -> anyhow::Result<()> {
    match unsuccessful(result) {
        Some(why) => anyhow::bail!("the search did not converge: {why}"),
        None => Ok(()),
    }
}
