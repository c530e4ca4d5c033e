//! SIGTERM to the real gateway and worker binaries with jobs in flight: health
//! goes NOT_SERVING before the gateway exits, the worker finishes what it holds,
//! and no job is lost. The binaries come from `cargo build --bins` (scripts/test.sh).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures::StreamExt;
use tariff_e2e::{scenario, state, wait_until_done};
use tariff_proto::v1::{
    JobState, RunScenarioRequest, SubmitScenarioRequest, WatchJobRequest,
    scenario_service_client::ScenarioServiceClient,
};
use tariff_test_support::{NatsServer, free_port};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// A workspace binary next to this test's own directory (target/<profile>/).
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(|deps| deps.parent()).unwrap().join(name);
    assert!(path.exists(), "{} is missing: build it with `cargo build --workspace --bins`", path.display());
    path
}

fn spawn(name: &str, args: &[&str]) -> Child {
    Command::new(binary(name)).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

fn sigterm(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// Waits for the process to exit; its exit status.
fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(started.elapsed() < limit, "process {} did not exit within {limit:?}", child.id());
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn connect(port: u16) -> Channel {
    for _ in 0..200 {
        if let Ok(channel) = Channel::from_shared(format!("http://127.0.0.1:{port}")).unwrap().connect().await
        {
            return channel;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gateway on port {port} never came up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_gateway_and_worker_without_losing_jobs() {
    let nats = NatsServer::start().unwrap();
    let tag = format!("s{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let url = nats.url();
    let port = free_port().unwrap();
    let listen = format!("127.0.0.1:{port}");
    let common = ["--nats-url", url.as_str(), "--nats-namespace", tag.as_str()];
    let mut gateway = spawn("scenario-gateway", &[&common[..], &["--listen", &listen]].concat());
    let channel = connect(port).await;
    let mut client = ScenarioServiceClient::new(channel.clone());

    // Jobs queued with no worker yet, so the worker is sure to hold some when told to stop.
    let mut ids = Vec::new();
    for i in 0..60 {
        let request = SubmitScenarioRequest {
            scenario: Some(scenario("timeline-2025-2026.json")),
            idempotency_key: format!("term-{i}"),
            ..Default::default()
        };
        ids.push(client.submit_scenario(request).await.unwrap().into_inner().job_id);
    }
    let mut worker = spawn("tariff-worker", &[&common[..], &["--concurrency", "2"]].concat());
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&worker);
    assert!(wait_exit(&mut worker, Duration::from_secs(30)).success(), "the worker drains and exits cleanly");
    // A second worker finishes whatever the first left: nothing is lost.
    let mut second = spawn("tariff-worker", &[&common[..], &["--concurrency", "2"]].concat());
    for id in &ids {
        assert_eq!(state(&wait_until_done(&mut client, id).await), JobState::Succeeded, "{id}");
    }
    // The gateway: a call in flight and a health watcher when SIGTERM arrives.
    let mut health = HealthClient::new(channel.clone());
    let mut statuses = health
        .watch(HealthCheckRequest { service: "tariff.v1.ScenarioService".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(statuses.next().await.unwrap().unwrap().status, ServingStatus::Serving as i32);
    let mut in_flight = client.clone();
    let call = tokio::spawn(async move {
        in_flight
            .run_scenario(RunScenarioRequest {
                scenario: Some(scenario("universal-10.json")),
                idempotency_key: "last".into(),
                ..Default::default()
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    sigterm(&gateway);
    let mut seen = Vec::new();
    while let Ok(Some(Ok(update))) = tokio::time::timeout(Duration::from_secs(10), statuses.next()).await {
        seen.push(update.status);
        if update.status == ServingStatus::NotServing as i32 {
            break;
        }
    }
    assert!(
        seen.contains(&(ServingStatus::NotServing as i32)),
        "health went NOT_SERVING before the exit: {seen:?}"
    );
    let finished = call.await.unwrap();
    assert!(finished.is_ok(), "the call in flight was answered: {finished:?}");
    assert!(wait_exit(&mut gateway, Duration::from_secs(30)).success(), "the gateway exits cleanly");

    sigterm(&second);
    assert!(wait_exit(&mut second, Duration::from_secs(30)).success());
}

/// Streams still open at SIGTERM end UNAVAILABLE, not OK: a job watch on a job
/// that has not finished (the client must tell it from a finished stream and
/// re-attach elsewhere) and a health watch (which held the exit until the
/// client's deadline). Both are kept open by the client here, and the gateway
/// still exits promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_open_watches_unavailable() {
    let nats = NatsServer::start().unwrap();
    let tag = format!("w{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let url = nats.url();
    let port = free_port().unwrap();
    let listen = format!("127.0.0.1:{port}");
    let args = ["--nats-url", url.as_str(), "--nats-namespace", tag.as_str(), "--listen", listen.as_str()];
    let mut gateway = spawn("scenario-gateway", &args);
    let channel = connect(port).await;
    let mut client = ScenarioServiceClient::new(channel.clone());
    // No worker: the job stays QUEUED for as long as the test likes.
    let request =
        SubmitScenarioRequest { scenario: Some(scenario("universal-10.json")), ..Default::default() };
    let job_id = client.submit_scenario(request).await.unwrap().into_inner().job_id;
    let mut updates = client
        .watch_job(WatchJobRequest { job_id: job_id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(state(&updates.next().await.unwrap().unwrap()), JobState::Queued);
    let mut statuses = HealthClient::new(channel)
        .watch(HealthCheckRequest { service: "tariff.v1.ScenarioService".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(statuses.next().await.unwrap().unwrap().status, ServingStatus::Serving as i32);

    sigterm(&gateway);
    let limit = Duration::from_secs(10);
    let ended = tokio::time::timeout(limit, updates.next()).await.expect("the job watch ended");
    let status = ended.expect("an item, not a silent end").expect_err("the job has not finished");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    let mut seen = Vec::new();
    let cut = loop {
        match tokio::time::timeout(limit, statuses.next()).await.expect("the health watch ended") {
            Some(Ok(update)) => seen.push(update.status),
            Some(Err(status)) => break status,
            None => panic!("the health watch ended OK after {seen:?}"),
        }
    };
    assert_eq!(cut.code(), tonic::Code::Unavailable, "{cut:?}");
    assert_eq!(seen.last(), Some(&(ServingStatus::NotServing as i32)), "NOT_SERVING came first: {seen:?}");
    // Both streams are still held here; the exit does not wait for them.
    assert!(wait_exit(&mut gateway, Duration::from_secs(5)).success(), "the gateway exits cleanly");
    drop((updates, statuses));
}

/// The one line a failed command prints on stderr with RUST_BACKTRACE=1, which
/// made `main`'s returned error print a backtrace after it.
fn the_one_error_line(command: &mut Command) -> String {
    let output = command.env("RUST_BACKTRACE", "1").output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    lines[0].to_owned()
}

/// A configuration error stops the start with one line on stderr, even with
/// RUST_BACKTRACE=1 (which printed a 16-line backtrace after it).
#[test]
fn a_bad_start_is_one_line_whatever_rust_backtrace_says() {
    let missing = std::env::temp_dir().join(format!("no-tokens-{}", uuid::Uuid::new_v4().simple()));
    let line = the_one_error_line(Command::new(binary("scenario-gateway")).args([
        "--tokens-file",
        missing.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]));
    assert!(line.starts_with("error: cannot read tokens file"), "{line}");
}

/// The load generator's errors are one line too (it returned anyhow's report
/// from `main`: a stack trace of the tool).
#[test]
fn a_failed_load_run_is_one_line_whatever_rust_backtrace_says() {
    let missing = std::env::temp_dir().join(format!("no-bins-{}", uuid::Uuid::new_v4().simple()));
    let line = the_one_error_line(
        Command::new(binary("tariff-loadgen"))
            .args(["all", "--bin-dir", missing.to_str().unwrap()])
            // Where its default scenario path is.
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/..")),
    );
    assert!(line.starts_with("error: ") && line.contains("scenario-gateway not found"), "{line}");
}
