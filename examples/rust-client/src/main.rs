//! `tariff-example-client`: the scenario service's gRPC API from Rust, in the
//! order a client meets it.
//!
//! 1. Connect a tonic `ScenarioServiceClient` (generated in `tariff-proto`) to a
//!    gateway, with an interceptor that puts the bearer token on every call when
//!    `TARIFF_TOKEN` is set.
//! 2. `SubmitScenario`: queue a scenario, read from a proto3 JSON file (those
//!    under `scenarios/`) or built in code, and get a job id back at once.
//! 3. `WatchJob`: a server stream of the job's state and progress, printed as
//!    it arrives, until the job ends.
//! 4. `GetJob`: fetch the finished job's result and print a short summary:
//!    welfare by economy and the sectors whose trade moved most.
//!
//! Any failure (unreachable gateway, refused request, failed job) ends the
//! program with a one-line error and exit status 1. It speaks plain HTTP/2
//! only, as the embedded gateway does; `tariffctl --remote` shows TLS.
//!
//! ```sh
//! cargo run -p scenario-gateway -- --embedded &        # listens on 127.0.0.1:50051
//! cargo run -p tariff-example-client                   # a 20% US tariff built in code
//! cargo run -p tariff-example-client -- --scenario scenarios/japan-20.json
//! ```

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::{Context, anyhow, bail};
use clap::Parser;
use tariff_proto::v1::{
    self as pb, JobState, ResultView, measure::Mode, scenario_service_client::ScenarioServiceClient,
};
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint},
};

/// Submit a tariff scenario to a gateway, watch it run, print its result.
#[derive(Debug, Parser)]
#[command(name = "tariff-example-client")]
struct Args {
    /// The gateway, as http://HOST:PORT (or HOST:PORT).
    #[arg(long, env = "TARIFF_GATEWAY_ADDR", default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// A scenario file in proto3 JSON (such as scenarios/universal-20.json).
    /// Without it: the US adds 20% on every import, built in code.
    #[arg(long, value_name = "PATH")]
    scenario: Option<PathBuf>,
    /// Give up after this many seconds (the job goes on on the gateway).
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    timeout: u64,
}

/// The gateway client with the token interceptor in front of the channel.
type Client = ScenarioServiceClient<InterceptedService<Channel, BearerToken>>;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // One deadline over the whole flow, so a stuck gateway fails the run
    // instead of hanging it.
    let outcome = tokio::time::timeout(Duration::from_secs(args.timeout), run(&args))
        .await
        .unwrap_or_else(|_| Err(anyhow!("no result within --timeout {}s", args.timeout)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let scenario = match &args.scenario {
        Some(path) => read_scenario(path)?,
        None => universal_tariff("USA", 20.0),
    };
    let mut client = connect(&args.addr).await?;

    // SubmitScenario answers at once with a job id; the job runs on a worker.
    // SUMMARY: we print totals only, so the result need not carry every
    // bilateral flow (FULL would). An idempotency key would make a retried
    // submission return the same job rather than queue a second one.
    let submitted = client
        .submit_scenario(pb::SubmitScenarioRequest {
            scenario: Some(scenario),
            idempotency_key: String::new(),
            view: Some(pb::ResultOptions { view: ResultView::Summary.into(), flows: None }),
        })
        .await
        .map_err(|s| refused("SubmitScenario", &s))?
        .into_inner();
    let job_id = submitted.job_id;
    println!("submitted job {job_id}");

    // WatchJob streams the job's record each time its state or progress
    // changes, and ends after the final state (SUCCEEDED, FAILED, CANCELLED).
    let mut stream = client
        .watch_job(pb::WatchJobRequest { job_id: job_id.clone(), view: None })
        .await
        .map_err(|s| refused("WatchJob", &s))?
        .into_inner();
    let mut last = None;
    while let Some(job) = stream.message().await.map_err(|s| refused("WatchJob", &s))? {
        println!("{}", progress_line(&job));
        let done = matches!(job.state(), JobState::Succeeded | JobState::Failed | JobState::Cancelled);
        last = Some(job);
        if done {
            break;
        }
    }
    let Some(job) = last else { bail!("the gateway ended the watch of job {job_id} without a word") };
    match job.state() {
        JobState::Succeeded => {}
        JobState::Failed => {
            let error = job.error.unwrap_or_default();
            bail!("job {job_id} failed: {}: {}", error.code, error.message)
        }
        other => bail!("job {job_id} ended {}", other.as_str_name()),
    }

    // The watch's last message carries the result already; GetJob is how a
    // client that was not watching (or another process) collects it later.
    let job = client
        .get_job(pb::GetJobRequest { job_id: job_id.clone(), view: None })
        .await
        .map_err(|s| refused("GetJob", &s))?
        .into_inner();
    let result = job.result.with_context(|| format!("job {job_id} succeeded without a result"))?;
    print_summary(&result)
}

/// Connects now rather than on the first call, so a wrong address is reported
/// as such, within seconds.
async fn connect(addr: &str) -> anyhow::Result<Client> {
    // A bare HOST:PORT is plain HTTP/2, as tariffctl takes it.
    let url = if addr.contains("://") { addr.to_owned() } else { format!("http://{addr}") };
    let channel = Endpoint::from_shared(url)
        .with_context(|| format!("--addr `{addr}` is not a URL (expected http://HOST:PORT)"))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| anyhow!("cannot connect to the gateway at {addr}: {}", root_cause(&e)))?;
    Ok(ScenarioServiceClient::with_interceptor(channel, BearerToken::from_env()?))
}

