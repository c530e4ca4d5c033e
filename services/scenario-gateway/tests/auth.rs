//! Bearer tokens at the gateway, with real servers and tonic clients: without a
//! valid token a scenario call is UNAUTHENTICATED, health and (by default)
//! reflection stay open, and no token reaches a log line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    io,
    sync::{Arc, Mutex},
};

use common::{
    GatewayProcess, TestServer, gateway_command, health, list_economies, list_with_token, plain_channel,
};
use scenario_gateway::{ServerOptions, TokenSet, load_tokens};
use tonic::{Code, Request, transport::Channel};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest,
};

const FILE_TOKEN: &str = "file-token-3f9a1c7e";
const NAMED_FILE_TOKEN: &str = "named-file-token-b52d90";
const ENV_TOKEN: &str = "env-token-6e0f44aa";
const NAMED_ENV_TOKEN: &str = "named-env-token-91c3d2";
const WRONG_TOKEN: &str = "wrong-token-00d1e5f7";

/// Tokens from a file (a plain one and a `name:token` one, with comments and
/// blank lines) and from the environment syntax.
fn tokens() -> Arc<TokenSet> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens");
    std::fs::write(&path, format!("# gateway tokens\n\n{FILE_TOKEN}\nci-bot:{NAMED_FILE_TOKEN}\n")).unwrap();
    let list = format!("{ENV_TOKEN}, dashboard:{NAMED_ENV_TOKEN}");
    let tokens = load_tokens(Some(&path), Some(&list)).unwrap().unwrap();
    assert_eq!(tokens.len(), 4);
    Arc::new(tokens)
}

async fn gateway_with_tokens(auth_reflection: bool) -> (TestServer, Channel) {
    let options = ServerOptions { auth: Some(tokens()), auth_reflection, ..ServerOptions::default() };
    let server = TestServer::start(options).await;
    let channel = plain_channel(server.address).await.unwrap();
    (server, channel)
}

#[tokio::test]
async fn without_a_valid_token_calls_are_unauthenticated() {
    let (_server, channel) = gateway_with_tokens(false).await;
    for authorization in [
        None,
        Some(format!("Bearer {WRONG_TOKEN}")),
        Some("Bearer ".to_owned()),
        Some(format!("Bearer {}", &FILE_TOKEN[..FILE_TOKEN.len() - 1])),
        Some(format!("Bearer {FILE_TOKEN}x")),
        Some(format!("Basic {FILE_TOKEN}")),
        Some(format!("Bearer ci-bot:{NAMED_FILE_TOKEN}")),
    ] {
        let status = list_economies(channel.clone(), authorization.as_deref()).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{authorization:?}: {status:?}");
        for token in [WRONG_TOKEN, FILE_TOKEN, NAMED_FILE_TOKEN] {
            assert!(!status.message().contains(token), "the status echoes a token: {status:?}");
        }
    }
}

#[tokio::test]
async fn every_configured_token_is_accepted() {
    let (_server, channel) = gateway_with_tokens(false).await;
    for token in [FILE_TOKEN, NAMED_FILE_TOKEN, ENV_TOKEN, NAMED_ENV_TOKEN] {
        let economies = list_with_token(channel.clone(), token).await.unwrap();
        assert!(economies > 0, "{token}");
    }
    // The scheme is case-insensitive (RFC 7235).
    assert!(list_economies(channel, Some(&format!("bearer {ENV_TOKEN}"))).await.is_ok());
}

#[tokio::test]
async fn health_needs_no_token() {
    let (_server, channel) = gateway_with_tokens(true).await;
    assert_eq!(health(channel).await.unwrap(), ServingStatus::Serving);
}

async fn list_services(channel: Channel, token: Option<&str>) -> Result<(), tonic::Status> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut request = Request::new(tokio_stream::iter([request]));
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let mut responses =
        ServerReflectionClient::new(channel).server_reflection_info(request).await?.into_inner();
    responses.message().await?.expect("a reflection response");
    Ok(())
}

