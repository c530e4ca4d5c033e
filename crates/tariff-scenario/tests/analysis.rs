//! Analyses (docs/model.md, "Contributions of each measure" and "Search") on
//! the built-in dataset and on hand-made markets with known answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use tariff_proto::v1::{
    self as pb, Analysis, AnalysisResult, Authority, ContributionsSpec, FigureRef, GoalSeek, Lever, Measure,
    Optimization, Scenario, ScenarioResult, analysis::Kind, analysis_result, goal_seek::Goal, lever::Target,
    measure::Mode,
};
use tariff_scenario::{
    ScenarioFormat,
    dataset::{Dataset, builtin},
    figure_of_impact, parse_scenario, run,
};

fn jpus() -> &'static Dataset {
    builtin("jpus-2023").unwrap().unwrap()
}

fn ready(file: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(file);
    parse_scenario(&std::fs::read_to_string(&path).unwrap(), ScenarioFormat::Json).unwrap()
}

fn with(mut scenario: Scenario, kind: Kind) -> Scenario {
    scenario.uncertainty = None;
    scenario.analysis = Some(Box::new(Analysis { kind: Some(kind) }));
    scenario
}

fn contributions(result: &ScenarioResult) -> &pb::Contributions {
    match result.analysis.as_ref().and_then(|a| a.kind.as_ref()) {
        Some(analysis_result::Kind::Contributions(c)) => c,
        other => panic!("no contributions: {other:?}"),
    }
}

/// The headline figures of an `EconomyFigures`, in `FIGURES` order.
fn figures(f: &pb::EconomyFigures) -> Vec<f64> {
    tariff_scenario::FIGURES.iter().map(|&fig| tariff_scenario::figure_of(f, fig).unwrap()).collect()
}

/// Checks that every date's contributions add up to its total less its
/// baseline, to 1e-9 relative.
fn assert_adds_up(name: &str, c: &pb::Contributions) {
    for date in &c.dates {
        for (e, total) in date.total.iter().enumerate() {
            let total: Vec<f64> =
                figures(total).iter().zip(figures(&date.baseline[e])).map(|(t, b)| t - b).collect();
            let mut sum = vec![0.0; total.len()];
            for p in &date.players {
                for (s, v) in sum.iter_mut().zip(figures(&p.contribution[e])) {
                    *s += v;
                }
            }
            for (f, (s, t)) in sum.iter().zip(&total).enumerate() {
                // Relative to the largest contribution: a total near zero may be a sum of large parts.
                let scale =
                    date.players.iter().map(|p| figures(&p.contribution[e])[f].abs()).fold(t.abs(), f64::max);
                assert!(
                    (s - t).abs() <= 1e-9 * scale.max(1e-9),
                    "{name} {} {} figure {f}: {s} vs {t}",
                    date.date,
                    date.total[e].economy
                );
            }
        }
    }
}

#[test]
fn contributions_add_up_for_every_ready_scenario() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        // Few permutations where sampled: each one adds up on its own.
        let spec = ContributionsSpec { permutations: 8, seed: 7, ..Default::default() };
        let scenario = with(ready(&file), Kind::Contributions(spec));
        // Each on its own dataset (japan-rice-beef-trqs.json is on jpfarm-2023).
        let dataset =
            if scenario.dataset.is_empty() { jpus() } else { builtin(&scenario.dataset).unwrap().unwrap() };
        let result = run(dataset, &scenario).unwrap_or_else(|e| panic!("{file}: {e}"));
        let c = contributions(&result);
        assert_eq!(c.players.len(), scenario.measures.len() + scenario.agreements.len(), "{file}");
        assert_eq!(c.dates.len(), result.impacts.len());
        // The total is the scenario's own figures.
        for (date, impact) in c.dates.iter().zip(&result.impacts) {
            for (t, e) in date.total.iter().zip(&impact.economies) {
                for fig in tariff_scenario::FIGURES {
                    let own = figure_of_impact(e, fig).unwrap();
                    let total = tariff_scenario::figure_of(t, fig).unwrap();
                    assert_eq!(total, own, "{file} {} {fig:?}", date.date);
                }
            }
        }
        assert_adds_up(&file, c);
        seen += 1;
    }
    assert!(seen >= 10, "{seen} ready scenarios");
}

