//! `tariffctl dataset synth`: deterministic by seed, counts those of N, S and
//! D, and a dataset `dataset check` accepts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn tariffctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tariffctl")).args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn synth_is_deterministic_and_its_counts_follow_the_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let args = |out: &std::path::Path| {
        let out = out.display().to_string();
        let list =
            ["dataset", "synth", "--economies", "25", "--sectors", "30", "--density", "0.2", "--seed", "5"];
        let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        v.extend(["--out".into(), out, "--format".into(), "json".into()]);
        v
    };
    let run = |out: &std::path::Path| {
        let v = args(out);
        let report: serde_json::Value =
            serde_json::from_str(&ok(&tariffctl(&v.iter().map(String::as_str).collect::<Vec<_>>()))).unwrap();
        report
    };
    let ra = run(&a);
    let rb = run(&b);
    for f in ["dataset.toml", "economies.csv", "sectors.csv", "flows.csv", "tariffs.csv"] {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f}");
    }
    assert_eq!(ra["flow_rows"], rb["flow_rows"]);
    assert_eq!(ra["domestic_rows"], 25 * 30);
    let imports = ra["import_rows"].as_f64().unwrap();
    let pairs: f64 = (25.0 * 24.0) * 30.0;
    let (mean, sigma) = (0.2 * pairs, (0.2 * 0.8 * pairs).sqrt());
    assert!((imports - mean).abs() < 5.0 * sigma, "{imports} vs {mean}");

    let check: serde_json::Value = serde_json::from_str(&ok(&tariffctl(&[
        "dataset",
        "check",
        &a.display().to_string(),
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(check["economies"], 25);
    assert_eq!(check["sectors"], 30);
    assert_eq!(check["flow_rows"], ra["flow_rows"]);
    assert_eq!(check["domestic_coverage"], 1.0);
    assert_eq!(check["qualities"]["estimated"], ra["flow_rows"]);
    assert!(check["title"].as_str().unwrap().starts_with("SYNTHETIC"));

    // Text output: one line of counts, and the refusal of a folder in use.
    let text = ok(&tariffctl(&[
        "dataset",
        "synth",
        "--economies",
        "3",
        "--sectors",
        "2",
        "--density",
        "1",
        "--out",
        &dir.path().join("c").display().to_string(),
    ]));
    assert!(text.contains("flows: 18 rows (6 domestic, 12 imports)"), "{text}");
    let again = tariffctl(&[
        "dataset",
        "synth",
        "--economies",
        "3",
        "--sectors",
        "2",
        "--density",
        "1",
        "--out",
        &dir.path().join("c").display().to_string(),
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"));
}
