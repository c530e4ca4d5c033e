//! Several dates: the headline flows' value change over the dates, and below
//! it the effective tariff of the economies importing them.

use plotters::prelude::*;
use tariff_proto::v1::{Impact, ScenarioResult};

use super::{
    Area, LEGEND_WIDTH, Slots, colour, drawn, headline::flow_totals, headline_flows, legend, padded_range,
    scenario_name,
};

pub const SIZE: (u32, u32) = (1100, 860);
/// About this many pixels per date label, so labels never run into each other.
const LABEL_PIXELS: u32 = 95;

/// A named line over the dates; `None` where a date has no value.
struct Series {
    name: String,
    colour: RGBColor,
    points: Vec<Option<f64>>,
}

/// One panel: lines over the dates on the left, their legend on the right.
struct Panel<'a> {
    dates: &'a [&'a str],
    y_desc: &'a str,
    legend: &'a str,
    series: &'a [Series],
}

fn draw_panel(area: &Area, panel: &Panel) -> anyhow::Result<()> {
    let (plot, side) = area.split_horizontally(SIZE.0 - LEGEND_WIDTH);
    let n = panel.dates.len();
    // Every date gets a label while they fit, then every second, third...
    let fit = ((SIZE.0 - LEGEND_WIDTH) / LABEL_PIXELS).max(2) as usize;
    let step = n.div_ceil(fit).max(1);
    let y_range = padded_range(panel.series.iter().flat_map(|s| s.points.iter().flatten().copied()));
    let mut chart = drawn(
        ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(Slots::new(n, 0.3, step), y_range),
    )?;
    let date_label =
        |x: &f64| panel.dates.get(x.round() as usize).map_or_else(String::new, |d| (*d).to_owned());
    drawn(
        chart
            .configure_mesh()
            .max_light_lines(1)
            .y_desc(panel.y_desc)
            .x_label_formatter(&date_label)
            .y_label_formatter(&|v: &f64| format!("{v:.1}"))
            .axis_desc_style(("sans-serif", 17))
            .label_style(("sans-serif", 15))
            .draw(),
    )?;
    for s in panel.series {
        let points: Vec<(f64, f64)> =
            s.points.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i as f64, v))).collect();
        drawn(chart.draw_series(LineSeries::new(points.iter().copied(), s.colour.stroke_width(3))))?;
        drawn(chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, s.colour.filled()))))?;
    }
    if panel.series.is_empty() {
        drawn(plot.draw(&Text::new("no flow between economies changed", (100, 40), ("sans-serif", 18))))?;
    }
    let entries: Vec<(String, RGBColor)> = panel.series.iter().map(|s| (s.name.clone(), s.colour)).collect();
    legend(&side, panel.legend, &entries)
}

/// The economy's trade-weighted tariff on its imports after the scenario, percent.
fn tariff_after(impact: &Impact, economy: &str) -> Option<f64> {
    impact
        .economies
        .iter()
        .find(|e| e.economy == economy)
        .map(|e| e.effective_tariff_pct.unwrap_or_default().after)
}

/// Draws on `root`, an area of [`SIZE`].
pub fn draw(root: &Area, result: &ScenarioResult, count: usize) -> anyhow::Result<()> {
    let impacts = &result.impacts;
    let pairs = headline_flows(impacts, count);
    let totals: Vec<_> = impacts.iter().map(flow_totals).collect();
    let flows: Vec<Series> = pairs
        .iter()
        .enumerate()
        .map(|(j, pair)| Series {
            name: pair.label(),
            colour: colour(j),
            points: totals.iter().map(|t| t.get(pair).map(|t| t.change_pct())).collect(),
        })
        .collect();
    let mut importers: Vec<&str> = Vec::new();
    for pair in &pairs {
        if !importers.contains(&pair.importer.as_str()) {
            importers.push(&pair.importer);
        }
    }
    let tariffs: Vec<Series> = importers
        .iter()
        .enumerate()
        .map(|(j, economy)| Series {
            name: format!("{economy} tariff after"),
            // Colours after the flows', so no tariff line looks like a flow.
            colour: colour(pairs.len() + j),
            points: impacts.iter().map(|i| tariff_after(i, economy)).collect(),
        })
        .collect();
    let dates: Vec<&str> = impacts.iter().map(|i| i.date.as_str()).collect();

    {
        drawn(root.fill(&WHITE))?;
        let (first, last) = (dates.first().unwrap_or(&""), dates.last().unwrap_or(&""));
        let title = format!("{} — {first} to {last}", scenario_name(result));
        let body = drawn(root.titled(&title, ("sans-serif", 24)))?;
        let (top, bottom) = body.split_vertically((SIZE.1 - 40) * 58 / 100);
        let flows_panel = Panel {
            dates: &dates,
            y_desc: "change in value vs base year, %",
            legend: "headline flows",
            series: &flows,
        };
        draw_panel(&top, &flows_panel)?;
        let tariffs_panel = Panel {
            dates: &dates,
            y_desc: "effective tariff after, %",
            legend: "importers' tariff",
            series: &tariffs,
        };
        draw_panel(&bottom, &tariffs_panel)?;
    }
    Ok(())
}
