//! Two results side by side: what `tariffctl compare` prints, as a table or
//! CSV. The figures come from here; the two formats only lay them out.

mod csv;
mod table;

use std::io::Write;

use tariff_proto::v1::{Change, EconomyImpact, Impact, ScenarioResult, SectorImpact};

use crate::chart::FlowPair;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareFormat {
    /// Per date: economies with A, B and B-A, then each sector's largest flow changes.
    Table,
    /// One row per date, sector, economy or flow, and measure, with columns a, b and b_minus_a.
    Csv,
}

/// Two results and how their dates line up.
#[derive(Debug)]
pub struct Comparison<'a> {
    /// The two scenarios' names, and the files they came from.
    pub names: [String; 2],
    pub results: [&'a ScenarioResult; 2],
    /// The impacts compared, A's and B's.
    pub pairs: Vec<(&'a Impact, &'a Impact)>,
    /// Said once, above everything: how the dates were matched, if not one to one.
    pub note: Option<String>,
    /// How many flows per sector.
    pub flows: usize,
}

/// What a measure's numbers are, for showing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A change in money: signed, one decimal.
    Money,
    /// A change in percent: signed, two decimals.
    ChangePct,
    /// A level in percent (a tariff): two decimals, signed only as B-A.
    LevelPct,
}

/// An economy total compared, as named in CSV and in the table.
pub struct Measure {
    pub csv: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub get: fn(&EconomyImpact) -> f64,
}

fn change(c: &Option<Change>) -> Change {
    c.unwrap_or_default()
}

pub const MEASURES: &[Measure] = &[
    Measure { csv: "welfare_change", label: "welfare change", kind: Kind::Money, get: |e| e.welfare_change },
    Measure {
        csv: "consumer_surplus_change",
        label: "consumer surplus",
        kind: Kind::Money,
        get: |e| e.consumer_surplus_change,
    },
    Measure {
        csv: "producer_surplus_change",
        label: "producer surplus",
        kind: Kind::Money,
        get: |e| e.producer_surplus_change,
    },
    Measure {
        csv: "tariff_revenue_change",
        label: "tariff revenue",
        kind: Kind::Money,
        get: |e| change(&e.tariff_revenue).change,
    },
    Measure {
        csv: "exports_change_pct",
        label: "exports chg %",
        kind: Kind::ChangePct,
        get: |e| change(&e.exports).change_pct,
    },
    Measure {
        csv: "imports_change_pct",
        label: "imports chg %",
        kind: Kind::ChangePct,
        get: |e| change(&e.imports).change_pct,
    },
    Measure {
        csv: "effective_tariff_after_pct",
        label: "eff. tariff after %",
        kind: Kind::LevelPct,
        get: |e| change(&e.effective_tariff_pct).after,
    },
];

/// Codes in A's order, then those only B has.
pub fn union<'a>(a: impl IntoIterator<Item = &'a str>, b: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut all: Vec<&str> = Vec::new();
    for code in a.into_iter().chain(b) {
        if !all.contains(&code) {
            all.push(code);
        }
    }
    all
}

pub fn economy<'a>(impact: &'a Impact, code: &str) -> Option<&'a EconomyImpact> {
    impact.economies.iter().find(|e| e.economy == code)
}

pub fn sector<'a>(impact: &'a Impact, code: &str) -> Option<&'a SectorImpact> {
    impact.sectors.iter().find(|s| s.sector == code)
}

/// A flow's value change in one sector, in A and in B (none where that side
/// has no such flow).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRow {
    pub pair: FlowPair,
    pub a: Option<Change>,
    pub b: Option<Change>,
}

impl FlowRow {
    /// B's change less A's, a missing side counting as no change.
    pub fn b_minus_a(&self) -> f64 {
        self.b.unwrap_or_default().change - self.a.unwrap_or_default().change
    }
}

/// The sector's flows between different economies with the largest absolute
/// value change in either scenario, largest first.
pub fn sector_flows(a: Option<&SectorImpact>, b: Option<&SectorImpact>, count: usize) -> Vec<FlowRow> {
    let mut rows: Vec<FlowRow> = Vec::new();
    for (side, sector) in [a, b].into_iter().enumerate() {
        for flow in sector.into_iter().flat_map(|s| &s.flows).filter(|f| f.exporter != f.importer) {
            let pair = FlowPair::new(&flow.exporter, &flow.importer);
            let at = match rows.iter().position(|r| r.pair == pair) {
                Some(at) => at,
                None => {
                    rows.push(FlowRow { pair, a: None, b: None });
                    rows.len() - 1
                }
            };
            let value = Some(flow.value.unwrap_or_default());
            if side == 0 { rows[at].a = value } else { rows[at].b = value }
        }
    }
    let size = |r: &FlowRow| {
        let abs = |c: Option<Change>| c.map_or(0.0, |c| c.change.abs());
        abs(r.a).max(abs(r.b))
    };
    rows.retain(|r| size(r) > 0.0);
    rows.sort_by(|x, y| size(y).total_cmp(&size(x)).then_with(|| x.pair.cmp(&y.pair)));
    rows.truncate(count);
    rows
}

pub fn print(comparison: &Comparison, format: CompareFormat, out: &mut dyn Write) -> anyhow::Result<()> {
    match format {
        CompareFormat::Table => table::write(comparison, out)?,
        CompareFormat::Csv => csv::write(comparison, out)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tariff_proto::v1::FlowImpact;

    use super::*;

    fn sector(flows: &[(&str, &str, f64)]) -> SectorImpact {
        SectorImpact {
            sector: "S".into(),
            flows: flows
                .iter()
                .map(|(x, m, change)| FlowImpact {
                    exporter: (*x).into(),
                    importer: (*m).into(),
                    value: Some(Change {
                        before: 100.0,
                        after: 100.0 + change,
                        change: *change,
                        change_pct: *change,
                    }),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn flows_rank_by_the_larger_move_in_either_scenario() {
        let a = sector(&[("A", "B", -10.0), ("C", "B", 2.0), ("B", "B", -99.0), ("D", "B", 0.0)]);
        let b = sector(&[("A", "B", -1.0), ("C", "B", 30.0), ("E", "B", 5.0)]);
        let rows = sector_flows(Some(&a), Some(&b), 5);
        let names: Vec<String> = rows.iter().map(|r| r.pair.label()).collect();
        assert_eq!(names, ["C→B", "A→B", "E→B"]);
        assert_eq!(rows[0].b_minus_a(), 28.0);
        assert_eq!(rows[2].a, None);
        assert_eq!(rows[2].b_minus_a(), 5.0);
        assert_eq!(sector_flows(Some(&a), None, 1).len(), 1);
    }
}
