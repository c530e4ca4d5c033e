//! Contributions as units (coalitions, or sampled permutations) that a job
//! may spread over workers: the chunks, the runs of a range of units on
//! several threads, and the merge of every range into the contributions.

use std::{
    collections::HashMap,
    ops::{ControlFlow, Range},
    sync::atomic::{AtomicBool, AtomicU32, Ordering},
    time::Duration,
};

use tariff_proto::v1 as pb;

use super::{
    CHUNK_UNITS, EVALUATIONS_STAGE,
    plan::{AnalysisPlan, Question},
};
use crate::{EvaluateError, EvaluateOptions, PreparedScenario, Progress};

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
}
