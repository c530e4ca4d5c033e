//! Supply chains at scale (docs/model.md, "Supply chains: input costs and
//! effective protection"): a synthetic 30-economy x 40-sector dataset with
//! three random input sectors per economy and sector. With `input_costs` on,
//! the coupled solve converges in every sector to [`COUPLING_TOLERANCE`]
//! (1e-12), in more than one pass, both for a tariff on every import of one
//! economy and for one on three sectors only, which then reaches the sectors
//! buying them. With it
//! off, the result is that of the same dataset without inputs.csv, byte for byte.
//!
//! The dataset: tariff-import's synthetic generator, through
//! tests/common/supply_chain_synth.rs (shared with the benchmark).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;

use prost::Message;
use tariff_proto::v1::{self as pb, Scenario};
use tariff_scenario::{COUPLING_TOLERANCE, dataset::Dataset};

#[path = "common/supply_chain_synth.rs"]
mod supply_chain_synth;
use supply_chain_synth::{ECONOMIES, INPUT_SECTORS, SECTORS, e001_plus_25, write_dataset};

/// The dataset with its inputs.csv and, loaded again after deleting the file, without.
fn datasets() -> (Dataset, Dataset) {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path());
    let with = Dataset::from_dir(dir.path()).unwrap();
    fs::remove_file(dir.path().join("inputs.csv")).unwrap();
    let without = Dataset::from_dir(dir.path()).unwrap();
    assert_eq!((with.economies.len(), with.sectors.len()), (ECONOMIES, SECTORS));
    assert_eq!(with.inputs.rows().len(), ECONOMIES * SECTORS * INPUT_SECTORS);
    assert!(without.inputs.is_empty());
    (with, without)
}

fn scenario(sectors: &[&str], input_costs: bool) -> Scenario {
    Scenario { input_costs, ..e001_plus_25(sectors) }
}

const UNIVERSAL: &[&str] = &["*"];
const THREE_SECTORS: &[&str] = &["S001", "S002", "S003"];

fn run(d: &Dataset, s: &Scenario) -> pb::ScenarioResult {
    tariff_scenario::run(d, s).unwrap()
}

/// Every sector's coupled solve converged, in more than one pass; returns the passes.
fn assert_converged(r: &pb::ScenarioResult) -> u32 {
    let impact = &r.impacts[0];
    assert_eq!(impact.sectors.len(), SECTORS);
    let passes = impact.diagnostics.unwrap().coupling_passes;
    for sector in &impact.sectors {
        let d = sector.diagnostics.unwrap();
        assert!(d.coupling_change <= COUPLING_TOLERANCE, "{}: {d:?}", sector.sector);
        assert!(d.coupling_passes > 1, "{}: {d:?}", sector.sector);
        assert_eq!(d.coupling_passes, passes, "{}: one coupled solve for the date", sector.sector);
    }
    passes
}

fn economy<'a>(r: &'a pb::ScenarioResult, sector: usize, code: &str) -> &'a pb::EconomyImpact {
    r.impacts[0].sectors[sector].economies.iter().find(|e| e.economy == code).unwrap()
}

#[test]
fn a_tariff_on_every_import_of_one_economy_converges_in_every_sector() {
    let (d, _) = datasets();
    let r = run(&d, &scenario(UNIVERSAL, true));
    let passes = assert_converged(&r);
    assert!(passes < 200, "{passes}");
    // Every sector's E001 producers now pay more for their inputs: each has an
    // ERP and a value-added price, and E001's consumer prices rise everywhere.
    for s in 0..SECTORS {
        let e = economy(&r, s, "E001");
        assert!(e.effective_protection_pct.is_some() && e.value_added_price_change_pct.is_some(), "{e:?}");
        assert!(e.consumer_price_change_pct > 0.0, "{s}: {e:?}");
    }
}

#[test]
fn a_tariff_on_three_sectors_converges_and_reaches_the_sectors_that_buy_them() {
    let (d, _) = datasets();
    let (off, on) = (run(&d, &scenario(THREE_SECTORS, false)), run(&d, &scenario(THREE_SECTORS, true)));
    assert_converged(&on);
    let e001 = d.economy("E001").unwrap();
    let tariffed: Vec<usize> = THREE_SECTORS.iter().map(|c| d.sector(c).unwrap()).collect();
    let buyers: Vec<usize> = (0..SECTORS)
        .filter(|s| {
            !tariffed.contains(s) && d.inputs.of(e001, *s).iter().any(|row| tariffed.contains(&row.input))
        })
        .collect();
    assert!(!buyers.is_empty());
    for &s in &buyers {
        // Without supply chains an untariffed sector does not move at all; with
        // them its E001 makers' costs rise with the tariffed inputs' prices.
        let (before, after) = (economy(&off, s, "E001"), economy(&on, s, "E001"));
        assert_eq!(before.world_price_change_pct, 0.0, "{s}: {before:?}");
        assert!(after.world_price_change_pct > 0.0, "{s}: {after:?}");
        assert!(after.value_added_price_change_pct.unwrap() < 0.0, "{s}: {after:?}");
    }
}

#[test]
fn with_input_costs_off_the_result_is_that_of_the_dataset_without_inputs_csv_byte_for_byte() {
    let (with, without) = datasets();
    for sectors in [UNIVERSAL, THREE_SECTORS] {
        let s = scenario(sectors, false);
        let (a, b) = (run(&with, &s), run(&without, &s));
        assert_eq!(a.encode_to_vec(), b.encode_to_vec(), "{sectors:?}");
        assert_eq!(a.impacts[0].diagnostics.unwrap().coupling_passes, 0);
        assert!(
            a.impacts[0]
                .sectors
                .iter()
                .all(|s| s.economies.iter().all(|e| e.value_added_price_change_pct.is_none()))
        );
    }
}
