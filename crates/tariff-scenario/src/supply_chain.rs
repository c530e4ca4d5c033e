//! Supply chains (docs/model.md, "Supply chains: input costs and effective
//! protection"): with `Scenario.input_costs`, producers respond to their
//! value-added price, so a tariff on parts raises the cost, and the supply
//! price, of the cars made with them. The sectors are then coupled through the
//! composite prices of their inputs and solved together: block iteration over
//! the date's sectors (each pass solves every sector with inputs at the input
//! prices of the last pass) until no input price ratio moves by more than
//! [`COUPLING_TOLERANCE`]. Sectors without input rows do not depend on the
//! others and are solved once.

use std::ops::{ControlFlow, Range};

use tariff_model::{InputCosts, ModelError, Structure};
use tariff_proto::v1 as pb;

use crate::{
    Date, EvaluateError, Progress, figures, prepared::PreparedScenario, views::FlowSelection,
    violation::Collector,
};

/// The coupled solve stops when no input price ratio `C[v,j]` changes by more
/// than this from one pass to the next.
pub const COUPLING_TOLERANCE: f64 = 1e-12;
/// Passes before the coupled solve gives up.
pub(crate) const MAX_PASSES: u32 = 200;

/// The price ratio (new over base) of each sector's composite good in each
/// economy: `C[v,j]`, economy-major.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InputPrices {
    sectors: usize,
    ratio: Vec<f64>,
}

impl InputPrices {
    /// Every price at its base.
    pub(crate) fn base(economies: usize, sectors: usize) -> InputPrices {
        InputPrices { sectors, ratio: vec![1.0; economies * sectors] }
    }

    /// The consumer (composite) price ratios of the date's solved sectors, in
    /// dataset order.
    pub(crate) fn of(sectors: &[pb::SectorImpact], economies: usize) -> InputPrices {
        InputPrices::of_economies(sectors.iter().map(|s| s.economies.as_slice()), sectors.len(), economies)
    }

    /// [`InputPrices::of`] from each of `count` sectors' economy figures.
    pub(crate) fn of_economies<'a>(
        sectors: impl Iterator<Item = &'a [pb::EconomyImpact]>,
        count: usize,
        economies: usize,
    ) -> InputPrices {
        let mut prices = InputPrices::base(economies, count);
        for (j, sector) in sectors.enumerate().take(count) {
            for (v, e) in sector.iter().enumerate().take(economies) {
                prices.ratio[v * count + j] = 1.0 + e.consumer_price_change_pct / 100.0;
            }
        }
        prices
    }

    fn get(&self, economy: usize, sector: usize) -> f64 {
        self.ratio.get(economy * self.sectors + sector).copied().unwrap_or(1.0)
    }

    /// The largest change of a price ratio between two passes.
    pub(crate) fn distance(&self, other: &InputPrices) -> f64 {
        self.ratio.iter().zip(&other.ratio).fold(0.0, |m, (a, b)| m.max((a - b).abs()))
    }
}

/// How a date's block iteration ended: the passes taken (the first, at base
/// input prices, included) and the last change of an input price ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Passes {
    pub(crate) passes: u32,
    pub(crate) change: f64,
    /// Whether the change came within [`COUPLING_TOLERANCE`] (else the passes
    /// ran out at [`MAX_PASSES`]).
    pub(crate) settled: bool,
}

/// The block iteration of one date, shared by the point estimate and the runs
/// at other elasticities, so that both take the same passes to the last bit.
/// `state` holds every sector already solved at base input prices (the first
/// pass); `prices_of` reads the input prices a pass gave; `again` solves the
/// sectors with inputs at `prices` into `state` (its pass number given).
/// Without `any_inputs` nothing depends on anything: one pass.
pub(crate) fn iterate<S, E>(
    state: &mut S,
    base: InputPrices,
    any_inputs: bool,
    prices_of: impl Fn(&S) -> InputPrices,
    mut again: impl FnMut(&mut S, &InputPrices, u32) -> Result<(), E>,
) -> Result<Passes, E> {
    let mut prices = base;
    let mut passes = 1u32;
    loop {
        let next = prices_of(state);
        let change = next.distance(&prices);
        if change <= COUPLING_TOLERANCE || !any_inputs {
            return Ok(Passes { passes, change, settled: true });
        }
        if passes >= MAX_PASSES {
            return Ok(Passes { passes, change, settled: false });
        }
        prices = next;
        passes += 1;
        again(state, &prices, passes)?;
    }
}

/// Per economy and sector (economy-major): the share of the economy's base
/// purchases of the sector that its producers with input rows buy
/// ([`crate::dataset::Dataset::input_use_ratios`]), capped at 1 where the input
/// rows ask for more than the dataset's market holds.
pub(crate) fn intermediate_shares(dataset: &crate::dataset::Dataset) -> Vec<f64> {
    dataset.input_use_ratios().into_iter().map(|r| r.min(1.0)).collect()
}

