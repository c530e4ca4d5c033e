//! One real `nats-server` process with JetStream on, owned by a test.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::net::{self, HttpResponse};
use crate::{TestSupportError, nats_server_binary};

/// How long a launch may take before the server counts as broken.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`NatsServer::restart`] keeps retrying while the old ports are still taken.
const RESTART_PORT_RETRY: Duration = Duration::from_secs(5);

/// How many fresh port pairs [`NatsServer::start_with`] tries when its ports were taken.
const START_ATTEMPTS: usize = 5;

/// How often readiness is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// The monitoring request that says JetStream is up.
const JETSTREAM_HEALTHZ: &str = "/healthz?js-enabled-only=true";

/// How much of the log an error carries.
const LOG_TAIL_LINES: usize = 40;

/// Extra settings for [`NatsServer::start_with`].
///
/// Build it with `NatsOptions { config_file_text: Some(..), ..Default::default() }` so
/// fields added later (a cluster helper will want some) do not break callers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatsOptions {
    /// Arguments appended after the harness's own (`-a 127.0.0.1 -p PORT -m PORT -js
    /// -sd DIR`), e.g. `["--user", "u", "--pass", "p"]`. Later flags win in
    /// nats-server, so these can override the harness's choices.
    pub extra_args: Vec<String>,
    /// Text of a server configuration file (auth, TLS, accounts, cluster, limits...).
    /// It is written to `nats-server.conf` in the server's temp dir and passed with
    /// `-c`. Command-line flags override the file, so the client address, port,
    /// monitoring port and store dir are always the harness's.
    pub config_file_text: Option<String>,
    /// Environment variables for the process, on top of the harness's own, e.g.
    /// the Go runtime's `GOMEMLIMIT`, as a deployment sets it.
    pub env: Vec<(String, String)>,
}

/// A real `nats-server` with JetStream on, listening on 127.0.0.1 on a free port, with
/// its own temporary store directory. For integration tests.
///
/// The server's stdout and stderr go to a log file in its temp dir (see
/// [`log_path`](Self::log_path)), not to the test's output. Dropping it kills the
/// process and removes the temp dir, store included.
///
/// If the test process itself is killed (SIGKILL), the server is orphaned; it only
/// listens on loopback ports nobody else will use.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    options: NatsOptions,
    port: u16,
    monitor_port: u16,
    store_dir: PathBuf,
    config_path: Option<PathBuf>,
    log_path: PathBuf,
    child: Option<Child>,
    /// Declared last so it is removed after the process is gone.
    dir: TempDir,
}

impl NatsServer {
    /// Starts a server with default options: free client and monitoring ports, its own
    /// temp store dir, JetStream on. Returns once it accepts TCP connections and its
    /// monitoring endpoint reports JetStream enabled.
    pub fn start() -> Result<NatsServer, TestSupportError> {
        Self::start_with(NatsOptions::default())
    }

