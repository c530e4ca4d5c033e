//! The synthetic generator: deterministic by seed, its counts those of N, S
//! and D, and a dataset the loader accepts, marked synthetic throughout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use tariff_import::{SynthSpec, summarize, synthesize};
use tariff_scenario::dataset::{Dataset, Quality};

fn spec(out: &Path, economies: usize, sectors: usize, density: f64, seed: u64) -> SynthSpec {
    SynthSpec {
        economies,
        sectors,
        density,
        seed,
        out: out.to_path_buf(),
        id: None,
        overwrite: false,
        input_sectors: 0,
    }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    ["dataset.toml", "economies.csv", "sectors.csv", "flows.csv", "tariffs.csv"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap()))
        .collect()
}

#[test]
fn the_same_seed_writes_the_same_bytes_and_another_seed_other_data() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
    let ra = synthesize(&spec(&a, 30, 40, 0.2, 7), &mut |_| {}).unwrap();
    let rb = synthesize(&spec(&b, 30, 40, 0.2, 7), &mut |_| {}).unwrap();
    synthesize(&spec(&c, 30, 40, 0.2, 8), &mut |_| {}).unwrap();
    assert_eq!(files(&a), files(&b));
    assert_eq!((ra.flow_rows, ra.tariff_rows), (rb.flow_rows, rb.tariff_rows));
    assert_ne!(std::fs::read(a.join("flows.csv")).unwrap(), std::fs::read(c.join("flows.csv")).unwrap());
}

#[test]
fn counts_follow_economies_sectors_and_density_and_the_loader_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("synth");
    let (n, s, density) = (40usize, 60usize, 0.1);
    let report = synthesize(&spec(&out, n, s, density, 42), &mut |_| {}).unwrap();
    assert_eq!(report.domestic_rows, (n * s) as u64);
    assert_eq!(report.flow_rows, report.domestic_rows + report.import_rows);
    // Off-diagonal pairs trade with probability D: binomial, checked to 5 sigma.
    let pairs = (n * (n - 1) * s) as f64;
    let (mean, sigma) = (density * pairs, (density * (1.0 - density) * pairs).sqrt());
    assert!((report.import_rows as f64 - mean).abs() < 5.0 * sigma, "{} vs {mean}", report.import_rows);
    assert_eq!(report.tariff_rows, (n * s) as u64 + report.preference_rows);
    assert_eq!(report.flows_bytes, std::fs::metadata(out.join("flows.csv")).unwrap().len());

    let started = std::time::Instant::now();
    let d = Dataset::from_dir(&out).unwrap();
    let summary = summarize(&d, started.elapsed().as_secs_f64());
    assert_eq!((summary.economies, summary.sectors), (n, s));
    assert_eq!(summary.flow_rows, report.flow_rows);
    assert_eq!(summary.domestic_rows, (n * s) as u64);
    assert_eq!(summary.domestic_coverage, 1.0);
    assert_eq!(summary.tariff_coverage, 1.0);
    assert_eq!(summary.tariff_rows, report.tariff_rows);
    assert_eq!(summary.qualities.estimated, report.flow_rows);
    assert_eq!(summary.qualities.reported, 0);
    assert!(d.title.starts_with("SYNTHETIC"), "{}", d.title);
    assert!(d.description.contains("NOT REAL TRADE"));
    assert_eq!(d.sources.len(), 1);
    assert_eq!(d.sources[0].id, "synthetic");
    let p = d.provenance(0, 0, 0).unwrap();
    assert_eq!((p.source.as_str(), p.quality), ("synthetic", Quality::Estimated));
    assert!(d.tariffs.iter().any(|t| t.basis == "PREF" && t.exporter.is_some()));
}

#[test]
fn density_zero_and_one_are_the_extremes() {
    let dir = tempfile::tempdir().unwrap();
    let none = synthesize(&spec(&dir.path().join("zero"), 10, 5, 0.0, 1), &mut |_| {}).unwrap();
    assert_eq!((none.import_rows, none.domestic_rows), (0, 50));
    let all = synthesize(&spec(&dir.path().join("one"), 10, 5, 1.0, 1), &mut |_| {}).unwrap();
    assert_eq!((all.import_rows, all.domestic_rows), (10 * 9 * 5, 50));
    Dataset::from_dir(&dir.path().join("one")).unwrap();
    let err = synthesize(&spec(&dir.path().join("bad"), 10, 5, 1.5, 1), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("--density 1.5"), "{err}");
    let err = synthesize(&spec(&dir.path().join("one"), 10, 5, 1.0, 1), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("is not empty"), "{err}");
}
