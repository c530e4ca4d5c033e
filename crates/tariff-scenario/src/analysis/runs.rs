//! One run of a variant of the analysed scenario: the variant prepared against
//! the dataset within the limits and solved at the point estimate, on one
//! thread, keeping only what the analysis reads.

use std::ops::ControlFlow;

use tariff_proto::v1 as pb;

use super::AnalysisError;
use crate::{
    EvaluateOptions, PreparedScenario, ScenarioLimits,
    dataset::Dataset,
    uncertainty::{FIGURES, Headline, headline},
    views::FlowSelection,
};

/// Runs variants of one scenario.
#[derive(Debug, Clone)]
pub(crate) struct Runs<'d> {
    pub(crate) dataset: &'d Dataset,
    pub(crate) limits: ScenarioLimits,
    /// The scenario without its analysis or uncertainty, its dates written
    /// out: a variant with fewer measures must not move its default date.
    pub(crate) base: pb::Scenario,
    /// What each run keeps: the summary, or the flows a target reads.
    pub(crate) selection: FlowSelection,
}

impl<'d> Runs<'d> {
    /// The result of `variant` (a changed copy of `base`).
    pub(crate) fn result(&self, variant: &pb::Scenario) -> Result<pb::ScenarioResult, AnalysisError> {
        let prepared = PreparedScenario::with_limits(self.dataset, variant, &self.limits)?;
        let options = EvaluateOptions { threads: 1, flows: Some(self.selection.clone()) };
        Ok(prepared.point_estimate_with(&options, &mut |_| ControlFlow::Continue(()))?)
    }

    /// The headline figures of every economy at every date of `variant`, flat:
    /// date, then economy (dataset order), then figure ([`FIGURES`] order).
    pub(crate) fn headlines(&self, variant: &pb::Scenario) -> Result<Vec<f64>, AnalysisError> {
        let result = self.result(variant)?;
        let mut values = Vec::with_capacity(self.width());
        for impact in &result.impacts {
            for e in &impact.economies {
                values.extend_from_slice(&headline(e));
            }
        }
        Ok(values)
    }

    /// The length of [`Runs::headlines`].
    pub(crate) fn width(&self) -> usize {
        self.base.evaluate_at.len() * self.dataset.economies.len() * FIGURES.len()
    }

    /// `values` (as [`Runs::headlines`] lays them out) as `EconomyFigures` of one date.
    pub(crate) fn economy_figures(&self, values: &[f64], date: usize) -> Vec<pb::EconomyFigures> {
        let n = FIGURES.len();
        let per_date = self.dataset.economies.len() * n;
        self.dataset
            .economies
            .iter()
            .enumerate()
            .map(|(e, economy)| {
                let start = date * per_date + e * n;
                let mut h: Headline = [0.0; FIGURES.len()];
                if let Some(slice) = values.get(start..start + n) {
                    h.copy_from_slice(slice);
                }
                crate::uncertainty::figures_proto(&economy.code, &h)
            })
            .collect()
    }
}
