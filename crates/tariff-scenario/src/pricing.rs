//! A scenario's horizon, market structure and exchange rates, checked against
//! the dataset: which elasticity set, which structure per sector, and which
//! currency factors the model solves with.

use tariff_model::{Pricing, Structure};
use tariff_proto::v1 as pb;

use crate::{
    dataset::{Dataset, LONG_RUN},
    violation::Collector,
};

/// The lowest appreciation accepted: a currency that loses everything has no price.
const MIN_CHANGE_PCT: f64 = -100.0;

/// What the scenario chose beyond its measures, resolved to positions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScenarioPricing {
    /// Position of the horizon in [`Dataset::horizons`].
    pub(crate) horizon: usize,
    /// Per sector.
    pub(crate) structures: Vec<Structure>,
    /// Per economy `f = 1 + change / 100`; empty when no currency moves.
    pub(crate) exchange_rates: Vec<f64>,
    /// The moves as the scenario gave them, for the result.
    pub(crate) moves: Vec<pb::ExchangeRate>,
}

impl ScenarioPricing {
    /// What the model solves sector `s` with.
    pub(crate) fn of_sector(&self, sector: usize) -> Pricing {
        Pricing {
            structure: self.structures.get(sector).copied().unwrap_or_default(),
            exchange_rates: self.exchange_rates.clone(),
        }
    }
}

/// The proto enum for a market structure.
pub fn structure_proto(structure: Structure) -> pb::MarketStructure {
    match structure {
        Structure::Integrated => pb::MarketStructure::Integrated,
        Structure::Segmented => pb::MarketStructure::Segmented,
    }
}

pub(crate) fn prepare(c: &mut Collector, dataset: &Dataset, scenario: &pb::Scenario) -> ScenarioPricing {
    let name = if scenario.horizon.is_empty() { LONG_RUN } else { scenario.horizon.as_str() };
    let horizon = dataset.horizon(name).unwrap_or_else(|| {
        let known: Vec<&str> = dataset.horizons().iter().map(|h| h.name.as_str()).collect();
        c.push(
            "horizon",
            format!("dataset `{}` has no horizon `{name}` (it has {})", dataset.id, known.join(", ")),
        );
        0
    });
    let mut structures: Vec<Structure> = dataset
        .horizons()
        .get(horizon)
        .map(|h| h.sectors.iter().map(|s| s.structure).collect())
        .unwrap_or_default();
    structures.resize(dataset.sectors.len(), Structure::Integrated);
    for (i, o) in scenario.market_structure.iter().enumerate() {
        let path = format!("market_structure[{i}]");
        let structure = match pb::MarketStructure::try_from(o.structure) {
            Ok(pb::MarketStructure::Integrated) => Structure::Integrated,
            Ok(pb::MarketStructure::Segmented) => Structure::Segmented,
            _ => {
                c.push(format!("{path}.structure"), "must be INTEGRATED or SEGMENTED");
                continue;
            }
        };
        match o.sector.as_str() {
            "*" => structures.iter_mut().for_each(|s| *s = structure),
            code => match dataset.sector(code) {
                Some(s) => structures[s] = structure,
                None => c.push(format!("{path}.sector"), format!("unknown sector `{code}`")),
            },
        }
    }

    let mut factors = vec![1.0; dataset.economies.len()];
    let mut given = vec![false; factors.len()];
    for (i, x) in scenario.exchange_rates.iter().enumerate() {
        let path = format!("exchange_rates[{i}]");
        let Some(e) = dataset.economy(&x.economy) else {
            c.push(format!("{path}.economy"), format!("unknown economy `{}`", x.economy));
            continue;
        };
        if std::mem::replace(&mut given[e], true) {
            c.push(format!("{path}.economy"), format!("`{}` has an exchange rate already", x.economy));
        }
        if !x.change_pct.is_finite() || x.change_pct <= MIN_CHANGE_PCT {
            c.push(
                format!("{path}.change_pct"),
                format!("{} is not an appreciation in percent above {MIN_CHANGE_PCT}", x.change_pct),
            );
            continue;
        }
        factors[e] = 1.0 + x.change_pct / 100.0;
    }
    let moves = factors.iter().any(|&f| f != 1.0);
    ScenarioPricing {
        horizon,
        structures,
        exchange_rates: if moves { factors } else { Vec::new() },
        moves: scenario.exchange_rates.clone(),
    }
}
