//! Imports of the fixtures, one per published format, each turned into a
//! dataset the loader accepts, its totals checked against sums made here
//! from the fixture rows independently of the importer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
};

use tariff_import::{
    Direction, DomesticSource, FlowFormat, ImportError, ImportReport, ImportSpec, Unit, import,
    report::CodeKind,
};
use tariff_scenario::dataset::{Dataset, Quality};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(path)
}

fn baci_spec(out: &Path) -> ImportSpec {
    let mut spec = ImportSpec::new(
        FlowFormat::Baci,
        vec![fixture("baci/BACI_HS17_Y2023_V202501.csv")],
        fixture("concordance"),
        out.to_path_buf(),
    );
    spec.country_codes = Some(fixture("baci/country_codes_V202501.csv"));
    spec.product_codes = Some(fixture("baci/product_codes_HS17_V202501.csv"));
    spec.tariffs = vec![fixture("wits/AVEMFN_H5_2023.csv"), fixture("wits/AVEPref_H5_2023.csv")];
    spec.unmapped_to = vec!["ROW".into(), "OTHER".into()];
    spec.domestic = DomesticSource::File(fixture("concordance/domestic.csv"));
    spec.id = Some("baci-test".into());
    spec
}

fn run(spec: &ImportSpec) -> Result<ImportReport, ImportError> {
    import(spec, &mut |_| {})
}

/// The fixture's mapping, written out again by hand: country code to economy.
fn economy_of(code: &str) -> &'static str {
    match code {
        "842" | "840" => "USA",
        "392" => "JPN",
        "276" | "251" | "918" => "EU",
        _ => "ROW", // 156 China, 410 Korea (by its ISO3), 999 unmapped sent to ROW
    }
}

fn sector_of(hs: &str) -> &'static str {
    if hs.starts_with("8703") {
        "CARS"
    } else if hs.starts_with("8708") {
        "PARTS"
    } else if ["01", "02", "10", "22"].iter().any(|p| hs.starts_with(p)) {
        "AGRI"
    } else {
        "OTHER" // 84, 85, 87 and the unmapped 999999 sent to OTHER
    }
}

/// Sums of a trade file by (exporter, importer, sector), in `unit` USD.
fn sums(rows: impl Iterator<Item = (String, String, String, f64)>) -> HashMap<(String, String, String), f64> {
    let mut out = HashMap::new();
    for (i, j, k, v) in rows {
        *out.entry((economy_of(&i).to_owned(), economy_of(&j).to_owned(), sector_of(&k).to_owned()))
            .or_insert(0.0) += v;
    }
    out
}

fn baci_sums() -> HashMap<(String, String, String), f64> {
    let mut reader = csv::Reader::from_path(fixture("baci/BACI_HS17_Y2023_V202501.csv")).unwrap();
    let rows: Vec<_> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[1].to_owned(), r[2].to_owned(), r[3].to_owned(), r[4].parse::<f64>().unwrap() / 1000.0)
        })
        .collect();
    sums(rows.into_iter())
}

fn domestic_fixture() -> HashMap<(String, String), f64> {
    let mut reader = csv::Reader::from_path(fixture("concordance/domestic.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            ((r[0].to_owned(), r[1].to_owned()), r[2].parse().unwrap())
        })
        .collect()
}

