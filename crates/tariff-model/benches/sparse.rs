//! The sparse exact solver on product-level markets: one 200-economy market
//! with 5% of pairs trading (sparse and dense paths), a 200 x 500-sector
//! batch, and the selection rule's neighbourhood (64 economies, half and all
//! pairs trading).
//!
//! `cargo bench -p tariff-model --bench sparse -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tariff_model::{
    Layout, Pricing, SolveOptions, Solver, SparseMarket, solve_sparse_with_layout, synthetic_sparse_market,
    synthetic_sparse_markets,
};

fn solve(m: &SparseMarket, layout: Layout) {
    let out =
        solve_sparse_with_layout(m, Solver::Exact, &SolveOptions::default(), &Pricing::default(), layout);
    black_box(out.unwrap());
}

fn bench(c: &mut Criterion) {
    let one = synthetic_sparse_market(200, 0, 0.05, 2026);
    for (name, layout) in [("sparse", Layout::Sparse), ("dense", Layout::Dense), ("auto", Layout::Auto)] {
        c.bench_function(&format!("market_200_5pct/{name}"), |b| b.iter(|| solve(black_box(&one), layout)));
    }
    for density in [0.05, 0.5, 1.0] {
        let m = synthetic_sparse_market(64, 0, density, 2026);
        for (name, layout) in [("sparse", Layout::Sparse), ("dense", Layout::Dense)] {
            c.bench_function(&format!("market_64_{}pct/{name}", (density * 100.0) as u32), |b| {
                b.iter(|| solve(black_box(&m), layout))
            });
        }
    }
    let batch = synthetic_sparse_markets(200, 500, 0.05, 2026);
    let mut group = c.benchmark_group("batch_200x500_5pct");
    group.sample_size(10);
    group.bench_function("sparse", |b| {
        b.iter(|| {
            for m in &batch {
                solve(black_box(m), Layout::Sparse);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
