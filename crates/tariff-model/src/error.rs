//! Typed errors of the model.

use crate::Solver;

/// Why a market could not be solved.
///
/// Matrix indices are flat row-major indices `v * n + r` (exporter row `v`,
/// importer column `r`); vector indices are economy indices.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A field does not have the length implied by `n`.
    #[error("`{field}` has {found} entries, expected {expected}")]
    Dimension {
        /// Name of the offending field.
        field: &'static str,
        /// Length implied by `n`.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// `n * n` does not fit in memory addressing.
    #[error("market with {n} economies is too large")]
    TooLarge {
        /// Number of economies requested.
        n: usize,
    },
    /// NaN or infinity in the input.
    #[error("`{field}`[{index}] is not a finite number")]
    NonFinite {
        /// Name of the offending field.
        field: &'static str,
        /// Flat index of the entry.
        index: usize,
    },
    /// A base value is negative.
    #[error("`{field}`[{index}] = {value} is negative; trade values must be >= 0")]
    NegativeValue {
        /// Name of the offending field.
        field: &'static str,
        /// Flat index of the entry.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// A tariff factor `1 + t/100` is not positive (a tariff of -100% or less).
    #[error("`{field}`[{index}] = {value} is not a valid tariff factor; factors 1 + t/100 must be > 0")]
    NonPositiveTariff {
        /// Name of the offending field.
        field: &'static str,
        /// Flat index of the entry.
        index: usize,
        /// The factor found.
        value: f64,
    },
    /// An elasticity has the wrong sign.
    #[error("`{field}`[{index}] = {value} is invalid: {requirement}")]
    Elasticity {
        /// Name of the offending field.
        field: &'static str,
        /// Economy index.
        index: usize,
        /// The elasticity found.
        value: f64,
        /// What the model requires of it.
        requirement: &'static str,
    },
    /// An exchange-rate factor is not positive (an appreciation of -100% or less).
    #[error(
        "`exchange_rates`[{index}] = {value} is not a valid exchange-rate factor; factors 1 + change/100 must be > 0"
    )]
    ExchangeRate {
        /// Economy index.
        index: usize,
        /// The factor found.
        value: f64,
    },
    /// A solver option is unusable.
    #[error("solve option `{field}` is invalid: {requirement}")]
    Options {
        /// Name of the offending option.
        field: &'static str,
        /// What the solver requires of it.
        requirement: &'static str,
    },
    /// The linear system (GSIM matrix or Newton Jacobian) is singular.
    #[error("{solver:?} solver: linear system is singular (no usable pivot in column {column})")]
    Singular {
        /// Solver that hit the singular system.
        solver: Solver,
        /// Column of the system without a usable pivot.
        column: usize,
    },
    /// Newton's method did not reach the tolerance.
    #[error("exact solver did not converge: residual {residual:e} after {iterations} iterations")]
    NotConverged {
        /// Newton iterations performed.
        iterations: u32,
        /// Largest relative market-clearing residual at the last iterate.
        residual: f64,
    },
    /// The solve produced NaN or infinity (e.g. values so large they overflow).
    #[error("{solver:?} solver produced a non-finite result")]
    NonFiniteResult {
        /// Solver that produced it.
        solver: Solver,
    },
    /// A sparse market's flow names an economy at or beyond `n`.
    #[error("flow {index} ({exporter} -> {importer}) names an economy outside the market's {n}")]
    FlowIndex {
        /// Position of the flow in the market's list.
        index: usize,
        exporter: u32,
        importer: u32,
        n: usize,
    },
    /// A sparse market lists one (exporter, importer) pair twice.
    #[error("flow {index} ({exporter} -> {importer}) is listed twice")]
    DuplicateFlow {
        /// Position of the second listing.
        index: usize,
        exporter: u32,
        importer: u32,
    },
    /// Input costs (`InputCosts`) that are invalid, or a solve that does not
    /// carry them.
    #[error("input costs: {requirement}")]
    InputCosts {
        /// What is required.
        requirement: String,
    },
}
