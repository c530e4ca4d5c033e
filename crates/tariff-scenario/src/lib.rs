//! Tariff scenarios over datasets: loading and validating datasets (and the
//! built-in ones), checking a scenario against a dataset, resolving the applied
//! rate of every flow at every date (content rules and offsets: `content`),
//! and computing the impact with the model (tariff-rate quotas: `quota`; with
//! `input_costs`, the sectors coupled through their input costs:
//! `supply_chain`), with Monte Carlo bands and the tornado over the
//! elasticities when the scenario asks for them (see [`merge_draws`] for
//! splitting the draws), and the analyses a scenario may ask for:
//! contributions of each measure, goal-seek and optimisation ([`analysis`]).
//!
//! ```
//! use tariff_scenario::{dataset::{builtin, DEFAULT_DATASET}, run};
//! use tariff_proto::v1::{Scenario, Measure, Authority, measure::Mode};
//! let dataset = builtin(DEFAULT_DATASET).unwrap().unwrap();
//! let scenario = Scenario {
//!     measures: vec![Measure {
//!         authority: Authority::Section232.into(),
//!         importer: "USA".into(),
//!         exporters: vec!["*".into()],
//!         sectors: vec!["CARS".into()],
//!         mode: Mode::Add.into(),
//!         rate_pct: 25.0,
//!         ..Default::default()
//!     }],
//!     ..Default::default()
//! };
//! let result = run(dataset, &scenario).unwrap();
//! assert_eq!(result.impacts.len(), 1);
//! ```

pub mod analysis;
pub mod calibrate;
mod content;
pub mod dataset;
mod date;
mod figures;
mod impact;
mod limits;
pub mod observed;
mod prepared;
mod pricing;
mod quota;
mod resolve;
mod scenario_file;
mod sector_chunks;
mod supply_chain;
mod uncertainty;
mod views;
mod violation;

use std::ops::ControlFlow;

use tariff_proto::v1 as pb;

pub use date::{Date, DateError};
pub use figures::change;
pub use impact::{EvaluateError, Progress, solver_proto};
pub use limits::ScenarioLimits;
pub use prepared::{MAX_RATE_PCT, PreparedScenario};
pub use pricing::structure_proto;
pub use resolve::RateTable;
pub use scenario_file::{ScenarioFileError, ScenarioFormat, parse_scenario};
pub use sector_chunks::{add_chunk_flows, chunk_sector_flows};
pub use supply_chain::COUPLING_TOLERANCE;
pub use uncertainty::{
    DEFAULT_CHUNK_DRAWS, DRAWS_STAGE, EvaluateOptions, FIGURES, MergeError, SENSITIVITY_STAGE, band_of,
    chunk_draws, figure_of, figure_of_impact, figure_position, merge_draws,
};
pub use views::{DEFAULT_FULL_FLOWS, FlowSelection, default_view, keep_top};
pub use violation::{FieldViolation, Violations, changes_nothing};

/// Why a scenario produced no result.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The scenario is not valid for the dataset.
    #[error("invalid scenario: {0}")]
    Invalid(#[from] Violations),
    /// The computation stopped.
    #[error(transparent)]
    Evaluate(#[from] EvaluateError),
}

/// Checks a scenario against the built-in dataset it names (services accept
/// built-in datasets only, never paths), within the default limits.
pub fn prepare_builtin(scenario: &pb::Scenario) -> Result<PreparedScenario<'static>, Violations> {
    prepare_builtin_with(scenario, &ScenarioLimits::default())
}

/// [`prepare_builtin`] within `limits`.
pub fn prepare_builtin_with(
    scenario: &pb::Scenario,
    limits: &ScenarioLimits,
) -> Result<PreparedScenario<'static>, Violations> {
    let id = if scenario.dataset.is_empty() { dataset::DEFAULT_DATASET } else { scenario.dataset.as_str() };
    let found = dataset::builtin(id).ok_or_else(|| {
        Violations(vec![FieldViolation {
            field: "dataset".into(),
            reason: format!("unknown dataset `{id}` (built in: {})", dataset::BUILTIN_DATASETS.join(", ")),
        }])
    })?;
    let dataset = found.map_err(|e| {
        Violations(vec![FieldViolation {
            field: "dataset".into(),
            reason: format!("built-in dataset unusable: {e}"),
        }])
    })?;
    PreparedScenario::with_limits(dataset, scenario, limits)
}

/// Checks `scenario` against `dataset` and computes its impact at every date.
pub fn run(dataset: &dataset::Dataset, scenario: &pb::Scenario) -> Result<pb::ScenarioResult, ScenarioError> {
    let prepared = PreparedScenario::new(dataset, scenario)?;
    Ok(prepared.evaluate(&mut |_| ControlFlow::Continue(()))?)
}
