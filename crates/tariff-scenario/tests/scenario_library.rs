//! The ready scenarios of `scenarios/` on the built-in dataset: each runs, and
//! its headline moves the way economics says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use tariff_proto::v1::{EconomyImpact, Impact, ScenarioResult};
use tariff_scenario::{ScenarioFormat, dataset::builtin, parse_scenario, run};

fn result(file: &str) -> ScenarioResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(file);
    let scenario = parse_scenario(&std::fs::read_to_string(&path).unwrap(), ScenarioFormat::Json).unwrap();
    run(builtin("jpus-2023").unwrap().unwrap(), &scenario).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn last(result: &ScenarioResult) -> &Impact {
    result.impacts.last().unwrap()
}

fn at<'a>(result: &'a ScenarioResult, date: &str) -> &'a Impact {
    result.impacts.iter().find(|i| i.date == date).unwrap_or_else(|| panic!("no impact at {date}"))
}

/// A flow's value (before, after) in one sector, or over all sectors with `None`.
fn flow(impact: &Impact, sector: Option<&str>, exporter: &str, importer: &str) -> (f64, f64) {
    let mut total = (0.0, 0.0);
    for s in impact.sectors.iter().filter(|s| sector.is_none_or(|code| s.sector == code)) {
        for f in s.flows.iter().filter(|f| f.exporter == exporter && f.importer == importer) {
            let v = f.value.unwrap();
            total.0 += v.before;
            total.1 += v.after;
        }
    }
    total
}

/// An exporter's share of an importer's imports (domestic shipments excluded) in a sector, before and after.
fn import_share(impact: &Impact, sector: &str, exporter: &str, importer: &str) -> (f64, f64) {
    let s = impact.sectors.iter().find(|s| s.sector == sector).unwrap();
    let (mut all, mut own) = ((0.0, 0.0), (0.0, 0.0));
    for f in s.flows.iter().filter(|f| f.importer == importer && f.exporter != importer) {
        let v = f.value.unwrap();
        all = (all.0 + v.before, all.1 + v.after);
        if f.exporter == exporter {
            own = (own.0 + v.before, own.1 + v.after);
        }
    }
    (own.0 / all.0, own.1 / all.1)
}

fn total<'a>(impact: &'a Impact, economy: &str) -> &'a EconomyImpact {
    impact.economies.iter().find(|e| e.economy == economy).unwrap()
}

fn in_sector<'a>(impact: &'a Impact, sector: &str, economy: &str) -> &'a EconomyImpact {
    let s = impact.sectors.iter().find(|s| s.sector == sector).unwrap();
    s.economies.iter().find(|e| e.economy == economy).unwrap()
}

fn rises(pair: (f64, f64)) -> bool {
    pair.1 > pair.0
}

fn falls(pair: (f64, f64)) -> bool {
    pair.1 < pair.0
}

#[test]
fn section_232_autos_cut_japanese_cars_and_divert_to_usmca() {
    let r = result("section-232-autos-2025.json");
    let i = last(&r);
    assert!(falls(flow(i, Some("CARS"), "JPN", "USA")));
    assert!(falls(flow(i, Some("PARTS"), "JPN", "USA")));
    assert!(rises(import_share(i, "CARS", "MEX", "USA")), "Mexico's share of US car imports");
    assert!(total(i, "USA").tariff_revenue.unwrap().change > 0.0);
    assert!(in_sector(i, "CARS", "JPN").producer_surplus_change < 0.0);
    assert!(in_sector(i, "CARS", "USA").consumer_price_change_pct > 0.0);
}

#[test]
fn the_annex_does_the_opposite_and_less() {
    let annex = result("usjta-auto-annex.json");
    let s232 = result("section-232-autos-2025.json");
    let (a, s) = (last(&annex), last(&s232));
    let cars = flow(a, Some("CARS"), "JPN", "USA");
    assert!(rises(cars));
    assert!(in_sector(a, "CARS", "JPN").producer_surplus_change > 0.0);
    assert!(total(a, "USA").tariff_revenue.unwrap().change < 0.0);
    assert!(falls(import_share(a, "CARS", "MEX", "USA")) && falls(import_share(a, "CARS", "KOR", "USA")));
    let s232_cars = flow(s, Some("CARS"), "JPN", "USA");
    assert!(
        (cars.1 - cars.0).abs() < (s232_cars.1 - s232_cars.0).abs(),
        "a 2.5-point cut moves less than a 25-point rise"
    );
    assert!(
        in_sector(a, "CARS", "JPN").producer_surplus_change
            < in_sector(s, "CARS", "JPN").producer_surplus_change.abs()
    );
}

