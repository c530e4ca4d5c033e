//! The data-import crate: real trade and tariff files, and synthetic data,
//! written as dataset folders that [`tariff_scenario::dataset::Dataset::from_dir`] loads.
//!
//! # Map of the modules
//!
//! | module | what it does |
//! | --- | --- |
//! | [`concordance`] | the user's concordance folder: HS prefixes to sectors, countries to economies, the economies and sectors |
//! | [`flows`] | streaming readers of CEPII BACI and UN Comtrade (current bulk/API and classic API CSV) |
//! | [`wits`] | streaming reader of WITS / UNCTAD TRAINS applied tariffs (raw data bulk files, Tariff View and Download) |
//! | [`import`](mod@import) | the import itself: map, add up, gather tariff weights, estimate domestic shipments, write, load to prove |
//! | `resolve` | country and product codes mapped through the concordance, each looked up once, unmapped ones counted |
//! | `tariff_rates` | WITS rates at HS level per economy, made into tariffs.csv rows (MFN and preferences, trade-weighted where weights exist); shared by the import and the update |
//! | [`update`] | the tariffs-only import: new WITS files into an existing dataset's tariffs.csv |
//! | [`report`] | what an import did: rows read, used, skipped by reason, unmapped codes, tariff weighting |
//! | [`synth`] | a deterministic gravity-shaped synthetic dataset of any size, streamed to disk |
//! | [`summary`] | the summary `tariffctl dataset check` prints of a loaded dataset |
//! | [`write`](mod@write) | dataset.toml and buffered CSV writing |
//! | [`error`] | [`ImportError`]: every error names its file, and the line and column of a bad row |
//!
//! # The published formats
//!
//! Column names were checked against the publishers' documentation:
//!
//! - **CEPII BACI**: CEPII's *DescriptionBACI* page
//!   (<http://www.cepii.fr/DATA_DOWNLOAD/baci/doc/DescriptionBACI.html>):
//!   variables `t` year, `k` product (HS 6-digit code, "we advise you not to
//!   treat the product code (k) variable as numeric"), `i` exporter and `j`
//!   importer (ISO 3-digit numeric country codes), `v` value in thousands of
//!   current USD, `q` quantity in metric tons; only strictly positive flows;
//!   `country_codes` and `product_codes` files beside the data. The current
//!   files (`BACI_HS17_Y2023_V202501.csv`) have the header `t,i,j,k,v,q`, and
//!   `country_codes_V202501.csv` the header `country_code,country_name,
//!   country_iso2,country_iso3` (older versions: `country_code,
//!   country_name_abbreviation,country_name_full,iso_2digit_alpha,
//!   iso_3digit_alpha`; both are read).
//! - **UN Comtrade**: the field list of the current API and bulk files
//!   (`typeCode, freqCode, refPeriodId, refYear, refMonth, period,
//!   reporterCode, reporterISO, reporterDesc, flowCode, flowDesc, partnerCode,
//!   partnerISO, partnerDesc, partner2Code, partner2ISO, partner2Desc,
//!   classificationCode, classificationSearchCode, isOriginalClassification,
//!   cmdCode, cmdDesc, aggrLevel, isLeaf, customsCode, customsDesc, mosCode,
//!   motCode, motDesc, qtyUnitCode, qtyUnitAbbr, qty, isQtyEstimated,
//!   altQtyUnitCode, altQtyUnitAbbr, altQty, isAltQtyEstimated, netWgt,
//!   isNetWgtEstimated, grossWgt, isGrossWgtEstimated, cifvalue, fobvalue,
//!   primaryValue, legacyEstimationFlag, isReported, isAggregate`), as in
//!   files downloaded from comtradeplus.un.org, and the classic API CSV
//!   (`Classification, Year, Period, ..., Trade Flow Code, Trade Flow,
//!   Reporter Code, Reporter, Reporter ISO, Partner Code, Partner, Partner ISO,
//!   ..., Commodity Code, Commodity, ..., Trade Value (US$), CIF Trade Value
//!   (US$), FOB Trade Value (US$), Flag`).
//! - **WITS / TRAINS**: the WITS help pages on tariff results (*Tariff View
//!   and Download*: `Reporter, Partner, Product, Tariff Year, Duty Type` BND,
//!   MFN, PRF or AHS, `Simple Average`, `Weighted Average`, ...) and the TRAINS
//!   raw-data bulk files (`NomenCode, Reporter_ISO_N, Year, ProductCode,
//!   [Partner,] Sum_Of_Rates, Min_Rate, Max_Rate, SimpleAverage, ...,
//!   EstCode`).
//!
//! See the crate's README for importing BACI and WITS for your own sectors,
//! step by step.

pub mod concordance;
pub mod error;
pub mod flows;
pub mod import;
mod input;
mod method;
pub mod report;
mod resolve;
pub mod summary;
pub mod synth;
mod tariff_rates;
pub mod update;
pub mod wits;
pub mod write;

pub use concordance::Concordance;
pub use error::ImportError;
pub use flows::{Direction, FlowFormat};
pub use import::{DomesticSource, ImportSpec, Unit, import};
pub use input::FileFacts;
pub use report::ImportReport;
pub use summary::{DatasetSummary, summarize};
pub use synth::{SynthReport, SynthSpec, synthesize};
pub use update::{TariffUpdateSpec, update_tariffs};

/// Progress of long work: `done` of `total` (bytes of a file being read,
/// sectors written; `total` 0 when not counted).
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub stage: &'a str,
    pub done: u64,
    pub total: u64,
}
