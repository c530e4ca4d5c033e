//! The worker's side of the queue: the shared durable pull consumer.

use std::{sync::Arc, time::Duration};

use async_nats::jetstream::{
    self, AckKind,
    consumer::{Consumer, pull},
};
use futures::StreamExt;

use super::{NatsBackend, NatsConfig, timed};
use crate::{
    JobsError,
    backend::{Delivery, JobConsumer},
};

/// Pulls jobs from the durable consumer; re-opens the pull after an outage.
pub struct NatsConsumer {
    backend: NatsBackend,
    consumer: Consumer<pull::Config>,
    prefetch: usize,
    messages: Option<pull::Stream>,
    config: Arc<NatsConfig>,
}

impl std::fmt::Debug for NatsConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsConsumer").field("consumer", &self.config.consumer).finish()
    }
}

impl NatsConsumer {
    pub(crate) fn new(
        backend: NatsBackend,
        consumer: Consumer<pull::Config>,
        prefetch: usize,
        config: Arc<NatsConfig>,
    ) -> Self {
        NatsConsumer { backend, consumer, prefetch: prefetch.max(1), messages: None, config }
    }
}

impl JobConsumer for NatsConsumer {
    type Delivery = NatsDelivery;

    async fn next(&mut self) -> Option<Result<NatsDelivery, JobsError>> {
        if self.messages.is_none() {
            let opened = timed(self.config.op_timeout, async {
                self.consumer
                    .stream()
                    .max_messages_per_batch(self.prefetch)
                    .heartbeat(Duration::from_secs(5))
                    .expires(Duration::from_secs(30))
                    .messages()
                    .await
                    .map_err(JobsError::unavailable)
            })
            .await;
            match opened {
                Ok(messages) => self.messages = Some(messages),
                Err(e) => return Some(Err(e)),
            }
        }
        let messages = self.messages.as_mut()?;
        match messages.next().await {
            Some(Ok(message)) => Some(Ok(NatsDelivery {
                message,
                ack_timeout: self.config.op_timeout,
                backend: self.backend.clone(),
            })),
            Some(Err(e)) => {
                // Heartbeats missed or the connection dropped: open a fresh pull next time.
                self.messages = None;
                Some(Err(JobsError::unavailable(e)))
            }
            None => {
                self.messages = None;
                Some(Err(JobsError::Unavailable("pull subscription ended".into())))
            }
        }
    }
}

/// One delivery of a job from JetStream.
#[derive(Debug)]
pub struct NatsDelivery {
    message: jetstream::Message,
    ack_timeout: Duration,
    backend: NatsBackend,
}

impl NatsDelivery {
    async fn send(&self, kind: AckKind) -> Result<(), JobsError> {
        timed(self.ack_timeout, async { self.message.ack_with(kind).await.map_err(JobsError::unavailable) })
            .await
    }
}

impl Delivery for NatsDelivery {
    fn payload(&self) -> &[u8] {
        &self.message.payload
    }

    fn headers(&self) -> Vec<(String, String)> {
        let Some(headers) = &self.message.headers else { return Vec::new() };
        headers
            .iter()
            .flat_map(|(name, values)| values.iter().map(move |v| (name.to_string(), v.to_string())))
            .collect()
    }

    fn attempt(&self) -> u32 {
        self.message.info().map_or(1, |info| u32::try_from(info.delivered).unwrap_or(u32::MAX))
    }

    async fn ack(&self) -> Result<(), JobsError> {
        // Double ack: the server confirms, so a job is never acked only in hope.
        timed(self.ack_timeout, async { self.message.double_ack().await.map_err(JobsError::unavailable) })
            .await
    }

    async fn nak(&self, delay: Duration) -> Result<(), JobsError> {
        self.send(AckKind::Nak(Some(delay))).await
    }

    async fn in_progress(&self) -> Result<(), JobsError> {
        self.send(AckKind::Progress).await
    }

    async fn term(&self) -> Result<(), JobsError> {
        self.send(AckKind::Term).await
    }

    async fn dead_letter(&self, job_id: &str, reason: &str) -> Result<(), JobsError> {
        self.backend.dead_letter(job_id, self.message.payload.clone(), reason).await
    }
}
