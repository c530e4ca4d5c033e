//! The one error type of this crate.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Why a test-support helper could not do its job.
///
/// Every variant that concerns a running (or dying) server carries the tail of that
/// server's log, so a failing test shows what the server said. `Debug` prints the same
/// text as `Display` (log lines and all), so `NatsServer::start().unwrap()` in a test
/// shows the install hint or the server's log readably.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum TestSupportError {
    /// No usable `nats-server` (2.10 or later) was found.
    #[error(
        "no usable nats-server (2.10 or later) found; looked at: {searched}. \
         Run scripts/install-nats-server.sh (it installs one into .tools/bin), or point \
         TARIFF_NATS_SERVER at one: export TARIFF_NATS_SERVER=$(scripts/install-nats-server.sh | tail -n1)"
    )]
    BinaryNotFound {
        /// The places that were looked at, and why each was rejected.
        searched: String,
    },

    /// `$TARIFF_NATS_SERVER` names a server older than 2.10, or a binary whose `--version`
    /// is not a nats-server's.
    #[error(
        "{path} answered --version with {version:?}; a nats-server 2.10 or later is needed \
         (run scripts/install-nats-server.sh)"
    )]
    BinaryTooOld {
        /// The binary that was asked.
        path: PathBuf,
        /// What it answered to `--version`.
        version: String,
    },

    /// An I/O operation of the harness itself failed (temp dir, log file, spawn, ...).
    #[error("{context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The server process exited before it became ready.
    #[error("nats-server for {url} exited before it was ready ({status}); log tail:\n{log_tail}")]
    Exited {
        /// The client URL the server was meant to serve.
        url: String,
        /// The exit status as the OS reported it.
        status: String,
        /// The end of what the server wrote during this launch.
        log_tail: String,
    },

    /// The server kept running but did not become ready in time; it has been killed.
    #[error(
        "nats-server for {url} not ready after {waited:?} (last problem: {last_problem}); log tail:\n{log_tail}"
    )]
    NotReady {
        /// The client URL the server was meant to serve.
        url: String,
        /// How long the harness waited.
        waited: Duration,
        /// The last readiness probe's failure.
        last_problem: String,
        /// The end of what the server wrote during this launch.
        log_tail: String,
    },

    /// A [`NatsCluster`](crate::NatsCluster) did not form (routes between all running
    /// nodes, one JetStream meta leader, `/healthz` 200 everywhere) in time.
    #[error(
        "NATS cluster not ready after {waited:?} (last problem: {last_problem}); log tails:\n{log_tails}"
    )]
    ClusterNotReady {
        /// How long the harness waited.
        waited: Duration,
        /// The last readiness probe's failure.
        last_problem: String,
        /// The end of every node's log, labelled with its name.
        log_tails: String,
    },

    /// A TCP port did not accept connections within the deadline.
    #[error("127.0.0.1:{port} did not accept TCP connections within {waited:?}: {source}")]
    PortNotOpen {
        /// The port that was polled.
        port: u16,
        /// How long the harness polled.
        waited: Duration,
        /// The last connection error.
        #[source]
        source: io::Error,
    },
}

impl fmt::Debug for TestSupportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl TestSupportError {
    /// Wraps an I/O error with what the harness was doing.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    /// True when the server died because one of its ports was taken, which is worth a
    /// retry (with the same ports after a restart, with fresh ones on a first start).
    pub(crate) fn is_port_conflict(&self) -> bool {
        matches!(self, Self::Exited { log_tail, .. } if log_tail.contains("address already in use"))
    }
}
