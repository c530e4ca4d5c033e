//! The model's figure for an observation, in the observation's currency.
//!
//! The model reports prices and values in the dataset currency; a figure in
//! another currency is divided by that currency's exchange-rate factor `f` (the
//! scenario's move for the economy whose currency it is, 1 when it does not
//! move). Volumes have no currency.

use tariff_proto::v1 as pb;

use super::{Observation, Observed, ObservedFigure, Period, Subject};
use crate::dataset::Dataset;

/// One observation beside the model's figure for it.
#[derive(Debug, Clone, PartialEq)]
pub struct BackcastRow<'o> {
    pub observation: &'o Observation,
    /// The model's change in percent, or why it has none for this observation.
    pub model: Result<f64, String>,
}

impl BackcastRow<'_> {
    /// Model minus observed, in percentage points.
    pub fn gap(&self) -> Option<f64> {
        self.model.as_ref().ok().map(|m| m - self.observation.change_pct)
    }
}

/// Every observation of `period` beside the model's figure for it, from the
/// result's last date.
pub fn backcast<'o>(
    result: &pb::ScenarioResult,
    dataset: &Dataset,
    observed: &'o Observed,
    period: &Period,
) -> Vec<BackcastRow<'o>> {
    observed
        .of_period(*period)
        .map(|observation| BackcastRow { observation, model: model_change_pct(result, dataset, observation) })
        .collect()
}

/// The exchange-rate factor of a currency in the result (1 for the dataset's).
fn currency_factor(result: &pb::ScenarioResult, dataset: &Dataset, currency: &str) -> Result<f64, String> {
    if currency.is_empty() || currency == result.currency {
        return Ok(1.0);
    }
    let economy = dataset.economies.iter().find(|e| e.currency == currency).ok_or_else(|| {
        format!(
            "no economy of dataset `{}` has the currency {currency} (economies.csv `currency`)",
            dataset.id
        )
    })?;
    let moved = result.exchange_rates.iter().find(|x| x.economy == economy.code);
    Ok(moved.map_or(1.0, |x| 1.0 + x.change_pct / 100.0))
}

/// Sums over the flows of the observation's subject: (value before, value after,
/// volume after in base units).
fn flow_sums(
    impact: &pb::Impact,
    sector: Option<&str>,
    exporter: &str,
    importer: &str,
) -> Option<(f64, f64, f64)> {
    let mut sums: Option<(f64, f64, f64)> = None;
    for s in impact.sectors.iter().filter(|s| sector.is_none_or(|c| c == s.sector)) {
        for f in s.flows.iter().filter(|f| f.exporter == exporter && f.importer == importer) {
            let v = f.value.unwrap_or_default();
            let acc = sums.get_or_insert((0.0, 0.0, 0.0));
            acc.0 += v.before;
            acc.1 += v.after;
            acc.2 += v.before * (1.0 + f.volume_change_pct / 100.0);
        }
    }
    sums
}

fn one_flow<'a>(
    impact: &'a pb::Impact,
    sector: &str,
    exporter: &str,
    importer: &str,
) -> Option<&'a pb::FlowImpact> {
    let s = impact.sectors.iter().find(|s| s.sector == sector)?;
    s.flows.iter().find(|f| f.exporter == exporter && f.importer == importer)
}

fn ratio(num: f64, den: f64) -> Result<f64, String> {
    if den > 0.0 { Ok(num / den) } else { Err("no base value to compare with".to_owned()) }
}

/// The model's change in percent for `observation`, from the result's last
/// date, in the observation's currency.
pub fn model_change_pct(
    result: &pb::ScenarioResult,
    dataset: &Dataset,
    observation: &Observation,
) -> Result<f64, String> {
    let impact = result.impacts.last().ok_or("the result has no impact")?;
    let f = currency_factor(result, dataset, &observation.currency)?;
    let sector = observation.sector.as_deref();
    let ratio_in_dataset_currency = match (&observation.subject, observation.figure) {
        (Subject::Flow { exporter, importer }, figure) => {
            let (before, after, volume) = flow_sums(impact, sector, exporter, importer)
                .ok_or_else(|| format!("the dataset has no flow {}", observation.subject_label()))?;
            match figure {
                ObservedFigure::Value => ratio(after, before)?,
                ObservedFigure::Volume => return Ok((ratio(volume, before)? - 1.0) * 100.0),
                ObservedFigure::FobPrice => ratio(after, volume)?,
                ObservedFigure::DeliveredPrice => {
                    let code = sector.ok_or("delivered prices are not totalled over sectors")?;
                    let flow = one_flow(impact, code, exporter, importer).ok_or("no such flow")?;
                    1.0 + flow.delivered_price_change_pct / 100.0
                }
                other => return Err(format!("`{}` is not a flow's figure", other.name())),
            }
        }
        (Subject::Economy(code), figure) => {
            let rows = match sector {
                None => &impact.economies,
                Some(s) => {
                    &impact
                        .sectors
                        .iter()
                        .find(|x| x.sector == s)
                        .ok_or_else(|| format!("the result has no sector {s}"))?
                        .economies
                }
            };
            let e = rows.iter().find(|e| &e.economy == code).ok_or_else(|| format!("no economy {code}"))?;
            let change = |c: &Option<pb::Change>| {
                let c = c.unwrap_or_default();
                ratio(c.after, c.before)
            };
            match figure {
                ObservedFigure::ConsumerPrice => 1.0 + e.consumer_price_change_pct / 100.0,
                ObservedFigure::ExportsValue => change(&e.exports)?,
                ObservedFigure::ImportsValue => change(&e.imports)?,
                other => return Err(format!("`{}` is not an economy's figure", other.name())),
            }
        }
    };
    Ok((ratio_in_dataset_currency / f - 1.0) * 100.0)
}
