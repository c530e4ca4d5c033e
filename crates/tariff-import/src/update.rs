//! The tariffs-only import: WITS files into the tariffs.csv of an existing
//! dataset folder, its economies, sectors and flows unchanged. It shares the
//! tariff reading and weighting of the import ([`crate::tariff_rates`]).

use std::{collections::HashMap, path::PathBuf, time::Instant};

use tariff_scenario::dataset::Dataset;

use crate::{
    Progress,
    concordance::Concordance,
    error::ImportError,
    input::Input,
    report::{ImportReport, TariffReport, UnmappedCode},
    resolve::Resolver,
    tariff_rates::{read_tariff_files, tariff_rows, wits_id, write_tariffs},
    write::SourceEntry,
};

/// A tariffs-only import: WITS files into the tariffs.csv of an existing
/// dataset folder (its flows unchanged).
#[derive(Debug, Clone)]
pub struct TariffUpdateSpec {
    /// WITS tariff files.
    pub files: Vec<PathBuf>,
    /// The concordance: hs_to_sector.csv and country_to_economy.csv (the
    /// economies and sectors are the dataset's).
    pub concordance: PathBuf,
    /// The dataset folder whose tariffs.csv is replaced.
    pub dataset: PathBuf,
    pub country_codes: Option<PathBuf>,
    pub tariff_year: Option<i32>,
    pub unmapped_to: Vec<String>,
    pub default_rate: Option<f64>,
    pub preference_basis: Option<String>,
}

