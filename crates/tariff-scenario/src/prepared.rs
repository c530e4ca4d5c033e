//! A scenario checked against a dataset: every code resolved to a position,
//! every date parsed, every number in range. Refusals name the field and why.

use tariff_model::Solver;
use tariff_proto::v1::{
    self as pb, Authority,
    agreement_change::Action,
    measure::{Mode, RentTo},
};

use crate::{
    Date,
    dataset::{Dataset, Elasticities, LONG_RUN, SectorSet},
    limits::ScenarioLimits,
    pricing::{self, ScenarioPricing},
    uncertainty::{self, Plan},
    violation::{Collector, Violations},
};

/// The highest tariff a measure may set or add, in percent. Anything above is a
/// typo (a rate given as a factor, or in basis points), not a policy.
pub const MAX_RATE_PCT: f64 = 1000.0;

/// A measure with its codes resolved.
#[derive(Debug, Clone)]
pub(crate) struct PreparedMeasure {
    pub(crate) authority: Authority,
    pub(crate) importer: usize,
    /// Indexed by exporter position.
    pub(crate) exporters: Vec<bool>,
    /// Indexed by sector position.
    pub(crate) sectors: Vec<bool>,
    pub(crate) mode: Mode,
    pub(crate) rate_pct: f64,
    pub(crate) excludes: Vec<Authority>,
    pub(crate) window: Window,
    /// A TRQ's quota and rates (`mode` TRQ, `rate_pct` its in-quota rate).
    pub(crate) quota: Option<PreparedQuota>,
    /// Dutiable shares and offsets (content.rs); empty for the whole value.
    pub(crate) content: crate::content::PreparedContent,
}

/// A tariff-rate quota: one sector, the rates and the quota.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PreparedQuota {
    pub(crate) id: String,
    pub(crate) sector: usize,
    pub(crate) in_pct: f64,
    pub(crate) out_pct: f64,
    pub(crate) quota: f64,
    pub(crate) rent_to: RentTo,
}

/// `[from, to)`; open at either end when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) from: Option<Date>,
    pub(crate) to: Option<Date>,
}

impl Window {
    pub(crate) fn contains(&self, date: Date) -> bool {
        self.from.is_none_or(|f| f <= date) && self.to.is_none_or(|t| date < t)
    }
}

/// An agreement applied or suspended by the scenario.
#[derive(Debug, Clone)]
pub(crate) struct PreparedAgreementChange {
    pub(crate) agreement: usize,
    pub(crate) apply: bool,
    pub(crate) window: Window,
    /// Rows of the agreement's schedule at the scenario's rates.
    pub(crate) stage_rates: Vec<PreparedStageRate>,
}

/// An agreement row's stage (every stage when `from` is `None`) at a new rate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PreparedStageRate {
    pub(crate) importer: usize,
    pub(crate) sector: usize,
    pub(crate) from: Option<Date>,
    pub(crate) rate_pct: f64,
}

/// An elasticity override with its targets resolved (`None` = all).
#[derive(Debug, Clone)]
pub(crate) struct PreparedOverride {
    pub(crate) sector: Option<usize>,
    pub(crate) economy: Option<usize>,
    pub(crate) import_demand: Option<f64>,
    pub(crate) substitution: Option<f64>,
    pub(crate) supply: Option<f64>,
}

/// A scenario validated against a dataset, ready to resolve tariffs and solve.
#[derive(Debug, Clone)]
pub struct PreparedScenario<'d> {
    pub(crate) dataset: &'d Dataset,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) measures: Vec<PreparedMeasure>,
    pub(crate) agreement_changes: Vec<PreparedAgreementChange>,
    pub(crate) overrides: Vec<PreparedOverride>,
    /// The evaluation dates, strictly increasing, never empty.
    pub dates: Vec<Date>,
    /// The solver the scenario asks for.
    pub solver: Solver,
    /// What the scenario's `uncertainty` asks for; `None` for nothing.
    pub(crate) uncertainty: Option<Plan>,
    /// The horizon, the market structure per sector and the exchange rates.
    pub(crate) pricing: ScenarioPricing,
    /// What the scenario's `analysis` asks for; `None` for its impact alone.
    pub(crate) analysis: Option<crate::analysis::AnalysisPlan>,
    /// Whether supply chains are followed (`input_costs`; supply_chain.rs).
    pub(crate) input_costs: bool,
    /// With `input_costs`: per economy and sector (economy-major), the share
    /// of the economy's base purchases of the sector that are its producers'
    /// inputs (supply_chain::intermediate_shares); empty otherwise.
    pub(crate) intermediate: Vec<f64>,
}

