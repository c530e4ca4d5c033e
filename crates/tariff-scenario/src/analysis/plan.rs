//! An analysis checked against the dataset and the scenario: what it asks,
//! with every code resolved and every bound in range. Refusals name the field.

use tariff_proto::v1::{self as pb, analysis::Kind, goal_seek::Goal};

use super::{
    DEFAULT_OPTIMIZE_EVALUATIONS, DEFAULT_SEEK_EVALUATIONS, MAX_CONTRIBUTION_FIGURES, MAX_EVALUATIONS,
    MAX_LEVERS,
    contributions::{ContributionsPlan, MAX_EXACT_PLAYERS, MAX_PLAYERS},
    figure::FigureAt,
    lever::PreparedLever,
    optimize::Limit,
};
use crate::{
    Date, PreparedScenario, ScenarioLimits, dataset::Dataset, views::FlowSelection, violation::Collector,
};

/// What a goal-seek aims at.
#[derive(Debug, Clone)]
pub(super) enum SeekGoal {
    Value(f64),
    Economy(FigureAt),
    /// Another scenario (its dates those of the analysed one).
    Scenario(Box<pb::Scenario>),
}

#[derive(Debug, Clone)]
pub(super) struct SeekPlan {
    pub(super) lever: PreparedLever,
    pub(super) target: FigureAt,
    pub(super) goal: SeekGoal,
    pub(super) tolerance: f64,
    pub(super) max_evaluations: u32,
}

#[derive(Debug, Clone)]
pub(super) struct OptimizePlan {
    pub(super) levers: Vec<PreparedLever>,
    pub(super) objective: Vec<(FigureAt, f64)>,
    pub(super) maximize: bool,
    pub(super) constraints: Vec<(FigureAt, Limit)>,
    pub(super) max_evaluations: u32,
}

#[derive(Debug, Clone)]
pub(super) enum Question {
    Contributions(ContributionsPlan),
    Seek(Box<SeekPlan>),
    Optimize(OptimizePlan),
}

impl Question {
    /// Every figure the analysis reads (what each run must keep).
    fn figures(&self) -> Vec<&FigureAt> {
        match self {
            Question::Contributions(_) => Vec::new(),
            Question::Seek(s) => {
                let goal = match &s.goal {
                    SeekGoal::Economy(f) => Some(f),
                    _ => None,
                };
                std::iter::once(&s.target).chain(goal).collect()
            }
            Question::Optimize(o) => {
                o.objective.iter().map(|(f, _)| f).chain(o.constraints.iter().map(|(f, _)| f)).collect()
            }
        }
    }
}

/// A scenario's analysis, checked.
#[derive(Debug, Clone)]
pub(crate) struct AnalysisPlan {
    /// The scenario without its analysis and uncertainty, dates written out.
    pub(super) base: pb::Scenario,
    pub(super) limits: ScenarioLimits,
    /// What each run keeps: the summary, or the flows the figures read.
    pub(super) selection: FlowSelection,
    pub(super) question: Question,
}

/// Checks the scenario's `analysis` (when it has one) against the dataset and
/// the scenario's `dates`.
pub(crate) fn prepare(
    c: &mut Collector,
    dataset: &Dataset,
    scenario: &pb::Scenario,
    dates: &[Date],
    limits: &ScenarioLimits,
) -> Option<AnalysisPlan> {
    let analysis = scenario.analysis.as_ref()?;
    if scenario.uncertainty.is_some() {
        c.push("uncertainty", "an analysis runs at the point estimate: leave `uncertainty` out");
    }
    let base = pb::Scenario {
        analysis: None,
        uncertainty: None,
        evaluate_at: dates.iter().map(Date::to_string).collect(),
        ..scenario.clone()
    };
    let on = On { dataset, scenario, base: &base, dates, limits };
    let question = match analysis.kind.as_ref() {
        None => {
            c.push("analysis", "name the analysis: contributions, seek or optimize");
            return None;
        }
        Some(Kind::Contributions(spec)) => contributions(c, &on, spec),
        Some(Kind::Seek(s)) => seek(c, &on, s)?,
        Some(Kind::Optimize(o)) => optimize(c, &on, o)?,
    };
    let selection = selection_for(dataset, &question.figures());
    Some(AnalysisPlan { base, limits: limits.clone(), selection, question })
}

/// What every kind of analysis is checked against.
#[derive(Clone, Copy)]
struct On<'a> {
    dataset: &'a Dataset,
    scenario: &'a pb::Scenario,
    /// The scenario without its analysis, dates written out.
    base: &'a pb::Scenario,
    dates: &'a [Date],
    limits: &'a ScenarioLimits,
}

