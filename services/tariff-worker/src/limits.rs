//! Scenario limits as flags and `TARIFF_MAX_*` variables. The gateway refuses a
//! scenario past them; the worker applies the same ones to what it is handed.

use tariff_scenario::ScenarioLimits;

/// How much one scenario may ask for.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Measures in one scenario.
    #[arg(long, env = "TARIFF_MAX_MEASURES", default_value_t = ScenarioLimits::default().max_measures)]
    pub max_measures: usize,
    /// Evaluation dates in one scenario.
    #[arg(long, env = "TARIFF_MAX_DATES", default_value_t = ScenarioLimits::default().max_dates)]
    pub max_dates: usize,
    /// Uncertainty draws in one scenario (`uncertainty.draws`).
    #[arg(long, env = "TARIFF_MAX_DRAWS", default_value_t = ScenarioLimits::default().max_draws)]
    pub max_draws: u32,
}

impl LimitArgs {
    /// The limits these flags set (the others at their defaults).
    pub fn limits(&self) -> ScenarioLimits {
        ScenarioLimits {
            max_measures: self.max_measures,
            max_dates: self.max_dates,
            max_draws: self.max_draws,
            ..ScenarioLimits::default()
        }
    }
}
