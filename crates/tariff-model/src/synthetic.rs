//! Deterministic synthetic markets for benchmarks and load tests.

use crate::{Market, SparseFlow, SparseMarket};

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

    /// A standard normal draw (Box-Muller, one of the pair).
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.next_f64(); // in (0, 1]
        let v = self.next_f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// SplitMix64's finaliser: independent streams per (seed, sector).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The economies of a synthetic world: lognormal sizes and positions on the
/// unit square, the same for every sector of a seed.
struct World {
    size: Vec<f64>,
    x: Vec<f64>,
    y: Vec<f64>,
}

impl World {
    /// `n` is capped at `u32::MAX` economies (flows name them with a `u32`).
    fn new(n: usize, seed: u64) -> Self {
        let n = n.min(u32::MAX as usize);
        let mut rng = Lcg(mix(seed ^ 0x5DEE_CE66_D1CE_4E5B));
        let mut world =
            World { size: Vec::with_capacity(n), x: Vec::with_capacity(n), y: Vec::with_capacity(n) };
        for _ in 0..n {
            world.size.push((1.5 * rng.normal()).exp());
            world.x.push(rng.next_f64());
            world.y.push(rng.next_f64());
        }
        world
    }

    /// Gravity: `size_v size_r / (0.05 + distance)`; domestic shipments use
    /// the 0.05 alone, so they are the largest flows of most economies.
    fn gravity(&self, v: usize, r: usize) -> f64 {
        let d = (self.x[v] - self.x[r]).hypot(self.y[v] - self.y[r]);
        self.size[v] * self.size[r] / (0.05 + d)
    }
}

/// One sector of [`synthetic_sparse_markets`], generated on its own (the same
/// market as the vector's entry `sector`), in `O(n + flows)` time and memory.
///
/// `density` (clamped to `[0, 1]`; NaN counts as 0) is the chance that an
/// off-diagonal pair trades.
pub fn synthetic_sparse_market(economies: usize, sector: usize, density: f64, seed: u64) -> SparseMarket {
    synthetic_sparse_sector(&World::new(economies, seed), sector, density, seed)
}

fn synthetic_sparse_sector(world: &World, sector: usize, density: f64, seed: u64) -> SparseMarket {
    let n = world.size.len();
    let density = if density.is_nan() { 0.0 } else { density.clamp(0.0, 1.0) };
    let mut rng = Lcg(mix(seed.wrapping_add(mix(sector as u64 + 1))));
    let pairs = n.saturating_sub(1).saturating_mul(n) as f64;
    let expected = ((1.05 * density * pairs) as usize).saturating_add(n + 16);
    let mut flows = Vec::with_capacity(expected);
    // A sector scale, so that sectors differ in size as products do.
    let scale = 100.0 * (rng.normal()).exp();
    // Skips between trading pairs are geometric: O(flows) draws, not O(n^2).
    let log_miss = (-density).ln_1p();
    let skip = |rng: &mut Lcg| -> usize {
        if density >= 1.0 {
            return 0;
        }
        if density <= 0.0 {
            return usize::MAX;
        }
        let u = 1.0 - rng.next_f64();
        let k = (u.ln() / log_miss).floor();
        if k.is_finite() && k < usize::MAX as f64 { k as usize } else { usize::MAX }
    };
    for v in 0..n {
        // Off-diagonal candidates of row v are 0..n-1 (the diagonal skipped),
        // the first trading one `next`.
        let mut next = skip(&mut rng);
        let mut push = |r: usize, rng: &mut Lcg| {
            let noise = (0.8 * rng.normal()).exp();
            let value = scale * world.gravity(v, r) * noise;
            let (base, new) = if v == r {
                (1.0, 1.0)
            } else {
                let t0 = 1.0 + rng.range(0.0, 0.25);
                (t0, if r == 0 { t0 + 0.20 } else { t0 })
            };
            flows.push(SparseFlow {
                exporter: v as u32,
                importer: r as u32,
                base_value: value,
                base_tariff: base,
                new_tariff: new,
            });
        };
        // Importers ascending, the domestic flow in its place.
        let mut domestic_done = false;
        while next < n - 1 {
            let r = if next >= v { next + 1 } else { next };
            if !domestic_done && r > v {
                push(v, &mut rng);
                domestic_done = true;
            }
            push(r, &mut rng);
            next = next.saturating_add(1).saturating_add(skip(&mut rng));
        }
        if !domestic_done {
            push(v, &mut rng);
        }
    }
    let (em, es) = (rng.range(-2.0, -0.5), rng.range(1.5, 8.0));
    let ex = if sector % 7 == 6 { 99.0 } else { rng.range(1.0, 10.0) };
    SparseMarket { n, flows, import_demand: vec![em; n], substitution: vec![es; n], supply: vec![ex; n] }
}

