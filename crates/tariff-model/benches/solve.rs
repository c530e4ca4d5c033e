//! Solve throughput: a synthetic 30-economy x 40-sector dataset and a 4x4 market.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tariff_model::{Market, SolveOptions, Solver, solve, synthetic_markets};

/// The GSIM worked example's data (US, JP, EU, RW) with the US-EU FTA shock.
fn reference_4x4() -> Market {
    let base_tariff =
        vec![1.00, 1.21, 1.41, 1.22, 1.37, 1.00, 1.31, 1.23, 1.32, 1.36, 1.00, 1.18, 1.57, 1.41, 1.25, 1.15];
    let mut new_tariff = base_tariff.clone();
    new_tariff[2] = 1.0;
    new_tariff[8] = 1.0;
    Market {
        n: 4,
        base_values: vec![
            0.0, 50.0, 200.0, 300.0, 500.0, 0.0, 150.0, 200.0, 300.0, 100.0, 200.0, 200.0, 50.0, 100.0,
            110.0, 20.0,
        ],
        base_tariff,
        new_tariff,
        import_demand: vec![-1.25; 4],
        substitution: vec![5.0; 4],
        supply: vec![1.5; 4],
    }
}

/// Every importer its own elasticity of substitution: the general (slower) path.
fn mixed_substitution(mut markets: Vec<Market>) -> Vec<Market> {
    for m in &mut markets {
        let base = m.substitution[0];
        for (r, es) in m.substitution.iter_mut().enumerate() {
            *es = base * (0.6 + 0.8 * r as f64 / m.n as f64);
        }
    }
    markets
}

fn bench_dataset(c: &mut Criterion, name: &str, markets: &[Market], solvers: &[Solver]) {
    let options = SolveOptions::default();
    for &solver in solvers {
        c.bench_function(&format!("{name}/{solver:?}"), |b| {
            b.iter(|| {
                for m in markets {
                    black_box(solve(black_box(m), solver, &options).unwrap());
                }
            })
        });
    }
}

fn bench(c: &mut Criterion) {
    let both = [Solver::Exact, Solver::Gsim];
    let markets = synthetic_markets(30, 40, 2026);
    bench_dataset(c, "synthetic_30x40", &markets, &both);
    bench_dataset(c, "synthetic_30x40_mixed_es", &mixed_substitution(markets), &[Solver::Exact]);
    // The shape of the built-in data: about 9 economies and 10 sectors.
    bench_dataset(c, "synthetic_9x10", &synthetic_markets(9, 10, 2026), &both);
    let options = SolveOptions::default();
    let small = reference_4x4();
    for solver in [Solver::Exact, Solver::Gsim] {
        c.bench_function(&format!("reference_4x4/{solver:?}"), |b| {
            b.iter(|| black_box(solve(black_box(&small), solver, &options).unwrap()))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
