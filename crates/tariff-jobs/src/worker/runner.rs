//! What a worker runs: the computation of a job, possibly split into chunks.

use std::ops::ControlFlow;

use tariff_proto::v1::{
    ChunkTask, JobError, JobErrorCode, Progress, ResultOptions, Scenario, ScenarioResult,
};

/// Why a run produced no result.
#[derive(Debug, Clone, PartialEq)]
pub enum RunFailure {
    /// The progress callback asked to stop.
    Cancelled,
    /// The job cannot succeed (bad input, data the model cannot solve).
    Failed(JobError),
    /// Something the run needs cannot be reached now (an uploaded dataset's
    /// store): the delivery is retried later, as when the record store is down.
    Unavailable(String),
}

/// Computes one job. Runs on a blocking thread; `progress` returns `Break`
/// when the job was cancelled.
///
/// A runner may split a job into chunks that several workers compute in
/// parallel: `chunks` names them (uncertainty draws, or ranges of sectors),
/// `run_head` computes the rest of the job, `run_chunk` one chunk (encoded),
/// and `merge` puts them together. Its default is one piece, computed by `run`.
pub trait JobRunner: Send + Sync + 'static {
    fn run(
        &self,
        scenario: &Scenario,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure>;

    /// [`JobRunner::run`] keeping only the figures `view` asks for (`None`:
    /// all of them), as the result's `view` then says. By default every figure.
    fn run_in_view(
        &self,
        scenario: &Scenario,
        view: Option<&ResultOptions>,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        let _ = view;
        self.run(scenario, progress)
    }

    /// The chunks of a job; fewer than two means it is not split. Runs on a
    /// blocking thread, as `run` does, unless [`JobRunner::may_split`] says no.
    fn chunks(&self, _scenario: &Scenario) -> Vec<ChunkTask> {
        Vec::new()
    }

    /// `false` when the job is known, from the scenario alone and at once, not
    /// to split: the worker then skips [`JobRunner::chunks`] and its thread hand-off.
    fn may_split(&self, _scenario: &Scenario) -> bool {
        true
    }

    /// `true` for a job known, from the scenario alone and at once, to compute
    /// in well under a millisecond with nothing to fetch. It is run on the
    /// worker's own task (no hand-off to a blocking thread and back: two
    /// context switches, more than such a job's compute on a loaded machine),
    /// without progress writes or a cancellation mid-run. A quick job is
    /// never split: [`JobRunner::chunks`] is not asked.
    fn quick(&self, _scenario: &Scenario) -> bool {
        false
    }

    /// A split job without its chunks (`chunks`, as `chunks` gave them).
    fn run_head(
        &self,
        scenario: &Scenario,
        _chunks: &[ChunkTask],
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        self.run(scenario, progress)
    }

    /// One chunk of a split job, encoded for the chunk store.
    fn run_chunk(
        &self,
        _scenario: &Scenario,
        _chunk: &ChunkTask,
        _progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<Vec<u8>, RunFailure> {
        Err(RunFailure::Failed(JobError::new(JobErrorCode::Internal, "this runner does not split jobs", "")))
    }

    /// The head's result and every chunk's, as the job's result: `data`
    /// yields each chunk's encoding in the order of `chunks`, one at a time
    /// (chunks of a large job are read as the merge goes, not all held); it
    /// ends early when a chunk could not be read, and the merge's outcome is
    /// then ignored. Sector chunks ([`holds_flows`]) stay stored after the
    /// merge, as the job's flows: a merge of them need not keep any flow.
    fn merge(
        &self,
        _scenario: &Scenario,
        head: ScenarioResult,
        _chunks: &[ChunkTask],
        _data: &mut dyn Iterator<Item = Vec<u8>>,
    ) -> Result<ScenarioResult, RunFailure> {
        Ok(head)
    }
}

/// Whether a job's chunks are by sector: they then hold the job's flows and
/// are kept with its result (`Job.flow_chunks`) rather than removed.
pub fn holds_flows(chunks: &[ChunkTask]) -> bool {
    chunks.iter().any(|c| c.sectors > 0)
}

/// A chunk's units of progress: its `steps`, or its draws for a chunk from a
/// worker that did not set them.
pub fn chunk_steps(chunk: &ChunkTask) -> u32 {
    if chunk.steps > 0 { chunk.steps } else { chunk.draws }
}
