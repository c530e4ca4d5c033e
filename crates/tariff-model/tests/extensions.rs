//! The extensions of docs/model.md: segmented markets (pricing to market) and
//! exchange rates, on hand-checked cases and as properties over random markets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    assert_no_change, base_market, check_first_order, close, diversion_candidates, shocked_market,
    small_shock_market,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use tariff_model::{Market, MarketOutcome, Pricing, SolveOptions, Solver, Structure, solve, solve_with};

const CASES: u32 = 128;

fn segmented() -> Pricing {
    Pricing { structure: Structure::Segmented, exchange_rates: Vec::new() }
}

fn with_fx(structure: Structure, fx: &[f64]) -> Pricing {
    Pricing { structure, exchange_rates: fx.to_vec() }
}

fn run(m: &Market, solver: Solver, pricing: &Pricing) -> MarketOutcome {
    solve_with(m, solver, &SolveOptions::default(), pricing)
        .unwrap_or_else(|e| panic!("{solver:?} {pricing:?}: {e} on {m:?}"))
}

/// H (0) buys from itself and from F (1); F also sells to T (2), which buys from
/// itself. Unit elasticities (`Es = 1`, `Em = -1`, `Ex = 1`), no base tariffs.
/// Then every flow's demand is `q = 1 / Pvr`, so a segmented flow with factor
/// `tau` clears at `p^2 = 1 / tau`.
fn three_economies(new_f_to_h: f64) -> Market {
    let n = 3;
    let mut base_values = vec![0.0; n * n];
    base_values[0] = 75.0; // H -> H
    base_values[3] = 25.0; // F -> H
    base_values[5] = 50.0; // F -> T
    base_values[8] = 50.0; // T -> T
    let mut new_tariff = vec![1.0; n * n];
    new_tariff[3] = new_f_to_h;
    Market {
        n,
        base_values,
        base_tariff: vec![1.0; n * n],
        new_tariff,
        import_demand: vec![-1.0; n],
        substitution: vec![1.0; n],
        supply: vec![1.0; n],
    }
}

fn near(got: f64, want: f64) {
    assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0), "got {got}, want {want}");
}

/// A 21% tariff on F -> H: the flow's price is 1/1.1 (F absorbs half of the
/// tariff in logs), its delivered price 1.1, its volume 1/1.1; F's price to T
/// does not move. Every figure by hand.
#[test]
fn segmented_exact_hand_case() {
    let m = three_economies(1.21);
    let out = run(&m, Solver::Exact, &segmented());
    near(out.fob_price[3], 1.0 / 1.1);
    near(out.delivered_price[3], 1.1);
    near(out.volume[3], 1.0 / 1.1);
    near(out.new_values[3], 25.0 / 1.21);
    assert_eq!(out.fob_price[5], 1.0, "F's price to T stays: it is another market");
    assert_eq!(out.new_values[5], 50.0);
    near(out.fob_price[0], 1.0);
    near(out.volume[0], 1.0);
    // H's composite price: theta_F = 25/100 of the log of F's delivered price.
    near(out.consumer_price[0], 1.1f64.powf(0.25));
    let (h, f) = (&out.economies[0], &out.economies[1]);
    near(f.world_price_change, (25.0 / 1.1 + 50.0) / 75.0 - 1.0);
    near(f.producer_surplus_change, 25.0 * (1.0 / 1.21 - 1.0) / 2.0);
    near(h.consumer_surplus_change, -100.0 * 0.25 * 1.1f64.ln());
    near(h.tariff_revenue_change, 0.21 * 25.0 / 1.21);
    near(f.export_volume_change, (25.0 / 1.1 + 50.0) / 75.0 - 1.0);
    near(f.export_price_change, (25.0 / 1.21 + 50.0) / (25.0 / 1.1 + 50.0) - 1.0);
    assert!(out.diagnostics.residual < 1e-12);

    // Integrated, F has one price for both markets: it falls less to H and
    // also to T.
    let integrated = solve(&m, Solver::Exact, &SolveOptions::default()).unwrap();
    assert!(integrated.world_price[1] < 1.0 && integrated.world_price[1] > 1.0 / 1.1);
    assert_eq!(integrated.fob_price[5], integrated.world_price[1]);
}

