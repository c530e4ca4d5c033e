//! Sparse markets: only the flows that trade are stored.
//!
//! Product-level trade data (200 economies x 5,000 HS6 products, about 5% of
//! pairs trading) does not fit the dense `n x n` [`Market`]: its matrices would be
//! mostly zeros, and the dense solver's work grows with `n^3` per market. A
//! [`SparseMarket`] lists its flows; [`solve_sparse`] solves it in time and
//! memory proportional to them, and small or dense markets through the dense
//! solver, whose results they then are, to the last bit.
//!
//! # Which path
//! [`Layout::Auto`] (what [`solve_sparse`] uses) takes the sparse path when
//! the market is large and sparse, [`Layout::is_large_and_sparse`]: at least
//! [`SPARSE_MIN_ECONOMIES`] (64) economies and at most one pair in
//! [`SPARSE_MAX_FILL`] (2) listed. Smaller or denser markets take the dense
//! path, which is as fast there or nearly (measurements at
//! [`SPARSE_MIN_ECONOMIES`]; `benches/sparse.rs`), and so every result of the
//! small markets the project has (the built-in dataset, the tests) stays what
//! the dense solver gives, bit for bit. [`Layout::Dense`] and
//! [`Layout::Sparse`] force a path, for tests and benchmarks.
//!
//! The sparse path has every solver and market structure: the exact solver
//! of integrated markets (Newton, with GMRES on a Jacobian that is never
//! formed: `sparse/exact.rs`), GSIM (its linear system by GMRES:
//! `sparse/gsim.rs`) and segmented markets (one importer at a time, the dense
//! solvers' per-importer code over the importer's own sources:
//! `sparse/segmented.rs`); exchange rates shock each flow's `T1` by
//! `f[v] / f[r]` as the dense path does.
//!
//! The sparse path solves the same equations to the same tolerance, so its
//! results agree with the dense path's to about the tolerance, not to the last
//! bit (Newton's linear systems are solved by GMRES instead of LU).

mod exact;
mod figures;
mod flows;
mod gmres;
mod gsim;
mod segmented;

use crate::{
    Diagnostics, EconomyOutcome, Market, MarketOutcome, ModelError, Pricing, SolveOptions, Solver, Structure,
    solve_with,
};

/// [`Layout::Auto`] takes the sparse path from this many economies on...
///
/// Measured (release, one thread, synthetic gravity markets from
/// `synthetic_sparse_market`, exact solver, integrated; ms per market,
/// dense / sparse): n = 16 at 5% 0.012 / 0.009, at 100% 0.021 / 0.025;
/// n = 32 at 5% 0.047 / 0.021, at 100% 0.076 / 0.083; n = 64 at 5%
/// 0.21 / 0.05, at 50% 0.40 / 0.18, at 100% 0.42 / 0.31; n = 200 at 5%
/// 3.1 / 0.18 (`benches/sparse.rs`). The sparse path is faster unless
/// nearly all pairs of a small market trade, but below 64 economies the gain
/// is hundredths of a millisecond, and the dense path keeps every result of
/// such markets (the built-in dataset has 9 economies, the tests fewer than
/// 64) exactly what it has always been.
pub const SPARSE_MIN_ECONOMIES: usize = 64;
/// ... and when at most `n * n / SPARSE_MAX_FILL` flows are listed (half the
/// pairs; denser markets are rare in product-level data, and near full
/// density the dense path's margin at small `n` is small either way).
pub const SPARSE_MAX_FILL: usize = 2;

/// Which implementation solves a sparse market.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Layout {
    /// The sparse path for large, sparse markets where the solver and market
    /// structure have one ([`Layout::has_sparse_path`]); the dense otherwise.
    #[default]
    Auto,
    /// Always the dense solver on [`SparseMarket::to_dense`]: exactly
    /// [`solve_with`]'s figures.
    Dense,
    /// The sparse path whenever the solver and market structure have one,
    /// whatever the market's size; the dense path otherwise.
    Sparse,
}

impl Layout {
    /// Whether `solver` under `structure` has a sparse implementation: every
    /// combination has (exact and GSIM, integrated and segmented markets).
    /// Kept as the place where a solver without one would be named.
    pub fn has_sparse_path(solver: Solver, structure: Structure) -> bool {
        matches!(
            (solver, structure),
            (Solver::Exact | Solver::Gsim, Structure::Integrated | Structure::Segmented)
        )
    }

