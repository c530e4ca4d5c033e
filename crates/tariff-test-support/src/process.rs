//! A service binary run as a child process for a test: its stderr (the log
//! lines) collected as it runs, SIGTERM to stop it as Kubernetes would, and a
//! kill on drop so that a failing test leaves no process behind.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Condvar, Mutex, PoisonError},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::TestSupportError;

/// The child and what it has written to stderr.
#[derive(Debug)]
pub struct ServiceProcess {
    child: Child,
    logs: Arc<(Mutex<String>, Condvar)>,
    reader: Option<JoinHandle<()>>,
}

impl ServiceProcess {
    /// Starts `command` with stdout discarded and stderr collected.
    pub fn spawn(mut command: Command) -> Result<ServiceProcess, TestSupportError> {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(TestSupportError::io(format!("starting {:?}", command.get_program())))?;
        let logs: Arc<(Mutex<String>, Condvar)> = Arc::default();
        let reader = child.stderr.take().map(|stderr| {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let (text, grew) = &*logs;
                    let mut text = text.lock().unwrap_or_else(PoisonError::into_inner);
                    text.push_str(&line);
                    text.push('\n');
                    grew.notify_all();
                }
            })
        });
        Ok(ServiceProcess { child, logs, reader })
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Everything it has logged so far.
    pub fn logs(&self) -> String {
        self.logs.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The first log line containing `needle`, waiting at most `limit` for it.
    pub fn wait_for_line(&self, needle: &str, limit: Duration) -> Option<String> {
        let started = Instant::now();
        let (text, grew) = &*self.logs;
        let mut text = text.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(line) = text.lines().find(|l| l.contains(needle)) {
                return Some(line.to_owned());
            }
            let left = limit.checked_sub(started.elapsed())?;
            text = grew.wait_timeout(text, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// SIGTERM, then waits for the exit: how long it took, and everything it logged.
    pub fn terminate(mut self) -> (Duration, String) {
        let sent = Instant::now();
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        let took = sent.elapsed();
        (took, self.finish())
    }

    /// SIGKILL, then everything it logged.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.finish()
    }

    fn finish(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.logs()
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
