//! Measures beyond an ad valorem rate (issue 16) through the pipeline: a
//! scenario with a tariff-rate quota and content rules (a dutiable share per
//! exporter, an offset against a parts duty), with and without supply chains
//! (`input_costs`, on the built-in input shares), submitted to a gateway on
//! real NATS and computed by a worker (whole, or split by sector across two),
//! has the library's result byte for byte: the quota's regime and rent, the
//! content-rule rates, and the coupled solve's ERP and passes included; and
//! uncertainty draws with supply chains, split in chunks across two workers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use prost::Message;
use tariff_e2e::{Gateway, Stack, WorkerHandle, one_job_at_a_time, splitting_worker, state, wait_until_done};
use tariff_proto::v1::{
    Authority, ContentShare, DutyOffset, JobState, Measure, QuotaRegime, Scenario, SubmitScenarioRequest,
    measure::{Mode, RentTo},
};
use tariff_scenario::{dataset::builtin, run};

/// Japan's agri-food imports from the US under a binding TRQ whose rent the
/// exporters keep, beside a US surcharge on cars (Mexico's on 60% of their
/// value) and on parts (with an offset of 1% of US car output), at two dates.
fn beyond_ad_valorem() -> Scenario {
    let trq = Measure {
        id: "jpn-agri-trq".into(),
        authority: Authority::Other.into(),
        importer: "JPN".into(),
        exporters: vec!["USA".into()],
        sectors: vec!["AGRI".into()],
        mode: Mode::Trq.into(),
        in_quota_rate_pct: 5.0,
        out_quota_rate_pct: 50.0,
        quota: 11_000.0,
        rent_to: RentTo::Exporter.into(),
        effective_from: "2025-01-01".into(),
        ..Default::default()
    };
    let cars = Measure {
        id: "us-cars".into(),
        authority: Authority::Section232.into(),
        importer: "USA".into(),
        exporters: vec!["*".into()],
        sectors: vec!["CARS".into()],
        mode: Mode::Add.into(),
        rate_pct: 25.0,
        content: vec![ContentShare { exporter: "MEX".into(), dutiable_share_pct: 60.0 }],
        ..Default::default()
    };
    let parts = Measure {
        id: "us-parts".into(),
        sectors: vec!["PARTS".into()],
        exporters: vec!["JPN".into(), "EU".into()],
        content: Vec::new(),
        offsets: vec![DutyOffset {
            on_sectors: vec!["CARS".into()],
            percent_of_value: 1.0,
            effective_from: "2025-01-01".into(),
            ..Default::default()
        }],
        ..cars.clone()
    };
    Scenario {
        dataset: "jpus-2023".into(),
        measures: vec![trq, cars, parts],
        evaluate_at: vec!["2024-06-01".into(), "2025-06-01".into()],
        ..Default::default()
    }
}

/// Submits [`beyond_ad_valorem`], without and with input costs, to `gateway`
/// (a worker running) and checks the answers.
async fn through_the_pipeline(gateway: &Gateway) {
    for input_costs in [false, true] {
        one_job(gateway, Scenario { input_costs, ..beyond_ad_valorem() }).await;
    }
}

async fn one_job(gateway: &Gateway, job: Scenario) {
    let mut client = gateway.client().await;
    let input_costs = job.input_costs;
    let local = run(builtin("jpus-2023").unwrap().unwrap(), &job).unwrap();
    let submitted = client
        .submit_scenario(SubmitScenarioRequest { scenario: Some(job), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let done = wait_until_done(&mut client, &submitted.job_id).await;
    assert_eq!(state(&done), JobState::Succeeded, "{:?}", done.error);
    let result = done.result.unwrap();
    assert_eq!(result.encode_to_vec(), local.encode_to_vec(), "the library's bytes");
    // Before the TRQ: no quota; from it on, binding, with the rent to the US.
    let quotas = |date: usize| -> Vec<_> {
        result.impacts[date].sectors.iter().flat_map(|s| s.quotas.iter()).collect()
    };
    assert!(quotas(0).is_empty());
    let q = quotas(1);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].regime(), QuotaRegime::AtQuota);
    assert!(q[0].rent > 0.0 && (q[0].imports - 11_000.0).abs() < 1e-6);
    // The content rules: Mexico's cars pay 15 more points, Japan's 25; the
    // parts duty is 25 points before the offset starts and less after.
    let added = |date: usize, sector: &str, exporter: &str| {
        let s = result.impacts[date].sectors.iter().find(|s| s.sector == sector).unwrap();
        let f = s.flows.iter().find(|f| f.exporter == exporter && f.importer == "USA").unwrap();
        f.tariff_after_pct - f.tariff_before_pct
    };
    assert!((added(0, "CARS", "MEX") - 15.0).abs() < 1e-9 && (added(0, "CARS", "JPN") - 25.0).abs() < 1e-9);
    assert!((added(0, "PARTS", "JPN") - 25.0).abs() < 1e-9);
    let cut = 25.0 - added(1, "PARTS", "JPN");
    assert!(
        cut > 1.0 && cut < 25.0 && (added(1, "PARTS", "EU") - added(1, "PARTS", "JPN")).abs() < 1e-9,
        "{cut}"
    );
    // Supply chains: the US car makers' ERP and the coupled solve's passes are
    // there exactly when input costs are on.
    let cars = result.impacts[1].sectors.iter().find(|s| s.sector == "CARS").unwrap();
    let usa = cars.economies.iter().find(|e| e.economy == "USA").unwrap();
    let passes = cars.diagnostics.unwrap().coupling_passes;
    if input_costs {
        assert!(usa.effective_protection_pct.is_some() && passes > 1, "{passes}");
        assert!(cars.diagnostics.unwrap().coupling_change <= 1e-12);
    } else {
        assert!(usa.effective_protection_pct.is_none() && passes == 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trq_and_content_rules_through_gateway_queue_and_worker_are_the_librarys_result() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let _worker = WorkerHandle::start(config, one_job_at_a_time()).await;
    through_the_pipeline(&gateway).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trq_and_content_rules_split_by_sector_are_the_librarys_result() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let _worker = splitting_worker(config, Duration::ZERO).await;
    through_the_pipeline(&gateway).await;
}

/// Uncertainty with supply chains: 60 draws in chunks of 20, each draw a
/// coupled solve, shared by two workers, merged into the library's bands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coupled_draws_split_across_workers_are_the_librarys_bands() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let _workers = [
        WorkerHandle::start(config.clone(), one_job_at_a_time()).await,
        WorkerHandle::start(config, one_job_at_a_time()).await,
    ];
    let job = Scenario {
        uncertainty: Some(tariff_proto::v1::Uncertainty {
            draws: 60,
            seed: 16,
            chunk_draws: 20,
            sensitivity: true,
            ..Default::default()
        }),
        ..tariff_e2e::scenario("section-232-supply-chains.json")
    };
    assert!(job.input_costs);
    let local = run(builtin("jpus-2023").unwrap().unwrap(), &job).unwrap();
    let mut client = gateway.client().await;
    let request = tariff_proto::v1::RunScenarioRequest { scenario: Some(job), ..Default::default() };
    let result = client.run_scenario(request).await.unwrap().into_inner().result.unwrap();
    assert_eq!(result.encode_to_vec(), local.encode_to_vec(), "the library's bytes");
    assert!(!result.impacts[0].bands.is_empty() && !result.impacts[0].sensitivity.is_empty());
}
