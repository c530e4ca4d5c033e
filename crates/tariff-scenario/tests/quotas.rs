//! Tariff-rate quotas (docs/model.md): each regime on the built-in dataset
//! (Japan's agri-food imports from the US under a TRQ), checked against a
//! brute-force scan of the premium, where each point is the same flows at a
//! plain SET rate; the regime switches where the scan says; the rent moves
//! between importer and exporters without changing world welfare; refusals
//! name their field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tariff_proto::v1::{
    self as pb, Authority, Measure, QuotaRegime, Scenario,
    measure::{Mode, RentTo},
};
use tariff_scenario::{
    PreparedScenario,
    dataset::{Dataset, builtin},
};

const IN_PCT: f64 = 5.0;
const OUT_PCT: f64 = 50.0;

fn jpus() -> &'static Dataset {
    builtin("jpus-2023").unwrap().unwrap()
}

fn base_measure() -> Measure {
    Measure {
        id: "jpn-agri".into(),
        authority: Authority::Other.into(),
        importer: "JPN".into(),
        exporters: vec!["USA".into()],
        sectors: vec!["AGRI".into()],
        ..Default::default()
    }
}

/// The covered flows at a plain rate: one point of the scan.
fn at_rate(rate: f64) -> Scenario {
    let set = Measure { mode: Mode::Set.into(), rate_pct: rate, ..base_measure() };
    Scenario { measures: vec![set], ..Default::default() }
}

fn trq(quota: f64, rent_to: RentTo) -> Scenario {
    let m = Measure {
        mode: Mode::Trq.into(),
        in_quota_rate_pct: IN_PCT,
        out_quota_rate_pct: OUT_PCT,
        quota,
        rent_to: rent_to.into(),
        ..base_measure()
    };
    Scenario { measures: vec![m], ..Default::default() }
}

fn agri(result: &pb::ScenarioResult) -> &pb::SectorImpact {
    result.impacts[0].sectors.iter().find(|s| s.sector == "AGRI").unwrap()
}

/// Japan's imports of agri-food from the US, as a volume at base world prices.
fn covered_volume(result: &pb::ScenarioResult) -> f64 {
    let flow = agri(result).flows.iter().find(|f| f.exporter == "USA" && f.importer == "JPN").unwrap();
    flow.value.as_ref().unwrap().before * (1.0 + flow.volume_change_pct / 100.0)
}

fn run(scenario: &Scenario) -> pb::ScenarioResult {
    tariff_scenario::run(jpus(), scenario).unwrap()
}

fn quota_of(result: &pb::ScenarioResult) -> &pb::QuotaOutcome {
    let quotas = &agri(result).quotas;
    assert_eq!(quotas.len(), 1, "{quotas:?}");
    &quotas[0]
}

fn economy<'a>(sector: &'a pb::SectorImpact, code: &str) -> &'a pb::EconomyImpact {
    sector.economies.iter().find(|e| e.economy == code).unwrap()
}

/// The scan: the covered volume at the in-quota rate plus each premium on a
/// grid of `steps` over the two rates' gap.
fn scan(steps: usize) -> Vec<(f64, f64)> {
    (0..=steps)
        .map(|k| {
            let premium = (OUT_PCT - IN_PCT) * k as f64 / steps as f64;
            (premium, covered_volume(&run(&at_rate(IN_PCT + premium))))
        })
        .collect()
}

