//! `pipeline`: drive a running gateway in a closed or an open loop. The loops
//! here serve `all` too.

use std::time::Duration;

use crate::{
    PipelineArgs,
    drive::{self, Caller},
    gateway::{Client, Load, Mode, connect_gateway, load_scenario, one_call},
    stats::{Step, write_json},
};

pub async fn command(args: PipelineArgs) -> anyhow::Result<()> {
    let scenario = load_scenario(&args.scenario, args.view)?;
    let client = connect_gateway(&args.gateway).await?;
    let duration = Duration::from_secs_f64(args.duration);
    let step = match (args.rate, args.concurrency) {
        (Some(rate), _) => open_loop(&client, args.mode, &scenario, rate, duration).await?,
        (None, concurrency) => {
            closed_loop(&client, args.mode, &scenario, concurrency.unwrap_or(4), duration).await?
        }
    };
    step.print();
    write_json(args.json.as_deref(), &step)
}

/// `concurrency` callers of the gateway, each starting its next call when the last ends.
pub async fn closed_loop(
    client: &Client,
    mode: Mode,
    scenario: &Load,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Step> {
    let caller = GatewayCaller { client: client.clone(), mode, scenario: scenario.clone() };
    drive::closed_loop(mode.step_name(), concurrency, duration, |_| caller.clone()).await
}

/// Calls to the gateway started at `rate` a second, whatever the answers take.
pub async fn open_loop(
    client: &Client,
    mode: Mode,
    scenario: &Load,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<Step> {
    let caller = GatewayCaller { client: client.clone(), mode, scenario: scenario.clone() };
    drive::open_loop(mode.step_name(), rate, duration, &caller).await
}

/// One scenario through the gateway per call, in one mode.
#[derive(Debug, Clone)]
struct GatewayCaller {
    client: Client,
    mode: Mode,
    scenario: Load,
}

impl Caller for GatewayCaller {
    async fn call(&mut self) -> anyhow::Result<()> {
        one_call(&mut self.client, self.mode, &self.scenario).await
    }
}
