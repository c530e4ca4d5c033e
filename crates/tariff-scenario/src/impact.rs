//! Runs a prepared scenario: resolves the rates at each date, solves every sector
//! market with the model, and reports the figures as a `ScenarioResult`.

use std::{
    ops::ControlFlow,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};

use tariff_model::{
    InputCosts, ModelError, SolveOptions, Solver, SparseFlow, SparseMarket, SparseOutcome, solve_sparse,
    solve_sparse_with_input_costs,
};
use tariff_proto::v1 as pb;

use crate::{
    Date, figures,
    prepared::PreparedScenario,
    pricing::structure_proto,
    resolve::RateTable,
    supply_chain::InputPrices,
    uncertainty::{EvaluateOptions, MergeError},
    views::FlowSelection,
};

/// How far an evaluation has got: units of the current stage done out of all
/// (sector solves of the point estimate, tornado runs, or uncertainty draws).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub done: u32,
    pub total: u32,
    /// What is being worked on, such as `2025-04-10 CARS`, `sensitivity` or `draws`.
    pub stage: String,
}

/// Why an evaluation stopped without a result.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// The model could not solve one sector market (data it cannot solve).
    #[error("sector {sector} at {date}: {source}")]
    Model {
        sector: String,
        date: Date,
        #[source]
        source: ModelError,
    },
    /// A sector market would not solve at the elasticities of an uncertainty
    /// run (`run` names it: `draw 17`, `sensitivity CARS substitution high`).
    #[error("{run}: sector {sector} at {date}: {source}")]
    Perturbed {
        run: String,
        sector: String,
        date: Date,
        #[source]
        source: ModelError,
    },
    /// The coupled solve of `input_costs` stopped before the input prices
    /// settled, at the point estimate or in a run at other elasticities (`run`
    /// names it: `the point estimate`, `draw 17`). `economy`, `sector` and
    /// `share` name the largest cost-share sum of the dataset (`*` for a
    /// sector-wide cell): sums near 1 are what makes the prices feed back on
    /// themselves slowly.
    #[error(
        "{run}: input costs at {date}: the coupled solve did not converge: input prices still moved by {change:.1e} after {passes} passes (tolerance 1e-12); the largest cost-share sum is {share:.3} ({sector} in {economy}), and sums near 1 make prices feed back on themselves slowly: lower them in inputs.csv, or leave input_costs off"
    )]
    Coupling {
        run: String,
        date: Date,
        passes: u32,
        change: f64,
        economy: String,
        sector: String,
        share: f64,
    },
    /// Draws asked for outside the scenario's `0..draws`.
    #[error("draws {start}..{end} are not within the scenario's {draws} uncertainty draws")]
    DrawRange { start: u32, end: u32, draws: u32 },
    /// The chunks of a split job (draws or sectors) did not fit together.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// One run of the scenario's analysis failed (`run` names it: `unit 17`,
    /// `run 4 (measures[0].rate_pct = 12.5)`), or its chunks did not fit.
    #[error("analysis, {run}: {reason}")]
    Analysis { run: String, reason: String },
    /// The progress callback asked to stop.
    #[error("cancelled")]
    Cancelled,
}

/// The proto enum for a model solver.
pub fn solver_proto(solver: Solver) -> pb::Solver {
    match solver {
        Solver::Exact => pb::Solver::Exact,
        Solver::Gsim => pb::Solver::Gsim,
    }
}

/// A date's sectors are solved on several threads only from this many flows
/// between them: below, starting the threads costs more than they save.
const PARALLEL_FLOWS: usize = 20_000;

