//! Result views: how much of a result to keep. A product-level scenario has
//! millions of flows (200 economies x 5,000 sectors at 5% trading is about ten
//! million); most callers want the economy totals and sector rows, or a few
//! flows, so an evaluation keeps only the flows the view asks for.

use tariff_proto::v1 as pb;

use crate::{
    dataset::Dataset,
    violation::{Collector, Violations},
};

/// Up to this many flows, a request without a view gets them all (FULL);
/// beyond, the SUMMARY. Measured on the built-in dataset (universal 20%: 802
/// flows, 135,205 bytes FULL, 25,802 SUMMARY), an encoded flow takes 136 bytes,
/// so a FULL result of this many is about 2.7 MB: under the 4 MiB gRPC clients
/// accept by default.
pub const DEFAULT_FULL_FLOWS: u64 = 20_000;

/// The view an unspecified request gets for a result with `flows` flows.
pub fn default_view(flows: u64) -> pb::ResultView {
    if flows <= DEFAULT_FULL_FLOWS { pb::ResultView::Full } else { pb::ResultView::Summary }
}

/// Which flows to keep, resolved against a dataset's codes.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowSelection {
    /// Keep flows at all (FULL).
    keep: bool,
    /// Per economy: kept as exporter or importer (`None`: all).
    economies: Option<Vec<bool>>,
    /// Per sector (`None`: all).
    sectors: Option<Vec<bool>>,
    /// At most this many flows per date (0: no limit).
    top: usize,
    /// The options as asked, view made explicit, for the result to carry.
    options: pb::ResultOptions,
}

impl FlowSelection {
    /// Every flow: the FULL view without a filter.
    pub fn all() -> FlowSelection {
        FlowSelection {
            keep: true,
            economies: None,
            sectors: None,
            top: 0,
            options: pb::ResultOptions { view: pb::ResultView::Full.into(), flows: None },
        }
    }

    /// The selection `options` asks for; an unspecified view is `default`.
    ///
    /// # Errors
    /// Unknown economy or sector codes in the filter, each named with its field
    /// (`view.flows.economies[1]`).
    pub fn resolve(
        dataset: &Dataset,
        options: &pb::ResultOptions,
        default: pb::ResultView,
    ) -> Result<FlowSelection, Violations> {
        let view = match options.view() {
            pb::ResultView::Unspecified => default,
            v => v,
        };
        let view = if view == pb::ResultView::Unspecified { pb::ResultView::Full } else { view };
        let filter = options.flows.clone().unwrap_or_default();
        let mut problems = Collector::default();
        let mut mask = |codes: &[String], size: usize, field: &str, find: &dyn Fn(&str) -> Option<usize>| {
            if codes.is_empty() {
                return None;
            }
            let mut keep = vec![false; size];
            for (i, code) in codes.iter().enumerate() {
                match find(code) {
                    Some(k) => keep[k] = true,
                    None => {
                        problems.push(format!("view.flows.{field}[{i}]"), format!("unknown code `{code}`"))
                    }
                }
            }
            Some(keep)
        };
        let economies =
            mask(&filter.economies, dataset.economies.len(), "economies", &|c: &str| dataset.economy(c));
        let sectors = mask(&filter.sectors, dataset.sectors.len(), "sectors", &|c: &str| dataset.sector(c));
        let selection = FlowSelection {
            keep: view == pb::ResultView::Full,
            economies,
            sectors,
            top: usize::try_from(filter.top).unwrap_or(usize::MAX),
            options: pb::ResultOptions { view: view.into(), flows: options.flows.clone() },
        };
        problems.finish(selection)
    }

    /// Whether any flow of sector `s` is kept.
    pub(crate) fn keeps_sector(&self, s: usize) -> bool {
        self.keep && self.sectors.as_ref().is_none_or(|m| m.get(s).copied().unwrap_or(false))
    }

    /// Whether a flow of a kept sector is kept (before the per-date limit).
    pub(crate) fn keeps_flow(&self, exporter: usize, importer: usize) -> bool {
        self.economies.as_ref().is_none_or(|m| {
            m.get(exporter).copied().unwrap_or(false) || m.get(importer).copied().unwrap_or(false)
        })
    }

    /// The per-date limit, 0 for none.
    pub fn top(&self) -> usize {
        self.top
    }

    /// The options the result carries.
    pub fn options(&self) -> &pb::ResultOptions {
        &self.options
    }

    /// Applies the selection to a result computed with every flow.
    pub fn apply(&self, dataset: &Dataset, result: &mut pb::ScenarioResult) {
        for impact in &mut result.impacts {
            for sector in &mut impact.sectors {
                self.apply_to_sector(dataset, sector);
            }
            keep_top(&mut impact.sectors, self.top);
        }
        result.view = Some(self.options.clone());
    }

    /// Drops the flows of one sector the selection does not keep, and keeps
    /// at most `top` of the rest (the date's `top` are among them).
    pub fn apply_to_sector(&self, dataset: &Dataset, sector: &mut pb::SectorImpact) {
        let s = dataset.sector(&sector.sector);
        if !s.is_some_and(|s| self.keeps_sector(s)) {
            sector.flows = Vec::new();
            return;
        }
        if self.economies.is_some() {
            sector.flows.retain(|f| match (dataset.economy(&f.exporter), dataset.economy(&f.importer)) {
                (Some(v), Some(r)) => self.keeps_flow(v, r),
                _ => false,
            });
        }
        keep_top(std::slice::from_mut(sector), self.top);
    }

    /// Whether the selection keeps any flow at all (not SUMMARY).
    pub fn keeps_flows(&self) -> bool {
        self.keep
    }

    /// Whether the selection filters by economy or keeps a date's `top` only:
    /// then which flows are kept, and how many, depends on every flow.
    pub fn looks_at_flows(&self) -> bool {
        self.economies.is_some() || self.top > 0
    }

    /// Whether the selection keeps flows of sector `code` (an unknown code: no).
    pub fn keeps_sector_code(&self, dataset: &Dataset, code: &str) -> bool {
        dataset.sector(code).is_some_and(|s| self.keeps_sector(s))
    }
}

/// Keeps, over the sectors of one date, the `top` flows with the largest
/// absolute change in value (ties by sector, exporter, importer: sectors are in
/// dataset order and flows in (exporter, importer) order, so position decides).
pub fn keep_top(sectors: &mut [pb::SectorImpact], top: usize) {
    let total: usize = sectors.iter().map(|s| s.flows.len()).sum();
    if top == 0 || total <= top {
        return;
    }
    let magnitude = |f: &pb::FlowImpact| f.value.as_ref().map_or(0.0, |c| c.change.abs());
    let mut ranked: Vec<(f64, usize, usize)> = sectors
        .iter()
        .enumerate()
        .flat_map(|(s, sector)| sector.flows.iter().enumerate().map(move |(i, f)| (magnitude(f), s, i)))
        .collect();
    // Largest first; NaN never occurs (results are finite), total_cmp orders it anyway.
    ranked.select_nth_unstable_by(top - 1, |a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    let mut kept: Vec<Vec<bool>> = sectors.iter().map(|s| vec![false; s.flows.len()]).collect();
    for &(_, s, i) in &ranked[..top] {
        kept[s][i] = true;
    }
    for (sector, kept) in sectors.iter_mut().zip(kept) {
        let mut k = kept.into_iter();
        sector.flows.retain(|_| k.next().unwrap_or(false));
    }
}
