//! The pipeline end to end against a real nats-server: gateway, JetStream, worker.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{ops::ControlFlow, time::Duration};

use tariff_e2e::{
    Gateway, Stack, WorkerHandle, every_step, scenario, state, submit, wait_until_done, watch_to_end,
};
use tariff_jobs::JobRunner;
use tariff_proto::v1::{
    CancelJobRequest, FlowFilter, GetJobRequest, JobState, ListEconomiesRequest, ResultOptions, ResultView,
    RunScenarioRequest, Scenario, SubmitScenarioRequest,
};
use tariff_scenario::{dataset::builtin, run};
use tariff_worker::ScenarioRunner;
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test]
async fn a_submitted_scenario_gives_the_same_result_as_the_library() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let _worker = WorkerHandle::start(config, every_step()).await;
    let mut client = gateway.client().await;

    for file in ["section-232-autos-2025.json", "universal-20.json", "usjta-auto-annex.json"] {
        let scenario = scenario(file);
        let response = client
            .run_scenario(RunScenarioRequest {
                scenario: Some(scenario.clone()),
                idempotency_key: String::new(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let local = run(builtin("jpus-2023").unwrap().unwrap(), &scenario).unwrap();
        assert_eq!(response.result.unwrap(), local, "{file}");
    }
}

#[tokio::test]
async fn watch_sees_queued_running_progress_then_the_result_in_order() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let mut client = gateway.client().await;
    let job_id = submit(&mut client, "universal-20.json", "").await;

    // Watch before any worker exists, so the queued state is certainly seen.
    let mut watcher = client.clone();
    let id = job_id.clone();
    let watching = tokio::spawn(async move { watch_to_end(&mut watcher, &id).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _worker = WorkerHandle::start(config, every_step()).await;
    let seen = watching.await.unwrap();

    let states: Vec<JobState> = seen.iter().map(state).collect();
    assert_eq!(states.first(), Some(&JobState::Queued), "{states:?}");
    assert_eq!(states.last(), Some(&JobState::Succeeded), "{states:?}");
    let first_running = states.iter().position(|s| *s == JobState::Running).expect("RUNNING seen");
    assert!(states[..first_running].iter().all(|s| *s == JobState::Queued));
    assert!(states[first_running..states.len() - 1].iter().all(|s| *s == JobState::Running), "{states:?}");
    let done: Vec<u32> = seen
        .iter()
        .filter(|j| state(j) == JobState::Running)
        .filter_map(|j| j.progress.as_ref())
        .map(|p| p.done)
        .collect();
    assert!(done.iter().any(|d| *d > 0), "progress was reported: {done:?}");
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "progress only goes forward: {done:?}");
    assert!(seen.last().unwrap().result.is_some());
}

#[tokio::test]
async fn run_scenario_answers_in_the_asked_view_as_the_library_computes_it() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    // The worker binary's runner: jobs on the built-in dataset are quick.
    let _worker = WorkerHandle::start_with_uploads(config, every_step()).await;
    let mut client = gateway.client().await;
    let scenario = scenario("universal-20.json");
    let options = |view: ResultView, flows: Option<FlowFilter>| ResultOptions { view: view.into(), flows };
    let jpn = FlowFilter { economies: vec!["JPN".into()], ..Default::default() };
    for asked in [
        options(ResultView::Summary, None),
        options(ResultView::Full, None),
        options(ResultView::Full, Some(jpn)),
    ] {
        let expected = ScenarioRunner::default()
            .run_in_view(&scenario, Some(&asked), &mut |_| ControlFlow::Continue(()))
            .unwrap();
        let run = RunScenarioRequest {
            scenario: Some(scenario.clone()),
            view: Some(asked.clone()),
            ..Default::default()
        };
        let answered = client.run_scenario(run).await.unwrap().into_inner();
        assert_eq!(answered.result.as_ref(), Some(&expected), "{asked:?}");
        // GetJob decodes the record and cuts it to the view: the same figures.
        let read = GetJobRequest { job_id: answered.job_id, view: Some(asked.clone()) };
        let job = client.get_job(read).await.unwrap().into_inner();
        assert_eq!(job.result.as_ref(), Some(&expected), "{asked:?}");
    }
    // A key first used by SubmitScenario holds every figure: RunScenario with
    // it still answers in the view.
    let summary = options(ResultView::Summary, None);
    let submitted = client
        .submit_scenario(SubmitScenarioRequest {
            scenario: Some(scenario.clone()),
            idempotency_key: "view-17".into(),
            view: Some(summary.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    wait_until_done(&mut client, &submitted.job_id).await;
    let run = RunScenarioRequest {
        scenario: Some(scenario.clone()),
        idempotency_key: "view-17".into(),
        view: Some(summary.clone()),
    };
    let answered = client.run_scenario(run).await.unwrap().into_inner();
    let expected = ScenarioRunner::default()
        .run_in_view(&scenario, Some(&summary), &mut |_| ControlFlow::Continue(()))
        .unwrap();
    assert_eq!(answered.result, Some(expected));
}

#[tokio::test]
async fn the_same_idempotency_key_gives_one_job() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let worker = WorkerHandle::start(config, every_step()).await;
    let mut client = gateway.client().await;
    let submit = |key: &str| SubmitScenarioRequest {
        scenario: Some(scenario("universal-20.json")),
        idempotency_key: key.into(),
        ..Default::default()
    };
    let first = client.submit_scenario(submit("order-17")).await.unwrap().into_inner();
    let second = client.submit_scenario(submit("order-17")).await.unwrap().into_inner();
    assert_eq!(first.job_id, second.job_id);
    assert!(!first.deduplicated && second.deduplicated);
    let job = wait_until_done(&mut client, &first.job_id).await;
    assert_eq!(state(&job), JobState::Succeeded);
    // A later resubmission finds the finished job instead of running it again.
    let third = client.submit_scenario(submit("order-17")).await.unwrap().into_inner();
    assert_eq!(third.job_id, first.job_id);
    assert_eq!(third.state, i32::from(JobState::Succeeded));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(worker.runs(), 1);
    let other = client.submit_scenario(submit("order-18")).await.unwrap().into_inner();
    assert_ne!(other.job_id, first.job_id);

    // The key with another scenario, or the same scenario with another view, is refused.
    let mut changed = submit("order-17");
    changed.scenario = Some(scenario("section-232-autos-2025.json"));
    let refused = client.submit_scenario(changed).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::AlreadyExists, "{refused:?}");
    assert!(refused.message().contains("`order-17`") && refused.message().contains(&first.job_id));
    let mut viewed = submit("order-17");
    viewed.view = Some(ResultOptions { view: ResultView::Summary.into(), flows: None });
    assert_eq!(client.submit_scenario(viewed).await.unwrap_err().code(), tonic::Code::AlreadyExists);
    let run = RunScenarioRequest {
        scenario: Some(scenario("section-232-autos-2025.json")),
        idempotency_key: "order-17".into(),
        ..Default::default()
    };
    assert_eq!(client.run_scenario(run).await.unwrap_err().code(), tonic::Code::AlreadyExists);
}

#[tokio::test]
async fn a_cancelled_queued_job_never_runs() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let mut client = gateway.client().await;
    let job_id = submit(&mut client, "universal-20.json", "").await;
    let cancelled =
        client.cancel_job(CancelJobRequest { job_id: job_id.clone() }).await.unwrap().into_inner();
    assert_eq!(state(&cancelled), JobState::Cancelled);

    let worker = WorkerHandle::start(config, every_step()).await;
    // A second job behind it shows the worker is pulling.
    let later = submit(&mut client, "universal-20.json", "").await;
    assert_eq!(state(&wait_until_done(&mut client, &later).await), JobState::Succeeded);
    let job = client.get_job(GetJobRequest { job_id, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(state(&job), JobState::Cancelled);
    assert!(job.result.is_none());
    assert_eq!(job.attempts, 0, "never started");
    assert_eq!(worker.runs(), 1);
}

#[tokio::test]
async fn unknown_jobs_are_not_found_and_bad_ids_invalid() {
    let Stack { nats: _nats, gateway, .. } = Stack::start().await;
    let mut client = gateway.client().await;
    let missing = client
        .get_job(GetJobRequest { job_id: "0123456789abcdef".into(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let missing =
        client.cancel_job(CancelJobRequest { job_id: "0123456789abcdef".into() }).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let bad =
        client.get_job(GetJobRequest { job_id: "../etc".into(), ..Default::default() }).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(bad.get_details_bad_request().unwrap().field_violations[0].field, "job_id");
}

#[tokio::test]
async fn an_invalid_scenario_is_refused_with_the_field_and_nothing_is_queued() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let worker = WorkerHandle::start(config, every_step()).await;
    let mut client = gateway.client().await;
    let mut bad = scenario("universal-20.json");
    bad.measures[0].importer = "ATLANTIS".into();
    bad.measures[0].rate_pct = f64::NAN;
    let status = client
        .submit_scenario(SubmitScenarioRequest {
            scenario: Some(bad.clone()),
            idempotency_key: "bad-one".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<String> =
        status.get_details_bad_request().unwrap().field_violations.into_iter().map(|v| v.field).collect();
    assert!(fields.contains(&"scenario.measures[0].importer".to_owned()), "{fields:?}");
    assert!(fields.contains(&"scenario.measures[0].rate_pct".to_owned()), "{fields:?}");
    let empty = client
        .submit_scenario(SubmitScenarioRequest {
            scenario: None,
            idempotency_key: String::new(),
            ..Default::default()
        })
        .await;
    assert_eq!(empty.unwrap_err().code(), Code::InvalidArgument);
    let unknown_dataset = Scenario { dataset: "no-such-data".into(), ..Scenario::default() };
    let status = client
        .run_scenario(RunScenarioRequest {
            scenario: Some(unknown_dataset),
            idempotency_key: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.get_details_bad_request().unwrap().field_violations[0].field, "scenario.dataset");

    // Nothing was stored under the refused key, and no job reached the worker.
    let job_id = tariff_jobs::record::job_id_for("bad-one");
    assert_eq!(
        client.get_job(GetJobRequest { job_id, ..Default::default() }).await.unwrap_err().code(),
        Code::NotFound
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(worker.runs(), 0);
}

#[tokio::test]
async fn reference_data_comes_from_the_builtin_dataset() {
    let Stack { nats: _nats, gateway, .. } = Stack::start().await;
    let mut client = gateway.client().await;
    let economies =
        client.list_economies(ListEconomiesRequest::default()).await.unwrap().into_inner().economies;
    assert!(economies.iter().any(|e| e.code == "JPN"));
    let bad = client.list_economies(ListEconomiesRequest { dataset: "nope".into() }).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn stopping_a_gateway_ends_open_watches_instead_of_waiting_for_the_job() {
    // No worker: the job stays queued, and a watcher would wait for ever.
    let backend = tariff_jobs::memory::MemoryBackend::default();
    let gateway = Gateway::serve(tariff_jobs::JobService::new(backend.clone(), backend)).await;
    let mut client = gateway.client().await;
    let job_id = submit(&mut client, "universal-20.json", "").await;
    let mut stream = client
        .watch_job(tariff_proto::v1::WatchJobRequest { job_id, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(state(&stream.message().await.unwrap().unwrap()), JobState::Queued);
    tokio::time::timeout(Duration::from_secs(10), gateway.stop()).await.expect("the gateway drains");
    let end = tokio::time::timeout(Duration::from_secs(10), stream.message()).await.expect("the watch ends");
    assert!(!matches!(end, Ok(Some(_))), "no more records after shutdown: {end:?}");
}

#[tokio::test]
async fn health_and_reflection_answer_beside_the_service() {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };

    let backend = tariff_jobs::memory::MemoryBackend::default();
    let gateway = Gateway::serve(tariff_jobs::JobService::new(backend.clone(), backend)).await;
    let address = format!("http://{}", gateway.address);

    let channel = tonic::transport::Channel::from_shared(address).unwrap().connect().await.unwrap();
    let mut health = HealthClient::new(channel.clone());
    let status = health
        .check(HealthCheckRequest { service: "tariff.v1.ScenarioService".into() })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);

    let mut reflection = ServerReflectionClient::new(channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses =
        reflection.server_reflection_info(futures::stream::iter([request])).await.unwrap().into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in
        ["tariff.v1.ScenarioService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"]
    {
        assert!(names.contains(&service.to_owned()), "{service} not in {names:?}");
    }

    // The older v1alpha protocol lists the same (grpcio's stock reflection client uses it).
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest as AlphaRequest, server_reflection_client::ServerReflectionClient as Alpha,
        server_reflection_request::MessageRequest as AlphaMessage,
        server_reflection_response::MessageResponse as AlphaResponse,
    };
    let request = AlphaRequest {
        host: String::new(),
        message_request: Some(AlphaMessage::ListServices(String::new())),
    };
    let mut alpha = Alpha::new(channel.clone());
    let mut responses =
        alpha.server_reflection_info(futures::stream::iter([request])).await.unwrap().into_inner();
    let Some(AlphaResponse::ListServicesResponse(list)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list from v1alpha");
    };
    let alpha_names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in ["tariff.v1.ScenarioService", "grpc.health.v1.Health"] {
        assert!(alpha_names.contains(&service.to_owned()), "{service} not in {alpha_names:?}");
    }
}

#[tokio::test]
async fn results_too_large_for_a_record_travel_through_the_object_store() {
    // Every result is "too large" at one kilobyte.
    let Stack { nats: _nats, config, gateway } =
        Stack::start_with(|c| tariff_jobs::nats::NatsConfig { inline_result_limit: 1024, ..c }).await;
    let _worker = WorkerHandle::start(config, every_step()).await;
    let mut client = gateway.client().await;
    let scenario = scenario("section-232-autos-2025.json");
    let response = client
        .run_scenario(RunScenarioRequest {
            scenario: Some(scenario.clone()),
            idempotency_key: String::new(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let local = run(builtin("jpus-2023").unwrap().unwrap(), &scenario).unwrap();
    assert_eq!(response.result.as_ref(), Some(&local));
    let job = client
        .get_job(GetJobRequest { job_id: response.job_id, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(job.result, Some(local));
    assert!(job.result_object.is_empty(), "readers see the result in place");
}

/// Horizon, market structure, exchange rates and the figures per flow travel
/// through gRPC, JetStream and the worker unchanged: the result is the
/// library's, message for message. A horizon the dataset lacks is refused at
/// the gateway, naming the field.
#[tokio::test]
async fn horizons_structures_and_exchange_rates_pass_through_the_queue() {
    use tariff_proto::v1::{ExchangeRate, MarketStructure, MarketStructureOverride};
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let _worker = WorkerHandle::start(config, every_step()).await;
    let mut client = gateway.client().await;

    let mut integrated_parts = scenario("backcast-2025-06.json");
    integrated_parts.market_structure = vec![MarketStructureOverride {
        sector: "PARTS".into(),
        structure: MarketStructure::Integrated.into(),
    }];
    integrated_parts.exchange_rates.push(ExchangeRate { economy: "KOR".into(), change_pct: -3.5 });
    for scenario in [scenario("backcast-2025-06.json"), scenario("backcast-2025-h1.json"), integrated_parts] {
        let response = client
            .run_scenario(RunScenarioRequest {
                scenario: Some(scenario.clone()),
                idempotency_key: String::new(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let remote = response.result.unwrap();
        let local = run(builtin("jpus-2023").unwrap().unwrap(), &scenario).unwrap();
        assert_eq!(remote, local, "{}", scenario.id);
        assert_eq!(remote.horizon, "short_run");
        assert_eq!(remote.exchange_rates, scenario.exchange_rates);
        let cars = remote.impacts[0].sectors.iter().find(|s| s.sector == "CARS").unwrap();
        assert_eq!(cars.market_structure, MarketStructure::Segmented as i32);
        let japan = cars.flows.iter().find(|f| f.exporter == "JPN" && f.importer == "USA").unwrap();
        assert!(
            japan.volume_change_pct < 0.0 && japan.fob_price_change_exporter_currency_pct < -15.0,
            "{japan:?}"
        );
        assert!(japan.value_exporter_currency.is_some());
    }

    let unknown = Scenario { horizon: "medium_run".into(), ..scenario("backcast-2025-06.json") };
    let status = client
        .submit_scenario(SubmitScenarioRequest {
            scenario: Some(unknown),
            idempotency_key: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let violations = status.get_details_bad_request().unwrap().field_violations;
    assert!(
        violations.iter().any(|v| v.field == "scenario.horizon" || v.field == "horizon"),
        "{violations:?}"
    );
}
