//! The import: published trade and tariff files, through the user's
//! concordance, into a dataset folder that [`tariff_scenario::dataset::Dataset::from_dir`]
//! loads.
//!
//! 1. The concordance is read ([`Concordance`]); a BACI `country_codes` file,
//!    when given, lets numeric codes match ISO3 letters.
//! 2. The tariff files (WITS) are read into HS 6-digit rates per importing
//!    economy (MFN) and per importing and exporting economy (preferences);
//!    where an economy groups several reporters, their rates for one product
//!    are averaged.
//! 3. The trade files are streamed: each row's countries and product are
//!    mapped to economies and a sector and its value added to its cell
//!    (sector, exporter, importer); rows of the same cell (a duplicate, the
//!    products of one sector, the countries of one economy) add up. Trade
//!    between countries of one economy becomes its domestic shipments. The
//!    same pass adds each row's value to the weights of its importer's MFN
//!    rate and, for pairs with preferences, of the bilateral rate.
//! 4. Domestic shipments (BACI and Comtrade have none) come from a
//!    `domestic.csv` or a ratio to exports, marked `estimated`.
//! 5. Tariff rows: per importer and sector the MFN rate, trade-weighted by
//!    the importer's imports of each product where the sector had imports,
//!    else the simple mean of its products; per pair with preferences the
//!    applied rate (the preference where a product has one, else MFN), weighted
//!    by that pair's imports, else simple. Importer and sector pairs with
//!    imports but no rate are an error unless a default rate is given.
//! 6. The folder is written (flows.csv sorted by sector, exporter, importer)
//!    and loaded once with the loader to prove it.
//!
//! Memory is that of the output cells, the tariff rates and the code caches,
//! never of the input rows.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::Instant,
};

use tariff_scenario::dataset::Dataset;

use crate::{
    Progress,
    concordance::{self, Concordance},
    error::ImportError,
    flows::{Direction, FlowFormat, FlowOptions, FlowRow, YearFilter, read_baci, read_comtrade},
    input::{FileFacts, Input, hs_key},
    report::{DomesticReport, FileReport, ImportReport, TariffReport, UnmappedCode},
    resolve::Resolver,
    tariff_rates::{Weighted, cell_key, read_tariff_files, split_key, tariff_rows, write_tariffs},
    write::{DatasetMeta, Out, SourceEntry, copy, format_number, prepare_dir, source_id_of, unique_id},
};

/// The unit of the dataset's values (all in USD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Thousand,
    #[default]
    Million,
    Billion,
}

impl Unit {
    pub fn usd(self) -> f64 {
        match self {
            Unit::Thousand => 1e3,
            Unit::Million => 1e6,
            Unit::Billion => 1e9,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Unit::Thousand => "thousand",
            Unit::Million => "million",
            Unit::Billion => "billion",
        }
    }

    /// Decimals that keep one USD.
    fn decimals(self) -> usize {
        match self {
            Unit::Thousand => 3,
            Unit::Million => 6,
            Unit::Billion => 9,
        }
    }
}

