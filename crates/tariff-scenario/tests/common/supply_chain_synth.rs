//! The synthetic dataset of the supply-chain tests and benchmark
//! (tests/supply_chain_scale.rs, benches/supply_chains.rs): 30 economies x 40
//! sectors with three random input sectors per economy and sector, written by
//! tariff-import's generator (`tariffctl dataset synth --input-sectors 3`).
//! The benchmark includes this file by path.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use tariff_import::{SynthSpec, synthesize};
use tariff_proto::v1::{Authority, Measure, Scenario, measure::Mode};

pub const ECONOMIES: usize = 30;
pub const SECTORS: usize = 40;
pub const INPUT_SECTORS: usize = 3;

/// Writes the dataset into `dir` (empty).
pub fn write_dataset(dir: &Path) {
    let spec = SynthSpec {
        economies: ECONOMIES,
        sectors: SECTORS,
        density: 0.2,
        seed: 2026,
        out: dir.to_path_buf(),
        id: None,
        overwrite: true,
        input_sectors: INPUT_SECTORS,
    };
    synthesize(&spec, &mut |_| {}).unwrap();
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