/// Adds `authorization: Bearer <token>` to every call when `TARIFF_TOKEN` is
/// set, which a gateway started with tokens requires (else `UNAUTHENTICATED`).
/// The token comes from the environment and not from a flag, as with
/// tariffctl: flags show in process listings.
#[derive(Debug, Clone)]
struct BearerToken(Option<MetadataValue<Ascii>>);

impl BearerToken {
    fn from_env() -> anyhow::Result<BearerToken> {
        let token = std::env::var("TARIFF_TOKEN").unwrap_or_default();
        if token.trim().is_empty() {
            return Ok(BearerToken(None));
        }
        let mut header = MetadataValue::try_from(format!("Bearer {}", token.trim()))
            .map_err(|_| anyhow!("TARIFF_TOKEN: a token must be printable ASCII"))?;
        // Keeps the token out of tonic's and hyper's debug output.
        header.set_sensitive(true);
        Ok(BearerToken(Some(header)))
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(header) = &self.0 {
            request.metadata_mut().insert("authorization", header.clone());
        }
        Ok(request)
    }
}

/// A scenario file: the proto3 JSON form of `tariff.v1.Scenario`, which
/// `tariff-proto` reads with the serde impls generated beside the messages.
fn read_scenario(path: &std::path::Path) -> anyhow::Result<pb::Scenario> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    tariff_proto::json::from_json(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// A scenario in code: `importer` adds `rate_pct` on every good from every
/// partner, on the default built-in dataset (empty `dataset`).
fn universal_tariff(importer: &str, rate_pct: f64) -> pb::Scenario {
    pb::Scenario {
        id: format!("universal-{rate_pct}"),
        name: format!("{importer} adds {rate_pct}% on every import"),
        measures: vec![pb::Measure {
            id: "surcharge".into(),
            authority: pb::Authority::Other.into(),
            importer: importer.into(),
            exporters: vec!["*".into()],
            sectors: vec!["*".into()],
            mode: Mode::Add.into(),
            rate_pct,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// `RUNNING  12/40  solve`: the state, then the progress when there is some.
fn progress_line(job: &pb::Job) -> String {
    let state = job.state().as_str_name();
    match &job.progress {
        Some(p) if p.total > 0 => format!("  {state:<9} {:>4}/{:<4} {}", p.done, p.total, p.stage),
        _ => format!("  {state}"),
    }
}

/// The last date's figures: welfare by economy, then the three sectors whose
/// imports (summed over every importer) changed most.
fn print_summary(result: &pb::ScenarioResult) -> anyhow::Result<()> {
    let impact = result.impacts.last().context("the result has no impact")?;
    println!(
        "result: {} on {} (base year {}, {} {}), at {}",
        result.scenario_name, result.dataset, result.base_year, result.currency, result.unit, impact.date
    );
    println!("welfare by economy (change, % of GDP):");
    for e in &impact.economies {
        println!("  {:<6} {:>12.1} {:>8.3}%", e.economy, e.welfare_change, e.welfare_change_pct_gdp);
    }
    // Each sector lists one row per economy; an import's change is counted
    // once, at its importer.
    let mut sectors: Vec<(&str, f64, f64)> = impact
        .sectors
        .iter()
        .map(|s| {
            let imports = s.economies.iter().filter_map(|e| e.imports.as_ref());
            let (before, after) = imports.fold((0.0, 0.0), |(b, a), c| (b + c.before, a + c.after));
            (s.sector.as_str(), before, after)
        })
        .collect();
    sectors.sort_by(|x, y| (y.2 - y.1).abs().total_cmp(&(x.2 - x.1).abs()).then(x.0.cmp(y.0)));
    println!("top sectors by change in imports (change, %):");
    for (sector, before, after) in sectors.iter().take(3) {
        let pct = if *before == 0.0 { 0.0 } else { (after / before - 1.0) * 100.0 };
        println!("  {:<12} {:>12.1} {:>8.2}%", sector, after - before, pct);
    }
    Ok(())
}

/// A gRPC status as one line: the call, the code and the gateway's message
/// (which names the field at fault for INVALID_ARGUMENT).
fn refused(call: &str, status: &Status) -> anyhow::Error {
    match status.code() {
        tonic::Code::Unauthenticated => {
            anyhow!("{call}: the gateway wants a bearer token: set TARIFF_TOKEN (UNAUTHENTICATED)")
        }
        code => anyhow!("{call}: {} ({code:?})", status.message()),
    }
}

/// tonic's transport errors say "transport error"; the reason is at the
/// bottom of the chain (connection refused, ...).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
