//! What the ERP chart shows: the effective rate of protection before and
//! after at the last date, either per economy for one sector or per sector
//! (those with inputs) for one economy; and the refusals, naming the flag,
//! when the result has nothing to show.

use anyhow::bail;
use tariff_proto::v1::{Impact, ScenarioResult, SectorImpact};

/// The flag that asks for the ERP chart, for refusals to name.
pub const KIND_FLAG: &str = "--chart-kind erp";

/// Which slice of the result the chart is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Focus {
    /// The sector where some economy's ERP moved most.
    Auto,
    /// Every economy with an ERP in this sector (`--chart-sector`).
    Sector(String),
    /// Every sector in which this economy has an ERP (`--chart-economy`).
    Economy(String),
}

/// What the slots along the x axis are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Across {
    Economies,
    Sectors,
}

/// One slot: an economy or a sector, its ERP before and after, percent.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub before: f64,
    pub after: f64,
}

/// The chart's content, resolved against a result.
#[derive(Debug, Clone, PartialEq)]
pub struct ErpBars {
    pub date: String,
    /// The sector (across economies) or the economy (across sectors).
    pub subject: String,
    pub across: Across,
    pub bars: Vec<Bar>,
}

/// Why a result without any ERP has none, for the refusal.
pub fn no_erp_reason() -> String {
    format!(
        "{KIND_FLAG}: the result has no effective rate of protection: it needs a scenario with \
         `input_costs: true` and a dataset with input cost shares (inputs.csv)"
    )
}

/// The economies of `sector` that have an ERP, in the result's order.
fn by_economy(sector: &SectorImpact) -> Vec<Bar> {
    sector
        .economies
        .iter()
        .filter_map(|e| {
            let erp = e.effective_protection_pct.as_ref()?;
            Some(Bar { label: e.economy.clone(), before: erp.before, after: erp.after })
        })
        .collect()
}

/// The sectors in which `economy` has an ERP, in the result's (dataset) order.
fn by_sector(impact: &Impact, economy: &str) -> Vec<Bar> {
    impact
        .sectors
        .iter()
        .filter_map(|s| {
            let e = s.economies.iter().find(|e| e.economy == economy)?;
            let erp = e.effective_protection_pct.as_ref()?;
            Some(Bar { label: s.sector.clone(), before: erp.before, after: erp.after })
        })
        .collect()
}

/// The largest move of an ERP among the bars.
fn largest_move(bars: &[Bar]) -> f64 {
    bars.iter().map(|b| (b.after - b.before).abs()).fold(0.0, f64::max)
}

/// The names of the sectors that have an ERP, for refusals to list.
fn sectors_with(impact: &Impact) -> String {
    let with: Vec<&str> =
        impact.sectors.iter().filter(|s| !by_economy(s).is_empty()).map(|s| s.sector.as_str()).collect();
    with.join(", ")
}

/// Resolves `focus` at the result's last date, or says which flag asks for
/// what the result does not have.
pub fn select(result: &ScenarioResult, focus: &Focus) -> anyhow::Result<ErpBars> {
    let Some(impact) = result.impacts.last() else { bail!("the result has no dates to chart") };
    if impact.sectors.iter().all(|s| by_economy(s).is_empty()) {
        bail!(no_erp_reason());
    }
    let date = impact.date.clone();
    match focus {
        Focus::Auto => {
            // The first of the sectors with the largest move, so ties go to dataset order.
            let mut best: Option<(&SectorImpact, Vec<Bar>)> = None;
            for sector in &impact.sectors {
                let bars = by_economy(sector);
                let better = match &best {
                    None => !bars.is_empty(),
                    Some((_, b)) => largest_move(&bars) > largest_move(b),
                };
                if better {
                    best = Some((sector, bars));
                }
            }
            let Some((sector, bars)) = best else { bail!(no_erp_reason()) };
            Ok(ErpBars { date, subject: sector.sector.clone(), across: Across::Economies, bars })
        }
        Focus::Sector(code) => {
            let Some(sector) = impact.sectors.iter().find(|s| &s.sector == code) else {
                let known: Vec<&str> = impact.sectors.iter().map(|s| s.sector.as_str()).collect();
                bail!("--chart-sector {code}: not a sector of the result ({})", known.join(", "));
            };
            let bars = by_economy(sector);
            if bars.is_empty() {
                bail!(
                    "--chart-sector {code}: no economy has an effective rate of protection in {code} \
                     (no input cost shares for it); sectors with one: {}",
                    sectors_with(impact)
                );
            }
            Ok(ErpBars { date, subject: code.clone(), across: Across::Economies, bars })
        }
        Focus::Economy(code) => {
            if !impact.economies.iter().any(|e| &e.economy == code) {
                let known: Vec<&str> = impact.economies.iter().map(|e| e.economy.as_str()).collect();
                bail!("--chart-economy {code}: not an economy of the result ({})", known.join(", "));
            }
            let bars = by_sector(impact, code);
            if bars.is_empty() {
                bail!(
                    "--chart-economy {code}: {code} has no effective rate of protection in any sector \
                     (no input cost shares for its output); sectors with one: {}",
                    sectors_with(impact)
                );
            }
            Ok(ErpBars { date, subject: code.clone(), across: Across::Sectors, bars })
        }
    }
}

