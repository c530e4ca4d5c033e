//! Deterministic synthetic markets for benchmarks and load tests.

use crate::Market;

/// Knuth's MMIX 64-bit linear congruential generator: tiny, seedable, no dependency.
struct Lcg(u64);

impl Lcg {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        // The top 53 bits are the best-mixed ones of an LCG.
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

/// `sectors` pseudo-random markets of `economies` economies, reproducible from `seed`.
///
/// Values span four orders of magnitude with about 15% zero off-diagonal flows;
/// domestic shipments are always positive, so every economy supplies and demands.
/// Base tariffs are 0-25%. Elasticities are set per sector, as in sector-level
/// data: `Em` in [-2, -0.5], `Es` in [1.5, 8], `Ex` in [1, 10] (every seventh
/// sector 99). The shock: economy 0 raises its tariff on every other economy by
/// 20 points. Returns an empty vector if `economies²` overflows `usize`.
pub fn synthetic_markets(economies: usize, sectors: usize, seed: u64) -> Vec<Market> {
    let n = economies;
    let Some(nn) = n.checked_mul(n) else {
        return Vec::new();
    };
    let mut rng = Lcg(seed ^ 0x9E37_79B9_7F4A_7C15);
    (0..sectors)
        .map(|sector| {
            let mut base_values = Vec::with_capacity(nn);
            let mut base_tariff = Vec::with_capacity(nn);
            for v in 0..n {
                for r in 0..n {
                    let size = 10f64.powf(rng.range(-1.0, 3.0));
                    let (value, tariff) = if v == r {
                        (5.0 * size + 1.0, 1.0)
                    } else if rng.next_f64() < 0.15 {
                        (0.0, 1.0 + rng.range(0.0, 0.25))
                    } else {
                        (size, 1.0 + rng.range(0.0, 0.25))
                    };
                    base_values.push(value);
                    base_tariff.push(tariff);
                }
            }
            let mut new_tariff = base_tariff.clone();
            for v in 1..n {
                new_tariff[v * n] += 0.20;
            }
            // One set of elasticities per sector, as in sector-level data.
            let (em, es) = (rng.range(-2.0, -0.5), rng.range(1.5, 8.0));
            let ex = if sector % 7 == 6 { 99.0 } else { rng.range(1.0, 10.0) };
            Market {
                n,
                base_values,
                base_tariff,
                new_tariff,
                import_demand: vec![em; n],
                substitution: vec![es; n],
                supply: vec![ex; n],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_valid() {
        let a = synthetic_markets(6, 3, 42);
        assert_eq!(a, synthetic_markets(6, 3, 42));
        assert_ne!(a, synthetic_markets(6, 3, 43));
        assert_eq!(a.len(), 3);
        for m in &a {
            m.validate().unwrap();
            assert!(m.new_tariff[6] > m.base_tariff[6]);
        }
        assert!(synthetic_markets(usize::MAX, 1, 0).is_empty());
    }
}
