//! The table for people: per date, the headline per economy, then each sector,
//! then where trade moved most.

use std::io::Write;

use tariff_proto::v1::{
    Change, EconomyImpact, FlowImpact, Impact, MarketStructure, QuotaOutcome, QuotaRegime, ScenarioResult,
    Solver, measure::RentTo,
};

use super::supply_chain::{any_has_figures, coupling_note, header_cells, row_cells};
use crate::tornado::Pick;

fn change(c: &Option<Change>) -> Change {
    c.unwrap_or_default()
}

fn solver_name(solver: i32) -> &'static str {
    match Solver::try_from(solver) {
        Ok(Solver::Gsim) => "gsim",
        _ => "exact",
    }
}

fn structure_name(structure: i32) -> &'static str {
    match MarketStructure::try_from(structure) {
        Ok(MarketStructure::Segmented) => "segmented",
        _ => "integrated",
    }
}

/// The column headings; `supply_chain` adds the ERP and value-added price
/// columns (only in sectors that have them, so other tables stay as they were).
fn header(out: &mut dyn Write, first: &str, supply_chain: bool) -> std::io::Result<()> {
    write!(
        out,
        "  {first:<8} {:>11} {:>7} {:>7} {:>7} {:>11} {:>7} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9} {:>14}",
        "exports",
        "chg%",
        "xvol%",
        "xpx%",
        "imports",
        "chg%",
        "wld px%",
        "con px%",
        "dCS",
        "dPS",
        "dTR",
        "dW",
        "tariff% b->a"
    )?;
    if supply_chain {
        header_cells(out)?;
    }
    writeln!(out)
}

/// One economy's row, with the supply-chain cells under [`header`]'s `supply_chain`.
fn economy_row(out: &mut dyn Write, e: &EconomyImpact, supply_chain: bool) -> std::io::Result<()> {
    let (x, m, eff) = (change(&e.exports), change(&e.imports), change(&e.effective_tariff_pct));
    write!(
        out,
        "  {:<8} {:>11.0} {:>+7.2} {:>+7.2} {:>+7.2} {:>11.0} {:>+7.2} {:>+7.2} {:>+7.2} {:>+9.1} {:>+9.1} {:>+9.1} {:>+9.1} {:>6.2}->{:<6.2}",
        e.economy,
        x.after,
        x.change_pct,
        e.export_volume_change_pct,
        e.export_price_change_pct,
        m.after,
        m.change_pct,
        e.world_price_change_pct,
        e.consumer_price_change_pct,
        e.consumer_surplus_change,
        e.producer_surplus_change,
        change(&e.tariff_revenue).change,
        e.welfare_change,
        eff.before,
        eff.after,
    )?;
    if supply_chain {
        row_cells(out, e)?;
    }
    writeln!(out)
}

/// The flows between economies (not domestic) that moved most, largest first.
fn largest_moves(flows: &[FlowImpact], count: usize) -> Vec<&FlowImpact> {
    let mut moved: Vec<&FlowImpact> =
        flows.iter().filter(|f| f.exporter != f.importer && change(&f.value).change != 0.0).collect();
    moved.sort_by(|a, b| change(&b.value).change.abs().total_cmp(&change(&a.value).change.abs()));
    moved.truncate(count);
    moved
}

/// A tariff-rate quota as solved: which rate, the volume against the quota, the rent.
fn quota_row(out: &mut dyn Write, q: &QuotaOutcome, unit: &str) -> std::io::Result<()> {
    let regime = match QuotaRegime::try_from(q.regime) {
        Ok(QuotaRegime::InQuota) => "within the quota",
        Ok(QuotaRegime::AtQuota) => "at the quota",
        Ok(QuotaRegime::OutOfQuota) => "beyond the quota",
        _ => "unknown regime",
    };
    let to = if q.rent_to == i32::from(RentTo::Exporter) { "exporters" } else { "importer" };
    writeln!(
        out,
        "  TRQ {} ({}): {regime}, imports {:.1} of a quota of {:.1}, rate {:.2}% (premium {:.2} points), rent {:.1} to the {to} ({unit})",
        q.measure, q.importer, q.imports, q.quota, q.rate_pct, q.premium_pct, q.rent
    )
}