fn measure(id: &str, exporters: &[&str], sectors: &[&str], mode: Mode, rate: f64) -> Measure {
    Measure {
        id: id.into(),
        authority: Authority::Other.into(),
        importer: "USA".into(),
        exporters: exporters.iter().map(|s| s.to_string()).collect(),
        sectors: sectors.iter().map(|s| s.to_string()).collect(),
        mode: mode.into(),
        rate_pct: rate,
        ..Default::default()
    }
}

fn player(c: &pb::Contributions, date: usize, i: usize) -> &[pb::EconomyFigures] {
    &c.dates[date].players[i].contribution
}

#[test]
fn a_measure_that_changes_nothing_contributes_exactly_zero() {
    let scenario = Scenario {
        measures: vec![
            measure("cars", &["JPN"], &["CARS"], Mode::Add, 25.0),
            // Adds nothing to any rate.
            measure("nothing", &["JPN"], &["CARS"], Mode::Add, 0.0),
            measure("steel", &["*"], &["METALS"], Mode::Set, 50.0),
        ],
        ..Default::default()
    };
    let result = run(jpus(), &with(scenario, Kind::Contributions(ContributionsSpec::default()))).unwrap();
    let c = contributions(&result);
    assert!(c.exact);
    for e in player(c, 0, 1) {
        assert!(figures(e).iter().all(|v| *v == 0.0), "{e:?}");
    }
    assert!(player(c, 0, 0).iter().any(|e| e.welfare_change != 0.0));
    assert_adds_up("null", c);
}

#[test]
fn identical_measures_contribute_the_same_and_order_swaps_nothing() {
    let a = measure("a", &["JPN"], &["CARS"], Mode::Add, 10.0);
    let b = measure("b", &["JPN"], &["CARS"], Mode::Add, 10.0);
    let m = measure("m", &["*"], &["MACH"], Mode::Add, 15.0);
    let spec = Kind::Contributions(ContributionsSpec::default());
    let one = run(
        jpus(),
        &with(
            Scenario { measures: vec![a.clone(), b.clone(), m.clone()], ..Default::default() },
            spec.clone(),
        ),
    )
    .unwrap();
    let two = run(jpus(), &with(Scenario { measures: vec![m, b, a], ..Default::default() }, spec)).unwrap();
    let (one, two) = (contributions(&one), contributions(&two));
    let close = |x: &[pb::EconomyFigures], y: &[pb::EconomyFigures]| {
        x.iter().zip(y).all(|(p, q)| {
            figures(p).iter().zip(figures(q)).all(|(u, v)| (u - v).abs() <= 1e-9 * u.abs().max(1e-9))
        })
    };
    // a and b are interchangeable: the same contribution.
    assert!(close(player(one, 0, 0), player(one, 0, 1)));
    // Reordering the list moves each measure's contribution with it.
    assert!(close(player(one, 0, 0), player(two, 0, 2)));
    assert!(close(player(one, 0, 2), player(two, 0, 0)));
}

#[test]
fn sampled_contributions_report_standard_errors_and_add_up() {
    let measures: Vec<Measure> =
        ["CARS", "TRUCKS", "PARTS", "MACH", "ELEC", "INSTR", "PHARMA", "METALS", "AGRI", "OTHER", "CARS"]
            .iter()
            .enumerate()
            .map(|(i, s)| measure(&format!("m{i}"), &["*"], &[s], Mode::Add, 5.0 + i as f64))
            .collect();
    let spec = ContributionsSpec { permutations: 30, seed: 42, ..Default::default() };
    let scenario = with(Scenario { measures, ..Default::default() }, Kind::Contributions(spec));
    let result = run(jpus(), &scenario).unwrap();
    let c = contributions(&result);
    assert!(!c.exact);
    assert_eq!((c.permutations, c.seed), (30, 42));
    assert_adds_up("sampled", c);
    let se = &c.dates[0].players[0].standard_error;
    assert_eq!(se.len(), jpus().economies.len());
    assert!(se.iter().all(|e| e.welfare_change.is_finite() && e.welfare_change >= 0.0));
    // The same seed, the same bytes.
    let again = run(jpus(), &scenario).unwrap();
    assert_eq!(result, again);
}

