//! Byte limits on the NATS stores (issue 14, finding 6): a store at its limit
//! refuses new jobs with RESOURCE_EXHAUSTED naming the store, its limit and the
//! flag, and every job it accepted before still succeeds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tariff_e2e::{Stack, WorkerHandle, isolated_config, scenario, state, wait_until_done};
use tariff_jobs::nats::{MIB, NatsAuth, NatsBackend, NatsConfig, Store, StoreLimits};
use tariff_proto::v1::{
    GetJobRequest, JobState, SubmitScenarioRequest, scenario_service_client::ScenarioServiceClient,
};
use tariff_test_support::NatsServer;
use tonic::{Code, transport::Channel};

/// Submits distinct jobs until one is refused (at most `most`): the accepted
/// ids, and the refusal.
async fn submit_until_refused(
    client: &mut ScenarioServiceClient<Channel>,
    prefix: &str,
    most: usize,
) -> (Vec<String>, tonic::Status) {
    let mut accepted = Vec::new();
    for i in 0..most {
        let request = SubmitScenarioRequest {
            scenario: Some(scenario("universal-10.json")),
            idempotency_key: format!("{prefix}-{i}"),
            ..Default::default()
        };
        match client.submit_scenario(request).await {
            Ok(response) => accepted.push(response.into_inner().job_id),
            Err(status) => return (accepted, status),
        }
    }
    panic!("{most} jobs accepted, none refused");
}

async fn stored_bytes(config: &NatsConfig, store: Store) -> (u64, i64) {
    let backend = NatsBackend::connect(config.clone(), &NatsAuth::default()).await.unwrap();
    let name = store.stream_name(config);
    let max_bytes =
        backend.jetstream().get_stream(&name).await.unwrap().info().await.unwrap().config.max_bytes;
    (backend.stream_bytes(store).await.unwrap(), max_bytes)
}

#[tokio::test]
async fn a_full_records_bucket_refuses_new_jobs_and_finishes_the_accepted() {
    let Stack { nats: _nats, config, gateway } = Stack::start_with(|c| tariff_jobs::nats::NatsConfig {
        limits: StoreLimits { records: Some(2 * MIB), ..tariff_e2e::test_limits() },
        ..c
    })
    .await;
    let worker = WorkerHandle::start(config.clone(), Default::default()).await;
    let mut client = gateway.client().await;

    let (accepted, refusal) = submit_until_refused(&mut client, "fill", 2000).await;
    assert_eq!(refusal.code(), Code::ResourceExhausted, "{refusal:?}");
    let message = refusal.message();
    for part in ["job records bucket", "its limit of 2.0 MiB", "--nats-records-max-mb"] {
        assert!(message.contains(part), "`{part}` in: {message}");
    }
    assert!(accepted.len() >= 5, "a 2 MiB bucket holds a few jobs: {}", accepted.len());
    // A retry of an accepted submission is not a new job: answered, not refused.
    let retry = SubmitScenarioRequest {
        scenario: Some(scenario("universal-10.json")),
        idempotency_key: "fill-0".into(),
        ..Default::default()
    };
    let again = client.submit_scenario(retry).await.unwrap().into_inner();
    assert!(again.deduplicated);
    assert_eq!(again.job_id, accepted[0]);

    for id in &accepted {
        assert_eq!(state(&wait_until_done(&mut client, id).await), JobState::Succeeded, "{id}");
    }
    let (held, max_bytes) = stored_bytes(&config, Store::Records).await;
    assert_eq!(max_bytes, 2 * 1024 * 1024);
    assert!(held <= 2 * MIB, "{held} bytes held");
    eprintln!("records bucket: {} jobs accepted, {held} bytes held of {max_bytes}", accepted.len());
    worker.stop().await;
    gateway.stop().await;
}

/// The job queue at its limit (no worker takes anything): the publish is
/// refused, the record written before it removed, and the accepted jobs run
/// once a worker comes.
#[tokio::test]
async fn a_full_job_queue_refuses_new_jobs_and_keeps_the_queued() {
    let Stack { nats: _nats, config, gateway } = Stack::start_with(|c| tariff_jobs::nats::NatsConfig {
        limits: StoreLimits { jobs: Some(64 * 1024), ..tariff_e2e::test_limits() },
        ..c
    })
    .await;
    let mut client = gateway.client().await;

    let (accepted, refusal) = submit_until_refused(&mut client, "queue", 2000).await;
    assert_eq!(refusal.code(), Code::ResourceExhausted, "{refusal:?}");
    assert!(refusal.message().contains("job queue"), "{}", refusal.message());
    assert!(refusal.message().contains("--nats-jobs-max-mb"), "{}", refusal.message());
    let refused_id = tariff_jobs::record::job_id_for(&format!("queue-{}", accepted.len()));
    let lookup = client.get_job(GetJobRequest { job_id: refused_id, ..Default::default() }).await;
    assert_eq!(lookup.unwrap_err().code(), Code::NotFound, "the refused job left no record");

    eprintln!("job queue: {} jobs accepted", accepted.len());
    let worker = WorkerHandle::start(config.clone(), Default::default()).await;
    for id in &accepted {
        assert_eq!(state(&wait_until_done(&mut client, id).await), JobState::Succeeded, "{id}");
    }
    worker.stop().await;
    gateway.stop().await;
}

/// Stores made before limits existed (or under another) take the configured
/// limit at the next start, and object stores refuse rather than drop the
/// oldest results.
#[tokio::test]
async fn existing_stores_take_the_configured_limits() {
    let nats = NatsServer::start().unwrap();
    let unlimited = NatsConfig {
        limits: StoreLimits { jobs: None, records: None, results: None, datasets: None, dead_letters: None },
        ..isolated_config(&nats)
    };
    NatsBackend::connect(unlimited.clone(), &NatsAuth::default()).await.unwrap();
    assert_eq!(stored_bytes(&unlimited, Store::Results).await.1, -1);
    let limited = NatsConfig { limits: tariff_e2e::test_limits(), ..unlimited };
    let backend = NatsBackend::connect(limited.clone(), &NatsAuth::default()).await.unwrap();
    for store in [Store::Jobs, Store::Records, Store::Results, Store::Datasets, Store::DeadLetters] {
        let mut stream = backend.jetstream().get_stream(store.stream_name(&limited)).await.unwrap();
        let info = stream.info().await.unwrap();
        assert_eq!(info.config.max_bytes, store.max_bytes(&limited), "{store:?}");
        let discard = format!("{:?}", info.config.discard);
        let expected = if store == Store::DeadLetters { "Old" } else { "New" };
        assert_eq!(discard, expected, "{store:?}");
    }
}

/// Limits the server cannot reserve stop the start with a message naming the
/// flags, not a bare "insufficient storage resources".
#[tokio::test]
async fn limits_beyond_the_servers_storage_are_named() {
    let options = tariff_test_support::NatsOptions {
        config_file_text: Some("jetstream { max_file_store: 64MB }\n".into()),
        ..Default::default()
    };
    let nats = NatsServer::start_with(options).unwrap();
    let config = NatsConfig { limits: StoreLimits::default(), ..isolated_config(&nats) };
    let error = NatsBackend::connect(config, &NatsAuth::default()).await.unwrap_err().to_string();
    assert!(error.contains("cannot reserve the stores' byte limits (7680.0 MiB in all"), "{error}");
    assert!(error.contains("--nats-results-max-mb"), "{error}");
}
