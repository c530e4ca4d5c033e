//! What the auth and TLS tests share: a gateway served in process on
//! 127.0.0.1:0 over the in-memory backend, clients, and the gateway binary run
//! as a child process.
#![allow(dead_code)]

use std::{net::SocketAddr, process::Command, time::Duration};

use scenario_gateway::{ServerOptions, serve};
use tariff_jobs::{JobService, memory::MemoryBackend};
use tariff_proto::v1::{ListEconomiesRequest, scenario_service_client::ScenarioServiceClient};
use tariff_test_support::ServiceProcess;
use tokio::{net::TcpListener, sync::oneshot};
use tonic::{
    Request, Status,
    transport::{Channel, Endpoint},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// A gateway served on the current runtime, stopped on drop.
pub struct TestServer {
    pub address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    pub async fn start(options: ServerOptions) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let backend = MemoryBackend::default();
        let jobs = JobService::new(backend.clone(), backend);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            serve(listener, jobs, options, shutdown).await.unwrap();
        });
        TestServer { address, stop: Some(stop) }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An endpoint with short timeouts, so a refused connection fails the test
/// rather than hanging it.
pub fn endpoint(url: String) -> Endpoint {
    Endpoint::from_shared(url)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
}

/// A plain-text channel to `address`.
pub async fn plain_channel(address: SocketAddr) -> Result<Channel, tonic::transport::Error> {
    endpoint(format!("http://{address}")).connect().await
}

/// `ListEconomies` with `authorization: <value>` when given.
pub async fn list_economies(channel: Channel, authorization: Option<&str>) -> Result<usize, Status> {
    let mut request = Request::new(ListEconomiesRequest::default());
    if let Some(value) = authorization {
        request.metadata_mut().insert("authorization", value.parse().unwrap());
    }
    let response = ScenarioServiceClient::new(channel).list_economies(request).await?;
    Ok(response.into_inner().economies.len())
}

/// `ListEconomies` with a bearer token.
pub async fn list_with_token(channel: Channel, token: &str) -> Result<usize, Status> {
    list_economies(channel, Some(&format!("Bearer {token}"))).await
}

/// grpc.health.v1 Check of the whole server, without credentials.
pub async fn health(channel: Channel) -> Result<ServingStatus, Status> {
    let response = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await?;
    Ok(response.into_inner().status())
}

/// The gateway binary run with `--embedded` on 127.0.0.1:0, its JSON logs on
/// stderr collected; killed on drop.
pub struct GatewayProcess {
    pub address: SocketAddr,
    process: ServiceProcess,
}

/// A `Command` for the gateway binary with a clean environment.
pub fn gateway_command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scenario-gateway"));
    command.env_clear().args(args).envs(env.iter().copied());
    command
}

impl GatewayProcess {
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> GatewayProcess {
        let mut all =
            vec!["--embedded", "--embedded-workers", "1", "--listen", "127.0.0.1:0", "--log-format", "json"];
        all.extend_from_slice(args);
        let process = ServiceProcess::spawn(gateway_command(&all, env)).unwrap();
        let address = process
            .wait_for_line("gateway listening", Duration::from_secs(30))
            .and_then(|line| line.split("\"address\":\"").nth(1)?.split('"').next()?.parse().ok());
        let Some(address) = address else {
            panic!("the gateway did not start:\n{}", process.stop());
        };
        GatewayProcess { address, process }
    }

    /// Everything it has logged so far.
    pub fn logs(&self) -> String {
        self.process.logs()
    }

    /// SIGTERM, then waits for the exit: how long it took, and everything it logged.
    pub fn terminate(self) -> (Duration, String) {
        self.process.terminate()
    }

    /// Stops the gateway and returns everything it logged.
    pub fn stop(self) -> String {
        self.process.stop()
    }
}
