//! `--view`, `--flows-economy`, `--flows-sector` and `--top`: how much of a
//! result to keep, shared by `run` (local and remote) and `submit`.

use clap::{Args, ValueEnum};
use tariff_proto::v1::{FlowFilter, ResultOptions, ResultView};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ViewName {
    /// Every flow (within the flow filters).
    Full,
    /// Economy totals and sector-by-economy rows, no flows.
    Summary,
}

/// Which flows a result lists.
#[derive(Debug, Args, Clone, Default)]
pub struct ViewArg {
    /// How much of the result to keep. Default: full here; on a gateway, full up to 20,000 flows, the
    /// summary beyond.
    #[arg(long, value_enum)]
    pub view: Option<ViewName>,
    /// Keep only the flows of this economy (as exporter or importer); repeat for more.
    #[arg(long = "flows-economy", value_name = "CODE")]
    pub economies: Vec<String>,
    /// Keep only the flows of this sector; repeat for more.
    #[arg(long = "flows-sector", value_name = "CODE")]
    pub sectors: Vec<String>,
    /// Keep only the N flows whose value changed most (absolute), per date, over all sectors.
    #[arg(long, value_name = "N")]
    pub top: Option<u32>,
}

impl ViewArg {
    /// The options to ask for; `None` when no flag was given (the default view).
    pub fn options(&self) -> Option<ResultOptions> {
        let filtered = !self.economies.is_empty() || !self.sectors.is_empty() || self.top.is_some();
        if self.view.is_none() && !filtered {
            return None;
        }
        let view = match self.view {
            Some(ViewName::Full) | None => ResultView::Full,
            Some(ViewName::Summary) => ResultView::Summary,
        };
        let flows = filtered.then(|| FlowFilter {
            economies: self.economies.clone(),
            sectors: self.sectors.clone(),
            top: self.top.unwrap_or(0),
        });
        Some(ResultOptions { view: view.into(), flows })
    }
}