/// Checks what `input_costs` needs; returns whether it is on.
pub(crate) fn check(c: &mut Collector, prepared: &PreparedScenario<'_>, scenario: &pb::Scenario) -> bool {
    if !scenario.input_costs {
        return false;
    }
    let dataset = prepared.dataset;
    if dataset.inputs.is_empty() {
        c.push(
            "input_costs",
            format!(
                "dataset `{}` has no input cost shares (inputs.csv): there are no supply chains to follow",
                dataset.id
            ),
        );
    }
    if prepared.solver == tariff_model::Solver::Gsim {
        c.push(
            "solver",
            "GSIM does not carry input costs (its linearised coupling is not provided): use EXACT, or leave input_costs off",
        );
    }
    for s in (0..dataset.sectors.len()).filter(|&s| dataset.inputs.has_inputs(s)) {
        if prepared.structure(s) == Structure::Segmented {
            let code = &dataset.sectors[s].code;
            c.push(
                "market_structure",
                format!(
                    "sector {code} is segmented (horizon {}): input costs need integrated markets in the sectors with inputs; add {{\"sector\": \"{code}\", \"structure\": \"INTEGRATED\"}}",
                    prepared.horizon()
                ),
            );
        }
    }
    true
}

impl PreparedScenario<'_> {
    /// Whether the scenario follows supply chains (`input_costs`).
    pub(crate) fn coupled(&self) -> bool {
        self.input_costs
    }

    /// The input costs of sector `s`'s producers at input prices `prices`;
    /// `None` when no economy's output of `s` has input rows.
    pub(crate) fn input_costs_of(
        &self,
        s: usize,
        prices: &InputPrices,
    ) -> Result<Option<InputCosts>, ModelError> {
        let inputs = &self.dataset.inputs;
        if !inputs.has_inputs(s) {
            return Ok(None);
        }
        let n = self.dataset.economies.len();
        let (mut share, mut cost) = (vec![0.0; n], vec![0.0; n]);
        for v in 0..n {
            for row in inputs.of(v, s) {
                share[v] += row.share;
                cost[v] += row.share * prices.get(v, row.input);
            }
        }
        InputCosts::new(share, cost).map(Some)
    }

    /// [`PreparedScenario::solve_range`] with supply chains: at each date every
    /// sector is solved at base input prices, then the sectors with inputs again
    /// at the input prices the last pass gave, until none moves by more than
    /// [`COUPLING_TOLERANCE`]. Progress counts the first pass's sector solves;
    /// the later passes report their stage (and hear a cancel) without counting.
    pub(crate) fn solve_coupled(
        &self,
        range: Range<usize>,
        selection: &FlowSelection,
        threads: usize,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<Vec<Vec<pb::SectorImpact>>, EvaluateError> {
        let dataset = self.dataset;
        let (n, sectors) = (dataset.economies.len(), dataset.sectors.len());
        let range = range.start.min(sectors)..range.end.min(sectors);
        let all: Vec<usize> = (0..sectors).collect();
        let with_inputs: Vec<usize> = all.iter().copied().filter(|&s| dataset.inputs.has_inputs(s)).collect();
        let total = u32::try_from(self.dates.len() * sectors).unwrap_or(u32::MAX);
        let base = self.base_rates_of(0..sectors);
        let mut done = 0u32;
        let mut impacts = Vec::with_capacity(self.dates.len());
        for &date in &self.dates {
            let rates = tracing::debug_span!("resolve", %date).in_scope(|| self.rates_of(date, 0..sectors));
            let _solving = tracing::debug_span!("solve", %date, sectors, coupled = true).entered();
            let prices = InputPrices::base(n, sectors);
            let mut solved = self.solve_sectors(
                date,
                &all,
                (&base, &rates),
                Some(&prices),
                selection,
                threads,
                &mut |s| {
                    done += 1;
                    let stage = format!("{date} {}", dataset.sectors[s].code);
                    progress(&Progress { done, total, stage })
                },
            )?;
            let ended = iterate(
                &mut solved,
                prices,
                !with_inputs.is_empty(),
                |solved| InputPrices::of(solved, n),
                |solved, prices, passes| {
                    let stage = format!("{date} input costs, pass {passes}");
                    if progress(&Progress { done, total, stage }).is_break() {
                        return Err(EvaluateError::Cancelled);
                    }
                    let again = self.solve_sectors(
                        date,
                        &with_inputs,
                        (&base, &rates),
                        Some(prices),
                        selection,
                        threads,
                        &mut |_| ControlFlow::Continue(()),
                    )?;
                    for (&s, impact) in with_inputs.iter().zip(again) {
                        solved[s] = impact;
                    }
                    Ok(())
                },
            )?;
            if !ended.settled {
                return Err(self.coupling_error(
                    "the point estimate".into(),
                    date,
                    ended.passes,
                    ended.change,
                ));
            }
            self.report_supply_chains(&mut solved, ended.passes, ended.change);
            impacts.push(solved.drain(range.clone()).collect());
        }
        Ok(impacts)
    }

    /// The error of a coupled solve (in `run`) that has not settled after `passes`.
    pub(crate) fn coupling_error(&self, run: String, date: Date, passes: u32, change: f64) -> EvaluateError {
        let (economy, sector, share) = self.largest_cost_share();
        EvaluateError::Coupling { run, date, passes, change, economy, sector, share }
    }

    /// The dataset's largest cell sum of cost shares: (economy or `*`,
    /// sector, sum), for the error of a coupled solve that does not settle.
    fn largest_cost_share(&self) -> (String, String, f64) {
        let dataset = self.dataset;
        // Rows are sorted by cell: sum each run of one (economy, sector).
        let cells = dataset.inputs.rows().chunk_by(|a, b| (a.economy, a.sector) == (b.economy, b.sector));
        let mut largest: Option<(Option<usize>, usize, f64)> = None;
        for cell in cells {
            let sum: f64 = cell.iter().map(|r| r.share).sum();
            if largest.is_none_or(|(_, _, most)| sum > most) {
                largest = cell.first().map(|r| (r.economy, r.sector, sum));
            }
        }
        let Some((economy, sector, sum)) = largest else { return ("*".into(), "-".into(), 0.0) };
        let economy = economy.and_then(|v| dataset.economies.get(v)).map_or("*", |e| e.code.as_str());
        let sector = dataset.sectors.get(sector).map_or("-", |s| s.code.as_str());
        (economy.to_owned(), sector.to_owned(), sum)
    }

    /// Leaves in sector `j`'s consumer surplus (and welfare) of each economy
    /// only its buyers other than its own producers with input rows, and says
    /// what share those producers are (`intermediate_use_share`).
    pub(crate) fn final_buyers_only(&self, j: usize, economies: &mut [pb::EconomyImpact]) {
        let sectors = self.dataset.sectors.len();
        for (v, e) in economies.iter_mut().enumerate() {
            let share = self.intermediate.get(v * sectors + j).copied().unwrap_or(0.0);
            if share > 0.0 {
                let counted_downstream = e.consumer_surplus_change * share;
                e.consumer_surplus_change -= counted_downstream;
                e.welfare_change -= counted_downstream;
                e.intermediate_use_share = Some(share);
            }
        }
    }

    /// Adds to each sector with inputs, per economy with input rows, the
    /// effective rate of protection before and after and the value-added
    /// price change; to every sector the coupled solve's passes; and keeps
    /// in the consumer surplus of inputs their final buyers only
    /// ([`PreparedScenario::final_buyers_only`]).
    pub(crate) fn report_supply_chains(&self, sectors: &mut [pb::SectorImpact], passes: u32, change: f64) {
        let inputs = &self.dataset.inputs;
        let rates: Vec<Vec<(f64, f64)>> = sectors
            .iter()
            .map(|s| {
                s.economies
                    .iter()
                    .map(|e| e.effective_tariff_pct.as_ref().map_or((0.0, 0.0), |c| (c.before, c.after)))
                    .collect()
            })
            .collect();
        let prices = InputPrices::of(sectors, self.dataset.economies.len());
        let rate = |j: usize, v: usize| rates.get(j).and_then(|r| r.get(v)).copied().unwrap_or((0.0, 0.0));
        for (s, sector) in sectors.iter_mut().enumerate() {
            if let Some(d) = sector.diagnostics.as_mut() {
                d.coupling_passes = passes;
                d.coupling_change = change;
            }
            self.final_buyers_only(s, &mut sector.economies);
            for (v, e) in sector.economies.iter_mut().enumerate() {
                let rows = inputs.of(v, s);
                if rows.is_empty() {
                    continue;
                }
                let a: f64 = rows.iter().map(|r| r.share).sum();
                let erp = |t: fn((f64, f64)) -> f64| {
                    let inputs: f64 = rows.iter().map(|r| r.share * t(rate(r.input, v))).sum();
                    (t(rate(s, v)) - inputs) / (1.0 - a)
                };
                e.effective_protection_pct = Some(figures::change(erp(|t| t.0), erp(|t| t.1)));
                let p = 1.0 + e.world_price_change_pct / 100.0;
                let k: f64 = rows.iter().map(|r| r.share * prices.get(v, r.input)).sum();
                e.value_added_price_change_pct = Some(((p - k) / (1.0 - a) - 1.0) * 100.0);
            }
        }
    }
}
