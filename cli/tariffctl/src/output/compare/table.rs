//! The comparison for people: per date, each economy's totals in A, B and
//! B-A, then each sector's largest flow changes.

use std::io::Write;

use tariff_proto::v1::{Change, Impact, ScenarioResult, Solver};

use super::{Comparison, FlowRow, Kind, MEASURES, economy, sector, sector_flows, union};

fn solver_name(solver: i32) -> &'static str {
    match Solver::try_from(solver) {
        Ok(Solver::Gsim) => "gsim",
        _ => "exact",
    }
}

fn describe(result: &ScenarioResult) -> String {
    format!("{} (base year {}), solver {}", result.dataset, result.base_year, solver_name(result.solver))
}

/// A cell: the value, or `-` where that side has none.
fn cell(value: Option<f64>, kind: Kind) -> String {
    match (value, kind) {
        (None, _) => "-".to_owned(),
        (Some(v), Kind::Money) => format!("{v:+.1}"),
        (Some(v), Kind::ChangePct) => format!("{v:+.2}"),
        (Some(v), Kind::LevelPct) => format!("{v:.2}"),
    }
}

fn economies(out: &mut dyn Write, a: &Impact, b: &Impact) -> std::io::Result<()> {
    writeln!(out, "Economies, all sectors:")?;
    writeln!(out, "  {:<8} {:<20} {:>12} {:>12} {:>12}", "economy", "", "A", "B", "B-A")?;
    let codes =
        union(a.economies.iter().map(|e| e.economy.as_str()), b.economies.iter().map(|e| e.economy.as_str()));
    for code in codes {
        let (ea, eb) = (economy(a, code), economy(b, code));
        for (i, m) in MEASURES.iter().enumerate() {
            let (va, vb) = (ea.map(m.get), eb.map(m.get));
            let diff = va.zip(vb).map(|(x, y)| y - x);
            // A difference always shows its sign, even of a level.
            let diff_kind = if m.kind == Kind::LevelPct { Kind::ChangePct } else { m.kind };
            writeln!(
                out,
                "  {:<8} {:<20} {:>12} {:>12} {:>12}",
                if i == 0 { code } else { "" },
                m.label,
                cell(va, m.kind),
                cell(vb, m.kind),
                cell(diff, diff_kind),
            )?;
        }
    }
    Ok(())
}

fn flow_cell(c: Option<Change>) -> String {
    c.map_or_else(|| "-".to_owned(), |c| format!("{:+.1} ({:+.2}%)", c.change, c.change_pct))
}

fn flow_row(out: &mut dyn Write, row: &FlowRow) -> std::io::Result<()> {
    let name = format!("{} -> {}", row.pair.exporter, row.pair.importer);
    writeln!(
        out,
        "    {name:<16} {:>24} {:>24} {:>+12.1}",
        flow_cell(row.a),
        flow_cell(row.b),
        row.b_minus_a()
    )
}

fn sectors(out: &mut dyn Write, a: &Impact, b: &Impact, count: usize) -> std::io::Result<()> {
    let codes =
        union(a.sectors.iter().map(|s| s.sector.as_str()), b.sectors.iter().map(|s| s.sector.as_str()));
    for code in codes {
        let rows = sector_flows(sector(a, code), sector(b, code), count);
        writeln!(out, "\nSector {code}, largest flow changes (value change, % in brackets):")?;
        if rows.is_empty() {
            writeln!(out, "    no flow between economies changed")?;
            continue;
        }
        writeln!(out, "    {:<16} {:>24} {:>24} {:>12}", "flow", "A", "B", "B-A")?;
        for row in &rows {
            flow_row(out, row)?;
        }
    }
    Ok(())
}

pub fn write(c: &Comparison, out: &mut dyn Write) -> anyhow::Result<()> {
    let [a, b] = c.results;
    writeln!(out, "A: {}\nB: {}", c.names[0], c.names[1])?;
    let (da, db) = (describe(a), describe(b));
    if da == db {
        writeln!(out, "Dataset: {da}")?;
    } else {
        writeln!(out, "Dataset: A {da}; B {db}")?;
    }
    if let Some(note) = &c.note {
        writeln!(out, "note: {note}")?;
    }
    let unit = format!("{} {}", a.currency, a.unit);
    for (ia, ib) in &c.pairs {
        let date =
            if ia.date == ib.date { ia.date.clone() } else { format!("A {} | B {}", ia.date, ib.date) };
        writeln!(out, "\n== {date} ==  ({unit}; changes against the base year; B-A is B less A)")?;
        economies(out, ia, ib)?;
        sectors(out, ia, ib, c.flows)?;
    }
    Ok(())
}
