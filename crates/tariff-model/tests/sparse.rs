//! The sparse path (`Layout::Sparse`) against the dense one (`Layout::Dense`,
//! exactly `solve_with` on the densified market) on the same markets, and the
//! selection of `Layout::Auto`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::needless_range_loop)]

use proptest::collection::vec;
use proptest::prelude::*;
use std::path::PathBuf;
use tariff_model::{
    Layout, Market, ModelError, Pricing, SolveOptions, Solver, SparseFlow, SparseMarket, SparseOutcome,
    Structure, solve_sparse, solve_sparse_with_layout, solve_with, synthetic_markets,
    synthetic_sparse_market, synthetic_sparse_markets,
};

const REL: f64 = 1e-9;

/// The dense market as flows: every pair with a positive value and every
/// domestic pair, or (`all_pairs`) every pair.
fn to_sparse(m: &Market, all_pairs: bool) -> SparseMarket {
    let n = m.n;
    let mut flows = Vec::new();
    for v in 0..n {
        for r in 0..n {
            let i = v * n + r;
            if all_pairs || v == r || m.base_values[i] > 0.0 {
                flows.push(SparseFlow {
                    exporter: v as u32,
                    importer: r as u32,
                    base_value: m.base_values[i],
                    base_tariff: m.base_tariff[i],
                    new_tariff: m.new_tariff[i],
                });
            }
        }
    }
    SparseMarket {
        n,
        flows,
        import_demand: m.import_demand.clone(),
        substitution: m.substitution.clone(),
        supply: m.supply.clone(),
    }
}

fn base() -> Pricing {
    Pricing::default()
}

fn run(m: &SparseMarket, solver: Solver, pricing: &Pricing, layout: Layout) -> SparseOutcome {
    solve_sparse_with_layout(m, solver, &SolveOptions::default(), pricing, layout)
        .unwrap_or_else(|e| panic!("{layout:?} {solver:?} {pricing:?}: {e}"))
}

fn close(what: &str, got: f64, want: f64, floor: f64) {
    assert!(
        (got - want).abs() <= REL * (want.abs() + floor),
        "{what}: sparse {got}, dense {want} (diff {:e}, floor {floor})",
        (got - want).abs()
    );
}

/// Every figure of `sparse` within `REL` of `dense`: ratios relative to 1,
/// flow values to their base value, money figures of an economy to its base
/// size (`X0 + R0`, its supply and its expenditure).
fn assert_agree(m: &SparseMarket, sparse: &SparseOutcome, dense: &SparseOutcome) {
    let n = m.n;
    assert_eq!(sparse.flows.len(), m.flows.len());
    assert_eq!(sparse.economies.len(), n);
    for e in 0..n {
        close(&format!("world_price[{e}]"), sparse.world_price[e], dense.world_price[e], 1.0);
        close(&format!("consumer_price[{e}]"), sparse.consumer_price[e], dense.consumer_price[e], 1.0);
    }
    for (i, ((s, d), f)) in sparse.flows.iter().zip(&dense.flows).zip(&m.flows).enumerate() {
        let floor = f.base_value.max(1e-300);
        close(&format!("flow {i} new_value"), s.new_value, d.new_value, floor);
        close(
            &format!("flow {i} local value"),
            s.new_value_exporter_currency,
            d.new_value_exporter_currency,
            floor,
        );
        close(&format!("flow {i} volume"), s.volume, d.volume, 1.0);
        close(&format!("flow {i} fob"), s.fob_price, d.fob_price, 1.0);
        close(&format!("flow {i} delivered"), s.delivered_price, d.delivered_price, 1.0);
    }
    let mut size = vec![0.0; n];
    for f in &m.flows {
        size[f.exporter as usize] += f.base_value;
        size[f.importer as usize] +=
            f.base_value * if f.exporter == f.importer { 1.0 } else { f.base_tariff };
    }
    for (e, (s, d)) in sparse.economies.iter().zip(&dense.economies).enumerate() {
        let money = size[e].max(1.0);
        let pairs = [
            ("exports_before", s.exports_before, d.exports_before, money),
            ("exports_after", s.exports_after, d.exports_after, money),
            ("imports_before", s.imports_before, d.imports_before, money),
            ("imports_after", s.imports_after, d.imports_after, money),
            ("domestic_before", s.domestic_before, d.domestic_before, money),
            ("domestic_after", s.domestic_after, d.domestic_after, money),
            ("export_volume_change", s.export_volume_change, d.export_volume_change, 1.0),
            ("export_price_change", s.export_price_change, d.export_price_change, 1.0),
            ("world_price_change", s.world_price_change, d.world_price_change, 1.0),
            ("consumer_price_change", s.consumer_price_change, d.consumer_price_change, 1.0),
            ("consumer_surplus_change", s.consumer_surplus_change, d.consumer_surplus_change, money),
            ("producer_surplus_change", s.producer_surplus_change, d.producer_surplus_change, money),
            ("tariff_revenue_before", s.tariff_revenue_before, d.tariff_revenue_before, money),
            ("tariff_revenue_after", s.tariff_revenue_after, d.tariff_revenue_after, money),
            ("tariff_revenue_change", s.tariff_revenue_change, d.tariff_revenue_change, money),
            ("welfare_change", s.welfare_change, d.welfare_change, money),
            (
                "effective_tariff_before_pct",
                s.effective_tariff_before_pct,
                d.effective_tariff_before_pct,
                100.0,
            ),
            ("effective_tariff_after_pct", s.effective_tariff_after_pct, d.effective_tariff_after_pct, 100.0),
        ];
        for (what, got, want, floor) in pairs {
            close(&format!("economy {e} {what}"), got, want, floor);
        }
    }
    assert_eq!(sparse.exchange_rates, dense.exchange_rates);
    assert_eq!(sparse.diagnostics.solver, dense.diagnostics.solver);
    // Exact: the market-clearing residual; GSIM: that of its linear system.
    let tolerance = match sparse.diagnostics.solver {
        Solver::Exact => SolveOptions::default().tolerance,
        Solver::Gsim => 1e-9,
    };
    assert!(sparse.diagnostics.residual < tolerance, "sparse residual {:e}", sparse.diagnostics.residual);
}

