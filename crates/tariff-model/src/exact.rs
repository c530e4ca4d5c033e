//! Exact solver: nonlinear Armington CES demand, iso-elastic supply, Newton in `ln p`.
//!
//! Internal arrays of importer-indexed data are importer-major (`[r * n + v]`) so
//! that the per-importer sums over sources run over contiguous memory.

use crate::figures::{Changes, SolverResult, exact_consumer_surplus, exact_producer_surplus};
use crate::linalg::{lu_apply, lu_factor};
use crate::market::Prepared;
use crate::{Diagnostics, InputCosts, ModelError, SolveOptions, Solver};

/// Below this distance from 1, `Es` uses the Cobb-Douglas (geometric) composite.
pub(crate) const GEOMETRIC_ES: f64 = 1e-9;
/// Below this `|1 - Es|`, `Pvr^(1-Es) - 1` is computed with `exp_m1`, per flow.
pub(crate) const NEAR_ONE_ES: f64 = 0.01;
/// ... provided `|(1 - Es) ln Pvr|` stays below this.
pub(crate) const NEAR_BASE: f64 = 0.5;
/// Below this bound on `|(1 - Es) ln Pvr|`, `Pvr^(1-Es)` is the product of a
/// per-exporter and a per-flow power, far from over- or underflow.
pub(crate) const PRODUCT_LIMIT: f64 = 300.0;
/// Step halvings before the line search gives up.
pub(crate) const MAX_HALVINGS: u32 = 40;
/// Armijo constant of the sufficient-decrease test.
pub(crate) const ARMIJO: f64 = 1e-4;
/// Below this residual, Newton reuses the last factorised Jacobian (a chord
/// step): close to the solution that is as good as a fresh one, at a fraction
/// of the cost.
const CHORD_BELOW: f64 = 1e-6;
/// A chord step must cut the residual at least this much, or the next step
/// refreshes the Jacobian.
const CHORD_RATE: f64 = 1e-2;
/// Stages of the continuation fallback.
pub(crate) const CONTINUATION_STAGES: u32 = 8;

/// Hands out slices of one allocation: the solver's working memory is allocated
/// once per solve.
struct Arena<'a>(&'a mut [f64]);

impl<'a> Arena<'a> {
    /// Callers size the arena from the same lengths they take, so this never
    /// runs short.
    fn take(&mut self, len: usize) -> &'a mut [f64] {
        let (head, tail) = std::mem::take(&mut self.0).split_at_mut(len);
        self.0 = tail;
        head
    }
}

/// Base data in the layout the iteration wants.
struct Data<'a> {
    n: usize,
    prep: &'a Prepared<'a>,
    /// `M0[v,r]`, importer-major.
    m0_t: &'a mut [f64],
    /// `M0 T0`, importer-major.
    w_t: &'a mut [f64],
    /// `T0 / T1`, importer-major.
    inv_tau_t: &'a mut [f64],
    /// `ln(T1 / T0)`, importer-major (exactly 0 where unshocked).
    lntau_t: &'a mut [f64],
    /// `1 / X0[v]`, 0 without supply.
    inv_x0: &'a mut [f64],
    /// `(T1 / T0)^(1-Es[r])`, importer-major.
    tpow_t: &'a mut [f64],
    /// `max_v |(1 - Es[r]) ln(T1 / T0)|` per importer.
    tmax: &'a mut [f64],
    /// Distinct values of `1 - Es` among importers using the product form.
    one_m_groups: Vec<f64>,
    /// Index into `one_m_groups` per importer (unused for the others).
    group_of: Vec<usize>,
    /// Input costs of the exporters' supply; `None` is the base model, whose
    /// code path is untouched.
    costs: Option<&'a InputCosts>,
}

/// Per-importer work space of [`Data::eval`].
struct Scratch<'a> {
    /// `(1 - Es) ln Pvr`.
    arg: &'a mut [f64],
    /// `Pvr^(1-Es)`, possibly scaled by a common factor.
    a: &'a mut [f64],
    /// `p[v]^(1-Es)` for each group of equal `Es`, group-major. Sector data
    /// usually have one `Es` for all importers: then `n` powers per evaluation
    /// serve all `n * n` flows.
    pw: &'a mut [f64],
}

