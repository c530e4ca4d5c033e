//! Segmented markets (pricing to market, docs/model.md "Market structure"):
//! every flow has its own iso-elastic supply curve and price, so each
//! importer's market is a system of its own.
//!
//! Exact: in importer `r`, with `L = ln P[r]`, a flow's clearing condition
//! `Ex[v] y = ln q` is linear in `y = ln p[v,r]` given `L`:
//! `y = (-Es lt + (Es + Em) L) / (Es + Ex[v])` (`lt = ln(T1/T0)`). What is left is
//! one equation in `L`: `L` equals the CES composite of the prices it implies.
//! `g(L) = ces(L) - L` has slope `sum_v s_v b_v - 1` with shares `s_v` and
//! `b_v = (Es + Em) / (Es + Ex[v]) < 1` (as `Em < 0 < Ex`), so it is strictly
//! decreasing: one root, found by Newton's method kept inside a bracket.
//!
//! GSIM: the linearised equations of one importer solve in closed form.

use crate::figures::{
    Changes, SolverResult, exact_consumer_surplus, gsim_consumer_surplus, gsim_producer_surplus,
};
use crate::market::Prepared;
use crate::{Diagnostics, ModelError, SolveOptions, Solver};

/// Below this distance from 1, `Es` uses the Cobb-Douglas (geometric) composite.
const GEOMETRIC_ES: f64 = 1e-9;
/// `|g|` below this (relative to `1 + |L|`) is rounding.
const ROUNDING: f64 = 4.0 * f64::EPSILON;
/// Newton iterations on `L` per importer before giving up.
const MAX_ITERATIONS: u32 = 100;

/// One source of an importer's market.
pub(crate) struct Source {
    pub v: usize,
    /// Base expenditure `M0 T0` at internal prices.
    pub w: f64,
    /// `ln(T1 / T0)`, exactly 0 where unshocked.
    pub lt: f64,
    /// `y = a + b L`.
    pub a: f64,
    pub b: f64,
}

/// One importer's sources, in ascending exporter order (as `R0` was summed).
fn sources(prep: &Prepared<'_>, r: usize) -> Vec<Source> {
    let n = prep.n;
    let (es, em) = (prep.es[r], prep.em[r]);
    (0..n)
        .filter(|&v| prep.m0[v * n + r] > 0.0)
        .map(|v| {
            let i = v * n + r;
            let lt = if prep.t1[i] != prep.t0[i] { (prep.t1[i] / prep.t0[i]).ln() } else { 0.0 };
            let d = es + prep.ex[v];
            Source { v, w: prep.m0[i] * prep.t0[i], lt, a: -es * lt / d, b: (es + em) / d }
        })
        .collect()
}

/// The log composite price implied by `L`, and its derivative in `L`. At the base
/// point (`L = 0`, no shock) it is exactly 0: the sum of `w` equals `R0`.
pub(crate) fn composite(sources: &[Source], r0: f64, es: f64, l: f64) -> (f64, f64) {
    let one_m = 1.0 - es;
    if one_m.abs() < GEOMETRIC_ES {
        let (mut lc, mut d) = (0.0, 0.0);
        for s in sources {
            lc += s.w * (s.a + s.b * l + s.lt);
            d += s.w * s.b;
        }
        return (lc / r0, d / r0);
    }
    let arg = |s: &Source| one_m * (s.a + s.b * l + s.lt);
    let top = sources.iter().map(arg).fold(f64::NEG_INFINITY, f64::max);
    let (mut sum, mut slope) = (0.0, 0.0);
    for s in sources {
        let e = (arg(s) - top).exp();
        sum += s.w * e;
        slope += s.w * e * s.b;
    }
    ((top + (sum / r0).ln()) / one_m, slope / sum)
}

/// Solves `composite(L) = L` for one importer; returns `L` and the iterations.
pub(crate) fn solve_importer(sources: &[Source], r0: f64, es: f64) -> Result<(f64, u32), ModelError> {
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut l = 0.0;
    let mut best = f64::INFINITY;
    let mut last = 0.0_f64;
    for iteration in 0..MAX_ITERATIONS {
        let (lc, d) = composite(sources, r0, es, l);
        let g = lc - l;
        if !g.is_finite() {
            return Err(ModelError::NonFiniteResult { solver: Solver::Exact });
        }
        // Stop at the rounding floor of `L` (the flows' residual, checked by
        // the caller against the tolerance, is `(Es + Em) g` at most), or where
        // rounding keeps |g| from falling further.
        if g.abs() <= ROUNDING * (1.0 + l.abs()) || (g.abs() >= best && g.abs() < 1e-14) {
            return Ok((l, iteration));
        }
        best = best.min(g.abs());
        last = g.abs();
        if g > 0.0 {
            lo = l;
        } else {
            hi = l;
        }
        let mut next = l - g / (d - 1.0);
        if !(next > lo && next < hi && next.is_finite()) {
            next = if lo.is_finite() && hi.is_finite() {
                0.5 * (lo + hi)
            } else if lo.is_finite() {
                lo + 1.0
            } else {
                hi - 1.0
            };
        }
        if next == l {
            return Ok((l, iteration + 1));
        }
        l = next;
    }
    Err(ModelError::NotConverged { iterations: MAX_ITERATIONS, residual: last })
}

/// Base-shipment-weighted mean of each exporter's flow price ratios, and `X0`-less
/// exporters at 1.
fn mean_prices(prep: &Prepared<'_>, fob: &[f64]) -> Vec<f64> {
    let n = prep.n;
    (0..n)
        .map(|v| {
            let x0 = prep.x0[v];
            if x0 > 0.0 { (0..n).map(|r| prep.m0[v * n + r] * fob[v * n + r]).sum::<f64>() / x0 } else { 1.0 }
        })
        .collect()
}

