//! Analyses of a scenario beyond its impact (docs/model.md, "Contributions of
//! each measure" and "Search"), asked for by its `analysis`:
//!
//! - contributions ([`contributions`]): the Shapley value of each measure and
//!   agreement change to every headline figure of every economy and date;
//! - goal-seek ([`seek`]): the value of one lever at which a figure equals a
//!   goal, by Brent's method;
//! - optimisation ([`optimize`]): lever values maximising or minimising a
//!   weighted sum of figures under bounds on others, by COBYLA.
//!
//! Each runs variants of the scenario ([`runs`]) with levers ([`lever`])
//! written into it, and reads figures ([`figure`]) from their results. The
//! result is the scenario's own impact (for a search: at the values found)
//! with the answer in `ScenarioResult.analysis`.
//!
//! Contributions are a list of units computed from their index alone, which a
//! job may split across workers: [`PreparedScenario::analysis_chunks`],
//! [`PreparedScenario::analysis_samples`] and
//! [`PreparedScenario::merge_analysis`], which [`PreparedScenario::evaluate`]
//! also uses, so the bytes are the same either way. Searches are sequential
//! (each run depends on the last) and run in one piece.

mod contributions;
mod figure;
mod lever;
mod optimize;
mod runs;
mod seek;

use std::{
    collections::HashMap,
    ops::{ControlFlow, Range},
    sync::atomic::{AtomicBool, AtomicU32, Ordering},
    time::Duration,
};

use tariff_proto::v1::{self as pb, analysis::Kind, goal_seek::Goal};

use contributions::ContributionsPlan;
pub use contributions::{DEFAULT_EXACT_UP_TO, DEFAULT_PERMUTATIONS, MAX_EXACT_PLAYERS, MAX_PLAYERS};
use figure::FigureAt;
use lever::PreparedLever;
use optimize::{Axis, Limit};
use runs::Runs;

use crate::{
    Date, EvaluateError, EvaluateOptions, PreparedScenario, Progress, ScenarioLimits, Violations,
    dataset::Dataset, views::FlowSelection, violation::Collector,
};

/// The progress stage of an analysis's runs.
pub const EVALUATIONS_STAGE: &str = tariff_proto::stage::EVALUATIONS;
/// Units of contributions per chunk when a job is split across workers.
pub const CHUNK_UNITS: u32 = 64;
/// Runs of a goal-seek unless the request says otherwise.
pub const DEFAULT_SEEK_EVALUATIONS: u32 = 100;
/// Runs of an optimisation unless the request says otherwise.
pub const DEFAULT_OPTIMIZE_EVALUATIONS: u32 = 500;
/// Levers of one optimisation at most.
pub const MAX_LEVERS: usize = 20;
/// Runs of a search, and permutations of sampled contributions, at most: a
/// request above is a typo, and would hold a worker for hours.
pub const MAX_EVALUATIONS: u32 = 100_000;

