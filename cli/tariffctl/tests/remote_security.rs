//! The remote commands against a gateway that wants a bearer token, TLS or
//! mTLS: the `tariffctl` binary against a real gateway served in process on
//! 127.0.0.1:0, with certificates made at test time by rcgen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    path::{Path, PathBuf},
    process::Output,
    sync::Arc,
};

use common::{TestGateway, assert_one_line_error, scenario, stdout, tariffctl, tariffctl_with};
use scenario_gateway::{ServerOptions, TlsSettings, TokenSet};
use tariff_proto::{
    json::from_json,
    v1::{Job, JobState, ScenarioResult},
};
use tariff_test_support::{Leaf, TestCa};

const TOKEN: &str = "s3cret-tariffctl-9c1e77a4";
const WRONG_TOKEN: &str = "wrong-s3cret-5d20b1";

/// A gateway that wants the bearer token.
fn with_token() -> TestGateway {
    let tokens = TokenSet::parse_lines(&format!("ci-bot:{TOKEN}\n"), "test").unwrap();
    TestGateway::start(ServerOptions { auth: Some(Arc::new(tokens)), ..ServerOptions::default() })
}

/// A gateway serving TLS (mTLS when the settings ask for client certificates).
fn with_tls(tls: TlsSettings) -> TestGateway {
    TestGateway::start(ServerOptions { tls: Some(tls), ..ServerOptions::default() })
}

/// Neither the token nor the wrong one reaches stdout or stderr.
fn assert_no_token(out: &Output) {
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        for secret in [TOKEN, WRONG_TOKEN, "s3cret"] {
            assert!(!text.contains(secret), "a token was printed: {text}");
        }
    }
}

fn local_result(file: &str) -> ScenarioResult {
    from_json(&stdout(&tariffctl(&["run", file, "--format", "json"]))).unwrap()
}

