//! Printing a scenario result as a table, proto3 JSON or CSV.

pub mod compare;
mod csv;
mod table;

use std::io::Write;

use clap::ValueEnum;
use tariff_proto::{json::to_json_pretty, v1::ScenarioResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Headline per economy, then per sector, for people.
    Table,
    /// The ScenarioResult message in proto3 JSON.
    Json,
    /// One row per date, sector and economy (sector `*` is the total).
    Csv,
}

pub fn print_result(result: &ScenarioResult, format: Format, out: &mut dyn Write) -> anyhow::Result<()> {
    match format {
        Format::Table => table::write(result, out)?,
        Format::Json => writeln!(out, "{}", to_json_pretty(result))?,
        Format::Csv => csv::write(result, out)?,
    }
    Ok(())
}