fn seek_result(result: &ScenarioResult) -> &pb::SeekResult {
    match result.analysis.as_ref().and_then(|a| a.kind.as_ref()) {
        Some(analysis_result::Kind::Seek(s)) => s,
        other => panic!("no seek: {other:?}"),
    }
}

fn figure(figure: pb::Figure, economy: &str) -> FigureRef {
    FigureRef { figure: figure.as_str_name().into(), economy: economy.into(), ..Default::default() }
}

/// Seeks, then checks that the lever found, written into the scenario by
/// hand and run plainly, gives the target within the tolerance.
fn seek_and_check(
    scenario: Scenario,
    seek: GoalSeek,
    put_back: impl Fn(&mut Scenario, f64),
) -> pb::SeekResult {
    let target = seek.target.clone().unwrap();
    let result = run(jpus(), &with(scenario.clone(), Kind::Seek(Box::new(seek)))).unwrap();
    let s = seek_result(&result).clone();
    assert_eq!(s.status(), pb::SearchStatus::Converged, "{s:?}");
    let mut plain = scenario;
    put_back(&mut plain, s.lever_value);
    let plain = run(jpus(), &plain).unwrap();
    let impact = plain.impacts.last().unwrap();
    let e = if target.sector.is_empty() {
        impact.economies.iter().find(|e| e.economy == target.economy).unwrap()
    } else {
        let sector = impact.sectors.iter().find(|x| x.sector == target.sector).unwrap();
        sector.economies.iter().find(|e| e.economy == target.economy).unwrap()
    };
    let value = figure_of_impact(e, pb::Figure::from_str_name(&target.figure).unwrap()).unwrap();
    assert!((value - s.goal).abs() <= s.tolerance, "{value} vs goal {} (tolerance {})", s.goal, s.tolerance);
    assert!((value - s.figure).abs() <= 1e-9 * value.abs().max(1.0));
    // The result's own impact is the scenario at the lever found.
    assert_eq!(result.impacts.last().unwrap().economies, impact.economies);
    s
}

fn cars(rate: f64) -> Scenario {
    Scenario { measures: vec![measure("cars", &["JPN"], &["CARS"], Mode::Set, rate)], ..Default::default() }
}

#[test]
fn goal_seek_on_a_measure_rate() {
    let lever = Lever { target: Some(Target::MeasureRate("cars".into())), low: 0.0, high: 50.0, step: 0.0 };
    let seek = GoalSeek {
        lever: Some(lever),
        target: Some(figure(pb::Figure::WelfareChange, "JPN")),
        goal: Some(Goal::Value(-2000.0)),
        ..Default::default()
    };
    let s = seek_and_check(cars(10.0), seek, |sc, v| sc.measures[0].rate_pct = v);
    assert!(s.lever_value > 0.0 && s.lever_value < 50.0);
    assert!(s.path.len() < 30, "{} runs", s.path.len());
}

#[test]
fn goal_seek_on_an_agreement_stage_rate() {
    // Japan's farm tariff on US goods under USJTA such that US farm exports to Japan rise 1,000.
    let lever = Lever {
        target: Some(Target::AgreementStage(pb::AgreementStageLever {
            agreement: "USJTA".into(),
            importer: "JPN".into(),
            sector: "AGRI".into(),
            stage_from: String::new(),
        })),
        low: 0.0,
        high: 5.0,
        step: 0.0,
    };
    let mut target = figure(pb::Figure::ExportsChange, "USA");
    target.sector = "AGRI".into();
    let base = Scenario { evaluate_at: vec!["2026-06-01".into()], ..cars(15.0) };
    let seek = GoalSeek {
        lever: Some(lever),
        target: Some(target),
        goal: Some(Goal::Value(1000.0)),
        ..Default::default()
    };
    seek_and_check(base, seek, |sc, v| {
        sc.agreements.push(pb::AgreementChange {
            agreement: "USJTA".into(),
            action: pb::agreement_change::Action::Apply.into(),
            stage_rates: vec![pb::AgreementStageRate {
                importer: "JPN".into(),
                sector: "AGRI".into(),
                stage_from: String::new(),
                rate_pct: v,
            }],
            ..Default::default()
        })
    });
}