/// Writes `text` to `name` in `dir`, returning the path as a string.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn without_a_token_the_gateway_refuses_and_says_how_to_send_one() {
    let gateway = with_token();
    let url = gateway.http();
    let file = scenario("section-232-autos-2025.json");
    let refused = ["refused the credentials", "set TARIFF_TOKEN or --token-file", &url];

    for out in [
        tariffctl(&["submit", &file, "--remote", &url]),
        tariffctl(&["get", "0123456789abcdef0123456789abcdef", "--remote", &url]),
        tariffctl(&["watch", "0123456789abcdef0123456789abcdef", "--remote", &url]),
        tariffctl(&["cancel", "0123456789abcdef0123456789abcdef", "--remote", &url]),
        tariffctl(&["run", &file, "--remote", &url]),
        tariffctl_with(&["submit", &file, "--remote", &url], &[("TARIFF_TOKEN", WRONG_TOKEN)]),
        tariffctl_with(&["get", "0123456789abcdef", "--remote", &url], &[("TARIFF_TOKEN", WRONG_TOKEN)]),
    ] {
        assert_one_line_error(&out, &refused);
        assert_no_token(&out);
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn the_token_from_the_environment_is_sent_with_every_call() {
    let gateway = with_token();
    let url = gateway.http();
    let file = scenario("section-232-autos-2025.json");
    let env = [("TARIFF_TOKEN", TOKEN)];

    let submitted = tariffctl_with(&["submit", &file, "--remote", &url], &env);
    assert_no_token(&submitted);
    let id = stdout(&submitted).trim().to_owned();
    assert_eq!(id.lines().count(), 1, "{id}");
    assert!(!id.is_empty());

    // WatchJob is a stream: it carries the token as the unary calls do.
    let watched = tariffctl_with(&["watch", &id, "--remote", &url, "--format", "json"], &env);
    assert_no_token(&watched);
    let watched: ScenarioResult = from_json(&stdout(&watched)).unwrap();
    assert_eq!(watched, local_result(&file));

    let got = tariffctl_with(&["get", &id, "--remote", &url, "--format", "json"], &env);
    assert_no_token(&got);
    let job: Job = from_json(&stdout(&got)).unwrap();
    assert_eq!(job.state(), JobState::Succeeded);

    let cancelled = tariffctl_with(&["cancel", &id, "--remote", &url], &env);
    assert_no_token(&cancelled);
    assert_eq!(stdout(&cancelled).trim(), "SUCCEEDED");

    let run =
        tariffctl_with(&["run", &file, "--remote", &gateway.address.to_string(), "--format", "json"], &env);
    assert_no_token(&run);
    assert_eq!(from_json::<ScenarioResult>(&stdout(&run)).unwrap(), watched);
}

#[test]
fn the_token_can_come_from_a_file() {
    let gateway = with_token();
    let url = gateway.http();
    let file = scenario("section-232-autos-2025.json");
    let dir = tempfile::tempdir().unwrap();
    // The gateway's tokens-file syntax: comments, blank lines, `name:token`.
    let named = write(dir.path(), "named", &format!("# for tariffctl\n\nci-bot:{TOKEN}\nother-line\n"));
    let plain = write(dir.path(), "plain", &format!("{TOKEN}\n"));

    for token_file in [&named, &plain] {
        let submitted = tariffctl(&["submit", &file, "--remote", &url, "--token-file", token_file]);
        assert_no_token(&submitted);
        let id = stdout(&submitted).trim().to_owned();
        assert!(!id.is_empty());
        let got = tariffctl(&["get", &id, "--remote", &url, "--token-file", token_file]);
        assert_no_token(&got);
        assert!(stdout(&got).contains(&format!("job       {id}")));
    }

    // The file wins over the environment.
    let out = tariffctl_with(
        &["submit", &file, "--remote", &url, "--token-file", &plain],
        &[("TARIFF_TOKEN", WRONG_TOKEN)],
    );
    assert_no_token(&out);
    assert!(!stdout(&out).trim().is_empty());

    let run = tariffctl(&["run", &file, "--remote", &url, "--token-file", &named, "--format", "json"]);
    assert_eq!(from_json::<ScenarioResult>(&stdout(&run)).unwrap(), local_result(&file));

    let wrong = write(dir.path(), "wrong", &format!("{WRONG_TOKEN}\n"));
    let out = tariffctl(&["submit", &file, "--remote", &url, "--token-file", &wrong]);
    assert_one_line_error(&out, &["refused the credentials", &url]);
    assert_no_token(&out);
}

#[test]
fn unusable_token_sources_are_named_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario("section-232-autos-2025.json");
    let missing = dir.path().join("missing").display().to_string();
    // Nothing listens on port 1: these fail before any connection.
    let out = tariffctl(&["submit", &file, "--remote", "127.0.0.1:1", "--token-file", &missing]);
    assert_one_line_error(&out, &[&format!("cannot read --token-file {missing}: ")]);

    let empty = write(dir.path(), "empty", "# nothing yet\n\n");
    let out = tariffctl(&["get", "0123456789abcdef", "--remote", "127.0.0.1:1", "--token-file", &empty]);
    assert_one_line_error(&out, &[&empty, "holds no token"]);

    let spaced = write(dir.path(), "spaced", &format!("{TOKEN} {TOKEN}\n"));
    let out = tariffctl(&["get", "0123456789abcdef", "--remote", "127.0.0.1:1", "--token-file", &spaced]);
    assert_one_line_error(&out, &[&spaced, "line 1", "printable ASCII"]);
    assert_no_token(&out);

    let out = tariffctl_with(
        &["get", "0123456789abcdef", "--remote", "127.0.0.1:1"],
        &[("TARIFF_TOKEN", &format!("{TOKEN} x"))],
    );
    assert_one_line_error(&out, &["TARIFF_TOKEN", "printable ASCII"]);
    assert_no_token(&out);
}

#[test]
fn debug_output_of_the_arguments_never_holds_the_token() {
    // clap's own error output quotes arguments; the token is not one of them.
    let out =
        tariffctl_with(&["get", "--remote", "127.0.0.1:1", "--no-such-flag"], &[("TARIFF_TOKEN", TOKEN)]);
    assert!(!out.status.success());
    assert_no_token(&out);
    let help = tariffctl_with(&["submit", "--help"], &[("TARIFF_TOKEN", TOKEN)]);
    let help = stdout(&help);
    assert!(help.contains("TARIFF_TOKEN") && help.contains("--token-file"), "{help}");
    assert!(!help.contains(TOKEN), "{help}");
}

/// A server CA and certificate, a client CA, and their PEM files on disk.
struct Pki {
    server: Leaf,
    client_ca: TestCa,
    dir: tempfile::TempDir,
    /// The server CA's certificate, the file `--tls-ca` names.
    ca_file: String,
}

impl Pki {
    fn new() -> Pki {
        let server_ca = TestCa::new("test server CA");
        let dir = tempfile::tempdir().unwrap();
        let ca_file = write(dir.path(), "ca.pem", &server_ca.pem);
        Pki { server: server_ca.server(), client_ca: TestCa::new("test client CA"), dir, ca_file }
    }

