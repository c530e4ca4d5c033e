//! Following a job: watchers ride on the bucket's republished records, so they
//! cost the server no consumer, and a lost republished message is made good by
//! reading the record again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures::StreamExt;
use tariff_e2e::{Stack, WorkerHandle, isolated_config, scenario};
use tariff_jobs::{
    RecordStore, Updated, WorkerConfig,
    nats::{NatsAuth, NatsBackend},
    record,
};
use tariff_proto::v1::{JobState, RunScenarioRequest};
use tariff_test_support::NatsServer;

/// Also: a call without an idempotency key stores its job's record once, the
/// worker's outcome (no QUEUED version first: nobody could read it), and a
/// keyed one twice, so that the key names a job from the start.
#[tokio::test]
async fn run_scenario_calls_leave_no_consumer_behind() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    // Progress as deployed: a job this short writes none.
    let _worker = WorkerHandle::start(config.clone(), WorkerConfig::default()).await;
    let mut client = gateway.client().await;
    for _ in 0..30 {
        let response = client
            .run_scenario(RunScenarioRequest {
                scenario: Some(scenario("universal-10.json")),
                idempotency_key: String::new(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(response.result.is_some());
    }
    let backend = NatsBackend::connect(config.clone(), &NatsAuth::default()).await.unwrap();
    let mut records = backend.jetstream().get_stream(format!("KV_{}", config.bucket)).await.unwrap();
    let info = records.info().await.unwrap();
    // A watch per call used to leave an ordered consumer for 30 s each, and the
    // server refuses more than 1,000: sustained RunScenario traffic hit that wall.
    assert_eq!(info.state.consumer_count, 0);
    assert_eq!(info.state.last_sequence, 30, "one version stored per unkeyed call");

    let keyed = client
        .run_scenario(RunScenarioRequest {
            scenario: Some(scenario("universal-10.json")),
            idempotency_key: "keyed-run".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let stored = backend.get(&keyed.job_id).await.unwrap().unwrap();
    assert_eq!(stored.job.state, JobState::Succeeded as i32);
    assert_eq!(records.info().await.unwrap().state.last_sequence, 32, "QUEUED, then the outcome");
}

#[tokio::test]
async fn a_lost_update_is_read_again_and_the_republish_is_restored() {
    let nats = NatsServer::start().unwrap();
    let mut config = isolated_config(&nats);
    config.watch_recheck = Duration::from_millis(200);
    let backend = NatsBackend::connect(config.clone(), &NatsAuth::default()).await.unwrap();
    let job = record::queued("lost-update", "");
    let tariff_jobs::Created::New(revision) = backend.create(&job).await.unwrap() else {
        panic!("the record existed already")
    };
    let mut updates = backend.watch("lost-update").await.unwrap();
    assert_eq!(updates.next().await.unwrap().unwrap().state, JobState::Queued as i32);

    // Take the republish away, as if its message were lost: the change only
    // reaches the watcher through the re-read.
    let js = backend.jetstream();
    let stream_name = format!("KV_{}", config.bucket);
    let mut records = js.get_stream(&stream_name).await.unwrap();
    let mut stream_config = records.info().await.unwrap().config.clone();
    let republish = stream_config.republish.take();
    assert!(republish.is_some(), "the bucket republishes its records");
    js.update_stream(stream_config).await.unwrap();

    let mut running = job.clone();
    record::set_state(&mut running, JobState::Running);
    assert!(matches!(backend.update(&running, revision).await.unwrap(), Updated::Done(_)));
    let seen = tokio::time::timeout(Duration::from_secs(5), updates.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(seen.state, JobState::Running as i32);

    // A service connecting to a bucket without republish (made by an older
    // version) puts it back.
    NatsBackend::connect(config.clone(), &NatsAuth::default()).await.unwrap();
    let restored = records.info().await.unwrap().config.republish.clone();
    assert_eq!(restored, republish);
}
