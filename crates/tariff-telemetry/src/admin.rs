//! The admin HTTP server: `/metrics` in the Prometheus text format, `/healthz`
//! (alive: the process answers) and `/readyz` (ready: what the process needs,
//! the job store, can be reached), on a port of its own (never the gRPC port),
//! off unless asked for. A NATS outage fails readiness, not liveness:
//! restarting a process does not bring NATS back. axum is already in the
//! build through tonic, so it costs no new dependency.

use std::future::Future;

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use tokio::{net::TcpListener, sync::watch};

use crate::{Telemetry, prometheus::CONTENT_TYPE};

/// Serves `/metrics`, `/healthz` and `/readyz` on `listener` until `shutdown`
/// resolves. `ready` says whether the job store can be reached (`None`:
/// always ready).
pub async fn serve_admin(
    listener: TcpListener,
    telemetry: Telemetry,
    ready: Option<watch::Receiver<bool>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let readyz = get(move || {
        let ready = ready.as_ref().is_none_or(|r| *r.borrow());
        async move {
            if ready {
                (StatusCode::OK, "ready\n")
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, "not ready: the job store (NATS) cannot be reached\n")
            }
        }
    });
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", readyz)
        .with_state(telemetry);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

async fn metrics(State(telemetry): State<Telemetry>) -> impl IntoResponse {
    match telemetry.prometheus_text() {
        Ok(text) => (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], text),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("metrics unavailable: {e}\n"),
        ),
    }
}
