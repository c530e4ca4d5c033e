//! Why a TLS connection to the gateway failed, in words.

use std::{
    io::Read,
    net::{TcpStream, ToSocketAddrs},
    sync::Arc,
    time::Duration,
};

use rustls::{AlertDescription, CertificateError, ClientConnection, StreamOwned, pki_types::ServerName};

use super::tls::{ClientTls, rustls_config};

/// How long the probe waits to connect, and then for the gateway's first words.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a TLS handshake failed, if `error` or one of its sources says so.
pub fn handshake_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(describe(tls));
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            if let Some(tls) = rustls_error(io) {
                return Some(describe(tls));
            }
            if io.kind() == std::io::ErrorKind::UnexpectedEof && io.to_string().contains("tls handshake") {
                return Some(
                    "the gateway closed the connection during the TLS handshake (if it serves plain text, use http://)"
                        .to_owned(),
                );
            }
        }
        next = error.source();
    }
    None
}

/// The rustls error an I/O error wraps (its `source()` skips it).
fn rustls_error(io: &std::io::Error) -> Option<&rustls::Error> {
    io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

fn describe(error: &rustls::Error) -> String {
    use rustls::Error as E;
    match error {
        E::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "unknown issuer: the gateway's certificate is not signed by a trusted CA (give its CA with --tls-ca)"
                .to_owned()
        }
        E::InvalidCertificate(
            why @ (CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }),
        ) => format!("the gateway's certificate does not name the address: {why}"),
        E::InvalidCertificate(why) => format!("the gateway's certificate is refused: {why}"),
        E::AlertReceived(AlertDescription::CertificateRequired) => {
            "certificate required: the gateway requires a client certificate (--tls-cert and --tls-key)"
                .to_owned()
        }
        E::AlertReceived(AlertDescription::UnknownCA) => {
            "unknown CA: the gateway does not trust the client certificate's issuer".to_owned()
        }
        E::AlertReceived(
            alert @ (AlertDescription::BadCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied),
        ) => format!("the gateway refused the client certificate ({alert:?})"),
        E::AlertReceived(alert) => format!("the gateway ended the handshake ({alert:?})"),
        E::InvalidMessage(_) => {
            "the gateway does not answer in TLS (if it serves plain text, use http://)".to_owned()
        }
        other => other.to_string(),
    }
}

/// Why the gateway at `url` ends TLS connections, if it does. With TLS 1.3 the
/// server checks the client certificate after the client has finished its
/// handshake, so a refused (or missing) one is told only by an alert on the
/// next read, which tonic's error for the call does not keep (it says "broken
/// pipe" or "cancelled"). This opens one connection of its own with the same
/// trust and identity and reads the gateway's first record: its HTTP/2
/// settings when all is well, else the alert.
pub fn probe(url: &str, tls: Option<&ClientTls>) -> Option<String> {
    first_read(url, tls)?.err().and_then(|e| handshake_failure(&e))
}

/// Whether the gateway at the plain-text `url` answers in TLS (trusted or
/// not): the likeliest reason a plain-text connection to it broke.
pub fn serves_tls(url: &str) -> bool {
    match first_read(url, None) {
        Some(Ok(_)) => true,
        Some(Err(e)) => rustls_error(&e).is_some_and(|e| !matches!(e, rustls::Error::InvalidMessage(_))),
        None => false,
    }
}

/// Connects to `url` over TLS, sends nothing, and reads the peer's first
/// bytes; `None` if no TLS connection could even be started.
fn first_read(url: &str, tls: Option<&ClientTls>) -> Option<std::io::Result<usize>> {
    let uri: tonic::codegen::http::Uri = url.parse().ok()?;
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 });
    let config = rustls_config(tls)?;
    let name = ServerName::try_from(host.clone()).ok()?;
    let address = (host.as_str(), port).to_socket_addrs().ok()?.next()?;
    let socket = TcpStream::connect_timeout(&address, PROBE_TIMEOUT).ok()?;
    socket.set_read_timeout(Some(PROBE_TIMEOUT)).ok()?;
    socket.set_write_timeout(Some(PROBE_TIMEOUT)).ok()?;
    let connection = ClientConnection::new(Arc::new(config), name).ok()?;
    Some(StreamOwned::new(connection, socket).read(&mut [0u8; 64]))
}