#[test]
fn each_regime_agrees_with_a_scan_of_the_premium() {
    let points = scan(200);
    let (within, beyond) = (points[0].1, points[points.len() - 1].1);
    assert!(within > beyond, "imports fall as the rate rises: {within} vs {beyond}");
    // The volume falls all along the scan: one crossing per quota.
    assert!(points.windows(2).all(|w| w[1].1 < w[0].1));

    // Within: the quota is not reached at the in-quota rate; the same
    // result as the plain in-quota rate, to the bit, but for the quota row.
    let loose = run(&trq(within * 1.01, RentTo::Importer));
    let q = quota_of(&loose);
    assert_eq!(q.regime(), QuotaRegime::InQuota);
    assert_eq!((q.rate_pct, q.premium_pct, q.rent), (IN_PCT, 0.0, 0.0));
    let mut plain = agri(&loose).clone();
    plain.quotas.clear();
    assert_eq!(plain, *agri(&run(&at_rate(IN_PCT))));

    // Beyond: imports exceed the quota even at the out-of-quota rate.
    let tight = run(&trq(beyond * 0.99, RentTo::Importer));
    let q = quota_of(&tight);
    assert_eq!(q.regime(), QuotaRegime::OutOfQuota);
    assert_eq!(q.rate_pct, OUT_PCT);
    assert!((q.imports - beyond).abs() <= 1e-9 * beyond);
    // The quota's units earn the rate gap on their value (their share of the imports).
    let value = agri(&tight)
        .flows
        .iter()
        .find(|f| f.exporter == "USA" && f.importer == "JPN")
        .unwrap()
        .value
        .unwrap()
        .after;
    let rent = (OUT_PCT - IN_PCT) / 100.0 * value * (beyond * 0.99 / q.imports);
    assert!((q.rent - rent).abs() <= 1e-9 * rent, "{} vs {rent}", q.rent);

    // At the quota: imports equal it, and the premium is where the scan crosses it.
    for fraction in [0.1, 0.5, 0.9] {
        let quota = within + fraction * (beyond - within);
        let result = run(&trq(quota, RentTo::Importer));
        let q = quota_of(&result);
        assert_eq!(q.regime(), QuotaRegime::AtQuota);
        assert!((q.imports - quota).abs() <= 1e-10 * quota, "{} vs {quota}", q.imports);
        assert!((covered_volume(&result) - quota).abs() <= 1e-9 * quota);
        let k = points.windows(2).position(|w| w[0].1 >= quota && quota > w[1].1).unwrap();
        let (low, high) = (points[k].0, points[k + 1].0);
        assert!((low..=high).contains(&q.premium_pct), "premium {} outside [{low}, {high}]", q.premium_pct);
        assert!((q.rate_pct - (IN_PCT + q.premium_pct)).abs() < 1e-12);
        // The same flows at the found rate, as a plain SET, give the same market.
        let plain = run(&at_rate(q.rate_pct));
        assert!((covered_volume(&plain) - quota).abs() <= 1e-9 * quota);
    }
}

#[test]
fn the_regime_switches_where_the_scan_says() {
    let points = scan(2);
    let (within, beyond) = (points[0].1, points[2].1);
    let regime = |quota: f64| quota_of(&run(&trq(quota, RentTo::Importer))).regime();
    assert_eq!(regime(within * (1.0 + 1e-9)), QuotaRegime::InQuota);
    assert_eq!(regime(within * (1.0 - 1e-6)), QuotaRegime::AtQuota);
    assert_eq!(regime(beyond * (1.0 + 1e-6)), QuotaRegime::AtQuota);
    assert_eq!(regime(beyond * (1.0 - 1e-9)), QuotaRegime::OutOfQuota);
    // A quota of nothing: every unit pays the out-of-quota rate, and no unit earns a rent.
    let none = run(&trq(0.0, RentTo::Importer));
    assert_eq!(quota_of(&none).regime(), QuotaRegime::OutOfQuota);
    assert_eq!(quota_of(&none).rent, 0.0);
    // Just inside the gap, the premium is just above 0 and just below the gap.
    let near_in = quota_of(&run(&trq(within * (1.0 - 1e-6), RentTo::Importer))).premium_pct;
    let near_out = quota_of(&run(&trq(beyond * (1.0 + 1e-6), RentTo::Importer))).premium_pct;
    assert!(near_in > 0.0 && near_in < 0.01, "{near_in}");
    assert!(near_out < OUT_PCT - IN_PCT && near_out > OUT_PCT - IN_PCT - 0.05, "{near_out}");
}

