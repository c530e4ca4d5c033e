//! The remote commands end to end: the `tariffctl` binary against a real
//! gateway served in process on 127.0.0.1:0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use common::{TestGateway, assert_one_line_error, scenario, stdout, tariffctl, tariffctl_with};
use scenario_gateway::{ServerOptions, serve};
use tariff_jobs::{JobService, memory::MemoryBackend};
use tariff_proto::{
    json::from_json,
    v1::{Job, JobState, ScenarioResult},
};

/// A scenario file of our own, in a temporary directory.
fn scenario_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.json");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn remote_run_gives_exactly_the_local_result() {
    let gateway = TestGateway::start(ServerOptions::default());
    let file = scenario("section-232-autos-2025.json");

    let local = tariffctl(&["run", &file, "--format", "json"]);
    let local: ScenarioResult = from_json(&stdout(&local)).unwrap();

    let remote = tariffctl(&["run", &file, "--remote", &gateway.http(), "--format", "json"]);
    // stderr is not a terminal here: no progress bar, only the job id, which
    // `tariffctl get` finds again.
    let said = String::from_utf8_lossy(&remote.stderr).into_owned();
    let id = said
        .strip_prefix("job ")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{said:?}"));
    let remote: ScenarioResult = from_json(&stdout(&remote)).unwrap();

    assert_eq!(remote, local);
    assert!(!remote.impacts.is_empty());
    let again: Job =
        from_json(&stdout(&tariffctl(&["get", id, "--remote", &gateway.http(), "--format", "json"])))
            .unwrap();
    assert_eq!(again.result.unwrap(), local);
}

#[test]
fn remote_uncertainty_runs_give_exactly_the_local_bands_and_tornado() {
    let gateway = TestGateway::start(ServerOptions::default());
    let ready = std::fs::read_to_string(scenario("section-232-autos-2025-uncertainty.json")).unwrap();
    // Fewer draws than the ready scenario's 10,000, for a debug build.
    let (_dir, path) = scenario_file(&ready.replace("\"draws\": 10000", "\"draws\": 400"));
    let file = path.to_str().unwrap();

    let local: ScenarioResult = from_json(&stdout(&tariffctl(&["run", file, "--format", "json"]))).unwrap();
    let remote = tariffctl(&["run", file, "--remote", &gateway.http(), "--format", "json"]);
    let remote: ScenarioResult = from_json(&stdout(&remote)).unwrap();
    assert_eq!(local.uncertainty.as_ref().unwrap().draws, 400);
    assert!(!remote.impacts[0].bands.is_empty() && !remote.impacts[0].sensitivity.is_empty());
    assert_eq!(remote, local);
}

#[test]
fn remote_run_takes_the_address_from_the_environment_and_prints_every_format() {
    let gateway = TestGateway::start(ServerOptions::default());
    let file = scenario("section-232-autos-2025.json");
    let address = gateway.address.to_string();
    for (format, expected) in [("table", "Scenario: "), ("csv", "date,sector,economy,")] {
        let local = stdout(&tariffctl(&["run", &file, "--format", format]));
        let remote =
            stdout(&tariffctl_with(&["run", &file, "--format", format], &[("TARIFF_REMOTE", &address)]));
        assert!(remote.starts_with(expected), "{remote}");
        assert_eq!(remote, local, "--format {format}");
    }
}

#[test]
fn remote_run_watch_and_compare_draw_and_print_as_locally() {
    let gateway = TestGateway::start(ServerOptions::default());
    let url = gateway.http();
    let file = scenario("section-232-autos-2025.json");
    let dir = tempfile::tempdir().unwrap();
    let chart = |name: &str| dir.path().join(name).display().to_string();

    stdout(&tariffctl(&["run", &file, "--chart", &chart("local.svg")]));
    stdout(&tariffctl(&["run", &file, "--remote", &url, "--chart", &chart("remote.svg")]));
    let local = std::fs::read_to_string(chart("local.svg")).unwrap();
    assert!(local.starts_with("<svg"), "{local}");
    assert_eq!(std::fs::read_to_string(chart("remote.svg")).unwrap(), local);

    let id = stdout(&tariffctl(&["submit", &file, "--remote", &url])).trim().to_owned();
    stdout(&tariffctl(&["watch", &id, "--remote", &url, "--chart", &chart("watched.svg")]));
    assert_eq!(std::fs::read_to_string(chart("watched.svg")).unwrap(), local);

    let other = scenario("universal-20.json");
    let local = stdout(&tariffctl(&["compare", &file, &other, "--format", "csv"]));
    let remote = stdout(&tariffctl(&["compare", &file, &other, "--format", "csv", "--remote", &url]));
    assert_eq!(remote, local);
}

