//! Reported figures shared by both solvers: trade, revenue, welfare, effective tariffs.

use crate::market::Prepared;
use crate::{Diagnostics, EconomyOutcome, MarketOutcome, ModelError};

/// Changes a solver computes its own way, for one economy.
pub(crate) struct Changes {
    pub world_price: f64,
    pub consumer_price: f64,
    pub consumer_surplus: f64,
    pub producer_surplus: f64,
}

/// The exact model's consumer surplus change of an importer with base
/// expenditure `r0`, import-demand elasticity `em` and composite price change
/// `ln_pc` (in logs): `-R0 (P^(1+Em) - 1) / (1+Em)`, `-R0 ln P` at `Em = -1`.
pub(crate) fn exact_consumer_surplus(r0: f64, em: f64, ln_pc: f64) -> f64 {
    let em1 = 1.0 + em;
    if em1 == 0.0 { -r0 * ln_pc } else { -r0 * (em1 * ln_pc).exp_m1() / em1 }
}

/// The exact model's producer surplus change of an exporter with base
/// shipments `x0`, supply elasticity `ex` and world price change `y` (in logs).
pub(crate) fn exact_producer_surplus(x0: f64, ex: f64, y: f64) -> f64 {
    let ex1 = 1.0 + ex;
    x0 * (ex1 * y).exp_m1() / ex1
}

/// GSIM's consumer surplus change (second order in the price change `phat`).
pub(crate) fn gsim_consumer_surplus(r0: f64, em: f64, phat: f64) -> f64 {
    -r0 * phat * (1.0 + 0.5 * em * phat)
}

/// GSIM's producer surplus change (second order in the price change `x`).
pub(crate) fn gsim_producer_surplus(x0: f64, ex: f64, x: f64) -> f64 {
    x * x0 * (1.0 + 0.5 * ex * x)
}

/// Price and surplus results of a solver, per economy index. When currencies
/// move, prices and values are in each economy's own currency (exporters' for
/// world prices and flows, importers' for composite prices), at base rates.
pub(crate) struct SolverResult {
    pub world_price: Vec<f64>,
    pub consumer_price: Vec<f64>,
    pub changes: Vec<Changes>,
    pub new_values: Vec<f64>,
    /// Quantity ratio of each flow, row-major.
    pub volume: Vec<f64>,
    /// Exporter price ratio of each flow, row-major.
    pub fob_price: Vec<f64>,
    pub diagnostics: Diagnostics,
}

impl SolverResult {
    /// From each economy's own currency to the dataset currency: exporters' prices
    /// and flow values times `f` of the exporter, composite prices times `f` of
    /// the importer.
    /// Returns the flow values in the exporters' currencies, or nothing when no
    /// currency moves (they are `new_values` then).
    fn convert_to_dataset_currency(&mut self, fx: &[f64]) -> Vec<f64> {
        if fx.is_empty() {
            return Vec::new();
        }
        let n = self.world_price.len();
        let local = self.new_values.clone();
        for (e, &f) in fx.iter().enumerate().take(n) {
            self.world_price[e] *= f;
            self.consumer_price[e] *= f;
            self.changes[e].world_price = self.world_price[e] - 1.0;
            self.changes[e].consumer_price = self.consumer_price[e] - 1.0;
            for i in e * n..(e + 1) * n {
                self.fob_price[i] *= f;
                self.new_values[i] *= f;
            }
        }
        local
    }
}

/// Turns `-0.0` into `0.0` so "no change" prints and compares as plain zero.
fn z(x: f64) -> f64 {
    x + 0.0
}

/// Assembles the outcome; fails rather than return NaN or infinity.
///
/// `fx` holds the exchange-rate factors `f` per economy, or nothing when no
/// currency moves: then every figure is computed as in the base model, to the
/// last bit. Tariff revenue is in the importer's currency at base rates.
pub(crate) fn assemble(
    prep: &Prepared<'_>,
    mut res: SolverResult,
    fx: &[f64],
) -> Result<MarketOutcome, ModelError> {
    let n = prep.n;
    let local = res.convert_to_dataset_currency(fx);
    let (m0, m1, t0, t1) = (prep.m0, &res.new_values, &prep.t0, &prep.t1);
    // A flow's value in the importer's currency at base rates.
    let imported = |k: usize, e: usize| {
        let col = k * n + e;
        if fx.is_empty() { m1[col] } else { local[col] * (fx[k] / fx[e]) }
    };
    let economies = (0..n)
        .zip(&res.changes)
        .map(|(e, ch)| {
            let mut out = EconomyOutcome {
                exports_before: 0.0,
                exports_after: 0.0,
                imports_before: 0.0,
                imports_after: 0.0,
                export_volume_change: 0.0,
                export_price_change: 0.0,
                domestic_before: m0[e * n + e],
                domestic_after: m1[e * n + e],
                world_price_change: z(ch.world_price),
                consumer_price_change: z(ch.consumer_price),
                consumer_surplus_change: z(ch.consumer_surplus),
                producer_surplus_change: z(ch.producer_surplus),
                tariff_revenue_before: 0.0,
                tariff_revenue_after: 0.0,
                tariff_revenue_change: 0.0,
                welfare_change: 0.0,
                effective_tariff_before_pct: 0.0,
                effective_tariff_after_pct: 0.0,
            };
            let (mut dtr, mut wt_before, mut wt_after) = (0.0, 0.0, 0.0);
            let (mut export_volume, mut imports_local) = (0.0, 0.0);
            for k in 0..n {
                let col = k * n + e; // e imports from k
                // The diagonal carries revenue only under internal tariffs.
                let before = (t0[col] - 1.0) * m0[col];
                let m1_local = imported(k, e);
                let after = (t1[col] - 1.0) * m1_local;
                out.tariff_revenue_before += before;
                out.tariff_revenue_after += after;
                dtr += after - before;
                if k != e {
                    let row = e * n + k; // e exports to k
                    out.exports_before += m0[row];
                    out.exports_after += m1[row];
                    out.imports_before += m0[col];
                    out.imports_after += m1[col];
                    export_volume += m0[row] * res.volume[row];
                    imports_local += m1_local;
                    wt_before += before;
                    wt_after += after;
                }
            }
            if out.exports_before > 0.0 {
                out.export_volume_change = z(export_volume / out.exports_before - 1.0);
                out.export_price_change = z(out.exports_after / export_volume - 1.0);
            }
            out.tariff_revenue_change = z(dtr);
            out.welfare_change = z(out.consumer_surplus_change + out.producer_surplus_change + dtr);
            if out.imports_before > 0.0 {
                out.effective_tariff_before_pct = 100.0 * wt_before / out.imports_before;
            }
            if imports_local > 0.0 {
                out.effective_tariff_after_pct = 100.0 * wt_after / imports_local;
            }
            out
        })
        .collect();
    let solver = res.diagnostics.solver;
    let delivered_price =
        res.fob_price.iter().zip(t1.iter().zip(t0)).map(|(p, (t1, t0))| p * t1 / t0).collect();
    let outcome = MarketOutcome {
        world_price: res.world_price,
        consumer_price: res.consumer_price,
        new_values: res.new_values,
        new_values_exporter_currency: local,
        volume: res.volume,
        fob_price: res.fob_price,
        delivered_price,
        exchange_rates: if fx.is_empty() { vec![1.0; n] } else { fx.to_vec() },
        economies,
        diagnostics: res.diagnostics,
    };
    if outcome.is_finite() { Ok(outcome) } else { Err(ModelError::NonFiniteResult { solver }) }
}