fn flow(d: &Dataset, exporter: &str, importer: &str, sector: &str) -> f64 {
    d.flow(d.sector(sector).unwrap(), d.economy(exporter).unwrap(), d.economy(importer).unwrap())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn tariff(d: &Dataset, importer: &str, exporter: Option<&str>, sector: &str) -> Option<(f64, String)> {
    let (r, s) = (d.economy(importer).unwrap(), d.sector(sector).unwrap());
    let v = exporter.map(|e| d.economy(e).unwrap());
    d.tariffs
        .iter()
        .find(|t| t.importer == r && t.sector == s && t.exporter == v)
        .map(|t| (t.rate_pct, t.basis.clone()))
}

#[test]
fn baci_with_wits_tariffs_loads_and_its_totals_match_the_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("baci-test");
    let report = run(&baci_spec(&out)).unwrap();
    let d = Dataset::from_dir(&out).unwrap();
    assert_eq!(d.id, "baci-test");
    assert_eq!(d.base_year, 2023);
    assert_eq!(d.unit, "million");
    assert_eq!(d.economies.len(), 4);
    assert_eq!(d.sectors.len(), 4);

    // Every cell: the fixture's sums, plus domestic.csv on the diagonal.
    let mut expected = baci_sums();
    for ((e, s), v) in domestic_fixture() {
        *expected.entry((e.clone(), e, s)).or_insert(0.0) += v;
    }
    expected.retain(|_, v| *v > 0.0);
    for ((e, r, s), v) in &expected {
        assert!(close(flow(&d, e, r, s), *v), "{e}->{r} {s}: {} != {v}", flow(&d, e, r, s));
    }
    let (rows, _) = d.flow_row_counts();
    assert_eq!(rows, expected.len());
    assert_eq!(report.flow_rows as usize, expected.len());

    // Totals by economy (exports) and by sector, from both sides.
    for economy in ["USA", "JPN", "EU", "ROW"] {
        let want: f64 = expected.iter().filter(|((e, _, _), _)| e == economy).map(|(_, v)| v).sum();
        let e = d.economy(economy).unwrap();
        let got: f64 = (0..d.sectors.len())
            .map(|s| {
                let f = d.sector_flows(s);
                f.exporters
                    .iter()
                    .zip(f.values)
                    .filter(|(x, _)| **x as usize == e)
                    .map(|(_, v)| v)
                    .sum::<f64>()
            })
            .sum();
        assert!(close(got, want), "{economy}: {got} != {want}");
    }
    for sector in ["CARS", "PARTS", "AGRI", "OTHER"] {
        let want: f64 = expected.iter().filter(|((_, _, s), _)| s == sector).map(|(_, v)| v).sum();
        let got: f64 = d.sector_flows(d.sector(sector).unwrap()).values.iter().sum();
        assert!(close(got, want), "{sector}: {got} != {want}");
    }
    // The duplicate row (JPN->USA 870323 twice) is added up; intra-EU trade is EU's domestic shipments.
    assert!(close(flow(&d, "JPN", "USA", "CARS"), 1.2005));
    assert!(close(flow(&d, "EU", "EU", "CARS"), 150.0 + 0.5));

    // Provenance: imported figures reported under the file's source, domestic ones estimated.
    let p = d.provenance(d.sector("CARS").unwrap(), d.economy("JPN").unwrap(), d.economy("USA").unwrap());
    let p = p.unwrap();
    assert_eq!((p.source.as_str(), p.quality), ("baci-hs17-y2023-v202501", Quality::Reported));
    let p = d.provenance(d.sector("CARS").unwrap(), 0, 0).unwrap();
    assert_eq!((p.source.as_str(), p.quality), ("domestic", Quality::Estimated));
    let source = d.sources.iter().find(|s| s.id == "baci-hs17-y2023-v202501").unwrap();
    assert!(source.note.contains("BACI_HS17_Y2023_V202501.csv"), "{}", source.note);
    assert!(source.note.contains("sha256:"), "{}", source.note);

    // Unmapped codes went to the catch-alls and are reported.
    assert_eq!(report.unmapped.len(), 2);
    let country = report.unmapped.iter().find(|u| u.kind == CodeKind::Country).unwrap();
    assert_eq!(
        (country.code.as_str(), country.rows, country.sent_to.as_deref()),
        ("999 (TST)", 1, Some("ROW"))
    );
    assert!(close(country.value, 0.03));
    let product = report.unmapped.iter().find(|u| u.kind == CodeKind::Product).unwrap();
    assert_eq!((product.code.as_str(), product.sent_to.as_deref()), ("999999", Some("OTHER")));
    assert_eq!(product.description, "Test product with no sector");
    let baci = &report.flow_files[0];
    assert_eq!(baci.rows_read, 14);
    assert_eq!(baci.skipped["zero value"].rows, 1);

    // Tariffs: MFN trade-weighted, preferences bilateral, simple means where nothing was imported.
    assert_eq!(tariff(&d, "USA", None, "CARS"), Some((2.5, "MFN".into())));
    assert_eq!(tariff(&d, "USA", None, "AGRI"), Some((26.4, "MFN".into())));
    assert_eq!(tariff(&d, "USA", Some("ROW"), "AGRI"), Some((0.0, "PRF".into())));
    assert_eq!(tariff(&d, "EU", None, "CARS"), Some((10.0, "MFN".into())));
    assert_eq!(tariff(&d, "EU", Some("JPN"), "CARS"), Some((3.0, "PRF".into())));
    assert_eq!(tariff(&d, "EU", None, "OTHER"), Some((22.0, "MFN".into())));
    assert_eq!(tariff(&d, "ROW", None, "AGRI"), Some((65.0, "MFN".into())));
    assert_eq!(tariff(&d, "JPN", None, "OTHER"), Some((0.0, "MFN".into())));
    assert_eq!(report.tariffs.within_economy_rows, 1);
    assert_eq!(report.tariffs.preference_rows, 2);
    assert_eq!(report.tariffs.preference_weighted, 2);
    let weighted_then_simple = (report.tariffs.mfn_weighted, report.tariffs.mfn_rows);
    assert!(weighted_then_simple.0 < weighted_then_simple.1, "{weighted_then_simple:?}");
    assert_eq!(report.tariff_files[1].skipped.len(), 0);
    assert_eq!(report.tariff_files[0].skipped["no rate"].rows, 1);
    let method = std::fs::read_to_string(out.join("METHOD.md")).unwrap();
    assert!(method.contains("999999"), "{method}");
}

