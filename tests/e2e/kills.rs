//! Workers killed with SIGKILL mid-job, and nats-server restarted under load:
//! no accepted job is lost, none gets two different results.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::HashMap,
    process::{Child, Command, Stdio},
    time::Duration,
};

use futures::{StreamExt, stream};
use tariff_e2e::{Gateway, WorkerHandle, every_step, scenario, state, wait_until_done};
use tariff_jobs::nats::NatsConfig;
use tariff_proto::v1::{JobState, SubmitScenarioRequest};
use tariff_scenario::{dataset::builtin, run};
use tariff_test_support::NatsServer;
use tonic::Code;

/// A namespace of its own, shared with the worker processes by flag.
fn namespaced(nats: &NatsServer, tag: &str) -> NatsConfig {
    NatsConfig {
        url: nats.url(),
        ack_wait: Duration::from_secs(1),
        backoff: Vec::new(),
        max_deliver: 20,
        op_timeout: Duration::from_secs(2),
        ..NatsConfig::default()
    }
    .namespaced(tag)
}

fn spawn_worker(nats: &NatsServer, tag: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_slow-worker"))
        .args([
            "--nats-url",
            &nats.url(),
            "--nats-namespace",
            tag,
            "--ack-wait-secs",
            "1",
            "--max-deliver",
            "20",
        ])
        .env("TARIFF_TEST_JOB_DELAY_MS", "150")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_mid_job_lose_nothing() {
    let nats = NatsServer::start().unwrap();
    let tag = format!("k{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let config = namespaced(&nats, &tag);
    let gateway = Gateway::start(config).await;
    let mut workers: Vec<Child> = (0..3).map(|_| spawn_worker(&nats, &tag)).collect();
    let client = gateway.client().await;

    let files = ["universal-10.json", "section-232-autos-2025.json", "japan-20.json"];
    let mut jobs = Vec::new();
    for i in 0..50 {
        let file = files[i % files.len()];
        let id = client
            .clone()
            .submit_scenario(SubmitScenarioRequest {
                scenario: Some(scenario(file)),
                idempotency_key: format!("kill-{i}"),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .job_id;
        jobs.push((id, file));
    }

    // Kill a worker every 300 ms and start a fresh one, while the jobs run.
    let mut kills = 0;
    for round in 0..12 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let victim = round % workers.len();
        workers[victim].kill().unwrap();
        workers[victim].wait().unwrap();
        workers[victim] = spawn_worker(&nats, &tag);
        kills += 1;
    }

    let dataset = builtin("jpus-2023").unwrap().unwrap();
    let expected: HashMap<&str, _> =
        files.iter().map(|f| (*f, run(dataset, &scenario(f)).unwrap())).collect();
    let mut redelivered = 0;
    for (id, file) in &jobs {
        let job = wait_until_done(&mut client.clone(), id).await;
        assert_eq!(state(&job), JobState::Succeeded, "{id}: {:?}", job.error);
        assert_eq!(job.result.as_ref(), Some(&expected[file]), "{id}: one result, the right one");
        redelivered += usize::from(job.attempts > 1);
    }
    for mut worker in workers {
        let _ = worker.kill();
        let _ = worker.wait();
    }
    assert_eq!(kills, 12);
    assert!(redelivered > 0, "some job was killed mid-run and finished on another delivery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_with_200_jobs_in_flight_loses_no_accepted_job() {
    let mut nats = NatsServer::start().unwrap();
    let tag = format!("r{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let config = NatsConfig { ack_wait: Duration::from_secs(2), ..namespaced(&nats, &tag) };
    let gateway = Gateway::start(config.clone()).await;
    let _workers = [
        WorkerHandle::start(config.clone(), every_step()).await,
        WorkerHandle::start(config, every_step()).await,
    ];
    let client = gateway.client().await;

    let submit_all = |range: std::ops::Range<usize>| {
        let client = client.clone();
        stream::iter(range)
            .map(move |i| {
                let mut client = client.clone();
                async move {
                    let request = SubmitScenarioRequest {
                        scenario: Some(scenario("universal-10.json")),
                        idempotency_key: format!("restart-{i}"),
                        ..Default::default()
                    };
                    match client.submit_scenario(request).await {
                        Ok(response) => (i, Ok(response.into_inner().job_id)),
                        Err(status) => (i, Err(status.code())),
                    }
                }
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
    };

    let before = submit_all(0..100).await;
    nats.stop();
    let during = submit_all(100..150).await;
    nats.restart().unwrap();
    let after = submit_all(150..200).await;

    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for (i, outcome) in before.into_iter().chain(during).chain(after) {
        match outcome {
            Ok(id) => accepted.push(id),
            Err(code) => {
                assert_eq!(code, Code::Unavailable, "submission {i} refused with {code:?}");
                refused.push(i);
            }
        }
    }
    assert!(
        refused.len() >= 50,
        "every submission during the outage was refused, not dropped: {}",
        refused.len()
    );
    // A refused submission is retried with its key, as a client would.
    for i in refused {
        for attempt in 0.. {
            let request = SubmitScenarioRequest {
                scenario: Some(scenario("universal-10.json")),
                idempotency_key: format!("restart-{i}"),
                ..Default::default()
            };
            match client.clone().submit_scenario(request).await {
                Ok(response) => {
                    accepted.push(response.into_inner().job_id);
                    break;
                }
                Err(status) if attempt < 100 => {
                    assert_eq!(status.code(), Code::Unavailable);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(status) => panic!("submission {i} never accepted: {status}"),
            }
        }
    }
    assert_eq!(accepted.len(), 200);
    for id in &accepted {
        let job = wait_until_done(&mut client.clone(), id).await;
        assert_eq!(state(&job), JobState::Succeeded, "{id}");
    }
}
