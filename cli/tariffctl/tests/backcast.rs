//! `tariffctl backcast` and `tariffctl calibrate` end to end: the binary
//! against the ready backcast scenarios and the built-in observed figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use tariff_scenario::{
    ScenarioFormat,
    dataset::builtin,
    observed::{backcast, builtin_observed},
    parse_scenario, run,
};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn tariffctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tariffctl")).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The CSV rows carry the library's figures, to the last digit printed.
#[test]
fn backcast_csv_matches_the_library() {
    let file = repo("scenarios/backcast-2025-06.json");
    let out = stdout(&tariffctl(&["backcast", file.to_str().unwrap(), "--format", "csv"]));
    let dataset = builtin("jpus-2023").unwrap().unwrap();
    let scenario = parse_scenario(&std::fs::read_to_string(&file).unwrap(), ScenarioFormat::Json).unwrap();
    let result = run(dataset, &scenario).unwrap();
    let observed = builtin_observed().unwrap();
    let rows = backcast(&result, dataset, observed, &"2025-06".parse().unwrap());
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let printed: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(printed.len(), rows.len());
    for (line, row) in printed.iter().zip(&rows) {
        assert_eq!(&line[0], row.observation.id.as_str());
        assert_eq!(line[7].parse::<f64>().unwrap(), *row.model.as_ref().unwrap());
    }
    let value = printed.iter().find(|r| &r[0] == "jpn-usa-cars-value-2025-06").unwrap();
    assert_eq!(&value[5], "JPY");
    assert_eq!(&value[6], "-26.7");
}

#[test]
fn backcast_table_names_the_model_and_the_period() {
    let file = repo("scenarios/backcast-2025-h1.json");
    let out = stdout(&tariffctl(&["backcast", file.to_str().unwrap()]));
    assert!(out.contains("horizon short_run"), "{out}");
    assert!(out.contains("JPN +4.37%"), "{out}");
    assert!(out.contains("Observed: 2025-04..2025-09 against 2024-04..2024-09"), "{out}");
    assert!(out.contains("jpn-usa-cars-volume-2025-h1"), "{out}");
}

#[test]
fn backcast_without_a_period_is_one_line() {
    let file = repo("scenarios/universal-10.json");
    let out = tariffctl(&["backcast", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("has no `observed_period`"), "{err}");
    let out = tariffctl(&["backcast", file.to_str().unwrap(), "--period", "2031-01"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no observed figure for 2031-01"));
}

/// The fit, written out, is a scenario that runs and reproduces the fitted figures.
#[test]
fn calibrate_writes_a_runnable_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let fitted = dir.path().join("fitted.json");
    let file = repo("scenarios/backcast-2025-h1.json");
    let out = stdout(&tariffctl(&[
        "calibrate",
        file.to_str().unwrap(),
        "--param",
        "CARS:JPN:supply",
        "--target",
        "jpn-usa-cars-volume-2025-h1",
        "--target",
        "jpn-usa-cars-unit-value-2025-h1=0.5",
        "--format",
        "json",
        "--out",
        fitted.to_str().unwrap(),
    ]));
    let fit: serde_json::Value = serde_json::from_str(&out).unwrap();
    let value = fit["parameters"][0]["value"].as_f64().unwrap();
    assert_eq!(fit["parameters"][0]["parameter"], "CARS:JPN:supply");
    assert!((0.02..=2.0).contains(&value), "{fit}");
    assert_eq!(fit["targets"][1]["weight"], 0.5);
    let dataset = builtin("jpus-2023").unwrap().unwrap();
    let scenario = parse_scenario(&std::fs::read_to_string(&fitted).unwrap(), ScenarioFormat::Json).unwrap();
    let o = scenario.elasticity_overrides.last().unwrap();
    assert_eq!((o.sector.as_str(), o.economy.as_str(), o.supply_elasticity), ("CARS", "JPN", Some(value)));
    let result = run(dataset, &scenario).unwrap();
    let rows = backcast(&result, dataset, builtin_observed().unwrap(), &"2025-04..2025-09".parse().unwrap());
    let volume = rows.iter().find(|r| r.observation.id == "jpn-usa-cars-volume-2025-h1").unwrap();
    let model = fit["targets"][0]["model_pct"].as_f64().unwrap();
    assert!((volume.model.as_ref().unwrap() - model).abs() < 1e-9);
}

#[test]
fn calibrate_refuses_unknown_targets_and_parameters() {
    let file = repo("scenarios/backcast-2025-06.json");
    let f = file.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["--param", "CARS:JPN:supply", "--target", "nothing-like-it"],
            "no observed figure with that id",
        ),
        (vec!["--param", "CARS:elasticity", "--target", "jpn-usa-cars-value-2025-06"], "is not substitution"),
        (vec!["--param", "CARZ:supply", "--target", "jpn-usa-cars-value-2025-06"], "parameters[0].sector"),
        (vec!["--param", "CARS:supply", "--target", "jpn-usa-cars-value-2025-06=abc"], "is not a number"),
    ] {
        let mut all = vec!["calibrate", f];
        all.extend(args);
        let out = tariffctl(&all);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "`{err}` should say `{needle}`");
    }
}
