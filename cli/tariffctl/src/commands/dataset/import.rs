//! `tariffctl dataset import`: published trade and tariff files through a
//! concordance into a dataset folder (see the tariff-import crate's README).

use std::{io::Write, path::PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use tariff_import::{
    Direction, DomesticSource, FlowFormat, ImportReport, ImportSpec, TariffUpdateSpec, Unit, import,
    update_tariffs,
};

use super::{OutputFormat, bar::WorkBar};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// CEPII BACI (`BACI_HS17_Y2023_V202501.csv`: t,i,j,k,v,q).
    Baci,
    /// UN Comtrade: current API / bulk files (tab or comma, plain or .gz) or the classic API CSV.
    Comtrade,
    /// WITS/TRAINS tariff files only: they replace the tariffs.csv of the existing dataset in --out
    /// (simple averages over each sector's products; the flows are kept).
    Wits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlowArg {
    /// The importers' declarations (M): importer = reporter.
    Imports,
    /// The exporters' declarations (X): exporter = reporter.
    Exports,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UnitArg {
    Thousand,
    Million,
    Billion,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The trade files: one BACI year, or one or more Comtrade downloads (with --format wits: the tariff files).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The published format of the trade files.
    #[arg(long, value_enum)]
    format: FormatArg,
    /// The concordance folder: economies.csv, sectors.csv, hs_to_sector.csv,
    /// country_to_economy.csv (and optionally domestic.csv, sources.toml,
    /// agreements.toml, horizons.csv, elasticities.csv, inputs.csv).
    #[arg(long)]
    concordance: PathBuf,
    /// The dataset folder to write (created; must be empty unless --force).
    #[arg(long)]
    out: PathBuf,
    /// WITS/TRAINS tariff files (MFN and preferential), repeatable.
    #[arg(long = "tariffs")]
    tariffs: Vec<PathBuf>,
    /// BACI's country_codes_V*.csv: lets the concordance use ISO3 letters.
    #[arg(long)]
    country_codes: Option<PathBuf>,
    /// BACI's product_codes_HS*_V*.csv: descriptions beside unmapped products.
    #[arg(long)]
    product_codes: Option<PathBuf>,
    /// Dataset id (default: the output folder's name).
    #[arg(long)]
    id: Option<String>,
    #[arg(long)]
    title: Option<String>,
    /// Keep the trade rows of this year (default: the files must have one year).
    #[arg(long)]
    year: Option<i32>,
    /// Keep the tariff rows of this year (default: the files must have one year).
    #[arg(long)]
    tariff_year: Option<i32>,
    /// Comtrade: which declarations to keep.
    #[arg(long, value_enum, default_value = "imports")]
    flow: FlowArg,
    /// Comtrade: the HS level to keep (rows at other levels would count trade twice).
    #[arg(long, default_value_t = 6)]
    hs_digits: usize,
    /// A catch-all economy or sector for codes the concordance lacks (repeat for one of each);
    /// without it, unmapped codes are an error that lists them.
    #[arg(long = "unmapped-to")]
    unmapped_to: Vec<String>,
    /// Domestic shipments from this file (economy,sector,value[,quality]) in the dataset's unit
    /// (default: the concordance's domestic.csv, when it has one).
    #[arg(long, conflicts_with_all = ["domestic_ratio", "no_domestic"])]
    domestic: Option<PathBuf>,
    /// Domestic shipments estimated as R x the economy's exports in the sector.
    #[arg(long, conflicts_with = "no_domestic")]
    domestic_ratio: Option<f64>,
    /// No domestic shipments beyond trade within group economies.
    #[arg(long)]
    no_domestic: bool,
    /// Fill importer and sector pairs that have imports but no tariff with this rate
    /// (percent; basis DEFAULT); without it they are an error that lists them.
    #[arg(long)]
    default_rate: Option<f64>,
    /// The basis written on preference rows (default: the duty type, PRF or AHS).
    #[arg(long)]
    preference_basis: Option<String>,
    /// The unit of the dataset's values (USD).
    #[arg(long, value_enum, default_value = "million")]
    unit: UnitArg,
    /// Write into a folder that is not empty (its dataset files are replaced).
    #[arg(long)]
    force: bool,
    /// How to print the summary.
    #[arg(long = "output", value_enum, default_value = "text")]
    output: OutputFormat,
}

fn print(format: OutputFormat, report: &ImportReport) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(report)?)?,
        OutputFormat::Text => print_text(&mut out, report)?,
    }
    Ok(())
}

