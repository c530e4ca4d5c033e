//! Uncertainty jobs through the pipeline: draws split into chunks that several
//! workers compute, merged into the same bands one worker gives; and a cancel
//! that stops every worker computing the job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::Ordering;

use tariff_e2e::{Stack, WorkerHandle, one_job_at_a_time, with_draws};
use tariff_proto::v1::RunScenarioRequest;
use tariff_scenario::{dataset::builtin, run};

#[tokio::test]
async fn the_same_seed_gives_the_same_bands_on_one_worker_and_on_three() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let mut client = gateway.client().await;
    let job = with_draws(600, 40);
    let local = run(builtin("jpus-2023").unwrap().unwrap(), &job).unwrap();
    assert_eq!(local.impacts[0].bands.len(), local.impacts[0].economies.len());

    let call = |key: &str| RunScenarioRequest {
        scenario: Some(job.clone()),
        idempotency_key: key.to_owned(),
        ..Default::default()
    };
    let alone = WorkerHandle::start(config.clone(), one_job_at_a_time()).await;
    let on_one = client.run_scenario(call("on-one")).await.unwrap().into_inner().result.unwrap();
    assert_eq!(on_one, local, "one worker, its chunks all its own");

    let others = [
        WorkerHandle::start(config.clone(), one_job_at_a_time()).await,
        WorkerHandle::start(config.clone(), one_job_at_a_time()).await,
    ];
    let counts = |w: &WorkerHandle| w.counts.as_ref().unwrap().chunks.load(Ordering::SeqCst);
    let before = counts(&alone);
    let on_three = client.run_scenario(call("on-three")).await.unwrap().into_inner().result.unwrap();
    assert_eq!(on_three, local, "three workers sharing the chunks");

    let by_worker = [counts(&alone) - before, counts(&others[0]), counts(&others[1])];
    let helped: usize = by_worker.iter().filter(|n| **n > 0).count();
    assert!(helped >= 2, "chunks computed per worker: {by_worker:?}");
    // 15 chunks; a chunk two workers met on may be computed twice, no more.
    let total: usize = by_worker.iter().sum();
    assert!((15..=15 + 2).contains(&total), "chunks computed per worker: {by_worker:?}");
}
