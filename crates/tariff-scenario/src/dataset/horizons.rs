//! Elasticity sets per horizon (docs/model.md, "Horizons"): the long run of
//! `sectors.csv` and `elasticities.csv`, and the others of `horizons.csv`.
//!
//! `horizons.csv` has one row per horizon and sector with economy `*` (the
//! sector-wide values, their ranges, the market structure, the source and the
//! quality), and optionally rows for one economy that replace some of the
//! sector-wide values for it. Every horizon must cover every sector: a scenario
//! that asks for a horizon gets all of it, never the long run in its place.

use std::collections::{HashMap, HashSet};

use tariff_model::Structure;

use super::{
    DatasetError, Elasticities, ElasticityRanges, Quality, Sector,
    csv_table::{CsvTable, Row},
    elasticity_files::{ELASTICITY_COLUMNS, RANGE_COLUMNS, elasticities_of, ranges_of},
    load::{Codes, valid_code},
};

/// The default horizon: today's values, substitution over several years.
pub const LONG_RUN: &str = "long_run";
/// Within a year: buyers barely switch suppliers, exporters absorb more.
pub const SHORT_RUN: &str = "short_run";

/// A sector's elasticities in one horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct SectorSet {
    /// The sector-wide values; per-economy rows refine them.
    pub elasticities: Elasticities,
    /// Their published (or default) ranges: what uncertainty draws from and
    /// what calibration may move them within.
    pub ranges: ElasticityRanges,
    pub structure: Structure,
    /// Source ids, `;`-separated.
    pub source: String,
    /// `None` for the long run (sectors.csv has no quality column).
    pub quality: Option<Quality>,
}

/// One elasticity set of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Horizon {
    pub name: String,
    /// One per sector, in dataset order.
    pub sectors: Vec<SectorSet>,
    /// `[sector][economy]`, the sector-wide values with the economy rows applied.
    pub(super) elasticities: Vec<Elasticities>,
}

impl Horizon {
    /// The long run: sectors.csv's values and `elasticities` (already refined
    /// by elasticities.csv), with each sector's market structure.
    pub(super) fn long_run(sectors: &[Sector], elasticities: Vec<Elasticities>) -> Horizon {
        Horizon {
            name: LONG_RUN.to_owned(),
            sectors: sectors
                .iter()
                .map(|s| SectorSet {
                    elasticities: s.elasticities,
                    ranges: s.ranges,
                    structure: s.structure,
                    source: s.elasticity_source.clone(),
                    quality: None,
                })
                .collect(),
            elasticities,
        }
    }

    /// The elasticities of one economy in one sector; `None` out of range.
    pub fn elasticities(&self, sector: usize, economy: usize, economies: usize) -> Option<Elasticities> {
        self.elasticities.get(sector * economies + economy).copied()
    }
}

/// A market structure cell: `integrated` or `segmented`.
pub(super) fn structure_of(row: &Row<'_>, column: &str) -> Result<Option<Structure>, DatasetError> {
    match row.text(column) {
        "" => Ok(None),
        "integrated" => Ok(Some(Structure::Integrated)),
        "segmented" => Ok(Some(Structure::Segmented)),
        other => Err(row.error(format!("`{column}` = `{other}` is not integrated or segmented"))),
    }
}

/// Checks that every `;`-separated source id is listed in dataset.toml.
fn check_sources(row: &Row<'_>, sources: &HashSet<&str>) -> Result<String, DatasetError> {
    let text = row.required("source")?;
    for id in text.split(';').map(str::trim) {
        if !sources.contains(id) {
            return Err(row.error(format!("source `{id}` is not listed in dataset.toml")));
        }
    }
    Ok(text.to_owned())
}

