//! How many jobs a worker holds and computes at once.
//!
//! A job's compute (`concurrency` at once) is only part of its time in hand:
//! before it come the pull and the record read, after it the result's write
//! and the ack, each a round trip to NATS. Holding a slot through all of them
//! left the CPU idle between short jobs (489 jobs/s on two cores, the worker
//! waiting on round trips). So a job holds three things, each released as
//! soon as it is no longer needed:
//!
//! - a place *in hand* (`2 x (concurrency + prefetch)`), from the pull to the
//!   ack, which bounds the results held while they are written;
//! - a place *ahead* (`concurrency` + the jobs that may wait, see
//!   [`waiting_for`]), from the pull to the end of its compute: a worker takes
//!   no more jobs than it can start soon, so a busy worker leaves jobs to idle
//!   ones (with `prefetch` 0, none waits for it);
//! - a *compute* slot (`concurrency`), around each computation only. A job
//!   waiting for one sends in-progress acks, so its delivery does not lapse.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, SemaphorePermit};

use crate::backend::Delivery;

/// The largest `concurrency + prefetch` taken into account.
const MOST: usize = 1 << 20;

/// The compute a worker keeps waiting in hand. It covers the round trip of
/// the next pull under load (a few milliseconds), so that short jobs never
/// leave a compute slot idle: at 0.13 ms a job, 4 jobs waiting (the fixed
/// default before) gave 1,084 jobs/s on two cores and 64 gave 2,853, because
/// each pull then fetched dozens of jobs instead of a few. Long jobs get none
/// waiting, so they go to whichever worker is free.
const AHEAD: Duration = Duration::from_millis(5);

/// How many jobs may wait for a compute slot: as many as `concurrency` slots
/// compute in [`AHEAD`] at `compute` each, at most `most`. Before any job has
/// been timed, `2 x concurrency` (at most `most`).
pub(super) fn waiting_for(most: usize, concurrency: usize, compute: Option<Duration>) -> usize {
    let Some(compute) = compute else { return most.min(concurrency.saturating_mul(2)) };
    let per_slot = AHEAD.as_nanos() / compute.as_nanos().max(1);
    let jobs = per_slot.saturating_mul(concurrency as u128);
    most.min(usize::try_from(jobs).unwrap_or(usize::MAX))
}

/// The three limits of one worker.
#[derive(Debug)]
pub(super) struct Slots {
    in_hand: Arc<Semaphore>,
    ahead: Arc<Semaphore>,
    compute: Semaphore,
    in_hand_size: u32,
    concurrency: usize,
    prefetch: usize,
    /// The mean time a compute slot is held, in nanoseconds (0: none yet), moving.
    compute_nanos: AtomicU64,
    /// Told when a place ahead is given back.
    freed: Arc<Notify>,
}

/// A job's place before the end of its compute; given back by [`Ahead::computed`].
#[derive(Debug)]
pub(super) struct Ahead(Option<(OwnedSemaphorePermit, Arc<Notify>)>);

impl Ahead {
    /// The job's compute is over: another job may be taken.
    pub(super) fn computed(&mut self) {
        if let Some((permit, freed)) = self.0.take() {
            drop(permit);
            freed.notify_one();
        }
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.computed();
    }
}

/// A compute slot, timed: how long it was held paces the jobs taken ahead.
#[derive(Debug)]
pub(super) struct ComputeSlot<'a> {
    _permit: SemaphorePermit<'a>,
    since: Instant,
    slots: &'a Slots,
}

impl Drop for ComputeSlot<'_> {
    fn drop(&mut self) {
        self.slots.timed(self.since.elapsed());
    }
}

impl Slots {
    pub(super) fn new(concurrency: usize, prefetch: usize) -> Slots {
        // Bounded so that no setting, however large, overflows a semaphore.
        let concurrency = concurrency.clamp(1, MOST);
        let ahead = concurrency.saturating_add(prefetch).min(MOST);
        let in_hand_size = u32::try_from(ahead * 2).unwrap_or(u32::MAX);
        Slots {
            in_hand: Arc::new(Semaphore::new(ahead * 2)),
            ahead: Arc::new(Semaphore::new(ahead)),
            compute: Semaphore::new(concurrency),
            in_hand_size,
            concurrency,
            prefetch: ahead - concurrency,
            compute_nanos: AtomicU64::new(0),
            freed: Arc::new(Notify::new()),
        }
    }

