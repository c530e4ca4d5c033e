//! Restarted GMRES with right diagonal (Jacobi) preconditioning, matrix-free.
//!
//! Why not a crate: the GMRES crates on crates.io (`gmres`, `faer_gmres`, and
//! the Krylov modules of larger libraries such as `rlst`) take an assembled
//! sparse matrix of their own type (sprs' or faer's) and bring a large
//! dependency tree. The operators here are never assembled: the exact
//! solver's Jacobian is `-D + U C S^T`, applied in `O(nnz)` without its
//! `O(n^2)` product ever being formed (which would defeat the purpose), and
//! GSIM's matrix has the same shape. What is needed is small: Arnoldi with
//! modified Gram-Schmidt, Givens rotations on the Hessenberg matrix, a
//! triangular solve, restarts, and buffers allocated once per solve.
//!
//! Right preconditioning (`A M^-1 u = b`, `x = M^-1 u`) keeps the residual
//! that GMRES minimises the true residual `b - A x`, so the stopping test is on
//! the quantity the caller cares about; each restart recomputes it exactly.
//! (The tests check the returned `x` against the true residual.)

/// Work space of GMRES(`m`) on systems of size `n`.
#[derive(Debug)]
pub(crate) struct Gmres {
    n: usize,
    m: usize,
    /// Krylov basis, `m + 1` vectors of `n`.
    basis: Vec<f64>,
    /// Hessenberg matrix, column-major `(m + 1) x m`, triangularised in place.
    h: Vec<f64>,
    cos: Vec<f64>,
    sin: Vec<f64>,
    /// Right-hand side of the least-squares problem, rotated.
    g: Vec<f64>,
    work: Vec<f64>,
    precond: Vec<f64>,
    coef: Vec<f64>,
    /// The iterate before the last cycle, restored if that cycle made it worse.
    saved: Vec<f64>,
}

/// How a solve went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Report {
    /// Matrix-vector products in the Arnoldi steps.
    pub iterations: usize,
    /// `||b - A x|| / ||b||` at the end (0 for `b = 0`): when converged, the
    /// least-squares residual of the last cycle (the true residual in exact
    /// arithmetic); otherwise the true residual, computed.
    pub relative_residual: f64,
    /// Whether it is at most the requested tolerance.
    pub converged: bool,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// `(c, s)` with `[c s; -s c] [a; b] = [r; 0]`.
fn givens(a: f64, b: f64) -> (f64, f64) {
    if b == 0.0 {
        (1.0, 0.0)
    } else if b.abs() > a.abs() {
        let t = a / b;
        let s = 1.0 / (1.0 + t * t).sqrt();
        (s * t, s)
    } else {
        let t = b / a;
        let c = 1.0 / (1.0 + t * t).sqrt();
        (c, c * t)
    }
}

impl Gmres {
    /// Restart length `m` (at least 1, at most `n`).
    pub fn new(n: usize, m: usize) -> Self {
        let m = m.min(n).max(1);
        Self {
            n,
            m,
            basis: vec![0.0; (m + 1) * n],
            h: vec![0.0; (m + 1) * m],
            cos: vec![0.0; m],
            sin: vec![0.0; m],
            g: vec![0.0; m + 1],
            work: vec![0.0; n],
            precond: vec![0.0; n],
            coef: vec![0.0; m],
            saved: vec![0.0; n],
        }
    }

