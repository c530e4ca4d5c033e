//! Multi-region partial-equilibrium tariff impact model, one sector market at a time.
//!
//! The economics are specified in `docs/model.md`: a GSIM-style linearised solver
//! ([`Solver::Gsim`]) and an exact nonlinear Armington CES solver with iso-elastic
//! export supply ([`Solver::Exact`], the default). Pure computation: no I/O.
//!
//! [`solve_with`] adds the extensions of docs/model.md: segmented markets
//! (pricing to market, [`Structure::Segmented`]) and exchange rates
//! ([`Pricing::exchange_rates`]); without them it is [`solve`], to the last bit.
//!
//! The exact solver runs damped Newton in `ln p` with an analytic Jacobian,
//! reusing the last factorised Jacobian once the residual is small, and falls
//! back to continuation in the shock for very large shocks. The composite price
//! is evaluated so that no shock gives exactly no change.
//!
//! ```
//! use tariff_model::{solve, Market, SolveOptions, Solver};
//! let market = Market {
//!     n: 2,
//!     base_values: vec![100.0, 20.0, 30.0, 80.0],
//!     base_tariff: vec![1.0, 1.05, 1.05, 1.0],
//!     new_tariff: vec![1.0, 1.25, 1.05, 1.0],
//!     import_demand: vec![-1.25; 2],
//!     substitution: vec![5.0; 2],
//!     supply: vec![1.5; 2],
//! };
//! let out = solve(&market, Solver::Exact, &SolveOptions::default())?;
//! assert!(out.new_values[1] < 20.0); // economy 1 now imports less from economy 0
//! # Ok::<(), tariff_model::ModelError>(())
//! ```

mod error;
mod exact;
mod figures;
mod gsim;
mod input_costs;
mod linalg;
mod market;
mod outcome;
mod pricing;
mod segmented;
mod sparse;
pub mod synthetic;

pub use error::ModelError;
pub use input_costs::{
    InputCosts, solve_sparse_with_input_costs, solve_sparse_with_input_costs_on, solve_with_input_costs,
};
pub use market::{Market, Pricing, SolveOptions, Solver, Structure};
pub use outcome::{Diagnostics, EconomyOutcome, MarketOutcome};
pub use pricing::solve_with;
pub use sparse::{
    FlowOutcome, Layout, SPARSE_MAX_FILL, SPARSE_MIN_ECONOMIES, SparseFlow, SparseMarket, SparseOutcome,
    solve_sparse, solve_sparse_with_layout,
};
pub use synthetic::{
    synthetic_markets, synthetic_sparse_iter, synthetic_sparse_market, synthetic_sparse_markets,
};

/// Solves one sector market with the chosen solver.
///
/// Diagonal tariffs are treated as 1 whatever the input, so a measure on "all
/// partners" cannot tax domestic shipments. No shock (`new_tariff ==
/// base_tariff`) gives exactly the base: prices 1, `new_values == base_values`,
/// every change 0.
///
/// # Errors
/// Invalid input ([`ModelError::Dimension`], [`ModelError::NonFinite`], wrong
/// signs, bad options) is refused before any computation. A singular system,
/// an exact solve that does not reach the tolerance, or a result that is not
/// finite (values so large that sums overflow) is an error too, never a
/// wrong number.
pub fn solve(market: &Market, solver: Solver, options: &SolveOptions) -> Result<MarketOutcome, ModelError> {
    solve_impl(market, solver, options, false)
}

/// Like [`solve`], but keeps the diagonal of the tariff matrices: internal tariffs
/// of an aggregate region (GSIM's "rest of world" levies tariffs on trade among its
/// members; the published Francois & Hall example has 15%).
///
/// Internal tariffs raise the region's internal prices and shares like any tariff,
/// and their revenue counts in its tariff revenue; the effective tariff rate still
/// covers imports only. With unit diagonals this is exactly [`solve`].
///
/// # Errors
/// As [`solve`]; a diagonal tariff factor must then be finite and positive too.
pub fn solve_with_internal_tariffs(
    market: &Market,
    solver: Solver,
    options: &SolveOptions,
) -> Result<MarketOutcome, ModelError> {
    solve_impl(market, solver, options, true)
}

fn solve_impl(
    market: &Market,
    solver: Solver,
    options: &SolveOptions,
    internal: bool,
) -> Result<MarketOutcome, ModelError> {
    options.validate()?;
    let prep = market.prepare(internal)?;
    let result = match solver {
        Solver::Exact => exact::solve(&prep, options)?,
        Solver::Gsim => gsim::solve(&prep)?,
    };
    figures::assemble(&prep, result, &[])
}
