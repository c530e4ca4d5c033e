//! What a job keeps of its result (embedded backend, real workers): a
//! RunScenario job keeps only its view's figures, so a SUMMARY run stores no
//! flows and a later request for them is refused with the reason; a
//! SubmitScenario job keeps every figure for any view.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scenario_gateway::{Embedded, ServerOptions, serve};
use tariff_jobs::WorkerConfig;
use tariff_proto::v1::{
    GetJobRequest, GetResultFlowsRequest, ResultOptions, ResultView, RunScenarioRequest, Scenario,
    SubmitScenarioRequest, scenario_service_client::ScenarioServiceClient,
};
use tariff_scenario::{ScenarioFormat, ScenarioLimits, parse_scenario};
use tokio::{net::TcpListener, sync::oneshot};
use tonic::{Code, transport::Channel};

fn universal_10() -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/universal-10.json");
    parse_scenario(&std::fs::read_to_string(path).unwrap(), ScenarioFormat::Json).unwrap()
}

fn view(view: ResultView) -> Option<ResultOptions> {
    Some(ResultOptions { view: view.into(), flows: None })
}

async fn gateway() -> (ScenarioServiceClient<Channel>, oneshot::Sender<()>) {
    let embedded = Embedded::start(2, WorkerConfig::default(), ScenarioLimits::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        serve(listener, embedded.jobs(), ServerOptions::default(), async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
        embedded.shutdown().await;
    });
    (ScenarioServiceClient::connect(format!("http://{address}")).await.unwrap(), stop)
}

fn flows(result: &tariff_proto::v1::ScenarioResult) -> usize {
    result.impacts.iter().flat_map(|i| &i.sectors).map(|s| s.flows.len()).sum()
}

#[tokio::test]
async fn a_summary_run_keeps_no_flows_and_says_so_when_asked_for_them() {
    let (mut client, _stop) = gateway().await;
    let run = RunScenarioRequest {
        scenario: Some(universal_10()),
        view: view(ResultView::Summary),
        ..Default::default()
    };
    let answered = client.run_scenario(run).await.unwrap().into_inner();
    let result = answered.result.unwrap();
    assert_eq!(flows(&result), 0);
    let job_id = answered.job_id;

    // Its own view again, and SUMMARY, are served from what was kept.
    let again = client.get_job(GetJobRequest { job_id: job_id.clone(), view: None }).await.unwrap();
    assert_eq!(again.into_inner().result.unwrap(), result);
    let summary = GetJobRequest { job_id: job_id.clone(), view: view(ResultView::Summary) };
    assert_eq!(client.get_job(summary).await.unwrap().into_inner().result.unwrap(), result);

    // Flows were never kept: refused with the reason, not an empty answer.
    let full = GetJobRequest { job_id: job_id.clone(), view: view(ResultView::Full) };
    let refused = client.get_job(full).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("SubmitScenario"), "{}", refused.message());
    let pages = GetResultFlowsRequest { job_id, ..Default::default() };
    assert_eq!(client.get_result_flows(pages).await.unwrap_err().code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn a_submitted_job_keeps_every_figure_for_any_view() {
    let (mut client, _stop) = gateway().await;
    let submit = SubmitScenarioRequest {
        scenario: Some(universal_10()),
        view: view(ResultView::Summary),
        ..Default::default()
    };
    let job_id = client.submit_scenario(submit).await.unwrap().into_inner().job_id;
    let started = std::time::Instant::now();
    let full = loop {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "job {job_id} never ended");
        let job = client
            .get_job(GetJobRequest { job_id: job_id.clone(), view: view(ResultView::Full) })
            .await
            .unwrap()
            .into_inner();
        if let Some(result) = job.result {
            break result;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(flows(&full) > 0);
    // The same figures as a run that asks for FULL.
    let run = RunScenarioRequest {
        scenario: Some(universal_10()),
        view: view(ResultView::Full),
        ..Default::default()
    };
    let ran = client.run_scenario(run).await.unwrap().into_inner().result.unwrap();
    assert_eq!(ran.impacts, full.impacts);
}
