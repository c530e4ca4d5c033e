//! The model's outcome as reported figures: changes, per-economy totals over
//! sectors, and diagnostics.

use tariff_model::{EconomyOutcome, Solver};
use tariff_proto::v1 as pb;

use crate::{dataset::Dataset, impact::solver_proto};

/// Before, after, and the change absolute and in percent (0 when `before` is 0).
pub fn change(before: f64, after: f64) -> pb::Change {
    let change = after - before;
    let change_pct = if before != 0.0 { change / before * 100.0 } else { 0.0 };
    pb::Change { before, after, change, change_pct }
}

/// One economy's figures in one sector.
pub(crate) fn economy_impact(code: &str, o: &EconomyOutcome) -> pb::EconomyImpact {
    pb::EconomyImpact {
        economy: code.to_owned(),
        exports: Some(change(o.exports_before, o.exports_after)),
        imports: Some(change(o.imports_before, o.imports_after)),
        domestic_shipments: Some(change(o.domestic_before, o.domestic_after)),
        world_price_change_pct: o.world_price_change * 100.0,
        consumer_price_change_pct: o.consumer_price_change * 100.0,
        consumer_surplus_change: o.consumer_surplus_change,
        producer_surplus_change: o.producer_surplus_change,
        tariff_revenue: Some(change(o.tariff_revenue_before, o.tariff_revenue_after)),
        welfare_change: o.welfare_change,
        effective_tariff_pct: Some(change(o.effective_tariff_before_pct, o.effective_tariff_after_pct)),
        welfare_change_pct_gdp: 0.0,
        export_volume_change_pct: o.export_volume_change * 100.0,
        export_price_change_pct: o.export_price_change * 100.0,
        effective_protection_pct: None,
        value_added_price_change_pct: None,
        intermediate_use_share: None,
    }
}

#[derive(Default)]
struct Totals {
    exports: (f64, f64),
    imports: (f64, f64),
    domestic: (f64, f64),
    revenue: (f64, f64),
    tariff_weighted: (f64, f64),
    world_price: (f64, f64),
    consumer_price: (f64, f64),
    cs: f64,
    ps: f64,
    welfare: f64,
    /// Exports at base world prices after: `sum exports_before * (1 + volume change)`.
    export_volume: f64,
}

fn pair(c: &Option<pb::Change>) -> (f64, f64) {
    c.as_ref().map_or((0.0, 0.0), |c| (c.before, c.after))
}

fn ratio(num: f64, den: f64) -> f64 {
    if den != 0.0 { num / den } else { 0.0 }
}

/// Each economy's totals over sectors. Price changes are weighted by base
/// shipments (world price) and base expenditure at internal prices (consumer
/// price); effective tariffs by imports before and after.
pub(crate) fn economy_totals(dataset: &Dataset, sectors: &[pb::SectorImpact]) -> Vec<pb::EconomyImpact> {
    economy_totals_of(dataset, sectors.iter().map(|s| s.economies.as_slice()))
}

/// [`economy_totals`] over each sector's economy figures. Uncertainty draws
/// total their sectors here too, so that a draw at the point estimate's
/// elasticities gives the point estimate's totals to the last bit.
pub(crate) fn economy_totals_of<'a>(
    dataset: &Dataset,
    sectors: impl IntoIterator<Item = &'a [pb::EconomyImpact]>,
) -> Vec<pb::EconomyImpact> {
    let mut totals: Vec<Totals> = dataset.economies.iter().map(|_| Totals::default()).collect();
    for sector in sectors {
        for (t, e) in totals.iter_mut().zip(sector) {
            let (x, m, d, rev) =
                (pair(&e.exports), pair(&e.imports), pair(&e.domestic_shipments), pair(&e.tariff_revenue));
            let eff = pair(&e.effective_tariff_pct);
            let add = |acc: &mut (f64, f64), p: (f64, f64)| {
                acc.0 += p.0;
                acc.1 += p.1;
            };
            add(&mut t.exports, x);
            add(&mut t.imports, m);
            add(&mut t.domestic, d);
            add(&mut t.revenue, rev);
            add(&mut t.tariff_weighted, (eff.0 * m.0, eff.1 * m.1));
            let shipments = x.0 + d.0;
            let expenditure = m.0 + d.0 + rev.0;
            add(&mut t.world_price, (e.world_price_change_pct * shipments, shipments));
            add(&mut t.consumer_price, (e.consumer_price_change_pct * expenditure, expenditure));
            t.cs += e.consumer_surplus_change;
            t.ps += e.producer_surplus_change;
            t.welfare += e.welfare_change;
            t.export_volume += x.0 * (1.0 + e.export_volume_change_pct / 100.0);
        }
    }
    totals
        .iter()
        .zip(&dataset.economies)
        .map(|(t, e)| pb::EconomyImpact {
            economy: e.code.clone(),
            exports: Some(change(t.exports.0, t.exports.1)),
            imports: Some(change(t.imports.0, t.imports.1)),
            domestic_shipments: Some(change(t.domestic.0, t.domestic.1)),
            world_price_change_pct: ratio(t.world_price.0, t.world_price.1),
            consumer_price_change_pct: ratio(t.consumer_price.0, t.consumer_price.1),
            consumer_surplus_change: t.cs,
            producer_surplus_change: t.ps,
            tariff_revenue: Some(change(t.revenue.0, t.revenue.1)),
            welfare_change: t.welfare,
            effective_tariff_pct: Some(change(
                ratio(t.tariff_weighted.0, t.imports.0),
                ratio(t.tariff_weighted.1, t.imports.1),
            )),
            welfare_change_pct_gdp: ratio(t.welfare * 100.0, e.gdp),
            export_volume_change_pct: if t.exports.0 > 0.0 {
                (t.export_volume / t.exports.0 - 1.0) * 100.0
            } else {
                0.0
            },
            export_price_change_pct: if t.export_volume > 0.0 {
                (t.exports.1 / t.export_volume - 1.0) * 100.0
            } else {
                0.0
            },
            effective_protection_pct: None,
            value_added_price_change_pct: None,
            intermediate_use_share: None,
        })
        .collect()
}

/// The most iterations and the largest residual over the sectors of one date.
pub(crate) fn worst_diagnostics(solver: Solver, sectors: &[pb::SectorImpact]) -> pb::SolverDiagnostics {
    let mut worst = pb::SolverDiagnostics { solver: solver_proto(solver).into(), ..Default::default() };
    for d in sectors.iter().filter_map(|s| s.diagnostics.as_ref()) {
        worst.iterations = worst.iterations.max(d.iterations);
        worst.residual = worst.residual.max(d.residual);
        worst.coupling_passes = worst.coupling_passes.max(d.coupling_passes);
        worst.coupling_change = worst.coupling_change.max(d.coupling_change);
    }
    worst
}