    /// Like [`start`](Self::start), with extra arguments and/or a configuration file.
    ///
    /// If the chosen ports were taken by someone else in the meantime, it tries again
    /// with fresh ones (a few times).
    pub fn start_with(options: NatsOptions) -> Result<NatsServer, TestSupportError> {
        let binary = nats_server_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("tariff-nats-")
            .tempdir()
            .map_err(TestSupportError::io("creating the nats-server temp dir"))?;
        let store_dir = dir.path().join("store");
        fs::create_dir(&store_dir)
            .map_err(TestSupportError::io(format!("creating {}", store_dir.display())))?;
        let config_path = match &options.config_file_text {
            Some(text) => {
                let path = dir.path().join("nats-server.conf");
                fs::write(&path, text)
                    .map_err(TestSupportError::io(format!("writing {}", path.display())))?;
                Some(path)
            }
            None => None,
        };
        let log_path = dir.path().join("nats-server.log");

        let mut server = NatsServer {
            binary,
            options,
            port: 0,
            monitor_port: 0,
            store_dir,
            config_path,
            log_path,
            child: None,
            dir,
        };
        let mut attempt = 1;
        loop {
            let ports = net::free_ports(2)?;
            let (Some(&port), Some(&monitor_port)) = (ports.first(), ports.get(1)) else {
                return Err(TestSupportError::io("choosing ports")(std::io::Error::other("too few ports")));
            };
            server.port = port;
            server.monitor_port = monitor_port;
            match server.launch() {
                Ok(()) => return Ok(server),
                Err(e) if e.is_port_conflict() && attempt < START_ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// The client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The HTTP monitoring port (`-m`): `/varz`, `/jsz`, `/healthz`, ...
    pub fn monitor_port(&self) -> u16 {
        self.monitor_port
    }

    /// The monitoring base URL, `http://127.0.0.1:PORT`.
    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }

    /// The JetStream store directory (`-sd`); it survives [`stop`](Self::stop) and
    /// [`restart`](Self::restart) and is removed on drop.
    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    /// The temp dir holding the store dir, the log and the config file.
    pub fn temp_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The configuration file passed with `-c`, if [`NatsOptions::config_file_text`]
    /// was given.
    pub fn config_path(&self) -> Option<&Path> {
        self.config_path.as_deref()
    }

    /// The file that receives the server's stdout and stderr, across restarts.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last lines of the server's log, for assertion messages.
    pub fn log_tail(&self) -> String {
        read_log_tail(&self.log_path, 0)
    }

    /// The `nats-server` binary this server runs.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The OS process id while the harness holds a child process: `None` after
    /// [`stop`](Self::stop), or after [`is_running`](Self::is_running) noticed it had
    /// exited by itself.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server (SIGKILL; JetStream's store is crash-safe, and a crash is
    /// what tests want to survive anyway) and waits for the process to be reaped.
    /// Does nothing if it is not running.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Killing an already-exited child fails harmlessly; wait() reaps either way.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server if it runs, then starts it again on the same ports with the
    /// same store dir, options and log file (JetStream data survives), and waits
    /// until it is ready. While the old ports are still taken it keeps retrying for
    /// a few seconds.
    pub fn restart(&mut self) -> Result<(), TestSupportError> {
        self.stop();
        let start = Instant::now();
        loop {
            match self.launch() {
                Ok(()) => return Ok(()),
                Err(e) if e.is_port_conflict() && start.elapsed() < RESTART_PORT_RETRY => {
                    thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// True while the process is alive. If it has exited by itself, it is reaped and
    /// forgotten (so [`pid`](Self::pid) becomes `None`).
    pub fn is_running(&mut self) -> bool {
        let Some(child) = self.child.as_mut() else {
            return false;
        };
        match child.try_wait() {
            Ok(None) => true,
            Ok(Some(_)) | Err(_) => {
                self.child = None;
                false
            }
        }
    }

    /// `GET path_and_query` on the monitoring port, e.g. `/varz` or `/jsz`.
    pub fn monitor_get(&self, path_and_query: &str) -> Result<HttpResponse, TestSupportError> {
        net::http_get(self.monitor_port, path_and_query)
            .map_err(TestSupportError::io(format!("GET {}{path_and_query}", self.monitor_url())))
    }

    /// True if `/healthz?js-enabled-only=true` answers 200 right now.
    pub fn jetstream_healthy(&self) -> bool {
        self.monitor_get(JETSTREAM_HEALTHZ).is_ok_and(|r| r.status == 200)
    }

    /// Spawns the process on the current ports and waits until it is ready; on
    /// failure the process is gone and the error carries this launch's log.
    fn launch(&mut self) -> Result<(), TestSupportError> {
        let log_start = fs::metadata(&self.log_path).map(|m| m.len()).unwrap_or(0);
        let stdout = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(TestSupportError::io(format!("opening {}", self.log_path.display())))?;
        let stderr = stdout
            .try_clone()
            .map_err(TestSupportError::io(format!("opening {}", self.log_path.display())))?;

        let mut command = Command::new(&self.binary);
        if let Some(config) = &self.config_path {
            command.arg("-c").arg(config);
        }
        command
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-m", &self.monitor_port.to_string()])
            .arg("-js")
            .arg("-sd")
            .arg(&self.store_dir)
            .args(&self.options.extra_args)
            .envs(self.options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let child =
            command.spawn().map_err(TestSupportError::io(format!("spawning {}", self.binary.display())))?;
        self.child = Some(child);

        let ready = self.wait_ready(log_start);
        if ready.is_err() {
            self.stop();
        }
        ready
    }

    /// Polls until the client port accepts TCP connections and the monitoring
    /// endpoint reports JetStream enabled, the process exits, or [`READY_TIMEOUT`].
    fn wait_ready(&mut self, log_start: u64) -> Result<(), TestSupportError> {
        let start = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                let exited =
                    child.try_wait().map_err(TestSupportError::io("checking on the nats-server process"))?;
                if let Some(status) = exited {
                    self.child = None;
                    return Err(TestSupportError::Exited {
                        url: self.url(),
                        status: status.to_string(),
                        log_tail: read_log_tail(&self.log_path, log_start),
                    });
                }
            }
            let last_problem = match self.probe() {
                Ok(()) => return Ok(()),
                Err(problem) => problem,
            };
            if start.elapsed() >= READY_TIMEOUT {
                return Err(TestSupportError::NotReady {
                    url: self.url(),
                    waited: start.elapsed(),
                    last_problem,
                    log_tail: read_log_tail(&self.log_path, log_start),
                });
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// One readiness check; `Err` says what is not ready yet.
    fn probe(&self) -> Result<(), String> {
        net::connect(self.port).map_err(|e| format!("client port {}: {e}", self.port))?;
        let response = net::http_get(self.monitor_port, JETSTREAM_HEALTHZ)
            .map_err(|e| format!("GET {JETSTREAM_HEALTHZ} on port {}: {e}", self.monitor_port))?;
        if response.status == 200 {
            Ok(())
        } else {
            Err(format!("GET {JETSTREAM_HEALTHZ}: {} {}", response.status, response.body.trim()))
        }
    }
}

impl Drop for NatsServer {
    /// Kills the process; the temp dir (store, log, config) is removed afterwards.
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last [`LOG_TAIL_LINES`] lines of the log written since byte `from`.
fn read_log_tail(path: &Path, from: u64) -> String {
    let read = || -> std::io::Result<String> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(from))?;
        let mut raw = Vec::new();
        file.read_to_end(&mut raw)?;
        Ok(String::from_utf8_lossy(&raw).into_owned())
    };
    match read() {
        Ok(text) if text.trim().is_empty() => "(the server wrote nothing)".to_owned(),
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
        }
        Err(e) => format!("(could not read {}: {e})", path.display()),
    }
}
