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
//! - a place *ahead* (`concurrency + prefetch`), from the pull to the end of
//!   its compute: a worker takes no more jobs than it can start soon, so a busy
//!   worker leaves jobs to idle ones (with `prefetch` 0, none waits for it);
//! - a *compute* slot (`concurrency`), around each computation only. A job
//!   waiting for one sends in-progress acks, so its delivery does not lapse.

use std::{sync::Arc, time::Duration};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

use crate::backend::Delivery;

/// The largest `concurrency + prefetch` taken into account.
const MOST: usize = 1 << 20;

/// The three limits of one worker.
#[derive(Debug)]
pub(super) struct Slots {
    in_hand: Arc<Semaphore>,
    ahead: Arc<Semaphore>,
    compute: Semaphore,
    in_hand_size: u32,
}

/// A job's place before the end of its compute; given back by [`Ahead::computed`].
#[derive(Debug)]
pub(super) struct Ahead(Option<OwnedSemaphorePermit>);

impl Ahead {
    /// The job's compute is over: another job may be taken.
    pub(super) fn computed(&mut self) {
        self.0 = None;
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
        }
    }

    /// A place in hand and one ahead, before a pull; `None` once closed.
    pub(super) async fn take(&self) -> Option<(OwnedSemaphorePermit, Ahead)> {
        let hand = self.in_hand.clone().acquire_owned().await.ok()?;
        let ahead = self.ahead.clone().acquire_owned().await.ok()?;
        Some((hand, Ahead(Some(ahead))))
    }

    /// How many jobs may be taken now, counting the place just taken.
    pub(super) fn room(&self) -> usize {
        self.ahead.available_permits().min(self.in_hand.available_permits()) + 1
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
        assert!(second.is_ok_and(|permit| permit.is_some()));
    }

    #[test]
    fn no_setting_overflows_the_semaphores() {
        let slots = Slots::new(usize::MAX, usize::MAX);
        assert_eq!(slots.room(), MOST + 1);
    }
}
