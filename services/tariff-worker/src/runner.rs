//! What a worker does with one job: the scenario on its built-in dataset.

use std::ops::ControlFlow;

use prost::Message;
use tariff_jobs::{JobRunner, RunFailure};
use tariff_proto::v1::{ChunkTask, DrawSamples, JobError, Progress, Scenario, ScenarioResult};
use tariff_scenario::{
    EvaluateError, EvaluateOptions, PreparedScenario, ScenarioLimits, chunk_draws, merge_draws,
    prepare_builtin_with,
};

/// Runs scenarios with the model, in process, within its limits.
#[derive(Debug, Clone, Default)]
pub struct ScenarioRunner {
    pub limits: ScenarioLimits,
}

impl ScenarioRunner {
    /// The scenario validated against the built-in dataset and the limits.
    fn prepare(&self, scenario: &Scenario) -> Result<PreparedScenario<'static>, RunFailure> {
        // The gateway validated already; a job from elsewhere is checked again.
        tracing::debug_span!("prepare").in_scope(|| prepare_builtin_with(scenario, &self.limits)).map_err(
            |violations| {
                let first = violations.0.first().cloned().unwrap_or_else(|| {
                    tariff_scenario::FieldViolation { field: String::new(), reason: violations.to_string() }
                });
                RunFailure::Failed(JobError {
                    code: "INVALID_ARGUMENT".into(),
                    message: first.reason,
                    field: format!("scenario.{}", first.field),
                })
            },
        )
    }
}

fn forward(
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> impl FnMut(&tariff_scenario::Progress) -> ControlFlow<()> + '_ {
    |p| progress(Progress { done: p.done, total: p.total, stage: p.stage.clone() })
}

fn failure(e: EvaluateError) -> RunFailure {
    match e {
        EvaluateError::Cancelled => RunFailure::Cancelled,
        // A market the model cannot solve, at the point estimate or in a draw;
        // or chunks that do not fit together (a bug, not the caller's input).
        failed @ (EvaluateError::Model { .. }
        | EvaluateError::Perturbed { .. }
        | EvaluateError::DrawRange { .. }
        | EvaluateError::Merge(_)) => RunFailure::Failed(JobError {
            code: "MODEL_ERROR".into(),
            message: failed.to_string(),
            field: String::new(),
        }),
    }
}

impl JobRunner for ScenarioRunner {
    fn run(
        &self,
        scenario: &Scenario,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        // With uncertainty, the draws run on every CPU and report progress in
        // draws (stage `draws`) about every 200 ms; a cancel stops them between draws.
        self.prepare(scenario)?.evaluate(&mut forward(progress)).map_err(failure)
    }

    /// Uncertainty draws in chunks of the scenario's `chunk_draws`, which
    /// other workers may compute; none for a scenario without draws or one
    /// that does not validate (`run` reports why).
    fn chunks(&self, scenario: &Scenario) -> Vec<ChunkTask> {
        // Most jobs have no draws: no need to validate them twice to know.
        if scenario.uncertainty.as_ref().is_none_or(|u| u.draws <= chunk_draws(u)) {
            return Vec::new();
        }
        let Ok(prepared) = self.prepare(scenario) else { return Vec::new() };
        prepared
            .draw_chunks()
            .into_iter()
            .enumerate()
            .map(|(index, range)| ChunkTask {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                first_draw: range.start,
                draws: range.end - range.start,
            })
            .collect()
    }

    fn run_head(
        &self,
        scenario: &Scenario,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        self.prepare(scenario)?.point_estimate(&mut forward(progress)).map_err(failure)
    }

    fn run_chunk(
        &self,
        scenario: &Scenario,
        chunk: &ChunkTask,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<Vec<u8>, RunFailure> {
        let range = chunk.first_draw..chunk.first_draw.saturating_add(chunk.draws);
        let samples = self
            .prepare(scenario)?
            .draw_samples(range, &EvaluateOptions::default(), &mut forward(progress))
            .map_err(failure)?;
        Ok(samples.encode_to_vec())
    }

    fn merge(
        &self,
        _scenario: &Scenario,
        head: ScenarioResult,
        chunks: Vec<Vec<u8>>,
    ) -> Result<ScenarioResult, RunFailure> {
        let samples = chunks
            .iter()
            .map(|bytes| DrawSamples::decode(bytes.as_slice()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                RunFailure::Failed(JobError {
                    code: "INTERNAL".into(),
                    message: format!("a stored chunk does not decode: {e}"),
                    field: String::new(),
                })
            })?;
        merge_draws(head, samples).map_err(|e| failure(EvaluateError::Merge(e)))
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