#[test]
fn unmapped_codes_are_an_error_that_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = baci_spec(&dir.path().join("out"));
    spec.unmapped_to.clear();
    let err = run(&spec).unwrap_err();
    let ImportError::Unmapped(codes) = &err else { panic!("{err}") };
    let listed: Vec<(&str, u64)> = codes.iter().map(|u| (u.code.as_str(), u.rows)).collect();
    assert_eq!(listed, [("999 (TST)", 1), ("999999", 1)]);
    let text = err.to_string();
    assert!(text.contains("country `999 (TST)`"), "{text}");
    assert!(text.contains("BACI_HS17_Y2023_V202501.csv:12"), "{text}");
    assert!(text.contains("[Test product with no sector]"), "{text}");
    assert!(text.contains("--unmapped-to"), "{text}");
    // Nothing half-done is written.
    assert!(!dir.path().join("out").exists());
}

#[test]
fn domestic_shipments_from_a_ratio_are_estimated_in_proportion_to_exports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ratio");
    let mut spec = baci_spec(&out);
    spec.domestic = DomesticSource::Ratio(2.0);
    spec.unit = Unit::Thousand;
    let report = run(&spec).unwrap();
    let d = Dataset::from_dir(&out).unwrap();
    assert_eq!(d.unit, "thousand");
    // JPN exports cars to USA (1200.5) and EU (600): domestic 2 x 1800.5.
    assert!(close(flow(&d, "JPN", "JPN", "CARS"), 2.0 * 1800.5));
    // EU: its exports (800 of CARS to USA) plus trade within the EU (500).
    assert!(close(flow(&d, "EU", "EU", "CARS"), 2.0 * 800.0 + 500.0));
    assert!(close(report.domestic.within_economy_value, 500.0));
    let p = d.provenance(d.sector("CARS").unwrap(), d.economy("JPN").unwrap(), d.economy("JPN").unwrap());
    assert_eq!(p.unwrap().quality, Quality::Estimated);
    assert_eq!(p.unwrap().source, "domestic-estimate");
}

