//! Readers of published bilateral trade files: CEPII BACI and UN Comtrade.
//!
//! Each streams one file, a row at a time, and hands every row it keeps to
//! the caller as a `FlowRow` (countries as the file codes them, the product
//! code, the value in USD); rows left out are counted by reason in the file's
//! [`FileReport`], never dropped without a count.
//!
//! **BACI** (CEPII, <http://www.cepii.fr/DATA_DOWNLOAD/baci/doc/DescriptionBACI.html>):
//! one CSV per year and HS revision, `BACI_HS17_Y2023_V202501.csv`, columns
//! `t` (year), `i` (exporter, ISO 3-digit numeric code), `j` (importer), `k`
//! (HS 6-digit product, text: leading zeros), `v` (value, thousands of current
//! USD), `q` (quantity, metric tons; ignored). Only strictly positive flows are
//! recorded. Columns are found by name, in any order.
//!
//! **UN Comtrade**, two headers:
//! - the current API and bulk ("final") files: `typeCode, freqCode, refPeriodId,
//!   refYear, refMonth, period, reporterCode, reporterISO, reporterDesc,
//!   flowCode, flowDesc, partnerCode, partnerISO, partnerDesc, partner2Code, ...,
//!   classificationCode, ..., cmdCode, cmdDesc, aggrLevel, isLeaf, customsCode,
//!   customsDesc, mosCode, motCode, motDesc, ..., cifvalue, fobvalue,
//!   primaryValue, legacyEstimationFlag, isReported, isAggregate`, comma- or
//!   tab-separated (bulk files are tab-separated and gzipped; both are read);
//!   `flowCode` M (imports) or X (exports); values `primaryValue` in USD
//!   (CIF for imports, FOB for exports).
//! - the classic API CSV: `Classification, Year, Period, Period Desc., Aggregate
//!   Level, Is Leaf Code, Trade Flow Code, Trade Flow, Reporter Code, Reporter,
//!   Reporter ISO, Partner Code, Partner, Partner ISO, 2nd Partner Code, ...,
//!   Customs Proc. Code, ..., Mode of Transport Code, ..., Commodity Code,
//!   Commodity, ..., Trade Value (US$), CIF Trade Value (US$), FOB Trade Value
//!   (US$), Flag`, `Trade Flow Code` 1 import, 2 export, 3 re-export, 4
//!   re-import.
//!
//! Of Comtrade rows, only one direction is kept (imports by default: the
//! importer is the reporter and the partner the exporter; exports: the
//! reporter is the exporter), only products at the chosen HS level (6 digits
//! by default; `TOTAL` and chapter rows would count the same trade twice),
//! only totals over customs procedures, transport modes and second partners,
//! and no partner `0` (the world). Headers are matched ignoring case, spaces,
//! `_`, `.` and `-`.

use crate::{
    error::ImportError,
    input::{Header, Input, cell, hs_code, line_of, next_record, number},
    report::FileReport,
};

/// A published trade format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowFormat {
    Baci,
    Comtrade,
}

/// Which Comtrade flow direction to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The importer's declarations (`M`): the mirror-statistics convention.
    #[default]
    Imports,
    /// The exporter's declarations (`X`).
    Exports,
}

/// A country as a file codes it: a numeric code and/or ISO3 letters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CountryRef<'a> {
    pub(crate) numeric: &'a str,
    pub(crate) iso3: &'a str,
}

impl CountryRef<'_> {
    /// The key a code is cached and reported under.
    pub(crate) fn key(&self) -> &str {
        if self.numeric.is_empty() { self.iso3 } else { self.numeric }
    }
}

/// One kept row of a trade file.
#[derive(Debug)]
pub(crate) struct FlowRow<'a> {
    pub(crate) exporter: CountryRef<'a>,
    pub(crate) importer: CountryRef<'a>,
    /// The product code as written.
    pub(crate) product: &'a str,
    /// Value in USD.
    pub(crate) value_usd: f64,
    pub(crate) line: u64,
}

/// The year of the rows: chosen, or fixed by the first row.
#[derive(Debug, Clone, Default)]
pub(crate) struct YearFilter {
    pub(crate) wanted: Option<i32>,
    /// The year of the first row and where it was, when none was chosen.
    pub(crate) seen: Option<(i32, String)>,
    /// The option that chooses the year, for the error.
    pub(crate) option: &'static str,
}

