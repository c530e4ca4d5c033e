//! The exact solver (integrated markets) over flows: the dense
//! [`exact`](crate::exact) solver's equations, residual and composite-price
//! paths, in time and memory proportional to the number of flows.
//!
//! Flows are held importer-major (the [`Flows`] index, trading flows only), so
//! each importer's composite price is a sum over its own sources. Newton's
//! linear system is never formed: the Jacobian of the scaled residual is
//! `J = -D + U C S^T` (`D_v = sum_r u_vr Es_r + Ex_v p_v^Ex_v`,
//! `u_vr = M0 q / X0[v]`, `C = diag(Es + Em)` per importer, `S` the expenditure
//! shares), so `J x` costs `O(nnz)`: `z_r = sum_k s_kr x_k`, then
//! `(J x)_v = sum_r c_r u_vr z_r - D_v x_v`. The step solves `J d = -f` by
//! GMRES preconditioned with the exact diagonal of `J`, then takes the dense
//! solver's damped (Armijo) line search; very large shocks fall back to the
//! same continuation in the shock.
//!
//! `X0` and `R0` are summed in the index's order, which is the order demand
//! and the composite sums are accumulated in: with no shock, at `y = 0`, every
//! `q` is exactly 1 and the residual exactly 0.

use super::figures::FlowResult;
use super::flows::Flows;
use super::gmres::Gmres;
use crate::exact::{
    ARMIJO, CONTINUATION_STAGES, GEOMETRIC_ES, MAX_HALVINGS, NEAR_BASE, NEAR_ONE_ES, PRODUCT_LIMIT,
};
use crate::figures::{Changes, exact_consumer_surplus, exact_producer_surplus};
use crate::{Diagnostics, InputCosts, ModelError, SolveOptions, Solver};

/// GMRES stops at `FORCING * max|f|` relative to `||f||` (inexact Newton:
/// the linear error stays a hundredth of the quadratic term, so Newton takes
/// the steps it would with an exact solve), clamped to
/// `[GMRES_RTOL, GMRES_LOOSEST]`.
const FORCING: f64 = 1e-2;
const GMRES_RTOL: f64 = 1e-11;
const GMRES_LOOSEST: f64 = 1e-3;
/// GMRES restart length: the Krylov basis is this many vectors of `n`.
const GMRES_RESTART: usize = 40;
/// Most GMRES steps per Newton step (the diagonal preconditioner usually needs
/// 5-30 on trade data).
const GMRES_MAX_STEPS: usize = 600;

/// Base data of the trading flows (`M0 > 0`), importer-major.
struct Data<'a> {
    flows: &'a Flows<'a>,
    n: usize,
    /// Entries of importer `r`: `start[r]..start[r + 1]`.
    start: Vec<usize>,
    /// Exporter of each entry.
    src: Vec<usize>,
    m0: Vec<f64>,
    /// `M0 T0`.
    w: Vec<f64>,
    /// `T0 / T1` (1 where unshocked).
    inv_tau: Vec<f64>,
    /// `ln(T1 / T0)`, exactly 0 where unshocked.
    lntau: Vec<f64>,
    /// `(T1 / T0)^(1-Es[r])`.
    tpow: Vec<f64>,
    /// `1 / X0[v]`, 0 without supply.
    inv_x0: Vec<f64>,
    /// `max |(1 - Es[r]) ln(T1 / T0)|` per importer.
    tmax: Vec<f64>,
    /// Distinct values of `1 - Es` among importers using the product form.
    one_m_groups: Vec<f64>,
    group_of: Vec<usize>,
    /// Input costs of the exporters' supply; `None` is the base model, whose
    /// code path is untouched (as in the dense solver).
    costs: Option<&'a InputCosts>,
}