#[cfg(test)]
mod tests {
    use tariff_proto::v1::{Change, EconomyImpact};

    use super::*;

    fn economy(code: &str, erp: Option<(f64, f64)>) -> EconomyImpact {
        EconomyImpact {
            economy: code.into(),
            effective_protection_pct: erp.map(|(before, after)| Change {
                before,
                after,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn result(sectors: Vec<(&str, Vec<EconomyImpact>)>) -> ScenarioResult {
        let impact = Impact {
            date: "2025-04-03".into(),
            economies: vec![economy("USA", None), economy("JPN", None), economy("MEX", None)],
            sectors: sectors
                .into_iter()
                .map(|(code, economies)| SectorImpact {
                    sector: code.into(),
                    economies,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        ScenarioResult { impacts: vec![impact], ..Default::default() }
    }

    fn supply_chains() -> ScenarioResult {
        result(vec![
            ("CARS", vec![economy("USA", Some((-1.8, 29.2))), economy("JPN", Some((-0.1, -0.1)))]),
            ("ELEC", vec![economy("USA", None), economy("JPN", None)]),
            ("PARTS", vec![economy("USA", Some((1.8, 36.5))), economy("JPN", None)]),
        ])
    }

    fn labels(bars: &ErpBars) -> Vec<&str> {
        bars.bars.iter().map(|b| b.label.as_str()).collect()
    }

    #[test]
    fn picks_the_sector_that_moved_most_or_the_one_asked() {
        let r = supply_chains();
        let auto = select(&r, &Focus::Auto).unwrap();
        assert_eq!((auto.subject.as_str(), auto.across), ("PARTS", Across::Economies));
        assert_eq!(labels(&auto), ["USA"]);
        let cars = select(&r, &Focus::Sector("CARS".into())).unwrap();
        assert_eq!(labels(&cars), ["USA", "JPN"]);
        assert_eq!(cars.bars[0], Bar { label: "USA".into(), before: -1.8, after: 29.2 });
        let usa = select(&r, &Focus::Economy("USA".into())).unwrap();
        assert_eq!(
            (usa.subject.as_str(), usa.across, labels(&usa)),
            ("USA", Across::Sectors, vec!["CARS", "PARTS"])
        );
        assert_eq!(usa.date, "2025-04-03");
    }

    #[test]
    fn ties_go_to_the_first_sector() {
        let r = result(vec![
            ("A", vec![economy("USA", Some((1.0, 1.0)))]),
            ("B", vec![economy("USA", Some((2.0, 2.0)))]),
        ]);
        assert_eq!(select(&r, &Focus::Auto).unwrap().subject, "A");
    }

    #[test]
    fn refusals_name_the_flag_and_the_reason() {
        let message = |r: &ScenarioResult, f: Focus| select(r, &f).unwrap_err().to_string();
        let off = result(vec![("CARS", vec![economy("USA", None)])]);
        for focus in [Focus::Auto, Focus::Sector("CARS".into()), Focus::Economy("USA".into())] {
            let m = message(&off, focus);
            assert!(m.starts_with("--chart-kind erp: ") && m.contains("input_costs: true"), "{m}");
        }
        let r = supply_chains();
        let m = message(&r, Focus::Sector("ELEC".into()));
        assert!(
            m.starts_with("--chart-sector ELEC: ") && m.ends_with("sectors with one: CARS, PARTS"),
            "{m}"
        );
        assert!(
            message(&r, Focus::Sector("NOPE".into()))
                .contains("not a sector of the result (CARS, ELEC, PARTS)")
        );
        let m = message(&r, Focus::Economy("MEX".into()));
        assert!(m.starts_with("--chart-economy MEX: MEX has no effective rate of protection"), "{m}");
        assert!(message(&r, Focus::Economy("XXX".into())).contains("not an economy of the result"));
        assert!(message(&ScenarioResult::default(), Focus::Auto).contains("no dates"));
    }
}
