//! Goal-seek and optimisation run on the scenario: each run writes the
//! levers into a variant, solves it and reads the figures; the answer is the
//! scenario at the values found, with the search's outcome.

use std::ops::ControlFlow;

use tariff_proto::v1 as pb;

use super::{
    AnalysisError, EVALUATIONS_STAGE,
    figure::FigureAt,
    lever::PreparedLever,
    optimize::{self, Axis, Limit},
    plan::{AnalysisPlan, OptimizePlan, SeekGoal, SeekPlan},
    seek,
};
use crate::{EvaluateError, EvaluateOptions, PreparedScenario, Progress};

impl PreparedScenario<'_> {
    /// The result of the scenario with the levers at `values`, in the view asked for.
    fn result_at(
        &self,
        plan: &AnalysisPlan,
        levers: &[&PreparedLever],
        values: &[f64],
        options: &EvaluateOptions,
    ) -> Result<pb::ScenarioResult, EvaluateError> {
        let mut variant = plan.base.clone();
        for (l, v) in levers.iter().zip(values) {
            l.apply(&mut variant, *v);
        }
        let prepared = PreparedScenario::with_limits(self.dataset, &variant, &plan.limits)
            .map_err(|v| AnalysisError::Invalid(v).in_run("the answer".into()))?;
        let mut result = prepared.point_estimate_with(options, &mut |_| ControlFlow::Continue(()))?;
        result.scenario_id = self.id.clone();
        result.scenario_name = self.name.clone();
        Ok(result)
    }

    pub(super) fn seek(
        &self,
        plan: &AnalysisPlan,
        s: &SeekPlan,
        options: &EvaluateOptions,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<pb::ScenarioResult, EvaluateError> {
        let runs = self.runs(plan);
        let dataset = self.dataset;
        let read = |f: &FigureAt, r: &pb::ScenarioResult, run: &str| {
            f.value(dataset, r).ok_or_else(|| EvaluateError::Analysis {
                run: run.to_owned(),
                reason: format!("the result has no {}", f.label),
            })
        };
        let fixed_goal = match &s.goal {
            SeekGoal::Value(v) => Some(*v),
            SeekGoal::Economy(_) => None,
            SeekGoal::Scenario(other) => {
                let r = runs.result(other).map_err(|e| e.in_run("the goal's scenario".into()))?;
                Some(read(&s.target, &r, "the goal's scenario")?)
            }
        };
        // Each run: the lever value, the figure and the goal.
        let mut made: Vec<(f64, f64, f64)> = Vec::new();
        let mut gap = |x: f64| -> Result<f64, EvaluateError> {
            let n = u32::try_from(made.len() + 1).unwrap_or(u32::MAX);
            let mut variant = runs.base.clone();
            s.lever.apply(&mut variant, x);
            let run = format!("run {n} ({} = {x})", s.lever.label);
            let r = runs.result(&variant).map_err(|e| e.in_run(run.clone()))?;
            let figure = read(&s.target, &r, &run)?;
            let goal = match (&s.goal, fixed_goal) {
                (SeekGoal::Economy(f), _) => read(f, &r, &run)?,
                (_, Some(g)) => g,
                (_, None) => f64::NAN,
            };
            made.push((x, figure, goal));
            let stage = EVALUATIONS_STAGE.to_owned();
            if progress(&Progress { done: n, total: s.max_evaluations, stage }).is_break() {
                return Err(EvaluateError::Cancelled);
            }
            Ok(figure - goal)
        };
        let found = seek::seek(s.lever.low, s.lever.high, s.tolerance, s.max_evaluations, &mut gap)?;
        let (status, x, message) = match found {
            seek::Found::Root { x, .. } => (pb::SearchStatus::Converged, x, String::new()),
            seek::Found::Unreachable { x, gap } => {
                let side = if gap > 0.0 { "above" } else { "below" };
                (
                    pb::SearchStatus::Unreachable,
                    x,
                    format!(
                        "no value of {} in [{}, {}] reaches the goal: {} stays {side} it (closest at {x}, {gap:+} off)",
                        s.lever.label, s.lever.low, s.lever.high, s.target.label
                    ),
                )
            }
            seek::Found::Jump { x, gap } => (
                pb::SearchStatus::Unreachable,
                x,
                format!(
                    "{} jumps across the goal at {} = {x} ({gap:+} off there): no value reaches it within the tolerance",
                    s.target.label, s.lever.label
                ),
            ),
            seek::Found::OutOfEvaluations { x, gap } => (
                pb::SearchStatus::MaxEvaluations,
                x,
                format!("{} runs used, {gap:+} off at {x}", s.max_evaluations),
            ),
        };
        // Every value the search reports is one it ran.
        let (figure, goal) =
            made.iter().rev().find(|(at, ..)| *at == x).map_or((f64::NAN, f64::NAN), |(_, f, g)| (*f, *g));
        let path: Vec<pb::SearchStep> = made
            .iter()
            .map(|(x, f, g)| pb::SearchStep { levers: vec![*x], value: f - g, violation: 0.0 })
            .collect();
        let evaluations = u32::try_from(path.len()).unwrap_or(u32::MAX);
        let mut result = self.result_at(plan, &[&s.lever], &[x], options)?;
        result.analysis = Some(pb::AnalysisResult {
            kind: Some(pb::analysis_result::Kind::Seek(pb::SeekResult {
                status: status.into(),
                message,
                lever: s.lever.label.clone(),
                lever_value: x,
                figure,
                goal,
                tolerance: s.tolerance,
                path,
            })),
            evaluations,
        });
        Ok(result)
    }

    pub(super) fn optimize(
        &self,
        plan: &AnalysisPlan,
        o: &OptimizePlan,
        options: &EvaluateOptions,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<pb::ScenarioResult, EvaluateError> {
        let runs = self.runs(plan);
        let dataset = self.dataset;
        let axes: Vec<Axis> = o
            .levers
            .iter()
            .map(|l| Axis {
                low: l.low,
                high: l.high,
                step: l.step,
                start: l.current(&plan.base).unwrap_or(0.5 * (l.low + l.high)),
            })
            .collect();
        let limits: Vec<Limit> = o.constraints.iter().map(|(_, l)| *l).collect();
        let sign = if o.maximize { -1.0 } else { 1.0 };
        let mut done = 0u32;
        let mut run = |x: &[f64]| -> Result<(f64, Vec<f64>), EvaluateError> {
            done += 1;
            let mut variant = runs.base.clone();
            for (l, v) in o.levers.iter().zip(x) {
                l.apply(&mut variant, *v);
            }
            let name = format!("run {done}");
            let r = runs.result(&variant).map_err(|e| e.in_run(name.clone()))?;
            let read = |f: &FigureAt| {
                f.value(dataset, &r).ok_or_else(|| EvaluateError::Analysis {
                    run: name.clone(),
                    reason: format!("the result has no {}", f.label),
                })
            };
            let mut objective = 0.0;
            for (f, w) in &o.objective {
                objective += w * read(f)?;
            }
            let figures = o.constraints.iter().map(|(f, _)| read(f)).collect::<Result<Vec<f64>, _>>()?;
            let stage = EVALUATIONS_STAGE.to_owned();
            if progress(&Progress { done, total: o.max_evaluations, stage }).is_break() {
                return Err(EvaluateError::Cancelled);
            }
            Ok((sign * objective, figures))
        };
        let optimum = optimize::minimize(&axes, &limits, o.max_evaluations, &mut run)?;
        let best = &optimum.best;
        let status = if !optimum.feasible {
            pb::SearchStatus::Infeasible
        } else if optimum.converged {
            pb::SearchStatus::Converged
        } else {
            pb::SearchStatus::MaxEvaluations
        };
        let message = match status {
            pb::SearchStatus::Infeasible => {
                format!("no run met every constraint (the closest is {:.3e} off, relative)", best.violation)
            }
            pb::SearchStatus::MaxEvaluations => {
                format!("stopped after {} runs before COBYLA converged", optimum.path.len())
            }
            _ => String::new(),
        };
        let levers: Vec<&PreparedLever> = o.levers.iter().collect();
        let mut result = self.result_at(plan, &levers, &best.x, options)?;
        let at_bound = o
            .levers
            .iter()
            .zip(&best.x)
            .map(|(l, x)| {
                (x - l.low).abs() <= 1e-9 * (l.high - l.low) || (l.high - x).abs() <= 1e-9 * (l.high - l.low)
            })
            .collect();
        let constraints = o
            .constraints
            .iter()
            .zip(&best.figures)
            .map(|((f, l), v)| pb::ConstraintAtOptimum {
                figure: f.label.clone(),
                value: *v,
                min: l.min,
                max: l.max,
                binding: l.binding(*v),
            })
            .collect();
        let stepped = o.levers.iter().filter(|l| l.step > 0.0).count();
        let method = if stepped > 0 {
            format!(
                "COBYLA (cobyla crate 1.0), then the best feasible of the 2^{} steps around its optimum",
                stepped.min(optimize::MAX_STEPPED)
            )
        } else {
            "COBYLA (cobyla crate 1.0)".to_owned()
        };
        let path = optimum
            .path
            .iter()
            .map(|p| pb::SearchStep {
                levers: p.x.clone(),
                value: sign * p.objective,
                violation: p.violation,
            })
            .collect();
        result.analysis = Some(pb::AnalysisResult {
            kind: Some(pb::analysis_result::Kind::Optimization(pb::OptimizationResult {
                status: status.into(),
                message,
                levers: o.levers.iter().map(|l| l.label.clone()).collect(),
                lever_values: best.x.clone(),
                at_bound,
                objective: sign * best.objective,
                constraints,
                method,
                path,
            })),
            evaluations: u32::try_from(optimum.path.len()).unwrap_or(u32::MAX),
        });
        Ok(result)
    }
}