impl<'a> Scratch<'a> {
    const fn len(n: usize) -> usize {
        2 * n + n * n
    }

    fn new(arena: &mut Arena<'a>, n: usize) -> Self {
        Self { arg: arena.take(n), a: arena.take(n), pw: arena.take(n * n) }
    }
}

/// Everything that depends on the iterate `y = ln p`.
struct State<'a> {
    y: &'a mut [f64],
    p: &'a mut [f64],
    inv_p: &'a mut [f64],
    /// `p^Ex`.
    pex: &'a mut [f64],
    /// `ln P[r]` of the composite price (0 without demand).
    ln_pc: &'a mut [f64],
    /// Quantity ratios `q`, importer-major; 1 where there is no flow.
    q_t: &'a mut [f64],
    /// Expenditure shares `s_kr = d ln P_r / d y_k`, importer-major.
    s_t: &'a mut [f64],
    /// Demand at base world prices, `sum_r M0 q`, per exporter.
    demand: &'a mut [f64],
    /// Scaled residual `F_v / X0[v]` (0 for exporters without supply).
    f: &'a mut [f64],
    /// `sum_v f_v^2`.
    merit: f64,
    /// `max_v |f_v|`.
    max_res: f64,
    /// `max_v |f_v| / max(1, p^Ex, demand / X0)`: the residual relative to the
    /// terms of each equation, whose rounding floor it reaches when p^Ex >> 1.
    term_res: f64,
}

impl<'a> State<'a> {
    const fn len(n: usize) -> usize {
        7 * n + 2 * n * n
    }

    fn new(arena: &mut Arena<'a>, n: usize) -> Self {
        let mut st = Self {
            y: arena.take(n),
            p: arena.take(n),
            inv_p: arena.take(n),
            pex: arena.take(n),
            ln_pc: arena.take(n),
            q_t: arena.take(n * n),
            s_t: arena.take(n * n),
            demand: arena.take(n),
            f: arena.take(n),
            merit: 0.0,
            max_res: 0.0,
            term_res: 0.0,
        };
        st.reset();
        st
    }

    /// Back to the base point `y = 0` (not yet evaluated).
    fn reset(&mut self) {
        for v in [&mut *self.y, &mut *self.ln_pc, &mut *self.s_t, &mut *self.demand, &mut *self.f] {
            v.fill(0.0);
        }
        for v in [&mut *self.p, &mut *self.inv_p, &mut *self.pex, &mut *self.q_t] {
            v.fill(1.0);
        }
    }
}

impl<'a> Data<'a> {
    const fn len(n: usize) -> usize {
        5 * n * n + 2 * n
    }

    fn new(arena: &mut Arena<'a>, prep: &'a Prepared<'a>, costs: Option<&'a InputCosts>) -> Self {
        let n = prep.n;
        let nn = n * n;
        let mut data = Data {
            n,
            prep,
            m0_t: arena.take(nn),
            w_t: arena.take(nn),
            inv_tau_t: arena.take(nn),
            lntau_t: arena.take(nn),
            inv_x0: arena.take(n),
            tpow_t: arena.take(nn),
            tmax: arena.take(n),
            one_m_groups: Vec::new(),
            group_of: vec![usize::MAX; n],
            costs,
        };
        for (inv, &x) in data.inv_x0.iter_mut().zip(&prep.x0) {
            *inv = if x > 0.0 { 1.0 / x } else { 0.0 };
        }
        for r in 0..n {
            let one_m = 1.0 - prep.es[r];
            if prep.r0[r] > 0.0 && one_m.abs() >= NEAR_ONE_ES {
                let g = match data.one_m_groups.iter().position(|&x| x == one_m) {
                    Some(g) => g,
                    None => {
                        data.one_m_groups.push(one_m);
                        data.one_m_groups.len() - 1
                    }
                };
                data.group_of[r] = g;
            }
        }
        for v in 0..n {
            for r in 0..n {
                let (i, t) = (v * n + r, r * n + v);
                data.m0_t[t] = prep.m0[i];
                data.w_t[t] = prep.m0[i] * prep.t0[i];
                // Unshocked flows (most of them, typically) skip the logarithm.
                let (t0, t1) = (prep.t0[i], prep.t1[i]);
                if t0 != t1 && prep.m0[i] > 0.0 {
                    data.inv_tau_t[t] = t0 / t1;
                    data.lntau_t[t] = (t1 / t0).ln();
                } else {
                    data.inv_tau_t[t] = 1.0;
                }
            }
        }
        data.refresh_powers();
        data
    }

