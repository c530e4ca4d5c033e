//! Loopback networking helpers: free ports, waiting for a port, a minimal HTTP GET.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::TestSupportError;

/// How long one connection attempt or one HTTP exchange may take.
const IO_TIMEOUT: Duration = Duration::from_millis(500);

/// How often [`wait_for_tcp`] retries.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// The loopback address every helper here uses.
pub(crate) const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A port on 127.0.0.1 that was free a moment ago: binds `127.0.0.1:0`, reads the
/// port the OS chose, and releases it.
///
/// Another process may take the port before the caller binds it; [`NatsServer`]
/// retries with fresh ports when that happens.
///
/// [`NatsServer`]: crate::NatsServer
pub fn free_port() -> Result<u16, TestSupportError> {
    let listener = TcpListener::bind((LOOPBACK, 0)).map_err(TestSupportError::io("binding 127.0.0.1:0"))?;
    let addr = listener.local_addr().map_err(TestSupportError::io("reading a bound port"))?;
    Ok(addr.port())
}

/// `count` distinct ports on 127.0.0.1 that were free a moment ago. All of them are
/// held at once until every one is chosen, so they never repeat (as two calls to
/// [`free_port`] in a row could); a cluster needs client, route and monitor ports.
pub fn free_ports(count: usize) -> Result<Vec<u16>, TestSupportError> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind((LOOPBACK, 0)).map_err(TestSupportError::io("binding 127.0.0.1:0")))
        .collect::<Result<Vec<_>, _>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()).map_err(TestSupportError::io("reading a bound port")))
        .collect()
}

/// Polls until `127.0.0.1:port` accepts a TCP connection, for at most `timeout`.
pub fn wait_for_tcp(port: u16, timeout: Duration) -> Result<(), TestSupportError> {
    let start = Instant::now();
    loop {
        match connect(port) {
            Ok(_) => return Ok(()),
            Err(source) if start.elapsed() >= timeout => {
                return Err(TestSupportError::PortNotOpen { port, waited: start.elapsed(), source });
            }
            Err(_) => thread::sleep(POLL_INTERVAL),
        }
    }
}

/// One TCP connection attempt to `127.0.0.1:port`, with a short timeout.
pub(crate) fn connect(port: u16) -> io::Result<TcpStream> {
    TcpStream::connect_timeout(&SocketAddr::from((LOOPBACK, port)), IO_TIMEOUT)
}

/// An HTTP response as [`http_get`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code, e.g. 200.
    pub status: u16,
    /// The body, decoded as UTF-8 (lossily).
    pub body: String,
}

/// `GET path_and_query` from `http://127.0.0.1:port` with a hand-written HTTP/1.0
/// request (the server closes the connection after answering, so the response is
/// read to its end). Enough for the nats-server monitoring endpoints; no redirects,
/// no chunked encoding.
pub fn http_get(port: u16, path_and_query: &str) -> io::Result<HttpResponse> {
    let mut stream = connect(port)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    write!(stream, "GET {path_and_query} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")?;
    stream.flush()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

/// Splits a raw HTTP/1.x response into status code and body.
fn parse_response(raw: &[u8]) -> io::Result<HttpResponse> {
    let text = String::from_utf8_lossy(raw);
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {text:?}"));
    let status_line = text.lines().next().ok_or_else(|| invalid("empty HTTP response"))?;
    let mut words = status_line.split_whitespace();
    let status = match (words.next(), words.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => {
            code.parse().map_err(|_| invalid("bad HTTP status code"))?
        }
        _ => return Err(invalid("bad HTTP status line")),
    };
    let body = text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    Ok(HttpResponse { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_response() {
        let raw = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"status\":\"ok\"}";
        assert_eq!(
            parse_response(raw).unwrap(),
            HttpResponse { status: 200, body: "{\"status\":\"ok\"}".to_owned() }
        );
        let raw = b"HTTP/1.1 503 Service Unavailable\r\n\r\n";
        assert_eq!(parse_response(raw).unwrap().status, 503);
        assert!(parse_response(b"").is_err());
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n").is_err());
    }

    #[test]
    fn free_ports_are_distinct() {
        let ports = free_ports(8).unwrap();
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ports.len());
        assert!(ports.iter().all(|&p| p != 0));
    }

    #[test]
    fn wait_for_tcp_sees_a_listener_and_times_out_without_one() {
        let listener = TcpListener::bind((LOOPBACK, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        wait_for_tcp(port, Duration::from_secs(1)).unwrap();
        drop(listener);
        let err = wait_for_tcp(port, Duration::from_millis(50)).unwrap_err();
        assert!(matches!(err, TestSupportError::PortNotOpen { .. }), "{err}");
    }
}
