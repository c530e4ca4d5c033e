//! `inputs.csv` (docs/model.md, "Supply chains"): read into the dataset, `*`
//! rows for every economy and economy rows that replace them, and every bad
//! row refused with the file, the line and the reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{fs, path::Path};

use tariff_scenario::dataset::{Dataset, DatasetError, Quality};

const INPUTS: &str = "\
economy,sector,input_sector,cost_share,source,quality
*,CARS,SHOES,0.25,handmade,estimated
*,CARS,AGRI,0.05,handmade,estimated
USA,CARS,SHOES,0.4,handmade,reported
JPN,AGRI,AGRI,0.1,handmade,derived
";

/// The mini dataset with `inputs` as its inputs.csv.
fn load(inputs: &str) -> Result<Dataset, DatasetError> {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(common::mini_dir()).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    fs::write(dir.path().join("inputs.csv"), inputs).unwrap();
    Dataset::from_dir(dir.path())
}

#[test]
fn star_rows_apply_to_every_economy_and_economy_rows_replace_them() {
    let d = load(INPUTS).unwrap();
    let [usa, jpn, mex] = ["USA", "JPN", "MEX"].map(|c| d.economy(c).unwrap());
    let [cars, agri, shoes] = ["CARS", "AGRI", "SHOES"].map(|c| d.sector(c).unwrap());
    let cell = |v, s| d.inputs.of(v, s).iter().map(|r| (r.input, r.share)).collect::<Vec<_>>();
    // Japan and Mexico have no CARS rows of their own: the `*` rows, by input.
    assert_eq!(cell(jpn, cars), vec![(agri, 0.05), (shoes, 0.25)]);
    assert_eq!(cell(mex, cars), cell(jpn, cars));
    // The US row replaces the whole `*` cell: its AGRI share goes too.
    assert_eq!(cell(usa, cars), vec![(shoes, 0.4)]);
    assert_eq!(d.inputs.of(usa, cars)[0].quality, Quality::Reported);
    // An input may be the sector itself (input-output tables have a diagonal).
    assert_eq!(cell(jpn, agri), vec![(agri, 0.1)]);
    assert!(cell(usa, agri).is_empty());
    assert!(d.inputs.has_inputs(cars) && d.inputs.has_inputs(agri) && !d.inputs.has_inputs(shoes));
    assert_eq!(d.inputs.rows().len(), 4);
}

#[test]
fn without_the_file_there_are_no_inputs() {
    assert!(common::mini().inputs.is_empty());
}

#[test]
fn a_header_only_file_is_no_inputs() {
    assert!(load("economy,sector,input_sector,cost_share,source,quality\n").unwrap().inputs.is_empty());
}

fn expect_error(inputs: &str, line: Option<usize>, reason: &str) {
    let err = load(inputs).expect_err("the dataset should be refused");
    assert!(Path::new(&err.file).ends_with("inputs.csv"), "error names {}: {err}", err.file);
    assert_eq!(err.line, line, "{err}");
    assert!(err.reason.contains(reason), "`{err}` should say `{reason}`");
}

/// INPUTS with its line `line` (1-based, the header is 1) replaced.
fn with_line(line: usize, text: &str) -> String {
    let mut lines: Vec<&str> = INPUTS.lines().collect();
    lines[line - 1] = text;
    lines.join("\n") + "\n"
}

#[test]
fn unknown_codes_are_refused() {
    expect_error(
        &with_line(3, "*,CARS,STEEL,0.05,handmade,estimated"),
        Some(3),
        "unknown sector `STEEL` in `input_sector`",
    );
    expect_error(
        &with_line(3, "*,TRUCKS,AGRI,0.05,handmade,estimated"),
        Some(3),
        "unknown sector `TRUCKS` in `sector`",
    );
    expect_error(
        &with_line(4, "GBR,CARS,SHOES,0.4,handmade,reported"),
        Some(4),
        "unknown economy `GBR` in `economy`",
    );
    expect_error(
        &with_line(5, "JPN,AGRI,AGRI,0.1,nowhere,derived"),
        Some(5),
        "source `nowhere` is not listed in dataset.toml",
    );
    expect_error(
        &with_line(5, "JPN,AGRI,AGRI,0.1,handmade;nowhere,derived"),
        Some(5),
        "source `nowhere` is not listed",
    );
}

#[test]
fn shares_outside_zero_to_one_are_refused() {
    expect_error(
        &with_line(2, "*,CARS,SHOES,1,handmade,estimated"),
        Some(2),
        "cost_share 1 is not in [0, 1)",
    );
    expect_error(
        &with_line(2, "*,CARS,SHOES,-0.1,handmade,estimated"),
        Some(2),
        "cost_share -0.1 is not in [0, 1)",
    );
    expect_error(
        &with_line(2, "*,CARS,SHOES,NaN,handmade,estimated"),
        Some(2),
        "`cost_share` = `NaN` is not a finite number",
    );
    expect_error(&with_line(2, "*,CARS,SHOES,,handmade,estimated"), Some(2), "`cost_share` is empty");
}

#[test]
fn a_cell_summing_to_one_or_more_is_refused_at_the_row_that_gets_there() {
    let inputs = INPUTS.to_owned() + "USA,CARS,AGRI,0.6,handmade,reported\n";
    expect_error(&inputs, Some(6), "the cost shares of CARS in USA reach 1.000000 with this row");
    // The `*` cell and an economy cell are summed apart: 0.3 + 0.65 is not one cell.
    let inputs = INPUTS.to_owned() + "MEX,CARS,AGRI,0.65,handmade,reported\n";
    assert!(load(&inputs).is_ok());
}

#[test]
fn a_repeated_cell_and_input_is_refused() {
    let inputs = INPUTS.to_owned() + "*,CARS,SHOES,0.1,handmade,estimated\n";
    expect_error(&inputs, Some(6), "this economy, sector and input_sector already has a row");
}

#[test]
fn bad_quality_and_columns_are_refused() {
    expect_error(
        &with_line(2, "*,CARS,SHOES,0.25,handmade,guessed"),
        Some(2),
        "quality `guessed` is not reported",
    );
    expect_error("economy,sector,input,cost_share,source,quality\n", Some(1), "unknown column `input`");
    expect_error("economy,sector,input_sector,cost_share,source\n", Some(1), "missing column `quality`");
}

#[test]
fn a_zero_share_row_leaves_an_economy_without_the_star_inputs() {
    let d = load(&(INPUTS.to_owned() + "MEX,CARS,SHOES,0,handmade,estimated\n")).unwrap();
    let (mex, cars) = (d.economy("MEX").unwrap(), d.sector("CARS").unwrap());
    let total: f64 = d.inputs.of(mex, cars).iter().map(|r| r.share).sum();
    assert_eq!((d.inputs.of(mex, cars).len(), total), (1, 0.0));
}