/// Everything that depends on the iterate `y = ln p`.
#[derive(Clone)]
struct State {
    y: Vec<f64>,
    p: Vec<f64>,
    inv_p: Vec<f64>,
    pex: Vec<f64>,
    ln_pc: Vec<f64>,
    /// Quantity ratio of each entry.
    q: Vec<f64>,
    /// Expenditure share `s_kr = d ln P_r / d y_k` of each entry.
    s: Vec<f64>,
    demand: Vec<f64>,
    f: Vec<f64>,
    merit: f64,
    max_res: f64,
    term_res: f64,
}

impl State {
    fn new(n: usize, nnz: usize) -> Self {
        Self {
            y: vec![0.0; n],
            p: vec![1.0; n],
            inv_p: vec![1.0; n],
            pex: vec![1.0; n],
            ln_pc: vec![0.0; n],
            q: vec![1.0; nnz],
            s: vec![0.0; nnz],
            demand: vec![0.0; n],
            f: vec![0.0; n],
            merit: 0.0,
            max_res: 0.0,
            term_res: 0.0,
        }
    }

    fn reset(&mut self) {
        for v in [&mut self.y, &mut self.ln_pc, &mut self.s, &mut self.demand, &mut self.f] {
            v.fill(0.0);
        }
        for v in [&mut self.p, &mut self.inv_p, &mut self.pex, &mut self.q] {
            v.fill(1.0);
        }
    }
}

impl<'a> Data<'a> {
    /// `t1`: the new tariff factor of each index entry the solve uses.
    fn new(flows: &'a Flows<'a>, t1: &[f64], costs: Option<&'a InputCosts>) -> Self {
        let n = flows.n;
        let nnz = flows.m0.iter().filter(|&&m| m > 0.0).count();
        let mut data = Data {
            flows,
            n,
            start: vec![0; n + 1],
            src: Vec::with_capacity(nnz),
            m0: Vec::with_capacity(nnz),
            w: Vec::with_capacity(nnz),
            inv_tau: Vec::with_capacity(nnz),
            lntau: Vec::with_capacity(nnz),
            tpow: vec![1.0; nnz],
            inv_x0: flows.x0.iter().map(|&x| if x > 0.0 { 1.0 / x } else { 0.0 }).collect(),
            tmax: vec![0.0; n],
            one_m_groups: Vec::new(),
            group_of: vec![usize::MAX; n],
            costs,
        };
        for r in 0..n {
            let one_m = 1.0 - flows.es[r];
            if flows.r0[r] > 0.0 && one_m.abs() >= NEAR_ONE_ES {
                let g = match data.one_m_groups.iter().position(|&x| x == one_m) {
                    Some(g) => g,
                    None => {
                        data.one_m_groups.push(one_m);
                        data.one_m_groups.len() - 1
                    }
                };
                data.group_of[r] = g;
            }
            for e in flows.start[r]..flows.start[r + 1] {
                let m0 = flows.m0[e];
                if m0 <= 0.0 {
                    continue;
                }
                let (t0, t1) = (flows.t0[e], t1[e]);
                data.src.push(flows.exporter[e]);
                data.m0.push(m0);
                data.w.push(m0 * t0);
                if t0 != t1 {
                    data.inv_tau.push(t0 / t1);
                    data.lntau.push((t1 / t0).ln());
                } else {
                    data.inv_tau.push(1.0);
                    data.lntau.push(0.0);
                }
            }
            data.start[r + 1] = data.src.len();
        }
        data.refresh_powers();
        data
    }

    fn nnz(&self) -> usize {
        self.src.len()
    }

    fn refresh_powers(&mut self) {
        for r in 0..self.n {
            let one_m = 1.0 - self.flows.es[r];
            let cols = self.start[r]..self.start[r + 1];
            let mut tmax = 0.0_f64;
            for (tp, &l) in self.tpow[cols.clone()].iter_mut().zip(&self.lntau[cols]) {
                let arg = one_m * l;
                *tp = if l == 0.0 { 1.0 } else { arg.exp() };
                tmax = tmax.max(arg.abs());
            }
            self.tmax[r] = tmax;
        }
    }