/// Forced sparse vs forced dense, exact solver; returns the sparse outcome.
fn check(m: &SparseMarket, pricing: &Pricing) -> SparseOutcome {
    check_with(m, Solver::Exact, pricing)
}

fn check_with(m: &SparseMarket, solver: Solver, pricing: &Pricing) -> SparseOutcome {
    let dense = run(m, solver, pricing, Layout::Dense);
    let sparse = run(m, solver, pricing, Layout::Sparse);
    assert_agree(m, &sparse, &dense);
    sparse
}

fn check_dense(m: &Market) {
    for all_pairs in [false, true] {
        check(&to_sparse(m, all_pairs), &base());
    }
}

/// The GSIM worked example's data with the US-EU FTA shock.
fn reference_4x4() -> Market {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/exact-4x4-us-eu-fta.json");
    let case: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let flat = |key: &str| -> Vec<f64> {
        case[key]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap().clone())
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let one = |key: &str| case["elasticities"][key].as_f64().unwrap();
    Market {
        n: 4,
        base_values: flat("M0"),
        base_tariff: flat("T0"),
        new_tariff: flat("T1"),
        import_demand: vec![one("Em"); 4],
        substitution: vec![one("Es"); 4],
        supply: vec![one("Ex"); 4],
    }
}

/// The USITC-style single market: H buys from itself, S and N.
fn three_sources() -> Market {
    let mut new_tariff = vec![1.0; 9];
    new_tariff[3] = 1.1;
    Market {
        n: 3,
        base_values: vec![60.0, 0.0, 0.0, 30.0, 0.0, 0.0, 10.0, 0.0, 0.0],
        base_tariff: vec![1.0; 9],
        new_tariff,
        import_demand: vec![-1.0; 3],
        substitution: vec![4.0; 3],
        supply: vec![1.0, 10.0, 10.0],
    }
}

#[test]
fn reference_markets_agree() {
    check_dense(&reference_4x4());
    let out = check(&to_sparse(&three_sources(), false), &base());
    // The published composite price (docs/model.md, case 3).
    assert!((out.consumer_price[0] - 1.035651).abs() < 1e-6, "{}", out.consumer_price[0]);
}

#[test]
fn synthetic_markets_agree() {
    for (n, seed) in [(2, 1), (5, 2), (9, 3), (30, 4), (70, 5)] {
        for m in synthetic_markets(n, 7, seed) {
            check_dense(&m);
        }
    }
}

#[test]
fn mixed_elasticities_agree() {
    for mut m in synthetic_markets(20, 4, 11) {
        let n = m.n;
        for r in 0..n {
            m.substitution[r] = [0.4, 1.0, 1.0 + 1e-4, 1.0 - 5e-3, 1.0 + 1e-12, 3.0, 9.0][r % 7];
            m.import_demand[r] = -0.3 - 0.2 * (r % 5) as f64;
            m.supply[r] = [0.5, 2.0, 99.0, 5.0][r % 4];
        }
        check_dense(&m);
    }
}

