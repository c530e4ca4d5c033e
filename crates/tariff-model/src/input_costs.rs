//! Input costs of supply (docs/model.md, "Supply chains: input costs and
//! effective protection"): producers respond to their value-added price, so a
//! dearer input lowers the supply of what is made with it.

use crate::{
    Layout, Market, MarketOutcome, ModelError, Pricing, SolveOptions, Solver, SparseMarket, SparseOutcome,
    Structure, exact,
    figures::{self, exact_producer_surplus},
    pricing::{exchange_factors, shocked_by_currencies},
    sparse::from_dense,
};

/// Per exporter, the inputs of its output: `share[v] = sum_j a[v,j]`, the
/// inputs' share of the base cost, and `cost[v] = sum_j a[v,j] C[v,j]`, with
/// `C[v,j]` the price ratio (new over base) of input `j` where `v` buys it.
/// The exporter's value-added price is `s = (p - cost) / (1 - share)`, 1 at the
/// base (`p = 1`, every `C = 1`), and its supply `X0 s^Ex`.
#[derive(Debug, Clone, PartialEq)]
pub struct InputCosts {
    share: Vec<f64>,
    cost: Vec<f64>,
}

impl InputCosts {
    /// # Errors
    /// [`ModelError::InputCosts`] unless both have one entry per economy, every
    /// share is in `[0, 1)` and every cost is finite and `>= 0`.
    pub fn new(share: Vec<f64>, cost: Vec<f64>) -> Result<InputCosts, ModelError> {
        let invalid = |requirement: String| Err(ModelError::InputCosts { requirement });
        if share.len() != cost.len() {
            return invalid(format!("{} shares but {} costs", share.len(), cost.len()));
        }
        if let Some(v) = share.iter().position(|a| !(0.0..1.0).contains(a)) {
            return invalid(format!("share[{v}] = {} is not in [0, 1)", share[v]));
        }
        if let Some(v) = cost.iter().position(|k| !(k.is_finite() && *k >= 0.0)) {
            return invalid(format!("cost[{v}] = {} is not a finite number >= 0", cost[v]));
        }
        Ok(InputCosts { share, cost })
    }

    /// Economies covered.
    pub fn len(&self) -> usize {
        self.share.len()
    }

    pub fn is_empty(&self) -> bool {
        self.share.is_empty()
    }

    /// `s = (p - cost) / (1 - share)`; `None` where it is not positive (the
    /// inputs cost more than the output sells for: no supply).
    pub(crate) fn value_added_price(&self, v: usize, p: f64) -> Option<f64> {
        let (a, k) = (self.share.get(v).copied().unwrap_or(0.0), self.cost.get(v).copied().unwrap_or(0.0));
        let s = (p - k) / (1.0 - a);
        (s > 0.0).then_some(s)
    }

    /// `d ln s / d ln p = p / (p - cost)`, 0 where there is no supply.
    pub(crate) fn elasticity_of_value_added(&self, v: usize, p: f64) -> f64 {
        match self.value_added_price(v, p) {
            Some(_) => p / (p - self.cost.get(v).copied().unwrap_or(0.0)),
            None => 0.0,
        }
    }

    /// The producer surplus change, on value added: `(1 - share)` times the
    /// base model's surplus at the value-added price.
    pub(crate) fn producer_surplus(&self, v: usize, x0: f64, ex: f64, p: f64) -> f64 {
        let a = self.share.get(v).copied().unwrap_or(0.0);
        let ln_s = self.value_added_price(v, p).map_or(f64::NEG_INFINITY, f64::ln);
        (1.0 - a) * exact_producer_surplus(x0, ex, ln_s)
    }

    /// The costs in each economy's own currency (`fx[v]` dataset currency per
    /// unit of its own, new over base), where the exchange-rate solve works.
    pub(crate) fn in_own_currency(&self, fx: &[f64]) -> InputCosts {
        let cost = self.cost.iter().zip(fx).map(|(k, f)| k / f).collect();
        InputCosts { share: self.share.clone(), cost }
    }
}

/// Solves one sector market whose exporters' supply follows their
/// value-added price, with the exact solver, integrated markets and any
/// exchange rates. The base model ([`crate::solve_with`]) is this with every
/// share 0, but through its own code path, to the last bit.
///
/// # Errors
/// As [`crate::solve_with`]; [`ModelError::InputCosts`] for costs that do not
/// cover the market's economies, or for the GSIM solver or segmented markets,
/// which do not carry input costs.
pub fn solve_with_input_costs(
    market: &Market,
    solver: Solver,
    options: &SolveOptions,
    pricing: &Pricing,
    costs: &InputCosts,
) -> Result<MarketOutcome, ModelError> {
    options.validate()?;
    let prep = market.prepare(false)?;
    check(market.n, solver, pricing, costs)?;
    let fx = exchange_factors(market.n, pricing)?;
    if fx.is_empty() {
        let result = exact::solve_costs(&prep, options, Some(costs))?;
        return figures::assemble(&prep, result, &fx);
    }
    let shocked = shocked_by_currencies(market, &fx);
    let shocked_prep = shocked.prepare(false)?;
    let result = exact::solve_costs(&shocked_prep, options, Some(&costs.in_own_currency(&fx)))?;
    figures::assemble(&prep, result, &fx)
}

/// What both paths require of input costs: one entry per economy, the exact
/// solver, integrated markets.
fn check(n: usize, solver: Solver, pricing: &Pricing, costs: &InputCosts) -> Result<(), ModelError> {
    if costs.len() != n {
        return Err(ModelError::InputCosts {
            requirement: format!("{} economies' costs for a market of {n}", costs.len()),
        });
    }
    if solver != Solver::Exact || pricing.structure != Structure::Integrated {
        return Err(ModelError::InputCosts {
            requirement: "only the exact solver of integrated markets carries input costs".into(),
        });
    }
    Ok(())
}

/// [`solve_with_input_costs`] for a sparse market, on the path
/// [`Layout::Auto`] chooses, as [`crate::solve_sparse`] does: large markets
/// where few pairs trade on the sparse exact solver (Newton with GMRES),
/// the others on the dense one.
///
/// # Errors
/// As [`solve_with_input_costs`].
pub fn solve_sparse_with_input_costs(
    market: &SparseMarket,
    solver: Solver,
    options: &SolveOptions,
    pricing: &Pricing,
    costs: &InputCosts,
) -> Result<SparseOutcome, ModelError> {
    solve_sparse_with_input_costs_on(market, solver, options, pricing, costs, Layout::Auto)
}

/// [`solve_sparse_with_input_costs`] on the path `layout` chooses.
///
/// # Errors
/// As [`solve_with_input_costs`].
pub fn solve_sparse_with_input_costs_on(
    market: &SparseMarket,
    solver: Solver,
    options: &SolveOptions,
    pricing: &Pricing,
    costs: &InputCosts,
    layout: Layout,
) -> Result<SparseOutcome, ModelError> {
    if layout.resolve(market, solver, pricing) == Layout::Sparse {
        options.validate()?;
        check(market.n, solver, pricing, costs)?;
        return crate::sparse::solve_flows_with_costs(market, options, pricing, costs);
    }
    let dense = market.to_dense()?;
    solve_with_input_costs(&dense, solver, options, pricing, costs).map(|out| from_dense(market, out))
}