#[test]
fn imports_without_a_tariff_are_an_error_unless_a_default_rate_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = baci_spec(&dir.path().join("a"));
    spec.tariffs.clear();
    let err = run(&spec).unwrap_err();
    let ImportError::MissingTariffs(missing) = &err else { panic!("{err}") };
    assert_eq!(missing.len(), 9, "{missing:?}");
    assert!(err.to_string().contains("--default-rate"));
    spec.default_rate = Some(3.5);
    spec.out = dir.path().join("b");
    let report = run(&spec).unwrap();
    assert_eq!(report.tariffs.default_rows, 9);
    let d = Dataset::from_dir(&spec.out).unwrap();
    assert_eq!(tariff(&d, "USA", None, "CARS"), Some((3.5, "DEFAULT".into())));
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn bad_files_are_refused_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("no-v.csv", "t,i,j,k,q\n2023,392,842,870323,1\n", "no-v.csv:1: missing column `v`"),
        (
            "bad-number.csv",
            "t,i,j,k,v,q\n2023,392,842,870323,1,1\n2023,392,842,870323,12x,1\n",
            "bad-number.csv:3: column `v`: `12x` is not a number",
        ),
        (
            "negative.csv",
            "t,i,j,k,v,q\n2023,392,842,870323,-1,1\n",
            "negative.csv:2: column `v`: -1 is negative",
        ),
        (
            "two-years.csv",
            "t,i,j,k,v,q\n2023,392,842,870323,1,1\n2022,392,842,870323,1,1\n",
            "two-years.csv:3: column `t`: year 2022, but the rows before are of 2023",
        ),
        ("empty-k.csv", "t,i,j,k,v,q\n2023,392,842,,1,1\n", "empty-k.csv:2: column `k` is empty"),
    ];
    for (name, text, want) in cases {
        let mut spec = baci_spec(&dir.path().join(format!("out-{name}")));
        spec.flows = vec![write(dir.path(), name, text)];
        let err = run(&spec).unwrap_err().to_string();
        assert!(err.contains(want), "{name}: {err}");
    }
    // A year chosen keeps its rows and counts the others.
    let mut spec = baci_spec(&dir.path().join("year"));
    spec.flows = vec![dir.path().join("two-years.csv")];
    spec.year = Some(2022);
    spec.default_rate = Some(0.0);
    let report = run(&spec).unwrap();
    assert_eq!(report.base_year, 2022);
    assert_eq!(report.flow_files[0].skipped["another year"].rows, 1);

    // A concordance row naming an unknown sector.
    let concordance = dir.path().join("concordance");
    std::fs::create_dir(&concordance).unwrap();
    for f in ["economies.csv", "sectors.csv", "country_to_economy.csv"] {
        std::fs::copy(fixture("concordance").join(f), concordance.join(f)).unwrap();
    }
    write(&concordance, "hs_to_sector.csv", "hs,sector\n8703,CARS\n8704,TRUCKS\n");
    let mut spec = baci_spec(&dir.path().join("conc"));
    spec.concordance = concordance.clone();
    let err = run(&spec).unwrap_err().to_string();
    assert!(err.contains("hs_to_sector.csv:3: column `sector`: `TRUCKS` is not in sectors.csv"), "{err}");
    write(&concordance, "hs_to_sector.csv", "hs,sector\n8703,CARS\n8,CARS\n");
    let err = run(&spec).unwrap_err().to_string();
    assert!(
        err.contains("hs_to_sector.csv:3: column `hs`: `8` is not an HS prefix of 2 to 6 digits"),
        "{err}"
    );

    // A tariff file of no known format.
    let mut spec = baci_spec(&dir.path().join("wits"));
    spec.tariffs = vec![write(dir.path(), "tariffs.csv", "importer,exporter,sector,rate_pct,basis\n")];
    let err = run(&spec).unwrap_err().to_string();
    assert!(err.contains("tariffs.csv:1: not a WITS tariff file"), "{err}");
}

