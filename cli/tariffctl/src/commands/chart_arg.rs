//! `--chart FILE.svg`, `--chart-kind`, `--chart-flows N`, `--chart-sector` and
//! `--chart-economy`, shared by `run` and `watch`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tariff_proto::v1::{Scenario, ScenarioResult};

use crate::{
    chart::{
        self,
        erp_bars::{Focus, KIND_FLAG},
    },
    tornado::TornadoArg,
};

/// What the chart's main panel shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ChartKind {
    /// The headline flows: per-sector bars for one date, their series over the dates (and the importers'
    /// effective tariff) for several.
    #[default]
    Flows,
    /// The effective rate of protection before and after, at the last date: per economy for one sector
    /// (--chart-sector; default the sector where it moved most), or per sector with inputs for one economy
    /// (--chart-economy). Needs a scenario with `input_costs: true`.
    Erp,
}

/// Drawing the result besides printing it.
#[derive(Debug, Args)]
pub struct ChartArg {
    /// Also draw the result into this SVG file: the headline flows (or what --chart-kind picks), and the
    /// tornado below when the scenario asks for sensitivity.
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,
    /// What the chart shows.
    #[arg(long, value_enum, value_name = "KIND", requires = "chart", default_value_t)]
    pub chart_kind: ChartKind,
    /// How many headline flows the flows chart shows: those between economies whose value changed most,
    /// summed over sectors.
    #[arg(
        long,
        value_name = "N",
        requires = "chart",
        default_value_t = chart::DEFAULT_FLOWS as u8,
        value_parser = clap::value_parser!(u8).range(1..=10),
    )]
    pub chart_flows: u8,
    /// With --chart-kind erp: the sector whose economies the chart shows.
    #[arg(long, value_name = "CODE", requires = "chart", conflicts_with = "chart_economy")]
    pub chart_sector: Option<String>,
    /// With --chart-kind erp: the economy whose sectors with inputs the chart shows.
    #[arg(long, value_name = "CODE", requires = "chart")]
    pub chart_economy: Option<String>,
}

impl ChartArg {
    /// Before any work: the chart's folder must exist, and the flags must go together.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.chart_kind != ChartKind::Erp {
            // Silently drawing the flows instead would hide the mistake.
            let erp_only = [("--chart-sector", &self.chart_sector), ("--chart-economy", &self.chart_economy)];
            if let Some((flag, _)) = erp_only.iter().find(|(_, v)| v.is_some()) {
                anyhow::bail!("{flag}: only with {KIND_FLAG} (it picks what the ERP chart shows)");
            }
        }
        self.chart.as_deref().map_or(Ok(()), chart::check_path)
    }

    /// Before computing: a scenario without input costs cannot have an ERP to
    /// chart, so say so now rather than after the solve.
    pub fn check_scenario(&self, scenario: &Scenario) -> anyhow::Result<()> {
        if self.chart.is_some() && self.chart_kind == ChartKind::Erp && !scenario.input_costs {
            anyhow::bail!(
                "{KIND_FLAG}: the scenario does not set `input_costs: true`, so its result has no effective \
                 rate of protection to chart"
            );
        }
        Ok(())
    }

    fn kind(&self) -> chart::Kind {
        match self.chart_kind {
            ChartKind::Flows => chart::Kind::Flows(usize::from(self.chart_flows)),
            ChartKind::Erp => chart::Kind::Erp(match (&self.chart_sector, &self.chart_economy) {
                (Some(sector), _) => Focus::Sector(sector.clone()),
                (None, Some(economy)) => Focus::Economy(economy.clone()),
                (None, None) => Focus::Auto,
            }),
        }
    }

    /// Draws the chart, with the tornado `tornado` picks below it when the result has one.
    pub fn write(&self, result: &ScenarioResult, tornado: &TornadoArg) -> anyhow::Result<()> {
        match &self.chart {
            Some(path) => chart::write(result, &self.kind(), tornado.pick(result)?.as_ref(), path),
            None => Ok(()),
        }
    }
}
