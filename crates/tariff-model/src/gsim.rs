//! GSIM (Francois & Hall 2003): the linearised model, solved with one LU.

use crate::figures::{Changes, SolverResult, gsim_consumer_surplus, gsim_producer_surplus};
use crate::linalg::lu_solve;
use crate::market::Prepared;
use crate::{Diagnostics, ModelError, Solver};

pub(crate) fn solve(prep: &Prepared<'_>) -> Result<SolverResult, ModelError> {
    let n = prep.n;
    let (m0, t0, t1, r0, x0) = (prep.m0, &prep.t0, &prep.t1, &prep.r0, &prep.x0);
    let (em, es, ex) = (prep.em, prep.es, prep.ex);

    // Importer-major `theta_t[r * n + k]` so the sums over sources k are contiguous.
    let mut theta_t = vec![0.0; n * n];
    let mut that = vec![0.0; n * n];
    for v in 0..n {
        for r in 0..n {
            let i = v * n + r;
            if r0[r] > 0.0 {
                theta_t[r * n + v] = m0[i] * t0[i] / r0[r];
            }
            that[i] = t1[i] / t0[i] - 1.0;
        }
    }
    // d[r] = sum_k theta_kr That_kr: the composite tariff shock of importer r.
    let d: Vec<f64> = (0..n).map(|r| (0..n).map(|k| theta_t[r * n + k] * that[k * n + r]).sum()).collect();

    let mut a = vec![0.0; n * n];
    let mut b = vec![0.0; n];
    for v in 0..n {
        let row = &mut a[v * n..(v + 1) * n];
        if x0[v] <= 0.0 {
            row[v] = 1.0;
            continue;
        }
        let mut diag = ex[v];
        let mut rhs = 0.0;
        for r in 0..n {
            let phi = m0[v * n + r] / x0[v];
            if phi == 0.0 {
                continue;
            }
            let c = em[r] + es[r];
            diag += phi * es[r];
            rhs += phi * (-es[r] * that[v * n + r] + c * d[r]);
            let coef = phi * c;
            for (x, th) in row.iter_mut().zip(&theta_t[r * n..(r + 1) * n]) {
                *x -= coef * th;
            }
        }
        row[v] += diag;
        b[v] = rhs;
    }

    if !a.iter().chain(&b).all(|x| x.is_finite()) {
        return Err(ModelError::NonFiniteResult { solver: Solver::Gsim });
    }
    let (a0, b0) = (a.clone(), b.clone());
    lu_solve(&mut a, &mut b, n).map_err(|column| ModelError::Singular { solver: Solver::Gsim, column })?;
    let x = b;
    let residual = a0
        .chunks_exact(n.max(1))
        .zip(&b0)
        .map(|(row, bv)| (row.iter().zip(&x).map(|(a, x)| a * x).sum::<f64>() - bv).abs())
        .fold(0.0, f64::max);

    // g[r] = sum_k theta_kr (That_kr + x_k): the composite price shock of importer r.
    let g: Vec<f64> = (0..n).map(|r| d[r] + (0..n).map(|k| theta_t[r * n + k] * x[k]).sum::<f64>()).collect();
    let mut new_values = vec![0.0; n * n];
    let mut volume = vec![1.0; n * n];
    let mut fob_price = vec![1.0; n * n];
    for (v, &xv) in x.iter().enumerate() {
        for r in 0..n {
            let i = v * n + r;
            let mhat = -es[r] * (that[i] + xv) + (em[r] + es[r]) * g[r];
            new_values[i] = m0[i] * (1.0 + mhat) * (1.0 + xv);
            if m0[i] > 0.0 {
                volume[i] = 1.0 + mhat;
            }
            fob_price[i] = 1.0 + xv;
        }
    }
    let phat: Vec<f64> = (0..n)
        .map(|r| {
            (0..n).map(|v| theta_t[r * n + v] * ((1.0 + x[v]) * (t1[v * n + r] / t0[v * n + r]) - 1.0)).sum()
        })
        .collect();
    let changes = (0..n)
        .map(|e| Changes {
            world_price: x[e],
            consumer_price: phat[e],
            consumer_surplus: gsim_consumer_surplus(r0[e], em[e], phat[e]),
            producer_surplus: gsim_producer_surplus(x0[e], ex[e], x[e]),
        })
        .collect();
    Ok(SolverResult {
        world_price: x.iter().map(|x| 1.0 + x).collect(),
        consumer_price: phat.iter().map(|p| 1.0 + p).collect(),
        changes,
        new_values,
        volume,
        fob_price,
        diagnostics: Diagnostics { solver: Solver::Gsim, iterations: 1, residual },
    })
}
