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
        prepared
            .evaluate(&mut |p| progress(Progress { done: p.done, total: p.total, stage: p.stage.clone() }))
            .map_err(|e| match e {
                EvaluateError::Cancelled => RunFailure::Cancelled,
                model @ EvaluateError::Model { .. } => RunFailure::Failed(JobError {
                    code: "MODEL_ERROR".into(),
                    message: model.to_string(),
                    field: String::new(),
                }),
            })
    }
}
