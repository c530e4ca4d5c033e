//! The pull loop: a slot, then a delivery, then a task that runs and settles
//! it, at most `concurrency` at once; on shutdown, no more pulls and the jobs
//! in hand finish.

use std::{future::Future, sync::Arc};

use prost::Message;
use tariff_proto::v1::JobEnvelope;
use tokio::sync::Semaphore;
use tracing::{Instrument, field::Empty};

use super::{JobRunner, Worker};
use crate::{
    backend::{ChunkStore, Delivery, JobConsumer, JobQueue, RecordStore},
    record, telemetry,
};

impl<R: RecordStore + JobQueue + ChunkStore, J: JobRunner> Worker<R, J> {
    /// Pulls and runs jobs, at most `concurrency` at once, until `shutdown`
    /// resolves; then stops pulling and lets the jobs in hand finish.
    pub async fn run<C: JobConsumer>(self, mut consumer: C, shutdown: impl Future<Output = ()>) {
        let this = Arc::new(self);
        let slots = Arc::new(Semaphore::new(this.config.concurrency.max(1)));
        tokio::pin!(shutdown);
        loop {
            // Take a slot before pulling, so a busy worker leaves jobs to others.
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let next = tokio::select! {
                _ = &mut shutdown => break,
                next = consumer.next() => next,
            };
            match next {
                Some(Ok(delivery)) => {
                    let this = this.clone();
                    tokio::spawn(async move {
                        this.handle(Arc::new(delivery)).await;
                        drop(permit);
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
        // Drain: every slot back means every job in hand has been settled.
        let all = u32::try_from(this.config.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = slots.acquire_many(all).await;
        tracing::info!("worker stopped");
    }

    async fn handle<D: Delivery>(&self, delivery: Arc<D>) {
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
        self.settle(envelope, delivery).instrument(span).await;
    }
}
