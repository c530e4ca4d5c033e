//! Uncertainty draws over the full built-in dataset (9 economies, every one of
//! the 10 sectors solved in each draw) on one thread: 10,000 draws of the
//! Section 232 autos scenario and of the universal 20% one (every sector
//! shocked), the whole `evaluate` (point estimate, tornado, draws, bands).
//!
//! `cargo bench -p tariff-scenario --bench uncertainty`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{hint::black_box, ops::ControlFlow, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use tariff_proto::v1 as pb;
use tariff_scenario::{EvaluateOptions, ScenarioFormat, parse_scenario, prepare_builtin};

const DRAWS: u32 = 10_000;

fn with_draws(text: &str) -> pb::Scenario {
    let mut scenario = parse_scenario(text, ScenarioFormat::Json).unwrap();
    scenario.uncertainty =
        Some(pb::Uncertainty { draws: DRAWS, seed: 2025, sensitivity: true, ..Default::default() });
    scenario
}

fn draws_on_one_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("uncertainty");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    let scenarios = [
        ("section-232-autos", include_str!("../../../scenarios/section-232-autos-2025.json")),
        ("universal-20", include_str!("../../../scenarios/universal-20.json")),
    ];
    for (name, text) in scenarios {
        let scenario = with_draws(text);
        let prepared = prepare_builtin(&scenario).unwrap();
        let one_thread = EvaluateOptions { threads: 1, ..Default::default() };
        group.bench_function(format!("{name}/10000-draws-1-thread"), |b| {
            b.iter(|| {
                black_box(prepared.evaluate_with(&one_thread, &mut |_| ControlFlow::Continue(())).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, draws_on_one_thread);
criterion_main!(benches);
