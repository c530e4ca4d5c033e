//! The user's concordance: which HS products make each sector, which
//! countries make each economy, and the economies and sectors themselves.
//!
//! A concordance is a folder:
//!
//! | file | columns | |
//! | --- | --- | --- |
//! | `economies.csv` | the dataset format (`code,name,groups,gdp[,currency]`) | required, copied |
//! | `sectors.csv` | the dataset format (`code,name,hs,` elasticities...) | required, copied |
//! | `hs_to_sector.csv` | `hs,sector`: an HS prefix of 2 to 6 digits | required |
//! | `country_to_economy.csv` | `code,economy`: ISO3 letters or a numeric code | required |
//! | `domestic.csv` | `economy,sector,value[,quality]` | optional (see [`crate::DomesticSource`]) |
//! | `sources.toml` | `[[sources]]` entries to add to dataset.toml | optional |
//! | `agreements.toml`, `horizons.csv`, `elasticities.csv`, `inputs.csv` | the dataset format | optional, copied |
//!
//! The longest HS prefix wins (`8703` before `87`); a numeric country code
//! matches with or without leading zeros. An economy may collect many
//! countries (a rest of the world, a customs union).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use crate::{
    error::ImportError,
    input::{Header, Input, cell, country_code, line_of, next_record},
};

pub const ECONOMIES: &str = "economies.csv";
pub const SECTORS: &str = "sectors.csv";
pub const HS_TO_SECTOR: &str = "hs_to_sector.csv";
pub const COUNTRY_TO_ECONOMY: &str = "country_to_economy.csv";
pub const DOMESTIC: &str = "domestic.csv";
pub const SOURCES: &str = "sources.toml";
/// Files copied as they are when the concordance has them.
pub const COPIED: &[&str] = &["agreements.toml", "horizons.csv", "elasticities.csv", "inputs.csv"];

/// A loaded concordance.
#[derive(Debug, Clone)]
pub struct Concordance {
    pub dir: PathBuf,
    /// Economy codes in economies.csv's order: the dataset's economies.
    pub economies: Vec<String>,
    /// Sector codes in sectors.csv's order.
    pub sectors: Vec<String>,
    economy_index: HashMap<String, usize>,
    sector_index: HashMap<String, usize>,
    /// HS prefix to sector.
    hs: HashMap<String, usize>,
    /// Normalised country code (ISO3 or numeric) to economy.
    countries: HashMap<String, usize>,
    /// Numeric code to ISO3, from a BACI `country_codes` file, when given.
    iso3_of: HashMap<String, String>,
    /// Product descriptions from a BACI `product_codes` file, for reports.
    descriptions: HashMap<String, String>,
}

fn codes_of(dir: &Path, name: &str) -> Result<Vec<String>, ImportError> {
    let input = Input::open(&dir.join(name))?;
    let mut reader = input.csv()?;
    let header = Header::read(&input.shown, &mut reader)?;
    let code = header.require(&["code"])?;
    let mut codes: Vec<String> = Vec::new();
    let mut record = csv::ByteRecord::new();
    while next_record(&input.shown, &mut reader, &mut record)? {
        let c = cell(&record, code);
        if c.is_empty() {
            continue;
        }
        if codes.iter().any(|x| x == c) {
            return Err(ImportError::row(&input.shown, line_of(&record), format!("`{c}` is listed twice")));
        }
        codes.push(c.to_owned());
    }
    if codes.is_empty() {
        return Err(ImportError::file(&input.shown, "no rows"));
    }
    Ok(codes)
}

impl Concordance {
    /// Reads the concordance folder `dir`.
    ///
    /// # Errors
    /// A missing file, a code mapped twice, a sector or economy that
    /// sectors.csv or economies.csv does not list, an HS prefix that is not 2
    /// to 6 digits: each with its file and line.
    pub fn load(dir: &Path) -> Result<Concordance, ImportError> {
        Concordance::load_with_lists(dir, dir)
    }

