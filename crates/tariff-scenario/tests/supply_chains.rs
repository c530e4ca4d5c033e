//! Supply chains (docs/model.md, "Supply chains: input costs and effective
//! protection"), on the built-in dataset with input shares set here (so that
//! the cases are hand-checkable whatever its own inputs.csv says): a tariff on
//! parts alone raises the cost, the supply price and the consumer price of US
//! cars and lowers their output; the solution clears the car market at the
//! value-added price; the effective rate of protection is the textbook
//! formula; with `input_costs` off the result is the uncoupled one, byte for
//! byte; what cannot be combined is refused, naming the field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use prost::Message;
use tariff_proto::v1::{self as pb, Authority, Measure, Scenario, measure::Mode};
use tariff_scenario::dataset::{Dataset, InputShare, InputShares, Quality, builtin};

/// US cars buy parts (0.45 of their base cost) and metals (0.05); US parts buy metals (0.10).
fn with_inputs() -> Dataset {
    let mut d = builtin("jpus-2023").unwrap().unwrap().clone();
    let (usa, cars, parts, metals) = (
        d.economy("USA").unwrap(),
        d.sector("CARS").unwrap(),
        d.sector("PARTS").unwrap(),
        d.sector("METALS").unwrap(),
    );
    let row = |sector, input, share| InputShare {
        economy: Some(usa),
        sector,
        input,
        share,
        source: "test".into(),
        quality: Quality::Estimated,
    };
    let rows = vec![row(cars, parts, 0.45), row(cars, metals, 0.05), row(parts, metals, 0.10)];
    d.inputs = InputShares::new(rows, d.sectors.len());
    d
}

fn measure(sector: &str, mode: Mode, rate_pct: f64) -> Measure {
    Measure {
        id: format!("{sector}-{rate_pct}"),
        authority: Authority::Section232.into(),
        importer: "USA".into(),
        exporters: vec!["*".into()],
        sectors: vec![sector.into()],
        mode: mode.into(),
        rate_pct,
        ..Default::default()
    }
}

fn scenario(measures: Vec<Measure>, input_costs: bool) -> Scenario {
    Scenario { measures, input_costs, ..Default::default() }
}

fn run(d: &Dataset, s: &Scenario) -> pb::ScenarioResult {
    tariff_scenario::run(d, s).unwrap()
}

fn economy<'a>(r: &'a pb::ScenarioResult, sector: &str, code: &str) -> &'a pb::EconomyImpact {
    let s = r.impacts[0].sectors.iter().find(|s| s.sector == sector).unwrap();
    s.economies.iter().find(|e| e.economy == code).unwrap()
}

/// Output at base world prices after: (domestic shipments + exports) / price.
fn output_volume(e: &pb::EconomyImpact) -> f64 {
    let after = e.domestic_shipments.unwrap().after + e.exports.unwrap().after;
    after / (1.0 + e.world_price_change_pct / 100.0)
}

fn output_before(e: &pb::EconomyImpact) -> f64 {
    e.domestic_shipments.unwrap().before + e.exports.unwrap().before
}

#[test]
fn a_tariff_on_parts_alone_raises_us_car_costs_and_prices_and_lowers_car_output() {
    let d = with_inputs();
    let parts = vec![measure("PARTS", Mode::Add, 25.0)];
    let (plain, coupled) = (run(&d, &scenario(parts.clone(), false)), run(&d, &scenario(parts, true)));
    let (before, after) = (economy(&plain, "CARS", "USA"), economy(&coupled, "CARS", "USA"));
    // Without supply chains a parts tariff leaves the car market exactly where it was.
    assert_eq!(before.world_price_change_pct, 0.0);
    assert_eq!(before.consumer_price_change_pct, 0.0);
    // With them: US parts cost more, so US car makers' supply price and the US car price rise...
    let us_parts = economy(&coupled, "PARTS", "USA");
    assert!(us_parts.consumer_price_change_pct > 1.0, "{us_parts:?}");
    assert!(after.world_price_change_pct > 0.1, "{after:?}");
    assert!(after.consumer_price_change_pct > 0.05, "{after:?}");
    // ...their value added is squeezed, and they make fewer cars.
    assert!(after.value_added_price_change_pct.unwrap() < 0.0, "{after:?}");
    assert!(output_volume(after) < output_before(after), "{after:?}");
    // Imported cars gain share: Japan's car exports to the US rise.
    let jpn_cars = economy(&coupled, "CARS", "JPN");
    assert!(jpn_cars.exports.unwrap().change > 0.0);
    // Economies without input rows carry no ERP.
    assert!(economy(&coupled, "CARS", "JPN").effective_protection_pct.is_none());
}

