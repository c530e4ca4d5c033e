//! TLS and mTLS at the gateway, with certificates made at test time by rcgen:
//! a client trusting the CA calls fine, a plain-text client cannot; with mTLS a
//! client needs a certificate signed by the client CA to complete a call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{net::SocketAddr, sync::Arc};

use common::{
    GatewayProcess, TestServer, endpoint, gateway_command, health, list_economies, list_with_token,
    plain_channel,
};
use scenario_gateway::{ServerOptions, TlsSettings, TokenSet};
use tariff_test_support::{Leaf, TestCa};
use tonic::{
    Code,
    transport::{Certificate, Channel, ClientTlsConfig, Identity},
};
use tonic_health::pb::health_check_response::ServingStatus;

/// A server CA, a client CA, and a server certificate.
struct Pki {
    server_ca: TestCa,
    client_ca: TestCa,
    server: Leaf,
}

impl Pki {
    fn new() -> Pki {
        let server_ca = TestCa::new("test server CA");
        let server = server_ca.server();
        Pki { server_ca, client_ca: TestCa::new("test client CA"), server }
    }

    fn tls(&self, mtls: bool) -> TlsSettings {
        let client_ca = mtls.then(|| self.client_ca.pem.clone().into_bytes());
        TlsSettings::from_pem(self.server.cert.clone(), self.server.key.clone(), client_ca).unwrap()
    }
}

/// A TLS channel trusting `ca`, presenting `identity` when given; the server
/// is named by `domain`, else by the address (so its IP SAN is checked).
async fn tls_channel(
    address: SocketAddr,
    ca: &str,
    identity: Option<&Leaf>,
    domain: Option<&str>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
    if let Some(leaf) = identity {
        tls = tls.identity(Identity::from_pem(&leaf.cert, &leaf.key));
    }
    if let Some(domain) = domain {
        tls = tls.domain_name(domain);
    }
    endpoint(format!("https://{address}")).tls_config(tls)?.connect().await
}

/// Whether a `ListEconomies` call completes over a fresh TLS connection.
async fn call_over_tls(address: SocketAddr, ca: &str, identity: Option<&Leaf>) -> Result<usize, String> {
    let channel = tls_channel(address, ca, identity, None).await.map_err(|e| format!("connect: {e:?}"))?;
    list_economies(channel, None).await.map_err(|s| format!("call: {s:?}"))
}

#[tokio::test]
async fn a_client_trusting_the_ca_calls_over_tls() {
    let pki = Pki::new();
    let server =
        TestServer::start(ServerOptions { tls: Some(pki.tls(false)), ..ServerOptions::default() }).await;
    let by_ip = tls_channel(server.address, &pki.server_ca.pem, None, None).await.unwrap();
    assert!(list_economies(by_ip.clone(), None).await.unwrap() > 0);
    assert_eq!(health(by_ip).await.unwrap(), ServingStatus::Serving);
    let by_name = tls_channel(server.address, &pki.server_ca.pem, None, Some("localhost")).await.unwrap();
    assert!(list_economies(by_name, None).await.unwrap() > 0);
}

#[tokio::test]
async fn a_plain_text_client_cannot_call_a_tls_gateway() {
    let pki = Pki::new();
    let server =
        TestServer::start(ServerOptions { tls: Some(pki.tls(false)), ..ServerOptions::default() }).await;
    let outcome = match plain_channel(server.address).await {
        Ok(channel) => list_economies(channel, None).await.map_err(|s| format!("call: {s:?}")),
        Err(e) => Err(format!("connect: {e:?}")),
    };
    assert!(outcome.is_err(), "a plain-text call went through: {outcome:?}");
}

#[tokio::test]
async fn a_client_not_trusting_the_server_ca_cannot_call() {
    let pki = Pki::new();
    let server =
        TestServer::start(ServerOptions { tls: Some(pki.tls(false)), ..ServerOptions::default() }).await;
    let other = TestCa::new("unrelated CA");
    let outcome = call_over_tls(server.address, &other.pem, None).await;
    assert!(outcome.as_ref().is_err_and(|e| e.contains("UnknownIssuer")), "{outcome:?}");
}

