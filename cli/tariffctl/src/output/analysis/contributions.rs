//! Contributions as a table for people or as CSV: per date and economy, what
//! each player (measure or agreement change) adds to each figure.

use std::io::Write;

use tariff_proto::v1::{Contributions, DateContributions, EconomyFigures, Figure, ScenarioResult};
use tariff_scenario::figure_of;

use crate::tornado::{describe, number};

/// The figures shown unless the command line picks others.
pub const DEFAULT_FIGURES: [Figure; 3] =
    [Figure::WelfareChange, Figure::ExportsChange, Figure::ImportsChange];

/// Which part of the contributions to print.
#[derive(Debug, Clone)]
pub struct Slice {
    /// Economy codes; empty for every one.
    pub economies: Vec<String>,
    pub figures: Vec<Figure>,
    /// Dates; empty for every one.
    pub dates: Vec<String>,
}

impl Default for Slice {
    fn default() -> Self {
        Slice { economies: Vec::new(), figures: DEFAULT_FIGURES.to_vec(), dates: Vec::new() }
    }
}

impl Slice {
    /// The (date, economy position, economy total) cells kept, in the result's order.
    fn cells<'a>(
        &'a self,
        c: &'a Contributions,
    ) -> impl Iterator<Item = (&'a DateContributions, usize, &'a EconomyFigures)> + 'a {
        c.dates.iter().filter(|d| self.dates.is_empty() || self.dates.contains(&d.date)).flat_map(move |d| {
            d.total
                .iter()
                .enumerate()
                .filter(|(_, t)| self.economies.is_empty() || self.economies.contains(&t.economy))
                .map(move |(e, t)| (d, e, t))
        })
    }
}

fn value(f: Option<&EconomyFigures>, figure: Figure) -> f64 {
    f.and_then(|f| figure_of(f, figure)).unwrap_or(f64::NAN)
}

/// `measures[0] cars`: the player's key, then its id or label when it has one.
pub fn player_name(c: &Contributions, i: usize) -> String {
    let key = c.players.get(i).map_or("", String::as_str);
    match c.labels.get(i).filter(|l| !l.is_empty() && *l != key) {
        Some(label) => format!("{key} {label}"),
        None => key.to_owned(),
    }
}

/// How the values were found: exact or sampled, with what.
pub fn method(c: &Contributions) -> String {
    if c.exact {
        let coalitions = u32::try_from(c.players.len()).ok().and_then(|k| 1u64.checked_shl(k));
        match coalitions {
            Some(n) => format!("exact Shapley values over all {n} coalitions"),
            None => "exact Shapley values".to_owned(),
        }
    } else {
        format!("sampled: {} permutations, seed {}; ± is one standard error", c.permutations, c.seed)
    }
}

/// The table: per date and economy, a row per player and a column per
/// figure, then the sum of the contributions, the baseline and the total.
pub fn table(
    result: &ScenarioResult,
    c: &Contributions,
    evaluations: u32,
    slice: &Slice,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "Contributions of {} players ({}), {evaluations} runs; money in {} {}, % figures in percent",
        c.players.len(),
        method(c),
        result.currency,
        result.unit
    )?;
    let names: Vec<String> = (0..c.players.len()).map(|i| player_name(c, i)).collect();
    let width = names.iter().map(|n| n.chars().count()).chain([26]).max().unwrap_or(26).min(60);
    let column = if c.exact { 16 } else { 26 };
    for (date, e, total) in slice.cells(c) {
        write!(out, "\n{} {:<w$}", date.date, total.economy, w = width.saturating_sub(11))?;
        for f in &slice.figures {
            write!(out, " {:>column$}", describe(*f).0)?;
        }
        writeln!(out)?;
        let mut sum = vec![0.0; slice.figures.len()];
        for (i, p) in date.players.iter().enumerate() {
            let name: String = names.get(i).map_or("", String::as_str).chars().take(width).collect();
            write!(out, "{name:width$}")?;
            for (k, f) in slice.figures.iter().enumerate() {
                let v = value(p.contribution.get(e), *f);
                sum[k] += v;
                let cell = match p.standard_error.get(e) {
                    Some(se) => format!("{} ± {}", number(*f, v), number(*f, value(Some(se), *f))),
                    None => number(*f, v),
                };
                write!(out, " {cell:>column$}")?;
            }
            writeln!(out)?;
        }
        let figures = |f: Option<&EconomyFigures>| slice.figures.iter().map(|x| value(f, *x)).collect();
        let rows: [(&str, Vec<f64>); 3] = [
            ("sum of the contributions", sum),
            ("baseline (no player)", figures(date.baseline.get(e))),
            ("total (the scenario)", figures(Some(total))),
        ];
        for (name, values) in rows {
            write!(out, "{name:width$}")?;
            for (v, f) in values.iter().zip(&slice.figures) {
                write!(out, " {:>column$}", number(*f, *v))?;
            }
            writeln!(out)?;
        }
    }
    writeln!(out, "\nbaseline + sum of the contributions = total")
}

/// CSV: one row per date, economy, row (each player, `baseline`, `total`) and
/// figure; values in full precision, the standard error only when sampled.
pub fn csv(c: &Contributions, slice: &Slice, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["date", "economy", "row", "label", "figure", "value", "standard_error"])?;
    for (date, e, total) in slice.cells(c) {
        for f in &slice.figures {
            let figure = f.as_str_name();
            let mut row = |name: &str, label: &str, v: f64, se: Option<f64>| {
                let se = se.map(|s| s.to_string()).unwrap_or_default();
                w.write_record([date.date.as_str(), &total.economy, name, label, figure, &v.to_string(), &se])
            };
            for (i, p) in date.players.iter().enumerate() {
                let label = c.labels.get(i).map_or("", String::as_str);
                let se = p.standard_error.get(e).map(|s| value(Some(s), *f));
                row(&p.player, label, value(p.contribution.get(e), *f), se)?;
            }
            row("baseline", "", value(date.baseline.get(e), *f), None)?;
            row("total", "", value(Some(total), *f), None)?;
        }
    }
    w.flush()?;
    Ok(())
}
