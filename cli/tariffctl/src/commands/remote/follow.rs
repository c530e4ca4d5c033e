//! Following a job to its end over `WatchJob`.

use std::time::Duration;

use anyhow::anyhow;
use futures::StreamExt;
use tariff_proto::v1::{Job, JobError, JobState, ScenarioResult};
use tonic::{Code, Status};

use super::client::{Gateway, one_line};
use crate::progress::JobProgress;

/// Streams that break after they were open (a gateway replica draining, a
/// connection reaching its maximum age) are reopened this many times in a row.
const REOPENS: u32 = 5;

enum Outcome {
    Final(Box<Job>),
    /// The stream ended before the job did.
    Ended,
    Failed(Status),
}

/// Reports the job's progress until it reaches a final state, and returns it.
/// Any replica can answer for any job, so a stream that breaks after it was
/// open is simply reopened; one that cannot be opened is an error at once.
pub async fn follow(gateway: &mut Gateway, job_id: &str, bar: &mut JobProgress) -> anyhow::Result<Job> {
    let mut opened = false;
    let mut retries = 0;
    loop {
        let mut heard = false;
        let outcome = match gateway.watch(job_id).await {
            Ok(mut stream) => {
                opened = true;
                loop {
                    match stream.next().await {
                        Some(Ok(job)) => {
                            heard = true;
                            bar.update(&job);
                            if is_final(&job) {
                                break Outcome::Final(Box::new(job));
                            }
                        }
                        Some(Err(status)) => break Outcome::Failed(status),
                        None => break Outcome::Ended,
                    }
                }
            }
            Err(status) => Outcome::Failed(status),
        };
        if heard {
            retries = 0;
        }
        match outcome {
            Outcome::Final(job) => return Ok(*job),
            Outcome::Failed(status) if !opened || !reopenable(status.code()) || retries >= REOPENS => {
                return Err(gateway.error(&status));
            }
            Outcome::Ended if retries >= REOPENS => {
                anyhow::bail!("the gateway keeps ending the watch of job {job_id} before the job ends")
            }
            Outcome::Failed(_) | Outcome::Ended => {}
        }
        retries += 1;
        tokio::time::sleep(backoff(retries)).await;
    }
}

fn reopenable(code: Code) -> bool {
    matches!(code, Code::Unavailable | Code::Unknown)
}

fn backoff(retries: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1 << retries.min(4)))
}

fn is_final(job: &Job) -> bool {
    matches!(JobState::try_from(job.state), Ok(JobState::Succeeded | JobState::Failed | JobState::Cancelled))
}

/// A job's error on one line: code, field at fault, message.
pub fn describe_error(error: &JobError) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in [error.code.as_str(), error.field.as_str(), error.message.as_str()] {
        if !part.is_empty() {
            parts.push(part);
        }
    }
    if parts.is_empty() {
        return "no reason given".to_owned();
    }
    one_line(&parts.join(": "))
}

/// The result of a job that ended, or why there is none.
pub fn into_result(job: Job) -> anyhow::Result<ScenarioResult> {
    let id = &job.job_id;
    match JobState::try_from(job.state) {
        Ok(JobState::Succeeded) => {
            job.result.ok_or_else(|| anyhow!("job {id} succeeded but the gateway sent no result"))
        }
        Ok(JobState::Failed) => {
            Err(anyhow!("job {id} failed: {}", describe_error(&job.error.unwrap_or_default())))
        }
        Ok(JobState::Cancelled) => Err(anyhow!("job {id} was cancelled")),
        _ => Err(anyhow!("job {id} has not finished ({})", crate::progress::state_name(job.state))),
    }
}
