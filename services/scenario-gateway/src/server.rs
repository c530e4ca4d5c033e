//! The gRPC server: the scenario service, health and reflection beside it,
//! with bearer-token authentication and TLS when configured.

use std::{future::Future, sync::Arc, time::Duration};

use tariff_jobs::{JobQueue, JobService, RecordStore};
use tariff_proto::{
    FILE_DESCRIPTOR_SET,
    v1::scenario_service_server::{ScenarioService, ScenarioServiceServer},
};
use tokio::net::TcpListener;
use tonic::{
    server::NamedService,
    service::interceptor::InterceptedService,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::pb::health_server::HealthServer;

use crate::{
    auth::{Authenticator, TokenSet},
    closing::ClosingHealth,
    rpc_metrics::RpcMetricsLayer,
    service::{Gateway, GatewayLimits},
    tls::TlsSettings,
};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub limits: GatewayLimits,
    /// Largest request message accepted, in bytes (larger: RESOURCE_EXHAUSTED).
    pub max_request_bytes: usize,
    /// Connections are closed after this age so new replicas receive traffic.
    pub max_connection_age: Duration,
    /// Bearer tokens every `tariff.v1.ScenarioService` call must carry one of;
    /// `None` (the default): no authentication.
    pub auth: Option<Arc<TokenSet>>,
    /// Whether server reflection needs a token too (only with `auth`; by
    /// default it stays open: it exposes the schema, nothing else).
    pub auth_reflection: bool,
    /// TLS, and mTLS with a client CA; `None` (the default): plain text.
    pub tls: Option<TlsSettings>,
    /// Whether the job store can be reached now ([`tariff_jobs::follow_reachability`]):
    /// the scenario service's health follows it. `None` (the embedded store):
    /// always.
    pub store_reachable: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            limits: GatewayLimits::default(),
            max_request_bytes: 4 * 1024 * 1024,
            max_connection_age: Duration::from_secs(300),
            auth: None,
            auth_reflection: false,
            tls: None,
            store_reachable: None,
        }
    }
}

/// The largest response: a stored result (at most the workers' 512 MiB by
/// default: the SUMMARY of 200 economies x 5,000 sectors is about 300 MB) and
/// its job record around it.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024 * 1024;

