//! Horizontal scaling: workers share the queue, gateways share the records.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;

use futures::{StreamExt, stream};
use tariff_e2e::{
    Gateway, Stack, WorkerHandle, isolated_config, scenario, state, submit, wait_until_done, watch_to_end,
};
use tariff_jobs::WorkerConfig;
use tariff_proto::v1::{GetJobRequest, JobState, SubmitScenarioRequest};
use tariff_test_support::NatsServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_share_a_burst_of_200_jobs() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let workers = WorkerConfig { concurrency: 2, ..WorkerConfig::default() };
    let first = WorkerHandle::start(config.clone(), workers.clone()).await;
    let second = WorkerHandle::start(config, workers).await;
    let client = gateway.client().await;

    let scenario = scenario("section-232-autos-2025.json");
    let ids: Vec<String> = stream::iter(0..200)
        .map(|i| {
            let mut client = client.clone();
            let scenario = scenario.clone();
            async move {
                client
                    .submit_scenario(SubmitScenarioRequest {
                        scenario: Some(scenario),
                        idempotency_key: format!("burst-{i}"),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .job_id
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 200, "one job per key");

    let mut results = HashSet::new();
    for id in &ids {
        let job = wait_until_done(&mut client.clone(), id).await;
        assert_eq!(state(&job), JobState::Succeeded, "{id}");
        assert!(job.attempts >= 1);
        results.insert(job.result.map(|r| prost::Message::encode_to_vec(&r)).unwrap());
    }
    // Every job computed exactly once, and the same scenario gave the same result.
    assert_eq!(first.runs() + second.runs(), 200, "first {} second {}", first.runs(), second.runs());
    assert!(first.runs() > 0 && second.runs() > 0, "first {} second {}", first.runs(), second.runs());
    assert_eq!(results.len(), 1);
}

#[tokio::test]
async fn a_job_submitted_through_one_gateway_is_read_and_watched_through_another() {
    let nats = NatsServer::start().unwrap();
    let config = isolated_config(&nats);
    let one = Gateway::start(config.clone()).await;
    let other = Gateway::start(config.clone()).await;
    let _worker = WorkerHandle::start(config, WorkerConfig::default()).await;
    let job_id = submit(&mut one.client().await, "universal-20.json", "").await;
    let mut client = other.client().await;
    let seen = watch_to_end(&mut client, &job_id).await;
    assert_eq!(state(seen.last().unwrap()), JobState::Succeeded);
    let job = client.get_job(GetJobRequest { job_id, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(job.result, seen.last().unwrap().result);
}