/// An override's value, its field name, the sign rule and how to say it.
type ElasticityCheck<'a> = (Option<f64>, &'a str, fn(f64) -> bool, &'a str);

/// Where the scenario's economy codes and group tags point.
pub(crate) fn economies_named(dataset: &Dataset, name: &str) -> Option<Vec<usize>> {
    match name {
        "*" => Some((0..dataset.economies.len()).collect()),
        _ => match dataset.economy(name) {
            Some(i) => Some(vec![i]),
            None => dataset.is_group(name).then(|| dataset.group_members(name)),
        },
    }
}

fn parse_date(c: &mut Collector, field: String, text: &str) -> Option<Date> {
    if text.is_empty() {
        return None;
    }
    match text.parse() {
        Ok(date) => Some(date),
        Err(e) => {
            c.push(field, format!("{e}"));
            None
        }
    }
}

pub(crate) fn window(c: &mut Collector, path: &str, from: &str, to: &str) -> Window {
    let window = Window {
        from: parse_date(c, format!("{path}.effective_from"), from),
        to: parse_date(c, format!("{path}.effective_to"), to),
    };
    if let (Some(f), Some(t)) = (window.from, window.to)
        && f >= t
    {
        c.push(format!("{path}.effective_to"), format!("{t} is not after effective_from {f}"));
    }
    window
}

fn parse_authority(c: &mut Collector, field: String, value: i32) -> Authority {
    match Authority::try_from(value) {
        Ok(Authority::Unspecified) => {
            c.push(field, "an authority is required (MFN, FTA, SECTION_232, SECTION_301, SECTION_122, IEEPA_RECIPROCAL, RETALIATION or OTHER)");
            Authority::Unspecified
        }
        Ok(a) => a,
        Err(_) => {
            c.push(field, format!("unknown authority {value}"));
            Authority::Unspecified
        }
    }
}

impl<'d> PreparedScenario<'d> {
    /// Checks every field of `scenario` against `dataset`. The scenario's own
    /// `dataset` field is the caller's business (it chose `dataset` from it).
    pub fn new(dataset: &'d Dataset, scenario: &pb::Scenario) -> Result<PreparedScenario<'d>, Violations> {
        PreparedScenario::with_limits(dataset, scenario, &ScenarioLimits::default())
    }

    /// [`PreparedScenario::with_limits`] for a request from outside (the
    /// gateway, `tariffctl run`): a scenario that changes nothing is refused
    /// too, beside every other violation.
    pub fn for_request(
        dataset: &'d Dataset,
        scenario: &pb::Scenario,
        limits: &ScenarioLimits,
    ) -> Result<PreparedScenario<'d>, Violations> {
        let empty = crate::violation::changes_nothing(scenario);
        match (PreparedScenario::with_limits(dataset, scenario, limits), empty) {
            (Ok(prepared), None) => Ok(prepared),
            (Ok(_), Some(empty)) => Err(Violations(vec![empty])),
            (Err(Violations(mut all)), Some(empty)) => {
                all.insert(0, empty);
                Err(Violations(all))
            }
            (Err(violations), None) => Err(violations),
        }
    }

    /// [`PreparedScenario::new`] with limits other than the defaults.
    pub fn with_limits(
        dataset: &'d Dataset,
        scenario: &pb::Scenario,
        limits: &ScenarioLimits,
    ) -> Result<PreparedScenario<'d>, Violations> {
        let over = limits.check(scenario);
        if !over.is_empty() {
            return Err(Violations(over));
        }
        let mut c = Collector::default();
        let n = dataset.economies.len();
        let measures: Vec<PreparedMeasure> = scenario
            .measures
            .iter()
            .enumerate()
            .map(|(i, m)| prepare_measure(&mut c, dataset, &format!("measures[{i}]"), m))
            .collect();
        crate::quota::check_one_per_sector(&mut c, &measures);
        if measures.iter().any(|m| m.quota.is_some())
            && scenario.uncertainty.as_ref().is_some_and(|u| u.draws > 0)
        {
            c.push("uncertainty.draws", "draws are not computed for scenarios with a TRQ measure yet");
        }

