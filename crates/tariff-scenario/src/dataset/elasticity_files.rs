//! `sectors.csv` and `elasticities.csv`: the sectors with their elasticities,
//! the ranges uncertainty draws from, and per-economy elasticities.

use super::{
    DatasetError, Elasticities, ElasticityRange, ElasticityRanges, Sector,
    csv_table::{CsvTable, Row},
    horizons::structure_of,
    load::{Codes, valid_code},
};

pub(super) fn elasticities_of(
    row: &Row<'_>,
    base: Option<Elasticities>,
) -> Result<Elasticities, DatasetError> {
    let pick = |column: &str, fallback: Option<f64>| -> Result<f64, DatasetError> {
        row.optional_number(column)?
            .or(fallback)
            .ok_or_else(|| row.error(format!("missing elasticity `{column}`")))
    };
    let e = Elasticities {
        import_demand: pick("import_demand_elasticity", base.map(|b| b.import_demand))?,
        substitution: pick("substitution_elasticity", base.map(|b| b.substitution))?,
        supply: pick("supply_elasticity", base.map(|b| b.supply))?,
    };
    if e.import_demand >= 0.0 {
        return Err(row.error(format!("import_demand_elasticity {} must be negative", e.import_demand)));
    }
    if e.substitution <= 0.0 {
        return Err(row.error(format!("substitution_elasticity {} must be positive", e.substitution)));
    }
    if e.supply <= 0.0 {
        return Err(row.error(format!("supply_elasticity {} must be positive", e.supply)));
    }
    Ok(e)
}

pub(super) const ELASTICITY_COLUMNS: [&str; 3] =
    ["import_demand_elasticity", "substitution_elasticity", "supply_elasticity"];

/// The optional range columns of sectors.csv, `*_low` and `*_high` per elasticity.
pub(super) const RANGE_COLUMNS: [(&str, &str); 3] = [
    ("import_demand_elasticity_low", "import_demand_elasticity_high"),
    ("substitution_elasticity_low", "substitution_elasticity_high"),
    ("supply_elasticity_low", "supply_elasticity_high"),
];

/// One elasticity's range on a sectors.csv row: both ends or neither (then the
/// default range), bracketing the value and keeping its sign.
fn range_of(
    row: &Row<'_>,
    (low_column, high_column): (&str, &str),
    value: f64,
) -> Result<ElasticityRange, DatasetError> {
    let (low, high) = match (row.optional_number(low_column)?, row.optional_number(high_column)?) {
        (None, None) => return Ok(ElasticityRange::default_around(value)),
        (Some(low), Some(high)) => (low, high),
        (Some(_), None) => {
            return Err(row.error(format!("`{low_column}` is set but `{high_column}` is empty")));
        }
        (None, Some(_)) => {
            return Err(row.error(format!("`{high_column}` is set but `{low_column}` is empty")));
        }
    };
    if !(low <= value && value <= high) {
        return Err(row.error(format!(
            "range {low_column} {low} to {high_column} {high} does not contain the elasticity {value}"
        )));
    }
    // A range crossing zero would draw elasticities of the wrong sign.
    if value < 0.0 && high >= 0.0 {
        return Err(row.error(format!("{high_column} {high} must be negative, like the elasticity")));
    }
    if value > 0.0 && low <= 0.0 {
        return Err(row.error(format!("{low_column} {low} must be positive, like the elasticity")));
    }
    Ok(ElasticityRange { low, high, published: true })
}

/// The three ranges of a row (`*_low`, `*_high`), each published or the default.
pub(super) fn ranges_of(row: &Row<'_>, elasticities: Elasticities) -> Result<ElasticityRanges, DatasetError> {
    let [import_demand, substitution, supply] = RANGE_COLUMNS;
    Ok(ElasticityRanges {
        import_demand: range_of(row, import_demand, elasticities.import_demand)?,
        substitution: range_of(row, substitution, elasticities.substitution)?,
        supply: range_of(row, supply, elasticities.supply)?,
    })
}

pub(super) fn load_sectors(file: &str, text: &str) -> Result<Vec<Sector>, DatasetError> {
    let mut required = vec!["code", "name", "hs"];
    required.extend(ELASTICITY_COLUMNS);
    let mut optional = vec!["source", "market_structure"];
    optional.extend(RANGE_COLUMNS.iter().flat_map(|(low, high)| [*low, *high]));
    let table = CsvTable::parse(file, text, &required, &optional)?;
    let mut sectors: Vec<Sector> = Vec::new();
    for row in table.rows() {
        let code = row.required("code")?;
        if !valid_code(code) {
            return Err(row.error(format!("code `{code}` must be letters, digits, `_`, `-` or `.`")));
        }
        if sectors.iter().any(|s| s.code == code) {
            return Err(row.error(format!("sector `{code}` is listed twice")));
        }
        let elasticities = elasticities_of(&row, None)?;
        sectors.push(Sector {
            code: code.to_owned(),
            name: row.required("name")?.to_owned(),
            hs: row.text("hs").to_owned(),
            elasticities,
            ranges: ranges_of(&row, elasticities)?,
            elasticity_source: row.text("source").to_owned(),
            structure: structure_of(&row, "market_structure")?.unwrap_or_default(),
        });
    }
    if sectors.is_empty() {
        return Err(DatasetError::in_file(file, "no sectors"));
    }
    Ok(sectors)
}

pub(super) fn load_elasticities(
    file: &str,
    text: &str,
    codes: &Codes<'_>,
    elasticities: &mut [Elasticities],
) -> Result<(), DatasetError> {
    let mut required = vec!["sector", "economy"];
    required.extend(ELASTICITY_COLUMNS);
    let table = CsvTable::parse(file, text, &required, &["source"])?;
    let n = codes.economies.len();
    for row in table.rows() {
        let sector = codes.sector(&row, "sector")?;
        let economy = codes.economy(&row, "economy")?;
        let slot = elasticities
            .get_mut(sector * n + economy)
            .ok_or_else(|| row.error("elasticity index out of range"))?;
        *slot = elasticities_of(&row, Some(*slot))?;
    }
    Ok(())
}
