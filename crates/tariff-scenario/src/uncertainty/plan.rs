//! The scenario's `uncertainty` checked against the dataset: every elasticity
//! group (a sector and a parameter) with the range it is drawn from, the
//! spread applied. Refusals name the field, like the rest of validation.

use tariff_proto::v1::{self as pb, ElasticityParameter, uncertainty::Distribution};

use crate::{
    dataset::{Dataset, Elasticities, ElasticityRange, SectorSet},
    violation::Collector,
};

/// Draws per chunk when the scenario leaves `chunk_draws` at 0.
pub const DEFAULT_CHUNK_DRAWS: u32 = 500;

/// The draws per chunk a scenario's uncertainty asks for (its default when unset).
pub fn chunk_draws(u: &pb::Uncertainty) -> u32 {
    if u.chunk_draws == 0 { DEFAULT_CHUNK_DRAWS } else { u.chunk_draws }
}

/// One of a sector's three elasticities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parameter {
    Substitution,
    ImportDemand,
    Supply,
}

/// The parameters in group order: a group's index is `sector * 3 + position here`.
pub(crate) const PARAMETERS: [Parameter; 3] =
    [Parameter::Substitution, Parameter::ImportDemand, Parameter::Supply];

impl Parameter {
    fn from_proto(value: i32) -> Option<Parameter> {
        match ElasticityParameter::try_from(value) {
            Ok(ElasticityParameter::Substitution) => Some(Parameter::Substitution),
            Ok(ElasticityParameter::ImportDemand) => Some(Parameter::ImportDemand),
            Ok(ElasticityParameter::Supply) => Some(Parameter::Supply),
            Ok(ElasticityParameter::Unspecified) | Err(_) => None,
        }
    }

    pub(crate) fn proto(self) -> ElasticityParameter {
        match self {
            Parameter::Substitution => ElasticityParameter::Substitution,
            Parameter::ImportDemand => ElasticityParameter::ImportDemand,
            Parameter::Supply => ElasticityParameter::Supply,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Parameter::Substitution => "substitution",
            Parameter::ImportDemand => "import-demand",
            Parameter::Supply => "supply",
        }
    }

    fn position(self) -> usize {
        match self {
            Parameter::Substitution => 0,
            Parameter::ImportDemand => 1,
            Parameter::Supply => 2,
        }
    }

    pub(crate) fn of(self, e: &Elasticities) -> f64 {
        match self {
            Parameter::Substitution => e.substitution,
            Parameter::ImportDemand => e.import_demand,
            Parameter::Supply => e.supply,
        }
    }

    fn range(self, sector: &SectorSet) -> ElasticityRange {
        match self {
            Parameter::Substitution => sector.ranges.substitution,
            Parameter::ImportDemand => sector.ranges.import_demand,
            Parameter::Supply => sector.ranges.supply,
        }
    }
}

/// The index of a group in [`Plan::groups`] and in a draw's factors.
pub(crate) fn group_index(sector: usize, parameter: Parameter) -> usize {
    sector * PARAMETERS.len() + parameter.position()
}

/// How a group's factor is distributed between its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Triangular,
    LogNormal,
    Uniform,
}

impl Shape {
    fn from_proto(value: i32) -> Option<Option<Shape>> {
        match Distribution::try_from(value) {
            Ok(Distribution::Unspecified) => Some(None),
            Ok(Distribution::Triangular) => Some(Some(Shape::Triangular)),
            Ok(Distribution::LogNormal) => Some(Some(Shape::LogNormal)),
            Ok(Distribution::Uniform) => Some(Some(Shape::Uniform)),
            Err(_) => None,
        }
    }

    pub(crate) fn proto(self) -> Distribution {
        match self {
            Shape::Triangular => Distribution::Triangular,
            Shape::LogNormal => Distribution::LogNormal,
            Shape::Uniform => Distribution::Uniform,
        }
    }
}

/// One elasticity group and what its factor is drawn from. Factors multiply
/// every economy's elasticity of the group; 1 is the point estimate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    pub(crate) sector: usize,
    pub(crate) parameter: Parameter,
    /// The sector-wide value in use (the dataset's, or the scenario's override).
    pub(crate) value: f64,
    /// The factors of the range's numeric low and high ends, spread applied
    /// (for an import-demand elasticity, which is negative, `low > 1 > high`).
    pub(crate) factor_at_low: f64,
    pub(crate) factor_at_high: f64,
    pub(crate) shape: Shape,
}