    /// Recomputes prices, quantities and residuals of `st` from `st.y`; `pw`
    /// is work space of `one_m_groups.len() * n`.
    fn eval(&self, st: &mut State, pw: &mut [f64]) {
        let n = self.n;
        let fl = self.flows;
        for v in 0..n {
            st.p[v] = st.y[v].exp();
            st.inv_p[v] = 1.0 / st.p[v];
            st.pex[v] = match self.costs {
                None => (fl.ex[v] * st.y[v]).exp(),
                // Supply follows the value-added price s (no supply at s <= 0).
                Some(costs) => costs.value_added_price(v, st.p[v]).map_or(0.0, |s| (fl.ex[v] * s.ln()).exp()),
            };
            st.demand[v] = 0.0;
        }
        let y_max = st.y.iter().fold(0.0_f64, |m, y| m.max(y.abs()));
        for (g, &one_m) in self.one_m_groups.iter().enumerate() {
            for (p, y) in pw[g * n..(g + 1) * n].iter_mut().zip(&st.y) {
                *p = (one_m * y).exp();
            }
        }
        let (y, inv_p, demand) = (&st.y[..], &st.inv_p[..], &mut st.demand[..]);
        for r in 0..n {
            let cols = self.start[r]..self.start[r + 1];
            let src = &self.src[cols.clone()];
            let m0 = &self.m0[cols.clone()];
            let r0 = fl.r0[r];
            if r0 <= 0.0 {
                for (&v, m) in src.iter().zip(m0) {
                    demand[v] += m;
                }
                continue;
            }
            let w = &self.w[cols.clone()];
            let inv_tau = &self.inv_tau[cols.clone()];
            let lntau = &self.lntau[cols.clone()];
            let tpow = &self.tpow[cols.clone()];
            let q = &mut st.q[cols.clone()];
            let s = &mut st.s[cols];
            let es = fl.es[r];
            let (one_m, c) = (1.0 - es, es + fl.em[r]);
            let len = src.len();

            // As the dense solver: each path sets s and q of the flows into r,
            // adds to demand, and yields ln P[r]; the shares' slots hold the
            // powers `a = Pvr^(1-Es)` (scaled) until the shares are known.
            st.ln_pc[r] = 'path: {
                if one_m.abs() < GEOMETRIC_ES {
                    let mut geo = 0.0;
                    for i in 0..len {
                        geo += w[i] * (y[src[i]] + lntau[i]);
                    }
                    let (ln_pc, inv_r0) = (geo / r0, 1.0 / r0);
                    for i in 0..len {
                        let v = src[i];
                        s[i] = w[i] * inv_r0;
                        q[i] = (-es * (y[v] + lntau[i]) + c * ln_pc).exp();
                        demand[v] += m0[i] * q[i];
                    }
                    break 'path ln_pc;
                }
                if one_m.abs() < NEAR_ONE_ES {
                    let (mut num, mut near) = (0.0, true);
                    for i in 0..len {
                        let arg = one_m * (y[src[i]] + lntau[i]);
                        if arg.abs() >= NEAR_BASE {
                            near = false;
                            break;
                        }
                        let e = arg.exp_m1();
                        s[i] = 1.0 + e;
                        num += w[i] * e;
                    }
                    if near {
                        let ln_pc = (num / r0).ln_1p() / one_m;
                        let (inv_den, scale) = (1.0 / (r0 + num), (c * ln_pc).exp());
                        for i in 0..len {
                            let (v, a) = (src[i], s[i]);
                            s[i] = w[i] * a * inv_den;
                            q[i] = a * inv_p[v] * inv_tau[i] * scale;
                            demand[v] += m0[i] * q[i];
                        }
                        break 'path ln_pc;
                    }
                } else if one_m.abs() * y_max + self.tmax[r] < PRODUCT_LIMIT {
                    let g = self.group_of[r];
                    let pw = &pw[g * n..(g + 1) * n];
                    let mut sum = 0.0;
                    for i in 0..len {
                        let a = pw[src[i]] * tpow[i];
                        s[i] = a;
                        sum += w[i] * a;
                    }
                    if sum > 0.0 && sum.is_finite() {
                        let ln_pc = (sum / r0).ln() / one_m;
                        let (inv_sum, scale) = (1.0 / sum, (c * ln_pc).exp());
                        for i in 0..len {
                            let (v, a) = (src[i], s[i]);
                            s[i] = w[i] * a * inv_sum;
                            q[i] = a * inv_p[v] * inv_tau[i] * scale;
                            demand[v] += m0[i] * q[i];
                        }
                        break 'path ln_pc;
                    }
                }
                // Far from the base: log-sum-exp, shifted (the arguments in q's slots).
                let mut arg_max = f64::NEG_INFINITY;
                for i in 0..len {
                    q[i] = one_m * (y[src[i]] + lntau[i]);
                    arg_max = arg_max.max(q[i]);
                }
                let mut sum = 0.0;
                for i in 0..len {
                    let a = (q[i] - arg_max).exp();
                    s[i] = a;
                    sum += w[i] * a;
                }
                let ln_pc = (arg_max + (sum / r0).ln()) / one_m;
                let (inv_sum, scale) = (1.0 / sum, (arg_max + c * ln_pc).exp());
                for i in 0..len {
                    let (v, a) = (src[i], s[i]);
                    s[i] = w[i] * a * inv_sum;
                    q[i] = a * inv_p[v] * inv_tau[i] * scale;
                    demand[v] += m0[i] * q[i];
                }
                ln_pc
            };
        }
        st.merit = 0.0;
        st.max_res = 0.0;
        st.term_res = 0.0;
        for v in 0..n {
            let x0 = fl.x0[v];
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
}

/// The Jacobian at one iterate, in the factors of `J = -D + U C S^T`.
struct Jacobian {
    /// `c_r u_vr` of each entry.
    cu: Vec<f64>,
    /// `D_v`; `-1` for exporters without supply (identity rows).
    d: Vec<f64>,
    /// The diagonal of `J`, the preconditioner.
    diag: Vec<f64>,
}

impl Jacobian {
    fn new(n: usize, nnz: usize) -> Self {
        Self { cu: vec![0.0; nnz], d: vec![0.0; n], diag: vec![0.0; n] }
    }

