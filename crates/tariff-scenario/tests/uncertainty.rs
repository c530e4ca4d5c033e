//! Uncertainty over the elasticities: bands that collapse to the point estimate
//! with zero spread, the same bytes for a seed whatever the threads or chunks,
//! cancellation between draws, a tornado that moves the right way, and
//! refusals that name the field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    ops::ControlFlow,
    time::{Duration, Instant},
};

use prost::Message;
use tariff_proto::v1::{
    self as pb, ElasticityParameter, ElasticityRange, Figure, Scenario, Uncertainty,
    uncertainty::Distribution,
};
use tariff_scenario::{
    DRAWS_STAGE, EvaluateError, EvaluateOptions, FIGURES, MergeError, PreparedScenario, ScenarioFormat,
    ScenarioLimits, band_of, figure_of, figure_of_impact, merge_draws, parse_scenario, prepare_builtin,
    prepare_builtin_with,
};

/// The Section 232 autos scenario on the built-in dataset, with `uncertainty`.
fn autos(uncertainty: Uncertainty) -> Scenario {
    let text = include_str!("../../../scenarios/section-232-autos-2025.json");
    let mut scenario = parse_scenario(text, ScenarioFormat::Json).unwrap();
    scenario.uncertainty = Some(uncertainty);
    scenario
}

fn draws(n: u32, seed: u64) -> Uncertainty {
    Uncertainty { draws: n, seed, ..Default::default() }
}

fn prepared(scenario: &Scenario) -> PreparedScenario<'static> {
    prepare_builtin(scenario).unwrap()
}

fn quiet(_: &tariff_scenario::Progress) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

fn evaluate(scenario: &Scenario, threads: usize) -> pb::ScenarioResult {
    prepared(scenario).evaluate_with(&EvaluateOptions { threads, ..Default::default() }, &mut quiet).unwrap()
}

fn bits(x: f64) -> u64 {
    x.to_bits()
}

/// Every figure's band of every economy and date, with the point estimate.
fn all_bands(r: &pb::ScenarioResult) -> Vec<(pb::Band, f64)> {
    let mut out = Vec::new();
    for impact in &r.impacts {
        assert_eq!(impact.bands.len(), impact.economies.len());
        for (b, e) in impact.bands.iter().zip(&impact.economies) {
            assert_eq!(b.economy, e.economy);
            for f in FIGURES {
                out.push((band_of(b, f).unwrap(), figure_of_impact(e, f).unwrap()));
            }
        }
    }
    out
}

#[test]
fn zero_spread_collapses_every_band_and_tornado_row_to_the_point_estimate_exactly() {
    zero_spread_collapses(autos);
}

/// With supply chains too: each draw's coupled solve takes the point
/// estimate's passes (every sector at every date, as the point estimate solves them).
#[test]
fn zero_spread_collapses_to_the_point_estimate_with_input_costs() {
    zero_spread_collapses(|u| {
        let text = include_str!("../../../scenarios/section-232-supply-chains.json");
        Scenario { uncertainty: Some(u), ..parse_scenario(text, ScenarioFormat::Json).unwrap() }
    });
}

/// Input costs move the bands: the draws are coupled solves, not the uncoupled ones.
#[test]
fn draws_with_input_costs_are_coupled_solves() {
    let text = include_str!("../../../scenarios/section-232-supply-chains.json");
    let coupled =
        Scenario { uncertainty: Some(draws(40, 3)), ..parse_scenario(text, ScenarioFormat::Json).unwrap() };
    let plain = Scenario { input_costs: false, ..coupled.clone() };
    let (with, without) = (evaluate(&coupled, 2), evaluate(&plain, 2));
    let us_welfare = |r: &pb::ScenarioResult| {
        let band = r.impacts[0].bands.iter().find(|b| b.economy == "USA").unwrap();
        band_of(band, Figure::WelfareChange).unwrap()
    };
    let (a, b) = (us_welfare(&with), us_welfare(&without));
    assert!(a.p5 <= a.p50 && a.p50 <= a.p95 && a.p5 < a.p95, "{a:?}");
    assert!((a.p50 - b.p50).abs() > 1.0, "{a:?} against {b:?}");
    // And the point estimate sits inside its band.
    let point = with.impacts[0].economies.iter().find(|e| e.economy == "USA").unwrap().welfare_change;
    assert!(a.p5 <= point && point <= a.p95, "{point} outside {a:?}");
}