fn comtrade_spec(out: &Path, file: &str) -> ImportSpec {
    let mut spec =
        ImportSpec::new(FlowFormat::Comtrade, vec![fixture(file)], fixture("concordance"), out.into());
    spec.tariffs = vec![fixture("wits/wits_tariff_view_2023.csv")];
    spec.default_rate = Some(1.0);
    spec.unmapped_to = vec!["OTHER".into()];
    spec.domestic = DomesticSource::Without;
    spec
}

/// Sums of the fixture's Comtrade rows that an import keeps (the test's own
/// reading of the filters), in USD million.
fn comtrade_sums(file: &str, flow: &str) -> HashMap<(String, String, String), f64> {
    let mut reader = csv::Reader::from_path(fixture(file)).unwrap();
    let h = reader.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (rep, par, fl, cmd, val, cus, mot) = (
        col("reporterCode"),
        col("partnerCode"),
        col("flowCode"),
        col("cmdCode"),
        col("primaryValue"),
        col("customsCode"),
        col("motCode"),
    );
    let mut rows = Vec::new();
    for r in reader.records() {
        let r = r.unwrap();
        if &r[fl] != flow || &r[par] == "0" || &r[cus] != "C00" || &r[mot] != "0" || r[cmd].len() != 6 {
            continue;
        }
        let (exporter, importer) = if flow == "M" {
            (r[par].to_owned(), r[rep].to_owned())
        } else {
            (r[rep].to_owned(), r[par].to_owned())
        };
        rows.push((exporter, importer, r[cmd].to_owned(), r[val].parse::<f64>().unwrap() / 1e6));
    }
    let mut out = sums(rows.into_iter());
    out.retain(|_, v| *v > 0.0);
    out
}

fn assert_matches(d: &Dataset, expected: &HashMap<(String, String, String), f64>) {
    for ((e, r, s), v) in expected {
        assert!(close(flow(d, e, r, s), *v), "{e}->{r} {s}: {} != {v}", flow(d, e, r, s));
    }
    assert_eq!(d.flow_row_counts().0, expected.len());
}

#[test]
fn comtrade_current_files_keep_one_direction_and_the_totals_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ct");
    let report = run(&comtrade_spec(&out, "comtrade/TradeData_2023_H5.csv")).unwrap();
    let d = Dataset::from_dir(&out).unwrap();
    assert_matches(&d, &comtrade_sums("comtrade/TradeData_2023_H5.csv", "M"));
    assert!(close(flow(&d, "JPN", "USA", "CARS"), 1400.5));
    let f = &report.flow_files[0];
    assert_eq!(f.format, "UN Comtrade, current API / bulk");
    assert_eq!(f.rows_read, 16);
    assert_eq!(f.skipped["exports and other flows (not M)"].rows, 3);
    assert_eq!(f.skipped["partner is the world total (code 0)"].rows, 1);
    assert_eq!(f.skipped["another product level (not HS at the chosen digits)"].rows, 2);
    assert_eq!(f.skipped["breakdown by customs procedure, transport mode or second partner"].rows, 2);
    // Tariffs of the WITS view file: MFN, a preference to Korea (ROW), bound and AHS left out.
    assert_eq!(tariff(&d, "USA", None, "CARS"), Some((2.5, "MFN".into())));
    assert_eq!(tariff(&d, "USA", Some("ROW"), "AGRI"), Some((0.0, "PRF".into())));
    assert_eq!(tariff(&d, "JPN", None, "CARS"), Some((1.0, "DEFAULT".into())));
    let wits = &report.tariff_files[0];
    assert_eq!(wits.format, "WITS Tariff View and Download");
    assert_eq!(wits.skipped["bound rates (BND) are not applied rates"].rows, 1);
    assert_eq!(wits.skipped["AHS or PRF averages over all partners"].rows, 1);

    // The exporters' declarations instead.
    let mut spec = comtrade_spec(&dir.path().join("x"), "comtrade/TradeData_2023_H5.csv");
    spec.direction = Direction::Exports;
    run(&spec).unwrap();
    let d = Dataset::from_dir(&spec.out).unwrap();
    assert_matches(&d, &comtrade_sums("comtrade/TradeData_2023_H5.csv", "X"));
    assert!(close(flow(&d, "USA", "JPN", "CARS"), 300.25));
    assert!(close(flow(&d, "JPN", "USA", "CARS"), 1.0));
}