impl Group {
    /// The smallest and largest factor.
    pub(crate) fn factor_bounds(&self) -> (f64, f64) {
        (self.factor_at_low.min(self.factor_at_high), self.factor_at_low.max(self.factor_at_high))
    }

    pub(crate) fn proto(&self, dataset: &Dataset) -> pb::ElasticityGroup {
        pb::ElasticityGroup {
            sector: dataset.sectors.get(self.sector).map(|s| s.code.clone()).unwrap_or_default(),
            parameter: self.parameter.proto().into(),
            low: self.value * self.factor_at_low,
            value: self.value,
            high: self.value * self.factor_at_high,
            distribution: self.shape.proto().into(),
        }
    }
}

/// What the scenario's uncertainty asks for, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) draws: u32,
    pub(crate) seed: u64,
    pub(crate) spread: f64,
    pub(crate) sensitivity: bool,
    pub(crate) chunk_draws: u32,
    /// Every group, indexed by [`group_index`].
    pub(crate) groups: Vec<Group>,
}

impl Plan {
    pub(crate) fn summary(&self, dataset: &Dataset) -> pb::UncertaintySummary {
        pb::UncertaintySummary {
            draws: self.draws,
            seed: self.seed,
            spread: self.spread,
            groups: self.groups.iter().map(|g| g.proto(dataset)).collect(),
        }
    }
}

/// A group's range before the spread: the factors of its ends and its shape
/// (`None` = the scenario's distribution).
#[derive(Debug, Clone, Copy)]
struct Raw {
    at_low: f64,
    at_high: f64,
    shape: Option<Shape>,
}

/// Whether `v` has the sign an elasticity of this kind needs.
fn right_sign(parameter: Parameter, v: f64) -> bool {
    match parameter {
        Parameter::ImportDemand => v < 0.0,
        Parameter::Substitution | Parameter::Supply => v > 0.0,
    }
}

/// Checks `u` and makes the plan; `None` when nothing is asked for (no draws,
/// no sensitivity). `sets` are the horizon's elasticities and ranges per
/// sector; `value_in_use(sector, parameter)` is the sector-wide value after the
/// scenario's overrides.
pub(crate) fn plan(
    c: &mut Collector,
    dataset: &Dataset,
    sets: &[SectorSet],
    u: &pb::Uncertainty,
    value_in_use: impl Fn(usize, Parameter) -> f64,
) -> Option<Plan> {
    let spread = u.spread.unwrap_or(1.0);
    let spread_ok = spread.is_finite() && spread >= 0.0;
    if !spread_ok {
        c.push(
            "uncertainty.spread",
            format!("{spread} must be a finite number >= 0 (1 is the published ranges)"),
        );
    }
    let default_shape = Shape::from_proto(u.distribution).unwrap_or_else(|| {
        c.push("uncertainty.distribution", format!("unknown distribution {}", u.distribution));
        None
    });

    let mut raw: Vec<Raw> = Vec::with_capacity(sets.len() * PARAMETERS.len());
    for sector in sets {
        for p in PARAMETERS {
            let (value, range) = (p.of(&sector.elasticities), p.range(sector));
            raw.push(Raw { at_low: range.low / value, at_high: range.high / value, shape: None });
        }
    }
    for (i, r) in u.ranges.iter().enumerate() {
        apply_range(c, dataset, &format!("uncertainty.ranges[{i}]"), r, &value_in_use, &mut raw);
    }

    let shape_of = |r: &Raw| r.shape.or(default_shape).unwrap_or(Shape::Triangular);
    let groups: Vec<Group> = raw
        .iter()
        .enumerate()
        .map(|(g, r)| {
            let (sector, parameter) = (g / PARAMETERS.len(), PARAMETERS[g % PARAMETERS.len()]);
            let shape = shape_of(r);
            let scaled = |f: f64| scale(f, spread, shape);
            Group {
                sector,
                parameter,
                value: value_in_use(sector, parameter),
                factor_at_low: scaled(r.at_low),
                factor_at_high: scaled(r.at_high),
                shape,
            }
        })
        .collect();
    if spread_ok {
        check_spread(c, dataset, spread, &raw, &groups, shape_of);
    }
    (u.draws > 0 || u.sensitivity).then_some(Plan {
        draws: u.draws,
        seed: u.seed,
        spread,
        sensitivity: u.sensitivity,
        chunk_draws: chunk_draws(u),
        groups,
    })
}

