//! NATS going away and coming back: refusals are quick, recovery needs no restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use tariff_e2e::{Gateway, WorkerHandle, every_step, isolated_config, scenario, state, wait_until_done};
use tariff_proto::v1::{JobState, SubmitScenarioRequest};
use tariff_test_support::NatsServer;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nats_down_submissions_are_unavailable_and_everything_recovers() {
    let mut nats = NatsServer::start().unwrap();
    let config = isolated_config(&nats);
    let gateway = Gateway::start(config.clone()).await;
    let _worker = WorkerHandle::start(config, every_step()).await;
    let mut client = gateway.client().await;
    let request = || SubmitScenarioRequest {
        scenario: Some(scenario("universal-20.json")),
        idempotency_key: String::new(),
        ..Default::default()
    };

    let before = client.submit_scenario(request()).await.unwrap().into_inner().job_id;
    assert_eq!(state(&wait_until_done(&mut client, &before).await), JobState::Succeeded);

    nats.stop();
    // Not a performance bound: a generous ceiling that a hanging call would blow through.
    let refused = tokio::time::timeout(Duration::from_secs(15), client.submit_scenario(request()))
        .await
        .expect("the gateway answers instead of hanging")
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused}");

    nats.restart().unwrap();
    // The clients reconnect by themselves; a submission goes through once they have.
    let mut accepted = None;
    for _ in 0..100 {
        match client.submit_scenario(request()).await {
            Ok(response) => {
                accepted = Some(response.into_inner().job_id);
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    let after = accepted.expect("the gateway recovered without a restart");
    assert_eq!(
        state(&wait_until_done(&mut client, &after).await),
        JobState::Succeeded,
        "the worker recovered too"
    );
}
