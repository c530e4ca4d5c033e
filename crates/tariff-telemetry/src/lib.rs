//! What every service process sets up the same way: structured logs (to
//! stderr, JSON on request) carrying trace and job ids; OpenTelemetry traces
//! and metrics, exported over OTLP only when the standard `OTEL_*` variables
//! ask for it; the metrics in the Prometheus text format for an admin port;
//! and the shutdown signal.
//!
//! [`Telemetry::init`] installs it all once per process. Spans are always
//! given trace and span ids (so logs and the trace context passed from the
//! gateway to the workers line up), whether or not anything is exported.

mod admin;
mod otel_env;
mod prometheus;
mod quiet;

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use opentelemetry::{KeyValue, global, trace::TracerProvider as _};
use opentelemetry_sdk::{
    Resource, metrics::SdkMeterProvider, propagation::TraceContextPropagator, trace::SdkTracerProvider,
};
use tracing::Level;
use tracing_subscriber::{EnvFilter, Layer, Registry, filter::Targets, fmt, prelude::*};

pub use admin::serve_admin;
pub use prometheus::CONTENT_TYPE as PROMETHEUS_CONTENT_TYPE;

use crate::{
    otel_env::ExportPlan,
    prometheus::ScrapeReader,
    quiet::{QuietMetrics, QuietSpans},
};

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format `{other}` (text or json)")),
        }
    }
}

/// The telemetry flags both services take.
#[derive(Debug, Clone, clap::Args)]
pub struct TelemetryArgs {
    /// Log format: text or json.
    #[arg(long, env = "TARIFF_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// Address of the admin HTTP server (`/metrics` for Prometheus, `/healthz`);
    /// off unless set, e.g. `0.0.0.0:9464`.
    #[arg(long, env = "TARIFF_ADMIN_LISTEN", value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,
}

/// The crates whose spans become OpenTelemetry spans (the libraries' own,
/// such as hyper's or async-nats', stay out of traces).
const TRACED_CRATES: [&str; 4] = ["scenario_gateway", "tariff_worker", "tariff_jobs", "tariff_scenario"];

/// The most detailed span level traced: `info` keeps only the call and job
/// spans, `debug` adds the steps, `trace` each sector's solve. The default is
/// `debug` when traces go somewhere, `info` when they do not.
pub const TRACE_LEVEL_ENV: &str = "TARIFF_TRACE_LEVEL";

/// The span level traced unless [`TRACE_LEVEL_ENV`] says otherwise. Spans
/// nobody exports still cost their making: the step spans were a tenth of
/// the pipeline's CPU under load (2,854 against 3,133 jobs/s on two cores).
/// The call and job spans stay, since they carry the job's trace id to the
/// worker, the record and the logs.
fn default_trace_level(exported: bool) -> Level {
    if exported { Level::DEBUG } else { Level::INFO }
}

/// How long the final export may take at shutdown, in milliseconds
/// ([`DEFAULT_FLUSH_BUDGET`] unless set): a collector that accepts
/// connections and never answers must not hold the exit past the pod's grace
/// period.
pub const FLUSH_BUDGET_ENV: &str = "TARIFF_TELEMETRY_FLUSH_MS";

/// The final export's budget when [`FLUSH_BUDGET_ENV`] is not set.
pub const DEFAULT_FLUSH_BUDGET: Duration = Duration::from_secs(3);

/// The final export's budget: [`FLUSH_BUDGET_ENV`], else the default (and a
/// warning for a value that is not a number of milliseconds).
fn flush_budget(problems: &mut Vec<String>) -> Duration {
    match std::env::var(FLUSH_BUDGET_ENV) {
        Ok(value) if !value.trim().is_empty() => match value.trim().parse::<u64>() {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => {
                problems.push(format!(
                    "{FLUSH_BUDGET_ENV}=`{value}` is not a number of milliseconds; using {} ms",
                    DEFAULT_FLUSH_BUDGET.as_millis()
                ));
                DEFAULT_FLUSH_BUDGET
            }
        },
        _ => DEFAULT_FLUSH_BUDGET,
    }
}

/// The log filter: `TARIFF_LOG`, then `RUST_LOG`, else `info` with noisy
/// libraries at `warn`.
fn log_filter() -> EnvFilter {
    EnvFilter::try_from_env("TARIFF_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,async_nats=warn,h2=warn,tower=warn,hyper=warn"))
}