/// The same case linearised: with `Es + Em = 0` GSIM's `x = -Es That / (Es + Ex)`
/// is `-0.105`, and `Mhat = Ex x`.
#[test]
fn segmented_gsim_hand_case() {
    let m = three_economies(1.21);
    let out = run(&m, Solver::Gsim, &segmented());
    near(out.fob_price[3], 0.895);
    near(out.volume[3], 0.895);
    near(out.new_values[3], 25.0 * 0.895 * 0.895);
    assert_eq!(out.fob_price[5], 1.0);
    near(out.consumer_price[0], 1.0 + 0.25 * (0.895 * 1.21 - 1.0));
    let f = &out.economies[1];
    near(f.producer_surplus_change, -0.105 * 25.0 * (1.0 - 0.5 * 0.105));
    near(f.world_price_change, 25.0 * -0.105 / 75.0);
}

/// F's currency up 21% and no tariff: in F's currency every export price is
/// `1/1.1`, in the dataset currency `1.21/1.1 = 1.1`; exports are worth the same
/// dollars and 1/1.21 as much in F's currency; nothing happens to H's and T's
/// own flows, and no tariff revenue moves.
#[test]
fn appreciation_hand_case() {
    let m = three_economies(1.0);
    let fx = [1.0, 1.21, 1.0];
    for structure in [Structure::Segmented, Structure::Integrated] {
        let out = run(&m, Solver::Exact, &with_fx(structure, &fx));
        for flow in [3, 5] {
            near(out.fob_price[flow], 1.1);
            near(out.delivered_price[flow], 1.1);
            near(out.volume[flow], 1.0 / 1.1);
            near(out.new_values[flow], [25.0, 50.0][flow / 5]);
            near(out.values_in_exporter_currency()[flow], [25.0, 50.0][flow / 5] / 1.21);
        }
        near(out.new_values[0], 75.0);
        near(out.new_values[8], 50.0);
        let f = &out.economies[1];
        near(f.world_price_change, 0.1);
        near(f.producer_surplus_change, 75.0 * (1.0 / 1.21 - 1.0) / 2.0);
        near(f.export_price_change, 0.1);
        for e in &out.economies {
            assert_eq!(e.tariff_revenue_change, 0.0);
        }
    }
}

/// An economy with only domestic shipments: its prices in the dataset currency
/// move by `f`, and nothing else does.
#[test]
fn closed_economy_moves_by_its_exchange_rate() {
    let mut m = three_economies(1.1);
    m.base_values[5] = 0.0; // F -> T: T now trades with nobody
    let fx = [1.0, 1.0, 1.3];
    for structure in [Structure::Integrated, Structure::Segmented] {
        for solver in [Solver::Exact, Solver::Gsim] {
            let plain = run(&m, solver, &Pricing { structure, exchange_rates: Vec::new() });
            let moved = run(&m, solver, &with_fx(structure, &fx));
            near(moved.world_price[2], 1.3);
            near(moved.consumer_price[2], 1.3);
            near(moved.new_values[8], 50.0 * 1.3);
            near(moved.values_in_exporter_currency()[8], 50.0);
            let (a, b) = (&plain.economies[2], &moved.economies[2]);
            assert_eq!(b.welfare_change, a.welfare_change);
            for v in 0..8 {
                assert_eq!(moved.new_values[v], plain.new_values[v], "{solver:?} {structure:?} flow {v}");
            }
        }
    }
}

