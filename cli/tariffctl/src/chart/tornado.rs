//! The tornado: for the groups that move one figure most, a bar from the point
//! estimate to the figure at the low end of the group's range and one to the
//! figure at its high end; the largest swing on top.

use plotters::prelude::*;
use tariff_proto::v1::{Impact, ScenarioResult};

use super::{Area, LEGEND_WIDTH, Slots, colour, drawn, legend, padded_range};
use crate::tornado::{self, Pick, describe, number};

/// The panel's height, under the main chart.
pub const HEIGHT: u32 = 520;
/// The y axis' labels: group names and their ranges.
const LABEL_WIDTH: u32 = 250;

/// The colours of the low and the high end (after the flows' first two, so
/// the ends never look like a flow of the chart above).
fn end_colours() -> [RGBColor; 2] {
    [colour(8), colour(9)]
}

pub fn draw(area: &Area, result: &ScenarioResult, impact: &Impact, pick: &Pick) -> anyhow::Result<()> {
    let (point, mut bars) = tornado::bars(impact, pick);
    bars.truncate(tornado::ROWS);
    let f = pick.figure;
    let (name, pct) = describe(f);
    let unit = if pct { String::new() } else { format!(", {} {}", result.currency, result.unit) };
    let title = format!(
        "Sensitivity of {} {name}{unit}, {} (point estimate {})",
        pick.economy,
        impact.date,
        number(f, point)
    );
    let body = drawn(area.titled(&title, ("sans-serif", 20)))?;
    let (plot, side) = body.split_horizontally(area.dim_in_pixel().0 - LEGEND_WIDTH);

    let rows = bars.len();
    // The largest swing on top: row i sits at y = rows - 1 - i.
    let y_of = |i: usize| (rows - 1 - i) as f64;
    let labels: Vec<String> =
        bars.iter().map(|b| format!("{} {:.1} to {:.1}", b.name, b.low, b.high)).collect();
    let x_range = {
        let r = padded_range(bars.iter().flat_map(|b| [b.at_low - point, b.at_high - point]));
        (point + r.start)..(point + r.end)
    };
    let mut chart = drawn(
        ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(LABEL_WIDTH)
            .build_cartesian_2d(x_range, Slots::new(rows.max(1), 0.6, 1)),
    )?;
    let label = |y: &f64| {
        let i = rows.checked_sub(1 + y.round().max(0.0) as usize);
        i.and_then(|i| labels.get(i)).cloned().unwrap_or_default()
    };
    drawn(
        chart
            .configure_mesh()
            .max_light_lines(1)
            .disable_y_mesh()
            .x_desc(format!("{name}{unit}"))
            .y_label_formatter(&label)
            .x_label_formatter(&|v: &f64| if pct { number(f, *v) } else { format!("{v:.0}") })
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 14))
            .draw(),
    )?;
    let [low_colour, high_colour] = end_colours();
    for (i, b) in bars.iter().enumerate() {
        let y = y_of(i);
        for (value, c) in [(b.at_low, low_colour), (b.at_high, high_colour)] {
            drawn(chart.draw_series(std::iter::once(Rectangle::new(
                [(point, y - 0.32), (value, y + 0.32)],
                c.mix(0.85).filled(),
            ))))?;
        }
    }
    // The point estimate, through every bar.
    drawn(chart.draw_series(std::iter::once(PathElement::new(
        vec![(point, -0.6), (point, rows as f64 - 0.4)],
        BLACK.stroke_width(2),
    ))))?;
    if bars.is_empty() {
        drawn(plot.draw(&Text::new("no elasticity group", (100, 60), ("sans-serif", 18))))?;
    }
    let entries =
        [("low end of range".to_owned(), low_colour), ("high end of range".to_owned(), high_colour)];
    legend(&side, "elasticity at", &entries)
}