/// `Es = 1` (the Cobb-Douglas composite) and `Es` near 1 (the `expm1` path)
/// for every importer, with small and large shocks.
#[test]
fn unit_and_near_unit_substitution_agree() {
    for es in [1.0, 1.0 + 1e-12, 1.0 + 1e-6, 1.0 - 1e-4, 1.0 + 5e-3] {
        for shock in [0.2, 3.0] {
            for mut m in synthetic_markets(12, 2, 21) {
                m.substitution = vec![es; m.n];
                for r in 1..m.n {
                    m.new_tariff[r * m.n] = m.base_tariff[r * m.n] + shock;
                }
                check_dense(&m);
            }
        }
    }
}

#[test]
fn exchange_rates_agree() {
    for (n, seed) in [(4, 1), (9, 2), (30, 3)] {
        for m in synthetic_markets(n, 3, seed) {
            let fx: Vec<f64> = (0..n).map(|e| 1.0 + 0.1 * ((e * 7 % 5) as f64 - 2.0)).collect();
            let pricing = Pricing { structure: Structure::Integrated, exchange_rates: fx.clone() };
            let out = check(&to_sparse(&m, false), &pricing);
            assert_eq!(out.exchange_rates, fx);
            // Equal currencies: what no currency move gives, in the sparse path too.
            let uniform = Pricing { structure: Structure::Integrated, exchange_rates: vec![1.0; n] };
            let s = to_sparse(&m, false);
            assert_eq!(
                run(&s, Solver::Exact, &uniform, Layout::Sparse),
                run(&s, Solver::Exact, &base(), Layout::Sparse)
            );
        }
    }
}

/// GSIM and segmented markets (each with and without exchange rates) have
/// sparse paths too; segmented markets are solved importer by importer with
/// the dense solvers' own per-importer code, so there the paths agree to
/// the last bit.
#[test]
fn every_solver_and_structure_agrees() {
    let mut markets: Vec<SparseMarket> = [(3, 1), (9, 2), (30, 3), (70, 4)]
        .into_iter()
        .flat_map(|(n, seed)| synthetic_markets(n, 3, seed))
        .map(|m| to_sparse(&m, false))
        .collect();
    markets.extend(synthetic_sparse_markets(120, 3, 0.05, 5));
    markets.push(to_sparse(&reference_4x4(), true));
    for m in &markets {
        let fx: Vec<f64> = (0..m.n).map(|e| 1.0 + 0.05 * ((e * 3 % 7) as f64 - 3.0)).collect();
        for structure in [Structure::Integrated, Structure::Segmented] {
            for exchange_rates in [Vec::new(), fx.clone()] {
                let pricing = Pricing { structure, exchange_rates };
                for solver in [Solver::Exact, Solver::Gsim] {
                    let sparse = check_with(m, solver, &pricing);
                    if structure == Structure::Segmented {
                        assert_eq!(sparse, run(m, solver, &pricing, Layout::Dense), "{solver:?} {pricing:?}");
                    }
                }
            }
        }
    }
}

/// Shocks of thousands of percent (and subsidies), the kind that the
/// continuation fallback is there for. (Damped Newton from the base solves
/// all of these directly; the continuation itself is tested against Newton
/// from the base in `sparse::exact`'s unit test
/// `continuation_reaches_the_direct_solution`.)
#[test]
fn huge_shocks_agree() {
    for mut m in synthetic_markets(9, 4, 5) {
        let n = m.n;
        for r in 1..n {
            m.new_tariff[r * n] = 60.0;
            m.new_tariff[r] = 0.05;
        }
        m.supply = vec![99.0; n];
        check_dense(&m);
    }
    check_dense(&huge_shock());
}

/// A 4,000% tariff with elastic and inelastic supply.
fn huge_shock() -> Market {
    let mut m = reference_4x4();
    m.new_tariff[1] = 40.0;
    m.new_tariff[6] = 40.0;
    m.supply = vec![99.0, 0.3, 99.0, 0.3];
    m.substitution = vec![12.0; 4];
    m
}

