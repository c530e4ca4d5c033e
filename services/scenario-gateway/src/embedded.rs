//! The embedded default: gateway and workers in one process over the
//! in-process queue, with the same code above and below the queue as in production.

use std::future::Future;

use tariff_jobs::{JobService, Worker, WorkerConfig, memory::MemoryBackend};
use tariff_scenario::ScenarioLimits;
use tariff_worker::{ScenarioRunner, StoreFetch};
use tokio::{sync::watch, task::JoinHandle};

/// An in-process job backend with `workers` workers pulling from it.
#[derive(Debug)]
pub struct Embedded {
    pub backend: MemoryBackend,
    stop: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
}

impl Embedded {
    /// Starts `workers` workers on a fresh in-process backend.
    pub fn start(workers: usize, config: WorkerConfig, limits: ScenarioLimits) -> Embedded {
        let backend = MemoryBackend::default();
        let (stop, stopped) = watch::channel(false);
        // One cache for the workers of the process, as the datasets are the same.
        let runner = ScenarioRunner {
            datasets: Some(std::sync::Arc::new(StoreFetch {
                store: backend.clone(),
                runtime: tokio::runtime::Handle::current(),
            })),
            ..ScenarioRunner::new(limits)
        };
        let workers = (0..workers.max(1))
            .map(|_| {
                let worker = Worker::new(backend.clone(), runner.clone(), config.clone());
                let mut stopped = stopped.clone();
                let consumer = backend.consumer();
                tokio::spawn(worker.run(consumer, async move {
                    let _ = stopped.wait_for(|s| *s).await;
                }))
            })
            .collect();
        Embedded { backend, stop, workers }
    }

    /// The job service over this backend, for the gateway.
    pub fn jobs(&self) -> JobService<MemoryBackend, MemoryBackend> {
        JobService::new(self.backend.clone(), self.backend.clone())
    }

    /// Stops the workers after the jobs in hand.
    pub fn shutdown(self) -> impl Future<Output = ()> {
        let _ = self.stop.send(true);
        async move {
            for worker in self.workers {
                let _ = worker.await;
            }
        }
    }
}
