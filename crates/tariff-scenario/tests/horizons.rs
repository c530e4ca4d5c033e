//! A scenario's horizon, market structure and exchange rates on the built-in
//! dataset: checked field by field, and moving the figures the way the model says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tariff_proto::v1::{self as pb, Authority, Measure, measure::Mode};
use tariff_scenario::{PreparedScenario, dataset::builtin, run};

fn cars_tariff() -> pb::Scenario {
    pb::Scenario {
        measures: vec![Measure {
            authority: Authority::Section232.into(),
            importer: "USA".into(),
            exporters: vec!["*".into()],
            except_exporters: vec!["USMCA".into()],
            sectors: vec!["CARS".into()],
            mode: Mode::Add.into(),
            rate_pct: 25.0,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn flow<'a>(
    result: &'a pb::ScenarioResult,
    sector: &str,
    exporter: &str,
    importer: &str,
) -> &'a pb::FlowImpact {
    let s = result.impacts[0].sectors.iter().find(|s| s.sector == sector).unwrap();
    s.flows.iter().find(|f| f.exporter == exporter && f.importer == importer).unwrap()
}

fn refused(scenario: &pb::Scenario) -> Vec<(String, String)> {
    let dataset = builtin("jpus-2023").unwrap().unwrap();
    let err = PreparedScenario::new(dataset, scenario).expect_err("refused");
    err.0.into_iter().map(|v| (v.field, v.reason)).collect()
}

#[test]
fn an_unknown_horizon_is_refused_never_replaced() {
    let scenario = pb::Scenario { horizon: "medium_run".into(), ..cars_tariff() };
    let problems = refused(&scenario);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, "horizon");
    assert!(problems[0].1.contains("no horizon `medium_run` (it has long_run, short_run)"), "{problems:?}");
}

#[test]
fn every_bad_field_is_named() {
    let scenario = pb::Scenario {
        market_structure: vec![
            pb::MarketStructureOverride {
                sector: "CARZ".into(),
                structure: pb::MarketStructure::Segmented.into(),
            },
            pb::MarketStructureOverride { sector: "*".into(), structure: 0 },
        ],
        exchange_rates: vec![
            pb::ExchangeRate { economy: "JPX".into(), change_pct: 5.0 },
            pb::ExchangeRate { economy: "JPN".into(), change_pct: -100.0 },
            pb::ExchangeRate { economy: "KOR".into(), change_pct: 2.0 },
            pb::ExchangeRate { economy: "KOR".into(), change_pct: f64::NAN },
        ],
        ..cars_tariff()
    };
    let fields: Vec<String> = refused(&scenario).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        [
            "market_structure[0].sector",
            "market_structure[1].structure",
            "exchange_rates[0].economy",
            "exchange_rates[1].change_pct",
            "exchange_rates[3].economy",
            "exchange_rates[3].change_pct",
        ]
    );
}