        let mut agreement_changes = Vec::new();
        for (i, a) in scenario.agreements.iter().enumerate() {
            let path = format!("agreements[{i}]");
            let index = dataset.agreements.iter().position(|x| x.code == a.agreement);
            if index.is_none() {
                let known: Vec<&str> = dataset.agreements.iter().map(|x| x.code.as_str()).collect();
                c.push(
                    format!("{path}.agreement"),
                    format!("unknown agreement `{}` (the dataset has {})", a.agreement, known.join(", ")),
                );
            }
            let apply = match Action::try_from(a.action) {
                Ok(Action::Apply) => true,
                Ok(Action::Suspend) => false,
                _ => {
                    c.push(format!("{path}.action"), "must be APPLY or SUSPEND");
                    false
                }
            };
            let window = window(&mut c, &path, &a.effective_from, &a.effective_to);
            let stage_rates = index.map_or_else(Vec::new, |agreement| {
                prepare_stage_rates(&mut c, dataset, &path, agreement, apply, &a.stage_rates)
            });
            if let Some(agreement) = index {
                agreement_changes.push(PreparedAgreementChange { agreement, apply, window, stage_rates });
            }
        }

        let mut overrides = Vec::new();
        for (i, o) in scenario.elasticity_overrides.iter().enumerate() {
            let path = format!("elasticity_overrides[{i}]");
            let sector = match o.sector.as_str() {
                "*" => None,
                code => {
                    let s = dataset.sector(code);
                    if s.is_none() {
                        c.push(format!("{path}.sector"), format!("unknown sector `{code}`"));
                    }
                    s
                }
            };
            let economy = match o.economy.as_str() {
                "" | "*" => None,
                code => {
                    let e = dataset.economy(code);
                    if e.is_none() {
                        c.push(format!("{path}.economy"), format!("unknown economy `{code}`"));
                    }
                    e
                }
            };
            let checks: [ElasticityCheck<'_>; 3] = [
                (o.import_demand_elasticity, "import_demand_elasticity", |v| v < 0.0, "must be negative"),
                (o.substitution_elasticity, "substitution_elasticity", |v| v > 0.0, "must be positive"),
                (o.supply_elasticity, "supply_elasticity", |v| v > 0.0, "must be positive"),
            ];
            for (value, name, ok, why) in checks {
                if let Some(v) = value
                    && (!v.is_finite() || !ok(v))
                {
                    c.push(format!("{path}.{name}"), format!("{v} {why} and finite"));
                }
            }
            if checks.iter().all(|(v, ..)| v.is_none()) {
                c.push(path.clone(), "sets no elasticity");
            }
            overrides.push(PreparedOverride {
                sector,
                economy,
                import_demand: o.import_demand_elasticity,
                substitution: o.substitution_elasticity,
                supply: o.supply_elasticity,
            });
        }

        let mut dates: Vec<Date> = Vec::new();
        for (i, text) in scenario.evaluate_at.iter().enumerate() {
            let field = format!("evaluate_at[{i}]");
            if text.is_empty() {
                c.push(field, "empty date");
                continue;
            }
            if let Some(date) = parse_date(&mut c, field.clone(), text) {
                if let Some(prev) = dates.last().filter(|p| **p >= date) {
                    c.push(
                        field,
                        format!("{date} does not come after {prev}: list dates in increasing order"),
                    );
                }
                dates.push(date);
            }
        }

        let solver = match pb::Solver::try_from(scenario.solver) {
            Ok(pb::Solver::Unspecified | pb::Solver::Exact) => Solver::Exact,
            Ok(pb::Solver::Gsim) => Solver::Gsim,
            Err(_) => {
                c.push("solver", format!("unknown solver {}", scenario.solver));
                Solver::Exact
            }
        };

