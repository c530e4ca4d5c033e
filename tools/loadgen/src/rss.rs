//! Resident memory (RSS) of a process: read from `/proc`, sampled in the
//! background while a run goes on, and summed up.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde::Serialize;

/// Resident memory samples of one process, in KiB.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RssSummary {
    pub samples: Vec<(f64, u64)>,
    pub first_kib: u64,
    pub last_kib: u64,
    pub max_kib: u64,
}

impl RssSummary {
    pub fn of(samples: Vec<(f64, u64)>) -> RssSummary {
        let first_kib = samples.first().map_or(0, |s| s.1);
        let last_kib = samples.last().map_or(0, |s| s.1);
        let max_kib = samples.iter().map(|s| s.1).max().unwrap_or(0);
        RssSummary { samples, first_kib, last_kib, max_kib }
    }
}

/// `first N KiB, last N KiB, max N KiB`, as the closing lines print it.
impl fmt::Display for RssSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "first {} KiB, last {} KiB, max {} KiB", self.first_kib, self.last_kib, self.max_kib)
    }
}

/// `VmRSS` of a process from `/proc/PID/status`, in KiB.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The current `VmRSS` of process `pid`, in KiB; `None` if it cannot be read.
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status")).ok().as_deref().and_then(parse_vm_rss)
}

/// Samples a process's resident memory until stopped.
#[derive(Debug)]
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<(f64, u64)>>,
}

impl RssSampler {
    pub fn start(pid: u32, interval: Duration) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let start = Instant::now();
            let mut samples = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                if let Some(kib) = vm_rss_kib(pid) {
                    samples.push((start.elapsed().as_secs_f64(), kib));
                }
                tokio::time::sleep(interval).await;
            }
            samples
        });
        RssSampler { stop, task }
    }

    pub async fn finish(self) -> RssSummary {
        self.stop.store(true, Ordering::Relaxed);
        RssSummary::of(self.task.await.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_parsing_and_summary() {
        let status = "Name:\ttariff-worker\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nThreads: 3\n";
        assert_eq!(parse_vm_rss(status), Some(12345));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        let s = RssSummary::of(vec![(0.0, 10), (1.0, 30), (2.0, 20)]);
        assert_eq!((s.first_kib, s.last_kib, s.max_kib), (10, 20, 30));
        assert_eq!(s.to_string(), "first 10 KiB, last 20 KiB, max 30 KiB");
    }
}