/// Where domestic shipments come from.
#[derive(Debug, Clone, PartialEq)]
pub enum DomesticSource {
    /// `economy,sector,value[,quality]` in the dataset's unit; quality
    /// `estimated` unless the file says.
    File(PathBuf),
    /// Domestic shipments = ratio x the economy's exports in the sector
    /// (to other economies), quality `estimated`.
    Ratio(f64),
    /// None beyond trade within an economy (a dataset without domestic
    /// shipments: imports only compete with each other).
    Without,
}

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportSpec {
    pub format: FlowFormat,
    /// The trade files (one BACI year, or one or more Comtrade downloads).
    pub flows: Vec<PathBuf>,
    /// BACI's `country_codes_V*.csv`: numeric codes to ISO3, so the
    /// concordance may use ISO3.
    pub country_codes: Option<PathBuf>,
    /// BACI's `product_codes_HS*_V*.csv`: descriptions of unmapped products.
    pub product_codes: Option<PathBuf>,
    /// WITS tariff files (MFN and preferential).
    pub tariffs: Vec<PathBuf>,
    pub concordance: PathBuf,
    pub out: PathBuf,
    /// Dataset id (default: the output folder's name, cleaned).
    pub id: Option<String>,
    pub title: Option<String>,
    /// Year of the trade rows to keep (default: the one year the files have).
    pub year: Option<i32>,
    /// Year of the tariff rows to keep (default: the one year they have).
    pub tariff_year: Option<i32>,
    /// Comtrade: which declarations to keep.
    pub direction: Direction,
    /// Comtrade: the HS level kept (6 by default).
    pub hs_digits: usize,
    /// Catch-all economies or sectors for codes the concordance lacks (at
    /// most one economy and one sector).
    pub unmapped_to: Vec<String>,
    pub domestic: DomesticSource,
    /// The rate (percent) for importer and sector pairs with imports and no
    /// tariff row, written with basis `DEFAULT`.
    pub default_rate: Option<f64>,
    /// The basis written on preference rows (default: the duty type, `PRF`
    /// or `AHS`); an agreement code links the rows to agreements.toml.
    pub preference_basis: Option<String>,
    pub unit: Unit,
    /// Write into a folder that is not empty.
    pub overwrite: bool,
}

impl ImportSpec {
    /// A spec with the defaults: imports, HS 6 digits, USD million, no
    /// domestic shipments, no catch-all, no default rate.
    pub fn new(format: FlowFormat, flows: Vec<PathBuf>, concordance: PathBuf, out: PathBuf) -> ImportSpec {
        ImportSpec {
            format,
            flows,
            country_codes: None,
            product_codes: None,
            tariffs: Vec::new(),
            concordance,
            out,
            id: None,
            title: None,
            year: None,
            tariff_year: None,
            direction: Direction::Imports,
            hs_digits: 6,
            unmapped_to: Vec::new(),
            domestic: DomesticSource::Without,
            default_rate: None,
            preference_basis: None,
            unit: Unit::Million,
            overwrite: false,
        }
    }
}

/// Domestic shipments by (economy, sector): value and quality.
type DomesticTable = HashMap<(usize, usize), (f64, Quality)>;

/// A flow cell: its value, and the flow file it came from (`MIXED` for
/// several).
#[derive(Clone, Copy)]
struct Cell {
    value: f64,
    file: u32,
    /// The quality of the estimate added to it (domestic shipments), if any.
    estimate: Option<Quality>,
}

const MIXED: u32 = u32::MAX;

/// The facts of a small file read whole.
fn facts_of(path: &Path) -> Result<FileFacts, ImportError> {
    let input = Input::open(path)?;
    input.finish()
}

fn check_options(spec: &ImportSpec) -> Result<(), ImportError> {
    if spec.flows.is_empty() {
        return Err(ImportError::Options("no trade file given".into()));
    }
    if spec.format == FlowFormat::Baci && spec.direction != Direction::Imports {
        return Err(ImportError::Options(
            "--flow applies to Comtrade files only (BACI is reconciled)".into(),
        ));
    }
    if ![2, 4, 6].contains(&spec.hs_digits) {
        return Err(ImportError::Options(format!("--hs-digits {} must be 2, 4 or 6", spec.hs_digits)));
    }
    if let DomesticSource::Ratio(r) = spec.domestic
        && !(r.is_finite() && r >= 0.0)
    {
        return Err(ImportError::Options(format!("--domestic-ratio {r} must be a number >= 0")));
    }
    if let Some(rate) = spec.default_rate
        && !(rate.is_finite() && rate >= 0.0)
    {
        return Err(ImportError::Options(format!("--default-rate {rate} must be a number >= 0")));
    }
    Ok(())
}

/// The dataset id: given, or the output folder's name made valid.
fn dataset_id(spec: &ImportSpec) -> Result<String, ImportError> {
    let id = match &spec.id {
        Some(id) => id.clone(),
        None => source_id_of(&crate::input::file_name(&spec.out)),
    };
    let valid =
        !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        return Err(ImportError::Options(format!(
            "dataset id `{id}` must be letters, digits, `_`, `-` or `.` (give --id)"
        )));
    }
    Ok(id)
}

