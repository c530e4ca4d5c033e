//! Loads and validates a dataset folder, and reports the time and the rate:
//! the loader's benchmark (BENCHMARKS.md, "Loading").
//!
//! `cargo run --release -p tariff-scenario --example load_dataset -- DIR [DIR...]`

use std::time::Instant;

use tariff_scenario::dataset::{Dataset, DatasetLimits};

fn rss_peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let limits = DatasetLimits { max_economies: 1000, max_sectors: 100_000 };
    for dir in std::env::args().skip(1) {
        let started = Instant::now();
        let dataset = Dataset::from_dir_with_limits(std::path::Path::new(&dir), &limits)?;
        let seconds = started.elapsed().as_secs_f64();
        let (rows, _) = dataset.flow_row_counts();
        let rows = rows + dataset.tariffs.len();
        println!(
            "{dir}: {} economies, {} sectors, {rows} flow and tariff rows in {seconds:.3} s ({:.2} M rows/s), peak RSS {} MiB",
            dataset.economies.len(),
            dataset.sectors.len(),
            rows as f64 / seconds / 1e6,
            rss_peak_kib() / 1024
        );
    }
    Ok(())
}
