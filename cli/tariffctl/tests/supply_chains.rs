//! The supply-chain figures (a scenario with `input_costs`) in `run`'s table
//! and CSV, checked against the binary's own JSON output; and a scenario
//! without input costs printing exactly the columns it always did.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{scenario, stdout, tariffctl};
use tariff_proto::{
    json::from_json,
    v1::{EconomyImpact, ScenarioResult, SectorImpact},
};

const SUPPLY_CHAINS: &str = "section-232-supply-chains.json";
const WITHOUT_INPUTS: &str = "section-232-autos-2025.json";

fn result_of(file: &str) -> ScenarioResult {
    from_json(&stdout(&tariffctl(&["run", &scenario(file), "--format", "json"]))).unwrap()
}

fn sector<'r>(result: &'r ScenarioResult, code: &str) -> &'r SectorImpact {
    result.impacts[0].sectors.iter().find(|s| s.sector == code).unwrap()
}

fn economy<'s>(sector: &'s SectorImpact, code: &str) -> &'s EconomyImpact {
    sector.economies.iter().find(|e| e.economy == code).unwrap()
}

/// The lines of the table's block for `code`: its header line, then up to
/// the blank line before the next sector.
fn sector_block<'t>(table: &'t str, code: &str) -> Vec<&'t str> {
    let start = format!("Sector {code} (");
    let mut lines = table.lines().skip_while(|l| !l.starts_with(&start));
    let header = lines.next().unwrap_or_else(|| panic!("no block for {code}:\n{table}"));
    std::iter::once(header).chain(lines.take_while(|l| !l.is_empty())).collect()
}

#[test]
fn the_table_shows_the_erp_and_value_added_price_of_usa_cars_from_the_json() {
    let result = result_of(SUPPLY_CHAINS);
    let cars = sector(&result, "CARS");
    let usa = economy(cars, "USA");
    let erp = usa.effective_protection_pct.unwrap();
    let va = usa.value_added_price_change_pct.unwrap();
    // The scenario's point: the parts duty raises what US car makers pay, so
    // their protection moves by more than the tariff on cars.
    assert!(erp.after > erp.before + 25.0, "{erp:?}");

    let table = stdout(&tariffctl(&["run", &scenario(SUPPLY_CHAINS)]));
    let block = sector_block(&table, "CARS");
    let d = cars.diagnostics.unwrap();
    assert!(d.coupling_passes > 0);
    let note = format!(", {} coupling passes, last change {:.1e}):", d.coupling_passes, d.coupling_change);
    assert!(block[0].ends_with(&note), "header `{}` lacks `{note}`", block[0]);
    assert!(block[1].ends_with("tariff% b->a      ERP% b->a  va px%"), "column headings: {}", block[1]);
    let row = block.iter().find(|l| l.trim_start().starts_with("USA ")).unwrap();
    let cells = format!("{:>6.2}->{:<6.2} {:>+7.2}", erp.before, erp.after, va);
    assert!(row.ends_with(&cells), "USA row `{row}` should end with `{cells}`");
    // Every economy of the sector has input rows in the built-in dataset: a value in every row.
    for e in &cars.economies {
        let row = block.iter().find(|l| l.trim_start().starts_with(&format!("{} ", e.economy))).unwrap();
        let erp = e.effective_protection_pct.unwrap();
        assert!(row.contains(&format!("{:>6.2}->{:<6.2}", erp.before, erp.after)), "{row}");
    }

    // A sector without inputs keeps its columns; its header still says the date was coupled.
    let elec = sector_block(&table, "ELEC");
    assert!(sector(&result, "ELEC").economies.iter().all(|e| e.effective_protection_pct.is_none()));
    assert!(elec[0].contains("coupling passes") && !elec[1].contains("ERP"), "{elec:?}");
    assert!(elec[1].ends_with("tariff% b->a"), "{elec:?}");
}

#[test]
fn without_input_costs_the_table_has_no_erp_column_nor_coupling_note() {
    let result = result_of(WITHOUT_INPUTS);
    assert!(result.impacts.iter().flat_map(|i| &i.sectors).all(|s| {
        s.diagnostics.unwrap().coupling_passes == 0
            && s.economies.iter().all(|e| e.effective_protection_pct.is_none())
    }));
    let table = stdout(&tariffctl(&["run", &scenario(WITHOUT_INPUTS)]));
    for absent in ["ERP", "va px%", "coupling"] {
        assert!(!table.contains(absent), "table has `{absent}`:\n{table}");
    }
    let headings: Vec<&str> = table.lines().filter(|l| l.trim_start().starts_with("economy ")).collect();
    assert!(!headings.is_empty());
    for h in headings {
        assert!(h.ends_with("   dW   tariff% b->a"), "{h}");
    }
    // The sector header ends at the residual, as before input costs existed.
    let header = sector_block(&table, "CARS")[0];
    let after_residual = header.rsplit(" residual ").next().unwrap();
    assert!(after_residual.ends_with("):") && !after_residual.contains(','), "{header}");
}

#[test]
fn csv_adds_the_supply_chain_columns_only_when_the_result_has_them() {
    let read = |file: &str| {
        let text = stdout(&tariffctl(&["run", &scenario(file), "--format", "csv"]));
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        (header, rows)
    };
    let (plain, rows) = read(WITHOUT_INPUTS);
    assert_eq!(plain.first().map(String::as_str), Some("date"));
    assert_eq!(plain.last().map(String::as_str), Some("export_price_change_pct"));
    assert!(rows.iter().all(|r| r.len() == plain.len()));

    let (with, rows) = read(SUPPLY_CHAINS);
    let added =
        ["effective_protection_before_pct", "effective_protection_after_pct", "value_added_price_change_pct"];
    assert_eq!(with[..plain.len()], plain[..], "the usual columns first, unchanged");
    assert_eq!(with[plain.len()..], added);
    let result = result_of(SUPPLY_CHAINS);
    let usa = economy(sector(&result, "CARS"), "USA");
    let row = rows.iter().find(|r| &r[1] == "CARS" && &r[2] == "USA").unwrap();
    let number = |i: usize| row[plain.len() + i].parse::<f64>().unwrap();
    let erp = usa.effective_protection_pct.unwrap();
    // Full precision: the CSV's numbers are the JSON's to the last bit.
    assert_eq!(
        [number(0), number(1), number(2)],
        [erp.before, erp.after, usa.value_added_price_change_pct.unwrap()]
    );
    // Totals and sectors without inputs: empty cells, not zeros.
    for r in rows.iter().filter(|r| &r[1] == "*" || &r[1] == "ELEC") {
        assert!(r.iter().skip(plain.len()).all(str::is_empty), "{r:?}");
    }
}
