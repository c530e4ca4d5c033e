//! `tariffctl flows JOB`: every flow of a succeeded job, page by page from
//! GetResultFlows, as CSV rows with the columns of `--format csv-flows`, so a
//! result of millions of flows never has to arrive in one message.

use clap::Args;
use tariff_proto::v1::{FlowFilter, GetResultFlowsRequest};

use super::{GatewayArg, block_on, client::Gateway};
use crate::{output::csv, progress::LocalProgress};

#[derive(Debug, Args)]
pub struct FlowsArgs {
    /// The job id `submit` printed.
    job_id: String,
    #[command(flatten)]
    gateway: GatewayArg,
    /// Only the flows of this economy (as exporter or importer); repeat for more.
    #[arg(long = "flows-economy", value_name = "CODE")]
    economies: Vec<String>,
    /// Only the flows of this sector; repeat for more.
    #[arg(long = "flows-sector", value_name = "CODE")]
    sectors: Vec<String>,
    /// Only the N flows whose value changed most (absolute), per date, over all sectors.
    #[arg(long, value_name = "N")]
    top: Option<u32>,
    /// Flows asked for per call (the gateway sends at most 20,000).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..))]
    page_size: u32,
}

pub fn flows(args: FlowsArgs) -> anyhow::Result<()> {
    let credentials = args.gateway.credentials()?;
    let filtered = !args.economies.is_empty() || !args.sectors.is_empty() || args.top.is_some();
    let filter = filtered.then(|| FlowFilter {
        economies: args.economies.clone(),
        sectors: args.sectors.clone(),
        top: args.top.unwrap_or(0),
    });
    block_on(async move {
        let mut gateway = Gateway::connect(&args.gateway.address, credentials).await?;
        let mut out = ::csv::Writer::from_writer(std::io::stdout().lock());
        out.write_record(csv::FLOW_HEADER)?;
        let mut progress = LocalProgress::new();
        let (mut token, mut written) = (String::new(), 0u64);
        loop {
            let request = GetResultFlowsRequest {
                job_id: args.job_id.clone(),
                page_size: args.page_size,
                page_token: token,
                filter: filter.clone(),
            };
            let page = gateway.result_flows(request).await?;
            for flow in &page.flows {
                let impact = flow.flow.clone().unwrap_or_default();
                out.write_record(csv::flow_record(&flow.date, &flow.sector, &impact))?;
            }
            written += page.flows.len() as u64;
            let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
            let _ = progress.update(&tariff_scenario::Progress {
                done: count(written),
                total: count(page.total_flows),
                stage: "flows".into(),
            });
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        out.flush()?;
        Ok(())
    })
}
