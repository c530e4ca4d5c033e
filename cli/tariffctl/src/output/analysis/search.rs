//! A goal-seek's or an optimisation's outcome as lines for people.

use std::io::Write;

use tariff_proto::v1::{OptimizationResult, SearchStatus, SeekResult};

/// `CONVERGED`, `UNREACHABLE`: the proto name without its prefix, as JSON
/// output spells it too.
pub fn status_name(status: i32) -> &'static str {
    let name = SearchStatus::try_from(status).unwrap_or_default().as_str_name();
    name.strip_prefix("SEARCH_STATUS_").unwrap_or(name)
}

/// What the command line knows about a search beyond its answer: the target
/// and goal as given, the levers' ranges.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    /// Seek: the target figure; optimisation: the objective.
    pub figure: Option<String>,
    /// Seek: what the figure was to equal, as given.
    pub goal: Option<String>,
    /// Each lever's (low, high), in order.
    pub bounds: Vec<(f64, f64)>,
}

pub fn seek(s: &SeekResult, evaluations: u32, asked: &Asked, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "Goal-seek")?;
    // Full precision: the lever value is meant to be written back into a scenario.
    writeln!(out, "  lever        {} = {}", s.lever, s.lever_value)?;
    match &asked.figure {
        Some(target) => writeln!(out, "  figure       {target} = {}", s.figure)?,
        None => writeln!(out, "  figure       {}", s.figure)?,
    }
    match &asked.goal {
        Some(goal) => writeln!(out, "  goal         {} ({goal})", s.goal)?,
        None => writeln!(out, "  goal         {}", s.goal)?,
    }
    writeln!(out, "  tolerance    {}", s.tolerance)?;
    writeln!(out, "  status       {}", status_name(s.status))?;
    writeln!(out, "  evaluations  {evaluations}")?;
    if !s.message.is_empty() {
        writeln!(out, "  message      {}", s.message)?;
    }
    Ok(())
}

/// Which end of its range a lever sits at, when it is at one.
fn bound_mark(o: &OptimizationResult, i: usize, asked: &Asked) -> String {
    if !o.at_bound.get(i).copied().unwrap_or(false) {
        return String::new();
    }
    let v = o.lever_values.get(i).copied().unwrap_or(f64::NAN);
    match asked.bounds.get(i) {
        Some((low, high)) if (v - low).abs() <= (v - high).abs() => format!("  (at the low bound {low})"),
        Some((_, high)) => format!("  (at the high bound {high})"),
        None => "  (at a bound)".to_owned(),
    }
}

pub fn optimization(
    o: &OptimizationResult,
    evaluations: u32,
    asked: &Asked,
    with_path: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "Optimisation")?;
    for (i, lever) in o.levers.iter().enumerate() {
        let v = o.lever_values.get(i).copied().unwrap_or(f64::NAN);
        writeln!(out, "  lever        {lever} = {v}{}", bound_mark(o, i, asked))?;
    }
    match &asked.figure {
        Some(objective) => writeln!(out, "  objective    {objective} = {}", o.objective)?,
        None => writeln!(out, "  objective    {}", o.objective)?,
    }
    for c in &o.constraints {
        let bounds = match (c.min, c.max) {
            (Some(lo), Some(hi)) => format!("in [{lo}, {hi}]"),
            (Some(lo), None) => format!(">= {lo}"),
            (None, Some(hi)) => format!("<= {hi}"),
            (None, None) => String::new(),
        };
        let binding = if c.binding { "binding" } else { "not binding" };
        writeln!(out, "  constraint   {} {bounds}: {} ({binding})", c.figure, c.value)?;
    }
    writeln!(out, "  status       {}", status_name(o.status))?;
    writeln!(out, "  method       {}", o.method)?;
    writeln!(out, "  evaluations  {evaluations}")?;
    if !o.message.is_empty() {
        writeln!(out, "  message      {}", o.message)?;
    }
    if with_path {
        writeln!(out, "  path (run: levers -> objective, largest constraint violation):")?;
        for (n, step) in o.path.iter().enumerate() {
            let levers: Vec<String> = step.levers.iter().map(|v| format!("{v:.6}")).collect();
            writeln!(
                out,
                "    {:>4}: {} -> {:.6} {:.3e}",
                n + 1,
                levers.join(", "),
                step.value,
                step.violation
            )?;
        }
    }
    Ok(())
}
