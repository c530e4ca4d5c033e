//! Ending a job from outside its run (a cancel, a give-up): one read, change
//! and compare-and-set loop, retried on a conflict, that never overwrites a
//! record that has already ended.

use tariff_proto::v1::Job;

use crate::{
    JobsError,
    backend::{RecordStore, Updated},
    record::is_terminal,
};

/// What [`end_unless_ended`] found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ending {
    /// This call ended the job: the record as written.
    Ended(Job),
    /// The job had ended already: the record as it stands.
    AlreadyEnded(Job),
    /// No such record.
    Missing,
}

/// Applies `end` to the job's record and stores it, unless the record has
/// ended meanwhile; a write that lost a race is retried on the new record.
pub(crate) async fn end_unless_ended<R: RecordStore>(
    records: &R,
    job_id: &str,
    end: impl Fn(&mut Job),
) -> Result<Ending, JobsError> {
    loop {
        let Some(stored) = records.get(job_id).await? else { return Ok(Ending::Missing) };
        if is_terminal(&stored.job) {
            return Ok(Ending::AlreadyEnded(stored.job));
        }
        let mut job = stored.job;
        end(&mut job);
        if let Updated::Done(_) = records.update(&job, stored.revision).await? {
            return Ok(Ending::Ended(job));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tariff_proto::v1::JobState;

    use super::*;
    use crate::{backend::Created, memory::MemoryBackend, record};

    #[tokio::test]
    async fn ends_a_running_job_once_and_leaves_an_ended_one() {
        let records = MemoryBackend::default();
        assert_eq!(end_unless_ended(&records, "j1", |_| {}).await.unwrap(), Ending::Missing);
        let Created::New(_) = records.create(&record::queued("j1", "")).await.unwrap() else { panic!() };
        let cancel = |job: &mut Job| record::set_state(job, JobState::Cancelled);
        let Ending::Ended(job) = end_unless_ended(&records, "j1", cancel).await.unwrap() else { panic!() };
        assert_eq!(job.state, i32::from(JobState::Cancelled));
        let succeed = |job: &mut Job| record::set_state(job, JobState::Succeeded);
        let Ending::AlreadyEnded(kept) = end_unless_ended(&records, "j1", succeed).await.unwrap() else {
            panic!()
        };
        assert_eq!(kept.state, i32::from(JobState::Cancelled), "an ended record is never overwritten");
    }
}
