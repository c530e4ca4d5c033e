//! Reader of WITS / UNCTAD TRAINS applied-tariff downloads.
//!
//! Two headers are recognised (names matched ignoring case, spaces, `_`, `.`
//! and `-`):
//!
//! - the **TRAINS raw data** bulk files of WITS (`AVEMFN` and `AVEPref`
//!   folders; see the WITS help "Tariff - View and Export Raw Data"):
//!   `NomenCode, Reporter_ISO_N, Year, ProductCode, [Partner,] Sum_Of_Rates,
//!   Min_Rate, Max_Rate, SimpleAverage, ..., TotalNoOfLines, ..., EstCode`,
//!   with an optional `DutyType`. Reporter and partner are numeric codes;
//!   `SimpleAverage` is the HS 6-digit rate (the mean of its tariff lines),
//!   in percent. A file without `Partner` holds MFN rates; with `Partner` (and
//!   no `DutyType`) it holds preferential rates to that partner, partner
//!   `0`/`000` meaning all partners (MFN).
//! - the **Tariff View and Download** result of WITS Advanced Query
//!   (<https://wits.worldbank.org/wits/wits/witshelp/content/data_retrieval/p/AQ/C9e.AQ_Tariffs-Result.htm>):
//!   `Selected Nomen, Native Nomen, Reporter, Reporter Name, Partner, Partner
//!   Name, Tariff Year, Trade Year, Trade Source, Product, Product Name,
//!   DutyType, Simple Average, Weighted Average, ...`, reporter and partner as
//!   ISO3 letters or group codes (`WLD` is all partners).
//!
//! `DutyType` is `MFN` (MFN applied), `PRF` (preferential), `AHS`
//! (effectively applied) or `BND` (bound). MFN rows give the partner-wide
//! rate; PRF and partner-specific AHS rows give bilateral rates; bound rates
//! and AHS averages over all partners are not applied rates of one flow and
//! are left out (counted). Rows without a rate are left out (counted).

use crate::{
    error::ImportError,
    flows::{CountryRef, PROGRESS_ROWS, YearFilter},
    input::{Header, Input, cell, line_of, next_record, number},
    report::FileReport,
};

/// What one tariff row says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Duty<'a> {
    /// The MFN applied rate, to every partner.
    Mfn,
    /// A rate to one partner, with its duty type (`PRF`, `AHS`).
    Bilateral(&'a str),
}

/// One kept row of a tariff file.
#[derive(Debug)]
pub(crate) struct TariffRecord<'a> {
    pub(crate) reporter: CountryRef<'a>,
    /// `None` for a partner-wide (MFN) row.
    pub(crate) partner: Option<CountryRef<'a>>,
    pub(crate) product: &'a str,
    pub(crate) rate_pct: f64,
    pub(crate) duty: Duty<'a>,
    pub(crate) line: u64,
}

struct Columns {
    reporter: usize,
    reporter_numeric: bool,
    partner: Option<usize>,
    product: usize,
    product_name: &'static str,
    rate: usize,
    rate_name: &'static str,
    year: usize,
    year_name: &'static str,
    duty: Option<usize>,
}

