//! `tariffctl dataset check DIR`: loads a dataset folder with the loader and
//! prints what it holds; a dataset the loader refuses is the loader's
//! one-line error (`file:line: reason`) and a non-zero exit.

use std::{io::Write, path::PathBuf, time::Instant};

use anyhow::Context;
use clap::Args;
use tariff_import::summarize;
use tariff_scenario::dataset::Dataset;

use super::OutputFormat;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The dataset folder.
    dir: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
}

fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

pub fn run(args: CheckArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let dataset =
        Dataset::from_dir(&args.dir).with_context(|| format!("{} does not load", args.dir.display()))?;
    let s = summarize(&dataset, started.elapsed().as_secs_f64());
    let mut out = std::io::stdout().lock();
    if let OutputFormat::Json = args.format {
        writeln!(out, "{}", serde_json::to_string_pretty(&s)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}: {} ({}, base year {}, {} {})",
        args.dir.display(),
        s.id,
        s.title,
        s.base_year,
        s.currency,
        s.unit
    )?;
    writeln!(out, "  economies      {}", s.economies)?;
    writeln!(out, "  sectors        {}", s.sectors)?;
    writeln!(out, "  sources        {}", s.sources)?;
    writeln!(
        out,
        "  flow rows      {} ({} non-zero, {} domestic, {} imports)",
        s.flow_rows, s.nonzero_flows, s.domestic_rows, s.import_flows
    )?;
    writeln!(out, "  tariff rows    {} ({} bilateral)", s.tariff_rows, s.bilateral_tariff_rows)?;
    writeln!(out, "  agreements     {}", s.agreements)?;
    writeln!(out, "  input shares   {} rows in {} cells (inputs.csv)", s.input_rows, s.input_cells)?;
    if let Some(o) = &s.input_overuse {
        // Not an error (the model uses shares and prices), but the consumer
        // surplus of these inputs is then left out whole: worth knowing.
        writeln!(
            out,
            "                 ask for more than the market holds in {} economy-sectors, most {} {} ({:.2}x its purchases)",
            o.cells, o.largest_economy, o.largest_sector, o.largest_ratio
        )?;
    }
    writeln!(
        out,
        "  coverage       {} of import flows with a tariff row ({} with their own), {} of economy x sector with domestic shipments",
        pct(s.tariff_coverage),
        pct(s.bilateral_coverage),
        pct(s.domestic_coverage)
    )?;
    writeln!(
        out,
        "  qualities      {} reported, {} derived, {} estimated",
        s.qualities.reported, s.qualities.derived, s.qualities.estimated
    )?;
    writeln!(
        out,
        "  total value    {:.3} {} {} ({:.3} domestic, {:.3} imports)",
        s.total_value, s.currency, s.unit, s.domestic_value, s.import_value
    )?;
    writeln!(out, "  loaded in      {:.3} s ({:.0} rows/s)", s.load_seconds, s.rows_per_second)?;
    Ok(())
}