impl YearFilter {
    /// Whether a row of year `text` is kept; an error for a second year when
    /// none was chosen.
    pub(crate) fn keep(
        &mut self,
        file: &str,
        line: u64,
        column: &str,
        text: &str,
    ) -> Result<bool, ImportError> {
        // Monthly periods (YYYYMM) count for their year.
        let year_text = if text.len() == 6 { text.get(..4).unwrap_or(text) } else { text };
        let year: i32 = year_text.parse().map_err(|_| {
            ImportError::row(file, line, format!("column `{column}`: `{text}` is not a year"))
        })?;
        if let Some(wanted) = self.wanted {
            return Ok(year == wanted);
        }
        match &self.seen {
            None => {
                self.seen = Some((year, format!("{file}:{line}")));
                Ok(true)
            }
            Some((first, _)) if *first == year => Ok(true),
            Some((first, at)) => Err(ImportError::row(
                file,
                line,
                format!(
                    "column `{column}`: year {year}, but the rows before are of {first} (from {at}); \
                     choose one year with {}",
                    self.option
                ),
            )),
        }
    }

    pub(crate) fn year(&self) -> Option<i32> {
        self.wanted.or(self.seen.as_ref().map(|(y, _)| *y))
    }
}

/// Options of the trade readers.
#[derive(Debug, Clone)]
pub(crate) struct FlowOptions {
    pub(crate) direction: Direction,
    pub(crate) hs_digits: usize,
    /// USD per unit of the dataset, to report skipped values in it.
    pub(crate) usd_per_unit: f64,
}

/// Reports progress every this many rows.
pub(crate) const PROGRESS_ROWS: u64 = 1 << 16;

