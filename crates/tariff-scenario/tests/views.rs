//! Result views: SUMMARY drops flows and keeps every other figure; a filter
//! keeps the flows it names; `top` keeps the largest changes; sector solves on
//! several threads give the one-thread result to the last bit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ops::ControlFlow;

use tariff_proto::v1::{self as pb, FlowFilter, ResultOptions, ResultView};
use tariff_scenario::{
    EvaluateOptions, FlowSelection, PreparedScenario, ScenarioFormat,
    dataset::{DEFAULT_DATASET, builtin},
    parse_scenario,
};

fn scenario() -> pb::Scenario {
    let text = include_str!("../../../scenarios/universal-20.json");
    parse_scenario(text, ScenarioFormat::Json).unwrap()
}

fn evaluate(options: Option<ResultOptions>, threads: usize) -> pb::ScenarioResult {
    let dataset = builtin(DEFAULT_DATASET).unwrap().unwrap();
    let scenario = scenario();
    let prepared = PreparedScenario::new(dataset, &scenario).unwrap();
    let flows = options.map(|o| FlowSelection::resolve(dataset, &o, ResultView::Full).unwrap());
    let options = EvaluateOptions { threads, flows };
    prepared.evaluate_with(&options, &mut |_| ControlFlow::Continue(())).unwrap()
}

fn without_flows(mut r: pb::ScenarioResult) -> pb::ScenarioResult {
    r.view = None;
    for impact in &mut r.impacts {
        for s in &mut impact.sectors {
            s.flows.clear();
        }
    }
    r
}

fn flow_total(r: &pb::ScenarioResult) -> usize {
    r.impacts.iter().flat_map(|i| &i.sectors).map(|s| s.flows.len()).sum()
}

#[test]
fn summary_has_every_figure_but_the_flows() {
    let full = evaluate(None, 1);
    let summary = evaluate(Some(ResultOptions { view: ResultView::Summary.into(), flows: None }), 1);
    assert!(flow_total(&full) > 500);
    assert_eq!(flow_total(&summary), 0);
    assert_eq!(summary.view.as_ref().unwrap().view(), ResultView::Summary);
    for (a, b) in full.impacts[0].sectors.iter().zip(&summary.impacts[0].sectors) {
        assert_eq!(a.flow_count, a.flows.len() as u64, "{}", a.sector);
        assert_eq!(a.flow_count, b.flow_count);
    }
    assert_eq!(without_flows(full), without_flows(summary));
}

#[test]
fn threads_do_not_change_the_result() {
    assert_eq!(evaluate(None, 1), evaluate(None, 2));
    assert_eq!(evaluate(None, 1), evaluate(None, 7));
}

#[test]
fn filter_keeps_the_flows_it_names() {
    let filter =
        FlowFilter { economies: vec!["JPN".into()], sectors: vec!["CARS".into(), "METALS".into()], top: 0 };
    let r = evaluate(Some(ResultOptions { view: ResultView::Full.into(), flows: Some(filter) }), 2);
    let full = evaluate(None, 1);
    let mut expected = 0;
    for (a, b) in full.impacts[0].sectors.iter().zip(&r.impacts[0].sectors) {
        let wanted: Vec<&pb::FlowImpact> = a
            .flows
            .iter()
            .filter(|f| {
                ["CARS", "METALS"].contains(&a.sector.as_str())
                    && (f.exporter == "JPN" || f.importer == "JPN")
            })
            .collect();
        expected += wanted.len();
        assert_eq!(b.flows.iter().collect::<Vec<_>>(), wanted, "{}", a.sector);
    }
    assert!(expected > 0);
    assert_eq!(flow_total(&r), expected);
}

#[test]
fn top_keeps_the_largest_changes_over_all_sectors() {
    let full = evaluate(None, 1);
    let top = 7;
    let filter = FlowFilter { top, ..Default::default() };
    let r = evaluate(Some(ResultOptions { view: ResultView::Unspecified.into(), flows: Some(filter) }), 2);
    assert_eq!(flow_total(&r), top as usize);
    let mut changes: Vec<f64> = full.impacts[0]
        .sectors
        .iter()
        .flat_map(|s| s.flows.iter().map(|f| f.value.unwrap().change.abs()))
        .collect();
    changes.sort_by(|a, b| b.total_cmp(a));
    let mut kept: Vec<f64> = r.impacts[0]
        .sectors
        .iter()
        .flat_map(|s| s.flows.iter().map(|f| f.value.unwrap().change.abs()))
        .collect();
    kept.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(kept, changes[..top as usize]);
    // The same selection applied to a full result afterwards gives the same flows.
    let dataset = builtin(DEFAULT_DATASET).unwrap().unwrap();
    let options = ResultOptions {
        view: ResultView::Full.into(),
        flows: Some(FlowFilter { top, ..Default::default() }),
    };
    let mut applied = full.clone();
    FlowSelection::resolve(dataset, &options, ResultView::Full).unwrap().apply(dataset, &mut applied);
    assert_eq!(without_flows(applied.clone()), without_flows(r.clone()));
    for (a, b) in applied.impacts[0].sectors.iter().zip(&r.impacts[0].sectors) {
        assert_eq!(a.flows, b.flows);
    }
}

#[test]
fn unknown_codes_name_their_field() {
    let dataset = builtin(DEFAULT_DATASET).unwrap().unwrap();
    let filter =
        FlowFilter { economies: vec!["JPN".into(), "ATLANTIS".into()], sectors: vec!["NOPE".into()], top: 0 };
    let err =
        FlowSelection::resolve(dataset, &ResultOptions { view: 0, flows: Some(filter) }, ResultView::Summary)
            .unwrap_err();
    let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["view.flows.economies[1]", "view.flows.sectors[0]"]);
    assert!(err.0[0].reason.contains("ATLANTIS"));
}

#[test]
fn progress_comes_sector_by_sector_and_a_cancel_stops_the_threads() {
    let dataset = builtin(DEFAULT_DATASET).unwrap().unwrap();
    let scenario = scenario();
    let prepared = PreparedScenario::new(dataset, &scenario).unwrap();
    let options = EvaluateOptions { threads: 2, ..Default::default() };
    let mut seen = Vec::new();
    prepared
        .evaluate_with(&options, &mut |p| {
            seen.push(p.done);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(seen, (1..=dataset.sectors.len() as u32).collect::<Vec<_>>());
    let mut calls = 0;
    let outcome = prepared.evaluate_with(&options, &mut |_| {
        calls += 1;
        ControlFlow::Break(())
    });
    assert!(matches!(outcome, Err(tariff_scenario::EvaluateError::Cancelled)));
    assert_eq!(calls, 1, "no progress after the cancel");
}
