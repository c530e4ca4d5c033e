//! Jobs split by sector through the pipeline: the chunks of a timeline, taken
//! by two workers, merge into the result one process gives, with its flows read
//! back from the chunks; and a cancel stops every worker computing the job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{sync::atomic::Ordering, time::Duration};

use tariff_e2e::{Stack, splitting_worker, state, timeline, wait_until_done};
use tariff_proto::v1::{GetJobRequest, JobState, ResultOptions, ResultView, SubmitScenarioRequest};
use tariff_scenario::{dataset::builtin, run};

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
