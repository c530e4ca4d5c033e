//! The built-in dataset against the reported figures of data-sources.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tariff_scenario::dataset::{Dataset, Quality, builtin};

fn jpus() -> &'static Dataset {
    builtin("jpus-2023").unwrap().unwrap()
}

fn flow(d: &Dataset, exporter: &str, importer: &str, sector: Option<&str>) -> f64 {
    let (v, r) = (d.economy(exporter).unwrap(), d.economy(importer).unwrap());
    match sector {
        Some(code) => d.flow(d.sector(code).unwrap(), v, r),
        None => (0..d.sectors.len()).map(|s| d.flow(s, v, r)).sum(),
    }
}

fn within(value: f64, reported: f64, tolerance: f64) -> bool {
    (value - reported).abs() <= tolerance * reported
}

#[test]
fn japan_us_rows_agree_with_the_reported_figures() {
    let d = jpus();
    // Japan's exports to the US, 2023: MOF JPY 20.2668T at 140.50 = USD 144.2B; Census imports 147.2B.
    let japan_to_us = flow(d, "JPN", "USA", None);
    assert!(within(japan_to_us, 145_700.0, 0.05), "Japan to US {japan_to_us}");
    // Autos and parts, about a third.
    let autos = flow(d, "JPN", "USA", Some("CARS")) + flow(d, "JPN", "USA", Some("PARTS"));
    let share = autos / japan_to_us;
    assert!((0.28..=0.40).contains(&share), "autos and parts share {share}");
    // PARTS is HS 8708 (USD 6.7B, within the 6.0-7.5B range of 2014-2024) plus engines
    // (HS 8407/8408, 4.0B estimated): METHOD.md documents the 10.7B anchor.
    assert!(within(flow(d, "JPN", "USA", Some("PARTS")), 10_700.0, 0.05));
    // US exports to Japan about USD 76B; agri-food holds beef 1.36B and pork 1.38B.
    assert!(within(flow(d, "USA", "JPN", None), 75_700.0, 0.05));
    let agri = flow(d, "USA", "JPN", Some("AGRI"));
    assert!(agri > 1_360.0 + 1_380.0 && within(agri, 13_000.0, 0.05), "US agri-food to Japan {agri}");
}

#[test]
fn every_economy_and_sector_has_positive_finite_totals() {
    let d = jpus();
    let n = d.economies.len();
    for s in 0..d.sectors.len() {
        let supply: Vec<f64> = (0..n).map(|v| (0..n).map(|r| d.flow(s, v, r)).sum()).collect();
        let demand: Vec<f64> = (0..n).map(|r| (0..n).map(|v| d.flow(s, v, r)).sum()).collect();
        for (i, (x, m)) in supply.iter().zip(&demand).enumerate() {
            let what = format!("{} in {}", d.economies[i].code, d.sectors[s].code);
            assert!(x.is_finite() && *x > 0.0, "supply of {what}: {x}");
            assert!(m.is_finite() && *m > 0.0, "demand of {what}: {m}");
        }
    }
    for e in &d.economies {
        assert!(e.gdp.is_finite() && e.gdp > 0.0, "{}", e.code);
    }
}

#[test]
fn every_flow_row_says_where_it_comes_from() {
    let d = jpus();
    let n = d.economies.len();
    let mut estimated = 0;
    for s in 0..d.sectors.len() {
        for v in 0..n {
            for r in 0..n {
                let p = d.provenance(s, v, r).unwrap_or_else(|| panic!("no row for {s} {v} {r}"));
                assert!(d.sources.iter().any(|src| src.id == p.source));
                estimated += usize::from(p.quality == Quality::Estimated);
            }
        }
    }
    assert_eq!(d.flow_row_counts(), (d.sectors.len() * n * n, estimated));
    assert_eq!(d.economies.len(), 9);
    assert_eq!(d.sectors.len(), 10);
}

#[test]
fn substitution_ranges_are_the_published_ones_of_method_md() {
    let d = jpus();
    let published = [
        ("CARS", 5.6, 13.3),
        ("TRUCKS", 5.6, 33.7),
        ("PARTS", 1.8, 3.7),
        ("MACH", 2.8, 7.9),
        ("ELEC", 2.4, 8.8),
        ("INSTR", 1.5, 7.9),
        ("PHARMA", 1.5, 6.6),
        ("METALS", 3.0, 8.4),
        ("AGRI", 2.6, 8.0),
        ("OTHER", 1.5, 6.6),
    ];
    for (code, low, high) in published {
        let s = &d.sectors[d.sector(code).unwrap()];
        let r = s.ranges.substitution;
        assert_eq!((r.low, r.high, r.published), (low, high, true), "{code}");
        assert!(!s.ranges.import_demand.published && !s.ranges.supply.published, "{code}");
    }
}