#[test]
fn a_rent_to_the_exporter_moves_from_revenue_to_producer_surplus() {
    let points = scan(2);
    let quota = 0.5 * (points[0].1 + points[2].1);
    let to_importer = run(&trq(quota, RentTo::Importer));
    let to_exporter = run(&trq(quota, RentTo::Exporter));
    let rent = quota_of(&to_exporter).rent;
    let q = quota_of(&to_exporter);
    let value = agri(&to_exporter)
        .flows
        .iter()
        .find(|f| f.exporter == "USA" && f.importer == "JPN")
        .unwrap()
        .value
        .unwrap()
        .after;
    assert!((rent - q.premium_pct / 100.0 * value).abs() <= 1e-9 * rent);
    assert!(rent > 0.0);
    let (a, b) = (agri(&to_importer), agri(&to_exporter));
    let revenue = |s: &pb::SectorImpact| economy(s, "JPN").tariff_revenue.unwrap().after;
    assert!((revenue(a) - revenue(b) - rent).abs() <= 1e-9 * rent);
    let ps = |s: &pb::SectorImpact| economy(s, "USA").producer_surplus_change;
    assert!((ps(b) - ps(a) - rent).abs() <= 1e-9 * rent);
    for s in [a, b] {
        for e in &s.economies {
            let sum =
                e.consumer_surplus_change + e.producer_surplus_change + e.tariff_revenue.unwrap().change;
            assert!((sum - e.welfare_change).abs() <= 1e-9 * (1.0 + sum.abs()), "{}", e.economy);
        }
    }
    // A transfer: world welfare is the same to rounding.
    let world = |s: &pb::SectorImpact| s.economies.iter().map(|e| e.welfare_change).sum::<f64>();
    assert!((world(a) - world(b)).abs() <= 1e-9 * world(a).abs().max(1.0));
    // The economy totals carry it too.
    let total = |r: &pb::ScenarioResult, code: &str| {
        r.impacts[0].economies.iter().find(|e| e.economy == code).unwrap().welfare_change
    };
    assert!((total(&to_exporter, "USA") - total(&to_importer, "USA") - rent).abs() <= 1e-9 * rent);
}

#[test]
fn a_trq_is_checked_field_by_field() {
    let problems = |m: Measure| {
        let scenario = Scenario { measures: vec![m], ..Default::default() };
        let violations = PreparedScenario::new(jpus(), &scenario).expect_err("refused");
        violations.0.iter().map(|v| format!("{}: {}", v.field, v.reason)).collect::<Vec<_>>().join("\n")
    };
    let trq = || match trq(100.0, RentTo::Importer).measures.pop() {
        Some(m) => m,
        None => unreachable!(),
    };
    let two_sectors = problems(Measure { sectors: vec!["AGRI".into(), "CARS".into()], ..trq() });
    assert!(two_sectors.contains("measures[0].sectors: a TRQ covers one sector"), "{two_sectors}");
    let inverted = problems(Measure { out_quota_rate_pct: 1.0, ..trq() });
    assert!(
        inverted.contains("measures[0].out_quota_rate_pct: 1 is below the in-quota rate 5"),
        "{inverted}"
    );
    let negative = problems(Measure { quota: -1.0, ..trq() });
    assert!(negative.contains("measures[0].quota: -1 is not a volume"), "{negative}");
    let stray = problems(Measure { mode: Mode::Add.into(), rate_pct: 5.0, ..trq() });
    assert!(stray.contains("measures[0].quota: only a measure of mode TRQ has it"), "{stray}");
    let rate = problems(Measure { rate_pct: 3.0, ..trq() });
    assert!(rate.contains("measures[0].rate_pct"), "{rate}");

    let twice = Scenario { measures: vec![trq(), trq()], ..Default::default() };
    let refused = PreparedScenario::new(jpus(), &twice).expect_err("two TRQs on one sector");
    assert!(
        refused.0.iter().any(|v| v.field == "measures[1].sectors" && v.reason.contains("one TRQ per sector"))
    );
    // One after the other is fine.
    let (mut first, mut second) = (trq(), trq());
    first.effective_to = "2026-01-01".into();
    second.effective_from = "2026-01-01".into();
    let sequential = Scenario {
        measures: vec![first, second],
        evaluate_at: vec!["2025-06-01".into(), "2026-06-01".into()],
        ..Default::default()
    };
    assert!(PreparedScenario::new(jpus(), &sequential).is_ok());
}