/// Economy 1 supplies nothing (an empty row: its price stays 1) and economy 2
/// buys nothing (an empty column: its composite price stays 1).
#[test]
fn no_supply_and_no_demand() {
    let n = 4;
    let mut m = synthetic_markets(n, 1, 8).remove(0);
    for r in 0..n {
        m.base_values[n + r] = 0.0;
    }
    for v in 0..n {
        m.base_values[v * n + 2] = 0.0;
    }
    for all_pairs in [false, true] {
        let s = to_sparse(&m, all_pairs);
        let out = check(&s, &base());
        assert_eq!(out.world_price[1], 1.0);
        assert_eq!(out.consumer_price[2], 1.0);
    }
}

#[test]
fn unshocked_market_is_exactly_the_base() {
    let mut markets: Vec<SparseMarket> =
        synthetic_markets(9, 3, 2).into_iter().map(|m| to_sparse(&m, false)).collect();
    markets.extend(synthetic_sparse_markets(80, 3, 0.05, 9));
    for mut m in markets {
        for f in &mut m.flows {
            f.new_tariff = f.base_tariff;
        }
        let out = run(&m, Solver::Exact, &base(), Layout::Sparse);
        assert!(out.world_price.iter().all(|&p| p == 1.0));
        assert!(out.consumer_price.iter().all(|&p| p == 1.0));
        assert_eq!(out.diagnostics.residual, 0.0);
        assert_eq!(out.diagnostics.iterations, 0);
        for (o, f) in out.flows.iter().zip(&m.flows) {
            assert_eq!(o.new_value, f.base_value);
            assert_eq!((o.volume, o.fob_price), (1.0, 1.0));
        }
        for e in &out.economies {
            assert_eq!(e.exports_after, e.exports_before);
            assert_eq!(e.imports_after, e.imports_before);
            assert_eq!(e.domestic_after, e.domestic_before);
            assert_eq!(e.tariff_revenue_after, e.tariff_revenue_before);
            assert_eq!(e.effective_tariff_after_pct, e.effective_tariff_before_pct);
            for change in [
                e.world_price_change,
                e.consumer_price_change,
                e.consumer_surplus_change,
                e.producer_surplus_change,
                e.tariff_revenue_change,
                e.welfare_change,
                e.export_volume_change,
                e.export_price_change,
            ] {
                assert_eq!(change.to_bits(), 0.0f64.to_bits(), "{e:?}");
            }
        }
    }
}

/// On small (or dense) markets `Auto` is the dense path, to the last bit:
/// exactly `solve_with` on the densified market.
#[test]
fn auto_on_small_markets_is_the_dense_path() {
    let pricings = [
        base(),
        Pricing { structure: Structure::Segmented, exchange_rates: Vec::new() },
        Pricing { structure: Structure::Integrated, exchange_rates: vec![1.1; 9] },
    ];
    for m in synthetic_markets(9, 4, 3) {
        let s = to_sparse(&m, false);
        for solver in [Solver::Exact, Solver::Gsim] {
            for pricing in &pricings {
                assert_eq!(Layout::Auto.resolve(&s, solver, pricing), Layout::Dense);
                let auto = solve_sparse(&s, solver, &SolveOptions::default(), pricing).unwrap();
                assert_eq!(auto, run(&s, solver, pricing, Layout::Dense));
                let dense =
                    solve_with(&s.to_dense().unwrap(), solver, &SolveOptions::default(), pricing).unwrap();
                assert_eq!(auto.world_price, dense.world_price);
                assert_eq!(auto.consumer_price, dense.consumer_price);
                assert_eq!(auto.economies, dense.economies);
                assert_eq!(auto.diagnostics, dense.diagnostics);
                for (o, f) in auto.flows.iter().zip(&s.flows) {
                    let k = f.exporter as usize * m.n + f.importer as usize;
                    assert_eq!(o.new_value.to_bits(), dense.new_values[k].to_bits());
                    assert_eq!(o.volume.to_bits(), dense.volume[k].to_bits());
                }
            }
        }
    }
    // A large market whose pairs nearly all trade is dense too.
    let big = to_sparse(&synthetic_markets(64, 1, 1).remove(0), false);
    assert_eq!(Layout::Auto.resolve(&big, Solver::Exact, &base()), Layout::Dense);
}

