//! Levers: values of a scenario a search moves (a measure's rate, an agreement
//! row's rate, an exchange rate, an elasticity), written back into the
//! scenario as its own fields, so that the value found can be run plainly.

use tariff_proto::v1::{self as pb, ElasticityParameter, agreement_change::Action, lever::Target};

use crate::{MAX_RATE_PCT, calibrate::ParameterSpec, dataset::Dataset, violation::Collector};

/// What a lever sets.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Measure(usize),
    Stage(pb::AgreementStageLever),
    ExchangeRate(String),
    Elasticity(ParameterSpec),
}

/// A lever checked against the scenario and dataset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PreparedLever {
    kind: Kind,
    pub(crate) low: f64,
    pub(crate) high: f64,
    /// 0 for continuous.
    pub(crate) step: f64,
    /// `measures[2].rate_pct (Section 232 autos)`, `USJTA JPN AGRI`, `JPN exchange rate`, `CARS:JPN:supply`.
    pub(crate) label: String,
}

/// The position of a measure named by its id or as `measures[N]`.
fn measure_position(scenario: &pb::Scenario, name: &str) -> Option<usize> {
    let indexed =
        name.strip_prefix("measures[").and_then(|s| s.strip_suffix(']')).and_then(|s| s.parse().ok());
    indexed
        .filter(|i: &usize| *i < scenario.measures.len())
        .or_else(|| scenario.measures.iter().position(|m| !m.id.is_empty() && m.id == name))
}

impl PreparedLever {
    pub(crate) fn prepare(
        c: &mut Collector,
        dataset: &Dataset,
        scenario: &pb::Scenario,
        path: &str,
        lever: &pb::Lever,
    ) -> Option<PreparedLever> {
        let (low, high) = (lever.low, lever.high);
        if !low.is_finite() || !high.is_finite() || low >= high {
            c.push(
                format!("{path}.high"),
                format!("the bounds [{low}, {high}] are not finite with low < high"),
            );
        }
        if !lever.step.is_finite() || lever.step < 0.0 || lever.step > high - low {
            c.push(format!("{path}.step"), format!("{} is not 0 or a step within the bounds", lever.step));
        }
        let (kind, label, range): (Kind, String, (f64, f64)) = match &lever.target {
            None => {
                c.push(
                    path,
                    "name what the lever moves: measure_rate, agreement_stage, exchange_rate or elasticity",
                );
                return None;
            }
            Some(Target::MeasureRate(name)) => {
                let Some(i) = measure_position(scenario, name) else {
                    c.push(
                        format!("{path}.measure_rate"),
                        format!(
                            "no measure has the id `{name}` (or write `measures[N]`, N below {})",
                            scenario.measures.len()
                        ),
                    );
                    return None;
                };
                let m = &scenario.measures[i];
                let named = if m.label.is_empty() { m.id.clone() } else { m.label.clone() };
                let label = if named.is_empty() {
                    format!("measures[{i}].rate_pct")
                } else {
                    format!("measures[{i}].rate_pct ({named})")
                };
                (Kind::Measure(i), label, (0.0, MAX_RATE_PCT))
            }
            Some(Target::AgreementStage(s)) => {
                if dataset.agreement(&s.agreement).is_none() {
                    c.push(
                        format!("{path}.agreement_stage.agreement"),
                        format!("unknown agreement `{}`", s.agreement),
                    );
                }
                let stage =
                    if s.stage_from.is_empty() { String::new() } else { format!(" from {}", s.stage_from) };
                let label = format!("{} {} {}{stage} rate_pct", s.agreement, s.importer, s.sector);
                (Kind::Stage(s.clone()), label, (0.0, MAX_RATE_PCT))
            }
            Some(Target::ExchangeRate(economy)) => {
                if dataset.economy(economy).is_none() {
                    c.push(format!("{path}.exchange_rate"), format!("unknown economy `{economy}`"));
                }
                (
                    Kind::ExchangeRate(economy.clone()),
                    format!("{economy} exchange rate change_pct"),
                    (-99.0, 1e6),
                )
            }
            Some(Target::Elasticity(e)) => {
                let parameter = ElasticityParameter::try_from(e.parameter).unwrap_or_default();
                let range = match parameter {
                    ElasticityParameter::ImportDemand => (f64::NEG_INFINITY, -1e-9),
                    ElasticityParameter::Substitution | ElasticityParameter::Supply => (1e-9, f64::INFINITY),
                    ElasticityParameter::Unspecified => {
                        c.push(
                            format!("{path}.elasticity.parameter"),
                            "SUBSTITUTION, IMPORT_DEMAND or SUPPLY",
                        );
                        (f64::NEG_INFINITY, f64::INFINITY)
                    }
                };
                if dataset.sector(&e.sector).is_none() {
                    c.push(format!("{path}.elasticity.sector"), format!("unknown sector `{}`", e.sector));
                }
                if !e.economy.is_empty() && dataset.economy(&e.economy).is_none() {
                    c.push(format!("{path}.elasticity.economy"), format!("unknown economy `{}`", e.economy));
                }
                let spec = ParameterSpec {
                    sector: e.sector.clone(),
                    economy: (!e.economy.is_empty()).then(|| e.economy.clone()),
                    parameter,
                };
                (Kind::Elasticity(spec.clone()), format!("elasticity {}", spec.label()), range)
            }
        };
        if low < range.0 || high > range.1 {
            c.push(
                format!("{path}.low"),
                format!("[{low}, {high}] leaves the values {label} can take ([{}, {}])", range.0, range.1),
            );
        }
        Some(PreparedLever { kind, low, high, step: lever.step, label })
    }

