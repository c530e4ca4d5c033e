//! Printing a scenario result as a table, proto3 JSON or CSV.

pub mod analysis;
pub mod compare;
pub mod csv;
pub mod supply_chain;
mod table;
mod uncertainty;

use std::io::Write;

use clap::ValueEnum;
use tariff_proto::{json::to_json_pretty, v1::ScenarioResult};

use crate::tornado::TornadoArg;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Headline per economy (with uncertainty bands and the tornado when the scenario asks for them),
    /// then per sector, for people.
    Table,
    /// The ScenarioResult message in proto3 JSON.
    Json,
    /// One row per date, sector and economy (sector `*` is the total). With input costs (when some row has
    /// an effective rate of protection), three columns at the end: effective_protection_before_pct,
    /// effective_protection_after_pct and value_added_price_change_pct, empty in rows without them; without,
    /// the columns are the usual ones only.
    Csv,
    /// One row per date, sector and flow: value (also in the exporter's currency),
    /// volume, fob and delivered price changes, tariffs.
    CsvFlows,
}

/// Prints `result`; `tornado` picks the figure of the table's tornado, if the
/// result has one.
pub fn print_result(
    result: &ScenarioResult,
    format: Format,
    tornado: &TornadoArg,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match format {
        Format::Table => {
            table::write(result, tornado.pick(result)?.as_ref(), out)?;
            // A scenario that asks an analysis: its answer after its impact.
            if result.analysis.is_some() {
                writeln!(out)?;
                analysis::summary(result, out)?;
            }
        }
        Format::Json => writeln!(out, "{}", to_json_pretty(result))?,
        Format::Csv => csv::write(result, out)?,
        Format::CsvFlows => csv::write_flows(result, out)?,
    }
    Ok(())
}
