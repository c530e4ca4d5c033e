//! Observed outcomes (`data/observed/`): what actually happened, as published,
//! to set model results against (`tariffctl backcast`) and to calibrate
//! elasticities to (`tariffctl calibrate`).
//!
//! A folder holds observation files (every `*.csv` but `exchange-rates.csv`),
//! one figure a line, and optionally `exchange-rates.csv`, the exchange rates a
//! backcast's currency moves come from. Both are validated like a dataset: an
//! error names the file, the line and the reason. [`builtin_observed`] is the
//! folder of this repository, compiled in.

mod files;
mod matching;
mod period;

use std::sync::OnceLock;

pub use files::{ObservedSource, load_observed};
pub use matching::{BackcastRow, backcast, model_change_pct};
pub use period::{Period, PeriodError};

use crate::dataset::{DatasetError, Quality};

/// What an observed figure is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A bilateral flow.
    Flow { exporter: String, importer: String },
    /// One economy.
    Economy(String),
}

/// Which figure is observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObservedFigure {
    /// A flow's trade value.
    Value,
    /// A flow's volume (units or quantity).
    Volume,
    /// A flow's exporter (fob) price: an export price index or a unit value.
    FobPrice,
    /// A flow's duty-inclusive price in the importer.
    DeliveredPrice,
    /// An economy's composite consumer price of a sector.
    ConsumerPrice,
    /// An economy's exports (value).
    ExportsValue,
    /// An economy's imports (value).
    ImportsValue,
}

impl ObservedFigure {
    /// The spelling of the files.
    pub fn name(self) -> &'static str {
        match self {
            ObservedFigure::Value => "value",
            ObservedFigure::Volume => "volume",
            ObservedFigure::FobPrice => "fob_price",
            ObservedFigure::DeliveredPrice => "delivered_price",
            ObservedFigure::ConsumerPrice => "consumer_price",
            ObservedFigure::ExportsValue => "exports_value",
            ObservedFigure::ImportsValue => "imports_value",
        }
    }

    /// Whether the figure is one of a flow (else of an economy).
    pub fn of_flows(self) -> bool {
        matches!(
            self,
            ObservedFigure::Value
                | ObservedFigure::Volume
                | ObservedFigure::FobPrice
                | ObservedFigure::DeliveredPrice
        )
    }

    /// Every figure, for parsing and for messages.
    pub const ALL: [ObservedFigure; 7] = [
        ObservedFigure::Value,
        ObservedFigure::Volume,
        ObservedFigure::FobPrice,
        ObservedFigure::DeliveredPrice,
        ObservedFigure::ConsumerPrice,
        ObservedFigure::ExportsValue,
        ObservedFigure::ImportsValue,
    ];
}

/// One observed change, with where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Unique, stable: calibration targets name it.
    pub id: String,
    pub subject: Subject,
    /// A sector code; `None` for all goods (`*`).
    pub sector: Option<String>,
    pub figure: ObservedFigure,
    pub period: Period,
    pub compared_with: Period,
    /// `(new / base - 1) * 100`.
    pub change_pct: f64,
    /// ISO code of the figure's currency; empty for volumes (`-` in the file).
    pub currency: String,
    pub source: String,
    pub quality: Quality,
    pub note: String,
    /// Where it was read: `file:line`.
    pub location: String,
}

impl Observation {
    /// `JPN -> USA CARS` or `USA CARS` (`*` for all goods).
    pub fn subject_label(&self) -> String {
        let sector = self.sector.as_deref().unwrap_or("*");
        match &self.subject {
            Subject::Flow { exporter, importer } => format!("{exporter} -> {importer} {sector}"),
            Subject::Economy(e) => format!("{e} {sector}"),
        }
    }
}

/// A monthly (or period) average exchange rate against the US dollar.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedRate {
    pub currency: String,
    /// Units of the currency per US dollar.
    pub per_usd: f64,
    pub period: Period,
    pub source: String,
    pub quality: Quality,
    pub note: String,
}

/// The observations and exchange rates of an observed folder.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    pub observations: Vec<Observation>,
    pub exchange_rates: Vec<ObservedRate>,
}

impl Observed {
    /// The observation with an id.
    pub fn get(&self, id: &str) -> Option<&Observation> {
        self.observations.iter().find(|o| o.id == id)
    }

    /// The observations of one period, in file order.
    pub fn of_period(&self, period: Period) -> impl Iterator<Item = &Observation> {
        self.observations.iter().filter(move |o| o.period == period)
    }

    /// A currency's appreciation against the US dollar from `base` to `period`,
    /// in percent (`(per_usd base / per_usd new - 1) * 100`: positive when the
    /// currency buys more dollars), when both rates are recorded.
    pub fn appreciation_pct(&self, currency: &str, period: &Period, base: &Period) -> Option<f64> {
        let rate = |p: &Period| {
            self.exchange_rates.iter().find(|r| r.currency == currency && &r.period == p).map(|r| r.per_usd)
        };
        Some((rate(base)? / rate(period)? - 1.0) * 100.0)
    }
}

const BUILTIN_FILES: &[(&str, &str)] = &[
    (
        "japan-us-2025.csv",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/observed/japan-us-2025.csv")),
    ),
    (
        "exchange-rates.csv",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/observed/exchange-rates.csv")),
    ),
];

/// The observed folder of this repository (`data/observed/`), compiled in and
/// parsed once. Its codes are those of the built-in dataset.
pub fn builtin_observed() -> Result<&'static Observed, DatasetError> {
    static OBSERVED: OnceLock<Result<Observed, DatasetError>> = OnceLock::new();
    OBSERVED
        .get_or_init(|| load_observed(&ObservedSource::Embedded(BUILTIN_FILES), None))
        .as_ref()
        .map_err(Clone::clone)
}
