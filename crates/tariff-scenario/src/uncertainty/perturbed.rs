//! The scenario solved again at other elasticities: every group's elasticities
//! multiplied by a factor, every date's sector markets solved, the headline
//! figures of every economy's totals kept.
//!
//! The arithmetic is the point estimate's own (the same markets, solver,
//! sector figures and totals, and with `input_costs` the same passes of the
//! coupled solve), so factors of exactly 1 give the point estimate's figures
//! to the last bit.

use tariff_model::{ModelError, SparseMarket};
use tariff_proto::v1 as pb;

use super::{
    headline::{FIGURES, headline},
    plan::{PARAMETERS, Parameter, group_index},
};
use crate::{
    Date, EvaluateError, figures,
    prepared::PreparedScenario,
    supply_chain::{InputPrices, iterate},
};

/// Every date's sector markets at the elasticities in use, computed once per
/// run and shared by its threads.
#[derive(Debug)]
pub(crate) struct DateMarkets {
    pub(crate) dates: Vec<Date>,
    /// Per date, per sector: its market, or `None` where the sector's rates are
    /// those of the date before (its figures carry over, as in the point estimate).
    markets: Vec<Vec<Option<SparseMarket>>>,
}

/// What would not solve at some factors: a sector market, or with
/// `input_costs` the coupled solve of a date.
#[derive(Debug)]
pub(crate) enum SolveFailure {
    Market { sector: usize, date: Date, source: ModelError },
    Coupling { date: Date, passes: u32, change: f64 },
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
    /// With `input_costs` every sector is solved at every date: one whose
    /// rates did not change may still see its input prices move.
    pub(crate) fn date_markets(&self) -> DateMarkets {
        let sectors = self.dataset.sectors.len();
        let base = self.base_rates();
        let mut previous = None;
        let mut markets = Vec::with_capacity(self.dates.len());
        for &date in &self.dates {
            let rates = self.rates_at(date);
            let of_date = (0..sectors)
                .map(|s| {
                    let same = !self.coupled()
                        && previous
                            .as_ref()
                            .is_some_and(|p: &crate::RateTable| p.sector(s) == rates.sector(s));
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
            if self.coupled() {
                self.perturbed_coupled(date, of_date, factors, scratch)?;
            } else {
                for (s, market) in of_date.iter().enumerate() {
                    // A sector whose rates did not change keeps the figures it had at the date before.
                    let Some(market) = market else { continue };
                    self.solve_perturbed(date, s, market, factors, None, &mut scratch.sectors[s])?;
                }
            }
            let totals = figures::economy_totals_of(dataset, scratch.sectors.iter().map(Vec::as_slice));
            for e in &totals {
                out.extend_from_slice(&headline(e));
            }
        }
        Ok(())
    }

    /// One sector at the factors (and with its producers' input costs at
    /// `prices`, if given), its economies' figures into `slot`.
    fn solve_perturbed(
        &self,
        date: Date,
        s: usize,
        market: &SparseMarket,
        factors: &[f64],
        prices: Option<&InputPrices>,
        slot: &mut Vec<pb::EconomyImpact>,
    ) -> Result<(), SolveFailure> {
        let failed = |source| SolveFailure::Market { sector: s, date, source };
        let scaled = scaled_market(market, s, factors);
        let costs = prices.map(|p| self.input_costs_of(s, p)).transpose().map_err(failed)?.flatten();
        let outcome = self.solve_market_with(s, &scaled, costs.as_ref()).map_err(failed)?;
        slot.clear();
        slot.extend(
            outcome
                .economies
                .iter()
                .zip(&self.dataset.economies)
                .map(|(o, e)| figures::economy_impact(&e.code, o)),
        );
        Ok(())
    }

    /// The coupled solve of one date at the factors, in the point estimate's
    /// passes (`PreparedScenario::solve_coupled`): every sector at base input
    /// prices, then the sectors with inputs at the last pass's prices until
    /// none moves by more than the tolerance.
    fn perturbed_coupled(
        &self,
        date: Date,
        of_date: &[Option<SparseMarket>],
        factors: &[f64],
        scratch: &mut Scratch,
    ) -> Result<(), SolveFailure> {
        let (n, sectors) = (self.dataset.economies.len(), self.dataset.sectors.len());
        let inputs = &self.dataset.inputs;
        let prices = InputPrices::base(n, sectors);
        for (s, market) in of_date.iter().enumerate() {
            let Some(market) = market else { continue };
            self.solve_perturbed(date, s, market, factors, Some(&prices), &mut scratch.sectors[s])?;
        }
        let with_inputs = || of_date.iter().enumerate().filter(|(s, _)| inputs.has_inputs(*s));
        let ended = iterate(
            &mut scratch.sectors,
            prices,
            with_inputs().next().is_some(),
            |solved| InputPrices::of_economies(solved.iter().map(Vec::as_slice), sectors, n),
            |solved, prices, _| {
                for (s, market) in with_inputs() {
                    let Some(market) = market else { continue };
                    self.solve_perturbed(date, s, market, factors, Some(prices), &mut solved[s])?;
                }
                Ok(())
            },
        )?;
        if !ended.settled {
            return Err(SolveFailure::Coupling { date, passes: ended.passes, change: ended.change });
        }
        for (j, economies) in scratch.sectors.iter_mut().enumerate() {
            self.final_buyers_only(j, economies);
        }
        Ok(())
    }

    /// A failure of a run at other elasticities, naming the run.
    pub(crate) fn perturbed_error(&self, run: String, f: SolveFailure) -> EvaluateError {
        match f {
            SolveFailure::Market { sector, date, source } => {
                let sector = self.dataset.sectors.get(sector).map(|s| s.code.clone()).unwrap_or_default();
                EvaluateError::Perturbed { run, sector, date, source }
            }
            SolveFailure::Coupling { date, passes, change } => self.coupling_error(run, date, passes, change),
        }
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
