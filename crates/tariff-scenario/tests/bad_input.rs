//! Whatever arrives, decoding and validation answer with a reason, never a panic:
//! arbitrary bytes, arbitrary JSON, and scenarios full of NaN, infinities,
//! negative and huge rates, unknown codes, empty lists, dates out of order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ops::ControlFlow;

use proptest::prelude::*;
use prost::Message;
use tariff_proto::v1::{
    AgreementChange, ElasticityOverride, ElasticityRange, Measure, Scenario, Uncertainty,
};
use tariff_scenario::{
    EvaluateError, ScenarioFormat, ScenarioLimits, parse_scenario, prepare_builtin, prepare_builtin_with,
};

/// Validation either accepts the scenario, and it then evaluates (or reports a
/// model error), or refuses it with at least one field and reason.
fn check(scenario: &Scenario) {
    // Arbitrary input may ask for up to the limit of draws: a few tell as much.
    let mut scenario = scenario.clone();
    if let Some(u) = scenario.uncertainty.as_mut() {
        u.draws = u.draws.min(3);
        u.chunk_draws = u.chunk_draws.min(3);
    }
    let scenario = &scenario;
    match prepare_builtin(scenario) {
        Ok(prepared) => match prepared.evaluate(&mut |_| ControlFlow::Continue(())) {
            Ok(result) => assert_eq!(result.impacts.len(), prepared.dates.len()),
            Err(
                EvaluateError::Model { .. }
                | EvaluateError::Perturbed { .. }
                | EvaluateError::Coupling { .. }
                | EvaluateError::Analysis { .. },
            ) => {}
            Err(EvaluateError::Cancelled) => panic!("nobody cancelled"),
            Err(e @ (EvaluateError::DrawRange { .. } | EvaluateError::Merge(_))) => panic!("{e}"),
        },
        Err(violations) => {
            assert!(!violations.0.is_empty());
            for v in &violations.0 {
                assert!(!v.field.is_empty() && !v.reason.is_empty(), "{v:?}");
            }
        }
    }
}

fn any_number() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(1e308),
        -1e6..1e6f64,
        0.0..60.0f64,
    ]
}

fn any_code() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "USA", "JPN", "CHN", "EU", "KOR", "MEX", "*", "CPTPP", "USMCA", "CARS", "AGRI", ""
        ])
        .prop_map(str::to_owned),
        "[A-Za-z*./\\-]{0,6}",
        ".{0,4}",
    ]
}

fn any_date() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        (2019..2030i32, 0..14u8, 0..33u8).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        ".{0,12}",
    ]
}

fn any_measure() -> impl Strategy<Value = Measure> {
    (
        (
            -1..10i32,
            any_code(),
            prop::collection::vec(any_code(), 0..4),
            prop::collection::vec(any_code(), 0..2),
        ),
        (
            prop::collection::vec(any_code(), 0..3),
            -1..5i32,
            any_number(),
            prop::collection::vec(-1..10i32, 0..3),
        ),
        (any_date(), any_date()),
    )
        .prop_map(
            |((authority, importer, exporters, except), (sectors, mode, rate_pct, excludes), (from, to))| {
                Measure {
                    authority,
                    importer,
                    exporters,
                    except_exporters: except,
                    sectors,
                    mode,
                    rate_pct,
                    excludes,
                    effective_from: from,
                    effective_to: to,
                    ..Default::default()
                }
            },
        )
}

fn any_scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec(any_measure(), 0..5),
        prop::collection::vec(any_date(), 0..4),
        prop::collection::vec(
            (any_code(), -1..4i32, any_date(), any_date()).prop_map(|(agreement, action, from, to)| {
                AgreementChange {
                    agreement,
                    action,
                    effective_from: from,
                    effective_to: to,
                    stage_rates: Vec::new(),
                }
            }),
            0..2,
        ),
        prop::collection::vec(
            (any_code(), any_code(), prop::option::of(any_number()), prop::option::of(any_number()))
                .prop_map(|(sector, economy, em, es)| ElasticityOverride {
                    sector,
                    economy,
                    import_demand_elasticity: em,
                    substitution_elasticity: es,
                    supply_elasticity: None,
                }),
            0..2,
        ),
        (-1..4i32, prop_oneof![Just(String::new()), Just("jpus-2023".to_owned()), ".{0,8}"]),
        prop::option::of(any_uncertainty()),
    )
        .prop_map(
            |(measures, evaluate_at, agreements, elasticity_overrides, (solver, dataset), uncertainty)| {
                Scenario {
                    measures,
                    evaluate_at,
                    agreements,
                    elasticity_overrides,
                    solver,
                    dataset,
                    uncertainty,
                    ..Default::default()
                }
            },
        )
}