    /// How many jobs may be ahead now: the compute slots and those that may wait.
    fn ahead_now(&self) -> usize {
        let mean = self.compute_nanos.load(Ordering::Relaxed);
        let compute = (mean > 0).then(|| Duration::from_nanos(mean));
        self.concurrency + waiting_for(self.prefetch, self.concurrency, compute)
    }

    /// How many jobs are ahead (taken, their compute not over).
    fn ahead_taken(&self) -> usize {
        (self.concurrency + self.prefetch).saturating_sub(self.ahead.available_permits())
    }

    /// One more compute time into the moving mean (an eighth of its weight).
    fn timed(&self, took: Duration) {
        let took = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX).max(1);
        let mean = self.compute_nanos.load(Ordering::Relaxed);
        let next = if mean == 0 { took } else { mean - mean / 8 + took / 8 };
        self.compute_nanos.store(next.max(1), Ordering::Relaxed);
    }

    /// A place in hand and one ahead, before a pull; `None` once closed.
    pub(super) async fn take(&self) -> Option<(OwnedSemaphorePermit, Ahead)> {
        let hand = self.in_hand.clone().acquire_owned().await.ok()?;
        let permit = self.ahead.clone().acquire_owned().await.ok()?;
        let ahead = Ahead(Some((permit, self.freed.clone())));
        // Fewer may be ahead than the semaphore allows when jobs are long.
        loop {
            let freed = self.freed.notified();
            if self.ahead_taken() <= self.ahead_now() {
                return Some((hand, ahead));
            }
            freed.await;
        }
    }

    /// How many jobs may be taken now, counting the place just taken.
    pub(super) fn room(&self) -> usize {
        let ahead = (self.ahead_now() + 1).saturating_sub(self.ahead_taken()).max(1);
        ahead.min(self.in_hand.available_permits() + 1)
    }

    /// Waits until every job taken has been settled.
    pub(super) async fn drained(&self) {
        let _ = self.in_hand.acquire_many(self.in_hand_size).await;
    }

    /// A compute slot; while waiting, in-progress acks every `interval`.
    pub(super) async fn compute<D: Delivery>(
        &self,
        delivery: &D,
        interval: Duration,
    ) -> Option<ComputeSlot<'_>> {
        let permit = self.compute_permit(delivery, interval).await?;
        Some(ComputeSlot { _permit: permit, since: Instant::now(), slots: self })
    }

    async fn compute_permit<D: Delivery>(
        &self,
        delivery: &D,
        interval: Duration,
    ) -> Option<SemaphorePermit<'_>> {
        // The common case, at once and without a timer.
        if let Ok(permit) = self.compute.try_acquire() {
            return Some(permit);
        }
        let mut ticks = tokio::time::interval(interval);
        ticks.tick().await;
        let acquire = self.compute.acquire();
        tokio::pin!(acquire);
        loop {
            tokio::select! {
                permit = &mut acquire => return permit.ok(),
                _ = ticks.tick() => {
                    let _ = delivery.in_progress().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::JobsError;

    /// Counts its in-progress acks.
    #[derive(Default)]
    struct Counted(AtomicUsize);

    impl Delivery for Counted {
        fn payload(&self) -> &[u8] {
            &[]
        }
        fn headers(&self) -> Vec<(String, String)> {
            Vec::new()
        }
        fn attempt(&self) -> u32 {
            1
        }
        async fn ack(&self) -> Result<(), JobsError> {
            Ok(())
        }
        async fn nak(&self, _delay: Duration) -> Result<(), JobsError> {
            Ok(())
        }
        async fn in_progress(&self) -> Result<(), JobsError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        async fn term(&self) -> Result<(), JobsError> {
            Ok(())
        }
        async fn dead_letter(&self, _job_id: &str, _reason: &str) -> Result<(), JobsError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_worker_takes_concurrency_plus_prefetch_jobs_before_their_compute_ends() {
        let slots = Slots::new(2, 1);
        let (_h1, mut a1) = slots.take().await.unwrap();
        assert_eq!(slots.room(), 3, "two more places ahead, counting the one just taken");
        let (_h2, _a2) = slots.take().await.unwrap();
        let (_h3, _a3) = slots.take().await.unwrap();
        assert_eq!(slots.room(), 1);
        let fourth = tokio::time::timeout(Duration::from_millis(50), slots.take()).await;
        assert!(fourth.is_err(), "no fourth job before a compute ends");
        a1.computed();
        let fourth = tokio::time::timeout(Duration::from_secs(5), slots.take()).await;
        assert!(fourth.is_ok_and(|places| places.is_some()), "a compute ended: room for one more");
    }

    #[tokio::test]
    async fn jobs_still_being_written_bound_the_jobs_in_hand() {
        // One compute slot, no prefetch: two places in hand.
        let slots = Slots::new(1, 0);
        let (_h1, mut a1) = slots.take().await.unwrap();
        a1.computed();
        let (_h2, mut a2) = slots.take().await.unwrap();
        a2.computed();
        let third = tokio::time::timeout(Duration::from_millis(50), slots.take()).await;
        assert!(third.is_err(), "two results being written: no third job");
    }

    #[tokio::test]
    async fn a_job_waiting_for_a_compute_slot_keeps_its_delivery_alive() {
        let slots = Slots::new(1, 1);
        let delivery = Counted::default();
        let first = slots.compute(&delivery, Duration::from_millis(10)).await;
        assert!(first.is_some());
        assert_eq!(delivery.0.load(Ordering::SeqCst), 0, "a free slot is taken at once");
        let waiting = slots.compute(&delivery, Duration::from_millis(10));
        tokio::pin!(waiting);
        assert!(tokio::time::timeout(Duration::from_millis(100), &mut waiting).await.is_err());
        assert!(delivery.0.load(Ordering::SeqCst) >= 3, "in-progress acks while waiting");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(second.is_ok_and(|slot| slot.is_some()));
    }

    #[test]
    fn as_many_wait_as_the_slots_compute_in_five_milliseconds() {
        let ms = Duration::from_millis;
        assert_eq!(waiting_for(64, 2, None), 4, "before any job is timed: two per slot");
        assert_eq!(waiting_for(3, 2, None), 3);
        assert_eq!(waiting_for(64, 2, Some(ms(1))), 10);
        assert_eq!(waiting_for(64, 2, Some(Duration::from_micros(130))), 64, "short jobs: the most");
        assert_eq!(waiting_for(64, 2, Some(ms(6))), 0, "long jobs: none waits");
        assert_eq!(waiting_for(0, 2, Some(Duration::from_micros(1))), 0, "prefetch 0 stays 0");
        assert_eq!(waiting_for(usize::MAX, usize::MAX, Some(Duration::ZERO)), usize::MAX);
    }

    #[tokio::test]
    async fn long_computes_leave_no_job_waiting_and_short_ones_bring_them_back() {
        let slots = Slots::new(1, 8);
        let delivery = Counted::default();
        let (_h1, mut a1) = slots.take().await.unwrap();
        assert_eq!(slots.room(), 1 + 2, "untimed: two waiting per slot, counting the one taken");
        a1.computed();
        for _ in 0..3 {
            slots.timed(Duration::from_millis(50));
        }
        let (_h2, _a2) = slots.take().await.unwrap();
        assert_eq!(slots.room(), 1, "long jobs: only the compute slot's place");
        let third = tokio::time::timeout(Duration::from_millis(50), slots.take()).await;
        assert!(third.is_err(), "a long job ahead: none taken to wait behind it");
        for _ in 0..64 {
            slots.timed(Duration::from_micros(100));
        }
        let (_h3, _a3) = tokio::time::timeout(Duration::from_secs(5), slots.take()).await.unwrap().unwrap();
        assert_eq!(slots.room(), 1 + 8 - 1, "short jobs again: prefetch waiting, counting the one taken");
        // The compute slot times itself.
        drop(slots.compute(&delivery, Duration::from_millis(10)).await);
        assert!(slots.compute_nanos.load(Ordering::Relaxed) < 100_000);
    }

    #[test]
    fn no_setting_overflows_the_semaphores() {
        let slots = Slots::new(usize::MAX, usize::MAX);
        assert_eq!(slots.room(), MOST + 1);
    }
}
