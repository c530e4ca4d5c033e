//! What the `tariffctl` tests share: the binary run without the caller's
//! settings, its output checked, the ready scenarios, and a gateway served in
//! process for the remote commands. Each test file uses some of it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    net::SocketAddr,
    path::Path,
    process::{Command, Output},
    thread::JoinHandle,
    time::Duration,
};

use scenario_gateway::{Embedded, ServerOptions, serve};
use tariff_jobs::{JobService, WorkerConfig, memory::MemoryBackend};
use tokio::{net::TcpListener, sync::oneshot};

/// The caller's settings a test run must not pick up.
const CALLER_SETTINGS: [&str; 6] =
    ["TARIFF_REMOTE", "TARIFF_DATASET", "TARIFF_TOKEN", "TARIFF_TLS_CA", "TARIFF_TLS_CERT", "TARIFF_TLS_KEY"];

/// The binary with `args` and `env`, and none of the caller's settings.
pub fn tariffctl_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tariffctl"));
    command.args(args);
    for name in CALLER_SETTINGS {
        command.env_remove(name);
    }
    command.envs(env.iter().copied()).output().unwrap()
}

pub fn tariffctl(args: &[&str]) -> Output {
    tariffctl_with(args, &[])
}

/// Standard output of a run that must succeed.
pub fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// A ready scenario of `scenarios/`.
pub fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(name).display().to_string()
}

/// A failed run that says why in one line naming each of `needles`, without a panic.
pub fn assert_one_line_error(out: &Output, needles: &[&str]) {
    assert!(!out.status.success(), "expected failure, got: {}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line expected: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "`{stderr}` should mention `{needle}`");
    }
    assert!(!stderr.contains("panicked"));
}

/// A gateway on its own thread and runtime, stopped on drop.
pub struct TestGateway {
    pub address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestGateway {
    /// The embedded backend with two workers, recording every progress step.
    pub fn start(options: ServerOptions) -> TestGateway {
        Self::spawn(options, true)
    }

    /// No workers at all: jobs stay QUEUED until cancelled.
    pub fn without_workers() -> TestGateway {
        Self::spawn(ServerOptions::default(), false)
    }

    fn spawn(options: ServerOptions, with_workers: bool) -> TestGateway {
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                address_tx.send(listener.local_addr().unwrap()).unwrap();
                let shutdown = async {
                    let _ = stopped.await;
                };
                if with_workers {
                    let config = WorkerConfig { progress_interval: Duration::ZERO, ..Default::default() };
                    let embedded = Embedded::start(2, config, Default::default());
                    serve(listener, embedded.jobs(), options, shutdown).await.unwrap();
                    embedded.shutdown().await;
                } else {
                    let backend = MemoryBackend::default();
                    let jobs = JobService::new(backend.clone(), backend);
                    serve(listener, jobs, options, shutdown).await.unwrap();
                }
            });
        });
        let address = address_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        TestGateway { address, stop: Some(stop), thread: Some(thread) }
    }

    pub fn http(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn https(&self) -> String {
        format!("https://{}", self.address)
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