    /// `df_v/dy_k = sum_r u_vr [(Es_r+Em_r) s_kr - Es_r d_vk] - Ex_v p_v^Ex_v d_vk`.
    fn update(&mut self, data: &Data<'_>, st: &State) {
        let fl = data.flows;
        self.d.fill(0.0);
        self.diag.fill(0.0);
        self.cu.fill(0.0);
        for r in (0..data.n).filter(|&r| fl.r0[r] > 0.0) {
            let (es, c) = (fl.es[r], fl.es[r] + fl.em[r]);
            for i in data.start[r]..data.start[r + 1] {
                let v = data.src[i];
                let u = data.m0[i] * st.q[i] * data.inv_x0[v];
                self.cu[i] = c * u;
                self.d[v] += es * u;
                self.diag[v] += c * u * st.s[i];
            }
        }
        for v in 0..data.n {
            if fl.x0[v] > 0.0 {
                let supply = fl.ex[v] * st.pex[v];
                // d ln s / d ln p = p / (p - k) with input costs (pex is 0 where s <= 0).
                self.d[v] += data.costs.map_or(supply, |c| supply * c.elasticity_of_value_added(v, st.p[v]));
                self.diag[v] -= self.d[v];
            } else {
                self.d[v] = -1.0;
                self.diag[v] = 1.0;
            }
        }
    }
}

/// `out = J x`, in `O(nnz)`.
fn apply(data: &Data<'_>, jac: &Jacobian, s: &[f64], x: &[f64], out: &mut [f64]) {
    for ((o, d), x) in out.iter_mut().zip(&jac.d).zip(x) {
        *o = -d * x;
    }
    for r in 0..data.n {
        let cols = data.start[r]..data.start[r + 1];
        let mut zr = 0.0;
        for (&v, s) in data.src[cols.clone()].iter().zip(&s[cols.clone()]) {
            zr += s * x[v];
        }
        for (&v, cu) in data.src[cols.clone()].iter().zip(&jac.cu[cols]) {
            out[v] += cu * zr;
        }
    }
}

/// Work buffers of the Newton iteration.
struct Newton {
    gmres: Gmres,
    jac: Jacobian,
    trial: State,
    step: Vec<f64>,
    rhs: Vec<f64>,
    pw: Vec<f64>,
}

impl Newton {
    fn new(data: &Data<'_>) -> Self {
        let (n, nnz) = (data.n, data.nnz());
        Self {
            gmres: Gmres::new(n, GMRES_RESTART),
            jac: Jacobian::new(n, nnz),
            trial: State::new(n, nnz),
            step: vec![0.0; n],
            rhs: vec![0.0; n],
            pw: vec![0.0; data.one_m_groups.len() * n],
        }
    }

