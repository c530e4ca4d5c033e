//! The waterfall of contributions: from the baseline (no measure), each
//! player's contribution as a bar that starts where the one above ended, down
//! to the scenario's total; one economy, one figure, one date.

use std::path::Path;

use plotters::prelude::*;
use tariff_proto::v1::{Contributions, Figure, ScenarioResult};
use tariff_scenario::figure_of;

use super::{LEGEND_WIDTH, clipped, colour, drawn, legend, padded_range, rows, save, scenario_name};
use crate::{
    output::analysis::contributions::player_name,
    tornado::{describe, number},
};

const WIDTH: u32 = 1100;
const ROW_HEIGHT: u32 = 34;
const LABEL_WIDTH: u32 = 330;

/// One bar: its label, where it starts and where it ends.
struct Step {
    label: String,
    from: f64,
    to: f64,
    /// Baseline and total: from zero, in their own colour.
    whole: bool,
}

fn steps(c: &Contributions, date: usize, economy: &str, figure: Figure) -> anyhow::Result<Vec<Step>> {
    let d = c.dates.get(date).ok_or_else(|| anyhow::anyhow!("the contributions have no date {date}"))?;
    let e = d
        .total
        .iter()
        .position(|t| t.economy == economy)
        .ok_or_else(|| anyhow::anyhow!("--chart-economy {economy}: not an economy of the result"))?;
    let at =
        |f: Option<&tariff_proto::v1::EconomyFigures>| f.and_then(|f| figure_of(f, figure)).unwrap_or(0.0);
    let baseline = at(d.baseline.get(e));
    let mut steps = vec![Step { label: "baseline (no player)".into(), from: 0.0, to: baseline, whole: true }];
    let mut level = baseline;
    for (i, p) in d.players.iter().enumerate() {
        let v = at(p.contribution.get(e));
        let name = player_name(c, i);
        steps.push(Step { label: clipped(&name, 44), from: level, to: level + v, whole: false });
        level += v;
    }
    steps.push(Step { label: "total (the scenario)".into(), from: 0.0, to: at(d.total.get(e)), whole: true });
    Ok(steps)
}

/// Draws the waterfall of `economy`'s `figure` at the contributions' date
/// `date` into `path`.
pub fn write(
    result: &ScenarioResult,
    c: &Contributions,
    (date, economy, figure): (usize, &str, Figure),
    path: &Path,
) -> anyhow::Result<()> {
    let steps = steps(c, date, economy, figure)?;
    let rows = steps.len();
    let height = 120 + ROW_HEIGHT * rows as u32;
    let (name, pct) = describe(figure);
    let unit = if pct { String::new() } else { format!(", {} {}", result.currency, result.unit) };
    let when = c.dates.get(date).map_or("", |d| d.date.as_str());
    let how = if c.exact { "exact".to_owned() } else { format!("{} permutations", c.permutations) };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        drawn(root.fill(&WHITE))?;
        let title = format!(
            "{}: {economy} {name}{unit}, {when}, contributions ({how})",
            clipped(&scenario_name(result), 50)
        );
        let body = drawn(root.titled(&title, ("sans-serif", 18)))?;
        let (plot, side) = body.split_horizontally(WIDTH - LEGEND_WIDTH);
        let x_range = padded_range(steps.iter().flat_map(|s| [s.from, s.to]));
        let labels: Vec<String> =
            steps.iter().map(|s| format!("{}  {}", s.label, number(figure, s.to - s.from))).collect();
        let mut chart = rows::frame(
            &plot,
            &rows::Frame { labels: &labels, label_width: LABEL_WIDTH, x_range, figure, unit: &unit },
        )?;
        let [whole, up, down] = [colour(0), colour(2), colour(3)];
        for (i, s) in steps.iter().enumerate() {
            let y = rows::y_of(rows, i);
            let c = match (s.whole, s.to >= s.from) {
                (true, _) => whole,
                (false, true) => up,
                (false, false) => down,
            };
            rows::bar(&mut chart, y, (s.from, s.to), c)?;
            // A thin line from where this bar ends to where the next starts, so
            // the eye can follow the running level down the rows.
            if i + 1 < rows {
                drawn(chart.draw_series(std::iter::once(PathElement::new(
                    vec![(s.to, y - 0.32), (s.to, y - 0.68)],
                    BLACK.mix(0.5).stroke_width(1),
                ))))?;
            }
        }
        let entries = [
            ("baseline, total".to_owned(), whole),
            ("raises it".to_owned(), up),
            ("lowers it".to_owned(), down),
        ];
        legend(&side, "bars", &entries)?;
        drawn(root.present())?;
    }
    save(path, &svg)
}
