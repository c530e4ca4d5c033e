//! The scenario gateway as a client sees it: the scenario file to send, the
//! connection, and one call carried to the job's end in one of the three modes.

use std::{
    path::Path,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use clap::ValueEnum;
use prost::Message;
use serde::Serialize;
use tariff_proto::v1::{self as pb, scenario_service_client::ScenarioServiceClient};
use tonic::transport::{Channel, Endpoint};

use crate::drive::REQUEST_TIMEOUT;

/// The gateway's client, and the same channel for RunScenario answered as [`RunAnswer`].
#[derive(Debug, Clone)]
pub struct Client {
    scenarios: ScenarioServiceClient<Channel>,
    grpc: tonic::client::Grpc<Channel>,
}

/// `RunScenarioResponse` with its result left encoded. Decoding the 26 KB
/// SUMMARY was 44% of the load generator's CPU, which shares the machine with
/// the processes measured; the figures themselves are the tests' to check.
/// One answer in [`DECODE_EVERY`] is decoded whole, so a broken result still
/// fails the run.
#[derive(Clone, PartialEq, Message)]
struct RunAnswer {
    #[prost(string, tag = "1")]
    job_id: String,
    #[prost(bytes = "bytes", tag = "2")]
    result: Bytes,
}

const DECODE_EVERY: u64 = 64;

static ANSWERS: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// RunScenario: submit and wait in one call.
    Run,
    /// SubmitScenario, then WatchJob until the job ends.
    Submit,
    /// SubmitScenario, then GetJob every 2 ms until the job ends (no watch consumer).
    Poll,
}

impl Mode {
    /// The name of a step driven in this mode: `run`, `submit` or `poll`.
    pub fn step_name(self) -> String {
        format!("{self:?}").to_lowercase()
    }
}

/// The result view the calls ask for.
#[derive(Debug, Clone, Copy, Default, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// None named: the service's default (FULL up to 20,000 flows).
    #[default]
    Service,
    /// Every flow.
    Full,
    /// Sectors and economies, no flows.
    Summary,
}

impl View {
    fn options(self) -> Option<pb::ResultOptions> {
        let view = match self {
            View::Service => return None,
            View::Full => pb::ResultView::Full,
            View::Summary => pb::ResultView::Summary,
        };
        Some(pb::ResultOptions { view: view.into(), ..Default::default() })
    }
}

/// What each call sends: the scenario and the view.
#[derive(Debug, Clone)]
pub struct Load {
    pub scenario: pb::Scenario,
    pub view: Option<pb::ResultOptions>,
}

pub fn load_scenario(path: &Path, view: View) -> anyhow::Result<Load> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let format = if path.extension().is_some_and(|e| e == "toml") {
        tariff_scenario::ScenarioFormat::Toml
    } else {
        tariff_scenario::ScenarioFormat::Json
    };
    let scenario =
        tariff_scenario::parse_scenario(&text, format).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok(Load { scenario, view: view.options() })
}

pub async fn connect_gateway(addr: &str) -> anyhow::Result<Client> {
    let uri = if addr.contains("://") { addr.to_owned() } else { format!("http://{addr}") };
    let channel = Endpoint::from_shared(uri)?.connect_timeout(Duration::from_secs(5)).connect().await?;
    let grpc = tonic::client::Grpc::new(channel.clone()).max_decoding_message_size(64 << 20);
    Ok(Client { scenarios: ScenarioServiceClient::new(channel).max_decoding_message_size(64 << 20), grpc })
}

/// RunScenario, its result checked for presence (and decoded one time in [`DECODE_EVERY`]).
async fn run(client: &mut Client, request: pb::RunScenarioRequest) -> anyhow::Result<()> {
    client.grpc.ready().await.map_err(|e| anyhow!("the gateway is not ready: {e}"))?;
    let path = http::uri::PathAndQuery::from_static("/tariff.v1.ScenarioService/RunScenario");
    let codec = tonic_prost::ProstCodec::<pb::RunScenarioRequest, RunAnswer>::default();
    let answer = client.grpc.unary(tonic::Request::new(request), path, codec).await?.into_inner();
    if answer.result.is_empty() {
        bail!("job {} answered without a result", answer.job_id);
    }
    if ANSWERS.fetch_add(1, Ordering::Relaxed).is_multiple_of(DECODE_EVERY) {
        pb::ScenarioResult::decode(answer.result)
            .with_context(|| format!("job {}: the result does not decode", answer.job_id))?;
    }
    Ok(())
}

/// One scenario through the gateway, to its end.
pub async fn one_call(client: &mut Client, mode: Mode, load: &Load) -> anyhow::Result<()> {
    let call = async {
        match mode {
            Mode::Run => {
                let request = pb::RunScenarioRequest {
                    scenario: Some(load.scenario.clone()),
                    view: load.view.clone(),
                    ..Default::default()
                };
                run(client, request).await?;
            }
            Mode::Poll => {
                let job_id = submit(client, load).await?;
                loop {
                    let job = client
                        .scenarios
                        .get_job(pb::GetJobRequest { job_id: job_id.clone(), ..Default::default() })
                        .await?
                        .into_inner();
                    if succeeded(&job_id, &job)? {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            Mode::Submit => {
                let job_id = submit(client, load).await?;
                let mut updates = client
                    .scenarios
                    .watch_job(pb::WatchJobRequest { job_id: job_id.clone(), ..Default::default() })
                    .await?
                    .into_inner();
                loop {
                    let Some(job) = updates.message().await? else {
                        bail!("job {job_id}: watch ended before the job did");
                    };
                    if succeeded(&job_id, &job)? {
                        break;
                    }
                }
            }
        }
        Ok(())
    };
    tokio::time::timeout(REQUEST_TIMEOUT, call)
        .await
        .map_err(|_| anyhow!("no answer within {REQUEST_TIMEOUT:?}"))?
}

/// SubmitScenario; the new job's id.
async fn submit(client: &mut Client, load: &Load) -> anyhow::Result<String> {
    let request = pb::SubmitScenarioRequest {
        scenario: Some(load.scenario.clone()),
        view: load.view.clone(),
        ..Default::default()
    };
    Ok(client.scenarios.submit_scenario(request).await?.into_inner().job_id)
}

/// Whether job `job_id` has succeeded: an error if it failed or was cancelled,
/// `false` while it has not ended.
fn succeeded(job_id: &str, job: &pb::Job) -> anyhow::Result<bool> {
    match pb::JobState::try_from(job.state) {
        Ok(pb::JobState::Succeeded) => Ok(true),
        Ok(pb::JobState::Failed | pb::JobState::Cancelled) => {
            bail!("job {job_id} ended {:?}: {:?}", job.state, job.error)
        }
        _ => Ok(false),
    }
}
