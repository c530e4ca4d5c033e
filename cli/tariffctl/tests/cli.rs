//! `tariffctl run` end to end: the binary against hand-written files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use tariff_proto::{json::from_json, v1::ScenarioResult};
use tariff_scenario::{ScenarioFormat, dataset::Dataset, parse_scenario, run};

fn mini_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/tariff-scenario/tests/data/mini")
}

fn tariffctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tariffctl")).args(args).output().unwrap()
}

const SCENARIO: &str = r#"{
  "id": "japan-cars",
  "name": "25% on Japanese cars",
  "measures": [
    {"authority": "SECTION_232", "importer": "USA", "exporters": ["JPN"], "sectors": ["CARS"],
     "mode": "ADD", "rate_pct": 25, "excludes": ["IEEPA_RECIPROCAL"]}
  ],
  "evaluate_at": ["2025-06-01", "2026-06-01"]
}
"#;

/// A user's own dataset folder and scenario file, in a temporary directory.
fn workspace(scenario: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("my-data");
    fs::create_dir(&data).unwrap();
    for entry in fs::read_dir(mini_dir()).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, data.join(path.file_name().unwrap())).unwrap();
    }
    fs::write(dir.path().join("scenario.json"), scenario).unwrap();
    dir
}

fn path(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).display().to_string()
}

fn assert_one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success(), "expected failure");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line expected: {stderr}");
    assert!(stderr.contains(needle), "`{stderr}` should mention `{needle}`");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn json_output_matches_the_library_figure_for_figure() {
    let dir = workspace(SCENARIO);
    let out = tariffctl(&[
        "run",
        &path(&dir, "scenario.json"),
        "--dataset",
        &path(&dir, "my-data"),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let from_cli: ScenarioResult = from_json(&String::from_utf8(out.stdout).unwrap()).unwrap();

    let dataset = Dataset::from_dir(&dir.path().join("my-data")).unwrap();
    let scenario = parse_scenario(SCENARIO, ScenarioFormat::Json).unwrap();
    let from_library = run(&dataset, &scenario).unwrap();
    assert_eq!(from_cli, from_library);
    assert_eq!(from_cli.impacts.len(), 2);
}

#[test]
fn the_scenario_can_name_its_dataset_folder() {
    let dir = workspace(&SCENARIO.replace("\"id\"", "\"dataset\": \"my-data\", \"id\""));
    let out = tariffctl(&["run", &path(&dir, "scenario.json"), "--format", "csv", "--solver", "gsim"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with("date,sector,economy,exports_before"));
    // 2 dates x (3 totals + 3 sectors x 3 economies) rows, plus the header.
    assert_eq!(csv.lines().count(), 1 + 2 * (3 + 9));
}

#[test]
fn table_output_has_headline_and_sectors() {
    let dir = workspace(SCENARIO);
    let out = tariffctl(&["run", &path(&dir, "scenario.json"), "--dataset", &path(&dir, "my-data")]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "Scenario: 25% on Japanese cars",
        "== 2025-06-01 ==",
        "Economies, all sectors:",
        "Sector CARS",
        "JPN -> USA",
    ] {
        assert!(table.contains(needle), "table lacks `{needle}`:\n{table}");
    }
}

#[test]
fn malformed_dataset_names_file_and_line() {
    let dir = workspace(SCENARIO);
    let flows = dir.path().join("my-data/flows.csv");
    let text = fs::read_to_string(&flows).unwrap().replace("MEX,USA,CARS,45000", "MEX,USA,CARS,-45000");
    fs::write(&flows, text).unwrap();
    let out = tariffctl(&["run", &path(&dir, "scenario.json"), "--dataset", &path(&dir, "my-data")]);
    assert_one_line_error(&out, "flows.csv:4: value -45000 is negative");
}

#[test]
fn malformed_scenario_names_the_line() {
    let dir = workspace(&SCENARIO.replace("\"ADD\"", "\"ADDD\""));
    let out = tariffctl(&["run", &path(&dir, "scenario.json"), "--dataset", &path(&dir, "my-data")]);
    assert_one_line_error(&out, "scenario.json: line 6");
}

#[test]
fn invalid_scenario_names_the_field() {
    let dir = workspace(&SCENARIO.replace("[\"JPN\"]", "[\"JPX\"]"));
    let out = tariffctl(&["run", &path(&dir, "scenario.json"), "--dataset", &path(&dir, "my-data")]);
    assert_one_line_error(&out, "measures[0].exporters[0]: unknown economy or group `JPX`");
}

#[test]
fn every_problem_of_a_scenario_is_listed() {
    let broken = SCENARIO.replace("[\"JPN\"]", "[\"JPX\"]").replace("\"2025-06-01\"", "\"2025-13-01\"");
    let dir = workspace(&broken);
    let out = tariffctl(&["run", &path(&dir, "scenario.json"), "--dataset", &path(&dir, "my-data")]);
    assert_one_line_error(&out, "measures[0].exporters[0]: unknown economy or group `JPX`; evaluate_at[0]");
}

#[test]
fn a_scenario_that_changes_nothing_is_refused() {
    let dir = workspace(r#"{"id": "nothing", "measures": []}"#);
    let out = tariffctl(&["run", &path(&dir, "scenario.json"), "--dataset", &path(&dir, "my-data")]);
    assert_one_line_error(&out, "measures: the scenario changes nothing");
}

#[test]
fn garbage_never_panics() {
    let dir = workspace("\u{0}\u{1}not json at all {{{{");
    let out = tariffctl(&["run", &path(&dir, "scenario.json")]);
    assert_one_line_error(&out, "scenario.json");
    let out = tariffctl(&["run", &path(&dir, "no-such-file.json")]);
    assert_one_line_error(&out, "cannot read");
    let dir = workspace(SCENARIO);
    let out = tariffctl(&["run", &path(&dir, "scenario.json"), "--dataset", &path(&dir, "nowhere")]);
    assert_one_line_error(&out, "nowhere");
}

#[test]
fn runs_on_the_builtin_dataset_by_default() {
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/section-232-autos-2025.json");
    let out = tariffctl(&["run", scenarios.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let result: ScenarioResult = from_json(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(result.dataset, "jpus-2023");
}

#[test]
fn lists_reference_data() {
    let out = tariffctl(&["list", "economies"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("JPN") && text.contains("USA"));
    let out = tariffctl(&["list", "sectors", "--dataset", mini_dir().to_str().unwrap()]);
    assert!(String::from_utf8(out.stdout).unwrap().contains("SHOES"));
}

#[test]
fn dataset_size_limits_are_enforced_and_configurable() {
    let dir = workspace(SCENARIO);
    let run = |max: &str| {
        Command::new(env!("CARGO_BIN_EXE_tariffctl"))
            .args(["run", &path(&dir, "scenario.json"), "--dataset", &path(&dir, "my-data")])
            .env("TARIFF_MAX_ECONOMIES", max)
            .output()
            .unwrap()
    };
    assert_one_line_error(&run("2"), "economies.csv: 3 economies; at most 2 are allowed");
    assert!(run("3").status.success());
    assert_one_line_error(&run("many"), "TARIFF_MAX_ECONOMIES");
}