    /// Recomputes `tpow_t` and `tmax` from `lntau_t`.
    fn refresh_powers(&mut self) {
        let n = self.n;
        for r in 0..n {
            let one_m = 1.0 - self.prep.es[r];
            let cols = r * n..(r + 1) * n;
            let mut tmax = 0.0_f64;
            for (tp, &l) in self.tpow_t[cols.clone()].iter_mut().zip(&self.lntau_t[cols]) {
                let arg = one_m * l;
                *tp = if l == 0.0 { 1.0 } else { arg.exp() };
                tmax = tmax.max(arg.abs());
            }
            self.tmax[r] = tmax;
        }
    }

    /// Recomputes prices, quantities and residuals of `st` from `st.y`.
    ///
    /// `X0` and the demand sum are both accumulated over ascending `r`, and at
    /// `y = 0` with `T1 == T0` every `q` is exactly 1, so an unshocked market
    /// has a residual of exactly 0.
    fn eval(&self, st: &mut State<'_>, sc: &mut Scratch<'_>) {
        let n = self.n;
        let prep = self.prep;
        for v in 0..n {
            st.p[v] = st.y[v].exp();
            st.inv_p[v] = 1.0 / st.p[v];
            st.pex[v] = match self.costs {
                None => (prep.ex[v] * st.y[v]).exp(),
                // Supply follows the value-added price s (no supply at s <= 0).
                Some(costs) => match costs.value_added_price(v, st.p[v]) {
                    Some(s) => (prep.ex[v] * s.ln()).exp(),
                    None => 0.0,
                },
            };
            st.demand[v] = 0.0;
        }
        let y_max = st.y.iter().fold(0.0_f64, |m, y| m.max(y.abs()));
        for (g, &one_m) in self.one_m_groups.iter().enumerate() {
            for (pw, y) in sc.pw[g * n..(g + 1) * n].iter_mut().zip(&*st.y) {
                *pw = (one_m * y).exp();
            }
        }
        let (y, inv_p, demand) = (&st.y[..n], &st.inv_p[..n], &mut st.demand[..n]);
        let (arg_s, a_s) = (&mut sc.arg[..n], &mut sc.a[..n]);
        for r in 0..n {
            let cols = r * n..(r + 1) * n;
            let m0 = &self.m0_t[cols.clone()];
            let r0 = prep.r0[r];
            if r0 <= 0.0 {
                // No demand: q stays 1, and these flows are 0 anyway.
                for (acc, m) in demand.iter_mut().zip(m0) {
                    *acc += m;
                }
                continue;
            }
            let w = &self.w_t[cols.clone()];
            let inv_tau = &self.inv_tau_t[cols.clone()];
            let lntau = &self.lntau_t[cols.clone()];
            let tpow = &self.tpow_t[cols.clone()];
            let q = &mut st.q_t[cols.clone()];
            let s = &mut st.s_t[cols];
            let es = prep.es[r];
            let (one_m, c) = (1.0 - es, es + prep.em[r]);

            // Each path sets s and q of the flows into r, adds to the demand for
            // each exporter, and yields ln P[r]. At the base point (y = 0,
            // T1 = T0) every path gives exactly q = 1 and ln P = 0.
            st.ln_pc[r] = 'path: {
                if one_m.abs() < GEOMETRIC_ES {
                    // Cobb-Douglas composite: ln P = sum theta L, shares are theta.
                    let mut geo = 0.0;
                    for v in 0..n {
                        if m0[v] > 0.0 {
                            geo += w[v] * (y[v] + lntau[v]);
                        }
                    }
                    let (ln_pc, inv_r0) = (geo / r0, 1.0 / r0);
                    for v in 0..n {
                        if m0[v] > 0.0 {
                            s[v] = w[v] * inv_r0;
                            q[v] = (-es * (y[v] + lntau[v]) + c * ln_pc).exp();
                            demand[v] += m0[v] * q[v];
                        }
                    }
                    break 'path ln_pc;
                }
                if one_m.abs() < NEAR_ONE_ES {
                    // Sum `w (a - 1)` (a = Pvr^(1-Es)) with expm1: accurate when Es
                    // is close to 1, where ln P = ln(1 + mean(a - 1)) / (1 - Es).
                    let (mut num, mut near) = (0.0, true);
                    for v in 0..n {
                        if m0[v] > 0.0 {
                            let arg = one_m * (y[v] + lntau[v]);
                            if arg.abs() >= NEAR_BASE {
                                near = false;
                                break;
                            }
                            let e = arg.exp_m1();
                            a_s[v] = 1.0 + e;
                            num += w[v] * e;
                        }
                    }
                    if near {
                        let ln_pc = (num / r0).ln_1p() / one_m;
                        let (inv_den, scale) = (1.0 / (r0 + num), (c * ln_pc).exp());
                        for v in 0..n {
                            if m0[v] > 0.0 {
                                let a = a_s[v];
                                s[v] = w[v] * a * inv_den;
                                // q = Pvr^(-Es) P^(Es+Em) = Pvr^(1-Es) / Pvr * P^(Es+Em).
                                q[v] = a * inv_p[v] * inv_tau[v] * scale;
                                demand[v] += m0[v] * q[v];
                            }
                        }
                        break 'path ln_pc;
                    }
                } else if one_m.abs() * y_max + self.tmax[r] < PRODUCT_LIMIT {
                    // a = p^(1-Es) (T1/T0)^(1-Es), and sum w a is summed like R0,
                    // so their ratio is exactly 1 at the base point.
                    let g = self.group_of[r];
                    let pw = &sc.pw[g * n..(g + 1) * n];
                    let mut sum = 0.0;
                    for v in 0..n {
                        if m0[v] > 0.0 {
                            let a = pw[v] * tpow[v];
                            a_s[v] = a;
                            sum += w[v] * a;
                        }
                    }
                    if sum > 0.0 && sum.is_finite() {
                        let ln_pc = (sum / r0).ln() / one_m;
                        let (inv_sum, scale) = (1.0 / sum, (c * ln_pc).exp());
                        for v in 0..n {
                            if m0[v] > 0.0 {
                                let a = a_s[v];
                                s[v] = w[v] * a * inv_sum;
                                q[v] = a * inv_p[v] * inv_tau[v] * scale;
                                demand[v] += m0[v] * q[v];
                            }
                        }
                        break 'path ln_pc;
                    }
                }
                // Far from the base: log-sum-exp, shifted so that no term over-
                // or underflows.
                let mut arg_max = f64::NEG_INFINITY;
                for v in 0..n {
                    if m0[v] > 0.0 {
                        arg_s[v] = one_m * (y[v] + lntau[v]);
                        arg_max = arg_max.max(arg_s[v]);
                    }
                }
                let mut sum = 0.0;
                for v in 0..n {
                    if m0[v] > 0.0 {
                        let a = (arg_s[v] - arg_max).exp();
                        a_s[v] = a;
                        sum += w[v] * a;
                    }
                }
                let ln_pc = (arg_max + (sum / r0).ln()) / one_m;
                let (inv_sum, scale) = (1.0 / sum, (arg_max + c * ln_pc).exp());
                for v in 0..n {
                    if m0[v] > 0.0 {
                        let a = a_s[v];
                        s[v] = w[v] * a * inv_sum;
                        q[v] = a * inv_p[v] * inv_tau[v] * scale;
                        demand[v] += m0[v] * q[v];
                    }
                }
                ln_pc
            };
        }
        st.merit = 0.0;
        st.max_res = 0.0;
        st.term_res = 0.0;
        for v in 0..n {
            let x0 = prep.x0[v];
            if x0 > 0.0 {
                // A division, not `* inv_x0`: exactly 0 when demand == X0.
                let demand = st.demand[v] / x0;
                let f = demand - st.pex[v];
                st.f[v] = f;
                st.merit += f * f;
                st.max_res = st.max_res.max(f.abs());
                st.term_res = st.term_res.max(f.abs() / demand.max(st.pex[v]).max(1.0));
            } else {
                st.f[v] = 0.0;
            }
        }
        if !st.merit.is_finite() {
            st.merit = f64::INFINITY;
            st.max_res = f64::INFINITY;
            st.term_res = f64::INFINITY;
        }
    }

    /// Jacobian of the scaled residual `f` with respect to `y`, row-major.
    ///
    /// `df_v/dy_k = sum_r u_vr [(Es_r+Em_r) s_kr - Es_r d_vk] - Ex_v p_v^Ex_v d_vk`,
    /// with `u_vr = M0[v,r] q[v,r] / X0[v]`.
    fn jacobian(&self, st: &State<'_>, jac: &mut [f64], diag: &mut [f64]) {
        let n = self.n;
        let prep = self.prep;
        jac.fill(0.0);
        diag.fill(0.0);
        for r in (0..n).filter(|&r| prep.r0[r] > 0.0) {
            let (es, c) = (prep.es[r], prep.es[r] + prep.em[r]);
            let cols = r * n..(r + 1) * n;
            let (m0, q, s) = (&self.m0_t[cols.clone()], &st.q_t[cols.clone()], &st.s_t[cols]);
            for v in 0..n {
                if m0[v] > 0.0 {
                    let u = m0[v] * q[v] * self.inv_x0[v];
                    diag[v] += es * u;
                    let cu = c * u;
                    for (j, s) in jac[v * n..(v + 1) * n].iter_mut().zip(s) {
                        *j += cu * s;
                    }
                }
            }
        }
        for v in 0..n {
            jac[v * n + v] -= if prep.x0[v] > 0.0 {
                let supply = prep.ex[v] * st.pex[v];
                // d ln s / d ln p = p / (p - k) with input costs (pex is 0 where s <= 0).
                diag[v] + self.costs.map_or(supply, |c| supply * c.elasticity_of_value_added(v, st.p[v]))
            } else {
                // No supply: y_v stays 0 through an identity row (the row is empty).
                -1.0
            };
        }
    }
}

