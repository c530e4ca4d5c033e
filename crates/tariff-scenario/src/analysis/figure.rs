//! Figures a search aims at or bounds: an economy's total, its figure in one
//! sector, or one flow's, at one of the scenario's dates.

use tariff_proto::v1::{self as pb, Figure};

use crate::{
    Date,
    dataset::Dataset,
    uncertainty::{FIGURES, figure_position},
    violation::Collector,
};

/// A [`pb::FigureRef`] with its codes resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FigureAt {
    pub(crate) figure: Figure,
    pub(crate) economy: usize,
    pub(crate) sector: Option<usize>,
    /// A flow's importer (`economy` is its exporter).
    pub(crate) importer: Option<usize>,
    /// Position in the scenario's dates.
    pub(crate) date: usize,
    /// How results and messages name it: `JPN WELFARE_CHANGE`, `CARS JPN->USA IMPORTS_CHANGE 2025-06-01`.
    pub(crate) label: String,
}

/// The figures a flow has, as [`FigureAt::value`] reads them.
const FLOW_FIGURES: [Figure; 7] = [
    Figure::ExportsChange,
    Figure::ExportsChangePct,
    Figure::ImportsChange,
    Figure::ImportsChangePct,
    Figure::WorldPriceChangePct,
    Figure::ConsumerPriceChangePct,
    Figure::EffectiveTariffAfterPct,
];

impl FigureAt {
    /// Checks `r` against the dataset and the scenario's `dates`.
    pub(crate) fn prepare(
        c: &mut Collector,
        dataset: &Dataset,
        dates: &[Date],
        path: &str,
        r: &pb::FigureRef,
    ) -> Option<FigureAt> {
        let figure = Figure::from_str_name(&r.figure).filter(|f| figure_position(*f).is_some());
        if figure.is_none() {
            let names: Vec<&str> = FIGURES.iter().map(|f| f.as_str_name()).collect();
            c.push(
                format!("{path}.figure"),
                format!("unknown figure `{}` (one of {})", r.figure, names.join(", ")),
            );
        }
        let economy = dataset.economy(&r.economy);
        if economy.is_none() {
            c.push(format!("{path}.economy"), format!("unknown economy `{}`", r.economy));
        }
        let sector = match r.sector.as_str() {
            "" => Some(None),
            code => {
                let s = dataset.sector(code);
                if s.is_none() {
                    c.push(format!("{path}.sector"), format!("unknown sector `{code}`"));
                }
                s.map(Some)
            }
        };
        let importer = match r.importer.as_str() {
            "" => Some(None),
            _ if r.sector.is_empty() => {
                c.push(format!("{path}.importer"), "a flow's figure needs its `sector` too");
                None
            }
            code => {
                let e = dataset.economy(code);
                if e.is_none() {
                    c.push(format!("{path}.importer"), format!("unknown economy `{code}`"));
                }
                e.map(Some)
            }
        };
        if let (Some(f), Some(Some(_))) = (figure, importer)
            && !FLOW_FIGURES.contains(&f)
        {
            let names: Vec<&str> = FLOW_FIGURES.iter().map(|f| f.as_str_name()).collect();
            c.push(
                format!("{path}.figure"),
                format!("a flow has no {} (it has {})", f.as_str_name(), names.join(", ")),
            );
        }
        let date = match r.date.as_str() {
            "" => Some(dates.len().saturating_sub(1)),
            text => match text.parse::<Date>() {
                Ok(d) => {
                    let at = dates.iter().position(|x| *x == d);
                    if at.is_none() {
                        let listed: Vec<String> = dates.iter().map(Date::to_string).collect();
                        c.push(
                            format!("{path}.date"),
                            format!("{d} is not one of the scenario's dates ({})", listed.join(", ")),
                        );
                    }
                    at
                }
                Err(e) => {
                    c.push(format!("{path}.date"), e.to_string());
                    None
                }
            },
        };
        let (figure, economy, sector, importer, date) = (figure?, economy?, sector?, importer?, date?);
        let code = |i: usize| dataset.economies[i].code.as_str();
        let mut label = match (sector, importer) {
            (None, _) => format!("{} {}", code(economy), figure.as_str_name()),
            (Some(s), None) => {
                format!("{} {} {}", dataset.sectors[s].code, code(economy), figure.as_str_name())
            }
            (Some(s), Some(m)) => {
                format!("{} {}->{} {}", dataset.sectors[s].code, code(economy), code(m), figure.as_str_name())
            }
        };
        if !r.date.is_empty() {
            label = format!("{label} {}", r.date);
        }
        Some(FigureAt { figure, economy, sector, importer, date, label })
    }

    /// The same figure of another economy (for a flow: from it, to the same importer).
    pub(crate) fn for_economy(&self, dataset: &Dataset, economy: usize) -> FigureAt {
        let old = &dataset.economies[self.economy].code;
        let new = &dataset.economies[economy].code;
        FigureAt { economy, label: self.label.replacen(old.as_str(), new, 1), ..self.clone() }
    }

    /// Whether reading it needs the result's flows.
    pub(crate) fn needs_flows(&self) -> bool {
        self.importer.is_some()
    }

    /// The figure in `result`, which has the scenario's dates (and, for a
    /// flow, keeps it). A flow the result does not have (none before, none
    /// after) reads as 0.
    pub(crate) fn value(&self, dataset: &Dataset, result: &pb::ScenarioResult) -> Option<f64> {
        let impact = result.impacts.get(self.date)?;
        let economy = dataset.economies.get(self.economy)?.code.as_str();
        let headline = |e: &pb::EconomyImpact| crate::uncertainty::figure_of_impact(e, self.figure);
        let Some(s) = self.sector else {
            return impact.economies.iter().find(|e| e.economy == economy).and_then(headline);
        };
        let code = &dataset.sectors.get(s)?.code;
        let sector = impact.sectors.iter().find(|x| &x.sector == code)?;
        let Some(m) = self.importer else {
            return sector.economies.iter().find(|e| e.economy == economy).and_then(headline);
        };
        let importer = dataset.economies.get(m)?.code.as_str();
        let Some(flow) = sector.flows.iter().find(|f| f.exporter == economy && f.importer == importer) else {
            return Some(0.0);
        };
        let value = flow.value.unwrap_or_default();
        Some(match self.figure {
            Figure::ExportsChange | Figure::ImportsChange => value.change,
            Figure::ExportsChangePct | Figure::ImportsChangePct => value.change_pct,
            Figure::WorldPriceChangePct => flow.fob_price_change_pct,
            Figure::ConsumerPriceChangePct => flow.delivered_price_change_pct,
            Figure::EffectiveTariffAfterPct => flow.tariff_after_pct,
            _ => return None,
        })
    }
}
