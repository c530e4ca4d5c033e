//! `tariffctl calibrate SCENARIO --param ... --target ...`: elasticities fitted
//! to observed figures within their published ranges.

use std::{io::Write, path::PathBuf};

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use tariff_proto::{json::to_json_pretty, v1::ElasticityParameter};
use tariff_scenario::calibrate::{
    Bound, CalibrationOptions, Fit, ParameterSpec, Target, calibrate, parameter_name,
};

use super::{
    backcast::ObservedArg,
    source::{read_scenario, resolve_dataset},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CalibrateFormat {
    /// For people.
    Table,
    /// The fit as JSON.
    Json,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Scenario file to fit (solved exactly, without its uncertainty).
    scenario: PathBuf,
    /// An elasticity to fit: SECTOR:PARAM (every economy) or SECTOR:ECONOMY:PARAM, PARAM one of
    /// substitution, import_demand, supply. Repeat for several.
    #[arg(long = "param", value_name = "SPEC", required = true)]
    params: Vec<String>,
    /// An observed figure to fit, by its id in the observed files, optionally with a weight: ID or ID=WEIGHT.
    /// Repeat for several.
    #[arg(long = "target", value_name = "ID[=WEIGHT]", required = true)]
    targets: Vec<String>,
    #[command(flatten)]
    observed: ObservedArg,
    /// A dataset folder, instead of the one the scenario names.
    #[arg(long, value_name = "DIR", env = "TARIFF_DATASET")]
    dataset: Option<PathBuf>,
    /// Write the scenario with the fitted values as elasticity_overrides to this file (proto3 JSON).
    #[arg(long, value_name = "FILE.json")]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = CalibrateFormat::Table)]
    format: CalibrateFormat,
}

fn parse_param(text: &str) -> anyhow::Result<ParameterSpec> {
    let parts: Vec<&str> = text.split(':').collect();
    let (sector, economy, name) = match parts.as_slice() {
        [s, p] => (*s, None, *p),
        [s, e, p] => (*s, Some((*e).to_owned()), *p),
        _ => anyhow::bail!("--param `{text}`: expected SECTOR:PARAM or SECTOR:ECONOMY:PARAM"),
    };
    let parameter =
        [ElasticityParameter::Substitution, ElasticityParameter::ImportDemand, ElasticityParameter::Supply]
            .into_iter()
            .find(|p| parameter_name(*p) == name)
            .ok_or_else(|| {
                anyhow!("--param `{text}`: `{name}` is not substitution, import_demand or supply")
            })?;
    Ok(ParameterSpec { sector: sector.to_owned(), economy, parameter })
}

fn parse_target(text: &str) -> anyhow::Result<(&str, f64)> {
    match text.split_once('=') {
        None => Ok((text, 1.0)),
        Some((id, w)) => {
            let weight: f64 =
                w.parse().map_err(|_| anyhow!("--target `{text}`: weight `{w}` is not a number"))?;
            Ok((id, weight))
        }
    }
}

fn bound_note(p: &tariff_scenario::calibrate::FittedParameter) -> String {
    match p.binding {
        None => String::new(),
        Some(Bound::Low) => format!("at the low end: the targets want less than {}", p.range.low),
        Some(Bound::High) => format!("at the high end: the targets want more than {}", p.range.high),
    }
}

fn table(out: &mut dyn Write, fit: &Fit) -> anyhow::Result<()> {
    writeln!(out, "Elasticities (fitted within their published ranges, exact solver):")?;
    writeln!(out, "  {:<28} {:>10} {:>12} {:>22}  binding", "parameter", "start", "fitted", "range")?;
    for p in &fit.parameters {
        let range = format!("[{}, {}]", p.range.low, p.range.high);
        writeln!(
            out,
            "  {:<28} {:>10.6} {:>12.8} {:>22}  {}",
            p.spec.label(),
            p.start,
            p.value,
            range,
            bound_note(p)
        )?;
    }
    writeln!(out, "\nTargets (changes in %, each in its figure's currency):")?;
    writeln!(out, "  {:<38} {:>7} {:>10} {:>10} {:>10}", "id", "weight", "observed", "model", "residual")?;
    for t in &fit.targets {
        writeln!(
            out,
            "  {:<38} {:>7} {:>+10.3} {:>+10.3} {:>+10.3}",
            t.id,
            t.weight,
            t.observed,
            t.model,
            t.residual()
        )?;
    }
    writeln!(
        out,
        "\nWeighted sum of squared residuals: {:.6} -> {:.6}; {} iterations, {} model evaluations{}",
        fit.start_cost,
        fit.cost,
        fit.iterations,
        fit.evaluations,
        if fit.converged { "" } else { " (stopped at the iteration limit: not converged)" }
    )?;
    for p in fit.parameters.iter().filter(|p| p.binding.is_some()) {
        writeln!(
            out,
            "warning: {} is held {}; the published range does not reach what the targets ask, and nothing is extrapolated",
            p.spec.label(),
            bound_note(p)
        )?;
    }
    Ok(())
}

fn json(fit: &Fit) -> serde_json::Value {
    serde_json::json!({
        "parameters": fit.parameters.iter().map(|p| serde_json::json!({
            "parameter": p.spec.label(),
            "start": p.start,
            "value": p.value,
            "low": p.range.low,
            "high": p.range.high,
            "binding": p.binding.map(|b| match b { Bound::Low => "low", Bound::High => "high" }),
        })).collect::<Vec<_>>(),
        "targets": fit.targets.iter().map(|t| serde_json::json!({
            "id": t.id, "weight": t.weight, "observed_pct": t.observed, "model_pct": t.model, "residual": t.residual(),
        })).collect::<Vec<_>>(),
        "start_cost": fit.start_cost,
        "cost": fit.cost,
        "iterations": fit.iterations,
        "evaluations": fit.evaluations,
        "converged": fit.converged,
    })
}

pub fn run(args: CalibrateArgs) -> anyhow::Result<()> {
    let scenario = read_scenario(&args.scenario)?;
    let dataset = resolve_dataset(args.dataset.as_deref(), &scenario.dataset, args.scenario.parent())?;
    let observed = args.observed.load(&dataset)?;
    let specs = args.params.iter().map(|p| parse_param(p)).collect::<anyhow::Result<Vec<_>>>()?;
    let mut targets = Vec::with_capacity(args.targets.len());
    for text in &args.targets {
        let (id, weight) = parse_target(text)?;
        let observation = observed.get(id).ok_or_else(|| {
            anyhow!("--target `{id}`: no observed figure with that id in {}", args.observed.shown())
        })?;
        targets.push(Target { observation: observation.clone(), weight });
    }
    let shown = args.scenario.display();
    let fit = calibrate(&dataset, &scenario, &specs, &targets, &CalibrationOptions::default())
        .map_err(|e| anyhow!("{shown}: {e}"))?;
    let mut out = std::io::stdout().lock();
    match args.format {
        CalibrateFormat::Table => table(&mut out, &fit)?,
        CalibrateFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&json(&fit))?)?,
    }
    if let Some(path) = &args.out {
        let fitted = fit.apply_to(&scenario);
        std::fs::write(path, to_json_pretty(&fitted) + "\n")
            .with_context(|| format!("{}: cannot write", path.display()))?;
        eprintln!(
            "wrote {}: the scenario with the fitted elasticities as elasticity_overrides",
            path.display()
        );
    }
    Ok(())
}
