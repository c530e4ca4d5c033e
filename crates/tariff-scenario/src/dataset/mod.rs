//! Datasets: the base-year trade flows, tariffs, elasticities and agreements a
//! scenario is computed on, loaded from a folder or from the built-in copies.

mod builtin;
mod bundle;
mod cache;
pub(crate) mod csv_table;
mod elasticity_files;
mod flows;
mod horizons;
mod inputs;
mod load;
mod proto;

use std::{collections::HashMap, fmt, sync::Arc};

use crate::Date;

pub use builtin::{BUILTIN_DATASETS, DEFAULT_DATASET, builtin};
pub use bundle::{BundleError, DATASET_FILES, DatasetBundle, digest_of, valid_digest};
pub use cache::{DatasetCache, DatasetHandle, DatasetName, LoadError, builtin_handle, load_bundle};
pub(crate) use flows::FlowIndex;
pub use flows::SectorFlows;
pub use horizons::{Horizon, LONG_RUN, SHORT_RUN, SectorSet};
pub use inputs::{InputShare, InputShares};
pub use load::{DatasetLimits, DirSource, FileSource};
pub use tariff_model::Structure;

/// A dataset refused: which file, which line (when one is to blame), and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct DatasetError {
    /// The file, as a path or a built-in name.
    pub file: String,
    /// 1-based line, when the error sits on one.
    pub line: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

impl DatasetError {
    pub(crate) fn at(file: &str, line: usize, reason: impl Into<String>) -> DatasetError {
        DatasetError { file: file.to_owned(), line: (line > 0).then_some(line), reason: reason.into() }
    }

    pub(crate) fn in_file(file: &str, reason: impl Into<String>) -> DatasetError {
        DatasetError { file: file.to_owned(), line: None, reason: reason.into() }
    }
}

impl fmt::Display for DatasetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

/// One cited source of the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub id: String,
    pub title: String,
    pub url: String,
    pub note: String,
}

/// An economy (a country or a group treated as one).
#[derive(Debug, Clone, PartialEq)]
pub struct Economy {
    pub code: String,
    pub name: String,
    pub groups: Vec<String>,
    pub gdp: f64,
    /// ISO code of the economy's currency (economies.csv's optional `currency`);
    /// empty when it has none of its own (a region of several currencies).
    pub currency: String,
}

/// The three elasticities of one economy in one sector market.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Elasticities {
    /// Composite import demand, negative.
    pub import_demand: f64,
    /// Substitution between sources (Armington), positive.
    pub substitution: f64,
    /// Export supply, positive; 99 stands for infinite.
    pub supply: f64,
}

/// How far the default range of an elasticity reaches on either side of its
/// value, relative to it, when the dataset gives no range: value x (1 -+ this).
pub const DEFAULT_RELATIVE_RANGE: f64 = 0.5;

/// The range a sector-wide elasticity is uncertain over: `low <= value <= high`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElasticityRange {
    pub low: f64,
    pub high: f64,
    /// From the dataset (`*_low`, `*_high` columns) rather than the default.
    pub published: bool,
}

impl ElasticityRange {
    /// The default range around `value`: [`DEFAULT_RELATIVE_RANGE`] either side,
    /// in numeric order (an import-demand elasticity is negative).
    pub fn default_around(value: f64) -> ElasticityRange {
        let (a, b) = (value * (1.0 - DEFAULT_RELATIVE_RANGE), value * (1.0 + DEFAULT_RELATIVE_RANGE));
        ElasticityRange { low: a.min(b), high: a.max(b), published: false }
    }
}

/// The ranges of a sector's three elasticities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElasticityRanges {
    pub import_demand: ElasticityRange,
    pub substitution: ElasticityRange,
    pub supply: ElasticityRange,
}

/// A sector: one market of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Sector {
    pub code: String,
    pub name: String,
    pub hs: String,
    /// The sector-wide defaults; `elasticities.csv` refines them per economy.
    pub elasticities: Elasticities,
    /// The uncertainty of the sector-wide elasticities (published or default).
    pub ranges: ElasticityRanges,
    pub elasticity_source: String,
    /// The long run's market structure (sectors.csv's optional `market_structure`).
    pub structure: Structure,
}

/// How a flow figure came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    Reported,
    Derived,
    Estimated,
}

/// Where a flow figure comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    pub source: String,
    pub quality: Quality,
}

/// A base applied tariff row. `exporter: None` is the partner-wide rate.
#[derive(Debug, Clone, PartialEq)]
pub struct TariffRow {
    pub importer: usize,
    pub exporter: Option<usize>,
    pub sector: usize,
    pub rate_pct: f64,
    /// `MFN`, an agreement code (the row is that agreement's preference), or
    /// another authority such as `SECTION_301`.
    pub basis: String,
}

