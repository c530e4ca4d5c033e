//! `tariffctl run` on a scenario with uncertainty: the bands next to the point
//! estimate, the tornado table and chart, and everything in JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{stdout, tariffctl};
use tariff_proto::{
    json::from_json,
    v1::{Figure, ScenarioResult},
};
use tariff_scenario::{band_of, figure_of_impact};

/// The ready scenario with fewer draws, so that a debug build runs it quickly.
fn scenario(dir: &tempfile::TempDir, draws: u32) -> String {
    let ready =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/section-232-autos-2025-uncertainty.json");
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(ready).unwrap()).unwrap();
    assert_eq!(json["uncertainty"]["draws"], 10_000, "the ready scenario asks for 10,000 draws");
    json["uncertainty"]["draws"] = draws.into();
    let path = dir.path().join("autos.json");
    std::fs::write(&path, json.to_string()).unwrap();
    path.display().to_string()
}

#[test]
fn json_carries_bands_tornado_draws_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let result: ScenarioResult =
        from_json(&stdout(&tariffctl(&["run", &scenario(&dir, 300), "--format", "json"]))).unwrap();
    let summary = result.uncertainty.as_ref().unwrap();
    assert_eq!((summary.draws, summary.seed), (300, 2025));
    let impact = &result.impacts[0];
    assert_eq!(impact.bands.len(), impact.economies.len());
    assert_eq!(impact.sensitivity.len(), 30);
    let usa = band_of(&impact.bands[0], Figure::WelfareChange).unwrap();
    assert!(usa.p5 < usa.p50 && usa.p50 < usa.p95, "{usa:?}");
}

#[test]
fn the_table_shows_bands_and_a_tornado_sorted_by_swing() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(&dir, 300);
    let table = stdout(&tariffctl(&["run", &file]));
    assert!(table.contains("300 draws (seed 2025, spread 1)"), "{table}");
    assert!(table.contains("welfare change, USD million") && table.contains("p95"), "{table}");
    // Default: the welfare change of the economy it moves most (the US under its own auto tariffs).
    let heading = table.lines().find(|l| l.starts_with("Sensitivity of ")).unwrap();
    assert!(heading.starts_with("Sensitivity of USA welfare change"), "{heading}");
    let swings: Vec<f64> = table
        .lines()
        .skip_while(|l| !l.starts_with("Sensitivity of "))
        .skip(2)
        .take_while(|l| !l.trim().is_empty() && !l.trim_start().starts_with('('))
        .map(|l| l.split_whitespace().last().unwrap().parse().unwrap())
        .collect();
    assert_eq!(swings.len(), 10, "{table}");
    assert!(swings.windows(2).all(|w| w[0] >= w[1]), "{swings:?}");
    assert!(table.contains("CARS substitution"), "{table}");

    let table = stdout(&tariffctl(&[
        "run",
        &file,
        "--tornado-figure",
        "exports-change-pct",
        "--tornado-economy",
        "JPN",
    ]));
    assert!(table.contains("Sensitivity of JPN exports change, %"), "{table}");
    let out = tariffctl(&["run", &file, "--tornado-economy", "XYZ"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: --tornado-economy XYZ") && stderr.contains("USA"), "{stderr}");
}

#[test]
fn the_chart_has_the_tornado_below() {
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("autos.svg");
    let out =
        tariffctl(&["run", &scenario(&dir, 50), "--format", "json", "--chart", svg_path.to_str().unwrap()]);
    let result: ScenarioResult = from_json(&stdout(&out)).unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts: Vec<&str> =
        doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).collect();
    let usa = figure_of_impact(&result.impacts[0].economies[0], Figure::WelfareChange).unwrap();
    let title =
        format!("Sensitivity of USA welfare change, USD million, 2025-05-03 (point estimate {usa:.1})");
    assert!(texts.iter().any(|t| t.trim() == title), "{texts:?}");
    assert!(texts.iter().any(|t| t.trim() == "CARS substitution 5.6 to 13.3"), "{texts:?}");
    assert!(texts.iter().any(|t| t.trim() == "high end of range"), "{texts:?}");
    // The flows chart is still there, above.
    assert!(texts.iter().any(|t| t.trim() == "change in value, %"), "{texts:?}");
}
