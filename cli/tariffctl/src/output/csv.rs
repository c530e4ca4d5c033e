//! CSV: one row per date, sector and economy (sector `*` holds the totals), or
//! one row per date, sector and flow.
//!
//! The economy CSV's columns are fixed ([`HEADER`]): scripts compare whole
//! files (`scripts/local-stack.sh`) and read columns by position. So the
//! supply-chain figures ([`SUPPLY_CHAIN_HEADER`]) are added after them, and
//! only when some row of the result has them (a scenario with `input_costs`);
//! a result without them prints exactly the columns it always did.

use std::io::Write;

use tariff_proto::v1::{Change, EconomyImpact, FlowImpact, ScenarioResult};

use super::supply_chain::result_has_figures;

const HEADER: &[&str] = &[
    "date",
    "sector",
    "economy",
    "exports_before",
    "exports_after",
    "exports_change_pct",
    "imports_before",
    "imports_after",
    "imports_change_pct",
    "domestic_before",
    "domestic_after",
    "domestic_change_pct",
    "world_price_change_pct",
    "consumer_price_change_pct",
    "consumer_surplus_change",
    "producer_surplus_change",
    "tariff_revenue_before",
    "tariff_revenue_after",
    "tariff_revenue_change",
    "welfare_change",
    "welfare_change_pct_gdp",
    "effective_tariff_before_pct",
    "effective_tariff_after_pct",
    "export_volume_change_pct",
    "export_price_change_pct",
];

/// After [`HEADER`] when some row has an effective rate of protection or a
/// value-added price change; empty in the rows that have none (totals, sectors
/// without inputs, economies without input rows in the sector).
const SUPPLY_CHAIN_HEADER: &[&str] =
    &["effective_protection_before_pct", "effective_protection_after_pct", "value_added_price_change_pct"];

pub const FLOW_HEADER: &[&str] = &[
    "date",
    "sector",
    "exporter",
    "importer",
    "value_before",
    "value_after",
    "value_change_pct",
    "value_exporter_currency_after",
    "value_exporter_currency_change_pct",
    "volume_change_pct",
    "fob_price_change_pct",
    "fob_price_change_exporter_currency_pct",
    "delivered_price_change_pct",
    "tariff_before_pct",
    "tariff_after_pct",
];

fn row(date: &str, sector: &str, e: &EconomyImpact) -> Vec<String> {
    let c = |c: &Option<Change>| c.unwrap_or_default();
    let (x, m, d, t, eff) = (
        c(&e.exports),
        c(&e.imports),
        c(&e.domestic_shipments),
        c(&e.tariff_revenue),
        c(&e.effective_tariff_pct),
    );
    let numbers = [
        x.before,
        x.after,
        x.change_pct,
        m.before,
        m.after,
        m.change_pct,
        d.before,
        d.after,
        d.change_pct,
        e.world_price_change_pct,
        e.consumer_price_change_pct,
        e.consumer_surplus_change,
        e.producer_surplus_change,
        t.before,
        t.after,
        t.change,
        e.welfare_change,
        e.welfare_change_pct_gdp,
        eff.before,
        eff.after,
        e.export_volume_change_pct,
        e.export_price_change_pct,
    ];
    [date.to_owned(), sector.to_owned(), e.economy.clone()]
        .into_iter()
        .chain(numbers.iter().map(|n| n.to_string()))
        .collect()
}

/// The cells under [`SUPPLY_CHAIN_HEADER`]; empty where the row has no figure
/// (not 0, which would read as no protection).
fn supply_chain_cells(e: &EconomyImpact) -> [String; 3] {
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let erp = e.effective_protection_pct.as_ref();
    [number(erp.map(|c| c.before)), number(erp.map(|c| c.after)), number(e.value_added_price_change_pct)]
}

pub fn write(result: &ScenarioResult, out: &mut dyn Write) -> anyhow::Result<()> {
    let supply_chain = result_has_figures(result);
    let mut w = ::csv::Writer::from_writer(out);
    let mut header = HEADER.to_vec();
    if supply_chain {
        header.extend_from_slice(SUPPLY_CHAIN_HEADER);
    }
    w.write_record(&header)?;
    let record = |date: &str, sector: &str, e: &EconomyImpact| {
        let mut cells = row(date, sector, e);
        if supply_chain {
            cells.extend(supply_chain_cells(e));
        }
        cells
    };
    for impact in &result.impacts {
        for e in &impact.economies {
            w.write_record(record(&impact.date, "*", e))?;
        }
        for sector in &impact.sectors {
            for e in &sector.economies {
                w.write_record(record(&impact.date, &sector.sector, e))?;
            }
        }
    }
    w.flush()?;
    Ok(())
}

/// One row per date, sector and flow (domestic shipments included).
pub fn write_flows(result: &ScenarioResult, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(FLOW_HEADER)?;
    for impact in &result.impacts {
        for sector in &impact.sectors {
            for f in &sector.flows {
                w.write_record(flow_record(&impact.date, &sector.sector, f))?;
            }
        }
    }
    w.flush()?;
    Ok(())
}

/// The row of one flow under [`FLOW_HEADER`]; numbers in full precision.
pub fn flow_record(date: &str, sector: &str, f: &FlowImpact) -> Vec<String> {
    let (v, x) = (f.value.unwrap_or_default(), f.value_exporter_currency.unwrap_or_default());
    let numbers = [
        v.before,
        v.after,
        v.change_pct,
        x.after,
        x.change_pct,
        f.volume_change_pct,
        f.fob_price_change_pct,
        f.fob_price_change_exporter_currency_pct,
        f.delivered_price_change_pct,
        f.tariff_before_pct,
        f.tariff_after_pct,
    ];
    [date, sector, &f.exporter, &f.importer]
        .map(str::to_owned)
        .into_iter()
        .chain(numbers.iter().map(|n| n.to_string()))
        .collect()
}