/// In the short run (segmented cars, inelastic Japanese supply) Japanese makers
/// absorb most of the tariff: the fob price falls far more and the volume far
/// less than in the long run.
#[test]
fn the_short_run_absorbs_the_tariff() {
    let dataset = builtin("jpus-2023").unwrap().unwrap();
    let long = run(dataset, &cars_tariff()).unwrap();
    let short = run(dataset, &pb::Scenario { horizon: "short_run".into(), ..cars_tariff() }).unwrap();
    assert_eq!(long.horizon, "long_run");
    assert_eq!(short.horizon, "short_run");
    let (l, s) = (flow(&long, "CARS", "JPN", "USA"), flow(&short, "CARS", "JPN", "USA"));
    assert!(s.fob_price_change_pct < 3.0 * l.fob_price_change_pct, "{s:?} vs {l:?}");
    assert!(s.volume_change_pct > 0.25 * l.volume_change_pct, "{s:?} vs {l:?}");
    assert!(s.value.unwrap().change_pct > l.value.unwrap().change_pct);
    // Delivered = fob x tariff factor (2.5% -> 27.5%).
    let delivered = (1.0 + s.fob_price_change_pct / 100.0) * 1.275 / 1.025;
    assert!((1.0 + s.delivered_price_change_pct / 100.0 - delivered).abs() < 1e-12);
    // Segmented: Japan's car price to the EU does not follow its price to the US.
    assert_eq!(flow(&short, "CARS", "JPN", "EU").fob_price_change_pct, 0.0);
    let cars = short.impacts[0].sectors.iter().find(|s| s.sector == "CARS").unwrap();
    assert_eq!(cars.market_structure, pb::MarketStructure::Segmented as i32);
    // A scenario can put the sector back to one price per exporter.
    let integrated = run(
        dataset,
        &pb::Scenario {
            horizon: "short_run".into(),
            market_structure: vec![pb::MarketStructureOverride {
                sector: "*".into(),
                structure: pb::MarketStructure::Integrated.into(),
            }],
            ..cars_tariff()
        },
    )
    .unwrap();
    let f = flow(&integrated, "CARS", "JPN", "EU");
    assert_eq!(f.fob_price_change_pct, flow(&integrated, "CARS", "JPN", "USA").fob_price_change_pct);
    assert!(f.fob_price_change_pct < 0.0);
}

/// Every currency up 10% against the dataset's: no real figure moves, and
/// values in the dataset currency rise 10%.
#[test]
fn a_uniform_appreciation_changes_no_real_figure() {
    let dataset = builtin("jpus-2023").unwrap().unwrap();
    for horizon in ["long_run", "short_run"] {
        let plain = run(dataset, &pb::Scenario { horizon: horizon.into(), ..cars_tariff() }).unwrap();
        let moved = pb::Scenario {
            horizon: horizon.into(),
            exchange_rates: dataset
                .economies
                .iter()
                .map(|e| pb::ExchangeRate { economy: e.code.clone(), change_pct: 10.0 })
                .collect(),
            ..cars_tariff()
        };
        let moved = run(dataset, &moved).unwrap();
        assert_eq!(moved.exchange_rates.len(), dataset.economies.len());
        for (a, b) in plain.impacts[0].economies.iter().zip(&moved.impacts[0].economies) {
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * (1.0 + x.abs());
            assert!(close(a.welfare_change, b.welfare_change), "{horizon} {}: {a:?} vs {b:?}", a.economy);
            assert!(close(a.export_volume_change_pct, b.export_volume_change_pct));
            let (x, y) = (a.exports.unwrap().after, b.exports.unwrap().after);
            assert!(close(1.1 * x, y), "{horizon} {}: exports {x} vs {y}", a.economy);
        }
        let f = flow(&moved, "CARS", "JPN", "USA");
        let g = flow(&plain, "CARS", "JPN", "USA");
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * (1.0 + x.abs());
        assert!(close(f.value_exporter_currency.unwrap().after, g.value.unwrap().after));
        assert!(close(f.fob_price_change_exporter_currency_pct, g.fob_price_change_pct));
    }
}

/// The yen's rise alone (no tariff) lowers Japan's export volumes and its
/// exporters' yen prices, and raises their dollar prices.
#[test]
fn the_yen_rising_alone() {
    let dataset = builtin("jpus-2023").unwrap().unwrap();
    let scenario = pb::Scenario {
        horizon: "short_run".into(),
        exchange_rates: vec![pb::ExchangeRate { economy: "JPN".into(), change_pct: 9.26 }],
        ..Default::default()
    };
    let result = run(dataset, &scenario).unwrap();
    let f = flow(&result, "CARS", "JPN", "USA");
    assert!(f.volume_change_pct < 0.0 && f.fob_price_change_exporter_currency_pct < 0.0, "{f:?}");
    assert!(f.fob_price_change_pct > 0.0, "{f:?}");
    assert_eq!(f.tariff_after_pct, f.tariff_before_pct);
}
