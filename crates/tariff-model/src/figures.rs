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

/// Price and surplus results of a solver, per economy index.
pub(crate) struct SolverResult {
    pub world_price: Vec<f64>,
    pub consumer_price: Vec<f64>,
    pub changes: Vec<Changes>,
    pub new_values: Vec<f64>,
    pub diagnostics: Diagnostics,
}

/// Turns `-0.0` into `0.0` so "no change" prints and compares as plain zero.
fn z(x: f64) -> f64 {
    x + 0.0
}

/// Assembles the outcome; fails rather than return NaN or infinity.
pub(crate) fn assemble(prep: &Prepared<'_>, res: SolverResult) -> Result<MarketOutcome, ModelError> {
    let n = prep.n;
    let (m0, m1, t0, t1) = (prep.m0, &res.new_values, &prep.t0, &prep.t1);
    let economies = (0..n)
        .zip(&res.changes)
        .map(|(e, ch)| {
            let mut out = EconomyOutcome {
                exports_before: 0.0,
                exports_after: 0.0,
                imports_before: 0.0,
                imports_after: 0.0,
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
            for k in 0..n {
                let col = k * n + e; // e imports from k
                // The diagonal carries revenue only under internal tariffs.
                let before = (t0[col] - 1.0) * m0[col];
                let after = (t1[col] - 1.0) * m1[col];
                out.tariff_revenue_before += before;
                out.tariff_revenue_after += after;
                dtr += after - before;
                if k != e {
                    let row = e * n + k; // e exports to k
                    out.exports_before += m0[row];
                    out.exports_after += m1[row];
                    out.imports_before += m0[col];
                    out.imports_after += m1[col];
                    wt_before += before;
                    wt_after += after;
                }
            }
            out.tariff_revenue_change = z(dtr);
            out.welfare_change = z(out.consumer_surplus_change + out.producer_surplus_change + dtr);
            if out.imports_before > 0.0 {
                out.effective_tariff_before_pct = 100.0 * wt_before / out.imports_before;
            }
            if out.imports_after > 0.0 {
                out.effective_tariff_after_pct = 100.0 * wt_after / out.imports_after;
            }
            out
        })
        .collect();
    let solver = res.diagnostics.solver;
    let outcome = MarketOutcome {
        world_price: res.world_price,
        consumer_price: res.consumer_price,
        new_values: res.new_values,
        economies,
        diagnostics: res.diagnostics,
    };
    if outcome.is_finite() { Ok(outcome) } else { Err(ModelError::NonFiniteResult { solver }) }
}
