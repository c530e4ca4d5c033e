//! `tariffctl dataset import` end to end: the fixtures of each published
//! format turned into datasets the loader accepts, their totals by economy
//! and sector matching sums made here from the fixture rows; unmapped codes
//! and bad files refused with what and where.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use tariff_scenario::dataset::Dataset;

fn fixture(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/tariff-import/tests/fixtures")
        .join(path)
        .display()
        .to_string()
}

fn tariffctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tariffctl")).args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn economy_of(code: &str) -> &'static str {
    match code {
        "842" => "USA",
        "392" => "JPN",
        "276" | "251" => "EU",
        _ => "ROW",
    }
}

fn sector_of(hs: &str) -> &'static str {
    match hs.get(..4) {
        Some("8703") => "CARS",
        Some("8708") => "PARTS",
        _ if ["01", "02", "10", "22"].iter().any(|p| hs.starts_with(p)) => "AGRI",
        _ => "OTHER",
    }
}

/// The BACI fixture's values by exporter and by sector (USD million), with
/// domestic.csv on the diagonal: sums made here, not by the importer.
fn expected_totals() -> (HashMap<String, f64>, HashMap<String, f64>) {
    let (mut by_economy, mut by_sector) = (HashMap::new(), HashMap::new());
    let mut reader = csv::Reader::from_path(fixture("baci/BACI_HS17_Y2023_V202501.csv")).unwrap();
    for r in reader.records() {
        let r = r.unwrap();
        let v = r[4].parse::<f64>().unwrap() / 1000.0;
        *by_economy.entry(economy_of(&r[1]).to_owned()).or_insert(0.0) += v;
        *by_sector.entry(sector_of(&r[3]).to_owned()).or_insert(0.0) += v;
    }
    let mut reader = csv::Reader::from_path(fixture("concordance/domestic.csv")).unwrap();
    for r in reader.records() {
        let r = r.unwrap();
        let v = r[2].parse::<f64>().unwrap();
        *by_economy.entry(r[0].to_owned()).or_insert(0.0) += v;
        *by_sector.entry(r[1].to_owned()).or_insert(0.0) += v;
    }
    (by_economy, by_sector)
}

