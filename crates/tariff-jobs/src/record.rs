//! Job records: states, timestamps, ids.

use std::time::SystemTime;

use tariff_proto::v1::{Job, JobError, JobState, Progress, ResultOptions, Scenario};

/// An RFC 3339 timestamp of now, in UTC with milliseconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// An RFC 3339 timestamp a little after now (to the next millisecond), for a
/// time that must not read earlier than a span already started.
pub fn after_now_rfc3339() -> String {
    let later = SystemTime::now() + std::time::Duration::from_millis(1);
    humantime::format_rfc3339_millis(later).to_string()
}

/// Whether a job has reached a state it never leaves.
pub fn is_terminal(job: &Job) -> bool {
    matches!(JobState::try_from(job.state), Ok(JobState::Succeeded | JobState::Failed | JobState::Cancelled))
}

/// A new record for a job just accepted.
pub fn queued(job_id: &str, idempotency_key: &str) -> Job {
    let now = now_rfc3339();
    Job {
        job_id: job_id.to_owned(),
        state: JobState::Queued.into(),
        created_at: now.clone(),
        updated_at: now,
        idempotency_key: idempotency_key.to_owned(),
        ..Default::default()
    }
}

/// A fresh job id, or the one an idempotency key always maps to, so the same
/// key from any gateway replica names the same job.
pub fn job_id_for(idempotency_key: &str) -> String {
    if idempotency_key.is_empty() {
        uuid::Uuid::new_v4().simple().to_string()
    } else {
        uuid::Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, idempotency_key.as_bytes()).simple().to_string()
    }
}

/// Namespace of the key-derived ids (a fixed random UUID).
const IDEMPOTENCY_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f1c_2a0e_93d4_4c8b_9a57_1e2d_4b6c_8f30);

/// Whether a string can be a job id (and so a KV key and a message id).
pub fn valid_job_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Moves a record to a new state, stamping the time.
pub fn set_state(job: &mut Job, state: JobState) {
    job.state = state.into();
    job.updated_at = now_rfc3339();
}

/// A failed job's record.
pub fn fail(job: &mut Job, error: JobError) {
    set_state(job, JobState::Failed);
    job.error = Some(error);
}

/// A progress record.
pub fn progress(done: u32, total: u32, stage: impl Into<String>) -> Progress {
    Progress { done, total, stage: stage.into() }
}

/// The record with its result stored apart under `result_object`. Every field
/// is named, so that a field added to `Job` is not left out unnoticed.
pub(crate) fn without_result(job: &Job, result_object: String) -> Job {
    let Job {
        job_id,
        state,
        progress,
        result: _,
        error,
        created_at,
        updated_at,
        idempotency_key,
        attempts,
        result_object: _,
        view,
        dataset,
        flow_chunks,
        request_digest,
        trace_id,
    } = job;
    Job {
        job_id: job_id.clone(),
        state: *state,
        progress: progress.clone(),
        result: None,
        error: error.clone(),
        created_at: created_at.clone(),
        updated_at: updated_at.clone(),
        idempotency_key: idempotency_key.clone(),
        attempts: *attempts,
        result_object,
        view: view.clone(),
        dataset: dataset.clone(),
        flow_chunks: flow_chunks.clone(),
        request_digest: request_digest.clone(),
        trace_id: trace_id.clone(),
    }
}

/// The digest that identifies a submission for its idempotency key: SHA-256
/// over the scenario's and the view's encodings (deterministic: the messages
/// have no maps), in hex.
pub fn request_digest(scenario: Option<&Scenario>, view: Option<&ResultOptions>) -> String {
    use prost::Message;
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in [scenario.map(Message::encode_to_vec), view.map(Message::encode_to_vec)] {
        // Length-prefixed, so that no two different pairs give the same bytes.
        let bytes = part.unwrap_or_default();
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
