//! Measures beyond an ad valorem rate (issue 16) through the pipeline: a
//! scenario with a tariff-rate quota, submitted to a gateway on real NATS and
//! computed by a worker (whole, or split by sector across two), has the
//! library's result byte for byte, the quota's regime and rent included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use prost::Message;
use tariff_e2e::{Gateway, Stack, WorkerHandle, one_job_at_a_time, splitting_worker, state, wait_until_done};
use tariff_proto::v1::{
    Authority, JobState, Measure, QuotaRegime, Scenario, SubmitScenarioRequest,
    measure::{Mode, RentTo},
};
use tariff_scenario::{dataset::builtin, run};

/// Japan's agri-food imports from the US under a binding TRQ whose rent the
/// exporters keep, beside a US surcharge on cars, at two dates.
fn with_quota() -> Scenario {
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
        ..Default::default()
    };
    Scenario {
        dataset: "jpus-2023".into(),
        measures: vec![trq, cars],
        evaluate_at: vec!["2024-06-01".into(), "2025-06-01".into()],
        ..Default::default()
    }
}

/// Submits [`with_quota`] to `gateway` (a worker running) and checks the answer.
async fn through_the_pipeline(gateway: &Gateway) {
    let mut client = gateway.client().await;
    let job = with_quota();
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trq_scenario_through_gateway_queue_and_worker_is_the_librarys_result() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let _worker = WorkerHandle::start(config, one_job_at_a_time()).await;
    through_the_pipeline(&gateway).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trq_scenario_split_by_sector_is_the_librarys_result() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let _worker = splitting_worker(config, Duration::ZERO).await;
    through_the_pipeline(&gateway).await;
}
