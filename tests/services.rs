//! The real service binaries (from `cargo build --workspace --bins`, as
//! scripts/test.sh does first) as child processes against a test's
//! nats-server: what an operator runs, with their logs collected.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use tariff_proto::v1::scenario_service_client::ScenarioServiceClient;
use tariff_test_support::{ServiceProcess, free_port};
use tonic::transport::Channel;

/// A workspace binary next to this test's own directory (target/<profile>/).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(|deps| deps.parent()).unwrap().join(name);
    assert!(path.exists(), "{} is missing: build it with `cargo build --workspace --bins`", path.display());
    path
}

/// A gateway and workers on one nats-server, under names of their own.
pub struct Services {
    pub gateway: ServiceProcess,
    pub port: u16,
    pub workers: Vec<ServiceProcess>,
    nats_url: String,
    namespace: String,
    env: Vec<(String, String)>,
}

/// `name` with the test's NATS flags, JSON logs and `env`.
fn command(name: &str, nats_url: &str, namespace: &str, env: &[(String, String)], args: &[&str]) -> Command {
    let mut command = Command::new(binary(name));
    command
        .args(["--nats-url", nats_url, "--nats-namespace", namespace, "--log-format", "json"])
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    command
}

impl Services {
    /// A gateway (listening once it logs so) with `gateway_args` and
    /// `workers` workers with `worker_args`, each with `env`.
    pub fn start(
        nats_url: &str,
        env: &[(&str, &str)],
        gateway_args: &[&str],
        workers: usize,
        worker_args: &[&str],
    ) -> Services {
        let namespace = format!("o{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let env: Vec<(String, String)> =
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let port = free_port().unwrap();
        let listen = format!("127.0.0.1:{port}");
        let gateway = ServiceProcess::spawn(command(
            "scenario-gateway",
            nats_url,
            &namespace,
            &env,
            &[&["--listen", listen.as_str()], gateway_args].concat(),
        ))
        .unwrap();
        if gateway.wait_for_line("gateway listening", Duration::from_secs(60)).is_none() {
            panic!("the gateway did not start:\n{}", gateway.stop());
        }
        let mut services =
            Services { gateway, port, workers: Vec::new(), nats_url: nats_url.to_owned(), namespace, env };
        for _ in 0..workers {
            services.add_worker(worker_args);
        }
        services
    }

    /// One more worker.
    pub fn add_worker(&mut self, args: &[&str]) {
        let worker =
            ServiceProcess::spawn(command("tariff-worker", &self.nats_url, &self.namespace, &self.env, args))
                .unwrap();
        self.workers.push(worker);
    }

    /// A channel to the gateway (retried while it starts taking calls).
    pub async fn channel(&self) -> Channel {
        let started = Instant::now();
        loop {
            let endpoint = Channel::from_shared(format!("http://127.0.0.1:{}", self.port)).unwrap();
            match endpoint.connect().await {
                Ok(channel) => return channel,
                Err(e) if started.elapsed() > Duration::from_secs(30) => panic!("no gateway: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    pub async fn client(&self) -> ScenarioServiceClient<Channel> {
        ScenarioServiceClient::new(self.channel().await)
    }

    /// SIGTERM to every process (the workers first, so that they export what
    /// they hold while NATS and the gateway are up); the gateway's logs and
    /// each worker's.
    pub fn terminate(self) -> (String, Vec<String>) {
        let workers = self.workers.into_iter().map(|w| w.terminate().1).collect();
        let (_, gateway) = self.gateway.terminate();
        (gateway, workers)
    }
}
