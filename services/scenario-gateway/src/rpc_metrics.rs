//! Every call counted and timed by method and gRPC status code, as
//! OpenTelemetry's RPC conventions name it: `rpc.server.duration` (ms), with
//! `rpc.system`, `rpc.service`, `rpc.method` and `rpc.grpc.status_code`
//! (`rpc_server_duration_*` in Prometheus; the histogram's count is the
//! calls). A tower layer around the whole server, so that calls refused
//! before a handler runs (a missing token, a request over the size limit, an
//! unknown method) count too, and each under the status the caller saw.
//!
//! The status is read where gRPC puts it: in the headers of a trailers-only
//! response (most refusals), else in the trailers at the end of the body; a
//! body dropped before its trailers (the caller went away, the server
//! stopped) counts as CANCELLED. A streaming call's time runs to its end.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use http::{HeaderMap, Request, Response};
use http_body::{Body as HttpBody, Frame};
use opentelemetry::{KeyValue, global, metrics::Histogram};
use tonic::body::Body;
use tower::{Layer, Service};

/// Milliseconds, from a fraction of one to five minutes.
const MS_BUCKETS: [f64; 15] =
    [0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 10000.0, 60000.0, 300000.0];

/// gRPC's CANCELLED: what a call whose body never reached its trailers is.
const CANCELLED: i64 = 1;

/// The layer; [`RpcMetricsLayer::global`] takes the process's meter provider.
#[derive(Clone)]
pub struct RpcMetricsLayer {
    duration: Histogram<f64>,
}

impl std::fmt::Debug for RpcMetricsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcMetricsLayer").finish_non_exhaustive()
    }
}

impl RpcMetricsLayer {
    /// The histogram on the global meter provider as it is now (install it first).
    pub fn global() -> RpcMetricsLayer {
        let duration = global::meter(tariff_jobs::telemetry::METER)
            .f64_histogram("rpc.server.duration")
            .with_description("gRPC calls served, by method and status code, and how long each took.")
            .with_unit("ms")
            .with_boundaries(MS_BUCKETS.to_vec())
            .build();
        RpcMetricsLayer { duration }
    }
}

impl<S> Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> RpcMetrics<S> {
        RpcMetrics { inner, duration: self.duration.clone() }
    }
}

/// The service the layer wraps around the server's routes.
#[derive(Clone)]
pub struct RpcMetrics<S> {
    inner: S,
    duration: Histogram<f64>,
}

impl<S, B> Service<Request<B>> for RpcMetrics<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let call = CallRecord::new(self.duration.clone(), request.uri().path());
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            if let Some(code) = grpc_status(response.headers()) {
                call.end(code);
                return Ok(response);
            }
            Ok(response.map(|body| Body::new(Counted { body, call: Some(call) })))
        })
    }
}

/// `grpc-status` of these headers or trailers, when present and a number.
fn grpc_status(headers: &HeaderMap) -> Option<i64> {
    headers.get("grpc-status")?.to_str().ok()?.trim().parse().ok()
}

/// One call's attributes and start, recorded once at its end.
struct CallRecord {
    duration: Histogram<f64>,
    started: Instant,
    service: String,
    method: String,
}

impl CallRecord {
    /// A call to `path` (`/package.Service/Method`).
    fn new(duration: Histogram<f64>, path: &str) -> CallRecord {
        let (service, method) = path.trim_start_matches('/').split_once('/').unwrap_or((path, ""));
        CallRecord {
            duration,
            started: Instant::now(),
            service: service.to_owned(),
            method: method.to_owned(),
        }
    }

    fn end(self, code: i64) {
        let ms = self.started.elapsed().as_secs_f64() * 1000.0;
        self.duration.record(
            ms,
            &[
                KeyValue::new("rpc.system", "grpc"),
                KeyValue::new("rpc.service", self.service),
                KeyValue::new("rpc.method", self.method),
                KeyValue::new("rpc.grpc.status_code", code),
            ],
        );
    }
}

/// A response body that records its call when the trailers pass (or when it
/// is dropped without them).
struct Counted {
    body: Body,
    call: Option<CallRecord>,
}

impl HttpBody for Counted {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(code) = frame.trailers_ref().and_then(grpc_status)
            && let Some(call) = self.call.take()
        {
            call.end(code);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.end(CANCELLED);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_path_names_service_and_method() {
        let duration = global::meter("test").f64_histogram("x").build();
        let call = CallRecord::new(duration.clone(), "/tariff.v1.ScenarioService/RunScenario");
        assert_eq!(
            (call.service.as_str(), call.method.as_str()),
            ("tariff.v1.ScenarioService", "RunScenario")
        );
        let odd = CallRecord::new(duration, "/nothing");
        assert_eq!((odd.service.as_str(), odd.method.as_str()), ("/nothing", ""));
    }

    #[test]
    fn the_status_is_read_from_headers_or_trailers() {
        let mut headers = HeaderMap::new();
        assert_eq!(grpc_status(&headers), None);
        headers.insert("grpc-status", "14".parse().unwrap());
        assert_eq!(grpc_status(&headers), Some(14));
    }
}
