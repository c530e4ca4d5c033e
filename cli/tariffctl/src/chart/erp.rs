//! The ERP chart: per slot (an economy of one sector, or a sector of one
//! economy), a bar of the effective rate of protection before and one after,
//! each with its value, at one date.

use plotters::{
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};
use tariff_proto::v1::ScenarioResult;

use super::{
    Area, BarAxes, LEGEND_WIDTH, Slots, bar_axes, clipped, colour, drawn,
    erp_bars::{Across, ErpBars},
    legend, padded_range, scenario_name,
};

pub const SIZE: (u32, u32) = (1100, 620);
/// The share of a slot that its two bars take.
const GROUP_WIDTH: f64 = 0.7;

/// The colours of before and after: grey for what was, the first series
/// colour for what the scenario makes of it.
fn colours() -> [RGBColor; 2] {
    [colour(7), colour(0)]
}

/// Draws `bars` on `root`, an area of [`SIZE`].
pub fn draw(root: &Area, result: &ScenarioResult, bars: &ErpBars) -> anyhow::Result<()> {
    drawn(root.fill(&WHITE))?;
    let (what, x_desc) = match bars.across {
        Across::Economies => (format!("{} by economy", bars.subject), "economy"),
        Across::Sectors => (format!("{} by sector", bars.subject), "sector (with inputs)"),
    };
    let title = format!(
        "{} — {}: effective rate of protection, {what}",
        clipped(&scenario_name(result), 50),
        bars.date
    );
    let body = drawn(root.titled(&title, ("sans-serif", 22)))?;
    let (plot, side) = body.split_horizontally(SIZE.0 - LEGEND_WIDTH);

    let slots = bars.bars.len();
    let y_range = padded_range(bars.bars.iter().flat_map(|b| [b.before, b.after]));
    let mut chart = drawn(
        ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(72)
            .build_cartesian_2d(Slots::new(slots, 0.5, 1), y_range.clone()),
    )?;
    // The zero line: an ERP below it means the tariffs on inputs outweigh
    // the one on the output.
    let labels: Vec<&str> = bars.bars.iter().map(|b| b.label.as_str()).collect();
    let y_desc = "effective rate of protection, %";
    bar_axes(&mut chart, &BarAxes { labels: &labels, x_desc: Some(x_desc), y_desc, desc_size: 17 })?;

    let width = GROUP_WIDTH / 2.0;
    // A value label sits just beyond its bar's end, outside the bar.
    let air = (y_range.end - y_range.start) * 0.02;
    for (j, c) in colours().into_iter().enumerate() {
        let values = bars.bars.iter().map(|b| if j == 0 { b.before } else { b.after });
        for (i, v) in values.enumerate() {
            let x0 = i as f64 - GROUP_WIDTH / 2.0 + j as f64 * width;
            drawn(chart.draw_series(std::iter::once(Rectangle::new(
                [(x0 + width * 0.08, 0.0), (x0 + width * 0.92, v)],
                c.filled(),
            ))))?;
            let y = if v >= 0.0 { v + air } else { v - air };
            let anchor = if v >= 0.0 { VPos::Bottom } else { VPos::Top };
            let style = ("sans-serif", 12).into_font().color(&BLACK).pos(Pos::new(HPos::Center, anchor));
            drawn(chart.draw_series(std::iter::once(Text::new(
                format!("{v:.1}"),
                (x0 + width / 2.0, y),
                style,
            ))))?;
        }
    }

    let [before, after] = colours();
    let entries = [("before".to_owned(), before), ("after".to_owned(), after)];
    legend(&side, "ERP", &entries)
}
