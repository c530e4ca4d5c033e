//! `tariffctl dataset synth`: a synthetic gravity-shaped dataset of any size.

use std::{io::Write, path::PathBuf};

use clap::Args;
use tariff_import::{SynthSpec, synthesize};

use super::{OutputFormat, bar::WorkBar};

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Number of economies (the loader accepts up to 250).
    #[arg(long)]
    economies: usize,
    /// Number of sectors (the loader accepts up to 20,000).
    #[arg(long)]
    sectors: usize,
    /// Share of off-diagonal pairs that trade in a sector, 0 to 1.
    #[arg(long)]
    density: f64,
    /// The seed: the same seed writes the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The dataset folder to write (created; must be empty unless --force).
    #[arg(long)]
    out: PathBuf,
    /// Dataset id (default synthetic-<N>x<S>-<seed>).
    #[arg(long)]
    id: Option<String>,
    /// Write into a folder that is not empty.
    #[arg(long)]
    force: bool,
    /// Also write inputs.csv with this many random input sectors per economy
    /// and sector (supply chains; 0: none).
    #[arg(long, default_value_t = 0)]
    input_sectors: usize,
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
}

pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    let spec = SynthSpec {
        economies: args.economies,
        sectors: args.sectors,
        density: args.density,
        seed: args.seed,
        out: args.out,
        id: args.id,
        overwrite: args.force,
        input_sectors: args.input_sectors,
    };
    let report = {
        let mut bar = WorkBar::new(false);
        synthesize(&spec, &mut |p| bar.update(p))?
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        OutputFormat::Text => {
            let rate = if report.seconds > 0.0 { report.flow_rows as f64 / report.seconds } else { 0.0 };
            writeln!(
                out,
                "wrote {} (dataset {}): {} economies x {} sectors, density {}, seed {}",
                report.out, report.id, report.economies, report.sectors, report.density, report.seed
            )?;
            writeln!(
                out,
                "  flows: {} rows ({} domestic, {} imports), {} bytes; tariffs: {} rows ({} preferences), {} bytes",
                report.flow_rows,
                report.domestic_rows,
                report.import_rows,
                report.flows_bytes,
                report.tariff_rows,
                report.preference_rows,
                report.tariffs_bytes
            )?;
            writeln!(out, "  {:.2} s ({:.0} flow rows/s)", report.seconds, rate)?;
        }
    }
    Ok(())
}