/// An agreement's staged preferential rate for some exporters into one importer.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementRate {
    pub importer: usize,
    pub exporters: Vec<usize>,
    pub sector: usize,
    /// `(from, rate_pct)`, strictly increasing in date.
    pub stages: Vec<(Date, f64)>,
}

/// A trade agreement with its parties and staged rates.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    pub code: String,
    pub name: String,
    pub parties: Vec<usize>,
    /// `None`: in force only where a scenario applies it.
    pub in_force: Option<Date>,
    pub rates: Vec<AgreementRate>,
    pub note: String,
    pub source: String,
}

/// A loaded, validated dataset. Sectors and economies are indexed by their
/// positions in `sectors` and `economies`; flows are stored per sector, only
/// those the dataset has a row for ([`Dataset::sector_flows`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub id: String,
    pub title: String,
    pub description: String,
    pub base_year: i32,
    pub currency: String,
    pub unit: String,
    pub sources: Vec<Source>,
    pub economies: Vec<Economy>,
    pub sectors: Vec<Sector>,
    pub tariffs: Vec<TariffRow>,
    pub agreements: Vec<Agreement>,
    /// Input cost shares (`inputs.csv`); empty without the file.
    pub inputs: InputShares,
    flows: flows::FlowTable,
    /// The elasticity sets: the long run first, then those of `horizons.csv`.
    horizons: Vec<Horizon>,
    economy_index: rustc_hash::FxHashMap<String, usize>,
    sector_index: rustc_hash::FxHashMap<String, usize>,
    /// Per `[sector][importer]`: the partner-wide base row, as a position in
    /// `tariffs` (`NO_ROW` when there is none).
    general_rows: Vec<u32>,
    /// Per flow: the base row for its exporter, if any (`NO_ROW`).
    specific_rows: Vec<u32>,
    /// Per row of `tariffs`: the agreement its basis names, if any.
    tariff_agreement: Vec<Option<usize>>,
    /// Per `[sector][importer]`: the staged agreement rows that touch it, as
    /// (agreement, row) positions.
    agreement_rows: Vec<Vec<(usize, usize)>>,
    /// The base-year rate of every flow, in flow order.
    base_rates: Vec<f64>,
}

/// No tariff row.
const NO_ROW: u32 = u32::MAX;

/// A base tariff row with the agreement it was granted under, if any.
pub(crate) type BaseRow<'a> = (&'a TariffRow, Option<usize>);

impl Dataset {
    /// The position of an economy code.
    pub fn economy(&self, code: &str) -> Option<usize> {
        self.economy_index.get(code).copied()
    }

    /// The position of a sector code.
    pub fn sector(&self, code: &str) -> Option<usize> {
        self.sector_index.get(code).copied()
    }

    /// The economies carrying a group tag.
    pub fn group_members(&self, tag: &str) -> Vec<usize> {
        (0..self.economies.len()).filter(|&i| self.economies[i].groups.iter().any(|g| g == tag)).collect()
    }

    /// Whether `tag` is a group tag of some economy.
    pub fn is_group(&self, tag: &str) -> bool {
        self.economies.iter().any(|e| e.groups.iter().any(|g| g == tag))
    }

    /// Base-year shipments from `exporter` to `importer` (domestic on the
    /// diagonal); 0 for a pair the dataset has no row for.
    pub fn flow(&self, sector: usize, exporter: usize, importer: usize) -> f64 {
        self.flows.value(sector, exporter, importer)
    }

