//! Calibration: elasticities fitted to observed outcomes, within their
//! published ranges.
//!
//! Weighted least squares on the exact solver: the residual of a target is
//! `sqrt(weight) * (model - observed)`, in percentage points of the observed
//! change (`observed::model_change_pct`, in the observation's currency). The
//! elasticities move in logs (they span orders of magnitude, and keep their
//! sign), inside the box of their horizon's ranges (`horizons.csv`, or
//! sectors.csv's for the long run).
//!
//! The method is Levenberg-Marquardt with the bounds handled by projection and
//! an active set: a parameter at a bound whose gradient points outward is held
//! there (the fit "binds"), the others take the damped Gauss-Newton step, and
//! the trial point is projected onto the box. The Jacobian is by forward
//! differences (backward at an upper bound). The small normal equations are
//! solved with nalgebra's Cholesky factorisation. A fit that wants a value
//! outside the ranges stops at the bound and says so in [`FittedParameter::binding`]:
//! nothing is extrapolated.

use std::ops::ControlFlow;

use nalgebra::{DMatrix, DVector};
use tariff_proto::v1::{self as pb, ElasticityParameter};

use crate::{
    PreparedScenario, ScenarioError, Violations,
    dataset::{Dataset, ElasticityRange},
    observed::{Observation, model_change_pct},
    violation::FieldViolation,
};

/// One elasticity to fit: a sector's (every economy's) or one economy's.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterSpec {
    pub sector: String,
    /// `None`: the sector-wide value, for every economy.
    pub economy: Option<String>,
    pub parameter: ElasticityParameter,
}

impl ParameterSpec {
    /// `CARS:JPN:supply`, or `CARS:substitution` for the sector-wide value.
    pub fn label(&self) -> String {
        let name = parameter_name(self.parameter);
        match &self.economy {
            Some(e) => format!("{}:{e}:{name}", self.sector),
            None => format!("{}:{name}", self.sector),
        }
    }
}

impl ParameterSpec {
    /// The scenario override that sets this elasticity to `value`.
    pub fn override_with(&self, value: f64) -> pb::ElasticityOverride {
        let mut o = pb::ElasticityOverride {
            sector: self.sector.clone(),
            economy: self.economy.clone().unwrap_or_default(),
            ..Default::default()
        };
        match self.parameter {
            ElasticityParameter::ImportDemand => o.import_demand_elasticity = Some(value),
            ElasticityParameter::Substitution => o.substitution_elasticity = Some(value),
            ElasticityParameter::Supply | ElasticityParameter::Unspecified => {
                o.supply_elasticity = Some(value)
            }
        }
        o
    }
}

/// The spelling of parameters in labels and on the command line.
pub fn parameter_name(p: ElasticityParameter) -> &'static str {
    match p {
        ElasticityParameter::Substitution => "substitution",
        ElasticityParameter::ImportDemand => "import_demand",
        ElasticityParameter::Supply => "supply",
        ElasticityParameter::Unspecified => "unspecified",
    }
}

/// An observation to fit, with its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub observation: Observation,
    pub weight: f64,
}

/// When the fit stops.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationOptions {
    /// Levenberg-Marquardt iterations at most.
    pub max_iterations: u32,
    /// Stop when no parameter moves by more than this, relative (in logs).
    pub step_tolerance: f64,
    /// Stop when the weighted sum of squared residuals is below this.
    pub cost_tolerance: f64,
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        CalibrationOptions { max_iterations: 100, step_tolerance: 1e-12, cost_tolerance: 1e-24 }
    }
}

/// Which end of its range a fitted parameter is held at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Low,
    High,
}

/// A fitted elasticity.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedParameter {
    pub spec: ParameterSpec,
    pub start: f64,
    pub value: f64,
    pub range: ElasticityRange,
    /// Held at a bound the fit pushes against: the data want a value outside
    /// the published range.
    pub binding: Option<Bound>,
}

/// A target after the fit.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetFit {
    pub id: String,
    pub weight: f64,
    pub observed: f64,
    pub model: f64,
}

impl TargetFit {
    /// Model minus observed, percentage points.
    pub fn residual(&self) -> f64 {
        self.model - self.observed
    }
}

/// The outcome of a calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub parameters: Vec<FittedParameter>,
    pub targets: Vec<TargetFit>,
    /// `sum weight * residual^2`, at the start and at the end.
    pub start_cost: f64,
    pub cost: f64,
    pub iterations: u32,
    /// Model evaluations (each solves every sector at every date).
    pub evaluations: u32,
    /// Whether a stopping rule of the options was met (rather than the
    /// iteration limit or a stall of the damping).
    pub converged: bool,
}

impl Fit {
    /// The scenario with the fitted values as elasticity overrides, appended
    /// after its own (so they win).
    pub fn apply_to(&self, scenario: &pb::Scenario) -> pb::Scenario {
        let values: Vec<f64> = self.parameters.iter().map(|p| p.value).collect();
        with_values(scenario, &self.parameters.iter().map(|p| p.spec.clone()).collect::<Vec<_>>(), &values)
    }
}