fn impact(
    out: &mut dyn Write,
    impact: &Impact,
    result: &ScenarioResult,
    pick: Option<&Pick>,
    unit: &str,
) -> std::io::Result<()> {
    writeln!(out, "\n== {} ==  ({unit}; changes against the base year)", impact.date)?;
    writeln!(out, "Economies, all sectors:")?;
    // The library reports ERP per sector only, but the columns follow the rows
    // as in the sectors, should totals ever carry them.
    let supply_chain = any_has_figures(&impact.economies);
    header(out, "economy", supply_chain)?;
    for e in &impact.economies {
        economy_row(out, e, supply_chain)?;
    }
    writeln!(out, "  welfare change, % of GDP: {}", {
        let parts: Vec<String> = impact
            .economies
            .iter()
            .map(|e| format!("{} {:+.3}", e.economy, e.welfare_change_pct_gdp))
            .collect();
        parts.join(", ")
    })?;
    super::uncertainty::write(out, impact, result.uncertainty.as_ref(), pick, unit)?;
    for sector in &impact.sectors {
        let d = sector.diagnostics.unwrap_or_default();
        writeln!(
            out,
            "\nSector {} (solver {}, {}, {} iterations, residual {:.1e}{}):",
            sector.sector,
            solver_name(d.solver),
            structure_name(sector.market_structure),
            d.iterations,
            d.residual,
            coupling_note(&d),
        )?;
        let supply_chain = any_has_figures(&sector.economies);
        header(out, "economy", supply_chain)?;
        for e in &sector.economies {
            economy_row(out, e, supply_chain)?;
        }
        for q in &sector.quotas {
            quota_row(out, q, unit)?;
        }
        let moves = largest_moves(&sector.flows, 5);
        if !moves.is_empty() {
            writeln!(out, "  largest flow changes:")?;
            for f in moves {
                let v = change(&f.value);
                writeln!(
                    out,
                    "    {:>5} -> {:<5} {:>11.0} -> {:<11.0} {:>+10.1} ({:+.2}%)  volume {:+.2}%, fob {:+.2}%, delivered {:+.2}%  tariff {:.2}% -> {:.2}%",
                    f.exporter,
                    f.importer,
                    v.before,
                    v.after,
                    v.change,
                    v.change_pct,
                    f.volume_change_pct,
                    f.fob_price_change_pct,
                    f.delivered_price_change_pct,
                    f.tariff_before_pct,
                    f.tariff_after_pct
                )?;
            }
        }
    }
    Ok(())
}

/// The whole result; `pick` chooses the tornado's figure when it has one.
pub fn write(result: &ScenarioResult, pick: Option<&Pick>, out: &mut dyn Write) -> anyhow::Result<()> {
    let name = if result.scenario_name.is_empty() { &result.scenario_id } else { &result.scenario_name };
    writeln!(
        out,
        "Scenario: {name}\nDataset: {} (base year {}), solver {}, horizon {}",
        result.dataset,
        result.base_year,
        solver_name(result.solver),
        if result.horizon.is_empty() { "long_run" } else { &result.horizon },
    )?;
    if !result.exchange_rates.is_empty() {
        let moves: Vec<String> =
            result.exchange_rates.iter().map(|x| format!("{} {:+.2}%", x.economy, x.change_pct)).collect();
        writeln!(out, "Exchange rates against {} (appreciation): {}", result.currency, moves.join(", "))?;
    }
    let unit = format!("{} {}", result.currency, result.unit);
    for i in &result.impacts {
        impact(out, i, result, pick, &unit)?;
    }
    Ok(())
}
