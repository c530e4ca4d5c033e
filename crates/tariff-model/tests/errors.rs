//! Invalid input and numerical failure give typed errors, never panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tariff_model::{Market, ModelError, SolveOptions, Solver, solve};

const SOLVERS: [Solver; 2] = [Solver::Exact, Solver::Gsim];

fn market() -> Market {
    Market {
        n: 3,
        base_values: vec![100.0, 20.0, 5.0, 30.0, 80.0, 10.0, 0.0, 15.0, 60.0],
        base_tariff: vec![1.0, 1.05, 1.1, 1.02, 1.0, 1.08, 1.2, 1.0, 1.0],
        new_tariff: vec![1.0, 1.25, 1.1, 1.02, 1.0, 1.08, 1.2, 1.0, 1.0],
        import_demand: vec![-1.25; 3],
        substitution: vec![5.0; 3],
        supply: vec![1.5, 2.0, 99.0],
    }
}

fn errors(m: &Market) -> Vec<ModelError> {
    SOLVERS.iter().map(|&s| solve(m, s, &SolveOptions::default()).expect_err("must fail")).collect()
}

#[test]
fn valid_market_solves() {
    for s in SOLVERS {
        solve(&market(), s, &SolveOptions::default()).unwrap();
    }
}

#[test]
fn wrong_dimension() {
    let mut m = market();
    m.substitution.pop();
    for e in errors(&m) {
        assert_eq!(e, ModelError::Dimension { field: "substitution", expected: 3, found: 2 });
        assert_eq!(e.to_string(), "`substitution` has 2 entries, expected 3");
    }
    let mut m = market();
    m.n = 4;
    assert!(matches!(errors(&m)[0], ModelError::Dimension { field: "base_values", expected: 16, found: 9 }));
    let mut m = market();
    m.n = usize::MAX;
    assert!(matches!(errors(&m)[0], ModelError::TooLarge { .. }));
}

#[test]
fn non_finite_input() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut m = market();
        m.new_tariff[5] = bad;
        for e in errors(&m) {
            assert_eq!(e, ModelError::NonFinite { field: "new_tariff", index: 5 });
        }
        let mut m = market();
        m.supply[2] = bad;
        assert_eq!(errors(&m)[1], ModelError::NonFinite { field: "supply", index: 2 });
        // Diagonal tariffs are ignored, but not when they are NaN.
        let mut m = market();
        m.base_tariff[4] = bad;
        assert_eq!(errors(&m)[0], ModelError::NonFinite { field: "base_tariff", index: 4 });
    }
}

#[test]
fn negative_value() {
    let mut m = market();
    m.base_values[7] = -1.0;
    for e in errors(&m) {
        assert!(matches!(e, ModelError::NegativeValue { field: "base_values", index: 7, .. }));
        assert!(e.to_string().contains("negative"), "{e}");
    }
}

#[test]
fn non_positive_tariff() {
    for bad in [0.0, -0.5] {
        let mut m = market();
        m.base_tariff[1] = bad;
        for e in errors(&m) {
            assert!(matches!(e, ModelError::NonPositiveTariff { field: "base_tariff", index: 1, .. }));
        }
    }
    // The diagonal is forced to 1, so a bad diagonal factor is harmless.
    let mut m = market();
    m.new_tariff[0] = -3.0;
    for s in SOLVERS {
        solve(&m, s, &SolveOptions::default()).unwrap();
    }
}

#[test]
fn elasticities_of_the_wrong_sign() {
    for (bad, field) in [(0.0, "import_demand"), (0.5, "import_demand")] {
        let mut m = market();
        m.import_demand[1] = bad;
        for e in errors(&m) {
            assert!(matches!(e, ModelError::Elasticity { field: f, index: 1, .. } if f == field), "{e}");
        }
    }
    for bad in [0.0, -2.0] {
        let mut m = market();
        m.substitution[0] = bad;
        for e in errors(&m) {
            assert!(matches!(e, ModelError::Elasticity { field: "substitution", index: 0, .. }), "{e}");
        }
        let mut m = market();
        m.supply[2] = bad;
        for e in errors(&m) {
            assert!(matches!(e, ModelError::Elasticity { field: "supply", index: 2, .. }), "{e}");
            assert!(e.to_string().contains("must be > 0"), "{e}");
        }
    }
}

#[test]
fn invalid_options() {
    for tolerance in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let o = SolveOptions { tolerance, ..SolveOptions::default() };
        for s in SOLVERS {
            assert!(matches!(solve(&market(), s, &o), Err(ModelError::Options { field: "tolerance", .. })));
        }
    }
}

#[test]
fn not_converged() {
    let o = SolveOptions { max_iterations: 0, ..SolveOptions::default() };
    match solve(&market(), Solver::Exact, &o) {
        Err(ModelError::NotConverged { iterations: 0, residual }) => assert!(residual > 0.0),
        other => panic!("{other:?}"),
    }
    // Without a shock there is nothing to iterate.
    let mut m = market();
    m.new_tariff = m.base_tariff.clone();
    assert_eq!(solve(&m, Solver::Exact, &o).unwrap().diagnostics.iterations, 0);
}

/// Economy 1 trades only with itself with elasticities of 1e-300, next to an
/// exporter with a supply elasticity of 1e20: its equation is numerically void.
#[test]
fn singular_system() {
    let m = Market {
        n: 3,
        base_values: vec![50.0, 0.0, 20.0, 0.0, 10.0, 0.0, 30.0, 0.0, 40.0],
        base_tariff: vec![1.0; 9],
        new_tariff: vec![1.0, 1.0, 1.3, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        import_demand: vec![-1.0, -1e-300, -1.0],
        substitution: vec![4.0, 1e-300, 4.0],
        supply: vec![1e20, 1e-300, 2.0],
    };
    for (e, s) in errors(&m).into_iter().zip(SOLVERS) {
        assert_eq!(e, ModelError::Singular { solver: s, column: 1 }, "{s:?}");
    }
}

#[test]
fn overflow_is_an_error_not_a_number() {
    let mut m = market();
    for x in &mut m.base_values {
        *x *= 1.7e306; // finite values whose sums overflow
    }
    for (e, s) in errors(&m).into_iter().zip(SOLVERS) {
        assert_eq!(e, ModelError::NonFiniteResult { solver: s });
    }
}

#[test]
fn degenerate_markets_solve_trivially() {
    let empty = Market::default();
    for s in SOLVERS {
        let out = solve(&empty, s, &SolveOptions::default()).unwrap();
        assert!(out.economies.is_empty() && out.new_values.is_empty());
    }
    let mut zero = market();
    zero.base_values = vec![0.0; 9];
    for s in SOLVERS {
        let out = solve(&zero, s, &SolveOptions::default()).unwrap();
        assert_eq!(out.world_price, vec![1.0; 3]);
        assert_eq!(out.consumer_price, vec![1.0; 3]);
        assert_eq!(out.new_values, vec![0.0; 9]);
        assert!(out.economies.iter().all(|e| e.welfare_change == 0.0));
    }
}
