//! Commands that talk to a gateway: `submit`, `watch`, `get`, `cancel`,
//! `flows` and `run --remote`. Only these need an async runtime; they build their own so
//! the local commands stay plain synchronous code.

mod client;
mod credentials;
pub mod datasets;
mod flows;
mod follow;
mod handshake;
mod job;
mod submit;
mod tls;

use std::{future::Future, time::Duration};

use anyhow::{Context, anyhow};
use clap::Args;
use tariff_proto::v1::Job;
use tokio::time::Instant;

pub use credentials::SecurityArgs;
pub use flows::{FlowsArgs, flows};
pub use job::{CancelArgs, GetArgs, WatchArgs, cancel, get, watch};
pub use submit::{RemoteRun, SubmitArgs, run_remote, submit};

use self::{client::Gateway, credentials::Credentials};
use crate::progress::JobProgress;

/// Where the gateway is, and what it may require of us.
#[derive(Debug, Args)]
pub struct GatewayArg {
    /// The gateway: HOST:PORT, http://HOST:PORT or https://HOST:PORT (TLS).
    #[arg(long = "remote", value_name = "ADDR", env = "TARIFF_REMOTE")]
    pub address: String,
    #[command(flatten)]
    pub security: SecurityArgs,
}

impl GatewayArg {
    /// Reads the credentials (token, TLS files): errors name the file or
    /// variable at fault, before anything is sent.
    fn credentials(&self) -> anyhow::Result<Credentials> {
        Credentials::load(&self.security)
    }
}

/// How long to wait for a job.
#[derive(Debug, Clone, Copy, Args)]
pub struct WaitArg {
    /// With a gateway: stop waiting for the job after this many seconds (the job goes on there).
    #[arg(long = "timeout", value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub seconds: u64,
}

impl WaitArg {
    fn deadline(self) -> Instant {
        Instant::now() + Duration::from_secs(self.seconds)
    }
}

/// Runs a remote command to completion on a runtime of its own.
fn block_on<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(work)
}

/// `work`, unless `deadline` passes first.
async fn before<T>(
    deadline: Instant,
    seconds: u64,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::time::timeout_at(deadline, work)
        .await
        .unwrap_or_else(|_| Err(anyhow!("no answer from the gateway within --timeout {seconds}s")))
}

/// Follows a job with a progress bar until it ends, the deadline passes or the
/// user interrupts; the job itself goes on in the last two cases, so the
/// message says how to pick it up again.
async fn wait_for(
    gateway: &mut Gateway,
    job_id: &str,
    wait: WaitArg,
    deadline: Instant,
) -> anyhow::Result<Job> {
    let mut bar = JobProgress::new(job_id);
    let outcome = tokio::select! {
        outcome = tokio::time::timeout_at(deadline, follow::follow(gateway, job_id, &mut bar)) => {
            outcome.unwrap_or_else(|_| Err(anyhow!(
                "job {job_id} has not finished within --timeout {}s; it goes on: `tariffctl watch {job_id}` follows it",
                wait.seconds
            )))
        }
        // A handler that cannot be installed resolves with Err and is then ignored.
        Ok(()) = tokio::signal::ctrl_c() => Err(anyhow!(
            "interrupted; job {job_id} goes on: `tariffctl watch {job_id}` follows it, `tariffctl cancel {job_id}` stops it"
        )),
    };
    drop(bar);
    outcome
}