/// Why a calibration could not run.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// Parameters or targets that do not fit the scenario or dataset (each named).
    #[error("invalid calibration: {0}")]
    Invalid(Violations),
    /// The scenario itself is invalid, or a model evaluation failed.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

fn invalid(field: String, reason: String) -> CalibrationError {
    CalibrationError::Invalid(Violations(vec![FieldViolation { field, reason }]))
}

fn with_values(scenario: &pb::Scenario, specs: &[ParameterSpec], values: &[f64]) -> pb::Scenario {
    let mut s = scenario.clone();
    s.elasticity_overrides.extend(specs.iter().zip(values).map(|(spec, &v)| spec.override_with(v)));
    s
}

fn pick(e: &crate::dataset::Elasticities, p: ElasticityParameter) -> f64 {
    match p {
        ElasticityParameter::ImportDemand => e.import_demand,
        ElasticityParameter::Substitution => e.substitution,
        ElasticityParameter::Supply | ElasticityParameter::Unspecified => e.supply,
    }
}

/// Each parameter's start (the value in use) and range (its horizon's).
fn starts_and_ranges(
    dataset: &Dataset,
    prepared: &PreparedScenario<'_>,
    specs: &[ParameterSpec],
) -> Result<Vec<(f64, ElasticityRange)>, CalibrationError> {
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let path = format!("parameters[{i}]");
            if spec.parameter == ElasticityParameter::Unspecified {
                return Err(invalid(path, "no parameter (substitution, import_demand or supply)".into()));
            }
            let s = dataset.sector(&spec.sector).ok_or_else(|| {
                invalid(format!("{path}.sector"), format!("unknown sector `{}`", spec.sector))
            })?;
            let economy = match &spec.economy {
                Some(code) => Some(dataset.economy(code).ok_or_else(|| {
                    invalid(format!("{path}.economy"), format!("unknown economy `{code}`"))
                })?),
                None => None,
            };
            let sector_set = prepared.sector_sets().get(s).ok_or_else(|| {
                invalid(
                    path.clone(),
                    format!("horizon `{}` has no sector {}", prepared.horizon(), spec.sector),
                )
            })?;
            let range = match spec.parameter {
                ElasticityParameter::ImportDemand => sector_set.ranges.import_demand,
                ElasticityParameter::Substitution => sector_set.ranges.substitution,
                _ => sector_set.ranges.supply,
            };
            let start = match economy {
                Some(e) => pick(&prepared.elasticities(s, e), spec.parameter),
                None => pick(&sector_set.elasticities, spec.parameter),
            };
            Ok((start.clamp(range.low, range.high), range))
        })
        .collect()
}

/// Everything one evaluation needs.
struct Problem<'a> {
    dataset: &'a Dataset,
    scenario: pb::Scenario,
    specs: &'a [ParameterSpec],
    targets: &'a [Target],
    /// `-1` for negative elasticities: values are `sign * exp(z)`.
    signs: Vec<f64>,
    evaluations: u32,
}

impl Problem<'_> {
    fn values(&self, z: &[f64]) -> Vec<f64> {
        z.iter().zip(&self.signs).map(|(z, s)| s * z.exp()).collect()
    }

    /// The model's figure for each target.
    fn model(&mut self, z: &[f64]) -> Result<Vec<f64>, CalibrationError> {
        self.evaluations += 1;
        let scenario = with_values(&self.scenario, self.specs, &self.values(z));
        let prepared = PreparedScenario::new(self.dataset, &scenario).map_err(ScenarioError::from)?;
        let result = prepared.evaluate(&mut |_| ControlFlow::Continue(())).map_err(ScenarioError::from)?;
        self.targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                model_change_pct(&result, self.dataset, &t.observation)
                    .map_err(|reason| invalid(format!("targets[{i}] ({})", t.observation.id), reason))
            })
            .collect()
    }

    fn residuals(&mut self, z: &[f64]) -> Result<DVector<f64>, CalibrationError> {
        let model = self.model(z)?;
        Ok(DVector::from_iterator(
            model.len(),
            model.iter().zip(self.targets).map(|(m, t)| t.weight.sqrt() * (m - t.observation.change_pct)),
        ))
    }
}

