//! `tariffctl dataset check`: the built-in folder's summary, and a broken
//! copy refused with the loader's one-line error and a non-zero exit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn tariffctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tariffctl")).args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn the_built_in_folder_is_summarised() {
    let dir = repo("data/jpus-2023");
    let text = ok(&tariffctl(&["dataset", "check", &dir.display().to_string()]));
    assert!(text.contains("jpus-2023"), "{text}");
    assert!(text.contains("economies      9"), "{text}");
    assert!(text.contains("sectors        10"), "{text}");
    assert!(text.contains("100.0% of import flows with a tariff row"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&ok(&tariffctl(&[
        "dataset",
        "check",
        &dir.display().to_string(),
        "--format",
        "json",
    ])))
    .unwrap();
    let flow_lines = std::fs::read_to_string(dir.join("flows.csv")).unwrap().lines().skip(1).count() as u64;
    assert_eq!(json["flow_rows"].as_u64().unwrap(), flow_lines);
    assert_eq!(json["economies"], 9);
    assert_eq!(json["domestic_rows"], 90);
    assert_eq!(json["domestic_coverage"], 1.0);
    let q = &json["qualities"];
    let counted =
        q["reported"].as_u64().unwrap() + q["derived"].as_u64().unwrap() + q["estimated"].as_u64().unwrap();
    assert_eq!(counted, flow_lines);
    assert!(json["agreements"].as_u64().unwrap() > 5);
    // inputs.csv: 42 rows in 14 cells (METHOD.md section 13).
    assert_eq!((json["input_rows"].as_u64(), json["input_cells"].as_u64()), (Some(42), Some(14)));
    // Where they ask for more parts than the dataset's parts market holds (METHOD.md section 13).
    let over = &json["input_overuse"];
    assert_eq!((over["cells"].as_u64(), over["largest_economy"].as_str()), (Some(5), Some("JPN")));
    assert_eq!(over["largest_sector"], "PARTS");
    assert!(json["total_value"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_broken_copy_fails_with_the_loaders_error() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("jpus-broken");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(repo("data/jpus-2023")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let flows = copy.join("flows.csv");
    let text = std::fs::read_to_string(&flows).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[4] = lines[4].replacen(",9500,", ",six thousand,", 1);
    std::fs::write(&flows, lines.join("\n") + "\n").unwrap();
    let out = tariffctl(&["dataset", "check", &copy.display().to_string()]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("flows.csv:5:"), "{err}");
    assert!(err.contains("six thousand"), "{err}");

    std::fs::remove_file(copy.join("tariffs.csv")).unwrap();
    std::fs::write(&flows, text).unwrap();
    let out = tariffctl(&["dataset", "check", &copy.display().to_string(), "--format", "json"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("tariffs.csv: file is missing"), "{err}");
}
