//! The comparison as CSV: one row per date, sector (`*` for the economy
//! totals), economy or flow, and measure; a side without the figure leaves
//! its cell empty.

use std::io::Write;

use tariff_proto::v1::Impact;

use super::{Comparison, MEASURES, economy, sector, sector_flows, union};

const HEADER: &[&str] = &["date_a", "date_b", "sector", "subject", "measure", "a", "b", "b_minus_a"];

fn number(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

type Writer<'a> = ::csv::Writer<&'a mut dyn Write>;

fn record(
    w: &mut Writer,
    dates: [&str; 2],
    place: [&str; 3],
    a: Option<f64>,
    b: Option<f64>,
) -> ::csv::Result<()> {
    let diff = a.zip(b).map(|(x, y)| y - x);
    let [sector, subject, measure] = place;
    w.write_record([dates[0], dates[1], sector, subject, measure, &number(a), &number(b), &number(diff)])
}

fn impact_rows(w: &mut Writer, a: &Impact, b: &Impact, count: usize) -> ::csv::Result<()> {
    let dates = [a.date.as_str(), b.date.as_str()];
    let codes =
        union(a.economies.iter().map(|e| e.economy.as_str()), b.economies.iter().map(|e| e.economy.as_str()));
    for code in codes {
        let (ea, eb) = (economy(a, code), economy(b, code));
        for m in MEASURES {
            record(w, dates, ["*", code, m.csv], ea.map(m.get), eb.map(m.get))?;
        }
    }
    let sectors =
        union(a.sectors.iter().map(|s| s.sector.as_str()), b.sectors.iter().map(|s| s.sector.as_str()));
    for code in sectors {
        for row in sector_flows(sector(a, code), sector(b, code), count) {
            let flow = format!("{}->{}", row.pair.exporter, row.pair.importer);
            // A flow missing on one side did not exist there: no change.
            let (ca, cb) = (row.a.unwrap_or_default(), row.b.unwrap_or_default());
            record(w, dates, [code, &flow, "value_change"], Some(ca.change), Some(cb.change))?;
            record(w, dates, [code, &flow, "value_change_pct"], Some(ca.change_pct), Some(cb.change_pct))?;
        }
    }
    Ok(())
}

pub fn write(c: &Comparison, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    for (a, b) in &c.pairs {
        impact_rows(&mut w, a, b, c.flows)?;
    }
    w.flush()?;
    Ok(())
}