fn contributions(c: &mut Collector, on: &On<'_>, spec: &pb::ContributionsSpec) -> Question {
    let plan = ContributionsPlan::new(on.scenario, spec);
    // Every run keeps each economy's headline figures at each date.
    let width = (on.dates.len() * on.dataset.economies.len() * crate::FIGURES.len()) as u64;
    let figures =
        u64::from(plan.units()).saturating_mul(u64::from(plan.runs_per_unit())).saturating_mul(width);
    if figures > MAX_CONTRIBUTION_FIGURES {
        let what = if plan.exact { "exact_up_to (sample instead)" } else { "permutations" };
        c.push(
            format!("analysis.contributions.{}", if plan.exact { "exact_up_to" } else { "permutations" }),
            format!(
                "{} runs of {width} figures each ({} economies x {} dates x {}) is {figures} figures, above \
                 {MAX_CONTRIBUTION_FIGURES}: lower {what}, or the dates",
                u64::from(plan.units()) * u64::from(plan.runs_per_unit()),
                on.dataset.economies.len(),
                on.dates.len(),
                crate::FIGURES.len()
            ),
        );
    }
    if plan.players() == 0 {
        c.push(
            "analysis.contributions",
            "the scenario has no measure or agreement change to share the change among",
        );
    }
    if plan.players() > MAX_PLAYERS {
        c.push(
            "measures",
            format!(
                "{} measures and agreement changes: contributions take at most {MAX_PLAYERS}",
                plan.players()
            ),
        );
    }
    if spec.permutations > MAX_EVALUATIONS {
        c.push(
            "analysis.contributions.permutations",
            format!("{} is above {MAX_EVALUATIONS}", spec.permutations),
        );
    }
    if spec.exact_up_to > MAX_EXACT_PLAYERS {
        c.push(
            "analysis.contributions.exact_up_to",
            format!("{} is above {MAX_EXACT_PLAYERS} (2^16 runs)", spec.exact_up_to),
        );
    }
    Question::Contributions(plan)
}

fn seek(c: &mut Collector, on: &On<'_>, s: &pb::GoalSeek) -> Option<Question> {
    let On { dataset, scenario, base, dates, limits } = *on;
    let path = "analysis.seek";
    let lever = match &s.lever {
        Some(l) => PreparedLever::prepare(c, dataset, base, &format!("{path}.lever"), l),
        None => {
            c.push(format!("{path}.lever"), "a goal-seek needs a lever");
            None
        }
    };
    let target = figure_ref(c, dataset, dates, &format!("{path}.target"), s.target.as_ref());
    let goal = match (&s.goal, &target) {
        (None, _) => {
            c.push(format!("{path}.goal"), "give the goal: a value, an economy or a scenario");
            None
        }
        (Some(Goal::Value(v)), _) if !v.is_finite() => {
            c.push(format!("{path}.value"), format!("{v} is not a finite value"));
            None
        }
        (Some(Goal::Value(v)), _) => Some(SeekGoal::Value(*v)),
        (Some(Goal::Economy(code)), Some(t)) => match dataset.economy(code) {
            Some(e) if e != t.economy => Some(SeekGoal::Economy(t.for_economy(dataset, e))),
            Some(_) => {
                c.push(format!("{path}.economy"), "the goal's economy is the target's own");
                None
            }
            None => {
                c.push(format!("{path}.economy"), format!("unknown economy `{code}`"));
                None
            }
        },
        (Some(Goal::Economy(_)), None) => None,
        (Some(Goal::Scenario(other)), _) => {
            let other = pb::Scenario { evaluate_at: base.evaluate_at.clone(), ..(**other).clone() };
            let same = |name: &str| {
                name.is_empty()
                    || name == scenario.dataset
                    || name == dataset.id
                    || name.strip_prefix(dataset.id.as_str()).is_some_and(|rest| rest.starts_with('@'))
            };
            if !same(&other.dataset) {
                c.push(
                    format!("{path}.scenario.dataset"),
                    format!("`{}` is not the analysed scenario's dataset: leave it empty", other.dataset),
                );
            }
            if other.analysis.is_some() || other.uncertainty.is_some() {
                c.push(
                    format!("{path}.scenario"),
                    "the goal's scenario may have no analysis or uncertainty of its own",
                );
            }
            if let Err(v) = PreparedScenario::with_limits(
                dataset,
                &pb::Scenario { analysis: None, ..other.clone() },
                limits,
            ) {
                for f in v.0 {
                    c.push(format!("{path}.scenario.{}", f.field), f.reason);
                }
            }
            Some(SeekGoal::Scenario(Box::new(other)))
        }
    };
    if !s.tolerance.is_finite() || s.tolerance < 0.0 {
        c.push(format!("{path}.tolerance"), format!("{} is not 0 or a positive tolerance", s.tolerance));
    }
    let goal_size = match &goal {
        Some(SeekGoal::Value(v)) => v.abs(),
        _ => 0.0,
    };
    let tolerance = if s.tolerance > 0.0 { s.tolerance } else { 1e-6 * goal_size.max(1.0) };
    if let Some(l) = &lever {
        check_ends(c, dataset, base, limits, &format!("{path}.lever"), std::slice::from_ref(l));
    }
    let max_evaluations = if s.max_evaluations == 0 { DEFAULT_SEEK_EVALUATIONS } else { s.max_evaluations };
    Some(Question::Seek(Box::new(SeekPlan {
        lever: lever?,
        target: target?,
        goal: goal?,
        tolerance,
        max_evaluations,
    })))
}

