//! What a worker does with one job: the scenario on its built-in dataset.

use std::ops::ControlFlow;

use tariff_jobs::{JobRunner, RunFailure};
use tariff_proto::v1::{JobError, Progress, Scenario, ScenarioResult};
use tariff_scenario::{EvaluateError, ScenarioLimits, prepare_builtin_with};

/// Runs scenarios with the model, in process, within its limits.
#[derive(Debug, Clone, Default)]
pub struct ScenarioRunner {
    pub limits: ScenarioLimits,
}

impl JobRunner for ScenarioRunner {
    fn run(
        &self,
        scenario: &Scenario,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        // The gateway validated already; a job from elsewhere is checked again.
        let prepared = tracing::debug_span!("prepare")
            .in_scope(|| prepare_builtin_with(scenario, &self.limits))
            .map_err(|violations| {
                let first = violations.0.first().cloned().unwrap_or_else(|| {
                    tariff_scenario::FieldViolation { field: String::new(), reason: violations.to_string() }
                });
                RunFailure::Failed(JobError {
                    code: "INVALID_ARGUMENT".into(),
                    message: first.reason,
                    field: format!("scenario.{}", first.field),
                })
            })?;
        // With uncertainty, the draws run on every CPU and report progress in
        // draws (stage `draws`) about every 200 ms; a cancel stops them between draws.
        prepared
            .evaluate(&mut |p| progress(Progress { done: p.done, total: p.total, stage: p.stage.clone() }))
            .map_err(|e| match e {
                EvaluateError::Cancelled => RunFailure::Cancelled,
                // A market the model cannot solve, at the point estimate or in a
                // draw; the other errors come only from chunked runs, not from here.
                failed @ (EvaluateError::Model { .. }
                | EvaluateError::Perturbed { .. }
                | EvaluateError::DrawRange { .. }
                | EvaluateError::Merge(_)) => RunFailure::Failed(JobError {
                    code: "MODEL_ERROR".into(),
                    message: failed.to_string(),
                    field: String::new(),
                }),
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::time::{Duration, Instant};

    use tariff_proto::v1::{Authority, Measure, Uncertainty, measure::Mode};

    use super::*;

    fn with_draws(draws: u32) -> Scenario {
        Scenario {
            measures: vec![Measure {
                authority: Authority::Section232.into(),
                importer: "USA".into(),
                exporters: vec!["*".into()],
                sectors: vec!["CARS".into()],
                mode: Mode::Add.into(),
                rate_pct: 25.0,
                ..Default::default()
            }],
            uncertainty: Some(Uncertainty { draws, seed: 1, ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn uncertainty_jobs_report_draws_and_give_bands() {
        let mut stages = Vec::new();
        let result = ScenarioRunner::default()
            .run(&with_draws(40), &mut |p| {
                stages.push((p.stage, p.done, p.total));
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(result.impacts[0].bands.len(), result.impacts[0].economies.len());
        assert_eq!(stages.last().unwrap(), &("draws".to_owned(), 40, 40));
    }

    #[test]
    fn a_cancelled_uncertainty_job_stops_within_a_second() {
        let started = Instant::now();
        let mut cancel_at = None;
        let outcome = ScenarioRunner::default().run(&with_draws(100_000), &mut |p| {
            // Cancel once the draws are under way.
            if p.stage == "draws" && p.done > 0 {
                cancel_at.get_or_insert_with(Instant::now);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        assert_eq!(outcome, Err(RunFailure::Cancelled));
        let stopped = cancel_at.unwrap().elapsed();
        assert!(stopped < Duration::from_secs(1), "stopped {stopped:?} after the cancel");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn too_many_draws_are_refused_with_the_field() {
        let runner = ScenarioRunner { limits: ScenarioLimits { max_draws: 10, ..ScenarioLimits::default() } };
        let outcome = runner.run(&with_draws(11), &mut |_| ControlFlow::Continue(()));
        let Err(RunFailure::Failed(error)) = outcome else { panic!("{outcome:?}") };
        assert_eq!(
            (error.code.as_str(), error.field.as_str()),
            ("INVALID_ARGUMENT", "scenario.uncertainty.draws")
        );
    }
}
