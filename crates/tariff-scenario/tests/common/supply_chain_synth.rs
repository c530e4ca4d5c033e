//! The synthetic dataset of the supply-chain tests and benchmark
//! (tests/supply_chain_scale.rs, benches/supply_chains.rs): 30 economies x 40
//! sectors with three random input sectors per economy and sector. Written
//! here, not by tariff-import's `synthesize`, because tariff-import depends on
//! this crate; the benchmark includes this file by path.
#![allow(clippy::unwrap_used)]

use std::{fmt::Write as _, fs, path::Path};

use tariff_proto::v1::{Authority, Measure, Scenario, measure::Mode};

pub const ECONOMIES: usize = 30;
pub const SECTORS: usize = 40;
pub const INPUT_SECTORS: usize = 3;
pub const DENSITY: f64 = 0.2;
pub const SEED: u64 = 2026;

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// Writes the synthetic dataset into `dir`, shaped as tariff-import's
/// generator shapes it: economy sizes spread over three decades and random
/// positions, gravity flows (`scale x size x size / (0.05 + distance) x noise`)
/// between a share `DENSITY` of the pairs in each sector plus every domestic
/// shipment, an MFN rate per importer and sector, elasticities per sector (every
/// seventh supply elasticity 99), and in inputs.csv `INPUT_SECTORS` distinct
/// other sectors per economy and sector whose shares add up to 0.1-0.6.
pub fn write_dataset(dir: &Path) {
    let mut rng = Rng(SEED);
    let economy = |i: usize| format!("E{:03}", i + 1);
    let sector = |s: usize| format!("S{:03}", s + 1);
    let size: Vec<f64> = (0..ECONOMIES).map(|_| 10f64.powf(rng.range(-1.0, 2.0))).collect();
    let at: Vec<(f64, f64)> = (0..ECONOMIES).map(|_| (rng.range(0.0, 1.0), rng.range(0.0, 1.0))).collect();
    let level: Vec<f64> = (0..ECONOMIES).map(|_| rng.range(0.0, 8.0)).collect();

    let mut economies = String::from("code,name,groups,gdp\n");
    for (v, s) in size.iter().enumerate() {
        writeln!(economies, "{},Synthetic economy {},,{}", economy(v), v + 1, (s * 1e5).round()).unwrap();
    }
    let mut sectors =
        String::from("code,name,hs,import_demand_elasticity,substitution_elasticity,supply_elasticity\n");
    let (mut flows, mut tariffs) = (
        String::from("exporter,importer,sector,value,source,quality\n"),
        String::from("importer,exporter,sector,rate_pct,basis\n"),
    );
    for s in 0..SECTORS {
        let (em, es) = (rng.range(-2.0, -0.5), rng.range(1.5, 8.0));
        let ex = if s % 7 == 6 { 99.0 } else { rng.range(1.0, 10.0) };
        let (scale, factor) = (100.0 * rng.range(0.3, 3.0), rng.range(0.2, 3.0));
        writeln!(sectors, "{},Synthetic sector {},synthetic,{em:.3},{es:.3},{ex:.3}", sector(s), s + 1)
            .unwrap();
        for (r, level) in level.iter().enumerate() {
            let mfn = (level * factor).min(60.0);
            writeln!(tariffs, "{},*,{},{mfn:.1},MFN", economy(r), sector(s)).unwrap();
        }
        for v in 0..ECONOMIES {
            for r in 0..ECONOMIES {
                if v != r && rng.range(0.0, 1.0) >= DENSITY {
                    continue;
                }
                let d = (at[v].0 - at[r].0).hypot(at[v].1 - at[r].1);
                let noise = rng.range(0.5, 2.0);
                let value = (scale * size[v] * size[r] / (0.05 + d) * noise).round().max(1.0);
                writeln!(flows, "{},{},{},{value},synthetic,estimated", economy(v), economy(r), sector(s))
                    .unwrap();
            }
        }
    }
    let mut inputs = String::from("economy,sector,input_sector,cost_share,source,quality\n");
    for v in 0..ECONOMIES {
        for s in 0..SECTORS {
            let mut picked: Vec<usize> = Vec::with_capacity(INPUT_SECTORS);
            while picked.len() < INPUT_SECTORS {
                let j = (rng.next_u64() % SECTORS as u64) as usize;
                if j != s && !picked.contains(&j) {
                    picked.push(j);
                }
            }
            let weights: Vec<f64> = picked.iter().map(|_| rng.range(0.1, 1.0)).collect();
            let (total, sum) = (rng.range(0.1, 0.6), weights.iter().sum::<f64>());
            for (&j, w) in picked.iter().zip(&weights) {
                let share = (total * w / sum * 1e6).floor() / 1e6;
                writeln!(inputs, "{},{},{},{share},synthetic,estimated", economy(v), sector(s), sector(j))
                    .unwrap();
            }
        }
    }
    let toml = "id = \"synthetic-supply-chains-30x40\"\n\
                title = \"SYNTHETIC 30 x 40 dataset with input shares\"\n\
                description = \"Synthetic data for the supply-chain tests and benchmarks, not real trade.\"\n\
                base_year = 2023\ncurrency = \"USD\"\nunit = \"thousand\"\n\n\
                [[sources]]\nid = \"synthetic\"\ntitle = \"Generated by the test\"\n";
    for (file, text) in [
        ("dataset.toml", toml),
        ("economies.csv", &economies),
        ("sectors.csv", &sectors),
        ("flows.csv", &flows),
        ("tariffs.csv", &tariffs),
        ("inputs.csv", &inputs),
    ] {
        fs::write(dir.join(file), text).unwrap();
    }
}

/// 25% more on E001's imports of `sectors` from everyone.
pub fn e001_plus_25(sectors: &[&str]) -> Scenario {
    Scenario {
        measures: vec![Measure {
            id: "e001-25".into(),
            authority: Authority::Retaliation.into(),
            importer: "E001".into(),
            exporters: vec!["*".into()],
            sectors: sectors.iter().map(|s| s.to_string()).collect(),
            mode: Mode::Add.into(),
            rate_pct: 25.0,
            ..Default::default()
        }],
        ..Default::default()
    }
}
