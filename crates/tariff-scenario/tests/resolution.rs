//! Tariff resolution against the 2025 US-Japan cases of data-sources.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{measure, mini};
use tariff_proto::v1::{AgreementChange, Authority, Scenario, agreement_change::Action, measure::Mode};
use tariff_scenario::{Date, PreparedScenario, dataset::Dataset};

/// The 2025 US measures that touch Japan, as a timeline.
fn japan_2025() -> Scenario {
    let mut s232 = measure(Authority::Section232, &["*"], &["CARS"], Mode::Add, 25.0, "2025-04-03", "");
    s232.excludes = vec![Authority::IeepaReciprocal.into()];
    let baseline =
        measure(Authority::IeepaReciprocal, &["*"], &["*"], Mode::Add, 10.0, "2025-04-05", "2025-08-07");
    let floor =
        measure(Authority::IeepaReciprocal, &["JPN"], &["*"], Mode::Floor, 15.0, "2025-08-07", "2026-02-20");
    let mut japan_autos =
        measure(Authority::Section232, &["JPN"], &["CARS"], Mode::Set, 15.0, "2025-09-16", "");
    japan_autos.excludes = vec![Authority::IeepaReciprocal.into()];
    Scenario { measures: vec![s232, baseline, floor, japan_autos], ..Default::default() }
}

fn rate(dataset: &Dataset, scenario: &Scenario, date: &str, exporter: &str, sector: &str) -> f64 {
    let prepared = PreparedScenario::new(dataset, scenario).unwrap();
    let date: Date = date.parse().unwrap();
    let (v, r, s) = (
        dataset.economy(exporter).unwrap(),
        dataset.economy("USA").unwrap(),
        dataset.sector(sector).unwrap(),
    );
    prepared.rates_at(date).rate_pct(s, v, r)
}

#[test]
fn japanese_car_pays_27_5_percent_on_2025_04_10() {
    let d = mini();
    assert_eq!(rate(&d, &japan_2025(), "2025-04-10", "JPN", "CARS"), 27.5);
}

#[test]
fn japanese_car_pays_15_percent_all_in_on_2025_09_16() {
    let d = mini();
    assert_eq!(rate(&d, &japan_2025(), "2025-09-16", "JPN", "CARS"), 15.0);
    // The day before the deal's auto rate, the Section 232 stack still applies.
    assert_eq!(rate(&d, &japan_2025(), "2025-09-15", "JPN", "CARS"), 27.5);
}

#[test]
fn japanese_good_with_mfn_above_the_floor_stays_at_mfn() {
    let d = mini();
    assert_eq!(rate(&d, &japan_2025(), "2025-09-16", "JPN", "SHOES"), 20.0);
    // Below the floor the duty tops up to 15%.
    assert_eq!(rate(&d, &japan_2025(), "2025-09-16", "JPN", "AGRI"), 15.0);
}

#[test]
fn section_232_keeps_the_reciprocal_rate_off_its_flows_only() {
    let d = mini();
    // Cars from Mexico: Section 232 excludes the 10% baseline.
    assert_eq!(rate(&d, &japan_2025(), "2025-04-10", "MEX", "CARS"), 25.0);
    // Shoes from Japan: no Section 232, so the baseline stacks on MFN.
    assert_eq!(rate(&d, &japan_2025(), "2025-04-10", "JPN", "SHOES"), 30.0);
    // Before any measure, the base rate.
    assert_eq!(rate(&d, &japan_2025(), "2025-03-01", "JPN", "CARS"), 2.5);
}

#[test]
fn except_exporters_and_groups_select_partners() {
    let d = mini();
    let mut m = measure(Authority::Section122, &["G7", "CPTPP"], &["*"], Mode::Add, 10.0, "", "");
    m.except_exporters = vec!["MEX".into()];
    let s = Scenario { measures: vec![m], ..Default::default() };
    assert_eq!(rate(&d, &s, "2026-03-01", "JPN", "AGRI"), 14.0);
    assert_eq!(rate(&d, &s, "2026-03-01", "MEX", "AGRI"), 0.0);
}

#[test]
fn measures_apply_in_list_order() {
    let d = mini();
    let set = measure(Authority::Other, &["JPN"], &["CARS"], Mode::Set, 5.0, "", "");
    let add = measure(Authority::Other, &["JPN"], &["CARS"], Mode::Add, 1.0, "", "");
    let forward = Scenario { measures: vec![set.clone(), add.clone()], ..Default::default() };
    let backward = Scenario { measures: vec![add, set], ..Default::default() };
    assert_eq!(rate(&d, &forward, "2024-01-01", "JPN", "CARS"), 6.0);
    assert_eq!(rate(&d, &backward, "2024-01-01", "JPN", "CARS"), 5.0);
}

#[test]
fn agreements_apply_staged_rates_and_can_be_suspended() {
    let d = mini();
    let japan = |scenario: &Scenario, date: &str| {
        let prepared = PreparedScenario::new(&d, scenario).unwrap();
        let (usa, jpn, agri) =
            (d.economy("USA").unwrap(), d.economy("JPN").unwrap(), d.sector("AGRI").unwrap());
        prepared.rates_at(date.parse().unwrap()).rate_pct(agri, usa, jpn)
    };
    let none = Scenario::default();
    assert_eq!(japan(&none, "2023-12-31"), 9.0);
    assert_eq!(japan(&none, "2026-04-01"), 7.0, "the next USJTA stage");
    let suspend = Scenario {
        agreements: vec![AgreementChange {
            agreement: "USJTA".into(),
            action: Action::Suspend.into(),
            effective_from: "2025-01-01".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(japan(&suspend, "2024-06-01"), 9.0);
    assert_eq!(japan(&suspend, "2025-06-01"), 15.0, "back to Japan's MFN rate");
}

#[test]
fn the_auto_annex_applies_only_when_the_scenario_asks() {
    let d = mini();
    assert_eq!(rate(&d, &Scenario::default(), "2024-01-01", "JPN", "CARS"), 2.5);
    let annex = Scenario {
        agreements: vec![AgreementChange {
            agreement: "USJTA-AUTO-ANNEX".into(),
            action: Action::Apply.into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(rate(&d, &annex, "2024-01-01", "JPN", "CARS"), 0.0);
}

#[test]
fn base_rates_are_the_most_specific_rows() {
    let d = mini();
    let prepared = PreparedScenario::new(&d, &Scenario::default()).unwrap();
    let base = prepared.base_rates();
    let (usa, jpn, mex, cars) = (
        d.economy("USA").unwrap(),
        d.economy("JPN").unwrap(),
        d.economy("MEX").unwrap(),
        d.sector("CARS").unwrap(),
    );
    assert_eq!(base.rate_pct(cars, jpn, usa), 2.5);
    assert_eq!(base.rate_pct(cars, mex, usa), 0.0);
    assert_eq!(base.rate_pct(cars, usa, usa), 0.0);
    // With no scenario, the rates at the end of the base year are the base rates.
    assert_eq!(prepared.rates_at("2023-12-31".parse().unwrap()), base);
}