#[test]
fn goal_seek_on_an_exchange_rate_and_on_an_elasticity() {
    let yen = Lever { target: Some(Target::ExchangeRate("JPN".into())), low: -30.0, high: 30.0, step: 0.0 };
    let mut target = figure(pb::Figure::ExportsChange, "JPN");
    target.sector = "CARS".into();
    let seek = GoalSeek {
        lever: Some(yen),
        target: Some(target.clone()),
        goal: Some(Goal::Value(-5000.0)),
        ..Default::default()
    };
    seek_and_check(cars(25.0), seek, |sc, v| {
        sc.exchange_rates.push(pb::ExchangeRate { economy: "JPN".into(), change_pct: v })
    });

    let supply = Lever {
        target: Some(Target::Elasticity(pb::ElasticityLever {
            sector: "CARS".into(),
            economy: "JPN".into(),
            parameter: pb::ElasticityParameter::Supply.into(),
        })),
        low: 0.5,
        high: 20.0,
        step: 0.0,
    };
    let seek = GoalSeek {
        lever: Some(supply),
        target: Some(target),
        goal: Some(Goal::Value(-15000.0)),
        ..Default::default()
    };
    seek_and_check(cars(25.0), seek, |sc, v| {
        sc.elasticity_overrides.push(pb::ElasticityOverride {
            sector: "CARS".into(),
            economy: "JPN".into(),
            supply_elasticity: Some(v),
            ..Default::default()
        })
    });
}

#[test]
fn goal_seek_to_another_economy_and_to_another_scenario() {
    // Japan's car exports fall as much as Korea's (both move with the lever).
    let lever =
        Lever { target: Some(Target::MeasureRate("measures[0]".into())), low: 0.0, high: 100.0, step: 0.0 };
    let base = Scenario {
        measures: vec![
            measure("jp", &["JPN"], &["CARS"], Mode::Set, 15.0),
            measure("kr", &["KOR"], &["CARS"], Mode::Set, 25.0),
        ],
        ..Default::default()
    };
    let mut target = figure(pb::Figure::ExportsChangePct, "JPN");
    target.sector = "CARS".into();
    let seek = GoalSeek {
        lever: Some(lever.clone()),
        target: Some(target),
        goal: Some(Goal::Economy("KOR".into())),
        ..Default::default()
    };
    let result = run(jpus(), &with(base.clone(), Kind::Seek(Box::new(seek)))).unwrap();
    let s = seek_result(&result);
    assert_eq!(s.status(), pb::SearchStatus::Converged, "{s:?}");
    assert!((s.figure - s.goal).abs() <= s.tolerance);

    // Japan's welfare as in the annex scenario.
    let annex = ready("usjta-auto-annex.json");
    let seek = GoalSeek {
        lever: Some(lever),
        target: Some(figure(pb::Figure::WelfareChange, "JPN")),
        goal: Some(Goal::Scenario(Box::new(annex))),
        ..Default::default()
    };
    let result = run(jpus(), &with(base, Kind::Seek(Box::new(seek)))).unwrap();
    let s = seek_result(&result);
    // The annex helps Japan; no US tariff on its cars does better than zero, so the
    // answer is reported as unreachable or found near zero.
    assert!(matches!(s.status(), pb::SearchStatus::Converged | pb::SearchStatus::Unreachable), "{s:?}");
}

#[test]
fn a_goal_out_of_reach_is_reported_with_the_side_it_stays_on() {
    let lever = Lever { target: Some(Target::MeasureRate("cars".into())), low: 0.0, high: 50.0, step: 0.0 };
    let seek = GoalSeek {
        lever: Some(lever),
        target: Some(figure(pb::Figure::WelfareChange, "JPN")),
        goal: Some(Goal::Value(1e9)),
        ..Default::default()
    };
    let result = run(jpus(), &with(cars(10.0), Kind::Seek(Box::new(seek)))).unwrap();
    let s = seek_result(&result);
    assert_eq!(s.status(), pb::SearchStatus::Unreachable);
    assert!(s.message.contains("stays below"), "{}", s.message);
}

