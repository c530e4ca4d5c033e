//! The headline flows: the bilateral flows between different economies whose
//! value moved most, summed over sectors.

use std::collections::HashMap;

use tariff_proto::v1::{Change, Impact};

/// An exporter and an importer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowPair {
    pub exporter: String,
    pub importer: String,
}

impl FlowPair {
    pub fn new(exporter: &str, importer: &str) -> FlowPair {
        FlowPair { exporter: exporter.to_owned(), importer: importer.to_owned() }
    }

    /// `JPN→USA`: how charts name a flow.
    pub fn label(&self) -> String {
        format!("{}→{}", self.exporter, self.importer)
    }
}

/// A flow's value summed over the sectors of one date.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FlowTotal {
    pub before: f64,
    pub after: f64,
    pub change: f64,
}

impl FlowTotal {
    /// Percent change against the base year; 0 when there was no trade.
    pub fn change_pct(&self) -> f64 {
        if self.before == 0.0 { 0.0 } else { self.change / self.before * 100.0 }
    }
}

/// Every flow between different economies at one date, summed over sectors.
pub fn flow_totals(impact: &Impact) -> HashMap<FlowPair, FlowTotal> {
    let mut totals: HashMap<FlowPair, FlowTotal> = HashMap::new();
    for sector in &impact.sectors {
        for flow in sector.flows.iter().filter(|f| f.exporter != f.importer) {
            let v: Change = flow.value.unwrap_or_default();
            let total = totals.entry(FlowPair::new(&flow.exporter, &flow.importer)).or_default();
            total.before += v.before;
            total.after += v.after;
            total.change += v.change;
        }
    }
    totals
}

/// The `count` flows between different economies with the largest absolute
/// value change summed over sectors, largest first. Over several dates a flow
/// counts with its largest absolute change at any of them. Flows that did not
/// move at all are left out; ties go in exporter, importer order.
pub fn headline_flows(impacts: &[Impact], count: usize) -> Vec<FlowPair> {
    let mut largest: HashMap<FlowPair, f64> = HashMap::new();
    for impact in impacts {
        for (pair, total) in flow_totals(impact) {
            let size = largest.entry(pair).or_default();
            *size = size.max(total.change.abs());
        }
    }
    let mut ranked: Vec<(FlowPair, f64)> = largest.into_iter().filter(|(_, size)| *size > 0.0).collect();
    ranked.sort_by(|(pa, a), (pb, b)| b.total_cmp(a).then_with(|| pa.cmp(pb)));
    ranked.into_iter().take(count).map(|(pair, _)| pair).collect()
}

#[cfg(test)]
mod tests {
    use tariff_proto::v1::{FlowImpact, SectorImpact};

    use super::*;

    fn flow(exporter: &str, importer: &str, before: f64, after: f64) -> FlowImpact {
        let change = after - before;
        let change_pct = if before == 0.0 { 0.0 } else { change / before * 100.0 };
        FlowImpact {
            exporter: exporter.into(),
            importer: importer.into(),
            value: Some(Change { before, after, change, change_pct }),
            ..Default::default()
        }
    }

    fn impact(date: &str, sectors: Vec<(&str, Vec<FlowImpact>)>) -> Impact {
        Impact {
            date: date.into(),
            sectors: sectors
                .into_iter()
                .map(|(code, flows)| SectorImpact { sector: code.into(), flows, ..Default::default() })
                .collect(),
            ..Default::default()
        }
    }

    fn labels(pairs: &[FlowPair]) -> Vec<String> {
        pairs.iter().map(FlowPair::label).collect()
    }

    #[test]
    fn sums_over_sectors_and_skips_domestic_and_still_flows() {
        let one = impact(
            "2025-01-01",
            vec![
                // Domestic shipments move most, but are not trade between economies.
                ("S1", vec![flow("AAA", "AAA", 1000.0, 500.0), flow("AAA", "BBB", 100.0, 70.0)]),
                ("S2", vec![flow("AAA", "BBB", 100.0, 80.0), flow("CCC", "BBB", 100.0, 140.0)]),
                ("S3", vec![flow("CCC", "AAA", 50.0, 50.0), flow("BBB", "CCC", 10.0, 9.0)]),
            ],
        );
        // AAA→BBB -30 -20 = -50 beats CCC→BBB +40; CCC→AAA did not move.
        let one = std::slice::from_ref(&one);
        assert_eq!(labels(&headline_flows(one, 5)), ["AAA→BBB", "CCC→BBB", "BBB→CCC"]);
        assert_eq!(labels(&headline_flows(one, 1)), ["AAA→BBB"]);
        assert!(headline_flows(one, 0).is_empty());
        let total = flow_totals(&impact("d", vec![("S", vec![flow("X", "Y", 200.0, 150.0)])]));
        assert_eq!(total[&FlowPair::new("X", "Y")].change_pct(), -25.0);
    }

    #[test]
    fn opposite_moves_in_two_sectors_cancel() {
        let one = impact(
            "2025-01-01",
            vec![
                ("S1", vec![flow("AAA", "BBB", 100.0, 200.0), flow("CCC", "BBB", 100.0, 90.0)]),
                ("S2", vec![flow("AAA", "BBB", 100.0, 0.0)]),
            ],
        );
        assert_eq!(labels(&headline_flows(&[one], 5)), ["CCC→BBB"]);
    }

    #[test]
    fn a_timeline_ranks_by_the_largest_move_at_any_date() {
        let early =
            impact("2025-01-01", vec![("S", vec![flow("A", "B", 100.0, 95.0), flow("C", "B", 100.0, 80.0)])]);
        let late =
            impact("2026-01-01", vec![("S", vec![flow("A", "B", 100.0, 50.0), flow("C", "B", 100.0, 90.0)])]);
        assert_eq!(labels(&headline_flows(&[early, late], 5)), ["A→B", "C→B"]);
    }

    #[test]
    fn ties_are_ordered_by_name() {
        let one = impact("d", vec![("S", vec![flow("ZZ", "B", 10.0, 5.0), flow("AA", "B", 10.0, 15.0)])]);
        assert_eq!(labels(&headline_flows(&[one], 5)), ["AA→B", "ZZ→B"]);
    }
}