    /// Solves `A x = b` from `x = 0` until `||b - A x|| <= rtol ||b||` or
    /// `max_iterations` Arnoldi steps, with `apply(x, out)` setting
    /// `out = A x` and `diagonal` the preconditioner `M` (entries that are
    /// zero or not finite count as 1). `x` holds the best iterate found.
    pub fn solve(
        &mut self,
        mut apply: impl FnMut(&[f64], &mut [f64]),
        diagonal: &[f64],
        b: &[f64],
        x: &mut [f64],
        rtol: f64,
        max_iterations: usize,
    ) -> Report {
        let (n, m) = (self.n, self.m);
        debug_assert!(b.len() == n && x.len() == n && diagonal.len() == n);
        x.fill(0.0);
        for (p, &d) in self.precond.iter_mut().zip(diagonal) {
            *p = if d != 0.0 && d.is_finite() { 1.0 / d } else { 1.0 };
        }
        let b_norm = norm(b);
        if b_norm == 0.0 {
            return Report { iterations: 0, relative_residual: 0.0, converged: true };
        }
        if !b_norm.is_finite() {
            return Report { iterations: 0, relative_residual: f64::INFINITY, converged: false };
        }
        let target = rtol * b_norm;
        let mut iterations = 0;
        let mut last_beta = f64::INFINITY;
        self.saved.fill(0.0);
        loop {
            // The true residual r = b - A x, into the first basis vector
            // (b itself while x = 0: no product needed).
            let (first, _) = self.basis.split_at_mut(n);
            if iterations == 0 {
                first.copy_from_slice(b);
            } else {
                apply(x, &mut self.work);
                for ((r, bi), ax) in first.iter_mut().zip(b).zip(&self.work) {
                    *r = bi - ax;
                }
            }
            let beta = norm(first);
            // A cycle that did not reduce the residual (stagnation, or a
            // breakdown into NaN) is undone, and more cycles would not help.
            if beta.is_nan() || beta >= last_beta {
                x.copy_from_slice(&self.saved);
                let relative_residual = last_beta / b_norm;
                return Report { iterations, relative_residual, converged: last_beta <= target };
            }
            if beta <= target || iterations >= max_iterations {
                return Report { iterations, relative_residual: beta / b_norm, converged: beta <= target };
            }
            last_beta = beta;
            self.saved.copy_from_slice(x);
            for r in first.iter_mut() {
                *r /= beta;
            }
            self.g.fill(0.0);
            self.g[0] = beta;
            let mut k = 0;
            while k < m && iterations < max_iterations {
                iterations += 1;
                let j = k;
                // w = A M^-1 v_j.
                let (done, rest) = self.basis.split_at_mut((j + 1) * n);
                let vj = &done[j * n..];
                let w = &mut rest[..n];
                for ((z, v), p) in self.work.iter_mut().zip(vj).zip(&self.precond) {
                    *z = v * p;
                }
                apply(&self.work, w);
                let col = &mut self.h[j * (m + 1)..(j + 1) * (m + 1)];
                for (i, hij) in col.iter_mut().enumerate().take(j + 1) {
                    let vi = &done[i * n..(i + 1) * n];
                    let d = dot(w, vi);
                    *hij = d;
                    for (wk, vk) in w.iter_mut().zip(vi) {
                        *wk -= d * vk;
                    }
                }
                let h_next = norm(w);
                col[j + 1] = h_next;
                if h_next > 0.0 && h_next.is_finite() {
                    for wk in w.iter_mut() {
                        *wk /= h_next;
                    }
                }
                for i in 0..j {
                    let (c, s) = (self.cos[i], self.sin[i]);
                    let (a, b) = (col[i], col[i + 1]);
                    col[i] = c * a + s * b;
                    col[i + 1] = -s * a + c * b;
                }
                let (c, s) = givens(col[j], col[j + 1]);
                col[j] = c * col[j] + s * col[j + 1];
                col[j + 1] = 0.0;
                self.cos[j] = c;
                self.sin[j] = s;
                self.g[j + 1] = -s * self.g[j];
                self.g[j] *= c;
                k += 1;
                // Happy breakdown (the Krylov space is invariant: the solution
                // is in it), or the estimate says converged: check for real.
                if !(h_next > 0.0 && h_next.is_finite()) || self.g[k].abs() <= target {
                    break;
                }
            }
            // Back substitution on the triangularised Hessenberg matrix (a
            // zero pivot: the operator is singular on the Krylov space, and
            // the least-squares residual below is not to be trusted).
            let mut regular = true;
            for i in (0..k).rev() {
                let mut s = self.g[i];
                for l in i + 1..k {
                    s -= self.h[l * (m + 1) + i] * self.coef[l];
                }
                let d = self.h[i * (m + 1) + i];
                regular &= d != 0.0;
                self.coef[i] = if d != 0.0 { s / d } else { 0.0 };
            }
            // x += M^-1 V y.
            self.work.fill(0.0);
            for (i, &y) in self.coef[..k].iter().enumerate() {
                for (z, v) in self.work.iter_mut().zip(&self.basis[i * n..(i + 1) * n]) {
                    *z += y * v;
                }
            }
            for ((xi, z), p) in x.iter_mut().zip(&self.work).zip(&self.precond) {
                *xi += z * p;
            }
            // Converged by the least-squares residual, which equals the true
            // one in exact arithmetic (and to rounding over a cycle this
            // short): done, without another product. Otherwise (or if the
            // update is not finite) the restart computes the true residual.
            let estimate = self.g[k].abs();
            if regular && estimate <= target && x.iter().all(|v| v.is_finite()) {
                return Report { iterations, relative_residual: estimate / b_norm, converged: true };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matvec(a: &[f64], n: usize) -> impl Fn(&[f64], &mut [f64]) + '_ {
        move |x, out| {
            for (row, o) in a.chunks_exact(n).zip(out.iter_mut()) {
                *o = dot(row, x);
            }
        }
    }

    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        }
    }