        let pricing = pricing::prepare(&mut c, dataset, scenario);
        let mut prepared = PreparedScenario {
            dataset,
            id: scenario.id.clone(),
            name: scenario.name.clone(),
            measures,
            agreement_changes,
            overrides,
            dates,
            solver,
            uncertainty: None,
            pricing,
            analysis: None,
            input_costs: false,
            intermediate: Vec::new(),
        };
        if prepared.dates.is_empty() && scenario.evaluate_at.is_empty() {
            prepared.dates.push(prepared.default_date());
        }
        if let Some(u) = &scenario.uncertainty {
            limits.check_samples(&mut c, u.draws, prepared.dates.len(), n);
            prepared.uncertainty = uncertainty::plan(&mut c, dataset, prepared.sector_sets(), u, |s, p| {
                p.of(&prepared.sector_elasticities(s))
            });
        }
        prepared.analysis = crate::analysis::prepare(&mut c, dataset, scenario, &prepared.dates, limits);
        prepared.input_costs = crate::supply_chain::check(&mut c, &prepared, scenario);
        if prepared.input_costs {
            prepared.intermediate = crate::supply_chain::intermediate_shares(dataset);
        }
        debug_assert!(prepared.measures.iter().all(|m| m.exporters.len() == n));
        c.finish(prepared)
    }

    /// Without `evaluate_at`: the latest start of any measure or agreement change,
    /// so every dated step is in force, but never before the end of the base year.
    fn default_date(&self) -> Date {
        let base_end = Date::end_of_year(self.dataset.base_year).unwrap_or(Date::MIN);
        self.measures
            .iter()
            .map(|m| m.window)
            .chain(self.agreement_changes.iter().map(|a| a.window))
            .filter_map(|w| w.from)
            .fold(base_end, Date::max)
    }

    /// The elasticities of one economy in one sector after the scenario's overrides.
    pub fn elasticities(&self, sector: usize, economy: usize) -> Elasticities {
        let mut e = self.dataset.horizon_elasticities(self.pricing.horizon, sector, economy);
        for o in &self.overrides {
            if o.sector.is_none_or(|s| s == sector) && o.economy.is_none_or(|x| x == economy) {
                e.import_demand = o.import_demand.unwrap_or(e.import_demand);
                e.substitution = o.substitution.unwrap_or(e.substitution);
                e.supply = o.supply.unwrap_or(e.supply);
            }
        }
        e
    }

    /// A sector's elasticities after the scenario's sector-wide overrides (those
    /// for every economy): the values uncertainty ranges are relative to.
    fn sector_elasticities(&self, sector: usize) -> Elasticities {
        let mut e = self
            .sector_sets()
            .get(sector)
            .map_or(Elasticities { import_demand: -1.0, substitution: 1.0, supply: 1.0 }, |s| s.elasticities);
        for o in self.overrides.iter().filter(|o| o.economy.is_none()) {
            if o.sector.is_none_or(|s| s == sector) {
                e.import_demand = o.import_demand.unwrap_or(e.import_demand);
                e.substitution = o.substitution.unwrap_or(e.substitution);
                e.supply = o.supply.unwrap_or(e.supply);
            }
        }
        e
    }

    /// The horizon's elasticity set of every sector.
    pub(crate) fn sector_sets(&self) -> &'d [SectorSet] {
        self.dataset.horizons().get(self.pricing.horizon).map_or(&[], |h| h.sectors.as_slice())
    }

    /// The name of the horizon in use.
    pub fn horizon(&self) -> &'d str {
        self.dataset.horizons().get(self.pricing.horizon).map_or(LONG_RUN, |h| h.name.as_str())
    }

    /// The market structure sector `s` is solved with.
    pub fn structure(&self, sector: usize) -> tariff_model::Structure {
        self.pricing.of_sector(sector).structure
    }

    /// The dataset this scenario was checked against.
    pub fn dataset(&self) -> &'d Dataset {
        self.dataset
    }
}