#[test]
fn the_coupled_solution_clears_the_car_market_at_the_value_added_price() {
    let d = with_inputs();
    let s = scenario(vec![measure("PARTS", Mode::Add, 25.0), measure("METALS", Mode::Add, 50.0)], true);
    let r = run(&d, &s);
    let diagnostics = r.impacts[0].diagnostics.unwrap();
    assert!(diagnostics.coupling_passes >= 2, "{diagnostics:?}");
    assert!(diagnostics.coupling_change <= 1e-12, "{diagnostics:?}");
    // Independently of the solver: the input prices are the result's own
    // consumer prices, and US car supply X0 s^Ex equals the output sold.
    let c = |sector: &str| 1.0 + economy(&r, sector, "USA").consumer_price_change_pct / 100.0;
    let cars = economy(&r, "CARS", "USA");
    let p = 1.0 + cars.world_price_change_pct / 100.0;
    let s_va = (p - 0.45 * c("PARTS") - 0.05 * c("METALS")) / (1.0 - 0.50);
    let ex = d.elasticities(d.sector("CARS").unwrap(), d.economy("USA").unwrap()).supply;
    let supply = output_before(cars) * s_va.powf(ex);
    assert!(
        (supply - output_volume(cars)).abs() <= 1e-9 * output_before(cars),
        "{supply} against {}",
        output_volume(cars)
    );
    assert!((cars.value_added_price_change_pct.unwrap() - (s_va - 1.0) * 100.0).abs() < 1e-9);
    // Parts: metals only.
    let parts = economy(&r, "PARTS", "USA");
    let pp = 1.0 + parts.world_price_change_pct / 100.0;
    let s_parts = (pp - 0.10 * c("METALS")) / 0.90;
    let ex_parts = d.elasticities(d.sector("PARTS").unwrap(), d.economy("USA").unwrap()).supply;
    let supply = output_before(parts) * s_parts.powf(ex_parts);
    assert!((supply - output_volume(parts)).abs() <= 1e-9 * output_before(parts));
}

#[test]
fn the_effective_rate_of_protection_is_the_textbook_formula() {
    // Every US import of cars at 20%, of parts at 10%, of metals at 0: the
    // trade-weighted rates are those, and ERP = (20 - 0.45 x 10 - 0.05 x 0) / (1 - 0.5) = 31;
    // parts: (10 - 0.10 x 0) / 0.9 = 11.11...
    let d = with_inputs();
    let s = scenario(
        vec![
            measure("CARS", Mode::Set, 20.0),
            measure("PARTS", Mode::Set, 10.0),
            measure("METALS", Mode::Set, 0.0),
        ],
        true,
    );
    let r = run(&d, &s);
    let erp = economy(&r, "CARS", "USA").effective_protection_pct.unwrap();
    assert!((erp.after - 31.0).abs() < 1e-9, "{erp:?}");
    let erp_parts = economy(&r, "PARTS", "USA").effective_protection_pct.unwrap();
    assert!((erp_parts.after - 10.0 / 0.9).abs() < 1e-9, "{erp_parts:?}");
    // Before: the same formula over the base-year trade-weighted rates.
    let t = |sector: &str| economy(&r, sector, "USA").effective_tariff_pct.unwrap().before;
    let want = (t("CARS") - 0.45 * t("PARTS") - 0.05 * t("METALS")) / 0.5;
    assert!((erp.before - want).abs() < 1e-12, "{erp:?} against {want}");
}

