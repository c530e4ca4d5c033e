//! The gRPC server: the scenario service, health and reflection beside it.

use std::{future::Future, time::Duration};

use tariff_jobs::{JobQueue, JobService, RecordStore};
use tariff_proto::{FILE_DESCRIPTOR_SET, v1::scenario_service_server::ScenarioServiceServer};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use crate::service::{Gateway, GatewayLimits};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub limits: GatewayLimits,
    /// Largest request message accepted, in bytes (larger: RESOURCE_EXHAUSTED).
    pub max_request_bytes: usize,
    /// Connections are closed after this age so new replicas receive traffic.
    pub max_connection_age: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            limits: GatewayLimits::default(),
            max_request_bytes: 4 * 1024 * 1024,
            max_connection_age: Duration::from_secs(300),
        }
    }
}

/// Serves until `shutdown` resolves: health turns NOT_SERVING first, then the
/// server stops taking calls and finishes those in flight.
pub async fn serve<R: RecordStore, Q: JobQueue>(
    listener: TcpListener,
    jobs: JobService<R, Q>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<ScenarioServiceServer<Gateway<R, Q>>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build_v1();
    let (closing, closed) = tokio::sync::watch::channel(false);
    let scenario_service = ScenarioServiceServer::new(Gateway::new(jobs, options.limits, closed))
        .max_decoding_message_size(options.max_request_bytes)
        .max_encoding_message_size(64 * 1024 * 1024);
    let stopping = async move {
        shutdown.await;
        health.set_not_serving::<ScenarioServiceServer<Gateway<R, Q>>>().await;
        health.set_service_status("", tonic_health::ServingStatus::NotServing).await;
        let _ = closing.send(true);
        tracing::info!("health NOT_SERVING; open watches closed, draining calls in flight");
    };
    let mut builder = Server::builder().max_connection_age(options.max_connection_age);
    let router = builder.add_service(health_service).add_service(scenario_service);
    let router = match reflection {
        Ok(reflection) => router.add_service(reflection),
        Err(e) => {
            tracing::error!(error = %e, "server reflection unavailable");
            router
        }
    };
    router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), stopping).await
}
