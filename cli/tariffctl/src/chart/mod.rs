//! Pictures of results, as SVG: `--chart FILE.svg` on `run`, `watch` and
//! `compare` (the headline flows, or with `--chart-kind erp` the effective
//! rate of protection), with the tornado of the elasticities below when the
//! result has one; and the waterfall of `contributions`.
//!
//! Only plotters' SVG backend is used, with no font support compiled in: text
//! goes into the file as SVG `<text>` and the viewer picks the font, so
//! nothing here depends on the fonts installed on the machine.

mod compare;
mod erp;
pub mod erp_bars;
mod flows;
mod headline;
mod rows;
mod slots;
mod timeline;
mod tornado;
pub mod waterfall;

use std::{fmt::Display, path::Path};

use anyhow::{Context, anyhow};
use plotters::{coord::Shift, prelude::*};
use tariff_proto::v1::ScenarioResult;

use crate::tornado::Pick;
pub use compare::draw_welfare;
pub use headline::{FlowPair, headline_flows};
use slots::{BarAxes, Slots, bar_axes};

/// How many headline flows a chart shows unless `--chart-flows` says otherwise.
pub const DEFAULT_FLOWS: usize = 5;

/// The area charts are drawn on.
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Width of the column on the right that holds a panel's legend.
const LEGEND_WIDTH: u32 = 210;

/// Series colours: Tableau 10, distinct on screen and on paper.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A drawing error as a plain one, so `?` works in the drawing code.
fn drawn<T, E: Display>(r: Result<T, E>) -> anyhow::Result<T> {
    r.map_err(|e| anyhow!("cannot draw the chart: {e}"))
}

/// Fails early, before anything is computed, if `path` cannot be a new file:
/// its folder must exist.
pub fn check_path(path: &Path) -> anyhow::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        anyhow::bail!("--chart {}: folder {} does not exist", path.display(), parent.display());
    }
    if path.is_dir() {
        anyhow::bail!("--chart {}: is a folder, not a file", path.display());
    }
    Ok(())
}

/// What the main panel of `run` and `watch`'s chart shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// This many headline flows: per sector for one date, over the dates for several.
    Flows(usize),
    /// The effective rate of protection at the last date.
    Erp(erp_bars::Focus),
}

/// The main panel, resolved against the result before anything is drawn, so
/// a chart it cannot have fails with its reason rather than half drawn.
enum Main {
    Flows(usize),
    Erp(erp_bars::ErpBars),
}

/// Draws `result`: per-sector bars of the headline flows for one date, their
/// series over the dates for a timeline, or the ERP bars; below them, when
/// the result has a tornado, the tornado of the last date for `pick`.
pub fn render(result: &ScenarioResult, kind: &Kind, pick: Option<&Pick>) -> anyhow::Result<String> {
    let main = match kind {
        Kind::Flows(count) => Main::Flows(*count),
        Kind::Erp(focus) => Main::Erp(erp_bars::select(result, focus)?),
    };
    let (width, height) = match (&main, result.impacts.as_slice()) {
        (_, []) => anyhow::bail!("the result has no dates to chart"),
        (Main::Erp(_), _) => erp::SIZE,
        (Main::Flows(_), [_]) => flows::SIZE,
        (Main::Flows(_), _) => timeline::SIZE,
    };
    let below = result.impacts.last().filter(|i| !i.sensitivity.is_empty()).zip(pick);
    let tornado_height = below.map_or(0, |_| tornado::HEIGHT);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height + tornado_height)).into_drawing_area();
        drawn(root.fill(&WHITE))?;
        let (top, bottom) = root.split_vertically(height);
        match (&main, result.impacts.as_slice()) {
            (Main::Erp(bars), _) => erp::draw(&top, result, bars)?,
            (Main::Flows(count), [one]) => flows::draw(&top, result, one, *count)?,
            (Main::Flows(count), _) => timeline::draw(&top, result, *count)?,
        }
        if let Some((impact, pick)) = below {
            tornado::draw(&bottom, result, impact, pick)?;
        }
        drawn(root.present())?;
    }
    Ok(svg)
}

/// Writes an SVG to `path`; any failure is one line naming the path.
pub fn save(path: &Path, svg: &str) -> anyhow::Result<()> {
    std::fs::write(path, svg).with_context(|| format!("--chart {}: cannot write the chart", path.display()))
}

/// `render` then `save`.
pub fn write(result: &ScenarioResult, kind: &Kind, pick: Option<&Pick>, path: &Path) -> anyhow::Result<()> {
    let svg = render(result, kind, pick).with_context(|| format!("--chart {}", path.display()))?;
    save(path, &svg)
}

/// The result's name for titles, cut to what fits on the picture.
fn scenario_name(result: &ScenarioResult) -> String {
    let name = if result.scenario_name.is_empty() { &result.scenario_id } else { &result.scenario_name };
    clipped(name, 80)
}

/// `text`, cut to `max` characters with an ellipsis: SVG text does not wrap,
/// and what runs past the edge is lost.
fn clipped(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A value range that contains 0 and every value, with some air around it.
fn padded_range(values: impl IntoIterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut low, mut high) = (0.0f64, 0.0f64);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        low = low.min(v);
        high = high.max(v);
    }
    if high - low < 1e-9 {
        return -1.0..1.0;
    }
    let air = (high - low) * 0.08;
    (if low < 0.0 { low - air } else { low })..(if high > 0.0 { high + air } else { high })
}

/// A legend in its own column, so it never hides data: a swatch and a name
/// per series, under a heading.
fn legend(area: &Area, heading: &str, entries: &[(String, RGBColor)]) -> anyhow::Result<()> {
    let (x, mut y) = (12, 40);
    drawn(area.draw(&Text::new(
        heading.to_owned(),
        (x, y),
        ("sans-serif", 15).into_font().style(FontStyle::Bold),
    )))?;
    for (name, colour) in entries {
        y += 26;
        drawn(area.draw(&Rectangle::new([(x, y - 7), (x + 22, y + 7)], colour.filled())))?;
        drawn(area.draw(&Text::new(name.clone(), (x + 30, y - 8), ("sans-serif", 17))))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        assert_eq!(clipped("JPN→USA", 7), "JPN→USA");
        assert_eq!(clipped("abcdefgh", 5), "abcd…");
    }

    #[test]
    fn ranges_hold_zero_and_every_value() {
        assert_eq!(padded_range([]), -1.0..1.0);
        let r = padded_range([-10.0, f64::NAN, 5.0]);
        assert!(r.start < -10.0 && r.end > 5.0, "{r:?}");
        let r = padded_range([2.0, 4.0]);
        assert!(r.start == 0.0 && r.end > 4.0, "{r:?}");
    }
}
