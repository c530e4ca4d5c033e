//! The connection to a gateway, and its answers turned into one-line errors.

use std::time::Duration;

use anyhow::anyhow;
use tariff_proto::v1::{self as pb, Job, scenario_service_client::ScenarioServiceClient};
use tonic::{Code, Status, Streaming, transport::Channel};
use tonic_types::StatusExt;

/// A refused or unroutable address should fail fast, not hang a script.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Unary calls answer from the job records; anything slower is a stuck gateway.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// The gateway encodes responses up to 64 MiB (large results); tonic's client
/// default of 4 MiB would refuse them.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A connected `tariff.v1.ScenarioService` client that knows its address, so
/// errors can say which gateway they came from.
#[derive(Debug, Clone)]
pub struct Gateway {
    client: ScenarioServiceClient<Channel>,
    address: String,
}

/// `HOST:PORT` means plain HTTP/2, the way gateways are usually reached inside
/// a cluster or on a laptop.
fn normalise(address: &str) -> String {
    let address = address.trim();
    if address.contains("://") { address.to_owned() } else { format!("http://{address}") }
}

/// The innermost cause of a transport error: tonic's own messages ("transport
/// error") say nothing about why.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
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
    /// Connects now rather than on the first call, so a wrong address is
    /// reported as such and not as a failed request.
    pub async fn connect(address: &str) -> anyhow::Result<Gateway> {
        let address = normalise(address);
        if address.starts_with("https://") {
            anyhow::bail!(
                "--remote {address}: TLS is not supported by this build; use http:// (or a TLS-terminating proxy)"
            );
        }
        let endpoint = Channel::from_shared(address.clone())
            .map_err(|e| {
                anyhow!(
                    "--remote `{address}` is not an address (expected HOST:PORT or http://HOST:PORT): {e}"
                )
            })?
            .connect_timeout(CONNECT_TIMEOUT);
        let channel = match tokio::time::timeout(CONNECT_TIMEOUT, endpoint.connect()).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(e)) => anyhow::bail!("cannot connect to the gateway at {address}: {}", root_cause(&e)),
            Err(_) => anyhow::bail!(
                "cannot connect to the gateway at {address}: no answer within {}s",
                CONNECT_TIMEOUT.as_secs()
            ),
        };
        let client = ScenarioServiceClient::new(channel).max_decoding_message_size(MAX_RESPONSE_BYTES);
        Ok(Gateway { client, address })
    }

    pub async fn submit(
        &mut self,
        scenario: pb::Scenario,
        idempotency_key: &str,
    ) -> anyhow::Result<pb::SubmitScenarioResponse> {
        let request = unary(pb::SubmitScenarioRequest {
            scenario: Some(scenario),
            idempotency_key: idempotency_key.to_owned(),
        });
        self.client
            .submit_scenario(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| self.error(&s))
    }

    pub async fn get(&mut self, job_id: &str) -> anyhow::Result<Job> {
        let request = unary(pb::GetJobRequest { job_id: job_id.to_owned() });
        self.client.get_job(request).await.map(tonic::Response::into_inner).map_err(|s| self.error(&s))
    }

    pub async fn cancel(&mut self, job_id: &str) -> anyhow::Result<Job> {
        let request = unary(pb::CancelJobRequest { job_id: job_id.to_owned() });
        self.client.cancel_job(request).await.map(tonic::Response::into_inner).map_err(|s| self.error(&s))
    }

    /// Opens the job's event stream. No deadline on the call: the caller
    /// bounds the whole wait, and a deadline would cut a long job's stream.
    pub async fn watch(&mut self, job_id: &str) -> Result<Streaming<Job>, Status> {
        let request = tonic::Request::new(pb::WatchJobRequest { job_id: job_id.to_owned() });
        self.client.watch_job(request).await.map(tonic::Response::into_inner)
    }

    /// A gRPC status as one line for people: field violations spelled out,
    /// the codes a user can act on explained.
    pub fn error(&self, status: &Status) -> anyhow::Error {
        let message = one_line(status.message());
        let address = &self.address;
        let head = match status.code() {
            Code::InvalidArgument => match status.get_details_bad_request() {
                Some(bad) if !bad.field_violations.is_empty() => {
                    let violations: Vec<String> = bad
                        .field_violations
                        .iter()
                        .map(|v| one_line(&format!("{}: {}", v.field, v.description)))
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
            code => code.description().to_owned(),
        };
        if message.is_empty() { anyhow!(head) } else { anyhow!("{head}: {message}") }
    }
}

fn unary<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(CALL_TIMEOUT);
    request
}