#[test]
fn comtrade_bulk_files_tab_separated_and_gzipped_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("comtrade/TradeData_2023_H5.csv")).unwrap();
    let mut tsv = String::new();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    for r in reader.records() {
        let r = r.unwrap();
        tsv.push_str(&r.iter().collect::<Vec<_>>().join("\t"));
        tsv.push('\n');
    }
    let gz_path = dir.path().join("C_A_842_2023_H5.txt.gz");
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&gz_path).unwrap(), Default::default());
    gz.write_all(tsv.as_bytes()).unwrap();
    gz.finish().unwrap();
    let mut spec = comtrade_spec(&dir.path().join("gz"), "comtrade/TradeData_2023_H5.csv");
    spec.flows = vec![gz_path];
    let report = run(&spec).unwrap();
    assert_eq!(report.flow_files[0].source_id, "c-a-842-2023-h5");
    let d = Dataset::from_dir(&spec.out).unwrap();
    assert_matches(&d, &comtrade_sums("comtrade/TradeData_2023_H5.csv", "M"));
}

#[test]
fn comtrade_classic_api_csv_is_read_by_its_own_header() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("classic");
    let report = run(&comtrade_spec(&out, "comtrade/comtrade_classic_2023.csv")).unwrap();
    assert_eq!(report.flow_files[0].format, "UN Comtrade, classic API CSV");
    let d = Dataset::from_dir(&out).unwrap();
    assert!(close(flow(&d, "JPN", "USA", "CARS"), 1200.5));
    assert!(close(flow(&d, "USA", "JPN", "CARS"), 310.0));
    assert!(close(flow(&d, "EU", "USA", "CARS"), 800.0));
    assert_eq!(d.flow_row_counts().0, 3);
    let f = &report.flow_files[0];
    assert_eq!(f.skipped["exports and other flows (not 1, import)"].rows, 1);
    assert_eq!(f.skipped["partner is the world total (code 0)"].rows, 1);
}

#[test]
fn several_files_add_up_under_a_combined_source() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = comtrade_spec(&dir.path().join("two"), "comtrade/TradeData_2023_H5.csv");
    spec.flows.push(fixture("comtrade/comtrade_classic_2023.csv"));
    run(&spec).unwrap();
    let d = Dataset::from_dir(&spec.out).unwrap();
    assert!(close(flow(&d, "JPN", "USA", "CARS"), 1400.5 + 1200.5));
    let p = d.provenance(d.sector("CARS").unwrap(), d.economy("JPN").unwrap(), d.economy("USA").unwrap());
    assert_eq!(p.unwrap().source, "comtrade-combined");
    let p = d.provenance(d.sector("PARTS").unwrap(), d.economy("EU").unwrap(), d.economy("JPN").unwrap());
    assert_eq!(p.unwrap().source, "tradedata-2023-h5");
}

#[test]
fn an_output_folder_in_use_is_not_written_over_without_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("used");
    std::fs::create_dir(&out).unwrap();
    write(&out, "notes.txt", "mine");
    let err = run(&baci_spec(&out)).unwrap_err().to_string();
    assert!(err.contains("is not empty"), "{err}");
    let mut spec = baci_spec(&out);
    spec.overwrite = true;
    run(&spec).unwrap();
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
}