/// Replaces the tariffs of the dataset in `spec.dataset` with those of WITS
/// files: rates averaged simply over each sector's products (the dataset's
/// flows are per sector, so there are no product weights), the files added
/// to dataset.toml's sources; the dataset is loaded afterwards to prove it.
///
/// # Errors
/// As [`import`](crate::import()), and a dataset folder without economies.csv, sectors.csv,
/// flows.csv or dataset.toml.
pub fn update_tariffs(
    spec: &TariffUpdateSpec,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<ImportReport, ImportError> {
    use crate::input::{Header, cell, line_of, next_record, number};
    let started = Instant::now();
    if spec.files.is_empty() {
        return Err(ImportError::Options("no tariff file given".into()));
    }
    let mut concordance = Concordance::load_with_lists(&spec.concordance, &spec.dataset)?;
    if let Some(path) = &spec.country_codes {
        concordance.add_country_codes(path)?;
    }
    let concordance = concordance;
    let (mut catch_economy, mut catch_sector) = (None, None);
    for code in &spec.unmapped_to {
        if let Some(e) = concordance.economy(code) {
            catch_economy = Some(e);
        } else if let Some(s) = concordance.sector(code) {
            catch_sector = Some(s);
        } else {
            return Err(ImportError::Options(format!(
                "--unmapped-to {code}: not an economy nor a sector of the dataset"
            )));
        }
    }
    let mut resolver = Resolver::new(&concordance, catch_economy, catch_sector);
    let meta_path = spec.dataset.join("dataset.toml");
    let meta_text = std::fs::read_to_string(&meta_path).map_err(|e| ImportError::io(&meta_path, e))?;
    let mut meta: toml::Table = toml::from_str(&meta_text)
        .map_err(|e| ImportError::file(&meta_path.display().to_string(), e.message().to_owned()))?;
    let mut source_ids: Vec<String> = meta
        .get("sources")
        .and_then(toml::Value::as_array)
        .map(|a| {
            a.iter().filter_map(|s| s.get("id").and_then(toml::Value::as_str).map(str::to_owned)).collect()
        })
        .unwrap_or_default();
    // A file imported again replaces its entry.
    let replaced: Vec<String> = spec.files.iter().map(|p| wits_id(&crate::input::file_name(p))).collect();
    source_ids.retain(|id| !replaced.contains(id));
    let (rates, tariff_files, within) =
        read_tariff_files(&spec.files, spec.tariff_year, &mut resolver, &mut source_ids, progress)?;
    if resolver.refused() {
        let refused: Vec<UnmappedCode> =
            resolver.unmapped.iter().filter(|u| u.sent_to.is_none()).cloned().collect();
        return Err(ImportError::Unmapped(refused));
    }

    // The dataset's imports, for the rows that need a rate.
    let flows = Input::open(&spec.dataset.join("flows.csv"))?;
    let mut reader = flows.csv()?;
    let header = Header::read(&flows.shown, &mut reader)?;
    let (ce, cr, cs, cv) = (
        header.require(&["exporter"])?,
        header.require(&["importer"])?,
        header.require(&["sector"])?,
        header.require(&["value"])?,
    );
    let mut imports: Vec<(usize, usize, usize, f64)> = Vec::new();
    let mut record = csv::ByteRecord::new();
    while next_record(&flows.shown, &mut reader, &mut record)? {
        if record.iter().all(|c| c.trim_ascii().is_empty()) {
            continue;
        }
        let line = line_of(&record);
        let unknown = |column: &str, code: &str| {
            ImportError::row(&flows.shown, line, format!("column `{column}`: `{code}` is not in the dataset"))
        };
        let (e, r, s) = (cell(&record, ce), cell(&record, cr), cell(&record, cs));
        let e_i = concordance.economy(e).ok_or_else(|| unknown("exporter", e))?;
        let r_i = concordance.economy(r).ok_or_else(|| unknown("importer", r))?;
        let s_i = concordance.sector(s).ok_or_else(|| unknown("sector", s))?;
        let value = number(&flows.shown, &record, cv, "value")?;
        if e_i != r_i && value > 0.0 {
            imports.push((s_i, e_i, r_i, value));
        }
    }
    drop(reader);
    let mut tariff_report = TariffReport { within_economy_rows: within, ..TariffReport::default() };
    let n_cells = concordance.economies.len() * concordance.sectors.len();
    let rows = tariff_rows(
        &rates,
        &concordance,
        &vec![(0.0, 0.0); n_cells],
        &HashMap::new(),
        imports.into_iter(),
        spec.default_rate,
        spec.preference_basis.as_deref(),
        &mut tariff_report,
    )?;
    let tariff_rows_written = write_tariffs(&spec.dataset, &rows, &concordance)?;

    let note = format!(
        "HS 6-digit rates averaged to sectors by simple means ({} MFN rows, {} preference rows; {} rows at the \
         default rate, basis DEFAULT); written by tariff-import into an existing dataset, without product weights.",
        tariff_report.mfn_rows, tariff_report.preference_rows, tariff_report.default_rows
    );
    let mut sources: Vec<toml::Value> = meta
        .get("sources")
        .and_then(toml::Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| {
            s.get("id").and_then(toml::Value::as_str).is_none_or(|id| !replaced.iter().any(|r| r == id))
        })
        .collect();
    for f in &tariff_files {
        let entry = SourceEntry {
            id: f.source_id.clone(),
            title: format!("{} applied tariffs", f.format),
            url: "https://wits.worldbank.org/".into(),
            note: format!("{} {note}", f.note()),
        };
        sources.push(
            toml::Value::try_from(entry).map_err(|e| ImportError::Options(format!("dataset.toml: {e}")))?,
        );
    }
    meta.insert("sources".into(), toml::Value::Array(sources));
    let text = toml::to_string(&meta).map_err(|e| ImportError::Options(format!("dataset.toml: {e}")))?;
    std::fs::write(&meta_path, text).map_err(|e| ImportError::io(&meta_path, e))?;

    progress(&Progress { stage: "checking the dataset", done: 0, total: 0 });
    let dataset = Dataset::from_dir(&spec.dataset)?;
    let mut unmapped = resolver.unmapped.clone();
    unmapped.sort_by_key(|u| std::cmp::Reverse(u.rows));
    Ok(ImportReport {
        out: spec.dataset.display().to_string(),
        id: dataset.id.clone(),
        base_year: dataset.base_year,
        unit: dataset.unit.clone(),
        tariff_files,
        unmapped,
        tariffs: tariff_report,
        tariff_rows: tariff_rows_written,
        flow_rows: dataset.flow_row_counts().0 as u64,
        seconds: started.elapsed().as_secs_f64(),
        ..ImportReport::default()
    })
}
