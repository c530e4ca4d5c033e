//! Sparse markets: only the flows that trade are stored.
//!
//! Product-level trade data (200 economies x 5,000 HS6 products, about 5% of
//! pairs trading) does not fit the dense `n x n` [`Market`]: its matrices would be
//! mostly zeros, and the dense solver's work grows with `n^3` per market. A
//! [`SparseMarket`] lists its flows; [`solve_sparse`] solves it in time and
//! memory proportional to them where it can, and otherwise (small or dense
//! markets, the solvers that have no sparse path) through the dense solver,
//! whose results it then are, to the last bit.

use crate::{
    Diagnostics, EconomyOutcome, Market, MarketOutcome, ModelError, Pricing, SolveOptions, Solver, solve_with,
};

/// One flow of a sparse market: `exporter` ships `base_value` to `importer`
/// (the same economy for domestic shipments).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparseFlow {
    pub exporter: u32,
    pub importer: u32,
    /// `M0 >= 0` at base-year world prices.
    pub base_value: f64,
    /// `T0 = 1 + t/100` (treated as 1 for domestic shipments).
    pub base_tariff: f64,
    /// `T1`, same form.
    pub new_tariff: f64,
}

/// One sector market of `n` economies given by its flows. Pairs not listed
/// trade nothing. Each (exporter, importer) pair is listed at most once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparseMarket {
    pub n: usize,
    pub flows: Vec<SparseFlow>,
    /// Per economy, as in [`Market`].
    pub import_demand: Vec<f64>,
    pub substitution: Vec<f64>,
    pub supply: Vec<f64>,
}

/// The figures of one flow after the solve, as the dense outcome's matrices
/// hold them at the flow's position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowOutcome {
    /// `M1` in the dataset currency.
    pub new_value: f64,
    /// `M1` in the exporter's currency at the base exchange rate.
    pub new_value_exporter_currency: f64,
    /// Quantity ratio `q`.
    pub volume: f64,
    /// Exporter (fob) price ratio in the dataset currency.
    pub fob_price: f64,
    /// Delivered, duty-inclusive price ratio in the dataset currency.
    pub delivered_price: f64,
}

/// Solution of a sparse market: the dense [`MarketOutcome`]'s figures, with
/// one [`FlowOutcome`] per flow of the market, in the market's order.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseOutcome {
    pub world_price: Vec<f64>,
    pub consumer_price: Vec<f64>,
    pub flows: Vec<FlowOutcome>,
    pub exchange_rates: Vec<f64>,
    pub economies: Vec<EconomyOutcome>,
    pub diagnostics: Diagnostics,
}

impl SparseMarket {
    /// The same market as a dense [`Market`] (pairs not listed are zero flows
    /// at no tariff).
    ///
    /// # Errors
    /// [`ModelError::TooLarge`] when `n * n` overflows, and the flow errors of
    /// [`SparseMarket::validate_flows`].
    pub fn to_dense(&self) -> Result<Market, ModelError> {
        self.validate_flows()?;
        let n = self.n;
        let nn = n.checked_mul(n).ok_or(ModelError::TooLarge { n })?;
        let mut market = Market {
            n,
            base_values: vec![0.0; nn],
            base_tariff: vec![1.0; nn],
            new_tariff: vec![1.0; nn],
            import_demand: self.import_demand.clone(),
            substitution: self.substitution.clone(),
            supply: self.supply.clone(),
        };
        for f in &self.flows {
            let k = f.exporter as usize * n + f.importer as usize;
            market.base_values[k] = f.base_value;
            market.base_tariff[k] = f.base_tariff;
            market.new_tariff[k] = f.new_tariff;
        }
        Ok(market)
    }

    /// Checks that every flow names economies below `n`, once each.
    ///
    /// # Errors
    /// [`ModelError::FlowIndex`] or [`ModelError::DuplicateFlow`] for the first
    /// offending flow (its position in `flows`).
    pub fn validate_flows(&self) -> Result<(), ModelError> {
        let n = self.n;
        let mut seen = std::collections::HashSet::with_capacity(self.flows.len());
        for (index, f) in self.flows.iter().enumerate() {
            if f.exporter as usize >= n || f.importer as usize >= n {
                return Err(ModelError::FlowIndex { index, exporter: f.exporter, importer: f.importer, n });
            }
            if !seen.insert((f.exporter, f.importer)) {
                return Err(ModelError::DuplicateFlow { index, exporter: f.exporter, importer: f.importer });
            }
        }
        Ok(())
    }
}

/// The dense outcome's figures at the market's flows.
fn from_dense(market: &SparseMarket, out: MarketOutcome) -> SparseOutcome {
    let n = market.n;
    let local = out.values_in_exporter_currency();
    let flows = market
        .flows
        .iter()
        .map(|f| {
            let k = f.exporter as usize * n + f.importer as usize;
            FlowOutcome {
                new_value: out.new_values[k],
                new_value_exporter_currency: local[k],
                volume: out.volume[k],
                fob_price: out.fob_price[k],
                delivered_price: out.delivered_price[k],
            }
        })
        .collect();
    SparseOutcome {
        flows,
        world_price: out.world_price,
        consumer_price: out.consumer_price,
        exchange_rates: out.exchange_rates,
        economies: out.economies,
        diagnostics: out.diagnostics,
    }
}

/// Solves a sparse market with the chosen solver, market structure and
/// exchange rates: the figures of [`solve_with`] on [`SparseMarket::to_dense`].
///
/// # Errors
/// As [`solve_with`], and the flow errors of [`SparseMarket::validate_flows`].
pub fn solve_sparse(
    market: &SparseMarket,
    solver: Solver,
    options: &SolveOptions,
    pricing: &Pricing,
) -> Result<SparseOutcome, ModelError> {
    let dense = market.to_dense()?;
    solve_with(&dense, solver, options, pricing).map(|out| from_dense(market, out))
}
