//! Samples into bands: the chunks of a job's draws checked and put back in draw
//! order, then p5, p50, p95 and the mean of every headline figure.

use tariff_proto::v1 as pb;

use super::headline::{FIGURES, Headline, bands_proto, headline};

/// Why chunks of draws do not make the result's bands.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    /// The point estimate asks for no draws.
    #[error("the result has no uncertainty draws to merge")]
    NoDraws,
    /// A chunk of another scenario or seed.
    #[error("chunk at draw {first_draw}: seed {found}, the scenario's is {expected}")]
    Seed { first_draw: u32, expected: u64, found: u64 },
    /// A chunk whose dates, economies or figures are not the result's.
    #[error("chunk at draw {first_draw}: its {what} are not the result's")]
    Layout { first_draw: u32, what: &'static str },
    /// A chunk with the wrong number of values for its draws.
    #[error("chunk at draw {first_draw}: {found} values for {draws} draws, {expected} expected")]
    Values { first_draw: u32, draws: u32, expected: usize, found: usize },
    /// Two chunks hold the same draw.
    #[error("draw {draw} is in more than one chunk")]
    Overlap { draw: u32 },
    /// No chunk holds these draws.
    #[error("draws {start}..{end} are in no chunk")]
    Missing { start: u32, end: u32 },
    /// A chunk reaches past the scenario's draws.
    #[error("chunk at draw {first_draw} ends at draw {end}, past the scenario's {draws} draws")]
    PastEnd { first_draw: u32, end: u64, draws: u32 },
    /// A sector chunk whose dates are not the result's.
    #[error("sector chunk {chunk}: its dates are not the result's")]
    SectorDates { chunk: usize },
    /// A sector chunk with a sector out of the dataset's order, or not in it.
    #[error("sector chunk {chunk}: sector `{sector}` is out of order or not in the dataset")]
    SectorOrder { chunk: usize, sector: String },
    /// The sector chunks do not cover every sector.
    #[error("at {date}, the sector chunks hold {found} of the {expected} sectors")]
    SectorsMissing { date: String, found: usize, expected: usize },
}

/// The value at position `p * (n - 1)` of the sorted sample, interpolating
/// linearly between neighbours. Equal neighbours give their value exactly.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let Some(&last) = sorted.last() else { return 0.0 };
    let h = p * (sorted.len() - 1) as f64;
    let below = h.floor() as usize;
    let (Some(&a), Some(&b)) = (sorted.get(below), sorted.get(below + 1)) else { return last };
    let frac = h - below as f64;
    if a == b || frac == 0.0 { a } else { a + frac * (b - a) }
}

/// The band of one figure's sample (in draw order); `point` is the point
/// estimate, around which the mean is summed so that a sample of nothing but
/// the point estimate has it as its mean exactly.
fn band(sample: &mut [f64], point: f64) -> pb::Band {
    let deviation: f64 = sample.iter().map(|x| x - point).sum();
    let mean = if deviation == 0.0 { point } else { point + deviation / sample.len() as f64 };
    sample.sort_unstable_by(f64::total_cmp);
    pb::Band {
        p5: percentile(sample, 0.05),
        p50: percentile(sample, 0.5),
        p95: percentile(sample, 0.95),
        mean,
    }
}

/// Fills the bands of every impact of `point` (a [`point_estimate`] with
/// draws) from the samples of its draws: chunks in any order that together hold
/// draws `0..draws` exactly once. The bands depend only on the samples, so a
/// job split into chunks gives the same bytes as one computed whole.
///
/// [`point_estimate`]: crate::PreparedScenario::point_estimate
pub fn merge_draws(
    mut point: pb::ScenarioResult,
    chunks: impl IntoIterator<Item = pb::DrawSamples>,
) -> Result<pb::ScenarioResult, MergeError> {
    let (draws, seed) = match &point.uncertainty {
        Some(u) if u.draws > 0 => (u.draws, u.seed),
        _ => return Err(MergeError::NoDraws),
    };
    let dates: Vec<&str> = point.impacts.iter().map(|i| i.date.as_str()).collect();
    let economies: Vec<&str> = point
        .impacts
        .first()
        .map(|i| i.economies.iter().map(|e| e.economy.as_str()).collect())
        .unwrap_or_default();
    let figures: Vec<i32> = FIGURES.iter().map(|f| i32::from(*f)).collect();
    let stride = dates.len() * economies.len() * FIGURES.len();

    let mut chunks: Vec<pb::DrawSamples> = chunks.into_iter().collect();
    chunks.sort_unstable_by_key(|c| c.first_draw);
    let mut next = 0u32;
    for c in &chunks {
        let first_draw = c.first_draw;
        if c.seed != seed {
            return Err(MergeError::Seed { first_draw, expected: seed, found: c.seed });
        }
        for (what, same) in [
            ("dates", c.dates.iter().map(String::as_str).eq(dates.iter().copied())),
            ("economies", c.economies.iter().map(String::as_str).eq(economies.iter().copied())),
            ("figures", c.figures == figures),
        ] {
            if !same {
                return Err(MergeError::Layout { first_draw, what });
            }
        }
        let expected = c.draws as usize * stride;
        if c.values.len() != expected {
            return Err(MergeError::Values { first_draw, draws: c.draws, expected, found: c.values.len() });
        }
        let end = u64::from(first_draw) + u64::from(c.draws);
        if end > u64::from(draws) {
            return Err(MergeError::PastEnd { first_draw, end, draws });
        }
        if first_draw < next {
            return Err(MergeError::Overlap { draw: first_draw });
        }
        if first_draw > next {
            return Err(MergeError::Missing { start: next, end: first_draw });
        }
        // A chunk of no draws holds nothing and moves nothing.
        next = first_draw + c.draws;
    }
    if next != draws {
        return Err(MergeError::Missing { start: next, end: draws });
    }

    // All draws in order, then one figure's sample at a time.
    let all: Vec<f64> = chunks.into_iter().flat_map(|c| c.values).collect();
    let mut sample = vec![0.0; draws as usize];
    let economies: Vec<String> = economies.iter().map(|e| (*e).to_owned()).collect();
    for (t, impact) in point.impacts.iter_mut().enumerate() {
        let mut bands = Vec::with_capacity(economies.len());
        for (e, economy) in economies.iter().enumerate() {
            let at_point: Headline = impact.economies.get(e).map(headline).unwrap_or_default();
            let mut of_economy = [pb::Band::default(); FIGURES.len()];
            for (f, slot) in of_economy.iter_mut().enumerate() {
                let offset = (t * economies.len() + e) * FIGURES.len() + f;
                for (d, x) in sample.iter_mut().enumerate() {
                    *x = all[d * stride + offset];
                }
                *slot = band(&mut sample, at_point[f]);
            }
            bands.push(bands_proto(economy, &of_economy));
        }
        impact.bands = bands;
    }
    Ok(point)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_on_the_sorted_sample() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&s, 0.5), 3.0);
        assert_eq!(percentile(&s, 0.05), 1.2);
        assert!((percentile(&s, 0.95) - 4.8).abs() < 1e-12);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn a_constant_sample_is_its_value_to_the_bit() {
        for v in [0.1, -0.0, 1e-300, -123.456] {
            let mut s = vec![v; 1001];
            let b = band(&mut s, v);
            for x in [b.p5, b.p50, b.p95, b.mean] {
                assert_eq!(x.to_bits(), v.to_bits(), "{v}");
            }
        }
    }
}
