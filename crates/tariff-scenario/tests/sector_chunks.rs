//! Scenarios split by sector: chunks of any size merge to the unsplit result,
//! bit for bit, in every view; flows read back from the chunks are the FULL
//! result's; chunks that do not fit are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ops::ControlFlow;

use prost::Message;
use tariff_proto::v1::{self as pb, FlowFilter, ResultOptions, ResultView};
use tariff_scenario::{
    EvaluateOptions, FlowSelection, MergeError, PreparedScenario, ScenarioFormat, add_chunk_flows,
    dataset::{DEFAULT_DATASET, Dataset, builtin},
    parse_scenario,
};

fn dataset() -> &'static Dataset {
    builtin(DEFAULT_DATASET).unwrap().unwrap()
}

fn scenario(text: &str) -> pb::Scenario {
    parse_scenario(text, ScenarioFormat::Json).unwrap()
}

fn timeline() -> pb::Scenario {
    scenario(include_str!("../../../scenarios/timeline-2025-2026.json"))
}

fn universal() -> pb::Scenario {
    scenario(include_str!("../../../scenarios/universal-20.json"))
}

fn go(_: &tariff_scenario::Progress) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

fn selection(options: &ResultOptions) -> FlowSelection {
    FlowSelection::resolve(dataset(), options, ResultView::Full).unwrap()
}

fn views() -> Vec<ResultOptions> {
    let filter = |economies: &[&str], sectors: &[&str], top| FlowFilter {
        economies: economies.iter().map(|s| (*s).to_owned()).collect(),
        sectors: sectors.iter().map(|s| (*s).to_owned()).collect(),
        top,
    };
    vec![
        ResultOptions { view: ResultView::Full.into(), flows: None },
        ResultOptions { view: ResultView::Summary.into(), flows: None },
        ResultOptions { view: ResultView::Full.into(), flows: Some(filter(&["JPN"], &[], 0)) },
        ResultOptions { view: ResultView::Full.into(), flows: Some(filter(&[], &["CARS", "PARTS"], 7)) },
        ResultOptions { view: ResultView::Full.into(), flows: Some(filter(&[], &[], 25)) },
    ]
}

fn chunks_of(prepared: &PreparedScenario<'_>, flow_solves: u64) -> Vec<pb::SectorChunk> {
    prepared
        .sector_chunks(flow_solves)
        .into_iter()
        .map(|range| prepared.sector_chunk(range, &EvaluateOptions::default(), &mut go).unwrap())
        .collect()
}

#[test]
fn chunk_ranges_cover_every_sector_in_order_near_the_size_asked() {
    let scenario = timeline();
    let prepared = PreparedScenario::new(dataset(), &scenario).unwrap();
    let sectors = dataset().sectors.len();
    let dates = prepared.dates.len() as u64;
    assert!(dates > 1, "the timeline has several dates");
    let flows = |s: usize| dataset().sector_flows(s).values.len() as u64 * dates;
    assert_eq!(prepared.flow_solves(), (0..sectors).map(flows).sum::<u64>());
    for size in [1, flows(0), prepared.flow_solves() / 3, u64::MAX] {
        let ranges = prepared.sector_chunks(size);
        assert_eq!(ranges.first().unwrap().start, 0);
        assert_eq!(ranges.last().unwrap().end, sectors);
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
        // Each range is within the size unless it is one sector larger than it.
        for r in &ranges {
            let solves: u64 = r.clone().map(flows).sum();
            assert!(solves <= size || r.len() == 1, "{r:?}: {solves} > {size}");
        }
    }
    assert_eq!(prepared.sector_chunks(1).len(), sectors);
    assert_eq!(prepared.sector_chunks(u64::MAX).len(), 1);
}

#[test]
fn merged_chunks_are_the_unsplit_result_to_the_bit_in_every_view() {
    for scenario in [timeline(), universal()] {
        let prepared = PreparedScenario::new(dataset(), &scenario).unwrap();
        for size in [1, prepared.flow_solves() / 4, u64::MAX] {
            let chunks = chunks_of(&prepared, size);
            for options in views() {
                let selection = selection(&options);
                let evaluate = EvaluateOptions { threads: 1, flows: Some(selection.clone()) };
                let unsplit = prepared.point_estimate_with(&evaluate, &mut go).unwrap();
                let merged = prepared
                    .merge_sector_chunks(chunks.iter().cloned().map(Ok::<_, MergeError>), &selection)
                    .unwrap();
                assert_eq!(
                    merged.encode_to_vec(),
                    unsplit.encode_to_vec(),
                    "{}: chunks of {size} flow solves, view {options:?}",
                    scenario.id
                );
            }
        }
    }
}

#[test]
fn flows_added_from_the_chunks_to_the_summary_are_the_views_flows() {
    let scenario = timeline();
    let prepared = PreparedScenario::new(dataset(), &scenario).unwrap();
    let chunks = chunks_of(&prepared, prepared.flow_solves() / 3);
    let summary_view = ResultOptions { view: ResultView::Summary.into(), flows: None };
    let summary = prepared
        .merge_sector_chunks(chunks.iter().cloned().map(Ok::<_, MergeError>), &selection(&summary_view))
        .unwrap();
    for options in views() {
        let selection = selection(&options);
        let evaluate = EvaluateOptions { threads: 1, flows: Some(selection.clone()) };
        let expected = prepared.point_estimate_with(&evaluate, &mut go).unwrap();
        let mut filled = summary.clone();
        for (index, chunk) in chunks.iter().cloned().enumerate() {
            add_chunk_flows(dataset(), &mut filled, &selection, chunk, index).unwrap();
        }
        assert_eq!(filled, expected, "view {options:?}");
    }
}

#[test]
fn chunks_that_do_not_fit_are_refused() {
    let scenario = timeline();
    let prepared = PreparedScenario::new(dataset(), &scenario).unwrap();
    let mut chunks = chunks_of(&prepared, 1);
    let all = selection(&views()[0]);
    let merge = |chunks: Vec<pb::SectorChunk>| {
        prepared.merge_sector_chunks(chunks.into_iter().map(Ok::<_, MergeError>), &all).unwrap_err()
    };
    let first = chunks[0].clone();
    chunks.pop();
    assert!(matches!(merge(chunks.clone()), MergeError::SectorsMissing { .. }));
    let mut swapped = chunks.clone();
    swapped.swap(0, 1);
    assert!(matches!(merge(swapped), MergeError::SectorOrder { chunk: 0, .. }));
    let other = PreparedScenario::new(dataset(), &universal()).unwrap();
    let foreign = other.sector_chunk(0..1, &EvaluateOptions::default(), &mut go).unwrap();
    let mut mixed = chunks;
    mixed.push(foreign);
    assert!(matches!(merge(mixed), MergeError::SectorDates { .. }));
    // A failure the chunks' reader meets stops the merge with it.
    let failed = prepared.merge_sector_chunks([Ok(first), Err(MergeError::NoDraws)], &all).unwrap_err();
    assert_eq!(failed, MergeError::NoDraws);
}
