//! Analyses of a scenario beyond its impact (docs/model.md, "Contributions of
//! each measure" and "Search"), asked for by its `analysis`:
//!
//! - contributions ([`contributions`]): the Shapley value of each measure and
//!   agreement change to every headline figure of every economy and date;
//! - goal-seek ([`seek`]): the value of one lever at which a figure equals a
//!   goal, by Brent's method;
//! - optimisation ([`optimize`]): lever values maximising or minimising a
//!   weighted sum of figures under bounds on others, by COBYLA.
//!
//! [`plan`] checks what the scenario asks; each analysis then runs variants of
//! the scenario ([`runs`]) with levers ([`lever`]) written into it, and reads
//! figures ([`figure`]) from their results. The result is the scenario's own
//! impact (for a search: at the values found) with the answer in
//! `ScenarioResult.analysis`.
//!
//! Contributions are a list of units computed from their index alone
//! ([`units`]), which a job may split across workers:
//! [`PreparedScenario::analysis_chunks`], [`PreparedScenario::analysis_samples`]
//! and [`PreparedScenario::merge_analysis`], which [`PreparedScenario::evaluate`]
//! also uses, so the bytes are the same either way. Searches ([`search`], with
//! the methods in [`seek`] and [`optimize`]) are sequential (each run depends
//! on the last) and run in one piece.

mod contributions;
mod figure;
mod lever;
mod optimize;
mod plan;
mod runs;
mod search;
mod seek;
mod units;

use std::ops::ControlFlow;

use tariff_proto::v1 as pb;

pub use contributions::{DEFAULT_EXACT_UP_TO, DEFAULT_PERMUTATIONS, MAX_EXACT_PLAYERS, MAX_PLAYERS};
use plan::Question;
pub(crate) use plan::{AnalysisPlan, prepare};
use runs::Runs;

use crate::{EvaluateError, EvaluateOptions, PreparedScenario, Progress, Violations};

/// The progress stage of an analysis's runs.
pub const EVALUATIONS_STAGE: &str = tariff_proto::stage::EVALUATIONS;
/// Units of contributions per chunk when a job is split across workers.
pub const CHUNK_UNITS: u32 = 64;
/// Runs of a goal-seek unless the request says otherwise.
pub const DEFAULT_SEEK_EVALUATIONS: u32 = 100;
/// Runs of an optimisation unless the request says otherwise.
pub const DEFAULT_OPTIMIZE_EVALUATIONS: u32 = 500;
/// Levers of one optimisation at most.
pub const MAX_LEVERS: usize = 20;
/// Runs of a search, and permutations of sampled contributions, at most: a
/// request above is a typo, and would hold a worker for hours.
pub const MAX_EVALUATIONS: u32 = 100_000;
/// The headline figures contributions keep at most (every run's, for the
/// merge): 2^16 coalitions of 200 economies at 11 dates would be 14 GB, and
/// the exact merge's K * 2^K * figures steps hours. 64 Mi figures is 512 MiB.
pub const MAX_CONTRIBUTION_FIGURES: u64 = 64 << 20;

/// Why one run of an analysis failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AnalysisError {
    #[error(transparent)]
    Invalid(#[from] Violations),
    #[error(transparent)]
    Evaluate(#[from] EvaluateError),
}

impl AnalysisError {
    /// As the evaluation's error, naming the run.
    fn in_run(self, run: String) -> EvaluateError {
        match self {
            AnalysisError::Evaluate(EvaluateError::Cancelled) => EvaluateError::Cancelled,
            AnalysisError::Evaluate(e) => EvaluateError::Analysis { run, reason: e.to_string() },
            AnalysisError::Invalid(v) => EvaluateError::Analysis { run, reason: v.to_string() },
        }
    }
}

impl PreparedScenario<'_> {
    pub(super) fn runs(&self, plan: &AnalysisPlan) -> Runs<'_> {
        Runs {
            dataset: self.dataset,
            limits: plan.limits.clone(),
            base: plan.base.clone(),
            selection: plan.selection.clone(),
        }
    }

    /// Whether the scenario asks for an analysis.
    pub fn has_analysis(&self) -> bool {
        self.analysis.is_some()
    }

    /// The scenario's result with its analysis's answer, or `None` when it asks
    /// for none: [`PreparedScenario::evaluate_with`] calls it.
    pub(crate) fn evaluate_analysis(
        &self,
        options: &EvaluateOptions,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Option<Result<pb::ScenarioResult, EvaluateError>> {
        let plan = self.analysis.as_ref()?;
        Some(match &plan.question {
            Question::Contributions(c) => {
                self.analysis_samples(0..c.units(), options, progress).and_then(|samples| {
                    let head = self.point_estimate_with(options, &mut |_| ControlFlow::Continue(()))?;
                    self.merge_analysis(head, vec![samples])
                })
            }
            Question::Seek(s) => self.seek(plan, s, options, progress),
            Question::Optimize(o) => self.optimize(plan, o, options, progress),
        })
    }
}