/// Streams a BACI file into `each`.
pub(crate) fn read_baci(
    input: &Input,
    years: &mut YearFilter,
    options: &FlowOptions,
    report: &mut FileReport,
    each: &mut dyn FnMut(&FlowRow<'_>) -> Result<(), ImportError>,
    progress: &mut dyn FnMut(u64),
) -> Result<(), ImportError> {
    let file = input.shown.as_str();
    let mut reader = input.csv()?;
    let header = Header::read(file, &mut reader)?;
    let (t, i, j, k, v) = (
        header.require(&["t"])?,
        header.require(&["i"])?,
        header.require(&["j"])?,
        header.require(&["k"])?,
        header.require(&["v"])?,
    );
    report.format = "CEPII BACI (t,i,j,k,v,q)".to_owned();
    let mut record = csv::ByteRecord::new();
    while next_record(file, &mut reader, &mut record)? {
        if record.iter().all(<[u8]>::is_empty) {
            continue;
        }
        report.rows_read += 1;
        if report.rows_read.is_multiple_of(PROGRESS_ROWS) {
            progress(input.bytes_read());
        }
        let line = line_of(&record);
        let value_usd = number(file, &record, v, "v")? * 1000.0;
        if !years.keep(file, line, "t", cell(&record, t))? {
            report.skip("another year", value_usd / options.usd_per_unit);
            continue;
        }
        if value_usd < 0.0 {
            return Err(ImportError::row(
                file,
                line,
                format!("column `v`: {} is negative", value_usd / 1000.0),
            ));
        }
        let exporter = CountryRef { numeric: cell(&record, i), iso3: "" };
        let importer = CountryRef { numeric: cell(&record, j), iso3: "" };
        for (column, c) in [("i", exporter), ("j", importer)] {
            if c.numeric.is_empty() {
                return Err(ImportError::row(file, line, format!("column `{column}` is empty")));
            }
        }
        let product = cell(&record, k);
        if product.is_empty() {
            return Err(ImportError::row(file, line, "column `k` is empty"));
        }
        each(&FlowRow { exporter, importer, product, value_usd, line })?;
    }
    Ok(())
}

/// The columns of a Comtrade file, current or classic.
struct ComtradeColumns {
    reporter_code: usize,
    reporter_iso: Option<usize>,
    partner_code: usize,
    partner_iso: Option<usize>,
    partner2: Option<usize>,
    flow: usize,
    product: usize,
    value: usize,
    value_name: &'static str,
    year: usize,
    year_name: &'static str,
    customs: Option<usize>,
    transport: Option<usize>,
    classic: bool,
}

fn comtrade_columns(header: &Header) -> Result<ComtradeColumns, ImportError> {
    if header.find(&["primaryValue"]).is_some() || header.find(&["cmdCode"]).is_some() {
        let (year, year_name) = match header.find(&["period"]) {
            Some(p) => (p, "period"),
            None => (header.require(&["refYear"])?, "refYear"),
        };
        Ok(ComtradeColumns {
            reporter_code: header.require(&["reporterCode"])?,
            reporter_iso: header.find(&["reporterISO"]),
            partner_code: header.require(&["partnerCode"])?,
            partner_iso: header.find(&["partnerISO"]),
            partner2: header.find(&["partner2Code"]),
            flow: header.require(&["flowCode"])?,
            product: header.require(&["cmdCode"])?,
            value: header.require(&["primaryValue"])?,
            value_name: "primaryValue",
            year,
            year_name,
            customs: header.find(&["customsCode"]),
            transport: header.find(&["motCode"]),
            classic: false,
        })
    } else {
        let (year, year_name) = match header.find(&["Year"]) {
            Some(y) => (y, "Year"),
            None => (header.require(&["Period"])?, "Period"),
        };
        Ok(ComtradeColumns {
            reporter_code: header.require(&["Reporter Code"])?,
            reporter_iso: header.find(&["Reporter ISO"]),
            partner_code: header.require(&["Partner Code"])?,
            partner_iso: header.find(&["Partner ISO"]),
            partner2: header.find(&["2nd Partner Code"]),
            flow: header.require(&["Trade Flow Code"])?,
            product: header.require(&["Commodity Code"])?,
            value: header.require(&["Trade Value (US$)"])?,
            value_name: "Trade Value (US$)",
            year,
            year_name,
            customs: header.find(&["Customs Proc. Code"]),
            transport: header.find(&["Mode of Transport Code"]),
            classic: true,
        })
    }
}

/// Whether a breakdown cell is the total over the breakdown (or absent).
fn is_total(text: &str, totals: &[&str]) -> bool {
    text.is_empty() || totals.contains(&text)
}

/// Streams a Comtrade file into `each`, rows of the chosen direction only.
pub(crate) fn read_comtrade(
    input: &Input,
    years: &mut YearFilter,
    options: &FlowOptions,
    report: &mut FileReport,
    each: &mut dyn FnMut(&FlowRow<'_>) -> Result<(), ImportError>,
    progress: &mut dyn FnMut(u64),
) -> Result<(), ImportError> {
    let file = input.shown.as_str();
    let mut reader = input.csv()?;
    let header = Header::read(file, &mut reader)?;
    if header.find(&["primaryValue"]).is_none() && header.find(&["Trade Value (US$)"]).is_none() {
        return Err(ImportError::row(
            file,
            1,
            format!(
                "not a UN Comtrade file: no column `primaryValue` (current API and bulk files) or \
                 `Trade Value (US$)` (classic API); the header has: {}",
                header.names().join(",")
            ),
        ));
    }
    let c = comtrade_columns(&header)?;
    report.format = if c.classic {
        "UN Comtrade, classic API CSV".to_owned()
    } else {
        "UN Comtrade, current API / bulk".to_owned()
    };
    let (wanted, unwanted_name) = match (options.direction, c.classic) {
        (Direction::Imports, false) => ("M", "exports and other flows (not M)"),
        (Direction::Exports, false) => ("X", "imports and other flows (not X)"),
        (Direction::Imports, true) => ("1", "exports and other flows (not 1, import)"),
        (Direction::Exports, true) => ("2", "imports and other flows (not 2, export)"),
    };
    let mut record = csv::ByteRecord::new();
    while next_record(file, &mut reader, &mut record)? {
        if record.iter().all(<[u8]>::is_empty) {
            continue;
        }
        report.rows_read += 1;
        if report.rows_read.is_multiple_of(PROGRESS_ROWS) {
            progress(input.bytes_read());
        }
        let line = line_of(&record);
        let value_usd = number(file, &record, c.value, c.value_name)?;
        let unit_value = value_usd / options.usd_per_unit;
        if !years.keep(file, line, c.year_name, cell(&record, c.year))? {
            report.skip("another year", unit_value);
            continue;
        }
        if !cell(&record, c.flow).eq_ignore_ascii_case(wanted) {
            report.skip(unwanted_name, unit_value);
            continue;
        }
        let partner_code = cell(&record, c.partner_code);
        if partner_code.trim_start_matches('0').is_empty() {
            report.skip("partner is the world total (code 0)", unit_value);
            continue;
        }
        if !c.partner2.is_none_or(|p| is_total(cell(&record, p).trim_start_matches('0'), &[""]))
            || !c.customs.is_none_or(|p| is_total(cell(&record, p), &["C00"]))
            || !c.transport.is_none_or(|p| is_total(cell(&record, p), &["0"]))
        {
            report.skip("breakdown by customs procedure, transport mode or second partner", unit_value);
            continue;
        }
        let product = cell(&record, c.product);
        if hs_code(product).is_none_or(|code| code.len() != options.hs_digits) {
            report.skip("another product level (not HS at the chosen digits)", unit_value);
            continue;
        }
        if value_usd < 0.0 {
            return Err(ImportError::row(
                file,
                line,
                format!("column `{}`: {value_usd} is negative", c.value_name),
            ));
        }
        let reporter = CountryRef {
            numeric: cell(&record, c.reporter_code),
            iso3: c.reporter_iso.map_or("", |i| cell(&record, i)),
        };
        let partner =
            CountryRef { numeric: partner_code, iso3: c.partner_iso.map_or("", |i| cell(&record, i)) };
        if reporter.key().is_empty() {
            return Err(ImportError::row(file, line, "the reporter's code is empty"));
        }
        let (exporter, importer) = match options.direction {
            Direction::Imports => (partner, reporter),
            Direction::Exports => (reporter, partner),
        };
        each(&FlowRow { exporter, importer, product, value_usd, line })?;
    }
    Ok(())
}