/// Colours in text logs only on a terminal, and never with `NO_COLOR` set
/// (no-color.org): a file or a log collector gets plain text.
fn colour() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

fn log_layer(format: LogFormat) -> Box<dyn Layer<Registry> + Send + Sync> {
    match format {
        LogFormat::Text => {
            fmt::layer().with_writer(std::io::stderr).with_ansi(colour()).with_filter(log_filter()).boxed()
        }
        LogFormat::Json => fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .with_filter(log_filter())
            .boxed(),
    }
}

/// A service's exit: a failed start is one line on stderr, the causes joined
/// (`{:#}`), whatever RUST_BACKTRACE says; returning the error from `main`
/// printed its backtrace with it.
pub fn exit_code<E: std::fmt::Display>(outcome: Result<(), E>) -> std::process::ExitCode {
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Installs only the log subscriber (no OpenTelemetry), for tools. The level
/// comes from `TARIFF_LOG` (then `RUST_LOG`), `info` by default. Calling it
/// twice, or after [`Telemetry::init`], is harmless.
pub fn init_logging(format: LogFormat) {
    let _ = tracing_subscriber::registry().with(log_layer(format)).try_init();
}

/// The process's telemetry: tracer and meter providers, and the Prometheus
/// view of the metrics. Clones share it; [`Telemetry::shutdown`] flushes.
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

struct Inner {
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    scrape: ScrapeReader,
    stopped: AtomicBool,
    /// How long the final export may take.
    flush_budget: Duration,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}

/// Builds a [`Telemetry`].
#[derive(Debug)]
pub struct TelemetryBuilder {
    service_name: String,
    log_format: LogFormat,
    tracer_provider: Option<SdkTracerProvider>,
}

impl TelemetryBuilder {
    /// How logs are written (text by default).
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.log_format = format;
        self
    }

    /// Uses this tracer provider instead of one built from the environment
    /// (tests install one with an in-memory exporter).
    pub fn tracer_provider(mut self, provider: SdkTracerProvider) -> Self {
        self.tracer_provider = Some(provider);
        self
    }

    /// Installs the global subscriber, tracer and meter providers and the W3C
    /// trace-context propagator. Must run inside a Tokio runtime (the OTLP
    /// exporter's gRPC channel lives on it). Nothing is logged about export
    /// unless the environment turns it on.
    pub fn init(self) -> Telemetry {
        let plan = ExportPlan::from_env();
        let exported = plan.traces || self.tracer_provider.is_some();
        let default_level = default_trace_level(exported);
        let resource = resource(&self.service_name);
        let mut problems = plan.warnings.clone();
        let flush_budget = flush_budget(&mut problems);

        let tracer_provider = match self.tracer_provider {
            Some(provider) => provider,
            None => {
                let mut builder = SdkTracerProvider::builder().with_resource(resource.clone());
                if plan.traces {
                    match opentelemetry_otlp::SpanExporter::builder().with_tonic().build() {
                        Ok(exporter) => builder = builder.with_batch_exporter(QuietSpans::new(exporter)),
                        Err(e) => problems.push(format!("traces are not exported: {e}")),
                    }
                }
                builder.build()
            }
        };

        let scrape = ScrapeReader::new();
        let mut meters = SdkMeterProvider::builder().with_resource(resource).with_reader(scrape.clone());
        if plan.metrics {
            match opentelemetry_otlp::MetricExporter::builder().with_tonic().build() {
                Ok(exporter) => meters = meters.with_periodic_exporter(QuietMetrics::new(exporter)),
                Err(e) => problems.push(format!("metrics are not exported: {e}")),
            }
        }
        let meter_provider = meters.build();

        global::set_text_map_propagator(TraceContextPropagator::new());
        global::set_tracer_provider(tracer_provider.clone());
        global::set_meter_provider(meter_provider.clone());

        let level = match std::env::var(TRACE_LEVEL_ENV) {
            Ok(value) if !value.trim().is_empty() => value.trim().parse::<Level>().unwrap_or_else(|_| {
                problems.push(format!(
                    "{TRACE_LEVEL_ENV}=`{value}` is not a level (info, debug, trace); using {default_level}"
                ));
                default_level
            }),
            _ => default_level,
        };
        let mut traced = Targets::new();
        for name in TRACED_CRATES {
            traced = traced.with_target(name, level);
        }
        let spans = tracing_opentelemetry::layer()
            .with_tracer(tracer_provider.tracer("tariff"))
            .with_location(false)
            .with_threads(false)
            .with_filter(traced)
            .boxed();
        let _ = tracing_subscriber::registry().with(vec![spans, log_layer(self.log_format)]).try_init();

        for problem in problems {
            tracing::warn!("OpenTelemetry: {problem}");
        }
        if plan.traces || plan.metrics {
            tracing::info!(traces = plan.traces, metrics = plan.metrics, "exporting over OTLP");
        }
        Telemetry {
            inner: Arc::new(Inner {
                tracer_provider,
                meter_provider,
                scrape,
                stopped: AtomicBool::new(false),
                flush_budget,
            }),
        }
    }
}