/// Runs an import; `progress` hears of each file as it is read.
///
/// # Errors
/// Any file that does not read (with file, line and column), codes the
/// concordance lacks (listed, unless a catch-all takes them), imports
/// without tariffs (unless a default rate is given), or a written dataset
/// the loader refuses.
pub fn import(
    spec: &ImportSpec,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    check_options(spec)?;
    let id = dataset_id(spec)?;
    let usd_per_unit = spec.unit.usd();
    let mut concordance = Concordance::load(&spec.concordance)?;
    let country_codes =
        spec.country_codes.as_deref().map(|p| concordance.add_country_codes(p)).transpose()?;
    let product_codes =
        spec.product_codes.as_deref().map(|p| concordance.add_product_codes(p)).transpose()?;
    let concordance = concordance;

    let (mut catch_economy, mut catch_sector) = (None, None);
    for code in &spec.unmapped_to {
        match (concordance.economy(code), concordance.sector(code)) {
            (None, None) => {
                return Err(ImportError::Options(format!(
                    "--unmapped-to {code}: not an economy of economies.csv nor a sector of sectors.csv"
                )));
            }
            (e, s) => {
                if e.is_some() && catch_economy.replace(e).is_some() {
                    return Err(ImportError::Options("--unmapped-to names two economies".into()));
                }
                if s.is_some() && catch_sector.replace(s).is_some() {
                    return Err(ImportError::Options("--unmapped-to names two sectors".into()));
                }
            }
        }
    }
    let mut resolver = Resolver::new(&concordance, catch_economy.flatten(), catch_sector.flatten());
    let (n, sectors) = (concordance.economies.len(), concordance.sectors.len());
    // The loader's limits, checked before any large file is read.
    let limits = tariff_scenario::dataset::DatasetLimits::default();
    for (count, max, file, what) in [
        (n, limits.max_economies, concordance::ECONOMIES, "economies"),
        (sectors, limits.max_sectors, concordance::SECTORS, "sectors"),
    ] {
        if count > max {
            return Err(ImportError::file(
                &spec.concordance.join(file).display().to_string(),
                format!("{count} {what}; the loader accepts at most {max}"),
            ));
        }
    }
    let mut source_ids: Vec<String> = Vec::new();

    // 2. Tariffs.
    let (rates, tariff_files, within) =
        read_tariff_files(&spec.tariffs, spec.tariff_year, &mut resolver, &mut source_ids, progress)?;
    let mut tariff_report = TariffReport { within_economy_rows: within, ..TariffReport::default() };

    // 3. Flows.
    let options = FlowOptions { direction: spec.direction, hs_digits: spec.hs_digits, usd_per_unit };
    let mut years = YearFilter { wanted: spec.year, seen: None, option: "--year" };
    let mut cells: HashMap<u64, Cell> = HashMap::new();
    let mut mfn_weights: Vec<Weighted> = vec![(0.0, 0.0); n * sectors];
    let mut pair_weights: HashMap<u64, Weighted> = HashMap::new();
    let mut flow_files = Vec::new();
    for (index, path) in spec.flows.iter().enumerate() {
        let file_tag = u32::try_from(index).unwrap_or(MIXED - 1);
        let input = Input::open(path)?;
        let mut report = FileReport::of(&input);
        let stage = format!("reading {}", report.facts.name);
        let total = input.size;
        let mut on_bytes = |done: u64| progress(&Progress { stage: &stage, done, total });
        let file = input.shown.clone();
        let (mut used, mut used_value, mut zero, mut unmapped_rows, mut unmapped_value) =
            (0u64, 0.0, 0u64, 0u64, 0.0);
        let mut each = |row: &FlowRow<'_>| -> Result<(), ImportError> {
            let value = row.value_usd / usd_per_unit;
            let exporter = resolver.country(&row.exporter, &file, row.line, value);
            let importer = resolver.country(&row.importer, &file, row.line, value);
            let sector = resolver.product(row.product, &file, row.line, value);
            let (Some(e), Some(r), Some(s)) = (exporter, importer, sector) else {
                unmapped_rows += 1;
                unmapped_value += value;
                return Ok(());
            };
            if value == 0.0 {
                zero += 1;
                return Ok(());
            }
            used += 1;
            used_value += value;
            let slot =
                cells.entry(cell_key(s, e, r)).or_insert(Cell { value: 0.0, file: file_tag, estimate: None });
            slot.value += value;
            if slot.file != file_tag {
                slot.file = MIXED;
            }
            if e != r
                && let Some(hs) = hs_key(row.product)
            {
                let mfn = rates.mfn_rate(r as u32, hs);
                if let (Some(rate), Some(w)) = (mfn, mfn_weights.get_mut(r * sectors + s)) {
                    w.0 += value * rate;
                    w.1 += value;
                }
                if rates.has_preferences(r as u32, e as u32) {
                    let applied = rates.preference_rate(r as u32, e as u32, hs).or(mfn);
                    if let Some(rate) = applied {
                        let w = pair_weights.entry(cell_key(s, e, r)).or_insert((0.0, 0.0));
                        w.0 += value * rate;
                        w.1 += value;
                    }
                }
            }
            Ok(())
        };
        match spec.format {
            FlowFormat::Baci => {
                read_baci(&input, &mut years, &options, &mut report, &mut each, &mut on_bytes)?
            }
            FlowFormat::Comtrade => {
                read_comtrade(&input, &mut years, &options, &mut report, &mut each, &mut on_bytes)?;
            }
        }
        report.rows_used = used;
        report.value_used = used_value;
        if zero > 0 {
            report.skipped.insert("zero value".into(), crate::report::Skipped { rows: zero, value: 0.0 });
        }
        if unmapped_rows > 0 {
            report.skipped.insert(
                "unmapped code".into(),
                crate::report::Skipped { rows: unmapped_rows, value: unmapped_value },
            );
        }
        report.facts = input.finish()?;
        report.source_id = unique_id(source_id_of(&report.facts.name), &mut source_ids);
        flow_files.push(report);
    }
    if resolver.refused() {
        let mut refused: Vec<UnmappedCode> =
            resolver.unmapped.iter().filter(|u| u.sent_to.is_none()).cloned().collect();
        refused.sort_by(|a, b| b.value.total_cmp(&a.value).then(b.rows.cmp(&a.rows)));
        return Err(ImportError::Unmapped(refused));
    }
    let Some(base_year) = years.year() else {
        return Err(ImportError::Options("the trade files have no rows".into()));
    };

    // 4. Domestic shipments.
    let mut domestic = DomesticReport::default();
    let within_value: f64 = cells
        .iter()
        .filter(|(k, _)| {
            let (_, e, r) = split_key(**k);
            e == r
        })
        .map(|(_, c)| c.value)
        .sum();
    domestic.within_economy_value = within_value;
    // (economy, sector) -> (value, quality)
    let mut estimates: DomesticTable = HashMap::new();
    let mut domestic_facts = None;
    match &spec.domestic {
        DomesticSource::Without => domestic.method = "none".into(),
        DomesticSource::Ratio(ratio) => {
            domestic.method = format!("ratio {ratio} x exports");
            for (key, c) in &cells {
                let (s, e, r) = split_key(*key);
                if e != r {
                    estimates.entry((e, s)).or_insert((0.0, Quality::Estimated)).0 += ratio * c.value;
                }
            }
            estimates.retain(|_, (v, _)| *v > 0.0);
        }
        DomesticSource::File(path) => {
            domestic.method = "file".into();
            estimates = read_domestic(path, &concordance)?;
            domestic_facts = Some(facts_of(path)?);
        }
    }
    domestic.estimated_value = estimates.values().map(|(v, _)| v).sum();
    let domestic_id = match &spec.domestic {
        DomesticSource::Without => String::new(),
        DomesticSource::Ratio(_) => unique_id("domestic-estimate".into(), &mut source_ids),
        DomesticSource::File(_) => unique_id("domestic".into(), &mut source_ids),
    };

    // 5. Tariff rows.
    let imports = cells.iter().map(|(key, c)| {
        let (s, e, r) = split_key(*key);
        (s, e, r, c.value)
    });
    let tariff_rows = tariff_rows(
        &rates,
        &concordance,
        &mfn_weights,
        &pair_weights,
        imports,
        spec.default_rate,
        spec.preference_basis.as_deref(),
        &mut tariff_report,
    )?;
    drop((rates, mfn_weights, pair_weights));

    // 6. Write.
    prepare_dir(&spec.out, spec.overwrite)?;
    let mut report = ImportReport {
        out: spec.out.display().to_string(),
        id: id.clone(),
        base_year,
        unit: spec.unit.name().to_owned(),
        flow_files,
        tariff_files,
        tariffs: tariff_report,
        ..ImportReport::default()
    };
    let mixed_id = if report.flow_files.len() > 1 {
        unique_id(format!("{}-combined", format_name(spec.format)), &mut source_ids)
    } else {
        String::new()
    };
    // Domestic estimates join the cells of within-economy trade, or stand alone.
    for ((e, s), (v, q)) in estimates {
        let slot = cells.entry(cell_key(s, e, e)).or_insert(Cell { value: 0.0, file: MIXED, estimate: None });
        slot.value += v;
        slot.estimate = Some(q);
    }
    let mut rows: Vec<(u64, Cell)> = cells.into_iter().collect();
    rows.sort_unstable_by_key(|(k, _)| *k);
    let decimals = spec.unit.decimals();
    let mut flows_out = Out::create(&spec.out, "flows.csv")?;
    flows_out.bytes(b"exporter,importer,sector,value,source,quality\n")?;
    for (key, c) in &rows {
        let (s, e, r) = split_key(*key);
        let value = format_number(c.value, decimals);
        if value == "0" {
            report.zero_cells += 1;
            continue;
        }
        let (source, quality) = match (c.estimate, c.file) {
            (Some(q), _) => (domestic_id.as_str(), q.name()),
            (None, MIXED) => (mixed_id.as_str(), "reported"),
            (None, f) => (
                report.flow_files.get(f as usize).map_or(mixed_id.as_str(), |r| r.source_id.as_str()),
                "reported",
            ),
        };
        if e == r {
            domestic.rows += 1;
        }
        let (Some(exporter), Some(importer), Some(sector)) =
            (concordance.economies.get(e), concordance.economies.get(r), concordance.sectors.get(s))
        else {
            continue;
        };
        report.flow_rows += 1;
        report.total_value += c.value;
        flows_out.line(format_args!("{exporter},{importer},{sector},{value},{source},{quality}\n"))?;
    }
    flows_out.finish()?;
    drop(rows);
    report.tariff_rows = write_tariffs(&spec.out, &tariff_rows, &concordance)?;
    drop(tariff_rows);
    report.domestic = domestic;
    for name in [concordance::ECONOMIES, concordance::SECTORS].iter().chain(concordance::COPIED) {
        let from = spec.concordance.join(name);
        if from.exists() {
            copy(&from, &spec.out, name)?;
        }
    }

    let mut unmapped = resolver.unmapped.clone();
    unmapped.sort_by(|a, b| b.value.total_cmp(&a.value).then(b.rows.cmp(&a.rows)));
    report.unmapped = unmapped;

    // dataset.toml with every source.
    let mut sources = Vec::new();
    for f in &report.flow_files {
        sources.push(flow_source(spec.format, f, spec.unit));
    }
    if !mixed_id.is_empty() {
        let names: Vec<&str> = report.flow_files.iter().map(|f| f.source_id.as_str()).collect();
        sources.push(SourceEntry {
            id: mixed_id.clone(),
            title: format!("{} files, added together", format_title(spec.format)),
            url: String::new(),
            note: format!("Flow cells made of rows of several files: {}.", names.join(", ")),
        });
    }
    let weighting = format!(
        "HS 6-digit rates averaged to sectors: {} of {} MFN rows and {} of {} preference rows trade-weighted \
         by the imports of this import's trade files (same importer, partner and product), the others simple \
         means of the products' rates; {} rows filled with the default rate (basis DEFAULT).",
        report.tariffs.mfn_weighted,
        report.tariffs.mfn_rows,
        report.tariffs.preference_weighted,
        report.tariffs.preference_rows,
        report.tariffs.default_rows
    );
    for f in &report.tariff_files {
        sources.push(SourceEntry {
            id: f.source_id.clone(),
            title: format!("{} applied tariffs", f.format),
            url: "https://wits.worldbank.org/".into(),
            note: format!("{} {weighting}", f.note()),
        });
    }
    if !domestic_id.is_empty() {
        let note = match (&spec.domestic, &domestic_facts) {
            (DomesticSource::File(_), Some(facts)) => format!(
                "Domestic shipments (exporter = importer) from {}, {} bytes, {}; no trade statistic covers them. \
                 Trade between countries of one economy is added to them.",
                facts.name, facts.bytes, facts.sha256
            ),
            (DomesticSource::Ratio(r), _) => format!(
                "Estimated: domestic shipments = {r} x the economy's exports in the sector to other economies \
                 (no trade statistic covers them); trade between countries of one economy is added to them."
            ),
            _ => String::new(),
        };
        sources.push(SourceEntry {
            id: domestic_id.clone(),
            title: "Domestic shipments (estimated)".into(),
            url: String::new(),
            note,
        });
    }
    let mut concordance_files = vec![
        facts_of(&spec.concordance.join(concordance::HS_TO_SECTOR))?,
        facts_of(&spec.concordance.join(concordance::COUNTRY_TO_ECONOMY))?,
    ];
    concordance_files.extend(country_codes.iter().cloned());
    concordance_files.extend(product_codes.iter().cloned());
    let listed: Vec<String> =
        concordance_files.iter().map(|f| format!("{} ({} bytes, {})", f.name, f.bytes, f.sha256)).collect();
    sources.push(SourceEntry {
        id: unique_id("concordance".into(), &mut source_ids),
        title: "Concordance of HS products to sectors and countries to economies".into(),
        url: String::new(),
        note: format!("Files: {}.", listed.join("; ")),
    });
    sources.extend(extra_sources(&spec.concordance, &source_ids)?);

    let title = spec.title.clone().unwrap_or_else(|| {
        format!("{} {base_year}, {n} economies, {sectors} sectors (imported)", format_title(spec.format))
    });
    let description = format!(
        "Imported by tariff-import from {} ({}) through the concordance in {}. Values in USD {} at the \
         prices of the source ({}). Flows from the trade files are quality reported; domestic shipments \
         (exporter = importer) are {}, quality estimated where estimated. Base tariffs: {} See METHOD.md.",
        report.flow_files.iter().map(|f| f.facts.name.as_str()).collect::<Vec<_>>().join(", "),
        format_title(spec.format),
        spec.concordance.display(),
        spec.unit.name(),
        match spec.format {
            FlowFormat::Baci => "FOB, reconciled by CEPII",
            FlowFormat::Comtrade => match spec.direction {
                Direction::Imports => "importers' declarations, CIF",
                Direction::Exports => "exporters' declarations, FOB",
            },
        },
        match &spec.domestic {
            DomesticSource::Without => "only the trade within group economies".to_owned(),
            DomesticSource::Ratio(r) =>
                format!("estimated as {r} x exports plus trade within group economies"),
            DomesticSource::File(_) => "from domestic.csv plus trade within group economies".to_owned(),
        },
        if report.tariff_files.is_empty() {
            "none read; every rate is the default rate.".to_owned()
        } else {
            weighting.clone()
        },
    );
    let meta = DatasetMeta {
        id,
        title,
        base_year,
        currency: "USD".into(),
        unit: spec.unit.name().into(),
        description,
        sources,
    };
    meta.write(&spec.out)?;
    report.seconds = started.elapsed().as_secs_f64();
    std::fs::write(spec.out.join("METHOD.md"), crate::method::method_md(&meta, &report))
        .map_err(|e| ImportError::io(&spec.out.join("METHOD.md"), e))?;

    progress(&Progress { stage: "checking the dataset", done: 0, total: 0 });
    Dataset::from_dir(&spec.out)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn format_name(format: FlowFormat) -> &'static str {
    match format {
        FlowFormat::Baci => "baci",
        FlowFormat::Comtrade => "comtrade",
    }
}

