//! Jobs split into chunks that several workers compute in parallel.
//!
//! The job's own worker computes the head (the point estimate), offers every
//! chunk on the queue, then computes the chunks nobody has stored yet, from the
//! last one back, while other workers take them from the first one on; it
//! merges when every chunk is stored. It never waits on another worker: a chunk
//! another worker is still computing when the two meet is computed twice, and
//! since a chunk's result depends only on the job and the chunk, either copy
//! does. A worker that dies with a chunk costs nothing but that time.
//!
//! Chunks are uncertainty draws, or ranges of sectors of a job on a large
//! dataset; those stay stored after the merge and hold the job's flows.

use tariff_proto::v1::{ChunkTask, JobEnvelope, Progress, Scenario, ScenarioResult};
use tracing::Instrument;

use super::{
    JobRunner, RunFailure, Settle, Worker,
    compute::{Computed, Sink},
    runner::{chunk_steps, holds_flows},
    slots::Ahead,
};
use crate::{
    JobsError,
    backend::{ChunkStore, Delivery, JobQueue, RecordStore, Stored},
    record::{self, is_terminal},
    telemetry,
};

// The stage of the runner's progress in draws, which chunks rescale.
use tariff_proto::stage::{DRAWS as DRAWS_STAGE, EVALUATIONS};

impl<R: RecordStore + JobQueue + ChunkStore, J: JobRunner> Worker<R, J> {
    /// Computes a split job: the head, then the chunks, then the merge.
    pub(super) async fn compute_split<D: Delivery>(
        &self,
        envelope: &JobEnvelope,
        scenario: &Scenario,
        chunks: &[ChunkTask],
        current: &mut Stored,
        delivery: &D,
    ) -> Result<Computed<ScenarioResult>, JobsError> {
        let job_id = envelope.job_id.as_str();
        let runner = self.runner.clone();
        let (job, tasks) = (scenario.clone(), chunks.to_vec());
        let head = self
            .compute(
                Sink::Record(current),
                delivery,
                |p| p,
                Box::new(move |p| runner.run_head(&job, &tasks, p)),
            )
            .await?;
        let head_result = match head.outcome {
            Ok(Ok(result)) => result,
            failed => return Ok(Computed { outcome: failed, latest: head.latest }),
        };
        self.offer_chunks(envelope, scenario, chunks).await;

        let total: u32 = chunks.iter().map(chunk_steps).fold(0, u32::saturating_add);
        let mut done = 0u32;
        let mut latest = head.latest;
        // Chunks of draws are small: those computed here are kept for the
        // merge. Chunks of sectors hold flows: they are read back one by one.
        let keep_here = !holds_flows(chunks);
        let mut computed_here: Vec<Option<Vec<u8>>> = vec![None; chunks.len()];
        for (slot, chunk) in chunks.iter().enumerate().rev() {
            if !self.records.has_chunk(job_id, chunk.index).await? {
                let data = match self
                    .own_chunk(current, scenario, chunk, delivery, (done, total), &mut latest)
                    .await?
                {
                    Ok(data) => data,
                    Err(failed) => return Ok(failed),
                };
                if keep_here && let Some(here) = computed_here.get_mut(slot) {
                    *here = Some(data);
                }
            }
            done = done.saturating_add(chunk_steps(chunk));
        }

        // The merge runs on a blocking thread and takes each chunk as this
        // task reads it: one chunk in flight at a time.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(1);
        let runner = self.runner.clone();
        let (job, tasks) = (scenario.clone(), chunks.to_vec());
        let merge =
            tokio::task::spawn_blocking(move || runner.merge(&job, head_result, &tasks, &mut rx.into_iter()))
                .instrument(tracing::debug_span!(
                    "merge_chunks",
                    chunks = i64::try_from(chunks.len()).unwrap_or(i64::MAX)
                ));
        for (slot, chunk) in chunks.iter().enumerate() {
            let data = match computed_here.get_mut(slot).and_then(Option::take) {
                Some(data) => data,
                None => match self.records.get_chunk(job_id, chunk.index).await {
                    Ok(Some(data)) => data,
                    // Gone since it was seen (expired, or removed by hand): compute it again.
                    Ok(None) => match self
                        .own_chunk(current, scenario, chunk, delivery, (done, total), &mut latest)
                        .await?
                    {
                        Ok(data) => data,
                        Err(failed) => return Ok(failed),
                    },
                    Err(e) => return Err(e),
                },
            };
            let sent = tx.clone();
            // A full channel waits for the merge: off the async threads.
            let delivered = tokio::task::spawn_blocking(move || sent.send(data).is_ok()).await;
            if !delivered.unwrap_or(false) {
                // The merge stopped early (a chunk that does not fit): its outcome says why.
                break;
            }
            let _ = delivery.in_progress().await;
        }
        drop(tx);
        let merged = merge.await;
        Ok(Computed { outcome: merged.map_err(|crash| format!("the merge crashed: {crash}")), latest })
    }

    /// Computes one chunk here and stores it, so the workers it was offered to
    /// skip it; or, when it fails, the job's outcome. `progress` is (draws done
    /// before it, draws in all).
    async fn own_chunk<D: Delivery>(
        &self,
        current: &mut Stored,
        scenario: &Scenario,
        chunk: &ChunkTask,
        delivery: &D,
        (done, total): (u32, u32),
        latest: &mut Option<Progress>,
    ) -> Result<Result<Vec<u8>, Computed<ScenarioResult>>, JobsError> {
        let computed =
            self.compute_chunk(Sink::Record(current), scenario, chunk, delivery, done, total).await?;
        if computed.latest.is_some() {
            *latest = computed.latest;
        }
        let outcome = match computed.outcome {
            Ok(Ok(data)) => {
                self.records.put_chunk(&current.job.job_id, chunk.index, &data).await?;
                return Ok(Ok(data));
            }
            Ok(Err(failure)) => Ok(Err(failure)),
            Err(crash) => Err(crash),
        };
        Ok(Err(Computed { outcome, latest: latest.clone() }))
    }

