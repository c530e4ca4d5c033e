//! Runs the harness against a real nats-server (see scripts/install-nats-server.sh).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::Duration;

use tariff_test_support::{
    MIN_SERVER_VERSION, NatsOptions, NatsServer, TestSupportError, nats_server_binary, nats_server_version,
};

fn connect(port: u16) -> std::io::Result<TcpStream> {
    TcpStream::connect(("127.0.0.1", port))
}

/// Connects like a NATS client would and returns the INFO line the server greets with.
fn server_info(port: u16) -> String {
    let mut stream = connect(port).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn process_exists(pid: u32) -> bool {
    Command::new("kill").args(["-0", &pid.to_string()]).status().unwrap().success()
}

#[test]
fn binary_is_found_and_new_enough() {
    let binary = nats_server_binary().unwrap();
    let version = nats_server_version(&binary).unwrap();
    assert!(version >= MIN_SERVER_VERSION, "{} is {version}", binary.display());
}

#[test]
fn start_stop_restart_on_the_same_port_and_store() {
    let mut server = NatsServer::start().unwrap();
    let port = server.port();
    assert_ne!(port, 0);
    assert_eq!(server.url(), format!("nats://127.0.0.1:{port}"));
    assert!(server.is_running());
    assert!(server.pid().is_some());

    let info = server_info(port);
    assert!(info.starts_with("INFO {"), "{info}");
    assert!(info.contains("\"jetstream\":true"), "{info}");
    let health = server.monitor_get("/healthz?js-enabled-only=true").unwrap();
    assert_eq!(health.status, 200, "{}", health.body);
    assert!(health.body.contains("ok"), "{}", health.body);
    assert!(server.jetstream_healthy());

    let store = server.store_dir().to_path_buf();
    assert!(store.is_dir());
    // JetStream keeps its data under <store>/jetstream once it has started.
    assert!(store.join("jetstream").is_dir(), "{}", server.log_tail());

    server.stop();
    assert!(!server.is_running());
    assert_eq!(server.pid(), None);
    let err = connect(port).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert!(!server.jetstream_healthy());
    server.stop(); // idempotent

    server.restart().unwrap();
    assert!(server.is_running());
    assert_eq!(server.port(), port);
    assert_eq!(server.store_dir(), store);
    assert!(store.join("jetstream").is_dir());
    assert!(server_info(port).starts_with("INFO {"));
    assert!(server.jetstream_healthy());

    // Restarting a running server also works (stop + start).
    server.restart().unwrap();
    assert_eq!(server.port(), port);
    assert!(connect(port).is_ok());

    // Both launches logged to the same file.
    let log = std::fs::read_to_string(server.log_path()).unwrap();
    assert!(log.matches("Server is ready").count() >= 3, "{log}");
}

#[test]
fn restart_waits_for_its_port_to_be_free_again() {
    let mut server = NatsServer::start().unwrap();
    let port = server.port();
    server.stop();
    // Someone else holds the client port for a moment; restart keeps retrying.
    let squatter = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let release = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        drop(squatter);
    });
    server.restart().unwrap();
    release.join().unwrap();
    assert_eq!(server.port(), port);
    assert!(server_info(port).starts_with("INFO {"));
    assert!(server.log_tail().contains("Server is ready"));
    // The first tries after the stop did hit the taken port.
    let log = std::fs::read_to_string(server.log_path()).unwrap();
    assert!(log.contains("address already in use"), "{log}");
}

#[test]
fn two_servers_get_different_ports_and_dirs() {
    let a = NatsServer::start().unwrap();
    let b = NatsServer::start().unwrap();
    let ports = [a.port(), a.monitor_port(), b.port(), b.monitor_port()];
    for (i, p) in ports.iter().enumerate() {
        assert!(!ports[i + 1..].contains(p), "port {p} used twice: {ports:?}");
    }
    assert_ne!(a.store_dir(), b.store_dir());
    assert_ne!(a.url(), b.url());
    assert!(connect(a.port()).is_ok());
    assert!(connect(b.port()).is_ok());
}

#[test]
fn drop_kills_the_process_and_removes_the_temp_dir() {
    let mut server = NatsServer::start().unwrap();
    let pid = server.pid().unwrap();
    let port = server.port();
    let dir = server.temp_dir().to_path_buf();
    assert!(process_exists(pid));
    assert!(server.is_running());

    drop(server);

    assert!(!process_exists(pid), "pid {pid} still alive after drop");
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert!(!dir.exists(), "{} not removed", dir.display());
    assert_eq!(connect(port).unwrap_err().kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn config_file_and_extra_args_reach_the_server() {
    // The file sets two things; the extra argument overrides one of them (flags win).
    let server = NatsServer::start_with(NatsOptions {
        config_file_text: Some("server_name: from_config\nmax_payload: 65536\n".to_owned()),
        extra_args: vec!["--server_name".to_owned(), "from_flag".to_owned()],
        ..Default::default()
    })
    .unwrap();
    assert!(server.config_path().unwrap().is_file());
    let varz = server.monitor_get("/varz").unwrap();
    assert_eq!(varz.status, 200);
    assert!(varz.body.contains("\"server_name\": \"from_flag\""), "{}", varz.body);
    assert!(varz.body.contains("\"max_payload\": 65536"), "{}", varz.body);
    assert!(server_info(server.port()).contains("\"max_payload\":65536"));
    assert!(server.jetstream_healthy());
}

/// The environment reaches the server's Go runtime, on every launch: a valid
/// memory limit is in the process's environment after a restart, and a
/// malformed one stops the start with the runtime's own complaint.
#[cfg(target_os = "linux")]
#[test]
fn environment_reaches_the_server() {
    let with = |value: &str| NatsOptions {
        env: vec![("GOMEMLIMIT".to_owned(), value.to_owned())],
        ..Default::default()
    };
    let environ = |server: &NatsServer| {
        let pid = server.pid().unwrap();
        std::fs::read(format!("/proc/{pid}/environ")).unwrap()
    };
    let has = |environ: &[u8], entry: &[u8]| environ.split(|b| *b == 0).any(|e| e == entry);
    let mut server = NatsServer::start_with(with("300MiB")).unwrap();
    assert!(has(&environ(&server), b"GOMEMLIMIT=300MiB"));
    server.restart().unwrap();
    assert!(has(&environ(&server), b"GOMEMLIMIT=300MiB"));
    assert!(server.jetstream_healthy());

    let err = NatsServer::start_with(with("three hundred")).unwrap_err();
    assert!(err.to_string().contains("malformed GOMEMLIMIT"), "{err}");
}

#[test]
fn a_server_that_cannot_start_reports_its_log() {
    let err = NatsServer::start_with(NatsOptions {
        config_file_text: Some("this is { not a valid config".to_owned()),
        ..Default::default()
    })
    .unwrap_err();
    match &err {
        TestSupportError::Exited { log_tail, .. } => {
            assert!(!log_tail.is_empty());
            assert_ne!(log_tail, "(the server wrote nothing)");
        }
        other => panic!("expected Exited, got {other:?}"),
    }
    assert!(err.to_string().contains("log tail"), "{err}");
}
