//! The summary of a loaded dataset that `tariffctl dataset check` prints:
//! its size, coverage, the quality of its figures and the time the load took.

use std::collections::HashSet;

use serde::Serialize;
use tariff_scenario::dataset::{Dataset, Quality};

/// Counts of flow rows by quality.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Qualities {
    pub reported: u64,
    pub derived: u64,
    pub estimated: u64,
}

/// Where input rows ask for more of a sector than an economy's market of it
/// holds (`Dataset::input_use_ratios` above 1).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InputOveruse {
    /// How many (economy, sector) pairs.
    pub cells: usize,
    /// The largest: economy, sector and the ratio of inputs to purchases.
    pub largest_economy: String,
    pub largest_sector: String,
    pub largest_ratio: f64,
}

/// What a dataset holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DatasetSummary {
    pub id: String,
    pub title: String,
    pub base_year: i32,
    pub currency: String,
    pub unit: String,
    pub economies: usize,
    pub sectors: usize,
    pub sources: usize,
    pub flow_rows: u64,
    /// Rows with a value above zero.
    pub nonzero_flows: u64,
    /// Rows with exporter = importer.
    pub domestic_rows: u64,
    pub tariff_rows: u64,
    /// Tariff rows for one exporter (the rest are partner-wide, `*`).
    pub bilateral_tariff_rows: u64,
    pub agreements: usize,
    /// Rows of inputs.csv (0 without it), and how many cells (economy or `*`,
    /// sector) they fill.
    pub input_rows: usize,
    pub input_cells: usize,
    /// `None` when every economy's inputs fit within its markets.
    pub input_overuse: Option<InputOveruse>,
    /// Non-zero import flows (exporter != importer).
    pub import_flows: u64,
    /// Share of the import flows with a base tariff row (the exporter's own
    /// or the partner-wide one).
    pub tariff_coverage: f64,
    /// Share of the import flows with a row for their exporter.
    pub bilateral_coverage: f64,
    /// Share of economy x sector pairs with domestic shipments above zero.
    pub domestic_coverage: f64,
    pub qualities: Qualities,
    pub total_value: f64,
    pub domestic_value: f64,
    pub import_value: f64,
    /// Seconds the load took, and rows (flows and tariffs) per second.
    pub load_seconds: f64,
    pub rows_per_second: f64,
}

fn input_overuse(dataset: &Dataset) -> Option<InputOveruse> {
    if dataset.inputs.is_empty() {
        return None;
    }
    let sectors = dataset.sectors.len().max(1);
    let mut over = InputOveruse::default();
    for (i, ratio) in dataset.input_use_ratios().into_iter().enumerate().filter(|(_, r)| *r > 1.0) {
        over.cells += 1;
        if ratio > over.largest_ratio {
            over.largest_ratio = ratio;
            over.largest_economy =
                dataset.economies.get(i / sectors).map(|e| e.code.clone()).unwrap_or_default();
            over.largest_sector =
                dataset.sectors.get(i % sectors).map(|s| s.code.clone()).unwrap_or_default();
        }
    }
    (over.cells > 0).then_some(over)
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 { 1.0 } else { part as f64 / whole as f64 }
}

/// Summarises `dataset`, loaded in `load_seconds`.
pub fn summarize(dataset: &Dataset, load_seconds: f64) -> DatasetSummary {
    let (n, sectors) = (dataset.economies.len(), dataset.sectors.len());
    let mut general = vec![false; n * sectors];
    let mut bilateral: HashSet<(usize, usize, usize)> = HashSet::new();
    for t in &dataset.tariffs {
        match t.exporter {
            None => {
                if let Some(slot) = general.get_mut(t.sector * n + t.importer) {
                    *slot = true;
                }
            }
            Some(v) => {
                bilateral.insert((t.sector, v, t.importer));
            }
        }
    }
    let mut s = DatasetSummary {
        id: dataset.id.clone(),
        title: dataset.title.clone(),
        base_year: dataset.base_year,
        currency: dataset.currency.clone(),
        unit: dataset.unit.clone(),
        economies: n,
        sectors,
        sources: dataset.sources.len(),
        tariff_rows: dataset.tariffs.len() as u64,
        bilateral_tariff_rows: bilateral.len() as u64,
        agreements: dataset.agreements.len(),
        input_rows: dataset.inputs.rows().len(),
        input_cells: dataset.inputs.cells(),
        input_overuse: input_overuse(dataset),
        load_seconds,
        ..DatasetSummary::default()
    };
    let (mut covered, mut covered_bilateral, mut domestic_positive) = (0u64, 0u64, 0u64);
    for sector in 0..sectors {
        let flows = dataset.sector_flows(sector);
        for ((&v, &r), &value) in flows.exporters.iter().zip(flows.importers).zip(flows.values) {
            let (v, r) = (v as usize, r as usize);
            s.flow_rows += 1;
            s.total_value += value;
            match dataset.provenance(sector, v, r).map(|p| p.quality) {
                Some(Quality::Reported) => s.qualities.reported += 1,
                Some(Quality::Derived) => s.qualities.derived += 1,
                Some(Quality::Estimated) | None => s.qualities.estimated += 1,
            }
            if value > 0.0 {
                s.nonzero_flows += 1;
            }
            if v == r {
                s.domestic_rows += 1;
                s.domestic_value += value;
                if value > 0.0 {
                    domestic_positive += 1;
                }
                continue;
            }
            s.import_value += value;
            if value <= 0.0 {
                continue;
            }
            s.import_flows += 1;
            let own = bilateral.contains(&(sector, v, r));
            if own {
                covered_bilateral += 1;
            }
            if own || general.get(sector * n + r).copied().unwrap_or(false) {
                covered += 1;
            }
        }
    }
    s.tariff_coverage = share(covered, s.import_flows);
    s.bilateral_coverage = share(covered_bilateral, s.import_flows);
    s.domestic_coverage = share(domestic_positive, (n * sectors) as u64);
    let rows = (s.flow_rows + s.tariff_rows) as f64;
    s.rows_per_second = if load_seconds > 0.0 { rows / load_seconds } else { 0.0 };
    s
}
