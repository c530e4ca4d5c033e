//! `tariffctl backcast SCENARIO`: the model's figures beside what was observed
//! in the period the scenario stands for, each in the observed figure's
//! currency, with the gap.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use tariff_proto::v1::ScenarioResult;
use tariff_scenario::{
    dataset::{Dataset, Quality},
    observed::{BackcastRow, Observed, ObservedSource, Period, backcast, builtin_observed, load_observed},
};

use super::{
    run::{SolverArg, apply_solver},
    source::{read_scenario, resolve_dataset},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackcastFormat {
    /// Side by side, for people.
    Table,
    /// One row per observed figure.
    Csv,
}

/// Where the observed figures come from: `--observed DIR`, or the built-in
/// `data/observed/`.
#[derive(Debug, Args)]
pub struct ObservedArg {
    /// A folder of observed outcomes (the format of data/observed/), instead of the built-in one.
    #[arg(long, value_name = "DIR", env = "TARIFF_OBSERVED")]
    pub observed: Option<PathBuf>,
}

impl ObservedArg {
    /// The observed figures, checked against the dataset's codes when they are
    /// the user's.
    pub fn load(&self, dataset: &Dataset) -> anyhow::Result<Observed> {
        match &self.observed {
            Some(dir) => Ok(load_observed(&ObservedSource::Dir(dir.clone()), Some(dataset))?),
            None => Ok(builtin_observed().context("the built-in observed figures are broken")?.clone()),
        }
    }

    pub fn shown(&self) -> String {
        self.observed.as_ref().map_or("built in (data/observed)".to_owned(), |d| d.display().to_string())
    }
}

#[derive(Debug, Args)]
pub struct BackcastArgs {
    /// Scenario file whose `observed_period` names the period it stands for.
    scenario: PathBuf,
    /// The observed period to compare with (YYYY-MM or YYYY-MM..YYYY-MM), instead of the scenario's.
    #[arg(long, value_name = "PERIOD")]
    period: Option<String>,
    #[command(flatten)]
    observed: ObservedArg,
    /// A dataset folder, instead of the one the scenario names.
    #[arg(long, value_name = "DIR", env = "TARIFF_DATASET")]
    dataset: Option<PathBuf>,
    /// The solver, instead of the one the scenario names.
    #[arg(long, value_enum)]
    solver: Option<SolverArg>,
    #[arg(long, value_enum, default_value_t = BackcastFormat::Table)]
    format: BackcastFormat,
}

/// The period to compare with: `--period`, else the scenario's.
pub fn period_of(flag: Option<&str>, scenario_period: &str, path: &Path) -> anyhow::Result<Period> {
    let text = match flag {
        Some(p) => p,
        None if !scenario_period.is_empty() => scenario_period,
        None => anyhow::bail!(
            "{}: the scenario has no `observed_period`; give the period to compare with as --period YYYY-MM",
            path.display()
        ),
    };
    text.parse().map_err(|e| anyhow!("{e}"))
}

pub fn quality_name(q: Quality) -> &'static str {
    match q {
        Quality::Reported => "reported",
        Quality::Derived => "derived",
        Quality::Estimated => "estimated",
    }
}

fn moves(result: &ScenarioResult) -> String {
    if result.exchange_rates.is_empty() {
        return "none".to_owned();
    }
    let parts: Vec<String> =
        result.exchange_rates.iter().map(|x| format!("{} {:+.2}%", x.economy, x.change_pct)).collect();
    parts.join(", ")
}

fn table(
    out: &mut dyn Write,
    result: &ScenarioResult,
    rows: &[BackcastRow<'_>],
    period: &Period,
    observed: &str,
) -> anyhow::Result<()> {
    let date = result.impacts.last().map_or("", |i| i.date.as_str());
    writeln!(out, "Scenario: {}", result.scenario_name)?;
    writeln!(
        out,
        "Model: dataset {} (base year {}), horizon {}, at {date}; exchange rates against {}: {}",
        result.dataset,
        result.base_year,
        result.horizon,
        result.currency,
        moves(result)
    )?;
    let base = rows.first().map_or(String::new(), |r| r.observation.compared_with.to_string());
    writeln!(
        out,
        "Observed: {period} against {base} (changes in %, each in its figure's currency); {observed}"
    )?;
    writeln!(
        out,
        "\n  {:<38} {:<17} {:<16} {:<4} {:>9} {:>9} {:>8}  quality",
        "id", "subject", "figure", "cur", "observed", "model", "gap"
    )?;
    for r in rows.iter().filter(|r| r.model.is_ok()) {
        let o = r.observation;
        writeln!(
            out,
            "  {:<38} {:<17} {:<16} {:<4} {:>+9.2} {:>+9.2} {:>+8.2}  {}",
            o.id,
            o.subject_label(),
            o.figure.name(),
            if o.currency.is_empty() { "-" } else { &o.currency },
            o.change_pct,
            r.model.as_ref().copied().unwrap_or_default(),
            r.gap().unwrap_or_default(),
            quality_name(o.quality)
        )?;
    }
    let unmatched: Vec<_> =
        rows.iter().filter_map(|r| r.model.as_ref().err().map(|e| (r.observation, e))).collect();
    if !unmatched.is_empty() {
        writeln!(out, "\n  not comparable:")?;
        for (o, why) in unmatched {
            writeln!(out, "  {:<38} {why}", o.id)?;
        }
    }
    writeln!(out, "\n  gap = model - observed, percentage points")?;
    Ok(())
}

fn csv(out: &mut dyn Write, rows: &[BackcastRow<'_>]) -> anyhow::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record([
        "id",
        "subject",
        "figure",
        "period",
        "compared_with",
        "currency",
        "observed_pct",
        "model_pct",
        "gap_pct",
        "quality",
        "not_comparable",
    ])?;
    for r in rows {
        let o = r.observation;
        let number = |x: Option<f64>| x.map_or(String::new(), |x| x.to_string());
        w.write_record([
            o.id.clone(),
            o.subject_label(),
            o.figure.name().to_owned(),
            o.period.to_string(),
            o.compared_with.to_string(),
            o.currency.clone(),
            o.change_pct.to_string(),
            number(r.model.as_ref().ok().copied()),
            number(r.gap()),
            quality_name(o.quality).to_owned(),
            r.model.as_ref().err().cloned().unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

pub fn run(args: BackcastArgs) -> anyhow::Result<()> {
    let mut scenario = read_scenario(&args.scenario)?;
    apply_solver(&mut scenario, args.solver);
    let period = period_of(args.period.as_deref(), &scenario.observed_period, &args.scenario)?;
    let dataset = resolve_dataset(args.dataset.as_deref(), &scenario.dataset, args.scenario.parent())?;
    let observed = args.observed.load(&dataset)?;
    let shown = args.scenario.display();
    let result = tariff_scenario::run(&dataset, &scenario).map_err(|e| anyhow!("{shown}: {e}"))?;
    let rows = backcast(&result, &dataset, &observed, &period);
    if rows.is_empty() {
        anyhow::bail!("no observed figure for {period} in {}", args.observed.shown());
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        BackcastFormat::Table => table(&mut out, &result, &rows, &period, &args.observed.shown()),
        BackcastFormat::Csv => csv(&mut out, &rows),
    }
}
