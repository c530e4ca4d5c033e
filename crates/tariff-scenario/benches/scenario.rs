//! The built-in dataset end to end: tariff resolution, and a full solve of every
//! sector (exact and gsim) for the Section 232 autos scenario.
//!
//! `cargo bench -p tariff-scenario`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{hint::black_box, ops::ControlFlow};

use criterion::{Criterion, criterion_group, criterion_main};
use tariff_model::{SolveOptions, Solver, solve};
use tariff_proto::v1 as pb;
use tariff_scenario::{PreparedScenario, ScenarioFormat, dataset::builtin, parse_scenario};

fn scenario(solver: pb::Solver) -> pb::Scenario {
    let text = include_str!("../../../scenarios/section-232-autos-2025.json");
    let mut scenario = parse_scenario(text, ScenarioFormat::Json).unwrap();
    scenario.solver = solver.into();
    scenario
}

fn builtin_dataset(c: &mut Criterion) {
    let dataset = builtin("jpus-2023").unwrap().unwrap();
    for (name, solver) in [("exact", pb::Solver::Exact), ("gsim", pb::Solver::Gsim)] {
        let scenario = scenario(solver);
        let prepared = PreparedScenario::new(dataset, &scenario).unwrap();
        let base = prepared.base_rates();
        let rates = prepared.rates_at(prepared.dates[0]);
        let markets: Vec<_> = (0..dataset.sectors.len()).map(|s| prepared.market(s, &base, &rates)).collect();
        let model_solver = if name == "exact" { Solver::Exact } else { Solver::Gsim };
        c.bench_function(&format!("builtin/model-solve-all-sectors/{name}"), |b| {
            b.iter(|| {
                for m in &markets {
                    black_box(solve(m, model_solver, &SolveOptions::default()).unwrap());
                }
            })
        });
        c.bench_function(&format!("builtin/scenario-end-to-end/{name}"), |b| {
            b.iter(|| {
                let prepared = PreparedScenario::new(dataset, &scenario).unwrap();
                black_box(prepared.evaluate(&mut |_| ControlFlow::Continue(())).unwrap())
            })
        });
    }
    let prepared = PreparedScenario::new(dataset, &scenario(pb::Solver::Exact)).unwrap();
    let date = prepared.dates[0];
    c.bench_function("builtin/resolve-rates", |b| b.iter(|| black_box(prepared.rates_at(date))));
}

criterion_group!(benches, builtin_dataset);
criterion_main!(benches);
