//! Economic and numerical properties of both solvers over random markets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    assert_no_change, base_market, check_first_order, close, diversion_candidates, market_of_size,
    shocked_market, small_shock_market,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use tariff_model::{Market, MarketOutcome, SolveOptions, Solver, solve};

const CASES: u32 = 128;

fn opts() -> SolveOptions {
    SolveOptions::default()
}

fn solve_ok(m: &Market, s: Solver) -> MarketOutcome {
    solve(m, s, &opts()).unwrap_or_else(|e| panic!("{s:?}: {e} on {m:?}"))
}

/// Largest world-price-change gap between the solvers, and largest exact change.
fn solver_gap(m: &Market) -> (f64, f64) {
    let e = solve_ok(m, Solver::Exact);
    let g = solve_ok(m, Solver::Gsim);
    let gap = e
        .economies
        .iter()
        .zip(&g.economies)
        .map(|(a, b)| (a.world_price_change - b.world_price_change).abs())
        .fold(0.0, f64::max);
    let largest = e.economies.iter().map(|a| a.world_price_change.abs()).fold(0.0, f64::max);
    (gap, largest)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Unshocked (diagonal tariffs may differ: they are ignored): exactly the base.
    #[test]
    fn no_shock_no_change(m in base_market(), diag in 1.0..2.0f64) {
        let mut m = m;
        for i in 0..m.n {
            m.new_tariff[i * m.n + i] = diag;
        }
        for s in [Solver::Exact, Solver::Gsim] {
            assert_no_change(&m, &solve_ok(&m, s));
        }
    }

    /// The exact solution clears every market: supply `X0 p^Ex` equals the
    /// quantity demanded `sum_r M1 / p` (quantities in base world-price units).
    #[test]
    fn exact_solution_clears_markets(m in shocked_market()) {
        let out = solve_ok(&m, Solver::Exact);
        prop_assert!(out.diagnostics.residual < 1e-12);
        let n = m.n;
        for v in 0..n {
            let row = &m.base_values[v * n..(v + 1) * n];
            let x0: f64 = row.iter().sum();
            let p = out.world_price[v];
            if x0 == 0.0 {
                prop_assert_eq!(p, 1.0);
                continue;
            }
            let demand: f64 = out.new_values[v * n..(v + 1) * n].iter().map(|m1| m1 / p).sum();
            let residual = (demand - x0 * p.powf(m.supply[v])).abs() / x0;
            prop_assert!(residual < 1e-9, "exporter {v}: residual {residual:e}");
        }
    }

    /// GSIM is the first-order expansion of the exact model in the tariff shock,
    /// so their gap is second order in the shock size `s = max |T1/T0 - 1|`.
    ///
    /// With every tariff moving by less than one point, a gap "within 2%" of
    /// each economy's own change is not a property of the model: changes of
    /// opposite sign cancel in some economies, and with Es up to 12 the
    /// second-order terms (GSIM uses `That` for `ln(T1/T0)` and `Mhat` for
    /// `ln q`) reach about 3 s² in random markets. So this asserts (a) a gap
    /// within 2% of the largest exact change plus 5 s², and (b) the real
    /// content, agreement to first order: a ten times smaller shock leaves at
    /// most 2% of the gap (ideal 1%).
    #[test]
    fn solvers_agree_to_first_order(m in small_shock_market()) {
        check_first_order(&m, solver_gap)?;
    }

    /// A tariff raised on v -> r cuts that flow and diverts r's imports to another
    /// foreign source. Needs Es[r] > |Em[r]| (sources are substitutes on net);
    /// otherwise the composite price rise can cut imports from everyone.
    #[test]
    fn tariff_diverts_trade(
        m in market_of_size(3..8),
        extra_es in vec(0.1..10.0f64, 8),
        pick in any::<Index>(),
        raise in 0.05..0.30f64,
    ) {
        let mut m = m;
        let n = m.n;
        let flows = diversion_candidates(&mut m, &extra_es);
        prop_assume!(!flows.is_empty());
        let (v, r) = flows[pick.index(flows.len())];
        m.new_tariff[v * n + r] += raise;
        let out = solve_ok(&m, Solver::Exact);
        let (m0, m1) = (&m.base_values, &out.new_values);
        prop_assert!(m1[v * n + r] < m0[v * n + r]);
        prop_assert!(
            (0..n).any(|u| u != v && u != r && m1[u * n + r] > m0[u * n + r]),
            "no diversion into {r} after taxing {v}: {m1:?} vs {m0:?}"
        );
    }

    /// Scaling every value by k scales every money figure by k and leaves
    /// prices, price changes and tariff rates alone. Money figures that are
    /// changes inherit the rounding of the prices they come from, so their
    /// relative 1e-9 is measured against the market's total value.
    #[test]
    fn values_scale_linearly(m in shocked_market(), k in 0.01..1000.0f64) {
        let mut scaled = m.clone();
        for x in &mut scaled.base_values {
            *x *= k;
        }
        let total: f64 = m.base_values.iter().sum();
        let money = |a: f64, b: f64| close(b, k * a, 1e-9, k * total);
        let ratio = |a: f64, b: f64| close(b, a, 1e-9, 1.0);
        for s in [Solver::Exact, Solver::Gsim] {
            let (a, b) = (solve_ok(&m, s), solve_ok(&scaled, s));
            for (x, y) in a.world_price.iter().zip(&b.world_price) {
                prop_assert!(ratio(*x, *y), "{s:?} p {x} vs {y}");
            }
            for (x, y) in a.consumer_price.iter().zip(&b.consumer_price) {
                prop_assert!(ratio(*x, *y), "{s:?} P {x} vs {y}");
            }
            for (x, y) in a.new_values.iter().zip(&b.new_values) {
                prop_assert!(money(*x, *y), "{s:?} M1 {x} vs {y}");
            }
            for (e, f) in a.economies.iter().zip(&b.economies) {
                let pairs = [
                    (e.exports_before, f.exports_before),
                    (e.exports_after, f.exports_after),
                    (e.imports_before, f.imports_before),
                    (e.imports_after, f.imports_after),
                    (e.domestic_before, f.domestic_before),
                    (e.domestic_after, f.domestic_after),
                    (e.consumer_surplus_change, f.consumer_surplus_change),
                    (e.producer_surplus_change, f.producer_surplus_change),
                    (e.tariff_revenue_before, f.tariff_revenue_before),
                    (e.tariff_revenue_after, f.tariff_revenue_after),
                    (e.tariff_revenue_change, f.tariff_revenue_change),
                    (e.welfare_change, f.welfare_change),
                ];
                for (x, y) in pairs {
                    prop_assert!(money(x, y), "{s:?} money {x} * {k} vs {y}");
                }
                let ratios = [
                    (e.world_price_change, f.world_price_change),
                    (e.consumer_price_change, f.consumer_price_change),
                    (e.effective_tariff_before_pct, f.effective_tariff_before_pct),
                    (e.effective_tariff_after_pct, f.effective_tariff_after_pct),
                ];
                for (x, y) in ratios {
                    prop_assert!(ratio(x, y), "{s:?} ratio {x} vs {y}");
                }
            }
        }
    }
}