fn columns(header: &Header) -> Result<(Columns, &'static str), ImportError> {
    if header.find(&["Reporter_ISO_N"]).is_some() {
        Ok((
            Columns {
                reporter: header.require(&["Reporter_ISO_N"])?,
                reporter_numeric: true,
                partner: header.find(&["Partner"]),
                product: header.require(&["ProductCode"])?,
                product_name: "ProductCode",
                rate: header.require(&["SimpleAverage"])?,
                rate_name: "SimpleAverage",
                year: header.require(&["Year"])?,
                year_name: "Year",
                duty: header.find(&["DutyType"]),
            },
            "WITS/TRAINS raw data",
        ))
    } else if header.find(&["Tariff Year"]).is_some() {
        Ok((
            Columns {
                reporter: header.require(&["Reporter"])?,
                reporter_numeric: false,
                partner: Some(header.require(&["Partner"])?),
                product: header.require(&["Product"])?,
                product_name: "Product",
                rate: header.require(&["Simple Average"])?,
                rate_name: "Simple Average",
                year: header.require(&["Tariff Year"])?,
                year_name: "Tariff Year",
                duty: Some(header.require(&["DutyType"])?),
            },
            "WITS Tariff View and Download",
        ))
    } else {
        Err(ImportError::row(
            header.file(),
            1,
            format!(
                "not a WITS tariff file: expected `Reporter_ISO_N, Year, ProductCode, SimpleAverage` \
                 (TRAINS raw data) or `Reporter, Partner, Product, Tariff Year, DutyType, Simple Average` \
                 (Tariff View and Download); the header has: {}",
                header.names().join(",")
            ),
        ))
    }
}

/// A country code of a tariff file: numeric, or letters.
fn country(text: &str) -> CountryRef<'_> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        CountryRef { numeric: text, iso3: "" }
    } else {
        CountryRef { numeric: "", iso3: text }
    }
}

/// Whether a partner code means every partner.
fn is_world(code: &str) -> bool {
    code.is_empty() || code.trim_start_matches('0').is_empty() || code.eq_ignore_ascii_case("WLD")
}

/// Streams a WITS file into `each`.
pub(crate) fn read_wits(
    input: &Input,
    years: &mut YearFilter,
    report: &mut FileReport,
    each: &mut dyn FnMut(&TariffRecord<'_>) -> Result<(), ImportError>,
    progress: &mut dyn FnMut(u64),
) -> Result<(), ImportError> {
    let file = input.shown.as_str();
    let mut reader = input.csv()?;
    let header = Header::read(file, &mut reader)?;
    let (c, format) = columns(&header)?;
    report.format = format.to_owned();
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
        if !years.keep(file, line, c.year_name, cell(&record, c.year))? {
            report.skip("another year", 0.0);
            continue;
        }
        if cell(&record, c.rate).is_empty() {
            report.skip("no rate", 0.0);
            continue;
        }
        let rate_pct = number(file, &record, c.rate, c.rate_name)?;
        if rate_pct < 0.0 {
            return Err(ImportError::row(
                file,
                line,
                format!("column `{}`: {rate_pct} is negative", c.rate_name),
            ));
        }
        let partner_text = c.partner.map_or("", |p| cell(&record, p));
        let world = is_world(partner_text);
        let duty_text = c.duty.map(|d| cell(&record, d));
        let duty = match duty_text.map(str::to_ascii_uppercase).as_deref() {
            None if world => Duty::Mfn,
            None => Duty::Bilateral("PRF"),
            Some("MFN") => Duty::Mfn,
            Some("PRF") if !world => Duty::Bilateral("PRF"),
            Some("AHS") if !world => Duty::Bilateral("AHS"),
            Some("BND") => {
                report.skip("bound rates (BND) are not applied rates", 0.0);
                continue;
            }
            Some("AHS" | "PRF") => {
                report.skip("AHS or PRF averages over all partners", 0.0);
                continue;
            }
            Some(_) => {
                report.skip("another duty type", 0.0);
                continue;
            }
        };
        let reporter_text = cell(&record, c.reporter);
        if reporter_text.is_empty() {
            return Err(ImportError::row(file, line, "the reporter's code is empty"));
        }
        let product = cell(&record, c.product);
        if product.is_empty() {
            return Err(ImportError::row(file, line, format!("column `{}` is empty", c.product_name)));
        }
        let reporter = if c.reporter_numeric {
            CountryRef { numeric: reporter_text, iso3: "" }
        } else {
            country(reporter_text)
        };
        let partner = match duty {
            Duty::Mfn => None,
            Duty::Bilateral(_) => Some(country(partner_text)),
        };
        each(&TariffRecord { reporter, partner, product, rate_pct, duty, line })?;
    }
    Ok(())
}
