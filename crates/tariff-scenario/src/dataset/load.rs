//! Reading a dataset's files into a validated [`Dataset`].

use std::{
    collections::HashSet,
    io::Read,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use super::{
    Agreement, AgreementRate, Dataset, DatasetError, Economy, InputShares, Source, TariffRow,
    csv_table::{CsvTable, stream_rows},
    elasticity_files::{load_elasticities, load_sectors},
    flows::{FlowBuilder, FlowTable},
    horizons::{Horizon, load_horizons},
    inputs::load_inputs,
};
use crate::Date;

const DATASET_TOML: &str = "dataset.toml";
const ECONOMIES_CSV: &str = "economies.csv";
const SECTORS_CSV: &str = "sectors.csv";
const FLOWS_CSV: &str = "flows.csv";
const TARIFFS_CSV: &str = "tariffs.csv";
const ELASTICITIES_CSV: &str = "elasticities.csv";
const HORIZONS_CSV: &str = "horizons.csv";
const AGREEMENTS_TOML: &str = "agreements.toml";
const INPUTS_CSV: &str = "inputs.csv";

/// Where a dataset's files come from: a folder, or text compiled into the binary.
pub trait FileSource {
    /// The text of a file, `None` when it does not exist.
    fn read(&self, name: &str) -> Result<Option<String>, DatasetError>;
    /// How to name the file in errors.
    fn name_of(&self, name: &str) -> String;
    /// The file as a stream, `None` when it does not exist: the large files
    /// (flows, tariffs) are read through this, never whole.
    fn open(&self, name: &str) -> Result<Option<Box<dyn Read + Send + '_>>, DatasetError> {
        Ok(self
            .read(name)?
            .map(|text| Box::new(std::io::Cursor::new(text.into_bytes())) as Box<dyn Read + Send>))
    }
}

/// A dataset folder on disk.
#[derive(Debug, Clone)]
pub struct DirSource(pub PathBuf);

