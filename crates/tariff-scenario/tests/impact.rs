//! Scenario impacts through the whole library: validation, resolution, the model.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::ops::ControlFlow;

use common::{measure, mini};
use tariff_proto::v1::{Authority, Change, Scenario, ScenarioResult, Solver, measure::Mode};
use tariff_scenario::{
    EvaluateError, PreparedScenario, ScenarioError,
    dataset::{DEFAULT_DATASET, Dataset, builtin},
    run,
};

fn flow(result: &ScenarioResult, sector: &str, exporter: &str, importer: &str) -> Change {
    let s = result.impacts[0].sectors.iter().find(|s| s.sector == sector).unwrap();
    s.flows.iter().find(|f| f.exporter == exporter && f.importer == importer).unwrap().value.unwrap()
}

fn no_change_anywhere(result: &ScenarioResult) {
    for impact in &result.impacts {
        for sector in &impact.sectors {
            for f in &sector.flows {
                assert_eq!(
                    f.value.as_ref().unwrap().change,
                    0.0,
                    "{} {}->{}",
                    sector.sector,
                    f.exporter,
                    f.importer
                );
            }
            for e in &sector.economies {
                assert_eq!(e.welfare_change, 0.0);
                assert_eq!(e.world_price_change_pct, 0.0);
                assert_eq!(e.consumer_price_change_pct, 0.0);
            }
        }
    }
}

#[test]
fn an_empty_scenario_changes_nothing_on_any_dataset() {
    let builtin = builtin(DEFAULT_DATASET).unwrap().unwrap();
    for dataset in [&mini(), builtin] {
        for solver in [Solver::Exact, Solver::Gsim] {
            let scenario = Scenario { solver: solver.into(), ..Default::default() };
            let result = run(dataset, &scenario).unwrap();
            assert_eq!(result.impacts.len(), 1);
            assert_eq!(result.impacts[0].date, format!("{}-12-31", dataset.base_year));
            no_change_anywhere(&result);
        }
    }
}

#[test]
fn a_tariff_on_japanese_cars_diverts_trade_to_mexico() {
    let d = mini();
    let scenario = Scenario {
        measures: vec![measure(Authority::Section232, &["JPN"], &["CARS"], Mode::Add, 25.0, "", "")],
        ..Default::default()
    };
    let result = run(&d, &scenario).unwrap();
    assert!(flow(&result, "CARS", "JPN", "USA").change < 0.0);
    assert!(flow(&result, "CARS", "MEX", "USA").change > 0.0);
    assert!(flow(&result, "CARS", "USA", "USA").change > 0.0);
    let usa = result.impacts[0].economies.iter().find(|e| e.economy == "USA").unwrap();
    assert!(usa.tariff_revenue.as_ref().unwrap().change > 0.0);
    assert!(usa.consumer_surplus_change < 0.0);
    let jpn = result.impacts[0].economies.iter().find(|e| e.economy == "JPN").unwrap();
    assert!(jpn.producer_surplus_change < 0.0);
    // Untouched sectors do not move.
    assert_eq!(flow(&result, "SHOES", "JPN", "USA").change, 0.0);
}

#[test]
fn totals_add_up_over_sectors() {
    let d = mini();
    let scenario = Scenario {
        measures: vec![measure(Authority::Other, &["*"], &["*"], Mode::Add, 20.0, "", "")],
        ..Default::default()
    };
    let result = run(&d, &scenario).unwrap();
    let impact = &result.impacts[0];
    for total in &impact.economies {
        let rows =
            impact.sectors.iter().map(|s| s.economies.iter().find(|e| e.economy == total.economy).unwrap());
        let (mut welfare, mut imports) = (0.0, 0.0);
        for e in rows {
            welfare += e.welfare_change;
            imports += e.imports.as_ref().unwrap().after;
        }
        assert!((welfare - total.welfare_change).abs() < 1e-6);
        assert!((imports - total.imports.as_ref().unwrap().after).abs() < 1e-6);
        let w = total.welfare_change;
        let parts = total.consumer_surplus_change
            + total.producer_surplus_change
            + total.tariff_revenue.as_ref().unwrap().change;
        assert!((w - parts).abs() < 1e-6 * w.abs().max(1.0));
    }
}

