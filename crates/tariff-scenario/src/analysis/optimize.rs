//! Optimisation: levers within bounds, a weighted sum of figures to maximise
//! or minimise, bounds on other figures.
//!
//! The method is COBYLA (Powell 1994: linear models of the objective and each
//! constraint on a simplex, in a shrinking trust region), from the `cobyla`
//! crate: derivative-free, as the figures come from a nonlinear solve with no
//! gradient at hand; it treats each constraint on its own rather than through a
//! penalty; and it is SciPy's `minimize(method="COBYLA")`, so results can be
//! checked there. The levers move in the unit cube of their bounds, so that a
//! rate in percent and an elasticity get steps of the same relative size.
//! Levers with steps (whole percent) take the continuous optimum's
//! neighbouring steps: every combination of the step below and above for each
//! (at most 2^10), and the best feasible one wins.

use std::cell::RefCell;

use cobyla::{RhoBeg, StopTols, SuccessStatus};

/// The trust region's first radius, in the unit cube.
const RHO_BEGIN: f64 = 0.1;
/// The levers' precision, in the unit cube: 1e-7 of a range of 100 points is
/// 1e-5 points.
const X_TOLERANCE: f64 = 1e-7;
/// A constraint holds when violated by at most this, relative to the larger of
/// 1 and its bound; it binds when its figure is this close to the bound.
pub(crate) const CONSTRAINT_TOLERANCE: f64 = 1e-6;
pub(crate) const BINDING_TOLERANCE: f64 = 1e-4;
/// Stepped levers whose neighbouring steps are all tried.
pub(crate) const MAX_STEPPED: usize = 10;

/// One lever's space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Axis {
    pub(crate) low: f64,
    pub(crate) high: f64,
    /// 0 for continuous.
    pub(crate) step: f64,
    /// Where to start.
    pub(crate) start: f64,
}

/// A bound on a figure; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Limit {
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
}

impl Limit {
    /// How far `value` is outside, relative to the bound's size (0 inside).
    pub(crate) fn violation(&self, value: f64) -> f64 {
        let scale = |b: f64| b.abs().max(1.0);
        let below = self.min.map_or(0.0, |m| (m - value).max(0.0) / scale(m));
        let above = self.max.map_or(0.0, |m| (value - m).max(0.0) / scale(m));
        if value.is_nan() { f64::INFINITY } else { below.max(above) }
    }

    pub(crate) fn binding(&self, value: f64) -> bool {
        let near = |b: f64| (value - b).abs() <= BINDING_TOLERANCE * b.abs().max(1.0);
        self.min.is_some_and(near) || self.max.is_some_and(near)
    }
}

/// One run: the objective (to minimise) and each constrained figure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub(crate) x: Vec<f64>,
    pub(crate) objective: f64,
    pub(crate) figures: Vec<f64>,
    pub(crate) violation: f64,
}

/// How the optimisation ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Optimum {
    pub(crate) best: Point,
    pub(crate) converged: bool,
    pub(crate) feasible: bool,
    /// Every run, in order.
    pub(crate) path: Vec<Point>,
}

/// One run at lever values: the objective (to minimise) and each constrained figure.
pub(crate) type Run<'a, E> = dyn FnMut(&[f64]) -> Result<(f64, Vec<f64>), E> + 'a;

/// A COBYLA constraint: feasible at >= 0.
type Constraint<'a> = Box<dyn Fn(&[f64], &mut ()) -> f64 + 'a>;

struct State<'a, E> {
    run: &'a mut Run<'a, E>,
    limits: &'a [Limit],
    path: Vec<Point>,
    error: Option<E>,
}

impl<E> State<'_, E> {
    /// The run at `x`, made once: COBYLA asks for the objective and every
    /// constraint at the same point one after the other.
    fn at(&mut self, x: &[f64]) -> Option<&Point> {
        if self.path.last().is_none_or(|p| p.x != x) {
            if self.error.is_some() {
                return self.path.last();
            }
            match (self.run)(x) {
                Ok((objective, figures)) => {
                    let violation =
                        self.limits.iter().zip(&figures).map(|(l, v)| l.violation(*v)).fold(0.0, f64::max);
                    self.path.push(Point { x: x.to_vec(), objective, figures, violation });
                }
                Err(e) => {
                    self.error = Some(e);
                    return self.path.last();
                }
            }
        }
        self.path.last()
    }
}

