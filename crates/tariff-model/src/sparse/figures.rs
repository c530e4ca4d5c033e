//! The reported figures of [`crate::figures`], over flows.
//!
//! Every sum runs over the importer-major index, which visits each importer's
//! sources in ascending exporter order and each exporter's destinations in
//! ascending importer order: the dense figures' orders, so the same solver
//! output gives the same figures to the last bit.

use super::flows::Flows;
use super::{FlowOutcome, SparseOutcome};
use crate::figures::Changes;
use crate::{Diagnostics, EconomyOutcome, ModelError};

/// A sparse solver's output: per economy, and per index entry (every listed flow).
pub(crate) struct FlowResult {
    pub world_price: Vec<f64>,
    pub consumer_price: Vec<f64>,
    pub changes: Vec<Changes>,
    pub new_values: Vec<f64>,
    pub volume: Vec<f64>,
    pub fob_price: Vec<f64>,
    pub diagnostics: Diagnostics,
}

/// Turns `-0.0` into `0.0`, as the dense figures do.
fn z(x: f64) -> f64 {
    x + 0.0
}

/// Per-economy sums of one pass over the flows.
#[derive(Clone, Default)]
struct Sums {
    exports_before: f64,
    exports_after: f64,
    imports_before: f64,
    imports_after: f64,
    domestic_before: f64,
    domestic_after: f64,
    revenue_before: f64,
    revenue_after: f64,
    dtr: f64,
    wt_before: f64,
    wt_after: f64,
    export_volume: f64,
    imports_local: f64,
}

/// Assembles the outcome in the market's flow order; fails rather than return
/// NaN or infinity. `fx` as for the dense figures: empty when no currency moves.
pub(crate) fn assemble(
    flows: &Flows<'_>,
    mut res: FlowResult,
    fx: &[f64],
) -> Result<SparseOutcome, ModelError> {
    let n = flows.n;
    // To the dataset currency, as the dense `convert_to_dataset_currency`.
    let local = if fx.is_empty() {
        Vec::new()
    } else {
        let local = res.new_values.clone();
        for (e, &f) in fx.iter().enumerate().take(n) {
            res.world_price[e] *= f;
            res.consumer_price[e] *= f;
            res.changes[e].world_price = res.world_price[e] - 1.0;
            res.changes[e].consumer_price = res.consumer_price[e] - 1.0;
        }
        for ((fob, m1), &v) in res.fob_price.iter_mut().zip(res.new_values.iter_mut()).zip(&flows.exporter) {
            *fob *= fx[v];
            *m1 *= fx[v];
        }
        local
    };
    let mut sums = vec![Sums::default(); n];
    for (i, e) in flows.importers().enumerate() {
        let k = flows.exporter[i];
        let (m0, m1, t0, t1) = (flows.m0[i], res.new_values[i], flows.t0[i], flows.t1[i]);
        // e imports from k.
        let before = (t0 - 1.0) * m0;
        let m1_local = if fx.is_empty() { m1 } else { local[i] * (fx[k] / fx[e]) };
        let after = (t1 - 1.0) * m1_local;
        let imp = &mut sums[e];
        imp.revenue_before += before;
        imp.revenue_after += after;
        imp.dtr += after - before;
        if k == e {
            imp.domestic_before = m0;
            imp.domestic_after = m1;
            continue;
        }
        imp.imports_before += m0;
        imp.imports_after += m1;
        imp.imports_local += m1_local;
        imp.wt_before += before;
        imp.wt_after += after;
        // k exports to e.
        let exp = &mut sums[k];
        exp.exports_before += m0;
        exp.exports_after += m1;
        exp.export_volume += m0 * res.volume[i];
    }
    let economies = sums
        .iter()
        .zip(&res.changes)
        .map(|(s, ch)| {
            let mut out = EconomyOutcome {
                exports_before: s.exports_before,
                exports_after: s.exports_after,
                imports_before: s.imports_before,
                imports_after: s.imports_after,
                export_volume_change: 0.0,
                export_price_change: 0.0,
                domestic_before: s.domestic_before,
                domestic_after: s.domestic_after,
                world_price_change: z(ch.world_price),
                consumer_price_change: z(ch.consumer_price),
                consumer_surplus_change: z(ch.consumer_surplus),
                producer_surplus_change: z(ch.producer_surplus),
                tariff_revenue_before: s.revenue_before,
                tariff_revenue_after: s.revenue_after,
                tariff_revenue_change: z(s.dtr),
                welfare_change: 0.0,
                effective_tariff_before_pct: 0.0,
                effective_tariff_after_pct: 0.0,
            };
            out.welfare_change = z(out.consumer_surplus_change + out.producer_surplus_change + s.dtr);
            if out.exports_before > 0.0 {
                out.export_volume_change = z(s.export_volume / out.exports_before - 1.0);
                out.export_price_change = z(out.exports_after / s.export_volume - 1.0);
            }
            if out.imports_before > 0.0 {
                out.effective_tariff_before_pct = 100.0 * s.wt_before / out.imports_before;
            }
            if s.imports_local > 0.0 {
                out.effective_tariff_after_pct = 100.0 * s.wt_after / s.imports_local;
            }
            out
        })
        .collect::<Vec<_>>();
    let placeholder = FlowOutcome {
        new_value: 0.0,
        new_value_exporter_currency: 0.0,
        volume: 1.0,
        fob_price: 1.0,
        delivered_price: 1.0,
    };
    let mut out_flows = vec![placeholder; flows.len()];
    for (i, &position) in flows.position.iter().enumerate() {
        out_flows[position] = FlowOutcome {
            new_value: res.new_values[i],
            new_value_exporter_currency: if fx.is_empty() { res.new_values[i] } else { local[i] },
            volume: res.volume[i],
            fob_price: res.fob_price[i],
            delivered_price: res.fob_price[i] * flows.t1[i] / flows.t0[i],
        };
    }
    let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
    let all_finite = finite(&res.world_price)
        && finite(&res.consumer_price)
        && out_flows.iter().all(|f| {
            finite(&[f.new_value, f.new_value_exporter_currency, f.volume, f.fob_price, f.delivered_price])
        })
        && res.diagnostics.residual.is_finite()
        && economies.iter().all(EconomyOutcome::is_finite);
    if !all_finite {
        return Err(ModelError::NonFiniteResult { solver: res.diagnostics.solver });
    }
    Ok(SparseOutcome {
        world_price: res.world_price,
        consumer_price: res.consumer_price,
        flows: out_flows,
        exchange_rates: if fx.is_empty() { vec![1.0; n] } else { fx.to_vec() },
        economies,
        diagnostics: res.diagnostics,
    })
}
