//! The connection to a gateway, and its answers turned into one-line errors.

use std::{error::Error as _, time::Duration};

use anyhow::anyhow;
use tariff_proto::v1::{self as pb, Job, scenario_service_client::ScenarioServiceClient};
use tonic::{Code, Status, Streaming, transport::Channel};
use tonic_types::StatusExt;

use super::{
    credentials::{Credentials, TOKEN_ENV, Token},
    handshake, tls,
};

/// A refused or unroutable address should fail fast, not hang a script.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Unary calls answer from the job records; anything slower is a stuck gateway.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// The gateway encodes responses up to 1 GiB (the SUMMARY of a product-level
/// result is hundreds of megabytes); tonic's client default of 4 MiB would refuse them.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024 * 1024;

/// A connected `tariff.v1.ScenarioService` client that knows its address, so
/// errors can say which gateway they came from, and the token every call
/// carries (its `Debug` is redacted).
#[derive(Debug, Clone)]
pub struct Gateway {
    client: ScenarioServiceClient<Channel>,
    address: String,
    token: Option<Token>,
    /// TLS (https), and the files of it if any were given: the probe that
    /// explains a broken TLS connection needs them.
    secure: bool,
    tls: Option<tls::ClientTls>,
}

/// The URL to dial and whether it is TLS. `HOST:PORT` means plain HTTP/2, the
/// way gateways are usually reached inside a cluster or on a laptop, unless
/// TLS files are given: then it means https.
fn normalise(address: &str, tls_files: Option<&tls::ClientTls>) -> anyhow::Result<(String, bool)> {
    let address = address.trim();
    let Some((scheme, _)) = address.split_once("://") else {
        let scheme = if tls_files.is_some() { "https" } else { "http" };
        return Ok((format!("{scheme}://{address}"), tls_files.is_some()));
    };
    match (scheme.to_ascii_lowercase().as_str(), tls_files) {
        ("https", _) => Ok((address.to_owned(), true)),
        ("http", None) => Ok((address.to_owned(), false)),
        ("http", Some(files)) => anyhow::bail!(
            "--remote {address} is plain text, but {} asks for TLS: use https:// (or HOST:PORT)",
            files.files()
        ),
        _ => anyhow::bail!(
            "--remote `{address}` is not an address (expected HOST:PORT, http://HOST:PORT or https://HOST:PORT)"
        ),
    }
}

/// The innermost cause of a transport error: tonic's own messages ("transport
/// error") say nothing about why.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    if let Some(failure) = handshake::handshake_failure(error) {
        return format!("TLS handshake failed: {failure}");
    }
    let mut cause = error;
    while let Some(next) = cause.source() {
        if let Some(io) = next.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "connection refused (is the gateway running?)".to_owned()
                }
                std::io::ErrorKind::TimedOut => format!("timed out after {}s", CONNECT_TIMEOUT.as_secs()),
                _ => io.to_string(),
            };
        }
        cause = next;
    }
    cause.to_string()
}