#[test]
fn with_input_costs_off_the_result_is_the_uncoupled_one_byte_for_byte() {
    let d = with_inputs();
    let base = builtin("jpus-2023").unwrap().unwrap();
    for file in ["section-232-autos-2025.json", "universal-20.json", "timeline-2025-2026.json"] {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(file),
        )
        .unwrap();
        let s = tariff_scenario::parse_scenario(&text, tariff_scenario::ScenarioFormat::Json).unwrap();
        assert_eq!(run(&d, &s).encode_to_vec(), run(base, &s).encode_to_vec(), "{file}");
    }
    // And with no shock, input costs change nothing either: every figure 0.
    let none = run(&d, &scenario(vec![measure("CARS", Mode::Add, 0.0)], true));
    for sector in &none.impacts[0].sectors {
        for e in &sector.economies {
            assert!(
                e.world_price_change_pct.abs() < 1e-12 && e.welfare_change.abs() < 1e-6,
                "{} {e:?}",
                sector.sector
            );
        }
    }
}

#[test]
fn input_costs_refuse_what_they_cannot_be_combined_with() {
    let d = with_inputs();
    let parts = || vec![measure("PARTS", Mode::Add, 25.0)];
    let refusal = |d: &Dataset, s: Scenario| tariff_scenario::run(d, &s).unwrap_err().to_string();
    let gsim = Scenario { solver: pb::Solver::Gsim.into(), ..scenario(parts(), true) };
    assert!(refusal(&d, gsim).contains("solver: GSIM does not carry input costs"));
    let short = Scenario { horizon: "short_run".into(), ..scenario(parts(), true) };
    let err = refusal(&d, short);
    assert!(err.contains("market_structure: sector CARS is segmented (horizon short_run)"), "{err}");
    // The same horizon with CARS and TRUCKS made integrated runs.
    let integrated = Scenario {
        horizon: "short_run".into(),
        market_structure: vec![pb::MarketStructureOverride {
            sector: "*".into(),
            structure: pb::MarketStructure::Integrated.into(),
        }],
        ..scenario(parts(), true)
    };
    assert!(tariff_scenario::run(&d, &integrated).is_ok());
    // Uncertainty draws and the tornado are coupled solves too (tests/uncertainty.rs).
    let draws = Scenario {
        uncertainty: Some(pb::Uncertainty { draws: 10, sensitivity: true, ..Default::default() }),
        ..scenario(parts(), true)
    };
    let r = tariff_scenario::run(&d, &draws).unwrap();
    assert!(!r.impacts[0].bands.is_empty() && !r.impacts[0].sensitivity.is_empty());
    let no_inputs = builtin("jpfarm-2023").unwrap().unwrap();
    let farm = Scenario {
        measures: vec![Measure { sectors: vec!["*".into()], ..measure("*", Mode::Add, 10.0) }],
        input_costs: true,
        ..Default::default()
    };
    let err = refusal(no_inputs, farm);
    assert!(
        err.contains("input_costs: dataset `jpfarm-2023` has no input cost shares (inputs.csv)"),
        "{err}"
    );
}

fn ready(file: &str) -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(file);
    tariff_scenario::parse_scenario(
        &std::fs::read_to_string(path).unwrap(),
        tariff_scenario::ScenarioFormat::Json,
    )
    .unwrap()
}