/// Work buffers of the Newton iteration.
struct Newton<'a> {
    scratch: Scratch<'a>,
    trial: State<'a>,
    /// LU factors of the Jacobian.
    jac: &'a mut [f64],
    piv: Vec<usize>,
    step: &'a mut [f64],
    diag: &'a mut [f64],
}

impl<'a> Newton<'a> {
    const fn len(n: usize) -> usize {
        Scratch::len(n) + State::len(n) + n * n + 2 * n
    }

    fn new(arena: &mut Arena<'a>, n: usize) -> Self {
        Self {
            scratch: Scratch::new(arena, n),
            trial: State::new(arena, n),
            jac: arena.take(n * n),
            piv: vec![0; n],
            step: arena.take(n),
            diag: arena.take(n),
        }
    }

    /// Damped Newton from `cur` (already evaluated) until `max_res < tolerance`,
    /// within `budget` more iterations; `used` counts iterations across runs.
    fn run(
        &mut self,
        data: &Data<'_>,
        cur: &mut State<'a>,
        tolerance: f64,
        budget: u32,
        used: &mut u32,
    ) -> Result<(), ModelError> {
        let n = data.n;
        let mut spent = 0;
        // Whether `jac` holds factors of a Jacobian from this run.
        let mut factored = false;
        // `max_res` is never NaN: `eval` turns a non-finite residual into infinity.
        while cur.max_res >= tolerance {
            if spent >= budget {
                return Err(ModelError::NotConverged { iterations: *used, residual: cur.max_res });
            }
            spent += 1;
            *used += 1;
            let chord = factored && cur.max_res < CHORD_BELOW;
            if !chord {
                data.jacobian(cur, self.jac, self.diag);
                lu_factor(self.jac, n, &mut self.piv)
                    .map_err(|column| ModelError::Singular { solver: Solver::Exact, column })?;
                factored = true;
            }
            for (s, f) in self.step.iter_mut().zip(&*cur.f) {
                *s = -f;
            }
            lu_apply(self.jac, n, &self.piv, self.step);
            let trial = &mut self.trial;
            let mut lambda = 1.0;
            let mut accepted = false;
            for _ in 0..MAX_HALVINGS {
                for ((yt, y), s) in trial.y.iter_mut().zip(&*cur.y).zip(&*self.step) {
                    *yt = y + lambda * s;
                }
                data.eval(trial, &mut self.scratch);
                if trial.max_res < tolerance || trial.merit <= (1.0 - 2.0 * ARMIJO * lambda) * cur.merit {
                    accepted = true;
                    break;
                }
                lambda *= 0.5;
            }
            if chord && trial.max_res >= CHORD_RATE * cur.max_res {
                factored = false;
            }
            if !accepted {
                if chord {
                    // Not a failure yet: retry with a fresh Jacobian.
                    continue;
                }
                // Stalled: fine if only rounding in terms much larger than X0 is left.
                if cur.term_res < tolerance {
                    return Ok(());
                }
                return Err(ModelError::NotConverged { iterations: *used, residual: cur.max_res });
            }
            std::mem::swap(cur, trial);
        }
        Ok(())
    }
}

