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

/// Japan's rate on US agri-food on the built-in dataset (USJTA row; MFN 10%).
fn japan_on_us_agri(scenario: &Scenario, date: &str) -> f64 {
    let d = tariff_scenario::dataset::builtin("jpus-2023").unwrap().unwrap();
    let prepared = PreparedScenario::new(d, scenario).unwrap();
    let (v, r, s) = (d.economy("USA").unwrap(), d.economy("JPN").unwrap(), d.sector("AGRI").unwrap());
    prepared.rates_at(date.parse().unwrap()).rate_pct(s, v, r)
}

fn usjta_at(rate_pct: f64, stage_from: &str) -> Scenario {
    let change = AgreementChange {
        agreement: "USJTA".into(),
        action: Action::Apply.into(),
        stage_rates: vec![tariff_proto::v1::AgreementStageRate {
            importer: "JPN".into(),
            sector: "AGRI".into(),
            stage_from: stage_from.into(),
            rate_pct,
        }],
        ..Default::default()
    };
    Scenario { agreements: vec![change], ..Default::default() }
}

#[test]
fn a_stage_rate_replaces_the_schedule_and_the_mfn_rate_caps_it() {
    // The schedule: 5.41 in 2026 (agreements.toml), 5.59 in 2025.
    assert_eq!(japan_on_us_agri(&Scenario::default(), "2026-06-01"), 5.41);
    // Every stage at 3%.
    assert_eq!(japan_on_us_agri(&usjta_at(3.0, ""), "2026-06-01"), 3.0);
    assert_eq!(japan_on_us_agri(&usjta_at(3.0, ""), "2025-06-01"), 3.0);
    // Above MFN, the partner-wide 10% applies: a preference is never a penalty.
    assert_eq!(japan_on_us_agri(&usjta_at(12.0, ""), "2026-06-01"), 10.0);
    // One stage only: the others keep the schedule's rate.
    assert_eq!(japan_on_us_agri(&usjta_at(2.0, "2026-01-01"), "2026-06-01"), 2.0);
    assert_eq!(japan_on_us_agri(&usjta_at(2.0, "2026-01-01"), "2025-06-01"), 5.59);
}

#[test]
fn stage_rates_name_a_row_and_a_stage_the_schedule_has() {
    let d = tariff_scenario::dataset::builtin("jpus-2023").unwrap().unwrap();
    let mut bad = usjta_at(3.0, "2026-02-01");
    bad.agreements[0].stage_rates.push(tariff_proto::v1::AgreementStageRate {
        importer: "JPN".into(),
        sector: "CARS".into(),
        stage_from: String::new(),
        rate_pct: 1.0,
    });
    let err = PreparedScenario::new(d, &bad).unwrap_err().to_string();
    assert!(err.contains("agreements[0].stage_rates[0].stage_from: no stage of USJTA"), "{err}");
    assert!(err.contains("agreements[0].stage_rates[1]: USJTA has no schedule row for JPN on CARS"), "{err}");
    let mut suspend = usjta_at(3.0, "");
    suspend.agreements[0].action = Action::Suspend.into();
    let err = PreparedScenario::new(d, &suspend).unwrap_err().to_string();
    assert!(err.contains("only an APPLY change can set stage rates"), "{err}");
}
