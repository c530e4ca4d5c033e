//! Every ready scenario of `scenarios/`, with both solvers, against the results
//! saved before the model's extensions (horizons, market structure, exchange
//! rates, figures per flow): with none of them used, every figure that existed
//! then is the same to the last bit.
//!
//! The saved results are `tariffctl run FILE --format json [--solver gsim]`,
//! gzipped, in `tests/data/baseline/`; `tests/data/baseline/scenarios/` keeps
//! the files as they were then where they now use content rules. Figures added since are cleared before
//! comparing (they did not exist then).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{io::Read, path::Path};

use tariff_proto::{
    json::{from_json, to_json_pretty},
    v1::{self as pb, ScenarioResult},
};
use tariff_scenario::{ScenarioFormat, dataset::builtin, parse_scenario, run};

fn saved(name: &str) -> ScenarioResult {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/baseline").join(format!("{name}.json.gz"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()).read_to_string(&mut text).unwrap();
    from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Clears what the saved results cannot have: the figures added after them.
fn without_new_figures(mut result: ScenarioResult) -> ScenarioResult {
    let clear_economy = |e: &mut pb::EconomyImpact| {
        e.export_volume_change_pct = 0.0;
        e.export_price_change_pct = 0.0;
    };
    result.horizon.clear();
    result.exchange_rates.clear();
    result.view = None;
    for impact in &mut result.impacts {
        impact.economies.iter_mut().for_each(clear_economy);
        for sector in &mut impact.sectors {
            sector.market_structure = 0;
            sector.flow_count = 0;
            sector.economies.iter_mut().for_each(clear_economy);
            for flow in &mut sector.flows {
                flow.volume_change_pct = 0.0;
                flow.fob_price_change_pct = 0.0;
                flow.delivered_price_change_pct = 0.0;
                flow.value_exporter_currency = None;
                flow.fob_price_change_exporter_currency_pct = 0.0;
            }
        }
    }
    result
}

fn scenarios() -> Vec<(String, pb::Scenario)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, parse_scenario(&std::fs::read_to_string(&p).unwrap(), ScenarioFormat::Json).unwrap())
        })
        .collect()
}

fn check(solver: pb::Solver, suffix: &str) {
    check_with(solver, suffix, "");
}

fn check_with(solver: pb::Solver, suffix: &str, horizon: &str) {
    let dataset = builtin("jpus-2023").unwrap().unwrap();
    let mut compared = 0;
    for (name, mut scenario) in scenarios() {
        let file = format!("{name}{suffix}");
        let baseline =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/baseline/{file}.json.gz"));
        if !baseline.exists() {
            // Scenarios written after the baseline use the extensions.
            continue;
        }
        // A file rewritten to use content rules (README, "Content rules") is
        // compared as it was when its result was saved: that is what must not move.
        let before =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/baseline/scenarios/{name}.json"));
        if before.exists() {
            scenario =
                parse_scenario(&std::fs::read_to_string(&before).unwrap(), ScenarioFormat::Json).unwrap();
        }
        if solver != pb::Solver::Unspecified {
            scenario.solver = solver.into();
        }
        scenario.horizon = horizon.to_owned();
        let now = without_new_figures(run(dataset, &scenario).unwrap_or_else(|e| panic!("{file}: {e}")));
        let then = saved(&file);
        assert!(
            to_json_pretty(&now) == to_json_pretty(&then),
            "{file}: the result differs from the saved one"
        );
        compared += 1;
    }
    assert!(compared >= 11, "only {compared} saved results compared");
}

#[test]
fn exact_results_are_unchanged() {
    check(pb::Solver::Unspecified, "");
}

#[test]
fn gsim_results_are_unchanged() {
    check(pb::Solver::Gsim, ".gsim");
}

/// Naming the long run is the same as naming no horizon.
#[test]
fn the_long_run_named_is_unchanged() {
    check_with(pb::Solver::Unspecified, "", "long_run");
}
