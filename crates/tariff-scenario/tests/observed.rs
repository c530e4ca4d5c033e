//! The observed outcomes of data/observed: validated like a dataset, and the
//! backcasts of 2025 against them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{fs, path::Path};

use tariff_proto::v1 as pb;
use tariff_scenario::{
    ScenarioFormat,
    dataset::{DatasetError, builtin},
    observed::{ObservedFigure, ObservedSource, Period, Subject, backcast, builtin_observed, load_observed},
    parse_scenario, run,
};

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn scenario(name: &str) -> pb::Scenario {
    let text = fs::read_to_string(repo(&format!("scenarios/{name}.json"))).unwrap();
    parse_scenario(&text, ScenarioFormat::Json).unwrap()
}

#[test]
fn the_builtin_observations_load_and_match_the_folder() {
    let observed = builtin_observed().unwrap();
    let dataset = builtin("jpus-2023").unwrap().unwrap();
    // The same files read from disk, checked against the dataset's codes.
    let from_disk = load_observed(&ObservedSource::Dir(repo("data/observed")), Some(dataset)).unwrap();
    assert_eq!(from_disk.observations.len(), observed.observations.len());
    assert!(observed.observations.len() >= 60);
    let june = observed.get("jpn-usa-cars-value-2025-06").unwrap();
    assert_eq!(june.change_pct, -26.7);
    assert_eq!(june.currency, "JPY");
    assert_eq!(june.figure, ObservedFigure::Value);
    assert_eq!(june.subject, Subject::Flow { exporter: "JPN".into(), importer: "USA".into() });
    assert_eq!(june.period.to_string(), "2025-06");
}

/// The backcasts' yen moves are the exchange-rate file's, to the two decimals
/// the scenarios give.
#[test]
fn backcast_exchange_rates_come_from_the_observed_rates() {
    let observed = builtin_observed().unwrap();
    for (name, period, base) in [
        ("backcast-2025-06", "2025-06", "2024-06"),
        ("backcast-2025-h1", "2025-04..2025-09", "2024-04..2024-09"),
    ] {
        let (p, b): (Period, Period) = (period.parse().unwrap(), base.parse().unwrap());
        let want = observed.appreciation_pct("JPY", &p, &b).unwrap();
        let s = scenario(name);
        let jpy = s.exchange_rates.iter().find(|x| x.economy == "JPN").unwrap();
        assert!((jpy.change_pct - want).abs() < 0.005, "{name}: {} vs {want}", jpy.change_pct);
        assert_eq!(s.observed_period, period);
        assert_eq!(s.horizon, "short_run");
    }
}

fn gap_of(rows: &[tariff_scenario::observed::BackcastRow<'_>], id: &str) -> (f64, f64) {
    let row = rows.iter().find(|r| r.observation.id == id).unwrap_or_else(|| panic!("no row {id}"));
    (*row.model.as_ref().unwrap(), row.gap().unwrap())
}

/// Japan's passenger-car exports to the US, short run, built-in parameters
/// (not calibrated to these figures; the Japanese supply elasticity of
/// horizons.csv is derived from the April-September volume and unit value).
#[test]
fn the_2025_backcasts_hold_to_what_was_observed() {
    let dataset = builtin("jpus-2023").unwrap().unwrap();
    let observed = builtin_observed().unwrap();

    let june = run(dataset, &scenario("backcast-2025-06")).unwrap();
    let rows = backcast(&june, dataset, observed, &"2025-06".parse().unwrap());
    let (value, gap) = gap_of(&rows, "jpn-usa-cars-value-2025-06");
    assert!(gap.abs() <= 8.0, "June value in yen: model {value} vs -26.7");
    // The Bank of Japan's export price index, contract currency (in effect USD).
    let (price, gap) = gap_of(&rows, "jpn-usa-cars-boj-price-2025-06");
    assert!(gap.abs() <= 6.0, "June export price: model {price} vs -19.4");
    // The same index in yen (derived), and the model's yen price.
    let (price_jpy, gap) = gap_of(&rows, "jpn-usa-cars-boj-price-jpy-2025-06");
    assert!(gap.abs() <= 6.0, "June export price in yen: model {price_jpy} vs -26.2");

    let half = run(dataset, &scenario("backcast-2025-h1")).unwrap();
    let rows = backcast(&half, dataset, observed, &"2025-04..2025-09".parse().unwrap());
    let (value, gap) = gap_of(&rows, "jpn-usa-cars-value-2025-h1");
    assert!(gap.abs() <= 8.0, "April-September value in yen: model {value} vs -22.7");
    let (volume, gap) = gap_of(&rows, "jpn-usa-cars-volume-2025-h1");
    assert!(gap.abs() <= 5.0, "April-September volume: model {volume} vs -2.4");
}

/// The long run misses 2025: it is the horizon of years, not of months.
#[test]
fn the_long_run_does_not_fit_2025() {
    let dataset = builtin("jpus-2023").unwrap().unwrap();
    let mut s = scenario("backcast-2025-06");
    s.horizon = "long_run".into();
    let result = run(dataset, &s).unwrap();
    let rows = backcast(&result, dataset, builtin_observed().unwrap(), &"2025-06".parse().unwrap());
    let (value, gap) = gap_of(&rows, "jpn-usa-cars-value-2025-06");
    assert!(gap < -20.0, "long-run value {value}");
}

fn write_observed(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("obs.csv"), text).unwrap();
    dir
}