fn prepare_measure(c: &mut Collector, dataset: &Dataset, path: &str, m: &pb::Measure) -> PreparedMeasure {
    let n = dataset.economies.len();
    let authority = parse_authority(c, format!("{path}.authority"), m.authority);
    let importer = dataset.economy(&m.importer).unwrap_or_else(|| {
        c.push(format!("{path}.importer"), format!("unknown economy `{}`", m.importer));
        0
    });

    let mut exporters = vec![false; n];
    if m.exporters.is_empty() {
        c.push(format!("{path}.exporters"), "list at least one exporter, or `*` for every partner");
    }
    for (j, name) in m.exporters.iter().enumerate() {
        match economies_named(dataset, name) {
            Some(list) => list.into_iter().for_each(|i| exporters[i] = true),
            None => c.push(format!("{path}.exporters[{j}]"), format!("unknown economy or group `{name}`")),
        }
    }
    for (j, name) in m.except_exporters.iter().enumerate() {
        match economies_named(dataset, name).filter(|_| name != "*") {
            Some(list) => list.into_iter().for_each(|i| exporters[i] = false),
            None => {
                c.push(format!("{path}.except_exporters[{j}]"), format!("unknown economy or group `{name}`"))
            }
        }
    }

    let mut sectors = vec![false; dataset.sectors.len()];
    if m.sectors.is_empty() {
        c.push(format!("{path}.sectors"), "list at least one sector, or `*` for every sector");
    }
    for (j, code) in m.sectors.iter().enumerate() {
        match (code.as_str(), dataset.sector(code)) {
            ("*", _) => sectors.iter_mut().for_each(|s| *s = true),
            (_, Some(s)) => sectors[s] = true,
            (_, None) => c.push(format!("{path}.sectors[{j}]"), format!("unknown sector `{code}`")),
        }
    }

    let mode = match Mode::try_from(m.mode) {
        Ok(Mode::Unspecified) | Err(_) => {
            c.push(format!("{path}.mode"), "must be ADD, SET, FLOOR or TRQ");
            Mode::Unspecified
        }
        Ok(mode) => mode,
    };
    let quota = crate::quota::prepare_quota(c, path, m, mode, &sectors);
    // A TRQ's rate in force is its in-quota rate, applied as SET would.
    let rate_pct = quota.as_ref().map_or(m.rate_pct, |q| q.in_pct);
    if !m.rate_pct.is_finite() || !(0.0..=MAX_RATE_PCT).contains(&m.rate_pct) {
        c.push(
            format!("{path}.rate_pct"),
            format!("{} is not a rate in percent between 0 and {MAX_RATE_PCT} (2.5 means 2.5%)", m.rate_pct),
        );
    }
    let excludes: Vec<Authority> = m
        .excludes
        .iter()
        .enumerate()
        .map(|(j, &a)| parse_authority(c, format!("{path}.excludes[{j}]"), a))
        .collect();
    if authority != Authority::Unspecified && excludes.contains(&authority) {
        c.push(format!("{path}.excludes"), "a measure cannot exclude its own authority");
    }
    let window = window(c, path, &m.effective_from, &m.effective_to);
    let coverage = crate::content::Coverage { mode, importer, exporters: &exporters, sectors: &sectors };
    let content = crate::content::prepare_content(c, dataset, path, m, &coverage);
    PreparedMeasure {
        authority,
        importer,
        exporters,
        sectors,
        mode,
        rate_pct,
        excludes,
        window,
        quota,
        content,
    }
}

/// An agreement change's `stage_rates`, each naming a row of the agreement's
/// schedule (and a stage of it) that the dataset has.
fn prepare_stage_rates(
    c: &mut Collector,
    dataset: &Dataset,
    path: &str,
    agreement: usize,
    apply: bool,
    rates: &[pb::AgreementStageRate],
) -> Vec<PreparedStageRate> {
    if !apply && !rates.is_empty() {
        c.push(format!("{path}.stage_rates"), "only an APPLY change can set stage rates");
    }
    let Some(schedule) = dataset.agreements.get(agreement) else { return Vec::new() };
    let mut prepared = Vec::new();
    for (j, r) in rates.iter().enumerate() {
        let here = format!("{path}.stage_rates[{j}]");
        let importer = dataset.economy(&r.importer);
        if importer.is_none() {
            c.push(format!("{here}.importer"), format!("unknown economy `{}`", r.importer));
        }
        let sector = dataset.sector(&r.sector);
        if sector.is_none() {
            c.push(format!("{here}.sector"), format!("unknown sector `{}`", r.sector));
        }
        let from = parse_date(c, format!("{here}.stage_from"), &r.stage_from);
        if !r.rate_pct.is_finite() || !(0.0..=MAX_RATE_PCT).contains(&r.rate_pct) {
            c.push(
                format!("{here}.rate_pct"),
                format!("{} is not a rate in percent between 0 and {MAX_RATE_PCT}", r.rate_pct),
            );
        }
        let (Some(importer), Some(sector)) = (importer, sector) else { continue };
        let rows: Vec<_> =
            schedule.rates.iter().filter(|row| row.importer == importer && row.sector == sector).collect();
        if rows.is_empty() {
            c.push(
                here.clone(),
                format!("{} has no schedule row for {} on {}", schedule.code, r.importer, r.sector),
            );
        } else if let Some(from) = from
            && !rows.iter().any(|row| row.stages.iter().any(|(f, _)| *f == from))
        {
            let stages: Vec<String> =
                rows.iter().flat_map(|row| row.stages.iter().map(|(f, _)| f.to_string())).collect();
            c.push(
                format!("{here}.stage_from"),
                format!(
                    "no stage of {} for {} on {} starts on {from} (stages: {})",
                    schedule.code,
                    r.importer,
                    r.sector,
                    stages.join(", ")
                ),
            );
        }
        prepared.push(PreparedStageRate { importer, sector, from, rate_pct: r.rate_pct });
    }
    prepared
}
