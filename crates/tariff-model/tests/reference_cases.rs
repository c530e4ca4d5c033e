//! The published reference cases of docs/model.md, as data in tests/reference/.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde::Deserialize;
use std::path::PathBuf;
use tariff_model::{Market, MarketOutcome, SolveOptions, Solver, solve, solve_with_internal_tariffs};

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(f64),
    Many(Vec<f64>),
}

impl OneOrMany {
    fn expand(&self, n: usize) -> Vec<f64> {
        match self {
            Self::One(x) => vec![*x; n],
            Self::Many(v) => v.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Elasticities {
    em: OneOrMany,
    es: OneOrMany,
    ex: OneOrMany,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    economies: Vec<String>,
    solver: String,
    elasticities: Elasticities,
    #[serde(rename = "M0")]
    m0: Vec<Vec<f64>>,
    #[serde(rename = "T0")]
    t0: Vec<Vec<f64>>,
    #[serde(rename = "T1")]
    t1: Vec<Vec<f64>>,
    expected: serde_json::Value,
    tolerance: serde_json::Value,
}

fn load(file: &str) -> Case {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn market(case: &Case) -> Market {
    let n = case.economies.len();
    let flat = |m: &Vec<Vec<f64>>| -> Vec<f64> {
        assert_eq!(m.len(), n);
        m.iter().flatten().copied().collect()
    };
    Market {
        n,
        base_values: flat(&case.m0),
        base_tariff: flat(&case.t0),
        new_tariff: flat(&case.t1),
        import_demand: case.elasticities.em.expand(n),
        substitution: case.elasticities.es.expand(n),
        supply: case.elasticities.ex.expand(n),
    }
}

fn solver(case: &Case) -> Solver {
    match case.solver.as_str() {
        "exact" => Solver::Exact,
        "gsim" => Solver::Gsim,
        other => panic!("unknown solver {other}"),
    }
}

fn numbers(v: &serde_json::Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("missing array {key}"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn number(v: &serde_json::Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("missing number {key}"))
}

fn assert_close(case: &str, what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{case}: {what} length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{case}: {what}[{i}] = {g}, expected {w} ± {tol}");
    }
}

/// The 4x4 data give RW (an aggregate region) a 15% internal tariff, and the
/// published figures depend on it, so the cases are solved with internal tariffs
/// kept. With unit diagonals (the 3-source case) this is the same as `solve`.
fn solve_case(case: &Case) -> MarketOutcome {
    let out = solve_with_internal_tariffs(&market(case), solver(case), &SolveOptions::default()).unwrap();
    if solver(case) == Solver::Exact {
        assert!(out.diagnostics.residual < 1e-12, "{}: residual {}", case.name, out.diagnostics.residual);
    }
    out
}

fn check_4x4(file: &str) {
    let case = load(file);
    let out = solve_case(&case);
    let (exp, tol) = (&case.expected, &case.tolerance);
    let e = &out.economies;
    let x: Vec<f64> = out.world_price.iter().map(|p| p - 1.0).collect();
    let phat: Vec<f64> = out.consumer_price.iter().map(|p| p - 1.0).collect();
    let dps: Vec<f64> = e.iter().map(|e| e.producer_surplus_change).collect();
    let dcs: Vec<f64> = e.iter().map(|e| e.consumer_surplus_change).collect();
    let dtr: Vec<f64> = e.iter().map(|e| e.tariff_revenue_change).collect();
    let money = number(tol, "money_abs");
    assert_close(&case.name, "x", &x, &numbers(exp, "x"), number(tol, "x"));
    assert_close(&case.name, "Phat", &phat, &numbers(exp, "Phat"), number(tol, "Phat"));
    assert_close(&case.name, "dPS", &dps, &numbers(exp, "dPS"), money);
    assert_close(&case.name, "dCS", &dcs, &numbers(exp, "dCS"), money);
    assert_close(&case.name, "dTR", &dtr, &numbers(exp, "dTR"), money);
    for (e, econ) in e.iter().enumerate() {
        let w = econ.consumer_surplus_change + econ.producer_surplus_change + econ.tariff_revenue_change;
        assert!((econ.welfare_change - w).abs() < 1e-9, "{}: welfare of {e}", case.name);
    }
}

#[test]
fn gsim_4x4_us_eu_fta() {
    check_4x4("gsim-4x4-us-eu-fta.json");
}

#[test]
fn exact_4x4_us_eu_fta() {
    check_4x4("exact-4x4-us-eu-fta.json");
}

#[test]
fn exact_single_market_three_sources() {
    let case = load("exact-single-market-3-sources.json");
    let out = solve_case(&case);
    let n = case.economies.len();
    let m = market(&case);
    let importer = 0;
    let tol = number(&case.tolerance, "ratio");
    let pvr: Vec<f64> = (0..n)
        .map(|v| {
            let i = v * n + importer;
            out.world_price[v] * m.new_tariff[i] / m.base_tariff[i]
        })
        .collect();
    let q: Vec<f64> = (0..n)
        .map(|v| {
            let i = v * n + importer;
            out.new_values[i] / (m.base_values[i] * out.world_price[v])
        })
        .collect();
    let exp = &case.expected;
    assert_close(&case.name, "Pvr", &pvr, &numbers(exp, "consumer_price_ratio"), tol);
    assert_close(&case.name, "q", &q, &numbers(exp, "quantity_ratio"), tol);
    assert_close(
        &case.name,
        "P",
        &out.consumer_price[importer..=importer],
        &[number(exp, "composite_price_ratio")],
        tol,
    );
    // S and N sell only to H, which has no demand of its own elsewhere: the
    // other two importers have no demand and keep P = 1.
    assert_eq!(&out.consumer_price[1..], &[1.0, 1.0]);
}

/// `solve` ignores diagonal tariffs: on the 4x4 data it gives exactly what the
/// internal-tariff solve gives once RW's internal tariff is removed.
#[test]
fn solve_forces_unit_diagonal() {
    for file in ["gsim-4x4-us-eu-fta.json", "exact-4x4-us-eu-fta.json"] {
        let case = load(file);
        let (m, s, o) = (market(&case), solver(&case), SolveOptions::default());
        let mut unit = m.clone();
        for i in 0..unit.n {
            unit.base_tariff[i * unit.n + i] = 1.0;
            unit.new_tariff[i * unit.n + i] = 1.0;
        }
        let forced = solve(&m, s, &o).unwrap();
        assert_eq!(forced, solve_with_internal_tariffs(&unit, s, &o).unwrap());
        assert_eq!(forced, solve(&unit, s, &o).unwrap());
        assert_ne!(forced, solve_with_internal_tariffs(&m, s, &o).unwrap());
    }
}
