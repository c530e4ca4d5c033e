//! A dataset that does not parse or is inconsistent is refused with the file,
//! the line and the reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{fs, path::Path};

use tariff_scenario::dataset::{Dataset, DatasetError};

/// Loads a copy of the mini dataset with one file's text changed by `edit`.
fn load_with(file: &str, edit: impl FnOnce(String) -> String) -> Result<Dataset, DatasetError> {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(common::mini_dir()).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let target = dir.path().join(file);
    let text = fs::read_to_string(&target).unwrap_or_default();
    fs::write(&target, edit(text)).unwrap();
    Dataset::from_dir(dir.path())
}

fn expect_error(file: &str, edit: impl FnOnce(String) -> String, line: Option<usize>, reason: &str) {
    let err = load_with(file, edit).expect_err("the dataset should be refused");
    assert!(Path::new(&err.file).ends_with(file), "error names {} instead of {file}: {err}", err.file);
    assert_eq!(err.line, line, "{err}");
    assert!(err.reason.contains(reason), "`{err}` should say `{reason}`");
}

fn replace(from: &'static str, to: &'static str) -> impl FnOnce(String) -> String {
    move |text| {
        assert!(text.contains(from), "test setup: `{from}` not found");
        text.replacen(from, to, 1)
    }
}

#[test]
fn the_mini_dataset_loads() {
    let d = common::mini();
    assert_eq!(d.economies.len(), 3);
    assert_eq!(d.sectors.len(), 3);
    assert_eq!(
        d.flow(d.sector("CARS").unwrap(), d.economy("JPN").unwrap(), d.economy("USA").unwrap()),
        40000.0
    );
    // elasticities.csv refines one cell and keeps the sector default elsewhere.
    let cars = d.sector("CARS").unwrap();
    assert_eq!(d.elasticities(cars, d.economy("JPN").unwrap()).substitution, 6.0);
    assert_eq!(d.elasticities(cars, d.economy("JPN").unwrap()).supply, 2.0);
    assert_eq!(d.elasticities(cars, d.economy("USA").unwrap()).substitution, 8.0);
}

#[test]
fn unknown_economy_in_flows() {
    expect_error("flows.csv", replace("JPN,USA,CARS", "JPX,USA,CARS"), Some(3), "unknown economy `JPX`");
}

#[test]
fn negative_flow_value() {
    expect_error("flows.csv", replace("JPN,USA,CARS,40000", "JPN,USA,CARS,-4"), Some(3), "negative");
}

#[test]
fn value_that_is_not_a_number() {
    expect_error(
        "flows.csv",
        replace("JPN,USA,CARS,40000", "JPN,USA,CARS,lots"),
        Some(3),
        "not a finite number",
    );
    expect_error(
        "flows.csv",
        replace("JPN,USA,CARS,40000", "JPN,USA,CARS,NaN"),
        Some(3),
        "not a finite number",
    );
}

#[test]
fn missing_elasticity() {
    expect_error(
        "sectors.csv",
        replace("-1.25,8,2", "-1.25,,2"),
        Some(2),
        "missing elasticity `substitution_elasticity`",
    );
}

#[test]
fn elasticity_of_the_wrong_sign() {
    expect_error("sectors.csv", replace("-1.25,8,2", "1.25,8,2"), Some(2), "must be negative");
}

#[test]
fn unknown_quality_and_source() {
    expect_error(
        "flows.csv",
        replace("40000,handmade,reported", "40000,handmade,guessed"),
        Some(3),
        "quality `guessed`",
    );
    expect_error(
        "flows.csv",
        replace("40000,handmade,reported", "40000,nowhere,reported"),
        Some(3),
        "source `nowhere`",
    );
}

#[test]
fn duplicate_flow_row() {
    expect_error("flows.csv", |t| t + "JPN,USA,CARS,1,handmade,reported\n", Some(24), "already has a row");
}

#[test]
fn unknown_column() {
    expect_error("tariffs.csv", replace("basis", "basys"), Some(1), "unknown column `basys`");
}

