//! A three-node `nats-server` cluster with JetStream, on loopback, owned by a test.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::thread;
use std::time::{Duration, Instant};

use crate::server::NatsServer;
use crate::{NatsOptions, TestSupportError, free_ports};

/// How many nodes a [`NatsCluster`] has: the smallest cluster that keeps a JetStream
/// quorum (2 of 3) with one node down.
pub const CLUSTER_SIZE: usize = 3;

/// The cluster name every [`NatsCluster`] gives its nodes (`cluster { name: ... }`).
pub const CLUSTER_NAME: &str = "tariff-test";

/// How long [`NatsCluster::start`], [`NatsCluster::restart_node`] and
/// [`NatsCluster::wait_ready`] wait for the cluster to (re)form.
pub const CLUSTER_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How many fresh sets of route ports [`NatsCluster::start`] tries when one was taken.
const START_ATTEMPTS: usize = 3;

/// How often cluster readiness is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A real three-node NATS cluster with JetStream, for tests of replicated streams and
/// of a node dying under load.
///
/// Each node is a [`NatsServer`] (its own free client and monitoring ports, its own
/// temp store dir and log) started with a configuration file (through
/// [`NatsOptions::config_file_text`]) that gives it a distinct `server_name`
/// (`node-0`, `node-1`, `node-2`) and a
/// `cluster { name: "tariff-test", listen: 127.0.0.1:ROUTE_PORT, routes: [...] }` block
/// naming the route ports of the two others. Route ports come from
/// [`free_ports`](crate::free_ports).
///
/// # Readiness
///
/// [`start`](Self::start) returns once the cluster has formed, as seen on every
/// running node's monitoring port:
/// - `GET /routez` lists routes to exactly the other running nodes (by
///   `remote_name`; nats-server pools several route connections per peer, so
///   `num_routes` itself is larger than 2);
/// - `GET /jsz` shows a JetStream meta leader (`meta_cluster.leader`), the same
///   one on every node and one of the running nodes;
/// - `GET /healthz` (the full JetStream health check, not `js-enabled-only`)
///   answers 200: the node is in contact with the meta leader and current.
///
/// [`restart_node`](Self::restart_node) waits for the same again, and
/// [`wait_ready`](Self::wait_ready) can be called after [`stop_node`](Self::stop_node)
/// to wait until the two survivors agree on a (possibly new) meta leader.
///
/// # Client URLs
///
/// [`urls`](Self::urls) gives the comma-separated form (`nats://127.0.0.1:A,nats://...`)
/// that command-line flags and `nats` tools take. `async_nats::connect` does **not**
/// split such a string (a `&str` is parsed as one URL); hand it
/// [`client_urls`](Self::client_urls) (a `Vec<String>`) instead. A client that knows
/// only one node also finds the others: every node advertises the cluster's client
/// URLs in its `INFO` (`connect_urls`), and clients fail over to them.
///
/// Dropping the cluster kills every node and removes their temp dirs.
///
/// ```no_run
/// use tariff_test_support::NatsCluster;
///
/// # fn main() -> Result<(), tariff_test_support::TestSupportError> {
/// let mut cluster = NatsCluster::start()?;
/// let urls = cluster.urls(); // "nats://127.0.0.1:A,nats://127.0.0.1:B,nats://127.0.0.1:C"
/// cluster.stop_node(0); // SIGKILL; the other two keep a JetStream quorum
/// cluster.wait_ready()?; // the survivors agree on a meta leader again
/// cluster.restart_node(0)?; // same ports, same store; waits until it has rejoined
/// # let _ = urls;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct NatsCluster {
    route_ports: Vec<u16>,
    names: Vec<String>,
    nodes: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts three JetStream nodes on loopback and waits until they form one
    /// cluster with a JetStream meta leader (see [Readiness](Self#readiness)).
    ///
    /// If a route port was taken by someone else in the meantime, it starts over with
    /// fresh ones (a few times).
    pub fn start() -> Result<NatsCluster, TestSupportError> {
        let mut attempt = 1;
        loop {
            match Self::try_start() {
                Ok(cluster) => return Ok(cluster),
                Err(e) if e.is_port_conflict() && attempt < START_ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }

    fn try_start() -> Result<NatsCluster, TestSupportError> {
        let route_ports = free_ports(CLUSTER_SIZE)?;
        let names: Vec<String> = (0..CLUSTER_SIZE).map(|i| format!("node-{i}")).collect();
        let mut nodes = Vec::with_capacity(CLUSTER_SIZE);
        for (i, name) in names.iter().enumerate() {
            let options = NatsOptions {
                config_file_text: Some(node_config(name, i, &route_ports)),
                ..NatsOptions::default()
            };
            // A node is "ready" as soon as its own JetStream is enabled, before the
            // cluster has formed, so starting them one after the other works.
            nodes.push(NatsServer::start_with(options)?);
        }
        let mut cluster = NatsCluster { route_ports, names, nodes };
        cluster.wait_ready()?;
        Ok(cluster)
    }

    /// The client URLs of all nodes (running or not), comma-separated:
    /// `nats://127.0.0.1:A,nats://127.0.0.1:B,nats://127.0.0.1:C`.
    ///
    /// That is the form flags such as `--nats-url` document; `async_nats` needs the
    /// list form, [`client_urls`](Self::client_urls).
    pub fn urls(&self) -> String {
        self.client_urls().join(",")
    }

    /// The client URL of every node, in node order, for `async_nats::connect(vec)`.
    pub fn client_urls(&self) -> Vec<String> {
        self.nodes.iter().map(NatsServer::url).collect()
    }

    /// How many nodes the cluster has ([`CLUSTER_SIZE`]).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true; here because clippy expects it beside [`len`](Self::len).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `i` (0, 1 or 2): its URL, ports, log, monitoring endpoint.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`CLUSTER_SIZE`].
    pub fn node(&self, i: usize) -> &NatsServer {
        &self.nodes[i]
    }

    /// Node `i`, mutably (for [`NatsServer::is_running`] and the like). Stopping or
    /// restarting it through [`stop_node`](Self::stop_node) and
    /// [`restart_node`](Self::restart_node) is the same, except that `restart_node`
    /// also waits until the node has rejoined the cluster.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`CLUSTER_SIZE`].
    pub fn node_mut(&mut self, i: usize) -> &mut NatsServer {
        &mut self.nodes[i]
    }

    /// All nodes, in order.
    pub fn nodes(&self) -> &[NatsServer] {
        &self.nodes
    }

    /// The `server_name` of node `i` (`node-0`, ...): what `/jsz`, `/routez` and
    /// stream cluster info call it.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`CLUSTER_SIZE`].
    pub fn server_name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// The index of the node named `name`, if it is one of this cluster's.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The route (cluster) port node `i` listens on.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`CLUSTER_SIZE`].
    pub fn route_port(&self, i: usize) -> u16 {
        self.route_ports[i]
    }

    /// Kills node `i` (SIGKILL, like [`NatsServer::stop`]) and returns at once: the
    /// other nodes notice the lost routes by themselves. Its ports and store are
    /// kept for [`restart_node`](Self::restart_node). Does nothing if it is stopped.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`CLUSTER_SIZE`].
    pub fn stop_node(&mut self, i: usize) {
        self.nodes[i].stop();
    }

    /// Restarts node `i` (stopping it first if it runs) on the same ports with the
    /// same store, and waits until every running node is routed to every other one
    /// and they agree on a JetStream meta leader again.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`CLUSTER_SIZE`].
    pub fn restart_node(&mut self, i: usize) -> Result<(), TestSupportError> {
        self.nodes[i].restart()?;
        self.wait_ready()
    }

    /// Waits (up to [`CLUSTER_READY_TIMEOUT`]) until the running nodes form a
    /// cluster: each is routed to exactly the other running ones, all report the
    /// same JetStream meta leader (a running node), and each answers `/healthz` with
    /// 200. With one node stopped that means the other two have a quorum and a
    /// leader; with none running it fails at once.
    pub fn wait_ready(&mut self) -> Result<(), TestSupportError> {
        let start = Instant::now();
        loop {
            let last_problem = match self.probe() {
                Ok(()) => return Ok(()),
                Err(problem) => problem,
            };
            let none_running = !self.nodes.iter_mut().any(NatsServer::is_running);
            if none_running || start.elapsed() >= CLUSTER_READY_TIMEOUT {
                return Err(TestSupportError::ClusterNotReady {
                    waited: start.elapsed(),
                    last_problem,
                    log_tails: self.log_tails(),
                });
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// The node that is the JetStream meta leader, as the first running node that
    /// knows one says (`meta_cluster.leader` in `/jsz`); `None` if none knows.
    pub fn meta_leader(&self) -> Option<usize> {
        self.nodes
            .iter()
            .filter_map(|node| meta_leader_of(node).ok().flatten())
            .find_map(|leader| self.node_index(&leader))
    }

    /// The `server_name`s node `i` has routes to, sorted and without repeats (from
    /// `remote_name` in `/routez`).
    ///
    /// # Panics
    ///
    /// If `i` is not below [`CLUSTER_SIZE`].
    pub fn routes_of(&self, i: usize) -> Result<Vec<String>, TestSupportError> {
        let body = self.nodes[i].monitor_get("/routez")?.body;
        Ok(json_values(&body, "remote_name").into_iter().collect::<BTreeSet<_>>().into_iter().collect())
    }

    /// How many client connections node `i` holds now (`num_connections` in `/connz`).
    ///
    /// # Panics
    ///
    /// If `i` is not below [`CLUSTER_SIZE`].
    pub fn client_connections(&self, i: usize) -> Result<usize, TestSupportError> {
        let body = self.nodes[i].monitor_get("/connz")?.body;
        json_values(&body, "num_connections").first().and_then(|n| n.parse().ok()).ok_or_else(|| {
            TestSupportError::io("reading /connz")(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("no num_connections in {body:?}"),
            ))
        })
    }

    /// Every node's log tail, labelled, for assertion messages.
    pub fn log_tails(&self) -> String {
        let mut text = String::new();
        for (name, node) in self.names.iter().zip(&self.nodes) {
            let _ = writeln!(text, "--- {name} ({}) ---\n{}", node.url(), node.log_tail());
        }
        text
    }

    /// One readiness check over the running nodes; `Err` says what is not ready yet.
    fn probe(&mut self) -> Result<(), String> {
        let running: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.nodes[i].is_running()).collect();
        if running.is_empty() {
            return Err("no node is running".to_owned());
        }
        let mut leaders = BTreeSet::new();
        for &i in &running {
            let name = &self.names[i];
            let expected: Vec<String> =
                running.iter().filter(|&&j| j != i).map(|&j| self.names[j].clone()).collect();
            let routes = self.routes_of(i).map_err(|e| format!("{name}: {e}"))?;
            if routes != expected {
                return Err(format!("{name} has routes to {routes:?}, expected {expected:?}"));
            }
            let leader = meta_leader_of(&self.nodes[i])
                .map_err(|e| format!("{name}: {e}"))?
                .ok_or_else(|| format!("{name} knows no JetStream meta leader yet"))?;
            if !running.iter().any(|&j| self.names[j] == leader) {
                return Err(format!("{name} names {leader:?} as meta leader, which is not running"));
            }
            leaders.insert(leader);
            let health = self.nodes[i].monitor_get("/healthz").map_err(|e| format!("{name}: {e}"))?;
            if health.status != 200 {
                return Err(format!("{name} GET /healthz: {} {}", health.status, health.body.trim()));
            }
        }
        if leaders.len() > 1 {
            return Err(format!("the nodes disagree on the meta leader: {leaders:?}"));
        }
        Ok(())
    }
}

/// The configuration file of node `index`: its name and its cluster block, with
/// routes to the other nodes' route ports.
fn node_config(name: &str, index: usize, route_ports: &[u16]) -> String {
    let listen = route_ports.get(index).copied().unwrap_or_default();
    let routes: Vec<String> = route_ports
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != index)
        .map(|(_, port)| format!("\"nats-route://127.0.0.1:{port}\""))
        .collect();
    format!(
        "server_name: \"{name}\"\n\
         cluster {{\n  name: \"{CLUSTER_NAME}\"\n  listen: \"127.0.0.1:{listen}\"\n  routes: [{}]\n}}\n",
        routes.join(", ")
    )
}

/// `meta_cluster.leader` from the node's `/jsz`: `Ok(None)` while it has none.
fn meta_leader_of(node: &NatsServer) -> Result<Option<String>, TestSupportError> {
    let response = node.monitor_get("/jsz")?;
    let meta = response.body.split_once("\"meta_cluster\"").map(|(_, rest)| rest).unwrap_or_default();
    Ok(json_values(meta, "leader").into_iter().next().filter(|leader| !leader.is_empty()))
}

/// The values of every `"key": value` pair in a JSON text, in order: strings
/// unquoted (escapes kept as written), other scalars as written. Enough for the
/// flat fields of the nats-server monitoring endpoints, without a JSON parser.
fn json_values(json: &str, key: &str) -> Vec<String> {
    let needle = format!("\"{key}\"");
    let mut values = Vec::new();
    let mut rest = json;
    while let Some(found) = rest.find(&needle) {
        rest = &rest[found + needle.len()..];
        let Some(after_colon) = rest.trim_start().strip_prefix(':') else { continue };
        let value = after_colon.trim_start();
        if let Some(string) = value.strip_prefix('"') {
            let mut end = None;
            let mut escaped = false;
            for (at, c) in string.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => {
                        end = Some(at);
                        break;
                    }
                    _ => {}
                }
            }
            if let Some(end) = end {
                values.push(string[..end].to_owned());
            }
        } else {
            let end = value.find([',', '}', ']', '\n', '\r', ' ', '\t']).unwrap_or(value.len());
            if end > 0 {
                values.push(value[..end].to_owned());
            }
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_reads_strings_and_scalars() {
        let json = r#"{
  "num_routes": 8,
  "routes": [
    {"rid": 1, "remote_name": "node-1", "is_configured": true},
    {"rid": 2, "remote_name":"node-2"},
    {"rid": 3, "remote_name": "a \"quoted\" name"}
  ],
  "meta_cluster": {"leader": "node-0", "peer": "x"}
}"#;
        assert_eq!(json_values(json, "num_routes"), ["8"]);
        assert_eq!(json_values(json, "rid"), ["1", "2", "3"]);
        assert_eq!(json_values(json, "remote_name"), ["node-1", "node-2", r#"a \"quoted\" name"#]);
        assert_eq!(json_values(json, "is_configured"), ["true"]);
        assert_eq!(json_values(json, "leader"), ["node-0"]);
        assert!(json_values(json, "missing").is_empty());
        // A key that appears as a value is not a key.
        assert!(json_values(r#"{"a": "remote_name"}"#, "remote_name").is_empty());
    }

    #[test]
    fn node_config_names_the_node_and_routes_to_the_others() {
        let text = node_config("node-1", 1, &[7001, 7002, 7003]);
        assert!(text.contains("server_name: \"node-1\""), "{text}");
        assert!(text.contains("listen: \"127.0.0.1:7002\""), "{text}");
        assert!(
            text.contains("routes: [\"nats-route://127.0.0.1:7001\", \"nats-route://127.0.0.1:7003\"]"),
            "{text}"
        );
        assert!(text.contains(&format!("name: \"{CLUSTER_NAME}\"")), "{text}");
    }
}