#[test]
fn one_impact_per_date_each_against_the_base_year() {
    let d = mini();
    let scenario = Scenario {
        measures: vec![measure(
            Authority::Section232,
            &["*"],
            &["CARS"],
            Mode::Add,
            25.0,
            "2025-04-03",
            "2026-01-01",
        )],
        evaluate_at: vec!["2025-01-01".into(), "2025-06-01".into(), "2026-06-01".into()],
        ..Default::default()
    };
    let result = run(&d, &scenario).unwrap();
    let dates: Vec<&str> = result.impacts.iter().map(|i| i.date.as_str()).collect();
    assert_eq!(dates, ["2025-01-01", "2025-06-01", "2026-06-01"]);
    let jpn_cars: Vec<f64> = result
        .impacts
        .iter()
        .map(|i| {
            let s = i.sectors.iter().find(|s| s.sector == "CARS").unwrap();
            s.flows
                .iter()
                .find(|f| f.exporter == "JPN" && f.importer == "USA")
                .unwrap()
                .value
                .as_ref()
                .unwrap()
                .change
        })
        .collect();
    assert_eq!(jpn_cars[0], 0.0);
    assert!(jpn_cars[1] < 0.0);
    assert_eq!(jpn_cars[2], 0.0);
}

#[test]
fn cancellation_stops_between_sector_solves() {
    let d = mini();
    let prepared = PreparedScenario::new(&d, &Scenario::default()).unwrap();
    let mut calls = 0;
    let outcome = prepared.evaluate(&mut |p| {
        calls += 1;
        assert_eq!(p.total, 3);
        if p.done == 2 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    });
    assert!(matches!(outcome, Err(EvaluateError::Cancelled)));
    assert_eq!(calls, 2);
}

#[test]
fn invalid_scenarios_name_every_field_at_fault() {
    let d = mini();
    let mut bad = measure(
        Authority::Unspecified,
        &["JPN", "XXX"],
        &["CARS", "BOATS"],
        Mode::Unspecified,
        f64::NAN,
        "2025-13-01",
        "",
    );
    bad.importer = "ATLANTIS".into();
    bad.except_exporters = vec!["*".into()];
    let mut self_exclusion =
        measure(Authority::Section232, &["*"], &["*"], Mode::Add, 1e6, "2025-05-01", "2025-04-01");
    self_exclusion.excludes = vec![Authority::Section232.into()];
    let scenario = Scenario {
        measures: vec![bad, self_exclusion],
        evaluate_at: vec!["2025-05-01".into(), "2025-04-01".into()],
        solver: 7,
        ..Default::default()
    };
    let err = PreparedScenario::new(&d, &scenario).unwrap_err();
    let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
    for expected in [
        "measures[0].authority",
        "measures[0].importer",
        "measures[0].exporters[1]",
        "measures[0].except_exporters[0]",
        "measures[0].sectors[1]",
        "measures[0].mode",
        "measures[0].rate_pct",
        "measures[0].effective_from",
        "measures[1].rate_pct",
        "measures[1].excludes",
        "measures[1].effective_to",
        "evaluate_at[1]",
        "solver",
    ] {
        assert!(fields.contains(&expected), "{expected} missing from {fields:?}");
    }
    assert!(matches!(run(&d, &scenario), Err(ScenarioError::Invalid(_))));
}

#[test]
fn every_builtin_scenario_file_runs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let dataset: &Dataset = builtin(DEFAULT_DATASET).unwrap().unwrap();
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let mut scenario = tariff_scenario::parse_scenario(&text, tariff_scenario::ScenarioFormat::Json)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // Thousands of uncertainty draws take seconds in a debug build; a few
            // hundred run the same code (tests/uncertainty.rs checks the draws).
            if let Some(u) = scenario.uncertainty.as_mut() {
                u.draws = u.draws.min(200);
            }
            // A scenario naming another built-in dataset runs on it.
            let dataset = if scenario.dataset.is_empty() {
                dataset
            } else {
                builtin(&scenario.dataset).unwrap().unwrap()
            };
            let result = run(dataset, &scenario).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if scenario.uncertainty.as_ref().is_some_and(|u| u.draws > 0) {
                assert!(result.impacts.iter().all(|i| !i.bands.is_empty()), "{}", path.display());
            }
            count += 1;
        }
    }
    assert!(count >= 3);
}
