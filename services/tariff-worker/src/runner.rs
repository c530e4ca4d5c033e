//! What a worker does with one job: the scenario on its dataset, built in or
//! an uploaded version fetched by digest and kept in a bounded cache.

use std::{ops::ControlFlow, sync::Arc};

use prost::Message;
use tariff_jobs::{JobRunner, RunFailure, holds_flows};
use tariff_proto::v1::{
    ChunkTask, DrawSamples, EvaluationSamples, JobError, JobErrorCode, Progress, ResultOptions, ResultView,
    Scenario, ScenarioResult, SectorChunk,
};
use tariff_scenario::{
    EvaluateError, EvaluateOptions, FlowSelection, MergeError, PreparedScenario, ScenarioLimits, chunk_draws,
    dataset::{
        Dataset, DatasetCache, DatasetError, DatasetHandle, DatasetLimits, DatasetName, builtin,
        builtin_handle,
    },
    merge_draws,
};

/// Where a worker finds the bundles of uploaded datasets.
pub trait DatasetFetch: Send + Sync + std::fmt::Debug + 'static {
    /// The bundle of a version; `None` when it is not stored.
    ///
    /// # Errors
    /// The store cannot be reached.
    fn fetch(&self, id: &str, digest: &str) -> Result<Option<Vec<u8>>, String>;
}

/// A [`DatasetFetch`] over a job backend's dataset store, from the blocking
/// threads runners run on.
#[derive(Debug, Clone)]
pub struct StoreFetch<S> {
    pub store: S,
    pub runtime: tokio::runtime::Handle,
}

impl<S: tariff_jobs::DatasetStore + std::fmt::Debug> DatasetFetch for StoreFetch<S> {
    fn fetch(&self, id: &str, digest: &str) -> Result<Option<Vec<u8>>, String> {
        self.runtime.block_on(self.store.get_dataset(id, digest)).map_err(|e| e.to_string())
    }
}

/// The default memory budget of the cache of uploaded datasets.
pub const DEFAULT_DATASET_CACHE_BYTES: u64 = 1 << 30;

/// The default size of a sector chunk, in flow solves (flows times dates):
/// a job with more is split by sector. A chunk this size is about 35 MB
/// encoded (an encoded flow is about 140 bytes) and solves in well under a
/// second; see the README, "Large datasets".
pub const DEFAULT_SPLIT_FLOWS: u64 = 250_000;

/// Runs scenarios with the model, in process, within its limits.
#[derive(Debug, Clone)]
pub struct ScenarioRunner {
    pub limits: ScenarioLimits,
    /// Uploaded datasets: where to fetch them (`None`: built-in datasets only).
    pub datasets: Option<Arc<dyn DatasetFetch>>,
    /// Loaded uploaded datasets, shared by the runner's clones.
    pub cache: Arc<DatasetCache>,
    /// Size limits of uploaded datasets.
    pub dataset_limits: DatasetLimits,
    /// Jobs of more flow solves than this (without uncertainty draws) are
    /// split by sector into chunks of about this many; 0 never splits.
    pub split_flows: u64,
}

impl Default for ScenarioRunner {
    fn default() -> Self {
        ScenarioRunner {
            limits: ScenarioLimits::default(),
            datasets: None,
            cache: Arc::new(DatasetCache::new(DEFAULT_DATASET_CACHE_BYTES)),
            dataset_limits: DatasetLimits::default(),
            split_flows: DEFAULT_SPLIT_FLOWS,
        }
    }
}

/// The most evaluation dates and measures of a [`JobRunner::quick`] job.
const QUICK_DATES: usize = 4;
const QUICK_MEASURES: usize = 50;

/// The built-in dataset a job names by its id (`None`: the default, or not built in).
fn builtin_named(scenario: &Scenario) -> Option<Result<&'static Dataset, DatasetError>> {
    let name = DatasetName::parse(&scenario.dataset).ok()?;
    if name.digest.is_some() {
        return None;
    }
    builtin(&name.id)
}

/// The flows of `dataset` times the job's dates: its flow solves, known
/// without preparing the scenario.
fn flow_solves(dataset: &Dataset, scenario: &Scenario) -> u64 {
    let flows: u64 = (0..dataset.sectors.len()).map(|s| dataset.sector_flows(s).values.len() as u64).sum();
    flows.saturating_mul(scenario.evaluate_at.len().max(1) as u64)
}

