//! Supply chains: the coupled solve (`Scenario.input_costs`, docs/model.md,
//! "Supply chains: input costs and effective protection") beside the uncoupled
//! one, each the whole `evaluate` on one thread, in one group per case:
//!
//! - a synthetic 30-economy x 40-sector dataset with three random input sectors
//!   per economy and sector (the dataset of tests/supply_chain_scale.rs, written
//!   tests/common/supply_chain_synth.rs), 25% more on every import of E001, and on E001's
//!   imports of three sectors only;
//! - the built-in dataset and the ready `scenarios/section-232-supply-chains.json`.
//!
//! The coupled solve's passes are printed before each group.
//!
//! `cargo bench -p tariff-scenario --bench supply_chains`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{hint::black_box, ops::ControlFlow};

use criterion::{Criterion, criterion_group, criterion_main};
use tariff_proto::v1::Scenario;
use tariff_scenario::{
    EvaluateOptions, PreparedScenario, ScenarioFormat,
    dataset::{Dataset, builtin},
    parse_scenario,
};

#[path = "../tests/common/supply_chain_synth.rs"]
mod supply_chain_synth;

/// One group: `scenario` with input costs on, then off, each the whole evaluate.
fn on_and_off(c: &mut Criterion, name: &str, dataset: &Dataset, scenario: &Scenario) {
    let options = &EvaluateOptions { threads: 1, ..Default::default() };
    let evaluate = |input_costs: bool| {
        let scenario = Scenario { input_costs, ..scenario.clone() };
        move || {
            let prepared = PreparedScenario::new(dataset, &scenario).unwrap();
            prepared.evaluate_with(options, &mut |_| ControlFlow::Continue(())).unwrap()
        }
    };
    let diagnostics = evaluate(true)().impacts[0].diagnostics.unwrap();
    eprintln!(
        "{name}: input_costs on: {} coupling passes, final change {:e}",
        diagnostics.coupling_passes, diagnostics.coupling_change
    );
    let mut group = c.benchmark_group(format!("supply-chains/{name}"));
    for (id, input_costs) in [("input-costs-on", true), ("input-costs-off", false)] {
        let run = evaluate(input_costs);
        group.bench_function(id, |b| b.iter(|| black_box(run())));
    }
    group.finish();
}

fn supply_chains(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    supply_chain_synth::write_dataset(dir.path());
    let synthetic = Dataset::from_dir(dir.path()).unwrap();
    on_and_off(c, "synthetic-30x40-universal-25", &synthetic, &supply_chain_synth::e001_plus_25(&["*"]));
    on_and_off(
        c,
        "synthetic-30x40-three-sectors-25",
        &synthetic,
        &supply_chain_synth::e001_plus_25(&["S001", "S002", "S003"]),
    );
    let text = include_str!("../../../scenarios/section-232-supply-chains.json");
    let scenario = parse_scenario(text, ScenarioFormat::Json).unwrap();
    on_and_off(c, "builtin-section-232-supply-chains", builtin("jpus-2023").unwrap().unwrap(), &scenario);
}

criterion_group!(benches, supply_chains);
criterion_main!(benches);
