//! `tariffctl list`: reference data of a dataset.

use std::{io::Write, path::PathBuf};

use clap::{Args, ValueEnum};
use tariff_scenario::dataset::{BUILTIN_DATASETS, ElasticityRange, Structure};

use super::{backcast::quality_name, source::resolve_dataset};

/// A number with at most four decimals, without trailing zeros.
fn short(v: f64) -> String {
    let text = format!("{v:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum What {
    Datasets,
    Economies,
    Sectors,
    Agreements,
    /// The elasticity sets a scenario's `horizon` chooses from, per sector.
    Horizons,
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
        What::Horizons => {
            writeln!(
                out,
                "{:<10} {:<8} {:<10} {:>18} {:>18} {:>18}  quality",
                "horizon", "sector", "structure", "Em [low, high]", "Es [low, high]", "Ex [low, high]"
            )?;
            for (h, horizon) in dataset.horizons().iter().enumerate() {
                for (i, (set, s)) in horizon.sectors.iter().zip(&dataset.sectors).enumerate() {
                    let cell = |v: f64, r: ElasticityRange| {
                        format!("{} [{}, {}]", short(v), short(r.low), short(r.high))
                    };
                    let e = set.elasticities;
                    writeln!(
                        out,
                        "{:<10} {:<8} {:<10} {:>18} {:>18} {:>18}  {}",
                        horizon.name,
                        s.code,
                        match set.structure {
                            Structure::Integrated => "integrated",
                            Structure::Segmented => "segmented",
                        },
                        cell(e.import_demand, set.ranges.import_demand),
                        cell(e.substitution, set.ranges.substitution),
                        cell(e.supply, set.ranges.supply),
                        set.quality.map_or("", quality_name),
                    )?;
                    for (x, economy) in dataset.economies.iter().enumerate() {
                        let own = dataset.horizon_elasticities(h, i, x);
                        if own != e {
                            writeln!(
                                out,
                                "{:<10}   {:<6} Em {}, Es {}, Ex {}",
                                "",
                                economy.code,
                                short(own.import_demand),
                                short(own.substitution),
                                short(own.supply)
                            )?;
                        }
                    }
                }
            }
        }
        What::Datasets => {}
    }
    Ok(())
}