fn invalid(field: &str, message: String) -> RunFailure {
    RunFailure::Failed(JobError::new(JobErrorCode::InvalidArgument, message, field))
}

impl ScenarioRunner {
    /// A runner within `limits`, with built-in datasets only.
    pub fn new(limits: ScenarioLimits) -> ScenarioRunner {
        ScenarioRunner { limits, ..ScenarioRunner::default() }
    }

    /// The dataset a job names: built in, or the version its gateway pinned.
    fn dataset(&self, scenario: &Scenario) -> Result<DatasetHandle, RunFailure> {
        let named = if scenario.dataset.is_empty() {
            tariff_scenario::dataset::DEFAULT_DATASET
        } else {
            &scenario.dataset
        };
        let name = DatasetName::parse(named).map_err(|reason| invalid("scenario.dataset", reason))?;
        if name.digest.is_none()
            && let Some(found) = builtin_handle(&name.id)
        {
            return found.map_err(|e| invalid("scenario.dataset", format!("built-in dataset unusable: {e}")));
        }
        let (Some(digest), Some(fetch)) = (name.digest.as_deref(), self.datasets.as_ref()) else {
            return Err(invalid(
                "scenario.dataset",
                format!("unknown dataset `{named}` (a job names a built-in id or an uploaded `id@digest`)"),
            ));
        };
        let dataset = self.cache.get_or_load(
            digest,
            &self.dataset_limits,
            || match fetch.fetch(&name.id, digest) {
                Ok(Some(bytes)) => Ok(bytes),
                Ok(None) => {
                    Err(invalid("scenario.dataset", format!("dataset `{named}` is not stored (deleted?)")))
                }
                Err(e) => {
                    Err(RunFailure::Unavailable(format!("dataset `{named}` could not be fetched: {e}")))
                }
            },
            |e| invalid("scenario.dataset", format!("stored dataset `{named}` does not load: {e}")),
        )?;
        Ok(DatasetHandle::Uploaded { dataset, digest: digest.to_owned() })
    }

    /// Runs `f` on the scenario validated against its dataset and the limits.
    fn with_prepared<T>(
        &self,
        scenario: &Scenario,
        f: impl FnOnce(&PreparedScenario<'_>) -> Result<T, RunFailure>,
    ) -> Result<T, RunFailure> {
        let dataset = tracing::debug_span!("dataset").in_scope(|| self.dataset(scenario))?;
        // The gateway validated already; a job from elsewhere is checked again.
        let prepared = tracing::debug_span!("prepare")
            .in_scope(|| PreparedScenario::with_limits(&dataset, scenario, &self.limits))
            .map_err(|violations| refused(&violations, "scenario."))?;
        f(&prepared)
    }
}

/// The first violation as the job's INVALID_ARGUMENT, its field under `prefix`.
fn refused(violations: &tariff_scenario::Violations, prefix: &str) -> RunFailure {
    let first = violations.0.first().cloned().unwrap_or_else(|| tariff_scenario::FieldViolation {
        field: String::new(),
        reason: violations.to_string(),
    });
    invalid(&format!("{prefix}{}", first.field), first.reason)
}

fn forward(
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> impl FnMut(&tariff_scenario::Progress) -> ControlFlow<()> + '_ {
    |p| progress(Progress { done: p.done, total: p.total, stage: p.stage.clone() })
}

fn failure(e: EvaluateError) -> RunFailure {
    match e {
        EvaluateError::Cancelled => RunFailure::Cancelled,
        // A market the model cannot solve, at the point estimate or in a draw;
        // or chunks that do not fit together (a bug, not the caller's input).
        failed @ (EvaluateError::Model { .. }
        | EvaluateError::Perturbed { .. }
        | EvaluateError::Coupling { .. }
        | EvaluateError::DrawRange { .. }
        | EvaluateError::Analysis { .. }
        | EvaluateError::Merge(_)) => {
            RunFailure::Failed(JobError::new(JobErrorCode::ModelError, failed.to_string(), ""))
        }
    }
}

impl JobRunner for ScenarioRunner {
    fn run(
        &self,
        scenario: &Scenario,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        // With uncertainty, the draws run on every CPU and report progress in
        // draws (stage `draws`) about every 200 ms; a cancel stops them between draws.
        self.with_prepared(scenario, |p| p.evaluate(&mut forward(progress)).map_err(failure))
    }

