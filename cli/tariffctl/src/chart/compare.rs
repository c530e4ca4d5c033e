//! `compare --chart`: welfare change per economy, A and B side by side, one
//! panel per date compared.

use plotters::prelude::*;
use tariff_proto::v1::Impact;

use super::{Area, BarAxes, Slots, bar_axes, clipped, colour, drawn, padded_range};

const WIDTH: u32 = 1100;
const PANEL_HEIGHT: u32 = 380;
/// The title and, under it, which colour is which scenario.
const HEADER_HEIGHT: u32 = 100;

fn welfare(impact: &Impact, economy: &str) -> Option<f64> {
    impact.economies.iter().find(|e| e.economy == economy).map(|e| e.welfare_change)
}

fn panel(plot: &Area, a: &Impact, b: &Impact, unit: &str) -> anyhow::Result<()> {
    // A's economies in its order, then any only B has.
    let mut economies: Vec<&str> = a.economies.iter().map(|e| e.economy.as_str()).collect();
    for e in &b.economies {
        if !economies.contains(&e.economy.as_str()) {
            economies.push(&e.economy);
        }
    }
    let values: [Vec<Option<f64>>; 2] =
        [a, b].map(|impact| economies.iter().map(|e| welfare(impact, e)).collect());
    let caption =
        if a.date == b.date { a.date.clone() } else { format!("A {} vs B {} (by position)", a.date, b.date) };
    let mut chart = drawn(
        ChartBuilder::on(plot)
            .margin(12)
            .caption(caption, ("sans-serif", 18))
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(
                Slots::new(economies.len(), 0.5, 1),
                padded_range(values.iter().flatten().flatten().copied()),
            ),
    )?;
    let y_desc = format!("welfare change, {unit}");
    bar_axes(&mut chart, &BarAxes { labels: &economies, x_desc: None, y_desc: &y_desc, desc_size: 16 })?;
    for (j, series) in values.iter().enumerate() {
        let style = colour(j).filled();
        let x_offset = if j == 0 { -0.38 } else { 0.02 };
        drawn(chart.draw_series(series.iter().enumerate().filter_map(|(i, v)| {
            v.map(|v| Rectangle::new([(i as f64 + x_offset, 0.0), (i as f64 + x_offset + 0.36, v)], style))
        })))?;
    }
    Ok(())
}

/// The title, then a swatch and the name of each scenario, across the width:
/// names can be long.
fn header(area: &Area, names: [&str; 2]) -> anyhow::Result<()> {
    let bold = ("sans-serif", 22).into_font().style(FontStyle::Bold);
    drawn(area.draw(&Text::new("Welfare change per economy, A vs B", (20, 12), bold)))?;
    for (j, name) in names.iter().enumerate() {
        let y = 50 + 24 * j as i32;
        drawn(area.draw(&Rectangle::new([(20, y), (42, y + 14)], colour(j).filled())))?;
        let text = clipped(&format!("{}: {name}", if j == 0 { "A" } else { "B" }), 115);
        drawn(area.draw(&Text::new(text, (50, y), ("sans-serif", 16))))?;
    }
    Ok(())
}

/// Grouped bars of welfare change per economy, A against B, for each pair of
/// impacts compared. `names` are the two scenarios' names.
pub fn draw_welfare(pairs: &[(&Impact, &Impact)], names: [&str; 2], unit: &str) -> anyhow::Result<String> {
    let height = HEADER_HEIGHT + PANEL_HEIGHT * pairs.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        drawn(root.fill(&WHITE))?;
        let (top, body) = root.split_vertically(HEADER_HEIGHT);
        header(&top, names)?;
        let panels = body.split_evenly((pairs.len().max(1), 1));
        for ((a, b), area) in pairs.iter().zip(&panels) {
            panel(area, a, b, unit)?;
        }
        drawn(root.present())?;
    }
    Ok(svg)
}
