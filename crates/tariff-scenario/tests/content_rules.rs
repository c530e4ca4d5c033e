//! Content rules (README, "Content rules"): a measure on the dutiable share of a
//! flow's value, a share per exporter, and offsets credited against the duty an
//! ADD measure adds. Each rate is checked by hand against the result's flow
//! tariffs on the built-in dataset; refusals name their field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tariff_proto::v1::{self as pb, Authority, ContentShare, DutyOffset, Measure, Scenario, measure::Mode};
use tariff_scenario::dataset::{Dataset, builtin};

fn jpus() -> &'static Dataset {
    builtin("jpus-2023").unwrap().unwrap()
}

fn measure(sectors: &[&str], exporters: &[&str], mode: Mode, rate_pct: f64) -> Measure {
    Measure {
        id: "m".into(),
        authority: Authority::Section232.into(),
        importer: "USA".into(),
        exporters: exporters.iter().map(|s| s.to_string()).collect(),
        sectors: sectors.iter().map(|s| s.to_string()).collect(),
        mode: mode.into(),
        rate_pct,
        ..Default::default()
    }
}

fn run(measures: Vec<Measure>) -> pb::ScenarioResult {
    tariff_scenario::run(jpus(), &Scenario { measures, ..Default::default() }).unwrap()
}

fn refusal(measures: Vec<Measure>) -> String {
    tariff_scenario::run(jpus(), &Scenario { measures, ..Default::default() }).unwrap_err().to_string()
}

fn sector<'a>(r: &'a pb::ScenarioResult, code: &str) -> &'a pb::SectorImpact {
    r.impacts[0].sectors.iter().find(|s| s.sector == code).unwrap()
}

fn flow<'a>(r: &'a pb::ScenarioResult, code: &str, exporter: &str) -> &'a pb::FlowImpact {
    sector(r, code).flows.iter().find(|f| f.exporter == exporter && f.importer == "USA").unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + b.abs())
}

#[test]
fn a_dutiable_share_applies_the_measure_to_that_share_of_the_value() {
    // ADD 25 on 60% of the value: +15 points; the exporters left out pay nothing more.
    let share =
        Measure { dutiable_share_pct: Some(60.0), ..measure(&["CARS"], &["MEX", "JPN"], Mode::Add, 25.0) };
    let r = run(vec![share]);
    for e in ["MEX", "JPN"] {
        let f = flow(&r, "CARS", e);
        assert!(close(f.tariff_after_pct, f.tariff_before_pct + 15.0), "{e}: {f:?}");
    }
    let kor = flow(&r, "CARS", "KOR");
    assert_eq!(kor.tariff_after_pct, kor.tariff_before_pct);
    // The same as a plain ADD of 15 points, figure for figure.
    let plain = run(vec![measure(&["CARS"], &["MEX", "JPN"], Mode::Add, 15.0)]);
    let (a, b) = (sector(&r, "CARS"), sector(&plain, "CARS"));
    for (x, y) in a.economies.iter().zip(&b.economies) {
        assert!(
            close(x.welfare_change, y.welfare_change),
            "{} {} {}",
            x.economy,
            x.welfare_change,
            y.welfare_change
        );
    }

    // SET 40 on half the value of Japan's cars (base 2.5): 0.5 x 40 + 0.5 x 2.5 = 21.25.
    let set = Measure { dutiable_share_pct: Some(50.0), ..measure(&["CARS"], &["JPN"], Mode::Set, 40.0) };
    let f = flow(&run(vec![set]), "CARS", "JPN").clone();
    assert!(close(f.tariff_before_pct, 2.5), "{f:?}");
    assert!(close(f.tariff_after_pct, 21.25), "{f:?}");
    // FLOOR 15 on 80%: 0.8 x max(2.5, 15) + 0.2 x 2.5 = 12.5.
    let floor = Measure { dutiable_share_pct: Some(80.0), ..measure(&["CARS"], &["JPN"], Mode::Floor, 15.0) };
    assert!(close(flow(&run(vec![floor]), "CARS", "JPN").tariff_after_pct, 12.5));
    // A share of 0 changes nothing, a share of 100 is the whole value.
    let none = Measure { dutiable_share_pct: Some(0.0), ..measure(&["CARS"], &["JPN"], Mode::Add, 25.0) };
    assert!(close(flow(&run(vec![none]), "CARS", "JPN").tariff_after_pct, 2.5));
    let all = Measure { dutiable_share_pct: Some(100.0), ..measure(&["CARS"], &["JPN"], Mode::Add, 25.0) };
    assert!(close(flow(&run(vec![all]), "CARS", "JPN").tariff_after_pct, 27.5));
}