/// Minimises the objective `run` gives, subject to `limits` on its figures,
/// over `axes`, with at most `max_runs` runs. An error of `run` stops the
/// search (COBYLA then sees the last value again until it gives up).
pub(crate) fn minimize<E>(
    axes: &[Axis],
    limits: &[Limit],
    max_runs: u32,
    run: &mut Run<'_, E>,
) -> Result<Optimum, E> {
    let to_x = |u: &[f64]| -> Vec<f64> {
        axes.iter()
            .zip(u)
            .map(|(a, u)| (a.low + u.clamp(0.0, 1.0) * (a.high - a.low)).clamp(a.low, a.high))
            .collect()
    };
    let state = RefCell::new(State { run, limits, path: Vec::new(), error: None });
    let u0: Vec<f64> = axes.iter().map(|a| ((a.start - a.low) / (a.high - a.low)).clamp(0.0, 1.0)).collect();
    let bounds = vec![(0.0, 1.0); axes.len()];
    let objective =
        |u: &[f64], _: &mut ()| state.borrow_mut().at(&to_x(u)).map_or(f64::INFINITY, |p| p.objective);
    // COBYLA's constraints are feasible at >= 0: one per open end of a bound,
    // scaled as `Limit::violation` scales.
    let mut constraints: Vec<Constraint<'_>> = Vec::new();
    for (i, l) in limits.iter().enumerate() {
        let state = &state;
        let to_x = &to_x;
        let figure = move |u: &[f64]| state.borrow_mut().at(&to_x(u)).and_then(|p| p.figures.get(i).copied());
        if let Some(min) = l.min {
            constraints
                .push(Box::new(move |u, _| figure(u).map_or(-1.0, |v| (v - min) / min.abs().max(1.0))));
        }
        if let Some(max) = l.max {
            constraints
                .push(Box::new(move |u, _| figure(u).map_or(-1.0, |v| (max - v) / max.abs().max(1.0))));
        }
    }
    let stop = StopTols { xtol_abs: vec![X_TOLERANCE; axes.len()], ..StopTols::default() };
    let outcome = cobyla::minimize(
        objective,
        &u0,
        &bounds,
        &constraints,
        (),
        max_runs.max(axes.len() as u32 + 2) as usize,
        RhoBeg::All(RHO_BEGIN),
        Some(stop),
    );
    drop(constraints);
    let converged = matches!(
        outcome,
        Ok((SuccessStatus::XtolReached | SuccessStatus::FtolReached | SuccessStatus::Success, ..))
    );
    let u_best = match outcome {
        Ok((_, u, _)) | Err((_, u, _)) => u,
    };
    let mut state = state.into_inner();
    if let Some(e) = state.error.take() {
        return Err(e);
    }
    // COBYLA's answer, or the best feasible run if it ended elsewhere.
    let x_best = to_x(&u_best);
    let mut best = state.at(&x_best).cloned();
    if let Some(e) = state.error.take() {
        return Err(e);
    }
    let better = |a: &Point, b: &Point| {
        let feasible = |p: &Point| p.violation <= CONSTRAINT_TOLERANCE;
        match (feasible(a), feasible(b)) {
            (true, false) => true,
            (false, true) => false,
            (true, true) => a.objective < b.objective,
            (false, false) => a.violation < b.violation,
        }
    };
    for p in &state.path {
        if best.as_ref().is_none_or(|b| better(p, b)) {
            best = Some(p.clone());
        }
    }
    let Some(mut best) = best else {
        return Ok(Optimum {
            best: Point { x: x_best, objective: f64::NAN, figures: Vec::new(), violation: f64::INFINITY },
            converged: false,
            feasible: false,
            path: state.path,
        });
    };
    // Steps: the corners of the step cell around the continuous optimum.
    let stepped: Vec<usize> = (0..axes.len()).filter(|&i| axes[i].step > 0.0).take(MAX_STEPPED).collect();
    if !stepped.is_empty() {
        let continuous = best.x.clone();
        let mut chosen: Option<Point> = None;
        for corner in 0..1u32 << stepped.len() {
            let mut x = continuous.clone();
            for (bit, &i) in stepped.iter().enumerate() {
                let a = axes[i];
                let k = ((x[i] - a.low) / a.step).floor();
                let k = if corner & (1 << bit) != 0 { k + 1.0 } else { k };
                x[i] = (a.low + k * a.step).clamp(a.low, a.high);
            }
            let Some(p) = state.at(&x).cloned() else { break };
            if state.error.is_some() {
                break;
            }
            if chosen.as_ref().is_none_or(|c| better(&p, c)) {
                chosen = Some(p);
            }
        }
        if let Some(e) = state.error.take() {
            return Err(e);
        }
        if let Some(c) = chosen {
            best = c;
        }
    }
    let feasible = best.violation <= CONSTRAINT_TOLERANCE;
    Ok(Optimum { best, converged, feasible, path: state.path })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(low: f64, high: f64, start: f64) -> Axis {
        Axis { low, high, step: 0.0, start }
    }

    #[test]
    fn finds_the_minimum_of_a_bowl() {
        let mut run = |x: &[f64]| Ok::<_, ()>(((x[0] - 3.0).powi(2) + (x[1] + 1.0).powi(2), vec![]));
        let o = minimize(&[axis(0.0, 10.0, 5.0), axis(-5.0, 5.0, 0.0)], &[], 500, &mut run)
            .unwrap_or_else(|_| unreachable!());
        assert!((o.best.x[0] - 3.0).abs() < 1e-5 && (o.best.x[1] + 1.0).abs() < 1e-5, "{:?}", o.best.x);
        assert!(o.converged && o.feasible);
    }

    #[test]
    fn a_binding_constraint_holds_at_the_optimum() {
        // Minimise (x-3)^2 with x itself at most 2: the optimum is on the bound.
        let mut run = |x: &[f64]| Ok::<_, ()>(((x[0] - 3.0).powi(2), vec![x[0]]));
        let limit = Limit { min: None, max: Some(2.0) };
        let o = minimize(&[axis(0.0, 10.0, 1.0)], &[limit], 500, &mut run).unwrap_or_else(|_| unreachable!());
        assert!((o.best.x[0] - 2.0).abs() < 1e-5, "{:?}", o.best.x);
        assert!(o.feasible && limit.binding(o.best.figures[0]));
    }

    #[test]
    fn stepped_levers_land_on_a_step() {
        let mut run = |x: &[f64]| Ok::<_, ()>(((x[0] - 3.3).powi(2), vec![]));
        let a = Axis { low: 0.0, high: 10.0, step: 1.0, start: 5.0 };
        let o = minimize(&[a], &[], 500, &mut run).unwrap_or_else(|_| unreachable!());
        assert_eq!(o.best.x, vec![3.0]);
    }
}
