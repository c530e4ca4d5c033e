//! How load is applied and measured, whatever the call: a closed loop keeps a
//! fixed number of calls in flight, an open loop starts calls on a fixed
//! schedule. Both time each call into a histogram, tally the errors and give a
//! `Step`. What a call is comes from a `Caller` (the gateway, the JetStream cycle).

use std::{
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::anyhow;
use hdrhistogram::Histogram;

use crate::stats::{Step, new_histogram, record, scheduled_offset};

/// Longest any one request may take before it counts as an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One source of calls: makes its calls one after another.
pub trait Caller: Send + 'static {
    /// One call, to its end.
    fn call(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The errors of a run: how many, and the first one in full.
#[derive(Debug, Default)]
pub struct Tally {
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Tally {
    pub fn error(&self, e: &anyhow::Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(format!("{e:#}"));
        }
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    pub fn first(&self) -> Option<String> {
        self.first_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The step measured: the calls that succeeded in `histogram`, the errors in this tally.
    fn step(&self, what: impl Into<String>, histogram: &Histogram<u64>, elapsed: Duration) -> Step {
        Step::new(what, histogram, self.errors(), elapsed, self.first())
    }
}

/// Closed loop: `concurrency` callers (the `i`th made by `caller(i)`), each
/// starting its next call when the last ends, until `duration` is up.
pub async fn closed_loop<C: Caller>(
    what: impl Into<String>,
    concurrency: usize,
    duration: Duration,
    mut caller: impl FnMut(usize) -> C,
) -> anyhow::Result<Step> {
    let tally = Arc::new(Tally::default());
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for i in 0..concurrency.max(1) {
        let mut caller = caller(i);
        let tally = Arc::clone(&tally);
        tasks.push(tokio::spawn(async move {
            let mut histogram = new_histogram()?;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                match caller.call().await {
                    Ok(()) => record(&mut histogram, t0.elapsed()),
                    Err(e) => tally.error(&e),
                }
            }
            anyhow::Ok(histogram)
        }));
    }
    let mut histogram = new_histogram()?;
    for task in tasks {
        histogram.add(task.await??).map_err(|e| anyhow!("merging histograms: {e:?}"))?;
    }
    let mut step = tally.step(what, &histogram, start.elapsed());
    step.concurrency = Some(concurrency);
    Ok(step)
}

/// Open loop: `rate` calls a second, each made by a clone of `caller`, start on
/// a fixed schedule for `duration`; latency is measured from when each call was
/// due, so a stalled server is not hidden (no coordinated omission).
pub async fn open_loop<C: Caller + Clone>(
    what: impl Into<String>,
    rate: f64,
    duration: Duration,
    caller: &C,
) -> anyhow::Result<Step> {
    let tally = Arc::new(Tally::default());
    let histogram = Arc::new(Mutex::new(new_histogram()?));
    let start = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut i = 0u64;
    loop {
        let due = start + scheduled_offset(i, rate);
        if due.duration_since(start) >= duration {
            break;
        }
        tokio::time::sleep_until(due).await;
        let mut caller = caller.clone();
        let tally = Arc::clone(&tally);
        let histogram = Arc::clone(&histogram);
        tasks.spawn(async move {
            match caller.call().await {
                Ok(()) => record(&mut histogram.lock().unwrap_or_else(|e| e.into_inner()), due.elapsed()),
                Err(e) => tally.error(&e),
            }
        });
        // Reap finished calls as we go, so the set does not grow without bound.
        while tasks.try_join_next().is_some() {}
        i += 1;
    }
    while tasks.join_next().await.is_some() {}
    let histogram = histogram.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut step = tally.step(what, &histogram, start.elapsed());
    step.target_rate_per_s = Some(rate);
    Ok(step)
}