/// Serves until `shutdown` resolves: health turns NOT_SERVING first, then the
/// server stops taking calls and finishes those in flight.
pub async fn serve<R: RecordStore + tariff_jobs::DatasetStore + tariff_jobs::ChunkStore, Q: JobQueue>(
    listener: TcpListener,
    jobs: JobService<R, Q>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let (closing, closed) = tokio::sync::watch::channel(false);
    let health = tonic_health::server::HealthReporter::new();
    let health_service = HealthServer::new(ClosingHealth::new(
        tonic_health::server::HealthService::from_health_reporter(health.clone()),
        closed.clone(),
    ));
    health.set_serving::<ScenarioServiceServer<Gateway<R, Q>>>().await;
    if let Some(reachable) = options.store_reachable.clone() {
        tokio::spawn(follow_store::<Gateway<R, Q>>(reachable, health.clone(), closed.clone()));
    }
    // Both reflection versions (v1alpha for older tools and Python's stock
    // client), each listing health beside the scenario service.
    let described = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection = described().build_v1().and_then(|v1| Ok((v1, described().build_v1alpha()?)));
    let scenario_service = ScenarioServiceServer::new(Gateway::new(jobs, options.limits, closed))
        .max_decoding_message_size(options.max_request_bytes)
        .max_encoding_message_size(MAX_RESPONSE_BYTES);
    log_security(&listener, &options.auth, options.auth_reflection, options.tls.as_ref());
    // Only the scenario service requires a token. Health stays open for load
    // balancer and orchestrator probes, which carry no credentials; reflection
    // stays open for tooling (grpcurl, IDEs) unless `auth_reflection`, as it
    // only exposes the schema, which is public in the proto files anyway.
    let scenario_service = InterceptedService::new(
        scenario_service,
        Authenticator::new(options.auth.clone(), ScenarioServiceServer::<Gateway<R, Q>>::NAME),
    );
    let stopping = async move {
        shutdown.await;
        health.set_not_serving::<ScenarioServiceServer<Gateway<R, Q>>>().await;
        health.set_service_status("", tonic_health::ServingStatus::NotServing).await;
        let _ = closing.send(true);
        tracing::info!("health NOT_SERVING; open watches ended UNAVAILABLE, draining calls in flight");
    };
    // The first layer is the outermost: calls are counted under the status
    // the caller gets, after the contract's rewrites.
    let mut builder = Server::builder()
        .max_connection_age(options.max_connection_age)
        .layer(RpcMetricsLayer::global())
        .layer(tower::util::MapResponseLayer::new(crate::wire_errors::as_contract_status));
    if let Some(tls) = &options.tls {
        builder = builder.tls_config(tls.server_config())?;
    }
    let router = builder.add_service(health_service).add_service(scenario_service);
    let router = match reflection {
        Ok((v1, v1alpha)) => {
            let auth = |service| {
                if options.auth_reflection {
                    Authenticator::new(options.auth.clone(), service)
                } else {
                    Authenticator::open(service)
                }
            };
            router
                .add_service(InterceptedService::new(v1, auth(REFLECTION)))
                .add_service(InterceptedService::new(v1alpha, auth(REFLECTION_V1ALPHA)))
        }
        Err(e) => {
            tracing::error!(error = %e, "server reflection unavailable");
            router
        }
    };
    // A custom incoming stream bypasses the builder's TCP_NODELAY, and without
    // it a lone call waits out the peer's delayed ACK (about 40 ms per call).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    router.serve_with_incoming_shutdown(incoming, stopping).await
}

/// The scenario service's health follows the job store: NOT_SERVING while it
/// cannot be reached (every call needing it would be UNAVAILABLE), so a
/// readiness probe takes the replica out; SERVING again after. The server's
/// own status ("", the liveness probe's) stays: a restart brings no store
/// back. Stops at shutdown, which has the last word.
async fn follow_store<G: ScenarioService>(
    mut reachable: tokio::sync::watch::Receiver<bool>,
    health: tonic_health::server::HealthReporter,
    mut closed: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let now = *reachable.borrow_and_update();
        if *closed.borrow() {
            return;
        }
        if now {
            health.set_serving::<ScenarioServiceServer<G>>().await;
        } else {
            health.set_not_serving::<ScenarioServiceServer<G>>().await;
        }
        tokio::select! {
            changed = reachable.changed() => if changed.is_err() { return },
            _ = closed.changed() => return,
        }
    }
}

const REFLECTION: &str = "grpc.reflection.v1.ServerReflection";
const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

/// One line on how callers are checked: auth with how many tokens (never the
/// tokens), TLS and mTLS; and warnings for tokens in clear text or an open
/// gateway on a non-loopback address.
fn log_security(
    listener: &TcpListener,
    auth: &Option<Arc<TokenSet>>,
    auth_reflection: bool,
    tls: Option<&TlsSettings>,
) {
    let tokens = auth.as_ref().map_or(0, |t| t.len());
    let on = |on: bool| if on { "on" } else { "off" };
    tracing::info!(
        auth = on(auth.is_some()),
        tokens,
        reflection = if auth.is_some() && auth_reflection { "token required" } else { "open" },
        tls = on(tls.is_some()),
        mtls = on(tls.is_some_and(TlsSettings::mtls)),
        "gateway security"
    );
    if auth.is_some() && tls.is_none() {
        tracing::warn!("bearer tokens travel in clear text: enable TLS (--tls-cert, --tls-key)");
    }
    let exposed = listener.local_addr().is_ok_and(|a| !a.ip().is_loopback());
    if exposed && auth.is_none() && !tls.is_some_and(TlsSettings::mtls) {
        tracing::warn!("no authentication on a non-loopback address: anyone reaching it may submit jobs");
    }
}
