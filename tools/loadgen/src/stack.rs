//! The stack `all` and `soak` measure: a nats-server, one gateway and one worker,
//! started as child processes of this one and stopped when dropped.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail};

use crate::{
    StackArgs,
    gateway::{Client, Load, Mode, connect_gateway, one_call},
};

/// The production NATS pods' GOMEMLIMIT (`deploy/k8s/nats/values.yaml`, about
/// 90% of their 1 GiB): the stack's nats-server runs with it by default, so
/// the figures are those of the server as deployed. A test keeps the two equal.
pub const DEPLOYED_NATS_GOMEMLIMIT: &str = "900MiB";

/// A nats-server, one gateway and one worker, all child processes of this one.
#[derive(Debug)]
pub struct Stack {
    nats: tariff_test_support::NatsServer,
    gateway: Child,
    worker: Child,
    gateway_addr: String,
    _logs: tempfile::TempDir,
}

impl Stack {
    pub async fn start(args: &StackArgs) -> anyhow::Result<Stack> {
        let gateway_bin = args.bin_dir.join("scenario-gateway");
        let worker_bin = args.bin_dir.join("tariff-worker");
        for bin in [&gateway_bin, &worker_bin] {
            if !bin.exists() {
                bail!("{} not found: build it first with `cargo build --release --bins`", bin.display());
            }
        }
        let nats = tariff_test_support::NatsServer::start_with(nats_options(&args.nats_go_memory_limit))
            .map_err(|e| anyhow!("starting nats-server (--nats-go-memory-limit): {e}"))?;
        let logs = tempfile::tempdir()?;
        let port = tariff_test_support::free_port().map_err(|e| anyhow!("{e}"))?;
        let gateway_addr = format!("127.0.0.1:{port}");
        let log = |name: &str| -> anyhow::Result<Stdio> {
            Ok(std::fs::File::create(logs.path().join(name))?.into())
        };
        let records_max_mb = args.records_max_mb.to_string();
        let gateway = Command::new(&gateway_bin)
            .args(["--listen", &gateway_addr, "--nats-url", &nats.url()])
            .args(["--nats-records-max-mb", &records_max_mb])
            .env("TARIFF_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log("gateway.log")?)
            .spawn()
            .with_context(|| format!("starting {}", gateway_bin.display()))?;
        let mut worker_cmd = Command::new(&worker_bin);
        worker_cmd
            .args(["--nats-url", &nats.url()])
            .args(["--nats-records-max-mb", &records_max_mb])
            .env("TARIFF_LOG", "warn");
        if let Some(c) = args.worker_concurrency {
            worker_cmd.args(["--concurrency", &c.to_string()]);
        }
        let worker = worker_cmd
            .stdout(Stdio::null())
            .stderr(log("worker.log")?)
            .spawn()
            .with_context(|| format!("starting {}", worker_bin.display()))?;
        let stack = Stack { nats, gateway, worker, gateway_addr, _logs: logs };
        eprintln!(
            "stack: nats {} (pid {:?}, GOMEMLIMIT {}), gateway {} (pid {}), worker (pid {})",
            stack.nats.url(),
            stack.nats.pid(),
            args.nats_go_memory_limit,
            stack.gateway_addr,
            stack.gateway.id(),
            stack.worker.id()
        );
        Ok(stack)
    }

    /// The stack's processes and this one, for CPU accounting.
    pub fn processes(&self) -> crate::cpu::Processes {
        let mut all = Vec::new();
        if let Some(pid) = self.nats.pid() {
            all.push(("nats-server", pid));
        }
        all.extend([
            ("gateway", self.gateway.id()),
            ("worker", self.worker.id()),
            ("loadgen", std::process::id()),
        ]);
        crate::cpu::Processes(all)
    }

    pub fn nats_url(&self) -> String {
        self.nats.url()
    }

    pub fn worker_pid(&self) -> u32 {
        self.worker.id()
    }

    /// Waits until a RunScenario succeeds end to end.
    pub async fn ready(&self, scenario: &Load) -> anyhow::Result<Client> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let attempt = async {
                let mut client = connect_gateway(&self.gateway_addr).await?;
                one_call(&mut client, Mode::Run, scenario).await?;
                anyhow::Ok(client)
            };
            match attempt.await {
                Ok(client) => return Ok(client),
                Err(e) if Instant::now() > deadline => return Err(e.context("the stack did not come up")),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// The last 20 lines of a child's log, `gateway.log` or `worker.log`.
    pub fn log_tail(&self, name: &str) -> String {
        std::fs::read_to_string(self._logs.path().join(name))
            .map(|t| {
                t.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
            })
            .unwrap_or_default()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for child in [&mut self.gateway, &mut self.worker] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The stack's nats-server settings: its Go memory limit unless `none`.
fn nats_options(go_memory_limit: &str) -> tariff_test_support::NatsOptions {
    let env = match go_memory_limit {
        "none" => Vec::new(),
        limit => vec![("GOMEMLIMIT".to_owned(), limit.to_owned())],
    };
    tariff_test_support::NatsOptions { env, ..Default::default() }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_default_memory_limit_is_the_deployed_one() {
        let values = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/k8s/nats/values.yaml");
        let text = std::fs::read_to_string(values).unwrap();
        let deployed: Vec<&str> =
            text.lines().filter_map(|l| l.trim().strip_prefix("GOMEMLIMIT:")).map(str::trim).collect();
        assert_eq!(deployed, [DEPLOYED_NATS_GOMEMLIMIT], "{values}");
    }

    #[test]
    fn none_leaves_the_limit_unset() {
        assert!(nats_options("none").env.is_empty());
        assert_eq!(nats_options("2GiB").env, [("GOMEMLIMIT".to_owned(), "2GiB".to_owned())]);
    }
}
