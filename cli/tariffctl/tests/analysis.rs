//! `tariffctl contributions`, `seek` and `optimize` end to end, and `run` on a
//! scenario file that asks an analysis.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use common::{TestGateway, scenario, stdout, tariffctl};
use tariff_proto::{
    json::from_json,
    v1::{ScenarioResult, SearchStatus, analysis_result::Kind},
};

const DEAL: &str = "us-japan-deal-2025-09.json";

fn answer(out: &std::process::Output) -> (ScenarioResult, Kind) {
    let result: ScenarioResult = from_json(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let kind = result.analysis.clone().and_then(|a| a.kind).expect("an analysis answer");
    (result, kind)
}

#[test]
fn the_table_says_how_the_values_were_found_and_in_what_unit() {
    let text = stdout(&tariffctl(&["contributions", &scenario(DEAL), "--economy", "JPN"]));
    assert!(
        text.contains("Contributions of 5 players (exact Shapley values over all 32 coalitions)"),
        "{text}"
    );
    assert!(text.contains("USD million"), "{text}");
    for row in [
        "measures[0] ieepa-japan-floor",
        "sum of the contributions",
        "baseline (no player)",
        "total (the scenario)",
    ] {
        assert!(text.contains(row), "{row} in {text}");
    }
    assert!(text.contains("welfare change") && text.contains("imports change"), "{text}");
    assert!(!text.contains("\n2025-09-16 USA"), "only JPN: {text}");

    let sampled = stdout(&tariffctl(&[
        "contributions",
        &scenario(DEAL),
        "--economy",
        "JPN",
        "--exact-up-to",
        "3",
        "--permutations",
        "20",
        "--seed",
        "9",
        "--figure",
        "welfare-change",
    ]));
    assert!(sampled.contains("sampled: 20 permutations, seed 9"), "{sampled}");
    assert!(sampled.contains(" ± "), "{sampled}");
}

#[test]
fn csv_contributions_and_baseline_add_up_to_the_total() {
    let text = stdout(&tariffctl(&["contributions", &scenario(DEAL), "--format", "csv"]));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        ["date", "economy", "row", "label", "figure", "value", "standard_error"]
    );
    // (date, economy, figure) -> (sum of players and baseline, total, largest part)
    let mut cells: HashMap<(String, String, String), (f64, f64, f64)> = HashMap::new();
    for record in reader.records() {
        let r = record.unwrap();
        let value: f64 = r[5].parse().unwrap();
        let cell = cells.entry((r[0].into(), r[1].into(), r[4].into())).or_default();
        if &r[2] == "total" {
            cell.1 = value;
        } else {
            cell.0 += value;
            cell.2 = cell.2.max(value.abs());
        }
    }
    assert_eq!(cells.len(), 9 * 3, "9 economies by the 3 default figures");
    for (key, (sum, total, largest)) in &cells {
        let scale = total.abs().max(*largest).max(1e-9);
        assert!((sum - total).abs() <= 1e-9 * scale, "{key:?}: {sum} vs {total}");
    }
    let jpn = &cells[&("2025-09-16".into(), "JPN".into(), "WELFARE_CHANGE".into())];
    assert!(jpn.1 < 0.0, "the deal costs Japan welfare: {jpn:?}");
}

#[test]
fn json_is_the_whole_result_with_the_contributions() {
    let out = tariffctl(&[
        "contributions",
        &scenario(DEAL),
        "--format",
        "json",
        "--exact-up-to",
        "2",
        "--permutations",
        "10",
        "--seed",
        "4",
    ]);
    let (result, kind) = answer(&out);
    let Kind::Contributions(c) = kind else { panic!("{kind:?}") };
    assert_eq!(c.players.len(), 5);
    assert_eq!((c.exact, c.permutations, c.seed), (false, 10, 4));
    assert_eq!(result.analysis.unwrap().evaluations, 10 * 6);
    // Summary view: figures, no flows.
    assert!(result.impacts[0].sectors.iter().all(|s| s.flows.is_empty()));
}

#[test]
fn the_waterfall_is_an_svg_with_every_player() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jpn.svg");
    let shown = path.display().to_string();
    stdout(&tariffctl(&["contributions", &scenario(DEAL), "--chart", &shown, "--chart-economy", "JPN"]));
    let svg = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let text: String = doc.descendants().filter_map(|n| n.text()).collect::<Vec<_>>().join("\n");
    for label in [
        "ieepa-japan-floor",
        "s232-metals-japan-50",
        "baseline (no player)",
        "total (the scenario)",
        "JPN welfare change",
    ] {
        assert!(text.contains(label), "{label} in the chart's text:\n{text}");
    }
    let bad = tariffctl(&["contributions", &scenario(DEAL), "--chart", &shown, "--chart-economy", "XXX"]);
    common::assert_one_line_error(&bad, &["--chart-economy XXX"]);
}

/// `tariffctl seek` on japan-20 with `lever` in [0, 50] and `target`, then `rest`.
fn seek_japan(lever: &str, target: &str, rest: &[&str]) -> std::process::Output {
    let japan = scenario("japan-20.json");
    let head = ["seek", &japan, "--lever", lever, "--low", "0", "--high", "50", "--target", target];
    tariffctl(&[&head[..], rest].concat())
}

/// Japan's welfare at `goal`, moving the scenario's one measure.
fn seek(goal: &str, format: &str) -> std::process::Output {
    seek_japan("measure:japan-20", "JPN:WELFARE_CHANGE", &["--goal-value", goal, "--format", format])
}