fn format_title(format: FlowFormat) -> &'static str {
    match format {
        FlowFormat::Baci => "CEPII BACI",
        FlowFormat::Comtrade => "UN Comtrade",
    }
}

fn flow_source(format: FlowFormat, f: &FileReport, unit: Unit) -> SourceEntry {
    let (title, url) = match format {
        FlowFormat::Baci => (
            "CEPII BACI: bilateral trade flows at the HS 6-digit level (Etalab Open Licence 2.0)",
            "http://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37",
        ),
        FlowFormat::Comtrade => {
            ("UN Comtrade: international trade statistics", "https://comtradeplus.un.org/")
        }
    };
    SourceEntry {
        id: f.source_id.clone(),
        title: title.to_owned(),
        url: url.into(),
        note: format!("{} Value used: {} USD {}.", f.note(), format_number(f.value_used, 3), unit.name()),
    }
}

/// `sources.toml` of the concordance: more `[[sources]]` for dataset.toml
/// (those that horizons.csv or sectors.csv cite).
fn extra_sources(dir: &Path, taken: &[String]) -> Result<Vec<SourceEntry>, ImportError> {
    #[derive(serde::Deserialize)]
    struct SourcesToml {
        #[serde(default)]
        sources: Vec<SourceEntry>,
    }
    let path = dir.join(concordance::SOURCES);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ImportError::io(&path, e)),
    };
    let parsed: SourcesToml = toml::from_str(&text)
        .map_err(|e| ImportError::file(&path.display().to_string(), e.message().to_owned()))?;
    for s in &parsed.sources {
        if taken.contains(&s.id) {
            return Err(ImportError::file(
                &path.display().to_string(),
                format!("source `{}` is also the id of an imported file", s.id),
            ));
        }
    }
    Ok(parsed.sources)
}