/// Reads horizons.csv into the horizons beyond the long run, in order of first
/// appearance.
pub(super) fn load_horizons(
    file: &str,
    text: &str,
    codes: &Codes<'_>,
    sectors: &[Sector],
    sources: &HashSet<&str>,
) -> Result<Vec<Horizon>, DatasetError> {
    let mut required = vec!["horizon", "sector", "economy"];
    required.extend(ELASTICITY_COLUMNS);
    let mut optional = vec!["market_structure", "source", "quality"];
    optional.extend(RANGE_COLUMNS.iter().flat_map(|(low, high)| [*low, *high]));
    let table = CsvTable::parse(file, text, &required, &optional)?;
    let n = codes.economies.len();

    let mut horizons: Vec<(Horizon, Vec<Option<usize>>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut seen = HashSet::new();
    // Economy rows wait for their sector's row: they refine its values.
    let mut economy_rows = Vec::new();
    for row in table.rows() {
        let name = row.required("horizon")?;
        if name == LONG_RUN {
            return Err(row.error(format!(
                "`{LONG_RUN}` is the values of sectors.csv and elasticities.csv; horizons.csv adds other horizons"
            )));
        }
        if !valid_code(name) {
            return Err(row.error(format!("horizon `{name}` must be letters, digits, `_`, `-` or `.`")));
        }
        let sector = codes.sector(&row, "sector")?;
        let economy = match row.required("economy")? {
            "*" => None,
            _ => Some(codes.economy(&row, "economy")?),
        };
        if !seen.insert((name.to_owned(), sector, economy)) {
            return Err(row.error("this horizon, sector and economy already has a row"));
        }
        let h = *index.entry(name.to_owned()).or_insert_with(|| {
            let placeholder =
                Horizon { name: name.to_owned(), sectors: Vec::new(), elasticities: Vec::new() };
            horizons.push((placeholder, vec![None; sectors.len()]));
            horizons.len() - 1
        });
        match economy {
            None => {
                let elasticities = elasticities_of(&row, None)?;
                let ranges = ranges_of(&row, elasticities)?;
                let structure = structure_of(&row, "market_structure")?
                    .ok_or_else(|| row.error("`market_structure` is empty (integrated or segmented)"))?;
                let set = SectorSet {
                    elasticities,
                    ranges,
                    structure,
                    source: check_sources(&row, sources)?,
                    quality: Some(row.quality("quality")?),
                };
                let (horizon, slots) = &mut horizons[h];
                slots[sector] = Some(horizon.sectors.len());
                horizon.sectors.push(set);
            }
            Some(e) => {
                if !row.text("market_structure").is_empty() {
                    return Err(
                        row.error("`market_structure` is a sector's: leave it empty on an economy's row")
                    );
                }
                if RANGE_COLUMNS
                    .iter()
                    .any(|(low, high)| !row.text(low).is_empty() || !row.text(high).is_empty())
                {
                    return Err(row.error("ranges are a sector's: leave them empty on an economy's row"));
                }
                if ELASTICITY_COLUMNS.iter().all(|c| row.text(c).is_empty()) {
                    return Err(row.error("sets no elasticity"));
                }
                if !row.text("source").is_empty() {
                    check_sources(&row, sources)?;
                }
                economy_rows.push((h, sector, e, row));
            }
        }
    }

    // Every horizon covers every sector; then the sectors in dataset order.
    let mut out = Vec::with_capacity(horizons.len());
    let mut per_economy = Vec::with_capacity(horizons.len());
    for (horizon, slots) in horizons {
        let mut ordered = Vec::with_capacity(sectors.len());
        for (s, slot) in slots.iter().enumerate() {
            let Some(i) = *slot else {
                return Err(DatasetError::in_file(
                    file,
                    format!(
                        "horizon `{}` has no row for sector `{}` (economy `*`): a horizon must cover every sector",
                        horizon.name, sectors[s].code
                    ),
                ));
            };
            ordered.push(horizon.sectors[i].clone());
        }
        let mut elasticities = Vec::with_capacity(sectors.len() * n);
        for set in &ordered {
            elasticities.extend(std::iter::repeat_n(set.elasticities, n));
        }
        per_economy.push(elasticities);
        out.push(Horizon { name: horizon.name, sectors: ordered, elasticities: Vec::new() });
    }
    for (h, sector, economy, row) in economy_rows {
        let slot = &mut per_economy[h][sector * n + economy];
        *slot = elasticities_of(&row, Some(*slot))?;
    }
    for (horizon, elasticities) in out.iter_mut().zip(per_economy) {
        horizon.elasticities = elasticities;
    }
    Ok(out)
}
