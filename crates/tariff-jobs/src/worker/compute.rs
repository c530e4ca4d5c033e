//! One computation, in a compute slot, on a blocking thread with the job's
//! bookkeeping around it (progress into the record or a watch on it,
//! cancellation, in-progress acks), or on the calling task for a quick job.

use std::{
    ops::ControlFlow,
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use tariff_proto::v1::Progress;
use tokio::sync::mpsc;

use super::{JobRunner, RunFailure, Worker};
use crate::{
    JobsError,
    backend::{ChunkStore, Delivery, JobQueue, RecordStore, Stored},
    record::is_terminal,
};

/// Where a computation's progress goes.
pub(super) enum Sink<'a> {
    /// The job's own record: RUNNING with progress, and a cancellation read back.
    Record(&'a mut Stored),
    /// A chunk's job, computed elsewhere: only read, to stop when it has ended.
    Watch(&'a str),
}

/// What a computation came to: its outcome, or the panic that ended it, and
/// the last progress it reported.
pub(super) struct Computed<T> {
    pub outcome: Result<Result<T, RunFailure>, String>,
    pub latest: Option<Progress>,
}

/// The work: given the progress callback (`Break` means stop), an outcome.
pub(super) type Work<T> =
    Box<dyn FnOnce(&mut dyn FnMut(Progress) -> ControlFlow<()>) -> Result<T, RunFailure> + Send>;

impl<R: RecordStore + JobQueue + ChunkStore, J: JobRunner> Worker<R, J> {
    /// Runs `work` on a blocking thread; `rescale` turns its progress into the
    /// job's (a chunk's draws into the job's). Errors only when the record
    /// store is unreachable.
    pub(super) async fn compute<T: Send + 'static, D: Delivery>(
        &self,
        mut sink: Sink<'_>,
        delivery: &D,
        rescale: impl Fn(Progress) -> Progress,
        work: Work<T>,
    ) -> Result<Computed<T>, JobsError> {
        let _slot = self.slots.compute(delivery, self.config.in_progress_interval).await;
        let cancelled = Arc::new(AtomicBool::new(false));
        let (progress_tx, mut progress_rx) = mpsc::unbounded_channel::<Progress>();
        let flag = cancelled.clone();
        // The computation's spans (resolution, solves) nest under `compute`,
        // on the blocking thread as on this one.
        let span = tracing::debug_span!("compute");
        // Only steps that may be written cross to this task: a step is written
        // once `progress_interval` has passed since the last, and every send
        // wakes this task (ten wake-ups for a ten-sector job, most of them for
        // nothing, showed in profiles). The last step comes back with the outcome.
        let interval = self.config.progress_interval;
        let mut computation = tokio::task::spawn_blocking(move || {
            let mut sent = Instant::now();
            let mut last: Option<Progress> = None;
            let outcome = span.in_scope(|| {
                work(&mut |p| {
                    if flag.load(Ordering::Relaxed) {
                        return ControlFlow::Break(());
                    }
                    if sent.elapsed() >= interval {
                        sent = Instant::now();
                        let _ = progress_tx.send(p.clone());
                    }
                    last = Some(p);
                    ControlFlow::Continue(())
                })
            });
            (outcome, last)
        });

        let mut last_write = Instant::now();
        let mut latest: Option<Progress> = None;
        let mut in_progress = tokio::time::interval(self.config.in_progress_interval);
        in_progress.tick().await;
        let outcome = loop {
            // Progress first: a step reported before the end is still written
            // when it is due (with a zero interval, every step is).
            tokio::select! {
                biased;
                Some(progress) = progress_rx.recv() => {
                    let progress = rescale(progress);
                    latest = Some(progress.clone());
                    if last_write.elapsed() >= self.config.progress_interval {
                        last_write = Instant::now();
                        let ended = match &mut sink {
                            Sink::Record(current) => {
                                self.record_progress(current, progress, delivery.attempt()).await?
                            }
                            Sink::Watch(job_id) => {
                                self.records.get(job_id).await?.is_none_or(|stored| is_terminal(&stored.job))
                            }
                        };
                        if ended {
                            cancelled.store(true, Ordering::Relaxed);
                        }
                    }
                }
                outcome = &mut computation => break outcome.map(|(outcome, last)| {
                    if let Some(last) = last {
                        latest = Some(rescale(last));
                    }
                    outcome
                }),
                _ = in_progress.tick() => {
                    let _ = delivery.in_progress().await;
                }
            }
        };
        Ok(Computed { outcome: outcome.map_err(|crash| format!("the run crashed: {crash}")), latest })
    }

    /// Runs `work` of a [`JobRunner::quick`] job on this task: its progress
    /// is only kept (the last step goes into the outcome's record), and it
    /// is not cancelled mid-run, which it outlasts by nothing.
    pub(super) async fn compute_here<T, D: Delivery>(&self, delivery: &D, work: Work<T>) -> Computed<T> {
        let _slot = self.slots.compute(delivery, self.config.in_progress_interval).await;
        let mut latest = None;
        let outcome = tracing::debug_span!("compute").in_scope(|| {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                work(&mut |p| {
                    latest = Some(p);
                    ControlFlow::Continue(())
                })
            }))
        });
        let outcome = outcome.map_err(|panic| format!("the run crashed: {}", panic_message(panic.as_ref())));
        Computed { outcome, latest }
    }
}

/// What a panic said, as a spawned task's `JoinError` shows it.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let said = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    format!("panicked with message {said:?}")
}