fn zero_spread_collapses(scenario_of: impl Fn(Uncertainty) -> Scenario) {
    for distribution in [Distribution::Triangular, Distribution::LogNormal, Distribution::Uniform] {
        let u = Uncertainty {
            draws: 64,
            seed: 9,
            spread: Some(0.0),
            distribution: distribution.into(),
            sensitivity: true,
            ..Default::default()
        };
        let mut scenario = scenario_of(u);
        // Two dates: the second reuses unchanged sectors, as the point estimate does.
        scenario.evaluate_at = vec!["2025-04-10".into(), "2025-05-03".into()];
        let r = evaluate(&scenario, 2);
        let bands = all_bands(&r);
        assert_eq!(bands.len(), 2 * 9 * FIGURES.len());
        for (band, point) in bands {
            for x in [band.p5, band.p50, band.p95, band.mean] {
                assert_eq!(bits(x), bits(point), "{distribution:?}: {band:?} vs {point}");
            }
        }
        for impact in &r.impacts {
            assert_eq!(impact.sensitivity.len(), 30);
            for row in &impact.sensitivity {
                for side in [&row.at_low, &row.at_high] {
                    for (f, e) in side.iter().zip(&impact.economies) {
                        for figure in FIGURES {
                            assert_eq!(
                                bits(figure_of(f, figure).unwrap()),
                                bits(figure_of_impact(e, figure).unwrap())
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_bytes_on_one_thread_or_four() {
    let scenario = autos(Uncertainty { sensitivity: true, ..draws(300, 42) });
    let one = evaluate(&scenario, 1).encode_to_vec();
    let four = evaluate(&scenario, 4).encode_to_vec();
    assert!(one == four, "1 and 4 threads differ");
}

#[test]
fn chunks_merged_in_any_order_give_the_bytes_of_one_run() {
    let scenario = autos(Uncertainty { chunk_draws: 70, ..draws(300, 7) });
    let p = prepared(&scenario);
    let whole = p.evaluate_with(&EvaluateOptions { threads: 1, ..Default::default() }, &mut quiet).unwrap();

    let ranges = p.draw_chunks();
    assert_eq!(ranges, [0..70, 70..140, 140..210, 210..280, 280..300]);
    let mut chunks: Vec<pb::DrawSamples> = ranges
        .into_iter()
        .map(|r| {
            p.draw_samples(r, &EvaluateOptions { threads: 2, ..Default::default() }, &mut quiet).unwrap()
        })
        .collect();
    // Shuffled: the merge puts them back in draw order.
    chunks.swap(0, 3);
    chunks.swap(1, 4);
    let point = p.point_estimate(&mut quiet).unwrap();
    let merged = merge_draws(point, chunks).unwrap();
    assert!(merged.encode_to_vec() == whole.encode_to_vec(), "chunked and whole differ");
}

#[test]
fn merging_refuses_gaps_overlaps_and_foreign_chunks() {
    let scenario = autos(draws(20, 3));
    let p = prepared(&scenario);
    let chunk = |r: std::ops::Range<u32>| p.draw_samples(r, &EvaluateOptions::default(), &mut quiet).unwrap();
    let point = p.point_estimate(&mut quiet).unwrap();
    let merge = |chunks: Vec<pb::DrawSamples>| merge_draws(point.clone(), chunks).unwrap_err();
    assert_eq!(merge(vec![chunk(0..10)]), MergeError::Missing { start: 10, end: 20 });
    assert_eq!(merge(vec![chunk(0..10), chunk(15..20)]), MergeError::Missing { start: 10, end: 15 });
    assert_eq!(merge(vec![chunk(0..12), chunk(10..20)]), MergeError::Overlap { draw: 10 });
    let mut foreign = chunk(10..20);
    foreign.seed = 4;
    assert!(matches!(merge(vec![chunk(0..10), foreign]), MergeError::Seed { first_draw: 10, .. }));
    let mut short = chunk(10..20);
    short.values.pop();
    assert!(matches!(merge(vec![chunk(0..10), short]), MergeError::Values { first_draw: 10, .. }));
    let mut other_dates = chunk(10..20);
    other_dates.dates = vec!["2026-01-01".into()];
    assert_eq!(merge(vec![chunk(0..10), other_dates]), MergeError::Layout { first_draw: 10, what: "dates" });
    assert!(matches!(
        p.draw_samples(15..25, &EvaluateOptions::default(), &mut quiet),
        Err(EvaluateError::DrawRange { start: 15, end: 25, draws: 20 })
    ));
    let without = p.point_estimate(&mut quiet).map(|mut r| {
        r.uncertainty = None;
        r
    });
    assert_eq!(merge_draws(without.unwrap(), vec![chunk(0..20)]).unwrap_err(), MergeError::NoDraws);
}

#[test]
fn different_seeds_give_different_bands_and_bands_are_ordered() {
    let a = evaluate(&autos(draws(200, 1)), 2);
    let b = evaluate(&autos(draws(200, 2)), 2);
    let (ba, bb) = (all_bands(&a), all_bands(&b));
    assert!(ba.iter().zip(&bb).any(|((x, _), (y, _))| x != y), "seeds 1 and 2 gave the same bands");
    for (band, _) in ba.iter().chain(&bb) {
        assert!(band.p5 <= band.p50 && band.p50 <= band.p95, "{band:?}");
        assert!(band.p5 <= band.mean && band.mean <= band.p95 || band.p5 == band.p95, "{band:?}");
    }
    // The figures the auto tariffs move most do spread: the US welfare change.
    let usa = &a.impacts[0].bands[0];
    let w = band_of(usa, Figure::WelfareChange).unwrap();
    assert!(w.p95 - w.p5 > 100.0, "{w:?}");
    let summary = a.uncertainty.unwrap();
    assert_eq!((summary.draws, summary.seed, summary.spread), (200, 1, 1.0));
    let cars = &summary.groups[0];
    assert_eq!((cars.sector.as_str(), cars.low, cars.value, cars.high), ("CARS", 5.6, 8.0, 13.3));
}

#[test]
fn draws_report_progress_and_stop_soon_after_a_cancel() {
    let p = prepared(&autos(draws(100_000, 5)));
    let started = Instant::now();
    let mut seen = Vec::new();
    let outcome =
        p.draw_samples(0..100_000, &EvaluateOptions { threads: 2, ..Default::default() }, &mut |progress| {
            assert_eq!(progress.stage, DRAWS_STAGE);
            assert_eq!(progress.total, 100_000);
            seen.push((started.elapsed(), progress.done));
            // Cancel once some draws are done.
            if progress.done > 0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        });
    let elapsed = started.elapsed();
    assert!(matches!(outcome, Err(EvaluateError::Cancelled)), "{outcome:?}");
    assert!(elapsed < Duration::from_secs(2), "cancelled after {elapsed:?}");
    assert!(seen.len() >= 2 && seen[0].1 == 0, "{seen:?}");
    assert!(seen.last().unwrap().1 < 100_000, "{seen:?}");
    // Reports come well within a second of each other.
    for pair in seen.windows(2) {
        assert!(pair[1].0 - pair[0].0 < Duration::from_millis(900), "{seen:?}");
    }

    // A cancel at the very first report stops before any real work.
    let started = Instant::now();
    let outcome = p.evaluate_with(&EvaluateOptions { threads: 1, ..Default::default() }, &mut |progress| {
        if progress.stage == DRAWS_STAGE { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    });
    assert!(matches!(outcome, Err(EvaluateError::Cancelled)));
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}

#[test]
fn draws_progress_ends_at_the_total() {
    let p = prepared(&autos(draws(50, 5)));
    let mut last = None;
    p.evaluate_with(&EvaluateOptions { threads: 2, ..Default::default() }, &mut |progress| {
        if progress.stage == DRAWS_STAGE {
            last = Some((progress.done, progress.total));
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(last, Some((50, 50)));
}

/// An economy's figure at a tornado row's low and high end.
fn tornado(
    r: &pb::ScenarioResult,
    sector: &str,
    parameter: ElasticityParameter,
    economy: &str,
    f: Figure,
) -> (f64, f64) {
    let row = r.impacts[0]
        .sensitivity
        .iter()
        .find(|row| {
            let g = row.group.as_ref().unwrap();
            g.sector == sector && g.parameter == i32::from(parameter)
        })
        .unwrap();
    let at = |side: &[pb::EconomyFigures]| {
        figure_of(side.iter().find(|e| e.economy == economy).unwrap(), f).unwrap()
    };
    (at(&row.at_low), at(&row.at_high))
}

#[test]
fn the_tornado_moves_the_way_economics_says() {
    let r = evaluate(&autos(Uncertainty { sensitivity: true, ..Default::default() }), 1);
    assert!(r.impacts[0].bands.is_empty(), "no draws, no bands");
    let point = |economy: &str, f: Figure| {
        figure_of_impact(r.impacts[0].economies.iter().find(|e| e.economy == economy).unwrap(), f).unwrap()
    };
    // Cars substitute more easily at the high end: Japan's exports (cars to the US, mostly) fall further.
    let (low, high) = tornado(&r, "CARS", ElasticityParameter::Substitution, "JPN", Figure::ExportsChange);
    let at_point = point("JPN", Figure::ExportsChange);
    assert!(
        high < at_point && at_point < low,
        "JPN exports change: low {low}, point {at_point}, high {high}"
    );
    // More substitution away from taxed cars: the US collects less tariff revenue at the high end.
    let (low, high) =
        tornado(&r, "CARS", ElasticityParameter::Substitution, "USA", Figure::TariffRevenueChange);
    assert!(high < low, "US tariff revenue change: low {low}, high {high}");
    // A sector the measures do not touch moves nothing.
    let (low, high) = tornado(&r, "PHARMA", ElasticityParameter::Substitution, "USA", Figure::WelfareChange);
    assert_eq!((low, high), (point("USA", Figure::WelfareChange), point("USA", Figure::WelfareChange)));
    let g = r.impacts[0].sensitivity[0].group.as_ref().unwrap();
    assert_eq!((g.sector.as_str(), g.low, g.high), ("CARS", 5.6, 13.3));
}

#[test]
fn scenario_ranges_replace_the_datasets_around_the_value_in_use() {
    let u = Uncertainty {
        sensitivity: true,
        ranges: vec![
            ElasticityRange {
                sector: "CARS".into(),
                parameter: ElasticityParameter::Substitution.into(),
                low: Some(6.0),
                high: Some(30.0),
                distribution: Distribution::LogNormal.into(),
            },
            ElasticityRange {
                sector: "*".into(),
                parameter: ElasticityParameter::Supply.into(),
                distribution: Distribution::Uniform.into(),
                ..Default::default()
            },
        ],
        ..draws(10, 1)
    };
    let r = evaluate(&autos(u), 1);
    let groups = r.uncertainty.unwrap().groups;
    let cars = &groups[0];
    assert_eq!((cars.low, cars.value, cars.high), (6.0, 8.0, 30.0));
    assert_eq!(cars.distribution, i32::from(Distribution::LogNormal));
    assert!(
        groups
            .iter()
            .filter(|g| g.parameter == i32::from(ElasticityParameter::Supply))
            .all(|g| g.distribution == i32::from(Distribution::Uniform))
    );
    // Import demand keeps the default range: half the value either side.
    let em = &groups[1];
    assert_eq!((em.low, em.value, em.high), (-1.875, -1.25, -0.625));
}

fn refusal(u: Uncertainty) -> Vec<(String, String)> {
    refusal_with(u, &ScenarioLimits::default())
}

fn refusal_with(u: Uncertainty, limits: &ScenarioLimits) -> Vec<(String, String)> {
    prepare_builtin_with(&autos(u), limits).unwrap_err().0.into_iter().map(|v| (v.field, v.reason)).collect()
}

fn fields(u: Uncertainty) -> Vec<String> {
    refusal(u).into_iter().map(|(f, _)| f).collect()
}

fn range(
    sector: &str,
    parameter: ElasticityParameter,
    low: Option<f64>,
    high: Option<f64>,
) -> ElasticityRange {
    ElasticityRange { sector: sector.into(), parameter: parameter.into(), low, high, distribution: 0 }
}

#[test]
fn refusals_name_the_field() {
    use ElasticityParameter::*;
    let got = refusal(draws(100_001, 1));
    assert_eq!(
        got,
        [("uncertainty.draws".to_owned(), "100001 draws; at most 100000 are allowed".to_owned())]
    );
    let limits = ScenarioLimits { max_draws: 10, ..ScenarioLimits::default() };
    assert_eq!(refusal_with(draws(11, 1), &limits)[0].0, "uncertainty.draws");
    // Samples: 100,000 draws at 3 dates over 9 economies, 12 figures each.
    let mut many_dates = autos(draws(100_000, 1));
    many_dates.evaluate_at = vec!["2025-04-10".into(), "2025-05-03".into(), "2025-06-01".into()];
    let got = prepare_builtin(&many_dates).unwrap_err().0;
    assert_eq!(got[0].field, "uncertainty.draws");
    assert!(got[0].reason.contains("keep 32400000 samples; at most 25000000"), "{got:?}");
    let got = refusal(Uncertainty { chunk_draws: 10, ..draws(20_000, 1) });
    assert_eq!(got[0].0, "uncertainty.chunk_draws");
    assert!(got[0].1.contains("at least 20"), "{got:?}");

    for spread in [-1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(fields(Uncertainty { spread: Some(spread), ..draws(10, 1) }), ["uncertainty.spread"]);
    }
    // Triangular ranges of half the value either side (import demand, supply) reach zero at spread 2.
    let got = refusal(Uncertainty { spread: Some(2.5), ..draws(10, 1) });
    assert_eq!(got[0].0, "uncertainty.spread");
    assert!(got[0].1.contains("CARS import-demand") && got[0].1.contains("under 2.000"), "{got:?}");
    assert!(prepare_builtin(&autos(Uncertainty { spread: Some(1.99), ..draws(10, 1) })).is_ok());
    assert!(
        prepare_builtin(&autos(Uncertainty {
            spread: Some(2.5),
            distribution: Distribution::LogNormal.into(),
            ..draws(10, 1)
        }))
        .is_ok()
    );
    assert_eq!(fields(Uncertainty { distribution: 9, ..draws(10, 1) }), ["uncertainty.distribution"]);

    let with = |r: ElasticityRange| Uncertainty { ranges: vec![r], ..draws(10, 1) };
    assert_eq!(
        fields(with(range("CARZ", Substitution, Some(6.0), Some(9.0)))),
        ["uncertainty.ranges[0].sector"]
    );
    assert_eq!(
        fields(with(range("CARS", Unspecified, Some(6.0), Some(9.0)))),
        ["uncertainty.ranges[0].parameter"]
    );
    let got = refusal(with(range("CARS", Substitution, Some(9.0), Some(12.0))));
    assert_eq!(got[0].0, "uncertainty.ranges[0]");
    assert!(got[0].1.contains("bracket the substitution elasticity in use, 8"), "{got:?}");
    assert_eq!(fields(with(range("CARS", Substitution, Some(9.0), Some(6.0)))), ["uncertainty.ranges[0]"]);
    assert_eq!(
        fields(with(range("CARS", Substitution, Some(-1.0), Some(9.0)))),
        ["uncertainty.ranges[0].low"]
    );
    assert_eq!(
        fields(with(range("CARS", ImportDemand, Some(-2.0), Some(0.5)))),
        ["uncertainty.ranges[0].high"]
    );
    assert_eq!(fields(with(range("CARS", Substitution, Some(6.0), None))), ["uncertainty.ranges[0].high"]);
    assert_eq!(
        fields(with(range("*", Substitution, Some(6.0), Some(9.0)))),
        ["uncertainty.ranges[0].sector"]
    );
    assert_eq!(fields(with(range("CARS", Substitution, None, None))), ["uncertainty.ranges[0]"]);
    let mut bad_distribution = range("CARS", Supply, None, None);
    bad_distribution.distribution = 7;
    assert_eq!(fields(with(bad_distribution)), ["uncertainty.ranges[0].distribution"]);
}

#[test]
fn ranges_follow_a_sector_wide_override_and_scale_per_economy_values() {
    // The scenario's own sector-wide value is what a range must bracket.
    let mut scenario = autos(Uncertainty {
        ranges: vec![range("CARS", ElasticityParameter::Substitution, Some(10.0), Some(30.0))],
        ..draws(10, 1)
    });
    assert!(prepare_builtin(&scenario).is_err());
    scenario.elasticity_overrides = vec![pb::ElasticityOverride {
        sector: "CARS".into(),
        substitution_elasticity: Some(20.0),
        ..Default::default()
    }];
    let p = prepared(&scenario);
    let r = p.evaluate_with(&EvaluateOptions { threads: 1, ..Default::default() }, &mut quiet).unwrap();
    let cars = &r.uncertainty.unwrap().groups[0];
    assert_eq!((cars.low, cars.value, cars.high), (10.0, 20.0, 30.0));
    // The dataset's range is relative: around an override of 4 it runs 4 x 5.6/8 to 4 x 13.3/8.
    let mut scenario = autos(draws(10, 1));
    scenario.elasticity_overrides = vec![pb::ElasticityOverride {
        sector: "CARS".into(),
        substitution_elasticity: Some(4.0),
        ..Default::default()
    }];
    let r = evaluate(&scenario, 1);
    let cars = &r.uncertainty.unwrap().groups[0];
    assert!((cars.low - 2.8).abs() < 1e-12 && (cars.high - 6.65).abs() < 1e-12, "{cars:?}");
}

#[test]
fn uncertainty_json_is_plain_to_write() {
    let text = r#"{"uncertainty": {"draws": 100, "seed": 2025, "distribution": "LOG_NORMAL", "spread": 0.5,
        "sensitivity": true, "chunk_draws": 50,
        "ranges": [{"sector": "CARS", "parameter": "SUBSTITUTION", "low": 6, "high": 30}]}}"#;
    let s = parse_scenario(text, ScenarioFormat::Json).unwrap();
    let u = s.uncertainty.unwrap();
    assert_eq!((u.draws, u.seed, u.spread, u.chunk_draws), (100, 2025, Some(0.5), 50));
    assert_eq!(u.ranges[0].low, Some(6.0));
    let toml = "[uncertainty]\ndraws = 10\nseed = 3\nsensitivity = true\n";
    assert_eq!(parse_scenario(toml, ScenarioFormat::Toml).unwrap().uncertainty.unwrap().seed, 3);
}