#[test]
fn submit_get_watch_with_an_idempotency_key() {
    let gateway = TestGateway::start(ServerOptions::default());
    let url = gateway.http();
    let file = scenario("section-232-autos-2025.json");

    let first = tariffctl(&["submit", &file, "--remote", &url, "--idempotency-key", "autos-2025"]);
    let id = stdout(&first);
    assert_eq!(id.lines().count(), 1, "{id}");
    let id = id.trim().to_owned();
    assert!(!id.is_empty());

    let again = tariffctl(&["submit", &file, "--remote", &url, "--idempotency-key", "autos-2025"]);
    assert_eq!(stdout(&again).trim(), id, "same key, same job");
    assert!(String::from_utf8_lossy(&again.stderr).contains("deduplicated"));

    let other = tariffctl(&["submit", &file, "--remote", &url, "--idempotency-key", "another"]);
    assert_ne!(stdout(&other).trim(), id);

    let job: Job =
        from_json(&stdout(&tariffctl(&["get", &id, "--remote", &url, "--format", "json"]))).unwrap();
    assert_eq!(job.job_id, id);
    assert_eq!(job.idempotency_key, "autos-2025");
    assert!(!job.created_at.is_empty());

    let watched = tariffctl(&["watch", &id, "--remote", &url, "--format", "json"]);
    let watched: ScenarioResult = from_json(&stdout(&watched)).unwrap();
    let local: ScenarioResult = from_json(&stdout(&tariffctl(&["run", &file, "--format", "json"]))).unwrap();
    assert_eq!(watched, local);

    // Once ended, the record holds the result and the final progress.
    let job: Job =
        from_json(&stdout(&tariffctl(&["get", &id, "--remote", &url, "--format", "json"]))).unwrap();
    assert_eq!(job.state(), JobState::Succeeded);
    assert_eq!(job.result.as_ref(), Some(&watched));
    assert_eq!(job.attempts, 1);
    // Not `total > 0`: a job that ends before the worker records any progress
    // step ends at 0/0 (the worker's choice, not the CLI's).
    let progress = job.progress.unwrap();
    assert!(progress.done == progress.total && progress.stage == tariff_proto::stage::DONE, "{progress:?}");

    let table = stdout(&tariffctl(&["get", &id, "--remote", &url]));
    assert!(table.contains(&format!("job       {id}")), "{table}");
    assert!(table.contains("state     SUCCEEDED"), "{table}");
    assert!(table.contains("Scenario: "), "{table}");

    // Cancelling a finished job leaves it as it was.
    assert_eq!(stdout(&tariffctl(&["cancel", &id, "--remote", &url])).trim(), "SUCCEEDED");
}

#[test]
fn a_queued_job_can_be_cancelled_and_watch_says_so() {
    let gateway = TestGateway::without_workers();
    let url = gateway.http();
    let file = scenario("section-232-autos-2025.json");
    let id = stdout(&tariffctl(&["submit", &file, "--remote", &url])).trim().to_owned();

    let started = Instant::now();
    let waiting = tariffctl(&["watch", &id, "--remote", &url, "--timeout", "1"]);
    assert_one_line_error(&waiting, &[&id, "has not finished", "--timeout 1s"]);
    assert!(started.elapsed() < Duration::from_secs(10));

    let table = stdout(&tariffctl(&["get", &id, "--remote", &url]));
    assert!(table.contains("state     QUEUED"), "{table}");

    assert_eq!(stdout(&tariffctl(&["cancel", &id, "--remote", &url])).trim(), "CANCELLED");
    assert_one_line_error(&tariffctl(&["watch", &id, "--remote", &url]), &[&id, "cancelled"]);
    let no_result = tariffctl(&["get", &id, "--remote", &url, "--format", "csv"]);
    assert_one_line_error(&no_result, &["no result", "CANCELLED"]);
}

