//! Validation of a sparse market and its importer-major flow index.
//!
//! The checks are the dense [`Market::prepare`](crate::Market)'s, over flows,
//! in the same order and with the same errors: where an error names a matrix
//! index it is the flow's dense index `exporter * n + importer`, and when
//! several flows are at fault, the smallest such index (the entry the dense
//! solver would name). The index is built once per solve in `O(nnz + n)` by a
//! two-pass counting sort.

use super::SparseMarket;
use crate::{
    ModelError, SolveOptions,
    market::{check_finite, check_len, check_sign},
};

/// A validated sparse market, its flows sorted importer-major (by importer,
/// then exporter), with the base quantities every solver needs.
#[derive(Debug)]
pub(crate) struct Flows<'a> {
    pub n: usize,
    /// Entries of importer `r` are `start[r]..start[r + 1]`, ascending exporter.
    pub start: Vec<usize>,
    /// Exporter of each entry.
    pub exporter: Vec<usize>,
    /// Position of each entry in the market's `flows`.
    pub position: Vec<usize>,
    /// `M0` of each entry.
    pub m0: Vec<f64>,
    /// `T0`, 1 for domestic shipments.
    pub t0: Vec<f64>,
    /// `T1`, 1 for domestic shipments (before any exchange-rate shock).
    pub t1: Vec<f64>,
    /// `R0[r] = sum_v M0 T0`, summed in ascending `v` as the dense solver does.
    pub r0: Vec<f64>,
    /// `X0[v] = sum_r M0`, summed in ascending `r` as the dense solver does
    /// (and as the exact solver sums demand: its base residual is exactly 0).
    pub x0: Vec<f64>,
    pub em: &'a [f64],
    pub es: &'a [f64],
    pub ex: &'a [f64],
}

impl Flows<'_> {
    /// Number of entries (listed flows).
    pub fn len(&self) -> usize {
        self.exporter.len()
    }

    /// Importer of every entry, in entry order.
    pub fn importers(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.n).flat_map(move |r| std::iter::repeat_n(r, self.start[r + 1] - self.start[r]))
    }
}

/// Stable counting sort of `order` by `key`, for keys below `n`.
fn counting_sort(order: &[usize], key: impl Fn(usize) -> usize, n: usize) -> Vec<usize> {
    let mut count = vec![0usize; n + 1];
    for &i in order {
        count[key(i) + 1] += 1;
    }
    for k in 0..n {
        count[k + 1] += count[k];
    }
    let mut out = vec![0usize; order.len()];
    for &i in order {
        let slot = &mut count[key(i)];
        out[*slot] = i;
        *slot += 1;
    }
    out
}

/// The flow positions `0..len` sorted by (importer, exporter, position). Every
/// flow must name economies below `n`. A counting sort (`O(len + n)`) when `n`
/// is not much larger than the number of flows; otherwise (a huge `n` that the
/// market's other fields may not even match) a comparison sort, so that no
/// `O(n)` memory is taken before `n` is checked.
fn sorted_positions(market: &SparseMarket, len: usize) -> Vec<usize> {
    let n = market.n;
    let flows = &market.flows;
    if n <= 4 * len + 4096 {
        let all: Vec<usize> = (0..len).collect();
        // Flows listed by exporter (as data usually are) need one pass only.
        let by_exporter = flows[..len].windows(2).all(|w| w[0].exporter <= w[1].exporter);
        let by_exporter =
            if by_exporter { all } else { counting_sort(&all, |i| flows[i].exporter as usize, n) };
        counting_sort(&by_exporter, |i| flows[i].importer as usize, n)
    } else {
        let mut order: Vec<usize> = (0..len).collect();
        order.sort_unstable_by_key(|&i| (flows[i].importer, flows[i].exporter, i));
        order
    }
}

/// The checks of [`SparseMarket::validate_flows`], in `O(nnz + n)`; returns the
/// sorted positions when they pass.
pub(crate) fn check_flows(market: &SparseMarket) -> Result<Vec<usize>, ModelError> {
    let n = market.n;
    let flows = &market.flows;
    let first_outside = flows.iter().position(|f| f.exporter as usize >= n || f.importer as usize >= n);
    // Only duplicates listed before the first bad index can be reported first.
    let checked = first_outside.unwrap_or(flows.len());
    let order = sorted_positions(market, checked);
    // Within a pair, positions ascend: the second of each run is its first
    // repetition, and the validation names the earliest of those.
    let key = |i: usize| (flows[i].importer, flows[i].exporter);
    let duplicate = order.windows(2).filter(|w| key(w[0]) == key(w[1])).map(|w| w[1]).min();
    match (duplicate, first_outside) {
        (Some(index), _) => {
            let f = &flows[index];
            Err(ModelError::DuplicateFlow { index, exporter: f.exporter, importer: f.importer })
        }
        (None, Some(index)) => {
            let f = &flows[index];
            Err(ModelError::FlowIndex { index, exporter: f.exporter, importer: f.importer, n })
        }
        (None, None) => Ok(order),
    }
}

/// The smallest dense index (and the value there) of the flows failing each
/// value check, found in one pass.
#[derive(Default)]
struct Faults {
    non_finite: [Option<usize>; 3],
    negative_value: Option<(usize, f64)>,
    non_positive_tariff: [Option<(usize, f64)>; 2],
}

fn keep_min(slot: &mut Option<(usize, f64)>, index: usize, value: f64) {
    if slot.is_none_or(|(j, _)| index < j) {
        *slot = Some((index, value));
    }
}