#[test]
fn a_content_table_sets_the_share_per_exporter_and_a_later_entry_wins() {
    let m = Measure {
        dutiable_share_pct: Some(80.0),
        content: vec![
            ContentShare { exporter: "USMCA".into(), dutiable_share_pct: 50.0 },
            ContentShare { exporter: "CAN".into(), dutiable_share_pct: 40.0 },
        ],
        ..measure(&["CARS"], &["*"], Mode::Add, 25.0)
    };
    let r = run(vec![m]);
    // MEX through the group (0.5 x 25), CAN by name after it (0.4 x 25), the rest at 80% (0.8 x 25).
    for (e, added) in [("MEX", 12.5), ("CAN", 10.0), ("JPN", 20.0), ("KOR", 20.0), ("EU", 20.0)] {
        let f = flow(&r, "CARS", e);
        assert!(close(f.tariff_after_pct, f.tariff_before_pct + added), "{e}: {f:?}");
    }
}

/// The base-year output of `code` in the US (domestic shipments plus exports)
/// and the covered imports, both from the result's own `before` figures.
fn output_and_covered(r: &pb::ScenarioResult, exporters: &[&str]) -> (f64, f64) {
    let cars = sector(r, "CARS").economies.iter().find(|e| e.economy == "USA").unwrap();
    let output = cars.domestic_shipments.unwrap().before + cars.exports.unwrap().before;
    let parts = sector(r, "PARTS");
    let covered = parts
        .flows
        .iter()
        .filter(|f| f.importer == "USA" && exporters.contains(&f.exporter.as_str()))
        .map(|f| f.value.unwrap().before)
        .sum();
    (output, covered)
}

#[test]
fn an_offset_lowers_the_added_rate_by_the_credit_over_the_covered_value() {
    let exporters = ["JPN", "EU", "KOR", "CHN"];
    let offset = |pct: f64, from: &str, to: &str| DutyOffset {
        on_sectors: vec!["CARS".into()],
        percent_of_value: pct,
        effective_from: from.into(),
        effective_to: to.into(),
    };
    let m = Measure {
        offsets: vec![offset(3.75, "", "2026-05-01"), offset(2.5, "2026-05-01", "2027-05-01")],
        ..measure(&["PARTS"], &exporters, Mode::Add, 25.0)
    };
    let at = |date: &str| {
        let s = Scenario { measures: vec![m.clone()], evaluate_at: vec![date.into()], ..Default::default() };
        tariff_scenario::run(jpus(), &s).unwrap()
    };
    for (date, pct) in [("2025-06-01", 3.75), ("2026-06-01", 2.5), ("2027-06-01", 0.0)] {
        let r = at(date);
        let (output, covered) = output_and_covered(&r, &exporters);
        // Hand arithmetic: the credit is pct% of US car output, spread over the
        // covered parts imports as a cut of the added 25 points.
        let cut = 100.0 * (pct / 100.0 * output) / covered;
        assert!(cut > 0.0 || pct == 0.0);
        for e in exporters {
            let f = flow(&r, "PARTS", e);
            let want = f.tariff_before_pct + (25.0 - cut);
            assert!(
                (f.tariff_after_pct - want).abs() <= 1e-9,
                "{date} {e}: {} against {want}",
                f.tariff_after_pct
            );
        }
        // The duty credited is the credit itself: revenue at base-year flows falls by it.
        let credit: f64 = exporters
            .iter()
            .map(|e| {
                let f = flow(&r, "PARTS", e);
                (25.0 - (f.tariff_after_pct - f.tariff_before_pct)) / 100.0 * f.value.unwrap().before
            })
            .sum();
        assert!((credit - pct / 100.0 * output).abs() <= 1e-6 * (1.0 + output), "{date}: {credit}");
    }
    // A credit larger than the duty cuts the added rate to zero, never below.
    let big =
        Measure { offsets: vec![offset(100.0, "", "")], ..measure(&["PARTS"], &exporters, Mode::Add, 25.0) };
    let r = run(vec![big]);
    for e in exporters {
        let f = flow(&r, "PARTS", e);
        assert_eq!(f.tariff_after_pct, f.tariff_before_pct, "{e}");
    }
}

#[test]
fn an_offset_counts_the_covered_value_at_its_dutiable_share() {
    let exporters = ["MEX", "JPN"];
    let m = Measure {
        dutiable_share_pct: Some(50.0),
        offsets: vec![DutyOffset {
            on_sectors: vec!["CARS".into()],
            percent_of_value: 1.0,
            ..Default::default()
        }],
        ..measure(&["PARTS"], &exporters, Mode::Add, 25.0)
    };
    let r = run(vec![m]);
    let (output, covered) = output_and_covered(&r, &exporters);
    let cut = 100.0 * (0.01 * output) / (0.5 * covered);
    let added = 0.5 * (25.0 - cut).max(0.0);
    for e in exporters {
        let f = flow(&r, "PARTS", e);
        assert!(
            (f.tariff_after_pct - (f.tariff_before_pct + added)).abs() <= 1e-9,
            "{e}: {f:?} against +{added}"
        );
    }
}

