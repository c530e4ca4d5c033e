//! The worker's side of the queue: the shared durable pull consumer.

use std::{collections::VecDeque, sync::Arc, time::Duration};

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

/// Pulls jobs from the durable consumer. Messages are fetched only when the
/// worker asks for one (up to `batch` of those available at once, and no more
/// than the worker has room for), and any still buffered when it stops are
/// handed back at once rather than left to their ack wait.
pub struct NatsConsumer {
    backend: NatsBackend,
    consumer: Consumer<pull::Config>,
    batch: usize,
    buffered: VecDeque<jetstream::Message>,
    config: Arc<NatsConfig>,
}

impl std::fmt::Debug for NatsConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsConsumer").field("consumer", &self.config.consumer).finish()
    }
}

/// How long one pull waits on an empty queue before asking again.
const PULL_WAIT: Duration = Duration::from_secs(5);

impl NatsConsumer {
    pub(crate) fn new(
        backend: NatsBackend,
        consumer: Consumer<pull::Config>,
        batch: usize,
        config: Arc<NatsConfig>,
    ) -> Self {
        NatsConsumer { backend, consumer, batch: batch.max(1), buffered: VecDeque::new(), config }
    }

    fn delivery(&self, message: jetstream::Message) -> NatsDelivery {
        NatsDelivery { message, ack_timeout: self.config.op_timeout, backend: self.backend.clone() }
    }

    /// Takes the messages available now (up to `batch` and `room`), or waits
    /// up to [`PULL_WAIT`] for one.
    async fn pull(&mut self, room: usize) -> Result<(), JobsError> {
        let limit = self.config.op_timeout;
        let most = self.batch.min(room.max(1));
        let mut available = timed(limit, async {
            self.consumer.fetch().max_messages(most).messages().await.map_err(JobsError::unavailable)
        })
        .await?;
        // The fetch answers at once; a deadline still guards against an answer
        // lost to a connection that dropped mid-request.
        let taken = tokio::time::timeout(limit, async {
            let mut taken = Vec::new();
            while let Some(message) = available.next().await {
                taken.push(message.map_err(JobsError::unavailable)?);
            }
            Ok::<_, JobsError>(taken)
        })
        .await;
        match taken {
            Ok(taken) => self.buffered.extend(taken?),
            Err(_) => return Err(JobsError::Unavailable("no answer to a pull within the deadline".into())),
        }
        if !self.buffered.is_empty() {
            return Ok(());
        }
        let mut one = timed(limit, async {
            self.consumer
                .batch()
                .max_messages(1)
                .expires(PULL_WAIT)
                .messages()
                .await
                .map_err(JobsError::unavailable)
        })
        .await?;
        let waited = tokio::time::timeout(PULL_WAIT + limit, one.next()).await;
        if let Ok(Some(message)) = waited {
            self.buffered.push_back(message.map_err(JobsError::unavailable)?);
        }
        Ok(())
    }
}

impl JobConsumer for NatsConsumer {
    type Delivery = NatsDelivery;

    async fn next(&mut self, room: usize) -> Option<Result<NatsDelivery, JobsError>> {
        loop {
            if let Some(message) = self.buffered.pop_front() {
                return Some(Ok(self.delivery(message)));
            }
            if let Err(e) = self.pull(room).await {
                return Some(Err(e));
            }
        }
    }

    async fn release(&mut self) {
        for message in self.buffered.drain(..) {
            let _ = message.ack_with(AckKind::Nak(None)).await;
        }
    }

    async fn settled(&mut self) {
        // Acks are not confirmed: flushed here, they are not lost to the exit.
        let _ = tokio::time::timeout(self.config.op_timeout, self.backend.client.flush()).await;
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
        // A plain ack, unconfirmed: the outcome is in the record before it,
        // so a lost ack costs a redelivery that finds the record ended and
        // acks again, never the job. Confirming it (a double ack) was one
        // more message and wake-up per job for nothing the record does not give.
        self.send(AckKind::Ack).await
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
