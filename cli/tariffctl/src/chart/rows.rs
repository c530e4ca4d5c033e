//! The frame of a chart of horizontal bars, one row per bar, the first on
//! top, each named on the y axis: the tornado and the waterfall.

use std::ops::Range;

use plotters::{coord::types::RangedCoordf64, prelude::*};
use tariff_proto::v1::Figure;

use super::{Area, Slots, drawn};
use crate::tornado::{describe, number};

/// The chart a row chart draws on: values across, rows down.
pub type RowChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, Slots>>;

/// How a row chart is laid out and labelled.
pub struct Frame<'l> {
    /// Each row's name, first row first.
    pub labels: &'l [String],
    /// Pixels for the names on the left.
    pub label_width: u32,
    pub x_range: Range<f64>,
    /// The figure across, and its unit (`, USD million`; empty for percentages).
    pub figure: Figure,
    pub unit: &'l str,
}

/// The y position of row `i` of `rows`: the first on top.
pub fn y_of(rows: usize, i: usize) -> f64 {
    rows.saturating_sub(1 + i) as f64
}

/// Builds the chart on `plot` and draws its axes, names and light grid.
pub fn frame<'a, 'b>(plot: &'a Area<'b>, frame: &Frame) -> anyhow::Result<RowChart<'a, 'b>> {
    let rows = frame.labels.len();
    let (name, pct) = describe(frame.figure);
    let x_format = |v: &f64| if pct { number(frame.figure, *v) } else { format!("{v:.0}") };
    let mut chart = drawn(
        ChartBuilder::on(plot)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(frame.label_width)
            .build_cartesian_2d(frame.x_range.clone(), Slots::new(rows.max(1), 0.6, 1)),
    )?;
    let label = |y: &f64| {
        let i = rows.checked_sub(1 + y.round().max(0.0) as usize);
        i.and_then(|i| frame.labels.get(i)).cloned().unwrap_or_default()
    };
    drawn(
        chart
            .configure_mesh()
            .max_light_lines(1)
            .disable_y_mesh()
            .x_desc(format!("{name}{}", frame.unit))
            .y_label_formatter(&label)
            .x_label_formatter(&x_format)
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 14))
            .draw(),
    )?;
    Ok(chart)
}

/// A bar of row `y` from `from` to `to`.
pub fn bar(chart: &mut RowChart, y: f64, (from, to): (f64, f64), colour: RGBColor) -> anyhow::Result<()> {
    drawn(chart.draw_series(std::iter::once(Rectangle::new(
        [(from, y - 0.32), (to, y + 0.32)],
        colour.mix(0.85).filled(),
    ))))?;
    Ok(())
}