#[test]
fn content_rules_are_refused_with_the_field_and_the_reason() {
    let cars = || measure(&["CARS"], &["JPN"], Mode::Add, 25.0);
    let cases: Vec<(Measure, &str)> = vec![
        (
            Measure { dutiable_share_pct: Some(120.0), ..cars() },
            "measures[0].dutiable_share_pct: 120 is not a percent",
        ),
        (Measure { dutiable_share_pct: Some(f64::NAN), ..cars() }, "measures[0].dutiable_share_pct"),
        (
            Measure {
                content: vec![ContentShare { exporter: "XXX".into(), dutiable_share_pct: 50.0 }],
                ..cars()
            },
            "measures[0].content[0].exporter: unknown economy or group `XXX`",
        ),
        (
            Measure {
                content: vec![ContentShare { exporter: "KOR".into(), dutiable_share_pct: 50.0 }],
                ..cars()
            },
            "measures[0].content[0].exporter: `KOR` is not among the exporters the measure covers",
        ),
        (
            Measure {
                content: vec![ContentShare { exporter: "JPN".into(), dutiable_share_pct: -1.0 }],
                ..cars()
            },
            "measures[0].content[0].dutiable_share_pct",
        ),
        (
            Measure {
                content: vec![ContentShare { exporter: "*".into(), dutiable_share_pct: 50.0 }],
                ..cars()
            },
            "measures[0].content[0].exporter: `*` is every exporter",
        ),
        (
            Measure {
                offsets: vec![DutyOffset {
                    on_sectors: vec!["CARS".into()],
                    percent_of_value: 3.0,
                    ..Default::default()
                }],
                ..measure(&["CARS"], &["JPN"], Mode::Set, 25.0)
            },
            "measures[0].offsets: an offset credits against the duty an ADD measure adds",
        ),
        (
            Measure {
                offsets: vec![DutyOffset {
                    on_sectors: vec!["VANS".into()],
                    percent_of_value: 3.0,
                    ..Default::default()
                }],
                ..cars()
            },
            "measures[0].offsets[0].on_sectors[0]: unknown sector `VANS`",
        ),
        (
            Measure { offsets: vec![DutyOffset { percent_of_value: 3.0, ..Default::default() }], ..cars() },
            "measures[0].offsets[0].on_sectors: list at least one sector",
        ),
        (
            Measure {
                offsets: vec![DutyOffset {
                    on_sectors: vec!["CARS".into()],
                    percent_of_value: 0.0,
                    ..Default::default()
                }],
                ..cars()
            },
            "measures[0].offsets[0].percent_of_value: 0 is not a percent above 0",
        ),
        (
            Measure {
                offsets: vec![
                    DutyOffset {
                        on_sectors: vec!["CARS".into()],
                        percent_of_value: 3.0,
                        effective_to: "2026-01-01".into(),
                        ..Default::default()
                    },
                    DutyOffset {
                        on_sectors: vec!["CARS".into()],
                        percent_of_value: 2.0,
                        effective_from: "2025-12-01".into(),
                        ..Default::default()
                    },
                ],
                ..cars()
            },
            "measures[0].offsets[1]: its dates overlap offsets[0]",
        ),
        (
            Measure {
                offsets: vec![DutyOffset {
                    on_sectors: vec!["CARS".into()],
                    percent_of_value: 3.0,
                    effective_from: "2025-13-01".into(),
                    ..Default::default()
                }],
                ..cars()
            },
            "measures[0].offsets[0].effective_from",
        ),
    ];
    for (m, want) in cases {
        let err = refusal(vec![m]);
        assert!(err.contains(want), "{want} in {err}");
    }
    // A TRQ counts whole flows.
    let trq = Measure {
        mode: Mode::Trq.into(),
        in_quota_rate_pct: 5.0,
        out_quota_rate_pct: 50.0,
        quota: 1000.0,
        dutiable_share_pct: Some(50.0),
        ..cars()
    };
    let err = refusal(vec![trq]);
    assert!(err.contains("measures[0].dutiable_share_pct: a TRQ applies to whole flows"), "{err}");
    // Every problem at once, not only the first.
    let both = Measure {
        dutiable_share_pct: Some(150.0),
        content: vec![ContentShare { exporter: "XXX".into(), dutiable_share_pct: 50.0 }],
        ..cars()
    };
    let err = refusal(vec![both]);
    assert!(err.contains("dutiable_share_pct") && err.contains("content[0].exporter"), "{err}");
}

#[test]
fn the_ready_section_232_scenario_keeps_usmca_cars_at_fifteen_points() {
    let text = include_str!("../../../scenarios/section-232-autos-2025.json");
    let scenario = tariff_scenario::parse_scenario(text, tariff_scenario::ScenarioFormat::Json).unwrap();
    let r = tariff_scenario::run(jpus(), &scenario).unwrap();
    let last = r.impacts.last().unwrap();
    let cars = last.sectors.iter().find(|s| s.sector == "CARS").unwrap();
    for (e, added) in [("MEX", 15.0), ("CAN", 15.0), ("JPN", 25.0)] {
        let f = cars.flows.iter().find(|f| f.exporter == e && f.importer == "USA").unwrap();
        assert!(close(f.tariff_after_pct, f.tariff_before_pct + added), "{e}: {f:?}");
    }
}