    /// Like [`Concordance::load`], economies.csv and sectors.csv read from
    /// `lists` (an existing dataset folder) rather than from `dir`.
    ///
    /// # Errors
    /// As [`Concordance::load`].
    pub fn load_with_lists(dir: &Path, lists: &Path) -> Result<Concordance, ImportError> {
        let economies = codes_of(lists, ECONOMIES)?;
        let sectors = codes_of(lists, SECTORS)?;
        let economy_index: HashMap<String, usize> =
            economies.iter().enumerate().map(|(i, c)| (c.clone(), i)).collect();
        let sector_index: HashMap<String, usize> =
            sectors.iter().enumerate().map(|(i, c)| (c.clone(), i)).collect();

        let mut hs = HashMap::new();
        read_pairs(dir, HS_TO_SECTOR, &["hs"], &["sector"], |file, line, key, value| {
            if !(2..=6).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ImportError::row(
                    file,
                    line,
                    format!("column `hs`: `{key}` is not an HS prefix of 2 to 6 digits"),
                ));
            }
            let sector = *sector_index.get(value).ok_or_else(|| {
                ImportError::row(file, line, format!("column `sector`: `{value}` is not in sectors.csv"))
            })?;
            if hs.insert(key.to_owned(), sector).is_some() {
                return Err(ImportError::row(file, line, format!("HS prefix `{key}` is mapped twice")));
            }
            Ok(())
        })?;

        let mut countries = HashMap::new();
        read_pairs(dir, COUNTRY_TO_ECONOMY, &["code"], &["economy"], |file, line, key, value| {
            let economy = *economy_index.get(value).ok_or_else(|| {
                ImportError::row(file, line, format!("column `economy`: `{value}` is not in economies.csv"))
            })?;
            if countries.insert(country_code(key), economy).is_some() {
                return Err(ImportError::row(file, line, format!("country code `{key}` is mapped twice")));
            }
            Ok(())
        })?;

        Ok(Concordance {
            dir: dir.to_path_buf(),
            economies,
            sectors,
            economy_index,
            sector_index,
            hs,
            countries,
            iso3_of: HashMap::new(),
            descriptions: HashMap::new(),
        })
    }

    /// Reads a BACI `country_codes` file (`country_code,country_name,
    /// country_iso2,country_iso3`, or the older `country_code,
    /// country_name_abbreviation,country_name_full,iso_2digit_alpha,
    /// iso_3digit_alpha`), so numeric codes can be matched through their ISO3.
    ///
    /// # Errors
    /// An unreadable file or one without those columns.
    pub fn add_country_codes(&mut self, path: &Path) -> Result<crate::FileFacts, ImportError> {
        let input = Input::open(path)?;
        let mut reader = input.csv()?;
        let header = Header::read(&input.shown, &mut reader)?;
        let code = header.require(&["country_code"])?;
        let iso3 = header.require(&["country_iso3", "iso_3digit_alpha"])?;
        let mut record = csv::ByteRecord::new();
        while next_record(&input.shown, &mut reader, &mut record)? {
            let (c, i) = (cell(&record, code), cell(&record, iso3));
            if !c.is_empty() && !i.is_empty() {
                self.iso3_of.insert(country_code(c), i.to_ascii_uppercase());
            }
        }
        drop(reader);
        input.finish()
    }

    /// Reads a BACI `product_codes` file (`code,description`): descriptions
    /// shown beside unmapped products.
    ///
    /// # Errors
    /// An unreadable file or one without those columns.
    pub fn add_product_codes(&mut self, path: &Path) -> Result<crate::FileFacts, ImportError> {
        let input = Input::open(path)?;
        let mut reader = input.csv()?;
        let header = Header::read(&input.shown, &mut reader)?;
        let code = header.require(&["code"])?;
        let description = header.require(&["description"])?;
        let mut record = csv::ByteRecord::new();
        while next_record(&input.shown, &mut reader, &mut record)? {
            if let Some(c) = crate::input::hs_code(cell(&record, code)) {
                self.descriptions.insert(c, cell(&record, description).to_owned());
            }
        }
        drop(reader);
        input.finish()
    }

    /// The economy of a country given by a numeric code and/or ISO3 letters
    /// (either may be empty): the numeric code, then the letters, then the
    /// letters the country codes file gives the numeric code.
    pub fn economy_of_country(&self, numeric: &str, iso3: &str) -> Option<usize> {
        let numeric = if numeric.is_empty() { String::new() } else { country_code(numeric) };
        if !numeric.is_empty()
            && let Some(&e) = self.countries.get(&numeric)
        {
            return Some(e);
        }
        if !iso3.is_empty()
            && let Some(&e) = self.countries.get(&iso3.to_ascii_uppercase())
        {
            return Some(e);
        }
        self.iso3_of.get(&numeric).and_then(|iso| self.countries.get(iso)).copied()
    }

    /// The sector of an HS code (normalised digits): its longest mapped prefix.
    pub fn sector_of_product(&self, hs: &str) -> Option<usize> {
        (2..=hs.len().min(6)).rev().find_map(|len| hs.get(..len).and_then(|p| self.hs.get(p)).copied())
    }

    /// The position of an economy code.
    pub fn economy(&self, code: &str) -> Option<usize> {
        self.economy_index.get(code).copied()
    }

    /// The position of a sector code.
    pub fn sector(&self, code: &str) -> Option<usize> {
        self.sector_index.get(code).copied()
    }

    /// The description of a product, when a product codes file gave one.
    pub fn description(&self, hs: &str) -> &str {
        self.descriptions.get(hs).map_or("", String::as_str)
    }

    /// ISO3 letters of a numeric code, when a country codes file gave them.
    pub fn iso3(&self, numeric: &str) -> Option<&str> {
        self.iso3_of.get(&country_code(numeric)).map(String::as_str)
    }
}

/// Reads a two-column mapping file, calling `each(file, line, key, value)`.
fn read_pairs(
    dir: &Path,
    name: &str,
    key: &[&str],
    value: &[&str],
    mut each: impl FnMut(&str, u64, &str, &str) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let input = Input::open(&dir.join(name))?;
    let mut reader = input.csv()?;
    let header = Header::read(&input.shown, &mut reader)?;
    let (k, v) = (header.require(key)?, header.require(value)?);
    let mut record = csv::ByteRecord::new();
    let mut rows = 0usize;
    while next_record(&input.shown, &mut reader, &mut record)? {
        let (a, b) = (cell(&record, k), cell(&record, v));
        if a.is_empty() && b.is_empty() {
            continue;
        }
        let line = line_of(&record);
        if a.is_empty() {
            return Err(ImportError::row(&input.shown, line, format!("column `{}` is empty", key[0])));
        }
        if b.is_empty() {
            return Err(ImportError::row(&input.shown, line, format!("column `{}` is empty", value[0])));
        }
        each(&input.shown, line, a, b)?;
        rows += 1;
    }
    if rows == 0 {
        return Err(ImportError::file(&input.shown, "no rows"));
    }
    Ok(())
}