/// Fits `specs` to `targets` on `scenario` (solved exactly, without its
/// uncertainty), starting from the values in use.
///
/// # Errors
/// An invalid scenario, a parameter or target that does not fit the dataset
/// or scenario (named by position), a weight that is not positive, or a model
/// evaluation that fails.
pub fn calibrate(
    dataset: &Dataset,
    scenario: &pb::Scenario,
    specs: &[ParameterSpec],
    targets: &[Target],
    options: &CalibrationOptions,
) -> Result<Fit, CalibrationError> {
    if specs.is_empty() {
        return Err(invalid("parameters".into(), "name at least one elasticity to fit".into()));
    }
    if targets.is_empty() {
        return Err(invalid("targets".into(), "name at least one observed figure to fit".into()));
    }
    if let Some(i) = targets.iter().position(|t| !(t.weight.is_finite() && t.weight > 0.0)) {
        return Err(invalid(
            format!("targets[{i}].weight"),
            format!("{} must be positive", targets[i].weight),
        ));
    }
    let mut base = scenario.clone();
    base.solver = pb::Solver::Exact.into();
    base.uncertainty = None;
    let prepared = PreparedScenario::new(dataset, &base).map_err(ScenarioError::from)?;
    let starts = starts_and_ranges(dataset, &prepared, specs)?;
    drop(prepared);

    let signs: Vec<f64> = starts.iter().map(|(v, _)| if *v < 0.0 { -1.0 } else { 1.0 }).collect();
    let log_bounds: Vec<(f64, f64)> = starts
        .iter()
        .map(|(_, r)| {
            let (a, b) = (r.low.abs().ln(), r.high.abs().ln());
            (a.min(b), a.max(b))
        })
        .collect();
    let mut problem = Problem { dataset, scenario: base, specs, targets, signs, evaluations: 0 };
    let mut z: Vec<f64> = starts.iter().map(|(v, _)| v.abs().ln()).collect();
    let k = z.len();

    let mut r = problem.residuals(&z)?;
    let start_cost = r.norm_squared();
    let mut cost = start_cost;
    let mut lambda = 1e-3;
    let (mut iterations, mut converged) = (0, false);
    let mut active = vec![None; k];
    while iterations < options.max_iterations {
        if cost < options.cost_tolerance {
            converged = true;
            break;
        }
        iterations += 1;
        // Forward differences in log space, backward at the upper bound.
        let mut jac = DMatrix::zeros(r.len(), k);
        for j in 0..k {
            let h = 1e-7 * (1.0 + z[j].abs());
            let step = if z[j] + h > log_bounds[j].1 { -h } else { h };
            let mut zj = z.clone();
            zj[j] += step;
            let rj = problem.residuals(&zj)?;
            jac.set_column(j, &((rj - &r) / step));
        }
        let g = jac.transpose() * &r;
        for j in 0..k {
            let (lo, hi) = log_bounds[j];
            let eps = 1e-12 * (1.0 + z[j].abs());
            active[j] = if z[j] <= lo + eps && g[j] > 0.0 {
                Some(Bound::Low)
            } else if z[j] >= hi - eps && g[j] < 0.0 {
                Some(Bound::High)
            } else {
                None
            };
        }
        let free: Vec<usize> = (0..k).filter(|&j| active[j].is_none()).collect();
        if free.is_empty() {
            converged = true;
            break;
        }
        let jf = jac.select_columns(free.iter());
        let jtj = jf.transpose() * &jf;
        let jtr = jf.transpose() * &r;
        let mut accepted = false;
        while lambda < 1e16 {
            let mut a = jtj.clone();
            for d in 0..free.len() {
                a[(d, d)] += lambda * jtj[(d, d)].max(1e-12);
            }
            let Some(chol) = a.cholesky() else {
                lambda *= 10.0;
                continue;
            };
            let delta = chol.solve(&(-&jtr));
            let mut trial = z.clone();
            for (d, &j) in free.iter().enumerate() {
                trial[j] = (z[j] + delta[d]).clamp(log_bounds[j].0, log_bounds[j].1);
            }
            let moved = trial.iter().zip(&z).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            let r_trial = problem.residuals(&trial)?;
            let trial_cost = r_trial.norm_squared();
            if trial_cost < cost {
                z = trial;
                r = r_trial;
                cost = trial_cost;
                lambda = (lambda / 10.0).max(1e-12);
                accepted = true;
                if moved <= options.step_tolerance {
                    converged = true;
                }
                break;
            }
            if moved <= options.step_tolerance {
                // The step is below what moves the model: a minimum.
                converged = true;
                break;
            }
            lambda *= 10.0;
        }
        if converged || !accepted {
            break;
        }
    }
    // A parameter the fit left at a bound: the data want it beyond the range
    // (the iteration only stops at a bound it is pushed against).
    for j in 0..k {
        let (lo, hi) = log_bounds[j];
        let eps = 1e-9 * (1.0 + z[j].abs());
        active[j] = if z[j] <= lo + eps {
            Some(if problem.signs[j] < 0.0 { Bound::High } else { Bound::Low })
        } else if z[j] >= hi - eps {
            Some(if problem.signs[j] < 0.0 { Bound::Low } else { Bound::High })
        } else {
            None
        };
    }

    let model = problem.model(&z)?;
    let values = problem.values(&z);
    Ok(Fit {
        parameters: specs
            .iter()
            .zip(&starts)
            .zip(values.iter().zip(&active))
            .map(|((spec, (start, range)), (&value, &binding))| FittedParameter {
                spec: spec.clone(),
                start: *start,
                value,
                range: *range,
                binding,
            })
            .collect(),
        targets: targets
            .iter()
            .zip(&model)
            .map(|(t, &m)| TargetFit {
                id: t.observation.id.clone(),
                weight: t.weight,
                observed: t.observation.change_pct,
                model: m,
            })
            .collect(),
        start_cost,
        cost,
        iterations,
        evaluations: problem.evaluations,
        converged,
    })
}
