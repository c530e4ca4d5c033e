//! Consumer lag: how many jobs wait in the queue or are held unacknowledged,
//! read from the consumer's info every few seconds by each worker (every
//! replica reports the same consumer, so take the max over replicas).

use std::{future::Future, time::Duration};

use async_nats::jetstream::consumer::{Consumer, pull};
use opentelemetry::{KeyValue, global};

use super::{NatsBackend, timed};
use crate::{JobsError, telemetry::METER};

/// The consumer's backlog at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Jobs not yet delivered to any worker.
    pub waiting: u64,
    /// Jobs delivered and not yet acknowledged (running, or held by a dead worker).
    pub unacked: u64,
}

impl NatsBackend {
    /// The consumer's backlog now.
    pub async fn backlog(&self) -> Result<Backlog, JobsError> {
        self.ready()?;
        let limit = self.config.op_timeout;
        let info = timed(limit, async {
            let stream = self.js.get_stream(&self.config.stream).await.map_err(JobsError::unavailable)?;
            let consumer: Consumer<pull::Config> =
                stream.get_consumer(&self.config.consumer).await.map_err(JobsError::unavailable)?;
            consumer.get_info().await.map_err(JobsError::unavailable)
        })
        .await?;
        Ok(Backlog {
            waiting: info.num_pending,
            unacked: u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX),
        })
    }

    /// Records the backlog every `every` as `tariff_consumer_pending` (waiting
    /// plus unacknowledged: the lag to alert on) and `tariff_consumer_ack_pending`,
    /// until `shutdown` resolves. A failed read is skipped (debug log only: an
    /// outage is reported elsewhere).
    pub async fn observe_backlog(&self, every: Duration, shutdown: impl Future<Output = ()>) {
        let meter = global::meter(METER);
        let pending = meter
            .u64_gauge("tariff_consumer_pending")
            .with_description(
                "Jobs in the work queue not yet acknowledged: waiting plus running (consumer lag).",
            )
            .build();
        let ack_pending = meter
            .u64_gauge("tariff_consumer_ack_pending")
            .with_description("Jobs delivered to a worker and not yet acknowledged.")
            .build();
        let labels = [KeyValue::new("consumer", self.config.consumer.clone())];
        let mut ticks = tokio::time::interval(every.max(Duration::from_millis(10)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = ticks.tick() => {}
            }
            match self.backlog().await {
                Ok(backlog) => {
                    pending.record(backlog.waiting.saturating_add(backlog.unacked), &labels);
                    ack_pending.record(backlog.unacked, &labels);
                }
                Err(e) => tracing::debug!(error = %e, "could not read the consumer backlog"),
            }
        }
    }
}