/// A dataset of one market: importer H produces nothing and buys only from F,
/// which sells nowhere else and has supply elasticity `ex`.
fn single_supplier(dir: &Path, ex: f64, em: f64) -> Dataset {
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write(
        "dataset.toml",
        "id = \"single\"\ntitle = \"One supplier\"\ndescription = \"Optimal tariff\"\nbase_year = 2023\ncurrency = \"USD\"\nunit = \"million\"\n\n[[sources]]\nid = \"made\"\ntitle = \"Made up\"\n",
    );
    write("economies.csv", "code,name,groups,gdp\nH,Home,,1000\nF,Foreign,,1000\n");
    write(
        "sectors.csv",
        &format!(
            "code,name,hs,import_demand_elasticity,substitution_elasticity,supply_elasticity,source\nG,Good,01,{em},4,{ex},made\n"
        ),
    );
    write("flows.csv", "exporter,importer,sector,value,source,quality\nF,H,G,100,made,estimated\n");
    write("tariffs.csv", "importer,exporter,sector,rate_pct,basis\nH,*,G,0,MFN\n");
    Dataset::from_dir(dir).unwrap()
}

fn optimum(result: &ScenarioResult) -> &pb::OptimizationResult {
    match result.analysis.as_ref().and_then(|a| a.kind.as_ref()) {
        Some(analysis_result::Kind::Optimization(o)) => o,
        other => panic!("no optimisation: {other:?}"),
    }
}

fn tariff_of_h(bound: Option<pb::FigureBound>) -> Scenario {
    let m = Measure { id: "t".into(), importer: "H".into(), ..measure("t", &["F"], &["G"], Mode::Set, 10.0) };
    let lever = Lever { target: Some(Target::MeasureRate("t".into())), low: 0.0, high: 300.0, step: 0.0 };
    let objective = pb::WeightedFigure { figure: Some(figure(pb::Figure::WelfareChange, "H")), weight: 1.0 };
    let o = Optimization {
        levers: vec![lever],
        objective: vec![objective],
        maximize: true,
        constraints: bound.into_iter().collect(),
        max_evaluations: 0,
    };
    Scenario {
        measures: vec![m],
        analysis: Some(Box::new(Analysis { kind: Some(Kind::Optimize(o)) })),
        ..Default::default()
    }
}

#[test]
fn the_optimal_tariff_is_one_over_the_supply_elasticity() {
    for (ex, em) in [(1.0, -1.5), (2.0, -1.25), (4.0, -0.8), (5.0, -2.0), (10.0, -1.25)] {
        let dir = tempfile::tempdir().unwrap();
        let dataset = single_supplier(dir.path(), ex, em);
        let result = run(&dataset, &tariff_of_h(None)).unwrap();
        let o = optimum(&result);
        assert_eq!(o.status(), pb::SearchStatus::Converged, "{o:?}");
        let t = o.lever_values[0];
        assert!((t - 100.0 / ex).abs() < 0.01, "Ex {ex}, Em {em}: {t} vs {}", 100.0 / ex);
    }
}

#[test]
fn a_binding_constraint_holds_at_the_optimum() {
    // Imports may fall by at most 5%: below the optimal tariff's fall.
    let dir = tempfile::tempdir().unwrap();
    let dataset = single_supplier(dir.path(), 2.0, -1.25);
    let bound = pb::FigureBound {
        figure: Some(figure(pb::Figure::ImportsChangePct, "H")),
        min: Some(-5.0),
        max: None,
    };
    let result = run(&dataset, &tariff_of_h(Some(bound))).unwrap();
    let o = optimum(&result);
    assert_eq!(o.status(), pb::SearchStatus::Converged, "{o:?}");
    let c = &o.constraints[0];
    assert!(c.binding, "{c:?}");
    assert!(c.value >= -5.0 - 5e-6, "{}", c.value);
    assert!(o.lever_values[0] < 50.0);
}