    /// Damped Newton from `cur` (already evaluated) until `max_res < tolerance`,
    /// within `budget` more iterations; `used` counts iterations across runs.
    fn run(
        &mut self,
        data: &Data<'_>,
        cur: &mut State,
        tolerance: f64,
        budget: u32,
        used: &mut u32,
    ) -> Result<(), ModelError> {
        let mut spent = 0;
        while cur.max_res >= tolerance {
            if spent >= budget {
                return Err(ModelError::NotConverged { iterations: *used, residual: cur.max_res });
            }
            spent += 1;
            *used += 1;
            self.jac.update(data, cur);
            for (b, f) in self.rhs.iter_mut().zip(&cur.f) {
                *b = -f;
            }
            let Self { gmres, jac, step, rhs, .. } = self;
            let report = gmres.solve(
                |x, out| apply(data, jac, &cur.s, x, out),
                &jac.diag,
                rhs,
                step,
                (FORCING * cur.max_res).clamp(GMRES_RTOL, GMRES_LOOSEST),
                GMRES_MAX_STEPS,
            );
            // No reduction at all of the linear residual: no descent direction.
            if report.relative_residual.is_nan() || report.relative_residual >= 1.0 {
                return Err(ModelError::NotConverged { iterations: *used, residual: cur.max_res });
            }
            let trial = &mut self.trial;
            let mut lambda = 1.0;
            let mut accepted = false;
            for _ in 0..MAX_HALVINGS {
                for ((yt, y), s) in trial.y.iter_mut().zip(&cur.y).zip(&self.step) {
                    *yt = y + lambda * s;
                }
                data.eval(trial, &mut self.pw);
                if trial.max_res < tolerance || trial.merit <= (1.0 - 2.0 * ARMIJO * lambda) * cur.merit {
                    accepted = true;
                    break;
                }
                lambda *= 0.5;
            }
            if !accepted {
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

/// Solves the integrated exact model over `flows` with new tariff factors
/// `t1` (per index entry: the market's, or shocked by exchange rates).
pub(crate) fn solve(flows: &Flows<'_>, t1: &[f64], options: &SolveOptions) -> Result<FlowResult, ModelError> {
    solve_costs(flows, t1, options, None)
}

/// [`solve`] with the exporters' supply following their value-added price
/// (docs/model.md, "Supply chains"); `None` is [`solve`].
pub(crate) fn solve_costs(
    flows: &Flows<'_>,
    t1: &[f64],
    options: &SolveOptions,
    costs: Option<&InputCosts>,
) -> Result<FlowResult, ModelError> {
    // Half the budget for the direct attempt leaves room for the fallback.
    solve_with_budget(flows, t1, options, options.max_iterations.div_ceil(2), costs)
}

/// [`solve`] with `direct` iterations for Newton from the base point.
fn solve_with_budget(
    flows: &Flows<'_>,
    t1: &[f64],
    options: &SolveOptions,
    direct: u32,
    costs: Option<&InputCosts>,
) -> Result<FlowResult, ModelError> {
    let mut data = Data::new(flows, t1, costs);
    let (n, nnz) = (flows.n, data.nnz());
    let mut newton = Newton::new(&data);
    let mut cur = State::new(n, nnz);
    data.eval(&mut cur, &mut newton.pw);
    if !cur.max_res.is_finite() {
        return Err(ModelError::NonFiniteResult { solver: Solver::Exact });
    }
    let tolerance = options.tolerance;
    let mut used = 0;
    let first_error = match newton.run(&data, &mut cur, tolerance, direct, &mut used) {
        Ok(()) => return Ok(outcome(&data, &cur, used)),
        Err(e @ (ModelError::NotConverged { .. } | ModelError::Singular { .. })) => e,
        Err(e) => return Err(e),
    };

    // Continuation in the shock, as the dense solver.
    let (lntau_full, inv_tau_full) = (data.lntau.clone(), data.inv_tau.clone());
    cur.reset();
    for stage in 1..=CONTINUATION_STAGES {
        let last = stage == CONTINUATION_STAGES;
        if last {
            data.lntau.copy_from_slice(&lntau_full);
            data.inv_tau.copy_from_slice(&inv_tau_full);
        } else {
            let h = f64::from(stage) / f64::from(CONTINUATION_STAGES);
            for ((l, t), full) in data.lntau.iter_mut().zip(data.inv_tau.iter_mut()).zip(&lntau_full) {
                *l = h * full;
                *t = (-*l).exp();
            }
        }
        data.refresh_powers();
        data.eval(&mut cur, &mut newton.pw);
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
    Ok(outcome(&data, &cur, used))
}

/// Per index entry (every listed flow, trading or not) and per economy.
fn outcome(data: &Data<'_>, st: &State, iterations: u32) -> FlowResult {
    let fl = data.flows;
    let n = fl.n;
    let len = fl.len();
    let mut new_values = vec![0.0; len];
    let mut volume = vec![1.0; len];
    let mut fob_price = vec![1.0; len];
    // Trading entries are the index's entries with M0 > 0, in the same order.
    let mut next = 0;
    for e in 0..len {
        let v = fl.exporter[e];
        let q = if fl.m0[e] > 0.0 {
            next += 1;
            st.q[next - 1]
        } else {
            1.0
        };
        new_values[e] = fl.m0[e] * q * st.p[v];
        volume[e] = q;
        fob_price[e] = st.p[v];
    }
    let changes = (0..n)
        .map(|e| Changes {
            world_price: st.y[e].exp_m1(),
            consumer_price: st.ln_pc[e].exp_m1(),
            consumer_surplus: exact_consumer_surplus(fl.r0[e], fl.em[e], st.ln_pc[e]),
            producer_surplus: match data.costs {
                None => exact_producer_surplus(fl.x0[e], fl.ex[e], st.y[e]),
                Some(c) => c.producer_surplus(e, fl.x0[e], fl.ex[e], st.p[e]),
            },
        })
        .collect();
    FlowResult {
        world_price: st.p.clone(),
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
    use crate::sparse::{SparseFlow, SparseMarket};

    fn market(es: f64, spread: f64) -> SparseMarket {
        let n = 4;
        let values =
            [10.0, 50.0, 0.0, 300.0, 500.0, 7.0, 150.0, 200.0, 300.0, 100.0, 200.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let flows = (0..n * n)
            .filter(|&i| values[i] > 0.0 || i % 5 == 0)
            .map(|i| SparseFlow {
                exporter: (i / n) as u32,
                importer: (i % n) as u32,
                base_value: values[i],
                base_tariff: 1.1,
                new_tariff: 1.0 + spread * i as f64,
            })
            .collect();
        SparseMarket {
            n,
            flows,
            import_demand: vec![-1.25, -0.5, -2.0, -1.0],
            substitution: vec![es, es, es * 1.5, es],
            supply: vec![1.5, 99.0, 0.7, 2.0],
        }
    }

    /// `J x` matches central differences of the residual, in each of the
    /// composite-price paths (Cobb-Douglas, near base, far from base), and
    /// with input costs (supply at the value-added price).
    #[test]
    fn jacobian_product_matches_finite_differences() {
        let costs = InputCosts::new(vec![0.4, 0.0, 0.6, 0.2], vec![0.45, 0.0, 0.5, 0.3]).unwrap();
        let cases =
            [(1.0, 0.3, 0.05), (1.004, 0.3, 0.05), (5.0, 0.01, 0.002), (5.0, 0.4, 0.05), (0.3, 2.0, 0.05)];
        for ((es, y_scale, spread), costs) in cases.into_iter().flat_map(|c| [(c, None), (c, Some(&costs))]) {
            let m = market(es, spread);
            let flows = crate::sparse::flows::prepare(&m, &SolveOptions::default()).unwrap();
            let data = Data::new(&flows, &flows.t1, costs);
            let n = flows.n;
            let mut pw = vec![0.0; data.one_m_groups.len() * n];
            let mut st = State::new(n, data.nnz());
            let y = [0.5 * y_scale, -y_scale, 0.3 * y_scale, 0.0];
            st.y.copy_from_slice(&y);
            data.eval(&mut st, &mut pw);
            let mut jac = Jacobian::new(n, data.nnz());
            jac.update(&data, &st);
            let (mut plus, mut minus) = (st.clone(), st.clone());
            let h = 1e-6;
            for k in 0..n {
                let mut e = vec![0.0; n];
                e[k] = 1.0;
                let mut col = vec![0.0; n];
                apply(&data, &jac, &st.s, &e, &mut col);
                // The preconditioner is J's diagonal.
                assert!((jac.diag[k] - col[k]).abs() <= 1e-14 * col[k].abs(), "es {es}: diagonal {k}");
                if k == 3 {
                    // Economy 3 supplies nothing: an identity row and column.
                    assert_eq!(col, [0.0, 0.0, 0.0, 1.0]);
                    continue;
                }
                plus.y.copy_from_slice(&y);
                minus.y.copy_from_slice(&y);
                plus.y[k] += h;
                minus.y[k] -= h;
                data.eval(&mut plus, &mut pw);
                data.eval(&mut minus, &mut pw);
                for (v, an) in col.iter().enumerate().take(3) {
                    let fd = (plus.f[v] - minus.f[v]) / (2.0 * h);
                    assert!(
                        (fd - an).abs() <= 1e-6 * (1.0 + an.abs()),
                        "es {es}: d f{v} / d y{k}: analytic {an}, numeric {fd}"
                    );
                }
            }
        }
    }

    /// The continuation in the shock, which takes over when Newton from the
    /// base point fails: forced here by a direct budget of one iteration (no
    /// market was found on which damped Newton from the base fails, with
    /// shocks up to a factor 1e6 and elasticities from 1e-3 to 100). It
    /// reaches the same solution as Newton from the base.
    #[test]
    fn continuation_reaches_the_direct_solution() {
        for (es, spread) in [(5.0, 0.5), (1.0, 2.0), (0.3, 10.0), (1.004, 0.3)] {
            let m = market(es, spread);
            let options = SolveOptions::default();
            let flows = crate::sparse::flows::prepare(&m, &options).unwrap();
            let direct = solve(&flows, &flows.t1, &options).unwrap();
            let continued = solve_with_budget(&flows, &flows.t1, &options, 1, None).unwrap();
            assert!(continued.diagnostics.iterations > CONTINUATION_STAGES, "{:?}", continued.diagnostics);
            assert!(continued.diagnostics.residual < options.tolerance);
            for (a, b) in continued.world_price.iter().zip(&direct.world_price) {
                assert!((a - b).abs() <= 1e-10 * b, "es {es}: {a} vs {b}");
            }
            // Too small a budget for the stages: an error, not a wrong number.
            let few = SolveOptions { max_iterations: 4, ..options.clone() };
            assert!(matches!(
                solve_with_budget(&flows, &flows.t1, &few, 1, None),
                Err(ModelError::NotConverged { .. })
            ));
        }
    }
}
