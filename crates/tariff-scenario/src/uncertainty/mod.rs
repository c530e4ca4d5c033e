//! Uncertainty over the elasticities: Monte Carlo bands of the headline
//! figures, and the tornado of what moves them.
//!
//! A scenario's `uncertainty` names draws, a seed, distributions and ranges.
//! Elasticities are drawn by group (one sector, one parameter): each draw gives
//! each group a factor on its value in use, drawn from the group's range, and
//! every economy's elasticity of the group is multiplied by it. A draw depends
//! on (seed, draw) alone.
//!
//! The work comes in three steps, which a job may spread over several workers:
//! 1. [`PreparedScenario::point_estimate`]: the result at the elasticities in
//!    use, with the tornado rows when asked for;
//! 2. [`PreparedScenario::draw_samples`]: the samples of a range of draws
//!    (any partition of `0..draws` into ranges: [`PreparedScenario::draw_chunks`]);
//! 3. [`merge_draws`]: the point estimate and every range's samples into the
//!    bands.
//!
//! [`PreparedScenario::evaluate`] does the three in one process, with the same
//! functions, so the bytes are the same either way.

mod bands;
mod draws;
mod headline;
mod perturbed;
mod plan;
pub(crate) mod sampling;
mod sensitivity;

use std::ops::{ControlFlow, Range};

use tariff_proto::v1 as pb;

pub use bands::{MergeError, merge_draws};
pub use draws::{DRAWS_STAGE, EvaluateOptions};
pub use headline::{FIGURES, band_of, figure_of, figure_of_impact, figure_position};
pub(crate) use headline::{Headline, figures_proto, headline};
pub use plan::{DEFAULT_CHUNK_DRAWS, chunk_draws};
pub(crate) use plan::{Plan, plan};
pub use sensitivity::SENSITIVITY_STAGE;

use crate::{EvaluateError, Progress, prepared::PreparedScenario};

impl PreparedScenario<'_> {
    /// The number of uncertainty draws the scenario asks for (0 for none).
    pub fn draws(&self) -> u32 {
        self.uncertainty.as_ref().map_or(0, |p| p.draws)
    }

    /// `0..draws` cut into the scenario's chunks of `chunk_draws` (the last one
    /// shorter): the ranges to compute apart when a job is split across workers.
    pub fn draw_chunks(&self) -> Vec<Range<u32>> {
        let Some(plan) = &self.uncertainty else { return Vec::new() };
        let size = plan.chunk_draws.max(1);
        (0..plan.draws.div_ceil(size))
            .map(|i| {
                let start = i * size;
                start..start.saturating_add(size).min(plan.draws)
            })
            .collect()
    }

    /// [`PreparedScenario::evaluate`] with options (the threads of the draws).
    pub fn evaluate_with(
        &self,
        options: &EvaluateOptions,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<pb::ScenarioResult, EvaluateError> {
        if let Some(answer) = self.evaluate_analysis(options, progress) {
            return answer;
        }
        let point = self.point_estimate_with(options, progress)?;
        let draws = self.draws();
        if draws == 0 {
            return Ok(point);
        }
        let samples = self.draw_samples(0..draws, options, progress)?;
        Ok(merge_draws(point, [samples])?)
    }

    /// The uncertainty summary and the tornado rows per date, as the point
    /// estimate carries them; nothing without uncertainty.
    pub(crate) fn uncertainty_parts(
        &self,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<(Option<pb::UncertaintySummary>, Vec<Vec<pb::SensitivityRow>>), EvaluateError> {
        let Some(plan) = &self.uncertainty else { return Ok((None, Vec::new())) };
        let rows = if plan.sensitivity { self.sensitivity(plan, progress)? } else { Vec::new() };
        Ok((Some(plan.summary(self.dataset)), rows))
    }
}