#[test]
fn ragged_row() {
    expect_error(
        "economies.csv",
        replace("Japan,G7;CPTPP,4200000", "Japan,G7;CPTPP"),
        Some(3),
        "malformed row",
    );
}

#[test]
fn missing_file() {
    let err = load_with("tariffs.csv", |_| String::new()).and_then(|_| {
        let dir = tempfile::tempdir().unwrap();
        Dataset::from_dir(dir.path())
    });
    assert!(err.unwrap_err().reason.contains("missing"));
}

#[test]
fn bad_toml_names_the_line() {
    expect_error(
        "agreements.toml",
        replace("in_force = \"2020-07-01\"", "in_force = 2020-07-01x"),
        Some(5),
        "",
    );
    expect_error("dataset.toml", replace("base_year = 2023", "base_year = \"soon\""), Some(5), "");
}

#[test]
fn agreement_with_an_unknown_party() {
    expect_error(
        "agreements.toml",
        replace("parties = [\"USA\", \"MEX\"]", "parties = [\"USA\", \"MEXX\"]"),
        None,
        "agreements[0] (USMCA).parties: unknown economy `MEXX`",
    );
}

#[test]
fn import_flow_without_a_base_rate() {
    expect_error(
        "tariffs.csv",
        replace("JPN,*,CARS,0,MFN\n", ""),
        None,
        "no base rate for CARS from USA into JPN",
    );
}

/// sectors.csv of the mini dataset with range columns for the substitution elasticity.
fn with_ranges(cars: &'static str) -> impl FnOnce(String) -> String {
    move |text| {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        for (i, line) in lines.iter_mut().enumerate() {
            let cells = match i {
                0 => ",substitution_elasticity_low,substitution_elasticity_high",
                _ if line.starts_with("CARS,") => cars,
                _ => ",,",
            };
            line.push_str(cells);
        }
        lines.join("\n") + "\n"
    }
}

#[test]
fn elasticity_ranges_are_read_or_defaulted() {
    let d = load_with("sectors.csv", with_ranges(",5.6,13.3")).unwrap();
    let cars = &d.sectors[d.sector("CARS").unwrap()];
    assert_eq!((cars.ranges.substitution.low, cars.ranges.substitution.high), (5.6, 13.3));
    assert!(cars.ranges.substitution.published);
    // No range given: half the value either side, in numeric order for a negative elasticity.
    let em = cars.ranges.import_demand;
    assert_eq!((em.low, em.high, em.published), (-1.875, -0.625, false));
    let agri = &d.sectors[d.sector("AGRI").unwrap()];
    assert_eq!((agri.ranges.substitution.low, agri.ranges.substitution.high), (2.0, 6.0));
    let proto = &d.sectors_proto()[0];
    assert_eq!((proto.substitution_elasticity_low, proto.substitution_elasticity_high), (5.6, 13.3));
    assert!(proto.substitution_range_published && !proto.import_demand_range_published);
}

#[test]
fn elasticity_ranges_must_bracket_the_value_and_keep_its_sign() {
    expect_error("sectors.csv", with_ranges(",9,13.3"), Some(2), "does not contain the elasticity 8");
    expect_error("sectors.csv", with_ranges(",5.6,7"), Some(2), "does not contain");
    expect_error("sectors.csv", with_ranges(",5.6,"), Some(2), "`substitution_elasticity_high` is empty");
    expect_error("sectors.csv", with_ranges(",-1,13"), Some(2), "must be positive");
    expect_error("sectors.csv", with_ranges(",5.6,inf"), Some(2), "not a finite number");
    expect_error(
        "sectors.csv",
        |text| {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            lines[0].push_str(",import_demand_elasticity_low,import_demand_elasticity_high");
            for line in lines.iter_mut().skip(1) {
                line.push_str(",-2,0.5");
            }
            lines.join("\n") + "\n"
        },
        Some(2),
        "must be negative",
    );
}

