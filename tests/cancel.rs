//! A cancel stops every worker computing a split job within 1 s of CPU
//! (issue 14, finding 1), for jobs split by draws and by sector. A binary of
//! its own, its tests one at a time: what they bound is this process's CPU
//! after the cancel, which other tests running beside them would add to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use tariff_e2e::{
    Stack, WorkerHandle, cancel_until_idle, contributions, one_job_at_a_time, splitting_worker, state,
    timeline, with_draws,
};
use tariff_proto::v1::{GetJobRequest, Job, JobState, Scenario, SubmitScenarioRequest};

/// Held by each test for its whole run.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Submits `job` to two workers (splitting every job by sector, each sector
/// solve `step` long, when `step` is given), cancels it once both compute it
/// (and its progress is in `stage`, when given), and checks that every worker
/// is idle within 1 s of CPU and the job ends CANCELLED. Answers the job and
/// the chunks the workers computed.
async fn cancel_while_two_workers_compute(
    job: Scenario,
    stage: Option<&str>,
    step: Option<Duration>,
) -> (Job, usize) {
    let _alone = ALONE.lock().await;
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let mut client = gateway.client().await;
    let workers = match step {
        Some(step) => [splitting_worker(config.clone(), step).await, splitting_worker(config, step).await],
        None => [
            WorkerHandle::start(config.clone(), one_job_at_a_time()).await,
            WorkerHandle::start(config, one_job_at_a_time()).await,
        ],
    };
    let submitted = client
        .submit_scenario(SubmitScenarioRequest { scenario: Some(job), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let job_id = submitted.job_id;
    let busy = |w: &WorkerHandle| w.counts.as_ref().unwrap().busy.load(Ordering::SeqCst);
    let started = Instant::now();
    loop {
        let job = client
            .get_job(GetJobRequest { job_id: job_id.clone(), ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        let under_way =
            stage.is_none_or(|stage| job.progress.as_ref().is_some_and(|p| p.stage == stage && p.done > 0));
        if under_way && workers.iter().all(|w| busy(w) > 0) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the job never got under way on both workers: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cancel_until_idle(&mut client, &job_id, &workers).await;
    let chunks = workers.iter().map(|w| w.counts.as_ref().unwrap().chunks.load(Ordering::SeqCst)).sum();
    let job = client.get_job(GetJobRequest { job_id, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(state(&job), JobState::Cancelled);
    assert!(job.result.is_none());
    (job, chunks)
}

#[tokio::test]
async fn a_cancelled_uncertainty_job_stops_on_every_worker_and_is_cancelled() {
    cancel_while_two_workers_compute(with_draws(100_000, 500), Some("draws"), None).await;
}

#[tokio::test]
async fn a_cancelled_job_split_by_sector_stops_on_every_worker() {
    // Each sector solve takes 200 ms: the ten chunks would take seconds.
    let (job, chunks) =
        cancel_while_two_workers_compute(timeline(), None, Some(Duration::from_millis(200))).await;
    assert!(chunks < 10, "{chunks} of the 10 chunks were computed after all");
    assert!(job.flow_chunks.is_none());
}

#[tokio::test]
async fn a_cancelled_contributions_job_stops_on_every_worker() {
    // 14 players exactly: 16,384 coalitions in 256 chunks, seconds of work.
    cancel_while_two_workers_compute(contributions(14, 14), Some("evaluations"), None).await;
}