pub(crate) fn solve(prep: &Prepared<'_>, options: &SolveOptions) -> Result<SolverResult, ModelError> {
    solve_costs(prep, options, None)
}

/// [`solve`] with the exporters' supply following their value-added price
/// (docs/model.md, "Supply chains"); `None` is [`solve`].
pub(crate) fn solve_costs(
    prep: &Prepared<'_>,
    options: &SolveOptions,
    costs: Option<&InputCosts>,
) -> Result<SolverResult, ModelError> {
    let n = prep.n;
    let mut memory = vec![0.0; Data::len(n) + Newton::len(n) + State::len(n)];
    let mut arena = Arena(&mut memory);
    let mut data = Data::new(&mut arena, prep, costs);
    let mut newton = Newton::new(&mut arena, n);
    let mut cur = State::new(&mut arena, n);
    data.eval(&mut cur, &mut newton.scratch);
    if !cur.max_res.is_finite() {
        return Err(ModelError::NonFiniteResult { solver: Solver::Exact });
    }
    let tolerance = options.tolerance;
    let mut used = 0;
    // Half the budget for the direct attempt leaves room for the fallback.
    let direct = options.max_iterations.div_ceil(2);
    let first_error = match newton.run(&data, &mut cur, tolerance, direct, &mut used) {
        Ok(()) => return Ok(outcome(prep, &cur, used, costs)),
        Err(e @ (ModelError::NotConverged { .. } | ModelError::Singular { .. })) => e,
        Err(e) => return Err(e),
    };

    // Fallback for very large shocks, where Newton from the base can stall in a
    // local minimum of the residual: continuation in the shock, each stage
    // starting from the previous stage's solution.
    let (lntau_full, inv_tau_full) = (data.lntau_t.to_vec(), data.inv_tau_t.to_vec());
    cur.reset();
    for stage in 1..=CONTINUATION_STAGES {
        let last = stage == CONTINUATION_STAGES;
        if last {
            data.lntau_t.copy_from_slice(&lntau_full);
            data.inv_tau_t.copy_from_slice(&inv_tau_full);
        } else {
            let h = f64::from(stage) / f64::from(CONTINUATION_STAGES);
            let shocks = data.lntau_t.iter_mut().zip(data.inv_tau_t.iter_mut());
            for ((l, t), full) in shocks.zip(&lntau_full) {
                *l = h * full;
                *t = (-*l).exp();
            }
        }
        data.refresh_powers();
        data.eval(&mut cur, &mut newton.scratch);
        let stage_tolerance = if last { tolerance } else { tolerance.max(1e-8) };
        let budget = options.max_iterations.saturating_sub(used);
        if newton.run(&data, &mut cur, stage_tolerance, budget, &mut used).is_err() {
            return Err(match first_error {
                ModelError::NotConverged { .. } => {
                    ModelError::NotConverged { iterations: used, residual: cur.max_res }
                }
                e => e,
            });
        }
    }
    Ok(outcome(prep, &cur, used, costs))
}