/// Why one run of an analysis failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AnalysisError {
    #[error(transparent)]
    Invalid(#[from] Violations),
    #[error(transparent)]
    Evaluate(#[from] EvaluateError),
}

impl AnalysisError {
    /// As the evaluation's error, naming the run.
    fn in_run(self, run: String) -> EvaluateError {
        match self {
            AnalysisError::Evaluate(EvaluateError::Cancelled) => EvaluateError::Cancelled,
            AnalysisError::Evaluate(e) => EvaluateError::Analysis { run, reason: e.to_string() },
            AnalysisError::Invalid(v) => EvaluateError::Analysis { run, reason: v.to_string() },
        }
    }
}

/// What a goal-seek aims at.
#[derive(Debug, Clone)]
enum SeekGoal {
    Value(f64),
    Economy(FigureAt),
    /// Another scenario (its dates those of the analysed one).
    Scenario(Box<pb::Scenario>),
}

#[derive(Debug, Clone)]
struct SeekPlan {
    lever: PreparedLever,
    target: FigureAt,
    goal: SeekGoal,
    tolerance: f64,
    max_evaluations: u32,
}

#[derive(Debug, Clone)]
struct OptimizePlan {
    levers: Vec<PreparedLever>,
    objective: Vec<(FigureAt, f64)>,
    maximize: bool,
    constraints: Vec<(FigureAt, Limit)>,
    max_evaluations: u32,
}

#[derive(Debug, Clone)]
enum Question {
    Contributions(ContributionsPlan),
    Seek(Box<SeekPlan>),
    Optimize(OptimizePlan),
}

/// A scenario's analysis, checked.
#[derive(Debug, Clone)]
pub(crate) struct AnalysisPlan {
    /// The scenario without its analysis and uncertainty, dates written out.
    base: pb::Scenario,
    limits: ScenarioLimits,
    /// What each run keeps: the summary, or the flows the figures read.
    selection: FlowSelection,
    question: Question,
}

/// Checks the scenario's `analysis` (when it has one) against the dataset and
/// the scenario's `dates`.
pub(crate) fn plan(
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
    let mut figures: Vec<FigureAt> = Vec::new();
    let question = match analysis.kind.as_ref() {
        None => {
            c.push("analysis", "name the analysis: contributions, seek or optimize");
            return None;
        }
        Some(Kind::Contributions(spec)) => {
            let plan = ContributionsPlan::new(scenario, spec);
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
        Some(Kind::Seek(s)) => {
            let path = "analysis.seek";
            let lever = match &s.lever {
                Some(l) => PreparedLever::prepare(c, dataset, &base, &format!("{path}.lever"), l),
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
                            || name
                                .strip_prefix(dataset.id.as_str())
                                .is_some_and(|rest| rest.starts_with('@'))
                    };
                    if !same(&other.dataset) {
                        c.push(
                            format!("{path}.scenario.dataset"),
                            format!(
                                "`{}` is not the analysed scenario's dataset: leave it empty",
                                other.dataset
                            ),
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
                c.push(
                    format!("{path}.tolerance"),
                    format!("{} is not 0 or a positive tolerance", s.tolerance),
                );
            }
            let goal_size = match &goal {
                Some(SeekGoal::Value(v)) => v.abs(),
                _ => 0.0,
            };
            let tolerance = if s.tolerance > 0.0 { s.tolerance } else { 1e-6 * goal_size.max(1.0) };
            if let Some(l) = &lever {
                check_ends(c, dataset, &base, limits, &format!("{path}.lever"), std::slice::from_ref(l));
            }
            figures.extend(target.iter().cloned());
            if let Some(SeekGoal::Economy(f)) = &goal {
                figures.push(f.clone());
            }
            let max_evaluations =
                if s.max_evaluations == 0 { DEFAULT_SEEK_EVALUATIONS } else { s.max_evaluations };
            Question::Seek(Box::new(SeekPlan {
                lever: lever?,
                target: target?,
                goal: goal?,
                tolerance,
                max_evaluations,
            }))
        }
        Some(Kind::Optimize(o)) => {
            let path = "analysis.optimize";
            if o.levers.is_empty() || o.levers.len() > MAX_LEVERS {
                c.push(
                    format!("{path}.levers"),
                    format!("give 1 to {MAX_LEVERS} levers ({} given)", o.levers.len()),
                );
            }
            let levers: Vec<Option<PreparedLever>> = o
                .levers
                .iter()
                .enumerate()
                .map(|(i, l)| PreparedLever::prepare(c, dataset, &base, &format!("{path}.levers[{i}]"), l))
                .collect();
            let levers: Option<Vec<PreparedLever>> = levers.into_iter().collect();
            if let Some(levers) = &levers {
                check_ends(c, dataset, &base, limits, &format!("{path}.levers"), levers);
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
            figures.extend(objective.iter().map(|(f, _)| f.clone()));
            figures.extend(constraints.iter().map(|(f, _)| f.clone()));
            check_evaluations(c, &format!("{path}.max_evaluations"), o.max_evaluations);
            let max_evaluations =
                if o.max_evaluations == 0 { DEFAULT_OPTIMIZE_EVALUATIONS } else { o.max_evaluations };
            Question::Optimize(OptimizePlan {
                levers: levers?,
                objective,
                maximize: o.maximize,
                constraints,
                max_evaluations,
            })
        }
    };
    let selection = selection_for(dataset, &figures);
    Some(AnalysisPlan { base, limits: limits.clone(), selection, question })
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
fn selection_for(dataset: &Dataset, figures: &[FigureAt]) -> FlowSelection {
    let flows: Vec<&FigureAt> = figures.iter().filter(|f| f.needs_flows()).collect();
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

/// The caller's progress callback.
type ProgressFn<'p> = &'p mut dyn FnMut(&Progress) -> ControlFlow<()>;

/// Each thread's units, with their runs' figures.
type Computed = Result<Vec<(u32, Vec<f64>)>, EvaluateError>;

/// Progress of runs counted from several threads.
struct Counter<'p> {
    done: AtomicU32,
    total: u32,
    stop: AtomicBool,
    progress: std::sync::Mutex<ProgressFn<'p>>,
}

impl<'p> Counter<'p> {
    fn new(total: u32, progress: ProgressFn<'p>) -> Self {
        Counter {
            done: AtomicU32::new(0),
            total,
            stop: AtomicBool::new(false),
            progress: std::sync::Mutex::new(progress),
        }
    }

    /// Tells the caller (from the calling thread only); a `Break` stops every thread.
    fn report(&self) {
        let done = self.done.load(Ordering::Relaxed).min(self.total);
        let stage = EVALUATIONS_STAGE.to_owned();
        if let Ok(mut p) = self.progress.lock()
            && (p)(&Progress { done, total: self.total, stage }).is_break()
        {
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

impl PreparedScenario<'_> {
    fn runs(&self, plan: &AnalysisPlan) -> Runs<'_> {
        Runs {
            dataset: self.dataset,
            limits: plan.limits.clone(),
            base: plan.base.clone(),
            selection: plan.selection.clone(),
        }
    }

    /// Whether the scenario asks for an analysis.
    pub fn has_analysis(&self) -> bool {
        self.analysis.is_some()
    }

    /// The ranges of contribution units (coalitions or permutations) to compute
    /// apart when a job is split across workers; none for an analysis that runs
    /// in one piece, or with at most one chunk's worth.
    pub fn analysis_chunks(&self) -> Vec<Range<u32>> {
        let Some(AnalysisPlan { question: Question::Contributions(c), .. }) = &self.analysis else {
            return Vec::new();
        };
        let units = c.units();
        if units <= CHUNK_UNITS {
            return Vec::new();
        }
        (0..units.div_ceil(CHUNK_UNITS))
            .map(|i| i * CHUNK_UNITS..((i + 1) * CHUNK_UNITS).min(units))
            .collect()
    }

    /// Runs per contribution unit: 1 per coalition, K+1 per sampled
    /// permutation; 0 when the scenario asks for no contributions.
    pub fn analysis_unit_runs(&self) -> u32 {
        match &self.analysis {
            Some(AnalysisPlan { question: Question::Contributions(c), .. }) => c.runs_per_unit(),
            _ => 0,
        }
    }

    /// The runs of the contribution units `range`, on `options.threads`
    /// threads; progress in runs (stage `evaluations`).
    pub fn analysis_samples(
        &self,
        range: Range<u32>,
        options: &EvaluateOptions,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<pb::EvaluationSamples, EvaluateError> {
        let Some(plan @ AnalysisPlan { question: Question::Contributions(c), .. }) = &self.analysis else {
            return Err(EvaluateError::Analysis {
                run: "samples".into(),
                reason: "the scenario asks for no contributions".into(),
            });
        };
        let units = c.units();
        if range.start > range.end || range.end > units {
            return Err(EvaluateError::Analysis {
                run: format!("units {}..{}", range.start, range.end),
                reason: format!("not within the analysis's {units} units"),
            });
        }
        let runs = self.runs(plan);
        let total = (range.end - range.start).saturating_mul(c.runs_per_unit());
        let counter = Counter::new(total, progress);
        let next = AtomicU32::new(range.start);
        let threads = options.threads().clamp(1, (range.end - range.start).max(1) as usize);
        let work = || -> Computed {
            let mut cache = HashMap::new();
            let mut mine = Vec::new();
            while !counter.stop.load(Ordering::Relaxed) {
                let u = next.fetch_add(1, Ordering::Relaxed);
                if u >= range.end {
                    break;
                }
                let values =
                    c.unit_values(&runs, u, &mut cache).map_err(|e| e.in_run(format!("unit {u}")))?;
                counter.done.fetch_add(c.runs_per_unit(), Ordering::Relaxed);
                mine.push((u, values));
            }
            Ok(mine)
        };
        // The calling thread reports progress between naps; a finishing thread wakes it.
        let caller = std::thread::current();
        let parts: Vec<Computed> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let caller = caller.clone();
                    let work = &work;
                    scope.spawn(move || {
                        let mine = work();
                        caller.unpark();
                        mine
                    })
                })
                .collect();
            while !handles.iter().all(|h| h.is_finished()) {
                counter.report();
                std::thread::park_timeout(Duration::from_millis(100));
            }
            handles.into_iter().map(|h| h.join().unwrap_or(Err(EvaluateError::Cancelled))).collect()
        });
        if counter.stop.load(Ordering::Relaxed) {
            return Err(EvaluateError::Cancelled);
        }
        let mut all: Vec<(u32, Vec<f64>)> = Vec::new();
        for part in parts {
            all.extend(part?);
        }
        counter.report();
        all.sort_by_key(|(u, _)| *u);
        Ok(pb::EvaluationSamples {
            first_unit: range.start,
            units: range.end - range.start,
            values: all.into_iter().flat_map(|(_, v)| v).collect(),
        })
    }

    /// The scenario's own result (`head`) with the contributions of every
    /// unit's runs (`samples`, any split of the units, in any order).
    pub fn merge_analysis(
        &self,
        mut head: pb::ScenarioResult,
        mut samples: Vec<pb::EvaluationSamples>,
    ) -> Result<pb::ScenarioResult, EvaluateError> {
        let Some(plan @ AnalysisPlan { question: Question::Contributions(c), .. }) = &self.analysis else {
            return Ok(head);
        };
        samples.sort_by_key(|s| s.first_unit);
        let mut next = 0;
        let runs = self.runs(plan);
        let per_unit = runs.width() * c.runs_per_unit() as usize;
        for s in &samples {
            if s.first_unit != next || s.values.len() != s.units as usize * per_unit {
                return Err(EvaluateError::Analysis {
                    run: format!("units {}..{}", s.first_unit, s.first_unit + s.units),
                    reason: format!("the chunks do not cover the units in order from {next}"),
                });
            }
            next += s.units;
        }
        if next != c.units() {
            return Err(EvaluateError::Analysis {
                run: "merge".into(),
                reason: format!("the chunks cover {next} of {} units", c.units()),
            });
        }
        let values: Vec<f64> = samples.into_iter().flat_map(|s| s.values).collect();
        let contributions = c.finish(&runs, &values);
        head.analysis = Some(pb::AnalysisResult {
            kind: Some(pb::analysis_result::Kind::Contributions(contributions)),
            evaluations: c.units().saturating_mul(c.runs_per_unit()),
        });
        Ok(head)
    }

    /// The scenario's result with its analysis's answer, or `None` when it asks
    /// for none: [`PreparedScenario::evaluate_with`] calls it.
    pub(crate) fn evaluate_analysis(
        &self,
        options: &EvaluateOptions,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Option<Result<pb::ScenarioResult, EvaluateError>> {
        let plan = self.analysis.as_ref()?;
        Some(match &plan.question {
            Question::Contributions(c) => {
                self.analysis_samples(0..c.units(), options, progress).and_then(|samples| {
                    let head = self.point_estimate_with(options, &mut |_| ControlFlow::Continue(()))?;
                    self.merge_analysis(head, vec![samples])
                })
            }
            Question::Seek(s) => self.seek(plan, s, options, progress),
            Question::Optimize(o) => self.optimize(plan, o, options, progress),
        })
    }

    /// The result of the scenario with the levers at `values`, in the view asked for.
    fn result_at(
        &self,
        plan: &AnalysisPlan,
        levers: &[&PreparedLever],
        values: &[f64],
        options: &EvaluateOptions,
    ) -> Result<pb::ScenarioResult, EvaluateError> {
        let mut variant = plan.base.clone();
        for (l, v) in levers.iter().zip(values) {
            l.apply(&mut variant, *v);
        }
        let prepared = PreparedScenario::with_limits(self.dataset, &variant, &plan.limits)
            .map_err(|v| AnalysisError::Invalid(v).in_run("the answer".into()))?;
        let mut result = prepared.point_estimate_with(options, &mut |_| ControlFlow::Continue(()))?;
        result.scenario_id = self.id.clone();
        result.scenario_name = self.name.clone();
        Ok(result)
    }

    fn seek(
        &self,
        plan: &AnalysisPlan,
        s: &SeekPlan,
        options: &EvaluateOptions,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<pb::ScenarioResult, EvaluateError> {
        let runs = self.runs(plan);
        let dataset = self.dataset;
        let read = |f: &FigureAt, r: &pb::ScenarioResult, run: &str| {
            f.value(dataset, r).ok_or_else(|| EvaluateError::Analysis {
                run: run.to_owned(),
                reason: format!("the result has no {}", f.label),
            })
        };
        let fixed_goal = match &s.goal {
            SeekGoal::Value(v) => Some(*v),
            SeekGoal::Economy(_) => None,
            SeekGoal::Scenario(other) => {
                let r = runs.result(other).map_err(|e| e.in_run("the goal's scenario".into()))?;
                Some(read(&s.target, &r, "the goal's scenario")?)
            }
        };
        // Each run: the lever value, the figure and the goal.
        let mut made: Vec<(f64, f64, f64)> = Vec::new();
        let mut gap = |x: f64| -> Result<f64, EvaluateError> {
            let n = u32::try_from(made.len() + 1).unwrap_or(u32::MAX);
            let mut variant = runs.base.clone();
            s.lever.apply(&mut variant, x);
            let run = format!("run {n} ({} = {x})", s.lever.label);
            let r = runs.result(&variant).map_err(|e| e.in_run(run.clone()))?;
            let figure = read(&s.target, &r, &run)?;
            let goal = match (&s.goal, fixed_goal) {
                (SeekGoal::Economy(f), _) => read(f, &r, &run)?,
                (_, Some(g)) => g,
                (_, None) => f64::NAN,
            };
            made.push((x, figure, goal));
            let stage = EVALUATIONS_STAGE.to_owned();
            if progress(&Progress { done: n, total: s.max_evaluations, stage }).is_break() {
                return Err(EvaluateError::Cancelled);
            }
            Ok(figure - goal)
        };
        let found = seek::seek(s.lever.low, s.lever.high, s.tolerance, s.max_evaluations, &mut gap)?;
        let (status, x, message) = match found {
            seek::Found::Root { x, .. } => (pb::SearchStatus::Converged, x, String::new()),
            seek::Found::Unreachable { x, gap } => {
                let side = if gap > 0.0 { "above" } else { "below" };
                (
                    pb::SearchStatus::Unreachable,
                    x,
                    format!(
                        "no value of {} in [{}, {}] reaches the goal: {} stays {side} it (closest at {x}, {gap:+} off)",
                        s.lever.label, s.lever.low, s.lever.high, s.target.label
                    ),
                )
            }
            seek::Found::Jump { x, gap } => (
                pb::SearchStatus::Unreachable,
                x,
                format!(
                    "{} jumps across the goal at {} = {x} ({gap:+} off there): no value reaches it within the tolerance",
                    s.target.label, s.lever.label
                ),
            ),
            seek::Found::OutOfEvaluations { x, gap } => (
                pb::SearchStatus::MaxEvaluations,
                x,
                format!("{} runs used, {gap:+} off at {x}", s.max_evaluations),
            ),
        };
        // Every value the search reports is one it ran.
        let (figure, goal) =
            made.iter().rev().find(|(at, ..)| *at == x).map_or((f64::NAN, f64::NAN), |(_, f, g)| (*f, *g));
        let path: Vec<pb::SearchStep> = made
            .iter()
            .map(|(x, f, g)| pb::SearchStep { levers: vec![*x], value: f - g, violation: 0.0 })
            .collect();
        let evaluations = u32::try_from(path.len()).unwrap_or(u32::MAX);
        let mut result = self.result_at(plan, &[&s.lever], &[x], options)?;
        result.analysis = Some(pb::AnalysisResult {
            kind: Some(pb::analysis_result::Kind::Seek(pb::SeekResult {
                status: status.into(),
                message,
                lever: s.lever.label.clone(),
                lever_value: x,
                figure,
                goal,
                tolerance: s.tolerance,
                path,
            })),
            evaluations,
        });
        Ok(result)
    }

    fn optimize(
        &self,
        plan: &AnalysisPlan,
        o: &OptimizePlan,
        options: &EvaluateOptions,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<pb::ScenarioResult, EvaluateError> {
        let runs = self.runs(plan);
        let dataset = self.dataset;
        let axes: Vec<Axis> = o
            .levers
            .iter()
            .map(|l| Axis {
                low: l.low,
                high: l.high,
                step: l.step,
                start: l.current(&plan.base).unwrap_or(0.5 * (l.low + l.high)),
            })
            .collect();
        let limits: Vec<Limit> = o.constraints.iter().map(|(_, l)| *l).collect();
        let sign = if o.maximize { -1.0 } else { 1.0 };
        let mut done = 0u32;
        let mut run = |x: &[f64]| -> Result<(f64, Vec<f64>), EvaluateError> {
            done += 1;
            let mut variant = runs.base.clone();
            for (l, v) in o.levers.iter().zip(x) {
                l.apply(&mut variant, *v);
            }
            let name = format!("run {done}");
            let r = runs.result(&variant).map_err(|e| e.in_run(name.clone()))?;
            let read = |f: &FigureAt| {
                f.value(dataset, &r).ok_or_else(|| EvaluateError::Analysis {
                    run: name.clone(),
                    reason: format!("the result has no {}", f.label),
                })
            };
            let mut objective = 0.0;
            for (f, w) in &o.objective {
                objective += w * read(f)?;
            }
            let figures = o.constraints.iter().map(|(f, _)| read(f)).collect::<Result<Vec<f64>, _>>()?;
            let stage = EVALUATIONS_STAGE.to_owned();
            if progress(&Progress { done, total: o.max_evaluations, stage }).is_break() {
                return Err(EvaluateError::Cancelled);
            }
            Ok((sign * objective, figures))
        };
        let optimum = optimize::minimize(&axes, &limits, o.max_evaluations, &mut run)?;
        let best = &optimum.best;
        let status = if !optimum.feasible {
            pb::SearchStatus::Infeasible
        } else if optimum.converged {
            pb::SearchStatus::Converged
        } else {
            pb::SearchStatus::MaxEvaluations
        };
        let message = match status {
            pb::SearchStatus::Infeasible => {
                format!("no run met every constraint (the closest is {:.3e} off, relative)", best.violation)
            }
            pb::SearchStatus::MaxEvaluations => {
                format!("stopped after {} runs before COBYLA converged", optimum.path.len())
            }
            _ => String::new(),
        };
        let levers: Vec<&PreparedLever> = o.levers.iter().collect();
        let mut result = self.result_at(plan, &levers, &best.x, options)?;
        let at_bound = o
            .levers
            .iter()
            .zip(&best.x)
            .map(|(l, x)| {
                (x - l.low).abs() <= 1e-9 * (l.high - l.low) || (l.high - x).abs() <= 1e-9 * (l.high - l.low)
            })
            .collect();
        let constraints = o
            .constraints
            .iter()
            .zip(&best.figures)
            .map(|((f, l), v)| pb::ConstraintAtOptimum {
                figure: f.label.clone(),
                value: *v,
                min: l.min,
                max: l.max,
                binding: l.binding(*v),
            })
            .collect();
        let stepped = o.levers.iter().filter(|l| l.step > 0.0).count();
        let method = if stepped > 0 {
            format!(
                "COBYLA (cobyla crate 1.0), then the best feasible of the 2^{} steps around its optimum",
                stepped.min(optimize::MAX_STEPPED)
            )
        } else {
            "COBYLA (cobyla crate 1.0)".to_owned()
        };
        let path = optimum
            .path
            .iter()
            .map(|p| pb::SearchStep {
                levers: p.x.clone(),
                value: sign * p.objective,
                violation: p.violation,
            })
            .collect();
        result.analysis = Some(pb::AnalysisResult {
            kind: Some(pb::analysis_result::Kind::Optimization(pb::OptimizationResult {
                status: status.into(),
                message,
                levers: o.levers.iter().map(|l| l.label.clone()).collect(),
                lever_values: best.x.clone(),
                at_bound,
                objective: sign * best.objective,
                constraints,
                method,
                path,
            })),
            evaluations: u32::try_from(optimum.path.len()).unwrap_or(u32::MAX),
        });
        Ok(result)
    }
}