    /// Publishes every chunk for other workers. Best effort: a chunk nobody
    /// takes is computed here anyway.
    async fn offer_chunks(&self, envelope: &JobEnvelope, scenario: &Scenario, chunks: &[ChunkTask]) {
        let headers = telemetry::inject(&tracing::Span::current(), &[]);
        for chunk in chunks {
            let offer = JobEnvelope {
                job_id: envelope.job_id.clone(),
                scenario: Some(scenario.clone()),
                submitted_at: record::now_rfc3339(),
                chunk: Some(*chunk),
                computed_view: None,
                record: None,
                record_revision: 0,
            };
            if let Err(e) = self.records.publish(&offer, &headers).await {
                tracing::warn!(job_id = %envelope.job_id, error = %e, "could not offer chunks to other workers");
                return;
            }
        }
        tracing::debug!(job_id = %envelope.job_id, chunks = chunks.len(), "chunks offered");
    }

    /// One chunk on a blocking thread, its progress in draws counted into the
    /// job's (`done` of `total` draws before it).
    async fn compute_chunk<D: Delivery>(
        &self,
        sink: Sink<'_>,
        scenario: &Scenario,
        chunk: &ChunkTask,
        delivery: &D,
        done: u32,
        total: u32,
    ) -> Result<Computed<Vec<u8>>, JobsError> {
        let runner = self.runner.clone();
        let job = scenario.clone();
        let task = *chunk;
        // A chunk of sectors reports only sector solves; one of draws, the draws
        // after the point estimate's stages (which are not the job's); one of an
        // analysis, its runs.
        let by_sector = chunk.sectors > 0;
        let rescale = move |p: Progress| {
            if by_sector || p.stage == DRAWS_STAGE || p.stage == EVALUATIONS {
                Progress { done: done.saturating_add(p.done), total, stage: p.stage }
            } else {
                p
            }
        };
        let computed = self
            .compute(sink, delivery, rescale, Box::new(move |p| runner.run_chunk(&job, &task, p)))
            .instrument(tracing::debug_span!(
                "compute_chunk",
                index = i64::from(chunk.index),
                steps = i64::from(chunk_steps(chunk))
            ))
            .await?;
        if matches!(computed.outcome, Ok(Ok(_))) {
            self.metrics.chunks.add(1, &[]);
        }
        Ok(computed)
    }

    /// A chunk taken from the queue: computed and stored unless its job has
    /// ended or the chunk is stored already. A chunk that fails is left to the
    /// job's worker, which meets the same failure and records it.
    pub(super) async fn process_chunk<D: Delivery>(
        &self,
        envelope: &JobEnvelope,
        chunk: &ChunkTask,
        delivery: &D,
        ahead: &mut Ahead,
    ) -> Result<Settle, JobsError> {
        let job_id = envelope.job_id.as_str();
        let Some(stored) = self.records.get(job_id).await? else { return Ok(Settle::Done) };
        if is_terminal(&stored.job) || self.records.has_chunk(job_id, chunk.index).await? {
            return Ok(Settle::Done);
        }
        let _in_flight = super::InFlight::new(&self.metrics);
        let scenario = envelope.scenario.clone().unwrap_or_default();
        let computed = self
            .compute_chunk(Sink::Watch(job_id), &scenario, chunk, delivery, 0, chunk_steps(chunk))
            .await?;
        ahead.computed();
        match computed.outcome {
            Ok(Ok(data)) => {
                self.records.put_chunk(job_id, chunk.index, &data).await?;
                tracing::debug!(job_id, chunk = chunk.index, "chunk stored");
                Ok(Settle::Done)
            }
            Ok(Err(RunFailure::Unavailable(reason))) => Err(JobsError::Unavailable(reason)),
            Ok(Err(_)) => Ok(Settle::Done),
            Err(crash) => Ok(Settle::Crashed(crash)),
        }
    }

    /// The runner's chunks of a job; none when it does not split. On a
    /// blocking thread: knowing may mean fetching and loading the dataset.
    pub(super) async fn chunks_of(&self, scenario: &Scenario) -> Vec<ChunkTask> {
        if !self.runner.may_split(scenario) {
            return Vec::new();
        }
        let (runner, job) = (self.runner.clone(), scenario.clone());
        // Its spans (dataset, prepare) stay in the job's trace.
        let span = tracing::Span::current();
        let chunks = tokio::task::spawn_blocking(move || span.in_scope(|| runner.chunks(&job)))
            .await
            .unwrap_or_default();
        if chunks.len() > 1 { chunks } else { Vec::new() }
    }

    /// Removes a finished job's chunks, unless they hold flows of a result
    /// (`ended_without`: this delivery wrote the job failed or cancelled).
    /// Best effort: they expire with the store's TTL anyway.
    pub(super) async fn clean_up_chunks(&self, job_id: &str, chunks: &[ChunkTask], ended_without: bool) {
        if holds_flows(chunks) && !ended_without {
            return;
        }
        let count = chunks.iter().map(|c| c.index + 1).max().unwrap_or(0);
        if let Err(e) = self.records.delete_chunks(job_id, count).await {
            tracing::debug!(job_id, error = %e, "chunks left to expire");
        }
    }
}

/// A chunk that must not end its job: a chunk's failure is the job worker's to record.
pub(super) fn is_chunk(envelope: &JobEnvelope) -> bool {
    envelope.chunk.is_some()
}
