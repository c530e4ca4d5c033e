//! What an operator sees of real processes (a gateway and two workers on a
//! real nats-server, exporting to an in-process OTLP collector): one trace
//! per job at every TARIFF_TRACE_LEVEL and under ratio sampling; chunks of a
//! split job named as chunks, and their duplicate work bounded; health,
//! readiness, logs and call counts through a NATS outage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use tariff_e2e::{scenario, services::Services, with_draws};
use tariff_proto::v1::{GetJobRequest, RunScenarioRequest, Scenario};
use tariff_test_support::{NatsServer, OtlpCollector, ReceivedSpan};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const RUN: &str = "tariff.v1.ScenarioService/RunScenario";

/// Exports in batches a tenth of a second apart; metrics every 200 ms.
fn otel_env<'a>(endpoint: &'a str, level: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
        ("TARIFF_TRACE_LEVEL", level),
    ]
}

/// Runs `jobs` scenarios through RunScenario; their job ids.
async fn run_jobs(services: &Services, scenario: &Scenario, jobs: usize) -> Vec<String> {
    let mut client = services.client().await;
    let mut ids = Vec::new();
    for _ in 0..jobs {
        let request = RunScenarioRequest { scenario: Some(scenario.clone()), ..Default::default() };
        ids.push(client.run_scenario(request).await.unwrap().into_inner().job_id);
    }
    ids
}

/// Every span that names a job, by job id.
fn by_job(spans: &[ReceivedSpan]) -> BTreeMap<String, Vec<&ReceivedSpan>> {
    let mut out: BTreeMap<String, Vec<&ReceivedSpan>> = BTreeMap::new();
    for span in spans {
        if let Some(job_id) = span.text("job_id") {
            out.entry(job_id).or_default().push(span);
        }
    }
    out
}

/// One job's spans are one trace holding the gateway's call and the worker's
/// job, the worker's span a child of a gateway span.
fn assert_one_trace(job_id: &str, job_spans: &[&ReceivedSpan], all: &[ReceivedSpan]) {
    let traces: BTreeSet<&str> = job_spans.iter().map(|s| s.trace_id.as_str()).collect();
    assert_eq!(traces.len(), 1, "job {job_id} is in {} traces: {job_spans:#?}", traces.len());
    let call = job_spans.iter().find(|s| s.name == RUN);
    let job = job_spans.iter().find(|s| s.name == "job");
    let (Some(_), Some(job)) = (call, job) else {
        panic!("job {job_id} lacks a half: {job_spans:#?}");
    };
    assert_eq!(job.service, "tariff-worker", "{job:?}");
    let parent = all.iter().find(|s| s.span_id == job.parent_span_id);
    assert!(
        parent.is_some_and(|p| p.service == "scenario-gateway" && p.trace_id == job.trace_id),
        "job {job_id}: the worker's span has no gateway parent ({:?})",
        parent
    );
    // The queue wait (submission to first start) begins inside its parent.
    if let Some(wait) = job_spans.iter().find(|s| s.name == "queue_wait") {
        let parent = all.iter().find(|s| s.span_id == wait.parent_span_id).expect("queue_wait's parent");
        assert!(wait.start_ns >= parent.start_ns, "job {job_id}: queue_wait starts before {}", parent.name);
    }
}

