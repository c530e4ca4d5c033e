//! `--chart FILE.svg` and `--chart-flows N`, shared by `run` and `watch`.

use std::path::PathBuf;

use clap::Args;
use tariff_proto::v1::ScenarioResult;

use crate::{chart, tornado::TornadoArg};

/// Drawing the result besides printing it.
#[derive(Debug, Args)]
pub struct ChartArg {
    /// Also draw the result into this SVG file: per-sector bars of the headline flows for one date, their
    /// series over the dates (and the importers' effective tariff) for several; and the tornado below when
    /// the scenario asks for sensitivity.
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,
    /// How many headline flows the chart shows: those between economies whose value changed most, summed
    /// over sectors.
    #[arg(
        long,
        value_name = "N",
        requires = "chart",
        default_value_t = chart::DEFAULT_FLOWS as u8,
        value_parser = clap::value_parser!(u8).range(1..=10),
    )]
    pub chart_flows: u8,
}

impl ChartArg {
    /// Before any work: the chart's folder must exist.
    pub fn check(&self) -> anyhow::Result<()> {
        self.chart.as_deref().map_or(Ok(()), chart::check_path)
    }

    /// Draws the chart, with the tornado `tornado` picks below it when the result has one.
    pub fn write(&self, result: &ScenarioResult, tornado: &TornadoArg) -> anyhow::Result<()> {
        match &self.chart {
            Some(path) => {
                chart::write(result, usize::from(self.chart_flows), tornado.pick(result)?.as_ref(), path)
            }
            None => Ok(()),
        }
    }
}
