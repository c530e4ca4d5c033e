//! `soak`: start the stack and push many small jobs through it, sampling the
//! worker's resident memory. The soak itself serves `all` too.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde::Serialize;

use crate::{
    SoakArgs,
    drive::Tally,
    gateway::{Client, Load, Mode, load_scenario, one_call},
    rss::{RssSampler, RssSummary, vm_rss_kib},
    stack::Stack,
    stats::write_json,
};

#[derive(Debug, Serialize)]
pub struct SoakSummary {
    jobs: u64,
    concurrency: usize,
    elapsed_s: f64,
    ok: u64,
    errors: u64,
    throughput_per_s: f64,
    rss_first_kib: u64,
    rss_last_kib: u64,
    rss_max_kib: u64,
    first_error: Option<String>,
}

impl SoakSummary {
    /// The summary with the worker's RSS, sampled while it ran, filled in.
    pub fn with_rss(mut self, rss: &RssSummary) -> SoakSummary {
        self.rss_first_kib = rss.first_kib;
        self.rss_last_kib = rss.last_kib;
        self.rss_max_kib = rss.max_kib;
        self
    }
}

pub async fn command(args: SoakArgs) -> anyhow::Result<()> {
    let scenario = load_scenario(&args.stack.scenario, args.stack.view)?;
    let stack = Stack::start(&args.stack).await?;
    let client = stack.ready(&scenario).await?;
    let sampler = RssSampler::start(stack.worker_pid(), Duration::from_secs_f64(args.stack.rss_interval));
    let summary =
        soak(&client, &scenario, args.jobs, args.concurrency, args.mode, stack.worker_pid()).await?;
    let rss = sampler.finish().await;
    let summary = summary.with_rss(&rss);
    eprintln!(
        "soak: {} ok, {} errors in {:.1} s ({:.1}/s); worker RSS {rss}",
        summary.ok, summary.errors, summary.elapsed_s, summary.throughput_per_s,
    );
    #[derive(Serialize)]
    struct Out {
        soak: SoakSummary,
        worker_rss: RssSummary,
    }
    write_json(args.json.as_deref(), &Out { soak: summary, worker_rss: rss })
}

/// Pushes `jobs` calls in `mode` through at `concurrency`, reporting progress and
/// the worker's RSS every 5 s. The RSS fields of the summary are left at 0.
pub async fn soak(
    client: &Client,
    scenario: &Load,
    jobs: u64,
    concurrency: usize,
    mode: Mode,
    worker_pid: u32,
) -> anyhow::Result<SoakSummary> {
    eprintln!("soak: {jobs} jobs, {mode:?} mode, concurrency {concurrency}");
    let next = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Tally::default());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (mut client, scenario) = (client.clone(), scenario.clone());
        let (next, ok, tally) = (Arc::clone(&next), Arc::clone(&ok), Arc::clone(&tally));
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < jobs {
                match one_call(&mut client, mode, &scenario).await {
                    Ok(()) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => tally.error(&e),
                }
            }
        }));
    }
    let reporter = {
        let ok = Arc::clone(&ok);
        async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let kib = vm_rss_kib(worker_pid).unwrap_or(0);
                eprintln!("soak: {} jobs done, worker RSS {kib} KiB", ok.load(Ordering::Relaxed));
            }
        }
    };
    tokio::select! {
        _ = futures::future::join_all(tasks) => {}
        () = reporter => {}
    }
    let elapsed = start.elapsed();
    let ok = ok.load(Ordering::Relaxed);
    Ok(SoakSummary {
        jobs,
        concurrency,
        elapsed_s: elapsed.as_secs_f64(),
        ok,
        errors: tally.errors(),
        throughput_per_s: ok as f64 / elapsed.as_secs_f64(),
        rss_first_kib: 0,
        rss_last_kib: 0,
        rss_max_kib: 0,
        first_error: tally.first(),
    })
}