async fn one_trace_per_job_at(level: &str) {
    let nats = NatsServer::start().unwrap();
    let (collector, endpoint) = OtlpCollector::start().await.unwrap();
    let services = Services::start(&nats.url(), &otel_env(&endpoint, level), &[], 2, &["--concurrency", "1"]);
    let ids = run_jobs(&services, &scenario("section-232-autos-2025.json"), 6).await;
    // The exit flushes everything each process holds.
    services.terminate();
    let spans = collector.spans();
    let jobs = by_job(&spans);
    for id in &ids {
        assert_one_trace(id, jobs.get(id).map(Vec::as_slice).unwrap_or_default(), &spans);
    }
    // Both workers took part (one at a time each, six jobs), with instances of their own.
    let workers: BTreeSet<&str> =
        spans.iter().filter(|s| s.service == "tariff-worker").map(|s| s.instance.as_str()).collect();
    assert_eq!(workers.len(), 2, "{workers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_job_is_one_trace_at_trace_level_info() {
    one_trace_per_job_at("info").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_job_is_one_trace_at_trace_level_debug() {
    one_trace_per_job_at("debug").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_job_is_one_trace_at_trace_level_trace() {
    one_trace_per_job_at("trace").await;
}

/// With `parentbased_traceidratio` on every process, the gateway decides and
/// the workers follow: a job's trace has both halves or neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratio_sampling_keeps_both_halves_of_a_job_or_neither() {
    let nats = NatsServer::start().unwrap();
    let (collector, endpoint) = OtlpCollector::start().await.unwrap();
    let mut env = otel_env(&endpoint, "info");
    env.extend([("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.5")]);
    let services = Services::start(&nats.url(), &env, &[], 2, &["--concurrency", "1"]);
    let ids = run_jobs(&services, &scenario("section-232-autos-2025.json"), 16).await;
    services.terminate();
    let spans = collector.spans();
    let jobs = by_job(&spans);
    let mut sampled = 0;
    for id in &ids {
        match jobs.get(id) {
            None => {}
            Some(job_spans) => {
                assert_one_trace(id, job_spans, &spans);
                sampled += 1;
            }
        }
    }
    // One in two: all 16 or none would be a 1 in 32,768 chance.
    assert!(sampled > 0 && sampled < ids.len(), "{sampled} of {} jobs sampled", ids.len());
}

/// A split job on two workers: one `job` span (its one delivery), its chunks
/// delivered as `chunk` spans, and each chunk computed once, except where the
/// job's worker (walking the chunks from the last) and the others (from the
/// first) meet: at most one more per other slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_are_chunk_spans_and_duplicate_work_is_bounded() {
    let nats = NatsServer::start().unwrap();
    let (collector, endpoint) = OtlpCollector::start().await.unwrap();
    let services =
        Services::start(&nats.url(), &otel_env(&endpoint, "debug"), &[], 2, &["--concurrency", "2"]);
    let chunks = 20;
    let ids = run_jobs(&services, &with_draws(chunks * 50, 50), 1).await;
    services.terminate();
    let spans = collector.spans();
    let job_spans: Vec<&ReceivedSpan> =
        spans.iter().filter(|s| s.name == "job" && s.text("job_id").as_ref() == Some(&ids[0])).collect();
    assert_eq!(job_spans.len(), 1, "one delivery of the job: {job_spans:#?}");
    let trace = &job_spans[0].trace_id;
    let in_trace = |name: &str| spans.iter().filter(|s| &s.trace_id == trace && s.name == name).count();
    let deliveries = in_trace("chunk");
    let computed = in_trace("compute_chunk");
    // 2 workers x 2 slots: the job holds one, three others may be computing
    // the chunk the job's worker comes to.
    let others = 3;
    println!("{chunks} chunks: {deliveries} chunk deliveries, {computed} computations");
    assert!(deliveries <= chunks as usize, "{deliveries} deliveries of {chunks} chunks");
    assert!(
        (chunks as usize..=chunks as usize + others).contains(&computed),
        "{computed} computations of {chunks} chunks"
    );
}

async fn scenario_health(channel: tonic::transport::Channel, service: &str) -> ServingStatus {
    let mut health = HealthClient::new(channel);
    let request = HealthCheckRequest { service: service.to_owned() };
    health.check(request).await.unwrap().into_inner().status()
}

/// A plain HTTP GET of the gateway's admin port: the status code.
fn admin_status(port: u16, path: &str) -> u16 {
    tariff_test_support::http_get(port, path).unwrap().status
}

/// A NATS outage: the scenario service's health NOT_SERVING and `/readyz`
/// 503 while it lasts, SERVING and 200 after; the server's own health (the
/// liveness probe's) SERVING throughout; the outage and its end logged once
/// each; every call counted by method and status code over OTLP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_outage_shows_in_health_logs_and_call_counts() {
    const SCENARIO_SERVICE: &str = "tariff.v1.ScenarioService";
    let mut nats = NatsServer::start().unwrap();
    let (collector, endpoint) = OtlpCollector::start().await.unwrap();
    let admin_port = tariff_test_support::free_port().unwrap();
    let admin = format!("127.0.0.1:{admin_port}");
    let services =
        Services::start(&nats.url(), &otel_env(&endpoint, "info"), &["--admin-listen", &admin], 1, &[]);
    let channel = services.channel().await;
    let mut client = services.client().await;
    run_jobs(&services, &scenario("section-232-autos-2025.json"), 2).await;
    let missing = client.get_job(GetJobRequest { job_id: "no-such-job".into(), ..Default::default() }).await;
    assert_eq!(missing.unwrap_err().code(), tonic::Code::NotFound);
    assert_eq!(scenario_health(channel.clone(), SCENARIO_SERVICE).await, ServingStatus::Serving);
    assert_eq!(admin_status(admin_port, "/readyz"), 200);

    nats.stop();
    let started = Instant::now();
    let mut refused = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let request = RunScenarioRequest {
            scenario: Some(scenario("section-232-autos-2025.json")),
            ..Default::default()
        };
        let outcome = client.run_scenario(request).await;
        assert_eq!(outcome.unwrap_err().code(), tonic::Code::Unavailable);
        refused += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(scenario_health(channel.clone(), SCENARIO_SERVICE).await, ServingStatus::NotServing);
    assert_eq!(scenario_health(channel.clone(), "").await, ServingStatus::Serving);
    assert_eq!(admin_status(admin_port, "/readyz"), 503);
    assert_eq!(admin_status(admin_port, "/healthz"), 200);

    nats.restart().unwrap();
    let back = Instant::now();
    while scenario_health(channel.clone(), SCENARIO_SERVICE).await != ServingStatus::Serving {
        assert!(back.elapsed() < Duration::from_secs(30), "health never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(admin_status(admin_port, "/readyz"), 200);
    run_jobs(&services, &scenario("section-232-autos-2025.json"), 1).await;

    let (gateway_logs, _) = services.terminate();
    let lines = |needle: &str| gateway_logs.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(lines("job store unreachable"), 1, "{gateway_logs}");
    assert_eq!(lines("job store reachable again"), 1, "{gateway_logs}");
    // Refusals are logged at info with their code, never with the request.
    let refusal = gateway_logs
        .lines()
        .find(|l| l.contains("call refused") && l.contains("\"code\":\"NOT_FOUND\""))
        .unwrap_or_else(|| panic!("no refusal line:\n{gateway_logs}"));
    assert!(refusal.contains("\"level\":\"INFO\"") && refusal.contains("no-such-job"), "{refusal}");
    assert!(!gateway_logs.contains("\"impacts\""), "a request or result in the logs");

    // Calls by method and code, as the gateway exported them.
    let points = collector.latest_points("rpc.server.duration");
    let count = |method: &str, code: i32| -> f64 {
        points
            .iter()
            .filter(|p| {
                p.attributes.contains(&("rpc.method".into(), method.into()))
                    && p.attributes.contains(&("rpc.grpc.status_code".into(), code.to_string()))
                    && p.attributes.contains(&("rpc.service".into(), SCENARIO_SERVICE.into()))
            })
            .map(|p| p.value)
            .sum()
    };
    assert_eq!(count("RunScenario", 0), 3.0, "{points:#?}");
    assert_eq!(count("RunScenario", tonic::Code::Unavailable as i32), f64::from(refused), "{points:#?}");
    assert_eq!(count("GetJob", tonic::Code::NotFound as i32), 1.0, "{points:#?}");
    assert!(
        points.iter().any(|p| p.attributes.contains(&("rpc.service".into(), "grpc.health.v1.Health".into())))
    );
}
