//! The tornado: for the groups that move one figure most, a bar from the point
//! estimate to the figure at the low end of the group's range and one to the
//! figure at its high end; the largest swing on top.

use plotters::prelude::*;
use tariff_proto::v1::{Impact, ScenarioResult};

use super::{Area, LEGEND_WIDTH, colour, drawn, legend, padded_range, rows};
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
    let labels: Vec<String> =
        bars.iter().map(|b| format!("{} {:.1} to {:.1}", b.name, b.low, b.high)).collect();
    let x_range = {
        let r = padded_range(bars.iter().flat_map(|b| [b.at_low - point, b.at_high - point]));
        (point + r.start)..(point + r.end)
    };
    let mut chart = rows::frame(
        &plot,
        &rows::Frame { labels: &labels, label_width: LABEL_WIDTH, x_range, figure: f, unit: &unit },
    )?;
    let [low_colour, high_colour] = end_colours();
    for (i, b) in bars.iter().enumerate() {
        let y = rows::y_of(rows, i);
        for (value, c) in [(b.at_low, low_colour), (b.at_high, high_colour)] {
            rows::bar(&mut chart, y, (point, value), c)?;
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