#[tokio::test]
async fn reflection_is_open_unless_asked_otherwise() {
    let (_open, channel) = gateway_with_tokens(false).await;
    list_services(channel, None).await.unwrap();

    let (_closed, channel) = gateway_with_tokens(true).await;
    let status = list_services(channel.clone(), None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    list_services(channel, Some(NAMED_ENV_TOKEN)).await.unwrap();
}

#[tokio::test]
async fn without_tokens_everything_is_open() {
    let server = TestServer::start(ServerOptions::default()).await;
    let channel = plain_channel(server.address).await.unwrap();
    assert!(list_economies(channel, None).await.unwrap() > 0);
}

/// Log lines written into memory for the test's own subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

const ALL_TOKENS: [&str; 5] = [FILE_TOKEN, NAMED_FILE_TOKEN, ENV_TOKEN, NAMED_ENV_TOKEN, WRONG_TOKEN];

/// Everything logged at every level, from the gateway, tonic, hyper and h2 in
/// this process (server and client), while calls with right and wrong tokens
/// are made; the default current-thread runtime keeps the server's tasks on
/// this thread, under the subscriber set here.
#[tokio::test]
async fn tokens_appear_in_no_log_line() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (_server, channel) = gateway_with_tokens(true).await;
    for token in ALL_TOKENS {
        let _ = list_with_token(channel.clone(), token).await;
        let _ = list_economies(channel.clone(), Some(token)).await;
        let _ = list_services(channel.clone(), Some(token)).await;
    }
    let _ = list_economies(channel.clone(), None).await;
    let _ = format!("{:?}", tokens());

    let logs = captured.text();
    for token in ALL_TOKENS {
        assert!(!logs.contains(token), "token {token} logged:\n{logs}");
    }
    // The lines that would carry a token are there, so the test can fail; and
    // the server's HTTP/2 internals were traced too.
    // (HTTP/2 frame traces carry their `Connection{peer=..}` span only when the
    // connection task was polled under this thread's subscriber: not asserted.)
    // (`h2::frame::headers` traces its decoding only on some schedules, which
    // made this flaky under load; every HEADERS frame sent or read is traced.)
    assert!(logs.contains("TRACE h2::") && logs.contains("frame=Headers"), "{logs}");
    assert!(logs.contains("gateway security") && logs.contains("auth=\"on\" tokens=4"), "{logs}");
    assert!(logs.contains("auth: call authenticated") && logs.contains("client=\"ci-bot\""), "{logs}");
    assert!(logs.contains("client=\"tokens-file:3\""), "{logs}");
    assert!(logs.contains("auth: call refused (UNAUTHENTICATED)"), "{logs}");
    assert!(logs.contains("reason=\"unknown bearer token\""), "{logs}");
    assert!(logs.contains("reason=\"no authorization header\""), "{logs}");
}

/// The binary end to end: tokens from `--tokens-file` and `TARIFF_TOKENS`, and
/// its logs (JSON, every level) free of them.
#[tokio::test]
async fn the_binary_reads_tokens_from_file_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens");
    std::fs::write(&path, format!("{FILE_TOKEN}\n# comment\n\nci-bot:{NAMED_FILE_TOKEN}\n")).unwrap();
    let list = format!("{ENV_TOKEN},dashboard:{NAMED_ENV_TOKEN}");
    let gateway = GatewayProcess::start(
        &["--tokens-file", path.to_str().unwrap()],
        &[("TARIFF_TOKENS", &list), ("TARIFF_LOG", "trace")],
    );
    let channel = plain_channel(gateway.address).await.unwrap();
    for token in [FILE_TOKEN, NAMED_FILE_TOKEN, ENV_TOKEN, NAMED_ENV_TOKEN] {
        list_with_token(channel.clone(), token).await.unwrap();
    }
    let status = list_with_token(channel.clone(), WRONG_TOKEN).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(list_economies(channel.clone(), None).await.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(health(channel).await.unwrap(), ServingStatus::Serving);

    let logs = gateway.stop();
    for token in ALL_TOKENS {
        assert!(!logs.contains(token), "token {token} logged:\n{logs}");
    }
    assert!(logs.contains("\"auth\":\"on\",\"tokens\":4"), "{logs}");
    assert!(logs.contains("bearer tokens travel in clear text"), "{logs}");
    assert!(logs.contains("auth: call refused (UNAUTHENTICATED)"), "{logs}");
}

#[test]
fn an_unreadable_tokens_file_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing-tokens");
    let output = gateway_command(
        &["--embedded", "--listen", "127.0.0.1:0", "--tokens-file", missing.to_str().unwrap()],
        &[],
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("cannot read tokens file {}: ", missing.display())), "{stderr}");

    let empty = dir.path().join("empty-tokens");
    std::fs::write(&empty, "# nothing yet\n\n").unwrap();
    let output = gateway_command(
        &["--embedded", "--listen", "127.0.0.1:0", "--tokens-file", empty.to_str().unwrap()],
        &[],
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("tokens file {} holds no tokens", empty.display())), "{stderr}");
}