const HEADER: &str =
    "id,scope,economy,partner,sector,figure,period,compared_with,change_pct,currency,source,quality,note\n";
const GOOD: &str = "a,flow,JPN,USA,CARS,value,2025-06,2024-06,-26.7,JPY,MOF,reported,\n";

fn refused(rows: &str) -> DatasetError {
    let dir = write_observed(&format!("{HEADER}{GOOD}{rows}"));
    let dataset = builtin("jpus-2023").unwrap().unwrap();
    load_observed(&ObservedSource::Dir(dir.path().to_path_buf()), Some(dataset)).expect_err("refused")
}

#[test]
fn observed_rows_are_checked_with_file_and_line() {
    let cases = [
        ("a,flow,JPN,USA,CARS,value,2025-06,2024-06,-1,JPY,MOF,reported,", "id `a` is used twice"),
        ("b,flow,JPN,USA,CARS,price,2025-06,2024-06,-1,JPY,MOF,reported,", "figure `price` is not one of"),
        (
            "b,flow,JPN,USA,CARS,value,2025-6,2024-06,-1,JPY,MOF,reported,",
            "`period`: `2025-6` is not a period",
        ),
        ("b,flow,JPN,USA,CARS,value,2024-06,2025-06,-1,JPY,MOF,reported,", "is not before period"),
        (
            "b,flow,JPX,USA,CARS,value,2025-06,2024-06,-1,JPY,MOF,reported,",
            "unknown economy `JPX` in `economy`",
        ),
        ("b,flow,JPN,USA,CARZ,value,2025-06,2024-06,-1,JPY,MOF,reported,", "unknown sector `CARZ`"),
        ("b,economy,JPN,,CARS,value,2025-06,2024-06,-1,JPY,MOF,reported,", "is a flow's, not an economy's"),
        (
            "b,flow,JPN,USA,CARS,consumer_price,2025-06,2024-06,-1,JPY,MOF,reported,",
            "is an economy's, not a flow's",
        ),
        ("b,flow,JPN,USA,CARS,value,2025-06,2024-06,-1,-,MOF,reported,", "needs a currency"),
        (
            "b,flow,JPN,USA,CARS,value,2025-06,2024-06,-1,yen,MOF,reported,",
            "currency `yen` is not an ISO code",
        ),
        (
            "b,flow,JPN,USA,CARS,value,2025-06,2024-06,x,JPY,MOF,reported,",
            "`change_pct` = `x` is not a finite number",
        ),
        ("b,flow,JPN,USA,CARS,value,2025-06,2024-06,-1,JPY,MOF,official,", "quality `official`"),
        ("b,region,JPN,USA,CARS,value,2025-06,2024-06,-1,JPY,MOF,reported,", "scope `region`"),
    ];
    for (row, reason) in cases {
        let err = refused(row);
        assert!(err.file.ends_with("obs.csv"), "{err}");
        assert_eq!(err.line, Some(3), "{row}: {err}");
        assert!(err.reason.contains(reason), "{row}: `{err}` should say `{reason}`");
    }
}

#[test]
fn exchange_rates_are_checked() {
    let dir = write_observed(&format!("{HEADER}{GOOD}"));
    fs::write(
        dir.path().join("exchange-rates.csv"),
        "currency,per_usd,period,source,quality,note\nJPY,157.86,2024-06,G.5,reported,\nJPY,144.48,2024-06,H.10,derived,\n",
    )
    .unwrap();
    let err = load_observed(&ObservedSource::Dir(dir.path().to_path_buf()), None).unwrap_err();
    assert_eq!(err.line, Some(3));
    assert!(err.reason.contains("JPY 2024-06 already has a rate"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = load_observed(&ObservedSource::Dir(empty.path().to_path_buf()), None).unwrap_err();
    assert!(err.reason.contains("no observation files"), "{err}");
}
