//! Solves with the extensions of docs/model.md: market structure and exchange rates.
//!
//! Exchange rates need no solver of their own. In each economy's own currency
//! (`p' = p / f[v]` for exporters, `P' = P / f[r]` for buyers) the equations are
//! the base model's with the tariff shock `T1/T0` of each flow multiplied by
//! `f[v] / f[r]`: a currency's rise taxes its exports and subsidises its
//! imports. So the market is solved with that shock by the base (or segmented)
//! solver, and prices and values are turned back into the dataset currency.

use crate::{
    Market, MarketOutcome, ModelError, Pricing, SolveOptions, Solver, Structure, exact, figures, gsim,
    segmented, solve,
};

/// Solves one sector market with the chosen solver, market structure and
/// exchange rates. With [`Pricing::is_base`] this is [`solve`], to the last bit.
///
/// Money figures (surpluses, tariff revenue) are in the dataset currency at
/// base-year exchange rates; `new_values`, world and consumer prices are in the
/// dataset currency at the new rates, and flow values also in the exporter's
/// currency (`MarketOutcome::values_in_exporter_currency`).
///
/// # Errors
/// As [`solve`]; and `exchange_rates` that is neither empty nor one finite,
/// positive factor per economy.
pub fn solve_with(
    market: &Market,
    solver: Solver,
    options: &SolveOptions,
    pricing: &Pricing,
) -> Result<MarketOutcome, ModelError> {
    if pricing.is_base() {
        return solve(market, solver, options);
    }
    options.validate()?;
    let prep = market.prepare(false)?;
    let fx = exchange_factors(market.n, pricing)?;
    let shocked = (!fx.is_empty()).then(|| shocked_by_currencies(market, &fx));
    let shocked_prep = shocked.as_ref().map(|m| m.prepare(false)).transpose()?;
    let own_currency = shocked_prep.as_ref().unwrap_or(&prep);
    let result = match (pricing.structure, solver) {
        (Structure::Integrated, Solver::Exact) => exact::solve(own_currency, options)?,
        (Structure::Integrated, Solver::Gsim) => gsim::solve(own_currency)?,
        (Structure::Segmented, Solver::Exact) => segmented::solve_exact(own_currency, options)?,
        (Structure::Segmented, Solver::Gsim) => segmented::solve_gsim(own_currency)?,
    };
    figures::assemble(&prep, result, &fx)
}

/// The exchange-rate factors, checked; empty when no currency moves.
pub(crate) fn exchange_factors(n: usize, pricing: &Pricing) -> Result<Vec<f64>, ModelError> {
    let fx = &pricing.exchange_rates;
    if !pricing.moves_currencies() {
        return Ok(Vec::new());
    }
    if fx.len() != n {
        return Err(ModelError::Dimension { field: "exchange_rates", expected: n, found: fx.len() });
    }
    if let Some(index) = fx.iter().position(|f| !f.is_finite()) {
        return Err(ModelError::NonFinite { field: "exchange_rates", index });
    }
    if let Some(index) = fx.iter().position(|&f| f <= 0.0) {
        return Err(ModelError::ExchangeRate { index, value: fx[index] });
    }
    Ok(fx.clone())
}

/// The market in its economies' own currencies: each flow's new tariff factor
/// times `f[v] / f[r]` (the ratio first, so equal currencies leave it exactly).
pub(crate) fn shocked_by_currencies(market: &Market, fx: &[f64]) -> Market {
    let n = market.n;
    let mut shocked = market.clone();
    for (v, row) in shocked.new_tariff.chunks_exact_mut(n.max(1)).enumerate() {
        for (r, t) in row.iter_mut().enumerate() {
            *t *= fx[v] / fx[r];
        }
    }
    shocked
}