/// The light-vehicle price change: cars and goods vehicles weighted by the
/// US's base-year purchases of each (domestic shipments plus imports).
fn us_vehicle_price_change(r: &pb::ScenarioResult) -> f64 {
    let (mut weighted, mut total) = (0.0, 0.0);
    for sector in ["CARS", "TRUCKS"] {
        let e = economy(r, sector, "USA");
        let bought = e.domestic_shipments.unwrap().before + e.imports.unwrap().before;
        weighted += bought * e.consumer_price_change_pct;
        total += bought;
    }
    weighted / total
}

#[test]
fn the_builtin_input_shares_couple_the_sectors_to_the_tolerance() {
    let d = builtin("jpus-2023").unwrap().unwrap();
    assert!(!d.inputs.is_empty(), "jpus-2023 has inputs.csv");
    let r = run(d, &ready("section-232-supply-chains.json"));
    for sector in &r.impacts[0].sectors {
        let diagnostics = sector.diagnostics.unwrap();
        assert!(diagnostics.coupling_passes > 2, "{}: {diagnostics:?}", sector.sector);
        assert!(diagnostics.coupling_change <= 1e-12, "{}: {diagnostics:?}", sector.sector);
    }
    // The built-in shares: every economy's cars buy parts (a `*` row), so each has an ERP.
    for code in ["USA", "JPN", "ASEAN", "ROW"] {
        assert!(economy(&r, "CARS", code).effective_protection_pct.is_some(), "{code}");
    }
}

#[test]
fn on_the_builtin_shares_a_parts_tariff_alone_raises_us_car_prices_and_lowers_output() {
    let d = builtin("jpus-2023").unwrap().unwrap();
    let parts = vec![measure("PARTS", Mode::Add, 25.0)];
    let r = run(d, &scenario(parts, true));
    let cars = economy(&r, "CARS", "USA");
    assert!(cars.world_price_change_pct > 0.5, "{cars:?}");
    assert!(cars.consumer_price_change_pct > 0.5, "{cars:?}");
    assert!(cars.value_added_price_change_pct.unwrap() < 0.0, "{cars:?}");
    assert!(output_volume(cars) < output_before(cars), "{cars:?}");
}

/// data-sources.md: the Yale Budget Lab put the 25% auto tariffs at +13.5% on US
/// motor vehicle prices. The same measures here (scenarios/section-232-supply-
/// chains.json), long run, USD at 2023 prices, against 2023: the figures the README
/// reports beside it ("Supply chains"), with the cost channel and without.
#[test]
fn the_yale_budget_lab_measures_with_and_without_the_cost_channel() {
    let d = builtin("jpus-2023").unwrap().unwrap();
    let coupled = ready("section-232-supply-chains.json");
    let plain = Scenario { input_costs: false, ..coupled.clone() };
    let (with, without) = (run(d, &coupled), run(d, &plain));
    let cars = |r: &pb::ScenarioResult| economy(r, "CARS", "USA").consumer_price_change_pct;
    let (vehicles_with, vehicles_without) =
        (us_vehicle_price_change(&with), us_vehicle_price_change(&without));
    println!(
        "US car price {:+.1}% with input costs, {:+.1}% without; cars and goods vehicles {vehicles_with:+.1}% and {vehicles_without:+.1}% (Yale Budget Lab: +13.5%)",
        cars(&with),
        cars(&without)
    );
    // The parts duty adds to the vehicle price through US makers' costs.
    assert!(cars(&with) > cars(&without) + 0.5);
    assert!(vehicles_with > vehicles_without + 0.5);
    // The figures the README quotes, to the decimal it quotes them.
    let one_decimal = |x: f64| (x * 10.0).round() / 10.0;
    assert_eq!(
        [cars(&with), cars(&without), vehicles_with, vehicles_without].map(one_decimal),
        [13.3, 12.0, 11.0, 9.1]
    );
}

