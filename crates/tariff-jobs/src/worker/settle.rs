//! What becomes of a delivery once its run is over: the policy, a pure
//! function of the run's outcome and the delivery count (unit-tested below),
//! and the worker's step that carries it out.

use std::{sync::Arc, time::Duration};

use tariff_proto::v1::JobEnvelope;

use super::{JobRunner, Worker, give_up, slots::Ahead, split};
use crate::backend::{ChunkStore, Delivery, JobQueue, RecordStore};

/// How a run ended, as far as its delivery is concerned.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Settle {
    /// The outcome is recorded (or was already): ack.
    Done,
    /// The run crashed before an outcome: retry, or give up on the last delivery.
    Crashed(String),
}

/// What the outcome of a delivery's run is, for the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Recorded (or recorded before): nothing left to do.
    Done,
    /// The run crashed.
    Crashed,
    /// The record store (or what the run needed) could not be reached.
    StoreDown,
}

/// What to do with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Ack,
    /// Back to the queue, redelivered after the delay.
    Retry(Duration),
    /// A chunk that crashed on its last delivery: dropped, since its job's
    /// worker computes any chunk nobody could.
    LeaveToJobsWorker,
    /// A job that crashed on every delivery: FAILED (GAVE_UP) and dead-lettered.
    GiveUp,
}

/// The settle policy. A crash is retried after `retry_delay` times the
/// delivery count; a store outage after `retry_delay` doubling per delivery
/// (up to 32 times), so the deliveries outlast a leader election in a NATS
/// cluster (several seconds) instead of being spent inside it.
pub(super) fn action(
    outcome: Outcome,
    attempt: u32,
    max_deliver: u32,
    chunk: bool,
    retry_delay: Duration,
) -> Action {
    match outcome {
        Outcome::Done => Action::Ack,
        Outcome::Crashed if attempt < max_deliver => Action::Retry(retry_delay * attempt),
        Outcome::Crashed if chunk => Action::LeaveToJobsWorker,
        Outcome::Crashed => Action::GiveUp,
        Outcome::StoreDown => Action::Retry(retry_delay * (1u32 << attempt.saturating_sub(1).min(5))),
    }
}

impl<R: RecordStore + JobQueue + ChunkStore, J: JobRunner> Worker<R, J> {
    /// Runs the delivery's job and settles the delivery as [`action`] says.
    pub(super) async fn settle<D: Delivery>(
        &self,
        envelope: JobEnvelope,
        delivery: Arc<D>,
        ahead: &mut Ahead,
    ) {
        let job_id = envelope.job_id.clone();
        let attempt = delivery.attempt();
        let (outcome, reason) = match self.process(&envelope, delivery.as_ref(), ahead).await {
            Ok(Settle::Done) => (Outcome::Done, String::new()),
            Ok(Settle::Crashed(reason)) => (Outcome::Crashed, reason),
            Err(e) => (Outcome::StoreDown, e.to_string()),
        };
        let chunk = split::is_chunk(&envelope);
        let mut next = action(outcome, attempt, self.config.max_deliver, chunk, self.config.retry_delay);
        match (outcome, next) {
            (Outcome::Crashed, Action::Retry(_)) => {
                tracing::warn!(job_id, attempt, "run crashed, will retry: {reason}");
            }
            (_, Action::LeaveToJobsWorker) => {
                tracing::warn!(
                    job_id,
                    "chunk crashed on its last delivery, left to the job's worker: {reason}"
                );
            }
            (Outcome::StoreDown, _) => {
                tracing::warn!(job_id, error = %reason, "job store unavailable; the job will be redelivered");
            }
            _ => {}
        }
        if next == Action::GiveUp {
            let reason = format!("crashed on every one of {attempt} deliveries: {reason}");
            tracing::error!(job_id, "job failed: {reason}");
            let recorded = match give_up(&self.records, &envelope, &reason).await {
                Ok(()) => delivery.dead_letter(&job_id, &reason).await,
                Err(e) => Err(e),
            };
            next = match recorded {
                Ok(()) => Action::Ack,
                Err(e) => {
                    tracing::warn!(job_id, error = %e, "job store unavailable; the job will be redelivered");
                    action(
                        Outcome::StoreDown,
                        attempt,
                        self.config.max_deliver,
                        chunk,
                        self.config.retry_delay,
                    )
                }
            };
        }
        match next {
            Action::Ack => {
                if let Err(e) = delivery.ack().await {
                    // The outcome is recorded; a redelivery finds it and acks.
                    tracing::warn!(job_id, error = %e, "ack failed");
                }
            }
            Action::Retry(delay) => {
                let _ = delivery.nak(delay).await;
            }
            Action::LeaveToJobsWorker => {
                let _ = delivery.term().await;
            }
            // Carried out above.
            Action::GiveUp => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELAY: Duration = Duration::from_secs(1);

    #[test]
    fn a_recorded_outcome_is_acked_whatever_the_delivery() {
        for attempt in [1, 5, 9] {
            assert_eq!(action(Outcome::Done, attempt, 5, false, DELAY), Action::Ack);
        }
    }

    #[test]
    fn a_crash_is_retried_later_each_time_then_given_up() {
        assert_eq!(action(Outcome::Crashed, 1, 5, false, DELAY), Action::Retry(DELAY));
        assert_eq!(action(Outcome::Crashed, 4, 5, false, DELAY), Action::Retry(DELAY * 4));
        assert_eq!(action(Outcome::Crashed, 5, 5, false, DELAY), Action::GiveUp);
    }

    #[test]
    fn a_chunk_that_crashed_every_time_is_left_to_its_jobs_worker() {
        assert_eq!(action(Outcome::Crashed, 4, 5, true, DELAY), Action::Retry(DELAY * 4));
        assert_eq!(action(Outcome::Crashed, 5, 5, true, DELAY), Action::LeaveToJobsWorker);
    }

    #[test]
    fn a_store_outage_backs_off_doubling_and_is_never_given_up() {
        let delays: Vec<Action> =
            (1..=8).map(|attempt| action(Outcome::StoreDown, attempt, 5, false, DELAY)).collect();
        let seconds = [1, 2, 4, 8, 16, 32, 32, 32];
        let expected: Vec<Action> = seconds.iter().map(|s| Action::Retry(Duration::from_secs(*s))).collect();
        assert_eq!(delays, expected);
    }
}
