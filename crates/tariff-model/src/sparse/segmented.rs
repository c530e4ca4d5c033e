//! Segmented markets (pricing to market) over flows: the dense
//! [`segmented`](crate::segmented) solvers, one importer at a time over its
//! own sources only. Each importer's market is already a system of its own
//! (exact: one equation in `ln P[r]`; GSIM: closed form), so the work is
//! `O(nnz)` with the dense solvers' per-importer functions reused as they are.

use super::figures::FlowResult;
use super::flows::Flows;
use crate::figures::{Changes, exact_consumer_surplus, gsim_consumer_surplus, gsim_producer_surplus};
use crate::segmented::{Source, composite, solve_importer};
use crate::{Diagnostics, ModelError, SolveOptions, Solver};

/// Importer `r`'s trading sources, ascending exporter, and their index entries.
fn sources(flows: &Flows<'_>, t1: &[f64], r: usize, out: &mut Vec<Source>, entries: &mut Vec<usize>) {
    out.clear();
    entries.clear();
    let (es, em) = (flows.es[r], flows.em[r]);
    for e in flows.start[r]..flows.start[r + 1] {
        if flows.m0[e] <= 0.0 {
            continue;
        }
        let v = flows.exporter[e];
        let (t0, t1) = (flows.t0[e], t1[e]);
        let lt = if t1 != t0 { (t1 / t0).ln() } else { 0.0 };
        let d = es + flows.ex[v];
        out.push(Source { v, w: flows.m0[e] * t0, lt, a: -es * lt / d, b: (es + em) / d });
        entries.push(e);
    }
}

/// Base-shipment-weighted mean of each exporter's flow price ratios (1
/// without supply), summed in ascending importer order as the dense solver.
fn mean_prices(flows: &Flows<'_>, fob: &[f64]) -> Vec<f64> {
    let mut sum = vec![0.0; flows.n];
    for ((&v, m0), p) in flows.exporter.iter().zip(&flows.m0).zip(fob) {
        sum[v] += m0 * p;
    }
    sum.iter().zip(&flows.x0).map(|(s, &x0)| if x0 > 0.0 { s / x0 } else { 1.0 }).collect()
}

pub(crate) fn solve_exact(
    flows: &Flows<'_>,
    t1: &[f64],
    options: &SolveOptions,
) -> Result<FlowResult, ModelError> {
    let (n, len) = (flows.n, flows.len());
    let mut new_values = vec![0.0; len];
    let mut volume = vec![1.0; len];
    let mut fob_price = vec![1.0; len];
    let mut ln_pc = vec![0.0; n];
    let mut producer_surplus = vec![0.0; n];
    let (mut iterations, mut residual) = (0, 0.0_f64);
    let (mut srcs, mut entries) = (Vec::new(), Vec::new());
    for r in (0..n).filter(|&r| flows.r0[r] > 0.0) {
        let (es, em) = (flows.es[r], flows.em[r]);
        sources(flows, t1, r, &mut srcs, &mut entries);
        let (l, used) = solve_importer(&srcs, flows.r0[r], es)?;
        iterations = iterations.max(used);
        let lc = composite(&srcs, flows.r0[r], es, l).0;
        ln_pc[r] = lc;
        for (s, &e) in srcs.iter().zip(&entries) {
            let y = s.a + s.b * l;
            let q = (-es * (y + s.lt - lc) + em * lc).exp();
            let ex = flows.ex[s.v];
            residual = residual.max((q - (ex * y).exp()).abs() / q.max(1.0));
            volume[e] = q;
            fob_price[e] = y.exp();
            new_values[e] = flows.m0[e] * q * fob_price[e];
            producer_surplus[s.v] += flows.m0[e] * ((1.0 + ex) * y).exp_m1() / (1.0 + ex);
        }
    }
    if !residual.is_finite() {
        return Err(ModelError::NonFiniteResult { solver: Solver::Exact });
    }
    if residual >= options.tolerance {
        return Err(ModelError::NotConverged { iterations, residual });
    }
    let world_price = mean_prices(flows, &fob_price);
    let changes = (0..n)
        .map(|e| Changes {
            world_price: world_price[e] - 1.0,
            consumer_price: ln_pc[e].exp_m1(),
            consumer_surplus: exact_consumer_surplus(flows.r0[e], flows.em[e], ln_pc[e]),
            producer_surplus: producer_surplus[e],
        })
        .collect();
    Ok(FlowResult {
        world_price,
        consumer_price: ln_pc.iter().map(|l| l.exp()).collect(),
        changes,
        new_values,
        volume,
        fob_price,
        diagnostics: Diagnostics { solver: Solver::Exact, iterations, residual },
    })
}

