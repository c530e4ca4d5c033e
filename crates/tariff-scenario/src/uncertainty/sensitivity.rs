//! The tornado: each elasticity group at the low and at the high end of its
//! range, every other group at its value in use.

use std::ops::ControlFlow;

use tariff_proto::v1 as pb;

use super::{
    headline::{FIGURES, Headline, figures_proto},
    perturbed::{DateMarkets, Scratch},
    plan::Plan,
};
use crate::{EvaluateError, Progress, prepared::PreparedScenario};

/// The progress stage of the tornado.
pub const SENSITIVITY_STAGE: &str = tariff_proto::stage::SENSITIVITY;

impl PreparedScenario<'_> {
    /// The tornado rows of every date: `rows[date][group]`. Progress counts the
    /// runs (two per group); `Break` stops after the current one.
    pub(crate) fn sensitivity(
        &self,
        plan: &Plan,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<Vec<Vec<pb::SensitivityRow>>, EvaluateError> {
        let markets: DateMarkets = self.date_markets();
        let economies = &self.dataset.economies;
        let total = u32::try_from(plan.groups.len() * 2).unwrap_or(u32::MAX);
        let (mut scratch, mut factors, mut done) = (Scratch::default(), vec![1.0; plan.groups.len()], 0u32);
        let mut rows: Vec<Vec<pb::SensitivityRow>> =
            vec![Vec::with_capacity(plan.groups.len()); markets.dates.len()];
        for (g, group) in plan.groups.iter().enumerate() {
            let mut ends: [Vec<f64>; 2] = Default::default();
            for (end, (side, factor)) in
                ends.iter_mut().zip([("low", group.factor_at_low), ("high", group.factor_at_high)])
            {
                factors[g] = factor;
                let outcome = self.perturbed_headlines(&markets, &factors, &mut scratch, end);
                factors[g] = 1.0;
                outcome.map_err(|f| {
                    let sector = self.dataset.sectors.get(group.sector).map_or("", |s| s.code.as_str());
                    self.perturbed_error(format!("sensitivity {sector} {} {side}", group.parameter.name()), f)
                })?;
                done += 1;
                let stage = SENSITIVITY_STAGE.to_owned();
                if progress(&Progress { done, total, stage }).is_break() {
                    return Err(EvaluateError::Cancelled);
                }
            }
            let per_date = economies.len() * FIGURES.len();
            for (t, of_date) in rows.iter_mut().enumerate() {
                let figures_at = |values: &[f64]| -> Vec<pb::EconomyFigures> {
                    economies
                        .iter()
                        .enumerate()
                        .map(|(e, economy)| {
                            let start = t * per_date + e * FIGURES.len();
                            let mut h: Headline = Default::default();
                            if let Some(v) = values.get(start..start + FIGURES.len()) {
                                h.copy_from_slice(v);
                            }
                            figures_proto(&economy.code, &h)
                        })
                        .collect()
                };
                of_date.push(pb::SensitivityRow {
                    group: Some(group.proto(self.dataset)),
                    at_low: figures_at(&ends[0]),
                    at_high: figures_at(&ends[1]),
                });
            }
        }
        Ok(rows)
    }
}