/// How a flow figure came about, as flows.csv spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quality {
    Reported,
    Derived,
    Estimated,
}

impl Quality {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Quality::Reported => "reported",
            Quality::Derived => "derived",
            Quality::Estimated => "estimated",
        }
    }
}

/// Reads `domestic.csv`: `economy,sector,value[,quality]`.
fn read_domestic(path: &Path, concordance: &Concordance) -> Result<DomesticTable, ImportError> {
    use crate::input::{Header, cell, line_of, next_record, number};
    let input = Input::open(path)?;
    let file = input.shown.clone();
    let mut reader = input.csv()?;
    let header = Header::read(&file, &mut reader)?;
    let (economy, sector, value) =
        (header.require(&["economy"])?, header.require(&["sector"])?, header.require(&["value"])?);
    let quality = header.find(&["quality"]);
    let mut out = HashMap::new();
    let mut record = csv::ByteRecord::new();
    while next_record(&file, &mut reader, &mut record)? {
        if record.iter().all(<[u8]>::is_empty) {
            continue;
        }
        let line = line_of(&record);
        let e = concordance.economy(cell(&record, economy)).ok_or_else(|| {
            ImportError::row(
                &file,
                line,
                format!("column `economy`: `{}` is not in economies.csv", cell(&record, economy)),
            )
        })?;
        let s = concordance.sector(cell(&record, sector)).ok_or_else(|| {
            ImportError::row(
                &file,
                line,
                format!("column `sector`: `{}` is not in sectors.csv", cell(&record, sector)),
            )
        })?;
        let v = number(&file, &record, value, "value")?;
        if v < 0.0 {
            return Err(ImportError::row(&file, line, format!("column `value`: {v} is negative")));
        }
        let q = match quality.map(|q| cell(&record, q)) {
            None | Some("" | "estimated") => Quality::Estimated,
            Some("reported") => Quality::Reported,
            Some("derived") => Quality::Derived,
            Some(other) => {
                return Err(ImportError::row(
                    &file,
                    line,
                    format!("column `quality`: `{other}` is not reported, derived or estimated"),
                ));
            }
        };
        if out.insert((e, s), (v, q)).is_some() {
            return Err(ImportError::row(&file, line, "this economy and sector already has a row"));
        }
    }
    out.retain(|_, (v, _)| *v > 0.0);
    Ok(out)
}