/// The factor of a range's end `f` with the spread applied: the width around 1
/// scaled, in logs for log-normal ranges (so that any spread keeps it positive).
fn scale(f: f64, spread: f64, shape: Shape) -> f64 {
    // 1 leaves the published ends exactly as they are.
    if spread == 1.0 || !spread.is_finite() {
        return f;
    }
    match shape {
        Shape::LogNormal => f.powf(spread),
        Shape::Triangular | Shape::Uniform => 1.0 + spread * (f - 1.0),
    }
}

/// Bounded ranges widened past zero would draw elasticities of the wrong sign:
/// say how far the spread may go.
fn check_spread(
    c: &mut Collector,
    dataset: &Dataset,
    spread: f64,
    raw: &[Raw],
    groups: &[Group],
    shape_of: impl Fn(&Raw) -> Shape,
) {
    let mut worst: Option<(f64, &Group)> = None;
    for (r, g) in raw.iter().zip(groups) {
        let smallest = r.at_low.min(r.at_high);
        if shape_of(r) != Shape::LogNormal && smallest < 1.0 {
            let limit = 1.0 / (1.0 - smallest);
            if worst.is_none_or(|(w, _)| limit < w) {
                worst = Some((limit, g));
            }
        }
    }
    if let Some((limit, g)) = worst
        && spread >= limit
    {
        let sector = dataset.sectors.get(g.sector).map_or("?", |s| s.code.as_str());
        c.push(
            "uncertainty.spread",
            format!(
                "{spread} takes the {sector} {} elasticity's range past zero: with TRIANGULAR or UNIFORM \
                 ranges the spread must stay under {limit:.3} (LOG_NORMAL scales in logs and takes any spread)",
                g.parameter.name()
            ),
        );
    }
}

/// One entry of `uncertainty.ranges`, checked and applied to the groups it names.
fn apply_range(
    c: &mut Collector,
    dataset: &Dataset,
    path: &str,
    r: &pb::ElasticityRange,
    value_in_use: &impl Fn(usize, Parameter) -> f64,
    raw: &mut [Raw],
) {
    let parameter = Parameter::from_proto(r.parameter);
    if parameter.is_none() {
        c.push(format!("{path}.parameter"), "must be SUBSTITUTION, IMPORT_DEMAND or SUPPLY");
    }
    let shape = Shape::from_proto(r.distribution).unwrap_or_else(|| {
        c.push(format!("{path}.distribution"), format!("unknown distribution {}", r.distribution));
        None
    });
    let sectors: Vec<usize> = match r.sector.as_str() {
        "*" => {
            if r.low.is_some() || r.high.is_some() {
                c.push(
                    format!("{path}.sector"),
                    "`*` takes a distribution only: low and high are values of one sector's elasticity",
                );
                return;
            }
            (0..dataset.sectors.len()).collect()
        }
        code => match dataset.sector(code) {
            Some(s) => vec![s],
            None => {
                c.push(format!("{path}.sector"), format!("unknown sector `{code}`"));
                return;
            }
        },
    };
    let Some(parameter) = parameter else { return };
    let ends = match (r.low, r.high) {
        (None, None) => None,
        (Some(low), Some(high)) => Some((low, high)),
        (Some(_), None) => {
            c.push(format!("{path}.high"), "low is set: set high too, or neither");
            return;
        }
        (None, Some(_)) => {
            c.push(format!("{path}.low"), "high is set: set low too, or neither");
            return;
        }
    };
    if r.distribution == 0 && ends.is_none() {
        c.push(path.to_owned(), "sets neither a range (low and high) nor a distribution");
    }
    for s in sectors {
        let Some(slot) = raw.get_mut(group_index(s, parameter)) else { continue };
        if let Some((low, high)) = ends {
            let value = value_in_use(s, parameter);
            let mut bad = false;
            for (name, v) in [("low", low), ("high", high)] {
                if !v.is_finite() || !right_sign(parameter, v) {
                    let sign = if parameter == Parameter::ImportDemand { "negative" } else { "positive" };
                    c.push(
                        format!("{path}.{name}"),
                        format!("{v} must be finite and {sign}, like the elasticity"),
                    );
                    bad = true;
                }
            }
            if bad {
                return;
            }
            if !(low <= value && value <= high) {
                c.push(
                    path.to_owned(),
                    format!(
                        "low {low} and high {high} must bracket the {} elasticity in use, {value}",
                        parameter.name()
                    ),
                );
                return;
            }
            slot.at_low = low / value;
            slot.at_high = high / value;
        }
        if shape.is_some() {
            slot.shape = shape;
        }
    }
}
