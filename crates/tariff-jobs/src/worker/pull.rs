//! The pull loop: places (see `slots`), then a delivery, then a task that
//! runs and settles it; on shutdown, no more pulls and the jobs in hand finish.

use std::{future::Future, sync::Arc};

use prost::Message;
use tariff_proto::v1::JobEnvelope;
use tracing::{Instrument, field::Empty};

use super::{JobRunner, Worker, slots::Ahead};
use crate::{
    backend::{ChunkStore, Delivery, JobConsumer, JobQueue, RecordStore},
    record, telemetry,
};

impl<R: RecordStore + JobQueue + ChunkStore, J: JobRunner> Worker<R, J> {
    /// Pulls and runs jobs, computing at most `concurrency` at once, until
    /// `shutdown` resolves; then stops pulling and lets the jobs in hand finish.
    pub async fn run<C: JobConsumer>(self, mut consumer: C, shutdown: impl Future<Output = ()>) {
        let this = Arc::new(self);
        tokio::pin!(shutdown);
        loop {
            // Places before pulling, so a busy worker leaves jobs to others.
            let (hand, ahead) = tokio::select! {
                _ = &mut shutdown => break,
                places = this.slots.take() => match places {
                    Some(places) => places,
                    None => break,
                },
            };
            let next = tokio::select! {
                _ = &mut shutdown => break,
                next = consumer.next(this.slots.room()) => next,
            };
            match next {
                Some(Ok(delivery)) => {
                    let this = this.clone();
                    tokio::spawn(async move {
                        this.handle(Arc::new(delivery), ahead).await;
                        drop(hand);
                    });
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "pulling jobs failed; retrying");
                    tokio::time::sleep(this.config.retry_delay).await;
                }
                None => break,
            }
        }
        consumer.release().await;
        // Drain: every place back means every job in hand has been settled.
        this.slots.drained().await;
        consumer.settled().await;
        tracing::info!("worker stopped");
    }

    async fn handle<D: Delivery>(&self, delivery: Arc<D>, mut ahead: Ahead) {
        let envelope = match JobEnvelope::decode(delivery.payload()) {
            Ok(e) if record::valid_job_id(&e.job_id) => e,
            outcome => {
                tracing::error!(error = ?outcome.err(), "undecodable job message; dropping it");
                let _ = delivery.term().await;
                return;
            }
        };
        // One span per delivery, continuing the trace of the gateway's publish
        // (a job) or of the job's span on the worker that offered it (a chunk):
        // counting `job` spans counts a job's deliveries, never its chunks.
        // Integers as i64: tracing-opentelemetry exports u64 fields as strings.
        let span = match &envelope.chunk {
            None => tracing::info_span!(
                "job",
                otel.kind = "consumer",
                job_id = %envelope.job_id,
                attempt = i64::from(delivery.attempt()),
                trace_id = Empty,
                queue_wait_ms = Empty,
                outcome = Empty,
                otel.status_code = Empty,
            ),
            Some(chunk) => tracing::info_span!(
                "chunk",
                otel.kind = "consumer",
                job_id = %envelope.job_id,
                index = i64::from(chunk.index),
                attempt = i64::from(delivery.attempt()),
                trace_id = Empty,
                outcome = Empty,
                otel.status_code = Empty,
            ),
        };
        telemetry::continue_trace(&span, telemetry::extract(&delivery.headers()));
        if delivery.attempt() > 1 {
            self.metrics.redelivered.add(1, &[]);
        }
        self.settle(envelope, delivery, &mut ahead).instrument(span).await;
    }
}
