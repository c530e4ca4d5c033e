//! One date: grouped bars, per sector, of the headline flows' value change.

use plotters::prelude::*;
use tariff_proto::v1::{Impact, ScenarioResult, SectorImpact};

use super::{
    Area, BarAxes, FlowPair, LEGEND_WIDTH, Slots, bar_axes, colour, drawn, headline_flows, legend,
    padded_range, scenario_name,
};

pub const SIZE: (u32, u32) = (1100, 620);
/// The share of a sector's slot that its bars take.
const GROUP_WIDTH: f64 = 0.8;

/// The flow's value change in the sector, percent; none where the sector has
/// no such flow.
fn sector_change_pct(sector: &SectorImpact, pair: &FlowPair) -> Option<f64> {
    sector
        .flows
        .iter()
        .find(|f| f.exporter == pair.exporter && f.importer == pair.importer)
        .map(|f| f.value.unwrap_or_default().change_pct)
}

/// Draws on `root`, an area of [`SIZE`].
pub fn draw(root: &Area, result: &ScenarioResult, impact: &Impact, count: usize) -> anyhow::Result<()> {
    let pairs = headline_flows(std::slice::from_ref(impact), count);
    // Sectors as the result lists them: the dataset's order.
    let sectors: Vec<&str> = impact.sectors.iter().map(|s| s.sector.as_str()).collect();
    let values: Vec<Vec<Option<f64>>> =
        pairs.iter().map(|p| impact.sectors.iter().map(|s| sector_change_pct(s, p)).collect()).collect();

    {
        drawn(root.fill(&WHITE))?;
        let title = format!("{} — {}", scenario_name(result), impact.date);
        let body = drawn(root.titled(&title, ("sans-serif", 24)))?;
        let (plot, side) = body.split_horizontally(SIZE.0 - LEGEND_WIDTH);

        let y_range = padded_range(values.iter().flatten().flatten().copied());
        let mut chart = drawn(
            ChartBuilder::on(&plot)
                .margin(12)
                .x_label_area_size(44)
                .y_label_area_size(72)
                .build_cartesian_2d(Slots::new(sectors.len(), 0.5, 1), y_range),
        )?;
        let axes =
            BarAxes { labels: &sectors, x_desc: Some("sector"), y_desc: "change in value, %", desc_size: 17 };
        bar_axes(&mut chart, &axes)?;

        let width = GROUP_WIDTH / pairs.len().max(1) as f64;
        for (j, series) in values.iter().enumerate() {
            let style = colour(j).filled();
            let bars = series.iter().enumerate().filter_map(|(i, v)| {
                let x0 = i as f64 - GROUP_WIDTH / 2.0 + j as f64 * width;
                v.map(|v| Rectangle::new([(x0 + width * 0.08, 0.0), (x0 + width * 0.92, v)], style))
            });
            drawn(chart.draw_series(bars))?;
        }
        if pairs.is_empty() {
            drawn(plot.draw(&Text::new("no flow between economies changed", (100, 60), ("sans-serif", 18))))?;
        }

        let entries: Vec<(String, RGBColor)> =
            pairs.iter().enumerate().map(|(j, p)| (p.label(), colour(j))).collect();
        legend(&side, "headline flows", &entries)?;
    }
    Ok(())
}
