//! The factors of one draw. Every number a draw uses comes from (seed, draw,
//! group) alone, through SplitMix64's output function at a counter, so a draw
//! is the same whichever thread or worker computes it and whatever else is
//! drawn: results cannot depend on how the draws are split.

use super::plan::{Group, Plan, Shape};

/// SplitMix64's increment (the golden ratio in 64 bits).
pub(crate) const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The standard normal's 95th percentile: log-normal ranges put their ends at
/// the 5th and 95th percentiles.
const Z95: f64 = 1.644_853_626_951_472_2;

/// SplitMix64's output function (Steele, Lea and Flood 2014).
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The generator state of draw `draw` under `seed`.
fn draw_state(seed: u64, draw: u32) -> u64 {
    mix(mix(seed.wrapping_add(GAMMA)).wrapping_add(u64::from(draw).wrapping_add(1).wrapping_mul(GAMMA)))
}

/// The `k`-th output of a SplitMix64 generator started at `state`, as a
/// uniform number strictly between 0 and 1 (53 bits, centred in its cell).
fn uniform_at(state: u64, k: u64) -> f64 {
    let bits = mix(state.wrapping_add(k.wrapping_add(1).wrapping_mul(GAMMA))) >> 11;
    (bits as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// A group's factor from two uniforms. Degenerate ranges (zero spread) give
/// exactly 1, the point estimate.
fn factor(group: &Group, u1: f64, u2: f64) -> f64 {
    let (low, high) = group.factor_bounds();
    if low == 1.0 && high == 1.0 {
        return 1.0;
    }
    match group.shape {
        Shape::Uniform => low + u1 * (high - low),
        Shape::Triangular => {
            // Inverse CDF of the triangle low..high with its mode at 1.
            let width = high - low;
            let cut = (1.0 - low) / width;
            if u1 < cut {
                low + (u1 * width * (1.0 - low)).sqrt()
            } else {
                high - ((1.0 - u1) * width * (high - 1.0)).sqrt()
            }
        }
        Shape::LogNormal => {
            // Box-Muller; one normal per group, the other is left unused so
            // that every group always takes the same two numbers.
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            let sigma = if z < 0.0 { -low.ln() / Z95 } else { high.ln() / Z95 };
            (z * sigma).exp()
        }
    }
}

impl Plan {
    /// The factor of every group in draw `draw`, into `out` (cleared first).
    pub(crate) fn factors(&self, draw: u32, out: &mut Vec<f64>) {
        let state = draw_state(self.seed, draw);
        out.clear();
        out.extend(self.groups.iter().enumerate().map(|(g, group)| {
            let k = 2 * g as u64;
            factor(group, uniform_at(state, k), uniform_at(state, k + 1))
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uncertainty::plan::Parameter;

    fn group(low: f64, high: f64, shape: Shape) -> Group {
        Group {
            sector: 0,
            parameter: Parameter::Substitution,
            value: 8.0,
            factor_at_low: low,
            factor_at_high: high,
            shape,
        }
    }

    fn sample(g: &Group, n: u32) -> Vec<f64> {
        let state = draw_state(7, 0);
        (0..u64::from(n)).map(|k| factor(g, uniform_at(state, 2 * k), uniform_at(state, 2 * k + 1))).collect()
    }

    #[test]
    fn uniforms_are_strictly_inside_the_unit_interval_and_look_uniform() {
        let state = draw_state(42, 3);
        let u: Vec<f64> = (0..100_000).map(|k| uniform_at(state, k)).collect();
        assert!(u.iter().all(|&x| x > 0.0 && x < 1.0));
        let mean = u.iter().sum::<f64>() / u.len() as f64;
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
        let below_tenth = u.iter().filter(|&&x| x < 0.1).count() as f64 / u.len() as f64;
        assert!((below_tenth - 0.1).abs() < 0.005, "{below_tenth}");
    }

    #[test]
    fn draws_and_seeds_give_different_streams() {
        assert_ne!(draw_state(1, 0), draw_state(1, 1));
        assert_ne!(draw_state(1, 0), draw_state(2, 0));
        assert_eq!(draw_state(1, 5), draw_state(1, 5));
    }

    #[test]
    fn factors_stay_in_their_range_with_the_mode_or_median_at_one() {
        for shape in [Shape::Triangular, Shape::Uniform] {
            let f = sample(&group(0.7, 1.66, shape), 20_000);
            assert!(f.iter().all(|&x| (0.7..=1.66).contains(&x)), "{shape:?}");
        }
        // Log-normal: 5% below the low end and 5% above the high end.
        let f = sample(&group(0.7, 1.66, Shape::LogNormal), 40_000);
        let share =
            |pred: &dyn Fn(f64) -> bool| f.iter().filter(|&&x| pred(x)).count() as f64 / f.len() as f64;
        assert!((share(&|x| x < 0.7) - 0.05).abs() < 0.006);
        assert!((share(&|x| x > 1.66) - 0.05).abs() < 0.006);
        assert!((share(&|x| x < 1.0) - 0.5).abs() < 0.01);
        // Triangular with its mode at 1: the share below 1 is (1 - low) / (high - low).
        let f = sample(&group(0.7, 1.66, Shape::Triangular), 40_000);
        let below = f.iter().filter(|&&x| x < 1.0).count() as f64 / f.len() as f64;
        assert!((below - 0.3 / 0.96).abs() < 0.01, "{below}");
    }

    #[test]
    fn a_collapsed_range_gives_exactly_one() {
        for shape in [Shape::Triangular, Shape::Uniform, Shape::LogNormal] {
            assert!(sample(&group(1.0, 1.0, shape), 100).iter().all(|&x| x.to_bits() == 1.0f64.to_bits()));
        }
    }
}