fn optimize(c: &mut Collector, on: &On<'_>, o: &pb::Optimization) -> Option<Question> {
    let On { dataset, base, dates, limits, .. } = *on;
    let path = "analysis.optimize";
    if o.levers.is_empty() || o.levers.len() > MAX_LEVERS {
        c.push(format!("{path}.levers"), format!("give 1 to {MAX_LEVERS} levers ({} given)", o.levers.len()));
    }
    let levers: Vec<Option<PreparedLever>> = o
        .levers
        .iter()
        .enumerate()
        .map(|(i, l)| PreparedLever::prepare(c, dataset, base, &format!("{path}.levers[{i}]"), l))
        .collect();
    let levers: Option<Vec<PreparedLever>> = levers.into_iter().collect();
    if let Some(levers) = &levers {
        check_ends(c, dataset, base, limits, &format!("{path}.levers"), levers);
    }
    if o.objective.is_empty() {
        c.push(format!("{path}.objective"), "give at least one figure to maximise or minimise");
    }
    let mut objective = Vec::new();
    for (i, w) in o.objective.iter().enumerate() {
        let here = format!("{path}.objective[{i}]");
        if !w.weight.is_finite() {
            c.push(format!("{here}.weight"), format!("{} is not a finite weight", w.weight));
        }
        let weight = if w.weight == 0.0 { 1.0 } else { w.weight };
        if let Some(f) = figure_ref(c, dataset, dates, &format!("{here}.figure"), w.figure.as_ref()) {
            objective.push((f, weight));
        }
    }
    let mut constraints = Vec::new();
    for (i, b) in o.constraints.iter().enumerate() {
        let here = format!("{path}.constraints[{i}]");
        let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
        if (b.min.is_none() && b.max.is_none()) || !finite(b.min) || !finite(b.max) {
            c.push(here.clone(), "give a finite min, max or both");
        } else if let (Some(lo), Some(hi)) = (b.min, b.max)
            && lo > hi
        {
            c.push(format!("{here}.max"), format!("{hi} is below min {lo}"));
        }
        if let Some(f) = figure_ref(c, dataset, dates, &format!("{here}.figure"), b.figure.as_ref()) {
            constraints.push((f, Limit { min: b.min, max: b.max }));
        }
    }
    check_evaluations(c, &format!("{path}.max_evaluations"), o.max_evaluations);
    let max_evaluations =
        if o.max_evaluations == 0 { DEFAULT_OPTIMIZE_EVALUATIONS } else { o.max_evaluations };
    Some(Question::Optimize(OptimizePlan {
        levers: levers?,
        objective,
        maximize: o.maximize,
        constraints,
        max_evaluations,
    }))
}

fn check_evaluations(c: &mut Collector, field: &str, asked: u32) {
    if asked > MAX_EVALUATIONS {
        c.push(field, format!("{asked} is above {MAX_EVALUATIONS}"));
    }
}

fn figure_ref(
    c: &mut Collector,
    dataset: &Dataset,
    dates: &[Date],
    path: &str,
    r: Option<&pb::FigureRef>,
) -> Option<FigureAt> {
    match r {
        Some(r) => FigureAt::prepare(c, dataset, dates, path, r),
        None => {
            c.push(path, "name the figure");
            None
        }
    }
}

/// Both ends of every lever must give a valid scenario (a rate above the
/// limit, an elasticity of the wrong sign would fail every run between).
fn check_ends(
    c: &mut Collector,
    dataset: &Dataset,
    base: &pb::Scenario,
    limits: &ScenarioLimits,
    path: &str,
    levers: &[PreparedLever],
) {
    for (end, pick) in [("low", 0), ("high", 1)] {
        let mut variant = base.clone();
        for l in levers {
            l.apply(&mut variant, if pick == 0 { l.low } else { l.high });
        }
        if let Err(v) = PreparedScenario::with_limits(dataset, &variant, limits) {
            for f in v.0 {
                c.push(path, format!("at the {end} end of the levers, {}: {}", f.field, f.reason));
            }
        }
    }
}

/// The summary, or, when a figure reads a flow, the flows of those sectors and economies.
fn selection_for(dataset: &Dataset, figures: &[&FigureAt]) -> FlowSelection {
    let flows: Vec<&FigureAt> = figures.iter().copied().filter(|f| f.needs_flows()).collect();
    let (view, filter) = if flows.is_empty() {
        (pb::ResultView::Summary, None)
    } else {
        let mut economies: Vec<String> = Vec::new();
        let mut sectors: Vec<String> = Vec::new();
        for f in &flows {
            economies.push(dataset.economies[f.economy].code.clone());
            economies.extend(f.importer.map(|m| dataset.economies[m].code.clone()));
            sectors.extend(f.sector.map(|s| dataset.sectors[s].code.clone()));
        }
        (pb::ResultView::Full, Some(pb::FlowFilter { economies, sectors, top: 0 }))
    };
    let options = pb::ResultOptions { view: view.into(), flows: filter };
    FlowSelection::resolve(dataset, &options, view).unwrap_or_else(|_| FlowSelection::all())
}
