//! Input data of one sector market, solver choice, and input validation.

use crate::ModelError;

/// One sector market of `n` economies.
///
/// Matrices are row-major `n * n`, indexed `[v * n + r]` with `v` the exporter
/// (row) and `r` the importer (column). Values are at base-year world prices.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Market {
    /// Number of economies.
    pub n: usize,
    /// Base shipments `M0 >= 0`; the diagonal is domestic shipments.
    pub base_values: Vec<f64>,
    /// Base tariff factors `T0 = 1 + t/100`; [`solve`](crate::solve) treats the
    /// diagonal as 1 (see [`solve_with_internal_tariffs`](crate::solve_with_internal_tariffs)).
    pub base_tariff: Vec<f64>,
    /// Scenario tariff factors `T1`, same form as `base_tariff`.
    pub new_tariff: Vec<f64>,
    /// Import-demand elasticity `Em[r] < 0` of each importer.
    pub import_demand: Vec<f64>,
    /// Armington elasticity of substitution `Es[r] > 0` of each importer.
    pub substitution: Vec<f64>,
    /// Export-supply elasticity `Ex[v] > 0` of each exporter (99 = "infinite").
    pub supply: Vec<f64>,
}

/// Which solver to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Solver {
    /// Nonlinear Armington CES with iso-elastic supply, solved by Newton's method.
    #[default]
    Exact,
    /// GSIM's linearised model, one linear solve.
    Gsim,
}

/// How an exporter prices across its destinations (docs/model.md, "Market structure").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Structure {
    /// One world price per exporter for every destination (GSIM; the base model).
    #[default]
    Integrated,
    /// Pricing to market: every flow has its own supply curve and price, so an
    /// exporter can absorb a tariff in one market without cutting its price in others.
    Segmented,
}

/// What the extensions of docs/model.md add to a market besides its data: the
/// market structure and the exchange rates. The default (integrated, no
/// currency moves) is the base model, computed exactly as [`solve`](crate::solve) does.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pricing {
    pub structure: Structure,
    /// Per economy, `f = 1 + appreciation / 100`: the dataset currency per unit of
    /// the economy's own currency, new over base. Empty: no currency moves.
    pub exchange_rates: Vec<f64>,
}

impl Pricing {
    /// Whether this is the base model: integrated, and no currency moves.
    pub fn is_base(&self) -> bool {
        self.structure == Structure::Integrated && !self.moves_currencies()
    }

    /// Whether some exchange rate moves (an `f` other than exactly 1).
    pub fn moves_currencies(&self) -> bool {
        self.exchange_rates.iter().any(|&f| f != 1.0)
    }
}

/// Numerical options of a solve.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveOptions {
    /// Largest accepted market-clearing residual relative to `X0[v]` (exact solver).
    pub tolerance: f64,
    /// Most Newton iterations before giving up (exact solver).
    pub max_iterations: u32,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self { tolerance: 1e-12, max_iterations: 100 }
    }
}

/// Validated market with the base quantities both solvers need.
#[derive(Debug)]
pub(crate) struct Prepared<'a> {
    pub n: usize,
    /// `M0`, row-major.
    pub m0: &'a [f64],
    /// `T0` (diagonal forced to 1 unless internal tariffs are kept), row-major.
    pub t0: Vec<f64>,
    /// `T1`, same treatment as `t0`.
    pub t1: Vec<f64>,
    /// `R0[r] = sum_v M0 T0`.
    pub r0: Vec<f64>,
    /// `X0[v] = sum_r M0`, summed in ascending `r` (the residual relies on this order).
    pub x0: Vec<f64>,
    pub em: &'a [f64],
    pub es: &'a [f64],
    pub ex: &'a [f64],
}

pub(crate) fn check_len(field: &'static str, v: &[f64], expected: usize) -> Result<(), ModelError> {
    if v.len() == expected { Ok(()) } else { Err(ModelError::Dimension { field, expected, found: v.len() }) }
}

