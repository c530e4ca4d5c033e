//! Whether the job store can be reached, as a value the services' health
//! reports follow: the gateway's gRPC health and both services' `/readyz`
//! turn NOT_SERVING while it is out, and back after. An outage and its end
//! are logged once each, however long it lasts.

use std::time::{Duration, Instant};

use tokio::sync::watch;

/// How often the connection is looked at: an outage shows in health within
/// this, and a probe costs a load of the client's state (no network).
pub const REACHABILITY_INTERVAL: Duration = Duration::from_millis(250);

/// Follows `probe` (true: reachable) every `interval` on a task of its own,
/// for as long as a receiver lives. The receiver starts at the first reading.
/// Not reachable at first is the start (connecting is logged where it
/// happens); an outage is a change from reachable. `store` names what is
/// probed in the log lines (`NATS at nats://...`).
pub fn follow_reachability(
    store: String,
    interval: Duration,
    probe: impl Fn() -> bool + Send + 'static,
) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(probe());
    tokio::spawn(async move {
        let mut out_since: Option<Instant> = None;
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tx.closed() => return,
                _ = ticks.tick() => {}
            }
            let reachable = probe();
            if reachable == *tx.borrow() {
                continue;
            }
            if reachable {
                if let Some(since) = out_since.take() {
                    let out_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
                    tracing::info!(%store, out_ms, "job store reachable again: health SERVING");
                }
            } else {
                out_since = Some(Instant::now());
                tracing::warn!(
                    %store,
                    "job store unreachable: calls that need it are refused UNAVAILABLE, health NOT_SERVING"
                );
            }
            tx.send_replace(reachable);
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    };

    use super::*;

    #[tokio::test]
    async fn changes_reach_the_receiver_once_each() {
        let up = Arc::new(AtomicBool::new(true));
        let probe = {
            let up = up.clone();
            move || up.load(Ordering::SeqCst)
        };
        let mut rx = follow_reachability("test".into(), Duration::from_millis(5), probe);
        assert!(*rx.borrow());
        up.store(false, Ordering::SeqCst);
        rx.changed().await.unwrap();
        assert!(!*rx.borrow_and_update());
        up.store(true, Ordering::SeqCst);
        rx.changed().await.unwrap();
        assert!(*rx.borrow_and_update());
        // No change, no wake-up.
        let quiet = tokio::time::timeout(Duration::from_millis(50), rx.changed()).await;
        assert!(quiet.is_err());
    }
}