pub(crate) fn solve_exact(prep: &Prepared<'_>, options: &SolveOptions) -> Result<SolverResult, ModelError> {
    let n = prep.n;
    let mut new_values = vec![0.0; n * n];
    let mut volume = vec![1.0; n * n];
    let mut fob_price = vec![1.0; n * n];
    let mut ln_pc = vec![0.0; n];
    let mut producer_surplus = vec![0.0; n];
    let (mut iterations, mut residual) = (0, 0.0_f64);
    for r in (0..n).filter(|&r| prep.r0[r] > 0.0) {
        let (es, em) = (prep.es[r], prep.em[r]);
        let sources = sources(prep, r);
        let (l, used) = solve_importer(&sources, prep.r0[r], es)?;
        iterations = iterations.max(used);
        // The composite of the final prices, which the quantities respond to.
        let lc = composite(&sources, prep.r0[r], es, l).0;
        ln_pc[r] = lc;
        for s in &sources {
            let i = s.v * n + r;
            let y = s.a + s.b * l;
            let q = (-es * (y + s.lt - lc) + em * lc).exp();
            let ex = prep.ex[s.v];
            // Relative to the larger side, as the integrated solver's rounding floor.
            residual = residual.max((q - (ex * y).exp()).abs() / q.max(1.0));
            volume[i] = q;
            fob_price[i] = y.exp();
            new_values[i] = prep.m0[i] * q * fob_price[i];
            producer_surplus[s.v] += prep.m0[i] * ((1.0 + ex) * y).exp_m1() / (1.0 + ex);
        }
    }
    if !residual.is_finite() {
        return Err(ModelError::NonFiniteResult { solver: Solver::Exact });
    }
    if residual >= options.tolerance {
        return Err(ModelError::NotConverged { iterations, residual });
    }
    let world_price = mean_prices(prep, &fob_price);
    let changes = (0..n)
        .map(|e| Changes {
            world_price: world_price[e] - 1.0,
            consumer_price: ln_pc[e].exp_m1(),
            consumer_surplus: exact_consumer_surplus(prep.r0[e], prep.em[e], ln_pc[e]),
            producer_surplus: producer_surplus[e],
        })
        .collect();
    Ok(SolverResult {
        world_price,
        consumer_price: ln_pc.iter().map(|l| l.exp()).collect(),
        changes,
        new_values,
        volume,
        fob_price,
        diagnostics: Diagnostics { solver: Solver::Exact, iterations, residual },
    })
}

pub(crate) fn solve_gsim(prep: &Prepared<'_>) -> Result<SolverResult, ModelError> {
    let n = prep.n;
    let mut new_values = vec![0.0; n * n];
    let mut volume = vec![1.0; n * n];
    let mut fob_price = vec![1.0; n * n];
    let mut phat = vec![0.0; n];
    let mut producer_surplus = vec![0.0; n];
    let mut residual = 0.0_f64;
    for r in (0..n).filter(|&r| prep.r0[r] > 0.0) {
        let (es, em, r0) = (prep.es[r], prep.em[r], prep.r0[r]);
        let c = es + em;
        let flows: Vec<(usize, f64, f64)> = (0..n)
            .filter(|&v| prep.m0[v * n + r] > 0.0)
            .map(|v| {
                let i = v * n + r;
                (v, prep.m0[i] * prep.t0[i] / r0, prep.t1[i] / prep.t0[i] - 1.0)
            })
            .collect();
        // G = sum theta (That + x), with x_v = (-Es That_v + c G) / (Ex_v + Es).
        let (mut d, mut h, mut j) = (0.0, 0.0, 0.0);
        for &(v, theta, that) in &flows {
            let k = prep.ex[v] + es;
            d += theta * that;
            h += theta / k;
            j += theta * that / k;
        }
        let g = (d - es * j) / (1.0 - c * h);
        let x: Vec<f64> =
            flows.iter().map(|&(v, _, that)| (-es * that + c * g) / (prep.ex[v] + es)).collect();
        let g_actual: f64 = flows.iter().zip(&x).map(|(&(_, theta, that), x)| theta * (that + x)).sum();
        for (&(v, theta, that), &xv) in flows.iter().zip(&x) {
            let i = v * n + r;
            let ex = prep.ex[v];
            let mhat = -es * (that + xv) + c * g_actual;
            residual = residual.max((ex * xv - mhat).abs());
            volume[i] = 1.0 + mhat;
            fob_price[i] = 1.0 + xv;
            new_values[i] = prep.m0[i] * (1.0 + mhat) * (1.0 + xv);
            producer_surplus[v] += gsim_producer_surplus(prep.m0[i], ex, xv);
            phat[r] += theta * ((1.0 + xv) * (that + 1.0) - 1.0);
        }
    }
    if !residual.is_finite() || !phat.iter().all(|p| p.is_finite()) {
        return Err(ModelError::NonFiniteResult { solver: Solver::Gsim });
    }
    let world_price = mean_prices(prep, &fob_price);
    let changes = (0..n)
        .map(|e| Changes {
            world_price: world_price[e] - 1.0,
            consumer_price: phat[e],
            consumer_surplus: gsim_consumer_surplus(prep.r0[e], prep.em[e], phat[e]),
            producer_surplus: producer_surplus[e],
        })
        .collect();
    Ok(SolverResult {
        world_price,
        consumer_price: phat.iter().map(|p| 1.0 + p).collect(),
        changes,
        new_values,
        volume,
        fob_price,
        diagnostics: Diagnostics { solver: Solver::Gsim, iterations: 1, residual },
    })
}
