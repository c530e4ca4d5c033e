//! Analyses through the pipeline (issue 15): contributions split into chunks of
//! coalitions that three workers share, merged into the library's answer byte
//! for byte, with progress in runs; a goal-seek and an optimisation in one
//! piece, equal to the library's; an invalid analysis refused with its field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::Ordering;

use prost::Message;
use tariff_e2e::{Stack, WorkerHandle, contributions, one_job_at_a_time, scenario, wait_until_done};
use tariff_proto::v1::{
    GetJobRequest, JobState, ResultOptions, ResultView, RunScenarioRequest, ScenarioResult,
    SubmitScenarioRequest, WatchJobRequest, analysis::Kind, lever::Target,
};
use tariff_scenario::{dataset::builtin, run};

#[tokio::test]
async fn contributions_split_over_three_workers_are_the_librarys_bytes() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let mut client = gateway.client().await;
    // 8 players: 256 coalitions, 4 chunks of 64.
    let job = contributions(8, 10);
    let local = run(builtin("jpus-2023").unwrap().unwrap(), &job).unwrap();
    let workers = [
        WorkerHandle::start(config.clone(), one_job_at_a_time()).await,
        WorkerHandle::start(config.clone(), one_job_at_a_time()).await,
        WorkerHandle::start(config.clone(), one_job_at_a_time()).await,
    ];
    let submitted = client
        .submit_scenario(SubmitScenarioRequest { scenario: Some(job.clone()), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let mut stream = client
        .watch_job(WatchJobRequest { job_id: submitted.job_id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let mut runs_seen = Vec::new();
    let mut last = None;
    while let Some(job) = stream.message().await.unwrap() {
        if let Some(p) = job.progress.as_ref().filter(|p| p.stage == "evaluations") {
            runs_seen.push((p.done, p.total));
        }
        last = Some(job);
    }
    let last = last.unwrap();
    assert_eq!(JobState::try_from(last.state), Ok(JobState::Succeeded), "{:?}", last.error);
    let result = last.result.unwrap();
    let bytes = |r: &ScenarioResult| r.analysis.as_ref().map(Message::encode_to_vec);
    assert_eq!(bytes(&result), bytes(&local), "the contributions' bytes");
    assert_eq!(result.encode_to_vec(), local.encode_to_vec(), "the whole result's bytes");
    assert!(runs_seen.iter().all(|(_, total)| *total == 256), "{runs_seen:?}");
    assert!(!runs_seen.is_empty(), "no progress in runs");
    let chunks: Vec<usize> =
        workers.iter().map(|w| w.counts.as_ref().unwrap().chunks.load(Ordering::SeqCst)).collect();
    let total: usize = chunks.iter().sum();
    // Each of the 4 chunks at most twice: by the job's worker (from the last)
    // and by the worker its delivery went to, when they meet on it.
    assert!((4..=8).contains(&total), "chunks computed per worker: {chunks:?}");
    assert!(chunks.iter().filter(|n| **n > 0).count() >= 2, "chunks computed per worker: {chunks:?}");
    eprintln!("chunks computed per worker: {chunks:?}; progress seen: {runs_seen:?}");
}

#[tokio::test]
async fn a_goal_seek_and_an_optimisation_through_the_gateway_are_the_librarys() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let mut client = gateway.client().await;
    let _worker = WorkerHandle::start(config.clone(), one_job_at_a_time()).await;
    for file in ["analyses/annex-equivalent-car-rate.json", "analyses/offer-builder-farm-cuts.json"] {
        let job = scenario(file);
        let local = run(builtin("jpus-2023").unwrap().unwrap(), &job).unwrap();
        assert!(local.analysis.is_some(), "{file}: no analysis in the library's answer");
        // RunScenario computes only its view's figures (run_in_view): the answer stays.
        let request = RunScenarioRequest { scenario: Some(job.clone()), ..Default::default() };
        let remote = client.run_scenario(request).await.unwrap().into_inner().result.unwrap();
        assert_eq!(remote.analysis, local.analysis, "{file}: RunScenario");
        // SubmitScenario keeps every figure: in the FULL view, the library's
        // result but for the view it names.
        let submitted = client
            .submit_scenario(SubmitScenarioRequest { scenario: Some(job), ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        wait_until_done(&mut client, &submitted.job_id).await;
        let full = ResultOptions { view: ResultView::Full.into(), flows: None };
        let request = GetJobRequest { job_id: submitted.job_id, view: Some(full) };
        let job = client.get_job(request).await.unwrap().into_inner();
        assert_eq!(JobState::try_from(job.state), Ok(JobState::Succeeded), "{file}: {:?}", job.error);
        let stored = job.result.unwrap();
        let bytes = |r: &ScenarioResult| r.analysis.as_ref().map(Message::encode_to_vec);
        assert_eq!(bytes(&stored), bytes(&local), "{file}: GetJob, the analysis's bytes");
        assert_eq!(stored.impacts, local.impacts, "{file}: GetJob, the impacts");
    }
}

#[tokio::test]
async fn an_invalid_analysis_is_refused_with_its_field() {
    let Stack { nats: _nats, config: _config, gateway } = Stack::start().await;
    let mut client = gateway.client().await;
    let mut job = scenario("analyses/annex-equivalent-car-rate.json");
    if let Some(Kind::Seek(seek)) = job.analysis.as_mut().and_then(|a| a.kind.as_mut())
        && let Some(lever) = seek.lever.as_mut()
    {
        lever.high = -1.0;
        lever.target = Some(Target::MeasureRate("no-such-measure".into()));
    }
    let refused = client
        .submit_scenario(SubmitScenarioRequest { scenario: Some(job), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    for field in ["analysis.seek.lever.high", "analysis.seek.lever.measure_rate"] {
        assert!(refused.message().contains(field), "{field} in {}", refused.message());
    }
}
