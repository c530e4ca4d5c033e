//! Reading an observed folder: observation files and `exchange-rates.csv`.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
};

use super::{Observation, Observed, ObservedFigure, ObservedRate, Period, Subject};
use crate::dataset::{
    Dataset, DatasetError,
    csv_table::{CsvTable, Row},
};

const EXCHANGE_RATES_CSV: &str = "exchange-rates.csv";

const OBSERVATION_COLUMNS: &[&str] = &[
    "id",
    "scope",
    "economy",
    "partner",
    "sector",
    "figure",
    "period",
    "compared_with",
    "change_pct",
    "currency",
    "source",
    "quality",
];

/// Where an observed folder's files come from.
#[derive(Debug, Clone)]
pub enum ObservedSource {
    /// A folder on disk: every `*.csv` in it, in name order.
    Dir(PathBuf),
    /// Files compiled in, as (name, text).
    Embedded(&'static [(&'static str, &'static str)]),
}

impl ObservedSource {
    /// (name for errors, file name, text) of every CSV file.
    fn files(&self) -> Result<Vec<(String, String, String)>, DatasetError> {
        match self {
            ObservedSource::Embedded(files) => Ok(files
                .iter()
                .map(|(name, text)| {
                    (format!("builtin:observed/{name}"), (*name).to_owned(), (*text).to_owned())
                })
                .collect()),
            ObservedSource::Dir(dir) => {
                let shown = dir.display().to_string();
                let entries =
                    std::fs::read_dir(dir).map_err(|e| DatasetError::in_file(&shown, e.to_string()))?;
                let mut paths: Vec<PathBuf> = Vec::new();
                for entry in entries {
                    let path = entry.map_err(|e| DatasetError::in_file(&shown, e.to_string()))?.path();
                    if path.extension().is_some_and(|x| x == "csv") {
                        paths.push(path);
                    }
                }
                paths.sort();
                if paths.is_empty() {
                    return Err(DatasetError::in_file(&shown, "no observation files (*.csv) in the folder"));
                }
                paths
                    .into_iter()
                    .map(|path| {
                        let name =
                            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                        let text = read(&path)?;
                        Ok((path.display().to_string(), name, text))
                    })
                    .collect()
            }
        }
    }
}

fn read(path: &Path) -> Result<String, DatasetError> {
    std::fs::read_to_string(path)
        .map_err(|e| DatasetError::in_file(&path.display().to_string(), e.to_string()))
}

fn period(row: &Row<'_>, column: &str) -> Result<Period, DatasetError> {
    row.required(column)?.parse().map_err(|e| row.error(format!("`{column}`: {e}")))
}

/// Checks a code against the dataset, when there is one.
fn known(row: &Row<'_>, dataset: Option<&Dataset>, column: &str, code: &str) -> Result<(), DatasetError> {
    match dataset {
        Some(d) if d.economy(code).is_none() => {
            Err(row.error(format!("unknown economy `{code}` in `{column}` (dataset `{}`)", d.id)))
        }
        _ => Ok(()),
    }
}

fn observation(
    row: &Row<'_>,
    dataset: Option<&Dataset>,
    location: String,
) -> Result<Observation, DatasetError> {
    let id = row.required("id")?.to_owned();
    let figure_text = row.required("figure")?;
    let figure = ObservedFigure::ALL.into_iter().find(|f| f.name() == figure_text).ok_or_else(|| {
        let names: Vec<&str> = ObservedFigure::ALL.iter().map(|f| f.name()).collect();
        row.error(format!("figure `{figure_text}` is not one of {}", names.join(", ")))
    })?;
    let economy = row.required("economy")?;
    known(row, dataset, "economy", economy)?;
    let subject = match row.required("scope")? {
        "flow" => {
            let partner = row.required("partner")?;
            known(row, dataset, "partner", partner)?;
            if !figure.of_flows() {
                return Err(row.error(format!("figure `{figure_text}` is an economy's, not a flow's")));
            }
            Subject::Flow { exporter: economy.to_owned(), importer: partner.to_owned() }
        }
        "economy" => {
            if !row.text("partner").is_empty() {
                return Err(row.error("`partner` must be empty for scope `economy`"));
            }
            if figure.of_flows() {
                return Err(row.error(format!("figure `{figure_text}` is a flow's, not an economy's")));
            }
            Subject::Economy(economy.to_owned())
        }
        other => return Err(row.error(format!("scope `{other}` is not flow or economy"))),
    };
    let sector = match row.required("sector")? {
        "*" => None,
        code => {
            if let Some(d) = dataset.filter(|d| d.sector(code).is_none()) {
                return Err(row.error(format!("unknown sector `{code}` (dataset `{}`)", d.id)));
            }
            Some(code.to_owned())
        }
    };
    let currency = match row.required("currency")? {
        "-" => String::new(),
        code if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) => code.to_owned(),
        other => return Err(row.error(format!("currency `{other}` is not an ISO code such as JPY, or `-`"))),
    };
    if currency.is_empty() && figure != ObservedFigure::Volume {
        return Err(row.error(format!("figure `{figure_text}` needs a currency (`-` is for volumes)")));
    }
    let (period, compared_with) = (period(row, "period")?, period(row, "compared_with")?);
    if compared_with >= period {
        return Err(row.error(format!("compared_with {compared_with} is not before period {period}")));
    }
    Ok(Observation {
        id,
        subject,
        sector,
        figure,
        period,
        compared_with,
        change_pct: row.number("change_pct")?,
        currency,
        source: row.required("source")?.to_owned(),
        quality: row.quality("quality")?,
        note: row.text("note").to_owned(),
        location,
    })
}

fn rate(row: &Row<'_>) -> Result<ObservedRate, DatasetError> {
    let per_usd = row.number("per_usd")?;
    if per_usd <= 0.0 {
        return Err(row.error(format!("per_usd {per_usd} must be positive")));
    }
    Ok(ObservedRate {
        currency: row.required("currency")?.to_owned(),
        per_usd,
        period: period(row, "period")?,
        source: row.required("source")?.to_owned(),
        quality: row.quality("quality")?,
        note: row.text("note").to_owned(),
    })
}

/// Reads and validates an observed folder. With a dataset, every economy and
/// sector code must be one of its codes.
pub fn load_observed(source: &ObservedSource, dataset: Option<&Dataset>) -> Result<Observed, DatasetError> {
    let mut observed = Observed::default();
    let mut ids: HashSet<String> = HashSet::new();
    let mut rates = HashSet::new();
    for (shown, name, text) in source.files()? {
        if name == EXCHANGE_RATES_CSV {
            let table = CsvTable::parse(
                &shown,
                &text,
                &["currency", "per_usd", "period", "source", "quality"],
                &["note"],
            )?;
            for row in table.rows() {
                let r = rate(&row)?;
                if !rates.insert((r.currency.clone(), r.period)) {
                    return Err(row.error(format!("{} {} already has a rate", r.currency, r.period)));
                }
                observed.exchange_rates.push(r);
            }
            continue;
        }
        let table = CsvTable::parse(&shown, &text, OBSERVATION_COLUMNS, &["note"])?;
        for row in table.rows() {
            let o = observation(&row, dataset, format!("{shown}:{}", row.line()))?;
            if !ids.insert(o.id.clone()) {
                return Err(row.error(format!("id `{}` is used twice", o.id)));
            }
            observed.observations.push(o);
        }
    }
    Ok(observed)
}