    fn tls(&self, mtls: bool) -> TlsSettings {
        let client_ca = mtls.then(|| self.client_ca.pem.clone().into_bytes());
        TlsSettings::from_pem(self.server.cert.clone(), self.server.key.clone(), client_ca).unwrap()
    }

    /// `leaf` written as NAME.pem and NAME.key: (cert path, key path).
    fn files(&self, name: &str, leaf: &Leaf) -> (String, String) {
        let dir = self.dir.path();
        (write(dir, &format!("{name}.pem"), &leaf.cert), write(dir, &format!("{name}.key"), &leaf.key))
    }
}

#[test]
fn over_tls_with_the_ca_the_result_is_exactly_the_local_one() {
    let pki = Pki::new();
    let gateway = with_tls(pki.tls(false));
    let file = scenario("section-232-autos-2025.json");
    let local = local_result(&file);

    let https = gateway.https();
    let out = tariffctl(&["run", &file, "--remote", &https, "--tls-ca", &pki.ca_file, "--format", "json"]);
    // Only the job id, nothing about TLS.
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.starts_with("job ") && said.lines().count() == 1, "{said}");
    assert_eq!(from_json::<ScenarioResult>(&stdout(&out)).unwrap(), local);

    // A bare HOST:PORT with a CA means https; the CA may come from the environment.
    let bare = gateway.address.to_string();
    let id =
        stdout(&tariffctl_with(&["submit", &file, "--remote", &bare], &[("TARIFF_TLS_CA", &pki.ca_file)]));
    let id = id.trim();
    let watched = tariffctl(&["watch", id, "--remote", &bare, "--tls-ca", &pki.ca_file, "--format", "json"]);
    assert_eq!(from_json::<ScenarioResult>(&stdout(&watched)).unwrap(), local);
    let localhost = format!("https://localhost:{}", gateway.address.port());
    let got = tariffctl(&["get", id, "--remote", &localhost, "--tls-ca", &pki.ca_file]);
    assert!(stdout(&got).contains("state     SUCCEEDED"));
}

#[test]
fn a_tls_gateway_not_trusted_or_not_spoken_to_in_tls_fails_with_one_line() {
    let pki = Pki::new();
    let gateway = with_tls(pki.tls(false));
    let file = scenario("section-232-autos-2025.json");
    let https = gateway.https();

    // No --tls-ca: the built-in public roots do not know the test CA.
    let out = tariffctl(&["run", &file, "--remote", &https]);
    assert_one_line_error(&out, &[&https, "TLS handshake failed", "unknown issuer", "--tls-ca"]);
    assert!(out.stdout.is_empty());

    // Another CA is no better.
    let other = write(pki.dir.path(), "other-ca.pem", &TestCa::new("unrelated CA").pem);
    let out = tariffctl(&["get", "0123456789abcdef", "--remote", &https, "--tls-ca", &other]);
    assert_one_line_error(&out, &[&https, "unknown issuer"]);

    // Plain text to a TLS gateway: it is told to use https.
    let out = tariffctl(&["get", "0123456789abcdef", "--remote", &gateway.http()]);
    assert_one_line_error(&out, &[&gateway.http(), "answers in TLS", &format!("--remote {https}")]);

    // http:// and a CA contradict each other.
    let out = tariffctl(&["get", "0123456789abcdef", "--remote", &gateway.http(), "--tls-ca", &pki.ca_file]);
    assert_one_line_error(&out, &["plain text", "--tls-ca", "https://"]);
}

#[test]
fn tls_to_a_plain_text_gateway_fails_with_one_line() {
    let pki = Pki::new();
    let gateway = TestGateway::start(ServerOptions::default());
    let https = gateway.https();
    let out = tariffctl(&["get", "0123456789abcdef", "--remote", &https, "--tls-ca", &pki.ca_file]);
    assert_one_line_error(&out, &[&https, "TLS", "http://"]);
}

