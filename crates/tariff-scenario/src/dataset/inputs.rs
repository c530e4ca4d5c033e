//! Input cost shares (docs/model.md, "Supply chains: input costs and effective
//! protection"): the share `a[v,s,j]` of input sector `j` in the base cost of
//! economy `v`'s output of sector `s`, from the optional `inputs.csv`.
//!
//! A row with economy `*` gives a sector's inputs in every economy; rows for
//! one economy and sector replace all of that sector's `*` rows for it (the
//! cell is replaced whole, so its shares and their sum are the rows given; a
//! row of share 0 gives an economy none of the sector's `*` inputs).

use std::{collections::HashSet, io::Read, ops::Range, sync::Arc};

use rustc_hash::{FxHashMap, FxHashSet};

use super::{Dataset, DatasetError, Quality, csv_table::stream_rows, load::Codes};

/// The columns of `inputs.csv`.
const COLUMNS: &[&str] = &["economy", "sector", "input_sector", "cost_share", "source", "quality"];

/// One row of `inputs.csv`, resolved to positions in the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct InputShare {
    /// `None` for a `*` row: every economy without rows of its own for `sector`.
    pub economy: Option<usize>,
    pub sector: usize,
    /// The input sector `j`.
    pub input: usize,
    /// `a[v,s,j]` in [0, 1).
    pub share: f64,
    /// Source ids of dataset.toml, `;`-separated; shared between the rows
    /// that cite the same (a product-level file has millions of rows, a few sources).
    pub source: Arc<str>,
    pub quality: Quality,
}

/// Every input share of a dataset, indexed by (economy, sector); empty when
/// the dataset has no `inputs.csv` (the model is then today's, exactly).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputShares {
    /// Sorted by (economy, sector, input), the `*` rows first.
    rows: Vec<InputShare>,
    /// (economy or `*`, sector) -> its rows' range in `rows`.
    cells: FxHashMap<(Option<usize>, usize), Range<usize>>,
    /// By sector: whether any economy's output of it has input rows.
    sectors_with_inputs: Vec<bool>,
}

