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
        let markets: Vec<_> = (0..dataset.sectors.len())
            .map(|s| prepared.market(s, &base, &rates).to_dense().unwrap())
            .collect();
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

/// A 50-measure timeline over the built-in dataset's codes: every economy in turn
/// as importer against the next ones, a sector each (or all), with staggered
/// effective windows through 2025-2026; resolution at several dates.
fn timeline_50(c: &mut Criterion) {
    let dataset = builtin("jpus-2023").unwrap().unwrap();
    let economies: Vec<&str> = dataset.economies.iter().map(|e| e.code.as_str()).collect();
    let sectors: Vec<&str> = dataset.sectors.iter().map(|s| s.code.as_str()).collect();
    let modes = [pb::measure::Mode::Add, pb::measure::Mode::Set, pb::measure::Mode::Floor];
    let authorities = [pb::Authority::Section232, pb::Authority::IeepaReciprocal, pb::Authority::Retaliation];
    let measures: Vec<pb::Measure> = (0..50usize)
        .map(|i| {
            let month = 1 + (i % 12);
            let year = 2025 + (i / 25);
            pb::Measure {
                id: format!("m{i}"),
                label: format!("measure {i}"),
                authority: authorities[i % 3].into(),
                importer: economies[i % economies.len()].to_owned(),
                exporters: if i % 4 == 0 {
                    vec!["*".to_owned()]
                } else {
                    vec![economies[(i + 1) % economies.len()].to_owned()]
                },
                sectors: if i % 5 == 0 {
                    vec!["*".to_owned()]
                } else {
                    vec![sectors[i % sectors.len()].to_owned()]
                },
                mode: modes[i % 3].into(),
                rate_pct: 5.0 + (i % 7) as f64 * 2.5,
                effective_from: format!("{year}-{month:02}-01"),
                effective_to: if i % 3 == 0 { format!("{}-{month:02}-01", year + 1) } else { String::new() },
                ..Default::default()
            }
        })
        .collect();
    let dates = ["2025-01-15", "2025-06-30", "2025-12-31", "2026-04-01", "2026-12-31"];
    let scenario = pb::Scenario {
        id: "timeline-50".into(),
        dataset: "jpus-2023".into(),
        measures,
        evaluate_at: dates.iter().map(|d| (*d).to_owned()).collect(),
        solver: pb::Solver::Exact.into(),
        ..Default::default()
    };
    let prepared = PreparedScenario::new(dataset, &scenario).unwrap();
    assert_eq!(prepared.dates.len(), dates.len());
    c.bench_function("timeline-50/resolve-rates-one-date", |b| {
        b.iter(|| black_box(prepared.rates_at(prepared.dates[2])))
    });
    c.bench_function("timeline-50/resolve-rates-5-dates", |b| {
        b.iter(|| {
            for d in &prepared.dates {
                black_box(prepared.rates_at(*d));
            }
        })
    });
    c.bench_function("timeline-50/prepare", |b| {
        b.iter(|| black_box(PreparedScenario::new(dataset, &scenario).unwrap()))
    });
}

criterion_group!(benches, builtin_dataset, timeline_50);
criterion_main!(benches);
