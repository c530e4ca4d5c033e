//! An in-process OTLP/gRPC collector: what the services' real exporters send
//! (`OTEL_EXPORTER_OTLP_ENDPOINT=http://<address>`) is kept for the test to
//! read, span by span and metric by metric. No exporter is mocked: the
//! processes under test export over the network as they would to a real
//! collector.

use std::{
    collections::BTreeSet,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use opentelemetry_proto::tonic::{
    collector::{
        metrics::v1::{
            ExportMetricsServiceRequest, ExportMetricsServiceResponse,
            metrics_service_server::{MetricsService, MetricsServiceServer},
        },
        trace::v1::{
            ExportTraceServiceRequest, ExportTraceServiceResponse,
            trace_service_server::{TraceService, TraceServiceServer},
        },
    },
    common::v1::{KeyValue, any_value},
    metrics::v1::{Metric, metric},
    resource::v1::Resource,
};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use crate::TestSupportError;

/// One span as received, with its resource's service and instance.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// The trace id in lower-case hex.
    pub trace_id: String,
    /// The span id in lower-case hex.
    pub span_id: String,
    /// The parent's span id in hex; empty for a root.
    pub parent_span_id: String,
    pub name: String,
    /// `service.name` of the process that sent it.
    pub service: String,
    /// `service.instance.id` of the process that sent it.
    pub instance: String,
    /// Start and end, nanoseconds since the epoch.
    pub start_ns: u64,
    pub end_ns: u64,
    pub attributes: Vec<(String, any_value::Value)>,
}

impl ReceivedSpan {
    /// The attribute `key`, if the span has it.
    pub fn attribute(&self, key: &str) -> Option<&any_value::Value> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The attribute `key` as text (strings as they are, other values in
    /// their debug form).
    pub fn text(&self, key: &str) -> Option<String> {
        self.attribute(key).map(|value| match value {
            any_value::Value::StringValue(s) => s.clone(),
            any_value::Value::IntValue(i) => i.to_string(),
            other => format!("{other:?}"),
        })
    }
}

/// One data point of a sum (counter) metric, with its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedPoint {
    /// The metric's name.
    pub metric: String,
    /// `service.instance.id` of the process that sent it.
    pub instance: String,
    pub attributes: Vec<(String, String)>,
    /// The value (a histogram's point gives its count).
    pub value: f64,
}

/// The collector: an OTLP/gRPC server on 127.0.0.1 and what it received.
/// Clones share what is received; the server runs on the runtime it was
/// started on until that runtime ends.
#[derive(Clone, Default)]
pub struct OtlpCollector {
    traces: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    metrics: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
}

impl std::fmt::Debug for OtlpCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpCollector").finish_non_exhaustive()
    }
}

#[tonic::async_trait]
impl TraceService for OtlpCollector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        lock(&self.traces).push(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

#[tonic::async_trait]
impl MetricsService for OtlpCollector {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        lock(&self.metrics).push(request.into_inner());
        Ok(Response::new(ExportMetricsServiceResponse { partial_success: None }))
    }
}

/// A poisoned lock still holds what was received: a panicking test thread
/// must not hide it from the others.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn resource_attribute(resource: Option<&Resource>, key: &str) -> String {
    resource
        .into_iter()
        .flat_map(|r| &r.attributes)
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            any_value::Value::StringValue(s) => s.clone(),
            other => format!("{other:?}"),
        })
        .unwrap_or_default()
}

fn attribute_text(kv: &KeyValue) -> Option<(String, String)> {
    let value = match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => s.clone(),
        any_value::Value::IntValue(i) => i.to_string(),
        any_value::Value::BoolValue(b) => b.to_string(),
        other => format!("{other:?}"),
    };
    Some((kv.key.clone(), value))
}

impl OtlpCollector {
    /// Serves traces and metrics on a free port of 127.0.0.1, on the current
    /// Tokio runtime; the collector and its `http://` endpoint.
    pub async fn start() -> Result<(OtlpCollector, String), TestSupportError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(TestSupportError::io("binding the OTLP collector's port"))?;
        let address: SocketAddr =
            listener.local_addr().map_err(TestSupportError::io("reading the OTLP collector's address"))?;
        let collector = OtlpCollector::default();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .add_service(MetricsServiceServer::new(collector.clone()));
        tokio::spawn(server.serve_with_incoming(TcpListenerStream::new(listener)));
        Ok((collector, format!("http://{address}")))
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let mut out = Vec::new();
        for request in lock(&self.traces).iter() {
            for resource_spans in &request.resource_spans {
                let service = resource_attribute(resource_spans.resource.as_ref(), "service.name");
                let instance = resource_attribute(resource_spans.resource.as_ref(), "service.instance.id");
                for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
                    out.push(ReceivedSpan {
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: hex(&span.parent_span_id),
                        name: span.name.clone(),
                        service: service.clone(),
                        instance: instance.clone(),
                        start_ns: span.start_time_unix_nano,
                        end_ns: span.end_time_unix_nano,
                        attributes: span
                            .attributes
                            .iter()
                            .filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?.value?)))
                            .collect(),
                    });
                }
            }
        }
        out
    }

    /// `service.instance.id` of every process that sent spans.
    pub fn instances(&self) -> BTreeSet<String> {
        self.spans().into_iter().map(|s| s.instance).collect()
    }

    /// Every metric received so far, with the instance that sent it.
    fn metrics(&self) -> Vec<(String, Metric)> {
        let mut out = Vec::new();
        for request in lock(&self.metrics).iter() {
            for resource_metrics in &request.resource_metrics {
                let instance = resource_attribute(resource_metrics.resource.as_ref(), "service.instance.id");
                for metric in resource_metrics.scope_metrics.iter().flat_map(|s| &s.metrics) {
                    out.push((instance.clone(), metric.clone()));
                }
            }
        }
        out
    }

    /// Names of every metric received.
    pub fn metric_names(&self) -> BTreeSet<String> {
        self.metrics().into_iter().map(|(_, m)| m.name).collect()
    }

    /// The points of metric `name` in the latest export of each instance
    /// (cumulative temporality: the latest is the total so far). Sums and
    /// gauges give their value, histograms their count.
    pub fn latest_points(&self, name: &str) -> Vec<ReceivedPoint> {
        let mut latest: Vec<(String, Metric)> = Vec::new();
        for (instance, metric) in self.metrics().into_iter().filter(|(_, m)| m.name == name) {
            latest.retain(|(i, _)| *i != instance);
            latest.push((instance, metric));
        }
        let mut out = Vec::new();
        for (instance, metric) in latest {
            let point = |attributes: &[KeyValue], value: f64| ReceivedPoint {
                metric: name.to_owned(),
                instance: instance.clone(),
                attributes: attributes.iter().filter_map(attribute_text).collect(),
                value,
            };
            let number = |p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint| match p.value {
                Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(i)) => i as f64,
                Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(d)) => d,
                None => f64::NAN,
            };
            match metric.data {
                Some(metric::Data::Sum(sum)) => {
                    out.extend(sum.data_points.iter().map(|p| point(&p.attributes, number(p))));
                }
                Some(metric::Data::Gauge(gauge)) => {
                    out.extend(gauge.data_points.iter().map(|p| point(&p.attributes, number(p))));
                }
                Some(metric::Data::Histogram(histogram)) => {
                    out.extend(histogram.data_points.iter().map(|p| point(&p.attributes, p.count as f64)));
                }
                _ => {}
            }
        }
        out
    }
}
