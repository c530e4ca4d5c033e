//! Helpers shared by the integration tests of this crate.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use tariff_proto::v1::{Authority, Measure, measure::Mode};
use tariff_scenario::dataset::Dataset;

/// The hand-written test dataset's folder.
pub fn mini_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini")
}

pub fn mini() -> Dataset {
    Dataset::from_dir(&mini_dir()).expect("the mini dataset loads")
}

/// A measure from its essentials; dates may be empty.
pub fn measure(
    authority: Authority,
    exporters: &[&str],
    sectors: &[&str],
    mode: Mode,
    rate_pct: f64,
    from: &str,
    to: &str,
) -> Measure {
    Measure {
        authority: authority.into(),
        importer: "USA".into(),
        exporters: exporters.iter().map(|s| s.to_string()).collect(),
        sectors: sectors.iter().map(|s| s.to_string()).collect(),
        mode: mode.into(),
        rate_pct,
        effective_from: from.into(),
        effective_to: to.into(),
        ..Default::default()
    }
}
