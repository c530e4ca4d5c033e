//! An x axis of evenly spaced slots (sectors, economies, dates), each named
//! by its label under its centre. Positions are fractional so that grouped
//! bars can share a slot; slot `i` is centred on `i`.

use std::ops::Range;

use plotters::{
    coord::{
        ranged1d::{DefaultFormatting, KeyPointHint, Ranged},
        types::RangedCoordf64,
    },
    prelude::*,
};

use super::drawn;

#[derive(Debug, Clone)]
pub struct Slots {
    /// Labels under these slots (every one while they fit).
    labelled: Vec<usize>,
    range: Range<f64>,
}

impl Slots {
    /// `count` slots with `air` (in slots) before the first centre and after
    /// the last, labelled every `step` slots.
    pub fn new(count: usize, air: f64, step: usize) -> Slots {
        let last = count.saturating_sub(1) as f64;
        Slots { labelled: (0..count).step_by(step.max(1)).collect(), range: -air..last + air }
    }
}

impl Ranged for Slots {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        let share = if span > 0.0 { (value - self.range.start) / span } else { 0.5 };
        limit.0 + (share * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Bold points only: no light mesh lines between slots.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.labelled.iter().map(|&i| i as f64).collect()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// A bar chart over slots.
pub type SlotChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Slots, RangedCoordf64>>;

/// What the axes of a [`SlotChart`] say.
pub struct BarAxes<'l> {
    /// One per slot, in slot order.
    pub labels: &'l [&'l str],
    pub x_desc: Option<&'l str>,
    pub y_desc: &'l str,
    pub desc_size: u32,
}

/// The mesh of a bar chart over slots (the slots' labels under them, the
/// value axis in whole units, no vertical lines), and the zero line, which the
/// bars grow from and which the eye should find at once.
pub fn bar_axes(chart: &mut SlotChart<'_, '_>, axes: &BarAxes<'_>) -> anyhow::Result<()> {
    let label = |x: &f64| axes.labels.get(x.round() as usize).map_or_else(String::new, |l| (*l).to_owned());
    let mut mesh = chart.configure_mesh();
    mesh.max_light_lines(1)
        .disable_x_mesh()
        .y_desc(axes.y_desc)
        .x_label_formatter(&label)
        .y_label_formatter(&|v: &f64| format!("{v:.0}"))
        .axis_desc_style(("sans-serif", axes.desc_size))
        .label_style(("sans-serif", 15));
    if let Some(x_desc) = axes.x_desc {
        mesh.x_desc(x_desc);
    }
    drawn(mesh.draw())?;
    let slots = axes.labels.len().max(1) as f64;
    drawn(chart.draw_series(std::iter::once(PathElement::new(
        vec![(-0.5, 0.0), (slots - 0.5, 0.0)],
        BLACK.stroke_width(1),
    ))))?;
    Ok(())
}
