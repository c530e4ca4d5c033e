//! The tornado of a result: which elasticity groups move one headline figure of
//! one economy most, as the table prints it and the chart draws it.

use clap::{Args, ValueEnum};
use tariff_proto::v1::{ElasticityParameter, Figure, Impact, ScenarioResult, SensitivityRow};
use tariff_scenario::{figure_of, figure_of_impact};

/// Rows the tornado shows: the groups with the largest swings.
pub const ROWS: usize = 10;

/// A headline figure, as the command line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FigureArg {
    ExportsChange,
    ExportsChangePct,
    ImportsChange,
    ImportsChangePct,
    WorldPriceChangePct,
    ConsumerPriceChangePct,
    ConsumerSurplusChange,
    ProducerSurplusChange,
    TariffRevenueChange,
    WelfareChange,
    WelfareChangePctGdp,
    EffectiveTariffAfterPct,
}

impl FigureArg {
    fn figure(self) -> Figure {
        match self {
            FigureArg::ExportsChange => Figure::ExportsChange,
            FigureArg::ExportsChangePct => Figure::ExportsChangePct,
            FigureArg::ImportsChange => Figure::ImportsChange,
            FigureArg::ImportsChangePct => Figure::ImportsChangePct,
            FigureArg::WorldPriceChangePct => Figure::WorldPriceChangePct,
            FigureArg::ConsumerPriceChangePct => Figure::ConsumerPriceChangePct,
            FigureArg::ConsumerSurplusChange => Figure::ConsumerSurplusChange,
            FigureArg::ProducerSurplusChange => Figure::ProducerSurplusChange,
            FigureArg::TariffRevenueChange => Figure::TariffRevenueChange,
            FigureArg::WelfareChange => Figure::WelfareChange,
            FigureArg::WelfareChangePctGdp => Figure::WelfareChangePctGdp,
            FigureArg::EffectiveTariffAfterPct => Figure::EffectiveTariffAfterPct,
        }
    }
}

/// Which figure of which economy the tornado is about.
#[derive(Debug, Clone, Args)]
pub struct TornadoArg {
    /// The headline figure the tornado (table and chart) ranks elasticity groups by.
    #[arg(long, value_enum, value_name = "FIGURE", default_value_t = FigureArg::WelfareChange)]
    pub tornado_figure: FigureArg,
    /// The economy whose figure it is (default: the one the figure moves most at the last date).
    #[arg(long, value_name = "CODE")]
    pub tornado_economy: Option<String>,
}

impl Default for TornadoArg {
    fn default() -> Self {
        TornadoArg { tornado_figure: FigureArg::WelfareChange, tornado_economy: None }
    }
}

/// How people read a figure, and whether it is in percent.
pub fn describe(figure: Figure) -> (&'static str, bool) {
    match figure {
        Figure::ExportsChange => ("exports change", false),
        Figure::ExportsChangePct => ("exports change, %", true),
        Figure::ImportsChange => ("imports change", false),
        Figure::ImportsChangePct => ("imports change, %", true),
        Figure::WorldPriceChangePct => ("world price change, %", true),
        Figure::ConsumerPriceChangePct => ("consumer price change, %", true),
        Figure::ConsumerSurplusChange => ("consumer surplus change", false),
        Figure::ProducerSurplusChange => ("producer surplus change", false),
        Figure::TariffRevenueChange => ("tariff revenue change", false),
        Figure::WelfareChange => ("welfare change", false),
        Figure::WelfareChangePctGdp => ("welfare change, % of GDP", true),
        Figure::EffectiveTariffAfterPct => ("effective tariff after, %", true),
        Figure::Unspecified => ("?", false),
    }
}

/// A figure with the precision it reads best at.
pub fn number(figure: Figure, v: f64) -> String {
    match figure {
        Figure::WelfareChangePctGdp => format!("{v:.4}"),
        f if describe(f).1 => format!("{v:.2}"),
        _ => format!("{v:.1}"),
    }
}

/// A group's name: `CARS substitution`.
pub fn group_name(row: &SensitivityRow) -> String {
    let g = row.group.clone().unwrap_or_default();
    let parameter = match ElasticityParameter::try_from(g.parameter) {
        Ok(ElasticityParameter::Substitution) => "substitution",
        Ok(ElasticityParameter::ImportDemand) => "import demand",
        Ok(ElasticityParameter::Supply) => "supply",
        _ => "?",
    };
    format!("{} {parameter}", g.sector)
}

/// The economy and figure chosen, resolved against a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    pub economy: String,
    pub figure: Figure,
}