/// Bad exchange rates are refused before any computation.
#[test]
fn bad_exchange_rates_are_refused() {
    let m = three_economies(1.1);
    for (fx, field) in [(vec![1.0, 1.1], "exchange_rates"), (vec![1.0, f64::NAN, 1.0], "exchange_rates")] {
        let err =
            solve_with(&m, Solver::Exact, &SolveOptions::default(), &with_fx(Structure::Integrated, &fx))
                .unwrap_err();
        assert!(err.to_string().contains(field), "{err}");
    }
    let err = solve_with(
        &m,
        Solver::Exact,
        &SolveOptions::default(),
        &with_fx(Structure::Segmented, &[1.0, -0.5, 1.0]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("exchange-rate factor"), "{err}");
}

/// Every exporter sells to one destination (itself, or one importer).
fn single_destination_market() -> impl Strategy<Value = Market> {
    (2..8usize).prop_flat_map(|n| {
        (
            vec(0..n, n),
            vec(1.0..1000.0f64, n),
            vec(1.0..1.4f64, n * n),
            vec(1.0..1.4f64, n * n),
            vec(-3.0..-0.3f64, n),
            vec(prop_oneof![1 => Just(1.0), 4 => 0.3..12.0f64], n),
            vec(prop_oneof![1 => Just(99.0), 4 => 0.1..20.0f64], n),
        )
            .prop_map(move |(dest, values, t0, t1, em, es, ex)| {
                let mut base_values = vec![0.0; n * n];
                for v in 0..n {
                    base_values[v * n + dest[v]] = values[v];
                }
                Market {
                    n,
                    base_values,
                    base_tariff: t0,
                    new_tariff: t1,
                    import_demand: em,
                    substitution: es,
                    supply: ex,
                }
            })
    })
}

fn assert_same(a: &MarketOutcome, b: &MarketOutcome, rel: f64) {
    let pairs =
        a.world_price.iter().zip(&b.world_price).chain(a.consumer_price.iter().zip(&b.consumer_price));
    for (x, y) in pairs {
        assert!(close(*y, *x, rel, 1.0), "price {x} vs {y}");
    }
    let total: f64 = a.new_values.iter().sum::<f64>() + 1.0;
    for (x, y) in a.new_values.iter().zip(&b.new_values) {
        assert!(close(*y, *x, rel, total), "value {x} vs {y}");
    }
    for (e, f) in a.economies.iter().zip(&b.economies) {
        for (x, y) in [
            (e.consumer_surplus_change, f.consumer_surplus_change),
            (e.producer_surplus_change, f.producer_surplus_change),
            (e.tariff_revenue_change, f.tariff_revenue_change),
            (e.welfare_change, f.welfare_change),
            (e.exports_after, f.exports_after),
            (e.imports_after, f.imports_after),
        ] {
            assert!(close(y, x, rel, total), "figure {x} vs {y}");
        }
    }
}

/// The largest fob-price gap between the solvers (segmented) and the largest
/// exact fob-price change.
fn segmented_gap(m: &Market) -> (f64, f64) {
    let e = run(m, Solver::Exact, &segmented());
    let g = run(m, Solver::Gsim, &segmented());
    let flows = (0..m.n * m.n).filter(|&i| m.base_values[i] > 0.0);
    let gap = flows.clone().map(|i| (e.fob_price[i] - g.fob_price[i]).abs()).fold(0.0, f64::max);
    let largest = flows.map(|i| (e.fob_price[i] - 1.0).abs()).fold(0.0, f64::max);
    (gap, largest)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// With one destination per exporter, one price per exporter and one price
    /// per flow are the same thing: both structures give the same answer.
    #[test]
    fn single_destination_segmented_equals_integrated(m in single_destination_market()) {
        for solver in [Solver::Exact, Solver::Gsim] {
            let integrated = solve(&m, solver, &SolveOptions::default()).unwrap();
            let seg = run(&m, solver, &segmented());
            assert_same(&integrated, &seg, 1e-9);
        }
    }

    /// Unshocked: exactly the base, segmented too, and with every currency
    /// unmoved (`f = 1`).
    #[test]
    fn segmented_no_shock_no_change(m in base_market()) {
        let ones = vec![1.0; m.n];
        for solver in [Solver::Exact, Solver::Gsim] {
            assert_no_change(&m, &run(&m, solver, &segmented()));
            assert_no_change(&m, &run(&m, solver, &with_fx(Structure::Segmented, &ones)));
        }
    }

    /// Each flow's supply equals its demand: `p^Ex = q`.
    #[test]
    fn segmented_solution_clears_every_flow(m in shocked_market()) {
        let out = run(&m, Solver::Exact, &segmented());
        prop_assert!(out.diagnostics.residual < 1e-12);
        for i in (0..m.n * m.n).filter(|&i| m.base_values[i] > 0.0) {
            let supply = out.fob_price[i].powf(m.supply[i / m.n]);
            prop_assert!(close(out.volume[i], supply, 1e-10, 0.0), "flow {i}: q {} vs p^Ex {supply}", out.volume[i]);
            prop_assert!(close(out.new_values[i], m.base_values[i] * out.volume[i] * out.fob_price[i], 1e-12, 0.0));
        }
    }

    /// Segmented GSIM is the first-order expansion of the segmented exact model
    /// (as for the integrated model, see properties.rs): within 2% of the
    /// largest change plus a second-order term, and a ten times smaller shock
    /// leaves at most 2% of the gap.
    #[test]
    fn segmented_solvers_agree_to_first_order(m in small_shock_market()) {
        check_first_order(&m, segmented_gap)?;
    }

    /// A uniform appreciation of every currency changes no real figure: surplus,
    /// revenue, welfare, volumes, values in the exporters' currencies; values
    /// and prices in the dataset currency move by `f`.
    #[test]
    fn uniform_appreciation_changes_nothing_real(m in shocked_market(), f in 0.5..2.0f64, seg in any::<bool>()) {
        let structure = if seg { Structure::Segmented } else { Structure::Integrated };
        let fx = vec![f; m.n];
        let total: f64 = m.base_values.iter().sum();
        for solver in [Solver::Exact, Solver::Gsim] {
            let a = run(&m, solver, &Pricing { structure, exchange_rates: Vec::new() });
            let b = run(&m, solver, &with_fx(structure, &fx));
            for (x, y) in a.volume.iter().zip(&b.volume) {
                prop_assert!(close(*y, *x, 1e-12, 1.0));
            }
            for i in 0..m.n * m.n {
                prop_assert!(close(b.values_in_exporter_currency()[i], a.new_values[i], 1e-12, total));
                prop_assert!(close(b.new_values[i], f * a.new_values[i], 1e-12, total));
            }
            for (x, y) in a.world_price.iter().zip(&b.world_price) {
                prop_assert!(close(*y, f * x, 1e-12, 1.0));
            }
            for (e, g) in a.economies.iter().zip(&b.economies) {
                for (x, y) in [
                    (e.consumer_surplus_change, g.consumer_surplus_change),
                    (e.producer_surplus_change, g.producer_surplus_change),
                    (e.tariff_revenue_change, g.tariff_revenue_change),
                    (e.welfare_change, g.welfare_change),
                    (e.export_volume_change, g.export_volume_change),
                    (e.effective_tariff_after_pct, g.effective_tariff_after_pct),
                ] {
                    prop_assert!(close(y, x, 1e-9, total), "{solver:?} {structure:?}: {x} vs {y}");
                }
            }
        }
    }

    /// The less elastic an exporter's short-run supply, the more of a tariff it
    /// absorbs in its own price (segmented: the fob price of the taxed flow falls
    /// further). Only that flow is shocked.
    #[test]
    fn absorption_rises_as_supply_elasticity_falls(
        m in base_market(),
        pick in any::<Index>(),
        raise in 0.05..0.5f64,
        ex in 0.05..10.0f64,
        cut in 0.1..0.9f64,
    ) {
        let n = m.n;
        let flows: Vec<usize> = (0..n * n).filter(|&i| i / n != i % n && m.base_values[i] > 0.0).collect();
        prop_assume!(!flows.is_empty());
        let i = flows[pick.index(flows.len())];
        let mut m = m;
        m.new_tariff[i] += raise;
        let v = i / n;
        m.supply[v] = ex;
        let elastic = run(&m, Solver::Exact, &segmented());
        m.supply[v] = ex * cut;
        let inelastic = run(&m, Solver::Exact, &segmented());
        // Absorbed share of the shock, in logs: -ln p / ln(T1 / T0).
        let shock = (m.new_tariff[i] / m.base_tariff[i]).ln();
        let absorbed = |o: &MarketOutcome| -o.fob_price[i].ln() / shock;
        prop_assert!(
            absorbed(&inelastic) >= absorbed(&elastic) - 1e-12,
            "Ex {ex} absorbs {}, Ex {} absorbs {}", absorbed(&elastic), ex * cut, absorbed(&inelastic)
        );
    }

    /// A tariff raised on v -> r cuts that flow and diverts r's imports to other
    /// foreign sources (segmented; sources substitutes on net: Es > |Em|).
    #[test]
    fn segmented_tariff_diverts_trade(
        m in shocked_market(),
        extra_es in vec(0.1..10.0f64, 8),
        pick in any::<Index>(),
        raise in 0.05..0.30f64,
    ) {
        let mut m = m;
        let n = m.n;
        let flows = diversion_candidates(&mut m, &extra_es);
        prop_assume!(!flows.is_empty());
        let before = run(&m, Solver::Exact, &segmented());
        let (v, r) = flows[pick.index(flows.len())];
        m.new_tariff[v * n + r] += raise;
        let after = run(&m, Solver::Exact, &segmented());
        prop_assert!(after.volume[v * n + r] < before.volume[v * n + r]);
        prop_assert!((0..n).any(|u| u != v && u != r && m.base_values[u * n + r] > 0.0
            && after.volume[u * n + r] > before.volume[u * n + r]));
    }
}
