//! An x axis of evenly spaced slots (sectors, economies, dates), each named
//! by its label under its centre. Positions are fractional so that grouped
//! bars can share a slot; slot `i` is centred on `i`.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

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