#[test]
fn a_coupled_solve_that_does_not_settle_says_why_and_names_the_largest_share() {
    let mut d = builtin("jpus-2023").unwrap().unwrap().clone();
    // Every economy's car makers buy 97% of their costs as cars.
    let cars = d.sector("CARS").unwrap();
    let own = InputShare {
        economy: None,
        sector: cars,
        input: cars,
        share: 0.97,
        source: "test".into(),
        quality: Quality::Estimated,
    };
    d.inputs = InputShares::new(vec![own], d.sectors.len());
    let err = tariff_scenario::run(&d, &scenario(vec![measure("CARS", Mode::Add, 50.0)], true)).unwrap_err();
    use tariff_scenario::{EvaluateError, ScenarioError};
    assert!(matches!(err, ScenarioError::Evaluate(EvaluateError::Coupling { passes: 200, .. })), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("the coupled solve did not converge"), "{text}");
    assert!(text.contains("the largest cost-share sum is 0.970 (CARS in *)"), "{text}");
}

/// An input's buyers include the producers whose input costs the coupled
/// solve follows; their loss is in those producers' value-added surplus, so
/// the input's consumer surplus keeps its other buyers only: `(1 - share)`
/// of the market's, with `share = sum_s a[v,s,j] x output_s / purchases_j`.
#[test]
fn an_inputs_consumer_surplus_leaves_out_the_producers_that_buy_it() {
    let d = builtin("jpus-2023").unwrap().unwrap();
    let r = run(d, &ready("section-232-supply-chains.json"));
    let n = d.economies.len();
    // Base output and purchases of every (economy, sector), from the flows.
    let (mut output, mut purchases) =
        (vec![vec![0.0; d.sectors.len()]; n], vec![vec![0.0; d.sectors.len()]; n]);
    for s in 0..d.sectors.len() {
        let f = d.sector_flows(s);
        for i in 0..f.values.len() {
            output[f.exporters[i] as usize][s] += f.values[i];
            purchases[f.importers[i] as usize][s] += f.values[i];
        }
    }
    let output = &output;
    let share_of = |v: usize, j: usize| {
        let used: f64 = (0..d.sectors.len())
            .flat_map(|s| {
                d.inputs.of(v, s).iter().filter(|r| r.input == j).map(move |r| r.share * output[v][s])
            })
            .sum();
        (used / purchases[v][j]).min(1.0)
    };
    let (usa, parts) = (d.economy("USA").unwrap(), d.sector("PARTS").unwrap());
    let e = economy(&r, "PARTS", "USA");
    let share = share_of(usa, parts);
    assert!(share > 0.5 && share < 1.0, "{share}");
    assert!((e.intermediate_use_share.unwrap() - share).abs() < 1e-12);
    // The market's consumer surplus, -R0 (P^(1+Em) - 1) / (1+Em), R0 the base
    // purchases at tariff-inclusive prices.
    let r0 =
        e.domestic_shipments.unwrap().before + e.imports.unwrap().before + e.tariff_revenue.unwrap().before;
    let em = d.elasticities(parts, usa).import_demand;
    let p = 1.0 + e.consumer_price_change_pct / 100.0;
    let market = -r0 * (p.powf(1.0 + em) - 1.0) / (1.0 + em);
    assert!((e.consumer_surplus_change - (1.0 - share) * market).abs() < 1e-6 * market.abs(), "{e:?}");
    let tr = e.tariff_revenue.unwrap().change;
    assert!((e.welfare_change - (e.consumer_surplus_change + e.producer_surplus_change + tr)).abs() < 1e-6);
    // Japan's input rows ask for more parts than the dataset's Japanese parts
    // market holds: capped at 1, no consumer surplus is left to count.
    let jpn = economy(&r, "PARTS", "JPN");
    assert_eq!((jpn.intermediate_use_share, jpn.consumer_surplus_change), (Some(1.0), 0.0));
    // Cars are no one's input here: their buyers are all counted.
    assert!(economy(&r, "CARS", "USA").intermediate_use_share.is_none());
}