/// `--format wits`: the tariffs of an existing dataset replaced.
fn run_wits(args: ImportArgs) -> anyhow::Result<()> {
    if !args.tariffs.is_empty() {
        anyhow::bail!(
            "with --format wits the tariff files are the arguments; --tariffs is for trade imports"
        );
    }
    if !args.out.join("dataset.toml").is_file() {
        anyhow::bail!("{}: with --format wits, --out is an existing dataset folder", args.out.display());
    }
    let spec = TariffUpdateSpec {
        files: args.files,
        concordance: args.concordance,
        dataset: args.out,
        country_codes: args.country_codes,
        tariff_year: args.tariff_year.or(args.year),
        unmapped_to: args.unmapped_to,
        default_rate: args.default_rate,
        preference_basis: args.preference_basis,
    };
    let report = {
        let mut bar = WorkBar::new(true);
        update_tariffs(&spec, &mut |p| bar.update(p))?
    };
    print(args.output, &report)
}

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let format = match args.format {
        FormatArg::Baci => FlowFormat::Baci,
        FormatArg::Comtrade => FlowFormat::Comtrade,
        FormatArg::Wits => return run_wits(args),
    };
    let mut spec = ImportSpec::new(format, args.files, args.concordance.clone(), args.out);
    spec.tariffs = args.tariffs;
    spec.country_codes = args.country_codes;
    spec.product_codes = args.product_codes;
    spec.id = args.id;
    spec.title = args.title;
    spec.year = args.year;
    spec.tariff_year = args.tariff_year;
    spec.direction = match args.flow {
        FlowArg::Imports => Direction::Imports,
        FlowArg::Exports => Direction::Exports,
    };
    spec.hs_digits = args.hs_digits;
    spec.unmapped_to = args.unmapped_to;
    let default_domestic = args.concordance.join(tariff_import::concordance::DOMESTIC);
    spec.domestic = match (args.domestic, args.domestic_ratio, args.no_domestic) {
        (Some(file), _, _) => DomesticSource::File(file),
        (None, Some(ratio), _) => DomesticSource::Ratio(ratio),
        (None, None, true) => DomesticSource::Without,
        (None, None, false) if default_domestic.exists() => DomesticSource::File(default_domestic),
        (None, None, false) => anyhow::bail!(
            "trade statistics have no domestic shipments: give --domestic FILE, --domestic-ratio R, \
             or --no-domestic (or put a domestic.csv in the concordance folder)"
        ),
    };
    spec.default_rate = args.default_rate;
    spec.preference_basis = args.preference_basis;
    spec.unit = match args.unit {
        UnitArg::Thousand => Unit::Thousand,
        UnitArg::Million => Unit::Million,
        UnitArg::Billion => Unit::Billion,
    };
    spec.overwrite = args.force;
    let report = {
        let mut bar = WorkBar::new(true);
        import(&spec, &mut |p| bar.update(p))?
    };
    print(args.output, &report)
}

fn print_text(out: &mut impl Write, r: &ImportReport) -> anyhow::Result<()> {
    writeln!(out, "wrote {} (dataset {}, base year {}, USD {})", r.out, r.id, r.base_year, r.unit)?;
    for f in r.flow_files.iter().chain(&r.tariff_files) {
        writeln!(
            out,
            "  {}: {}, {} rows read, {} used, source `{}`",
            f.facts.name, f.format, f.rows_read, f.rows_used, f.source_id
        )?;
        for (reason, s) in &f.skipped {
            writeln!(out, "    left out: {} rows ({reason}), value {:.3}", s.rows, s.value)?;
        }
    }
    if !r.unmapped.is_empty() {
        writeln!(out, "  unmapped codes (sent to the catch-all):")?;
        for u in &r.unmapped {
            writeln!(
                out,
                "    {:?} {}{}: {} rows, value {:.3}, to {}",
                u.kind,
                u.code,
                if u.description.is_empty() { String::new() } else { format!(" ({})", u.description) },
                u.rows,
                u.value,
                u.sent_to.as_deref().unwrap_or("-")
            )?;
        }
    }
    let t = &r.tariffs;
    writeln!(
        out,
        "  flows: {} rows, total {:.3}; domestic: {} ({} rows); tariffs: {} rows ({} MFN, {} weighted; {} preference, {} weighted; {} default)",
        r.flow_rows,
        r.total_value,
        r.domestic.method,
        r.domestic.rows,
        r.tariff_rows,
        t.mfn_rows,
        t.mfn_weighted,
        t.preference_rows,
        t.preference_weighted,
        t.default_rows
    )
    .context("stdout")?;
    writeln!(out, "  checked with the loader; {:.2} s", r.seconds)?;
    Ok(())
}
