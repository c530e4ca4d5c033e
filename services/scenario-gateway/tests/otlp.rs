//! OpenTelemetry export from the real gateway binary (embedded workers), as the
//! standard `OTEL_*` variables set it: spans and metrics reach a local OTLP
//! receiver; an unreachable collector is one warning, not a flood; without the
//! variables nothing is exported and nothing is said about it. The admin
//! port's `/metrics` is checked on the binary too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use common::GatewayProcess;
use opentelemetry_proto::tonic::common::v1::any_value;
use tariff_proto::v1::{RunScenarioRequest, Scenario, scenario_service_client::ScenarioServiceClient};
use tariff_test_support::OtlpCollector;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Request;

const CALLER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

fn scenario() -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/universal-10.json");
    tariff_scenario::parse_scenario(
        &std::fs::read_to_string(path).unwrap(),
        tariff_scenario::ScenarioFormat::Json,
    )
    .unwrap()
}

/// Runs one scenario through the gateway, with the caller's trace context when given.
async fn run_one(address: SocketAddr, traceparent: Option<&str>) {
    let mut client = ScenarioServiceClient::connect(format!("http://{address}")).await.unwrap();
    let mut request = Request::new(RunScenarioRequest {
        scenario: Some(scenario()),
        idempotency_key: String::new(),
        ..Default::default()
    });
    if let Some(value) = traceparent {
        request.metadata_mut().insert("traceparent", value.parse().unwrap());
    }
    client.run_scenario(request).await.unwrap();
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_and_metrics_reach_an_otlp_collector() {
    let (collector, endpoint) = OtlpCollector::start().await.unwrap();
    let gateway = GatewayProcess::start(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "300"),
        ],
    );
    run_one(gateway.address, Some(&format!("00-{CALLER_TRACE}-b7ad6b7169203331-01"))).await;

    wait_until("the job's spans", || {
        let spans = collector.spans();
        ["tariff.v1.ScenarioService/RunScenario", "publish", "job", "solve", "store_result"]
            .iter()
            .all(|name| spans.iter().any(|s| s.trace_id == CALLER_TRACE && s.name == *name))
    })
    .await;
    let spans = collector.spans();
    assert!(spans.iter().all(|s| s.service == "scenario-gateway"), "{spans:?}");
    // Numbers are numbers (they were strings: u64 fields reach OTLP as text).
    for key in ["attempt", "queue_wait_ms"] {
        let values: Vec<_> = collector
            .spans()
            .into_iter()
            .filter(|s| s.name == "job")
            .map(|s| s.attribute(key).cloned())
            .collect();
        assert!(
            !values.is_empty() && values.iter().all(|v| matches!(v, Some(any_value::Value::IntValue(_)))),
            "{key}: {values:?}"
        );
    }
    wait_until("the job metrics", || {
        let names = collector.metric_names();
        ["tariff_jobs_submitted_total", "tariff_jobs_succeeded_total", "tariff_job_end_to_end_seconds"]
            .iter()
            .all(|name| names.iter().any(|n| n == name))
    })
    .await;
    let logs = gateway.stop();
    assert!(!logs.contains("OTLP export failed"), "{logs}");
    assert!(logs.contains("exporting over OTLP"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_collector_is_one_warning_per_signal_not_a_flood() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let endpoint = format!("http://{closed}");
    let gateway = GatewayProcess::start(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "100"),
        ],
    );
    let warnings = |logs: &str| logs.lines().filter(|l| l.contains("OTLP export failed")).count();
    // Jobs keep running (and spans and metrics keep failing to export) while
    // the first warnings come, then a while longer.
    let started = Instant::now();
    while warnings(&gateway.logs()) < 2 {
        assert!(started.elapsed() < Duration::from_secs(60), "no warning at all:\n{}", gateway.logs());
        run_one(gateway.address, None).await;
    }
    let more = Instant::now();
    while more.elapsed() < Duration::from_secs(3) {
        run_one(gateway.address, None).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logs = gateway.stop();
    assert_eq!(warnings(&logs), 2, "one warning for traces, one for metrics:\n{logs}");
    for signal in ["traces", "metrics"] {
        assert!(
            logs.lines()
                .any(|l| l.contains("OTLP export failed") && l.contains(&format!("\"signal\":\"{signal}\""))),
            "{logs}"
        );
    }
    assert!(!logs.contains("\"level\":\"ERROR\""), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_otel_variables_nothing_is_exported_or_said_and_metrics_are_scraped() {
    let gateway = GatewayProcess::start(&["--admin-listen", "127.0.0.1:0"], &[]);
    run_one(gateway.address, None).await;
    let admin: SocketAddr = gateway
        .logs()
        .lines()
        .find(|l| l.contains("admin server listening"))
        .and_then(|l| l.split("\"address\":\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("the admin address is logged")
        .parse()
        .unwrap();
    // The worker counts the outcome just before the caller hears of it.
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = http_get(admin, "/metrics").await;
        if metrics.lines().any(|l| l == "tariff_jobs_succeeded_total 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for line in [
        "tariff_jobs_submitted_total 1",
        "tariff_jobs_succeeded_total 1",
        "tariff_job_queue_wait_seconds_count 1",
        "tariff_job_solve_seconds_count{outcome=\"succeeded\"} 1",
        "tariff_job_end_to_end_seconds_count{outcome=\"succeeded\"} 1",
        "tariff_jobs_in_flight 0",
        // Every failure code's series, at zero before any failure.
        "tariff_jobs_failed_total{code=\"GAVE_UP\"} 0",
        "tariff_jobs_failed_total{code=\"MODEL_ERROR\"} 0",
        "tariff_jobs_failed_total{code=\"INVALID_ARGUMENT\"} 0",
        "tariff_jobs_failed_total{code=\"RESOURCE_EXHAUSTED\"} 0",
        "tariff_jobs_failed_total{code=\"UNAVAILABLE\"} 0",
        "tariff_jobs_failed_total{code=\"INTERNAL\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "no `{line}` in\n{metrics}");
    }
    assert_eq!(http_get(admin, "/healthz").await.trim(), "ok");
    let logs = gateway.stop();
    for word in ["OTLP", "OpenTelemetry", "opentelemetry"] {
        assert!(!logs.contains(word), "`{word}` in the logs:\n{logs}");
    }
    // Job log lines carry the job and trace ids (fields of their spans).
    // A state has one spelling in logs: the proto enum name.
    let ended = logs.lines().find(|l| l.contains("job ended")).expect("a job ended line");
    assert!(ended.contains("\"state\":\"SUCCEEDED\""), "{ended}");
    let answered = logs.lines().find(|l| l.contains("run answered")).expect("a run answered line");
    assert!(answered.contains("\"state\":\"SUCCEEDED\""), "{answered}");
    let running = logs.lines().find(|l| l.contains("job running")).expect("a job running line");
    assert!(running.contains("\"trace_id\":\"") && running.contains("\"job_id\":\""), "{running}");
}

/// Calls on a job name it on their spans, and a cancel's log line names both
/// traces: its own call's and the job's (the call that submitted it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_on_a_job_name_it_and_a_cancel_names_both_traces() {
    use tariff_proto::v1::{CancelJobRequest, GetJobRequest, WatchJobRequest};
    const CANCEL_TRACE: &str = "1bf7651916cd43dd8448eb211c80319d";
    let (collector, endpoint) = OtlpCollector::start().await.unwrap();
    let gateway = GatewayProcess::start(
        &[],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint), ("OTEL_BSP_SCHEDULE_DELAY", "100")],
    );
    let mut client = ScenarioServiceClient::connect(format!("http://{}", gateway.address)).await.unwrap();
    let mut run = Request::new(RunScenarioRequest { scenario: Some(scenario()), ..Default::default() });
    run.metadata_mut()
        .insert("traceparent", format!("00-{CALLER_TRACE}-b7ad6b7169203331-01").parse().unwrap());
    let job_id = client.run_scenario(run).await.unwrap().into_inner().job_id;
    client.get_job(GetJobRequest { job_id: job_id.clone(), ..Default::default() }).await.unwrap();
    let mut watch = client
        .watch_job(WatchJobRequest { job_id: job_id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    while watch.message().await.unwrap().is_some() {}
    let mut cancel = Request::new(CancelJobRequest { job_id: job_id.clone() });
    cancel
        .metadata_mut()
        .insert("traceparent", format!("00-{CANCEL_TRACE}-c7ad6b7169203331-01").parse().unwrap());
    client.cancel_job(cancel).await.unwrap();

    wait_until("the calls' spans", || {
        let spans = collector.spans();
        ["GetJob", "WatchJob", "CancelJob"].iter().all(|method| {
            spans.iter().any(|s| {
                s.name == format!("tariff.v1.ScenarioService/{method}")
                    && s.text("job_id") == Some(job_id.clone())
            })
        })
    })
    .await;
    let logs = gateway.stop();
    let line = logs.lines().find(|l| l.contains("cancel requested")).expect("a cancel line");
    assert!(line.contains(&format!("\"trace_id\":\"{CANCEL_TRACE}\"")), "{line}");
    assert!(line.contains(&format!("\"job_trace_id\":\"{CALLER_TRACE}\"")), "{line}");
}

/// Two gateways on one host, with no HOSTNAME in their environment (the test's
/// command clears it), still say which is which.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_process_has_its_own_service_instance_id() {
    let (collector, endpoint) = OtlpCollector::start().await.unwrap();
    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_BSP_SCHEDULE_DELAY", "100")];
    let one = GatewayProcess::start(&[], &env);
    let two = GatewayProcess::start(&[], &env);
    run_one(one.address, None).await;
    run_one(two.address, None).await;
    wait_until("spans of both gateways", || collector.instances().len() == 2).await;
    let instances = collector.instances();
    assert!(instances.iter().all(|i| !i.contains("unknown-host")), "{instances:?}");
    one.stop();
    two.stop();
}

/// A collector that takes the connection and never answers holds the exit no
/// longer than the flush budget (TARIFF_TELEMETRY_FLUSH_MS, 3 s by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_collector_holds_the_exit_no_longer_than_the_flush_budget() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    // Accept and keep every connection, reading nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    let gateway = GatewayProcess::start(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            // Nothing leaves before the exit: the final flush has it all to send.
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "600000"),
        ],
    );
    for _ in 0..3 {
        run_one(gateway.address, None).await;
    }
    let (took, logs) = gateway.terminate();
    // The budget, plus the drain of a gateway with nothing in flight.
    assert!(took < Duration::from_secs(3) + Duration::from_millis(2500), "exit took {took:?}:\n{logs}");
    assert!(logs.contains("gateway stopped"), "{logs}");
    assert!(logs.contains("did not finish within its budget"), "{logs}");
}

/// Text logs into a pipe or a file carry no colour codes (they did: the
/// formatter's default is colour whatever the output).
#[test]
fn text_logs_into_a_pipe_have_no_colour_codes() {
    use std::io::{BufRead, BufReader};
    let mut child = common::gateway_command(
        &["--embedded", "--embedded-workers", "1", "--listen", "127.0.0.1:0", "--log-format", "text"],
        &[],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        let listening = line.contains("gateway listening");
        lines.push(line);
        if listening {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(lines.iter().any(|l| l.contains("gateway listening")), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "{lines:?}");
}

/// A plain HTTP/1.1 GET; the body.
async fn http_get(address: SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}
