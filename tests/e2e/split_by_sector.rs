//! Jobs split by sector through the pipeline: the chunks of a timeline, taken
//! by two workers, merge into the result one process gives, with its flows read
//! back from the chunks; and a cancel stops every worker computing the job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use tariff_e2e::{CountingRunner, Stack, WorkerHandle, cancel_until_idle, scenario, state, wait_until_done};
use tariff_jobs::WorkerConfig;
use tariff_proto::v1::{GetJobRequest, JobState, ResultOptions, ResultView, Scenario, SubmitScenarioRequest};
use tariff_scenario::{dataset::builtin, run};
use tariff_worker::ScenarioRunner;

/// The 2025-26 timeline on the built-in dataset, named so that workers split it.
fn timeline() -> Scenario {
    Scenario { dataset: "jpus-2023".into(), ..scenario("timeline-2025-2026.json") }
}

fn one_job_at_a_time() -> WorkerConfig {
    WorkerConfig { concurrency: 1, progress_interval: Duration::ZERO, ..WorkerConfig::default() }
}

/// A worker that splits every job of more than one flow solve: one chunk per sector.
async fn splitting_worker(config: tariff_jobs::nats::NatsConfig, step_delay: Duration) -> WorkerHandle {
    let runner = CountingRunner {
        step_delay,
        inner: ScenarioRunner { split_flows: 1, ..ScenarioRunner::default() },
        ..CountingRunner::default()
    };
    WorkerHandle::start_counting(config, one_job_at_a_time(), runner).await
}

#[tokio::test]
async fn a_timeline_split_by_sector_on_two_workers_is_the_one_process_result() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let mut client = gateway.client().await;
    let step = Duration::from_millis(5);
    let workers = [splitting_worker(config.clone(), step).await, splitting_worker(config, step).await];
    let job = timeline();
    let local = run(builtin("jpus-2023").unwrap().unwrap(), &job).unwrap();
    assert!(local.impacts.len() > 5, "a timeline of several dates");

    let submitted = client
        .submit_scenario(SubmitScenarioRequest { scenario: Some(job), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let done = wait_until_done(&mut client, &submitted.job_id).await;
    assert_eq!(state(&done), JobState::Succeeded, "{:?}", done.error);
    let split = done.flow_chunks.as_ref().expect("split by sector");
    assert_eq!(split.chunks.len(), 10, "one chunk per sector of the built-in dataset");
    let sectors = 10 * local.impacts.len() as u32;
    assert_eq!(done.progress.as_ref().map(|p| (p.done, p.total)), Some((sectors, sectors)));
    // Under 20,000 flows, the default view is FULL: the flows come from the chunks.
    assert_eq!(done.result.unwrap(), local);
    let summary = client
        .get_job(GetJobRequest {
            job_id: submitted.job_id.clone(),
            view: Some(ResultOptions { view: ResultView::Summary.into(), flows: None }),
        })
        .await
        .unwrap()
        .into_inner();
    let mut expected = local.clone();
    for impact in &mut expected.impacts {
        impact.sectors.iter_mut().for_each(|s| s.flows.clear());
    }
    expected.view = Some(ResultOptions { view: ResultView::Summary.into(), flows: None });
    assert_eq!(summary.result.unwrap(), expected);

    let by_worker: Vec<usize> =
        workers.iter().map(|w| w.counts.as_ref().unwrap().chunks.load(Ordering::SeqCst)).collect();
    assert!(by_worker.iter().all(|n| *n > 0), "chunks computed per worker: {by_worker:?}");
}

#[tokio::test]
async fn a_cancelled_job_split_by_sector_stops_on_every_worker() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let mut client = gateway.client().await;
    // Each sector solve takes 200 ms: the ten chunks would take seconds.
    let step = Duration::from_millis(200);
    let workers = [splitting_worker(config.clone(), step).await, splitting_worker(config, step).await];
    let submitted = client
        .submit_scenario(SubmitScenarioRequest { scenario: Some(timeline()), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let job_id = submitted.job_id;

    let busy = |w: &WorkerHandle| w.counts.as_ref().unwrap().busy.load(Ordering::SeqCst);
    let started = Instant::now();
    while !workers.iter().all(|w| busy(w) > 0) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the chunks never got under way on both workers"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cancel_until_idle(&mut client, &job_id, &workers).await;
    let chunks: usize =
        workers.iter().map(|w| w.counts.as_ref().unwrap().chunks.load(Ordering::SeqCst)).sum();
    assert!(chunks < 10, "{chunks} of the 10 chunks were computed after all");
    let job = client.get_job(GetJobRequest { job_id, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(state(&job), JobState::Cancelled);
    assert!(job.result.is_none() && job.flow_chunks.is_none());
}
