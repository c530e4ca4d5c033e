//! The table's uncertainty sections for one date: the bands of the headline
//! figures next to the point estimate, and the tornado of one figure.

use std::io::Write;

use tariff_proto::v1::{Figure, Impact, UncertaintySummary};
use tariff_scenario::{band_of, figure_of_impact};

use crate::tornado::{self, Pick, describe, number};

/// The figures shown side by side, two per line.
const PAIRS: [(Figure, Figure); 3] = [
    (Figure::WelfareChange, Figure::WelfareChangePctGdp),
    (Figure::TariffRevenueChange, Figure::ConsumerPriceChangePct),
    (Figure::ExportsChangePct, Figure::ImportsChangePct),
];

/// A figure's heading, with the unit of money figures.
fn heading(figure: Figure, unit: &str) -> String {
    match describe(figure) {
        (name, true) => name.to_owned(),
        (name, false) => format!("{name}, {unit}"),
    }
}

/// Point estimate, p5, p50, p95 of two figures per economy.
fn bands(out: &mut dyn Write, impact: &Impact, unit: &str) -> std::io::Result<()> {
    for (a, b) in PAIRS {
        let headings = format!("  {:<8} {:<41} {}", "", heading(a, unit), heading(b, unit));
        writeln!(out, "{}", headings.trim_end())?;
        writeln!(
            out,
            "  {:<8} {:>10}{:>10}{:>10}{:>10}  {:>10}{:>10}{:>10}{:>10}",
            "economy", "point", "p5", "p50", "p95", "point", "p5", "p50", "p95"
        )?;
        for (e, band) in impact.economies.iter().zip(&impact.bands) {
            let cells = |f: Figure| -> String {
                let point = figure_of_impact(e, f).unwrap_or_default();
                let b = band_of(band, f).unwrap_or_default();
                [point, b.p5, b.p50, b.p95].iter().map(|v| format!("{:>10}", number(f, *v))).collect()
            };
            writeln!(out, "  {:<8} {}  {}", e.economy, cells(a), cells(b))?;
        }
    }
    Ok(())
}

/// The groups that move the picked figure most, largest swing first.
fn tornado_table(out: &mut dyn Write, impact: &Impact, pick: &Pick, unit: &str) -> std::io::Result<()> {
    let (point, bars) = tornado::bars(impact, pick);
    let f = pick.figure;
    writeln!(
        out,
        "Sensitivity of {} {} (point estimate {}): each elasticity group at the low and the high end of its range",
        pick.economy,
        heading(f, unit),
        number(f, point)
    )?;
    writeln!(
        out,
        "  {:<22} {:>16} {:>12} {:>12} {:>10}",
        "group", "low -> high", "at low", "at high", "swing"
    )?;
    for bar in bars.iter().take(tornado::ROWS) {
        let range = format!("{:.2} -> {:.2}", bar.low, bar.high);
        let (low, high, swing) = (number(f, bar.at_low), number(f, bar.at_high), number(f, bar.swing()));
        writeln!(out, "  {:<22} {range:>16} {low:>12} {high:>12} {swing:>10}", bar.name)?;
    }
    if let Some(next) = bars.get(tornado::ROWS) {
        let more = bars.len() - tornado::ROWS;
        writeln!(out, "  ({more} more groups swing it by {} or less)", number(f, next.swing()))?;
    }
    Ok(())
}

/// Both sections, where the date has them.
pub fn write(
    out: &mut dyn Write,
    impact: &Impact,
    summary: Option<&UncertaintySummary>,
    pick: Option<&Pick>,
    unit: &str,
) -> std::io::Result<()> {
    if let Some(s) = summary.filter(|_| !impact.bands.is_empty()) {
        writeln!(
            out,
            "Uncertainty over the elasticities: {} draws (seed {}, spread {}); the point estimate, then \
             p5, p50 and p95 of the draws",
            s.draws, s.seed, s.spread
        )?;
        bands(out, impact, unit)?;
    }
    if let Some(pick) = pick.filter(|_| !impact.sensitivity.is_empty()) {
        tornado_table(out, impact, pick, unit)?;
    }
    Ok(())
}