fn baci_args(out: &str) -> Vec<String> {
    [
        "dataset",
        "import",
        "--format",
        "baci",
        &fixture("baci/BACI_HS17_Y2023_V202501.csv"),
        "--country-codes",
        &fixture("baci/country_codes_V202501.csv"),
        "--product-codes",
        &fixture("baci/product_codes_HS17_V202501.csv"),
        "--tariffs",
        &fixture("wits/AVEMFN_H5_2023.csv"),
        "--tariffs",
        &fixture("wits/AVEPref_H5_2023.csv"),
        "--concordance",
        &fixture("concordance"),
        "--out",
        out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run(args: &[String]) -> Output {
    tariffctl(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn baci_and_wits_import_to_a_dataset_whose_totals_match_the_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mine").display().to_string();
    let mut args = baci_args(&out);
    args.extend(["--unmapped-to", "ROW", "--unmapped-to", "OTHER", "--output", "json"].map(String::from));
    let report: serde_json::Value = serde_json::from_str(&ok(&run(&args))).unwrap();
    assert_eq!(report["id"], "mine");
    assert_eq!(report["unmapped"].as_array().unwrap().len(), 2);
    assert_eq!(report["domestic"]["method"], "file");

    let d = Dataset::from_dir(Path::new(&out)).unwrap();
    let (by_economy, by_sector) = expected_totals();
    for (code, want) in &by_economy {
        let e = d.economy(code).unwrap();
        let got: f64 = (0..d.sectors.len())
            .map(|s| {
                let f = d.sector_flows(s);
                f.exporters
                    .iter()
                    .zip(f.values)
                    .filter(|(x, _)| **x as usize == e)
                    .map(|(_, v)| *v)
                    .sum::<f64>()
            })
            .sum();
        assert!((got - want).abs() < 1e-9, "{code}: {got} != {want}");
    }
    for (code, want) in &by_sector {
        let got: f64 = d.sector_flows(d.sector(code).unwrap()).values.iter().sum();
        assert!((got - want).abs() < 1e-9, "{code}: {got} != {want}");
    }

    // The text summary names the unmapped codes and where they went.
    let out2 = dir.path().join("text").display().to_string();
    let mut args = baci_args(&out2);
    args.extend(["--unmapped-to", "ROW", "--unmapped-to", "OTHER"].map(String::from));
    let text = ok(&run(&args));
    assert!(text.contains("Country 999 (TST): 1 rows, value 0.030, to ROW"), "{text}");
    assert!(text.contains("checked with the loader"), "{text}");
    // The dataset runs a scenario that names its economies.
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/japan-20.json");
    let result =
        ok(&tariffctl(&["run", &scenario.display().to_string(), "--dataset", &out, "--format", "json"]));
    assert!(result.contains("\"JPN\""), "{result}");
}

#[test]
fn unmapped_codes_stop_the_import_and_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x").display().to_string();
    let err = failed(&run(&baci_args(&out)));
    assert!(err.contains("2 code(s) are not in the concordance"), "{err}");
    assert!(err.contains("country `999 (TST)` (1 rows, value 0.03"), "{err}");
    assert!(err.contains("product `999999`"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn bad_files_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("BACI_bad.csv");
    std::fs::write(&bad, "t,i,j,k,v,q\n2023,392,842,870323,1,1\n2023,392,842,870323,one,1\n").unwrap();
    let out = dir.path().join("x").display().to_string();
    let mut args = baci_args(&out);
    args[4] = bad.display().to_string();
    let err = failed(&run(&args));
    assert!(err.contains("BACI_bad.csv:3: column `v`: `one` is not a number"), "{err}");
    std::fs::write(&bad, "t,i,j,q\n2023,392,842,1\n").unwrap();
    let err = failed(&run(&args));
    assert!(err.contains("BACI_bad.csv:1: missing column `k`"), "{err}");
}

#[test]
fn domestic_shipments_must_be_chosen_when_the_concordance_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let concordance = dir.path().join("concordance");
    std::fs::create_dir(&concordance).unwrap();
    for f in ["economies.csv", "sectors.csv", "hs_to_sector.csv", "country_to_economy.csv"] {
        std::fs::copy(fixture(&format!("concordance/{f}")), concordance.join(f)).unwrap();
    }
    let out = dir.path().join("x").display().to_string();
    let mut args = baci_args(&out);
    let at = args.iter().position(|a| a == "--concordance").unwrap();
    args[at + 1] = concordance.display().to_string();
    args.extend(["--unmapped-to", "ROW", "--unmapped-to", "OTHER"].map(String::from));
    let err = failed(&run(&args));
    assert!(err.contains("--domestic-ratio"), "{err}");
    args.extend(["--domestic-ratio", "1.5"].map(String::from));
    ok(&run(&args));
    let d = Dataset::from_dir(Path::new(&out)).unwrap();
    let cars = d.sector("CARS").unwrap();
    let jpn = d.economy("JPN").unwrap();
    assert!((d.flow(cars, jpn, jpn) - 1.5 * (1.2005 + 0.6)).abs() < 1e-12);
}

#[test]
fn comtrade_imports_with_the_default_rate_for_what_wits_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let out: PathBuf = dir.path().join("ct");
    let args: Vec<String> = [
        "dataset",
        "import",
        "--format",
        "comtrade",
        &fixture("comtrade/TradeData_2023_H5.csv"),
        "--tariffs",
        &fixture("wits/wits_tariff_view_2023.csv"),
        "--concordance",
        &fixture("concordance"),
        "--out",
        &out.display().to_string(),
        "--unmapped-to",
        "OTHER",
        "--no-domestic",
        "--default-rate",
        "2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let text = ok(&run(&args));
    assert!(text.contains("UN Comtrade, current API / bulk, 16 rows read, 8 used"), "{text}");
    let d = Dataset::from_dir(&out).unwrap();
    let (cars, jpn, usa) = (d.sector("CARS").unwrap(), d.economy("JPN").unwrap(), d.economy("USA").unwrap());
    assert!((d.flow(cars, jpn, usa) - 1400.5).abs() < 1e-9);
    assert!((d.flow(cars, usa, jpn) - 310.0).abs() < 1e-9);
    assert!(d.tariffs.iter().any(|t| t.basis == "DEFAULT" && t.rate_pct == 2.0));
}

#[test]
fn wits_files_alone_replace_the_tariffs_of_an_existing_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d").display().to_string();
    let mut args = baci_args(&out);
    args.extend(["--unmapped-to", "ROW", "--unmapped-to", "OTHER"].map(String::from));
    ok(&run(&args));
    let flows_before = std::fs::read(Path::new(&out).join("flows.csv")).unwrap();
    let update = |extra: &[&str]| {
        let mut a = vec![
            "dataset".to_owned(),
            "import".into(),
            "--format".into(),
            "wits".into(),
            fixture("wits/wits_tariff_view_2023.csv"),
            "--concordance".into(),
            fixture("concordance"),
            "--out".into(),
            out.clone(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        run(&a)
    };
    // JPN, EU and ROW import goods the view file has no rate for.
    let err = failed(&update(&[]));
    assert!(err.contains("have imports but no tariff"), "{err}");
    let text = ok(&update(&["--default-rate", "4"]));
    assert!(text.contains("WITS Tariff View and Download"), "{text}");
    assert_eq!(std::fs::read(Path::new(&out).join("flows.csv")).unwrap(), flows_before);
    let d = Dataset::from_dir(Path::new(&out)).unwrap();
    let ids: Vec<&str> = d.sources.iter().map(|s| s.id.as_str()).collect();
    assert!(ids.contains(&"wits-tariff-view-2023"), "{ids:?}");
    assert!(ids.contains(&"baci-hs17-y2023-v202501"), "{ids:?}");
    let (usa, cars) = (d.economy("USA").unwrap(), d.sector("CARS").unwrap());
    let row =
        d.tariffs.iter().find(|t| t.importer == usa && t.sector == cars && t.exporter.is_none()).unwrap();
    assert_eq!((row.rate_pct, row.basis.as_str()), (2.5, "MFN"));
    assert!(d.tariffs.iter().any(|t| t.basis == "DEFAULT" && t.rate_pct == 4.0));
    // Again: the file's source entry is replaced, not repeated.
    ok(&update(&["--default-rate", "4"]));
    let d = Dataset::from_dir(Path::new(&out)).unwrap();
    assert_eq!(d.sources.iter().filter(|s| s.id == "wits-tariff-view-2023").count(), 1);
}

#[test]
fn the_concordances_input_shares_are_copied_into_the_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let concordance = dir.path().join("concordance");
    std::fs::create_dir(&concordance).unwrap();
    for entry in std::fs::read_dir(fixture("concordance")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, concordance.join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        concordance.join("sources.toml"),
        "[[sources]]\nid = \"io-table\"\ntitle = \"An input-output table\"\n",
    )
    .unwrap();
    let inputs = "economy,sector,input_sector,cost_share,source,quality\n\
                  *,CARS,PARTS,0.45,io-table,estimated\nJPN,CARS,PARTS,0.5,io-table,derived\n";
    std::fs::write(concordance.join("inputs.csv"), inputs).unwrap();
    let out = dir.path().join("with-inputs").display().to_string();
    let mut args = baci_args(&out);
    let at = args.iter().position(|a| a == "--concordance").unwrap();
    args[at + 1] = concordance.display().to_string();
    args.extend(["--unmapped-to", "ROW", "--unmapped-to", "OTHER"].map(String::from));
    ok(&run(&args));
    let d = Dataset::from_dir(Path::new(&out)).unwrap();
    let (cars, parts, jpn) =
        (d.sector("CARS").unwrap(), d.sector("PARTS").unwrap(), d.economy("JPN").unwrap());
    let shares = d.inputs.of(jpn, cars).iter().map(|r| (r.input, r.share)).collect::<Vec<_>>();
    assert_eq!(shares, vec![(parts, 0.5)]);
    assert_eq!(d.inputs.rows().len(), 2);
}