#[test]
fn universal_tariffs_cut_us_imports_and_raise_revenue_more_at_20_than_10() {
    let (ten, twenty) = (result("universal-10.json"), result("universal-20.json"));
    let (t, w) = (total(last(&ten), "USA"), total(last(&twenty), "USA"));
    for usa in [t, w] {
        assert!(usa.imports.unwrap().change < 0.0);
        assert!(usa.tariff_revenue.unwrap().change > 0.0);
        assert!(usa.consumer_surplus_change < 0.0);
    }
    assert!(w.imports.unwrap().change < t.imports.unwrap().change);
    assert!(w.tariff_revenue.unwrap().change > t.tariff_revenue.unwrap().change);
    assert!(w.effective_tariff_pct.unwrap().after > t.effective_tariff_pct.unwrap().after);
    assert!(falls(flow(last(&twenty), None, "JPN", "USA")));
}

#[test]
fn twenty_percent_on_japan_alone_diverts_to_korea_and_mexico() {
    let r = result("japan-20.json");
    let i = last(&r);
    assert!(falls(flow(i, None, "JPN", "USA")));
    assert!(rises(import_share(i, "CARS", "KOR", "USA")));
    assert!(rises(import_share(i, "CARS", "MEX", "USA")));
    assert!(falls(import_share(i, "CARS", "JPN", "USA")));
    assert!(total(i, "JPN").producer_surplus_change < 0.0);
    // Japan's exports go elsewhere: to China and the EU.
    assert!(rises(flow(i, None, "JPN", "CHN")) || rises(flow(i, None, "JPN", "EU")));
}

#[test]
fn the_april_reciprocal_rates_hit_china_hardest() {
    let r = result("reciprocal-april-2025.json");
    let i = last(&r);
    let pct = |(b, a): (f64, f64)| (a - b) / b;
    assert!(pct(flow(i, None, "CHN", "USA")) < pct(flow(i, None, "JPN", "USA")));
    assert!(pct(flow(i, None, "JPN", "USA")) < 0.0);
    assert!(total(i, "USA").tariff_revenue.unwrap().change > 0.0);
}

#[test]
fn the_september_deal_brings_japanese_cars_back_compared_with_section_232() {
    let deal = result("us-japan-deal-2025-09.json");
    let s232 = result("section-232-autos-2025.json");
    let with_deal = flow(last(&deal), Some("CARS"), "JPN", "USA").1;
    let without = flow(last(&s232), Some("CARS"), "JPN", "USA").1;
    assert!(with_deal > without, "15% all-in beats 27.5%: {with_deal} vs {without}");
    assert!(rises(import_share(last(&deal), "CARS", "JPN", "USA")), "others pay 25%, Japan 15%");
}

#[test]
fn after_the_court_ruling_japanese_non_auto_goods_pay_less() {
    let r = result("scotus-2026-02-section-122.json");
    let (before, after) = (at(&r, "2026-02-19"), at(&r, "2026-02-25"));
    // Machinery: max(MFN, 15%) under IEEPA, then MFN + 10% under Section 122.
    assert!(flow(after, Some("MACH"), "JPN", "USA").1 > flow(before, Some("MACH"), "JPN", "USA").1);
    // Section 232 stays: Japanese cars are unaffected by the ruling.
    let cars = (flow(before, Some("CARS"), "JPN", "USA").1, flow(after, Some("CARS"), "JPN", "USA").1);
    assert!((cars.0 - cars.1).abs() < 1e-6 * cars.0);
}

#[test]
fn japanese_retaliation_cuts_us_farm_exports_to_japan() {
    let r = result("japan-retaliation-farm.json");
    let i = last(&r);
    assert!(falls(flow(i, Some("AGRI"), "USA", "JPN")));
    assert!(in_sector(i, "AGRI", "USA").producer_surplus_change < 0.0);
    assert!(in_sector(i, "AGRI", "JPN").tariff_revenue.unwrap().change > 0.0);
}

#[test]
fn the_timeline_has_one_impact_per_step_and_follows_the_measures() {
    let r = result("timeline-2025-2026.json");
    assert_eq!(r.impacts.len(), 11);
    let us_rate = |date: &str| total(at(&r, date), "USA").effective_tariff_pct.unwrap().after;
    assert!(us_rate("2025-04-05") > us_rate("2025-03-12"), "the baseline and autos raise the US rate");
    assert!(us_rate("2025-03-12") > total(at(&r, "2025-03-12"), "USA").effective_tariff_pct.unwrap().before);
    assert!(us_rate("2026-02-20") < us_rate("2025-11-01"), "the ruling lowers it");
    let jpn_cars = |date: &str| flow(at(&r, date), Some("CARS"), "JPN", "USA").1;
    assert!(jpn_cars("2025-09-16") > jpn_cars("2025-05-03"), "the deal's 15% after 27.5%");
    assert!(jpn_cars("2025-04-03") < flow(at(&r, "2025-03-12"), Some("CARS"), "JPN", "USA").1);
}
