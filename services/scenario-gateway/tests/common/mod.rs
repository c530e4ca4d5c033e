//! What the auth and TLS tests share: a gateway served in process on
//! 127.0.0.1:0 over the in-memory backend, clients, and the gateway binary run
//! as a child process.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    thread::JoinHandle,
    time::Duration,
};

use scenario_gateway::{ServerOptions, serve};
use tariff_jobs::{JobService, memory::MemoryBackend};
use tariff_proto::v1::{ListEconomiesRequest, scenario_service_client::ScenarioServiceClient};
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
    child: Child,
    logs: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
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
        let mut child =
            gateway_command(&all, env).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        let (address_tx, address_rx) = mpsc::channel();
        let reader = {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("gateway listening")
                        && let Some(rest) = line.split("\"address\":\"").nth(1)
                        && let Some(address) = rest.split('"').next()
                    {
                        let _ = address_tx.send(address.parse::<SocketAddr>().unwrap());
                    }
                    let mut logs = logs.lock().unwrap();
                    logs.push_str(&line);
                    logs.push('\n');
                }
            })
        };
        let Ok(address) = address_rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
            panic!("the gateway did not start:\n{}", logs.lock().unwrap());
        };
        GatewayProcess { address, child, logs, reader: Some(reader) }
    }

    /// Everything it has logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// SIGTERM, then waits for the exit: how long it took, and everything it logged.
    pub fn terminate(mut self) -> (Duration, String) {
        let sent = std::time::Instant::now();
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success(), "kill -TERM failed");
        let _ = self.child.wait();
        let took = sent.elapsed();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (took, self.logs.lock().unwrap().clone())
    }

    /// Stops the gateway and returns everything it logged.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.logs.lock().unwrap().clone()
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