/// Large sparse markets take the sparse path under `Auto`, and it agrees
/// with the dense path there too.
#[test]
fn auto_on_large_sparse_markets_is_the_sparse_path() {
    for m in synthetic_sparse_markets(100, 3, 0.05, 4) {
        assert_eq!(Layout::Auto.resolve(&m, Solver::Exact, &base()), Layout::Sparse);
        let segmented = Pricing { structure: Structure::Segmented, exchange_rates: Vec::new() };
        assert_eq!(Layout::Auto.resolve(&m, Solver::Gsim, &base()), Layout::Sparse);
        assert_eq!(Layout::Auto.resolve(&m, Solver::Exact, &segmented), Layout::Sparse);
        let auto = solve_sparse(&m, Solver::Exact, &SolveOptions::default(), &base()).unwrap();
        assert_eq!(auto, run(&m, Solver::Exact, &base(), Layout::Sparse));
        let out = check(&m, &base());
        assert!(out.diagnostics.iterations >= 2, "{:?}", out.diagnostics);
        // Economy 0's tariff rise lowers its imports and its consumers lose.
        assert!(out.economies[0].imports_after < out.economies[0].imports_before);
        assert!(out.economies[0].consumer_surplus_change < 0.0);
        let fx: Vec<f64> = (0..m.n).map(|e| 1.0 + 0.01 * (e % 11) as f64).collect();
        check(&m, &Pricing { structure: Structure::Integrated, exchange_rates: fx });
    }
}

/// The flow's figures follow the market's order of flows, whatever it is.
#[test]
fn flow_order_does_not_matter() {
    let m = synthetic_sparse_market(70, 2, 0.1, 3);
    let out = run(&m, Solver::Exact, &base(), Layout::Sparse);
    let mut reversed = m.clone();
    reversed.flows.reverse();
    let rev = run(&reversed, Solver::Exact, &base(), Layout::Sparse);
    assert_eq!(rev.world_price, out.world_price);
    assert_eq!(rev.economies, out.economies);
    let back: Vec<_> = rev.flows.iter().rev().copied().collect();
    assert_eq!(back, out.flows);
}

fn small() -> SparseMarket {
    let m = Market {
        n: 3,
        base_values: vec![100.0, 20.0, 5.0, 30.0, 80.0, 10.0, 0.0, 15.0, 60.0],
        base_tariff: vec![1.0, 1.05, 1.1, 1.02, 1.0, 1.08, 1.2, 1.0, 1.0],
        new_tariff: vec![1.0, 1.25, 1.1, 1.02, 1.0, 1.08, 1.2, 1.0, 1.0],
        import_demand: vec![-1.25; 3],
        substitution: vec![5.0; 3],
        supply: vec![1.5, 2.0, 99.0],
    };
    // Listed out of order, on purpose: errors name dense indices, not positions.
    let mut s = to_sparse(&m, true);
    s.flows.reverse();
    s
}

fn both_errors(m: &SparseMarket, pricing: &Pricing, options: &SolveOptions) -> ModelError {
    let dense =
        solve_sparse_with_layout(m, Solver::Exact, options, pricing, Layout::Dense).expect_err("dense");
    let sparse =
        solve_sparse_with_layout(m, Solver::Exact, options, pricing, Layout::Sparse).expect_err("sparse");
    assert_eq!(sparse, dense);
    sparse
}

fn flow_at(m: &mut SparseMarket, v: u32, r: u32) -> &mut SparseFlow {
    m.flows.iter_mut().find(|f| f.exporter == v && f.importer == r).unwrap()
}

#[test]
fn bad_flows_are_refused() {
    let o = SolveOptions::default();
    let mut m = small();
    m.flows[4].importer = 3;
    assert_eq!(
        both_errors(&m, &base(), &o),
        ModelError::FlowIndex { index: 4, exporter: m.flows[4].exporter, importer: 3, n: 3 }
    );
    let mut m = small();
    let copy = m.flows[2];
    m.flows.push(copy);
    assert_eq!(
        both_errors(&m, &base(), &o),
        ModelError::DuplicateFlow { index: 9, exporter: copy.exporter, importer: copy.importer }
    );
    // The earlier of an out-of-range flow and a repetition is named.
    let mut m = small();
    m.flows[1] = m.flows[0];
    m.flows[5].exporter = 7;
    assert!(matches!(both_errors(&m, &base(), &o), ModelError::DuplicateFlow { index: 1, .. }));
    let mut m = small();
    m.flows[6] = m.flows[3];
    m.flows[5].exporter = 7;
    assert!(matches!(both_errors(&m, &base(), &o), ModelError::FlowIndex { index: 5, exporter: 7, .. }));
}

