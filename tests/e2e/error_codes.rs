//! Every job error code reaches a `RunScenario` caller as the status README
//! ("Calling it") documents (issue 14, finding 7), through a gateway, a real
//! nats-server and a worker. The runner fails as each scenario's description
//! says; `GAVE_UP` comes the real way (a run that crashes on every delivery),
//! and one `RESOURCE_EXHAUSTED` from a real result over the worker's limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{ops::ControlFlow, sync::Arc, time::Duration};

use tariff_e2e::{Stack, WorkerHandle, scenario};
use tariff_jobs::{JobRunner, RunFailure, WorkerConfig, nats::NatsConfig};
use tariff_proto::v1::{JobError, JobErrorCode, Progress, RunScenarioRequest, Scenario, ScenarioResult};
use tariff_worker::ScenarioRunner;
use tonic::Code;
use tonic_types::StatusExt;

/// Fails with the code named after `fail:` in the description, panics on
/// `crash`, and otherwise runs the real model.
struct Failing(ScenarioRunner);

impl JobRunner for Failing {
    fn run(
        &self,
        scenario: &Scenario,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        if scenario.description == "crash" {
            panic!("this run crashes on every delivery");
        }
        match scenario.description.strip_prefix("fail:") {
            Some(name) => {
                let kind = JobErrorCode::from_str_name(&format!("JOB_ERROR_CODE_{name}")).unwrap();
                let field =
                    if kind == JobErrorCode::InvalidArgument { "scenario.measures[0].rate" } else { "" };
                Err(RunFailure::Failed(JobError::new(kind, format!("failed as told: {name}"), field)))
            }
            None => self.0.run(scenario, progress),
        }
    }
}

/// The documented status of each code (README, "Calling it").
fn documented(kind: JobErrorCode) -> Code {
    match kind {
        JobErrorCode::InvalidArgument => Code::InvalidArgument,
        JobErrorCode::ModelError => Code::FailedPrecondition,
        JobErrorCode::ResourceExhausted => Code::ResourceExhausted,
        JobErrorCode::Unavailable => Code::Unavailable,
        JobErrorCode::GaveUp => Code::Aborted,
        JobErrorCode::Internal | JobErrorCode::Unspecified => Code::Internal,
    }
}

fn told(description: &str) -> RunScenarioRequest {
    let mut scenario = scenario("universal-10.json");
    scenario.description = description.to_owned();
    RunScenarioRequest {
        scenario: Some(scenario),
        idempotency_key: format!("codes-{description}"),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_job_error_code_reaches_run_scenario_as_documented() {
    // Two deliveries, a short pause between: the crashing job is given up fast.
    let Stack { nats: _nats, config, gateway } =
        Stack::start_with(|c| NatsConfig { max_deliver: 2, ..c }).await;
    let worker_config = WorkerConfig {
        max_deliver: 2,
        retry_delay: Duration::from_millis(100),
        // A real universal-10 result (over 100 KB) is over this.
        max_result_bytes: 20_000,
        ..WorkerConfig::default()
    };
    let runs = Arc::default();
    let _worker =
        WorkerHandle::start_with(config, worker_config, Failing(ScenarioRunner::default()), runs).await;
    let mut client = gateway.client().await;

    // Every code the proto defines, whatever is added later.
    let kinds: Vec<JobErrorCode> = (0..64).filter_map(|n| JobErrorCode::try_from(n).ok()).collect();
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    for kind in kinds {
        let name = kind.name();
        let status = client.run_scenario(told(&format!("fail:{name}"))).await.unwrap_err();
        assert_eq!(status.code(), documented(kind), "{name}: {status:?}");
        assert!(
            status.message().contains(&format!("failed as told: {name}")),
            "{name}: {}",
            status.message()
        );
        if kind == JobErrorCode::InvalidArgument {
            let fields = status.get_details_bad_request().expect("a BadRequest detail").field_violations;
            assert_eq!(fields[0].field, "scenario.measures[0].rate");
        }
    }

    let gave_up = client.run_scenario(told("crash")).await.unwrap_err();
    assert_eq!(gave_up.code(), documented(JobErrorCode::GaveUp), "{gave_up:?}");
    assert!(gave_up.message().contains("crashed on every one of 2 deliveries"), "{}", gave_up.message());

    let too_large = client.run_scenario(told("a real result")).await.unwrap_err();
    assert_eq!(too_large.code(), documented(JobErrorCode::ResourceExhausted), "{too_large:?}");
    assert!(too_large.message().contains("--max-result-bytes"), "{}", too_large.message());
}
