//! What an import did, for people (the CLI's summary, METHOD.md) and machines
//! (`--format json`): rows read, used and skipped with the reason, codes the
//! concordance did not map, how tariffs were averaged.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::input::{FileFacts, Input};

/// Whether an unmapped code is a country or a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeKind {
    Country,
    Product,
}

/// A code of the inputs the concordance does not map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnmappedCode {
    pub kind: CodeKind,
    /// The code as the file has it (a numeric code with its ISO3 when known).
    pub code: String,
    /// The product's description, when a product codes file gave one.
    pub description: String,
    /// Rows that carry the code.
    pub rows: u64,
    /// Their value in the dataset's unit (USD); 0 for tariff rows.
    pub value: f64,
    /// `file:line` of the first row with the code.
    pub first_seen: String,
    /// The catch-all economy or sector the rows went to, if one took them.
    pub sent_to: Option<String>,
}

/// Imports of an importer in a sector that no tariff row covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingTariff {
    pub importer: String,
    pub sector: String,
    /// Their value in the dataset's unit.
    pub imports: f64,
}

/// Rows of one file left out, for one reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Skipped {
    pub rows: u64,
    /// In the dataset's unit (0 for tariff rows).
    pub value: f64,
}

/// One input file as read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileReport {
    #[serde(flatten)]
    pub facts: FileFacts,
    /// The published format and variant recognised from the header.
    pub format: String,
    /// The id of its `[[sources]]` entry in dataset.toml.
    pub source_id: String,
    pub rows_read: u64,
    pub rows_used: u64,
    /// Value of the rows used, in the dataset's unit (0 for tariff files).
    pub value_used: f64,
    /// Rows left out, by reason (another year, the other flow direction, a
    /// world total, an aggregate product level, a zero value...).
    pub skipped: BTreeMap<String, Skipped>,
}

impl FileReport {
    /// The report of a file opened, before any row is read.
    pub(crate) fn of(input: &Input) -> FileReport {
        FileReport {
            facts: FileFacts {
                name: crate::input::file_name(&input.path),
                path: input.shown.clone(),
                bytes: input.size,
                sha256: String::new(),
            },
            format: String::new(),
            source_id: String::new(),
            rows_read: 0,
            rows_used: 0,
            value_used: 0.0,
            skipped: Default::default(),
        }
    }

    /// One line on the file for its dataset.toml source: name, size, digest, rows.
    pub(crate) fn note(&self) -> String {
        let mut note = format!(
            "File {}, {} bytes, {}; {} rows read, {} used",
            self.facts.name, self.facts.bytes, self.facts.sha256, self.rows_read, self.rows_used
        );
        for (reason, s) in &self.skipped {
            note.push_str(&format!(", {} left out ({reason})", s.rows));
        }
        note.push('.');
        note
    }

    pub(crate) fn skip(&mut self, reason: &str, value: f64) {
        let entry = self.skipped.entry(reason.to_owned()).or_default();
        entry.rows += 1;
        entry.value += value;
    }
}

/// How the tariff rows were made.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TariffReport {
    /// Partner-wide (`*`) rows written, and how many were trade-weighted.
    pub mfn_rows: u64,
    pub mfn_weighted: u64,
    /// Bilateral preference rows written, and how many were trade-weighted.
    pub preference_rows: u64,
    pub preference_weighted: u64,
    /// Rows filled with `--default-rate` (basis DEFAULT).
    pub default_rows: u64,
    /// Preference rows between countries of one economy, left out (its
    /// domestic shipments carry no tariff).
    pub within_economy_rows: u64,
}

/// How domestic shipments were made.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DomesticReport {
    /// `file`, `ratio` or `none`.
    pub method: String,
    /// Rows of economy x sector with domestic shipments written.
    pub rows: u64,
    /// Value of the estimated part (domestic.csv or the ratio).
    pub estimated_value: f64,
    /// Value of trade between countries of one economy (a group such as the
    /// EU or a rest of the world), which counts as its domestic shipments.
    pub within_economy_value: f64,
}

/// Everything an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub out: String,
    pub id: String,
    pub base_year: i32,
    pub unit: String,
    pub flow_files: Vec<FileReport>,
    pub tariff_files: Vec<FileReport>,
    /// Codes the concordance did not map (sent to a catch-all: an import that
    /// refused them returns an error instead).
    pub unmapped: Vec<UnmappedCode>,
    pub tariffs: TariffReport,
    pub domestic: DomesticReport,
    /// Rows written to flows.csv and tariffs.csv.
    pub flow_rows: u64,
    pub tariff_rows: u64,
    /// Total value written to flows.csv, in the dataset's unit.
    pub total_value: f64,
    /// Flow cells whose values added up to zero, not written.
    pub zero_cells: u64,
    pub seconds: f64,
}