#[test]
fn bad_values_are_refused_as_the_dense_path_does() {
    let o = SolveOptions::default();
    type Corrupt = fn(&mut SparseMarket);
    let cases: Vec<(Corrupt, ModelError)> = vec![
        (
            |m| m.substitution.pop().map(drop).unwrap_or(()),
            ModelError::Dimension { field: "substitution", expected: 3, found: 2 },
        ),
        (|m| flow_at(m, 1, 2).new_tariff = f64::NAN, ModelError::NonFinite { field: "new_tariff", index: 5 }),
        (
            |m| {
                flow_at(m, 2, 1).base_value = f64::INFINITY;
                flow_at(m, 0, 2).base_value = f64::NAN;
            },
            ModelError::NonFinite { field: "base_values", index: 2 },
        ),
        // Domestic tariffs are ignored, but not when they are NaN.
        (
            |m| flow_at(m, 1, 1).base_tariff = f64::NAN,
            ModelError::NonFinite { field: "base_tariff", index: 4 },
        ),
        (|m| m.supply[2] = f64::INFINITY, ModelError::NonFinite { field: "supply", index: 2 }),
        (
            |m| flow_at(m, 2, 1).base_value = -1.0,
            ModelError::NegativeValue { field: "base_values", index: 7, value: -1.0 },
        ),
        (
            |m| flow_at(m, 0, 1).base_tariff = 0.0,
            ModelError::NonPositiveTariff { field: "base_tariff", index: 1, value: 0.0 },
        ),
        (
            |m| flow_at(m, 2, 0).new_tariff = -0.5,
            ModelError::NonPositiveTariff { field: "new_tariff", index: 6, value: -0.5 },
        ),
        (
            |m| m.import_demand[1] = 0.5,
            ModelError::Elasticity {
                field: "import_demand",
                index: 1,
                value: 0.5,
                requirement: "import-demand elasticity must be < 0",
            },
        ),
        (
            |m| m.substitution[0] = 0.0,
            ModelError::Elasticity {
                field: "substitution",
                index: 0,
                value: 0.0,
                requirement: "elasticity of substitution must be > 0",
            },
        ),
        (
            |m| m.supply[2] = -2.0,
            ModelError::Elasticity {
                field: "supply",
                index: 2,
                value: -2.0,
                requirement: "export-supply elasticity must be > 0",
            },
        ),
        (|m| m.n = usize::MAX, ModelError::TooLarge { n: usize::MAX }),
    ];
    for (corrupt, want) in cases {
        let mut m = small();
        corrupt(&mut m);
        assert_eq!(both_errors(&m, &base(), &o), want);
        // Validation is the same for every solver and market structure.
        for solver in [Solver::Exact, Solver::Gsim] {
            for structure in [Structure::Integrated, Structure::Segmented] {
                let pricing = Pricing { structure, exchange_rates: vec![1.1, 1.0, 0.9] };
                let layouts = [Layout::Dense, Layout::Sparse];
                let [d, s] =
                    layouts.map(|l| solve_sparse_with_layout(&m, solver, &o, &pricing, l).unwrap_err());
                assert_eq!(s, d, "{solver:?} {structure:?}");
            }
        }
    }
    // A bad domestic tariff factor is harmless: it is treated as 1.
    let mut m = small();
    flow_at(&mut m, 0, 0).new_tariff = -3.0;
    check(&m, &base());

    for tolerance in [0.0, f64::NAN] {
        let bad = SolveOptions { tolerance, ..o.clone() };
        assert!(matches!(
            both_errors(&small(), &base(), &bad),
            ModelError::Options { field: "tolerance", .. }
        ));
    }
    let fx = |rates: Vec<f64>| Pricing { structure: Structure::Integrated, exchange_rates: rates };
    assert_eq!(
        both_errors(&small(), &fx(vec![1.1, 1.0]), &o),
        ModelError::Dimension { field: "exchange_rates", expected: 3, found: 2 }
    );
    assert_eq!(
        both_errors(&small(), &fx(vec![1.1, 0.0, 1.0]), &o),
        ModelError::ExchangeRate { index: 1, value: 0.0 }
    );
    assert_eq!(
        both_errors(&small(), &fx(vec![1.1, f64::NAN, 1.0]), &o),
        ModelError::NonFinite { field: "exchange_rates", index: 1 }
    );
    // Too few iterations, and values whose sums overflow.
    let none = SolveOptions { max_iterations: 0, ..o.clone() };
    assert!(matches!(both_errors(&small(), &base(), &none), ModelError::NotConverged { iterations: 0, .. }));
    let mut m = small();
    for f in &mut m.flows {
        f.base_value *= 1.7e306;
    }
    assert_eq!(both_errors(&m, &base(), &o), ModelError::NonFiniteResult { solver: Solver::Exact });
    for solver in [Solver::Exact, Solver::Gsim] {
        for structure in [Structure::Integrated, Structure::Segmented] {
            let pricing = Pricing { structure, exchange_rates: Vec::new() };
            let [d, s] = [Layout::Dense, Layout::Sparse]
                .map(|l| solve_sparse_with_layout(&m, solver, &o, &pricing, l));
            assert_eq!(s, d, "{solver:?} {structure:?}");
            assert_eq!(s, Err(ModelError::NonFiniteResult { solver }), "{solver:?} {structure:?}");
        }
    }
}