pub(crate) fn check_finite(field: &'static str, v: &[f64]) -> Result<(), ModelError> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(ModelError::NonFinite { field, index }),
        None => Ok(()),
    }
}

pub(crate) fn check_sign(
    field: &'static str,
    v: &[f64],
    ok: impl Fn(f64) -> bool,
    requirement: &'static str,
) -> Result<(), ModelError> {
    match v.iter().position(|&x| !ok(x)) {
        Some(index) => Err(ModelError::Elasticity { field, index, value: v[index], requirement }),
        None => Ok(()),
    }
}

/// Copies a tariff matrix, forcing the diagonal to 1 unless `internal` (an ignored
/// diagonal need not be valid).
fn check_tariff(field: &'static str, v: &[f64], n: usize, internal: bool) -> Result<Vec<f64>, ModelError> {
    let mut out = v.to_vec();
    if !internal {
        for d in out.iter_mut().step_by(n + 1) {
            *d = 1.0;
        }
    }
    if let Some(index) = out.iter().position(|&t| t <= 0.0) {
        return Err(ModelError::NonPositiveTariff { field, index, value: v[index] });
    }
    Ok(out)
}

impl SolveOptions {
    pub(crate) fn validate(&self) -> Result<(), ModelError> {
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(ModelError::Options {
                field: "tolerance",
                requirement: "must be a finite number > 0",
            });
        }
        Ok(())
    }
}

impl Market {
    /// Checks dimensions, finiteness and signs of every field, as [`solve`](crate::solve) does.
    ///
    /// # Errors
    /// The first problem found, naming the field and the index.
    pub fn validate(&self) -> Result<(), ModelError> {
        self.prepare(false).map(|_| ())
    }

    /// Validates and derives base quantities; `internal` keeps diagonal tariffs.
    pub(crate) fn prepare(&self, internal: bool) -> Result<Prepared<'_>, ModelError> {
        let n = self.n;
        let nn = n.checked_mul(n).ok_or(ModelError::TooLarge { n })?;
        let matrices = [
            ("base_values", &self.base_values),
            ("base_tariff", &self.base_tariff),
            ("new_tariff", &self.new_tariff),
        ];
        let vectors = [
            ("import_demand", &self.import_demand),
            ("substitution", &self.substitution),
            ("supply", &self.supply),
        ];
        for (field, v) in matrices {
            check_len(field, v, nn)?;
        }
        for (field, v) in vectors {
            check_len(field, v, n)?;
        }
        for (field, v) in matrices.into_iter().chain(vectors) {
            check_finite(field, v)?;
        }
        if let Some(index) = self.base_values.iter().position(|&x| x < 0.0) {
            return Err(ModelError::NegativeValue {
                field: "base_values",
                index,
                value: self.base_values[index],
            });
        }
        let t0 = check_tariff("base_tariff", &self.base_tariff, n, internal)?;
        let t1 = check_tariff("new_tariff", &self.new_tariff, n, internal)?;
        check_sign(
            "import_demand",
            &self.import_demand,
            |x| x < 0.0,
            "import-demand elasticity must be < 0",
        )?;
        check_sign(
            "substitution",
            &self.substitution,
            |x| x > 0.0,
            "elasticity of substitution must be > 0",
        )?;
        check_sign("supply", &self.supply, |x| x > 0.0, "export-supply elasticity must be > 0")?;

        let m0 = self.base_values.as_slice();
        let x0 = m0.chunks_exact(n.max(1)).map(|row| row.iter().sum()).collect();
        let mut r0 = vec![0.0; n];
        for (m_row, t_row) in m0.chunks_exact(n.max(1)).zip(t0.chunks_exact(n.max(1))) {
            for ((acc, m), t) in r0.iter_mut().zip(m_row).zip(t_row) {
                *acc += m * t;
            }
        }
        Ok(Prepared {
            n,
            m0,
            t0,
            t1,
            r0,
            x0,
            em: &self.import_demand,
            es: &self.substitution,
            ex: &self.supply,
        })
    }
}