// Index entries are parallel arrays (`m0`, `t0`, `t1`): indexed loops read best.
#[allow(clippy::needless_range_loop)]
pub(crate) fn solve_gsim(flows: &Flows<'_>, t1: &[f64]) -> Result<FlowResult, ModelError> {
    let (n, len) = (flows.n, flows.len());
    let mut new_values = vec![0.0; len];
    let mut volume = vec![1.0; len];
    let mut fob_price = vec![1.0; len];
    let mut phat = vec![0.0; n];
    let mut producer_surplus = vec![0.0; n];
    let mut residual = 0.0_f64;
    // (entry, exporter, theta, That) of one importer's trading flows.
    let mut fl: Vec<(usize, usize, f64, f64)> = Vec::new();
    let mut x: Vec<f64> = Vec::new();
    for r in (0..n).filter(|&r| flows.r0[r] > 0.0) {
        let (es, em, r0) = (flows.es[r], flows.em[r], flows.r0[r]);
        let c = es + em;
        fl.clear();
        for e in flows.start[r]..flows.start[r + 1] {
            if flows.m0[e] > 0.0 {
                let t0 = flows.t0[e];
                fl.push((e, flows.exporter[e], flows.m0[e] * t0 / r0, t1[e] / t0 - 1.0));
            }
        }
        let (mut d, mut h, mut j) = (0.0, 0.0, 0.0);
        for &(_, v, theta, that) in &fl {
            let k = flows.ex[v] + es;
            d += theta * that;
            h += theta / k;
            j += theta * that / k;
        }
        let g = (d - es * j) / (1.0 - c * h);
        x.clear();
        x.extend(fl.iter().map(|&(_, v, _, that)| (-es * that + c * g) / (flows.ex[v] + es)));
        let g_actual: f64 = fl.iter().zip(&x).map(|(&(_, _, theta, that), x)| theta * (that + x)).sum();
        for (&(e, v, theta, that), &xv) in fl.iter().zip(&x) {
            let ex = flows.ex[v];
            let mhat = -es * (that + xv) + c * g_actual;
            residual = residual.max((ex * xv - mhat).abs());
            volume[e] = 1.0 + mhat;
            fob_price[e] = 1.0 + xv;
            new_values[e] = flows.m0[e] * (1.0 + mhat) * (1.0 + xv);
            producer_surplus[v] += gsim_producer_surplus(flows.m0[e], ex, xv);
            phat[r] += theta * ((1.0 + xv) * (that + 1.0) - 1.0);
        }
    }
    if !residual.is_finite() || !phat.iter().all(|p| p.is_finite()) {
        return Err(ModelError::NonFiniteResult { solver: Solver::Gsim });
    }
    let world_price = mean_prices(flows, &fob_price);
    let changes = (0..n)
        .map(|e| Changes {
            world_price: world_price[e] - 1.0,
            consumer_price: phat[e],
            consumer_surplus: gsim_consumer_surplus(flows.r0[e], flows.em[e], phat[e]),
            producer_surplus: producer_surplus[e],
        })
        .collect();
    Ok(FlowResult {
        world_price,
        consumer_price: phat.iter().map(|p| 1.0 + p).collect(),
        changes,
        new_values,
        volume,
        fob_price,
        diagnostics: Diagnostics { solver: Solver::Gsim, iterations: 1, residual },
    })
}