#[test]
fn horizons_of_the_mini_dataset() {
    let d = common::mini();
    let names: Vec<&str> = d.horizons().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["long_run", "short_run"]);
    let (short, cars, jpn, usa) = (
        d.horizon("short_run").unwrap(),
        d.sector("CARS").unwrap(),
        d.economy("JPN").unwrap(),
        d.economy("USA").unwrap(),
    );
    assert_eq!(d.horizon_elasticities(short, cars, jpn).supply, 0.1);
    assert_eq!(d.horizon_elasticities(short, cars, jpn).substitution, 3.0);
    assert_eq!(d.horizon_elasticities(short, cars, usa).supply, 0.5);
    let set = &d.horizons()[short].sectors[cars];
    assert_eq!(set.structure, tariff_scenario::dataset::Structure::Segmented);
    assert_eq!((set.ranges.substitution.low, set.ranges.substitution.high), (0.2, 4.0));
    // The long run is sectors.csv's and elasticities.csv's, integrated.
    assert_eq!(d.horizon_elasticities(0, cars, jpn), d.elasticities(cars, jpn));
    assert_eq!(d.horizons()[0].sectors[cars].structure, tariff_scenario::dataset::Structure::Integrated);
}

#[test]
fn horizon_missing_a_sector() {
    let err =
        load_with("horizons.csv", replace("short_run,SHOES,*,integrated,-0.5,2,1,,,handmade,derived\n", ""))
            .expect_err("refused");
    assert_eq!(err.line, None);
    assert!(err.reason.contains("horizon `short_run` has no row for sector `SHOES`"), "{err}");
}

#[test]
fn horizons_cannot_redefine_the_long_run() {
    expect_error(
        "horizons.csv",
        replace("short_run,AGRI", "long_run,AGRI"),
        Some(3),
        "`long_run` is the values of sectors.csv",
    );
}

#[test]
fn horizon_rows_are_checked() {
    expect_error(
        "horizons.csv",
        replace(",segmented,", ",pricing,"),
        Some(2),
        "`market_structure` = `pricing` is not integrated or segmented",
    );
    expect_error(
        "horizons.csv",
        replace("short_run,CARS,JPN,,", "short_run,CARS,JPN,segmented,"),
        Some(5),
        "leave it empty on an economy's row",
    );
    expect_error(
        "horizons.csv",
        replace("-0.4,1.5,0.5,,,handmade", "-0.4,1.5,0.5,,,nowhere"),
        Some(3),
        "source `nowhere` is not listed",
    );
    expect_error(
        "horizons.csv",
        replace("-0.6,3,0.5,0.2,4", "-0.6,3,0.5,3.5,4"),
        Some(2),
        "does not contain the elasticity 3",
    );
    expect_error(
        "horizons.csv",
        replace("handmade,derived\nshort_run,CARS,JPN", "handmade,guessed\nshort_run,CARS,JPN"),
        Some(4),
        "quality `guessed`",
    );
    expect_error(
        "horizons.csv",
        replace("short_run,CARS,JPN,,,,0.1", "short_run,CARS,JPN,,,,"),
        Some(5),
        "sets no elasticity",
    );
    expect_error(
        "horizons.csv",
        replace("short_run,AGRI,*", "short_run,CARS,*"),
        Some(3),
        "already has a row",
    );
    expect_error(
        "horizons.csv",
        replace("short_run,CARS,*,segmented,-0.6", "short_run,CARS,*,segmented,0.6"),
        Some(2),
        "must be negative",
    );
}

#[test]
fn market_structure_in_sectors_csv() {
    let with_column = |cars: &'static str| {
        move |t: String| {
            t.replace("supply_elasticity,source\n", "supply_elasticity,source,market_structure\n")
                .replace("handmade\n", "handmade,\n")
                .replacen("2,handmade,\n", cars, 1)
        }
    };
    let d = load_with("sectors.csv", with_column("2,handmade,segmented\n")).unwrap();
    assert_eq!(d.sectors[0].structure, tariff_scenario::dataset::Structure::Segmented);
    assert_eq!(d.sectors[1].structure, tariff_scenario::dataset::Structure::Integrated);
    expect_error(
        "sectors.csv",
        with_column("2,handmade,ptm\n"),
        Some(2),
        "`market_structure` = `ptm` is not integrated or segmented",
    );
}
