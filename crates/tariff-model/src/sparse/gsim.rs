//! GSIM (integrated markets) over flows: the dense [`gsim`](crate::gsim)
//! solver's linear system `A x = b`, solved by GMRES without forming `A`.
//!
//! Row `v` (with supply) is `(Ex_v + sum_r phi_vr Es_r) x_v - sum_r phi_vr c_r
//! sum_k theta_kr x_k = sum_r phi_vr (-Es_r That_vr + c_r d_r)`, with
//! `c_r = Es_r + Em_r` and `d_r = sum_k theta_kr That_kr`: the exact solver's
//! Jacobian shape at the base point, applied in `O(nnz)`; exporters without
//! supply have identity rows (`x_v = 0`).

use super::figures::FlowResult;
use super::flows::Flows;
use super::gmres::Gmres;
use crate::figures::{Changes, gsim_consumer_surplus, gsim_producer_surplus};
use crate::{Diagnostics, ModelError, Solver};

/// GMRES stops at this residual relative to `||b||`.
const GMRES_RTOL: f64 = 1e-13;
/// A solve that ends above this relative residual is refused.
const ACCEPT_RTOL: f64 = 1e-9;
const GMRES_RESTART: usize = 40;
const GMRES_MAX_STEPS: usize = 2000;

/// Trading entries of the index, importer-major, with GSIM's coefficients.
struct System {
    n: usize,
    start: Vec<usize>,
    src: Vec<usize>,
    /// `theta_kr = M0 T0 / R0[r]`.
    theta: Vec<f64>,
    /// `phi_vr c_r`.
    phi_c: Vec<f64>,
    /// `Ex_v + sum_r phi_vr Es_r`; `1` for exporters without supply.
    d: Vec<f64>,
}

impl System {
    /// `out = A x`.
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        for ((o, d), x) in out.iter_mut().zip(&self.d).zip(x) {
            *o = d * x;
        }
        for r in 0..self.n {
            let cols = self.start[r]..self.start[r + 1];
            let mut z = 0.0;
            for (&k, th) in self.src[cols.clone()].iter().zip(&self.theta[cols.clone()]) {
                z += th * x[k];
            }
            for (&v, pc) in self.src[cols.clone()].iter().zip(&self.phi_c[cols]) {
                out[v] -= pc * z;
            }
        }
    }
}

// Index entries are parallel arrays (`m0`, `t0`, `t1`, `that`): indexed loops read best.
#[allow(clippy::needless_range_loop)]
pub(crate) fn solve(flows: &Flows<'_>, t1: &[f64]) -> Result<FlowResult, ModelError> {
    let (n, len) = (flows.n, flows.len());
    let (em, es, ex, r0, x0) = (flows.em, flows.es, flows.ex, &flows.r0, &flows.x0);
    // That of every index entry (as the dense solver, for all listed pairs).
    let that: Vec<f64> = t1.iter().zip(&flows.t0).map(|(t1, t0)| t1 / t0 - 1.0).collect();
    let mut sys = System {
        n,
        start: vec![0; n + 1],
        src: Vec::new(),
        theta: Vec::new(),
        phi_c: Vec::new(),
        d: ex.iter().zip(x0).map(|(&e, &x)| if x > 0.0 { e } else { 1.0 }).collect(),
    };
    let (mut that_t, mut phi_t) = (Vec::new(), Vec::new());
    let mut d_r = vec![0.0; n];
    let mut b = vec![0.0; n];
    let mut diag = vec![0.0; n];
    for r in 0..n {
        if r0[r] > 0.0 {
            let c = em[r] + es[r];
            for e in flows.start[r]..flows.start[r + 1] {
                if flows.m0[e] > 0.0 {
                    let v = flows.exporter[e];
                    let theta = flows.m0[e] * flows.t0[e] / r0[r];
                    let phi = flows.m0[e] / x0[v];
                    sys.src.push(v);
                    sys.theta.push(theta);
                    sys.phi_c.push(phi * c);
                    that_t.push(that[e]);
                    phi_t.push(phi);
                    d_r[r] += theta * that[e];
                }
            }
        }
        sys.start[r + 1] = sys.src.len();
    }
    for r in 0..n {
        let c = em[r] + es[r];
        for i in sys.start[r]..sys.start[r + 1] {
            let (v, phi) = (sys.src[i], phi_t[i]);
            sys.d[v] += phi * es[r];
            b[v] += phi * (-es[r] * that_t[i] + c * d_r[r]);
            diag[v] -= sys.phi_c[i] * sys.theta[i];
        }
    }
    for (dg, d) in diag.iter_mut().zip(&sys.d) {
        *dg += d;
    }
    if !sys.d.iter().chain(&b).chain(&sys.theta).chain(&sys.phi_c).all(|x| x.is_finite()) {
        return Err(ModelError::NonFiniteResult { solver: Solver::Gsim });
    }
    let mut x = vec![0.0; n];
    let report = Gmres::new(n, GMRES_RESTART).solve(
        |x, out| sys.apply(x, out),
        &diag,
        &b,
        &mut x,
        GMRES_RTOL,
        GMRES_MAX_STEPS,
    );
    let mut ax = vec![0.0; n];
    sys.apply(&x, &mut ax);
    let residual = ax.iter().zip(&b).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    if report.relative_residual.is_nan() || report.relative_residual > ACCEPT_RTOL || !residual.is_finite() {
        // No column to name as LU would: the unknown with the largest residual.
        let column = ax
            .iter()
            .zip(&b)
            .map(|(a, b)| (a - b).abs())
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |best, (i, r)| if r > best.1 || r.is_nan() { (i, r) } else { best })
            .0;
        return Err(ModelError::Singular { solver: Solver::Gsim, column });
    }
    // g[r] = d[r] + sum_k theta_kr x_k.
    let g: Vec<f64> = (0..n)
        .map(|r| {
            let cols = sys.start[r]..sys.start[r + 1];
            d_r[r] + sys.src[cols.clone()].iter().zip(&sys.theta[cols]).map(|(&k, th)| th * x[k]).sum::<f64>()
        })
        .collect();
    let mut new_values = vec![0.0; len];
    let mut volume = vec![1.0; len];
    let mut fob_price = vec![1.0; len];
    let mut phat = vec![0.0; n];
    for (e, r) in flows.importers().enumerate() {
        let v = flows.exporter[e];
        let xv = x[v];
        let mhat = -es[r] * (that[e] + xv) + (em[r] + es[r]) * g[r];
        new_values[e] = flows.m0[e] * (1.0 + mhat) * (1.0 + xv);
        if flows.m0[e] > 0.0 {
            volume[e] = 1.0 + mhat;
            if r0[r] > 0.0 {
                let theta = flows.m0[e] * flows.t0[e] / r0[r];
                phat[r] += theta * ((1.0 + xv) * (t1[e] / flows.t0[e]) - 1.0);
            }
        }
        fob_price[e] = 1.0 + xv;
    }
    let changes = (0..n)
        .map(|e| Changes {
            world_price: x[e],
            consumer_price: phat[e],
            consumer_surplus: gsim_consumer_surplus(r0[e], em[e], phat[e]),
            producer_surplus: gsim_producer_surplus(x0[e], ex[e], x[e]),
        })
        .collect();
    Ok(FlowResult {
        world_price: x.iter().map(|x| 1.0 + x).collect(),
        consumer_price: phat.iter().map(|p| 1.0 + p).collect(),
        changes,
        new_values,
        volume,
        fob_price,
        diagnostics: Diagnostics { solver: Solver::Gsim, iterations: 1, residual },
    })
}