#[test]
fn an_invalid_scenario_is_refused_naming_the_field() {
    let gateway = TestGateway::start(ServerOptions::default());
    let (_dir, path) = scenario_file(
        r#"{"id": "bad", "dataset": "jpus-2023",
            "measures": [{"authority": "OTHER", "importer": "XX", "exporters": ["*"], "sectors": ["*"],
                          "mode": "ADD", "rate_pct": 10}]}"#,
    );
    let path = path.display().to_string();
    let out = tariffctl(&["run", &path, "--remote", &gateway.http()]);
    assert_one_line_error(&out, &["scenario.measures[0].importer", "unknown economy `XX`"]);
    assert!(out.stdout.is_empty());

    let out = tariffctl(&["submit", &path, "--remote", &gateway.http()]);
    assert_one_line_error(&out, &["scenario.measures[0].importer"]);
}

#[test]
fn unknown_and_malformed_job_ids() {
    let gateway = TestGateway::start(ServerOptions::default());
    let url = gateway.http();
    for command in ["get", "watch", "cancel"] {
        let out = tariffctl(&[command, "0123456789abcdef0123456789abcdef", "--remote", &url]);
        assert_one_line_error(&out, &["not found", "0123456789abcdef0123456789abcdef"]);

        let out = tariffctl(&[command, "not a job id!", "--remote", &url]);
        assert_one_line_error(&out, &["job_id", "not a job id"]);
    }
}

#[test]
fn nothing_listening_fails_fast_naming_the_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let out = tariffctl(&["run", &scenario("section-232-autos-2025.json"), "--remote", &address]);
    assert_one_line_error(&out, &[&address, "connection refused"]);
    let out = tariffctl(&["get", "0123456789abcdef", "--remote", &format!("http://{address}")]);
    assert_one_line_error(&out, &[&address, "connection refused"]);
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[test]
fn remote_refuses_a_local_dataset_folder() {
    let out = tariffctl(&[
        "run",
        &scenario("section-232-autos-2025.json"),
        "--remote",
        "127.0.0.1:1",
        "--dataset",
        env!("CARGO_MANIFEST_DIR"),
    ]);
    assert_one_line_error(&out, &["--dataset", "--remote", "built-in"]);
}

/// Serves `backend` (no workers) on `address` in a runtime of its own; the
/// address may just have been freed by a replica that died.
fn serve_on(address: SocketAddr, backend: MemoryBackend) -> (tokio::runtime::Runtime, SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let listener = runtime.block_on(async {
        let started = Instant::now();
        loop {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_reuseaddr(true).unwrap();
            match socket.bind(address).and_then(|()| socket.listen(64)) {
                Ok(listener) => break listener,
                Err(e) if started.elapsed() < Duration::from_secs(5) => {
                    eprintln!("binding {address}: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot bind {address}: {e}"),
            }
        }
    });
    let bound = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let jobs = JobService::new(backend.clone(), backend);
        serve(listener, jobs, ServerOptions::default(), std::future::pending()).await.unwrap();
    });
    (runtime, bound)
}

#[test]
fn watch_outlives_the_gateway_it_started_on() {
    let backend = MemoryBackend::default();
    let (first, address) = serve_on("127.0.0.1:0".parse().unwrap(), backend.clone());
    let url = address.to_string();

    let file = scenario("section-232-autos-2025.json");
    let id = stdout(&tariffctl(&["submit", &file, "--remote", &url])).trim().to_owned();
    let watch = Command::new(env!("CARGO_BIN_EXE_tariffctl"))
        .args(["watch", &id, "--remote", &url, "--timeout", "30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));

    // The replica dies with the stream open; another takes its place over the
    // same job records, and the watch carries on through it.
    first.shutdown_background();
    let (second, _) = serve_on(address, backend);
    assert_eq!(stdout(&tariffctl(&["cancel", &id, "--remote", &url])).trim(), "CANCELLED");
    assert_one_line_error(&watch.wait_with_output().unwrap(), &[&id, "was cancelled"]);
    second.shutdown_background();
}
