//! NATS with TLS and the least-privilege users of deploy/nats/tariff-accounts.conf:
//! the pipeline runs end to end on exactly those permissions, and nothing more
//! is allowed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{path::Path, time::Duration};

use tariff_e2e::{CountingRunner, Gateway, WorkerHandle, every_step, scenario};
use tariff_jobs::JobQueue;
use tariff_jobs::{
    JobService,
    nats::{NatsAuth, NatsBackend, NatsConfig},
};
use tariff_proto::v1::{ChunkTask, JobEnvelope, RunScenarioRequest};
use tariff_scenario::{dataset::builtin, run};
use tariff_test_support::{NatsOptions, NatsServer, TestCa};

const GATEWAY_PASSWORD: &str = "gateway-secret-7";
const WORKER_PASSWORD: &str = "worker-secret-9";

struct Secured {
    nats: NatsServer,
    ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// A TLS-only nats-server with the project's accounts file.
fn secured_server() -> Secured {
    let dir = tempfile::tempdir().unwrap();
    let authority = TestCa::new("test NATS CA");
    let server = authority.server();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let ca = write("ca.pem", authority.pem.clone());
    let cert = write("server.pem", server.cert);
    let key = write("server.key", server.key);

    let accounts = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nats/tariff-accounts.conf"),
    )
    .unwrap()
    .replace("$TARIFF_NATS_GATEWAY_PASSWORD", &format!("\"{GATEWAY_PASSWORD}\""))
    .replace("$TARIFF_NATS_WORKER_PASSWORD", &format!("\"{WORKER_PASSWORD}\""));
    let config = format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n}}\n{accounts}",
        cert.display(),
        key.display()
    );
    let nats =
        NatsServer::start_with(NatsOptions { config_file_text: Some(config), ..NatsOptions::default() })
            .unwrap();
    Secured { nats, ca, _dir: dir }
}

fn config(nats: &NatsServer) -> NatsConfig {
    // The accounts file names the default layout, so this server is the test's alone.
    NatsConfig {
        url: nats.url(),
        op_timeout: Duration::from_secs(2),
        inline_result_limit: 1024,
        ..NatsConfig::default()
    }
}

fn auth(user: &str, password: &str, ca: &Path) -> NatsAuth {
    NatsAuth {
        user_password: Some((user.to_owned(), password.to_owned())),
        tls_ca: Some(ca.to_owned()),
        ..NatsAuth::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_runs_over_tls_on_least_privilege_users() {
    let s = secured_server();
    let config = config(&s.nats);
    let gateway_backend =
        NatsBackend::connect(config.clone(), &auth("tariff-gateway", GATEWAY_PASSWORD, &s.ca)).await.unwrap();
    let gateway = Gateway::serve(JobService::new(gateway_backend.clone(), gateway_backend)).await;
    let runner = CountingRunner::default();
    let runs = runner.runs.clone();
    let worker_auth = auth("tariff-worker", WORKER_PASSWORD, &s.ca);
    let _worker = WorkerHandle::start_authenticated(config, &worker_auth, every_step(), runner, runs).await;

    // Results go through the object store too (inline limit of 1 KiB).
    let scenario = scenario("section-232-autos-2025.json");
    let response = gateway
        .client()
        .await
        .run_scenario(RunScenarioRequest {
            scenario: Some(scenario.clone()),
            idempotency_key: String::new(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.result, Some(run(builtin("jpus-2023").unwrap().unwrap(), &scenario).unwrap()));
}

#[tokio::test]
async fn wrong_credentials_or_plain_text_cannot_connect() {
    let s = secured_server();
    let wrong = NatsBackend::connect(config(&s.nats), &auth("tariff-gateway", "guess", &s.ca)).await;
    assert!(wrong.is_err(), "a wrong password is refused");
    let plain = NatsAuth {
        user_password: Some(("tariff-gateway".into(), GATEWAY_PASSWORD.into())),
        ..NatsAuth::default()
    };
    assert!(NatsBackend::connect(config(&s.nats), &plain).await.is_err(), "plain text is refused");
}

#[tokio::test]
async fn the_worker_cannot_publish_jobs_and_the_gateway_cannot_pull_them() {
    let s = secured_server();
    let config = config(&s.nats);
    let worker =
        NatsBackend::connect(config.clone(), &auth("tariff-worker", WORKER_PASSWORD, &s.ca)).await.unwrap();
    let js = worker.jetstream();
    let published = match js.publish(config.job_subject(), "not a job".into()).await {
        Ok(ack) => tokio::time::timeout(Duration::from_secs(3), ack).await.is_ok_and(|a| a.is_ok()),
        Err(_) => false,
    };
    assert!(!published, "the worker user may not publish jobs");
    // It may offer chunks of the jobs it runs to the other workers.
    let chunk = JobEnvelope {
        job_id: "split-job".into(),
        chunk: Some(ChunkTask { index: 0, first_draw: 0, draws: 10, ..ChunkTask::default() }),
        ..JobEnvelope::default()
    };
    let offered = tokio::time::timeout(Duration::from_secs(5), JobQueue::publish(&worker, &chunk, &[])).await;
    assert!(matches!(offered, Ok(Ok(()))), "the worker user offers chunks: {offered:?}");

    let gateway =
        NatsBackend::connect(config, &auth("tariff-gateway", GATEWAY_PASSWORD, &s.ca)).await.unwrap();
    let mut consumer = gateway.consumer(1).await.unwrap();
    let pulled =
        tokio::time::timeout(Duration::from_secs(3), tariff_jobs::JobConsumer::next(&mut consumer, 1)).await;
    assert!(!matches!(pulled, Ok(Some(Ok(_)))), "the gateway user may not pull jobs");
}
