//! Random markets and comparisons shared by the property tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::collection::vec;
use proptest::prelude::*;
use tariff_model::{Market, MarketOutcome};

/// Random unshocked market (`new_tariff == base_tariff`): values 0..1000 with
/// about one zero in five, each economy with some supply and some demand.
pub fn base_market() -> impl Strategy<Value = Market> {
    market_of_size(2..8)
}

pub fn market_of_size(sizes: std::ops::Range<usize>) -> impl Strategy<Value = Market> {
    sizes.prop_flat_map(|n| {
        (
            vec(prop_oneof![1 => Just(0.0), 4 => 0.0..1000.0f64], n * n),
            vec(0.0..0.4f64, n * n),
            vec(-3.0..-0.3f64, n),
            vec(prop_oneof![1 => Just(1.0), 4 => 0.5..12.0f64], n),
            vec(prop_oneof![1 => Just(99.0), 4 => 0.5..20.0f64], n),
        )
            .prop_map(move |(mut values, t, em, es, ex)| {
                for v in 0..n {
                    if values[v * n..(v + 1) * n].iter().sum::<f64>() == 0.0 {
                        values[v * n + v] = 100.0;
                    }
                }
                for r in 0..n {
                    if (0..n).map(|v| values[v * n + r]).sum::<f64>() == 0.0 {
                        values[r * n + r] = 100.0;
                    }
                }
                let base_tariff: Vec<f64> =
                    (0..n * n).map(|i| if i / n == i % n { 1.0 } else { 1.0 + t[i] }).collect();
                Market {
                    n,
                    base_values: values,
                    new_tariff: base_tariff.clone(),
                    base_tariff,
                    import_demand: em,
                    substitution: es,
                    supply: ex,
                }
            })
    })
}

/// A market with every off-diagonal tariff redrawn from 0..40%.
pub fn shocked_market() -> impl Strategy<Value = Market> {
    base_market().prop_flat_map(|m| {
        let n = m.n;
        vec(0.0..0.4f64, n * n).prop_map(move |t| {
            let mut m = m.clone();
            for (i, t1) in m.new_tariff.iter_mut().enumerate() {
                if i / n != i % n {
                    *t1 = 1.0 + t[i];
                }
            }
            m
        })
    })
}

/// A market whose off-diagonal tariffs each move by less than one point (staying >= 0%).
pub fn small_shock_market() -> impl Strategy<Value = Market> {
    base_market().prop_flat_map(|m| {
        let n = m.n;
        vec(-0.01..0.01f64, n * n).prop_map(move |d| {
            let mut m = m.clone();
            for (i, t1) in m.new_tariff.iter_mut().enumerate() {
                if i / n != i % n {
                    *t1 = (*t1 + d[i]).max(1.0);
                }
            }
            m
        })
    })
}

/// Largest `|T1/T0 - 1|` over all flows: the size of the shock.
pub fn shock_size(m: &Market) -> f64 {
    m.new_tariff.iter().zip(&m.base_tariff).map(|(t1, t0)| (t1 / t0 - 1.0).abs()).fold(0.0, f64::max)
}

/// The same market with every tariff change multiplied by `h`.
pub fn scale_shock(m: &Market, h: f64) -> Market {
    let mut out = m.clone();
    for (t1, t0) in out.new_tariff.iter_mut().zip(&m.base_tariff) {
        *t1 = t0 + h * (*t1 - t0);
    }
    out
}

/// `|got - want| <= rel * (|want| + floor)`.
pub fn close(got: f64, want: f64, rel: f64, floor: f64) -> bool {
    (got - want).abs() <= rel * (want.abs() + floor)
}

/// No shock: exactly the base, every change a plain zero.
pub fn assert_no_change(m: &Market, out: &MarketOutcome) {
    assert!(out.world_price.iter().all(|&p| p == 1.0), "{out:?}");
    assert!(out.consumer_price.iter().all(|&p| p == 1.0), "{out:?}");
    assert_eq!(out.new_values, m.base_values);
    assert_eq!(out.diagnostics.residual, 0.0);
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
        ] {
            assert_eq!(change.to_bits(), 0.0f64.to_bits(), "{e:?}");
        }
    }
}

/// Agreement to first order (see properties.rs, `solvers_agree_to_first_order`):
/// the gap `gap(m)` (with the largest exact change) is within 2% of that change
/// plus `5 s²`, and a ten times smaller shock leaves at most 2% of it.
pub fn check_first_order(m: &Market, gap: impl Fn(&Market) -> (f64, f64)) -> Result<(), TestCaseError> {
    let s = shock_size(m);
    let (g, largest) = gap(m);
    prop_assert!(g <= 0.02 * largest + 5.0 * s * s, "gap {g:e}, largest {largest:e}, s {s:e}");
    let (g_small, _) = gap(&scale_shock(m, 0.1));
    prop_assert!(g_small <= 0.02 * g + 1e-12, "gap {g:e} -> {g_small:e}");
    Ok(())
}

/// Makes sources substitutes on net (`Es = |Em| + extra`) and lists the foreign
/// flows whose importer has another foreign source: where a tariff must divert.
pub fn diversion_candidates(m: &mut Market, extra_es: &[f64]) -> Vec<(usize, usize)> {
    let n = m.n;
    for ((es, em), extra) in m.substitution.iter_mut().zip(&m.import_demand).zip(extra_es) {
        *es = -em + extra;
    }
    let values = &m.base_values;
    let other_source = |v: usize, r: usize| (0..n).any(|u| u != v && u != r && values[u * n + r] > 0.0);
    (0..n)
        .flat_map(|v| (0..n).map(move |r| (v, r)))
        .filter(|&(v, r)| v != r && values[v * n + r] > 0.0 && other_source(v, r))
        .collect()
}