#[test]
fn unusable_tls_files_are_named() {
    let pki = Pki::new();
    let dir = pki.dir.path();
    let missing = dir.join("missing.pem").display().to_string();
    let garbage = write(dir, "garbage.pem", "not a certificate\n");
    let (cert, key) = pki.files("client", &pki.client_ca.client("reporting"));
    let get = |extra: &[&str]| {
        let mut args = vec!["get", "0123456789abcdef", "--remote", "127.0.0.1:1"];
        args.extend_from_slice(extra);
        tariffctl(&args)
    };
    assert_one_line_error(&get(&["--tls-ca", &missing]), &[&format!("cannot read --tls-ca {missing}: ")]);
    assert_one_line_error(
        &get(&["--tls-ca", &garbage]),
        &[&format!("--tls-ca {garbage}: no PEM certificate")],
    );
    assert_one_line_error(&get(&["--tls-cert", &cert]), &[&cert, "--tls-key"]);
    assert_one_line_error(&get(&["--tls-key", &key]), &[&key, "--tls-cert"]);
    assert_one_line_error(
        &get(&["--tls-cert", &cert, "--tls-key", &missing]),
        &[&format!("cannot read --tls-key {missing}: ")],
    );
    assert_one_line_error(
        &get(&["--tls-cert", &cert, "--tls-key", &cert]),
        &[&format!("--tls-key {cert}: no usable PEM private key")],
    );
    let out = get(&["--tls-cert", &key, "--tls-key", &key]);
    assert_one_line_error(&out, &[&format!("--tls-cert {key}: no PEM certificate")]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("PRIVATE KEY"));
}

#[test]
fn with_mtls_the_client_certificate_opens_the_gateway() {
    let pki = Pki::new();
    let gateway = with_tls(pki.tls(true));
    let file = scenario("section-232-autos-2025.json");
    let https = gateway.https();
    let (cert, key) = pki.files("client", &pki.client_ca.client("reporting"));

    let out = tariffctl(&[
        "run",
        &file,
        "--remote",
        &https,
        "--tls-ca",
        &pki.ca_file,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--format",
        "json",
    ]);
    assert_eq!(from_json::<ScenarioResult>(&stdout(&out)).unwrap(), local_result(&file));

    // The same from the environment, for every command.
    let env = [("TARIFF_TLS_CA", pki.ca_file.as_str()), ("TARIFF_TLS_CERT", &cert), ("TARIFF_TLS_KEY", &key)];
    let id = stdout(&tariffctl_with(&["submit", &file, "--remote", &https], &env)).trim().to_owned();
    stdout(&tariffctl_with(&["watch", &id, "--remote", &https], &env));
    assert_eq!(stdout(&tariffctl_with(&["cancel", &id, "--remote", &https], &env)).trim(), "SUCCEEDED");

    // No client certificate.
    let out = tariffctl(&["run", &file, "--remote", &https, "--tls-ca", &pki.ca_file]);
    assert_one_line_error(&out, &[&https, "TLS handshake failed", "certificate required", "--tls-cert"]);
    let out = tariffctl(&["get", &id, "--remote", &https, "--tls-ca", &pki.ca_file]);
    assert_one_line_error(&out, &[&https, "certificate required"]);

    // A certificate the gateway's client CA did not sign.
    let (foreign_cert, foreign_key) = pki.files("foreign", &TestCa::new("another CA").client("intruder"));
    let out = tariffctl(&[
        "get",
        &id,
        "--remote",
        &https,
        "--tls-ca",
        &pki.ca_file,
        "--tls-cert",
        &foreign_cert,
        "--tls-key",
        &foreign_key,
    ]);
    assert_one_line_error(&out, &[&https, "TLS handshake failed", "unknown CA"]);
}

#[test]
fn token_and_mtls_together() {
    let pki = Pki::new();
    let tokens = TokenSet::parse_lines(&format!("ops:{TOKEN}"), "test").unwrap();
    let gateway = TestGateway::start(ServerOptions {
        tls: Some(pki.tls(true)),
        auth: Some(Arc::new(tokens)),
        ..ServerOptions::default()
    });
    let file = scenario("section-232-autos-2025.json");
    let bare = gateway.address.to_string();
    let (cert, key) = pki.files("client", &pki.client_ca.client("reporting"));
    let tls = ["--tls-ca", pki.ca_file.as_str(), "--tls-cert", &cert, "--tls-key", &key];

    let mut args = vec!["submit", &file, "--remote", &bare];
    args.extend_from_slice(&tls);
    let out = tariffctl(&args);
    assert_one_line_error(&out, &["refused the credentials", &format!("https://{bare}")]);

    let out = tariffctl_with(&args, &[("TARIFF_TOKEN", TOKEN)]);
    assert_no_token(&out);
    let id = stdout(&out).trim().to_owned();
    let mut args = vec!["watch", &id, "--remote", &bare, "--format", "json"];
    args.extend_from_slice(&tls);
    let out = tariffctl_with(&args, &[("TARIFF_TOKEN", TOKEN)]);
    assert_no_token(&out);
    assert_eq!(from_json::<ScenarioResult>(&stdout(&out)).unwrap(), local_result(&file));
}