impl Faults {
    fn of(market: &SparseMarket) -> Self {
        let n = market.n;
        let mut faults = Faults::default();
        for f in &market.flows {
            let index = f.exporter as usize * n + f.importer as usize;
            let values = [f.base_value, f.base_tariff, f.new_tariff];
            if values.iter().all(|x| x.is_finite())
                && f.base_value >= 0.0
                && f.base_tariff > 0.0
                && f.new_tariff > 0.0
            {
                continue;
            }
            for (slot, x) in faults.non_finite.iter_mut().zip(values) {
                if !x.is_finite() && slot.is_none_or(|j| index < j) {
                    *slot = Some(index);
                }
            }
            if f.base_value < 0.0 {
                keep_min(&mut faults.negative_value, index, f.base_value);
            }
            // Domestic tariffs are ignored (treated as 1), so never refused.
            if f.exporter != f.importer {
                for (slot, t) in faults.non_positive_tariff.iter_mut().zip([f.base_tariff, f.new_tariff]) {
                    if t <= 0.0 {
                        keep_min(slot, index, t);
                    }
                }
            }
        }
        faults
    }
}

/// Checks a market as `solve_with` checks its dense form, and builds its index.
///
/// Order of the checks (as the dense path): flows (index, duplicates), size,
/// options, vector lengths, finiteness (values, tariffs, elasticities),
/// negative values, tariff factors, elasticity signs.
pub(crate) fn prepare<'a>(market: &'a SparseMarket, options: &SolveOptions) -> Result<Flows<'a>, ModelError> {
    let order = check_flows(market)?;
    let n = market.n;
    n.checked_mul(n).ok_or(ModelError::TooLarge { n })?;
    options.validate()?;
    let vectors = [
        ("import_demand", &market.import_demand),
        ("substitution", &market.substitution),
        ("supply", &market.supply),
    ];
    for (field, v) in vectors {
        check_len(field, v, n)?;
    }
    let faults = Faults::of(market);
    let fields = ["base_values", "base_tariff", "new_tariff"];
    for (field, fault) in fields.into_iter().zip(faults.non_finite) {
        if let Some(index) = fault {
            return Err(ModelError::NonFinite { field, index });
        }
    }
    for (field, v) in vectors {
        check_finite(field, v)?;
    }
    if let Some((index, value)) = faults.negative_value {
        return Err(ModelError::NegativeValue { field: "base_values", index, value });
    }
    for (field, fault) in fields[1..].iter().zip(faults.non_positive_tariff) {
        if let Some((index, value)) = fault {
            return Err(ModelError::NonPositiveTariff { field, index, value });
        }
    }
    check_sign("import_demand", &market.import_demand, |x| x < 0.0, "import-demand elasticity must be < 0")?;
    check_sign("substitution", &market.substitution, |x| x > 0.0, "elasticity of substitution must be > 0")?;
    check_sign("supply", &market.supply, |x| x > 0.0, "export-supply elasticity must be > 0")?;

    let len = order.len();
    let mut flows = Flows {
        n,
        start: vec![0; n + 1],
        exporter: Vec::with_capacity(len),
        position: order,
        m0: Vec::with_capacity(len),
        t0: Vec::with_capacity(len),
        t1: Vec::with_capacity(len),
        r0: vec![0.0; n],
        x0: vec![0.0; n],
        em: &market.import_demand,
        es: &market.substitution,
        ex: &market.supply,
    };
    for &i in &flows.position {
        let f = &market.flows[i];
        let (v, r) = (f.exporter as usize, f.importer as usize);
        let (t0, t1) = if v == r { (1.0, 1.0) } else { (f.base_tariff, f.new_tariff) };
        flows.start[r + 1] += 1;
        flows.exporter.push(v);
        flows.m0.push(f.base_value);
        flows.t0.push(t0);
        flows.t1.push(t1);
        // Importer-major: each R0 in ascending v, each X0 in ascending r.
        flows.r0[r] += f.base_value * t0;
        flows.x0[v] += f.base_value;
    }
    for r in 0..n {
        flows.start[r + 1] += flows.start[r];
    }
    Ok(flows)
}

/// The new tariff factors the solver sees: `T1` of each entry times
/// `f[v] / f[r]` when currencies move (the ratio first, as the dense path),
/// checked as the dense path checks its shocked market. (The dense path also
/// shocks the pairs that do not trade, whose factor 1 becomes `f[v] / f[r]`,
/// and so refuses exchange rates whose ratios overflow or underflow even
/// between economies that do not trade; here only listed flows are checked.)
pub(crate) fn shocked_tariffs(
    flows: &Flows<'_>,
    market: &SparseMarket,
    fx: &[f64],
) -> Result<Vec<f64>, ModelError> {
    if fx.is_empty() {
        return Ok(flows.t1.clone());
    }
    let n = flows.n;
    let mut t1 = Vec::with_capacity(flows.len());
    let (mut non_finite, mut non_positive): (Option<usize>, Option<(usize, f64)>) = (None, None);
    for ((r, &v), &i) in flows.importers().zip(&flows.exporter).zip(&flows.position) {
        let raw = market.flows[i].new_tariff * (fx[v] / fx[r]);
        let index = v * n + r;
        if !raw.is_finite() {
            non_finite = Some(non_finite.map_or(index, |j| j.min(index)));
        } else if v != r && raw <= 0.0 && non_positive.is_none_or(|(j, _)| index < j) {
            non_positive = Some((index, raw));
        }
        t1.push(if v == r { 1.0 } else { raw });
    }
    if let Some(index) = non_finite {
        return Err(ModelError::NonFinite { field: "new_tariff", index });
    }
    if let Some((index, value)) = non_positive {
        return Err(ModelError::NonPositiveTariff { field: "new_tariff", index, value });
    }
    Ok(t1)
}
