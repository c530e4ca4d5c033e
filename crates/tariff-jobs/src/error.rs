//! What can go wrong between the services and their shared state.

/// A job operation that failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JobsError {
    /// The queue or the record store cannot be reached now; try again later.
    #[error("job store unavailable: {0}")]
    Unavailable(String),
    /// No job with this id.
    #[error("no job `{0}`")]
    NotFound(String),
    /// A stored record or a queued message could not be decoded.
    #[error("corrupt {what}: {reason}")]
    Corrupt { what: &'static str, reason: String },
    /// A store is at its byte limit (the message names it, the limit and its flag).
    #[error("{0}")]
    Full(String),
    /// The store refused the operation for a reason other than availability.
    #[error("job store: {0}")]
    Store(String),
    /// An idempotency key already names a job submitted with another request.
    #[error(
        "idempotency key `{key}` was used for job {job_id} with a different request; \
         resubmit that request, or use another key"
    )]
    KeyReused { key: String, job_id: String },
}

impl JobsError {
    pub(crate) fn unavailable(e: impl std::fmt::Display) -> JobsError {
        JobsError::Unavailable(e.to_string())
    }
}