/// `service.name` (`OTEL_SERVICE_NAME` wins over the default), the version,
/// the instance, and whatever `OTEL_RESOURCE_ATTRIBUTES` adds.
fn resource(default_service_name: &str) -> Resource {
    let mut builder = Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").map_or(true, |v| v.trim().is_empty()) {
        builder = builder.with_service_name(default_service_name.to_owned());
    }
    builder = builder.with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    let given = std::env::var("OTEL_RESOURCE_ATTRIBUTES")
        .is_ok_and(|a| a.split(',').any(|kv| kv.trim_start().starts_with("service.instance.id=")));
    if !given {
        builder = builder.with_attribute(KeyValue::new("service.instance.id", instance_id()));
    }
    builder.build()
}

/// `<host>-<pid>`: the host is `HOSTNAME` (the pod name on Kubernetes) or the
/// kernel's host name, and the process id tells two replicas on one host
/// apart (HOSTNAME is often not exported, and the same for both when it is).
fn instance_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!("{host}-{}", std::process::id())
}

impl Telemetry {
    /// A builder for the service `service_name` (the default `service.name`).
    pub fn builder(service_name: impl Into<String>) -> TelemetryBuilder {
        TelemetryBuilder {
            service_name: service_name.into(),
            log_format: LogFormat::Text,
            tracer_provider: None,
        }
    }

    /// Logs in `format`, traces and metrics as the environment says.
    pub fn init(service_name: impl Into<String>, format: LogFormat) -> Telemetry {
        Telemetry::builder(service_name).log_format(format).init()
    }

    /// Every metric now, in the Prometheus text format.
    pub fn prometheus_text(&self) -> Result<String, String> {
        self.inner.scrape.scrape()
    }

    /// Exports what is still buffered and stops the exporters (waits at most a
    /// few seconds each). Later calls do nothing.
    pub async fn shutdown(&self) {
        let this = self.clone();
        let _ = tokio::task::spawn_blocking(move || this.inner.stop()).await;
    }
}

impl Inner {
    /// Flushes and stops the exporters on a thread of their own, waiting for
    /// them at most the flush budget: past it the process goes on (to its
    /// exit) and what was not exported is lost, as the warning says.
    fn stop(self: &Arc<Self>) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let this = Arc::clone(self);
        let (done, finished) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("telemetry-flush".into()).spawn(move || {
            let _ = this.tracer_provider.force_flush();
            let _ = this.tracer_provider.shutdown_with_timeout(this.flush_budget);
            let _ = this.meter_provider.shutdown_with_timeout(this.flush_budget);
            let _ = done.send(());
        });
        if spawned.is_ok() && finished.recv_timeout(self.flush_budget).is_err() {
            tracing::warn!(
                budget_ms = self.flush_budget.as_millis() as u64,
                "OpenTelemetry: the final export did not finish within its budget ({FLUSH_BUDGET_ENV}); what it held is dropped"
            );
        }
    }
}

/// The last clone flushes, as [`Telemetry::shutdown`] would.
impl Drop for Telemetry {
    fn drop(&mut self) {
        if Arc::strong_count(&self.inner) == 1 {
            self.inner.stop();
        }
    }
}

/// Resolves on SIGTERM (how Kubernetes stops a pod) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_spans_are_traced_only_when_traces_go_somewhere() {
        assert_eq!(default_trace_level(true), Level::DEBUG);
        assert_eq!(default_trace_level(false), Level::INFO);
    }
}