#[tokio::test]
async fn with_mtls_a_client_certificate_from_the_client_ca_is_needed() {
    let pki = Pki::new();
    let server =
        TestServer::start(ServerOptions { tls: Some(pki.tls(true)), ..ServerOptions::default() }).await;
    let ca = &pki.server_ca.pem;

    let trusted = pki.client_ca.client("reporting");
    assert!(call_over_tls(server.address, ca, Some(&trusted)).await.unwrap() > 0);

    let outcome = call_over_tls(server.address, ca, None).await;
    assert!(
        outcome.as_ref().is_err_and(|e| e.contains("CertificateRequired")),
        "no certificate: {outcome:?}"
    );

    let foreign = TestCa::new("another CA").client("intruder");
    let outcome = call_over_tls(server.address, ca, Some(&foreign)).await;
    assert!(outcome.as_ref().is_err_and(|e| e.contains("UnknownCA")), "another CA: {outcome:?}");

    // A certificate of the server's CA is not one of the client CA either.
    let wrong_ca = pki.server_ca.client("wrong-ca");
    let outcome = call_over_tls(server.address, ca, Some(&wrong_ca)).await;
    assert!(outcome.as_ref().is_err_and(|e| e.contains("UnknownCA")), "the server CA: {outcome:?}");

    // The gateway keeps serving trusted clients after refusing the others.
    assert!(call_over_tls(server.address, ca, Some(&trusted)).await.unwrap() > 0);
}

#[tokio::test]
async fn tokens_and_mtls_together() {
    let pki = Pki::new();
    let tokens = TokenSet::parse_lines("ops:tls-token-5a7e", "test").unwrap();
    let options =
        ServerOptions { tls: Some(pki.tls(true)), auth: Some(Arc::new(tokens)), ..ServerOptions::default() };
    let server = TestServer::start(options).await;
    let client = pki.client_ca.client("reporting");
    let channel = tls_channel(server.address, &pki.server_ca.pem, Some(&client), None).await.unwrap();
    let status = list_economies(channel.clone(), None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(list_with_token(channel.clone(), "tls-token-5a7e").await.unwrap() > 0);
    assert_eq!(health(channel).await.unwrap(), ServingStatus::Serving);
}

/// The binary with `--tls-cert`, `--tls-key` and `--tls-client-ca` files.
#[tokio::test]
async fn the_binary_serves_mtls_from_files() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let (cert, key, client_ca) = (
        write("server.pem", &pki.server.cert),
        write("server.key", &pki.server.key),
        write("ca.pem", &pki.client_ca.pem),
    );
    let gateway = GatewayProcess::start(
        &["--tls-cert", &cert, "--tls-key", &key],
        &[("TARIFF_TLS_CLIENT_CA", &client_ca)],
    );
    let ca = &pki.server_ca.pem;
    let trusted = pki.client_ca.client("reporting");
    assert!(call_over_tls(gateway.address, ca, Some(&trusted)).await.unwrap() > 0);
    assert!(call_over_tls(gateway.address, ca, None).await.is_err());
    let logs = gateway.stop();
    assert!(logs.contains("\"tls\":\"on\",\"mtls\":\"on\""), "{logs}");
    assert!(!logs.contains("PRIVATE KEY"), "{logs}");
}

#[test]
fn unreadable_tls_files_stop_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let output = gateway_command(
        &["--embedded", "--listen", "127.0.0.1:0", "--tls-cert", missing, "--tls-key", missing],
        &[],
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("cannot read TLS certificate file {missing}: ")), "{stderr}");

    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let garbage = garbage.to_str().unwrap();
    let output = gateway_command(
        &["--embedded", "--listen", "127.0.0.1:0", "--tls-cert", garbage, "--tls-key", garbage],
        &[],
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("TLS certificate file {garbage}: no PEM certificate")), "{stderr}");
}