impl FileSource for DirSource {
    fn read(&self, name: &str) -> Result<Option<String>, DatasetError> {
        let path = self.0.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(DatasetError::in_file(&path.display().to_string(), e.to_string())),
        }
    }

    fn name_of(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    fn open(&self, name: &str) -> Result<Option<Box<dyn Read + Send + '_>>, DatasetError> {
        let path = self.0.join(name);
        match std::fs::File::open(&path) {
            Ok(file) => Ok(Some(Box::new(file))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(DatasetError::in_file(&path.display().to_string(), e.to_string())),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatasetToml {
    id: String,
    title: String,
    #[serde(default)]
    description: String,
    base_year: i32,
    currency: String,
    unit: String,
    #[serde(default)]
    sources: Vec<SourceToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceToml {
    id: String,
    title: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgreementsToml {
    #[serde(default)]
    agreements: Vec<AgreementToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgreementToml {
    code: String,
    name: String,
    parties: Vec<String>,
    in_force: Option<String>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    rates: Vec<AgreementRateToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgreementRateToml {
    importer: String,
    exporters: Vec<String>,
    sector: String,
    stages: Vec<StageToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageToml {
    from: String,
    rate_pct: f64,
}

fn parse_toml<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, DatasetError> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |span| line_of(text, span.start));
        DatasetError::at(file, line, e.message().trim().to_owned())
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes().iter().take(offset).filter(|&&b| b == b'\n').count() + 1
}

pub(super) fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code != "*"
        && code.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// How large a dataset may be. Flows are stored sparsely, so rows weigh
/// linearly; the economies bound the size of one sector market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetLimits {
    pub max_economies: usize,
    pub max_sectors: usize,
}

impl Default for DatasetLimits {
    fn default() -> Self {
        DatasetLimits { max_economies: 250, max_sectors: 20_000 }
    }
}

impl Dataset {
    /// Loads and validates the dataset in a folder, within the default limits.
    pub fn from_dir(dir: &Path) -> Result<Dataset, DatasetError> {
        Dataset::from_dir_with_limits(dir, &DatasetLimits::default())
    }

    /// [`Dataset::from_dir`] within `limits`.
    pub fn from_dir_with_limits(dir: &Path, limits: &DatasetLimits) -> Result<Dataset, DatasetError> {
        if !dir.is_dir() {
            return Err(DatasetError::in_file(
                &dir.display().to_string(),
                "not a dataset folder (expected dataset.toml, economies.csv, sectors.csv, flows.csv, tariffs.csv)",
            ));
        }
        Dataset::load_with_limits(&DirSource(dir.to_path_buf()), limits)
    }

    /// Loads and validates a dataset from any [`FileSource`], within the default limits.
    pub fn load(files: &dyn FileSource) -> Result<Dataset, DatasetError> {
        Dataset::load_with_limits(files, &DatasetLimits::default())
    }

    /// [`Dataset::load`] within `limits`.
    pub fn load_with_limits(files: &dyn FileSource, limits: &DatasetLimits) -> Result<Dataset, DatasetError> {
        let read = |name: &str| -> Result<String, DatasetError> {
            files.read(name)?.ok_or_else(|| DatasetError::in_file(&files.name_of(name), "file is missing"))
        };

        let meta_file = files.name_of(DATASET_TOML);
        let meta: DatasetToml = parse_toml(&meta_file, &read(DATASET_TOML)?)?;
        if !valid_code(&meta.id) {
            return Err(DatasetError::in_file(
                &meta_file,
                format!("id `{}` is not a valid identifier", meta.id),
            ));
        }
        let mut source_ids = HashSet::new();
        for s in &meta.sources {
            if !source_ids.insert(s.id.as_str()) {
                return Err(DatasetError::in_file(&meta_file, format!("source `{}` is listed twice", s.id)));
            }
        }
        if Date::end_of_year(meta.base_year).is_none() {
            return Err(DatasetError::in_file(
                &meta_file,
                format!("base_year {} is out of range", meta.base_year),
            ));
        }

        let economies = load_economies(&files.name_of(ECONOMIES_CSV), &read(ECONOMIES_CSV)?)?;
        let economy_index: rustc_hash::FxHashMap<String, usize> =
            economies.iter().enumerate().map(|(i, e)| (e.code.clone(), i)).collect();
        let sectors = load_sectors(&files.name_of(SECTORS_CSV), &read(SECTORS_CSV)?)?;
        let too_many = |file: &str, what: &str, count: usize, max: usize| {
            DatasetError::in_file(&files.name_of(file), format!("{count} {what}; at most {max} are allowed"))
        };
        if economies.len() > limits.max_economies {
            return Err(too_many(ECONOMIES_CSV, "economies", economies.len(), limits.max_economies));
        }
        if sectors.len() > limits.max_sectors {
            return Err(too_many(SECTORS_CSV, "sectors", sectors.len(), limits.max_sectors));
        }
        let sector_index: rustc_hash::FxHashMap<String, usize> =
            sectors.iter().enumerate().map(|(i, s)| (s.code.clone(), i)).collect();
        let codes = Codes { economies: &economy_index, sectors: &sector_index };

        let n = economies.len();
        let open = |name: &str| -> Result<Box<dyn Read + Send + '_>, DatasetError> {
            files.open(name)?.ok_or_else(|| DatasetError::in_file(&files.name_of(name), "file is missing"))
        };
        let source_list: Vec<String> = meta.sources.iter().map(|s| s.id.clone()).collect();
        // The large files are parsed at once, on two threads: flows on this
        // one, tariffs then the input shares (optional) on the other. Their
        // errors still come in the order the files are checked in (flows first,
        // tariffs after the elasticities, horizons and agreements, inputs last).
        let (flows_file, tariffs_file) = (files.name_of(FLOWS_CSV), files.name_of(TARIFFS_CSV));
        let inputs_file = files.name_of(INPUTS_CSV);
        let (flows_input, tariffs_input) = (open(FLOWS_CSV), open(TARIFFS_CSV));
        let inputs_input = files.open(INPUTS_CSV);
        let sector_count = sectors.len();
        let (flows, (tariffs, inputs)) = std::thread::scope(|scope| {
            let others = scope.spawn(|| {
                let tariffs = tariffs_input.and_then(|input| load_tariffs(&tariffs_file, input, &codes));
                let inputs = inputs_input.and_then(|input| match input {
                    Some(input) => load_inputs(&inputs_file, input, &codes, &source_ids, sector_count),
                    None => Ok(InputShares::default()),
                });
                (tariffs, inputs)
            });
            let flows = flows_input.and_then(|input| load_flows(&flows_file, input, &codes, source_list));
            fn stopped<T>(file: &str) -> Result<T, DatasetError> {
                Err(DatasetError::in_file(file, "reading the file stopped"))
            }
            let others = others.join().unwrap_or_else(|_| (stopped(&tariffs_file), stopped(&inputs_file)));
            (flows, others)
        });
        let flows = flows?;

        let mut elasticities = Vec::with_capacity(sectors.len() * n);
        for s in &sectors {
            elasticities.extend(std::iter::repeat_n(s.elasticities, n));
        }
        if let Some(text) = files.read(ELASTICITIES_CSV)? {
            load_elasticities(&files.name_of(ELASTICITIES_CSV), &text, &codes, &mut elasticities)?;
        }
        let mut horizons = vec![Horizon::long_run(&sectors, elasticities)];
        if let Some(text) = files.read(HORIZONS_CSV)? {
            horizons.extend(load_horizons(
                &files.name_of(HORIZONS_CSV),
                &text,
                &codes,
                &sectors,
                &source_ids,
            )?);
        }

        let agreements = match files.read(AGREEMENTS_TOML)? {
            Some(text) => load_agreements(&files.name_of(AGREEMENTS_TOML), &text, &codes)?,
            None => Vec::new(),
        };
        let tariffs = tariffs?;
        let inputs = inputs?;

        let dataset = Dataset {
            id: meta.id,
            title: meta.title,
            description: meta.description,
            base_year: meta.base_year,
            currency: meta.currency,
            unit: meta.unit,
            sources: meta
                .sources
                .into_iter()
                .map(|s| Source { id: s.id, title: s.title, url: s.url, note: s.note })
                .collect(),
            economies,
            sectors,
            tariffs,
            agreements,
            inputs,
            flows,
            horizons,
            economy_index,
            sector_index,
            general_rows: Vec::new(),
            specific_rows: Vec::new(),
            tariff_agreement: Vec::new(),
            agreement_rows: Vec::new(),
            base_rates: Vec::new(),
        };
        let mut dataset = dataset;
        dataset.index_tariffs();
        check_base_rates(&dataset, &tariffs_file)?;
        Ok(dataset)
    }
}

pub(super) struct Codes<'a> {
    pub(super) economies: &'a rustc_hash::FxHashMap<String, usize>,
    sectors: &'a rustc_hash::FxHashMap<String, usize>,
}

impl Codes<'_> {
    pub(super) fn economy(
        &self,
        row: &super::csv_table::Row<'_>,
        column: &str,
    ) -> Result<usize, DatasetError> {
        let code = row.required(column)?;
        self.economies
            .get(code)
            .copied()
            .ok_or_else(|| row.error(format!("unknown economy `{code}` in `{column}`")))
    }

    pub(super) fn sector(
        &self,
        row: &super::csv_table::Row<'_>,
        column: &str,
    ) -> Result<usize, DatasetError> {
        let code = row.required(column)?;
        self.sectors
            .get(code)
            .copied()
            .ok_or_else(|| row.error(format!("unknown sector `{code}` in `{column}`")))
    }
}

fn load_economies(file: &str, text: &str) -> Result<Vec<Economy>, DatasetError> {
    let table = CsvTable::parse(file, text, &["code", "name", "groups", "gdp"], &["currency"])?;
    let mut economies: Vec<Economy> = Vec::new();
    for row in table.rows() {
        let code = row.required("code")?;
        if !valid_code(code) {
            return Err(row.error(format!("code `{code}` must be letters, digits, `_`, `-` or `.`")));
        }
        if economies.iter().any(|e| e.code == code) {
            return Err(row.error(format!("economy `{code}` is listed twice")));
        }
        let gdp = row.number("gdp")?;
        if gdp < 0.0 {
            return Err(row.error(format!("gdp {gdp} is negative")));
        }
        let groups: Vec<String> = row
            .text("groups")
            .split(';')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = groups.iter().find(|g| !valid_code(g)) {
            return Err(row.error(format!("group `{bad}` must be letters, digits, `_`, `-` or `.`")));
        }
        economies.push(Economy {
            code: code.to_owned(),
            name: row.required("name")?.to_owned(),
            groups,
            gdp,
            currency: row.text("currency").to_owned(),
        });
    }
    if economies.is_empty() {
        return Err(DatasetError::in_file(file, "no economies"));
    }
    // A tag that is also an economy code would make `exporters` ambiguous.
    for e in &economies {
        if let Some(tag) = e.groups.iter().find(|g| economies.iter().any(|o| &o.code == *g)) {
            return Err(DatasetError::in_file(
                file,
                format!("group `{tag}` of `{}` is also an economy code", e.code),
            ));
        }
    }
    Ok(economies)
}

fn load_flows(
    file: &str,
    input: impl Read,
    codes: &Codes<'_>,
    sources: Vec<String>,
) -> Result<FlowTable, DatasetError> {
    let source_index: rustc_hash::FxHashMap<&str, usize> =
        sources.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
    let mut builder = FlowBuilder::new(codes.sectors.len(), sources.clone());
    stream_rows(
        file,
        input,
        &["exporter", "importer", "sector", "value", "source", "quality"],
        &[],
        |row| {
            let exporter = codes.economy(row, "exporter")?;
            let importer = codes.economy(row, "importer")?;
            let sector = codes.sector(row, "sector")?;
            let value = row.number("value")?;
            if value < 0.0 {
                return Err(row.error(format!("value {value} is negative")));
            }
            let source = row.required("source")?;
            let Some(&source) = source_index.get(source) else {
                return Err(row.error(format!("source `{source}` is not listed in dataset.toml")));
            };
            let quality = row.quality("quality")?;
            builder.push(row.line(), (sector, exporter, importer), value, source, quality);
            Ok(())
        },
    )?;
    builder.finish(file)
}

fn load_tariffs(file: &str, input: impl Read, codes: &Codes<'_>) -> Result<Vec<TariffRow>, DatasetError> {
    let mut rows: Vec<TariffRow> = Vec::new();
    let mut seen: HashSet<(usize, Option<usize>, usize)> = HashSet::new();
    stream_rows(file, input, &["importer", "exporter", "sector", "rate_pct", "basis"], &[], |row| {
        let importer = codes.economy(row, "importer")?;
        let exporter = match row.required("exporter")? {
            "*" => None,
            _ => Some(codes.economy(row, "exporter")?),
        };
        if exporter == Some(importer) {
            return Err(row.error("a tariff on an economy's own goods (domestic shipments) is not allowed"));
        }
        let sector = codes.sector(row, "sector")?;
        let rate_pct = row.number("rate_pct")?;
        if rate_pct < 0.0 {
            return Err(row.error(format!("rate_pct {rate_pct} is negative")));
        }
        let basis = row.required("basis")?.to_owned();
        if !seen.insert((importer, exporter, sector)) {
            return Err(row.error("this importer, exporter and sector already has a rate"));
        }
        rows.push(TariffRow { importer, exporter, sector, rate_pct, basis });
        Ok(())
    })?;
    Ok(rows)
}

fn load_agreements(file: &str, text: &str, codes: &Codes<'_>) -> Result<Vec<Agreement>, DatasetError> {
    let parsed: AgreementsToml = parse_toml(file, text)?;
    let mut agreements: Vec<Agreement> = Vec::new();
    for (i, a) in parsed.agreements.into_iter().enumerate() {
        let at = |field: &str, reason: String| {
            DatasetError::in_file(file, format!("agreements[{i}] ({}).{field}: {reason}", a.code))
        };
        if !valid_code(&a.code) {
            return Err(at("code", "must be letters, digits, `_`, `-` or `.`".into()));
        }
        if agreements.iter().any(|b| b.code == a.code) {
            return Err(at("code", "listed twice".into()));
        }
        let economy = |field: &str, code: &str| {
            codes.economies.get(code).copied().ok_or_else(|| at(field, format!("unknown economy `{code}`")))
        };
        let parties = a.parties.iter().map(|p| economy("parties", p)).collect::<Result<Vec<_>, _>>()?;
        let in_force = match &a.in_force {
            Some(d) => Some(d.parse::<Date>().map_err(|e| at("in_force", e.to_string()))?),
            None => None,
        };
        let mut rates = Vec::new();
        for (j, r) in a.rates.iter().enumerate() {
            let field = |name: &str| format!("rates[{j}].{name}");
            let importer = economy(&field("importer"), &r.importer)?;
            let exporters =
                r.exporters.iter().map(|x| economy(&field("exporters"), x)).collect::<Result<Vec<_>, _>>()?;
            if !parties.contains(&importer) || exporters.iter().any(|x| !parties.contains(x)) {
                return Err(at(&field("importer"), "importer and exporters must be parties".into()));
            }
            let sector = codes
                .sectors
                .get(&r.sector)
                .copied()
                .ok_or_else(|| at(&field("sector"), format!("unknown sector `{}`", r.sector)))?;
            let mut stages: Vec<(Date, f64)> = Vec::new();
            for (k, s) in r.stages.iter().enumerate() {
                let from = s
                    .from
                    .parse::<Date>()
                    .map_err(|e| at(&field(&format!("stages[{k}].from")), e.to_string()))?;
                if !s.rate_pct.is_finite() || s.rate_pct < 0.0 {
                    return Err(at(&field(&format!("stages[{k}].rate_pct")), "must be a number >= 0".into()));
                }
                if stages.last().is_some_and(|(prev, _)| *prev >= from) {
                    return Err(at(
                        &field(&format!("stages[{k}].from")),
                        "stages must be in date order".into(),
                    ));
                }
                stages.push((from, s.rate_pct));
            }
            if stages.is_empty() {
                return Err(at(&field("stages"), "at least one stage is needed".into()));
            }
            rates.push(AgreementRate { importer, exporters, sector, stages });
        }
        agreements.push(Agreement {
            code: a.code,
            name: a.name,
            parties,
            in_force,
            rates,
            note: a.note,
            source: a.source,
        });
    }
    Ok(agreements)
}

/// Every import flow needs a base rate, or the model would silently treat it as
/// duty-free. Reports the first such flow in (sector, importer, exporter) order.
fn check_base_rates(dataset: &Dataset, file: &str) -> Result<(), DatasetError> {
    let mut first: Option<(usize, usize, usize)> = None;
    for s in 0..dataset.sectors.len() {
        for i in dataset.flows.index.range(s) {
            let (v, r) = dataset.flows.index.pair(i);
            if v == r || dataset.flows.values[i] <= 0.0 {
                continue;
            }
            let (specific, general) = dataset.base_rows(s, i);
            if specific.is_none() && general.is_none() && first.is_none_or(|f| (s, r, v) < f) {
                first = Some((s, r, v));
            }
        }
        if let Some((s, r, v)) = first {
            let (imp, exp, sec) =
                (&dataset.economies[r].code, &dataset.economies[v].code, &dataset.sectors[s].code);
            return Err(DatasetError::in_file(
                file,
                format!("no base rate for {sec} from {exp} into {imp} (add a row `{imp},*,{sec},RATE,MFN`)"),
            ));
        }
    }
    Ok(())
}