impl InputShares {
    /// Indexes `rows` (already checked: known positions, shares in [0, 1), each
    /// cell's sum below 1, no (economy, sector, input) twice) for `sectors` sectors.
    pub fn new(mut rows: Vec<InputShare>, sectors: usize) -> InputShares {
        rows.sort_by_key(|r| (r.economy, r.sector, r.input));
        let mut cells: FxHashMap<(Option<usize>, usize), Range<usize>> = FxHashMap::default();
        let mut sectors_with_inputs = vec![false; sectors];
        for (i, r) in rows.iter().enumerate() {
            cells.entry((r.economy, r.sector)).and_modify(|range| range.end = i + 1).or_insert(i..i + 1);
            if let Some(s) = sectors_with_inputs.get_mut(r.sector) {
                *s = true;
            }
        }
        InputShares { rows, cells, sectors_with_inputs }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// How many (economy or `*`, sector) cells have rows.
    pub fn cells(&self) -> usize {
        self.cells.len()
    }

    /// Every row, sorted by (economy, sector, input), the `*` rows first.
    pub fn rows(&self) -> &[InputShare] {
        &self.rows
    }

    /// The input rows of `economy`'s output of `sector`, sorted by input: its
    /// own rows, or else the sector's `*` rows.
    pub fn of(&self, economy: usize, sector: usize) -> &[InputShare] {
        self.cells
            .get(&(Some(economy), sector))
            .or_else(|| self.cells.get(&(None, sector)))
            .and_then(|range| self.rows.get(range.clone()))
            .unwrap_or(&[])
    }

    /// Whether some economy's output of `sector` has input rows.
    pub fn has_inputs(&self, sector: usize) -> bool {
        self.sectors_with_inputs.get(sector).copied().unwrap_or(false)
    }
}

impl Dataset {
    /// Per economy `v` and sector `j` (economy-major): what `v`'s producers buy
    /// of `j` as inputs, `sum_s a[v,s,j] x` `v`'s base output of `s` (domestic
    /// shipments and exports), over `v`'s base purchases of `j` (domestic
    /// shipments and imports), at base-year values; 0 where `v` buys no `j`.
    /// Above 1 the input rows ask for more than the dataset's market of `j`
    /// holds. One pass over the flows.
    pub fn input_use_ratios(&self) -> Vec<f64> {
        let (n, sectors) = (self.economies.len(), self.sectors.len());
        let (mut output, mut purchases) = (vec![0.0; n * sectors], vec![0.0; n * sectors]);
        for s in 0..sectors {
            let flows = self.sector_flows(s);
            for ((&v, &r), &value) in flows.exporters.iter().zip(flows.importers).zip(flows.values) {
                if let Some(o) = output.get_mut(v as usize * sectors + s) {
                    *o += value;
                }
                if let Some(p) = purchases.get_mut(r as usize * sectors + s) {
                    *p += value;
                }
            }
        }
        let mut used = vec![0.0; n * sectors];
        for v in 0..n {
            for s in (0..sectors).filter(|&s| self.inputs.has_inputs(s)) {
                let made = output.get(v * sectors + s).copied().unwrap_or(0.0);
                for row in self.inputs.of(v, s) {
                    if let Some(u) = used.get_mut(v * sectors + row.input) {
                        *u += row.share * made;
                    }
                }
            }
        }
        used.iter().zip(&purchases).map(|(u, p)| if *p > 0.0 { u / p } else { 0.0 }).collect()
    }
}

/// Reads `inputs.csv` row by row (it may have a row per economy, product and
/// input: millions), checking each as it comes, in time linear in the rows.
pub(super) fn load_inputs(
    file: &str,
    input: impl Read,
    codes: &Codes<'_>,
    sources: &HashSet<&str>,
    sectors: usize,
) -> Result<InputShares, DatasetError> {
    let mut rows: Vec<InputShare> = Vec::new();
    let mut seen: FxHashSet<(Option<usize>, usize, usize)> = FxHashSet::default();
    let mut sums: FxHashMap<(Option<usize>, usize), f64> = FxHashMap::default();
    let mut cited: FxHashMap<String, Arc<str>> = FxHashMap::default();
    stream_rows(file, input, COLUMNS, &[], |row| {
        let economy = match row.required("economy")? {
            "*" => None,
            _ => Some(codes.economy(row, "economy")?),
        };
        let sector = codes.sector(row, "sector")?;
        let input = codes.sector(row, "input_sector")?;
        let share = row.number("cost_share")?;
        if !(0.0..1.0).contains(&share) {
            return Err(row.error(format!(
                "cost_share {share} is not in [0, 1) (the share of the input in the base cost of the output)"
            )));
        }
        let source = row.required("source")?;
        if let Some(id) = source.split(';').map(str::trim).find(|id| !sources.contains(id)) {
            return Err(row.error(format!("source `{id}` is not listed in dataset.toml")));
        }
        let quality = row.quality("quality")?;
        if !seen.insert((economy, sector, input)) {
            return Err(row.error("this economy, sector and input_sector already has a row"));
        }
        let sum = sums.entry((economy, sector)).or_insert(0.0);
        *sum += share;
        if *sum >= 1.0 {
            let economy = row.text("economy");
            let sector = row.text("sector");
            return Err(row.error(format!(
                "the cost shares of {sector} in {economy} reach {:.6} with this row: they must sum below 1 (value added is the rest)",
                *sum
            )));
        }
        let source = match cited.get(source) {
            Some(shared) => Arc::clone(shared),
            None => cited.entry(source.to_owned()).or_insert_with(|| Arc::from(source)).clone(),
        };
        rows.push(InputShare { economy, sector, input, share, source, quality });
        Ok(())
    })?;
    Ok(InputShares::new(rows, sectors))
}
