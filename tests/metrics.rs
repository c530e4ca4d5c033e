//! The job metrics end to end: jobs that succeed, fail, are cancelled, crash
//! once and are redelivered, and a resubmission, through a real gateway, a
//! real nats-server and a real worker; then `/metrics` scraped over HTTP from
//! the admin port, with every counter and histogram count as expected.
//!
//! Alone in its test binary: it installs the process-wide meter provider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    ops::ControlFlow,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tariff_e2e::{Stack, WorkerHandle, scenario, state, wait_until_done};
use tariff_jobs::{
    JobRunner, RunFailure, WorkerConfig,
    nats::{NatsAuth, NatsBackend},
};
use tariff_proto::v1::{
    CancelJobRequest, JobError, JobErrorCode, JobState, Progress, Scenario, ScenarioResult,
    SubmitScenarioRequest, scenario_service_client::ScenarioServiceClient,
};
use tariff_telemetry::Telemetry;
use tariff_worker::ScenarioRunner;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

/// The real runner, except: scenario id `refuse-me` fails, and `crash-once`
/// crashes on its first run.
#[derive(Clone, Default)]
struct Scripted {
    crashes: Arc<AtomicUsize>,
}

impl JobRunner for Scripted {
    fn run(
        &self,
        scenario: &Scenario,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<ScenarioResult, RunFailure> {
        match scenario.id.as_str() {
            "refuse-me" => {
                Err(RunFailure::Failed(JobError::new(JobErrorCode::ModelError, "refused by the test", "")))
            }
            "crash-once" if self.crashes.fetch_add(1, Ordering::SeqCst) == 0 => {
                panic!("simulated crash on the first delivery")
            }
            _ => ScenarioRunner::default().run(scenario, progress),
        }
    }
}

fn named(file: &str, id: &str) -> Scenario {
    Scenario { id: id.to_owned(), ..scenario(file) }
}

async fn submit(
    client: &mut ScenarioServiceClient<Channel>,
    scenario: Scenario,
    key: &str,
) -> (String, bool) {
    let response = client
        .submit_scenario(SubmitScenarioRequest {
            scenario: Some(scenario),
            idempotency_key: key.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    (response.job_id, response.deduplicated)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_every_outcome_and_are_scraped_from_the_admin_port() {
    let telemetry = Telemetry::builder("tariff-e2e").init();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_address = admin.local_addr().unwrap();
    tokio::spawn(tariff_telemetry::serve_admin(admin, telemetry.clone(), None, std::future::pending()));

    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let mut client = gateway.client().await;

    // The consumer backlog, read as the worker binary reads it.
    let backend = NatsBackend::connect(config.clone(), &NatsAuth::default()).await.unwrap();
    tokio::spawn(
        async move { backend.observe_backlog(Duration::from_millis(100), std::future::pending()).await },
    );

    // Cancelled while queued: no worker yet, so it waits in the queue.
    let (queued, _) = submit(&mut client, scenario("universal-20.json"), "").await;
    client.cancel_job(CancelJobRequest { job_id: queued.clone() }).await.unwrap();
    let mut backlog = None;
    for _ in 0..100 {
        backlog = value(&parse(&get(admin_address, "/metrics").await), "tariff_consumer_pending");
        if backlog == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(backlog, Some(1.0), "the queued job is the consumer's backlog");

    let runner = Scripted::default();
    let worker_config =
        WorkerConfig { concurrency: 2, retry_delay: Duration::from_millis(100), ..WorkerConfig::default() };
    let _worker =
        WorkerHandle::start_with(config, worker_config, runner, Arc::new(AtomicUsize::new(0))).await;

    let mut jobs = Vec::new();
    let (first, dedup) = submit(&mut client, scenario("universal-10.json"), "same-key").await;
    assert!(!dedup);
    jobs.push(first.clone());
    let (again, dedup) = submit(&mut client, scenario("universal-10.json"), "same-key").await;
    assert!(dedup && again == first);
    for file in ["universal-20.json", "section-232-autos-2025.json"] {
        jobs.push(submit(&mut client, scenario(file), "").await.0);
    }
    let (refused, _) = submit(&mut client, named("japan-20.json", "refuse-me"), "").await;
    let (crashed, _) = submit(&mut client, named("japan-20.json", "crash-once"), "").await;

    for job_id in &jobs {
        assert_eq!(state(&wait_until_done(&mut client, job_id).await), JobState::Succeeded);
    }
    assert_eq!(state(&wait_until_done(&mut client, &refused).await), JobState::Failed);
    let crashed = wait_until_done(&mut client, &crashed).await;
    assert_eq!((state(&crashed), crashed.attempts), (JobState::Succeeded, 2));
    assert_eq!(state(&wait_until_done(&mut client, &queued).await), JobState::Cancelled);

    // Submitted 6 (the resubmission is not a new job), 4 succeeded (one after a
    // redelivery), 1 failed, 1 cancelled; 5 jobs started (queue wait), 5 runs
    // computed to an outcome (the crash is no outcome), 5 outcomes written by
    // the worker (end to end); nothing running or pending at the end.
    let expected: [(&str, f64); 15] = [
        ("tariff_jobs_submitted_total", 6.0),
        ("tariff_jobs_deduplicated_total", 1.0),
        ("tariff_jobs_succeeded_total", 4.0),
        ("tariff_jobs_failed_total", 1.0),
        ("tariff_jobs_failed_total{code=\"MODEL_ERROR\"}", 1.0),
        ("tariff_jobs_cancelled_total", 1.0),
        ("tariff_jobs_redelivered_total", 1.0),
        ("tariff_job_queue_wait_seconds_count", 5.0),
        ("tariff_job_solve_seconds_count", 5.0),
        ("tariff_job_solve_seconds_count{outcome=\"failed\"}", 1.0),
        ("tariff_job_end_to_end_seconds_count", 5.0),
        ("tariff_job_end_to_end_seconds_count{outcome=\"succeeded\"}", 4.0),
        ("tariff_job_end_to_end_seconds_bucket{outcome=\"succeeded\",le=\"+Inf\"}", 4.0),
        ("tariff_jobs_in_flight", 0.0),
        ("tariff_consumer_pending", 0.0),
    ];
    let mut text = String::new();
    let mut mismatches = Vec::new();
    for _ in 0..100 {
        text = get(admin_address, "/metrics").await;
        let samples = parse(&text);
        mismatches = expected
            .iter()
            .filter(|(series, want)| value(&samples, series) != Some(*want))
            .map(|(series, want)| format!("{series}: want {want}, got {:?}", value(&samples, series)))
            .collect();
        if mismatches.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}\n{text}");
    for family in [
        "# TYPE tariff_jobs_submitted_total counter",
        "# TYPE tariff_job_queue_wait_seconds histogram",
        "# TYPE tariff_job_solve_seconds histogram",
        "# TYPE tariff_job_end_to_end_seconds histogram",
        "# TYPE tariff_jobs_in_flight gauge",
        "# TYPE tariff_consumer_pending gauge",
    ] {
        assert!(text.lines().any(|l| l == family), "no `{family}` in\n{text}");
    }
    assert_eq!(get(admin_address, "/healthz").await.trim(), "ok");
}

/// Every sample: the series as written (`name{labels}`) and its value.
fn parse(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// A series' value: exact (`name{labels}`) when labels are given, else the sum
/// of every series of that name.
fn value(samples: &BTreeMap<String, f64>, series: &str) -> Option<f64> {
    if series.contains('{') {
        return samples.get(series).copied();
    }
    let matching: Vec<f64> = samples
        .iter()
        .filter(|(name, _)| name.as_str() == series || name.starts_with(&format!("{series}{{")))
        .map(|(_, v)| *v)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

/// A plain HTTP/1.1 GET; the body.
async fn get(address: SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}