impl PreparedScenario<'_> {
    /// Computes the impact at every date and, when the scenario asks for
    /// uncertainty, its bands and tornado, with the draws on every available
    /// thread. `progress` is called after each sector solve, each tornado run,
    /// and about every 200 ms of draws; returning `ControlFlow::Break` stops
    /// the evaluation (cancellation).
    pub fn evaluate(
        &self,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<pb::ScenarioResult, EvaluateError> {
        self.evaluate_with(&EvaluateOptions::default(), progress)
    }

    /// The impact at every date at the elasticities in use, with the tornado
    /// rows and the uncertainty summary when the scenario asks for them, but no
    /// bands: [`merge_draws`](crate::merge_draws) adds those from the draws'
    /// samples. Progress and cancellation as [`PreparedScenario::evaluate`].
    pub fn point_estimate(
        &self,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<pb::ScenarioResult, EvaluateError> {
        self.point_estimate_with(&EvaluateOptions::default(), progress)
    }

    /// [`PreparedScenario::point_estimate`] with the sector markets solved on
    /// `options.threads` threads, keeping the flows `options.flows` selects.
    pub fn point_estimate_with(
        &self,
        options: &EvaluateOptions,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<pb::ScenarioResult, EvaluateError> {
        let selection = options.flows.clone().unwrap_or_else(FlowSelection::all);
        let sectors = 0..self.dataset.sectors.len();
        let solved = self.solve_range(sectors, &selection, options.threads(), progress)?;
        let mut result = self.result_frame(&selection);
        for (impact, sectors) in result.impacts.iter_mut().zip(solved) {
            self.complete_impact(impact, sectors, &selection);
        }
        let (uncertainty, sensitivity) = self.uncertainty_parts(progress)?;
        for (impact, rows) in result.impacts.iter_mut().zip(sensitivity) {
            impact.sensitivity = rows;
        }
        result.uncertainty = uncertainty;
        Ok(result)
    }

    /// The result without figures: what the scenario and dataset say, and one
    /// impact per date with only its date.
    pub(crate) fn result_frame(&self, selection: &FlowSelection) -> pb::ScenarioResult {
        let dataset = self.dataset;
        pb::ScenarioResult {
            scenario_id: self.id.clone(),
            scenario_name: self.name.clone(),
            dataset: dataset.id.clone(),
            base_year: dataset.base_year,
            currency: dataset.currency.clone(),
            unit: dataset.unit.clone(),
            solver: solver_proto(self.solver).into(),
            impacts: self
                .dates
                .iter()
                .map(|date| pb::Impact { date: date.to_string(), ..Default::default() })
                .collect(),
            uncertainty: None,
            horizon: self.horizon().to_owned(),
            exchange_rates: self.pricing.moves.clone(),
            view: Some(selection.options().clone()),
            analysis: None,
        }
    }

    /// Fills in one date's impact from every sector's, in dataset order: the
    /// economy totals, the worst diagnostics, and the date's `top` flows.
    pub(crate) fn complete_impact(
        &self,
        impact: &mut pb::Impact,
        mut sectors: Vec<pb::SectorImpact>,
        selection: &FlowSelection,
    ) {
        impact.economies = figures::economy_totals(self.dataset, &sectors);
        impact.diagnostics = Some(figures::worst_diagnostics(self.solver, &sectors));
        crate::views::keep_top(&mut sectors, selection.top());
        impact.sectors = sectors;
    }

    /// The impacts of the sectors `range` at every date, in dataset order,
    /// keeping the flows `selection` keeps (each sector's `top` at most).
    /// Progress counts sector solves over `range` and the dates.
    pub(crate) fn solve_range(
        &self,
        range: std::ops::Range<usize>,
        selection: &FlowSelection,
        threads: usize,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<Vec<Vec<pb::SectorImpact>>, EvaluateError> {
        let dataset = self.dataset;
        if self.coupled() {
            // Supply chains couple every sector: solved together, then the range kept.
            return self.solve_coupled(range, selection, threads, progress);
        }
        let range = range.start.min(dataset.sectors.len())..range.end.min(dataset.sectors.len());
        let total = u32::try_from(self.dates.len() * range.len()).unwrap_or(u32::MAX);
        // Only the range's rates: a chunk of a split job resolves its own sectors.
        let base = self.base_rates_of(range.clone());
        let mut previous: Option<(RateTable, Vec<pb::SectorImpact>)> = None;
        let mut impacts = Vec::with_capacity(self.dates.len());
        let mut done = 0u32;
        for (d, &date) in self.dates.iter().enumerate() {
            // Spans (for traces; nothing is logged): tariff resolution and the
            // solves of each date, and each sector's solve at trace level.
            let rates =
                tracing::debug_span!("resolve", %date).in_scope(|| self.rates_of(date, range.clone()));
            let solving = tracing::debug_span!("solve", %date, sectors = range.len()).entered();
            // Timelines repeat most sectors' rates from one date to the next: reuse those solves.
            let mut sector_impacts: Vec<Option<pb::SectorImpact>> = range
                .clone()
                .enumerate()
                .map(|(k, s)| {
                    // A TRQ's quota or rates may change while the rates in force do not.
                    let same = previous
                        .as_ref()
                        .filter(|(prev, _)| prev.sector(s) == rates.sector(s) && !self.has_quota(s));
                    same.and_then(|(_, impacts)| impacts.get(k).cloned())
                })
                .collect();
            let todo: Vec<usize> =
                range.clone().filter(|&s| sector_impacts[s - range.start].is_none()).collect();
            let reused = u32::try_from(range.len() - todo.len()).unwrap_or(u32::MAX);
            done = done.saturating_add(reused);
            let solved =
                self.solve_sectors(date, &todo, (&base, &rates), None, selection, threads, &mut |s| {
                    done += 1;
                    let stage = format!("{date} {}", dataset.sectors[s].code);
                    progress(&Progress { done, total, stage })
                })?;
            for (s, impact) in todo.into_iter().zip(solved) {
                sector_impacts[s - range.start] = Some(impact);
            }
            drop(solving);
            let sector_impacts: Vec<pb::SectorImpact> = sector_impacts.into_iter().flatten().collect();
            // The next date reuses the sectors as solved (a copy, as this date
            // may keep fewer flows); the last date needs no copy, and a
            // result of millions of flows is not held twice.
            let kept = if d + 1 < self.dates.len() { sector_impacts.clone() } else { Vec::new() };
            impacts.push(sector_impacts);
            previous = Some((rates, kept));
        }
        Ok(impacts)
    }

    /// Solves the sectors `todo` at `date` on up to `threads` threads, in any
    /// order, and returns their impacts in `todo`'s order. `solved` hears of
    /// each sector as it is done, on this thread; `Break` stops every thread.
    /// A failure reports the first failing sector in `todo`'s order, so the
    /// error does not depend on the threads.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn solve_sectors(
        &self,
        date: Date,
        todo: &[usize],
        (base, rates): (&RateTable, &RateTable),
        prices: Option<&InputPrices>,
        selection: &FlowSelection,
        threads: usize,
        solved: &mut dyn FnMut(usize) -> ControlFlow<()>,
    ) -> Result<Vec<pb::SectorImpact>, EvaluateError> {
        if todo.is_empty() {
            return Ok(Vec::new());
        }
        let dataset = self.dataset;
        let flows: usize = todo.iter().map(|&s| dataset.sector_flows(s).values.len()).sum();
        if threads <= 1 || flows < PARALLEL_FLOWS {
            return self.solve_sectors_here(date, todo, (base, rates), prices, selection, solved);
        }
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let parent = tracing::Span::current();
        // Each solved sector is sent at once, so this thread reports progress (and
        // hears of a cancel) as sectors finish; it solves nothing itself.
        let work = |tx: std::sync::mpsc::Sender<(usize, Result<pb::SectorImpact, EvaluateError>)>| {
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&s) = todo.get(i) else { break };
                let _sector =
                    tracing::trace_span!(parent: &parent, "solve_sector", sector = %dataset.sectors[s].code)
                        .entered();
                let impact = self.solve_sector(date, s, (base, rates), prices, selection);
                if tx.send((i, impact)).is_err() {
                    break;
                }
            }
        };
        let mut results: Vec<Option<Result<pb::SectorImpact, EvaluateError>>> = Vec::new();
        results.resize_with(todo.len(), || None);
        let mut cancelled = false;
        let threads = threads.clamp(1, todo.len().max(1));
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::channel();
            for _ in 0..threads {
                let (tx, work) = (tx.clone(), &work);
                scope.spawn(move || work(tx));
            }
            drop(tx);
            for (i, impact) in rx {
                let failed = impact.is_err();
                if let (Some(slot), Some(&s)) = (results.get_mut(i), todo.get(i)) {
                    *slot = Some(impact);
                    if failed || (!cancelled && solved(s).is_break()) {
                        cancelled |= !failed;
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
        });
        // The first failure in todo's order (the sectors before it may not all have run).
        if let Some(i) = results.iter().position(|r| matches!(r, Some(Err(_)))) {
            if let Some(Some(Err(e))) = results.into_iter().nth(i) {
                return Err(e);
            }
            return Err(EvaluateError::Cancelled);
        }
        if cancelled {
            return Err(EvaluateError::Cancelled);
        }
        results.into_iter().map(|r| r.unwrap_or(Err(EvaluateError::Cancelled))).collect()
    }

    /// [`PreparedScenario::solve_sectors`] on this thread, in `todo`'s order:
    /// the same figures, without threads to start (a small date's sectors solve
    /// faster than threads start: the built-in dataset's ten take ~0.2 ms).
    fn solve_sectors_here(
        &self,
        date: Date,
        todo: &[usize],
        (base, rates): (&RateTable, &RateTable),
        prices: Option<&InputPrices>,
        selection: &FlowSelection,
        solved: &mut dyn FnMut(usize) -> ControlFlow<()>,
    ) -> Result<Vec<pb::SectorImpact>, EvaluateError> {
        let mut impacts = Vec::with_capacity(todo.len());
        for &s in todo {
            let code = &self.dataset.sectors[s].code;
            let _sector = tracing::trace_span!("solve_sector", sector = %code).entered();
            impacts.push(self.solve_sector(date, s, (base, rates), prices, selection)?);
            if solved(s).is_break() {
                return Err(EvaluateError::Cancelled);
            }
        }
        Ok(impacts)
    }

    /// One sector's market at `date`, solved, as its impact; with `prices`,
    /// its producers pay for their inputs at those prices (supply_chain.rs).
    fn solve_sector(
        &self,
        date: Date,
        s: usize,
        (base, rates): (&RateTable, &RateTable),
        prices: Option<&InputPrices>,
        selection: &FlowSelection,
    ) -> Result<pb::SectorImpact, EvaluateError> {
        let market = self.market(s, base, rates);
        let failed =
            |source| EvaluateError::Model { sector: self.dataset.sectors[s].code.clone(), date, source };
        let costs = prices.map(|p| self.input_costs_of(s, p)).transpose().map_err(failed)?.flatten();
        let Some((measure, quota)) = self.quota_at(date, s) else {
            return self
                .solve_market_with(s, &market, costs.as_ref())
                .map(|outcome| self.sector_impact(s, &market, &outcome, selection))
                .map_err(failed);
        };
        let (market, outcome, solved) =
            self.solve_with_quota(s, market, measure, quota, costs.as_ref()).map_err(failed)?;
        let mut impact = self.sector_impact(s, &market, &outcome, selection);
        let codes: Vec<String> = self.dataset.economies.iter().map(|e| e.code.clone()).collect();
        let covered_by = |v: usize, r: usize| {
            r == measure.importer && v != r && measure.exporters.get(v).copied().unwrap_or(false)
        };
        crate::quota::credit_rent(&mut impact, &solved, &market, &outcome, covered_by, &codes);
        impact.quotas.push(solved);
        Ok(impact)
    }

    /// Solves sector `sector`'s market with the scenario's solver, market
    /// structure and exchange rates, and its producers' input costs, if any.
    pub(crate) fn solve_market_with(
        &self,
        sector: usize,
        market: &SparseMarket,
        costs: Option<&InputCosts>,
    ) -> Result<SparseOutcome, ModelError> {
        let pricing = self.pricing.of_sector(sector);
        match costs {
            None => solve_sparse(market, self.solver, &SolveOptions::default(), &pricing),
            Some(costs) => {
                solve_sparse_with_input_costs(market, self.solver, &SolveOptions::default(), &pricing, costs)
            }
        }
    }

    /// One sector's market at the scenario's rates: the flows the dataset has
    /// rows for, in its order.
    pub fn market(&self, sector: usize, base: &RateTable, rates: &RateTable) -> SparseMarket {
        let n = self.dataset.economies.len();
        let factor = |pct: f64| 1.0 + pct / 100.0;
        let elasticities: Vec<_> = (0..n).map(|i| self.elasticities(sector, i)).collect();
        let flows = self.dataset.sector_flows(sector);
        let (base, new) = (base.sector(sector), rates.sector(sector));
        SparseMarket {
            n,
            flows: (0..flows.values.len())
                .map(|i| SparseFlow {
                    exporter: flows.exporters[i],
                    importer: flows.importers[i],
                    base_value: flows.values[i],
                    base_tariff: factor(base.get(i).copied().unwrap_or(0.0)),
                    new_tariff: factor(new.get(i).copied().unwrap_or(0.0)),
                })
                .collect(),
            import_demand: elasticities.iter().map(|e| e.import_demand).collect(),
            substitution: elasticities.iter().map(|e| e.substitution).collect(),
            supply: elasticities.iter().map(|e| e.supply).collect(),
        }
    }

    fn sector_impact(
        &self,
        sector: usize,
        market: &SparseMarket,
        outcome: &SparseOutcome,
        selection: &FlowSelection,
    ) -> pb::SectorImpact {
        let economies = &self.dataset.economies;
        let mut flows = Vec::new();
        let keep = selection.keeps_sector(sector);
        let mut flow_count = 0u64;
        for (flow, o) in market.flows.iter().zip(&outcome.flows) {
            let (before, after) = (flow.base_value, o.new_value);
            if before == 0.0 && after == 0.0 {
                continue;
            }
            flow_count += 1;
            let (v, r) = (flow.exporter as usize, flow.importer as usize);
            if !keep || !selection.keeps_flow(v, r) {
                continue;
            }
            let pct = |ratio: f64| (ratio - 1.0) * 100.0;
            let fx = outcome.exchange_rates.get(v).copied().unwrap_or(1.0);
            flows.push(pb::FlowImpact {
                exporter: economies[v].code.clone(),
                importer: economies[r].code.clone(),
                value: Some(figures::change(before, after)),
                tariff_before_pct: (flow.base_tariff - 1.0) * 100.0,
                tariff_after_pct: (flow.new_tariff - 1.0) * 100.0,
                volume_change_pct: pct(o.volume),
                fob_price_change_pct: pct(o.fob_price),
                delivered_price_change_pct: pct(o.delivered_price),
                value_exporter_currency: Some(figures::change(before, o.new_value_exporter_currency)),
                fob_price_change_exporter_currency_pct: pct(o.fob_price / fx),
            });
        }
        let mut impact = pb::SectorImpact {
            flow_count,
            sector: self.dataset.sectors[sector].code.clone(),
            economies: outcome
                .economies
                .iter()
                .zip(economies)
                .map(|(o, e)| figures::economy_impact(&e.code, o))
                .collect(),
            flows,
            market_structure: structure_proto(self.structure(sector)).into(),
            diagnostics: Some(pb::SolverDiagnostics {
                solver: solver_proto(outcome.diagnostics.solver).into(),
                iterations: outcome.diagnostics.iterations,
                residual: outcome.diagnostics.residual,
                ..Default::default()
            }),
            quotas: Vec::new(),
        };
        // The date keeps its `top` flows over all sectors: they are among each sector's `top`.
        crate::views::keep_top(std::slice::from_mut(&mut impact), selection.top());
        impact
    }
}