/// Keeps an error message on the one line the CLI promises.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Gateway {
    /// Connects now rather than on the first call, so a wrong address or a
    /// refused TLS handshake is reported as such and not as a failed request.
    pub async fn connect(address: &str, credentials: Credentials) -> anyhow::Result<Gateway> {
        let (address, secure) = normalise(address, credentials.tls.as_ref())?;
        let mut endpoint = Channel::from_shared(address.clone())
            .map_err(|e| {
                anyhow!(
                    "--remote `{address}` is not an address (expected HOST:PORT, http://HOST:PORT or https://HOST:PORT): {e}"
                )
            })?
            .connect_timeout(CONNECT_TIMEOUT);
        if secure {
            endpoint = endpoint.tls_config(tls::config(credentials.tls.as_ref())).map_err(|e| {
                let what = credentials.tls.as_ref().map_or_else(|| "TLS".to_owned(), tls::ClientTls::files);
                anyhow!("{what} cannot be used for {address}: {}", root_cause(&e))
            })?;
        }
        let channel = match tokio::time::timeout(CONNECT_TIMEOUT, endpoint.connect()).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(e)) => anyhow::bail!("cannot connect to the gateway at {address}: {}", root_cause(&e)),
            Err(_) => anyhow::bail!(
                "cannot connect to the gateway at {address}: no answer within {}s",
                CONNECT_TIMEOUT.as_secs()
            ),
        };
        let client = ScenarioServiceClient::new(channel).max_decoding_message_size(MAX_RESPONSE_BYTES);
        Ok(Gateway { client, address, token: credentials.token, secure, tls: credentials.tls })
    }

    pub async fn submit(
        &mut self,
        scenario: pb::Scenario,
        idempotency_key: &str,
        view: Option<pb::ResultOptions>,
    ) -> anyhow::Result<pb::SubmitScenarioResponse> {
        let request = self.request(
            pb::SubmitScenarioRequest {
                scenario: Some(scenario),
                idempotency_key: idempotency_key.to_owned(),
                view,
            },
            Some(CALL_TIMEOUT),
        );
        self.client
            .submit_scenario(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| self.error(&s))
    }

    pub async fn get(&mut self, job_id: &str) -> anyhow::Result<Job> {
        let request = self.request(
            pb::GetJobRequest { job_id: job_id.to_owned(), ..Default::default() },
            Some(CALL_TIMEOUT),
        );
        self.client.get_job(request).await.map(tonic::Response::into_inner).map_err(|s| self.error(&s))
    }

    pub async fn cancel(&mut self, job_id: &str) -> anyhow::Result<Job> {
        let request = self.request(pb::CancelJobRequest { job_id: job_id.to_owned() }, Some(CALL_TIMEOUT));
        self.client.cancel_job(request).await.map(tonic::Response::into_inner).map_err(|s| self.error(&s))
    }

    /// Opens the job's event stream. No deadline on the call: the caller
    /// bounds the whole wait, and a deadline would cut a long job's stream.
    pub async fn watch(&mut self, job_id: &str) -> Result<Streaming<Job>, Status> {
        let request =
            self.request(pb::WatchJobRequest { job_id: job_id.to_owned(), ..Default::default() }, None);
        self.client.watch_job(request).await.map(tonic::Response::into_inner)
    }

    /// Streams an upload; no deadline beyond the caller's (large datasets take a while).
    pub async fn upload_dataset(
        &mut self,
        parts: Vec<pb::UploadDatasetRequest>,
    ) -> anyhow::Result<pb::DatasetInfo> {
        let request = self.request(tokio_stream::iter(parts), None);
        self.client.upload_dataset(request).await.map(tonic::Response::into_inner).map_err(|s| self.error(&s))
    }

    /// One page of a job's flows.
    pub async fn result_flows(
        &mut self,
        request: pb::GetResultFlowsRequest,
    ) -> anyhow::Result<pb::GetResultFlowsResponse> {
        let request = self.request(request, Some(CALL_TIMEOUT));
        self.client
            .get_result_flows(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| self.error(&s))
    }

    pub async fn list_datasets(&mut self) -> anyhow::Result<pb::ListDatasetsResponse> {
        let request = self.request(pb::ListDatasetsRequest {}, Some(CALL_TIMEOUT));
        self.client.list_datasets(request).await.map(tonic::Response::into_inner).map_err(|s| self.error(&s))
    }

    pub async fn delete_dataset(&mut self, dataset: &str) -> anyhow::Result<pb::DeleteDatasetResponse> {
        let request =
            self.request(pb::DeleteDatasetRequest { dataset: dataset.to_owned() }, Some(CALL_TIMEOUT));
        self.client.delete_dataset(request).await.map(tonic::Response::into_inner).map_err(|s| self.error(&s))
    }

    /// A request carrying the bearer token, if there is one.
    fn request<T>(&self, message: T, timeout: Option<Duration>) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(timeout) = timeout {
            request.set_timeout(timeout);
        }
        if let Some(token) = &self.token {
            request.metadata_mut().insert("authorization", token.header());
        }
        request
    }

    /// Why a TLS connection broke under a call: from the error if it says,
    /// else from a probe of the gateway (a client certificate refused once
    /// the TLS 1.3 handshake is over fails the call, not `connect`, and the
    /// call's error has lost the reason).
    fn tls_failure(&self, status: &Status) -> Option<String> {
        handshake::handshake_failure(status)
            .or_else(|| self.secure.then(|| handshake::probe(&self.address, self.tls.as_ref())).flatten())
    }

    /// A gRPC status as one line for people: field violations spelled out,
    /// the codes a user can act on explained.
    pub fn error(&self, status: &Status) -> anyhow::Error {
        let address = &self.address;
        // A status with a source is the connection failing, not the gateway
        // answering.
        let broken = status.source().is_some();
        if let Some(failure) = broken.then(|| self.tls_failure(status)).flatten() {
            return anyhow!("cannot connect to the gateway at {address}: TLS handshake failed: {failure}");
        }
        if broken && !self.secure && handshake::serves_tls(address) {
            let https = address.replacen("http://", "https://", 1);
            return anyhow!(
                "the gateway at {address} answers in TLS: use --remote {https} (with --tls-ca if a private CA signed its certificate)"
            );
        }
        if status.code() == Code::Unauthenticated {
            // The gateway's message is not repeated: another gateway might echo
            // what it was sent.
            return anyhow!(
                "the gateway at {address} refused the credentials (set {TOKEN_ENV} or --token-file)"
            );
        }
        // The token blanked out of whatever the gateway says, just in case.
        let clean = |text: &str| match &self.token {
            Some(token) => one_line(&token.redact(text)),
            None => one_line(text),
        };
        let message = if broken { root_cause(status) } else { clean(status.message()) };
        let head = match status.code() {
            Code::InvalidArgument => match status.get_details_bad_request() {
                Some(bad) if !bad.field_violations.is_empty() => {
                    let violations: Vec<String> = bad
                        .field_violations
                        .iter()
                        .map(|v| clean(&format!("{}: {}", v.field, v.description)))
                        .collect();
                    return anyhow!(violations.join("; "));
                }
                _ => "invalid argument".to_owned(),
            },
            Code::NotFound => "not found".to_owned(),
            Code::Unavailable => {
                format!("the gateway at {address} or its job queue is unreachable, retry later")
            }
            Code::DeadlineExceeded => format!("the gateway at {address} did not answer in time"),
            Code::Unimplemented => format!("{address} does not serve tariff.v1.ScenarioService"),
            Code::ResourceExhausted => "refused by the gateway (too large or too busy)".to_owned(),
            Code::Internal => format!("the gateway at {address} failed"),
            Code::Unknown | Code::Cancelled if broken => {
                format!("the connection to the gateway at {address} broke")
            }
            code => code.description().to_owned(),
        };
        if message.is_empty() { anyhow!(head) } else { anyhow!("{head}: {message}") }
    }
}