    /// Only the flows `view` keeps are built (an unspecified view is the
    /// gateway's default for the result's size).
    fn run_in_view(
        &self,
        scenario: &Scenario,
        view: Option<&ResultOptions>,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        let Some(view) = view else { return self.run(scenario, progress) };
        self.with_prepared(scenario, |p| {
            let default = tariff_scenario::default_view(p.flow_solves());
            let flows = FlowSelection::resolve(p.dataset(), view, default).map_err(|v| refused(&v, ""))?;
            let options = EvaluateOptions { flows: Some(flows), ..EvaluateOptions::default() };
            p.evaluate_with(&options, &mut forward(progress)).map_err(failure)
        })
    }

    /// Without uncertainty or an analysis, a job splits only by sector:
    /// never on the default dataset (as `chunks` says), on another built-in
    /// one (in memory) when its flows times the dates pass `split_flows`.
    fn may_split(&self, scenario: &Scenario) -> bool {
        if scenario.analysis.is_some() || scenario.uncertainty.is_some() {
            return true;
        }
        if self.split_flows == 0 || scenario.dataset.is_empty() {
            return false;
        }
        match builtin_named(scenario) {
            Some(Ok(dataset)) => flow_solves(dataset, scenario) > self.split_flows,
            // Uploaded (or unusable: `chunks` and `run` say why).
            _ => true,
        }
    }

    /// A built-in dataset (hundreds of flows), no split, no draws, no
    /// analysis, no coupled input costs and few dates and measures: about
    /// 0.1-0.2 ms of compute.
    fn quick(&self, scenario: &Scenario) -> bool {
        (scenario.dataset.is_empty() || builtin_named(scenario).is_some())
            && scenario.analysis.is_none()
            && scenario.uncertainty.is_none()
            && !scenario.input_costs
            && scenario.evaluate_at.len() <= QUICK_DATES
            && scenario.measures.len() <= QUICK_MEASURES
            && !self.may_split(scenario)
    }

