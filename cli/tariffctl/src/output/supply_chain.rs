//! The supply-chain figures of a result (a scenario with `input_costs`): which
//! rows carry the effective rate of protection (ERP) and the value-added price
//! change, the table's columns for them and the coupled solve's note.
//!
//! Everything here is added only where the result has the figures, so the
//! output of a scenario without input costs stays exactly what it was.

use std::io::Write;

use tariff_proto::v1::{EconomyImpact, ScenarioResult, SolverDiagnostics};

/// Whether the row has either supply-chain figure. The library sets both
/// together, but the proto allows one alone, so either counts.
pub fn has_figures(e: &EconomyImpact) -> bool {
    e.effective_protection_pct.is_some() || e.value_added_price_change_pct.is_some()
}

/// Whether any of the rows (a sector's economies, or the totals) has them:
/// that table gets the columns.
pub fn any_has_figures(rows: &[EconomyImpact]) -> bool {
    rows.iter().any(has_figures)
}

/// Whether any row of the result (any date, sector, economy, totals included) has them.
pub fn result_has_figures(result: &ScenarioResult) -> bool {
    result
        .impacts
        .iter()
        .any(|i| any_has_figures(&i.economies) || i.sectors.iter().any(|s| any_has_figures(&s.economies)))
}

/// The columns' headings, after the table's own (`tariff% b->a`), which they mirror.
pub fn header_cells(out: &mut dyn Write) -> std::io::Result<()> {
    write!(out, " {:>14} {:>7}", "ERP% b->a", "va px%")
}

/// An economy's cells under [`header_cells`]; `-` where the economy has no
/// input rows in the sector (its output has no ERP).
pub fn row_cells(out: &mut dyn Write, e: &EconomyImpact) -> std::io::Result<()> {
    match &e.effective_protection_pct {
        // Same layout as the tariff column, so the two read side by side.
        Some(erp) => write!(out, " {:>6.2}->{:<6.2}", erp.before, erp.after)?,
        None => write!(out, " {:>14}", "-")?,
    }
    match e.value_added_price_change_pct {
        Some(va) => write!(out, " {va:>+7.2}"),
        None => write!(out, " {:>7}", "-"),
    }
}

/// The sector header's addition when the date was solved coupled (0 passes
/// means it was not, and the header says nothing more).
pub fn coupling_note(d: &SolverDiagnostics) -> String {
    if d.coupling_passes == 0 {
        return String::new();
    }
    format!(", {} coupling passes, last change {:.1e}", d.coupling_passes, d.coupling_change)
}

#[cfg(test)]
mod tests {
    use tariff_proto::v1::Change;

    use super::*;

    fn cells(e: &EconomyImpact) -> String {
        let mut out = Vec::new();
        row_cells(&mut out, e).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cells_line_up_with_the_headings() {
        let mut heading = Vec::new();
        header_cells(&mut heading).unwrap();
        let with = EconomyImpact {
            effective_protection_pct: Some(Change { before: -1.8, after: 29.2, ..Default::default() }),
            value_added_price_change_pct: Some(6.557),
            ..Default::default()
        };
        assert_eq!(cells(&with), "  -1.80->29.20    +6.56");
        assert_eq!(cells(&EconomyImpact::default()), "              -       -");
        assert_eq!(cells(&with).len(), heading.len());
        assert_eq!(cells(&EconomyImpact::default()).len(), heading.len());
        assert!(has_figures(&with) && !has_figures(&EconomyImpact::default()));
    }

    #[test]
    fn no_note_without_coupling() {
        assert_eq!(coupling_note(&SolverDiagnostics::default()), "");
        let coupled =
            SolverDiagnostics { coupling_passes: 15, coupling_change: 1.69e-13, ..Default::default() };
        assert_eq!(coupling_note(&coupled), ", 15 coupling passes, last change 1.7e-13");
    }
}
