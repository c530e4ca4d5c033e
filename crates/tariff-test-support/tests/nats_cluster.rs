//! Runs the three-node cluster helper against real nats-servers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tariff_test_support::{CLUSTER_NAME, CLUSTER_SIZE, NatsCluster};

/// Connects like a NATS client would and returns the INFO line the server greets with.
fn server_info(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn process_exists(pid: u32) -> bool {
    Command::new("kill").args(["-0", &pid.to_string()]).stderr(Stdio::null()).status().unwrap().success()
}

/// The node names other than node `i`'s, sorted.
fn others(cluster: &NatsCluster, i: usize) -> Vec<String> {
    (0..cluster.len()).filter(|&j| j != i).map(|j| cluster.server_name(j).to_owned()).collect()
}

#[test]
fn three_nodes_form_one_cluster_with_a_meta_leader() {
    let started = Instant::now();
    let cluster = NatsCluster::start().unwrap();
    eprintln!("cluster formed in {:?}", started.elapsed());
    assert_eq!(cluster.len(), CLUSTER_SIZE);

    let urls = cluster.client_urls();
    assert_eq!(urls.len(), 3);
    assert_eq!(cluster.urls(), urls.join(","));
    for (i, url) in urls.iter().enumerate() {
        assert_eq!(*url, cluster.node(i).url());
    }

    let mut ports = Vec::new();
    for i in 0..3 {
        let node = cluster.node(i);
        ports.extend([node.port(), node.monitor_port(), cluster.route_port(i)]);
        assert_eq!(cluster.server_name(i), format!("node-{i}"));
        assert_eq!(cluster.node_index(&format!("node-{i}")), Some(i));

        // Each node reports routes to the two others, by name.
        assert_eq!(cluster.routes_of(i).unwrap(), others(&cluster, i), "{}", cluster.log_tails());

        let varz = node.monitor_get("/varz").unwrap().body;
        assert!(varz.contains(&format!("\"server_name\": \"node-{i}\"")), "{varz}");
        assert!(varz.contains(&format!("\"name\": \"{CLUSTER_NAME}\"")), "{varz}");
        assert!(varz.contains(&format!("\"cluster_port\": {}", cluster.route_port(i))), "{varz}");

        let jsz = node.monitor_get("/jsz").unwrap().body;
        assert!(jsz.contains("\"cluster_size\": 3"), "{jsz}");
        assert_eq!(node.monitor_get("/healthz").unwrap().status, 200);

        // Clients learn about every node from any one of them.
        let info = server_info(node.port());
        assert!(info.contains(&format!("\"cluster\":\"{CLUSTER_NAME}\"")), "{info}");
        for other in cluster.nodes() {
            assert!(info.contains(&format!("\"127.0.0.1:{}\"", other.port())), "{info}");
        }
    }
    let mut unique = ports.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ports.len(), "ports reused: {ports:?}");

    // All nodes agree on a leader that is one of them.
    let leader = cluster.meta_leader().expect("a meta leader");
    for node in cluster.nodes() {
        let jsz = node.monitor_get("/jsz").unwrap().body;
        assert!(jsz.contains(&format!("\"leader\": \"{}\"", cluster.server_name(leader))), "{jsz}");
    }
    let stores: Vec<_> = cluster.nodes().iter().map(|n| n.store_dir().to_path_buf()).collect();
    assert!(stores.iter().all(|s| s.join("jetstream").is_dir()));
    assert!(stores[0] != stores[1] && stores[1] != stores[2] && stores[0] != stores[2]);
}

#[test]
fn the_meta_leader_can_be_stopped_and_restarted() {
    let mut cluster = NatsCluster::start().unwrap();
    let leader = cluster.meta_leader().unwrap();
    let port = cluster.node(leader).port();
    let store = cluster.node(leader).store_dir().to_path_buf();

    let stopped = Instant::now();
    cluster.stop_node(leader);
    assert!(!cluster.node_mut(leader).is_running());
    assert_eq!(cluster.node(leader).pid(), None);
    assert_eq!(TcpStream::connect(("127.0.0.1", port)).unwrap_err().kind(), ErrorKind::ConnectionRefused);
    cluster.stop_node(leader); // idempotent

    // The two survivors keep a quorum and elect a new meta leader among themselves.
    cluster.wait_ready().unwrap();
    eprintln!("new meta leader after {:?}", stopped.elapsed());
    let new_leader = cluster.meta_leader().unwrap();
    assert_ne!(new_leader, leader);
    for i in (0..3).filter(|&i| i != leader) {
        assert_eq!(cluster.routes_of(i).unwrap(), vec![cluster.server_name(3 - i - leader).to_owned()]);
        assert!(cluster.node_mut(i).is_running());
    }

    let restarted = Instant::now();
    cluster.restart_node(leader).unwrap();
    eprintln!("node rejoined after {:?}", restarted.elapsed());
    assert!(cluster.node_mut(leader).is_running());
    assert_eq!(cluster.node(leader).port(), port);
    assert_eq!(cluster.node(leader).store_dir(), store);
    for i in 0..3 {
        assert_eq!(cluster.routes_of(i).unwrap(), others(&cluster, i), "{}", cluster.log_tails());
        assert_eq!(cluster.node(i).monitor_get("/healthz").unwrap().status, 200);
    }
    assert!(cluster.meta_leader().is_some());
}

#[test]
fn a_follower_restarted_while_running_rejoins() {
    let mut cluster = NatsCluster::start().unwrap();
    let leader = cluster.meta_leader().unwrap();
    let follower = (leader + 1) % 3;
    let old_pid = cluster.node(follower).pid().unwrap();
    cluster.restart_node(follower).unwrap();
    assert_ne!(cluster.node(follower).pid().unwrap(), old_pid);
    for i in 0..3 {
        assert_eq!(cluster.routes_of(i).unwrap(), others(&cluster, i));
    }
    // Each node's connection count is readable (nobody is connected here).
    for i in 0..3 {
        assert_eq!(cluster.client_connections(i).unwrap(), 0);
    }
}

#[test]
fn wait_ready_fails_with_every_log_when_no_node_runs() {
    let mut cluster = NatsCluster::start().unwrap();
    for i in 0..3 {
        cluster.stop_node(i);
    }
    let started = Instant::now();
    let err = cluster.wait_ready().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "no point waiting with nothing running");
    let text = err.to_string();
    assert!(text.contains("no node is running"), "{text}");
    for i in 0..3 {
        assert!(text.contains(&format!("--- node-{i}")), "{text}");
    }
}

#[test]
fn drop_kills_every_node_and_removes_the_temp_dirs() {
    let cluster = NatsCluster::start().unwrap();
    let pids: Vec<u32> = cluster.nodes().iter().map(|n| n.pid().unwrap()).collect();
    let dirs: Vec<_> = cluster.nodes().iter().map(|n| n.temp_dir().to_path_buf()).collect();
    assert!(pids.iter().all(|&pid| process_exists(pid)));
    drop(cluster);
    for pid in pids {
        assert!(!process_exists(pid), "pid {pid} still alive after drop");
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }
    for dir in dirs {
        assert!(!dir.exists(), "{} not removed", dir.display());
    }
}