#[test]
fn analyses_refuse_what_they_cannot_do() {
    let bad = GoalSeek {
        lever: Some(Lever {
            target: Some(Target::MeasureRate("nope".into())),
            low: 5.0,
            high: 1.0,
            step: 0.0,
        }),
        target: Some(FigureRef { figure: "WELFARE".into(), economy: "XXX".into(), ..Default::default() }),
        goal: None,
        ..Default::default()
    };
    let err = run(jpus(), &with(cars(10.0), Kind::Seek(Box::new(bad)))).unwrap_err().to_string();
    for field in [
        "analysis.seek.lever.high",
        "analysis.seek.lever.measure_rate",
        "analysis.seek.target.figure",
        "analysis.seek.target.economy",
        "analysis.seek.goal",
    ] {
        assert!(err.contains(field), "{field} in {err}");
    }
    let none = run(
        jpus(),
        &with(
            Scenario {
                exchange_rates: vec![pb::ExchangeRate { economy: "JPN".into(), change_pct: 5.0 }],
                ..Default::default()
            },
            Kind::Contributions(ContributionsSpec::default()),
        ),
    );
    assert!(none.unwrap_err().to_string().contains("analysis.contributions"));
    // Every coalition of the 16-measure timeline (as saved with the baseline,
    // before content rules folded its USMCA measure into one) at its 11 dates:
    // 78 million figures to keep.
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/baseline/scenarios/timeline-2025-2026.json");
    let timeline = parse_scenario(&std::fs::read_to_string(&path).unwrap(), ScenarioFormat::Json).unwrap();
    assert_eq!(timeline.measures.len(), 16);
    let spec = ContributionsSpec { exact_up_to: 16, ..Default::default() };
    let err = run(jpus(), &with(timeline, Kind::Contributions(spec))).unwrap_err();
    assert!(
        err.to_string().contains("analysis.contributions.exact_up_to: 65536 runs of 1188 figures"),
        "{err}"
    );
    let _ = AnalysisResult::default();
}

#[test]
fn contributions_split_into_chunks_are_the_same_bytes() {
    use std::ops::ControlFlow;
    use tariff_scenario::{EvaluateOptions, PreparedScenario};
    let measures: Vec<Measure> = ["CARS", "PARTS", "MACH", "ELEC", "AGRI", "METALS", "OTHER"]
        .iter()
        .enumerate()
        .map(|(i, s)| measure(&format!("m{i}"), &["*"], &[s], Mode::Add, 10.0 + i as f64))
        .collect();
    let scenario =
        with(Scenario { measures, ..Default::default() }, Kind::Contributions(ContributionsSpec::default()));
    let prepared = PreparedScenario::new(jpus(), &scenario).unwrap();
    let whole = prepared.evaluate(&mut |_| ControlFlow::Continue(())).unwrap();
    let chunks = prepared.analysis_chunks();
    assert_eq!(chunks.len(), 2, "128 coalitions in chunks of 64");
    let go = &mut |_: &tariff_scenario::Progress| ControlFlow::Continue(());
    // Chunks in reverse order, on different thread counts.
    let samples: Vec<_> = chunks
        .iter()
        .rev()
        .enumerate()
        .map(|(i, r)| {
            prepared
                .analysis_samples(r.clone(), &EvaluateOptions { threads: i + 1, flows: None }, go)
                .unwrap()
        })
        .collect();
    let head = prepared.point_estimate(go).unwrap();
    let merged = prepared.merge_analysis(head, samples).unwrap();
    assert_eq!(prost::Message::encode_to_vec(&merged), prost::Message::encode_to_vec(&whole));
    // A missing chunk is refused.
    let one = prepared.analysis_samples(chunks[0].clone(), &EvaluateOptions::default(), go).unwrap();
    let head = prepared.point_estimate(go).unwrap();
    assert!(prepared.merge_analysis(head, vec![one]).unwrap_err().to_string().contains("cover 64 of 128"));
}

#[test]
fn a_cancel_stops_the_runs() {
    use std::ops::ControlFlow;
    let measures: Vec<Measure> =
        (0..14).map(|i| measure(&format!("m{i}"), &["*"], &["CARS"], Mode::Add, 1.0 + i as f64)).collect();
    let spec = ContributionsSpec { exact_up_to: 14, ..Default::default() };
    let scenario = with(Scenario { measures, ..Default::default() }, Kind::Contributions(spec));
    let prepared = tariff_scenario::PreparedScenario::new(jpus(), &scenario).unwrap();
    let (mut calls, mut done) = (0, 0);
    let err = prepared
        .evaluate(&mut |p| {
            calls += 1;
            done = p.done;
            assert_eq!(p.stage, "evaluations");
            assert_eq!(p.total, 1 << 14);
            if calls >= 2 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })
        .unwrap_err();
    assert!(matches!(err, tariff_scenario::EvaluateError::Cancelled), "{err}");
    // It stopped at the second report (every 100 ms), far from the 16,384 runs.
    assert!(done < 1 << 14, "{done}");
}
