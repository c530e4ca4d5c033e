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

/// How async-nats words a JetStream request that no server took up. In a
/// cluster that is what a stream without a leader answers, for the seconds an
/// election takes after a server is lost: a KV write reads "failed getting
/// entry: no stream found for given subject", which suggests a deleted stream.
const LEADERLESS: [&str; 5] = [
    "no stream found for given subject",
    "no responders",
    "requested JetStream resource does not exist",
    "stream not found",
    "JetStream system temporarily unavailable",
];

impl JobsError {
    /// A NATS operation that failed, as callers hear it. Every NATS error goes
    /// through here, so that a leader election reads as one in every call.
    pub(crate) fn unavailable(e: impl std::fmt::Display) -> JobsError {
        let reason = e.to_string();
        if LEADERLESS.iter().any(|words| reason.contains(words)) {
            return JobsError::Unavailable(format!(
                "NATS is electing a leader for the stream (no server answered for it: {reason}); \
                 retry with the same idempotency key, which names the same job; if this lasts \
                 more than a minute, check that the stream exists"
            ));
        }
        JobsError::Unavailable(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaderless_stream_reads_as_an_election() {
        for seen in [
            "failed getting entry: no stream found for given subject",
            "failed getting entry: no responders",
            "requested JetStream resource does not exist",
            "stream not found",
            "JetStream system temporarily unavailable (code 503, error code 10008)",
        ] {
            let JobsError::Unavailable(message) = JobsError::unavailable(seen) else {
                panic!("{seen}: not Unavailable");
            };
            assert!(message.starts_with("NATS is electing a leader"), "{message}");
            assert!(message.contains("same idempotency key"), "{message}");
            assert!(message.contains(seen), "the original stays, for whoever digs: {message}");
        }
    }

    #[test]
    fn other_failures_keep_their_words() {
        for seen in
            ["timed out: didn't receive ack in time", "maximum bytes exceeded (code 503, error code 10077)"]
        {
            assert_eq!(JobsError::unavailable(seen).to_string(), format!("job store unavailable: {seen}"));
        }
    }
}
