//! The scenario solved again at other elasticities: every group's elasticities
//! multiplied by a factor, every date's sector markets solved, the headline
//! figures of every economy's totals kept.
//!
//! The arithmetic is the point estimate's own (the same markets, solver,
//! sector figures and totals), so factors of exactly 1 give the point
//! estimate's figures to the last bit.

use tariff_model::{ModelError, SparseMarket};
use tariff_proto::v1 as pb;

use super::{
    headline::{FIGURES, headline},
    plan::{PARAMETERS, Parameter, group_index},
};
use crate::{Date, figures, prepared::PreparedScenario};

/// Every date's sector markets at the elasticities in use, computed once per
/// run and shared by its threads.
#[derive(Debug)]
pub(crate) struct DateMarkets {
    pub(crate) dates: Vec<Date>,
    /// Per date, per sector: its market, or `None` where the sector's rates are
    /// those of the date before (its figures carry over, as in the point estimate).
    markets: Vec<Vec<Option<SparseMarket>>>,
}

/// A sector market that would not solve at some factors.
#[derive(Debug)]
pub(crate) struct SolveFailure {
    pub(crate) sector: usize,
    pub(crate) date: Date,
    pub(crate) source: ModelError,
}

/// What one thread keeps between runs: each sector's latest figures.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    sectors: Vec<Vec<pb::EconomyImpact>>,
}

impl DateMarkets {
    /// Headline numbers per run: dates x economies x figures.
    pub(crate) fn stride(&self, economies: usize) -> usize {
        self.dates.len() * economies * FIGURES.len()
    }
}

impl PreparedScenario<'_> {
    pub(crate) fn date_markets(&self) -> DateMarkets {
        let sectors = self.dataset.sectors.len();
        let base = self.base_rates();
        let mut previous = None;
        let mut markets = Vec::with_capacity(self.dates.len());
        for &date in &self.dates {
            let rates = self.rates_at(date);
            let of_date = (0..sectors)
                .map(|s| {
                    let same =
                        previous.as_ref().is_some_and(|p: &crate::RateTable| p.sector(s) == rates.sector(s));
                    (!same).then(|| self.market(s, &base, &rates))
                })
                .collect();
            markets.push(of_date);
            previous = Some(rates);
        }
        DateMarkets { dates: self.dates.clone(), markets }
    }

    /// Appends the headline figures of every date and economy (in that order,
    /// then [`FIGURES`] order) with each group's elasticities multiplied by its
    /// factor (indexed as the plan's groups).
    pub(crate) fn perturbed_headlines(
        &self,
        markets: &DateMarkets,
        factors: &[f64],
        scratch: &mut Scratch,
        out: &mut Vec<f64>,
    ) -> Result<(), SolveFailure> {
        let dataset = self.dataset;
        scratch.sectors.resize_with(dataset.sectors.len(), Vec::new);
        for (&date, of_date) in markets.dates.iter().zip(&markets.markets) {
            for (s, market) in of_date.iter().enumerate() {
                // A sector whose rates did not change keeps the figures it had at the date before.
                let Some(market) = market else { continue };
                let scaled = scaled_market(market, s, factors);
                let outcome = self.solve_market(s, &scaled).map_err(|source| SolveFailure {
                    sector: s,
                    date,
                    source,
                })?;
                let slot = &mut scratch.sectors[s];
                slot.clear();
                slot.extend(
                    outcome
                        .economies
                        .iter()
                        .zip(&dataset.economies)
                        .map(|(o, e)| figures::economy_impact(&e.code, o)),
                );
            }
            let totals = figures::economy_totals_of(dataset, scratch.sectors.iter().map(Vec::as_slice));
            for e in &totals {
                out.extend_from_slice(&headline(e));
            }
        }
        Ok(())
    }
}

/// The market with each elasticity multiplied by its group's factor.
fn scaled_market(market: &SparseMarket, sector: usize, factors: &[f64]) -> SparseMarket {
    let factor = |p: Parameter| factors.get(group_index(sector, p)).copied().unwrap_or(1.0);
    let mut m = market.clone();
    for p in PARAMETERS {
        let f = factor(p);
        let values = match p {
            Parameter::Substitution => &mut m.substitution,
            Parameter::ImportDemand => &mut m.import_demand,
            Parameter::Supply => &mut m.supply,
        };
        values.iter_mut().for_each(|v| *v *= f);
    }
    m
}
