//! How much one scenario may ask for, checked before any work is done on it.

use tariff_proto::v1 as pb;

use crate::{
    uncertainty::{self, FIGURES},
    violation::{Collector, FieldViolation},
};

/// How much one scenario may ask for. Past a limit the scenario is refused
/// with the field and the limit, before any work is done on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioLimits {
    pub max_measures: usize,
    /// Entries in one measure's `exporters`, `except_exporters`, `sectors`,
    /// `excludes`, `content`, `offsets` or an offset's `on_sectors`.
    pub max_list_entries: usize,
    pub max_dates: usize,
    pub max_agreement_changes: usize,
    pub max_elasticity_overrides: usize,
    /// Bytes of `id`, `name`, a measure's `id` or `label`.
    pub max_name_bytes: usize,
    pub max_description_bytes: usize,
    /// Uncertainty draws of one scenario (`uncertainty.draws`).
    pub max_draws: u32,
    /// Chunks `uncertainty.chunk_draws` may cut the draws into.
    pub max_chunks: u32,
    /// Numbers the draws keep until their bands are made: draws x dates x
    /// economies x 12 headline figures, 8 bytes each.
    pub max_samples: u64,
}

impl Default for ScenarioLimits {
    fn default() -> Self {
        ScenarioLimits {
            max_measures: 500,
            max_list_entries: 500,
            max_dates: 100,
            max_agreement_changes: 100,
            max_elasticity_overrides: 500,
            max_name_bytes: 256,
            max_description_bytes: 16 * 1024,
            max_draws: 100_000,
            max_chunks: 1000,
            // 200 MB: 10,000 draws at 100 dates on the built-in dataset's 9 economies fit.
            max_samples: 25_000_000,
        }
    }
}

impl ScenarioLimits {
    /// Every limit the scenario passes, as violations.
    pub(crate) fn check(&self, s: &pb::Scenario) -> Vec<FieldViolation> {
        let mut out = Vec::new();
        let mut count = |field: String, len: usize, max: usize| {
            if len > max {
                out.push(FieldViolation {
                    field,
                    reason: format!("{len} entries; at most {max} are allowed"),
                });
            }
        };
        count("measures".into(), s.measures.len(), self.max_measures);
        count("evaluate_at".into(), s.evaluate_at.len(), self.max_dates);
        count("agreements".into(), s.agreements.len(), self.max_agreement_changes);
        count("elasticity_overrides".into(), s.elasticity_overrides.len(), self.max_elasticity_overrides);
        for (i, m) in s.measures.iter().enumerate().take(self.max_measures) {
            count(format!("measures[{i}].exporters"), m.exporters.len(), self.max_list_entries);
            count(format!("measures[{i}].except_exporters"), m.except_exporters.len(), self.max_list_entries);
            count(format!("measures[{i}].sectors"), m.sectors.len(), self.max_list_entries);
            count(format!("measures[{i}].excludes"), m.excludes.len(), self.max_list_entries);
            count(format!("measures[{i}].content"), m.content.len(), self.max_list_entries);
            count(format!("measures[{i}].offsets"), m.offsets.len(), self.max_list_entries);
            for (k, o) in m.offsets.iter().enumerate().take(self.max_list_entries) {
                count(
                    format!("measures[{i}].offsets[{k}].on_sectors"),
                    o.on_sectors.len(),
                    self.max_list_entries,
                );
            }
        }
        let mut text = |field: String, len: usize, max: usize| {
            if len > max {
                out.push(FieldViolation { field, reason: format!("{len} bytes; at most {max} are allowed") });
            }
        };
        text("id".into(), s.id.len(), self.max_name_bytes);
        text("name".into(), s.name.len(), self.max_name_bytes);
        text("dataset".into(), s.dataset.len(), self.max_name_bytes);
        text("description".into(), s.description.len(), self.max_description_bytes);
        for (i, m) in s.measures.iter().enumerate().take(self.max_measures) {
            text(format!("measures[{i}].id"), m.id.len(), self.max_name_bytes);
            text(format!("measures[{i}].label"), m.label.len(), self.max_name_bytes);
        }
        if let Some(u) = &s.uncertainty {
            self.check_uncertainty(u, &mut out);
        }
        out
    }

    /// The draws' samples grow with the dates and the dataset's economies too:
    /// their memory is capped, once the dates are known.
    pub(crate) fn check_samples(&self, c: &mut Collector, draws: u32, dates: usize, economies: usize) {
        let samples = u64::from(draws)
            .saturating_mul(dates as u64)
            .saturating_mul(economies as u64)
            .saturating_mul(FIGURES.len() as u64);
        if samples > self.max_samples {
            c.push(
                "uncertainty.draws",
                format!(
                    "{draws} draws at {dates} dates over {economies} economies keep {samples} samples; at most {} \
                     are allowed (ask for fewer draws or dates)",
                    self.max_samples
                ),
            );
        }
    }

    /// Draws are the costly part of a scenario: their number, and how many
    /// chunks (queue messages) a split job makes, are capped.
    fn check_uncertainty(&self, u: &pb::Uncertainty, out: &mut Vec<FieldViolation>) {
        if u.draws > self.max_draws {
            out.push(FieldViolation {
                field: "uncertainty.draws".into(),
                reason: format!("{} draws; at most {} are allowed", u.draws, self.max_draws),
            });
        }
        if u.ranges.len() > self.max_elasticity_overrides {
            out.push(FieldViolation {
                field: "uncertainty.ranges".into(),
                reason: format!(
                    "{} entries; at most {} are allowed",
                    u.ranges.len(),
                    self.max_elasticity_overrides
                ),
            });
        }
        let chunk = uncertainty::chunk_draws(u);
        let chunks = u.draws.div_ceil(chunk);
        if chunks > self.max_chunks {
            out.push(FieldViolation {
                field: "uncertainty.chunk_draws".into(),
                reason: format!(
                    "{chunk} draws per chunk cut {} draws into {chunks} chunks; at most {} are allowed \
                     (raise chunk_draws to at least {})",
                    u.draws,
                    self.max_chunks,
                    u.draws.div_ceil(self.max_chunks.max(1))
                ),
            });
        }
    }
}
