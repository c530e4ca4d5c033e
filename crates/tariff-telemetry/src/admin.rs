//! The admin HTTP server: `/metrics` in the Prometheus text format and
//! `/healthz`, on a port of its own (never the gRPC port), off unless asked for.
//! axum is already in the build through tonic, so it costs no new dependency.

use std::future::Future;

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use tokio::net::TcpListener;

use crate::{Telemetry, prometheus::CONTENT_TYPE};

/// Serves `/metrics` and `/healthz` on `listener` until `shutdown` resolves.
pub async fn serve_admin(
    listener: TcpListener,
    telemetry: Telemetry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
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
