//! `tariffctl list`: reference data of a dataset.

use std::{io::Write, path::PathBuf};

use clap::{Args, ValueEnum};
use tariff_scenario::dataset::BUILTIN_DATASETS;

use super::source::resolve_dataset;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum What {
    Datasets,
    Economies,
    Sectors,
    Agreements,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// What to list.
    #[arg(value_enum)]
    what: What,
    /// A built-in dataset id or a dataset folder (default: the built-in default).
    #[arg(long, env = "TARIFF_DATASET")]
    dataset: Option<String>,
}

pub fn list(args: ListArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if let What::Datasets = args.what {
        for id in BUILTIN_DATASETS {
            let d = resolve_dataset(None, id, None)?;
            let (rows, estimated) = d.flow_row_counts();
            writeln!(
                out,
                "{id}\t{} (base year {}, {} {}; {rows} flow rows, {estimated} estimated)",
                d.title, d.base_year, d.currency, d.unit
            )?;
        }
        return Ok(());
    }
    let named = args.dataset.unwrap_or_default();
    let dataset = resolve_dataset(None, &named, Some(&PathBuf::from(".")))?;
    match args.what {
        What::Economies => {
            writeln!(out, "{:<8} {:<32} {:<24} {:>14}", "code", "name", "groups", "gdp")?;
            for e in &dataset.economies {
                writeln!(out, "{:<8} {:<32} {:<24} {:>14.0}", e.code, e.name, e.groups.join(";"), e.gdp)?;
            }
        }
        What::Sectors => {
            writeln!(out, "{:<8} {:<36} {:<22} {:>8} {:>8} {:>8}", "code", "name", "hs", "Em", "Es", "Ex")?;
            for s in &dataset.sectors {
                let e = s.elasticities;
                writeln!(
                    out,
                    "{:<8} {:<36} {:<22} {:>8.2} {:>8.2} {:>8.2}",
                    s.code, s.name, s.hs, e.import_demand, e.substitution, e.supply
                )?;
            }
        }
        What::Agreements => {
            for a in &dataset.agreements {
                let parties: Vec<&str> = a
                    .parties
                    .iter()
                    .filter_map(|&p| dataset.economies.get(p))
                    .map(|e| e.code.as_str())
                    .collect();
                let in_force =
                    a.in_force.map_or_else(|| "only when applied".to_owned(), |d| format!("in force {d}"));
                writeln!(
                    out,
                    "{:<18} {} [{}], {in_force}, {} staged rates",
                    a.code,
                    a.name,
                    parties.join(", "),
                    a.rates.len()
                )?;
            }
        }
        What::Datasets => {}
    }
    Ok(())
}