    /// Uncertainty draws in chunks of the scenario's `chunk_draws`, or, for a
    /// job without draws of more than `split_flows` flow solves, ranges of
    /// sectors; other workers may compute them. None for a scenario that
    /// does not validate (`run` reports why).
    fn chunks(&self, scenario: &Scenario) -> Vec<ChunkTask> {
        let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        if scenario.analysis.is_some() {
            // Contributions split by units; a search runs in one piece.
            let chunks = self.with_prepared(scenario, |p| Ok((p.analysis_chunks(), p.analysis_unit_runs())));
            let (ranges, runs) = chunks.unwrap_or_default();
            return ranges
                .into_iter()
                .enumerate()
                .map(|(i, range)| ChunkTask {
                    index: index(i),
                    first_unit: range.start,
                    units: range.end - range.start,
                    steps: (range.end - range.start).saturating_mul(runs),
                    ..ChunkTask::default()
                })
                .collect();
        }
        let Some(uncertainty) = scenario.uncertainty.as_ref() else {
            if self.split_flows == 0 || scenario.dataset.is_empty() {
                // Built-in datasets are small: no need to validate twice to know.
                return Vec::new();
            }
            let split = self.split_flows;
            // Most jobs are far below the split: known from the dataset and the
            // dates alone, without preparing the scenario a second time.
            let Ok(dataset) = self.dataset(scenario) else { return Vec::new() };
            if flow_solves(&dataset, scenario) <= split {
                return Vec::new();
            }
            let ranges = self.with_prepared(scenario, |prepared| {
                let dates = u32::try_from(prepared.dates.len()).unwrap_or(u32::MAX);
                let ranges =
                    if prepared.flow_solves() > split { prepared.sector_chunks(split) } else { Vec::new() };
                Ok((ranges, dates))
            });
            let (ranges, dates) = ranges.unwrap_or_default();
            return ranges
                .into_iter()
                .enumerate()
                .map(|(i, range)| {
                    let sectors = index(range.len());
                    ChunkTask {
                        index: index(i),
                        first_sector: index(range.start),
                        sectors,
                        steps: sectors.saturating_mul(dates),
                        ..ChunkTask::default()
                    }
                })
                .collect();
        };
        // Most jobs with uncertainty have few draws: no need to validate them twice to know.
        if uncertainty.draws <= chunk_draws(uncertainty) {
            return Vec::new();
        }
        let chunks = self.with_prepared(scenario, |prepared| Ok(prepared.draw_chunks()));
        chunks
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, range)| ChunkTask {
                index: index(i),
                first_draw: range.start,
                draws: range.end - range.start,
                steps: range.end - range.start,
                ..ChunkTask::default()
            })
            .collect()
    }

    fn run_head(
        &self,
        scenario: &Scenario,
        chunks: &[ChunkTask],
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        if holds_flows(chunks) {
            // The chunks are the whole computation; the merge builds the result.
            return self.with_prepared(scenario, |_| Ok(ScenarioResult::default()));
        }
        self.with_prepared(scenario, |p| p.point_estimate(&mut forward(progress)).map_err(failure))
    }

    fn run_chunk(
        &self,
        scenario: &Scenario,
        chunk: &ChunkTask,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<Vec<u8>, RunFailure> {
        if chunk.units > 0 {
            let range = chunk.first_unit..chunk.first_unit.saturating_add(chunk.units);
            let samples = self.with_prepared(scenario, |p| {
                p.analysis_samples(range, &EvaluateOptions::default(), &mut forward(progress))
                    .map_err(failure)
            })?;
            return Ok(samples.encode_to_vec());
        }
        if chunk.sectors > 0 {
            let start = chunk.first_sector as usize;
            let range = start..start.saturating_add(chunk.sectors as usize);
            let sectors = self.with_prepared(scenario, |p| {
                p.sector_chunk(range, &EvaluateOptions::default(), &mut forward(progress)).map_err(failure)
            })?;
            return Ok(sectors.encode_to_vec());
        }
        let range = chunk.first_draw..chunk.first_draw.saturating_add(chunk.draws);
        let samples = self.with_prepared(scenario, |p| {
            p.draw_samples(range, &EvaluateOptions::default(), &mut forward(progress)).map_err(failure)
        })?;
        Ok(samples.encode_to_vec())
    }

    /// Draws: their samples make the bands. Analysis units: their runs make
    /// the contributions. Sectors: the sector rows and
    /// totals, without flows (those stay in the chunks), one chunk at a time.
    fn merge(
        &self,
        scenario: &Scenario,
        head: ScenarioResult,
        chunks: &[ChunkTask],
        data: &mut dyn Iterator<Item = Vec<u8>>,
    ) -> Result<ScenarioResult, RunFailure> {
        if holds_flows(chunks) {
            return self.with_prepared(scenario, |prepared| {
                let summary = ResultOptions { view: ResultView::Summary.into(), flows: None };
                let selection = FlowSelection::resolve(prepared.dataset(), &summary, ResultView::Summary)
                    .map_err(|v| invalid("view", v.to_string()))?;
                let decoded = data.map(|bytes| {
                    SectorChunk::decode(bytes.as_slice()).map_err(|e| ChunkMerge::Read(undecodable(e)))
                });
                // Chunks that stop early leave sectors missing, which the merge refuses.
                prepared.merge_sector_chunks::<ChunkMerge>(decoded, &selection).map_err(merge_failure)
            });
        }
        if chunks.iter().any(|c| c.units > 0) {
            let samples = data
                .take(chunks.len())
                .map(|bytes| EvaluationSamples::decode(bytes.as_slice()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(undecodable)?;
            return self.with_prepared(scenario, |p| p.merge_analysis(head, samples).map_err(failure));
        }
        let samples = data
            .take(chunks.len())
            .map(|bytes| DrawSamples::decode(bytes.as_slice()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(undecodable)?;
        merge_draws(head, samples).map_err(|e| failure(EvaluateError::Merge(e)))
    }
}

/// A stored chunk that is not what the merge expects.
fn undecodable(e: impl std::fmt::Display) -> RunFailure {
    RunFailure::Failed(JobError::new(
        JobErrorCode::Internal,
        format!("a stored chunk does not decode: {e}"),
        "",
    ))
}

/// Why chunks did not merge: a failure reading them, or chunks that do not fit.
enum ChunkMerge {
    Read(RunFailure),
    Fit(MergeError),
}

impl From<MergeError> for ChunkMerge {
    fn from(e: MergeError) -> Self {
        ChunkMerge::Fit(e)
    }
}

fn merge_failure(e: ChunkMerge) -> RunFailure {
    match e {
        ChunkMerge::Read(failure) => failure,
        ChunkMerge::Fit(e) => failure(EvaluateError::Merge(e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::time::{Duration, Instant};

    use tariff_proto::v1::{Authority, Measure, Uncertainty, measure::Mode};
    use tariff_scenario::ScenarioFormat;

    use super::*;

    fn with_draws(draws: u32) -> Scenario {
        Scenario {
            measures: vec![Measure {
                authority: Authority::Section232.into(),
                importer: "USA".into(),
                exporters: vec!["*".into()],
                sectors: vec!["CARS".into()],
                mode: Mode::Add.into(),
                rate_pct: 25.0,
                ..Default::default()
            }],
            uncertainty: Some(Uncertainty { draws, seed: 1, ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn uncertainty_jobs_report_draws_and_give_bands() {
        let mut stages = Vec::new();
        let result = ScenarioRunner::default()
            .run(&with_draws(40), &mut |p| {
                stages.push((p.stage, p.done, p.total));
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(result.impacts[0].bands.len(), result.impacts[0].economies.len());
        assert_eq!(stages.last().unwrap(), &(tariff_proto::stage::DRAWS.to_owned(), 40, 40));
    }

    #[test]
    fn a_cancelled_uncertainty_job_stops_within_a_second() {
        let started = Instant::now();
        let mut cancel_at = None;
        let outcome = ScenarioRunner::default().run(&with_draws(100_000), &mut |p| {
            // Cancel once the draws are under way.
            if p.stage == tariff_proto::stage::DRAWS && p.done > 0 {
                cancel_at.get_or_insert_with(Instant::now);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        assert_eq!(outcome, Err(RunFailure::Cancelled));
        let stopped = cancel_at.unwrap().elapsed();
        assert!(stopped < Duration::from_secs(1), "stopped {stopped:?} after the cancel");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    /// `players` US surcharges (the Section 232 measure of [`with_draws`] on
    /// one sector each, in turn), with contributions exact up to `exact_up_to`
    /// players and `permutations` sampled above.
    fn contributions(players: usize, exact_up_to: u32, permutations: u32) -> Scenario {
        use tariff_proto::v1::{Analysis, ContributionsSpec, analysis::Kind};
        let base = with_draws(0).measures.remove(0);
        let sectors =
            ["CARS", "TRUCKS", "PARTS", "MACH", "ELEC", "INSTR", "PHARMA", "METALS", "AGRI", "OTHER"];
        let measures = (0..players)
            .map(|i| Measure {
                id: format!("m{i}"),
                sectors: vec![sectors[i % sectors.len()].into()],
                rate_pct: 2.0 + i as f64,
                ..base.clone()
            })
            .collect();
        let spec = ContributionsSpec { exact_up_to, permutations, seed: 7 };
        let analysis = Some(Box::new(Analysis { kind: Some(Kind::Contributions(spec)) }));
        Scenario { measures, analysis, ..Scenario::default() }
    }

    /// The job as a split job computes it: the head, each chunk, the merge.
    fn split_run(runner: &ScenarioRunner, scenario: &Scenario, chunks: &[ChunkTask]) -> ScenarioResult {
        let head = runner.run_head(scenario, chunks, &mut |_| ControlFlow::Continue(())).unwrap();
        let data: Vec<Vec<u8>> = chunks
            .iter()
            .map(|c| runner.run_chunk(scenario, c, &mut |_| ControlFlow::Continue(())).unwrap())
            .collect();
        runner.merge(scenario, head, chunks, &mut data.into_iter()).unwrap()
    }

    #[test]
    fn exact_contributions_split_into_chunks_of_coalitions_and_merge_to_the_unsplit_bytes() {
        let runner = ScenarioRunner::default();
        // 8 players: 256 coalitions, one run each.
        let scenario = contributions(8, 10, 0);
        let chunks = runner.chunks(&scenario);
        let shape: Vec<_> = chunks.iter().map(|c| (c.index, c.first_unit, c.units, c.steps)).collect();
        assert_eq!(shape, [(0, 0, 64, 64), (1, 64, 64, 64), (2, 128, 64, 64), (3, 192, 64, 64)]);
        // Never the draws or sector paths: the head is the point estimate, the merge the analysis's.
        assert!(chunks.iter().all(|c| c.draws == 0 && c.sectors == 0) && !holds_flows(&chunks));
        let whole = runner.run(&scenario, &mut |_| ControlFlow::Continue(())).unwrap();
        assert!(whole.analysis.is_some());
        assert_eq!(split_run(&runner, &scenario, &chunks).encode_to_vec(), whole.encode_to_vec());
    }

    #[test]
    fn sampled_contributions_count_progress_in_runs() {
        let runner = ScenarioRunner::default();
        // 12 players sampled: 150 permutations of 13 runs each, in 3 chunks.
        let scenario = contributions(12, 4, 150);
        let chunks = runner.chunks(&scenario);
        let shape: Vec<_> = chunks.iter().map(|c| (c.first_unit, c.units, c.steps)).collect();
        assert_eq!(shape, [(0, 64, 64 * 13), (64, 64, 64 * 13), (128, 22, 22 * 13)]);
        for chunk in &chunks {
            let mut last = None;
            runner
                .run_chunk(&scenario, chunk, &mut |p| {
                    last = Some(p);
                    ControlFlow::Continue(())
                })
                .unwrap();
            // What the job's worker adds up against the chunks' steps.
            let last = last.unwrap();
            assert_eq!(
                (last.stage.as_str(), last.done, last.total),
                (tariff_proto::stage::EVALUATIONS, chunk.steps, chunk.steps)
            );
        }
        let whole = runner.run(&scenario, &mut |_| ControlFlow::Continue(())).unwrap();
        assert_eq!(split_run(&runner, &scenario, &chunks).encode_to_vec(), whole.encode_to_vec());
    }

    #[test]
    fn a_goal_seek_and_a_small_contributions_run_in_one_piece() {
        let runner = ScenarioRunner::default();
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/analyses/annex-equivalent-car-rate.json");
        let seek =
            tariff_scenario::parse_scenario(&std::fs::read_to_string(path).unwrap(), ScenarioFormat::Json)
                .unwrap();
        assert!(runner.chunks(&seek).is_empty());
        // Nor split by sector, however low the split: a search is one computation.
        let splitting = ScenarioRunner { split_flows: 1, ..ScenarioRunner::default() };
        assert!(splitting.chunks(&Scenario { dataset: "jpus-2023".into(), ..seek.clone() }).is_empty());
        // 6 players: 64 coalitions, one chunk's worth.
        assert!(runner.chunks(&contributions(6, 10, 0)).is_empty());
        // A view keeps the answer (the seek's result figures in that view).
        let summary = ResultOptions { view: ResultView::Summary.into(), flows: None };
        let viewed = runner.run_in_view(&seek, Some(&summary), &mut |_| ControlFlow::Continue(())).unwrap();
        let whole = runner.run(&seek, &mut |_| ControlFlow::Continue(())).unwrap();
        assert!(viewed.analysis.is_some());
        assert_eq!(viewed.analysis, whole.analysis);
        assert_eq!(viewed.view, Some(summary));
    }

    #[derive(Debug)]
    struct Down;

    impl DatasetFetch for Down {
        fn fetch(&self, _id: &str, _digest: &str) -> Result<Option<Vec<u8>>, String> {
            Err("no responders".into())
        }
    }

    #[test]
    fn an_unreachable_dataset_store_is_unavailable_not_a_failed_job() {
        let runner = ScenarioRunner { datasets: Some(Arc::new(Down)), ..ScenarioRunner::default() };
        let scenario = Scenario { dataset: format!("mine@sha256:{}", "a".repeat(64)), ..with_draws(0) };
        let outcome = runner.run(&scenario, &mut |_| ControlFlow::Continue(()));
        let Err(RunFailure::Unavailable(reason)) = outcome else { panic!("{outcome:?}") };
        assert!(reason.contains("no responders"), "{reason}");
    }

    #[test]
    fn too_many_draws_are_refused_with_the_field() {
        let runner = ScenarioRunner::new(ScenarioLimits { max_draws: 10, ..ScenarioLimits::default() });
        let outcome = runner.run(&with_draws(11), &mut |_| ControlFlow::Continue(()));
        let Err(RunFailure::Failed(error)) = outcome else { panic!("{outcome:?}") };
        assert_eq!(
            (error.code.as_str(), error.field.as_str()),
            ("INVALID_ARGUMENT", "scenario.uncertainty.draws")
        );
    }
}