    /// The lever's value in `scenario` now, when it has one within the bounds:
    /// where an optimisation starts.
    pub(crate) fn current(&self, scenario: &pb::Scenario) -> Option<f64> {
        let value = match &self.kind {
            Kind::Measure(i) => scenario.measures.get(*i).map(|m| m.rate_pct),
            Kind::ExchangeRate(e) => {
                scenario.exchange_rates.iter().rev().find(|x| &x.economy == e).map(|x| x.change_pct)
            }
            Kind::Stage(_) | Kind::Elasticity(_) => None,
        };
        value.filter(|v| (self.low..=self.high).contains(v))
    }

    /// Writes `value` into `scenario`.
    pub(crate) fn apply(&self, scenario: &mut pb::Scenario, value: f64) {
        match &self.kind {
            Kind::Measure(i) => {
                if let Some(m) = scenario.measures.get_mut(*i) {
                    m.rate_pct = value;
                }
            }
            Kind::ExchangeRate(economy) => {
                match scenario.exchange_rates.iter_mut().rev().find(|x| &x.economy == economy) {
                    Some(x) => x.change_pct = value,
                    None => scenario
                        .exchange_rates
                        .push(pb::ExchangeRate { economy: economy.clone(), change_pct: value }),
                }
            }
            Kind::Elasticity(spec) => scenario.elasticity_overrides.push(spec.override_with(value)),
            Kind::Stage(s) => {
                let apply = Action::Apply as i32;
                let found =
                    scenario.agreements.iter().rposition(|a| a.agreement == s.agreement && a.action == apply);
                let change = match found {
                    Some(i) => &mut scenario.agreements[i],
                    None => {
                        scenario.agreements.push(pb::AgreementChange {
                            agreement: s.agreement.clone(),
                            action: apply,
                            ..Default::default()
                        });
                        let last = scenario.agreements.len() - 1;
                        &mut scenario.agreements[last]
                    }
                };
                let same = |r: &&mut pb::AgreementStageRate| {
                    r.importer == s.importer && r.sector == s.sector && r.stage_from == s.stage_from
                };
                match change.stage_rates.iter_mut().rev().find(same) {
                    Some(r) => r.rate_pct = value,
                    None => change.stage_rates.push(pb::AgreementStageRate {
                        importer: s.importer.clone(),
                        sector: s.sector.clone(),
                        stage_from: s.stage_from.clone(),
                        rate_pct: value,
                    }),
                }
            }
        }
    }
}