    /// One sector's flows: the pairs the dataset has rows for, sorted by
    /// (exporter, importer).
    pub fn sector_flows(&self, sector: usize) -> SectorFlows<'_> {
        self.flows.sector(sector)
    }

    /// Where a flow figure comes from; `None` for a pair the dataset has no row for (zero).
    pub fn provenance(&self, sector: usize, exporter: usize, importer: usize) -> Option<&Provenance> {
        self.flows.provenance(sector, exporter, importer)
    }

    /// The number of flow rows, and how many of them are estimated.
    pub fn flow_row_counts(&self) -> (usize, usize) {
        self.flows.row_counts()
    }

    /// Which pair each stored flow is, and where each sector's flows are.
    pub(crate) fn flow_index(&self) -> &Arc<FlowIndex> {
        &self.flows.index
    }

    /// The long-run elasticities of one economy in one sector.
    pub fn elasticities(&self, sector: usize, economy: usize) -> Elasticities {
        self.horizon_elasticities(0, sector, economy)
    }

    /// The elasticities of one economy in one sector in the horizon at
    /// position `horizon` (see [`Dataset::horizon`]).
    pub fn horizon_elasticities(&self, horizon: usize, sector: usize, economy: usize) -> Elasticities {
        let fallback = self.sectors.get(sector).map(|s| s.elasticities);
        self.horizons
            .get(horizon)
            .and_then(|h| h.elasticities(sector, economy, self.economies.len()))
            .or(fallback)
            .unwrap_or(Elasticities { import_demand: -1.0, substitution: 1.0, supply: 1.0 })
    }

    /// The elasticity sets, the long run first.
    pub fn horizons(&self) -> &[Horizon] {
        &self.horizons
    }

    /// The position of a horizon by name (`long_run` is 0).
    pub fn horizon(&self, name: &str) -> Option<usize> {
        self.horizons.iter().position(|h| h.name == name)
    }

    /// The most specific base rows of flow `flow` (a position in flow order) of
    /// sector `sector`: (the exporter's own, the partner-wide).
    pub(crate) fn base_rows(&self, sector: usize, flow: usize) -> (Option<BaseRow<'_>>, Option<BaseRow<'_>>) {
        let row = |i: u32| {
            (i != NO_ROW)
                .then(|| self.tariffs.get(i as usize))
                .flatten()
                .map(|t| (t, self.tariff_agreement.get(i as usize).copied().flatten()))
        };
        let (_, importer) = self.flows.index.pair(flow);
        let general = self.general_rows.get(sector * self.economies.len() + importer).copied();
        (self.specific_rows.get(flow).copied().and_then(row), general.and_then(row))
    }

    /// Indexes the base rows and their agreements once, after loading: in time
    /// linear in the tariff rows and the flows.
    fn index_tariffs(&mut self) {
        let n = self.economies.len();
        let mut general = vec![NO_ROW; self.sectors.len() * n];
        let mut specific: HashMap<(usize, usize, usize), u32> = HashMap::new();
        for (i, t) in self.tariffs.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(NO_ROW);
            match t.exporter {
                None => {
                    if let Some(slot) = general.get_mut(t.sector * n + t.importer) {
                        *slot = i;
                    }
                }
                Some(v) => {
                    specific.insert((t.sector, v, t.importer), i);
                }
            }
        }
        let index = Arc::clone(&self.flows.index);
        let mut specific_rows = vec![NO_ROW; index.len()];
        if !specific.is_empty() {
            for s in 0..index.sectors() {
                for i in index.range(s) {
                    let (v, r) = index.pair(i);
                    if let Some(&row) = specific.get(&(s, v, r)) {
                        specific_rows[i] = row;
                    }
                }
            }
        }
        self.general_rows = general;
        self.specific_rows = specific_rows;
        let agreement_of: HashMap<&str, usize> = self
            .agreements
            .iter()
            .enumerate()
            .rev()
            .map(|(a, agreement)| (agreement.code.as_str(), a))
            .collect();
        self.tariff_agreement =
            self.tariffs.iter().map(|t| agreement_of.get(t.basis.as_str()).copied()).collect();
        let mut agreement_rows = vec![Vec::new(); self.sectors.len() * n];
        for (a, agreement) in self.agreements.iter().enumerate() {
            for (i, row) in agreement.rates.iter().enumerate() {
                if let Some(slot) = agreement_rows.get_mut(row.sector * n + row.importer) {
                    slot.push((a, i));
                }
            }
        }
        self.agreement_rows = agreement_rows;
        let mut base_rates = Vec::with_capacity(index.len());
        for s in 0..index.sectors() {
            for i in index.range(s) {
                let (v, r) = index.pair(i);
                let (specific, general) = self.base_rows(s, i);
                let rate = specific.or(general).map_or(0.0, |(t, _)| t.rate_pct);
                base_rates.push(if v == r { 0.0 } else { rate });
            }
        }
        self.base_rates = base_rates;
    }

    /// The staged agreement rows for one sector into one importer, as
    /// (agreement position, row) pairs.
    pub(crate) fn agreement_rows(
        &self,
        sector: usize,
        importer: usize,
    ) -> impl Iterator<Item = (usize, &AgreementRate)> {
        let n = self.economies.len();
        self.agreement_rows.get(sector * n + importer).into_iter().flatten().filter_map(|&(a, i)| {
            self.agreements.get(a).and_then(|agreement| agreement.rates.get(i)).map(|row| (a, row))
        })
    }

    /// The base-year rates of every flow, in flow order.
    pub(crate) fn base_rate_table(&self) -> &[f64] {
        &self.base_rates
    }

    /// The agreement with a code.
    pub fn agreement(&self, code: &str) -> Option<&Agreement> {
        self.agreements.iter().find(|a| a.code == code)
    }
}