    fn random_system(n: usize, dominance: f64, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut rng = Lcg(seed);
        let mut a: Vec<f64> = (0..n * n).map(|_| rng.next()).collect();
        for i in 0..n {
            a[i * n + i] += dominance * (1.0 + i as f64);
        }
        let x: Vec<f64> = (0..n).map(|_| rng.next()).collect();
        let mut b = vec![0.0; n];
        matvec(&a, n)(&x, &mut b);
        (a, x, b)
    }

    fn check(n: usize, m: usize, dominance: f64, seed: u64, tol: f64) -> Report {
        let (a, want, b) = random_system(n, dominance, seed);
        let diag: Vec<f64> = (0..n).map(|i| a[i * n + i]).collect();
        let mut x = vec![0.0; n];
        let report = Gmres::new(n, m).solve(matvec(&a, n), &diag, &b, &mut x, 1e-13, 10 * n);
        assert!(report.converged, "{report:?}");
        assert!(report.relative_residual <= 1e-13);
        // The reported residual is the true one (to rounding).
        let mut ax = vec![0.0; n];
        matvec(&a, n)(&x, &mut ax);
        let r: Vec<f64> = ax.iter().zip(&b).map(|(a, b)| b - a).collect();
        let true_rel = norm(&r) / norm(&b);
        assert!(
            true_rel <= 2e-13 && (true_rel - report.relative_residual).abs() <= 1e-14,
            "{true_rel:e} {report:?}"
        );
        for (g, w) in x.iter().zip(&want) {
            assert!((g - w).abs() <= tol, "n {n} m {m}: {g} vs {w}");
        }
        report
    }

    /// Full GMRES (m = n) on a nonsymmetric system with no dominance at all
    /// solves it (in at most n steps, in exact arithmetic).
    #[test]
    fn full_gmres_solves_general_systems() {
        for seed in 0..5 {
            let r = check(12, 12, 0.0, seed, 1e-8);
            assert!(r.iterations <= 14, "{r:?}");
        }
    }

    /// Restarted with a short cycle, on diagonally dominant systems as the
    /// Jacobians are: fast, and to full accuracy.
    #[test]
    fn restarted_gmres_converges_on_dominant_systems() {
        for seed in 0..5 {
            let r = check(200, 10, 20.0, seed, 1e-12);
            assert!(r.iterations < 60, "{r:?}");
        }
    }

    /// The preconditioner matters: badly scaled unknowns (columns spanning
    /// eight orders of magnitude) converge in a few steps with it.
    #[test]
    fn jacobi_preconditioning_handles_scaling() {
        let n = 50;
        let mut a = vec![0.0; n * n];
        let scale = |i: usize| 10f64.powi((i % 9) as i32);
        for i in 0..n {
            a[i * n + i] = scale(i);
            if i + 1 < n {
                a[i * n + i + 1] = 0.1 * scale(i + 1);
            }
        }
        let b = vec![1.0; n];
        let diag: Vec<f64> = (0..n).map(|i| a[i * n + i]).collect();
        let mut x = vec![0.0; n];
        let r = Gmres::new(n, 30).solve(matvec(&a, n), &diag, &b, &mut x, 1e-12, 200);
        assert!(r.converged && r.iterations < 25, "{r:?}");
    }

    #[test]
    fn zero_rhs_and_budget() {
        let (a, _, b) = random_system(20, 0.0, 7);
        let mut x = vec![1.0; 20];
        let ones = vec![1.0; 20];
        let r = Gmres::new(20, 5).solve(matvec(&a, 20), &ones, &[0.0; 20], &mut x, 1e-12, 100);
        assert_eq!(r, Report { iterations: 0, relative_residual: 0.0, converged: true });
        assert!(x.iter().all(|&v| v == 0.0));
        // Too few steps for a general system: not converged, but no worse than x = 0.
        let r = Gmres::new(20, 3).solve(matvec(&a, 20), &ones, &b, &mut x, 1e-12, 3);
        assert!(!r.converged && r.iterations == 3 && r.relative_residual < 1.0, "{r:?}");
        // A singular operator: stops, never loops, never panics.
        let r = Gmres::new(20, 5).solve(|_, out| out.fill(0.0), &ones, &b, &mut x, 1e-12, 1000);
        assert!(!r.converged && r.iterations <= 5, "{r:?}");
        let r = Gmres::new(20, 5).solve(|_, out| out.fill(f64::NAN), &ones, &b, &mut x, 1e-12, 1000);
        assert!(!r.converged, "{r:?}");
        assert!(x.iter().all(|v| v.is_finite()), "a NaN cycle is undone: {x:?}");
    }
}