#[test]
fn a_seek_finds_a_rate_that_run_reproduces() {
    let table = stdout(&seek("-3000", "table"));
    assert!(table.contains("measures[0].rate_pct"), "{table}");
    assert!(table.contains("status       CONVERGED"), "{table}");
    assert!(table.contains("goal         -3000"), "{table}");

    let (_, kind) = answer(&seek("-3000", "json"));
    let Kind::Seek(s) = kind else { panic!("{kind:?}") };
    assert_eq!(s.status(), SearchStatus::Converged);
    assert!(s.lever_value > 0.0 && s.lever_value < 20.0, "{}", s.lever_value);
    // The lever written back into the scenario by hand, and run plainly.
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(scenario("japan-20.json")).unwrap()).unwrap();
    file["measures"][0]["rate_pct"] = serde_json::json!(s.lever_value);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("japan-found.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let out = tariffctl(&["run", &path.display().to_string(), "--format", "json", "--view", "summary"]);
    let plain: ScenarioResult = from_json(&stdout(&out)).unwrap();
    let jpn = plain.impacts.last().unwrap().economies.iter().find(|e| e.economy == "JPN").unwrap();
    assert!((jpn.welfare_change - -3000.0).abs() <= s.tolerance, "{} vs -3000", jpn.welfare_change);
    assert!((jpn.welfare_change - s.figure).abs() <= 1e-9 * 3000.0);
}

#[test]
fn an_unreachable_goal_fails_with_the_reason_after_printing_what_was_found() {
    let out = seek("1000", "table");
    assert!(!out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("UNREACHABLE") && printed.contains("lever"), "{printed}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: the search did not converge: UNREACHABLE"), "{stderr}");
    assert!(stderr.contains("stays below"), "{stderr}");
}

/// `tariffctl optimize` on japan-20, maximising the US welfare with `lever`, then `rest`.
fn optimize_japan(lever: &str, rest: &[&str]) -> std::process::Output {
    let japan = scenario("japan-20.json");
    let head = ["optimize", &japan, "--lever", lever, "--maximize", "--objective", "USA:WELFARE_CHANGE"];
    tariffctl(&[&head[..], rest].concat())
}

#[test]
fn an_optimal_tariff_on_japan_converges() {
    let out =
        optimize_japan("measure:japan-20=0..60", &["--constraint", "JPN:WELFARE_CHANGE>=-100000", "--path"]);
    let text = stdout(&out);
    for line in [
        "status       CONVERGED",
        "method       COBYLA",
        "objective    maximise USA:WELFARE_CHANGE",
        "(not binding)",
        "path (run",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    let out = tariffctl(&[
        "optimize",
        &scenario("japan-20.json"),
        "--lever",
        "measure:japan-20=0..60/1",
        "--minimize",
        "--objective",
        "USA:WELFARE_CHANGE*-1",
        "--format",
        "json",
    ]);
    let (_, kind) = answer(&out);
    let Kind::Optimization(o) = kind else { panic!("{kind:?}") };
    assert_eq!(o.status(), SearchStatus::Converged, "{o:?}");
    // A small tariff helps the US (terms of trade), a large one does not; on the grid of whole percent.
    let t = o.lever_values[0];
    assert!(t > 0.0 && t < 10.0 && t.fract() == 0.0, "{t}");
    assert!(o.objective < 0.0, "minimising minus the US welfare gain: {}", o.objective);
}

#[test]
fn bad_syntax_names_the_flag_and_what_is_expected() {
    let japan = scenario("japan-20.json");
    let goal = ["--goal-value", "1"];
    let flagged = [
        (seek_japan("cars", "JPN:WELFARE_CHANGE", &goal), "--lever"),
        (seek_japan("measure:japan-20", "JPN", &goal), "--target"),
        (
            seek_japan("measure:japan-20", "JPN:WELFARE_CHANGE", &["--goal-value", "1", "--tolerance", "0"]),
            "--tolerance",
        ),
        (optimize_japan("measure:japan-20=0-50", &[]), "--lever"),
        (optimize_japan("measure:japan-20=0..50", &["--constraint", "USA:WELFARE_CHANGE=3"]), "--constraint"),
        (optimize_japan("measure:japan-20=0..50", &["--objective", "USA:WELFARE_CHANGE*x"]), "--objective"),
        (tariffctl(&["contributions", &japan, "--figure", "WELFARE"]), "--figure"),
    ];
    for (out, flag) in flagged {
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("for '{flag} ")), "{flag} in {stderr}");
        assert!(!stderr.contains("panicked"));
    }
    // What only the dataset can tell comes back from the library, naming the field.
    let out = seek_japan("measure:nope", "JPN:WELFARE_CHANGE", &goal);
    common::assert_one_line_error(&out, &["japan-20.json", "analysis.seek.lever.measure_rate", "nope"]);
}

#[test]
fn run_prints_the_answer_of_a_scenario_that_asks_one() {
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(scenario("japan-20.json")).unwrap()).unwrap();
    file["analysis"] = serde_json::json!({"seek": {
        "lever": {"measure_rate": "japan-20", "low": 0, "high": 50},
        "target": {"figure": "WELFARE_CHANGE", "economy": "JPN"},
        "value": -3000
    }});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seek.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let text = stdout(&tariffctl(&["run", &path.display().to_string()]));
    assert!(text.contains("Economies, all sectors:"), "{text}");
    assert!(text.contains("Goal-seek") && text.contains("status       CONVERGED"), "{text}");
}

#[test]
fn contributions_on_a_gateway_are_the_same_as_here() {
    let gateway = TestGateway::start(Default::default());
    let local = answer(&tariffctl(&["contributions", &scenario(DEAL), "--format", "json"])).1;
    let out = tariffctl(&["contributions", &scenario(DEAL), "--format", "json", "--remote", &gateway.http()]);
    assert_eq!(answer(&out).1, local);
}