/// Economy 1 trades only with itself with elasticities of 1e-300, next to an
/// exporter with a supply elasticity of 1e20 (tests/errors.rs): LU finds no
/// pivot above `n eps` times the largest entry (1e20) and refuses it; GMRES,
/// preconditioned by the diagonal (which scales that 1e20 away), solves it,
/// and the solution clears the market: economy 0's price cannot move, nor
/// can economy 1's.
#[test]
fn system_singular_for_lu_solves_sparse() {
    let m = Market {
        n: 3,
        base_values: vec![50.0, 0.0, 20.0, 0.0, 10.0, 0.0, 30.0, 0.0, 40.0],
        base_tariff: vec![1.0; 9],
        new_tariff: vec![1.0, 1.0, 1.3, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        import_demand: vec![-1.0, -1e-300, -1.0],
        substitution: vec![4.0, 1e-300, 4.0],
        supply: vec![1e20, 1e-300, 2.0],
    };
    let s = to_sparse(&m, false);
    for solver in [Solver::Exact, Solver::Gsim] {
        let dense = solve_sparse_with_layout(&s, solver, &SolveOptions::default(), &base(), Layout::Dense);
        assert_eq!(dense, Err(ModelError::Singular { solver, column: 1 }));
        let out = solve_sparse_with_layout(&s, solver, &SolveOptions::default(), &base(), Layout::Sparse)
            .unwrap_or_else(|e| panic!("{solver:?}: {e}"));
        assert!(out.diagnostics.residual < 1e-12, "{solver:?}: {:?}", out.diagnostics);
        assert!((out.world_price[0] - 1.0).abs() < 1e-15, "{solver:?}: {:?}", out.world_price);
        assert!((out.world_price[1] - 1.0).abs() < 1e-15, "{solver:?}: {:?}", out.world_price);
        assert!(out.world_price[2] > 1.0, "{solver:?}: {:?}", out.world_price);
    }
}

#[test]
fn degenerate_markets() {
    let empty = SparseMarket::default();
    let out = run(&empty, Solver::Exact, &base(), Layout::Sparse);
    assert!(out.flows.is_empty() && out.economies.is_empty());
    // Economies that trade nothing at all, and flows of value 0.
    let mut m = small();
    for f in &mut m.flows {
        f.base_value = 0.0;
    }
    let out = check(&m, &base());
    assert_eq!(out.world_price, vec![1.0; 3]);
    let mut m = small();
    m.n = 5;
    m.import_demand.extend([-1.0, -1.0]);
    m.substitution.extend([2.0, 2.0]);
    m.supply.extend([2.0, 2.0]);
    let out = check(&m, &base());
    assert_eq!(out.world_price[3..], [1.0, 1.0]);
}

/// A random small sparse market: each off-diagonal pair trades with chance
/// about 1/3, most economies ship domestically, random elasticities (with
/// `Es = 1` and `Ex = 99` among them), tariffs and shocks up to 40 points.
fn sparse_market() -> impl Strategy<Value = SparseMarket> {
    (2..12usize).prop_flat_map(|n| {
        (
            vec(prop_oneof![2 => Just(None), 1 => (1e-2..1e3f64).prop_map(Some)], n * n),
            vec(prop_oneof![1 => Just(None), 6 => (1.0..1e4f64).prop_map(Some)], n),
            vec(0.0..0.3f64, n * n),
            vec(prop_oneof![1 => Just(0.0), 1 => -0.1..0.4f64], n * n),
            vec(-3.0..-0.3f64, n),
            vec(prop_oneof![1 => Just(1.0), 4 => 0.5..12.0f64], n),
            vec(prop_oneof![1 => Just(99.0), 4 => 0.5..20.0f64], n),
        )
            .prop_map(move |(values, domestic, t0, shock, em, es, ex)| {
                let mut flows = Vec::new();
                for v in 0..n {
                    for r in 0..n {
                        let i = v * n + r;
                        let value = if v == r { domestic[v] } else { values[i] };
                        if let Some(base_value) = value {
                            let base_tariff = 1.0 + t0[i];
                            let new_tariff = (base_tariff + shock[i]).max(1.0);
                            flows.push(SparseFlow {
                                exporter: v as u32,
                                importer: r as u32,
                                base_value,
                                base_tariff,
                                new_tariff,
                            });
                        }
                    }
                }
                SparseMarket { n, flows, import_demand: em, substitution: es, supply: ex }
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sparse_agrees_with_dense_on_random_markets(m in sparse_market()) {
        let dense = solve_sparse_with_layout(&m, Solver::Exact, &SolveOptions::default(), &base(), Layout::Dense);
        let sparse = solve_sparse_with_layout(&m, Solver::Exact, &SolveOptions::default(), &base(), Layout::Sparse);
        match (sparse, dense) {
            (Ok(s), Ok(d)) => assert_agree(&m, &s, &d),
            (s, d) => prop_assert!(false, "sparse {:?}, dense {:?}", s.err(), d.err()),
        }
    }

    /// Every solver and market structure, with exchange rates moving by up to 20%.
    #[test]
    fn every_path_agrees_on_random_markets(
        m in sparse_market(),
        gsim in any::<bool>(),
        segmented in any::<bool>(),
        fx in vec(0.8..1.2f64, 12),
        moves in any::<bool>(),
    ) {
        let solver = if gsim { Solver::Gsim } else { Solver::Exact };
        let structure = if segmented { Structure::Segmented } else { Structure::Integrated };
        let exchange_rates = if moves { fx[..m.n].to_vec() } else { Vec::new() };
        let pricing = Pricing { structure, exchange_rates };
        let o = SolveOptions::default();
        let dense = solve_sparse_with_layout(&m, solver, &o, &pricing, Layout::Dense);
        let sparse = solve_sparse_with_layout(&m, solver, &o, &pricing, Layout::Sparse);
        match (sparse, dense) {
            (Ok(s), Ok(d)) => assert_agree(&m, &s, &d),
            (s, d) => prop_assert!(false, "{solver:?} {pricing:?}: sparse {:?}, dense {:?}", s.err(), d.err()),
        }
    }
}

/// Input costs on the sparse path (supply at the value-added price, its
/// Jacobian term, producer surplus on value added) agree with the dense path,
/// with and without exchange rates; and at zero shares the sparse path with
/// costs is the sparse path without them.
#[test]
fn input_costs_agree_on_both_paths() {
    use tariff_model::{InputCosts, solve_sparse_with_input_costs_on};
    let solve = |m: &SparseMarket, pricing: &Pricing, costs: &InputCosts, layout| {
        solve_sparse_with_input_costs_on(m, Solver::Exact, &SolveOptions::default(), pricing, costs, layout)
            .unwrap_or_else(|e| panic!("{layout:?}: {e}"))
    };
    for (n, seed) in [(9, 4), (70, 5)] {
        let m = synthetic_sparse_market(n, 1, 0.3, seed);
        // Shares 0 to 0.6 and input prices 0.9 to 1.2, spread over the economies.
        let share: Vec<f64> = (0..n).map(|e| 0.6 * ((e * 5 % 7) as f64) / 6.0).collect();
        let cost: Vec<f64> =
            share.iter().enumerate().map(|(e, a)| a * (0.9 + 0.3 * ((e % 4) as f64) / 3.0)).collect();
        let costs = InputCosts::new(share, cost).unwrap();
        let fx: Vec<f64> = (0..n).map(|e| 1.0 + 0.05 * ((e * 3 % 5) as f64 - 2.0)).collect();
        for pricing in [base(), Pricing { structure: Structure::Integrated, exchange_rates: fx }] {
            let (sparse, dense) =
                (solve(&m, &pricing, &costs, Layout::Sparse), solve(&m, &pricing, &costs, Layout::Dense));
            assert_agree(&m, &sparse, &dense);
            // The costs move the solution: not the uncoupled one.
            let plain = run(&m, Solver::Exact, &pricing, Layout::Sparse);
            assert!(sparse.world_price.iter().zip(&plain.world_price).any(|(a, b)| (a - b).abs() > 1e-6));
        }
        let zero = InputCosts::new(vec![0.0; n], vec![0.0; n]).unwrap();
        let (with, without) =
            (solve(&m, &base(), &zero, Layout::Sparse), run(&m, Solver::Exact, &base(), Layout::Sparse));
        assert_agree(&m, &with, &without);
    }
}
