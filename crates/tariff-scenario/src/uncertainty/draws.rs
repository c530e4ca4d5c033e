//! The samples of a range of draws, computed on several threads. Each draw's
//! figures depend on (seed, draw) alone and land in the draw's own place, so
//! the samples are the same bytes whatever the number of threads or however a
//! job's draws are split into ranges.

use crate::views::FlowSelection;
use std::{
    ops::{ControlFlow, Range},
    sync::{
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use tariff_proto::v1 as pb;

use super::{
    headline::FIGURES,
    perturbed::{DateMarkets, Scratch, SolveFailure},
    plan::Plan,
};
use crate::{EvaluateError, Progress, prepared::PreparedScenario};

/// How often the caller hears of the draws' progress (and may cancel): well
/// under a second, but not so often that progress updates cost anything.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// The progress stage of the draws.
pub const DRAWS_STAGE: &str = tariff_proto::stage::DRAWS;

/// How evaluations run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvaluateOptions {
    /// Threads solving sector markets and computing uncertainty draws; 0 for
    /// the machine's available parallelism. Results do not depend on it.
    pub threads: usize,
    /// Which flows the result keeps; `None` keeps every flow (the FULL view).
    pub flows: Option<FlowSelection>,
}

impl EvaluateOptions {
    pub(crate) fn threads(&self) -> usize {
        // Read once: std reads /proc and the cgroup files on every call, which
        // showed as 3.5% of a worker's CPU at one call per small job.
        static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        match self.threads {
            0 => *CPUS.get_or_init(|| thread::available_parallelism().map_or(1, |n| n.get())),
            n => n,
        }
    }
}

/// Draws taken at a time by one thread: small enough to share the work out
/// evenly, large enough that threads rarely meet at the counter.
fn batch_size(draws: usize, threads: usize) -> usize {
    (draws / (threads * 16)).clamp(1, 64)
}

/// One thread's share: the draws it computed, as (first draw, figures).
type Batches = Vec<(u32, Vec<f64>)>;

/// Everything the threads share.
struct Shared<'a, 'd> {
    scenario: &'a PreparedScenario<'d>,
    plan: &'a Plan,
    markets: &'a DateMarkets,
    end: u32,
    next: AtomicU64,
    batch: u64,
    done: AtomicU32,
    stop: AtomicBool,
}

impl Shared<'_, '_> {
    /// Takes batches of draws until there are none left or a stop is asked.
    fn work(&self) -> Result<Batches, (u32, SolveFailure)> {
        let (mut factors, mut scratch, mut batches) = (Vec::new(), Scratch::default(), Vec::new());
        while !self.stop.load(Ordering::Relaxed) {
            let start = self.next.fetch_add(self.batch, Ordering::Relaxed);
            let Ok(first) = u32::try_from(start) else { break };
            if first >= self.end {
                break;
            }
            let last = u32::try_from(start + self.batch).map_or(self.end, |x| x.min(self.end));
            let mut values = Vec::new();
            for draw in first..last {
                if self.stop.load(Ordering::Relaxed) {
                    return Ok(batches);
                }
                self.plan.factors(draw, &mut factors);
                self.scenario
                    .perturbed_headlines(self.markets, &factors, &mut scratch, &mut values)
                    .map_err(|failure| {
                        self.stop.store(true, Ordering::Relaxed);
                        (draw, failure)
                    })?;
                self.done.fetch_add(1, Ordering::Relaxed);
            }
            batches.push((first, values));
        }
        Ok(batches)
    }
}

impl PreparedScenario<'_> {
    /// Computes the samples of the draws in `range` (within `0..draws` of the
    /// scenario's uncertainty) on `options.threads` threads. `progress` is
    /// called on this thread with stage `draws` (done and total counting the
    /// draws of `range`) at the start, about every 200 ms, and at the end;
    /// returning `Break` stops every thread after its current draw
    /// ([`EvaluateError::Cancelled`]).
    pub fn draw_samples(
        &self,
        range: Range<u32>,
        options: &EvaluateOptions,
        progress: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<pb::DrawSamples, EvaluateError> {
        let plan = self.uncertainty.as_ref().filter(|p| range.start < range.end && range.end <= p.draws);
        let Some(plan) = plan else {
            let draws = self.uncertainty.as_ref().map_or(0, |p| p.draws);
            return Err(EvaluateError::DrawRange { start: range.start, end: range.end, draws });
        };
        let markets = self.date_markets();
        let count = range.len();
        let threads = options.threads().clamp(1, count);
        let shared = Shared {
            scenario: self,
            plan,
            markets: &markets,
            end: range.end,
            next: AtomicU64::new(u64::from(range.start)),
            batch: batch_size(count, threads) as u64,
            done: AtomicU32::new(0),
            stop: AtomicBool::new(false),
        };
        let total = u32::try_from(count).unwrap_or(u32::MAX);
        let mut report =
            |done: u32| progress(&Progress { done, total, stage: DRAWS_STAGE.to_owned() }).is_break();

        if report(0) {
            return Err(EvaluateError::Cancelled);
        }
        let mut cancelled = false;
        let outcomes = thread::scope(|scope| {
            // The threads hold the senders: the channel closing says they are all done.
            let (finished, all_finished) = mpsc::channel::<()>();
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let finished = finished.clone();
                    let shared = &shared;
                    scope.spawn(move || {
                        let outcome = shared.work();
                        drop(finished);
                        outcome
                    })
                })
                .collect();
            drop(finished);
            let mut last = Instant::now();
            loop {
                let wait = PROGRESS_EVERY.saturating_sub(last.elapsed());
                match all_finished.recv_timeout(wait) {
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                }
                if last.elapsed() >= PROGRESS_EVERY {
                    last = Instant::now();
                    if !cancelled && report(shared.done.load(Ordering::Relaxed)) {
                        cancelled = true;
                        shared.stop.store(true, Ordering::Relaxed);
                    }
                }
            }
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect::<Vec<_>>()
        });

        let mut batches = Vec::new();
        let mut failure: Option<(u32, SolveFailure)> = None;
        for outcome in outcomes {
            match outcome {
                Ok(mut b) => batches.append(&mut b),
                // The lowest draw that failed, whichever thread found it.
                Err(f) => {
                    if failure.as_ref().is_none_or(|(draw, _)| f.0 < *draw) {
                        failure = Some(f);
                    }
                }
            }
        }
        if let Some((draw, f)) = failure {
            return Err(self.perturbed_error(format!("draw {draw}"), f));
        }
        if cancelled {
            return Err(EvaluateError::Cancelled);
        }
        if report(total) {
            return Err(EvaluateError::Cancelled);
        }
        batches.sort_unstable_by_key(|(first, _)| *first);
        let stride = markets.stride(self.dataset.economies.len());
        let mut values = Vec::with_capacity(count * stride);
        for (_, b) in batches {
            values.extend_from_slice(&b);
        }
        Ok(pb::DrawSamples {
            first_draw: range.start,
            draws: total,
            seed: plan.seed,
            dates: markets.dates.iter().map(ToString::to_string).collect(),
            economies: self.dataset.economies.iter().map(|e| e.code.clone()).collect(),
            figures: FIGURES.iter().map(|f| i32::from(*f)).collect(),
            values,
        })
    }
}
