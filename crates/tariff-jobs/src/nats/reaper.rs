//! Jobs whose deliveries ran out with no outcome recorded (every worker holding
//! them died or stalled). JetStream announces each with a MAX_DELIVERIES
//! advisory; one worker per advisory (a queue group) marks the job FAILED with
//! the reason, copies it to the dead-letter stream and removes it from the queue.

use std::{future::Future, time::Duration};

use futures::StreamExt;
use prost::Message;
use serde::Deserialize;
use tariff_proto::v1::JobEnvelope;

use super::{NatsBackend, timed};
use crate::{JobsError, give_up};

#[derive(Deserialize)]
struct MaxDeliveries {
    stream_seq: u64,
    deliveries: u64,
}

impl NatsBackend {
    /// Handles MAX_DELIVERIES advisories until `shutdown` resolves.
    pub async fn reap_exhausted(&self, shutdown: impl Future<Output = ()>) {
        let subject = format!(
            "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{}.{}",
            self.config.stream, self.config.consumer
        );
        tokio::pin!(shutdown);
        loop {
            let mut advisories =
                match self.client.queue_subscribe(subject.clone(), "tariff-reaper".into()).await {
                    Ok(subscription) => subscription,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot subscribe to delivery advisories; retrying");
                        tokio::select! {
                            _ = &mut shutdown => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                };
            loop {
                tokio::select! {
                    _ = &mut shutdown => return,
                    advisory = advisories.next() => match advisory {
                        Some(message) => {
                            // The advisory comes once: keep trying through an
                            // outage (a leader election, say) rather than drop it.
                            let this = self.clone();
                            tokio::spawn(async move { this.reap_with_retries(message.payload).await });
                        }
                        None => break,
                    },
                }
            }
        }
    }

    async fn reap_with_retries(&self, advisory: bytes::Bytes) {
        let mut delay = Duration::from_millis(500);
        for attempt in 1..=12 {
            match self.reap(&advisory).await {
                Ok(()) => return,
                Err(e @ JobsError::Corrupt { .. }) => {
                    tracing::warn!(error = %e, "ignoring a malformed delivery advisory");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "could not yet settle a job out of deliveries; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(15));
                }
            }
        }
        tracing::error!("gave up settling a job out of deliveries after 12 attempts");
    }

    async fn reap(&self, advisory: &[u8]) -> Result<(), JobsError> {
        let advisory: MaxDeliveries = serde_json::from_slice(advisory)
            .map_err(|e| JobsError::Corrupt { what: "delivery advisory", reason: e.to_string() })?;
        let limit = self.config.op_timeout;
        let stream = timed(limit, async {
            self.js.get_stream(&self.config.stream).await.map_err(JobsError::unavailable)
        })
        .await?;
        let Ok(message) = timed(limit, async {
            stream.get_raw_message(advisory.stream_seq).await.map_err(JobsError::unavailable)
        })
        .await
        else {
            // Already removed by another worker, or acked at the last moment.
            return Ok(());
        };
        let reason = format!(
            "gave up after {} deliveries with no outcome (the workers holding it died or stalled)",
            advisory.deliveries
        );
        // A chunk out of deliveries is its job worker's to compute, not a failure.
        let envelope = JobEnvelope::decode(message.payload.clone()).ok().filter(|e| e.chunk.is_none());
        if let Some(envelope) = envelope {
            give_up(self, &envelope, &reason).await?;
            self.dead_letter(&envelope.job_id, message.payload.clone(), &reason).await?;
            tracing::error!(job_id = %envelope.job_id, deliveries = advisory.deliveries, "job failed: {reason}");
        }
        timed(limit, async {
            stream.delete_message(advisory.stream_seq).await.map_err(JobsError::unavailable)
        })
        .await?;
        Ok(())
    }
}