fn any_uncertainty() -> impl Strategy<Value = Uncertainty> {
    (
        (0..4u32, any::<u64>(), -1..5i32, prop::option::of(any_number()), any::<bool>(), 0..3u32),
        prop::collection::vec(
            (any_code(), -1..5i32, prop::option::of(any_number()), prop::option::of(any_number()), -1..5i32)
                .prop_map(|(sector, parameter, low, high, distribution)| ElasticityRange {
                    sector,
                    parameter,
                    low,
                    high,
                    distribution,
                }),
            0..3,
        ),
    )
        .prop_map(|((draws, seed, distribution, spread, sensitivity, chunk_draws), ranges)| {
            Uncertainty { draws, seed, distribution, spread, ranges, sensitivity, chunk_draws }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_decode_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(scenario) = Scenario::decode(bytes.as_slice()) {
            check(&scenario);
        }
    }

    #[test]
    fn arbitrary_text_parses_or_fails_with_a_line(text in ".{0,200}") {
        for format in [ScenarioFormat::Json, ScenarioFormat::Toml] {
            if let Ok(scenario) = parse_scenario(&text, format) {
                check(&scenario);
            }
        }
    }

    #[test]
    fn arbitrary_scenarios_are_accepted_or_refused_with_reasons(scenario in any_scenario()) {
        check(&scenario);
        // The same scenario through the wire format gives the same answer.
        let again = Scenario::decode(scenario.encode_to_vec().as_slice()).unwrap();
        prop_assert_eq!(prepare_builtin(&again).is_ok(), prepare_builtin(&scenario).is_ok());
    }
}

#[test]
fn bad_values_are_named() {
    let mut scenario = Scenario {
        measures: vec![Measure {
            authority: 3,
            importer: "USA".into(),
            exporters: vec!["*".into()],
            sectors: vec!["*".into()],
            mode: 1,
            rate_pct: f64::NAN,
            ..Default::default()
        }],
        evaluate_at: vec!["2026-01-01".into(), "2025-01-01".into()],
        ..Default::default()
    };
    let fields = |s: &Scenario| -> Vec<String> {
        prepare_builtin(s).unwrap_err().0.into_iter().map(|v| v.field).collect()
    };
    assert_eq!(fields(&scenario), ["measures[0].rate_pct", "evaluate_at[1]"]);
    for rate in [f64::INFINITY, -1.0, 1e9] {
        scenario.measures[0].rate_pct = rate;
        assert!(fields(&scenario).contains(&"measures[0].rate_pct".to_owned()), "{rate}");
    }
}

#[test]
fn limits_are_named_and_checked_before_any_work() {
    let one = Measure {
        authority: 8,
        importer: "USA".into(),
        exporters: vec!["*".into()],
        sectors: vec!["*".into()],
        mode: 1,
        rate_pct: 1.0,
        ..Default::default()
    };
    let limits = ScenarioLimits { max_measures: 3, max_dates: 2, ..ScenarioLimits::default() };
    let big = Scenario {
        measures: vec![one.clone(); 4],
        evaluate_at: vec!["2025-01-01".into(), "2025-02-01".into(), "2025-03-01".into()],
        ..Default::default()
    };
    let err = prepare_builtin_with(&big, &limits).unwrap_err();
    let got: Vec<(&str, &str)> = err.0.iter().map(|v| (v.field.as_str(), v.reason.as_str())).collect();
    assert_eq!(
        got,
        [
            ("measures", "4 entries; at most 3 are allowed"),
            ("evaluate_at", "3 entries; at most 2 are allowed")
        ]
    );
    let fits =
        Scenario { measures: vec![one; 3], evaluate_at: vec!["2025-01-01".into()], ..Default::default() };
    assert!(prepare_builtin_with(&fits, &limits).is_ok());
    let long_name = Scenario { name: "x".repeat(300), ..Default::default() };
    assert_eq!(prepare_builtin(&long_name).unwrap_err().0[0].field, "name");
}