fn outcome(prep: &Prepared<'_>, st: &State<'_>, iterations: u32, costs: Option<&InputCosts>) -> SolverResult {
    let n = prep.n;
    let mut new_values = vec![0.0; n * n];
    let mut volume = vec![1.0; n * n];
    let mut fob_price = vec![1.0; n * n];
    for v in 0..n {
        for r in 0..n {
            let i = v * n + r;
            new_values[i] = prep.m0[i] * st.q_t[r * n + v] * st.p[v];
            volume[i] = st.q_t[r * n + v];
            fob_price[i] = st.p[v];
        }
    }
    let changes = (0..n)
        .map(|e| Changes {
            world_price: st.y[e].exp_m1(),
            consumer_price: st.ln_pc[e].exp_m1(),
            consumer_surplus: exact_consumer_surplus(prep.r0[e], prep.em[e], st.ln_pc[e]),
            producer_surplus: match costs {
                None => exact_producer_surplus(prep.x0[e], prep.ex[e], st.y[e]),
                Some(c) => c.producer_surplus(e, prep.x0[e], prep.ex[e], st.p[e]),
            },
        })
        .collect();
    SolverResult {
        world_price: st.p.to_vec(),
        consumer_price: st.ln_pc.iter().map(|l| l.exp()).collect(),
        changes,
        new_values,
        volume,
        fob_price,
        diagnostics: Diagnostics { solver: Solver::Exact, iterations, residual: st.max_res },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Market;

    /// The analytic Jacobian matches central differences of the residual, in
    /// each of the composite-price paths (Cobb-Douglas, near base, far from base).
    #[test]
    fn jacobian_matches_finite_differences() {
        let n = 4;
        for (es, y_scale, spread) in
            [(1.0, 0.3, 0.05), (5.0, 0.01, 0.002), (5.0, 0.4, 0.05), (0.3, 2.0, 0.05)]
        {
            let market = Market {
                n,
                base_values: vec![
                    10.0, 50.0, 0.0, 300.0, 500.0, 7.0, 150.0, 200.0, 300.0, 100.0, 200.0, 0.0, 0.0, 0.0,
                    0.0, 0.0,
                ],
                base_tariff: vec![1.1; n * n],
                new_tariff: (0..n * n).map(|i| 1.0 + spread * i as f64).collect(),
                import_demand: vec![-1.25, -0.5, -2.0, -1.0],
                substitution: vec![es, es, es * 1.5, es],
                supply: vec![1.5, 99.0, 0.7, 2.0],
            };
            let prep = market.prepare(false).unwrap();
            // And with input costs: supply follows the value-added price.
            let costs = InputCosts::new(vec![0.4, 0.0, 0.6, 0.2], vec![0.45, 0.0, 0.5, 0.3]).unwrap();
            for costs in [None, Some(&costs)] {
                let mut memory = vec![0.0; Data::len(n) + Scratch::len(n) + 3 * State::len(n)];
                let mut arena = Arena(&mut memory);
                let data = Data::new(&mut arena, &prep, costs);
                let mut scratch = Scratch::new(&mut arena, n);
                let mut st = State::new(&mut arena, n);
                let (mut plus, mut minus) = (State::new(&mut arena, n), State::new(&mut arena, n));
                let y = [0.5 * y_scale, -y_scale, 0.3 * y_scale, 0.0];
                st.y.copy_from_slice(&y);
                data.eval(&mut st, &mut scratch);
                let (mut jac, mut diag) = (vec![0.0; n * n], vec![0.0; n]);
                data.jacobian(&st, &mut jac, &mut diag);
                let h = 1e-6;
                for k in 0..3 {
                    plus.y.copy_from_slice(&y);
                    minus.y.copy_from_slice(&y);
                    plus.y[k] += h;
                    minus.y[k] -= h;
                    data.eval(&mut plus, &mut scratch);
                    data.eval(&mut minus, &mut scratch);
                    for v in 0..3 {
                        let fd = (plus.f[v] - minus.f[v]) / (2.0 * h);
                        let an = jac[v * n + k];
                        assert!(
                            (fd - an).abs() <= 1e-6 * (1.0 + an.abs()),
                            "es {es}: d f{v} / d y{k}: analytic {an}, numeric {fd}"
                        );
                    }
                }
                // Economy 3 supplies nothing: identity row keeps its price fixed.
                assert_eq!(&jac[3 * n..], &[0.0, 0.0, 0.0, 1.0]);
            }
        }
    }
}