/// `sectors` sparse markets of `economies` economies shaped like product-level
/// trade data, reproducible from `seed`.
///
/// Economies have lognormal sizes and random positions; a flow's value is
/// `size_v size_r / (0.05 + distance)` times lognormal noise and a sector
/// scale (gravity). Every economy ships domestically (so each supplies and
/// demands); each off-diagonal pair trades with probability `density`.
/// Base tariffs are 0-25%, elasticities per sector as in
/// [`synthetic_markets`], and the shock the same: economy 0 raises its tariff
/// on every partner by 20 points. Flows are listed by exporter, then
/// importer. Memory: see [`synthetic_sparse_iter`] to generate one sector at
/// a time.
pub fn synthetic_sparse_markets(
    economies: usize,
    sectors: usize,
    density: f64,
    seed: u64,
) -> Vec<SparseMarket> {
    synthetic_sparse_iter(economies, sectors, density, seed).collect()
}

/// [`synthetic_sparse_markets`], one sector at a time.
pub fn synthetic_sparse_iter(
    economies: usize,
    sectors: usize,
    density: f64,
    seed: u64,
) -> impl Iterator<Item = SparseMarket> {
    let world = World::new(economies, seed);
    (0..sectors).map(move |sector| synthetic_sparse_sector(&world, sector, density, seed))
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

    #[test]
    fn sparse_deterministic_valid_and_shaped() {
        let a = synthetic_sparse_markets(60, 8, 0.05, 7);
        assert_eq!(a, synthetic_sparse_markets(60, 8, 0.05, 7));
        assert_ne!(a, synthetic_sparse_markets(60, 8, 0.05, 8));
        assert_eq!(a[5], synthetic_sparse_market(60, 5, 0.05, 7));
        let mut off_diagonal = 0;
        for m in &a {
            m.to_dense().unwrap().validate().unwrap();
            assert_eq!(m.n, 60);
            // Listed by exporter, then importer, and every economy ships domestically.
            assert!(
                m.flows.windows(2).all(|w| (w[0].exporter, w[0].importer) < (w[1].exporter, w[1].importer))
            );
            for e in 0..60u32 {
                assert!(m.flows.iter().any(|f| f.exporter == e && f.importer == e && f.base_value > 0.0));
            }
            for f in &m.flows {
                assert!(f.base_value > 0.0 && f.base_value.is_finite());
                if f.exporter == f.importer {
                    assert_eq!((f.base_tariff, f.new_tariff), (1.0, 1.0));
                } else {
                    off_diagonal += 1;
                    assert!((1.0..=1.25).contains(&f.base_tariff));
                    let shock = if f.importer == 0 { 0.20 } else { 0.0 };
                    assert_eq!(f.new_tariff, f.base_tariff + shock);
                }
            }
        }
        // About 5% of the 8 * 60 * 59 off-diagonal pairs.
        let share = off_diagonal as f64 / (8.0 * 60.0 * 59.0);
        assert!((0.04..0.06).contains(&share), "{share}");
        let full = synthetic_sparse_market(5, 0, 1.0, 1);
        assert_eq!(full.flows.len(), 25);
        let none = synthetic_sparse_market(5, 0, 0.0, 1);
        assert_eq!(none.flows.len(), 5);
        assert_eq!(synthetic_sparse_market(5, 0, f64::NAN, 1), none);
        assert!(synthetic_sparse_market(0, 0, 0.5, 1).flows.is_empty());
    }
}
