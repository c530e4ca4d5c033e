//! Input cost shares (docs/model.md, "Supply chains: input costs and effective
//! protection"): the share `a[v,s,j]` of input sector `j` in the base cost of
//! economy `v`'s output of sector `s`, from the optional `inputs.csv`.

use std::ops::Range;

use rustc_hash::FxHashMap;

/// One row of `inputs.csv`, resolved to positions in the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct InputShare {
    pub economy: usize,
    pub sector: usize,
    /// The input sector `j`.
    pub input: usize,
    /// `a[v,s,j]` in [0, 1).
    pub share: f64,
    pub source: String,
    pub quality: String,
}

/// Every input share of a dataset, indexed by (economy, sector); empty when
/// the dataset has no `inputs.csv` (the model is then today's, exactly).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputShares {
    /// Sorted by (economy, sector, input).
    rows: Vec<InputShare>,
    /// (economy, sector) -> its rows' range in `rows`.
    cells: FxHashMap<(usize, usize), Range<usize>>,
    /// By sector: whether any economy's output of it has input rows.
    sectors_with_inputs: Vec<bool>,
}

impl InputShares {
    /// Indexes `rows` (already checked: known positions, shares in [0, 1), each
    /// cell's sum below 1, no (economy, sector, input) twice) for `sectors` sectors.
    pub fn new(mut rows: Vec<InputShare>, sectors: usize) -> InputShares {
        rows.sort_by_key(|r| (r.economy, r.sector, r.input));
        let mut cells: FxHashMap<(usize, usize), Range<usize>> = FxHashMap::default();
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

    /// Every row, sorted by (economy, sector, input).
    pub fn rows(&self) -> &[InputShare] {
        &self.rows
    }

    /// The input rows of `economy`'s output of `sector`, sorted by input.
    pub fn of(&self, economy: usize, sector: usize) -> &[InputShare] {
        self.cells.get(&(economy, sector)).and_then(|range| self.rows.get(range.clone())).unwrap_or(&[])
    }

    /// Whether some economy's output of `sector` has input rows.
    pub fn has_inputs(&self, sector: usize) -> bool {
        self.sectors_with_inputs.get(sector).copied().unwrap_or(false)
    }
}