    /// Whether [`Layout::Auto`] finds `market` large and sparse enough for the
    /// sparse path: `n >= SPARSE_MIN_ECONOMIES` and
    /// `flows.len() <= n * n / SPARSE_MAX_FILL`.
    pub fn is_large_and_sparse(market: &SparseMarket) -> bool {
        let n = market.n;
        n >= SPARSE_MIN_ECONOMIES
            && n.checked_mul(n).is_none_or(|nn| market.flows.len() <= nn / SPARSE_MAX_FILL)
    }

    /// The path this layout takes for `market`: [`Layout::Dense`] or [`Layout::Sparse`].
    pub fn resolve(self, market: &SparseMarket, solver: Solver, pricing: &Pricing) -> Layout {
        let possible = Self::has_sparse_path(solver, pricing.structure);
        match self {
            Layout::Sparse if possible => Layout::Sparse,
            Layout::Auto if possible && Self::is_large_and_sparse(market) => Layout::Sparse,
            _ => Layout::Dense,
        }
    }
}

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
        flows::check_flows(self).map(|_| ())
    }
}

/// The dense outcome's figures at the market's flows.
pub(crate) fn from_dense(market: &SparseMarket, out: MarketOutcome) -> SparseOutcome {
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
/// exchange rates: the figures of [`solve_with`] on [`SparseMarket::to_dense`],
/// computed by the sparse path for large sparse markets ([`Layout::Auto`]).
///
/// # Errors
/// As [`solve_with`], and the flow errors of [`SparseMarket::validate_flows`].
pub fn solve_sparse(
    market: &SparseMarket,
    solver: Solver,
    options: &SolveOptions,
    pricing: &Pricing,
) -> Result<SparseOutcome, ModelError> {
    solve_sparse_with_layout(market, solver, options, pricing, Layout::Auto)
}

/// [`solve_sparse`] on the path `layout` chooses (see [`Layout::resolve`]).
///
/// Both paths validate the market the same way and give the same errors,
/// with one exception: with moving exchange rates, the dense path also checks
/// the shocked factors `f[v] / f[r]` of pairs that do not trade (refusing
/// ratios that overflow), the sparse path those of listed flows only. Matrix
/// indices in errors are the flow's dense index `exporter * n + importer`
/// (the smallest one when several flows are at fault).
///
/// # Errors
/// As [`solve_sparse`]. Where the dense path's LU finds a singular system,
/// the sparse path's GMRES cannot name a pivot column: the exact solver then
/// reports [`ModelError::NotConverged`], GSIM [`ModelError::Singular`] with
/// the unknown of the largest remaining residual as `column`.
pub fn solve_sparse_with_layout(
    market: &SparseMarket,
    solver: Solver,
    options: &SolveOptions,
    pricing: &Pricing,
    layout: Layout,
) -> Result<SparseOutcome, ModelError> {
    if layout.resolve(market, solver, pricing) == Layout::Sparse {
        return solve_flows(market, solver, options, pricing);
    }
    let dense = market.to_dense()?;
    solve_with(&dense, solver, options, pricing).map(|out| from_dense(market, out))
}

/// The sparse path of the exact solver with the exporters' input costs
/// (integrated markets; the caller checked the costs).
pub(crate) fn solve_flows_with_costs(
    market: &SparseMarket,
    options: &SolveOptions,
    pricing: &Pricing,
    costs: &crate::InputCosts,
) -> Result<SparseOutcome, ModelError> {
    let flows = flows::prepare(market, options)?;
    let fx = crate::pricing::exchange_factors(market.n, pricing)?;
    let t1 = flows::shocked_tariffs(&flows, market, &fx)?;
    // With exchange rates the solve works in each economy's own currency.
    let own = (!fx.is_empty()).then(|| costs.in_own_currency(&fx));
    let result = exact::solve_costs(&flows, &t1, options, Some(own.as_ref().unwrap_or(costs)))?;
    figures::assemble(&flows, result, &fx)
}

/// The sparse path.
fn solve_flows(
    market: &SparseMarket,
    solver: Solver,
    options: &SolveOptions,
    pricing: &Pricing,
) -> Result<SparseOutcome, ModelError> {
    let flows = flows::prepare(market, options)?;
    let fx = crate::pricing::exchange_factors(market.n, pricing)?;
    let t1 = flows::shocked_tariffs(&flows, market, &fx)?;
    let result = match (pricing.structure, solver) {
        (Structure::Integrated, Solver::Exact) => exact::solve(&flows, &t1, options)?,
        (Structure::Integrated, Solver::Gsim) => gsim::solve(&flows, &t1)?,
        (Structure::Segmented, Solver::Exact) => segmented::solve_exact(&flows, &t1, options)?,
        (Structure::Segmented, Solver::Gsim) => segmented::solve_gsim(&flows, &t1)?,
    };
    figures::assemble(&flows, result, &fx)
}
