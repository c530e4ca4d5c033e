//! OTLP exporters that say little when the collector is away: the first failed
//! export is one warning, then at most one more every few minutes (with how
//! many failed meanwhile), and one line when exports work again. The SDK's own
//! internal logs are not compiled in, so nothing else is said about exports.

use std::{
    fmt,
    sync::Mutex,
    time::{Duration, Instant},
};

use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    metrics::{Temporality, data::ResourceMetrics, exporter::PushMetricExporter},
    trace::{SpanData, SpanExporter},
};

/// How often a collector that stays away is mentioned again.
const REMIND_EVERY: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
struct Failures {
    /// When the last warning was logged, while failing.
    last_warning: Option<Instant>,
    /// Failures since that warning.
    since_warning: u64,
}

/// Rate-limits what is logged about one signal's exports.
struct Reporter {
    signal: &'static str,
    failures: Mutex<Failures>,
}

impl Reporter {
    fn new(signal: &'static str) -> Reporter {
        Reporter { signal, failures: Mutex::new(Failures::default()) }
    }

    fn report(&self, result: &OTelSdkResult) {
        let Ok(mut failures) = self.failures.lock() else { return };
        match result {
            Ok(()) => {
                if failures.last_warning.take().is_some() {
                    tracing::info!(signal = self.signal, "OTLP export works again");
                }
                failures.since_warning = 0;
            }
            Err(error) => {
                let due = failures.last_warning.is_none_or(|at| at.elapsed() >= REMIND_EVERY);
                if due {
                    tracing::warn!(
                        signal = self.signal,
                        %error,
                        failed_since_last_warning = failures.since_warning,
                        "OTLP export failed; the data is dropped and the next export retried \
                         (this is said again at most every 5 minutes)"
                    );
                    failures.last_warning = Some(Instant::now());
                    failures.since_warning = 0;
                } else {
                    failures.since_warning += 1;
                }
            }
        }
    }
}

/// A span exporter whose failures are reported sparingly.
pub(crate) struct QuietSpans<E> {
    inner: E,
    reporter: Reporter,
}

impl<E> QuietSpans<E> {
    pub(crate) fn new(inner: E) -> Self {
        QuietSpans { inner, reporter: Reporter::new("traces") }
    }
}

impl<E: fmt::Debug> fmt::Debug for QuietSpans<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("QuietSpans").field(&self.inner).finish()
    }
}

impl<E: SpanExporter> SpanExporter for QuietSpans<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        self.reporter.report(&result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// A metric exporter whose failures are reported sparingly.
pub(crate) struct QuietMetrics<E> {
    inner: E,
    reporter: Reporter,
}

impl<E> QuietMetrics<E> {
    pub(crate) fn new(inner: E) -> Self {
        QuietMetrics { inner, reporter: Reporter::new("metrics") }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for QuietMetrics<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        self.reporter.report(&result);
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}
