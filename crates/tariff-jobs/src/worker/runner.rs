//! What a worker runs: the computation of a job, possibly split into chunks.

use std::ops::ControlFlow;

use tariff_proto::v1::{ChunkTask, JobError, Progress, Scenario, ScenarioResult};

/// Why a run produced no result.
#[derive(Debug, Clone, PartialEq)]
pub enum RunFailure {
    /// The progress callback asked to stop.
    Cancelled,
    /// The job cannot succeed (bad input, data the model cannot solve).
    Failed(JobError),
}

/// Computes one job. Runs on a blocking thread; `progress` returns `Break`
/// when the job was cancelled.
///
/// A runner may split a job into chunks that several workers compute in
/// parallel: `chunks` names them, `run_head` computes the rest of the job,
/// `run_chunk` one chunk (encoded), and `merge` puts them together. Its
/// default is one piece, computed by `run`.
pub trait JobRunner: Send + Sync + 'static {
    fn run(
        &self,
        scenario: &Scenario,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure>;

    /// The chunks of a job; fewer than two means it is not split.
    fn chunks(&self, _scenario: &Scenario) -> Vec<ChunkTask> {
        Vec::new()
    }

    /// A split job without its chunks.
    fn run_head(
        &self,
        scenario: &Scenario,
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
        Err(RunFailure::Failed(JobError {
            code: "INTERNAL".into(),
            message: "this runner does not split jobs".into(),
            field: String::new(),
        }))
    }

    /// The head's result and every chunk's, in the order of `chunks`, as the job's result.
    fn merge(
        &self,
        _scenario: &Scenario,
        head: ScenarioResult,
        _chunks: Vec<Vec<u8>>,
    ) -> Result<ScenarioResult, RunFailure> {
        Ok(head)
    }
}
