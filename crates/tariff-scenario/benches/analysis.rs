//! Analyses on the built-in dataset (9 economies, 10 sectors): a goal-seek
//! (the ready `annex-equivalent-car-rate`), exact contributions of 10 measures
//! (1,024 coalitions, one run each) on one thread and on every thread, and an
//! optimisation (the ready `offer-builder-farm-cuts`), each the whole
//! `evaluate` with the scenario's own result.
//!
//! `cargo bench -p tariff-scenario --bench analysis`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{hint::black_box, ops::ControlFlow, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use tariff_proto::v1::{self as pb, analysis::Kind, measure::Mode};
use tariff_scenario::{EvaluateOptions, PreparedScenario, ScenarioFormat, parse_scenario, prepare_builtin};

/// Ten measures, one per sector of the built-in dataset, each a different rate.
fn ten_measures() -> pb::Scenario {
    let sectors = ["CARS", "TRUCKS", "PARTS", "MACH", "ELEC", "INSTR", "PHARMA", "METALS", "AGRI", "OTHER"];
    let measures = sectors
        .iter()
        .enumerate()
        .map(|(i, s)| pb::Measure {
            id: format!("m{i}"),
            authority: pb::Authority::Other.into(),
            importer: "USA".into(),
            exporters: vec!["*".into()],
            sectors: vec![(*s).into()],
            mode: Mode::Add.into(),
            rate_pct: 5.0 + i as f64,
            ..Default::default()
        })
        .collect();
    let analysis = pb::Analysis { kind: Some(Kind::Contributions(pb::ContributionsSpec::default())) };
    pb::Scenario { measures, analysis: Some(Box::new(analysis)), ..Default::default() }
}

fn bench(c: &mut Criterion, name: &str, prepared: &PreparedScenario<'_>, threads: usize) {
    let options = EvaluateOptions { threads, ..Default::default() };
    c.bench_function(name, |b| {
        b.iter(|| black_box(prepared.evaluate_with(&options, &mut |_| ControlFlow::Continue(())).unwrap()))
    });
}

fn analyses(c: &mut Criterion) {
    let seek = parse_scenario(
        include_str!("../../../scenarios/analyses/annex-equivalent-car-rate.json"),
        ScenarioFormat::Json,
    )
    .unwrap();
    bench(c, "analysis/goal-seek-annex-equivalent", &prepare_builtin(&seek).unwrap(), 1);
    let ten = ten_measures();
    let prepared = prepare_builtin(&ten).unwrap();
    bench(c, "analysis/contributions-10-measures-exact-1-thread", &prepared, 1);
    bench(c, "analysis/contributions-10-measures-exact-all-threads", &prepared, 0);
    let offer = parse_scenario(
        include_str!("../../../scenarios/analyses/offer-builder-farm-cuts.json"),
        ScenarioFormat::Json,
    )
    .unwrap();
    bench(c, "analysis/optimize-offer-builder", &prepare_builtin(&offer).unwrap(), 1);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(8));
    targets = analyses
}
criterion_main!(benches);
