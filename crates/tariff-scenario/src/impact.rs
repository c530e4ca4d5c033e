//! Runs a prepared scenario: resolves the rates at each date, solves every sector
//! market with the model, and reports the figures as a `ScenarioResult`.

use std::ops::ControlFlow;

use tariff_model::{ModelError, SolveOptions, Solver, SparseFlow, SparseMarket, SparseOutcome, solve_sparse};
use tariff_proto::v1 as pb;

use crate::{
    Date, figures,
    prepared::PreparedScenario,
    pricing::structure_proto,
    resolve::RateTable,
    uncertainty::{EvaluateOptions, MergeError},
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
    /// Draws asked for outside the scenario's `0..draws`.
    #[error("draws {start}..{end} are not within the scenario's {draws} uncertainty draws")]
    DrawRange { start: u32, end: u32, draws: u32 },
    /// The draws' samples did not make bands.
    #[error(transparent)]
    Merge(#[from] MergeError),
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
        let dataset = self.dataset;
        let sectors = dataset.sectors.len();
        let total = u32::try_from(self.dates.len() * sectors).unwrap_or(u32::MAX);
        let base = self.base_rates();
        let mut previous: Option<(RateTable, Vec<pb::SectorImpact>)> = None;
        let mut impacts = Vec::with_capacity(self.dates.len());
        let mut done = 0u32;
        for &date in &self.dates {
            // Spans (for traces; nothing is logged): tariff resolution and the
            // solves of each date, and each sector's solve at trace level.
            let rates = tracing::debug_span!("resolve", %date).in_scope(|| self.rates_at(date));
            let solving = tracing::debug_span!("solve", %date, sectors).entered();
            let mut sector_impacts = Vec::with_capacity(sectors);
            for s in 0..sectors {
                // Timelines repeat most sectors' rates from one date to the next: reuse those solves.
                let unchanged = previous.as_ref().filter(|(prev, _)| prev.sector(s) == rates.sector(s));
                let impact = match unchanged.and_then(|(_, impacts)| impacts.get(s)) {
                    Some(same) => same.clone(),
                    None => {
                        let _sector =
                            tracing::trace_span!("solve_sector", sector = %dataset.sectors[s].code).entered();
                        let market = self.market(s, &base, &rates);
                        let outcome = self.solve_market(s, &market).map_err(|source| {
                            EvaluateError::Model { sector: dataset.sectors[s].code.clone(), date, source }
                        })?;
                        self.sector_impact(s, &market, &outcome)
                    }
                };
                sector_impacts.push(impact);
                done += 1;
                let stage = format!("{date} {}", dataset.sectors[s].code);
                if progress(&Progress { done, total, stage }).is_break() {
                    return Err(EvaluateError::Cancelled);
                }
            }
            drop(solving);
            impacts.push(pb::Impact {
                date: date.to_string(),
                economies: figures::economy_totals(dataset, &sector_impacts),
                diagnostics: Some(figures::worst_diagnostics(self.solver, &sector_impacts)),
                sectors: sector_impacts.clone(),
                ..Default::default()
            });
            previous = Some((rates, sector_impacts));
        }
        let (uncertainty, sensitivity) = self.uncertainty_parts(progress)?;
        for (impact, rows) in impacts.iter_mut().zip(sensitivity) {
            impact.sensitivity = rows;
        }
        Ok(pb::ScenarioResult {
            scenario_id: self.id.clone(),
            scenario_name: self.name.clone(),
            dataset: dataset.id.clone(),
            base_year: dataset.base_year,
            currency: dataset.currency.clone(),
            unit: dataset.unit.clone(),
            solver: solver_proto(self.solver).into(),
            impacts,
            uncertainty,
            horizon: self.horizon().to_owned(),
            exchange_rates: self.pricing.moves.clone(),
        })
    }

    /// Solves sector `sector`'s market with the scenario's solver, market
    /// structure and exchange rates.
    pub(crate) fn solve_market(
        &self,
        sector: usize,
        market: &SparseMarket,
    ) -> Result<SparseOutcome, ModelError> {
        solve_sparse(market, self.solver, &SolveOptions::default(), &self.pricing.of_sector(sector))
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
    ) -> pb::SectorImpact {
        let economies = &self.dataset.economies;
        let mut flows = Vec::new();
        for (flow, o) in market.flows.iter().zip(&outcome.flows) {
            let (before, after) = (flow.base_value, o.new_value);
            if before == 0.0 && after == 0.0 {
                continue;
            }
            let (v, r) = (flow.exporter as usize, flow.importer as usize);
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
        pb::SectorImpact {
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
            }),
        }
    }
}