impl TornadoArg {
    /// The economy and figure for `result`: as given, or the economy the
    /// figure moves most at the last date. `None` when the result has no tornado.
    pub fn pick(&self, result: &ScenarioResult) -> anyhow::Result<Option<Pick>> {
        let figure = self.tornado_figure.figure();
        let Some(last) = result.impacts.last().filter(|i| !i.sensitivity.is_empty()) else { return Ok(None) };
        let economy = match &self.tornado_economy {
            Some(code) => {
                if !last.economies.iter().any(|e| &e.economy == code) {
                    let known: Vec<&str> = last.economies.iter().map(|e| e.economy.as_str()).collect();
                    anyhow::bail!(
                        "--tornado-economy {code}: not an economy of the result ({})",
                        known.join(", ")
                    );
                }
                code.clone()
            }
            None => last
                .economies
                .iter()
                .max_by(|a, b| {
                    let size = |e| figure_of_impact(e, figure).unwrap_or(0.0).abs();
                    size(a).total_cmp(&size(b))
                })
                .map(|e| e.economy.clone())
                .unwrap_or_default(),
        };
        Ok(Some(Pick { economy, figure }))
    }
}

/// One group's effect on the picked figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub name: String,
    /// The sector-wide elasticity at the range's low and high end.
    pub low: f64,
    pub high: f64,
    /// The figure with the group at the low and at the high end.
    pub at_low: f64,
    pub at_high: f64,
}

impl Bar {
    pub fn swing(&self) -> f64 {
        (self.at_high - self.at_low).abs()
    }
}

/// The tornado of one date for a pick: the point estimate, and every group's
/// bar, largest swing first (ties in the result's group order).
pub fn bars(impact: &Impact, pick: &Pick) -> (f64, Vec<Bar>) {
    let point = impact
        .economies
        .iter()
        .find(|e| e.economy == pick.economy)
        .and_then(|e| figure_of_impact(e, pick.figure))
        .unwrap_or(0.0);
    let at = |side: &[tariff_proto::v1::EconomyFigures]| {
        side.iter()
            .find(|e| e.economy == pick.economy)
            .and_then(|e| figure_of(e, pick.figure))
            .unwrap_or(point)
    };
    let mut bars: Vec<Bar> = impact
        .sensitivity
        .iter()
        .map(|row| {
            let g = row.group.clone().unwrap_or_default();
            Bar {
                name: group_name(row),
                low: g.low,
                high: g.high,
                at_low: at(&row.at_low),
                at_high: at(&row.at_high),
            }
        })
        .collect();
    bars.sort_by(|a, b| b.swing().total_cmp(&a.swing()));
    (point, bars)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tariff_proto::v1::{EconomyFigures, EconomyImpact, ElasticityGroup};

    use super::*;

    fn row(sector: &str, at_low: f64, at_high: f64) -> SensitivityRow {
        let figures =
            |v: f64| vec![EconomyFigures { economy: "USA".into(), welfare_change: v, ..Default::default() }];
        SensitivityRow {
            group: Some(ElasticityGroup {
                sector: sector.into(),
                parameter: 1,
                low: 1.0,
                value: 2.0,
                high: 3.0,
                distribution: 1,
            }),
            at_low: figures(at_low),
            at_high: figures(at_high),
        }
    }

    fn result() -> ScenarioResult {
        let economy = |code: &str, w: f64| EconomyImpact {
            economy: code.into(),
            welfare_change: w,
            ..Default::default()
        };
        ScenarioResult {
            impacts: vec![Impact {
                economies: vec![economy("JPN", -5.0), economy("USA", -10.0)],
                sensitivity: vec![
                    row("AGRI", -10.0, -10.5),
                    row("CARS", -8.0, -13.0),
                    row("ELEC", -9.0, -11.0),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_default_pick_is_the_economy_the_figure_moves_most() {
        let pick = TornadoArg::default().pick(&result()).unwrap().unwrap();
        assert_eq!(pick, Pick { economy: "USA".into(), figure: Figure::WelfareChange });
        let asked = TornadoArg { tornado_economy: Some("JPX".into()), ..TornadoArg::default() };
        assert!(asked.pick(&result()).unwrap_err().to_string().contains("JPN, USA"));
        assert_eq!(TornadoArg::default().pick(&ScenarioResult::default()).unwrap(), None);
    }

    #[test]
    fn bars_come_largest_swing_first() {
        let r = result();
        let pick = TornadoArg::default().pick(&r).unwrap().unwrap();
        let (point, bars) = bars(&r.impacts[0], &pick);
        assert_eq!(point, -10.0);
        let names: Vec<&str> = bars.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["CARS substitution", "ELEC substitution", "AGRI substitution"]);
        assert_eq!(bars[0].swing(), 5.0);
    }
}
